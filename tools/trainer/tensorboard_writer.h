// TensorBoard event files (docs/report.md): RUN_DIR/tensorboard/events.out.tfevents.<time>.<host>.<pid>,
// TFRecord framing (length, masked CRC-32C of the length, the serialized Event, its masked
// CRC-32C; Boost.CRC computes CRC-32C) around the messages of tools/trainer/tensorboard.proto
// (libprotobuf). Written as the run goes, flushed with every metrics line; TensorBoard reads them live.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trainer {

// CRC-32C (Castagnoli) of `size` bytes, and TFRecord's masked form of it.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

class TensorBoardWriter {
 public:
  // Creates DIR (if needed) and a new event file in it: one file per process, so a resumed run
  // adds a file (`suffix` ends the name, e.g. ".hparams" for the sweep's records).
  explicit TensorBoardWriter(const std::filesystem::path& dir, const std::string& suffix = "");
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void scalar(const std::string& tag, int64_t step, double value);
  // Markdown text for TensorBoard's text plugin.
  void text(const std::string& tag, int64_t step, const std::string& markdown);
  // A resumed run restarts at `step`: TensorBoard drops the events of steps >= `step` from the
  // earlier files, which the resumed run writes again.
  void restart_at(int64_t step);
  // The metrics.jsonl line's numbers as scalars: "step/<key>" for step lines, "epoch/<key>" for
  // epoch lines, at the line's global step, flushed as metrics.jsonl is (a killed run loses no
  // logged step). Other lines (the per-step digests) write nothing.
  void metrics_line(const nlohmann::json& line);

  // The hparams plugin (sweeps): the experiment (parameters with their values, the metric) and
  // one trial's values and outcome.
  struct HParam {
    std::string name;
    std::vector<nlohmann::json> values;  // its values, when they are a list
    bool interval = false;               // else: a real interval [min, max] (neither: unbounded)
    double min = 0, max = 0;
  };
  void hparams_experiment(const std::string& name, const std::vector<HParam>& hparams,
                          const std::vector<std::string>& metric_tags);
  void hparams_session(const std::string& group, const std::map<std::string, nlohmann::json>& values, bool succeeded,
                       double start_time, double end_time);

  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_event(const std::string& serialized);
  void hparams_record(const std::string& tag, const std::string& plugin_data);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace trainer
