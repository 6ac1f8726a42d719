// What `trainer report` reads (docs/report.md): run directories and sweep directories, as much of
// each as is there. A folder that is neither, a metrics.jsonl cut mid-line, a config the library no
// longer reads: the report says what it skipped and goes on; a missing folder is an error.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trainer {

struct ReportRun {
  std::string name;  // the folder's name; "<sweep>/<trial>" for a sweep's trials
  std::filesystem::path dir;
  nlohmann::json config = nlohmann::json::object();    // config.json
  nlohmann::json manifest = nlohmann::json::object();  // manifest.json
  std::vector<nlohmann::json> steps, epochs;           // metrics.jsonl's step and epoch lines
  std::vector<nlohmann::json> verifications;           // verifications.jsonl (trainer verify)
  nlohmann::json layers = nlohmann::json::array();     // the library's layer table of config.json
  std::string status;  // the manifest's, or a sweep's word for its trial ("stopped": by hyperband)
};

struct ReportSweep {
  std::string name;
  std::filesystem::path dir;
  nlohmann::json record = nlohmann::json::object();  // sweep.json
  std::vector<nlohmann::json> summary;               // summary.jsonl
};

struct ReportInput {
  std::vector<ReportRun> runs;  // given runs, then each sweep's trials
  std::vector<ReportSweep> sweeps;
  std::vector<std::string> skipped;  // what could not be read, one line each
};

// Throws TrainerError for a folder that does not exist.
ReportInput read_report_input(const std::vector<std::string>& dirs);

// A JSON document flattened to "path" -> value ("optimizer.lr", "layers[0].kernel").
void flatten_json(const nlohmann::json& value, const std::string& path, std::vector<std::pair<std::string, nlohmann::json>>& out);

}  // namespace trainer
