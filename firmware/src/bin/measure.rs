//! Measurements on the target: peak stack (stack painting) of an inference
//! and of training steps of the sine network, next to the compile-time
//! footprint consts, and the instruction-count regions that `measure.sh`
//! reads through the QEMU plugin (the plugin counts the instructions
//! between `region_start` and `region_end`, numbering the regions in the
//! order they run; this image prints that order, one `region N:` line
//! each, with the multiply-accumulates a region performs).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::size_of;
use cortex_m_rt::entry;
use firmware::sine_weights::{SINE, SineNet};
use firmware::{counted, exit, stack};
use nalgebra::SMatrix;
use stackprop::layer::{Grads, WithDx};
use stackprop::loss::SoftmaxCrossEntropy;
use stackprop::memory::Footprint;
use stackprop::optim::{Adam, Optimizer, Sgd};
use stackprop::prelude::{
    Conv1d, Init, Layer, Linear, Mse, Relu, Sigmoid, Tanh, Train, Trainer, Zeros,
};

/// `hprintln!` with the format string's implicit captures (which
/// `hprintln!`'s `concat!` loses).
macro_rules! say {
    ($($t:tt)*) => { cortex_m_semihosting::hprintln!("{}", format_args!($($t)*)) };
}

type X<const B: usize> = SMatrix<f32, 1, B>;
type Dense = Linear<f32, 64, 64>;
type V<const B: usize> = SMatrix<f32, 64, B>;

/// Regions in the order they run: name and multiply-accumulates.
static REGIONS: [(&str, u32); 13] = [
    ("empty region (marker overhead)", 0),
    ("sine inference, batch 1, weights in flash", 16 + 16 * 16 + 16),
    ("sine training step, batch 1, Adam", 0),
    ("sine training step, batch 8, Adam", 0),
    ("sine training step, batch 1, SGD", 0),
    ("sine training step, batch 8, SGD", 0),
    ("dense 64x64 forward, batch 1", 64 * 64),
    ("dense 64x64 backward (dW and dx), batch 1", 2 * 64 * 64),
    ("dense 64x64 forward, batch 8", 64 * 64 * 8),
    ("dense 64x64 backward (dW and dx), batch 8", 2 * 64 * 64 * 8),
    ("Tanh forward, 64 values in [-3, 3.3]", 0),
    ("Sigmoid forward, 64 values in [-3, 3.3]", 0),
    (
        "conv training step, batch 8, Adam (Conv1d 1-6 k3, Conv1d 6-6 k3 s2, Linear 48-3)",
        3 * 8 * (6 * 3 * 16 + 6 * 6 * 3 * 8 + 48 * 3),
    ),
];

/// The convolutional network `train` trains on the device.
type ConvNet = stackprop::Seq![
    Conv1d<f32, 1, 6, 3, 1, 1, 1, 16, 96>,
    Relu,
    Conv1d<f32, 6, 6, 3, 2, 1, 1, 16, 48>,
    Relu,
    Linear<f32, 48, 3>
];
type CX = SMatrix<f32, 16, 8>;
type ConvTrainer = Trainer<f32, ConvNet, CX, Adam<f32>>;

/// A training step of [`ConvNet`] (the second; the first is counted as
/// region 12) and the stack the step uses below its caller, who holds the
/// model, trainer, input and target (`PARAMS + TRAINER + INPUT + TARGET`
/// of [`Footprint::TRAIN`]); the step's own share is `BACKWARD_SCRATCH`.
fn conv_step() -> usize {
    let mut rng = stackprop::rng::Rng::new(3);
    let mut net = ConvNet::zeros();
    net.0.reinit(&mut rng, Init::HeUniform);
    net.1.1.0.reinit(&mut rng, Init::HeUniform);
    net.1.1.1.1.reinit(&mut rng, Init::XavierUniform);
    let mut tr = ConvTrainer::new(Adam::new(0.01));
    let x = CX::from_fn(|i, j| ((i * 3 + j * 5) % 7) as f32 * 0.3 - 0.9);
    let t: [usize; 8] = core::array::from_fn(|j| j % 3);
    counted(|| {
        black_box(&mut tr).step(black_box(&mut net), &SoftmaxCrossEntropy, black_box(&x), &t)
    })
    .unwrap();
    let (r, used) = stack::measure(|| {
        black_box(&mut tr).step(black_box(&mut net), &SoftmaxCrossEntropy, &x, &t)
    });
    r.unwrap();
    used
}

fn sine_batch<const B: usize>() -> (X<B>, X<B>) {
    let x = X::<B>::from_fn(|_, j| 0.3 + 0.7 * j as f32);
    let t = x.map(libm::sinf);
    (x, t)
}

/// Prints a measured peak next to the consts.
fn report_step<O: Optimizer<SineNet>, const B: usize>(name: &str, stack: usize) {
    let cache = <SineNet as Train<X<B>>>::CACHE_BYTES;
    let out = size_of::<<SineNet as Layer<X<B>>>::Output>();
    say!(
        "stack: {name}: measured {stack} B | consts: CACHE_BYTES {data} B (the step's own \
         activations: one input gradient per intermediate; the output y is the trainer's), \
         size_of Trainer {trainer} (grads {grads} + cache {cache} + y {out} + dy {dy} + optimizer \
         state {state} + hyper-parameters; caller's), model {model} (caller's)",
        data = cache,
        trainer = size_of::<Trainer<f32, SineNet, X<B>, O>>(),
        grads = size_of::<SineNet>(),
        dy = size_of::<X<B>>(),
        state = size_of::<O::State>(),
        model = size_of::<SineNet>(),
    );
}

fn train_step<O: Optimizer<SineNet>, const B: usize>(opt: O) -> usize {
    let mut net: SineNet = SINE.clone();
    let mut tr: Trainer<f32, SineNet, X<B>, O> = Trainer::new(opt);
    let (x, t) = sine_batch::<B>();
    // A first step, so the counted one is a steady-state step.
    tr.step(&mut net, &Mse, &x, &t).unwrap();
    counted(|| black_box(&mut tr).step(black_box(&mut net), &Mse, black_box(&x), &t)).unwrap();
    let (r, used) = stack::measure(|| black_box(&mut tr).step(black_box(&mut net), &Mse, &x, &t));
    r.unwrap();
    used
}

fn dense<const B: usize>(layer: &Dense, grads: &mut Dense) -> (usize, usize) {
    let x = V::<B>::from_fn(|i, j| (i as f32 - 31.5) * 0.01 + j as f32 * 0.1);
    let dy = V::<B>::from_fn(|i, j| (i as f32 * 0.37 + j as f32).sin_approx());
    let y = counted(|| <Dense as Layer<V<B>>>::forward(black_box(layer), black_box(&x)));
    let b = counted(|| {
        black_box(layer).backward::<WithDx>(
            black_box(&x),
            &y,
            &(),
            black_box(&dy),
            grads,
            Grads::Add,
        )
    });
    let _ = black_box(b);
    let (_, fwd) = stack::measure(|| <Dense as Layer<V<B>>>::forward(black_box(layer), &x));
    let (_, bwd) =
        stack::measure(|| black_box(layer).backward::<WithDx>(&x, &y, &(), &dy, grads, Grads::Add));
    (fwd, bwd)
}

/// A cheap, deterministic stand-in for `sin` (test data only).
trait SinApprox {
    fn sin_approx(self) -> Self;
}

impl SinApprox for f32 {
    fn sin_approx(self) -> f32 {
        let x = self % 6.0 - 3.0;
        x * (1.0 - x * x / 9.0)
    }
}

#[entry]
fn main() -> ! {
    for (k, (name, macs)) in REGIONS.iter().enumerate() {
        say!("region {k}: {name}; macs {macs}");
    }
    say!("stack: size {} B, peak before measuring {} B", stack::size(), stack::peak_since_reset());

    // Region 0: nothing between the markers.
    counted(|| ());

    // Region 1: one inference from flash.
    let x = X::<1>::new(1.0);
    let y = counted(|| black_box(&SINE).forward(black_box(&x)));
    let (_, infer) = stack::measure(|| black_box(&SINE).forward(black_box(&x)));
    say!(
        "stack: sine inference batch 1: measured {infer} B | consts: INFER_SCRATCH {} B, \
         ACTIVATIONS {} B (every intermediate and the output, as forward keeps them), model {} B \
         in flash",
        <SineNet as Layer<X<1>>>::INFER_SCRATCH,
        <SineNet as Layer<X<1>>>::ACTIVATIONS,
        size_of::<SineNet>(),
    );
    let ok = (y[0] - libm::sinf(1.0)).abs() < 0.05;

    // Regions 2..=5: training steps.
    let s = train_step::<Adam<f32>, 1>(Adam::new(0.001));
    report_step::<Adam<f32>, 1>("sine training step batch 1 Adam", s);
    let s = train_step::<Adam<f32>, 8>(Adam::new(0.001));
    report_step::<Adam<f32>, 8>("sine training step batch 8 Adam", s);
    let s = train_step::<Sgd<f32>, 1>(Sgd::new(0.01));
    report_step::<Sgd<f32>, 1>("sine training step batch 1 SGD", s);
    let s = train_step::<Sgd<f32>, 8>(Sgd::new(0.01));
    report_step::<Sgd<f32>, 8>("sine training step batch 8 SGD", s);

    // Regions 6..=9: one 64 → 64 dense layer.
    let layer =
        Dense::from_fn(|o, i| ((o * 64 + i) % 17) as f32 * 0.01 - 0.08, |o| o as f32 * 1e-3);
    let mut grads = Dense::zeros();
    let (f1, b1) = dense::<1>(&layer, &mut grads);
    let (f8, b8) = dense::<8>(&layer, &mut grads);
    say!(
        "stack: dense 64x64 forward b1 {f1} B, backward b1 {b1} B, forward b8 {f8} B, backward b8 {b8} B \
         | consts: INFER_SCRATCH b1 {} B, b8 {} B (layer {} B, caller's)",
        <Dense as Layer<V<1>>>::INFER_SCRATCH,
        <Dense as Layer<V<8>>>::INFER_SCRATCH,
        size_of::<Dense>(),
    );
    // Regions 10, 11: the two activations that call `exp` (or `tanh`).
    let z = V::<1>::from_fn(|i, _| i as f32 * 0.1 - 3.0);
    counted(|| black_box(black_box(&Tanh).forward(black_box(&z))));
    counted(|| black_box(black_box(&Sigmoid).forward(black_box(&z))));
    // Region 12: a training step of a convolutional network, measured whole.
    let conv = conv_step();
    type F = Footprint<ConvNet, CX, Adam<f32>, SoftmaxCrossEntropy>;
    say!(
        "stack: conv training step batch 8 Adam: measured {conv} B below the caller | consts: \
         BACKWARD_SCRATCH {} B (the step's own: input gradients); TRAIN {} B = PARAMS {} + TRAINER {} \
         + INPUT {} + TARGET {} (the caller's) + BACKWARD_SCRATCH",
        F::BACKWARD_SCRATCH,
        F::TRAIN,
        F::PARAMS,
        F::TRAINER,
        F::INPUT,
        F::TARGET,
    );
    say!("stack: whole program peak {} B", stack::peak_since_reset());
    say!("measure: {}", if ok { "done" } else { "inference output wrong" });
    exit(ok)
}
