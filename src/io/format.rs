//! The constants and byte encodings of the weight-file format described in
//! [`crate::io`]: magic, version, field offsets, scalar types.
//!
//! ```
//! use stackprop::io::format::{HEADER_LEN, LAYER_LEN, MAGIC, VERSION};
//! assert_eq!((HEADER_LEN, LAYER_LEN, VERSION), (32, 32, 1));
//! assert_eq!(&MAGIC[1..4], b"SPW");
//! ```

use crate::arch::{Arch, LayerDesc, LayerKind};
use crate::params::Params;

/// The first eight bytes of every weight file: `\x89 S P W \r \n \x1a \n`.
/// Like PNG's signature, the high byte catches 7-bit transfers and the line
/// endings catch text-mode conversions.
pub const MAGIC: [u8; 8] = [0x89, b'S', b'P', b'W', b'\r', b'\n', 0x1A, b'\n'];
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 32;
/// Bytes of one layer entry.
pub const LAYER_LEN: usize = 32;
/// Bytes of the trailing checksum.
pub const CRC_LEN: usize = 4;

/// Header field offsets.
pub(crate) mod at {
    pub const VERSION: usize = 8;
    pub const SCALAR: usize = 10;
    pub const RESERVED_A: usize = 11;
    pub const LAYERS: usize = 12;
    pub const PARAMS: usize = 16;
    pub const RESERVED_B: usize = 24;
    pub const HEADER_CRC: usize = 28;
    // Within a layer entry.
    pub const KIND: usize = 0;
    pub const LAYER_RESERVED: usize = 1;
    pub const INPUTS: usize = 8;
    pub const OUTPUTS: usize = 16;
    pub const SLOPE: usize = 24;
}

/// The exact size in bytes of the weight file of a model of type `M` with
/// scalars `T`: `36 + 32·layers + size_of::<T>()·parameters`. A `const fn`,
/// so a buffer can be sized at compile time.
///
/// ```
/// use stackprop::io::file_size;
/// use stackprop::{Linear, Relu, Seq};
/// type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>];
/// const N: usize = file_size::<f32, Net>();
/// assert_eq!(N, 36 + 32 * 3 + 4 * (4 * 8 + 8 + 8 * 3 + 3));
/// let buf = [0u8; N];
/// # let _ = buf;
/// ```
pub const fn file_size<T: FileScalar, M: Arch + Params<T>>() -> usize {
    HEADER_LEN + LAYER_LEN * M::LAYERS + T::TYPE.bytes() * M::LEN + CRC_LEN
}

/// The scalar type of a file's parameters.
///
/// ```
/// use stackprop::io::ScalarType;
/// assert_eq!(ScalarType::from_code(ScalarType::F64.code()), Some(ScalarType::F64));
/// assert_eq!(ScalarType::F32.bytes(), 4);
/// assert_eq!(ScalarType::F32.name(), "f32");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    /// IEEE 754 binary32, little-endian.
    F32,
    /// IEEE 754 binary64, little-endian.
    F64,
}

impl ScalarType {
    /// The code stored in the header (`1` f32, `2` f64).
    pub const fn code(self) -> u8 {
        match self {
            ScalarType::F32 => 1,
            ScalarType::F64 => 2,
        }
    }
    /// The type with code `c`, if any.
    pub const fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(ScalarType::F32),
            2 => Some(ScalarType::F64),
            _ => None,
        }
    }
    /// Bytes per value.
    pub const fn bytes(self) -> usize {
        match self {
            ScalarType::F32 => 4,
            ScalarType::F64 => 8,
        }
    }
    /// The Rust name, `"f32"` or `"f64"`.
    pub const fn name(self) -> &'static str {
        match self {
            ScalarType::F32 => "f32",
            ScalarType::F64 => "f64",
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A scalar that weight files store: `f32` or `f64`, as little-endian IEEE
/// 754 bits (sealed).
///
/// ```
/// use stackprop::io::FileScalar;
/// let mut b = [0u8; 4];
/// 1.5f32.write_le(&mut b);
/// assert_eq!(b, 1.5f32.to_le_bytes());
/// assert_eq!(f32::read_le(&b).to_bits(), 1.5f32.to_bits());
/// ```
pub trait FileScalar: Copy + sealed::Sealed {
    /// Which scalar type this is.
    const TYPE: ScalarType;
    /// Writes the little-endian bytes into `out[..TYPE.bytes()]` (writes
    /// less if `out` is shorter).
    fn write_le(self, out: &mut [u8]);
    /// Reads a value from the first `TYPE.bytes()` bytes of `b` (missing
    /// bytes read as zero).
    fn read_le(b: &[u8]) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn finite(self) -> bool;
    /// The value of an `f32` (exact for both types).
    fn from_f32(x: f32) -> Self;
    /// The value as `f64` (exact for both types).
    fn to_f64(self) -> f64;
}

macro_rules! file_scalar {
    ($t:ty, $ty:ident, $n:literal) => {
        impl FileScalar for $t {
            const TYPE: ScalarType = ScalarType::$ty;
            #[inline]
            fn write_le(self, out: &mut [u8]) {
                for (d, s) in out.iter_mut().zip(self.to_le_bytes()) {
                    *d = s;
                }
            }
            #[inline]
            fn read_le(b: &[u8]) -> Self {
                let mut a = [0u8; $n];
                for (d, s) in a.iter_mut().zip(b) {
                    *d = *s;
                }
                <$t>::from_le_bytes(a)
            }
            #[inline]
            fn finite(self) -> bool {
                self.is_finite()
            }
            #[inline]
            fn from_f32(x: f32) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    };
}
file_scalar!(f32, F32, 4);
file_scalar!(f64, F64, 8);

/// Writes `v` little-endian at `b[at..]`.
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    for (d, s) in b.iter_mut().skip(at).zip(v.to_le_bytes()) {
        *d = s;
    }
}

/// Reads `N` bytes at `b[at..]` (missing bytes read as zero).
pub(crate) fn get<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(b.iter().skip(at)) {
        *d = *s;
    }
    a
}

pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(get(b, at))
}
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(get(b, at))
}
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(get(b, at))
}

/// Encodes one layer entry.
pub(crate) fn encode_layer(d: &LayerDesc) -> [u8; LAYER_LEN] {
    let mut e = [0u8; LAYER_LEN];
    e[at::KIND] = d.kind.code();
    put_u64(&mut e, at::INPUTS, d.inputs as u64);
    put_u64(&mut e, at::OUTPUTS, d.outputs as u64);
    put_u64(&mut e, at::SLOPE, d.slope.to_bits());
    e
}

/// A layer entry as read from a file, before its kind code is decoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RawLayer {
    pub kind: u8,
    pub reserved_zero: bool,
    pub inputs: u64,
    pub outputs: u64,
    pub slope: f64,
}

pub(crate) fn decode_layer(e: &[u8]) -> RawLayer {
    RawLayer {
        kind: e.get(at::KIND).copied().unwrap_or(0),
        reserved_zero: e.iter().skip(at::LAYER_RESERVED).take(7).all(|&b| b == 0),
        inputs: get_u64(e, at::INPUTS),
        outputs: get_u64(e, at::OUTPUTS),
        slope: f64::from_bits(get_u64(e, at::SLOPE)),
    }
}

impl RawLayer {
    /// The description, if the kind code is known (dimensions saturate at
    /// `usize::MAX` on targets narrower than 64 bits).
    pub fn desc(&self) -> Option<LayerDesc> {
        let kind = LayerKind::from_code(self.kind)?;
        let dim = |d: u64| usize::try_from(d).unwrap_or(usize::MAX);
        Some(LayerDesc {
            kind,
            inputs: dim(self.inputs),
            outputs: dim(self.outputs),
            slope: self.slope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_entry_round_trip() {
        let d = LayerDesc { kind: LayerKind::LeakyRelu, inputs: 0, outputs: 0, slope: 0.2 };
        let e = encode_layer(&d);
        let r = decode_layer(&e);
        assert!(r.reserved_zero);
        assert_eq!(r.desc(), Some(d));
        let l = LayerDesc::new(LayerKind::Linear, 784, 10);
        let e = encode_layer(&l);
        assert_eq!(e[0], 1);
        assert_eq!(&e[8..16], &784u64.to_le_bytes());
        assert_eq!(&e[16..24], &10u64.to_le_bytes());
        assert_eq!(decode_layer(&e).desc(), Some(l));
    }

    #[test]
    fn scalar_codes_are_stable() {
        assert_eq!((ScalarType::F32.code(), ScalarType::F64.code()), (1, 2));
        assert_eq!(ScalarType::from_code(0), None);
        assert_eq!(ScalarType::from_code(3), None);
    }

    #[test]
    fn little_endian_bytes() {
        let mut b = [0u8; 8];
        (-2.0f64).write_le(&mut b);
        assert_eq!(b, [0, 0, 0, 0, 0, 0, 0, 0xC0]);
        assert_eq!(f64::read_le(&b), -2.0);
        assert_eq!(get_u16(&[1, 2], 0), 0x0201);
        assert_eq!(get_u32(&[1, 2], 1), 2); // past the end reads zero
    }
}
