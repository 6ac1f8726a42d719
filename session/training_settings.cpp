#include "session/training_settings.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "runtime/error.h"
#include "session/batch_split.h"

namespace detnn {

namespace {

// Minimum values of the integer settings, shared by the model file and the overrides.
constexpr int64_t kMinEpochs = 0, kMinThreads = 0, kMinChunksPerPass = 0, kMinLogEvery = 1, kMinSeed = 0;
// Far beyond any machine's cores: more CPU threads only cost (and the system may refuse them).
constexpr int64_t kMaxThreads = 1024;

// training.cuda_graph's default, as text: DETNN_CUDA_GRAPH when set (checked), else "off".
std::string default_cuda_graph() {
  const char* env = std::getenv("DETNN_CUDA_GRAPH");
  if (env == nullptr || *env == '\0') return "off";
  try {
    parse_cuda_graph_setting(env);
  } catch (const Error&) {
    DETNN_THROW(invalid_argument, "DETNN_CUDA_GRAPH=\"", env, "\" is not one of off, auto");
  }
  return env;
}

int64_t parse_integer(const std::string& key, const std::string& text, int64_t min_value) {
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  DETNN_CHECK(!text.empty() && *end == '\0' && errno == 0 && parsed >= min_value, invalid_argument, key,
              ": expected an integer >= ", min_value, ", got \"", text, "\"");
  return static_cast<int64_t>(parsed);
}

// Runs parse(text), turning its error into one that names `key`.
template <typename Parse>
auto parse_named(const std::string& key, const std::string& text, Parse&& parse) {
  try {
    return parse(text);
  } catch (const Error& e) {
    DETNN_THROW(invalid_argument, key, ": ", e.what());
  }
}

// The same, for a value read from the model file: Error(format) naming the JSON path.
template <typename Parse>
auto parse_in_file(JsonObject& obj, const char* key, const std::string& text, Parse&& parse) {
  try {
    return parse(text);
  } catch (const Error& e) {
    DETNN_THROW(format, obj.child_path(key), ": ", e.what());
  }
}

}  // namespace

CudaGraphSetting parse_cuda_graph_setting(const std::string& text) {
  if (text == "off") return CudaGraphSetting::off;
  if (text == "auto") return CudaGraphSetting::automatic;
  DETNN_THROW(invalid_argument, "training.cuda_graph \"", text, "\" is not one of off, auto");
}

const char* cuda_graph_setting_name(CudaGraphSetting s) { return s == CudaGraphSetting::automatic ? "auto" : "off"; }

ComputeMode TrainingSpec::compute_mode() const {
  return resolve_compute_mode(determinism, precision, parsed_device());
}

int64_t parse_thread_count(const std::string& key, const std::string& value) {
  const int64_t threads = parse_integer(key, value, kMinThreads);
  DETNN_CHECK(threads <= kMaxThreads, invalid_argument, key, ": at most ", kMaxThreads, " CPU threads, got ", threads);
  return threads;
}

TrainingSpec parse_training_spec(JsonObject obj) {
  TrainingSpec t;
  t.epochs = obj.integer_or("epochs", t.epochs, kMinEpochs);
  t.batch_size = obj.integer_or("batch_size", t.batch_size, 1);
  t.chunk_size = obj.integer_or("chunk_size", std::min<int64_t>(32, t.batch_size), 1);
  t.seed = static_cast<uint64_t>(obj.integer_or("seed", 0, kMinSeed));
  t.determinism = parse_determinism(obj.choice_or("determinism", {"strict", "fast", "off"}, "strict"));
  t.precision = parse_precision(obj.choice_or("precision", {"fp32", "tf32"}, "fp32"));
  t.cuda_graph = parse_cuda_graph_setting(obj.choice_or("cuda_graph", {"off", "auto"}, default_cuda_graph()));
  t.device = obj.string_or("device", "cpu");
  parse_in_file(obj, "device", t.device, parse_device);
  t.threads = obj.integer_or("threads", 0, kMinThreads);
  if (t.threads > kMaxThreads)
    DETNN_THROW(format, obj.path().empty() ? "training" : obj.path(), ".threads: at most ", kMaxThreads, " CPU threads, got ",
                t.threads);
  t.chunks_per_pass = obj.integer_or("chunks_per_pass", 0, kMinChunksPerPass);
  t.eval_batch_size = obj.integer_or("eval_batch_size", 0, 0);
  t.log_every = obj.integer_or("log_every", t.log_every, kMinLogEvery);
  obj.finish();
  try {
    check_precision_allowed(t.determinism, t.precision);
  } catch (const Error& e) {
    DETNN_THROW(format, e.what());  // the message names training.precision
  }
  try {
    plan_chunk_split(t.batch_size, t.chunk_size, 1);
  } catch (const Error& e) {
    DETNN_THROW(format, obj.path(), ": ", e.what());
  }
  return t;
}

nlohmann::json training_spec_json(const TrainingSpec& t) {
  return {{"epochs", t.epochs},
          {"batch_size", t.batch_size},
          {"chunk_size", t.chunk_size},
          {"seed", t.seed},
          {"determinism", determinism_name(t.determinism)},
          {"precision", precision_name(t.precision)},
          {"cuda_graph", cuda_graph_setting_name(t.cuda_graph)},
          {"device", t.device},
          {"threads", t.threads},
          {"chunks_per_pass", t.chunks_per_pass},
          {"eval_batch_size", t.eval_batch_size},
          {"log_every", t.log_every}};
}

const char* training_override_keys() {
  return "training.epochs, training.seed, training.threads, training.chunks_per_pass, training.log_every, "
         "training.device, training.determinism, training.precision, training.cuda_graph";
}

void TrainingOverrides::set(const std::string& key, const std::string& value) {
  if (key == "training.epochs") epochs = parse_integer(key, value, kMinEpochs);
  else if (key == "training.seed") seed = static_cast<uint64_t>(parse_integer(key, value, kMinSeed));
  else if (key == "training.threads") threads = parse_thread_count(key, value);
  else if (key == "training.chunks_per_pass") chunks_per_pass = parse_integer(key, value, kMinChunksPerPass);
  else if (key == "training.log_every") log_every = parse_integer(key, value, kMinLogEvery);
  else if (key == "training.device") {
    parse_named(key, value, parse_device);
    device = value;
  } else if (key == "training.determinism") determinism = parse_named(key, value, parse_determinism);
  else if (key == "training.precision") precision = parse_named(key, value, parse_precision);
  else if (key == "training.cuda_graph") cuda_graph = parse_cuda_graph_setting(value);
  else
    DETNN_THROW(invalid_argument, "unknown key \"", key, "\" (settable: ", training_override_keys(), ")");
}

void TrainingOverrides::apply_to(TrainingSpec& t) const {
  if (epochs) t.epochs = *epochs;
  if (seed) t.seed = *seed;
  if (determinism) t.determinism = *determinism;
  if (precision) t.precision = *precision;
  if (cuda_graph) t.cuda_graph = *cuda_graph;
  if (device) t.device = *device;
  if (threads) t.threads = *threads;
  if (chunks_per_pass) t.chunks_per_pass = *chunks_per_pass;
  if (log_every) t.log_every = *log_every;
}

}  // namespace detnn
