//! The dense layer with bias, `Y = W·X + b·1ᵀ`.

use crate::error::Error;
use crate::finite::all_finite;
use crate::infer::{self, Run};
use crate::kernels;
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{Data, DataMut, Desc, Elem, Module, ParamKind};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::{SMatrix, SVector};

/// A dense layer from `I` inputs to `O` outputs with bias:
/// `Y = W·X + b·1ᵀ` for a batch `X: I×B` (one column per sample).
///
/// Backward puts `∂J/∂W = dY·Xᵀ` and `∂J/∂b = dY·1` into the gradient and
/// returns `∂J/∂X = Wᵀ·dY`. Tensors: `weight` (PyTorch's shape `[O, I]`,
/// stored column-major as nalgebra's `O×I`, [`ParamKind::Weight`]) and
/// `bias` (`[O]`, [`ParamKind::Bias`]): the state dict of PyTorch's
/// `nn.Linear(I, O)`.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Layer, Linear};
/// let l = Linear::<f32, 3, 2>::from_fn(|o, i| (o + i) as f32, |o| o as f32);
/// let x = SMatrix::<f32, 3, 1>::new(1.0, 1.0, 1.0);
/// assert_eq!(l.forward(&x), SMatrix::<f32, 2, 1>::new(3.0, 7.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<T, const I: usize, const O: usize> {
    /// The weight matrix `W`, `O×I`.
    pub weight: SMatrix<T, O, I>,
    /// The bias `b`, one per output.
    pub bias: SVector<T, O>,
}

impl<T: Real, const I: usize, const O: usize> Linear<T, I, O> {
    /// Number of parameters, `O·I + O`.
    ///
    /// ```
    /// assert_eq!(stackprop::Linear::<f32, 784, 256>::PARAMS, 784 * 256 + 256);
    /// ```
    pub const PARAMS: usize = O * I + O;

    /// From the columns of the weight and the bias, in a `const` context:
    /// `w[i]` holds the `O` weights of input `i` (the column-major storage
    /// order of [`Linear::weight`]). A model built this way can be a `static`
    /// whose weights stay in flash; [`crate::export`] writes such source.
    ///
    /// ```
    /// use stackprop::Linear;
    /// static L: Linear<f32, 2, 3> =
    ///     Linear::from_columns([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [0.5, 0.0, -0.5]);
    /// assert_eq!((L.weight[(2, 1)], L.bias[2]), (6.0, -0.5));
    /// ```
    pub const fn from_columns(w: [[T; O]; I], b: [T; O]) -> Self {
        Self {
            weight: SMatrix::from_array_storage(nalgebra::ArrayStorage(w)),
            bias: SVector::from_array_storage(nalgebra::ArrayStorage([b])),
        }
    }

    /// All weights and biases zero.
    pub fn zeros() -> Self {
        Self { weight: Zeros::zeros(), bias: Zeros::zeros() }
    }

    /// Weights `w(o, i)` and biases `b(o)` from functions of the indices.
    ///
    /// ```
    /// let l = stackprop::Linear::<f64, 2, 2>::from_fn(|o, i| (o * 2 + i) as f64, |_| 0.5);
    /// assert_eq!(l.weight[(1, 0)], 2.0);
    /// ```
    pub fn from_fn(w: impl FnMut(usize, usize) -> T, mut b: impl FnMut(usize) -> T) -> Self {
        Self { weight: SMatrix::from_fn(w), bias: SVector::from_fn(|o, _| b(o)) }
    }

    /// From the weight's values column-major (the `O` weights of input 0,
    /// then of input 1, …: the order of [`Linear::from_columns`], of the
    /// weight's tensor and of weight files) and the bias. Errors if a length
    /// is wrong or a value is not finite.
    ///
    /// ```
    /// use stackprop::{Error, Linear};
    /// let l = Linear::<f32, 2, 3>::from_column_slices(&[1., 2., 3., 4., 5., 6.], &[0.; 3]).unwrap();
    /// assert_eq!(l.weight[(2, 1)], 6.0); // output 2, input 1: value 2 + 1·3
    /// assert!(Linear::<f32, 2, 1>::from_column_slices(&[f32::NAN, 0.0], &[0.0]).is_err());
    /// assert_eq!(Linear::<f32, 2, 1>::from_column_slices(&[1.0], &[0.0]),
    ///            Err(Error::LengthMismatch { what: "weight", expected: 2, found: 1 }));
    /// ```
    pub fn from_column_slices(weight: &[T], bias: &[T]) -> Result<Self, Error> {
        check_slice("weight", weight, O * I)?;
        check_slice("bias", bias, O)?;
        Ok(Self {
            weight: SMatrix::from_column_slice(weight),
            bias: SVector::from_column_slice(bias),
        })
    }

    /// Random weights and biases drawn by `init` from `rng`.
    ///
    /// ```
    /// use stackprop::{rng::{Init, Rng}, Linear};
    /// let a = Linear::<f32, 3, 3>::init(&mut Rng::new(5), Init::XavierUniform);
    /// let b = Linear::<f32, 3, 3>::init(&mut Rng::new(5), Init::XavierUniform);
    /// assert_eq!(a, b);
    /// ```
    pub fn init(rng: &mut Rng, init: Init) -> Self {
        let mut l = Self::zeros();
        l.reinit(rng, init);
        l
    }

    /// Redraws the parameters in place (no copy of the layer on the stack).
    pub fn reinit(&mut self, rng: &mut Rng, init: Init) {
        reinit_weight(&mut self.weight, rng, init);
        for b in self.bias.iter_mut() {
            *b = rng.lanes(|r| init.bias(r, I));
        }
    }
}

/// Draws the weights of a dense layer (shared with [`crate::LinearNoBias`]).
pub(super) fn reinit_weight<T: Real, const I: usize, const O: usize>(
    w: &mut SMatrix<T, O, I>,
    rng: &mut Rng,
    init: Init,
) {
    for w in w.iter_mut() {
        *w = rng.lanes(|r| init.weight(r, I, O));
    }
}

pub(crate) fn check_slice<T: Real>(what: &'static str, s: &[T], n: usize) -> Result<(), Error> {
    if s.len() != n {
        return Err(Error::LengthMismatch { what, expected: n, found: s.len() });
    }
    if !s.iter().all(|&v| crate::scalar::is_finite(v)) {
        return Err(Error::NonFinite { what });
    }
    Ok(())
}

impl<T: Real, const I: usize, const O: usize> Default for Linear<T, I, O> {
    /// All zeros.
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Real, const I: usize, const O: usize> Zeros for Linear<T, I, O> {
    fn zeros() -> Self {
        Self::zeros()
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
        self.bias.set_zero();
    }
}

impl<T: Elem, const I: usize, const O: usize> ConstZeros for Linear<T, I, O> {
    const ZEROS: Self = Self { weight: ConstZeros::ZEROS, bias: ConstZeros::ZEROS };
}

impl<T: Elem, const I: usize, const O: usize> Module for Linear<T, I, O> {
    type Scalar = T;
    const DESC: Desc = Desc::new("Linear")
        .rust("stackprop::Linear", "from_columns")
        .scalar::<T>()
        .dim("in", I)
        .dim("out", O)
        .tensor::<T>("weight", ParamKind::Weight, &[O, I])
        .tensor::<T>("bias", ParamKind::Bias, &[O]);

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(self.weight.as_slice().into()),
            1 => Some(self.bias.as_slice().into()),
            _ => None,
        }
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(self.weight.as_mut_slice().into()),
            1 => Some(self.bias.as_mut_slice().into()),
            _ => None,
        }
    }
}

impl<T: Real, const I: usize, const O: usize, const B: usize> Layer<SMatrix<T, I, B>>
    for Linear<T, I, O>
{
    type Output = SMatrix<T, O, B>;

    #[inline]
    fn forward(&self, x: &SMatrix<T, I, B>) -> SMatrix<T, O, B> {
        kernels::affine(&self.weight, x, Some(&self.bias))
    }
}

/// In an arena: the input at one end, `W·X + b` written at the other.
impl<T: Real + bytemuck::Pod, const I: usize, const O: usize, const B: usize> Run<SMatrix<T, I, B>>
    for Linear<T, I, O>
{
    type Elem = T;
    const ARENA: usize = (I + O) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        infer::step(arena, front, I * B, O * B, |x, y| {
            kernels::affine_into(&self.weight, infer::matrix::<T, I, B>(x), Some(&self.bias), infer::matrix_mut(y))
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const I: usize, const O: usize, const B: usize> Train<SMatrix<T, I, B>>
    for Linear<T, I, O>
{
    type Cache = ();

    /// [`kernels::affine_into`], not [`Layer::forward`]'s
    /// [`kernels::affine`]: see the latter's docs on weights just stored.
    #[inline]
    fn forward_train(&self, x: &SMatrix<T, I, B>, _: &mut (), y: &mut SMatrix<T, O, B>) {
        kernels::affine_into(&self.weight, x, Some(&self.bias), y)
    }

    /// In [`Grads::Write`] mode writes `dY·Xᵀ` and `dY·1` over `grads`
    /// ([`kernels::matmul_tr`]), so the weight gradient is neither zeroed
    /// first nor read; known finite when the weight-gradient kernel watched
    /// its values (`f32` on x86-64) and the bias gradient is finite
    /// (checked here).
    #[inline]
    fn backward<D: Dx>(
        &self,
        x: &SMatrix<T, I, B>,
        _y: &SMatrix<T, O, B>,
        _cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, I, B>>> {
        dense_backward::<D, T, I, O, B>(&self.weight, x, dy, &mut grads.weight, Some(&mut grads.bias), mode)
    }
}

/// The backward pass of a dense layer, with or without bias (shared with
/// [`crate::LinearNoBias`]). Always inlined, so that the mode a caller
/// passes is a constant in each layer's code.
#[inline(always)]
pub(super) fn dense_backward<D: Dx, T: Real, const I: usize, const O: usize, const B: usize>(
    w: &SMatrix<T, O, I>,
    x: &SMatrix<T, I, B>,
    dy: &SMatrix<T, O, B>,
    gw: &mut SMatrix<T, O, I>,
    gb: Option<&mut SVector<T, O>>,
    mode: Grads,
) -> Backward<D::Out<SMatrix<T, I, B>>> {
    let finite = match mode {
        Grads::Add => {
            kernels::matmul_tr_acc(gw, dy, x);
            if let Some(gb) = gb {
                kernels::row_sums_acc(gb, dy);
            }
            false
        }
        Grads::Write => {
            let known = kernels::matmul_tr_known_finite(gw, dy, x);
            match gb {
                Some(gb) => {
                    kernels::row_sums(gb, dy);
                    known && all_finite(gb.as_slice())
                }
                None => known,
            }
        }
    };
    D::backward(|dx| kernels::tr_matmul_into(w, dy, dx), finite)
}
