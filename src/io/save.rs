//! Writing a model's weights into a caller's buffer.

use super::crc::crc32;
use super::error::SaveError;
use super::format::{
    CRC_LEN, Event, HEADER_LEN, Le, MAGIC, RECORD_LEN, Signature, VERSION, at, file_size, put,
    with_storable,
};
use super::name::Name;
use crate::module::{self, Module, Path};

/// Writes `model` as a weight file into `out[..file_size::<M>()]` and
/// returns the number of bytes written. Nothing is allocated; `out` may be
/// longer than the file (the rest is left as it was).
///
/// Errors (leaving `out` untouched) if `out` is too small, a parameter is
/// infinite or NaN, or the model holds a type files do not store.
///
/// ```
/// use stackprop::io::{file_size, load, save};
/// use stackprop::{seq, Linear, Relu, Seq};
/// type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
/// let net: Net = seq![Linear::from_fn(|o, i| (o + i) as f32, |_| 0.5), Relu,
///                     Linear::from_fn(|_, i| i as f32, |_| -1.0)];
/// let mut buf = [0u8; file_size::<Net>()];
/// assert_eq!(save(&net, &mut buf), Ok(buf.len()));
/// let mut back = Net::default();
/// load(&mut back, &buf).unwrap();
/// assert_eq!(back, net);
/// ```
pub fn save<M: Module>(model: &M, out: &mut [u8]) -> Result<usize, SaveError> {
    let n = file_size::<M>();
    if out.len() < n {
        return Err(SaveError::BufferTooSmall { needed: n, found: out.len() });
    }
    check(model)?;
    let out = &mut out[..n];
    let records = M::SIZE.records;

    out[..8].copy_from_slice(&MAGIC);
    put(out, at::VERSION, &VERSION.to_le_bytes());
    out[at::RESERVED_A..at::RECORDS].fill(0);
    put(out, at::RECORDS, &(records as u32).to_le_bytes());
    put(out, at::DATA, &(M::SIZE.bytes as u64).to_le_bytes());
    put(out, at::TENSORS, &(M::SIZE.tensors as u32).to_le_bytes());
    let hcrc = crc32(&out[..at::HEADER_CRC]);
    put(out, at::HEADER_CRC, &hcrc.to_le_bytes());

    // `check` walked the same signature without error.
    let mut pos = HEADER_LEN;
    let _ = module::walk(
        model,
        &mut Signature::new(|e: Event<'_>| {
            if let Event::Record(r) = e {
                out[pos..pos + RECORD_LEN].copy_from_slice(&r);
                pos += RECORD_LEN;
            }
            Ok::<(), ()>(())
        }),
    );
    for i in 0..M::SIZE.tensors {
        if let Some(d) = model.tensor(i) {
            with_storable!(d, s => write_all(s, out, &mut pos), ())
        }
    }
    let crc = crc32(&out[..n - CRC_LEN]);
    put(out, n - CRC_LEN, &crc.to_le_bytes());
    Ok(n)
}

/// Writes `s` little-endian at `out[*pos..]`, advancing `pos`.
fn write_all<T: Le>(s: &[T], out: &mut [u8], pos: &mut usize) {
    for (&v, c) in s.iter().zip(out[*pos..].chunks_exact_mut(T::BYTES)) {
        v.write_le(c);
    }
    *pos += s.len() * T::BYTES;
}

/// Checks, before anything is written, that the model's signature can be
/// written (every type storable, every value given, paths within
/// [`module::MAX_DEPTH`], counts within the format's fields), that its
/// tensors are what its description says, and that every value is finite.
fn check<M: Module>(model: &M) -> Result<(), SaveError> {
    if M::SIZE.records > u32::MAX as usize || M::SIZE.tensors > u32::MAX as usize {
        return Err(SaveError::InconsistentModel { tensor: Name::empty() });
    }
    /// Counts records and finds the first node that cannot be written.
    struct Count {
        records: usize,
        at: Path,
        deep: bool,
    }
    let mut c = Count { records: 0, at: Path::new(), deep: false };
    let r = module::walk(
        model,
        &mut Signature::new(|e: Event<'_>| {
            match e {
                Event::Node(p, _) => {
                    c.at = *p;
                    c.deep |= p.overflowed();
                }
                Event::Record(_) => c.records += 1,
            }
            Ok::<(), ()>(())
        }),
    );
    let at = Name::path(&c.at);
    if r.is_err() {
        return Err(SaveError::Unsupported { layer: at });
    }
    if c.deep {
        return Err(SaveError::TooDeep);
    }
    if c.records != M::SIZE.records {
        return Err(SaveError::InconsistentModel { tensor: Name::empty() });
    }
    module::for_each_tensor(model, |i, path, spec| {
        let name = || Name::join(path, spec.name);
        let Some(d) = model.tensor(i).filter(|d| spec.fits(d.dtype(), d.len())) else {
            return Err(SaveError::InconsistentModel { tensor: name() });
        };
        match with_storable!(d, s => s.iter().position(|v| !v.finite()), None) {
            Some(index) => Err(SaveError::NonFinite { tensor: name(), index }),
            None => Ok(()),
        }
    })
}

/// The first tensor whose mutable view is not what its spec says (the
/// loaders write through `tensor_mut` what they checked through `tensor`).
pub(crate) fn first_misfit_mut<M: Module>(model: &mut M) -> Option<usize> {
    (0..M::SIZE.tensors).find(|&i| match (model.tensor_mut(i), M::spec(i)) {
        (Some(d), Some(s)) => !s.fits(d.dtype(), d.len()),
        _ => true,
    })
}

/// The path of tensor `i` of `model` (`2.inner.0.weight`), as errors
/// carry it.
pub(crate) fn tensor_path<M: Module>(model: &M, i: usize) -> Name {
    let r = module::for_each_tensor(model, |j, path, spec| {
        if j == i { Err(Name::join(path, spec.name)) } else { Ok(()) }
    });
    r.err().unwrap_or(Name::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::crc::crc32;
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
        let mut b = [0xAAu8; 1200];
        let n = save(&net(), &mut b).unwrap();
        let records = 6 + 3 + 6;
        assert_eq!(n, 32 + 64 * records + 4 * 9 + 4);
        assert_eq!(&b[..8], b"\x89SPW\r\n\x1a\n");
        assert_eq!(&b[8..12], &[2, 0, 0, 0]); // version 2, reserved
        assert_eq!(&b[12..16], &(records as u32).to_le_bytes());
        assert_eq!(&b[16..24], &36u64.to_le_bytes());
        assert_eq!(&b[24..28], &4u32.to_le_bytes());
        assert_eq!(&b[28..32], &crc32(&b[..28]).to_le_bytes());
        // record 6: the LeakyRelu node, then its scalar and its slope
        let r = 32 + 6 * 64;
        assert_eq!(&b[r..r + 18], b"\x01\0\0\0\0\0\0\0LeakyRelu\0");
        assert_eq!(&b[r + 2 * 64 + 48..r + 2 * 64 + 56], &(0.25f32.to_bits() as u64).to_le_bytes());
        // first weight column-major: W(0,0)=0, W(1,0)=2, W(0,1)=1, W(1,1)=3
        let p = 32 + records * 64;
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
            Err(SaveError::BufferTooSmall { needed: 1032, found: 100 })
        );
        let mut bad = net();
        bad.1.1.bias[0] = f32::INFINITY;
        let mut b = [7u8; 1200];
        assert_eq!(
            save(&bad, &mut b),
            Err(SaveError::NonFinite { tensor: Name::new("2.bias"), index: 0 })
        );
        assert!(b.iter().all(|&x| x == 7));
    }
}
