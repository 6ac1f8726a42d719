#include "runtime/comm/all_reduce_algorithm.h"

#include <cstdlib>

#include "runtime/error.h"

namespace detnn {

const char* all_reduce_algorithm_name(AllReduceAlgorithm algorithm) {
  return algorithm == AllReduceAlgorithm::all_to_all ? "all-to-all" : "recursive-halving";
}

AllReduceAlgorithm parse_all_reduce_algorithm(const std::string& name, const std::string& where) {
  if (name == "recursive-halving") return AllReduceAlgorithm::recursive_halving;
  if (name == "all-to-all") return AllReduceAlgorithm::all_to_all;
  DETNN_THROW(invalid_argument, where, ": \"", name, "\" is not an all-reduce algorithm (recursive-halving or all-to-all)");
}

std::optional<AllReduceAlgorithm> all_reduce_algorithm_from_environment() {
  const char* value = std::getenv("DETNN_ALL_REDUCE");
  if (value == nullptr || *value == '\0') return std::nullopt;
  return parse_all_reduce_algorithm(value, "DETNN_ALL_REDUCE");
}

}  // namespace detnn
