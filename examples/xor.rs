//! Trains a 2 → 8 → 1 network on XOR from a fixed seed to 100 % accuracy.
//!
//! ```sh
//! cargo run --release --example xor
//! ```
//!
//! The network is `Linear(2 → 8) → tanh → Linear(8 → 1)`, Xavier-initialized
//! from seed 7, its output a logit trained with binary cross-entropy on
//! logits and Adam (learning rate 0.05) on the whole data set (one
//! minibatch of 4) through [`stackprop::train::fit`], until the mean loss is
//! below 0.01 or 1,000 epochs have run. It prints the loss every 10 epochs,
//! then each input's predicted probability and class and the accuracy, and
//! exits with status 1 if the accuracy is below 100 %.

use nalgebra::SMatrix;
use stackprop::prelude::*;

type Net = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];

const XS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const YS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

fn main() -> Result<(), Error> {
    let mut rng = Rng::new(7);
    let mut net: Net = seq![
        Linear::init(&mut rng, Init::XavierUniform),
        Tanh,
        Linear::init(&mut rng, Init::XavierUniform)
    ];
    let data = Dataset::new(&XS, &YS[..])?;
    let mut trainer: Trainer<f32, Net, SMatrix<f32, 2, 4>, _> = Trainer::new(Adam::new(0.05));
    let mut order = [0usize; 4];
    let stop = Stop::epochs(1000).or_loss_below(0.01);
    let result =
        fit(&mut trainer, &mut net, &BceWithLogits, &data, &mut order, &mut rng, stop, |e| {
            if e.epoch == 1 || e.epoch % 10 == 0 {
                println!("epoch {:4}  loss {:.5}", e.epoch, e.loss);
            }
        })?;
    println!("stopped after epoch {} with loss {:.5}", result.last.epoch, result.last.loss);

    let mut correct = 0;
    for (x, y) in XS.iter().zip(&YS) {
        let logit = net.forward(&SMatrix::<f32, 2, 1>::from_column_slice(x))[0];
        let p = 1.0 / (1.0 + (-logit).exp());
        let class = if logit > 0.0 { 1.0 } else { 0.0 };
        correct += usize::from(class == y[0]);
        println!("{:?} -> p = {p:.4}, class {class}, target {}", x, y[0]);
    }
    let accuracy = 100.0 * correct as f64 / XS.len() as f64;
    println!("accuracy {accuracy:.0} %");
    if correct < XS.len() {
        std::process::exit(1);
    }
    Ok(())
}
