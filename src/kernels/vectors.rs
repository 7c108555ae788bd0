//! `f32` and `f64` products on x86-64 over explicit vectors
//! ([`wide::f32x16`] / [`wide::f64x8`] when the target has AVX-512, else
//! [`wide::f32x8`] / [`wide::f64x4`]), with fused multiply-adds when the
//! target has FMA.
//!
//! The generic kernels leave vectorization to the compiler, which does well
//! with AVX2 but, given AVX-512, turned some tiles into gathers and
//! scatters (w1 forward 8× slower), and can never fuse a multiply with an
//! add. These kernels spell the vectors out: a tile of `RV` vectors of
//! rows (`L` rows each; the last may hold fewer) by `C` columns of the
//! result lives in registers, one multiply-add per vector per step of the
//! shared dimension. Products are added in the same order as the generic
//! kernels (see the [Rounding](super#rounding) section), whatever the
//! vector width, so SIMD packs, which go through the generic kernels with
//! the same fusing rule, stay bit-identical lane by lane.
//!
//! `wide` picks the instructions from the target features the crate is
//! compiled with (`vfmadd231ps` on zmm with AVX-512, on ymm with AVX +
//! FMA, separate multiply and add with AVX only, pairs of SSE registers on
//! the x86-64 baseline); there is no run-time dispatch. 512-bit vectors
//! pay where the core has two 512-bit FMA units (twice the 256-bit
//! throughput on the Xeon this was measured on) and cost nothing where it
//! splits them in halves (Zen 4).

use crate::scalar::Real;
use core::any::Any;
use core::mem::size_of;
use nalgebra::{SMatrix, SVector};

/// Register tiles (vectors of rows, columns) of the products with many
/// samples; each holds `MRV·NR` accumulators. With AVX-512 (32 registers):
/// 2 × 12 for `W·X` and 4 × 6 for `A·Bᵀ` (measured best on a Xeon: each was
/// 10–15 % slower with the other's shape). With AVX (16 registers): 2 × 6.
/// On the SSE baseline, where one 8-lane vector takes two registers: 2 × 3.
const AFFINE_TILE: (usize, usize) = if cfg!(target_feature = "avx512f") {
    (2, 12)
} else if cfg!(target_feature = "avx") {
    (2, 6)
} else {
    (2, 3)
};
/// See [`AFFINE_TILE`].
const OUTER_TILE: (usize, usize) =
    if cfg!(target_feature = "avx512f") { (4, 6) } else { AFFINE_TILE };
// `rest_cols!` and `rest_rows!` have arms for up to 11 columns and 4
// vectors left over.
const _: () = assert!(AFFINE_TILE.1 <= 12 && OUTER_TILE.1 <= 12);
const _: () = assert!(AFFINE_TILE.0 <= 4 && OUTER_TILE.0 <= 4 && MRV1 <= 4);

/// Vectors of rows of a matrix-vector product's tile (times `P` partial
/// sums) and of a rank-one update's.
const MRV1: usize = 2;
/// Independent partial sums of a matrix-vector product (as the generic
/// kernel's `P`).
const P: usize = 4;

/// An element type these kernels compute in: `f32` or `f64`.
pub(super) trait Elem: Copy + PartialEq + core::ops::Add<Output = Self> + 'static {
    /// The narrower vector: 8 lanes of `f32`, 4 of `f64` (256 bits).
    type Narrow: Vector<E = Self>;
    /// The wider vector (512 bits) with AVX-512, else [`Elem::Narrow`].
    type Wide: Vector<E = Self>;
    const ZERO: Self;
    fn is_finite(self) -> bool;
    /// [`transpose_into`] with this type's square blocks.
    #[allow(clippy::too_many_arguments)]
    fn transpose_into(
        buf: &mut [Self],
        stride: usize,
        a: &[Self],
        lda: usize,
        r0: usize,
        rows: usize,
        k0: usize,
        kc: usize,
    );
}

impl Elem for f32 {
    type Narrow = wide::f32x8;
    #[cfg(target_feature = "avx512f")]
    type Wide = wide::f32x16;
    #[cfg(not(target_feature = "avx512f"))]
    type Wide = wide::f32x8;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline(always)]
    fn transpose_into(
        buf: &mut [f32],
        stride: usize,
        a: &[f32],
        lda: usize,
        r0: usize,
        rows: usize,
        k0: usize,
        kc: usize,
    ) {
        let tr = wide::f32x8::transpose;
        transpose_into::<wide::f32x8, 8>(tr, buf, stride, a, lda, r0, rows, k0, kc);
    }
}

impl Elem for f64 {
    type Narrow = wide::f64x4;
    #[cfg(target_feature = "avx512f")]
    type Wide = wide::f64x8;
    #[cfg(not(target_feature = "avx512f"))]
    type Wide = wide::f64x4;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline(always)]
    fn transpose_into(
        buf: &mut [f64],
        stride: usize,
        a: &[f64],
        lda: usize,
        r0: usize,
        rows: usize,
        k0: usize,
        kc: usize,
    ) {
        let tr = wide::f64x4::transpose;
        transpose_into::<wide::f64x4, 4>(tr, buf, stride, a, lda, r0, rows, k0, kc);
    }
}

/// A vector of `L` lanes of [`Vector::E`].
pub(super) trait Vector: Copy {
    /// The element type of a lane.
    type E: Elem;
    /// Lanes.
    const L: usize;
    const ZERO: Self;
    fn splat(x: Self::E) -> Self;
    /// `n ≤ L` values of `s` from `at` in the low lanes, zeros above.
    fn load(s: &[Self::E], at: usize, n: usize) -> Self;
    /// Stores the low `n ≤ L` lanes at `s[at..]`.
    fn store(self, s: &mut [Self::E], at: usize, n: usize);
    /// `self·a + b`, fused when the target has FMA.
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn add(self, b: Self) -> Self;
    /// The sum of the lanes.
    fn reduce_add(self) -> Self::E;
}

macro_rules! vector {
    ($v:ty, $e:ty, $l:literal) => {
        impl Vector for $v {
            type E = $e;
            const L: usize = $l;
            const ZERO: Self = <$v>::ZERO;
            #[inline(always)]
            fn splat(x: $e) -> Self {
                <$v>::splat(x)
            }
            #[inline(always)]
            fn load(s: &[$e], at: usize, n: usize) -> Self {
                if n == $l {
                    <$v>::new(*s[at..at + $l].first_chunk::<$l>().expect("L lanes"))
                } else {
                    let mut a = [0.0; $l];
                    a[..n].copy_from_slice(&s[at..at + n]);
                    <$v>::new(a)
                }
            }
            #[inline(always)]
            fn store(self, s: &mut [$e], at: usize, n: usize) {
                let a = self.to_array();
                s[at..at + n].copy_from_slice(&a[..n]);
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$v>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn add(self, b: Self) -> Self {
                self + b
            }
            #[inline(always)]
            fn reduce_add(self) -> $e {
                <$v>::reduce_add(self)
            }
        }
    };
}
vector!(wide::f32x8, f32, 8);
vector!(wide::f64x4, f64, 4);
#[cfg(target_feature = "avx512f")]
vector!(wide::f32x16, f32, 16);
#[cfg(target_feature = "avx512f")]
vector!(wide::f64x8, f64, 8);

/// Runs `f::<V>()` with the widest vector of `E` that suits `m` rows:
/// [`Elem::Wide`] (AVX-512) when it makes a full 2-vector tile (`m ≥ 32`
/// for `f32`, `m ≥ 16` for `f64`), else [`Elem::Narrow`] (with 16 lanes of
/// `f32`, the 16- and 3-row layers of a 4 → 16 → 3 network were slower).
macro_rules! by_width {
    ($e:ty, $m:expr, $f:ident::<$($g:tt),*>($($arg:expr),*)) => {{
        let wide = <<$e as Elem>::Wide as Vector>::L;
        if wide > <<$e as Elem>::Narrow as Vector>::L && $m >= 2 * wide {
            $f::<<$e as Elem>::Wide, $($g),*>($($arg),*)
        } else {
            $f::<<$e as Elem>::Narrow, $($g),*>($($arg),*)
        }
    }};
}

/// Lanes used by vector `v` of a tile of `rv` vectors whose last vector has
/// `last` lanes.
#[inline(always)]
fn lanes<V: Vector>(v: usize, rv: usize, last: usize) -> usize {
    if v + 1 == rv { last } else { V::L }
}

/// Runs `$f` with the const `$c` set to the value of `$v` (a constant
/// expression, so only the arm taken is compiled): one arm per listed
/// value, `$last` for any other, nothing for 0.
macro_rules! match_const {
    ($v:expr, |$c:ident| $f:expr, [$($n:literal),*], $last:literal) => {
        match $v {
            0 => {}
            $($n => {
                const $c: usize = $n;
                $f
            })*
            _ => {
                const $c: usize = $last;
                $f
            }
        }
    };
}

/// Runs `$f` with the const `$rv` set to the vectors and `$last` to the
/// lanes of the last vector for the `M mod (MRV·L)` rows left after the
/// full tiles (nothing when there are none).
macro_rules! rest_rows {
    ($v:ty, $m:expr, $mrv:expr, |$rv:ident, $last:ident| $f:expr) => {{
        let rem = $m % ($mrv * <$v>::L);
        let $last = rem - (rem.max(1) - 1) / <$v>::L * <$v>::L;
        match_const!(const { ($m % ($mrv * <$v>::L)).div_ceil(<$v>::L) }, |$rv| $f, [1, 2, 3], 4)
    }};
}

/// Runs `$f` with the const `$c` set to the `rem < NR` columns left after
/// the full tiles (nothing when `rem = 0`).
macro_rules! rest_cols {
    ($rem:expr, |$c:ident| $f:expr) => {
        match_const!($rem, |$c| $f, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 11)
    };
}

/// One register tile: `RV` vectors of rows at `r0` (the last with `last`
/// lanes) by `C` columns at `c0`.
trait Tile<E: Elem> {
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    );

    /// All tiles of the row block at `r0` (rows-outer order only); a
    /// kernel may override it to prepare the block once for its tiles.
    #[inline(always)]
    fn row_block<V: Vector<E = E>, const N: usize, const RV: usize, const NR: usize>(
        &mut self,
        r0: usize,
        last: usize,
    ) where
        Self: Sized,
    {
        cols::<V, Self, N, RV, NR>(self, r0, last);
    }
}

/// Runs the tiles (`MRV` vectors of rows by `NR` columns) of an `M × N`
/// result, row blocks outer (`rows_outer`) or column blocks outer.
#[inline(always)]
fn for_tiles<V, Op, const M: usize, const N: usize, const MRV: usize, const NR: usize>(
    op: &mut Op,
    rows_outer: bool,
) where
    V: Vector,
    Op: Tile<V::E>,
{
    if rows_outer {
        let mut r0 = 0;
        while r0 + MRV * V::L <= M {
            op.row_block::<V, N, MRV, NR>(r0, V::L);
            r0 += MRV * V::L;
        }
        rest_rows!(V, M, MRV, |RV, last| op.row_block::<V, N, RV, NR>(r0, last));
    } else {
        let mut c0 = 0;
        while c0 + NR <= N {
            rows::<V, Op, M, NR, MRV>(op, c0);
            c0 += NR;
        }
        rest_cols!(const { N % NR }, |C| rows::<V, Op, M, C, MRV>(op, c0));
    }
}

/// All tiles of the row block at `r0` (`RV` vectors), across `N` columns.
#[inline(always)]
fn cols<V, Op, const N: usize, const RV: usize, const NR: usize>(
    op: &mut Op,
    r0: usize,
    last: usize,
) where
    V: Vector,
    Op: Tile<V::E>,
{
    let mut c0 = 0;
    while c0 + NR <= N {
        op.tile::<V, RV, NR>(r0, last, c0);
        c0 += NR;
    }
    rest_cols!(const { N % NR }, |C| op.tile::<V, RV, C>(r0, last, c0));
}

/// All tiles of the column block at `c0` (`C` columns), down `M` rows.
#[inline(always)]
fn rows<V, Op, const M: usize, const C: usize, const MRV: usize>(op: &mut Op, c0: usize)
where
    V: Vector,
    Op: Tile<V::E>,
{
    let mut r0 = 0;
    while r0 + MRV * V::L <= M {
        op.tile::<V, MRV, C>(r0, V::L, c0);
        r0 += MRV * V::L;
    }
    rest_rows!(V, M, MRV, |RV, last| op.tile::<V, RV, C>(r0, last, c0));
}

/// `acc += w·x` for one column of a tile: one multiply-add per vector.
#[inline(always)]
fn madd_col<V: Vector, const RV: usize>(acc: &mut [V; RV], w: &[V; RV], x: V::E) {
    let xv = V::splat(x);
    for (a, &w) in acc.iter_mut().zip(w) {
        *a = w.mul_add(xv, *a);
    }
}

/// `RV` vectors from `s[at..]`, the last with `last` lanes.
#[inline(always)]
fn load_rows<V: Vector, const RV: usize>(s: &[V::E], at: usize, last: usize) -> [V; RV] {
    core::array::from_fn(|v| V::load(s, at + V::L * v, lanes::<V>(v, RV, last)))
}

/// Stores the `RV` vectors of `x` at `s[at..]`, the last with `last` lanes.
#[inline(always)]
fn store_rows<V: Vector, const RV: usize>(s: &mut [V::E], at: usize, last: usize, x: &[V; RV]) {
    for (v, &x) in x.iter().enumerate() {
        x.store(s, at + V::L * v, lanes::<V>(v, RV, last));
    }
}

/// `Y = W·X + b·1ᵀ` for `W: O×I`, `X: I×B` (column-major slices).
#[inline]
pub(super) fn affine<E: Elem, const O: usize, const I: usize, const B: usize>(
    y: &mut [E],
    w: &[E],
    x: &[E],
    b: Option<&[E]>,
) {
    assert!(y.len() == O * B && w.len() == O * I && x.len() == I * B);
    assert!(b.is_none_or(|b| b.len() == O));
    if B == 1 {
        let mut op = Gemv::<E, O, I> { y, w, x, b };
        return by_width!(E, O, for_tiles::<_, O, 1, MRV1, 1>(&mut op, true));
    }
    let mut op = Affine::<E, O, I> { y, w, x, b };
    by_width!(E, O, for_tiles::<_, O, B, { AFFINE_TILE.0 }, { AFFINE_TILE.1 }>(&mut op, true))
}

struct Affine<'a, E, const O: usize, const I: usize> {
    y: &'a mut [E],
    w: &'a [E],
    x: &'a [E],
    b: Option<&'a [E]>,
}

impl<E: Elem, const O: usize, const I: usize> Tile<E> for Affine<'_, E, O, I> {
    /// `Y[r0.., c0..] = b + Σ_k W[r0.., k]·X[k, c0..]`, in the order of `k`.
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    ) {
        let mut acc = [[V::ZERO; RV]; C];
        if let Some(b) = self.b {
            acc = [load_rows::<V, RV>(b, r0, last); C];
        }
        let xc: [&[E; I]; C] = core::array::from_fn(|j| {
            self.x[(c0 + j) * I..(c0 + j + 1) * I].try_into().expect("I rows")
        });
        let step = |acc: &mut [[V; RV]; C], k: usize, wk: &[E]| {
            let wv = load_rows::<V, RV>(wk, r0, last);
            for (a, xj) in acc.iter_mut().zip(&xc) {
                madd_col(a, &wv, xj[k]);
            }
        };
        // Two steps of `k` per iteration (the loop's own instructions were
        // a tenth of the body); each element still adds in the order of `k`.
        let mut pairs = self.w.chunks_exact(2 * O);
        for (k, w2) in (0..I / 2).map(|k| 2 * k).zip(&mut pairs) {
            step(&mut acc, k, &w2[..O]);
            step(&mut acc, k + 1, &w2[O..]);
        }
        if I % 2 == 1 {
            step(&mut acc, I - 1, pairs.remainder());
        }
        for (j, a) in acc.iter().enumerate() {
            store_rows(self.y, (c0 + j) * O + r0, last, a);
        }
    }
}

/// `y = W·x + b` for one sample: row `o` sums `k ≡ p (mod P)` in partial
/// sum `p` (`s₀` starting from `b[o]`), then `y[o] = (s₀ + s₁) + (s₂ + s₃)`,
/// as the generic kernel does.
struct Gemv<'a, E, const O: usize, const I: usize> {
    y: &'a mut [E],
    w: &'a [E],
    x: &'a [E],
    b: Option<&'a [E]>,
}

impl<E: Elem, const O: usize, const I: usize> Tile<E> for Gemv<'_, E, O, I> {
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        _c0: usize,
    ) {
        let x: &[E; I] = self.x.try_into().expect("I rows");
        let mut acc = [[V::ZERO; RV]; P];
        if let Some(b) = self.b {
            acc[0] = load_rows::<V, RV>(b, r0, last);
        }
        for (c, w4) in (0..I / P).zip(self.w.chunks_exact(O * P)) {
            for (p, a) in acc.iter_mut().enumerate() {
                madd_col(a, &load_rows::<V, RV>(w4, p * O + r0, last), x[c * P + p]);
            }
        }
        for (k, &xk) in x.iter().enumerate().skip(I / P * P) {
            madd_col(&mut acc[k % P], &load_rows::<V, RV>(self.w, k * O + r0, last), xk);
        }
        let [a0, a1, a2, a3] = &acc;
        let y: [V; RV] = core::array::from_fn(|v| (a0[v].add(a1[v])).add(a2[v].add(a3[v])));
        store_rows(self.y, r0, last, &y);
    }
}

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
            acc = core::array::from_fn(|j| load_rows::<V, RV>(self.g, (c0 + j) * M + r0, last));
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
            let new: [V; RV] = core::array::from_fn(|v| av[v].mul_add(bv, old[v]));
            store_rows(gc, r0, last, &new);
            sum = new.iter().fold(sum, |s, &n| s.add(n));
        }
        self.sum = self.sum + sum.reduce_add();
    }
}

/// `Z = Aᵀ·B` for `A: K×M`, `B: K×N`, `Z: M×N` (the input gradient
/// `Wᵀ·dY`) for `N > 1`: each element adds its products in the order of `k`, from zero,
/// like [`affine`] over `Aᵀ`. A row block of the result needs the same
/// rows of `Aᵀ` (columns of `A`) for all its tiles: they are transposed
/// into a buffer of at most [`TR_BUF`] values (up to `TR_BUF / rows`
/// values of `k` at a time, the partial sums kept in `Z` between the
/// chunks), which the tiles read from L1. No transposed copy of `A` is
/// made: for a 64 × 64 `f64` layer, `A` and a copy (64 KiB) overflowed the
/// 48 KiB L1.
#[inline]
pub(super) fn tr_matmul<E: Elem, const K: usize, const M: usize, const N: usize>(
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

impl<E: Elem, const K: usize, const M: usize> Tile<E> for TrMatmul<'_, E, K, M> {
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
            acc = core::array::from_fn(|j| load_rows::<V, RV>(self.z, (c0 + j) * M + r0, last));
        }
        let bc: [&[E]; C] = core::array::from_fn(|j| {
            &self.b[(c0 + j) * K + self.k0..(c0 + j) * K + self.k0 + self.kc]
        });
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
fn transpose_into<V: Vector, const NB: usize>(
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
            let v: [V; NB] = core::array::from_fn(|i| V::load(a, (r0 + r + i) * lda + k0 + k, NB));
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

/// The elements of `m` when `T` is `E`.
#[inline(always)]
fn cast<E: Elem, T: Real, const R: usize, const C: usize>(m: &SMatrix<T, R, C>) -> Option<&[E]> {
    let m: &dyn Any = m;
    m.downcast_ref::<SMatrix<E, R, C>>().map(|m| m.as_slice())
}

/// [`cast`] for a mutable matrix.
#[inline(always)]
fn cast_mut<E: Elem, T: Real, const R: usize, const C: usize>(
    m: &mut SMatrix<T, R, C>,
) -> Option<&mut [E]> {
    let m: &mut dyn Any = m;
    m.downcast_mut::<SMatrix<E, R, C>>().map(|m| m.as_mut_slice())
}

/// [`affine`] when `T` is `f32` or `f64` (then `true`), else nothing.
#[inline(always)]
pub(super) fn try_affine<T: Real, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    b: Option<&SVector<T, O>>,
    y: &mut SMatrix<T, O, B>,
) -> bool {
    fn of<E: Elem, T: Real, const O: usize, const I: usize, const B: usize>(
        w: &SMatrix<T, O, I>,
        x: &SMatrix<T, I, B>,
        b: Option<&SVector<T, O>>,
        y: &mut SMatrix<T, O, B>,
    ) -> bool {
        let (Some(yf), Some(wf), Some(xf)) = (cast_mut::<E, _, O, B>(y), cast(w), cast(x)) else {
            return false;
        };
        affine::<E, O, I, B>(yf, wf, xf, b.and_then(cast));
        true
    }
    of::<f32, T, O, I, B>(w, x, b, y) || of::<f64, T, O, I, B>(w, x, b, y)
}

/// [`matmul_tr_acc`] when `T` is `f32` or `f64` (then `Some` of whether
/// every value written is known to be finite), else `None`.
#[inline(always)]
pub(super) fn try_matmul_tr_acc<
    T: Real,
    const M: usize,
    const K: usize,
    const N: usize,
    const ADD: bool,
>(
    g: &mut SMatrix<T, M, K>,
    a: &SMatrix<T, M, N>,
    b: &SMatrix<T, K, N>,
) -> Option<bool> {
    fn of<E: Elem, T: Real, const M: usize, const K: usize, const N: usize, const ADD: bool>(
        g: &mut SMatrix<T, M, K>,
        a: &SMatrix<T, M, N>,
        b: &SMatrix<T, K, N>,
    ) -> Option<bool> {
        let (gf, af, bf) = (cast_mut::<E, _, M, K>(g)?, cast(a)?, cast(b)?);
        Some(matmul_tr_acc::<E, M, K, N, ADD>(gf, af, bf))
    }
    of::<f32, T, M, K, N, ADD>(g, a, b).or_else(|| of::<f64, T, M, K, N, ADD>(g, a, b))
}

/// Most bytes of an `A` that [`try_tr_matmul`] transposes whole (with more
/// samples than one): `A` and its copy then take at most 32 KiB of the
/// 48 KiB L1. A whole copy is faster for small `A`s (`Aᵀ·B` for `A: 10×64`,
/// `B: 10×16` in `f32`: 0.21 µs, against 0.43 µs blocked); bigger ones go
/// [`tr_matmul`]'s way (`A: 64×64` in `f64`: 4.5 µs whole, 2.3 µs blocked).
const FULL_COPY_BYTES: usize = 16 << 10;

/// `Z = Aᵀ·B` when `T` is `f32` or `f64` (then `true`), else nothing: for
/// `A`s up to [`FULL_COPY_BYTES`] and for one sample, [`affine`] over a
/// transposed copy of `A`; else [`tr_matmul`].
#[inline(always)]
pub(super) fn try_tr_matmul<T: Real, const K: usize, const M: usize, const N: usize>(
    z: &mut SMatrix<T, M, N>,
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
) -> bool {
    fn of<E: Elem, T: Real, const K: usize, const M: usize, const N: usize>(
        z: &mut SMatrix<T, M, N>,
        a: &SMatrix<T, K, M>,
        b: &SMatrix<T, K, N>,
    ) -> bool {
        let Some(af) = cast::<E, T, K, M>(a) else {
            return false;
        };
        if N == 1 || K * M * size_of::<E>() <= FULL_COPY_BYTES {
            // A transposed copy of `A` and `affine` over it (for one sample
            // that is the matrix-vector product's partial sums, which the
            // packs' generic kernels follow).
            let mut at = super::zeroed::<T, M, K>();
            let tf = cast_mut::<E, T, M, K>(&mut at).expect("T is E");
            E::transpose_into(tf, M, af, K, 0, M, 0, K);
            super::affine_into(&at, b, None, z);
            return true;
        }
        let (zf, bf) = (cast_mut::<E, T, M, N>(z).expect("T is E"), cast(b).expect("T is E"));
        tr_matmul::<E, K, M, N>(zf, af, bf);
        true
    }
    of::<f32, T, K, M, N>(z, a, b) || of::<f64, T, K, M, N>(z, a, b)
}
