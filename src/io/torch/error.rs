//! What can go wrong importing a `.safetensors` file.

use super::json::JsonError;
use super::safetensors::{Dtype, Shape};
pub use crate::io::name::{NAME_CAP, Name};
use core::fmt;

/// Why a `.safetensors` file was not imported (the model is left as it
/// was).
///
/// ```
/// use stackprop::io::torch::{Name, TorchError};
/// let e = TorchError::MissingTensor { name: Name::new("2.bias") };
/// assert_eq!(format!("{e}"), "tensor 2.bias is missing from the file");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum TorchError {
    /// The file is shorter than its header length says (or than 8 bytes).
    Truncated {
        /// Bytes needed.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// The JSON header is not valid UTF-8.
    HeaderNotUtf8 {
        /// File offset of the first bad byte.
        offset: usize,
    },
    /// The JSON header is malformed or not shaped like a safetensors
    /// header.
    Json {
        /// File offset where it went wrong.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// A tensor the model needs is not in the file.
    MissingTensor {
        /// Its state-dict name.
        name: Name,
    },
    /// The file has a tensor the model has no place for.
    UnexpectedTensor {
        /// Its name.
        name: Name,
    },
    /// A tensor name appears twice.
    DuplicateTensor {
        /// Its name.
        name: Name,
    },
    /// A tensor's dtype cannot be loaded into the model's tensor.
    WrongDtype {
        /// The tensor's name.
        name: Name,
        /// The model tensor's element type (`f64` takes `F64` or, exactly
        /// widened, `F32`; every other type its own).
        expected: crate::module::Dtype,
        /// The tensor's dtype.
        found: Dtype,
    },
    /// A tensor's shape differs from the model's.
    WrongShape {
        /// The tensor's name.
        name: Name,
        /// The shape the model needs (PyTorch's: `[out, in]` for a dense
        /// weight).
        expected: Shape,
        /// The shape in the file.
        found: Shape,
    },
    /// A tensor's `data_offsets` are reversed, out of the data section, or
    /// do not span `elements × dtype size` bytes.
    BadOffsets {
        /// The tensor's name.
        name: Name,
        /// Its begin offset.
        begin: u64,
        /// Its end offset.
        end: u64,
        /// Bytes its shape and dtype need.
        needed: u64,
        /// Bytes in the data section.
        data_len: usize,
    },
    /// Two tensors share bytes.
    Overlap {
        /// One tensor.
        name: Name,
        /// The other.
        other: Name,
    },
    /// Bytes of the data section belong to no tensor.
    UnusedData {
        /// Bytes the tensors use.
        used: u64,
        /// Bytes in the data section.
        data_len: usize,
    },
    /// A value is infinite or NaN.
    NonFinite {
        /// The tensor's name.
        name: Name,
        /// The element's index (row-major, as in PyTorch).
        index: usize,
    },
    /// The model cannot take an import: a tensor of a type files do not
    /// hold (a SIMD pack), a tensor that does not match its layer's
    /// description, or a path deeper than [`crate::module::MAX_DEPTH`].
    UnsupportedModel {
        /// The model tensor's path.
        name: Name,
    },
}

impl From<JsonError> for TorchError {
    fn from(e: JsonError) -> Self {
        TorchError::Json { offset: e.offset, what: e.what }
    }
}

impl fmt::Display for TorchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TorchError::*;
        match self {
            Truncated { expected, found } => {
                write!(
                    f,
                    "file is truncated: it should have at least {expected} bytes, has {found}"
                )
            }
            HeaderNotUtf8 { offset } => write!(f, "header is not UTF-8 (byte {offset})"),
            Json { offset, what } => write!(f, "bad safetensors header at byte {offset}: {what}"),
            MissingTensor { name } => write!(f, "tensor {name} is missing from the file"),
            UnexpectedTensor { name } => {
                write!(f, "unexpected tensor {name}: the model has no parameter of that name")
            }
            DuplicateTensor { name } => write!(f, "tensor {name} appears more than once"),
            WrongDtype { name, expected, found } => {
                let want = Dtype::of(*expected);
                let or = if *expected == crate::module::Dtype::F64 { " or F32" } else { "" };
                write!(
                    f,
                    "tensor {name} has dtype {found}, the {expected} model tensor needs {want}{or}"
                )
            }
            WrongShape { name, expected, found } => {
                write!(f, "tensor {name} has shape {found}, the model needs {expected}")
            }
            BadOffsets { name, begin, end, needed, data_len } => write!(
                f,
                "tensor {name} has data_offsets [{begin}, {end}]: it needs {needed} bytes \
                 within a data section of {data_len}"
            ),
            Overlap { name, other } => write!(f, "tensors {name} and {other} overlap"),
            UnusedData { used, data_len } => {
                write!(f, "the tensors use {used} of the data section's {data_len} bytes")
            }
            NonFinite { name, index } => {
                write!(f, "element {index} of tensor {name} is not finite (inf or NaN)")
            }
            UnsupportedModel { name } => {
                write!(f, "the model's tensor {name} cannot take an import")
            }
        }
    }
}

impl core::error::Error for TorchError {}
