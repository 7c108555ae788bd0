//! 1D pooling, PyTorch's `nn.MaxPool1d` and `nn.AvgPool1d` without
//! padding: one layer, [`Pool1d`], over a window reduction, [`Max`] or
//! [`Avg`] (the walks [`Pool2d`](crate::Pool2d) and
//! [`GlobalAvgPool`](crate::GlobalAvgPool) share).

use crate::infer::{self, Run};
use crate::lanes;
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::{Real, lit};
use crate::shape::{expect, out_1d};
use crate::zeros::{ConstZeros, Zeros};
use core::fmt::Debug;
use core::marker::PhantomData;
use nalgebra::SMatrix;

/// How a pooling window is reduced: [`Max`] or [`Avg`]. A window is
/// `taps` input vectors of `C` channels, tap `t` of output position `p` at
/// offset `src(p, t)`; the output holds `C` values per position.
pub trait Reduce: Copy + Default + Debug + PartialEq + 'static {
    /// The layer kind of a 1D window (`"MaxPool1d"`).
    const KIND_1D: &'static str;
    /// The layer kind of a 2D window (`"MaxPool2d"`).
    const KIND_2D: &'static str;
    /// Its Rust path in 1D (`"stackprop::MaxPool1d"`).
    const PATH_1D: &'static str;
    /// Its Rust path in 2D.
    const PATH_2D: &'static str;
    /// `y[C·p + c]` = the reduction of `x[src(p, t) + c]` over the taps.
    fn forward<T: Real, const C: usize>(taps: usize, x: &[T], y: &mut [T], src: impl Fn(usize, usize) -> usize);
    /// Adds `∂J/∂x` for `dy` to `dx`, given the forward pass's `x` and `y`.
    fn backward<T: Real, const C: usize>(
        taps: usize,
        x: &[T],
        y: &[T],
        dy: &[T],
        dx: &mut [T],
        src: impl Fn(usize, usize) -> usize,
    );
}

/// The maximum of a window. Backward adds `dy` to the window's first
/// maximal element (PyTorch's choice on ties; in 2D, row by row); windows
/// that overlap add into the same input. A window holding NaN gives NaN,
/// as in PyTorch, and its gradient goes to its first NaN (PyTorch's to its
/// last).
///
/// The arg-max is not cached: backward finds it again as the first element
/// of the window equal to the output `y` (or NaN), from the `x` and `y`
/// the enclosing sequence keeps anyway. That costs as many comparisons as
/// the forward pass and no memory, where a cache of indices would cost an
/// index per output and per sample — and, over a SIMD pack
/// ([`crate::scalar`]), one per lane, since each lane's arg-max is its
/// own. The output is a copy of one of the inputs, so the comparison finds
/// exactly the element forward chose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Max;

/// The mean of a window, summed in tap order (in 2D, row by row, as
/// PyTorch's CPU kernel sums). Backward adds `dy / taps` to every element
/// of the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Avg;

/// Whether `v` replaces the running maximum `m`: larger, or NaN (which
/// then stays), lane by lane.
#[inline(always)]
fn beats<T: Real>(v: T, m: T) -> T::SimdBool {
    v.simd_gt(m) | v.simd_ne(v)
}

impl Reduce for Max {
    const KIND_1D: &'static str = "MaxPool1d";
    const KIND_2D: &'static str = "MaxPool2d";
    const PATH_1D: &'static str = "stackprop::MaxPool1d";
    const PATH_2D: &'static str = "stackprop::MaxPool2d";

    #[inline]
    fn forward<T: Real, const C: usize>(taps: usize, x: &[T], y: &mut [T], src: impl Fn(usize, usize) -> usize) {
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

    /// Lane by lane, the first tap whose value is the window's maximum (or
    /// NaN) takes the gradient.
    #[inline]
    fn backward<T: Real, const C: usize>(
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
}

impl Reduce for Avg {
    const KIND_1D: &'static str = "AvgPool1d";
    const KIND_2D: &'static str = "AvgPool2d";
    const PATH_1D: &'static str = "stackprop::AvgPool1d";
    const PATH_2D: &'static str = "stackprop::AvgPool2d";

    #[inline]
    fn forward<T: Real, const C: usize>(taps: usize, x: &[T], y: &mut [T], src: impl Fn(usize, usize) -> usize) {
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

    #[inline]
    fn backward<T: Real, const C: usize>(
        taps: usize,
        _x: &[T],
        _y: &[T],
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
}

/// Pooling over windows of `K` positions, `S` apart, of `C` channels of
/// length `L`, reduced by `R` ([`Max`], [`Avg`]); `NO` is the output size
/// per sample, `C × conv_len(L, K, S, 0, 1)` ([`conv_len`](crate::shape::conv_len)), checked at
/// compile time. Use it as [`MaxPool1d`] or [`AvgPool1d`].
///
/// PyTorch's `nn.MaxPool1d(K, stride=S)` / `nn.AvgPool1d(K, stride=S)` (no
/// padding, dilation 1; PyTorch's default stride is `K`, here it is
/// explicit). Input and output are feature maps in the crate's layout
/// ([`crate::shape`]: channel fastest), `N = C·L` per sample. It has no
/// parameters and is zero-sized, generic over the scalar like
/// [`crate::Relu`]; its cache is `()`.
pub struct Pool1d<R, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize>(
    PhantomData<R>,
);

/// 1D max pooling: `y[c, l] = max_k x[c, l·S + k]` ([`Pool1d`], [`Max`]).
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
pub type MaxPool1d<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> =
    Pool1d<Max, C, K, S, L, NO>;

/// 1D average pooling: `y[c, l] = (Σ_k x[c, l·S + k]) / K` ([`Pool1d`],
/// [`Avg`]).
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
pub type AvgPool1d<const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> =
    Pool1d<Avg, C, K, S, L, NO>;

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize>
    Pool1d<R, C, K, S, L, NO>
{
    /// The output length, `conv_len(L, K, S, 0, 1)`; evaluating it checks
    /// every size of the type at compile time.
    pub const LO: usize = {
        out_1d(R::KIND_1D, "channels × output length", C, K, S, 0, 1, L, NO)
    };

    /// The layer (checks its sizes at compile time).
    pub const fn new() -> Self {
        let _ = Self::LO;
        Self(PhantomData)
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

    /// The input size check of a pass on `N` values per sample.
    const fn input<const N: usize>() {
        expect(R::KIND_1D, "the input size (channels × length)", C * L, N, "");
        let _ = Self::LO;
    }
}

// Derived impls would ask the same of `R`; these ask nothing.
impl<R, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Clone
    for Pool1d<R, C, K, S, L, NO>
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Copy
    for Pool1d<R, C, K, S, L, NO>
{
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Debug
    for Pool1d<R, C, K, S, L, NO>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}<{C}, {K}, {S}, {L}, {NO}>", R::KIND_1D)
    }
}

impl<R, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> PartialEq
    for Pool1d<R, C, K, S, L, NO>
{
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Default
    for Pool1d<R, C, K, S, L, NO>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Zeros
    for Pool1d<R, C, K, S, L, NO>
{
    #[inline]
    fn zeros() -> Self {
        Self::new()
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<R: Reduce, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> ConstZeros
    for Pool1d<R, C, K, S, L, NO>
{
    /// Checks the sizes, as [`Self::new`] does.
    const ZEROS: Self = Self::new();
}

/// No tensors; exported source builds it with `new()`.
impl<R: Reduce, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize> Module
    for Pool1d<R, C, K, S, L, NO>
{
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new(R::KIND_1D)
        .rust(R::PATH_1D, "new")
        .dim("channels", C)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("length", L)
        .dim("out", NO);
}

impl<R: Reduce, T: Real, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for Pool1d<R, C, K, S, L, NO>
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
impl<R: Reduce, T: Real + bytemuck::Pod, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for Pool1d<R, C, K, S, L, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { Self::input::<N>() };
        infer::step(arena, front, N * B, NO * B, |x, y| R::forward::<T, C>(K, x, y, Self::src()))
    }
}

#[diagnostic::do_not_recommend]
impl<R: Reduce, T: Real, const C: usize, const K: usize, const S: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for Pool1d<R, C, K, S, L, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { Self::input::<N>() };
        R::forward::<T, C>(K, x.as_slice(), y.as_mut_slice(), Self::src());
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
                R::backward::<T, C>(K, x.as_slice(), y.as_slice(), dy.as_slice(), dx.as_mut_slice(), Self::src())
            },
            true,
        )
    }
}
