//! Models as Rust source: a trained model written out as a `static` built
//! by `const fn`s, so a firmware image compiles its weights into flash
//! (`.rodata`), with no copy into RAM at start-up and no parsing at run time.
//!
//! [`write_rust`] walks a model through its description
//! ([`crate::module`]) and writes two items into any [`core::fmt::Write`]: a
//! type alias naming the model's type and a `static` of that type built by
//! `const fn`s. Each node says how: its type is `path<generics>` (the
//! scalar type and dimensions its [`Desc`] lists, then its children's
//! types), its value `path::<generics>::ctor(values, tensors)` for a layer
//! (`path` alone for a unit struct) and `path::ctor(children)` for a block.
//! A tensor is written as nested arrays of its values in their column-major
//! order: `[T; d₀]` for rank 1, `[[T; d₀]; d₁]` for a matrix (the storage of
//! an nalgebra matrix with `d₀` rows: [`Linear::from_columns`] takes its
//! weight so), `[[[T; d₀]; d₁]; d₂]` for rank 3, one bare value for rank 0. A layer defined outside
//! the crate exports the same way, with its own path. The writer streams
//! into the sink and never allocates, so it runs on a microcontroller as
//! well as in a host build script.
//!
//! Every value is written with Rust's shortest round-trip formatting, so the
//! compiled model is bit-identical to the exported one. The whole model is
//! checked (every value finite, every layer exportable) before the first
//! byte is written: on an [`ExportError`] other than [`ExportError::Write`]
//! the sink is untouched.
//!
//! ```
//! use stackprop::export::write_rust;
//! use stackprop::prelude::*;
//!
//! type Net = Seq![Linear<f32, 2, 1>, Relu, LinearNoBias<f32, 1, 1>];
//! let net: Net = seq![Linear::from_column_slices(&[0.5, -1.0], &[0.25]).unwrap(), Relu,
//!                     LinearNoBias::from_column_slice(&[2.0]).unwrap()];
//! let mut src = String::new();
//! write_rust(&mut src, "TinyNet", "TINY", &net).unwrap();
//! assert_eq!(src, "\
//! /// The exported model's type.
//! pub type TinyNet = stackprop::Seq![
//!     stackprop::Linear<f32, 2, 1>,
//!     stackprop::Relu,
//!     stackprop::LinearNoBias<f32, 1, 1>,
//! ];
//!
//! /// The exported model, built at compile time (its weights stay in flash).
//! pub static TINY: TinyNet = stackprop::seq![
//!     stackprop::Linear::<f32, 2, 1>::from_columns([[0.5], [-1.0]], [0.25]),
//!     stackprop::Relu,
//!     stackprop::LinearNoBias::<f32, 1, 1>::from_columns([[2.0]]),
//! ];
//! ");
//!
//! // That source compiles, and the static is the model:
//! pub type TinyNet = stackprop::Seq![
//!     stackprop::Linear<f32, 2, 1>,
//!     stackprop::Relu,
//!     stackprop::LinearNoBias<f32, 1, 1>,
//! ];
//! pub static TINY: TinyNet = stackprop::seq![
//!     stackprop::Linear::<f32, 2, 1>::from_columns([[0.5], [-1.0]], [0.25]),
//!     stackprop::Relu,
//!     stackprop::LinearNoBias::<f32, 1, 1>::from_columns([[2.0]]),
//! ];
//! assert_eq!(TINY, net);
//! ```

use crate::io::Name;
use crate::io::format::{Le, with_storable};
use crate::module::{self, Desc, Hyper, Module, Path, Visitor};
use core::fmt::{self, Write};

#[cfg(doc)]
use crate::Linear;

/// Why a model could not be exported.
///
/// ```
/// use stackprop::export::ExportError;
/// use stackprop::io::Name;
/// assert_eq!(ExportError::NonFinite { tensor: Name::new("2.weight") }.to_string(),
///            "tensor 2.weight has a value that is not finite (inf or NaN)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// The sink returned [`fmt::Error`]; part of the source may have been
    /// written.
    Write,
    /// A value of this tensor is infinite or NaN (no Rust literal).
    NonFinite {
        /// The tensor's path.
        tensor: Name,
    },
    /// This layer's description gives no Rust path to build it with, or a
    /// type with no literal (a SIMD pack).
    Unsupported {
        /// The layer's path.
        layer: Name,
        /// Its kind.
        kind: &'static str,
    },
    /// The model's tensors or values do not match its description (a
    /// `Module` implementation that disagrees with itself), or it is nested
    /// deeper than [`module::MAX_DEPTH`].
    Layout {
        /// The path of the first layer that does not match.
        layer: Name,
    },
    /// A name given for the type or the static is not a Rust identifier (or
    /// is a keyword).
    InvalidName,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExportError::Write => f.write_str("the output sink failed"),
            ExportError::NonFinite { tensor } => {
                write!(f, "tensor {tensor} has a value that is not finite (inf or NaN)")
            }
            ExportError::Unsupported { layer, kind } => {
                write!(f, "layer {layer} ({kind}) cannot be built in a const context")
            }
            ExportError::Layout { layer } => {
                write!(f, "the tensors of layer {layer} do not match its description")
            }
            ExportError::InvalidName => f.write_str("a name is not a Rust identifier"),
        }
    }
}

impl core::error::Error for ExportError {}

impl From<fmt::Error> for ExportError {
    fn from(_: fmt::Error) -> Self {
        ExportError::Write
    }
}

/// Writes `model` as Rust source into `out`: `pub type {type_name} = ...;`
/// naming its type, and `pub static {static_name}: {type_name} = ...;`
/// holding its parameters, built by `const fn`s so the weights stay in
/// read-only memory. The source refers to the crate as `stackprop`.
///
/// Checks the names and the whole model first (see [`ExportError`]) and
/// writes nothing if they fail. Allocation-free: the source is streamed
/// into `out`. See the [module docs](self) for an example of the output.
///
/// ```
/// use stackprop::export::{write_rust, ExportError};
/// use stackprop::io::Name;
/// use stackprop::prelude::*;
/// let mut net: Seq![Linear<f64, 1, 2>, Tanh] = Default::default();
/// let mut src = String::new();
/// write_rust(&mut src, "Net", "NET", &net).unwrap();
/// assert!(src.contains("pub static NET: Net = stackprop::seq![\n"));
///
/// net.0.bias[1] = f64::NAN;
/// let mut src = String::new();
/// assert_eq!(write_rust(&mut src, "Net", "NET", &net),
///            Err(ExportError::NonFinite { tensor: Name::new("0.bias") }));
/// assert!(src.is_empty());
/// ```
pub fn write_rust<M, W>(
    out: &mut W,
    type_name: &str,
    static_name: &str,
    model: &M,
) -> Result<(), ExportError>
where
    M: Module,
    W: Write + ?Sized,
{
    if !is_ident(type_name) || !is_ident(static_name) {
        return Err(ExportError::InvalidName);
    }
    // Check everything before writing anything.
    module::walk(model, &mut Check).map_err(|e| e.0)?;

    out.write_str("/// The exported model's type.\n")?;
    write!(out, "pub type {type_name} = ")?;
    module::walk(model, &mut Source { out: &mut *out, value: false, frames: Frames::new() })
        .map_err(|_| ExportError::Write)?;
    out.write_str(";\n\n")?;
    out.write_str("/// The exported model, built at compile time (its weights stay in flash).\n")?;
    write!(out, "pub static {static_name}: {type_name} = ")?;
    module::walk(model, &mut Source { out: &mut *out, value: true, frames: Frames::new() })
        .map_err(|_| ExportError::Write)?;
    out.write_str(";\n")?;
    Ok(())
}

/// Checks every node: exportable, its values given, its tensors as its
/// description says, every value finite.
struct Check;

/// An error found by [`Check`] (wrapped so the walk stops).
struct Stop(ExportError);

impl Visitor for Check {
    type Error = Stop;

    fn node<N: Module>(&mut self, path: &Path, m: &N) -> Result<(), Stop> {
        let d = &N::DESC;
        let layout = || Stop(ExportError::Layout { layer: Name::path(path) });
        if path.overflowed() {
            return Err(layout());
        }
        let literal = d.hypers().iter().all(|h| !matches!(h, Hyper::Scalar(t) if !t.storable()));
        if d.rust_path.is_empty() || !literal {
            return Err(Stop(ExportError::Unsupported { layer: Name::path(path), kind: d.kind }));
        }
        if (0..d.values()).any(|k| m.value(k).is_none()) {
            return Err(layout());
        }
        for (k, s) in d.tensors().iter().enumerate() {
            let t = m.tensor(k).filter(|t| s.fits(t.dtype(), t.len()));
            let Some(t) = t else { return Err(layout()) };
            if !with_storable!(t, v => v.iter().all(|x| x.finite()), false) {
                let tensor = Name::join(path, s.name);
                return Err(Stop(ExportError::NonFinite { tensor }));
            }
        }
        Ok(())
    }
}

/// What the writer is inside of.
#[derive(Clone, Copy)]
enum Frame {
    /// A sequence of `entries`, `written` of them so far; the model's own
    /// (one entry a line) or a child's (inline).
    Seq { entries: usize, written: usize, top: bool },
    /// A block whose children are being written, `left` still to come.
    Block { left: usize },
}

/// A stack of [`Frame`]s, deep as a path can be.
struct Frames {
    f: [Frame; 2 * module::MAX_DEPTH + 2],
    len: usize,
}

impl Frames {
    fn new() -> Self {
        Frames { f: [Frame::Block { left: 0 }; 2 * module::MAX_DEPTH + 2], len: 0 }
    }
    fn push(&mut self, f: Frame) {
        if let Some(s) = self.f.get_mut(self.len) {
            *s = f;
        }
        self.len += 1;
    }
    fn pop(&mut self) -> Option<Frame> {
        self.len = self.len.checked_sub(1)?;
        self.f.get(self.len).copied()
    }
    fn top(&mut self) -> Option<&mut Frame> {
        self.f.get_mut(self.len.checked_sub(1)?)
    }
}

/// Writes the model's type (`value: false`) or its value.
struct Source<'w, W: ?Sized> {
    out: &'w mut W,
    value: bool,
    frames: Frames,
}

impl<W: Write + ?Sized> Source<'_, W> {
    /// Before an entry of the sequence on top, its separator.
    fn entry_start(&mut self) -> fmt::Result {
        if let Some(Frame::Seq { written, top, .. }) = self.frames.top() {
            let sep = if *top {
                "    "
            } else if *written > 0 {
                ", "
            } else {
                ""
            };
            *written += 1;
            self.out.write_str(sep)?;
        }
        Ok(())
    }

    /// After an entry of the sequence on top.
    fn entry_end(&mut self) -> fmt::Result {
        match self.frames.top() {
            Some(Frame::Seq { top: true, .. }) => self.out.write_str(",\n"),
            _ => Ok(()),
        }
    }

    /// `{open}generics` of a node (no closing `>`); whether there were
    /// any.
    fn generics(&mut self, d: &Desc, open: &str) -> Result<bool, fmt::Error> {
        let mut any = false;
        for h in d.hypers() {
            let sep = if any { ", " } else { open };
            match *h {
                Hyper::Scalar(t) => write!(self.out, "{sep}{}", t.name())?,
                Hyper::Dim(_, v) => write!(self.out, "{sep}{v}")?,
                Hyper::Value(_) => continue,
            }
            any = true;
        }
        Ok(any)
    }

    /// A layer's or block's value, up to its children's.
    fn value<N: Module>(&mut self, m: &N) -> fmt::Result {
        let d = &N::DESC;
        self.out.write_str(d.rust_path)?;
        if d.rust_ctor.is_empty() {
            return Ok(());
        }
        if d.children().is_empty() && self.generics(d, "::<")? {
            self.out.write_str(">")?;
        }
        write!(self.out, "::{}(", d.rust_ctor)?;
        let mut args = 0;
        for k in 0..d.values() {
            let sep = if args > 0 { ", " } else { "" };
            write!(self.out, "{sep}{}", m.value(k).ok_or(fmt::Error)?)?;
            args += 1;
        }
        for (k, s) in d.tensors().iter().enumerate() {
            if args > 0 {
                self.out.write_str(", ")?;
            }
            args += 1;
            let t = m.tensor(k).ok_or(fmt::Error)?;
            with_storable!(t, v => write_tensor(self.out, v, s.dims())?, return Err(fmt::Error));
        }
        if d.children().is_empty() {
            self.out.write_str(")")
        } else if args > 0 {
            self.out.write_str(", ")
        } else {
            Ok(())
        }
    }
}

impl<W: Write + ?Sized> Visitor for Source<'_, W> {
    type Error = fmt::Error;

    fn node<N: Module>(&mut self, _: &Path, m: &N) -> fmt::Result {
        let d = &N::DESC;
        self.entry_start()?;
        if self.value {
            self.value(m)?;
        } else {
            self.out.write_str(d.rust_path)?;
            let any = self.generics(d, "<")?;
            if d.children().is_empty() {
                if any {
                    self.out.write_str(">")?;
                }
            } else {
                self.out.write_str(if any { ", " } else { "<" })?;
            }
        }
        if d.children().is_empty() {
            self.entry_end()
        } else {
            self.frames.push(Frame::Block { left: d.children().len() });
            Ok(())
        }
    }

    fn begin_sequence(&mut self, entries: usize) -> fmt::Result {
        let top = self.frames.len == 0;
        self.frames.push(Frame::Seq { entries, written: 0, top });
        let kind = if self.value { "seq" } else { "Seq" };
        if top {
            writeln!(self.out, "stackprop::{kind}![")
        } else if entries > 1 {
            write!(self.out, "stackprop::{kind}![")
        } else {
            Ok(())
        }
    }

    fn end_sequence(&mut self) -> fmt::Result {
        match self.frames.pop() {
            Some(Frame::Seq { top: true, .. }) => self.out.write_str("]"),
            Some(Frame::Seq { entries, .. }) if entries > 1 => self.out.write_str("]"),
            _ => Ok(()),
        }
    }

    fn end_child(&mut self) -> fmt::Result {
        if let Some(Frame::Block { left }) = self.frames.top() {
            *left -= 1;
            if *left > 0 {
                return self.out.write_str(", ");
            }
        }
        self.frames.pop();
        self.out.write_str(if self.value { ")" } else { ">" })?;
        self.entry_end()
    }
}

/// A tensor's values as nested arrays of its column-major order: one bare
/// value for rank 0, `[a, b, ..]` for rank 1, and for rank `r` an array of
/// `dᵣ₋₁` tensors of rank `r − 1` (`[[T; d₀]; d₁]` for a matrix).
fn write_tensor<T: fmt::Debug, W: Write + ?Sized>(
    out: &mut W,
    v: &[T],
    dims: &[usize],
) -> fmt::Result {
    match dims.split_last() {
        None => write!(out, "{:?}", v.first().ok_or(fmt::Error)?),
        Some((_, [])) => write_array(out, v),
        Some((&last, inner)) => {
            let n = v.len() / last.max(1);
            out.write_char('[')?;
            for k in 0..last {
                if k > 0 {
                    out.write_str(", ")?;
                }
                write_tensor(out, v.get(k * n..(k + 1) * n).ok_or(fmt::Error)?, inner)?;
            }
            out.write_char(']')
        }
    }
}

/// `[a, b, ..]` with each value's shortest round-trip literal.
fn write_array<T: fmt::Debug, W: Write + ?Sized>(out: &mut W, xs: &[T]) -> fmt::Result {
    out.write_char('[')?;
    for (k, x) in xs.iter().enumerate() {
        if k > 0 {
            out.write_str(", ")?;
        }
        write!(out, "{x:?}")?;
    }
    out.write_char(']')
}

/// Rust's keywords, strict and reserved (2024 edition): not identifiers.
const KEYWORDS: [&str; 52] = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Whether `s` is a (non-raw, ASCII) Rust identifier and not a keyword.
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && s != "_"
        && !KEYWORDS.contains(&s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;
    use crate::prelude::*;
    use proptest::prelude::*;

    /// A fixed-size `fmt::Write` sink (no allocation in the library's tests
    /// either), which fails when full.
    struct Buf<const N: usize> {
        bytes: [u8; N],
        len: usize,
    }

    impl<const N: usize> Buf<N> {
        fn new() -> Self {
            Self { bytes: [0; N], len: 0 }
        }
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.bytes[..self.len]).unwrap()
        }
    }

    impl<const N: usize> Write for Buf<N> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    type Tiny = Seq![
        Linear<f32, 2, 3>,
        LeakyRelu<f32>,
        Residual<Seq![LinearNoBias<f32, 3, 3>, Sigmoid]>,
        LinearNoBias<f32, 3, 1>,
        Identity
    ];

    fn tiny() -> Tiny {
        seq![
            Linear::from_fn(|o, i| (o * 2 + i) as f32 * 0.5 - 1.0, |o| o as f32 / 3.0),
            LeakyRelu::new(0.125).unwrap(),
            Residual::new(seq![LinearNoBias::from_fn(|o, i| (o == i) as u8 as f32), Sigmoid]),
            LinearNoBias::from_fn(|_, i| -(i as f32) * 1e-7),
            Identity
        ]
    }

    /// The exact text for `tiny()`, and the same text compiled: the static
    /// must equal the model, bit for bit.
    #[test]
    fn source_text_is_exact_and_compiles_to_the_same_model() {
        let mut buf = Buf::<2048>::new();
        write_rust(&mut buf, "Tiny", "TINY", &tiny()).unwrap();
        let expected = "\
/// The exported model's type.
pub type Tiny = stackprop::Seq![
    stackprop::Linear<f32, 2, 3>,
    stackprop::LeakyRelu<f32>,
    stackprop::Residual<stackprop::Seq![stackprop::LinearNoBias<f32, 3, 3>, stackprop::Sigmoid]>,
    stackprop::LinearNoBias<f32, 3, 1>,
    stackprop::Identity,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static TINY: Tiny = stackprop::seq![
    stackprop::Linear::<f32, 2, 3>::from_columns([[-1.0, 0.0, 1.0], [-0.5, 0.5, 1.5]], [0.0, 0.33333334, 0.6666667]),
    stackprop::LeakyRelu::<f32>::with_slope(0.125),
    stackprop::Residual::new(stackprop::seq![stackprop::LinearNoBias::<f32, 3, 3>::from_columns([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), stackprop::Sigmoid]),
    stackprop::LinearNoBias::<f32, 3, 1>::from_columns([[-0.0], [-1e-7], [-2e-7]]),
    stackprop::Identity,
];
";
        assert_eq!(buf.as_str(), expected);

        use crate as stackprop;
        static TINY: Tiny = stackprop::seq![
            stackprop::Linear::<f32, 2, 3>::from_columns(
                [[-1.0, 0.0, 1.0], [-0.5, 0.5, 1.5]],
                [0.0, 0.33333334, 0.6666667]
            ),
            stackprop::LeakyRelu::<f32>::with_slope(0.125),
            stackprop::Residual::new(stackprop::seq![
                stackprop::LinearNoBias::<f32, 3, 3>::from_columns([
                    [1.0, 0.0, 0.0],
                    [0.0, 1.0, 0.0],
                    [0.0, 0.0, 1.0]
                ]),
                stackprop::Sigmoid
            ]),
            stackprop::LinearNoBias::<f32, 3, 1>::from_columns([[-0.0], [-1e-7], [-2e-7]]),
            stackprop::Identity,
        ];
        let model = tiny();
        let bits = |m: &Tiny| {
            let mut v = [0u32; 24];
            let mut n = 0;
            params::for_each(m, |_, t: &[f32]| {
                for x in t {
                    v[n] = x.to_bits();
                    n += 1;
                }
            });
            (v, n)
        };
        assert_eq!(bits(&TINY), bits(&model));
        assert_eq!(bits(&model).1, 21);
        assert_eq!(TINY.1.0.alpha().to_bits(), model.1.0.alpha().to_bits());
    }

    #[test]
    fn a_single_layer_exports_too() {
        let l = Linear::<f64, 1, 1>::from_fn(|_, _| 0.1, |_| -3.0);
        let mut buf = Buf::<512>::new();
        write_rust(&mut buf, "One", "ONE", &l).unwrap();
        assert!(buf.as_str().contains("    stackprop::Linear<f64, 1, 1>,\n"));
        assert!(buf.as_str().contains("::<f64, 1, 1>::from_columns([[0.1]], [-3.0]),\n"));
    }

    #[test]
    fn non_finite_values_are_refused_before_writing() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut m = tiny();
            m.1.1.1.0.weight[(0, 2)] = bad;
            let mut buf = Buf::<2048>::new();
            assert_eq!(
                write_rust(&mut buf, "Tiny", "TINY", &m),
                Err(ExportError::NonFinite { tensor: Name::new("3.weight") })
            );
            assert_eq!(buf.len, 0);
        }
    }

    #[test]
    fn names_must_be_identifiers() {
        for (t, s) in [
            ("", "A"),
            ("A", "1x"),
            ("A b", "B"),
            ("_", "B"),
            ("A", "b-c"),
            ("Ä", "B"),
            ("fn", "B"),
            ("A", "self"),
            ("Self", "B"),
            ("A", "crate"),
        ] {
            let mut buf = Buf::<2048>::new();
            assert_eq!(write_rust(&mut buf, t, s, &tiny()), Err(ExportError::InvalidName));
            assert_eq!(buf.len, 0);
        }
        let mut buf = Buf::<2048>::new();
        assert!(write_rust(&mut buf, "_Net2", "net_2", &tiny()).is_ok());
    }

    #[test]
    fn a_full_sink_is_a_write_error() {
        let mut buf = Buf::<100>::new();
        assert_eq!(write_rust(&mut buf, "Tiny", "TINY", &tiny()), Err(ExportError::Write));
    }

    /// A layer whose tensor is not what its description says.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Liar(Linear<f32, 2, 2>);

    impl Module for Liar {
        type Scalar = f32;
        const DESC: Desc = Desc::new("Liar").rust("crate::Liar", "new").tensor::<f32>(
            "weight",
            ParamKind::Weight,
            &[3, 2],
        );
        fn tensor(&self, i: usize) -> Option<Data<'_>> {
            self.0.tensor(i) // 4 values
        }
    }

    /// A layer that gives no Rust path.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Private;

    impl Module for Private {
        type Scalar = crate::module::AnyScalar;
        const DESC: Desc = Desc::new("Private");
    }

    #[test]
    fn layers_that_cannot_be_written_are_refused_before_writing() {
        let mut buf = Buf::<512>::new();
        assert_eq!(
            write_rust(&mut buf, "L", "L", &seq![Relu, Liar::default()]),
            Err(ExportError::Layout { layer: Name::new("1") })
        );
        assert_eq!(
            write_rust(&mut buf, "L", "L", &seq![Relu, Residual::new(Private)]),
            Err(ExportError::Unsupported { layer: Name::new("1.inner.0"), kind: "Private" })
        );
        assert_eq!(buf.len, 0);
    }

    proptest! {
        /// The literal written for a value parses back to the same bits, so
        /// a compiled export is bit-identical to the model.
        #[test]
        fn literals_round_trip(bits32 in any::<u32>(), bits64 in any::<u64>()) {
            let (a, b) = (f32::from_bits(bits32), f64::from_bits(bits64));
            prop_assume!(a.is_finite() && b.is_finite());
            let (mut s, mut t) = (Buf::<64>::new(), Buf::<64>::new());
            write_array(&mut s, &[a]).unwrap();
            write_array(&mut t, &[b]).unwrap();
            let (s, t) = (s.as_str(), t.as_str());
            let a2: f32 = s[1..s.len() - 1].parse().unwrap();
            let b2: f64 = t[1..t.len() - 1].parse().unwrap();
            prop_assert_eq!(a2.to_bits(), a.to_bits());
            prop_assert_eq!(b2.to_bits(), b.to_bits());
            // A float literal: it has a point or an exponent.
            prop_assert!(s.contains(['.', 'e']) && t.contains(['.', 'e']));
        }
    }
}
