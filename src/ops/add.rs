//! Elementwise addition `Y = A + B`; both input gradients are `dY`.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::ops::add;
//! let a = SMatrix::<f32, 2, 2>::repeat(1.0);
//! let y = add::forward(&a, &a);
//! let (da, db) = add::backward(&y);
//! assert_eq!((y[0], da[0], db[0]), (2.0, 2.0, 2.0));
//! ```

use crate::scalar::Real;
use nalgebra::SMatrix;

/// `A + B`.
///
/// ```
/// use nalgebra::SMatrix;
/// let y = stackprop::ops::add::forward(&SMatrix::<f64, 1, 2>::new(1.0, 2.0), &SMatrix::repeat(1.0));
/// assert_eq!(y, SMatrix::<f64, 1, 2>::new(2.0, 3.0));
/// ```
#[inline]
pub fn forward<T: Real, const R: usize, const C: usize>(
    a: &SMatrix<T, R, C>,
    b: &SMatrix<T, R, C>,
) -> SMatrix<T, R, C> {
    a.zip_map(b, |p, q| p + q)
}

/// `(∂J/∂A, ∂J/∂B) = (dY, dY)`. Addition needs no cache.
///
/// ```
/// use nalgebra::SMatrix;
/// let (da, db) = stackprop::ops::add::backward(&SMatrix::<f32, 1, 1>::new(2.0));
/// assert_eq!((da[0], db[0]), (2.0, 2.0));
/// ```
#[inline]
pub fn backward<T: Real, const R: usize, const C: usize>(
    dy: &SMatrix<T, R, C>,
) -> (SMatrix<T, R, C>, SMatrix<T, R, C>) {
    (*dy, *dy)
}
