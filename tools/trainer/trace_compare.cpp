#include "trace_compare.h"

#include <map>

#include <nlohmann/json.hpp>

#include "errors.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Trace {
  api::CheckpointFile file;
  json order;
  std::map<std::string, api::CheckpointFile::Tensor> tensors;
};

Trace open_trace(const fs::path& path) {
  Trace t{with_context(path.string(), [&] { return api::CheckpointFile(path.string()); }), json(), {}};
  const std::string format = t.file.metadata("format").value_or(std::string());
  if (format != "detnn-step-trace-v1")
    throw TrainerError(path.string() + ": not a step trace (written by trainer bisect --dump or detnn_session_trace_step)");
  t.order = json::parse(t.file.metadata("order").value_or("[]"), nullptr, /*allow_exceptions=*/false);
  if (!t.order.is_array()) throw TrainerError(path.string() + ": the trace's \"order\" metadata is not a JSON array");
  for (const auto& tensor : t.file.tensors()) t.tensors.emplace(tensor.name, tensor);
  return t;
}

// "layers.6.body.1.weight" -> "layers.6.body.1": the layer a parameter belongs to.
std::string owner_of(const std::string& parameter) { return parameter.substr(0, parameter.rfind('.')); }

}  // namespace

TraceVerdict compare_traces(const fs::path& a_path, const fs::path& b_path) {
  const Trace a = open_trace(a_path), b = open_trace(b_path);
  if (a.file.metadata("model_sha256") != b.file.metadata("model_sha256") || a.order.size() != b.order.size())
    throw TrainerError("the traces are of different models (" + a_path.string() + " vs " + b_path.string() + ")");
  TraceVerdict v;
  // Forward outputs in forward order first: the first differing one is where the settings part.
  for (const char* kind : {"forward", "gradient"}) {
    for (size_t i = 0; i < a.order.size(); ++i) {
      const json& ea = a.order[i];
      if (ea.at("kind") != kind) continue;
      const std::string name = ea.at("name");
      const std::string key = std::string(kind) + "/" + name;
      const auto ta = a.tensors.find(key), tb = b.tensors.find(key);
      if (ta == a.tensors.end() || tb == b.tensors.end() || ta->second.count != tb->second.count)
        throw TrainerError("the traces are of different models: " + key + " is missing or of another size");
      (std::string(kind) == "forward" ? v.outputs : v.gradients)++;
      if (!v.identical) continue;
      const TensorDifference d = compare_values(key, ta->second.values, tb->second.values, ta->second.count);
      if (d.differing == 0) continue;
      v.identical = false;
      v.values = d;
      if (std::string(kind) == "forward") {
        v.layer = name, v.type = ea.value("type", ""), v.pass = "forward";
        v.text = "first difference: " + name + " (" + v.type + "), forward: " + describe(d);
      } else {
        v.layer = owner_of(name), v.pass = "backward";
        v.text = "first difference: " + v.layer + ", backward (every forward output identical): " + describe(d);
      }
    }
  }
  if (v.identical)
    v.text = "identical: every layer's forward output (" + std::to_string(v.outputs) + ") and every gradient (" +
             std::to_string(v.gradients) + ")";
  return v;
}

}  // namespace trainer
