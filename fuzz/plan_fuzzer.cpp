// The fast mode's kernel-plan files (kernels/vendor/kernel_plan.h) on arbitrary bytes: JSON, the
// format key, candidate kinds and ops, the rule that a chosen candidate may run its op, duplicate
// calls.
#include <string>

#include "fuzz/fuzz_support.h"
#include "kernels/vendor/kernel_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  detnn::fuzz::expect_clean_refusal([&] { detnn::parse_kernel_plan(text, "plan.json"); });
  return 0;
}
