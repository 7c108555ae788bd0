#!/usr/bin/env python3
"""Export the Iris and 8x8 digits data sets from scikit-learn to data/*.csv.

Both data sets ship inside the scikit-learn package on PyPI (they come from
the UCI Machine Learning Repository; see data/README.md for source and
license). This script reads them with sklearn.datasets.load_iris/load_digits
and writes them, in the package's order, as plain CSV files with one header
line, one sample per line, the class index in the last column:

    data/iris.csv    150 rows:  4 features (cm, one decimal), class 0..2
    data/digits.csv  1797 rows: 64 pixels (integers 0..16, row-major 8x8), digit 0..9

Usage (from the repository root):

    pip install scikit-learn
    python3 tools/export_datasets.py          # (re)write data/*.csv
    python3 tools/export_datasets.py --check  # exit 1 if data/*.csv differ

Produced with scikit-learn 1.9.1 (Python 3.11). The Rust examples and tests
read the CSV files at compile time (include_str!), so running them needs no
Python.
"""

import hashlib
import sys
from pathlib import Path

from sklearn.datasets import load_digits, load_iris

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def iris_csv() -> str:
    d = load_iris()
    assert d.data.shape == (150, 4), d.data.shape
    names = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
    lines = [",".join(names + ["class"])]
    for x, y in zip(d.data, d.target):
        # The source has one decimal; format so that no float noise appears.
        lines.append(",".join(f"{v:.1f}" for v in x) + f",{int(y)}")
    return "\n".join(lines) + "\n"


def digits_csv() -> str:
    d = load_digits()
    assert d.data.shape == (1797, 64), d.data.shape
    names = [f"p{r}{c}" for r in range(8) for c in range(8)]
    lines = [",".join(names + ["digit"])]
    for x, y in zip(d.data, d.target):
        assert all(v == int(v) and 0 <= v <= 16 for v in x)
        lines.append(",".join(str(int(v)) for v in x) + f",{int(y)}")
    return "\n".join(lines) + "\n"


def summary() -> None:
    """Prints the facts tests/datasets.rs checks (class counts, ranges, means)."""
    import numpy as np

    for name, d in [("iris", load_iris()), ("digits", load_digits())]:
        print(f"{name}: {d.data.shape[0]} x {d.data.shape[1]}, class counts {np.bincount(d.target).tolist()}")
        print(f"  min {d.data.min(axis=0).tolist() if name == 'iris' else d.data.min()}")
        print(f"  max {d.data.max(axis=0).tolist() if name == 'iris' else d.data.max()}")
        print(f"  mean {np.round(d.data.mean(axis=0), 4).tolist() if name == 'iris' else round(d.data.mean(), 4)}")


def main() -> int:
    summary()
    check = "--check" in sys.argv[1:]
    ok = True
    for name, text in [("iris.csv", iris_csv()), ("digits.csv", digits_csv())]:
        path = DATA / name
        digest = hashlib.sha256(text.encode()).hexdigest()
        if check:
            same = path.exists() and path.read_text() == text
            ok &= same
            print(f"{path.relative_to(ROOT)}: {'ok' if same else 'DIFFERS'} (sha256 {digest})")
        else:
            DATA.mkdir(exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}: {len(text)} bytes, sha256 {digest}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
