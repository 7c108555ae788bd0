//! Weight files and PyTorch import: round trips, every error, malformed
//! input (≥ 10,000 blobs per loader), and a PyTorch network's outputs.

use nalgebra::SMatrix;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stackprop::arch::{Arch, LayerDesc, LayerKind};
use stackprop::io::crc::crc32;
use stackprop::io::torch::{self, Dtype, Name, Shape, TorchError};
use stackprop::io::{FileScalar, Header, LoadError, SaveError, ScalarType, file_size, load, save};
use stackprop::prelude::*;
use stackprop::rng::Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;

// ---------------------------------------------------------------- helpers

/// A model's parameters as little-endian bytes, in `Params` order: the
/// bit-exact identity of its weights.
fn param_bytes<T: FileScalar, M: Params<T>>(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    stackprop::params::for_each(m, |_, t| {
        for &v in t {
            let mut b = [0u8; 8];
            v.write_le(&mut b);
            out.extend_from_slice(&b[..T::TYPE.bytes()]);
        }
    });
    out
}

/// Sets every parameter from `bits` (a finite value of any bit pattern:
/// normal, subnormal, ±0, extremes).
fn fill<T: FileScalar, M: Params<T>>(m: &mut M, mut bits: impl FnMut() -> u64) {
    stackprop::params::for_each_mut(m, |_, t| {
        for v in t {
            let mut x = T::read_le(&bits().to_le_bytes());
            if !x.finite() {
                x = T::from_f32(-0.0);
            }
            *v = x;
        }
    });
}

/// Recomputes both checksums of a weight file (to reach the checks behind
/// them).
fn fix_crcs(b: &mut [u8]) {
    if b.len() >= 32 {
        let h = crc32(&b[..28]);
        b[28..32].copy_from_slice(&h.to_le_bytes());
    }
    if b.len() >= 36 {
        let n = b.len();
        let c = crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&c.to_le_bytes());
    }
}

type NetA = Seq![
    Linear<f32, 4, 8>,
    LeakyRelu<f32>,
    LinearNoBias<f32, 8, 5>,
    Tanh,
    Linear<f32, 5, 3>,
    Sigmoid
];
type NetB = Seq![Linear<f64, 3, 4>, Relu, Linear<f64, 4, 2>, Identity];

const A_BYTES: usize = file_size::<f32, NetA>();
const A_PARAMS_AT: usize = 32 + 32 * 6;

fn net_a(seed: u64, slope: f32) -> NetA {
    let mut rng = Rng::new(seed);
    seq![
        Linear::init(&mut rng, Init::HeUniform),
        LeakyRelu::new(slope).unwrap(),
        LinearNoBias::init(&mut rng, Init::XavierUniform),
        Tanh,
        Linear::init(&mut rng, Init::HeUniform),
        Sigmoid
    ]
}

fn file_a() -> Vec<u8> {
    let mut b = vec![0u8; A_BYTES];
    assert_eq!(save(&net_a(1, 0.1), &mut b), Ok(A_BYTES));
    b
}

// ------------------------------------------------------------ round trips

#[test]
fn file_size_is_exact_and_const() {
    const N: usize = file_size::<f32, NetA>();
    assert_eq!(N, 36 + 32 * 6 + 4 * (32 + 8 + 40 + 15 + 3));
    assert_eq!(file_size::<f64, NetB>(), 36 + 32 * 4 + 8 * (12 + 4 + 8 + 2));
    let mut big = [0u8; N + 10];
    assert_eq!(save(&net_a(3, 0.2), &mut big), Ok(N));
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn round_trip_f32_is_bit_exact(seed in any::<u64>(), slope in 0.0f32..=1.0) {
        let mut net = net_a(0, slope);
        let mut s = seed;
        fill(&mut net, || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); s >> 11 ^ s });
        let mut buf = [0u8; A_BYTES];
        prop_assert_eq!(save(&net, &mut buf), Ok(A_BYTES));
        let mut back = net_a(99, slope);
        prop_assert_eq!(load(&mut back, &buf), Ok(()));
        prop_assert_eq!(param_bytes(&back), param_bytes(&net));
    }

    #[test]
    fn round_trip_f64_is_bit_exact(values in prop::collection::vec(any::<u64>(), 26)) {
        let mut net = NetB::default();
        let mut it = values.iter().copied();
        fill(&mut net, || it.next().unwrap());
        let mut buf = [0u8; file_size::<f64, NetB>()];
        prop_assert_eq!(save(&net, &mut buf), Ok(buf.len()));
        let mut back = NetB::default();
        prop_assert_eq!(load(&mut back, &buf), Ok(()));
        prop_assert_eq!(param_bytes(&back), param_bytes(&net));
    }
}

#[test]
fn special_values_round_trip() {
    let specials = [0.0f32, -0.0, f32::MIN_POSITIVE, 1e-45, -1e-45, f32::MAX, f32::MIN, 1.0 / 3.0];
    let mut net = NetA::default();
    let mut k = 0;
    fill(&mut net, || {
        k += 1;
        specials[k % specials.len()].to_bits() as u64
    });
    let mut buf = [0u8; A_BYTES];
    save(&net, &mut buf).unwrap();
    let mut back = net_a(5, 0.01);
    load(&mut back, &buf).unwrap();
    assert_eq!(param_bytes(&back), param_bytes(&net));
    assert_eq!(back.1.0.alpha(), 0.01); // the default slope, as saved
}

// ----------------------------------------------------------- every error

/// Loads `b` into a fresh NetA and checks the model is unchanged on error.
fn load_a(b: &[u8]) -> Result<(), LoadError> {
    let mut m = net_a(77, 0.1);
    let before = param_bytes(&m);
    let r = load(&mut m, b);
    if r.is_err() {
        assert_eq!(param_bytes(&m), before, "model changed on {r:?}");
    }
    r
}

#[test]
fn load_errors_name_what_is_wrong() {
    let good = file_a();
    assert_eq!(load_a(&good), Ok(()));

    let mut b = good.clone();
    b[1] = b'X';
    assert_eq!(load_a(&b), Err(LoadError::BadMagic));
    assert_eq!(load_a(&good[..3]), Err(LoadError::Truncated { expected: 32, found: 3 }));
    assert_eq!(
        load_a(&good[..A_BYTES - 1]),
        Err(LoadError::Truncated { expected: A_BYTES, found: A_BYTES - 1 })
    );
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        load_a(&long),
        Err(LoadError::TrailingBytes { expected: A_BYTES, found: A_BYTES + 1 })
    );

    let mut b = good.clone();
    b[8] = 7;
    assert_eq!(load_a(&b), Err(LoadError::UnsupportedVersion { found: 7 }));
    let mut b = good.clone();
    b[20] ^= 0x10;
    assert!(matches!(load_a(&b), Err(LoadError::HeaderChecksum { .. })));
    let mut b = good.clone();
    b[A_PARAMS_AT + 5] ^= 0x01;
    let stored = u32::from_le_bytes(b[A_BYTES - 4..].try_into().unwrap());
    assert_eq!(load_a(&b), Err(LoadError::Checksum { stored, computed: crc32(&b[..A_BYTES - 4]) }));

    // Past the checksums: an intact file that does not fit the model.
    let mut b64 = vec![0u8; file_size::<f64, NetB>()];
    save(&NetB::default(), &mut b64).unwrap();
    assert_eq!(
        load_a(&b64),
        Err(LoadError::ScalarMismatch { expected: ScalarType::F32, found: ScalarType::F64 })
    );
    let mut short = [0u8; file_size::<f32, Seq![Linear<f32, 4, 8>, Relu]>()];
    save(&seq![Linear::<f32, 4, 8>::zeros(), Relu], &mut short).unwrap();
    assert_eq!(load_a(&short), Err(LoadError::LayerCount { expected: 6, found: 2 }));

    type Other = Seq![Linear<f32, 4, 8>, LeakyRelu<f32>, LinearNoBias<f32, 8, 5>, Relu, Linear<f32, 5, 3>, Sigmoid];
    let other: Other = seq![
        Linear::zeros(),
        LeakyRelu::new(0.1).unwrap(),
        LinearNoBias::zeros(),
        Relu,
        Linear::zeros(),
        Sigmoid
    ];
    let mut b = vec![0u8; A_BYTES];
    save(&other, &mut b).unwrap();
    assert_eq!(
        load_a(&b),
        Err(LoadError::LayerMismatch {
            layer: 3,
            expected: LayerDesc::new(LayerKind::Tanh, 0, 0),
            found: LayerDesc::new(LayerKind::Relu, 0, 0),
        })
    );
    let e = load_a(&b).unwrap_err().to_string();
    assert_eq!(e, "architecture mismatch at layer 3: the model has Tanh, the file has Relu");

    let mut b = good.clone();
    save(&net_a(1, 0.3), &mut b).unwrap();
    let e = load_a(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "architecture mismatch at layer 1: the model has LeakyRelu(slope 0.10000000149011612), \
         the file has LeakyRelu(slope 0.30000001192092896)"
    );

    type Wide = Seq![Linear<f32, 4, 9>, LeakyRelu<f32>, LinearNoBias<f32, 9, 5>, Tanh, Linear<f32, 5, 3>, Sigmoid];
    let wide: Wide = seq![
        Linear::zeros(),
        LeakyRelu::new(0.1).unwrap(),
        LinearNoBias::zeros(),
        Tanh,
        Linear::zeros(),
        Sigmoid
    ];
    let mut b = vec![0u8; file_size::<f32, Wide>()];
    save(&wide, &mut b).unwrap();
    assert_eq!(
        load_a(&b),
        Err(LoadError::LayerMismatch {
            layer: 0,
            expected: LayerDesc::new(LayerKind::Linear, 4, 8),
            found: LayerDesc::new(LayerKind::Linear, 4, 9),
        })
    );

    // The slope of a non-LeakyRelu layer is +0.0, bit for bit: a file with
    // -0.0 there was accepted and did not re-save to the same bytes (found
    // by the load_weights fuzz target).
    let mut b = good.clone();
    b[32 + 5 * 32 + 31] = 0x80;
    fix_crcs(&mut b);
    let e = load_a(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "architecture mismatch at layer 5: the model has Sigmoid, the file has Sigmoid(0 → 0, slope -0)"
    );
    // A LeakyRelu slope likewise.
    let mut m = net_a(1, 0.0);
    let mut z = vec![0u8; A_BYTES];
    save(&net_a(1, -0.0), &mut z).unwrap();
    assert!(matches!(load(&mut m, &z), Err(LoadError::LayerMismatch { layer: 1, .. })));
    let mut m = net_a(2, -0.0);
    assert_eq!(load(&mut m, &z), Ok(()));

    // A header claiming one parameter more, with the bytes and checksums to
    // match: every layer fits, the count does not.
    let mut b = good.clone();
    b.truncate(A_BYTES - 4);
    b.extend_from_slice(&[0; 8]);
    b[16..24].copy_from_slice(&99u64.to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::ParamCount { expected: 98, found: 99 }));

    // Non-finite values, checksums fixed: tensor 2 (the LinearNoBias
    // weight), element 7.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut b = good.clone();
        let at = A_PARAMS_AT + 4 * (32 + 8 + 7);
        b[at..at + 4].copy_from_slice(&bad.to_le_bytes());
        fix_crcs(&mut b);
        assert_eq!(load_a(&b), Err(LoadError::NonFinite { tensor: 2, index: 7 }));
    }
}

#[test]
fn save_errors() {
    let mut b = [0u8; 10];
    assert_eq!(
        save(&net_a(1, 0.1), &mut b),
        Err(SaveError::BufferTooSmall { needed: A_BYTES, found: 10 })
    );
    let mut n = net_a(1, 0.1);
    n.1.1.1.1.0.weight[(2, 1)] = f32::NAN;
    let mut b = vec![0u8; A_BYTES];
    // (2, 1) of a 3-row matrix is element 2 + 1·3 of its column-major tensor.
    assert_eq!(save(&n, &mut b), Err(SaveError::NonFinite { tensor: 3, index: 5 }));
    assert!(b.iter().all(|&x| x == 0));
}

#[test]
fn header_describes_the_file() {
    let b = file_a();
    let h = Header::read(&b).unwrap();
    assert_eq!(
        (h.version, h.scalar, h.layers, h.params, h.len),
        (1, ScalarType::F32, 6, 98, A_BYTES)
    );
    let kinds: Vec<_> = (0..6).map(|k| h.layer(&b, k).unwrap().kind.name()).collect();
    assert_eq!(kinds, ["Linear", "LeakyRelu", "LinearNoBias", "Tanh", "Linear", "Sigmoid"]);
    assert_eq!(h.layer(&b, 2).unwrap(), LayerDesc::new(LayerKind::LinearNoBias, 8, 5));
}

// ------------------------------------------------- malformed weight files

/// How a valid file is damaged.
#[derive(Clone, Debug)]
enum Damage {
    /// Cut to this many bytes.
    Truncate(usize),
    /// These bytes appended.
    Extend(Vec<u8>),
    /// 1 to 3 distinct bits flipped; checksums left alone.
    Flip(Vec<usize>),
    /// Bits flipped, then both checksums recomputed.
    FlipFixed(Vec<usize>),
    /// One byte of the header or layer table set, checksums recomputed.
    SetByte(usize, u8),
    /// One parameter replaced by an arbitrary f32 bit pattern (NaN, inf,
    /// anything), checksums recomputed.
    SetParam(usize, u32),
    /// Random bytes.
    Random(Vec<u8>),
    /// The magic then random bytes.
    MagicThenRandom(Vec<u8>),
}

/// Any f32 bit pattern, with infinities and NaNs (quiet, signalling,
/// negative) one time in four.
fn f32_bits() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => any::<u32>(),
        1 => prop::sample::select(vec![0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0xFFFF_FFFF]),
    ]
}

fn damage() -> impl Strategy<Value = Damage> {
    let bits = A_BYTES * 8;
    prop_oneof![
        (0..A_BYTES).prop_map(Damage::Truncate),
        prop::collection::vec(any::<u8>(), 1..40).prop_map(Damage::Extend),
        prop::collection::btree_set(0..bits, 1..=3)
            .prop_map(|s| Damage::Flip(s.into_iter().collect())),
        prop::collection::btree_set(0..bits, 1..=3)
            .prop_map(|s| Damage::FlipFixed(s.into_iter().collect())),
        (0..A_PARAMS_AT, any::<u8>()).prop_map(|(i, v)| Damage::SetByte(i, v)),
        (0..98usize, f32_bits()).prop_map(|(i, v)| Damage::SetParam(i, v)),
        prop::collection::vec(any::<u8>(), 0..700).prop_map(Damage::Random),
        prop::collection::vec(any::<u8>(), 0..700).prop_map(Damage::MagicThenRandom),
    ]
}

fn apply(good: &[u8], d: &Damage) -> Vec<u8> {
    let mut b = good.to_vec();
    match d {
        Damage::Truncate(n) => b.truncate(*n),
        Damage::Extend(x) => b.extend_from_slice(x),
        Damage::Flip(bits) => bits.iter().for_each(|&p| b[p / 8] ^= 1 << (p % 8)),
        Damage::FlipFixed(bits) => {
            bits.iter().for_each(|&p| b[p / 8] ^= 1 << (p % 8));
            fix_crcs(&mut b);
        }
        Damage::SetByte(i, v) => {
            b[*i] = *v;
            fix_crcs(&mut b);
        }
        Damage::SetParam(i, v) => {
            b[A_PARAMS_AT + 4 * i..A_PARAMS_AT + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
            fix_crcs(&mut b);
        }
        Damage::Random(x) => b = x.clone(),
        Damage::MagicThenRandom(x) => {
            b = stackprop::io::format::MAGIC.to_vec();
            b.extend_from_slice(x);
        }
    }
    b
}

/// 12,000 damaged files: each gets an error (and the model is unchanged)
/// or, if still valid, loads bit-exactly what it holds. Never a panic.
#[test]
fn malformed_weight_files_never_panic_and_never_half_load() {
    const CASES: u32 = 12_000;
    let good = file_a();
    let counts = RefCell::new(BTreeMap::<String, usize>::new());
    let mut runner =
        TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&damage(), |d| {
            let b = apply(&good, &d);
            let mut m = net_a(77, 0.1);
            let before = param_bytes(&m);
            let r = load(&mut m, &b);
            let kind = match &r {
                Ok(()) => "Ok".to_string(),
                Err(e) => format!("{e:?}").split([' ', '{']).next().unwrap().to_string(),
            };
            *counts.borrow_mut().entry(kind).or_default() += 1;
            match r {
                Ok(()) => {
                    // Valid: the model holds exactly the file's parameters.
                    prop_assert_eq!(b.len(), A_BYTES);
                    prop_assert_eq!(param_bytes(&m), b[A_PARAMS_AT..A_BYTES - 4].to_vec());
                }
                Err(_) => prop_assert_eq!(param_bytes(&m), before, "model changed"),
            }
            // What each kind of damage must give.
            match &d {
                Damage::Truncate(_) => {
                    prop_assert!(matches!(r, Err(LoadError::Truncated { .. })), "{:?}", r)
                }
                Damage::Extend(_) => {
                    prop_assert!(matches!(r, Err(LoadError::TrailingBytes { .. })), "{:?}", r)
                }
                // CRC-32 has Hamming distance ≥ 4 at this length: 1–3 flipped
                // bits are always caught.
                Damage::Flip(_) => prop_assert!(r.is_err()),
                Damage::SetParam(i, v) => {
                    if f32::from_bits(*v).is_finite() {
                        prop_assert_eq!(r, Ok(()));
                    } else {
                        let (tensor, index) = match *i {
                            i @ 0..32 => (0, i),
                            i @ 32..40 => (1, i - 32),
                            i @ 40..80 => (2, i - 40),
                            i @ 80..95 => (3, i - 80),
                            i => (4, i - 95),
                        };
                        prop_assert_eq!(r, Err(LoadError::NonFinite { tensor, index }));
                    }
                }
                _ => {}
            }
            Ok(())
        })
        .unwrap();
    let counts = counts.into_inner();
    eprintln!("weight-file outcomes over {CASES} damaged files: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), CASES as usize);
    // The damage reached every layer of checks.
    for kind in [
        "Ok",
        "BadMagic",
        "Truncated",
        "TrailingBytes",
        "HeaderChecksum",
        "Checksum",
        "LayerMismatch",
        "NonFinite",
    ] {
        assert!(counts.get(kind).copied().unwrap_or(0) > 0, "no {kind} among {counts:?}");
    }
}

// ------------------------------------------------------- PyTorch import

const TORCH_MLP: &[u8] = include_bytes!("data/torch_mlp.safetensors");
type TorchNet<T> = Seq![Linear<T, 4, 8>, Relu, Linear<T, 8, 3>];

/// Inputs and reference outputs written by tools/make_torch_fixture.py.
fn reference() -> Vec<([f64; 4], [f64; 3])> {
    let text = include_str!("data/torch_mlp.ref.txt");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    rows.chunks(2)
        .map(|p| (p[0].clone().try_into().unwrap(), p[1].clone().try_into().unwrap()))
        .collect()
}

/// γ_n = n·u / (1 − n·u): the classical bound on the relative error of a
/// sum of n products in floating point with unit roundoff u, whatever the
/// order of summation (Higham, Accuracy and Stability of Numerical
/// Algorithms, §3.1).
fn gamma(n: usize, u: f64) -> f64 {
    n as f64 * u / (1.0 - n as f64 * u)
}

/// For each output, a rigorous bound on |computed − exact| when the network
/// (exact weights `net`, in f64) is evaluated at `x` with unit roundoff `u`:
/// layer 1 errs by at most γ₅·(Σ|w·x| + |b|); ReLU does not increase an
/// error; layer 2 adds γ₉·(Σ|w·h| + |b|) and carries Σ|w|·err(h).
fn error_bound(net: &TorchNet<f64>, x: &[f64; 4], u: f64) -> [f64; 3] {
    let (l1, (_, l2)) = net;
    let mut h = [0.0; 8];
    let mut eh = [0.0; 8];
    for o in 0..8 {
        let z: f64 = (0..4).map(|i| l1.weight[(o, i)] * x[i]).sum::<f64>() + l1.bias[o];
        let a: f64 =
            (0..4).map(|i| (l1.weight[(o, i)] * x[i]).abs()).sum::<f64>() + l1.bias[o].abs();
        eh[o] = gamma(5, u) * a;
        h[o] = z.max(0.0) + eh[o];
    }
    let mut out = [0.0; 3];
    for (j, e) in out.iter_mut().enumerate() {
        let a: f64 =
            (0..8).map(|k| (l2.weight[(j, k)] * h[k]).abs()).sum::<f64>() + l2.bias[j].abs();
        let carried: f64 = (0..8).map(|k| l2.weight[(j, k)].abs() * eh[k]).sum();
        *e = gamma(9, u) * a + carried;
    }
    out
}

#[test]
fn pytorch_network_matches_its_reference_outputs() {
    let mut n32 = TorchNet::<f32>::default();
    torch::load(&mut n32, TORCH_MLP).unwrap();
    // f64 model from the same F32 tensors, widened exactly.
    let mut n64 = TorchNet::<f64>::default();
    torch::load(&mut n64, TORCH_MLP).unwrap();
    assert_eq!(n64.0.weight, n32.0.weight.map(|w| w as f64));

    // The layout: PyTorch's 0.weight is row-major [8, 4]; element (o, i) is
    // value o·4 + i of the data section after the 32 bias bytes.
    let h = u64::from_le_bytes(TORCH_MLP[..8].try_into().unwrap()) as usize;
    let at = |k: usize| {
        f32::from_le_bytes(TORCH_MLP[8 + h + 4 * k..8 + h + 4 * k + 4].try_into().unwrap())
    };
    // 8 bias values, then 0.weight row-major: (1, 2) is 1·4 + 2.
    assert_eq!(n32.0.weight[(1, 2)], at(8 + 6));
    assert_eq!(n32.0.bias[5], at(5));

    let refs = reference();
    assert_eq!(refs.len(), 5);
    let mut worst = (0.0f64, 0.0f64);
    for (x, y) in &refs {
        let y32 = n32.forward(&SMatrix::<f32, 4, 1>::from_fn(|i, _| x[i] as f32));
        let y64 = n64.forward(&SMatrix::<f64, 4, 1>::from_column_slice(x));
        let b32 = error_bound(&n64, x, f32::EPSILON as f64 / 2.0);
        // Our f64 result and the script's f64 result each err by ≤ the bound.
        let b64 = error_bound(&n64, x, f64::EPSILON / 2.0);
        for j in 0..3 {
            let (e32, e64) = ((y32[j] as f64 - y[j]).abs(), (y64[j] - y[j]).abs());
            assert!(e32 <= b32[j], "f32 output {j}: error {e32:e} > bound {:e}", b32[j]);
            assert!(
                e64 <= 2.0 * b64[j],
                "f64 output {j}: error {e64:e} > bound {:e}",
                2.0 * b64[j]
            );
            worst = (worst.0.max(e32), worst.1.max(e64));
        }
    }
    eprintln!("largest |stackprop − reference|: f32 {:e}, f64 {:e}", worst.0, worst.1);
    // A transposed weight or a swapped tensor errs by ~0.1: far outside.
    assert!(worst.0 < 1e-6 && worst.1 < 1e-14);
}

/// A safetensors file as the reference serializer writes it (see
/// tools/make_torch_fixture.py): tensors ordered by dtype size then name,
/// compact JSON, header padded with spaces to a multiple of 8.
fn write_safetensors(tensors: &[(&str, &str, &[u64], Vec<u8>)], metadata: Option<&str>) -> Vec<u8> {
    let size = |d: &str| {
        if d == "F64" {
            8
        } else if d == "F16" {
            2
        } else {
            4
        }
    };
    let mut order: Vec<_> = tensors.iter().collect();
    order.sort_by(|a, b| size(b.1).cmp(&size(a.1)).then(a.0.cmp(b.0)));
    let mut json = String::from("{");
    if let Some(m) = metadata {
        json += &format!("\"__metadata__\":{m},");
    }
    let mut off = 0;
    let mut data = Vec::new();
    for (k, (name, dtype, shape, bytes)) in order.iter().enumerate() {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        json += &format!(
            "{}\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{off},{}]}}",
            if k > 0 { "," } else { "" },
            dims.join(","),
            off + bytes.len()
        );
        off += bytes.len();
        data.extend_from_slice(bytes);
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&data);
    out
}

fn le32(v: impl IntoIterator<Item = f32>) -> Vec<u8> {
    v.into_iter().flat_map(f32::to_le_bytes).collect()
}

/// The fixture's tensors read back out of a loaded model (row-major).
fn torch_tensors(n: &TorchNet<f32>) -> Vec<(&'static str, &'static str, &'static [u64], Vec<u8>)> {
    let (l1, (_, l2)) = n;
    vec![
        ("0.weight", "F32", &[8, 4], le32(l1.weight.transpose().iter().copied())),
        ("0.bias", "F32", &[8], le32(l1.bias.iter().copied())),
        ("2.weight", "F32", &[3, 8], le32(l2.weight.transpose().iter().copied())),
        ("2.bias", "F32", &[3], le32(l2.bias.iter().copied())),
    ]
}

fn loaded() -> TorchNet<f32> {
    let mut n = TorchNet::<f32>::default();
    torch::load(&mut n, TORCH_MLP).unwrap();
    n
}

#[test]
fn the_test_writer_reproduces_the_fixture_byte_for_byte() {
    // So the files built below are what PyTorch + safetensors would write.
    assert_eq!(write_safetensors(&torch_tensors(&loaded()), Some(r#"{"format":"pt"}"#)), TORCH_MLP);
}

/// Loads `file` into a model of type `M` that starts non-zero, checking it
/// is unchanged on error.
fn try_load<M: Arch + Params<f32> + Default>(file: &[u8], prefix: &str) -> Result<(), TorchError> {
    let mut m = M::default();
    fill(&mut m, || 0x3F80_0000); // all 1.0
    let before = param_bytes(&m);
    let r = torch::load_prefixed(&mut m, file, prefix);
    if r.is_err() {
        assert_eq!(param_bytes(&m), before, "model changed on {r:?}");
    }
    r
}

#[test]
fn torch_errors_name_what_is_wrong() {
    let net = loaded();
    let t = torch_tensors(&net);
    let name = Name::new;

    // Another architecture.
    assert_eq!(
        try_load::<Seq![Linear<f32, 4, 16>, Relu, Linear<f32, 16, 3>]>(TORCH_MLP, ""),
        Err(TorchError::WrongShape {
            name: name("0.bias"),
            expected: Shape::new(&[16]),
            found: Shape::new(&[8])
        })
    );
    assert_eq!(
        try_load::<Seq![Linear<f32, 3, 8>, Relu, Linear<f32, 8, 3>]>(TORCH_MLP, "")
            .unwrap_err()
            .to_string(),
        "tensor 0.weight has shape [8, 4], the model needs [8, 3]"
    );
    assert_eq!(
        try_load::<Seq![LinearNoBias<f32, 4, 8>, Relu, Linear<f32, 8, 3>]>(TORCH_MLP, ""),
        Err(TorchError::UnexpectedTensor { name: name("0.bias") })
    );
    assert_eq!(
        try_load::<Seq![Linear<f32, 4, 8>, Linear<f32, 8, 3>]>(TORCH_MLP, ""),
        Err(TorchError::UnexpectedTensor { name: name("2.bias") })
    );
    assert_eq!(
        try_load::<Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>, Relu, Linear<f32, 3, 3>]>(
            TORCH_MLP, ""
        ),
        Err(TorchError::MissingTensor { name: name("4.weight") })
    );
    assert_eq!(
        try_load::<TorchNet<f32>>(TORCH_MLP, "net."),
        Err(TorchError::UnexpectedTensor { name: name("0.bias") })
    );

    // A prefixed state dict (the Sequential as attribute `net`).
    let prefixed: Vec<_> =
        t.iter().map(|(n, d, s, b)| (format!("net.{n}"), *d, *s, b.clone())).collect();
    let prefixed: Vec<_> =
        prefixed.iter().map(|(n, d, s, b)| (n.as_str(), *d, *s, b.clone())).collect();
    let f = write_safetensors(&prefixed, None);
    assert_eq!(try_load::<TorchNet<f32>>(&f, "net."), Ok(()));
    assert_eq!(
        try_load::<TorchNet<f32>>(&f, ""),
        Err(TorchError::UnexpectedTensor { name: name("net.0.bias") })
    );

    // Missing, wrong dtype, non-finite.
    let f = write_safetensors(&t[..3], None);
    assert_eq!(
        try_load::<TorchNet<f32>>(&f, ""),
        Err(TorchError::MissingTensor { name: name("2.bias") })
    );
    let mut v = t.clone();
    v[3] = ("2.bias", "F64", &[3], vec![0; 24]);
    let f = write_safetensors(&v, None);
    let e = try_load::<TorchNet<f32>>(&f, "").unwrap_err();
    assert_eq!(
        e,
        TorchError::WrongDtype {
            name: name("2.bias"),
            expected: ScalarType::F32,
            found: Dtype::F64
        }
    );
    assert_eq!(e.to_string(), "tensor 2.bias has dtype F64, the f32 model needs F32");
    let mut m64 = TorchNet::<f64>::default();
    assert_eq!(torch::load(&mut m64, &f), Ok(())); // F64 into f64 is fine
    v[3] = ("2.bias", "F16", &[3], vec![0; 6]);
    let f = write_safetensors(&v, None);
    assert_eq!(
        torch::load(&mut m64, &f),
        Err(TorchError::WrongDtype {
            name: name("2.bias"),
            expected: ScalarType::F64,
            found: Dtype::Other(name("F16"))
        })
    );
    let mut v = t.clone();
    v[2].3[4 * 9..4 * 10].copy_from_slice(&f32::NAN.to_le_bytes());
    let f = write_safetensors(&v, None);
    assert_eq!(
        try_load::<TorchNet<f32>>(&f, ""),
        Err(TorchError::NonFinite { name: name("2.weight"), index: 9 })
    );

    // Hand-made headers: duplicate, overlap, bad offsets, unused bytes.
    let file = |json: &str, data: usize| {
        let mut out = (json.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(json.as_bytes());
        out.extend(std::iter::repeat_n(0u8, data));
        out
    };
    let e = |n: &str, off: usize| {
        format!(r#""{n}":{{"dtype":"F32","shape":[2],"data_offsets":[{off},{}]}}"#, off + 8)
    };
    let ew = |off: usize| {
        format!(r#""0.weight":{{"dtype":"F32","shape":[2,1],"data_offsets":[{off},{}]}}"#, off + 8)
    };
    type L12 = Linear<f32, 1, 2>;
    let ok = file(&format!("{{{},{}}}", ew(0), e("0.bias", 8)), 16);
    assert_eq!(try_load::<L12>(&ok, ""), Ok(()));
    assert_eq!(
        try_load::<L12>(
            &file(&format!("{{{},{},{}}}", ew(0), e("0.bias", 8), e("0.bias", 8)), 16),
            ""
        ),
        Err(TorchError::DuplicateTensor { name: name("0.bias") })
    );
    assert_eq!(
        try_load::<L12>(&file(&format!("{{{},{}}}", ew(0), e("0.bias", 4)), 16), ""),
        Err(TorchError::Overlap { name: name("0.weight"), other: name("0.bias") })
    );
    assert_eq!(
        try_load::<L12>(&file(&format!("{{{},{}}}", ew(0), e("0.bias", 12)), 16), ""),
        Err(TorchError::BadOffsets {
            name: name("0.bias"),
            begin: 12,
            end: 20,
            needed: 8,
            data_len: 16
        })
    );
    assert_eq!(
        try_load::<L12>(&file(&format!("{{{},{}}}", ew(0), e("0.bias", 8)), 20), ""),
        Err(TorchError::UnusedData { used: 16, data_len: 20 })
    );
    assert!(matches!(
        try_load::<L12>(&file(r#"{"0.weight":{"dtype":"F32","shape":[2,1]}}"#, 0), ""),
        Err(TorchError::Json { what: "tensor entry has no data_offsets", .. })
    ));
}

// ------------------------------------------- malformed safetensors files

#[derive(Clone, Debug)]
enum StDamage {
    Truncate(usize),
    Extend(Vec<u8>),
    /// 1 to 3 bits flipped anywhere.
    Flip(Vec<usize>),
    /// One byte of the JSON header set to a printable character.
    HeaderChar(usize, u8),
    /// The 8-byte header length replaced.
    HeaderLen(u64),
    /// One f32 of the data section replaced by an arbitrary bit pattern.
    SetValue(usize, u32),
    Random(Vec<u8>),
    /// A plausible length prefix, then random bytes.
    LenThenRandom(Vec<u8>),
}

fn st_damage() -> impl Strategy<Value = StDamage> {
    let n = TORCH_MLP.len();
    let h = u64::from_le_bytes(TORCH_MLP[..8].try_into().unwrap()) as usize;
    prop_oneof![
        (0..n).prop_map(StDamage::Truncate),
        prop::collection::vec(any::<u8>(), 1..40).prop_map(StDamage::Extend),
        prop::collection::btree_set(0..n * 8, 1..=3)
            .prop_map(|s| StDamage::Flip(s.into_iter().collect())),
        (8..8 + h, 0x20u8..0x7F).prop_map(|(i, c)| StDamage::HeaderChar(i, c)),
        prop_oneof![any::<u64>(), 0..(n as u64 + 8)].prop_map(StDamage::HeaderLen),
        (0..(n - 8 - h) / 4, f32_bits()).prop_map(|(i, v)| StDamage::SetValue(i, v)),
        prop::collection::vec(any::<u8>(), 0..700).prop_map(StDamage::Random),
        prop::collection::vec(any::<u8>(), 0..700).prop_map(StDamage::LenThenRandom),
    ]
}

fn st_apply(d: &StDamage) -> Vec<u8> {
    let h = u64::from_le_bytes(TORCH_MLP[..8].try_into().unwrap()) as usize;
    let mut b = TORCH_MLP.to_vec();
    match d {
        StDamage::Truncate(n) => b.truncate(*n),
        StDamage::Extend(x) => b.extend_from_slice(x),
        StDamage::Flip(bits) => bits.iter().for_each(|&p| b[p / 8] ^= 1 << (p % 8)),
        StDamage::HeaderChar(i, c) => b[*i] = *c,
        StDamage::HeaderLen(n) => b[..8].copy_from_slice(&n.to_le_bytes()),
        StDamage::SetValue(i, v) => {
            b[8 + h + 4 * i..8 + h + 4 * i + 4].copy_from_slice(&v.to_le_bytes())
        }
        StDamage::Random(x) => b = x.clone(),
        StDamage::LenThenRandom(x) => {
            b = ((x.len() as u64).saturating_sub(x.len() as u64 % 13)).to_le_bytes().to_vec();
            b.extend_from_slice(x);
        }
    }
    b
}

/// The model the fixture's original offsets would give from `b`'s data
/// section: what a still-valid damaged file must load.
fn decode_at_original_offsets(b: &[u8]) -> Vec<u8> {
    let h = u64::from_le_bytes(TORCH_MLP[..8].try_into().unwrap()) as usize;
    let d = &b[8 + h..];
    let f = |k: usize| f32::from_le_bytes(d[4 * k..4 * k + 4].try_into().unwrap());
    // Data order in the fixture: 0.bias [0,8), 0.weight [8,40), 2.bias
    // [40,43), 2.weight [43,67) (f32 indices).
    let mut n = TorchNet::<f32>::default();
    n.0.bias = SMatrix::from_fn(|o, _| f(o));
    n.0.weight = SMatrix::from_fn(|o, i| f(8 + o * 4 + i));
    n.1.1.bias = SMatrix::from_fn(|o, _| f(40 + o));
    n.1.1.weight = SMatrix::from_fn(|o, i| f(43 + o * 8 + i));
    param_bytes(&n)
}

/// 12,000 damaged safetensors files: an error with the model unchanged, or
/// a valid file loaded exactly. Never a panic.
#[test]
fn malformed_safetensors_never_panic_and_never_half_load() {
    const CASES: u32 = 12_000;
    let h = u64::from_le_bytes(TORCH_MLP[..8].try_into().unwrap()) as usize;
    let counts = RefCell::new(BTreeMap::<String, usize>::new());
    let mut runner =
        TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&st_damage(), |d| {
            let b = st_apply(&d);
            let mut m = TorchNet::<f32>::default();
            fill(&mut m, || 0x4000_0000); // all 2.0
            let before = param_bytes(&m);
            let r = torch::load(&mut m, &b);
            let kind = match &r {
                Ok(()) => "Ok".to_string(),
                Err(e) => format!("{e:?}").split([' ', '{']).next().unwrap().to_string(),
            };
            *counts.borrow_mut().entry(kind).or_default() += 1;
            match &r {
                Ok(()) => {
                    prop_assert!(b.len() == TORCH_MLP.len());
                    prop_assert_eq!(param_bytes(&m), decode_at_original_offsets(&b));
                }
                Err(_) => prop_assert_eq!(param_bytes(&m), before, "model changed on {:?}", r),
            }
            match &d {
                StDamage::Truncate(_) | StDamage::Extend(_) => prop_assert!(r.is_err()),
                StDamage::SetValue(i, v) => {
                    if f32::from_bits(*v).is_finite() {
                        prop_assert_eq!(r, Ok(()));
                    } else {
                        prop_assert!(
                            matches!(r, Err(TorchError::NonFinite { .. })),
                            "{:?} at {}",
                            r,
                            i
                        );
                    }
                }
                StDamage::HeaderLen(n) if *n != h as u64 => prop_assert!(r.is_err()),
                _ => {}
            }
            Ok(())
        })
        .unwrap();
    let counts = counts.into_inner();
    eprintln!("safetensors outcomes over {CASES} damaged files: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), CASES as usize);
    for kind in
        ["Ok", "Truncated", "Json", "UnexpectedTensor", "BadOffsets", "UnusedData", "NonFinite"]
    {
        assert!(counts.get(kind).copied().unwrap_or(0) > 0, "no {kind} among {counts:?}");
    }
}

// ------------------------------------ a second writer of the same format

/// fuzz/make_seeds.py writes weight files from the format table in the
/// docs of `stackprop::io` alone (Python struct + zlib.crc32). Our `save`
/// must write the same bytes, and `load` must read them.
#[test]
fn independent_python_writer_agrees_with_save() {
    type Net = Seq![
        Linear<f32, 4, 8>,
        LeakyRelu<f32>,
        LinearNoBias<f32, 8, 5>,
        Tanh,
        Linear<f32, 5, 3>,
        Sigmoid
    ];
    // The values of fuzz/fuzz_targets/load_weights.rs's `net()`.
    let net: Net = seq![
        Linear::from_fn(|o, i| (o * 4 + i) as f32 * 0.125 - 2.0, |o| o as f32),
        LeakyRelu::new(0.1).unwrap(),
        LinearNoBias::from_fn(|o, i| (o + i) as f32),
        Tanh,
        Linear::from_fn(|o, i| (o as f32) - (i as f32), |o| -(o as f32)),
        Sigmoid
    ];
    let python = include_bytes!("../fuzz/seeds/load_weights/net_f32.spw");
    let mut ours = [0u8; file_size::<f32, Net>()];
    save(&net, &mut ours).unwrap();
    assert_eq!(&ours[..], &python[..]);

    type Net64 = Seq![Linear<f64, 3, 4>, Relu, Linear<f64, 4, 2>];
    let python = include_bytes!("../fuzz/seeds/load_weights/net_f64.spw");
    let mut m = Net64::default();
    m.0.bias[2] = 1.0;
    load(&mut m, python).unwrap();
    assert_eq!(m, Net64::default());
}

/// A prefixed state dict with an F64 tensor and a bias-free last layer
/// (fuzz/seeds/load_safetensors/prefixed_f64.safetensors, written by
/// fuzz/make_seeds.py) loads into an f64 model.
#[test]
fn prefixed_mixed_dtype_state_dict() {
    let file = include_bytes!("../fuzz/seeds/load_safetensors/prefixed_f64.safetensors");
    let mut m: Seq![Linear<f64, 4, 8>, Relu, LinearNoBias<f64, 8, 3>] = Default::default();
    torch::load_prefixed(&mut m, file, "net.").unwrap();
    assert!(m.0.weight.iter().all(|&w| w == 0.5));
    assert!(m.0.bias.iter().all(|&b| b == 0.25));
    assert!(m.1.1.weight.iter().all(|&w| w == -1.0));
    let mut m32: Seq![Linear<f32, 4, 8>, Relu, LinearNoBias<f32, 8, 3>] = Default::default();
    assert_eq!(
        torch::load_prefixed(&mut m32, file, "net."),
        Err(TorchError::WrongDtype {
            name: Name::new("net.0.bias"),
            expected: ScalarType::F32,
            found: Dtype::F64
        })
    );
}
