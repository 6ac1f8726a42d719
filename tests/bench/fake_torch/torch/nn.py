"""The nn classes bench/torch_reference.py builds, recording parameter shapes as PyTorch names
them (weight, bias; children by attribute name or Sequential index)."""


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class Module:
    def __init__(self):
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_children", {})

    def __setattr__(self, name, value):
        if isinstance(value, Module):
            self._children[name] = value
        object.__setattr__(self, name, value)

    def named_parameters(self, prefix=""):
        for name, shape in self._params.items():
            yield prefix + name, shape
        for name, child in self._children.items():
            yield from child.named_parameters(prefix + name + ".")


class Sequential(Module):
    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            self._children[str(i)] = m


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__()
        assert in_channels % groups == 0 and out_channels % groups == 0, "groups must divide the channels"
        kh, kw = _pair(kernel_size)
        self._params["weight"] = [out_channels, in_channels // groups, kh, kw]
        if bias:
            self._params["bias"] = [out_channels]


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self._params["weight"] = [out_features, in_features]
        if bias:
            self._params["bias"] = [out_features]


class BatchNorm2d(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self._params["weight"] = [num_features]
        self._params["bias"] = [num_features]


class _NoParameters(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()


ReLU = GELU = MaxPool2d = AvgPool2d = AdaptiveAvgPool2d = Flatten = Dropout = CrossEntropyLoss = _NoParameters
