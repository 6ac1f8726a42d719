#include "report_data.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include "errors.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A JSON file, or nothing (with a note) when it is missing or unreadable.
json read_optional_json(const fs::path& file, std::vector<std::string>& skipped) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return json::object();
  std::ifstream in(file);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    skipped.push_back(file.string() + ": not JSON; left out");
    return json::object();
  }
  return j;
}

// JSON lines up to the first that does not parse (a run killed mid-line), with a note.
std::vector<json> read_json_lines(const fs::path& file, std::vector<std::string>& skipped) {
  std::vector<json> out;
  std::ifstream in(file);
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      skipped.push_back(file.string() + ":" + std::to_string(number) +
                        ": cut short or not JSON (a run killed mid-line?); read the lines before it");
      break;
    }
    out.push_back(std::move(j));
  }
  return out;
}

ReportRun read_run(const fs::path& dir, const std::string& name, std::vector<std::string>& skipped) {
  ReportRun r;
  r.name = name;
  r.dir = dir;
  r.config = read_optional_json(dir / "config.json", skipped);
  r.manifest = read_optional_json(dir / "manifest.json", skipped);
  for (json& line : read_json_lines(dir / "metrics.jsonl", skipped)) {
    const std::string type = line.value("type", "");
    if (type == "step") r.steps.push_back(std::move(line));
    else if (type == "epoch") r.epochs.push_back(std::move(line));
  }
  r.verifications = read_json_lines(dir / "verifications.jsonl", skipped);
  r.status = r.manifest.value("status", "?");
  if (!r.config.empty()) {
    try {
      r.layers = json::parse(api::Model::from_json(r.config.dump()).layers_json());
    } catch (const std::exception& e) {
      skipped.push_back((dir / "config.json").string() + ": the model's layers are left out (" +
                        shown(reason(e)) + ")");
    }
  }
  return r;
}

bool is_run(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "config.json", ec) || fs::exists(dir / "manifest.json", ec) ||
         fs::exists(dir / "metrics.jsonl", ec);
}

}  // namespace

void flatten_json(const json& value, const std::string& path, std::vector<std::pair<std::string, json>>& out) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it)
      flatten_json(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  } else if (value.is_array() && !value.empty() && (value[0].is_object() || value[0].is_array())) {
    for (size_t i = 0; i < value.size(); ++i) flatten_json(value[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out.emplace_back(path, value);
  }
}

ReportInput read_report_input(const std::vector<std::string>& dirs) {
  ReportInput in;
  std::vector<ReportRun> trials;
  std::set<std::string> names;
  const auto unique = [&](std::string name) {
    const std::string base = name;
    for (int k = 2; names.count(name); ++k) name = base + "#" + std::to_string(k);
    names.insert(name);
    return name;
  };
  for (const std::string& d : dirs) {
    const fs::path dir = fs::path(d).lexically_normal();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw TrainerError("report: " + d + ": no such folder");
    const std::string name = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
    if (fs::exists(dir / "sweep.json", ec)) {
      ReportSweep s;
      s.name = unique(name);
      s.dir = dir;
      s.record = read_optional_json(dir / "sweep.json", in.skipped);
      s.summary = read_json_lines(dir / "summary.jsonl", in.skipped);
      std::vector<fs::path> trial_dirs;
      for (const auto& entry : fs::directory_iterator(dir / "trials", ec))
        if (entry.is_directory()) trial_dirs.push_back(entry.path());
      std::sort(trial_dirs.begin(), trial_dirs.end());
      for (const fs::path& t : trial_dirs) {
        ReportRun trial = read_run(t, unique(s.name + "/" + t.filename().string()), in.skipped);
        for (const json& line : s.summary)
          if (line.value("trial", -1) == std::atoi(t.filename().c_str()) && line.value("status", "") == "stopped")
            trial.status = "stopped (hyperband)";
        trials.push_back(std::move(trial));
      }
      in.sweeps.push_back(std::move(s));
    } else if (is_run(dir)) {
      in.runs.push_back(read_run(dir, unique(name), in.skipped));
    } else {
      in.skipped.push_back(d + ": neither a run (config.json, manifest.json, metrics.jsonl) nor a sweep (sweep.json); "
                           "left out");
    }
  }
  for (ReportRun& t : trials) in.runs.push_back(std::move(t));
  return in;
}

}  // namespace trainer
