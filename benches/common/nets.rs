//! The benchmark networks as stackprop types, built from the peers' init.

use super::{LR, LayerInit, W1_DIMS, W2_DIMS, W3_DIMS, WD, init_params, inputs, labels};
use nalgebra::SMatrix;
use stackprop::prelude::*;
use stackprop::scalar::{Real, lit};

/// 4 → 16 → 3.
pub type W1 = Seq![Linear<f32, 4, 16>, Relu, Linear<f32, 16, 3>];
/// 784 → 256 → 10 (in `f32` unless `T` says otherwise).
pub type W2<T = f32> = Seq![Linear<T, 784, 256>, Relu, Linear<T, 256, 10>];
/// 64 → 64 → 64 → 64 → 10.
pub type W3<T = f32> = Seq![
    Linear<T, 64, 64>,
    Relu,
    Linear<T, 64, 64>,
    Relu,
    Linear<T, 64, 64>,
    Relu,
    Linear<T, 64, 10>
];

/// `v` in `T` (exact: every `f32` is a `T`).
fn to<T: Real>(v: &[f32]) -> Vec<T> {
    v.iter().map(|&x| lit::<T>(f64::from(x))).collect()
}

/// The layer of `p`: its weight is `O × I` row-major (PyTorch's layout),
/// stackprop's constructor takes it column-major (value `o + i·O` is
/// `W[(o, i)]`), so the values are reordered, not changed.
fn linear<T: Real, const I: usize, const O: usize>(p: &LayerInit) -> Linear<T, I, O> {
    assert_eq!(p.w.len(), O * I, "init has the right lengths");
    let w: Vec<f32> = (0..O * I).map(|k| p.w[(k % O) * I + k / O]).collect();
    Linear::from_column_slices(&to(&w), &to(&p.b)).expect("init has the right lengths")
}

pub fn w1() -> W1 {
    let p = init_params(W1_DIMS);
    seq![linear(&p[0]), Relu, linear(&p[1])]
}

pub fn w2() -> W2 {
    w2_in()
}

/// [`w2`] in `T` (the same values).
pub fn w2_in<T: Real>() -> W2<T> {
    let p = init_params(W2_DIMS);
    seq![linear(&p[0]), Relu, linear(&p[1])]
}

pub fn w3() -> W3 {
    w3_in()
}

/// [`w3`] in `T` (the same values).
pub fn w3_in<T: Real>() -> W3<T> {
    let p = init_params(W3_DIMS);
    seq![linear(&p[0]), Relu, linear(&p[1]), Relu, linear(&p[2]), Relu, linear(&p[3])]
}

/// The first `B` samples, one per column.
pub fn input<const I: usize, const B: usize>() -> SMatrix<f32, I, B> {
    input_in()
}

/// [`input`] in `T`.
pub fn input_in<T: Real, const I: usize, const B: usize>() -> SMatrix<T, I, B> {
    SMatrix::from_column_slice(&to(&inputs(I, B)))
}

/// The first `B` labels.
pub fn targets<const B: usize>(classes: usize) -> [usize; B] {
    labels(B, classes).try_into().expect("B labels")
}

/// `p ← p − lr·(∂L/∂p + wd·p)` on weights and biases (PyTorch's SGD).
pub fn sgd() -> Sgd<f32> {
    sgd_in()
}

/// [`sgd`] in `T`.
pub fn sgd_in<T: Real>() -> Sgd<T> {
    Sgd::new(lit(f64::from(LR))).weight_decay(lit(f64::from(WD))).decay_biases(true)
}
