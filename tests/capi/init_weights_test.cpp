// The model file's "init_weights" and detnn_session_save_parameters through the C API:
//  - the file written by detnn_session_save_parameters, read back by init_weights with ANOTHER
//    seed, gives bit-identical initial parameters (and the whole initial state digest);
//  - the seed then only matters where it keys something besides the initialization: without
//    dropout (and with the caller's batches) the trained state equals the first run's bit for
//    bit; with dropout the masks are keyed by the seed, so the states part after the first step;
//  - a file with a missing, mis-shaped, extra or non-F32 tensor, or no file at all, is refused by
//    detnn_session_create with a message naming the file and the tensor.
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "runtime/io/safetensors.h"
#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

constexpr int64_t kSteps = 3;

// The capi test model with `init_weights` (an absolute path) as its first key.
std::string with_init_weights(std::string json, const std::string& path) {
  json.insert(json.find('{') + 1, "\"init_weights\": \"" + path + "\", ");
  return json;
}

// The capi test model with a dropout layer before its classifier: dropout masks are keyed by
// (seed, step, layer, sample, element), DESIGN §4.
std::string with_dropout(std::string json) {
  const std::string flatten = R"({"type": "flatten"})";
  json.insert(json.find(flatten), R"({"type": "dropout", "p": 0.3}, )");
  return json;
}

// A session of `json` whose training.seed is set to `seed` (as --seed does).
SessionPtr session_with_seed(const std::string& json, const char* seed) {
  const ModelPtr model = make_model(json);
  if (!model) return nullptr;
  EXPECT_EQ(detnn_model_set_option(model.get(), "training.seed", seed), DETNN_OK) << detnn_last_error();
  const ContextPtr ctx = make_context();
  return make_session(ctx.get(), model.get());
}

std::string weights_sha(detnn_session* s) {
  char out[65] = {0};
  EXPECT_EQ(detnn_session_weights_sha256(s, out), DETNN_OK) << detnn_last_error();
  return out;
}

TEST(CApiInitWeights, SavedParametersReloadBitIdenticallyUnderAnotherSeed) {
  const TempDir dir;
  const std::string file = dir.file("init.safetensors");
  const SessionPtr first = session_with_seed(model_json(), "11");
  ASSERT_TRUE(first);
  ASSERT_EQ(detnn_session_save_parameters(first.get(), file.c_str()), DETNN_OK) << detnn_last_error();

  // The file holds exactly the parameters, by name and shape, with the session's values.
  const SafetensorsFile saved = read_safetensors(file);
  int64_t count = 0;
  ASSERT_EQ(detnn_session_parameter_tensor_count(first.get(), &count), DETNN_OK);
  ASSERT_EQ(static_cast<int64_t>(saved.tensors.size()), count);
  for (int64_t i = 0; i < count; ++i) {
    const char* name = nullptr;
    int64_t size = 0;
    ASSERT_EQ(detnn_session_parameter_name(first.get(), i, &name), DETNN_OK);
    ASSERT_EQ(detnn_session_parameter_size(first.get(), i, &size), DETNN_OK);
    const SafetensorsTensor* t = saved.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dtype, DType::f32) << name;
    ASSERT_EQ(t->element_count(), size) << name;
    std::vector<float> values(static_cast<size_t>(size));
    ASSERT_EQ(detnn_session_get_parameter(first.get(), name, values.data(), size), DETNN_OK);
    EXPECT_EQ(std::memcmp(values.data(), t->bytes.data(), t->bytes.size()), 0) << name;
  }

  // Another seed alone initializes other weights; with init_weights they are the file's.
  const SessionPtr other_seed = session_with_seed(model_json(), "99");
  const SessionPtr reloaded = session_with_seed(with_init_weights(model_json(), file), "99");
  ASSERT_TRUE(other_seed && reloaded);
  EXPECT_NE(weights_sha(other_seed.get()), weights_sha(first.get()));
  EXPECT_EQ(weights_sha(reloaded.get()), weights_sha(first.get()));
  EXPECT_EQ(state_sha(reloaded.get()), state_sha(first.get()));  // buffers and optimizer state too

  // No dropout and the caller's batches: nothing else is keyed by the seed, so the runs stay equal.
  const std::string trained = train(first.get(), 0, kSteps);
  EXPECT_EQ(train(reloaded.get(), 0, kSteps), trained);
  EXPECT_NE(train(other_seed.get(), 0, kSteps), trained);
}

TEST(CApiInitWeights, WithDropoutTheSeedStillKeysTheMasks) {
  const TempDir dir;
  const std::string file = dir.file("init.safetensors");
  const std::string json = with_dropout(model_json());
  const SessionPtr first = session_with_seed(json, "11");
  ASSERT_TRUE(first);
  ASSERT_EQ(detnn_session_save_parameters(first.get(), file.c_str()), DETNN_OK) << detnn_last_error();
  const SessionPtr same_seed = session_with_seed(with_init_weights(json, file), "11");
  const SessionPtr other_seed = session_with_seed(with_init_weights(json, file), "99");
  ASSERT_TRUE(same_seed && other_seed);
  EXPECT_EQ(state_sha(same_seed.get()), state_sha(first.get()));
  EXPECT_EQ(state_sha(other_seed.get()), state_sha(first.get()));
  const std::string trained = train(first.get(), 0, kSteps);
  EXPECT_EQ(train(same_seed.get(), 0, kSteps), trained);   // the file changes nothing but the init
  EXPECT_NE(train(other_seed.get(), 0, kSteps), trained);  // other dropout masks
}

// Rewrites the parameters of `good` into `path` after `edit` changed the list.
template <class Edit>
void write_edited(const SafetensorsFile& good, const std::string& path, Edit edit) {
  std::vector<SafetensorsTensorView> views;
  for (const SafetensorsTensor& t : good.tensors) views.push_back(t.view());
  edit(views);
  write_safetensors(path, views);
}

TEST(CApiInitWeights, BadInitFilesAreRefusedNamingTheTensor) {
  const TempDir dir;
  const std::string good_path = dir.file("good.safetensors");
  {
    const SessionPtr s = session_for(model_json());
    ASSERT_TRUE(s);
    ASSERT_EQ(detnn_session_save_parameters(s.get(), good_path.c_str()), DETNN_OK) << detnn_last_error();
  }
  const SafetensorsFile good = read_safetensors(good_path);
  ASSERT_NE(good.find("layers.0.weight"), nullptr);
  ASSERT_NE(good.find("layers.5.bias"), nullptr);
  const std::vector<float> extra_values(3, 0.5f);
  const std::vector<double> f64_values(4, 0.25);

  struct Case {
    std::string name, expected;
    std::function<void(std::vector<SafetensorsTensorView>&)> edit;
  };
  const std::vector<Case> cases = {
      {"missing", "tensor layers.5.bias [4] is missing",
       [](auto& v) { std::erase_if(v, [](const auto& t) { return t.name == "layers.5.bias"; }); }},
      {"wrong-shape", "tensor layers.0.weight has shape [4, 9] but the model needs [4, 1, 3, 3]",
       [](auto& v) {
         for (auto& t : v)
           if (t.name == "layers.0.weight") t.shape = {4, 9};
       }},
      {"extra", "tensor layers.9.weight [3] is not a parameter of this model",
       [&](auto& v) { v.push_back({"layers.9.weight", DType::f32, {3}, extra_values.data()}); }},
      {"f64", "tensor layers.0.bias is F64, expected F32",
       [&](auto& v) {
         for (auto& t : v)
           if (t.name == "layers.0.bias") t = {"layers.0.bias", DType::f64, {4}, f64_values.data()};
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(c.name + ".safetensors");
    write_edited(good, path, c.edit);
    const ModelPtr model = make_model(with_init_weights(model_json(), path));
    const ContextPtr ctx = make_context();
    detnn_session* s = nullptr;
    EXPECT_EQ(detnn_session_create(ctx.get(), model.get(), &s), DETNN_ERROR_FORMAT);
    const std::string message = detnn_last_error();
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;  // and the file
    EXPECT_EQ(s, nullptr);
    detnn_session_destroy(s);
  }
  // No file at all: an I/O error naming it.
  const std::string missing = dir.file("no-such.safetensors");
  const ModelPtr model = make_model(with_init_weights(model_json(), missing));
  const ContextPtr ctx = make_context();
  detnn_session* s = nullptr;
  EXPECT_EQ(detnn_session_create(ctx.get(), model.get(), &s), DETNN_ERROR_IO);
  EXPECT_NE(std::string(detnn_last_error()).find(missing), std::string::npos) << detnn_last_error();
  detnn_session_destroy(s);
  // And detnn_session_save_parameters checks its arguments.
  const SessionPtr ok = session_for(model_json());
  EXPECT_EQ(detnn_session_save_parameters(ok.get(), nullptr), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("detnn_session_save_parameters: path is NULL"), std::string::npos);
  EXPECT_EQ(detnn_session_save_parameters(nullptr, good_path.c_str()), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("session is NULL"), std::string::npos);
  EXPECT_EQ(detnn_session_save_parameters(ok.get(), dir.file("no-dir/x.safetensors").c_str()), DETNN_ERROR_IO);
  EXPECT_NE(std::string(detnn_last_error()).find("no-dir"), std::string::npos) << detnn_last_error();
}

}  // namespace
}  // namespace detnn::capi_test
