#!/usr/bin/env python3
"""PyTorch's CPU convolutions (oneDNN) on the shapes of detnn's CPU convolution benchmark
(`detnn_bench --benchmark_filter=Conv2dCpu`, bench/conv2d_bench.cpp): mnist_cnn's two layers at
batch 128 and cifar_convnet's six distinct ones at batch 64, each pass timed alone — forward, backward-data
(torch.nn.grad.conv2d_input) and backward-filter (conv2d_weight plus the bias gradient, as detnn's
pass computes both) — median of the timed calls, GFLOP/s = 2 * MACs of the dense convolution
(padding taps included, as detnn's benchmark counts them). Prints one JSON document.

    python3 bench/torch_conv_layers.py --threads 2
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

# name, batch, in channels, height = width, out channels, kernel, padding (conv2d_bench.cpp)
SHAPES = [
    ("mnist_conv1_1to32_28", 128, 1, 28, 32, 3, 1),
    ("mnist_conv2_32to64_14", 128, 32, 14, 64, 3, 1),
    ("cifar_3to32_32", 64, 3, 32, 32, 3, 1),
    ("cifar_32to64_32", 64, 32, 32, 64, 3, 1),
    ("cifar_64to64_16", 64, 64, 16, 64, 3, 1),
    ("cifar_64to256_16", 64, 64, 16, 256, 3, 1),
    ("cifar_256to256_8", 64, 256, 8, 256, 3, 1),
    ("cifar_256to256_4", 64, 256, 4, 256, 3, 1),
]


def median_ms(call, repeats, warmup=2):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    with torch.no_grad():
        for name, n, ci, hw, co, k, pad in SHAPES:
            x = torch.rand(n, ci, hw, hw) - 0.5
            w = torch.rand(co, ci, k, k) - 0.5
            b = torch.rand(co) - 0.5
            y = F.conv2d(x, w, b, padding=pad)
            dy = torch.rand_like(y) - 0.5
            flops = 2.0 * y.numel() * ci * k * k
            passes = {
                "forward": lambda: F.conv2d(x, w, b, padding=pad),
                "backward_data": lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=pad),
                "backward_filter": lambda: (torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=pad),
                                            dy.sum(dim=(0, 2, 3))),
            }
            for pass_name, call in passes.items():
                ms = median_ms(call, args.repeats)
                rows.append({"layer": name, "pass": pass_name, "ms": ms, "gflops": flops / ms * 1e-6})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "mkldnn": torch.backends.mkldnn.is_available(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
