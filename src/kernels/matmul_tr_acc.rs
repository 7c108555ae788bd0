//! The weight gradient `G += dY·Xᵀ`.

use super::{Tile, for_tiles_of, madd};
use crate::scalar::Real;
use nalgebra::SMatrix;

/// `G += A·Bᵀ` for `A: M×N`, `B: K×N`, `G: M×K` (the weight gradient
/// `dY·Xᵀ`, accumulated).
///
/// Each element adds its products `A[m,n]·B[k,n]` in the order of `n`,
/// starting from its old value. Register-blocked: see the [module
/// docs](crate::kernels).
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
    let _ = product::<T, M, K, N, true>(g, a, b);
}

/// `G = A·Bᵀ` for `A: M×N`, `B: K×N`, `G: M×K`: [`matmul_tr_acc`] into a
/// `G` whose old values are ignored (never read), bit for bit what
/// [`matmul_tr_acc`] gives from a zeroed `G`. Writing the weight gradient
/// this way saves zeroing it first and reading it back.
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i + j) as f32);
/// let b = SMatrix::<f32, 4, 3>::from_fn(|i, j| (i * j) as f32);
/// let mut g = SMatrix::<f32, 2, 4>::repeat(f32::NAN); // stale
/// stackprop::kernels::matmul_tr(&mut g, &a, &b);
/// assert_eq!(g, a * b.transpose());
/// ```
#[inline]
pub fn matmul_tr<T: Real, const M: usize, const K: usize, const N: usize>(
    g: &mut SMatrix<T, M, K>,
    a: &SMatrix<T, M, N>,
    b: &SMatrix<T, K, N>,
) {
    let _ = product::<T, M, K, N, false>(g, a, b);
}

/// [`matmul_tr`], returning whether every element of `G` is known to be
/// finite: `true` only from the `f32` kernels of x86-64, which watch the
/// values they store; `false` means "not known" (check them).
#[inline]
pub(crate) fn matmul_tr_known_finite<T: Real, const M: usize, const K: usize, const N: usize>(
    g: &mut SMatrix<T, M, K>,
    a: &SMatrix<T, M, N>,
    b: &SMatrix<T, K, N>,
) -> bool {
    product::<T, M, K, N, false>(g, a, b)
}

/// `G (+)= A·Bᵀ`: adds to `G` when `ADD`, else starts from zero without
/// reading `G`.
#[inline]
fn product<T: Real, const M: usize, const K: usize, const N: usize, const ADD: bool>(
    g: &mut SMatrix<T, M, K>,
    a: &SMatrix<T, M, N>,
    b: &SMatrix<T, K, N>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(known_finite) = super::vectors::try_matmul_tr_acc::<T, M, K, N, ADD>(g, a, b) {
        return known_finite;
    }
    let start = |g: T| if ADD { g } else { T::zero() };
    if N == 1 && M > 0 {
        // One sample: G += a·bᵀ, a rank-one update. Blocks of 8 rows of `a`
        // stay in registers while G streams through once (a tile would load
        // and store G around a single multiply-add per element). Same order
        // of additions as the tiles.
        let (a, b) = (a.as_slice(), b.as_slice());
        let full = M / 8 * 8;
        for r0 in (0..full).step_by(8) {
            let ar: [T; 8] = *a[r0..r0 + 8].first_chunk().expect("8 rows");
            for (gc, &bk) in g.as_mut_slice().chunks_exact_mut(M).zip(b) {
                for (g, &a) in gc[r0..r0 + 8].iter_mut().zip(&ar) {
                    *g = madd(a, bk, start(*g));
                }
            }
        }
        if full < M {
            for (gc, &bk) in g.as_mut_slice().chunks_exact_mut(M).zip(b) {
                for (g, &a) in gc[full..].iter_mut().zip(&a[full..]) {
                    *g = madd(a, bk, start(*g));
                }
            }
        }
        return false;
    }
    // Column blocks of G outer: the rows of B they need stay in cache while
    // the tiles walk down G's (contiguous) columns.
    let mut op =
        MatmulTrAcc::<T, M, K, N, ADD> { g: g.as_mut_slice(), a: a.as_slice(), b: b.as_slice() };
    for_tiles_of::<T, _, M, K>(&mut op, false);
    false
}

struct MatmulTrAcc<'a, T, const M: usize, const K: usize, const N: usize, const ADD: bool> {
    g: &'a mut [T],
    a: &'a [T],
    b: &'a [T],
}

impl<T: Real, const M: usize, const K: usize, const N: usize, const ADD: bool> Tile
    for MatmulTrAcc<'_, T, M, K, N, ADD>
{
    /// `G[r0.., c0..] += A[r0.., :]·B[c0.., :]ᵀ` for an `R × C` tile.
    #[inline]
    fn tile<const R: usize, const C: usize>(&mut self, r0: usize, c0: usize) {
        assert!(r0 + R <= M && c0 + C <= K);
        let mut acc = [[T::zero(); R]; C];
        if ADD {
            for (j, a) in acc.iter_mut().enumerate() {
                a.copy_from_slice(&self.g[(c0 + j) * M + r0..(c0 + j) * M + r0 + R]);
            }
        }
        let cols = self.a.chunks_exact(M).zip(self.b.chunks_exact(K));
        for (_, (an, bn)) in (0..N).zip(cols) {
            let (an, bn) = (&an[r0..r0 + R], &bn[c0..c0 + C]);
            for (a, &bv) in acc.iter_mut().zip(bn) {
                for (a, &x) in a.iter_mut().zip(an) {
                    *a = madd(x, bv, *a);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            self.g[(c0 + j) * M + r0..(c0 + j) * M + r0 + R].copy_from_slice(a);
        }
    }
}
