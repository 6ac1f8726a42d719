#include "runtime/thread_pool.h"

#include <system_error>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "runtime/error.h"

namespace detnn {

namespace {
thread_local bool t_inside_pool_task = false;

// Spins while busy() holds, for some tens of microseconds at most, pausing between looks; the
// caller then sleeps on its condition variable as before if it must.
template <class Busy>
void spin_while(Busy busy) {
  constexpr int kLooks = 1000;
  for (int i = 0; i < kLooks && busy(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  DETNN_CHECK(threads >= 1, invalid_argument, "thread count must be at least 1, got ", threads);
  try {
    for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  } catch (const std::system_error& e) {
    // The system would not start another thread: stop the ones that did start (a destructor
    // does not run for a constructor that throws) and say so, rather than hang or terminate.
    const size_t started = workers_.size() + 1;
    stop_workers();
    DETNN_THROW(unsupported, "cannot start ", threads, " CPU threads (the system started ", started, "): ", e.what());
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::worker_loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    std::pair<int64_t, int64_t> range;
    const std::function<void(int64_t, int64_t)>* body;
    spin_while([&] { return published_generation_.load(std::memory_order_acquire) == seen; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      range = ranges_[worker];
      body = body_;
    }
    std::exception_ptr err;
    if (range.first < range.second) {
      t_inside_pool_task = true;
      try {
        (*body)(range.first, range.second);
      } catch (...) {
        err = std::current_exception();
      }
      t_inside_pool_task = false;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (err && !error_) error_ = err;
      unfinished_.store(pending_ - 1, std::memory_order_release);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t parts = std::min<int64_t>(num_threads(), (n + grain - 1) / grain);
  if (parts <= 1 || t_inside_pool_task) {
    body(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ranges_.assign(num_threads(), {0, 0});
    // Even split: the first n % parts ranges get one extra index.
    const int64_t base = n / parts, extra = n % parts;
    int64_t begin = 0;
    for (int64_t p = 0; p < parts; ++p) {
      const int64_t len = base + (p < extra ? 1 : 0);
      ranges_[p] = {begin, begin + len};
      begin += len;
    }
    body_ = &body;
    error_ = nullptr;
    pending_ = num_threads() - 1;
    unfinished_.store(pending_, std::memory_order_relaxed);
    ++generation_;
    published_generation_.store(generation_, std::memory_order_release);
  }
  wake_.notify_all();
  std::exception_ptr err;
  t_inside_pool_task = true;
  try {
    body(ranges_[0].first, ranges_[0].second);
  } catch (...) {
    err = std::current_exception();
  }
  t_inside_pool_task = false;
  spin_while([&] { return unfinished_.load(std::memory_order_acquire) != 0; });
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  if (!err) err = error_;
  body_ = nullptr;
  if (err) std::rethrow_exception(err);
}

namespace {
int default_thread_count() {
  if (const char* env = std::getenv("DETNN_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}
std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
}  // namespace

ThreadPool& cpu_thread_pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_thread_count());
  return *g_pool;
}

void set_num_threads(int threads) {
  DETNN_CHECK(threads >= 1, invalid_argument, "thread count must be at least 1, got ", threads);
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool && g_pool->num_threads() == threads) return;
  g_pool = std::make_unique<ThreadPool>(threads);
}

int num_threads() { return cpu_thread_pool().num_threads(); }

}  // namespace detnn
