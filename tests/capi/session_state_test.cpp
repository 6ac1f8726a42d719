// Checkpoints through the C API: resuming in a fresh session and in a fresh process gives the
// bits of the uninterrupted run; broken checkpoints are clear errors that leave the session as
// it was.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

constexpr int64_t kTotal = 6, kSplit = 3;

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The safetensors header of a file, and the file rebuilt around an edited header (the data
// buffer is kept; the header is padded to a multiple of 8 as the writer does).
nlohmann::json header_of(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  return nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
}
std::vector<uint8_t> with_header(const std::vector<uint8_t>& file, const nlohmann::json& header) {
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  const size_t data_begin = 8 + static_cast<size_t>(n);
  std::vector<uint8_t> out(8 + text.size() + (file.size() - data_begin));
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::memcpy(out.data() + 8 + text.size(), file.data() + data_begin, file.size() - data_begin);
  return out;
}

// The file without tensor `name`: a well-formed checkpoint that lacks it (its bytes gone and
// the later tensors' offsets moved down), so that loading reaches the check for missing tensors.
std::vector<uint8_t> without_tensor(const std::vector<uint8_t>& file, const std::string& name) {
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  const size_t data_begin = 8 + static_cast<size_t>(n);
  nlohmann::json header = header_of(file);
  std::vector<uint8_t> data;
  nlohmann::json kept = nlohmann::json::object();
  for (auto& [key, entry] : header.items()) {
    if (key == "__metadata__" || key == name) continue;
    const size_t begin = entry["data_offsets"][0], end = entry["data_offsets"][1];
    nlohmann::json moved = entry;
    moved["data_offsets"] = {data.size(), data.size() + (end - begin)};
    data.insert(data.end(), file.begin() + static_cast<std::ptrdiff_t>(data_begin + begin),
                file.begin() + static_cast<std::ptrdiff_t>(data_begin + end));
    kept[key] = moved;
  }
  kept["__metadata__"] = header["__metadata__"];
  std::string text = kept.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::vector<uint8_t> out(8 + text.size());
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string metadata(detnn_session* s, const char* key) {
  const char* value = nullptr;
  const detnn_status st = detnn_session_checkpoint_metadata(s, key, &value);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return value == nullptr ? "" : value;
}

// The resume guarantee, for an optimizer (its state is part of the checkpoint).
class CApiResume : public ::testing::TestWithParam<const char*> {};

TEST_P(CApiResume, ContinuingFromACheckpointGivesTheUninterruptedBits) {
  const std::string json = model_json(", \"chunks_per_pass\": 2", GetParam());
  TempDir dir;
  const std::string ckpt = dir.file("step3.safetensors");

  const SessionPtr full = session_for(json);
  ASSERT_TRUE(full);
  const std::string uninterrupted = train(full.get(), 0, kTotal);

  {
    const SessionPtr first = session_for(json);
    ASSERT_TRUE(first);
    train(first.get(), 0, kSplit);
    ASSERT_EQ(detnn_session_set_checkpoint_metadata(first.get(), "data_fingerprint", "synthetic-2024"), DETNN_OK);
    ASSERT_EQ(detnn_session_save_checkpoint(first.get(), ckpt.c_str(), 0, kSplit), DETNN_OK) << detnn_last_error();
  }

  // A fresh session in this process: new context, model and session handles.
  const SessionPtr resumed = session_for(json);
  ASSERT_TRUE(resumed);
  ASSERT_EQ(detnn_session_load_checkpoint(resumed.get(), ckpt.c_str()), DETNN_OK) << detnn_last_error();
  int64_t step = -1, epoch = -1, in_epoch = -1, done = -1;
  ASSERT_EQ(detnn_session_checkpoint_position(resumed.get(), &step, &epoch, &in_epoch), DETNN_OK);
  EXPECT_EQ(step, kSplit);
  EXPECT_EQ(epoch, 0);
  EXPECT_EQ(in_epoch, kSplit);
  ASSERT_EQ(detnn_session_steps_done(resumed.get(), &done), DETNN_OK);
  EXPECT_EQ(done, kSplit);
  EXPECT_EQ(train(resumed.get(), kSplit, kTotal - kSplit), uninterrupted);

  // A fresh process (tests/support/resume_child.c), loading the model from a file with the same bytes.
  const std::string model_file = dir.file("model.json");
  {
    std::ofstream out(model_file, std::ios::binary);
    out << json;
  }
  const std::string command = std::string("'") + DETNN_CAPI_RESUME_CHILD + "' '" + model_file + "' '" + ckpt +
                              "' " + std::to_string(kTotal - kSplit) + " " + std::to_string(kDataSeed);
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[128] = {0};
  const bool got = std::fgets(line, sizeof line, pipe) != nullptr;
  const int rc = ::pclose(pipe);
  ASSERT_EQ(rc, 0) << command;
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(line, std::strlen(line) > 0 ? std::strlen(line) - 1 : 0), uninterrupted);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, CApiResume,
                         ::testing::Values(R"({"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true})",
                                           R"({"type": "adamw", "lr": 0.01,
                                               "schedule": {"type": "cosine", "warmup_steps": 2}})"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.index == 0 ? "SgdNesterov" : "AdamWCosine");
                         });

TEST(CApiCheckpoint, FileHoldsEveryStateTensorAndTheMetadata) {
  const std::string json = model_json();
  TempDir dir;
  const std::string ckpt = dir.file("c.safetensors");
  const SessionPtr s = session_for(json);
  ASSERT_TRUE(s);
  train(s.get(), 0, 2);
  ASSERT_EQ(detnn_session_set_checkpoint_metadata(s.get(), "note", "hello"), DETNN_OK);
  EXPECT_EQ(detnn_session_set_checkpoint_metadata(s.get(), "step", "9"), DETNN_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(detnn_session_save_checkpoint(s.get(), ckpt.c_str(), 1, 5), DETNN_OK) << detnn_last_error();
  ASSERT_EQ(detnn_session_save_checkpoint(s.get(), ckpt.c_str(), 1, 5), DETNN_OK);  // replaces it
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.file(""))) ++files;
  EXPECT_EQ(files, 1);  // no temporary file left behind

  const nlohmann::json header = header_of(read_bytes(ckpt));
  for (const char* name : {"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.running_mean",
                           "layers.1.running_var", "layers.5.weight", "optimizer.momentum_buffer"})
    EXPECT_TRUE(header.contains(name)) << name << " missing from " << header.dump();
  EXPECT_EQ(header["layers.0.weight"]["shape"], nlohmann::json({4, 1, 3, 3}));
  const nlohmann::json& meta = header["__metadata__"];
  EXPECT_EQ(meta["format"], "detnn-checkpoint-v1");
  EXPECT_EQ(meta["step"], "2");
  EXPECT_EQ(meta["epoch"], "1");
  EXPECT_EQ(meta["batch_in_epoch"], "5");
  EXPECT_EQ(meta["seed"], "11");
  EXPECT_EQ(meta["determinism"], "strict");
  EXPECT_EQ(meta["precision"], "fp32");
  EXPECT_FALSE(meta.contains("kernel_choices"));  // strict pins no vendor algorithm
  EXPECT_EQ(meta["detnn_version"], detnn_version());
  EXPECT_TRUE(meta.contains("detnn_commit"));
  EXPECT_EQ(meta["data_fingerprint"], "");
  EXPECT_EQ(meta["note"], "hello");
  const ModelPtr m = make_model(json);
  char model_sha[65];
  ASSERT_EQ(detnn_model_sha256(m.get(), model_sha), DETNN_OK);
  EXPECT_EQ(meta["model_sha256"], model_sha);

  // The loading session sees the same metadata.
  const SessionPtr t = session_for(json);
  ASSERT_EQ(detnn_session_load_checkpoint(t.get(), ckpt.c_str()), DETNN_OK) << detnn_last_error();
  EXPECT_EQ(metadata(t.get(), "note"), "hello");
  EXPECT_EQ(metadata(t.get(), "model_sha256"), model_sha);
  EXPECT_EQ(state_sha(t.get()), state_sha(s.get()));
  const char* value = nullptr;
  EXPECT_EQ(detnn_session_checkpoint_metadata(t.get(), "absent", &value), DETNN_ERROR_INVALID_ARGUMENT);
}

// Each broken file: a non-OK status, a message naming the file and the fault, and a session that
// goes on exactly as if nothing had happened.
TEST(CApiCheckpoint, BrokenCheckpointsAreErrorsAndLeaveTheSessionUnchanged) {
  const std::string json = model_json();
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  const SessionPtr victim = session_for(json);
  ASSERT_TRUE(victim);
  train(victim.get(), 0, 2);
  ASSERT_EQ(detnn_session_save_checkpoint(victim.get(), good.c_str(), 0, 2), DETNN_OK) << detnn_last_error();
  train(victim.get(), 2, 1);  // the session is now ahead of the checkpoint
  const std::vector<uint8_t> bytes = read_bytes(good);

  struct Case {
    std::string name;
    std::vector<uint8_t> bytes;  // empty: do not write (the file is missing or made elsewhere)
    detnn_status status;
    std::string expected;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated.safetensors", std::vector<uint8_t>(bytes.begin(), bytes.end() - 64),
                   DETNN_ERROR_FORMAT, "run past the end of the"});
  {
    std::vector<uint8_t> garbage(4096);
    uint64_t state = 99;
    for (auto& b : garbage) b = static_cast<uint8_t>(synth_next(&state));
    cases.push_back({"garbage.safetensors", garbage, DETNN_ERROR_FORMAT, "the file is corrupt or not safetensors"});
  }
  {
    nlohmann::json h = header_of(bytes);
    h["layers.0.weight"]["shape"] = {4, 9, 1, 1};  // same byte count, another shape
    cases.push_back({"wrong-shape.safetensors", with_header(bytes, h), DETNN_ERROR_FORMAT,
                     "layers.0.weight has shape [4, 9, 1, 1] but the model needs [4, 1, 3, 3]"});
  }
  {
    nlohmann::json h = header_of(bytes);
    h["__metadata__"].erase("format");
    h["__metadata__"].erase("metadata_sha256");  // a safetensors file with metadata of its own
    cases.push_back({"no-format.safetensors", with_header(bytes, h), DETNN_ERROR_FORMAT, "not a detnn checkpoint"});
  }
  {
    nlohmann::json h = header_of(bytes);
    h["__metadata__"]["step"] = "7";  // the digest of the metadata still says 2
    cases.push_back({"changed-step.safetensors", with_header(bytes, h), DETNN_ERROR_FORMAT,
                     "checkpoint metadata \"step\" does not match its SHA-256"});
  }
  {
    nlohmann::json h = header_of(bytes);
    h.erase("optimizer.momentum_buffer");  // its bytes are left as a hole: the file is corrupt
    cases.push_back({"hole.safetensors", with_header(bytes, h), DETNN_ERROR_FORMAT, "trailing bytes after the last tensor"});
  }
  cases.push_back({"missing-tensor.safetensors", without_tensor(bytes, "optimizer.momentum_buffer"), DETNN_ERROR_FORMAT,
                   "optimizer state optimizer.momentum_buffer is missing"});
  cases.push_back({"missing-weight.safetensors", without_tensor(bytes, "layers.0.bias"), DETNN_ERROR_FORMAT,
                   "tensor layers.0.bias [4] is missing"});
  {
    // The same model file, another seed: the run it continues is another run.
    const ModelPtr m = make_model(json);
    ASSERT_EQ(detnn_model_set_option(m.get(), "training.seed", "8"), DETNN_OK);
    const ContextPtr ctx = make_context();
    const SessionPtr other = make_session(ctx.get(), m.get());
    const std::string path = dir.file("other-seed.safetensors");
    ASSERT_EQ(detnn_session_save_checkpoint(other.get(), path.c_str(), 0, 0), DETNN_OK) << detnn_last_error();
    cases.push_back({"other-seed.safetensors", {}, DETNN_ERROR_FORMAT, "checkpoint was written with seed 8, this session uses seed "});
  }
  {
    const SessionPtr other = session_for(model_json("", R"({"type": "sgd", "lr": 0.05, "momentum": 0.9})", 6));
    ASSERT_TRUE(other);
    const std::string path = dir.file("other-model.safetensors");
    ASSERT_EQ(detnn_session_save_checkpoint(other.get(), path.c_str(), 0, 0), DETNN_OK);
    cases.push_back({"other-model.safetensors", {}, DETNN_ERROR_FORMAT, "checkpoint was written for model file sha256 "});
  }
  cases.push_back({"missing.safetensors", {}, DETNN_ERROR_IO, "cannot open"});

  const std::string before = state_sha(victim.get());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(c.name);
    if (!c.bytes.empty()) write_bytes(path, c.bytes);
    const detnn_status st = detnn_session_load_checkpoint(victim.get(), path.c_str());
    EXPECT_EQ(st, c.status) << describe(st);
    const std::string message = detnn_last_error();
    EXPECT_NE(message.find(path), std::string::npos) << "the message should name the file: " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_EQ(state_sha(victim.get()), before);
    int64_t done = -1;
    ASSERT_EQ(detnn_session_steps_done(victim.get(), &done), DETNN_OK);
    EXPECT_EQ(done, 3);
  }

  // Optimizer state and buffers are untouched too: the session continues like one that never
  // saw a broken file.
  const SessionPtr reference = session_for(json);
  ASSERT_TRUE(reference);
  EXPECT_EQ(train(victim.get(), 3, 2), train(reference.get(), 0, 5));
}

}  // namespace
}  // namespace detnn::capi_test
