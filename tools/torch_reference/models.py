"""Whole-model PyTorch references (tests/session/torch_whole_model_test.cpp checks detnn's).

For each case (the three example models and the every-layer test model, on a small batch):
detnn's own initial weights (written by `trainer --epochs 0 --save-init`), one fixed batch of
float32 inputs and labels, and PyTorch's float64 results on them:

  logits_init          evaluation-mode logits of the initial model
  loss_step1           training loss of the first step
  grad_step1/<param>   every parameter's gradient at the first step
  loss_step2           training loss of the second step (after one optimizer update)
  after_step2/<name>   every parameter and batch-norm buffer after two optimizer steps
  logits_after_step2   evaluation-mode logits after two steps (running statistics included)

The PyTorch model is built from the model file by this module, independently of detnn's code,
with detnn's documented semantics where they are its own: ghost batch norm (each reduction chunk
normalized by its own statistics, running statistics updated with the mean of the chunk
statistics, DESIGN §6) and Philox dropout masks (DESIGN §4, tools/torch_reference/philox.py).

A record of up to FULL_RECORD_ELEMENTS values is stored whole; a larger one (a weight tensor)
as SAMPLED_ELEMENTS seeded entries (the largest included) plus its sum and its sum of
magnitudes, which see every element. The initial weights are not stored: detnn recomputes them
from the seed, and the file holds their SHA-256 per tensor to prove they are the same.

Bounds, per record: detnn computes in float32 and rounds differently from any other float32
code, so the bound is derived from how far float32-sized errors move each record here:
  deviation = max over runs of |run - float64 result| over the record's elements (or of its
  sums), over
    - the same computation in float32 (PyTorch's own roundings), and
    - PERTURBED_RUNS float64 runs with every input, initial weight, layer output and gradient
      flowing into a layer moved by a random relative PERTURBATION (four float32 roundings), which
      shows how strongly the model amplifies them (the float32 run alone is not enough:
      PyTorch's CPU kernels accumulate some sums in float64);
  bound = SAFETY * deviation + ROUNDING_FLOOR_ULPS * 2^-24 * scale (the largest magnitude; for
  the sums, the sum of magnitudes).
"""
import hashlib
import json
import os
import re
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file

from . import philox

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PERTURBED_RUNS = 8
SAFETY = 2.0
PERTURBATION = 2.0**-22  # four float32 roundings: wider than detnn's own noise, so that the
                         # runs also take the discrete flips (max-pool winners, ReLU signs) it may take
ROUNDING_FLOOR_ULPS = 64
FULL_RECORD_ELEMENTS = 256  # records up to this size are stored whole
SAMPLED_ELEMENTS = 64       # entries stored of a larger record

# batch and chunk are small so the CPU test stays fast; two chunks or more per batch so that
# ghost batch norm and the pairwise chunk sums matter. Optimizers differ between cases so that
# every update rule is exercised end to end.
CASES = {
    "mnist_cnn": dict(model="examples/mnist_cnn.json", batch=8, chunk=4, seed=11,
                      optimizer={"type": "adamw", "lr": 0.001, "weight_decay": 0.01}),
    "cifar_convnet": dict(model="examples/cifar_convnet.json", batch=8, chunk=4, seed=12,
                          optimizer={"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True,
                                     "weight_decay": 0.0005}),
    "resnet18_cifar": dict(model="examples/resnet18_cifar.json", batch=4, chunk=2, seed=13,
                           optimizer={"type": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005}),
    "every_layer": dict(model="tests/data/models/every_layer.json", batch=16, chunk=4, seed=14,
                        optimizer={"type": "adam", "lr": 0.01, "weight_decay": 0.001}),
}
RECORDS = ["logits_init", "loss_step1", "grad_step1", "loss_step2", "after_step2", "logits_after_step2"]


def strip_comments(text):
    """Model files allow // comments (outside strings)."""
    return re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*', lambda m: m.group(1) or "", text)


def case_model(name, case):
    """The model file of a case: the model's layers and loss, the case's batch, chunk, seed and
    optimizer, synthetic data of the model's input shape (the trainer needs data to start)."""
    with open(os.path.join(REPO, case["model"])) as f:
        spec = json.loads(strip_comments(f.read()))
    spec["name"] = name
    spec["optimizer"] = case["optimizer"]
    spec["data"] = {"format": "synthetic", "train": {"count": case["batch"], "shape": spec["input"]},
                    "classes": spec["layers"][-1]["out_features"]}
    spec["training"] = {"batch_size": case["batch"], "chunk_size": case["chunk"], "seed": case["seed"],
                        "epochs": 1, "device": "cpu", "determinism": "strict"}
    return spec


def detnn_initial_weights(trainer, spec, workdir):
    model_path = os.path.join(workdir, spec["name"] + ".json")
    with open(model_path, "w") as f:
        json.dump(spec, f)
    init_path = os.path.join(workdir, spec["name"] + "-init.safetensors")
    subprocess.run([trainer, "--model", model_path, "--epochs", "0", "--save-init", init_path,
                    "--run-dir", os.path.join(workdir, spec["name"] + "-run")], check=True,
                   stdout=subprocess.DEVNULL)
    return load_file(init_path)


class OneRounding(torch.autograd.Function):
    """Identity up to a rounding-sized error each way: the value times (1 ± PERTURBATION) in the
    forward, its gradient times (1 ± PERTURBATION) in the backward, signs drawn at random."""

    @staticmethod
    def forward(ctx, x, generator):
        ctx.generator = generator
        return x * (1 + _random_signs(x, generator) * PERTURBATION)

    @staticmethod
    def backward(ctx, grad):
        return grad * (1 + _random_signs(grad, ctx.generator) * PERTURBATION), None


def _random_signs(like, generator):
    return torch.randint(0, 2, like.shape, generator=generator).to(like.dtype) * 2 - 1


class Net:
    """The model file's layers as PyTorch functions over a dict of named tensors. With a
    generator, every layer's output and the gradient flowing into it carry one random float32
    rounding: what detnn's float32 arithmetic does to them, including the cancellation in sums
    whose result is much smaller than their terms."""

    def __init__(self, spec, generator=None):
        self.spec = spec
        self.seed = spec["training"]["seed"]
        self.chunk = spec["training"]["chunk_size"]
        self.generator = generator

    # Each layer: (x, params, state) -> y, where state carries training flag, step, and the
    # batch-norm chunk statistics of this forward.
    def forward(self, x, params, training, step=0, stats=None):
        return self._sequence(self.spec["layers"], "layers", x, params, training, step, stats)

    def _sequence(self, layers, prefix, x, params, training, step, stats):
        for i, layer in enumerate(layers):
            x = self._layer(layer, f"{prefix}.{i}", x, params, training, step, stats)
            if self.generator is not None:
                x = OneRounding.apply(x, self.generator)
        return x

    def _layer(self, layer, name, x, params, training, step, stats):
        kind = layer["type"]
        if kind == "conv2d":
            return F.conv2d(x, params[name + ".weight"], params.get(name + ".bias"),
                            stride=layer.get("stride", 1), padding=layer.get("padding", 0),
                            dilation=layer.get("dilation", 1), groups=layer.get("groups", 1))
        if kind == "linear":
            return F.linear(x, params[name + ".weight"], params.get(name + ".bias"))
        if kind == "batchnorm2d":
            return self._batchnorm(layer, name, x, params, training, stats)
        if kind == "relu":
            return F.relu(x)
        if kind == "gelu":
            return F.gelu(x, approximate=layer.get("approximate", "none"))
        if kind == "maxpool2d":
            k = layer["kernel"]
            return F.max_pool2d(x, k, layer.get("stride", k), layer.get("padding", 0))
        if kind == "avgpool2d":
            k = layer["kernel"]
            return F.avg_pool2d(x, k, layer.get("stride", k), layer.get("padding", 0),
                                count_include_pad=layer.get("count_include_pad", True))
        if kind == "global_avgpool":
            return x.mean(dim=(2, 3), keepdim=True)
        if kind == "flatten":
            return x.flatten(1)
        if kind == "dropout":
            if not training:
                return x
            p = layer.get("p", 0.5)
            sample_size = x[0].numel()
            keep = philox.dropout_keep(self.seed, step, name, x.shape[0], sample_size, p)
            scale = float(np.float32(1) / (np.float32(1) - np.float32(p)))  # detnn's float scale
            mask = torch.from_numpy(keep.astype(np.float64)).to(x.dtype).reshape(x.shape)
            return x * mask * scale
        if kind == "residual":
            body = self._sequence(layer["body"], name + ".body", x, params, training, step, stats)
            shortcut = layer.get("shortcut", "identity")
            if isinstance(shortcut, dict):  # projection: 1x1 convolution without bias + batch norm
                s = F.conv2d(x, params[name + ".shortcut.0.weight"], None, stride=shortcut.get("stride", 1))
                s = self._batchnorm({}, name + ".shortcut.1", s, params, training, stats)
            else:
                s = x
            y = body + s
            act = layer.get("activation", "none")
            return F.relu(y) if act == "relu" else F.gelu(y) if act == "gelu" else y
        raise ValueError(f"{name}: layer type {kind} has no PyTorch emulation here")

    def _batchnorm(self, layer, name, x, params, training, stats):
        eps = layer.get("eps", 1e-5)
        w, b = params[name + ".weight"], params[name + ".bias"]
        if not training:
            rm, rv = params[name + ".running_mean"], params[name + ".running_var"]
            return F.batch_norm(x, rm, rv, w, b, training=False, eps=eps)
        # Ghost batch norm: each reduction chunk normalized by its own (biased) statistics.
        outs, means, vars_ = [], [], []
        for c in x.split(self.chunk, dim=0):
            mean = c.mean(dim=(0, 2, 3))
            var = c.var(dim=(0, 2, 3), unbiased=False)
            outs.append((c - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps)
                        * w[None, :, None, None] + b[None, :, None, None])
            n = c.numel() // c.shape[1]
            means.append(mean.detach())
            vars_.append(var.detach() * n / (n - 1))
        stats[name] = (torch.stack(means).mean(0), torch.stack(vars_).mean(0), layer.get("momentum", 0.1))
        return torch.cat(outs)


def batchnorm_names(layers, prefix="layers"):
    """The paths of the model's batch-norm layers (their running statistics are buffers)."""
    out = []
    for i, layer in enumerate(layers):
        name = f"{prefix}.{i}"
        if layer["type"] == "batchnorm2d":
            out.append(name)
        elif layer["type"] == "residual":
            out += batchnorm_names(layer["body"], name + ".body")
            if isinstance(layer.get("shortcut", "identity"), dict):
                out.append(name + ".shortcut.1")
    return out


def with_initial_buffers(spec, init):
    """--save-init writes parameters; the buffers start as PyTorch's do (mean 0, variance 1)."""
    out = dict(init)
    for name in batchnorm_names(spec["layers"]):
        channels = init[name + ".weight"].shape[0]
        out[name + ".running_mean"] = np.zeros(channels, dtype=np.float32)
        out[name + ".running_var"] = np.ones(channels, dtype=np.float32)
    return out


def loss_fn(spec, logits, labels):
    smoothing = spec.get("loss", {}).get("label_smoothing", 0.0)
    return F.cross_entropy(logits, labels, label_smoothing=smoothing)


def make_optimizer(opt, tensors):
    kind = opt["type"]
    wd = opt.get("weight_decay", 0.0)
    if kind == "sgd":
        return torch.optim.SGD(tensors, lr=opt["lr"], momentum=opt.get("momentum", 0.0),
                               nesterov=opt.get("nesterov", False), weight_decay=wd)
    betas = tuple(opt.get("betas", (0.9, 0.999)))
    eps = opt.get("eps", 1e-8)
    if kind == "adam":
        return torch.optim.Adam(tensors, lr=opt["lr"], betas=betas, eps=eps, weight_decay=wd)
    if kind == "adamw":
        return torch.optim.AdamW(tensors, lr=opt["lr"], betas=betas, eps=eps, weight_decay=wd)
    raise ValueError(f"optimizer {kind} has no emulation here")


def run(spec, init, x, labels, dtype, generator=None):
    """Two training steps from `init` on the batch (x, labels); returns every record as float64."""
    net = Net(spec, generator)
    params = {k: torch.tensor(v, dtype=dtype) for k, v in init.items()}
    names = [k for k in init if not k.endswith((".running_mean", ".running_var"))]
    for k in names:
        params[k].requires_grad_(True)
    opt = make_optimizer(spec["optimizer"], [params[k] for k in names])
    xt = torch.tensor(x, dtype=dtype)
    yt = torch.tensor(labels, dtype=torch.int64)
    out = {}
    with torch.no_grad():
        out["logits_init"] = net.forward(xt, params, training=False)
    for step in (0, 1):
        stats = {}
        opt.zero_grad()
        loss = loss_fn(spec, net.forward(xt, params, training=True, step=step, stats=stats), yt)
        loss.backward()
        out[f"loss_step{step + 1}"] = loss.detach().reshape(1)
        if step == 0:
            for k in names:
                out[f"grad_step1/{k}"] = params[k].grad.detach().clone()
        opt.step()
        with torch.no_grad():
            for layer, (mean, var, momentum) in stats.items():
                params[layer + ".running_mean"].mul_(1 - momentum).add_(momentum * mean)
                params[layer + ".running_var"].mul_(1 - momentum).add_(momentum * var)
    for k in init:
        out[f"after_step2/{k}"] = params[k].detach().clone()
    with torch.no_grad():
        out["logits_after_step2"] = net.forward(xt, params, training=False)
    return {k: v.to(torch.float64).numpy().copy() for k, v in out.items()}


def perturbed(values, rng):
    """Each value moved by a random relative ± PERTURBATION, kept in float64."""
    v = values.astype(np.float64)
    return v * (1.0 + rng.choice([-1.0, 1.0], size=v.shape) * PERTURBATION)


def sha256_of_floats(values):
    """What detnn's sha256_of_floats gives: the SHA-256 of the float32 bytes (little-endian)."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).hexdigest()


def make_case(name, case, trainer, workdir):
    spec = case_model(name, case)
    saved = detnn_initial_weights(trainer, spec, workdir)
    init = with_initial_buffers(spec, saved)
    c, h, w = spec["input"]
    rng = np.random.default_rng(20261207 + case["seed"])
    x = rng.standard_normal((case["batch"], c, h, w)).astype(np.float32)
    labels = rng.integers(0, spec["data"]["classes"], size=case["batch"]).astype(np.int64)

    reference = run(spec, init, x, labels, torch.float64)
    others = [run(spec, init, x, labels, torch.float32)]
    generator = torch.Generator().manual_seed(case["seed"])
    for _ in range(PERTURBED_RUNS):
        p_init = {k: perturbed(v, rng) for k, v in init.items()}
        others.append(run(spec, p_init, perturbed(x, rng), labels, torch.float64, generator))

    def bound(deviation, scale):
        return SAFETY * deviation + ROUNDING_FLOOR_ULPS * 2.0**-24 * scale

    tensors = {f"{name}/input": x, f"{name}/labels": labels}
    records = {}
    for k, v in reference.items():
        flat = v.reshape(-1)
        scale = float(np.max(np.abs(flat)))
        deviation = max(float(np.max(np.abs(o[k] - v))) for o in others)
        r = {"elements": int(flat.size), "scale": scale, "max_deviation": deviation, "bound": bound(deviation, scale)}
        if flat.size <= FULL_RECORD_ELEMENTS:
            tensors[f"{name}/{k}"] = flat
        else:
            # Large tensors: seeded entries (and the largest one) elementwise, the whole tensor
            # through its sum and its sum of magnitudes, each with its own derived bound.
            index = rng.choice(flat.size, SAMPLED_ELEMENTS - 1, replace=False)
            index = np.unique(np.append(index, np.argmax(np.abs(flat))))
            tensors[f"{name}/{k}/index"] = index.astype(np.int64)
            tensors[f"{name}/{k}/value"] = flat[index]
            for key, f in (("sum", np.sum), ("abs_sum", lambda a: np.sum(np.abs(a)))):
                total = float(f(flat))
                dev = max(abs(float(f(o[k].reshape(-1))) - total) for o in others)
                r[key] = total
                r[key + "_bound"] = bound(dev, float(np.sum(np.abs(flat))))
        records[k] = r
    meta = {"model_file": case["model"], "model": spec, "records": records,
            "init_sha256": {k: sha256_of_floats(v) for k, v in saved.items()}}
    return meta, tensors


def main(args):
    trainer = os.path.abspath(args.trainer)
    out_dir = args.out or os.path.join(REPO, "tests", "data", "torch-reference")
    names = [args.case] if args.case else list(CASES)
    meta = {"_about": {
        "generator": "tools/make_torch_reference.py models",
        "torch": torch.__version__,
        "records": RECORDS,
        "bound": f"{SAFETY} x max deviation of float32 and {PERTURBED_RUNS} perturbed float64 runs"
                 f" + {ROUNDING_FLOOR_ULPS} x 2^-24 x max |value|, per record",
    }}
    tensors = {}
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            print(f"{name}: generating", flush=True)
            meta[name], t = make_case(name, CASES[name], trainer, workdir)
            tensors.update(t)
            worst = max(meta[name]["records"].items(), key=lambda kv: kv[1]["bound"] / max(kv[1]["scale"], 1e-30))
            print(f"{name}: {len(meta[name]['records'])} records; loosest relative bound {worst[0]} "
                  f"{worst[1]['bound'] / max(worst[1]['scale'], 1e-30):.2e}", flush=True)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "whole_models.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    save_file(tensors, os.path.join(out_dir, "whole_models.safetensors"))
    print(f"wrote {out_dir}/whole_models.json and whole_models.safetensors")
