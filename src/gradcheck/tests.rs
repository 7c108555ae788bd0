//! The checker itself: the stencil's accuracy, correct layers pass, and
//! every kind of wrong backward (or contract violation) is reported as
//! the right [`Check`], at the right place.
extern crate std;
use super::*;
use crate::layer::{Backward, Dx, Grads, Layer};
use crate::loss::{Mse, l2};
use crate::module::{Data, DataMut, Desc, ParamKind};
use crate::rng::Rng;
use crate::zeros::Zeros;
use crate::{Error, Linear};
use proptest::prelude::*;
use std::format;
use std::string::ToString;
use std::vec::Vec;

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

/// Entries of magnitude in `[0.25, 2)`, either sign: never 0, so
/// shrinking cannot make a bug invisible (a wrong gradient of an input
/// that is 0 can be right).
fn mat<const R: usize, const C: usize>() -> impl Strategy<Value = M<R, C>> {
    proptest::collection::vec((0.25..2.0f64, any::<bool>()), R * C).prop_map(|v| {
        let v: Vec<f64> = v.into_iter().map(|(a, s)| if s { a } else { -a }).collect();
        M::from_column_slice(&v)
    })
}

/// What is wrong with a [`Dense`] layer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bug {
    None,
    /// `∂J/∂W += X·dYᵀ` instead of `dY·Xᵀ` (transposed).
    TransposedWeightGrad,
    /// `∂J/∂X = W·dY` instead of `Wᵀ·dY`.
    UntransposedInputGrad,
    /// `∂J/∂b` gets half the row sums (a factor dropped).
    HalfBiasGrad,
    /// One entry of `∂J/∂X`, `(1, 0)`, is off by a relative `1e-4`.
    OneEntry,
    /// All of `∂J/∂X` is off by a relative `1e-7`: under the entry
    /// tolerance, over the adjoint one.
    TinyScale,
    /// `grads = …` instead of `grads += …` when adding.
    Overwrite,
    /// `grads += …` instead of `grads = …` when writing.
    WriteAdds,
    /// Without the input gradient, the bias gradient is forgotten.
    ParamsForgetBias,
    /// `forward_train` adds a tiny offset.
    ForwardTrainOff,
    /// The input gradient is NaN.
    NanGrad,
}

/// `Y = W·X + b·1ᵀ` for a square `W`, with an optional bug.
#[derive(Clone, Debug)]
struct Dense<const N: usize> {
    w: M<N, N>,
    b: M<N, 1>,
    bug: Bug,
}

impl<const N: usize> Zeros for Dense<N> {
    fn zeros() -> Self {
        Dense { w: M::from_element(0.0), b: M::from_element(0.0), bug: Bug::None }
    }
    fn set_zero(&mut self) {
        self.w.fill(0.0);
        self.b.fill(0.0);
    }
}

impl<const N: usize> Module for Dense<N> {
    type Scalar = f64;
    const DESC: Desc = Desc::new("Dense")
        .dim("features", N)
        .tensor::<f64>("weight", ParamKind::Weight, &[N, N])
        .tensor::<f64>("bias", ParamKind::Bias, &[N]);
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(self.w.as_slice().into()),
            1 => Some(self.b.as_slice().into()),
            _ => None,
        }
    }
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(self.w.as_mut_slice().into()),
            1 => Some(self.b.as_mut_slice().into()),
            _ => None,
        }
    }
}

impl<const N: usize> Dense<N> {
    fn param_grads<const B: usize>(
        &self,
        x: &M<N, B>,
        dy: &M<N, B>,
        g: &mut Self,
        mode: Grads,
        input: bool,
    ) {
        let gw = match self.bug {
            Bug::TransposedWeightGrad => x * dy.transpose(),
            _ => dy * x.transpose(),
        };
        let mut gb = dy.column_sum();
        if self.bug == Bug::HalfBiasGrad {
            gb *= 0.5;
        }
        let add = mode == Grads::Add && self.bug != Bug::Overwrite
            || mode == Grads::Write && self.bug == Bug::WriteAdds;
        if !add {
            g.set_zero();
        }
        g.w += gw;
        if input || self.bug != Bug::ParamsForgetBias {
            g.b += gb;
        }
    }
}

impl<const N: usize, const B: usize> Layer<M<N, B>> for Dense<N> {
    type Output = M<N, B>;
    fn forward(&self, x: &M<N, B>) -> M<N, B> {
        let mut y = self.w * x;
        for mut c in y.column_iter_mut() {
            c += self.b;
        }
        y
    }
}

impl<const N: usize, const B: usize> Train<M<N, B>> for Dense<N> {
    type Cache = ();
    fn forward_train(&self, x: &M<N, B>, _: &mut (), y: &mut M<N, B>) {
        *y = self.forward(x);
        if self.bug == Bug::ForwardTrainOff {
            *y = y.add_scalar(1e-9);
        }
    }
    fn backward<D: Dx>(
        &self,
        x: &M<N, B>,
        _: &M<N, B>,
        _: &(),
        dy: &M<N, B>,
        g: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<M<N, B>>> {
        // whether the input gradient is wanted (`D::dx` calls its closure)
        let mut input = false;
        let _ = D::dx(|| input = true);
        self.param_grads(x, dy, g, mode, input);
        let mut dx = match self.bug {
            Bug::UntransposedInputGrad => self.w * dy,
            _ => self.w.transpose() * dy,
        };
        match self.bug {
            Bug::OneEntry => dx[(1.min(N - 1), 0)] *= 1.0 + 1e-4,
            Bug::TinyScale => dx *= 1.0 + 1e-7,
            Bug::NanGrad => dx[0] = f64::NAN,
            _ => {}
        }
        Backward::new(D::dx(|| dx))
    }
}

fn dense<const N: usize>() -> impl Strategy<Value = Dense<N>> {
    (mat::<N, N>(), mat::<N, 1>()).prop_map(|(w, b)| Dense { w, b, bug: Bug::None })
}

fn run<const N: usize, const B: usize>(
    l: &Dense<N>,
    bug: Bug,
    x: &M<N, B>,
    seed: u64,
) -> Result<Report, Failure> {
    let l = Dense { bug, ..l.clone() };
    check_layer(&l, x, &mut Rng::new(seed), &Config::default())
}

proptest! {
    /// The stencil is exact for polynomials of degree ≤ 6 (up to
    /// rounding) whatever the step.
    #[test]
    fn stencil_exact_on_degree_6(c in proptest::collection::vec(-1.0..1.0f64, 7),
                                 x0 in -1.0..1.0f64, h in 1e-3..0.5f64) {
        let p = |x: f64| c.iter().rev().fold(0.0, |acc, &k| acc * x + k);
        let dp = |x: f64| (1..7).rev().fold(0.0, |acc, k| acc * x + k as f64 * c[k]);
        let d = derivative(|s| p(x0 + s), h);
        let scale: f64 = c.iter().map(|k| k.abs()).sum::<f64>() * 7.0;
        prop_assert!((d - dp(x0)).abs() <= 1e-12 * scale / h, "{} vs {}", d, dp(x0));
    }

    /// A correct layer passes at batch 1 and batch 3, with the
    /// worst entries located.
    #[test]
    fn correct_layer_passes(l in dense::<3>(), x1 in mat::<3, 1>(), x3 in mat::<3, 3>(),
                            s in any::<u64>()) {
        let r = run(&l, Bug::None, &x1, s).map_err(|f| TestCaseError::fail(f.to_string()))?;
        let at = r.input.at;
        prop_assert!(matches!(at, Location::Input { row: 0..3, col: 0 }), "{:?}", at);
        let at = r.params.at;
        prop_assert!(matches!(at, Location::Param { tensor: 0..2, .. }), "{:?}", at);
        prop_assert!(r.input_adjoint.rel_err <= 1e-10 && r.params_adjoint.rel_err <= 1e-10);
        prop_assert_eq!(r.contract_err, 0.0);
        run(&l, Bug::None, &x3, s).map_err(|f| TestCaseError::fail(f.to_string()))?;
    }

    /// Every bug is caught, as the right check: wrong gradients by the
    /// finite differences, a tiny uniform error by the adjoint identity,
    /// broken accumulation by the contract check.
    #[test]
    fn wrong_backward_is_caught(l in dense::<3>(), x in mat::<3, 2>(), s in any::<u64>()) {
        let check = |bug| run(&l, bug, &x, s).map(|_| ()).map_err(|f| f.check);
        prop_assert_eq!(check(Bug::TransposedWeightGrad), Err(Check::ParamGradient));
        prop_assert_eq!(check(Bug::UntransposedInputGrad), Err(Check::InputGradient));
        prop_assert_eq!(check(Bug::HalfBiasGrad), Err(Check::ParamGradient));
        prop_assert_eq!(check(Bug::Overwrite), Err(Check::Contract));
        prop_assert_eq!(check(Bug::WriteAdds), Err(Check::Contract));
        prop_assert_eq!(check(Bug::ParamsForgetBias), Err(Check::Contract));
        prop_assert_eq!(check(Bug::ForwardTrainOff), Err(Check::ForwardTrain));
        prop_assert_eq!(check(Bug::NanGrad), Err(Check::NonFinite("the input gradient")));
    }

    /// An error in a single entry is found and located.
    #[test]
    fn one_wrong_entry_is_located(l in dense::<3>(), x in mat::<3, 2>(), s in any::<u64>()) {
        let f = run(&l, Bug::OneEntry, &x, s).unwrap_err();
        prop_assert_eq!(f.check, Check::InputGradient);
        prop_assert_eq!(f.report.input.at, Location::Input { row: 1, col: 0 });
        // The report carries that entry's values: `analytic` is the true
        // gradient times `1 + 1e-4`, `numeric` the true gradient to within
        // the stencil's rounding. That rounding is ~1e-12 absolute here, so
        // only a relative bound like the checker's own entry tolerance holds
        // for every entry (1e-9 failed for one of 6.4e-4: 1.2e-9, a case
        // kept in proptest-regressions/).
        let (a, n) = (f.report.input.analytic, f.report.input.numeric);
        prop_assert!((a / (1.0 + 1e-4) - n).abs() <= 1e-6 * n.abs(), "{} vs {}", a, n);
        prop_assert!((f.report.input.rel_err - 1e-4).abs() < 1e-6);
    }

    /// `check_loss` passes MSE and catches a gradient missing its
    /// factor 2.
    #[test]
    fn loss_checker(y in mat::<2, 3>(), t in mat::<2, 3>(), s in any::<u64>()) {
        let cfg = Config::default();
        prop_assert!(check_loss(&Mse, &y, &t, &mut Rng::new(s), &cfg).is_ok());
        let f = check_loss(&HalfMse, &y, &t, &mut Rng::new(s), &cfg).unwrap_err();
        prop_assert_eq!(f.check, Check::InputGradient);
    }

    /// `check_penalty` passes L2 decay and catches one that also decays
    /// the bias.
    #[test]
    fn penalty_checker(w in mat::<2, 3>(), b in mat::<2, 1>(), lambda in 0.01..1.0f64,
                       s in any::<u64>()) {
        let l = Linear { weight: w, bias: b };
        let cfg = Config::default();
        let pen = |m: &Linear<f64, 3, 2>| l2::penalty(m, lambda);
        let ok = check_penalty(&l, pen, |m, g| l2::add_grad(m, g, lambda),
                               &mut Rng::new(s), &cfg);
        prop_assert!(ok.is_ok());
        let wrong = |m: &Linear<f64, 3, 2>, g: &mut Linear<f64, 3, 2>| {
            l2::add_grad(m, g, lambda);
            g.bias += m.bias * lambda;
        };
        let f = check_penalty(&l, pen, wrong, &mut Rng::new(s), &cfg).unwrap_err();
        prop_assert_eq!(f.check, Check::ParamGradient);
        let at = f.report.params.at;
        prop_assert!(matches!(at, Location::Param { tensor: 1, .. }), "{:?}", at);
    }
}

/// MSE whose gradient forgets the factor 2.
struct HalfMse;
impl Loss<M<2, 3>> for HalfMse {
    type Target = M<2, 3>;
    type Scalar = f64;
    fn loss(&self, y: &M<2, 3>, t: &M<2, 3>) -> Result<f64, Error> {
        Mse.loss(y, t)
    }
    fn loss_grad(&self, y: &M<2, 3>, t: &M<2, 3>, dy: &mut M<2, 3>) -> Result<f64, Error> {
        *dy = (y - t) / 6.0;
        Mse.loss(y, t)
    }
}

/// A loss that breaks its contract in one of three ways.
struct BadLoss(u8);
impl Loss<M<2, 1>> for BadLoss {
    type Target = M<2, 1>;
    type Scalar = f64;
    fn loss(&self, y: &M<2, 1>, t: &M<2, 1>) -> Result<f64, Error> {
        Mse.loss(y, t)
    }
    fn loss_grad(&self, y: &M<2, 1>, t: &M<2, 1>, dy: &mut M<2, 1>) -> Result<f64, Error> {
        let l = Mse.loss_grad(y, t, dy)?;
        match self.0 {
            0 => Ok(l * (1.0 + 1e-6)), // a different value
            1 => {
                dy[1] = f64::NAN; // an entry not written
                Ok(l)
            }
            _ => Err(Error::NonFinite { what: "target" }),
        }
    }
}

/// A relative error of 1e-7 in every entry of the input gradient is
/// below the entries' tolerance but found by the adjoint identity.
/// (Deterministic: for some directions `⟨v, Jᵀu⟩` cancels to far below
/// its terms and hides such an error.)
#[test]
fn adjoint_catches_what_entries_miss() {
    let l = Dense::<3> {
        w: M::from_fn(|i, j| (i as f64 - 1.3 * j as f64).sin()),
        b: M::from_fn(|i, _| 0.1 * i as f64),
        bug: Bug::TinyScale,
    };
    let x = M::<3, 2>::from_fn(|i, j| (0.7 * i as f64 + j as f64).cos());
    for seed in 0..8 {
        let f = check_layer(&l, &x, &mut Rng::new(seed), &Config::default()).unwrap_err();
        assert_eq!(f.check, Check::InputAdjoint);
        assert!(f.report.input.rel_err < 1e-6);
    }
}

#[test]
fn loss_contract_violations() {
    let (y, t) = (M::<2, 1>::new(0.5, -1.0), M::<2, 1>::new(0.0, 1.0));
    let cfg = Config::default();
    let check = |l: &BadLoss| check_loss(l, &y, &t, &mut Rng::new(0), &cfg).unwrap_err().check;
    assert_eq!(check(&BadLoss(0)), Check::Contract);
    assert_eq!(check(&BadLoss(1)), Check::NonFinite("the loss gradient"));
    assert_eq!(check(&BadLoss(2)), Check::Loss(Error::NonFinite { what: "target" }));
    // A bad target is the loss's error, not a panic.
    let bad = check_loss(&Mse, &y, &M::repeat(f64::NAN), &mut Rng::new(0), &cfg);
    assert_eq!(bad.unwrap_err().check, Check::Loss(Error::NonFinite { what: "target" }));
}

#[test]
fn non_finite_input_is_a_failure_not_a_panic() {
    let l = Dense::<2> { w: M::identity(), b: M::from_element(0.0), bug: Bug::None };
    let x = M::<2, 1>::new(f64::NAN, 1.0);
    let f = check_layer(&l, &x, &mut Rng::new(0), &Config::default()).unwrap_err();
    assert_eq!(f.check, Check::NonFinite("the layer's output"));
    let pen = check_penalty(&l, |_| f64::INFINITY, |_, _| {}, &mut Rng::new(0), &Config::default());
    assert_eq!(pen.unwrap_err().check, Check::NonFinite("the penalty"));
}

#[test]
fn failure_messages_say_what_and_where() {
    let l = Dense::<2> {
        w: M::from_row_slice(&[1.0, 2.0, 3.0, 4.0]),
        b: M::from_element(0.0),
        bug: Bug::HalfBiasGrad,
    };
    let x = M::<2, 1>::new(0.5, -0.5);
    let f = check_layer(&l, &x, &mut Rng::new(1), &Config::default()).unwrap_err();
    let msg = format!("{f}");
    assert!(msg.starts_with("gradient check failed: parameter gradient against finite differences at parameter tensor 1, entry"), "{msg}");
    assert!(msg.contains("(relative error 5.0000000"), "{msg}");
    let f = Failure { check: Check::ParamAdjoint, report: Report::NONE };
    assert!(format!("{f}").contains("<J·v, u> = 0e0"));
    let words: Vec<_> =
        [Check::Contract, Check::ForwardTrain].iter().map(|c| format!("{c}")).collect();
    assert!(words[0].contains("same input gradient") && words[1].contains("forward_train"));
}
