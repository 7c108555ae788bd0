//! What can go wrong saving or loading a weight file.
//!
//! Every error names what is wrong; loading leaves the target model as it
//! was on any error. Layers and tensors are named by their paths (`2`,
//! `3.inner.0.weight`) and layers shown with their hyper-parameters
//! (`Linear(f32, in=4, out=8)`).
//!
//! ```
//! use stackprop::io::{load, LoadError};
//! use stackprop::Linear;
//! let mut l = Linear::<f32, 2, 2>::zeros();
//! assert_eq!(load(&mut l, b"GIF89a.."), Err(LoadError::BadMagic));
//! assert_eq!(format!("{}", LoadError::BadMagic), "not a stackprop weight file (wrong magic bytes)");
//! ```

use super::name::Name;
use core::fmt;

/// Why a weight file was not loaded.
///
/// It carries the paths and layers it names as text in fixed buffers, so
/// it needs no allocator and is a few hundred bytes (clippy's
/// `result_large_err` notes functions returning it).
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
    /// A version-1 file's scalar-type code is not one this crate knows.
    UnknownScalar {
        /// The code in the file.
        code: u8,
    },
    /// A version-1 file's layer kind code is not one this crate knows.
    UnknownLayerKind {
        /// The layer's index.
        layer: usize,
        /// The code in the file.
        code: u8,
    },
    /// A record of the file's architecture signature is malformed (an
    /// unknown tag or code, reserved or unused bytes not zero, a name that
    /// is not UTF-8); in a version-1 file, a layer entry with fields its
    /// kind does not use.
    BadRecord {
        /// The record's index (version 1: the layer entry's).
        record: usize,
    },
    /// A layer of the file differs from the model's (kind, type,
    /// dimensions, values, tensors), or one of them has a layer the other
    /// has not (shown as `nothing`).
    LayerMismatch {
        /// The layer's path in the model.
        at: Name,
        /// The model's layer.
        expected: Name,
        /// The file's.
        found: Name,
    },
    /// The header counts another number of tensors than the model (and
    /// its signature) has.
    TensorCount {
        /// The model's.
        expected: usize,
        /// The file header's.
        found: usize,
    },
    /// The file's data has another length than the model's tensors.
    DataLength {
        /// Bytes the model's tensors have.
        expected: usize,
        /// Bytes the file holds.
        found: u64,
    },
    /// A parameter is infinite or NaN.
    NonFinite {
        /// The tensor's path.
        tensor: Name,
        /// The element within the tensor (column-major).
        index: usize,
    },
    /// The model holds a type files do not store (a SIMD pack), or a
    /// layer does not give a value its description lists, at this layer.
    Unsupported {
        /// The layer's path.
        layer: Name,
    },
    /// The model is nested deeper than [`crate::module::MAX_DEPTH`].
    TooDeep,
    /// A tensor of the model does not match its description (a layer's
    /// `Module` implementation disagrees with itself: its `tensor` or
    /// `tensor_mut` hands out another type or length).
    InconsistentModel {
        /// The tensor's path (empty if it is a count that disagrees).
        tensor: Name,
    },
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
        /// The tensor's path.
        tensor: Name,
        /// The element within the tensor (column-major).
        index: usize,
    },
    /// The model holds a type files do not store (a SIMD pack), or a
    /// layer does not give a value its description lists, at this layer.
    Unsupported {
        /// The layer's path.
        layer: Name,
    },
    /// The model is nested deeper than [`crate::module::MAX_DEPTH`].
    TooDeep,
    /// A tensor of the model does not match its description.
    InconsistentModel {
        /// The tensor's path (empty if it is a count that disagrees).
        tensor: Name,
    },
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
                "unsupported format version {found} (this build reads versions 1 and {})",
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
            UnknownLayerKind { layer, code } => {
                write!(f, "layer {layer} has unknown kind code {code}")
            }
            BadRecord { record } => {
                write!(f, "record {record} of the architecture signature is malformed")
            }
            LayerMismatch { at, expected, found } => write!(
                f,
                "architecture mismatch at layer {at}: the model has {expected}, the file has {found}"
            ),
            DataLength { expected, found } => write!(
                f,
                "parameter size mismatch: the model's tensors have {expected} bytes, the file {found}"
            ),
            NonFinite { tensor, index } => {
                write!(f, "value {index} of tensor {tensor} is not finite (inf or NaN)")
            }
            Unsupported { layer } => {
                write!(f, "layer {layer} cannot be described in a weight file")
            }
            TensorCount { expected, found } => write!(
                f,
                "tensor count mismatch: the model has {expected} tensors, the file header {found}"
            ),
            TooDeep => f.write_str("the model is nested too deeply for a weight file"),
            InconsistentModel { tensor } => {
                write!(f, "the model's tensor {tensor} does not match its layer's description")
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
                write!(f, "value {index} of tensor {tensor} is not finite (inf or NaN)")
            }
            SaveError::Unsupported { layer } => {
                write!(f, "layer {layer} cannot be described in a weight file")
            }
            SaveError::TooDeep => f.write_str("the model is nested too deeply for a weight file"),
            SaveError::InconsistentModel { tensor } => {
                write!(f, "the model's tensor {tensor} does not match its layer's description")
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
            at: Name::new("2"),
            expected: Name::new("Linear(f32, in=8, out=3)"),
            found: Name::new("Linear(f32, in=8, out=4)"),
        };
        assert_eq!(
            format!("{e}"),
            "architecture mismatch at layer 2: the model has Linear(f32, in=8, out=3), \
             the file has Linear(f32, in=8, out=4)"
        );
    }
}
