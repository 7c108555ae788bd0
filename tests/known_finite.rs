//! The "known finite" answer of the backward pass (`Backward::finite` of
//! `Train::backward::<NoDx>` writing (`Grads::Write`), what `Trainer::step`
//! runs), which lets `Trainer::step` skip its own check of the gradient: the
//! same gradients as adding into zeros, `true` only when every written value
//! is finite, and a step with a gradient that overflows still fails and
//! leaves the model unchanged.

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::layer::{Grads, NoDx, WithDx};
use stackprop::prelude::*;
use stackprop::rng::{Init, Rng};
use stackprop::{Zeros, params};

/// 40 rows (16-lane kernels under AVX-512), 3 rows (8 lanes).
type Net = Seq![Linear<f32, 5, 40>, Relu, Linear<f32, 40, 3>];

fn bits<P: Module<Scalar = f32>>(p: &P) -> Vec<u32> {
    let mut v = vec![];
    params::for_each(p, |_, t: &[f32]| v.extend(t.iter().map(|x| x.to_bits())));
    v
}

fn all_finite<P: Module<Scalar = f32>>(p: &P) -> bool {
    bits(p).iter().all(|&b| f32::from_bits(b).is_finite())
}

fn net(seed: u64) -> Net {
    let mut rng = Rng::new(seed);
    seq![Linear::init(&mut rng, Init::Torch), Relu, Linear::init(&mut rng, Init::Torch)]
}

/// The step's pass on `x` (`NoDx`, `Grads::Write` over stale values):
/// its gradient equals, bit for bit, the one added into zeros
/// (`NoDx`, `Grads::Add`) and the one written with the input gradient
/// (`WithDx`, `Grads::Write`); no variant says "known finite" for a
/// gradient that is not.
/// Returns the step's answer.
fn checked<const B: usize>(n: &Net, x: &SMatrix<f32, 5, B>, dy: &SMatrix<f32, 3, B>) -> bool {
    let mut cache = <Net as Train<SMatrix<f32, 5, B>>>::Cache::zeros();
    let mut y = SMatrix::<f32, 3, B>::zeros();
    n.forward_train(x, &mut cache, &mut y);
    let mut plain = Net::zeros();
    let added = n.backward::<NoDx>(x, &y, &cache, dy, &mut plain, Grads::Add);
    assert!(!added.finite || all_finite(&plain), "known finite, but it is not");
    let mut g = n.clone(); // stale values
    let b = n.backward::<NoDx>(x, &y, &cache, dy, &mut g, Grads::Write);
    assert_eq!(bits(&g), bits(&plain));
    assert!(!b.finite || all_finite(&g), "known finite, but it is not");
    let mut h = n.clone();
    let w = n.backward::<WithDx>(x, &y, &cache, dy, &mut h, Grads::Write);
    assert_eq!(bits(&h), bits(&plain));
    assert!(!w.finite || all_finite(&h), "known finite, but it is not");
    b.finite
}

proptest! {
    /// Finite data: the same gradients, and on x86-64 (where the `f32`
    /// kernels watch what they store) known to be finite, so the step's
    /// check is skipped; elsewhere not known.
    #[test]
    fn finite_data_is_known_finite_on_x86_64(seed in any::<u64>(),
                                             xs in prop::collection::vec(-3.0f32..3.0, 35),
                                             ds in prop::collection::vec(-1.0f32..1.0, 21)) {
        let n = net(seed);
        let k1 = checked(&n, &SMatrix::<f32, 5, 1>::from_column_slice(&xs[..5]),
                         &SMatrix::<f32, 3, 1>::from_column_slice(&ds[..3]));
        let k7 = checked(&n, &SMatrix::<f32, 5, 7>::from_column_slice(&xs),
                         &SMatrix::<f32, 3, 7>::from_column_slice(&ds));
        prop_assert_eq!((k1, k7), (cfg!(target_arch = "x86_64"), cfg!(target_arch = "x86_64")));
    }
}

/// An input of `f32::MAX` makes the first layer's weight gradient overflow
/// (a sum of products of about 1e38); the answer is then `false`, at batch
/// 1 (rank-one kernel) and 4 (tiles).
#[test]
fn overflow_is_never_known_finite() {
    let n = net(7);
    let dy1 = SMatrix::<f32, 3, 1>::repeat(0.5);
    let x1 = SMatrix::<f32, 5, 1>::repeat(f32::MAX);
    assert!(!checked(&n, &x1, &dy1));
    let x4 = SMatrix::<f32, 5, 4>::from_fn(|i, _| if i == 2 { f32::MAX } else { 1.0 });
    assert!(!checked(&n, &x4, &SMatrix::<f32, 3, 4>::repeat(0.5)));
}

/// Only the 3-row layer's weight gradient overflows at batch 1 (hidden
/// values of 5e9 times `dy` of 1e30; the first layer's gradient stays
/// near 1e30): still `false` (that layer's one-sample gradient is written
/// as whole vectors of `G`, with its own watch).
#[test]
fn an_overflowing_few_row_rank_one_gradient_is_never_known_finite() {
    let n: Net = seq![Linear::from_fn(|_, _| 1e9, |_| 0.0), Relu, net(5).1.1];
    let x = SMatrix::<f32, 5, 1>::repeat(1.0);
    let dy = SMatrix::<f32, 3, 1>::repeat(1e30);
    assert!(!checked(&n, &x, &dy));
}

/// Only the bias gradient overflows (four samples of `f32::MAX` in `dY`,
/// inputs of 1e-30 keep the weight gradient near 1e9): still `false`.
#[test]
fn an_overflowing_bias_gradient_is_never_known_finite() {
    let l = Linear::<f32, 5, 40>::init(&mut Rng::new(3), Init::Torch);
    let x = SMatrix::<f32, 5, 4>::repeat(1e-30);
    let dy = SMatrix::<f32, 40, 4>::repeat(f32::MAX);
    let y = l.forward(&x);
    let mut g = Linear::zeros();
    assert!(!l.backward::<NoDx>(&x, &y, &(), &dy, &mut g, Grads::Write).finite);
    assert!(g.weight.iter().all(|w| w.is_finite()));
    assert!(g.bias.iter().all(|b| b.is_infinite()));
}

/// `Trainer::step` with a finite loss but an overflowing gradient: an
/// error, and the model keeps every bit (a weight of 0 in front of an input
/// of 3e38 gives a finite output; the gradient 2·(0 − 10)·3e38 is −∞).
#[test]
fn step_rejects_an_overflowing_gradient_and_keeps_the_model() {
    fn case<const B: usize>() {
        let mut l = Linear::<f32, 1, 1>::from_fn(|_, _| 0.0, |_| 0.0);
        let before = bits(&l);
        let x = SMatrix::<f32, 1, B>::repeat(3e38);
        let t = SMatrix::<f32, 1, B>::repeat(10.0);
        let mut tr = Trainer::new(Sgd::new(0.1f32));
        let r = tr.step(&mut l, &Mse, &x, &t);
        assert_eq!(r, Err(stackprop::Error::NonFinite { what: "gradient" }), "B = {B}");
        assert_eq!(bits(&l), before, "B = {B}");
    }
    case::<1>();
    case::<4>();
    // Through a composition, where the ReLU reports "known" and the
    // overflowing first layer does not.
    let mut n: Seq![Linear<f32, 1, 2>, Relu, Linear<f32, 2, 1>] =
        seq![Linear::from_fn(|_, _| 0.0, |_| 1.0), Relu, Linear::from_fn(|_, _| 1.0, |_| 0.0)];
    let before = bits(&n);
    let mut tr = Trainer::new(Sgd::new(0.1f32));
    let r = tr.step(&mut n, &Mse, &SMatrix::<f32, 1, 2>::repeat(3e38), &SMatrix::repeat(10.0));
    assert_eq!(r, Err(stackprop::Error::NonFinite { what: "gradient" }));
    assert_eq!(bits(&n), before);
}

/// With the L2 term the weight gradient gains `λ·W` after backward: a sum
/// that overflows there is caught too (`dW = 2·1.5e19·1e19 = 3e38` is
/// finite, `3e38 + 3e37·1.5` is not; the objective `2.25e38 + 3.4e37` is),
/// and the model keeps every bit.
#[test]
fn step_with_l2_rejects_a_weight_gradient_that_overflows_with_the_decay() {
    let mut l = Linear::<f32, 1, 1>::from_fn(|_, _| 1.5, |_| 0.0);
    let before = bits(&l);
    let x = SMatrix::<f32, 1, 1>::repeat(1e19);
    let t = SMatrix::<f32, 1, 1>::repeat(0.0);
    let mut tr = Trainer::new(Sgd::new(0.1f32)).with_l2(3e37);
    let r = tr.step(&mut l, &Mse, &x, &t);
    assert_eq!(r, Err(stackprop::Error::NonFinite { what: "gradient" }));
    assert_eq!(bits(&l), before);
    // The same step with a decay that keeps it finite goes through.
    let mut tr = Trainer::new(Sgd::new(0.0f32)).with_l2(1e37);
    assert!(tr.step(&mut l, &Mse, &x, &t).is_ok_and(|j| j.is_finite()));
}

/// A residual block passes its inner layers' answer on: known finite for
/// finite data on x86-64, never for an inner weight gradient that
/// overflows; and a step whose only overflowing gradient is inside the
/// block fails and keeps the model (`y = h + (−h)` is 0, the loss 100, the
/// inner weight's gradient `−20·3e38` is −∞, every other gradient finite).
#[test]
fn a_residual_block_passes_the_answer_on() {
    type Block = Residual<Seq![Linear<f32, 5, 5>, Relu]>;
    type X = SMatrix<f32, 5, 3>;
    let r: Block = Residual::new(seq![Linear::init(&mut Rng::new(4), Init::Torch), Relu]);
    let known = |x: &X| {
        let mut cache = <Block as Train<X>>::Cache::zeros();
        let mut y = X::zeros();
        r.forward_train(x, &mut cache, &mut y);
        let mut g = r.clone();
        let b = r.backward::<NoDx>(x, &y, &cache, &X::repeat(0.5), &mut g, Grads::Write);
        assert!(!b.finite || all_finite(&g), "known finite, but it is not");
        b.finite
    };
    assert_eq!(known(&X::from_fn(|i, j| i as f32 - 0.5 * j as f32)), cfg!(target_arch = "x86_64"));
    assert!(!known(&X::from_fn(|i, _| if i == 1 { f32::MAX } else { 1.0 })));

    let mut n: Seq![Linear<f32, 1, 1>, Residual<Linear<f32, 1, 1>>] = seq![
        Linear::from_fn(|_, _| 1.0, |_| 0.0),
        Residual::new(Linear::from_fn(|_, _| -1.0, |_| 0.0))
    ];
    let before = bits(&n);
    let mut tr = Trainer::new(Sgd::new(0.1f32));
    let r = tr.step(&mut n, &Mse, &SMatrix::<f32, 1, 1>::repeat(3e38), &SMatrix::repeat(10.0));
    assert_eq!(r, Err(stackprop::Error::NonFinite { what: "gradient" }));
    assert_eq!(bits(&n), before);
    assert!(tr.backprop.grads.1.inner.weight[0].is_infinite());
    assert!(tr.backprop.grads.0.weight[0].is_finite());
}
