//! The MNIST-1D CNN from flash: the network trained on the host
//! (`examples/mnist1d.rs` in the repository root, exported with
//! `--firmware`) is a `static` in `.rodata`, and so are 100 test signals.
//! This image classifies them twice, in an arena ([`stackprop::infer`]:
//! activation memory is the largest input + output pair of any layer) and
//! with `Layer::forward` (every intermediate on the stack), and checks that
//! both give the host's outputs bit for bit (an FNV-1a hash over all 1,000
//! outputs) and the host's number of correct answers. It prints the peak
//! stack of one inference by each path beside the compile-time consts.
//! Exit status 0 when everything matches.
//!
//! Instruction-count regions (`measure.sh`): 0 = one inference in the
//! arena, 1 = one inference by `forward`.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use firmware::mnist1d_weights::{
    HOST_CORRECT, HOST_OUTPUTS_FNV1A, LABELS, MNIST1D, Mnist1dNet, SIGNALS,
};
use firmware::{counted, exit, print, print_u32, stack};
use nalgebra::SMatrix;
use stackprop::Layer;
use stackprop::infer::{self, Run};
use stackprop::memory::Footprint;

type X = SMatrix<f32, 40, 1>;
type Y = SMatrix<f32, 10, 1>;
type F = Footprint<Mnist1dNet, X>;
const ARENA: usize = <Mnist1dNet as Run<X>>::ARENA;

/// Multiply-accumulates of one inference: the three convolutions
/// (`CO·CI·K·LO`) and the dense layer.
pub const MACS: u32 = 25 * 5 * 19 + 25 * 25 * 3 * 10 + 25 * 25 * 3 * 5 + 125 * 10;

/// One inference in an arena on the stack; the input is read in place
/// from flash.
#[inline(never)]
fn in_arena(x: &[f32; 40]) -> Y {
    let mut arena = [0.0f32; ARENA];
    infer::forward_in(black_box(&MNIST1D), infer::matrix::<f32, 40, 1>(x), &mut arena)
}

/// One inference by `Layer::forward`.
#[inline(never)]
fn nested(x: &[f32; 40]) -> Y {
    black_box(&MNIST1D).forward(infer::matrix::<f32, 40, 1>(x))
}

/// FNV-1a over the little-endian bytes of `y`, continuing from `h`.
fn fnv1a(mut h: u64, y: &Y) -> u64 {
    for v in y.iter() {
        for b in v.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn argmax(y: &Y) -> usize {
    (0..10).fold(0, |b, k| if y[k] > y[b] { k } else { b })
}

/// Classifies every signal with `f`: (correct, hash of the outputs).
fn all(f: impl Fn(&[f32; 40]) -> Y) -> (u32, u64) {
    let (mut correct, mut hash) = (0, 0xcbf2_9ce4_8422_2325u64);
    for (x, &label) in SIGNALS.iter().zip(LABELS.iter()) {
        let y = f(black_box(x));
        hash = fnv1a(hash, &y);
        correct += u32::from(argmax(&y) == usize::from(label));
    }
    (correct, hash)
}

fn report(path: &str, (correct, hash): (u32, u64)) -> bool {
    let same = hash == HOST_OUTPUTS_FNV1A;
    print("cnn: ");
    print(path);
    print(": ");
    print_u32(correct);
    print("/");
    print_u32(SIGNALS.len() as u32);
    print(" correct (host ");
    print_u32(HOST_CORRECT);
    print("), outputs bit-identical to the host's: ");
    print(if same { "yes\n" } else { "NO\n" });
    same && correct == HOST_CORRECT
}

fn bytes(what: &str, n: usize) {
    print(what);
    print_u32(n as u32);
    print(" B");
}

#[entry]
fn main() -> ! {
    counted(|| in_arena(black_box(&SIGNALS[0])));
    counted(|| nested(black_box(&SIGNALS[0])));
    let ok = report("arena", all(in_arena)) & report("forward", all(nested));
    let (_, arena) = stack::measure(|| in_arena(black_box(&SIGNALS[1])));
    let (_, nest) = stack::measure(|| nested(black_box(&SIGNALS[1])));
    bytes("cnn: stack: arena inference measured ", arena);
    bytes(" | consts: INFER_ARENA ", F::INFER_ARENA);
    bytes(" (ARENA ", F::ARENA);
    bytes(" + kernel SCRATCH ", <Mnist1dNet as Run<X>>::SCRATCH);
    bytes(") + OUTPUT ", F::OUTPUT);
    bytes(" = ", F::INFER_ARENA + F::OUTPUT);
    print("\ncnn: stack: forward inference measured ");
    print_u32(nest as u32);
    bytes(" B | consts: INFER_ACTIVATIONS ", F::INFER_ACTIVATIONS);
    bytes(", INFER_SCRATCH (largest pair) ", F::INFER_SCRATCH);
    print("\ncnn: multiply-accumulates per inference ");
    print_u32(MACS);
    print("\ncnn: peak stack since reset ");
    print_u32(stack::peak_since_reset() as u32);
    print(" bytes\n");
    exit(ok)
}
