// Data-parallel sessions on LocalComm (DESIGN §3): P = 1 … 64 ranks (by recursive halving and by
// the all-to-all), each taking its chunks of the same global batches, end every step with the
// 1-rank bits — weights, batch-norm running
// statistics, optimizer state, loss and correct count — with and without gradient accumulation
// inside a rank. An incompatible B, C, P is refused naming the numbers; a rank whose step fails
// stops every rank with its error.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>

#include "runtime/comm/local_comm.h"
#include "runtime/error.h"
#include "session/gradient_buckets.h"
#include "session/session.h"
#include "support/session_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using testing::every_layer_model_json;
using testing::parse_test_model;
using testing::synthetic_batches;

// Everything a run ends with, for bit comparison.
struct RunResult {
  std::string weights_sha;
  std::vector<NamedTensor> state;  // parameters, buffers, optimizer state
  std::vector<float> losses;
  std::vector<int64_t> correct;
};

// Trains `steps` steps on `ranks` LocalComm ranks (threads); every rank's result must agree, and
// rank 0's is returned.
RunResult train_on_ranks(const std::string& model_json, int ranks, int steps, int64_t bucket_floats = 0,
                         AllReduceAlgorithm algorithm = AllReduceAlgorithm::recursive_halving) {
  const ModelSpec spec = parse_test_model(model_json);
  const int64_t b = spec.training.batch_size;
  const auto data = synthetic_batches(b * steps, 5, 2, 12, 12);
  LocalCommGroup group(ranks, 120.0);
  for (int r = 0; r < ranks; ++r) group.comm(r).set_all_reduce_algorithm(algorithm);
  std::vector<std::unique_ptr<Session>> sessions;
  SessionOptions options;
  options.gradient_bucket_floats = bucket_floats;
  for (int r = 0; r < ranks; ++r)
    sessions.push_back(std::make_unique<Session>(spec, options, ranks > 1 ? &group.comm(r) : nullptr));
  std::vector<RunResult> results(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        Session& s = *sessions[r];
        for (int i = 0; i < steps; ++i) {
          const StepStats st = s.train_step(data.images.data() + i * b * s.sample_size(), data.labels.data() + i * b, b);
          results[r].losses.push_back(st.loss);
          results[r].correct.push_back(st.correct);
        }
        results[r].weights_sha = s.state_sha256();
        results[r].state = s.state_tensors();
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) {
    EXPECT_EQ(errors[r], "") << "rank " << r;
    EXPECT_EQ(results[r].weights_sha, results[0].weights_sha) << "rank " << r;
  }
  return results[0];
}

void expect_same_bits(const RunResult& a, const RunResult& b, const std::string& what) {
  EXPECT_EQ(a.weights_sha, b.weights_sha) << what;
  ASSERT_EQ(a.losses.size(), b.losses.size()) << what;
  for (size_t i = 0; i < a.losses.size(); ++i) {
    EXPECT_EQ(test::float_bits(a.losses[i]), test::float_bits(b.losses[i])) << what << ", loss of step " << i;
    EXPECT_EQ(a.correct[i], b.correct[i]) << what << ", correct of step " << i;
  }
  ASSERT_EQ(a.state.size(), b.state.size()) << what;
  for (size_t i = 0; i < a.state.size(); ++i) {
    ASSERT_EQ(a.state[i].name, b.state[i].name) << what;
    EXPECT_EQ(test::first_bit_difference(a.state[i].values.data(), b.state[i].values.data(), a.state[i].values.size()),
              -1)
        << what << ": " << a.state[i].name;
  }
}

TEST(SessionRanks, OneTwoAndFourRanksGiveTheOneRankBits) {
  // 16 samples in chunks of 4: k = 4, 2 and 1 chunks per rank.
  const std::string model = every_layer_model_json(16, 4);
  const RunResult one = train_on_ranks(model, 1, 3);
  for (int ranks : {2, 4}) expect_same_bits(one, train_on_ranks(model, ranks, 3), std::to_string(ranks) + " ranks");
}

TEST(SessionRanks, OneToSixtyFourRanksGiveTheOneRankBitsByEitherAllReduce) {
  // A batch of P chunks of 2 samples, one chunk per rank, against one rank with the same batch;
  // gradients in buckets of 300 floats, so that a step runs several all-reduces of odd sizes.
  // Every P from 1 to 64 runs in tests/runtime/comm/recursive_halving_test.cpp; here the powers
  // of two, their neighbours and the first nine.
  for (const int ranks : {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64}) {
    const std::string model = every_layer_model_json(2 * ranks, 2);
    const RunResult one = train_on_ranks(model, 1, 2);
    for (const AllReduceAlgorithm a : {AllReduceAlgorithm::recursive_halving, AllReduceAlgorithm::all_to_all})
      expect_same_bits(one, train_on_ranks(model, ranks, 2, 300, a),
                       std::to_string(ranks) + " ranks by " + all_reduce_algorithm_name(a));
  }
}

TEST(SessionRanks, GradientBucketsOfAnySizeGiveTheOneRankBits) {
  // 1 float: a bucket per layer with parameters; 300: several layers a bucket; the default: one.
  const std::string model = every_layer_model_json(16, 4);
  const RunResult one = train_on_ranks(model, 1, 2);
  for (const int64_t floats : {int64_t{1}, int64_t{300}})
    for (int ranks : {2, 4})
      expect_same_bits(one, train_on_ranks(model, ranks, 2, floats),
                       std::to_string(ranks) + " ranks, buckets of " + std::to_string(floats) + " floats");
}

TEST(GradientBuckets, EveryParameterIsInOneBucketInBackwardOrder) {
  const ModelSpec spec = parse_test_model(every_layer_model_json(16, 4));
  layers::Model model(spec.input, spec.layers, spec.training.seed, Device::cpu(), ComputeMode{});
  const auto& entries = model.params();
  for (const int64_t target : {int64_t{1}, int64_t{100}, int64_t{300}, int64_t{1} << 30}) {
    const std::vector<GradientBucket> buckets = plan_gradient_buckets(model.net(), entries, target);
    ASSERT_FALSE(buckets.empty());
    // From the last parameters to the first, contiguous, covering all of them once.
    size_t end = entries.size();
    for (size_t b = 0; b < buckets.size(); ++b) {
      const GradientBucket& k = buckets[b];
      EXPECT_EQ(k.entry_end, end) << "target " << target << ", bucket " << b;
      EXPECT_LT(k.entry_begin, k.entry_end);
      EXPECT_EQ(k.offset, entries[k.entry_begin].offset);
      EXPECT_EQ(k.count, entries[k.entry_end - 1].offset + entries[k.entry_end - 1].size - k.offset);
      if (b + 1 < buckets.size()) EXPECT_GE(k.count, target) << "only the last bucket may be small";
      if (b > 0) EXPECT_LT(k.first_layer, buckets[b - 1].first_layer);
      end = k.entry_begin;
    }
    EXPECT_EQ(end, 0u) << "target " << target;
    if (target == 1) EXPECT_GT(buckets.size(), 3u);
    if (target == int64_t{1} << 30) EXPECT_EQ(buckets.size(), 1u);
  }
}

TEST(SessionRanks, AccumulationInsideARankGivesTheSameBits) {
  // 32 samples in chunks of 4 = 8 chunks: 2 ranks of 4 chunks in passes of 1 and 3 (a short last
  // pass), 4 ranks of 2 chunks in passes of 1; all equal to 1 rank in one pass.
  const RunResult one = train_on_ranks(every_layer_model_json(32, 4, 0), 1, 2);
  for (const auto& [ranks, per_pass] : std::vector<std::pair<int, int>>{{2, 1}, {2, 3}, {4, 1}})
    expect_same_bits(one, train_on_ranks(every_layer_model_json(32, 4, per_pass), ranks, 2),
                     std::to_string(ranks) + " ranks, " + std::to_string(per_pass) + " chunks per pass");
}

TEST(SessionRanks, AnIncompatibleBatchIsRefusedNamingTheNumbers) {
  const ModelSpec spec = parse_test_model(every_layer_model_json(24, 4));  // 6 chunks
  for (const auto& [ranks, expected] : std::vector<std::pair<int, std::string>>{
           {4, "B=24, C=4 gives 6 chunks, which P=4 ranks cannot share equally"},
           {2, "B=24, C=4, P=2 gives k=B/(C*P)=3 chunks per rank; with more than one rank k must be a power of two"}}) {
    LocalCommGroup group(ranks);
    try {
      Session s(spec, {}, &group.comm(0));
      FAIL() << ranks << " ranks accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

TEST(SessionRanks, AFailingRankStopsEveryRankWithItsError) {
  const ModelSpec spec = parse_test_model(every_layer_model_json(16, 4));  // 4 ranks of 1 chunk
  const int64_t b = 16;
  const auto data = synthetic_batches(b, 5, 2, 12, 12);
  LocalCommGroup group(4, 60.0);
  std::vector<std::unique_ptr<Session>> sessions;
  for (int r = 0; r < 4; ++r) sessions.push_back(std::make_unique<Session>(spec, SessionOptions{}, &group.comm(r)));
  const std::string before = sessions[0]->state_sha256();
  // Rank 2's copy of the batch has an infinite pixel in its own chunk (samples 8-11): only rank 2
  // sees a non-finite loss.
  std::vector<float> poisoned = data.images;
  poisoned[9 * sessions[0]->sample_size()] = std::numeric_limits<float>::infinity();
  std::vector<std::string> errors(4);
  std::vector<ErrorCode> codes(4);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r)
    threads.emplace_back([&, r] {
      try {
        sessions[r]->train_step(r == 2 ? poisoned.data() : data.images.data(), data.labels.data(), b);
      } catch (const Error& e) {
        errors[r] = e.what();
        codes[r] = e.code();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  EXPECT_EQ(codes[2], ErrorCode::invalid_argument);
  EXPECT_NE(errors[2].find("the loss is not finite"), std::string::npos) << errors[2];
  EXPECT_NE(errors[2].find("reduction chunk 2"), std::string::npos) << errors[2];  // the global chunk index
  for (int r : {0, 1, 3}) {
    EXPECT_EQ(codes[r], ErrorCode::comm) << r;
    EXPECT_EQ(errors[r], "rank 2 failed: " + errors[2]) << r;
  }
  for (int r = 0; r < 4; ++r) EXPECT_EQ(sessions[r]->state_sha256(), before) << "rank " << r << " updated";
}

}  // namespace
}  // namespace detnn
