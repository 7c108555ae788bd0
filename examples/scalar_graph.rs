//! The scalar graph `g = (x + y)·z` of the classic worked example,
//! built from the stateless ops
//! [`stackprop::ops::add`] and [`stackprop::ops::mul`] on 1×1 matrices.
//!
//! ```sh
//! cargo run --example scalar_graph
//! ```
//!
//! Forward: `p = x + y`, `g = p·z`. Backward by the chain rule, starting
//! from `∂g/∂g = 1`: `mul::backward` gives `∂g/∂p = z` and `∂g/∂z = p`,
//! `add::backward` passes `∂g/∂p` on to both `x` and `y`. For x = 1, y = 3,
//! z = −3 it prints p = 4, g = −12, ∂g/∂x = −3, ∂g/∂y = −3, ∂g/∂z = 4
//! (`tests/seeds.rs` checks these exactly).

use nalgebra::SMatrix;
use stackprop::ops::{add, mul};

fn main() {
    let s = SMatrix::<f64, 1, 1>::new;
    let (x, y, z) = (s(1.0), s(3.0), s(-3.0));

    // Forward; each op's cache is just its inputs, kept by the caller.
    let p = add::forward(&x, &y);
    let g = mul::forward(&p, &z);
    println!("forward:  x = {}, y = {}, z = {}", x[0], y[0], z[0]);
    println!("          p = x + y = {}", p[0]);
    println!("          g = p * z = {}", g[0]);

    // Backward, in reverse order.
    let (dp, dz) = mul::backward(&p, &z, &s(1.0));
    let (dx, dy) = add::backward(&dp);
    println!("backward: dg/dp = {}", dp[0]);
    println!("          dg/dx = {}, dg/dy = {}, dg/dz = {}", dx[0], dy[0], dz[0]);
}
