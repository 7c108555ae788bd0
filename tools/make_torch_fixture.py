#!/usr/bin/env python3
"""Writes the PyTorch-import fixture of stackprop's tests.

    python3 tools/make_torch_fixture.py      # from the repository root

Outputs (both committed):

  tests/data/torch_mlp.safetensors  the state dict of
        nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        as safetensors.torch.save_file(model.state_dict(), path,
        metadata={"format": "pt"}) writes it: tensors "0.weight" [8, 4],
        "0.bias" [8], "2.weight" [3, 8], "2.bias" [3], all F32.
  tests/data/torch_mlp.ref.txt      inputs x and reference outputs y.

The weights are drawn with numpy (seed SEED) from PyTorch's default
nn.Linear initialisation, U(-1/sqrt(in), 1/sqrt(in)), so the fixture is the
same whichever packages are installed. Needs numpy. With the `safetensors`
package (pip install safetensors) the file is written by it and checked
byte for byte against the plain-Python writer below; without it the writer
below is used. With torch installed the weights are also loaded into a real
nn.Sequential, its output is compared with the reference and its
state_dict is saved with safetensors.torch.save_file and compared byte for
byte. (pip install torch pulls ~2.8 GB, so it is optional.)

Reference outputs are computed in float64 from the float32 weights and
inputs (exactly representable in float64), so they are the exact network
output up to float64 rounding (~1e-16 relative); the test derives its f32
tolerance from the standard dot-product error bound.
"""

import json
import os
import struct
import sys

import numpy as np

SEED = 20260406
SIZES = [4, 8, 3]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")


def make_tensors():
    rng = np.random.default_rng(SEED)
    tensors = {}
    for k, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        bound = 1.0 / np.sqrt(i)
        w = rng.uniform(-bound, bound, size=(o, i)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=(o,)).astype(np.float32)
        # Module index in the Sequential: Linear, ReLU, Linear -> 0, 2.
        tensors[f"{2 * k}.weight"] = w
        tensors[f"{2 * k}.bias"] = b
    inputs = rng.normal(0.0, 1.5, size=(5, SIZES[0])).astype(np.float32)
    inputs[0] = 0.0  # the biases alone
    return tensors, inputs


def forward64(tensors, x):
    """The network in float64: Linear, ReLU, Linear."""
    w1, b1 = tensors["0.weight"].astype(np.float64), tensors["0.bias"].astype(np.float64)
    w2, b2 = tensors["2.weight"].astype(np.float64), tensors["2.bias"].astype(np.float64)
    h = np.maximum(x.astype(np.float64) @ w1.T + b1, 0.0)
    return h @ w2.T + b2


DTYPES = {np.dtype(np.float32): ("F32", 4), np.dtype(np.float64): ("F64", 8)}


def write_safetensors(tensors, metadata):
    """The safetensors format as the reference (Rust) serializer writes it:
    8-byte little-endian header length, compact JSON header (metadata first,
    then tensors in data order) padded with spaces to a multiple of 8, then
    the data, tensors sorted by dtype alignment (largest first) then name."""
    order = sorted(tensors, key=lambda n: (-DTYPES[tensors[n].dtype][1], n))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name in order:
        t = np.ascontiguousarray(tensors[name])
        data = t.astype(t.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": DTYPES[t.dtype][0],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def main():
    tensors, inputs = make_tensors()
    metadata = {"format": "pt"}
    blob = write_safetensors(tensors, metadata)
    how = "plain-Python writer"
    try:
        from safetensors.numpy import save as st_save

        lib = st_save(tensors, metadata=metadata)
        assert lib == blob, "plain writer differs from the safetensors package"
        blob = lib
        how = "safetensors package (identical to the plain writer)"
    except ImportError:
        pass

    y = forward64(tensors, inputs)
    try:
        import torch
        from safetensors.torch import save as st_save_torch

        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
        with torch.no_grad():
            yt = model(torch.from_numpy(inputs)).double().numpy()
        assert np.allclose(yt, y, rtol=1e-5, atol=1e-6), (yt, y)
        assert st_save_torch(model.state_dict(), metadata=metadata) == blob
        how += "; torch cross-check passed"
    except ImportError:
        pass

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "torch_mlp.safetensors"), "wb") as f:
        f.write(blob)
    with open(os.path.join(OUT, "torch_mlp.ref.txt"), "w") as f:
        f.write("# Written by tools/make_torch_fixture.py (seed %d): inputs x of\n" % SEED)
        f.write("# nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) in\n")
        f.write("# tests/data/torch_mlp.safetensors and its outputs y, computed in\n")
        f.write("# float64 from the float32 weights. Values are Python repr (exact).\n")
        for xi, yi in zip(inputs, y):
            f.write("x " + " ".join(repr(float(v)) for v in xi) + "\n")
            f.write("y " + " ".join(repr(float(v)) for v in yi) + "\n")
    print(f"wrote {len(blob)} bytes with the {how}", file=sys.stderr)


if __name__ == "__main__":
    main()
