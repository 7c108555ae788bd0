//! GFLOP/s of the forward product `W·X` (`kernels::affine_into`, `f32`) for
//! shapes from one register tile's worth up to W2's first layer, to set
//! beside `cargo bench --bench fma_peak`: how much of the core's peak a
//! tile reaches with everything in L1, and what a 784 → 256 layer's
//! strided columns of `W` (1 KiB apart) cost. Best of five runs each.
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench affine_shapes
//! ```

use nalgebra::SMatrix;
use std::hint::black_box;
use std::time::Instant;

/// GFLOP/s of `Y = W·X` for `W: O×I`, `X: I×B`, best of five runs of
/// `reps` products.
fn gflops<const O: usize, const I: usize, const B: usize>(reps: usize) -> f64 {
    // Boxed: W2's layer is 800 KB.
    let w = Box::new(SMatrix::<f32, O, I>::from_fn(|r, c| ((r * 7 + c * 3) % 11) as f32 * 0.01));
    let x = Box::new(SMatrix::<f32, I, B>::from_fn(|r, c| ((r + c * 5) % 13) as f32 * 0.01));
    let mut y = Box::new(SMatrix::<f32, O, B>::zeros());
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let s = Instant::now();
        for _ in 0..reps {
            stackprop::kernels::affine_into(black_box(&*w), black_box(&*x), None, &mut *y);
            black_box(&*y);
        }
        best = best.min(s.elapsed().as_secs_f64() / reps as f64);
    }
    2.0 * (O * I * B) as f64 / best / 1e9
}

fn main() {
    println!(
        "32 x 128 x 12 (one tile's columns, all in L1): {:.1} GFLOP/s",
        gflops::<32, 128, 12>(200_000)
    );
    println!(
        "32 x 784 x 12 (one row block, W contiguous): {:.1} GFLOP/s",
        gflops::<32, 784, 12>(30_000)
    );
    println!("32 x 784 x 32 (three column tiles): {:.1} GFLOP/s", gflops::<32, 784, 32>(10_000));
    println!(
        "256 x 128 x 32 (W's columns 1 KiB apart): {:.1} GFLOP/s",
        gflops::<256, 128, 32>(10_000)
    );
    println!("256 x 784 x 32 (W2's first layer): {:.1} GFLOP/s", gflops::<256, 784, 32>(1_000));
}
