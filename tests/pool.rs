//! The pooling layers and `Flatten`: forward against the window sums and
//! maxima written out here, every backward pass against finite differences
//! and the adjoint identity (`stackprop::gradcheck`, as in
//! `tests/gradients.rs`) and the variants of `Train::backward` against each
//! other, over kernel 1, kernel equal to the input, stride 1 and 2,
//! overlapping windows (`K > S`), one and several channels, batch 1 and
//! larger (up to 13), square and non-square 2D maps; 256 cases each.
//! `Flatten` is checked exactly against PyTorch's flattening formula and
//! `stackprop::shape::to_row_major`; small networks against PyTorch's own
//! outputs and input gradients; ties and NaN in max pooling against
//! PyTorch's choices; and the Rust export of every kind.
//!
//! Max pooling is not differentiable where two elements of a window are
//! equal: its inputs are drawn with all values of a sample distinct and at
//! least `2/N` apart (`N` ≤ 32 values), more than the `2·3e-3` by which the
//! checker's perturbations can move two of them towards each other.

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::gradcheck::Config;
use stackprop::layer::{Grads, WithDx};
use stackprop::module::Module;
use stackprop::shape::{conv_len, from_row_major, to_row_major};
use stackprop::{
    AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool, Layer, Linear, MaxPool1d, MaxPool2d, Train,
    Zeros, seq,
};

mod checks;
use checks::{layer, modes_agree};

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

fn mat<const R: usize, const C: usize>() -> impl Strategy<Value = M<R, C>> {
    prop::collection::vec(-2.0..2.0f64, R * C).prop_map(|v| M::from_column_slice(&v))
}

/// Samples whose `R` values are distinct and at least `2/R` apart: a
/// shuffled `0..R` with jitter below ½, scaled to `[−2, 2)`.
fn distinct<const R: usize, const C: usize>() -> impl Strategy<Value = M<R, C>> {
    let column =
        (Just((0..R).collect::<Vec<_>>()).prop_shuffle(), prop::collection::vec(0.0..0.5f64, R))
            .prop_map(|(rank, jitter)| {
                rank.iter()
                    .zip(jitter)
                    .map(|(&r, j)| -2.0 + 4.0 * (r as f64 + j) / R as f64)
                    .collect::<Vec<_>>()
            });
    prop::collection::vec(column, C).prop_map(|c| M::from_column_slice(&c.concat()))
}

/// The forward pass equals `want` (exactly for `tol = 0`), the checker
/// passes, and the backward variants agree.
fn check<L, const I: usize, const B: usize, const O: usize>(
    l: &L,
    x: &M<I, B>,
    dy: &M<O, B>,
    want: &M<O, B>,
    tol: f64,
    seed: u64,
) -> Result<(), TestCaseError>
where
    L: Train<M<I, B>, Output = M<O, B>, Cache = ()> + Module + Clone,
{
    let y = l.forward(x);
    prop_assert!((y - want).abs().max() <= tol * (1.0 + want.abs().max()), "{y} vs {want}");
    layer(l, x, seed, &Config::default())?;
    modes_agree(l, x, dy, l)
}

/// The values of sample `b` at the indices `idx`.
fn window<const N: usize, const B: usize>(x: &M<N, B>, b: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter().map(|&i| x[(i, b)]).collect()
}

fn max(v: Vec<f64>) -> f64 {
    v.into_iter().fold(f64::NEG_INFINITY, f64::max)
}

fn mean(v: Vec<f64>) -> f64 {
    let n = v.len() as f64;
    v.into_iter().sum::<f64>() / n
}

/// Indices of the windows of a 1D pooling: `(c, l)` is at `c + C·l`.
fn windows1d(c: usize, k: usize, s: usize, l: usize) -> Vec<Vec<usize>> {
    let lo = conv_len(l, k, s, 0, 1);
    (0..c * lo).map(|r| (0..k).map(|j| r % c + c * ((r / c) * s + j)).collect()).collect()
}

/// Indices of the windows of a 2D pooling: `(c, h, w)` is at
/// `c + C·(h + H·w)`, output positions likewise; taps row by row.
fn windows2d(c: usize, k: usize, s: usize, h: usize, w: usize) -> Vec<Vec<usize>> {
    let (ho, wo) = (conv_len(h, k, s, 0, 1), conv_len(w, k, s, 0, 1));
    let mut all = vec![];
    for r in 0..c * ho * wo {
        let (ch, q) = (r % c, r / c);
        let (oh, ow) = (q % ho, q / ho);
        let mut win = vec![];
        for i in 0..k {
            for j in 0..k {
                win.push(ch + c * ((oh * s + i) + h * (ow * s + j)));
            }
        }
        all.push(win);
    }
    all
}

/// The pooled batch: `f` of each window's values.
fn pooled<const N: usize, const NO: usize, const B: usize>(
    x: &M<N, B>,
    windows: &[Vec<usize>],
    f: fn(Vec<f64>) -> f64,
) -> M<NO, B> {
    assert_eq!(windows.len(), NO);
    M::from_fn(|r, b| f(window(x, b, &windows[r])))
}

fn max1d<
    const C: usize,
    const K: usize,
    const S: usize,
    const L: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    p: MaxPool1d<C, K, S, L, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    check(&p, x, dy, &pooled(x, &windows1d(C, K, S, L), max), 0.0, seed)
}

fn avg1d<
    const C: usize,
    const K: usize,
    const S: usize,
    const L: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    p: AvgPool1d<C, K, S, L, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    check(&p, x, dy, &pooled(x, &windows1d(C, K, S, L), mean), 1e-15, seed)
}

fn max2d<
    const C: usize,
    const K: usize,
    const S: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    p: MaxPool2d<C, K, S, H, W, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    check(&p, x, dy, &pooled(x, &windows2d(C, K, S, H, W), max), 0.0, seed)
}

fn avg2d<
    const C: usize,
    const K: usize,
    const S: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    p: AvgPool2d<C, K, S, H, W, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    check(&p, x, dy, &pooled(x, &windows2d(C, K, S, H, W), mean), 1e-15, seed)
}

/// `GlobalAvgPool<C>` is the mean of channel `c` over the `N/C` positions.
fn global<const C: usize, const N: usize, const B: usize>(
    x: &M<N, B>,
    dy: &M<C, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let windows: Vec<Vec<usize>> =
        (0..C).map(|c| (0..N / C).map(|p| c + C * p).collect()).collect();
    check(&GlobalAvgPool::<C>, x, dy, &pooled(x, &windows, mean), 1e-15, seed)
}

/// `Flatten<C, H, N>` moves `(c, h, w)` from `c + C·(h + H·w)` to
/// PyTorch's `c·H·W + h·W + w`, as `to_row_major` does (with `[C, L]` for
/// a 1D map); backward moves it back, as `from_row_major` does; exactly.
fn flatten<const C: usize, const H: usize, const N: usize, const B: usize>(
    x: &M<N, B>,
    dy: &M<N, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let f = Flatten::<C, H, N>::new();
    let w = N / (C * H);
    let mut want = M::<N, B>::zeros();
    for b in 0..B {
        for c in 0..C {
            for h in 0..H {
                for j in 0..w {
                    want[(c * H * w + h * w + j, b)] = x[(c + C * (h + H * j), b)];
                }
            }
        }
    }
    let mut dims = vec![C, H, w];
    if w == 1 {
        dims.pop(); // a 1D map [C, L]
    }
    let mut cache = ();
    let mut y = M::<N, B>::zeros();
    f.forward_train(x, &mut cache, &mut y);
    let dx = f.backward::<WithDx>(x, &y, &cache, dy, &mut f.clone(), Grads::Add).dx;
    for b in 0..B {
        let mut torch = [0.0; N];
        to_row_major(&dims, x.column(b).as_slice(), &mut torch);
        prop_assert_eq!(&torch[..], &y.as_slice()[b * N..(b + 1) * N]);
        let mut ours = [0.0; N];
        from_row_major(&dims, dy.column(b).as_slice(), &mut ours);
        prop_assert_eq!(&ours[..], &dx.as_slice()[b * N..(b + 1) * N]);
    }
    check(&f, x, dy, &want, 0.0, seed)
}

proptest! {
    #[test]
    fn max_pool1d_kernel_1_and_equal_to_input(s in any::<u64>(),
        a in (distinct::<1, 1>(), mat::<1, 1>()),
        b in (distinct::<15, 2>(), mat::<9, 2>()),    // 3 channels, kernel 1, stride 2
        c in (distinct::<4, 13>(), mat::<1, 13>())) { // kernel = input, batch 13
        max1d(MaxPool1d::<1, 1, 1, 1, 1>::new(), &a.0, &a.1, s)?;
        max1d(MaxPool1d::<3, 1, 2, 5, 9>::new(), &b.0, &b.1, s)?;
        max1d(MaxPool1d::<1, 4, 4, 4, 1>::new(), &c.0, &c.1, s)?;
    }

    #[test]
    fn max_pool1d_strides_and_overlaps(s in any::<u64>(),
        a in (distinct::<12, 3>(), mat::<8, 3>()),  // overlapping, stride 1
        b in (distinct::<14, 1>(), mat::<6, 1>()),  // overlapping, stride 2
        c in (distinct::<12, 2>(), mat::<6, 2>())) { // kernel = stride = 2
        max1d(MaxPool1d::<2, 3, 1, 6, 8>::new(), &a.0, &a.1, s)?;
        max1d(MaxPool1d::<2, 3, 2, 7, 6>::new(), &b.0, &b.1, s)?;
        max1d(MaxPool1d::<2, 2, 2, 6, 6>::new(), &c.0, &c.1, s)?;
    }

    #[test]
    fn avg_pool1d_shapes(s in any::<u64>(),
        a in (mat::<1, 1>(), mat::<1, 1>()),
        b in (mat::<15, 2>(), mat::<9, 2>()),   // 3 channels, kernel 1, stride 2
        c in (mat::<4, 13>(), mat::<1, 13>()),  // kernel = input, batch 13
        d in (mat::<12, 3>(), mat::<8, 3>()),   // overlapping, stride 1
        e in (mat::<14, 1>(), mat::<6, 1>())) { // overlapping, stride 2
        avg1d(AvgPool1d::<1, 1, 1, 1, 1>::new(), &a.0, &a.1, s)?;
        avg1d(AvgPool1d::<3, 1, 2, 5, 9>::new(), &b.0, &b.1, s)?;
        avg1d(AvgPool1d::<1, 4, 4, 4, 1>::new(), &c.0, &c.1, s)?;
        avg1d(AvgPool1d::<2, 3, 1, 6, 8>::new(), &d.0, &d.1, s)?;
        avg1d(AvgPool1d::<2, 3, 2, 7, 6>::new(), &e.0, &e.1, s)?;
    }

    #[test]
    fn max_pool2d_kernel_1_and_equal_to_input(s in any::<u64>(),
        a in (distinct::<1, 1>(), mat::<1, 1>()),
        b in (distinct::<30, 2>(), mat::<12, 2>()),   // kernel 1, stride 2, 3 × 5
        c in (distinct::<9, 5>(), mat::<1, 5>())) { // kernel = input
        max2d(MaxPool2d::<1, 1, 1, 1, 1, 1>::new(), &a.0, &a.1, s)?;
        max2d(MaxPool2d::<2, 1, 2, 3, 5, 12>::new(), &b.0, &b.1, s)?;
        max2d(MaxPool2d::<1, 3, 3, 3, 3, 1>::new(), &c.0, &c.1, s)?;
    }

    #[test]
    fn max_pool2d_strides_and_overlaps(s in any::<u64>(),
        a in (distinct::<24, 2>(), mat::<6, 2>()), // 2 × 2, stride 2, 4 × 6
        b in (distinct::<32, 1>(), mat::<8, 1>()), // 2 channels, 3 × 3, stride 1, 4 × 4
        c in (distinct::<20, 3>(), mat::<2, 3>())) { // 3 × 3, stride 2, 5 × 4
        max2d(MaxPool2d::<1, 2, 2, 4, 6, 6>::new(), &a.0, &a.1, s)?;
        max2d(MaxPool2d::<2, 3, 1, 4, 4, 8>::new(), &b.0, &b.1, s)?;
        max2d(MaxPool2d::<1, 3, 2, 5, 4, 2>::new(), &c.0, &c.1, s)?;
    }

    #[test]
    fn avg_pool2d_shapes(s in any::<u64>(),
        a in (mat::<1, 1>(), mat::<1, 1>()),
        b in (mat::<30, 2>(), mat::<12, 2>()),  // kernel 1, stride 2, 3 × 5
        c in (mat::<9, 5>(), mat::<1, 5>()),    // kernel = input
        d in (mat::<24, 2>(), mat::<6, 2>()),   // 2 × 2, stride 2, 4 × 6
        e in (mat::<32, 1>(), mat::<8, 1>()),   // 2 channels, 3 × 3, stride 1, 4 × 4
        f in (mat::<20, 3>(), mat::<2, 3>())) { // 3 × 3, stride 2, 5 × 4
        avg2d(AvgPool2d::<1, 1, 1, 1, 1, 1>::new(), &a.0, &a.1, s)?;
        avg2d(AvgPool2d::<2, 1, 2, 3, 5, 12>::new(), &b.0, &b.1, s)?;
        avg2d(AvgPool2d::<1, 3, 3, 3, 3, 1>::new(), &c.0, &c.1, s)?;
        avg2d(AvgPool2d::<1, 2, 2, 4, 6, 6>::new(), &d.0, &d.1, s)?;
        avg2d(AvgPool2d::<2, 3, 1, 4, 4, 8>::new(), &e.0, &e.1, s)?;
        avg2d(AvgPool2d::<1, 3, 2, 5, 4, 2>::new(), &f.0, &f.1, s)?;
    }

    #[test]
    fn global_avg_pool_shapes(s in any::<u64>(),
        a in (mat::<1, 1>(), mat::<1, 1>()),
        b in (mat::<12, 2>(), mat::<3, 2>()),   // 3 channels, 4 positions
        c in (mat::<12, 13>(), mat::<2, 13>()), // 2 channels of 2 × 3, batch 13
        d in (mat::<4, 1>(), mat::<4, 1>())) {  // one position
        global::<1, 1, 1>(&a.0, &a.1, s)?;
        global::<3, 12, 2>(&b.0, &b.1, s)?;
        global::<2, 12, 13>(&c.0, &c.1, s)?;
        global::<4, 4, 1>(&d.0, &d.1, s)?;
    }

    #[test]
    fn flatten_shapes(s in any::<u64>(),
        a in (mat::<1, 1>(), mat::<1, 1>()),
        b in (mat::<6, 2>(), mat::<6, 2>()),    // 1D: 2 channels of length 3
        c in (mat::<24, 1>(), mat::<24, 1>()),  // 3 channels of 2 × 4
        d in (mat::<8, 13>(), mat::<8, 13>()),  // 1D: 2 channels of length 4, batch 13
        e in (mat::<15, 2>(), mat::<15, 2>()),  // 1 channel of 5 × 3
        f in (mat::<12, 1>(), mat::<12, 1>())) { // 4 channels of 1 × 3
        flatten::<1, 1, 1, 1>(&a.0, &a.1, s)?;
        flatten::<2, 3, 6, 2>(&b.0, &b.1, s)?;
        flatten::<3, 2, 24, 1>(&c.0, &c.1, s)?;
        flatten::<2, 4, 8, 13>(&d.0, &d.1, s)?;
        flatten::<1, 5, 15, 2>(&e.0, &e.1, s)?;
        flatten::<4, 1, 12, 1>(&f.0, &f.1, s)?;
    }
}

/// `∂J/∂x` of a layer for `dy`.
fn dx<T, L, const N: usize, const O: usize, const B: usize>(
    l: &L,
    x: &SMatrix<T, N, B>,
    dy: &SMatrix<T, O, B>,
) -> SMatrix<T, N, B>
where
    T: stackprop::Real,
    L: Train<SMatrix<T, N, B>, Output = SMatrix<T, O, B>>,
{
    let mut cache = L::Cache::zeros();
    let mut y = SMatrix::zeros();
    l.forward_train(x, &mut cache, &mut y);
    l.backward::<WithDx>(x, &y, &cache, dy, &mut L::zeros(), Grads::Add).dx
}

/// Ties go to the first maximal element in PyTorch's order (row by row in
/// 2D), as PyTorch 2.15 does: `max_pool1d([1, 5, 5, 5], 3, 1)` puts both
/// gradients on element 1; `max_pool2d([[0, 7], [7, 1]], 2)` on `(0, 1)`,
/// which the crate stores after `(1, 0)`. Each channel has its own.
#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    let p = MaxPool1d::<1, 3, 1, 4, 2>::new();
    let x = M::<4, 1>::new(1.0, 5.0, 5.0, 5.0);
    assert_eq!(p.forward(&x), M::<2, 1>::new(5.0, 5.0));
    assert_eq!(dx(&p, &x, &M::<2, 1>::new(1.0, 2.0)), M::<4, 1>::new(0.0, 3.0, 0.0, 0.0));

    let p = MaxPool2d::<1, 2, 1, 2, 2, 1>::new();
    let x = M::<4, 1>::new(0.0, 7.0, 7.0, 1.0); // (0,0), (1,0), (0,1), (1,1)
    assert_eq!(dx(&p, &x, &M::<1, 1>::new(1.0)), M::<4, 1>::new(0.0, 0.0, 1.0, 0.0));

    // 2 channels: channel 0 ties at positions 1 and 2, channel 1 at 0 and 2
    let p = MaxPool1d::<2, 3, 3, 3, 2>::new();
    let x = M::<6, 1>::from_column_slice(&[1.0, 4.0, 3.0, 2.0, 3.0, 4.0]);
    assert_eq!(p.forward(&x), M::<2, 1>::new(3.0, 4.0));
    let want = M::<6, 1>::from_column_slice(&[0.0, 2.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(dx(&p, &x, &M::<2, 1>::new(1.0, 2.0)), want);
}

/// A window holding NaN gives NaN (PyTorch too) and its gradient goes to
/// its first NaN (PyTorch's to its last); other windows are unaffected.
#[test]
fn max_pool_nan() {
    let p = MaxPool1d::<1, 2, 2, 6, 3>::new();
    let x = M::<6, 1>::from_column_slice(&[f64::NAN, 1.0, 2.0, f64::NAN, 3.0, 4.0]);
    let y = p.forward(&x);
    assert!(y[0].is_nan() && y[1].is_nan());
    assert_eq!(y[2], 4.0);
    let want = M::<6, 1>::from_column_slice(&[1.0, 0.0, 0.0, 2.0, 0.0, 3.0]);
    assert_eq!(dx(&p, &x, &M::<3, 1>::new(1.0, 2.0, 3.0)), want);
}

/// `n` numbers written by `%.17g`.
fn numbers(s: &str) -> Vec<f64> {
    s.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

/// Runs `net` on PyTorch's input `x = sin(1.3·k + 0.1)` (`k` the row-major
/// index of the `[B, ..dims]` batch), and backward with
/// `dy = 0.5 + 0.25·k` (`k` the row-major index of `[B, O]`): the output
/// and `∂J/∂x` (in PyTorch's order) equal PyTorch's to 1e-13.
fn against_torch<L, const N: usize, const O: usize, const B: usize>(
    net: &L,
    dims: &[usize],
    want_y: &str,
    want_dx: &str,
) where
    L: Train<M<N, B>, Output = M<O, B>>,
{
    let mut x = M::<N, B>::zeros();
    for b in 0..B {
        let torch: Vec<f64> = (0..N).map(|k| (1.3 * (b * N + k) as f64 + 0.1).sin()).collect();
        from_row_major(dims, &torch, x.column_mut(b).as_mut_slice());
    }
    let dy = M::<O, B>::from_fn(|o, b| 0.5 + 0.25 * (b * O + o) as f64);
    let y = net.forward(&x);
    let ys: Vec<f64> = y.iter().copied().collect(); // column by column: row-major [B, O]
    let g = dx(net, &x, &dy);
    let mut gs = vec![0.0; N * B];
    for b in 0..B {
        to_row_major(dims, g.column(b).as_slice(), &mut gs[b * N..(b + 1) * N]);
    }
    for (got, want) in [(ys, numbers(want_y)), (gs, numbers(want_dx))] {
        assert_eq!(got.len(), want.len());
        for (k, (a, w)) in got.iter().zip(&want).enumerate() {
            assert!((a - w).abs() <= 1e-13 * (1.0 + w.abs()), "entry {k}: {a} vs PyTorch's {w}");
        }
    }
}

/// `nn.Linear(i, o)` with `W[r, c] = cos(0.7·(i·r + c))`, `b[r] = 0.1·r`.
fn torch_linear<const I: usize, const O: usize>() -> Linear<f64, I, O> {
    Linear::from_fn(|r, c| (0.7 * (I * r + c) as f64).cos(), |r| 0.1 * r as f64)
}

// PyTorch 2.15, float64 (the `_Y` values row-major over `[B, O]`, `_DX`
// over the input's `[B, ..]`), from this script:
//
// import math, torch
// from torch import nn
// torch.set_default_dtype(torch.float64)
// def lin(i, o):  # W[r, c] = cos(0.7·(i·r + c)), b[r] = 0.1·r
//     l = nn.Linear(i, o)
//     with torch.no_grad():
//         l.weight.copy_(torch.tensor([[math.cos(0.7 * (i * r + c)) for c in range(i)] for r in range(o)]))
//         l.bias.copy_(torch.tensor([0.1 * r for r in range(o)]))
//     return l
// class Mean(nn.Module):
//     def forward(self, x): return x.mean(dim=-1)
// def run(name, model, shape):  # x = sin(1.3·k + 0.1), u = 0.5 + 0.25·k (row-major k)
//     x = torch.tensor([math.sin(1.3 * k + 0.1) for k in range(math.prod(shape))]).reshape(shape).requires_grad_()
//     y = model(x)
//     (y * torch.tensor([0.5 + 0.25 * k for k in range(y.numel())]).reshape(y.shape)).sum().backward()
//     for what, t in (("y", y), ("dx", x.grad)):
//         print(name, what, " ".join("%.17g" % a for a in t.flatten().tolist()))
// run("A", nn.Sequential(nn.MaxPool2d(2, stride=1), nn.Flatten(), lin(12, 3)), (2, 2, 3, 4))
// run("B", nn.Sequential(nn.AvgPool1d(3, stride=2), nn.MaxPool1d(2, stride=1), nn.Flatten(), lin(9, 2)), (1, 3, 9))
// run("C", nn.Sequential(nn.MaxPool1d(3, stride=2), Mean(), lin(2, 2)), (2, 2, 7))
// run("D", nn.Sequential(nn.AvgPool2d(2, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), lin(2, 2)), (1, 2, 4, 4))
const A_Y: &str = "1.3558627258631777 -1.5246519446151914 0.53146391759137546 1.4575502869912453 -1.4226121910288185 0.32380018385077614";
const A_DX: &str = "0 -0.35014507799887878 0 0 0 0.38965221894657875 \
0.72850105959689149 0 0 0 0 0 \
0 0 0 -0.42724219762086124 -0.38923270396333204 -0.30759674166267514 \
0 0.18999682487633907 0 -0.10195053954321337 0 0 \
0 -0.3351205091449162 0 0 0 0.40341091993231748 \
0.53558164727995905 0 0 0 0 0.218642936422315 \
0 0 0 -0.43119841298119477 -0.40271113899883404 -0.32908668949427766 \
0 0 0 -0.074378770738230349 0.21673474178408081 0";
const B_Y: &str = "0.34121872474067266 0.45294508075823903";
const B_DX: &str = "0.41663132576252043 0.41663132576252043 0.41663132576252043 0 0.38262058412608074 0.38262058412608074 \
0.38262058412608074 0 0 -0.21396318096248054 -0.21396318096248054 -0.60793063827336813 \
-0.39396745731088761 -0.39396745731088761 0 -0.38868268257465455 -0.38868268257465455 -0.38868268257465455 \
0 0 -0.11875775803066474 -0.11875775803066474 -0.11875775803066474 0 \
0.32577855378696779 0.32577855378696779 0.32577855378696779";
const C_Y: &str = "1.3531327244848659 -0.12587347352374934 1.5336960741053254 -0.19362911471156405";
const C_DX: &str = "0 0.20915845239172692 0.20915845239172692 0 0 0 \
0.20915845239172692 0.001262171730783801 0 0 0 0.0025243434615676019 \
0 0 0 0 0.80830595241686753 0 \
0 0 0.40415297620843377 0.044594852178222344 0 0 \
0 0.089189704356444688 0 0";
const D_Y: &str = "0.080595507500994673 0.076075102994537389";
const D_DX: &str = "0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 \
0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 \
0.039217209823448798 0.039217209823448798 0.039217209823448798 0.039217209823448798 0.00023665719952196268 0.00023665719952196268 \
0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 \
0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 0.00023665719952196268 \
0.00023665719952196268 0.00023665719952196268";

/// Networks of pooling, `Flatten` and `Linear` give PyTorch's outputs and
/// input gradients, the `Linear`s holding PyTorch's own weights.
#[test]
fn torch_reference() {
    let a = seq![
        MaxPool2d::<2, 2, 1, 3, 4, 12>::new(),
        Flatten::<2, 2, 12>::new(),
        torch_linear::<12, 3>()
    ];
    against_torch::<_, 24, 3, 2>(&a, &[2, 3, 4], A_Y, A_DX);
    let b = seq![
        AvgPool1d::<3, 3, 2, 9, 12>::new(),
        MaxPool1d::<3, 2, 1, 4, 9>::new(),
        Flatten::<3, 3, 9>::new(),
        torch_linear::<9, 2>()
    ];
    against_torch::<_, 27, 2, 1>(&b, &[3, 9], B_Y, B_DX);
    let c = seq![MaxPool1d::<2, 3, 2, 7, 6>::new(), GlobalAvgPool::<2>, torch_linear::<2, 2>()];
    against_torch::<_, 14, 2, 2>(&c, &[2, 7], C_Y, C_DX);
    let d = seq![AvgPool2d::<2, 2, 2, 4, 4, 8>::new(), GlobalAvgPool::<2>, torch_linear::<2, 2>()];
    against_torch::<_, 32, 2, 1>(&d, &[2, 4, 4], D_Y, D_DX);
}

/// Every kind exports as its type with its dimensions and `new()`, and the
/// exported source compiles to the same model.
#[test]
fn export() {
    let model: Exported = seq![
        MaxPool2d::new(),
        AvgPool2d::new(),
        MaxPool1d::new(),
        AvgPool1d::new(),
        GlobalAvgPool::new(),
        Flatten::new(),
        Linear::from_fn(|_, _| 0.5, |_| 0.25)
    ];
    let mut src = String::new();
    stackprop::export::write_rust(&mut src, "Exported", "EXPORTED", &model).unwrap();
    assert_eq!(
        src,
        "/// The exported model's type.
pub type Exported = stackprop::Seq![
    stackprop::MaxPool2d<1, 2, 2, 4, 4, 4>,
    stackprop::AvgPool2d<1, 1, 1, 2, 2, 4>,
    stackprop::MaxPool1d<1, 1, 1, 4, 4>,
    stackprop::AvgPool1d<1, 2, 2, 4, 2>,
    stackprop::GlobalAvgPool<1>,
    stackprop::Flatten<1, 1, 1>,
    stackprop::Linear<f32, 1, 1>,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static EXPORTED: Exported = stackprop::seq![
    stackprop::MaxPool2d::<1, 2, 2, 4, 4, 4>::new(),
    stackprop::AvgPool2d::<1, 1, 1, 2, 2, 4>::new(),
    stackprop::MaxPool1d::<1, 1, 1, 4, 4>::new(),
    stackprop::AvgPool1d::<1, 2, 2, 4, 2>::new(),
    stackprop::GlobalAvgPool::<1>::new(),
    stackprop::Flatten::<1, 1, 1>::new(),
    stackprop::Linear::<f32, 1, 1>::from_columns([[0.5]], [0.25]),
];
"
    );
    assert_eq!(EXPORTED, model);
    let x = SMatrix::<f32, 16, 2>::from_fn(|i, b| (i * 7 % 16) as f32 - b as f32);
    assert_eq!(EXPORTED.forward(&x), model.forward(&x));
}

/// The weight file's signature names every kind with its dimensions: a
/// model loads its own file, and one with another stride is refused.
#[test]
fn saves_and_loads() {
    let model: Exported = EXPORTED.clone();
    let mut buf = [0u8; stackprop::io::file_size::<Exported>()];
    stackprop::io::save(&model, &mut buf).unwrap();
    let mut back = Exported::zeros();
    stackprop::io::load(&mut back, &buf).unwrap();
    assert_eq!(back, model);
    let mut other: stackprop::Seq![MaxPool2d<1, 2, 1, 4, 4, 9>, Linear<f32, 1, 1>] = Zeros::zeros();
    assert_eq!(
        stackprop::io::load(&mut other, &buf).unwrap_err().to_string(),
        "architecture mismatch at layer 0: the model has MaxPool2d(channels=1, kernel_size=2, \
         stride=1, height=4, width=4…, the file has MaxPool2d(channels=1, kernel_size=2, stride=2, \
         height=4, width=4…"
    );
}

pub type Exported = stackprop::Seq![
    stackprop::MaxPool2d<1, 2, 2, 4, 4, 4>,
    stackprop::AvgPool2d<1, 1, 1, 2, 2, 4>,
    stackprop::MaxPool1d<1, 1, 1, 4, 4>,
    stackprop::AvgPool1d<1, 2, 2, 4, 2>,
    stackprop::GlobalAvgPool<1>,
    stackprop::Flatten<1, 1, 1>,
    stackprop::Linear<f32, 1, 1>,
];

pub static EXPORTED: Exported = stackprop::seq![
    stackprop::MaxPool2d::<1, 2, 2, 4, 4, 4>::new(),
    stackprop::AvgPool2d::<1, 1, 1, 2, 2, 4>::new(),
    stackprop::MaxPool1d::<1, 1, 1, 4, 4>::new(),
    stackprop::AvgPool1d::<1, 2, 2, 4, 2>::new(),
    stackprop::GlobalAvgPool::<1>::new(),
    stackprop::Flatten::<1, 1, 1>::new(),
    stackprop::Linear::<f32, 1, 1>::from_columns([[0.5]], [0.25]),
];

/// Over a SIMD pack each lane pools as its own `f32` model, the arg-max
/// of max pooling included (lanes with different maxima and ties).
#[cfg(feature = "simd")]
#[test]
fn lanes_pool_independently() {
    use simba::simd::WideF32x8;
    use stackprop::scalar::SimdValue;
    let lane =
        |l: usize| SMatrix::<f32, 12, 2>::from_fn(|i, b| ((i * (l + 3) + 5 * b) % 7) as f32 - 3.0);
    let mut x = SMatrix::<WideF32x8, 12, 2>::repeat(WideF32x8::splat(0.0));
    let mut dy = SMatrix::<WideF32x8, 6, 2>::repeat(WideF32x8::splat(0.0));
    for l in 0..8 {
        x.iter_mut().zip(lane(l).iter()).for_each(|(w, &v)| w.replace(l, v));
        dy.iter_mut().enumerate().for_each(|(k, w)| w.replace(l, (k * (l + 1) % 5) as f32));
    }
    let p = MaxPool2d::<1, 2, 1, 3, 4, 6>::new();
    let (y, g) = (p.forward(&x), dx(&p, &x, &dy));
    for l in 0..8 {
        let dyl = dy.map(|v| v.extract(l));
        assert_eq!(y.map(|v| v.extract(l)), p.forward(&lane(l)), "lane {l}");
        assert_eq!(g.map(|v| v.extract(l)), dx(&p, &lane(l), &dyl), "lane {l}");
    }
}
