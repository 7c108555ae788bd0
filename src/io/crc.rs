//! CRC-32 (IEEE 802.3), the checksum of weight files.
//!
//! The reflected polynomial `0xEDB8_8320` with initial value and final XOR
//! `0xFFFF_FFFF`: the CRC of zlib, gzip, PNG and Python's `zlib.crc32`. The
//! 256-entry table is built by a `const fn` at compile time (1 KiB of
//! read-only data); nothing is allocated.
//!
//! ```
//! use stackprop::io::crc::crc32;
//! assert_eq!(crc32(b"123456789"), 0xCBF4_3926); // the standard check value
//! ```

const POLY: u32 = 0xEDB8_8320;

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { POLY ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// A running CRC-32: feed bytes in pieces with [`Crc32::update`], read the
/// checksum with [`Crc32::finish`].
///
/// ```
/// use stackprop::io::crc::{crc32, Crc32};
/// let mut c = Crc32::new();
/// c.update(b"1234");
/// c.update(b"56789");
/// assert_eq!(c.finish(), crc32(b"123456789"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Crc32(u32);

impl Crc32 {
    /// The CRC of no bytes so far.
    pub const fn new() -> Self {
        Self(0xFFFF_FFFF)
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.0;
        for &b in bytes {
            c = TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    /// The checksum of all bytes fed.
    pub const fn finish(self) -> u32 {
        self.0 ^ 0xFFFF_FFFF
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

/// The CRC-32 of `bytes`.
///
/// ```
/// assert_eq!(stackprop::io::crc::crc32(b""), 0);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference: the definition of the reflected CRC, no table.
    fn crc32_bitwise(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { POLY ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn known_values() {
        // Check values of CRC-32/ISO-HDLC (the catalogue of parametrised CRC
        // algorithms) and of Python's zlib.crc32.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        assert_eq!(crc32(&[0u8; 32]), 0x190A_55AD);
    }

    #[test]
    fn table_matches_bitwise_definition() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 131 + 7) as u8);
        for n in [0, 1, 2, 7, 64, 300] {
            assert_eq!(crc32(&data[..n]), crc32_bitwise(&data[..n]));
        }
    }

    #[test]
    fn detects_every_single_bit_flip() {
        let data: [u8; 40] = core::array::from_fn(|i| i as u8);
        let c = crc32(&data);
        for bit in 0..data.len() * 8 {
            let mut d = data;
            d[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(crc32(&d), c, "bit {bit}");
        }
    }
}
