//! Weight files and PyTorch import: round trips, every error, malformed
//! input (≥ 10,000 blobs per loader, and more for version-1 files),
//! version-1 files written by the previous version of the crate, nested
//! blocks and tensors of every element type, and a PyTorch network's
//! outputs.

// The errors carry their texts in fixed buffers (no allocator): large.
#![allow(clippy::result_large_err)]

use nalgebra::SMatrix;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stackprop::io::crc::crc32;
use stackprop::io::torch::{self, Dtype, Name, Shape, TorchError};
use stackprop::io::{Header, LoadError, SaveError, file_size, load, save};
use stackprop::module::{AnyScalar, Desc, Dtype as ElemType, Elem, Value};
use stackprop::prelude::*;
use stackprop::rng::Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

// ---------------------------------------------------------------- helpers

/// Every tensor of a model as little-endian bytes, in tensor order: the
/// bit-exact identity of its values (and, by the format, the data section
/// of its weight file).
fn tensor_bytes<M: Module>(m: &M) -> Vec<u8> {
    (0..M::SIZE.tensors)
        .flat_map(|i| data_bytes(m.tensor(i).expect("a tensor the model counts")))
        .collect()
}

/// One tensor's values as little-endian bytes.
fn data_bytes(d: Data<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    match d {
        Data::F32(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Data::F64(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Data::I8(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Data::I16(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Data::I32(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Data::I64(s) => s.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        Data::U8(s) => out.extend_from_slice(s),
        d => panic!("a tensor of {}", d.dtype()),
    }
    out
}

/// Sets every value from `bits` (floats: a finite value of any bit pattern,
/// normal, subnormal, ±0, extremes; a non-finite pattern becomes -0.0;
/// integers: the low bits).
fn fill<M: Module>(m: &mut M, mut bits: impl FnMut() -> u64) {
    for i in 0..M::SIZE.tensors {
        match m.tensor_mut(i).expect("a tensor the model counts") {
            DataMut::F32(s) => s.iter_mut().for_each(|v| {
                let x = f32::from_bits(bits() as u32);
                *v = if x.is_finite() { x } else { -0.0 };
            }),
            DataMut::F64(s) => s.iter_mut().for_each(|v| {
                let x = f64::from_bits(bits());
                *v = if x.is_finite() { x } else { -0.0 };
            }),
            DataMut::I8(s) => s.iter_mut().for_each(|v| *v = bits() as i8),
            DataMut::I16(s) => s.iter_mut().for_each(|v| *v = bits() as i16),
            DataMut::I32(s) => s.iter_mut().for_each(|v| *v = bits() as i32),
            DataMut::I64(s) => s.iter_mut().for_each(|v| *v = bits() as i64),
            DataMut::U8(s) => s.iter_mut().for_each(|v| *v = bits() as u8),
            d => panic!("a tensor of {}", d.dtype()),
        }
    }
}

/// Sets every value to `x` (integers to `x` truncated).
fn fill_with<M: Module>(m: &mut M, x: f64) {
    for i in 0..M::SIZE.tensors {
        match m.tensor_mut(i).expect("a tensor the model counts") {
            DataMut::F32(s) => s.fill(x as f32),
            DataMut::F64(s) => s.fill(x),
            DataMut::I8(s) => s.fill(x as i8),
            DataMut::I16(s) => s.fill(x as i16),
            DataMut::I32(s) => s.fill(x as i32),
            DataMut::I64(s) => s.fill(x as i64),
            DataMut::U8(s) => s.fill(x as u8),
            d => panic!("a tensor of {}", d.dtype()),
        }
    }
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

/// `model` saved into a vector of exactly its file's size.
fn saved<M: Module>(model: &M) -> Vec<u8> {
    let mut b = vec![0u8; file_size::<M>()];
    assert_eq!(save(model, &mut b), Ok(b.len()));
    b
}

/// Loads `b` into `m`, checking that `m` is unchanged (bit for bit) on
/// error.
fn load_checked<M: Module>(m: &mut M, b: &[u8]) -> Result<(), LoadError> {
    let before = tensor_bytes(m);
    let r = load(m, b);
    if r.is_err() {
        assert_eq!(tensor_bytes(m), before, "model changed on {r:?}");
    }
    r
}

fn name(s: &str) -> Name {
    Name::new(s)
}

fn mismatch(at: &str, expected: &str, found: &str) -> LoadError {
    LoadError::LayerMismatch { at: name(at), expected: name(expected), found: name(found) }
}

/// The test's own writer of version-2 records, from the table in the docs
/// of `stackprop::io` (a third writer besides `save` and
/// fuzz/make_seeds.py), for files `save` cannot or will not write.
mod rec {
    pub type Record = [u8; 64];

    pub fn record(tag: u8, name: &str, payload: &[u8]) -> Record {
        let mut r = [0u8; 64];
        r[0] = tag;
        r[8..8 + name.len()].copy_from_slice(name.as_bytes());
        r[40..40 + payload.len()].copy_from_slice(payload);
        r
    }
    pub fn node(kind: &str, hypers: u32, tensors: u32, children: u32) -> Record {
        let p: Vec<u8> = [hypers, tensors, children].iter().flat_map(|v| v.to_le_bytes()).collect();
        record(1, kind, &p)
    }
    pub fn scalar(name: &str, code: u8) -> Record {
        record(2, name, &[code])
    }
    pub fn dim(name: &str, v: u64) -> Record {
        record(3, name, &v.to_le_bytes())
    }
    pub fn value(name: &str, code: u8, bits: u64) -> Record {
        let mut p = [0u8; 16];
        p[0] = code;
        p[8..].copy_from_slice(&bits.to_le_bytes());
        record(4, name, &p)
    }
    pub fn tensor(name: &str, kind: u8, elem: u8, dims: &[u32]) -> Record {
        let mut p = vec![kind, elem, dims.len() as u8, 0];
        p.extend(dims.iter().flat_map(|d| d.to_le_bytes()));
        record(5, name, &p)
    }
    pub fn child(name: &str, entries: u64) -> Record {
        record(6, name, &entries.to_le_bytes())
    }
    /// The six records of a `Linear<f32 or f64, i, o>`.
    pub fn linear(code: u8, i: u32, o: u32) -> Vec<Record> {
        let t = if code == 1 { "f32" } else { "f64" };
        vec![
            node("Linear", 3, 2, 0),
            scalar(t, code),
            dim("in", i.into()),
            dim("out", o.into()),
            tensor("weight", 1, code, &[o, i]),
            tensor("bias", 2, code, &[o]),
        ]
    }
    /// A version-2 file.
    pub fn file(records: &[Record], data: &[u8], tensors: u32) -> Vec<u8> {
        let mut b = super::MAGIC.to_vec();
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&(records.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u64).to_le_bytes());
        b.extend_from_slice(&tensors.to_le_bytes());
        b.extend_from_slice(&super::crc32(&b).to_le_bytes());
        records.iter().for_each(|r| b.extend_from_slice(r));
        b.extend_from_slice(data);
        b.extend_from_slice(&super::crc32(&b).to_le_bytes());
        b
    }
}

const MAGIC: [u8; 8] = *b"\x89SPW\r\n\x1a\n";

/// The test's own writer of version-1 files, from the table in the docs of
/// `stackprop::io` at commit 1e54590: kind codes, `(kind, in, out, slope)`
/// entries, parameters as bytes.
fn v1_file(scalar: u8, layers: &[(u8, u64, u64, f64)], params: &[u8]) -> Vec<u8> {
    let s = if scalar == 2 { 8 } else { 4 };
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&[scalar, 0]);
    b.extend_from_slice(&(layers.len() as u32).to_le_bytes());
    b.extend_from_slice(&((params.len() / s) as u64).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&crc32(&b).to_le_bytes());
    for &(kind, i, o, slope) in layers {
        b.push(kind);
        b.extend_from_slice(&[0; 7]);
        b.extend_from_slice(&i.to_le_bytes());
        b.extend_from_slice(&o.to_le_bytes());
        b.extend_from_slice(&slope.to_le_bytes());
    }
    b.extend_from_slice(params);
    b.extend_from_slice(&crc32(&b).to_le_bytes());
    b
}

// ----------------------------------------------------------------- models

type NetA = Seq![
    Linear<f32, 4, 8>,
    LeakyRelu<f32>,
    LinearNoBias<f32, 8, 5>,
    Tanh,
    Linear<f32, 5, 3>,
    Sigmoid
];
type NetB = Seq![Linear<f64, 3, 4>, Relu, Linear<f64, 4, 2>, Identity];

/// Records of NetA: Linear 6 (node, scalar, in, out, weight, bias),
/// LeakyRelu 3 (node, scalar, slope), LinearNoBias 5, Tanh 1, Linear 6,
/// Sigmoid 1.
const A_RECORDS: usize = 6 + 3 + 5 + 1 + 6 + 1;
const A_BYTES: usize = file_size::<NetA>();
const A_PARAMS_AT: usize = 32 + 64 * A_RECORDS;
const A_PARAMS: usize = 32 + 8 + 40 + 15 + 3;

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
    saved(&net_a(1, 0.1))
}

/// A model with a residual block (`2.inner.…`), as in
/// fuzz/fuzz_targets/load_weights.rs (`nested()` has the same values).
type Nested = Seq![
    Linear<f32, 2, 3>,
    Tanh,
    Residual<Seq![Linear<f32, 3, 3>, Tanh]>,
    LeakyRelu<f32>,
    Linear<f32, 3, 1>
];

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

/// A layer of this test, not of the crate (a layer defined outside the
/// crate saves and loads like a built-in one): integer and float tensors
/// of ranks 0 to 3, and values of three types. Described exactly as the
/// docstring of `net_mixed` in fuzz/make_seeds.py says.
#[derive(Clone, Debug, Default, PartialEq)]
struct Quant {
    shift: i64,
    symmetric: bool,
    scale: f64,
    weight: [i8; 6],
    bias: [i32; 2],
    zero: [u8; 1],
    table: [i16; 8],
    count: [i64; 1],
    gain: [f64; 2],
}

impl Module for Quant {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("Quant")
        .scalar::<i8>()
        .dim("in", 3)
        .dim("out", 2)
        .value("shift")
        .value("symmetric")
        .value("scale")
        .tensor::<i8>("weight", ParamKind::Buffer, &[2, 3])
        .tensor::<i32>("bias", ParamKind::Buffer, &[2])
        .tensor::<u8>("zero", ParamKind::Buffer, &[])
        .tensor::<i16>("table", ParamKind::Buffer, &[2, 2, 2])
        .tensor::<i64>("count", ParamKind::Buffer, &[1])
        .tensor::<f64>("gain", ParamKind::Buffer, &[2]);

    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        Some(match i {
            0 => Data::I8(&self.weight),
            1 => Data::I32(&self.bias),
            2 => Data::U8(&self.zero),
            3 => Data::I16(&self.table),
            4 => Data::I64(&self.count),
            5 => Data::F64(&self.gain),
            _ => return None,
        })
    }

    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        Some(match i {
            0 => DataMut::I8(&mut self.weight),
            1 => DataMut::I32(&mut self.bias),
            2 => DataMut::U8(&mut self.zero),
            3 => DataMut::I16(&mut self.table),
            4 => DataMut::I64(&mut self.count),
            5 => DataMut::F64(&mut self.gain),
            _ => return None,
        })
    }

    fn value(&self, k: usize) -> Option<Value> {
        match k {
            0 => Some(Value::I64(self.shift)),
            1 => Some(Value::Bool(self.symmetric)),
            2 => Some(Value::F64(self.scale)),
            _ => None,
        }
    }
}

/// A `Quant` with the values of fuzz/make_seeds.py's and zero tensors.
fn quant_empty() -> Quant {
    Quant { shift: -3, symmetric: true, scale: 0.1, ..Quant::default() }
}

/// The `Quant` of fuzz/make_seeds.py's `net_mixed`.
fn quant() -> Quant {
    Quant {
        // (o, i) at o + 2·i: -128 + 100·i + 51·o
        weight: [-128, -77, -28, 23, 72, 123],
        bias: [i32::MIN, i32::MAX],
        zero: [255],
        table: [-32768, 1, 2, 3, 4, 5, 6, 32767],
        count: [i64::MIN],
        gain: [1.0 / 3.0, -0.0],
        ..quant_empty()
    }
}

type Mixed = Seq![Linear<f32, 3, 2>, Quant, Residual<Seq![Linear<f32, 2, 2>, Tanh]>];

/// The model of fuzz/seeds/load_weights/net_mixed.spw.
fn mixed() -> Mixed {
    seq![
        Linear::from_fn(|o, i| 0.5 * (o + 2 * i) as f32, |o| -(o as f32)),
        quant(),
        Residual::new(seq![
            Linear::from_fn(|o, i| if o == i { 1.0 } else { 0.0 }, |_| 0.125),
            Tanh
        ])
    ]
}

fn mixed_empty() -> Mixed {
    seq![Linear::zeros(), quant_empty(), Residual::new(seq![Linear::zeros(), Tanh])]
}

/// A layer whose one value may be missing (a broken `Module::value`).
#[derive(Clone, Debug, Default, PartialEq)]
struct Gain {
    g: Option<f32>,
}

impl Module for Gain {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("Gain").value("g");
    fn value(&self, k: usize) -> Option<Value> {
        if k == 0 { self.g.map(Value::F32) } else { None }
    }
}

/// A layer whose description says two tensors of 2 values, and whose
/// `tensor(0)` hands out `n` values, `tensor_mut(0)` `n_mut` (a `Module`
/// implementation that disagrees with itself unless both are 2).
#[derive(Clone, Debug, PartialEq)]
struct Liar {
    w: [f32; 8],
    b: [f32; 2],
    n: usize,
    n_mut: usize,
}

impl Liar {
    fn new(n: usize, n_mut: usize) -> Self {
        Liar { w: [1.0; 8], b: [1.0; 2], n, n_mut }
    }
}

impl Module for Liar {
    type Scalar = f32;
    const DESC: Desc = Desc::new("Liar")
        .tensor::<f32>("weight", ParamKind::Weight, &[2])
        .tensor::<f32>("bias", ParamKind::Bias, &[2]);
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(Data::F32(&self.w[..self.n])),
            1 => Some(Data::F32(&self.b)),
            _ => None,
        }
    }
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(DataMut::F32(&mut self.w[..self.n_mut])),
            1 => Some(DataMut::F32(&mut self.b)),
            _ => None,
        }
    }
}

/// Eight residual blocks around a layer: its path `0.inner.0.inner.….0`
/// has 17 steps, one more than `module::MAX_DEPTH`.
type Deep8 = Residual<Deep7>;
type Deep7 =
    Residual<Residual<Residual<Residual<Residual<Residual<Residual<Linear<f32, 1, 1>>>>>>>>;

// ------------------------------------------------------------ round trips

#[test]
fn file_size_is_exact_and_const() {
    const N: usize = file_size::<NetA>();
    assert_eq!(<NetA as Module>::SIZE.records, A_RECORDS);
    assert_eq!(N, 36 + 64 * 22 + 4 * A_PARAMS);
    assert_eq!(N, 1836);
    assert_eq!(file_size::<NetB>(), 36 + 64 * (6 + 1 + 6 + 1) + 8 * (12 + 4 + 8 + 2));
    // Residual: a node and a child record.
    assert_eq!(file_size::<Nested>(), 36 + 64 * (6 + 1 + 2 + 6 + 1 + 3 + 6) + 4 * (9 + 12 + 4));
    // Quant: node, scalar, 2 dims, 3 values, 6 tensors; 6 + 8 + 1 + 16 + 8
    // + 16 bytes of values.
    assert_eq!(
        file_size::<Mixed>(),
        36 + 64 * (6 + 13 + 2 + 6 + 1) + 4 * 8 + (6 + 8 + 1 + 16 + 8 + 16) + 4 * 6
    );
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
        // The data section is the tensors, little-endian, in order.
        prop_assert_eq!(&buf[A_PARAMS_AT..A_BYTES - 4], &tensor_bytes(&net)[..]);
        let mut back = net_a(99, slope);
        prop_assert_eq!(load(&mut back, &buf), Ok(()));
        prop_assert_eq!(tensor_bytes(&back), tensor_bytes(&net));
    }

    #[test]
    fn round_trip_f64_is_bit_exact(values in prop::collection::vec(any::<u64>(), 26)) {
        let mut net = NetB::default();
        let mut it = values.iter().copied();
        fill(&mut net, || it.next().unwrap());
        let mut buf = [0u8; file_size::<NetB>()];
        prop_assert_eq!(save(&net, &mut buf), Ok(buf.len()));
        let mut back = NetB::default();
        prop_assert_eq!(load(&mut back, &buf), Ok(()));
        prop_assert_eq!(tensor_bytes(&back), tensor_bytes(&net));
    }

    /// Every element type, a rank-0 and a rank-3 tensor, values of three
    /// types, a residual block.
    #[test]
    fn round_trip_mixed_and_nested_is_bit_exact(
        values in prop::collection::vec(any::<u64>(), <Mixed as Module>::SIZE.len)
    ) {
        let mut net = mixed();
        let mut it = values.iter().copied();
        fill(&mut net, || it.next().unwrap());
        let b = saved(&net);
        let mut back = mixed_empty();
        prop_assert_eq!(load(&mut back, &b), Ok(()));
        prop_assert_eq!(tensor_bytes(&back), tensor_bytes(&net));
        prop_assert_eq!(&back.1.0, &net.1.0);
        prop_assert_eq!(saved(&back), b);
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
    let buf = saved(&net);
    let mut back = net_a(5, 0.01);
    load(&mut back, &buf).unwrap();
    assert_eq!(tensor_bytes(&back), tensor_bytes(&net));
    assert_eq!(back.1.0.alpha(), 0.01); // the default slope, as saved

    let specials =
        [0.0f64, -0.0, f64::MIN_POSITIVE, 5e-324, -5e-324, f64::MAX, f64::MIN, 1.0 / 3.0, 0.1];
    let mut net = NetB::default();
    let mut k = 0;
    fill(&mut net, || {
        k += 1;
        specials[k % specials.len()].to_bits()
    });
    let mut back = NetB::default();
    load(&mut back, &saved(&net)).unwrap();
    assert_eq!(tensor_bytes(&back), tensor_bytes(&net));
}

/// A residual block and every element type round-trip; the file is what
/// the test's own writer of the documented records makes.
#[test]
fn nested_and_mixed_models_round_trip() {
    let net = nested();
    let b = saved(&net);
    let mut back = Nested::default();
    back.1.1.1.0 = LeakyRelu::new(0.25).unwrap();
    assert_eq!(load_checked(&mut back, &b), Ok(()));
    assert_eq!(tensor_bytes(&back), tensor_bytes(&net));
    assert_eq!(back, net);

    let m = mixed();
    let b = saved(&m);
    let mut back = mixed_empty();
    assert_eq!(load_checked(&mut back, &b), Ok(()));
    assert_eq!(back, m);
    assert_eq!(tensor_bytes(&back), tensor_bytes(&m));
    assert_eq!(back.1.0.gain[1].to_bits(), (-0.0f64).to_bits());

    // The same bytes from the records as the format table describes them.
    let mut records = rec::linear(1, 3, 2);
    records.extend([
        rec::node("Quant", 6, 6, 0),
        rec::scalar("i8", 3),
        rec::dim("in", 3),
        rec::dim("out", 2),
        rec::value("shift", 6, -3i64 as u64),
        rec::value("symmetric", 8, 1),
        rec::value("scale", 2, 0.1f64.to_bits()),
        rec::tensor("weight", 3, 3, &[2, 3]),
        rec::tensor("bias", 3, 5, &[2]),
        rec::tensor("zero", 3, 7, &[]),
        rec::tensor("table", 3, 4, &[2, 2, 2]),
        rec::tensor("count", 3, 6, &[1]),
        rec::tensor("gain", 3, 2, &[2]),
        rec::node("Residual", 0, 0, 1),
        rec::child("inner", 2),
    ]);
    records.extend(rec::linear(1, 2, 2));
    records.push(rec::node("Tanh", 0, 0, 0));
    assert_eq!(rec::file(&records, &tensor_bytes(&m), 10), b);
}

// ----------------------------------------------------------- every error

/// Loads `b` into a fresh NetA and checks the model is unchanged on error.
fn load_a(b: &[u8]) -> Result<(), LoadError> {
    load_checked(&mut net_a(77, 0.1), b)
}

/// `r`'s error and its message.
fn err_text<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn load_errors_name_what_is_wrong() {
    let good = file_a();
    assert_eq!(load_a(&good), Ok(()));

    // The file itself.
    let mut b = good.clone();
    b[1] = b'X';
    assert_eq!(load_a(&b), Err(LoadError::BadMagic));
    assert_eq!(err_text(load_a(&b)), "not a stackprop weight file (wrong magic bytes)");
    assert_eq!(load_a(b"GIF89a"), Err(LoadError::BadMagic));
    assert_eq!(load_a(&good[..3]), Err(LoadError::Truncated { expected: 32, found: 3 }));
    assert_eq!(load_a(&[]), Err(LoadError::Truncated { expected: 32, found: 0 }));
    assert_eq!(load_a(&good[..31]), Err(LoadError::Truncated { expected: 32, found: 31 }));
    assert_eq!(err_text(load_a(&good[..3])), "file is truncated: it should have 32 bytes, has 3");
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
    assert_eq!(
        err_text(load_a(&long)),
        "file has trailing bytes: it should have 1836 bytes, has 1837"
    );

    // The version is read before the header's checksum.
    for v in [0u16, 3, 7, 0x0201] {
        let mut b = good.clone();
        b[8..10].copy_from_slice(&v.to_le_bytes());
        assert_eq!(load_a(&b), Err(LoadError::UnsupportedVersion { found: v }));
        fix_crcs(&mut b);
        assert_eq!(load_a(&b), Err(LoadError::UnsupportedVersion { found: v }));
        assert_eq!(
            err_text(load_a(&b)),
            format!("unsupported format version {v} (this build reads versions 1 and 2)")
        );
    }

    let mut b = good.clone();
    b[20] ^= 0x10;
    let (stored, computed) = (u32::from_le_bytes(b[28..32].try_into().unwrap()), crc32(&b[..28]));
    assert_eq!(load_a(&b), Err(LoadError::HeaderChecksum { stored, computed }));
    assert_eq!(
        err_text(load_a(&b)),
        format!("header is corrupt: checksum {computed:#010x}, header says {stored:#010x}")
    );
    let mut b = good.clone();
    b[A_PARAMS_AT + 5] ^= 0x01;
    let stored = u32::from_le_bytes(b[A_BYTES - 4..].try_into().unwrap());
    let computed = crc32(&b[..A_BYTES - 4]);
    assert_eq!(load_a(&b), Err(LoadError::Checksum { stored, computed }));
    assert_eq!(
        err_text(load_a(&b)),
        format!("file is corrupt: checksum {computed:#010x}, file says {stored:#010x}")
    );
    // A record changed, checksums not: corruption, not a mismatch.
    let mut b = good.clone();
    b[32 + 64 * 14 + 8] = b'R'; // "Tanh" -> "Ranh"
    assert!(matches!(load_a(&b), Err(LoadError::Checksum { .. })));

    for at in [10, 11] {
        let mut b = good.clone();
        b[at] = 0x40;
        fix_crcs(&mut b);
        assert_eq!(load_a(&b), Err(LoadError::ReservedNotZero { offset: at }));
        assert_eq!(err_text(load_a(&b)), format!("reserved byte at offset {at} is not zero"));
    }
    let mut b = good.clone();
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::SizeOverflow));
    assert_eq!(err_text(load_a(&b)), "header sizes overflow the address space");
    // A header claiming more records than the file holds: truncated.
    let mut b = good.clone();
    b[12..16].copy_from_slice(&(A_RECORDS as u32 + 1).to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::Truncated { expected: A_BYTES + 64, found: A_BYTES }));

    // Malformed records, checksums fixed.
    let rec_at = |j: usize| 32 + 64 * j;
    let mut b = good.clone();
    b[rec_at(21) + 1] = 1; // a reserved byte of record 21, the Sigmoid
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::BadRecord { record: 21 }));
    assert_eq!(err_text(load_a(&b)), "record 21 of the architecture signature is malformed");
    let mut b = good.clone();
    b[rec_at(6) + 8] = 0xFF; // "LeakyRelu" is no longer UTF-8
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::BadRecord { record: 6 }));
    let mut b = good.clone();
    b[rec_at(14) + 8 + 6] = b'x'; // "Tanh\0\0x": not padded with zeros
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::BadRecord { record: 14 }));
    let mut b = good.clone();
    b[rec_at(14) + 8] = b'S'; // "Sanh"
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(mismatch("3", "Tanh", "Sanh")));

    // Intact files that do not fit the model.
    let b64 = saved(&NetB::default());
    assert_eq!(
        load_a(&b64),
        Err(mismatch("0", "Linear(f32, in=4, out=8)", "Linear(f64, in=3, out=4)"))
    );
    type Other = Seq![Linear<f32, 4, 8>, LeakyRelu<f32>, LinearNoBias<f32, 8, 5>, Relu, Linear<f32, 5, 3>, Sigmoid];
    let other: Other = seq![
        Linear::zeros(),
        LeakyRelu::new(0.1).unwrap(),
        LinearNoBias::zeros(),
        Relu,
        Linear::zeros(),
        Sigmoid
    ];
    let b = saved(&other);
    assert_eq!(b.len(), A_BYTES);
    assert_eq!(load_a(&b), Err(mismatch("3", "Tanh", "Relu")));
    assert_eq!(
        err_text(load_a(&b)),
        "architecture mismatch at layer 3: the model has Tanh, the file has Relu"
    );

    let b = saved(&net_a(1, 0.3));
    assert_eq!(
        err_text(load_a(&b)),
        "architecture mismatch at layer 1: the model has LeakyRelu(f32, slope=0.1), \
         the file has LeakyRelu(f32, slope=0.3)"
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
    assert_eq!(
        load_a(&saved(&wide)),
        Err(mismatch("0", "Linear(f32, in=4, out=8)", "Linear(f32, in=4, out=9)"))
    );
    let e = err_text(load_a(&saved(&wide)));
    assert_eq!(
        e,
        "architecture mismatch at layer 0: the model has Linear(f32, in=4, out=8), \
         the file has Linear(f32, in=4, out=9)"
    );

    // A file with fewer layers, and one with more.
    let short = saved(&seq![Linear::<f32, 4, 8>::zeros(), LeakyRelu::<f32>::new(0.1).unwrap()]);
    assert_eq!(load_a(&short), Err(mismatch("2", "LinearNoBias(f32, in=8, out=5)", "nothing")));
    assert_eq!(
        err_text(load_a(&short)),
        "architecture mismatch at layer 2: the model has LinearNoBias(f32, in=8, out=5), \
         the file has nothing"
    );
    let long: (NetA, Identity) = (net_a(1, 0.1), Identity);
    assert_eq!(load_a(&saved(&long)), Err(mismatch("6", "nothing", "Identity")));

    // A slope is compared bit for bit: -0.0 is not 0.0.
    let z = saved(&net_a(1, -0.0));
    let mut m = net_a(1, 0.0);
    assert_eq!(
        load_checked(&mut m, &z),
        Err(mismatch("1", "LeakyRelu(f32, slope=0.0)", "LeakyRelu(f32, slope=-0.0)"))
    );
    let mut m = net_a(2, -0.0);
    assert_eq!(load_checked(&mut m, &z), Ok(()));

    // A header claiming 4 bytes more data, with the bytes and checksums to
    // match: every record fits, the data's length does not.
    let mut b = good.clone();
    b.truncate(A_BYTES - 4);
    b.extend_from_slice(&[0; 8]);
    b[16..24].copy_from_slice(&(4 * A_PARAMS as u64 + 4).to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(load_a(&b), Err(LoadError::DataLength { expected: 392, found: 396 }));
    assert_eq!(
        err_text(load_a(&b)),
        "parameter size mismatch: the model's tensors have 392 bytes, the file 396"
    );

    // Non-finite values, checksums fixed: the LinearNoBias weight (layer
    // 2), element 7; the last bias.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::from_bits(0xFF80_0001)] {
        let mut b = good.clone();
        let at = A_PARAMS_AT + 4 * (32 + 8 + 7);
        b[at..at + 4].copy_from_slice(&bad.to_le_bytes());
        fix_crcs(&mut b);
        assert_eq!(load_a(&b), Err(LoadError::NonFinite { tensor: name("2.weight"), index: 7 }));
        assert_eq!(err_text(load_a(&b)), "value 7 of tensor 2.weight is not finite (inf or NaN)");
        let mut b = good.clone();
        b[A_BYTES - 8..A_BYTES - 4].copy_from_slice(&bad.to_le_bytes());
        fix_crcs(&mut b);
        assert_eq!(load_a(&b), Err(LoadError::NonFinite { tensor: name("4.bias"), index: 2 }));
    }
}

/// The errors only a model can cause: a value it does not give, a path too
/// deep, tensors that disagree with their description.
#[test]
fn load_errors_of_the_model() {
    // A value the layer does not give.
    let file = saved(&seq![Linear::<f32, 1, 1>::zeros(), Gain { g: Some(0.5) }]);
    let mut m = seq![Linear::<f32, 1, 1>::from_fn(|_, _| 2.0, |_| 3.0), Gain { g: None }];
    let r = load_checked(&mut m, &file);
    assert_eq!(r, Err(LoadError::Unsupported { layer: name("1") }));
    let mut m = seq![Linear::<f32, 1, 1>::zeros(), Gain { g: Some(0.25) }];
    assert_eq!(load_checked(&mut m, &file), Err(mismatch("1", "Gain(g=0.25)", "Gain(g=0.5)")));

    // Deeper than MAX_DEPTH: a file written by hand (`save` refuses).
    let mut records = Vec::new();
    for _ in 0..8 {
        records.push(rec::node("Residual", 0, 0, 1));
        records.push(rec::child("inner", 1));
    }
    records.extend(rec::linear(1, 1, 1));
    let deep = rec::file(&records, &[0; 8], 2);
    let mut m = Deep8::default();
    assert_eq!(load_checked(&mut m, &deep), Err(LoadError::TooDeep));
    assert_eq!(
        err_text(load_checked(&mut m, &deep)),
        "the model is nested too deeply for a weight file"
    );
    // One level less is fine, and the hand-written file is `save`'s.
    let mut records = Vec::new();
    for _ in 0..7 {
        records.push(rec::node("Residual", 0, 0, 1));
        records.push(rec::child("inner", 1));
    }
    records.extend(rec::linear(1, 1, 1));
    let ok = rec::file(&records, &[0; 8], 2);
    assert_eq!(saved(&Deep7::default()), ok);
    let mut m = Deep7::default();
    fill_with(&mut m, 1.0);
    assert_eq!(load_checked(&mut m, &ok), Ok(()));
    assert_eq!(tensor_bytes(&m), [0; 8]);

    // A tensor longer than its description says.
    let file = saved(&Liar::new(2, 2));
    let mut m = Liar::new(3, 3);
    let r = load_checked(&mut m, &file);
    assert_eq!(r, Err(LoadError::InconsistentModel { tensor: name("0.weight") }));
    assert_eq!(err_text(r), "the model's tensor 0.weight does not match its layer's description");
    assert_eq!(m, Liar::new(3, 3));
}

#[test]
fn save_errors() {
    let mut b = [0u8; 10];
    assert_eq!(
        save(&net_a(1, 0.1), &mut b),
        Err(SaveError::BufferTooSmall { needed: A_BYTES, found: 10 })
    );
    assert_eq!(
        err_text(save(&net_a(1, 0.1), &mut b)),
        "buffer too small: the file needs 1836 bytes, the buffer has 10"
    );
    let mut b = vec![0u8; A_BYTES - 1];
    assert!(matches!(save(&net_a(1, 0.1), &mut b), Err(SaveError::BufferTooSmall { .. })));
    assert!(b.iter().all(|&x| x == 0));

    let mut n = net_a(1, 0.1);
    n.1.1.1.1.0.weight[(2, 1)] = f32::NAN;
    let mut b = vec![0u8; A_BYTES];
    // (2, 1) of a 3-row matrix is element 2 + 1·3 of its column-major tensor.
    let r = save(&n, &mut b);
    assert_eq!(r, Err(SaveError::NonFinite { tensor: name("4.weight"), index: 5 }));
    assert_eq!(err_text(r), "value 5 of tensor 4.weight is not finite (inf or NaN)");
    assert!(b.iter().all(|&x| x == 0));

    // In a block.
    let mut n = nested();
    n.1.1.0.inner.0.bias[2] = f32::NEG_INFINITY;
    let mut b = vec![7u8; file_size::<Nested>()];
    assert_eq!(
        save(&n, &mut b),
        Err(SaveError::NonFinite { tensor: name("2.inner.0.bias"), index: 2 })
    );
    assert!(b.iter().all(|&x| x == 7));
    // In a tensor of the test's own layer.
    let mut m = mixed();
    m.1.0.gain[1] = f64::NAN;
    let mut b = vec![7u8; file_size::<Mixed>()];
    assert_eq!(save(&m, &mut b), Err(SaveError::NonFinite { tensor: name("1.gain"), index: 1 }));
    assert!(b.iter().all(|&x| x == 7));

    // A value the layer does not give.
    let m = seq![Linear::<f32, 1, 1>::zeros(), Gain { g: None }];
    let mut b = vec![7u8; 4096];
    let r = save(&m, &mut b);
    assert_eq!(r, Err(SaveError::Unsupported { layer: name("1") }));
    assert_eq!(err_text(r), "layer 1 cannot be described in a weight file");
    assert!(b.iter().all(|&x| x == 7));

    // Too deep.
    let r = save(&Deep8::default(), &mut b);
    assert_eq!(r, Err(SaveError::TooDeep));
    assert_eq!(err_text(r), "the model is nested too deeply for a weight file");
    assert!(b.iter().all(|&x| x == 7));

    // A tensor that is not what its description says.
    for n in [1, 3] {
        let r = save(&Liar::new(n, 2), &mut b);
        assert_eq!(r, Err(SaveError::InconsistentModel { tensor: name("0.weight") }));
        assert_eq!(
            err_text(r),
            "the model's tensor 0.weight does not match its layer's description"
        );
        assert!(b.iter().all(|&x| x == 7));
    }
}

#[test]
fn header_describes_the_file() {
    let b = file_a();
    let h = Header::read(&b).unwrap();
    assert_eq!((h.version, h.records, h.data, h.len), (2, A_RECORDS, 4 * A_PARAMS, A_BYTES));
    assert_eq!(
        Header::read(&b[..100]),
        Err(LoadError::Truncated { expected: A_BYTES, found: 100 })
    );
    // The number of tensors.
    assert_eq!(&b[24..28], &5u32.to_le_bytes());
    // The signature, read with the documented layout: tag, name.
    let sig: Vec<(u8, &str)> = (0..A_RECORDS)
        .map(|j| {
            let r = &b[32 + 64 * j..32 + 64 * (j + 1)];
            assert_eq!(&r[1..8], &[0; 7]);
            let n = r[8..40].iter().position(|&c| c == 0).unwrap_or(32);
            (r[0], std::str::from_utf8(&r[8..8 + n]).unwrap())
        })
        .collect();
    assert_eq!(
        sig,
        [
            (1, "Linear"),
            (2, "f32"),
            (3, "in"),
            (3, "out"),
            (5, "weight"),
            (5, "bias"),
            (1, "LeakyRelu"),
            (2, "f32"),
            (4, "slope"),
            (1, "LinearNoBias"),
            (2, "f32"),
            (3, "in"),
            (3, "out"),
            (5, "weight"),
            (1, "Tanh"),
            (1, "Linear"),
            (2, "f32"),
            (3, "in"),
            (3, "out"),
            (5, "weight"),
            (5, "bias"),
            (1, "Sigmoid"),
        ]
    );
    // The LinearNoBias weight: weight, f32, rank 2, [5, 8].
    let r = &b[32 + 64 * 13..];
    assert_eq!(&r[40..52], &[1, 1, 2, 0, 5, 0, 0, 0, 8, 0, 0, 0]);
    // The slope: f32, its bits zero-extended.
    let r = &b[32 + 64 * 8..];
    assert_eq!(r[40], 1);
    assert_eq!(&r[48..56], &u64::from(0.1f32.to_bits()).to_le_bytes());

    let h = Header::read(include_bytes!("data/v1_f32.spw")).unwrap();
    assert_eq!((h.version, h.records, h.data, h.len), (1, 8, 4 * 42, 460));
    let h = Header::read(include_bytes!("data/v1_f64.spw")).unwrap();
    assert_eq!((h.version, h.records, h.data, h.len), (1, 3, 8 * 13, 236));
    let n = saved(&nested());
    let h = Header::read(&n).unwrap();
    assert_eq!((h.version, h.records, h.data, h.len), (2, 25, 4 * 25, n.len()));
}

// -------------------------------------------------- residual blocks (v2)

#[test]
fn a_mismatch_inside_a_block_names_its_path() {
    let mut m = nested();
    let before = tensor_bytes(&m);
    type Wider = Seq![
        Linear<f32, 2, 3>,
        Tanh,
        Residual<Seq![Linear<f32, 3, 4>, Tanh]>,
        LeakyRelu<f32>,
        Linear<f32, 3, 1>
    ];
    let w: Wider = seq![
        Linear::zeros(),
        Tanh,
        Residual::new(seq![Linear::zeros(), Tanh]),
        LeakyRelu::new(0.25).unwrap(),
        Linear::zeros()
    ];
    let r = load_checked(&mut m, &saved(&w));
    assert_eq!(
        r,
        Err(mismatch("2.inner.0", "Linear(f32, in=3, out=3)", "Linear(f32, in=3, out=4)"))
    );
    assert_eq!(
        err_text(r),
        "architecture mismatch at layer 2.inner.0: the model has Linear(f32, in=3, out=3), \
         the file has Linear(f32, in=3, out=4)"
    );

    type Relu2 = Seq![
        Linear<f32, 2, 3>,
        Tanh,
        Residual<Seq![Linear<f32, 3, 3>, Relu]>,
        LeakyRelu<f32>,
        Linear<f32, 3, 1>
    ];
    let r2: Relu2 = seq![
        Linear::zeros(),
        Tanh,
        Residual::new(seq![Linear::zeros(), Relu]),
        LeakyRelu::new(0.25).unwrap(),
        Linear::zeros()
    ];
    assert_eq!(load_checked(&mut m, &saved(&r2)), Err(mismatch("2.inner.1", "Tanh", "Relu")));

    // A block whose child has another number of entries: said at the
    // child's path.
    type Longer = Seq![
        Linear<f32, 2, 3>,
        Tanh,
        Residual<Seq![Linear<f32, 3, 3>, Tanh, Identity]>,
        LeakyRelu<f32>,
        Linear<f32, 3, 1>
    ];
    let l: Longer = seq![
        Linear::zeros(),
        Tanh,
        Residual::new(seq![Linear::zeros(), Tanh, Identity]),
        LeakyRelu::new(0.25).unwrap(),
        Linear::zeros()
    ];
    let r = load_checked(&mut m, &saved(&l));
    assert_eq!(r, Err(mismatch("2.inner", "a sequence of 2 layers", "a sequence of 3 layers")));
    assert_eq!(
        err_text(r),
        "architecture mismatch at layer 2.inner: the model has a sequence of 2 layers, \
         the file has a sequence of 3 layers"
    );
    let one: Seq![Linear<f32, 2, 3>, Tanh, Residual<Linear<f32, 3, 3>>, LeakyRelu<f32>, Linear<f32, 3, 1>] = seq![
        Linear::zeros(),
        Tanh,
        Residual::new(Linear::zeros()),
        LeakyRelu::new(0.25).unwrap(),
        Linear::zeros()
    ];
    assert_eq!(
        load_checked(&mut m, &saved(&one)),
        Err(mismatch("2.inner", "a sequence of 2 layers", "a sequence of 1 layer"))
    );

    // A plain layer where the model has a block, and the reverse.
    type Flat =
        Seq![Linear<f32, 2, 3>, Tanh, Linear<f32, 3, 3>, Tanh, LeakyRelu<f32>, Linear<f32, 3, 1>];
    let flat: Flat = seq![
        Linear::zeros(),
        Tanh,
        Linear::zeros(),
        Tanh,
        LeakyRelu::new(0.25).unwrap(),
        Linear::zeros()
    ];
    assert_eq!(
        load_checked(&mut m, &saved(&flat)),
        Err(mismatch("2", "Residual", "Linear(f32, in=3, out=3)"))
    );
    let mut f = flat;
    assert_eq!(
        load_checked(&mut f, &saved(&nested())),
        Err(mismatch("2", "Linear(f32, in=3, out=3)", "Residual"))
    );
    assert_eq!(tensor_bytes(&m), before);
}

// ------------------------------------------------------- version-1 files

type F32Net = Seq![Linear<f32, 3, 4>, Relu, LinearNoBias<f32, 4, 4>, LeakyRelu<f32>, Linear<f32, 4, 2>, Sigmoid, Identity, Tanh];
type F64Net = Seq![Linear<f64, 2, 3>, Tanh, Linear<f64, 3, 1>];

const V1_F32: &[u8] = include_bytes!("data/v1_f32.spw");
const V1_F64: &[u8] = include_bytes!("data/v1_f64.spw");

/// The models tests/data/v1_*.spw were written from (commit 1e54590).
fn v1_a() -> F32Net {
    seq![
        Linear::from_fn(|o, i| (o * 7 + i * 3) as f32 * 0.125 - 1.0, |o| o as f32 * 0.5 - 0.25),
        Relu,
        LinearNoBias::from_fn(|o, i| (o as f32 - i as f32) * 0.375),
        LeakyRelu::new(0.125).unwrap(),
        Linear::from_fn(|o, i| (o + 2 * i) as f32 * -0.0625, |o| o as f32 + 0.75),
        Sigmoid,
        Identity,
        Tanh
    ]
}

fn v1_c() -> F64Net {
    seq![
        Linear::from_fn(|o, i| (o * 2 + i) as f64 / 3.0, |o| -(o as f64) / 7.0),
        Tanh,
        Linear::from_fn(|_, i| i as f64 * 1.1 - 0.4, |_| 0.1)
    ]
}

/// A fresh F32Net with the file's slope and every value 1.0.
fn v1_target() -> F32Net {
    let mut m = F32Net::default();
    m.1.1.1.0 = LeakyRelu::new(0.125).unwrap();
    fill_with(&mut m, 1.0);
    m
}

#[test]
fn version_1_files_load_bit_exactly() {
    let mut m = v1_target();
    assert_eq!(load_checked(&mut m, V1_F32), Ok(()));
    assert_eq!(tensor_bytes(&m), tensor_bytes(&v1_a()));
    assert_eq!(m, v1_a());
    // Every parameter, bit for bit, against the constructors.
    let a = v1_a();
    for i in 0..<F32Net as Module>::SIZE.tensors {
        let (x, y) =
            (f32::of(m.tensor(i).unwrap()).unwrap(), f32::of(a.tensor(i).unwrap()).unwrap());
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            assert_eq!(p.to_bits(), q.to_bits(), "tensor {i}");
        }
    }
    // The values are the file's data section.
    assert_eq!(tensor_bytes(&m), &V1_F32[32 + 32 * 8..V1_F32.len() - 4]);
    // Saving writes version 2.
    assert_eq!(saved(&m), saved(&v1_a()));
    assert_eq!(&saved(&m)[8..10], &[2, 0]);

    let mut m = F64Net::default();
    fill_with(&mut m, 1.0);
    assert_eq!(load_checked(&mut m, V1_F64), Ok(()));
    let c = v1_c();
    for i in 0..<F64Net as Module>::SIZE.tensors {
        let (x, y) =
            (f64::of(m.tensor(i).unwrap()).unwrap(), f64::of(c.tensor(i).unwrap()).unwrap());
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            assert_eq!(p.to_bits(), q.to_bits(), "tensor {i}");
        }
    }
    assert_eq!(m, c);

    // The test's version-1 writer is the old `save`.
    assert_eq!(v1_file(1, &v1_layers_a(0.125), &tensor_bytes(&v1_a())), V1_F32);
    let layers = [(1, 2, 3, 0.0), (19, 0, 0, 0.0), (1, 3, 1, 0.0)];
    assert_eq!(v1_file(2, &layers, &tensor_bytes(&v1_c())), V1_F64);
}

/// The layer entries of v1_f32.spw (`slope` for its LeakyRelu).
fn v1_layers_a(slope: f64) -> [(u8, u64, u64, f64); 8] {
    [
        (1, 3, 4, 0.0),
        (16, 0, 0, 0.0),
        (2, 4, 4, 0.0),
        (17, 0, 0, slope),
        (1, 4, 2, 0.0),
        (18, 0, 0, 0.0),
        (20, 0, 0, 0.0),
        (19, 0, 0, 0.0),
    ]
}

#[test]
fn version_1_errors() {
    // Another architecture: both layers are named.
    type Wide = Seq![Linear<f32, 3, 5>, Relu, LinearNoBias<f32, 5, 4>, LeakyRelu<f32>, Linear<f32, 4, 2>, Sigmoid, Identity, Tanh];
    let mut w = Wide::default();
    w.1.1.1.0 = LeakyRelu::new(0.125).unwrap();
    let r = load_checked(&mut w, V1_F32);
    assert_eq!(r, Err(mismatch("0", "Linear(f32, in=3, out=5)", "Linear(f32, in=3, out=4)")));
    assert_eq!(
        err_text(r),
        "architecture mismatch at layer 0: the model has Linear(f32, in=3, out=5), \
         the file has Linear(f32, in=3, out=4)"
    );
    let mut m = v1_target();
    m.1.1.1.0 = LeakyRelu::new(0.25).unwrap();
    assert_eq!(
        err_text(load_checked(&mut m, V1_F32)),
        "architecture mismatch at layer 3: the model has LeakyRelu(f32, slope=0.25), \
         the file has LeakyRelu(f32, slope=0.125)"
    );
    type Swapped = Seq![Linear<f32, 3, 4>, Relu, LinearNoBias<f32, 4, 4>, LeakyRelu<f32>, Linear<f32, 4, 2>, Sigmoid, Tanh, Identity];
    let mut s = Swapped::default();
    s.1.1.1.0 = LeakyRelu::new(0.125).unwrap();
    assert_eq!(load_checked(&mut s, V1_F32), Err(mismatch("6", "Tanh", "Identity")));
    // Fewer layers in the model, and more.
    let mut short: Seq![Linear<f32, 3, 4>, Relu, LinearNoBias<f32, 4, 4>] = Default::default();
    assert_eq!(
        load_checked(&mut short, V1_F32),
        Err(mismatch("3", "nothing", "LeakyRelu(f32, slope=0.125)"))
    );
    let mut long: (F32Net, Relu) = (v1_target(), Relu);
    assert_eq!(load_checked(&mut long, V1_F32), Err(mismatch("8", "Relu", "nothing")));

    // An f64 file into an f32 model, and the reverse.
    let mut m32: Seq![Linear<f32, 2, 3>, Tanh, Linear<f32, 3, 1>] = Default::default();
    assert_eq!(
        load_checked(&mut m32, V1_F64),
        Err(mismatch("0", "Linear(f32, in=2, out=3)", "Linear(f64, in=2, out=3)"))
    );
    let mut m64: Seq![Linear<f64, 3, 4>, Relu, LinearNoBias<f64, 4, 4>, LeakyRelu<f64>, Linear<f64, 4, 2>, Sigmoid, Identity, Tanh] =
        Default::default();
    m64.1.1.1.0 = LeakyRelu::new(0.125).unwrap();
    assert_eq!(
        load_checked(&mut m64, V1_F32),
        Err(mismatch("0", "Linear(f64, in=3, out=4)", "Linear(f32, in=3, out=4)"))
    );

    // Version 3 does not exist (yet).
    let mut b = V1_F32.to_vec();
    b[8] = 3;
    assert_eq!(load_checked(&mut v1_target(), &b), Err(LoadError::UnsupportedVersion { found: 3 }));
    fix_crcs(&mut b);
    let r = load_checked(&mut v1_target(), &b);
    assert_eq!(r, Err(LoadError::UnsupportedVersion { found: 3 }));
    assert_eq!(err_text(r), "unsupported format version 3 (this build reads versions 1 and 2)");

    // The header of version 1.
    let params = tensor_bytes(&v1_a());
    let layers = v1_layers_a(0.125);
    let load_v1 = |b: &[u8]| load_checked(&mut v1_target(), b);
    assert_eq!(load_v1(&v1_file(1, &layers, &params)), Ok(()));
    let r = load_v1(&v1_file(3, &layers, &params));
    assert_eq!(r, Err(LoadError::UnknownScalar { code: 3 }));
    assert_eq!(err_text(r), "unknown scalar type code 3");
    for at in [11, 24, 27] {
        let mut b = v1_file(1, &layers, &params);
        b[at] = 1;
        fix_crcs(&mut b);
        assert_eq!(load_v1(&b), Err(LoadError::ReservedNotZero { offset: at }));
    }
    let mut b = v1_file(1, &layers, &params);
    b[16..24].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    fix_crcs(&mut b);
    assert_eq!(load_v1(&b), Err(LoadError::SizeOverflow));
    let mut b = v1_file(1, &layers, &params);
    b[16] += 1; // one parameter more than the file holds
    fix_crcs(&mut b);
    assert_eq!(load_v1(&b), Err(LoadError::Truncated { expected: 464, found: 460 }));

    // Layer entries.
    let mut bad = layers;
    bad[2].0 = 99;
    let r = load_v1(&v1_file(1, &bad, &params));
    assert_eq!(r, Err(LoadError::UnknownLayerKind { layer: 2, code: 99 }));
    assert_eq!(err_text(r), "layer 2 has unknown kind code 99");
    let mut bad = layers;
    bad[6].0 = 0;
    assert_eq!(
        load_v1(&v1_file(1, &bad, &params)),
        Err(LoadError::UnknownLayerKind { layer: 6, code: 0 })
    );
    let mut b = v1_file(1, &layers, &params);
    b[32 + 32 * 5 + 3] = 1; // reserved byte of entry 5
    fix_crcs(&mut b);
    assert_eq!(load_v1(&b), Err(LoadError::ReservedNotZero { offset: 32 + 32 * 5 + 3 }));
    // The slope of another kind is +0.0, bit for bit; an activation has no
    // dimensions (found by the load_weights fuzz target in version 1).
    let mut bad = layers;
    bad[5].3 = -0.0;
    assert_eq!(load_v1(&v1_file(1, &bad, &params)), Err(LoadError::BadRecord { record: 5 }));
    let mut bad = layers;
    bad[0].3 = 1.0;
    assert_eq!(load_v1(&v1_file(1, &bad, &params)), Err(LoadError::BadRecord { record: 0 }));
    let mut bad = layers;
    bad[7].1 = 4;
    assert_eq!(load_v1(&v1_file(1, &bad, &params)), Err(LoadError::BadRecord { record: 7 }));
    let mut bad = layers;
    bad[3].2 = 1;
    assert_eq!(load_v1(&v1_file(1, &bad, &params)), Err(LoadError::BadRecord { record: 3 }));
    // A dimension a version-2 record cannot hold.
    let mut bad = layers;
    bad[0].2 = 1 << 32;
    assert_eq!(load_v1(&v1_file(1, &bad, &params)), Err(LoadError::BadRecord { record: 0 }));
    // A slope that is not an f32 widened is not the f32 model's.
    let r = load_v1(&v1_file(1, &v1_layers_a(0.125 + f64::EPSILON), &params));
    assert!(matches!(r, Err(LoadError::LayerMismatch { .. })), "{r:?}");
    // A slope of -0.0 is not 0.0.
    let mut m = v1_target();
    m.1.1.1.0 = LeakyRelu::new(0.0).unwrap();
    assert_eq!(
        load_checked(&mut m, &v1_file(1, &v1_layers_a(-0.0), &params)),
        Err(mismatch("3", "LeakyRelu(f32, slope=0.0)", "LeakyRelu(f32, slope=-0.0)"))
    );
    m.1.1.1.0 = LeakyRelu::new(-0.0).unwrap();
    assert_eq!(load_checked(&mut m, &v1_file(1, &v1_layers_a(-0.0), &params)), Ok(()));
    // Non-finite: the LinearNoBias weight, element 5.
    let mut p = params.clone();
    p[4 * (16 + 5)..4 * (16 + 6)].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert_eq!(
        load_v1(&v1_file(1, &layers, &p)),
        Err(LoadError::NonFinite { tensor: name("2.weight"), index: 5 })
    );
}

/// The damage a version-1 file takes: header and table bytes, bits
/// (checksums recomputed), a parameter, the length.
#[derive(Clone, Debug)]
enum V1Damage {
    SetByte(usize, u8),
    FlipFixed(Vec<usize>),
    SetParam(usize, u32),
    Truncate(usize),
    Extend(Vec<u8>),
}

fn v1_damage() -> impl Strategy<Value = V1Damage> {
    let n = V1_F32.len();
    prop_oneof![
        3 => (8..32 + 32 * 8usize, any::<u8>()).prop_map(|(i, v)| V1Damage::SetByte(i, v)),
        // the header's fields: version, scalar type, counts, reserved
        1 => (8..28usize, any::<u8>()).prop_map(|(i, v)| V1Damage::SetByte(i, v)),
        // the bytes of entries that matter most: kind, dims, slope
        2 => (0..8usize, prop::sample::select(vec![0usize, 8, 9, 16, 17, 24, 30, 31]), any::<u8>())
            .prop_map(|(k, o, v)| V1Damage::SetByte(32 + 32 * k + o, v)),
        2 => prop::collection::btree_set(0..n * 8, 1..=3)
            .prop_map(|s| V1Damage::FlipFixed(s.into_iter().collect())),
        2 => (0..42usize, f32_bits()).prop_map(|(i, v)| V1Damage::SetParam(i, v)),
        1 => (0..n).prop_map(V1Damage::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(V1Damage::Extend),
    ]
}

/// 6,000 damaged version-1 files, checksums recomputed: an error with the
/// model unchanged, or a load of exactly the file's values from a file
/// whose header and table are the original's. Never a panic.
#[test]
fn malformed_version_1_files_never_panic_and_never_half_load() {
    const CASES: u32 = 6_000;
    let data_at = 32 + 32 * 8;
    let counts = RefCell::new(BTreeMap::<String, usize>::new());
    let mut runner =
        TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&v1_damage(), |d| {
            let mut b = V1_F32.to_vec();
            match &d {
                V1Damage::SetByte(i, v) => b[*i] = *v,
                V1Damage::FlipFixed(bits) => bits.iter().for_each(|&p| b[p / 8] ^= 1 << (p % 8)),
                V1Damage::SetParam(i, v) => {
                    b[data_at + 4 * i..data_at + 4 * i + 4].copy_from_slice(&v.to_le_bytes())
                }
                V1Damage::Truncate(n) => b.truncate(*n),
                V1Damage::Extend(x) => b.extend_from_slice(x),
            }
            fix_crcs(&mut b);
            let mut m = v1_target();
            let before = tensor_bytes(&m);
            let r = catch_unwind(AssertUnwindSafe(|| load(&mut m, &b)));
            let Ok(r) = r else {
                return Err(TestCaseError::fail(format!("load panicked on {d:?}")));
            };
            *counts.borrow_mut().entry(kind_of(&r)).or_default() += 1;
            match &r {
                Ok(()) => {
                    prop_assert_eq!(b.len(), V1_F32.len());
                    // The header and table are canonical: only the values
                    // can differ in a file that loads.
                    prop_assert_eq!(&b[..data_at], &V1_F32[..data_at], "{:?}", d);
                    prop_assert_eq!(tensor_bytes(&m), b[data_at..b.len() - 4].to_vec());
                }
                Err(_) => prop_assert_eq!(tensor_bytes(&m), before, "model changed on {:?}", r),
            }
            if let V1Damage::SetParam(i, v) = d {
                if f32::from_bits(v).is_finite() {
                    prop_assert_eq!(r, Ok(()));
                } else {
                    prop_assert!(matches!(r, Err(LoadError::NonFinite { .. })), "{:?} at {}", r, i);
                }
            }
            Ok(())
        })
        .unwrap();
    let counts = counts.into_inner();
    eprintln!("version-1 outcomes over {CASES} damaged files: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), CASES as usize);
    for kind in [
        "Ok",
        "BadMagic",
        "Truncated",
        "TrailingBytes",
        "UnsupportedVersion",
        "ReservedNotZero",
        "UnknownScalar",
        "UnknownLayerKind",
        "BadRecord",
        "LayerMismatch",
        "NonFinite",
    ] {
        assert!(counts.get(kind).copied().unwrap_or(0) > 0, "no {kind} among {counts:?}");
    }
}

// ------------------------------------------------- malformed weight files

/// The variant of a load's outcome.
fn kind_of<E: std::fmt::Debug>(r: &Result<(), E>) -> String {
    match r {
        Ok(()) => "Ok".to_string(),
        Err(e) => format!("{e:?}").split([' ', '{']).next().unwrap().to_string(),
    }
}

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
    /// One byte of the header or of the records set, checksums recomputed.
    SetByte(usize, u8),
    /// One byte of the header's fields (version to tensor count) set,
    /// checksums recomputed.
    SetHeader(usize, u8),
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
        (8..28usize, any::<u8>()).prop_map(|(i, v)| Damage::SetHeader(i, v)),
        (0..A_PARAMS, f32_bits()).prop_map(|(i, v)| Damage::SetParam(i, v)),
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
        Damage::SetByte(i, v) | Damage::SetHeader(i, v) => {
            b[*i] = *v;
            fix_crcs(&mut b);
        }
        Damage::SetParam(i, v) => {
            b[A_PARAMS_AT + 4 * i..A_PARAMS_AT + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
            fix_crcs(&mut b);
        }
        Damage::Random(x) => b = x.clone(),
        Damage::MagicThenRandom(x) => {
            b = MAGIC.to_vec();
            b.extend_from_slice(x);
        }
    }
    b
}

/// The path and index of parameter `i` of NetA.
fn a_param(i: usize) -> (&'static str, usize) {
    match i {
        i @ 0..32 => ("0.weight", i),
        i @ 32..40 => ("0.bias", i - 32),
        i @ 40..80 => ("2.weight", i - 40),
        i @ 80..95 => ("4.weight", i - 80),
        i => ("4.bias", i - 95),
    }
}

/// 12,000 damaged files: each gets an error (and the model is unchanged)
/// or, if still valid, loads bit-exactly what it holds and re-saves to
/// exactly the same bytes (a model has one valid file for given values).
/// Never a panic.
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
            let before = tensor_bytes(&m);
            let Ok(r) = catch_unwind(AssertUnwindSafe(|| load(&mut m, &b))) else {
                return Err(TestCaseError::fail(format!("load panicked on {d:?}")));
            };
            *counts.borrow_mut().entry(kind_of(&r)).or_default() += 1;
            match r {
                Ok(()) => {
                    // Valid: the model holds exactly the file's parameters,
                    // and the file is the one `save` writes.
                    prop_assert_eq!(b.len(), A_BYTES);
                    prop_assert_eq!(tensor_bytes(&m), b[A_PARAMS_AT..A_BYTES - 4].to_vec());
                    let again = saved(&m);
                    let diff: Vec<usize> = (0..A_BYTES).filter(|&k| again[k] != b[k]).collect();
                    prop_assert!(
                        diff.is_empty(),
                        "{:?} loads but is not canonical at {:?}",
                        d,
                        diff
                    );
                }
                Err(_) => prop_assert_eq!(tensor_bytes(&m), before, "model changed"),
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
                        let (tensor, index) = a_param(*i);
                        prop_assert_eq!(
                            r,
                            Err(LoadError::NonFinite { tensor: name(tensor), index })
                        );
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
        "UnsupportedVersion",
        "HeaderChecksum",
        "Checksum",
        "ReservedNotZero",
        "BadRecord",
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

/// Bytes per element of a safetensors dtype.
fn dtype_size(d: &str) -> usize {
    match d {
        "F64" | "I64" => 8,
        "F32" | "I32" => 4,
        "F16" | "BF16" | "I16" => 2,
        _ => 1,
    }
}

/// A safetensors file as the reference serializer writes it (see
/// tools/make_torch_fixture.py): tensors ordered by dtype size then name,
/// compact JSON, header padded with spaces to a multiple of 8.
fn write_safetensors(tensors: &[(&str, &str, &[u64], Vec<u8>)], metadata: Option<&str>) -> Vec<u8> {
    let mut order: Vec<_> = tensors.iter().collect();
    order.sort_by(|a, b| dtype_size(b.1).cmp(&dtype_size(a.1)).then(a.0.cmp(b.0)));
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

/// Loads `file` into a model of type `M` whose values all start at 1,
/// checking it is unchanged on error.
fn try_load<M: Module + Default>(file: &[u8], prefix: &str) -> Result<(), TorchError> {
    let mut m = M::default();
    fill_with(&mut m, 1.0);
    try_load_into(&mut m, file, prefix)
}

fn try_load_into<M: Module>(m: &mut M, file: &[u8], prefix: &str) -> Result<(), TorchError> {
    let before = tensor_bytes(m);
    let r = torch::load_prefixed(m, file, prefix);
    if r.is_err() {
        assert_eq!(tensor_bytes(m), before, "model changed on {r:?}");
    }
    r
}

#[test]
fn torch_errors_name_what_is_wrong() {
    let net = loaded();
    let t = torch_tensors(&net);

    // Not a safetensors file.
    let r = try_load::<TorchNet<f32>>(b"abc", "");
    assert_eq!(r, Err(TorchError::Truncated { expected: 8, found: 3 }));
    assert_eq!(err_text(r), "file is truncated: it should have at least 8 bytes, has 3");
    let r = try_load::<TorchNet<f32>>(&TORCH_MLP[..100], "");
    let h = u64::from_le_bytes(TORCH_MLP[..8].try_into().unwrap()) as usize;
    assert_eq!(r, Err(TorchError::Truncated { expected: 8 + h, found: 100 }));
    let r = try_load::<TorchNet<f32>>(&[2, 0, 0, 0, 0, 0, 0, 0, b'{', 0xFF], "");
    assert_eq!(r, Err(TorchError::HeaderNotUtf8 { offset: 9 }));
    assert_eq!(err_text(r), "header is not UTF-8 (byte 9)");

    // Another architecture.
    let r = try_load::<Seq![Linear<f32, 4, 16>, Relu, Linear<f32, 16, 3>]>(TORCH_MLP, "");
    assert_eq!(
        r,
        Err(TorchError::WrongShape {
            name: name("0.bias"),
            expected: Shape::new(&[16]),
            found: Shape::new(&[8])
        })
    );
    assert_eq!(err_text(r), "tensor 0.bias has shape [8], the model needs [16]");
    assert_eq!(
        err_text(try_load::<Seq![Linear<f32, 3, 8>, Relu, Linear<f32, 8, 3>]>(TORCH_MLP, "")),
        "tensor 0.weight has shape [8, 4], the model needs [8, 3]"
    );
    let r = try_load::<Seq![LinearNoBias<f32, 4, 8>, Relu, Linear<f32, 8, 3>]>(TORCH_MLP, "");
    assert_eq!(r, Err(TorchError::UnexpectedTensor { name: name("0.bias") }));
    assert_eq!(err_text(r), "unexpected tensor 0.bias: the model has no parameter of that name");
    assert_eq!(
        try_load::<Seq![Linear<f32, 4, 8>, Linear<f32, 8, 3>]>(TORCH_MLP, ""),
        Err(TorchError::UnexpectedTensor { name: name("2.bias") })
    );
    let r = try_load::<Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>, Relu, Linear<f32, 3, 3>]>(
        TORCH_MLP, "",
    );
    assert_eq!(r, Err(TorchError::MissingTensor { name: name("4.weight") }));
    assert_eq!(err_text(r), "tensor 4.weight is missing from the file");
    assert_eq!(
        try_load::<TorchNet<f32>>(TORCH_MLP, "net."),
        Err(TorchError::UnexpectedTensor { name: name("0.bias") })
    );
    // The same tensors in a residual block have other names.
    assert_eq!(
        try_load::<Seq![Linear<f32, 4, 8>, Relu, Residual<Linear<f32, 8, 3>>]>(TORCH_MLP, ""),
        Err(TorchError::UnexpectedTensor { name: name("2.bias") })
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
    let r = try_load::<TorchNet<f32>>(&f, "");
    assert_eq!(
        r,
        Err(TorchError::WrongDtype {
            name: name("2.bias"),
            expected: ElemType::F32,
            found: Dtype::F64
        })
    );
    assert_eq!(err_text(r), "tensor 2.bias has dtype F64, the f32 model tensor needs F32");
    let mut m64 = TorchNet::<f64>::default();
    assert_eq!(torch::load(&mut m64, &f), Ok(())); // F64 into f64 is fine
    v[3] = ("2.bias", "F16", &[3], vec![0; 6]);
    let f = write_safetensors(&v, None);
    let r = try_load_into(&mut m64, &f, "");
    assert_eq!(
        r,
        Err(TorchError::WrongDtype {
            name: name("2.bias"),
            expected: ElemType::F64,
            found: Dtype::Other(name("F16"))
        })
    );
    assert_eq!(err_text(r), "tensor 2.bias has dtype F16, the f64 model tensor needs F64 or F32");
    v[3] = ("2.bias", "I32", &[3], vec![0; 12]);
    let f = write_safetensors(&v, None);
    assert_eq!(
        try_load_into(&mut m64, &f, ""),
        Err(TorchError::WrongDtype {
            name: name("2.bias"),
            expected: ElemType::F64,
            found: Dtype::I32
        })
    );
    let mut v = t.clone();
    v[2].3[4 * 9..4 * 10].copy_from_slice(&f32::NAN.to_le_bytes());
    let f = write_safetensors(&v, None);
    let r = try_load::<TorchNet<f32>>(&f, "");
    assert_eq!(r, Err(TorchError::NonFinite { name: name("2.weight"), index: 9 }));
    assert_eq!(err_text(r), "element 9 of tensor 2.weight is not finite (inf or NaN)");

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
    let r = try_load::<L12>(
        &file(&format!("{{{},{},{}}}", ew(0), e("0.bias", 8), e("0.bias", 8)), 16),
        "",
    );
    assert_eq!(r, Err(TorchError::DuplicateTensor { name: name("0.bias") }));
    assert_eq!(err_text(r), "tensor 0.bias appears more than once");
    // The same name spelled with an escape is the same name.
    let r = try_load::<L12>(
        &file(&format!("{{{},{},{}}}", ew(0), e("0.bias", 8), e(r"\u0030.bias", 8)), 16),
        "",
    );
    assert_eq!(r, Err(TorchError::DuplicateTensor { name: name("0.bias") }));
    let r = try_load::<L12>(&file(&format!("{{{},{}}}", ew(0), e("0.bias", 4)), 16), "");
    assert_eq!(r, Err(TorchError::Overlap { name: name("0.weight"), other: name("0.bias") }));
    assert_eq!(err_text(r), "tensors 0.weight and 0.bias overlap");
    let r = try_load::<L12>(&file(&format!("{{{},{}}}", ew(0), e("0.bias", 12)), 16), "");
    assert_eq!(
        r,
        Err(TorchError::BadOffsets {
            name: name("0.bias"),
            begin: 12,
            end: 20,
            needed: 8,
            data_len: 16
        })
    );
    assert_eq!(
        err_text(r),
        "tensor 0.bias has data_offsets [12, 20]: it needs 8 bytes within a data section of 16"
    );
    let r = try_load::<L12>(&file(&format!("{{{},{}}}", ew(0), e("0.bias", 8)), 20), "");
    assert_eq!(r, Err(TorchError::UnusedData { used: 16, data_len: 20 }));
    assert_eq!(err_text(r), "the tensors use 16 of the data section's 20 bytes");
    let r = try_load::<L12>(&file(r#"{"0.weight":{"dtype":"F32","shape":[2,1]}}"#, 0), "");
    assert_eq!(r, Err(TorchError::Json { offset: 20, what: "tensor entry has no data_offsets" }));
    assert_eq!(err_text(r), "bad safetensors header at byte 20: tensor entry has no data_offsets");

    // Models that cannot take an import.
    let r = try_load_into(&mut Liar::new(3, 2), &ok, "");
    assert_eq!(r, Err(TorchError::UnsupportedModel { name: name("0.weight") }));
    assert_eq!(err_text(r), "the model's tensor 0.weight cannot take an import");
    let r = try_load::<Deep8>(&ok, "");
    assert!(matches!(r, Err(TorchError::UnsupportedModel { .. })), "{r:?}");
}

/// Row-major (PyTorch's) bytes of a column-major tensor of shape `dims`
/// with `b` bytes per element.
fn row_major(col: &[u8], dims: &[usize], b: usize) -> Vec<u8> {
    let n: usize = dims.iter().product();
    let mut out = Vec::with_capacity(n * b);
    for k in 0..n {
        // index (i₀, …) of value k in row-major order (last index fastest)
        let mut rest = k;
        let mut idx = vec![0; dims.len()];
        for j in (0..dims.len()).rev() {
            idx[j] = rest % dims[j];
            rest /= dims[j];
        }
        // its place column-major (first index fastest)
        let (mut at, mut stride) = (0, 1);
        for j in 0..dims.len() {
            at += idx[j] * stride;
            stride *= dims[j];
        }
        out.extend_from_slice(&col[at * b..(at + 1) * b]);
    }
    out
}

/// A state dict of every element type and of ranks 0 to 3, with a block's
/// names, loads into the mixed model; integer tensors take only their own
/// dtype.
#[test]
fn torch_import_of_a_mixed_nested_model() {
    let m = mixed();
    let q = &m.1.0;
    let le = |v: &[u8], dims: &[usize], b: usize| row_major(v, dims, b);
    // Tensor i of the model, column-major.
    let bytes = |i: usize| data_bytes(m.tensor(i).unwrap());
    let tensors: Vec<(&str, &str, &[u64], Vec<u8>)> = vec![
        ("0.weight", "F32", &[2, 3], le(&bytes(0), &[2, 3], 4)),
        ("0.bias", "F32", &[2], bytes(1)),
        ("1.weight", "I8", &[2, 3], le(&bytes(2), &[2, 3], 1)),
        ("1.bias", "I32", &[2], bytes(3)),
        ("1.zero", "U8", &[], bytes(4)),
        ("1.table", "I16", &[2, 2, 2], le(&bytes(5), &[2, 2, 2], 2)),
        ("1.count", "I64", &[1], bytes(6)),
        ("1.gain", "F64", &[2], bytes(7)),
        ("2.inner.0.weight", "F32", &[2, 2], le(&bytes(8), &[2, 2], 4)),
        ("2.inner.0.bias", "F32", &[2], bytes(9)),
    ];
    // The layout: table row-major [2, 2, 2] holds value (i, j, l) at
    // 4i + 2j + l; the model column-major at i + 2j + 4l.
    let table = &tensors[5].3;
    let at = |k: usize| i16::from_le_bytes([table[2 * k], table[2 * k + 1]]);
    for (i, j, l) in [(0, 0, 1), (1, 0, 0), (0, 1, 1), (1, 1, 0)] {
        assert_eq!(at(4 * i + 2 * j + l), q.table[i + 2 * j + 4 * l]);
    }
    let f = write_safetensors(&tensors, None);
    let mut back = mixed_empty();
    assert_eq!(try_load_into(&mut back, &f, ""), Ok(()));
    assert_eq!(back, m);
    assert_eq!(tensor_bytes(&back), tensor_bytes(&m));

    // F32 widens into an f64 tensor.
    let mut v = tensors.clone();
    v[7] = ("1.gain", "F32", &[2], le32([0.5, -2.0]));
    let mut back = mixed_empty();
    assert_eq!(try_load_into(&mut back, &write_safetensors(&v, None), ""), Ok(()));
    assert_eq!(back.1.0.gain, [0.5, -2.0]);
    // An integer tensor takes its own dtype only.
    let mut v = tensors.clone();
    v[3] = ("1.bias", "I64", &[2], vec![0; 16]);
    let r = try_load_into(&mut mixed_empty(), &write_safetensors(&v, None), "");
    assert_eq!(
        r,
        Err(TorchError::WrongDtype {
            name: name("1.bias"),
            expected: ElemType::I32,
            found: Dtype::I64
        })
    );
    assert_eq!(err_text(r), "tensor 1.bias has dtype I64, the i32 model tensor needs I32");
    let mut v = tensors.clone();
    v[4] = ("1.zero", "U8", &[1], bytes(4));
    let r = try_load_into(&mut mixed_empty(), &write_safetensors(&v, None), "");
    assert_eq!(
        r,
        Err(TorchError::WrongShape {
            name: name("1.zero"),
            expected: Shape::new(&[]),
            found: Shape::new(&[1])
        })
    );
    assert_eq!(err_text(r), "tensor 1.zero has shape [1], the model needs []");
    let mut v = tensors.clone();
    v[9].0 = "2.bias";
    let r = try_load_into(&mut mixed_empty(), &write_safetensors(&v, None), "");
    assert_eq!(r, Err(TorchError::UnexpectedTensor { name: name("2.bias") }));
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
    tensor_bytes(&n)
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
            fill_with(&mut m, 2.0);
            let before = tensor_bytes(&m);
            let Ok(r) = catch_unwind(AssertUnwindSafe(|| torch::load(&mut m, &b))) else {
                return Err(TestCaseError::fail(format!("torch::load panicked on {d:?}")));
            };
            *counts.borrow_mut().entry(kind_of(&r)).or_default() += 1;
            match &r {
                Ok(()) => {
                    prop_assert!(b.len() == TORCH_MLP.len());
                    prop_assert_eq!(tensor_bytes(&m), decode_at_original_offsets(&b));
                }
                Err(_) => prop_assert_eq!(tensor_bytes(&m), before, "model changed on {:?}", r),
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
/// must write the same bytes, and `load` must read them; its version-1
/// files (the old writer, kept) must load into the same models.
#[test]
fn independent_python_writer_agrees_with_save() {
    // The values of fuzz/fuzz_targets/load_weights.rs's `net()`.
    let net: NetA = seq![
        Linear::from_fn(|o, i| (o * 4 + i) as f32 * 0.125 - 2.0, |o| o as f32),
        LeakyRelu::new(0.1).unwrap(),
        LinearNoBias::from_fn(|o, i| (o + i) as f32),
        Tanh,
        Linear::from_fn(|o, i| (o as f32) - (i as f32), |o| -(o as f32)),
        Sigmoid
    ];
    let python = include_bytes!("../fuzz/seeds/load_weights/net_f32.spw");
    assert_eq!(saved(&net), python);
    let mut m = net_a(5, 0.1);
    assert_eq!(load_checked(&mut m, python), Ok(()));
    assert_eq!(tensor_bytes(&m), tensor_bytes(&net));
    let mut m = net_a(5, 0.1);
    let v1 = include_bytes!("../fuzz/seeds/load_weights/net_f32_v1.spw");
    assert_eq!(load_checked(&mut m, v1), Ok(()));
    assert_eq!(tensor_bytes(&m), tensor_bytes(&net));

    type Net64 = Seq![Linear<f64, 3, 4>, Relu, Linear<f64, 4, 2>];
    let python = include_bytes!("../fuzz/seeds/load_weights/net_f64.spw");
    assert_eq!(saved(&Net64::default()), python);
    for file in [&python[..], &include_bytes!("../fuzz/seeds/load_weights/net_f64_v1.spw")[..]] {
        let mut m = Net64::default();
        m.0.bias[2] = 1.0;
        assert_eq!(load_checked(&mut m, file), Ok(()));
        assert_eq!(m, Net64::default());
    }

    // A residual block.
    let python = include_bytes!("../fuzz/seeds/load_weights/net_nested.spw");
    assert_eq!(saved(&nested()), python);
    let mut m = Nested::default();
    m.1.1.1.0 = LeakyRelu::new(0.25).unwrap();
    assert_eq!(load_checked(&mut m, python), Ok(()));
    assert_eq!(m, nested());

    // Every element type, value type and rank 0 to 3.
    let python = include_bytes!("../fuzz/seeds/load_weights/net_mixed.spw");
    assert_eq!(saved(&mixed()), python);
    let mut m = mixed_empty();
    assert_eq!(load_checked(&mut m, python), Ok(()));
    assert_eq!(tensor_bytes(&m), tensor_bytes(&mixed()));
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
            expected: ElemType::F32,
            found: Dtype::F64
        })
    );
}

// ------------------------------- what a port of this file found, fixed
//
// Each test states the behaviour the docs promise; each failed on the
// library before its fix.

/// The docs of `stackprop::io`: "a model has exactly one valid file for
/// given values". The header's number of tensors (bytes 24..28) is written
/// but never read: any count loads.
#[test]

fn the_tensor_count_in_the_header_is_checked() {
    for count in [0u32, 4, 6, 77, u32::MAX] {
        let mut b = file_a();
        b[24..28].copy_from_slice(&count.to_le_bytes());
        fix_crcs(&mut b);
        assert!(load_a(&b).is_err(), "a file claiming {count} tensors (the model has 5) loads");
    }
}

/// The docs: a record's "unused bytes 0" and a tensor record's "reserved
/// byte", like the 7 reserved bytes after the tag, which give `BadRecord`.
/// Non-zero, they give a `LayerMismatch` showing the same layer twice:
/// "the model has Sigmoid, the file has Sigmoid".
#[test]

fn non_zero_unused_record_bytes_are_bad_records() {
    let cases = [
        (21, 60), // the Sigmoid node: after its three counts
        (2, 50),  // the dimension `in`: after its u64
        (4, 43),  // the weight tensor: its reserved byte
        (4, 60),  // the weight tensor: after its two dimensions
        (8, 44),  // the slope: between its type and its bits
    ];
    for (record, at) in cases {
        let mut b = file_a();
        b[32 + 64 * record + at] = 1;
        fix_crcs(&mut b);
        assert_eq!(load_a(&b), Err(LoadError::BadRecord { record }), "record {record}, byte {at}");
    }
}

/// The docs: a difference "is reported with the path of the layer it is in
/// and both layers written out". When the difference is in a tensor record
/// or in the type of a value, both are written out the same: "the model
/// has LeakyRelu(f32, slope=0.25), the file has LeakyRelu(f32,
/// slope=0.25)".
#[test]

fn a_mismatch_never_shows_the_same_text_twice() {
    let differ = |r: Result<(), LoadError>, what: &str| match r {
        Err(LoadError::LayerMismatch { expected, found, .. }) => {
            assert_ne!(expected, found, "{what}: {}", err_text(r))
        }
        other => panic!("{what}: {other:?}"),
    };
    // The bias of layer 0 as [9] instead of [8]; as a weight; as f64.
    for (at, v) in [(44, 9), (40, 1), (41, 2)] {
        let mut b = file_a();
        b[32 + 64 * 5 + at] = v;
        fix_crcs(&mut b);
        differ(load_a(&b), "tensor record");
    }
    // The slope 0.25 stored as an f64.
    let mut b = saved(&net_a(1, 0.25));
    let r = 32 + 64 * 8;
    b[r + 40] = 2;
    b[r + 48..r + 56].copy_from_slice(&0.25f64.to_bits().to_le_bytes());
    fix_crcs(&mut b);
    differ(load_checked(&mut net_a(1, 0.25), &b), "value type");
    // A version-1 slope of 0.1 (an f64, not an f32 widened) into an f32
    // model whose slope is 0.1f32.
    let mut m = v1_target();
    m.1.1.1.0 = LeakyRelu::new(0.1).unwrap();
    let f = v1_file(1, &v1_layers_a(0.1), &tensor_bytes(&v1_a()));
    differ(load_checked(&mut m, &f), "version-1 slope");
}

/// A layer whose `Module::value` does not give a value its description
/// lists: `save` says "layer 1 cannot be described in a weight file"
/// (`SaveError::Unsupported`, documented for this case); `load` says
/// "layer 1 holds a type weight files do not store" (`LoadError::
/// Unsupported`, documented only for SIMD packs): no type is involved.
#[test]

fn load_and_save_name_a_missing_value_alike() {
    let file = saved(&seq![Linear::<f32, 1, 1>::zeros(), Gain { g: Some(0.5) }]);
    let mut m = seq![Linear::<f32, 1, 1>::zeros(), Gain { g: None }];
    let mut b = vec![0u8; 4096];
    let saving = err_text(save(&m, &mut b));
    assert_eq!(saving, "layer 1 cannot be described in a weight file");
    assert_eq!(err_text(load(&mut m, &file)), saving);
}

/// `load` checks each `Module::tensor` against the description
/// (`InconsistentModel`) but then writes through `Module::tensor_mut`
/// without checking it: a `tensor_mut` that hands out another length
/// shifts every later tensor (a silent wrong load) or panics (slicing past
/// the data, src/io/load.rs `read_all`). The PyTorch import likewise
/// loads wrong values. Only a `Module` that disagrees with itself does
/// this, which `InconsistentModel` exists to report.
#[test]

fn load_checks_tensor_mut_too() {
    let mut good = Liar::new(2, 2);
    good.w[..2].copy_from_slice(&[5.0, 6.0]);
    good.b = [7.0, 8.0];
    let file = saved(&good);
    let st = write_safetensors(
        &[("0.weight", "F32", &[2], le32([5.0, 6.0])), ("0.bias", "F32", &[2], le32([7.0, 8.0]))],
        None,
    );
    for n_mut in [1, 3, 6] {
        let mut m = Liar::new(2, n_mut);
        let r = catch_unwind(AssertUnwindSafe(|| load(&mut m, &file)));
        let r = r.unwrap_or_else(|_| panic!("load panicked (tensor_mut of {n_mut})"));
        match r {
            Ok(()) => assert_eq!((&m.w[..2], m.b), (&[5.0, 6.0][..], [7.0, 8.0]), "{n_mut}"),
            Err(e) => {
                assert_eq!(e, LoadError::InconsistentModel { tensor: name("0.weight") });
                assert_eq!(m, Liar::new(2, n_mut));
            }
        }
        let mut m = Liar::new(2, n_mut);
        match torch::load(&mut m, &st) {
            Ok(()) => assert_eq!((&m.w[..2], m.b), (&[5.0, 6.0][..], [7.0, 8.0]), "torch {n_mut}"),
            Err(_) => assert_eq!(m, Liar::new(2, n_mut)),
        }
    }
}
