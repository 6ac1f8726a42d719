// The environment fingerprint (written into every manifest and checkpoint): detnn version and
// commit, compiler and floating-point flags, CUDA driver/runtime and library versions, devices.
#pragma once

#include <string>

namespace detnn {

// The fingerprint as a JSON document (indent < 0: one line).
std::string environment_fingerprint_json(int indent = 2);

const char* version_string();  // "0.1.0"
const char* git_commit();      // the commit the library was built from, or "unknown"
bool git_dirty();              // whether the tree had uncommitted changes at build time

}  // namespace detnn
