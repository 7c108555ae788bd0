//! L2 weight decay as a term of the objective, as in the d2l seed (§5.3):
//! `J = L + s` with `s = λ/2 · Σ‖W‖²_F` over the weights (not the biases),
//! so `∂J/∂W` gains `λ·W`.
//!
//! ```
//! use stackprop::loss::l2;
//! use stackprop::{Linear, Zeros};
//! let model = Linear::<f64, 2, 1>::from_fn(|_, i| (i + 1) as f64, |_| 10.0);
//! assert_eq!(l2::penalty(&model, 0.5), 0.5 / 2.0 * (1.0 + 4.0)); // bias not counted
//! let mut g = Linear::<f64, 2, 1>::zeros();
//! l2::add_grad(&model, &mut g, 0.5);
//! assert_eq!((g.weight[1], g.bias[0]), (1.0, 0.0));
//! ```

use crate::params::{self, ParamKind, Params};
use crate::scalar::{Real, lit};

/// `λ/2 · Σ‖W‖²_F` over the weight tensors of `model`.
pub fn penalty<T: Real, M: Params<T>>(model: &M, lambda: T) -> T {
    lambda * lit::<T>(0.5) * params::sum_squares(model, Some(ParamKind::Weight))
}

/// Adds `λ·W` into the gradient of every weight tensor (biases untouched).
pub fn add_grad<T: Real, M: Params<T>>(model: &M, grads: &mut M, lambda: T) {
    for i in 0..M::TENSORS {
        if let (Some((ParamKind::Weight, w)), Some((_, g))) = (model.tensor(i), grads.tensor_mut(i))
        {
            for (g, &w) in g.iter_mut().zip(w) {
                *g += lambda * w;
            }
        }
    }
}
