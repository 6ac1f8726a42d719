#include <gtest/gtest.h>

#include "runtime/error.h"

namespace detnn {
namespace {

TEST(Error, CheckNamesConditionValuesAndLocation) {
  int kernel = -3;
  try {
    DETNN_CHECK(kernel > 0, invalid_argument, "layers[4].kernel: expected a positive integer, got ", kernel);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    std::string m = e.what();
    EXPECT_NE(m.find("got -3"), std::string::npos) << m;
    EXPECT_NE(m.find("kernel > 0"), std::string::npos) << m;
    EXPECT_NE(m.find("error_test.cpp"), std::string::npos) << m;
  }
}

TEST(Error, PassingCheckDoesNotThrow) { EXPECT_NO_THROW(DETNN_CHECK(1 + 1 == 2, internal, "math")); }

}  // namespace
}  // namespace detnn
