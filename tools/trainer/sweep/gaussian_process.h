// The bayes proposer's model: a Gaussian process over the parameters' [0, 1] coordinates with a
// squared-exponential kernel, its length scale the best of a fixed list by marginal likelihood
// (no optimizer, so no starting point or iteration count can change the choice), and expected
// improvement to rank candidates. Deterministic: double arithmetic in a fixed order, and detnn's
// float32 exp/log/erf for the transcendentals.
#pragma once

#include <cstddef>
#include <vector>

namespace trainer::sweep {

// Fits the process to (x[i], y[i]) — y to be minimized — and returns the index of the candidate
// with the largest expected improvement over min(y); a tie goes to the lower index. Needs at
// least one observation.
size_t choose_by_expected_improvement(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                                      const std::vector<std::vector<double>>& candidates);

// The length scales tried, and the fit's noise variance on the standardized metric.
inline constexpr double kLengthScales[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2};
inline constexpr double kNoiseVariance = 1e-4;

}  // namespace trainer::sweep
