//! How much memory prediction and training need: the d2l exercise
//! "compute the memory footprint for training and prediction", answered by
//! the compiler.
//!
//! ```sh
//! cargo run --example memory                                   # the table
//! cargo run --release --example memory -- --measure-stack      # + measured stack
//! ```
//!
//! Every number is a constant of [`stackprop::memory::Footprint`] (a
//! `size_of` of the values involved), so the table constructs nothing big.
//!
//! Why training needs more than prediction: prediction needs the weights,
//! the input and the activations of the pass in flight. A training step
//! needs the same weights and input, and besides
//! * the **cache kept for backward**: every intermediate (`z = W₁x + b₁`
//!   and `h = relu(z)` in the d2l MLP) must survive the forward pass,
//!   because backward reads it (`∂J/∂W₂ = ∂J/∂o·hᵀ`, `∂J/∂z = ∂J/∂h ⊙ φ'(z)`);
//! * the **gradient**, a value as big as the parameters;
//! * the **optimizer state**: none for SGD, one parameter-sized velocity for
//!   momentum, two moments for Adam;
//! * `∂J/∂o`, the target, and the input gradients flowing back.
//!
//! For the small networks activations and parameters are comparable; for
//! the d2l MLP (784 → 256 → 10, 814 KB of f32 parameters) the parameter
//! copies dominate: training with Adam needs 3.6× (batch 32) to 4× (batch
//! 1) what prediction needs, with SGD about 2×.
//!
//! The last part builds the d2l model and its Adam trainer (≈ 3.3 MB) on a
//! 64 KiB stack with `stackprop::boxed!`, which builds constants in place on
//! the heap. With `--measure-stack`, it also measures the peak stack of one
//! forward pass and one training step (by re-running itself on threads of
//! bisected stack sizes) and compares them with the constants, and checks
//! which ways of building an 814 KB model fit in a 256 KiB stack.

use nalgebra::SMatrix;
use stackprop::loss::SoftmaxCrossEntropy;
use stackprop::memory::Footprint;
use stackprop::prelude::*;
use stackprop::zeros::ConstZeros;

type Sine = Seq![Linear<f32, 1, 16>, Tanh, Linear<f32, 16, 16>, Tanh, Linear<f32, 16, 1>];
type Xor = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];
type Mlp = Seq![
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 10>
];
type D2l = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];

/// One row of the table: inference bytes, training bytes per optimizer and
/// the ratios, all constants.
macro_rules! row {
    ($name:literal, $net:ty, $i:literal, $b:literal, $loss:ty) => {{
        type X = SMatrix<f32, $i, $b>;
        let infer = Footprint::<$net, X>::INFER;
        let sgd = Footprint::<$net, X, Sgd<f32>, $loss>::TRAIN;
        let mom = Footprint::<$net, X, Momentum<f32>, $loss>::TRAIN;
        let adam = Footprint::<$net, X, Adam<f32>, $loss>::TRAIN;
        println!(
            "{:<22} {:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6.2} {:>6.2}",
            $name,
            $b,
            Footprint::<$net, X>::PARAMS,
            infer,
            sgd,
            mom,
            adam,
            sgd as f64 / infer as f64,
            adam as f64 / infer as f64,
        );
    }};
}

fn table() {
    println!("bytes; f32; ratio = training / inference");
    println!(
        "{:<22} {:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>6}",
        "network", "batch", "params", "inference", "SGD", "momentum", "Adam", "SGD", "Adam"
    );
    row!("sine 1-16-16-1", Sine, 1, 1, Mse);
    row!("sine 1-16-16-1", Sine, 1, 16, Mse);
    row!("sine 1-16-16-1", Sine, 1, 32, Mse);
    row!("xor 2-8-1", Xor, 2, 1, Mse);
    row!("xor 2-8-1", Xor, 2, 4, Mse);
    row!("mlp 64-64-64-64-10", Mlp, 64, 1, SoftmaxCrossEntropy);
    row!("mlp 64-64-64-64-10", Mlp, 64, 16, SoftmaxCrossEntropy);
    row!("mlp 64-64-64-64-10", Mlp, 64, 32, SoftmaxCrossEntropy);
    row!("d2l 784-256-10", D2l, 784, 1, SoftmaxCrossEntropy);
    row!("d2l 784-256-10", D2l, 784, 16, SoftmaxCrossEntropy);
    row!("d2l 784-256-10", D2l, 784, 32, SoftmaxCrossEntropy);
}

type X32 = SMatrix<f32, 784, 32>;
type F = Footprint<D2l, X32, Adam<f32>, SoftmaxCrossEntropy>;

fn breakdown() {
    println!("\nd2l 784-256-10, batch 32, Adam, softmax cross-entropy:");
    let parts = [
        ("parameters  h·d + h + q·h + q floats", F::PARAMS),
        ("gradient (like the parameters)", F::GRADS),
        ("Adam state m, v (+ 2 scalars)", F::OPTIMIZER_STATE),
        ("cache z, h (h×B each)", F::CACHE),
        ("input x (d×B)", F::INPUT),
        ("output o (q×B), and ∂J/∂o", F::OUTPUT),
        ("target ([usize; B])", F::TARGET),
        ("input gradients ∂J/∂z, ∂J/∂h", F::BACKWARD_SCRATCH),
        ("Trainer (gradient, cache, o, ∂J/∂o, Adam)", F::TRAINER),
        ("inference: params + x + z, h, o", F::INFER),
        ("one training step", F::TRAIN),
    ];
    for (what, bytes) in parts {
        println!("  {what:<42} {bytes:>9}");
    }
    println!(
        "  largest layer input+output pair: {} (the least any forward pass needs; \
         stackprop's forward keeps every intermediate live: {})",
        F::INFER_SCRATCH,
        F::INFER_ACTIVATIONS
    );
}

const ADAM: Adam<f32> =
    Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.0, decay_biases: false };
type D2lTrainer = Trainer<f32, D2l, X32, Adam<f32>>;

/// The d2l model and its Adam trainer built in place on the heap from a
/// 64 KiB thread, then a few training steps on a thread of 1 MiB (less than
/// the trainer alone).
fn big_in_place() {
    let (mut net, mut tr, mut x) = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(|| {
            (
                stackprop::boxed!(D2l::ZEROS),
                stackprop::boxed!(D2lTrainer::zeroed(ADAM)),
                stackprop::boxed!(X32::ZEROS),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    println!(
        "\nbuilt the d2l model ({} B) and its Adam trainer ({} B) on a 64 KiB stack",
        F::PARAMS,
        F::TRAINER
    );
    let losses = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let ([net], [tr], [x]) = (&mut *net, &mut *tr, &mut *x);
            let mut rng = Rng::new(3);
            net.0.reinit(&mut rng, Init::HeUniform);
            net.1.1.reinit(&mut rng, Init::HeUniform);
            x.iter_mut().for_each(|v| *v = rng.uniform() as f32);
            let t: [usize; 32] = core::array::from_fn(|j| j % 10);
            let mut losses = [0.0; 5];
            for l in &mut losses {
                *l = tr.step(net, &SoftmaxCrossEntropy, x, &t).unwrap();
            }
            losses
        })
        .unwrap()
        .join()
        .unwrap();
    println!("five Adam steps on random data, on a 1 MiB stack: loss {losses:.3?}");
}

/// Peak-stack measurement: the program re-runs itself (`child SCENARIO
/// KIB`) to run one scenario on a thread of `KIB` KiB; a stack overflow
/// aborts the child, so bisection finds the least stack that works.
mod measure {
    use super::*;
    use std::hint::black_box;
    use std::process::{Command, Stdio};

    fn spawn(kib: usize, f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new().stack_size(kib << 10).spawn(f).unwrap().join().unwrap();
    }

    fn forward<M, X>(kib: usize)
    where
        M: Layer<X> + ConstZeros + Send + Sync + 'static,
        X: ConstZeros + Send + Sync + 'static,
    {
        let (net, x) = (stackprop::boxed!(M::ZEROS), stackprop::boxed!(X::ZEROS));
        spawn(kib, move || {
            black_box(net[0].forward(black_box(&x[0])));
        });
    }

    fn step<M, const I: usize, const B: usize>(kib: usize)
    where
        M: Train<SMatrix<f32, I, B>> + Module<Scalar = f32> + ConstZeros + Send + 'static,
        M::Cache: ConstZeros + Send,
        M::Output: ConstZeros + Send,
        SoftmaxCrossEntropy: Loss<M::Output, Target = [usize; B], Scalar = f32>,
    {
        const SGD: Sgd<f32> = Sgd { lr: 0.1, wd: 0.0, decay_biases: false };
        let mut net = stackprop::boxed!(M::ZEROS);
        let mut tr =
            stackprop::boxed!(Trainer::<f32, M, SMatrix<f32, I, B>, Sgd<f32>>::zeroed(SGD));
        let x = stackprop::boxed!(SMatrix::<f32, I, B>::ZEROS);
        spawn(kib, move || {
            let r = tr[0].step(&mut net[0], &SoftmaxCrossEntropy, black_box(&x[0]), &[0; B]);
            black_box(r.unwrap());
        });
    }

    #[inline(never)]
    fn box_new() {
        black_box(Box::new(D2l::ZEROS));
    }

    #[inline(never)]
    fn boxed() {
        black_box(stackprop::boxed!(D2l::ZEROS));
    }

    #[inline(never)]
    fn in_static() {
        static NET: std::sync::Mutex<D2l> = std::sync::Mutex::new(D2l::ZEROS);
        black_box(&mut *NET.lock().unwrap());
    }

    pub fn child(scenario: &str, kib: usize) {
        match scenario {
            "empty" => spawn(kib, || {}),
            "mlp forward" => forward::<Mlp, SMatrix<f32, 64, 32>>(kib),
            "mlp step" => step::<Mlp, 64, 32>(kib),
            "d2l forward" => forward::<D2l, X32>(kib),
            "d2l step" => step::<D2l, 784, 32>(kib),
            "Box::new(D2l::ZEROS)" => spawn(kib, box_new),
            "boxed!(D2l::ZEROS)" => spawn(kib, boxed),
            "static Mutex<D2l>" => spawn(kib, in_static),
            _ => panic!("unknown scenario {scenario}"),
        }
    }

    fn fits(scenario: &str, kib: usize) -> bool {
        Command::new(std::env::current_exe().unwrap())
            .args(["child", scenario, &kib.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// The least stack in KiB (to 1 KiB) on which `scenario` runs.
    fn peak(scenario: &str) -> usize {
        let (mut lo, mut hi) = (16, 16 << 10);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(scenario, mid) { hi = mid } else { lo = mid }
        }
        hi
    }

    pub fn run() {
        let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
        println!("\npeak stack, {profile} build, minus an empty thread's, in KiB:");
        let base = peak("empty");
        type Mf = Footprint<Mlp, SMatrix<f32, 64, 32>, Sgd<f32>, SoftmaxCrossEntropy>;
        type Df = Footprint<D2l, X32, Sgd<f32>, SoftmaxCrossEntropy>;
        let kib = |b: usize| b as f64 / 1024.0;
        let rows = [
            ("mlp forward", kib(Mf::INFER_ACTIVATIONS), format!("{:.1}", kib(Mf::INFER_SCRATCH))),
            ("mlp step", kib(Mf::BACKWARD_SCRATCH), String::new()),
            ("d2l forward", kib(Df::INFER_ACTIVATIONS), format!("{:.1}", kib(Df::INFER_SCRATCH))),
            ("d2l step", kib(Df::BACKWARD_SCRATCH), String::new()),
        ];
        println!(
            "  {:<14} {:>9} {:>27} {:>22}",
            "batch 32", "measured", "activations (the consts)", "largest pair (+input)"
        );
        for (s, consts, pair) in rows {
            println!("  {s:<14} {:>9} {consts:>27.1} {pair:>22}", peak(s) - base);
        }
        println!("building the 814 KB d2l model on a 256 KiB stack:");
        for s in ["Box::new(D2l::ZEROS)", "boxed!(D2l::ZEROS)", "static Mutex<D2l>"] {
            println!("  {s:<22} {}", if fits(s, 256) { "fits" } else { "stack overflow" });
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "child" {
        measure::child(&args[2], args[3].parse().unwrap());
        return;
    }
    table();
    breakdown();
    big_in_place();
    if args.iter().any(|a| a == "--measure-stack") {
        measure::run();
    }
}
