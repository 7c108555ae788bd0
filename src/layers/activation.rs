//! Activation layers: [`Relu`], [`LeakyRelu`], [`Sigmoid`], [`Tanh`],
//! [`Identity`].
//!
//! Each applies its [`Activation`] elementwise to any `SMatrix<T, N, B>`, so
//! one value fits after a layer of any width. They have no parameters; all
//! but `LeakyRelu` (which stores its slope) are zero-sized. Backward uses
//! the layer's output `y`, which the enclosing sequence keeps, so the
//! layers' own cache is `()`.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::{Layer, Relu};
//! assert_eq!(core::mem::size_of::<Relu>(), 0);
//! let y = Relu.forward(&SMatrix::<f32, 3, 1>::new(-1.0, 0.0, 2.0));
//! assert_eq!(y, SMatrix::<f32, 3, 1>::new(0.0, 0.0, 2.0));
//! ```

use crate::layer::Layer;
use crate::ops::activation::{self as act, Activation};
pub use crate::ops::activation::{Identity, LeakyRelu, Relu, Sigmoid, Tanh};
use crate::params::{ParamKind, Params};
use crate::scalar::Real;
use crate::zeros::Zeros;
use nalgebra::SMatrix;

macro_rules! activation_layer {
    ($name:ident, [$($g:tt)*], $ty:ty, $zeros:expr) => {
        impl<$($g)*> Zeros for $ty {
            #[inline]
            fn zeros() -> Self { $zeros }
            #[inline]
            fn set_zero(&mut self) {}
        }

        impl<$($g)* P> Params<P> for $ty {
            const TENSORS: usize = 0;
            const LEN: usize = 0;
            #[inline]
            fn tensor(&self, _: usize) -> Option<(ParamKind, &[P])> { None }
            #[inline]
            fn tensor_mut(&mut self, _: usize) -> Option<(ParamKind, &mut [P])> { None }
        }

        impl<T: Real, const N: usize, const B: usize> Layer<SMatrix<T, N, B>> for $name
        where $name: Activation<T>
        {
            type Output = SMatrix<T, N, B>;
            type Cache = ();

            #[inline]
            fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
                act::forward(self, x)
            }
            #[inline]
            fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut ()) -> SMatrix<T, N, B> {
                act::forward(self, x)
            }
            #[inline]
            fn forward_train_into(
                &self,
                x: &SMatrix<T, N, B>,
                _: &mut (),
                out: &mut SMatrix<T, N, B>,
            ) {
                act::forward_into(self, x, out)
            }
            #[inline]
            fn backward(
                &self,
                _x: &SMatrix<T, N, B>,
                y: &SMatrix<T, N, B>,
                _cache: &(),
                dy: &SMatrix<T, N, B>,
                _grads: &mut Self,
            ) -> SMatrix<T, N, B> {
                act::backward(self, y, dy)
            }
            #[inline]
            fn backward_params(&self, _: &SMatrix<T, N, B>, _: &SMatrix<T, N, B>, _: &(),
                               _: &SMatrix<T, N, B>, _: &mut Self) {}
            /// No parameters: nothing that could be non-finite.
            #[inline]
            fn backward_into_checked(&self, x: &SMatrix<T, N, B>, y: &SMatrix<T, N, B>,
                                     cache: &(), dy: &SMatrix<T, N, B>, grads: &mut Self)
                                     -> (SMatrix<T, N, B>, bool) {
                (self.backward(x, y, cache, dy, grads), true)
            }
            #[inline]
            fn backward_params_into_checked(&self, _: &SMatrix<T, N, B>, _: &SMatrix<T, N, B>,
                                            _: &(), _: &SMatrix<T, N, B>, _: &mut Self) -> bool {
                true
            }
        }
    };
}

activation_layer!(Relu, [], Relu, Relu);
activation_layer!(Sigmoid, [], Sigmoid, Sigmoid);
activation_layer!(Tanh, [], Tanh, Tanh);
activation_layer!(Identity, [], Identity, Identity);

macro_rules! const_zeros_activation {
    ($($name:ident),*) => {$(
        impl crate::zeros::ConstZeros for $name {
            const ZEROS: Self = $name;
        }
    )*};
}
const_zeros_activation!(Relu, Sigmoid, Tanh, Identity);

// The slope is a hyper-parameter, not a parameter: `zeros()` gives the
// default slope and `set_zero` keeps it, so a gradient or a freshly built
// model never turns a leaky ReLU into a plain one by accident.
impl<T: Real> Zeros for LeakyRelu<T> {
    #[inline]
    fn zeros() -> Self {
        Self::default()
    }
    #[inline]
    fn set_zero(&mut self) {}
}

impl<T: Real> Params<T> for LeakyRelu<T> {
    const TENSORS: usize = 0;
    const LEN: usize = 0;
    #[inline]
    fn tensor(&self, _: usize) -> Option<(ParamKind, &[T])> {
        None
    }
    #[inline]
    fn tensor_mut(&mut self, _: usize) -> Option<(ParamKind, &mut [T])> {
        None
    }
}

impl<T: Real, const N: usize, const B: usize> Layer<SMatrix<T, N, B>> for LeakyRelu<T> {
    type Output = SMatrix<T, N, B>;
    type Cache = ();

    #[inline]
    fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        act::forward(self, x)
    }
    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut ()) -> SMatrix<T, N, B> {
        act::forward(self, x)
    }
    #[inline]
    fn forward_train_into(&self, x: &SMatrix<T, N, B>, _: &mut (), out: &mut SMatrix<T, N, B>) {
        act::forward_into(self, x, out)
    }
    #[inline]
    fn backward(
        &self,
        _x: &SMatrix<T, N, B>,
        y: &SMatrix<T, N, B>,
        _cache: &(),
        dy: &SMatrix<T, N, B>,
        _grads: &mut Self,
    ) -> SMatrix<T, N, B> {
        act::backward(self, y, dy)
    }
    #[inline]
    fn backward_params(
        &self,
        _: &SMatrix<T, N, B>,
        _: &SMatrix<T, N, B>,
        _: &(),
        _: &SMatrix<T, N, B>,
        _: &mut Self,
    ) {
    }
    /// No parameters (the slope is fixed): nothing that could be non-finite.
    #[inline]
    fn backward_into_checked(
        &self,
        x: &SMatrix<T, N, B>,
        y: &SMatrix<T, N, B>,
        cache: &(),
        dy: &SMatrix<T, N, B>,
        grads: &mut Self,
    ) -> (SMatrix<T, N, B>, bool) {
        (self.backward(x, y, cache, dy, grads), true)
    }
    #[inline]
    fn backward_params_into_checked(
        &self,
        _: &SMatrix<T, N, B>,
        _: &SMatrix<T, N, B>,
        _: &(),
        _: &SMatrix<T, N, B>,
        _: &mut Self,
    ) -> bool {
        true
    }
}
