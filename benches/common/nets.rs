//! The benchmark networks as stackprop types, built from the peers' init.

use super::{LR, LayerInit, W1_DIMS, W2_DIMS, W3_DIMS, WD, init_params, inputs, labels};
use nalgebra::SMatrix;
use stackprop::prelude::*;

/// 4 → 16 → 3.
pub type W1 = Seq![Linear<f32, 4, 16>, Relu, Linear<f32, 16, 3>];
/// 784 → 256 → 10.
pub type W2 = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];
/// 64 → 64 → 64 → 64 → 10.
pub type W3 = Seq![
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 10>
];

fn linear<const I: usize, const O: usize>(p: &LayerInit) -> Linear<f32, I, O> {
    Linear::from_slices(&p.w, &p.b).expect("init has the right lengths")
}

pub fn w1() -> W1 {
    let p = init_params(W1_DIMS);
    seq![linear(&p[0]), Relu, linear(&p[1])]
}

pub fn w2() -> W2 {
    let p = init_params(W2_DIMS);
    seq![linear(&p[0]), Relu, linear(&p[1])]
}

pub fn w3() -> W3 {
    let p = init_params(W3_DIMS);
    seq![linear(&p[0]), Relu, linear(&p[1]), Relu, linear(&p[2]), Relu, linear(&p[3])]
}

/// The first `B` samples, one per column.
pub fn input<const I: usize, const B: usize>() -> SMatrix<f32, I, B> {
    SMatrix::from_column_slice(&inputs(I, B))
}

/// The first `B` labels.
pub fn targets<const B: usize>(classes: usize) -> [usize; B] {
    labels(B, classes).try_into().expect("B labels")
}

/// `p ← p − lr·(∂L/∂p + wd·p)` on weights and biases (PyTorch's SGD).
pub fn sgd() -> Sgd<f32> {
    Sgd::new(LR).weight_decay(WD).decay_biases(true)
}
