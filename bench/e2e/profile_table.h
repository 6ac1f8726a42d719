// `detnn-bench --profile`: the per-part table of where each mode's eager step spends its device
// time (bench/e2e/measure.h, profile_mode), printed and added to the JSON result.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "measure.h"

namespace detnn::bench {

// One row per part (the union over the modes, in the step's order), one column per mode, ms per
// step; the last row sums the parts. out["profile"] gets the same per mode.
void print_profile(const std::vector<PartTimes>& modes, nlohmann::json& out);

}  // namespace detnn::bench
