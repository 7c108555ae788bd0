//! The dense layer without bias, `Y = W·X` (the d2l seed's `z = W⁽¹⁾x`).

use super::linear::{check_slice, dense_backward, reinit_weight};
use crate::error::Error;
use crate::infer::{self, Run};
use crate::kernels;
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{Data, DataMut, Desc, Elem, Module, ParamKind};
use crate::rng::{Init, Rng};
use crate::scalar::Real;
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// A dense layer from `I` inputs to `O` outputs without bias: `Y = W·X`.
///
/// Backward puts `∂J/∂W = dY·Xᵀ` into the gradient and returns
/// `∂J/∂X = Wᵀ·dY`. One tensor, `weight` (`[O, I]`, column-major,
/// [`ParamKind::Weight`]): PyTorch's `nn.Linear(I, O, bias=False)`. The
/// products are [`crate::Linear`]'s, without the bias.
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

    /// From the weight's values column-major (as
    /// [`crate::Linear::from_column_slices`]). Errors if the length is wrong
    /// or a value is not finite.
    ///
    /// ```
    /// let l = stackprop::LinearNoBias::<f32, 2, 2>::from_column_slice(&[1., 2., 3., 4.]).unwrap();
    /// assert_eq!(l.weight[(0, 1)], 3.0);
    /// assert!(stackprop::LinearNoBias::<f32, 2, 1>::from_column_slice(&[1.0]).is_err());
    /// ```
    pub fn from_column_slice(weight: &[T]) -> Result<Self, Error> {
        check_slice("weight", weight, O * I)?;
        Ok(Self { weight: SMatrix::from_column_slice(weight) })
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
        reinit_weight(&mut self.weight, rng, init);
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

impl<T: Elem, const I: usize, const O: usize> ConstZeros for LinearNoBias<T, I, O> {
    const ZEROS: Self = Self { weight: ConstZeros::ZEROS };
}

impl<T: Elem, const I: usize, const O: usize> Module for LinearNoBias<T, I, O> {
    type Scalar = T;
    const DESC: Desc = Desc::new("LinearNoBias")
        .rust("stackprop::LinearNoBias", "from_columns")
        .scalar::<T>()
        .dim("in", I)
        .dim("out", O)
        .tensor::<T>("weight", ParamKind::Weight, &[O, I]);

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        (i == 0).then(|| self.weight.as_slice().into())
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        (i == 0).then(|| self.weight.as_mut_slice().into())
    }
}

impl<T: Real, const I: usize, const O: usize, const B: usize> Layer<SMatrix<T, I, B>>
    for LinearNoBias<T, I, O>
{
    type Output = SMatrix<T, O, B>;

    #[inline]
    fn forward(&self, x: &SMatrix<T, I, B>) -> SMatrix<T, O, B> {
        kernels::affine(&self.weight, x, None)
    }
}

/// In an arena: the input at one end, `W·X` written at the other.
impl<T: Real + bytemuck::Pod, const I: usize, const O: usize, const B: usize> Run<SMatrix<T, I, B>>
    for LinearNoBias<T, I, O>
{
    type Elem = T;
    const ARENA: usize = (I + O) * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        infer::step(arena, front, I * B, O * B, |x, y| {
            kernels::affine_into(&self.weight, infer::matrix::<T, I, B>(x), None, infer::matrix_mut(y))
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const I: usize, const O: usize, const B: usize> Train<SMatrix<T, I, B>>
    for LinearNoBias<T, I, O>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, I, B>, _: &mut (), y: &mut SMatrix<T, O, B>) {
        kernels::affine_into(&self.weight, x, None, y)
    }

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
        dense_backward::<D, T, I, O, B>(&self.weight, x, dy, &mut grads.weight, None, mode)
    }
}
