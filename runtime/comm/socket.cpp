#include "runtime/comm/socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "runtime/error.h"

namespace detnn {

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

void Socket::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Socket::shutdown() noexcept {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Socket::send_all(const void* data, size_t size, const char* what) const {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    // MSG_NOSIGNAL: a peer that died must give an error here, not kill this process by SIGPIPE.
    const ssize_t n = ::send(fd_, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) DETNN_THROW(comm, what, ": the connection was lost while sending (", std::strerror(errno), ")");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void Socket::receive_all(void* data, size_t size, const char* what) const {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::recv(fd_, p, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) DETNN_THROW(comm, what, ": the connection was closed by the other side");
    if (n < 0) DETNN_THROW(comm, what, ": the connection was lost while receiving (", std::strerror(errno), ")");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

Socket listen_tcp(int port, int* port_out) {
  DETNN_CHECK(port >= 0 && port <= 65535, invalid_argument, "TCP port ", port, " is not in [0, 65535]");
  Socket s(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  bool v6 = s.valid();
  if (!v6) s = Socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) DETNN_THROW(comm, "cannot create a TCP socket: ", std::strerror(errno));
  const int one = 1, zero = 0;
  // A rerun right after a run must be able to take the same port (TIME_WAIT).
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    ::setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // IPv4 peers too
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    rc = ::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(static_cast<uint16_t>(port));
    rc = ::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) DETNN_THROW(comm, "cannot listen on TCP port ", port, ": ", std::strerror(errno));
  if (::listen(s.fd(), 128) != 0) DETNN_THROW(comm, "cannot listen on TCP port ", port, ": ", std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&bound), &len);
  if (port_out != nullptr)
    *port_out = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return s;
}

Socket accept_tcp(const Socket& listener) {
  for (;;) {
    const int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return Socket(fd);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return Socket();  // shut down (EINVAL) or out of descriptors: the server stops accepting
  }
}

Socket connect_tcp(const std::string& host, int port, std::chrono::steady_clock::time_point deadline) {
  std::string reason = "no attempt";
  for (auto wait = std::chrono::milliseconds(10);; wait = std::min(wait * 2, std::chrono::milliseconds(500))) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    const int gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (gai != 0) {
      reason = std::string("cannot resolve the host name (") + ::gai_strerror(gai) + ")";
    } else {
      for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
        Socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!s.valid()) continue;
        if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) == 0) {
          ::freeaddrinfo(list);
          const int one = 1;
          ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          return s;
        }
        reason = std::strerror(errno);
      }
      ::freeaddrinfo(list);
    }
    if (std::chrono::steady_clock::now() + wait > deadline)
      DETNN_THROW(comm, "cannot connect to ", host, ":", port, ": ", reason);
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace detnn
