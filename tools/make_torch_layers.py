#!/usr/bin/env python3
"""Writes the PyTorch fixtures of stackprop's convolution, pooling, batch
norm and flatten layers and of two small networks of them
(tests/torch_layers.rs).

    /path/to/venv/bin/python tools/make_torch_layers.py   # from the repository root

Needs torch, numpy and safetensors. For each case below, PyTorch builds the
layer in float64 under torch.manual_seed(SEED + case index) (its default
initialisation; batch norm's affine parameters and running statistics are
drawn at random so that they matter), draws an input x and an upstream
gradient u (standard normal), and computes y = layer(x), and by autograd
dx = d<u, y>/dx and every parameter's gradient. Outputs, under
tests/data/layers/:

  NAME.safetensors   the state dict (float64) of nn.Sequential(layer) (the
                     names a lone stackprop layer's tensors have: 0.weight),
                     as safetensors.torch.save_file(state_dict, ...)
  NAME.ref.txt       lines "key v v v ...", values as Python repr (exact):
                     x, u, y, dx in stackprop's layout (one sample after the
                     other, each in column-major order of its PyTorch shape
                     [C, L] or [C, H, W]: channel fastest), and "grad.NAME"
                     for each parameter in column-major order of its shape.
                     Batch norm in training mode also writes the running
                     statistics after the step ("after.running_mean", ...).
"""

import os

import numpy as np
import torch
from safetensors.torch import save_file

SEED = 20261208
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "layers")
nn = torch.nn


def col(t):
    """A tensor's values in column-major order (first index fastest)."""
    return t.detach().numpy().flatten(order="F")


def samples(t):
    """A batch [B, ...] as stackprop's columns: each sample column-major."""
    return np.concatenate([col(s) for s in t]) if t.dim() > 1 else col(t)


# (name, module factory, input shape [B, ...], training mode)
CASES = [
    ("conv1d_s2_p1", lambda: nn.Conv1d(1, 4, 5, stride=2, padding=1), (3, 1, 12), False),
    ("conv1d_same_d2", lambda: nn.Conv1d(3, 2, 3, padding=2, dilation=2), (2, 3, 7), False),
    ("conv1d_k_eq_len", lambda: nn.Conv1d(2, 3, 6), (13, 2, 6), False),
    ("conv2d_s2_p1", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 6), False),
    ("conv2d_k1", lambda: nn.Conv2d(3, 2, 1), (1, 3, 4, 3), False),
    ("depthwise_s1_p1", lambda: nn.Conv2d(3, 3, 3, padding=1, groups=3), (2, 3, 4, 5), False),
    ("depthwise_s2", lambda: nn.Conv2d(2, 2, 2, stride=2, groups=2), (3, 2, 6, 4), False),
    ("max_pool1d", lambda: nn.MaxPool1d(3, stride=2), (2, 3, 9), False),
    ("max_pool2d", lambda: nn.MaxPool2d(2, stride=2), (2, 2, 4, 6), False),
    ("avg_pool1d", lambda: nn.AvgPool1d(2, stride=1), (2, 3, 5), False),
    ("avg_pool2d", lambda: nn.AvgPool2d(3, stride=2), (2, 2, 7, 5), False),
    ("batch_norm1d_train", lambda: nn.BatchNorm1d(3), (4, 3, 5), True),
    ("batch_norm1d_eval", lambda: nn.BatchNorm1d(3), (4, 3, 5), False),
    ("batch_norm2d_train", lambda: nn.BatchNorm2d(2), (3, 2, 3, 4), True),
    ("batch_norm_vec_train", lambda: nn.BatchNorm1d(4), (5, 4), True),
    ("flatten_linear_1d", lambda: nn.Sequential(nn.Flatten(), nn.Linear(3 * 4, 2)), (2, 3, 4), False),
    ("flatten_linear_2d", lambda: nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 4, 3)), (2, 2, 3, 4), False),
    ("global_avg_pool2d", lambda: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), (3, 4, 2, 3), False),
    ("relu6", lambda: nn.ReLU6(), (4, 3), False),
    ("net1d_train", lambda: nn.Sequential(
        nn.Conv1d(1, 4, 5, stride=2, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
        nn.MaxPool1d(2, stride=2), nn.Flatten(), nn.Linear(8, 3)), (3, 1, 12), True),
    ("net2d_train", lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU6(),
        nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.AvgPool2d(2, stride=2), nn.Flatten(),
        nn.Linear(16, 3)), (2, 1, 4, 4), True),
]


def write_case(k, name, make, shape, train):
    torch.manual_seed(SEED + k)
    layer = make().double()
    if not isinstance(layer, nn.Sequential):
        layer = nn.Sequential(layer)  # stackprop names a lone layer's tensors 0.weight, 0.bias
    for m in layer.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    layer.train(train)
    x = torch.randn(*shape, dtype=torch.float64)
    if name == "relu6":
        x = x * 4.0 + 3.0  # values on both sides of 0 and 6
    x.requires_grad_(True)
    state = {k: v.clone() for k, v in layer.state_dict().items()}
    y = layer(x)
    u = torch.randn_like(y)
    (y * u).sum().backward()
    save_file(state, os.path.join(OUT, name + ".safetensors"), metadata={"format": "pt"})
    with open(os.path.join(OUT, name + ".ref.txt"), "w") as f:
        f.write("# Written by tools/make_torch_layers.py (seed %d + %d), torch %s:\n" % (SEED, k, torch.__version__))
        f.write("# %s on input shape %s, %s mode, float64.\n" % (" ".join(repr(layer).split()), list(shape), "training" if train else "eval"))
        rows = [("x", samples(x)), ("u", samples(u)), ("y", samples(y)), ("dx", samples(x.grad))]
        rows += [("grad." + n, col(p.grad)) for n, p in layer.named_parameters()]
        if train:
            rows += [("after." + n, col(b)) for n, b in layer.named_buffers() if b.dtype == torch.float64]
        for key, v in rows:
            f.write(key + " " + " ".join(repr(float(a)) for a in v) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    for k, (name, make, shape, train) in enumerate(CASES):
        write_case(k, name, make, shape, train)
    print("wrote %d cases to %s" % (len(CASES), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
