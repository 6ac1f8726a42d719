// detnn-bench: what determinism costs, end to end. For one model file it trains N steps in each
// requested mode (strict, fast, off; fast-tf32 and off-tf32 allow TF32 tensor cores) and prints,
// per mode: ms/step, images/s, the ratio to `off`, whether two fresh reruns gave identical bits,
// and peak memory; with --torch, PyTorch's default
// and deterministic modes on the same model and batch size from the same run
// (bench/torch_reference.py). --json writes the same as JSON. --check exits non-zero when an
// available mode that promises reproducibility (strict, fast) gave different bits on a rerun.
// --profile adds, per mode, the device time of each part of an eager step (bench/e2e/profile_table.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "measure.h"
#include "profile_table.h"
#include "runtime/environment.h"
#include "session/model_file.h"
#include "torch_compare.h"

namespace {

// The pinned algorithms of a mode, counted per operation: "conv2d forward: IMPLICIT_GEMM 3,
// FFT 1; linear forward: ..." (which algorithms a mode's time goes to; the JSON has each layer's).
std::string algorithm_counts(const nlohmann::json& choices) {
  std::map<std::string, std::map<std::string, int>> counts;
  std::vector<std::string> ops;  // in the order first seen
  for (const auto& c : choices) {
    const std::string op = c.value("op", "?");
    if (!counts.count(op)) ops.push_back(op);
    ++counts[op][c.value("algorithm", "?")];
  }
  std::string out;
  for (const std::string& op : ops) {
    out += (out.empty() ? "" : "; ") + op + ":";
    for (const auto& [algorithm, n] : counts[op]) out += " " + algorithm + " " + std::to_string(n);
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

struct BenchOptions {
  std::string model, modes = "strict,fast,off", json_file, graphs = "auto";
  detnn::bench::MeasureOptions measure;
  bool torch = false, check = false, profile = false;
};

// What the report collects beside the table: one line per mode on its CUDA Graph and its pinned
// algorithms, one per PyTorch mode that ran a nondeterministic op; whether --check failed.
struct Report {
  nlohmann::json out;
  std::vector<std::string> graph_lines, choice_lines, torch_lines;
  bool failed = false;
};

// Every requested mode, with the graph setting(s) asked for.
std::vector<detnn::bench::ModeResult> measure_modes(const detnn::ModelSpec& spec, BenchOptions& o) {
  std::vector<detnn::bench::ModeResult> results;
  for (const std::string& m : split(o.modes)) {
    if (m != "strict" && m != "fast" && m != "off" && m != "fast-tf32" && m != "off-tf32")
      throw std::runtime_error("unknown mode \"" + m + "\" (strict, fast, off, fast-tf32, off-tf32)");
    for (const std::string& g : o.graphs == "both" ? std::vector<std::string>{"auto", "off"}
                                                     : std::vector<std::string>{o.graphs}) {
      o.measure.cuda_graph = g;
      results.push_back(detnn::bench::measure_mode(spec, m, o.measure));
    }
  }
  return results;
}

// The ratio's base: `off` as it ran fastest (with or without the graph); 0 when it did not run.
double fastest_off_ms(const std::vector<detnn::bench::ModeResult>& results) {
  double off_ms = 0;
  for (const auto& r : results)
    if (r.mode == "off" && r.available && (off_ms == 0 || r.ms_per_step < off_ms)) off_ms = r.ms_per_step;
  return off_ms;
}

std::string ratio_text(double off_ms, double ms) {
  return off_ms > 0 ? std::to_string(off_ms / ms).substr(0, 4) + "x" : "-";
}

// With both ways: the graph row of a reproducible mode must have its eager row's bits.
bool same_bits_as_eager(const detnn::bench::ModeResult& r, const std::vector<detnn::bench::ModeResult>& results,
                        const std::string& graphs) {
  bool same = true;
  for (const auto& e : results)
    if (graphs == "both" && r.mode.rfind("off", 0) != 0 && e.mode == r.mode && e.cuda_graph == "off" &&
        r.cuda_graph == "auto" && e.available)
      same = e.weights_sha256 == r.weights_sha256;
  return same;
}

void report_mode(const detnn::bench::ModeResult& r, const std::vector<detnn::bench::ModeResult>& results,
                 double off_ms, const BenchOptions& o, Report& report) {
  const std::string label = "detnn " + r.mode + (o.graphs == "both" && r.cuda_graph == "off" ? " eager" : "");
  if (!r.available) {
    std::printf("%-28s %s\n", label.c_str(), ("unavailable: " + r.reason).c_str());
    report.out["modes"].push_back(
        {{"mode", r.mode}, {"cuda_graph", r.cuda_graph}, {"available", false}, {"reason", r.reason}});
    return;
  }
  const bool reproducible = r.mode.rfind("off", 0) != 0;
  const bool same_as_eager = same_bits_as_eager(r, results, o.graphs);
  report.graph_lines.push_back(label + ": cuda graph " + r.graph_status +
                               (same_as_eager ? "" : "; BITS DIFFER FROM EAGER"));
  const nlohmann::json choices = nlohmann::json::parse(r.kernel_choices.empty() ? "[]" : r.kernel_choices);
  if (!choices.empty() && r.cuda_graph != "auto") report.choice_lines.push_back(label + ": " + algorithm_counts(choices));
  const double ratio = off_ms > 0 ? off_ms / r.ms_per_step : 0;
  std::printf("%-28s %10.2f %12.0f %9s %10s %12.1f\n", label.c_str(), r.ms_per_step, r.images_per_s,
              ratio_text(off_ms, r.ms_per_step).c_str(), r.identical_reruns ? "identical" : "DIFFER",
              r.peak_bytes / 1048576.0);
  report.out["modes"].push_back(
      {{"mode", r.mode}, {"available", true}, {"ms_per_step", r.ms_per_step}, {"images_per_s", r.images_per_s},
       {"throughput_vs_off", ratio > 0 ? nlohmann::json(ratio) : nlohmann::json()},
       {"identical_reruns", r.identical_reruns}, {"weights_sha256", r.weights_sha256}, {"peak_bytes", r.peak_bytes},
       {"cuda_graph", r.cuda_graph}, {"cuda_graph_status", r.graph_status}, {"bits_equal_eager", same_as_eager},
       {"kernel_choices", choices}});
  if (o.check && reproducible && !r.identical_reruns) report.failed = true;
  if (o.check && !same_as_eager) report.failed = true;
  // A graph row that never replayed compared the eager step with itself.
  if (o.check && o.graphs != "off" && r.cuda_graph == "auto" && o.measure.device.rfind("cuda", 0) == 0 &&
      r.graph_status.rfind("replaying", 0) != 0)
    report.failed = true;
}

void report_torch(const std::vector<detnn::bench::TorchResult>& torch_results, double off_ms, Report& report) {
  for (const auto& t : torch_results) {
    const std::string label = "pytorch " + t.mode;
    if (!t.error.empty()) {
      std::printf("%-28s %s\n", label.c_str(), ("failed: " + t.error).c_str());
      report.out["pytorch"].push_back({{"mode", t.mode}, {"error", t.error}});
      continue;
    }
    std::printf("%-28s %10.2f %12.0f %9s %10s %12s\n", label.c_str(), t.ms_per_step, t.images_per_s,
                ratio_text(off_ms, t.ms_per_step).c_str(), "-", "-");
    report.out["pytorch"].push_back({{"mode", t.mode}, {"ms_per_step", t.ms_per_step}, {"images_per_s", t.images_per_s},
                                     {"nondeterministic_ops", t.nondeterministic_ops}});
    if (!t.nondeterministic_ops.empty()) {
      std::string ops;
      for (const auto& op : t.nondeterministic_ops) ops += (ops.empty() ? "" : ", ") + op;
      report.torch_lines.push_back(label + ": ran without a deterministic implementation: " + ops);
    }
  }
}

int run(BenchOptions& o) {
  const detnn::ModelSpec spec = detnn::parse_model_file(o.model);
  const std::vector<detnn::bench::ModeResult> results = measure_modes(spec, o);
  const double off_ms = fastest_off_ms(results);
  std::string torch_note;
  std::vector<detnn::bench::TorchResult> torch_results;
  if (o.torch)
    torch_results = detnn::bench::run_torch_reference(DETNN_SOURCE_DIR "/bench/torch_reference.py", o.model,
                                                      o.measure.device, static_cast<int>(o.measure.steps),
                                                      static_cast<int>(o.measure.warmup), torch_note);

  std::printf("%s, batch %lld, %s, %lld timed steps (median)\n", spec.name.c_str(),
              static_cast<long long>(spec.training.batch_size), o.measure.device.c_str(),
              static_cast<long long>(o.measure.steps));
  std::printf("%-28s %10s %12s %9s %10s %12s\n", "framework / mode", "ms/step", "images/s", "vs off", "reruns",
              "peak MiB");
  Report report;
  report.out = {{"model", spec.name},   {"batch_size", spec.training.batch_size},
                {"device", o.measure.device}, {"steps", o.measure.steps},
                {"detnn_version", detnn::version_string()}, {"modes", nlohmann::json::array()}};
  for (const auto& r : results) report_mode(r, results, off_ms, o, report);
  report_torch(torch_results, off_ms, report);
  for (const std::string& line : report.graph_lines) std::printf("%s\n", line.c_str());
  for (const std::string& line : report.choice_lines) std::printf("%s\n", line.c_str());
  for (const std::string& line : report.torch_lines) std::printf("%s\n", line.c_str());
  if (o.torch && !torch_note.empty()) {
    std::printf("pytorch: %s\n", torch_note.c_str());
    report.out["pytorch_note"] = torch_note;
  }
  if (o.profile) {
    std::vector<detnn::bench::PartTimes> parts;
    for (const std::string& m : split(o.modes)) parts.push_back(detnn::bench::profile_mode(spec, m, o.measure));
    detnn::bench::print_profile(parts, report.out);
  }
  if (!o.json_file.empty()) std::ofstream(o.json_file) << report.out.dump(2) << "\n";
  return report.failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"detnn-bench: training throughput per determinism mode, beside PyTorch"};
  BenchOptions o;
  app.add_option("--model", o.model, "Model file (examples/*.json)")->required();
  app.add_option("--modes", o.modes,
                 "Comma-separated modes: strict, fast, off, and fast-tf32, off-tf32 (TF32 tensor cores allowed)");
  app.add_option("--steps", o.measure.steps, "Timed training steps per mode")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.measure.warmup, "Untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--device", o.measure.device, "cpu | cuda | cuda:N");
  app.add_option("--threads", o.measure.threads, "CPU threads (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--json", o.json_file, "Also write the results as JSON to this file");
  app.add_option("--cuda-graph", o.graphs,
                 "off | auto | both: run the modes with training.cuda_graph off, auto, or each both ways (the "
                 "rows of one mode must then have the same bits)")
      ->check(CLI::IsMember({"off", "auto", "both"}));
  app.add_flag("--torch", o.torch, "Also time PyTorch (bench/torch_reference.py) when it is importable");
  app.add_flag("--check", o.check, "Exit 1 if a reproducible mode gave different bits on a rerun");
  app.add_flag("--profile", o.profile,
               "Also time each part of an eager step per mode (every top-level layer's forward and backward, the "
               "loss, the combine, the optimizer): where the time goes");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "detnn-bench: %s\n", e.what());
    return 1;
  }
}
