// Building layers from the model file's JSON (docs/model-format.md): a table from type name to
// factory. Each factory reads its own fields through a JsonObject, so unknown keys and wrong
// types are errors naming the JSON path, and checks its input shape.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/engines.h"
#include "layers/sequential.h"
#include "runtime/io/json_fields.h"

namespace detnn::layers {

struct BuildContext {
  std::string name;       // stable name of the layer, e.g. "layers.3"
  std::string json_path;  // where it is in the model file, e.g. "layers[3]"
  FeatureShape input;     // per-sample input shape
  Engine engine = Engine::cpu;  // how conv2d and linear compute (layers/engines.h)
};

using LayerFactory = std::unique_ptr<Layer> (*)(JsonObject& spec, const BuildContext& ctx);

// The registered type names, sorted (for error messages and docs).
std::vector<std::string> layer_types();

// One layer from its JSON object ({"type": ..., fields}). `resolved` (optional) receives the
// object with every default written out.
std::unique_ptr<Layer> build_layer(const nlohmann::json& spec, const BuildContext& ctx,
                                   nlohmann::json* resolved = nullptr);

// A chain from a JSON array; layer i is named "<name_prefix>.<i>" at "<json_path>[i]", built for
// `engine`. `resolved` (optional) receives the array with every layer's defaults written out.
std::unique_ptr<Sequential> build_sequence(const nlohmann::json& array, const std::string& json_path,
                                           const std::string& name_prefix, FeatureShape input, Engine engine,
                                           nlohmann::json* resolved = nullptr);

// A sample's input or a layer's output must be a size the framework can index and allocate (with
// room for a batch): Error(format) "<path>: <what> would be C x H x W values per sample, more than
// 2^40" before any tensor is made.
void check_feature_size(const FeatureShape& shape, const std::string& json_path, const char* what = "the output");

// Throws Error(format) "<path>: <message>" for shape mismatches found while building.
[[noreturn]] void throw_shape_error(const BuildContext& ctx, const std::string& message);

// The initializer named by `key` ("init", "bias_init"), or `fallback` when absent.
InitKind init_kind_or(JsonObject& spec, const char* key, InitKind fallback);

// The factories (one file each).
std::unique_ptr<Layer> make_conv2d(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_linear(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_batchnorm2d(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_relu(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_gelu(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_maxpool2d(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_avgpool2d(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_global_avgpool(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_flatten(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_dropout(JsonObject& spec, const BuildContext& ctx);
std::unique_ptr<Layer> make_residual(JsonObject& spec, const BuildContext& ctx);

}  // namespace detnn::layers
