#include "train_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Exact text form of a double for checkpoint metadata (round-trips bit for bit).
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

void save_checkpoint(api::Session& s, const LoopState& st, const fs::path& path, int64_t epoch, int64_t batch) {
  s.set_checkpoint_metadata("best_val_accuracy", exact(st.best_accuracy));
  s.set_checkpoint_metadata("epoch_loss_sum", exact(st.totals.loss_sum));
  s.set_checkpoint_metadata("epoch_correct", std::to_string(st.totals.correct));
  s.set_checkpoint_metadata("epoch_samples", std::to_string(st.totals.samples));
  s.set_checkpoint_metadata("epoch_steps", std::to_string(st.totals.steps));
  with_context("checkpoint", [&] { s.save_checkpoint(path.string(), epoch, batch); });
}

void inject_fault(const RankFault& fault, int rank, int64_t next_step) {
  if (fault.rank != rank || fault.step != next_step) return;
  // Until the launcher or the test ends the process: the other ranks must not wait for ever.
  while (fault.stall) std::this_thread::sleep_for(std::chrono::seconds(1));
  throw TrainerError("injected fault (DETNN_FAULT_RANK_ERROR) before step " + std::to_string(next_step));
}

// The loop of ranks 1..P-1: the same batches and steps as rank 0, writing nothing. (It reads
// nothing of rank 0's LoopState, which rank 0's thread updates meanwhile.) Returns the steps done.
int64_t train_other_rank(api::Session& session, api::Loader& loader, int rank, const detnn_data_info& info,
                         const RankFault& fault, int64_t start_step, long long kill_after) {
  std::vector<float> images(static_cast<size_t>(info.batch_size * info.sample_size));
  std::vector<int32_t> labels(static_cast<size_t>(info.batch_size));
  for (int64_t step = start_step;; ++step) {
    if (!with_context("data", [&] { return loader.next(images.data(), labels.data()); })) return step;
    inject_fault(fault, rank, step + 1);
    with_context("training step", [&] { session.train_step(images.data(), labels.data(), info.batch_size); });
    if (step + 1 == kill_after) std::raise(SIGKILL);
  }
}

// "45s", "3m05s", "2h07m": durations for the progress lines.
std::string short_duration(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char text[32];
  if (s < 60) std::snprintf(text, sizeof text, "%llds", s);
  else if (s < 3600) std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
  return text;
}

// "1m10s elapsed, ETA 4m40s": the time since this process started training and the time the rest
// of the run would take at this process's pace so far.
std::string elapsed_and_eta(double elapsed, int64_t steps_here, int64_t steps_left) {
  std::string text = short_duration(elapsed) + " elapsed";
  if (steps_here > 0) text += ", ETA " + short_duration(elapsed / static_cast<double>(steps_here) * static_cast<double>(steps_left));
  return text;
}

// Rank 0's loop: trains and writes the metrics, console lines, validation and checkpoints.
std::string train_rank0(api::Session& session, api::Loader& loader, LoopState& st) {
  const int64_t bpe = st.info.batches_per_epoch;
  ConsoleLog& console = *st.console;
  MetricsLog& metrics = *st.metrics;
  std::vector<float> images(static_cast<size_t>(st.info.batch_size * st.info.sample_size));
  std::vector<int32_t> labels(static_cast<size_t>(st.info.batch_size));
  using clock = std::chrono::steady_clock;
  auto epoch_start = clock::now();
  auto window_start = clock::now();
  const auto run_start = clock::now();
  const int64_t first_step = st.step, last_step = st.epochs * bpe;
  int64_t window_samples = 0;
  std::string final_sha;
  EpochTotals& totals = st.totals;
  for (;;) {
    int64_t epoch = 0, batch = 0;
    if (!with_context("data", [&] { return loader.next(images.data(), labels.data(), &epoch, &batch); })) break;
    inject_fault(st.fault, 0, st.step + 1);
    const detnn_step_metrics m = with_context(
        "training step", [&] { return session.train_step(images.data(), labels.data(), st.info.batch_size); });
    const int64_t step = ++st.step;
    // Every step's fingerprint, for trainer verify and diff (docs/reproducibility.md).
    metrics.write({{"type", "digest"}, {"step", step}, {"loss", m.loss}, {"weights_digest", session.weights_digest()}});
    totals.loss_sum += m.loss;
    totals.correct += m.correct;
    totals.samples += m.samples;
    ++totals.steps;
    window_samples += m.samples;
    const double window_s = std::chrono::duration<double>(clock::now() - window_start).count();
    const double ips = window_s > 0 ? window_samples / window_s : 0.0;
    if (step % st.log_every == 0 || batch + 1 == bpe) {
      metrics.write({{"type", "step"}, {"step", step}, {"epoch", epoch + 1}, {"batch", batch + 1}, {"loss", m.loss},
                     {"accuracy", static_cast<double>(m.correct) / m.samples}, {"lr", m.lr}, {"grad_norm", m.grad_norm},
                     {"images_per_s", std::round(ips)}});
      if (!console.is_terminal()) {
        char line[256];
        std::snprintf(line, sizeof line, "epoch %lld/%lld step %lld batch %lld/%lld loss %.4f lr %.4g %.0f img/s | %s",
                      (long long)epoch + 1, (long long)st.epochs, (long long)step, (long long)batch + 1,
                      (long long)bpe, m.loss, m.lr, ips,
                      elapsed_and_eta(std::chrono::duration<double>(clock::now() - run_start).count(),
                                      step - first_step, last_step - step).c_str());
        console.line(line);
      }
      window_start = clock::now();
      window_samples = 0;
    }
    if (console.is_terminal()) {
      const int width = 24, filled = static_cast<int>(width * (batch + 1) / bpe);
      char line[256];
      std::snprintf(line, sizeof line, "epoch %lld/%lld [%s%s] %lld/%lld loss %.4f acc %.1f%% %.0f img/s | %s",
                    (long long)epoch + 1, (long long)st.epochs, std::string(filled, '#').c_str(),
                    std::string(width - filled, '.').c_str(), (long long)batch + 1, (long long)bpe,
                    totals.loss_sum / totals.steps, 100.0 * totals.correct / totals.samples, ips,
                    elapsed_and_eta(std::chrono::duration<double>(clock::now() - run_start).count(),
                                    step - first_step, last_step - step).c_str());
      console.progress(line);
    }
    if (batch + 1 < bpe) {
      if (st.checkpoint_every > 0 && step % st.checkpoint_every == 0) save_checkpoint(session, st, st.last, epoch, batch + 1);
      if (step == st.kill_after) std::raise(SIGKILL);
      continue;
    }
    // End of an epoch: validation, metrics, checkpoints.
    detnn_eval_metrics ev{};
    if (st.info.validation_samples > 0)
      ev = with_context("validation", [&] {
        return session.evaluate(st.val_images.data(), st.val_labels.data(), st.info.validation_samples);
      });
    const double val_acc = ev.samples > 0 ? static_cast<double>(ev.correct) / ev.samples : 0.0;
    final_sha = session.weights_sha256();
    const double seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    json line = {{"type", "epoch"}, {"epoch", epoch + 1}, {"step", step}, {"train_loss", totals.loss_sum / totals.steps},
                 {"train_accuracy", static_cast<double>(totals.correct) / totals.samples},
                 {"weights_sha256", final_sha}, {"state_sha256", session.state_sha256()}, {"seconds", std::round(seconds * 100) / 100}};
    if (ev.samples > 0) line["val_loss"] = ev.loss, line["val_accuracy"] = val_acc;
    metrics.write(line);
    metrics.sync();
    char text[256];
    char validation[96] = "no validation data";
    if (ev.samples > 0) std::snprintf(validation, sizeof validation, "val loss %.4f acc %.2f%%", ev.loss, 100.0 * val_acc);
    std::snprintf(text, sizeof text, "epoch %lld/%lld: train loss %.4f acc %.2f%% | %s | %.1f s | weights %.12s",
                  (long long)epoch + 1, (long long)st.epochs, totals.loss_sum / totals.steps,
                  100.0 * totals.correct / totals.samples, validation, seconds, final_sha.c_str());
    console.line(text);
    const bool improved = ev.samples > 0 && val_acc > st.best_accuracy;
    if (improved) st.best_accuracy = val_acc;
    totals = EpochTotals{};
    save_checkpoint(session, st, st.last, epoch + 1, 0);
    if (improved) save_checkpoint(session, st, st.best, epoch + 1, 0);
    if (step == st.kill_after) std::raise(SIGKILL);
    epoch_start = clock::now();
  }
  return final_sha.empty() ? session.weights_sha256() : final_sha;
}

}  // namespace

RankFault RankFault::from_environment() {
  RankFault f;
  for (const char* name : {"DETNN_FAULT_RANK_ERROR", "DETNN_FAULT_RANK_STALL"}) {
    const char* env = std::getenv(name);
    if (env == nullptr || *env == '\0') continue;
    int rank = -1;
    long long step = 0;
    char tail = 0;
    if (std::sscanf(env, "%d:%lld%c", &rank, &step, &tail) != 2 || rank < 0 || step < 1)
      throw TrainerError(std::string(name) + "=" + env + ": expected RANK:STEP (rank >= 0, step >= 1)");
    f.rank = rank;
    f.step = step;
    f.stall = std::string(name) == "DETNN_FAULT_RANK_STALL";
  }
  return f;
}

std::string train_all_ranks(std::vector<api::Session>& sessions, int first_rank, const api::Group* group,
                            const api::Data& data, LoopState& state) {
  const int local = static_cast<int>(sessions.size());
  std::vector<api::Loader> loaders;
  // A paused run (--pause-after-epoch) reads its batches up to the pause; the schedule, set from
  // `epochs`, is the whole run's, so the resumed run continues with the bits of an uninterrupted one.
  for (int i = 0; i < local; ++i) loaders.emplace_back(data, state.start_epoch, state.start_batch, state.stop_epoch);
  if (group == nullptr) return train_rank0(sessions[0], loaders[0], state);

  std::string final_sha;
  const detnn_data_info info = state.info;
  const RankFault fault = state.fault;
  const int64_t start_step = state.step;
  int64_t steps_done = start_step;
  auto run_rank = [&](int i) {
    const int r = first_rank + i;
    try {
      // Every rank must start from rank 0's state (the same checkpoint, or the same seed).
      with_context("rank start", [&] { sessions[i].check_ranks_agree(); });
      if (r == 0) {
        final_sha = train_rank0(sessions[i], loaders[i], state);
      } else {
        const int64_t done = train_other_rank(sessions[i], loaders[i], r, info, fault, start_step, state.kill_after);
        if (i == 0) {
          steps_done = done;
          final_sha = sessions[i].weights_sha256();
        }
      }
    } catch (const std::exception& e) {
      // The others would wait for this rank at their next step: stop them with its error.
      group->abort(r, reason(e));
    }
  };
  if (local == 1) {
    run_rank(0);  // a launched process: its one rank on this thread
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < local; ++i) threads.emplace_back(run_rank, i);
    for (auto& t : threads) t.join();
  }
  const std::string failure = group->failure();
  if (!failure.empty()) throw TrainerError(failure);
  if (first_rank != 0) state.step = steps_done;
  return final_sha;
}

}  // namespace trainer
