#include <gtest/gtest.h>

#include "runtime/alloc/gpu_raw_device.h"
#include "runtime/tensor.h"
#include "support/test_util.h"

namespace detnn {
namespace {

TEST(TensorGpu, RoundTripThroughTheCachingAllocator) {
  DETNN_REQUIRE_GPU();
  auto host = test::random_floats(1000, 5);
  Tensor h = Tensor::from_host({10, 100}, DType::f32, host.data(), host.size() * 4);
  const auto before = alloc::cuda_allocator(0).stats();
  {
    Tensor d = h.to(Device::cuda(0));
    EXPECT_EQ(d.device(), Device::cuda(0));
    const auto during = alloc::cuda_allocator(0).stats();
    EXPECT_GE(during.allocated_bytes, before.allocated_bytes + 4000);
    Tensor back = d.to(Device::cpu());
    EXPECT_EQ(test::first_bit_difference(back.data<float>(), host.data(), host.size()), -1);
    Tensor z = Tensor::zeros({10, 100}, DType::f32, Device::cuda(0));
    Tensor zh = z.to(Device::cpu());
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(zh.data<float>()[i], 0.0f);
  }
  EXPECT_EQ(alloc::cuda_allocator(0).stats().allocated_bytes, before.allocated_bytes);
}

}  // namespace
}  // namespace detnn
