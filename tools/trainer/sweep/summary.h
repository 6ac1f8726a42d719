// What a sweep says of its ended trials: summary.jsonl (one JSON object per trial, in trial order),
// summary.csv (the same as a table), and which trial is best. Nothing in them depends on timing,
// so an interrupted-and-resumed or parallel sweep writes the same bytes as an uninterrupted one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep_config.h"

namespace trainer::sweep {

struct TrialOutcome {
  int64_t trial = 0;
  std::string status;                // "finished", "stopped" (hyperband), "failed"
  nlohmann::ordered_json parameters;  // model-file path -> value, in the sweep file's order
  std::optional<double> metric;      // the metric at its last epoch (none: no metric, not reached, or NaN)
  int64_t epochs = 0;                // epochs it ran
  std::string weights_sha256;        // the weights after its last epoch ("" if none)
  std::string error;                 // failed: why
};

nlohmann::ordered_json summary_line(const TrialOutcome& t, const std::string& metric_name);
// The outcome a summary.jsonl line records (a resumed sweep keeps the ended trials); SweepError
// naming the file and line when it is not one this program wrote.
TrialOutcome outcome_from_summary_line(const std::string& line, const std::string& where);

// Columns: trial, status, epochs, the metric, weights_sha256, the parameters, error.
std::string summary_csv(const std::vector<TrialOutcome>& ended, const std::vector<std::string>& parameter_paths,
                        const std::string& metric_name);

// The index in `ended` of the best trial by the metric (finished trials first, then stopped ones;
// a tie goes to the lower trial number), or -1 when none has a metric.
int best_trial(const std::vector<TrialOutcome>& ended, Goal goal);

}  // namespace trainer::sweep
