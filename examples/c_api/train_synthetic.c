/* Training a tiny CNN through detnn's C API, on synthetic data made here.
 *
 * It trains some steps, evaluates, prints loss, accuracy and the weights' SHA-256, saves a
 * checkpoint half way, reloads it into a fresh session, continues, and checks that the resumed
 * run ends with the same SHA-256 as the uninterrupted one: detnn's resume guarantee.
 * Exits non-zero on any error, printing detnn_last_error().
 *
 * Build: see README.md in this folder (CMake with find_package(detnn), or pkg-config). C11. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detnn/detnn.h"

/* The model file, inline: 1 x 8 x 8 inputs, 4 classes, global batch 32 in reduction chunks of 8,
 * SGD with momentum. Comments are allowed in detnn model files. */
static const char* kModel =
    "{\n"
    "  \"name\": \"tiny-synthetic\",\n"
    "  \"input\": [1, 8, 8],                        // channels, height, width\n"
    "  \"layers\": [\n"
    "    {\"type\": \"conv2d\", \"out_channels\": 8, \"kernel\": 3, \"padding\": 1},\n"
    "    {\"type\": \"relu\"},\n"
    "    {\"type\": \"maxpool2d\", \"kernel\": 2},   // 8 x 4 x 4\n"
    "    {\"type\": \"flatten\"},\n"
    "    {\"type\": \"linear\", \"out_features\": 4}  // one score per class\n"
    "  ],\n"
    "  \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.02, \"momentum\": 0.9},\n"
    "  \"training\": {\"batch_size\": 32, \"chunk_size\": 8, \"seed\": 1}\n"
    "}\n";

#define CLASSES 4
#define SIDE 8
#define SAMPLE (SIDE * SIDE)
#define BATCH 32
#define STEPS 40
#define SPLIT 20
#define EVAL_SAMPLES 256

/* A deterministic generator (64-bit LCG, high bits): no dependence on the C library's rand(). */
static uint32_t next_u32(uint64_t* state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*state >> 33);
}

/* Sample i (a pure function of seed and i): noise in [-0.5, 0.5) plus a slightly brighter quadrant that
 * is its label. */
static void make_samples(uint64_t seed, int64_t first, int64_t n, float* images, int32_t* labels) {
  int64_t i;
  int p;
  for (i = 0; i < n; ++i) {
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(first + i) * 0xD1B54A32D192ED03ULL;
    const int32_t label = (int32_t)(next_u32(&state) % CLASSES);
    for (p = 0; p < SAMPLE; ++p) {
      const int quadrant = (p / SIDE >= SIDE / 2) * 2 + (p % SIDE >= SIDE / 2);
      images[i * SAMPLE + p] = (float)(next_u32(&state) >> 8) * (1.0f / 16777216.0f) - 0.5f +
                               (quadrant == label ? 0.25f : 0.0f);
    }
    labels[i] = label;
  }
}

#define CHECK(call)                                                                     \
  do {                                                                                  \
    detnn_status st_ = (call);                                                          \
    if (st_ != DETNN_OK) {                                                              \
      fprintf(stderr, "error: %s failed: %s: %s\n", #call, detnn_status_string(st_),  \
              detnn_last_error());                                                      \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)

/* Trains steps [first, last) on the training stream (seed 1). */
static void train(detnn_session* session, int64_t first, int64_t last, float* images, int32_t* labels) {
  int64_t step;
  for (step = first; step < last; ++step) {
    detnn_step_metrics m;
    make_samples(1, step * BATCH, BATCH, images, labels);
    CHECK(detnn_session_train_step(session, images, labels, BATCH, &m));
    if ((step + 1) % 10 == 0)
      printf("step %3lld  loss %.4f  batch accuracy %lld/%lld  lr %.4f\n", (long long)(step + 1), m.loss,
             (long long)m.correct, (long long)m.samples, m.lr);
  }
}

int main(int argc, char** argv) {
  const char* checkpoint = argc > 1 ? argv[1] : "train_synthetic.ckpt.safetensors";
  detnn_context* context = NULL;
  detnn_model* model = NULL;
  detnn_session *session = NULL, *resumed = NULL;
  detnn_eval_metrics eval;
  int64_t batch = 0, params = 0, step = 0, epoch = 0, in_epoch = 0;
  const char* name = NULL;
  char sha_full[65], sha_resumed[65];
  float* images = (float*)malloc(sizeof(float) * EVAL_SAMPLES * SAMPLE);
  int32_t* labels = (int32_t*)malloc(sizeof(int32_t) * EVAL_SAMPLES);
  if (images == NULL || labels == NULL) return 1;

  printf("detnn %s\n", detnn_version());
  CHECK(detnn_context_create("cpu", "strict", 0, &context)); /* 0 threads: all cores */
  CHECK(detnn_model_load_json(kModel, &model));
  CHECK(detnn_model_name(model, &name));
  CHECK(detnn_model_batch_size(model, &batch));
  CHECK(detnn_model_parameter_count(model, &params));
  printf("model %s: %lld parameters, batch %lld\n", name, (long long)params, (long long)batch);
  if (batch != BATCH) return 1;

  /* The uninterrupted run, with a checkpoint half way. */
  CHECK(detnn_session_create(context, model, &session));
  CHECK(detnn_session_set_schedule(session, STEPS, STEPS));
  train(session, 0, SPLIT, images, labels);
  CHECK(detnn_session_save_checkpoint(session, checkpoint, 0, SPLIT));
  train(session, SPLIT, STEPS, images, labels);
  make_samples(2, 0, EVAL_SAMPLES, images, labels); /* held-out samples: another seed */
  CHECK(detnn_session_evaluate(session, images, labels, EVAL_SAMPLES, &eval));
  CHECK(detnn_session_weights_sha256(session, sha_full));
  printf("eval: loss %.4f  accuracy %.1f%% (%lld/%lld)\n", eval.loss, 100.0 * (double)eval.correct / (double)eval.samples,
         (long long)eval.correct, (long long)eval.samples);
  printf("weights sha256 %s\n", sha_full);

  /* A fresh session resumed from the checkpoint. */
  CHECK(detnn_session_create(context, model, &resumed));
  CHECK(detnn_session_set_schedule(resumed, STEPS, STEPS)); /* not part of the checkpoint */
  CHECK(detnn_session_load_checkpoint(resumed, checkpoint));
  CHECK(detnn_session_checkpoint_position(resumed, &step, &epoch, &in_epoch));
  printf("resumed from %s at step %lld\n", checkpoint, (long long)step);
  train(resumed, step, STEPS, images, labels);
  CHECK(detnn_session_weights_sha256(resumed, sha_resumed));
  printf("resumed sha256 %s\n", sha_resumed);

  detnn_session_destroy(resumed);
  detnn_session_destroy(session);
  detnn_model_destroy(model);
  detnn_context_destroy(context);
  free(images);
  free(labels);
  if (strcmp(sha_full, sha_resumed) != 0) {
    fprintf(stderr, "error: the resumed run differs from the uninterrupted one\n");
    return 1;
  }
  printf("resume check: identical weights\n");
  return 0;
}
