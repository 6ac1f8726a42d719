#include "runtime/io/sha256.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include "runtime/error.h"

namespace detnn {
namespace {

// OpenSSL reports failures through its thread-local error queue; drain it into the message.
[[noreturn]] void throw_openssl_error(const char* what) {
  std::string details;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!details.empty()) details += "; ";
    details += buf;
  }
  DETNN_THROW(internal, "SHA-256: ", what, " failed", details.empty() ? "" : ": ", details);
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

Sha256::Sha256() {
  ctx_ = EVP_MD_CTX_new();
  if (ctx_ == nullptr) throw_openssl_error("EVP_MD_CTX_new");
  restart();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Sha256::restart() {
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) throw_openssl_error("EVP_DigestInit_ex");
}

void Sha256::update(const void* data, size_t size) {
  DETNN_CHECK(ctx_ != nullptr, invalid_argument, "Sha256::update on a moved-from object");
  if (size == 0) return;
  if (EVP_DigestUpdate(ctx_, data, size) != 1) throw_openssl_error("EVP_DigestUpdate");
}

void Sha256::update(std::span<const uint8_t> bytes) { update(bytes.data(), bytes.size()); }

Sha256Digest Sha256::finish() {
  DETNN_CHECK(ctx_ != nullptr, invalid_argument, "Sha256::finish on a moved-from object");
  Sha256Digest digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_, digest.data(), &length) != 1) throw_openssl_error("EVP_DigestFinal_ex");
  DETNN_CHECK(length == digest.size(), internal, "SHA-256 digest of ", length, " bytes");
  restart();
  return digest;
}

std::string Sha256::finish_hex() { return to_hex(finish()); }

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string sha256_hex(std::span<const uint8_t> bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.finish_hex();
}

std::string sha256_file_hex(const std::string& path) {
  int fd;
  do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) DETNN_THROW(io, "cannot open '", path, "' for hashing: ", errno_text(errno));

  Sha256 hash;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int err = errno;
      ::close(fd);
      DETNN_THROW(io, "cannot read '", path, "' for hashing: ", errno_text(err));
    }
    if (got == 0) break;
    hash.update(chunk.data(), static_cast<size_t>(got));
  }
  ::close(fd);
  return hash.finish_hex();
}

std::string sha256_of_floats(const float* values, size_t count) {
  DETNN_CHECK(values != nullptr || count == 0, invalid_argument,
              "sha256_of_floats: null pointer for ", count, " values");
  Sha256 hash;
  if constexpr (std::endian::native == std::endian::little) {
    hash.update(values, count * sizeof(float));
  } else {
    // Big-endian host: byte-swap in small batches so the digest matches little-endian ones.
    uint32_t batch[1024];
    for (size_t i = 0; i < count;) {
      size_t n = std::min<size_t>(count - i, 1024);
      std::memcpy(batch, values + i, n * sizeof(float));
      for (size_t j = 0; j < n; ++j) batch[j] = __builtin_bswap32(batch[j]);
      hash.update(batch, n * sizeof(float));
      i += n;
    }
  }
  return hash.finish_hex();
}

}  // namespace detnn
