// Reading safetensors: from memory, or from a file with each tensor read straight into
// its own buffer (no second copy of a large checkpoint). Validation is shared through
// safetensors_header.h, so both paths accept and reject exactly the same files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "runtime/error.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/safetensors_header.h"

namespace detnn {
namespace {

using safetensors_detail::HeaderEntry;
using safetensors_detail::Layout;

constexpr uint64_t kPrefixBytes = 8;

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

[[noreturn]] void throw_too_short(const std::string& source, uint64_t size) {
  DETNN_THROW(format, source, ": safetensors file is ", size,
              " bytes, shorter than the 8-byte header length that starts it");
}

SafetensorsTensor tensor_from(const HeaderEntry& e) {
  SafetensorsTensor t;
  t.name = e.name;
  t.dtype = e.dtype;
  t.shape = e.shape;
  return t;
}

// Closes the descriptor on every path out of read_safetensors.
struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

void read_exactly(int fd, uint64_t offset, void* dest, uint64_t size, const std::string& path) {
  auto* p = static_cast<uint8_t*>(dest);
  while (size > 0) {
    ssize_t got = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) DETNN_THROW(io, "cannot read '", path, "' at byte ", offset, ": ", errno_text(errno));
    if (got == 0) DETNN_THROW(io, "cannot read '", path, "': it ended at byte ", offset, " (changed while reading?)");
    p += got;
    offset += static_cast<uint64_t>(got);
    size -= static_cast<uint64_t>(got);
  }
}

}  // namespace

int64_t SafetensorsTensor::element_count() const {
  // A zero dimension first: [2^62, 2^62, 0] is empty, and multiplying in order would overflow.
  uint64_t n = 1;
  for (int64_t d : shape)
    if (d == 0) return 0;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  for (const SafetensorsTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& source_name) {
  if (bytes.size() < kPrefixBytes) throw_too_short(source_name, bytes.size());
  uint64_t header_length = safetensors_detail::checked_header_length(bytes.data(), bytes.size(), source_name);
  std::span<const uint8_t> header = bytes.subspan(kPrefixBytes, header_length);
  std::span<const uint8_t> buffer = bytes.subspan(kPrefixBytes + header_length);
  Layout layout = safetensors_detail::parse_header(header, buffer.size(), source_name);

  SafetensorsFile file;
  file.metadata = std::move(layout.metadata);
  file.tensors.reserve(layout.entries.size());
  for (const HeaderEntry& e : layout.entries) {
    SafetensorsTensor& t = file.tensors.emplace_back(tensor_from(e));
    t.bytes.assign(buffer.begin() + e.begin, buffer.begin() + e.end);
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  FileDescriptor file_fd;
  do file_fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (file_fd.fd < 0 && errno == EINTR);
  if (file_fd.fd < 0) DETNN_THROW(io, "cannot open '", path, "': ", errno_text(errno));
  struct stat st {};
  if (::fstat(file_fd.fd, &st) != 0) DETNN_THROW(io, "cannot stat '", path, "': ", errno_text(errno));
  if (!S_ISREG(st.st_mode)) DETNN_THROW(io, "cannot read '", path, "': not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  if (file_size < kPrefixBytes) throw_too_short(path, file_size);
  uint8_t prefix[kPrefixBytes];
  read_exactly(file_fd.fd, 0, prefix, kPrefixBytes, path);
  uint64_t header_length = safetensors_detail::checked_header_length(prefix, file_size, path);
  std::vector<uint8_t> header(header_length);
  read_exactly(file_fd.fd, kPrefixBytes, header.data(), header_length, path);
  const uint64_t data_start = kPrefixBytes + header_length;
  Layout layout = safetensors_detail::parse_header(header, file_size - data_start, path);

  SafetensorsFile file;
  file.metadata = std::move(layout.metadata);
  file.tensors.reserve(layout.entries.size());
  for (const HeaderEntry& e : layout.entries) {
    SafetensorsTensor& t = file.tensors.emplace_back(tensor_from(e));
    t.bytes.resize(e.end - e.begin);
    read_exactly(file_fd.fd, data_start + e.begin, t.bytes.data(), t.bytes.size(), path);
  }
  return file;
}

}  // namespace detnn
