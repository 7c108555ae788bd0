//! The convolution layers: forward against the textbook sum written out
//! here, and every backward pass against finite differences and the adjoint
//! identity (`stackprop::gradcheck`, as in `tests/gradients.rs`), over
//! stride 1 and 2, padding 0 and "same", dilation, kernel 1 and kernel
//! equal to the input, one and several channels, batch 1 and > 1; and the
//! variants of `Train::backward` against each other. 256 cases each.

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::gradcheck::Config;
use stackprop::{Conv1d, Layer};

mod checks;
use checks::{layer, modes_agree};

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

fn mat<const R: usize, const C: usize>() -> impl Strategy<Value = M<R, C>> {
    prop::collection::vec(-2.0..2.0f64, R * C).prop_map(|v| M::from_column_slice(&v))
}

fn vals(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1.0..1.0f64, n)
}

/// A `Conv1d` with weights uniform in [−1, 1).
fn conv1d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    const L: usize,
    const NO: usize,
>() -> impl Strategy<Value = Conv1d<f64, CI, CO, K, S, P, D, L, NO>> {
    (vals(CO * CI * K), vals(CO))
        .prop_map(|(w, b)| Conv1d::from_fn(|o, i, k| w[o + CO * (i + CI * k)], |o| b[o]))
}

/// `y[o, l] = b[o] + Σ_{i,k} W[o, i, k]·x[i, l·S + k·D − P]`, written out.
fn conv1d_naive<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    const L: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    c: &Conv1d<f64, CI, CO, K, S, P, D, L, NO>,
    x: &M<N, B>,
) -> M<NO, B> {
    let lo = NO / CO;
    M::from_fn(|r, b| {
        let (o, l) = (r % CO, r / CO);
        assert!(l < lo);
        let mut s = c.bias[o];
        for i in 0..CI {
            for k in 0..K {
                let pos = (l * S + k * D) as isize - P as isize;
                if pos >= 0 && (pos as usize) < L {
                    s += c.weight[k][(o, i)] * x[(i + CI * pos as usize, b)];
                }
            }
        }
        s
    })
}

/// Forward equals the written-out sum (to rounding), the checker passes,
/// and the backward variants agree.
fn check_conv1d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    const L: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    c: &Conv1d<f64, CI, CO, K, S, P, D, L, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let y = c.forward(x);
    let want = conv1d_naive(c, x);
    prop_assert!((y - want).abs().max() <= 1e-12 * (1.0 + want.abs().max()), "{y} vs {want}");
    layer(c, x, seed, &Config::default())?;
    modes_agree(c, x, dy, &Conv1d::from_fn(|_, _, _| 0.5, |_| -0.5))
}

proptest! {
    #[test]
    fn conv1d_smallest_and_kernel_1(s in any::<u64>(),
        a in (conv1d::<1, 1, 1, 1, 0, 1, 1, 1>(), mat::<1, 1>(), mat::<1, 1>()),
        b in (conv1d::<3, 2, 1, 1, 0, 1, 4, 8>(), mat::<12, 2>(), mat::<8, 2>())) {
        check_conv1d(&a.0, &a.1, &a.2, s)?;
        check_conv1d(&b.0, &b.1, &b.2, s)?;
    }

    #[test]
    fn conv1d_stride_padding_dilation(s in any::<u64>(),
        a in (conv1d::<2, 3, 3, 1, 1, 1, 5, 15>(), mat::<10, 1>(), mat::<15, 1>()),   // same
        b in (conv1d::<1, 2, 5, 2, 1, 1, 9, 8>(), mat::<9, 3>(), mat::<8, 3>()),      // stride 2
        c in (conv1d::<2, 2, 2, 2, 2, 3, 6, 8>(), mat::<12, 2>(), mat::<8, 2>())) { // dilation 3
        check_conv1d(&a.0, &a.1, &a.2, s)?;
        check_conv1d(&b.0, &b.1, &b.2, s)?;
        check_conv1d(&c.0, &c.1, &c.2, s)?;
    }

    #[test]
    fn conv1d_kernel_equal_to_input(s in any::<u64>(),
        a in (conv1d::<2, 3, 4, 1, 0, 1, 4, 3>(), mat::<8, 1>(), mat::<3, 1>()),
        b in (conv1d::<1, 4, 6, 2, 0, 1, 6, 4>(), mat::<6, 13>(), mat::<4, 13>())) { // 13 > BLOCK
        check_conv1d(&a.0, &a.1, &a.2, s)?;
        check_conv1d(&b.0, &b.1, &b.2, s)?;
    }
}
