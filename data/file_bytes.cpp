#include "data/file_bytes.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

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
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());  // whole files above 4 GiB are not expected here
  int rc = Z_OK;
  for (;;) {
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // another member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ran out before the stream ended
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

FileBytes read_file_bytes(const std::filesystem::path& path) {
  FileBytes f;
  f.name = path.string();
  f.bytes = read_raw(path);
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
