#!/usr/bin/env python3
"""Writes the seed corpus of one fuzz target: fuzz/make-seeds.py NAME DIR.

Seeds are valid files of the format (so the fuzzer starts deep inside the parser) and the
hostile cases that once crashed, hung or were accepted (issue 20's list), so every run retries
them. The two-file readers (idx, npy) take one input framed as fuzz/fuzz_support.h says: a
4-byte little-endian length of the first file, the first file, then the second.
Standard library only: CI runs it before the fuzz tests.
"""
import gzip
import json
import os
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def two_files(first, second):
    return struct.pack("<I", len(first)) + first + second


def model_file_seeds():
    seeds = {}
    for path in sorted(list((ROOT / "examples").glob("*.json")) + list((ROOT / "tests/data/models").glob("*.json"))
                       + list((ROOT / "tests/data/model-corpus").glob("*.json"))):
        seeds[path.stem] = path.read_bytes()
    base = {  # a small model of its own to vary (the examples carry comments, which json cannot read)
        "name": "seed", "input": [1, 28, 28],
        "layers": [{"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "relu"},
                   {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"type": "linear", "out_features": 10}],
        "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
        "data": {"format": "synthetic", "train": {"count": 64, "shape": [1, 28, 28]}, "validation": {"count": 16}},
        "training": {"epochs": 1, "batch_size": 16, "chunk_size": 8},
    }

    def variant(key, change):
        doc = json.loads(json.dumps(base))
        change(doc)
        seeds[key] = json.dumps(doc).encode()

    variant("huge_linear", lambda d: d["layers"][-1].update(out_features=2**63 - 1))
    variant("huge_padding", lambda d: d["layers"][0].update(padding=2**62, dilation=2**62))
    variant("big_input", lambda d: d.update(input=[1, 4096, 4096]))
    variant("onecycle_bad", lambda d: d["optimizer"].update(
        schedule={"type": "onecycle", "max_lr": 0.1, "div_factor": 0, "pct_start": 2}))
    variant("seed_huge", lambda d: d.setdefault("training", {}).update(seed=2**64 + 5, epochs=2**63))
    text = json.dumps(base)
    seeds["duplicate_key"] = text.replace('"name"', '"name": "a", "name"', 1).encode()
    seeds["overflow_number"] = text.replace('"layers"', '"description": 1e999, "layers"', 1).encode()
    seeds["deep_nesting"] = b"[" * 1000 + b"]" * 1000
    seeds["deep_in_layer"] = text.replace('"layers": [', '"layers": [' + "[" * 600 + "]" * 600 + ",", 1).encode()
    seeds["comments"] = b"// a comment\n/* block */ " + text.encode()
    return seeds


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    f32 = struct.pack("<6f", *[0.5, -1.0, 2.0, 0.0, 3.25, -7.5])
    return {
        "two_tensors": safetensors([("w", "F32", [2, 3], f32), ("b", "I64", [2], struct.pack("<2q", 1, -2))],
                                   {"format": "x", "step": "3"}),
        "scalar_and_empty": safetensors([("s", "F64", [], struct.pack("<d", 1.5)), ("e", "U8", [0, 4], b"")]),
        "int32": safetensors([("i", "I32", [3], struct.pack("<3i", 7, 8, 9))]),
        "huge_shape": safetensors([("w", "F32", [2**62, 2**62], f32)]),
        "overlap": safetensors([("a", "F32", [2], f32[:8]), ("b", "F32", [2], f32[:8])]).replace(
            b'"data_offsets": [8, 16]', b'"data_offsets": [0, 8]'),
        "huge_length": struct.pack("<Q", 2**63) + b"{}",
    }


def idx(dims, body):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def idx_seeds():
    images = idx([3, 4, 4], bytes(range(48)))
    labels = idx([3], bytes([1, 0, 9]))
    return {
        "plain": two_files(images, labels),
        "gzipped": two_files(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)),
        "mnist_head": two_files(idx([2, 28, 28], bytes(range(256)) * 6 + bytes(2 * 784 - 1536)), idx([2], bytes([5, 0]))),
        "huge_dims": two_files(idx([2**32 - 1, 2**32 - 1, 2**32 - 1], b""), labels),
    }


def npy(descr, shape, body, version=1):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (
        descr, "(%s)" % "".join("%d, " % d for d in shape) if len(shape) != 1 else "(%d,)" % shape[0])
    header = header.encode()
    length_bytes = 2 if version == 1 else 4
    pad = -(10 + (length_bytes - 2) + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    return (b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H" if version == 1 else "<I", len(header)) + header
            + body)


def npy_seeds():
    labels = npy("<i8", [2], struct.pack("<2q", 1, 0))
    return {
        "u8_nchw": two_files(npy("|u1", [2, 1, 3, 3], bytes(range(18))), labels),
        "f32_nhw": two_files(npy("<f4", [2, 2, 2], struct.pack("<8f", *range(8))), npy("|u1", [2], b"\x03\x01")),
        "v2_i4": two_files(npy("|u1", [1, 2, 2], bytes(4), version=2), npy("<i4", [1], struct.pack("<i", 2), version=3)),
        "nan": two_files(npy("<f4", [1, 1, 1], struct.pack("<f", float("nan"))), npy("|u1", [1], b"\x00")),
        "huge_dim": two_files(npy("|u1", [2**63, 1, 1], b""), labels),
        "gzipped": two_files(gzip.compress(npy("|u1", [1, 2, 2], bytes(4)), mtime=0), npy("|u1", [1], b"\x00")),
    }


def cifar_seeds():
    record = bytes([3]) + bytes(i % 256 for i in range(3072))
    return {
        "two_records": record + bytes([9]) + record[1:],
        "gzipped": gzip.compress(record, mtime=0),
        "bad_label": bytes([200]) + record[1:],
    }


def plan_seeds():
    def candidate(kind, algo, ms, invariant=False):
        return {"kind": kind, "algo": algo, "name": "strict" if algo < 0 else "IMPLICIT_PRECOMP_GEMM", "ms": ms,
                "batch_invariant": invariant}
    shape = "N=64 Ci=3 32x32 Co=32 k=3x3 s=1x1 p=1x1 d=1x1 g=1"
    plan = {
        "format": "detnn-kernel-plan-v1",
        "environment": {"gpu_model": "NVIDIA H200", "cuda_runtime": "13.0", "cudnn": "9.19.0", "cublas": "13.0.0"},
        "determinism": "fast", "precision": "fp32",
        "entries": [
            {"layer": "layers.0", "op": "conv2d forward", "shape": shape,
             "chosen": candidate("vendor_whole_batch", 1, 0.25, True),
             "measured": [candidate("vendor_whole_batch", 1, 0.25, True), candidate("vendor_per_chunk", 1, 0.75),
                          candidate("strict", -1, 0.5)]},
            {"layer": "layers.0", "op": "conv2d backward-filter", "shape": shape, "chosen": candidate("strict", -1, 0.5),
             "measured": [candidate("vendor_per_chunk", 1, -1), candidate("strict", -1, 0.5)]},
        ],
    }
    whole_filter = json.loads(json.dumps(plan))
    whole_filter["entries"][1]["chosen"] = candidate("vendor_whole_batch", 2, 0.1, True)
    twice = json.loads(json.dumps(plan))
    twice["entries"].append(twice["entries"][0])
    return {"plan": json.dumps(plan, indent=2).encode(), "whole_filter": json.dumps(whole_filter).encode(),
            "twice": json.dumps(twice).encode(), "empty": b'{"format": "detnn-kernel-plan-v1"}'}


def sweep_seeds():
    every_distribution = "method: random\nrun_cap: 4\nseed: 3\nparameters:\n" + "".join(
        "  p%d: {distribution: %s, %s}\n" % (i, name, keys) for i, (name, keys) in enumerate([
            ("constant", "value: 1"), ("categorical", "values: [a, 2, 3.5], probabilities: [0.5, 0.25, 0.25]"),
            ("int_uniform", "min: 1, max: 9"), ("uniform", "min: 0.0, max: 1.0"),
            ("q_uniform", "min: 0, max: 64, q: 8"), ("log_uniform", "min: -5, max: 0"),
            ("q_log_uniform", "min: 0, max: 5, q: 2"), ("log_uniform_values", "min: 0.0001, max: 0.1"),
            ("q_log_uniform_values", "min: 16, max: 256, q: 16"), ("inv_log_uniform", "min: 0, max: 3"),
            ("inv_log_uniform_values", "min: 0.01, max: 1"), ("normal", "mu: 0, sigma: 1"),
            ("q_normal", "mu: 5, sigma: 2, q: 1"), ("log_normal", "mu: 0, sigma: 0.5"),
            ("q_log_normal", "mu: 1, sigma: 0.5, q: 0.5"), ("beta", "a: 2, b: 3"), ("q_beta", "a: 0.5, b: 0.5, q: 0.1")]))
    return {
        "grid": b"method: grid\nmetric:\n  goal: minimize\n  name: val_loss\nparameters:\n"
                b"  training.batch_size:\n    values: [16, 32, 64]\n  optimizer.lr:\n    values: [0.001, 0.01]\n",
        "bayes": b"method: bayes\nmetric: {name: val_accuracy, goal: maximize}\nproposal_batch: 2\nparameters:\n"
                 b"  optimizer:\n    parameters:\n      lr: {min: 0.0001, max: 0.1}\n  layers[0].out_channels: {min: 4, max: 16}\n"
                 b"early_terminate: {type: hyperband, max_iter: 27, s: 2, eta: 3}\n",
        "every_distribution": every_distribution.encode(),
        "json": b'{"method": "random", "run_cap": 2, "parameters": {"optimizer.lr": {"values": [0.1, 0.2]}}}',
        "aliases": b"method: grid\nparameters:\n  a: &x {values: [1, 2]}\n  b: *x\n",
    }


SEEDS = {"model_file": model_file_seeds, "sweep": sweep_seeds, "plan": plan_seeds, "safetensors": safetensors_seeds, "idx": idx_seeds, "npy": npy_seeds,
         "cifar": cifar_seeds}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SEEDS:
        sys.exit("usage: make-seeds.py {%s} DIR" % "|".join(SEEDS))
    out = pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for key, data in SEEDS[sys.argv[1]]().items():
        (out / key).write_bytes(data)


if __name__ == "__main__":
    main()
