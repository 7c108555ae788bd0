//! Short texts carried in errors without allocating: tensor paths, layer
//! descriptions.

use crate::module::Path;
use core::fmt;

/// Bytes a [`Name`] holds; longer names are cut (and shown with `…`).
pub const NAME_CAP: usize = 64;

/// A tensor name (or dtype string) carried in an error without allocating:
/// at most [`NAME_CAP`] bytes, cut at a character boundary.
///
/// ```
/// use stackprop::io::torch::Name;
/// let n = Name::new("0.weight");
/// assert_eq!(n.as_str(), "0.weight");
/// assert_eq!(format!("{n}"), "0.weight");
/// let long = Name::new(&"x".repeat(100));
/// assert!(long.is_cut() && format!("{long}").ends_with('…'));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    buf: [u8; NAME_CAP],
    len: u8,
    cut: bool,
}

impl Name {
    /// An empty name.
    pub const fn empty() -> Self {
        Self { buf: [0; NAME_CAP], len: 0, cut: false }
    }

    /// `s`, cut to [`NAME_CAP`] bytes.
    pub fn new(s: &str) -> Self {
        let mut n = Self::empty();
        n.push_str(s);
        n
    }

    #[cfg(feature = "torch")]
    pub(crate) fn from_json(s: &crate::io::torch::json::JsonStr<'_>) -> Self {
        let mut n = Self::empty();
        for c in s.chars() {
            n.push(c);
        }
        n
    }

    /// The text `f` writes, cut to [`NAME_CAP`] bytes.
    pub(crate) fn from_fmt(f: impl FnOnce(&mut Self) -> fmt::Result) -> Self {
        let mut n = Self::empty();
        let _ = f(&mut n);
        n
    }

    /// The path of a node (`2.inner`), as errors name a layer.
    pub(crate) fn path(p: &Path) -> Self {
        Self::from_fmt(|n| fmt::Write::write_fmt(n, format_args!("{p}")))
    }

    /// The path of what is named `name` in the node `p`: a tensor
    /// (`2.inner.0.weight`), a block's child (`2.inner`).
    pub(crate) fn join(p: &Path, name: &str) -> Self {
        Self::from_fmt(|n| p.write_with(n, name))
    }

    pub(crate) fn push(&mut self, c: char) {
        let len = self.len as usize;
        let w = c.len_utf8();
        if self.cut || len + w > NAME_CAP {
            self.cut = true;
            return;
        }
        c.encode_utf8(&mut self.buf[len..len + w]);
        self.len += w as u8;
    }

    pub(crate) fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push(c));
    }

    /// The (possibly cut) name.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }

    /// Whether the name was longer than [`NAME_CAP`] bytes and was cut.
    pub fn is_cut(&self) -> bool {
        self.cut
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.cut { f.write_str("…") } else { Ok(()) }
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl fmt::Write for Name {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}
