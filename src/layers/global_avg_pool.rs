//! Global average pooling: the mean of each channel over all positions of
//! a 1D or 2D feature map.

use super::pool1d::{Avg, Reduce};
use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::Real;
use crate::shape::{expect, require};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// The mean of each of `C` channels over all positions of a feature map:
/// `C` values per sample.
///
/// It takes any `SMatrix<T, N, B>` with `N` a multiple of `C` (checked at
/// compile time): a map of `N / C` positions in the crate's layout
/// ([`crate::shape`]: channel fastest), whether they are the `L` positions
/// of a 1D map or the `H × W` of a 2D one. `y[c] = (Σ_p x[c, p]) / (N/C)`,
/// summed in the order of the layout; PyTorch's `x.mean(dim=-1)` for
/// `[B, C, L]`, `nn.AdaptiveAvgPool2d(1)` followed by `nn.Flatten()` for
/// `[B, C, H, W]`. Backward adds `dy[c] / (N/C)` to every position of
/// channel `c`. No parameters, zero-sized, no cache.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{GlobalAvgPool, Layer};
/// // 2 channels at 3 positions: channel 0 is 1, 2, 6; channel 1 is 0, 4, 2
/// let x = SMatrix::<f32, 6, 1>::from_column_slice(&[1.0, 0.0, 2.0, 4.0, 6.0, 2.0]);
/// assert_eq!(GlobalAvgPool::<2>.forward(&x), SMatrix::<f32, 2, 1>::new(3.0, 2.0));
/// ```
///
/// An input that is not a whole number of positions does not build:
///
/// ```compile_fail
/// use stackprop::{GlobalAvgPool, Layer};
/// let _ = GlobalAvgPool::<4>.forward(&nalgebra::SMatrix::<f32, 6, 1>::zeros());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool<const C: usize>;

impl<const C: usize> GlobalAvgPool<C> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

/// The number of positions of an input of `n` values per sample over `c`
/// channels; fails the build (evaluated in a `const` block) unless `n` is
/// a positive multiple of `c`.
const fn positions(c: usize, n: usize) -> usize {
    require(c > 0, "GlobalAvgPool", "the number of channels must be at least 1");
    let p = if n / c > 0 { n / c } else { 1 };
    expect("GlobalAvgPool", "the input size (channels × positions)", c * p, n, "");
    p
}

impl<const C: usize> Zeros for GlobalAvgPool<C> {
    #[inline]
    fn zeros() -> Self {
        Self
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<const C: usize> ConstZeros for GlobalAvgPool<C> {
    const ZEROS: Self = Self;
}

/// No tensors; exported source builds it with `new()`.
impl<const C: usize> Module for GlobalAvgPool<C> {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("GlobalAvgPool").rust("stackprop::GlobalAvgPool", "new").dim("channels", C);
}

impl<T: Real, const C: usize, const N: usize, const B: usize> Layer<SMatrix<T, N, B>> for GlobalAvgPool<C> {
    type Output = SMatrix<T, C, B>;

    #[inline]
    fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, C, B> {
        let mut y = SMatrix::zeros();
        self.forward_train(x, &mut (), &mut y);
        y
    }
}

/// In an arena: the input at one end, the output written at the other.
impl<T: Real + bytemuck::Pod, const C: usize, const N: usize, const B: usize> Run<SMatrix<T, N, B>> for GlobalAvgPool<C>
{
    type Elem = T;
    const ARENA: usize = (N + C) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        let positions = const { positions(C, N) };
        infer::step(arena, front, N * B, C * B, |x, y| {
            Avg::forward::<T, C>(positions, x, y, |b, t| C * (b * positions + t))
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const N: usize, const B: usize> Train<SMatrix<T, N, B>> for GlobalAvgPool<C> {
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, C, B>) {
        let positions = const { positions(C, N) };
        Avg::forward::<T, C>(positions, x.as_slice(), y.as_mut_slice(), |b, t| C * (b * positions + t));
    }

    /// No parameters: nothing that could be non-finite.
    #[inline]
    fn backward<D: Dx>(
        &self,
        _x: &SMatrix<T, N, B>,
        _y: &SMatrix<T, C, B>,
        _cache: &(),
        dy: &SMatrix<T, C, B>,
        _grads: &mut Self,
        _mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, N, B>>> {
        let positions = const { positions(C, N) };
        D::backward(
            |dx: &mut SMatrix<T, N, B>| {
                Avg::backward::<T, C>(positions, &[], &[], dy.as_slice(), dx.as_mut_slice(), |b, t| C * (b * positions + t))
            },
            true,
        )
    }
}
