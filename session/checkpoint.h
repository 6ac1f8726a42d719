// Checkpoints (docs/checkpoints.md): one safetensors file with every tensor of
// Session::state_tensors() (parameters, buffers such as batch-norm running statistics, optimizer
// state) and string metadata saying where the run was and what wrote it. Resuming from one gives
// the same bits as the uninterrupted run (DESIGN §1): the optimizer derives everything else from
// the step counter, which the metadata holds.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "runtime/io/safetensors.h"
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
  // SHA-256 of its float bytes), metadata_sha256 (a JSON object: the SHA-256 of every other
  // metadata key's value, so a changed, added or removed key is refused by name).
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

// The same from a file already parsed (the fuzz targets drive it with arbitrary bytes); `path`
// names it in messages.
CheckpointInfo load_checkpoint_file(Session& s, const SafetensorsFile& file, const std::string& path,
                                    bool check_model = true);

// The value of the metadata key "metadata_sha256" for `metadata`: {"key": SHA-256 of its value}
// over every other key. save_checkpoint writes it last; every load checks it first.
std::string checkpoint_metadata_sha256(const std::map<std::string, std::string>& metadata);

// The metadata of a parsed file, checked: the format key, step, epoch and batch_in_epoch as
// non-negative integers, every key against metadata_sha256.
CheckpointInfo checkpoint_info_of(const SafetensorsFile& file, const std::string& path);

// The metadata only (the file is still fully validated, the metadata digest checked).
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace detnn
