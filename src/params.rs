//! Parameters as a visit over tensors.
//!
//! The gradient of a model is a value of the model's own type, and so is
//! every optimizer state, so an update is a zip over the tensors of several
//! model-shaped values. [`Params`] numbers a model's parameter tensors
//! `0..TENSORS` and hands each out as a flat slice with its [`ParamKind`];
//! weight decay, clipping, serialization and the optimizers are all loops
//! over that numbering.
//!
//! ```
//! use stackprop::{Linear, Params, ParamKind};
//! let l = Linear::<f32, 3, 2>::from_fn(|o, i| (o * 3 + i) as f32, |o| o as f32);
//! assert_eq!(<Linear<f32, 3, 2> as Params<f32>>::TENSORS, 2);
//! assert_eq!(<Linear<f32, 3, 2> as Params<f32>>::LEN, 8);
//! let (kind, w) = l.tensor(0).unwrap();
//! assert_eq!(kind, ParamKind::Weight);
//! assert_eq!(w.len(), 6);
//! assert!(l.tensor(2).is_none());
//! ```

use crate::scalar::Real;
use crate::zeros::Zeros;

/// What a parameter tensor is, which decides e.g. whether L2 weight decay
/// applies to it (weights yes, biases no).
///
/// ```
/// use stackprop::ParamKind;
/// assert_ne!(ParamKind::Weight, ParamKind::Bias);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A weight matrix (regularized by weight decay).
    Weight,
    /// A bias vector (not regularized by default).
    Bias,
}

/// A value made of parameter tensors: a layer, a model, its gradient or an
/// optimizer state shaped like it.
///
/// Tensors are numbered `0..TENSORS`; `tensor(i)` is `None` for `i` outside
/// that range. Implement it for your own layer by listing its tensors (see
/// [`crate::gradcheck`] for a worked example).
///
/// ```
/// use stackprop::{Params, Relu};
/// assert_eq!(<Relu as Params<f32>>::TENSORS, 0);
/// assert_eq!(<Relu as Params<f32>>::LEN, 0);
/// ```
pub trait Params<T>: Zeros {
    /// Number of parameter tensors.
    const TENSORS: usize;
    /// Number of scalars over all tensors.
    const LEN: usize;
    /// Tensor `i` as a flat slice (column-major for matrices).
    fn tensor(&self, i: usize) -> Option<(ParamKind, &[T])>;
    /// Tensor `i` as a flat mutable slice (column-major for matrices).
    fn tensor_mut(&mut self, i: usize) -> Option<(ParamKind, &mut [T])>;
}

/// Calls `f(kind, tensor)` for every tensor of `p`, in order.
///
/// ```
/// use stackprop::{params, Linear};
/// let l = Linear::<f64, 2, 2>::from_fn(|_, _| 1.0, |_| 2.0);
/// let mut sum = 0.0;
/// params::for_each(&l, |_, t| sum += t.iter().sum::<f64>());
/// assert_eq!(sum, 8.0);
/// ```
pub fn for_each<T, P: Params<T>>(p: &P, mut f: impl FnMut(ParamKind, &[T])) {
    for i in 0..P::TENSORS {
        if let Some((k, t)) = p.tensor(i) {
            f(k, t);
        }
    }
}

/// Calls `f(kind, tensor)` for every tensor of `p`, mutably, in order.
///
/// ```
/// use stackprop::{params, Linear};
/// let mut l = Linear::<f32, 2, 2>::zeros();
/// params::for_each_mut(&mut l, |_, t| t.fill(1.0));
/// assert_eq!(l.bias[1], 1.0);
/// ```
pub fn for_each_mut<T, P: Params<T>>(p: &mut P, mut f: impl FnMut(ParamKind, &mut [T])) {
    for i in 0..P::TENSORS {
        if let Some((k, t)) = p.tensor_mut(i) {
            f(k, t);
        }
    }
}

/// Calls `f(kind, a_i, b_i)` for the matching tensors of two model-shaped
/// values.
///
/// ```
/// use stackprop::{params, Linear};
/// let mut p = Linear::<f32, 2, 1>::from_fn(|_, _| 1.0, |_| 1.0);
/// let g = Linear::<f32, 2, 1>::from_fn(|_, _| 0.5, |_| 0.5);
/// params::zip(&mut p, &g, |_, p, g| p.iter_mut().zip(g).for_each(|(p, g)| *p -= *g));
/// assert_eq!(p.weight[(0, 1)], 0.5);
/// ```
pub fn zip<T, P: Params<T>>(a: &mut P, b: &P, mut f: impl FnMut(ParamKind, &mut [T], &[T])) {
    for i in 0..P::TENSORS {
        if let (Some((k, x)), Some((_, y))) = (a.tensor_mut(i), b.tensor(i)) {
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
pub fn zip3<T, P: Params<T>>(
    a: &mut P,
    b: &P,
    c: &mut P,
    mut f: impl FnMut(ParamKind, &mut [T], &[T], &mut [T]),
) {
    for i in 0..P::TENSORS {
        if let (Some((k, x)), Some((_, y)), Some((_, z))) =
            (a.tensor_mut(i), b.tensor(i), c.tensor_mut(i))
        {
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
/// params::zip4(&mut p, &g, &mut m, &mut v, |_, _, _, _, _| n += 1);
/// assert_eq!(n, 2);
/// ```
pub fn zip4<T, P: Params<T>>(
    a: &mut P,
    b: &P,
    c: &mut P,
    d: &mut P,
    mut f: impl FnMut(ParamKind, &mut [T], &[T], &mut [T], &mut [T]),
) {
    for i in 0..P::TENSORS {
        if let (Some((k, w)), Some((_, x)), Some((_, y)), Some((_, z))) =
            (a.tensor_mut(i), b.tensor(i), c.tensor_mut(i), d.tensor_mut(i))
        {
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
pub fn sum_squares<T: Real, P: Params<T>>(p: &P, kind: Option<ParamKind>) -> T {
    let mut acc = [T::zero(); PARTIALS];
    let mut next = 0; // the partial sum the next square goes into
    for_each(p, |k, t| {
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
        for_each(net, |k, t| {
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
            for i in 0..Net::TENSORS {
                net.tensor_mut(i).unwrap().1.iter_mut().for_each(|x| *x = it.next().unwrap());
            }
            for kind in [None, Some(ParamKind::Weight), Some(ParamKind::Bias)] {
                let (got, want) = (sum_squares(&net, kind), reference(&net, kind));
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{:?}: {} vs {}", kind, got, want);
            }
        }
    }
}
