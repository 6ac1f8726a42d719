#include "sweep_config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "model_paths.h"

namespace trainer::sweep {

using nlohmann::json;

namespace {

// The distributions and the keys each reads besides "distribution".
struct DistributionKeys {
  const char* name;
  std::vector<std::string> required, optional;
};
const std::vector<DistributionKeys>& distribution_table() {
  static const std::vector<DistributionKeys> table = {
      {"constant", {"value"}, {}},
      {"categorical", {"values"}, {"probabilities"}},
      {"int_uniform", {"min", "max"}, {}},
      {"uniform", {"min", "max"}, {}},
      {"q_uniform", {"min", "max"}, {"q"}},
      {"log_uniform", {"min", "max"}, {}},
      {"q_log_uniform", {"min", "max"}, {"q"}},
      {"log_uniform_values", {"min", "max"}, {}},
      {"q_log_uniform_values", {"min", "max"}, {"q"}},
      {"inv_log_uniform", {"min", "max"}, {}},
      {"inv_log_uniform_values", {"min", "max"}, {}},
      {"normal", {}, {"mu", "sigma"}},
      {"q_normal", {}, {"mu", "sigma", "q"}},
      {"log_normal", {}, {"mu", "sigma"}},
      {"q_log_normal", {}, {"mu", "sigma", "q"}},
      {"beta", {}, {"a", "b"}},
      {"q_beta", {}, {"a", "b", "q"}},
  };
  return table;
}

// Reads one file's nodes with their lines for messages.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key_path, const std::string& what) const {
    const int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    throw SweepError(source_ + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                     shown_text(key_path, 200) + ": " + shown_text(what, 600));
  }

  // A mapping's entries in file order; duplicate keys and non-scalar keys refused.
  std::vector<std::pair<std::string, YAML::Node>> entries(const YAML::Node& map, const std::string& key_path) const {
    if (!map.IsMap()) fail(map, key_path, "expected a mapping of keys to values, got " + kind(map));
    std::vector<std::pair<std::string, YAML::Node>> out;
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, key_path, "a key that is not a plain name");
      const std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) fail(kv.first, join(key_path, key), "given twice");
      out.emplace_back(key, kv.second);
    }
    return out;
  }

  // YAML 1.2 core schema for scalars: quoted text stays text; true/false, null, integers and
  // decimal numbers become JSON's.
  json value(const YAML::Node& n, const std::string& key_path) const {
    // YAML aliases share nodes: a few lines can expand to billions of values, and an alias inside
    // the node it names makes a cycle that never ends.
    if (++converted_ > kMaxValues)
      fail(n, key_path, "expands to more than " + std::to_string(kMaxValues) + " values (aliases of aliases?)");
    const DepthGuard guard(depth_);
    if (depth_ > kMaxDepth)
      fail(n, key_path, "nested more than " + std::to_string(kMaxDepth) + " levels deep (an alias inside itself?)");
    if (!n.IsDefined() || n.IsNull()) return nullptr;
    if (n.IsSequence()) {
      json a = json::array();
      for (size_t i = 0; i < n.size(); ++i) a.push_back(value(n[i], key_path + "[" + std::to_string(i) + "]"));
      return a;
    }
    if (n.IsMap()) {
      json o = json::object();
      for (const auto& [k, v] : entries(n, key_path)) o[k] = value(v, join(key_path, k));
      return o;
    }
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return s;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
    int64_t i = 0;
    const char* first = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    if (auto [end, ec] = std::from_chars(first, s.data() + s.size(), i); ec == std::errc() && end == s.data() + s.size() &&
                                                                      first != s.data() + s.size())
      return i;
    if (looks_numeric(s)) {
      double d = 0;
      std::istringstream in(s);
      in.imbue(std::locale::classic());
      in >> d;
      if (!in.fail() && in.eof()) {
        if (!std::isfinite(d)) fail(n, key_path, "\"" + shown_text(s, 40) + "\" is not a finite number");
        return d;
      }
    }
    if (s == ".inf" || s == "-.inf" || s == ".nan" || s == ".Inf" || s == ".NaN")
      fail(n, key_path, "\"" + s + "\" is not a finite number");
    return s;
  }

  double number(const YAML::Node& n, const std::string& key_path) const {
    const json v = value(n, key_path);
    if (!v.is_number()) fail(n, key_path, "expected a number, got " + describe(v));
    return v.get<double>();
  }
  bool is_integer(const YAML::Node& n, const std::string& key_path) const {
    return value(n, key_path).is_number_integer();
  }
  int64_t integer(const YAML::Node& n, const std::string& key_path, int64_t lo, int64_t hi) const {
    const json v = value(n, key_path);
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      fail(n, key_path, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
                            describe(v));
    return v.get<int64_t>();
  }
  std::string text(const YAML::Node& n, const std::string& key_path) const {
    const json v = value(n, key_path);
    if (!v.is_string()) fail(n, key_path, "expected text, got " + describe(v));
    return v.get<std::string>();
  }
  std::string one_of(const YAML::Node& n, const std::string& key_path, const std::vector<std::string>& allowed) const {
    const std::string s = text(n, key_path);
    for (const std::string& a : allowed)
      if (s == a) return s;
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(n, key_path, "\"" + shown_text(s, 40) + "\" is not one of " + list);
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }
  static std::string describe(const json& v) {
    if (v.is_string()) return "\"" + shown_text(v.get<std::string>(), 40) + "\"";
    return shown_text(v.dump(-1, ' ', false, json::error_handler_t::replace), 40);
  }

 private:
  static std::string kind(const YAML::Node& n) {
    if (n.IsSequence()) return "a list";
    if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
    return "nothing";
  }
  static bool looks_numeric(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
      if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
        return false;
    return true;
  }
  struct DepthGuard {
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    int& depth_;
  };

  static constexpr size_t kMaxValues = 1000000;
  std::string source_;
  mutable size_t converted_ = 0;
  mutable int depth_ = 0;

 public:
  static constexpr int kMaxDepth = 64;
};

// The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629), or npos.
size_t first_invalid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned lowest = 0;
    if (c < 0x80) n = 0;
    else if ((c & 0xE0) == 0xC0) n = 1, lowest = 0x80;
    else if ((c & 0xF0) == 0xE0) n = 2, lowest = 0x800;
    else if ((c & 0xF8) == 0xF0) n = 3, lowest = 0x10000;
    else return i;
    if (i + n >= s.size()) return i;  // cut short
    unsigned code = n == 0 ? c : c & (0x3F >> n);
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return i;
      code = (code << 6) | (d & 0x3F);
    }
    if ((n > 0 && code < lowest) || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += n + 1;
  }
  return std::string::npos;
}

// W&B keys detnn refuses by name, and why.
const char* refused_top_level(const std::string& key) {
  if (key == "program" || key == "command")
    return "detnn runs no script: every trial trains the --model file with the parameters set; remove this key";
  return nullptr;
}

Distribution parse_distribution(const Reader& r, const std::vector<std::pair<std::string, YAML::Node>>& entries,
                                const YAML::Node& node, const std::string& key_path) {
  std::map<std::string, YAML::Node> keys(entries.begin(), entries.end());
  Distribution d;
  if (keys.count("distribution")) {
    d.kind = r.text(keys["distribution"], key_path + ".distribution");
  } else if (keys.count("values")) {
    d.kind = "categorical";
  } else if (keys.count("value")) {
    d.kind = "constant";
  } else if (keys.count("min") && keys.count("max")) {
    // W&B's rule: integer bounds search integers, any other bounds real numbers.
    d.kind = r.is_integer(keys["min"], key_path + ".min") && r.is_integer(keys["max"], key_path + ".max") ? "int_uniform"
                                                                                                         : "uniform";
  } else {
    r.fail(node, key_path, "gives no search space: write value, values, min and max, or distribution");
  }
  const DistributionKeys* spec = nullptr;
  for (const DistributionKeys& t : distribution_table())
    if (d.kind == t.name) spec = &t;
  if (spec == nullptr)
    r.fail(keys["distribution"], key_path + ".distribution",
           "\"" + shown_text(d.kind, 40) + "\" is no distribution detnn knows (docs/sweeps.md lists them)");
  for (const auto& [key, v] : entries) {
    if (key == "distribution") continue;
    const bool used = std::count(spec->required.begin(), spec->required.end(), key) +
                      std::count(spec->optional.begin(), spec->optional.end(), key);
    if (!used) r.fail(v, key_path + "." + key, "not a key of distribution " + d.kind);
  }
  for (const std::string& key : spec->required)
    if (!keys.count(key)) r.fail(node, key_path, "distribution " + d.kind + " needs \"" + key + "\"");

  const auto num = [&](const char* key, double fallback) {
    return keys.count(key) ? r.number(keys[key], key_path + "." + key) : fallback;
  };
  if (keys.count("value")) d.value = r.value(keys["value"], key_path + ".value");
  if (keys.count("values")) {
    const YAML::Node& v = keys["values"];
    if (!v.IsSequence()) r.fail(v, key_path + ".values", "expected a list of values");
    if (v.size() == 0) r.fail(v, key_path + ".values", "is empty: give at least one value");
    for (size_t i = 0; i < v.size(); ++i) d.values.push_back(r.value(v[i], key_path + ".values[" + std::to_string(i) + "]"));
  }
  if (keys.count("probabilities")) {
    const YAML::Node& p = keys["probabilities"];
    const std::string at = key_path + ".probabilities";
    if (!p.IsSequence() || p.size() != d.values.size())
      r.fail(p, at, "expected a list of " + std::to_string(d.values.size()) + " numbers, one per value");
    double sum = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      const double x = r.number(p[i], at + "[" + std::to_string(i) + "]");
      if (x < 0) r.fail(p[i], at + "[" + std::to_string(i) + "]", "is negative");
      d.probabilities.push_back(x);
      sum += x;
    }
    if (std::fabs(sum - 1.0) > 1e-6) r.fail(p, at, "sum to " + std::to_string(sum) + ", not 1");
  }
  d.min = num("min", 0);
  d.max = num("max", 0);
  d.mu = num("mu", 0);
  d.sigma = num("sigma", 1);
  d.q = num("q", 1);
  d.a = num("a", 1);
  d.b = num("b", 1);
  const bool bounded = std::count(spec->required.begin(), spec->required.end(), "min") > 0;
  if (bounded) {
    if (d.min > d.max)
      r.fail(keys["min"], key_path + ".min",
             "min " + Reader::describe(r.value(keys["min"], "")) + " is greater than max " +
                 Reader::describe(r.value(keys["max"], "")));
    d.integer_bounds = r.is_integer(keys["min"], "") && r.is_integer(keys["max"], "") &&
                       (!keys.count("q") || r.is_integer(keys["q"], ""));
    if (d.kind == "int_uniform" && !d.integer_bounds)
      r.fail(node, key_path, "int_uniform needs integer min and max");
    const bool values_in_log = d.kind == "log_uniform_values" || d.kind == "q_log_uniform_values" ||
                               d.kind == "inv_log_uniform_values";
    if (values_in_log && d.min <= 0)
      r.fail(keys["min"], key_path + ".min", d.kind + " needs min > 0 (it draws the logarithm uniformly)");
  }
  if (keys.count("sigma") && !(d.sigma > 0)) r.fail(keys["sigma"], key_path + ".sigma", "must be positive");
  if (keys.count("q") && !(d.q > 0)) r.fail(keys["q"], key_path + ".q", "must be positive");
  if (keys.count("a") && !(d.a > 0)) r.fail(keys["a"], key_path + ".a", "must be positive");
  if (keys.count("b") && !(d.b > 0)) r.fail(keys["b"], key_path + ".b", "must be positive");
  return d;
}

void parse_parameters(const Reader& r, const YAML::Node& node, const std::string& key_path, const std::string& prefix,
                      std::vector<Parameter>& out, int depth = 0) {
  if (depth > Reader::kMaxDepth)
    r.fail(node, key_path, "nested more than " + std::to_string(Reader::kMaxDepth) +
                               " levels deep (an alias inside itself?)");
  const auto entries = r.entries(node, key_path);
  if (entries.empty()) r.fail(node, key_path, "is empty: give at least one parameter");
  for (const auto& [name, spec] : entries) {
    const std::string at = key_path + "." + name;
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    try {
      parse_model_path(path);
    } catch (const std::invalid_argument& e) {
      r.fail(spec, at, e.what());
    }
    const auto fields = r.entries(spec, at);
    const bool nested = std::any_of(fields.begin(), fields.end(), [](const auto& f) { return f.first == "parameters"; });
    if (nested) {
      if (fields.size() != 1) r.fail(spec, at, "a parameter with nested \"parameters\" takes no other key");
      parse_parameters(r, fields[0].second, at + ".parameters", path, out, depth + 1);
      continue;
    }
    for (const Parameter& p : out)
      if (p.path == path) r.fail(spec, at, "sets " + path + ", as " + p.key_path + " does");
    Parameter p;
    p.path = path;
    p.key_path = at;
    for (const auto& kv : node)
      if (kv.first.Scalar() == name) p.line = kv.first.Mark().line + 1;  // the name's line
    p.distribution = parse_distribution(r, fields, spec, at);
    out.push_back(std::move(p));
  }
}

Hyperband parse_early_terminate(const Reader& r, const YAML::Node& node) {
  Hyperband h;
  h.enabled = true;
  bool has_type = false;
  for (const auto& [key, v] : r.entries(node, "early_terminate")) {
    const std::string at = "early_terminate." + key;
    if (key == "type") {
      has_type = true;
      r.one_of(v, at, {"hyperband"});
    } else if (key == "min_iter") {
      h.min_iter = r.integer(v, at, 1, 1 << 20);
    } else if (key == "max_iter") {
      h.max_iter = r.integer(v, at, 1, 1 << 20);
    } else if (key == "s") {
      h.s = r.integer(v, at, 0, 64);
    } else if (key == "eta") {
      h.eta = r.number(v, at);
      if (!(h.eta > 1)) r.fail(v, at, "must be greater than 1");
    } else if (key == "strict") {
      r.fail(v, at, "hyperband's strict mode is not implemented by detnn; remove this key");
    } else {
      r.fail(v, at, "not a key of early_terminate (type, min_iter, max_iter, s, eta)");
    }
  }
  if (!has_type) r.fail(node, "early_terminate", "needs \"type: hyperband\"");
  if ((h.min_iter > 0) == (h.max_iter > 0)) r.fail(node, "early_terminate", "give either min_iter or max_iter (with s)");
  // W&B's bands: min_iter * eta^k, or max_iter / eta^k for k = 1..s; a trial is judged on its
  // metric after epoch band + 1 (the value at index `band` of its history).
  if (h.max_iter > 0) {
    if (h.s < 1) r.fail(node, "early_terminate", "max_iter needs s >= 1 (the number of bands)");
    double band = static_cast<double>(h.max_iter);
    for (int64_t i = 0; i < h.s; ++i) {
      band /= h.eta;
      if (band < 1) break;
      h.bands.push_back(static_cast<int64_t>(band));
    }
    std::sort(h.bands.begin(), h.bands.end());
  } else {
    for (double band = static_cast<double>(h.min_iter); band < double(1 << 20); band *= h.eta)
      h.bands.push_back(static_cast<int64_t>(band));
  }
  if (h.bands.empty()) r.fail(node, "early_terminate", "makes no band: raise max_iter or lower eta");
  return h;
}

}  // namespace

std::string shown_text(const std::string& text, size_t max) {
  std::string out;
  size_t i = 0;
  for (; i < text.size() && out.size() < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  return i < text.size() ? out + "…" : out;
}

const char* method_name(Method method) {
  switch (method) {
    case Method::grid: return "grid";
    case Method::random: return "random";
    case Method::bayes: return "bayes";
  }
  return "?";
}

const std::vector<std::string>& epoch_metric_names() {
  static const std::vector<std::string> names = {"val_accuracy", "val_loss", "train_loss", "train_accuracy"};
  return names;
}

SweepConfig parse_sweep_text(const std::string& text, const std::string& source) {
  if (const size_t bad = first_invalid_utf8(text); bad != std::string::npos) {
    const auto line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n') + 1;
    throw SweepError(source + ":" + std::to_string(line) + ": byte offset " + std::to_string(bad) +
                     ": not UTF-8 text (a sweep file is UTF-8, as YAML and JSON are)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw SweepError(source + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + shown_text(e.msg, 200));
  }
  const Reader r(source);
  SweepConfig c;
  c.source = source;
  if (!root.IsMap()) throw SweepError(source + ": expected a mapping with method, parameters, ... (docs/sweeps.md)");
  bool has_method = false, has_parameters = false;
  YAML::Node parameters;
  for (const auto& [key, v] : r.entries(root, "")) {
    if (const char* why = refused_top_level(key)) r.fail(v, key, why);
    if (key == "method") {
      const std::string m = r.one_of(v, key, {"grid", "random", "bayes"});
      c.method = m == "grid" ? Method::grid : m == "random" ? Method::random : Method::bayes;
      has_method = true;
    } else if (key == "metric") {
      for (const auto& [mk, mv] : r.entries(v, key)) {
        const std::string at = "metric." + mk;
        if (mk == "name") c.metric = r.one_of(mv, at, epoch_metric_names());
        else if (mk == "goal") c.goal = r.one_of(mv, at, {"minimize", "maximize"}) == "maximize" ? Goal::maximize : Goal::minimize;
        else if (mk == "target") r.fail(mv, at, "stopping the sweep at a target value is not implemented by detnn; remove this key");
        else r.fail(mv, at, "not a key of metric (name, goal)");
      }
      if (c.metric.empty()) r.fail(v, key, "needs \"name\"");
    } else if (key == "parameters") {
      parameters = v;
      has_parameters = true;
    } else if (key == "early_terminate") {
      c.hyperband = parse_early_terminate(r, v);
    } else if (key == "run_cap") {
      c.run_cap = r.integer(v, key, 1, 1000000);
    } else if (key == "seed") {
      c.seed = static_cast<uint64_t>(r.integer(v, key, 0, INT64_MAX));
    } else if (key == "proposal_batch") {
      c.proposal_batch = r.integer(v, key, 1, 1024);
    } else if (key == "name") {
      c.name = r.text(v, key);
    } else if (key == "description") {
      c.description = r.text(v, key);
    } else if (key == "project") {
      c.project = r.text(v, key);
    } else if (key == "entity") {
      c.entity = r.text(v, key);
    } else {
      r.fail(v, key, "not a sweep key detnn knows (docs/sweeps.md lists them)");
    }
  }
  if (!has_method) throw SweepError(source + ": method: missing (grid, random or bayes)");
  if (!has_parameters) throw SweepError(source + ": parameters: missing");
  parse_parameters(r, parameters, "parameters", "", c.parameters);
  if (c.method == Method::bayes && c.metric.empty())
    throw SweepError(source + ": metric: bayes needs the metric to model (metric: {name: val_loss, goal: minimize})");
  if (c.hyperband.enabled && c.metric.empty())
    throw SweepError(source + ": metric: hyperband needs the metric it compares (metric: {name: ..., goal: ...})");
  return c;
}

SweepConfig parse_sweep_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SweepError(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sweep_text(text.str(), path);
}

json SweepConfig::resolved() const {
  json j;
  j["method"] = method_name(method);
  if (!metric.empty()) j["metric"] = {{"name", metric}, {"goal", goal == Goal::maximize ? "maximize" : "minimize"}};
  j["seed"] = seed;
  if (run_cap > 0) j["run_cap"] = run_cap;
  if (method == Method::bayes) j["proposal_batch"] = proposal_batch;
  for (const char* key : {"name", "description", "project", "entity"}) {
    const std::string& v = std::string(key) == "name" ? name : std::string(key) == "description" ? description
                           : std::string(key) == "project" ? project : entity;
    if (!v.empty()) j[key] = v;
  }
  json params = json::array();  // in the file's order: the grid's order
  for (const Parameter& p : parameters) {
    const Distribution& d = p.distribution;
    json e = {{"name", p.path}, {"distribution", d.kind}};
    if (d.kind == "constant") e["value"] = d.value;
    if (d.kind == "categorical") {
      e["values"] = d.values;
      if (!d.probabilities.empty()) e["probabilities"] = d.probabilities;
    }
    if (d.kind.find("uniform") != std::string::npos) e["min"] = d.min, e["max"] = d.max;
    if (d.kind.find("normal") != std::string::npos) e["mu"] = d.mu, e["sigma"] = d.sigma;
    if (d.kind.find("beta") != std::string::npos) e["a"] = d.a, e["b"] = d.b;
    if (d.kind.rfind("q_", 0) == 0) e["q"] = d.q;
    params.push_back(e);
  }
  j["parameters"] = params;
  if (hyperband.enabled) {
    json h = {{"type", "hyperband"}, {"eta", hyperband.eta}, {"bands", hyperband.bands}};
    if (hyperband.min_iter > 0) h["min_iter"] = hyperband.min_iter;
    if (hyperband.max_iter > 0) h["max_iter"] = hyperband.max_iter, h["s"] = hyperband.s;
    j["early_terminate"] = h;
  }
  return j;
}

}  // namespace trainer::sweep
