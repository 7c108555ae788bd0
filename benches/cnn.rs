//! Criterion benchmarks of the MNIST-1D convolutional network (PyTorch's
//! `ConvBase` of the mnist1d repository): a train step at batch 32 and
//! inference at batch 1, the workloads `tools/cnn_peers.py` times in
//! PyTorch and JAX; `tools/cnn_bench.sh` runs both, pinned to one core, and
//! prints the table.
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench cnn [-- FILTER]
//! ```
//!
//! The network: 1 × 40 → Conv1d(1, 25, 5, stride 2, padding 1) → ReLU →
//! Conv1d(25, 25, 3, 2, 1) → ReLU → Conv1d(25, 25, 3, 2, 1) → ReLU →
//! flatten (25 × 5) → Linear(125, 10); lengths 40 → 19 → 10 → 5. A train
//! step is forward, softmax cross-entropy (batch mean), backward and
//! `p ← p − lr·(∂L/∂p + wd·p)` on weights and biases (lr 0.01, wd 1e-4),
//! the step of `benches/peers.rs`.
//!
//! Data and init come from the peers' splitmix64 generator
//! (`common`), so the Python peers build the same numbers: layer `l`'s
//! weight in PyTorch's shape and row-major order from seed `1000 + l`,
//! uniform in ±1/sqrt(fan_in) (fan_in = CI·K for a convolution), its bias
//! from seed `2000 + l`; inputs `batch × 40` from seed 3000, labels from
//! seed 4000. Before the benchmarks it prints the `check` JSON line (batch
//! 32, one step from the init: loss before, gradient norm, loss after) that
//! the peers print too.
//!
//! Besides the workloads, the group `cnn_parts` times the pieces of the
//! train step (forward with cache, forward + loss + backward, the update,
//! each layer's forward and backward) to show where its time goes.
//!
//! FLOPs (2 per multiply-accumulate of the forward; a train step counts 3×
//! the forward, as BENCHMARKS.md counts): per sample 2·(25·1·5·19 +
//! 25·25·3·10 + 25·25·3·5 + 125·10) = 63,500.

mod common;

use common::nets::sgd;
use common::{inputs, labels, uniform_sym};
use criterion::Criterion;
use nalgebra::SMatrix;
use stackprop::infer::{self, Run};
use stackprop::layer::{Grads, NoDx, WithDx};
use stackprop::prelude::*;
use std::hint::black_box;
use std::time::Duration;

type C1 = Conv1d<f32, 1, 25, 5, 2, 1, 1, 40, 475>;
type C2 = Conv1d<f32, 25, 25, 3, 2, 1, 1, 19, 250>;
type C3 = Conv1d<f32, 25, 25, 3, 2, 1, 1, 10, 125>;
type Fc = Linear<f32, 125, 10>;
type Cnn = Seq![C1, Relu, C2, Relu, C3, Relu, Flatten<25, 5, 125>, Fc];

/// Per-sample forward FLOPs (see the module docs).
const FWD_FLOPS: u64 = 2 * (25 * 5 * 19 + 25 * 25 * 3 * 10 + 25 * 25 * 3 * 5 + 125 * 10);

/// `n` values, row-major, of PyTorch's default-like init for fan-in `fi`.
fn init(seed: u64, n: usize, fi: usize) -> Vec<f32> {
    uniform_sym(seed, n, 1.0 / (fi as f32).sqrt())
}

/// Layer `l`: a convolution with PyTorch weight `[CO, CI, K]` (row-major).
fn conv<const CI: usize, const CO: usize, const K: usize, const L: usize, const NO: usize>(
    l: u64,
) -> Conv1d<f32, CI, CO, K, 2, 1, 1, L, NO> {
    let w = init(1000 + l, CO * CI * K, CI * K);
    let b = init(2000 + l, CO, CI * K);
    Conv1d::from_fn(|o, i, k| w[(o * CI + i) * K + k], |o| b[o])
}

/// The linear layer (layer 3): PyTorch's weight `[10, 125]` reads the
/// flattened map at `c·5 + l`, stackprop's map holds `(c, l)` at `c + 25·l`.
fn fc() -> Fc {
    let w = init(1003, 10 * 125, 125);
    let b = init(2003, 10, 125);
    Linear::from_fn(|o, j| w[o * 125 + j], |o| b[o])
}

fn cnn() -> Cnn {
    seq![conv::<1, 25, 5, 40, 475>(0), Relu, conv(1), Relu, conv(2), Relu, Flatten::new(), fc()]
}

/// The first `B` samples, one per column (1 channel: the layouts agree).
fn input<const B: usize>() -> SMatrix<f32, 40, B> {
    SMatrix::from_column_slice(&inputs(40, B))
}

fn targets<const B: usize>() -> [usize; B] {
    labels(B, 10).try_into().expect("B labels")
}

/// Batch 32, one step from the init: the peers' `check` line.
fn check() {
    let mut model = cnn();
    let (x, t) = (input::<32>(), targets::<32>());
    let mut tr = Trainer::new(sgd());
    let before = tr.gradient(&model, &SoftmaxCrossEntropy, &x, &t).expect("finite");
    let mut sq = 0.0f64;
    stackprop::params::for_each(&tr.backprop.grads, |_, g: &[f32]| {
        sq += g.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()
    });
    tr.step(&mut model, &SoftmaxCrossEntropy, &x, &t).expect("finite");
    let after = SoftmaxCrossEntropy.loss(&model.forward(&x), &t).expect("labels in range");
    println!(
        "{{\"peer\":\"stackprop\",\"check\":\"cnn_b32_one_step\",\"loss_before\":{before:.7},\"grad_norm\":{:.7},\"loss_after\":{after:.7}}}",
        sq.sqrt()
    );
}

fn workloads(c: &mut Criterion) {
    let (x, t) = (input::<32>(), targets::<32>());
    let mut model = cnn();
    let mut tr = Trainer::new(sgd());
    c.bench_function("cnn_train_b32", |b| {
        b.iter(|| tr.step(&mut model, &SoftmaxCrossEntropy, black_box(&x), black_box(&t)))
    });

    let (model, x1) = (cnn(), input::<1>());
    c.bench_function("cnn_infer_b1", |b| b.iter(|| black_box(&model).forward(black_box(&x1))));

    const ARENA: usize = <Cnn as Run<SMatrix<f32, 40, 1>>>::ARENA;
    let mut arena = [0.0f32; ARENA];
    c.bench_function("cnn_infer_b1_arena", |b| {
        b.iter(|| infer::forward_in(black_box(&model), black_box(&x1), &mut arena))
    });
}

/// The train step's pieces at batch 32, each timed alone on the values the
/// step sees (the gradient and cache of one step from the init).
fn parts(c: &mut Criterion) {
    let (x, t) = (input::<32>(), targets::<32>());
    let mut model = cnn();
    let mut tr = Trainer::new(sgd());
    tr.gradient(&model, &SoftmaxCrossEntropy, &x, &t).expect("finite");
    let mut g = c.benchmark_group("cnn_parts");

    // Whole-model pieces: forward with cache; forward, loss and backward;
    // the SGD update alone.
    let mut cache = tr.backprop.cache;
    let mut y = tr.backprop.y;
    g.bench_function("forward_train", |b| {
        b.iter(|| black_box(&model).forward_train(black_box(&x), &mut cache, &mut y))
    });
    g.bench_function("gradient", |b| {
        b.iter(|| tr.gradient(black_box(&model), &SoftmaxCrossEntropy, black_box(&x), &t))
    });
    let grads = tr.backprop.grads.clone();
    let opt = sgd();
    g.bench_function("update", |b| b.iter(|| opt.update(&mut model, black_box(&grads), &mut ())));

    // Layer by layer, on the cached activations of the step.
    let model = cnn();
    let (c1, (_, (c2, (_, (c3, (_, (_, fc))))))) = &model;
    let mut bp = Backprop::<f32, Cnn, SMatrix<f32, 40, 32>>::new();
    bp.gradient(&model, &SoftmaxCrossEntropy, &x, &t).expect("finite");
    let (h1, _, (r1, _, (h2, _, (r2, _, (h3, _, (_, _, (f3, _, _))))))) = bp.cache;
    // The gradients flowing into each layer's output (any values do: the
    // work does not depend on them); the relu'd map is each next input.
    let dy4 = bp.dy;
    let dy3 = SMatrix::<f32, 125, 32>::from_fn(|i, j| ((i * 7 + j) % 13) as f32 * 0.01 - 0.06);
    let dy2 = SMatrix::<f32, 250, 32>::from_fn(|i, j| ((i * 7 + j) % 13) as f32 * 0.01 - 0.06);
    let dy1 = SMatrix::<f32, 475, 32>::from_fn(|i, j| ((i * 7 + j) % 13) as f32 * 0.01 - 0.06);
    let mut gw1 = C1::zeros();
    let mut gw2 = C2::zeros();
    let mut gw3 = C3::zeros();
    let mut gfc = Fc::zeros();
    let (mut o1, mut o2, mut o3, mut o4) = (h1, h2, h3, dy4);

    g.bench_function("conv1_forward", |b| {
        b.iter(|| c1.forward_train(black_box(&x), &mut (), &mut o1))
    });
    g.bench_function("conv2_forward", |b| {
        b.iter(|| c2.forward_train(black_box(&r1), &mut (), &mut o2))
    });
    g.bench_function("conv3_forward", |b| {
        b.iter(|| c3.forward_train(black_box(&r2), &mut (), &mut o3))
    });
    g.bench_function("linear_forward", |b| {
        b.iter(|| fc.forward_train(black_box(&f3), &mut (), &mut o4))
    });
    g.bench_function("conv1_backward_no_dx", |b| {
        b.iter(|| {
            c1.backward::<NoDx>(black_box(&x), &h1, &(), black_box(&dy1), &mut gw1, Grads::Write)
        })
    });
    g.bench_function("conv2_backward", |b| {
        b.iter(|| {
            black_box(c2.backward::<WithDx>(
                black_box(&r1),
                &h2,
                &(),
                black_box(&dy2),
                &mut gw2,
                Grads::Write,
            ))
        })
    });
    g.bench_function("conv3_backward", |b| {
        b.iter(|| {
            black_box(c3.backward::<WithDx>(
                black_box(&r2),
                &h3,
                &(),
                black_box(&dy3),
                &mut gw3,
                Grads::Write,
            ))
        })
    });
    g.bench_function("linear_backward", |b| {
        b.iter(|| {
            black_box(fc.backward::<WithDx>(
                black_box(&f3),
                &bp.y,
                &(),
                black_box(&dy4),
                &mut gfc,
                Grads::Write,
            ))
        })
    });
    g.finish();
}

fn run() {
    check();
    eprintln!(
        "cnn: {FWD_FLOPS} FLOPs per sample forward; train_b32 {} FLOPs, infer_b1 {FWD_FLOPS}",
        3 * 32 * FWD_FLOPS
    );
    // Microsecond-scale benchmarks: shorter than criterion's default 3 s +
    // 5 s each keeps the whole run near a minute; the command line can
    // still override it (`--warm-up-time`, `--measurement-time`).
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    workloads(&mut c);
    parts(&mut c);
    c.final_summary();
}

fn main() {
    // The train state at batch 32 is a few hundred KiB of plain values.
    common::with_big_stack(64 << 20, run);
}
