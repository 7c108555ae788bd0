//! Version 1 of the weight-file format, read for compatibility: its layer
//! entries are translated into the records of version 2 they mean, so one
//! comparison with the model serves both versions.
//!
//! Version 1 knew seven layer kinds and one scalar type per file:
//!
//! | offset | bytes | header field |
//! |---|---|---|
//! | 10 | 1 | scalar type: `1` f32, `2` f64 |
//! | 11 | 1 | reserved, `0` |
//! | 12 | 4 | number of layers `L` (u32) |
//! | 16 | 8 | number of scalar parameters `P` (u64) |
//! | 24 | 4 | reserved, `0` |
//!
//! then `L` entries of 32 bytes at `32 + 32·k` — kind (1 byte: 1 Linear,
//! 2 LinearNoBias, 16 Relu, 17 LeakyRelu, 18 Sigmoid, 19 Tanh, 20
//! Identity), 7 reserved bytes, input and output dimensions (u64; 0 for
//! activations), the LeakyReLU slope (f64; `0.0` for other kinds) — and the
//! parameters as in version 2.

use super::error::LoadError;
use super::format::{
    Record, dim_record, get_u32, get_u64, node_record, scalar_record, tensor_record, value_record,
};
use crate::module::{Dtype, ParamKind, Value};

/// Bytes of a layer entry.
pub(crate) const ENTRY_LEN: usize = 32;
const ENTRIES_AT: usize = 32;

/// The number of layers, the bytes of the parameters and the scalar type
/// of a version-1 header whose checksum is valid.
pub(crate) fn header(b: &[u8]) -> Result<(u64, u64, Dtype), LoadError> {
    if b[11] != 0 {
        return Err(LoadError::ReservedNotZero { offset: 11 });
    }
    if let Some(i) = b[24..28].iter().position(|&x| x != 0) {
        return Err(LoadError::ReservedNotZero { offset: 24 + i });
    }
    let scalar = match b[10] {
        1 => Dtype::F32,
        2 => Dtype::F64,
        code => return Err(LoadError::UnknownScalar { code }),
    };
    let bytes = get_u64(b, 16).checked_mul(scalar.bytes() as u64).ok_or(LoadError::SizeOverflow)?;
    Ok((get_u32(b, 12) as u64, bytes, scalar))
}

/// The version-2 records of layer entry `k`, and how many there are.
fn entry(b: &[u8], k: usize, s: Dtype) -> Result<([Record; 6], usize), LoadError> {
    let at = ENTRIES_AT + k * ENTRY_LEN;
    let e = b.get(at..at + ENTRY_LEN).ok_or(LoadError::SizeOverflow)?;
    if let Some(i) = e[1..8].iter().position(|&x| x != 0) {
        return Err(LoadError::ReservedNotZero { offset: at + 1 + i });
    }
    let (i, o, slope) = (get_u64(e, 8), get_u64(e, 16), get_u64(e, 24));
    let mut r = [[0u8; 64]; 6];
    let bad = LoadError::BadRecord { record: k };
    let n = match e[0] {
        1 | 2 => {
            let (kind, tensors) = if e[0] == 1 { ("Linear", 2) } else { ("LinearNoBias", 1) };
            if slope != 0 {
                return Err(bad);
            }
            r[0] = node_record(kind, 3, tensors, 0);
            r[1] = scalar_record(s);
            r[2] = dim_record("in", i);
            r[3] = dim_record("out", o);
            r[4] = tensor_record("weight", ParamKind::Weight, s, &[o, i]).ok_or(bad)?;
            r[5] = tensor_record("bias", ParamKind::Bias, s, &[o]).ok_or(bad)?;
            4 + tensors
        }
        17 => {
            if i != 0 || o != 0 {
                return Err(bad);
            }
            let a = f64::from_bits(slope);
            // an f32 model wrote its slope widened, exactly
            let v = if s == Dtype::F32 && (a as f32) as f64 == a && !a.is_nan() {
                Value::F32(a as f32)
            } else {
                Value::F64(a)
            };
            r[0] = node_record("LeakyRelu", 2, 0, 0);
            r[1] = scalar_record(s);
            r[2] = value_record("slope", v);
            3
        }
        code @ 16..=20 => {
            if i != 0 || o != 0 || slope != 0 {
                return Err(bad);
            }
            let kind = ["Relu", "", "Sigmoid", "Tanh", "Identity"][code as usize - 16];
            r[0] = node_record(kind, 0, 0, 0);
            1
        }
        code => return Err(LoadError::UnknownLayerKind { layer: k, code }),
    };
    Ok((r, n))
}

/// The number of version-2 records the `layers` entries of `b` mean.
pub(crate) fn records(b: &[u8], layers: usize, s: Dtype) -> Result<usize, LoadError> {
    (0..layers).try_fold(0, |n, k| Ok(n + entry(b, k, s)?.1))
}

/// Version-2 record `j` of the entries of `b`.
pub(crate) fn record(
    b: &[u8],
    layers: usize,
    s: Dtype,
    mut j: usize,
) -> Option<Result<Record, LoadError>> {
    for k in 0..layers {
        match entry(b, k, s) {
            Err(e) => return Some(Err(e)),
            Ok((r, n)) if j < n => return Some(Ok(r[j])),
            Ok((_, n)) => j -= n,
        }
    }
    None
}
