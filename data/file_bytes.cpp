#include "data/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "runtime/device.h"
#include "runtime/error.h"

namespace detnn::data {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

std::vector<uint8_t> read_raw(const std::filesystem::path& path) {
  File file;
  file.f = std::fopen(path.c_str(), "rb");
  if (!file.f) DETNN_THROW(io, path.string(), ": cannot open: ", errno_text(errno));
  std::error_code size_error;
  const uintmax_t size = std::filesystem::file_size(path, size_error);
  if (!size_error) check_fits_device_memory(static_cast<double>(size), Device::cpu(), path.string() + ": reading the file");
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    const size_t got = std::fread(chunk, 1, sizeof chunk, file.f);
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (got < sizeof chunk) break;
  }
  if (std::ferror(file.f)) DETNN_THROW(io, path.string(), ": cannot read at byte ", bytes.size(), ": ", errno_text(errno));
  return bytes;
}

// Inflates every gzip member in turn (`cat a.gz b.gz` is a valid gzip file, as gunzip sees it).
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& name) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) DETNN_THROW(internal, name, ": zlib inflateInit2 failed");
  std::vector<uint8_t> out;
  uint8_t chunk[1 << 16];
  constexpr size_t kCheckEvery = size_t{64} << 20;
  size_t next_check = kCheckEvery;
  // zlib counts input in 32 bits: a file above 4 GiB is fed in pieces.
  size_t fed = 0;
  const auto feed = [&] {
    if (z.avail_in != 0 || fed == in.size()) return;
    const size_t take = std::min(in.size() - fed, size_t{1} << 30);
    z.next_in = const_cast<Bytef*>(in.data() + fed);
    z.avail_in = static_cast<uInt>(take);
    fed += take;
  };
  const auto input_left = [&] { return z.avail_in != 0 || fed < in.size(); };
  int rc = Z_OK;
  for (;;) {
    feed();
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
    // A small file can inflate a thousandfold: stop when the host could not hold the result.
    if (out.size() >= next_check) {
      next_check += kCheckEvery;
      try {
        check_fits_device_memory(2.0 * static_cast<double>(out.size()), Device::cpu(), name + ": decompressing the file");
      } catch (...) {
        inflateEnd(&z);
        throw;
      }
    }
    if (rc == Z_STREAM_END) {
      if (!input_left()) break;
      inflateReset(&z);  // another member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && !input_left()) break;  // input ran out before the stream ended
    break;
  }
  const std::string message = z.msg ? z.msg : "";
  inflateEnd(&z);
  if (rc == Z_STREAM_END) return out;
  if (rc == Z_BUF_ERROR || rc == Z_OK)
    DETNN_THROW(format, name, ": gzip stream is truncated: it ends after ", out.size(), " decompressed bytes");
  DETNN_THROW(format, name, ": corrupt gzip stream after ", out.size(), " decompressed bytes",
              message.empty() ? "" : ": ", message);
}

}  // namespace

FileBytes read_file_bytes(const std::filesystem::path& path) { return file_bytes_from_memory(path.string(), read_raw(path)); }

FileBytes file_bytes_from_memory(std::string name, std::vector<uint8_t> bytes) {
  FileBytes f;
  f.name = std::move(name);
  f.bytes = std::move(bytes);
  if (f.bytes.size() >= 2 && f.bytes[0] == 0x1f && f.bytes[1] == 0x8b) {
    f.bytes = gunzip(f.bytes, f.name);
    f.gzipped = true;
  }
  return f;
}

int64_t saturating_mul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > INT64_MAX / b) return INT64_MAX;
  return a * b;
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t load_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace detnn::data
