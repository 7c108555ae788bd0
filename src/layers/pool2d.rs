//! 2D pooling, PyTorch's `nn.MaxPool2d` and `nn.AvgPool2d` without
//! padding: [`Pool1d`](crate::Pool1d)'s reductions over `K × K` windows.

use super::pool1d::{Avg, Max, Reduce};
use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::Real;
use crate::shape::{expect, out_2d};
use crate::zeros::{ConstZeros, Zeros};
use core::fmt::Debug;
use core::marker::PhantomData;
use nalgebra::SMatrix;

/// Pooling over `K × K` windows, `S` apart in both directions, of `C`
/// channels of `H × W` maps, reduced by `R` ([`Max`], [`Avg`]); `NO` is the
/// output size per sample, `C × conv_len(H, K, S, 0, 1) ×
/// conv_len(W, K, S, 0, 1)` ([`conv_len`](crate::shape::conv_len)), checked at compile time. Use it
/// as [`MaxPool2d`] or [`AvgPool2d`].
///
/// PyTorch's `nn.MaxPool2d(K, stride=S)` / `nn.AvgPool2d(K, stride=S)` (no
/// padding, dilation 1; PyTorch's default stride is `K`, here it is
/// explicit). Input and output are feature maps in the crate's layout
/// ([`crate::shape`]: `(c, h, w)` at `c + C·(h + H·w)`), `N = C·H·W` per
/// sample; a window's taps are walked row by row, PyTorch's order (so ties
/// of [`Max`] go to the first maximum row by row). No parameters,
/// zero-sized, no cache.
pub struct Pool2d<R, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize>(
    PhantomData<R>,
);

/// 2D max pooling: `y[c, h, w] = max_{i,j} x[c, h·S + i, w·S + j]`
/// ([`Pool2d`], [`Max`]).
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Layer, MaxPool2d};
/// // 1 channel, 2 × 3 map, 2 × 2 windows, stride 1: a 1 × 2 output
/// let p = MaxPool2d::<1, 2, 1, 2, 3, 2>::new();
/// // PyTorch's [[1, 5, 2], [4, 3, 7]], column by column
/// let x = SMatrix::<f32, 6, 1>::from_column_slice(&[1.0, 4.0, 5.0, 3.0, 2.0, 7.0]);
/// assert_eq!(p.forward(&x), SMatrix::<f32, 2, 1>::new(5.0, 7.0));
/// ```
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{Layer, MaxPool2d};
/// let p = MaxPool2d::<1, 2, 1, 2, 3, 3>::new(); // must be 2
/// let _ = p.forward(&nalgebra::SMatrix::<f32, 6, 1>::zeros());
/// ```
pub type MaxPool2d<const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> =
    Pool2d<Max, C, K, S, H, W, NO>;

/// 2D average pooling: `y[c, h, w] = (Σ_{i,j} x[c, h·S + i, w·S + j]) / K²`
/// ([`Pool2d`], [`Avg`]).
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{AvgPool2d, Layer};
/// // 1 channel, 2 × 4 map, 2 × 2 windows, stride 2: a 1 × 2 output
/// let p = AvgPool2d::<1, 2, 2, 2, 4, 2>::new();
/// // PyTorch's [[1, 2, 3, 4], [5, 6, 7, 8]], column by column
/// let x = SMatrix::<f32, 8, 1>::from_column_slice(&[1.0, 5.0, 2.0, 6.0, 3.0, 7.0, 4.0, 8.0]);
/// assert_eq!(p.forward(&x), SMatrix::<f32, 2, 1>::new(3.5, 5.5));
/// ```
pub type AvgPool2d<const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> =
    Pool2d<Avg, C, K, S, H, W, NO>;

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize>
    Pool2d<R, C, K, S, H, W, NO>
{
    /// The output height and width, `conv_len(H, K, S, 0, 1)` and
    /// `conv_len(W, K, S, 0, 1)`; evaluating it checks every size of the
    /// type at compile time.
    pub const HWO: (usize, usize) = {
        out_2d(R::KIND_2D, C, K, S, 0, H, W, NO)
    };

    /// The layer (checks its sizes at compile time).
    pub const fn new() -> Self {
        let _ = Self::HWO;
        Self(PhantomData)
    }

    /// Where tap `t` (row `t / K`, column `t % K` of the window) reads for
    /// output position `p` of a batch: the offset of its `C` input values.
    #[inline(always)]
    fn src() -> impl Fn(usize, usize) -> usize {
        |p, t| {
            let (ho, wo) = Self::HWO;
            let (b, q) = (p / (ho * wo), p % (ho * wo));
            let (h, w) = ((q % ho) * S + t / K, (q / ho) * S + t % K);
            C * (b * H * W + h + H * w)
        }
    }

    /// The input size check of a pass on `N` values per sample.
    const fn input<const N: usize>() {
        expect(R::KIND_2D, "the input size (channels × height × width)", C * H * W, N, "");
        let _ = Self::HWO;
    }
}

// Derived impls would ask the same of `R`; these ask nothing.
impl<R, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Clone
    for Pool2d<R, C, K, S, H, W, NO>
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Copy
    for Pool2d<R, C, K, S, H, W, NO>
{
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Debug
    for Pool2d<R, C, K, S, H, W, NO>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}<{C}, {K}, {S}, {H}, {W}, {NO}>", R::KIND_2D)
    }
}

impl<R, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> PartialEq
    for Pool2d<R, C, K, S, H, W, NO>
{
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Default
    for Pool2d<R, C, K, S, H, W, NO>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Zeros
    for Pool2d<R, C, K, S, H, W, NO>
{
    #[inline]
    fn zeros() -> Self {
        Self::new()
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> ConstZeros
    for Pool2d<R, C, K, S, H, W, NO>
{
    /// Checks the sizes, as [`Self::new`] does.
    const ZEROS: Self = Self::new();
}

/// No tensors; exported source builds it with `new()`.
impl<R: Reduce, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Module
    for Pool2d<R, C, K, S, H, W, NO>
{
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new(R::KIND_2D)
        .rust(R::PATH_2D, "new")
        .dim("channels", C)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("height", H)
        .dim("width", W)
        .dim("out", NO);
}

impl<R: Reduce, T: Real, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for Pool2d<R, C, K, S, H, W, NO>
{
    type Output = SMatrix<T, NO, B>;

    #[inline]
    fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, NO, B> {
        let mut y = SMatrix::zeros();
        self.forward_train(x, &mut (), &mut y);
        y
    }
}

/// In an arena: the input at one end, the output written at the other.
impl<R: Reduce, T: Real + bytemuck::Pod, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for Pool2d<R, C, K, S, H, W, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { Self::input::<N>() };
        infer::step(arena, front, N * B, NO * B, |x, y| R::forward::<T, C>(K * K, x, y, Self::src()))
    }
}

#[diagnostic::do_not_recommend]
impl<R: Reduce, T: Real, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for Pool2d<R, C, K, S, H, W, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { Self::input::<N>() };
        R::forward::<T, C>(K * K, x.as_slice(), y.as_mut_slice(), Self::src());
    }

    /// No parameters: nothing that could be non-finite.
    #[inline]
    fn backward<D: Dx>(
        &self,
        x: &SMatrix<T, N, B>,
        y: &SMatrix<T, NO, B>,
        _cache: &(),
        dy: &SMatrix<T, NO, B>,
        _grads: &mut Self,
        _mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, N, B>>> {
        D::backward(
            |dx: &mut SMatrix<T, N, B>| {
                R::backward::<T, C>(K * K, x.as_slice(), y.as_slice(), dy.as_slice(), dx.as_mut_slice(), Self::src())
            },
            true,
        )
    }
}
