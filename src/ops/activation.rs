//! Elementwise activation functions and their derivatives.
//!
//! Every activation here has a derivative that can be written through its
//! output `y = φ(z)`, so a layer keeps only `y` for backward:
//!
//! | activation | φ(z) | φ'(z) through y |
//! |---|---|---|
//! | [`Relu`] | max(z, 0) | 1 if y > 0 else 0 |
//! | [`LeakyRelu`] | z if z > 0 else αz (α ≥ 0) | 1 if y > 0 else α |
//! | [`Relu6`] | min(max(z, 0), 6) | 1 if 0 < y < 6 else 0 |
//! | [`Sigmoid`] | 1/(1+e⁻ᶻ) | y(1−y) |
//! | [`Tanh`] | tanh z | 1−y² |
//! | [`Identity`] | z | 1 |
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::ops::activation::{self, Sigmoid};
//! let z = SMatrix::<f64, 1, 1>::new(0.0);
//! let y = activation::forward(&Sigmoid, &z);
//! let dz = activation::backward(&Sigmoid, &y, &SMatrix::<f64, 1, 1>::new(1.0));
//! assert_eq!((y[0], dz[0]), (0.5, 0.25));
//! ```

use crate::error::Error;
use crate::scalar::{Real, SimdBool, lit, step};
use nalgebra::SMatrix;

/// An elementwise activation `φ` whose derivative is a function of its
/// output.
///
/// ```
/// use stackprop::ops::activation::{Activation, Tanh};
/// let y = Tanh.apply(0.5f64);
/// assert!((Tanh.derivative(y) - (1.0 - y * y)).abs() < 1e-15);
/// ```
pub trait Activation<T>: Copy {
    /// `φ(z)`.
    fn apply(&self, z: T) -> T;
    /// `φ'(z)`, given `y = φ(z)`.
    fn derivative(&self, y: T) -> T;

    /// `dz[i] = φ'(y[i])·dy[i]` over slices of equal length: the loop of
    /// [`backward`]. The default goes element by element; [`Relu`] and
    /// [`LeakyRelu`] override it to take `f32` eight lanes at a time on
    /// x86-64 (with AVX-512 the compiler would otherwise use 512-bit
    /// instructions for 16 values, which slow a whole training step on
    /// Intel cores). An override must give exactly the default's values.
    ///
    /// ```
    /// use stackprop::ops::activation::{Activation, Relu};
    /// let (y, dy) = ([0.0f32, 2.0, 0.5], [1.0f32, -3.0, 4.0]);
    /// let mut dz = [f32::NAN; 3];
    /// Relu.backward_slice(&y, &dy, &mut dz);
    /// assert_eq!(dz, [0.0, -3.0, 4.0]);
    /// ```
    #[inline(always)]
    fn backward_slice(&self, y: &[T], dy: &[T], dz: &mut [T])
    where
        T: Real,
    {
        for ((d, &y), &g) in dz.iter_mut().zip(y).zip(dy) {
            *d = self.derivative(y) * g;
        }
    }
}

/// Applies `f` elementwise: `Y = φ(Z)`.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::ops::activation::{forward, Relu};
/// let y = forward(&Relu, &SMatrix::<f32, 1, 2>::new(-1.0, 2.0));
/// assert_eq!(y, SMatrix::<f32, 1, 2>::new(0.0, 2.0));
/// ```
#[inline]
pub fn forward<T: Real, A: Activation<T>, const R: usize, const C: usize>(
    f: &A,
    z: &SMatrix<T, R, C>,
) -> SMatrix<T, R, C> {
    // A copy mapped in place over the flat slice: nalgebra's `map` goes
    // through an element iterator and an uninitialized buffer, which the
    // compiler does not vectorize.
    let mut y = SMatrix::from_data(nalgebra::ArrayStorage([[T::zero(); R]; C]));
    forward_into(f, z, &mut y);
    y
}

/// [`forward`] into `y`, whose old values are neither read nor kept.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::ops::activation::{forward_into, Relu};
/// let mut y = SMatrix::<f32, 1, 2>::repeat(f32::NAN);
/// forward_into(&Relu, &SMatrix::<f32, 1, 2>::new(-1.0, 2.0), &mut y);
/// assert_eq!(y, SMatrix::<f32, 1, 2>::new(0.0, 2.0));
/// ```
#[inline]
pub fn forward_into<T: Real, A: Activation<T>, const R: usize, const C: usize>(
    f: &A,
    z: &SMatrix<T, R, C>,
    y: &mut SMatrix<T, R, C>,
) {
    for (y, &z) in y.as_mut_slice().iter_mut().zip(z.as_slice()) {
        *y = f.apply(z);
    }
}

/// `∂J/∂Z = dY ⊙ φ'(Z)`, given the forward output `Y` as the cache.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::ops::activation::{backward, Relu};
/// let dz = backward(&Relu, &SMatrix::<f32, 1, 2>::new(0.0, 2.0), &SMatrix::repeat(3.0));
/// assert_eq!(dz, SMatrix::<f32, 1, 2>::new(0.0, 3.0));
/// ```
#[inline]
pub fn backward<T: Real, A: Activation<T>, const R: usize, const C: usize>(
    f: &A,
    y: &SMatrix<T, R, C>,
    dy: &SMatrix<T, R, C>,
) -> SMatrix<T, R, C> {
    let mut dz = SMatrix::from_data(nalgebra::ArrayStorage([[T::zero(); R]; C]));
    backward_into(f, y, dy, &mut dz);
    dz
}

/// [`backward`] into `dz`, whose old values are neither read nor kept.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::ops::activation::{backward_into, Relu};
/// let mut dz = SMatrix::<f32, 1, 2>::repeat(f32::NAN);
/// backward_into(&Relu, &SMatrix::<f32, 1, 2>::new(0.0, 2.0), &SMatrix::repeat(3.0), &mut dz);
/// assert_eq!(dz, SMatrix::<f32, 1, 2>::new(0.0, 3.0));
/// ```
#[inline]
pub fn backward_into<T: Real, A: Activation<T>, const R: usize, const C: usize>(
    f: &A,
    y: &SMatrix<T, R, C>,
    dy: &SMatrix<T, R, C>,
    dz: &mut SMatrix<T, R, C>,
) {
    f.backward_slice(y.as_slice(), dy.as_slice(), dz.as_mut_slice());
}

/// Rectified linear unit, `max(z, 0)`. Zero-sized.
///
/// ```
/// use stackprop::ops::activation::{Activation, Relu};
/// assert_eq!(Relu.apply(-2.0f32), 0.0);
/// assert_eq!(Relu.derivative(3.0f32), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu;

impl<T: Real> Activation<T> for Relu {
    #[inline(always)]
    fn apply(&self, z: T) -> T {
        z.simd_max(T::zero())
    }
    #[inline(always)]
    fn derivative(&self, y: T) -> T {
        step(y)
    }
    #[inline(always)]
    fn backward_slice(&self, y: &[T], dy: &[T], dz: &mut [T]) {
        // `step(y)·g`, as `derivative`.
        crate::lanes::select_mul(y, dy, dz, T::one(), T::zero());
    }
}

/// ReLU capped at 6, `min(max(z, 0), 6)`: PyTorch's `nn.ReLU6` (MobileNet's
/// activation, whose bounded range suits low-precision inference).
/// Zero-sized.
///
/// The derivative is 1 strictly between the kinks and 0 outside, read off
/// the output: `0 < y < 6`. At the kinks (`z = 0`, `z = 6`) it is 0, as
/// PyTorch's `hardtanh_backward` has it.
///
/// ```
/// use stackprop::ops::activation::{Activation, Relu6};
/// assert_eq!([-1.0f32, 3.0, 7.0].map(|z| Relu6.apply(z)), [0.0, 3.0, 6.0]);
/// assert_eq!([0.0f32, 3.0, 6.0].map(|y| Relu6.derivative(y)), [0.0, 1.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu6;

impl<T: Real> Activation<T> for Relu6 {
    #[inline(always)]
    fn apply(&self, z: T) -> T {
        z.simd_max(T::zero()).simd_min(lit(6.0))
    }
    #[inline(always)]
    fn derivative(&self, y: T) -> T {
        T::one().select(y.simd_gt(T::zero()) & y.simd_lt(lit(6.0)), T::zero())
    }
}

/// Leaky ReLU, `z` for `z > 0`, else `α·z`, with a slope `α` in `[0, 1]`.
///
/// ```
/// use stackprop::ops::activation::{Activation, LeakyRelu};
/// let f = LeakyRelu::new(0.1f64).unwrap();
/// assert_eq!(f.apply(-2.0), -0.2);
/// assert_eq!(f.derivative(f.apply(-2.0)), 0.1);
/// assert_eq!(LeakyRelu::new(-1.0f64).unwrap_err().to_string(),
///            "invalid hyper-parameter: the LeakyRelu slope must be finite and in [0, 1]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu<T> {
    alpha: T,
}

impl<T: Real> LeakyRelu<T> {
    /// A leaky ReLU with slope `alpha` for negative inputs; an error unless
    /// every lane of `alpha` is finite and in `[0, 1]` (the derivative is
    /// read off the output's sign, which needs `α ≥ 0`).
    pub fn new(alpha: T) -> Result<Self, Error> {
        let ok = crate::scalar::is_finite(alpha)
            && alpha.simd_ge(T::zero()).all()
            && alpha.simd_le(T::one()).all();
        if ok { Ok(Self { alpha }) } else { Err(SLOPE) }
    }
    /// The slope for negative inputs.
    ///
    /// ```
    /// use stackprop::ops::activation::LeakyRelu;
    /// assert_eq!(LeakyRelu::<f32>::default().alpha(), 0.01);
    /// ```
    pub fn alpha(&self) -> T {
        self.alpha
    }
}

const SLOPE: Error =
    Error::InvalidHyperparameter { what: "the LeakyRelu slope must be finite and in [0, 1]" };

macro_rules! with_slope {
    ($($t:ty),*) => {$(
        impl LeakyRelu<$t> {
            /// [`LeakyRelu::new`] as a `const fn`, for `static` models (what
            /// exported source uses). A slope outside `[0, 1]` panics: in a
            /// `const` or `static` that fails the build; at run time use
            /// `new`, which returns an error.
            ///
            /// ```
            /// use stackprop::LeakyRelu;
            /// static L: LeakyRelu<f32> = LeakyRelu::<f32>::with_slope(0.2);
            /// assert_eq!(L.alpha(), 0.2);
            /// ```
            ///
            /// ```compile_fail,E0080
            /// static L: stackprop::LeakyRelu<f64> = stackprop::LeakyRelu::<f64>::with_slope(-0.2);
            /// ```
            pub const fn with_slope(alpha: $t) -> Self {
                assert!(alpha.is_finite() && alpha >= 0.0 && alpha <= 1.0,
                        "stackprop: the LeakyRelu slope must be finite and in [0, 1]");
                Self { alpha }
            }
        }
    )*};
}
with_slope!(f32, f64);

impl<T: Real> Default for LeakyRelu<T> {
    /// Slope 0.01.
    fn default() -> Self {
        Self { alpha: lit(0.01) }
    }
}

// Like `Zeros::zeros`, the constant keeps the default slope (a
// hyper-parameter, not a parameter).
impl crate::zeros::ConstZeros for LeakyRelu<f32> {
    const ZEROS: Self = Self { alpha: 0.01 };
}
impl crate::zeros::ConstZeros for LeakyRelu<f64> {
    const ZEROS: Self = Self { alpha: 0.01 };
}

impl<T: Real> Activation<T> for LeakyRelu<T> {
    #[inline(always)]
    fn apply(&self, z: T) -> T {
        z.select(z.simd_gt(T::zero()), z * self.alpha)
    }
    #[inline(always)]
    fn derivative(&self, y: T) -> T {
        T::one().select(y.simd_gt(T::zero()), self.alpha)
    }
    #[inline(always)]
    fn backward_slice(&self, y: &[T], dy: &[T], dz: &mut [T]) {
        crate::lanes::select_mul(y, dy, dz, T::one(), self.alpha);
    }
}

/// Logistic sigmoid `1/(1+e⁻ᶻ)`, computed without overflow for any `z`.
/// Zero-sized.
///
/// ```
/// use stackprop::ops::activation::{Activation, Sigmoid};
/// assert_eq!(Sigmoid.apply(0.0f64), 0.5);
/// assert_eq!(Sigmoid.apply(-1000.0f64), 0.0);
/// assert_eq!(Sigmoid.apply(1000.0f64), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigmoid;

/// `σ(z)` without overflow: `e = exp(−|z|)`, `1/(1+e)` for `z ≥ 0`, else
/// `e/(1+e)`.
#[inline(always)]
pub(crate) fn sigmoid<T: Real>(z: T) -> T {
    let e = sigmoid_exp(-z.simd_abs());
    let s = T::one() / (T::one() + e);
    s.select(z.simd_ge(T::zero()), e * s)
}

/// `eˣ` for [`sigmoid`]: [`crate::math::exp`] on x86-64, where it
/// vectorizes (W2's inference at batch 32 with a `Sigmoid` over its 256 × 32
/// hidden values: 104 → 83 µs, 76 µs with `Relu`), the scalar's
/// own `simd_exp` elsewhere (on the Cortex-M4F `libm`'s `expf` takes 60
/// instructions a value, the polynomial 64; QEMU count, firmware/measure.sh).
#[inline(always)]
fn sigmoid_exp<T: Real>(x: T) -> T {
    if cfg!(target_arch = "x86_64") { crate::math::exp(x) } else { x.simd_exp() }
}

impl<T: Real> Activation<T> for Sigmoid {
    #[inline(always)]
    fn apply(&self, z: T) -> T {
        sigmoid(z)
    }
    #[inline(always)]
    fn derivative(&self, y: T) -> T {
        y * (T::one() - y)
    }
}

/// Hyperbolic tangent. Zero-sized.
///
/// ```
/// use stackprop::ops::activation::{Activation, Tanh};
/// assert_eq!(Tanh.apply(0.0f32), 0.0);
/// assert_eq!(Tanh.derivative(0.0f32), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

impl<T: Real> Activation<T> for Tanh {
    #[inline(always)]
    fn apply(&self, z: T) -> T {
        // The branch-free polynomial where floats are hardware: on x86-64
        // it vectorizes (W2's inference at batch 32 with a `Tanh` over its
        // 256 × 32 hidden values: 187 → 83 µs, 76 µs with `Relu`), on the
        // Cortex-M4F it takes 76 instructions a value against `libm`'s 106
        // (QEMU count, firmware/measure.sh). Soft-float targets (Cortex-M0)
        // keep `libm`'s `tanhf`, which computes one of the two forms.
        if cfg!(any(target_arch = "x86_64", target_abi = "eabihf")) {
            crate::math::tanh(z)
        } else {
            z.simd_tanh()
        }
    }
    #[inline(always)]
    fn derivative(&self, y: T) -> T {
        T::one() - y * y
    }
}

/// The identity `φ(z) = z`. Zero-sized.
///
/// ```
/// use stackprop::ops::activation::{Activation, Identity};
/// assert_eq!(Identity.apply(-4.0f32), -4.0);
/// assert_eq!(Identity.derivative(7.0f32), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<T: Real> Activation<T> for Identity {
    #[inline(always)]
    fn apply(&self, z: T) -> T {
        z
    }
    #[inline(always)]
    fn derivative(&self, _y: T) -> T {
        T::one()
    }
}
