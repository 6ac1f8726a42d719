// Checkpoints (docs/checkpoints.md): one safetensors file with every tensor of
// Session::state_tensors() (parameters, buffers such as batch-norm running statistics, optimizer
// state) and string metadata saying where the run was and what wrote it. Resuming from one gives
// the same bits as the uninterrupted run (DESIGN §1): the optimizer derives everything else from
// the step counter, which the metadata holds.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "session/session.h"

namespace detnn {

inline constexpr const char* kCheckpointFormat = "detnn-checkpoint-v1";

struct CheckpointInfo {
  int64_t step = 0;            // updates done (save: ignored, the session's steps_done() is written)
  int64_t epoch = 0;           // the epoch the next step belongs to
  int64_t batch_in_epoch = 0;  // the position of the next step inside that epoch
  // save: extra keys to record (the reserved keys below win, except data_fingerprint, which the
  // caller supplies). load / read: every key of the file, the reserved ones included:
  // format, step, epoch, batch_in_epoch, seed, determinism, model_sha256, data_fingerprint,
  // detnn_version, detnn_commit, numerics_contract, tensor_sha256 (a JSON object: each tensor's
  // SHA-256 of its float bytes).
  std::map<std::string, std::string> metadata;
};

// Writes the session's state to `path` atomically (temporary file, fsync, rename): a reader sees
// the old file or the complete new one. Error(io) when it cannot be written.
void save_checkpoint(Session& s, const std::string& path, const CheckpointInfo& info);

// Restores the session from `path`: validates the format key and, with check_model, that the
// checkpoint was written for this model file (model_sha256), seed and numerics contract version
// (DESIGN §1: another version's checkpoint cannot continue its run's bits), then every tensor's presence
// and shape, and only then replaces the state and sets steps_done to the saved step. Any error
// (Error(io) unreadable, Error(format) truncated/corrupt/another model/wrong shapes) names the file
// and what differs, and leaves the session unchanged.
CheckpointInfo load_checkpoint(Session& s, const std::string& path, bool check_model = true);

// The metadata only (the file is still fully validated).
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace detnn
