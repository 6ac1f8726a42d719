// The C API's sessions: the same bits for identical sessions, any CPU thread count and any
// gradient-accumulation pass size; argument checking; parameters; the C++ wrapper.
#include <cstring>
#include <string>
#include <vector>

#include "detnn/detnn.hpp"
#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

constexpr int64_t kSteps = 4;

TEST(CApiSession, TwoIdenticalSessionsGiveIdenticalWeights) {
  const SessionPtr a = session_for(model_json());
  const SessionPtr b = session_for(model_json());
  ASSERT_TRUE(a && b);
  EXPECT_EQ(state_sha(a.get()), state_sha(b.get()));  // the same initialization
  const std::string sha_a = train(a.get(), 0, kSteps);
  const std::string sha_b = train(b.get(), 0, kSteps);
  EXPECT_EQ(sha_a.size(), 64u);
  EXPECT_EQ(sha_a, sha_b);
  int64_t steps = -1;
  ASSERT_EQ(detnn_session_steps_done(a.get(), &steps), DETNN_OK);
  EXPECT_EQ(steps, kSteps);
  // strict pins no vendor algorithm.
  const char* choices = nullptr;
  ASSERT_EQ(detnn_session_kernel_choices_json(a.get(), &choices), DETNN_OK);
  EXPECT_STREQ(choices, "[]");
  EXPECT_EQ(detnn_session_kernel_choices_json(nullptr, &choices), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(detnn_session_kernel_choices_json(a.get(), nullptr), DETNN_ERROR_INVALID_ARGUMENT);
  const char* graph = nullptr;
  ASSERT_EQ(detnn_session_cuda_graph_status(a.get(), &graph), DETNN_OK);
  EXPECT_STREQ(graph, "off (training.cuda_graph)");
  EXPECT_EQ(detnn_session_cuda_graph_status(nullptr, &graph), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(detnn_session_cuda_graph_status(a.get(), nullptr), DETNN_ERROR_INVALID_ARGUMENT);
}

// training.cuda_graph "auto" on the CPU runs eagerly, says why, and changes no bit.
TEST(CApiSession, CudaGraphOptionOnTheCpuRunsEagerly) {
  const ModelPtr model = make_model(model_json());
  ASSERT_TRUE(model);
  EXPECT_EQ(detnn_model_set_option(model.get(), "training.cuda_graph", "always"), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("training.cuda_graph \"always\""), std::string::npos)
      << detnn_last_error();
  ASSERT_EQ(detnn_model_set_option(model.get(), "training.cuda_graph", "auto"), DETNN_OK);
  const ContextPtr ctx = make_context();
  const SessionPtr with_graph = make_session(ctx.get(), model.get());
  const SessionPtr plain = session_for(model_json());
  ASSERT_TRUE(with_graph && plain);
  const char* graph = nullptr;
  ASSERT_EQ(detnn_session_cuda_graph_status(with_graph.get(), &graph), DETNN_OK);
  EXPECT_STREQ(graph, "off: CUDA Graphs need a CUDA device");
  EXPECT_EQ(train(with_graph.get(), 0, 2), train(plain.get(), 0, 2));
}

TEST(CApiSession, ThreadCountsOneTwoSevenGiveIdenticalBits) {
  std::vector<std::string> shas;
  for (int threads : {1, 2, 7}) {
    const SessionPtr s = session_for(model_json(), threads);
    ASSERT_TRUE(s);
    shas.push_back(train(s.get(), 0, kSteps));
  }
  EXPECT_EQ(shas[0], shas[1]);
  EXPECT_EQ(shas[0], shas[2]);
}

TEST(CApiSession, InterleavedSessionsWithDifferentThreadCountsGiveIdenticalBits) {
  // The CPU pool is process-wide; each call resizes it for its session.
  const SessionPtr a = session_for(model_json(), 1);
  const SessionPtr b = session_for(model_json(), 7);
  ASSERT_TRUE(a && b);
  for (int64_t step = 0; step < 3; ++step) {
    train(a.get(), step, 1);
    train(b.get(), step, 1);
  }
  EXPECT_EQ(state_sha(a.get()), state_sha(b.get()));
}

TEST(CApiSession, ChunksPerPassOneTwoFourGiveIdenticalBits) {
  std::vector<std::string> shas;
  for (int per_pass : {0, 1, 2, 4}) {  // 0: all 8 chunks in one pass
    const SessionPtr s = session_for(model_json(", \"chunks_per_pass\": " + std::to_string(per_pass)));
    ASSERT_TRUE(s);
    shas.push_back(train(s.get(), 0, kSteps));
  }
  for (size_t i = 1; i < shas.size(); ++i) EXPECT_EQ(shas[0], shas[i]) << "pass variant " << i;
}

TEST(CApiSession, TrainingLearnsAndEvaluationMatchesPrediction) {
  const SessionPtr s = session_for(model_json());
  ASSERT_TRUE(s);
  const int64_t n = 100;
  std::vector<float> images(n * SYNTH_SAMPLE);
  std::vector<int32_t> labels(n);
  synth_samples(kDataSeed + 1, 0, n, images.data(), labels.data());  // held-out samples
  detnn_eval_metrics before{};
  ASSERT_EQ(detnn_session_evaluate(s.get(), images.data(), labels.data(), n, &before), DETNN_OK) << detnn_last_error();
  train(s.get(), 0, 20);
  detnn_eval_metrics after{};
  ASSERT_EQ(detnn_session_evaluate(s.get(), images.data(), labels.data(), n, &after), DETNN_OK) << detnn_last_error();
  EXPECT_EQ(after.samples, n);
  EXPECT_LT(after.loss, before.loss);
  EXPECT_GT(after.correct, n / 2);

  std::vector<float> logits(n * SYNTH_CLASSES);
  ASSERT_EQ(detnn_session_predict(s.get(), images.data(), n, logits.data(), n * SYNTH_CLASSES), DETNN_OK);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int best = 0;
    for (int k = 1; k < SYNTH_CLASSES; ++k)
      if (logits[i * SYNTH_CLASSES + k] > logits[i * SYNTH_CLASSES + best]) best = k;
    correct += best == labels[i];
  }
  EXPECT_EQ(correct, after.correct);

  detnn_eval_metrics unlabeled{};
  ASSERT_EQ(detnn_session_evaluate(s.get(), images.data(), nullptr, n, &unlabeled), DETNN_OK);
  EXPECT_EQ(unlabeled.samples, n);
}

TEST(CApiSession, ModelGettersDescribeTheModel) {
  const ModelPtr m = make_model(model_json());
  ASSERT_TRUE(m);
  const char* name = nullptr;
  ASSERT_EQ(detnn_model_name(m.get(), &name), DETNN_OK);
  EXPECT_STREQ(name, "capi-test");
  int64_t c = 0, h = 0, w = 0, classes = 0, params = 0, batch = 0;
  ASSERT_EQ(detnn_model_input_shape(m.get(), &c, &h, &w), DETNN_OK);
  EXPECT_EQ(c * 100 + h * 10 + w, 188);
  ASSERT_EQ(detnn_model_classes(m.get(), &classes), DETNN_OK);
  EXPECT_EQ(classes, 4);
  ASSERT_EQ(detnn_model_parameter_count(m.get(), &params), DETNN_OK);
  EXPECT_EQ(params, 4 * 9 + 4 + 4 + 4 + 64 * 4 + 4);  // conv, batch norm, linear
  ASSERT_EQ(detnn_model_batch_size(m.get(), &batch), DETNN_OK);
  EXPECT_EQ(batch, 64);
  char sha[65];
  ASSERT_EQ(detnn_model_sha256(m.get(), sha), DETNN_OK);
  EXPECT_EQ(std::strlen(sha), 64u);
  const char* config = nullptr;
  ASSERT_EQ(detnn_model_config_json(m.get(), &config), DETNN_OK);
  EXPECT_NE(std::string(config).find("\"chunk_size\": 8"), std::string::npos);
}

TEST(CApiSession, ParametersCanBeListedReadAndWritten) {
  const SessionPtr s = session_for(model_json());
  ASSERT_TRUE(s);
  int64_t count = 0;
  ASSERT_EQ(detnn_session_parameter_tensor_count(s.get(), &count), DETNN_OK);
  ASSERT_GE(count, 4);
  const char* name = nullptr;
  ASSERT_EQ(detnn_session_parameter_name(s.get(), 0, &name), DETNN_OK);
  EXPECT_STREQ(name, "layers.0.weight");
  int64_t size = 0;
  ASSERT_EQ(detnn_session_parameter_size(s.get(), 0, &size), DETNN_OK);
  EXPECT_EQ(size, 36);
  int64_t dims[4];
  int ndims = 0;
  ASSERT_EQ(detnn_session_parameter_shape(s.get(), 0, dims, 4, &ndims), DETNN_OK);
  ASSERT_EQ(ndims, 4);
  EXPECT_EQ(dims[0] * 1000 + dims[1] * 100 + dims[2] * 10 + dims[3], 4133);
  EXPECT_EQ(detnn_session_parameter_shape(s.get(), 0, dims, 2, &ndims), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(detnn_session_parameter_name(s.get(), count, &name), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("out of range"), std::string::npos);

  const std::string before = state_sha(s.get());
  std::vector<float> w(static_cast<size_t>(size));
  ASSERT_EQ(detnn_session_get_parameter(s.get(), "layers.0.weight", w.data(), size), DETNN_OK);
  ASSERT_EQ(detnn_session_set_parameter(s.get(), "layers.0.weight", w.data(), size), DETNN_OK);
  EXPECT_EQ(state_sha(s.get()), before);  // a round trip changes nothing
  w[5] += 1.0f;
  ASSERT_EQ(detnn_session_set_parameter(s.get(), "layers.0.weight", w.data(), size), DETNN_OK);
  EXPECT_NE(state_sha(s.get()), before);
  std::vector<float> back(static_cast<size_t>(size));
  ASSERT_EQ(detnn_session_get_parameter(s.get(), "layers.0.weight", back.data(), size), DETNN_OK);
  EXPECT_EQ(std::memcmp(back.data(), w.data(), w.size() * sizeof(float)), 0);

  EXPECT_EQ(detnn_session_get_parameter(s.get(), "layers.9.weight", w.data(), size), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("layers.9.weight"), std::string::npos);
  EXPECT_EQ(detnn_session_get_parameter(s.get(), "layers.0.weight", w.data(), size - 1),
            DETNN_ERROR_INVALID_ARGUMENT);
}

TEST(CApiSession, NullArgumentsAreRejectedByName) {
  detnn_context* ctx = nullptr;
  EXPECT_EQ(detnn_context_create(nullptr, nullptr, -1, nullptr), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("detnn_context_create: out is NULL"), std::string::npos);
  EXPECT_EQ(detnn_model_load_json(nullptr, nullptr), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("json is NULL"), std::string::npos);
  detnn_session* s = nullptr;
  EXPECT_EQ(detnn_session_create(nullptr, nullptr, &s), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("context is NULL"), std::string::npos);
  EXPECT_EQ(s, nullptr);
  detnn_step_metrics m{};
  EXPECT_EQ(detnn_session_train_step(nullptr, nullptr, nullptr, 0, &m), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("session is NULL"), std::string::npos);
  char sha[65];
  EXPECT_EQ(detnn_session_weights_sha256(nullptr, sha), DETNN_ERROR_INVALID_ARGUMENT);
  int64_t v = 0;
  EXPECT_EQ(detnn_model_classes(nullptr, &v), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("model is NULL"), std::string::npos);
  // Destroying NULL is a no-op.
  detnn_context_destroy(ctx);
  detnn_model_destroy(nullptr);
  detnn_session_destroy(nullptr);

  const SessionPtr session = session_for(model_json());
  ASSERT_TRUE(session);
  std::vector<float> images(64 * SYNTH_SAMPLE);
  std::vector<int32_t> labels(64);
  EXPECT_EQ(detnn_session_train_step(session.get(), images.data(), nullptr, 64, &m), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("labels is NULL"), std::string::npos);
  EXPECT_EQ(detnn_session_train_step(session.get(), images.data(), labels.data(), 64, nullptr),
            DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("out is NULL"), std::string::npos);
}

TEST(CApiSession, BadInputsAreErrorsAndLeaveTheWeights) {
  const SessionPtr s = session_for(model_json());
  ASSERT_TRUE(s);
  const std::string before = state_sha(s.get());
  std::vector<float> images(64 * SYNTH_SAMPLE);
  std::vector<int32_t> labels(64);
  synth_samples(kDataSeed, 0, 64, images.data(), labels.data());
  detnn_step_metrics m{};
  EXPECT_EQ(detnn_session_train_step(s.get(), images.data(), labels.data(), 32, &m), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("batch_size is 64"), std::string::npos) << detnn_last_error();
  labels[7] = 4;
  EXPECT_EQ(detnn_session_train_step(s.get(), images.data(), labels.data(), 64, &m), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("label of sample 7 is 4, outside [0, 4)"), std::string::npos)
      << detnn_last_error();
  EXPECT_EQ(state_sha(s.get()), before);
  std::vector<float> logits(10);
  EXPECT_EQ(detnn_session_predict(s.get(), images.data(), 3, logits.data(), 10), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("logits_count"), std::string::npos);
  EXPECT_EQ(detnn_session_set_schedule(s.get(), 0, 10), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("steps_per_epoch and total_steps must be >= 1, got 0 and 10"),
            std::string::npos)
      << detnn_last_error();
  int64_t steps = -1;
  ASSERT_EQ(detnn_session_steps_done(s.get(), &steps), DETNN_OK);
  EXPECT_EQ(steps, 0);
}

TEST(CApiSession, ContextArgumentsAreValidated) {
  detnn_context* ctx = nullptr;
  EXPECT_EQ(detnn_context_create("tpu", nullptr, 1, &ctx), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("tpu"), std::string::npos);
  EXPECT_EQ(detnn_context_create(nullptr, "sloppy", 1, &ctx), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_last_error()).find("sloppy"), std::string::npos);
  EXPECT_EQ(ctx, nullptr);
  {
    // fast and off pick cuDNN / cuBLASLt algorithms: refused on the CPU, by name.
    detnn_context* raw = nullptr;
    ASSERT_EQ(detnn_context_create("cpu", "fast", -1, &raw), DETNN_OK);
    const ContextPtr fast(raw);
    const ModelPtr m = make_model(model_json());
    detnn_session* s = nullptr;
    EXPECT_EQ(detnn_session_create(fast.get(), m.get(), &s), DETNN_ERROR_UNSUPPORTED);
    EXPECT_NE(std::string(detnn_last_error()).find("determinism \"fast\" on cpu"), std::string::npos)
        << detnn_last_error();
    EXPECT_EQ(s, nullptr);
  }
  ASSERT_EQ(detnn_context_create("cpu", "strict", 2, &ctx), DETNN_OK);
  detnn_context_destroy(ctx);
  int devices = 0;
  ASSERT_EQ(detnn_cuda_device_count(&devices), DETNN_OK);
  if (devices == 0) {  // CUDA requested without a device: an error at session creation
    const ContextPtr cuda = make_context("cuda");
    const ModelPtr m = make_model(model_json());
    detnn_session* s = nullptr;
    EXPECT_NE(detnn_session_create(cuda.get(), m.get(), &s), DETNN_OK);
    EXPECT_EQ(s, nullptr);
    EXPECT_STRNE(detnn_last_error(), "");
  }
}

TEST(CApiSession, CppWrapperOwnsHandlesAndThrowsCApiError) {
  api::Context ctx("cpu", "", 2);
  const api::Model model = api::Model::from_json(model_json());
  EXPECT_EQ(model.name(), "capi-test");
  EXPECT_EQ(model.batch_size(), 64);
  EXPECT_EQ(model.sample_size(), SYNTH_SAMPLE);
  api::Session s(ctx, model);
  const SessionPtr reference = session_for(model_json());
  ASSERT_TRUE(reference);
  std::vector<float> images(64 * SYNTH_SAMPLE);
  std::vector<int32_t> labels(64);
  synth_samples(kDataSeed, 0, 64, images.data(), labels.data());
  const detnn_step_metrics m = s.train_step(images.data(), labels.data(), 64);
  EXPECT_EQ(m.samples, 64);
  EXPECT_EQ(s.state_sha256(), train(reference.get(), 0, 1));
  EXPECT_EQ(s.parameter_names().front(), "layers.0.weight");
  EXPECT_EQ(s.get_parameter("layers.5.bias").size(), 4u);
  try {
    s.train_step(images.data(), labels.data(), 63);
    FAIL() << "expected CApiError";
  } catch (const CApiError& e) {
    EXPECT_EQ(e.status(), DETNN_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("63"), std::string::npos);
  }
  EXPECT_THROW(api::Model::from_json("{"), CApiError);
}

}  // namespace
}  // namespace detnn::capi_test
