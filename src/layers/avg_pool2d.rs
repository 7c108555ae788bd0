//! 2D average pooling, PyTorch's `nn.AvgPool2d` without padding.

use super::avg_pool1d::{avg_backward, avg_forward};
use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::Real;
use crate::shape::{conv_len, expect, require};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// Average pooling over `K × K` windows, `S` apart in both directions, of
/// `C` channels of `H × W` maps; `NO` is the output size per sample,
/// `C × conv_len(H, K, S, 0, 1) × conv_len(W, K, S, 0, 1)` ([`conv_len`]),
/// checked at compile time.
///
/// `y[c, h, w] = (Σ_{i,j} x[c, h·S + i, w·S + j]) / K²`, PyTorch's
/// `nn.AvgPool2d(K, stride=S)` (no padding; PyTorch's default stride is
/// `K`, here it is explicit), summed row by row as PyTorch does. Input and
/// output are feature maps in the crate's layout ([`crate::shape`]:
/// `(c, h, w)` at `c + C·(h + H·w)`), `N = C·H·W` per sample. Backward adds
/// `dy / K²` to every element of the window. No parameters, zero-sized, no
/// cache.
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
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{AvgPool2d, Layer};
/// let p = AvgPool2d::<1, 2, 2, 2, 4, 4>::new(); // must be 2
/// let _ = p.forward(&nalgebra::SMatrix::<f32, 8, 1>::zeros());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool2d<
    const C: usize,
    const K: usize,
    const S: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
>;

impl<const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize>
    AvgPool2d<C, K, S, H, W, NO>
{
    /// The output height and width, `conv_len(H, K, S, 0, 1)` and
    /// `conv_len(W, K, S, 0, 1)`; evaluating it checks every size of the
    /// type at compile time.
    pub const HWO: (usize, usize) = {
        require(C > 0 && K > 0 && S > 0, "AvgPool2d", "channels, kernel size and stride must be at least 1");
        let (ho, wo) = (conv_len(H, K, S, 0, 1), conv_len(W, K, S, 0, 1));
        require(ho > 0 && wo > 0, "AvgPool2d", "the kernel is larger than the input");
        expect("AvgPool2d", "the output size (its last parameter, channels × output height × output width)", C * ho * wo, NO, "");
        (ho, wo)
    };

    /// The layer (checks its sizes at compile time).
    pub const fn new() -> Self {
        let _ = Self::HWO;
        Self
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
}

impl<const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Zeros
    for AvgPool2d<C, K, S, H, W, NO>
{
    #[inline]
    fn zeros() -> Self {
        Self
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> ConstZeros
    for AvgPool2d<C, K, S, H, W, NO>
{
    /// Checks the sizes, as [`Self::new`] does.
    const ZEROS: Self = Self::new();
}

/// No tensors; exported source builds it with `new()`.
impl<const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize> Module
    for AvgPool2d<C, K, S, H, W, NO>
{
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("AvgPool2d")
        .rust("stackprop::AvgPool2d", "new")
        .dim("channels", C)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("height", H)
        .dim("width", W)
        .dim("out", NO);
}

impl<T: Real, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for AvgPool2d<C, K, S, H, W, NO>
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
impl<T: Real + bytemuck::Pod, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for AvgPool2d<C, K, S, H, W, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { expect("AvgPool2d", "the input size (channels × height × width)", C * H * W, N, "") };
        let _ = Self::HWO;
        infer::step(arena, front, N * B, NO * B, |x, y| avg_forward::<T, C>(K * K, x, y, Self::src()))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const K: usize, const S: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for AvgPool2d<C, K, S, H, W, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { expect("AvgPool2d", "the input size (channels × height × width)", C * H * W, N, "") };
        let _ = Self::HWO;
        avg_forward::<T, C>(K * K, x.as_slice(), y.as_mut_slice(), Self::src());
    }

    /// No parameters: nothing that could be non-finite.
    #[inline]
    fn backward<D: Dx>(
        &self,
        _x: &SMatrix<T, N, B>,
        _y: &SMatrix<T, NO, B>,
        _cache: &(),
        dy: &SMatrix<T, NO, B>,
        _grads: &mut Self,
        _mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, N, B>>> {
        D::backward(
            |dx: &mut SMatrix<T, N, B>| avg_backward::<T, C>(K * K, dy.as_slice(), dx.as_mut_slice(), Self::src()),
            true,
        )
    }
}
