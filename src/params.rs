//! The parameters of a model, typed: the tensors that are trained
//! ([`ParamKind::trained`]: weights and biases, not buffers), as slices of
//! the model's scalar type.
//!
//! The gradient of a model is a value of the model's own type, and so is
//! every optimizer state, so an update is a zip over the parameters of
//! several model-shaped values. The tensors are numbered as
//! [`Module::tensor`] numbers them; weight decay, clipping and the
//! optimizers are loops over that numbering. The type of the parameters is
//! the model's [`Module::Scalar`]; every function here also checks at
//! compile time that the tensors its layers call trained are of that type.
//!
//! ```
//! use stackprop::{params, Linear, ParamKind};
//! let l = Linear::<f32, 3, 2>::from_fn(|o, i| (o * 3 + i) as f32, |o| o as f32);
//! assert_eq!(params::len::<f32, Linear<f32, 3, 2>>(), 8);
//! let mut kinds = Vec::new();
//! params::for_each(&l, |kind, t: &[f32]| kinds.push((kind, t.len())));
//! assert_eq!(kinds, [(ParamKind::Weight, 6), (ParamKind::Bias, 2)]);
//! ```

pub use crate::module::ParamKind;
use crate::module::{Elem, Module};
use crate::scalar::Real;

/// Fails the build unless every parameter of `P` is a `T`.
macro_rules! same_type {
    ($t:ty, $p:ty) => {
        const {
            assert!(
                <$p as Module>::SIZE.trains_only::<$t>(),
                "stackprop: the model's parameters are not of this scalar type"
            )
        }
    };
}

/// The number of parameter values of `P`.
///
/// ```
/// assert_eq!(stackprop::params::len::<f32, stackprop::Linear<f32, 784, 256>>(), 784 * 256 + 256);
/// ```
pub const fn len<T: Elem, P: Module<Scalar = T>>() -> usize {
    same_type!(T, P);
    P::SIZE.params
}

/// The kind of parameter `i` of `P`, if tensor `i` is a parameter: read off
/// the constant masks of `P::SIZE` (a model's first 64 tensors), else off
/// the tensor's spec.
#[inline(always)]
fn kind<P: Module>(i: usize) -> Option<ParamKind> {
    let s = P::SIZE;
    if i >= 64 {
        return P::spec(i).map(|s| s.kind).filter(|k| k.trained());
    }
    if s.trained_mask >> i & 1 == 0 {
        None
    } else if s.weight_mask >> i & 1 == 1 {
        Some(ParamKind::Weight)
    } else {
        Some(ParamKind::Bias)
    }
}

/// Calls `f(kind, tensor)` for every parameter of `p`, in order.
///
/// ```
/// use stackprop::{params, Linear};
/// let l = Linear::<f64, 2, 2>::from_fn(|_, _| 1.0, |_| 2.0);
/// let mut sum = 0.0;
/// params::for_each(&l, |_, t: &[f64]| sum += t.iter().sum::<f64>());
/// assert_eq!(sum, 8.0);
/// ```
#[inline]
pub fn for_each<T: Elem, P: Module<Scalar = T>>(p: &P, mut f: impl FnMut(ParamKind, &[T])) {
    same_type!(T, P);
    for i in 0..P::SIZE.tensors {
        if let (Some(k), Some(t)) = (kind::<P>(i), p.tensor(i).and_then(T::of)) {
            f(k, t);
        }
    }
}

/// Calls `f(kind, tensor)` for every parameter of `p`, mutably, in order.
///
/// ```
/// use stackprop::{params, Linear};
/// let mut l = Linear::<f32, 2, 2>::zeros();
/// params::for_each_mut(&mut l, |_, t: &mut [f32]| t.fill(1.0));
/// assert_eq!(l.bias[1], 1.0);
/// ```
#[inline]
pub fn for_each_mut<T: Elem, P: Module<Scalar = T>>(
    p: &mut P,
    mut f: impl FnMut(ParamKind, &mut [T]),
) {
    same_type!(T, P);
    for i in 0..P::SIZE.tensors {
        if let (Some(k), Some(t)) = (kind::<P>(i), p.tensor_mut(i).and_then(T::of_mut)) {
            f(k, t);
        }
    }
}

/// Calls `f(kind, a_i, b_i)` for the matching parameters of two
/// model-shaped values.
///
/// ```
/// use stackprop::{params, Linear};
/// let mut p = Linear::<f32, 2, 1>::from_fn(|_, _| 1.0, |_| 1.0);
/// let g = Linear::<f32, 2, 1>::from_fn(|_, _| 0.5, |_| 0.5);
/// params::zip(&mut p, &g, |_, p, g| p.iter_mut().zip(g).for_each(|(p, g)| *p -= *g));
/// assert_eq!(p.weight[(0, 1)], 0.5);
/// ```
#[inline]
pub fn zip<T: Elem, P: Module<Scalar = T>>(
    a: &mut P,
    b: &P,
    mut f: impl FnMut(ParamKind, &mut [T], &[T]),
) {
    same_type!(T, P);
    for i in 0..P::SIZE.tensors {
        if let (Some(k), Some(x), Some(y)) =
            (kind::<P>(i), a.tensor_mut(i).and_then(T::of_mut), b.tensor(i).and_then(T::of))
        {
            f(k, x, y);
        }
    }
}

/// Calls `f(kind, a_i, b_i, c_i)` for three model-shaped values.
///
/// ```
/// use stackprop::{params, Linear};
/// type L = Linear<f32, 1, 1>;
/// let (mut p, g, mut v) = (L::zeros(), L::from_fn(|_, _| 1.0, |_| 1.0), L::zeros());
/// params::zip3(&mut p, &g, &mut v, |_, p, g, v| {
///     for ((p, g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) { *v += *g; *p -= *v; }
/// });
/// assert_eq!(p.weight[0], -1.0);
/// ```
#[inline]
pub fn zip3<T: Elem, P: Module<Scalar = T>>(
    a: &mut P,
    b: &P,
    c: &mut P,
    mut f: impl FnMut(ParamKind, &mut [T], &[T], &mut [T]),
) {
    same_type!(T, P);
    for i in 0..P::SIZE.tensors {
        if let (Some(k), Some(x), Some(y), Some(z)) = (
            kind::<P>(i),
            a.tensor_mut(i).and_then(T::of_mut),
            b.tensor(i).and_then(T::of),
            c.tensor_mut(i).and_then(T::of_mut),
        ) {
            f(k, x, y, z);
        }
    }
}

/// Calls `f(kind, a_i, b_i, c_i, d_i)` for four model-shaped values (Adam's
/// parameters, gradient, first and second moments).
///
/// ```
/// use stackprop::{params, Linear};
/// type L = Linear<f32, 1, 1>;
/// let (mut p, g, mut m, mut v) = (L::zeros(), L::zeros(), L::zeros(), L::zeros());
/// let mut n = 0;
/// params::zip4(&mut p, &g, &mut m, &mut v, |_, _, _: &[f32], _, _| n += 1);
/// assert_eq!(n, 2);
/// ```
#[inline]
pub fn zip4<T: Elem, P: Module<Scalar = T>>(
    a: &mut P,
    b: &P,
    c: &mut P,
    d: &mut P,
    mut f: impl FnMut(ParamKind, &mut [T], &[T], &mut [T], &mut [T]),
) {
    same_type!(T, P);
    for i in 0..P::SIZE.tensors {
        if let (Some(k), Some(w), Some(x), Some(y), Some(z)) = (
            kind::<P>(i),
            a.tensor_mut(i).and_then(T::of_mut),
            b.tensor(i).and_then(T::of),
            c.tensor_mut(i).and_then(T::of_mut),
            d.tensor_mut(i).and_then(T::of_mut),
        ) {
            f(k, w, x, y, z);
        }
    }
}

/// `Σ x²` over all tensors of `p` of the given kind (`None`: all kinds).
///
/// The squares go into [`PARTIALS`] partial sums, square `k` (counted
/// over the selected tensors in order) into sum `k mod PARTIALS`, and the
/// partial sums are added from the first to the last: the same order for
/// every scalar type, so a lane of a SIMD pack gets the bits of the same
/// sum over `f32`. (One running sum was a chain of 200,000 dependent
/// additions for a 784 → 256 → 10 model, 100 µs on x86-64 against 9 µs.)
///
/// ```
/// use stackprop::{params, Linear, ParamKind};
/// let l = Linear::<f64, 2, 1>::from_fn(|_, _| 3.0, |_| 1.0);
/// assert_eq!(params::sum_squares(&l, Some(ParamKind::Weight)), 18.0);
/// assert_eq!(params::sum_squares(&l, None), 19.0);
/// ```
pub fn sum_squares<T: Real, P: Module<Scalar = T>>(p: &P, kind: Option<ParamKind>) -> T {
    let mut acc = [T::zero(); PARTIALS];
    let mut next = 0; // the partial sum the next square goes into
    for_each(p, |k, t: &[T]| {
        if kind.is_none_or(|want| want == k) {
            // Up to the first boundary of PARTIALS squares, then whole
            // blocks, then the rest.
            let (head, body) = t.split_at((PARTIALS - next).min(t.len()) % PARTIALS);
            for (a, &x) in acc[next..].iter_mut().zip(head) {
                *a += x * x;
            }
            next = (next + head.len()) % PARTIALS;
            let mut blocks = body.chunks_exact(PARTIALS);
            for b in &mut blocks {
                for (a, &x) in acc.iter_mut().zip(b) {
                    *a += x * x;
                }
            }
            for (a, &x) in acc[next..].iter_mut().zip(blocks.remainder()) {
                *a += x * x;
            }
            next = (next + blocks.remainder().len()) % PARTIALS;
        }
    });
    acc.iter().fold(T::zero(), |s, &a| s + a)
}

/// How many partial sums [`sum_squares`] keeps: 16 on x86-64 (two or four
/// vector registers of `f32`; 8 took 12.8 µs for 200,000 values, 16 took
/// 8.6, 32 took 10.0), 8 elsewhere (registers of a Cortex-M4F's FPU).
///
/// ```
/// assert!(stackprop::params::PARTIALS >= 8);
/// ```
pub const PARTIALS: usize = if cfg!(target_arch = "x86_64") { 16 } else { 8 };

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::{Linear, Relu, Seq, seq};
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Tensors of 15, 5, 35 and 7 values: none a multiple of `PARTIALS`.
    type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 7>];

    /// Square `k` of the selected values into partial sum `k mod PARTIALS`,
    /// one value at a time.
    fn reference(net: &Net, kind: Option<ParamKind>) -> f32 {
        let mut xs = Vec::new();
        for_each(net, |k, t: &[f32]| {
            if kind.is_none_or(|want| want == k) {
                xs.extend_from_slice(t);
            }
        });
        let mut acc = [0.0f32; PARTIALS];
        for (k, x) in xs.iter().enumerate() {
            acc[k % PARTIALS] += x * x;
        }
        acc.iter().fold(0.0, |s, &a| s + a)
    }

    proptest! {
        /// `sum_squares` adds in the documented order, across tensor
        /// boundaries, bit for bit.
        #[test]
        fn sum_squares_adds_in_the_documented_order(
            v in proptest::collection::vec(-1e3f32..1e3, 62)
        ) {
            let mut it = v.iter().copied();
            let mut net: Net = seq![Linear::zeros(), Relu, Linear::zeros()];
            for_each_mut(&mut net, |_, t: &mut [f32]| t.iter_mut().for_each(|x| *x = it.next().unwrap()));
            for kind in [None, Some(ParamKind::Weight), Some(ParamKind::Bias)] {
                let (got, want) = (sum_squares(&net, kind), reference(&net, kind));
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{:?}: {} vs {}", kind, got, want);
            }
        }
    }
}
