//! # stackprop
//!
//! Neural networks whose shapes are types, for microcontrollers and SIMD.
//!
//! A layer carries its dimensions as const generics and a batch is an
//! `SMatrix<T, N, B>` (one column per sample), so forward and backward
//! passes are monomorphized over fixed-size nalgebra matrices, every cache is
//! a plain value, and composing layers whose sizes do not fit is a compile
//! error. Nothing allocates. Every backward pass is written by hand next to
//! its forward pass and property-tested against finite differences.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::prelude::*;
//!
//! // 2 → 8 → 1, tanh hidden layer, trained on XOR with Adam.
//! type Net = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];
//! let mut rng = Rng::new(1);
//! let mut net: Net = seq![Linear::init(&mut rng, Init::XavierUniform), Tanh,
//!                         Linear::init(&mut rng, Init::XavierUniform)];
//! let x = SMatrix::<f32, 2, 4>::from_column_slice(&[0., 0., 0., 1., 1., 0., 1., 1.]);
//! let t = SMatrix::<f32, 1, 4>::from_column_slice(&[0., 1., 1., 0.]);
//! let mut trainer = Trainer::new(Adam::new(0.05));
//! let mut loss = 1.0;
//! for _ in 0..300 {
//!     loss = trainer.step(&mut net, &Mse, &x, &t).unwrap();
//! }
//! assert!(loss < 0.01, "{loss}");
//! ```
//!
//! # Features
//!
//! The parts a host uses and firmware rarely does are default features, so
//! a build with `default-features = false` compiles only what it needs:
//! `torch` (PyTorch `.safetensors` import, [`io::torch`]), `export` (models
//! as Rust source), `metrics` (accuracy, confusion matrices) and
//! `gradcheck` (the gradient checker). `simd` (off by default) makes
//! simba's SIMD packs scalars, for models trained in lockstep.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod data;
pub mod error;
#[cfg(feature = "export")]
pub mod export;
mod finite;
#[cfg(feature = "gradcheck")]
pub mod gradcheck;
pub mod infer;
pub mod io;
pub mod kernels;
mod lanes;
pub mod layer;
pub mod layers;
pub mod loss;
pub mod math;
pub mod memory;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod module;
pub mod ops;
pub mod optim;
pub mod params;
pub mod rng;
pub mod scalar;
pub mod seq;
pub mod shape;
pub mod train;
pub mod zeros;

pub use error::Error;
pub use layer::{Layer, Train};
pub use layers::all::*;
pub use module::{Module, ParamKind};
pub use scalar::Real;
pub use zeros::Zeros;

/// The names most programs need.
///
/// ```
/// use stackprop::prelude::*;
/// let _net: Seq![Linear<f32, 2, 2>, Relu] = seq![Linear::zeros(), Relu];
/// ```
pub mod prelude {
    pub use crate::data::{Batches, Dataset};
    pub use crate::layers::all::*;
    pub use crate::loss::{BceWithLogits, Loss, Mse, SoftmaxCrossEntropy};
    pub use crate::module::{Data, DataMut, Module};
    pub use crate::optim::{Adam, Momentum, Optimizer, Sgd};
    pub use crate::rng::{Init, Rng};
    pub use crate::train::{Backprop, Stop, Trainer, fit};
    pub use crate::{Error, Layer, ParamKind, Real, Train, Zeros};
    pub use crate::{Seq, seq};
}
