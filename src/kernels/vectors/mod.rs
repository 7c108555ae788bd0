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
//! vector width and element type, with the same fusing rule, so a SIMD
//! pack stays bit-identical lane by lane to its lane type (with the `simd`
//! feature the pack `WideF32x8` is an element here too, two packs to a
//! 512-bit vector: `packs.rs`; other packs take the generic kernels).
//!
//! `wide` picks the instructions from the target features the crate is
//! compiled with (`vfmadd231ps` on zmm with AVX-512, on ymm with AVX +
//! FMA, separate multiply and add with AVX only, pairs of SSE registers on
//! the x86-64 baseline); there is no run-time dispatch. 512-bit vectors
//! pay where the core has two 512-bit FMA units (twice the 256-bit
//! throughput on the Xeon this was measured on) and cost nothing where it
//! splits them in halves (Zen 4).
//!
//! This file holds the vector types, the tiling and the entry points from
//! the generic kernels (`try_*`); the products are in `affine.rs` (`W·X`),
//! `outer.rs` (`A·Bᵀ`), `transposed.rs` (`Aᵀ·B`), `packs.rs` (the pack
//! element and its `Aᵀ·B`) and `few_rows.rs` (`W·x` for one sample and at
//! most 4 rows, with AVX-512).

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

/// An element type these kernels compute in: `f32`, `f64`, or (feature
/// `simd`) the pack `WideF32x8` (`packs.rs`).
pub(super) trait Elem: Copy + core::ops::Add<Output = Self> + 'static {
    /// The narrower vector: 8 lanes of `f32`, 4 of `f64` (256 bits).
    type Narrow: Vector<E = Self>;
    /// The wider vector (512 bits) with AVX-512, else [`Elem::Narrow`].
    type Wide: Vector<E = Self>;
    const ZERO: Self;
    fn is_finite(self) -> bool;
}

/// A float element whose lanes are transposed by shuffles (not a pack,
/// whose elements are whole registers).
pub(super) trait Transpose: Elem {
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

/// `Elem` for a float type `$e`: `$narrow` (256-bit) vectors, `$wide`
/// (512-bit) with AVX-512, square blocks of `$n` for transposes.
macro_rules! elem {
    ($e:ty, $narrow:ty, $wide:ty, $n:literal) => {
        impl Elem for $e {
            type Narrow = $narrow;
            #[cfg(target_feature = "avx512f")]
            type Wide = $wide;
            #[cfg(not(target_feature = "avx512f"))]
            type Wide = $narrow;
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$e>::is_finite(self)
            }
        }

        impl Transpose for $e {
            #[inline(always)]
            fn transpose_into(
                buf: &mut [$e],
                stride: usize,
                a: &[$e],
                lda: usize,
                r0: usize,
                rows: usize,
                k0: usize,
                kc: usize,
            ) {
                let tr = <$narrow>::transpose;
                transpose_into::<$narrow, $n>(tr, buf, stride, a, lda, r0, rows, k0, kc);
            }
        }
    };
}
elem!(f32, wide::f32x8, wide::f32x16, 8);
elem!(f64, wide::f64x4, wide::f64x8, 4);

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
    /// `f(0)`, …, `f(n − 1)` (`n ≤ L`) in the low lanes, zeros above
    /// (for packs, whole registers: see `packs.rs`).
    fn from_fn(n: usize, f: impl Fn(usize) -> Self::E) -> Self;
    /// `s[at]`, `s[at + stride]`, … (`n ≤ L` values) in the low lanes,
    /// zeros above.
    #[cfg(feature = "simd")]
    #[inline(always)]
    fn gather(s: &[Self::E], at: usize, stride: usize, n: usize) -> Self {
        Self::from_fn(n, |i| s[at + i * stride])
    }
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
            fn from_fn(n: usize, f: impl Fn(usize) -> $e) -> Self {
                let mut a = [0.0; $l];
                for (i, x) in a.iter_mut().enumerate().take(n) {
                    *x = f(i);
                }
                <$v>::new(a)
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

// The tiles build their small arrays with loops rather than
// `core::array::from_fn`: without fat LTO the compiler left `from_fn`'s
// closure machinery out of line (a call, `vzeroupper` and spilled
// accumulators per step: a lockstep w3 step took 170 µs instead of 73).

/// `RV` vectors from `s[at..]`, the last with `last` lanes.
#[inline(always)]
fn load_rows<V: Vector, const RV: usize>(s: &[V::E], at: usize, last: usize) -> [V; RV] {
    let mut r = [V::ZERO; RV];
    for (v, x) in r.iter_mut().enumerate() {
        *x = V::load(s, at + V::L * v, lanes::<V>(v, RV, last));
    }
    r
}

/// Stores the `RV` vectors of `x` at `s[at..]`, the last with `last` lanes.
#[inline(always)]
fn store_rows<V: Vector, const RV: usize>(s: &mut [V::E], at: usize, last: usize, x: &[V; RV]) {
    for (v, &x) in x.iter().enumerate() {
        x.store(s, at + V::L * v, lanes::<V>(v, RV, last));
    }
}

mod affine;
#[cfg(target_feature = "avx512f")]
mod few_rows;
mod outer;
#[cfg(feature = "simd")]
mod packs;
mod transposed;

use affine::affine;
use outer::matmul_tr_acc;
use transposed::{tr_matmul, transpose_into};

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

/// [`affine()`] when `T` is `f32` or `f64` (then `true`), else nothing.
#[inline(always)]
pub(super) fn try_affine<T: Real, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    b: Option<&SVector<T, O>>,
    y: &mut SMatrix<T, O, B>,
) -> bool {
    // `of` always inlined, so the caller sees which type matched and drops
    // its generic path (and that path's stack: out of line, a 784 → 256 →
    // 10 training step at batch 32 took 129 KiB of stack instead of 64).
    #[inline(always)]
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
    #[cfg(feature = "simd")]
    if of::<simba::simd::WideF32x8, T, O, I, B>(w, x, b, y) {
        return true;
    }
    of::<f32, T, O, I, B>(w, x, b, y) || of::<f64, T, O, I, B>(w, x, b, y)
}

/// `few_rows::gemv` when `T` is `f32`, the target has AVX-512 and the
/// product takes it (then `true`), else nothing.
#[inline(always)]
pub(super) fn try_few_rows<T: Real, const O: usize, const I: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    b: Option<&SVector<T, O>>,
    y: &mut SMatrix<T, O, B>,
) -> bool {
    #[cfg(target_feature = "avx512f")]
    if B == 1
        && few_rows::fits(O, I)
        && let (Some(yf), Some(wf), Some(xf)) = (cast_mut::<f32, _, O, B>(y), cast(w), cast(x))
    {
        few_rows::gemv::<O, I>(yf, wf, xf, b.and_then(cast));
        return true;
    }
    let _ = (w, x, b, y);
    false
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
    #[inline(always)]
    fn of<E: Elem, T: Real, const M: usize, const K: usize, const N: usize, const ADD: bool>(
        g: &mut SMatrix<T, M, K>,
        a: &SMatrix<T, M, N>,
        b: &SMatrix<T, K, N>,
    ) -> Option<bool> {
        let (gf, af, bf) = (cast_mut::<E, _, M, K>(g)?, cast(a)?, cast(b)?);
        Some(matmul_tr_acc::<E, M, K, N, ADD>(gf, af, bf))
    }
    #[cfg(feature = "simd")]
    if let Some(known_finite) = of::<simba::simd::WideF32x8, T, M, K, N, ADD>(g, a, b) {
        return Some(known_finite);
    }
    of::<f32, T, M, K, N, ADD>(g, a, b).or_else(|| of::<f64, T, M, K, N, ADD>(g, a, b))
}

/// Most bytes of an `A` that [`try_tr_matmul`] transposes whole (with more
/// samples than one): `A` and its copy then take at most 32 KiB of the
/// 48 KiB L1. A whole copy is faster for small `A`s (`Aᵀ·B` for `A: 10×64`,
/// `B: 10×16` in `f32`: 0.21 µs, against 0.43 µs blocked); bigger ones go
/// [`tr_matmul`]'s way (`A: 64×64` in `f64`: 4.5 µs whole, 2.3 µs blocked).
const FULL_COPY_BYTES: usize = 16 << 10;

/// `Z = Aᵀ·B` when `T` is `f32` or `f64` (then `true`): for `A`s up to
/// [`FULL_COPY_BYTES`] and for one sample, [`affine()`] over a transposed
/// copy of `A`; else [`tr_matmul`]. For the pack `WideF32x8` and more than
/// one sample, `packs::tr_matmul` (no copy). Else nothing.
#[inline(always)]
pub(super) fn try_tr_matmul<T: Real, const K: usize, const M: usize, const N: usize>(
    z: &mut SMatrix<T, M, N>,
    a: &SMatrix<T, K, M>,
    b: &SMatrix<T, K, N>,
) -> bool {
    #[inline(always)]
    fn of<E: Transpose, T: Real, const K: usize, const M: usize, const N: usize>(
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
    #[cfg(feature = "simd")]
    if N > 1 {
        use simba::simd::WideF32x8;
        if let (Some(zp), Some(ap), Some(bp)) =
            (cast_mut::<WideF32x8, T, M, N>(z), cast(a), cast(b))
        {
            packs::tr_matmul::<K, M, N>(zp, ap, bp);
            return true;
        }
    }
    of::<f32, T, K, M, N>(z, a, b) || of::<f64, T, K, M, N>(z, a, b)
}
