// SHA-256 through OpenSSL's EVP interface: tensor and file fingerprints (DESIGN §5, §9).
// Digests are what make "bitwise reproducible" checkable: two runs agree when their
// fingerprints agree, so every hash here is over a fixed byte order (little-endian).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX; kept opaque so callers need no OpenSSL headers

namespace detnn {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256. finish() returns the digest and resets the object, so one
// instance can hash several messages in turn. Move-only.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const uint8_t> bytes);
  void update(const void* data, size_t size);
  Sha256Digest finish();
  std::string finish_hex();  // lowercase, 64 characters

 private:
  void restart();
  evp_md_ctx_st* ctx_ = nullptr;
};

// Lowercase hexadecimal, two characters per byte.
std::string to_hex(std::span<const uint8_t> bytes);

std::string sha256_hex(std::span<const uint8_t> bytes);

// Streams the file in chunks; Error(io) naming the file when it cannot be read.
std::string sha256_file_hex(const std::string& path);

// Fingerprint of a float tensor: SHA-256 of its little-endian IEEE-754 bytes, so the
// same values give the same hex string on any host.
std::string sha256_of_floats(const float* values, size_t count);

}  // namespace detnn
