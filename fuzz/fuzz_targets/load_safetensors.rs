//! Fuzzes `stackprop::io::torch::load` (the safetensors reader).
//!
//! Oracles: never a panic; on error the model is unchanged; on success
//! every parameter is finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackprop::io::FileScalar;
use stackprop::io::torch;
use stackprop::{Linear, LinearNoBias, Params, Relu, Seq, params};

type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>];
type Net64 = Seq![Linear<f64, 4, 8>, Relu, LinearNoBias<f64, 8, 3>];

fn bytes<T: FileScalar, M: Params<T>>(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    params::for_each(m, |_, t| {
        for &v in t {
            let mut b = [0u8; 8];
            v.write_le(&mut b);
            out.extend_from_slice(&b[..T::TYPE.bytes()]);
        }
    });
    out
}

fn all_finite<T: FileScalar, M: Params<T>>(m: &M) -> bool {
    let mut ok = true;
    params::for_each(m, |_, t| ok &= t.iter().all(|v| v.finite()));
    ok
}

fuzz_target!(|data: &[u8]| {
    let mut m = Net::default();
    params::for_each_mut(&mut m, |_, t| t.fill(2.0));
    let before = bytes(&m);
    match torch::load(&mut m, data) {
        Ok(()) => assert!(all_finite(&m)),
        Err(_) => assert_eq!(bytes(&m), before, "model changed on error"),
    }
    let mut m = Net64::default();
    let before = bytes(&m);
    match torch::load_prefixed(&mut m, data, "net.") {
        Ok(()) => assert!(all_finite(&m)),
        Err(_) => assert_eq!(bytes(&m), before, "model changed on error"),
    }
});
