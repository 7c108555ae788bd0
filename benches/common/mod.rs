//! The side-by-side benchmark's definitions, copied from the peers harness
//! (`../shared/peers/rust/common/src/lib.rs`) so this repository builds on
//! its own: workloads, the counter-based splitmix64 data generator, the
//! PyTorch-like init, and the timing loop. Keep in step with that file.
#![allow(dead_code)]

pub mod nets;

use std::time::{Duration, Instant};

/// Learning rate of every train step.
pub const LR: f32 = 0.01;
/// Weight decay (on weights and biases alike).
pub const WD: f32 = 1e-4;

/// Forward only, or a whole train step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Forward pass to logits.
    Infer,
    /// Forward, loss, backward, SGD update.
    Train,
}

/// One workload of BENCHMARKS.md.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    pub name: &'static str,
    pub dims: &'static [usize],
    pub batch: usize,
    pub kind: Kind,
}

pub const W1_DIMS: &[usize] = &[4, 16, 3];
pub const W2_DIMS: &[usize] = &[784, 256, 10];
pub const W3_DIMS: &[usize] = &[64, 64, 64, 64, 10];

pub const WORKLOADS: &[Workload] = &[
    Workload { name: "w1_infer", dims: W1_DIMS, batch: 1, kind: Kind::Infer },
    Workload { name: "w1_train", dims: W1_DIMS, batch: 1, kind: Kind::Train },
    Workload { name: "w2_infer_b32", dims: W2_DIMS, batch: 32, kind: Kind::Infer },
    Workload { name: "w2_train_b32", dims: W2_DIMS, batch: 32, kind: Kind::Train },
    Workload { name: "w2_train_b256", dims: W2_DIMS, batch: 256, kind: Kind::Train },
    Workload { name: "w3_train_b16", dims: W3_DIMS, batch: 16, kind: Kind::Train },
];

pub fn workload(name: &str) -> &'static Workload {
    WORKLOADS.iter().find(|w| w.name == name).unwrap_or_else(|| panic!("unknown workload {name}"))
}

impl Workload {
    /// Nominal FLOPs: `2·in·out·batch` per linear forward, ×3 for a train step.
    pub fn flops(&self) -> f64 {
        let fwd: usize = self.dims.windows(2).map(|d| 2 * d[0] * d[1] * self.batch).sum();
        match self.kind {
            Kind::Infer => fwd as f64,
            Kind::Train => 3.0 * fwd as f64,
        }
    }
    /// The FLOPs a train step needs (no input gradient of the first layer).
    pub fn useful_flops(&self) -> f64 {
        match self.kind {
            Kind::Infer => self.flops(),
            Kind::Train => self.flops() - (2 * self.dims[0] * self.dims[1] * self.batch) as f64,
        }
    }
}

/// Counter-based splitmix64 (bit-identical to the peers' generator).
#[inline]
pub fn splitmix(seed: u64, i: u64) -> u64 {
    let mut z = (seed << 32).wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` values uniform in [0, 1) (24-bit resolution, exact in f32).
pub fn uniform01(seed: u64, n: usize) -> Vec<f32> {
    (0..n as u64).map(|i| (splitmix(seed, i) >> 40) as f32 * (1.0 / 16_777_216.0)).collect()
}

/// `n` values uniform in [-bound, bound).
pub fn uniform_sym(seed: u64, n: usize, bound: f32) -> Vec<f32> {
    uniform01(seed, n).into_iter().map(|u| (2.0 * u - 1.0) * bound).collect()
}

/// Initial parameters of one linear layer.
pub struct LayerInit {
    /// `out × in`, row-major (PyTorch layout).
    pub w: Vec<f32>,
    /// `out`.
    pub b: Vec<f32>,
}

/// Every weight and bias uniform in ±1/sqrt(fan_in); layer `l` uses seeds
/// 1000+l (weights) and 2000+l (biases).
pub fn init_params(dims: &[usize]) -> Vec<LayerInit> {
    dims.windows(2)
        .enumerate()
        .map(|(l, d)| {
            let (fi, fo) = (d[0], d[1]);
            let bound = 1.0 / (fi as f32).sqrt();
            LayerInit {
                w: uniform_sym(1000 + l as u64, fi * fo, bound),
                b: uniform_sym(2000 + l as u64, fo, bound),
            }
        })
        .collect()
}

/// `batch × in_dim` row-major, uniform [0, 1) (seed 3000): column-major
/// `in_dim × batch`, one sample per column, as stackprop wants it.
pub fn inputs(in_dim: usize, batch: usize) -> Vec<f32> {
    uniform01(3000, in_dim * batch)
}

/// `batch` labels in `0..classes` (seed 4000).
pub fn labels(batch: usize, classes: usize) -> Vec<usize> {
    (0..batch as u64).map(|i| ((splitmix(4000, i) >> 32) % classes as u64) as usize).collect()
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Result of [`time_it`].
pub struct BenchResult {
    pub ns_per_iter: f64,
    pub min_ns: f64,
    pub iters_per_rep: u64,
    pub reps: usize,
}

/// The peers' timing loop: warm-up (PEERS_WARMUP_S, 0.2 s, ≥ 3 iterations),
/// calibration (double n until n iterations take ≥ PEERS_REP_S/10), then
/// PEERS_REPS (7) repetitions of ceil(PEERS_REP_S / t_iter) iterations;
/// median and minimum ns/iter.
pub fn time_it<F: FnMut()>(mut f: F) -> BenchResult {
    let warmup = Duration::from_secs_f64(env_f64("PEERS_WARMUP_S", 0.2));
    let rep = env_f64("PEERS_REP_S", 0.1);
    let reps = env_f64("PEERS_REPS", 7.0) as usize;
    let start = Instant::now();
    let mut n = 0u64;
    while n < 3 || start.elapsed() < warmup {
        f();
        n += 1;
    }
    let mut n = 1u64;
    let per = loop {
        let s = Instant::now();
        for _ in 0..n {
            f();
        }
        let el = s.elapsed().as_secs_f64();
        if el >= rep / 10.0 || n >= 1 << 30 {
            break el / n as f64;
        }
        n *= 2;
    };
    let iters = ((rep / per).ceil() as u64).max(1);
    let mut samples: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let s = Instant::now();
            for _ in 0..iters {
                f();
            }
            s.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    BenchResult {
        ns_per_iter: samples[samples.len() / 2],
        min_ns: samples[0],
        iters_per_rep: iters,
        reps: samples.len(),
    }
}

/// Times `f` and prints the peers' JSON line.
pub fn bench<F: FnMut()>(peer: &str, w: &Workload, f: F) -> f64 {
    let r = time_it(f);
    println!(
        "{{\"peer\":\"{}\",\"workload\":\"{}\",\"ns_per_iter\":{:.1},\"gflops\":{:.3},\"min_ns\":{:.1},\"iters_per_rep\":{},\"reps\":{}}}",
        peer,
        w.name,
        r.ns_per_iter,
        w.flops() / r.ns_per_iter,
        r.min_ns,
        r.iters_per_rep,
        r.reps
    );
    r.ns_per_iter
}

/// The check line (W2, batch 32, one step from the init).
pub fn report_check(peer: &str, loss_before: f32, grad_norm: f32, loss_after: f32) {
    println!(
        "{{\"peer\":\"{}\",\"check\":\"w2_b32_one_step\",\"loss_before\":{:.7},\"grad_norm\":{:.7},\"loss_after\":{:.7}}}",
        peer, loss_before, grad_norm, loss_after
    );
}

/// Runs `f` on a thread with a `bytes` stack (the W2 model, its gradient
/// and cache are plain values, 2.5 MB at batch 256).
pub fn with_big_stack<F: FnOnce() + Send + 'static>(bytes: usize, f: F) {
    std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("bench thread panicked");
}
