//! Activation layers: [`Relu`], [`Relu6`], [`LeakyRelu`], [`Sigmoid`],
//! [`Tanh`], [`Identity`].
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

use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{AnyScalar, Desc, Dtype, Module, Value};
use crate::ops::activation::{self as act, Activation};
pub use crate::ops::activation::{Identity, LeakyRelu, Relu, Relu6, Sigmoid, Tanh};
use crate::scalar::Real;
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::SMatrix;
use simba::scalar::SupersetOf;

/// `Layer` and `Train` for an activation `$ty` (`$g`: its generics).
macro_rules! activation_layer {
    ([$($g:tt)*], $ty:ty) => {
        impl<$($g)* const N: usize, const B: usize> Layer<SMatrix<T, N, B>> for $ty
        where
            $ty: Activation<T>,
        {
            type Output = SMatrix<T, N, B>;

            #[inline]
            fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
                act::forward(self, x)
            }
        }

        /// In an arena: in place.
        impl<$($g)* const N: usize, const B: usize> Run<SMatrix<T, N, B>> for $ty
        where
            $ty: Activation<T>,
        {
            type Elem = T;
            const ARENA: usize = N * B;

            #[inline]
            fn run(&self, arena: &mut [T], front: bool) -> bool {
                infer::in_place(arena, front, N * B, |v| v.iter_mut().for_each(|v| *v = self.apply(*v)))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<$($g)* const N: usize, const B: usize> Train<SMatrix<T, N, B>> for $ty
        where
            $ty: Activation<T>,
        {
            type Cache = ();

            #[inline]
            fn forward_train(&self, x: &SMatrix<T, N, B>, _: &mut (), y: &mut SMatrix<T, N, B>) {
                act::forward_into(self, x, y)
            }

            /// No parameters: nothing that could be non-finite.
            #[inline]
            fn backward<D: Dx>(
                &self,
                _x: &SMatrix<T, N, B>,
                y: &SMatrix<T, N, B>,
                _cache: &(),
                dy: &SMatrix<T, N, B>,
                _grads: &mut Self,
                _mode: Grads,
            ) -> Backward<D::Out<SMatrix<T, N, B>>> {
                D::backward(|dx| act::backward_into(self, y, dy, dx), true)
            }
        }
    };
}

/// The zero-sized activations: `Zeros`, `ConstZeros` and a description
/// without hyper-parameters.
macro_rules! unit_activation {
    ($($name:ident),*) => {$(
        activation_layer!([T: Real,], $name);

        impl Zeros for $name {
            #[inline]
            fn zeros() -> Self {
                $name
            }
            #[inline]
            fn set_zero(&mut self) {}
        }

        impl ConstZeros for $name {
            const ZEROS: Self = $name;
        }

        impl Module for $name {
            type Scalar = AnyScalar;
            const DESC: Desc = Desc::new(stringify!($name))
                .rust(concat!("stackprop::", stringify!($name)), "");
        }
    )*};
}

unit_activation!(Relu, Relu6, Sigmoid, Tanh, Identity);
activation_layer!([T: Real,], LeakyRelu<T>);

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

/// The slope is a value of the layer, `Module::value(0)` (lane 0 of a SIMD
/// pack); exported source builds it with `LeakyRelu::<T>::with_slope`.
impl<T: Real> Module for LeakyRelu<T> {
    /// No trained tensors: the slope is fixed.
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("LeakyRelu")
        .rust("stackprop::LeakyRelu", "with_slope")
        .scalar::<T>()
        .value("slope");

    fn value(&self, k: usize) -> Option<Value> {
        let a: f64 = self.alpha().extract(0).to_subset().unwrap_or(f64::NAN);
        match (k, T::DTYPE) {
            (0, Dtype::F64) => Some(Value::F64(a)),
            // an f32 lane widened to f64 and back is the same f32
            (0, _) => Some(Value::F32(a as f32)),
            _ => None,
        }
    }
}
