#include <gtest/gtest.h>

#include "runtime/error.h"

namespace detnn {
namespace {

// A user's message says what was wrong; where detnn's source refused it is kept apart, for debug
// logs (issue 20: source locations in ~60 user messages).
TEST(Error, CheckKeepsTheLocationOutOfTheUsersMessage) {
  int kernel = -3;
  try {
    DETNN_CHECK(kernel > 0, invalid_argument, "layers[4].kernel: expected a positive integer, got ", kernel);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(std::string(e.what()), "layers[4].kernel: expected a positive integer, got -3");
    EXPECT_NE(e.location().find("kernel > 0 at "), std::string::npos) << e.location();
    EXPECT_NE(e.location().find("error_test.cpp:"), std::string::npos) << e.location();
  }
}

// An internal error is a detnn bug: its message carries the location for the report.
TEST(Error, InternalErrorsAndEmptyMessagesCarryTheLocation) {
  try {
    DETNN_CHECK(1 + 1 == 3, internal, "arithmetic broke");
    FAIL() << "no throw";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("arithmetic broke [1 + 1 == 3 at ", 0), 0u) << m;
    EXPECT_NE(m.find("error_test.cpp:"), std::string::npos) << m;
  }
  try {
    DETNN_CHECK(false, invalid_argument);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("check failed [false at ", 0), 0u) << e.what();
  }
}

TEST(Error, LongValuesAreCutForMessages) {
  EXPECT_EQ(cut_for_message("short"), "short");
  const std::string key(50'000'000, 'k');
  const std::string cut = cut_for_message(key);
  EXPECT_LT(cut.size(), 260u);
  EXPECT_NE(cut.find("(50000000 bytes)"), std::string::npos) << cut;
  // Never inside a UTF-8 character: 2-byte characters from the start, cut at 5 bytes.
  EXPECT_EQ(cut_for_message("ééééé", 5).substr(0, 4), "éé");
  EXPECT_EQ(cut_for_message("ééééé", 5).substr(4, 3), "…");
}

TEST(Error, PassingCheckDoesNotThrow) { EXPECT_NO_THROW(DETNN_CHECK(1 + 1 == 2, internal, "math")); }

}  // namespace
}  // namespace detnn
