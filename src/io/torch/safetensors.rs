//! The safetensors container, read in place from a borrowed byte slice.
//!
//! A file is: an 8-byte little-endian header length `N`; `N` bytes of UTF-8
//! JSON (padded with spaces), an object mapping each tensor name to
//! `{"dtype": "F32", "shape": [out, in], "data_offsets": [begin, end]}` plus
//! an optional `"__metadata__"` object of strings; then the data section,
//! which `data_offsets` index (relative to its start), little-endian and
//! row-major.

use super::error::{Name, TorchError};
use super::json::{Cursor, JsonError, JsonStr};
use core::fmt;

/// Dimensions a [`Shape`] keeps (more are counted, not stored).
pub const MAX_RANK: usize = crate::module::MAX_RANK;

/// A tensor shape as it appears in a file or as a model needs it.
///
/// ```
/// use stackprop::io::torch::Shape;
/// let s = Shape::new(&[8, 4]);
/// assert_eq!((s.rank(), s.dims(), s.elements()), (2, &[8u64, 4][..], Some(32)));
/// assert_eq!(format!("{s}"), "[8, 4]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    dims: [u64; MAX_RANK],
    rank: usize,
}

impl Shape {
    /// The shape with dimensions `dims` (only the first [`MAX_RANK`] are
    /// stored).
    pub fn new(dims: &[u64]) -> Self {
        let mut s = Self::scalar();
        dims.iter().for_each(|&d| s.push(d));
        s
    }

    const fn scalar() -> Self {
        Self { dims: [0; MAX_RANK], rank: 0 }
    }

    fn push(&mut self, d: u64) {
        if let Some(slot) = self.dims.get_mut(self.rank) {
            *slot = d;
        }
        self.rank = self.rank.saturating_add(1);
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The stored dimensions (at most [`MAX_RANK`]).
    pub fn dims(&self) -> &[u64] {
        &self.dims[..self.rank.min(MAX_RANK)]
    }

    /// Number of elements (`None` if it overflows a `u64` or the rank is
    /// above [`MAX_RANK`]).
    pub fn elements(&self) -> Option<u64> {
        if self.rank > MAX_RANK {
            return None;
        }
        self.dims().iter().try_fold(1u64, |e, &d| e.checked_mul(d))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (k, d) in self.dims().iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.rank > MAX_RANK {
            write!(f, ", … ({} dims)", self.rank)?;
        }
        f.write_str("]")
    }
}

/// A tensor's dtype: one this crate loads, or another one by name.
///
/// ```
/// use stackprop::io::torch::Dtype;
/// assert_eq!(format!("{}", Dtype::F32), "F32");
/// assert_eq!(Dtype::F64.bytes(), Some(8));
/// assert_eq!(Dtype::of(stackprop::module::Dtype::I8), Dtype::I8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dtype {
    /// `"F32"`.
    F32,
    /// `"F64"`.
    F64,
    /// `"I8"`.
    I8,
    /// `"I16"`.
    I16,
    /// `"I32"`.
    I32,
    /// `"I64"`.
    I64,
    /// `"U8"`.
    U8,
    /// Any other dtype string (`"F16"`, `"BF16"`, `"BOOL"`, …).
    Other(Name),
}

/// The dtypes this crate reads, with their element types and names.
const KNOWN: [(Dtype, crate::module::Dtype, &str); 7] = [
    (Dtype::F32, crate::module::Dtype::F32, "F32"),
    (Dtype::F64, crate::module::Dtype::F64, "F64"),
    (Dtype::I8, crate::module::Dtype::I8, "I8"),
    (Dtype::I16, crate::module::Dtype::I16, "I16"),
    (Dtype::I32, crate::module::Dtype::I32, "I32"),
    (Dtype::I64, crate::module::Dtype::I64, "I64"),
    (Dtype::U8, crate::module::Dtype::U8, "U8"),
];

impl Dtype {
    /// Bytes per element for the dtypes this crate reads; `None` for
    /// others.
    pub fn bytes(&self) -> Option<u64> {
        self.elem().map(|t| t.bytes() as u64)
    }

    /// The element type of this dtype's values, if this crate reads it.
    pub fn elem(&self) -> Option<crate::module::Dtype> {
        KNOWN.iter().find(|k| k.0 == *self).map(|k| k.1)
    }

    /// The dtype whose values are `t`'s (`Other` for a SIMD pack).
    pub fn of(t: crate::module::Dtype) -> Self {
        KNOWN.iter().find(|k| k.1 == t).map_or(Dtype::Other(Name::new(t.name())), |k| k.0)
    }

    fn parse(s: &JsonStr<'_>) -> Self {
        KNOWN.iter().find(|k| s.is(k.2)).map_or_else(|| Dtype::Other(Name::from_json(s)), |k| k.0)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, KNOWN.iter().find(|k| k.0 == *self)) {
            (Dtype::Other(n), _) => n.fmt(f),
            (_, Some(k)) => f.write_str(k.2),
            (_, None) => f.write_str("?"),
        }
    }
}

/// One tensor entry of a header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<'a> {
    pub name: JsonStr<'a>,
    pub dtype: Dtype,
    pub shape: Shape,
    pub begin: u64,
    pub end: u64,
}

/// A parsed file: its header text and data section, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SafeTensors<'a> {
    header: &'a str,
    pub data: &'a [u8],
}

/// File offset of the JSON header.
const HEADER_AT: usize = 8;

impl<'a> SafeTensors<'a> {
    /// Splits the file and checks the header's syntax and structure (every
    /// entry has exactly a string dtype, an integer shape and two integer
    /// offsets; metadata maps strings to strings).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, TorchError> {
        let Some(n) = bytes.first_chunk::<8>() else {
            return Err(TorchError::Truncated { expected: HEADER_AT, found: bytes.len() });
        };
        let n = u64::from_le_bytes(*n);
        let end = usize::try_from(n).ok().and_then(|n| n.checked_add(HEADER_AT));
        let Some((header, data)) = end.and_then(|e| bytes.get(HEADER_AT..e).zip(bytes.get(e..)))
        else {
            let expected = end.unwrap_or(usize::MAX);
            return Err(TorchError::Truncated { expected, found: bytes.len() });
        };
        let header = core::str::from_utf8(header)
            .map_err(|e| TorchError::HeaderNotUtf8 { offset: HEADER_AT + e.valid_up_to() })?;
        let file = Self { header, data };
        file.for_each(|_| Ok(()))?;
        Ok(file)
    }

    /// Calls `f` for every tensor entry, in file order.
    pub fn for_each(
        &self,
        mut f: impl FnMut(Entry<'a>) -> Result<(), TorchError>,
    ) -> Result<(), TorchError> {
        let mut c = Cursor::new(self.header, HEADER_AT);
        let mut seen_metadata = false;
        c.object(|c, key| {
            if key.is("__metadata__") {
                if seen_metadata {
                    return Err(c.err("__metadata__ appears twice").into());
                }
                seen_metadata = true;
                c.object::<JsonError>(|c, _| c.string().map(drop))?;
                return Ok(());
            }
            let e = entry(c, key)?;
            f(e)
        })?;
        c.end()?;
        Ok(())
    }
}

fn entry<'a>(c: &mut Cursor<'a>, name: JsonStr<'a>) -> Result<Entry<'a>, TorchError> {
    let at = c.offset();
    let (mut dtype, mut shape, mut offsets) = (None, None, None);
    c.object(|c, key| {
        let dup = if key.is("dtype") {
            dtype.replace(Dtype::parse(&c.string()?)).is_some()
        } else if key.is("shape") {
            let mut s = Shape::scalar();
            c.array(|c| c.uint().map(|d| s.push(d)))?;
            shape.replace(s).is_some()
        } else if key.is("data_offsets") {
            let mut o = [0u64; 2];
            let mut k = 0;
            c.array(|c| {
                let v = c.uint()?;
                let slot = o.get_mut(k).ok_or(c.err("data_offsets has more than 2 numbers"))?;
                *slot = v;
                k += 1;
                Ok::<(), JsonError>(())
            })?;
            if k != 2 {
                return Err(c.err("data_offsets needs 2 numbers"));
            }
            offsets.replace(o).is_some()
        } else {
            return Err(c.err("unknown field in a tensor entry"));
        };
        if dup { Err(c.err("field appears twice in a tensor entry")) } else { Ok(()) }
    })?;
    let missing = |what| TorchError::Json { offset: at, what };
    let dtype = dtype.ok_or(missing("tensor entry has no dtype"))?;
    let shape = shape.ok_or(missing("tensor entry has no shape"))?;
    let [begin, end] = offsets.ok_or(missing("tensor entry has no data_offsets"))?;
    Ok(Entry { name, dtype, shape, begin, end })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// A file with header `h` and `data`, header padded to 8 bytes as the
    /// reference writer does.
    fn file<'a>(h: &str, data: &[u8], out: &'a mut [u8; 512]) -> &'a [u8] {
        let pad = (8 - h.len() % 8) % 8;
        let n = h.len() + pad;
        out[..8].copy_from_slice(&(n as u64).to_le_bytes());
        out[8..8 + h.len()].copy_from_slice(h.as_bytes());
        out[8 + h.len()..8 + n].fill(b' ');
        out[8 + n..8 + n + data.len()].copy_from_slice(data);
        &out[..8 + n + data.len()]
    }

    #[test]
    fn reads_entries_and_skips_metadata() {
        let mut buf = [0u8; 512];
        let h = r#"{"__metadata__":{"format":"pt"},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"shape":[],"data_offsets":[8,9],"dtype":"U8"}}"#;
        let f = SafeTensors::parse(file(h, &[0; 9], &mut buf)).unwrap();
        assert_eq!(f.data.len(), 9);
        let mut n = 0;
        f.for_each(|e| {
            if n == 0 {
                assert!(e.name.is("0.bias"));
                assert_eq!(
                    (e.dtype, e.shape, e.begin, e.end),
                    (Dtype::F32, Shape::new(&[2]), 0, 8)
                );
            } else {
                assert_eq!(e.dtype, Dtype::U8);
                assert_eq!(e.shape.rank(), 0);
                assert_eq!(e.shape.elements(), Some(1));
            }
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn rejects_malformed_headers() {
        let err = |h: &str| {
            let mut buf = [0u8; 512];
            match SafeTensors::parse(file(h, &[], &mut buf)) {
                Err(TorchError::Json { what, .. }) => what,
                other => panic!("{h}: {other:?}"),
            }
        };
        let ok = r#""dtype":"F32","shape":[1],"data_offsets":[0,4]"#;
        assert_eq!(
            err(&["{\"a\":{", ok, ",\"dtype\":\"F32\"}}"].concat()),
            "field appears twice in a tensor entry"
        );
        assert_eq!(err(r#"{"a":{"dtype":"F32","shape":[1]}}"#), "tensor entry has no data_offsets");
        assert_eq!(
            err(r#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#),
            "tensor entry has no shape"
        );
        assert_eq!(err(r#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#), "tensor entry has no dtype");
        assert_eq!(
            err(&["{\"a\":{", ok, ",\"x\":1}}"].concat()),
            "unknown field in a tensor entry"
        );
        assert_eq!(
            err(r#"{"a":{"data_offsets":[0,4,8]}}"#),
            "data_offsets has more than 2 numbers"
        );
        assert_eq!(err(r#"{"a":{"data_offsets":[0]}}"#), "data_offsets needs 2 numbers");
        assert_eq!(err(r#"{"__metadata__":{"k":1}}"#), "expected a string");
        assert_eq!(err(r#"{"__metadata__":{},"__metadata__":{}}"#), "__metadata__ appears twice");
        assert_eq!(err(r#"{"a":{"dtype":"F32","shape":[-1]}}"#), "negative number");
        assert_eq!(err(r#"{"a":[]}"#), "expected an object");
        assert_eq!(err(r#"{}}"#), "text after the header object");
    }

    #[test]
    fn rejects_bad_framing() {
        assert_eq!(
            SafeTensors::parse(&[1, 0, 0]).unwrap_err(),
            TorchError::Truncated { expected: 8, found: 3 }
        );
        let mut b = [0u8; 12];
        b[0] = 10;
        assert_eq!(
            SafeTensors::parse(&b).unwrap_err(),
            TorchError::Truncated { expected: 18, found: 12 }
        );
        b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(SafeTensors::parse(&b), Err(TorchError::Truncated { .. })));
        let b = [2, 0, 0, 0, 0, 0, 0, 0, b'{', 0xFF];
        assert_eq!(SafeTensors::parse(&b).unwrap_err(), TorchError::HeaderNotUtf8 { offset: 9 });
    }
}
