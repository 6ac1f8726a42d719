/* The second process of the resume test (tests/capi/session_state_test.cpp): loads a model file
 * and a checkpoint into a fresh session, trains `steps` more steps on the synthetic batches that
 * follow the checkpoint's step, and prints the whole state's SHA-256 (detnn_session_state_sha256).
 * Written in C11 against the public header only, so it also checks that the header is plain C.
 * Usage: resume_child MODEL_FILE CHECKPOINT STEPS DATA_SEED */
#include <stdio.h>
#include <stdlib.h>

#include "detnn/detnn.h"
#include "synthetic_data.h"

static int fail(const char* what, detnn_status st) {
  fprintf(stderr, "resume_child: %s: %s: %s\n", what, detnn_status_string(st), detnn_last_error());
  return 1;
}

int main(int argc, char** argv) {
  detnn_context* ctx = NULL;
  detnn_model* model = NULL;
  detnn_session* session = NULL;
  detnn_status st;
  int64_t batch = 0, step = 0, epoch = 0, in_epoch = 0, s, steps;
  uint64_t seed;
  float* images;
  int32_t* labels;
  char sha[65];
  int rc = 0;
  if (argc != 5) {
    fprintf(stderr, "usage: resume_child MODEL_FILE CHECKPOINT STEPS DATA_SEED\n");
    return 2;
  }
  steps = atoll(argv[3]);
  seed = (uint64_t)strtoull(argv[4], NULL, 10);
  if ((st = detnn_context_create(NULL, NULL, -1, &ctx)) != DETNN_OK) return fail("context", st);
  if ((st = detnn_model_load_file(argv[1], &model)) != DETNN_OK) return fail("model", st);
  if ((st = detnn_session_create(ctx, model, &session)) != DETNN_OK) return fail("session", st);
  if ((st = detnn_model_batch_size(model, &batch)) != DETNN_OK) return fail("batch size", st);
  if ((st = detnn_session_load_checkpoint(session, argv[2])) != DETNN_OK) return fail("load", st);
  if ((st = detnn_session_checkpoint_position(session, &step, &epoch, &in_epoch)) != DETNN_OK)
    return fail("position", st);
  images = (float*)malloc((size_t)(batch * SYNTH_SAMPLE) * sizeof(float));
  labels = (int32_t*)malloc((size_t)batch * sizeof(int32_t));
  for (s = step; s < step + steps && rc == 0; ++s) {
    detnn_step_metrics m;
    synth_samples(seed, s * batch, batch, images, labels);
    if ((st = detnn_session_train_step(session, images, labels, batch, &m)) != DETNN_OK) rc = fail("train", st);
  }
  if (rc == 0 && (st = detnn_session_state_sha256(session, sha)) != DETNN_OK) rc = fail("sha", st);
  if (rc == 0) printf("%s\n", sha);
  free(images);
  free(labels);
  detnn_session_destroy(session);
  detnn_model_destroy(model);
  detnn_context_destroy(ctx);
  return rc;
}
