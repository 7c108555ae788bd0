//! Elementwise (Hadamard) product `Y = A ⊙ B`; `∂J/∂A = dY ⊙ B`,
//! `∂J/∂B = dY ⊙ A`. The cache is the two inputs.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::ops::mul;
//! let a = SMatrix::<f32, 1, 2>::new(2.0, 3.0);
//! let b = SMatrix::<f32, 1, 2>::new(4.0, 5.0);
//! assert_eq!(mul::forward(&a, &b), SMatrix::<f32, 1, 2>::new(8.0, 15.0));
//! let (da, db) = mul::backward(&a, &b, &SMatrix::repeat(1.0));
//! assert_eq!((da, db), (b, a));
//! ```

use crate::scalar::Real;
use nalgebra::SMatrix;

/// `A ⊙ B`.
///
/// ```
/// use nalgebra::SMatrix;
/// let y = stackprop::ops::mul::forward(&SMatrix::<f64, 1, 1>::new(4.0), &SMatrix::<f64, 1, 1>::new(-3.0));
/// assert_eq!(y[0], -12.0);
/// ```
#[inline]
pub fn forward<T: Real, const R: usize, const C: usize>(
    a: &SMatrix<T, R, C>,
    b: &SMatrix<T, R, C>,
) -> SMatrix<T, R, C> {
    a.zip_map(b, |p, q| p * q)
}

/// `(dY ⊙ B, dY ⊙ A)`, given the forward inputs `A`, `B` as the cache.
///
/// ```
/// use nalgebra::SMatrix;
/// let s = |v| SMatrix::<f64, 1, 1>::new(v);
/// let (da, db) = stackprop::ops::mul::backward(&s(4.0), &s(-3.0), &s(1.0));
/// assert_eq!((da[0], db[0]), (-3.0, 4.0));
/// ```
#[inline]
pub fn backward<T: Real, const R: usize, const C: usize>(
    a: &SMatrix<T, R, C>,
    b: &SMatrix<T, R, C>,
    dy: &SMatrix<T, R, C>,
) -> (SMatrix<T, R, C>, SMatrix<T, R, C>) {
    (dy.zip_map(b, |d, q| d * q), dy.zip_map(a, |d, p| d * p))
}
