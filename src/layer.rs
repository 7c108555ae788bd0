//! The core trait: a layer maps an input value to an output value, keeps what
//! backward needs, and computes its local derivative times the upstream
//! gradient.
//!
//! Shapes are types. A layer implements `Layer<X>` for exactly the inputs `X`
//! it accepts — [`crate::Linear<T, I, O>`] implements
//! `Layer<SMatrix<T, I, B>>` for every batch size `B` (one column is one
//! sample) — so composing layers whose sizes do not fit is a compile error
//! that names the offending input type.
//!
//! # The backward contract
//!
//! * `forward_train` returns the same value as `forward` and fills the
//!   layer's own [`Layer::Cache`] (most layers need none: `()`).
//! * `backward(x, y, cache, dy, grads)` receives the input `x` and the output
//!   `y` of the forward pass, the cache, and `dy = ∂J/∂y`. It **adds**
//!   `∂J/∂θ` into `grads` (a value of the layer's own type) and returns
//!   `∂J/∂x`. Accumulation makes gradient accumulation over micro-batches
//!   free; clear `grads` with [`crate::Zeros::set_zero`] before a step.
//! * `backward_into` and `backward_params_into` **write** `∂J/∂θ` into
//!   `grads`, whatever they held. By default they zero `grads` and add;
//!   [`crate::Linear`] overrides them to write its products directly, which
//!   saves a pass over the gradient and a read of it (a training step uses
//!   them: for a 784 → 256 layer that is 1.6 MB of memory traffic less).
//! * Every intermediate value of a sequential model is stored once, in the
//!   composite's cache: a layer never copies its own input.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::{Layer, Linear, Relu, Zeros};
//! type Net = (Linear<f64, 2, 3>, (Relu, Linear<f64, 3, 1>));
//! let net: Net = (Linear::from_fn(|o, i| (o + i) as f64 - 1.0, |_| 0.1),
//!                 (Relu, Linear::from_fn(|_, i| i as f64, |_| 0.0)));
//! let x = SMatrix::<f64, 2, 4>::from_fn(|i, j| (i + j) as f64);
//! let mut cache = <Net as Layer<_>>::Cache::zeros();
//! let y = net.forward_train(&x, &mut cache);
//! assert_eq!(y, net.forward(&x));
//! let mut grads = Net::zeros();
//! let dx = net.backward(&x, &y, &cache, &SMatrix::repeat(1.0), &mut grads);
//! assert_eq!(dx.shape(), (2, 4));
//! ```

use crate::zeros::Zeros;
use core::mem::size_of;

/// A differentiable layer that takes inputs of type `X`.
///
/// See the [module docs](self) for the contract of `backward`, and
/// [`crate::gradcheck`] for implementing and checking your own layer.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take `{X}` as its input",
    label = "this layer's input shape does not match `{X}`",
    note = "in a sequential model each layer's input must be the previous layer's output: \
            compare the rows of `{X}` (the previous layer's outputs) with this layer's input dimension"
)]
pub trait Layer<X>: Sized + Zeros {
    /// The type of the output for input `X`.
    type Output: Zeros;
    /// What `forward_train` keeps for `backward` besides the input and the
    /// output (`()` for most layers).
    type Cache: Zeros;

    /// Bytes of the largest set of activations live at once during an
    /// inference forward pass: for a single layer its input and output, for a
    /// sequence the largest such pair.
    const INFER_SCRATCH: usize = size_of::<X>() + size_of::<Self::Output>();
    /// Bytes of the activation cache a training forward pass keeps for
    /// backward (the intermediates of a sequence and the layers' caches; the
    /// model's input and output are the caller's).
    const CACHE_BYTES: usize = size_of::<Self::Cache>();

    /// Inference: computes the output, keeps nothing.
    fn forward(&self, x: &X) -> Self::Output;

    /// Training forward pass: computes the output and fills `cache` with what
    /// `backward` needs.
    fn forward_train(&self, x: &X, cache: &mut Self::Cache) -> Self::Output;

    /// [`Layer::forward_train`] into `out`, whose old values are neither read
    /// nor kept. A sequence writes each intermediate straight into its
    /// cache this way; the default computes the output and moves it there,
    /// and layers override it to write in place.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{Layer, Linear, Relu, Seq, Zeros, seq};
    /// type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
    /// let net: Net = seq![Linear::from_fn(|r, c| (r + c) as f32 - 1.0, |_| 0.5), Relu,
    ///                     Linear::from_fn(|_, c| c as f32, |_| 0.0)];
    /// let x = SMatrix::<f32, 2, 4>::from_fn(|r, c| r as f32 + c as f32);
    /// let (mut c1, mut c2) = (<Net as Layer<_>>::Cache::zeros(), <Net as Layer<_>>::Cache::zeros());
    /// let mut y = SMatrix::<f32, 1, 4>::repeat(f32::NAN); // stale values
    /// net.forward_train_into(&x, &mut c1, &mut y);
    /// assert_eq!(y, net.forward_train(&x, &mut c2));
    /// assert_eq!(c1.0, c2.0); // the same intermediates cached
    /// ```
    #[inline]
    fn forward_train_into(&self, x: &X, cache: &mut Self::Cache, out: &mut Self::Output) {
        *out = self.forward_train(x, cache);
    }

    /// Backward pass: adds `∂J/∂θ` into `grads` and returns `∂J/∂x`, given the
    /// forward pass's input `x`, output `y`, cache, and `dy = ∂J/∂y`.
    fn backward(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> X;

    /// Like [`Layer::backward`] but without the input gradient, which the
    /// first layer of a model does not need (its input is data). Layers
    /// override it to skip that work.
    fn backward_params(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) {
        let _ = self.backward(x, y, cache, dy, grads);
    }

    /// Like [`Layer::backward`], but **writes** `∂J/∂θ` into `grads`
    /// (overwriting whatever they held) instead of adding to it. The default
    /// zeroes `grads` first; layers override it to write directly.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{Layer, Linear, Zeros};
    /// let l = Linear::<f64, 2, 1>::from_fn(|_, i| i as f64, |_| 0.0);
    /// let x = SMatrix::<f64, 2, 1>::new(1.0, 2.0);
    /// let (y, dy) = (l.forward(&x), SMatrix::<f64, 1, 1>::new(1.0));
    /// let mut added = Linear::zeros();
    /// l.backward(&x, &y, &(), &dy, &mut added);
    /// let mut written = Linear::from_fn(|_, _| 7.0, |_| 7.0); // stale values
    /// l.backward_into(&x, &y, &(), &dy, &mut written);
    /// assert_eq!(written, added);
    /// ```
    fn backward_into(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> X {
        grads.set_zero();
        self.backward(x, y, cache, dy, grads)
    }

    /// [`Layer::backward_params`] that writes `∂J/∂θ` into `grads` like
    /// [`Layer::backward_into`]. [`crate::train::Trainer`] computes its gradient with
    /// it.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{Layer, Linear, Relu, Seq, Zeros, seq};
    /// type Net = Seq![Linear<f64, 2, 3>, Relu, Linear<f64, 3, 1>];
    /// let net: Net = seq![Linear::from_fn(|o, i| (o + i) as f64 - 1.0, |_| 0.1), Relu,
    ///                     Linear::from_fn(|_, i| i as f64, |_| 0.0)];
    /// let x = SMatrix::<f64, 2, 4>::from_fn(|i, j| (i + j) as f64);
    /// let mut cache = <Net as Layer<_>>::Cache::zeros();
    /// let y = net.forward_train(&x, &mut cache);
    /// let dy = SMatrix::repeat(1.0);
    /// let mut added = Net::zeros();
    /// net.backward_params(&x, &y, &cache, &dy, &mut added);
    /// let mut written = net.clone(); // not zero
    /// net.backward_params_into(&x, &y, &cache, &dy, &mut written);
    /// assert_eq!(written, added);
    /// ```
    fn backward_params_into(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) {
        grads.set_zero();
        self.backward_params(x, y, cache, dy, grads);
    }

    /// [`Layer::backward_into`] that also says whether every gradient it
    /// wrote into `grads` is known to be finite: `true` when the layer
    /// watched the values it wrote (the `f32` weight gradients of
    /// [`crate::Linear`] on x86-64) or has no parameters, `false` when it
    /// does not know. [`crate::train::Trainer::step`] skips its own finite
    /// check of the gradient when the whole network says `true`. The
    /// default says `false`; a layer may override it only with an answer
    /// that is never `true` for a non-finite gradient.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{Layer, Linear, Relu, Zeros};
    /// let l = Linear::<f32, 2, 1>::from_fn(|_, i| i as f32, |_| 0.0);
    /// let x = SMatrix::<f32, 2, 3>::from_fn(|i, j| (i + j) as f32);
    /// let (y, dy) = (l.forward(&x), SMatrix::<f32, 1, 3>::repeat(1.0));
    /// let mut g = Linear::zeros();
    /// let (dx, known) = l.backward_into_checked(&x, &y, &(), &dy, &mut g);
    /// assert_eq!(dx, l.backward_into(&x, &y, &(), &dy, &mut Linear::zeros()));
    /// assert!(!known || g.weight.iter().chain(g.bias.iter()).all(|v| v.is_finite()));
    /// // No parameters, nothing to doubt:
    /// let (_, known) = Relu.backward_into_checked(&y, &y, &(), &dy, &mut Relu);
    /// assert!(known);
    /// ```
    fn backward_into_checked(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> (X, bool) {
        (self.backward_into(x, y, cache, dy, grads), false)
    }

    /// [`Layer::backward_params_into`] that also says whether every
    /// gradient it wrote is known to be finite, as
    /// [`Layer::backward_into_checked`] does. The default says `false`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{Layer, Linear, Zeros};
    /// let l = Linear::<f32, 2, 1>::from_fn(|_, _| 1.0, |_| 0.0);
    /// let x = SMatrix::<f32, 2, 2>::new(f32::MAX, f32::MAX, 1.0, 1.0); // row 0 = (MAX, MAX)
    /// let (y, dy) = (l.forward(&x), SMatrix::<f32, 1, 2>::repeat(1.0));
    /// let mut g = Linear::zeros();
    /// // f32::MAX + f32::MAX overflows: the gradient is not finite, and
    /// // never reported as known finite.
    /// assert!(!l.backward_params_into_checked(&x, &y, &(), &dy, &mut g));
    /// assert!(g.weight.iter().any(|v| v.is_infinite()));
    /// ```
    fn backward_params_into_checked(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
    ) -> bool {
        self.backward_params_into(x, y, cache, dy, grads);
        false
    }
}
