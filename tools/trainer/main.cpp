// trainer: the command-line tool, built on the public C API only.
// For now it has one subcommand, `info`, which prints the environment fingerprint; training
// (`trainer --model FILE`) comes with the model and session work.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "detnn/detnn.h"

namespace {

int fail(detnn_status status) {
  std::fprintf(stderr, "trainer: %s: %s\n", detnn_status_string(status), detnn_last_error());
  return 1;
}

int run_info() {
  const char* json = nullptr;
  if (detnn_status s = detnn_environment_json(&json); s != DETNN_OK) return fail(s);
  std::printf("%s\n", json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trainer: bitwise-reproducible training with detnn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("detnn ") + detnn_version());
  CLI::App* info = app.add_subcommand("info", "Print the environment fingerprint (JSON): detnn version and "
                                              "commit, compiler flags, CUDA/cuDNN/NCCL versions, devices");
  CLI11_PARSE(app, argc, argv);
  if (info->parsed()) return run_info();
  return 0;
}
