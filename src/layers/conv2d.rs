//! The 2D convolution, PyTorch's `nn.Conv2d` with a square kernel and zero
//! padding.

use crate::infer::{self, Run};
use crate::kernels::conv::{BLOCK, Scalars, Vectors, conv_backward, conv_forward};
use crate::layer::{Backward, Dx, Grads, Layer, Train, backward_slices};
use crate::module::{Data, DataMut, Desc, Elem, Module, ParamKind};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::shape::{conv_len, expect, out_2d, require};
use crate::zeros::{ConstZeros, Zeros};
use bytemuck::Pod;
use nalgebra::{SMatrix, SVector};

/// A 2D convolution from `CI` channels of `H × W` maps to `CO` channels:
/// square kernel `K × K`, stride `S` and zero padding `P` on every side;
/// `NO` is the output size per sample, `CO × HO × WO` with
/// `HO = conv_len(H, K, S, P, 1)` and `WO = conv_len(W, K, S, P, 1)`
/// ([`conv_len`]), checked at compile time.
///
/// `y[o, h, w] = b[o] + Σ_{i,kh,kw} W[o, i, kh, kw] · x[i, h·S + kh − P,
/// w·S + kw − P]` (`x` zero outside the map), PyTorch's `nn.Conv2d(CI, CO,
/// K, stride=S, padding=P)`. Samples are feature maps in the crate's layout
/// ([`crate::shape`]: channel fastest, then row, then column), a batch an
/// `SMatrix<T, N, B>` with `N = CI·H·W`. Tensors: `weight` (PyTorch's shape
/// `[CO, CI, K, K]`; stored as one `CO × CI` matrix per tap, `weight[kw][kh]`
/// for tap `(kh, kw)`, which is that shape's column-major order) and `bias`
/// (`[CO]`). Forward and backward are sums over the `K²` taps of matrix
/// products ([`crate::kernels`]), as in [`crate::Conv1d`]; backward puts
/// `∂J/∂W_t = Σ dY·X_tᵀ` and `∂J/∂b = Σ dY` into the gradient and returns
/// `∂J/∂x = Σ_t W_tᵀ·dY`, each added where tap `t` read.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Conv2d, Layer};
/// // 1 channel → 1 channel, kernel 2: y[h, w] = x[h, w] − x[h + 1, w + 1]
/// // on a 2 × 3 map (stored column by column) → 1 × 2
/// let c = Conv2d::<f32, 1, 1, 2, 1, 0, 2, 3, 2>::from_fn(
///     |_, _, kh, kw| if (kh, kw) == (0, 0) { 1.0 } else if (kh, kw) == (1, 1) { -1.0 } else { 0.0 },
///     |_| 0.0,
/// );
/// // x = [[1, 2, 3], [4, 5, 6]]
/// let y = c.forward(&SMatrix::<f32, 6, 1>::from_column_slice(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]));
/// assert_eq!(y, SMatrix::<f32, 2, 1>::new(1.0 - 5.0, 2.0 - 6.0));
/// ```
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{Conv2d, Layer};
/// let c = Conv2d::<f32, 1, 1, 2, 1, 0, 2, 3, 3>::zeros(); // must be 2
/// let _ = c.forward(&nalgebra::SMatrix::<f32, 6, 1>::zeros());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<
    T,
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
> {
    /// The weight of each tap `(kh, kw)`:
    /// `weight[kw][kh][(o, i)] = W[o, i, kh, kw]`.
    pub weight: [[SMatrix<T, CO, CI>; K]; K],
    /// The bias, one per output channel.
    pub bias: SVector<T, CO>,
}

impl<
    T: Elem,
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
> Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    /// The output height, `conv_len(H, K, S, P, 1)`; evaluating it checks
    /// every size of the type at compile time.
    pub const HO: usize = {
        require(CI > 0, "Conv2d", "the input channels must be at least 1");
        out_2d("Conv2d", CO, K, S, P, H, W, NO).0
    };

    /// The output width, `conv_len(W, K, S, P, 1)` (checked with
    /// [`Self::HO`]).
    pub const WO: usize = {
        let _ = Self::HO;
        conv_len(W, K, S, P, 1)
    };

    /// Number of parameters, `CO·CI·K² + CO`.
    pub const PARAMS: usize = CO * CI * K * K + CO;

    /// From nested arrays in a `const` context: `w[kw][kh][i][o] =
    /// W[o, i, kh, kw]` (the column-major order of PyTorch's
    /// `[CO, CI, K, K]`, the order of [`crate::export`]) and the bias. A
    /// model built this way can be a `static` whose weights stay in flash.
    ///
    /// ```
    /// use stackprop::Conv2d;
    /// static C: Conv2d<f32, 1, 2, 2, 1, 0, 2, 2, 2> = Conv2d::from_arrays(
    ///     [[[[1.0, 2.0]], [[3.0, 4.0]]], [[[5.0, 6.0]], [[7.0, 8.0]]]],
    ///     [0.5, -0.5],
    /// );
    /// assert_eq!(C.weight[1][0][(1, 0)], 6.0); // W[1, 0, 0, 1]
    /// ```
    pub const fn from_arrays(w: [[[[T; CO]; CI]; K]; K], b: [T; CO]) -> Self {
        let _ = Self::HO;
        let mut weight = [[<SMatrix<T, CO, CI> as ConstZeros>::ZEROS; K]; K];
        let mut kw = 0;
        while kw < K {
            let mut kh = 0;
            while kh < K {
                weight[kw][kh] = SMatrix::from_array_storage(nalgebra::ArrayStorage(w[kw][kh]));
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

    /// Weights `w(o, i, kh, kw)` and biases `b(o)` from functions of the
    /// indices.
    pub fn from_fn(
        mut w: impl FnMut(usize, usize, usize, usize) -> T,
        mut b: impl FnMut(usize) -> T,
    ) -> Self {
        let mut c = Self::zeros();
        for (kw, col) in c.weight.iter_mut().enumerate() {
            for (kh, wt) in col.iter_mut().enumerate() {
                *wt = SMatrix::from_fn(|o, i| w(o, i, kh, kw));
            }
        }
        c.bias = SVector::from_fn(|o, _| b(o));
        c
    }
}

impl<
    T: Real,
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
> Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    /// Random weights and biases drawn by `init` from `rng`, with fan-in
    /// `CI·K²` and fan-out `CO·K²` (PyTorch's: [`Init::Torch`] is
    /// `nn.Conv2d`'s default).
    pub fn init(rng: &mut Rng, init: Init) -> Self {
        let mut c = Self::zeros();
        c.reinit(rng, init);
        c
    }

    /// Redraws the parameters in place.
    pub fn reinit(&mut self, rng: &mut Rng, init: Init) {
        for w in self.weight.as_flattened_mut().iter_mut().flat_map(|w| w.iter_mut()) {
            *w = rng.lanes(|r| init.weight(r, CI * K * K, CO * K * K));
        }
        for b in self.bias.iter_mut() {
            *b = rng.lanes(|r| init.bias(r, CI * K * K));
        }
    }

    /// The forward pass on flat slices: with one input channel the `K` taps
    /// of a kernel column are one `CO × K` product per block of positions
    /// ([`Scalars`]: inner dimension `K`, not 1), else one `CO × CI`
    /// product per tap.
    #[inline(always)]
    fn conv(&self, x: &[T], y: &mut [T])
    where
        T: Pod,
    {
        if CI == 1 {
            let w: &[SMatrix<T, CO, K>; K] = bytemuck::cast_ref(&self.weight);
            conv_forward(w, Some(&self.bias), x, y, &Scalars(Self::src()))
        } else {
            conv_forward(self.weight.as_flattened(), Some(&self.bias), x, y, &Vectors(Self::src()))
        }
    }

    /// The backward pass on flat slices (see [`Self::conv`]).
    #[inline(always)]
    fn conv_back(&self, x: &[T], dy: &[T], grads: &mut Self, dx: Option<&mut [T]>)
    where
        T: Pod,
    {
        let gb = Some(&mut grads.bias);
        if CI == 1 {
            let w: &[SMatrix<T, CO, K>; K] = bytemuck::cast_ref(&self.weight);
            let gw: &mut [SMatrix<T, CO, K>; K] = bytemuck::cast_mut(&mut grads.weight);
            conv_backward(w, x, dy, gw, gb, dx, &Scalars(Self::src()))
        } else {
            let (w, gw) = (self.weight.as_flattened(), grads.weight.as_flattened_mut());
            conv_backward(w, x, dy, gw, gb, dx, &Vectors(Self::src()))
        }
    }

    /// Where tap `t = kh + K·kw` reads for output position `p` of a batch
    /// (`ho + HO·wo` within a sample): the offset of its `CI` input values,
    /// or `None` in the padding.
    #[inline(always)]
    fn src() -> impl Fn(usize, usize) -> Option<usize> {
        |p, t| {
            let (ho_n, wo_n) = (Self::HO, Self::WO);
            let (b, q) = (p / (ho_n * wo_n), p % (ho_n * wo_n));
            let (ho, wo) = (q % ho_n, q / ho_n);
            let (kh, kw) = (t % K, t / K);
            let h = (ho * S + kh).checked_sub(P)?;
            let w = (wo * S + kw).checked_sub(P)?;
            (h < H && w < W).then_some(CI * (b * H * W + h + H * w))
        }
    }
}

impl<T: Elem, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    Zeros for Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    fn zeros() -> Self {
        Self::zeros()
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
        self.bias.set_zero();
    }
}

impl<T: Elem, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    ConstZeros for Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    /// Evaluating it checks the sizes ([`Conv2d::HO`]), so a `static` of a
    /// wrong type fails even `cargo check`.
    const ZEROS: Self = {
        let _ = Self::HO;
        Self { weight: ConstZeros::ZEROS, bias: ConstZeros::ZEROS }
    };
}

impl<T: Elem, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    Default for Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    /// All zeros.
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Elem + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize>
    Module for Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    type Scalar = T;
    const DESC: Desc = Desc::new("Conv2d")
        .rust("stackprop::Conv2d", "from_arrays")
        .scalar::<T>()
        .dim("in_channels", CI)
        .dim("out_channels", CO)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("padding", P)
        .dim("height", H)
        .dim("width", W)
        .dim("out", NO)
        .tensor::<T>("weight", ParamKind::Weight, &[CO, CI, K, K])
        .tensor::<T>("bias", ParamKind::Bias, &[CO]);

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

impl<T: Real + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for Conv2d<T, CI, CO, K, S, P, H, W, NO>
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
impl<T: Real + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;
    /// The gathered inputs and two output blocks of [`crate::kernels`]' convolution.
    const SCRATCH: usize = (CI + 2 * CO) * BLOCK * core::mem::size_of::<T>();

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { expect("Conv2d", "the input size (in channels × height × width)", CI * H * W, N, "") };
        infer::step(arena, front, N * B, NO * B, |x, y| {
            self.conv(x, y)
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for Conv2d<T, CI, CO, K, S, P, H, W, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { expect("Conv2d", "the input size (in channels × height × width)", CI * H * W, N, "") };
        self.conv(x.as_slice(), y.as_mut_slice());
    }

    /// In [`Grads::Write`] mode zeroes `grads` first.
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
        backward_slices::<Dd, T, N, B>(false, |dx| self.conv_back(x.as_slice(), dy.as_slice(), grads, dx))
    }
}
