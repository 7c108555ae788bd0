// A network over its memory budget must not compile, and the error must
// name the network, what it needs and the budget. The sine network
// 1 → 16 → 16 → 1 fits 2 KiB for inference but needs 5704 bytes to train
// one sample with Adam (`cargo run --example memory`).
use nalgebra::SMatrix;
use stackprop::prelude::*;

type Net = Seq![Linear<f32, 1, 16>, Tanh, Linear<f32, 16, 16>, Tanh, Linear<f32, 16, 1>];

stackprop::assert_fits!(Net, SMatrix<f32, 1, 1>, infer <= 2048);
stackprop::assert_fits!(Net, SMatrix<f32, 1, 1>, Adam<f32>, train <= 4096);

fn main() {}
