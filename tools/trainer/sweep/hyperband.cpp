#include "hyperband.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trainer::sweep {

std::vector<int64_t> judged_epochs(const Hyperband& h, int64_t epochs) {
  std::vector<int64_t> out;
  if (!h.enabled) return out;
  for (int64_t band : h.bands)
    if (band + 1 < epochs) out.push_back(band + 1);
  return out;
}

bool hyperband_stops(const std::vector<double>& earlier, double own, Goal goal, double eta) {
  const auto smaller_is_better = [&](double v) {
    if (std::isnan(v)) return std::numeric_limits<double>::infinity();
    return goal == Goal::maximize ? -v : v;
  };
  // A diverged trial (NaN) is worse than any with a number.
  if (std::isnan(own)) return std::any_of(earlier.begin(), earlier.end(), [](double v) { return !std::isnan(v); });
  std::vector<double> values;
  for (double v : earlier) values.push_back(smaller_is_better(v));
  const double mine = smaller_is_better(own);
  values.push_back(mine);
  std::sort(values.begin(), values.end());
  const size_t at = static_cast<size_t>((1.0 / eta) * static_cast<double>(values.size()));
  return mine > values[std::min(at, values.size() - 1)];
}

}  // namespace trainer::sweep
