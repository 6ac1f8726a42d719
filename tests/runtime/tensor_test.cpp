#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace detnn {
namespace {

TEST(Tensor, ShapeBasics) {
  const Shape s{64, 3, 32, 32};
  EXPECT_EQ(s.ndim(), 4);
  EXPECT_EQ(s.numel(), 64 * 3 * 32 * 32);
  EXPECT_EQ(s.to_string(), "[64, 3, 32, 32]");
  EXPECT_EQ(Shape{}.numel(), 1);  // 0-d
  EXPECT_EQ((Shape{4, 0, 2}.numel()), 0);
  EXPECT_TRUE((Shape{2, 3} == Shape{2, 3}));
  EXPECT_FALSE((Shape{2, 3} == Shape{3, 2}));
}

TEST(Tensor, BadShapesAreNamedErrors) {
  try {
    Shape s{2, -3};
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("[2, -3]"), std::string::npos) << e.what();
  }
  EXPECT_THROW((Shape{1, 2, 3, 4, 5, 6}), Error);
  EXPECT_THROW((Shape{int64_t{1} << 40, int64_t{1} << 40}), Error);  // overflows int64
}

TEST(Tensor, CpuStorageIsAlignedZeroedAndTyped) {
  Tensor t = Tensor::zeros({7, 9}, DType::f32, Device::cpu());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
  EXPECT_EQ(t.nbytes(), 7u * 9 * 4);
  for (int i = 0; i < 63; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
  EXPECT_THROW(t.data<int32_t>(), Error);
  EXPECT_EQ(t.device(), Device::cpu());
}

TEST(Tensor, CopiesShareStorageAndCopyFromChecksShapes) {
  std::vector<int32_t> v = {1, 2, 3, 4, 5, 6};
  Tensor a = Tensor::from_host({2, 3}, DType::i32, v.data(), v.size() * 4);
  Tensor alias = a;
  alias.data<int32_t>()[0] = 42;
  EXPECT_EQ(a.data<int32_t>()[0], 42);
  Tensor b = a.to(Device::cpu());
  b.data<int32_t>()[1] = -1;
  EXPECT_EQ(a.data<int32_t>()[1], 2);  // to() copies
  Tensor r = a.reshaped({3, 2});
  EXPECT_EQ(r.data<int32_t>()[5], 6);
  EXPECT_THROW(a.reshaped({4, 2}), Error);
  Tensor wrong = Tensor::empty({3, 2}, DType::i32, Device::cpu());
  EXPECT_THROW(wrong.copy_from(a), Error);
  EXPECT_THROW(Tensor::from_host({2, 3}, DType::i32, v.data(), 5), Error);
}

TEST(Tensor, DeviceNamesParseAndPrint) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:3"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(2).to_string(), "cuda:2");
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", ""}) EXPECT_THROW(parse_device(bad), Error) << bad;
}

#ifndef DETNN_HAVE_CUDA
TEST(Tensor, CudaTensorInCpuOnlyBuildIsUnsupported) {
  try {
    Tensor::empty({4}, DType::f32, Device::cuda(0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
  }
}
#endif

}  // namespace
}  // namespace detnn
