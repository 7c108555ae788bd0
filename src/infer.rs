//! Inference in one arena: activation memory is the largest input + output
//! pair of any layer, not the sum of all activations.
//!
//! [`Layer::forward`] is a chain of nested calls, and each pair of a
//! sequence holds its intermediate in its stack frame while the rest of the
//! chain runs: its activation memory is the sum of every intermediate
//! ([`crate::memory::Footprint::INFER_ACTIVATIONS`]). [`Run`] evaluates a
//! model in one buffer of scalars, the arena, used from both ends: a layer
//! reads its input at one end and writes its output at the other, so the
//! next layer's input is where this one wrote, and the space of every
//! earlier activation is reused. Elementwise layers (the activations) work
//! in place. The arena a model needs is [`Run::ARENA`] scalars, the
//! largest `input + output` of any of its layers (`input` alone for those
//! in place), known at compile time; besides it, a layer's kernels may keep
//! up to [`Run::SCRATCH`] bytes of temporaries on the stack.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::infer::{self, Run};
//! use stackprop::prelude::*;
//! type Net = Seq![Linear<f32, 4, 64>, Relu, Linear<f32, 64, 64>, Relu, Linear<f32, 64, 2>];
//! type X = SMatrix<f32, 4, 1>;
//! let net: Net = seq![Linear::from_fn(|o, i| (o + i) as f32 * 0.01, |_| 0.1), Relu,
//!                     Linear::from_fn(|o, i| (o as f32 - i as f32) * 0.01, |_| 0.0), Relu,
//!                     Linear::from_fn(|_, _| 0.02, |o| o as f32)];
//! // 64 + 64 scalars: the pair of the middle layer, not 64 + 64 + 64 + 64 + 2
//! const ARENA: usize = <Net as Run<X>>::ARENA;
//! assert_eq!(ARENA, 128);
//! let mut arena = [0.0f32; ARENA];
//! let x = X::new(1.0, 2.0, 3.0, 4.0);
//! let y = infer::forward_in(&net, &x, &mut arena);
//! assert_eq!(y, net.forward(&x));
//! ```

use crate::layer::Layer;
use crate::zeros::Zeros;
use bytemuck::Pod;
use core::mem::size_of;
use nalgebra::{SMatrix, Scalar};

/// A layer or model that runs in an arena (see the [module docs](self)).
///
/// A layer implements [`Run::run`] with [`step`] (output at the other end)
/// or [`in_place`]; a sequence runs its layers in turn.
pub trait Run<X>: Layer<X> {
    /// The scalar of the arena.
    type Elem: Copy;
    /// Scalars of the arena the pass needs: for a layer `input + output`
    /// (`input` if it works in place), for a sequence the largest of its
    /// layers'.
    const ARENA: usize;
    /// Bytes of temporaries its kernels keep on the stack, besides the
    /// arena (the largest of a sequence's layers').
    const SCRATCH: usize = 0;
    /// Runs on the input at the front of `arena` (`front`) or at its back,
    /// and returns where it left the output: `true` for the front. The
    /// arena holds at least [`Run::ARENA`] scalars.
    fn run(&self, arena: &mut [Self::Elem], front: bool) -> bool;
}

/// The layer's input at one end of `arena` and a place for its output at
/// the other: `f(input, output)`; returns the output's end.
///
/// # Panics
///
/// If `arena` is shorter than `n_in + n_out` ([`forward_in`] checks the
/// length a model needs before it runs).
#[inline(always)]
pub fn step<T>(
    arena: &mut [T],
    front: bool,
    n_in: usize,
    n_out: usize,
    f: impl FnOnce(&[T], &mut [T]),
) -> bool {
    let len = arena.len();
    assert!(n_in + n_out <= len, "stackprop: the arena is too small");
    if front {
        let (a, b) = arena.split_at_mut(len - n_out);
        f(&a[..n_in], b);
        false
    } else {
        let (a, b) = arena.split_at_mut(len - n_in);
        f(b, &mut a[..n_out]);
        true
    }
}

/// The layer's `n` values at the `front` (or back) end of `arena`, for a
/// layer that computes in place; returns the same end.
#[inline(always)]
pub fn in_place<T>(arena: &mut [T], front: bool, n: usize, f: impl FnOnce(&mut [T])) -> bool {
    let len = arena.len();
    f(if front { &mut arena[..n] } else { &mut arena[len - n..] });
    front
}

/// The matrix stored in `s` (its column-major values), by reference.
///
/// # Panics
///
/// If `s` does not hold exactly `R·C` values.
#[inline(always)]
pub fn matrix<T: Scalar + Pod, const R: usize, const C: usize>(s: &[T]) -> &SMatrix<T, R, C> {
    &bytemuck::cast_slice::<T, SMatrix<T, R, C>>(s)[0]
}

/// The matrix stored in `s`, mutably (see [`matrix`]).
#[inline(always)]
pub fn matrix_mut<T: Scalar + Pod, const R: usize, const C: usize>(
    s: &mut [T],
) -> &mut SMatrix<T, R, C> {
    &mut bytemuck::cast_slice_mut::<T, SMatrix<T, R, C>>(s)[0]
}

/// Runs `net` on `x` in `arena` and returns the output: `x` is copied to
/// the front, the layers run in turn, the output is copied out. The arena
/// is an array, so its size is checked at compile time: one shorter than
/// [`Run::ARENA`] does not build.
///
/// ```compile_fail
/// use nalgebra::SMatrix;
/// use stackprop::{infer, Linear};
/// let l = Linear::<f32, 4, 8>::zeros();
/// let mut arena = [0.0f32; 11]; // Run::ARENA is 4 + 8
/// let _ = infer::forward_in(&l, &SMatrix::<f32, 4, 1>::zeros(), &mut arena);
/// ```
pub fn forward_in<L, T, const N: usize, const B: usize, const M: usize, const E: usize>(
    net: &L,
    x: &SMatrix<T, N, B>,
    arena: &mut [T; E],
) -> SMatrix<T, M, B>
where
    T: Scalar + Pod,
    L: Run<SMatrix<T, N, B>, Elem = T, Output = SMatrix<T, M, B>>,
    SMatrix<T, M, B>: Zeros,
{
    const {
        crate::shape::require(
            E >= L::ARENA,
            "infer::forward_in",
            "the arena is shorter than Run::ARENA",
        )
    };
    arena[..N * B].copy_from_slice(x.as_slice());
    let front = net.run(arena, true);
    let out = if front { &arena[..M * B] } else { &arena[E - M * B..] };
    *matrix(out)
}

/// The number of scalars of a value of type `X` of scalars `T`.
pub const fn len<X, T>() -> usize {
    size_of::<X>() / size_of::<T>()
}

/// A sequence runs `A`, then `C`, in the same arena.
impl<X, A, C> Run<X> for (A, C)
where
    A: Run<X>,
    C: Run<A::Output, Elem = A::Elem>,
{
    type Elem = A::Elem;
    const ARENA: usize = max(A::ARENA, C::ARENA);
    const SCRATCH: usize = max(A::SCRATCH, C::SCRATCH);

    #[inline]
    fn run(&self, arena: &mut [Self::Elem], front: bool) -> bool {
        let mid = self.0.run(arena, front);
        self.1.run(arena, mid)
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}
