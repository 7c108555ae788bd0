//! Plain stochastic gradient descent with weight decay.

use super::Optimizer;
use crate::module::Module;
use crate::params;
use crate::scalar::Real;

/// SGD: `p ← p − lr·(g + wd·p)`.
///
/// Weight decay (`wd`, default 0) applies to weights; with
/// [`Sgd::decay_biases`] it applies to biases too, which is PyTorch's
/// `SGD(weight_decay=wd)`. Stateless. On x86-64 a parameter the update
/// leaves below `2⁻¹⁰³` in magnitude (`f32`; `2⁻⁹⁷⁰` for `f64`) is stored
/// as 0: weight decay would otherwise walk a parameter with a zero
/// gradient into the subnormal numbers, each of which costs x86-64 a
/// microcode assist (see the optimizers' [module docs](super)).
///
/// ```
/// use stackprop::optim::Sgd;
/// let opt = Sgd::new(0.01f32).weight_decay(1e-4).decay_biases(true);
/// assert_eq!(opt.lr, 0.01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<T> {
    /// Learning rate.
    pub lr: T,
    /// Weight-decay coefficient.
    pub wd: T,
    /// Whether weight decay applies to biases as well as weights.
    pub decay_biases: bool,
}

impl<T: Real> Sgd<T> {
    /// SGD with learning rate `lr` and no weight decay.
    pub fn new(lr: T) -> Self {
        Self { lr, wd: T::zero(), decay_biases: false }
    }
    /// Sets the weight-decay coefficient.
    pub fn weight_decay(mut self, wd: T) -> Self {
        self.wd = wd;
        self
    }
    /// Chooses whether biases are decayed too.
    pub fn decay_biases(mut self, yes: bool) -> Self {
        self.decay_biases = yes;
        self
    }
}

impl<T: Real, M: Module<Scalar = T>> Optimizer<M> for Sgd<T> {
    type State = ();

    fn update(&self, model: &mut M, grads: &M, _: &mut ()) {
        params::zip(model, grads, |kind, p: &mut [T], g| {
            let wd = super::decay(kind, self.wd, self.decay_biases);
            for (p, &g) in p.iter_mut().zip(g) {
                *p = super::flush_tiny(*p - self.lr * (g + wd * *p));
            }
        });
    }
}
