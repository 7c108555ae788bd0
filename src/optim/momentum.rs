//! SGD with momentum.

use super::Optimizer;
use crate::module::Module;
use crate::params;
use crate::scalar::Real;
use crate::zeros::Zeros;

/// SGD with momentum (PyTorch's `SGD(momentum=μ, nesterov=…)`):
/// `g' = g + wd·p`, `v ← μ·v + g'`, then `p ← p − lr·v`, or with Nesterov
/// `p ← p − lr·(g' + μ·v)`. The state `v` is a value shaped like the model;
/// on x86-64 a velocity below the smallest normal number is stored as 0
/// (arithmetic on subnormal numbers is slow there).
///
/// ```
/// use stackprop::optim::{Momentum, Optimizer};
/// use stackprop::{Linear, Zeros};
/// type L = Linear<f64, 1, 1>;
/// let opt = Momentum::new(0.1, 0.9);
/// let (mut p, g, mut v) = (L::zeros(), L::from_fn(|_, _| 1.0, |_| 1.0), L::zeros());
/// opt.update(&mut p, &g, &mut v);
/// opt.update(&mut p, &g, &mut v);
/// assert!((p.weight[0] - (-0.1 - 0.19)).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Momentum<T> {
    /// Learning rate.
    pub lr: T,
    /// Momentum coefficient `μ`.
    pub momentum: T,
    /// Weight-decay coefficient (weights only unless `decay_biases`).
    pub wd: T,
    /// Whether weight decay applies to biases too.
    pub decay_biases: bool,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl<T: Real> Momentum<T> {
    /// Momentum SGD with learning rate `lr` and coefficient `momentum`.
    pub fn new(lr: T, momentum: T) -> Self {
        Self { lr, momentum, wd: T::zero(), decay_biases: false, nesterov: false }
    }
    /// Sets the weight-decay coefficient.
    pub fn weight_decay(mut self, wd: T) -> Self {
        self.wd = wd;
        self
    }
    /// Chooses whether biases are decayed too.
    pub fn decay_biases(mut self, yes: bool) -> Self {
        self.decay_biases = yes;
        self
    }
    /// Chooses Nesterov momentum.
    pub fn nesterov(mut self, yes: bool) -> Self {
        self.nesterov = yes;
        self
    }
}

impl<T: Real, M: Module<Scalar = T> + Zeros> Optimizer<M> for Momentum<T> {
    type State = M;

    fn update(&self, model: &mut M, grads: &M, velocity: &mut M) {
        params::zip3(model, grads, velocity, |kind, p: &mut [T], g, v| {
            let wd = super::decay(kind, self.wd, self.decay_biases);
            for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                let g = g + wd * *p;
                *v = super::flush_subnormal(self.momentum * *v + g);
                let step = if self.nesterov { g + self.momentum * *v } else { *v };
                *p = super::flush_tiny(*p - self.lr * step);
            }
        });
    }
}
