#include "onnx_graph.h"

#include <cmath>

namespace detnn::onnx_export {

using nlohmann::json;

namespace {

// A "kernel"/"stride"/"padding"/"dilation" value: one integer or [h, w].
std::pair<int64_t, int64_t> pair_of(const json& spec, const char* key, int64_t fallback) {
  if (!spec.contains(key)) return {fallback, fallback};
  const json& v = spec[key];
  if (v.is_array()) return {v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
  return {v.get<int64_t>(), v.get<int64_t>()};
}

void ints(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void integer(onnx::NodeProto* n, const char* name, int64_t value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void real(onnx::NodeProto* n, const char* name, float value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

}  // namespace

onnx::NodeProto* GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto* n = graph_.add_node();
  n->set_op_type(op);
  n->set_name(output);
  for (const std::string& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void GraphBuilder::initializer(const std::string& name, const std::vector<int64_t>& dims, const float* values) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t count = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    count *= d;
  }
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values), static_cast<size_t>(count) * sizeof(float)));
}

std::string GraphBuilder::scalar(const std::string& name, float value) {
  if (!used_names_.count(name)) {
    used_names_[name] = 1;
    initializer(name, {}, &value);
  }
  return name;
}

const float* GraphBuilder::parameter(const std::string& name, int64_t count) {
  const auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw ExportError(DETNN_ERROR_INVALID_ARGUMENT, checkpoint_ + ": has no tensor \"" + name +
                                                             "\" (a checkpoint of another model?)");
  if (it->second.count != count)
    throw ExportError(DETNN_ERROR_INVALID_ARGUMENT,
                      checkpoint_ + ": tensor \"" + name + "\" holds " + std::to_string(it->second.count) +
                          " values, the model's needs " + std::to_string(count) + " (a checkpoint of another model?)");
  return it->second.values;
}

std::string GraphBuilder::conv(const json& spec, const std::string& name, const std::string& input) {
  const int64_t ci = spec.at("in_channels").get<int64_t>(), co = spec.at("out_channels").get<int64_t>();
  const int64_t groups = spec.value("groups", 1LL);
  const auto [kh, kw] = pair_of(spec, "kernel", 1);
  const auto [sh, sw] = pair_of(spec, "stride", 1);
  const auto [ph, pw] = pair_of(spec, "padding", 0);
  const auto [dh, dw] = pair_of(spec, "dilation", 1);
  const std::vector<int64_t> wdims = {co, ci / groups, kh, kw};
  initializer(name + ".weight", wdims, parameter(name + ".weight", co * (ci / groups) * kh * kw));
  std::vector<std::string> inputs = {input, name + ".weight"};
  if (spec.value("bias", true)) {
    initializer(name + ".bias", {co}, parameter(name + ".bias", co));
    inputs.push_back(name + ".bias");
  }
  onnx::NodeProto* n = node("Conv", inputs, name);
  ints(n, "kernel_shape", {kh, kw});
  ints(n, "strides", {sh, sw});
  ints(n, "pads", {ph, pw, ph, pw});
  ints(n, "dilations", {dh, dw});
  integer(n, "group", groups);
  return name;
}

std::string GraphBuilder::linear(const json& spec, const std::string& name, const std::string& input, bool& flat) {
  std::string x = input;
  if (!flat) {  // a linear layer reads each sample's features as one vector
    onnx::NodeProto* f = node("Flatten", {x}, name + ".flatten");
    integer(f, "axis", 1);
    x = name + ".flatten";
    flat = true;
  }
  const int64_t in = spec.at("in_features").get<int64_t>(), out = spec.at("out_features").get<int64_t>();
  initializer(name + ".weight", {out, in}, parameter(name + ".weight", out * in));
  std::vector<std::string> inputs = {x, name + ".weight"};
  if (spec.value("bias", true)) {
    initializer(name + ".bias", {out}, parameter(name + ".bias", out));
    inputs.push_back(name + ".bias");
  }
  onnx::NodeProto* n = node("Gemm", inputs, name);
  integer(n, "transB", 1);  // y = x W^T + b, W as PyTorch stores it [out, in]
  return name;
}

std::string GraphBuilder::batchnorm(const json& spec, const std::string& name, const std::string& input) {
  const auto it = tensors_.find(name + ".running_mean");
  const int64_t c = it == tensors_.end() ? spec.value("num_features", 0LL) : it->second.count;
  for (const char* part : {".weight", ".bias", ".running_mean", ".running_var"})
    initializer(name + part, {c}, parameter(name + part, c));
  onnx::NodeProto* n = node("BatchNormalization",
                            {input, name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"}, name);
  real(n, "epsilon", static_cast<float>(spec.value("eps", 1e-5)));
  return name;
}

std::string GraphBuilder::pool(const json& spec, const std::string& name, const std::string& input) {
  const std::string type = spec.at("type").get<std::string>();
  if (type == "global_avgpool") return node("GlobalAveragePool", {input}, name)->output(0);
  const auto [kh, kw] = pair_of(spec, "kernel", 1);
  const auto [sh, sw] = pair_of(spec, "stride", kh);
  const auto [ph, pw] = pair_of(spec, "padding", 0);
  onnx::NodeProto* n = node(type == "maxpool2d" ? "MaxPool" : "AveragePool", {input}, name);
  ints(n, "kernel_shape", {kh, kw});
  ints(n, "strides", {sh, sw});
  ints(n, "pads", {ph, pw, ph, pw});
  if (type == "avgpool2d") integer(n, "count_include_pad", spec.value("count_include_pad", true) ? 1 : 0);
  return name;
}

// relu; gelu as PyTorch computes it: 0.5 x (1 + erf(x / sqrt 2)), or with "tanh",
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
std::string GraphBuilder::activation(const std::string& kind, const std::string& name, const std::string& input) {
  if (kind == "relu") return node("Relu", {input}, name)->output(0);
  std::string inner;
  if (kind == "gelu_tanh") {
    const std::string x2 = node("Mul", {input, input}, name + ".x2")->output(0);
    const std::string x3 = node("Mul", {x2, input}, name + ".x3")->output(0);
    const std::string cx3 = node("Mul", {x3, scalar("gelu.c", 0.044715f)}, name + ".cx3")->output(0);
    const std::string sum = node("Add", {input, cx3}, name + ".sum")->output(0);
    const std::string scaled = node("Mul", {sum, scalar("gelu.k", 0.7978845608028654f)}, name + ".scaled")->output(0);
    inner = node("Tanh", {scaled}, name + ".tanh")->output(0);
  } else {
    const std::string scaled = node("Div", {input, scalar("gelu.sqrt2", 1.4142135623730951f)}, name + ".scaled")->output(0);
    inner = node("Erf", {scaled}, name + ".erf")->output(0);
  }
  const std::string one_plus = node("Add", {inner, scalar("gelu.one", 1.0f)}, name + ".one_plus")->output(0);
  const std::string times_x = node("Mul", {input, one_plus}, name + ".times_x")->output(0);
  return node("Mul", {times_x, scalar("gelu.half", 0.5f)}, name)->output(0);
}

std::string GraphBuilder::residual(const json& spec, const std::string& name, const std::string& input) {
  bool flat = false;
  const std::string body = sequence(spec.at("body"), name + ".body", input, flat);
  std::string shortcut = input;
  const json& sc = spec.value("shortcut", json("identity"));
  if (sc.is_object()) {
    // As the library builds it: a 1x1 convolution without bias, then a batch norm.
    const auto bn = tensors_.find(name + ".shortcut.1.running_mean");
    const int64_t co = bn == tensors_.end() ? 0 : bn->second.count;
    const auto w = tensors_.find(name + ".shortcut.0.weight");
    const int64_t ci = co > 0 && w != tensors_.end() ? w->second.count / co : 0;
    const json conv_spec = {{"in_channels", ci}, {"out_channels", co}, {"kernel", 1}, {"stride", sc.value("stride", 1LL)},
                            {"padding", 0}, {"bias", false}};
    shortcut = batchnorm(json::object(), name + ".shortcut.1", conv(conv_spec, name + ".shortcut.0", input));
  }
  const std::string act = spec.value("activation", "none");
  const std::string sum = node("Add", {body, shortcut}, act == "none" ? name : name + ".add")->output(0);
  if (act == "none") return sum;
  return activation(act == "gelu" ? "gelu_erf" : "relu", name, sum);
}

std::string GraphBuilder::layer(const json& spec, const std::string& name, const std::string& input, bool& flat) {
  const std::string type = spec.at("type").get<std::string>();
  if (type == "conv2d") return conv(spec, name, input);
  if (type == "linear") return linear(spec, name, input, flat);
  if (type == "batchnorm2d") return batchnorm(spec, name, input);
  if (type == "relu") return activation("relu", name, input);
  if (type == "gelu") return activation(spec.value("approximate", "none") == "tanh" ? "gelu_tanh" : "gelu_erf", name, input);
  if (type == "maxpool2d" || type == "avgpool2d" || type == "global_avgpool") return pool(spec, name, input);
  if (type == "dropout") return node("Identity", {input}, name)->output(0);  // inference: the identity
  if (type == "flatten") {
    onnx::NodeProto* n = node("Flatten", {input}, name);
    integer(n, "axis", 1);
    flat = true;
    return name;
  }
  if (type == "residual") return residual(spec, name, input);
  throw ExportError(DETNN_ERROR_UNSUPPORTED, name + ": layer type \"" + type + "\" has no ONNX export");
}

std::string GraphBuilder::sequence(const json& layers, const std::string& prefix, std::string input, bool& flat) {
  for (size_t i = 0; i < layers.size(); ++i) input = layer(layers[i], prefix + "." + std::to_string(i), input, flat);
  return input;
}

std::string GraphBuilder::normalization(const std::string& input, const std::vector<float>& mean,
                                        const std::vector<float>& std_dev) {
  const int64_t c = static_cast<int64_t>(mean.size());
  initializer("normalize.mean", {1, c, 1, 1}, mean.data());
  initializer("normalize.std", {1, c, 1, 1}, std_dev.data());
  const std::string centred = node("Sub", {input, "normalize.mean"}, "normalize.centred")->output(0);
  return node("Div", {centred, "normalize.std"}, "normalize")->output(0);
}

}  // namespace detnn::onnx_export
