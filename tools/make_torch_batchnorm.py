#!/usr/bin/env python3
"""Writes the PyTorch fixture of stackprop's BatchNorm tests (tests/batch_norm.rs).

    /path/to/venv/bin/python tools/make_torch_batchnorm.py   # from the repository root

Needs torch, numpy and safetensors. Outputs (both committed, under tests/data/):

  torch_batchnorm.safetensors  the state dict of
        nn.Sequential(nn.Conv1d(2, 3, 2), nn.BatchNorm1d(3, eps=0.01, momentum=0.25), nn.ReLU6())
        before training: tensors 0.weight [3, 2, 2], 0.bias [3], 1.weight [3],
        1.bias [3], 1.running_mean [3], 1.running_var [3] (F32) and
        1.num_batches_tracked (I64, shape []). The convolution has PyTorch's
        default initialisation under torch.manual_seed(SEED), scaled by 3 so
        that ReLU6 clips at both ends; the batch norm's gamma, beta and
        running statistics are drawn at random (not its initial 1, 0, 0, 1)
        and num_batches_tracked is 5.
  torch_batchnorm.ref.txt      what PyTorch computes from that state, in
        float64 (the model loaded from the float32 file, then .double()):
        STEPS training-mode passes (model.train(), no optimizer: only the
        running statistics change), each a line `t` with the batch (BATCH
        samples of shape [2, LEN], row-major, sample after sample) and a line
        `y` with the output ([3, LEN - 1] per sample, row-major); then the
        running statistics after those passes, lines `m` (running_mean), `v`
        (running_var) and `n` (num_batches_tracked); then evaluation-mode
        outputs (model.eval()), a line `e` with one sample and a line `y`
        with its output. Values are Python repr (exact).
"""

import os

import numpy as np
import torch
from safetensors.torch import load_file, save_file

SEED = 20261208
BATCH, LEN, STEPS, EVALS = 4, 5, 3, 3
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")


def line(tag, values):
    return tag + " " + " ".join(repr(float(v)) for v in np.asarray(values).reshape(-1)) + "\n"


def model():
    nn = torch.nn
    return nn.Sequential(nn.Conv1d(2, 3, 2), nn.BatchNorm1d(3, eps=0.01, momentum=0.25), nn.ReLU6())


def main():
    torch.manual_seed(SEED)
    m = model()
    with torch.no_grad():
        m[0].weight.mul_(3.0)
        m[0].bias.mul_(3.0)
        m[1].weight.copy_(torch.empty(3).uniform_(1.0, 2.5) * torch.tensor([1.0, -1.0, 1.0]))
        m[1].bias.copy_(torch.empty(3).uniform_(0.0, 4.0))
        m[1].running_mean.copy_(torch.empty(3).uniform_(-1.0, 1.0))
        m[1].running_var.copy_(torch.empty(3).uniform_(0.5, 2.0))
        m[1].num_batches_tracked.fill_(5)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "torch_batchnorm.safetensors")
    save_file(m.float().state_dict(), path, metadata={"format": "pt"})

    # The reference: the same float32 values, in float64.
    ref = model().double()
    ref.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in load_file(path).items()})
    out = []
    ref.train()
    with torch.no_grad():
        for _ in range(STEPS):
            x = torch.randn(BATCH, 2, LEN).float().double() * 1.5
            out.append(line("t", x.numpy()))
            out.append(line("y", ref(x).numpy()))
        bn = ref[1]
        out.append(line("m", bn.running_mean.numpy()))
        out.append(line("v", bn.running_var.numpy()))
        out.append("n %d\n" % int(bn.num_batches_tracked))
        ref.eval()
        for _ in range(EVALS):
            x = torch.randn(1, 2, LEN).float().double() * 1.5
            out.append(line("e", x.numpy()))
            out.append(line("y", ref(x).numpy()))
    with open(os.path.join(OUT, "torch_batchnorm.ref.txt"), "w") as f:
        f.write("# Written by tools/make_torch_batchnorm.py (seed %d) from\n" % SEED)
        f.write("# tests/data/torch_batchnorm.safetensors, the state dict of\n")
        f.write("# nn.Sequential(Conv1d(2, 3, 2), BatchNorm1d(3, eps=0.01, momentum=0.25), ReLU6()).\n")
        f.write("# t/y: %d training-mode passes (batch %d, input [2, %d] per sample, row-major);\n" % (STEPS, BATCH, LEN))
        f.write("# m/v/n: the running statistics after them; e/y: evaluation-mode outputs.\n")
        f.write("# Computed by PyTorch %s in float64. Values are Python repr (exact).\n" % torch.__version__)
        f.writelines(out)
    print(sorted(m.state_dict()))


if __name__ == "__main__":
    main()
