#!/usr/bin/env python3
"""Generate the MNIST-1D data set (Greydanus & Kobak) into data/mnist1d.bin.

MNIST-1D is procedurally generated: the `mnist1d` package on PyPI builds it
from ten 12-point templates with random padding, scaling, translation,
correlated and iid noise and shear, seeded with numpy's legacy generator.
This script calls the package's own `mnist1d.data.make_dataset` with its
default arguments (`get_dataset_args()`: 5,000 samples, 80/20 split, length
40, seed 42) and writes the result in the layout below; see data/README.md
for source, license and checksum.

    data/mnist1d.bin   805,024 bytes, all little-endian
      offset  size      field
      0       8         magic b"MNIST1D\\x01" (format version 1)
      8       4 x u32   train samples 4000, test samples 1000, length 40, classes 10
      24      800,000   x: 5000 x 40 f32, row-major (sample, position): train then test
      800,024 5,000     y: 5000 u8 class indices: train then test

The package returns float64; the file stores them rounded to f32, which is
what PyTorch's reference training (`torch.Tensor(x)`) and stackprop's f32
networks use. The rounding changes a value by at most half an f32 ulp
(relative 6e-8; absolute <= 2.4e-7 here).

Usage (from the repository root):

    pip install mnist1d==0.0.2.post1            # numpy, scipy come with it
    python3 tools/make_mnist1d.py               # (re)write data/mnist1d.bin
    python3 tools/make_mnist1d.py --check       # exit 1 if data/mnist1d.bin differs
    python3 tools/make_mnist1d.py --check --frozen mnist1d_data.pkl
        # also compare with the frozen pickle of github.com/greydanus/mnist1d
        # (read with an unpickler that accepts only numpy arrays)

Produced with mnist1d 0.0.2.post1, numpy 2.4.6, scipy 1.17.1, Python 3.11.7.
Generation is deterministic: every run writes the same bytes.
"""

import hashlib
import struct
import sys
from pathlib import Path

import numpy as np
from mnist1d.data import get_dataset_args, make_dataset

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / "data" / "mnist1d.bin"
MAGIC = b"MNIST1D\x01"
TRAIN, TEST, LEN, CLASSES = 4000, 1000, 40, 10


def generate() -> dict:
    args = get_dataset_args()
    # The defaults this file documents; fail loudly if a package version changes them.
    assert (args.num_samples, args.train_split, args.final_seq_length, args.seed) == (5000, 0.8, 40, 42)
    assert not args.shuffle_seq
    d = make_dataset(args)
    assert d["x"].shape == (TRAIN, LEN) and d["x_test"].shape == (TEST, LEN), (d["x"].shape, d["x_test"].shape)
    assert d["x"].dtype == np.float64
    ys = np.concatenate([d["y"], d["y_test"]])
    assert ys.min() == 0 and ys.max() == CLASSES - 1
    return d


def encode(d: dict) -> bytes:
    x = np.concatenate([d["x"], d["x_test"]]).astype("<f4")
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.uint8)
    head = MAGIC + struct.pack("<4I", TRAIN, TEST, LEN, CLASSES)
    return head + x.tobytes(order="C") + y.tobytes()


def frozen(path: str) -> dict:
    """The repository's mnist1d_data.pkl, unpickling nothing but numpy arrays."""
    import pickle

    try:  # numpy >= 2 (the pickle names numpy.core, which numpy 2 still maps)
        from numpy._core.multiarray import _reconstruct
    except ImportError:
        from numpy.core.multiarray import _reconstruct
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    }

    class Arrays(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"refusing {module}.{name}")
            return allowed[(module, name)]

    with open(path, "rb") as f:
        return Arrays(f).load()


def summary(d: dict) -> None:
    """Prints the facts tests/datasets.rs checks."""
    x32 = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    x64 = np.concatenate([d["x"], d["x_test"]])
    err = np.abs(x32.astype(np.float64) - x64)
    print(f"train {d['x'].shape}, test {d['x_test'].shape}, float64 -> f32 max abs error {err.max():.3g}")
    print(f"  class counts train {np.bincount(d['y']).tolist()}, test {np.bincount(d['y_test']).tolist()}")
    print(f"  first labels train {d['y'][:10].tolist()}, test {d['y_test'][:10].tolist()}")
    print(f"  f32 min {x32.min()!r}, max {x32.max()!r}; mean (f64 sum) {x32.astype(np.float64).mean():.3e}, std {x32.astype(np.float64).std():.7f}")
    print(f"  x[0][:4] {[float(v) for v in x32[0, :4]]}, x_test[999][-1] {float(x32[-1, -1])!r}")


def main() -> int:
    argv = sys.argv[1:]
    d = generate()
    data = encode(d)
    again = encode(generate())
    assert again == data, "make_dataset is not deterministic"
    summary(d)
    ok = True
    if "--frozen" in argv:
        f = frozen(argv[argv.index("--frozen") + 1])
        same = encode(f) == data
        ok &= same
        diff = max(np.abs(f[k] - d[k]).max() for k in ("x", "x_test"))
        labels = all(np.array_equal(f[k], d[k]) for k in ("y", "y_test"))
        print(f"frozen pickle: labels {'equal' if labels else 'DIFFER'}, float64 max |diff| {diff:.3g}, "
              f"as f32 {'identical' if same else 'DIFFERENT'}")
    digest = hashlib.sha256(data).hexdigest()
    if "--check" in argv:
        same = PATH.exists() and PATH.read_bytes() == data
        ok &= same
        print(f"{PATH.relative_to(ROOT)}: {'ok' if same else 'DIFFERS'} (sha256 {digest})")
    else:
        PATH.parent.mkdir(exist_ok=True)
        PATH.write_bytes(data)
        print(f"wrote {PATH.relative_to(ROOT)}: {len(data)} bytes, sha256 {digest}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
