"""Op-level PyTorch references: tests/data/torch-reference/torch_reference.{json,safetensors}.

Each case is one op with its parameters in PyTorch's terms (the JSON, one object per case) and
its tensors as "<case>/<name>" in the safetensors file. Inputs are drawn in float32 and stored
as float64, so the float tests read them exactly; outputs and gradients are computed by PyTorch
in float64. Backward passes take a random upstream gradient gy (named g<input> for the results).

All inputs come from one CPU torch.Generator seeded with SEED, drawn in the order of CASES and,
within a case, in the order the builder draws them: changing a shape or inserting a case moves
every later draw, so add new cases at the end.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 20261127


class Draws:
    """Inputs from one seeded generator, drawn in float32 (PyTorch's CPU randn/randint)."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self._shared = {}

    def normal(self, *shape, scale=1.0, shift=0.0):
        # The scale and shift are applied in float32 so the stored value stays
        # float32-representable; doing them after the cast to float64 is what made the first
        # batchnorm_train/x not representable.
        x = torch.randn(*shape, generator=self.gen)
        if scale != 1.0:
            x = x * scale
        if shift != 0.0:
            x = x + shift
        return x.double()

    def labels(self, n, classes):
        return torch.randint(0, classes, (n,), generator=self.gen)

    def shared(self, key, draw):
        """One draw used by several cases: made by the first case that asks for it."""
        if key not in self._shared:
            self._shared[key] = draw()
        return self._shared[key]


def with_grads(*tensors):
    return [t.clone().requires_grad_(True) for t in tensors]


def backward(y, gy, named_inputs):
    """The gradients of <y, gy> with respect to each named input, as {"g<name>": grad}."""
    grads = torch.autograd.grad(y, list(named_inputs.values()), gy)
    return {"g" + name: g for name, g in zip(named_inputs, grads)}


def conv2d(x_shape, w_shape, stride, padding, dilation=1, groups=1, bias=True):
    params = {"op": "conv2d", "stride": stride, "padding": padding, "dilation": dilation,
              "groups": groups, "bias": bias}

    def build(d):
        x = d.normal(*x_shape)
        # Weights scaled down (as an initialized layer's are) so outputs stay near unit size.
        w = d.normal(*w_shape, scale=0.3)
        inputs = {"x": x, "w": w}
        if bias:
            inputs["b"] = d.normal(w_shape[0])
        leaves = dict(zip(inputs, with_grads(*inputs.values())))
        y = F.conv2d(leaves["x"], leaves["w"], leaves.get("b"), stride, padding, dilation, groups)
        gy = d.normal(*y.shape)
        return {**inputs, "y": y.detach(), "gy": gy, **backward(y, gy, leaves)}

    return params, build


def linear(n, fan_in, fan_out):
    def build(d):
        inputs = {"x": d.normal(n, fan_in), "w": d.normal(fan_out, fan_in), "b": d.normal(fan_out)}
        leaves = dict(zip(inputs, with_grads(*inputs.values())))
        y = F.linear(leaves["x"], leaves["w"], leaves["b"])
        gy = d.normal(*y.shape)
        return {**inputs, "y": y.detach(), "gy": gy, **backward(y, gy, leaves)}

    return {"op": "linear", "bias": True}, build


def unary(params, fn, draw_x):
    def build(d):
        x = draw_x(d)
        (xl,) = with_grads(x)
        y = fn(xl)
        gy = d.normal(*y.shape)
        return {"x": x, "y": y.detach(), "gy": gy, **backward(y, gy, {"x": xl})}

    return params, build


def pool_input(d):
    return d.normal(2, 3, 9, 8)


def maxpool2d(kernel, stride, padding):
    params = {"op": "maxpool2d", "kernel": kernel, "stride": stride, "padding": padding}
    return unary(params, lambda x: F.max_pool2d(x, kernel, stride, padding), pool_input)


def avgpool2d(kernel, stride, padding, count_include_pad):
    params = {"op": "avgpool2d", "kernel": kernel, "stride": stride, "padding": padding,
              "count_include_pad": count_include_pad}
    return unary(params, lambda x: F.avg_pool2d(x, kernel, stride, padding,
                                                count_include_pad=count_include_pad), pool_input)


def batchnorm_train(shape, eps=1e-5, momentum=0.1):
    params = {"op": "batchnorm2d", "training": True, "eps": eps, "momentum": momentum,
              "note": "statistics over the whole batch here (one chunk); running statistics "
                      "start at PyTorch's defaults (mean 0, variance 1); x and gamma are "
                      "float32-representable like the other inputs"}

    def build(d):
        c = shape[1]
        # Off-centre, wider-than-unit inputs and gammas around 1, so the normalization does work.
        x = d.normal(*shape, scale=2.0, shift=0.5)
        gamma = d.normal(c, shift=1.0)
        beta = d.normal(c)
        running_mean, running_var = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
        xl, gl, bl = with_grads(x, gamma, beta)
        y = F.batch_norm(xl, running_mean, running_var, gl, bl, True, momentum, eps)
        gy = d.normal(*y.shape)
        grads = backward(y, gy, {"x": xl, "gamma": gl, "beta": bl})
        return {"x": x, "gamma": gamma, "beta": beta, "y": y.detach(), "gy": gy, **grads,
                "running_mean_after": running_mean, "running_var_after": running_var}

    return params, build


def batchnorm_eval(shape, eps=1e-5):
    def build(d):
        c = shape[1]
        running_mean = d.normal(c)
        # Kept as first generated (|randn| + 0.5 formed in float64, not float32-representable)
        # so the committed inputs stay bit-identical; the tests read it through floats().
        running_var = torch.randn(c, generator=d.gen).double().abs() + 0.5
        x, gamma, beta = d.normal(*shape), d.normal(c), d.normal(c)
        xl, gl, bl = with_grads(x, gamma, beta)
        y = F.batch_norm(xl, running_mean, running_var, gl, bl, False, 0.0, eps)
        gy = d.normal(*y.shape)
        grads = backward(y, gy, {"x": xl, "gamma": gl, "beta": bl})
        return {"running_mean": running_mean, "running_var": running_var, "x": x, "gamma": gamma,
                "beta": beta, "y": y.detach(), "gy": gy, **grads}

    return {"op": "batchnorm2d", "training": False, "eps": eps}, build


def activation(params, fn):
    # relu, gelu_erf and gelu_tanh share one x, wide enough to reach both tails of GELU.
    return unary(params, fn, lambda d: d.shared("activation_x", lambda: d.normal(1000, scale=3.0)))


def cross_entropy(label_smoothing, n=16, classes=10):
    params = {"op": "softmax_cross_entropy", "reduction": "mean", "label_smoothing": label_smoothing}

    def build(d):
        logits = d.normal(n, classes, scale=3.0)
        labels = d.labels(n, classes)
        (ll,) = with_grads(logits)
        loss = F.cross_entropy(ll, labels, reduction="mean", label_smoothing=label_smoothing)
        (glogits,) = torch.autograd.grad(loss, ll)
        # Labels stored as float64 like every other tensor of this file.
        return {"logits": logits, "labels": labels.double(), "loss": loss.detach().reshape(1),
                "glogits": glogits}

    return params, build


OPTIMIZER_STEPS = 4


def optimizer(params, make, n=50):
    def build(d):
        p0 = d.normal(n)
        grads = [d.normal(n) for _ in range(OPTIMIZER_STEPS)]
        p = p0.clone().requires_grad_(True)
        opt = make([p])
        out = {"p0": p0}
        for t, g in enumerate(grads, 1):
            p.grad = g.clone()
            opt.step()
            out[f"g{t}"], out[f"p{t}"] = g, p.detach().clone()
        return out

    return params, build


def sgd(lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    params = {"op": "sgd", "lr": lr}
    if momentum or weight_decay:
        params.update(momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    return optimizer(params, lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum,
                                                        weight_decay=weight_decay, nesterov=nesterov))


def adam(cls, op, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    params = {"op": op, "lr": lr, "betas": list(betas), "eps": eps, "weight_decay": weight_decay}
    return optimizer(params, lambda ps: cls(ps, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))


SCHEDULE_EPOCHS = 100


def schedule(params, make):
    """The learning rate of each of SCHEDULE_EPOCHS epochs, stepping the scheduler once per epoch."""

    def build(_d):
        lr0 = params.get("base_lr", params.get("max_lr"))
        # A momentum optimizer because OneCycleLR also cycles momentum.
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0, momentum=0.9)
        sched = make(opt)
        lrs = []
        for epoch in range(SCHEDULE_EPOCHS):
            lrs.append(opt.param_groups[0]["lr"])
            if epoch + 1 < SCHEDULE_EPOCHS:  # OneCycleLR refuses a step past total_steps
                opt.step()
                sched.step()
        return {"lr": torch.tensor(lrs, dtype=torch.float64)}

    return params, build


S = torch.optim.lr_scheduler

# In draw order (see the module docstring). Builders draw their inputs from the shared Draws.
CASES = {
    "conv_3x3_s1_p1": conv2d((2, 3, 9, 11), (4, 3, 3, 3), stride=1, padding=1),
    "conv_1x1_s2_p0": conv2d((2, 4, 8, 8), (6, 4, 1, 1), stride=2, padding=0, bias=False),
    "conv_3x3_s2_p1": conv2d((3, 2, 7, 7), (5, 2, 3, 3), stride=2, padding=1),
    "conv_3x3_dil2": conv2d((1, 3, 10, 9), (2, 3, 3, 3), stride=1, padding=2, dilation=2),
    "conv_groups2": conv2d((2, 4, 6, 6), (6, 2, 3, 3), stride=1, padding=1, groups=2),
    "conv_depthwise": conv2d((2, 5, 7, 6), (5, 1, 3, 3), stride=1, padding=1, groups=5, bias=False),
    "conv_5x5_s1_p0": conv2d((2, 1, 12, 12), (3, 1, 5, 5), stride=1, padding=0),
    "linear": linear(5, 7, 3),
    "maxpool_k2s2": maxpool2d(2, 2, 0),
    "maxpool_k3s2p1": maxpool2d(3, 2, 1),
    "maxpool_k3s1p1": maxpool2d(3, 1, 1),
    "avgpool_k2s2": avgpool2d(2, 2, 0, True),
    "avgpool_k3s1p1": avgpool2d(3, 1, 1, True),
    "avgpool_k3s1p1_nopad": avgpool2d(3, 1, 1, False),
    "global_avgpool": unary({"op": "global_avgpool"}, lambda x: x.mean(dim=(2, 3), keepdim=True),
                            lambda d: d.normal(2, 3, 5, 7)),
    "batchnorm_train": batchnorm_train((4, 3, 5, 6)),
    "batchnorm_eval": batchnorm_eval((2, 3, 4, 4)),
    "relu": activation({"op": "relu"}, F.relu),
    "gelu_erf": activation({"op": "gelu", "approximate": "none"}, lambda x: F.gelu(x, approximate="none")),
    "gelu_tanh": activation({"op": "gelu", "approximate": "tanh"}, lambda x: F.gelu(x, approximate="tanh")),
    "xent": cross_entropy(0.0),
    "xent_ls0.1": cross_entropy(0.1),
    "xent_ls0.2": cross_entropy(0.2),
    "sgd": sgd(0.1),
    "sgd_momentum_wd": sgd(0.1, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov_wd": sgd(0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    "adam_l2": adam(torch.optim.Adam, "adam"),
    "adamw": adam(torch.optim.AdamW, "adamw"),
    "sched_step": schedule({"op": "step", "base_lr": 0.1, "step_size": 30, "gamma": 0.1},
                           lambda o: S.StepLR(o, step_size=30, gamma=0.1)),
    "sched_multistep": schedule({"op": "multistep", "base_lr": 0.1, "milestones": [30, 80], "gamma": 0.1},
                                lambda o: S.MultiStepLR(o, milestones=[30, 80], gamma=0.1)),
    "sched_cosine": schedule({"op": "cosine", "base_lr": 0.1, "T_max": 100, "eta_min": 0},
                             lambda o: S.CosineAnnealingLR(o, T_max=100, eta_min=0)),
    "sched_warmup": schedule({"op": "linear_warmup", "base_lr": 0.1, "start_factor": 0.1, "total_iters": 10},
                             lambda o: S.LinearLR(o, start_factor=0.1, total_iters=10)),
    "sched_onecycle": schedule({"op": "onecycle", "max_lr": 0.1, "total_steps": 100, "pct_start": 0.3,
                                "anneal": "cos", "div_factor": 25, "final_div_factor": 1e4},
                               lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=100, pct_start=0.3,
                                                      anneal_strategy="cos", div_factor=25,
                                                      final_div_factor=1e4)),
}

# PyTorch's default Linear/Conv2d initialization bounds for layers of the MNIST CNN's shapes: kaiming
# uniform with a = sqrt(5) gives sqrt(1/fan_in) for the weights, and the bias uses the same.
INIT_LAYERS = {"conv_32x1x3x3": [32, 1, 3, 3], "conv_64x32x3x3": [64, 32, 3, 3],
               "linear_128x3136": [128, 3136]}


def init_bounds():
    out = {}
    for name, shape in INIT_LAYERS.items():
        fan_in = math.prod(shape[1:])
        bound = math.sqrt(1 / fan_in)
        out[name] = {"shape": shape, "fan_in": fan_in, "weight_bound": bound, "bias_bound": bound}
    return out


def build_all():
    """(params per case, tensors "<case>/<name>") with the draws in their fixed order."""
    d = Draws(SEED)
    params = {
        "_about": {
            "generator": "tools/make_torch_reference.py ops",
            "seed": SEED,
            "torch": torch.__version__,
            "dtype": "float64 outputs; inputs are float32-representable (drawn in float32) except "
                     "batchnorm_eval/running_var (|randn| + 0.5 formed in float64)",
        },
        "_init_bounds": init_bounds(),
    }
    tensors = {}
    for case, (case_params, build) in CASES.items():
        params[case] = case_params
        tensors.update({f"{case}/{k}": v for k, v in build(d).items()})
    # clone(): shared draws (the activations' x) must be separate tensors for safetensors.
    tensors = {k: v.detach().to(torch.float64).clone() for k, v in tensors.items()}
    return params, tensors


def generate(out_dir):
    params, tensors = build_all()
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "torch_reference.json")
    st_path = os.path.join(out_dir, "torch_reference.safetensors")
    with open(json_path, "w") as f:
        json.dump(params, f, indent=1, sort_keys=True)
        f.write("\n")
    save_file(tensors, st_path, metadata={"format": "pt", "seed": str(SEED)})
    for path in (json_path, st_path):
        os.chmod(path, 0o644)
    return json_path, st_path


def main(args):
    for path in generate(args.out):
        print("wrote", path)
