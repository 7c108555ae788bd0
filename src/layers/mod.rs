//! Layers, one kind per file: dense ([`Linear`], [`LinearNoBias`]),
//! convolutions ([`Conv1d`], [`Conv2d`], [`DepthwiseConv2d`]), pooling
//! ([`Pool1d`] and [`Pool2d`] as [`MaxPool1d`], [`AvgPool1d`],
//! [`MaxPool2d`], [`AvgPool2d`]; [`GlobalAvgPool`]), [`Flatten`], [`BatchNorm`], the activation layers,
//! and the residual block ([`Residual`]). Feature maps have one layout for
//! every layer ([`crate::shape`]).
//!
//! A layer kind is its own file here and one name in the list below: the
//! list declares the file as a module and re-exports its items into
//! [`all`] (which the crate root and the prelude re-export). Nothing else in
//! the crate names layer kinds: weight files, PyTorch import and Rust
//! export read each layer's own description ([`crate::module`]).
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::{seq, Layer, Linear, LinearNoBias, Sigmoid};
//! let net = seq![LinearNoBias::<f64, 2, 2>::from_fn(|i, j| (i == j) as u8 as f64), Sigmoid,
//!                Linear::<f64, 2, 1>::from_fn(|_, _| 1.0, |_| 0.0)];
//! let y = net.forward(&SMatrix::<f64, 2, 1>::zeros());
//! assert_eq!(y[0], 1.0); // σ(0) + σ(0)
//! ```

/// Declares each layer file as a public module and re-exports its items in
/// [`all`].
macro_rules! layers {
    ($($m:ident),* $(,)?) => {
        $(pub mod $m;)*

        /// Every layer type of the crate (re-exported by the crate root
        /// and the prelude).
        pub mod all {
            $(pub use super::$m::*;)*
        }
    };
}

layers! {
    activation,
    batch_norm,
    conv1d,
    conv2d,
    depthwise_conv2d,
    flatten,
    global_avg_pool,
    linear,
    linear_no_bias,
    pool1d,
    pool2d,
    residual,
}

pub use all::*;
