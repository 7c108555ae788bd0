//! Flattening a feature map into PyTorch's order, PyTorch's `nn.Flatten()`
//! after convolutions.

use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Module};
use crate::scalar::Real;
use crate::shape::{expect, require};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;

/// Reorders a feature map of `C` channels, `H` rows and `W = N / (C·H)`
/// columns (`N` values per sample) from the crate's layout into PyTorch's
/// flattening order: `y[c·H·W + h·W + w] = x[c + C·(h + H·w)]`. For a 1D
/// map of length `L` take `H = L` (one column): `y[c·L + l] = x[c + C·l]`.
/// `N` must be a multiple of `C·H`, checked at compile time.
///
/// Why it permutes: the crate stores a map channel fastest
/// ([`crate::shape`]: the `C` values of a position are contiguous, which
/// makes a convolution a sum of matrix products and lets every
/// element-wise layer work on maps unchanged), while PyTorch's
/// `nn.Flatten()` flattens a row-major `[C, H, W]` sample, channel
/// slowest. A [`crate::Linear`] after this layer then sees its inputs in
/// PyTorch's order, so its weight is exactly the weight of PyTorch's
/// `nn.Flatten()` + `nn.Linear` (imported, saved and exported unchanged),
/// for one copy of the activations. Backward applies the inverse
/// permutation to `dy`. No parameters, zero-sized, no cache.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::{Flatten, Layer};
/// // 2 channels of length 3 (H = 3, one column): ours position by position,
/// // PyTorch's channel by channel
/// let x = SMatrix::<f32, 6, 1>::from_column_slice(&[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
/// let y = Flatten::<2, 3, 6>::new().forward(&x);
/// assert_eq!(y.as_slice(), &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
/// ```
///
/// A size that is not whole columns does not build:
///
/// ```compile_fail
/// use stackprop::{Flatten, Layer};
/// let _ = Flatten::<2, 3, 8>::new().forward(&nalgebra::SMatrix::<f32, 8, 1>::zeros());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const C: usize, const H: usize, const N: usize>;

impl<const C: usize, const H: usize, const N: usize> Flatten<C, H, N> {
    /// The number of columns, `N / (C·H)`; evaluating it checks the sizes
    /// at compile time.
    pub const W: usize = {
        require(C > 0 && H > 0, "Flatten", "channels and height must be at least 1");
        let w = if N / (C * H) > 0 { N / (C * H) } else { 1 };
        expect("Flatten", "the size (its last parameter, channels × height × width)", C * H * w, N, "");
        w
    };

    /// The layer (checks its sizes at compile time).
    pub const fn new() -> Self {
        let _ = Self::W;
        Self
    }

    /// Calls `f(i, o)` for every value of a sample: it is at `i` in the
    /// crate's layout and at `o` in PyTorch's order.
    #[inline(always)]
    fn each(mut f: impl FnMut(usize, usize)) {
        let w_n = Self::W;
        let mut i = 0;
        for w in 0..w_n {
            for h in 0..H {
                for c in 0..C {
                    f(i, (c * H + h) * w_n + w);
                    i += 1;
                }
            }
        }
    }
}

impl<const C: usize, const H: usize, const N: usize> Zeros for Flatten<C, H, N> {
    #[inline]
    fn zeros() -> Self {
        Self
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<const C: usize, const H: usize, const N: usize> ConstZeros for Flatten<C, H, N> {
    const ZEROS: Self = Self;
}

/// No tensors; exported source builds it with `new()`.
impl<const C: usize, const H: usize, const N: usize> Module for Flatten<C, H, N> {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("Flatten")
        .rust("stackprop::Flatten", "new")
        .dim("channels", C)
        .dim("height", H)
        .dim("size", N);
}

impl<T: Real, const C: usize, const H: usize, const N: usize, const NI: usize, const B: usize>
    Layer<SMatrix<T, NI, B>> for Flatten<C, H, N>
{
    type Output = SMatrix<T, NI, B>;

    #[inline]
    fn forward(&self, x: &SMatrix<T, NI, B>) -> SMatrix<T, NI, B> {
        let mut y = SMatrix::zeros();
        self.forward_train(x, &mut (), &mut y);
        y
    }
}

/// In an arena: the input at one end, the output written at the other.
impl<T: Real + bytemuck::Pod, const C: usize, const H: usize, const N: usize, const NI: usize, const B: usize>
    Run<SMatrix<T, NI, B>> for Flatten<C, H, N>
{
    type Elem = T;
    const ARENA: usize = 2 * NI * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { expect("Flatten", "the input size (its last parameter)", N, NI, "") };
        infer::step(arena, front, NI * B, NI * B, |x, y| {
            for (x, y) in x.chunks_exact(N).zip(y.chunks_exact_mut(N)) {
                Self::each(|i, o| y[o] = x[i]);
            }
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const H: usize, const N: usize, const NI: usize, const B: usize>
    Train<SMatrix<T, NI, B>> for Flatten<C, H, N>
{
    type Cache = ();

    #[inline]
    fn forward_train(&self, x: &SMatrix<T, NI, B>, _: &mut (), y: &mut SMatrix<T, NI, B>) {
        const { expect("Flatten", "the input size (its last parameter)", N, NI, "") };
        for (x, y) in x.as_slice().chunks_exact(N).zip(y.as_mut_slice().chunks_exact_mut(N)) {
            Self::each(|i, o| y[o] = x[i]);
        }
    }

    /// No parameters: nothing that could be non-finite.
    #[inline]
    fn backward<D: Dx>(
        &self,
        _x: &SMatrix<T, NI, B>,
        _y: &SMatrix<T, NI, B>,
        _cache: &(),
        dy: &SMatrix<T, NI, B>,
        _grads: &mut Self,
        _mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, NI, B>>> {
        D::backward(
            |dx: &mut SMatrix<T, NI, B>| {
                for (dy, dx) in dy.as_slice().chunks_exact(N).zip(dx.as_mut_slice().chunks_exact_mut(N)) {
                    Self::each(|i, o| dx[i] = dy[o]);
                }
            },
            true,
        )
    }
}
