// trainer report (docs/report.md) on real runs and a sweep: each plot has one series per run with
// as many points as metrics.jsonl has values, the configuration-difference table lists exactly the
// differing paths, runs with equal digests are marked as reproductions, verify results appear,
// a sweep's trials and plots are there, what cannot be read is listed, and nothing in the file
// points outside it.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path write_report_model(const fs::path& dir) {
  const fs::path path = dir / "model.json";
  std::ofstream(path) << R"({"name": "report_small", "input": [1, 8, 8],
  "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "relu"},
             {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"type": "linear", "out_features": 4}],
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "data": {"format": "synthetic", "train": {"count": 256, "seed": 3, "shape": [1, 8, 8]}, "validation": {"count": 64},
           "classes": 4},
  "training": {"epochs": 2, "batch_size": 32, "chunk_size": 8, "seed": 5, "log_every": 2}})";
  return path;
}

// The <figure> of one plot.
std::string figure(const std::string& html, const std::string& id) {
  const size_t at = html.find("<figure class=\"plot\" data-plot=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</figure>", at) - at);
}

// data-run -> data-points of the series of a figure (the linear copy for curves).
std::map<std::string, int> series_of(const std::string& fig) {
  std::string part = fig;
  const size_t log = part.find("<g class=\"log\">");
  if (log != std::string::npos) part = part.substr(0, log);
  std::map<std::string, int> out;
  const std::regex series(R"re(<polyline class="series" data-run="([^"]*)" data-points="(\d+)")re");
  for (std::sregex_iterator it(part.begin(), part.end(), series), end; it != end; ++it)
    out[(*it)[1]] = std::stoi((*it)[2]);
  return out;
}

std::set<std::string> diff_paths(const std::string& html, const std::string& table_id) {
  std::set<std::string> out;
  const size_t at = html.find("<table id=\"" + table_id + "\"");
  if (at == std::string::npos) return out;
  const std::string table = html.substr(at, html.find("</table>", at) - at);
  const std::regex row(R"re(<tr data-path="([^"]*)")re");
  for (std::sregex_iterator it(table.begin(), table.end(), row), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

int count_of(const std::vector<json>& lines, const std::string& key) {
  int n = 0;
  for (const json& l : lines) n += l.contains(key);
  return n;
}

TEST(TrainerReport, RunsPlotsDifferencesReproductionsAndVerify) {
  const fs::path dir = fresh_temp_dir("report-runs");
  const fs::path model = write_report_model(dir);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "a").string()).status, 0);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "again").string()).status, 0);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "b").string() + " --seed 9").status, 0);
  ASSERT_EQ(run_trainer("verify " + (dir / "a").string()).status, 0);
  // A run killed mid-line: its metrics.jsonl ends in half a line.
  fs::copy(dir / "a", dir / "cut", fs::copy_options::recursive);
  std::string metrics = bytes_of(dir / "cut" / "metrics.jsonl");
  const size_t lines_before = std::count(metrics.begin(), metrics.end(), '\n');
  metrics.resize(metrics.size() - 40);
  std::ofstream(dir / "cut" / "metrics.jsonl", std::ios::trunc) << metrics;
  fs::create_directories(dir / "neither");

  const fs::path out = dir / "report.html";
  const CommandResult r = run_trainer("report " + (dir / "a").string() + " " + (dir / "again").string() + " " +
                                      (dir / "b").string() + " " + (dir / "cut").string() + " " +
                                      (dir / "neither").string() + " -o " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string html = bytes_of(out);

  // Each curve: one series per run, one point per metrics.jsonl value.
  for (const std::string run : {"a", "again", "b"}) {
    const std::vector<json> steps = metrics_lines(dir / run, "step"), epochs = metrics_lines(dir / run, "epoch");
    EXPECT_EQ(series_of(figure(html, "step/loss"))[run], count_of(steps, "loss")) << run;
    EXPECT_EQ(series_of(figure(html, "step/lr"))[run], count_of(steps, "lr")) << run;
    EXPECT_EQ(series_of(figure(html, "epoch/val_accuracy"))[run], count_of(epochs, "val_accuracy")) << run;
    EXPECT_EQ(series_of(figure(html, "epoch/val_loss"))[run], count_of(epochs, "val_loss")) << run;
  }
  EXPECT_EQ(series_of(figure(html, "step/loss")).size(), 4u);  // a, again, b, cut
  EXPECT_NE(figure(html, "step/loss").find("<g class=\"log\">"), std::string::npos);  // the log-scale copy

  // The configs differ in the seed alone; the environments not at all.
  EXPECT_EQ(diff_paths(html, "config-diff"), (std::set<std::string>{"training.seed"}));
  EXPECT_NE(html.find("<p id=\"environment-diff\" class=\"meta\">identical in every run</p>"), std::string::npos);
  // Reproductions: a, again and cut have the same final digest; b does not.
  const std::regex a_row(R"re(<tr data-run="a">.*?<td class="repro">([^<]*)</td>)re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, a_row));
  EXPECT_EQ(m[1].str(), "again, cut");
  ASSERT_TRUE(std::regex_search(html, m, std::regex(R"re(<tr data-run="b">.*?<td class="repro">([^<]*)</td>)re")));
  EXPECT_EQ(m[1].str(), "");
  EXPECT_NE(html.find("reproduced ("), std::string::npos);  // trainer verify's result for a
  // What was left out, and why.
  EXPECT_NE(html.find((dir / "cut" / "metrics.jsonl").string() + ":" + std::to_string(lines_before) + ": cut short"),
            std::string::npos);
  EXPECT_NE(html.find((dir / "neither").string() + ": neither a run"), std::string::npos);
  // The model's layers, from the library.
  EXPECT_NE(html.find("<table class=\"layers\" data-model=\"report_small\">"), std::string::npos);
  // conv2d 1 -> 4 (3x3, bias): 40 parameters; linear 4*4*4 -> 4: 260.
  EXPECT_NE(html.find("<td>conv2d</td><td>4×8×8</td><td class=\"num\">40</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>linear</td><td>4×1×1</td><td class=\"num\">260</td>"), std::string::npos);
  EXPECT_NE(html.find("300 parameters"), std::string::npos);
  // Self-contained: nothing points outside the file.
  for (const char* outside : {"http", "src=", "<link", "@import", "url("}) EXPECT_EQ(html.find(outside), std::string::npos) << outside;
}

TEST(TrainerReport, SweepTrialsAndPlots) {
  const fs::path dir = fresh_temp_dir("report-sweep");
  const fs::path model = write_report_model(dir);
  std::ofstream(dir / "grid.yaml") << "method: grid\nmetric: {name: val_accuracy, goal: maximize}\nparameters:\n"
                                      "  optimizer.lr: {values: [0.01, 0.2]}\n  optimizer.momentum: {values: [0.0, 0.9]}\n";
  ASSERT_EQ(run_trainer("sweep --model " + model.string() + " --sweep " + (dir / "grid.yaml").string() +
                        " --sweep-dir " + (dir / "s").string()).status, 0);
  const CommandResult r = run_trainer("report " + (dir / "s").string() + " -o " + (dir / "r.html").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string html = bytes_of(dir / "r.html");
  // The trials table, best first.
  const size_t table = html.find("<table class=\"trials\" data-sweep=\"s\">");
  ASSERT_NE(table, std::string::npos);
  const std::string trials = html.substr(table, html.find("</table>", table) - table);
  std::vector<json> summary;
  std::ifstream in(dir / "s" / "summary.jsonl");
  std::string line;
  while (std::getline(in, line)) summary.push_back(json::parse(line));
  ASSERT_EQ(summary.size(), 4u);
  const std::regex row(R"re(<tr data-trial="(\d+)">)re");
  std::vector<int> order;
  for (std::sregex_iterator it(trials.begin(), trials.end(), row), end; it != end; ++it) order.push_back(std::stoi((*it)[1]));
  ASSERT_EQ(order.size(), 4u);
  for (size_t i = 1; i < order.size(); ++i)
    EXPECT_GE(summary[order[i - 1]]["metric"]["value"].get<double>(), summary[order[i]]["metric"]["value"].get<double>());
  // Parallel coordinates: one line per trial through both parameters and the metric; a scatter plot per parameter.
  const std::map<std::string, int> lines = series_of(figure(html, "parallel:s"));
  EXPECT_EQ(lines.size(), 4u);
  for (const auto& [trial, points] : lines) EXPECT_EQ(points, 3) << trial;
  for (const char* p : {"optimizer.lr", "optimizer.momentum"}) {
    const std::string fig = figure(html, std::string("scatter:s:") + p);
    const std::regex point("<circle class=\"point\"");
    EXPECT_EQ(std::distance(std::sregex_iterator(fig.begin(), fig.end(), point), std::sregex_iterator()), 4) << p;
  }
  // The trials' curves are in the report too, with the trials' configuration differences.
  EXPECT_EQ(series_of(figure(html, "epoch/val_accuracy")).size(), 4u);
  EXPECT_EQ(diff_paths(html, "config-diff"), (std::set<std::string>{"optimizer.lr", "optimizer.momentum"}));
}

TEST(TrainerReport, MissingFolderIsAOneLineError) {
  const fs::path dir = fresh_temp_dir("report-missing");
  const CommandResult r = run_trainer("report " + (dir / "nope").string() + " -o " + (dir / "r.html").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "trainer: report: " + (dir / "nope").string() + ": no such folder\n");
  EXPECT_FALSE(fs::exists(dir / "r.html"));
}

}  // namespace
}  // namespace detnn::testing
