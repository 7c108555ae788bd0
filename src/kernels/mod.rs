//! Matrix products for static shapes, the inner loops of every layer.
//!
//! All matrices are nalgebra column-major `SMatrix`; one column is one
//! sample. These are the three products of a dense layer:
//!
//! * [`affine`]: `Y = W·X + b·1ᵀ` (forward),
//! * [`tr_matmul`]: `Wᵀ·dY` (input gradient; [`tr_matmul_into`] writes it
//!   over a given value),
//! * [`matmul_tr_acc`]: `G += dY·Xᵀ` (weight gradient, accumulated), and
//!   [`matmul_tr`], the same written over `G` (not read),
//!
//! plus the general [`matmul`], and [`row_sums_acc`] / [`row_sums`] (bias
//! gradient).
//! Nothing allocates, and a big matrix is never copied or transposed: a
//! 784 × 256 layer needs no stack beyond its output and an 8 KiB block.
//!
//! # How they are fast
//!
//! The products are register-blocked: [`affine`] and [`matmul_tr_acc`]
//! compute a tile of up to two SIMD registers' worth of rows times four
//! columns of the result in local accumulators, walking the shared dimension
//! once per tile (an outer product per step: a contiguous slice of a column
//! of `W` or `dY` times a scalar broadcast from `X`); for layers with more
//! than 128 inputs [`affine`] copies 128-column blocks of a tile's rows of
//! `W` to an 8 KiB buffer first, so they are read from L1 by every column
//! block. [`tr_matmul`] is a block of dot products of columns (both
//! contiguous), each summed into one partial sum per SIMD lane and reduced
//! by a fixed tree at the end, a tile of 3 × 4 dot products at a time (small
//! `W`s are transposed instead, see Rounding). The loops have trip counts that are
//! compile-time constants once the shapes are known, so the compiler keeps
//! the accumulators in registers and vectorizes the lane loops for whatever
//! the user's `-C target-cpu` / `-C target-feature` enables (AVX2, SSE2,
//! NEON; scalar code on Cortex-M, with smaller tiles). There is no run-time
//! dispatch and no `unsafe`.
//!
//! On x86-64, `f32` and `f64` take their own path
//! (`src/kernels/vectors/`): the same three products written with
//! explicit vectors (`wide`, the crate simba's SIMD packs are built on):
//! 512 bits (`wide::f32x16`, `wide::f64x8`) with AVX-512 for products of
//! two such vectors of rows or more, else 256 (`wide::f32x8`,
//! `wide::f64x4`); register tiles of 2 vectors × 12 columns for `W·X` and
//! 4 × 6 for `A·Bᵀ` with AVX-512's 32 registers, 2 × 6 with AVX's 16; and a
//! fused multiply-add per vector per step when the target has FMA. Left to
//! itself, the compiler turned the generic tiles into gathers and scatters
//! under AVX-512 (the 4 → 16 → 3 forward pass took 8× longer), and it never
//! fuses a multiply with an add. On such targets the generic kernels use
//! 256-bit vectors too. With the `simd` feature the pack `WideF32x8` takes
//! the same kernels, two packs to a 512-bit vector with AVX-512, so a
//! lockstep step of eight models costs about what eight separate `f32`
//! steps cost (on the generic kernels, one pack per register, it cost
//! more); `f64` takes them too, at about twice the `f32` time instead of
//! five times (`cargo bench --bench workloads` times both).
//!
//! # Rounding
//!
//! The order in which products are added depends on the shapes and the
//! target, never on the scalar type, so a SIMD pack ([`crate::scalar`])
//! computes each lane bit-for-bit like the scalar type on its own:
//!
//! * [`affine`] with a batch of more than one sample and [`matmul_tr_acc`]
//!   add the products for one output element in the order of the shared
//!   index, like the textbook loop (starting from the bias, or from `G`);
//! * [`affine`] with one sample on SIMD targets sums `k ≡ p (mod 4)` in
//!   partial sum `p`, `s₀` starting from the bias, and returns
//!   `(s₀ + s₁) + (s₂ + s₃)` (four independent chains instead of one long
//!   one);
//! * [`tr_matmul`] on SIMD targets with an `A` of at most 4096 elements
//!   adds in the order of `k` (over `Aᵀ`: with one sample, in the partial
//!   sums of [`affine`] with one sample); otherwise it sums
//!   `k ≡ l (mod L)` into lane `l` and adds the lanes by a fixed tree, with
//!   `L` fixed per target (8 with AVX, 4 with SSE2 or NEON, 1 on scalar
//!   targets).
//!
//! Whether a product and its sum are one rounding (a fused multiply-add) or
//! two depends on the target and the scalar: on x86-64 with FMA (e.g.
//! `-C target-cpu=native` on any x86-64 of the last ten years) `f32`,
//! `f64` and the SIMD packs fuse in [`affine`], [`matmul_tr_acc`] and the
//! small-`A` [`tr_matmul`], so packs still match their lane type lane for
//! lane; the big-`A` dot products of [`tr_matmul`] and every product on
//! other targets round twice (stable `no_std` Rust has no scalar fused
//! multiply-add that is not a library call). So results differ in the last
//! bits between a build with FMA and one without, never between a pack and
//! its scalar.
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

mod affine;
pub(crate) mod conv;
mod matmul_tr_acc;
mod tr_matmul;
#[cfg(target_arch = "x86_64")]
mod vectors;

pub use affine::{affine, affine_into, matmul};
pub use conv::BLOCK as CONV_BLOCK;
pub(crate) use matmul_tr_acc::matmul_tr_known_finite;
pub use matmul_tr_acc::{matmul_tr, matmul_tr_acc};
pub use tr_matmul::{tr_matmul, tr_matmul_into};

use crate::scalar::Real;
use core::mem::size_of;
use nalgebra::{SMatrix, SVector};

/// Bytes of one SIMD register the generic kernels use on the target the
/// crate is compiled for (0: no SIMD unit, e.g. Cortex-M). 32 with AVX-512
/// too: with 64 the compiler made gathers and scatters of the tiles.
const VEC_BYTES: usize = if cfg!(target_feature = "avx") {
    32
} else if cfg!(any(target_feature = "sse2", target_feature = "neon", target_feature = "simd128")) {
    16
} else {
    0
};

/// Columns of an outer-product tile: 4 with SIMD, 2 on scalar targets
/// (Cortex-M4F has 32 single-precision registers: 8 × 2 accumulators fit
/// beside the operands).
const COLS: usize = if VEC_BYTES == 0 { 1 } else { 4 };

/// Rows of an outer-product tile of a 4-byte scalar: two SIMD registers, or
/// 8 on scalar targets.
const ROWS_4: usize = if VEC_BYTES == 0 { 16 } else { 2 * VEC_BYTES / 4 };
/// Rows of an outer-product tile of an 8-byte scalar.
const ROWS_8: usize = if VEC_BYTES == 0 { 4 } else { 2 * VEC_BYTES / 8 };
/// Rows of an outer-product tile of a SIMD pack (16 bytes or more).
const ROWS_PACK: usize = 2;

/// Number of partial sums of a dot product in [`tr_matmul`] (per target,
/// not per scalar type, so every scalar type sums in the same order).
const DOT_LANES: usize = if VEC_BYTES == 0 { 1 } else { VEC_BYTES / 4 };

/// One register-blocked tile of a product: `R` rows by `C` columns of the
/// result at `(r0, c0)`.
trait Tile {
    fn tile<const R: usize, const C: usize>(&mut self, r0: usize, c0: usize);

    /// All tiles of the block of `R` rows at `r0` (rows-outer order only);
    /// a kernel may override it to prepare the block once for all its
    /// tiles.
    #[inline(always)]
    fn row_block<const R: usize, const N: usize, const NC: usize>(&mut self, r0: usize)
    where
        Self: Sized,
    {
        cols::<Self, R, N, NC>(self, r0);
    }
}

/// Runs `op` over the tiles of an `M × N` result: full `MR × NC` tiles, then
/// the leftover rows and columns in power-of-two pieces (so every tile has
/// constant dimensions and its accumulators fit in registers). Row blocks
/// outer when `ROWS_OUTER`, else column blocks outer.
#[inline(always)]
fn for_tiles<Op: Tile, const M: usize, const N: usize, const MR: usize, const NC: usize>(
    op: &mut Op,
    rows_outer: bool,
) {
    if rows_outer {
        let mut r0 = 0;
        while r0 + MR <= M {
            op.row_block::<MR, N, NC>(r0);
            r0 += MR;
        }
        let rem = M - r0;
        if MR > 16 && rem & 16 != 0 {
            op.row_block::<16, N, NC>(r0);
            r0 += 16;
        }
        if MR > 8 && rem & 8 != 0 {
            op.row_block::<8, N, NC>(r0);
            r0 += 8;
        }
        if MR > 4 && rem & 4 != 0 {
            op.row_block::<4, N, NC>(r0);
            r0 += 4;
        }
        if MR > 2 && rem & 2 != 0 {
            op.row_block::<2, N, NC>(r0);
            r0 += 2;
        }
        if MR > 1 && rem & 1 != 0 {
            op.row_block::<1, N, NC>(r0);
        }
    } else {
        let mut c0 = 0;
        while c0 + NC <= N {
            rows::<Op, M, MR, NC>(op, c0);
            c0 += NC;
        }
        let rem = N - c0;
        if NC > 4 && rem & 4 != 0 {
            rows::<Op, M, MR, 4>(op, c0);
            c0 += 4;
        }
        if NC > 2 && rem & 2 != 0 {
            rows::<Op, M, MR, 2>(op, c0);
            c0 += 2;
        }
        if NC > 1 && rem & 1 != 0 {
            rows::<Op, M, MR, 1>(op, c0);
        }
    }
}

/// The tiles of one block of `R` rows at `r0`, across all `N` columns.
#[inline(always)]
fn cols<Op: Tile, const R: usize, const N: usize, const NC: usize>(op: &mut Op, r0: usize) {
    let mut c0 = 0;
    while c0 + NC <= N {
        op.tile::<R, NC>(r0, c0);
        c0 += NC;
    }
    let rem = N - c0;
    if NC > 4 && rem & 4 != 0 {
        op.tile::<R, 4>(r0, c0);
        c0 += 4;
    }
    if NC > 2 && rem & 2 != 0 {
        op.tile::<R, 2>(r0, c0);
        c0 += 2;
    }
    if NC > 1 && rem & 1 != 0 {
        op.tile::<R, 1>(r0, c0);
    }
}

/// The tiles of one block of `C` columns at `c0`, down all `M` rows.
#[inline(always)]
fn rows<Op: Tile, const M: usize, const MR: usize, const C: usize>(op: &mut Op, c0: usize) {
    let mut r0 = 0;
    while r0 + MR <= M {
        op.tile::<MR, C>(r0, c0);
        r0 += MR;
    }
    let rem = M - r0;
    if MR > 16 && rem & 16 != 0 {
        op.tile::<16, C>(r0, c0);
        r0 += 16;
    }
    if MR > 8 && rem & 8 != 0 {
        op.tile::<8, C>(r0, c0);
        r0 += 8;
    }
    if MR > 4 && rem & 4 != 0 {
        op.tile::<4, C>(r0, c0);
        r0 += 4;
    }
    if MR > 2 && rem & 2 != 0 {
        op.tile::<2, C>(r0, c0);
        r0 += 2;
    }
    if MR > 1 && rem & 1 != 0 {
        op.tile::<1, C>(r0, c0);
    }
}

/// [`for_tiles`] with the row-block size chosen for `T`'s size.
#[inline(always)]
fn for_tiles_of<T, Op: Tile, const M: usize, const N: usize>(op: &mut Op, rows_outer: bool) {
    match size_of::<T>() {
        0..=4 => for_tiles::<Op, M, N, ROWS_4, COLS>(op, rows_outer),
        5..=8 => for_tiles::<Op, M, N, ROWS_8, COLS>(op, rows_outer),
        _ => for_tiles::<Op, M, N, ROWS_PACK, COLS>(op, rows_outer),
    }
}

/// `v = A·1` (the row sums of `A: M×N`), written over `v`'s old values:
/// [`row_sums_acc`] from zero.
///
/// ```
/// use nalgebra::{SMatrix, SVector};
/// let a = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i * 3 + j) as f32);
/// let mut v = SVector::<f32, 2>::repeat(f32::NAN);
/// stackprop::kernels::row_sums(&mut v, &a);
/// assert_eq!(v, SVector::<f32, 2>::new(3.0, 12.0));
/// ```
#[inline]
pub fn row_sums<T: Real, const M: usize, const N: usize>(
    v: &mut SVector<T, M>,
    a: &SMatrix<T, M, N>,
) {
    v.as_mut_slice().fill(T::zero());
    row_sums_acc(v, a);
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
        crate::lanes::add_assign(v.as_mut_slice(), ac);
    }
}

/// An all-zero matrix, built as one array (nalgebra's element-wise
/// constructors and iterators are not vectorized).
#[inline(always)]
pub(crate) fn zeroed<T: Real, const R: usize, const C: usize>() -> SMatrix<T, R, C> {
    SMatrix::from_data(nalgebra::ArrayStorage([[T::zero(); R]; C]))
}

/// Column `j` of a column-major matrix of `R`-element columns.
#[inline(always)]
fn column<T, const R: usize>(m: &[T], j: usize) -> &[T; R] {
    m[j * R..j * R + R].try_into().expect("R elements")
}

/// Whether products of SIMD packs are fused multiply-adds: on x86-64 with
/// FMA, where the `f32` and `f64` kernels ([`vectors`]) fuse too, so a
/// pack's lanes round like separate runs of its lane type. `f32` and `f64`
/// scalars in the generic kernels (other targets) never fuse (a scalar
/// `fma` without `std` is a library call).
const FUSED_PACKS: bool = cfg!(all(target_arch = "x86_64", target_feature = "fma"));

/// `c + a·b`, fused for SIMD packs where [`FUSED_PACKS`] says so.
#[inline(always)]
fn madd<T: Real>(a: T, b: T, c: T) -> T {
    if FUSED_PACKS && T::LANES > 1 { a.simd_mul_add(b, c) } else { c + a * b }
}
