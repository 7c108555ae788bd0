//! The residual block `y = x + F(x)`.

use crate::infer::{self, Run};
use crate::lanes;
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{self, Data, DataMut, Desc, Module, Path, Size, Spec, Visitor};
use crate::scalar::Real;
use crate::zeros::{ConstZeros, Zeros};
use core::mem::size_of;
use nalgebra::SMatrix;

/// A residual block: `y = x + F(x)` for any `F` whose output has the type
/// of its input (a sequence of layers that keeps the width).
///
/// Backward returns `∂J/∂x = dy + F`'s input gradient and passes `dy` to
/// `F`. The cache keeps `F`'s output (what `F`'s last layer needs for its
/// backward; `y − x` would not give it back exactly) and `F`'s own cache.
///
/// As a [`Module`] it is a block with one child, `inner`, a sequence: the
/// tensors of `Residual<Seq![Linear, Tanh, Linear]>` at position 3 of a
/// model are `3.inner.0.weight`, `3.inner.0.bias`, `3.inner.2.weight`,
/// `3.inner.2.bias`, the state-dict names of this PyTorch module:
///
/// ```python
/// class Residual(nn.Module):
///     def __init__(self, *layers):
///         super().__init__()
///         self.inner = nn.Sequential(*layers)
///     def forward(self, x):
///         return x + self.inner(x)
/// ```
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::prelude::*;
/// let block = Residual::new(seq![Linear::<f32, 2, 2>::from_fn(|o, i| (o == i) as u8 as f32, |_| 1.0), Relu]);
/// let x = SMatrix::<f32, 2, 1>::new(-3.0, 2.0);
/// assert_eq!(block.forward(&x), SMatrix::<f32, 2, 1>::new(-3.0, 5.0)); // x + relu(x + 1)
/// assert_eq!(stackprop::module::index_of(&seq![Tanh, block], "1.inner.0.weight"), Some(0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Residual<F> {
    /// `F`.
    pub inner: F,
}

impl<F> Residual<F> {
    /// The block `x + inner(x)`.
    pub const fn new(inner: F) -> Self {
        Residual { inner }
    }
}

impl<T, F, const R: usize, const C: usize> Layer<SMatrix<T, R, C>> for Residual<F>
where
    T: Real,
    F: Layer<SMatrix<T, R, C>, Output = SMatrix<T, R, C>>,
{
    type Output = SMatrix<T, R, C>;

    /// The largest pair of `F`'s, or the block's own input and output.
    const INFER_SCRATCH: usize = {
        let own = 2 * size_of::<SMatrix<T, R, C>>();
        if F::INFER_SCRATCH > own { F::INFER_SCRATCH } else { own }
    };
    /// `F`'s: the sum is written over `F`'s output.
    const ACTIVATIONS: usize = F::ACTIVATIONS;

    #[inline]
    fn forward(&self, x: &SMatrix<T, R, C>) -> SMatrix<T, R, C> {
        let mut y = self.inner.forward(x);
        lanes::add_assign(y.as_mut_slice(), x.as_slice());
        y
    }
}

/// In an arena: the block's input at one end, `x + F(x)` written at the
/// other; `F` runs by [`Layer::forward`] (its intermediates on the stack,
/// counted in [`Run::SCRATCH`]), since `x` must outlive it.
impl<T, F, const R: usize, const C: usize> Run<SMatrix<T, R, C>> for Residual<F>
where
    T: Real + bytemuck::Pod,
    F: Layer<SMatrix<T, R, C>, Output = SMatrix<T, R, C>>,
{
    type Elem = T;
    const ARENA: usize = 2 * R * C;
    const SCRATCH: usize = F::ACTIVATIONS;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        infer::step(arena, front, R * C, R * C, |x, y| {
            let x = infer::matrix::<T, R, C>(x);
            let h = self.inner.forward(x);
            lanes::add(x.as_slice(), h.as_slice(), y)
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T, F, const R: usize, const C: usize> Train<SMatrix<T, R, C>> for Residual<F>
where
    T: Real,
    F: Train<SMatrix<T, R, C>, Output = SMatrix<T, R, C>>,
{
    /// `F`'s output, then `F`'s cache.
    type Cache = (SMatrix<T, R, C>, F::Cache);

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, R, C>, cache: &mut Self::Cache, y: &mut Self::Output) {
        self.inner.forward_train(x, &mut cache.1, &mut cache.0);
        lanes::add(x.as_slice(), cache.0.as_slice(), y.as_mut_slice());
    }

    /// Known finite when `F`'s gradient is.
    #[inline]
    fn backward<D: Dx>(
        &self,
        x: &SMatrix<T, R, C>,
        _y: &SMatrix<T, R, C>,
        cache: &Self::Cache,
        dy: &SMatrix<T, R, C>,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, R, C>>> {
        let mut b = self.inner.backward::<D>(x, &cache.0, &cache.1, dy, &mut grads.inner, mode);
        D::edit(&mut b.dx, |d: &mut SMatrix<T, R, C>| {
            lanes::add_assign(d.as_mut_slice(), dy.as_slice())
        });
        b
    }

    /// `F`'s, with `F`'s cache.
    #[inline]
    fn update_buffers(&mut self, cache: &Self::Cache) {
        self.inner.update_buffers(&cache.1);
    }
}

impl<F: Zeros> Zeros for Residual<F> {
    fn zeros() -> Self {
        Residual { inner: F::zeros() }
    }
    fn set_zero(&mut self) {
        self.inner.set_zero();
    }
}

impl<F: ConstZeros> ConstZeros for Residual<F> {
    const ZEROS: Self = Residual { inner: F::ZEROS };
}

/// A block with no tensors of its own and one child, `inner`.
impl<F: Module> Module for Residual<F> {
    type Scalar = F::Scalar;
    const DESC: Desc = Desc::new("Residual").rust("stackprop::Residual", "new").child("inner");
    const SIZE: Size = Size::of(&Self::DESC).plus(F::SIZE);

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        self.inner.tensor(i)
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        self.inner.tensor_mut(i)
    }

    #[inline]
    fn spec(i: usize) -> Option<&'static Spec> {
        F::spec(i)
    }

    fn visit<V: Visitor>(&self, path: &mut Path, v: &mut V) -> Result<(), V::Error> {
        v.node(path, self)?;
        module::visit_child(&self.inner, "inner", path, v)
    }
}
