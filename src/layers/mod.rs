//! Layers: modules with parameters ([`Linear`], [`LinearNoBias`]) and the
//! zero-sized activation layers.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::{seq, Layer, Linear, LinearNoBias, Sigmoid};
//! let net = seq![LinearNoBias::<f64, 2, 2>::from_fn(|i, j| (i == j) as u8 as f64), Sigmoid,
//!                Linear::<f64, 2, 1>::from_fn(|_, _| 1.0, |_| 0.0)];
//! let y = net.forward(&SMatrix::<f64, 2, 1>::zeros());
//! assert_eq!(y[0], 1.0); // σ(0) + σ(0)
//! ```

pub mod activation;
pub mod linear;
pub mod linear_no_bias;

pub use linear::Linear;
pub use linear_no_bias::LinearNoBias;
