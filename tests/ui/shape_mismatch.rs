// A `Linear<f32, 4, 8>` (8 outputs) composed into a `Linear<f32, 9, 2>`
// (9 inputs) must not compile, and the error must name the mismatch.
use nalgebra::SMatrix;
use stackprop::{Layer, Linear, seq};

fn main() {
    let net = seq![Linear::<f32, 4, 8>::zeros(), Linear::<f32, 9, 2>::zeros()];
    let x = SMatrix::<f32, 4, 1>::zeros();
    // As a method call: "the trait bounds were not satisfied" names the
    // layer and the input it cannot take.
    let _y = net.forward(&x);
    // Through the trait: the `Layer` trait's own diagnostic.
    let _y = Layer::forward(&net, &x);
}
