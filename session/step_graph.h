// CUDA Graphs for the training step (docs/cuda-graphs.md). The gradient pass of a step — the
// uploads from pinned staging, forward, loss sums, correct count, backward and the combination
// of the chunk partials, some hundred kernels — is captured once and then replayed with one
// launch per step, so small models are not bound by the host's launch rate. Replays run exactly
// the captured kernels on the same addresses, so they compute the eager step's bits.
//
// What makes a replay right for a later step:
//  - nothing that varies per step is baked in: images, labels and the step counter are copied
//    from pinned host buffers the session refills before each launch (dropout reads the step
//    from the device), and the scalars that do vary (learning rate, Adam's corrections) belong
//    to the optimizer, which runs eagerly after the loss check;
//  - the memory the kernels use stays theirs: every block allocated during capture comes from a
//    private pool of the caching allocator, which hands it to nothing else and never returns it
//    to the device while the graph lives; vendor calls get a workspace of the graph's own;
//  - the host state the capture left (which tensors each layer holds) is the state every replay
//    leaves, so the eager code after the pass (batch-norm running statistics, the optimizer)
//    reads what the replay wrote. Any eager run of the pass after capture breaks that, so the
//    session discards the graph then (and captures again on the next step).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace detnn {

// One captured pass on one device. The graph owns the stream the session works on: capture is
// impossible on the legacy default stream, so the session gets a created stream that, like the
// legacy one, synchronizes with blocking calls (cudaMemcpy), so the session's synchronous copies
// still see its kernels' results. CUDA builds only (the CPU build's methods throw unsupported).
class StepGraph {
 public:
  explicit StepGraph(int device);
  // Waits for the stream, then frees the graph, its pool and the stream.
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  uintptr_t stream() const { return stream_; }  // a cudaStream_t

  // Records what `enqueue` queues on stream() into a graph without running it. `enqueue` must
  // queue work on stream() only and make no synchronizing call. False when CUDA or `enqueue`
  // refused (failure() says why): then nothing has run and no graph is kept.
  bool capture(const std::function<void()>& enqueue);
  bool captured() const { return exec_ != 0; }
  // Queues one run of the captured graph on stream().
  void replay();
  // Drops the graph (after the stream has run what was queued); its memory returns to the cache.
  void discard();

  const std::string& failure() const { return failure_; }
  int64_t kernel_nodes() const { return kernel_nodes_; }  // kernels in the captured graph

 private:
  int device_ = 0;
  uintptr_t stream_ = 0;
  uintptr_t exec_ = 0;  // cudaGraphExec_t
  uint64_t pool_ = 0;   // the caching allocator's private pool of the captured graph
  int64_t kernel_nodes_ = 0;
  std::string failure_;
};

}  // namespace detnn
