//! The 1D convolution, PyTorch's `nn.Conv1d` with zero padding.

use crate::infer::{self, Run};
use crate::kernels::conv::{BLOCK, Scalars, Vectors, conv_backward, conv_forward};
use crate::layer::{Backward, Dx, Grads, Layer, Train, backward_slices};
use crate::module::{Data, DataMut, Desc, Elem, Module, ParamKind};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::shape::{expect_product, out_1d, require};
use crate::zeros::{ConstZeros, Zeros};
use bytemuck::Pod;
use nalgebra::{SMatrix, SVector};

/// A 1D convolution from `CI` channels of length `L` to `CO` channels:
/// kernel size `K`, stride `S`, zero padding `P` on both ends, dilation
/// `D`; `NO` is the output size per sample, `CO × conv_len(L, K, S, P, D)`
/// ([`conv_len`](crate::shape::conv_len)), checked at compile time.
///
/// `y[o, l] = b[o] + Σ_{i,k} W[o, i, k] · x[i, l·S + k·D − P]` (`x` zero
/// outside `0..L`), PyTorch's `nn.Conv1d(CI, CO, K, stride=S, padding=P,
/// dilation=D)`. Samples are feature maps in the crate's layout
/// ([`crate::shape`]: channel fastest), a batch an `SMatrix<T, N, B>` with
/// `N = CI·L`. Tensors: `weight` (PyTorch's shape `[CO, CI, K]`; stored as
/// one `CO × CI` matrix per tap, which is that shape's column-major order)
/// and `bias` (`[CO]`). Forward and backward are sums over the taps of
/// matrix products ([`crate::kernels`]); backward puts `∂J/∂W_k = Σ dY·X_kᵀ`
/// and `∂J/∂b = Σ dY` into the gradient and returns `∂J/∂x = Σ_k W_kᵀ·dY`,
/// each added where tap `k` read.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Conv1d, Layer};
/// // 1 channel → 1 channel, kernel 2: y[l] = x[l] − x[l + 1] (length 4 → 3)
/// let c = Conv1d::<f32, 1, 1, 2, 1, 0, 1, 4, 3>::from_fn(|_, _, k| [1.0, -1.0][k], |_| 0.0);
/// let y = c.forward(&SMatrix::<f32, 4, 1>::new(1.0, 4.0, 9.0, 16.0));
/// assert_eq!(y, SMatrix::<f32, 3, 1>::new(-3.0, -5.0, -7.0));
/// ```
///
/// A wrong output size does not build:
///
/// ```compile_fail
/// use stackprop::{Conv1d, Layer};
/// let c = Conv1d::<f32, 1, 1, 2, 1, 0, 1, 4, 4>::zeros(); // must be 3
/// let _ = c.forward(&nalgebra::SMatrix::<f32, 4, 1>::zeros());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv1d<
    T,
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    const L: usize,
    const NO: usize,
> {
    /// The weight of each tap `k`: `weight[k][(o, i)] = W[o, i, k]`.
    pub weight: [SMatrix<T, CO, CI>; K],
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
    const D: usize,
    const L: usize,
    const NO: usize,
> Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    /// The output length, `conv_len(L, K, S, P, D)`; evaluating it checks
    /// every size of the type at compile time.
    pub const LO: usize = {
        require(CI > 0, "Conv1d", "the input channels must be at least 1");
        out_1d("Conv1d", "out channels × output length", CO, K, S, P, D, L, NO)
    };

    /// Number of parameters, `CO·CI·K + CO`.
    pub const PARAMS: usize = CO * CI * K + CO;

    /// From nested arrays in a `const` context: `w[k][i][o] = W[o, i, k]`
    /// (the column-major order of PyTorch's `[CO, CI, K]`, the order of
    /// [`crate::export`]) and the bias. A model built this way can be a
    /// `static` whose weights stay in flash.
    ///
    /// ```
    /// use stackprop::Conv1d;
    /// static C: Conv1d<f32, 1, 2, 2, 1, 0, 1, 3, 4> =
    ///     Conv1d::from_arrays([[[1.0, 2.0]], [[3.0, 4.0]]], [0.5, -0.5]);
    /// assert_eq!(C.weight[1][(0, 0)], 3.0); // W[0, 0, 1]
    /// ```
    pub const fn from_arrays(w: [[[T; CO]; CI]; K], b: [T; CO]) -> Self {
        let _ = Self::LO;
        let mut weight = [<SMatrix<T, CO, CI> as ConstZeros>::ZEROS; K];
        let mut k = 0;
        while k < K {
            weight[k] = SMatrix::from_array_storage(nalgebra::ArrayStorage(w[k]));
            k += 1;
        }
        Self { weight, bias: SVector::from_array_storage(nalgebra::ArrayStorage([b])) }
    }

    /// All weights and biases zero.
    pub const fn zeros() -> Self {
        <Self as ConstZeros>::ZEROS
    }

    /// Weights `w(o, i, k)` and biases `b(o)` from functions of the indices.
    pub fn from_fn(mut w: impl FnMut(usize, usize, usize) -> T, mut b: impl FnMut(usize) -> T) -> Self {
        let mut c = Self::zeros();
        for (k, wk) in c.weight.iter_mut().enumerate() {
            *wk = SMatrix::from_fn(|o, i| w(o, i, k));
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
    const D: usize,
    const L: usize,
    const NO: usize,
> Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    /// Random weights and biases drawn by `init` from `rng`, with fan-in
    /// `CI·K` and fan-out `CO·K` (PyTorch's: [`Init::Torch`] is
    /// `nn.Conv1d`'s default).
    pub fn init(rng: &mut Rng, init: Init) -> Self {
        let mut c = Self::zeros();
        c.reinit(rng, init);
        c
    }

    /// Redraws the parameters in place.
    pub fn reinit(&mut self, rng: &mut Rng, init: Init) {
        for w in self.weight.iter_mut().flat_map(|w| w.iter_mut()) {
            *w = rng.lanes(|r| init.weight(r, CI * K, CO * K));
        }
        for b in self.bias.iter_mut() {
            *b = rng.lanes(|r| init.bias(r, CI * K));
        }
    }

    /// The forward pass on flat slices: with one input channel the `K` taps
    /// are one `CO × K` product per block of positions ([`Scalars`]: inner
    /// dimension `K`, not 1), else one `CO × CI` product per tap.
    #[inline(always)]
    fn conv(&self, x: &[T], y: &mut [T])
    where
        T: Pod,
    {
        if CI == 1 {
            let w: &SMatrix<T, CO, K> = bytemuck::cast_ref(&self.weight);
            conv_forward(core::slice::from_ref(w), Some(&self.bias), x, y, &Scalars(Self::src()))
        } else {
            conv_forward(&self.weight, Some(&self.bias), x, y, &Vectors(Self::src()))
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
            let w: &SMatrix<T, CO, K> = bytemuck::cast_ref(&self.weight);
            let gw: &mut SMatrix<T, CO, K> = bytemuck::cast_mut(&mut grads.weight);
            let (w, gw) = (core::slice::from_ref(w), core::slice::from_mut(gw));
            conv_backward(w, x, dy, gw, gb, dx, &Scalars(Self::src()))
        } else {
            conv_backward(&self.weight, x, dy, &mut grads.weight, gb, dx, &Vectors(Self::src()))
        }
    }

    /// Where tap `k` reads for output position `p` of a batch: the offset
    /// of its `CI` input values, or `None` in the padding.
    #[inline(always)]
    fn src() -> impl Fn(usize, usize) -> Option<usize> {
        |p, k| {
            let (b, l) = (p / Self::LO, p % Self::LO);
            let i = (l * S + k * D).checked_sub(P)?;
            (i < L).then_some(CI * (b * L + i))
        }
    }
}

impl<T: Elem, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize>
    Zeros for Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    fn zeros() -> Self {
        Self::zeros()
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
        self.bias.set_zero();
    }
}

impl<T: Elem, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize>
    ConstZeros for Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    /// Evaluating it checks the sizes ([`Conv1d::LO`]), so a `static` of a
    /// wrong type fails even `cargo check`.
    const ZEROS: Self = {
        let _ = Self::LO;
        Self { weight: ConstZeros::ZEROS, bias: ConstZeros::ZEROS }
    };
}

impl<T: Elem, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize>
    Default for Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    /// All zeros.
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Elem + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize>
    Module for Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    type Scalar = T;
    const DESC: Desc = Desc::new("Conv1d")
        .rust("stackprop::Conv1d", "from_arrays")
        .scalar::<T>()
        .dim("in_channels", CI)
        .dim("out_channels", CO)
        .dim("kernel_size", K)
        .dim("stride", S)
        .dim("padding", P)
        .dim("dilation", D)
        .dim("length", L)
        .dim("out", NO)
        .tensor::<T>("weight", ParamKind::Weight, &[CO, CI, K])
        .tensor::<T>("bias", ParamKind::Bias, &[CO]);

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(bytemuck::cast_slice::<_, T>(&self.weight[..]).into()),
            1 => Some(self.bias.as_slice().into()),
            _ => None,
        }
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(bytemuck::cast_slice_mut::<_, T>(&mut self.weight[..]).into()),
            1 => Some(self.bias.as_mut_slice().into()),
            _ => None,
        }
    }
}

impl<T: Real + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Layer<SMatrix<T, N, B>> for Conv1d<T, CI, CO, K, S, P, D, L, NO>
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
impl<T: Real + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Run<SMatrix<T, N, B>> for Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    type Elem = T;
    const ARENA: usize = (N + NO) * B;
    /// The gathered inputs and two output blocks of [`crate::kernels`]' convolution.
    const SCRATCH: usize = (CI + 2 * CO) * BLOCK * core::mem::size_of::<T>();

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { expect_product("Conv1d", "the input size", CI, L, "in channels × length", N) };
        infer::step(arena, front, N * B, NO * B, |x, y| {
            self.conv(x, y)
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real + Pod, const CI: usize, const CO: usize, const K: usize, const S: usize, const P: usize, const D: usize, const L: usize, const NO: usize, const N: usize, const B: usize>
    Train<SMatrix<T, N, B>> for Conv1d<T, CI, CO, K, S, P, D, L, NO>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, NO, B>) {
        const { expect_product("Conv1d", "the input size", CI, L, "in channels × length", N) };
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
