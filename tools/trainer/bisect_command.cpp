// trainer bisect: one training step under two settings — devices, modes, thread counts, or this
// build against a trace file made elsewhere (--against) — from the same weights and batch, each
// traced (every layer's forward output and every gradient, detnn_session_trace_step), then the
// first layer whose output differs, else the first whose gradient differs, with ulp statistics
// (docs/reproducibility.md).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"
#include "errors.h"
#include "run_files.h"
#include "trace_compare.h"
#include "training_flags.h"

namespace trainer {

namespace fs = std::filesystem;

namespace {

bool given(const TrainingFlags& f) { return !f.device.empty() || !f.determinism.empty() || !f.threads.empty(); }

std::string describe_setting(const TrainingFlags& f) {
  std::string s;
  if (!f.device.empty()) s += " device " + f.device;
  if (!f.determinism.empty()) s += " " + f.determinism;
  if (!f.threads.empty()) s += " threads " + f.threads;
  return s.empty() ? " the model file's settings" : s;
}

// One setting: a session from the model file with the setting's flags, the checkpoint's weights,
// one traced gradient pass of the batch into `path`.
void trace(const BisectOptions& o, const TrainingFlags& setting, const std::vector<float>& images,
           const std::vector<int32_t>& labels, int64_t batch_size, const fs::path& path) {
  api::Model model = with_context("", [&] { return api::Model::from_file(o.model); });
  apply_flags(model, setting);
  api::Session session = with_context("session", [&] { return api::Session(api::Context(), model); });
  if (!o.checkpoint.empty()) with_context("checkpoint", [&] { session.load_checkpoint_unchecked(o.checkpoint); });
  with_context("trace", [&] { session.trace_step(images.data(), labels.data(), batch_size, path.string()); });
}

}  // namespace

int run_bisect(const BisectOptions& o) {
  if (!given(o.b) && o.against.empty() && o.dump.empty())
    throw TrainerError("bisect: give a second setting (--vs-device, --vs-determinism, --vs-threads), --against FILE, "
                       "or --dump FILE");
  // The batch: the checkpoint's next one unless --epoch / --batch say otherwise.
  api::Model model = with_context("", [&] { return api::Model::from_file(o.model); });
  const api::Data data = with_context("data", [&] { return api::Data(model); });
  const detnn_data_info info = data.info();
  int64_t epoch = 0, index = 0;
  if (!o.checkpoint.empty()) {
    const api::CheckpointFile file(o.checkpoint);
    epoch = std::stoll(file.metadata("epoch").value_or("0"));
    index = std::stoll(file.metadata("batch_in_epoch").value_or("0"));
  }
  if (o.epoch >= 0) epoch = o.epoch;
  if (o.batch >= 0) index = o.batch;
  if (index >= info.batches_per_epoch)
    throw TrainerError("--batch " + std::to_string(index) + ": an epoch has " + std::to_string(info.batches_per_epoch) +
                       " batches");
  std::vector<float> images(static_cast<size_t>(info.batch_size * info.sample_size));
  std::vector<int32_t> labels(static_cast<size_t>(info.batch_size));
  api::Loader loader(data, epoch, index, epoch + 1);
  if (!with_context("data", [&] { return loader.next(images.data(), labels.data()); }))
    throw TrainerError("no batch " + std::to_string(index) + " in epoch " + std::to_string(epoch + 1));

  const fs::path scratch = make_scratch_dir("detnn-bisect");
  const fs::path trace_a = o.dump.empty() ? scratch / "a.safetensors" : fs::path(o.dump);
  std::printf("bisect: batch %lld of epoch %lld%s\n", static_cast<long long>(index), static_cast<long long>(epoch + 1),
              o.checkpoint.empty() ? ", initial weights" : (", weights of " + o.checkpoint).c_str());
  trace(o, o.a, images, labels, info.batch_size, trace_a);
  fs::path trace_b;
  if (!o.against.empty()) {
    trace_b = o.against;
    std::printf("A:%s, B: the trace %s\n", describe_setting(o.a).c_str(), o.against.c_str());
  } else if (given(o.b)) {
    trace_b = scratch / "b.safetensors";
    trace(o, o.b, images, labels, info.batch_size, trace_b);
    std::printf("A:%s, B:%s\n", describe_setting(o.a).c_str(), describe_setting(o.b).c_str());
  }
  int status = 0;
  if (!trace_b.empty()) {
    const TraceVerdict v = compare_traces(trace_a, trace_b);
    std::printf("%s\n", v.text.c_str());
    status = v.identical ? 0 : 2;
  }
  if (!o.dump.empty()) std::printf("trace of A written to %s\n", o.dump.c_str());
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return status;
}

}  // namespace trainer
