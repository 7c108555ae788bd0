//! The dense layer without bias, `Y = W·X` (the d2l seed's `z = W⁽¹⁾x`).

use crate::error::Error;
use crate::kernels;
use crate::layer::Layer;
use crate::layers::linear::check_slice;
use crate::params::{ParamKind, Params};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::zeros::Zeros;
use nalgebra::SMatrix;

/// A dense layer from `I` inputs to `O` outputs without bias: `Y = W·X`.
///
/// Backward adds `∂J/∂W = dY·Xᵀ` and returns `∂J/∂X = Wᵀ·dY`. One parameter
/// tensor: the weight (`O×I`, column-major, [`ParamKind::Weight`]).
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Layer, LinearNoBias};
/// let l = LinearNoBias::<f64, 2, 2>::from_fn(|o, i| if o == i { 2.0 } else { 0.0 });
/// assert_eq!(l.forward(&SMatrix::<f64, 2, 1>::new(1.0, 3.0)), SMatrix::<f64, 2, 1>::new(2.0, 6.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LinearNoBias<T, const I: usize, const O: usize> {
    /// The weight matrix `W`, `O×I`.
    pub weight: SMatrix<T, O, I>,
}

impl<T: Real, const I: usize, const O: usize> LinearNoBias<T, I, O> {
    /// Number of parameters, `O·I`.
    ///
    /// ```
    /// assert_eq!(stackprop::LinearNoBias::<f32, 784, 256>::PARAMS, 784 * 256);
    /// ```
    pub const PARAMS: usize = O * I;

    /// From the columns of the weight, in a `const` context: `w[i]` holds
    /// the `O` weights of input `i` (the column-major storage order of
    /// [`LinearNoBias::weight`]). A model built this way can be a `static`
    /// whose weights stay in flash; [`crate::export`] writes such source.
    ///
    /// ```
    /// use stackprop::LinearNoBias;
    /// static L: LinearNoBias<f64, 2, 1> = LinearNoBias::from_columns([[1.5], [-2.0]]);
    /// assert_eq!(L.weight[(0, 1)], -2.0);
    /// ```
    pub const fn from_columns(w: [[T; O]; I]) -> Self {
        Self { weight: SMatrix::from_array_storage(nalgebra::ArrayStorage(w)) }
    }

    /// All weights zero.
    pub fn zeros() -> Self {
        Self { weight: Zeros::zeros() }
    }

    /// Weights `w(o, i)` from a function of the indices.
    pub fn from_fn(w: impl FnMut(usize, usize) -> T) -> Self {
        Self { weight: SMatrix::from_fn(w) }
    }

    /// From a weight given row-major (`O` rows of `I`). Errors if the length
    /// is wrong or a value is not finite.
    ///
    /// ```
    /// let l = stackprop::LinearNoBias::<f32, 2, 1>::from_slice(&[1.0, 2.0]).unwrap();
    /// assert_eq!(l.weight[(0, 1)], 2.0);
    /// assert!(stackprop::LinearNoBias::<f32, 2, 1>::from_slice(&[1.0]).is_err());
    /// ```
    pub fn from_slice(weight_row_major: &[T]) -> Result<Self, Error> {
        check_slice("weight", weight_row_major, O * I)?;
        Ok(Self { weight: SMatrix::from_row_slice(weight_row_major) })
    }

    /// Random weights drawn by `init` from `rng`.
    ///
    /// ```
    /// use stackprop::{rng::{Init, Rng}, LinearNoBias};
    /// let l = LinearNoBias::<f32, 3, 2>::init(&mut Rng::new(1), Init::HeNormal);
    /// assert!(l.weight.iter().any(|&w| w != 0.0));
    /// ```
    pub fn init(rng: &mut Rng, init: Init) -> Self {
        let mut l = Self::zeros();
        l.reinit(rng, init);
        l
    }

    /// Redraws the weights in place.
    pub fn reinit(&mut self, rng: &mut Rng, init: Init) {
        for w in self.weight.iter_mut() {
            *w = rng.lanes(|r| init.weight(r, I, O));
        }
    }
}

impl<T: Real, const I: usize, const O: usize> Default for LinearNoBias<T, I, O> {
    /// All zeros.
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Real, const I: usize, const O: usize> Zeros for LinearNoBias<T, I, O> {
    fn zeros() -> Self {
        Self::zeros()
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
    }
}

impl<T: crate::zeros::ConstZeros + Copy, const I: usize, const O: usize> crate::zeros::ConstZeros
    for LinearNoBias<T, I, O>
{
    const ZEROS: Self = Self { weight: crate::zeros::ConstZeros::ZEROS };
}

impl<T: Real, const I: usize, const O: usize> Params<T> for LinearNoBias<T, I, O> {
    const TENSORS: usize = 1;
    const LEN: usize = O * I;

    fn tensor(&self, i: usize) -> Option<(ParamKind, &[T])> {
        (i == 0).then(|| (ParamKind::Weight, self.weight.as_slice()))
    }

    fn tensor_mut(&mut self, i: usize) -> Option<(ParamKind, &mut [T])> {
        (i == 0).then(|| (ParamKind::Weight, self.weight.as_mut_slice()))
    }
}

impl<T: Real, const I: usize, const O: usize, const B: usize> Layer<SMatrix<T, I, B>>
    for LinearNoBias<T, I, O>
{
    type Output = SMatrix<T, O, B>;
    type Cache = ();

    #[inline]
    fn forward(&self, x: &SMatrix<T, I, B>) -> SMatrix<T, O, B> {
        kernels::affine(&self.weight, x, None)
    }

    /// [`kernels::affine_into`], not [`Layer::forward`]'s
    /// [`kernels::affine`]: see the latter's docs on weights just stored.
    #[inline]
    fn forward_train(&self, x: &SMatrix<T, I, B>, _: &mut ()) -> SMatrix<T, O, B> {
        let mut y = kernels::zeroed();
        kernels::affine_into(&self.weight, x, None, &mut y);
        y
    }

    #[inline]
    fn forward_train_into(&self, x: &SMatrix<T, I, B>, _: &mut (), out: &mut SMatrix<T, O, B>) {
        kernels::affine_into(&self.weight, x, None, out)
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

    /// Writes `dY·Xᵀ` over `grads` ([`kernels::matmul_tr`]).
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
    /// (`f32` on x86-64).
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
        kernels::matmul_tr_known_finite(&mut grads.weight, dy, x)
    }
}
