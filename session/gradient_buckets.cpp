#include "session/gradient_buckets.h"

#include "runtime/error.h"

namespace detnn {

std::vector<GradientBucket> plan_gradient_buckets(layers::Sequential& net,
                                                  const std::vector<layers::TensorEntry>& entries,
                                                  int64_t target_count) {
  DETNN_CHECK(target_count >= 1, invalid_argument, "gradient buckets: the target size must be >= 1, got ",
              target_count);
  // Which parameters each top-level layer owns: the model lays them out in collection order.
  const size_t layers = net.layers().size();
  std::vector<size_t> first_entry(layers + 1, 0);
  for (size_t i = 0; i < layers; ++i) {
    std::vector<layers::ParamSlot*> slots;
    net.layers()[i]->collect_params(slots);
    first_entry[i + 1] = first_entry[i] + slots.size();
  }
  DETNN_CHECK(first_entry[layers] == entries.size(), internal, "gradient buckets: the layers own ",
              first_entry[layers], " parameters but the model has ", entries.size());

  std::vector<GradientBucket> buckets;
  size_t end = entries.size();  // the open bucket holds entries [first_entry[i], end)
  for (size_t i = layers; i-- > 0;) {
    const size_t begin = first_entry[i];
    if (begin == end) continue;  // nothing open yet
    const int64_t count = entries[end - 1].offset + entries[end - 1].size - entries[begin].offset;
    if (count < target_count && i > 0) continue;  // grows by the layers before this one
    buckets.push_back({i, begin, end, entries[begin].offset, count});
    end = begin;
  }
  return buckets;
}

}  // namespace detnn
