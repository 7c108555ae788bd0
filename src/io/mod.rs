//! Weights to and from bytes: a validated, documented weight-file format,
//! and import of PyTorch weights from `.safetensors` files ([`torch`]).
//!
//! [`save()`] writes a model into a caller's `&mut [u8]` (no allocation) and
//! returns the bytes written; [`file_size`] is the exact size as a `const
//! fn`, so the buffer can be an array sized at compile time. [`load()`] checks
//! a file completely — integrity, then fit to the model, then finiteness —
//! before it writes a single parameter, so the model is unchanged on any
//! [`LoadError`]. A round trip is bit-exact. Any [`Module`](crate::Module)
//! saves and loads, whatever its layers and their tensors' element types
//! (floats and integers; not the SIMD packs); files of format version 1
//! load too.
//!
//! ```
//! use stackprop::io::{file_size, load, save, LoadError};
//! use stackprop::prelude::*;
//! type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>];
//! let mut rng = Rng::new(7);
//! let net: Net = seq![Linear::init(&mut rng, Init::HeUniform), Relu,
//!                     Linear::init(&mut rng, Init::HeUniform)];
//! let mut buf = [0u8; file_size::<Net>()];
//! let n = save(&net, &mut buf).unwrap();
//!
//! let mut back = Net::default();
//! load(&mut back, &buf[..n]).unwrap();
//! assert_eq!(back, net);
//!
//! // Loading into another architecture says where they differ.
//! let mut wrong: Seq![Linear<f32, 4, 8>, Tanh, Linear<f32, 8, 3>] = Default::default();
//! let e = load(&mut wrong, &buf).unwrap_err();
//! assert_eq!(e.to_string(),
//!     "architecture mismatch at layer 1: the model has Tanh, the file has Relu");
//! ```
//!
//! # File format, version 2
//!
//! All integers are unsigned little-endian; values are little-endian (IEEE
//! 754 for floats, two's complement for signed integers). With `R` records
//! and `D` bytes of values a file has exactly `36 + 64·R + D` bytes:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `89 53 50 57 0D 0A 1A 0A` (`\x89SPW\r\n\x1a\n`, [`format::MAGIC`]) |
//! | 8 | 2 | format version, `2` (u16) |
//! | 10 | 2 | reserved, `0` |
//! | 12 | 4 | number of records `R` (u32) |
//! | 16 | 8 | bytes of the values `D` (u64) |
//! | 24 | 4 | number of tensors (u32) |
//! | 28 | 4 | CRC-32 of bytes 0..28 (the header's own checksum) |
//! | 32 | 64·R | the architecture signature: record `j` at `32 + 64·j`, below |
//! | 32 + 64·R | D | the tensors' values, below |
//! | 32 + 64·R + D | 4 | CRC-32 of every byte before it |
//!
//! The signature is the model's description ([`crate::module`]) walked in
//! order: for each node (a layer, or a block before its children) a node
//! record, one record per hyper-parameter and one per tensor of its own;
//! for each child of a block a child record, followed by the child's
//! nodes. A record is 64 bytes: a tag (1 byte), 7 reserved bytes (`0`), a
//! name (32 bytes of UTF-8, padded with `0`) and 24 bytes that depend on
//! the tag (at offsets 40..64; unused bytes `0`):
//!
//! | tag | record | name | at 40.. |
//! |---|---|---|---|
//! | 1 | node | its kind (`Linear`) | hyper-parameters, tensors and children it has (3 × u32) |
//! | 2 | scalar type parameter | the type's name (`f32`) | its element-type code (u8) |
//! | 3 | dimension | its name (`in`) | its value (u64) |
//! | 4 | value | its name (`slope`) | its type (u8: `1` f32, `2` f64, `6` i64, `8` bool); at 48, its bits (u64; an `f32`'s zero-extended) |
//! | 5 | tensor | its name (`weight`) | kind (u8: `1` weight, `2` bias, `3` buffer), element type (u8), rank `r` ≤ 5 (u8), a reserved byte; at 44, the `r` dimensions of PyTorch's shape (u32 each) |
//! | 6 | child of a block | its name (`inner`) | the entries of its sequence (u64) |
//!
//! Element-type codes ([`Dtype::code`](crate::module::Dtype::code)): `1`
//! f32, `2` f64, `3` i8, `4` i16, `5` i32, `6` i64, `7` u8. A
//! `Linear<f32, 4, 8>` is six records: node `Linear` (3, 2, 0), scalar
//! `f32`, dimension `in` 4, dimension `out` 8, tensor `weight` (weight,
//! f32, `[8, 4]`), tensor `bias` (bias, f32, `[8]`).
//!
//! The values are the tensors in order (a node's before its children's),
//! each in **column-major** order of its shape (the first index fastest;
//! for a dense weight `[O, I]` that is nalgebra's storage: element `(o, i)`
//! is value `o + i·O`), each value in its own type's bytes, with no padding.
//!
//! The checksum is CRC-32/ISO-HDLC ([`crc`]; the same as zlib's `crc32`).
//! The header has its own so that a corrupt header is reported as
//! corruption, not as a bogus length, and a file whose header is intact but
//! whose length is wrong is reported as truncated or as having trailing
//! bytes.
//!
//! [`load()`] checks, in order: magic; at least a header's bytes; version;
//! header checksum; reserved header bytes; the length the header implies
//! against the file's length; the file checksum; then against the model:
//! the signature record by record (a difference is reported with the path
//! of the layer it is in and both layers written out, e.g. `Linear(f32,
//! in=4, out=8)`), the length of the values; and finally that no value is
//! infinite or NaN. Two models have the same signature only if every layer
//! has the same kind, element types, dimensions and values (bit for bit:
//! a slope of `-0.0` is not `0.0`) and the same tensors, so a model has
//! exactly one valid file for given values.
//!
//! # Version 1
//!
//! Files of version 1 (this crate's format before layers described
//! themselves: seven layer kinds, one scalar type per file, 32-byte layer
//! entries) load into the same models they did: each entry is read as the
//! records of version 2 it means, and the values are laid out alike.
//! [`save()`] writes version 2.

// The errors carry the paths and layers they name as text in fixed buffers
// (a few hundred bytes) so that they need no allocator; boxing them would.
#![allow(clippy::result_large_err)]

pub mod crc;
pub mod error;
pub mod format;
pub mod load;
mod name;
pub mod save;
#[cfg(feature = "torch")]
pub mod torch;
mod v1;

pub use error::{LoadError, SaveError};
pub use format::file_size;
pub use load::{Header, load};
pub use name::{NAME_CAP, Name};
pub use save::save;
