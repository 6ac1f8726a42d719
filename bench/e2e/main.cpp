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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"detnn-bench: training throughput per determinism mode, beside PyTorch"};
  std::string model, modes = "strict,fast,off", json_file;
  detnn::bench::MeasureOptions o;
  bool torch = false, check = false, profile = false;
  app.add_option("--model", model, "Model file (examples/*.json)")->required();
  app.add_option("--modes", modes,
                 "Comma-separated modes: strict, fast, off, and fast-tf32, off-tf32 (TF32 tensor cores allowed)");
  app.add_option("--steps", o.steps, "Timed training steps per mode")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "Untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--device", o.device, "cpu | cuda | cuda:N");
  app.add_option("--threads", o.threads, "CPU threads (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--json", json_file, "Also write the results as JSON to this file");
  std::string graphs = "auto";
  app.add_option("--cuda-graph", graphs,
                 "off | auto | both: run the modes with training.cuda_graph off, auto, or each both ways (the "
                 "rows of one mode must then have the same bits)")
      ->check(CLI::IsMember({"off", "auto", "both"}));
  app.add_flag("--torch", torch, "Also time PyTorch (bench/torch_reference.py) when it is importable");
  app.add_flag("--check", check, "Exit 1 if a reproducible mode gave different bits on a rerun");
  app.add_flag("--profile", profile,
               "Also time each part of an eager step per mode (every top-level layer's forward and backward, the "
               "loss, the combine, the optimizer): where the time goes");
  CLI11_PARSE(app, argc, argv);

  try {
    const detnn::ModelSpec spec = detnn::parse_model_file(model);
    std::vector<detnn::bench::ModeResult> results;
    for (const std::string& m : split(modes)) {
      if (m != "strict" && m != "fast" && m != "off" && m != "fast-tf32" && m != "off-tf32")
        throw std::runtime_error("unknown mode \"" + m + "\" (strict, fast, off, fast-tf32, off-tf32)");
      for (const std::string& g : graphs == "both" ? std::vector<std::string>{"auto", "off"}
                                                     : std::vector<std::string>{graphs}) {
        o.cuda_graph = g;
        results.push_back(detnn::bench::measure_mode(spec, m, o));
      }
    }
    // The ratio's base: `off` as it ran fastest (with or without the graph).
    double off_ms = 0;
    for (const auto& r : results)
      if (r.mode == "off" && r.available && (off_ms == 0 || r.ms_per_step < off_ms)) off_ms = r.ms_per_step;

    std::string torch_note;
    std::vector<detnn::bench::TorchResult> torch_results;
    if (torch)
      torch_results = detnn::bench::run_torch_reference(DETNN_SOURCE_DIR "/bench/torch_reference.py", model, o.device,
                                                        static_cast<int>(o.steps), static_cast<int>(o.warmup), torch_note);

    std::printf("%s, batch %lld, %s, %lld timed steps (median)\n", spec.name.c_str(),
                static_cast<long long>(spec.training.batch_size), o.device.c_str(), static_cast<long long>(o.steps));
    std::printf("%-28s %10s %12s %9s %10s %12s\n", "framework / mode", "ms/step", "images/s", "vs off", "reruns", "peak MiB");
    nlohmann::json out = {{"model", spec.name}, {"batch_size", spec.training.batch_size}, {"device", o.device},
                          {"steps", o.steps}, {"detnn_version", detnn::version_string()}, {"modes", nlohmann::json::array()}};
    bool failed = false;
    std::vector<std::string> graph_lines, choice_lines;
    for (const auto& r : results) {
      const std::string label = "detnn " + r.mode + (graphs == "both" && r.cuda_graph == "off" ? " eager" : "");
      if (!r.available) {
        std::printf("%-28s %s\n", label.c_str(), ("unavailable: " + r.reason).c_str());
        out["modes"].push_back({{"mode", r.mode}, {"cuda_graph", r.cuda_graph}, {"available", false}, {"reason", r.reason}});
        continue;
      }
      // With both ways: the graph and the eager run of a reproducible mode agree bit for bit.
      const bool reproducible = r.mode.rfind("off", 0) != 0;
      bool same_as_eager = true;
      for (const auto& e : results)
        if (graphs == "both" && reproducible && e.mode == r.mode && e.cuda_graph == "off" && r.cuda_graph == "auto" &&
            e.available)
          same_as_eager = e.weights_sha256 == r.weights_sha256;
      graph_lines.push_back(label + ": cuda graph " + r.graph_status + (same_as_eager ? "" : "; BITS DIFFER FROM EAGER"));
      const nlohmann::json choices = nlohmann::json::parse(r.kernel_choices.empty() ? "[]" : r.kernel_choices);
      if (!choices.empty() && r.cuda_graph != "auto")
        choice_lines.push_back(label + ": " + algorithm_counts(choices));
      const double ratio = off_ms > 0 ? off_ms / r.ms_per_step : 0;
      std::printf("%-28s %10.2f %12.0f %9s %10s %12.1f\n", label.c_str(), r.ms_per_step, r.images_per_s,
                  off_ms > 0 ? (std::to_string(ratio).substr(0, 4) + "x").c_str() : "-",
                  r.identical_reruns ? "identical" : "DIFFER", r.peak_bytes / 1048576.0);
      out["modes"].push_back({{"mode", r.mode}, {"available", true}, {"ms_per_step", r.ms_per_step},
                              {"images_per_s", r.images_per_s}, {"throughput_vs_off", ratio > 0 ? nlohmann::json(ratio) : nlohmann::json()},
                              {"identical_reruns", r.identical_reruns}, {"weights_sha256", r.weights_sha256},
                              {"peak_bytes", r.peak_bytes}, {"cuda_graph", r.cuda_graph},
                              {"cuda_graph_status", r.graph_status}, {"bits_equal_eager", same_as_eager},
                              {"kernel_choices", choices}});
      if (check && reproducible && !r.identical_reruns) failed = true;
      if (check && !same_as_eager) failed = true;
      // A graph row that never replayed compared the eager step with itself.
      if (check && graphs != "off" && r.cuda_graph == "auto" && o.device.rfind("cuda", 0) == 0 &&
          r.graph_status.rfind("replaying", 0) != 0)
        failed = true;
    }
    std::vector<std::string> torch_lines;
    for (const auto& t : torch_results) {
      const std::string label = "pytorch " + t.mode;
      if (!t.error.empty()) {
        std::printf("%-28s %s\n", label.c_str(), ("failed: " + t.error).c_str());
        out["pytorch"].push_back({{"mode", t.mode}, {"error", t.error}});
        continue;
      }
      const double ratio = off_ms > 0 ? off_ms / t.ms_per_step : 0;
      std::printf("%-28s %10.2f %12.0f %9s %10s %12s\n", label.c_str(), t.ms_per_step, t.images_per_s,
                  off_ms > 0 ? (std::to_string(ratio).substr(0, 4) + "x").c_str() : "-", "-", "-");
      out["pytorch"].push_back({{"mode", t.mode}, {"ms_per_step", t.ms_per_step}, {"images_per_s", t.images_per_s},
                                {"nondeterministic_ops", t.nondeterministic_ops}});
      if (!t.nondeterministic_ops.empty()) {
        std::string ops;
        for (const auto& op : t.nondeterministic_ops) ops += (ops.empty() ? "" : ", ") + op;
        torch_lines.push_back(label + ": ran without a deterministic implementation: " + ops);
      }
    }
    for (const std::string& line : graph_lines) std::printf("%s\n", line.c_str());
    for (const std::string& line : choice_lines) std::printf("%s\n", line.c_str());
    for (const std::string& line : torch_lines) std::printf("%s\n", line.c_str());
    if (torch && !torch_note.empty()) {
      std::printf("pytorch: %s\n", torch_note.c_str());
      out["pytorch_note"] = torch_note;
    }
    if (profile) {
      std::vector<detnn::bench::PartTimes> parts;
      for (const std::string& m : split(modes)) parts.push_back(detnn::bench::profile_mode(spec, m, o));
      detnn::bench::print_profile(parts, out);
    }
    if (!json_file.empty()) std::ofstream(json_file) << out.dump(2) << "\n";
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "detnn-bench: %s\n", e.what());
    return 1;
  }
}
