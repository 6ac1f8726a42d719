// The initializers of layers/init.h. Bounds in double (IEEE sqrt and division are correctly
// rounded, so they are the same on every machine), one float rounding, then Philox per element.
#include "layers/init.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/error.h"
#include "runtime/io/json_fields.h"
#include "runtime/philox.h"

namespace detnn::layers {

namespace {

constexpr const char* kNames[] = {"torch_default_weight", "torch_default_bias", "kaiming_uniform", "kaiming_normal",
                                  "xavier_uniform",       "zeros",              "ones",            "dirac"};
constexpr size_t kKinds = sizeof(kNames) / sizeof(kNames[0]);

int64_t element_count(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    DETNN_CHECK(d >= 0, invalid_argument, "init: negative extent ", d, " in a parameter shape");
    n *= d;
  }
  return n;
}

// PyTorch's dirac_ with groups = 1: zeros, and 1 at [d, d, centre...] for d < min(out, in).
void fill_dirac(std::span<const int64_t> shape, float* out, int64_t n) {
  DETNN_CHECK(shape.size() >= 3 && shape.size() <= 5, invalid_argument,
              "init dirac: needs a 3- to 5-dim weight, got ", shape.size(), " dims");
  std::memset(out, 0, static_cast<size_t>(n) * sizeof(float));
  int64_t spatial = 1, centre = 0;  // the centre tap's offset inside one [ci] slice
  for (size_t k = 2; k < shape.size(); ++k) {
    centre = centre * shape[k] + shape[k] / 2;
    spatial *= shape[k];
  }
  const int64_t min_dim = std::min(shape[0], shape[1]);
  for (int64_t d = 0; d < min_dim; ++d) out[(d * shape[1] + d) * spatial + centre] = 1.0f;
}

}  // namespace

InitKind parse_init_kind(const nlohmann::json& v, const std::string& path) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    for (size_t i = 0; i < kKinds; ++i)
      if (s == kNames[i]) return static_cast<InitKind>(i);
  }
  std::string choices;
  for (size_t i = 0; i < kKinds; ++i) choices += std::string(i ? " | " : "") + kNames[i];
  throw_json_type_error(path, "one of " + choices, v);
}

const char* init_kind_name(InitKind kind) { return kNames[static_cast<size_t>(kind)]; }

FanInOut fans(std::span<const int64_t> shape) {
  DETNN_CHECK(shape.size() >= 2, invalid_argument,
              "init: fan in and fan out need a weight of >= 2 dims, got ", shape.size());
  int64_t receptive = 1;
  for (size_t k = 2; k < shape.size(); ++k) receptive *= shape[k];
  return FanInOut{shape[1] * receptive, shape[0] * receptive};
}

float init_scale(InitKind kind, FanInOut fan) {
  const double fan_in = static_cast<double>(fan.fan_in);
  const auto need_fan_in = [&] {
    DETNN_CHECK(fan.fan_in > 0, invalid_argument, "init ", init_kind_name(kind), ": fan_in must be > 0, got ",
                fan.fan_in);
  };
  switch (kind) {
    case InitKind::torch_default_weight:
      need_fan_in();
      return static_cast<float>(1.0 / std::sqrt(fan_in));
    case InitKind::torch_default_bias:  // PyTorch: bound 0 for a weight without inputs
      return fan.fan_in > 0 ? static_cast<float>(1.0 / std::sqrt(fan_in)) : 0.0f;
    case InitKind::kaiming_uniform:
      need_fan_in();
      return static_cast<float>(std::sqrt(6.0 / fan_in));
    case InitKind::kaiming_normal:
      need_fan_in();
      return static_cast<float>(std::sqrt(2.0 / fan_in));
    case InitKind::xavier_uniform: {
      const int64_t sum = fan.fan_in + fan.fan_out;
      DETNN_CHECK(sum > 0, invalid_argument, "init xavier_uniform: fan_in + fan_out must be > 0, got ", sum);
      return static_cast<float>(std::sqrt(6.0 / static_cast<double>(sum)));
    }
    default:
      return 0.0f;
  }
}

void init_parameter(InitKind kind, std::string_view stable_name, std::span<const int64_t> shape, FanInOut fan,
                    uint64_t seed, float* out) {
  const int64_t n = element_count(shape);
  switch (kind) {
    case InitKind::zeros:
      for (int64_t i = 0; i < n; ++i) out[i] = 0.0f;
      return;
    case InitKind::ones:
      for (int64_t i = 0; i < n; ++i) out[i] = 1.0f;
      return;
    case InitKind::dirac:
      fill_dirac(shape, out, n);
      return;
    default:
      break;
  }
  const float scale = init_scale(kind, fan);
  const PhiloxKey key = philox_stream_key(seed, RandomPurpose::parameter_init);
  const uint32_t a = stable_name_hash(std::string(stable_name).c_str());
  if (kind == InitKind::kaiming_normal) {
    for (int64_t i = 0; i < n; ++i) out[i] = scale * random_normal(key, static_cast<uint64_t>(i), a, 0);
    return;
  }
  const float width = 2.0f * scale, low = -scale;
  for (int64_t i = 0; i < n; ++i) out[i] = fmaf(width, random_uniform(key, static_cast<uint64_t>(i), a, 0), low);
}

}  // namespace detnn::layers
