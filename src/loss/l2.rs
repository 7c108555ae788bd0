//! L2 weight decay as a term of the objective, as in the d2l seed (§5.3):
//! `J = L + s` with `s = λ/2 · Σ‖W‖²_F` over the weights (not the biases),
//! so `∂J/∂W` gains `λ·W`.
//!
//! ```
//! use stackprop::loss::l2;
//! use stackprop::{Linear, Zeros};
//! let model = Linear::<f64, 2, 1>::from_fn(|_, i| (i + 1) as f64, |_| 10.0);
//! assert_eq!(l2::penalty(&model, 0.5), 0.5 / 2.0 * (1.0 + 4.0)); // bias not counted
//! let mut g = Linear::<f64, 2, 1>::zeros();
//! l2::add_grad(&model, &mut g, 0.5);
//! assert_eq!((g.weight[1], g.bias[0]), (1.0, 0.0));
//! ```

use crate::module::Module;
use crate::params::{self, ParamKind};
use crate::scalar::{Real, is_finite, lit};

/// `λ/2 · Σ‖W‖²_F` over the weight tensors of `model`.
pub fn penalty<T: Real, M: Module<Scalar = T>>(model: &M, lambda: T) -> T {
    lambda * lit::<T>(0.5) * params::sum_squares(model, Some(ParamKind::Weight))
}

/// Adds `λ·W` into the gradient of every weight tensor (biases untouched).
pub fn add_grad<T: Real, M: Module<Scalar = T>>(model: &M, grads: &mut M, lambda: T) {
    let _ = add_grad_checked(model, grads, lambda);
}

/// [`add_grad`], returning whether every weight-gradient value it wrote is
/// known to be finite: the values go into [`params::PARTIALS`] partial
/// sums, whose total is finite only if they all are (a total that merely
/// overflows says `false`, which costs the caller a check, never a wrong
/// answer). [`Trainer`](crate::Trainer) then needs no pass of its own over
/// the gradient.
pub(crate) fn add_grad_checked<T: Real, M: Module<Scalar = T>>(
    model: &M,
    grads: &mut M,
    lambda: T,
) -> bool {
    const P: usize = params::PARTIALS;
    let mut acc = [T::zero(); P];
    // `zip` hands out the gradient mutably first: the model is the second.
    params::zip(grads, model, |kind, g: &mut [T], w| {
        if kind == ParamKind::Weight {
            let mut gb = g.chunks_exact_mut(P);
            let mut wb = w.chunks_exact(P);
            for (gb, wb) in (&mut gb).zip(&mut wb) {
                for ((g, &w), a) in gb.iter_mut().zip(wb).zip(&mut acc) {
                    *g += lambda * w;
                    *a += *g;
                }
            }
            let (gr, wr) = (gb.into_remainder(), wb.remainder());
            for ((g, &w), a) in gr.iter_mut().zip(wr).zip(&mut acc) {
                *g += lambda * w;
                *a += *g;
            }
        }
    });
    is_finite(acc.iter().fold(T::zero(), |s, &a| s + a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linear, Relu, Seq, seq};

    /// Weight tensors of 15 and 35 values (not multiples of `PARTIALS`).
    type Net = Seq![Linear<f32, 3, 5>, Relu, Linear<f32, 5, 7>];

    fn net(v: f32) -> Net {
        seq![Linear::from_fn(|_, _| v, |_| v), Relu, Linear::from_fn(|_, _| v, |_| v)]
    }

    /// `g + λ·w` on the weights, the biases untouched; "known finite" for
    /// finite results, never for an infinite or NaN one at any position.
    #[test]
    fn add_grad_checked_writes_add_grad_and_knows_finite() {
        let model = net(1.5);
        let mut g = net(0.25);
        assert!(add_grad_checked(&model, &mut g, 2.0));
        assert!(g.0.weight.iter().chain(g.1.1.weight.iter()).all(|&x| x == 3.25));
        assert!(g.0.bias.iter().chain(g.1.1.bias.iter()).all(|&x| x == 0.25));
        for (t, len) in [(0, 15), (2, 35)] {
            for i in 0..len {
                // f32::MAX + 1.5e32 rounds to +∞; the other sums stay finite
                for (bad, lambda) in [(f32::MAX, 1e32), (f32::NAN, 1.0), (f32::INFINITY, 1.0)] {
                    let mut g = net(0.25);
                    let Some(crate::module::DataMut::F32(s)) = g.tensor_mut(t) else { panic!() };
                    s[i] = bad;
                    assert!(!add_grad_checked(&model, &mut g, lambda), "{t} {i} {bad}");
                }
            }
        }
        // a NaN bias gradient is not add_grad's to check (backward's is)
        let mut g = net(0.25);
        g.0.bias[0] = f32::NAN;
        assert!(add_grad_checked(&model, &mut g, 2.0));
    }
}
