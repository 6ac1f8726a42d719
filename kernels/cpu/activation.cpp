// CPU activations and residual helpers: the per-element functions of kernels/activation.h in
// plain loops over contiguous ranges, split by output over cpu_thread_pool() (each element is
// its own output, so any split gives the same bits).
#include "kernels/activation.h"

#include "kernels/cpu/isa_versions.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per task: enough to amortize the dispatch

void check_n(const char* op, int64_t n) {
  DETNN_CHECK(n >= 0, invalid_argument, op, ": n must be >= 0, got ", n);
}

template <class F>
void for_ranges(int64_t n, F&& f) {
  cpu_thread_pool().parallel_for(n, [&](int64_t begin, int64_t end) { f(begin, end); }, kGrain);
}

// The per-range loops, one version per CPU path (kernels/cpu/isa_versions.h): GELU's dmath erf
// and tanh are chains of fmaf.
inline void forward_range_body(Activation a, const float* x, float* y, int64_t begin, int64_t end) {
  switch (a) {
    case Activation::relu:
      for (int64_t i = begin; i < end; ++i) y[i] = act::relu(x[i]);
      return;
    case Activation::gelu_erf:
      for (int64_t i = begin; i < end; ++i) y[i] = act::gelu_erf(x[i]);
      return;
    case Activation::gelu_tanh:
      for (int64_t i = begin; i < end; ++i) y[i] = act::gelu_tanh(x[i]);
      return;
  }
}

inline void backward_range_body(Activation a, const float* x, const float* dy, float* dx, int64_t begin,
                                int64_t end) {
  switch (a) {
    case Activation::relu:
      for (int64_t i = begin; i < end; ++i) dx[i] = act::relu_backward(x[i], dy[i]);
      return;
    case Activation::gelu_erf:
      for (int64_t i = begin; i < end; ++i) dx[i] = act::gelu_erf_backward(x[i], dy[i]);
      return;
    case Activation::gelu_tanh:
      for (int64_t i = begin; i < end; ++i) dx[i] = act::gelu_tanh_backward(x[i], dy[i]);
      return;
  }
}

DETNN_CPU_VERSIONS(forward_range, (Activation a, const float* x, float* y, int64_t begin, int64_t end),
                   (a, x, y, begin, end))
DETNN_CPU_VERSIONS(backward_range,
                   (Activation a, const float* x, const float* dy, float* dx, int64_t begin, int64_t end),
                   (a, x, dy, dx, begin, end))

bool known(Activation a) {
  return a == Activation::relu || a == Activation::gelu_erf || a == Activation::gelu_tanh;
}

}  // namespace

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::gelu_erf: return "gelu_erf";
    case Activation::gelu_tanh: return "gelu_tanh";
  }
  return "unknown";
}

void activation_forward_cpu(Activation a, const float* x, float* y, int64_t n) {
  check_n(activation_name(a), n);
  DETNN_CHECK(known(a), invalid_argument, "activation_forward: unknown activation ", static_cast<int>(a));
  for_ranges(n, [&](int64_t b, int64_t e) { forward_range(a, x, y, b, e); });
}

void activation_backward_cpu(Activation a, const float* x, const float* dy, float* dx, int64_t n) {
  check_n(activation_name(a), n);
  DETNN_CHECK(known(a), invalid_argument, "activation_backward: unknown activation ", static_cast<int>(a));
  for_ranges(n, [&](int64_t b, int64_t e) { backward_range(a, x, dy, dx, b, e); });
}

void add_cpu(const float* a, const float* b, float* y, int64_t n) {
  check_n("add", n);
  for_ranges(n, [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) y[i] = a[i] + b[i]; });
}

void scale_cpu(const float* x, float alpha, float* y, int64_t n) {
  check_n("scale", n);
  for_ranges(n, [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) y[i] = alpha * x[i]; });
}

}  // namespace detnn::kernels
