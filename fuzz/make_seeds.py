#!/usr/bin/env python3
"""Writes the fuzzers' seed files (committed under fuzz/seeds/).

    python3 fuzz/make_seeds.py      # from the repository root; stdlib only

The weight files are written by the plain-Python writers below, which follow
the format table in the docs of src/io/mod.rs (version 2) and, for version
1, the table in the docs of src/io/mod.rs at commit 1e54590 (that writer is
kept here as it was), and nothing else: no Rust code was read to write them. tests/io.rs
checks that stackprop's `save` writes the same bytes as the version-2
writer, and that `load` reads every file back, so this is a second,
independent implementation of the documented format.

seeds/load_weights/net_f32.spw      the fuzz target's f32 model (`Net` in
    fuzz_targets/load_weights.rs, same values as its `net()`), version 2.
seeds/load_weights/net_f64.spw      the f64 model `Net64`, all zeros, v2.
seeds/load_weights/net_f32_v1.spw   the same two models, version 1 (the
seeds/load_weights/net_f64_v1.spw   format before layers described
    themselves), written by the old writer kept below.
seeds/load_weights/net_nested.spw   `Nested` of the fuzz target (a
    Residual block at position 2), same values as its `nested()`, v2.
seeds/load_weights/net_mixed.spw    `Mixed` of tests/io.rs: a Linear, the
    test's own layer `Quant` (tensors of i8, i32, u8, i16, i64 and f64, of
    ranks 0 to 3, and values of type i64, bool and f64) and a Residual
    block, v2.
seeds/load_safetensors/*            the PyTorch fixture, and a prefixed
    variant ("net." names, an F64 tensor, no bias on the last layer).
"""

import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = b"\x89SPW\r\n\x1a\n"


def f32(x):
    """x rounded to binary32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def col_major(rows, cols, f):
    """The values f(r, c) of a rows x cols matrix, the first index fastest."""
    return [f(r, c) for c in range(cols) for r in range(rows)]


# ------------------------------------------------------------- version 2
#
# From the table of src/io/mod.rs: header (32 bytes), records (64 bytes
# each), the tensors' values, the CRC-32 of everything before it.

# Element-type codes and struct formats.
ELEM = {"f32": (1, "f"), "f64": (2, "d"), "i8": (3, "b"), "i16": (4, "h"),
        "i32": (5, "i"), "i64": (6, "q"), "u8": (7, "B")}
# Tags.
NODE, SCALAR, DIM, VALUE, TENSOR, CHILD = 1, 2, 3, 4, 5, 6
# Tensor kinds.
KIND = {"weight": 1, "bias": 2, "buffer": 3}
# Value types.
VALUE_TYPE = {"f32": 1, "f64": 2, "i64": 6, "bool": 8}


def record(tag, name, payload=b""):
    """tag (1 byte), 7 reserved bytes, the name (32 bytes of UTF-8 padded
    with 0) and the 24 bytes of the tag's payload (unused bytes 0)."""
    name = name.encode()
    assert len(name) <= 32 and len(payload) <= 24
    r = struct.pack("<B7x32s", tag, name) + payload.ljust(24, b"\0")
    assert len(r) == 64
    return r


def value_bits(vtype, x):
    if vtype == "f32":
        return struct.unpack("<I", struct.pack("<f", x))[0]  # zero-extended
    if vtype == "f64":
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    if vtype == "i64":
        return x & 0xFFFF_FFFF_FFFF_FFFF
    if vtype == "bool":
        return 1 if x else 0
    raise ValueError(vtype)


class Layer:
    """A node: kind; hypers [("scalar", t) | ("dim", name, v) |
    ("value", name, vtype, x)]; tensors [(name, kind, elem, shape, values
    column-major)]; children [(name, [layers])]."""

    def __init__(self, kind, hypers=(), tensors=(), children=()):
        self.kind, self.hypers, self.tensors, self.children = kind, list(hypers), list(tensors), list(children)

    def records(self):
        out = [record(NODE, self.kind, struct.pack("<III", len(self.hypers), len(self.tensors), len(self.children)))]
        for h in self.hypers:
            if h[0] == "scalar":
                out.append(record(SCALAR, h[1], struct.pack("<B", ELEM[h[1]][0])))
            elif h[0] == "dim":
                out.append(record(DIM, h[1], struct.pack("<Q", h[2])))
            else:
                _, name, vtype, x = h
                out.append(record(VALUE, name, struct.pack("<B7xQ", VALUE_TYPE[vtype], value_bits(vtype, x))))
        for name, kind, elem, shape, values in self.tensors:
            assert len(shape) <= 5
            n = 1
            for d in shape:
                n *= d
            assert len(values) == n, (name, len(values), n)
            out.append(record(TENSOR, name, struct.pack("<BBBx%dI" % len(shape), KIND[kind], ELEM[elem][0], len(shape), *shape)))
        for name, entries in self.children:
            out.append(record(CHILD, name, struct.pack("<Q", len(entries))))
            for layer in entries:
                out += layer.records()
        return out

    def values(self):
        """The tensors' values, a node's before its children's."""
        out = b""
        for _, _, elem, _, values in self.tensors:
            out += struct.pack("<%d%s" % (len(values), ELEM[elem][1]), *values)
        for _, entries in self.children:
            for layer in entries:
                out += layer.values()
        return out

    def count(self):
        return len(self.tensors) + sum(layer.count() for _, entries in self.children for layer in entries)


def weight_file(layers):
    """A version-2 file of the sequence `layers`."""
    records = b"".join(r for layer in layers for r in layer.records())
    data = b"".join(layer.values() for layer in layers)
    tensors = sum(layer.count() for layer in layers)
    assert len(records) % 64 == 0
    head = MAGIC + struct.pack("<HHIQI", 2, 0, len(records) // 64, len(data), tensors)
    head += struct.pack("<I", zlib.crc32(head))
    assert len(head) == 32
    body = head + records + data
    out = body + struct.pack("<I", zlib.crc32(body))
    assert len(out) == 36 + len(records) + len(data)
    return out


# The crate's layers, as their descriptions (src/layers/*.rs `DESC`, whose
# records the format table describes) make them.

def linear(t, i, o, w, b):
    """w(o, i), b(o): the weight [o, i] stored column-major."""
    return Layer("Linear", [("scalar", t), ("dim", "in", i), ("dim", "out", o)],
                 [("weight", "weight", t, [o, i], col_major(o, i, w)), ("bias", "bias", t, [o], [b(k) for k in range(o)])])


def linear_no_bias(t, i, o, w):
    return Layer("LinearNoBias", [("scalar", t), ("dim", "in", i), ("dim", "out", o)],
                 [("weight", "weight", t, [o, i], col_major(o, i, w))])


def leaky_relu(t, slope):
    """The slope is a value of the layer's own scalar type."""
    return Layer("LeakyRelu", [("scalar", t), ("value", "slope", t, slope)])


def act(kind):
    return Layer(kind)


def residual(inner):
    return Layer("Residual", children=[("inner", inner)])


# ------------------------------------------------------------- version 1
#
# The writer of the version-1 seeds as it was (the format of stackprop
# before layers described themselves): 32-byte header, 32-byte layer
# entries, one scalar type per file.

KIND_V1 = {"Linear": 1, "LinearNoBias": 2, "Relu": 16, "LeakyRelu": 17, "Sigmoid": 18, "Tanh": 19, "Identity": 20}


def weight_file_v1(scalar, layers, params):
    """scalar 'f' or 'd'; layers [(kind, inputs, outputs, slope)]; params:
    the flat list of values (tensors in order, matrices column-major)."""
    code = {"f": 1, "d": 2}[scalar]
    head = MAGIC + struct.pack("<HBBIQI", 1, code, 0, len(layers), len(params), 0)
    head += struct.pack("<I", zlib.crc32(head))
    assert len(head) == 32
    table = b"".join(struct.pack("<B7xQQd", KIND_V1[k], i, o, s) for k, i, o, s in layers)
    body = head + table + struct.pack("<%d%s" % (len(params), scalar), *params)
    return body + struct.pack("<I", zlib.crc32(body))


# ---------------------------------------------------------------- models

def net_f32():
    """`Net` of fuzz_targets/load_weights.rs with the values of its `net()`."""
    return [
        linear("f32", 4, 8, lambda o, i: (o * 4 + i) * 0.125 - 2.0, float),
        leaky_relu("f32", f32(0.1)),
        linear_no_bias("f32", 8, 5, lambda o, i: float(o + i)),
        act("Tanh"),
        linear("f32", 5, 3, lambda o, i: float(o - i), lambda o: -float(o)),
        act("Sigmoid"),
    ]


def net_f64():
    """`Net64`, all zeros."""
    return [linear("f64", 3, 4, lambda o, i: 0.0, lambda o: 0.0), act("Relu"),
            linear("f64", 4, 2, lambda o, i: 0.0, lambda o: 0.0)]


def net_f32_v1():
    p = col_major(8, 4, lambda o, i: (o * 4 + i) * 0.125 - 2.0) + [float(o) for o in range(8)]
    p += col_major(5, 8, lambda o, i: float(o + i))
    p += col_major(3, 5, lambda o, i: float(o - i)) + [-float(o) for o in range(3)]
    layers = [("Linear", 4, 8, 0.0), ("LeakyRelu", 0, 0, f32(0.1)), ("LinearNoBias", 8, 5, 0.0),
              ("Tanh", 0, 0, 0.0), ("Linear", 5, 3, 0.0), ("Sigmoid", 0, 0, 0.0)]
    return weight_file_v1("f", layers, p)


def net_f64_v1():
    layers = [("Linear", 3, 4, 0.0), ("Relu", 0, 0, 0.0), ("Linear", 4, 2, 0.0)]
    return weight_file_v1("d", layers, [0.0] * (12 + 4 + 8 + 2))


def net_nested():
    """`Nested` of fuzz_targets/load_weights.rs with the values of its
    `nested()`: Seq![Linear<f32, 2, 3>, Tanh, Residual<Seq![Linear<f32, 3,
    3>, Tanh]>, LeakyRelu<f32>, Linear<f32, 3, 1>]."""
    return [
        linear("f32", 2, 3, lambda o, i: o - 0.5 * i, lambda o: 0.25 * o),
        act("Tanh"),
        residual([linear("f32", 3, 3, lambda o, i: 0.125 * (o * 3 + i) - 0.5, lambda o: -0.75), act("Tanh")]),
        leaky_relu("f32", 0.25),
        linear("f32", 3, 1, lambda o, i: 1.0 + i, lambda o: 0.5),
    ]


def net_mixed():
    """`Mixed` of tests/io.rs (`mixed()`):
    Seq![Linear<f32, 3, 2>, Quant, Residual<Seq![Linear<f32, 2, 2>, Tanh]>]
    where the test's layer Quant is described as

        Desc::new("Quant")
            .scalar::<i8>().dim("in", 3).dim("out", 2)
            .value("shift")       // i64
            .value("symmetric")   // bool
            .value("scale")       // f64
            .tensor::<i8>("weight", Buffer, &[2, 3])
            .tensor::<i32>("bias", Buffer, &[2])
            .tensor::<u8>("zero", Buffer, &[])
            .tensor::<i16>("table", Buffer, &[2, 2, 2])
            .tensor::<i64>("count", Buffer, &[1])
            .tensor::<f64>("gain", Buffer, &[2])

    and holds the values of `quant()` in tests/io.rs."""
    quant = Layer(
        "Quant",
        [("scalar", "i8"), ("dim", "in", 3), ("dim", "out", 2),
         ("value", "shift", "i64", -3), ("value", "symmetric", "bool", True), ("value", "scale", "f64", 0.1)],
        [("weight", "buffer", "i8", [2, 3], col_major(2, 3, lambda o, i: -128 + 100 * i + 51 * o)),
         ("bias", "buffer", "i32", [2], [-(2 ** 31), 2 ** 31 - 1]),
         ("zero", "buffer", "u8", [], [255]),
         ("table", "buffer", "i16", [2, 2, 2], [-32768, 1, 2, 3, 4, 5, 6, 32767]),
         ("count", "buffer", "i64", [1], [-(2 ** 63)]),
         ("gain", "buffer", "f64", [2], [1.0 / 3.0, -0.0])],
    )
    return [
        linear("f32", 3, 2, lambda o, i: 0.5 * (o + 2 * i), lambda o: -1.0 * o),
        quant,
        residual([linear("f32", 2, 2, lambda o, i: 1.0 if o == i else 0.0, lambda o: 0.125), act("Tanh")]),
    ]


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
    files = {
        "net_f32.spw": weight_file(net_f32()),
        "net_f64.spw": weight_file(net_f64()),
        "net_f32_v1.spw": net_f32_v1(),
        "net_f64_v1.spw": net_f64_v1(),
        "net_nested.spw": weight_file(net_nested()),
        "net_mixed.spw": weight_file(net_mixed()),
    }
    for name, data in files.items():
        with open(os.path.join(out, "load_weights", name), "wb") as f:
            f.write(data)
    shutil.copy(os.path.join(HERE, "..", "tests", "data", "torch_mlp.safetensors"),
                os.path.join(out, "load_safetensors", "torch_mlp.safetensors"))
    prefixed = [("net.0.weight", "F32", [8, 4], [0.5] * 32), ("net.0.bias", "F64", [8], [0.25] * 8),
                ("net.2.weight", "F32", [3, 8], [-1.0] * 24)]
    with open(os.path.join(out, "load_safetensors", "prefixed_f64.safetensors"), "wb") as f:
        f.write(safetensors(prefixed))


if __name__ == "__main__":
    main()
