//! The 2D convolution layers (`Conv2d`, `DepthwiseConv2d`): forward against
//! the textbook sum written out here (reading the weight tensor in the
//! column-major order of PyTorch's shape), and every backward pass against
//! finite differences and the adjoint identity (`stackprop::gradcheck`),
//! over a 1 × 1 map, kernel 1, kernel equal to the input, stride 2, padding
//! "same", non-square maps, one and several channels, batch 1 and > 1, and
//! more than 12 output positions (one block of `kernels::conv`); and the
//! variants of `Train::backward` against each other. 256 cases each.

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::gradcheck::Config;
use stackprop::module::{Elem, Module};
use stackprop::rng::{Init, Rng};
use stackprop::shape::conv_len;
use stackprop::{Conv2d, DepthwiseConv2d, Layer};

mod checks;
use checks::{layer, modes_agree};

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

fn mat<const R: usize, const C: usize>() -> impl Strategy<Value = M<R, C>> {
    prop::collection::vec(-2.0..2.0f64, R * C).prop_map(|v| M::from_column_slice(&v))
}

fn vals(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1.0..1.0f64, n)
}

/// A `Conv2d` with weights uniform in [−1, 1).
fn conv2d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
>() -> impl Strategy<Value = Conv2d<f64, CI, CO, K, S, P, H, W, NO>> {
    (vals(CO * CI * K * K), vals(CO)).prop_map(|(w, b)| {
        Conv2d::from_fn(|o, i, kh, kw| w[o + CO * (i + CI * (kh + K * kw))], |o| b[o])
    })
}

/// A `DepthwiseConv2d` with weights uniform in [−1, 1).
fn depthwise<
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
>() -> impl Strategy<Value = DepthwiseConv2d<f64, C, K, S, P, H, W, NO>> {
    (vals(C * K * K), vals(C))
        .prop_map(|(w, b)| DepthwiseConv2d::from_fn(|c, kh, kw| w[c + C * (kh + K * kw)], |c| b[c]))
}

/// The weight tensor's values (column-major order of its PyTorch shape).
fn weight<L: Module>(l: &L) -> &[f64] {
    l.tensor(0).and_then(f64::of).unwrap()
}

/// Where the input of tap `(kh, kw)` is for output position `(ho, wo)`, if
/// inside the `H × W` map.
fn at<const K: usize, const S: usize, const P: usize, const H: usize, const W: usize>(
    ho: usize,
    wo: usize,
    kh: usize,
    kw: usize,
) -> Option<(usize, usize)> {
    let h = (ho * S + kh) as isize - P as isize;
    let w = (wo * S + kw) as isize - P as isize;
    (0 <= h && h < H as isize && 0 <= w && w < W as isize).then_some((h as usize, w as usize))
}

/// `y[o, ho, wo] = b[o] + Σ_{i,kh,kw} W[o, i, kh, kw]·x[i, ho·S + kh − P,
/// wo·S + kw − P]`, written out; `(c, h, w)` at `c + C·(h + H·w)`.
fn conv2d_naive<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    c: &Conv2d<f64, CI, CO, K, S, P, H, W, NO>,
    x: &M<N, B>,
) -> M<NO, B> {
    let (ho_n, wo_n) = (conv_len(H, K, S, P, 1), conv_len(W, K, S, P, 1));
    assert_eq!((NO, N), (CO * ho_n * wo_n, CI * H * W));
    let wt = weight(c);
    M::from_fn(|r, b| {
        let (o, pos) = (r % CO, r / CO);
        let (ho, wo) = (pos % ho_n, pos / ho_n);
        let mut s = c.bias[o];
        for i in 0..CI {
            for kh in 0..K {
                for kw in 0..K {
                    if let Some((h, w)) = at::<K, S, P, H, W>(ho, wo, kh, kw) {
                        s += wt[o + CO * (i + CI * (kh + K * kw))] * x[(i + CI * (h + H * w), b)];
                    }
                }
            }
        }
        s
    })
}

/// `y[c, ho, wo] = b[c] + Σ_{kh,kw} W[c, 0, kh, kw]·x[c, ho·S + kh − P,
/// wo·S + kw − P]`, written out.
fn depthwise_naive<
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    d: &DepthwiseConv2d<f64, C, K, S, P, H, W, NO>,
    x: &M<N, B>,
) -> M<NO, B> {
    let (ho_n, wo_n) = (conv_len(H, K, S, P, 1), conv_len(W, K, S, P, 1));
    assert_eq!((NO, N), (C * ho_n * wo_n, C * H * W));
    let wt = weight(d);
    M::from_fn(|r, b| {
        let (c, pos) = (r % C, r / C);
        let (ho, wo) = (pos % ho_n, pos / ho_n);
        let mut s = d.bias[c];
        for kh in 0..K {
            for kw in 0..K {
                if let Some((h, w)) = at::<K, S, P, H, W>(ho, wo, kh, kw) {
                    s += wt[c + C * (kh + K * kw)] * x[(c + C * (h + H * w), b)];
                }
            }
        }
        s
    })
}

/// Forward equals the written-out sum (to rounding), the checker passes,
/// and the backward variants agree.
fn check_conv2d<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    c: &Conv2d<f64, CI, CO, K, S, P, H, W, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let y = c.forward(x);
    let want = conv2d_naive(c, x);
    prop_assert!((y - want).abs().max() <= 1e-12 * (1.0 + want.abs().max()), "{y} vs {want}");
    layer(c, x, seed, &Config::default())?;
    modes_agree(c, x, dy, &Conv2d::from_fn(|_, _, _, _| 0.5, |_| -0.5))
}

/// As [`check_conv2d`], for the depthwise convolution.
fn check_depthwise<
    const C: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const NO: usize,
    const N: usize,
    const B: usize,
>(
    d: &DepthwiseConv2d<f64, C, K, S, P, H, W, NO>,
    x: &M<N, B>,
    dy: &M<NO, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let y = d.forward(x);
    let want = depthwise_naive(d, x);
    prop_assert!((y - want).abs().max() <= 1e-12 * (1.0 + want.abs().max()), "{y} vs {want}");
    layer(d, x, seed, &Config::default())?;
    modes_agree(d, x, dy, &DepthwiseConv2d::from_fn(|_, _, _| 0.5, |_| -0.5))
}

/// `from_arrays` reads the nested arrays `export` writes (outermost index
/// the last PyTorch dimension) as `from_fn` reads the indices, and the
/// weight tensor is their column-major order.
#[test]
fn from_arrays_is_column_major() {
    let v = |o: usize, i: usize, kh: usize, kw: usize| (1000 * o + 100 * i + 10 * kh + kw) as f64;
    let w: [[[[f64; 3]; 2]; 2]; 2] = core::array::from_fn(|kw| {
        core::array::from_fn(|kh| {
            core::array::from_fn(|i| core::array::from_fn(|o| v(o, i, kh, kw)))
        })
    });
    let c = Conv2d::<f64, 2, 3, 2, 1, 0, 2, 3, 6>::from_arrays(w, [1.0, 2.0, 3.0]);
    assert_eq!(c, Conv2d::from_fn(v, |o| (o + 1) as f64));
    let flat: Vec<f64> = (0..2)
        .flat_map(|kw| {
            (0..2)
                .flat_map(move |kh| (0..2).flat_map(move |i| (0..3).map(move |o| v(o, i, kh, kw))))
        })
        .collect();
    assert_eq!(weight(&c), &flat[..]);
    assert_eq!(Conv2d::<f64, 2, 3, 2, 1, 0, 2, 3, 6>::DESC.tensors()[0].dims(), &[3, 2, 2, 2]);

    let v = |c: usize, kh: usize, kw: usize| (100 * c + 10 * kh + kw) as f64;
    let w: [[[[f64; 3]; 1]; 2]; 2] = core::array::from_fn(|kw| {
        core::array::from_fn(|kh| [core::array::from_fn(|c| v(c, kh, kw))])
    });
    let d = DepthwiseConv2d::<f64, 3, 2, 1, 0, 2, 3, 6>::from_arrays(w, [1.0, 2.0, 3.0]);
    assert_eq!(d, DepthwiseConv2d::from_fn(v, |c| (c + 1) as f64));
    let flat: Vec<f64> = (0..2)
        .flat_map(|kw| (0..2).flat_map(move |kh| (0..3).map(move |c| v(c, kh, kw))))
        .collect();
    assert_eq!(weight(&d), &flat[..]);
    assert_eq!(
        DepthwiseConv2d::<f64, 3, 2, 1, 0, 2, 3, 6>::DESC.tensors()[0].dims(),
        &[3, 1, 2, 2]
    );
}

/// `init` draws with PyTorch's fan-in (`CI·K²`; `K²` for the depthwise
/// convolution): `Init::Torch` is `U(±1/√fan_in)`, reaching close to the
/// bound with these many draws.
#[test]
fn init_fan_in() {
    let mut rng = Rng::new(7);
    let c = Conv2d::<f64, 4, 8, 3, 1, 1, 4, 4, 128>::init(&mut rng, Init::Torch);
    let m = weight(&c).iter().chain(c.bias.iter()).fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(m <= 1.0 / 6.0 && m > 0.9 / 6.0, "{m}");
    let d = DepthwiseConv2d::<f64, 64, 3, 1, 1, 4, 4, 1024>::init(&mut rng, Init::Torch);
    let m = weight(&d).iter().chain(d.bias.iter()).fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(m <= 1.0 / 3.0 && m > 0.9 / 3.0, "{m}");
}

proptest! {
    #[test]
    fn conv2d_smallest_and_kernel_1(s in any::<u64>(),
        a in (conv2d::<1, 1, 1, 1, 0, 1, 1, 1>(), mat::<1, 1>(), mat::<1, 1>()),       // 1 × 1 map
        b in (conv2d::<2, 3, 1, 1, 0, 2, 3, 18>(), mat::<12, 3>(), mat::<18, 3>())) {  // 18 positions
        check_conv2d(&a.0, &a.1, &a.2, s)?;
        check_conv2d(&b.0, &b.1, &b.2, s)?;
    }

    #[test]
    fn conv2d_same_and_stride_2(s in any::<u64>(),
        a in (conv2d::<2, 1, 3, 1, 1, 2, 3, 6>(), mat::<12, 1>(), mat::<6, 1>()),      // same
        b in (conv2d::<1, 1, 2, 2, 1, 3, 4, 6>(), mat::<12, 2>(), mat::<6, 2>())) {    // stride 2, padding 1
        check_conv2d(&a.0, &a.1, &a.2, s)?;
        check_conv2d(&b.0, &b.1, &b.2, s)?;
    }

    #[test]
    fn conv2d_kernel_equal_to_input_and_blocks(s in any::<u64>(),
        a in (conv2d::<2, 3, 2, 1, 0, 2, 2, 3>(), mat::<8, 1>(), mat::<3, 1>()),
        b in (conv2d::<1, 2, 1, 1, 0, 1, 1, 2>(), mat::<1, 13>(), mat::<2, 13>()),     // 13 > BLOCK
        c in (conv2d::<1, 1, 2, 1, 1, 2, 5, 18>(), mat::<10, 1>(), mat::<18, 1>())) {  // 18 positions
        check_conv2d(&a.0, &a.1, &a.2, s)?;
        check_conv2d(&b.0, &b.1, &b.2, s)?;
        check_conv2d(&c.0, &c.1, &c.2, s)?;
    }

    #[test]
    fn depthwise_smallest_and_kernel_1(s in any::<u64>(),
        a in (depthwise::<1, 1, 1, 0, 1, 1, 1>(), mat::<1, 1>(), mat::<1, 1>()),
        b in (depthwise::<3, 1, 1, 0, 2, 3, 18>(), mat::<18, 2>(), mat::<18, 2>())) {
        check_depthwise(&a.0, &a.1, &a.2, s)?;
        check_depthwise(&b.0, &b.1, &b.2, s)?;
    }

    #[test]
    fn depthwise_same_and_stride_2(s in any::<u64>(),
        a in (depthwise::<2, 3, 1, 1, 3, 5, 30>(), mat::<30, 1>(), mat::<30, 1>()),   // same
        b in (depthwise::<2, 3, 2, 1, 4, 5, 12>(), mat::<40, 1>(), mat::<12, 1>()),   // stride 2, padding 1
        c in (depthwise::<2, 2, 2, 0, 5, 4, 8>(), mat::<40, 2>(), mat::<8, 2>())) {   // stride 2
        check_depthwise(&a.0, &a.1, &a.2, s)?;
        check_depthwise(&b.0, &b.1, &b.2, s)?;
        check_depthwise(&c.0, &c.1, &c.2, s)?;
    }

    #[test]
    fn depthwise_kernel_equal_to_input(s in any::<u64>(),
        a in (depthwise::<2, 3, 1, 0, 3, 3, 2>(), mat::<18, 1>(), mat::<2, 1>()),
        b in (depthwise::<1, 2, 1, 0, 2, 2, 1>(), mat::<4, 13>(), mat::<1, 13>())) {
        check_depthwise(&a.0, &a.1, &a.2, s)?;
        check_depthwise(&b.0, &b.1, &b.2, s)?;
    }
}
