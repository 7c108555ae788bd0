//! `G (+)= A·Bᵀ` (the weight gradient) over explicit vectors.

use super::*;

/// `G += A·Bᵀ` for `A: M×N`, `B: K×N`, `G: M×K`: each element adds its
/// products in the order of `n`, from its old value.
///
/// Returns whether every element written is known to be finite: each tile
/// adds the values it stores into one running sum, which is finite only if
/// they all are (an infinity or NaN survives any sum; a sum that merely
/// overflows says `false` for finite values, which costs the caller a
/// check, never a wrong answer).
#[inline]
pub(super) fn matmul_tr_acc<
    E: Elem,
    const M: usize,
    const K: usize,
    const N: usize,
    const ADD: bool,
>(
    g: &mut [E],
    a: &[E],
    b: &[E],
) -> bool {
    assert!(g.len() == M * K && a.len() == M * N && b.len() == K * N);
    if N == 1 && !ADD && M < <E::Narrow as Vector>::L && M * K >= <E::Narrow as Vector>::L {
        return rank_one_flat::<E::Narrow, M, K>(g, a, b);
    }
    if N == 1 {
        let mut op = RankOne::<E, M, K, ADD> { g, a, b, sum: E::ZERO };
        by_width!(E, M, for_tiles::<_, M, 1, MRV1, 1>(&mut op, true));
        return op.sum.is_finite();
    }
    // The shared dimension in blocks of `nb` samples, so that the block of
    // `A` the tiles read again and again stays in L1 (32 KiB of `f32` for
    // 256 rows). Blocks change when `G` is stored and reloaded, never the
    // order of the additions.
    let nb = const { samples_per_block(M) };
    let mut op = MatmulTrAcc::<E, M, K> { g, a, b, n0: 0, n1: N.min(nb), add: ADD, sum: E::ZERO };
    loop {
        by_width!(E, M, for_tiles::<_, M, K, { OUTER_TILE.0 }, { OUTER_TILE.1 }>(&mut op, false));
        if op.n1 == N {
            return op.sum.is_finite();
        }
        // Only the last block's stores are the results the sum must cover.
        (op.n0, op.n1, op.add, op.sum) = (op.n1, N.min(op.n1 + nb), true, E::ZERO);
    }
}

/// Samples per block of [`matmul_tr_acc`]'s shared dimension for `m` rows:
/// `m` × the block is 8192 values (32 KiB of `f32`), at least 32 samples
/// (below that the extra passes over `G` cost more; for `f32`, 16 took
/// twice as long as 32 for 256 × 784 × 256, 64 was 5 % slower).
const fn samples_per_block(m: usize) -> usize {
    if m >= 256 { 32 } else { 8192 / if m == 0 { 1 } else { m } }
}

/// Tiles of `G (+)= A·Bᵀ` over the samples `n0..n1`: from `G`'s old values
/// when `add`, else from zero (`G` is not read).
struct MatmulTrAcc<'a, E, const M: usize, const K: usize> {
    g: &'a mut [E],
    a: &'a [E],
    b: &'a [E],
    /// The block of samples `n0..n1` the tiles add.
    n0: usize,
    n1: usize,
    /// Whether the tiles start from `G`'s values (else from zero).
    add: bool,
    /// The sum of every value stored (see [`matmul_tr_acc`]).
    sum: E,
}

impl<E: Elem, const M: usize, const K: usize> Tile<E> for MatmulTrAcc<'_, E, M, K> {
    /// `G[r0.., c0..] += Σ_n A[r0.., n]·B[c0.., n]ᵀ`, in the order of `n`.
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    ) {
        let mut acc: [[V; RV]; C] = [[V::ZERO; RV]; C];
        if self.add {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = load_rows::<V, RV>(self.g, (c0 + j) * M + r0, last);
            }
        }
        let (a, b) = (&self.a[self.n0 * M..self.n1 * M], &self.b[self.n0 * K..self.n1 * K]);
        for (an, bn) in a.chunks_exact(M).zip(b.chunks_exact(K)) {
            let av = load_rows::<V, RV>(an, r0, last);
            for (a, &bv) in acc.iter_mut().zip(&bn[c0..c0 + C]) {
                madd_col(a, &av, bv);
            }
        }
        let mut sum = V::ZERO;
        for (j, a) in acc.iter().enumerate() {
            store_rows(self.g, (c0 + j) * M + r0, last, a);
            sum = a.iter().fold(sum, |s, &a| s.add(a));
        }
        self.sum = self.sum + sum.reduce_add();
    }
}

/// `G = a·bᵀ` for one sample when `a` has fewer rows than a vector has
/// lanes: `G`'s values in order, a whole vector at a time (lane `l` of the
/// vector at `e₀` is `a[e % M]·b[e / M]` for `e = e₀ + l`), not a column
/// at a time. A column of `M < L` values is a partial store, and the
/// optimizer's vector loads of `G` soon after span several of them, which
/// the store buffer cannot forward. Each value is `a[r]·b[k] + 0` fused,
/// as [`RankOne`] computes it. Returns whether the values are known to be
/// finite (see [`matmul_tr_acc`]).
#[inline(always)]
fn rank_one_flat<V: Vector, const M: usize, const K: usize>(
    g: &mut [V::E],
    a: &[V::E],
    b: &[V::E],
) -> bool {
    let mut sum = V::ZERO;
    for e0 in (0..M * K).step_by(V::L) {
        let n = V::L.min(M * K - e0);
        let av = V::from_fn(n, |l| a[(e0 + l) % M]);
        let bv = V::from_fn(n, |l| b[(e0 + l) / M]);
        let v = av.mul_add(bv, V::ZERO);
        v.store(g, e0, n);
        sum = sum.add(v);
    }
    sum.reduce_add().is_finite()
}

/// `G (+)= a·bᵀ` for one sample: a block of rows of `a` stays in registers
/// while `G` streams through once.
struct RankOne<'a, E, const M: usize, const K: usize, const ADD: bool> {
    g: &'a mut [E],
    a: &'a [E],
    b: &'a [E],
    /// The sum of every value stored (see [`matmul_tr_acc`]).
    sum: E,
}

impl<E: Elem, const M: usize, const K: usize, const ADD: bool> Tile<E>
    for RankOne<'_, E, M, K, ADD>
{
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        _c0: usize,
    ) {
        let av = load_rows::<V, RV>(self.a, r0, last);
        let mut sum = V::ZERO;
        for (gc, &bk) in self.g.chunks_exact_mut(M).zip(self.b) {
            let bv = V::splat(bk);
            let old = if ADD { load_rows::<V, RV>(gc, r0, last) } else { [V::ZERO; RV] };
            let mut new = old;
            for (n, &a) in new.iter_mut().zip(&av) {
                *n = a.mul_add(bv, *n);
            }
            store_rows(gc, r0, last, &new);
            sum = new.iter().fold(sum, |s, &n| s.add(n));
        }
        self.sum = self.sum + sum.reduce_add();
    }
}
