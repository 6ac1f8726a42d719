#!/usr/bin/env python3
"""Prints, as JSON, the parameter names and shapes of the PyTorch model that
bench/torch_reference.py builds for a detnn model file, built against the stand-in in
fake_torch/ (no PyTorch needed): [["layers.0.weight", [32, 1, 3, 3]], ...], prefixed "layers."
like detnn's names. tests/bench/torch_reference_test.cpp compares them with detnn's.

    torch_model_parameters.py SOURCE_DIR MODEL_FILE
"""
import importlib.util
import json
import os
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
source_dir, model_file = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_torch"))
spec = importlib.util.spec_from_file_location("torch_reference", os.path.join(source_dir, "bench", "torch_reference.py"))
torch_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_reference)

with open(model_file) as f:
    model_spec = json.loads(torch_reference.strip_comments(f.read()))
model, (c, h, w) = torch_reference.build(model_spec["layers"], tuple(model_spec["input"]))
print(json.dumps({"parameters": [["layers." + n, s] for n, s in model.named_parameters()], "output": [c, h, w]}))
