//! Binary cross-entropy on logits.

use super::Loss;
use crate::error::Error;
use crate::ops::activation::Activation;
use crate::ops::activation::Sigmoid;
use crate::scalar::{Real, SimdBool, is_finite, lit};
use nalgebra::SMatrix;

/// Binary cross-entropy on logits `z` with targets `t ∈ [0, 1]`, averaged
/// over all `N·B` entries (PyTorch's `BCEWithLogitsLoss`):
/// `L = 1/(N·B) · Σ max(z, 0) − z·t + ln(1 + e^{−|z|})`, with
/// `∂L/∂z = (σ(z) − t)/(N·B)`. Stable for any finite logit.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::loss::{BceWithLogits, Loss};
/// let z = SMatrix::<f64, 1, 2>::new(1000.0, -1000.0);
/// let t = SMatrix::<f64, 1, 2>::new(1.0, 0.0);
/// assert_eq!(BceWithLogits.loss(&z, &t).unwrap(), 0.0);
/// assert!(BceWithLogits.loss(&z, &SMatrix::repeat(2.0)).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BceWithLogits;

fn check<T: Real, const N: usize, const B: usize>(t: &SMatrix<T, N, B>) -> Result<(), Error> {
    for &v in t.iter() {
        if !is_finite(v) {
            return Err(Error::NonFinite { what: "target" });
        }
        if !(v.simd_ge(T::zero()) & v.simd_le(T::one())).all() {
            return Err(Error::InvalidDataset { what: "binary targets must lie in [0, 1]" });
        }
    }
    Ok(())
}

impl<T: Real, const N: usize, const B: usize> Loss<SMatrix<T, N, B>> for BceWithLogits {
    type Target = SMatrix<T, N, B>;
    type Scalar = T;

    fn loss(&self, z: &SMatrix<T, N, B>, t: &SMatrix<T, N, B>) -> Result<T, Error> {
        check(t)?;
        let mut s = T::zero();
        for (&z, &t) in z.iter().zip(t.iter()) {
            s += z.simd_max(T::zero()) - z * t + (-z.simd_abs()).simd_exp().simd_ln_1p();
        }
        Ok(s / lit::<T>((N * B).max(1) as f64))
    }

    fn loss_grad(
        &self,
        z: &SMatrix<T, N, B>,
        t: &SMatrix<T, N, B>,
        dz: &mut SMatrix<T, N, B>,
    ) -> Result<T, Error> {
        let l = self.loss(z, t)?;
        let k = lit::<T>(1.0 / (N * B).max(1) as f64);
        for ((d, &z), &t) in dz.iter_mut().zip(z.iter()).zip(t.iter()) {
            *d = (Sigmoid.apply(z) - t) * k;
        }
        Ok(l)
    }
}
