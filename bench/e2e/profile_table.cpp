#include "profile_table.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace detnn::bench {

namespace {
double ms_of(const PartTimes& t, const std::string& part) {
  for (const auto& [name, ms] : t.ms_per_step)
    if (name == part) return ms;
  return -1;  // the mode has no such part
}
}  // namespace

void print_profile(const std::vector<PartTimes>& modes, nlohmann::json& out) {
  std::vector<std::string> parts;
  for (const PartTimes& t : modes)
    for (const auto& [name, ms] : t.ms_per_step)
      if (std::find(parts.begin(), parts.end(), name) == parts.end()) parts.push_back(name);
  std::printf("\nwhere an eager step's time goes (device time per part, ms per step):\n%-44s", "part");
  for (const PartTimes& t : modes) std::printf(" %10s", t.mode.c_str());
  std::printf("\n");
  std::vector<double> sums(modes.size(), 0.0);
  for (const std::string& part : parts) {
    std::printf("%-44s", part.substr(0, 44).c_str());
    for (size_t i = 0; i < modes.size(); ++i) {
      const double ms = ms_of(modes[i], part);
      if (ms < 0) {
        std::printf(" %10s", "-");
      } else {
        std::printf(" %10.3f", ms);
        sums[i] += ms;
      }
    }
    std::printf("\n");
  }
  std::printf("%-44s", "sum of the parts");
  for (double s : sums) std::printf(" %10.3f", s);
  std::printf("\n");
  for (const PartTimes& t : modes) {
    if (!t.reason.empty()) std::printf("%s: not profiled: %s\n", t.mode.c_str(), t.reason.c_str());
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [name, ms] : t.ms_per_step) rows.push_back({{"part", name}, {"ms_per_step", ms}});
    out["profile"][t.mode] = t.reason.empty() ? rows : nlohmann::json({{"reason", t.reason}});
  }
}

}  // namespace detnn::bench
