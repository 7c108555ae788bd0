//! Trains a 2D convolutional network on the 8 × 8 handwritten digits and
//! reaches ≥ 98 % test accuracy (the MLP of `examples/digits.rs` gets
//! 96.4 % on the same split).
//!
//! ```sh
//! cargo run --release --example digits_cnn
//! ```
//!
//! The data and split are `examples/digits.rs`'s: the 1,797 digits
//! (`data/digits.csv`) shuffled once with the seed and split into 1,438
//! for training and 359 for testing, pixels standardized with the training
//! set's mean and standard deviation. Each image is a 1 × 8 × 8 feature map,
//! converted from the file's row-major order to the crate's layout
//! ([`stackprop::shape`]). The network:
//!
//! `Conv2d(1 → 16, 3 × 3, padding 1) → ReLU → MaxPool2d(2) →
//! Conv2d(16 → 32, 3 × 3, padding 1) → ReLU → MaxPool2d(2) → Flatten →
//! Linear(128 → 10)`, 6,090 parameters, initialized as PyTorch does, trained
//! with softmax cross-entropy and Adam on minibatches of 32, the learning
//! rate following a cosine from 0.005 down to 0.0001, 30 epochs: 98.33 %
//! (353/359) with the default seed, 98.33–99.16 % with seeds 1–4 (each its
//! own split), in under 2 s.
//!
//! It prints one line per epoch and the confusion matrix, and writes
//! `target/digits_cnn/digits_cnn.spw` (the weights, reloaded and checked)
//! and `target/digits_cnn/curves.svg`. It exits with status 1 if the test
//! accuracy is below 98 %.

#[path = "common/mod.rs"]
mod common;

use common::{Curves, Standardizer};
use nalgebra::SMatrix;
use stackprop::data::shuffle_together;
use stackprop::metrics::ConfusionMatrix;
use stackprop::prelude::*;
use stackprop::shape::from_row_major;
use std::error::Error as StdError;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

/// 1 × 8 × 8 → 16 × 8 × 8 → 16 × 4 × 4 → 32 × 4 × 4 → 32 × 2 × 2 → 128 → 10.
type Net = Seq![
    Conv2d<f32, 1, 16, 3, 1, 1, 8, 8, { 16 * 8 * 8 }>,
    Relu,
    MaxPool2d<16, 2, 2, 8, 8, { 16 * 4 * 4 }>,
    Conv2d<f32, 16, 32, 3, 1, 1, 4, 4, { 32 * 4 * 4 }>,
    Relu,
    MaxPool2d<32, 2, 2, 4, 4, { 32 * 2 * 2 }>,
    Flatten<32, 2, 128>,
    Linear<f32, 128, 10>
];
const BATCH: usize = 32;
const TRAIN: usize = 1438;
const EPOCHS: usize = 30;
/// The default seed (that of `examples/digits.rs`, so the split is the
/// same); `-- --seed N` picks another.
const SEED: u64 = 2024;
const LR_MAX: f64 = 0.005;
const LR_MIN: f64 = 0.0001;
const TARGET: f64 = 0.98;

fn learning_rate(epoch: usize) -> f32 {
    let t = (epoch - 1) as f64 / (EPOCHS - 1) as f64;
    (LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1.0 + (std::f64::consts::PI * t).cos())) as f32
}

fn evaluate(net: &Net, data: &Dataset<'_, f32, 64, [usize]>) -> Result<ConfusionMatrix<10>, Error> {
    let mut cm = ConfusionMatrix::new();
    cm.evaluate(net, data, &mut SMatrix::<f32, 64, 64>::zeros())?;
    Ok(cm)
}

fn run(seed: u64) -> Result<f64, Box<dyn StdError>> {
    let start = Instant::now();
    let mut rng = Rng::new(seed);
    let mut table = common::digits()?;
    shuffle_together(&mut table.x, &mut table.y, &mut rng)?;
    let scaler = Standardizer::fit(&table.x[..TRAIN]);
    scaler.apply(&mut table.x);
    // The file's pixels are row-major (PyTorch's [1, 8, 8] order); the
    // crate's feature maps are column-major.
    let maps: Vec<[f32; 64]> = table
        .x
        .iter()
        .map(|x| {
            let mut m = [0.0; 64];
            from_row_major(&[1, 8, 8], x, &mut m);
            m
        })
        .collect();
    let (train, test) = Dataset::new(&maps, &table.y[..])?.split(TRAIN)?;

    let mut net: Net = seq![
        Conv2d::init(&mut rng, Init::Torch),
        Relu,
        MaxPool2d::new(),
        Conv2d::init(&mut rng, Init::Torch),
        Relu,
        MaxPool2d::new(),
        Flatten::new(),
        Linear::init(&mut rng, Init::Torch)
    ];
    let mut trainer: Box<Trainer<f32, Net, SMatrix<f32, 64, BATCH>, Adam<f32>>> =
        Box::new(Trainer::new(Adam::new(learning_rate(1))));
    let mut order = vec![0usize; train.len()];
    println!(
        "digits_cnn: {} training / {} test images of 1 × 8 × 8; {} parameters ({} bytes), seed {seed}",
        train.len(),
        test.len(),
        <Net as Module>::SIZE.params,
        size_of::<Net>(),
    );
    let mut curves = Curves::default();
    for epoch in 1..=EPOCHS {
        trainer.optimizer.lr = learning_rate(epoch);
        let f = fit(
            &mut *trainer,
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
            "epoch {epoch:>2}/{EPOCHS}  loss {:.4}  train {:6.2} %  test {:6.2} %  (lr {:.5})",
            f.last.loss,
            100.0 * a,
            100.0 * b,
            trainer.optimizer.lr
        );
        std::io::stdout().flush()?;
        curves.push(f64::from(f.last.loss), a, b);
    }
    let cm = evaluate(&net, &test)?;
    let acc = cm.accuracy();
    println!("\ntest confusion matrix (rows: true digit, columns: predicted):\n{cm}");
    println!(
        "test accuracy {:.2} % ({}/{}), trained in {:.2} s",
        100.0 * acc,
        cm.correct(),
        cm.total(),
        start.elapsed().as_secs_f64()
    );

    let dir = common::out_dir("digits_cnn")?;
    let weights = dir.join("digits_cnn.spw");
    let (loaded, n) = common::save_and_reload(&net, &weights)?;
    println!(
        "wrote {} ({n} bytes; reloaded: {:.2} %)",
        weights.display(),
        100.0 * evaluate(&loaded, &test)?.accuracy()
    );
    let caption = format!(
        "stackprop: 2D CNN on 8×8 digits (2 × Conv2d + max pooling), Adam + cosine, seed {seed}; test accuracy {:.2} %",
        100.0 * acc
    );
    let path = curves.write_svg(&dir, &caption, TARGET, 90.0)?;
    println!("wrote {}", path.display());
    Ok(acc)
}

fn seed_from_args() -> Result<u64, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(SEED),
        [flag, n] if flag == "--seed" => n.parse().map_err(|_| format!("not a seed: {n}")),
        _ => Err("usage: digits_cnn [--seed N]".into()),
    }
}

fn main() -> ExitCode {
    match seed_from_args() {
        Ok(seed) => common::exit_status(run(seed), TARGET),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
