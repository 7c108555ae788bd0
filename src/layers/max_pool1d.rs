//! 1D max pooling, PyTorch's `nn.MaxPool1d` without padding; and the
//! max-pooling walk [`MaxPool2d`](crate::MaxPool2d) shares.

use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::Real;
use crate::shape::{conv_len, expect, require};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// Max pooling over windows of `K` positions, `S` apart, of `C` channels of
/// length `L`; `NO` is the output size per sample,
/// `C × conv_len(L, K, S, 0, 1)` ([`conv_len`]), checked at compile time.
///
/// `y[c, l] = max_k x[c, l·S + k]`, PyTorch's `nn.MaxPool1d(K, stride=S)`
/// (no padding, dilation 1; PyTorch's default stride is `K`, here it is
/// explicit). Input and output are feature maps in the crate's layout
/// ([`crate::shape`]: channel fastest), `N = C·L` per sample. It has no
/// parameters and is zero-sized, generic over the scalar like
/// [`crate::Relu`].
///
/// Backward adds `dy` of each window to the window's first maximal element
/// (PyTorch's choice on ties); windows that overlap (`K > S`) add into the
/// same input. A window holding NaN gives NaN, as in PyTorch, and its
/// gradient goes to its first NaN (PyTorch's to its last).
///
/// The arg-max is not cached: backward finds it again as the first element
/// of the window equal to the output `y` (or NaN), from the `x` and `y`
/// the enclosing sequence keeps anyway. That costs `K` comparisons per
/// output, as many as the forward pass, and no memory, where a cache of
/// indices would cost an index per output and per sample — and, over a
/// SIMD pack ([`crate::scalar`]), one per lane, since each lane's
/// arg-max is its own. The output of the forward pass is a copy of one of
/// its inputs, so the comparison finds exactly the element forward chose.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Layer, MaxPool1d};
/// // 1 channel of length 5, windows of 2, stride 2: the last value is dropped
/// let p = MaxPool1d::<1, 2, 2, 5, 2>::new();
/// let y = p.forward(&SMatrix::<f32, 5, 1>::new(1.0, 3.0, 2.0, -1.0, 9.0));
/// assert_eq!(y, SMatrix::<f32, 2, 1>::new(3.0, 2.0));
/// ```
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{Layer, MaxPool1d};
/// let p = MaxPool1d::<1, 2, 2, 5, 3>::new(); // must be 2
/// let _ = p.forward(&nalgebra::SMatrix::<f32, 5, 1>::zeros());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool1d<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize>;

impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize>
    MaxPool1d<C, K, S, L, NO>
{
    /// The output length, `conv_len(L, K, S, 0, 1)`; evaluating it checks
    /// every size of the type at compile time.
    pub const LO: usize = {
        require(C > 0 && K > 0 && S > 0, "MaxPool1d", "channels, kernel size and stride must be at least 1");
        let lo = conv_len(L, K, S, 0, 1);
        require(lo > 0, "MaxPool1d", "the kernel is longer than the input");
        expect("MaxPool1d", "the output size (its last parameter, channels × output length)", C * lo, NO, "");
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

/// Whether `v` replaces the running maximum `m`: larger, or NaN (which
/// then stays), lane by lane.
#[inline(always)]
fn beats<T: Real>(v: T, m: T) -> T::SimdBool {
    v.simd_gt(m) | v.simd_ne(v)
}

/// `y[C·p + c] = max_t x[src(p, t) + c]` over the `taps` taps of every
/// output position `p` (`y.len() / C` of them), lane by lane.
#[inline]
pub(crate) fn max_forward<T: Real, const C: usize>(
    taps: usize,
    x: &[T],
    y: &mut [T],
    src: impl Fn(usize, usize) -> usize,
) {
    for (p, m) in y.chunks_exact_mut(C).enumerate() {
        let o = src(p, 0);
        m.copy_from_slice(&x[o..o + C]);
        for t in 1..taps {
            let o = src(p, t);
            for (m, &v) in m.iter_mut().zip(&x[o..o + C]) {
                *m = v.select(beats(v, *m), *m);
            }
        }
    }
}

/// Adds `dy[C·p + c]` to `dx` at the first tap `t` of output position `p`
/// whose `x[src(p, t) + c]` is the window's maximum `y[C·p + c]` (or
/// NaN), lane by lane.
#[inline]
pub(crate) fn max_backward<T: Real, const C: usize>(
    taps: usize,
    x: &[T],
    y: &[T],
    dy: &[T],
    dx: &mut [T],
    src: impl Fn(usize, usize) -> usize,
) {
    for (p, (m, g)) in y.chunks_exact(C).zip(dy.chunks_exact(C)).enumerate() {
        // the gradient not yet routed: zero in a lane once its maximum is found
        let mut left = [T::zero(); C];
        left.copy_from_slice(g);
        for t in 0..taps {
            let o = src(p, t);
            for (((d, &v), &m), l) in dx[o..o + C].iter_mut().zip(&x[o..o + C]).zip(m).zip(&mut left) {
                let hit = v.simd_eq(m) | v.simd_ne(v);
                *d = (*d + *l).select(hit, *d);
                *l = T::zero().select(hit, *l);
            }
        }
    }
}

impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Zeros
    for MaxPool1d<C, K, S, L, NO>
{
    #[inline]
    fn zeros() -> Self {
        Self
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> ConstZeros
    for MaxPool1d<C, K, S, L, NO>
{
    /// Checks the sizes, as [`Self::new`] does.
    const ZEROS: Self = Self::new();
}

/// No tensors; exported source builds it with `new()`.
impl<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Module
    for MaxPool1d<C, K, S, L, NO>
{
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("MaxPool1d")
        .rust("stackprop::MaxPool1d", "new")
        .dim("channels", C)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("length", L)
        .dim("out", NO);
}

impl<T: Real, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for MaxPool1d<C, K, S, L, NO>
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
    Run<SMatrix<T, N, B>> for MaxPool1d<C, K, S, L, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { expect("MaxPool1d", "the input size (channels × length)", C * L, N, "") };
        let _ = Self::LO;
        infer::step(arena, front, N * B, NO * B, |x, y| max_forward::<T, C>(K, x, y, Self::src()))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for MaxPool1d<C, K, S, L, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { expect("MaxPool1d", "the input size (channels × length)", C * L, N, "") };
        let _ = Self::LO;
        max_forward::<T, C>(K, x.as_slice(), y.as_mut_slice(), Self::src());
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
                max_backward::<T, C>(K, x.as_slice(), y.as_slice(), dy.as_slice(), dx.as_mut_slice(), Self::src())
            },
            true,
        )
    }
}
