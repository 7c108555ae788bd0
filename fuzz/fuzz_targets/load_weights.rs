//! Fuzzes `stackprop::io::load`: any bytes, as given and with both
//! checksums recomputed (so mutations reach the checks behind them).
//!
//! Oracles: never a panic; on error the model is unchanged; on success the
//! model re-saves to exactly the input (a valid file is canonical for this
//! model type, and the round trip is bit-exact).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackprop::io::crc::crc32;
use stackprop::io::{FileScalar, file_size, load, save};
use stackprop::{LeakyRelu, Linear, LinearNoBias, Params, Relu, Seq, Sigmoid, Tanh, params, seq};

type Net = Seq![Linear<f32, 4, 8>, LeakyRelu<f32>, LinearNoBias<f32, 8, 5>, Tanh, Linear<f32, 5, 3>, Sigmoid];
type Net64 = Seq![Linear<f64, 3, 4>, Relu, Linear<f64, 4, 2>];

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

fn net() -> Net {
    seq![
        Linear::from_fn(|o, i| (o * 4 + i) as f32 * 0.125 - 2.0, |o| o as f32),
        LeakyRelu::new(0.1).unwrap(),
        LinearNoBias::from_fn(|o, i| (o + i) as f32),
        Tanh,
        Linear::from_fn(|o, i| (o as f32) - (i as f32), |o| -(o as f32)),
        Sigmoid
    ]
}

fn check(data: &[u8]) {
    let mut m = net();
    let before = bytes(&m);
    match load(&mut m, data) {
        Ok(()) => {
            let mut again = vec![0u8; file_size::<f32, Net>()];
            save(&m, &mut again).expect("a loaded model saves");
            assert_eq!(again, data, "valid file does not round-trip");
        }
        Err(_) => assert_eq!(bytes(&m), before, "model changed on error"),
    }
    let mut m = Net64::default();
    let before = bytes(&m);
    match load(&mut m, data) {
        Ok(()) => {
            let mut again = vec![0u8; file_size::<f64, Net64>()];
            save(&m, &mut again).expect("a loaded model saves");
            assert_eq!(again, data, "valid file does not round-trip");
        }
        Err(_) => assert_eq!(bytes(&m), before, "model changed on error"),
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() >= 36 {
        let mut d = data.to_vec();
        let h = crc32(&d[..28]);
        d[28..32].copy_from_slice(&h.to_le_bytes());
        let n = d.len();
        let c = crc32(&d[..n - 4]);
        d[n - 4..].copy_from_slice(&c.to_le_bytes());
        check(&d);
    }
});
