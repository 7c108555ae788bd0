#!/usr/bin/env python3
"""Writes the fuzzers' seed files (committed under fuzz/seeds/).

    python3 fuzz/make_seeds.py      # from the repository root; stdlib only

seeds/load_weights/net_f32.spw   the fuzz target's f32 model (`Net` in
    fuzz_targets/load_weights.rs, same values as its `net()`), written by
    the plain-Python writer below, which follows the format table in the
    docs of src/io/mod.rs and nothing else. tests/io.rs checks that
    stackprop's `save` writes the same bytes, so this is a second,
    independent implementation of the documented format.
seeds/load_weights/net_f64.spw   the f64 model `Net64`, all zeros.
seeds/load_safetensors/*         the PyTorch fixture, and a prefixed
    variant ("net." names, an F64 tensor, no bias on the last layer).
"""

import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = b"\x89SPW\r\n\x1a\n"
KIND = {"Linear": 1, "LinearNoBias": 2, "Relu": 16, "LeakyRelu": 17, "Sigmoid": 18, "Tanh": 19, "Identity": 20}


def f32(x):
    """x rounded to binary32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def weight_file(scalar, layers, params):
    """scalar 'f' or 'd'; layers [(kind, inputs, outputs, slope)]; params:
    the flat list of values (tensors in order, matrices column-major)."""
    code = {"f": 1, "d": 2}[scalar]
    head = MAGIC + struct.pack("<HBBIQI", 1, code, 0, len(layers), len(params), 0)
    head += struct.pack("<I", zlib.crc32(head))
    assert len(head) == 32
    table = b"".join(struct.pack("<B7xQQd", KIND[k], i, o, s) for k, i, o, s in layers)
    body = head + table + struct.pack("<%d%s" % (len(params), scalar), *params)
    return body + struct.pack("<I", zlib.crc32(body))


def col_major(rows, cols, f):
    return [f(r, c) for c in range(cols) for r in range(rows)]


def net_f32():
    p = col_major(8, 4, lambda o, i: (o * 4 + i) * 0.125 - 2.0) + [float(o) for o in range(8)]
    p += col_major(5, 8, lambda o, i: float(o + i))
    p += col_major(3, 5, lambda o, i: float(o - i)) + [-float(o) for o in range(3)]
    layers = [("Linear", 4, 8, 0.0), ("LeakyRelu", 0, 0, f32(0.1)), ("LinearNoBias", 8, 5, 0.0),
              ("Tanh", 0, 0, 0.0), ("Linear", 5, 3, 0.0), ("Sigmoid", 0, 0, 0.0)]
    return weight_file("f", layers, p)


def net_f64():
    layers = [("Linear", 3, 4, 0.0), ("Relu", 0, 0, 0.0), ("Linear", 4, 2, 0.0)]
    return weight_file("d", layers, [0.0] * (12 + 4 + 8 + 2))


def safetensors(tensors):
    """tensors: [(name, dtype 'F32'/'F64', shape, values row-major)]."""
    size = {"F32": 4, "F64": 8}
    order = sorted(tensors, key=lambda t: (-size[t[1]], t[0]))
    header, data = {}, b""
    for name, dtype, shape, values in order:
        blob = struct.pack("<%d%s" % (len(values), "f" if dtype == "F32" else "d"), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    out = os.path.join(HERE, "seeds")
    os.makedirs(os.path.join(out, "load_weights"), exist_ok=True)
    os.makedirs(os.path.join(out, "load_safetensors"), exist_ok=True)
    with open(os.path.join(out, "load_weights", "net_f32.spw"), "wb") as f:
        f.write(net_f32())
    with open(os.path.join(out, "load_weights", "net_f64.spw"), "wb") as f:
        f.write(net_f64())
    shutil.copy(os.path.join(HERE, "..", "tests", "data", "torch_mlp.safetensors"),
                os.path.join(out, "load_safetensors", "torch_mlp.safetensors"))
    prefixed = [("net.0.weight", "F32", [8, 4], [0.5] * 32), ("net.0.bias", "F64", [8], [0.25] * 8),
                ("net.2.weight", "F32", [3, 8], [-1.0] * 24)]
    with open(os.path.join(out, "load_safetensors", "prefixed_f64.safetensors"), "wb") as f:
        f.write(safetensors(prefixed))


if __name__ == "__main__":
    main()
