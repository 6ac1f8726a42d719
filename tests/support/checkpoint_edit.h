// Rewriting a checkpoint's metadata for the tests of what a load refuses.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/io/safetensors.h"
#include "session/checkpoint.h"

namespace detnn::testing {

// How a rewrite treats the metadata digest: kept as written (so the load finds the change by its
// digest) or recomputed (a consistent file whose content the other checks must catch).
enum class MetadataDigest { keep, recompute };

// Sets each key to its value (nullopt removes it) and writes the file back.
inline void rewrite_checkpoint_metadata(const std::filesystem::path& path,
                                        const std::map<std::string, std::optional<std::string>>& changes,
                                        MetadataDigest digest) {
  const SafetensorsFile file = read_safetensors(path.string());
  std::vector<SafetensorsTensorView> views;
  for (const SafetensorsTensor& t : file.tensors) views.push_back(t.view());
  std::map<std::string, std::string> metadata = file.metadata;
  for (const auto& [key, value] : changes) {
    if (value)
      metadata[key] = *value;
    else
      metadata.erase(key);
  }
  if (digest == MetadataDigest::recompute) metadata["metadata_sha256"] = checkpoint_metadata_sha256(metadata);
  write_safetensors(path.string(), views, metadata);
}

}  // namespace detnn::testing
