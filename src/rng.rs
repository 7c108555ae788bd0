//! A small seeded random number generator and weight initializations.
//!
//! [`Rng`] is SplitMix64 (Steele, Lea, Flood 2014): 8 bytes of state,
//! `no_std`, reproducible on every target. Reproducibility matters more than
//! statistical strength here: the same seed gives the same network on a
//! desktop and on a microcontroller.
//!
//! ```
//! use stackprop::rng::Rng;
//! let mut a = Rng::new(7);
//! let mut b = Rng::new(7);
//! assert_eq!(a.next_u64(), b.next_u64());
//! let u = a.uniform();
//! assert!((0.0..1.0).contains(&u));
//! ```

use crate::scalar::Real;

/// SplitMix64, a seeded generator of 64-bit values.
///
/// ```
/// let mut r = stackprop::rng::Rng::new(1);
/// assert!(r.below(10) < 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    ///
    /// ```
    /// let x = stackprop::rng::Rng::new(3).range(-2.0, 2.0);
    /// assert!((-2.0..2.0).contains(&x));
    /// ```
    #[inline]
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box–Muller).
    ///
    /// ```
    /// let x = stackprop::rng::Rng::new(3).normal();
    /// assert!(x.is_finite());
    /// ```
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2)
    }

    /// Uniform integer in `0..n` (`0` when `n == 0`), without modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let n = n as u64;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    /// Shuffles `xs` in place (Fisher–Yates).
    ///
    /// ```
    /// let mut v = [0, 1, 2, 3, 4];
    /// stackprop::rng::Rng::new(9).shuffle(&mut v);
    /// let mut s = v; s.sort();
    /// assert_eq!(s, [0, 1, 2, 3, 4]);
    /// ```
    pub fn shuffle<X>(&mut self, xs: &mut [X]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }

    /// A value of `T` whose lanes are drawn independently by `f`.
    ///
    /// ```
    /// let mut r = stackprop::rng::Rng::new(0);
    /// let x: f32 = r.lanes(|r| r.range(0.0, 1.0));
    /// assert!((0.0..1.0).contains(&x));
    /// ```
    pub fn lanes<T: Real>(&mut self, mut f: impl FnMut(&mut Self) -> f64) -> T {
        let mut v = T::zero();
        for l in 0..T::LANES {
            v.replace(l, <T::Element as simba::scalar::SupersetOf<f64>>::from_subset(&f(self)));
        }
        v
    }
}

/// How to draw the initial weights of a dense layer with `fan_in` inputs and
/// `fan_out` outputs.
///
/// ```
/// use stackprop::{rng::{Init, Rng}, Linear};
/// let l = Linear::<f32, 4, 3>::init(&mut Rng::new(1), Init::HeUniform);
/// let bound = (6.0f32 / 4.0).sqrt();
/// assert!(l.weight.iter().all(|w| w.abs() <= bound));
/// assert!(l.bias.iter().all(|&b| b == 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// He (Kaiming) uniform, `U(±√(6/fan_in))`, for ReLU networks; zero biases.
    HeUniform,
    /// He (Kaiming) normal, `N(0, 2/fan_in)`; zero biases.
    HeNormal,
    /// Xavier (Glorot) uniform, `U(±√(6/(fan_in+fan_out)))`, for tanh and
    /// sigmoid networks; zero biases.
    XavierUniform,
    /// PyTorch's `nn.Linear` default: weights and biases `U(±1/√fan_in)`.
    Torch,
    /// Weights and biases `U(±bound)`.
    Uniform(f64),
}

impl Init {
    /// Draws one weight.
    pub fn weight(&self, rng: &mut Rng, fan_in: usize, fan_out: usize) -> f64 {
        let fi = fan_in.max(1) as f64;
        match *self {
            Init::HeUniform => rng.range(-1.0, 1.0) * libm::sqrt(6.0 / fi),
            Init::HeNormal => rng.normal() * libm::sqrt(2.0 / fi),
            Init::XavierUniform => {
                rng.range(-1.0, 1.0) * libm::sqrt(6.0 / (fi + fan_out.max(1) as f64))
            }
            Init::Torch => rng.range(-1.0, 1.0) / libm::sqrt(fi),
            Init::Uniform(b) => rng.range(-b, b),
        }
    }

    /// Draws one bias.
    pub fn bias(&self, rng: &mut Rng, fan_in: usize) -> f64 {
        match *self {
            Init::Torch => rng.range(-1.0, 1.0) / libm::sqrt(fan_in.max(1) as f64),
            Init::Uniform(b) => rng.range(-b, b),
            _ => 0.0,
        }
    }
}
