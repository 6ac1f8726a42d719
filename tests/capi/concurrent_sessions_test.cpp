// Independent CPU sessions used from several threads at the same time (include/detnn/detnn.h:
// different handles may be used from different threads). The process has one CPU thread pool,
// resized for each session's thread count; the CPU compute lock (runtime/cpu_compute_lock.h)
// serializes their computing calls. Proven: three sessions with thread counts 1, 3 and 2 (two of
// them of the same model), training, evaluating and predicting at once in three threads, end with
// the state digests and logits each gives when run alone.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

constexpr int64_t kSteps = 6, kEval = 40;

struct Result {
  std::string state;
  std::vector<float> logits;
  int64_t eval_correct = -1;
};

// kSteps training steps, each followed by an evaluation and a prediction of kEval samples.
Result work(detnn_session* s) {
  Result r;
  std::vector<float> images(static_cast<size_t>(kEval * SYNTH_SAMPLE));
  std::vector<int32_t> labels(static_cast<size_t>(kEval));
  synth_samples(kDataSeed + 1, 0, kEval, images.data(), labels.data());
  r.logits.resize(static_cast<size_t>(kEval * SYNTH_CLASSES));
  for (int64_t step = 0; step < kSteps; ++step) {
    r.state = train(s, step, 1);
    detnn_eval_metrics m{};
    EXPECT_EQ(detnn_session_evaluate(s, images.data(), labels.data(), kEval, &m), DETNN_OK) << detnn_last_error();
    r.eval_correct = m.correct;
    EXPECT_EQ(detnn_session_predict(s, images.data(), kEval, r.logits.data(), kEval * SYNTH_CLASSES), DETNN_OK)
        << detnn_last_error();
  }
  r.state = state_sha(s);
  return r;
}

// Ends the process with `message` unless destroyed within `limit`.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, const char* message)
      : thread_([this, limit, message] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "FAILURE: %s\n", message);
            std::_Exit(1);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

struct SessionSetup {
  std::string json;
  int threads;
};

TEST(CApiConcurrentSessions, SessionsTrainingAtOnceGiveTheirSoloBits) {
  const std::vector<SessionSetup> setups = {{model_json(), 1},
                                     {model_json("", R"({"type": "adam", "lr": 0.01})", 6), 3},
                                     {model_json(), 2}};
  std::vector<Result> alone;
  for (const SessionSetup& s : setups) {
    const SessionPtr session = session_for(s.json, s.threads);
    ASSERT_TRUE(session);
    alone.push_back(work(session.get()));
  }
  EXPECT_NE(alone[0].state, alone[1].state);  // the sessions really are different
  EXPECT_EQ(alone[0].state, alone[2].state);  // and thread counts change no bit

  for (int round = 0; round < 3; ++round) {
    std::vector<SessionPtr> sessions;
    for (const SessionSetup& s : setups) sessions.push_back(session_for(s.json, s.threads));
    std::vector<Result> together(setups.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < setups.size(); ++i)
      threads.emplace_back([&, i] { together[i] = work(sessions[i].get()); });
    {
      // A broken lock can deadlock the shared thread pool: say so and stop, rather than hang.
      Watchdog watchdog(std::chrono::seconds(120), "the concurrent sessions did not finish in 120 s (deadlock?)");
      for (auto& t : threads) t.join();
    }
    for (size_t i = 0; i < setups.size(); ++i) {
      EXPECT_EQ(together[i].state, alone[i].state) << "round " << round << ", session " << i;
      EXPECT_EQ(together[i].eval_correct, alone[i].eval_correct) << "round " << round << ", session " << i;
      EXPECT_EQ(std::memcmp(together[i].logits.data(), alone[i].logits.data(), together[i].logits.size() * 4), 0)
          << "round " << round << ", session " << i;
    }
  }
}

}  // namespace
}  // namespace detnn::capi_test
