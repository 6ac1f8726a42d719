#include "layers/registry.h"

#include <algorithm>
#include <map>

#include "runtime/error.h"

namespace detnn::layers {

namespace {
const std::map<std::string, LayerFactory>& factories() {
  static const std::map<std::string, LayerFactory> table = {
      {"conv2d", make_conv2d},           {"linear", make_linear},
      {"batchnorm2d", make_batchnorm2d}, {"relu", make_relu},
      {"gelu", make_gelu},               {"maxpool2d", make_maxpool2d},
      {"avgpool2d", make_avgpool2d},     {"global_avgpool", make_global_avgpool},
      {"flatten", make_flatten},         {"dropout", make_dropout},
      {"residual", make_residual},
  };
  return table;
}
}  // namespace

std::vector<std::string> layer_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

void throw_shape_error(const BuildContext& ctx, const std::string& message) {
  DETNN_THROW(format, ctx.json_path, ": ", message);
}

InitKind init_kind_or(JsonObject& spec, const char* key, InitKind fallback) {
  const nlohmann::json* v = spec.optional(key);
  if (v != nullptr) return parse_init_kind(*v, spec.child_path(key));
  spec.set_resolved(key, init_kind_name(fallback));
  return fallback;
}

std::unique_ptr<Layer> build_layer(const nlohmann::json& spec, const BuildContext& ctx, nlohmann::json* resolved) {
  JsonObject obj(spec, ctx.json_path);
  const std::string type = obj.choice("type", layer_types());
  std::unique_ptr<Layer> layer = factories().at(type)(obj, ctx);
  obj.finish();
  if (resolved != nullptr) *resolved = obj.resolved();
  return layer;
}

void check_feature_size(const FeatureShape& shape, const std::string& json_path, const char* what) {
  constexpr int64_t kMaxValuesPerSample = int64_t{1} << 40;
  int64_t n = 1;
  for (const int64_t d : {shape.c, shape.h, shape.w})
    DETNN_CHECK(d > 0 && !__builtin_mul_overflow(n, d, &n) && n <= kMaxValuesPerSample, format, json_path, ": ",
                what, " would be ", shape.c, " x ", shape.h, " x ", shape.w,
                " values per sample, more than 2^40 (or a dimension below 1)");
}

std::unique_ptr<Sequential> build_sequence(const nlohmann::json& array, const std::string& json_path,
                                           const std::string& name_prefix, FeatureShape input, Engine engine,
                                           nlohmann::json* resolved) {
  json_array(array, json_path);
  DETNN_CHECK(!array.empty(), format, json_path, ": expected at least one layer, got []");
  std::vector<std::unique_ptr<Layer>> layers;
  FeatureShape shape = input;
  if (resolved != nullptr) *resolved = nlohmann::json::array();
  for (size_t i = 0; i < array.size(); ++i) {
    BuildContext ctx{name_prefix + "." + std::to_string(i), json_index_path(json_path, i), shape, engine};
    nlohmann::json layer_resolved;
    layers.push_back(build_layer(array[i], ctx, resolved != nullptr ? &layer_resolved : nullptr));
    if (resolved != nullptr) resolved->push_back(std::move(layer_resolved));
    shape = layers.back()->output_shape();
    check_feature_size(shape, ctx.json_path);
  }
  return std::make_unique<Sequential>(name_prefix, input, std::move(layers));
}

}  // namespace detnn::layers
