//! Softmax cross-entropy on class indices.

use super::Loss;
use crate::error::Error;
use crate::math::exp_shifted;
use crate::scalar::{Real, lit};
use nalgebra::SMatrix;

/// Softmax cross-entropy on class indices, averaged over the batch:
/// `L = 1/B · Σ_j (logsumexp(y_j) − y_{t_j, j})`, with
/// `∂L/∂y_j = (softmax(y_j) − onehot(t_j)) / B`.
///
/// The log-sum-exp subtracts each column's maximum first, so logits of ±1000
/// give a finite loss and gradient. With 8 classes or more the exponentials
/// are [`crate::math::exp`] (for `f32` lanes a vectorizable polynomial
/// within 1 ulp), with fewer `simd_exp`. The target is one class index per
/// column; an index `≥ N` is an [`Error::LabelOutOfRange`].
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::loss::{Loss, SoftmaxCrossEntropy};
/// let y = SMatrix::<f64, 3, 1>::new(1000.0, -1000.0, 0.0);
/// let mut dy = SMatrix::zeros();
/// let l = SoftmaxCrossEntropy.loss_grad(&y, &[1], &mut dy).unwrap();
/// assert_eq!(l, 2000.0);
/// assert!(dy.iter().all(|d| d.is_finite()));
/// assert!(SoftmaxCrossEntropy.loss(&y, &[3]).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl SoftmaxCrossEntropy {
    fn check<const N: usize, const B: usize>(t: &[usize; B]) -> Result<(), Error> {
        match t.iter().position(|&c| c >= N) {
            Some(j) => Err(Error::LabelOutOfRange { sample: j, label: t[j], classes: N }),
            None => Ok(()),
        }
    }
}

/// `(max, logsumexp)` of one column.
#[inline]
fn column_lse<T: Real, const N: usize>(c: &[T]) -> (T, T) {
    let mut e = [T::zero(); N];
    let (m, s) = column_exps::<T, N>(&mut e, c);
    (m, m + s.simd_ln())
}

/// Writes `e_i = exp(c_i − max)` into `e` and returns `(max, Σe)`: the
/// shared part of the loss and its gradient.
#[inline]
fn column_exps<T: Real, const N: usize>(e: &mut [T], c: &[T]) -> (T, T) {
    // `v > m`, not `simd_max`: one compare for `f32`, where `max` also
    // sorts out NaN; a NaN logit makes the loss NaN either way.
    let mut m = c.first().copied().unwrap_or_else(T::zero);
    for &v in c {
        m = v.select(v.simd_gt(m), m);
    }
    exps::<T, N>(e, c, m);
    let mut s = T::zero();
    for &v in e.iter() {
        s += v;
    }
    (m, s)
}

/// `out[i] = exp(x[i] − m)`: [`exp_shifted`] (one vector loop over `f32`)
/// for columns of 8 classes or more; below that a scalar `simd_exp` per
/// class (libm's `expf` for `f32`), which measured faster for 3 classes
/// (16 vs 23 ns for a whole 3-class loss and gradient). Both paths depend
/// on `N` alone, so `loss` and `loss_grad` agree, and `f32` packs round
/// like single models.
#[inline]
fn exps<T: Real, const N: usize>(out: &mut [T], x: &[T], m: T) {
    if N >= 8 {
        exp_shifted(out, x, m);
    } else {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = (v - m).simd_exp();
        }
    }
}

impl<T: Real, const N: usize, const B: usize> Loss<SMatrix<T, N, B>> for SoftmaxCrossEntropy {
    type Target = [usize; B];
    type Scalar = T;

    fn loss(&self, y: &SMatrix<T, N, B>, t: &[usize; B]) -> Result<T, Error> {
        Self::check::<N, B>(t)?;
        let mut total = T::zero();
        for (c, &k) in y.as_slice().chunks_exact(N.max(1)).zip(t) {
            let (_, lse) = column_lse::<T, N>(c);
            total += lse - c[k];
        }
        Ok(total / lit::<T>(B.max(1) as f64))
    }

    fn loss_grad(
        &self,
        y: &SMatrix<T, N, B>,
        t: &[usize; B],
        dy: &mut SMatrix<T, N, B>,
    ) -> Result<T, Error> {
        Self::check::<N, B>(t)?;
        let inv_b = lit::<T>(1.0 / B.max(1) as f64);
        let mut total = T::zero();
        let cols = y.as_slice().chunks_exact(N.max(1));
        for ((c, d), &k) in cols.zip(dy.as_mut_slice().chunks_exact_mut(N.max(1))).zip(t) {
            // One exp per logit: e_i = exp(v_i − max) goes into dy first,
            // then dy_i = e_i / Σe / B.
            let (m, s) = column_exps::<T, N>(d, c);
            total += m + s.simd_ln() - c[k];
            // The target's `−1/B` in the same pass (not a second store to
            // `d[k]` that the backward pass would wait for).
            let scale = inv_b / s;
            for (i, dv) in d.iter_mut().enumerate() {
                let t = if i == k { inv_b } else { T::zero() };
                *dv = *dv * scale - t;
            }
        }
        Ok(total * inv_b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simba::simd::SimdComplexField;

    #[test]
    fn a_nan_logit_anywhere_makes_the_loss_nan() {
        for at in 0..3 {
            let mut y = SMatrix::<f32, 3, 2>::from_fn(|i, j| (i + 2 * j) as f32 * 0.7);
            y[(at, 1)] = f32::NAN;
            let mut dy = SMatrix::zeros();
            let l = SoftmaxCrossEntropy.loss_grad(&y, &[2, at], &mut dy).unwrap();
            assert!(l.is_nan(), "NaN at row {at}: loss {l}");
            assert!(SoftmaxCrossEntropy.loss(&y, &[2, at]).unwrap().is_nan());
        }
    }

    #[test]
    fn gradient_is_the_two_pass_form_bit_for_bit() {
        // dy = e·(1/B/Σe), then 1/B off the target's entry (the form
        // before the one-pass loop), for every target and a few columns.
        let y = SMatrix::<f32, 4, 3>::from_fn(|i, j| ((i * 7 + j * 3) % 5) as f32 * 0.37 - 0.6);
        for k in 0..4 {
            let t = [k, (k + 1) % 4, 3];
            let mut dy = SMatrix::zeros();
            SoftmaxCrossEntropy.loss_grad(&y, &t, &mut dy).unwrap();
            for (j, &k) in t.iter().enumerate() {
                let c = y.column(j);
                let m = c.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let e: [f32; 4] = core::array::from_fn(|i| (c[i] - m).simd_exp());
                let scale = (1.0f32 / 3.0) / e.iter().sum::<f32>();
                for i in 0..4 {
                    let want = e[i] * scale - if i == k { 1.0 / 3.0 } else { 0.0 };
                    assert_eq!(dy[(i, j)].to_bits(), want.to_bits(), "({i}, {j})");
                }
            }
        }
    }
}
