//! Weights to and from bytes: a validated, documented weight-file format,
//! and import of PyTorch weights from `.safetensors` files ([`torch`]).
//!
//! [`save()`] writes a model into a caller's `&mut [u8]` (no allocation) and
//! returns the bytes written; [`file_size`] is the exact size as a `const
//! fn`, so the buffer can be an array sized at compile time. [`load()`] checks
//! a file completely — integrity, then fit to the model, then finiteness —
//! before it writes a single parameter, so the model is unchanged on any
//! [`LoadError`]. A round trip is bit-exact. Models are any [`Arch`] +
//! [`Params<T>`](crate::Params) with `T` = `f32` or `f64` ([`FileScalar`]).
//!
//! ```
//! use stackprop::io::{file_size, load, save, LoadError};
//! use stackprop::prelude::*;
//! type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>];
//! let mut rng = Rng::new(7);
//! let net: Net = seq![Linear::init(&mut rng, Init::HeUniform), Relu,
//!                     Linear::init(&mut rng, Init::HeUniform)];
//! let mut buf = [0u8; file_size::<f32, Net>()];
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
//! # File format, version 1
//!
//! All integers are unsigned little-endian; floats are IEEE 754
//! little-endian. With `L` layers, `P` parameters and `S` bytes per scalar
//! (4 for f32, 8 for f64) a file has exactly `36 + 32·L + S·P` bytes:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `89 53 50 57 0D 0A 1A 0A` (`\x89SPW\r\n\x1a\n`, [`format::MAGIC`]) |
//! | 8 | 2 | format version, `1` (u16) |
//! | 10 | 1 | scalar type: `1` f32, `2` f64 ([`ScalarType`]) |
//! | 11 | 1 | reserved, `0` |
//! | 12 | 4 | number of layers `L` (u32) |
//! | 16 | 8 | number of scalar parameters `P` (u64) |
//! | 24 | 4 | reserved, `0` |
//! | 28 | 4 | CRC-32 of bytes 0..28 (the header's own checksum) |
//! | 32 | 32·L | the layer table: entry `k` at `32 + 32·k`, below |
//! | 32 + 32·L | S·P | the parameters, below |
//! | 32 + 32·L + S·P | 4 | CRC-32 of every byte before it |
//!
//! A layer entry (the model's [`Arch`] signature, layer by layer):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 1 | kind ([`LayerKind::code`](crate::arch::LayerKind::code)): 1 Linear, 2 LinearNoBias, 16 Relu, 17 LeakyRelu, 18 Sigmoid, 19 Tanh, 20 Identity |
//! | 1 | 7 | reserved, `0` |
//! | 8 | 8 | input dimension (u64; 0 for activations) |
//! | 16 | 8 | output dimension (u64; 0 for activations) |
//! | 24 | 8 | LeakyReLU slope (f64; `0.0` for other kinds) |
//!
//! The parameters are the model's [`Params`](crate::Params) tensors in
//! order (for each `Linear`: its weight, then its bias), each as the flat
//! slice `Params::tensor` gives — **column-major** for matrices: element
//! `(o, i)` of a `Linear<T, I, O>` weight is value `o + i·O` of its tensor.
//!
//! The checksum is CRC-32/ISO-HDLC ([`crc`]; the same as zlib's `crc32`).
//! The header has its own so that a corrupt header is reported as
//! corruption, not as a bogus length or architecture, and a file whose
//! header is intact but whose length is wrong is reported as truncated or
//! as having trailing bytes.
//!
//! [`load()`] checks, in order: magic; at least a header's bytes; version;
//! header checksum; reserved header bytes; scalar-type code; the length the
//! header implies against the file's length; the file checksum; then against
//! the model: scalar type, layer count, each layer (kind, dimensions, slope;
//! reserved bytes, known kind), parameter count; and finally that no
//! parameter is infinite or NaN.

pub mod crc;
pub mod error;
pub mod format;
pub mod load;
pub mod save;
pub mod torch;

pub use crate::arch::Arch;
pub use error::{LoadError, SaveError};
pub use format::{FileScalar, ScalarType, file_size};
pub use load::{Header, load};
pub use save::save;
