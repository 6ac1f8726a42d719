#include "support/torch_reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "runtime/error.h"

namespace detnn::test {

TorchReference::TorchReference(const std::string& stem) {
  const std::string dir = std::string(DETNN_TEST_DATA_DIR) + "/torch-reference/";
  std::ifstream in(dir + stem + ".json");
  DETNN_CHECK(in.good(), io, "cannot open ", dir, stem, ".json");
  params_ = nlohmann::json::parse(in);
  file_ = read_safetensors(dir + stem + ".safetensors");
}

const TorchReference& TorchReference::get() {
  static const TorchReference ref("torch_reference");
  return ref;
}

const TorchReference& TorchReference::whole_models() {
  static const TorchReference ref("whole_models");
  return ref;
}

const nlohmann::json& TorchReference::params(const std::string& case_name) const {
  DETNN_CHECK(params_.contains(case_name), invalid_argument, "torch reference has no case ", case_name);
  return params_.at(case_name);
}

bool TorchReference::has(const std::string& case_name, const std::string& name) const {
  return file_.find(case_name + "/" + name) != nullptr;
}

const SafetensorsTensor& TorchReference::tensor(const std::string& case_name, const std::string& name) const {
  const SafetensorsTensor* t = file_.find(case_name + "/" + name);
  DETNN_CHECK(t != nullptr, invalid_argument, "torch reference has no tensor ", case_name, "/", name);
  return *t;
}

std::vector<double> TorchReference::values(const std::string& case_name, const std::string& name) const {
  const SafetensorsTensor& t = tensor(case_name, name);
  const size_t n = static_cast<size_t>(t.element_count());
  std::vector<double> out(n);
  if (t.dtype == DType::f64) {
    std::memcpy(out.data(), t.bytes.data(), n * 8);
  } else {
    DETNN_CHECK(t.dtype == DType::f32, invalid_argument, case_name, "/", name, " is not F32/F64");
    std::vector<float> f(n);
    std::memcpy(f.data(), t.bytes.data(), n * 4);
    std::copy(f.begin(), f.end(), out.begin());
  }
  return out;
}

std::vector<float> TorchReference::floats(const std::string& case_name, const std::string& name) const {
  const auto v = values(case_name, name);
  return std::vector<float>(v.begin(), v.end());
}

std::vector<int64_t> TorchReference::integers(const std::string& case_name, const std::string& name) const {
  const SafetensorsTensor& t = tensor(case_name, name);
  const size_t n = static_cast<size_t>(t.element_count());
  std::vector<int64_t> out(n);
  if (t.dtype == DType::i64) {
    std::memcpy(out.data(), t.bytes.data(), n * 8);
  } else {
    DETNN_CHECK(t.dtype == DType::i32, invalid_argument, case_name, "/", name, " is not I32/I64");
    std::vector<int32_t> i(n);
    std::memcpy(i.data(), t.bytes.data(), n * 4);
    std::copy(i.begin(), i.end(), out.begin());
  }
  return out;
}

std::vector<int64_t> TorchReference::shape(const std::string& case_name, const std::string& name) const {
  return tensor(case_name, name).shape;
}

double max_relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return INFINITY;
  double scale = 1e-30, err = 0;
  for (double w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  return err / scale;
}

}  // namespace detnn::test
