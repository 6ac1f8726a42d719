/* Synthetic classification data for the C API tests, shared by the C++ tests and the C child
 * program (resume_child.c), so both make the same batches. Sample i of a data set is a pure
 * function of (seed, i): 1 x 8 x 8 noise in [-0.5, 0.5) with a bright 4 x 4 quadrant that is
 * its label (4 classes). Plain C99. */
#ifndef DETNN_TESTS_CAPI_SYNTHETIC_DATA_H
#define DETNN_TESTS_CAPI_SYNTHETIC_DATA_H

#include <stdint.h>

#define SYNTH_CLASSES 4
#define SYNTH_SIDE 8
#define SYNTH_SAMPLE (SYNTH_SIDE * SYNTH_SIDE)

static inline uint32_t synth_next(uint64_t* state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*state >> 33);
}

/* Samples [first, first + n) into images [n, 1, 8, 8] and labels [n]. */
static inline void synth_samples(uint64_t seed, int64_t first, int64_t n, float* images, int32_t* labels) {
  int64_t i;
  int p;
  for (i = 0; i < n; ++i) {
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(first + i) * 0xD1B54A32D192ED03ULL;
    const int32_t label = (int32_t)(synth_next(&state) % SYNTH_CLASSES);
    float* img = images + i * SYNTH_SAMPLE;
    for (p = 0; p < SYNTH_SAMPLE; ++p) {
      const int y = p / SYNTH_SIDE, x = p % SYNTH_SIDE;
      const int quadrant = (y >= SYNTH_SIDE / 2) * 2 + (x >= SYNTH_SIDE / 2);
      img[p] = (float)(synth_next(&state) >> 8) * (1.0f / 16777216.0f) - 0.5f + (quadrant == label ? 1.0f : 0.0f);
    }
    labels[i] = label;
  }
}

#endif
