/* detnn's ONNX export (docs/interop.md): a model file and a checkpoint of it as an ONNX model that
 * ONNX Runtime, Netron, TensorRT and serving stacks read. A library of its own, detnn_onnx, beside
 * detnn (it links Debian's libonnx and libprotobuf); it reads the model and the checkpoint through
 * detnn's C API. */
#ifndef DETNN_DETNN_ONNX_H
#define DETNN_DETNN_ONNX_H

#include <stdint.h>

#include "detnn/detnn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct detnn_onnx_options {
  int opset;          /* ONNX opset, 13 to 17 (0: 17) */
  int64_t batch;      /* the input's batch dimension: N >= 1 fixed, 0 dynamic ("batch") */
  int normalize;      /* nonzero: the model file's input normalization as the graph's first nodes */
} detnn_onnx_options;

/* Writes `model` with the parameters and batch-norm statistics of `checkpoint_path` to `onnx_path`
 * (input "input" [batch, C, H, W] float, output "logits" [batch, classes]; metadata: model name,
 * detnn version, numerics contract, the checkpoint's tensor digest), after ONNX's checker passed
 * on it. The file appears whole or not at all. Errors: DETNN_ERROR_INVALID_ARGUMENT for a
 * checkpoint of another model (a tensor missing or of another size, named) or an opset out of
 * range; DETNN_ERROR_IO for a path that cannot be written. options may be NULL (opset 17,
 * dynamic batch, no normalization). */
detnn_status detnn_export_onnx(const detnn_model* model, const char* checkpoint_path, const detnn_onnx_options* options,
                               const char* onnx_path);
/* The message of this thread's last failed detnn_export_onnx ("" if none). */
const char* detnn_onnx_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* DETNN_DETNN_ONNX_H */
