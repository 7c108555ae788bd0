#!/usr/bin/env python3
"""Writes the PyTorch fixtures of stackprop's tests of nested blocks and of a
layer defined outside the crate.

    /path/to/venv/bin/python tools/make_torch_blocks.py   # from the repository root

Needs torch, numpy and safetensors (`../shared/peers/run.sh --setup-python`
installs the first two into ../shared/peers/.venv; add safetensors with its
pip). Outputs (all committed, under tests/data/):

  torch_residual.safetensors / .ref.txt   the state dict of
        nn.Sequential(nn.Linear(3, 4), nn.Tanh(),
                      Residual(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4)),
                      nn.Linear(4, 2))
        with Residual below (its child is the attribute `inner`, an
        nn.Sequential): tensors 0.weight, 0.bias, 2.inner.0.weight,
        2.inner.0.bias, 2.inner.2.weight, 2.inner.2.bias, 3.weight, 3.bias.
  torch_quadratic.safetensors / .ref.txt  the state dict of
        nn.Sequential(nn.Linear(3, 4), nn.Tanh(), Quadratic(4, 2))
        with Quadratic below, y_o = sum_ij W[o, i, j] x_i x_j + b_o: a
        rank-3 weight [2, 4, 4] named 2.weight, and 2.bias.

Weights are PyTorch's default initialisation under torch.manual_seed(SEED)
(Quadratic: U(-1/in, 1/in)), stored as float32, saved with
safetensors.torch.save_file(model.state_dict(), path). The reference
outputs y of the inputs x are computed by PyTorch in float64 from those
float32 weights (the same model, .double()), so they are the exact outputs up
to float64 rounding. Each .ref.txt lists x and y lines, values as Python repr.
"""

import os

import numpy as np
import torch
from safetensors.torch import save_file

SEED = 20261207
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")


class Residual(torch.nn.Module):
    """x + inner(x), the PyTorch module stackprop's Residual<F> names."""

    def __init__(self, *layers):
        super().__init__()
        self.inner = torch.nn.Sequential(*layers)

    def forward(self, x):
        return x + self.inner(x)


class Quadratic(torch.nn.Module):
    """y_o = sum_ij W[o, i, j] x_i x_j + b_o."""

    def __init__(self, i, o):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(o, i, i).uniform_(-1.0 / i, 1.0 / i))
        self.bias = torch.nn.Parameter(torch.empty(o).uniform_(-1.0 / i, 1.0 / i))

    def forward(self, x):
        return torch.einsum("oij,bi,bj->bo", self.weight, x, x) + self.bias


def write(name, model, inputs, what):
    model = model.float()
    save_file(model.state_dict(), os.path.join(OUT, name + ".safetensors"), metadata={"format": "pt"})
    with torch.no_grad():
        y = model.double()(torch.from_numpy(inputs.astype(np.float64))).numpy()
    with open(os.path.join(OUT, name + ".ref.txt"), "w") as f:
        f.write("# Written by tools/make_torch_blocks.py (seed %d): inputs x of\n" % SEED)
        f.write("# %s in\n" % what)
        f.write("# tests/data/%s.safetensors and its outputs y, computed by PyTorch in\n" % name)
        f.write("# float64 from the float32 weights. Values are Python repr (exact).\n")
        for xi, yi in zip(inputs, y):
            f.write("x " + " ".join(repr(float(v)) for v in xi) + "\n")
            f.write("y " + " ".join(repr(float(v)) for v in yi) + "\n")


def main():
    torch.manual_seed(SEED)
    nn = torch.nn
    residual = nn.Sequential(
        nn.Linear(3, 4), nn.Tanh(), Residual(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4)), nn.Linear(4, 2)
    )
    quadratic = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), Quadratic(4, 2))
    inputs = torch.randn(5, 3).numpy().astype(np.float32)
    inputs[0] = 0.0
    os.makedirs(OUT, exist_ok=True)
    write("torch_residual", residual, inputs,
          "nn.Sequential(Linear(3, 4), Tanh(), Residual(Linear(4, 4), Tanh(), Linear(4, 4)), Linear(4, 2))")
    write("torch_quadratic", quadratic, inputs, "nn.Sequential(Linear(3, 4), Tanh(), Quadratic(4, 2))")
    print(sorted(residual.state_dict()), sorted(quadratic.state_dict()))


if __name__ == "__main__":
    main()
