// The trainer's subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trainer {

struct TrainOptions {
  std::string model;            // --model (required unless --resume)
  std::string run_dir;          // --run-dir (default runs/<name>-<timestamp>)
  int64_t epochs = -1;          // --epochs (-1: the model file's)
  int64_t seed = -1;            // --seed
  std::string determinism;      // --determinism
  std::string precision;        // --precision fp32|tf32
  std::string cuda_graph;       // --cuda-graph off|auto
  std::string device;           // --device
  int64_t threads = -1;         // --threads
  std::string resume;           // --resume DIR
  std::string save_init;        // --save-init FILE
  int64_t checkpoint_every = 0; // --checkpoint-every N steps (0: at epoch ends only)
  bool force = false;           // --force: resume despite a changed model file or data
  int ranks = 1;                // --ranks N: data-parallel ranks as threads (docs/multi-rank.md)
  std::string gpus;             // --gpus N|all|LIST: one rank per GPU of this process
  double comm_timeout = 300.0;  // --comm-timeout S: the longest a rank waits for the others
  std::vector<std::string> command_line;
};

struct EvalOptions {
  std::string model, checkpoint, device, determinism, precision;
  int64_t threads = -1;
};

int run_train(const TrainOptions& options);
int run_eval(const EvalOptions& options);

}  // namespace trainer
