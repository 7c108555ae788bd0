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

/// A rule that updates a model `M` from its gradient.
pub trait Optimizer<M> {
    /// The optimizer's state, a value shaped like the model (or `()`).
    type State: Zeros;
    /// Applies one update to `model` given the gradient `grads`.
    fn update(&self, model: &mut M, grads: &M, state: &mut Self::State);
}
