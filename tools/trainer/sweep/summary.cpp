#include "summary.h"

#include <cmath>
#include <sstream>

namespace trainer::sweep {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json summary_line(const TrialOutcome& t, const std::string& metric_name) {
  ordered_json j;
  j["trial"] = t.trial;
  j["status"] = t.status;
  j["parameters"] = t.parameters;
  if (!metric_name.empty()) j["metric"] = {{"name", metric_name}, {"value", t.metric ? json(*t.metric) : json(nullptr)}};
  j["epochs"] = t.epochs;
  j["weights_sha256"] = t.weights_sha256;
  if (!t.error.empty()) j["error"] = t.error;
  return j;
}

TrialOutcome outcome_from_summary_line(const std::string& line, const std::string& where) {
  TrialOutcome t;
  try {
    const ordered_json j = ordered_json::parse(line);
    t.trial = j.at("trial").get<int64_t>();
    t.status = j.at("status").get<std::string>();
    if (t.status != "finished" && t.status != "stopped" && t.status != "failed")
      throw std::invalid_argument("status \"" + t.status + "\"");
    t.parameters = j.at("parameters");
    if (j.contains("metric") && !j["metric"].at("value").is_null()) t.metric = j["metric"]["value"].get<double>();
    t.epochs = j.at("epochs").get<int64_t>();
    t.weights_sha256 = j.at("weights_sha256").get<std::string>();
    if (j.contains("error")) t.error = j["error"].get<std::string>();
  } catch (const std::exception& e) {
    throw SweepError(where + ": not a summary line of trainer sweep (" + std::string(e.what()) + ")");
  }
  return t;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_value(const ordered_json& v) { return csv_field(v.is_string() ? v.get<std::string>() : v.dump()); }

}  // namespace

std::string summary_csv(const std::vector<TrialOutcome>& ended, const std::vector<std::string>& parameter_paths,
                        const std::string& metric_name) {
  std::ostringstream out;
  out << "trial,status,epochs";
  if (!metric_name.empty()) out << "," << metric_name;
  out << ",weights_sha256";
  for (const std::string& p : parameter_paths) out << "," << csv_field(p);
  out << ",error\n";
  for (const TrialOutcome& t : ended) {
    out << t.trial << "," << t.status << "," << t.epochs;
    if (!metric_name.empty()) out << "," << (t.metric ? json(*t.metric).dump() : std::string());
    out << "," << t.weights_sha256;
    for (const std::string& p : parameter_paths) out << "," << (t.parameters.contains(p) ? csv_value(t.parameters[p]) : "");
    out << "," << csv_field(t.error) << "\n";
  }
  return out.str();
}

int best_trial(const std::vector<TrialOutcome>& ended, Goal goal) {
  for (const char* status : {"finished", "stopped"}) {
    int best = -1;
    for (size_t i = 0; i < ended.size(); ++i) {
      const TrialOutcome& t = ended[i];
      if (t.status != status || !t.metric || std::isnan(*t.metric)) continue;
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const double a = *t.metric, b = *ended[static_cast<size_t>(best)].metric;
      const bool better = goal == Goal::maximize ? a > b : a < b;
      const bool tie_lower = a == b && t.trial < ended[static_cast<size_t>(best)].trial;
      if (better || tie_lower) best = static_cast<int>(i);
    }
    if (best >= 0) return best;
  }
  return -1;
}

}  // namespace trainer::sweep
