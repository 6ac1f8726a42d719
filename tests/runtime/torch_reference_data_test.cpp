#include <gtest/gtest.h>

#include "support/torch_reference.h"

namespace detnn::test {
namespace {

// The reference file loads and holds what the op tests rely on; and its inputs are
// float32-representable as documented (tools/make_torch_reference.py ops draws them in float32),
// so float inputs reproduce them exactly.
TEST(TorchReferenceData, LoadsAndInputsAreFloat32Representable) {
  const auto& ref = TorchReference::get();
  EXPECT_EQ(ref.params("conv_3x3_s2_p1")["stride"], 2);
  EXPECT_EQ(ref.shape("conv_3x3_s2_p1", "x"), (std::vector<int64_t>{3, 2, 7, 7}));
  EXPECT_THROW(ref.values("no_such_case", "x"), Error);
  const auto not_representable = [&](const char* c, const char* name) {
    int n = 0;
    for (double v : ref.values(c, name)) n += static_cast<double>(static_cast<float>(v)) != v;
    return n;
  };
  for (const char* c : {"conv_3x3_s1_p1", "linear", "batchnorm_train", "batchnorm_eval", "gelu_erf", "maxpool_k2s2"})
    EXPECT_EQ(not_representable(c, "x"), 0) << c;
  // batchnorm_train's x and gamma were once shifted in float64 after the float32 draw.
  EXPECT_EQ(not_representable("batchnorm_train", "gamma"), 0);
}

}  // namespace
}  // namespace detnn::test
