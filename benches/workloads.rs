//! Criterion benchmarks of the workloads of BENCHMARKS.md (same networks,
//! data, init and update rule as `benches/peers.rs`, timed by criterion),
//! plus W2 and w3 in `f64` (`stackprop_f64` in the same groups) and, with
//! `--features simd`, eight w3 models in lockstep (`stackprop_8_models`).
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench workloads [-- FILTER]
//! ```

mod common;

use common::nets::{input_in, sgd_in, targets, w1, w2, w2_in, w3, w3_in};
use criterion::{Criterion, Throughput};
use nalgebra::SMatrix;
use stackprop::prelude::*;
use stackprop::scalar::Real;
use std::hint::black_box;

fn infer<T: Real, M, const I: usize, const B: usize>(c: &mut Criterion, name: &str, model: M)
where
    M: Layer<SMatrix<T, I, B>>,
{
    let x = input_in::<T, I, B>();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(common::workload(name).flops() as u64 * T::LANES as u64));
    g.bench_function(label::<T>(), |b| b.iter(|| black_box(&model).forward(black_box(&x))));
    g.finish();
}

fn train<T: Real, M, const I: usize, const C: usize, const B: usize>(
    c: &mut Criterion,
    name: &str,
    mut model: M,
) where
    M: Train<SMatrix<T, I, B>, Output = SMatrix<T, C, B>> + Module<Scalar = T>,
{
    let x = input_in::<T, I, B>();
    let t = targets::<B>(C);
    let mut tr = Trainer::new(sgd_in::<T>());
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(common::workload(name).flops() as u64 * T::LANES as u64));
    g.bench_function(label::<T>(), |b| {
        b.iter(|| tr.step(&mut model, &SoftmaxCrossEntropy, black_box(&x), black_box(&t)))
    });
    g.finish();
}

/// The benchmark's name in its group: `stackprop` for `f32` (the peers'
/// type), `stackprop_f64` for `f64`, `stackprop_8_models` for eight `f32`
/// models in lockstep over `WideF32x8` (its throughput counts all eight).
fn label<T: Real>() -> &'static str {
    match (T::LANES, core::mem::size_of::<T>()) {
        (1, 4) => "stackprop",
        (1, _) => "stackprop_f64",
        _ => "stackprop_8_models",
    }
}

fn run() {
    // Throughput "elements" are the nominal FLOPs of one iteration, so
    // criterion's elem/s column reads as FLOP/s.
    let mut c = Criterion::default().configure_from_args();
    infer::<f32, _, 4, 1>(&mut c, "w1_infer", w1());
    train::<f32, _, 4, 3, 1>(&mut c, "w1_train", w1());
    infer::<f32, _, 784, 32>(&mut c, "w2_infer_b32", w2());
    train::<f32, _, 784, 10, 32>(&mut c, "w2_train_b32", w2());
    train::<f32, _, 784, 10, 256>(&mut c, "w2_train_b256", w2());
    train::<f32, _, 64, 10, 16>(&mut c, "w3_train_b16", w3());
    // The same networks and data in f64 (not a peers' workload).
    infer::<f64, _, 784, 32>(&mut c, "w2_infer_b32", w2_in::<f64>());
    train::<f64, _, 784, 10, 32>(&mut c, "w2_train_b32", w2_in::<f64>());
    train::<f64, _, 64, 10, 16>(&mut c, "w3_train_b16", w3_in::<f64>());
    // Eight w3 models in lockstep (feature `simd`): one step trains all 8.
    #[cfg(feature = "simd")]
    train::<simba::simd::WideF32x8, _, 64, 10, 16>(
        &mut c,
        "w3_train_b16",
        w3_in::<simba::simd::WideF32x8>(),
    );
    c.final_summary();
}

fn main() {
    // The W2 model, gradient and cache are plain values on the stack.
    common::with_big_stack(256 << 20, run);
}
