#!/usr/bin/env python3
"""ctest: tools/scaling-model computes what docs/scaling.md says, and the doc shows what it prints.

Usage: scaling_model_test.py SOURCE_DIR

Checks, each by running the tool (or reading its constants) against figures computed here:
  - every table in docs/scaling.md that follows a `<!-- tools/scaling-model ARGS -->` marker is
    exactly the tool's output for ARGS (the default table among them), so the doc cannot go stale;
  - bandwidth terms: on a flat network and inside one node, recursive halving, the ring and the
    all-to-all all move 2(P-1)/P * 4n bytes at the one link's bandwidth; across nodes the halving
    sends n/2 + n/4 + n/8 over NVLink and the rest over InfiniBand;
  - latency terms: 2 log2 P steps for recursive halving, 2(P-1) for the ring and the all-to-all;
  - the resnet18_cifar buckets in the tool are those that plan_gradient_buckets cuts from
    examples/resnet18_cifar.json, and they add up to the parameter count the C++ tests expect;
  - the exposed time and the efficiency follow the stated overlap rule;
  - bad options exit non-zero with one line on stderr and nothing on stdout.
"""
import importlib.machinery
import importlib.util
import json
import math
import os
import re
import subprocess
import sys

failures = []
checks = 0


def expect(condition, what, detail=""):
    global checks
    checks += 1
    if not condition:
        failures.append(f"{what}\n  {detail}" if detail else what)


def run(root, args):
    return subprocess.run([sys.executable, os.path.join(root, "tools", "scaling-model")] + args,
                          capture_output=True, text=True)


def terms(root, args):
    """{(floats, gpus, algorithm): (latency, bandwidth, reduction)} from --terms --format csv."""
    r = run(root, ["--terms", "--format", "csv"] + args)
    if r.returncode != 0:
        raise RuntimeError(f"scaling-model {args} failed: {r.stderr}")
    lines = r.stdout.strip().split("\n")
    assert lines[0] == "gradient,floats,gpus,algorithm,latency_us,bandwidth_us,reduction_us,total_us", lines[0]
    out = {}
    for line in lines[1:]:
        _, floats, gpus, algorithm, lat, bw, red, total = line.split(",")
        out[(int(floats), int(gpus), algorithm)] = (float(lat), float(bw), float(red))
    return out


def close(a, b, rel=1e-12):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def check_doc_tables(root):
    with open(os.path.join(root, "docs", "scaling.md")) as f:
        lines = f.read().split("\n")
    marker = re.compile(r"^<!-- tools/scaling-model(.*?) -->$")
    found = []
    for i, line in enumerate(lines):
        m = marker.match(line.strip())
        if not m:
            continue
        args = m.group(1).split()
        table = []
        for later in lines[i + 1:]:
            if later.startswith("|"):
                table.append(later)
            elif table or later.strip():
                break
        found.append(args)
        r = run(root, args)
        expect(r.returncode == 0 and r.stdout.rstrip("\n").split("\n") == table,
               f"docs/scaling.md: the table after line {i + 1} is what `tools/scaling-model {' '.join(args)}` prints",
               f"exit {r.returncode}, tool:\n{r.stdout}\n  doc:\n" + "\n".join(table) + f"\n  stderr: {r.stderr}")
    expect([] in found, "docs/scaling.md holds the default table (a `<!-- tools/scaling-model -->` marker)",
           f"markers found: {found}")
    expect("tools/multi-gpu-check" in "\n".join(lines) and "Sources" in "\n".join(lines),
           "docs/scaling.md names its sources and the measurement that awaits several GPUs")


def check_bandwidth(root):
    n = 12_345_679  # odd, not a bucket multiple
    gpus = [2, 4, 8, 16, 64, 256, 1024]
    flat_ib = 37.5
    t = terms(root, ["--floats", str(n), "--gpus", ",".join(map(str, gpus)), "--gpus-per-node", "1",
                     "--ib-gbps", str(flat_ib)])
    for p in gpus:
        want = 2 * (p - 1) / p * 4 * n / (flat_ib * 1e3)  # us
        for algorithm in ("recursive halving", "ring (NCCL)", "all-to-all"):
            got = t[(n, p, algorithm)][1]
            expect(close(got, want), f"flat network, P={p}: {algorithm}'s bandwidth term is 2(P-1)/P*4n/B_ib",
                   f"got {got}, want {want}")
    nvl = 400.0
    t = terms(root, ["--floats", str(n), "--gpus", ",".join(map(str, gpus)), "--gpus-per-node", "1024",
                     "--nvlink-gbps", str(nvl)])
    for p in gpus:
        want = 2 * (p - 1) / p * 4 * n / (nvl * 1e3)
        for algorithm in ("recursive halving", "ring (NCCL)", "all-to-all"):
            got = t[(n, p, algorithm)][1]
            expect(close(got, want), f"one node, P={p}: {algorithm}'s bandwidth term is 2(P-1)/P*4n/B_nvlink",
                   f"got {got}, want {want}")
    # Across 8-GPU nodes: the halving's levels 1-3 (n/2, n/4, n/8) on NVLink, the others on IB,
    # each level once in the reduce-scatter and once in the all-gather.
    b_nvl, b_ib = 300.0, 40.0
    t = terms(root, ["--floats", str(n), "--gpus", "16,1024", "--nvlink-gbps", str(b_nvl), "--ib-gbps", str(b_ib)])
    for p in (16, 1024):
        levels = int(math.log2(p))
        want = sum(2 * 4 * n / 2 ** k / ((b_nvl if k <= 3 else b_ib) * 1e3) for k in range(1, levels + 1))
        got = t[(n, p, "recursive halving")][1]
        expect(close(got, want), f"8-GPU nodes, P={p}: the halving's large steps go over NVLink",
               f"got {got}, want {want}")
        # The all-to-all's reduce-scatter sends (P-8)/P of the gradient through each GPU's IB port.
        rs = max(7 * 4 * n / p / (b_nvl * 1e3), (p - 8) * 4 * n / p / (b_ib * 1e3))
        ag = max(7 / 8 * (p - 1) / p * 4 * n / (b_nvl * 1e3), 1 / 8 * (p - 1) / p * 4 * n / (b_ib * 1e3))
        got = t[(n, p, "all-to-all")][1]
        expect(close(got, rs + ag), f"8-GPU nodes, P={p}: the all-to-all's bytes per link", f"got {got}, want {rs + ag}")


def check_latency(root):
    alpha = 5.0
    gpus = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    t = terms(root, ["--floats", "1000000", "--gpus", ",".join(map(str, gpus)), "--gpus-per-node", "1",
                     "--alpha-us", str(alpha), "--launch-us", "0"])
    for p in gpus:
        lat = {a: t[(1_000_000, p, a)][0] for a in ("recursive halving", "ring (NCCL)", "all-to-all")}
        expect(close(lat["recursive halving"], 2 * math.log2(p) * alpha),
               f"P={p}: the halving's latency is 2 log2(P) alpha", f"got {lat['recursive halving']}")
        expect(close(lat["ring (NCCL)"], 2 * (p - 1) * alpha),
               f"P={p}: the ring's latency is 2(P-1) alpha", f"got {lat['ring (NCCL)']}")
        expect(close(lat["all-to-all"], 2 * (p - 1) * alpha),
               f"P={p}: the all-to-all's latency is (P-1) messages + (P-1) ring steps", f"got {lat['all-to-all']}")
    # With the default figures: from 16 GPUs on, doubling P adds one NVLink-free level (2 calls,
    # 2 IB steps) to the halving, and 2P ring steps to the ring.
    t = terms(root, ["--floats", "1000000", "--gpus", "16,32,64,128,256,512,1024"])
    f = TOOL.FIGURES
    for p in (32, 64, 128, 256, 512, 1024):
        step = t[(1_000_000, p, "recursive halving")][0] - t[(1_000_000, p // 2, "recursive halving")][0]
        expect(close(step, 2 * (f["launch_us"] + f["alpha_ib_us"]), 1e-9),
               f"P={p}: doubling P adds one level of two calls to the halving's latency", f"got {step}")
        ring_step = t[(1_000_000, p, "ring (NCCL)")][0] - t[(1_000_000, p // 2, "ring (NCCL)")][0]
        want = (p - p // 8) * f["alpha_nvlink_us"] + (p // 8) * f["alpha_ib_us"]
        expect(close(ring_step, want, 1e-9), f"P={p}: doubling P adds P ring steps (P/8 of them across nodes)",
               f"got {ring_step}, want {want}")


def strip_comments(text):
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("//"))


def layer_params(layer, shape):
    """(parameter count, output shape [C, H, W]) of one layer of the model format."""
    c, h, w = shape
    kind = layer["type"]
    if kind == "conv2d":
        k = layer["kernel"]
        s, pad = layer.get("stride", 1), layer.get("padding", 0)
        assert isinstance(k, int) and layer.get("groups", 1) == 1 and layer.get("dilation", 1) == 1
        co = layer["out_channels"]
        count = co * c * k * k + (co if layer.get("bias", True) else 0)
        return count, [co, (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1]
    if kind == "batchnorm2d":
        return 2 * c, shape
    if kind == "linear":
        assert h == 1 and w == 1
        out = layer["out_features"]
        return out * c + (out if layer.get("bias", True) else 0), [out, 1, 1]
    if kind in ("relu", "gelu", "dropout"):
        return 0, shape
    if kind == "global_avgpool":
        return 0, [c, 1, 1]
    if kind == "flatten":
        return 0, [c * h * w, 1, 1]
    if kind == "residual":
        count, out = 0, shape
        for inner in layer["body"]:
            n, out = layer_params(inner, out)
            count += n
        shortcut = layer.get("shortcut", "identity")
        if shortcut != "identity":
            assert shortcut["type"] == "projection"
            count += out[0] * c + 2 * out[0]  # 1x1 conv without bias + batch norm
        return count, out
    raise AssertionError(f"the test does not know layer type {kind}")


def check_buckets(root):
    with open(os.path.join(root, "examples", "resnet18_cifar.json")) as f:
        model = json.loads(strip_comments(f.read()))
    shape, per_layer = model["input"], []
    for layer in model["layers"]:
        n, shape = layer_params(layer, shape)
        per_layer.append(n)
    with open(os.path.join(root, "tests", "session", "session_test.cpp")) as f:
        m = re.search(r'resnet18_cifar\.json"\)\.parameter_count, (\d+)\)', f.read())
    expect(m is not None and sum(per_layer) == int(m.group(1)),
           "resnet18_cifar's parameter count from its model file is the C++ tests'",
           f"{sum(per_layer)} vs {m.group(1) if m else 'not found'}")
    # plan_gradient_buckets (session/gradient_buckets.cpp): from the last top-level layer, close
    # a bucket once it holds >= the target, or at layer 0.
    target = 1 << 20
    buckets, open_count = [], 0
    for i in range(len(per_layer) - 1, -1, -1):
        open_count += per_layer[i]
        if open_count == 0:
            continue
        if open_count < target and i > 0:
            continue
        buckets.append(open_count)
        open_count = 0
    expect(TOOL.RESNET18_CIFAR_BUCKETS == buckets,
           "the tool's resnet18_cifar buckets are plan_gradient_buckets' for the model file",
           f"tool {TOOL.RESNET18_CIFAR_BUCKETS}, model file {buckets}")
    with open(os.path.join(root, "session", "gradient_buckets.h")) as f:
        expect("kGradientBucketFloats = int64_t{1} << 20" in f.read() and TOOL.FIGURES["bucket_floats"] == target,
               "the tool's bucket size is session/gradient_buckets.h's default")


def check_overlap(root):
    # One gradient of 3 buckets; a 30 ms step, backward half of it: 15 ms can hide all but the
    # last bucket. Compare the tool's per-step figures with the sum of its own bucket terms.
    n, b = 2_500_000, 1_000_000
    common = ["--floats", str(n), "--bucket-floats", str(b), "--step-ms", "30", "--backward-fraction", "0.5",
              "--gpus", "64,1024"]
    whole = terms(root, ["--floats", str(b), "--gpus", "64,1024"])
    last = terms(root, ["--floats", str(n - 2 * b), "--gpus", "64,1024"])
    r = run(root, ["--format", "csv"] + common)
    expect(r.returncode == 0, "the per-step table runs", r.stderr)
    for line in r.stdout.strip().split("\n")[1:]:
        gpus, algorithm, comm_ms, exposed_ms, eff = line.split(",")
        p = int(gpus)
        t_full, t_last = sum(whole[(b, p, algorithm)]), sum(last[(n - 2 * b, p, algorithm)])
        total = 2 * t_full + t_last
        exposed = max(0.0, total - t_last - 0.5 * 30_000) + t_last
        expect(abs(float(comm_ms) * 1e3 - total) < 1e-2, f"P={p} {algorithm}: all-reduce per step = sum of buckets",
               f"{comm_ms} ms vs {total} us")
        expect(abs(float(exposed_ms) * 1e3 - exposed) < 1e-2, f"P={p} {algorithm}: the exposed time",
               f"{exposed_ms} ms vs {exposed} us")
        expect(abs(float(eff) - 30_000 / (30_000 + exposed)) < 1e-6, f"P={p} {algorithm}: the efficiency", eff)


def check_errors(root):
    help_ = run(root, ["--help"])
    expect(help_.returncode == 0 and all(o in help_.stdout for o in (
        "--nvlink-gbps", "--ib-gbps", "--alpha-us", "--gpus-per-node", "--floats", "--format")),
        "--help names the overrides", help_.stdout)
    bad = [["--gpus", "12"], ["--gpus", "8,x"], ["--gpus", "1"], ["--nvlink-gbps", "0"], ["--ib-gbps", "-3"],
           ["--ib-gbps", "nan"], ["--alpha-us", "fast"], ["--gpus-per-node", "6"], ["--format", "xml"],
           ["--floats", "0"], ["--step-ms", "5"], ["--backward-fraction", "1.5"], ["--a2a-concurrency", "0"],
           ["--bucket-floats", "-1"], ["--no-such-option"], ["--gpus"], ["stray"]]
    for args in bad:
        r = run(root, args)
        lines = r.stderr.strip().split("\n")
        expect(r.returncode != 0 and r.stdout == "" and len(lines) == 1 and lines[0].startswith("scaling-model: "),
               f"{args} is refused with one line", f"exit {r.returncode}, stderr {r.stderr!r}, stdout {r.stdout!r}")


def load_tool(root):
    """The tool as a module, for its constants (no bytecode written into the source tree)."""
    sys.dont_write_bytecode = True
    path = os.path.join(root, "tools", "scaling-model")
    loader = importlib.machinery.SourceFileLoader("scaling_model", path)
    spec = importlib.util.spec_from_loader("scaling_model", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main():
    global ROOT, TOOL
    ROOT = os.path.abspath(sys.argv[1])
    TOOL = load_tool(ROOT)
    check_doc_tables(ROOT)
    check_bandwidth(ROOT)
    check_latency(ROOT)
    check_buckets(ROOT)
    check_overlap(ROOT)
    check_errors(ROOT)
    for f in failures:
        print("FAILED:", f)
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
