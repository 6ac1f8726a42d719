#include "runtime/determinism.h"

#include "runtime/error.h"

namespace detnn {

Determinism parse_determinism(const std::string& name) {
  if (name == "strict") return Determinism::strict;
  if (name == "fast") return Determinism::fast;
  if (name == "off") return Determinism::off;
  DETNN_THROW(invalid_argument, "determinism \"", name, "\" is not one of strict, fast, off");
}

const char* determinism_name(Determinism d) {
  switch (d) {
    case Determinism::strict: return "strict";
    case Determinism::fast: return "fast";
    case Determinism::off: return "off";
  }
  return "?";
}

}  // namespace detnn
