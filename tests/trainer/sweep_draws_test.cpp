// What a sweep draws (tools/trainer/sweep/): each distribution's values against its float64
// moments or support, the draws a pure function of (seed, trial), grid order, the bayes proposer
// moving towards a known optimum, hyperband's threshold rule, model-file paths and summaries.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <set>

#include "tools/trainer/sweep/distributions.h"
#include "tools/trainer/sweep/gaussian_process.h"
#include "tools/trainer/sweep/hyperband.h"
#include "tools/trainer/sweep/model_paths.h"
#include "tools/trainer/sweep/proposer.h"
#include "tools/trainer/sweep/summary.h"

namespace trainer::sweep {
namespace {

using nlohmann::json;

Distribution parsed(const std::string& spec) {
  return parse_sweep_text("method: random\nparameters:\n  p: " + spec + "\n", "t.yaml").parameters.at(0).distribution;
}

std::vector<double> many(const Distribution& d, int n, uint64_t seed = 1) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    DrawStream s(seed, static_cast<uint32_t>(i), 0);
    out.push_back(draw(d, s).value.get<double>());
  }
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double stddev(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

constexpr int kDraws = 20000;

TEST(SweepDraws, UniformFamiliesMatchTheirMoments) {
  const std::vector<double> u = many(parsed("{distribution: uniform, min: 2.0, max: 6.0}"), kDraws);
  EXPECT_NEAR(mean(u), 4.0, 0.05);
  EXPECT_NEAR(stddev(u), 4.0 / std::sqrt(12.0), 0.02);
  for (double x : u) ASSERT_TRUE(x >= 2.0 && x <= 6.0) << x;

  // log(X) uniform in [log 1e-4, log 1e-1]: E[log X] is the middle.
  const std::vector<double> lv = many(parsed("{distribution: log_uniform_values, min: 0.0001, max: 0.1}"), kDraws);
  std::vector<double> logs;
  for (double x : lv) {
    ASSERT_TRUE(x >= 0.0001 * 0.9999 && x <= 0.1 * 1.0001) << x;
    logs.push_back(std::log(x));
  }
  EXPECT_NEAR(mean(logs), 0.5 * (std::log(1e-4) + std::log(0.1)), 0.05);

  // inv_log_uniform_values: log(1/X) uniform in [log(1/max), log(1/min)], X still in [min, max].
  const std::vector<double> iv = many(parsed("{distribution: inv_log_uniform_values, min: 0.01, max: 1.0}"), kDraws);
  for (double x : iv) ASSERT_TRUE(x >= 0.01 * 0.9999 && x <= 1.0001) << x;

  // log_uniform: min and max are logarithms.
  const std::vector<double> lu = many(parsed("{distribution: log_uniform, min: 0, max: 2}"), kDraws);
  for (double x : lu) ASSERT_TRUE(x >= 0.9999 && x <= std::exp(2.0) * 1.0001) << x;
}

TEST(SweepDraws, IntegerAndQuantizedValues) {
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    DrawStream s(3, static_cast<uint32_t>(i), 0);
    const json v = draw(parsed("{min: 1, max: 6}"), s).value;
    ASSERT_TRUE(v.is_number_integer());
    seen.insert(v.get<int64_t>());
  }
  EXPECT_EQ(seen, (std::set<int64_t>{1, 2, 3, 4, 5, 6}));  // both ends included
  for (int i = 0; i < 2000; ++i) {
    DrawStream s(3, static_cast<uint32_t>(i), 0);
    const json v = draw(parsed("{distribution: q_log_uniform_values, min: 16, max: 256, q: 8}"), s).value;
    ASSERT_TRUE(v.is_number_integer()) << v;
    ASSERT_EQ(v.get<int64_t>() % 8, 0) << v;
    ASSERT_TRUE(v.get<int64_t>() >= 16 && v.get<int64_t>() <= 256) << v;
  }
  for (int i = 0; i < 500; ++i) {
    DrawStream s(4, static_cast<uint32_t>(i), 0);
    const double v = draw(parsed("{distribution: q_uniform, min: 0.0, max: 1.0, q: 0.25}"), s).value.get<double>();
    ASSERT_DOUBLE_EQ(std::fmod(v, 0.25), 0.0) << v;
  }
}

TEST(SweepDraws, NormalLogNormalAndBetaMoments) {
  const std::vector<double> n = many(parsed("{distribution: normal, mu: 1.5, sigma: 0.5}"), kDraws);
  EXPECT_NEAR(mean(n), 1.5, 0.02);
  EXPECT_NEAR(stddev(n), 0.5, 0.02);
  const std::vector<double> ln = many(parsed("{distribution: log_normal, mu: 0.0, sigma: 0.25}"), kDraws);
  EXPECT_NEAR(mean(ln), std::exp(0.25 * 0.25 / 2), 0.01);  // E = exp(mu + sigma^2 / 2)
  for (double x : ln) ASSERT_GT(x, 0);
  const std::vector<double> b = many(parsed("{distribution: beta, a: 2.0, b: 5.0}"), kDraws);
  EXPECT_NEAR(mean(b), 2.0 / 7.0, 0.01);
  EXPECT_NEAR(stddev(b), std::sqrt(2.0 * 5.0 / (49.0 * 8.0)), 0.01);
  const std::vector<double> small = many(parsed("{distribution: beta, a: 0.5, b: 0.5}"), kDraws);  // shape < 1
  EXPECT_NEAR(mean(small), 0.5, 0.02);
  for (double x : small) ASSERT_TRUE(x >= 0 && x <= 1) << x;
}

TEST(SweepDraws, CategoricalFollowsItsProbabilities) {
  const Distribution d = parsed("{values: [a, b, c], probabilities: [0.2, 0.5, 0.3]}");
  std::map<std::string, int> counts;
  for (int i = 0; i < kDraws; ++i) {
    DrawStream s(5, static_cast<uint32_t>(i), 0);
    counts[draw(d, s).value.get<std::string>()]++;
  }
  EXPECT_NEAR(counts["a"] / double(kDraws), 0.2, 0.015);
  EXPECT_NEAR(counts["b"] / double(kDraws), 0.5, 0.015);
  EXPECT_NEAR(counts["c"] / double(kDraws), 0.3, 0.015);
}

TEST(SweepDraws, APureFunctionOfSeedAndTrial) {
  const SweepConfig c = parse_sweep_text(R"(
method: random
seed: 11
parameters:
  optimizer.lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
  optimizer.momentum: {distribution: beta, a: 2, b: 2}
  training.batch_size: {values: [16, 32, 64]}
)", "r.yaml");
  for (int64_t trial = 0; trial < 5; ++trial) {
    const TrialParameters a = propose(c, trial, {});
    const TrialParameters b = propose(c, trial, {});
    EXPECT_EQ(json(a.values).dump(), json(b.values).dump());
  }
  EXPECT_NE(json(propose(c, 0, {}).values).dump(), json(propose(c, 1, {}).values).dump());
  SweepConfig other = c;
  other.seed = 12;
  EXPECT_NE(json(propose(c, 0, {}).values).dump(), json(propose(other, 0, {}).values).dump());
  // Reals are float32 values, written in their shortest form: the float's shortest text reads
  // back as the very double written.
  const double lr = propose(c, 0, {}).values[0].get<double>();
  char text[48];
  const auto end = std::to_chars(text, text + sizeof text, static_cast<float>(lr)).ptr;
  EXPECT_EQ(std::stod(std::string(text, end)), lr);
}

TEST(SweepDraws, GridWalksTheProductLastParameterFastest) {
  const SweepConfig c = parse_sweep_text(R"(
method: grid
parameters:
  optimizer.lr: {values: [0.1, 0.01]}
  layers[0].out_channels: {min: 4, max: 6}
  training.epochs: {value: 2}
)", "g.yaml");
  ASSERT_EQ(trial_count(c, 10), 6);
  std::vector<std::string> seen;
  for (int64_t t = 0; t < 6; ++t) seen.push_back(json(propose(c, t, {}).values).dump());
  EXPECT_EQ(seen, (std::vector<std::string>{"[0.1,4,2]", "[0.1,5,2]", "[0.1,6,2]", "[0.01,4,2]", "[0.01,5,2]",
                                            "[0.01,6,2]"}));
  SweepConfig capped = c;
  capped.run_cap = 4;
  EXPECT_EQ(trial_count(capped, 10), 4);
  SweepConfig continuous = parse_sweep_text("method: grid\nparameters:\n  optimizer.lr: {min: 0.1, max: 0.2}\n", "c.yaml");
  EXPECT_THROW(trial_count(continuous, 10), SweepError);
}

TEST(SweepDraws, ExpectedImprovementPicksNearTheMinimum) {
  // f(x) = (x - 0.3)^2 seen at six points; among candidates on a fine grid the choice is near 0.3.
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  for (double v : {0.0, 0.2, 0.45, 0.6, 0.8, 1.0}) {
    x.push_back({v});
    y.push_back((v - 0.3) * (v - 0.3));
  }
  std::vector<std::vector<double>> candidates;
  for (int i = 0; i <= 100; ++i) candidates.push_back({i / 100.0});
  const size_t pick = choose_by_expected_improvement(x, y, candidates);
  EXPECT_NEAR(candidates[pick][0], 0.3, 0.1);
}

TEST(SweepDraws, BayesRoundsUseOnlyEarlierRoundsAndAreDeterministic) {
  const SweepConfig c = parse_sweep_text(R"(
method: bayes
metric: {name: val_loss, goal: minimize}
proposal_batch: 2
parameters:
  optimizer.lr: {min: 0.0, max: 1.0}
)", "b.yaml");
  EXPECT_EQ(round_start(c, 5), 4);
  EXPECT_EQ(round_start(c, 4), 4);
  // Fewer than two results: the random proposal.
  EXPECT_EQ(json(propose(c, 1, {}).values).dump(), json(propose(c, 1, {{0, {0.5}, 1.0}}).values).dump());
  std::vector<TrialResult> results;
  for (double v : {0.05, 0.25, 0.5, 0.75, 0.95}) results.push_back({0, {v}, (v - 0.7) * (v - 0.7)});
  const TrialParameters p = propose(c, 6, results);
  EXPECT_EQ(json(p.values).dump(), json(propose(c, 6, results).values).dump());
  EXPECT_NEAR(p.values[0].get<double>(), 0.7, 0.15);
  SweepConfig maximize = c;
  maximize.goal = Goal::maximize;  // the same results maximized: away from 0.7
  EXPECT_GT(std::fabs(propose(maximize, 6, results).values[0].get<double>() - 0.7), 0.15);
}

TEST(SweepHyperband, WandbThresholdRule) {
  // n values sorted, threshold at index floor(n / eta); stop when strictly above it.
  EXPECT_TRUE(hyperband_stops({10, 9}, 11, Goal::minimize, 3));    // [9,10,11][1] = 10 < 11
  EXPECT_FALSE(hyperband_stops({10, 9}, 9.5, Goal::minimize, 3));  // [9,9.5,10][1] = 9.5
  EXPECT_FALSE(hyperband_stops({}, 100, Goal::minimize, 3));       // the first trial always goes on
  EXPECT_TRUE(hyperband_stops({0.9, 0.8}, 0.5, Goal::maximize, 3));
  EXPECT_FALSE(hyperband_stops({0.9, 0.8}, 0.95, Goal::maximize, 3));
  EXPECT_TRUE(hyperband_stops({1.0}, std::nan(""), Goal::minimize, 2));  // NaN is the worst
  EXPECT_TRUE(hyperband_stops({1, 2, 3}, 3.5, Goal::minimize, 2));   // [1,2,3,3.5][2] = 3
  EXPECT_FALSE(hyperband_stops({1, 2, 3}, 2.5, Goal::minimize, 2));  // [1,2,2.5,3][2] = 2.5
}

TEST(SweepHyperband, JudgedEpochsAreBandsPlusOneBeforeTheLast) {
  Hyperband h;
  h.enabled = true;
  h.bands = {1, 2, 4, 8};
  EXPECT_EQ(judged_epochs(h, 5), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(judged_epochs(h, 2), (std::vector<int64_t>{}));
  h.enabled = false;
  EXPECT_TRUE(judged_epochs(h, 10).empty());
}

TEST(SweepModelPaths, SetsValuesAndNamesWhatIsWrong) {
  json m = json::parse(R"({"layers": [{"type": "conv2d", "out_channels": 4}], "optimizer": {"lr": 0.1}})");
  set_model_value(m, "layers[0].out_channels", 8);
  set_model_value(m, "optimizer.lr", 0.5);
  set_model_value(m, "data.augment.horizontal_flip", true);
  EXPECT_EQ(m["layers"][0]["out_channels"], 8);
  EXPECT_EQ(m["optimizer"]["lr"], 0.5);
  EXPECT_EQ(m["data"]["augment"]["horizontal_flip"], true);
  try {
    set_model_value(m, "layers[3].kernel", 3);
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "layers[3].kernel: the model file's \"layers\" has 1 entries, no [3]");
  }
  EXPECT_THROW(set_model_value(m, "optimizer.lr.x", 1), std::invalid_argument);
  EXPECT_THROW(parse_model_path("a..b"), std::invalid_argument);
  EXPECT_THROW(parse_model_path("[0]"), std::invalid_argument);
  EXPECT_THROW(parse_model_path("a."), std::invalid_argument);
  EXPECT_EQ(parse_model_path("layers[2].kernel").size(), 3u);

  json paths = json::parse(R"({"init_weights": "w.safetensors", "data": {"train": {"images": "a/i.gz",
    "labels": "/abs/l.gz"}, "validation": {"files": ["v0.npy", "v1.npy"]}}})");
  make_paths_absolute(paths, "/models/here");
  EXPECT_EQ(paths["init_weights"], "/models/here/w.safetensors");
  EXPECT_EQ(paths["data"]["train"]["images"], "/models/here/a/i.gz");
  EXPECT_EQ(paths["data"]["train"]["labels"], "/abs/l.gz");
  EXPECT_EQ(paths["data"]["validation"]["files"][1], "/models/here/v1.npy");
}

TEST(SweepSummary, LinesCsvAndBest) {
  std::vector<TrialOutcome> ended(3);
  for (int i = 0; i < 3; ++i) {
    ended[i].trial = i;
    ended[i].status = "finished";
    ended[i].epochs = 2;
    ended[i].parameters = {{"optimizer.lr", 0.1 * (i + 1)}, {"name", "a,\"b\""}};
  }
  ended[0].metric = 0.5;
  ended[1].metric = 0.25;
  ended[2].metric = 0.25;  // a tie goes to the lower trial
  EXPECT_EQ(best_trial(ended, Goal::minimize), 1);
  EXPECT_EQ(best_trial(ended, Goal::maximize), 0);
  ended[1].status = "stopped";  // finished trials first
  EXPECT_EQ(best_trial(ended, Goal::minimize), 2);
  const std::string line = summary_line(ended[2], "val_loss").dump();
  const TrialOutcome back = outcome_from_summary_line(line, "s.jsonl:3");
  EXPECT_EQ(summary_line(back, "val_loss").dump(), line);
  EXPECT_THROW(outcome_from_summary_line("{\"trial\": 1}", "s.jsonl:1"), SweepError);
  const std::string csv = summary_csv(ended, {"optimizer.lr", "name"}, "val_loss");
  EXPECT_NE(csv.find("trial,status,epochs,val_loss,weights_sha256,optimizer.lr,name,error\n"), std::string::npos);
  EXPECT_NE(csv.find(",\"a,\"\"b\"\"\","), std::string::npos) << csv;
}

}  // namespace
}  // namespace trainer::sweep
