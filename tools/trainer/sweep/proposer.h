// Which parameters trial N of a sweep runs with: a pure function of the sweep file, its seed, N
// and (bayes) the results of the trials of earlier proposal rounds, taken in trial order — never
// of timing, of --parallel or of which trial finished first (docs/sweeps.md, "Determinism").
//  - grid: the cartesian product in file order, the last parameter varying fastest;
//  - random: each parameter drawn from its own Philox stream (trial, parameter index);
//  - bayes: trials come in rounds of proposal_batch; a round's trials are proposed from the trials
//    of the rounds before it: random while fewer than two have a finite metric, otherwise the
//    best of 256 random candidates (the trial's own streams) by expected improvement.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep_config.h"

namespace trainer::sweep {

struct TrialParameters {
  std::vector<nlohmann::json> values;  // one per SweepConfig::parameters entry
  std::vector<double> z;               // their [0, 1] coordinates (distributions.h)
};

// A finished or stopped trial as the bayes proposer sees it.
struct TrialResult {
  int64_t trial = 0;
  std::vector<double> z;
  double metric = 0;  // finite
};

// How many trials the sweep runs: grid, the product of the grid's sizes (at most run_cap);
// random and bayes, run_cap, or `default_cap` when the file gives none.
int64_t trial_count(const SweepConfig& c, int64_t default_cap);

// The first trial of trial's proposal round (bayes): the trials before it are those whose results
// its proposal may use. 0 for grid and random.
int64_t round_start(const SweepConfig& c, int64_t trial);

// `results`: the trials before round_start(trial) that ended with a finite metric, in trial order.
TrialParameters propose(const SweepConfig& c, int64_t trial, const std::vector<TrialResult>& results);

inline constexpr int kBayesCandidates = 256;

}  // namespace trainer::sweep
