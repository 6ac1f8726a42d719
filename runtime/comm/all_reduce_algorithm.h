// Which message pattern a communicator uses for its deterministic float all-reduce (DESIGN §6).
// Both give the same bits — the pairwise rank-order combine — and move the same bytes per rank
// (those of a ring); they differ in messages: the all-to-all sends P - 1 per rank in one round
// (fine on one box, latency-bound at hundreds of ranks), recursive halving log2 P rounds of one
// or a few. The all-to-all stays selectable to compare the two.
#pragma once

#include <optional>
#include <string>

namespace detnn {

enum class AllReduceAlgorithm { recursive_halving, all_to_all };

// "recursive-halving", "all-to-all".
const char* all_reduce_algorithm_name(AllReduceAlgorithm algorithm);
// The inverse of all_reduce_algorithm_name; Error(invalid_argument) naming `where` and the
// accepted names otherwise.
AllReduceAlgorithm parse_all_reduce_algorithm(const std::string& name, const std::string& where);
// DETNN_ALL_REDUCE when set (a bad value is an error naming the variable), else nullopt.
std::optional<AllReduceAlgorithm> all_reduce_algorithm_from_environment();

}  // namespace detnn
