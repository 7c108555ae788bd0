//! A network over `WideF32x8` is 8 independent `f32` networks (and one over
//! `WideF64x4` 4 `f64` networks): each lane of a lockstep run (different
//! initial weights and learning rate per lane) equals, bit for bit, a
//! separate run of that lane's model.
//!
//! Why exactly: every operation of a step is lane-wise (`+`, `−`, `×`, `÷`,
//! `max`, `exp`, `ln`, `tanh` are the same IEEE operations or the same libm
//! functions lane by lane: simba's wide types apply the scalar function to
//! each lane) and the kernels add in an order that depends on the shapes and
//! the target, not on the scalar type (see `stackprop::kernels`, Rounding).
//! On x86-64 `f32`, `f64` and `WideF32x8` go through their own kernels
//! (explicit vectors) and the other packs through the generic ones; all add
//! in the same order, and all fuse the multiply-adds exactly when the
//! target has FMA, so this holds with and without `-C target-cpu=native`
//! (`kernels_lanes_equal_f32_and_f64` checks the three products alone on
//! shapes that hit every tile and tail). If a future
//! kernel broke this, the lanes would still agree within rounding; the test
//! would then say which parameter first differs.
//!
//! Needs `--features simd`.

use nalgebra::SMatrix;
use proptest::prelude::{ProptestConfig, proptest};
use simba::simd::{WideF32x8, WideF64x4};
use stackprop::module::Elem;
use stackprop::prelude::*;
use stackprop::scalar::SimdValue;

type Net<T> = Seq![Linear<T, 3, 9>, Tanh, Linear<T, 9, 17>, Relu, Linear<T, 17, 4>];
const B: usize = 5;

fn model<T: stackprop::Real>(seed: u64) -> Net<T> {
    let mut rng = Rng::new(seed);
    seq![
        Linear::init(&mut rng, Init::HeUniform),
        Tanh,
        Linear::init(&mut rng, Init::HeUniform),
        Relu,
        Linear::init(&mut rng, Init::HeUniform)
    ]
}

/// The `N` models as the lanes of one network over `P`.
fn pack<P, E, const N: usize>(models: &[Net<E>; N]) -> Net<P>
where
    P: stackprop::Real + SimdValue<Element = E> + Elem,
    E: stackprop::Real + Elem,
    Net<P>: Module<Scalar = P>,
    Net<E>: Module<Scalar = E>,
{
    const { assert!(<Net<E> as Module>::SIZE.tensors == <Net<P> as Module>::SIZE.tensors) };
    let mut net = Net::<P>::zeros();
    for t in 0..<Net<E> as Module>::SIZE.tensors {
        let dst = net.tensor_mut(t).and_then(P::of_mut).expect("tensor t");
        for (e, d) in dst.iter_mut().enumerate() {
            for (l, m) in models.iter().enumerate() {
                d.replace(l, m.tensor(t).and_then(E::of).expect("t")[e]);
            }
        }
    }
    net
}

/// Every parameter of lane `l` of `wide` equals `singles[l]`'s.
fn assert_lanes_equal<P, E, const N: usize>(wide: &Net<P>, singles: &[Net<E>; N])
where
    P: stackprop::Real + SimdValue<Element = E> + Elem,
    E: stackprop::Real + Elem + core::fmt::Debug,
    Net<P>: Module<Scalar = P>,
    Net<E>: Module<Scalar = E>,
{
    for tensor in 0..<Net<E> as Module>::SIZE.tensors {
        let w = wide.tensor(tensor).and_then(P::of).expect("tensor");
        for (l, single) in singles.iter().enumerate() {
            let s = single.tensor(tensor).and_then(E::of).expect("tensor");
            assert_eq!(w.len(), s.len(), "tensor {tensor}");
            for (e, (a, b)) in w.iter().zip(s).enumerate() {
                assert_eq!(a.extract(l), *b, "tensor {tensor}, element {e}, lane {l}");
            }
        }
    }
}

/// Trains 8 models for `steps` steps in lockstep and separately; every
/// parameter and every loss must agree lane for lane. `l2`: Adam's trainers
/// also add the L2 term (`Trainer::with_l2`), whose penalty sums the
/// squares of three weight tensors of 27, 153 and 68 values.
fn lockstep_equals_separate(seed: u64, steps: usize, adam: bool, l2: bool) {
    let mut rng = Rng::new(seed);
    let x = SMatrix::<f32, 3, B>::from_fn(|_, _| rng.range(-2.0, 2.0) as f32);
    let t: [usize; B] = core::array::from_fn(|_| rng.below(4));
    let rates: [f32; 8] = core::array::from_fn(|l| 0.01 * (l + 1) as f32);
    let mut singles: [Net<f32>; 8] = core::array::from_fn(|l| model(seed * 8 + l as u64));
    let mut wide: Net<WideF32x8> = pack(&singles);
    let xw = x.map(WideF32x8::splat);

    let mut losses = [[0.0f32; 8]; 2];
    if adam {
        let mut tw = Trainer::new(Adam::new(WideF32x8::from(rates)));
        let mut ts: [_; 8] = core::array::from_fn(|l| Trainer::new(Adam::new(rates[l])));
        if l2 {
            tw = tw.with_l2(WideF32x8::from(core::array::from_fn(|l| 1e-3 * (l + 1) as f32)));
            for (l, t) in ts.iter_mut().enumerate() {
                t.backprop.l2 = Some(1e-3 * (l + 1) as f32);
            }
        }
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
    assert_lanes_equal(&wide, &singles);
}

#[test]
fn sgd_lanes_equal_separate_f32_runs() {
    lockstep_equals_separate(1, 50, false, false);
}

#[test]
fn adam_lanes_equal_separate_f32_runs() {
    lockstep_equals_separate(2, 50, true, false);
}

#[test]
fn adam_with_l2_lanes_equal_separate_f32_runs() {
    lockstep_equals_separate(4, 50, true, true);
}

/// Four `f64` models in one `WideF64x4` network: 50 SGD steps equal four
/// separate `f64` runs, lane for lane (on x86-64 `f64` has its own kernels,
/// which fuse exactly when the packs' do).
#[test]
fn sgd_lanes_equal_separate_f64_runs() {
    let mut rng = Rng::new(9);
    let x = SMatrix::<f64, 3, B>::from_fn(|_, _| rng.range(-2.0, 2.0));
    let t: [usize; B] = core::array::from_fn(|_| rng.below(4));
    let rates: [f64; 4] = core::array::from_fn(|l| 0.01 * (l + 1) as f64);
    let mut singles: [Net<f64>; 4] = core::array::from_fn(|l| model(90 + l as u64));
    let mut wide: Net<WideF64x4> = pack(&singles);
    let xw = x.map(WideF64x4::splat);
    let mut tw =
        Trainer::new(Sgd::new(WideF64x4::from(rates)).weight_decay(WideF64x4::splat(1e-3)));
    let mut ts: [_; 4] =
        core::array::from_fn(|l| Trainer::new(Sgd::new(rates[l]).weight_decay(1e-3)));
    for step in 0..50 {
        let lw = tw.step(&mut wide, &SoftmaxCrossEntropy, &xw, &t).expect("finite");
        for (l, (tr, single)) in ts.iter_mut().zip(&mut singles).enumerate() {
            let ls = tr.step(single, &SoftmaxCrossEntropy, &x, &t).expect("finite");
            assert_eq!(lw.extract(l), ls, "loss of step {step}, lane {l}");
        }
    }
    assert_lanes_equal(&wide, &singles);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn lanes_equal_separate_runs_for_any_seed(seed in 3u64..1_000_000) {
        lockstep_equals_separate(seed, 5, false, false);
    }
}

/// A lane's forward pass over a batch bigger than the tiles, and over one
/// sample (the split-sum path), equals the `f32` model's.
#[test]
fn forward_lanes_equal_f32() {
    let models: [Net<f32>; 8] = core::array::from_fn(|l| model(100 + l as u64));
    let wide: Net<WideF32x8> = pack(&models);
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

/// The three products of a layer `O × I` at batch `N`, lane by lane against
/// the pack's lane type `E` (`f32` or `f64`), bit for bit.
fn kernels_lanes_equal<P, E, const O: usize, const I: usize, const N: usize>(seed: u64)
where
    P: stackprop::Real + SimdValue<Element = E> + nalgebra::Scalar,
    E: stackprop::Real + nalgebra::Scalar,
    f64: simba::scalar::SubsetOf<E>,
{
    use stackprop::kernels::{affine, matmul_tr, matmul_tr_acc, tr_matmul};
    let mut rng = Rng::new(seed);
    let mut lanes = |n: usize| -> Vec<Vec<E>> {
        let mut one = || E::from_subset(&rng.range(-1.0, 1.0));
        (0..n).map(|_| (0..P::LANES).map(|_| one()).collect()).collect()
    };
    let (w, x, b, dy, g) = (lanes(O * I), lanes(I * N), lanes(O), lanes(O * N), lanes(O * I));
    let wide = |v: &[Vec<E>], e: usize| {
        v[e].iter().enumerate().fold(P::splat(v[e][0]), |p, (l, &x)| {
            let mut p = p;
            p.replace(l, x);
            p
        })
    };
    let ww = SMatrix::<P, O, I>::from_fn(|r, c| wide(&w, c * O + r));
    let xw = SMatrix::<P, I, N>::from_fn(|r, c| wide(&x, c * I + r));
    let bw = SMatrix::<P, O, 1>::from_fn(|r, _| wide(&b, r));
    let dyw = SMatrix::<P, O, N>::from_fn(|r, c| wide(&dy, c * O + r));
    let mut gw = SMatrix::<P, O, I>::from_fn(|r, c| wide(&g, c * O + r));
    let yw = affine(&ww, &xw, Some(&bw));
    let dxw = tr_matmul(&ww, &dyw);
    matmul_tr_acc(&mut gw, &dyw, &xw);
    let mut hw = ww;
    matmul_tr(&mut hw, &dyw, &xw);
    for l in 0..P::LANES {
        let one = |v: &[Vec<E>], e: usize| v[e][l];
        let w1 = SMatrix::<E, O, I>::from_fn(|r, c| one(&w, c * O + r));
        let x1 = SMatrix::<E, I, N>::from_fn(|r, c| one(&x, c * I + r));
        let b1 = SMatrix::<E, O, 1>::from_fn(|r, _| one(&b, r));
        let dy1 = SMatrix::<E, O, N>::from_fn(|r, c| one(&dy, c * O + r));
        let mut g1 = SMatrix::<E, O, I>::from_fn(|r, c| one(&g, c * O + r));
        matmul_tr_acc(&mut g1, &dy1, &x1);
        let shape = (O, I, N);
        let lane = |m: &SMatrix<P, O, N>| m.map(|v| v.extract(l));
        assert_eq!(lane(&yw), affine(&w1, &x1, Some(&b1)), "affine {shape:?} lane {l}");
        let dx = dxw.map(|v| v.extract(l));
        assert_eq!(dx, tr_matmul(&w1, &dy1), "tr_matmul {shape:?} lane {l}");
        assert_eq!(gw.map(|v| v.extract(l)), g1, "matmul_tr_acc {shape:?} lane {l}");
        let mut h1 = w1;
        matmul_tr(&mut h1, &dy1, &x1);
        assert_eq!(hw.map(|v| v.extract(l)), h1, "matmul_tr {shape:?} lane {l}");
    }
}

/// Shapes over the tiles (32 and 16 rows, 6 columns), their tails, batch 1
/// (the split-sum and rank-one paths) and the packed inner blocks (> 128).
/// On a 64 MiB thread: a debug build keeps the 128 KiB pack matrices (and
/// copies of them) on the stack.
#[test]
fn kernels_lanes_equal_f32_and_f64() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(kernel_shapes)
        .expect("spawn")
        .join()
        .expect("kernel shapes");
}

fn kernel_shapes() {
    macro_rules! shapes {
        ($p:ty, $e:ty) => {
            kernels_lanes_equal::<$p, $e, 3, 16, 1>(1);
            kernels_lanes_equal::<$p, $e, 16, 4, 1>(2);
            kernels_lanes_equal::<$p, $e, 70, 9, 13>(3);
            kernels_lanes_equal::<$p, $e, 40, 33, 7>(4);
            kernels_lanes_equal::<$p, $e, 10, 64, 16>(5);
            kernels_lanes_equal::<$p, $e, 64, 64, 16>(6);
            kernels_lanes_equal::<$p, $e, 24, 130, 3>(7);
            kernels_lanes_equal::<$p, $e, 5, 7, 1>(8);
            kernels_lanes_equal::<$p, $e, 81, 12, 25>(9);
            kernels_lanes_equal::<$p, $e, 50, 7, 1>(10);
            kernels_lanes_equal::<$p, $e, 130, 31, 5>(11);
            kernels_lanes_equal::<$p, $e, 70, 40, 7>(12);
            // One sample, at most 4 rows, columns a multiple of 4 (the
            // four partial sums of a row in one register with AVX-512).
            kernels_lanes_equal::<$p, $e, 3, 20, 1>(13);
            kernels_lanes_equal::<$p, $e, 2, 300, 1>(14);
            kernels_lanes_equal::<$p, $e, 1, 12, 1>(15);
            kernels_lanes_equal::<$p, $e, 4, 8, 1>(16);
        };
    }
    shapes!(WideF32x8, f32);
    shapes!(WideF64x4, f64);
}
