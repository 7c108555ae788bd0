//! Reading a weight file back into a model, validating everything first.

use super::crc::crc32;
use super::error::LoadError;
use super::format::{
    CRC_LEN, FileScalar, HEADER_LEN, LAYER_LEN, MAGIC, ScalarType, VERSION, at, decode_layer,
    get_u16, get_u32, get_u64,
};
use crate::arch::{Arch, LayerDesc};
use crate::params::Params;

/// The header of a weight file whose structure and checksums are valid.
///
/// ```
/// use stackprop::io::{file_size, save, Header, ScalarType};
/// use stackprop::{Linear, Relu, Seq};
/// type Net = Seq![Linear<f64, 3, 2>, Relu];
/// let mut buf = [0u8; file_size::<f64, Net>()];
/// save(&Net::default(), &mut buf).unwrap();
/// let h = Header::read(&buf).unwrap();
/// assert_eq!((h.scalar, h.layers, h.params, h.len), (ScalarType::F64, 2, 8, buf.len()));
/// assert_eq!(h.layer(&buf, 0).unwrap().outputs, 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Scalar type of the parameters.
    pub scalar: ScalarType,
    /// Number of layers.
    pub layers: usize,
    /// Number of scalar parameters.
    pub params: usize,
    /// Total length of the file in bytes.
    pub len: usize,
}

impl Header {
    /// Checks, in order: magic, length of the header, version, the header's
    /// checksum, reserved bytes, scalar type, the file's length against the
    /// header, and the checksum over the whole file. A file that passes is
    /// intact; whether it fits a model is [`load`]'s business.
    pub fn read(b: &[u8]) -> Result<Self, LoadError> {
        let m = b.len().min(MAGIC.len());
        if b[..m] != MAGIC[..m] {
            return Err(LoadError::BadMagic);
        }
        if b.len() < HEADER_LEN {
            return Err(LoadError::Truncated { expected: HEADER_LEN, found: b.len() });
        }
        let version = get_u16(b, at::VERSION);
        if version != VERSION {
            return Err(LoadError::UnsupportedVersion { found: version });
        }
        let stored = get_u32(b, at::HEADER_CRC);
        let computed = crc32(&b[..at::HEADER_CRC]);
        if stored != computed {
            return Err(LoadError::HeaderChecksum { stored, computed });
        }
        if b[at::RESERVED_A] != 0 {
            return Err(LoadError::ReservedNotZero { offset: at::RESERVED_A });
        }
        if let Some(i) = b[at::RESERVED_B..at::HEADER_CRC].iter().position(|&x| x != 0) {
            return Err(LoadError::ReservedNotZero { offset: at::RESERVED_B + i });
        }
        let code = b[at::SCALAR];
        let scalar = ScalarType::from_code(code).ok_or(LoadError::UnknownScalar { code })?;
        let layers = get_u32(b, at::LAYERS) as u64;
        let params = get_u64(b, at::PARAMS);
        let len = layers
            .checked_mul(LAYER_LEN as u64)
            .zip(params.checked_mul(scalar.bytes() as u64))
            .and_then(|(l, p)| l.checked_add(p))
            .and_then(|x| x.checked_add((HEADER_LEN + CRC_LEN) as u64))
            .and_then(|x| usize::try_from(x).ok())
            .ok_or(LoadError::SizeOverflow)?;
        if b.len() < len {
            return Err(LoadError::Truncated { expected: len, found: b.len() });
        }
        if b.len() > len {
            return Err(LoadError::TrailingBytes { expected: len, found: b.len() });
        }
        let stored = get_u32(b, len - CRC_LEN);
        let computed = crc32(&b[..len - CRC_LEN]);
        if stored != computed {
            return Err(LoadError::Checksum { stored, computed });
        }
        // `len` fits in usize, so do its parts.
        Ok(Header { version, scalar, layers: layers as usize, params: params as usize, len })
    }

    /// Layer `k` of the intact file `b` (read with [`Header::read`]).
    /// Errors if `k` is past the last layer (as a layer-count mismatch), a
    /// reserved byte is set, or the kind code is unknown.
    pub fn layer(&self, b: &[u8], k: usize) -> Result<LayerDesc, LoadError> {
        if k >= self.layers {
            return Err(LoadError::LayerCount { expected: k + 1, found: self.layers as u32 });
        }
        let start = HEADER_LEN + k * LAYER_LEN;
        let e = b
            .get(start..start + LAYER_LEN)
            .ok_or(LoadError::Truncated { expected: self.len, found: b.len() })?;
        let raw = decode_layer(e);
        if !raw.reserved_zero {
            let i = e[1..8].iter().position(|&x| x != 0).unwrap_or(0);
            return Err(LoadError::ReservedNotZero { offset: start + 1 + i });
        }
        raw.desc().ok_or(LoadError::UnknownLayerKind { layer: k, code: raw.kind })
    }
}

/// Loads a weight file into `model`, whose type must match the file's
/// (scalar type, layer kinds and dimensions, LeakyReLU slopes, parameter
/// count).
///
/// Everything is checked before anything is written, in this order: the
/// file's integrity ([`Header::read`]: magic, lengths, version, checksums),
/// then its fit to the model (scalar type, layer count, each layer,
/// parameter count), then that every parameter is finite. On any error
/// `model` is left as it was. A file written by [`super::save()`] loads back
/// bit-exactly.
///
/// ```
/// use stackprop::io::{file_size, load, save, LoadError};
/// use stackprop::arch::{LayerDesc, LayerKind};
/// use stackprop::Linear;
/// let mut buf = [0u8; file_size::<f32, Linear<f32, 3, 2>>()];
/// save(&Linear::<f32, 3, 2>::from_fn(|_, _| 1.0, |_| 2.0), &mut buf).unwrap();
/// // An intact file for another layer:
/// let mut other = Linear::<f32, 3, 4>::zeros();
/// assert_eq!(
///     load(&mut other, &buf),
///     Err(LoadError::LayerMismatch {
///         layer: 0,
///         expected: LayerDesc::new(LayerKind::Linear, 3, 4),
///         found: LayerDesc::new(LayerKind::Linear, 3, 2),
///     })
/// );
/// assert_eq!(other, Linear::zeros()); // untouched
/// // A corrupted one:
/// buf[40] ^= 1;
/// assert!(matches!(load(&mut other, &buf), Err(LoadError::Checksum { .. })));
/// ```
pub fn load<T: FileScalar, M: Arch + Params<T>>(model: &mut M, b: &[u8]) -> Result<(), LoadError> {
    let h = Header::read(b)?;
    if h.scalar != T::TYPE {
        return Err(LoadError::ScalarMismatch { expected: T::TYPE, found: h.scalar });
    }
    if h.layers != M::LAYERS {
        return Err(LoadError::LayerCount { expected: M::LAYERS, found: h.layers as u32 });
    }
    for k in 0..M::LAYERS {
        let found = h.layer(b, k)?;
        let expected = model.layer(k).ok_or(LoadError::InconsistentModel)?;
        if !same_layer(&expected, &found) {
            return Err(LoadError::LayerMismatch { layer: k, expected, found });
        }
    }
    if h.params != M::LEN {
        return Err(LoadError::ParamCount { expected: M::LEN, found: h.params as u64 });
    }
    let s = T::TYPE.bytes();
    let data = &b[HEADER_LEN + M::LAYERS * LAYER_LEN..h.len - CRC_LEN];
    // Walk the tensors once to check lengths and finiteness, then write.
    let mut pos = 0usize;
    for t in 0..M::TENSORS {
        let Some((_, dst)) = model.tensor(t) else {
            return Err(LoadError::InconsistentModel);
        };
        let Some(src) = data.get(pos..pos + dst.len() * s) else {
            return Err(LoadError::InconsistentModel);
        };
        if let Some(index) = src.chunks_exact(s).position(|c| !T::read_le(c).finite()) {
            return Err(LoadError::NonFinite { tensor: t, index });
        }
        pos += src.len();
    }
    if pos != data.len() {
        return Err(LoadError::InconsistentModel);
    }
    let mut chunks = data.chunks_exact(s);
    for t in 0..M::TENSORS {
        if let Some((_, dst)) = model.tensor_mut(t) {
            for (d, c) in dst.iter_mut().zip(chunks.by_ref()) {
                *d = T::read_le(c);
            }
        }
    }
    Ok(())
}

/// Same kind and dimensions, and the same slope bit for bit (so `-0.0` is
/// not `0.0`, and a model has exactly one valid file: found by fuzzing).
fn same_layer(a: &LayerDesc, b: &LayerDesc) -> bool {
    a.kind == b.kind
        && a.inputs == b.inputs
        && a.outputs == b.outputs
        && a.slope.to_bits() == b.slope.to_bits()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{file_size, save};
    use crate::{Linear, Relu, Seq, seq};

    type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
    const N: usize = file_size::<f32, Net>();

    fn file() -> [u8; N] {
        let net: Net = seq![
            Linear::from_fn(|o, i| (o * 2 + i) as f32 - 2.5, |o| o as f32),
            Relu,
            Linear::from_fn(|_, i| i as f32, |_| 0.125)
        ];
        let mut b = [0u8; N];
        save(&net, &mut b).unwrap();
        b
    }

    fn refresh_crcs(b: &mut [u8]) {
        let h = crc32(&b[..28]);
        b[28..32].copy_from_slice(&h.to_le_bytes());
        let n = b.len();
        let c = crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&c.to_le_bytes());
    }

    #[test]
    fn header_checks_in_order() {
        let b = file();
        assert_eq!(Header::read(&b[..0]), Err(LoadError::Truncated { expected: 32, found: 0 }));
        assert_eq!(Header::read(&b[..5]), Err(LoadError::Truncated { expected: 32, found: 5 }));
        assert_eq!(Header::read(b"\x89SPX"), Err(LoadError::BadMagic));
        assert_eq!(
            Header::read(&b[..N - 1]),
            Err(LoadError::Truncated { expected: N, found: N - 1 })
        );
        let mut long = [0u8; N + 3];
        long[..N].copy_from_slice(&b);
        assert_eq!(
            Header::read(&long),
            Err(LoadError::TrailingBytes { expected: N, found: N + 3 })
        );

        let mut v = b;
        v[8] = 2;
        assert_eq!(Header::read(&v), Err(LoadError::UnsupportedVersion { found: 2 }));
        let mut v = b;
        v[12] ^= 1;
        assert!(matches!(Header::read(&v), Err(LoadError::HeaderChecksum { .. })));
        let mut v = b;
        v[N - 5] ^= 0x80;
        assert!(matches!(Header::read(&v), Err(LoadError::Checksum { .. })));
        let mut v = b;
        v[10] = 9;
        refresh_crcs(&mut v);
        assert_eq!(Header::read(&v), Err(LoadError::UnknownScalar { code: 9 }));
        let mut v = b;
        v[26] = 1;
        refresh_crcs(&mut v);
        assert_eq!(Header::read(&v), Err(LoadError::ReservedNotZero { offset: 26 }));
        let mut v = b;
        v[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        refresh_crcs(&mut v);
        assert_eq!(Header::read(&v), Err(LoadError::SizeOverflow));
    }

    #[test]
    fn layer_entry_checks() {
        let mut v = file();
        v[32 + 32 + 3] = 1; // reserved byte of layer 1
        refresh_crcs(&mut v);
        let mut net = Net::default();
        assert_eq!(load(&mut net, &v), Err(LoadError::ReservedNotZero { offset: 67 }));
        let mut v = file();
        v[32 + 32] = 99;
        refresh_crcs(&mut v);
        assert_eq!(load(&mut net, &v), Err(LoadError::UnknownLayerKind { layer: 1, code: 99 }));
        assert_eq!(net, Net::default());
    }
}
