//! Adam.

use super::Optimizer;
use crate::module::Module;
use crate::params;
use crate::scalar::{Real, lit};
use crate::zeros::Zeros;

/// Adam (Kingma & Ba 2015, Algorithm 1) with bias correction and L2 weight
/// decay added to the gradient (PyTorch's `Adam(weight_decay=…)`):
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr · m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
/// On x86-64 a moment below the smallest normal number is stored as 0:
/// subnormal moments (those of a gradient that stays at zero) made a
/// 784 → 256 → 10 step 5× slower after a few thousand steps.
///
/// ```
/// use stackprop::optim::{Adam, Optimizer};
/// use stackprop::{Linear, Zeros};
/// type L = Linear<f64, 1, 1>;
/// let opt = Adam::new(0.1);
/// let mut state = <Adam<f64> as Optimizer<L>>::State::zeros();
/// let (mut p, g) = (L::zeros(), L::from_fn(|_, _| 3.0, |_| -3.0));
/// opt.update(&mut p, &g, &mut state);
/// // the first step of Adam moves each parameter by ≈ lr against the sign of g
/// assert!((p.weight[0] + 0.1).abs() < 1e-6 && (p.bias[0] - 0.1).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam<T> {
    /// Learning rate.
    pub lr: T,
    /// Decay of the first moment, `β₁` (0.9).
    pub beta1: T,
    /// Decay of the second moment, `β₂` (0.999).
    pub beta2: T,
    /// `ε` in the denominator (1e-8).
    pub eps: T,
    /// Weight-decay coefficient (weights only unless `decay_biases`).
    pub wd: T,
    /// Whether weight decay applies to biases too.
    pub decay_biases: bool,
}

impl<T: Real> Adam<T> {
    /// Adam with learning rate `lr` and the paper's defaults
    /// `β₁ = 0.9, β₂ = 0.999, ε = 1e-8`.
    pub fn new(lr: T) -> Self {
        Self {
            lr,
            beta1: lit(0.9),
            beta2: lit(0.999),
            eps: lit(1e-8),
            wd: T::zero(),
            decay_biases: false,
        }
    }
    /// Sets `β₁` and `β₂`.
    pub fn betas(mut self, beta1: T, beta2: T) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    /// Sets `ε`.
    pub fn eps(mut self, eps: T) -> Self {
        self.eps = eps;
        self
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
}

/// Adam's state: the two moments, shaped like the model, and the bias
/// corrections `1 − β₁ᵗ`, `1 − β₂ᵗ` (zero before the first step).
///
/// ```
/// use stackprop::optim::AdamState;
/// use stackprop::{Linear, Zeros};
/// let s = AdamState::<Linear<f32, 2, 2>, f32>::zeros();
/// assert_eq!(s.c1, 0.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState<M, T> {
    /// First moment `m`.
    pub m: M,
    /// Second moment `v`.
    pub v: M,
    /// `1 − β₁ᵗ`.
    pub c1: T,
    /// `1 − β₂ᵗ`.
    pub c2: T,
}

impl<M: Zeros, T: Real> Zeros for AdamState<M, T> {
    fn zeros() -> Self {
        Self { m: M::zeros(), v: M::zeros(), c1: T::zero(), c2: T::zero() }
    }
    fn set_zero(&mut self) {
        self.m.set_zero();
        self.v.set_zero();
        self.c1 = T::zero();
        self.c2 = T::zero();
    }
}

impl<M: crate::zeros::ConstZeros, T: crate::zeros::ConstZeros> crate::zeros::ConstZeros
    for AdamState<M, T>
{
    const ZEROS: Self = Self { m: M::ZEROS, v: M::ZEROS, c1: T::ZEROS, c2: T::ZEROS };
}

impl<T: Real, M: Module<Scalar = T> + Zeros> Optimizer<M> for Adam<T> {
    type State = AdamState<M, T>;

    fn update(&self, model: &mut M, grads: &M, s: &mut AdamState<M, T>) {
        let one = T::one();
        // 1 − β^{t+1} = 1 − β·(1 − (1 − βᵗ))
        s.c1 = one - self.beta1 * (one - s.c1);
        s.c2 = one - self.beta2 * (one - s.c2);
        let (c1, c2) = (s.c1, s.c2);
        params::zip4(model, grads, &mut s.m, &mut s.v, |kind, p: &mut [T], g, m, v| {
            let wd = super::decay(kind, self.wd, self.decay_biases);
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g + wd * *p;
                *m = super::flush_subnormal(self.beta1 * *m + (one - self.beta1) * g);
                *v = super::flush_subnormal(self.beta2 * *v + (one - self.beta2) * g * g);
                let mhat = *m / c1;
                let vhat = *v / c2;
                *p = super::flush_tiny(*p - self.lr * mhat / (vhat.simd_sqrt() + self.eps));
            }
        });
    }
}
