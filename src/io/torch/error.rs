//! What can go wrong importing a `.safetensors` file.

use super::json::{JsonError, JsonStr};
use super::safetensors::{Dtype, Shape};
use crate::io::ScalarType;
use core::fmt;

/// Bytes a [`Name`] holds; longer names are cut (and shown with `…`).
pub const NAME_CAP: usize = 40;

/// A tensor name (or dtype string) carried in an error without allocating:
/// at most [`NAME_CAP`] bytes, cut at a character boundary.
///
/// ```
/// use stackprop::io::torch::Name;
/// let n = Name::new("0.weight");
/// assert_eq!(n.as_str(), "0.weight");
/// assert_eq!(format!("{n}"), "0.weight");
/// let long = Name::new(&"x".repeat(100));
/// assert!(long.is_cut() && format!("{long}").ends_with('…'));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    buf: [u8; NAME_CAP],
    len: u8,
    cut: bool,
}

impl Name {
    /// An empty name.
    pub const fn empty() -> Self {
        Self { buf: [0; NAME_CAP], len: 0, cut: false }
    }

    /// `s`, cut to [`NAME_CAP`] bytes.
    pub fn new(s: &str) -> Self {
        let mut n = Self::empty();
        n.push_str(s);
        n
    }

    pub(crate) fn from_json(s: &JsonStr<'_>) -> Self {
        let mut n = Self::empty();
        for c in s.chars() {
            n.push(c);
        }
        n
    }

    pub(crate) fn push(&mut self, c: char) {
        let len = self.len as usize;
        let w = c.len_utf8();
        if self.cut || len + w > NAME_CAP {
            self.cut = true;
            return;
        }
        c.encode_utf8(&mut self.buf[len..len + w]);
        self.len += w as u8;
    }

    pub(crate) fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push(c));
    }

    pub(crate) fn push_usize(&mut self, mut n: usize) {
        let mut d = [0u8; 20];
        let mut k = d.len();
        loop {
            k -= 1;
            d[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        d[k..].iter().for_each(|&b| self.push(b as char));
    }

    /// The (possibly cut) name.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }

    /// Whether the name was longer than [`NAME_CAP`] bytes and was cut.
    pub fn is_cut(&self) -> bool {
        self.cut
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.cut { f.write_str("…") } else { Ok(()) }
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

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
    /// A tensor's dtype cannot be loaded into the model's scalar type.
    WrongDtype {
        /// The tensor's name.
        name: Name,
        /// The model's scalar type (`f32` takes `F32`; `f64` takes `F64`
        /// or, exactly widened, `F32`).
        expected: ScalarType,
        /// The tensor's dtype.
        found: Dtype,
    },
    /// A tensor's shape differs from the model's.
    WrongShape {
        /// The tensor's name.
        name: Name,
        /// The shape the model needs (`[out, in]` or `[out]`).
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
    /// The model's parameter tensors do not line up with its layers (a
    /// custom layer the importer does not know how to name).
    UnsupportedModel {
        /// The first layer that does not line up.
        layer: usize,
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
                let want = match expected {
                    ScalarType::F32 => "F32",
                    ScalarType::F64 => "F64 or F32",
                };
                write!(
                    f,
                    "tensor {name} has dtype {found}, the {} model needs {want}",
                    expected.name()
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
            UnsupportedModel { layer } => write!(
                f,
                "layer {layer}'s parameter tensors do not line up with a Linear or LinearNoBias"
            ),
        }
    }
}

impl core::error::Error for TorchError {}
