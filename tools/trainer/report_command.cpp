// trainer report DIR... [-o report.html]: one self-contained HTML file (docs/report.md) — curves of
// every run overlaid, a table of the runs with reproductions marked, configuration and
// environment differences, each sweep's trials, parallel coordinates and metric-per-parameter
// plots, the model's layers. Inline CSS and SVG, one line of inline script; no network access.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "commands.h"
#include "errors.h"
#include "report_data.h"
#include "report_svg.h"
#include "run_files.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:12px}figure.plot{margin:0;border:1px solid #e4e4e4;padding:6px;overflow-x:auto;max-width:1180px}
figure.plot svg{display:block}.legend{display:flex;flex-wrap:wrap;max-width:560px}
figcaption{font-weight:600;margin-bottom:4px}figcaption label{font-weight:400;margin-left:12px}
.axis{stroke:#555}.grid{stroke:#eee}.tick{font-size:10px;fill:#555}.label{font-size:11px;fill:#333}
polyline{stroke-width:1.6}circle.point{fill:#1f77b4;fill-opacity:.75}
figure.logscale g.lin,figure:not(.logscale) g.log{display:none}
.legend span{margin-right:12px;font-size:12px;white-space:nowrap}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.repro{color:#2a7a2a}.diverged{color:#b22}.skipped{color:#8a5a00}.meta{color:#666}
)";

std::string number_text(const json& v, const char* format = "%.4g") {
  if (!v.is_number()) return v.is_null() ? "" : html_escape(v.is_string() ? v.get<std::string>() : v.dump());
  char b[40];
  std::snprintf(b, sizeof b, format, v.get<double>());
  return b;
}

std::string value_text(const json& v) {
  if (v.is_null()) return "<span class=\"meta\">—</span>";
  if (v.is_string()) return html_escape(v.get<std::string>());
  return html_escape(v.dump());
}

// The best and final value of an epoch key ("" when no epoch has it).
json final_of(const ReportRun& r, const std::string& key) {
  for (auto it = r.epochs.rbegin(); it != r.epochs.rend(); ++it)
    if (it->contains(key)) return (*it)[key];
  return nullptr;
}
json best_of(const ReportRun& r, const std::string& key, bool maximize) {
  json best = nullptr;
  for (const json& e : r.epochs)
    if (e.contains(key) && e[key].is_number() &&
        (best.is_null() || (maximize ? e[key].get<double>() > best.get<double>() : e[key].get<double>() < best.get<double>())))
      best = e[key];
  return best;
}

std::string runs_table(const ReportInput& in) {
  // Runs with equal final digests reproduce each other.
  std::map<std::string, std::vector<std::string>> by_digest;
  for (const ReportRun& r : in.runs)
    if (r.manifest.value("status", "") == "completed") by_digest[r.manifest.value("final_weights_sha256", "")].push_back(r.name);
  std::string s = "<table id=\"runs-table\"><tr><th>run</th><th>status</th><th>epochs</th><th>best val acc</th>"
                  "<th>final val acc</th><th>final val loss</th><th>time (s)</th><th>device</th><th>mode</th>"
                  "<th>final weights sha256</th><th>same bits as</th><th>trainer verify</th></tr>\n";
  for (const ReportRun& r : in.runs) {
    const json& training = r.config.contains("training") ? r.config["training"] : json::object();
    double seconds = 0;
    for (const json& e : r.epochs) seconds += e.value("seconds", 0.0);
    const std::string digest = r.manifest.value("final_weights_sha256", "");
    std::string same;
    if (r.manifest.value("status", "") == "completed")
      for (const std::string& other : by_digest[digest])
        if (other != r.name) same += (same.empty() ? "" : ", ") + html_escape(other);
    std::string verify;
    for (const json& v : r.verifications) {
      const bool ok = v.value("result", "") == "reproduced";
      verify += std::string("<div class=\"") + (ok ? "repro" : "diverged") + "\">" + html_escape(v.value("result", "?")) +
                " (" + std::to_string(v.value("steps_compared", 0)) + " steps" +
                (ok ? "" : ", first at step " + std::to_string(v.value("first_differing_step", 0))) + ", " +
                html_escape(v.value("time", "")) + ")</div>";
    }
    s += "<tr data-run=\"" + html_escape(r.name) + "\"><td>" + html_escape(r.name) + "</td><td>" +
         html_escape(r.status) + "</td><td class=\"num\">" + std::to_string(r.epochs.size()) +
         (training.contains("epochs") ? " / " + training["epochs"].dump() : "") + "</td><td class=\"num\">" +
         number_text(best_of(r, "val_accuracy", true)) + "</td><td class=\"num\">" +
         number_text(final_of(r, "val_accuracy")) + "</td><td class=\"num\">" + number_text(final_of(r, "val_loss")) +
         "</td><td class=\"num\">" + number_text(json(seconds), "%.1f") + "</td><td>" +
         html_escape(training.value("device", "")) + "</td><td>" + html_escape(training.value("determinism", "")) +
         " " + html_escape(training.value("precision", "")) + "</td><td><code>" + html_escape(digest.substr(0, 16)) +
         "</code></td><td class=\"repro\">" + same + "</td><td>" + verify + "</td></tr>\n";
  }
  return s + "</table>\n";
}

// The curves: one plot per metric any run has, the runs overlaid.
std::string curves(const ReportInput& in, std::vector<std::string>& not_plotted) {
  struct Curve {
    const char* type;  // "step" or "epoch"
    const char* key;
    const char* title;
    bool log;
  };
  static const Curve kCurves[] = {
      {"step", "loss", "training loss (per logged step)", true},
      {"step", "accuracy", "training accuracy (per logged step)", false},
      {"epoch", "val_loss", "validation loss (per epoch)", true},
      {"epoch", "val_accuracy", "validation accuracy (per epoch)", false},
      {"epoch", "train_loss", "training loss (epoch mean)", true},
      {"step", "lr", "learning rate", false},
      {"step", "grad_norm", "gradient norm", false},
      {"step", "images_per_s", "images/s", false},
  };
  std::string s = "<div class=\"plots\">\n";
  for (const Curve& c : kCurves) {
    std::vector<PlotSeries> series;
    for (size_t i = 0; i < in.runs.size(); ++i) {
      const ReportRun& r = in.runs[i];
      PlotSeries p{r.name, run_color(i), {}};
      const std::vector<json>& lines = std::string(c.type) == "step" ? r.steps : r.epochs;
      for (const json& l : lines)
        if (l.contains(c.key) && l[c.key].is_number())
          p.points.emplace_back(l.value(std::string(c.type) == "step" ? "step" : "epoch", 0.0), l[c.key].get<double>());
      if (!p.points.empty()) series.push_back(std::move(p));
    }
    const std::string id = std::string(c.type) + "/" + c.key;
    if (series.empty()) {
      not_plotted.push_back(id);
      continue;
    }
    s += line_plot(id, c.title, std::string(c.type) == "step" ? "step" : "epoch", series, c.log);
  }
  return s + "</div>\n";
}

// Paths whose values differ between the runs (a path missing from a run differs too).
std::string difference_table(const std::string& id, const ReportInput& in, const std::vector<json>& documents) {
  std::map<std::string, std::vector<json>> values;
  std::vector<std::string> order;
  for (size_t i = 0; i < documents.size(); ++i) {
    std::vector<std::pair<std::string, json>> flat;
    flatten_json(documents[i], "", flat);
    for (auto& [path, v] : flat) {
      if (!values.count(path)) {
        values[path].assign(documents.size(), json());
        order.push_back(path);
      }
      values[path][i] = v;
    }
  }
  std::string rows;
  size_t differing = 0;
  for (const std::string& path : order) {
    const std::vector<json>& v = values[path];
    if (std::all_of(v.begin(), v.end(), [&](const json& x) { return x == v[0]; })) continue;
    ++differing;
    rows += "<tr data-path=\"" + html_escape(path) + "\"><td><code>" + html_escape(path) + "</code></td>";
    for (const json& x : v) rows += "<td>" + value_text(x) + "</td>";
    rows += "</tr>\n";
  }
  if (differing == 0) return "<p id=\"" + id + "\" class=\"meta\">identical in every run</p>\n";
  std::string s = "<table id=\"" + id + "\"><tr><th>path</th>";
  for (const ReportRun& r : in.runs) s += "<th>" + html_escape(r.name) + "</th>";
  return s + "</tr>\n" + rows + "</table>\n";
}

double as_number(const json& v, const std::vector<json>& categories) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  const auto it = std::find(categories.begin(), categories.end(), v);
  return it == categories.end() ? std::nan("") : static_cast<double>(it - categories.begin());
}

std::string sweep_section(const ReportSweep& sw) {
  const json& def = sw.record.contains("sweep") ? sw.record["sweep"] : json::object();
  const std::string metric = def.contains("metric") ? def["metric"].value("name", "") : "";
  const bool maximize = def.contains("metric") && def["metric"].value("goal", "") == "maximize";
  std::vector<std::string> params;
  if (def.contains("parameters"))
    for (const json& p : def["parameters"]) params.push_back(p.value("name", ""));
  std::string s = "<h3 data-sweep=\"" + html_escape(sw.name) + "\">" + html_escape(sw.name) + "</h3><p class=\"meta\">" +
                  html_escape(def.value("method", "?")) + ", seed " + def.value("seed", json(0)).dump() + ", " +
                  std::to_string(sw.summary.size()) + " of " + sw.record.value("trial_count", json(0)).dump() +
                  " trials ended" + (metric.empty() ? "" : ", " + std::string(maximize ? "maximize " : "minimize ") + metric) +
                  "</p>\n";
  // The trials, best first (trials without a metric last, in trial order).
  std::vector<json> trials = sw.summary;
  const auto metric_of = [](const json& t) {
    return t.contains("metric") && t["metric"]["value"].is_number() ? t["metric"]["value"].get<double>() : std::nan("");
  };
  std::stable_sort(trials.begin(), trials.end(), [&](const json& a, const json& b) {
    const double x = metric_of(a), y = metric_of(b);
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return maximize ? x > y : x < y;
  });
  s += "<table class=\"trials\" data-sweep=\"" + html_escape(sw.name) + "\"><tr><th>trial</th><th>status</th><th>epochs</th>";
  if (!metric.empty()) s += "<th>" + html_escape(metric) + "</th>";
  for (const std::string& p : params) s += "<th>" + html_escape(p) + "</th>";
  s += "<th>weights sha256</th></tr>\n";
  for (const json& t : trials) {
    s += "<tr data-trial=\"" + t.value("trial", json(0)).dump() + "\"><td>" + t.value("trial", json(0)).dump() + "</td><td>" +
         html_escape(t.value("status", "")) + "</td><td class=\"num\">" + t.value("epochs", json(0)).dump() + "</td>";
    if (!metric.empty()) s += "<td class=\"num\">" + number_text(t["metric"]["value"]) + "</td>";
    for (const std::string& p : params) s += "<td>" + value_text(t["parameters"].value(p, json())) + "</td>";
    s += "<td><code>" + html_escape(t.value("weights_sha256", "").substr(0, 16)) + "</code></td></tr>\n";
  }
  s += "</table>\n";
  if (metric.empty() || params.empty()) return s;
  // Parallel coordinates and the metric against each parameter (categories as their index).
  std::map<std::string, std::vector<json>> categories;
  for (const json& p : def["parameters"])
    if (p.contains("values")) categories[p.value("name", "")] = p["values"].get<std::vector<json>>();
  std::vector<std::vector<double>> rows;
  std::vector<std::string> labels;
  for (const json& t : sw.summary) {
    std::vector<double> row;
    for (const std::string& p : params) row.push_back(as_number(t["parameters"].value(p, json()), categories[p]));
    row.push_back(metric_of(t));
    rows.push_back(row);
    labels.push_back("trial " + t.value("trial", json(0)).dump());
  }
  std::vector<std::string> axes = params;
  axes.push_back(metric);
  s += "<div class=\"plots\">" + parallel_coordinates("parallel:" + sw.name, "parameters and " + metric, axes, rows, labels);
  for (size_t k = 0; k < params.size(); ++k) {
    std::vector<std::pair<double, double>> points;
    for (const auto& row : rows) points.emplace_back(row[k], row.back());
    s += scatter_plot("scatter:" + sw.name + ":" + params[k], metric + " against " + params[k], params[k], metric,
                      points, labels);
  }
  return s + "</div>\n";
}

std::string model_section(const ReportInput& in) {
  std::string s;
  std::set<std::string> shown_models;
  for (const ReportRun& r : in.runs) {
    if (r.layers.empty() || !shown_models.insert(r.layers.dump()).second) continue;
    int64_t total = 0;
    std::string rows;
    for (const json& l : r.layers) {
      total += l.value("parameters", 0LL);
      std::string shape;
      for (const json& d : l["output"]) shape += (shape.empty() ? "" : "×") + d.dump();
      rows += "<tr><td class=\"num\">" + l["index"].dump() + "</td><td>" + html_escape(l.value("type", "")) +
              "</td><td>" + shape + "</td><td class=\"num\">" + std::to_string(l.value("parameters", 0LL)) + "</td></tr>\n";
    }
    const json& input = r.config.contains("input") ? r.config["input"] : json::array();
    s += "<table class=\"layers\" data-model=\"" + html_escape(r.config.value("name", "")) + "\"><caption>" +
         html_escape(r.config.value("name", "")) + " (first shown in " + html_escape(r.name) + "), input " +
         html_escape(input.dump()) + ", " + std::to_string(total) + " parameters</caption><tr><th>layer</th><th>type</th>"
         "<th>output</th><th>parameters</th></tr>\n" + rows + "</table>\n";
  }
  return s;
}

}  // namespace

int run_report(const ReportOptions& o) {
  const ReportInput in = read_report_input(o.dirs);
  std::vector<std::string> not_plotted;
  std::string body = "<h1>detnn report</h1><p class=\"meta\">" + std::to_string(in.runs.size()) + " runs, " +
                     std::to_string(in.sweeps.size()) + " sweeps · " + html_escape(utc_timestamp()) + " · detnn " +
                     html_escape(api::version()) + "</p>\n";
  body += "<section id=\"runs\"><h2>Runs</h2>" + runs_table(in) + "</section>\n";
  body += "<section id=\"curves\"><h2>Curves</h2>" + curves(in, not_plotted) + "</section>\n";
  std::vector<json> configs, environments;
  for (const ReportRun& r : in.runs) {
    configs.push_back(r.config);
    json env = r.manifest.contains("environment") ? r.manifest["environment"] : json::object();
    env.erase("environment_variables");
    environments.push_back(env);
  }
  body += "<section id=\"differences\"><h2>Configuration differences</h2>" +
          difference_table("config-diff", in, configs) + "<h2>Environment differences</h2>" +
          difference_table("environment-diff", in, environments) + "</section>\n";
  if (!in.sweeps.empty()) {
    body += "<section id=\"sweeps\"><h2>Sweeps</h2>";
    for (const ReportSweep& sw : in.sweeps) body += sweep_section(sw);
    body += "</section>\n";
  }
  body += "<section id=\"model\"><h2>Model</h2>" + model_section(in) + "</section>\n";
  std::vector<std::string> skipped = in.skipped;
  for (const std::string& p : not_plotted) skipped.push_back("no run has " + p + ": not plotted");
  if (!skipped.empty()) {
    body += "<section id=\"skipped\"><h2>Left out</h2><ul class=\"skipped\">";
    for (const std::string& s : skipped) body += "<li>" + html_escape(s) + "</li>";
    body += "</ul></section>\n";
  }
  const std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>detnn report</title>"
                           "<style>" + std::string(kStyle) + "</style></head><body>\n" + body + "</body></html>\n";
  write_file_atomically(o.output, html);
  std::printf("report of %zu runs and %zu sweeps -> %s%s\n", in.runs.size(), in.sweeps.size(), o.output.c_str(),
              skipped.empty() ? "" : (" (" + std::to_string(skipped.size()) + " things left out: see its end)").c_str());
  return 0;
}

}  // namespace trainer
