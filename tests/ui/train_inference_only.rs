// A model holding a layer that only infers (it implements `Layer`, and
// `Module`, but not `Train`) runs `forward`, but training it must not
// compile, and the error must be the `Train` trait's own: the layer
// "cannot be trained on" its input.
use nalgebra::SMatrix;
use stackprop::layer::Layer;
use stackprop::module::{AnyScalar, Desc, Module};
use stackprop::prelude::*;

/// `y = x / 2`, inference only.
#[derive(Clone, Copy, Debug, Default)]
struct Halve;

impl Module for Halve {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("Halve");
}

impl<const N: usize, const B: usize> Layer<SMatrix<f32, N, B>> for Halve {
    type Output = SMatrix<f32, N, B>;
    fn forward(&self, x: &SMatrix<f32, N, B>) -> SMatrix<f32, N, B> {
        x * 0.5
    }
}

type Net = Seq![Linear<f32, 2, 4>, Halve, Linear<f32, 4, 1>];

fn main() {
    let mut net: Net = seq![Linear::zeros(), Halve, Linear::zeros()];
    let x = SMatrix::<f32, 2, 8>::zeros();
    let _y = net.forward(&x); // inference compiles
    let t = SMatrix::<f32, 1, 8>::zeros();
    let mut trainer: Trainer<f32, Net, SMatrix<f32, 2, 8>, Sgd<f32>> = Trainer::new(Sgd::new(0.1));
    let _ = trainer.step(&mut net, &Mse, &x, &t);
}
