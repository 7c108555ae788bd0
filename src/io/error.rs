//! What can go wrong saving or loading a weight file.
//!
//! Every error names what is wrong; loading leaves the target model as it
//! was on any error.
//!
//! ```
//! use stackprop::io::{load, LoadError};
//! use stackprop::Linear;
//! let mut l = Linear::<f32, 2, 2>::zeros();
//! assert_eq!(load(&mut l, b"GIF89a.."), Err(LoadError::BadMagic));
//! assert_eq!(format!("{}", LoadError::BadMagic), "not a stackprop weight file (wrong magic bytes)");
//! ```

use super::format::ScalarType;
use crate::arch::{LayerDesc, LayerKind};
use core::fmt;

/// Why a weight file was not loaded.
///
/// ```
/// use stackprop::io::LoadError;
/// let e = LoadError::Truncated { expected: 200, found: 150 };
/// assert_eq!(format!("{e}"), "file is truncated: it should have 200 bytes, has 150");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LoadError {
    /// The first eight bytes are not the format's magic.
    BadMagic,
    /// The file is shorter than its header says (or than a header).
    Truncated {
        /// Bytes the file should have.
        expected: usize,
        /// Bytes it has.
        found: usize,
    },
    /// The file is longer than its header says.
    TrailingBytes {
        /// Bytes the file should have.
        expected: usize,
        /// Bytes it has.
        found: usize,
    },
    /// A format version this crate does not read.
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
    },
    /// The header's own checksum does not match: the header is corrupt.
    HeaderChecksum {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum of the header bytes.
        computed: u32,
    },
    /// The checksum over the whole file does not match: the file is corrupt.
    Checksum {
        /// The checksum stored at the end of the file.
        stored: u32,
        /// The checksum of the file's bytes.
        computed: u32,
    },
    /// A reserved byte is not zero.
    ReservedNotZero {
        /// Its offset in the file.
        offset: usize,
    },
    /// The header's sizes overflow the address space.
    SizeOverflow,
    /// The scalar-type code is not one this crate knows.
    UnknownScalar {
        /// The code in the file.
        code: u8,
    },
    /// The file holds another scalar type than the model.
    ScalarMismatch {
        /// The model's.
        expected: ScalarType,
        /// The file's.
        found: ScalarType,
    },
    /// The file has another number of layers than the model.
    LayerCount {
        /// The model's.
        expected: usize,
        /// The file's.
        found: u32,
    },
    /// A layer's kind code is not one this crate knows.
    UnknownLayerKind {
        /// The layer's index.
        layer: usize,
        /// The code in the file.
        code: u8,
    },
    /// A layer of the file differs from the model's (kind, dimensions or
    /// LeakyReLU slope).
    LayerMismatch {
        /// The layer's index.
        layer: usize,
        /// The model's layer.
        expected: LayerDesc,
        /// The file's layer.
        found: LayerDesc,
    },
    /// The file has another number of parameters than the model.
    ParamCount {
        /// The model's.
        expected: usize,
        /// The file's.
        found: u64,
    },
    /// A parameter is infinite or NaN.
    NonFinite {
        /// The tensor (in [`crate::Params`] numbering).
        tensor: usize,
        /// The element within the tensor.
        index: usize,
    },
    /// The model's [`crate::Params`] tensors do not add up to its `LEN`.
    InconsistentModel,
}

/// Why a model was not saved (the buffer is left as it was).
///
/// ```
/// use stackprop::io::SaveError;
/// let e = SaveError::BufferTooSmall { needed: 100, found: 64 };
/// assert_eq!(format!("{e}"), "buffer too small: the file needs 100 bytes, the buffer has 64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveError {
    /// The buffer is shorter than the file.
    BufferTooSmall {
        /// Bytes the file needs ([`super::file_size`]).
        needed: usize,
        /// Bytes in the buffer.
        found: usize,
    },
    /// A parameter is infinite or NaN (such a file could not be loaded).
    NonFinite {
        /// The tensor (in [`crate::Params`] numbering).
        tensor: usize,
        /// The element within the tensor.
        index: usize,
    },
    /// The model's [`crate::Params`] tensors do not add up to its `LEN`.
    InconsistentModel,
}

/// Writes a layer as `Linear(4 → 8)`, `LeakyRelu(slope 0.01)` or `Relu`.
pub(crate) fn fmt_layer(f: &mut fmt::Formatter<'_>, d: &LayerDesc) -> fmt::Result {
    match d.kind {
        LayerKind::Linear | LayerKind::LinearNoBias => {
            write!(f, "{}({} → {})", d.kind.name(), d.inputs, d.outputs)
        }
        LayerKind::LeakyRelu => write!(f, "LeakyRelu(slope {})", d.slope),
        k if d.inputs != 0 || d.outputs != 0 || d.slope.to_bits() != 0 => {
            write!(f, "{}({} → {}, slope {})", k.name(), d.inputs, d.outputs, d.slope)
        }
        k => f.write_str(k.name()),
    }
}

struct Layer<'a>(&'a LayerDesc);
impl fmt::Display for Layer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_layer(f, self.0)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LoadError::*;
        match *self {
            BadMagic => f.write_str("not a stackprop weight file (wrong magic bytes)"),
            Truncated { expected, found } => {
                write!(f, "file is truncated: it should have {expected} bytes, has {found}")
            }
            TrailingBytes { expected, found } => {
                write!(f, "file has trailing bytes: it should have {expected} bytes, has {found}")
            }
            UnsupportedVersion { found } => write!(
                f,
                "unsupported format version {found} (this build reads version {})",
                super::format::VERSION
            ),
            HeaderChecksum { stored, computed } => write!(
                f,
                "header is corrupt: checksum {computed:#010x}, header says {stored:#010x}"
            ),
            Checksum { stored, computed } => {
                write!(f, "file is corrupt: checksum {computed:#010x}, file says {stored:#010x}")
            }
            ReservedNotZero { offset } => write!(f, "reserved byte at offset {offset} is not zero"),
            SizeOverflow => f.write_str("header sizes overflow the address space"),
            UnknownScalar { code } => write!(f, "unknown scalar type code {code}"),
            ScalarMismatch { expected, found } => write!(
                f,
                "scalar type mismatch: the model uses {}, the file holds {}",
                expected.name(),
                found.name()
            ),
            LayerCount { expected, found } => write!(
                f,
                "architecture mismatch: the model has {expected} layers, the file {found}"
            ),
            UnknownLayerKind { layer, code } => {
                write!(f, "layer {layer} has unknown kind code {code}")
            }
            LayerMismatch { layer, expected, found } => write!(
                f,
                "architecture mismatch at layer {layer}: the model has {}, the file has {}",
                Layer(&expected),
                Layer(&found)
            ),
            ParamCount { expected, found } => {
                write!(f, "parameter count mismatch: the model has {expected}, the file {found}")
            }
            NonFinite { tensor, index } => {
                write!(f, "parameter {index} of tensor {tensor} is not finite (inf or NaN)")
            }
            InconsistentModel => {
                f.write_str("the model's parameter tensors do not add up to its length")
            }
        }
    }
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SaveError::BufferTooSmall { needed, found } => {
                write!(f, "buffer too small: the file needs {needed} bytes, the buffer has {found}")
            }
            SaveError::NonFinite { tensor, index } => {
                write!(f, "parameter {index} of tensor {tensor} is not finite (inf or NaN)")
            }
            SaveError::InconsistentModel => {
                f.write_str("the model's parameter tensors do not add up to its length")
            }
        }
    }
}

impl core::error::Error for LoadError {}
impl core::error::Error for SaveError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn layer_mismatch_names_both_sides() {
        let e = LoadError::LayerMismatch {
            layer: 2,
            expected: LayerDesc::new(LayerKind::Linear, 8, 3),
            found: LayerDesc::new(LayerKind::Linear, 8, 4),
        };
        assert_eq!(
            format!("{e}"),
            "architecture mismatch at layer 2: the model has Linear(8 → 3), the file has Linear(8 → 4)"
        );
        let e = LoadError::LayerMismatch {
            layer: 1,
            expected: LayerDesc { slope: 0.01, ..LayerDesc::new(LayerKind::LeakyRelu, 0, 0) },
            found: LayerDesc::new(LayerKind::Tanh, 0, 0),
        };
        assert_eq!(
            format!("{e}"),
            "architecture mismatch at layer 1: the model has LeakyRelu(slope 0.01), the file has Tanh"
        );
    }

    #[test]
    fn scalar_mismatch_message() {
        let e = LoadError::ScalarMismatch { expected: ScalarType::F32, found: ScalarType::F64 };
        assert_eq!(format!("{e}"), "scalar type mismatch: the model uses f32, the file holds f64");
    }
}
