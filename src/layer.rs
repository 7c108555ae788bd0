//! The core traits: [`Layer`] maps an input value to an output value
//! (inference); [`Train`] adds what training needs, a forward pass that
//! keeps its intermediates and a backward pass that computes the local
//! derivative times the upstream gradient.
//!
//! Shapes are types. A layer implements `Layer<X>` for exactly the inputs `X`
//! it accepts — [`crate::Linear<T, I, O>`] implements
//! `Layer<SMatrix<T, I, B>>` for every batch size `B` (one column is one
//! sample) — so composing layers whose sizes do not fit is a compile error
//! that names the offending input type. A layer that can only infer (one
//! computing in integers, say) implements `Layer` alone; a model holding it
//! runs `forward`, and asking to train it is a compile error.
//!
//! # The backward contract
//!
//! * `forward_train(x, cache, y)` writes into `y` what `forward(x)` returns
//!   (the old values of `y` are neither read nor kept) and fills the
//!   layer's own [`Train::Cache`] (most layers need none: `()`). The one
//!   exception is a layer whose training pass differs from inference by
//!   definition, as PyTorch's `train()` and `eval()` modes do:
//!   [`crate::BatchNorm`] normalizes with the batch's statistics in
//!   `forward_train` and with its running statistics in `forward`.
//! * `backward::<D>(x, y, cache, dy, grads, mode)` receives the input `x`
//!   and the output `y` of the forward pass, the cache, and `dy = ∂J/∂y`.
//!   It puts `∂J/∂θ` into `grads`, a value of the layer's own type:
//!   **added** to what `grads` holds for [`Grads::Add`] (gradient
//!   accumulation over micro-batches is free), **written** over it for
//!   [`Grads::Write`] (what a training step uses: no zeroing pass, no
//!   read). It returns `∂J/∂x` for `D` = [`WithDx`] and nothing for
//!   [`NoDx`] (the first layer of a model: its input is data, and its
//!   gradient is neither computed nor given room on the stack), and
//!   whether every value it wrote into `grads` is known to be finite
//!   ([`Backward::finite`]). One method covers all four variants: a layer
//!   returns `D::backward(|dx| …, finite)`, writing its input gradient into
//!   `dx` where it is returned, or `Backward::new(D::dx(|| …))`.
//! * Every intermediate value of a sequential model is stored once, in the
//!   composite's cache: a layer never copies its own input.
//! * `update_buffers(cache)` is called after a training step with that
//!   step's cache ([`crate::train::Trainer::step`] does, after the
//!   optimizer's update): a layer with running statistics folds the
//!   step's batch statistics into them; every other layer does nothing
//!   (the default), and a composite passes each part its own cache.
//!
//! [`crate::gradcheck`] checks all of this for a layer of your own.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::layer::{Grads, Layer, Train, WithDx};
//! use stackprop::{Linear, Relu, Zeros};
//! type Net = (Linear<f64, 2, 3>, (Relu, Linear<f64, 3, 1>));
//! let net: Net = (Linear::from_fn(|o, i| (o + i) as f64 - 1.0, |_| 0.1),
//!                 (Relu, Linear::from_fn(|_, i| i as f64, |_| 0.0)));
//! let x = SMatrix::<f64, 2, 4>::from_fn(|i, j| (i + j) as f64);
//! let mut cache = <Net as Train<_>>::Cache::zeros();
//! let mut y = SMatrix::zeros();
//! net.forward_train(&x, &mut cache, &mut y);
//! assert_eq!(y, net.forward(&x));
//! let mut grads = Net::zeros();
//! let b = net.backward::<WithDx>(&x, &y, &cache, &SMatrix::repeat(1.0), &mut grads, Grads::Add);
//! assert_eq!(b.dx.shape(), (2, 4));
//! ```

use crate::zeros::Zeros;
use core::mem::size_of;

/// A layer that takes inputs of type `X`: inference.
///
/// See the [module docs](self), and [`Train`] for training.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take `{X}` as its input",
    label = "this layer's input shape does not match `{X}`",
    note = "in a sequential model each layer's input must be the previous layer's output: \
            compare the rows of `{X}` (the previous layer's outputs) with this layer's input dimension"
)]
pub trait Layer<X> {
    /// The type of the output for input `X`.
    type Output;

    /// Bytes of the largest set of activations live at once during an
    /// inference forward pass: for a single layer its input and output, for a
    /// sequence the largest such pair.
    const INFER_SCRATCH: usize = size_of::<X>() + size_of::<Self::Output>();

    /// Bytes of the activations [`Layer::forward`] keeps live at its
    /// deepest point, besides its input: for a single layer its output, for
    /// a sequence every intermediate and the output.
    const ACTIVATIONS: usize = size_of::<Self::Output>();

    /// Inference: computes the output, keeps nothing.
    fn forward(&self, x: &X) -> Self::Output;
}

/// How [`Train::backward`] puts `∂J/∂θ` into `grads`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grads {
    /// Adds it to what `grads` holds.
    Add,
    /// Writes it over whatever `grads` holds.
    Write,
}

/// Whether [`Train::backward`] computes `∂J/∂x`, chosen by a type so that
/// a backward pass that does not compute it does not even hold its place:
/// [`WithDx`] (the input gradient, `Out<X> = X`) or [`NoDx`] (`()`: the
/// first layer of a model, whose input is data).
///
/// ```
/// use stackprop::layer::{Dx, NoDx, WithDx};
/// assert_eq!(WithDx::dx(|| 3), 3);
/// assert_eq!(NoDx::dx(|| -> i32 { unreachable!() }), ());
/// let mut d = 4;
/// WithDx::edit(&mut d, |d| *d += 1);
/// assert_eq!(d, 5);
/// ```
pub trait Dx {
    /// What backward returns for an input of type `X`.
    type Out<X>;
    /// `f()`, if the input gradient is wanted (`f` is not called
    /// otherwise).
    fn dx<X>(f: impl FnOnce() -> X) -> Self::Out<X>;
    /// Calls `f` on the input gradient, if there is one.
    fn edit<X>(v: &mut Self::Out<X>, f: impl FnOnce(&mut X));
    /// `Backward { dx, finite }` with `dx` zeroed and then written by `f`
    /// (`f` not called for [`NoDx`]): the input gradient is built where it
    /// is returned, not moved there (for a layer of 256 × 32 values a move
    /// is a 32 KiB copy).
    fn backward<X: Zeros>(f: impl FnOnce(&mut X), finite: bool) -> Backward<Self::Out<X>>;
}

/// [`Dx::backward`] for a pass that computes the parameter gradient in
/// any case and the input gradient only if `D` wants it: `f(Some(dx))`
/// with the zeroed values of `∂J/∂x` to add into ([`WithDx`]), or
/// `f(None)` ([`NoDx`]). What the convolutions' backward passes, which
/// compute both in one walk over the positions, return.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::layer::{backward_slices, NoDx, WithDx};
/// let b = backward_slices::<WithDx, f32, 2, 1>(true, |dx| dx.unwrap().fill(1.0));
/// assert_eq!(b.dx, SMatrix::<f32, 2, 1>::repeat(1.0));
/// let mut called = false;
/// let _ = backward_slices::<NoDx, f32, 2, 1>(true, |dx| called = dx.is_none());
/// assert!(called);
/// ```
#[inline(always)]
pub fn backward_slices<D: Dx, T: crate::module::Elem, const N: usize, const B: usize>(
    finite: bool,
    mut f: impl FnMut(Option<&mut [T]>),
) -> Backward<D::Out<nalgebra::SMatrix<T, N, B>>> {
    let mut done = false;
    let b = D::backward(
        |dx: &mut nalgebra::SMatrix<T, N, B>| {
            f(Some(dx.as_mut_slice()));
            done = true;
        },
        finite,
    );
    if !done {
        f(None);
    }
    b
}

/// Backward returns `∂J/∂x`.
#[derive(Clone, Copy, Debug)]
pub struct WithDx;

/// Backward returns no `∂J/∂x` and does not compute it.
#[derive(Clone, Copy, Debug)]
pub struct NoDx;

impl Dx for WithDx {
    type Out<X> = X;
    #[inline(always)]
    fn dx<X>(f: impl FnOnce() -> X) -> X {
        f()
    }
    #[inline(always)]
    fn edit<X>(v: &mut X, f: impl FnOnce(&mut X)) {
        f(v)
    }
    #[inline(always)]
    fn backward<X: Zeros>(f: impl FnOnce(&mut X), finite: bool) -> Backward<X> {
        let mut b = Backward { dx: X::zeros(), finite };
        f(&mut b.dx);
        b
    }
}

impl Dx for NoDx {
    type Out<X> = ();
    #[inline(always)]
    fn dx<X>(_: impl FnOnce() -> X) {}
    #[inline(always)]
    fn edit<X>(_: &mut (), _: impl FnOnce(&mut X)) {}
    #[inline(always)]
    fn backward<X: Zeros>(_: impl FnOnce(&mut X), finite: bool) -> Backward<()> {
        Backward { dx: (), finite }
    }
}

/// What [`Train::backward`] returns: `∂J/∂x` (or `()`, for [`NoDx`]) and
/// whether the parameter gradient is known to be finite.
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use]
pub struct Backward<D> {
    /// `∂J/∂x` ([`WithDx`]), or `()` ([`NoDx`]).
    pub dx: D,
    /// `true` only if every value backward wrote into `grads` is known to
    /// be finite: a layer that watched the values it wrote (the `f32`
    /// weight gradients of [`crate::Linear`] on x86-64) or that has no
    /// parameters. [`crate::train::Trainer::step`] skips its own finite
    /// check when the whole network says `true`; `false` is always a
    /// correct answer.
    pub finite: bool,
}

impl<D> Backward<D> {
    /// `dx`, finiteness not known.
    pub fn new(dx: D) -> Self {
        Backward { dx, finite: false }
    }
}

/// A layer that can be trained on inputs of type `X`.
///
/// See the [module docs](self) for the contract, and [`crate::gradcheck`]
/// for implementing and checking your own layer.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be trained on `{X}`",
    label = "this layer has no backward pass for `{X}`",
    note = "a layer that only infers (implements `Layer` but not `Train`) can run `forward`, not a training step"
)]
pub trait Train<X>: Layer<X, Output: Zeros> + Zeros {
    /// What `forward_train` keeps for `backward` besides the input and the
    /// output (`()` for most layers).
    type Cache: Zeros;

    /// Bytes of the activation cache a training forward pass keeps for
    /// backward (the intermediates of a sequence and the layers' caches; the
    /// model's input and output are the caller's).
    const CACHE_BYTES: usize = size_of::<Self::Cache>();

    /// Training forward pass: writes the output into `y` (old values
    /// neither read nor kept) and fills `cache` with what `backward` needs.
    fn forward_train(&self, x: &X, cache: &mut Self::Cache, y: &mut Self::Output);

    /// Backward pass: puts `∂J/∂θ` into `grads` as `mode` says and returns
    /// `∂J/∂x` if `D` is [`WithDx`], given the forward pass's input `x`,
    /// output `y`, cache, and `dy = ∂J/∂y`.
    fn backward<D: Dx>(
        &self,
        x: &X,
        y: &Self::Output,
        cache: &Self::Cache,
        dy: &Self::Output,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<X>>;

    /// Called after a training step with that step's cache (what the
    /// step's `forward_train` filled): layers with running statistics
    /// ([`crate::BatchNorm`]) update them, composites pass each part its
    /// own cache. The default does nothing. The buffers it updates are
    /// state, not parameters: no optimizer touches them.
    #[inline]
    fn update_buffers(&mut self, cache: &Self::Cache) {
        let _ = cache;
    }
}
