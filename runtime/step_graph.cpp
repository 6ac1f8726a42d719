#include "runtime/step_graph.h"

#include "runtime/error.h"

namespace detnn {

CudaGraphSetting parse_cuda_graph_setting(const std::string& text) {
  if (text == "off") return CudaGraphSetting::off;
  if (text == "auto") return CudaGraphSetting::automatic;
  DETNN_THROW(invalid_argument, "training.cuda_graph \"", text, "\" is not one of off, auto");
}

#ifndef DETNN_HAVE_CUDA
// The CPU build never creates a StepGraph (the session captures only on CUDA devices).
StepGraph::StepGraph(int device) : device_(device) {
  DETNN_THROW(unsupported, "CUDA Graphs: this build has no CUDA");
}
StepGraph::~StepGraph() = default;
bool StepGraph::capture(const std::function<void()>&) { return false; }
void StepGraph::replay() {}
void StepGraph::discard() {}
#endif

}  // namespace detnn
