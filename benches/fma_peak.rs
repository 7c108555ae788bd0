//! The core's `f32` fused multiply-add throughput with 8-lane and 16-lane
//! vectors (`wide::f32x8`, `wide::f32x16`), 12 independent chains each, the
//! ceiling for the kernels' GFLOP/s. `../shared/peers`' `peak` probe uses
//! 256-bit vectors only, which is half the ceiling on a core with two
//! 512-bit FMA units.
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench fma_peak
//! ```

use std::hint::black_box;
use std::time::Instant;

#[cfg(target_arch = "x86_64")]
macro_rules! probe {
    ($v:ty, $lanes:expr) => {{
        let mut acc = [<$v>::splat(0.0); 12];
        let (a, b) = (black_box(<$v>::splat(0.999_999)), black_box(<$v>::splat(1e-7)));
        let n = 20_000_000usize;
        let t = Instant::now();
        for _ in 0..n {
            for x in acc.iter_mut() {
                *x = x.mul_add(a, b);
            }
        }
        let s = t.elapsed().as_secs_f64();
        black_box(acc);
        (n * 12 * $lanes * 2) as f64 / s / 1e9
    }};
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let fma = cfg!(target_feature = "fma");
    for _ in 0..3 {
        let g8 = probe!(wide::f32x8, 8);
        let g16 = probe!(wide::f32x16, 16);
        println!("fma={fma} f32x8 {g8:.1} GFLOP/s, f32x16 {g16:.1} GFLOP/s");
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("fma_peak: x86-64 only");
}
