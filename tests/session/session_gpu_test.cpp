// The strict session on CUDA gives the CPU's bits: the same weights SHA-256 after N training
// steps of every example model and of the every-layer test model (DESIGN §1: CPU vs GPU).
#include <gtest/gtest.h>

#include "session/session.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

struct Case {
  const char* name;
  std::string json_or_file;
  bool is_file;
  int steps;
  int64_t batch;  // 0: the model file's
};

std::string run(const ModelSpec& spec, const std::string& device, int steps, int64_t batch) {
  SessionOptions o;
  o.device = device;
  ModelSpec s = spec;
  if (batch > 0) s.training.batch_size = batch;
  Session session(s, o);
  const auto data = testing::synthetic_batches(s.training.batch_size * steps, static_cast<int32_t>(session.classes()),
                                               s.input.c, s.input.h, s.input.w, 21);
  for (int i = 0; i < steps; ++i)
    session.train_step(data.images.data() + i * s.training.batch_size * session.sample_size(),
                       data.labels.data() + i * s.training.batch_size, s.training.batch_size);
  return session.state_sha256();
}

TEST(SessionGpu, StrictCudaGivesTheCpuWeights) {
  DETNN_REQUIRE_GPU();
  const std::string dir = DETNN_SOURCE_DIR "/examples/";
  std::vector<Case> cases = {{"every_layer", testing::every_layer_model_json(16, 4, 0), false, 3, 0},
                             {"every_layer_accumulated", testing::every_layer_model_json(24, 4, 2), false, 2, 0},
                             {"mnist_cnn", dir + "mnist_cnn.json", true, 3, 0}};
  if (!test::quick_mode()) {
    cases.push_back({"cifar_convnet", dir + "cifar_convnet.json", true, 1, 0});
    cases.push_back({"resnet18_cifar", dir + "resnet18_cifar.json", true, 1, 0});
  }
  for (const Case& c : cases) {
    const ModelSpec spec =
        c.is_file ? parse_model_file(c.json_or_file) : testing::parse_test_model(c.json_or_file);
    const std::string cpu = run(spec, "cpu", c.steps, c.batch);
    const std::string gpu = run(spec, "cuda", c.steps, c.batch);
    EXPECT_EQ(cpu, gpu) << c.name << " after " << c.steps << " steps";
    std::printf("[ INFO ] %s: %d steps, weights sha256 %s (cpu) %s (cuda)\n", c.name, c.steps, cpu.c_str(), gpu.c_str());
  }
}

}  // namespace
}  // namespace detnn
