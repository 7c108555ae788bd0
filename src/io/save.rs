//! Writing a model's weights into a caller's buffer.

use super::crc::crc32;
use super::error::SaveError;
use super::format::{
    CRC_LEN, FileScalar, HEADER_LEN, LAYER_LEN, MAGIC, VERSION, at, encode_layer, file_size,
};
use crate::arch::Arch;
use crate::params::Params;

/// Writes `model` as a weight file into `out[..file_size::<T, M>()]` and
/// returns the number of bytes written. Nothing is allocated; `out` may be
/// longer than the file (the rest is left as it was).
///
/// Errors (leaving `out` untouched) if `out` is too small or a parameter is
/// infinite or NaN.
///
/// ```
/// use stackprop::io::{file_size, load, save};
/// use stackprop::{seq, Linear, Relu, Seq};
/// type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
/// let net: Net = seq![Linear::from_fn(|o, i| (o + i) as f32, |_| 0.5), Relu,
///                     Linear::from_fn(|_, i| i as f32, |_| -1.0)];
/// let mut buf = [0u8; file_size::<f32, Net>()];
/// assert_eq!(save(&net, &mut buf), Ok(buf.len()));
/// let mut back = Net::default();
/// load(&mut back, &buf).unwrap();
/// assert_eq!(back, net);
/// ```
pub fn save<T: FileScalar, M: Arch + Params<T>>(
    model: &M,
    out: &mut [u8],
) -> Result<usize, SaveError> {
    let n = file_size::<T, M>();
    if out.len() < n {
        return Err(SaveError::BufferTooSmall { needed: n, found: out.len() });
    }
    check(model)?;
    let out = &mut out[..n];
    let s = T::TYPE.bytes();

    out[..8].copy_from_slice(&MAGIC);
    out[at::VERSION..at::VERSION + 2].copy_from_slice(&VERSION.to_le_bytes());
    out[at::SCALAR] = T::TYPE.code();
    out[at::RESERVED_A] = 0;
    out[at::LAYERS..at::LAYERS + 4].copy_from_slice(&(M::LAYERS as u32).to_le_bytes());
    out[at::PARAMS..at::PARAMS + 8].copy_from_slice(&(M::LEN as u64).to_le_bytes());
    out[at::RESERVED_B..at::HEADER_CRC].fill(0);
    let hcrc = crc32(&out[..at::HEADER_CRC]);
    out[at::HEADER_CRC..HEADER_LEN].copy_from_slice(&hcrc.to_le_bytes());

    let mut pos = HEADER_LEN;
    for k in 0..M::LAYERS {
        // `check` made sure every layer is listed.
        if let Some(d) = model.layer(k) {
            out[pos..pos + LAYER_LEN].copy_from_slice(&encode_layer(&d));
        }
        pos += LAYER_LEN;
    }
    for t in 0..M::TENSORS {
        if let Some((_, values)) = model.tensor(t) {
            for &v in values {
                v.write_le(&mut out[pos..pos + s]);
                pos += s;
            }
        }
    }
    let crc = crc32(&out[..n - CRC_LEN]);
    out[n - CRC_LEN..].copy_from_slice(&crc.to_le_bytes());
    Ok(n)
}

/// Checks that the model lists all its layers and tensors consistently and
/// that every parameter is finite.
fn check<T: FileScalar, M: Arch + Params<T>>(model: &M) -> Result<(), SaveError> {
    if M::LAYERS > u32::MAX as usize || (0..M::LAYERS).any(|k| model.layer(k).is_none()) {
        return Err(SaveError::InconsistentModel);
    }
    let mut total = 0usize;
    for t in 0..M::TENSORS {
        let Some((_, values)) = model.tensor(t) else {
            return Err(SaveError::InconsistentModel);
        };
        if let Some(index) = values.iter().position(|v| !v.finite()) {
            return Err(SaveError::NonFinite { tensor: t, index });
        }
        total += values.len();
    }
    if total != M::LEN {
        return Err(SaveError::InconsistentModel);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeakyRelu, Linear, Seq, seq};

    type Net = Seq![Linear<f32, 2, 2>, LeakyRelu<f32>, Linear<f32, 2, 1>];

    fn net() -> Net {
        seq![
            Linear::from_fn(|o, i| (o * 2 + i) as f32, |o| o as f32),
            LeakyRelu::new(0.25).unwrap(),
            Linear::from_fn(|_, i| -(i as f32), |_| 0.5)
        ]
    }

    #[test]
    fn layout_matches_the_documented_offsets() {
        let mut b = [0xAAu8; 200];
        let n = save(&net(), &mut b).unwrap();
        assert_eq!(n, 32 + 3 * 32 + 4 * 9 + 4);
        assert_eq!(&b[..8], b"\x89SPW\r\n\x1a\n");
        assert_eq!(&b[8..12], &[1, 0, 1, 0]); // version 1, f32, reserved
        assert_eq!(&b[12..16], &3u32.to_le_bytes());
        assert_eq!(&b[16..24], &9u64.to_le_bytes());
        assert_eq!(&b[24..28], &[0; 4]);
        assert_eq!(&b[28..32], &crc32(&b[..28]).to_le_bytes());
        // layer 1: LeakyRelu, slope 0.25 as f64 bits
        assert_eq!(b[64], 17);
        assert_eq!(&b[64 + 24..64 + 32], &0.25f64.to_bits().to_le_bytes());
        // first weight column-major: W(0,0)=0, W(1,0)=2, W(0,1)=1, W(1,1)=3
        let p = 32 + 3 * 32;
        for (k, v) in [0.0f32, 2.0, 1.0, 3.0].into_iter().enumerate() {
            assert_eq!(&b[p + 4 * k..p + 4 * k + 4], &v.to_le_bytes());
        }
        assert_eq!(&b[n - 4..n], &crc32(&b[..n - 4]).to_le_bytes());
        assert!(b[n..].iter().all(|&x| x == 0xAA), "bytes past the file untouched");
    }

    #[test]
    fn errors_leave_the_buffer_untouched() {
        let mut b = [7u8; 100];
        assert_eq!(
            save(&net(), &mut b),
            Err(SaveError::BufferTooSmall { needed: 168, found: 100 })
        );
        let mut bad = net();
        bad.1.1.bias[0] = f32::INFINITY;
        let mut b = [7u8; 200];
        assert_eq!(save(&bad, &mut b), Err(SaveError::NonFinite { tensor: 3, index: 0 }));
        assert!(b.iter().all(|&x| x == 7));
    }
}
