//! Reading a weight file back into a model, validating everything first.

use super::crc::crc32;
use super::error::LoadError;
use super::format::{
    CRC_LEN, Event, HEADER_LEN, Le, MAGIC, RECORD_LEN, Record, Signature, at, first_non_finite,
    get_u16, get_u32, get_u64, record_name, tag, well_formed, with_storable_mut, write_file_node,
    write_record, write_sequence,
};
use super::name::Name;
use super::save::{first_misfit_mut, tensor_path};
use super::v1;
use crate::module::{self, Dtype, Module, Path};

/// The header of a weight file whose structure and checksums are valid.
///
/// ```
/// use stackprop::io::{file_size, save, Header};
/// use stackprop::{Linear, Relu, Seq};
/// type Net = Seq![Linear<f64, 3, 2>, Relu];
/// let mut buf = [0u8; file_size::<Net>()];
/// save(&Net::default(), &mut buf).unwrap();
/// let h = Header::read(&buf).unwrap();
/// assert_eq!((h.version, h.records, h.data, h.len), (2, 7, 8 * 8, buf.len()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version, 1 or 2.
    pub version: u16,
    /// Records of the architecture signature (version 1: layer entries).
    pub records: usize,
    /// Bytes of the tensors' values.
    pub data: usize,
    /// Tensors (`None` in a version-1 file, which does not count them).
    pub tensors: Option<usize>,
    /// Total length of the file in bytes.
    pub len: usize,
    /// A version-1 file's scalar type.
    pub(crate) v1_scalar: Option<Dtype>,
}

impl Header {
    /// Checks, in order: magic, length of the header, version, the header's
    /// checksum, reserved bytes, the file's length against the header, and
    /// the checksum over the whole file. A file that passes is intact;
    /// whether it fits a model is [`load`]'s business.
    pub fn read(b: &[u8]) -> Result<Self, LoadError> {
        let m = b.len().min(MAGIC.len());
        if b[..m] != MAGIC[..m] {
            return Err(LoadError::BadMagic);
        }
        if b.len() < HEADER_LEN {
            return Err(LoadError::Truncated { expected: HEADER_LEN, found: b.len() });
        }
        let version = get_u16(b, at::VERSION);
        if version != 1 && version != super::format::VERSION {
            return Err(LoadError::UnsupportedVersion { found: version });
        }
        let stored = get_u32(b, at::HEADER_CRC);
        let computed = crc32(&b[..at::HEADER_CRC]);
        if stored != computed {
            return Err(LoadError::HeaderChecksum { stored, computed });
        }
        let (records, record_len, data, v1_scalar) = if version == 1 {
            let (layers, bytes, scalar) = v1::header(b)?;
            (layers, v1::ENTRY_LEN as u64, bytes, Some(scalar))
        } else {
            if let Some(i) = b[at::RESERVED_A..at::RECORDS].iter().position(|&x| x != 0) {
                return Err(LoadError::ReservedNotZero { offset: at::RESERVED_A + i });
            }
            (get_u32(b, at::RECORDS) as u64, RECORD_LEN as u64, get_u64(b, at::DATA), None)
        };
        let len = records
            .checked_mul(record_len)
            .and_then(|r| r.checked_add(data))
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
        let tensors = v1_scalar.is_none().then(|| get_u32(b, at::TENSORS) as usize);
        Ok(Header {
            version,
            records: records as usize,
            data: data as usize,
            tensors,
            len,
            v1_scalar,
        })
    }

    /// Record `j` of the architecture signature of the intact file `b`
    /// (read with [`Header::read`]); a version-1 file's layer entries are
    /// translated into the records they mean.
    fn record(&self, b: &[u8], j: usize) -> Option<Result<Record, LoadError>> {
        match self.v1_scalar {
            Some(s) => v1::record(b, self.records, s, j),
            None => {
                let at = HEADER_LEN + j * RECORD_LEN;
                let r = b.get(at..at + RECORD_LEN).filter(|_| j < self.records)?;
                r.try_into().ok().map(Ok)
            }
        }
    }

    /// The number of records of the signature (a version-1 file's entries
    /// translated).
    fn signature_len(&self, b: &[u8]) -> Result<usize, LoadError> {
        match self.v1_scalar {
            Some(s) => v1::records(b, self.records, s),
            None => Ok(self.records),
        }
    }

    /// Where the tensors' values begin.
    fn data_start(&self) -> usize {
        let entry = if self.v1_scalar.is_some() { v1::ENTRY_LEN } else { RECORD_LEN };
        HEADER_LEN + self.records * entry
    }
}

/// Loads a weight file into `model`, whose architecture must be the file's:
/// the same layers in the same tree, with the same element types,
/// dimensions and values (a LeakyReLU's slope, bit for bit), and the same
/// tensors.
///
/// Everything is checked before anything is written, in this order: the
/// file's integrity ([`Header::read`]: magic, lengths, version, checksums),
/// then its fit to the model (the architecture signature record by record,
/// then the length of the data), then that every value is finite. On any
/// error `model` is left as it was. A file written by [`super::save()`]
/// loads back bit-exactly; so does a file of format version 1.
///
/// ```
/// use stackprop::io::{file_size, load, save, LoadError};
/// use stackprop::Linear;
/// let mut buf = [0u8; file_size::<Linear<f32, 3, 2>>()];
/// save(&Linear::<f32, 3, 2>::from_fn(|_, _| 1.0, |_| 2.0), &mut buf).unwrap();
/// // An intact file for another layer:
/// let mut other = Linear::<f32, 3, 4>::zeros();
/// assert_eq!(
///     load(&mut other, &buf).unwrap_err().to_string(),
///     "architecture mismatch at layer 0: the model has Linear(f32, in=3, out=4), \
///      the file has Linear(f32, in=3, out=2)"
/// );
/// assert_eq!(other, Linear::zeros()); // untouched
/// // A corrupted one:
/// buf[40] ^= 1;
/// assert!(matches!(load(&mut other, &buf), Err(LoadError::Checksum { .. })));
/// ```
pub fn load<M: Module>(model: &mut M, b: &[u8]) -> Result<(), LoadError> {
    let h = Header::read(b)?;
    compare_signature(&*model, b, &h)?;
    if let Some(found) = h.tensors.filter(|&n| n != M::SIZE.tensors) {
        return Err(LoadError::TensorCount { expected: M::SIZE.tensors, found });
    }
    let data = &b[h.data_start()..h.len - CRC_LEN];
    if data.len() != M::SIZE.bytes {
        return Err(LoadError::DataLength { expected: M::SIZE.bytes, found: data.len() as u64 });
    }
    // Walk the tensors once to check them against their specs and the
    // file's values for finiteness, then write.
    let mut pos = 0usize;
    module::for_each_tensor(&*model, |i, path, spec| {
        let name = || Name::join(path, spec.name);
        let n = spec.len() * spec.dtype.bytes();
        let ok = model.tensor(i).is_some_and(|d| spec.fits(d.dtype(), d.len()));
        let Some(src) = data.get(pos..pos + n).filter(|_| ok) else {
            return Err(LoadError::InconsistentModel { tensor: name() });
        };
        if let Some(index) = first_non_finite(spec.dtype, src) {
            return Err(LoadError::NonFinite { tensor: name(), index });
        }
        pos += n;
        Ok(())
    })?;
    if pos != data.len() {
        return Err(LoadError::InconsistentModel { tensor: Name::empty() });
    }
    // The tensors as they will be written must be what was checked.
    if let Some(i) = first_misfit_mut(model) {
        return Err(LoadError::InconsistentModel { tensor: tensor_path(&*model, i) });
    }
    let mut pos = 0usize;
    for i in 0..M::SIZE.tensors {
        if let Some(d) = model.tensor_mut(i) {
            with_storable_mut!(d, s => read_all(s, data, &mut pos), ());
        }
    }
    Ok(())
}

/// Reads `s` little-endian from `data[*pos..]`, advancing `pos`.
fn read_all<T: Le>(s: &mut [T], data: &[u8], pos: &mut usize) {
    for (v, c) in s.iter_mut().zip(data.get(*pos..).unwrap_or(&[]).chunks_exact(T::BYTES)) {
        *v = T::read_le(c);
    }
    *pos += s.len() * T::BYTES;
}

/// Compares the model's architecture signature with the file's, record by
/// record; the first difference is reported with the layer it is in.
fn compare_signature<M: Module>(model: &M, b: &[u8], h: &Header) -> Result<(), LoadError> {
    let total = h.signature_len(b)?;
    struct Cmp<'b> {
        b: &'b [u8],
        h: &'b Header,
        next: usize,
        node_start: usize,
        at: Path,
        expected: Name,
    }
    impl Cmp<'_> {
        /// The mismatch of the model's current node with the file's node
        /// whose records start at `found_start`, and the latter's text.
        fn mismatch(&self, found_start: usize) -> (LoadError, Name) {
            let found = Name::from_fmt(|n| {
                let recs =
                    (found_start..).map_while(|j| self.h.record(self.b, j)).map_while(Result::ok);
                write_file_node(recs, n)
            });
            let at = Name::path(&self.at);
            (LoadError::LayerMismatch { at, expected: self.expected, found }, found)
        }
    }
    let mut c = Cmp { b, h, next: 0, node_start: 0, at: Path::new(), expected: Name::empty() };
    let r = module::walk(
        model,
        &mut Signature::new(|e: Event<'_>| match e {
            Event::Node(path, text) => {
                if path.overflowed() {
                    return Err(LoadError::TooDeep);
                }
                c.at = *path;
                c.expected = Name::from_fmt(|n| text(n));
                c.node_start = c.next;
                Ok(())
            }
            Event::Record(want) => {
                let j = c.next;
                c.next += 1;
                match h.record(b, j) {
                    Some(Ok(got)) if got == want => Ok(()),
                    Some(Ok(got)) if !well_formed(&got) => Err(LoadError::BadRecord { record: j }),
                    Some(Err(e)) => Err(e),
                    // A block's child differs: said at the child's path.
                    _ if want[at::TAG] == tag::CHILD => {
                        let name = record_name(&want).unwrap_or("?");
                        let at = Name::join(&c.at, name);
                        let entries = get_u64(&want, at::PAYLOAD);
                        let expected = Name::from_fmt(|n| write_sequence(entries, n));
                        Err(LoadError::LayerMismatch { at, expected, found: c.mismatch(j).1 })
                    }
                    // A record differs, or the file ends: the layer it is
                    // in is not the model's. Where the two layers read the
                    // same (a tensor's shape, a value's type), the record.
                    got => {
                        let (e, found) = c.mismatch(c.node_start);
                        match got {
                            Some(Ok(got)) if found == c.expected => {
                                let name = record_name(&want).unwrap_or("?");
                                let at = Name::join(&c.at, name);
                                let expected = Name::from_fmt(|n| write_record(&want, n));
                                let found = Name::from_fmt(|n| write_record(&got, n));
                                Err(LoadError::LayerMismatch { at, expected, found })
                            }
                            _ => Err(e),
                        }
                    }
                }
            }
        }),
    );
    match r {
        Ok(()) => {}
        Err(Some(e)) => return Err(e),
        Err(None) => return Err(LoadError::Unsupported { layer: Name::path(&c.at) }),
    }
    if c.next < total {
        // The file goes on past the model's last layer.
        c.at = Path::new();
        c.at.push(module::Seg::Index(M::ENTRIES));
        c.expected = Name::new("nothing");
        return Err(c.mismatch(c.next).0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{file_size, save};
    use crate::{Linear, Relu, Seq, seq};

    type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
    const N: usize = file_size::<Net>();

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
        v[8] = 3;
        assert_eq!(Header::read(&v), Err(LoadError::UnsupportedVersion { found: 3 }));
        let mut v = b;
        v[12] ^= 1;
        assert!(matches!(Header::read(&v), Err(LoadError::HeaderChecksum { .. })));
        let mut v = b;
        v[N - 5] ^= 0x80;
        assert!(matches!(Header::read(&v), Err(LoadError::Checksum { .. })));
        let mut v = b;
        v[11] = 1;
        refresh_crcs(&mut v);
        assert_eq!(Header::read(&v), Err(LoadError::ReservedNotZero { offset: 11 }));
        let mut v = b;
        v[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        refresh_crcs(&mut v);
        assert_eq!(Header::read(&v), Err(LoadError::SizeOverflow));
    }

    #[test]
    fn record_checks() {
        let mut net = Net::default();
        let mut v = file();
        v[32 + 6 * 64 + 3] = 1; // a reserved byte of record 6, the Relu
        refresh_crcs(&mut v);
        assert_eq!(load(&mut net, &v), Err(LoadError::BadRecord { record: 6 }));
        let mut v = file();
        v[32 + 6 * 64 + 8] = b'S'; // "Selu"
        refresh_crcs(&mut v);
        assert_eq!(
            load(&mut net, &v),
            Err(LoadError::LayerMismatch {
                at: Name::new("1"),
                expected: Name::new("Relu"),
                found: Name::new("Selu")
            })
        );
        assert_eq!(net, Net::default());
    }
}
