// A sweep file (`trainer sweep --sweep S.yaml`, docs/sweeps.md): the W&B sweep configuration as its
// users write it (YAML or JSON, the same keys), read with yaml-cpp so that every error can name the
// line. Keys W&B has and detnn does not implement are refused by name, never ignored.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trainer::sweep {

// Bad input in a sweep: one line, "<file>:<line>: <key path>: <what>" (main prints it, exit 1).
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Method { grid, random, bayes };
enum class Goal { minimize, maximize };

// One parameter's search space (W&B's names; docs/sweeps.md has the formula of each).
struct Distribution {
  std::string kind;                     // "constant", "categorical", "int_uniform", "uniform", "q_uniform", ...
  nlohmann::json value;                 // constant
  std::vector<nlohmann::json> values;   // categorical
  std::vector<double> probabilities;    // categorical, optional (empty: equal)
  double min = 0, max = 0;              // bounded distributions
  double mu = 0, sigma = 1;             // normal family
  double q = 1;                         // q_* distributions
  double a = 1, b = 1;                  // beta, q_beta
  bool integer_bounds = false;          // min, max (and q) written as integers: q_* and int_uniform give integers
};

struct Parameter {
  std::string path;      // the model-file path it sets: "optimizer.lr", "layers[0].out_channels"
  std::string key_path;  // where it is in the sweep file, for messages: "parameters.optimizer.parameters.lr"
  int line = 0;          // 1-based line of its entry in the sweep file
  Distribution distribution;
};

// W&B's hyperband early termination: the milestone epochs at which a trial is compared with the
// trials before it (docs/sweeps.md, "Hyperband").
struct Hyperband {
  bool enabled = false;
  int64_t min_iter = 0, max_iter = 0, s = 0;
  double eta = 3;
  std::vector<int64_t> bands;  // W&B's bands: a trial is judged after epoch band + 1
};

struct SweepConfig {
  std::string source;  // the file, as given
  Method method = Method::random;
  std::string metric;  // a metrics.jsonl epoch key: val_accuracy, val_loss, train_loss, train_accuracy
  Goal goal = Goal::minimize;
  int64_t run_cap = 0;  // 0: not given
  uint64_t seed = 0;
  int64_t proposal_batch = 4;  // bayes: trials proposed together from the same completed trials
  std::string name, description, project, entity;
  std::vector<Parameter> parameters;
  Hyperband hyperband;

  // Everything above as JSON, defaults written out: sweep.json's "sweep".
  nlohmann::json resolved() const;
};

const char* method_name(Method method);

// Parses the text of a sweep file; `source` names it in errors. Throws SweepError.
SweepConfig parse_sweep_text(const std::string& text, const std::string& source);
SweepConfig parse_sweep_file(const std::string& path);

// Text from a sweep file for a message: control characters as \xNN (a message is one line), cut
// to `max` bytes with "…".
std::string shown_text(const std::string& text, size_t max);

// The metrics a trial's metrics.jsonl writes once per epoch, which a sweep may optimize.
const std::vector<std::string>& epoch_metric_names();

}  // namespace trainer::sweep
