//! Fuzzes `stackprop::io::load`: any bytes, as given and with both
//! checksums recomputed (so mutations reach the checks behind them), into
//! three models: f32 (version-2 seed net_f32.spw, version-1 seed
//! net_f32_v1.spw), f64 (net_f64.spw, net_f64_v1.spw) and one with a
//! residual block (net_nested.spw).
//!
//! Oracles: never a panic; on error the model is unchanged; on success the
//! model holds exactly the file's values and, for a version-2 file,
//! re-saves to exactly the input (a valid file is canonical for this model
//! type, and the round trip is bit-exact); a version-1 file re-saves to
//! what the same values give.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackprop::io::crc::crc32;
use stackprop::io::{Header, file_size, load, save};
use stackprop::module::{Data, Module};
use stackprop::{LeakyRelu, Linear, LinearNoBias, Relu, Residual, Seq, Sigmoid, Tanh, seq};

type Net = Seq![Linear<f32, 4, 8>, LeakyRelu<f32>, LinearNoBias<f32, 8, 5>, Tanh, Linear<f32, 5, 3>, Sigmoid];
type Net64 = Seq![Linear<f64, 3, 4>, Relu, Linear<f64, 4, 2>];
type Nested = Seq![
    Linear<f32, 2, 3>,
    Tanh,
    Residual<Seq![Linear<f32, 3, 3>, Tanh]>,
    LeakyRelu<f32>,
    Linear<f32, 3, 1>
];

/// Every tensor, little-endian, in order: the file's data section.
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

/// The values of fuzz/seeds/load_weights/net_nested.spw.
fn nested() -> Nested {
    seq![
        Linear::from_fn(|o, i| o as f32 - 0.5 * i as f32, |o| 0.25 * o as f32),
        Tanh,
        Residual::new(seq![
            Linear::from_fn(|o, i| 0.125 * (o * 3 + i) as f32 - 0.5, |_| -0.75),
            Tanh
        ]),
        LeakyRelu::new(0.25).unwrap(),
        Linear::from_fn(|_, i| 1.0 + i as f32, |_| 0.5)
    ]
}

fn check_into<M: Module>(mut m: M, data: &[u8]) {
    let before = bytes(&m);
    match load(&mut m, data) {
        Ok(()) => {
            let h = Header::read(data).expect("a loaded file has a valid header");
            assert_eq!(bytes(&m), &data[h.len - 4 - h.data..h.len - 4], "loaded values");
            let mut again = vec![0u8; file_size::<M>()];
            save(&m, &mut again).expect("a loaded model saves");
            if h.version == 2 && again != data {
                let differ: Vec<usize> = (0..data.len()).filter(|&k| again[k] != data[k]).collect();
                panic!("valid file does not round-trip: bytes {differ:?} differ");
            }
        }
        Err(_) => assert_eq!(bytes(&m), before, "model changed on error"),
    }
}

fn check(data: &[u8]) {
    check_into(net(), data);
    let mut m = Net64::default();
    m.0.bias[2] = 1.0;
    check_into(m, data);
    check_into(nested(), data);
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
