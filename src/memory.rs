//! Memory as a compile-time constant: the bytes a network needs for
//! inference and for a training step, and budgets that fail the build.
//!
//! [`Footprint<M, X, O, L>`](Footprint) gives, for a model `M` taking input
//! `X` (whose type fixes the batch size), an optimizer `O` and a loss `L`,
//! associated consts usable in `const` context:
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::memory::Footprint;
//! use stackprop::prelude::*;
//! type Net = Seq![Linear<f32, 1, 16>, Tanh, Linear<f32, 16, 1>];
//! type F = Footprint<Net, SMatrix<f32, 1, 1>, Adam<f32>>;
//! const NEED: usize = F::TRAIN;
//! assert_eq!(F::PARAMS, (16 + 16 + 16 + 1) * 4);
//! assert!(F::INFER < NEED);
//! ```
//!
//! # What is counted
//!
//! Every const is a `size_of` of values that exist while the pass runs
//! (`tests/memory.rs` checks each against `core::mem::size_of` of the real
//! values):
//!
//! | const | bytes of |
//! |---|---|
//! | [`PARAMS`](Footprint::PARAMS) | the model: `size_of::<M>()` |
//! | [`GRADS`](Footprint::GRADS) | the gradient, a value of the model's type |
//! | [`OPTIMIZER_STATE`](Footprint::OPTIMIZER_STATE) | `<O as Optimizer<M>>::State`: `()` for SGD, one model-shaped value for momentum, two (plus two scalars) for Adam |
//! | [`CACHE`](Footprint::CACHE) | the activation cache of a training forward pass ([`Train::CACHE_BYTES`]): each intermediate of a sequence once, plus the layers' own caches (a [`crate::Residual`]'s holds its inner output); the model's input and output are not in it |
//! | [`INPUT`](Footprint::INPUT), [`OUTPUT`](Footprint::OUTPUT), [`TARGET`](Footprint::TARGET) | `X`, the model's output, the loss's target |
//! | [`INFER_SCRATCH`](Footprint::INFER_SCRATCH) | the largest input + output pair of any one layer ([`Layer::INFER_SCRATCH`]): the least activation memory *any* evaluation order needs — a lower bound, see below |
//! | [`INFER_ACTIVATIONS`](Footprint::INFER_ACTIVATIONS) | what [`Layer::forward`] keeps live at its deepest point: every intermediate and the output ([`Layer::ACTIVATIONS`]) |
//! | [`BACKWARD_SCRATCH`](Footprint::BACKWARD_SCRATCH) | the input gradients backward holds at its deepest point: one per intermediate (`CACHE`) |
//! | [`TRAINER`](Footprint::TRAINER) | the [`Trainer`]: gradient, cache, output `y`, `∂J/∂y`, optimizer and its state |
//! | [`INFER`](Footprint::INFER) | `PARAMS + INPUT + INFER_ACTIVATIONS` |
//! | [`ARENA`](Footprint::ARENA) | the arena of [`crate::infer`]: the largest input + output pair of any layer (the input alone for layers that work in place), input and output included |
//! | [`INFER_ARENA`](Footprint::INFER_ARENA) | `ARENA` + the largest kernel temporaries ([`crate::infer::Run::SCRATCH`]): the RAM of inference in an arena, weights in flash |
//! | [`TRAIN`](Footprint::TRAIN) | `PARAMS + TRAINER + INPUT + TARGET + BACKWARD_SCRATCH`: one [`Trainer::step`], with the input gradients of backward on the stack |
//!
//! With weights in flash (`const` data), inference RAM is `INFER − PARAMS`.
//!
//! # Why training needs more (the d2l exercise)
//!
//! Prediction needs the parameters and the activations of the pass in
//! flight. Training needs, besides: the cache kept for backward (every
//! intermediate `z`, `h` of the forward pass must survive until backward
//! reads it), the gradient (as big as the parameters), the optimizer state
//! (0, 1 or 2 more copies of the parameters for SGD, momentum, Adam), `∂J/∂y`,
//! the target, and the input gradients flowing back. `examples/memory.rs`
//! prints the table; for the d2l MLP 784 → 256 → 10 in f32 the parameters
//! (≈ 814 KB) dominate, so training with Adam needs 3.6× (batch 32) to 4×
//! (batch 1) what inference needs.
//!
//! # The consts and the real stack
//!
//! The consts count values, not stack frames, nor the temporaries of
//! kernels and of unoptimized code. `forward` keeps *every* intermediate
//! live until it returns, not only the largest pair: a sequence is a nest
//! of pairs, each pair's frame holds its intermediate while the rest of the
//! chain runs, and a stack frees in the reverse order of allocation, so
//! `h₁` cannot be freed before `h₂`, `h₃`… are computed. `INFER_SCRATCH` is
//! what a pass reusing two buffers would need; `INFER_ACTIVATIONS` is what
//! this crate's `forward` uses and what [`INFER`](Footprint::INFER) counts.
//! [`crate::infer`] is such a pass: one arena used from both ends, with the
//! activations in place, [`ARENA`](Footprint::ARENA) bytes (at most
//! `INFER_SCRATCH`), and [`INFER_ARENA`](Footprint::INFER_ARENA) with its
//! kernels' temporaries.
//! Kernel temporaries (such as the transposed weight `tr_matmul` keeps on
//! the stack for small layers) can take a release build's stack above the
//! consts, and a debug build needs several times more. Size a firmware
//! stack from a release build, with a margin, and measure it there:
//! `cargo run --release --example memory -- --measure-stack` measures the
//! host's stack against these consts, `firmware/measure.sh` a Cortex-M's
//! (its report lists both beside each other).
//!
//! # Budgets that fail the build
//!
//! [`assert_fits!`](crate::assert_fits) checks a network against a budget at
//! compile time (also under `cargo check`); over budget, the build fails with
//! a message naming the network, its need and the budget:
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::prelude::*;
//! type Net = Seq![Linear<f32, 1, 16>, Tanh, Linear<f32, 16, 16>, Tanh, Linear<f32, 16, 1>];
//! stackprop::assert_fits!(Net, SMatrix<f32, 1, 1>, infer <= 2048);
//! stackprop::assert_fits!(Net, SMatrix<f32, 1, 1>, Adam<f32>, train <= 8 * 1024);
//! ```
//!
//! ```text
//! error[E0080]: evaluation panicked: stackprop: `Net` to train with `Adam<f32>` on
//!               `SMatrix<f32, 1, 1>` needs 5704 bytes, over the budget of 4096 bytes by 1608
//! ```
//!
//! (the sine network 1 → 16 → 16 → 1 of `tests/ui/over_budget.rs`).
//!
//! # Big networks without the stack
//!
//! `Box::new(value)` builds `value` on the stack first: measured by the
//! example, `Box::new(D2l::ZEROS)` (814 KB) overflows a 256 KiB stack in a
//! debug build (in a release build the optimizer removes the copy, but
//! nothing guarantees it). The crate forbids `unsafe`, so there is no
//! `Box::new_zeroed` here. Two safe ways build a model, its gradient,
//! optimizer state and trainer zeroed in place, from the constants of
//! [`ConstZeros`] ([`ConstZeros::ZEROS`], [`Trainer::zeroed`]):
//!
//! * **firmware: a `static`**. A `static` initialized by a constant is laid
//!   out by the compiler: no stack, no code runs. Checked on
//!   `thumbv7em-none-eabihf`: a `static` model built from `Net::ZEROS` is in
//!   `.bss` (costs no flash); a `static` [`Trainer::zeroed`] is in `.data`
//!   (its initial bytes are stored in flash as well), because the optimizer's
//!   hyper-parameters are not zero. To keep a trainer in `.bss`, initialize
//!   it with an all-zero optimizer (`Sgd { lr: 0.0, wd: 0.0, decay_biases:
//!   false }`) and set the real one before the first step
//!   (`trainer.optimizer = …`). Wrap the `static` for mutable access, e.g.
//!   `critical_section::Mutex<RefCell<Net>>` or
//!   `static_cell::ConstStaticCell<Net>` (whose `take()` gives
//!   `&'static mut Net`); on the host, `std::sync::Mutex<Net>`:
//!
//!   ```
//!   use stackprop::prelude::*;
//!   use stackprop::zeros::ConstZeros;
//!   type Net = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];
//!   static NET: std::sync::Mutex<Net> = std::sync::Mutex::new(Net::ZEROS);
//!   NET.lock().unwrap().0.reinit(&mut Rng::new(1), Init::HeUniform);
//!   ```
//!
//! * **host: [`boxed!`](crate::boxed)**, a `Box<[T; 1]>` built directly in
//!   its heap allocation. The macro evaluates its argument as a `const` (so a
//!   non-constant argument is a compile error, never a silent stack copy) and
//!   puts it in `vec![…]`, whose one-element form the standard library builds
//!   in place (`vec!` uses the compiler's `box_new` intrinsic, which writes
//!   the element into the new allocation). That is an implementation detail
//!   of `std`, not a language guarantee: `tests/memory.rs` checks it by
//!   building the d2l model and its Adam trainer (≈ 3.3 MB) on a 64 KiB
//!   thread, in whatever profile the tests run (debug and release both
//!   measured to pass with Rust 1.95). In a debug build the constant itself
//!   is stored in the binary (`.rodata`) and copied; in release the copy
//!   becomes a `memset`.
//!
//!   ```
//!   use nalgebra::SMatrix;
//!   use stackprop::prelude::*;
//!   use stackprop::zeros::ConstZeros;
//!   type Net = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];
//!   type X = SMatrix<f32, 784, 32>;
//!   const ADAM: Adam<f32> =
//!       Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.0, decay_biases: false };
//!   let mut net = stackprop::boxed!(Net::ZEROS);
//!   let mut trainer = stackprop::boxed!(Trainer::<f32, Net, X, _>::zeroed(ADAM));
//!   let ([net], [trainer]) = (&mut *net, &mut *trainer); // &mut Net, &mut Trainer
//!   net.0.reinit(&mut Rng::new(1), Init::HeUniform);
//!   # let _ = trainer;
//!   ```

use crate::infer::Run;
use crate::layer::{Layer, Train};
use crate::loss::{Loss, Mse};
use crate::optim::Optimizer;
use crate::train::Trainer;
use core::marker::PhantomData;
use core::mem::size_of;

pub use crate::zeros::ConstZeros;

/// The memory footprint of model `M` on input `X` (which fixes the batch
/// size), trained with optimizer `O` on loss `L`, as associated consts in
/// bytes. See the [module docs](self) for what each counts.
///
/// `O` and `L` matter only for the training consts; `O` defaults to `()`
/// (inference only) and `L` to [`Mse`] (a target shaped like the output).
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::loss::SoftmaxCrossEntropy;
/// use stackprop::memory::Footprint;
/// use stackprop::prelude::*;
/// type Net = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];
/// type X = SMatrix<f32, 784, 32>;
/// const INFER: usize = Footprint::<Net, X>::INFER;
/// type F = Footprint<Net, X, Adam<f32>, SoftmaxCrossEntropy>;
/// assert_eq!(F::PARAMS, (784 * 256 + 256 + 256 * 10 + 10) * 4);
/// assert_eq!(F::OPTIMIZER_STATE, 2 * F::PARAMS + 2 * 4);
/// assert_eq!(F::TARGET, 32 * core::mem::size_of::<usize>());
/// assert!(F::TRAIN > 3 * INFER);
/// ```
pub struct Footprint<M, X, O = (), L = Mse>(Types<M, X, O, L>);

/// Only names the types: never built (and `Send`, `Sync` whatever they are).
type Types<M, X, O, L> = PhantomData<fn() -> (M, X, O, L)>;

impl<M: Layer<X>, X, O, L> Footprint<M, X, O, L> {
    /// Bytes of the parameters, `size_of::<M>()`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear};
    /// assert_eq!(Footprint::<Linear<f64, 3, 2>, SMatrix<f64, 3, 1>>::PARAMS, 8 * 8);
    /// ```
    pub const PARAMS: usize = size_of::<M>();

    /// Bytes of the gradient, a value of the model's type (`= PARAMS`).
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear};
    /// type F = Footprint<Linear<f32, 3, 2>, SMatrix<f32, 3, 1>>;
    /// assert_eq!(F::GRADS, F::PARAMS);
    /// ```
    pub const GRADS: usize = size_of::<M>();

    /// Bytes of the input `X` (the whole batch).
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear};
    /// assert_eq!(Footprint::<Linear<f32, 3, 2>, SMatrix<f32, 3, 8>>::INPUT, 3 * 8 * 4);
    /// ```
    pub const INPUT: usize = size_of::<X>();

    /// Bytes of the model's output for input `X`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear};
    /// assert_eq!(Footprint::<Linear<f32, 3, 2>, SMatrix<f32, 3, 8>>::OUTPUT, 2 * 8 * 4);
    /// ```
    pub const OUTPUT: usize = size_of::<M::Output>();

    /// Bytes of the largest input + output pair of any one layer
    /// ([`Layer::INFER_SCRATCH`]): the least activation memory any
    /// evaluation order of the forward pass needs (input included). A lower
    /// bound: this crate's `forward` keeps [`Footprint::INFER_ACTIVATIONS`]
    /// live (see the [module docs](self)).
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear, Relu, Seq};
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// // pairs (x, z) = 3 + 5, (z, h) = 5 + 5, (h, y) = 5 + 2 rows of 8
    /// assert_eq!(Footprint::<Net, SMatrix<f32, 3, 8>>::INFER_SCRATCH, 10 * 8 * 4);
    /// ```
    pub const INFER_SCRATCH: usize = M::INFER_SCRATCH;

    /// Bytes of the activations [`Layer::forward`] keeps live at its
    /// deepest point: every intermediate and the output
    /// ([`Layer::ACTIVATIONS`]; for a sequence of layers without caches of
    /// their own, `CACHE + OUTPUT`). The input is not included.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear, Relu, Seq};
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// assert_eq!(Footprint::<Net, SMatrix<f32, 3, 8>>::INFER_ACTIVATIONS, (5 + 5 + 2) * 8 * 4);
    /// ```
    pub const INFER_ACTIVATIONS: usize = M::ACTIVATIONS;

    /// Bytes of an inference pass: `PARAMS + INPUT + INFER_ACTIVATIONS`.
    /// With the weights in flash, RAM is `INFER − PARAMS`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear, Relu, Seq};
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// type F = Footprint<Net, SMatrix<f32, 3, 8>>;
    /// assert_eq!(F::INFER, F::PARAMS + F::INPUT + F::INFER_ACTIVATIONS);
    /// ```
    pub const INFER: usize = Self::PARAMS + Self::INPUT + Self::INFER_ACTIVATIONS;
}

impl<M: Train<X>, X, O, L> Footprint<M, X, O, L> {
    /// Bytes of the activation cache of a training forward pass
    /// ([`Train::CACHE_BYTES`]): each intermediate of a sequence once, plus
    /// the layers' own caches; not the model's input and output.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear, Relu, Seq};
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// // z = W₁x + b₁ and h = relu(z), 5 × 8 each
    /// assert_eq!(Footprint::<Net, SMatrix<f32, 3, 8>>::CACHE, 2 * 5 * 8 * 4);
    /// ```
    pub const CACHE: usize = M::CACHE_BYTES;

    /// Bytes of the input gradients backward holds at its deepest point,
    /// one per intermediate (`= CACHE` for layers without their own cache;
    /// the first layer's input gradient is never computed).
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear, Relu, Seq};
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// type F = Footprint<Net, SMatrix<f32, 3, 8>>;
    /// assert_eq!(F::BACKWARD_SCRATCH, F::CACHE);
    /// ```
    pub const BACKWARD_SCRATCH: usize = M::CACHE_BYTES;
}

impl<M: Train<X>, X, O: Optimizer<M>, L> Footprint<M, X, O, L> {
    /// Bytes of the optimizer's state, `size_of::<<O as Optimizer<M>>::State>()`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::prelude::*;
    /// use stackprop::memory::Footprint;
    /// type Net = Linear<f32, 3, 2>;
    /// type X = SMatrix<f32, 3, 1>;
    /// assert_eq!(Footprint::<Net, X, Sgd<f32>>::OPTIMIZER_STATE, 0);
    /// assert_eq!(Footprint::<Net, X, Momentum<f32>>::OPTIMIZER_STATE, 8 * 4);
    /// assert_eq!(Footprint::<Net, X, Adam<f32>>::OPTIMIZER_STATE, 2 * 8 * 4 + 2 * 4);
    /// ```
    pub const OPTIMIZER_STATE: usize = size_of::<O::State>();
}

impl<M: Train<X>, X, O: Optimizer<M>, L: Loss<M::Output>> Footprint<M, X, O, L> {
    /// Bytes of the loss's target for one batch.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::loss::SoftmaxCrossEntropy;
    /// use stackprop::memory::Footprint;
    /// use stackprop::prelude::*;
    /// type Net = Linear<f32, 3, 4>;
    /// type X = SMatrix<f32, 3, 8>;
    /// assert_eq!(Footprint::<Net, X, Sgd<f32>>::TARGET, 4 * 8 * 4); // Mse: like y
    /// assert_eq!(Footprint::<Net, X, Sgd<f32>, SoftmaxCrossEntropy>::TARGET, 8 * 8); // [usize; 8]
    /// ```
    pub const TARGET: usize = size_of::<L::Target>();

    /// Bytes of the [`Trainer`]: gradient, cache, output, `∂J/∂y`,
    /// optimizer, optimizer state and the optional L2 coefficient.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::memory::Footprint;
    /// use stackprop::prelude::*;
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// type X = SMatrix<f32, 3, 8>;
    /// assert_eq!(Footprint::<Net, X, Adam<f32>>::TRAINER,
    ///            core::mem::size_of::<Trainer<f32, Net, X, Adam<f32>>>());
    /// ```
    pub const TRAINER: usize = size_of::<Trainer<L::Scalar, M, X, O>>();

    /// Bytes of one training step ([`Trainer::step`]):
    /// `PARAMS + TRAINER + INPUT + TARGET + BACKWARD_SCRATCH` (the output is
    /// the trainer's).
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::memory::Footprint;
    /// use stackprop::prelude::*;
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// type X = SMatrix<f32, 3, 8>;
    /// type F = Footprint<Net, X, Adam<f32>>;
    /// assert_eq!(F::TRAIN, F::PARAMS + F::TRAINER + F::INPUT + F::TARGET + F::BACKWARD_SCRATCH);
    /// ```
    pub const TRAIN: usize =
        Self::PARAMS + Self::TRAINER + Self::INPUT + Self::TARGET + Self::BACKWARD_SCRATCH;
}

/// Inference in an arena ([`crate::infer`]): the activation memory is the
/// largest input + output pair of any layer, not the sum of all.
impl<M: Run<X>, X, O, L> Footprint<M, X, O, L> {
    /// Bytes of the arena [`crate::infer::forward_in`] needs
    /// ([`Run::ARENA`] scalars): the model's input and output live in it.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Linear, Relu, Seq};
    /// type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 2>];
    /// // the largest pair (3 + 5) · 8 scalars; Relu works in place
    /// assert_eq!(Footprint::<Net, SMatrix<f32, 3, 8>>::ARENA, 8 * 8 * 4);
    /// ```
    pub const ARENA: usize = M::ARENA * size_of::<M::Elem>();

    /// Bytes of inference in an arena with the weights in flash: the arena
    /// and the largest kernel temporaries ([`Run::SCRATCH`]), the RAM
    /// `firmware/measure.sh` compares with the painted stack. Stack
    /// frames (return addresses, saved registers) are not counted.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{memory::Footprint, Conv1d, Relu, Seq};
    /// type Net = Seq![Conv1d<f32, 1, 4, 3, 1, 1, 1, 16, 64>, Relu];
    /// type F = Footprint<Net, SMatrix<f32, 16, 1>>;
    /// assert_eq!(F::ARENA, (16 + 64) * 4);
    /// assert!(F::INFER_ARENA > F::ARENA);
    /// ```
    pub const INFER_ARENA: usize = Self::ARENA + M::SCRATCH;
}

/// Fails compile-time evaluation, with a message naming `what`, `need` and
/// `budget`, if `need > budget`. The engine of
/// [`assert_fits!`](crate::assert_fits); usable directly in a `const _`.
///
/// `what` should read as "`<network>` to &lt;do something&gt;".
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::memory::{fits, Footprint};
/// use stackprop::Linear;
/// type Net = Linear<f32, 16, 16>;
/// const _: () = fits("`Net` to infer", Footprint::<Net, SMatrix<f32, 16, 1>>::INFER, 4096);
/// ```
///
/// ```compile_fail,E0080
/// use nalgebra::SMatrix;
/// use stackprop::memory::{fits, Footprint};
/// use stackprop::Linear;
/// type Net = Linear<f32, 64, 64>;
/// const _: () = fits("`Net` to infer", Footprint::<Net, SMatrix<f32, 64, 1>>::INFER, 4096);
/// ```
pub const fn fits(what: &str, need: usize, budget: usize) {
    if need <= budget {
        return;
    }
    let mut m = Msg { buf: [0; MSG_LEN], len: 0 };
    m.push("stackprop: ");
    m.push(what);
    m.push(" needs ");
    m.push_num(need);
    m.push(" bytes, over the budget of ");
    m.push_num(budget);
    m.push(" bytes by ");
    m.push_num(need - budget);
    match core::str::from_utf8(m.buf.split_at(m.len).0) {
        Ok(s) => panic!("{}", s),
        Err(_) => panic!("stackprop: over the memory budget"),
    }
}

pub(crate) const MSG_LEN: usize = 480;

/// A message built in a fixed buffer at compile time (a `const` panic can
/// only print a `&str`).
pub(crate) struct Msg {
    pub(crate) buf: [u8; MSG_LEN],
    pub(crate) len: usize,
}

impl Msg {
    /// An empty message.
    pub(crate) const fn new() -> Self {
        Msg { buf: [0; MSG_LEN], len: 0 }
    }

    /// Fails the build (or panics) with the message.
    pub(crate) const fn fail(&self) -> ! {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => panic!("{}", s),
            Err(_) => panic!("stackprop: a shape does not fit"),
        }
    }

    /// Appends `s`, cut at a character boundary if the buffer is full.
    pub(crate) const fn push(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            // the length of the UTF-8 sequence starting at b[i]
            let n = match b[i] {
                0..0x80 => 1,
                0xC0..0xE0 => 2,
                0xE0..0xF0 => 3,
                _ => 4,
            };
            if self.len + n > MSG_LEN {
                return;
            }
            let mut k = 0;
            while k < n && i < b.len() {
                self.buf[self.len] = b[i];
                self.len += 1;
                i += 1;
                k += 1;
            }
        }
    }

    /// Appends `n` in decimal.
    pub(crate) const fn push_num(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 && self.len < MSG_LEN {
            k -= 1;
            self.buf[self.len] = digits[k];
            self.len += 1;
        }
    }
}

/// Asserts at compile time that a network fits a memory budget in bytes.
///
/// * `assert_fits!(Net, X, infer <= BYTES)` checks
///   [`Footprint::<Net, X>::INFER`](Footprint::INFER);
/// * `assert_fits!(Net, X, Opt, train <= BYTES)` checks
///   [`Footprint::<Net, X, Opt>::TRAIN`](Footprint::TRAIN) (target shaped
///   like the output, as for [`Mse`]);
/// * `assert_fits!(Net, X, Opt, Loss, train <= BYTES)` with the loss's
///   target.
///
/// It expands to a `const _: () = …;` item, so it goes next to the type,
/// costs nothing at run time and is checked by `cargo check`. Over budget,
/// the build fails with `error[E0080]` and a message naming the network,
/// its need and the budget.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::loss::SoftmaxCrossEntropy;
/// use stackprop::prelude::*;
/// type Net = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];
/// stackprop::assert_fits!(Net, SMatrix<f32, 2, 4>, infer <= 512);
/// stackprop::assert_fits!(Net, SMatrix<f32, 2, 4>, Adam<f32>, train <= 2048);
/// stackprop::assert_fits!(Net, SMatrix<f32, 2, 4>, Sgd<f32>, SoftmaxCrossEntropy, train <= 1024);
/// ```
///
/// ```compile_fail,E0080
/// use nalgebra::SMatrix;
/// use stackprop::prelude::*;
/// type Net = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];
/// stackprop::assert_fits!(Net, SMatrix<f32, 2, 4>, Adam<f32>, train <= 1024);
/// ```
#[macro_export]
macro_rules! assert_fits {
    ($net:ty, $x:ty, infer <= $budget:expr $(,)?) => {
        const _: () = $crate::memory::fits(
            ::core::concat!(
                "`",
                ::core::stringify!($net),
                "` to infer on `",
                ::core::stringify!($x),
                "`"
            ),
            $crate::memory::Footprint::<$net, $x>::INFER,
            $budget,
        );
    };
    ($net:ty, $x:ty, $opt:ty, train <= $budget:expr $(,)?) => {
        const _: () = $crate::memory::fits(
            ::core::concat!(
                "`",
                ::core::stringify!($net),
                "` to train with `",
                ::core::stringify!($opt),
                "` on `",
                ::core::stringify!($x),
                "`"
            ),
            $crate::memory::Footprint::<$net, $x, $opt>::TRAIN,
            $budget,
        );
    };
    ($net:ty, $x:ty, $opt:ty, $loss:ty, train <= $budget:expr $(,)?) => {
        const _: () = $crate::memory::fits(
            ::core::concat!(
                "`",
                ::core::stringify!($net),
                "` to train with `",
                ::core::stringify!($opt),
                "` and `",
                ::core::stringify!($loss),
                "` on `",
                ::core::stringify!($x),
                "`"
            ),
            $crate::memory::Footprint::<$net, $x, $opt, $loss>::TRAIN,
            $budget,
        );
    };
}

/// Builds a constant directly in a new heap allocation, without copying it
/// through the stack: `boxed!(EXPR)` is a `Box<[T; 1]>` holding `EXPR`,
/// which must be a constant expression such as `Net::ZEROS` or
/// `Trainer::zeroed(OPTIMIZER)` (it is evaluated as `const { EXPR }`, so a
/// run-time expression is a compile error rather than a silent stack
/// copy). Get the value with `let [v] = &mut *b;` or `&mut b[0]`.
///
/// It relies on the standard library's `vec!` building its one element in
/// place (see the [module docs](self) for the mechanism, its limits and the
/// test that checks it). Needs `vec!` and `Box` in scope: the std prelude,
/// or `use alloc::{boxed::Box, vec};` in a `no_std` crate with `alloc`.
///
/// ```
/// use stackprop::prelude::*;
/// use stackprop::zeros::ConstZeros;
/// type Net = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];
/// let mut b = stackprop::boxed!(Net::ZEROS); // 814 KB, never on the stack
/// let [net] = &mut *b;
/// net.0.reinit(&mut Rng::new(7), Init::HeUniform);
/// ```
#[macro_export]
macro_rules! boxed {
    ($value:expr $(,)?) => {{
        let b: Box<[_; 1]> =
            match ::core::convert::TryInto::try_into(vec![const { $value }].into_boxed_slice()) {
                ::core::result::Result::Ok(b) => b,
                ::core::result::Result::Err(_) => ::core::unreachable!(),
            };
        b
    }};
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn msg(parts: &[&str], num: Option<usize>) -> ([u8; MSG_LEN], usize) {
        let mut m = Msg { buf: [0; MSG_LEN], len: 0 };
        for p in parts {
            m.push(p);
        }
        if let Some(n) = num {
            m.push_num(n);
        }
        (m.buf, m.len)
    }

    #[test]
    fn numbers_in_decimal() {
        for n in [0, 7, 10, 4096, 3_490_760, usize::MAX] {
            let (buf, len) = msg(&["n="], Some(n));
            assert_eq!(core::str::from_utf8(&buf[..len]).unwrap(), std::format!("n={n}"));
        }
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        // 3-byte characters do not divide MSG_LEN - 1: the cut must fall
        // before a character, never inside it
        let long = "∂".repeat(MSG_LEN);
        let (buf, len) = msg(&["x", &long], Some(12345));
        let s = core::str::from_utf8(&buf[..len]).unwrap();
        assert!(s.starts_with("x∂∂"));
        assert!(len <= MSG_LEN && len > MSG_LEN - 3, "{len}");
        // then the number fills what is left, digit by digit
        let a = "a".repeat(MSG_LEN - 2);
        let (buf, len) = msg(&[&a], Some(12345));
        assert_eq!(&buf[len - 2..len], b"12");
    }

    #[test]
    fn fits_passes_within_budget() {
        fits("x", 10, 10);
        fits("x", 0, 0);
    }

    #[test]
    #[should_panic(
        expected = "stackprop: `Net` to infer needs 5000 bytes, over the budget of 4096 bytes by 904"
    )]
    fn fits_names_need_and_budget() {
        fits("`Net` to infer", 5000, 4096);
    }
}
