#!/usr/bin/env python3
"""Regenerates the PyTorch reference files in tests/data/torch-reference/ that the
torch-reference tests read (tests/support/torch_reference.h).

    ops [--out DIR]   op-level cases: torch_reference.json and torch_reference.safetensors
                      (tools/torch_reference/ops.py)
    models --trainer build/tools/trainer [--out DIR] [--case NAME]
                      whole-model cases: whole_models.json and whole_models.safetensors
                      (tools/torch_reference/models.py; detnn's trainer writes the initial
                      weights, so build it first)

Run it wherever PyTorch is installed (CPU is enough); the build does not need it:

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch numpy safetensors
    /tmp/tv/bin/python tools/make_torch_reference.py ops

Write to a scratch directory first (--out) and compare with the committed files before
replacing them: the inputs must stay bit-identical, and the outputs move only by PyTorch's
float64 rounding.
"""
import argparse
import os
import sys

# The generators live beside this script in tools/torch_reference/.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "torch-reference")


def run_ops(args):
    from torch_reference import ops  # imports torch: only for the subcommand that needs it
    ops.main(args)


def run_models(args):
    from torch_reference import models
    models.main(args)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ops", help="op-level cases (torch_reference.*)")
    p.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    p.set_defaults(func=run_ops)

    p = sub.add_parser("models", help="whole-model cases (whole_models.*)")
    p.add_argument("--trainer", required=True, help="detnn's trainer binary (writes the initial weights)")
    p.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    p.add_argument("--case", help="only this case (the file then holds only it)")
    p.set_defaults(func=run_models)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
