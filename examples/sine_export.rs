//! Trains the sine network (1 → 16 → 16 → 1, ReLU: the TensorFlow Lite
//! Micro "hello world" model) on the host and exports it as Rust source for
//! the firmware, whose weights then sit in flash.
//!
//! ```sh
//! cargo run --release --example sine_export            # writes firmware/src/sine_weights.rs
//! cargo run --release --example sine_export -- OUT.rs  # writes OUT.rs
//! ```
//!
//! The training data are 1,024 samples `(x, sin x)` with `x` uniform in
//! `[0, 2π)`, drawn from a fixed seed; the network is He-initialized from
//! the same seed and trained with Adam (learning rate 0.01, then 0.001) on
//! minibatches of 16 with the mean squared error. It prints the loss as it
//! goes and the MSE on a grid of 256 points, and exits with status 1 if
//! that is not below 0.001.
//!
//! The file it writes holds the model as a `static` built by `const fn`s
//! ([`stackprop::export::write_rust`]) and eight inputs with the outputs
//! the host computed for them, which the firmware's `infer` image checks.

use nalgebra::SMatrix;
use stackprop::export::write_rust;
use stackprop::prelude::*;
use std::f64::consts::TAU;
use std::fmt::Write as _;
use std::process::ExitCode;

/// The network.
type Net = Seq![Linear<f32, 1, 16>, Relu, Linear<f32, 16, 16>, Relu, Linear<f32, 16, 1>];

/// Seed of the data and of the initialization.
const SEED: u64 = 2024;
/// Training samples.
const N: usize = 1024;
/// Minibatch size.
const B: usize = 16;
/// The grid MSE the exported model must beat.
const TARGET_MSE: f32 = 1e-3;
/// Inputs of the check pairs written for the firmware.
const CHECKS: usize = 8;

fn grid_mse(net: &Net) -> f32 {
    let n = 256;
    let mut s = 0.0f64;
    for k in 0..n {
        let x = (k as f64 + 0.5) * TAU / n as f64;
        let y = net.forward(&SMatrix::<f32, 1, 1>::new(x as f32))[0] as f64;
        s += (y - x.sin()).powi(2);
    }
    (s / n as f64) as f32
}

fn main() -> ExitCode {
    let out_path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/firmware/src/sine_weights.rs").to_string()
    });
    let mut rng = Rng::new(SEED);
    let xs: Vec<[f32; 1]> = (0..N).map(|_| [rng.range(0.0, TAU) as f32]).collect();
    let ys: Vec<[f32; 1]> = xs.iter().map(|x| [(x[0] as f64).sin() as f32]).collect();
    let data = Dataset::new(&xs, &ys[..]).expect("finite samples");

    let mut net: Net = seq![
        Linear::init(&mut rng, Init::HeUniform),
        Relu,
        Linear::init(&mut rng, Init::HeUniform),
        Relu,
        Linear::init(&mut rng, Init::HeUniform)
    ];
    println!("sine 1 → 16 → 16 → 1 (ReLU), {N} samples, seed {SEED}");
    println!("grid MSE before training: {:.6}", grid_mse(&net));

    let mut order = vec![0usize; N];
    for (lr, epochs) in [(0.01f32, 300), (0.001, 100)] {
        let mut tr: Trainer<f32, Net, SMatrix<f32, 1, B>, _> = Trainer::new(Adam::new(lr));
        let fit =
            fit(&mut tr, &mut net, &Mse, &data, &mut order, &mut rng, Stop::epochs(epochs), |e| {
                if e.epoch.is_multiple_of(50) {
                    println!("  lr {lr}: epoch {:>3}  training loss {:.6}", e.epoch, e.loss);
                }
            })
            .expect("training step");
        println!("  lr {lr}: {} epochs, last training loss {:.6}", fit.last.epoch, fit.last.loss);
    }
    let mse = grid_mse(&net);
    println!("grid MSE after training: {mse:.6} (target < {TARGET_MSE})");
    if mse >= TARGET_MSE {
        eprintln!("the MSE target was not met; nothing written");
        return ExitCode::FAILURE;
    }

    let mut src = String::new();
    src.push_str(
        "//! The sine network trained on the host, as Rust source: written by\n\
         //! `cargo run --release --example sine_export` (examples/sine_export.rs)\n\
         //! in the repository root. Do not edit by hand.\n\n",
    );
    write_rust(&mut src, "SineNet", "SINE", &net).expect("finite model");
    writeln!(
        src,
        "\n/// The model's MSE against `sin` on a grid of 256 points in [0, 2π), on the host."
    )
    .unwrap();
    writeln!(src, "pub const HOST_GRID_MSE: f32 = {mse:?};").unwrap();
    writeln!(
        src,
        "\n/// Inputs `x` and the outputs the host computed for them (f32, the same\n\
         /// network), which the firmware must reproduce."
    )
    .unwrap();
    writeln!(src, "pub const CHECKS: [(f32, f32); {CHECKS}] = [").unwrap();
    for k in 0..CHECKS {
        let x = ((k as f64 + 0.5) * TAU / CHECKS as f64) as f32;
        let y = net.forward(&SMatrix::<f32, 1, 1>::new(x))[0];
        writeln!(src, "    ({x:?}, {y:?}), // sin(x) = {:.4}", (x as f64).sin()).unwrap();
    }
    src.push_str("];\n");
    if let Err(e) = std::fs::write(&out_path, &src) {
        eprintln!("cannot write {out_path}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {out_path} ({} bytes of source, {} parameters)",
        src.len(),
        <Net as Module>::SIZE.params
    );
    ExitCode::SUCCESS
}
