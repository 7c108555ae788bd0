//! Optimizers. An optimizer holds hyper-parameters; its state (momentum,
//! Adam's moments) is a separate value shaped like the model, so it can live
//! on the stack, in a `static`, or in a `Box`, and its size is a constant.
//!
//! * [`Sgd`]: `p ← p − lr·(g + wd·p)` (weight decay on weights; on biases too
//!   if asked),
//! * [`Momentum`]: SGD with (optionally Nesterov) momentum,
//! * [`Adam`]: Adam (Kingma & Ba 2015) with bias correction.
//!
//! ```
//! use stackprop::optim::{Optimizer, Sgd};
//! use stackprop::{Linear, Zeros};
//! let mut p = Linear::<f32, 1, 1>::from_fn(|_, _| 1.0, |_| 1.0);
//! let g = Linear::<f32, 1, 1>::from_fn(|_, _| 0.5, |_| 0.5);
//! let opt = Sgd::new(0.1);
//! let mut state = <Sgd<f32> as Optimizer<Linear<f32, 1, 1>>>::State::zeros();
//! opt.update(&mut p, &g, &mut state);
//! assert_eq!(p.weight[0], 0.95);
//! ```

pub mod adam;
pub mod momentum;
pub mod sgd;

pub use adam::{Adam, AdamState};
pub use momentum::Momentum;
pub use sgd::Sgd;

use crate::params::ParamKind;
use crate::scalar::Real;
use crate::zeros::Zeros;

/// The weight-decay coefficient for a tensor of `kind`: `wd` for weights,
/// and for biases only when `decay_biases`.
#[inline]
fn decay<T: Real>(kind: ParamKind, wd: T, decay_biases: bool) -> T {
    if kind == ParamKind::Weight || decay_biases { wd } else { T::zero() }
}

/// `x`, or `0` where `|x|` is below the smallest normal number of its
/// type, on x86-64 (elsewhere `x`): what [`Momentum`] and [`Adam`] apply to
/// the state they keep.
///
/// A moment whose gradient stays at zero (a dead ReLU unit, an input that
/// is always 0) decays geometrically and passes through the subnormal
/// numbers for 150 steps (`β₁ = 0.9`) to 16,000 (`β₂ = 0.999`) before it
/// reaches zero; on x86-64 every operation that reads or makes a subnormal
/// number takes a microcode assist. After 1,000 Adam steps on the
/// 784 → 256 → 10 model 27 % of the first moments were subnormal and a
/// step took 2 ms instead of 0.4 ms. Flushed, such a moment pays once. A
/// value this small moves no parameter that is itself a normal number.
/// Cortex-M4's FPU handles subnormals at full speed, so there the state
/// keeps IEEE's gradual underflow (and the update its instruction count).
#[inline(always)]
fn flush_subnormal<T: Real>(x: T) -> T {
    if cfg!(target_arch = "x86_64") {
        let min_normal: T = if core::mem::size_of::<T::Element>() == 4 {
            crate::scalar::lit(f32::MIN_POSITIVE as f64)
        } else {
            crate::scalar::lit(f64::MIN_POSITIVE)
        };
        T::zero().select(x.simd_abs().simd_lt(min_normal), x)
    } else {
        x
    }
}

/// A rule that updates a model `M` from its gradient.
pub trait Optimizer<M> {
    /// The optimizer's state, a value shaped like the model (or `()`).
    type State: Zeros;
    /// Applies one update to `model` given the gradient `grads`.
    fn update(&self, model: &mut M, grads: &M, state: &mut Self::State);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Linear;

    type L = Linear<f32, 1, 1>;

    /// With a zero gradient the state decays to exactly zero: on x86-64
    /// never through a subnormal value, elsewhere through them (IEEE's
    /// gradual underflow); the parameters stay finite.
    fn decays_without_subnormals<O: Optimizer<L>>(
        opt: O,
        state: &mut O::State,
        moments: impl Fn(&O::State) -> [f32; 2],
    ) {
        let mut p = L::from_fn(|_, _| 1.0, |_| 1.0);
        let zero = L::zeros();
        let (mut saw_subnormal, mut steps) = (false, 0);
        while moments(state) != [0.0; 2] {
            opt.update(&mut p, &zero, state);
            for m in moments(state) {
                saw_subnormal |= m != 0.0 && !m.is_normal();
            }
            steps += 1;
            assert!(steps < 200_000, "the state never reached zero");
        }
        assert_eq!(saw_subnormal, !cfg!(target_arch = "x86_64"));
        assert!(p.weight[0].is_finite() && p.bias[0].is_finite());
    }

    #[test]
    fn adam_moments_flush_to_zero_on_x86_64() {
        let opt = Adam::new(1e-3f32);
        let mut s = <Adam<f32> as Optimizer<L>>::State::zeros();
        // one step with a gradient, then zero gradients from there
        opt.update(&mut L::zeros(), &L::from_fn(|_, _| 1e-3, |_| -1e-3), &mut s);
        decays_without_subnormals(opt, &mut s, |s| [s.m.weight[0], s.v.weight[0]]);
    }

    #[test]
    fn momentum_velocity_flushes_to_zero_on_x86_64() {
        let opt = Momentum::new(1e-2f32, 0.9);
        let mut v = L::from_fn(|_, _| 1e-3, |_| -1e-3);
        decays_without_subnormals(opt, &mut v, |v| [v.weight[0], v.bias[0]]);
    }
}
