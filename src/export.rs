//! Models as Rust source: a trained model written out as a `static` built
//! by `const fn`s, so a firmware image compiles its weights into flash
//! (`.rodata`), with no copy into RAM at start-up and no parsing at run time.
//!
//! [`write_rust`] walks a model — any [`Seq!`](crate::Seq!) of [`Linear`],
//! [`LinearNoBias`] and activation layers, or one such layer — through its
//! [`Arch`] (layer kinds and dimensions) and its [`Params`] (the tensors),
//! and writes two items into any [`core::fmt::Write`]: a type alias naming
//! the model's type and a `static` of that type built with
//! [`Linear::from_columns`] and [`LinearNoBias::from_columns`]. It writes
//! through the sink as it goes and never allocates, so it runs on a
//! microcontroller as well as in a host build script.
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
//! let net: Net = seq![Linear::from_slices(&[0.5, -1.0], &[0.25]).unwrap(), Relu,
//!                     LinearNoBias::from_slice(&[2.0]).unwrap()];
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
//!     stackprop::Linear::from_columns([[0.5], [-1.0]], [0.25]),
//!     stackprop::Relu,
//!     stackprop::LinearNoBias::from_columns([[2.0]]),
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
//!     stackprop::Linear::from_columns([[0.5], [-1.0]], [0.25]),
//!     stackprop::Relu,
//!     stackprop::LinearNoBias::from_columns([[2.0]]),
//! ];
//! assert_eq!(TINY, net);
//! ```

use crate::arch::{Arch, LayerKind};
use crate::params::Params;
use crate::scalar::{Real, is_finite};
use core::fmt::{self, Debug, Write};

#[cfg(doc)]
use crate::{Linear, LinearNoBias};

/// A scalar type whose values can be written as Rust literals: `f32` and
/// `f64`.
///
/// ```
/// use stackprop::export::SourceScalar;
/// assert_eq!(<f32 as SourceScalar>::NAME, "f32");
/// ```
pub trait SourceScalar: Real + Debug {
    /// The type's name in Rust source.
    const NAME: &'static str;
}

impl SourceScalar for f32 {
    const NAME: &'static str = "f32";
}

impl SourceScalar for f64 {
    const NAME: &'static str = "f64";
}

/// Why a model could not be exported.
///
/// ```
/// use stackprop::export::ExportError;
/// assert_eq!(ExportError::NonFinite { layer: 2 }.to_string(),
///            "layer 2 has a parameter that is not finite (inf or NaN)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// The sink returned [`fmt::Error`]; part of the source may have been
    /// written.
    Write,
    /// A parameter of this layer is infinite or NaN (no Rust literal).
    NonFinite {
        /// Index of the layer, from 0.
        layer: usize,
    },
    /// This layer has no `const` constructor to export it with (today
    /// [`crate::LeakyRelu`], whose slope is checked at run time).
    Unsupported {
        /// Index of the layer, from 0.
        layer: usize,
        /// Its kind.
        kind: LayerKind,
    },
    /// The model's parameter tensors do not match its layers (a custom
    /// [`Arch`] or [`Params`] implementation that disagree).
    Layout {
        /// Index of the first layer that does not match.
        layer: usize,
    },
    /// A name given for the type or the static is not a Rust identifier.
    InvalidName,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExportError::Write => f.write_str("the output sink failed"),
            ExportError::NonFinite { layer } => {
                write!(f, "layer {layer} has a parameter that is not finite (inf or NaN)")
            }
            ExportError::Unsupported { layer, kind } => {
                write!(f, "layer {layer} ({}) cannot be built in a const context", kind.name())
            }
            ExportError::Layout { layer } => {
                write!(f, "the parameter tensors of layer {layer} do not match its kind and shape")
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
/// use stackprop::prelude::*;
/// let mut net: Seq![Linear<f64, 1, 2>, Tanh] = Default::default();
/// let mut src = String::new();
/// write_rust(&mut src, "Net", "NET", &net).unwrap();
/// assert!(src.contains("pub static NET: Net = stackprop::seq![\n"));
///
/// net.0.bias[1] = f64::NAN;
/// let mut src = String::new();
/// assert_eq!(write_rust(&mut src, "Net", "NET", &net), Err(ExportError::NonFinite { layer: 0 }));
/// assert!(src.is_empty());
/// ```
pub fn write_rust<T, M, W>(
    out: &mut W,
    type_name: &str,
    static_name: &str,
    model: &M,
) -> Result<(), ExportError>
where
    T: SourceScalar,
    M: Arch + Params<T>,
    W: Write + ?Sized,
{
    if !is_ident(type_name) || !is_ident(static_name) {
        return Err(ExportError::InvalidName);
    }
    // Check everything before writing anything.
    walk(model, |layer, _, _, tensors| {
        if tensors.iter().flatten().flat_map(|t| t.iter()).all(|&v| is_finite(v)) {
            Ok(())
        } else {
            Err(ExportError::NonFinite { layer })
        }
    })?;

    out.write_str("/// The exported model's type.\n")?;
    writeln!(out, "pub type {type_name} = stackprop::Seq![")?;
    walk(model, |_, kind, (i, o), _| {
        match kind {
            LayerKind::Linear | LayerKind::LinearNoBias => {
                writeln!(out, "    stackprop::{}<{}, {i}, {o}>,", kind.name(), T::NAME)?
            }
            _ => writeln!(out, "    stackprop::{},", kind.name())?,
        }
        Ok(())
    })?;
    out.write_str("];\n\n")?;
    out.write_str("/// The exported model, built at compile time (its weights stay in flash).\n")?;
    writeln!(out, "pub static {static_name}: {type_name} = stackprop::seq![")?;
    walk(model, |_, kind, (i, o), tensors| {
        match (kind, tensors) {
            (LayerKind::Linear, [Some(w), Some(b)]) => {
                out.write_str("    stackprop::Linear::from_columns(")?;
                write_columns(out, w, i, o)?;
                out.write_str(", ")?;
                write_array(out, b)?;
                out.write_str("),\n")?;
            }
            (LayerKind::LinearNoBias, [Some(w), None]) => {
                out.write_str("    stackprop::LinearNoBias::from_columns(")?;
                write_columns(out, w, i, o)?;
                out.write_str("),\n")?;
            }
            _ => writeln!(out, "    stackprop::{},", kind.name())?,
        }
        Ok(())
    })?;
    out.write_str("];\n")?;
    Ok(())
}

/// The parameter tensors of one layer: weight and bias, each if present.
type Tensors<'a, T> = [Option<&'a [T]>; 2];

/// Calls `f(layer, kind, (inputs, outputs), tensors)` for every layer of
/// `model`, matching each layer's tensors to its kind and shape.
fn walk<'m, T: Real, M: Arch + Params<T>>(
    model: &'m M,
    mut f: impl FnMut(usize, LayerKind, (usize, usize), Tensors<'m, T>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut next = 0;
    let mut take = |layer: usize, len: usize| match model.tensor(next) {
        Some((_, t)) if t.len() == len => {
            next += 1;
            Ok(t)
        }
        _ => Err(ExportError::Layout { layer }),
    };
    if M::LAYERS == 0 {
        return Err(ExportError::Layout { layer: 0 });
    }
    for layer in 0..M::LAYERS {
        let d = model.layer(layer).ok_or(ExportError::Layout { layer })?;
        let (i, o) = (d.inputs, d.outputs);
        let tensors = match d.kind {
            LayerKind::Linear => [Some(take(layer, i * o)?), Some(take(layer, o)?)],
            LayerKind::LinearNoBias => [Some(take(layer, i * o)?), None],
            LayerKind::LeakyRelu => {
                return Err(ExportError::Unsupported { layer, kind: d.kind });
            }
            LayerKind::Relu | LayerKind::Sigmoid | LayerKind::Tanh | LayerKind::Identity => {
                [None, None]
            }
        };
        f(layer, d.kind, (i, o), tensors)?;
    }
    if next == M::TENSORS { Ok(()) } else { Err(ExportError::Layout { layer: M::LAYERS - 1 }) }
}

/// `[[..O..]; I]`: the column-major weight `w` as `I` columns of `O`.
fn write_columns<T: SourceScalar, W: Write + ?Sized>(
    out: &mut W,
    w: &[T],
    i: usize,
    o: usize,
) -> fmt::Result {
    out.write_char('[')?;
    for (k, col) in w.chunks_exact(o.max(1)).take(i).enumerate() {
        if k > 0 {
            out.write_str(", ")?;
        }
        write_array(out, col)?;
    }
    out.write_char(']')
}

/// `[a, b, ..]` with each value's shortest round-trip literal.
fn write_array<T: SourceScalar, W: Write + ?Sized>(out: &mut W, xs: &[T]) -> fmt::Result {
    out.write_char('[')?;
    for (k, x) in xs.iter().enumerate() {
        if k > 0 {
            out.write_str(", ")?;
        }
        write!(out, "{x:?}")?;
    }
    out.write_char(']')
}

/// Whether `s` is a (non-raw, ASCII) Rust identifier.
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && s != "_"
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

    type Tiny = Seq![Linear<f32, 2, 3>, Sigmoid, LinearNoBias<f32, 3, 1>, Identity];

    fn tiny() -> Tiny {
        seq![
            Linear::from_fn(|o, i| (o * 2 + i) as f32 * 0.5 - 1.0, |o| o as f32 / 3.0),
            Sigmoid,
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
    stackprop::Sigmoid,
    stackprop::LinearNoBias<f32, 3, 1>,
    stackprop::Identity,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static TINY: Tiny = stackprop::seq![
    stackprop::Linear::from_columns([[-1.0, 0.0, 1.0], [-0.5, 0.5, 1.5]], [0.0, 0.33333334, 0.6666667]),
    stackprop::Sigmoid,
    stackprop::LinearNoBias::from_columns([[-0.0], [-1e-7], [-2e-7]]),
    stackprop::Identity,
];
";
        assert_eq!(buf.as_str(), expected);

        use crate as stackprop;
        static TINY: Tiny = stackprop::seq![
            stackprop::Linear::from_columns(
                [[-1.0, 0.0, 1.0], [-0.5, 0.5, 1.5]],
                [0.0, 0.33333334, 0.6666667]
            ),
            stackprop::Sigmoid,
            stackprop::LinearNoBias::from_columns([[-0.0], [-1e-7], [-2e-7]]),
            stackprop::Identity,
        ];
        let model = tiny();
        let bits = |m: &Tiny| {
            let mut v = [0u32; 12];
            let mut n = 0;
            params::for_each(m, |_, t| {
                for x in t {
                    v[n] = x.to_bits();
                    n += 1;
                }
            });
            (v, n)
        };
        assert_eq!(bits(&TINY), bits(&model));
        assert_eq!(bits(&model).1, 12);
    }

    #[test]
    fn a_single_layer_exports_too() {
        let l = Linear::<f64, 1, 1>::from_fn(|_, _| 0.1, |_| -3.0);
        let mut buf = Buf::<512>::new();
        write_rust(&mut buf, "One", "ONE", &l).unwrap();
        assert!(buf.as_str().contains("    stackprop::Linear<f64, 1, 1>,\n"));
        assert!(buf.as_str().contains("stackprop::Linear::from_columns([[0.1]], [-3.0]),\n"));
    }

    #[test]
    fn non_finite_values_are_refused_before_writing() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut m = tiny();
            m.1.1.0.weight[(0, 2)] = bad;
            let mut buf = Buf::<2048>::new();
            assert_eq!(
                write_rust(&mut buf, "Tiny", "TINY", &m),
                Err(ExportError::NonFinite { layer: 2 })
            );
            assert_eq!(buf.len, 0);
        }
    }

    #[test]
    fn leaky_relu_is_refused_before_writing() {
        let m: Seq![Linear<f32, 1, 1>, LeakyRelu<f32>] =
            seq![Linear::zeros(), LeakyRelu::new(0.1).unwrap()];
        let mut buf = Buf::<512>::new();
        assert_eq!(
            write_rust(&mut buf, "M", "M", &m),
            Err(ExportError::Unsupported { layer: 1, kind: LayerKind::LeakyRelu })
        );
        assert_eq!(buf.len, 0);
    }

    #[test]
    fn names_must_be_identifiers() {
        for (t, s) in [("", "A"), ("A", "1x"), ("A b", "B"), ("_", "B"), ("A", "b-c"), ("Ä", "B")]
        {
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

    /// A layer whose `Arch` and `Params` disagree.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Liar(Linear<f32, 2, 2>);

    impl Zeros for Liar {
        fn zeros() -> Self {
            Liar(Linear::zeros())
        }
        fn set_zero(&mut self) {}
    }

    impl Params<f32> for Liar {
        const TENSORS: usize = 1;
        const LEN: usize = 4;
        fn tensor(&self, i: usize) -> Option<(ParamKind, &[f32])> {
            self.0.tensor(i).filter(|_| i == 0)
        }
        fn tensor_mut(&mut self, i: usize) -> Option<(ParamKind, &mut [f32])> {
            self.0.tensor_mut(i).filter(|_| i == 0)
        }
    }

    impl Arch for Liar {
        const LAYERS: usize = 1;
        fn layer(&self, i: usize) -> Option<crate::arch::LayerDesc> {
            self.0.layer(i) // says Linear: two tensors
        }
    }

    #[test]
    fn disagreeing_arch_and_params_are_a_layout_error() {
        let mut buf = Buf::<512>::new();
        assert_eq!(
            write_rust(&mut buf, "L", "L", &Liar::default()),
            Err(ExportError::Layout { layer: 0 })
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
