//! Trains a 1D convolutional network on MNIST-1D and reaches ≥ 94 % test
//! accuracy, the figure its authors publish for a CNN (logistic regression
//! 32 %, MLP 68 %, GRU 91 %, human 96 %); then trains an MLP on the same
//! data for contrast.
//!
//! ```sh
//! cargo run --release --example mnist1d
//! ```
//!
//! The data (`data/mnist1d.bin`, compiled into the binary; see
//! `data/README.md`) are the 4,000 training and 1,000 test signals of 40
//! samples that the `mnist1d` package makes with its defaults (seed 42).
//! The network is the authors' `ConvBase`: three `Conv1d` layers of 25
//! channels (kernel 5, then 3 and 3; stride 2, padding 1; lengths
//! 40 → 19 → 10 → 5) with ReLU, `Flatten`, and `Linear(125 → 10)`,
//! 5,210 parameters, initialized as PyTorch does from the seed, trained
//! with softmax cross-entropy and Adam on minibatches of 32 for 40 epochs,
//! the learning rate following a cosine from 0.01 down to 0.0001. Each
//! epoch shifts every training signal by a random −2..=2 samples (edge
//! values repeated): without that, this network and schedule end at
//! 92–93.5 % (seeds 42, 1), as the authors' own runs of it end at
//! 92.2–94.5 %; with it, at 96.5–97.1 % (seeds 42, 1, 2).
//!
//! It prints one line per epoch (mean training loss, training and test
//! accuracy), the confusion matrix, and the MLP baseline
//! (`40 → 100 → 100 → 10`, ReLU, the same schedule), then writes
//!
//! * `target/mnist1d/mnist1d.spw` — the trained CNN in stackprop's weight
//!   file format ([`stackprop::io`]);
//! * `target/mnist1d/curves.svg` — the CNN's loss and accuracy curves;
//! * `target/mnist1d/mnist1d_weights.rs` (or the path after `--firmware`)
//!   — the CNN as Rust source with the first 100 test signals and what the
//!   host computes for them, for the firmware (`firmware/src/bin/cnn.rs`
//!   runs it from flash and must get the same bits; the committed
//!   `firmware/src/mnist1d_weights.rs` was written by
//!   `cargo run --release --example mnist1d -- --firmware firmware/src/mnist1d_weights.rs`).
//!
//! It exits with status 1 if the CNN's test accuracy is below 94 %.

#[path = "common/mod.rs"]
mod common;

use common::Curves;
use nalgebra::SMatrix;
use stackprop::export::write_rust;
use stackprop::metrics::ConfusionMatrix;
use stackprop::prelude::*;
use std::error::Error as StdError;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

const LEN: usize = common::mnist1d::LEN;

/// `ConvBase`: 1 × 40 → 25 × 19 → 25 × 10 → 25 × 5 → 125 → 10.
pub type Cnn = Seq![
    Conv1d<f32, 1, 25, 5, 2, 1, 1, 40, { 25 * 19 }>,
    Relu,
    Conv1d<f32, 25, 25, 3, 2, 1, 1, 19, { 25 * 10 }>,
    Relu,
    Conv1d<f32, 25, 25, 3, 2, 1, 1, 10, { 25 * 5 }>,
    Relu,
    Flatten<25, 5, 125>,
    Linear<f32, 125, 10>
];
/// The MLP baseline.
type Mlp = Seq![Linear<f32, LEN, 100>, Relu, Linear<f32, 100, 100>, Relu, Linear<f32, 100, 10>];

/// Minibatch size (the batch is part of the input type).
const BATCH: usize = 32;
const EPOCHS: usize = 40;
/// The default seed; `-- --seed N` picks another.
const SEED: u64 = 42;
const LR_MAX: f64 = 0.01;
const LR_MIN: f64 = 0.0001;
const TARGET: f64 = 0.94;
/// The largest shift of a training signal, in samples.
const SHIFT: usize = 2;

/// Cosine learning-rate schedule: `LR_MAX` at epoch 1, `LR_MIN` at the last.
fn learning_rate(epoch: usize) -> f32 {
    let t = (epoch - 1) as f64 / (EPOCHS - 1) as f64;
    (LR_MIN + 0.5 * (LR_MAX - LR_MIN) * (1.0 + (std::f64::consts::PI * t).cos())) as f32
}

type Data<'a> = Dataset<'a, f32, LEN, [usize]>;

/// Writes `x` shifted by a random `−SHIFT..=SHIFT` samples into `out`,
/// repeating the edge values.
fn shift(x: &[f32; LEN], out: &mut [f32; LEN], rng: &mut Rng) {
    let s = (rng.next_u64() % (2 * SHIFT as u64 + 1)) as i64 - SHIFT as i64;
    for (k, v) in out.iter_mut().enumerate() {
        *v = x[(k as i64 - s).clamp(0, LEN as i64 - 1) as usize];
    }
}

fn evaluate<N: Layer<SMatrix<f32, LEN, 100>, Output = SMatrix<f32, 10, 100>>>(
    net: &N,
    data: &Data<'_>,
) -> Result<ConfusionMatrix<10>, Error> {
    let mut cm = ConfusionMatrix::new();
    cm.evaluate(net, data, &mut SMatrix::<f32, LEN, 100>::zeros())?;
    Ok(cm)
}

/// Trains `net` for [`EPOCHS`] epochs, printing a line per epoch if
/// `verbose`; returns the curves.
fn train<N>(
    name: &str,
    net: &mut N,
    train: &Data<'_>,
    test: &Data<'_>,
    rng: &mut Rng,
    verbose: bool,
) -> Result<Curves, Box<dyn StdError>>
where
    N: Train<SMatrix<f32, LEN, BATCH>, Output = SMatrix<f32, 10, BATCH>>
        + Layer<SMatrix<f32, LEN, 100>, Output = SMatrix<f32, 10, 100>>
        + Module<Scalar = f32>,
    Adam<f32>: Optimizer<N>,
{
    let mut trainer: Box<Trainer<f32, N, SMatrix<f32, LEN, BATCH>, Adam<f32>>> =
        Box::new(Trainer::new(Adam::new(learning_rate(1))));
    let mut order = vec![0usize; train.len()];
    let mut curves = Curves::default();
    let mut shifted: Vec<[f32; LEN]> = train.samples().to_vec();
    for epoch in 1..=EPOCHS {
        trainer.optimizer.lr = learning_rate(epoch);
        for (s, x) in shifted.iter_mut().zip(train.samples()) {
            shift(x, s, rng);
        }
        let epoch_set = Dataset::new(&shifted, train.targets())?;
        let f = fit(
            &mut *trainer,
            net,
            &SoftmaxCrossEntropy,
            &epoch_set,
            &mut order,
            rng,
            Stop::epochs(1),
            |_| {},
        )?;
        let (a, b) = (evaluate(net, train)?.accuracy(), evaluate(net, test)?.accuracy());
        if verbose {
            println!(
                "{name} epoch {epoch:>2}/{EPOCHS}  loss {:.4}  train {:6.2} %  test {:6.2} %  (lr {:.5})",
                f.last.loss,
                100.0 * a,
                100.0 * b,
                trainer.optimizer.lr
            );
            std::io::stdout().flush()?;
        }
        curves.push(f64::from(f.last.loss), a, b);
    }
    Ok(curves)
}

/// Test signals the firmware checks.
const FIRMWARE_CHECKS: usize = 100;

/// FNV-1a (64 bits) over the little-endian bytes of `values`, continuing
/// from `h`: what the firmware compares the host's outputs by.
fn fnv1a(mut h: u64, values: &[f32]) -> u64 {
    for b in values.iter().flat_map(|v| v.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Writes the CNN as Rust source, the first [`FIRMWARE_CHECKS`] test
/// signals and their labels, and the host's count of correct answers and
/// hash of its outputs (one signal at a time, `forward`).
fn export_firmware(
    net: &Cnn,
    test: &common::Table<LEN>,
    path: &std::path::Path,
) -> Result<usize, Box<dyn StdError>> {
    use std::fmt::Write as _;
    let mut src = String::from(
        "//! The MNIST-1D CNN trained on the host, as Rust source, with test\n\
         //! signals and what the host computed for them: written by\n\
         //! `cargo run --release --example mnist1d -- --firmware firmware/src/mnist1d_weights.rs`\n\
         //! (examples/mnist1d.rs) in the repository root. Do not edit by hand.\n\n",
    );
    write_rust(&mut src, "Mnist1dNet", "MNIST1D", net).map_err(|_| "the model is not finite")?;
    // The host's outputs for the signals as one batch: a dense layer sums
    // a batch's products in the order of its inputs, as a Cortex-M does for
    // one sample (on SIMD hosts one sample's sums go into four partial sums,
    // see `stackprop::kernels`, and can differ in the last ulp).
    let mut batch = Box::new(SMatrix::<f32, LEN, FIRMWARE_CHECKS>::zeros());
    for (k, x) in test.x[..FIRMWARE_CHECKS].iter().enumerate() {
        batch.column_mut(k).copy_from_slice(x);
    }
    let y = Box::new(net.forward(&*batch));
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut correct = 0;
    for (k, c) in y.column_iter().enumerate() {
        hash = fnv1a(hash, c.as_slice());
        correct += usize::from(stackprop::metrics::argmax(c.as_slice()) == test.y[k]);
    }
    writeln!(
        src,
        "\n/// The first {FIRMWARE_CHECKS} test signals of MNIST-1D (data/mnist1d.bin)."
    )?;
    writeln!(src, "pub static SIGNALS: [[f32; {LEN}]; {FIRMWARE_CHECKS}] = [")?;
    for x in &test.x[..FIRMWARE_CHECKS] {
        writeln!(src, "    {x:?},")?;
    }
    src.push_str("];\n");
    writeln!(src, "\n/// Their classes.")?;
    writeln!(
        src,
        "pub static LABELS: [u8; {FIRMWARE_CHECKS}] = {:?};",
        test.y[..FIRMWARE_CHECKS].iter().map(|&y| y as u8).collect::<Vec<_>>()
    )?;
    writeln!(src, "\n/// How many of them the host classifies correctly.")?;
    writeln!(src, "pub const HOST_CORRECT: u32 = {correct};")?;
    writeln!(
        src,
        "\n/// FNV-1a (64 bits) over the little-endian bytes of the host's 10 outputs\n\
         /// for each signal, in order (computed as one batch): the firmware must\n\
         /// compute the same bits, one signal at a time."
    )?;
    writeln!(src, "pub const HOST_OUTPUTS_FNV1A: u64 = {hash:#018x};")?;
    std::fs::write(path, &src)?;
    Ok(FIRMWARE_CHECKS)
}

fn run(seed: u64, firmware: Option<std::path::PathBuf>) -> Result<f64, Box<dyn StdError>> {
    let start = Instant::now();
    let data = common::mnist1d::mnist1d()?;
    let train_set = Dataset::new(&data.train.x, &data.train.y[..])?;
    let test_set = Dataset::new(&data.test.x, &data.test.y[..])?;
    let mut rng = Rng::new(seed);

    let mut cnn: Cnn = seq![
        Conv1d::init(&mut rng, Init::Torch),
        Relu,
        Conv1d::init(&mut rng, Init::Torch),
        Relu,
        Conv1d::init(&mut rng, Init::Torch),
        Relu,
        Flatten::new(),
        Linear::init(&mut rng, Init::Torch)
    ];
    println!(
        "mnist1d: {} training / {} test signals of {LEN}; CNN of {} parameters ({} bytes), batch {BATCH}, seed {seed}",
        train_set.len(),
        test_set.len(),
        <Cnn as Module>::SIZE.params,
        size_of::<Cnn>(),
    );
    let curves = train("cnn", &mut cnn, &train_set, &test_set, &mut rng, true)?;
    let train_secs = start.elapsed().as_secs_f64();
    let cm = evaluate(&cnn, &test_set)?;
    let acc = cm.accuracy();
    println!("\ntest confusion matrix (rows: true class, columns: predicted):\n{cm}");
    println!(
        "CNN test accuracy {:.2} % ({}/{}), trained in {train_secs:.2} s",
        100.0 * acc,
        cm.correct(),
        cm.total()
    );

    // Save, and check the file by loading it back.
    let dir = common::out_dir("mnist1d")?;
    let weights = dir.join("mnist1d.spw");
    let (loaded, n) = common::save_and_reload(&cnn, &weights)?;
    println!(
        "wrote {} ({n} bytes; reloaded: {:.2} %)",
        weights.display(),
        100.0 * evaluate(&loaded, &test_set)?.accuracy()
    );

    let caption = format!(
        "stackprop: MNIST-1D ConvBase (3 × Conv1d, 5,210 parameters), Adam + cosine, seed {seed}; test accuracy {:.2} %",
        100.0 * acc
    );
    let path = curves.write_svg(&dir, &caption, TARGET, 60.0)?;
    println!("wrote {}", path.display());

    let firmware = firmware.unwrap_or_else(|| dir.join("mnist1d_weights.rs"));
    let checks = export_firmware(&cnn, &data.test, &firmware)?;
    println!("wrote {} (the CNN and {checks} test signals for the firmware)", firmware.display());

    // The MLP baseline, same data and schedule.
    let t0 = Instant::now();
    let mut mlp: Mlp = seq![
        Linear::init(&mut rng, Init::Torch),
        Relu,
        Linear::init(&mut rng, Init::Torch),
        Relu,
        Linear::init(&mut rng, Init::Torch)
    ];
    let c = train("mlp", &mut mlp, &train_set, &test_set, &mut rng, false)?;
    println!(
        "MLP baseline 40 → 100 → 100 → 10 ({} parameters): test accuracy {:.2} % (train {:.2} %) in {:.2} s — the CNN {:.2} %",
        <Mlp as Module>::SIZE.params,
        c.test.last().copied().unwrap_or(0.0),
        c.train.last().copied().unwrap_or(0.0),
        t0.elapsed().as_secs_f64(),
        100.0 * acc
    );
    println!("total {:.2} s", start.elapsed().as_secs_f64());
    Ok(acc)
}

/// The seed (`--seed N`, else [`SEED`]) and the firmware file
/// (`--firmware PATH`) from the command line.
fn args() -> Result<(u64, Option<std::path::PathBuf>), String> {
    let (mut seed, mut firmware) = (SEED, None);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match pair {
            [flag, n] if flag == "--seed" => {
                seed = n.parse().map_err(|_| format!("not a seed: {n}"))?
            }
            [flag, p] if flag == "--firmware" => firmware = Some(p.into()),
            _ => return Err("usage: mnist1d [--seed N] [--firmware PATH]".into()),
        }
    }
    Ok((seed, firmware))
}

fn main() -> ExitCode {
    match args() {
        Ok((seed, firmware)) => common::exit_status(run(seed, firmware), TARGET),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
