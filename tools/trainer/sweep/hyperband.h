// Hyperband early termination, made deterministic (docs/sweeps.md, "Hyperband"). W&B compares a
// running trial at each band with every trial that reached it so far — which trials those are
// depends on timing. Here trial N at a band is compared with the trials before it (in trial order)
// that reached the band, and with itself: the sweep waits for those before deciding, so the
// decision is the same on every rerun and with any --parallel.
#pragma once

#include <cstdint>
#include <vector>

#include "sweep_config.h"

namespace trainer::sweep {

// The epochs after which a trial of `epochs` epochs is judged: band + 1 for each band, before
// its last epoch.
std::vector<int64_t> judged_epochs(const Hyperband& h, int64_t epochs);

// W&B's rule on these values: with v the trial's own metric at the band and `earlier` those of the
// trials before it, all turned to "smaller is better" (NaN worst: a NaN trial stops when any
// before it has a number), the threshold is the value at
// index floor(n / eta) of the n sorted values; the trial stops when v is above it.
bool hyperband_stops(const std::vector<double>& earlier, double own, Goal goal, double eta);

}  // namespace trainer::sweep
