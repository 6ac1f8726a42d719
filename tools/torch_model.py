#!/usr/bin/env python3
"""PyTorch round trips of detnn models (docs/interop.md).

    from tools.torch_model import build_module, load_detnn_checkpoint, save_init_weights
    net = build_module("examples/mnist_cnn.json")            # an nn.Module with detnn's names
    load_detnn_checkpoint(net, "runs/x/checkpoints/best.safetensors")
    net.eval(); logits = net(images)                          # detnn's evaluation, in PyTorch
    save_init_weights(net, "init.safetensors")                # parameters -> "init_weights" of a model file

The module is built from the model file's layers with PyTorch's own layers, named as detnn names
its parameters and buffers ("layers.3.weight", "layers.4.body.0.weight",
"layers.6.shortcut.1.running_var"), so a detnn checkpoint loads by name and a PyTorch state_dict
saves to a file detnn's "init_weights" reads. detnn trains batch norm by reduction chunks (ghost
batch norm, DESIGN §6); in evaluation both use the running statistics, and the outputs agree to
float32 rounding. Safetensors are read and written here with numpy (no other package needed).

Run as a script it checks the round trip of one model file and checkpoint:
    python3 tools/torch_model.py MODEL.json CHECKPOINT.safetensors
printing the largest difference between detnn's stored evaluation and PyTorch's.
"""
import json
import re
import struct
import sys

import numpy as np


def strip_comments(text):
    """detnn model files allow // and /* */ comments outside strings (as bench/torch_reference.py
    and tools/torch_reference/models.py read them; those import PyTorch, this module must not)."""
    out, in_string, i = [], False, 0
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def read_model_file(path):
    with open(path) as f:
        return json.loads(strip_comments(f.read()))


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


def _pair(v, default):
    if v is None:
        return (default, default)
    return tuple(v) if isinstance(v, list) else (v, v)


def build_module(model_path_or_spec):
    """The nn.Module of a model file (its path or its parsed JSON)."""
    import torch
    from torch import nn

    spec = read_model_file(model_path_or_spec) if isinstance(model_path_or_spec, str) else model_path_or_spec

    def activation(kind):
        if kind == "relu":
            return nn.ReLU()
        if kind in ("gelu", "gelu_erf"):
            return nn.GELU()
        if kind == "gelu_tanh":
            return nn.GELU(approximate="tanh")
        return nn.Identity()

    class Residual(nn.Module):
        def __init__(self, body, shortcut, act):
            super().__init__()
            self.body = body
            if shortcut is not None:
                self.shortcut = shortcut
            self.has_shortcut = shortcut is not None
            self.act = act

        def forward(self, x):
            return self.act(self.body(x) + (self.shortcut(x) if self.has_shortcut else x))

    def sequence(layers, channels, features):
        mods = []
        for layer in layers:
            module, channels, features = build(layer, channels, features)
            mods.append(module)
        return nn.Sequential(*mods), channels, features

    def build(layer, channels, features):
        t = layer["type"]
        if t == "conv2d":
            out = layer["out_channels"]
            m = nn.Conv2d(channels, out, _pair(layer.get("kernel"), 1), _pair(layer.get("stride"), 1),
                          _pair(layer.get("padding"), 0), _pair(layer.get("dilation"), 1), layer.get("groups", 1),
                          bias=layer.get("bias", True))
            return m, out, None
        if t == "linear":
            return nn.Linear(features, layer["out_features"], bias=layer.get("bias", True)), channels, layer["out_features"]
        if t == "batchnorm2d":
            return nn.BatchNorm2d(channels, eps=layer.get("eps", 1e-5), momentum=layer.get("momentum", 0.1)), channels, None
        if t == "relu":
            return nn.ReLU(), channels, features
        if t == "gelu":
            return nn.GELU(approximate=layer.get("approximate", "none")), channels, features
        if t == "maxpool2d":
            k = _pair(layer.get("kernel"), 1)
            return nn.MaxPool2d(k, _pair(layer.get("stride"), None) if layer.get("stride") else k,
                                _pair(layer.get("padding"), 0)), channels, None
        if t == "avgpool2d":
            k = _pair(layer.get("kernel"), 1)
            return nn.AvgPool2d(k, _pair(layer.get("stride"), None) if layer.get("stride") else k,
                                _pair(layer.get("padding"), 0),
                                count_include_pad=layer.get("count_include_pad", True)), channels, None
        if t == "global_avgpool":
            return nn.AdaptiveAvgPool2d(1), channels, None
        if t == "flatten":
            return nn.Flatten(), channels, None
        if t == "dropout":
            return nn.Dropout(layer.get("p", 0.5)), channels, features
        if t == "residual":
            body, out, _ = sequence(layer["body"], channels, None)
            shortcut = layer.get("shortcut", "identity")
            sc = None
            if isinstance(shortcut, dict):
                s = shortcut.get("stride", 1)
                sc = nn.Sequential(nn.Conv2d(channels, out, 1, s, bias=False), nn.BatchNorm2d(out))
            return Residual(body, sc, activation(layer.get("activation", "none"))), out, None
        raise ValueError(f"layer type {t!r} has no PyTorch module here")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            c, h, w = spec["input"]
            # Features of a flattened input: found by running a zero sample through the layers
            # before each linear layer (shapes follow PyTorch's rules, as detnn's do).
            mods, channels, x = [], c, torch.zeros(1, c, h, w)
            for layer in spec["layers"]:
                features = x.reshape(1, -1).shape[1] if layer["type"] == "linear" else None
                module, channels, _ = build(layer, channels, features)
                mods.append(module)
                with torch.no_grad():
                    module.eval()
                    x = module(x if layer["type"] != "linear" else x.reshape(1, -1))
            self.layers = nn.Sequential(*mods)
            self.linear_needs_flat = [m for m in mods if isinstance(m, nn.Linear)]

        def forward(self, x):
            for m in self.layers:
                if isinstance(m, nn.Linear) and x.dim() > 2:
                    x = x.reshape(x.shape[0], -1)
                x = m(x)
            return x

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
