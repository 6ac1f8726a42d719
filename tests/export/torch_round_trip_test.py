#!/usr/bin/env python3
"""PyTorch round trips (tools/torch_model.py, docs/interop.md), where PyTorch is installed (the GPU
machine; exit 77, a visible skip, elsewhere):
  - a detnn checkpoint loaded into the PyTorch module of its model file by name gives, in
    evaluation, the logits ONNX Runtime computes from detnn's ONNX export of it (which
    tests/export/onnx_export_test.cpp holds to detnn's own within 1e-5): within 1e-5;
  - a PyTorch module's parameters saved with save_init_weights, named in a model file's
    "init_weights", are what detnn starts from: `trainer --save-init` writes back exactly them.

usage: torch_round_trip_test.py TRAINER WORKDIR
"""
import json
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

try:
    import torch
except ImportError:
    print("SKIPPED: PyTorch is not installed (it is on the GPU machine)")
    sys.exit(77)

import numpy as np
import torch_model

MODEL = {
    "name": "round_trip", "input": [3, 12, 12],
    "layers": [
        {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"},
        {"type": "gelu", "approximate": "tanh"},
        {"type": "residual", "body": [{"type": "conv2d", "out_channels": 16, "kernel": 3, "stride": 2, "padding": 1},
                                      {"type": "batchnorm2d"}],
         "shortcut": {"type": "projection", "stride": 2}, "activation": "relu"},
        {"type": "avgpool2d", "kernel": 2}, {"type": "dropout", "p": 0.1}, {"type": "flatten"},
        {"type": "linear", "out_features": 5}],
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "data": {"format": "synthetic", "train": {"count": 64, "shape": [3, 12, 12]}, "classes": 5},
    "training": {"epochs": 1, "batch_size": 16, "chunk_size": 4, "seed": 3, "device": "cpu"},
}


def main():
    trainer, work = sys.argv[1], pathlib.Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model_file = work / "model.json"
    model_file.write_text(json.dumps(MODEL))
    failures = []

    # detnn -> PyTorch: a trained checkpoint, evaluated by PyTorch and by ONNX Runtime.
    subprocess.run([trainer, "--model", str(model_file), "--run-dir", str(work / "run")], check=True,
                   capture_output=True)
    checkpoint = work / "run" / "checkpoints" / "last.safetensors"
    onnx = work / "m.onnx"
    subprocess.run([trainer, "export", "--model", str(model_file), "--checkpoint", str(checkpoint), "--onnx", str(onnx)],
                   check=True, capture_output=True)
    net = torch_model.load_detnn_checkpoint(torch_model.build_module(str(model_file)), str(checkpoint)).eval()
    x = np.random.default_rng(1).standard_normal((6, 3, 12, 12)).astype(np.float32)
    with torch.no_grad():
        ours = net(torch.from_numpy(x)).numpy()
    import onnxruntime as ort
    theirs = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x})[0]
    error = float(np.abs(ours - theirs).max()) / max(1.0, float(np.abs(theirs).max()))
    print(f"detnn checkpoint in PyTorch vs ONNX Runtime: {error:.3g}")
    if not error <= 1e-5:
        failures.append(f"PyTorch's logits differ from the export's by {error}")

    # PyTorch -> detnn: init_weights from a state_dict.
    torch.manual_seed(0)
    fresh = torch_model.build_module(MODEL)
    init = work / "init.safetensors"
    torch_model.save_init_weights(fresh, str(init))
    spec = dict(MODEL, init_weights=str(init))
    (work / "from_torch.json").write_text(json.dumps(spec))
    back = work / "back.safetensors"
    subprocess.run([trainer, "--model", str(work / "from_torch.json"), "--epochs", "0", "--run-dir",
                    str(work / "run0"), "--save-init", str(back)], check=True, capture_output=True)
    written, _ = torch_model.read_safetensors(str(back))
    for name, value in fresh.named_parameters():
        if name not in written or not np.array_equal(written[name], value.detach().numpy()):
            failures.append(f"{name}: detnn does not start from the state_dict's values")
    print(f"init_weights from PyTorch: {len(written)} parameters compared with --save-init's")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
