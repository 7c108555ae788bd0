//! `f32` products on x86-64 over explicit vectors ([`wide::f32x16`] when
//! the target has AVX-512, else [`wide::f32x8`]), with fused multiply-adds
//! when the target has FMA.
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

/// A vector of `L` lanes of `f32`: [`wide::f32x16`] (with AVX-512 only)
/// or [`wide::f32x8`].
trait Vector: Copy {
    /// Lanes.
    const L: usize;
    const ZERO: Self;
    fn splat(x: f32) -> Self;
    /// `n ≤ L` values of `s` from `at` in the low lanes, zeros above.
    fn load(s: &[f32], at: usize, n: usize) -> Self;
    /// Stores the low `n ≤ L` lanes at `s[at..]`.
    fn store(self, s: &mut [f32], at: usize, n: usize);
    /// `self·a + b`, fused when the target has FMA.
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn add(self, b: Self) -> Self;
    /// The sum of the lanes.
    fn reduce_add(self) -> f32;
}

macro_rules! vector {
    ($v:ty, $l:literal) => {
        impl Vector for $v {
            const L: usize = $l;
            const ZERO: Self = <$v>::ZERO;
            #[inline(always)]
            fn splat(x: f32) -> Self {
                <$v>::splat(x)
            }
            #[inline(always)]
            fn load(s: &[f32], at: usize, n: usize) -> Self {
                if n == $l {
                    <$v>::new(*s[at..at + $l].first_chunk::<$l>().expect("L lanes"))
                } else {
                    let mut a = [0.0f32; $l];
                    a[..n].copy_from_slice(&s[at..at + n]);
                    <$v>::new(a)
                }
            }
            #[inline(always)]
            fn store(self, s: &mut [f32], at: usize, n: usize) {
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
            fn reduce_add(self) -> f32 {
                <$v>::reduce_add(self)
            }
        }
    };
}
vector!(wide::f32x8, 8);
#[cfg(target_feature = "avx512f")]
vector!(wide::f32x16, 16);

/// Runs `f::<V>()` with the widest vector that suits `m` rows: 16 lanes
/// with AVX-512 for `m ≥ 32` (a full 2-vector tile), else 8 (with 16,
/// the 16- and 3-row layers of a 4 → 16 → 3 network were slower).
macro_rules! by_width {
    ($m:expr, $f:ident::<$($g:tt),*>($($arg:expr),*)) => {{
        #[cfg(target_feature = "avx512f")]
        let r = if $m >= 32 {
            $f::<wide::f32x16, $($g),*>($($arg),*)
        } else {
            $f::<wide::f32x8, $($g),*>($($arg),*)
        };
        #[cfg(not(target_feature = "avx512f"))]
        let r = $f::<wide::f32x8, $($g),*>($($arg),*);
        r
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
trait Tile {
    fn tile<V: Vector, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    );
}

/// Runs the tiles (`MRV` vectors of rows by `NR` columns) of an `M × N`
/// result, row blocks outer (`rows_outer`) or column blocks outer.
#[inline(always)]
fn for_tiles<V, Op, const M: usize, const N: usize, const MRV: usize, const NR: usize>(
    op: &mut Op,
    rows_outer: bool,
) where
    V: Vector,
    Op: Tile,
{
    if rows_outer {
        let mut r0 = 0;
        while r0 + MRV * V::L <= M {
            cols::<V, Op, N, MRV, NR>(op, r0, V::L);
            r0 += MRV * V::L;
        }
        rest_rows!(V, M, MRV, |RV, last| cols::<V, Op, N, RV, NR>(op, r0, last));
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
    Op: Tile,
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
    Op: Tile,
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
fn madd_col<V: Vector, const RV: usize>(acc: &mut [V; RV], w: &[V; RV], x: f32) {
    let xv = V::splat(x);
    for (a, &w) in acc.iter_mut().zip(w) {
        *a = w.mul_add(xv, *a);
    }
}

/// `RV` vectors from `s[at..]`, the last with `last` lanes.
#[inline(always)]
fn load_rows<V: Vector, const RV: usize>(s: &[f32], at: usize, last: usize) -> [V; RV] {
    core::array::from_fn(|v| V::load(s, at + V::L * v, lanes::<V>(v, RV, last)))
}

/// Stores the `RV` vectors of `x` at `s[at..]`, the last with `last` lanes.
#[inline(always)]
fn store_rows<V: Vector, const RV: usize>(s: &mut [f32], at: usize, last: usize, x: &[V; RV]) {
    for (v, &x) in x.iter().enumerate() {
        x.store(s, at + V::L * v, lanes::<V>(v, RV, last));
    }
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
        return by_width!(O, for_tiles::<_, O, 1, MRV1, 1>(&mut op, true));
    }
    let mut op = Affine::<O, I> { y, w, x, b };
    by_width!(O, for_tiles::<_, O, B, { AFFINE_TILE.0 }, { AFFINE_TILE.1 }>(&mut op, true))
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
    fn tile<V: Vector, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    ) {
        let mut acc = [[V::ZERO; RV]; C];
        if let Some(b) = self.b {
            acc = [load_rows::<V, RV>(b, r0, last); C];
        }
        let xc: [&[f32; I]; C] = core::array::from_fn(|j| {
            self.x[(c0 + j) * I..(c0 + j + 1) * I].try_into().expect("I rows")
        });
        let step = |acc: &mut [[V; RV]; C], k: usize, wk: &[f32]| {
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
struct Gemv<'a, const O: usize, const I: usize> {
    y: &'a mut [f32],
    w: &'a [f32],
    x: &'a [f32],
    b: Option<&'a [f32]>,
}

impl<const O: usize, const I: usize> Tile for Gemv<'_, O, I> {
    #[inline(always)]
    fn tile<V: Vector, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        _c0: usize,
    ) {
        let x: &[f32; I] = self.x.try_into().expect("I rows");
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
pub(super) fn matmul_tr_acc<const M: usize, const K: usize, const N: usize, const ADD: bool>(
    g: &mut [f32],
    a: &[f32],
    b: &[f32],
) -> bool {
    assert!(g.len() == M * K && a.len() == M * N && b.len() == K * N);
    if N == 1 {
        let mut op = RankOne::<M, K, ADD> { g, a, b, sum: 0.0 };
        by_width!(M, for_tiles::<_, M, 1, MRV1, 1>(&mut op, true));
        return op.sum.is_finite();
    }
    // The shared dimension in blocks of `nb` samples, so that the block of
    // `A` the tiles read again and again stays in L1 (32 KiB for 256 rows).
    let nb = const { samples_per_block(M) };
    let mut op = MatmulTrAcc::<M, K> { g, a, b, n0: 0, n1: N.min(nb), add: ADD, sum: 0.0 };
    loop {
        by_width!(M, for_tiles::<_, M, K, { OUTER_TILE.0 }, { OUTER_TILE.1 }>(&mut op, false));
        if op.n1 == N {
            return op.sum.is_finite();
        }
        // Only the last block's stores are the results the sum must cover.
        (op.n0, op.n1, op.add, op.sum) = (op.n1, N.min(op.n1 + nb), true, 0.0);
    }
}

/// Samples per block of [`matmul_tr_acc`]'s shared dimension for `m` rows:
/// `m` × the block is 8192 values (32 KiB), at least 32 samples (below
/// that the extra passes over `G` cost more; 16 took twice as long as 32 for
/// 256 × 784 × 256, 64 was 5 % slower).
const fn samples_per_block(m: usize) -> usize {
    if m >= 256 { 32 } else { 8192 / if m == 0 { 1 } else { m } }
}

/// Tiles of `G (+)= A·Bᵀ` over the samples `n0..n1`: from `G`'s old values
/// when `add`, else from zero (`G` is not read).
struct MatmulTrAcc<'a, const M: usize, const K: usize> {
    g: &'a mut [f32],
    a: &'a [f32],
    b: &'a [f32],
    /// The block of samples `n0..n1` the tiles add.
    n0: usize,
    n1: usize,
    /// Whether the tiles start from `G`'s values (else from zero).
    add: bool,
    /// The sum of every value stored (see [`matmul_tr_acc`]).
    sum: f32,
}

impl<const M: usize, const K: usize> Tile for MatmulTrAcc<'_, M, K> {
    /// `G[r0.., c0..] += Σ_n A[r0.., n]·B[c0.., n]ᵀ`, in the order of `n`.
    #[inline(always)]
    fn tile<V: Vector, const RV: usize, const C: usize>(
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
        self.sum += sum.reduce_add();
    }
}

/// `G (+)= a·bᵀ` for one sample: a block of rows of `a` stays in registers
/// while `G` streams through once.
struct RankOne<'a, const M: usize, const K: usize, const ADD: bool> {
    g: &'a mut [f32],
    a: &'a [f32],
    b: &'a [f32],
    /// The sum of every value stored (see [`matmul_tr_acc`]).
    sum: f32,
}

impl<const M: usize, const K: usize, const ADD: bool> Tile for RankOne<'_, M, K, ADD> {
    #[inline(always)]
    fn tile<V: Vector, const RV: usize, const C: usize>(
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
        self.sum += sum.reduce_add();
    }
}

/// `Aᵀ` of `A: K×M` into `at: M×K` (column-major), in 8 × 8 blocks.
#[inline]
pub(super) fn transpose<const K: usize, const M: usize>(at: &mut [f32], a: &[f32]) {
    use wide::f32x8;
    assert!(at.len() == K * M && a.len() == K * M);
    let (k8, m8) = (K / 8 * 8, M / 8 * 8);
    for m0 in (0..m8).step_by(8) {
        for k0 in (0..k8).step_by(8) {
            let rows: [f32x8; 8] = core::array::from_fn(|i| {
                let at = (m0 + i) * K + k0;
                f32x8::new(*a[at..at + 8].first_chunk::<8>().expect("8 lanes"))
            });
            for (j, r) in f32x8::transpose(rows).into_iter().enumerate() {
                let to = (k0 + j) * M + m0;
                at[to..to + 8].copy_from_slice(&r.to_array());
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
