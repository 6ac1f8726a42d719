// The model file's "training" section as typed values (docs/model-format.md), and the one way to
// change them: TrainingOverrides, which the trainer's flags, detnn_model_set_option, the C API's
// context and SessionOptions all go through. A setting's text is parsed here and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/determinism.h"
#include "runtime/device.h"
#include "runtime/io/json_fields.h"

namespace detnn {

// training.cuda_graph: "off" runs every step eagerly; "auto" captures the gradient pass on the
// second step and replays it from then on where that is possible (session/step_graph.h).
enum class CudaGraphSetting : unsigned char { off, automatic };
// "off" | "auto"; anything else throws Error(invalid_argument) naming the value.
CudaGraphSetting parse_cuda_graph_setting(const std::string& text);
const char* cuda_graph_setting_name(CudaGraphSetting s);

struct TrainingSpec {
  int64_t epochs = 1;
  int64_t batch_size = 32;      // the global batch B
  int64_t chunk_size = 32;      // reduction chunk C (DESIGN §3); B % C == 0
  uint64_t seed = 0;
  Determinism determinism = Determinism::strict;
  Precision precision = Precision::fp32;             // tf32: TF32 tensor cores (fast and off only)
  CudaGraphSetting cuda_graph = CudaGraphSetting::off;  // capture the step's gradient pass
  std::string device = "cpu";          // cpu | cuda | cuda:N (checked by parse_device when set)
  int64_t threads = 0;                 // CPU threads; 0: DETNN_NUM_THREADS or all cores
  int64_t chunks_per_pass = 0;         // gradient accumulation: chunks per forward/backward pass; 0: all
  int64_t eval_batch_size = 0;         // 0: the training batch size
  int64_t log_every = 10;              // steps between metrics lines (trainer)

  Device parsed_device() const { return parse_device(device); }
  // The mode this run computes in on its device (resolve_compute_mode's checks).
  ComputeMode compute_mode() const;
};

// Parses the "training" object; errors name the JSON path. The defaults are TrainingSpec's, except
// chunk_size (min(32, batch_size)) and cuda_graph (DETNN_CUDA_GRAPH when set, so that a whole test
// suite or trainer run can replay its steps from CUDA Graphs without editing model files).
TrainingSpec parse_training_spec(JsonObject obj);
// Every field written out, as resolved configs record it.
nlohmann::json training_spec_json(const TrainingSpec& t);

// Changes to a TrainingSpec, each unset one keeping the model file's value. batch_size and
// chunk_size are not among them: they define the run's bits.
struct TrainingOverrides {
  std::optional<int64_t> epochs;
  std::optional<uint64_t> seed;
  std::optional<Determinism> determinism;
  std::optional<Precision> precision;
  std::optional<CudaGraphSetting> cuda_graph;
  std::optional<std::string> device;
  std::optional<int64_t> threads;
  std::optional<int64_t> chunks_per_pass;
  std::optional<int64_t> log_every;

  // Sets "training.<field>" from its text: integers in decimal, the enums by name, the device as
  // parse_device reads it. Throws Error(invalid_argument) naming the key and what it accepts.
  void set(const std::string& key, const std::string& value);
  // Writes the set fields into t.
  void apply_to(TrainingSpec& t) const;
};

// The keys TrainingOverrides::set accepts, for messages and docs: "training.epochs, ...".
const char* training_override_keys();

}  // namespace detnn
