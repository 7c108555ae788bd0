//! The gradient checker: run it on your own layers, losses and penalties.
//!
//! [`check_layer`] takes any layer whose input is an `SMatrix<f64, I, B>`
//! and whose output is an `SMatrix<f64, O, C>` (a single layer, a
//! sequential model built with [`seq!`](crate::seq!), a layer over a
//! sequence of columns) and checks what its `backward` computes against the
//! layer's own `forward`:
//!
//! 1. **Finite differences.** With an upstream gradient `u` (random, or
//!    yours with [`check_layer_at`]) the scalar objective is
//!    `J(x, θ) = ⟨u, f(x; θ)⟩`, so `∂J/∂x` is what `backward` returns for
//!    `dy = u` and `∂J/∂θ` is what it adds into the gradient. Every entry of
//!    the input and of every parameter tensor is perturbed in turn and the
//!    derivative of `J` estimated by central differences; the worst
//!    relative error over the input and over the parameters is reported.
//! 2. **The adjoint identity** `⟨J·v, u⟩ = ⟨v, Jᵀ·u⟩`, once for the input
//!    Jacobian and once for the parameter Jacobian, with `v` a random
//!    standard-normal direction over all entries at once. `Jᵀ·u` is what
//!    `backward` computes; `J·v` is the directional derivative
//!    `d/ds f(x + s·v)` (resp. `f(θ + s·v)`) by the same central
//!    differences (for a linear map these are exact up to rounding). This
//!    catches errors that cancel entry by entry and checks all entries
//!    together, to a much tighter tolerance.
//! 3. **The contract of [`Train`].** `forward_train` writes what `forward`
//!    returns; `backward` *adds* the same parameter gradient with and
//!    without the input gradient (two calls give twice the gradient),
//!    *writes* it over stale values in [`crate::layer::Grads::Write`] mode,
//!    with the same input gradient.
//!
//! The result is a [`Report`] (the worst relative errors, and which tensor
//! and entry they are at) and a verdict against the tolerances of a
//! [`Config`]: `Ok(report)` or `Err(`[`Failure`]`)` naming the [`Check`] that
//! failed. The checker never panics; non-finite values are a failure.
//! [`check_loss`] does the same for a [`Loss`] (`loss_grad` against finite
//! differences of `loss`), [`check_penalty`] for a penalty on the
//! parameters such as L2 weight decay, and [`derivative`] is the
//! finite-difference stencil itself.
//!
//! # Finite differences, and how errors are measured
//!
//! Derivatives are estimated by the 6th-order central stencil
//! `f'(0) ≈ (−f(−3h) + 9f(−2h) − 45f(−h) + 45f(h) − 9f(2h) + f(3h)) / 60h`
//! with `h = `[`Config::step`] (default `1e-3`). It is exact for polynomials
//! of degree ≤ 6 and its truncation error is `O(h⁶)`, so what is left is
//! the rounding of the objective: about `ε·S/h`, where `ε` is the machine
//! epsilon and `S` the size of the objective's terms that the perturbation
//! changes — `Σ|u_k|·|f_k|` over the outputs `k` that changed (the change
//! of `⟨u, f⟩` is summed term by term, so untouched outputs add no
//! rounding), `max(|L|, max|y|)` for a loss (a log-sum-exp of logits of
//! 1000 is rounded to about `1000·ε` however small the loss is), `|P|` for a
//! penalty. A directional derivative `J·v` takes steps of `h/‖v‖∞` (so no
//! entry moves by more than `3h`) and is the mean of the stencil at three
//! steps, `h`, `0.7h` and `0.49h` (over `‖v‖∞`).
//!
//! With `a` the value from backward, `n` the finite difference and
//! `r = noise·ε·S/h` the rounding allowance ([`Config::noise`], default 16;
//! `h` the smallest step used):
//!
//! * an entry's relative error is `|a − n| / max(|a|, |n|, r/grad_tol)`: it
//!   is at most `grad_tol` iff `|a − n| ≤ grad_tol·max(|a|, |n|)` or
//!   `|a − n| ≤ r`, so entries far smaller than the objective are compared
//!   at the level rounding allows;
//! * the adjoint identity's relative error is
//!   `|⟨J·v, u⟩ − ⟨v, Jᵀ·u⟩| / max(Σ|v_i·(Jᵀu)_i|, |⟨J·v, u⟩|, r/adjoint_tol)`,
//!   relative to the size of the terms of the dot product (not to the dot
//!   product itself, which a random direction can make arbitrarily small).
//!   When the three directional estimates agree to `grad_tol`, `r` is at
//!   least 4 times their spread, an estimate of the rounding measured on
//!   the objective itself (it catches rounding that `S` underestimates, as in
//!   an output that is a small difference of large terms).
//!
//! With these defaults the property tests of the crate's ops, layers,
//! losses and 5-layer compositions (`tests/gradients.rs`) pass at 4000
//! cases each (`PROPTEST_CASES=4000`).
//!
//! Finite differences need a smooth function: keep every pre-activation of
//! a ReLU or LeakyReLU further from its kink than a perturbation can move
//! it (each entry moves by up to `3h`, and a directional step moves all
//! entries at once), or the check fails for the right reason.
//!
//! The checker runs `6·entries + 18·directions` forward passes and keeps two
//! values of the layer's type (the gradient and a working copy) on the
//! stack: use it on small instances of your layer. It allocates nothing and
//! works under `no_std`.
//!
//! # Example: checking a layer of your own
//!
//! A layer with a learned per-feature scale, `y = s ⊙ x` (each column of
//! the batch scaled by `s`): `∂J/∂s_i = Σ_j dy_ij·x_ij`, `∂J/∂x = s ⊙ dy`.
//!
//! ```
//! use nalgebra::{SMatrix, SVector};
//! use stackprop::gradcheck::{self, Config};
//! use stackprop::layer::{Backward, Dx, Grads, Layer, Train};
//! use stackprop::module::{Data, DataMut, Desc, Module, ParamKind};
//! use stackprop::{Linear, Tanh, Zeros, rng::Rng, seq};
//!
//! #[derive(Clone, Debug)]
//! struct Scale<const N: usize> {
//!     s: SVector<f64, N>,
//! }
//!
//! impl<const N: usize> Zeros for Scale<N> {
//!     fn zeros() -> Self {
//!         Scale { s: SVector::zeros() }
//!     }
//!     fn set_zero(&mut self) {
//!         self.s.fill(0.0);
//!     }
//! }
//!
//! impl<const N: usize> Module for Scale<N> {
//!     type Scalar = f64;
//!     const DESC: Desc = Desc::new("Scale").dim("features", N)
//!         .tensor::<f64>("scale", ParamKind::Weight, &[N]);
//!     fn tensor(&self, i: usize) -> Option<Data<'_>> {
//!         (i == 0).then(|| self.s.as_slice().into())
//!     }
//!     fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
//!         (i == 0).then(|| self.s.as_mut_slice().into())
//!     }
//! }
//!
//! impl<const N: usize, const B: usize> Layer<SMatrix<f64, N, B>> for Scale<N> {
//!     type Output = SMatrix<f64, N, B>;
//!     fn forward(&self, x: &SMatrix<f64, N, B>) -> SMatrix<f64, N, B> {
//!         SMatrix::from_fn(|i, j| self.s[i] * x[(i, j)])
//!     }
//! }
//!
//! impl<const N: usize, const B: usize> Train<SMatrix<f64, N, B>> for Scale<N> {
//!     type Cache = ();
//!     fn forward_train(&self, x: &SMatrix<f64, N, B>, _: &mut (), y: &mut SMatrix<f64, N, B>) {
//!         *y = self.forward(x);
//!     }
//!     fn backward<D: Dx>(
//!         &self,
//!         x: &SMatrix<f64, N, B>,
//!         _y: &SMatrix<f64, N, B>,
//!         _cache: &(),
//!         dy: &SMatrix<f64, N, B>,
//!         grads: &mut Self,
//!         mode: Grads,
//!     ) -> Backward<D::Out<SMatrix<f64, N, B>>> {
//!         if mode == Grads::Write {
//!             grads.set_zero(); // write: start from zero, then add
//!         }
//!         for i in 0..N {
//!             for j in 0..B {
//!                 grads.s[i] += dy[(i, j)] * x[(i, j)];
//!             }
//!         }
//!         Backward::new(D::dx(|| SMatrix::from_fn(|i, j| self.s[i] * dy[(i, j)])))
//!     }
//! }
//!
//! let scale = Scale::<3> { s: SVector::from([0.5, -2.0, 1.5]) };
//! let x = SMatrix::<f64, 3, 2>::from_fn(|i, j| i as f64 - 0.7 * j as f64 + 0.25);
//! let cfg = Config::default();
//! let report = gradcheck::check_layer(&scale, &x, &mut Rng::new(7), &cfg).unwrap();
//! assert!(report.input.rel_err <= cfg.grad_tol && report.params.rel_err <= cfg.grad_tol);
//! assert!(report.params_adjoint.rel_err <= cfg.adjoint_tol);
//!
//! // The same layer inside a model: the model's tensors are numbered
//! // 0 (Linear weight), 1 (Linear bias), 2 (the scale).
//! let model = seq![Linear::<f64, 2, 3>::from_fn(|o, i| 0.3 * o as f64 - 0.5 * i as f64, |o| 0.1 * o as f64),
//!                  Tanh, scale];
//! let x = SMatrix::<f64, 2, 4>::from_fn(|i, j| 0.4 * i as f64 - 0.3 * j as f64);
//! let report = gradcheck::check_layer(&model, &x, &mut Rng::new(8), &cfg).unwrap();
//! assert_eq!(report.evaluations, 6 * (2 * 4 + 6 + 3 + 3) + 18 * 2);
//! ```
//!
//! A backward that is wrong is reported, with where it is wrong; see
//! [`Failure`].

// `Failure` carries the whole `Report` (a few hundred bytes) so a failed
// check says everything it measured; boxing it would need an allocator.
#![allow(clippy::result_large_err)]

use crate::layer::{Grads, NoDx, Train, WithDx};
use crate::loss::Loss;
use crate::module::{Elem, Module};
use crate::rng::Rng;
use crate::zeros::Zeros;
use core::fmt;
use nalgebra::SMatrix;

/// The step and the tolerances of a check.
///
/// ```
/// use stackprop::gradcheck::Config;
/// let strict = Config { grad_tol: 1e-8, ..Config::default() };
/// assert_eq!(strict.step, 1e-3);
/// assert_eq!(Config::DEFAULT, Config::default());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// The finite-difference step `h` (default `1e-3`). Every entry moves by
    /// at most `3h`.
    pub step: f64,
    /// The largest relative error allowed for an entry of a gradient
    /// against finite differences (default `1e-6`).
    pub grad_tol: f64,
    /// The largest relative error allowed for the adjoint identity and the
    /// contract checks (default `1e-10`).
    pub adjoint_tol: f64,
    /// A difference between backward and finite differences below `noise`
    /// times the rounding error finite differences carry, `ε·S/h` (`ε` the
    /// machine epsilon, `S` the size of the objective's changed terms, `h`
    /// the step), is not counted as an error (default `16`); see the
    /// [module docs](self).
    pub noise: f64,
}

impl Config {
    /// The defaults: step `1e-3`, entries to `1e-6`, adjoint identity to
    /// `1e-10`, rounding allowance `16·ε·S/h`.
    pub const DEFAULT: Config =
        Config { step: 1e-3, grad_tol: 1e-6, adjoint_tol: 1e-10, noise: 16.0 };
}

impl Default for Config {
    /// [`Config::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where a compared value is.
///
/// ```
/// use stackprop::gradcheck::Location;
/// let at = Location::Param { tensor: 1, index: 4 };
/// assert_eq!(format!("{at}"), "parameter tensor 1, entry 4");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// Nothing was compared (no entries, e.g. the parameters of a ReLU).
    Nowhere,
    /// Entry `(row, col)` of the input (for a loss: of the prediction).
    Input {
        /// Row (feature).
        row: usize,
        /// Column (sample).
        col: usize,
    },
    /// Entry `index` (column-major, as [`crate::Module::tensor`] hands it out) of
    /// parameter tensor `tensor`.
    Param {
        /// The tensor's number in `0..TENSORS`.
        tensor: usize,
        /// The entry in the tensor's flat slice.
        index: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Location::Nowhere => write!(f, "nowhere"),
            Location::Input { row, col } => write!(f, "input ({row}, {col})"),
            Location::Param { tensor, index } => {
                write!(f, "parameter tensor {tensor}, entry {index}")
            }
        }
    }
}

/// The worst entry of a gradient against finite differences.
///
/// ```
/// use stackprop::gradcheck::{Location, Worst};
/// assert_eq!(Worst::NONE.at, Location::Nowhere);
/// assert_eq!(Worst::NONE.rel_err, 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Worst {
    /// Where it is.
    pub at: Location,
    /// The value `backward` computed.
    pub analytic: f64,
    /// The finite-difference estimate.
    pub numeric: f64,
    /// Their relative error (NaN if either is not finite).
    pub rel_err: f64,
}

impl Worst {
    /// Nothing compared yet.
    pub const NONE: Worst =
        Worst { at: Location::Nowhere, analytic: 0.0, numeric: 0.0, rel_err: 0.0 };

    fn update(&mut self, at: Location, analytic: f64, numeric: f64, rel_err: f64) {
        // The first entry compared, then the largest error; a NaN stays the
        // worst once seen.
        let first = self.at == Location::Nowhere;
        if first || (!self.rel_err.is_nan() && (rel_err.is_nan() || rel_err > self.rel_err)) {
            *self = Worst { at, analytic, numeric, rel_err };
        }
    }
}

/// Both sides of the adjoint identity `⟨J·v, u⟩ = ⟨v, Jᵀ·u⟩`.
///
/// ```
/// use stackprop::gradcheck::Adjoint;
/// assert_eq!(Adjoint::NONE.rel_err, 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adjoint {
    /// `⟨J·v, u⟩`, with `J·v` by finite differences (the mean of the
    /// estimates at three steps).
    pub forward: f64,
    /// `⟨v, Jᵀ·u⟩`, with `Jᵀ·u` from `backward`.
    pub backward: f64,
    /// The spread (largest minus smallest) of the three finite-difference
    /// estimates of `⟨J·v, u⟩`.
    pub spread: f64,
    /// The difference not counted as an error: the rounding finite
    /// differences can carry (see the [module docs](self)).
    pub rounding: f64,
    /// Their relative error (see the [module docs](self)).
    pub rel_err: f64,
}

impl Adjoint {
    /// Not checked (no entries).
    pub const NONE: Adjoint =
        Adjoint { forward: 0.0, backward: 0.0, spread: 0.0, rounding: 0.0, rel_err: 0.0 };
}

/// What a check measured.
///
/// `input` and `input_adjoint` are about the input gradient (for a loss: the
/// gradient with respect to the prediction), `params` and `params_adjoint`
/// about the parameter gradient. A part that does not apply (a layer without
/// parameters, a loss, a penalty's input) is [`Worst::NONE`] /
/// [`Adjoint::NONE`]. In a [`Failure`] the parts after the failing check
/// may not have been measured yet and are `NONE`.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::gradcheck::{check_layer, Config, Location};
/// use stackprop::{rng::Rng, Linear};
/// let l = Linear::<f64, 2, 1>::from_fn(|_, i| i as f64 + 0.5, |_| -0.25);
/// let x = SMatrix::<f64, 2, 3>::from_fn(|i, j| (i + 2 * j) as f64 * 0.3);
/// let r = check_layer(&l, &x, &mut Rng::new(1), &Config::default()).unwrap();
/// assert!(matches!(r.input.at, Location::Input { .. }));
/// assert!(matches!(r.params.at, Location::Param { .. }));
/// assert!(r.params_adjoint.rel_err < 1e-10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// The worst entry of the input gradient.
    pub input: Worst,
    /// The worst entry over all parameter tensors.
    pub params: Worst,
    /// The adjoint identity for the input Jacobian.
    pub input_adjoint: Adjoint,
    /// The adjoint identity for the parameter Jacobian.
    pub params_adjoint: Adjoint,
    /// The largest relative disagreement of the contract checks: for a
    /// layer, a second call of `backward` adding against twice the first,
    /// the gradient without the input gradient against the one with it,
    /// and the gradient written over stale values against the one added to
    /// zero (infinite if the input gradient differs between the modes or a
    /// non-finite gradient is said to be finite); for a loss,
    /// `loss_grad`'s value against `loss`.
    pub contract_err: f64,
    /// How many times the function was evaluated for finite differences.
    pub evaluations: usize,
}

impl Report {
    /// An empty report.
    pub const NONE: Report = Report {
        input: Worst::NONE,
        params: Worst::NONE,
        input_adjoint: Adjoint::NONE,
        params_adjoint: Adjoint::NONE,
        contract_err: 0.0,
        evaluations: 0,
    };

    /// The first check of `self` that exceeds its tolerance in `cfg`, if
    /// any (NaN always exceeds).
    ///
    /// ```
    /// use stackprop::gradcheck::{Check, Config, Report, Worst};
    /// let mut r = Report::NONE;
    /// assert_eq!(r.verdict(&Config::default()), Ok(()));
    /// r.params = Worst { rel_err: 0.5, ..Worst::NONE };
    /// assert_eq!(r.verdict(&Config::default()), Err(Check::ParamGradient));
    /// ```
    pub fn verdict(&self, cfg: &Config) -> Result<(), Check> {
        let ok = |e: f64, tol: f64| e <= tol;
        // A broken contract first: the gradients compared below assume it.
        if !ok(self.contract_err, cfg.adjoint_tol) {
            Err(Check::Contract)
        } else if !ok(self.input.rel_err, cfg.grad_tol) {
            Err(Check::InputGradient)
        } else if !ok(self.params.rel_err, cfg.grad_tol) {
            Err(Check::ParamGradient)
        } else if !ok(self.input_adjoint.rel_err, cfg.adjoint_tol) {
            Err(Check::InputAdjoint)
        } else if !ok(self.params_adjoint.rel_err, cfg.adjoint_tol) {
            Err(Check::ParamAdjoint)
        } else {
            Ok(())
        }
    }
}

/// Which check failed.
///
/// ```
/// use stackprop::gradcheck::Check;
/// assert_eq!(format!("{}", Check::InputAdjoint), "adjoint identity of the input Jacobian");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Check {
    /// An entry of the input gradient disagrees with finite differences.
    InputGradient,
    /// An entry of a parameter gradient disagrees with finite differences.
    ParamGradient,
    /// `⟨J·v, u⟩ ≠ ⟨v, Jᵀ·u⟩` for the input Jacobian.
    InputAdjoint,
    /// `⟨J·v, u⟩ ≠ ⟨v, Jᵀ·u⟩` for the parameter Jacobian.
    ParamAdjoint,
    /// A contract check of [`Train::backward`] (see
    /// [`Report::contract_err`]), or `loss_grad`'s value differs from
    /// `loss`.
    Contract,
    /// `forward_train` returned something other than `forward`.
    ForwardTrain,
    /// A value the check needs is infinite or NaN: the output (or loss) at
    /// the checked point, or a gradient `backward` returned.
    NonFinite(&'static str),
    /// The loss refused the prediction or the target.
    Loss(crate::Error),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::InputGradient => write!(f, "input gradient against finite differences"),
            Check::ParamGradient => write!(f, "parameter gradient against finite differences"),
            Check::InputAdjoint => write!(f, "adjoint identity of the input Jacobian"),
            Check::ParamAdjoint => write!(f, "adjoint identity of the parameter Jacobian"),
            Check::Contract => write!(
                f,
                "contract: backward must add (or write) the same gradient in every mode, \
                 with the same input gradient (loss_grad must return the value of loss)"
            ),
            Check::ForwardTrain => write!(f, "forward_train differs from forward"),
            Check::NonFinite(what) => write!(f, "{what} is not finite"),
            Check::Loss(e) => write!(f, "the loss failed: {e}"),
        }
    }
}

/// A failed check: which one, and everything measured.
///
/// A layer `y = 2x` whose backward forgets the factor 2:
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::gradcheck::{check_layer, Check, Config, Location};
/// use stackprop::layer::{Backward, Dx, Grads, Layer, Train};
/// use stackprop::module::{AnyScalar, Desc, Module};
/// use stackprop::{rng::Rng, Zeros};
///
/// #[derive(Clone)]
/// struct Double;
/// impl Zeros for Double { fn zeros() -> Self { Double } fn set_zero(&mut self) {} }
/// impl Module for Double { type Scalar = AnyScalar; const DESC: Desc = Desc::new("Double"); }
/// impl Layer<SMatrix<f64, 2, 1>> for Double {
///     type Output = SMatrix<f64, 2, 1>;
///     fn forward(&self, x: &SMatrix<f64, 2, 1>) -> SMatrix<f64, 2, 1> { x * 2.0 }
/// }
/// impl Train<SMatrix<f64, 2, 1>> for Double {
///     type Cache = ();
///     fn forward_train(&self, x: &SMatrix<f64, 2, 1>, _: &mut (), y: &mut SMatrix<f64, 2, 1>) {
///         *y = x * 2.0;
///     }
///     fn backward<D: Dx>(&self, _: &SMatrix<f64, 2, 1>, _: &SMatrix<f64, 2, 1>, _: &(),
///                        dy: &SMatrix<f64, 2, 1>, _: &mut Self, _: Grads)
///                        -> Backward<D::Out<SMatrix<f64, 2, 1>>> {
///         Backward::new(D::dx(|| *dy)) // wrong: should be 2·dy
///     }
/// }
///
/// let x = SMatrix::<f64, 2, 1>::new(1.0, -1.0);
/// let err = check_layer(&Double, &x, &mut Rng::new(0), &Config::default()).unwrap_err();
/// assert_eq!(err.check, Check::InputGradient);
/// assert!(matches!(err.report.input.at, Location::Input { .. }));
/// assert!((err.report.input.rel_err - 0.5).abs() < 1e-9); // |a − n| / |n| = |1 − 2| / 2
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Failure {
    /// The check that failed.
    pub check: Check,
    /// What was measured (see [`Report`]).
    pub report: Report,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gradient check failed: {}", self.check)?;
        let r = &self.report;
        let worst = match self.check {
            Check::InputGradient => Some(r.input),
            Check::ParamGradient => Some(r.params),
            _ => None,
        };
        let adjoint = match self.check {
            Check::InputAdjoint => Some(r.input_adjoint),
            Check::ParamAdjoint => Some(r.params_adjoint),
            _ => None,
        };
        if let Some(w) = worst {
            write!(
                f,
                " at {}: backward {:e}, finite differences {:e} (relative error {:e})",
                w.at, w.analytic, w.numeric, w.rel_err
            )?;
        }
        if let Some(a) = adjoint {
            write!(
                f,
                ": <J·v, u> = {:e}, <v, Jᵀ·u> = {:e} (relative error {:e})",
                a.forward, a.backward, a.rel_err
            )?;
        }
        if self.check == Check::Contract {
            write!(f, " (relative error {:e})", r.contract_err)?;
        }
        Ok(())
    }
}

impl core::error::Error for Failure {}

/// The derivative `f'(0)` by the 6th-order central stencil with step `h`:
/// `(−f(−3h) + 9f(−2h) − 45f(−h) + 45f(h) − 9f(2h) + f(3h)) / 60h`.
///
/// Exact (up to rounding) for polynomials of degree ≤ 6; the error is
/// `O(h⁶)` for smooth `f`. This is the estimate every check here uses.
///
/// ```
/// use stackprop::gradcheck::derivative;
/// let d = derivative(|s| (1.0 + s).powi(6), 0.1);
/// assert!((d - 6.0).abs() < 1e-12);
/// let d = derivative(|s| (0.3 + s).sin(), 1e-3);
/// assert!((d - 0.3f64.cos()).abs() < 1e-13);
/// ```
pub fn derivative(mut f: impl FnMut(f64) -> f64, h: f64) -> f64 {
    stencil(|s| (f(s), 0.0), h).0
}

/// The stencil's points (as multiples of `h`) and weights (over `60h`).
const STENCIL: [(f64, f64); 6] =
    [(-3.0, -1.0), (-2.0, 9.0), (-1.0, -45.0), (1.0, 45.0), (2.0, -9.0), (3.0, 1.0)];

/// `(f'(0), max magnitude)` for `f(s) = (value, magnitude)`.
fn stencil(mut f: impl FnMut(f64) -> (f64, f64), h: f64) -> (f64, f64) {
    let mut acc = 0.0;
    let mut mag = 0.0f64;
    for (k, c) in STENCIL {
        let (v, m) = f(k * h);
        acc += c * v;
        mag = if m.is_nan() || mag.is_nan() { f64::NAN } else { mag.max(m) };
    }
    (acc / (60.0 * h), mag)
}

/// The rounding error allowed in a finite difference with step `h` of an
/// objective whose changed terms have size `mag`.
fn rounding(cfg: &Config, mag: f64, h: f64) -> f64 {
    cfg.noise * f64::EPSILON * mag / h
}

/// `|a − n| / max(|a|, |n|, floor)`, 0 when equal, NaN when not finite.
fn rel_err(a: f64, n: f64, floor: f64) -> f64 {
    if !a.is_finite() || !n.is_finite() {
        return f64::NAN;
    }
    let d = (a - n).abs();
    if d == 0.0 { 0.0 } else { d / a.abs().max(n.abs()).max(floor) }
}

/// `(Σ u_k (y_k − y0_k), Σ over changed k of |u_k|·max(|y_k|, |y0_k|))`: the
/// change of `⟨u, y⟩` summed term by term, so outputs the perturbation does
/// not touch contribute no rounding, and the size of the changed terms.
fn diff<const O: usize, const C: usize>(
    u: &SMatrix<f64, O, C>,
    y: &SMatrix<f64, O, C>,
    y0: &SMatrix<f64, O, C>,
) -> (f64, f64) {
    let (mut d, mut m) = (0.0, 0.0);
    for ((&u, &y), &y0) in u.iter().zip(y.iter()).zip(y0.iter()) {
        if y != y0 || y.is_nan() {
            d += u * (y - y0);
            m += u.abs() * y.abs().max(y0.abs());
        }
    }
    (d, m)
}

fn all_finite(s: &[f64]) -> bool {
    s.iter().all(|v| v.is_finite())
}

/// Parameter `k` of `p` (a trained `f64` tensor), if tensor `k` is one.
fn param<P: Module>(p: &P, k: usize) -> Option<&[f64]> {
    P::spec(k).filter(|s| s.kind.trained())?;
    p.tensor(k).and_then(f64::of)
}

fn params_finite<P: Module>(p: &P) -> bool {
    (0..P::SIZE.tensors).all(|k| param(p, k).is_none_or(all_finite))
}

fn tensor_len<P: Module>(p: &P, k: usize) -> usize {
    param(p, k).map_or(0, |t| t.len())
}

fn get<P: Module>(p: &P, k: usize, j: usize) -> f64 {
    param(p, k).and_then(|t| t.get(j).copied()).unwrap_or(0.0)
}

fn set<P: Module>(p: &mut P, k: usize, j: usize, v: f64) {
    if P::spec(k).is_some_and(|s| s.kind.trained())
        && let Some(e) = p.tensor_mut(k).and_then(f64::of_mut).and_then(|t| t.get_mut(j))
    {
        *e = v;
    }
}

/// The step for perturbing a value `x` by about `h`, made exactly
/// representable next to `x` so the stencil's points are equally spaced.
fn step_at(x: f64, h: f64) -> f64 {
    let e = (x + h) - x;
    if e > 0.0 && e.is_finite() { e } else { h }
}

/// Checks the input gradient `g` of an objective given as the change
/// `obj(x') = (J(x') − J(x), magnitude)`: every entry, then the adjoint
/// identity along a random direction.
fn check_input<const I: usize, const B: usize>(
    x: &SMatrix<f64, I, B>,
    g: &SMatrix<f64, I, B>,
    rng: &mut Rng,
    cfg: &Config,
    evals: &mut usize,
    mut obj: impl FnMut(&SMatrix<f64, I, B>) -> (f64, f64),
) -> (Worst, Adjoint) {
    let mut worst = Worst::NONE;
    let mut xp = *x;
    for col in 0..B {
        for row in 0..I {
            let x0 = x[(row, col)];
            let h = step_at(x0, cfg.step);
            let (n, mag) = stencil(
                |s| {
                    xp[(row, col)] = x0 + s;
                    obj(&xp)
                },
                h,
            );
            xp[(row, col)] = x0;
            *evals += STENCIL.len();
            let a = g[(row, col)];
            worst.update(
                Location::Input { row, col },
                a,
                n,
                rel_err(a, n, rounding(cfg, mag, h) / cfg.grad_tol),
            );
        }
    }
    if I * B == 0 {
        return (worst, Adjoint::NONE);
    }
    let v = SMatrix::<f64, I, B>::from_fn(|_, _| rng.normal());
    let vmax = v.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    let backward = v.dot(g);
    let terms: f64 = v.iter().zip(g.iter()).map(|(v, g)| (v * g).abs()).sum();
    let d = directional(|s| obj(&(x + v * s)), cfg.step / vmax, cfg, evals);
    (worst, adjoint(d, backward, terms, cfg))
}

/// A directional derivative by the stencil at the steps `t`, `0.7t`,
/// `0.49t`: `(mean, max − min, rounding allowance)`.
fn directional(
    mut obj: impl FnMut(f64) -> (f64, f64),
    t: f64,
    cfg: &Config,
    evals: &mut usize,
) -> (f64, f64, f64) {
    let (mut sum, mut lo, mut hi, mut mag) = (0.0, f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    let mut step = t;
    for _ in 0..DIRECTIONAL_STEPS {
        let (d, m) = stencil(&mut obj, step);
        *evals += STENCIL.len();
        sum += d;
        lo = lo.min(d);
        hi = hi.max(d);
        mag = if m.is_nan() || mag.is_nan() { f64::NAN } else { mag.max(m) };
        step *= 0.7;
    }
    let n = sum / DIRECTIONAL_STEPS as f64;
    // The smallest step has the largest rounding error.
    let noise = rounding(cfg, mag, step / 0.7);
    if n.is_nan() { (n, f64::NAN, noise) } else { (n, hi - lo, noise) }
}

/// How many steps a directional derivative is estimated at.
const DIRECTIONAL_STEPS: usize = 3;

/// The adjoint identity's verdict; see the module docs for the denominator.
fn adjoint(
    (forward, spread, rounding): (f64, f64, f64),
    backward: f64,
    terms: f64,
    cfg: &Config,
) -> Adjoint {
    let size = terms.max(forward.abs());
    let mut allowed = rounding;
    if spread <= cfg.grad_tol * size {
        allowed = allowed.max(SPREAD_FACTOR * spread);
    }
    let rel_err = rel_err(backward, forward, size.max(allowed / cfg.adjoint_tol));
    Adjoint { forward, backward, spread, rounding: allowed, rel_err }
}

/// Differences up to this many times the spread of the directional
/// estimates are attributed to rounding.
const SPREAD_FACTOR: f64 = 4.0;

/// Checks the parameter gradient `g` of an objective given as the change
/// `obj(θ') = (J(θ') − J(θ), magnitude)`. `work` must hold `base`'s
/// parameters on entry; it holds them again (bit for bit) on return.
fn check_params<P: Module>(
    base: &P,
    work: &mut P,
    g: &P,
    rng: &mut Rng,
    cfg: &Config,
    evals: &mut usize,
    mut obj: impl FnMut(&P) -> (f64, f64),
) -> (Worst, Adjoint) {
    let mut worst = Worst::NONE;
    let mut entries = 0;
    for k in 0..P::SIZE.tensors {
        for j in 0..tensor_len(base, k) {
            entries += 1;
            let p0 = get(base, k, j);
            let h = step_at(p0, cfg.step);
            let (n, mag) = stencil(
                |s| {
                    set(work, k, j, p0 + s);
                    obj(work)
                },
                h,
            );
            set(work, k, j, p0);
            *evals += STENCIL.len();
            let a = get(g, k, j);
            let at = Location::Param { tensor: k, index: j };
            worst.update(at, a, n, rel_err(a, n, rounding(cfg, mag, h) / cfg.grad_tol));
        }
    }
    if entries == 0 {
        return (worst, Adjoint::NONE);
    }
    // The direction v is drawn entry by entry and redrawn from a saved state
    // for each stencil point, so it is never stored.
    let start = rng.clone();
    let (mut vmax, mut backward, mut terms) = (0.0f64, 0.0, 0.0);
    for k in 0..P::SIZE.tensors {
        for j in 0..tensor_len(base, k) {
            let v = rng.normal();
            let gk = get(g, k, j);
            vmax = vmax.max(v.abs());
            backward += v * gk;
            terms += (v * gk).abs();
        }
    }
    let d = directional(
        |s| {
            let mut r = start.clone();
            for k in 0..P::SIZE.tensors {
                for j in 0..tensor_len(base, k) {
                    let v = r.normal();
                    set(work, k, j, get(base, k, j) + s * v);
                }
            }
            obj(work)
        },
        cfg.step / vmax,
        cfg,
        evals,
    );
    for k in 0..P::SIZE.tensors {
        for j in 0..tensor_len(base, k) {
            set(work, k, j, get(base, k, j));
        }
    }
    (worst, adjoint(d, backward, terms, cfg))
}

/// Largest `|a_i − b_i| / max_i |b_i|` over all tensors (0 when equal).
fn params_rel_diff<P: Module>(a: &P, b: &P, b_scale: f64) -> f64 {
    let mut num = 0.0f64;
    let mut den = 0.0f64;
    for k in 0..P::SIZE.tensors {
        for j in 0..tensor_len(a, k) {
            let (x, y) = (get(a, k, j), b_scale * get(b, k, j));
            let d = (x - y).abs();
            num = if d.is_nan() || num.is_nan() { f64::NAN } else { num.max(d) };
            den = den.max(y.abs());
        }
    }
    if num == 0.0 { 0.0 } else { num / den }
}

/// Checks a layer's `backward` at input `x` with a random standard-normal
/// upstream gradient `u` drawn from `rng` (as are the adjoint directions).
///
/// See the [module docs](self) for what is checked and how errors are
/// measured, and [`check_layer_at`] to choose `u`. The layer is not
/// modified; the checker works on a clone.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::gradcheck::{check_layer, Config};
/// use stackprop::{rng::Rng, seq, Linear, Sigmoid};
/// let mut rng = Rng::new(3);
/// let net = seq![Linear::<f64, 3, 4>::init(&mut rng, stackprop::rng::Init::XavierUniform),
///                Sigmoid,
///                Linear::<f64, 4, 2>::init(&mut rng, stackprop::rng::Init::XavierUniform)];
/// let x = SMatrix::<f64, 3, 5>::from_fn(|_, _| rng.range(-1.0, 1.0));
/// assert!(check_layer(&net, &x, &mut rng, &Config::default()).is_ok());
/// ```
pub fn check_layer<L, const I: usize, const B: usize, const O: usize, const C: usize>(
    layer: &L,
    x: &SMatrix<f64, I, B>,
    rng: &mut Rng,
    cfg: &Config,
) -> Result<Report, Failure>
where
    L: Train<SMatrix<f64, I, B>, Output = SMatrix<f64, O, C>> + Module + Clone,
{
    let u = SMatrix::<f64, O, C>::from_fn(|_, _| rng.normal());
    check_layer_at(layer, x, &u, rng, cfg)
}

/// [`check_layer`] with the upstream gradient `u` given: checks
/// `∂⟨u, f(x; θ)⟩/∂x` and `∂⟨u, f(x; θ)⟩/∂θ` as `backward` computes them
/// for `dy = u`. `rng` draws the adjoint directions.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::gradcheck::{check_layer_at, Config};
/// use stackprop::{rng::Rng, LinearNoBias};
/// let l = LinearNoBias::<f64, 2, 2>::from_fn(|o, i| (o + 2 * i) as f64 - 1.0);
/// let x = SMatrix::<f64, 2, 1>::new(0.5, -1.5);
/// let u = SMatrix::<f64, 2, 1>::new(1.0, 0.0); // checks the first output's gradient
/// let r = check_layer_at(&l, &x, &u, &mut Rng::new(0), &Config::default()).unwrap();
/// assert!(r.params.rel_err < 1e-11); // a linear map: only rounding is left
/// ```
pub fn check_layer_at<L, const I: usize, const B: usize, const O: usize, const C: usize>(
    layer: &L,
    x: &SMatrix<f64, I, B>,
    u: &SMatrix<f64, O, C>,
    rng: &mut Rng,
    cfg: &Config,
) -> Result<Report, Failure>
where
    L: Train<SMatrix<f64, I, B>, Output = SMatrix<f64, O, C>> + Module + Clone,
{
    let mut report = Report::NONE;
    let fail = |check, report| Err(Failure { check, report });

    let y0 = layer.forward(x);
    if !all_finite(y0.as_slice()) {
        return fail(Check::NonFinite("the layer's output"), report);
    }
    let mut cache = L::Cache::zeros();
    let mut y = SMatrix::<f64, O, C>::from_element(f64::NAN); // stale values
    layer.forward_train(x, &mut cache, &mut y);
    if y != y0 {
        return fail(Check::ForwardTrain, report);
    }

    // The gradients, and the contract: with or without the input gradient
    // the same parameter gradient; adding twice gives twice; writing over
    // stale values gives what adding to zero gives, and the same input
    // gradient; "known finite" only for finite values.
    let mut grads = L::zeros();
    let dx = layer.backward::<WithDx>(x, &y0, &cache, u, &mut grads, Grads::Add).dx;
    if !all_finite(dx.as_slice()) {
        return fail(Check::NonFinite("the input gradient"), report);
    }
    if !params_finite(&grads) {
        return fail(Check::NonFinite("the parameter gradient"), report);
    }
    let mut work = L::zeros();
    let _ = layer.backward::<NoDx>(x, &y0, &cache, u, &mut work, Grads::Add);
    let _ = layer.backward::<NoDx>(x, &y0, &cache, u, &mut work, Grads::Add);
    let twice_params = params_rel_diff(&work, &grads, 2.0);
    let _ = layer.backward::<WithDx>(x, &y0, &cache, u, &mut grads, Grads::Add);
    let twice_backward = params_rel_diff(&grads, &work, 1.0);
    // work holds 2·g, stale for a write
    let w = layer.backward::<WithDx>(x, &y0, &cache, u, &mut work, Grads::Write);
    let written = params_rel_diff(&work, &grads, 0.5);
    let false_finite = w.finite && !params_finite(&work);
    let errs = [twice_params, twice_backward, written];
    report.contract_err = if errs.iter().any(|e| e.is_nan()) {
        f64::NAN
    } else if w.dx != dx || false_finite {
        f64::INFINITY
    } else {
        errs.iter().fold(0.0, |m: f64, &e| m.max(e))
    };
    // grads holds 2·g: halving is exact.
    for k in 0..L::SIZE.tensors {
        if L::spec(k).is_some_and(|s| s.kind.trained())
            && let Some(t) = grads.tensor_mut(k).and_then(f64::of_mut)
        {
            t.iter_mut().for_each(|g| *g *= 0.5);
        }
    }

    let mut evals = 0;
    (report.input, report.input_adjoint) =
        check_input(x, &dx, rng, cfg, &mut evals, |xp| diff(u, &layer.forward(xp), &y0));
    work = layer.clone();
    (report.params, report.params_adjoint) =
        check_params(layer, &mut work, &grads, rng, cfg, &mut evals, |w| {
            diff(u, &w.forward(x), &y0)
        });
    report.evaluations = evals;
    match report.verdict(cfg) {
        Ok(()) => Ok(report),
        Err(check) => fail(check, report),
    }
}

/// Checks a loss: the gradient `loss_grad` writes against finite
/// differences of `loss` at prediction `y` and target `t`, the adjoint
/// identity along a random direction drawn from `rng` (for a scalar
/// function, `⟨∇L, v⟩` against the directional derivative), and that
/// `loss_grad` returns the value of `loss` and writes every entry of the
/// gradient.
///
/// The report's `input` and `input_adjoint` are about `∂L/∂y`; the size
/// `S` of the rounding allowance is `max(|L|, max|y|)` (see the
/// [module docs](self)).
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::gradcheck::{check_loss, Config};
/// use stackprop::loss::SoftmaxCrossEntropy;
/// use stackprop::rng::Rng;
/// let y = SMatrix::<f64, 3, 2>::new(1000.0, -1000.0, 0.5, -1000.0, 1000.0, -0.5);
/// let r = check_loss(&SoftmaxCrossEntropy, &y, &[1, 2], &mut Rng::new(0), &Config::default());
/// assert!(r.is_ok());
/// ```
pub fn check_loss<Lo, const N: usize, const B: usize>(
    loss: &Lo,
    y: &SMatrix<f64, N, B>,
    t: &Lo::Target,
    rng: &mut Rng,
    cfg: &Config,
) -> Result<Report, Failure>
where
    Lo: Loss<SMatrix<f64, N, B>, Scalar = f64>,
{
    let mut report = Report::NONE;
    let fail = |check, report| Err(Failure { check, report });
    let l0 = match loss.loss(y, t) {
        Ok(l) => l,
        Err(e) => return fail(Check::Loss(e), report),
    };
    if !l0.is_finite() {
        return fail(Check::NonFinite("the loss"), report);
    }
    let mut dy = SMatrix::<f64, N, B>::from_element(f64::NAN);
    let l1 = match loss.loss_grad(y, t, &mut dy) {
        Ok(l) => l,
        Err(e) => return fail(Check::Loss(e), report),
    };
    if !all_finite(dy.as_slice()) {
        return fail(Check::NonFinite("the loss gradient"), report);
    }
    report.contract_err = rel_err(l1, l0, 0.0);

    // A loss's rounding grows with its inputs (a log-sum-exp of logits of
    // 1000 is rounded to about 1000·ε however small the loss).
    let ymax = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut evals = 0;
    (report.input, report.input_adjoint) =
        check_input(y, &dy, rng, cfg, &mut evals, |yp| match loss.loss(yp, t) {
            Ok(l) => (l - l0, l.abs().max(l0.abs()).max(ymax)),
            Err(_) => (f64::NAN, f64::NAN),
        });
    report.evaluations = evals;
    match report.verdict(cfg) {
        Ok(()) => Ok(report),
        Err(check) => fail(check, report),
    }
}

/// Checks a penalty on a model's parameters (a regularizer such as
/// [`crate::loss::l2`]): `add_grad(model, grads)` must add `∂penalty/∂θ`
/// into `grads`; it is compared with finite differences of
/// `penalty(model)`, entry by entry and along a random direction from `rng`.
///
/// The report's `params` and `params_adjoint` are filled; the size `S` of
/// the rounding allowance is `|penalty|`.
///
/// ```
/// use stackprop::gradcheck::{check_penalty, Config};
/// use stackprop::loss::l2;
/// use stackprop::{rng::Rng, Linear};
/// let model = Linear::<f64, 3, 2>::from_fn(|o, i| (o as f64) - 0.4 * i as f64, |o| o as f64);
/// let r = check_penalty(&model, |m| l2::penalty(m, 0.1), |m, g| l2::add_grad(m, g, 0.1),
///                       &mut Rng::new(0), &Config::default());
/// assert!(r.is_ok());
/// ```
pub fn check_penalty<M: Module + crate::zeros::Zeros + Clone>(
    model: &M,
    penalty: impl Fn(&M) -> f64,
    add_grad: impl Fn(&M, &mut M),
    rng: &mut Rng,
    cfg: &Config,
) -> Result<Report, Failure> {
    let mut report = Report::NONE;
    let fail = |check, report| Err(Failure { check, report });
    let p0 = penalty(model);
    if !p0.is_finite() {
        return fail(Check::NonFinite("the penalty"), report);
    }
    let mut grads = M::zeros();
    add_grad(model, &mut grads);
    if !params_finite(&grads) {
        return fail(Check::NonFinite("the penalty's gradient"), report);
    }
    let mut work = model.clone();
    let mut evals = 0;
    (report.params, report.params_adjoint) =
        check_params(model, &mut work, &grads, rng, cfg, &mut evals, |w| {
            let p = penalty(w);
            (p - p0, p.abs().max(p0.abs()))
        });
    report.evaluations = evals;
    match report.verdict(cfg) {
        Ok(()) => Ok(report),
        Err(check) => fail(check, report),
    }
}

#[cfg(test)]
mod tests;
