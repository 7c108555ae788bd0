//! Trains a 4 → 16 → 3 network on Fisher's Iris data.
//!
//! ```sh
//! cargo run --release --example iris
//! ```
//!
//! The 150 flowers (`data/iris.csv`, compiled into the binary; stored by
//! class) are shuffled once with a fixed seed and split into 120 for
//! training and 30 for testing. The four measurements are standardized
//! with the training set's statistics. The network is
//! `Linear(4 → 16) → Tanh → Linear(16 → 3)`, Xavier-initialized from the
//! seed, trained with softmax cross-entropy and Adam (learning rate 0.02,
//! halved every 10 epochs, 40 epochs) on minibatches
//! of 8.
//!
//! It prints one line per epoch and the test confusion matrix, and
//! writes `target/iris/iris.spw` (weights taking raw measurements in cm;
//! the standardization is folded into the first layer) and
//! `target/iris/curves.svg`. It exits with status 1 if the test accuracy is
//! below 90 %.

#[path = "common/mod.rs"]
mod common;

use common::{Curves, IRIS_CLASSES, Standardizer};
use nalgebra::SMatrix;
use stackprop::data::shuffle_together;
use stackprop::io::{file_size, load, save};
use stackprop::metrics::ConfusionMatrix;
use stackprop::prelude::*;
use std::error::Error as StdError;
use std::process::ExitCode;
use std::time::Instant;

/// 4 measurements → 16 tanh units → 3 class scores.
type Net = Seq![Linear<f32, 4, 16>, Tanh, Linear<f32, 16, 3>];
const BATCH: usize = 8;
const TRAIN: usize = 120;
const EPOCHS: usize = 40;
const SEED: u64 = 7;
const TARGET: f64 = 0.90;

fn evaluate(net: &Net, data: &Dataset<'_, f32, 4, [usize]>) -> Result<ConfusionMatrix<3>, Error> {
    let mut cm = ConfusionMatrix::new();
    cm.evaluate(net, data, &mut SMatrix::<f32, 4, 32>::zeros())?;
    Ok(cm)
}

fn run() -> Result<f64, Box<dyn StdError>> {
    let start = Instant::now();
    let mut rng = Rng::new(SEED);
    let mut table = common::iris()?;
    shuffle_together(&mut table.x, &mut table.y, &mut rng)?;
    let raw = table.x.clone();
    let scaler = Standardizer::fit(&table.x[..TRAIN]);
    scaler.apply(&mut table.x);
    let (train, test) = Dataset::new(&table.x, &table.y[..])?.split(TRAIN)?;

    let mut net: Net = seq![
        Linear::init(&mut rng, Init::XavierUniform),
        Tanh,
        Linear::init(&mut rng, Init::XavierUniform)
    ];
    let mut trainer: Trainer<f32, Net, SMatrix<f32, 4, BATCH>, Adam<f32>> =
        Trainer::new(Adam::new(0.02));
    let mut order = [0usize; TRAIN];
    println!(
        "iris: {} training / {} test samples; {} parameters ({} bytes), trainer {} bytes",
        train.len(),
        test.len(),
        <Net as Module>::SIZE.params,
        size_of::<Net>(),
        size_of_val(&trainer)
    );

    let mut curves = Curves::default();
    for epoch in 1..=EPOCHS {
        trainer.optimizer.lr = 0.02 * 0.5f32.powi(((epoch - 1) / 10) as i32);
        let f = fit(
            &mut trainer,
            &mut net,
            &SoftmaxCrossEntropy,
            &train,
            &mut order,
            &mut rng,
            Stop::epochs(1),
            |_| {},
        )?;
        let (a, b) = (evaluate(&net, &train)?.accuracy(), evaluate(&net, &test)?.accuracy());
        println!(
            "epoch {epoch:>2}/{EPOCHS}  loss {:.4}  train {:6.2} %  test {:6.2} %  (lr {:.4})",
            f.last.loss,
            100.0 * a,
            100.0 * b,
            trainer.optimizer.lr
        );
        curves.push(f64::from(f.last.loss), a, b);
    }

    let cm = evaluate(&net, &test)?;
    let acc = cm.accuracy();
    println!("\ntest confusion matrix (rows: true class, columns: predicted):\n{cm}");
    for (c, name) in IRIS_CLASSES.iter().enumerate() {
        println!("  {c} = {name}");
    }
    println!(
        "test accuracy {:.2} % ({}/{}), trained in {:.2} s",
        100.0 * acc,
        cm.correct(),
        cm.total(),
        start.elapsed().as_secs_f64()
    );

    let mut deployed = net;
    scaler.fold_into(&mut deployed.0);
    let mut bytes = [0u8; file_size::<Net>()];
    let n = save(&deployed, &mut bytes)?;
    let dir = common::out_dir("iris")?;
    let weights = dir.join("iris.spw");
    std::fs::write(&weights, &bytes[..n])?;
    let mut loaded = Net::default();
    load(&mut loaded, &std::fs::read(&weights)?)?;
    let raw_test = Dataset::new(&raw[TRAIN..], &table.y[TRAIN..])?;
    println!(
        "wrote {} ({n} bytes; takes raw measurements in cm: reloaded, {:.2} % on the raw test set)",
        weights.display(),
        100.0 * evaluate(&loaded, &raw_test)?.accuracy()
    );

    let caption = format!(
        "stackprop: 4 → 16 → 3 on Iris, Adam, seed {SEED}; test accuracy {:.2} %",
        100.0 * acc
    );
    let path = curves.write_svg(&dir, &caption, TARGET, 100.0)?;
    println!("wrote {}", path.display());
    Ok(acc)
}

fn main() -> ExitCode {
    common::exit_status(run(), TARGET)
}
