/* detnn — bitwise-reproducible deep-learning training. The public C API.
 *
 * Conventions: every function returns a detnn_status; DETNN_OK is success. On failure,
 * detnn_last_error() returns a message saying what went wrong and where; it is per thread
 * and stays valid until the next detnn call on the same thread. No C++ exception ever
 * crosses this API. Strings returned by detnn are owned by detnn. */
#ifndef DETNN_DETNN_H
#define DETNN_DETNN_H

#include <stddef.h>

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
  DETNN_ERROR_INTERNAL = 10    /* a bug in detnn: please report it with the message */
} detnn_status;

/* A short constant English name for a status ("invalid argument"). Never NULL. */
const char* detnn_status_string(detnn_status status);

/* The message of the last failed call on this thread ("" if none). Never NULL. */
const char* detnn_last_error(void);

/* The library version, e.g. "0.1.0". Never NULL. */
const char* detnn_version(void);

/* The environment fingerprint as a JSON document: detnn version and git commit, compiler and
 * floating-point flags, CUDA driver/runtime, cuBLAS, cuDNN and NCCL versions, devices.
 * *json_out points to a thread-local string valid until the next call of this function on
 * the same thread. */
detnn_status detnn_environment_json(const char** json_out);

/* Number of CUDA devices this process can use (0 in a CPU-only build). */
detnn_status detnn_cuda_device_count(int* count_out);

#ifdef __cplusplus
}
#endif

#endif /* DETNN_DETNN_H */
