//! Criterion benchmarks of the workloads of BENCHMARKS.md (same networks,
//! data, init and update rule as `benches/peers.rs`, timed by criterion).
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench workloads [-- FILTER]
//! ```

mod common;

use common::nets::{input, sgd, targets, w1, w2, w3};
use criterion::{Criterion, Throughput};
use nalgebra::SMatrix;
use stackprop::prelude::*;
use std::hint::black_box;

fn infer<M, const I: usize, const B: usize>(c: &mut Criterion, name: &str, model: M)
where
    M: Layer<SMatrix<f32, I, B>>,
{
    let x = input::<I, B>();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(common::workload(name).flops() as u64));
    g.bench_function("stackprop", |b| b.iter(|| black_box(&model).forward(black_box(&x))));
    g.finish();
}

fn train<M, const I: usize, const C: usize, const B: usize>(
    c: &mut Criterion,
    name: &str,
    mut model: M,
) where
    M: Layer<SMatrix<f32, I, B>, Output = SMatrix<f32, C, B>> + Params<f32>,
{
    let x = input::<I, B>();
    let t = targets::<B>(C);
    let mut tr = Trainer::new(sgd());
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(common::workload(name).flops() as u64));
    g.bench_function("stackprop", |b| {
        b.iter(|| tr.step(&mut model, &SoftmaxCrossEntropy, black_box(&x), black_box(&t)))
    });
    g.finish();
}

fn run() {
    // Throughput "elements" are the nominal FLOPs of one iteration, so
    // criterion's elem/s column reads as FLOP/s.
    let mut c = Criterion::default().configure_from_args();
    infer::<_, 4, 1>(&mut c, "w1_infer", w1());
    train::<_, 4, 3, 1>(&mut c, "w1_train", w1());
    infer::<_, 784, 32>(&mut c, "w2_infer_b32", w2());
    train::<_, 784, 10, 32>(&mut c, "w2_train_b32", w2());
    train::<_, 784, 10, 256>(&mut c, "w2_train_b256", w2());
    train::<_, 64, 10, 16>(&mut c, "w3_train_b16", w3());
    c.final_summary();
}

fn main() {
    // The W2 model, gradient and cache are plain values on the stack.
    common::with_big_stack(256 << 20, run);
}
