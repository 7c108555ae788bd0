//! Element types of tensors, and tensors' values with their type erased.
//!
//! A model's tensors need not share one scalar type: an `f32` network has
//! `f32` weights, an int8 layer `i8` weights and an `i32` bias. A
//! [`Module`](super::Module) hands each tensor out as a [`Data`] (or
//! [`DataMut`]): a slice of one of the [`Elem`] types. The weight file,
//! the PyTorch import and the Rust-source export read every element type;
//! the optimizers take the tensors of their own scalar type
//! ([`Elem::of_mut`]).
//!
//! ```
//! use stackprop::module::{Data, Dtype, Elem};
//! let w = [1i8, -2, 3];
//! let d: Data<'_> = w.as_slice().into();
//! assert_eq!(d.dtype(), Dtype::I8);
//! assert_eq!(d.slice::<i8>(), Some(&w[..]));
//! assert_eq!(d.slice::<f32>(), None); // not an f32 tensor
//! ```

use core::fmt;

macro_rules! elems {
    ($($(#[$m:meta])* $t:ty => $v:ident, $code:expr, $name:literal, $zero:expr;)*) => {
        /// The element type of a tensor.
        ///
        /// Weight files store every type but the SIMD packs of the `simd`
        /// feature ([`Dtype::storable`]); the codes are those of the file
        /// format ([`crate::io`]).
        ///
        /// ```
        /// use stackprop::module::Dtype;
        /// assert_eq!(Dtype::from_code(Dtype::I32.code()), Some(Dtype::I32));
        /// assert_eq!((Dtype::F64.bytes(), Dtype::F64.name()), (8, "f64"));
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Dtype {
            $($(#[$m])* #[doc = concat!("`", $name, "`.")] $v,)*
        }

        /// A tensor's values, of any [`Elem`] type.
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Data<'a> {
            $($(#[$m])* #[doc = concat!("`", $name, "` values.")] $v(&'a [$t]),)*
        }

        /// A tensor's values, mutable, of any [`Elem`] type.
        #[derive(Debug, PartialEq)]
        #[non_exhaustive]
        pub enum DataMut<'a> {
            $($(#[$m])* #[doc = concat!("`", $name, "` values.")] $v(&'a mut [$t]),)*
        }

        impl Dtype {
            /// The type's code in weight files (`0` for a type files do not
            /// store).
            pub const fn code(self) -> u8 {
                match self { $($(#[$m])* Dtype::$v => $code,)* }
            }
            /// The storable type with code `c`, if any.
            pub const fn from_code(c: u8) -> Option<Self> {
                $($(#[$m])* if c == $code && $code != 0 { return Some(Dtype::$v); })*
                None
            }
            /// Bytes per element.
            pub const fn bytes(self) -> usize {
                match self { $($(#[$m])* Dtype::$v => core::mem::size_of::<$t>(),)* }
            }
            /// The Rust name of the type.
            pub const fn name(self) -> &'static str {
                match self { $($(#[$m])* Dtype::$v => $name,)* }
            }
            /// Whether weight files and `.safetensors` imports can hold it
            /// (every type but the SIMD packs).
            pub const fn storable(self) -> bool {
                self.code() != 0
            }
        }

        impl<'a> Data<'a> {
            /// The element type.
            pub const fn dtype(&self) -> Dtype {
                match self { $($(#[$m])* Data::$v(_) => Dtype::$v,)* }
            }
            /// The number of elements.
            pub const fn len(&self) -> usize {
                match self { $($(#[$m])* Data::$v(s) => s.len(),)* }
            }
            /// Whether there are no elements.
            pub const fn is_empty(&self) -> bool {
                self.len() == 0
            }
            /// The values, if they are `T`s.
            ///
            /// ```
            /// use stackprop::module::Data;
            /// assert_eq!(Data::F64(&[1.5]).slice::<f64>(), Some(&[1.5][..]));
            /// assert_eq!(Data::F64(&[1.5]).slice::<f32>(), None);
            /// ```
            #[inline(always)]
            pub fn slice<T: Elem>(self) -> Option<&'a [T]> {
                T::of(self)
            }
        }

        impl<'a> DataMut<'a> {
            /// The values, mutable, if they are `T`s.
            #[inline(always)]
            pub fn slice<T: Elem>(self) -> Option<&'a mut [T]> {
                T::of_mut(self)
            }
            /// The element type.
            pub const fn dtype(&self) -> Dtype {
                match self { $($(#[$m])* DataMut::$v(_) => Dtype::$v,)* }
            }
            /// The number of elements.
            pub const fn len(&self) -> usize {
                match self { $($(#[$m])* DataMut::$v(s) => s.len(),)* }
            }
            /// Whether there are no elements.
            pub const fn is_empty(&self) -> bool {
                self.len() == 0
            }
            /// The values, read-only.
            pub fn as_data(&self) -> Data<'_> {
                match self { $($(#[$m])* DataMut::$v(s) => Data::$v(s),)* }
            }
        }

        $(
            $(#[$m])*
            impl sealed::Sealed for $t {}
            $(#[$m])*
            impl Elem for $t {
                const DTYPE: Dtype = Dtype::$v;
                const ZERO: Self = $zero;
                #[inline(always)]
                fn data(s: &[Self]) -> Data<'_> { Data::$v(s) }
                #[inline(always)]
                fn data_mut(s: &mut [Self]) -> DataMut<'_> { DataMut::$v(s) }
                #[inline(always)]
                fn of(d: Data<'_>) -> Option<&[Self]> {
                    match d { Data::$v(s) => Some(s), #[allow(unreachable_patterns)] _ => None }
                }
                #[inline(always)]
                fn of_mut(d: DataMut<'_>) -> Option<&mut [Self]> {
                    match d { DataMut::$v(s) => Some(s), #[allow(unreachable_patterns)] _ => None }
                }
            }
        )*
    };
}

mod sealed {
    pub trait Sealed {}
}

#[cfg(feature = "simd")]
use simba::simd::{WideF32x4, WideF32x8, WideF64x4};

elems! {
    f32 => F32, 1, "f32", 0.0;
    f64 => F64, 2, "f64", 0.0;
    i8 => I8, 3, "i8", 0;
    i16 => I16, 4, "i16", 0;
    i32 => I32, 5, "i32", 0;
    i64 => I64, 6, "i64", 0;
    u8 => U8, 7, "u8", 0;
    #[cfg(feature = "simd")] WideF32x4 => F32x4, 0, "WideF32x4", WideF32x4(wide::f32x4::ZERO);
    #[cfg(feature = "simd")] WideF32x8 => F32x8, 0, "WideF32x8", WideF32x8(wide::f32x8::ZERO);
    #[cfg(feature = "simd")] WideF64x4 => F64x4, 0, "WideF64x4", WideF64x4(wide::f64x4::ZERO);
}

/// The [`super::Module::Scalar`] of a layer without trained tensors: it
/// joins a model of any scalar type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnyScalar;

/// The scalar type of a sequence of two parts, [`super::Module::Scalar`]:
/// the type both train, or the one that does when the other trains nothing
/// ([`AnyScalar`]).
///
/// ```
/// use stackprop::module::Module;
/// use stackprop::{Linear, Relu, Seq};
/// fn scalar<M: Module<Scalar = f64>>() {}
/// scalar::<Seq![Relu, Linear<f64, 2, 2>, Relu]>();
/// // in generic code too
/// fn params<T: stackprop::Real>() -> usize {
///     stackprop::params::len::<T, Seq![Linear<T, 2, 2>, Relu, Linear<T, 2, 1>]>()
/// }
/// assert_eq!(params::<f32>(), 9);
/// ```
#[diagnostic::on_unimplemented(
    message = "the layers of one model train one scalar type, not `{Self}` and `{B}`",
    label = "`{Self}` and `{B}` differ"
)]
pub trait Join<B> {
    /// The scalar type of both.
    type Out;
}

impl Join<AnyScalar> for AnyScalar {
    type Out = AnyScalar;
}

impl<T: Elem> Join<T> for T {
    type Out = T;
}

impl<T: Elem> Join<AnyScalar> for T {
    type Out = T;
}

impl<T: Elem> Join<T> for AnyScalar {
    type Out = T;
}

/// An element type of tensors: `f32`, `f64`, `i8`, `i16`, `i32`, `i64`,
/// `u8` and, with the `simd` feature, simba's `WideF32x4`, `WideF32x8` and
/// `WideF64x4` (sealed: [`Data`] has one variant per type).
///
/// ```
/// use stackprop::module::{DataMut, Elem};
/// let mut b = [0i32; 2];
/// if let Some(s) = i32::of_mut(i32::data_mut(&mut b)) {
///     s[1] = 7;
/// }
/// assert_eq!(b, [0, 7]);
/// assert_eq!(i32::ZERO, 0);
/// ```
pub trait Elem: Copy + PartialEq + fmt::Debug + 'static + sealed::Sealed {
    /// Which type this is.
    const DTYPE: Dtype;
    /// Zero.
    const ZERO: Self;
    /// `s` with its type erased.
    fn data(s: &[Self]) -> Data<'_>;
    /// `s` with its type erased, mutable.
    fn data_mut(s: &mut [Self]) -> DataMut<'_>;
    /// The values of `d` if they are of this type.
    fn of(d: Data<'_>) -> Option<&[Self]>;
    /// The values of `d` if they are of this type, mutable.
    fn of_mut(d: DataMut<'_>) -> Option<&mut [Self]>;
}

impl<'a, T: Elem> From<&'a [T]> for Data<'a> {
    #[inline(always)]
    fn from(s: &'a [T]) -> Self {
        T::data(s)
    }
}

impl<'a, T: Elem> From<&'a mut [T]> for DataMut<'a> {
    #[inline(always)]
    fn from(s: &'a mut [T]) -> Self {
        T::data_mut(s)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of a hyper-parameter that is not part of the type (a
/// [`crate::LeakyRelu`]'s slope), as [`super::Module::value`] gives it.
///
/// ```
/// use stackprop::module::Value;
/// assert_eq!(Value::F32(0.01).to_string(), "0.01");
/// assert_eq!(Value::I64(-3).to_string(), "-3");
/// assert_eq!(Value::Bool(true).to_string(), "true");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// An `f32`.
    F32(f32),
    /// An `f64`.
    F64(f64),
    /// An integer.
    I64(i64),
    /// A flag.
    Bool(bool),
}

impl Value {
    /// The value's type code and its eight bytes in weight files: the
    /// IEEE 754 bits of `F32` (zero-extended) and `F64`, the
    /// two's-complement bits of `I64`, 0 or 1 for `Bool`.
    pub const fn encode(self) -> (u8, u64) {
        match self {
            Value::F32(x) => (1, x.to_bits() as u64),
            Value::F64(x) => (2, x.to_bits()),
            Value::I64(x) => (6, x as u64),
            Value::Bool(b) => (8, b as u64),
        }
    }

    /// The value of a type code and bits, as [`Value::encode`] writes them.
    pub const fn decode(code: u8, bits: u64) -> Option<Self> {
        match code {
            1 if bits >> 32 == 0 => Some(Value::F32(f32::from_bits(bits as u32))),
            2 => Some(Value::F64(f64::from_bits(bits))),
            6 => Some(Value::I64(bits as i64)),
            8 if bits <= 1 => Some(Value::Bool(bits == 1)),
            _ => None,
        }
    }

    /// Whether two values are the same bit for bit (so `-0.0` is not
    /// `0.0`, and a NaN equals only itself).
    pub const fn same(self, other: Value) -> bool {
        let (a, b) = (self.encode(), other.encode());
        a.0 == b.0 && a.1 == b.1
    }
}

impl fmt::Display for Value {
    /// Floats with Rust's shortest round-trip form (`{:?}`, so `1.0`, not
    /// `1`), as in exported source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::F32(x) => write!(f, "{x:?}"),
            Value::F64(x) => write!(f, "{x:?}"),
            Value::I64(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_unique() {
        let all =
            [Dtype::F32, Dtype::F64, Dtype::I8, Dtype::I16, Dtype::I32, Dtype::I64, Dtype::U8];
        for (k, d) in all.iter().enumerate() {
            assert_eq!(d.code() as usize, k + 1);
            assert_eq!(Dtype::from_code(d.code()), Some(*d));
            assert!(d.storable());
        }
        assert_eq!(Dtype::from_code(0), None);
        assert_eq!(Dtype::from_code(8), None);
        assert_eq!([Dtype::I16.bytes(), Dtype::I64.bytes(), Dtype::U8.bytes()], [2, 8, 1]);
    }

    #[test]
    fn values_round_trip_their_encoding() {
        for v in [Value::F32(-0.0), Value::F64(1e-300), Value::I64(-5), Value::Bool(false)] {
            let (c, b) = v.encode();
            assert!(Value::decode(c, b).unwrap().same(v));
        }
        assert!(!Value::F32(0.0).same(Value::F32(-0.0)));
        assert_eq!(Value::decode(1, 1 << 40), None);
        assert_eq!(Value::decode(8, 2), None);
        assert_eq!(Value::decode(9, 0), None);
    }
}
