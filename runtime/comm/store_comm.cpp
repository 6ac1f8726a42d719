#include "runtime/comm/store_comm.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "runtime/comm/rank_sum.h"
#include "runtime/error.h"

namespace detnn {

namespace {

std::string posting_key(uint64_t sequence, int rank) {
  return "detnn/c/" + std::to_string(sequence) + "/" + std::to_string(rank);
}

}  // namespace

StoreComm::StoreComm(std::shared_ptr<TcpStoreClient> store, int rank, int size, double timeout_seconds)
    : store_(std::move(store)), rank_(rank), size_(size), timeout_seconds_(timeout_seconds) {
  DETNN_CHECK(size >= 1 && rank >= 0 && rank < size, invalid_argument, "StoreComm: rank ", rank, " of ", size);
}

void StoreComm::abort(const std::string& message) noexcept {
  try {
    store_->post_failure("rank " + std::to_string(rank_) + " failed: " + message);
  } catch (...) {
    store_->post_failure("a rank failed");
  }
}

std::vector<std::string> StoreComm::exchange(const char* what, int64_t count, const void* bytes, size_t size) {
  const uint64_t seq = ++sequence_;
  const std::string header = std::string(what) + " " + std::to_string(count) + "\n";
  std::string mine = header;
  mine.append(static_cast<const char*>(bytes), size);
  store_->set(posting_key(seq, rank_), mine);
  // Every rank posted sequence seq - 1 before anyone could finish it, and reads every posting of
  // a sequence before posting the next: nobody reads this rank's posting of seq - 2 any more.
  if (seq > 2) store_->erase(posting_key(seq - 2, rank_));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                              std::chrono::duration<double>(timeout_seconds_));
  std::vector<std::string> all(size_);
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) {
      all[q] = std::move(mine);
      continue;
    }
    std::optional<std::string> got = store_->wait_get(posting_key(seq, q), deadline);
    if (!got) {
      std::string missing;
      for (int m = q; m < size_; ++m)
        if (m != rank_ && !store_->try_get(posting_key(seq, m)))
          missing += (missing.empty() ? "" : ", ") + std::to_string(m);
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", timeout_seconds_);
      const std::string message = "rank " + std::to_string(rank_) + " failed: " + what + " timed out after " +
                                  seconds + " s waiting for rank(s) " + missing;
      store_->post_failure(message);
      throw Error(ErrorCode::comm, store_->failure());
    }
    if (got->compare(0, header.size(), header) != 0) {
      const std::string theirs = got->substr(0, got->find('\n'));
      const std::string message = "rank " + std::to_string(rank_) + " called " + header.substr(0, header.size() - 1) +
                                  " while rank " + std::to_string(q) + " called " + theirs +
                                  " (every rank must make the same collective calls in the same order with the same sizes)";
      store_->post_failure(message);
      throw Error(ErrorCode::comm, store_->failure());
    }
    all[q] = std::move(*got);
  }
  for (std::string& p : all) p.erase(0, header.size());
  return all;
}

void StoreComm::all_reduce_pairwise(float* data, int64_t count) {
  DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, "all_reduce_pairwise: ", count,
              " elements at ", static_cast<void*>(data));
  if (size_ == 1) return;
  const std::vector<std::string> all = exchange("all_reduce_pairwise", count, data, sizeof(float) * count);
  // The postings are byte strings: copy them into aligned float rows before combining.
  std::vector<std::vector<float>> rows(size_, std::vector<float>(static_cast<size_t>(count)));
  std::vector<const float*> in(size_);
  for (int r = 0; r < size_; ++r) {
    std::memcpy(rows[r].data(), all[r].data(), sizeof(float) * count);
    in[r] = rows[r].data();
  }
  pairwise_sum_over_ranks(in.data(), size_, 0, count, data);
}

void StoreComm::all_reduce_sum(int64_t* data, int64_t count) {
  DETNN_CHECK(count >= 0 && (data != nullptr || count == 0), invalid_argument, "all_reduce_sum: ", count,
              " elements at ", static_cast<void*>(data));
  if (size_ == 1) return;
  const std::vector<std::string> all = exchange("all_reduce_sum", count, data, sizeof(int64_t) * count);
  std::vector<int64_t> sum(static_cast<size_t>(count), 0);
  for (const std::string& p : all)
    for (int64_t i = 0; i < count; ++i) {
      int64_t v;
      std::memcpy(&v, p.data() + i * sizeof(int64_t), sizeof v);
      sum[i] += v;
    }
  std::copy(sum.begin(), sum.end(), data);
}

void StoreComm::broadcast(void* data, int64_t bytes) {
  DETNN_CHECK(bytes >= 0 && (data != nullptr || bytes == 0), invalid_argument, "broadcast: ", bytes, " bytes at ",
              data);
  if (size_ == 1) return;
  // Every rank posts (the others an empty marker), so every collective is a full exchange and
  // the erase rule of exchange() holds.
  const std::vector<std::string> all = exchange("broadcast", bytes, data, rank_ == 0 ? static_cast<size_t>(bytes) : 0);
  if (rank_ != 0 && bytes > 0) std::memcpy(data, all[0].data(), static_cast<size_t>(bytes));
}

void StoreComm::barrier() {
  if (size_ == 1) return;
  exchange("barrier", 0, nullptr, 0);
}

}  // namespace detnn
