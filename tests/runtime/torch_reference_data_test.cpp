#include <gtest/gtest.h>

#include "support/torch_reference.h"

namespace detnn::test {
namespace {

// The reference file loads and holds what the op tests rely on; and its inputs are
// float32-representable as documented, so float inputs reproduce them exactly.
// Exception found: batchnorm_train/x is NOT (75 of its 360 values need more than 24 bits), so
// the batch-norm tests round it to float and bound the error that rounding adds.
TEST(TorchReferenceData, LoadsAndInputsAreFloat32Representable) {
  const auto& ref = TorchReference::get();
  EXPECT_EQ(ref.params("conv_3x3_s2_p1")["stride"], 2);
  EXPECT_EQ(ref.shape("conv_3x3_s2_p1", "x"), (std::vector<int64_t>{3, 2, 7, 7}));
  for (const char* c : {"conv_3x3_s1_p1", "linear", "batchnorm_eval", "gelu_erf", "maxpool_k2s2"}) {
    const auto x = ref.values(c, "x");
    for (double v : x) ASSERT_EQ(static_cast<double>(static_cast<float>(v)), v) << c;
  }
  EXPECT_THROW(ref.values("no_such_case", "x"), Error);
  int not_representable = 0;
  for (double v : ref.values("batchnorm_train", "x")) not_representable += static_cast<float>(v) != v;
  EXPECT_EQ(not_representable, 75) << "batchnorm_train/x changed: revisit the batch-norm tolerance";
}

}  // namespace
}  // namespace detnn::test
