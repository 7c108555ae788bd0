//! `Aᵀ·B` (the input gradient) over explicit vectors, from blocks of `Aᵀ`
//! transposed into a buffer.

use super::*;

/// `Z = Aᵀ·B` for `A: K×M`, `B: K×N`, `Z: M×N` (the input gradient
/// `Wᵀ·dY`) for `N > 1`: each element adds its products in the order of `k`, from zero,
/// like [`affine()`] over `Aᵀ`. A row block of the result needs the same
/// rows of `Aᵀ` (columns of `A`) for all its tiles: they are transposed
/// into a buffer of at most [`TR_BUF`] values (up to `TR_BUF / rows`
/// values of `k` at a time, the partial sums kept in `Z` between the
/// chunks), which the tiles read from L1. No transposed copy of `A` is
/// made: for a 64 × 64 `f64` layer, `A` and a copy (64 KiB) overflowed the
/// 48 KiB L1.
#[inline]
pub(super) fn tr_matmul<E: Transpose, const K: usize, const M: usize, const N: usize>(
    z: &mut [E],
    a: &[E],
    b: &[E],
) {
    assert!(z.len() == M * N && a.len() == K * M && b.len() == K * N);
    let mut op = TrMatmul::<E, K, M> { z, a, b, buf: [E::ZERO; TR_BUF], k0: 0, kc: 0 };
    by_width!(E, M, for_tiles::<_, M, N, { AFFINE_TILE.0 }, { AFFINE_TILE.1 }>(&mut op, true));
}

/// Values of the transposed block [`tr_matmul`]'s tiles read: 8 KiB of
/// `f32`, 16 KiB of `f64`.
const TR_BUF: usize = 2048;

struct TrMatmul<'a, E, const K: usize, const M: usize> {
    z: &'a mut [E],
    a: &'a [E],
    b: &'a [E],
    /// Rows `r0..` of `Aᵀ` (columns of `A`) for `k` in `k0..k0 + kc`:
    /// `buf[(k - k0)·R + r - r0]` for a row block of `R` rows.
    buf: [E; TR_BUF],
    k0: usize,
    kc: usize,
}

impl<E: Transpose, const K: usize, const M: usize> Tile<E> for TrMatmul<'_, E, K, M> {
    #[inline(always)]
    fn row_block<V: Vector<E = E>, const N: usize, const RV: usize, const NR: usize>(
        &mut self,
        r0: usize,
        last: usize,
    ) {
        let r = RV * V::L;
        let rows = r - V::L + last;
        let chunk = TR_BUF / r;
        self.k0 = 0;
        while self.k0 < K {
            self.kc = chunk.min(K - self.k0);
            E::transpose_into(&mut self.buf, r, self.a, K, r0, rows, self.k0, self.kc);
            cols::<V, Self, N, RV, NR>(self, r0, last);
            self.k0 += self.kc;
        }
    }

    /// `Z[r0.., c0..] (+)= Σ_k Aᵀ[r0.., k]·B[k, c0..]` over the chunk of
    /// `k`, from zero for the first chunk.
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    ) {
        let r = RV * V::L;
        let mut acc = [[V::ZERO; RV]; C];
        if self.k0 > 0 {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = load_rows::<V, RV>(self.z, (c0 + j) * M + r0, last);
            }
        }
        let mut bc: [&[E]; C] = [&[]; C];
        for (j, bj) in bc.iter_mut().enumerate() {
            *bj = &self.b[(c0 + j) * K + self.k0..(c0 + j) * K + self.k0 + self.kc];
        }
        for (k, wk) in self.buf.chunks_exact(r).take(self.kc).enumerate() {
            let wv = load_rows::<V, RV>(wk, 0, last);
            for (a, bj) in acc.iter_mut().zip(&bc) {
                madd_col(a, &wv, bj[k]);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            store_rows(self.z, (c0 + j) * M + r0, last, a);
        }
    }
}

/// `buf[k·stride + r] = A[k0 + k, r0 + r]` for `r < rows`, `k < kc`, with
/// `A` column-major of `lda` rows: `NB × NB` blocks through vectors of `NB`
/// lanes transposed by `tr`, the edges element by element.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn transpose_into<V: Vector, const NB: usize>(
    tr: fn([V; NB]) -> [V; NB],
    buf: &mut [V::E],
    stride: usize,
    a: &[V::E],
    lda: usize,
    r0: usize,
    rows: usize,
    k0: usize,
    kc: usize,
) {
    debug_assert!(V::L == NB);
    let (rb, kb) = (rows / NB * NB, kc / NB * NB);
    for r in (0..rb).step_by(NB) {
        for k in (0..kb).step_by(NB) {
            let mut v = [V::ZERO; NB];
            for (i, v) in v.iter_mut().enumerate() {
                *v = V::load(a, (r0 + r + i) * lda + k0 + k, NB);
            }
            for (j, t) in tr(v).into_iter().enumerate() {
                t.store(buf, (k + j) * stride + r, NB);
            }
        }
    }
    for r in 0..rows {
        let from = if r < rb { kb } else { 0 };
        for k in from..kc {
            buf[k * stride + r] = a[(r0 + r) * lda + k0 + k];
        }
    }
}
