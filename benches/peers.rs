//! stackprop as one more peer of `../shared/peers`: prints the peers' JSON
//! lines (one per workload, and the `check` line) with the same workloads,
//! data, init, update rule and timing loop.
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench peers -- [--check-only|--no-check] [workload ...]
//! ```
//!
//! The README's "Speed beside the peers" says how it runs beside them.

mod common;

use common::nets::{input, sgd, targets, w1, w2, w3};
use common::{Workload, report_check};
use nalgebra::SMatrix;
use stackprop::prelude::*;
use std::hint::black_box;

const PEER: &str = "stackprop";

fn infer_bench<M, const I: usize, const B: usize>(w: &Workload, model: M)
where
    M: Layer<SMatrix<f32, I, B>>,
{
    let x = input::<I, B>();
    common::bench(PEER, w, || {
        black_box(black_box(&model).forward(black_box(&x)));
    });
}

fn train_bench<M, const I: usize, const C: usize, const B: usize>(w: &Workload, mut model: M)
where
    M: Train<SMatrix<f32, I, B>, Output = SMatrix<f32, C, B>> + Module<Scalar = f32>,
{
    let x = input::<I, B>();
    let t = targets::<B>(C);
    let mut tr = Trainer::new(sgd());
    common::bench(PEER, w, || {
        let l = tr.step(&mut model, &SoftmaxCrossEntropy, black_box(&x), black_box(&t));
        black_box(l.expect("finite"));
    });
    black_box(&model);
}

/// W2, batch 32, one step from the init: loss before, gradient norm
/// (accumulated in f64, decay excluded), loss after.
fn check() {
    let mut model = w2();
    let x = input::<784, 32>();
    let t = targets::<32>(10);
    let mut tr = Trainer::new(sgd());
    let before = tr.gradient(&model, &SoftmaxCrossEntropy, &x, &t).expect("finite");
    let mut sq = 0.0f64;
    stackprop::params::for_each(&tr.backprop.grads, |_, g: &[f32]| {
        sq += g.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>()
    });
    tr.step(&mut model, &SoftmaxCrossEntropy, &x, &t).expect("finite");
    let after = SoftmaxCrossEntropy.loss(&model.forward(&x), &t).expect("labels in range");
    report_check(PEER, before, sq.sqrt() as f32, after);
}

fn run() {
    let mut only = vec![];
    let (mut do_check, mut do_bench) = (true, true);
    for s in std::env::args().skip(1) {
        match s.as_str() {
            "--check-only" => do_bench = false,
            "--no-check" => do_check = false,
            "--bench" => {} // passed by `cargo bench`
            _ => only.push(s),
        }
    }
    if do_check {
        check();
    }
    for w in common::WORKLOADS {
        if !do_bench || !(only.is_empty() || only.iter().any(|o| o == w.name)) {
            continue;
        }
        match w.name {
            "w1_infer" => infer_bench::<_, 4, 1>(w, w1()),
            "w1_train" => train_bench::<_, 4, 3, 1>(w, w1()),
            "w2_infer_b32" => infer_bench::<_, 784, 32>(w, w2()),
            "w2_train_b32" => train_bench::<_, 784, 10, 32>(w, w2()),
            "w2_train_b256" => train_bench::<_, 784, 10, 256>(w, w2()),
            "w3_train_b16" => train_bench::<_, 64, 10, 16>(w, w3()),
            other => panic!("no instantiation for {other}"),
        }
    }
}

fn main() {
    common::with_big_stack(256 << 20, run);
}
