// The training loop of `trainer --model FILE`: every rank pulls the same batches from its own
// loader and calls its session's train step; rank 0 alone writes — metrics, console, validation,
// checkpoints — since every rank holds the same bits after each step.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "errors.h"
#include "run_files.h"

namespace trainer {

struct EpochTotals {
  double loss_sum = 0;  // sum of step losses, in step order
  int64_t correct = 0, samples = 0, steps = 0;
};

// An injected failure of one rank before one step (DETNN_FAULT_RANK_ERROR=rank:step, or
// DETNN_FAULT_RANK_STALL=rank:step for a rank that stops without a word), for the
// tests of the failure path. rank < 0: none.
struct RankFault {
  int rank = -1;
  int64_t step = 0;
  bool stall = false;  // DETNN_FAULT_RANK_STALL: the rank stops there without an error (a rank that never arrives)
  static RankFault from_environment();  // throws TrainerError for a malformed value
};

// Rank 0's loop state: where the run resumes and what it writes to.
struct LoopState {
  detnn_data_info info{};
  int64_t epochs = 0, log_every = 1, checkpoint_every = 0;
  int64_t stop_epoch = 0;  // the loop ends after this epoch: `epochs`, or --pause-after-epoch's
  std::string determinism;  // the run's mode (a resumed checkpoint must have it)
  long long kill_after = 0;  // DETNN_FAULT_KILL_AFTER_STEP: SIGKILL after this step (0: never)
  RankFault fault;
  int64_t start_epoch = 0, start_batch = 0, step = 0;
  double best_accuracy = -1.0;
  EpochTotals totals;
  std::filesystem::path last, best;  // checkpoint files
  ConsoleLog* console = nullptr;
  MetricsLog* metrics = nullptr;
  std::vector<float> val_images;
  std::vector<int32_t> val_labels;
};

// Trains this process's ranks first_rank, first_rank + 1, ... (sessions, one thread each when
// there are several) to the end and returns the final weights' SHA-256 (state.step is then the
// step count). Rank 0, if among them, writes; the others only train. A failure of any rank stops
// all of them; the TrainerError thrown names the rank that failed first and its error. `group` is
// null for a single rank.
std::string train_all_ranks(std::vector<api::Session>& sessions, int first_rank, const api::Group* group,
                            const api::Data& data, LoopState& state);

}  // namespace trainer
