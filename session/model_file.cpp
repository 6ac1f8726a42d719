#include "session/model_file.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "layers/registry.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/io/json_fields.h"
#include "runtime/io/sha256.h"

namespace detnn {

using layers::FeatureShape;

namespace {

FeatureShape parse_input(const nlohmann::json& v, const std::string& path) {
  json_array(v, path);
  if (v.size() != 3) throw_json_type_error(path, "[channels, height, width]", v);
  const FeatureShape input{json_integer(v[0], json_index_path(path, 0), 1), json_integer(v[1], json_index_path(path, 1), 1),
                           json_integer(v[2], json_index_path(path, 2), 1)};
  // The same bound as every layer's output (found by fuzz/model_file_fuzzer: the first layer
  // multiplied an unbounded input out of int64).
  layers::check_feature_size(input, path, "the input");
  return input;
}

LossSpec parse_loss(JsonObject obj) {
  LossSpec loss;
  loss.type = obj.choice_or("type", {"softmax_cross_entropy"}, "softmax_cross_entropy");
  loss.label_smoothing = obj.number_or("label_smoothing", 0.0, 0.0, 1.0);
  obj.finish();
  return loss;
}

// Line and column (1-based) of a byte offset, for JSON syntax errors.
std::string position(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return "byte " + std::to_string(byte) + " (line " + std::to_string(line) + ", column " + std::to_string(col) + ")";
}

}  // namespace

ModelSpec parse_model_json(const nlohmann::json& doc, const std::filesystem::path& base_dir) {
  JsonObject root(doc, "");
  ModelSpec spec;
  spec.name = root.string_or("name", "model");
  spec.description = root.string_or("description", "");
  spec.input = parse_input(root.required("input"), "input");
  spec.layers = root.required("layers");
  // Building the layers checks every shape; the instance is thrown away (no memory is touched).
  auto net = layers::build_sequence(spec.layers, "layers", "layers", spec.input, layers::Engine::cpu,
                                    &spec.resolved_layers);
  spec.output = net->output_shape();
  if (spec.output.h != 1 || spec.output.w != 1)
    DETNN_THROW(format, "layers: the last layer's output is ", spec.output.to_string(),
                " per sample; the loss needs a flat vector of class scores (end with flatten + linear "
                "or global_avgpool + linear)");
  if (spec.output.c < 2)
    DETNN_THROW(format, "layers: the network has ", spec.output.c, " output(s); classification needs at least 2");
  spec.activation_values_per_sample = spec.input.size();
  for (const auto& layer : net->layers()) spec.activation_values_per_sample += layer->output_shape().size();
  for (size_t i = 0; i < net->layers().size(); ++i) {
    layers::Layer& layer = *net->layers()[i];
    std::vector<layers::ParamSlot*> own;
    layer.collect_params(own);
    int64_t count = 0;
    for (const layers::ParamSlot* s : own) count += s->size();
    const layers::FeatureShape out = layer.output_shape();
    spec.layer_summary.push_back({{"index", i}, {"type", spec.resolved_layers.at(i).value("type", "")},
                                  {"output", {out.c, out.h, out.w}}, {"parameters", count}});
  }
  std::vector<layers::ParamSlot*> slots;
  net->collect_params(slots);
  for (const layers::ParamSlot* s : slots) spec.parameter_count += s->size();

  spec.loss = root.has("loss") ? parse_loss(root.object("loss")) : LossSpec{};
  spec.optimizer = optim::parse_optimizer_spec(root.required("optimizer"), "optimizer");
  if (const nlohmann::json* d = root.optional("data")) spec.data = data::parse_data_spec(*d, "data", base_dir);
  spec.training = root.has("training") ? parse_training_spec(root.object("training")) : TrainingSpec{};
  if (spec.training.eval_batch_size == 0) spec.training.eval_batch_size = spec.training.batch_size;
  if (root.has("init_weights")) {
    const std::filesystem::path p = root.string("init_weights");
    spec.init_weights = p.is_absolute() ? p : base_dir / p;
  }
  if (spec.data && spec.data->classes > 0 && spec.data->classes != spec.output.c)
    DETNN_THROW(format, "data.classes: the data has ", spec.data->classes, " classes but the network outputs ",
                spec.output.c, " scores");
  root.finish();
  return spec;
}

ModelSpec parse_model_text(const std::string& text, const std::string& source_name,
                           const std::filesystem::path& base_dir) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text, json_depth_limit(source_name), /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    const std::string what = e.what();
    const size_t colon = what.find("syntax error");
    DETNN_THROW(format, source_name, ": not valid JSON at ", position(text, e.byte > 0 ? e.byte - 1 : 0), ": ",
                cut_for_message(colon == std::string::npos ? what : what.substr(colon)));
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond double's range (1e999): nlohmann names the token but not where it is.
    const std::string what = e.what();
    const size_t open = what.find('\''), close = what.rfind('\'');
    const std::string token = open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    const size_t at = token.empty() ? std::string::npos : text.find(token);
    DETNN_THROW(format, source_name, ": ", at == std::string::npos ? std::string() : position(text, at) + ": ", "the number ",
                cut_for_message(token, 40), " is outside the range of a double");
  }
  try {
    ModelSpec spec = parse_model_json(doc, base_dir);
    spec.source_sha256 = sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    return spec;
  } catch (const Error& e) {
    throw Error(e.code(), source_name + ": " + e.what(), e.location());
  }
}

ModelSpec parse_model_file(const std::filesystem::path& file) {
  std::error_code ec;
  DETNN_CHECK(!std::filesystem::is_directory(file, ec), io, file.string(), ": is a directory, not a model file");
  std::ifstream in(file, std::ios::binary);
  DETNN_CHECK(in.good(), io, file.string(), ": cannot open the model file");
  std::ostringstream buf;
  buf << in.rdbuf();
  DETNN_CHECK(!in.bad(), io, file.string(), ": read error");
  const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
  ModelSpec spec = parse_model_text(buf.str(), file.string(), base);
  spec.source = file;
  return spec;
}

nlohmann::json resolved_config(const ModelSpec& spec) {
  nlohmann::json j;
  j["name"] = spec.name;
  if (!spec.description.empty()) j["description"] = spec.description;
  j["input"] = {spec.input.c, spec.input.h, spec.input.w};
  j["layers"] = spec.resolved_layers.is_null() ? spec.layers : spec.resolved_layers;
  j["loss"] = {{"type", spec.loss.type}, {"label_smoothing", spec.loss.label_smoothing}};
  j["optimizer"] = optim::to_json(spec.optimizer);
  if (spec.data) j["data"] = data::to_json(*spec.data);
  j["training"] = training_spec_json(spec.training);
  if (!spec.init_weights.empty()) j["init_weights"] = spec.init_weights.string();
  return j;
}

}  // namespace detnn
