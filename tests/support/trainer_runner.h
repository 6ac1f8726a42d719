// Running the trainer binary from tests: a temporary folder, a small model file on synthetic data,
// the command's exit status and output, and the run directory's metrics.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace detnn::testing {

struct CommandResult {
  int status = -1;     // exit status (128 + signal when killed)
  std::string output;  // stdout and stderr together
};

// Runs `[env] trainer <args>` (the binary built beside the tests) through the shell and waits.
CommandResult run_trainer(const std::string& args, const std::string& env = "");

// Runs one trainer process per rank at the same time, as a torchrun-style launcher would: rank r
// gets RANK=r, WORLD_SIZE, LOCAL_RANK=r, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT, plus
// `env` and `rank_env[r]` (when given). Waits for all; result r is rank r's.
std::vector<CommandResult> run_launched_trainers(int world_size, const std::string& args, const std::string& env = "",
                                                 const std::vector<std::string>& rank_env = {});

// A TCP port nobody listens on now.
int free_tcp_port();

// A fresh empty folder under the system's temporary folder.
std::filesystem::path fresh_temp_dir(const std::string& name);

// A small model file (a conv net on 1x8x8 synthetic images, 4 classes) written into `dir`.
std::filesystem::path write_small_model(const std::filesystem::path& dir, int epochs = 3,
                                        const std::string& extra_training = "");

// A conv net on 256 synthetic 8x8 samples written as IDX files (images.idx, labels.idx) into
// `dir`: 192 training samples, 6 steps of 32 per epoch, 2 epochs. For tests that change data bytes.
std::filesystem::path write_idx_model(const std::filesystem::path& dir);
// The whole file's bytes.
std::string bytes_of(const std::filesystem::path& path);
// The first pixel of every sample of write_idx_model's images.idx changed by one level: every
// training batch changes, and so does the data fingerprint.
void flip_first_pixels(const std::filesystem::path& images);

// metrics.jsonl lines of one type ("step" or "epoch").
std::vector<nlohmann::json> metrics_lines(const std::filesystem::path& run_dir, const std::string& type);
// Per epoch line: the whole training state's digest (what bit-equality compares), and the weights'.
std::vector<std::string> epoch_shas(const std::filesystem::path& run_dir);
std::vector<std::string> epoch_weight_shas(const std::filesystem::path& run_dir);

}  // namespace detnn::testing
