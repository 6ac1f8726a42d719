// Model files that once crashed the process (issue 20, items 1 and 2) are refused with an error
// naming the file or the JSON path: nesting far beyond any model file, and layer sizes whose
// element counts overflow or exceed what a model may hold — before any tensor is allocated.
#include <gtest/gtest.h>

#include <string>

#include "data/readers.h"
#include "session/model_file.h"
#include "session/session.h"
#include "support/test_util.h"

namespace detnn {
namespace {

std::string small_model(const std::string& hidden_layer) {
  return R"({"name": "limits", "input": [1, 8, 8], "layers": [{"type": "flatten"}, )" + hidden_layer +
         R"(, {"type": "linear", "out_features": 4}], "optimizer": {"type": "sgd", "lr": 0.1},
          "training": {"batch_size": 8, "chunk_size": 8}})";
}

TEST(ModelFileLimits, DeepNestingIsRefusedNamingTheFile) {
  for (const std::string& where : {std::string("layers"), std::string("note")}) {
    const std::string deep = std::string(70000, '[') + std::string(70000, ']');
    const std::string text = where == "layers" ? R"({"name": "x", "input": [1, 8, 8], "layers": )" + deep + "}"
                                               : R"({"name": "x", "note": )" + deep + "}";
    test::expect_error([&] { parse_model_text(text, "deep.json", "."); }, ErrorCode::format,
                       "deep.json: nested deeper than 256 levels");
  }
}

// nlohmann keeps the last of two equal keys: a model file saying "lr" twice would train with
// whichever came last, silently (issue 20, item 10).
TEST(ModelFileLimits, AKeyTwiceInOneObjectIsRefused) {
  test::expect_error([] { parse_model_text(small_model(R"({"type": "linear", "out_features": 8, "out_features": 9})"), "m.json", "."); },
                     ErrorCode::format, "m.json: the key \"out_features\" appears twice in one object");
  // Equal keys in different objects are fine.
  EXPECT_NO_THROW(parse_model_text(small_model(R"({"type": "linear", "out_features": 8})"), "m.json", "."));
}

TEST(ModelFileLimits, HugeLayerSizesAreRefusedBeforeAnyAllocation) {
  for (const char* huge : {"9223372036854775807", "4611686018427387904"})
    test::expect_error(
        [&] { parse_model_text(small_model(std::string(R"({"type": "linear", "out_features": )") + huge + "}"), "m.json", "."); },
        ErrorCode::format, "m.json: layers[1]: the output would be ");
  // Fits per sample, but its weight [3e9, 64] is beyond what a model may hold.
  const ModelSpec spec =
      parse_model_text(small_model(R"({"type": "linear", "out_features": 3000000000})"), "m.json", ".");
  test::expect_error([&] { Session s(spec); }, ErrorCode::format,
                     "layers.1.weight: a tensor of shape [3000000000, 64] is larger than a model may be");
}


// Found by fuzz/model_file_fuzzer: an input shape whose product leaves int64 overflowed in the
// first layer (UBSan); the input has the same per-sample bound as every layer's output now.
TEST(ModelFileLimits, AnInputBeyondTheSampleLimitIsRefused) {
  const std::string text = R"({"name": "x", "input": [14448, 444444444444444444, 1], "layers": [{"type": "flatten"},
      {"type": "linear", "out_features": 4}], "optimizer": {"type": "sgd", "lr": 0.1}})";
  test::expect_error([&] { parse_model_text(text, "m.json", "."); }, ErrorCode::format,
                     "m.json: input: the input would be 14448 x 444444444444444444 x 1 values per sample, more than 2^40");
}

// A [1, 16384, 16384] input (issue 20: std::bad_alloc after 29 s) is refused when the session is
// made, before any activation exists, with what a pass needs and what the machine has.
TEST(ModelFileLimits, AModelWhosePassCannotFitIsRefusedWithTheAmounts) {
  const ModelSpec spec = parse_model_text(
      R"({"name": "wide", "input": [1, 16384, 16384], "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3,
          "padding": 1}, {"type": "relu"}, {"type": "global_avgpool"}, {"type": "flatten"},
          {"type": "linear", "out_features": 3}], "optimizer": {"type": "sgd", "lr": 0.1},
          "training": {"batch_size": 32, "chunk_size": 8}})",
      "wide.json", ".");
  test::expect_error([&] { Session s(spec); }, ErrorCode::out_of_memory,
                     "training wide in passes of 32 samples (2415919115 activation values per sample");
  test::expect_error([&] { Session s(spec); }, ErrorCode::out_of_memory, " GiB, this machine has ");
}

// Synthetic data is generated in memory: a set the host cannot hold is refused before it is made.
TEST(ModelFileLimits, SyntheticDataTheHostCannotHoldIsRefused) {
  data::SyntheticSpec big;
  big.count = 1 << 20;
  big.channels = 3;
  big.height = big.width = 4096;
  test::expect_error([&] { data::make_synthetic(big); }, ErrorCode::out_of_memory,
                     "synthetic data of 1048576 samples of 3x4096x4096 needs 49152.5 GiB, this machine has ");
}

}  // namespace
}  // namespace detnn
