// The trainer's subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trainer {

// The flags that override the model file's "training" section, as the text given on the command
// line ("": not given; the library parses and checks each value). training_flags.h pairs each with
// its key.
struct TrainingFlags {
  std::string epochs;       // --epochs
  std::string seed;         // --seed
  std::string determinism;  // --determinism strict|fast|off
  std::string precision;    // --precision fp32|tf32
  std::string cuda_graph;   // --cuda-graph off|auto
  std::string device;       // --device
  std::string threads;      // --threads
};

struct TrainOptions {
  std::string model;            // --model (required unless --resume)
  std::string run_dir;          // --run-dir (default runs/<name>-<timestamp>)
  TrainingFlags training;       // --epochs, --seed, --determinism, ...
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
  std::string model, checkpoint;
  TrainingFlags training;  // --device, --determinism, --precision, --threads only
};

int run_train(const TrainOptions& options);
int run_eval(const EvalOptions& options);

}  // namespace trainer
