//! Training: one step (forward keeping the cache → loss → backward → update)
//! and a loop over a data set in shuffled minibatches that stops on a
//! criterion.
//!
//! A [`Trainer`] owns everything a training step needs besides the model:
//! the gradient (a value of the model's type), the activation cache, the
//! output and the loss gradient (its [`Backprop`]) and the optimizer with
//! its state. Its size is therefore the extra memory training needs, a
//! compile-time constant.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::prelude::*;
//! let mut net: Seq![Linear<f64, 1, 1>] = Linear::zeros();
//! let x = SMatrix::<f64, 1, 2>::new(1.0, 2.0);
//! let t = SMatrix::<f64, 1, 2>::new(2.0, 4.0); // t = 2x
//! let mut tr = Trainer::new(Sgd::new(0.1));
//! let first = tr.step(&mut net, &Mse, &x, &t).unwrap();
//! for _ in 0..2000 { tr.step(&mut net, &Mse, &x, &t).unwrap(); }
//! assert!(tr.step(&mut net, &Mse, &x, &t).unwrap() < 1e-8 * first);
//! ```

use crate::data::{Batches, Dataset, Targets};
use crate::error::Error;
use crate::finite::all_finite;
use crate::layer::{Backward, Dx, Grads, NoDx, Train, WithDx};
use crate::loss::{Loss, l2};
use crate::module::Module;
use crate::optim::Optimizer;
use crate::params;
use crate::rng::Rng;
use crate::scalar::{Real, SimdBool, is_finite, lit};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// What computing a gradient needs besides the model and the data: the
/// activation cache, the output, `∂J/∂y` and the gradient itself. A
/// [`Trainer`] holds one; use it alone for gradients without an optimizer.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::prelude::*;
/// use stackprop::train::Backprop;
/// let net = Linear::<f64, 2, 1>::from_fn(|_, i| i as f64 + 1.0, |_| 0.0); // y = x0 + 2 x1
/// let x = SMatrix::<f64, 2, 1>::new(1.0, 1.0);
/// let t = SMatrix::<f64, 1, 1>::new(0.0);
/// let mut bp = Backprop::new();
/// let (j, dx) = bp.input_gradient(&net, &Mse, &x, &t).unwrap();
/// assert_eq!(j, 9.0);                                      // (3 − 0)²
/// assert_eq!(dx, SMatrix::<f64, 2, 1>::new(6.0, 12.0));    // 2·3·(1, 2)
/// assert_eq!(bp.grads.weight, SMatrix::<f64, 1, 2>::new(6.0, 6.0));
/// assert_eq!(bp.y[0], 3.0);
/// ```
pub struct Backprop<T, M: Train<X>, X> {
    /// The gradient `∂J/∂θ` of the last call, a value of the model's type.
    pub grads: M,
    /// The activation cache of the last training forward pass.
    pub cache: M::Cache,
    /// The model's output of the last call.
    pub y: M::Output,
    /// `∂J/∂y` of the last call.
    pub dy: M::Output,
    /// Coefficient `λ` of the L2 term `λ/2·Σ‖W‖²` added to the loss
    /// (`None`: no term). See [`crate::loss::l2`].
    pub l2: Option<T>,
}

impl<T: Real, M: Train<X> + Module<Scalar = T>, X> Default for Backprop<T, M, X> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real, M: Train<X> + Module<Scalar = T>, X> Backprop<T, M, X> {
    /// Zeroed gradient, cache, output and `∂J/∂y`, no L2 term.
    pub fn new() -> Self {
        Self {
            grads: M::zeros(),
            cache: Zeros::zeros(),
            y: Zeros::zeros(),
            dy: Zeros::zeros(),
            l2: None,
        }
    }

    /// [`Backprop::new`] as a `const fn` (see [`Trainer::zeroed`]).
    pub const fn zeroed() -> Self
    where
        M: ConstZeros,
        M::Cache: ConstZeros,
        M::Output: ConstZeros,
    {
        Self {
            grads: ConstZeros::ZEROS,
            cache: ConstZeros::ZEROS,
            y: ConstZeros::ZEROS,
            dy: ConstZeros::ZEROS,
            l2: None,
        }
    }

    /// Computes the objective `J` and its gradient into
    /// [`Backprop::grads`]: forward keeping the cache, loss (plus the L2
    /// term), backward in reverse order. Returns `J`.
    ///
    /// Returns an error for a bad target or a non-finite objective.
    pub fn gradient<L>(&mut self, model: &M, loss: &L, x: &X, t: &L::Target) -> Result<T, Error>
    where
        L: Loss<M::Output, Scalar = T>,
    {
        self.run::<NoDx, L>(model, loss, x, t).map(|(j, _)| j)
    }

    /// [`Backprop::gradient`], and the gradient of `J` with respect to the
    /// input, `∂J/∂x` (for a saliency map, an adversarial example, or a
    /// model whose input is another model's output).
    pub fn input_gradient<L>(
        &mut self,
        model: &M,
        loss: &L,
        x: &X,
        t: &L::Target,
    ) -> Result<(T, X), Error>
    where
        L: Loss<M::Output, Scalar = T>,
    {
        let (j, b) = self.run::<WithDx, L>(model, loss, x, t)?;
        Ok((j, b.dx))
    }

    /// One forward and backward pass, writing the gradient: `J`, and what
    /// backward returned (whether the network knows the gradient is finite
    /// is `false` with an L2 term, whose weights' values are checked here).
    fn run<D: Dx, L>(
        &mut self,
        model: &M,
        loss: &L,
        x: &X,
        t: &L::Target,
    ) -> Result<(T, Backward<D::Out<X>>), Error>
    where
        L: Loss<M::Output, Scalar = T>,
    {
        model.forward_train(x, &mut self.cache, &mut self.y);
        let mut j = loss.loss_grad(&self.y, t, &mut self.dy)?;
        if let Some(lambda) = self.l2 {
            j += l2::penalty(model, lambda);
        }
        if !is_finite(j) {
            return Err(Error::NonFinite { what: "loss" });
        }
        // Writes the gradient over the last one (no zeroing pass).
        let mut b =
            model.backward::<D>(x, &self.y, &self.cache, &self.dy, &mut self.grads, Grads::Write);
        if let Some(lambda) = self.l2 {
            // Biases keep backward's values; the weights' new values are
            // checked as they are written.
            b.finite &= l2::add_grad_checked(model, &mut self.grads, lambda);
        }
        Ok((j, b))
    }
}

/// Everything a training step needs besides the model and the data: the
/// [`Backprop`] state and the optimizer with its state.
///
/// `M` is the model, `X` its input type (which fixes the batch size), `O` the
/// optimizer and `T` the scalar. A trainer dereferences to its
/// [`Backprop`], so its gradient, cache, output and `∂J/∂y` are
/// `trainer.grads`, `trainer.cache`, `trainer.y`, `trainer.dy`, and
/// [`Backprop::input_gradient`] is a method of the trainer too.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::prelude::*;
/// let mut net = Linear::<f64, 1, 1>::from_fn(|_, _| 2.0, |_| 0.0);
/// let mut tr = Trainer::new(Sgd::new(0.1));
/// let (x, t) = (SMatrix::<f64, 1, 1>::new(1.0), SMatrix::<f64, 1, 1>::new(0.0));
/// tr.step(&mut net, &Mse, &x, &t).unwrap();
/// assert_eq!(tr.grads.weight[0], 4.0); // 2·(2 − 0)·1, the gradient before the update
/// assert_eq!(tr.grads, tr.backprop.grads);
/// ```
pub struct Trainer<T, M: Train<X>, X, O: Optimizer<M>> {
    /// The optimizer's hyper-parameters.
    pub optimizer: O,
    /// The optimizer's state (momentum, Adam's moments).
    pub state: O::State,
    /// The gradient, cache, output and `∂J/∂y` of the last step.
    pub backprop: Backprop<T, M, X>,
}

impl<T, M, X, O> Trainer<T, M, X, O>
where
    T: Real,
    M: Train<X> + Module<Scalar = T>,
    O: Optimizer<M>,
{
    /// A trainer with zeroed gradient, cache and optimizer state.
    ///
    /// For a model too big for the stack, put the trainer in a `static` or
    /// build it in place with [`Zeros`] (see the `memory` docs).
    pub fn new(optimizer: O) -> Self {
        Self { optimizer, state: Zeros::zeros(), backprop: Backprop::new() }
    }

    /// A trainer with zeroed gradient, cache and optimizer state, built by a
    /// `const fn`: it can initialize a `static` (a model's whole training
    /// memory in RAM on firmware, no stack involved) or be built directly on
    /// the heap with [`crate::boxed!`]. See [`crate::memory`].
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::prelude::*;
    /// type Net = Seq![Linear<f32, 2, 4>, Relu, Linear<f32, 4, 1>];
    /// type Tr = Trainer<f32, Net, SMatrix<f32, 2, 8>, Sgd<f32>>;
    /// static TRAINER: std::sync::Mutex<Tr> =
    ///     std::sync::Mutex::new(Trainer::zeroed(Sgd { lr: 0.1, wd: 0.0, decay_biases: false }));
    /// assert_eq!(TRAINER.lock().unwrap().optimizer.lr, 0.1);
    /// ```
    pub const fn zeroed(optimizer: O) -> Self
    where
        M: ConstZeros,
        M::Cache: ConstZeros,
        M::Output: ConstZeros,
        O::State: ConstZeros,
    {
        Self { optimizer, state: ConstZeros::ZEROS, backprop: Backprop::zeroed() }
    }

    /// Adds the L2 term `λ/2·Σ‖W‖²_F` (weights only) to the objective.
    ///
    /// ```
    /// use stackprop::prelude::*;
    /// use nalgebra::SMatrix;
    /// type Net = Linear<f64, 1, 1>;
    /// let mut tr: Trainer<f64, Net, SMatrix<f64, 1, 1>, Sgd<f64>> =
    ///     Trainer::new(Sgd::new(0.1)).with_l2(0.5);
    /// assert_eq!(tr.backprop.l2, Some(0.5));
    /// ```
    pub fn with_l2(mut self, lambda: T) -> Self {
        self.backprop.l2 = Some(lambda);
        self
    }

    /// Computes the objective `J` and its gradient into
    /// `self.backprop.grads` without updating the model
    /// ([`Backprop::gradient`]).
    ///
    /// Returns an error for a bad target or a non-finite objective; the
    /// model is never changed.
    pub fn gradient<L>(&mut self, model: &M, loss: &L, x: &X, t: &L::Target) -> Result<T, Error>
    where
        L: Loss<M::Output, Scalar = T>,
    {
        self.backprop.gradient(model, loss, x, t)
    }

    /// One training step: [`Trainer::gradient`], then the optimizer's
    /// update, then [`Train::update_buffers`] with the step's cache (the
    /// running statistics of a [`crate::BatchNorm`] take in this batch's).
    /// Returns the objective before the update.
    ///
    /// On any error (bad target, non-finite loss or gradient) the model is
    /// left unchanged, buffers included. [`Trainer::gradient`] and
    /// [`Backprop`] alone never touch the buffers: call
    /// `model.update_buffers(&backprop.cache)` after an update of your own.
    pub fn step<L>(&mut self, model: &mut M, loss: &L, x: &X, t: &L::Target) -> Result<T, Error>
    where
        L: Loss<M::Output, Scalar = T>,
    {
        let (j, b) = self.backprop.run::<NoDx, L>(model, loss, x, t)?;
        if !b.finite {
            let mut finite = true;
            params::for_each(&self.backprop.grads, |_, g: &[T]| finite &= all_finite(g));
            if !finite {
                return Err(Error::NonFinite { what: "gradient" });
            }
        }
        self.optimizer.update(model, &self.backprop.grads, &mut self.state);
        model.update_buffers(&self.backprop.cache);
        Ok(j)
    }
}

impl<T, M: Train<X>, X, O: Optimizer<M>> core::ops::Deref for Trainer<T, M, X, O> {
    type Target = Backprop<T, M, X>;
    fn deref(&self) -> &Backprop<T, M, X> {
        &self.backprop
    }
}

impl<T, M: Train<X>, X, O: Optimizer<M>> core::ops::DerefMut for Trainer<T, M, X, O> {
    fn deref_mut(&mut self) -> &mut Backprop<T, M, X> {
        &mut self.backprop
    }
}

/// When [`fit`] stops.
///
/// ```
/// use stackprop::train::Stop;
/// let s = Stop::epochs(100).or_loss_below(1e-3);
/// assert_eq!((s.max_epochs, s.loss_below), (100, Some(1e-3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stop {
    /// Stop after this many epochs.
    pub max_epochs: usize,
    /// Stop as soon as an epoch's mean loss is below this (in every lane).
    pub loss_below: Option<f64>,
}

impl Stop {
    /// Stop after `n` epochs.
    pub fn epochs(n: usize) -> Self {
        Self { max_epochs: n, loss_below: None }
    }
    /// Also stop when the epoch's mean loss drops below `target`.
    pub fn or_loss_below(mut self, target: f64) -> Self {
        self.loss_below = Some(target);
        self
    }
}

/// What one epoch of [`fit`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epoch<T> {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean loss over the epoch's minibatches.
    pub loss: T,
    /// Number of minibatches (steps) in the epoch.
    pub steps: usize,
}

/// Why [`fit`] stopped, and the last epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit<T> {
    /// The last epoch run.
    pub last: Epoch<T>,
    /// Whether the loss target was reached (as opposed to running out of
    /// epochs).
    pub reached_target: bool,
}

/// Trains `model` on `data` in shuffled minibatches of `B` samples until
/// `stop` says so: "repeat until a stopping criterion is met".
///
/// Each epoch shuffles the sample order (kept in the caller's `order`
/// buffer, one `usize` per sample, so nothing allocates) with `rng`, runs one
/// [`Trainer::step`] per full minibatch (the last partial minibatch of an
/// epoch is skipped; shuffling varies which samples that is), and calls
/// `on_epoch` with the epoch's mean loss. Returns the first error a step
/// returns; the model keeps every update made before it.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::prelude::*;
/// use stackprop::train::{fit, Stop};
/// let xs = [[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let ys = [[0.0f32], [1.0], [1.0], [2.0]]; // x0 + x1
/// let data = Dataset::new(&xs, &ys[..]).unwrap();
/// let mut net: Linear<f32, 2, 1> = Linear::zeros();
/// let mut tr: Trainer<f32, _, SMatrix<f32, 2, 2>, _> = Trainer::new(Sgd::new(0.2));
/// let mut order = [0usize; 4];
/// let fit = fit(&mut tr, &mut net, &Mse, &data, &mut order, &mut Rng::new(1),
///               Stop::epochs(500).or_loss_below(1e-6), |_| {}).unwrap();
/// assert!(fit.reached_target);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn fit<T, M, O, L, Y, const I: usize, const B: usize>(
    trainer: &mut Trainer<T, M, SMatrix<T, I, B>, O>,
    model: &mut M,
    loss: &L,
    data: &Dataset<'_, T, I, Y>,
    order: &mut [usize],
    rng: &mut Rng,
    stop: Stop,
    mut on_epoch: impl FnMut(&Epoch<T>),
) -> Result<Fit<T>, Error>
where
    T: Real,
    M: Train<SMatrix<T, I, B>> + Module<Scalar = T>,
    O: Optimizer<M>,
    Y: Targets<B> + ?Sized,
    L: Loss<M::Output, Scalar = T, Target = Y::Batch>,
{
    let mut x = SMatrix::<T, I, B>::zeros();
    let mut t = <Y::Batch as Zeros>::zeros();
    let mut last = Epoch { epoch: 0, loss: T::zero(), steps: 0 };
    for epoch in 1..=stop.max_epochs {
        let mut batches = Batches::<B>::new(data.len(), order, rng)?;
        let mut sum = T::zero();
        let mut steps = 0;
        while let Some(idx) = batches.next_batch() {
            data.gather(idx, &mut x, &mut t);
            sum += trainer.step(model, loss, &x, &t)?;
            steps += 1;
        }
        last = Epoch { epoch, loss: sum / lit::<T>(steps.max(1) as f64), steps };
        on_epoch(&last);
        if let Some(target) = stop.loss_below
            && last.loss.simd_lt(lit(target)).all()
        {
            return Ok(Fit { last, reached_target: true });
        }
    }
    Ok(Fit { last, reached_target: false })
}
