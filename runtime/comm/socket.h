// Blocking TCP sockets for the rendezvous of ranks launched as separate processes
// (runtime/comm/tcp_store.h): an owned descriptor, whole-buffer send and receive, a listener and
// a connect that retries until a deadline (the listening rank may start after the others).
// Every failure throws Error(comm) naming the peer and the system's reason.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace detnn {

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { close(); }
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void close() noexcept;
  // Wakes a thread blocked in this socket (both directions) without closing the descriptor.
  void shutdown() noexcept;

  // Sends all `size` bytes. Throws Error(comm) "<what>: ..." when the peer is gone.
  void send_all(const void* data, size_t size, const char* what) const;
  // Receives exactly `size` bytes; throws Error(comm) when the peer closes first.
  void receive_all(void* data, size_t size, const char* what) const;

 private:
  int fd_ = -1;
};

// Listens on `port` of every interface (0: a free port); port_out receives the port bound.
Socket listen_tcp(int port, int* port_out);
// Accepts one connection; an invalid Socket once the listener was shut down.
Socket accept_tcp(const Socket& listener);
// Connects to host:port, retrying refused connections until `deadline`. Throws Error(comm)
// naming host, port and the last reason.
Socket connect_tcp(const std::string& host, int port, std::chrono::steady_clock::time_point deadline);

}  // namespace detnn
