#include "session/step_trace.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "kernels/weights_digest.h"
#include "runtime/io/safetensors.h"
#include "runtime/reduction_rules.h"

namespace detnn {

namespace {

// kernels/weights_digest.h's digest, serially (the caller may not hold the CPU thread pool).
std::string digest_hex(const std::vector<float>& v) {
  const uint64_t sum = kernels::weights_digest_range(v.data(), 0, static_cast<int64_t>(v.size()));
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(sum));
  return out;
}

}  // namespace

void write_step_trace(Session& session, const float* images, const int32_t* labels, int64_t batch,
                      const std::string& path) {
  const StepTrace trace = session.trace_step(images, labels, batch);
  std::vector<SafetensorsTensorView> views;
  nlohmann::json order = nlohmann::json::array();
  for (const StepTrace::Output& o : trace.forward) {
    views.push_back({"forward/" + o.layer, DType::f32, {static_cast<int64_t>(o.values.size())}, o.values.data()});
    order.push_back({{"kind", "forward"}, {"name", o.layer}, {"type", o.type}, {"digest", digest_hex(o.values)}});
  }
  for (const NamedTensor& g : trace.gradients) {
    views.push_back({"gradient/" + g.name, DType::f32, g.shape, g.values.data()});
    order.push_back({{"kind", "gradient"}, {"name", g.name}, {"digest", digest_hex(g.values)}});
  }
  write_safetensors(path, views,
                    {{"format", kStepTraceFormat},
                     {"order", order.dump()},
                     {"model_sha256", session.spec().source_sha256},
                     {"step", std::to_string(session.steps_done())},
                     {"device", session.device().to_string()},
                     {"numerics_contract", std::to_string(kNumericsContractVersion)}});
}

}  // namespace detnn
