#!/usr/bin/env python3
"""Independent reference for the d2l network of seed section 5.3.

    python3 tools/d2l_reference.py      # plain Python 3, no packages needed

Computes, outside stackprop, the objective J and its gradients for the
one-hidden-layer MLP of d2l section 5.3 (equations 5.3.1-5.3.5 forward,
5.3.8-5.3.14 backward) on the fixed numbers below, and prints them as Rust
constants. tests/seeds.rs pastes this output verbatim as its golden values
(the `GOLDEN_*` constants) and checks the crate against them to 1e-12
relative.

The network, for a batch of B samples (columns of X):

    Z = W1 X (+ b1)       hidden pre-activation   (d2l 5.3.1, bias optional)
    H = phi(Z)            hidden activation       (5.3.2)
    O = W2 H              output                  (5.3.3)
    L = l(O, Y)           loss, mean over samples (5.3.4)
    s = lam/2 (|W1|_F^2 + |W2|_F^2)               (5.3.5, biases excluded)
    J = L + s                                     (5.3.6)

and backward

    dJ/dO  = dL/dO                                (5.3.8)
    dJ/dW2 = dJ/dO H^T + lam W2                   (5.3.10)
    dJ/dH  = W2^T dJ/dO                           (5.3.11)
    dJ/dZ  = dJ/dH * phi'(Z)                      (5.3.12)
    dJ/dW1 = dJ/dZ X^T + lam W1                   (5.3.14)
    dJ/db1 = dJ/dZ 1   (no lam term: the bias is not regularized)

Losses (stackprop's conventions, those of PyTorch's defaults):
  mse: L = 1/(q B) sum (O - Y)^2, dL/dO = 2 (O - Y) / (q B)
  ce:  softmax cross-entropy on class indices,
       L = 1/B sum_j (logsumexp(O_j) - O_{t_j, j}),
       dL/dO_j = (softmax(O_j) - onehot(t_j)) / B

Cases (d = 3 inputs, h = 4 hidden units, q = 2 outputs, lam = LAM):
  A: no bias, phi = tanh,    l = mse, batch 1 (sample 0)
  B: no bias, phi = tanh,    l = ce,  batch 3
  C: bias b1, phi = tanh,    l = ce,  batch 3
  D: bias b1, phi = sigmoid, l = mse, batch 1 (sample 0)
"""

import math

LAM = 0.1
W1 = [[0.2, -0.5, 0.1], [0.7, 0.3, -0.4], [-0.6, 0.8, 0.25], [0.15, -0.35, 0.9]]
B1 = [0.1, -0.2, 0.3, 0.05]
W2 = [[0.5, -0.3, 0.8, -0.2], [-0.45, 0.6, 0.1, 0.7]]
XS = [[1.0, -2.0, 0.5], [0.3, 0.8, -1.2], [-0.7, 0.4, 1.5]]  # one sample a row
YS = [[0.5, -1.0], [-0.25, 0.75], [1.0, 0.2]]  # MSE targets, one a row
LABELS = [1, 0, 1]  # softmax cross-entropy targets


def tanh(v):
    return math.tanh(v), 1.0 - math.tanh(v) ** 2


def sigmoid(v):
    s = 1.0 / (1.0 + math.exp(-v))
    return s, s * (1.0 - s)


def mse(o, samples):
    """o: list of B output vectors; returns (L, dL/dO as B vectors)."""
    q, b = len(o[0]), len(o)
    loss = sum((o[j][k] - YS[s][k]) ** 2 for j, s in enumerate(samples) for k in range(q))
    grad = [[2.0 * (o[j][k] - YS[s][k]) / (q * b) for k in range(q)] for j, s in enumerate(samples)]
    return loss / (q * b), grad


def ce(o, samples):
    b = len(o)
    loss, grad = 0.0, []
    for j, s in enumerate(samples):
        m = max(o[j])
        lse = m + math.log(sum(math.exp(v - m) for v in o[j]))
        loss += lse - o[j][LABELS[s]]
        g = [math.exp(v - lse) / b for v in o[j]]
        g[LABELS[s]] -= 1.0 / b
        grad.append(g)
    return loss / b, grad


def case(bias, phi, loss, samples):
    d, h, q = len(W1[0]), len(W1), len(W2)
    xs = [XS[s] for s in samples]
    b1 = B1 if bias else [0.0] * h
    z = [[sum(W1[i][k] * x[k] for k in range(d)) + b1[i] for i in range(h)] for x in xs]
    hp = [[phi(v) for v in zj] for zj in z]  # (phi(z), phi'(z))
    hs = [[v for v, _ in row] for row in hp]
    o = [[sum(W2[r][i] * hj[i] for i in range(h)) for r in range(q)] for hj in hs]
    big_l, do = loss(o, samples)
    s = LAM / 2.0 * (sum(w * w for row in W1 for w in row) + sum(w * w for row in W2 for w in row))
    j = big_l + s
    dw2 = [
        [sum(do[c][r] * hs[c][i] for c in range(len(xs))) + LAM * W2[r][i] for i in range(h)]
        for r in range(q)
    ]
    dh = [[sum(W2[r][i] * do[c][r] for r in range(q)) for i in range(h)] for c in range(len(xs))]
    dz = [[dh[c][i] * hp[c][i][1] for i in range(h)] for c in range(len(xs))]
    dw1 = [
        [sum(dz[c][i] * xs[c][k] for c in range(len(xs))) + LAM * W1[i][k] for k in range(d)]
        for i in range(h)
    ]
    db1 = [sum(dz[c][i] for c in range(len(xs))) for i in range(h)]
    return j, dw1, dw2, db1


def rust(values):
    if isinstance(values, list):
        return "[" + ", ".join(rust(v) for v in values) + "]"
    return repr(values)


def main():
    cases = [
        ("A", False, tanh, mse, [0], "no bias, tanh, MSE, batch 1"),
        ("B", False, tanh, ce, [0, 1, 2], "no bias, tanh, softmax CE, batch 3"),
        ("C", True, tanh, ce, [0, 1, 2], "bias b1, tanh, softmax CE, batch 3"),
        ("D", True, sigmoid, mse, [0], "bias b1, sigmoid, MSE, batch 1"),
    ]
    print("// Printed by tools/d2l_reference.py (plain Python, float64).")
    for name, bias, phi, loss, samples, what in cases:
        j, dw1, dw2, db1 = case(bias, phi, loss, samples)
        print(f"// Case {name}: {what}.")
        print(f"const GOLDEN_{name}_J: f64 = {rust(j)};")
        print(f"const GOLDEN_{name}_DW1: [[f64; 3]; 4] = {rust(dw1)};")
        print(f"const GOLDEN_{name}_DW2: [[f64; 4]; 2] = {rust(dw2)};")
        if bias:
            print(f"const GOLDEN_{name}_DB1: [f64; 4] = {rust(db1)};")


if __name__ == "__main__":
    main()
