#include "support/golden_pins.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/reduction_rules.h"

namespace detnn::testing {

namespace {

std::string path_of(const std::string& file) { return std::string(DETNN_TEST_DATA_DIR) + "/golden/" + file; }
std::string contract_key() { return "contract " + std::to_string(kNumericsContractVersion); }

}  // namespace

std::vector<std::string> pinned_series(const std::string& file, const std::string& series) {
  std::ifstream in(path_of(file));
  if (!in) {
    ADD_FAILURE() << path_of(file) << ": no golden pins (record them with DETNN_RECORD_PINS=1)";
    return {};
  }
  const nlohmann::json pins = nlohmann::json::parse(in);
  if (!pins.contains(contract_key()) || !pins[contract_key()].contains(series)) {
    ADD_FAILURE() << path_of(file) << ": no pins for \"" << series << "\" under \"" << contract_key()
                  << "\" (a numerics change needs a new contract version and pins recorded with "
                     "DETNN_RECORD_PINS=1)";
    return {};
  }
  return pins[contract_key()][series].get<std::vector<std::string>>();
}

void expect_pinned(const std::string& file, const std::string& series, const std::vector<std::string>& actual) {
  const char* record = std::getenv("DETNN_RECORD_PINS");
  if (record != nullptr && std::string(record) == "1") {
    ADD_FAILURE() << "recording, not checking: in " << path_of(file) << ", \"" << contract_key() << "\": {\""
                  << series << "\": " << nlohmann::json(actual).dump() << "}";
    return;
  }
  const std::vector<std::string> pinned = pinned_series(file, series);
  if (pinned.empty()) return;
  ASSERT_EQ(actual.size(), pinned.size()) << file << " " << series;
  for (size_t i = 0; i < pinned.size(); ++i)
    ASSERT_EQ(actual[i], pinned[i]) << file << " \"" << series << "\": digest " << i
                                    << " differs from the pin (" << contract_key() << ")";
}

}  // namespace detnn::testing
