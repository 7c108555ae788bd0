//! Mean squared error.

use super::Loss;
use crate::error::Error;
use crate::scalar::{Real, is_finite, lit};
use nalgebra::SMatrix;

/// Mean squared error over all `N·B` entries,
/// `L = 1/(N·B) · Σ (y − t)²`, with `∂L/∂y = 2(y − t)/(N·B)`
/// (PyTorch's `nn.MSELoss()` with its default mean reduction).
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::loss::{Loss, Mse};
/// let y = SMatrix::<f32, 2, 1>::new(1.0, 2.0);
/// assert_eq!(Mse.loss(&y, &SMatrix::<f32, 2, 1>::zeros()).unwrap(), 2.5);
/// assert!(Mse.loss(&y, &SMatrix::repeat(f32::NAN)).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl<T: Real, const N: usize, const B: usize> Loss<SMatrix<T, N, B>> for Mse {
    type Target = SMatrix<T, N, B>;
    type Scalar = T;

    fn loss(&self, y: &SMatrix<T, N, B>, t: &SMatrix<T, N, B>) -> Result<T, Error> {
        check_target(t)?;
        let mut s = T::zero();
        for (&a, &b) in y.iter().zip(t.iter()) {
            s += (a - b) * (a - b);
        }
        Ok(s / lit::<T>((N * B).max(1) as f64))
    }

    fn loss_grad(
        &self,
        y: &SMatrix<T, N, B>,
        t: &SMatrix<T, N, B>,
        dy: &mut SMatrix<T, N, B>,
    ) -> Result<T, Error> {
        let l = self.loss(y, t)?;
        let k = lit::<T>(2.0 / (N * B).max(1) as f64);
        for ((d, &a), &b) in dy.iter_mut().zip(y.iter()).zip(t.iter()) {
            *d = (a - b) * k;
        }
        Ok(l)
    }
}

fn check_target<T: Real, const N: usize, const B: usize>(
    t: &SMatrix<T, N, B>,
) -> Result<(), Error> {
    if t.iter().all(|&v| is_finite(v)) { Ok(()) } else { Err(Error::NonFinite { what: "target" }) }
}
