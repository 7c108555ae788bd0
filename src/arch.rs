//! A model's architecture, read off its type: the kinds and dimensions of
//! its layers, in order.
//!
//! Weight files carry this signature so a file saved from one network is
//! never loaded into another, and the Rust-source exporter uses it to name
//! each layer's type.
//!
//! ```
//! use stackprop::arch::{Arch, LayerDesc, LayerKind};
//! use stackprop::{Linear, Relu, Seq};
//! type Net = Seq![Linear<f32, 4, 16>, Relu, Linear<f32, 16, 3>];
//! assert_eq!(<Net as Arch>::LAYERS, 3);
//! let net = Net::default();
//! assert_eq!(net.layer(0), Some(LayerDesc::new(LayerKind::Linear, 4, 16)));
//! assert_eq!(net.layer(1).unwrap().kind, LayerKind::Relu);
//! assert_eq!(net.layer(3), None);
//! ```

use crate::layers::{Linear, LinearNoBias};
use crate::ops::activation::{Identity, LeakyRelu, Relu, Sigmoid, Tanh};
use crate::scalar::Real;
use simba::scalar::SupersetOf;

/// The kind of a layer.
///
/// ```
/// use stackprop::arch::LayerKind;
/// assert_eq!(LayerKind::from_code(LayerKind::Tanh.code()), Some(LayerKind::Tanh));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// [`Linear`]: dense with bias.
    Linear,
    /// [`LinearNoBias`]: dense without bias.
    LinearNoBias,
    /// [`Relu`].
    Relu,
    /// [`LeakyRelu`].
    LeakyRelu,
    /// [`Sigmoid`].
    Sigmoid,
    /// [`Tanh`].
    Tanh,
    /// [`Identity`].
    Identity,
}

impl LayerKind {
    /// A stable one-byte code (used in weight files).
    pub const fn code(self) -> u8 {
        match self {
            LayerKind::Linear => 1,
            LayerKind::LinearNoBias => 2,
            LayerKind::Relu => 16,
            LayerKind::LeakyRelu => 17,
            LayerKind::Sigmoid => 18,
            LayerKind::Tanh => 19,
            LayerKind::Identity => 20,
        }
    }

    /// The kind with code `c`, if any.
    pub const fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => LayerKind::Linear,
            2 => LayerKind::LinearNoBias,
            16 => LayerKind::Relu,
            17 => LayerKind::LeakyRelu,
            18 => LayerKind::Sigmoid,
            19 => LayerKind::Tanh,
            20 => LayerKind::Identity,
            _ => return None,
        })
    }

    /// The Rust type name (without generic arguments).
    ///
    /// ```
    /// assert_eq!(stackprop::arch::LayerKind::LinearNoBias.name(), "LinearNoBias");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            LayerKind::Linear => "Linear",
            LayerKind::LinearNoBias => "LinearNoBias",
            LayerKind::Relu => "Relu",
            LayerKind::LeakyRelu => "LeakyRelu",
            LayerKind::Sigmoid => "Sigmoid",
            LayerKind::Tanh => "Tanh",
            LayerKind::Identity => "Identity",
        }
    }
}

/// One layer of an architecture: its kind, its input and output dimensions
/// (`0` for shape-agnostic activation layers) and, for [`LeakyRelu`], its
/// slope.
///
/// ```
/// use stackprop::arch::{LayerDesc, LayerKind};
/// let d = LayerDesc::new(LayerKind::Linear, 784, 256);
/// assert_eq!((d.inputs, d.outputs, d.slope), (784, 256, 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerDesc {
    /// What the layer is.
    pub kind: LayerKind,
    /// Input dimension (0 for activations).
    pub inputs: usize,
    /// Output dimension (0 for activations).
    pub outputs: usize,
    /// Negative slope of a [`LeakyRelu`] (lane 0); 0 otherwise.
    pub slope: f64,
}

impl LayerDesc {
    /// A layer description with slope 0.
    pub const fn new(kind: LayerKind, inputs: usize, outputs: usize) -> Self {
        Self { kind, inputs, outputs, slope: 0.0 }
    }
}

/// A model whose layers can be listed: implemented by every layer of the
/// crate and by sequences of them.
///
/// ```
/// use stackprop::arch::Arch;
/// use stackprop::{LinearNoBias, Sigmoid, Seq};
/// assert_eq!(<Seq![LinearNoBias<f64, 2, 3>, Sigmoid] as Arch>::LAYERS, 2);
/// ```
pub trait Arch {
    /// Number of layers.
    const LAYERS: usize;
    /// Layer `i` (`None` past the end).
    fn layer(&self, i: usize) -> Option<LayerDesc>;
}

impl<A: Arch, C: Arch> Arch for (A, C) {
    const LAYERS: usize = A::LAYERS + C::LAYERS;
    fn layer(&self, i: usize) -> Option<LayerDesc> {
        if i < A::LAYERS { self.0.layer(i) } else { self.1.layer(i - A::LAYERS) }
    }
}

impl<T, const I: usize, const O: usize> Arch for Linear<T, I, O> {
    const LAYERS: usize = 1;
    fn layer(&self, i: usize) -> Option<LayerDesc> {
        (i == 0).then_some(LayerDesc::new(LayerKind::Linear, I, O))
    }
}

impl<T, const I: usize, const O: usize> Arch for LinearNoBias<T, I, O> {
    const LAYERS: usize = 1;
    fn layer(&self, i: usize) -> Option<LayerDesc> {
        (i == 0).then_some(LayerDesc::new(LayerKind::LinearNoBias, I, O))
    }
}

macro_rules! arch_activation {
    ($($t:ident),*) => {$(
        impl Arch for $t {
            const LAYERS: usize = 1;
            fn layer(&self, i: usize) -> Option<LayerDesc> {
                (i == 0).then_some(LayerDesc::new(LayerKind::$t, 0, 0))
            }
        }
    )*};
}
arch_activation!(Relu, Sigmoid, Tanh, Identity);

impl<T: Real> Arch for LeakyRelu<T> {
    const LAYERS: usize = 1;
    fn layer(&self, i: usize) -> Option<LayerDesc> {
        let slope = self.alpha().extract(0).to_subset().unwrap_or(0.0);
        (i == 0).then_some(LayerDesc { slope, ..LayerDesc::new(LayerKind::LeakyRelu, 0, 0) })
    }
}
