#include "layers/model_spec.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "layers/registry.h"
#include "runtime/batch_split.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/json_fields.h"
#include "runtime/sha256.h"

namespace detnn::layers {

namespace {

FeatureShape parse_input(const nlohmann::json& v, const std::string& path) {
  json_array(v, path);
  if (v.size() != 3) throw_json_type_error(path, "[channels, height, width]", v);
  return {json_integer(v[0], json_index_path(path, 0), 1), json_integer(v[1], json_index_path(path, 1), 1),
          json_integer(v[2], json_index_path(path, 2), 1)};
}

LossSpec parse_loss(JsonObject obj) {
  LossSpec loss;
  loss.type = obj.choice_or("type", {"softmax_cross_entropy"}, "softmax_cross_entropy");
  loss.label_smoothing = obj.number_or("label_smoothing", 0.0, 0.0, 1.0);
  obj.finish();
  return loss;
}

// training.cuda_graph's default: DETNN_CUDA_GRAPH when set (so that a whole test suite or a
// trainer run can replay its steps from CUDA Graphs without editing model files), else "off".
std::string default_cuda_graph() {
  const char* env = std::getenv("DETNN_CUDA_GRAPH");
  if (env == nullptr || *env == '\0') return "off";
  const std::string value = env;
  DETNN_CHECK(value == "off" || value == "auto", invalid_argument, "DETNN_CUDA_GRAPH=\"", value,
              "\" is not one of off, auto");
  return value;
}

TrainingSpec parse_training(JsonObject obj) {
  TrainingSpec t;
  t.epochs = obj.integer_or("epochs", t.epochs, 0);
  t.batch_size = obj.integer_or("batch_size", t.batch_size, 1);
  t.chunk_size = obj.integer_or("chunk_size", std::min<int64_t>(32, t.batch_size), 1);
  const int64_t seed = obj.integer_or("seed", 0, 0);
  t.seed = static_cast<uint64_t>(seed);
  t.determinism = obj.choice_or("determinism", {"strict", "fast", "off"}, "strict");
  t.precision = obj.choice_or("precision", {"fp32", "tf32"}, "fp32");
  t.cuda_graph = obj.choice_or("cuda_graph", {"off", "auto"}, default_cuda_graph());
  t.device = obj.string_or("device", "cpu");
  try {
    parse_device(t.device);
  } catch (const Error& e) {
    DETNN_THROW(format, obj.child_path("device"), ": ", e.what());
  }
  t.threads = obj.integer_or("threads", 0, 0);
  t.chunks_per_pass = obj.integer_or("chunks_per_pass", 0, 0);
  t.eval_batch_size = obj.integer_or("eval_batch_size", 0, 0);
  t.log_every = obj.integer_or("log_every", t.log_every, 1);
  obj.finish();
  if (t.precision == "tf32" && t.determinism == "strict")
    DETNN_THROW(format, obj.child_path("precision"),
                ": \"tf32\" needs determinism \"fast\" or \"off\"; strict computes in FP32 on CUDA cores only "
                "(DESIGN §1)");
  try {
    plan_chunk_split(t.batch_size, t.chunk_size, 1);
  } catch (const Error& e) {
    DETNN_THROW(format, obj.path(), ": ", e.what());
  }
  return t;
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
  auto net = build_sequence(spec.layers, "layers", "layers", spec.input);
  spec.output = net->output_shape();
  if (spec.output.h != 1 || spec.output.w != 1)
    DETNN_THROW(format, "layers: the last layer's output is ", spec.output.to_string(),
                " per sample; the loss needs a flat vector of class scores (end with flatten + linear "
                "or global_avgpool + linear)");
  if (spec.output.c < 2)
    DETNN_THROW(format, "layers: the network has ", spec.output.c, " output(s); classification needs at least 2");
  std::vector<ParamSlot*> slots;
  net->collect_params(slots);
  for (const ParamSlot* s : slots) spec.parameter_count += s->size();

  spec.loss = root.has("loss") ? parse_loss(root.object("loss")) : LossSpec{};
  spec.optimizer = optim::parse_optimizer_spec(root.required("optimizer"), "optimizer");
  if (const nlohmann::json* d = root.optional("data")) spec.data = data::parse_data_spec(*d, "data", base_dir);
  spec.training = root.has("training") ? parse_training(root.object("training")) : TrainingSpec{};
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
    doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    const std::string what = e.what();
    const size_t colon = what.find("syntax error");
    DETNN_THROW(format, source_name, ": not valid JSON at ", position(text, e.byte > 0 ? e.byte - 1 : 0), ": ",
                colon == std::string::npos ? what : what.substr(colon));
  }
  try {
    ModelSpec spec = parse_model_json(doc, base_dir);
    spec.source_sha256 = sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    return spec;
  } catch (const Error& e) {
    throw Error(e.code(), source_name + ": " + e.what());
  }
}

ModelSpec parse_model_file(const std::filesystem::path& file) {
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
  j["layers"] = spec.layers;
  j["loss"] = {{"type", spec.loss.type}, {"label_smoothing", spec.loss.label_smoothing}};
  j["optimizer"] = optim::to_json(spec.optimizer);
  if (spec.data) j["data"] = data::to_json(*spec.data);
  const TrainingSpec& t = spec.training;
  j["training"] = {{"epochs", t.epochs},           {"batch_size", t.batch_size},
                   {"chunk_size", t.chunk_size},   {"seed", t.seed},
                   {"determinism", t.determinism}, {"precision", t.precision},
                   {"cuda_graph", t.cuda_graph},   {"device", t.device},
                   {"threads", t.threads},         {"chunks_per_pass", t.chunks_per_pass},
                   {"eval_batch_size", t.eval_batch_size}, {"log_every", t.log_every}};
  if (!spec.init_weights.empty()) j["init_weights"] = spec.init_weights.string();
  return j;
}

}  // namespace detnn::layers
