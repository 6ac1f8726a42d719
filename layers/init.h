// Parameter initializers (DESIGN §4): every value is a pure function of (seed, the parameter's
// stable name, element index), computed on the host from Philox, so a parameter's initial bits
// never depend on the model's layer order, the device or the thread count.
//
// Philox key: philox_stream_key(seed, RandomPurpose::parameter_init); counter words
// a = stable_name_hash(stable_name), b = 0, index = the element's row-major index.
//   uniform kinds: u = random_uniform(key, i, a, 0) in [0, 1), value = fmaf(2b, u, -b): one
//                  rounding (2b is exact), u = 0 gives -b exactly, and every value is in [-b, b).
//   kaiming_normal: value = std * random_normal(key, i, a, 0) (Box–Muller from dmath).
// Bounds and standard deviations: in double with IEEE sqrt and division only (no libm), rounded
// once to float (init_scale).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace detnn::layers {

enum class InitKind {
  torch_default_weight,  // PyTorch's Linear/Conv default, kaiming_uniform(a = sqrt 5): b = 1/sqrt(fan_in)
  torch_default_bias,    // U(-b, b), b = 1/sqrt(fan_in of the layer's weight) (0 when fan_in is 0)
  kaiming_uniform,       // ReLU gain: b = sqrt(6/fan_in)
  kaiming_normal,        // fan_in mode, ReLU gain: std = sqrt(2/fan_in)
  xavier_uniform,        // b = sqrt(6/(fan_in + fan_out))
  zeros,
  ones,
  dirac,                 // identity convolution (PyTorch's dirac_, groups = 1): 3 to 5 dims
};

// "torch_default_weight", "kaiming_uniform", ...; Error(format) at `path` listing the choices.
InitKind parse_init_kind(const nlohmann::json& v, const std::string& path);
const char* init_kind_name(InitKind kind);

struct FanInOut {
  int64_t fan_in, fan_out;
};
// PyTorch's _calculate_fan_in_and_fan_out: fan_in = shape[1] * receptive field, fan_out =
// shape[0] * receptive field, receptive field = product of shape[2:]. Needs >= 2 dims.
FanInOut fans(std::span<const int64_t> weight_shape);

// The uniform bound b or the normal std of `kind` for these fans (0 for zeros, ones, dirac).
// Error(invalid_argument) when the kind needs fan_in > 0 (or fan_in + fan_out > 0) and it is not.
float init_scale(InitKind kind, FanInOut fan);

// Fills out[0, product(shape)) for the parameter `stable_name` (e.g. "layers.3.weight").
// `fan`: the parameter's own fans, or for torch_default_bias those of the layer's weight.
void init_parameter(InitKind kind, std::string_view stable_name, std::span<const int64_t> shape,
                    FanInOut fan, uint64_t seed, float* out);

}  // namespace detnn::layers
