//! Optimizers. An optimizer holds hyper-parameters; its state (momentum,
//! Adam's moments) is a separate value shaped like the model, so it can live
//! on the stack, in a `static`, or in a `Box`, and its size is a constant.
//!
//! * [`Sgd`]: `p ← p − lr·(g + wd·p)` (weight decay on weights; on biases too
//!   if asked),
//! * [`Momentum`]: SGD with (optionally Nesterov) momentum,
//! * [`Adam`]: Adam (Kingma & Ba 2015) with bias correction.
//!
//! On x86-64 every optimizer stores a parameter whose magnitude falls below
//! `2⁻¹⁰³` (`f32`; `2⁻⁹⁷⁰` for `f64`) as 0, and Momentum and Adam a state
//! value below the smallest normal number. Values that only decay (a
//! weight under weight decay with a zero gradient, the moments of a dead
//! unit) otherwise reach the subnormal numbers, or make products that do,
//! and each operation on a subnormal number costs x86-64 a microcode
//! assist: a 4 → 16 → 3 SGD step became 25 times slower once its dead
//! units' weights had decayed that far (after 60 to 150 million steps with
//! `lr = 0.01`, `wd = 1e-4`), and Adam on 784 → 256 → 10 five times slower
//! within 3,000 steps. Elsewhere (Cortex-M4's FPU handles subnormals at
//! full speed) the values keep IEEE's gradual underflow.
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
    flush_below(x, f32::MIN_POSITIVE, f64::MIN_POSITIVE)
}

/// `x`, or `0` where `|x|` is below `2⁻¹⁰³` (`f32`: the smallest normal
/// number over the machine epsilon) or `2⁻⁹⁷⁰` (`f64`), on x86-64
/// (elsewhere `x`): what every optimizer applies to the parameters it
/// writes.
///
/// Weight decay shrinks a parameter whose gradient stays at zero by
/// `1 − lr·wd` per step. Long before the parameter itself is subnormal, its
/// products are: `lr·wd·p` in the update, `p·dy` in the backward pass (a
/// gradient `dy` is often below `2⁻²³`). With the peers' SGD (`lr = 0.01`,
/// `wd = 1e-4`) on the 4 → 16 → 3 model, the dead hidden units' weights
/// got there between 60 and 150 million steps, and from then on a step took
/// 1.8 µs instead of 71 ns; flushed at the smallest normal number, the
/// 150 million steps still averaged 190 ns (the products' band); flushed
/// at `2⁻¹⁰³`, 71.4 ns. A parameter this small changes no sum it takes
/// part in unless every other term is as small.
#[inline(always)]
fn flush_tiny<T: Real>(x: T) -> T {
    flush_below(x, f32::MIN_POSITIVE / f32::EPSILON, f64::MIN_POSITIVE / f64::EPSILON)
}

/// `x`, or `0` where `|x|` is below `f32_min` (for `f32` lanes) or
/// `f64_min`, on x86-64; elsewhere `x`.
#[inline(always)]
fn flush_below<T: Real>(x: T, f32_min: f32, f64_min: f64) -> T {
    if cfg!(target_arch = "x86_64") {
        let min: T = if core::mem::size_of::<T::Element>() == 4 {
            crate::scalar::lit(f64::from(f32_min))
        } else {
            crate::scalar::lit(f64_min)
        };
        T::zero().select(x.simd_abs().simd_lt(min), x)
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

    /// With a zero gradient the values `watch` reads (of the parameters or
    /// the state) decay until they stop changing, at zero: on x86-64 never
    /// through a subnormal value, elsewhere through them (IEEE's gradual
    /// underflow); the parameters stay finite.
    fn decays_without_subnormals<O: Optimizer<L>>(
        opt: O,
        p: &mut L,
        state: &mut O::State,
        watch: impl Fn(&L, &O::State) -> [f32; 2],
    ) {
        let zero = L::zeros();
        let (mut saw_subnormal, mut steps) = (false, 0);
        let mut last = [f32::NAN; 2];
        while watch(p, state) != last {
            last = watch(p, state);
            opt.update(p, &zero, state);
            for m in watch(p, state) {
                saw_subnormal |= m != 0.0 && !m.is_normal();
            }
            steps += 1;
            assert!(steps < 200_000, "never settled: {:?}", watch(p, state));
        }
        assert!(steps > 10, "decayed in {steps} steps");
        assert_eq!(saw_subnormal, !cfg!(target_arch = "x86_64"));
        assert_eq!(last, [0.0; 2]);
        assert!(p.weight[0].is_finite() && p.bias[0].is_finite());
    }

    #[test]
    fn adam_moments_flush_to_zero_on_x86_64() {
        let opt = Adam::new(1e-3f32);
        let mut s = <Adam<f32> as Optimizer<L>>::State::zeros();
        // one step with a gradient, then zero gradients from there
        opt.update(&mut L::zeros(), &L::from_fn(|_, _| 1e-3, |_| -1e-3), &mut s);
        let mut p = L::from_fn(|_, _| 1.0, |_| 1.0);
        decays_without_subnormals(opt, &mut p, &mut s, |_, s| [s.m.weight[0], s.v.weight[0]]);
    }

    #[test]
    fn momentum_velocity_flushes_to_zero_on_x86_64() {
        let opt = Momentum::new(1e-2f32, 0.9);
        let mut v = L::from_fn(|_, _| 1e-3, |_| -1e-3);
        let mut p = L::from_fn(|_, _| 1.0, |_| 1.0);
        decays_without_subnormals(opt, &mut p, &mut v, |_, v| [v.weight[0], v.bias[0]]);
    }

    /// Weight decay with a zero gradient: the parameters themselves.
    #[test]
    fn decayed_parameters_flush_to_zero_on_x86_64() {
        let start = || L::from_fn(|_, _| 1.0, |_| -1.0);
        let both = |p: &L| [p.weight[0], p.bias[0]];
        let sgd = Sgd::new(0.5f32).weight_decay(0.5).decay_biases(true);
        decays_without_subnormals(sgd, &mut start(), &mut (), |p, _| both(p));
        let momentum = Momentum::new(0.5f32, 0.0).weight_decay(0.5).decay_biases(true);
        let mut v = L::zeros();
        decays_without_subnormals(momentum, &mut start(), &mut v, |p, _| both(p));
    }
}
