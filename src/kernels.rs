//! Matrix products for static shapes, the inner loops of every layer.
//!
//! All matrices are nalgebra column-major `SMatrix`; one column is one
//! sample. These are the three products of a dense layer:
//!
//! * [`affine`]: `Y = W·X + b·1ᵀ` (forward),
//! * [`tr_matmul`]: `Wᵀ·dY` (input gradient),
//! * [`matmul_tr_acc`]: `G += dY·Xᵀ` (weight gradient, accumulated),
//!
//! plus the general [`matmul`] and [`row_sums_acc`] (bias gradient).
//! They loop over contiguous columns so the compiler can vectorize the
//! innermost loop; nothing allocates.
//!
//! ```
//! use nalgebra::{SMatrix, SVector};
//! use stackprop::kernels;
//! let w = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i * 3 + j) as f32);
//! let x = SMatrix::<f32, 3, 4>::from_fn(|i, j| (i + j) as f32);
//! let b = SVector::<f32, 2>::new(1.0, -1.0);
//! let y = kernels::affine(&w, &x, Some(&b));
//! let mut expect = w * x;
//! for mut c in expect.column_iter_mut() { c += b; }
//! assert_eq!(y, expect);
//! ```

use crate::scalar::Real;
use nalgebra::{SMatrix, SVector};

/// `A·B` for `A: M×K`, `B: K×N`.
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
/// let b = SMatrix::<f64, 2, 1>::new(5.0, 6.0);
/// assert_eq!(stackprop::kernels::matmul(&a, &b), a * b);
/// ```
#[inline]
pub fn matmul<T: Real, const M: usize, const K: usize, const N: usize>(
    a: &SMatrix<T, M, K>,
    b: &SMatrix<T, K, N>,
) -> SMatrix<T, M, N> {
    affine(a, b, None)
}

/// `W·X + b·1ᵀ` for `W: O×I`, `X: I×B`, `b: O` (no bias when `None`).
///
/// ```
/// use nalgebra::{SMatrix, SVector};
/// let w = SMatrix::<f32, 1, 2>::new(1.0, 2.0);
/// let x = SMatrix::<f32, 2, 1>::new(3.0, 4.0);
/// let y = stackprop::kernels::affine(&w, &x, Some(&SVector::<f32, 1>::new(0.5)));
/// assert_eq!(y[0], 11.5);
/// ```
#[inline]
pub fn affine<T: Real, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    b: Option<&SVector<T, O>>,
) -> SMatrix<T, O, B> {
    let mut y = SMatrix::<T, O, B>::from_element(T::zero());
    let ws = w.as_slice();
    for (yc, xc) in
        y.as_mut_slice().chunks_exact_mut(O.max(1)).zip(x.as_slice().chunks_exact(I.max(1)))
    {
        if let Some(b) = b {
            yc.copy_from_slice(b.as_slice());
        }
        for (wc, &xk) in ws.chunks_exact(O.max(1)).zip(xc) {
            for (yo, &wo) in yc.iter_mut().zip(wc) {
                *yo += wo * xk;
            }
        }
    }
    y
}

/// `Aᵀ·B` for `A: K×M`, `B: K×N` (the input gradient `Wᵀ·dY`).
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f64, 2, 3>::from_fn(|i, j| (i + 2 * j) as f64);
/// let b = SMatrix::<f64, 2, 2>::from_fn(|i, j| (i * j) as f64 + 1.0);
/// assert_eq!(stackprop::kernels::tr_matmul(&a, &b), a.transpose() * b);
/// ```
#[inline]
pub fn tr_matmul<T: Real, const K: usize, const M: usize, const N: usize>(
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
) -> SMatrix<T, M, N> {
    let mut y = SMatrix::<T, M, N>::from_element(T::zero());
    let a_s = a.as_slice();
    for (yc, bc) in
        y.as_mut_slice().chunks_exact_mut(M.max(1)).zip(b.as_slice().chunks_exact(K.max(1)))
    {
        for (ym, ac) in yc.iter_mut().zip(a_s.chunks_exact(K.max(1))) {
            let mut s = T::zero();
            for (&p, &q) in ac.iter().zip(bc) {
                s += p * q;
            }
            *ym = s;
        }
    }
    y
}

/// `G += A·Bᵀ` for `A: M×N`, `B: K×N`, `G: M×K` (the weight gradient
/// `dY·Xᵀ`, accumulated).
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i + j) as f32);
/// let b = SMatrix::<f32, 4, 3>::from_fn(|i, j| (i * j) as f32);
/// let mut g = SMatrix::<f32, 2, 4>::repeat(1.0);
/// stackprop::kernels::matmul_tr_acc(&mut g, &a, &b);
/// assert_eq!(g, SMatrix::repeat(1.0) + a * b.transpose());
/// ```
#[inline]
pub fn matmul_tr_acc<T: Real, const M: usize, const K: usize, const N: usize>(
    g: &mut SMatrix<T, M, K>,
    a: &SMatrix<T, M, N>,
    b: &SMatrix<T, K, N>,
) {
    // G[:, k] += Σ_n A[:, n] · B[k, n]
    let a_s = a.as_slice();
    let b_s = b.as_slice();
    for (k, gc) in g.as_mut_slice().chunks_exact_mut(M.max(1)).enumerate() {
        for (n, ac) in a_s.chunks_exact(M.max(1)).enumerate() {
            let bkn = b_s[n * K + k];
            for (gm, &am) in gc.iter_mut().zip(ac) {
                *gm += am * bkn;
            }
        }
    }
}

/// `v += A·1` (the row sums of `A: M×N`, the bias gradient), accumulated.
///
/// ```
/// use nalgebra::{SMatrix, SVector};
/// let a = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i * 3 + j) as f32);
/// let mut v = SVector::<f32, 2>::zeros();
/// stackprop::kernels::row_sums_acc(&mut v, &a);
/// assert_eq!(v, SVector::<f32, 2>::new(3.0, 12.0));
/// ```
#[inline]
pub fn row_sums_acc<T: Real, const M: usize, const N: usize>(
    v: &mut SVector<T, M>,
    a: &SMatrix<T, M, N>,
) {
    for ac in a.as_slice().chunks_exact(M.max(1)) {
        for (vm, &x) in v.iter_mut().zip(ac) {
            *vm += x;
        }
    }
}
