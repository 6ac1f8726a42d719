#include "rank_setup.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <unistd.h>

namespace trainer {

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

std::vector<int> parse_gpu_list(const std::string& spec, int visible) {
  auto fail = [&](const std::string& why) { throw TrainerError("--gpus " + spec + ": " + why); };
  if (visible <= 0) fail("no CUDA device is visible to this process");
  std::vector<int> devices;
  if (spec == "all") {
    for (int d = 0; d < visible; ++d) devices.push_back(d);
    return devices;
  }
  if (spec.find(',') == std::string::npos) {
    if (!all_digits(spec) || spec.size() > 4) fail("expected all, a number of GPUs or a list of GPU ordinals like 0,2,5");
    const int n = std::stoi(spec);
    if (n < 1 || n > visible)
      fail("asks for " + spec + " GPUs but " + std::to_string(visible) + " are visible");
    for (int d = 0; d < n; ++d) devices.push_back(d);
    return devices;
  }
  std::set<int> seen;
  size_t begin = 0;
  for (;;) {
    const size_t end = spec.find(',', begin);
    const std::string item = spec.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (!all_digits(item) || item.size() > 4) fail("\"" + item + "\" is not a GPU ordinal");
    const int d = std::stoi(item);
    if (d >= visible) fail("GPU " + item + " does not exist (" + std::to_string(visible) + " visible: 0.." +
                           std::to_string(visible - 1) + ")");
    if (!seen.insert(d).second) fail("GPU " + item + " is listed twice (one rank per GPU)");
    devices.push_back(d);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return devices;
}

RankSetup plan_ranks(const TrainOptions& o, api::Model& model) {
  RankSetup s;
  const api::LaunchEnvironment env = with_context("launch environment", [] { return api::launch_environment(); });
  if (env.world_size > 0) {
    if (o.ranks > 1 || !o.gpus.empty())
      throw TrainerError("this process was launched as rank " + std::to_string(env.rank) + " of " +
                         std::to_string(env.world_size) +
                         " (" + env.launcher + "'s variables are set): --ranks and --gpus do not apply; the launcher "
                         "starts one process per rank");
    s.world_size = env.world_size;
    s.first_rank = env.rank;
    s.local_ranks = 1;
    s.launcher = env.launcher;
    return s;
  }
  if (!o.gpus.empty()) {
    const std::string& device = o.training.device;
    if (o.ranks > 1) throw TrainerError("--ranks and --gpus exclude each other: --gpus gives one rank per GPU");
    if (!device.empty() && device.rfind("cuda", 0) != 0)
      throw TrainerError("--gpus trains on GPUs but --device is " + device);
    with_context("--gpus", [&] {
      s.gpus = parse_gpu_list(o.gpus, api::cuda_device_count());
      model.set_option("training.device", "cuda");
    });
    s.world_size = s.local_ranks = static_cast<int>(s.gpus.size());
    s.launcher = "gpus";
    return s;
  }
  s.world_size = s.local_ranks = o.ranks;
  s.launcher = o.ranks > 1 ? "threads" : "single";
  return s;
}

void create_group(RankSetup& s, const TrainOptions& o, bool cuda) {
  if (s.launcher == "threads") {
    s.group = with_context("--ranks", [&] { return api::Group::local(s.world_size, o.comm_timeout); });
  } else if (s.launcher == "gpus") {
    s.group = with_context("--gpus", [&] { return api::Group::gpu(s.gpus, o.comm_timeout); });
  } else if ((s.launcher == "torchrun" || s.launcher == "mpirun" || s.launcher == "srun") && s.world_size > 1) {
    s.group = with_context(s.launcher, [&] { return api::Group::launched(cuda, o.comm_timeout); });
  }
  // Otherwise one rank: no group.
}

nlohmann::json rank_list(const RankSetup& s, const std::string& model_device) {
  nlohmann::json list = nlohmann::json::array();
  for (int r = 0; r < s.world_size; ++r) {
    api::Group::Placement where;
    char this_host[256] = {};
    if (s.group) {
      where = s.group->rank_placement(r);
    } else if (::gethostname(this_host, sizeof this_host - 1) == 0) {
      where.host = this_host;
    }
    nlohmann::json entry = {{"rank", r}, {"device", !where.device.empty() ? where.device : model_device}};
    if (!where.host.empty()) entry["host"] = where.host;
    list.push_back(entry);
  }
  return list;
}

}  // namespace trainer
