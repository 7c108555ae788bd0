//! Fuzzes `stackprop::io::torch::load` (the safetensors reader).
//!
//! Oracles: never a panic; on error the model is unchanged; on success
//! every parameter is finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackprop::io::torch;
use stackprop::module::{Data, DataMut, Module};
use stackprop::{Linear, LinearNoBias, Relu, Residual, Seq, Tanh};

type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>];
type Net64 = Seq![Linear<f64, 4, 8>, Relu, LinearNoBias<f64, 8, 3>];
/// Names `0.weight`, `0.bias`, `1.inner.0.weight`, `1.inner.0.bias`,
/// `2.weight`, `2.bias`.
type Block = Seq![Linear<f32, 4, 8>, Residual<Seq![Linear<f32, 8, 8>, Tanh]>, Linear<f32, 8, 3>];

/// Every tensor, little-endian, in order.
fn bytes<M: Module>(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..M::SIZE.tensors {
        match m.tensor(i).expect("a tensor the model counts") {
            Data::F32(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Data::F64(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            d => panic!("a tensor of {}", d.dtype()),
        }
    }
    out
}

fn all_finite<M: Module>(m: &M) -> bool {
    (0..M::SIZE.tensors).all(|i| match m.tensor(i) {
        Some(Data::F32(s)) => s.iter().all(|v| v.is_finite()),
        Some(Data::F64(s)) => s.iter().all(|v| v.is_finite()),
        _ => false,
    })
}

fn fill<M: Module>(m: &mut M, x: f64) {
    for i in 0..M::SIZE.tensors {
        match m.tensor_mut(i) {
            Some(DataMut::F32(s)) => s.fill(x as f32),
            Some(DataMut::F64(s)) => s.fill(x),
            _ => {}
        }
    }
}

fn check<M: Module + Default>(data: &[u8], prefix: &str) {
    let mut m = M::default();
    fill(&mut m, 2.0);
    let before = bytes(&m);
    match torch::load_prefixed(&mut m, data, prefix) {
        Ok(()) => assert!(all_finite(&m)),
        Err(_) => assert_eq!(bytes(&m), before, "model changed on error"),
    }
}

fuzz_target!(|data: &[u8]| {
    check::<Net>(data, "");
    check::<Net64>(data, "net.");
    check::<Block>(data, "");
});
