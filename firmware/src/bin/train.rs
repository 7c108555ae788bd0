//! On-device training, no heap: every value (data, model, trainer, shuffle
//! order) is on the stack.
//!
//! 1. The sine network 1 → 16 → 16 → 1 (ReLU; the TensorFlow Lite Micro
//!    "hello world" model) on 256 samples `(x, sin x)`, `x` uniform in
//!    `[0, 2π)`, generated here from a fixed seed; He initialization from
//!    the same seed, Adam, minibatches of 8, mean squared error. Target: MSE
//!    against `sin` on a grid of 64 points below [`SINE_TARGET`].
//! 2. XOR with 2 → 8 → 1 (tanh), full batch of 4, Adam. Target: all four
//!    outputs on the right side of 0.5.
//! 3. A convolutional network, `Conv1d` 1 → 6 channels (kernel 3, "same"
//!    padding), ReLU, `Conv1d` 6 → 6 (kernel 3, stride 2), ReLU, a dense
//!    layer to 3 classes, on signals of 16 samples that hold one of three
//!    shapes (a rising edge, a falling edge, a bump) at a random position
//!    in noise; 240 training and 120 test signals generated here from the
//!    seed, Adam, minibatches of 8, softmax cross-entropy. Target: test
//!    accuracy at least [`CONV_TARGET`].
//!
//! Prints the losses before and after; QEMU exits with status 0 only when
//! every target is met (1 on failure, panic or HardFault).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use firmware::exit;
use firmware::sine_weights::SineNet;
use nalgebra::SMatrix;
use stackprop::prelude::*;
use stackprop::train::Epoch;

/// Seed of the sine data and of both initializations.
const SEED: u64 = 7;
/// Sine training samples.
const N: usize = 256;
/// Sine minibatch.
const B: usize = 8;
/// Sine target: MSE on the grid.
const SINE_TARGET: f32 = 0.005;
/// Epochs at most (stops early once the training loss is below a fifth of the target).
const SINE_EPOCHS: usize = 400;

type XorNet = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];

/// Length of the convolutional network's signals.
const LEN: usize = 16;
/// Its training and test signals.
const CONV_TRAIN: usize = 240;
const CONV_TEST: usize = 120;
/// Its target: test accuracy.
const CONV_TARGET: f32 = 0.95;
type ConvNet = Seq![
    Conv1d<f32, 1, 6, 3, 1, 1, 1, LEN, { 6 * LEN }>,
    Relu,
    Conv1d<f32, 6, 6, 3, 2, 1, 1, LEN, { 6 * LEN / 2 }>,
    Relu,
    Linear<f32, { 6 * LEN / 2 }, 3>
];

/// Signal `k` of class `k % 3`: a rising edge, a falling edge or a bump of
/// three samples at a random position, on noise of ±0.2.
fn signal(rng: &mut Rng, class: usize) -> [f32; LEN] {
    let mut s = [0.0f32; LEN];
    for v in s.iter_mut() {
        *v = rng.range(-0.2, 0.2) as f32;
    }
    let at = 1 + (rng.next_u64() % (LEN as u64 - 4)) as usize;
    let shape: [f32; 3] = match class {
        0 => [-1.0, 0.0, 1.0],
        1 => [1.0, 0.0, -1.0],
        _ => [0.5, 1.0, 0.5],
    };
    for (k, v) in shape.iter().enumerate() {
        s[at + k] += v;
    }
    s
}

fn accuracy(net: &ConvNet, xs: &[[f32; LEN]], ys: &[usize]) -> f32 {
    let hit = xs.iter().zip(ys).filter(|&(x, &y)| {
        let out = net.forward(&SMatrix::<f32, LEN, 1>::from_column_slice(x));
        let best = (0..3).fold(0, |b, k| if out[k] > out[b] { k } else { b });
        best == y
    });
    hit.count() as f32 / xs.len() as f32
}

fn conv(rng: &mut Rng) -> bool {
    let mut xs = [[0.0f32; LEN]; CONV_TRAIN + CONV_TEST];
    let mut ys = [0usize; CONV_TRAIN + CONV_TEST];
    for (k, (x, y)) in xs.iter_mut().zip(ys.iter_mut()).enumerate() {
        *y = k % 3;
        *x = signal(rng, *y);
    }
    let (train_x, test_x) = xs.split_at(CONV_TRAIN);
    let (train_y, test_y) = ys.split_at(CONV_TRAIN);
    let data = Dataset::new(train_x, train_y).unwrap();
    let mut net: ConvNet = seq![
        Conv1d::init(rng, Init::HeUniform),
        Relu,
        Conv1d::init(rng, Init::HeUniform),
        Relu,
        Linear::init(rng, Init::XavierUniform)
    ];
    let before = accuracy(&net, test_x, test_y);
    let mut tr: Trainer<f32, ConvNet, SMatrix<f32, LEN, 8>, _> = Trainer::new(Adam::new(0.01));
    let mut order = [0usize; CONV_TRAIN];
    let stop = Stop::epochs(60).or_loss_below(0.02);
    let fit =
        fit(&mut tr, &mut net, &SoftmaxCrossEntropy, &data, &mut order, rng, stop, |_| {}).unwrap();
    let after = accuracy(&net, test_x, test_y);
    hprintln!(
        "conv: test accuracy before {}, after {} ({} epochs of {} steps, training loss {}; target >= {})",
        before,
        after,
        fit.last.epoch,
        fit.last.steps,
        fit.last.loss,
        CONV_TARGET
    );
    after >= CONV_TARGET
}

/// MSE of `net` against `sin` on 64 points evenly spread over `[0, 2π)`.
fn grid_mse(net: &SineNet) -> f32 {
    let n = 64;
    let mut s = 0.0;
    for k in 0..n {
        let x = (k as f32 + 0.5) * core::f32::consts::TAU / n as f32;
        let e = net.forward(&SMatrix::<f32, 1, 1>::new(x))[0] - libm::sinf(x);
        s += e * e;
    }
    s / n as f32
}

fn sine(rng: &mut Rng) -> bool {
    let mut xs = [[0.0f32; 1]; N];
    let mut ys = [[0.0f32; 1]; N];
    for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
        x[0] = rng.range(0.0, core::f64::consts::TAU) as f32;
        y[0] = libm::sinf(x[0]);
    }
    let data = Dataset::new(&xs, &ys[..]).unwrap();
    let mut net: SineNet = seq![
        Linear::init(rng, Init::HeUniform),
        Relu,
        Linear::init(rng, Init::HeUniform),
        Relu,
        Linear::init(rng, Init::HeUniform)
    ];
    let before = grid_mse(&net);
    hprintln!("sine: {} samples from seed {}, 1 -> 16 -> 16 -> 1 ReLU, Adam, batch {}", N, SEED, B);
    hprintln!("sine: grid MSE before training {}", before);
    let mut tr: Trainer<f32, SineNet, SMatrix<f32, 1, B>, _> = Trainer::new(Adam::new(0.01));
    let mut order = [0usize; N];
    let stop = Stop::epochs(SINE_EPOCHS).or_loss_below((SINE_TARGET / 5.0) as f64);
    let report = |e: &Epoch<f32>| {
        if e.epoch.is_multiple_of(50) {
            hprintln!("sine: epoch {} training loss {}", e.epoch, e.loss);
        }
    };
    let fit = fit(&mut tr, &mut net, &Mse, &data, &mut order, rng, stop, report).unwrap();
    let after = grid_mse(&net);
    hprintln!(
        "sine: {} epochs ({} steps each), training loss {}, grid MSE after training {} (target < {})",
        fit.last.epoch,
        fit.last.steps,
        fit.last.loss,
        after,
        SINE_TARGET
    );
    after < SINE_TARGET && after < before
}

fn xor(rng: &mut Rng) -> bool {
    let xs = [[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let ts = [[0.0f32], [1.0], [1.0], [0.0]];
    let data = Dataset::new(&xs, &ts[..]).unwrap();
    let mut net: XorNet =
        seq![Linear::init(rng, Init::XavierUniform), Tanh, Linear::init(rng, Init::XavierUniform)];
    let x = SMatrix::<f32, 2, 4>::from_fn(|i, j| xs[j][i]);
    let t = SMatrix::<f32, 1, 4>::from_fn(|_, j| ts[j][0]);
    let before = Mse.loss(&net.forward(&x), &t).unwrap();
    let mut tr: Trainer<f32, XorNet, SMatrix<f32, 2, 4>, _> = Trainer::new(Adam::new(0.05));
    let mut order = [0usize; 4];
    let stop = Stop::epochs(1000).or_loss_below(0.01);
    let fit = fit(&mut tr, &mut net, &Mse, &data, &mut order, rng, stop, |_| {}).unwrap();
    let y = net.forward(&x);
    let after = Mse.loss(&y, &t).unwrap();
    let correct = y.iter().zip(t.iter()).filter(|&(&y, &t)| (y > 0.5) == (t > 0.5)).count();
    hprintln!(
        "xor: loss before {}, after {} ({} steps), accuracy {}/4, outputs {} {} {} {}",
        before,
        after,
        fit.last.epoch,
        correct,
        y[0],
        y[1],
        y[2],
        y[3]
    );
    correct == 4
}

#[entry]
fn main() -> ! {
    let mut rng = Rng::new(SEED);
    let sine_ok = sine(&mut rng);
    let xor_ok = xor(&mut rng);
    let conv_ok = conv(&mut rng);
    let word = |ok| if ok { "ok" } else { "FAILED" };
    hprintln!("train: sine {}, xor {}, conv {}", word(sine_ok), word(xor_ok), word(conv_ok));
    exit(sine_ok && xor_ok && conv_ok)
}
