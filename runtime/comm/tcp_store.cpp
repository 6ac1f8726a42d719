#include "runtime/comm/tcp_store.h"

#include <cstring>

#include "runtime/error.h"

namespace detnn {

namespace {

// One request: header, then the key and the value bytes. One reply: status, then the value.
enum Op : uint8_t { kHello = 1, kGoodbye, kSet, kSetIfAbsent, kWaitGet, kTryGet, kErase };
enum Status : uint8_t { kFound = 0, kFailed = 1, kAbsent = 2 };

struct RequestHeader {
  uint8_t op;
  uint32_t key_bytes;
  uint64_t value_bytes;
  int64_t arg;  // hello: the rank; wait-get: the longest wait in milliseconds
};
struct ReplyHeader {
  uint8_t status;
  uint64_t value_bytes;
};

// Bounds on what a request may announce, so that a stray connection cannot make the server
// allocate without limit.
constexpr uint32_t kMaxKeyBytes = 4096;
constexpr uint64_t kMaxValueBytes = uint64_t{16} << 30;

}  // namespace

struct TcpStoreServer::Connection {
  Socket socket;
  std::thread thread;
  int rank = -1;          // said hello as this rank
  bool goodbye = false;   // said goodbye
};

TcpStoreServer::TcpStoreServer(int port) {
  listener_ = listen_tcp(port, &port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpStoreServer::~TcpStoreServer() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, linger_, [&] { return open_ranks_ == 0; });
    stopping_ = true;
  }
  changed_.notify_all();
  listener_.shutdown();
  acceptor_.join();
  // The acceptor is gone, so the list no longer changes; shutting a socket down wakes its
  // thread out of its receive.
  for (auto& c : connections_) c->socket.shutdown();
  for (auto& c : connections_) c->thread.join();
}

void TcpStoreServer::accept_loop() {
  for (;;) {
    Socket s = accept_tcp(listener_);
    if (!s.valid()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    connections_.push_back(std::make_unique<Connection>());
    Connection* c = connections_.back().get();
    c->socket = std::move(s);
    c->thread = std::thread([this, c] { serve(c); });
  }
}

void TcpStoreServer::fail_locked(const std::string& message) {
  if (values_.find(kStoreFailureKey) == values_.end()) values_[kStoreFailureKey] = message;
  changed_.notify_all();
}

void TcpStoreServer::serve(Connection* c) {
  auto reply = [&](uint8_t status, const std::string& value) {
    const ReplyHeader h{status, value.size()};
    c->socket.send_all(&h, sizeof h, "store reply");
    if (!value.empty()) c->socket.send_all(value.data(), value.size(), "store reply");
  };
  try {
    for (;;) {
      RequestHeader h{};
      c->socket.receive_all(&h, sizeof h, "store request");
      if (h.key_bytes > kMaxKeyBytes || h.value_bytes > kMaxValueBytes)
        throw Error(ErrorCode::comm, "not a detnn store request");  // ends the connection below
      std::string key(h.key_bytes, '\0'), value(h.value_bytes, '\0');
      c->socket.receive_all(key.data(), key.size(), "store request");
      c->socket.receive_all(value.data(), value.size(), "store request");
      std::unique_lock<std::mutex> lock(mutex_);
      switch (h.op) {
        case kHello:
          if (c->rank < 0 && h.arg >= 0) {
            c->rank = static_cast<int>(h.arg);
            ++open_ranks_;
          }
          break;
        case kGoodbye:
          if (c->rank >= 0 && !c->goodbye) {
            c->goodbye = true;
            --open_ranks_;
            changed_.notify_all();
          }
          break;
        case kSet:
          values_[key] = std::move(value);
          changed_.notify_all();
          break;
        case kSetIfAbsent:
          if (key == kStoreFailureKey) {
            fail_locked(value);
          } else {
            values_.emplace(key, std::move(value));
            changed_.notify_all();
          }
          break;
        case kErase:
          values_.erase(key);
          break;
        case kTryGet:
        case kWaitGet: {
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(h.op == kWaitGet ? h.arg : 0);
          auto failed = [&] { return key != kStoreFailureKey && values_.count(kStoreFailureKey) != 0; };
          changed_.wait_until(lock, deadline, [&] { return stopping_ || failed() || values_.count(key) != 0; });
          if (failed()) {
            const std::string failure = values_[kStoreFailureKey];
            lock.unlock();
            reply(kFailed, failure);
          } else if (auto it = values_.find(key); it != values_.end()) {
            const std::string found = it->second;
            lock.unlock();
            reply(kFound, found);
          } else {
            lock.unlock();
            reply(kAbsent, "");
          }
          continue;
        }
        default:
          throw Error(ErrorCode::comm, "not a detnn store request");  // ends the connection below
      }
      lock.unlock();
      reply(kFound, "");
    }
  } catch (const Error&) {
    // The connection ended.
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (c->rank >= 0 && !c->goodbye) {
    c->goodbye = true;
    --open_ranks_;
    if (!stopping_)
      fail_locked("rank " + std::to_string(c->rank) +
                  " failed: its process ended or lost its connection to the rendezvous without saying goodbye");
  }
  changed_.notify_all();
}

TcpStoreClient::TcpStoreClient(const std::string& host, int port, int rank, double timeout_seconds)
    : endpoint_(host + ":" + std::to_string(port)) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                              std::chrono::duration<double>(timeout_seconds));
  socket_ = connect_tcp(host, port, deadline);
  control_ = connect_tcp(host, port, deadline);
  request(socket_, kHello, "", "", rank);
}

TcpStoreClient::~TcpStoreClient() {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    request(socket_, kGoodbye, "", "", 0);
  } catch (const Error&) {
    // The store is gone already: nobody to tell.
  }
}

TcpStoreClient::Reply TcpStoreClient::request(const Socket& s, uint8_t op, const std::string& key,
                                              const std::string& value, int64_t arg) {
  try {
    const RequestHeader h{op, static_cast<uint32_t>(key.size()), value.size(), arg};
    s.send_all(&h, sizeof h, "store request");
    if (!key.empty()) s.send_all(key.data(), key.size(), "store request");
    if (!value.empty()) s.send_all(value.data(), value.size(), "store request");
    ReplyHeader r{};
    s.receive_all(&r, sizeof r, "store reply");
    Reply out{r.status, std::string(r.value_bytes, '\0')};
    if (r.value_bytes > 0) s.receive_all(out.value.data(), out.value.size(), "store reply");
    return out;
  } catch (const Error& e) {
    DETNN_THROW(comm, "lost the connection to the rendezvous store at ", endpoint_,
                " (served by rank 0: did its process end?): ", e.what());
  }
}

void TcpStoreClient::set(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  request(socket_, kSet, key, value, 0);
}

void TcpStoreClient::erase(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  request(socket_, kErase, key, "", 0);
}

std::optional<std::string> TcpStoreClient::wait_get(const std::string& key,
                                                    std::chrono::steady_clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  Reply r = request(socket_, kWaitGet, key, "", std::max<int64_t>(0, left.count()));
  if (r.status == kFailed) throw Error(ErrorCode::comm, r.value);
  if (r.status == kAbsent) return std::nullopt;
  return std::move(r.value);
}

std::optional<std::string> TcpStoreClient::try_get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  Reply r = request(socket_, kTryGet, key, "", 0);
  if (r.status == kFailed) throw Error(ErrorCode::comm, r.value);
  if (r.status == kAbsent) return std::nullopt;
  return std::move(r.value);
}

void TcpStoreClient::post_failure(const std::string& message) noexcept {
  std::lock_guard<std::mutex> lock(control_mutex_);
  try {
    if (lost_.empty()) request(control_, kSetIfAbsent, kStoreFailureKey, message, 0);
  } catch (...) {
    // The store is gone: the other ranks learn of it from their own lost connections.
  }
}

std::string TcpStoreClient::failure() noexcept {
  std::lock_guard<std::mutex> lock(control_mutex_);
  if (!lost_.empty()) return lost_;
  try {
    Reply r = request(control_, kTryGet, kStoreFailureKey, "", 0);
    return r.status == kFound ? r.value : std::string();
  } catch (const std::exception& e) {
    try {
      lost_ = e.what();
    } catch (...) {
    }
    return lost_.empty() ? std::string("lost the connection to the rendezvous store") : lost_;
  }
}

}  // namespace detnn
