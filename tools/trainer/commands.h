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
  int64_t pause_after_epoch = 0; // --pause-after-epoch N: stop, resumable, after epoch N (0: never)
  std::string tensorboard = "on";  // --tensorboard on|off: event files in RUN_DIR/tensorboard/
  bool force = false;           // --force: resume despite a changed model file or data
  int ranks = 1;                // --ranks N: data-parallel ranks as threads (docs/multi-rank.md)
  std::string gpus;             // --gpus N|all|LIST: one rank per GPU of this process
  double comm_timeout = 300.0;  // --comm-timeout S: the longest a rank waits for the others
  std::vector<std::string> command_line;
  // trainer verify: the run being re-executed and its data fingerprint, which the data must
  // still have (checked before anything is written).
  std::string verify_of, verify_data_fingerprint;
};

struct EvalOptions {
  std::string model, checkpoint;
  TrainingFlags training;  // --device, --determinism, --precision, --threads only
};

// trainer verify RUN_DIR: re-executes the recorded run in a scratch folder and compares the
// per-step digests (docs/reproducibility.md).
struct VerifyOptions {
  std::string run;         // the run directory
  int64_t steps = 0;       // --steps N: verify up to step N (0: every step the run logged)
  std::string epochs;      // --epochs N: verify the first N epochs
  std::string from;        // --from CHECKPOINT: start from it instead of the beginning
  TrainingFlags training;  // --device, --threads only
  int ranks = 1;           // --ranks N
  std::string scratch;     // --scratch DIR (default: a fresh folder under the system's temp)
};

// trainer bisect: one training step of one batch under two settings (or against a trace file),
// traced; names the first layer whose forward output, else gradient, differs.
struct BisectOptions {
  std::string model;           // --model FILE
  std::string checkpoint;      // --checkpoint FILE: start from it (default: the initial weights)
  int64_t epoch = -1, batch = -1;  // --epoch, --batch: the batch (default: the checkpoint's next one)
  TrainingFlags a, b;          // setting A (--device, --determinism, --threads) and B (--vs-...)
  std::string dump, against;   // --dump FILE: keep A's trace; --against FILE: compare A with it
};

// trainer diff RUN_A RUN_B [--json].
struct DiffOptions {
  std::string a, b;
  bool json = false;
};

// trainer sweep: trials of a W&B sweep file, each a run (docs/sweeps.md).
struct SweepOptions {
  std::string model;       // --model FILE (a new sweep)
  std::string sweep;       // --sweep FILE (YAML or JSON)
  std::string sweep_dir;   // --sweep-dir DIR (default sweeps/<name>-<UTC time>)
  std::string resume;      // --resume DIR
  int parallel = 0;        // --parallel K (0: 1, or one trial per GPU of --gpus)
  std::string gpus;        // --gpus LIST: one trial at a time on each
  std::string device;      // --device D for every trial
  int threads = 0;         // --threads N split between the trials at once (0: all cores)
  int64_t run_cap = 0;     // --run-cap N: the trial count of random and bayes when the file gives none
  int64_t checkpoint_every = 0;  // --checkpoint-every N steps, passed to every trial
  std::vector<std::string> command_line;
};

// trainer report DIR... [-o FILE]: a self-contained HTML report of runs and sweeps (docs/report.md).
struct ReportOptions {
  std::vector<std::string> dirs;
  std::string output = "report.html";
};

// trainer export: the model and a checkpoint of it as ONNX (docs/interop.md).
struct ExportOptions {
  std::string model, checkpoint, onnx;
  int opset = 17;
  std::string batch = "dynamic";  // a positive integer, or "dynamic"
  bool normalize = false;         // the model file's input normalization as the graph's first nodes
};

int run_train(const TrainOptions& options);
int run_export(const ExportOptions& options);
int run_report(const ReportOptions& options);
int run_sweep(const SweepOptions& options);
int run_eval(const EvalOptions& options);
int run_verify(const VerifyOptions& options);  // 0 reproduced, 2 diverged
int run_diff(const DiffOptions& options);      // 0 identical, 2 different
int run_bisect(const BisectOptions& options);  // 0 identical, 2 different

}  // namespace trainer
