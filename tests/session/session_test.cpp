// The training session on the CPU: reruns, thread counts and gradient accumulation give the same
// bits (whole-model gradients: finite_difference_test.cpp, torch_whole_model_test.cpp); training
// learns; a non-finite loss is reported with the layer that produced it and changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "runtime/error.h"
#include "session/session.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;
using testing::synthetic_batches;

// Trains `steps` steps over consecutive batches and returns the state's SHA-256.
std::string train_sha(const std::string& model_json, int steps, SessionOptions options = {}) {
  const ModelSpec spec = parse_test_model(model_json);
  Session s(spec, options);
  const int64_t b = spec.training.batch_size;
  const auto data = synthetic_batches(b * steps, 5, 2, 12, 12);
  for (int i = 0; i < steps; ++i) s.train_step(data.images.data() + i * b * s.sample_size(), data.labels.data() + i * b, b);
  return s.state_sha256();
}

TEST(Session, RerunsGiveIdenticalWeights) {
  const std::string a = train_sha(every_layer_model_json(), 3);
  const std::string b = train_sha(every_layer_model_json(), 3);
  EXPECT_EQ(a, b);
  // and the weights did move: a different seed gives different bits
  SessionOptions other;
  other.seed = 8;
  EXPECT_NE(a, train_sha(every_layer_model_json(), 3, other));
}

TEST(Session, ThreadCountDoesNotChangeTheBits) {
  ThreadCountGuard guard;
  std::string first;
  for (int threads : {1, 2, 7}) {
    SessionOptions o;
    o.threads = threads;
    const std::string sha = train_sha(every_layer_model_json(), 2, o);
    if (first.empty()) first = sha;
    EXPECT_EQ(sha, first) << threads << " threads";
  }
}

TEST(Session, GradientAccumulationDoesNotChangeTheBits) {
  // 6 chunks of 4: passes of 1, 2, 3 (not a power of two), 4 (a short last pass) and all.
  std::string first;
  for (int per_pass : {0, 1, 2, 3, 4}) {
    const std::string sha = train_sha(every_layer_model_json(24, 4, per_pass), 2);
    if (first.empty()) first = sha;
    EXPECT_EQ(sha, first) << per_pass << " chunks per pass";
  }
}

TEST(Session, ChunkOfOneSampleAndWholeBatchChunk) {
  // The extreme chunk sizes train (the state moves) and rerun identically: C = 1 normalizes batch
  // norm over one sample's pixels, C = B is the whole batch in one chunk.
  for (int chunk : {1, 16}) {
    const std::string json = every_layer_model_json(16, chunk);
    const std::string trained = train_sha(json, 2);
    EXPECT_NE(trained, Session(parse_test_model(json)).state_sha256()) << "chunk " << chunk << ": nothing trained";
    EXPECT_EQ(trained, train_sha(json, 2)) << "chunk " << chunk;
  }
}

TEST(Session, LearnsASyntheticTask) {
  const std::string json = every_layer_model_json(32, 8, 0, R"({"type": "adam", "lr": 0.01})");
  const ModelSpec spec = parse_test_model(json);
  Session s(spec);
  // One synthetic dataset (its seed fixes the class patterns): 1280 samples to train, 200 held out.
  const auto all = synthetic_batches(32 * 40 + 200, 5, 2, 12, 12, 5);
  const float* held_images = all.images.data() + 32 * 40 * s.sample_size();
  const int32_t* held_labels = all.labels.data() + 32 * 40;
  const double before = s.evaluate(held_images, held_labels, 200).loss;
  for (int epoch = 0; epoch < 2; ++epoch)
    for (int i = 0; i < 40; ++i) s.train_step(all.images.data() + i * 32 * s.sample_size(), all.labels.data() + i * 32, 32);
  const EvalStats after = s.evaluate(held_images, held_labels, 200);
  EXPECT_LT(after.loss, 0.6 * before);
  EXPECT_GT(after.correct, 150) << "accuracy " << after.correct << "/200";
}

TEST(Session, EvaluationDoesNotDependOnItsBatchSize) {
  const auto held = synthetic_batches(50, 5, 2, 12, 12, 6);
  std::vector<float> first;
  for (int eval_batch : {50, 7, 1}) {
    ModelSpec spec = parse_test_model(every_layer_model_json());
    spec.training.eval_batch_size = eval_batch;
    Session s(spec);
    std::vector<float> logits(50 * 5);
    s.predict(held.images.data(), 50, logits.data());
    if (first.empty()) first = logits;
    EXPECT_EQ(test::first_bit_difference(first.data(), logits.data(), logits.size()), -1) << eval_batch;
  }
}

TEST(Session, NonFiniteLossNamesTheLayerAndChangesNothing) {
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  Session s(spec);
  const auto data = synthetic_batches(16, 5, 2, 12, 12);
  // An infinite weight in the second convolution: its output is the first non-finite one.
  std::vector<float> w(8 * 4 * 3 * 3);
  s.read_parameter("layers.3.weight", w.data(), static_cast<int64_t>(w.size()));
  w[5] = INFINITY;
  s.write_parameter("layers.3.weight", w.data(), static_cast<int64_t>(w.size()));
  const std::string before = s.state_sha256();
  try {
    s.train_step(data.images.data(), data.labels.data(), 16);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 0: the loss is not finite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("layers.3 (conv2d)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.state_sha256(), before);
  EXPECT_EQ(s.steps_done(), 0);
}

TEST(Session, BadInputsAreRejected) {
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  Session s(spec);
  auto data = synthetic_batches(16, 5, 2, 12, 12);
  EXPECT_THROW(s.train_step(data.images.data(), data.labels.data(), 8), Error);  // not the batch size
  data.labels[3] = 5;                                                            // 5 classes: 0..4
  test::expect_error([&] { s.train_step(data.images.data(), data.labels.data(), 16); }, ErrorCode::invalid_argument,
                     "label of sample 3 is 5, outside [0, 5)");
  float dummy = 0;
  EXPECT_THROW(s.read_parameter("layers.99.weight", &dummy, 1), Error);
}

TEST(Session, FastAndOffOnTheCpuAndTf32InStrictAreRefusedByName) {
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  for (const char* mode : {"fast", "off"}) {
    SessionOptions o;
    o.set("training.determinism", mode);
    try {
      Session s(spec, o);
      FAIL() << mode << " on the CPU";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unsupported);
      EXPECT_NE(std::string(e.what()).find(std::string("determinism \"") + mode + "\" on cpu"), std::string::npos)
          << e.what();
    }
  }
  SessionOptions tf32;
  tf32.precision = Precision::tf32;
  try {
    Session s(spec, tf32);
    FAIL() << "tf32 in strict";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("training.precision \"tf32\""), std::string::npos) << e.what();
  }
  // strict pins no vendor algorithm.
  Session s(spec);
  EXPECT_TRUE(s.kernel_choices().empty());
  EXPECT_EQ(s.compute_mode().determinism, Determinism::strict);
}

TEST(ModelFile, PrecisionIsFp32OrTf32AndTf32NeedsAVendorMode) {
  auto with_training = [](const std::string& training) {
    return R"({"name": "m", "input": [1, 4, 4], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 2}],
               "optimizer": {"type": "sgd", "lr": 0.1}, "training": )" + training + "}";
  };
  EXPECT_EQ(parse_test_model(with_training(R"({"batch_size": 4})")).training.precision, Precision::fp32);
  EXPECT_EQ(parse_test_model(with_training(R"({"determinism": "fast", "precision": "tf32"})")).training.precision, Precision::tf32);
  for (const auto& [training, expected] :
       std::vector<std::pair<std::string, std::string>>{{R"({"precision": "tf32"})", "training.precision"},
                                                        {R"({"precision": "bf16"})", "training.precision"}}) {
    try {
      parse_test_model(with_training(training));
      FAIL() << training;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

TEST(ModelFile, CudaGraphIsOffOrAuto) {
  const test::ScopedEnvironment unset("DETNN_CUDA_GRAPH", nullptr);  // the caller's value comes back after
  auto with_training = [](const std::string& training) {
    return R"({"name": "m", "input": [1, 4, 4], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 2}],
               "optimizer": {"type": "sgd", "lr": 0.1}, "training": )" + training + "}";
  };
  EXPECT_EQ(parse_test_model(with_training(R"({"batch_size": 4})")).training.cuda_graph, CudaGraphSetting::off);
  EXPECT_EQ(parse_test_model(with_training(R"({"cuda_graph": "auto"})")).training.cuda_graph, CudaGraphSetting::automatic);
  try {
    parse_test_model(with_training(R"({"cuda_graph": true})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training.cuda_graph"), std::string::npos) << e.what();
  }
  // DETNN_CUDA_GRAPH sets the default; a file's own value wins.
  ::setenv("DETNN_CUDA_GRAPH", "auto", 1);
  EXPECT_EQ(parse_test_model(with_training(R"({"batch_size": 4})")).training.cuda_graph, CudaGraphSetting::automatic);
  EXPECT_EQ(parse_test_model(with_training(R"({"cuda_graph": "off"})")).training.cuda_graph, CudaGraphSetting::off);
  ::setenv("DETNN_CUDA_GRAPH", "yes", 1);
  try {
    parse_test_model(with_training(R"({"batch_size": 4})"));
    ADD_FAILURE() << "DETNN_CUDA_GRAPH=yes accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("DETNN_CUDA_GRAPH=\"yes\""), std::string::npos) << e.what();
  }
  ::unsetenv("DETNN_CUDA_GRAPH");
  SessionOptions bad;
  try {
    bad.set("training.cuda_graph", "on");
    Session s(parse_test_model(with_training(R"({"batch_size": 4})")), bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("training.cuda_graph \"on\" is not one of off, auto"), std::string::npos)
        << e.what();
  }
}

// On the CPU "auto" runs every step eagerly (the steps and their bits are those of "off").
TEST(Session, CudaGraphAutoOnTheCpuRunsEagerly) {
  const ModelSpec spec = parse_test_model(every_layer_model_json());
  const auto data = synthetic_batches(32, 5, 2, 12, 12);
  std::vector<std::string> shas;
  for (const char* graph : {"off", "auto"}) {
    SessionOptions o;
    o.set("training.cuda_graph", graph);
    Session s(spec, o);
    EXPECT_EQ(s.cuda_graph_status(), std::string(graph) == "off" ? "off (training.cuda_graph)"
                                                                  : "off: CUDA Graphs need a CUDA device");
    for (int i = 0; i < 2; ++i) s.train_step(data.images.data() + i * 16 * s.sample_size(), data.labels.data() + i * 16, 16);
    shas.push_back(s.state_sha256());
  }
  EXPECT_EQ(shas[0], shas[1]);
}

// The session computes the gradient norm (and clip factor) with its gradient pass and hands it
// to the update (Optimizer::compute_norm, then step with norm_ready): the weights after a clipped
// step and the reported norm must be the bits of the optimizer computing them itself from the
// same gradient.
TEST(Session, ClippedStepUsesTheNormOfItsOwnPass) {
  const ModelSpec spec = parse_test_model(every_layer_model_json(
      16, 4, 0, R"({"type": "sgd", "lr": 0.1, "momentum": 0.9, "clip_grad_norm": 0.01})"));
  const auto data = synthetic_batches(16, 5, 2, 12, 12, 9);
  Session trained(spec, SessionOptions{});
  const StepStats st = trained.train_step(data.images.data(), data.labels.data(), 16);

  Session reference(spec, SessionOptions{});  // the same initial weights (same seed)
  reference.forward_backward(data.images.data(), data.labels.data(), 16);
  const std::vector<float> grads = reference.gradient();
  std::vector<float> params(static_cast<size_t>(reference.param_count()));
  for (const auto& e : reference.parameters()) reference.read_parameter(e.name, params.data() + e.offset, e.size);
  optim::Optimizer opt(spec.optimizer, reference.param_count(), Device::cpu());
  opt.step(params.data(), grads.data(), 0, 1, spec.training.epochs);  // computes the norm itself
  EXPECT_GT(opt.last_grad_norm(), 0.01f);                              // so the step was clipped
  EXPECT_EQ(test::float_bits(st.grad_norm), test::float_bits(opt.last_grad_norm()));
  std::vector<float> got(params.size());
  for (const auto& e : trained.parameters()) trained.read_parameter(e.name, got.data() + e.offset, e.size);
  EXPECT_EQ(test::first_bit_difference(got.data(), params.data(), params.size()), -1);
}

TEST(ModelFile, ExampleModelsParseWithPyTorchParameterCounts) {
  const std::string dir = DETNN_SOURCE_DIR "/examples/";
  // PyTorch's counts: sum(p.numel() for p in model.parameters()) of the same architectures.
  EXPECT_EQ(parse_model_file(dir + "mnist_cnn.json").parameter_count, 421642);
  EXPECT_EQ(parse_model_file(dir + "resnet18_cifar.json").parameter_count, 11173962);
  const ModelSpec cifar = parse_model_file(dir + "cifar_convnet.json");
  // conv 3*32*9; 32*64*9 + 64*64*9; 64*256*9 + 256*256*9; 256*256*9 * 2; BN 2*(32+64*2+256*4); linear 256*10
  EXPECT_EQ(cifar.parameter_count, 864 + 18432 + 36864 + 147456 + 589824 + 589824 + 589824 + 2 * (32 + 128 + 1024) + 2560);
}

}  // namespace
}  // namespace detnn
