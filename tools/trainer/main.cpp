// trainer: the command-line tool, built on the public C API only (include/detnn/detnn.h, through
// its C++ layer detnn.hpp).
//   trainer --model FILE [options]        train (docs/trainer.md)
//   trainer eval --model FILE --checkpoint FILE
//   trainer sweep --model FILE --sweep S.yaml   a hyper-parameter sweep (docs/sweeps.md)
//   trainer report DIR... [-o FILE]       an HTML report of runs and sweeps (docs/report.md)
//   trainer export --model M --checkpoint C --onnx OUT.onnx   ONNX export (docs/interop.md)
//   trainer info                          the environment fingerprint
// Exit status 0 on success; otherwise 1 with a one-line reason on stderr (bad flags included).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli_checks.h"
#include "commands.h"
#include "errors.h"

namespace {

int run_info() {
  std::printf("%s\n", detnn::api::environment_json().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trainer: bitwise-reproducible training with detnn.\n"
               "Same model file, data and seed -> the same weights, bit for bit."};
  app.set_version_flag("--version", "detnn " + detnn::api::version());

  trainer::TrainOptions train;
  for (int i = 0; i < argc; ++i) train.command_line.emplace_back(argv[i]);
  app.add_option("--model", train.model, "Model file (JSON, docs/model-format.md) to train");
  app.add_option("--run-dir", train.run_dir, "Run directory to create (default: runs/<model name>-<UTC time>)");
  // The training.* values stay text (training_flags.h): the library checks them as integers.
  app.add_option("--epochs", train.training.epochs, "Epochs (overrides training.epochs)")
      ->type_name("INT")
      ->check(trainer::kNonNegative);
  app.add_option("--seed", train.training.seed, "Seed (overrides training.seed)")
      ->type_name("INT")
      ->check(trainer::kNonNegative);
  app.add_option("--determinism", train.training.determinism, "strict | fast | off (overrides training.determinism)")
      ->check(CLI::IsMember({"strict", "fast", "off"}));
  app.add_option("--precision", train.training.precision,
                 "fp32 | tf32: TF32 tensor cores for fast and off (overrides training.precision)")
      ->check(CLI::IsMember({"fp32", "tf32"}));
  app.add_option("--cuda-graph", train.training.cuda_graph,
                 "off | auto: replay the step's gradient pass from a CUDA Graph on one GPU (overrides "
                 "training.cuda_graph; never changes a bit)")
      ->check(CLI::IsMember({"off", "auto"}));
  app.add_option("--device", train.training.device, "cpu | cuda | cuda:N (overrides training.device)");
  app.add_option("--threads", train.training.threads, "CPU threads, 0 = all (never changes results)")
      ->type_name("INT")
      ->check(trainer::kNonNegative);
  app.add_option("--resume", train.resume, "Continue the run in this directory from its last checkpoint");
  app.add_option("--save-init", train.save_init, "Also write the initial weights to this safetensors file");
  app.add_option("--checkpoint-every", train.checkpoint_every,
                 "Also checkpoint every N steps inside an epoch (default: at epoch ends only)")
      ->check(trainer::kNonNegative);
  app.add_option("--pause-after-epoch", train.pause_after_epoch,
                 "Stop after this epoch's checkpoint, status \"paused\"; --resume continues with the bits of an "
                 "uninterrupted run")
      ->check(trainer::kPositive);
  app.add_option("--tensorboard", train.tensorboard, "on | off: TensorBoard event files in RUN_DIR/tensorboard (default on)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_flag("--force", train.force, "Resume even if the model file or the data changed");
  app.add_option("--ranks", train.ranks,
                 "Data-parallel ranks as threads of this process (same bits as 1; B / (C * N) must be a "
                 "power of two)")
      ->check(trainer::kPositive);
  app.add_option("--gpus", train.gpus,
                 "One data-parallel rank per GPU (NCCL): all, a count N (GPUs 0..N-1) or a list like 0,2,5 "
                 "(same bits as 1 rank)");
  app.add_option("--comm-timeout", train.comm_timeout,
                 "Seconds a rank waits for the others before the run fails (default 300, at most 1e6)")
      ->check(trainer::kPositive);

  trainer::EvalOptions eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "Evaluate a checkpoint on the model file's validation data");
  eval_cmd->add_option("--model", eval.model, "Model file")->required();
  eval_cmd->add_option("--checkpoint", eval.checkpoint, "Checkpoint (safetensors) written by trainer")->required();
  eval_cmd->add_option("--device", eval.training.device, "cpu | cuda | cuda:N");
  eval_cmd->add_option("--determinism", eval.training.determinism, "strict | fast | off (default: the model file's)")
      ->check(CLI::IsMember({"strict", "fast", "off"}));
  eval_cmd->add_option("--precision", eval.training.precision, "fp32 | tf32 (fast and off)")
      ->check(CLI::IsMember({"fp32", "tf32"}));
  eval_cmd->add_option("--threads", eval.training.threads, "CPU threads, 0 = all")
      ->type_name("INT")
      ->check(trainer::kNonNegative);
  trainer::VerifyOptions verify;
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "Re-execute a recorded run in a scratch folder and compare every step's weights digest and loss "
                "(exit 0: reproduced, 2: diverged)");
  verify_cmd->add_option("run", verify.run, "The run directory")->required();
  auto* verify_steps = verify_cmd->add_option("--steps", verify.steps, "Verify up to this step")
                           ->check(trainer::kPositive);
  verify_cmd->add_option("--epochs", verify.epochs, "Verify the first N epochs")->excludes(verify_steps);
  verify_cmd->add_option("--from", verify.from, "Start from this checkpoint of the run instead of the beginning");
  verify_cmd->add_option("--device", verify.training.device, "cpu | cuda | cuda:N (default: the run's)");
  verify_cmd->add_option("--threads", verify.training.threads, "CPU threads, 0 = all (never changes results)")
      ->type_name("INT")
      ->check(trainer::kNonNegative);
  verify_cmd->add_option("--ranks", verify.ranks, "Data-parallel ranks as threads (same bits as 1)")
      ->check(trainer::kPositive);
  verify_cmd->add_option("--scratch", verify.scratch, "Where to re-execute (default: a fresh folder under the temp dir)");

  trainer::DiffOptions diff;
  CLI::App* diff_cmd = app.add_subcommand(
      "diff", "Compare two runs of one model: configs, environments, the first differing step, checkpoint tensors "
              "(exit 0: identical, 2: different)");
  diff_cmd->add_option("a", diff.a, "The first run directory")->required();
  diff_cmd->add_option("b", diff.b, "The second run directory")->required();
  diff_cmd->add_flag("--json", diff.json, "Print JSON instead of text");

  trainer::BisectOptions bisect;
  CLI::App* bisect_cmd = app.add_subcommand(
      "bisect", "One training step of one batch under two settings, traced: the first layer whose forward output, "
                "else gradient, differs (exit 0: identical, 2: different)");
  bisect_cmd->add_option("--model", bisect.model, "Model file")->required();
  bisect_cmd->add_option("--checkpoint", bisect.checkpoint, "Start from this checkpoint (default: initial weights)");
  bisect_cmd->add_option("--epoch", bisect.epoch, "The batch's epoch, from 0 (default: the checkpoint's next)")
      ->check(trainer::kNonNegative);
  bisect_cmd->add_option("--batch", bisect.batch, "The batch's index in its epoch (default: the checkpoint's next)")
      ->check(trainer::kNonNegative);
  // The two settings: --device/--determinism/--threads for A, the same with --vs- for B.
  const auto add_setting = [&](const std::string& prefix, trainer::TrainingFlags& flags, const std::string& which) {
    bisect_cmd->add_option("--" + prefix + "device", flags.device, which + ": cpu | cuda | cuda:N");
    bisect_cmd->add_option("--" + prefix + "determinism", flags.determinism, which + ": strict | fast | off")
        ->check(CLI::IsMember({"strict", "fast", "off"}));
    bisect_cmd->add_option("--" + prefix + "threads", flags.threads, which + ": CPU threads")
        ->check(trainer::kNonNegative);
  };
  add_setting("", bisect.a, "Setting A");
  add_setting("vs-", bisect.b, "Setting B");
  bisect_cmd->add_option("--dump", bisect.dump, "Write setting A's trace to this file (to compare elsewhere)");
  bisect_cmd->add_option("--against", bisect.against, "Compare setting A with this trace file (another machine or build)");

  trainer::SweepOptions sweep;
  sweep.command_line = train.command_line;
  CLI::App* sweep_cmd = app.add_subcommand(
      "sweep", "Run the trials of a W&B sweep file (grid, random, bayes; hyperband), each a reproducible run "
               "(docs/sweeps.md)");
  sweep_cmd->add_option("--model", sweep.model, "The model file every trial starts from");
  sweep_cmd->add_option("--sweep", sweep.sweep, "The sweep file (YAML or JSON, W&B's keys)");
  sweep_cmd->add_option("--sweep-dir", sweep.sweep_dir, "Sweep directory to create (default: sweeps/<name>-<UTC time>)");
  sweep_cmd->add_option("--resume", sweep.resume, "Continue the sweep in this directory");
  sweep_cmd->add_option("--parallel", sweep.parallel, "Trials at once (default 1, or one per GPU of --gpus; "
                                                      "never changes which trials run nor their results)")
      ->check(CLI::Range(1, 4096));
  sweep_cmd->add_option("--gpus", sweep.gpus, "One trial at a time on each GPU: all, a count N or a list like 0,2");
  sweep_cmd->add_option("--device", sweep.device, "cpu | cuda | cuda:N for every trial (default: the model file's)");
  sweep_cmd->add_option("--threads", sweep.threads, "CPU threads shared by the trials at once (default: all)")
      ->check(trainer::kNonNegative);
  sweep_cmd->add_option("--run-cap", sweep.run_cap, "Trials of a random or bayes sweep whose file sets no run_cap "
                                                    "(default 10)")
      ->check(trainer::kPositive);
  sweep_cmd->add_option("--checkpoint-every", sweep.checkpoint_every,
                        "Each trial also checkpoints every N steps (a resumed sweep redoes less)")
      ->check(trainer::kNonNegative);

  trainer::ReportOptions report;
  CLI::App* report_cmd = app.add_subcommand(
      "report", "Write one self-contained HTML report of runs and sweeps: curves, differences, trials (docs/report.md)");
  report_cmd->add_option("dirs", report.dirs, "Run or sweep directories")->required();
  report_cmd->add_option("-o,--output", report.output, "The HTML file to write (default report.html)");

  trainer::ExportOptions export_options;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "Write the model with a checkpoint's weights as an ONNX file, checked by ONNX's checker (docs/interop.md)");
  export_cmd->add_option("--model", export_options.model, "Model file")->required();
  export_cmd->add_option("--checkpoint", export_options.checkpoint, "Checkpoint of that model (safetensors)")->required();
  export_cmd->add_option("--onnx", export_options.onnx, "The ONNX file to write")->required();
  export_cmd->add_option("--opset", export_options.opset, "ONNX opset, 13 to 17 (default 17)");
  export_cmd->add_option("--batch", export_options.batch, "The input's batch size, or dynamic (default)");
  export_cmd->add_flag("--normalize", export_options.normalize,
                       "Put the model file's input normalization into the graph (inputs in [0, 1])");

  CLI::App* info = app.add_subcommand("info", "Print the environment fingerprint (JSON): detnn version and "
                                              "commit, compiler flags, CUDA/cuDNN/NCCL versions, devices");
  bool verbose = false;
  for (CLI::App* a : {&app, eval_cmd, verify_cmd, diff_cmd, bisect_cmd, sweep_cmd, report_cmd, export_cmd, info})
    a->add_flag("--verbose", verbose, "On failure, also print where in detnn's source the input was refused");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "trainer: %s (see --help)\n", e.what());
    return 1;
  }

  try {
    if (info->parsed()) return run_info();
    if (eval_cmd->parsed()) return trainer::run_eval(eval);
    if (verify_cmd->parsed()) return trainer::run_verify(verify);
    if (diff_cmd->parsed()) return trainer::run_diff(diff);
    if (bisect_cmd->parsed()) return trainer::run_bisect(bisect);
    if (report_cmd->parsed()) return trainer::run_report(report);
    if (export_cmd->parsed()) return trainer::run_export(export_options);
    if (sweep_cmd->parsed()) {
      const bool resuming = !sweep.resume.empty();
      const bool starting = !sweep.model.empty() || !sweep.sweep.empty();
      if (resuming == starting || (resuming && !sweep.sweep_dir.empty()))
        throw trainer::TrainerError("sweep: give --model FILE --sweep FILE for a new sweep, or --resume DIR alone");
      return trainer::run_sweep(sweep);
    }
    if (train.model.empty() && train.resume.empty()) {
      std::fprintf(stderr, "trainer: nothing to do: give --model FILE (or --resume DIR); see --help\n");
      return 1;
    }
    return trainer::run_train(train);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trainer: %s\n", trainer::reason(e).c_str());
    const std::string where = trainer::location_of(e);
    if (verbose && !where.empty()) std::fprintf(stderr, "trainer: refused by detnn's check %s\n", where.c_str());
    return 1;
  }
}
