"""Generators of the PyTorch reference files in tests/data/torch-reference/ (see
tools/make_torch_reference.py)."""
