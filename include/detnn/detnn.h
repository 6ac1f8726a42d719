/* detnn — bitwise-reproducible deep-learning training. The public C API (docs/c-api.md).
 *
 * Conventions: every function returns a detnn_status (except the destroy functions, which
 * cannot fail); DETNN_OK is success. On failure, detnn_last_error() returns a message saying
 * what went wrong and where; it is per thread and stays valid until the next detnn call on the
 * same thread. No C++ exception ever crosses this API. A NULL handle or pointer argument is
 * DETNN_ERROR_INVALID_ARGUMENT with a message naming it. Strings returned by detnn are owned by
 * detnn. On failure, output arguments are left as they were.
 *
 * Handles: detnn_context (where and how to compute), detnn_model (a parsed model file) and
 * detnn_session (a model instance with its optimizer, on a context). Each is created by a
 * *_create / *_load_* function and released by its *_destroy function. A session copies what
 * it needs from its context and model, so those may be destroyed right after
 * detnn_session_create. A handle must not be used by two threads at the same time; different
 * handles may be used from different threads. A detnn_group (the data-parallel ranks of a run)
 * is the exception: its functions may be called from any thread. */
#ifndef DETNN_DETNN_H
#define DETNN_DETNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum detnn_status {
  DETNN_OK = 0,
  DETNN_ERROR_INVALID_ARGUMENT = 1, /* a caller passed something impossible */
  DETNN_ERROR_OUT_OF_MEMORY = 2,    /* host or device memory exhausted (message has the stats) */
  DETNN_ERROR_CUDA = 3,             /* the CUDA runtime or driver failed */
  DETNN_ERROR_CUBLAS = 4,
  DETNN_ERROR_CUDNN = 5,
  DETNN_ERROR_NCCL = 6,
  DETNN_ERROR_IO = 7,          /* a file could not be opened, read or written */
  DETNN_ERROR_FORMAT = 8,      /* a file or document is malformed */
  DETNN_ERROR_UNSUPPORTED = 9, /* valid, but this build or mode cannot do it */
  DETNN_ERROR_INTERNAL = 10,   /* a bug in detnn: please report it with the message */
  DETNN_ERROR_COMM = 11        /* another rank of the group failed, or a collective timed out */
} detnn_status;

/* A short constant English name for a status ("invalid argument"). Never NULL. */
const char* detnn_status_string(detnn_status status);

/* The message of the last failed call on this thread ("" if none). Never NULL. */
const char* detnn_last_error(void);
/* Where in detnn's source the last failed call on this thread was refused ("<condition> at
 * <file>:<line>", "" if none or unknown): for debug logs and bug reports; the message above never
 * carries it, except for DETNN_ERROR_INTERNAL. Never NULL. */
const char* detnn_last_error_location(void);

/* The library version, e.g. "0.1.0". Never NULL. */
const char* detnn_version(void);
/* The version of the numerics contract (DESIGN §3) this library computes: runs and checkpoints
 * of another version do not give the same bits. Recorded in manifests and checkpoints. */
int detnn_numerics_contract_version(void);

/* The random numbers and the float32 functions of the numerics contract (DESIGN §2.3, §4), for
 * tools built on this API that must draw the same values on every machine (trainer sweep: its
 * trials are a pure function of the sweep file and its seed). */
/* 64 random bits: Philox4x32-10 keyed by (seed, purpose "sweep"), counter (index, trial, stream). */
uint64_t detnn_sweep_random_bits(uint64_t seed, uint32_t trial, uint32_t stream, uint64_t index);
/* detnn's deterministic exp, log, erf and cos(pi x): the same bits on every x86-64 machine and GPU,
 * whatever the C library (errors below 0.64 ulp, DESIGN §2.3). */
float detnn_math_exp(float x);
float detnn_math_log(float x);
float detnn_math_erf(float x);
float detnn_math_cospi(float x);

/* The environment fingerprint as a JSON document: detnn version and git commit, compiler and
 * floating-point flags, CUDA driver/runtime, cuBLAS, cuDNN and NCCL versions, devices.
 * *json_out points to a thread-local string valid until the next call of this function on
 * the same thread. */
detnn_status detnn_environment_json(const char** json_out);

/* Number of CUDA devices this process can use (0 in a CPU-only build). */
detnn_status detnn_cuda_device_count(int* count_out);

/* ---- Handles ---------------------------------------------------------------------------- */

typedef struct detnn_context detnn_context;
typedef struct detnn_model detnn_model;
typedef struct detnn_session detnn_session;

/* ---- Context: where and how sessions compute -------------------------------------------- */

/* Creates a context. Each argument overrides the model file's "training" section for sessions
 * created on this context; NULL (or "") for a string, or a negative `threads`, keeps the model
 * file's value.
 *   device:      "cpu", "cuda" or "cuda:N"
 *   determinism: "strict", "fast" or "off" (DESIGN §1; fast and off need a CUDA device)
 *   threads:     CPU threads; 0 means DETNN_NUM_THREADS or all cores. Results never depend
 *                on it. The CPU thread pool is process-wide: detnn sets it to the session's
 *                count before each computing call on a CPU session.
 * Errors: DETNN_ERROR_INVALID_ARGUMENT for an unknown device or determinism. */
detnn_status detnn_context_create(const char* device, const char* determinism, int threads,
                                  detnn_context** out);
/* Releases a context (NULL: nothing happens). Sessions created on it stay valid. */
void detnn_context_destroy(detnn_context* context);

/* ---- Model: a parsed and validated model file (docs/model-format.md) -------------------- */

/* Reads and validates a model file. Errors: DETNN_ERROR_IO (unreadable), DETNN_ERROR_FORMAT
 * naming the file and the JSON path ("layers[3].kernel") or the byte offset of a syntax
 * error. Relative paths inside the file resolve against the file's folder. */
detnn_status detnn_model_load_file(const char* path, detnn_model** out);
/* The same from a JSON document in memory (comments allowed). Relative paths inside it
 * resolve against the current directory; its "model file" hash is the SHA-256 of `json`. */
detnn_status detnn_model_load_json(const char* json, detnn_model** out);
/* Releases a model (NULL: nothing happens). Sessions created from it stay valid. */
void detnn_model_destroy(detnn_model* model);

/* The model's "name". *out is owned by the model and valid until it is destroyed. */
detnn_status detnn_model_name(const detnn_model* model, const char** out);
/* The input shape of one sample: channels, height, width. */
detnn_status detnn_model_input_shape(const detnn_model* model, int64_t* channels, int64_t* height,
                                     int64_t* width);
/* Number of classes (the network's outputs). */
detnn_status detnn_model_classes(const detnn_model* model, int64_t* out);
/* Number of trainable scalars over all parameter tensors. */
detnn_status detnn_model_parameter_count(const detnn_model* model, int64_t* out);
/* The global batch size B (training.batch_size): detnn_session_train_step takes exactly B. */
detnn_status detnn_model_batch_size(const detnn_model* model, int64_t* out);
/* SHA-256 (64 hex digits and a NUL) of the model file's bytes: what checkpoints are tied to. */
detnn_status detnn_model_sha256(const detnn_model* model, char out[65]);
/* The fully resolved configuration (every default written out) as a JSON document. *out is
 * owned by the model and valid until it is destroyed. */
detnn_status detnn_model_config_json(const detnn_model* model, const char** out);
/* The network's top-level layers as a JSON array: [{"index", "type", "output": [c, h, w],
 * "parameters"}...] (a residual block is one entry). *out is owned by the model. */
detnn_status detnn_model_layers_json(const detnn_model* model, const char** out);

/* ---- Session: a model instance with its optimizer ---------------------------------------- */

/* Builds the model on the context's device and initializes the weights from the seed (or the
 * model file's init_weights). Errors: DETNN_ERROR_UNSUPPORTED (e.g. CUDA in a CPU-only build,
 * a determinism mode this build lacks), DETNN_ERROR_OUT_OF_MEMORY, DETNN_ERROR_IO/FORMAT for
 * init_weights. */
detnn_status detnn_session_create(const detnn_context* context, const detnn_model* model,
                                  detnn_session** out);
/* Releases a session (NULL: nothing happens). */
void detnn_session_destroy(detnn_session* session);

/* What the learning-rate schedule counts in: updates per epoch and in the whole run (both
 * >= 1). Defaults: 1 and the model file's epochs. Not stored in checkpoints: set it again
 * after detnn_session_load_checkpoint. */
detnn_status detnn_session_set_schedule(detnn_session* session, int64_t steps_per_epoch,
                                        int64_t total_steps);

typedef struct detnn_step_metrics {
  float loss;        /* mean loss over the global batch */
  int64_t correct;   /* samples whose top score (first maximum) is the label */
  int64_t samples;   /* the batch size */
  float lr;          /* learning rate of this update */
  float grad_norm;   /* global gradient norm before clipping */
} detnn_step_metrics;

typedef struct detnn_eval_metrics {
  double loss;       /* mean loss (0 when no labels were given) */
  int64_t correct;   /* 0 when no labels were given */
  int64_t samples;
} detnn_eval_metrics;

/* One optimizer update on a global batch in host memory: images [batch, C, H, W] (float32,
 * NCHW, contiguous) and labels [batch] in [0, classes). batch must equal the model's batch
 * size. Errors: DETNN_ERROR_INVALID_ARGUMENT for a wrong batch, a label out of range or a
 * loss that is not finite (the message names the first layer with a non-finite output);
 * the weights are then unchanged. */
detnn_status detnn_session_train_step(detnn_session* session, const float* images,
                                      const int32_t* labels, int64_t batch,
                                      detnn_step_metrics* out);
/* Loss and accuracy over n >= 0 samples (any n; no weights change). labels may be NULL: then
 * only samples is filled in. images may be NULL when n is 0. */
detnn_status detnn_session_evaluate(detnn_session* session, const float* images,
                                    const int32_t* labels, int64_t n, detnn_eval_metrics* out);
/* The class scores (logits) of n samples into logits [n, classes]; logits_count must be
 * n * classes. */
detnn_status detnn_session_predict(detnn_session* session, const float* images, int64_t n,
                                   float* logits, int64_t logits_count);

/* SHA-256 (64 hex digits and a NUL) of the parameters' bytes: equal hashes, equal weights. */
detnn_status detnn_session_weights_sha256(detnn_session* session, char out[65]);
/* One gradient pass of a global batch (no update, like a training step's first half), observed:
 * every layer's forward output (nested layers of blocks included) and every parameter's gradient
 * written to `path` as a safetensors file ("forward/<layer>", "gradient/<parameter>", F32) whose
 * metadata "order" lists them in forward / parameter order with their 64-bit digests. What
 * trainer bisect compares between two settings, machines or builds. One rank, eager steps only. */
detnn_status detnn_session_trace_step(detnn_session* session, const float* images, const int32_t* labels,
                                      int64_t batch, const char* path);
/* A 64-bit digest of the parameters, computed where they live (the per-step weights_digest of
 * the trainer's metrics): sum over i of mix64((i << 32) | bits(p[i])) mod 2^64, mix64 being
 * splitmix64's finalizer; the same on every device, thread count and launch shape. */
detnn_status detnn_session_weights_digest(detnn_session* session, uint64_t* out);
/* SHA-256 of the whole training state (parameters, buffers such as batch-norm running
 * statistics, optimizer state, each with its name and shape, and the step counter): equal
 * hashes, equal next steps. What a bit-equality check should compare. */
detnn_status detnn_session_state_sha256(detnn_session* session, char out[65]);
/* Optimizer updates done so far (restored by detnn_session_load_checkpoint). */
detnn_status detnn_session_steps_done(const detnn_session* session, int64_t* out);
/* The cuDNN / cuBLASLt algorithms the session has pinned (determinism fast and off; those of the
 * training calls are chosen when the session is created), as a JSON array of {"layer", "op",
 * "shape", "library", "algorithm", "algo_id", "deterministic", "tensor_cores",
 * "workspace_bytes"}; "[]" in strict. The text stays valid until the next call on the session. */
detnn_status detnn_session_kernel_choices_json(detnn_session* session, const char** out);
/* What training.cuda_graph came to (docs/cuda-graphs.md): "off (training.cuda_graph)",
 * "off: <why not on this session>", "waiting: ..." (before the capture), "replaying (N kernels
 * per step)" or "eager: the capture failed: <CUDA's reason>". Valid until the next call on the
 * session. */
detnn_status detnn_session_cuda_graph_status(detnn_session* session, const char** out);

/* ---- Checkpoints (docs/checkpoints.md) --------------------------------------------------- */

/* Writes every parameter, buffer and optimizer state with the step counter and metadata to
 * `path` (a safetensors file), atomically: readers see the old file or the complete new one.
 * epoch and batch_in_epoch (>= 0) record where the next step is in the data; they are given
 * back by detnn_session_checkpoint_position after a load. Errors: DETNN_ERROR_IO. */
detnn_status detnn_session_save_checkpoint(detnn_session* session, const char* path,
                                           int64_t epoch, int64_t batch_in_epoch);
/* Restores the session from a checkpoint written for the same model file (byte for byte), seed
 * and numerics contract version. Continuing from it gives the same bits as the run that wrote it.
 * Errors: DETNN_ERROR_IO (unreadable), DETNN_ERROR_FORMAT (truncated or corrupt, another model,
 * another seed, another numerics contract version, missing or mis-shaped tensors), each naming
 * the file and what differs; the session is then unchanged. */
detnn_status detnn_session_load_checkpoint(detnn_session* session, const char* path);
/* The same without the model-file, seed and contract-version checks (the format and every
 * tensor's name and shape are still checked): to evaluate a checkpoint with an edited model file,
 * or to resume a run whose model file or detnn version changed on purpose (trainer --force). */
detnn_status detnn_session_load_checkpoint_unchecked(detnn_session* session, const char* path);
/* The step, epoch and batch_in_epoch of the last checkpoint loaded into this session (all 0
 * before any load). */
detnn_status detnn_session_checkpoint_position(const detnn_session* session, int64_t* step,
                                               int64_t* epoch, int64_t* batch_in_epoch);
/* A metadata value of the last checkpoint loaded into this session ("model_sha256",
 * "detnn_commit", ...). *value is owned by the session and valid until the next load or its
 * destruction. DETNN_ERROR_INVALID_ARGUMENT when the key is absent. */
detnn_status detnn_session_checkpoint_metadata(const detnn_session* session, const char* key,
                                               const char** value);
/* Records key = value in every checkpoint this session saves from now on (e.g.
 * "data_fingerprint"). The reserved keys (format, step, epoch, batch_in_epoch, seed,
 * determinism, model_sha256, detnn_version, detnn_commit, numerics_contract, tensor_sha256)
 * are refused. */
detnn_status detnn_session_set_checkpoint_metadata(detnn_session* session, const char* key,
                                                   const char* value);

/* ---- Parameters -------------------------------------------------------------------------- */

/* Number of parameter tensors ("layers.0.weight", "layers.0.bias", ...), in declaration order. */
detnn_status detnn_session_parameter_tensor_count(const detnn_session* session, int64_t* out);
/* The name of parameter tensor `index` (0 <= index < count). *out is owned by the session. */
detnn_status detnn_session_parameter_name(const detnn_session* session, int64_t index,
                                          const char** out);
/* The number of floats in parameter tensor `index`. */
detnn_status detnn_session_parameter_size(const detnn_session* session, int64_t index,
                                          int64_t* out);
/* The shape of parameter tensor `index`: up to max_dims sizes into dims, the rank into *ndims
 * (DETNN_ERROR_INVALID_ARGUMENT when the rank exceeds max_dims). */
detnn_status detnn_session_parameter_shape(const detnn_session* session, int64_t index,
                                           int64_t* dims, int max_dims, int* ndims);
/* Copies the parameter `name` into out; count must equal its size. */
detnn_status detnn_session_get_parameter(detnn_session* session, const char* name, float* out,
                                         int64_t count);
/* Overwrites the parameter `name` with values; count must equal its size. */
detnn_status detnn_session_set_parameter(detnn_session* session, const char* name,
                                         const float* values, int64_t count);

/* ---- Model-file overrides ----------------------------------------------------------------- */

/* Sets one value of the model's "training" section, as a command-line flag would (the value as
 * text): "training.epochs", "training.seed", "training.threads", "training.chunks_per_pass",
 * "training.log_every" (integers), "training.device" ("cpu", "cuda", "cuda:N"),
 * "training.determinism" ("strict", "fast", "off"), "training.precision" ("fp32", "tf32"),
 * "training.cuda_graph" ("off", "auto"). The resolved configuration
 * (detnn_model_config_json) reflects it; sessions created afterwards use it. Errors:
 * DETNN_ERROR_INVALID_ARGUMENT naming the key and the value. */
detnn_status detnn_model_set_option(detnn_model* model, const char* key, const char* value);

/* ---- Data: the model file's "data" section (docs/data-format.md) -------------------------- */

typedef struct detnn_data detnn_data;
typedef struct detnn_loader detnn_loader;

/* Reads the training and validation data of the model file (checking every file; errors name
 * the file and the byte offset or sample) and makes the seeded train/validation split. Uses the
 * model's seed and batch size as they are now (set overrides first). DETNN_ERROR_INVALID_ARGUMENT
 * when the model file has no data section or the samples do not fit the model's input. */
detnn_status detnn_data_load(const detnn_model* model, detnn_data** out);
/* Releases the data (NULL: nothing happens). Destroy its loaders first. */
void detnn_data_destroy(detnn_data* data);

typedef struct detnn_data_info {
  int64_t train_samples;       /* after the split */
  int64_t validation_samples;
  int64_t sample_size;         /* C * H * W floats per sample */
  int64_t classes;             /* the network's class count */
  int64_t batch_size;          /* the model's global batch */
  int64_t batches_per_epoch;   /* whole batches only: train_samples / batch_size */
} detnn_data_info;
detnn_status detnn_data_get_info(const detnn_data* data, detnn_data_info* out);
/* SHA-256 (hex) over the bytes read and the split: equal fingerprints, equal data. */
detnn_status detnn_data_fingerprint(const detnn_data* data, char out[65]);
/* A one-line description of the training set. Owned by data. */
detnn_status detnn_data_description(const detnn_data* data, const char** out);
/* Validation samples [first, first + n), normalized, never augmented: images [n, C, H, W] and
 * labels [n]. */
detnn_status detnn_data_validation_batch(const detnn_data* data, int64_t first, int64_t n, float* images,
                                         int32_t* labels);

/* Training batches from batch start_batch of epoch start_epoch (a resume point; start_batch may
 * equal batches_per_epoch, meaning the next epoch's start) through the last batch of epoch
 * end_epoch - 1, made ahead by the data section's prefetch threads. Each batch is a pure function
 * of (data, seed, epoch, batch): the shuffle and the augmentation never depend on the thread
 * count or on where a run was resumed. */
detnn_status detnn_loader_create(const detnn_data* data, int64_t start_epoch, int64_t start_batch, int64_t end_epoch,
                                 detnn_loader** out);
/* The next batch into images [batch_size, C, H, W] and labels [batch_size], with its epoch and
 * batch index (either may be NULL); *done = 1 (and nothing written) after the last. */
detnn_status detnn_loader_next(detnn_loader* loader, float* images, int32_t* labels, int64_t* epoch,
                               int64_t* batch_index, int* done);
void detnn_loader_destroy(detnn_loader* loader);

/* Writes the session's parameters (only) to a safetensors file, atomically, in the layout that
 * the model file's "init_weights" reads. */
detnn_status detnn_session_save_parameters(detnn_session* session, const char* path);

/* ---- Data-parallel ranks (docs/multi-rank.md) --------------------------------------------- */

/* A group holds the P data-parallel ranks of a run, or the share of them this process drives.
 * Each rank gets its own session (detnn_session_create_rank), used from its own thread; every
 * rank's detnn_session_train_step takes the WHOLE global batch and computes its share of the
 * chunks (rank r: chunks [r*k, (r+1)*k), k = B / (C * P)). The gradients, the loss, the correct
 * count and the batch-norm statistics are combined over the ranks in a fixed pairwise order, so
 * every rank ends each step with the bits of a 1-rank session. Every collective wait is bounded
 * by timeout_seconds (<= 0: 300 s); a rank that waits longer fails the group. The group's
 * functions may be called from any thread.
 *
 * Three kinds:
 * - detnn_local_group_create: `ranks` ranks as threads of this process (LocalComm: CPU ranks, or
 *   several ranks sharing one GPU);
 * - detnn_gpu_group_create: one rank per GPU of this process, on the GPUs listed (NCCL);
 * - detnn_launched_group_create: this process is one rank of a run launched as one process per
 *   rank, by torchrun-style variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or
 *   mpirun (OMPI_COMM_WORLD_*, with MASTER_ADDR and MASTER_PORT, or without them in a build with
 *   MPI); rank 0 serves the rendezvous. With cuda != 0 the rank trains on GPU LOCAL_RANK (modulo
 *   the GPUs it sees) through NCCL, otherwise on the CPU, exchanging through rank 0 over TCP. */
typedef struct detnn_group detnn_group;
detnn_status detnn_local_group_create(int ranks, double timeout_seconds, detnn_group** out);
/* devices: `count` distinct CUDA device ordinals; rank r trains on devices[r]. */
detnn_status detnn_gpu_group_create(const int* devices, int count, double timeout_seconds, detnn_group** out);
/* Reads the launcher's variables: *world_size = 0 when there are none (a plain single-process
 * run); DETNN_ERROR_INVALID_ARGUMENT naming the variable when they are malformed. */
detnn_status detnn_launch_environment(int* rank, int* world_size, int* local_rank);
/* Which launcher's variables detnn_launch_environment read: "torchrun", "mpirun" or "srun" (a
 * static string), "" when there are none. */
detnn_status detnn_launcher(const char** name);
/* Joins the launched group (waits for every rank, at most timeout_seconds): through MPI under
 * mpirun in a build with MPI, else at rank 0's TCP store (torchrun-style variables, srun);
 * DETNN_ERROR_INVALID_ARGUMENT when this process was not launched as a rank. */
detnn_status detnn_launched_group_create(int cuda, double timeout_seconds, detnn_group** out);
/* The world size and the ranks this process drives: [*first_local_rank, + *local_ranks). */
detnn_status detnn_group_info(const detnn_group* group, int* size, int* first_local_rank, int* local_ranks);
/* Where rank `rank` runs: its host name and its device ("cuda:1"; "" where the model's device is
 * used). The strings stay valid as long as the group. */
detnn_status detnn_group_rank_placement(const detnn_group* group, int rank, const char** host, const char** device);
/* Releases the caller's reference (NULL: nothing happens); rank sessions keep the group alive
 * until they are destroyed. */
void detnn_group_destroy(detnn_group* group);
/* Checks that the model's global batch of B samples in chunks of C can be shared by `ranks`
 * ranks (B a multiple of C * ranks and, for ranks > 1, B / (C * ranks) a power of two):
 * DETNN_ERROR_INVALID_ARGUMENT naming B, C, P and the rule if not. */
detnn_status detnn_model_check_ranks(const detnn_model* model, int ranks);
/* Checks that the model's learning-rate schedule works for a run of total_steps updates of
 * steps_per_epoch per epoch (onecycle's phases fit it, total_steps covers it), as
 * detnn_session_set_schedule will: DETNN_ERROR_INVALID_ARGUMENT naming
 * optimizer.schedule if not. For a check before anything is written. */
detnn_status detnn_model_check_schedule(const detnn_model* model, int64_t steps_per_epoch, int64_t total_steps);
/* Rank `rank` of the group (one this process drives): as detnn_session_create, on the rank's
 * device when the group has one for it (detnn_gpu_group_create, a CUDA launched group), and
 * DETNN_ERROR_INVALID_ARGUMENT naming B, C and P when the global batch of B samples in chunks of
 * C cannot be shared by P ranks (B a multiple of C * P, and B / (C * P) a power of two). */
detnn_status detnn_session_create_rank(const detnn_context* context, const detnn_model* model,
                                       detnn_group* group, int rank, detnn_session** out);
/* A collective of the rank sessions (each rank's thread calls it): DETNN_ERROR_COMM on every rank
 * unless all of them hold rank 0's weights and step — call it after loading a checkpoint on
 * every rank, so that ranks that read different files cannot silently train apart. */
detnn_status detnn_session_check_ranks_agree(detnn_session* session);
/* Marks the group failed by `rank` with `message` (e.g. a data error in that rank's thread): every
 * rank's pending and later training step then fails with DETNN_ERROR_COMM and
 * "rank <rank> failed: <message>". A rank session whose own step fails does this itself. The
 * first failure wins. */
detnn_status detnn_group_abort(detnn_group* group, int rank, const char* message);
/* The group's first failure ("rank 1 failed: ..."), or "" while it is healthy. *message is a
 * thread-local copy valid until the next call of this function on the same thread. */
detnn_status detnn_group_failure(const detnn_group* group, const char** message);

/* ---- Checkpoint files, read only (no session needed): for tools that compare runs. ---- */
typedef struct detnn_checkpoint detnn_checkpoint;
/* Opens and validates a checkpoint (safetensors, every tensor F32). Errors name the file. */
detnn_status detnn_checkpoint_open(const char* path, detnn_checkpoint** out);
void detnn_checkpoint_destroy(detnn_checkpoint* checkpoint);
detnn_status detnn_checkpoint_tensor_count(const detnn_checkpoint* checkpoint, int64_t* out);
/* Tensor `index` (file order): its name and its `count` values, owned by the checkpoint. */
detnn_status detnn_checkpoint_tensor(const detnn_checkpoint* checkpoint, int64_t index, const char** name,
                                     const float** values, int64_t* count);
/* A metadata value ("step", "numerics_contract", "tensor_sha256", ...); DETNN_ERROR_INVALID_ARGUMENT
 * when absent. Owned by the checkpoint. */
detnn_status detnn_checkpoint_metadata(const detnn_checkpoint* checkpoint, const char* key, const char** value);

#ifdef __cplusplus
}
#endif

#endif /* DETNN_DETNN_H */
