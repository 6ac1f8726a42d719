// Rank sessions as threads, for the gpu session tests: each rank's session is created and
// trained in its own thread, as the trainer's --ranks and --gpus run them.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/comm/comm_group.h"
#include "session/session.h"
#include "support/session_test_util.h"

namespace detnn::testing {

// Trains `steps` steps of `spec` on options.size() ranks: rank r with options[r] and comm_of(r)
// (null: one rank alone), on synthetic batches (5 classes) seeded `data_seed`. A rank that fails
// aborts `group` (when given) so that the others do not wait for it. Every rank must end with
// the same weights (checked); their SHA-256 is returned.
inline std::string train_in_rank_threads(const ModelSpec& spec, const std::vector<SessionOptions>& options,
                                         const std::function<Comm*(int)>& comm_of, CommGroup* group, int steps,
                                         uint64_t data_seed = 3) {
  const int64_t b = spec.training.batch_size;
  const auto data = synthetic_batches(b * steps, 5, spec.input.c, spec.input.h, spec.input.w, data_seed);
  const int ranks = static_cast<int>(options.size());
  std::vector<std::string> shas(ranks), errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        Session s(spec, options[r], comm_of(r));
        for (int i = 0; i < steps; ++i)
          s.train_step(data.images.data() + i * b * s.sample_size(), data.labels.data() + i * b, b);
        shas[r] = s.state_sha256();
      } catch (const std::exception& e) {
        errors[r] = e.what();
        if (group != nullptr) group->abort(r, e.what());
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) {
    EXPECT_EQ(errors[r], "") << "rank " << r;
    EXPECT_EQ(shas[r], shas[0]) << "rank " << r;
  }
  return shas[0];
}

}  // namespace detnn::testing
