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
//! of a model skips its input gradient.
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

use crate::layer::Layer;
use crate::params::{ParamKind, Params};

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
    type Cache = (A::Output, A::Cache, C::Cache);

    const INFER_SCRATCH: usize = max(A::INFER_SCRATCH, C::INFER_SCRATCH);

    #[inline]
    fn forward(&self, x: &X) -> Self::Output {
        let h = self.0.forward(x);
        self.1.forward(&h)
    }

    /// `A`'s output is written straight into the cache.
    #[inline]
    fn forward_train(&self, x: &X, cache: &mut Self::Cache) -> Self::Output {
        self.0.forward_train_into(x, &mut cache.1, &mut cache.0);
        self.1.forward_train(&cache.0, &mut cache.2)
    }

    #[inline]
    fn forward_train_into(&self, x: &X, cache: &mut Self::Cache, out: &mut Self::Output) {
        self.0.forward_train_into(x, &mut cache.1, &mut cache.0);
        self.1.forward_train_into(&cache.0, &mut cache.2, out);
    }

    #[inline]
    fn backward(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> X {
        let dh = self.1.backward(&cache.0, y, &cache.2, dy, &mut grads.1);
        self.0.backward(x, &cache.0, &cache.1, &dh, &mut grads.0)
    }

    #[inline]
    fn backward_params(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) {
        let dh = self.1.backward(&cache.0, y, &cache.2, dy, &mut grads.1);
        self.0.backward_params(x, &cache.0, &cache.1, &dh, &mut grads.0)
    }

    #[inline]
    fn backward_into(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> X {
        self.backward_into_checked(x, y, cache, dy, grads).0
    }

    #[inline]
    fn backward_params_into(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) {
        let _ = self.backward_params_into_checked(x, y, cache, dy, grads);
    }

    /// Known finite when both layers' gradients are.
    #[inline]
    fn backward_into_checked(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> (X, bool) {
        let (dh, k1) = self.1.backward_into_checked(&cache.0, y, &cache.2, dy, &mut grads.1);
        let (dx, k0) = self.0.backward_into_checked(x, &cache.0, &cache.1, &dh, &mut grads.0);
        (dx, k0 && k1)
    }

    /// Known finite when both layers' gradients are.
    #[inline]
    fn backward_params_into_checked(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> bool {
        let (dh, k1) = self.1.backward_into_checked(&cache.0, y, &cache.2, dy, &mut grads.1);
        let k0 = self.0.backward_params_into_checked(x, &cache.0, &cache.1, &dh, &mut grads.0);
        k0 && k1
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

impl<T, A: Params<T>, C: Params<T>> Params<T> for (A, C) {
    const TENSORS: usize = A::TENSORS + C::TENSORS;
    const LEN: usize = A::LEN + C::LEN;

    #[inline]
    fn tensor(&self, i: usize) -> Option<(ParamKind, &[T])> {
        if i < A::TENSORS { self.0.tensor(i) } else { self.1.tensor(i - A::TENSORS) }
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<(ParamKind, &mut [T])> {
        if i < A::TENSORS { self.0.tensor_mut(i) } else { self.1.tensor_mut(i - A::TENSORS) }
    }
}
