//! The constants and byte encodings of the weight-file format described in
//! [`crate::io`]: magic, version, field offsets, records.
//!
//! ```
//! use stackprop::io::format::{HEADER_LEN, MAGIC, RECORD_LEN, VERSION};
//! assert_eq!((HEADER_LEN, RECORD_LEN, VERSION), (32, 64, 2));
//! assert_eq!(&MAGIC[1..4], b"SPW");
//! ```

use crate::module::{Dtype, Hyper, Module, NAME_MAX, ParamKind, Path, Value, Visitor};

/// The first eight bytes of every weight file: `\x89 S P W \r \n \x1a \n`.
/// Like PNG's signature, the high byte catches 7-bit transfers and the line
/// endings catch text-mode conversions.
pub const MAGIC: [u8; 8] = [0x89, b'S', b'P', b'W', b'\r', b'\n', 0x1A, b'\n'];
/// The format version this crate writes (it reads versions 1 and 2).
pub const VERSION: u16 = 2;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 32;
/// Bytes of one record of the architecture signature.
pub const RECORD_LEN: usize = 64;
/// Bytes of the trailing checksum.
pub const CRC_LEN: usize = 4;

/// Header field offsets.
pub(crate) mod at {
    pub const VERSION: usize = 8;
    pub const RESERVED_A: usize = 10;
    pub const RECORDS: usize = 12;
    pub const DATA: usize = 16;
    pub const TENSORS: usize = 24;
    pub const HEADER_CRC: usize = 28;
    // Within a record.
    pub const TAG: usize = 0;
    pub const NAME: usize = 8;
    pub const PAYLOAD: usize = 40;
}

/// The exact size in bytes of the weight file of a model of type `M`:
/// `36 + 64·records + data bytes` ([`crate::module::Size`]). A `const fn`,
/// so a buffer can be sized at compile time.
///
/// ```
/// use stackprop::io::file_size;
/// use stackprop::{Linear, Relu, Seq};
/// type Net = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>];
/// const N: usize = file_size::<Net>();
/// // each Linear: a node, 3 hyper-parameters, 2 tensors; Relu: a node
/// assert_eq!(N, 36 + 64 * (6 + 1 + 6) + 4 * (4 * 8 + 8 + 8 * 3 + 3));
/// let buf = [0u8; N];
/// # let _ = buf;
/// ```
pub const fn file_size<M: Module>() -> usize {
    HEADER_LEN + RECORD_LEN * M::SIZE.records + M::SIZE.bytes + CRC_LEN
}

/// The kinds of record.
pub(crate) mod tag {
    pub const NODE: u8 = 1;
    pub const SCALAR: u8 = 2;
    pub const DIM: u8 = 3;
    pub const VALUE: u8 = 4;
    pub const TENSOR: u8 = 5;
    pub const CHILD: u8 = 6;
}

/// One record of the architecture signature.
pub(crate) type Record = [u8; RECORD_LEN];

/// Writes `v` little-endian at `b[at..]`.
pub(crate) fn put(b: &mut [u8], at: usize, v: &[u8]) {
    for (d, s) in b.iter_mut().skip(at).zip(v) {
        *d = *s;
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

/// A record with tag `t` and name `name` (cut at [`NAME_MAX`] bytes; the
/// descriptions' names are checked to fit when they are built).
fn record(t: u8, name: &str) -> Record {
    let mut r = [0u8; RECORD_LEN];
    r[at::TAG] = t;
    put(&mut r, at::NAME, &name.as_bytes()[..name.len().min(NAME_MAX)]);
    r
}

/// The record that begins a node of kind `kind` with so many
/// hyper-parameters, tensors and children.
pub(crate) fn node_record(kind: &str, hypers: usize, tensors: usize, children: usize) -> Record {
    let mut r = record(tag::NODE, kind);
    put(&mut r, at::PAYLOAD, &(hypers as u32).to_le_bytes());
    put(&mut r, at::PAYLOAD + 4, &(tensors as u32).to_le_bytes());
    put(&mut r, at::PAYLOAD + 8, &(children as u32).to_le_bytes());
    r
}

/// The record of a scalar type parameter (named by the type).
pub(crate) fn scalar_record(t: Dtype) -> Record {
    let mut r = record(tag::SCALAR, t.name());
    r[at::PAYLOAD] = t.code();
    r
}

/// The record of a dimension.
pub(crate) fn dim_record(name: &str, v: u64) -> Record {
    let mut r = record(tag::DIM, name);
    put(&mut r, at::PAYLOAD, &v.to_le_bytes());
    r
}

/// The record of a value.
pub(crate) fn value_record(name: &str, v: Value) -> Record {
    let (code, bits) = v.encode();
    let mut r = record(tag::VALUE, name);
    r[at::PAYLOAD] = code;
    put(&mut r, at::PAYLOAD + 8, &bits.to_le_bytes());
    r
}

/// The record of a tensor (`None` for a type files do not store, a rank
/// over [`crate::module::MAX_RANK`] or a dimension over `u32::MAX`).
pub(crate) fn tensor_record(name: &str, kind: ParamKind, t: Dtype, dims: &[u64]) -> Option<Record> {
    if !t.storable() || dims.len() > crate::module::MAX_RANK {
        return None;
    }
    let mut r = record(tag::TENSOR, name);
    r[at::PAYLOAD] = kind.code();
    r[at::PAYLOAD + 1] = t.code();
    r[at::PAYLOAD + 2] = dims.len() as u8;
    for (k, &d) in dims.iter().enumerate() {
        put(&mut r, at::PAYLOAD + 4 + 4 * k, &u32::try_from(d).ok()?.to_le_bytes());
    }
    Some(r)
}

/// The record of a block's child `name`, a sequence of `entries` entries.
pub(crate) fn child_record(name: &str, entries: usize) -> Record {
    let mut r = record(tag::CHILD, name);
    put(&mut r, at::PAYLOAD, &(entries as u64).to_le_bytes());
    r
}

/// The records of one node of `m`: itself, its hyper-parameters and its
/// own tensors. `Err` if a type is not storable or a value is missing.
pub(crate) fn node_records<M: Module>(
    m: &M,
    mut emit: impl FnMut(Record) -> Result<(), ()>,
) -> Result<(), ()> {
    let d = &M::DESC;
    emit(node_record(d.kind, d.hypers().len(), d.tensors().len(), d.children().len()))?;
    let mut values = 0;
    for h in d.hypers() {
        emit(match *h {
            Hyper::Scalar(t) if t.storable() => scalar_record(t),
            Hyper::Scalar(_) => return Err(()),
            Hyper::Dim(name, v) => dim_record(name, v as u64),
            Hyper::Value(name) => {
                let v = m.value(values).ok_or(())?;
                values += 1;
                value_record(name, v)
            }
        })?;
    }
    for s in d.tensors() {
        let mut dims = [0u64; crate::module::MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(s.dims()) {
            *d = s as u64;
        }
        emit(tensor_record(s.name, s.kind, s.dtype, &dims[..s.dims().len()]).ok_or(())?)?;
    }
    Ok(())
}

/// Calls `emit` with every record of `model`'s signature, in order, and
/// `node` with the path of every node as its records begin.
pub(crate) struct Signature<F> {
    pub emit: F,
    /// The child begun last, whose record waits for its sequence's length
    /// (`begin_sequence` gives it right after `begin_child`).
    pending_child: Option<&'static str>,
}

impl<F> Signature<F> {
    pub fn new(emit: F) -> Self {
        Signature { emit, pending_child: None }
    }
}

/// What the signature's consumer is told.
pub(crate) enum Event<'a> {
    /// A node's records begin; `text` renders it.
    Node(&'a Path, &'a dyn Fn(&mut dyn core::fmt::Write) -> core::fmt::Result),
    /// A record.
    Record(Record),
}

impl<E, F: FnMut(Event<'_>) -> Result<(), E>> Visitor for Signature<F> {
    type Error = Option<E>;

    fn node<M: Module>(&mut self, path: &Path, m: &M) -> Result<(), Option<E>> {
        (self.emit)(Event::Node(path, &|w| write_node(m, w))).map_err(Some)?;
        let mut err = None;
        let r = node_records(m, |r| match (self.emit)(Event::Record(r)) {
            Ok(()) => Ok(()),
            Err(e) => {
                err = Some(e);
                Err(())
            }
        });
        match (r, err) {
            (Ok(()), _) => Ok(()),
            (Err(()), e) => Err(e),
        }
    }

    fn begin_child(&mut self, name: &'static str) -> Result<(), Option<E>> {
        self.pending_child = Some(name);
        Ok(())
    }

    fn begin_sequence(&mut self, entries: usize) -> Result<(), Option<E>> {
        match self.pending_child.take() {
            Some(name) => (self.emit)(Event::Record(child_record(name, entries))).map_err(Some),
            None => Ok(()),
        }
    }
}

/// Writes a node as messages show it: `Linear(f32, in=4, out=8)`,
/// `LeakyRelu(f32, slope=0.01)`, `Relu`.
pub(crate) fn write_node<M: Module>(m: &M, w: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let d = &M::DESC;
    w.write_str(d.kind)?;
    let mut values = 0;
    for (k, h) in d.hypers().iter().enumerate() {
        w.write_str(if k == 0 { "(" } else { ", " })?;
        match *h {
            Hyper::Scalar(t) => w.write_str(t.name())?,
            Hyper::Dim(name, v) => write!(w, "{name}={v}")?,
            Hyper::Value(name) => {
                match m.value(values) {
                    Some(v) => write!(w, "{name}={v}")?,
                    None => write!(w, "{name}=?")?,
                }
                values += 1;
            }
        }
    }
    if !d.hypers().is_empty() {
        w.write_str(")")?;
    }
    Ok(())
}

/// Writes `a sequence of n layers`, as messages show a block's child.
pub(crate) fn write_sequence(n: u64, w: &mut dyn core::fmt::Write) -> core::fmt::Result {
    write!(w, "a sequence of {n} layer{}", if n == 1 { "" } else { "s" })
}

/// Whether `r` is a record this format can hold: a known tag, zero
/// reserved and unused bytes, a name of UTF-8 padded with zeros, and a
/// payload its tag allows (codes that exist, a rank of at most 5,
/// dimensions past the rank zero).
pub(crate) fn well_formed(r: &Record) -> bool {
    let zero = |a: usize, b: usize| r[a..b].iter().all(|&x| x == 0);
    let p = at::PAYLOAD;
    let payload = match r[at::TAG] {
        tag::NODE => zero(p + 12, RECORD_LEN),
        tag::SCALAR => Dtype::from_code(r[p]).is_some() && zero(p + 1, RECORD_LEN),
        tag::DIM | tag::CHILD => zero(p + 8, RECORD_LEN),
        tag::VALUE => {
            Value::decode(r[p], get_u64(r, p + 8)).is_some()
                && zero(p + 1, p + 8)
                && zero(p + 16, RECORD_LEN)
        }
        tag::TENSOR => {
            let rank = r[p + 2] as usize;
            ParamKind::from_code(r[p]).is_some()
                && Dtype::from_code(r[p + 1]).is_some()
                && rank <= crate::module::MAX_RANK
                && r[p + 3] == 0
                && zero(p + 4 + 4 * rank, RECORD_LEN)
        }
        _ => false,
    };
    payload && zero(1, at::NAME) && record_name(r).is_some()
}

/// Writes what a record says, for a message where two nodes differ in a
/// way their texts do not show: `f32[8] bias` (a tensor), `f64 0.1` (a
/// value), `4` (a dimension).
pub(crate) fn write_record(r: &Record, w: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let p = at::PAYLOAD;
    match r[at::TAG] {
        tag::TENSOR => {
            let t = Dtype::from_code(r[p + 1]).map_or("?", Dtype::name);
            write!(w, "{t}[")?;
            for k in 0..(r[p + 2] as usize).min(crate::module::MAX_RANK) {
                let sep = if k > 0 { ", " } else { "" };
                write!(w, "{sep}{}", get_u32(r, p + 4 + 4 * k))?;
            }
            let kind = match ParamKind::from_code(r[p]) {
                Some(ParamKind::Weight) => "weight",
                Some(ParamKind::Bias) => "bias",
                Some(ParamKind::Buffer) => "buffer",
                _ => "?",
            };
            write!(w, "] {kind}")
        }
        tag::VALUE => match Value::decode(r[p], get_u64(r, p + 8)) {
            Some(v) => {
                let t = match v {
                    Value::F32(_) => "f32",
                    Value::F64(_) => "f64",
                    Value::I64(_) => "i64",
                    _ => "bool",
                };
                write!(w, "{t} {v}")
            }
            None => w.write_str("?"),
        },
        tag::DIM => write!(w, "{}", get_u64(r, p)),
        tag::SCALAR => w.write_str(Dtype::from_code(r[p]).map_or("?", Dtype::name)),
        tag::CHILD => write_sequence(get_u64(r, p), w),
        _ => write_file_node([*r], w),
    }
}

/// A record's name, if it is valid UTF-8 padded with zeros.
pub(crate) fn record_name(r: &Record) -> Option<&str> {
    let n = &r[at::NAME..at::PAYLOAD];
    let len = n.iter().position(|&b| b == 0).unwrap_or(NAME_MAX);
    if n[len..].iter().any(|&b| b != 0) {
        return None;
    }
    core::str::from_utf8(&n[..len]).ok()
}

/// Renders the node whose records start at `recs[0]` as [`write_node`]
/// renders a model's: the node record and the hyper-parameter records
/// after it.
pub(crate) fn write_file_node(
    recs: impl IntoIterator<Item = Record>,
    w: &mut dyn core::fmt::Write,
) -> core::fmt::Result {
    let mut it = recs.into_iter();
    let Some(first) = it.next() else { return w.write_str("nothing") };
    let name = record_name(&first).unwrap_or("?");
    match first[at::TAG] {
        tag::NODE => w.write_str(name)?,
        tag::CHILD => return write_sequence(get_u64(&first, at::PAYLOAD), w),
        tag::TENSOR => return write!(w, "tensor {name}"),
        _ => return w.write_str("a malformed record"),
    }
    let hypers = get_u32(&first, at::PAYLOAD) as usize;
    for k in 0..hypers {
        let Some(r) = it.next() else { break };
        w.write_str(if k == 0 { "(" } else { ", " })?;
        let name = record_name(&r).unwrap_or("?");
        match r[at::TAG] {
            tag::SCALAR => match Dtype::from_code(r[at::PAYLOAD]) {
                Some(t) => w.write_str(t.name())?,
                None => w.write_str("?")?,
            },
            tag::DIM => write!(w, "{name}={}", get_u64(&r, at::PAYLOAD))?,
            tag::VALUE => match Value::decode(r[at::PAYLOAD], get_u64(&r, at::PAYLOAD + 8)) {
                Some(v) => write!(w, "{name}={v}")?,
                None => write!(w, "{name}=?")?,
            },
            _ => w.write_str("?")?,
        }
        if k + 1 == hypers {
            w.write_str(")")?;
        }
    }
    Ok(())
}

/// Little-endian bytes of the values of a storable type.
pub(crate) trait Le: Copy {
    const BYTES: usize;
    fn write_le(self, out: &mut [u8]);
    fn read_le(b: &[u8]) -> Self;
    /// Neither infinite nor NaN (integers always).
    fn finite(self) -> bool;
}

macro_rules! le {
    ($($t:ty, $f:expr;)*) => {$(
        impl Le for $t {
            const BYTES: usize = core::mem::size_of::<$t>();
            #[inline]
            fn write_le(self, out: &mut [u8]) {
                put(out, 0, &self.to_le_bytes());
            }
            #[inline]
            fn read_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(get(b, 0))
            }
            #[inline]
            fn finite(self) -> bool {
                let f: fn($t) -> bool = $f;
                f(self)
            }
        }
    )*};
}
le! {
    f32, |x| x.is_finite();
    f64, |x| x.is_finite();
    i8, |_| true;
    i16, |_| true;
    i32, |_| true;
    i64, |_| true;
    u8, |_| true;
}

/// Calls `$body` with `$s` bound to the typed slice of a storable
/// `Data` or `DataMut` (`$enum`), `$else` for the SIMD packs.
macro_rules! with_storable_in {
    ($enum:ident, $d:expr, $s:ident => $body:expr, $else:expr) => {
        match $d {
            $crate::module::$enum::F32($s) => $body,
            $crate::module::$enum::F64($s) => $body,
            $crate::module::$enum::I8($s) => $body,
            $crate::module::$enum::I16($s) => $body,
            $crate::module::$enum::I32($s) => $body,
            $crate::module::$enum::I64($s) => $body,
            $crate::module::$enum::U8($s) => $body,
            #[allow(unreachable_patterns)]
            _ => $else,
        }
    };
}
/// [`with_storable_in!`] for `Data`.
macro_rules! with_storable {
    ($d:expr, $s:ident => $body:expr, $else:expr) => {
        $crate::io::format::with_storable_in!(Data, $d, $s => $body, $else)
    };
}
/// [`with_storable_in!`] for `DataMut`.
macro_rules! with_storable_mut {
    ($d:expr, $s:ident => $body:expr, $else:expr) => {
        $crate::io::format::with_storable_in!(DataMut, $d, $s => $body, $else)
    };
}
pub(crate) use {with_storable, with_storable_in, with_storable_mut};

/// Whether the values stored little-endian in `b` as `dtype` are all
/// finite; the index of the first that is not.
pub(crate) fn first_non_finite(dtype: Dtype, b: &[u8]) -> Option<usize> {
    fn scan<T: Le>(b: &[u8]) -> Option<usize> {
        b.chunks_exact(T::BYTES).position(|c| !T::read_le(c).finite())
    }
    match dtype {
        Dtype::F32 => scan::<f32>(b),
        Dtype::F64 => scan::<f64>(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeakyRelu, Linear};

    fn records<M: Module>(m: &M) -> ([Record; 8], usize) {
        let mut out = [[0u8; RECORD_LEN]; 8];
        let mut n = 0;
        node_records(m, |r| {
            out[n] = r;
            n += 1;
            Ok(())
        })
        .unwrap();
        (out, n)
    }

    #[test]
    fn a_linear_layer_is_six_records() {
        let (r, n) = records(&Linear::<f32, 784, 10>::zeros());
        assert_eq!(n, 6);
        assert_eq!((r[0][0], record_name(&r[0])), (tag::NODE, Some("Linear")));
        assert_eq!(&r[0][40..52], &[3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!((r[1][0], r[1][40]), (tag::SCALAR, 1));
        assert_eq!((record_name(&r[2]), get_u64(&r[2], 40)), (Some("in"), 784));
        assert_eq!((record_name(&r[3]), get_u64(&r[3], 40)), (Some("out"), 10));
        assert_eq!((r[4][0], record_name(&r[4])), (tag::TENSOR, Some("weight")));
        assert_eq!(&r[4][40..52], &[1, 1, 2, 0, 10, 0, 0, 0, 0x10, 3, 0, 0]);
        assert_eq!(&r[5][40..48], &[2, 1, 1, 0, 10, 0, 0, 0]);
        let mut s = crate::io::Name::empty();
        write_file_node(r[..n].iter().copied(), &mut s).unwrap();
        assert_eq!(s.as_str(), "Linear(f32, in=784, out=10)");
    }

    #[test]
    fn a_value_record_holds_its_type_and_bits() {
        let (r, n) = records(&LeakyRelu::new(0.25f64).unwrap());
        assert_eq!(n, 3);
        assert_eq!((r[2][0], record_name(&r[2]), r[2][40]), (tag::VALUE, Some("slope"), 2));
        assert_eq!(get_u64(&r[2], 48), 0.25f64.to_bits());
        let mut s = crate::io::Name::empty();
        write_file_node(r[..n].iter().copied(), &mut s).unwrap();
        assert_eq!(s.as_str(), "LeakyRelu(f64, slope=0.25)");
    }

    #[test]
    fn little_endian_bytes() {
        let mut b = [0u8; 8];
        (-2.0f64).write_le(&mut b);
        assert_eq!(b, [0, 0, 0, 0, 0, 0, 0, 0xC0]);
        assert_eq!(f64::read_le(&b), -2.0);
        assert_eq!(get_u16(&[1, 2], 0), 0x0201);
        assert_eq!(get_u32(&[1, 2], 1), 2); // past the end reads zero
        assert_eq!(first_non_finite(Dtype::F32, &[0, 0, 0x80, 0x7F, 0, 0, 0, 0]), Some(0));
        assert_eq!(first_non_finite(Dtype::I8, &[0xFF; 4]), None);
    }
}
