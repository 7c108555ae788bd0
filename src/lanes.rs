//! Element-wise loops that take `f32` eight lanes at a time on x86-64.
//!
//! Given AVX-512, the compiler turns short element-wise loops of a fixed
//! length (16 values: a ReLU derivative, a bias gradient, its finite check)
//! into 512-bit instructions, whatever `prefer-256-bit` says. On Intel cores
//! a handful of those in a training step slows everything around them (the
//! core lowers its clock while 512-bit arithmetic runs): the 4 → 16 → 3 step
//! took half as long again with them, on a Xeon with AVX-512.
//! These loops therefore spell out `f32` as [`wide::f32x8`] vectors (256-bit
//! at most) for every full chunk of eight; other scalar types (and the last
//! `len % 8` values) go element by element. Both forms do the same
//! operations in the same order, so the results are bit-identical: a SIMD
//! pack still computes each lane exactly like `f32`.
//!
//! Whether `T` is `f32` is decided through [`core::any::Any`], which the
//! compiler folds away: no run-time dispatch, no `unsafe`.

use crate::scalar::{Real, SimdBool};

#[cfg(target_arch = "x86_64")]
use core::any::Any;
#[cfg(target_arch = "x86_64")]
use wide::{Select, f32x8};

/// A chunk of eight `T` as eight `f32`, when `T` is `f32`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn as_f32<T: 'static>(c: &[T]) -> Option<&[f32; 8]> {
    let c: &[T; 8] = c.try_into().ok()?;
    (c as &dyn Any).downcast_ref()
}

/// [`as_f32`] for a mutable chunk.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn as_f32_mut<T: 'static>(c: &mut [T]) -> Option<&mut [f32; 8]> {
    let c: &mut [T; 8] = c.try_into().ok()?;
    (c as &mut dyn Any).downcast_mut()
}

/// `x` as an `f32`, when `T` is `f32`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scalar_f32<T: 'static>(x: &T) -> Option<f32> {
    (x as &dyn Any).downcast_ref().copied()
}

/// `out[i] = v(a[i], b[i])` over the full chunks of eight when `T` is
/// `f32`; returns how many values it wrote (0 when `T` is not `f32`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn zip_f32x8<T: 'static>(
    a: &[T],
    b: &[T],
    out: &mut [T],
    v: impl Fn(f32x8, f32x8) -> f32x8,
) -> usize {
    let mut done = 0;
    for ((a, b), o) in a.chunks_exact(8).zip(b.chunks_exact(8)).zip(out.chunks_exact_mut(8)) {
        let (Some(a), Some(b), Some(o)) = (as_f32(a), as_f32(b), as_f32_mut(o)) else { break };
        *o = v(f32x8::new(*a), f32x8::new(*b)).to_array();
        done += 8;
    }
    done
}

/// `dz[i] = (if y[i] > 0 { above } else { other })·dy[i]`: the backward
/// pass of ReLU (`above = 1`, `other = 0`) and leaky ReLU (`other = α`),
/// written as the activations' own `derivative(y) * g`.
#[inline]
pub(crate) fn select_mul<T: Real>(y: &[T], dy: &[T], dz: &mut [T], above: T, other: T) {
    #[cfg(target_arch = "x86_64")]
    let done = match (scalar_f32(&above), scalar_f32(&other)) {
        (Some(a), Some(o)) => {
            let (a, o) = (f32x8::splat(a), f32x8::splat(o));
            zip_f32x8(y, dy, dz, |y, g| Select::select(y.simd_gt(f32x8::ZERO), a, o) * g)
        }
        _ => 0,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for ((d, &y), &g) in dz.iter_mut().zip(y).zip(dy).skip(done) {
        *d = above.select(y.simd_gt(T::zero()), other) * g;
    }
}

/// `out[i] = a[i] + b[i]`.
#[inline]
pub(crate) fn add<T: Real>(a: &[T], b: &[T], out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    let done = zip_f32x8(a, b, out, |a, b| a + b);
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b).skip(done) {
        *o = a + b;
    }
}

/// `v[i] += a[i]`.
#[inline]
pub(crate) fn add_assign<T: Real>(v: &mut [T], a: &[T]) {
    // `zip_f32x8` writes a third slice; `v` is read and written, so it is
    // done here by hand.
    #[cfg(target_arch = "x86_64")]
    let done = {
        let mut done = 0;
        for (vc, ac) in v.chunks_exact_mut(8).zip(a.chunks_exact(8)) {
            let (Some(vc), Some(ac)) = (as_f32_mut(vc), as_f32(ac)) else { break };
            *vc = (f32x8::new(*vc) + f32x8::new(*ac)).to_array();
            done += 8;
        }
        done
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (vm, &x) in v.iter_mut().zip(a).skip(done) {
        *vm += x;
    }
}

/// Whether `x − x == 0` for every `x` of `xs` (`0` for a finite `x`, NaN
/// for ±∞ or NaN): an AND of comparisons, no branch per element.
#[allow(clippy::eq_op, reason = "x − x is the finiteness test")]
#[inline]
pub(crate) fn all_self_sub_zero<T: Real>(xs: &[T]) -> bool {
    #[cfg(target_arch = "x86_64")]
    let (mut ok, done) = {
        let mut done = 0;
        let mut all = f32x8::ZERO.simd_eq(f32x8::ZERO);
        for c in xs.chunks_exact(8) {
            let Some(c) = as_f32(c) else { break };
            let x = f32x8::new(*c);
            all &= (x - x).simd_eq(f32x8::ZERO);
            done += 8;
        }
        (all.all(), done)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (mut ok, done) = (true, 0);
    for &x in &xs[done..] {
        ok &= (x - x).simd_eq(T::zero()).all();
    }
    ok
}

#[cfg(test)]
mod tests;
