//! The forward product `Y = W·X + b·1ᵀ` (and the plain `A·B`).

use super::{COLS, Tile, VEC_BYTES, cols, column, for_tiles_of, madd};
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
/// Each output element is the bias (or 0) plus the products `W[o,i]·X[i,j]`
/// added in the order of `i`. Register-blocked: see the [module
/// docs](crate::kernels).
///
/// For one sample and at most 4 rows of `f32` (a small network's last
/// layer) with AVX-512, when `I` is a multiple of 4, the four partial sums
/// of every row share one 512-bit register, four columns a step (the same
/// bits: the 16 → 3 layer of a 4 → 16 → 3 network in 3.2 ns instead of
/// 6.8). [`affine_into`] does not take that path: it is what a training
/// pass runs right after the optimizer stored `W` in 256-bit pieces, and a
/// 512-bit load cannot be forwarded from two such stores (it waits until
/// they reach the cache: one-sample training of that network was 5 %
/// slower with it).
///
/// ```
/// use nalgebra::{SMatrix, SVector};
/// use stackprop::kernels::{affine, affine_into};
/// let w = SMatrix::<f32, 1, 2>::new(1.0, 2.0);
/// let x = SMatrix::<f32, 2, 1>::new(3.0, 4.0);
/// let y = affine(&w, &x, Some(&SVector::<f32, 1>::new(0.5)));
/// assert_eq!(y[0], 11.5);
///
/// // A 16 → 3 layer, one sample: whichever path each takes, the same bits.
/// let w = SMatrix::<f32, 3, 16>::from_fn(|r, c| (r as f32 - 1.3) * (c as f32 + 0.7).sin());
/// let x = SMatrix::<f32, 16, 1>::from_fn(|r, _| (r as f32 * 0.37).cos());
/// let b = SVector::<f32, 3>::new(0.1, -0.2, 0.3);
/// let mut y = SMatrix::<f32, 3, 1>::zeros();
/// affine_into(&w, &x, Some(&b), &mut y);
/// assert_eq!(affine(&w, &x, Some(&b)).map(f32::to_bits), y.map(f32::to_bits));
/// ```
#[inline]
pub fn affine<T: Real, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    b: Option<&SVector<T, O>>,
) -> SMatrix<T, O, B> {
    let mut y = super::zeroed::<T, O, B>();
    #[cfg(target_arch = "x86_64")]
    if super::vectors::try_few_rows(w, x, b, &mut y) {
        return y;
    }
    affine_into(w, x, b, &mut y);
    y
}

/// [`affine`] into `y`, whose old values are neither read nor kept: a
/// training pass writes each activation straight into its cache, without a
/// zeroed temporary and a copy.
///
/// ```
/// use nalgebra::{SMatrix, SVector};
/// use stackprop::kernels::{affine, affine_into};
/// let w = SMatrix::<f32, 2, 3>::from_fn(|r, c| (r + c) as f32);
/// let x = SMatrix::<f32, 3, 4>::from_fn(|r, c| r as f32 - c as f32);
/// let b = SVector::<f32, 2>::new(0.5, -1.0);
/// let mut y = SMatrix::<f32, 2, 4>::repeat(f32::NAN); // stale values
/// affine_into(&w, &x, Some(&b), &mut y);
/// assert_eq!(y, affine(&w, &x, Some(&b)));
/// ```
#[inline]
pub fn affine_into<T: Real, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    b: Option<&SVector<T, O>>,
    y: &mut SMatrix<T, O, B>,
) {
    #[cfg(target_arch = "x86_64")]
    if super::vectors::try_affine(w, x, b, y) {
        return;
    }
    if B == 1 && VEC_BYTES != 0 {
        // One sample: a matrix-vector product is a chain of I additions per
        // output; split it into P independent chains (see `Gemv`).
        let mut op = Gemv::<T, O, I> {
            y: y.as_mut_slice(),
            w: w.as_slice(),
            x: x.as_slice(),
            b: b.map(|b| b.as_slice()),
        };
        for_tiles_of::<T, _, O, 1>(&mut op, true);
        return;
    }
    let mut op = Affine::<T, O, I> {
        y: y.as_mut_slice(),
        w: w.as_slice(),
        x: x.as_slice(),
        b: b.map(|b| b.as_slice()),
    };
    // Row blocks outer: a block of W (R rows × I) is reused from cache by
    // every column block of X.
    for_tiles_of::<T, _, O, B>(&mut op, true);
}

struct Affine<'a, T, const O: usize, const I: usize> {
    y: &'a mut [T],
    w: &'a [T],
    x: &'a [T],
    b: Option<&'a [T]>,
}

/// Columns of `W` packed at a time for big layers: a block of `R × KC`
/// weights (8 KiB with AVX) is copied to a contiguous buffer and reused by
/// every column block of `X` from L1, instead of being re-read with a
/// stride of `O` (for `O = 256`, 1 KiB: only 4 of the 64 L1 sets).
const KC: usize = 128;

impl<T: Real, const O: usize, const I: usize> Tile for Affine<'_, T, O, I> {
    #[inline(always)]
    fn row_block<const R: usize, const N: usize, const NC: usize>(&mut self, r0: usize) {
        if VEC_BYTES == 0 || I <= KC || N <= COLS {
            return cols::<Self, R, N, NC>(self, r0);
        }
        let mut buf = [[T::zero(); R]; KC];
        let mut k0 = 0;
        while k0 < I {
            let kc = KC.min(I - k0);
            for (k, p) in buf.iter_mut().enumerate().take(kc) {
                let at = (k0 + k) * O + r0;
                *p = *self.w[at..at + R].first_chunk::<R>().expect("R rows");
            }
            let mut c0 = 0;
            while c0 + NC <= N {
                self.packed::<R, NC>(&buf[..kc], r0, c0, k0);
                c0 += NC;
            }
            let rem = N - c0;
            if NC > 4 && rem & 4 != 0 {
                self.packed::<R, 4>(&buf[..kc], r0, c0, k0);
                c0 += 4;
            }
            if NC > 2 && rem & 2 != 0 {
                self.packed::<R, 2>(&buf[..kc], r0, c0, k0);
                c0 += 2;
            }
            if NC > 1 && rem & 1 != 0 {
                self.packed::<R, 1>(&buf[..kc], r0, c0, k0);
            }
            k0 += kc;
        }
    }

    /// `Y[r0.., c0..] = b + W[r0.., :]·X[:, c0..]` for an `R × C` tile.
    #[inline]
    fn tile<const R: usize, const C: usize>(&mut self, r0: usize, c0: usize) {
        assert!(r0 + R <= O);
        let mut acc = [[T::zero(); R]; C];
        if let Some(b) = self.b {
            let b: &[T; R] = b[r0..r0 + R].try_into().expect("R rows");
            acc = [*b; C];
        }
        let xc: [&[T; I]; C] = core::array::from_fn(|j| column(self.x, c0 + j));
        for (k, wk) in (0..I).zip(self.w.chunks_exact(O)) {
            let wk = &wk[r0..r0 + R];
            for (a, xj) in acc.iter_mut().zip(&xc) {
                let xv = xj[k];
                for (a, &w) in a.iter_mut().zip(wk) {
                    *a = madd(w, xv, *a);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            self.y[(c0 + j) * O + r0..(c0 + j) * O + r0 + R].copy_from_slice(a);
        }
    }
}

impl<T: Real, const O: usize, const I: usize> Affine<'_, T, O, I> {
    /// Like [`Tile::tile`] for the columns `k0..k0 + w.len()` of `W`, packed
    /// in `w`: starts from the bias when `k0 = 0`, else from `Y`.
    #[inline(always)]
    fn packed<const R: usize, const C: usize>(
        &mut self,
        w: &[[T; R]],
        r0: usize,
        c0: usize,
        k0: usize,
    ) {
        let mut acc = [[T::zero(); R]; C];
        for (j, a) in acc.iter_mut().enumerate() {
            let at = (c0 + j) * O + r0;
            if k0 > 0 {
                a.copy_from_slice(&self.y[at..at + R]);
            } else if let Some(b) = self.b {
                a.copy_from_slice(&b[r0..r0 + R]);
            }
        }
        let xc: [&[T]; C] = core::array::from_fn(|j| {
            let at = (c0 + j) * I + k0;
            &self.x[at..at + w.len()]
        });
        for (k, wk) in w.iter().enumerate() {
            for (a, xj) in acc.iter_mut().zip(&xc) {
                let xv = xj[k];
                for (a, &w) in a.iter_mut().zip(wk) {
                    *a = madd(w, xv, *a);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            let at = (c0 + j) * O + r0;
            self.y[at..at + R].copy_from_slice(a);
        }
    }
}

/// Independent partial sums of a matrix-vector product.
const P: usize = 4;

/// `y = W·x + b` for one sample on SIMD targets: output `o` sums the
/// products of `k ≡ p (mod P)` in partial sum `p` (in the order of `k`;
/// `s₀` starts from `b[o]`, the others from 0), then
/// `y[o] = (s₀ + s₁) + (s₂ + s₃)`. Four independent chains of additions
/// instead of one, and the bias inside the first: a batch-1 forward pass
/// is bound by these chains' latency, not by the multiplications.
struct Gemv<'a, T, const O: usize, const I: usize> {
    y: &'a mut [T],
    w: &'a [T],
    x: &'a [T],
    b: Option<&'a [T]>,
}

impl<T: Real, const O: usize, const I: usize> Tile for Gemv<'_, T, O, I> {
    #[inline]
    fn tile<const R: usize, const C: usize>(&mut self, r0: usize, _c0: usize) {
        assert!(r0 + R <= O);
        let x: &[T; I] = column(self.x, 0);
        let mut acc = [[T::zero(); R]; P];
        if let Some(b) = self.b {
            acc[0].copy_from_slice(&b[r0..r0 + R]);
        }
        for (c, w4) in (0..I / P).zip(self.w.chunks_exact(O * P)) {
            for (p, a) in acc.iter_mut().enumerate() {
                let xv = x[c * P + p];
                for (a, &w) in a.iter_mut().zip(&w4[p * O + r0..p * O + r0 + R]) {
                    *a = madd(w, xv, *a);
                }
            }
        }
        for k in I / P * P..I {
            let wk = &self.w[k * O + r0..k * O + r0 + R];
            for (a, &w) in acc[k % P].iter_mut().zip(wk) {
                *a = madd(w, x[k], *a);
            }
        }
        let y = &mut self.y[r0..r0 + R];
        for (m, y) in y.iter_mut().enumerate() {
            *y = (acc[0][m] + acc[1][m]) + (acc[2][m] + acc[3][m]);
        }
    }
}
