//! Sequential composition: the pair `(A, C)` is the layer "`A`, then `C`".
//!
//! A model of any depth is a nest of pairs, `(L1, (L2, (L3, L4)))`; the
//! [`seq!`](crate::seq!) macro writes the nest for values and
//! [`Seq!`](crate::Seq!) for types. `C` must accept `A`'s output
//! (`C: Layer<A::Output>`): a model whose sizes do not fit does not compile.
//!
//! The pair's cache holds `A`'s output (the intermediate value both the
//! forward and the backward pass need, stored once), `A`'s cache and `C`'s
//! cache. Backward runs in reverse order, by the chain rule; the first layer
//! of a model skips its input gradient. As a [`Module`] a pair is a
//! sequence, whose entries (nested pairs flattened) are numbered from 0 as
//! `nn.Sequential` numbers its modules.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::{seq, Layer, Linear, Relu, Seq, Tanh};
//! type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 8>, Tanh, Linear<f32, 8, 2>];
//! let net: Net = seq![Linear::zeros(), Relu, Linear::zeros(), Tanh, Linear::zeros()];
//! let y = net.forward(&SMatrix::<f32, 4, 1>::zeros());   // batch 1
//! let z = net.forward(&SMatrix::<f32, 4, 64>::zeros());  // batch 64, same type
//! assert_eq!((y.nrows(), z.ncols()), (2, 64));
//! ```

use crate::layer::{Backward, Dx, Grads, Layer, Train, WithDx};
use crate::module::{Data, DataMut, Desc, Join, Module, Path, Size, Spec, Visitor};

/// Builds the nested-pair value of a sequential model:
/// `seq![a, b, c]` is `(a, (b, c))`.
///
/// ```
/// use stackprop::{seq, Linear, Relu};
/// let net = seq![Linear::<f32, 2, 3>::zeros(), Relu, Linear::<f32, 3, 1>::zeros()];
/// let (_first, (_relu, _last)) = net;
/// ```
#[macro_export]
macro_rules! seq {
    ($a:expr $(,)?) => { $a };
    ($a:expr, $($rest:expr),+ $(,)?) => { ($a, $crate::seq!($($rest),+)) };
}

/// Names the nested-pair type of a sequential model:
/// `Seq![A, B, C]` is `(A, (B, C))`.
///
/// ```
/// use stackprop::{Linear, Relu, Seq};
/// type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
/// let _: (Linear<f32, 2, 3>, (Relu, Linear<f32, 3, 1>)) = Net::default();
/// ```
#[macro_export]
macro_rules! Seq {
    ($a:ty $(,)?) => { $a };
    ($a:ty, $($rest:ty),+ $(,)?) => { ($a, $crate::Seq!($($rest),+)) };
}

impl<X, A, C> Layer<X> for (A, C)
where
    A: Layer<X>,
    C: Layer<A::Output>,
{
    type Output = C::Output;

    const INFER_SCRATCH: usize = max(A::INFER_SCRATCH, C::INFER_SCRATCH);
    const ACTIVATIONS: usize = A::ACTIVATIONS + C::ACTIVATIONS;

    #[inline]
    fn forward(&self, x: &X) -> Self::Output {
        let h = self.0.forward(x);
        self.1.forward(&h)
    }
}

impl<X, A, C> Train<X> for (A, C)
where
    A: Train<X>,
    C: Train<A::Output>,
{
    type Cache = (A::Output, A::Cache, C::Cache);

    /// `A`'s output is written straight into the cache.
    #[inline]
    fn forward_train(&self, x: &X, cache: &mut Self::Cache, y: &mut Self::Output) {
        self.0.forward_train(x, &mut cache.1, &mut cache.0);
        self.1.forward_train(&cache.0, &mut cache.2, y);
    }

    /// `C` first, then `A` with `C`'s input gradient; known finite when
    /// both layers' gradients are.
    #[inline]
    fn backward<D: Dx>(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<X>> {
        let c = self.1.backward::<WithDx>(&cache.0, y, &cache.2, dy, &mut grads.1, mode);
        let mut a = self.0.backward::<D>(x, &cache.0, &cache.1, &c.dx, &mut grads.0, mode);
        // `a` itself is returned: its input gradient is not copied.
        a.finite &= c.finite;
        a
    }

    /// `A` with its cache, then `C` with its.
    #[inline]
    fn update_buffers(&mut self, cache: &Self::Cache) {
        self.0.update_buffers(&cache.1);
        self.1.update_buffers(&cache.2);
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// A sequence: its entries, nested pairs flattened, numbered from 0.
impl<A: Module, C: Module> Module for (A, C)
where
    A::Scalar: Join<C::Scalar>,
{
    type Scalar = <A::Scalar as Join<C::Scalar>>::Out;
    /// A pair is not a node of its own (its entries are).
    const DESC: Desc = Desc::new("Seq");
    const SIZE: Size = A::SIZE.plus(C::SIZE);
    const ENTRIES: usize = A::ENTRIES + C::ENTRIES;

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        if i < A::SIZE.tensors { self.0.tensor(i) } else { self.1.tensor(i - A::SIZE.tensors) }
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        if i < A::SIZE.tensors {
            self.0.tensor_mut(i)
        } else {
            self.1.tensor_mut(i - A::SIZE.tensors)
        }
    }

    #[inline]
    fn spec(i: usize) -> Option<&'static Spec> {
        if i < A::SIZE.tensors { A::spec(i) } else { C::spec(i - A::SIZE.tensors) }
    }

    fn visit<V: Visitor>(&self, path: &mut Path, v: &mut V) -> Result<(), V::Error> {
        v.begin_sequence(Self::ENTRIES)?;
        self.visit_entries(path, v, 0)?;
        v.end_sequence()
    }

    fn visit_entries<V: Visitor>(
        &self,
        path: &mut Path,
        v: &mut V,
        first: usize,
    ) -> Result<(), V::Error> {
        self.0.visit_entries(path, v, first)?;
        self.1.visit_entries(path, v, first + A::ENTRIES)
    }
}
