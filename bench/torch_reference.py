#!/usr/bin/env python3
"""PyTorch beside detnn: the same model file (examples/*.json), batch size and device, timed
the same way as detnn-bench (median time of a training step: forward, loss, backward, optimizer
update, after warm-up steps). Modes: PyTorch's default FP32, its deterministic mode FP32
(torch.use_deterministic_algorithms, cudnn.deterministic), and on CUDA both with TF32.
Prints {"results": [{"mode", "ms_per_step", "images_per_s"}...], "note": ...} as JSON; a mode
that failed has "error" instead of the times, and a deterministic mode that ran an op PyTorch has
no deterministic implementation of lists it in "nondeterministic_ops".

    python3 bench/torch_reference.py --model examples/cifar_convnet.json --device cuda --steps 20
"""
import argparse
import json
import os
import statistics
import sys
import time
import warnings

# Must be set before CUDA is initialized for cuBLAS to be deterministic.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def strip_comments(text):
    """detnn model files allow // and /* */ comments outside strings."""
    out, i, in_string = [], 0, False
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
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def pair(v, default):
    v = default if v is None else v
    return tuple(v) if isinstance(v, list) else (v, v)


class Residual(nn.Module):
    def __init__(self, body, shortcut, activation):
        super().__init__()
        self.body, self.shortcut, self.activation = body, shortcut, activation

    def forward(self, x):
        y = self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)
        return self.activation(y) if self.activation is not None else y


class GlobalAvgPool(nn.Module):
    """detnn's global_avgpool, (C, H, W) -> (C, 1, 1), as a mean: nn.AdaptiveAvgPool2d's CUDA
    backward has no deterministic implementation (PyTorch refuses it in deterministic mode), and
    the mean computes the same function."""

    def forward(self, x):
        return x.mean(dim=(2, 3), keepdim=True)


def build(layers, shape):
    """nn.Sequential from detnn's layer list; shape = (C, H, W) of the input."""
    modules = []
    c, h, w = shape
    for spec in layers:
        t = spec["type"]
        if t == "conv2d":
            k, s = pair(spec.get("kernel"), 1), pair(spec.get("stride"), 1)
            p, d = pair(spec.get("padding"), 0), pair(spec.get("dilation"), 1)
            m = nn.Conv2d(c, spec["out_channels"], k, s, p, d, spec.get("groups", 1), spec.get("bias", True))
            c = spec["out_channels"]
            h = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
            w = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
        elif t == "linear":
            m = nn.Linear(c, spec["out_features"], spec.get("bias", True))
            c = spec["out_features"]
        elif t == "batchnorm2d":
            m = nn.BatchNorm2d(c, spec.get("eps", 1e-5), spec.get("momentum", 0.1))
        elif t == "relu":
            m = nn.ReLU()
        elif t == "gelu":
            m = nn.GELU(approximate=spec.get("approximate", "none"))
        elif t in ("maxpool2d", "avgpool2d"):
            k = pair(spec["kernel"], 1)
            s, p = pair(spec.get("stride"), k[0]), pair(spec.get("padding"), 0)
            if spec.get("stride") is None:
                s = k
            m = nn.MaxPool2d(k, s, p) if t == "maxpool2d" else nn.AvgPool2d(k, s, p, count_include_pad=spec.get("count_include_pad", True))
            h = (h + 2 * p[0] - k[0]) // s[0] + 1
            w = (w + 2 * p[1] - k[1]) // s[1] + 1
        elif t == "global_avgpool":
            m = GlobalAvgPool()
            h = w = 1
        elif t == "flatten":
            m = nn.Flatten()
            c, h, w = c * h * w, 1, 1
        elif t == "dropout":
            m = nn.Dropout(spec.get("p", 0.5))
        elif t == "residual":
            body, (bc, bh, bw) = build(spec["body"], (c, h, w))
            shortcut = None
            sc = spec.get("shortcut", "identity")
            if isinstance(sc, dict):
                stride = sc.get("stride", 1)
                shortcut = nn.Sequential(nn.Conv2d(c, bc, 1, stride, 0, bias=False), nn.BatchNorm2d(bc))
            act = {"none": None, "relu": nn.ReLU(), "gelu": nn.GELU()}[spec.get("activation", "none")]
            m = Residual(body, shortcut, act)
            c, h, w = bc, bh, bw
        else:
            raise ValueError("unknown layer type " + t)
        modules.append(m)
    return nn.Sequential(*modules), (c, h, w)


def optimizer_for(spec, params):
    o = spec.get("optimizer", {})
    kind, lr = o.get("type", "sgd"), o.get("lr", 1e-3)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.0), dampening=o.get("dampening", 0.0),
                               nesterov=o.get("nesterov", False), weight_decay=o.get("weight_decay", 0.0))
    betas = (o.get("beta1", 0.9), o.get("beta2", 0.999))  # detnn's names (docs/optimizers.md)
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, betas=betas, eps=o.get("eps", 1e-8), weight_decay=o.get("weight_decay", 0.01 if kind == "adamw" else 0.0))


def time_mode(spec, device, steps, warmup, deterministic, tf32):
    # warn_only: an op without a deterministic implementation runs (and is named in the result)
    # instead of stopping the whole comparison.
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    model, _ = build(spec["layers"], tuple(spec["input"]))
    model = model.to(device).train()
    opt = optimizer_for(spec, model.parameters())
    loss_fn = nn.CrossEntropyLoss(label_smoothing=spec.get("loss", {}).get("label_smoothing", 0.0))
    batch = spec.get("training", {}).get("batch_size", 32)
    x = torch.randn(batch, *spec["input"], device=device)
    classes = model(x[:2]).shape[1]
    y = torch.randint(0, classes, (batch,), device=device)
    times = []
    for i in range(warmup + steps):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(times)
    return {"ms_per_step": ms, "images_per_s": batch * 1e3 / ms}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    with open(a.model) as f:
        spec = json.loads(strip_comments(f.read()))
    device = "cuda:0" if a.device == "cuda" else a.device
    modes = [("default fp32", False, False), ("deterministic fp32", True, False)]
    if device.startswith("cuda"):
        modes += [("default tf32", False, True), ("deterministic tf32", True, True)]
    results = []
    for name, det, tf32 in modes:
        # One mode's failure (out of memory, an unsupported op) must not hide the others' figures.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                r = time_mode(spec, device, a.steps, a.warmup, det, tf32)
            except Exception as e:  # noqa: BLE001 - reported in the result, per mode
                r = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
        nondeterministic = sorted({str(w.message).split(" does not have")[0] for w in caught
                                   if "does not have a deterministic implementation" in str(w.message)})
        if nondeterministic:
            r["nondeterministic_ops"] = nondeterministic
        r["mode"] = name
        results.append(r)
        if "error" in r:
            print("torch_reference.py: %s: %s" % (name, r["error"]), file=sys.stderr)
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    print(json.dumps({"results": results, "note": "torch %s on %s" % (torch.__version__, where)}))


if __name__ == "__main__":
    main()
