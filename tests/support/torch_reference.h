// The PyTorch 2.11 float64 reference results in tests/data/torch-reference/: each case's
// parameters (torch_reference.json, in PyTorch's terms) and tensors ("<case>/<name>" in
// torch_reference.safetensors). Every expected value a torch-reference test uses comes from
// here, never from constants in the test.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "runtime/io/safetensors.h"

namespace detnn::test {

class TorchReference {
 public:
  static const TorchReference& get();  // loaded once

  const nlohmann::json& params(const std::string& case_name) const;  // throws if absent
  bool has(const std::string& case_name, const std::string& tensor) const;
  // The tensor as doubles (F64 or F32 in the file); fails the test if absent.
  std::vector<double> values(const std::string& case_name, const std::string& tensor) const;
  // The same values rounded to float: the inputs are float32-representable, so exact for them.
  std::vector<float> floats(const std::string& case_name, const std::string& tensor) const;
  std::vector<int64_t> shape(const std::string& case_name, const std::string& tensor) const;

 private:
  TorchReference();
  const SafetensorsTensor& tensor(const std::string& case_name, const std::string& name) const;
  nlohmann::json params_;
  SafetensorsFile file_;
};

// max |got - want| / max(max |want|, tiny): the error measure the torch-reference tests bound.
double max_relative_error(const std::vector<float>& got, const std::vector<double>& want);

}  // namespace detnn::test
