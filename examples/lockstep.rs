//! Eight independent models trained in lockstep: one network over
//! `WideF32x8` (simba's 8-lane SIMD `f32`), each lane its own model with its
//! own initial weights (seeds 1..=8) and its own learning rate.
//!
//! ```text
//! cargo run --release --features simd --example lockstep
//! ```
//!
//! The task: classify points of the square [-1, 1]² as inside or outside
//! the circle of radius 0.7 (2 → 16 → 16 → 2, tanh, softmax cross-entropy,
//! SGD, full batch of 64 fixed points). Every lane computes bit-for-bit what
//! a separate `f32` run of the same model would (tests/lockstep.rs checks
//! it), so one run is a learning-rate sweep over 8 seeds × rates. It costs
//! about what eight `f32` runs cost, not one: on the benchmark host
//! (AVX-512) a training step of this network over the pack takes 30.5–30.7
//! µs against 3.6 µs for one `f32` model (its time goes mostly to `tanh`,
//! `exp` and `ln`, lane by lane); for a 64 → 64 → 64 → 64 → 10 network at
//! batch 16 the pack's step is 73 µs against 9.4–9.6 µs (2026-12-04,
//! `taskset -c 1`, `-C target-cpu=native`).

use nalgebra::SMatrix;
use simba::simd::WideF32x8;
use stackprop::module::Elem;
use stackprop::prelude::*;
use stackprop::scalar::SimdValue;

type Net<T> = Seq![Linear<T, 2, 16>, Tanh, Linear<T, 16, 16>, Tanh, Linear<T, 16, 2>];
const B: usize = 64;

/// The `f32` model of seed `s`.
fn model(s: u64) -> Net<f32> {
    let mut rng = Rng::new(s);
    seq![
        Linear::init(&mut rng, Init::XavierUniform),
        Tanh,
        Linear::init(&mut rng, Init::XavierUniform),
        Tanh,
        Linear::init(&mut rng, Init::XavierUniform)
    ]
}

/// Lane `l` of every parameter of the result is that parameter of
/// `models[l]`.
fn pack(models: &[Net<f32>; 8]) -> Net<WideF32x8> {
    let mut net = Net::<WideF32x8>::zeros();
    for t in 0..<Net<f32> as Module>::SIZE.tensors {
        let dst = net.tensor_mut(t).and_then(WideF32x8::of_mut).expect("tensor t");
        let src: [&[f32]; 8] =
            core::array::from_fn(|l| models[l].tensor(t).and_then(f32::of).expect("t"));
        for (e, d) in dst.iter_mut().enumerate() {
            *d = WideF32x8::from(core::array::from_fn(|l| src[l][e]));
        }
    }
    net
}

/// 64 random points of the square (seed 42), labelled by the circle.
fn data() -> (SMatrix<f32, 2, B>, [usize; B]) {
    let mut rng = Rng::new(42);
    let x = SMatrix::<f32, 2, B>::from_fn(|_, _| rng.range(-1.0, 1.0) as f32);
    let t = core::array::from_fn(|j| usize::from(x[(0, j)].powi(2) + x[(1, j)].powi(2) < 0.49));
    (x, t)
}

fn main() {
    let (x, t) = data();
    let xw = x.map(WideF32x8::splat);
    let rates = [0.02f32, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0];
    let mut net = pack(&core::array::from_fn(|l| model(l as u64 + 1)));
    let mut trainer = Trainer::new(Sgd::new(WideF32x8::from(rates)));
    println!("lane:       {}", (0..8).map(|l| format!("{l:>8}")).collect::<String>());
    println!("lr:         {}", rates.iter().map(|r| format!("{r:>8}")).collect::<String>());
    for step in 0..=2000 {
        let loss = trainer.step(&mut net, &SoftmaxCrossEntropy, &xw, &t).expect("finite");
        if step % 250 == 0 {
            let l: String = (0..8).map(|i| format!("{:>8.4}", loss.extract(i))).collect();
            println!("step {step:>4}:  {l}");
        }
    }
    let y = net.forward(&xw);
    let acc: String = (0..8)
        .map(|l| {
            let right = (0..B)
                .filter(|&j| usize::from(y[(1, j)].extract(l) > y[(0, j)].extract(l)) == t[j])
                .count();
            format!("{:>7.1}%", 100.0 * right as f64 / B as f64)
        })
        .collect();
    println!("accuracy:   {acc}");
}
