//! Stateless differentiable primitives with an explicit cache.
//!
//! Each op is a `forward` and a `backward` next to it; what backward needs
//! (the op's inputs or output) is passed back in by the caller, so an op
//! keeps no state. The scalar graph `g = (x + y)·z` of the classic worked
//! example of backpropagation:
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::ops::{add, mul};
//! let s = |v: f64| SMatrix::<f64, 1, 1>::new(v);
//! let (x, y, z) = (s(1.0), s(3.0), s(-3.0));
//! let p = add::forward(&x, &y);          // p = x + y = 4
//! let g = mul::forward(&p, &z);          // g = p·z = −12
//! let (dp, dz) = mul::backward(&p, &z, &s(1.0));
//! let (dx, dy) = add::backward(&dp);
//! assert_eq!((p[0], g[0]), (4.0, -12.0));
//! assert_eq!((dx[0], dy[0], dz[0]), (-3.0, -3.0, 4.0));
//! ```

pub mod activation;
pub mod add;
pub mod matmul;
pub mod mul;
