//! 1D average pooling, PyTorch's `nn.AvgPool1d` without padding; and the
//! average-pooling walk [`AvgPool2d`](crate::AvgPool2d) and
//! [`GlobalAvgPool`](crate::GlobalAvgPool) share.

use crate::lanes;
use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::{Real, lit};
use crate::shape::{conv_len, expect, require};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// Average pooling over windows of `K` positions, `S` apart, of `C`
/// channels of length `L`; `NO` is the output size per sample,
/// `C × conv_len(L, K, S, 0, 1)` ([`conv_len`]), checked at compile time.
///
/// `y[c, l] = (Σ_k x[c, l·S + k]) / K`, PyTorch's
/// `nn.AvgPool1d(K, stride=S)` (no padding; PyTorch's default stride is
/// `K`, here it is explicit). Input and output are feature maps in the
/// crate's layout ([`crate::shape`]: channel fastest), `N = C·L` per
/// sample. Backward adds `dy / K` to every element of the window (windows
/// that overlap, `K > S`, add into the same inputs). No parameters,
/// zero-sized, no cache.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{AvgPool1d, Layer};
/// // 2 channels of length 3, windows of 2, stride 1
/// let p = AvgPool1d::<2, 2, 1, 3, 4>::new();
/// // channel 0: 1, 3, 5; channel 1: 0, 2, -2 (position by position)
/// let x = SMatrix::<f32, 6, 1>::from_column_slice(&[1.0, 0.0, 3.0, 2.0, 5.0, -2.0]);
/// assert_eq!(p.forward(&x), SMatrix::<f32, 4, 1>::new(2.0, 1.0, 4.0, 0.0));
/// ```
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{AvgPool1d, Layer};
/// let p = AvgPool1d::<2, 2, 1, 3, 6>::new(); // must be 4
/// let _ = p.forward(&nalgebra::SMatrix::<f32, 6, 1>::zeros());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool1d<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize>;

impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize>
    AvgPool1d<C, K, S, L, NO>
{
    /// The output length, `conv_len(L, K, S, 0, 1)`; evaluating it checks
    /// every size of the type at compile time.
    pub const LO: usize = {
        require(C > 0 && K > 0 && S > 0, "AvgPool1d", "channels, kernel size and stride must be at least 1");
        let lo = conv_len(L, K, S, 0, 1);
        require(lo > 0, "AvgPool1d", "the kernel is longer than the input");
        expect("AvgPool1d", "the output size (its last parameter, channels × output length)", C * lo, NO, "");
        lo
    };

    /// The layer (checks its sizes at compile time).
    pub const fn new() -> Self {
        let _ = Self::LO;
        Self
    }

    /// Where tap `k` reads for output position `p` of a batch: the offset
    /// of its `C` input values.
    #[inline(always)]
    fn src() -> impl Fn(usize, usize) -> usize {
        |p, k| {
            let (b, l) = (p / Self::LO, p % Self::LO);
            C * (b * L + l * S + k)
        }
    }
}

/// `y[C·p + c] = (Σ_t x[src(p, t) + c]) / taps` over the taps of every
/// output position `p` (`y.len() / C` of them), summed in tap order.
#[inline]
pub(crate) fn avg_forward<T: Real, const C: usize>(
    taps: usize,
    x: &[T],
    y: &mut [T],
    src: impl Fn(usize, usize) -> usize,
) {
    let n = lit::<T>(taps as f64);
    for (p, s) in y.chunks_exact_mut(C).enumerate() {
        let o = src(p, 0);
        s.copy_from_slice(&x[o..o + C]);
        for t in 1..taps {
            let o = src(p, t);
            lanes::add_assign(s, &x[o..o + C]);
        }
        for s in s.iter_mut() {
            *s /= n;
        }
    }
}

/// Adds `dy[C·p + c] / taps` to `dx[src(p, t) + c]` for every tap `t` of
/// every output position `p`.
#[inline]
pub(crate) fn avg_backward<T: Real, const C: usize>(
    taps: usize,
    dy: &[T],
    dx: &mut [T],
    src: impl Fn(usize, usize) -> usize,
) {
    let n = lit::<T>(taps as f64);
    let mut g = [T::zero(); C];
    for (p, d) in dy.chunks_exact(C).enumerate() {
        for (g, &d) in g.iter_mut().zip(d) {
            *g = d / n;
        }
        for t in 0..taps {
            let o = src(p, t);
            lanes::add_assign(&mut dx[o..o + C], &g);
        }
    }
}

impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Zeros
    for AvgPool1d<C, K, S, L, NO>
{
    #[inline]
    fn zeros() -> Self {
        Self
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> ConstZeros
    for AvgPool1d<C, K, S, L, NO>
{
    /// Checks the sizes, as [`Self::new`] does.
    const ZEROS: Self = Self::new();
}

/// No tensors; exported source builds it with `new()`.
impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Module
    for AvgPool1d<C, K, S, L, NO>
{
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("AvgPool1d")
        .rust("stackprop::AvgPool1d", "new")
        .dim("channels", C)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("length", L)
        .dim("out", NO);
}

impl<T: Real, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for AvgPool1d<C, K, S, L, NO>
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
impl<T: Real + bytemuck::Pod, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for AvgPool1d<C, K, S, L, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { expect("AvgPool1d", "the input size (channels × length)", C * L, N, "") };
        let _ = Self::LO;
        infer::step(arena, front, N * B, NO * B, |x, y| avg_forward::<T, C>(K, x, y, Self::src()))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for AvgPool1d<C, K, S, L, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { expect("AvgPool1d", "the input size (channels × length)", C * L, N, "") };
        let _ = Self::LO;
        avg_forward::<T, C>(K, x.as_slice(), y.as_mut_slice(), Self::src());
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
            |dx: &mut SMatrix<T, N, B>| avg_backward::<T, C>(K, dy.as_slice(), dx.as_mut_slice(), Self::src()),
            true,
        )
    }
}
