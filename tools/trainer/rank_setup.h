// Where the data-parallel ranks of a trainer run live (docs/multi-rank.md): one rank; N ranks as
// threads of this process (--ranks N); one rank per listed GPU of this process (--gpus); or this
// process as one rank of a run launched by torchrun-style variables or mpirun. Every form gives
// the bits of one rank; rank 0's process alone writes the run directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"

namespace trainer {

struct RankSetup {
  std::optional<api::Group> group;  // none for a single rank
  int world_size = 1, first_rank = 0, local_ranks = 1;
  std::string launcher = "single";  // single | threads | gpus | torchrun | mpirun
  std::vector<int> gpus;            // --gpus: the devices, rank order
  bool writes_run() const { return first_rank == 0; }
};

// Decides the layout from the options and the launcher's variables, without creating anything.
// For --gpus it sets the model's device to cuda. Throws TrainerError for contradictory options
// (--ranks with --gpus, either under a launcher, --gpus with a CPU device) and bad GPU lists.
RankSetup plan_ranks(const TrainOptions& o, api::Model& model);

// Creates the group (nothing for one rank): joins the launched run, opens the GPUs, or makes
// the threads' group. A launched rank waits here for all the others (at most --comm-timeout).
void create_group(RankSetup& setup, const TrainOptions& o, bool cuda);

// The manifest's "ranks": rank, host and device of every rank.
nlohmann::json rank_list(const RankSetup& setup, const std::string& model_device);

// --gpus: "all", a count N (GPUs 0..N-1) or a comma list of distinct ordinals ("0,2,5"), checked
// against the `visible` devices.
std::vector<int> parse_gpu_list(const std::string& spec, int visible);

}  // namespace trainer
