//! Paths in the module tree: `2`, `3.inner.0`, without allocating.

use core::fmt;

/// Deepest path a walk keeps; a deeper one is marked
/// [overflowed](Path::overflowed), and the weight file, the PyTorch import
/// and [`super::index_of`] refuse such a model.
pub const MAX_DEPTH: usize = 16;

/// One step of a path: an entry of a sequence or a named child of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    /// Entry `k` of a sequence.
    Index(usize),
    /// A block's child.
    Name(&'static str),
}

/// The path of a node: its steps from the model's root, written with dots
/// (`3.inner.0`), as PyTorch names submodules.
///
/// ```
/// use stackprop::module::{Path, Seg};
/// let mut p = Path::new();
/// p.push(Seg::Index(3));
/// p.push(Seg::Name("inner"));
/// p.push(Seg::Index(0));
/// assert_eq!(p.to_string(), "3.inner.0");
/// assert!(p.is_prefix_of("3.inner.0.weight", "weight"));
/// assert!(!p.is_prefix_of("3.inner.0.weights", "weight"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    segs: [Seg; MAX_DEPTH],
    len: usize,
    overflowed: bool,
}

impl Default for Path {
    fn default() -> Self {
        Self::new()
    }
}

impl Path {
    /// The root (the empty path).
    pub const fn new() -> Self {
        Path { segs: [Seg::Index(0); MAX_DEPTH], len: 0, overflowed: false }
    }

    /// Appends a step (past [`MAX_DEPTH`] it is dropped and the path marked
    /// overflowed).
    pub fn push(&mut self, s: Seg) {
        match self.segs.get_mut(self.len) {
            Some(slot) => *slot = s,
            None => self.overflowed = true,
        }
        self.len += 1;
    }

    /// Removes the last step.
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// The steps.
    pub fn segs(&self) -> &[Seg] {
        &self.segs[..self.len.min(MAX_DEPTH)]
    }

    /// Whether a step was ever dropped for depth.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Writes `{self}.{name}` (or `name` at the root) into `w`.
    pub fn write_with(&self, w: &mut impl fmt::Write, name: &str) -> fmt::Result {
        write!(w, "{self}")?;
        if !self.segs().is_empty() && !name.is_empty() {
            w.write_char('.')?;
        }
        w.write_str(name)
    }

    /// Whether `query` is `{self}.{name}`.
    pub fn is_prefix_of(&self, query: &str, name: &str) -> bool {
        /// A sink that checks what is written against a string.
        struct Match<'q> {
            rest: &'q str,
            ok: bool,
        }
        impl fmt::Write for Match<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                match self.rest.strip_prefix(s) {
                    Some(r) if self.ok => self.rest = r,
                    _ => self.ok = false,
                }
                Ok(())
            }
        }
        let mut m = Match { rest: query, ok: !self.overflowed };
        let _ = self.write_with(&mut m, name);
        m.ok && m.rest.is_empty()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, s) in self.segs().iter().enumerate() {
            if k > 0 {
                f.write_str(".")?;
            }
            match s {
                Seg::Index(i) => write!(f, "{i}")?,
                Seg::Name(n) => f.write_str(n)?,
            }
        }
        Ok(())
    }
}
