//! A network over `WideF32x8` is 8 independent `f32` networks: each lane of
//! a lockstep run (different initial weights and learning rate per lane)
//! equals, bit for bit, a separate `f32` run of that lane's model.
//!
//! Why exactly: every operation of a step is lane-wise (`+`, `−`, `×`, `÷`,
//! `max`, `exp`, `ln`, `tanh` are the same IEEE operations or the same libm
//! functions lane by lane: simba's wide types apply the scalar function to
//! each lane) and the kernels add in an order that depends on the shapes and
//! the target, not on the scalar type (see `stackprop::kernels`, Rounding).
//! Neither uses fused multiply-add (simba's `simd_mul_add` is never called by
//! the layers). If a future kernel broke this, the lanes would still agree
//! within rounding; the test would then say which parameter first differs.
//!
//! Needs `--features simd`.

use nalgebra::SMatrix;
use proptest::prelude::{ProptestConfig, proptest};
use simba::simd::WideF32x8;
use stackprop::prelude::*;
use stackprop::scalar::SimdValue;

type Net<T> = Seq![Linear<T, 3, 9>, Tanh, Linear<T, 9, 17>, Relu, Linear<T, 17, 4>];
const B: usize = 5;

fn model(seed: u64) -> Net<f32> {
    let mut rng = Rng::new(seed);
    seq![
        Linear::init(&mut rng, Init::HeUniform),
        Tanh,
        Linear::init(&mut rng, Init::HeUniform),
        Relu,
        Linear::init(&mut rng, Init::HeUniform)
    ]
}

fn pack(models: &[Net<f32>; 8]) -> Net<WideF32x8> {
    let mut net = Net::<WideF32x8>::zeros();
    for t in 0..<Net<f32> as Params<f32>>::TENSORS {
        let (_, dst) = net.tensor_mut(t).expect("tensor t");
        for (e, d) in dst.iter_mut().enumerate() {
            *d = WideF32x8::from(core::array::from_fn(|l| models[l].tensor(t).expect("t").1[e]));
        }
    }
    net
}

/// Trains 8 models for `steps` steps in lockstep and separately; every
/// parameter and every loss must agree lane for lane.
fn lockstep_equals_separate(seed: u64, steps: usize, adam: bool) {
    let mut rng = Rng::new(seed);
    let x = SMatrix::<f32, 3, B>::from_fn(|_, _| rng.range(-2.0, 2.0) as f32);
    let t: [usize; B] = core::array::from_fn(|_| rng.below(4));
    let rates: [f32; 8] = core::array::from_fn(|l| 0.01 * (l + 1) as f32);
    let mut singles: [Net<f32>; 8] = core::array::from_fn(|l| model(seed * 8 + l as u64));
    let mut wide = pack(&singles);
    let xw = x.map(WideF32x8::splat);

    let mut losses = [[0.0f32; 8]; 2];
    if adam {
        let mut tw = Trainer::new(Adam::new(WideF32x8::from(rates)));
        let mut ts: [_; 8] = core::array::from_fn(|l| Trainer::new(Adam::new(rates[l])));
        for _ in 0..steps {
            let lw = tw.step(&mut wide, &SoftmaxCrossEntropy, &xw, &t).expect("finite");
            for l in 0..8 {
                losses[0][l] = lw.extract(l);
                losses[1][l] =
                    ts[l].step(&mut singles[l], &SoftmaxCrossEntropy, &x, &t).expect("finite");
            }
            assert_eq!(losses[0], losses[1], "losses");
        }
    } else {
        let mut tw =
            Trainer::new(Sgd::new(WideF32x8::from(rates)).weight_decay(WideF32x8::splat(1e-3)));
        let mut ts: [_; 8] =
            core::array::from_fn(|l| Trainer::new(Sgd::new(rates[l]).weight_decay(1e-3)));
        for _ in 0..steps {
            let lw = tw.step(&mut wide, &SoftmaxCrossEntropy, &xw, &t).expect("finite");
            for l in 0..8 {
                losses[0][l] = lw.extract(l);
                losses[1][l] =
                    ts[l].step(&mut singles[l], &SoftmaxCrossEntropy, &x, &t).expect("finite");
            }
            assert_eq!(losses[0], losses[1], "losses");
        }
    }
    for tensor in 0..<Net<f32> as Params<f32>>::TENSORS {
        let (_, w) = wide.tensor(tensor).expect("tensor");
        for (l, single) in singles.iter().enumerate() {
            let (_, s) = single.tensor(tensor).expect("tensor");
            for (e, (a, b)) in w.iter().zip(s).enumerate() {
                assert_eq!(a.extract(l), *b, "tensor {tensor}, element {e}, lane {l}");
            }
        }
    }
}

#[test]
fn sgd_lanes_equal_separate_f32_runs() {
    lockstep_equals_separate(1, 50, false);
}

#[test]
fn adam_lanes_equal_separate_f32_runs() {
    lockstep_equals_separate(2, 50, true);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn lanes_equal_separate_runs_for_any_seed(seed in 3u64..1_000_000) {
        lockstep_equals_separate(seed, 5, false);
    }
}

/// A lane's forward pass over a batch bigger than the tiles, and over one
/// sample (the split-sum path), equals the `f32` model's.
#[test]
fn forward_lanes_equal_f32() {
    let models: [Net<f32>; 8] = core::array::from_fn(|l| model(100 + l as u64));
    let wide = pack(&models);
    let mut rng = Rng::new(7);
    let x = SMatrix::<f32, 3, 13>::from_fn(|_, _| rng.range(-1.0, 1.0) as f32);
    let yw = wide.forward(&x.map(WideF32x8::splat));
    let x1 = SMatrix::<f32, 3, 1>::from_fn(|_, _| rng.range(-1.0, 1.0) as f32);
    let yw1 = wide.forward(&x1.map(WideF32x8::splat));
    for (l, m) in models.iter().enumerate() {
        assert_eq!(yw.map(|v| v.extract(l)), m.forward(&x), "lane {l}");
        assert_eq!(yw1.map(|v| v.extract(l)), m.forward(&x1), "lane {l}, batch 1");
    }
}
