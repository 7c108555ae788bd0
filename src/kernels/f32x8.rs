//! `f32` products on x86-64 over explicit 8-lane vectors ([`wide::f32x8`]),
//! with fused multiply-adds when the target has FMA.
//!
//! The generic kernels leave vectorization to the compiler, which does well
//! with AVX2 but, given AVX-512, turned some tiles into gathers and
//! scatters (w1 forward 8× slower), and can never fuse a multiply with an
//! add. These kernels spell the vectors out: a tile of `RV` vectors of
//! rows (8 rows each; the last may hold fewer) by `C` columns of the
//! result lives in registers, one multiply-add per vector per step of the
//! shared dimension. Products are added in the same order as the generic
//! kernels (see the [Rounding](super#rounding) section), so SIMD packs,
//! which go through the generic kernels with the same fusing rule, stay
//! bit-identical lane by lane.
//!
//! `wide` picks the instructions from the target features the crate is
//! compiled with (`vfmadd231ps` on ymm with AVX + FMA, separate multiply
//! and add on ymm with AVX only, pairs of SSE registers on the x86-64
//! baseline); there is no run-time dispatch.

use wide::f32x8 as V;

/// Vectors of rows in a full tile: 4 (32 rows) when AVX-512 gives 32
/// vector registers, else 2 (16 rows).
const MRV: usize = if cfg!(target_feature = "avx512f") { 4 } else { 2 };
/// Rows in a full tile.
const MR: usize = 8 * MRV;
/// Columns in a full tile: 6 with AVX (`MRV·6` accumulators plus the
/// operands fit the register file), 3 on the SSE baseline (where one
/// 8-lane vector takes two registers).
const NR: usize = if cfg!(target_feature = "avx") { 6 } else { 3 };
/// Independent partial sums of a matrix-vector product (as the generic
/// kernel's `P`).
const P: usize = 4;

/// Lanes used by vector `v` of a tile of `rv` vectors whose last vector has
/// `last` lanes.
#[inline(always)]
fn lanes(v: usize, rv: usize, last: usize) -> usize {
    if v + 1 == rv { last } else { 8 }
}

/// `n ≤ 8` values of `s` from `at` in the low lanes, zeros above.
#[inline(always)]
fn load(s: &[f32], at: usize, n: usize) -> V {
    if n == 8 {
        V::new(*s[at..at + 8].first_chunk::<8>().expect("8 lanes"))
    } else {
        let mut a = [0.0f32; 8];
        a[..n].copy_from_slice(&s[at..at + n]);
        V::new(a)
    }
}

/// Stores the low `n ≤ 8` lanes of `x` at `s[at..]`.
#[inline(always)]
fn store(s: &mut [f32], at: usize, n: usize, x: V) {
    let a = x.to_array();
    s[at..at + n].copy_from_slice(&a[..n]);
}

/// One register tile: `RV` vectors of rows at `r0` (the last with `last`
/// lanes) by `C` columns at `c0`.
trait Tile {
    fn tile<const RV: usize, const C: usize>(&mut self, r0: usize, last: usize, c0: usize);
}

/// Runs the tiles of an `M × N` result, row blocks outer (`rows_outer`) or
/// column blocks outer.
#[inline(always)]
fn for_tiles<Op: Tile, const M: usize, const N: usize>(op: &mut Op, rows_outer: bool) {
    if rows_outer {
        let mut r0 = 0;
        while r0 + MR <= M {
            cols::<Op, MRV, N>(op, r0, 8);
            r0 += MR;
        }
        rest_rows(M - r0, |rv, last| match rv {
            1 => cols::<Op, 1, N>(op, r0, last),
            2 => cols::<Op, 2, N>(op, r0, last),
            3 => cols::<Op, 3, N>(op, r0, last),
            _ => cols::<Op, 4, N>(op, r0, last),
        });
    } else {
        let mut c0 = 0;
        while c0 + NR <= N {
            rows::<Op, M, NR>(op, c0);
            c0 += NR;
        }
        match N - c0 {
            0 => {}
            1 => rows::<Op, M, 1>(op, c0),
            2 => rows::<Op, M, 2>(op, c0),
            3 => rows::<Op, M, 3>(op, c0),
            4 => rows::<Op, M, 4>(op, c0),
            _ => rows::<Op, M, 5>(op, c0),
        }
    }
}

/// Calls `f(rv, last)` for the `rem < MR` rows left after the full tiles:
/// `rv` vectors, the last with `last` lanes (nothing when `rem = 0`).
#[inline(always)]
fn rest_rows(rem: usize, f: impl FnOnce(usize, usize)) {
    if rem > 0 {
        let rv = rem.div_ceil(8);
        f(rv, rem - 8 * (rv - 1));
    }
}

/// All tiles of the row block at `r0` (`RV` vectors), across `N` columns.
#[inline(always)]
fn cols<Op: Tile, const RV: usize, const N: usize>(op: &mut Op, r0: usize, last: usize) {
    let mut c0 = 0;
    while c0 + NR <= N {
        op.tile::<RV, NR>(r0, last, c0);
        c0 += NR;
    }
    match N - c0 {
        0 => {}
        1 => op.tile::<RV, 1>(r0, last, c0),
        2 => op.tile::<RV, 2>(r0, last, c0),
        3 => op.tile::<RV, 3>(r0, last, c0),
        4 => op.tile::<RV, 4>(r0, last, c0),
        _ => op.tile::<RV, 5>(r0, last, c0),
    }
}

/// All tiles of the column block at `c0` (`C` columns), down `M` rows.
#[inline(always)]
fn rows<Op: Tile, const M: usize, const C: usize>(op: &mut Op, c0: usize) {
    let mut r0 = 0;
    while r0 + MR <= M {
        op.tile::<MRV, C>(r0, 8, c0);
        r0 += MR;
    }
    rest_rows(M - r0, |rv, last| match rv {
        1 => op.tile::<1, C>(r0, last, c0),
        2 => op.tile::<2, C>(r0, last, c0),
        3 => op.tile::<3, C>(r0, last, c0),
        _ => op.tile::<4, C>(r0, last, c0),
    });
}

/// `Y = W·X + b·1ᵀ` for `W: O×I`, `X: I×B` (column-major slices).
#[inline]
pub(super) fn affine<const O: usize, const I: usize, const B: usize>(
    y: &mut [f32],
    w: &[f32],
    x: &[f32],
    b: Option<&[f32]>,
) {
    assert!(y.len() == O * B && w.len() == O * I && x.len() == I * B);
    assert!(b.is_none_or(|b| b.len() == O));
    if B == 1 {
        let mut op = Gemv::<O, I> { y, w, x, b };
        return for_tiles::<_, O, 1>(&mut op, true);
    }
    let mut op = Affine::<O, I> { y, w, x, b };
    for_tiles::<_, O, B>(&mut op, true);
}

struct Affine<'a, const O: usize, const I: usize> {
    y: &'a mut [f32],
    w: &'a [f32],
    x: &'a [f32],
    b: Option<&'a [f32]>,
}

impl<const O: usize, const I: usize> Tile for Affine<'_, O, I> {
    /// `Y[r0.., c0..] = b + Σ_k W[r0.., k]·X[k, c0..]`, in the order of `k`.
    #[inline(always)]
    fn tile<const RV: usize, const C: usize>(&mut self, r0: usize, last: usize, c0: usize) {
        let rows = 8 * (RV - 1) + last;
        let mut acc = [[V::ZERO; RV]; C];
        if let Some(b) = self.b {
            let b = &b[r0..r0 + rows];
            let bv: [V; RV] = core::array::from_fn(|v| load(b, 8 * v, lanes(v, RV, last)));
            acc = [bv; C];
        }
        let xc: [&[f32; I]; C] = core::array::from_fn(|j| {
            self.x[(c0 + j) * I..(c0 + j + 1) * I].try_into().expect("I rows")
        });
        for (k, wk) in (0..I).zip(self.w.chunks_exact(O)) {
            let wk = &wk[r0..r0 + rows];
            let wv: [V; RV] = core::array::from_fn(|v| load(wk, 8 * v, lanes(v, RV, last)));
            for (a, xj) in acc.iter_mut().zip(&xc) {
                let xv = V::splat(xj[k]);
                for (a, &w) in a.iter_mut().zip(&wv) {
                    *a = w.mul_add(xv, *a);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            let col = &mut self.y[(c0 + j) * O + r0..(c0 + j) * O + r0 + rows];
            for (v, &a) in a.iter().enumerate() {
                store(col, 8 * v, lanes(v, RV, last), a);
            }
        }
    }
}

/// `y = W·x + b` for one sample: row `o` sums `k ≡ p (mod P)` in partial
/// sum `p` (`s₀` starting from `b[o]`), then `y[o] = (s₀ + s₁) + (s₂ + s₃)`,
/// as the generic kernel does.
struct Gemv<'a, const O: usize, const I: usize> {
    y: &'a mut [f32],
    w: &'a [f32],
    x: &'a [f32],
    b: Option<&'a [f32]>,
}

impl<const O: usize, const I: usize> Tile for Gemv<'_, O, I> {
    #[inline(always)]
    fn tile<const RV: usize, const C: usize>(&mut self, r0: usize, last: usize, _c0: usize) {
        let rows = 8 * (RV - 1) + last;
        let x: &[f32; I] = self.x.try_into().expect("I rows");
        let mut acc = [[V::ZERO; RV]; P];
        if let Some(b) = self.b {
            let b = &b[r0..r0 + rows];
            acc[0] = core::array::from_fn(|v| load(b, 8 * v, lanes(v, RV, last)));
        }
        for (c, w4) in (0..I / P).zip(self.w.chunks_exact(O * P)) {
            for (p, a) in acc.iter_mut().enumerate() {
                let xv = V::splat(x[c * P + p]);
                let wk = &w4[p * O + r0..p * O + r0 + rows];
                for (v, a) in a.iter_mut().enumerate() {
                    *a = load(wk, 8 * v, lanes(v, RV, last)).mul_add(xv, *a);
                }
            }
        }
        for (k, &xk) in x.iter().enumerate().skip(I / P * P) {
            let wk = &self.w[k * O + r0..k * O + r0 + rows];
            let xv = V::splat(xk);
            for (v, a) in acc[k % P].iter_mut().enumerate() {
                *a = load(wk, 8 * v, lanes(v, RV, last)).mul_add(xv, *a);
            }
        }
        let y = &mut self.y[r0..r0 + rows];
        let [a0, a1, a2, a3] = &acc;
        for (v, (((&s0, &s1), &s2), &s3)) in a0.iter().zip(a1).zip(a2).zip(a3).enumerate() {
            let n = lanes(v, RV, last);
            store(y, 8 * v, n, (s0 + s1) + (s2 + s3));
        }
    }
}

/// `G += A·Bᵀ` for `A: M×N`, `B: K×N`, `G: M×K`: each element adds its
/// products in the order of `n`, from its old value.
#[inline]
pub(super) fn matmul_tr_acc<const M: usize, const K: usize, const N: usize, const ADD: bool>(
    g: &mut [f32],
    a: &[f32],
    b: &[f32],
) {
    assert!(g.len() == M * K && a.len() == M * N && b.len() == K * N);
    if N == 1 {
        let mut op = RankOne::<M, K, ADD> { g, a, b };
        return for_tiles::<_, M, 1>(&mut op, true);
    }
    let mut op = MatmulTrAcc::<M, K, N, ADD> { g, a, b };
    for_tiles::<_, M, K>(&mut op, false);
}

/// Tiles of `G (+)= A·Bᵀ`: from `G`'s old values when `ADD`, else from zero
/// (`G` is not read).
struct MatmulTrAcc<'a, const M: usize, const K: usize, const N: usize, const ADD: bool> {
    g: &'a mut [f32],
    a: &'a [f32],
    b: &'a [f32],
}

impl<const M: usize, const K: usize, const N: usize, const ADD: bool> Tile
    for MatmulTrAcc<'_, M, K, N, ADD>
{
    /// `G[r0.., c0..] += Σ_n A[r0.., n]·B[c0.., n]ᵀ`, in the order of `n`.
    #[inline(always)]
    fn tile<const RV: usize, const C: usize>(&mut self, r0: usize, last: usize, c0: usize) {
        let rows = 8 * (RV - 1) + last;
        let mut acc: [[V; RV]; C] = [[V::ZERO; RV]; C];
        if ADD {
            acc = core::array::from_fn(|j| {
                let col = &self.g[(c0 + j) * M + r0..(c0 + j) * M + r0 + rows];
                core::array::from_fn(|v| load(col, 8 * v, lanes(v, RV, last)))
            });
        }
        for (_, (an, bn)) in (0..N).zip(self.a.chunks_exact(M).zip(self.b.chunks_exact(K))) {
            let (an, bn) = (&an[r0..r0 + rows], &bn[c0..c0 + C]);
            let av: [V; RV] = core::array::from_fn(|v| load(an, 8 * v, lanes(v, RV, last)));
            for (a, &bv) in acc.iter_mut().zip(bn) {
                let bv = V::splat(bv);
                for (a, &x) in a.iter_mut().zip(&av) {
                    *a = x.mul_add(bv, *a);
                }
            }
        }
        for (j, a) in acc.iter().enumerate() {
            let col = &mut self.g[(c0 + j) * M + r0..(c0 + j) * M + r0 + rows];
            for (v, &a) in a.iter().enumerate() {
                store(col, 8 * v, lanes(v, RV, last), a);
            }
        }
    }
}

/// `G (+)= a·bᵀ` for one sample: a block of rows of `a` stays in registers
/// while `G` streams through once.
struct RankOne<'a, const M: usize, const K: usize, const ADD: bool> {
    g: &'a mut [f32],
    a: &'a [f32],
    b: &'a [f32],
}

impl<const M: usize, const K: usize, const ADD: bool> Tile for RankOne<'_, M, K, ADD> {
    #[inline(always)]
    fn tile<const RV: usize, const C: usize>(&mut self, r0: usize, last: usize, _c0: usize) {
        let rows = 8 * (RV - 1) + last;
        let a = &self.a[r0..r0 + rows];
        let av: [V; RV] = core::array::from_fn(|v| load(a, 8 * v, lanes(v, RV, last)));
        for (gc, &bk) in self.g.chunks_exact_mut(M).zip(self.b) {
            let gc = &mut gc[r0..r0 + rows];
            let bv = V::splat(bk);
            for (v, &a) in av.iter().enumerate() {
                let n = lanes(v, RV, last);
                let old = if ADD { load(gc, 8 * v, n) } else { V::ZERO };
                store(gc, 8 * v, n, a.mul_add(bv, old));
            }
        }
    }
}

/// `Aᵀ` of `A: K×M` into `at: M×K` (column-major), in 8 × 8 blocks.
#[inline]
pub(super) fn transpose<const K: usize, const M: usize>(at: &mut [f32], a: &[f32]) {
    assert!(at.len() == K * M && a.len() == K * M);
    let (k8, m8) = (K / 8 * 8, M / 8 * 8);
    for m0 in (0..m8).step_by(8) {
        for k0 in (0..k8).step_by(8) {
            let rows: [V; 8] = core::array::from_fn(|i| load(a, (m0 + i) * K + k0, 8));
            for (j, r) in V::transpose(rows).into_iter().enumerate() {
                store(at, (k0 + j) * M + m0, 8, r);
            }
        }
    }
    for m in 0..M {
        let from = if m < m8 { k8 } else { 0 };
        for k in from..K {
            at[k * M + m] = a[m * K + k];
        }
    }
}
