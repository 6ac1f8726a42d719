// Drawing a parameter's value from its distribution (W&B's definitions, docs/sweeps.md), from
// detnn's Philox stream keyed by (sweep seed, trial, stream) and its deterministic float32
// functions (detnn_sweep_random_bits, detnn_math_*): the same values on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sweep_config.h"

namespace trainer::sweep {

// Uniform numbers for one trial and one purpose, in order.
class DrawStream {
 public:
  DrawStream(uint64_t seed, uint32_t trial, uint32_t stream) : seed_(seed), trial_(trial), stream_(stream) {}
  uint64_t bits();   // 64 random bits
  double uniform();  // [0, 1), 53 bits, exact
 private:
  uint64_t seed_;
  uint32_t trial_, stream_;
  uint64_t index_ = 0;
};

struct Draw {
  nlohmann::json value;  // what the model file gets
  double z = 0.5;        // its place in [0, 1]: the coordinate the bayes proposer models
};

Draw draw(const Distribution& d, DrawStream& stream);

// The values a grid walks for a parameter, in order; SweepError for a distribution a grid cannot
// walk (continuous ones) or one of more than 100,000 values.
std::vector<nlohmann::json> grid_values(const Parameter& p, const std::string& source);

// A few values the distribution can give (its ends, or its centre when unbounded), for checking
// the model file accepts the parameter before any trial runs.
std::vector<nlohmann::json> representative_values(const Distribution& d);

}  // namespace trainer::sweep
