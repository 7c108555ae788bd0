//! Losses: a mean over the batch of a per-sample loss, with its gradient
//! with respect to the model's output.
//!
//! * [`Mse`]: mean squared error (PyTorch's `MSELoss`, mean over all
//!   entries),
//! * [`SoftmaxCrossEntropy`]: softmax cross-entropy on class indices,
//!   computed through a log-sum-exp so logits of ±1000 stay finite,
//! * [`BceWithLogits`]: binary cross-entropy on logits,
//! * [`l2`]: L2 weight decay `λ/2·Σ‖W‖²_F` on weights (not biases).
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::loss::{Loss, Mse};
//! let y = SMatrix::<f64, 1, 2>::new(1.0, 3.0);
//! let t = SMatrix::<f64, 1, 2>::new(0.0, 1.0);
//! let mut dy = SMatrix::zeros();
//! let l = Mse.loss_grad(&y, &t, &mut dy).unwrap();
//! assert_eq!(l, 2.5);                                   // (1 + 4) / 2
//! assert_eq!(dy, SMatrix::<f64, 1, 2>::new(1.0, 2.0));  // 2(y − t) / 2
//! ```

pub mod bce_logits;
pub mod l2;
pub mod mse;
pub mod softmax_ce;

pub use bce_logits::BceWithLogits;
pub use mse::Mse;
pub use softmax_ce::SoftmaxCrossEntropy;

use crate::error::Error;

/// A loss on predictions of type `Y` (an `SMatrix<T, N, B>`: one column per
/// sample), averaged over the batch.
///
/// Both methods validate the target first and return an [`Error`] for bad
/// input (a label out of range, a non-finite target), leaving `dy`
/// untouched.
pub trait Loss<Y> {
    /// What a prediction is compared with: a matrix like `Y`, or class
    /// indices `[usize; B]`.
    type Target;
    /// The scalar the loss is computed in.
    type Scalar;

    /// The loss of prediction `y` against target `t`.
    fn loss(&self, y: &Y, t: &Self::Target) -> Result<Self::Scalar, Error>;

    /// The loss, and `∂L/∂y` written into `dy`.
    fn loss_grad(&self, y: &Y, t: &Self::Target, dy: &mut Y) -> Result<Self::Scalar, Error>;
}
