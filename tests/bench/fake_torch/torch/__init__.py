"""A stand-in for PyTorch with just what bench/torch_reference.py's model building touches, so
that tests/bench/torch_model_parameters.py can check that script's models without PyTorch (CI
has none). Modules record their parameter shapes; nothing computes."""
__version__ = "fake"
