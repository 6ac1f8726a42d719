#include "session/checkpoint.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "runtime/environment.h"
#include "runtime/error.h"
#include "runtime/io/json_fields.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/sha256.h"
#include "runtime/reduction_rules.h"

namespace detnn {

namespace {

int64_t integer_key(const std::map<std::string, std::string>& metadata, const char* key, const std::string& path) {
  auto it = metadata.find(key);
  DETNN_CHECK(it != metadata.end(), format, path, ": checkpoint metadata has no \"", key, "\" key");
  const std::string& text = it->second;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  DETNN_CHECK(ec == std::errc() && end == text.data() + text.size() && value >= 0, format, path,
              ": checkpoint metadata \"", key, "\" is \"", cut_for_message(text, 30), "\", expected a non-negative integer");
  return value;
}

std::string key_or_empty(const std::map<std::string, std::string>& metadata, const char* key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

std::string sha256_of_text(const std::string& text) {
  return sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Checkpoints written before the key existed have none and are read as they are.
void check_metadata_digests(const std::map<std::string, std::string>& metadata, const std::string& path) {
  const auto it = metadata.find("metadata_sha256");
  if (it == metadata.end()) return;
  const nlohmann::json digests = nlohmann::json::parse(it->second, json_depth_limit(path), /*allow_exceptions=*/false);
  DETNN_CHECK(digests.is_object(), format, path, ": checkpoint metadata \"metadata_sha256\" is not a JSON object");
  for (const auto& [key, value] : metadata) {
    if (key == "metadata_sha256") continue;
    const auto d = digests.find(key);
    DETNN_CHECK(d != digests.end(), format, path, ": checkpoint metadata \"", cut_for_message(key),
                "\" was added after the checkpoint was written (metadata_sha256 has no digest of it)");
    DETNN_CHECK(d->is_string() && d->get<std::string>() == sha256_of_text(value), format, path,
                ": checkpoint metadata \"", cut_for_message(key, 60), "\" does not match its SHA-256 (it was changed after the checkpoint was written)");
  }
  for (const auto& [key, digest] : digests.items())
    DETNN_CHECK(metadata.count(key), format, path, ": checkpoint metadata \"", cut_for_message(key),
                "\" was removed after the checkpoint was written (metadata_sha256 has its digest)");
}

}  // namespace

std::string checkpoint_metadata_sha256(const std::map<std::string, std::string>& metadata) {
  nlohmann::json digests = nlohmann::json::object();
  for (const auto& [key, value] : metadata)
    if (key != "metadata_sha256") digests[key] = sha256_of_text(value);
  // A key that is not UTF-8 is refused by the safetensors writer, naming it; not here.
  return digests.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

CheckpointInfo checkpoint_info_of(const SafetensorsFile& file, const std::string& path) {
  check_metadata_digests(file.metadata, path);
  auto it = file.metadata.find("format");
  DETNN_CHECK(it != file.metadata.end(), format, path,
              ": not a detnn checkpoint (a safetensors file without the \"format\" metadata key)");
  DETNN_CHECK(it->second == kCheckpointFormat, format, path, ": checkpoint format is \"", cut_for_message(it->second, 60),
              "\", this build reads \"", kCheckpointFormat, "\"");
  CheckpointInfo info;
  info.step = integer_key(file.metadata, "step", path);
  info.epoch = integer_key(file.metadata, "epoch", path);
  info.batch_in_epoch = integer_key(file.metadata, "batch_in_epoch", path);
  info.metadata = file.metadata;
  return info;
}

namespace {

// "ab12cd34…": enough of a hash to tell two apart in a message.
std::string short_hash(const std::string& hex) { return hex.size() > 12 ? hex.substr(0, 12) + "…" : hex; }

// Every tensor against the SHA-256 the writer recorded (checkpoints written before the key
// existed have none): one flipped byte anywhere in the data is refused, naming the tensor.
void check_tensor_digests(const std::map<std::string, std::string>& metadata, const std::vector<NamedTensor>& tensors,
                          const std::string& path) {
  const auto it = metadata.find("tensor_sha256");
  if (it == metadata.end()) return;
  const nlohmann::json digests = nlohmann::json::parse(it->second, json_depth_limit(path), /*allow_exceptions=*/false);
  DETNN_CHECK(digests.is_object(), format, path, ": checkpoint metadata \"tensor_sha256\" is not a JSON object");
  for (const NamedTensor& t : tensors) {
    const auto d = digests.find(t.name);
    DETNN_CHECK(d != digests.end() && d->is_string(), format, path, ": checkpoint metadata \"tensor_sha256\" has no digest of tensor ",
                cut_for_message(t.name, 100));
    DETNN_CHECK(sha256_of_floats(t.values.data(), t.values.size()) == d->get<std::string>(), format, path, ": tensor ",
                t.name, " does not match its SHA-256 (the file was changed or damaged after it was written)");
  }
}

}  // namespace

void save_checkpoint(Session& s, const std::string& path, const CheckpointInfo& info) {
  DETNN_CHECK(info.epoch >= 0 && info.batch_in_epoch >= 0, invalid_argument, "save_checkpoint ", path,
              ": epoch and batch_in_epoch must be >= 0, got ", info.epoch, " and ", info.batch_in_epoch);
  const std::vector<NamedTensor> state = s.state_tensors();
  std::vector<SafetensorsTensorView> views;
  views.reserve(state.size());
  for (const NamedTensor& t : state) views.push_back({t.name, DType::f32, t.shape, t.values.data()});

  std::map<std::string, std::string> metadata = info.metadata;
  const TrainingSpec& training = s.spec().training;
  metadata["format"] = kCheckpointFormat;
  metadata["step"] = std::to_string(s.steps_done());
  metadata["epoch"] = std::to_string(info.epoch);
  metadata["batch_in_epoch"] = std::to_string(info.batch_in_epoch);
  metadata["seed"] = std::to_string(training.seed);
  metadata["determinism"] = determinism_name(training.determinism);
  metadata["precision"] = precision_name(training.precision);
  // fast / off: the pinned vendor algorithms (DESIGN §1: the mode, the library versions and the
  // device model go into every checkpoint); strict pins none.
  const std::vector<KernelChoice> choices = s.kernel_choices();
  if (!choices.empty()) metadata["kernel_choices"] = kernel_choices_json(choices);
  metadata["model_sha256"] = s.spec().source_sha256;
  metadata["data_fingerprint"] = key_or_empty(info.metadata, "data_fingerprint");
  metadata["detnn_version"] = version_string();
  metadata["detnn_commit"] = git_commit();
  metadata["numerics_contract"] = std::to_string(kNumericsContractVersion);
  // Per-tensor fingerprints: trainer verify and diff name the tensors that differ from these.
  nlohmann::json tensor_sha256 = nlohmann::json::object();
  for (const NamedTensor& t : state) tensor_sha256[t.name] = sha256_of_floats(t.values.data(), t.values.size());
  metadata["tensor_sha256"] = tensor_sha256.dump();
  metadata["metadata_sha256"] = checkpoint_metadata_sha256(metadata);
  write_safetensors(path, views, metadata);
}

CheckpointInfo read_checkpoint_info(const std::string& path) { return checkpoint_info_of(read_safetensors(path), path); }

CheckpointInfo load_checkpoint(Session& s, const std::string& path, bool check_model) {
  return load_checkpoint_file(s, read_safetensors(path), path, check_model);
}

CheckpointInfo load_checkpoint_file(Session& s, const SafetensorsFile& file, const std::string& path, bool check_model) {
  CheckpointInfo info = checkpoint_info_of(file, path);
  if (check_model) {
    const std::string saved = key_or_empty(info.metadata, "model_sha256");
    const std::string& mine = s.spec().source_sha256;
    if (saved != mine)
      DETNN_THROW(format, path, ": checkpoint was written for model file sha256 ", short_hash(saved),
                  ", this model file is ", short_hash(mine),
                  " (another model, or the model file was edited since; every byte counts)");
    // A checkpoint without the key predates it: version 1.
    const std::string contract = key_or_empty(info.metadata, "numerics_contract");
    if (contract != std::to_string(kNumericsContractVersion))
      DETNN_THROW(format, path, ": checkpoint was written under numerics contract version ",
                  contract.empty() ? "1" : cut_for_message(contract, 20), ", this build computes version ", kNumericsContractVersion,
                  " (DESIGN §3): the run cannot continue with its own bits (--force resumes anyway)");
    const std::string seed = key_or_empty(info.metadata, "seed");
    if (seed != std::to_string(s.spec().training.seed))
      DETNN_THROW(format, path, ": checkpoint was written with seed ", seed.empty() ? "(none)" : cut_for_message(seed, 30),
                  ", this session uses seed ", s.spec().training.seed);
  }
  std::vector<NamedTensor> tensors;
  tensors.reserve(file.tensors.size());
  for (const SafetensorsTensor& st : file.tensors) {
    DETNN_CHECK(st.dtype == DType::f32, format, path, ": tensor ", st.name, " is ", dtype_name(st.dtype),
                ", checkpoints hold F32");
    NamedTensor t{st.name, st.shape, std::vector<float>(static_cast<size_t>(st.element_count()))};
    if (!st.bytes.empty()) std::memcpy(t.values.data(), st.bytes.data(), st.bytes.size());
    // A healthy run's state is finite: a NaN or infinity is corruption (or a diverged run), and
    // loading it would train on silently (or evaluate to a null loss).
    for (size_t i = 0; i < t.values.size(); ++i)
      DETNN_CHECK(std::isfinite(t.values[i]), format, path, ": tensor ", st.name, " has a non-finite value (",
                  t.values[i], ") at index ", i);
    tensors.push_back(std::move(t));
  }
  check_tensor_digests(info.metadata, tensors, path);
  s.load_state_tensors(tensors, path);  // checks everything before replacing anything
  s.set_steps_done(info.step);
  return info;
}

}  // namespace detnn
