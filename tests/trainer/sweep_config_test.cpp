// The sweep file (tools/trainer/sweep/sweep_config.h): W&B's documented configurations parse with
// model-file parameter names and W&B's defaults; every bad input is refused with one line naming
// the file, the line and the key path.
#include <gtest/gtest.h>

#include "tools/trainer/sweep/sweep_config.h"

namespace trainer::sweep {
namespace {

// W&B's documentation examples (docs.wandb.ai, "Define sweep configuration"), written as their
// users write them, with model-file paths for the parameter names and no `program` key.
constexpr const char* kWandbGrid = R"(
method: grid
metric:
  goal: minimize
  name: val_loss
parameters:
  training.batch_size:
    values: [16, 32, 64]
  training.epochs:
    value: 2
  optimizer.lr:
    values: [0.001, 0.01]
)";

constexpr const char* kWandbRandom = R"(
name: random-example
description: W&B's random example
method: random
metric:
  goal: minimize
  name: val_loss
parameters:
  training.batch_size:
    distribution: q_log_uniform_values
    max: 256
    min: 16
    q: 8
  optimizer.lr:
    distribution: uniform
    max: 0.1
    min: 0
  optimizer.momentum:
    values: [0.0, 0.9]
early_terminate:
  type: hyperband
  min_iter: 3
)";

constexpr const char* kWandbBayes = R"(
method: bayes
metric:
  goal: maximize
  name: val_accuracy
parameters:
  optimizer:
    parameters:
      lr:
        min: 0.0001
        max: 0.1
      momentum:
        distribution: normal
        mu: 0.8
        sigma: 0.05
  training.epochs:
    min: 2
    max: 5
early_terminate:
  type: hyperband
  max_iter: 27
  s: 2
)";

TEST(SweepConfig, WandbGridExample) {
  const SweepConfig c = parse_sweep_text(kWandbGrid, "grid.yaml");
  EXPECT_EQ(c.method, Method::grid);
  EXPECT_EQ(c.metric, "val_loss");
  EXPECT_EQ(c.goal, Goal::minimize);
  ASSERT_EQ(c.parameters.size(), 3u);
  EXPECT_EQ(c.parameters[0].path, "training.batch_size");
  EXPECT_EQ(c.parameters[0].distribution.kind, "categorical");
  EXPECT_EQ(c.parameters[0].distribution.values.size(), 3u);
  EXPECT_EQ(c.parameters[1].distribution.kind, "constant");
  EXPECT_EQ(c.parameters[1].distribution.value, 2);
  EXPECT_EQ(c.parameters[2].line, 11);  // the line of its name
  EXPECT_FALSE(c.hyperband.enabled);
}

TEST(SweepConfig, WandbRandomExampleWithHyperbandMinIter) {
  const SweepConfig c = parse_sweep_text(kWandbRandom, "random.yaml");
  EXPECT_EQ(c.method, Method::random);
  EXPECT_EQ(c.name, "random-example");
  EXPECT_EQ(c.parameters[0].distribution.kind, "q_log_uniform_values");
  EXPECT_EQ(c.parameters[0].distribution.q, 8);
  EXPECT_TRUE(c.parameters[0].distribution.integer_bounds);
  EXPECT_EQ(c.parameters[1].distribution.kind, "uniform");
  EXPECT_FALSE(c.parameters[1].distribution.integer_bounds);
  ASSERT_TRUE(c.hyperband.enabled);
  EXPECT_EQ(c.hyperband.eta, 3);  // W&B's default
  // W&B's bands for min_iter 3, eta 3: 3, 9, 27, ...
  ASSERT_GE(c.hyperband.bands.size(), 3u);
  EXPECT_EQ(c.hyperband.bands[0], 3);
  EXPECT_EQ(c.hyperband.bands[1], 9);
  EXPECT_EQ(c.hyperband.bands[2], 27);
}

TEST(SweepConfig, WandbBayesExampleNestedParametersAndMaxIter) {
  const SweepConfig c = parse_sweep_text(kWandbBayes, "bayes.yaml");
  EXPECT_EQ(c.method, Method::bayes);
  EXPECT_EQ(c.goal, Goal::maximize);
  ASSERT_EQ(c.parameters.size(), 3u);
  EXPECT_EQ(c.parameters[0].path, "optimizer.lr");
  EXPECT_EQ(c.parameters[0].key_path, "parameters.optimizer.parameters.lr");
  EXPECT_EQ(c.parameters[0].distribution.kind, "uniform");  // real bounds
  EXPECT_EQ(c.parameters[1].path, "optimizer.momentum");
  EXPECT_EQ(c.parameters[1].distribution.kind, "normal");
  EXPECT_EQ(c.parameters[1].distribution.mu, 0.8);
  EXPECT_EQ(c.parameters[2].distribution.kind, "int_uniform");  // integer bounds
  // W&B: max_iter 27, eta 3, s 2 -> bands 27/3 = 9 and 9/3 = 3, sorted.
  EXPECT_EQ(c.hyperband.bands, (std::vector<int64_t>{3, 9}));
  EXPECT_EQ(c.proposal_batch, 4);
}

TEST(SweepConfig, JsonIsReadToo) {
  const SweepConfig c = parse_sweep_text(
      R"({"method": "random", "seed": 9, "run_cap": 3, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1}}})",
      "s.json");
  EXPECT_EQ(c.seed, 9u);
  EXPECT_EQ(c.run_cap, 3);
  EXPECT_DOUBLE_EQ(c.parameters[0].distribution.min, 1e-4);
}

void expect_refused(const std::string& text, const std::string& expected_start) {
  try {
    parse_sweep_text(text, "bad.yaml");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const SweepError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(expected_start, 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(SweepConfig, ShownTextEscapesAndCuts) {
  EXPECT_EQ(shown_text("a\nb", 40), "a\\x0ab");
  EXPECT_EQ(shown_text(std::string(50, 'x'), 10), std::string(10, 'x') + "…");
  EXPECT_EQ(shown_text("short", 10), "short");
}

TEST(SweepConfig, BadInputNamesFileLineAndKey) {
  expect_refused("method: grid\nparameters:\n  a: {values: [1, 2]\n", "bad.yaml:4: YAML syntax error");
  expect_refused("method: annealing\nparameters: {a: {value: 1}}\n", "bad.yaml:1: method: \"annealing\" is not one of");
  expect_refused("method: grid\nparameters:\n  optimizer.lr:\n    values: []\n",
                 "bad.yaml:4: parameters.optimizer.lr.values: is empty");
  expect_refused("method: random\nparameters:\n  optimizer.lr:\n    min: 0.5\n    max: 0.1\n",
                 "bad.yaml:4: parameters.optimizer.lr.min: min 0.5 is greater than max 0.1");
  expect_refused("method: random\nparameters:\n  optimizer.lr:\n    min: low\n    max: 0.1\n",
                 "bad.yaml:4: parameters.optimizer.lr.min: expected a number, got \"low\"");
  expect_refused("program: train.py\nmethod: grid\nparameters: {a: {value: 1}}\n",
                 "bad.yaml:1: program: detnn runs no script");
  expect_refused("method: grid\nmetric: {name: accuracy}\nparameters: {a: {value: 1}}\n",
                 "bad.yaml:2: metric.name: \"accuracy\" is not one of val_accuracy");
  expect_refused("method: grid\nmetric: {name: val_loss, target: 0.1}\nparameters: {a: {value: 1}}\n",
                 "bad.yaml:2: metric.target: stopping the sweep at a target value is not implemented");
  expect_refused("method: random\nparameters:\n  optimizer.lr:\n    distribution: cauchy\n    min: 0\n    max: 1\n",
                 "bad.yaml:4: parameters.optimizer.lr.distribution: \"cauchy\" is no distribution");
  expect_refused("method: random\nparameters:\n  optimizer.lr:\n    distribution: uniform\n    min: 0\n    max: 1\n    q: 2\n",
                 "bad.yaml:7: parameters.optimizer.lr.q: not a key of distribution uniform");
  expect_refused("method: random\nparameters:\n  a: {value: 1}\n  a: {value: 2}\n", "bad.yaml:4: parameters.a: given twice");
  expect_refused("method: random\nparameters:\n  layers[x].kernel: {value: 3}\n",
                 "bad.yaml:3: parameters.layers[x].kernel: \"layers[x].kernel\" is no model-file path");
  expect_refused("method: bayes\nparameters: {a: {min: 0, max: 1}}\n", "bad.yaml: metric: bayes needs the metric");
  expect_refused("method: random\nmetric: {name: val_loss}\nparameters: {a: {value: 1}}\nearly_terminate: {type: hyperband, max_iter: 9}\n",
                 "bad.yaml:4: early_terminate: max_iter needs s >= 1");
  expect_refused("method: random\nparameters: {a: {distribution: log_uniform_values, min: 0, max: 1}}\n",
                 "bad.yaml:2: parameters.a.min: log_uniform_values needs min > 0");
  expect_refused("method: random\nparameters: {a: {values: [1, 2], probabilities: [0.5, 0.6]}}\n",
                 "bad.yaml:2: parameters.a.probabilities: sum to 1.1");
  expect_refused("method: random\nrun_cap: 0\nparameters: {a: {value: 1}}\n", "bad.yaml:2: run_cap: expected an integer from 1");
  expect_refused("method: random\nparameters: {a: {distribution: normal, sigma: -1}}\n", "bad.yaml:2: parameters.a.sigma: must be positive");
  expect_refused("- just\n- a list\n", "bad.yaml: expected a mapping");
  expect_refused("method: grid\nparameters:\n  a: {values: [\x98\xa5]}\n", "bad.yaml:3: byte offset 40: not UTF-8 text");
  expect_refused("method: grid\nname: \xc0\xaf\n", "bad.yaml:2: byte offset 19: not UTF-8 text");  // overlong
  expect_refused("method: \"gr\\x0aid\"\nparameters: {a: {value: 1}}\n",
                 "bad.yaml:1: method: \"gr\\x0aid\" is not one of");  // a newline in a value is escaped
}

TEST(SweepConfig, AliasesThatExpandAreRefused) {
  std::string text = "method: grid\nparameters:\n  optimizer.lr:\n    values:\n      - &l0 [1,1,1,1,1,1,1,1,1,1]\n";
  for (int i = 1; i < 10; ++i) {
    text += "      - &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ",*l" : "*l") + std::to_string(i - 1);
    text += "]\n";
  }
  try {
    parse_sweep_text(text, "laughs.yaml");
    ADD_FAILURE();
  } catch (const SweepError& e) {
    EXPECT_NE(std::string(e.what()).find("expands to more than 1000000 values"), std::string::npos) << e.what();
  }
}

// An alias inside the node it names is a cycle (found by fuzz/sweep_fuzzer): refused by depth,
// in plain values and in nested parameters, instead of recursing until the stack overflows.
TEST(SweepConfig, AnAliasInsideItselfIsRefused) {
  for (const char* text : {"method:\n a: &x\n  f: *x\n",
                           "method: grid\nparameters: &p\n  optimizer:\n    parameters: *p\n"}) {
    try {
      parse_sweep_text(text, "cycle.yaml");
      ADD_FAILURE() << text;
    } catch (const SweepError& e) {
      EXPECT_NE(std::string(e.what()).find("nested more than 64 levels deep (an alias inside itself?)"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("cycle.yaml:"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace trainer::sweep
