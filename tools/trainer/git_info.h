// The git commit and dirty flag of the repository holding a file (the model file), for the
// manifest: a run records which version of its configuration it used.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace trainer {

// {"commit": "...", "dirty": bool, "root": "..."} or null when the file is not in a git
// repository (or git is not installed).
nlohmann::json git_info_for(const std::filesystem::path& file);

}  // namespace trainer
