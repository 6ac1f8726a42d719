// detnn_export_onnx (include/detnn/detnn_onnx.h): the model's resolved config and the checkpoint's
// tensors, both read through detnn's C API, become an ONNX ModelProto (libonnx), which ONNX's
// checker must accept before the file is written, whole, through a temporary and a rename.
#include "detnn/detnn_onnx.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "onnx_graph.h"

namespace {

namespace fs = std::filesystem;
using detnn::onnx_export::ExportError;
using detnn::onnx_export::TensorView;
using nlohmann::json;

thread_local std::string last_error;

// The detnn checkpoint, open for the export's length.
class Checkpoint {
 public:
  explicit Checkpoint(const char* path) {
    if (detnn_checkpoint_open(path, &handle_) != DETNN_OK) throw ExportError(DETNN_ERROR_IO, detnn_last_error());
    int64_t count = 0;
    detnn_checkpoint_tensor_count(handle_, &count);
    for (int64_t i = 0; i < count; ++i) {
      const char* name = nullptr;
      TensorView v;
      detnn_checkpoint_tensor(handle_, i, &name, &v.values, &v.count);
      tensors_[name] = v;
    }
  }
  ~Checkpoint() { detnn_checkpoint_destroy(handle_); }
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  std::string metadata(const char* key) const {
    const char* value = nullptr;
    return detnn_checkpoint_metadata(handle_, key, &value) == DETNN_OK ? value : "";
  }

 private:
  detnn_checkpoint* handle_ = nullptr;
  std::map<std::string, TensorView> tensors_;
};

void set_dims(onnx::ValueInfoProto* v, const std::string& name, int64_t batch, const std::vector<int64_t>& rest) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  if (batch > 0) shape->add_dim()->set_dim_value(batch);
  else shape->add_dim()->set_dim_param("batch");
  for (int64_t d : rest) shape->add_dim()->set_dim_value(d);
}

void metadata(onnx::ModelProto& m, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* e = m.add_metadata_props();
  e->set_key(key);
  e->set_value(value);
}

void write_whole(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const fs::path temporary = target.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw ExportError(DETNN_ERROR_IO, path + ": cannot be written (" + std::strerror(errno) + ")");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(temporary, ec);
      throw ExportError(DETNN_ERROR_IO, path + ": cannot be written (" + std::strerror(errno) + ")");
    }
  }
  std::error_code ec;
  fs::rename(temporary, target, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw ExportError(DETNN_ERROR_IO, path + ": cannot be written (" + ec.message() + ")");
  }
}

void export_model(const detnn_model* model, const char* checkpoint_path, const detnn_onnx_options& o,
                  const char* onnx_path) {
  if (o.opset < 13 || o.opset > 17)
    throw ExportError(DETNN_ERROR_INVALID_ARGUMENT, "opset " + std::to_string(o.opset) +
                                                        ": the export writes opsets 13 to 17 (what this libonnx checks)");
  if (o.batch < 0) throw ExportError(DETNN_ERROR_INVALID_ARGUMENT, "batch " + std::to_string(o.batch) + ": expected >= 1, or 0 for a dynamic batch");
  const char* config_text = nullptr;
  if (detnn_model_config_json(model, &config_text) != DETNN_OK) throw ExportError(DETNN_ERROR_INVALID_ARGUMENT, detnn_last_error());
  const json config = json::parse(config_text);
  const Checkpoint checkpoint(checkpoint_path);

  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("detnn");
  m.set_producer_version(detnn_version());
  m.set_model_version(1);
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  onnx::GraphProto& graph = *m.mutable_graph();
  graph.set_name(config.value("name", "model"));
  const std::vector<int64_t> input = config.at("input").get<std::vector<int64_t>>();
  set_dims(graph.add_input(), "input", o.batch, input);

  detnn::onnx_export::GraphBuilder builder(graph, checkpoint.tensors(), checkpoint_path);
  std::string x = "input";
  if (o.normalize && config.contains("data") && config["data"].contains("normalize")) {
    const json& n = config["data"]["normalize"];
    std::vector<float> mean = n.at("mean").get<std::vector<float>>(), sd = n.at("std").get<std::vector<float>>();
    if (mean.size() == 1) mean.assign(static_cast<size_t>(input[0]), mean[0]);
    if (sd.size() == 1) sd.assign(static_cast<size_t>(input[0]), sd[0]);
    x = builder.normalization(x, mean, sd);
  }
  bool flat = false;
  x = builder.sequence(config.at("layers"), "layers", x, flat);
  onnx::NodeProto* out = graph.add_node();
  out->set_op_type("Identity");
  out->set_name("logits");
  out->add_input(x);
  out->add_output("logits");
  int64_t classes = 0;
  detnn_model_classes(model, &classes);
  set_dims(graph.add_output(), "logits", o.batch, {classes});

  metadata(m, "detnn_model", config.value("name", "model"));
  metadata(m, "detnn_version", detnn_version());
  metadata(m, "detnn_numerics_contract", std::to_string(detnn_numerics_contract_version()));
  metadata(m, "detnn_checkpoint", fs::path(checkpoint_path).filename().string());
  metadata(m, "detnn_checkpoint_tensor_sha256", checkpoint.metadata("tensor_sha256"));
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    std::string what = e.what();
    for (char& ch : what)
      if (ch == '\n') ch = ' ';
    throw ExportError(DETNN_ERROR_INTERNAL, std::string("the exported model fails ONNX's checker: ") + what);
  }
  write_whole(onnx_path, m.SerializeAsString());
}

}  // namespace

extern "C" {

detnn_status detnn_export_onnx(const detnn_model* model, const char* checkpoint_path, const detnn_onnx_options* options,
                               const char* onnx_path) {
  last_error.clear();
  try {
    if (model == nullptr || checkpoint_path == nullptr || onnx_path == nullptr)
      throw ExportError(DETNN_ERROR_INVALID_ARGUMENT, "detnn_export_onnx: model, checkpoint_path and onnx_path are required");
    detnn_onnx_options o{17, 0, 0};
    if (options != nullptr) o = *options;
    if (o.opset == 0) o.opset = 17;
    export_model(model, checkpoint_path, o, onnx_path);
    return DETNN_OK;
  } catch (const ExportError& e) {
    last_error = e.what();
    return e.status;
  } catch (const std::exception& e) {
    last_error = std::string("detnn_export_onnx: ") + e.what();
    return DETNN_ERROR_INTERNAL;
  }
}

const char* detnn_onnx_last_error(void) { return last_error.c_str(); }

}  // extern "C"
