// Writing safetensors. The header JSON is assembled by hand (each string escaped by
// nlohmann) so its key order is fixed: "__metadata__" first with keys sorted, then the
// tensors in the order given, each as {"dtype","shape","data_offsets"}. Same inputs,
// same bytes -- the file's hash is a fingerprint of the checkpoint.
#include <array>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/safetensors_header.h"

namespace detnn {
namespace {

struct EncodedHeader {
  std::string json;              // padded with spaces to a multiple of 8 bytes
  std::vector<uint64_t> sizes;   // bytes of each tensor, in the order given
};

std::string json_string(const std::string& s, const char* what) {
  try {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    DETNN_THROW(invalid_argument, "write_safetensors: ", what, " is not valid UTF-8");
  }
}

EncodedHeader encode_header(const std::vector<SafetensorsTensorView>& tensors,
                            const std::map<std::string, std::string>& metadata) {
  EncodedHeader out;
  std::string& h = out.json;
  h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) h += ',';
      first = false;
      h += json_string(key, "a metadata key");
      h += ':';
      h += json_string(value, ("metadata value of \"" + key + "\"").c_str());
    }
    h += '}';
  }

  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsTensorView& t : tensors) {
    DETNN_CHECK(t.name != "__metadata__", invalid_argument,
                "write_safetensors: \"__metadata__\" is reserved and cannot name a tensor");
    DETNN_CHECK(names.insert(t.name).second, invalid_argument, "write_safetensors: tensor name \"", t.name,
                "\" appears twice");
    for (int64_t d : t.shape)
      DETNN_CHECK(d >= 0, invalid_argument, "write_safetensors: tensor \"", t.name, "\" has shape ",
                  safetensors_detail::shape_text(t.shape), " with a negative dimension");
    uint64_t size = 0;
    DETNN_CHECK(safetensors_detail::byte_size_of(t.dtype, t.shape, &size), invalid_argument,
                "write_safetensors: tensor \"", t.name, "\" shape ", safetensors_detail::shape_text(t.shape),
                " needs more than 2^64 bytes");
    DETNN_CHECK(t.data != nullptr || size == 0, invalid_argument, "write_safetensors: tensor \"", t.name,
                "\" has null data for ", size, " bytes");
    uint64_t end = 0;
    DETNN_CHECK(!__builtin_add_overflow(offset, size, &end), invalid_argument,
                "write_safetensors: the tensors add up to more than 2^64 bytes");

    if (h.size() > 1) h += ',';
    h += json_string(t.name, "a tensor name");
    h += ":{\"dtype\":\"";
    h += dtype_name(t.dtype);
    h += "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) h += ',';
      h += std::to_string(t.shape[i]);
    }
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    out.sizes.push_back(size);
    offset = end;
  }
  h += '}';
  h.append((8 - h.size() % 8) % 8, ' ');
  DETNN_CHECK(h.size() <= kSafetensorsMaxHeaderBytes, invalid_argument, "write_safetensors: the header would be ",
              h.size(), " bytes, over the ", kSafetensorsMaxHeaderBytes, "-byte limit readers accept");
  return out;
}

std::array<uint8_t, 8> little_endian_u64(uint64_t n) {
  std::array<uint8_t, 8> b{};
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
  return b;
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const std::vector<SafetensorsTensorView>& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  EncodedHeader header = encode_header(tensors, metadata);
  uint64_t total = 8 + header.json.size();
  for (uint64_t s : header.sizes) total += s;
  std::vector<uint8_t> out;
  out.reserve(total);
  auto prefix = little_endian_u64(header.json.size());
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.insert(out.end(), header.json.begin(), header.json.end());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto* data = static_cast<const uint8_t*>(tensors[i].data);
    if (header.sizes[i] > 0) out.insert(out.end(), data, data + header.sizes[i]);
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  EncodedHeader header = encode_header(tensors, metadata);
  AtomicFileWriter writer(path);
  writer.write(little_endian_u64(header.json.size()));
  writer.write(header.json.data(), header.json.size());
  for (size_t i = 0; i < tensors.size(); ++i)
    if (header.sizes[i] > 0) writer.write(tensors[i].data, header.sizes[i]);
  writer.commit();
}

}  // namespace detnn
