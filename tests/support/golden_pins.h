// Golden pins: the digests a training run must reproduce, kept per numerics contract version in
// tests/data/golden/<file>.json as {"contract <version>": {"<series>": ["<sha256>", ...]}}. A
// numerics change that moves any bit (on CPU and GPU alike) fails them until it records new pins
// under a new contract version (runtime/reduction_rules.h) — on purpose, never unseen.
#pragma once

#include <string>
#include <vector>

namespace detnn::testing {

// The pinned series of `file` for this build's contract version. Fails the test (and returns
// nothing) when the file or the series is missing, saying how to record it.
std::vector<std::string> pinned_series(const std::string& file, const std::string& series);

// Checks `actual` against the pinned series, naming the first index that differs. With
// DETNN_RECORD_PINS=1 it prints the series as JSON to paste into the file and fails, so that a
// recording run never passes for a check.
void expect_pinned(const std::string& file, const std::string& series, const std::vector<std::string>& actual);

}  // namespace detnn::testing
