//! Matrix product of two inputs `Y = X1·X2` with both input gradients:
//! `∂J/∂X1 = dY·X2ᵀ`, `∂J/∂X2 = X1ᵀ·dY`. The cache is the two inputs.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::ops::matmul;
//! let x1 = SMatrix::<f64, 2, 3>::from_fn(|i, j| (i + j) as f64);
//! let x2 = SMatrix::<f64, 3, 4>::from_fn(|i, j| (i * j) as f64 - 1.0);
//! let dy = SMatrix::<f64, 2, 4>::repeat(1.0);
//! let (d1, d2) = matmul::backward(&x1, &x2, &dy);
//! assert_eq!(d1, dy * x2.transpose());
//! assert_eq!(d2, x1.transpose() * dy);
//! ```

use crate::kernels;
use crate::scalar::Real;

use nalgebra::SMatrix;

/// `X1·X2`.
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f32, 1, 2>::new(1.0, 2.0);
/// let b = SMatrix::<f32, 2, 1>::new(3.0, 4.0);
/// assert_eq!(stackprop::ops::matmul::forward(&a, &b)[0], 11.0);
/// ```
#[inline]
pub fn forward<T: Real, const M: usize, const K: usize, const N: usize>(
    x1: &SMatrix<T, M, K>,
    x2: &SMatrix<T, K, N>,
) -> SMatrix<T, M, N> {
    kernels::matmul(x1, x2)
}

/// `(dY·X2ᵀ, X1ᵀ·dY)`, given the forward inputs as the cache.
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f32, 1, 2>::new(1.0, 2.0);
/// let b = SMatrix::<f32, 2, 1>::new(3.0, 4.0);
/// let (da, db) = stackprop::ops::matmul::backward(&a, &b, &SMatrix::<f32, 1, 1>::new(1.0));
/// assert_eq!((da, db), (b.transpose(), a.transpose()));
/// ```
#[inline]
pub fn backward<T: Real, const M: usize, const K: usize, const N: usize>(
    x1: &SMatrix<T, M, K>,
    x2: &SMatrix<T, K, N>,
    dy: &SMatrix<T, M, N>,
) -> (SMatrix<T, M, K>, SMatrix<T, K, N>) {
    let mut d1 = SMatrix::<T, M, K>::zeros();
    kernels::matmul_tr_acc(&mut d1, dy, x2);
    (d1, kernels::tr_matmul(x1, dy))
}
