//! The dense layer with bias, `Y = W·X + b·1ᵀ`.

use crate::error::Error;
use crate::finite::all_finite;
use crate::kernels;
use crate::layer::Layer;
use crate::params::{ParamKind, Params};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::zeros::Zeros;
use nalgebra::{SMatrix, SVector};

/// A dense layer from `I` inputs to `O` outputs with bias:
/// `Y = W·X + b·1ᵀ` for a batch `X: I×B` (one column per sample).
///
/// Backward adds `∂J/∂W = dY·Xᵀ` and `∂J/∂b = dY·1` into the gradient and
/// returns `∂J/∂X = Wᵀ·dY`. Parameter tensors: `0` the weight (`O×I`,
/// column-major, [`ParamKind::Weight`]), `1` the bias ([`ParamKind::Bias`]).
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

    /// From a weight given row-major (`O` rows of `I`, PyTorch's
    /// `nn.Linear.weight` layout) and a bias. Errors if a length is wrong or
    /// a value is not finite.
    ///
    /// ```
    /// let l = stackprop::Linear::<f32, 2, 1>::from_slices(&[1.0, 2.0], &[3.0]).unwrap();
    /// assert_eq!(l.weight[(0, 1)], 2.0);
    /// assert!(stackprop::Linear::<f32, 2, 1>::from_slices(&[f32::NAN, 0.0], &[0.0]).is_err());
    /// ```
    pub fn from_slices(weight_row_major: &[T], bias: &[T]) -> Result<Self, Error> {
        check_slice("weight", weight_row_major, O * I)?;
        check_slice("bias", bias, O)?;
        Ok(Self {
            weight: SMatrix::from_row_slice(weight_row_major),
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
        for w in self.weight.iter_mut() {
            *w = rng.lanes(|r| init.weight(r, I, O));
        }
        for b in self.bias.iter_mut() {
            *b = rng.lanes(|r| init.bias(r, I));
        }
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

impl<T: crate::zeros::ConstZeros + Copy, const I: usize, const O: usize> crate::zeros::ConstZeros
    for Linear<T, I, O>
{
    const ZEROS: Self =
        Self { weight: crate::zeros::ConstZeros::ZEROS, bias: crate::zeros::ConstZeros::ZEROS };
}

impl<T: Real, const I: usize, const O: usize> Params<T> for Linear<T, I, O> {
    const TENSORS: usize = 2;
    const LEN: usize = O * I + O;

    fn tensor(&self, i: usize) -> Option<(ParamKind, &[T])> {
        match i {
            0 => Some((ParamKind::Weight, self.weight.as_slice())),
            1 => Some((ParamKind::Bias, self.bias.as_slice())),
            _ => None,
        }
    }

    fn tensor_mut(&mut self, i: usize) -> Option<(ParamKind, &mut [T])> {
        match i {
            0 => Some((ParamKind::Weight, self.weight.as_mut_slice())),
            1 => Some((ParamKind::Bias, self.bias.as_mut_slice())),
            _ => None,
        }
    }
}

impl<T: Real, const I: usize, const O: usize, const B: usize> Layer<SMatrix<T, I, B>>
    for Linear<T, I, O>
{
    type Output = SMatrix<T, O, B>;
    type Cache = ();

    #[inline]
    fn forward(&self, x: &SMatrix<T, I, B>) -> SMatrix<T, O, B> {
        kernels::affine(&self.weight, x, Some(&self.bias))
    }

    /// [`kernels::affine_into`], not [`Layer::forward`]'s
    /// [`kernels::affine`]: see the latter's docs on weights just stored.
    #[inline]
    fn forward_train(&self, x: &SMatrix<T, I, B>, _: &mut ()) -> SMatrix<T, O, B> {
        let mut y = kernels::zeroed();
        kernels::affine_into(&self.weight, x, Some(&self.bias), &mut y);
        y
    }

    #[inline]
    fn forward_train_into(&self, x: &SMatrix<T, I, B>, _: &mut (), out: &mut SMatrix<T, O, B>) {
        kernels::affine_into(&self.weight, x, Some(&self.bias), out)
    }

    #[inline]
    fn backward(
        &self,
        x: &SMatrix<T, I, B>,
        y: &SMatrix<T, O, B>,
        cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
    ) -> SMatrix<T, I, B> {
        self.backward_params(x, y, cache, dy, grads);
        kernels::tr_matmul(&self.weight, dy)
    }

    #[inline]
    fn backward_params(
        &self,
        x: &SMatrix<T, I, B>,
        _y: &SMatrix<T, O, B>,
        _cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
    ) {
        kernels::matmul_tr_acc(&mut grads.weight, dy, x);
        kernels::row_sums_acc(&mut grads.bias, dy);
    }

    #[inline]
    fn backward_into(
        &self,
        x: &SMatrix<T, I, B>,
        y: &SMatrix<T, O, B>,
        cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
    ) -> SMatrix<T, I, B> {
        self.backward_into_checked(x, y, cache, dy, grads).0
    }

    /// Writes `dY·Xᵀ` and `dY·1` over `grads` ([`kernels::matmul_tr`]), so
    /// the weight gradient is neither zeroed first nor read.
    #[inline]
    fn backward_params_into(
        &self,
        x: &SMatrix<T, I, B>,
        y: &SMatrix<T, O, B>,
        cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
    ) {
        let _ = self.backward_params_into_checked(x, y, cache, dy, grads);
    }

    /// Known finite when the weight-gradient kernel watched its values
    /// (`f32` on x86-64) and the bias gradient is finite (checked here).
    #[inline]
    fn backward_into_checked(
        &self,
        x: &SMatrix<T, I, B>,
        y: &SMatrix<T, O, B>,
        cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
    ) -> (SMatrix<T, I, B>, bool) {
        let known = self.backward_params_into_checked(x, y, cache, dy, grads);
        (kernels::tr_matmul(&self.weight, dy), known)
    }

    #[inline]
    fn backward_params_into_checked(
        &self,
        x: &SMatrix<T, I, B>,
        _y: &SMatrix<T, O, B>,
        _cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
    ) -> bool {
        let known = kernels::matmul_tr_known_finite(&mut grads.weight, dy, x);
        kernels::row_sums(&mut grads.bias, dy);
        known && all_finite(grads.bias.as_slice())
    }
}
