// The rendezvous of ranks launched as separate processes (torchrun-style MASTER_ADDR/MASTER_PORT,
// mpirun): a small key-value store served by rank 0 over TCP. The ranks exchange through it what
// must be agreed before any collective (host names, the NCCL unique id), CPU ranks their
// collectives (runtime/comm/store_comm.h), and every rank the group's first failure.
//
// Failure detection: each rank's client says hello with its rank; if that connection drops
// without a goodbye (the process was killed or crashed), the server records "rank r failed: its
// process ended or lost its connection" as the group's failure. Every waiting get returns as
// soon as a failure is recorded, so a dead rank stops the others within milliseconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/comm/failure_channel.h"
#include "runtime/comm/socket.h"

namespace detnn {

// The key under which the group's first failure is kept.
inline constexpr const char* kStoreFailureKey = "detnn/failure";

class TcpStoreServer {
 public:
  // Listens on `port` of every interface (0: a free port, see port()).
  explicit TcpStoreServer(int port);
  // Waits up to `linger` for every rank that said hello to say goodbye or disconnect (a rank may
  // still be reading the last collective's values), then stops.
  ~TcpStoreServer();
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;

  int port() const { return port_; }
  void set_linger(std::chrono::milliseconds linger) { linger_ = linger; }

 private:
  struct Connection;
  void accept_loop();
  void serve(Connection* c);
  // Under mutex_: records the group's failure unless it has one; wakes waiting gets.
  void fail_locked(const std::string& message);

  Socket listener_;
  int port_ = 0;
  std::chrono::milliseconds linger_{30000};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> values_;
  std::vector<std::unique_ptr<Connection>> connections_;
  int open_ranks_ = 0;  // connections that said hello and have not yet said goodbye or dropped
  bool stopping_ = false;
  std::thread acceptor_;
};

// One rank's connection to the store. Thread-safe: requests are serialized, except that
// post_failure and failure() use a second connection so they never wait behind a blocking get.
class TcpStoreClient {
 public:
  // Connects (retrying until `timeout_seconds` have passed: rank 0 may start later) and says
  // hello as `rank` (rank < 0: an anonymous client whose disconnection fails nobody).
  TcpStoreClient(const std::string& host, int port, int rank, double timeout_seconds);
  // Says goodbye: this rank's disconnection is then no failure.
  ~TcpStoreClient();
  TcpStoreClient(const TcpStoreClient&) = delete;
  TcpStoreClient& operator=(const TcpStoreClient&) = delete;

  void set(const std::string& key, const std::string& value);
  void erase(const std::string& key);
  // Waits until `key` exists and returns its value; nullopt once `deadline` passes. Throws
  // Error(comm) with the group's failure as soon as one is recorded.
  std::optional<std::string> wait_get(const std::string& key, std::chrono::steady_clock::time_point deadline);
  // The value of `key` now, if any.
  std::optional<std::string> try_get(const std::string& key);

  // Records `message` as the group's failure unless it has one (never throws).
  void post_failure(const std::string& message) noexcept;
  // The group's failure, "" while healthy; a lost connection to the store is a failure too.
  std::string failure() noexcept;

  const std::string& endpoint() const { return endpoint_; }

 private:
  struct Reply {
    uint8_t status;
    std::string value;
  };
  Reply request(const Socket& s, uint8_t op, const std::string& key, const std::string& value, int64_t arg);

  std::string endpoint_;
  std::mutex mutex_, control_mutex_;
  Socket socket_, control_;
  std::string lost_;  // why the connection is gone (under control_mutex_)
};

// A FailureChannel over the store, for NCCL ranks in separate processes.
class StoreFailureChannel final : public FailureChannel {
 public:
  explicit StoreFailureChannel(std::shared_ptr<TcpStoreClient> client) : client_(std::move(client)) {}
  void post(const std::string& message) noexcept override { client_->post_failure(message); }
  std::string poll() override { return client_->failure(); }

 private:
  std::shared_ptr<TcpStoreClient> client_;
};

}  // namespace detnn
