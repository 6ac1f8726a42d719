#include "proposer.h"

#include <algorithm>

#include "distributions.h"
#include "gaussian_process.h"

namespace trainer::sweep {

namespace {

// Streams of detnn_sweep_random_bits: a random trial's parameter k draws from stream k; bayes
// candidate c's parameter k from kCandidateStreams + c * kMaxParameters + k.
constexpr uint32_t kMaxParameters = 4096;
constexpr uint32_t kCandidateStreams = 0x100000;

TrialParameters random_parameters(const SweepConfig& c, int64_t trial, uint32_t first_stream) {
  TrialParameters out;
  for (size_t k = 0; k < c.parameters.size(); ++k) {
    DrawStream stream(c.seed, static_cast<uint32_t>(trial), first_stream + static_cast<uint32_t>(k));
    Draw d = draw(c.parameters[k].distribution, stream);
    out.values.push_back(std::move(d.value));
    out.z.push_back(d.z);
  }
  return out;
}

TrialParameters grid_parameters(const SweepConfig& c, int64_t trial) {
  TrialParameters out;
  out.values.resize(c.parameters.size());
  out.z.resize(c.parameters.size());
  int64_t rest = trial;
  for (size_t k = c.parameters.size(); k-- > 0;) {
    const std::vector<nlohmann::json> values = grid_values(c.parameters[k], c.source);
    const int64_t n = static_cast<int64_t>(values.size());
    const int64_t i = rest % n;
    rest /= n;
    out.values[k] = values[static_cast<size_t>(i)];
    out.z[k] = (static_cast<double>(i) + 0.5) / static_cast<double>(n);
  }
  return out;
}

}  // namespace

int64_t trial_count(const SweepConfig& c, int64_t default_cap) {
  if (c.method != Method::grid) return c.run_cap > 0 ? c.run_cap : default_cap;
  int64_t product = 1;
  for (const Parameter& p : c.parameters) {
    product *= static_cast<int64_t>(grid_values(p, c.source).size());
    if (product > 1000000) product = 1000000;
  }
  return c.run_cap > 0 ? std::min(product, c.run_cap) : product;
}

int64_t round_start(const SweepConfig& c, int64_t trial) {
  return c.method == Method::bayes ? trial - trial % c.proposal_batch : 0;
}

TrialParameters propose(const SweepConfig& c, int64_t trial, const std::vector<TrialResult>& results) {
  if (c.parameters.size() > kMaxParameters) throw SweepError(c.source + ": parameters: more than 4096");
  if (c.method == Method::grid) return grid_parameters(c, trial);
  if (c.method == Method::random || results.size() < 2) return random_parameters(c, trial, 0);
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (const TrialResult& r : results) {
    x.push_back(r.z);
    y.push_back(c.goal == Goal::maximize ? -r.metric : r.metric);
  }
  std::vector<TrialParameters> candidates;
  std::vector<std::vector<double>> zs;
  for (uint32_t k = 0; k < static_cast<uint32_t>(kBayesCandidates); ++k) {
    candidates.push_back(random_parameters(c, trial, kCandidateStreams + k * kMaxParameters));
    zs.push_back(candidates.back().z);
  }
  return candidates[choose_by_expected_improvement(x, y, zs)];
}

}  // namespace trainer::sweep
