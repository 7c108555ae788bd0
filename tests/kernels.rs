//! The kernels equal a straightforward reference product for many static
//! shapes: 1, odd sizes, sizes that are not multiples of the SIMD width or of
//! the tile sizes, and inner dimensions above the packing block (128).
//!
//! Two properties per kernel and shape:
//! * on small integers (every product and partial sum is exact in `f32`)
//!   the result equals the reference **exactly**, whatever the summation
//!   order — this pins down indexing, tiling and edge handling;
//! * on random reals in `[-1, 1)` it is within rounding of the reference
//!   computed in `f64`: `|got − ref| ≤ ε·(Σ|aᵢbᵢ| + |start|)` with
//!   `ε = 1e-5` for `f32` (a sum of up to 257 terms rounds by at most
//!   ~257·2⁻²⁴ ≈ 1.5e-5 relative to `Σ|aᵢbᵢ|` in the worst case, far less in
//!   practice) and `ε = 1e-13` for `f64`.

use nalgebra::{SMatrix, SVector};
use proptest::prelude::*;
use stackprop::kernels;

/// Reference `Σ_k f(k)` and `Σ_k |f(k)|` in f64.
fn dot(n: usize, f: impl Fn(usize) -> f64) -> (f64, f64) {
    (0..n).fold((0.0, 0.0), |(s, a), k| (s + f(k), a + f(k).abs()))
}

fn close(got: f64, want: f64, scale: f64, eps: f64) -> bool {
    (got - want).abs() <= eps * scale + 1e-30
}

/// Values from a strategy of small integers or reals, as `f64`.
fn values(n: usize, ints: bool) -> BoxedStrategy<Vec<f64>> {
    if ints {
        prop::collection::vec((-8i32..8).prop_map(f64::from), n).boxed()
    } else {
        prop::collection::vec(-1.0f64..1.0, n).boxed()
    }
}

macro_rules! shape_tests {
    ($($name:ident: $o:literal, $i:literal, $b:literal;)*) => {$(
        mod $name {
            use super::*;
            const O: usize = $o;
            const I: usize = $i;
            const B: usize = $b;

            /// `affine`, `tr_matmul` and `matmul_tr_acc` of one layer's
            /// shapes against the reference, in `T`.
            fn check<T>(w: &[f64], x: &[f64], bias: &[f64], dy: &[f64], g0: &[f64], eps: f64, exact: bool)
            where
                T: stackprop::Real + Into<f64> + nalgebra::Scalar,
                f64: simba::scalar::SubsetOf<T>,
            {
                let cast = |v: f64| nalgebra::convert::<f64, T>(v);
                let wm = SMatrix::<T, O, I>::from_fn(|o, i| cast(w[o * I + i]));
                let xm = SMatrix::<T, I, B>::from_fn(|i, j| cast(x[i * B + j]));
                let bv = SVector::<T, O>::from_fn(|o, _| cast(bias[o]));
                let dym = SMatrix::<T, O, B>::from_fn(|o, j| cast(dy[o * B + j]));
                let g0m = SMatrix::<T, O, I>::from_fn(|o, i| cast(g0[o * I + i]));
                let f = |v: T| -> f64 { v.into() };
                let ok = |got: T, want: f64, scale: f64| {
                    if exact { f(got) == want } else { close(f(got), want, scale, eps) }
                };

                let y = kernels::affine(&wm, &xm, Some(&bv));
                let y0 = kernels::affine(&wm, &xm, None);
                // Into stale values (NaN, which any read would keep): the same bits.
                let mut yi = SMatrix::<T, O, B>::repeat(T::from_subset(&f64::NAN));
                kernels::affine_into(&wm, &xm, Some(&bv), &mut yi);
                assert!(yi == y, "affine_into != affine");
                kernels::affine_into(&wm, &xm, None, &mut yi);
                assert!(yi == y0, "affine_into without bias != affine");
                for o in 0..O {
                    for j in 0..B {
                        let (s, a) = dot(I, |i| f(wm[(o, i)]) * f(xm[(i, j)]));
                        let b = f(bv[o]);
                        assert!(ok(y[(o, j)], s + b, a + b.abs()), "affine ({o},{j}): {} vs {}", f(y[(o, j)]), s + b);
                        assert!(ok(y0[(o, j)], s, a), "affine no bias ({o},{j})");
                    }
                }

                let dx = kernels::tr_matmul(&wm, &dym);
                for i in 0..I {
                    for j in 0..B {
                        let (s, a) = dot(O, |o| f(wm[(o, i)]) * f(dym[(o, j)]));
                        assert!(ok(dx[(i, j)], s, a), "tr_matmul ({i},{j}): {} vs {s}", f(dx[(i, j)]));
                    }
                }

                let mut g = g0m;
                kernels::matmul_tr_acc(&mut g, &dym, &xm);
                // Written over stale values = accumulated into zeros, bit for bit.
                let mut fresh = g0m;
                kernels::matmul_tr(&mut fresh, &dym, &xm);
                let mut from_zero = SMatrix::<T, O, I>::zeros();
                kernels::matmul_tr_acc(&mut from_zero, &dym, &xm);
                assert!(fresh == from_zero, "matmul_tr != matmul_tr_acc from zero");
                let mut bsum = bv;
                kernels::row_sums(&mut bsum, &dym);
                let mut bsum0 = SVector::<T, O>::zeros();
                kernels::row_sums_acc(&mut bsum0, &dym);
                assert!(bsum == bsum0, "row_sums != row_sums_acc from zero");
                for o in 0..O {
                    for i in 0..I {
                        let (s, a) = dot(B, |j| f(dym[(o, j)]) * f(xm[(i, j)]));
                        let g0 = f(g0m[(o, i)]);
                        assert!(ok(g[(o, i)], g0 + s, a + g0.abs()), "matmul_tr_acc ({o},{i})");
                    }
                }
            }

            fn inputs(ints: bool) -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>)> {
                (values(O * I, ints), values(I * B, ints), values(O, ints), values(O * B, ints), values(O * I, ints))
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(16))]
                #[test]
                fn exact_on_integers_f32((w, x, b, dy, g0) in inputs(true)) {
                    check::<f32>(&w, &x, &b, &dy, &g0, 0.0, true);
                }
                #[test]
                fn exact_on_integers_f64((w, x, b, dy, g0) in inputs(true)) {
                    check::<f64>(&w, &x, &b, &dy, &g0, 0.0, true);
                }
                #[test]
                fn within_rounding_f32((w, x, b, dy, g0) in inputs(false)) {
                    check::<f32>(&w, &x, &b, &dy, &g0, 1e-5, false);
                }
                #[test]
                fn within_rounding_f64((w, x, b, dy, g0) in inputs(false)) {
                    check::<f64>(&w, &x, &b, &dy, &g0, 1e-13, false);
                }
            }
        }
    )*};
}

// out, in, batch
shape_tests! {
    s1x1x1: 1, 1, 1;
    s1x5x3: 1, 5, 3;
    s3x1x2: 3, 1, 2;
    s3x16x1: 3, 16, 1;
    s16x4x1: 16, 4, 1;
    s7x9x5: 7, 9, 5;
    s8x8x4: 8, 8, 4;
    s10x64x16: 10, 64, 16;
    s17x33x6: 17, 33, 6;
    s31x7x3: 31, 7, 3;
    s33x31x9: 33, 31, 9;
    s64x64x16: 64, 64, 16;
    s5x130x7: 5, 130, 7;
    s40x257x9: 40, 257, 9;
    s2x300x1: 2, 300, 1;
    s24x5x7: 24, 5, 7;
    s70x9x13: 70, 9, 13;
    // 16-lane paths under AVX-512 (32 rows or more): partial tiles of 2
    // and 3 vectors, a last vector of 1 or 2 lanes, column remainders of
    // 1, 2 and 4 for 12-column tiles; gemv and rank-one with 16 lanes.
    s96x20x14: 96, 20, 14;
    s81x12x25: 81, 12, 25;
    // The input gradient of a `W` over 16 KiB and at most 4096 values
    // (x86-64, f64: transposed block by block): `k` in chunks of 128 + 2
    // (130 × 31), in one chunk (70 × 40: blocks of 16 and 8 rows).
    s130x31x5: 130, 31, 5;
    s70x40x7: 70, 40, 7;
    s48x40x1: 48, 40, 1;
    s50x7x1: 50, 7, 1;
    // Batches above the weight gradient's block of samples (32 for 256
    // rows or more, 8192 / rows below): blocks of 32 + 32 + 6 and 81 + 9.
    s260x5x70: 260, 5, 70;
    s100x7x90: 100, 7, 90;
    // One sample, 1 to 4 rows, columns a multiple of 4 (AVX-512: four
    // partial sums per row in one register; s3x16x1 and s2x300x1 above
    // too): whole blocks of steps only (4 × 8), blocks and a last part
    // (3 × 20, 2 × 12), a last part only (1 × 12).
    s4x8x1: 4, 8, 1;
    s3x20x1: 3, 20, 1;
    s2x12x1: 2, 12, 1;
    s1x12x1: 1, 12, 1;
}

/// A value in [−1, 1) of stream `s` at index `i`, for the order tests.
fn order_value<T: stackprop::Real>(i: usize, s: usize) -> T
where
    f64: simba::scalar::SubsetOf<T>,
{
    T::from_subset(&(((i * 2_654_435_761 + s) % 1999) as f64 / 999.5 - 1.0))
}

/// `acc + p·q` as the kernels compute it: one rounding where they fuse
/// (x86-64 with FMA), two elsewhere.
fn kernel_madd<T: stackprop::Real>(mul_add: fn(T, T, T) -> T, p: T, q: T, acc: T) -> T {
    if cfg!(all(target_arch = "x86_64", target_feature = "fma")) {
        mul_add(p, q, acc)
    } else {
        acc + p * q
    }
}

/// Whether `got` and `want` hold the same values bit for bit.
fn same_bits<T: Copy + Into<f64>>(got: &[T], want: &[T]) -> bool {
    got.iter().zip(want).all(|(&g, &w)| g.into().to_bits() == w.into().to_bits())
}

/// `G += A·Bᵀ` adds each element's products in the order of the shared
/// index, from `G`'s old value, also across the blocks of samples the
/// x86-64 kernels split a big batch into: bit for bit the sequential loop
/// (fused multiply-adds where the kernels fuse: x86-64 with FMA), in `f32`
/// and `f64`.
#[test]
fn matmul_tr_acc_adds_in_sample_order() {
    fn check<T, const M: usize, const K: usize, const N: usize>(mul_add: fn(T, T, T) -> T)
    where
        T: stackprop::Real + nalgebra::Scalar + Into<f64>,
        f64: simba::scalar::SubsetOf<T>,
    {
        let a = Box::new(SMatrix::<T, M, N>::from_fn(|i, j| order_value(i * N + j, 1)));
        let b = Box::new(SMatrix::<T, K, N>::from_fn(|i, j| order_value(i * N + j, 2)));
        let mut g = Box::new(SMatrix::<T, M, K>::from_fn(|i, j| order_value(i * K + j, 3)));
        let mut want = g.clone();
        for i in 0..M {
            for k in 0..K {
                for n in 0..N {
                    want[(i, k)] = kernel_madd(mul_add, a[(i, n)], b[(k, n)], want[(i, k)]);
                }
            }
        }
        kernels::matmul_tr_acc(&mut *g, &*a, &*b);
        assert!(same_bits(g.as_slice(), want.as_slice()), "{M}x{K}x{N}");
    }
    check::<f32, 260, 5, 70>(f32::mul_add);
    check::<f32, 100, 7, 90>(f32::mul_add);
    check::<f32, 64, 64, 16>(f32::mul_add);
    check::<f64, 260, 5, 70>(f64::mul_add);
    check::<f64, 100, 7, 90>(f64::mul_add);
    check::<f64, 64, 64, 16>(f64::mul_add);
}

/// `Aᵀ·B` for an `A` of at most 4096 elements and more than one sample adds
/// each element's products in the order of `k`, from zero, also across the
/// chunks of `k` the x86-64 kernel splits a long `A` of over 16 KiB into
/// (`f64` 130 × 31): bit for bit the sequential loop (fused where the
/// kernels fuse), in `f32` and `f64`.
#[test]
fn small_tr_matmul_adds_in_order_of_k() {
    fn check<T, const K: usize, const M: usize, const N: usize>(mul_add: fn(T, T, T) -> T)
    where
        T: stackprop::Real + nalgebra::Scalar + Into<f64>,
        f64: simba::scalar::SubsetOf<T>,
    {
        let a = SMatrix::<T, K, M>::from_fn(|i, j| order_value(i * M + j, 1));
        let b = SMatrix::<T, K, N>::from_fn(|i, j| order_value(i * N + j, 2));
        let want = SMatrix::<T, M, N>::from_fn(|m, n| {
            (0..K).fold(T::zero(), |acc, k| kernel_madd(mul_add, a[(k, m)], b[(k, n)], acc))
        });
        let got = kernels::tr_matmul(&a, &b);
        assert!(same_bits(got.as_slice(), want.as_slice()), "{K}x{M}x{N}");
    }
    check::<f32, 130, 31, 5>(f32::mul_add);
    check::<f32, 70, 40, 7>(f32::mul_add);
    check::<f32, 64, 64, 16>(f32::mul_add);
    check::<f64, 130, 31, 5>(f64::mul_add);
    check::<f64, 70, 40, 7>(f64::mul_add);
    check::<f64, 64, 64, 16>(f64::mul_add);
}

/// The W2 layer (`784 → 256`, 800 KB of weights; the packed path of
/// `affine`) matches the reference on integer data. Run on a 64 MiB thread
/// because building the boxed operands in a debug build goes through the
/// stack.
#[test]
fn big_layer_matches_reference() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(big_layer)
        .expect("spawn")
        .join()
        .expect("big layer");
}

fn big_layer() {
    let w: Box<SMatrix<f32, 256, 784>> =
        Box::new(SMatrix::from_fn(|o, i| ((o * 7 + i * 3) % 5) as f32 - 2.0));
    let x = Box::new(SMatrix::<f32, 784, 4>::from_fn(|i, j| ((i + 2 * j) % 3) as f32 - 1.0));
    let dy = Box::new(SMatrix::<f32, 256, 4>::from_fn(|o, j| ((o + j) % 4) as f32 - 1.5));
    let y = kernels::affine(&*w, &*x, None);
    let dx = kernels::tr_matmul(&*w, &*dy);
    let mut g: Box<SMatrix<f32, 256, 784>> = Box::new(SMatrix::zeros());
    kernels::matmul_tr_acc(&mut *g, &*dy, &*x);
    for j in 0..4 {
        for o in (0..256).step_by(37) {
            let s: f32 = (0..784).map(|i| w[(o, i)] * x[(i, j)]).sum();
            assert_eq!(y[(o, j)], s);
        }
        for i in (0..784).step_by(101) {
            let s: f32 = (0..256).map(|o| w[(o, i)] * dy[(o, j)]).sum();
            assert_eq!(dx[(i, j)], s);
        }
    }
    for (o, i) in [(0, 0), (255, 783), (100, 400)] {
        let s: f32 = (0..4).map(|j| dy[(o, j)] * x[(i, j)]).sum();
        assert_eq!(g[(o, i)], s);
    }
}
