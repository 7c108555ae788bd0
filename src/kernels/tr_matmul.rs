//! The input gradient `Wᵀ·dY`, as blocks of dot products of columns.

use super::{DOT_LANES, Tile, VEC_BYTES, column, for_tiles};
use crate::scalar::Real;
use core::mem::size_of;
use nalgebra::SMatrix;

/// Partial sums of one dot product.
const L: usize = DOT_LANES;
/// Most elements of an `A` that is transposed into a temporary when its
/// columns are short (16 KiB of `f32`).
const SMALL: usize = 4096;

/// `Aᵀ·B` for `A: K×M`, `B: K×N` (the input gradient `Wᵀ·dY`).
///
/// Element `(m, n)` is the dot product of column `m` of `A` with column `n`
/// of `B` (both contiguous): product `k` is added into partial sum
/// `k mod L` in the order of `k`, and the `L` partial sums are added by a
/// fixed tree (`L` per target, see the [module docs](crate::kernels)). No
/// transposed copy of a big `A` is made; on SIMD targets an `A` of at most
/// 4096 elements is transposed on the stack and the outer-product kernel
/// used instead (products added in the order of `k`, as in
/// [`affine`](super::affine)): for a 64 × 64 layer that is faster than the
/// dot products' reductions, and much faster for short columns. On x86-64
/// an `f32` or `f64` `A` of more than 16 KiB is transposed a block of rows
/// of `Aᵀ` at a time (into an 8–16 KiB buffer), so that `A` and its copy
/// do not overflow L1; the order of the additions is the same.
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
    let mut z = super::zeroed::<T, M, N>();
    tr_matmul_into(a, b, &mut z);
    z
}

/// [`tr_matmul`] written over `z`, whose old values are never read: the
/// input gradient a layer's backward pass writes straight into the value
/// it returns (a product returned by value and moved there is a copy of
/// the whole gradient).
///
/// ```
/// use nalgebra::SMatrix;
/// let a = SMatrix::<f32, 3, 2>::from_fn(|i, j| (i + 2 * j) as f32);
/// let b = SMatrix::<f32, 3, 4>::from_fn(|i, j| (i * j) as f32 - 1.0);
/// let mut z = SMatrix::<f32, 2, 4>::repeat(f32::NAN); // stale values
/// stackprop::kernels::tr_matmul_into(&a, &b, &mut z);
/// assert_eq!(z, stackprop::kernels::tr_matmul(&a, &b));
/// ```
#[inline]
pub fn tr_matmul_into<T: Real, const K: usize, const M: usize, const N: usize>(
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
    z: &mut SMatrix<T, M, N>,
) {
    if VEC_BYTES != 0 && K * M <= SMALL {
        // Small A: transposing it costs less than the dot products'
        // reductions (which dominate for short columns).
        #[cfg(target_arch = "x86_64")]
        if super::vectors::try_tr_matmul(z, a, b) {
            return;
        }
        let at = SMatrix::<T, M, K>::from_fn(|m, k| a[(k, m)]);
        super::affine_into(&at, b, None, z);
        return;
    }
    let mut op = Dots::<T, K, M> { z: z.as_mut_slice(), a: a.as_slice(), b: b.as_slice() };
    // SIMD registers the partial sums of one dot product take: a tile of
    // 3 × 4 dot products when that is one (f32), fewer otherwise.
    let regs = if VEC_BYTES == 0 { 1 } else { (size_of::<T>() * L).div_ceil(VEC_BYTES) };
    match regs {
        0 | 1 => for_tiles::<_, M, N, 3, 4>(&mut op, false),
        2 => for_tiles::<_, M, N, 2, 2>(&mut op, false),
        _ => for_tiles::<_, M, N, 1, 1>(&mut op, false),
    }
}

struct Dots<'a, T, const K: usize, const M: usize> {
    z: &'a mut [T],
    a: &'a [T],
    b: &'a [T],
}

impl<T: Real, const K: usize, const M: usize> Tile for Dots<'_, T, K, M> {
    /// `Z[m0..m0+R, n0..n0+C]`: `R × C` dot products of length `K`.
    #[inline(always)]
    fn tile<const R: usize, const C: usize>(&mut self, m0: usize, n0: usize) {
        let a: [&[T; K]; R] = core::array::from_fn(|i| column(self.a, m0 + i));
        let b: [&[T; K]; C] = core::array::from_fn(|j| column(self.b, n0 + j));
        let mut acc = [[[T::zero(); L]; C]; R];
        for c in 0..K / L {
            let av: [[T; L]; R] = core::array::from_fn(|i| load(a[i], c * L));
            let bv: [[T; L]; C] = core::array::from_fn(|j| load(b[j], c * L));
            for i in 0..R {
                for j in 0..C {
                    for l in 0..L {
                        acc[i][j][l] += av[i][l] * bv[j][l];
                    }
                }
            }
        }
        let full = K / L * L;
        for k in full..K {
            for i in 0..R {
                for j in 0..C {
                    acc[i][j][k - full] += a[i][k] * b[j][k];
                }
            }
        }
        for (i, acc_i) in acc.iter_mut().enumerate() {
            for (j, p) in acc_i.iter_mut().enumerate() {
                let mut h = L / 2;
                while h > 0 {
                    for l in 0..h {
                        p[l] += p[l + h];
                    }
                    h /= 2;
                }
                self.z[(n0 + j) * M + m0 + i] = p[0];
            }
        }
    }
}

/// `L` consecutive values of `s` from `at`.
#[inline(always)]
fn load<T: Copy, const K: usize>(s: &[T; K], at: usize) -> [T; L] {
    core::array::from_fn(|l| s[at + l])
}
