//! Trains a 64 → 32 → 10 network on the 8 × 8 handwritten digits and
//! reaches ≥ 95 % test accuracy.
//!
//! ```sh
//! cargo run --release --example digits
//! ```
//!
//! The 1,797 digits (`data/digits.csv`, compiled into the binary) are
//! shuffled once with a fixed seed and split into 1,438 for training and
//! 359 for testing (scikit-learn's 80/20 sizes). The pixels are
//! standardized with the training set's mean and standard deviation. The
//! network is `Linear(64 → 32) → ReLU → Linear(32 → 10)`, He-initialized
//! from the seed, trained with softmax cross-entropy and Adam on minibatches
//! of 32, the learning rate following a cosine from 0.01 down to 0.0005.
//!
//! It prints one line per epoch (mean training loss, training and test
//! accuracy) and the test set's confusion matrix, then writes
//!
//! * `target/digits/digits.spw` — the trained weights in stackprop's weight
//!   file format ([`stackprop::io`]), with the standardization folded into
//!   the first layer, so the network takes raw pixels 0..=16;
//! * `target/digits/curves.svg` — the loss and accuracy curves.
//!
//! It exits with status 1 if the test accuracy is below 95 %.

#[path = "common/mod.rs"]
mod common;

use common::{Curves, Standardizer};
use nalgebra::SMatrix;
use stackprop::data::shuffle_together;
use stackprop::metrics::ConfusionMatrix;
use stackprop::prelude::*;
use std::error::Error as StdError;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

/// The network: 64 pixels → 32 ReLU units → 10 class scores (logits).
type Net = Seq![Linear<f32, 64, 32>, Relu, Linear<f32, 32, 10>];
/// Minibatch size (the batch is part of the input type).
const BATCH: usize = 32;
/// Samples used for training; the other 359 are the test set.
const TRAIN: usize = 1438;
const EPOCHS: usize = 30;
/// The default seed; `-- --seed N` picks another.
const SEED: u64 = 2024;
const LR_MAX: f64 = 0.01;
const LR_MIN: f64 = 0.0005;
/// Coefficient of the L2 term `λ/2·Σ‖W‖²` (weights only).
const L2: f32 = 1e-4;
const TARGET: f64 = 0.95;

/// Cosine learning-rate schedule: `LR_MAX` at epoch 1, `LR_MIN` at the last.
fn learning_rate(epoch: usize) -> f32 {
    let t = (epoch - 1) as f64 / (EPOCHS - 1) as f64;
    (LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1.0 + (std::f64::consts::PI * t).cos())) as f32
}

/// Fraction of `data` that `net` classifies correctly, and the counts.
fn evaluate(net: &Net, data: &Dataset<'_, f32, 64, [usize]>) -> Result<ConfusionMatrix<10>, Error> {
    let mut cm = ConfusionMatrix::new();
    cm.evaluate(net, data, &mut SMatrix::<f32, 64, 64>::zeros())?;
    Ok(cm)
}

fn run(seed: u64) -> Result<f64, Box<dyn StdError>> {
    let start = Instant::now();

    // Data: a fixed shuffle, an 80/20 split, standardization fitted on the
    // training part only.
    let mut rng = Rng::new(seed);
    let mut table = common::digits()?;
    shuffle_together(&mut table.x, &mut table.y, &mut rng)?;
    let raw = table.x.clone();
    let scaler = Standardizer::fit(&table.x[..TRAIN]);
    scaler.apply(&mut table.x);
    let (train, test) = Dataset::new(&table.x, &table.y[..])?.split(TRAIN)?;

    // Model and trainer: plain values on the stack.
    let mut net: Net = seq![
        Linear::init(&mut rng, Init::HeUniform),
        Relu,
        Linear::init(&mut rng, Init::HeUniform)
    ];
    let mut trainer: Trainer<f32, Net, SMatrix<f32, 64, BATCH>, Adam<f32>> =
        Trainer::new(Adam::new(learning_rate(1))).with_l2(L2);
    let mut order = vec![0usize; train.len()];
    println!(
        "digits: {} training / {} test samples; {} parameters ({} bytes), trainer {} bytes",
        train.len(),
        test.len(),
        <Net as Module>::SIZE.params,
        size_of::<Net>(),
        size_of_val(&trainer)
    );

    let mut curves = Curves::default();
    for epoch in 1..=EPOCHS {
        trainer.optimizer.lr = learning_rate(epoch);
        let stop = Stop::epochs(1);
        let f = fit(
            &mut trainer,
            &mut net,
            &SoftmaxCrossEntropy,
            &train,
            &mut order,
            &mut rng,
            stop,
            |_| {},
        )?;
        let (a, b) = (evaluate(&net, &train)?.accuracy(), evaluate(&net, &test)?.accuracy());
        println!(
            "epoch {epoch:>2}/{EPOCHS}  loss {:.4}  train {:6.2} %  test {:6.2} %  (lr {:.5})",
            f.last.loss,
            100.0 * a,
            100.0 * b,
            trainer.optimizer.lr
        );
        std::io::stdout().flush()?;
        curves.push(f64::from(f.last.loss), a, b);
    }
    let train_secs = start.elapsed().as_secs_f64();

    let cm = evaluate(&net, &test)?;
    let acc = cm.accuracy();
    println!("\ntest confusion matrix (rows: true digit, columns: predicted):\n{cm}");
    println!(
        "test accuracy {:.2} % ({}/{}), trained in {train_secs:.2} s",
        100.0 * acc,
        cm.correct(),
        cm.total()
    );

    // Fold the standardization into the first layer and save: the file's
    // network takes raw pixels. Check it by loading it back.
    let mut deployed = net;
    scaler.fold_into(&mut deployed.0);
    let dir = common::out_dir("digits")?;
    let weights = dir.join("digits.spw");
    let (loaded, n) = common::save_and_reload(&deployed, &weights)?;
    let raw_test = Dataset::new(&raw[TRAIN..], &table.y[TRAIN..])?;
    let raw_cm = evaluate(&loaded, &raw_test)?;
    println!(
        "wrote {} ({n} bytes; takes raw pixels 0..=16: reloaded, {:.2} % on the raw test set)",
        weights.display(),
        100.0 * raw_cm.accuracy()
    );

    let caption = format!(
        "stackprop: 64 → 32 → 10 on 8×8 digits, Adam + cosine schedule, seed {seed}; test accuracy {:.2} %",
        100.0 * acc
    );
    let path = curves.write_svg(&dir, &caption, TARGET, 80.0)?;
    println!("wrote {}", path.display());
    println!("total {:.2} s", start.elapsed().as_secs_f64());
    Ok(acc)
}

/// The seed: `--seed N` on the command line, else [`SEED`].
fn seed_from_args() -> Result<u64, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(SEED),
        [flag, n] if flag == "--seed" => n.parse().map_err(|_| format!("not a seed: {n}")),
        _ => Err("usage: digits [--seed N]".into()),
    }
}

fn main() -> ExitCode {
    let seed = match seed_from_args() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    common::exit_status(run(seed), TARGET)
}
