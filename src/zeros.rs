//! Values that have an all-zero state: tensors, caches, gradients and
//! optimizer states.
//!
//! A model's gradient and an optimizer's state are values of the model's own
//! type, created with [`Zeros::zeros`] and cleared in place with
//! [`Zeros::set_zero`] before each step, so nothing is ever allocated.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::Zeros;
//! let mut m = SMatrix::<f32, 2, 3>::repeat(1.0);
//! m.set_zero();
//! assert_eq!(m, <SMatrix<f32, 2, 3> as Zeros>::zeros());
//! ```

use crate::module::Elem;
use nalgebra::{ArrayStorage, SMatrix};

/// A value with an all-zero state that can be created and restored in place.
///
/// ```
/// use stackprop::Zeros;
/// let mut t = (1.0f64, ((), 2.0f64));
/// t.set_zero();
/// assert_eq!(t, (0.0, ((), 0.0)));
/// ```
pub trait Zeros: Sized {
    /// A new value in its all-zero state.
    fn zeros() -> Self;
    /// Resets `self` to its all-zero state without moving it.
    fn set_zero(&mut self);
}

/// Matrices of any [`Elem`] type: floats, integers, SIMD packs.
impl<T: Elem, const R: usize, const C: usize> Zeros for SMatrix<T, R, C> {
    #[inline]
    fn zeros() -> Self {
        SMatrix::from_array_storage(ArrayStorage([[T::ZERO; R]; C]))
    }
    #[inline]
    fn set_zero(&mut self) {
        self.as_mut_slice().fill(T::ZERO);
    }
}

impl Zeros for () {
    #[inline]
    fn zeros() -> Self {}
    #[inline]
    fn set_zero(&mut self) {}
}

macro_rules! zeros_scalar {
    ($($t:ty),*) => {$(
        impl Zeros for $t {
            #[inline]
            fn zeros() -> Self { 0 as $t }
            #[inline]
            fn set_zero(&mut self) { *self = 0 as $t; }
        }
    )*};
}
zeros_scalar!(f32, f64, i8, i16, i32, i64, u8, u32, u64, usize);

macro_rules! zeros_tuple {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: Zeros),+> Zeros for ($($name,)+) {
            #[inline]
            fn zeros() -> Self { ($($name::zeros(),)+) }
            #[inline]
            fn set_zero(&mut self) { $(self.$idx.set_zero();)+ }
        }
    };
}
zeros_tuple!(A 0);
zeros_tuple!(A 0, B 1);
zeros_tuple!(A 0, B 1, C 2);
zeros_tuple!(A 0, B 1, C 2, D 3);

impl<X: Zeros + Copy, const N: usize> Zeros for [X; N] {
    #[inline]
    fn zeros() -> Self {
        [X::zeros(); N]
    }
    #[inline]
    fn set_zero(&mut self) {
        for x in self.iter_mut() {
            x.set_zero();
        }
    }
}

/// A type whose all-zero value is a constant, [`ConstZeros::ZEROS`] (equal
/// to [`Zeros::zeros`]).
///
/// A constant can initialize a `static` (on firmware: a model, its gradient
/// and optimizer state in RAM without touching the stack) and be built
/// directly on the heap with [`boxed!`](crate::boxed!). See
/// [`crate::memory`].
///
/// ```
/// use stackprop::{zeros::ConstZeros, Linear, Relu, Seq, Zeros};
/// type Net = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 1>];
/// static NET: Net = Net::ZEROS;
/// assert_eq!(NET, Net::zeros());
/// ```
pub trait ConstZeros: Sized {
    /// The all-zero value.
    const ZEROS: Self;
}

impl<T: Elem, const R: usize, const C: usize> ConstZeros for SMatrix<T, R, C> {
    const ZEROS: Self = SMatrix::from_array_storage(ArrayStorage([[T::ZERO; R]; C]));
}

impl ConstZeros for () {
    const ZEROS: Self = ();
}

macro_rules! const_zeros_scalar {
    ($($t:ty),*) => {$(
        impl ConstZeros for $t {
            const ZEROS: Self = 0 as $t;
        }
    )*};
}
const_zeros_scalar!(f32, f64, i8, i16, i32, i64, u8, u32, u64, usize);

macro_rules! const_zeros_tuple {
    ($($name:ident),+) => {
        impl<$($name: ConstZeros),+> ConstZeros for ($($name,)+) {
            const ZEROS: Self = ($($name::ZEROS,)+);
        }
    };
}
const_zeros_tuple!(A);
const_zeros_tuple!(A, B);
const_zeros_tuple!(A, B, C);
const_zeros_tuple!(A, B, C, D);

impl<X: ConstZeros, const N: usize> ConstZeros for [X; N] {
    const ZEROS: Self = [X::ZEROS; N];
}
