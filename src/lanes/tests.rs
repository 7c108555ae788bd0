use super::{add, add_assign, all_self_sub_zero, select_mul};

/// Values with every sign and class the loops could treat differently:
/// ±0, tiny, large, ±∞, NaN.
const VALUES: [f32; 11] =
    [0.0, -0.0, 1.5, -2.25, 1e-40, -3e38, 3e38, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.75];

fn pattern(n: usize, shift: usize) -> [f32; 40] {
    core::array::from_fn(|i| if i < n { VALUES[(i * 7 + shift) % VALUES.len()] } else { 9.0 })
}

fn bits(xs: &[f32]) -> [u32; 40] {
    let mut b = [0; 40];
    for (b, x) in b.iter_mut().zip(xs) {
        *b = x.to_bits();
    }
    b
}

/// Lengths around every chunk boundary, so both the 8-lane chunks and the
/// element-by-element rest are compared with the textbook loop, bit by bit.
#[test]
fn select_mul_equals_the_element_loop() {
    for n in 0..=33 {
        for (above, other) in [(1.0f32, 0.0f32), (1.0, 0.01), (-0.5, 2.0)] {
            let (y, g) = (pattern(n, 0), pattern(n, 3));
            let mut dz = [f32::NAN; 40];
            select_mul(&y[..n], &g[..n], &mut dz[..n], above, other);
            let mut expect = [f32::NAN; 40];
            for i in 0..n {
                expect[i] = if y[i] > 0.0 { above } else { other } * g[i];
            }
            assert_eq!(bits(&dz), bits(&expect), "n={n} above={above} other={other}");

            // The generic path (f64) agrees with f32's, value for value.
            let (y64, g64) = (y.map(f64::from), g.map(f64::from));
            let mut dz64 = [f64::NAN; 40];
            select_mul(&y64[..n], &g64[..n], &mut dz64[..n], above.into(), other.into());
            for i in 0..n {
                let e = expect[i];
                assert!(dz64[i] as f32 == e || e.is_nan() && dz64[i].is_nan(), "f64 n={n} i={i}");
            }
        }
    }
}

#[test]
fn add_assign_equals_the_element_loop() {
    for n in 0..=33 {
        let (mut v, a) = (pattern(n, 1), pattern(n, 5));
        let mut expect = v;
        for i in 0..n {
            expect[i] += a[i];
        }
        add_assign(&mut v[..n], &a[..n]);
        assert_eq!(bits(&v), bits(&expect), "n={n}");
    }
}

#[test]
fn add_equals_the_element_loop() {
    for n in 0..=33 {
        let (a, b) = (pattern(n, 2), pattern(n, 6));
        let mut out = [f32::NAN; 40];
        add(&a[..n], &b[..n], &mut out[..n]);
        let mut expect = [f32::NAN; 40];
        for i in 0..n {
            expect[i] = a[i] + b[i];
        }
        assert_eq!(bits(&out), bits(&expect), "n={n}");
    }
}

#[test]
fn all_self_sub_zero_is_finiteness() {
    for n in 0..=33 {
        for shift in 0..VALUES.len() {
            let xs = pattern(n, shift);
            let expect = xs[..n].iter().all(|x| x.is_finite());
            assert_eq!(all_self_sub_zero(&xs[..n]), expect, "n={n} shift={shift}");
            let x64 = xs.map(f64::from);
            assert_eq!(all_self_sub_zero(&x64[..n]), expect, "f64 n={n} shift={shift}");
        }
    }
}
