#include "rank_setup.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <unistd.h>

#include "detnn/detnn.h"

namespace trainer {

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

std::vector<int> parse_gpu_list(const std::string& spec, int visible) {
  auto fail = [&](const std::string& why) { throw DetnnError("--gpus " + spec + ": " + why); };
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

RankSetup plan_ranks(const TrainOptions& o, detnn_model* model) {
  RankSetup s;
  int env_rank = 0, env_size = 0, env_local = 0;
  check(detnn_launch_environment(&env_rank, &env_size, &env_local), "launch environment");
  if (env_size > 0) {
    if (o.ranks > 1 || !o.gpus.empty())
      throw DetnnError("this process was launched as rank " + std::to_string(env_rank) + " of " +
                       std::to_string(env_size) + " (RANK/WORLD_SIZE or OMPI_COMM_WORLD_* are set): --ranks and --gpus "
                       "do not apply; the launcher starts one process per rank");
    s.world_size = env_size;
    s.first_rank = env_rank;
    s.local_ranks = 1;
    s.launcher = std::getenv("RANK") != nullptr ? "torchrun" : "mpirun";
    return s;
  }
  if (!o.gpus.empty()) {
    if (o.ranks > 1) throw DetnnError("--ranks and --gpus exclude each other: --gpus gives one rank per GPU");
    if (!o.device.empty() && o.device.rfind("cuda", 0) != 0)
      throw DetnnError("--gpus trains on GPUs but --device is " + o.device);
    int visible = 0;
    check(detnn_cuda_device_count(&visible), "--gpus");
    s.gpus = parse_gpu_list(o.gpus, visible);
    s.world_size = s.local_ranks = static_cast<int>(s.gpus.size());
    s.launcher = "gpus";
    check(detnn_model_set_option(model, "training.device", "cuda"), "--gpus");
    return s;
  }
  s.world_size = s.local_ranks = o.ranks;
  s.launcher = o.ranks > 1 ? "threads" : "single";
  return s;
}

void create_group(RankSetup& s, const TrainOptions& o, bool cuda) {
  detnn_group* raw = nullptr;
  if (s.launcher == "threads") {
    check(detnn_local_group_create(s.world_size, o.comm_timeout, &raw), "--ranks");
  } else if (s.launcher == "gpus") {
    check(detnn_gpu_group_create(s.gpus.data(), static_cast<int>(s.gpus.size()), o.comm_timeout, &raw), "--gpus");
  } else if ((s.launcher == "torchrun" || s.launcher == "mpirun") && s.world_size > 1) {
    check(detnn_launched_group_create(cuda ? 1 : 0, o.comm_timeout, &raw), s.launcher.c_str());
  } else {
    return;  // one rank
  }
  s.group.reset(raw);
}

nlohmann::json rank_list(const RankSetup& s, const std::string& model_device) {
  nlohmann::json list = nlohmann::json::array();
  for (int r = 0; r < s.world_size; ++r) {
    const char* host = "";
    const char* device = "";
    char this_host[256] = {};
    if (s.group) {
      check(detnn_group_rank_placement(s.group.get(), r, &host, &device), "rank placement");
    } else if (::gethostname(this_host, sizeof this_host - 1) == 0) {
      host = this_host;
    }
    nlohmann::json entry = {{"rank", r}, {"device", *device != '\0' ? std::string(device) : model_device}};
    if (*host != '\0') entry["host"] = host;
    list.push_back(entry);
  }
  return list;
}

}  // namespace trainer
