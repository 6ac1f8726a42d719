#include "support/trainer_runner.h"

#include "data/readers.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <fstream>
#include <random>

namespace detnn::testing {

CommandResult run_trainer(const std::string& args, const std::string& env) {
  // exec: the shell becomes the trainer, so a signal that kills it is what pclose reports.
  const std::string cmd = "exec " + (env.empty() ? "" : "env " + env + " ") + DETNN_TRAINER_PATH + " " + args + " 2>&1";
  CommandResult r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return r;
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::vector<CommandResult> run_launched_trainers(int world_size, const std::string& args, const std::string& env,
                                                 const std::vector<std::string>& rank_env) {
  const auto dir = fresh_temp_dir("launch");
  const std::string common = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_tcp_port()) +
                             " WORLD_SIZE=" + std::to_string(world_size) + " " + env;
  // One shell starts every rank in the background and waits for all of them; each rank's output
  // and exit status go to files (a killed rank's status is 128 + its signal, as the shell says).
  std::string script;
  for (int r = 0; r < world_size; ++r) {
    const std::string out = (dir / ("rank" + std::to_string(r))).string();
    script += "(env " + common + " RANK=" + std::to_string(r) + " LOCAL_RANK=" + std::to_string(r) + " " +
              (r < static_cast<int>(rank_env.size()) ? rank_env[r] : "") + " " + DETNN_TRAINER_PATH + " " + args +
              " > " + out + ".out 2>&1; echo $? > " + out + ".status) &\n";
  }
  script += "wait\n";
  std::ofstream(dir / "launch.sh") << script;
  std::system(("sh " + (dir / "launch.sh").string()).c_str());
  std::vector<CommandResult> results(world_size);
  for (int r = 0; r < world_size; ++r) {
    const std::string out = (dir / ("rank" + std::to_string(r))).string();
    std::ifstream o(out + ".out"), st(out + ".status");
    results[r].output.assign(std::istreambuf_iterator<char>(o), std::istreambuf_iterator<char>());
    st >> results[r].status;
  }
  std::filesystem::remove_all(dir);
  return results;
}

std::filesystem::path fresh_temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("detnn-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::filesystem::path write_small_model(const std::filesystem::path& dir, int epochs, const std::string& extra_training) {
  const auto path = dir / "small.json";
  std::ofstream(path) << R"({
  "name": "small",
  "input": [1, 8, 8],
  "layers": [
    {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1},
    {"type": "batchnorm2d"},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "dropout", "p": 0.1},
    {"type": "flatten"},
    {"type": "linear", "out_features": 4}
  ],
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "data": {"format": "synthetic", "train": {"count": 640, "seed": 3, "shape": [1, 8, 8]},
           "validation": {"count": 128}, "classes": 4,
           "augment": {"random_crop_padding": 1, "horizontal_flip": true}},
  "training": {"epochs": )" << epochs << R"(, "batch_size": 32, "chunk_size": 8, "seed": 5, "log_every": 4)"
                            << extra_training << R"(}
})";
  return path;
}

std::vector<nlohmann::json> metrics_lines(const std::filesystem::path& run_dir, const std::string& type) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.value("type", "") == type) out.push_back(j);
  }
  return out;
}

std::vector<std::string> epoch_shas(const std::filesystem::path& run_dir) {
  std::vector<std::string> shas;
  for (const auto& j : metrics_lines(run_dir, "epoch")) shas.push_back(j.at("state_sha256").get<std::string>());
  return shas;
}

std::vector<std::string> epoch_weight_shas(const std::filesystem::path& run_dir) {
  std::vector<std::string> shas;
  for (const auto& j : metrics_lines(run_dir, "epoch")) shas.push_back(j.at("weights_sha256").get<std::string>());
  return shas;
}


namespace {

constexpr int64_t kIdxSamples = 256, kIdxSide = 8;

void put_be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

std::filesystem::path write_idx_model(const std::filesystem::path& dir) {
  data::SyntheticSpec spec;
  spec.count = kIdxSamples, spec.classes = 4, spec.channels = 1, spec.height = kIdxSide, spec.width = kIdxSide;
  spec.seed = 3;
  const data::Dataset d = data::make_synthetic(spec);
  std::string images("\x00\x00\x08\x03", 4), labels("\x00\x00\x08\x01", 4);
  put_be32(images, kIdxSamples), put_be32(images, kIdxSide), put_be32(images, kIdxSide);
  images.append(d.pixels_u8.begin(), d.pixels_u8.end());
  put_be32(labels, kIdxSamples);
  for (int32_t l : d.labels) labels.push_back(static_cast<char>(l));
  std::ofstream(dir / "images.idx", std::ios::binary) << images;
  std::ofstream(dir / "labels.idx", std::ios::binary) << labels;
  const std::filesystem::path p = dir / "idx-model.json";
  std::ofstream(p) << R"({"name": "idx-small", "input": [1, 8, 8],
  "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"},
             {"type": "relu"}, {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
             {"type": "linear", "out_features": 4}],
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "data": {"format": "idx", "train": {"images": "images.idx", "labels": "labels.idx"},
           "validation": {"count": 64}, "classes": 4},
  "training": {"epochs": 2, "batch_size": 32, "chunk_size": 8, "seed": 5, "log_every": 3}})";
  return p;
}

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void flip_first_pixels(const std::filesystem::path& images) {
  std::string b = bytes_of(images);
  for (int64_t i = 0; i < kIdxSamples; ++i) {
    char& c = b[static_cast<size_t>(16 + i * kIdxSide * kIdxSide)];
    c = static_cast<char>(static_cast<unsigned char>(c) ^ 1);
  }
  std::ofstream(images, std::ios::binary | std::ios::trunc) << b;
}

}  // namespace detnn::testing
