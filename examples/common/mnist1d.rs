//! MNIST-1D (`data/mnist1d.bin`, made by `tools/make_mnist1d.py`; see
//! `data/README.md`): 4,000 training and 1,000 test signals of 40 values,
//! classes 0..10, compiled into the binary with `include_bytes!`.
//!
//! A signal is one channel of 40 positions, PyTorch shape `[1, 40]`; in the
//! crate's feature-map layout (channel fastest) that is just the 40 values
//! in order, so a sample is an input column of `N = 40` rows as it is.
//!
//! The file, all little-endian:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"MNIST1D\x01"` (format version 1) |
//! | 8 | 4 × 4 | `u32`: train samples 4000, test samples 1000, length 40, classes 10 |
//! | 24 | 800,000 | x: 5,000 × 40 `f32`, one signal after another, train then test |
//! | 800,024 | 5,000 | y: 5,000 `u8` class indices, train then test |
//!
//! [`decode`] checks the length and header and fills caller buffers without
//! allocating; [`mnist1d`] also checks the SHA-256 of the embedded file and
//! returns owned tables.

use super::Table;
use std::fmt;

/// The file, embedded.
pub const MNIST1D_BIN: &[u8] = include_bytes!("../../data/mnist1d.bin");
/// SHA-256 of `data/mnist1d.bin`, as recorded in `data/README.md`.
pub const SHA256: &str = "27c014f0d42989a39a6c4252d7c0bf19fb51a609ed6f87f7be97865f3c5081a6";
/// Training signals.
pub const TRAIN: usize = 4000;
/// Test signals.
pub const TEST: usize = 1000;
/// Values per signal (1 channel × 40 positions).
pub const LEN: usize = 40;
/// Classes (the digits 0..=9).
pub const CLASSES: usize = 10;
const MAGIC: &[u8; 8] = b"MNIST1D\x01";
const HEADER: usize = 24;
/// Length of the file: header, `f32` signals, `u8` labels.
pub const BYTES: usize = HEADER + (TRAIN + TEST) * (4 * LEN + 1);

/// What is wrong with an MNIST-1D file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The file is not [`BYTES`] long.
    Length { found: usize },
    /// It does not start with `MNIST1D\x01`.
    Magic,
    /// A header field differs from this loader's constants.
    Header { field: &'static str, expected: usize, found: u32 },
    /// The SHA-256 of the file is not [`SHA256`].
    Checksum { found: [u8; 32] },
    /// A value is NaN or infinite (`sample` counts train then test).
    NotFinite { sample: usize, position: usize },
    /// A label is not below [`CLASSES`].
    Label { sample: usize, label: u8 },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Length { found } => write!(f, "mnist1d.bin: {found} bytes, expected {BYTES}"),
            Self::Magic => write!(f, "mnist1d.bin: does not start with MNIST1D\\x01"),
            Self::Header { field, expected, found } => {
                write!(f, "mnist1d.bin: header says {found} {field}, expected {expected}")
            }
            Self::Checksum { found } => write!(
                f,
                "mnist1d.bin: SHA-256 {}, expected {SHA256} (data/README.md); \
                 regenerate with tools/make_mnist1d.py",
                hex(&found)
            ),
            Self::NotFinite { sample, position } => {
                write!(f, "mnist1d.bin: sample {sample}, position {position} is not finite")
            }
            Self::Label { sample, label } => {
                write!(f, "mnist1d.bin: sample {sample} has label {label}, not below {CLASSES}")
            }
        }
    }
}

impl std::error::Error for FormatError {}

/// Reads an MNIST-1D file into `train` and `test` buffers of exactly
/// [`TRAIN`] and [`TEST`] samples (pairs of signals and labels). Checks the
/// length, the header, that every value is finite and every label below
/// [`CLASSES`]. Allocates nothing.
pub fn decode(
    bytes: &[u8],
    train: (&mut [[f32; LEN]], &mut [usize]),
    test: (&mut [[f32; LEN]], &mut [usize]),
) -> Result<(), FormatError> {
    assert!(train.0.len() == TRAIN && train.1.len() == TRAIN, "train buffers hold {TRAIN}");
    assert!(test.0.len() == TEST && test.1.len() == TEST, "test buffers hold {TEST}");
    if bytes.len() != BYTES {
        return Err(FormatError::Length { found: bytes.len() });
    }
    let (head, body) = bytes.split_at(HEADER);
    if head[..8] != MAGIC[..] {
        return Err(FormatError::Magic);
    }
    let fields =
        [("train samples", TRAIN), ("test samples", TEST), ("values", LEN), ("classes", CLASSES)];
    for ((field, expected), b) in fields.into_iter().zip(head[8..].chunks_exact(4)) {
        let found = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if found as usize != expected {
            return Err(FormatError::Header { field, expected, found });
        }
    }
    let (xs, ys) = body.split_at((TRAIN + TEST) * LEN * 4);
    let samples = train.0.iter_mut().zip(train.1.iter_mut()).chain(test.0.iter_mut().zip(test.1));
    for (sample, ((x, y), (raw, &label))) in
        samples.zip(xs.chunks_exact(4 * LEN).zip(ys)).enumerate()
    {
        for (position, (v, b)) in x.iter_mut().zip(raw.chunks_exact(4)).enumerate() {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if !v.is_finite() {
                return Err(FormatError::NotFinite { sample, position });
            }
        }
        if usize::from(label) >= CLASSES {
            return Err(FormatError::Label { sample, label });
        }
        *y = usize::from(label);
    }
    Ok(())
}

/// MNIST-1D's training and test sets, owned (host side).
pub struct Mnist1d {
    /// 4,000 signals and labels.
    pub train: Table<LEN>,
    /// 1,000 signals and labels.
    pub test: Table<LEN>,
}

/// The embedded `data/mnist1d.bin`, checked against its SHA-256 and
/// decoded, in the file's order (the package's shuffle, already split).
pub fn mnist1d() -> Result<Mnist1d, FormatError> {
    let found = sha256(MNIST1D_BIN);
    if hex(&found) != SHA256 {
        return Err(FormatError::Checksum { found });
    }
    let table = |n| Table { x: vec![[0.0; LEN]; n], y: vec![0; n] };
    let (mut train, mut test) = (table(TRAIN), table(TEST));
    decode(MNIST1D_BIN, (&mut train.x, &mut train.y), (&mut test.x, &mut test.y))?;
    Ok(Mnist1d { train, test })
}

/// Lower-case hexadecimal of a digest.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (FIPS 180-4) of `data`: the checksum `sha256sum` prints.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        compress(&mut h, block);
    }
    // Padding: a 1 bit, zeros, and the length in bits, to a whole block (or two).
    let rest = blocks.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let end = if rest.len() < 56 { 64 } else { 128 };
    tail[end - 8..end].copy_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in tail[..end].chunks_exact(64) {
        compress(&mut h, block);
    }
    let mut out = [0u8; 32];
    for (o, v) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn compress(h: &mut [u32; 8], block: &[u8]) {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut w = [0u32; 64];
    for (w, b) in w.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut k] = *h;
    for (kt, wt) in K.into_iter().zip(w) {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = k.wrapping_add(s1).wrapping_add(ch).wrapping_add(kt).wrapping_add(wt);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let t2 = s0.wrapping_add((a & b) ^ (a & c) ^ (b & c));
        (k, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
    }
    for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, k]) {
        *x = x.wrapping_add(v);
    }
}
