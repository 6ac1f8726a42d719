#include "runtime/determinism.h"

#include "runtime/error.h"

namespace detnn {

Determinism parse_determinism(const std::string& name) {
  if (name == "strict") return Determinism::strict;
  if (name == "fast") return Determinism::fast;
  if (name == "off") return Determinism::off;
  DETNN_THROW(invalid_argument, "determinism \"", name, "\" is not one of strict, fast, off");
}

const char* determinism_name(Determinism d) {
  switch (d) {
    case Determinism::strict: return "strict";
    case Determinism::fast: return "fast";
    case Determinism::off: return "off";
  }
  return "?";
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "tf32") return Precision::tf32;
  DETNN_THROW(invalid_argument, "precision \"", name, "\" is not one of fp32, tf32");
}

const char* precision_name(Precision p) { return p == Precision::tf32 ? "tf32" : "fp32"; }

void check_precision_allowed(Determinism determinism, Precision precision) {
  DETNN_CHECK(!(precision == Precision::tf32 && determinism == Determinism::strict), invalid_argument,
              "training.precision \"tf32\" needs determinism \"fast\" or \"off\": strict computes in FP32 on CUDA "
              "cores only (DESIGN §1)");
}

ComputeMode resolve_compute_mode(Determinism determinism, Precision precision, Device device) {
  check_precision_allowed(determinism, precision);
  const ComputeMode m{determinism, precision == Precision::tf32};
  DETNN_CHECK(!m.vendor() || device.is_cuda(), unsupported, "determinism \"", determinism_name(determinism), "\" on ",
              device.to_string(), ": the CPU runs the strict mode only (fast and off pick cuDNN and cuBLASLt "
              "algorithms); use device cuda or determinism strict");
  return m;
}

}  // namespace detnn
