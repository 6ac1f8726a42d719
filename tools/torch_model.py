#!/usr/bin/env python3
"""PyTorch round trips of detnn models (docs/interop.md).

    from tools.torch_model import build_module, load_detnn_checkpoint, save_init_weights
    net = build_module("examples/mnist_cnn.json")            # an nn.Module with detnn's names
    load_detnn_checkpoint(net, "runs/x/checkpoints/best.safetensors")
    net.eval(); logits = net(images)                          # detnn's evaluation, in PyTorch
    save_init_weights(net, "init.safetensors")                # parameters -> "init_weights" of a model file

The module holds the PyTorch layers bench/torch_reference.py builds from the model file (the model
detnn-bench times), named as detnn names its parameters and buffers ("layers.3.weight", "layers.4.body.0.weight",
"layers.6.shortcut.1.running_var"), so a detnn checkpoint loads by name and a PyTorch state_dict
saves to a file detnn's "init_weights" reads. detnn trains batch norm by reduction chunks (ghost
batch norm, DESIGN §6); in evaluation both use the running statistics, and the outputs agree to
float32 rounding. Safetensors are read and written here with numpy (no other package needed).

Run as a script it loads a checkpoint into its model's module (every name and shape checked):
    python3 tools/torch_model.py MODEL.json CHECKPOINT.safetensors
"""
import importlib.util
import json
import pathlib
import struct
import sys

import numpy as np


ROOT = pathlib.Path(__file__).resolve().parents[1]


def _bench_reference():
    """bench/torch_reference.py, which already builds the PyTorch model of a model file (the one
    detnn-bench times, its parameter names checked against detnn's by
    tests/bench/torch_reference_test.cpp). It imports PyTorch."""
    spec = importlib.util.spec_from_file_location("detnn_bench_torch_reference", ROOT / "bench" / "torch_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_safetensors(path):
    """name -> float32 numpy array, and the metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, not F32")
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(info["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        a = np.ascontiguousarray(array, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def build_module(model_path_or_spec):
    """The nn.Module of a model file (its path or its parsed JSON): bench/torch_reference.py's
    layers under the attribute `layers`, so the names are detnn's ("layers.3.weight")."""
    from torch import nn

    reference = _bench_reference()
    if isinstance(model_path_or_spec, (str, pathlib.Path)):
        with open(model_path_or_spec) as f:
            spec = json.loads(reference.strip_comments(f.read()))
    else:
        spec = model_path_or_spec
    layers, _ = reference.build(spec["layers"], tuple(spec["input"]))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = layers

        def forward(self, x):
            return self.layers(x)

    return Net()


def detnn_names(module):
    """The parameters and buffers detnn has (PyTorch's num_batches_tracked is not one)."""
    state = module.state_dict()
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def load_detnn_checkpoint(module, path):
    """Loads every parameter and batch-norm buffer of `module` from a detnn checkpoint by name;
    a missing name or another shape is an error naming it."""
    import torch

    tensors, _ = read_safetensors(path)
    state = detnn_names(module)
    for name, value in state.items():
        if name not in tensors:
            raise KeyError(f"{path}: no tensor {name!r} (a checkpoint of another model?)")
        if tuple(tensors[name].shape) != tuple(value.shape):
            raise ValueError(f"{path}: {name} has shape {tuple(tensors[name].shape)}, the module's is {tuple(value.shape)}")
    module.load_state_dict({k: torch.from_numpy(tensors[k]) for k in state}, strict=False)
    return module


def save_init_weights(module, path):
    """A safetensors file of the module's parameters under detnn's names: what a model file's
    "init_weights" reads (parameters only: batch-norm statistics start at 0 and 1, as in PyTorch)."""
    write_safetensors(path, {k: v.detach().cpu().float().numpy() for k, v in module.named_parameters()})


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    net = load_detnn_checkpoint(build_module(argv[1]), argv[2])
    print(f"{argv[1]}: {sum(p.numel() for p in net.parameters())} parameters loaded from {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
