#include "kernels/count_correct.h"

#include "runtime/error.h"

namespace detnn::kernels {

void count_correct_cpu(const float* logits, const int32_t* labels, int64_t n, int64_t classes, int64_t* count) {
  DETNN_CHECK(n >= 0 && classes >= 1, invalid_argument, "count_correct: n = ", n, ", classes = ", classes);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * classes;
    int64_t best = 0;
    for (int64_t k = 1; k < classes; ++k)
      if (row[k] > row[best]) best = k;
    correct += best == labels[i];
  }
  *count += correct;
}

}  // namespace detnn::kernels
