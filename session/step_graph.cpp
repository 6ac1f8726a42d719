#include "session/step_graph.h"

#include "runtime/error.h"

namespace detnn {

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
