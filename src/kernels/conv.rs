//! Convolutions as sums of matrix products over their taps, a block of
//! output positions at a time.
//!
//! With the channels of a position contiguous ([`crate::shape`]), a
//! convolution with `C_in` input and `C_out` output channels computes, for
//! a block of `BLOCK` output positions (across the samples of a batch),
//! `Y = b·1ᵀ + Σ_t W_t·X_t`: `W_t` is the `C_out × C_in` weight of tap `t`
//! and column `q` of `X_t` is the input vector tap `t` reads for output
//! position `q` (zeros where it reads padding). Each product is one call of
//! the register-blocked [`affine_into`] on a `C_in × BLOCK` block gathered
//! into a small buffer: no `C_in·K × positions` im2col matrix, no
//! allocation. Backward is the same walk with [`matmul_tr_acc`]
//! (`G_t += dY·X_tᵀ`) and [`tr_matmul_into`] (`W_tᵀ·dY`, scattered back,
//! added, into `∂J/∂x`).
//!
//! Where a tap reads is the layer's geometry, a [`Reads`]: [`Vectors`]
//! (`src(p, t)` gives the offset in the input slice of the `C_in` values
//! tap `t` reads for output position `p` of the batch, positions numbered
//! sample after sample, or `None` for padding) or, for a layer with one
//! input channel, [`Scalars`]: `G` taps at a time, so that a product's
//! inner dimension is `G` (the kernel size) rather than 1.

use super::{affine_into, matmul_tr_acc, row_sums_acc, tr_matmul_into, zeroed};
use crate::lanes;
use crate::scalar::Real;
use nalgebra::{SMatrix, SVector};

/// Output positions per product: the column count of [`affine_into`]'s
/// register tile on x86-64, 4 elsewhere.
pub const BLOCK: usize = if cfg!(target_arch = "x86_64") { 12 } else { 4 };

/// Where the products of a convolution read: the `G` values of the column
/// of output position `p` for the product (tap group) `t`.
pub trait Reads<const G: usize> {
    /// Writes the column into `col` (zeros for padding).
    fn gather<T: Real>(&self, x: &[T], p: usize, t: usize, col: &mut [T]);
    /// Adds `dcol` where the column was read from.
    fn scatter<T: Real>(&self, dx: &mut [T], p: usize, t: usize, dcol: &[T]);
}

/// Each product reads the `G` contiguous values (the input channels of one
/// position) at `src(p, t)`.
pub struct Vectors<F>(pub F);

impl<F: Fn(usize, usize) -> Option<usize>, const G: usize> Reads<G> for Vectors<F> {
    #[inline(always)]
    fn gather<T: Real>(&self, x: &[T], p: usize, t: usize, col: &mut [T]) {
        match (self.0)(p, t) {
            Some(o) => col.copy_from_slice(&x[o..o + G]),
            None => col.fill(T::zero()),
        }
    }
    #[inline(always)]
    fn scatter<T: Real>(&self, dx: &mut [T], p: usize, t: usize, dcol: &[T]) {
        if let Some(o) = (self.0)(p, t) {
            lanes::add_assign(&mut dx[o..o + G], dcol);
        }
    }
}

/// One input channel: product `t` reads the values of taps `t·G .. t·G + G`,
/// tap `k` at `src(p, k)` (so the `G` taps of a product are one matrix
/// `C_out × G` of the weight).
pub struct Scalars<F>(pub F);

impl<F: Fn(usize, usize) -> Option<usize>, const G: usize> Reads<G> for Scalars<F> {
    #[inline(always)]
    fn gather<T: Real>(&self, x: &[T], p: usize, t: usize, col: &mut [T]) {
        for (j, c) in col.iter_mut().enumerate() {
            *c = (self.0)(p, t * G + j).map_or(T::zero(), |o| x[o]);
        }
    }
    #[inline(always)]
    fn scatter<T: Real>(&self, dx: &mut [T], p: usize, t: usize, dcol: &[T]) {
        for (j, &d) in dcol.iter().enumerate() {
            if let Some(o) = (self.0)(p, t * G + j) {
                dx[o] += d;
            }
        }
    }
}

/// Gathers the columns `q < n` of the block at `p0` for product `t` into
/// `cols` (zeros for `q ≥ n`).
#[inline(always)]
fn gather<T: Real, const G: usize>(
    cols: &mut SMatrix<T, G, BLOCK>,
    x: &[T],
    p0: usize,
    n: usize,
    t: usize,
    reads: &impl Reads<G>,
) {
    for (q, col) in cols.as_mut_slice().chunks_exact_mut(G.max(1)).enumerate() {
        if q < n {
            reads.gather(x, p0 + q, t, col);
        } else {
            col.fill(T::zero());
        }
    }
}

/// `y = b·1ᵀ + Σ_t W_t·X_t` for every output position: `y` holds `CO`
/// values per position, `w` one matrix per product (at least one).
pub fn conv_forward<T: Real, const CI: usize, const CO: usize>(
    w: &[SMatrix<T, CO, CI>],
    b: Option<&SVector<T, CO>>,
    x: &[T],
    y: &mut [T],
    reads: &impl Reads<CI>,
) {
    let positions = y.len() / CO.max(1);
    let mut cols = zeroed::<T, CI, BLOCK>();
    let mut acc = zeroed::<T, CO, BLOCK>();
    let mut part = zeroed::<T, CO, BLOCK>();
    let mut p0 = 0;
    while p0 < positions {
        let n = BLOCK.min(positions - p0);
        for (t, wt) in w.iter().enumerate() {
            gather(&mut cols, x, p0, n, t, reads);
            if t == 0 {
                affine_into(wt, &cols, b, &mut acc);
            } else {
                affine_into(wt, &cols, None, &mut part);
                lanes::add_assign(acc.as_mut_slice(), part.as_slice());
            }
        }
        y[CO * p0..CO * (p0 + n)].copy_from_slice(&acc.as_slice()[..CO * n]);
        p0 += n;
    }
}

/// Adds `∂J/∂W_t = Σ dY·X_tᵀ` to `gw`, `∂J/∂b = Σ dY` to `gb`, and
/// `W_tᵀ·dY` (scattered to where tap `t` read) to `dx`, for `dy` holding
/// `CO` values per output position.
///
/// Tap by tap, each over every block of positions: on targets with SIMD
/// registers `W_tᵀ` is transposed once per tap into a `CI × CO` temporary
/// and multiplied by the register-blocked `W·X` product
/// ([`affine_into`]), instead of once per block inside [`tr_matmul_into`]
/// (which is what scalar targets such as Cortex-M use, without a
/// temporary).
pub fn conv_backward<T: Real, const CI: usize, const CO: usize>(
    w: &[SMatrix<T, CO, CI>],
    x: &[T],
    dy: &[T],
    gw: &mut [SMatrix<T, CO, CI>],
    mut gb: Option<&mut SVector<T, CO>>,
    mut dx: Option<&mut [T]>,
    reads: &impl Reads<CI>,
) {
    let positions = dy.len() / CO.max(1);
    let mut cols = zeroed::<T, CI, BLOCK>();
    let mut dys = zeroed::<T, CO, BLOCK>();
    let mut dcols = zeroed::<T, CI, BLOCK>();
    let transpose = super::VEC_BYTES != 0 && dx.is_some();
    let mut wt = zeroed::<T, CI, CO>();
    for (t, (wk, gt)) in w.iter().zip(gw.iter_mut()).enumerate() {
        if transpose {
            wt = wk.transpose();
        }
        let mut p0 = 0;
        while p0 < positions {
            let n = BLOCK.min(positions - p0);
            let d = dys.as_mut_slice();
            d[..CO * n].copy_from_slice(&dy[CO * p0..CO * (p0 + n)]);
            d[CO * n..].fill(T::zero());
            if let Some(gb) = gb.as_deref_mut().filter(|_| t == 0) {
                row_sums_acc(gb, &dys);
            }
            gather(&mut cols, x, p0, n, t, reads);
            matmul_tr_acc(gt, &dys, &cols);
            if let Some(dx) = dx.as_deref_mut() {
                if transpose {
                    affine_into(&wt, &dys, None, &mut dcols);
                } else {
                    tr_matmul_into(wk, &dys, &mut dcols);
                }
                for (q, dc) in dcols.as_slice().chunks_exact(CI.max(1)).take(n).enumerate() {
                    reads.scatter(dx, p0 + q, t, dc);
                }
            }
            p0 += n;
        }
    }
}
