//! The depthwise 2D convolution, PyTorch's `nn.Conv2d` with `groups` equal
//! to the channel count (and as many output channels as input channels).

use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{Data, DataMut, Desc, Elem, Module, ParamKind};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::shape::{conv_len, expect, out_2d};
use crate::zeros::{ConstZeros, Zeros};
use bytemuck::Pod;
use nalgebra::{SMatrix, SVector};

/// A depthwise 2D convolution of `C` channels of `H × W` maps: each channel
/// convolved with its own square `K × K` kernel, stride `S`, zero padding
/// `P` on every side; `NO` is the output size per sample, `C × HO × WO`
/// with `HO = conv_len(H, K, S, P, 1)` and `WO = conv_len(W, K, S, P, 1)`
/// ([`conv_len`]), checked at compile time.
///
/// `y[c, h, w] = b[c] + Σ_{kh,kw} W[c, 0, kh, kw] · x[c, h·S + kh − P,
/// w·S + kw − P]` (`x` zero outside the map), PyTorch's `nn.Conv2d(C, C, K,
/// stride=S, padding=P, groups=C)`. Samples are feature maps in the crate's
/// layout ([`crate::shape`]: channel fastest), a batch an
/// `SMatrix<T, N, B>` with `N = C·H·W`. Tensors: `weight` (PyTorch's shape
/// `[C, 1, K, K]`; stored as one `C`-vector per tap, `weight[kw][kh]` for
/// tap `(kh, kw)`, which is that shape's column-major order) and `bias`
/// (`[C]`). With the channels of a position contiguous, each tap is an
/// element-wise product of its weight vector and the input's channel
/// vector at the position it reads: forward, `∂J/∂w`, `∂J/∂b` and
/// `∂J/∂x` are short loops over `C` contiguous values (vectorized by the
/// compiler), no matrix products.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{DepthwiseConv2d, Layer};
/// // 2 channels, kernel 1 (a per-channel scale and shift) on a 1 × 2 map
/// let c = DepthwiseConv2d::<f32, 2, 1, 1, 0, 1, 2, 4>::from_fn(|c, _, _| [2.0, -1.0][c], |c| [0.0, 1.0][c]);
/// // (c, w) at c + 2·w
/// let y = c.forward(&SMatrix::<f32, 4, 1>::new(1.0, 10.0, 2.0, 20.0));
/// assert_eq!(y, SMatrix::<f32, 4, 1>::new(2.0, -9.0, 4.0, -19.0));
/// ```
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{DepthwiseConv2d, Layer};
/// let c = DepthwiseConv2d::<f32, 2, 3, 1, 0, 3, 3, 4>::zeros(); // must be 2
/// let _ = c.forward(&nalgebra::SMatrix::<f32, 18, 1>::zeros());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConv2d<
    T,
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
> {
    /// The weight of each tap `(kh, kw)`:
    /// `weight[kw][kh][c] = W[c, 0, kh, kw]`.
    pub weight: [[SVector<T, C>; K]; K],
    /// The bias, one per channel.
    pub bias: SVector<T, C>,
}

impl<
    T: Elem,
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
> DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    /// The output height, `conv_len(H, K, S, P, 1)`; evaluating it checks
    /// every size of the type at compile time.
    pub const HO: usize = {
        out_2d("DepthwiseConv2d", C, K, S, P, H, W, NO).0
    };

    /// The output width, `conv_len(W, K, S, P, 1)` (checked with
    /// [`Self::HO`]).
    pub const WO: usize = {
        let _ = Self::HO;
        conv_len(W, K, S, P, 1)
    };

    /// Number of parameters, `C·K² + C`.
    pub const PARAMS: usize = C * K * K + C;

    /// From nested arrays in a `const` context: `w[kw][kh][0][c] =
    /// W[c, 0, kh, kw]` (the column-major order of PyTorch's `[C, 1, K, K]`,
    /// the order of [`crate::export`]) and the bias. A model built this way
    /// can be a `static` whose weights stay in flash.
    ///
    /// ```
    /// use stackprop::DepthwiseConv2d;
    /// static C: DepthwiseConv2d<f32, 2, 2, 1, 0, 2, 2, 2> = DepthwiseConv2d::from_arrays(
    ///     [[[[1.0, 2.0]], [[3.0, 4.0]]], [[[5.0, 6.0]], [[7.0, 8.0]]]],
    ///     [0.5, -0.5],
    /// );
    /// assert_eq!(C.weight[1][0][1], 6.0); // W[1, 0, 0, 1]
    /// ```
    pub const fn from_arrays(w: [[[[T; C]; 1]; K]; K], b: [T; C]) -> Self {
        let _ = Self::HO;
        let mut weight = [[<SVector<T, C> as ConstZeros>::ZEROS; K]; K];
        let mut kw = 0;
        while kw < K {
            let mut kh = 0;
            while kh < K {
                weight[kw][kh] = SVector::from_array_storage(nalgebra::ArrayStorage(w[kw][kh]));
                kh += 1;
            }
            kw += 1;
        }
        Self { weight, bias: SVector::from_array_storage(nalgebra::ArrayStorage([b])) }
    }

    /// All weights and biases zero.
    pub const fn zeros() -> Self {
        <Self as ConstZeros>::ZEROS
    }

    /// Weights `w(c, kh, kw)` (`W[c, 0, kh, kw]`) and biases `b(c)` from
    /// functions of the indices.
    pub fn from_fn(mut w: impl FnMut(usize, usize, usize) -> T, mut b: impl FnMut(usize) -> T) -> Self {
        let mut d = Self::zeros();
        for (kw, col) in d.weight.iter_mut().enumerate() {
            for (kh, wt) in col.iter_mut().enumerate() {
                *wt = SVector::from_fn(|c, _| w(c, kh, kw));
            }
        }
        d.bias = SVector::from_fn(|c, _| b(c));
        d
    }
}

impl<
    T: Real,
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
> DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    /// Random weights and biases drawn by `init` from `rng`, with fan-in
    /// `K²` and fan-out `C·K²` (PyTorch's, from the weight's shape
    /// `[C, 1, K, K]`: [`Init::Torch`] is `nn.Conv2d`'s default).
    pub fn init(rng: &mut Rng, init: Init) -> Self {
        let mut d = Self::zeros();
        d.reinit(rng, init);
        d
    }

    /// Redraws the parameters in place.
    pub fn reinit(&mut self, rng: &mut Rng, init: Init) {
        for w in self.weight.as_flattened_mut().iter_mut().flat_map(|w| w.iter_mut()) {
            *w = rng.lanes(|r| init.weight(r, K * K, C * K * K));
        }
        for b in self.bias.iter_mut() {
            *b = rng.lanes(|r| init.bias(r, K * K));
        }
    }

    /// Calls `f(o, t, i)` for every output position of a batch of `B`
    /// samples and every tap `t = kh + K·kw` that reads inside the map: `o`
    /// and `i` are the offsets of the `C` output values and of the `C`
    /// input values the tap reads.
    #[inline(always)]
    fn taps<const B: usize>(mut f: impl FnMut(usize, usize, usize)) {
        for b in 0..B {
            for wo in 0..Self::WO {
                for ho in 0..Self::HO {
                    let o = C * (ho + Self::HO * (wo + Self::WO * b));
                    for kw in 0..K {
                        let Some(w) = (wo * S + kw).checked_sub(P).filter(|&w| w < W) else { continue };
                        for kh in 0..K {
                            let Some(h) = (ho * S + kh).checked_sub(P).filter(|&h| h < H) else { continue };
                            f(o, kh + K * kw, C * (h + H * (w + W * b)));
                        }
                    }
                }
            }
        }
    }

    /// The forward pass on flat slices (`B` samples of `N` and `NO`
    /// values): `y = b`, then for each tap `y[·, p] += w_t ⊙ x[·, q]`.
    #[inline(always)]
    fn forward_slices<const N: usize, const B: usize>(&self, x: &[T], y: &mut [T])
    where
        T: Real,
    {
        const { expect("DepthwiseConv2d", "the input size (channels × height × width)", C * H * W, N, "") };
        for yp in y.chunks_exact_mut(C) {
            yp.copy_from_slice(self.bias.as_slice());
        }
        let w = self.weight.as_flattened();
        Self::taps::<B>(|o, t, i| {
            for ((y, &w), &x) in y[o..o + C].iter_mut().zip(w[t].as_slice()).zip(&x[i..i + C]) {
                *y += w * x;
            }
        });
    }
}

/// In an arena: the input at one end, the output written at the other.
impl<T: Real + Pod, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        infer::step(arena, front, N * B, NO * B, |x, y| self.forward_slices::<N, B>(x, y))
    }
}

impl<T: Elem, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    Zeros for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    fn zeros() -> Self {
        Self::zeros()
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
        self.bias.set_zero();
    }
}

impl<T: Elem, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    ConstZeros for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    /// Evaluating it checks the sizes ([`DepthwiseConv2d::HO`]), so a
    /// `static` of a wrong type fails even `cargo check`.
    const ZEROS: Self = {
        let _ = Self::HO;
        Self { weight: ConstZeros::ZEROS, bias: ConstZeros::ZEROS }
    };
}

impl<T: Elem, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    Default for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    /// All zeros.
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Elem + Pod, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    Module for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    type Scalar = T;
    const DESC: Desc = Desc::new("DepthwiseConv2d")
        .rust("stackprop::DepthwiseConv2d", "from_arrays")
        .scalar::<T>()
        .dim("channels", C)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("padding", P)
        .dim("height", H)
        .dim("width", W)
        .dim("out", NO)
        .tensor::<T>("weight", ParamKind::Weight, &[C, 1, K, K])
        .tensor::<T>("bias", ParamKind::Bias, &[C]);

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(bytemuck::cast_slice::<_, T>(self.weight.as_flattened()).into()),
            1 => Some(self.bias.as_slice().into()),
            _ => None,
        }
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(bytemuck::cast_slice_mut::<_, T>(self.weight.as_flattened_mut()).into()),
            1 => Some(self.bias.as_mut_slice().into()),
            _ => None,
        }
    }
}

impl<T: Real, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    type Output = SMatrix<T, NO, B>;

    #[inline]
    fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, NO, B> {
        let mut y = SMatrix::zeros();
        self.forward_train(x, &mut (), &mut y);
        y
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for DepthwiseConv2d<T, C, K, S, P, H, W, NO>
{
    type Cache = ();

    /// `y = b`, then for each tap `y[·, p] += w_t ⊙ x[·, q]` over the `C`
    /// channels of output position `p` and the input position `q` it reads.
    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        self.forward_slices::<N, B>(x.as_slice(), y.as_mut_slice());
    }

    /// `∂J/∂w_t = Σ dy[·, p] ⊙ x[·, q]`, `∂J/∂b = Σ dy[·, p]` and
    /// `∂J/∂x[·, q] += w_t ⊙ dy[·, p]` over the positions and taps of the
    /// forward pass. In [`Grads::Write`] mode zeroes `grads` first.
    #[inline]
    fn backward<Dd: Dx>(
        &self,
        x: &SMatrix<T, N, B>,
        _y: &SMatrix<T, NO, B>,
        _cache: &(),
        dy: &SMatrix<T, NO, B>,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<Dd::Out<SMatrix<T, N, B>>> {
        if mode == Grads::Write {
            grads.set_zero();
        }
        let (x, dy) = (x.as_slice(), dy.as_slice());
        for dyp in dy.chunks_exact(C) {
            for (g, &d) in grads.bias.as_mut_slice().iter_mut().zip(dyp) {
                *g += d;
            }
        }
        let gw = grads.weight.as_flattened_mut();
        Self::taps::<B>(|o, t, i| {
            for ((g, &d), &x) in gw[t].as_mut_slice().iter_mut().zip(&dy[o..o + C]).zip(&x[i..i + C]) {
                *g += d * x;
            }
        });
        let w = self.weight.as_flattened();
        Dd::backward(|dx: &mut SMatrix<T, N, B>| {
            let dx = dx.as_mut_slice();
            Self::taps::<B>(|o, t, i| {
                for ((g, &w), &d) in dx[i..i + C].iter_mut().zip(w[t].as_slice()).zip(&dy[o..o + C]) {
                    *g += w * d;
                }
            });
        }, false)
    }
}
