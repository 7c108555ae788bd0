//! The one-hidden-layer network of d2l section 5.3, its objective
//! `J = L + λ/2(‖W1‖²_F + ‖W2‖²_F)` and the gradients ∂J/∂W1, ∂J/∂W2
//! computed by the crate.
//!
//! ```sh
//! cargo run --example d2l_mlp
//! ```
//!
//! `z = W1·x`, `h = tanh(z)`, `o = W2·h`, `L = MSE(o, y)` (mean over the
//! entries), λ = 0.1, with d = 3 inputs, h = 4 hidden units, q = 2 outputs
//! and one sample: case A of `tests/seeds.rs`, whose numbers these are. Then
//! the variant with an (unregularized) hidden bias, tanh and softmax
//! cross-entropy on a batch of 3 (case C), which also prints ∂J/∂b1.
//! `python3 tools/d2l_reference.py` prints the same values, computed
//! independently; `tests/seeds.rs` checks them to 1e-12 relative.

use nalgebra::SMatrix;
use stackprop::loss::SoftmaxCrossEntropy;
use stackprop::prelude::*;

const LAMBDA: f64 = 0.1;
/// `W1` (4×3) and `W2` (2×4), row-major; the hidden bias `b1`.
const W1: [f64; 12] = [0.2, -0.5, 0.1, 0.7, 0.3, -0.4, -0.6, 0.8, 0.25, 0.15, -0.35, 0.9];
const W2: [f64; 8] = [0.5, -0.3, 0.8, -0.2, -0.45, 0.6, 0.1, 0.7];
const B1: [f64; 4] = [0.1, -0.2, 0.3, 0.05];
/// Three samples, one a row; MSE target of the first; class labels.
const XS: [[f64; 3]; 3] = [[1.0, -2.0, 0.5], [0.3, 0.8, -1.2], [-0.7, 0.4, 1.5]];
const Y0: [f64; 2] = [0.5, -1.0];
const LABELS: [usize; 3] = [1, 0, 1];

type NoBias = Seq![LinearNoBias<f64, 3, 4>, Tanh, LinearNoBias<f64, 4, 2>];
type HiddenBias = Seq![Linear<f64, 3, 4>, Tanh, LinearNoBias<f64, 4, 2>];

fn print_matrix<const R: usize, const C: usize>(name: &str, m: &SMatrix<f64, R, C>) {
    println!("{name} =");
    for r in 0..R {
        let row: Vec<String> = (0..C).map(|c| format!("{:>23.16e}", m[(r, c)])).collect();
        println!("  [{}]", row.join(", "));
    }
}

fn main() -> Result<(), Error> {
    // The weights as matrices (the constructors take column-major slices).
    let w1 = SMatrix::<f64, 4, 3>::from_row_slice(&W1);
    let w2 = SMatrix::<f64, 2, 4>::from_row_slice(&W2);

    // Case A: no bias, tanh, MSE, batch 1.
    let net: NoBias = seq![
        LinearNoBias::from_column_slice(w1.as_slice())?,
        Tanh,
        LinearNoBias::from_column_slice(w2.as_slice())?
    ];
    let x = SMatrix::<f64, 3, 1>::from_column_slice(&XS[0]);
    let y = SMatrix::<f64, 2, 1>::from_column_slice(&Y0);
    let mut tr: Trainer<f64, NoBias, _, _> = Trainer::new(Sgd::new(0.0)).with_l2(LAMBDA);
    let j = tr.gradient(&net, &Mse, &x, &y)?;
    println!("no bias, tanh, MSE, batch 1, lambda = {LAMBDA}");
    println!("J = {j:.16e}");
    print_matrix("dJ/dW1", &tr.backprop.grads.0.weight);
    print_matrix("dJ/dW2", &tr.backprop.grads.1.1.weight);

    // Case C: unregularized hidden bias, tanh, softmax cross-entropy, batch 3.
    let net: HiddenBias = seq![
        Linear::from_column_slices(w1.as_slice(), &B1)?,
        Tanh,
        LinearNoBias::from_column_slice(w2.as_slice())?
    ];
    let x = SMatrix::<f64, 3, 3>::from_fn(|i, c| XS[c][i]);
    let mut tr: Trainer<f64, HiddenBias, _, _> = Trainer::new(Sgd::new(0.0)).with_l2(LAMBDA);
    let j = tr.gradient(&net, &SoftmaxCrossEntropy, &x, &LABELS)?;
    println!("\nhidden bias (not regularized), tanh, softmax CE, batch 3, lambda = {LAMBDA}");
    println!("J = {j:.16e}");
    print_matrix("dJ/dW1", &tr.backprop.grads.0.weight);
    print_matrix("dJ/db1", &tr.backprop.grads.0.bias);
    print_matrix("dJ/dW2", &tr.backprop.grads.1.1.weight);
    Ok(())
}
