//! Inference from flash: the sine network trained on the host
//! (`examples/sine_export.rs` in the repository root) is a `static` in
//! `.rodata`; this image runs it on the host's check inputs and compares
//! with the host's outputs. It never formats a float, so its size is the
//! size of the network's code plus a minimal runtime (`measure.sh` reports
//! it). Exit status 0 when every output is within 1e-5 of the host's.
//!
//! The first inference is an instruction-count region (`measure.sh`).
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use firmware::sine_weights::{CHECKS, SINE};
use firmware::{counted, exit, print, print_u32, stack};
use nalgebra::SMatrix;
use stackprop::Layer;

/// One inference of the sine network, whose weights are read from flash.
#[inline(never)]
fn infer(x: f32) -> f32 {
    black_box(&SINE).forward(&SMatrix::<f32, 1, 1>::new(x))[0]
}

#[entry]
fn main() -> ! {
    let (mut close, mut exact) = (0u32, 0u32);
    for &(x, want) in CHECKS.iter() {
        let got = counted(|| infer(black_box(x)));
        if (got - want).abs() <= 1e-5 {
            close += 1;
        }
        if got.to_bits() == want.to_bits() {
            exact += 1;
        }
    }
    print("infer: ");
    print_u32(close);
    print("/");
    print_u32(CHECKS.len() as u32);
    print(" outputs within 1e-5 of the host's (");
    print_u32(exact);
    print(" bit-identical)\ninfer: peak stack since reset ");
    print_u32(stack::peak_since_reset() as u32);
    print(" bytes\n");
    exit(close == CHECKS.len() as u32)
}
