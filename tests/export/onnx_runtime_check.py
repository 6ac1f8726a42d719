#!/usr/bin/env python3
"""Runs an exported ONNX model in ONNX Runtime (PyPI, the .venv of tools/setup) on the inputs detnn
evaluated and compares the logits: every value within 1e-5 of detnn's, relative to the largest
logit's magnitude (at least 1). Batch 0 in the model's input means dynamic: the whole batch in one
call; a fixed batch of 1: one call per sample.

usage: onnx_runtime_check.py MODEL.onnx INPUTS.f32 LOGITS.f32 N C H W CLASSES
"""
import sys

import numpy as np
import onnxruntime as ort


def main():
    model, inputs_file, logits_file = sys.argv[1:4]
    n, c, h, w, k = (int(v) for v in sys.argv[4:9])
    x = np.fromfile(inputs_file, dtype=np.float32).reshape(n, c, h, w)
    want = np.fromfile(logits_file, dtype=np.float32).reshape(n, k)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    batch = session.get_inputs()[0].shape[0]
    if isinstance(batch, int):
        got = np.concatenate([session.run(["logits"], {"input": x[i:i + batch]})[0] for i in range(0, n, batch)])
    else:
        got = session.run(["logits"], {"input": x})[0]
    scale = max(1.0, float(np.abs(want).max()))
    error = float(np.abs(got.astype(np.float64) - want).max()) / scale
    print(f"{model}: batch {batch}, {n} samples, max |ort - detnn| / {scale:.3g} = {error:.3g}")
    sys.exit(0 if got.shape == want.shape and error <= 1e-5 else 1)


if __name__ == "__main__":
    main()
