#!/usr/bin/env python3
"""PyTorch and JAX peers of `benches/cnn.rs`: the MNIST-1D convolutional
network (PyTorch's ConvBase of the mnist1d repository), a train step at
batch 32 and inference at batch 1, on one CPU thread.

    python tools/cnn_peers.py [--check-only | --no-check] [torch] [jax] [workload ...]

`tools/cnn_bench.sh` runs it pinned to one core beside the criterion bench
and prints the table; alone, pin it yourself and give JAX its flags:

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
      taskset -c 1 /work/venv/bin/python tools/cnn_peers.py

Needs numpy, torch and jax (`pip install numpy torch jax`, or the env that
`../shared/peers/run.sh --setup-python` makes); a peer whose module does
not import is skipped with a `skipped` line.

The network: 1 x 40 -> Conv1d(1, 25, 5, stride 2, padding 1) -> ReLU ->
Conv1d(25, 25, 3, 2, 1) -> ReLU -> Conv1d(25, 25, 3, 2, 1) -> ReLU ->
flatten (25 x 5 = 125) -> Linear(125, 10). A train step is forward, softmax
cross-entropy (batch mean), backward and `p <- p - lr*(dL/dp + wd*p)` on
weights and biases (torch.optim.SGD(lr=0.01, weight_decay=1e-4)); inference
is the forward of one sample to logits.

Data, init and timing mirror `../shared/peers/python/common.py` (copied
here so the repository runs on its own; keep in step): counter-based
splitmix64, layer l's weight in PyTorch's shape and row-major order from
seed 1000 + l, uniform in +-1/sqrt(fan_in) (CI*K for a convolution), its
bias from seed 2000 + l; inputs batch x 40 from seed 3000 (batch 1 is the
first row of batch 32), labels from seed 4000. Timing: warm-up
(PEERS_WARMUP_S, 0.2 s, >= 3 iterations; JIT compilation happens here),
calibration, PEERS_REPS (7) repetitions of >= PEERS_REP_S (0.1 s); the
median ns/iter. Output: one JSON line per peer and workload, and a `check`
line per peer (batch 32, one step from the init: loss before, gradient norm
in float64, loss after), which should agree with stackprop's to ~1e-6.
"""
import json
import os
import sys
import time

import numpy as np

LR = np.float32(0.01)
WD = np.float32(1e-4)

# (in channels, out channels, kernel, stride, padding, input length)
CONVS = [(1, 25, 5, 2, 1, 40), (25, 25, 3, 2, 1, 19), (25, 25, 3, 2, 1, 10)]
FC = (125, 10)
L_IN, CLASSES = 40, 10


def conv_len(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def fwd_flops_per_sample():
    """2 per multiply-accumulate: CO*CI*K*LO per convolution, in*out per linear."""
    macs = sum(co * ci * k * conv_len(n, k, s, p) for ci, co, k, s, p, n in CONVS)
    return 2 * (macs + FC[0] * FC[1])


# (name, batch, kind); train counts 3x the forward
WORKLOADS = [("cnn_train_b32", 32, "train"), ("cnn_infer_b1", 1, "infer")]


def flops(batch, kind):
    f = fwd_flops_per_sample() * batch
    return 3.0 * f if kind == "train" else float(f)


_U64 = np.uint64


def splitmix(seed, n):
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (_U64(seed) << _U64(32)) + i * _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        z = z ^ (z >> _U64(31))
    return z


def uniform01(seed, n):
    return (splitmix(seed, n) >> _U64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def uniform_sym(seed, n, bound):
    return (np.float32(2.0) * uniform01(seed, n) - np.float32(1.0)) * bound


def init_params():
    """[(weight, bias)] in PyTorch's shapes: [CO, CI, K] and [CO] per
    convolution, [10, 125] and [10] for the linear layer."""
    shapes = [((co, ci, k), ci * k) for ci, co, k, _, _, _ in CONVS] + [((FC[1], FC[0]), FC[0])]
    out = []
    for l, (shape, fan_in) in enumerate(shapes):
        bound = np.float32(1.0) / np.sqrt(np.float32(fan_in))
        w = uniform_sym(1000 + l, int(np.prod(shape)), bound).reshape(shape)
        b = uniform_sym(2000 + l, shape[0], bound)
        out.append((w, b))
    return out


def inputs(batch):
    """batch x 1 x 40 (NCL)."""
    return uniform01(3000, L_IN * batch).reshape(batch, 1, L_IN)


def labels(batch):
    return ((splitmix(4000, batch) >> _U64(32)) % _U64(CLASSES)).astype(np.int64)


def time_it(f):
    warm = float(os.environ.get("PEERS_WARMUP_S", 0.2))
    rep = float(os.environ.get("PEERS_REP_S", 0.1))
    reps = int(float(os.environ.get("PEERS_REPS", 7)))
    t0 = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - t0 < warm:
        f()
        n += 1
    n = 1
    while True:
        s = time.perf_counter()
        for _ in range(n):
            f()
        el = time.perf_counter() - s
        if el >= rep / 10 or n >= 1 << 30:
            break
        n *= 2
    iters = max(1, int(np.ceil(rep / (el / n))))
    samples = []
    for _ in range(max(1, reps)):
        s = time.perf_counter_ns()
        for _ in range(iters):
            f()
        samples.append((time.perf_counter_ns() - s) / iters)
    samples.sort()
    return samples[len(samples) // 2], samples[0], iters, len(samples)


def emit(obj):
    print(json.dumps(obj), flush=True)


def bench(peer, wl, f):
    name, batch, kind = wl
    med, mn, iters, reps = time_it(f)
    emit({"peer": peer, "workload": name, "ns_per_iter": round(med, 1),
          "gflops": round(flops(batch, kind) / med, 3), "min_ns": round(mn, 1),
          "iters_per_rep": iters, "reps": reps})


def report_check(peer, loss_before, grad_norm, loss_after):
    emit({"peer": peer, "check": "cnn_b32_one_step", "loss_before": round(float(loss_before), 7),
          "grad_norm": round(float(grad_norm), 7), "loss_after": round(float(loss_after), 7)})


# ---------------------------------------------------------------- PyTorch

def torch_peer(check, wanted):
    import torch
    from torch import nn

    torch.set_num_threads(1)
    emit({"peer": "torch", "meta": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                                    "cpu_capability": torch.backends.cpu.get_cpu_capability()}})

    def build():
        layers = []
        for ci, co, k, s, p, _ in CONVS:
            layers += [nn.Conv1d(ci, co, k, stride=s, padding=p), nn.ReLU()]
        layers += [nn.Flatten(), nn.Linear(*FC)]
        model = nn.Sequential(*layers)
        params = [m for m in model if isinstance(m, (nn.Conv1d, nn.Linear))]
        with torch.no_grad():
            for m, (w, b) in zip(params, init_params()):
                m.weight.copy_(torch.from_numpy(w))
                m.bias.copy_(torch.from_numpy(b))
        opt = torch.optim.SGD(model.parameters(), lr=float(LR), weight_decay=float(WD))
        return model, opt

    loss_fn = nn.CrossEntropyLoss()

    def make_step(model, opt, x, y):
        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    def data(batch):
        return torch.from_numpy(inputs(batch)), torch.from_numpy(labels(batch))

    if check:
        model, opt = build()
        x, y = data(32)
        l0 = make_step(model, opt, x, y)().item()
        gn = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters())).item()
        with torch.no_grad():
            l1 = loss_fn(model(x), y).item()
        report_check("torch", l0, gn, l1)
    for wl in WORKLOADS:
        if wl[0] not in wanted:
            continue
        _, batch, kind = wl
        model, opt = build()
        x, y = data(batch)
        if kind == "infer":
            with torch.inference_mode():
                bench("torch", wl, lambda: model(x))
        else:
            bench("torch", wl, make_step(model, opt, x, y))


# ---------------------------------------------------------------- JAX

def jax_peer(check, wanted):
    import jax
    import jax.numpy as jnp
    from jax import lax

    emit({"peer": "jax", "meta": {"jax": jax.__version__, "devices": [str(d) for d in jax.devices()],
                                  "xla_flags": os.environ.get("XLA_FLAGS", "")}})
    lr, wd = float(LR), float(WD)

    def forward(params, x):
        for (w, b), (_, _, _, s, p, _) in zip(params[:-1], CONVS):
            x = lax.conv_general_dilated(x, w, window_strides=(s,), padding=[(p, p)],
                                         dimension_numbers=("NCH", "OIH", "NCH"))
            x = jax.nn.relu(x + b[None, :, None])
        w, b = params[-1]
        return x.reshape(x.shape[0], -1) @ w.T + b

    def loss_fn(params, x, y):
        logp = jax.nn.log_softmax(forward(params, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def _train_step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree.map(lambda p, g: p - lr * (g + wd * p), params, grads), loss

    train_step = jax.jit(_train_step, donate_argnums=0)
    grads_and_loss = jax.jit(jax.value_and_grad(loss_fn))
    infer = jax.jit(forward)
    loss_jit = jax.jit(loss_fn)

    def init():
        return [(jnp.asarray(w), jnp.asarray(b)) for w, b in init_params()]

    def data(batch):
        return jnp.asarray(inputs(batch)), jnp.asarray(labels(batch), jnp.int32)

    if check:
        x, y = data(32)
        params = init()
        _, grads = grads_and_loss(params, x, y)
        gn = np.sqrt(sum(float((np.asarray(g, dtype=np.float64) ** 2).sum())
                         for g in jax.tree.leaves(grads)))
        params, l0 = train_step(params, x, y)
        report_check("jax", float(l0), gn, float(loss_jit(params, x, y)))
    for wl in WORKLOADS:
        if wl[0] not in wanted:
            continue
        _, batch, kind = wl
        x, y = data(batch)
        if kind == "infer":
            params = init()
            bench("jax", wl, lambda: infer(params, x).block_until_ready())
        else:
            state = {"p": init()}

            def step():
                state["p"], loss = train_step(state["p"], x, y)
                jax.block_until_ready((state["p"], loss))
            bench("jax", wl, step)


PEERS = {"torch": torch_peer, "jax": jax_peer}


def main():
    check, do_bench, peers, only = True, True, [], []
    for a in sys.argv[1:]:
        if a == "--check-only":
            do_bench = False
        elif a == "--no-check":
            check = False
        elif a in PEERS:
            peers.append(a)
        elif any(a == w[0] for w in WORKLOADS):
            only.append(a)
        else:
            sys.exit(f"cnn_peers.py: unknown argument {a!r} (peers: {list(PEERS)}, "
                     f"workloads: {[w[0] for w in WORKLOADS]})")
    wanted = set() if not do_bench else set(only or [w[0] for w in WORKLOADS])
    for name in peers or list(PEERS):
        try:
            __import__(name)
        except ImportError as e:
            emit({"peer": name, "skipped": f"cannot import {name}: {e}"})
            continue
        PEERS[name](check, wanted)


if __name__ == "__main__":
    main()
