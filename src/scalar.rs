//! The numeric bound every layer, loss and optimizer is generic over.
//!
//! [`Real`] is simba's [`SimdRealField`] with lanes that are ordinary real
//! numbers. `f32` and `f64` are `Real` (one lane); with the `simd` feature
//! simba's `WideF32x8`, `WideF32x4` and `WideF64x4` are too, so one network
//! over `WideF32x8` trains eight independent models in lockstep. Under
//! `no_std` the transcendental functions come from `libm` through nalgebra's
//! `libm` feature.
//!
//! ```
//! use stackprop::scalar::{lit, Real};
//! fn half<T: Real>(x: T) -> T { x * lit::<T>(0.5) }
//! assert_eq!(half(3.0f32), 1.5);
//! ```

use simba::scalar::RealField;
pub use simba::simd::{SimdBool, SimdPartialOrd, SimdRealField, SimdValue};

/// A real scalar (or a SIMD pack of independent real lanes) a network
/// computes in.
///
/// Blanket-implemented for every tensor element type
/// ([`Elem`](crate::module::Elem)) that is a [`SimdRealField`] whose lanes
/// are [`RealField`]s; you never implement it yourself.
///
/// ```
/// use stackprop::scalar::Real;
/// fn is_real<T: Real>() {}
/// is_real::<f32>();
/// is_real::<f64>();
/// ```
pub trait Real: SimdRealField<Element: RealField + Copy> + Copy + crate::module::Elem {}

impl<T> Real for T where T: SimdRealField<Element: RealField + Copy> + Copy + crate::module::Elem {}

/// The constant `x` (given in `f64`) in the scalar type `T`, splatted over
/// all lanes.
///
/// ```
/// use stackprop::scalar::lit;
/// assert_eq!(lit::<f32>(0.25), 0.25f32);
/// ```
#[inline(always)]
pub fn lit<T: Real>(x: f64) -> T {
    T::from_subset(&x)
}

/// `1` where `y > 0`, else `0`, lane by lane.
///
/// ```
/// use stackprop::scalar::step;
/// assert_eq!(step(2.0f64), 1.0);
/// assert_eq!(step(0.0f64), 0.0);
/// ```
#[inline(always)]
pub fn step<T: Real>(y: T) -> T {
    T::one().select(y.simd_gt(T::zero()), T::zero())
}

/// Whether every lane of `x` is finite (neither infinite nor NaN).
///
/// ```
/// use stackprop::scalar::is_finite;
/// assert!(is_finite(1.0f32));
/// assert!(!is_finite(f32::NAN));
/// assert!(!is_finite(f64::INFINITY));
/// ```
#[inline]
pub fn is_finite<T: Real>(x: T) -> bool {
    (0..T::LANES).all(|i| simba::scalar::ComplexField::is_finite(&x.extract(i)))
}
