//! Integer tensors as parameters: an int8 dense layer (`i8` weights, `i32`
//! bias) and a requantizing shift, defined here. They can only infer (no
//! `Train`), and they save, load, import and export like float layers.

use nalgebra::{SMatrix, SVector};
use stackprop::export::write_rust;
use stackprop::io::{self, Header, file_size, torch};
use stackprop::module::{AnyScalar, Desc, Module, ParamKind, Value};
use stackprop::prelude::*;

/// `y = W·x + b` in integers: `i8` inputs and weights, `i32` bias and
/// outputs (the accumulator of an int8 kernel).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QDense<const I: usize, const O: usize> {
    /// `W`, `O×I`.
    pub weight: SMatrix<i8, O, I>,
    /// `b`.
    pub bias: SVector<i32, O>,
}

impl<const I: usize, const O: usize> QDense<I, O> {
    /// The `const` constructor exported source calls.
    pub const fn from_parts(w: [[i8; O]; I], b: [i32; O]) -> Self {
        QDense {
            weight: SMatrix::from_array_storage(nalgebra::ArrayStorage(w)),
            bias: SVector::from_array_storage(nalgebra::ArrayStorage([b])),
        }
    }
}

impl<const I: usize, const O: usize> Zeros for QDense<I, O> {
    fn zeros() -> Self {
        QDense { weight: Zeros::zeros(), bias: Zeros::zeros() }
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
        self.bias.set_zero();
    }
}

/// Integer tensors are buffers: saved and loaded, never trained.
impl<const I: usize, const O: usize> Module for QDense<I, O> {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("QDense")
        .rust("crate::QDense", "from_parts")
        .dim("in", I)
        .dim("out", O)
        .tensor::<i8>("weight", ParamKind::Buffer, &[O, I])
        .tensor::<i32>("bias", ParamKind::Buffer, &[O]);
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(self.weight.as_slice().into()),
            1 => Some(self.bias.as_slice().into()),
            _ => None,
        }
    }
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(self.weight.as_mut_slice().into()),
            1 => Some(self.bias.as_mut_slice().into()),
            _ => None,
        }
    }
}

impl<const I: usize, const O: usize, const B: usize> Layer<SMatrix<i8, I, B>> for QDense<I, O> {
    type Output = SMatrix<i32, O, B>;
    fn forward(&self, x: &SMatrix<i8, I, B>) -> SMatrix<i32, O, B> {
        SMatrix::from_fn(|o, b| {
            // an int8 kernel's i32 accumulator wraps
            (0..I).fold(self.bias[o], |s, i| {
                s.wrapping_add(i32::from(self.weight[(o, i)]) * i32::from(x[(i, b)]))
            })
        })
    }
}

/// `y = clamp(x >> shift, −128, 127)`: back to `i8`. The shift is a value
/// of the layer (a hyper-parameter not in its type).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Requant {
    shift: u32,
}

impl Requant {
    /// A right shift by `shift` bits (below 32).
    pub const fn new(shift: u32) -> Self {
        assert!(shift < 32);
        Requant { shift }
    }
}

impl Zeros for Requant {
    fn zeros() -> Self {
        Requant::default()
    }
    fn set_zero(&mut self) {}
}

impl Module for Requant {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("Requant").rust("crate::Requant", "new").value("shift");
    fn value(&self, k: usize) -> Option<Value> {
        (k == 0).then_some(Value::I64(i64::from(self.shift)))
    }
}

impl<const N: usize, const B: usize> Layer<SMatrix<i32, N, B>> for Requant {
    type Output = SMatrix<i8, N, B>;
    fn forward(&self, x: &SMatrix<i32, N, B>) -> SMatrix<i8, N, B> {
        x.map(|v| (v >> self.shift).clamp(-128, 127) as i8)
    }
}

type Net = Seq![QDense<4, 3>, Requant, QDense<3, 2>];

fn net() -> Net {
    let mut a = QDense::zeros();
    a.weight = SMatrix::from_fn(|o, i| (o as i8 * 37 - i as i8 * 23).wrapping_mul(3));
    a.bias = SVector::from_fn(|o, _| 1000 * o as i32 - 70_000);
    let mut b = QDense::zeros();
    b.weight = SMatrix::from_fn(|o, i| if (o + i) % 2 == 0 { 127 } else { -128 });
    b.bias = SVector::from_fn(|o, _| i32::MIN + o as i32);
    seq![a, Requant::new(6), b]
}

#[test]
fn integer_layers_infer() {
    let x = SMatrix::<i8, 4, 2>::from_fn(|i, b| (i as i8 - 2) * (b as i8 * 50 + 3));
    let y = net().forward(&x);
    let h = (net().0.forward(&x)).map(|v| (v >> 6).clamp(-128, 127) as i8);
    assert_eq!(y, net().1.1.forward(&h));
    assert_eq!(<Net as Module>::SIZE.params, 0); // buffers, not parameters
    assert_eq!(<Net as Module>::SIZE.bytes, 4 * 3 + 4 * 3 + 3 * 2 + 4 * 2);
}

#[test]
fn integer_tensors_save_and_load_bit_exactly() {
    let m = net();
    let mut buf = [0u8; file_size::<Net>()];
    let n = io::save(&m, &mut buf).unwrap();
    // the signature: QDense (node, 2 dims, 2 tensors), Requant (node,
    // value), QDense again
    assert_eq!(Header::read(&buf).unwrap().records, 5 + 2 + 5);
    let tensor_record = 32 + 3 * 64; // record 3: QDense's weight
    assert_eq!(&buf[tensor_record + 40..tensor_record + 44], &[3, 3, 2, 0]); // buffer, i8, rank 2
    assert_eq!(&buf[tensor_record + 64 + 41..tensor_record + 64 + 42], &[5]); // the bias: i32
    let shift = 32 + 6 * 64; // record 6: Requant's value
    assert_eq!(buf[shift + 40], 6); // an integer value
    assert_eq!(&buf[shift + 48..shift + 56], &6u64.to_le_bytes());

    // The shift is part of the architecture (a zeroed model's is 0).
    assert!(io::load(&mut Net::zeros(), &buf[..n]).is_err());
    let mut back: Net = seq![QDense::zeros(), Requant::new(6), QDense::zeros()];
    io::load(&mut back, &buf[..n]).unwrap();
    assert_eq!(back, m);

    // A different shift is a different architecture.
    let mut other: Net = seq![QDense::zeros(), Requant::new(7), QDense::zeros()];
    assert_eq!(
        io::load(&mut other, &buf).unwrap_err().to_string(),
        "architecture mismatch at layer 1: the model has Requant(shift=7), the file has Requant(shift=6)"
    );
    assert_eq!(other.0, QDense::zeros());
}

/// A safetensors file with `I8` and `I32` tensors (PyTorch's
/// `torch.int8`, `torch.int32`), row-major, imports into the column-major
/// integer tensors.
#[test]
fn integer_tensors_import_from_safetensors() {
    let w: [[i8; 2]; 2] = [[1, -2], [3, -128]]; // W[o][i], row-major
    let b: [i32; 2] = [i32::MAX, -5];
    let header = r#"{"0.bias":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"0.weight":{"dtype":"I8","shape":[2,2],"data_offsets":[8,12]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend(b.iter().flat_map(|v| v.to_le_bytes()));
    file.extend(w.iter().flatten().map(|&v| v as u8));
    let mut m = QDense::<2, 2>::zeros();
    torch::load(&mut m, &file).unwrap();
    assert_eq!(m.weight, SMatrix::<i8, 2, 2>::new(1, -2, 3, -128));
    assert_eq!(m.bias, SVector::<i32, 2>::new(i32::MAX, -5));

    let f32_file = file_with(r#""dtype":"F32""#);
    let e = torch::load(&mut m, &f32_file).unwrap_err();
    assert_eq!(e.to_string(), "tensor 0.bias has dtype F32, the i32 model tensor needs I32");

    fn file_with(dtype: &str) -> Vec<u8> {
        let header = [r#"{"0.bias":{"#, dtype, r#","shape":[2],"data_offsets":[0,8]},"0.weight":{"dtype":"I8","shape":[2,2],"data_offsets":[8,12]}}"#].concat();
        let mut f = (header.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(header.as_bytes());
        f.extend([0u8; 12]);
        f
    }
}

/// Integer tensors and values export as Rust literals.
#[test]
fn integer_layers_export() {
    let m: Seq![QDense<1, 2>, Requant] =
        seq![QDense::from_parts([[-7, 127]], [-1, 65536]), Requant::new(4)];
    let mut src = String::new();
    write_rust(&mut src, "Q", "Q", &m).unwrap();
    assert_eq!(
        src,
        "/// The exported model's type.
pub type Q = stackprop::Seq![
    crate::QDense<1, 2>,
    crate::Requant,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static Q: Q = stackprop::seq![
    crate::QDense::<1, 2>::from_parts([[-7, 127]], [-1, 65536]),
    crate::Requant::new(4),
];
"
    );
    pub type Q = stackprop::Seq![crate::QDense<1, 2>, crate::Requant];
    pub static Q: Q = stackprop::seq![
        crate::QDense::<1, 2>::from_parts([[-7, 127]], [-1, 65536]),
        crate::Requant::new(4)
    ];
    assert_eq!(Q, m);
}
