//! [`exp_f32`] and [`tanh_f32`] against `f64`'s `exp` and `tanh`
//! (correctly rounded to well below an `f32` ulp), over the whole range, at
//! the edges and for special values.

use super::{exp, exp_f32, tanh, tanh_f32};

/// Distance from `got` to the `f64` value `want`, in ulps of the `f32`
/// nearest `want` (the spacing at the subnormal minimum below it).
fn ulps(got: f32, want: f64) -> f64 {
    let w = want as f32;
    let spacing = if w == 0.0 || !w.is_normal() {
        f32::from_bits(1) as f64
    } else {
        let next = f32::from_bits(w.abs().to_bits() + 1) as f64;
        next - w.abs() as f64
    };
    (got as f64 - want).abs() / spacing
}

#[test]
fn within_one_ulp_everywhere() {
    // Every 97th float from -104 to 88.72: about 21 million values, all
    // exponents and mantissas. The worst seen was 0.96 ulp (at 4.54288);
    // a 2e-5 error in one coefficient makes it 2.9 ulp.
    let mut worst = (0.0f64, 0.0f32);
    let mut check = |x: f32| {
        let e = ulps(exp_f32(x), (x as f64).exp());
        if e > worst.0 {
            worst = (e, x);
        }
    };
    for bits in (0u32..=(104.0f32).to_bits()).step_by(97) {
        check(-f32::from_bits(bits));
    }
    for bits in (0u32..=(88.72f32).to_bits()).step_by(97) {
        check(f32::from_bits(bits));
    }
    assert!(worst.0 <= 1.0, "{} ulp at x = {:e}", worst.0, worst.1);
}

#[test]
fn edges_and_special_values() {
    assert_eq!(exp_f32(0.0), 1.0);
    assert_eq!(exp_f32(-0.0), 1.0);
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    assert_eq!(exp_f32(-1e30), 0.0);
    assert_eq!(exp_f32(1e30), f32::INFINITY);
    // The largest finite result and the first overflow (f64 reference:
    // e^88.72283 = 3.40279e38 < f32::MAX, e^88.72284 > f32::MAX).
    assert!(exp_f32(88.722_83).is_finite());
    assert_eq!(exp_f32(88.722_84), f32::INFINITY);
    assert_eq!(exp_f32(88.8), f32::INFINITY);
    // Subnormal results: e^-100 = 3.72e-44 is 27 times the smallest
    // subnormal 2^-149 = 1.4e-45; e^-103.97 rounds to it, e^-104 to 0.
    assert!(ulps(exp_f32(-100.0), (-100.0f64).exp()) <= 1.0);
    assert!(ulps(exp_f32(-90.0), (-90.0f64).exp()) <= 1.0);
    assert_eq!(exp_f32(-103.9), f32::from_bits(1));
    assert_eq!(exp_f32(-104.0), 0.0);
    // Monotone across the reduction's interval boundaries.
    for n in (-140..128).filter(|&n| n != 0) {
        let x = n as f32 * core::f32::consts::LN_2 * 0.5;
        let (a, b) = (f32::from_bits(x.to_bits() - 1), f32::from_bits(x.to_bits() + 1));
        let (lo, hi) = if x > 0.0 { (a, b) } else { (b, a) };
        assert!(exp_f32(lo) <= exp_f32(x) && exp_f32(x) <= exp_f32(hi), "at {x}");
    }
}

#[test]
fn exp_picks_the_f32_path_only_for_f32_lanes() {
    for x in [-3.5f32, -0.1, 0.0, 0.7, 20.0] {
        assert_eq!(exp(x).to_bits(), exp_f32(x).to_bits());
        assert_eq!(exp(x as f64), (x as f64).exp());
    }
}

#[test]
fn tanh_within_two_ulp_everywhere() {
    // Every 97th float from 0 to 10 (above 9.01, tanh rounds to 1 in f32),
    // both signs. The worst seen was 1.27 ulp (at 0.65055, just above the
    // switch to the exponential form, where `1 − 2/(e + 1)` cancels most).
    let mut worst = (0.0f64, 0.0f32);
    for bits in (0u32..=(10.0f32).to_bits()).step_by(97) {
        for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
            let e = ulps(tanh_f32(x), (x as f64).tanh());
            if e > worst.0 {
                worst = (e, x);
            }
        }
    }
    assert!(worst.0 <= 2.0, "{} ulp at x = {:e}", worst.0, worst.1);
}

#[test]
fn tanh_edges_and_special_values() {
    assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(tanh_f32(f32::from_bits(1)), f32::from_bits(1));
    assert_eq!(tanh_f32(-f32::from_bits(1)), -f32::from_bits(1));
    for x in [9.1f32, 20.0, 44.4, 44.5, 1e30, f32::MAX, f32::INFINITY] {
        assert_eq!((tanh_f32(x), tanh_f32(-x)), (1.0, -1.0), "at {x}");
    }
    assert!(tanh_f32(f32::NAN).is_nan());
    // Odd, and monotone across the switch between the two forms at 0.625.
    let at = 0.625f32;
    let (lo, hi) = (f32::from_bits(at.to_bits() - 1), f32::from_bits(at.to_bits() + 1));
    assert!(tanh_f32(lo) <= tanh_f32(at) && tanh_f32(at) <= tanh_f32(hi));
    for x in [1e-3f32, 0.3, 0.625, 0.9, 3.0] {
        assert_eq!(tanh_f32(-x), -tanh_f32(x));
    }
}

#[test]
fn tanh_picks_the_f32_path_only_for_f32_lanes() {
    for x in [-3.5f32, -0.1, 0.0, 0.7, 20.0] {
        assert_eq!(tanh(x).to_bits(), tanh_f32(x).to_bits());
        assert_eq!(tanh(x as f64), (x as f64).tanh());
    }
}

/// simba's `f32` packs get the bits of the `f32` functions in every lane.
#[cfg(feature = "simd")]
#[test]
fn packs_equal_f32_lane_by_lane() {
    use simba::simd::{WideF32x4, WideF32x8};
    let xs = [-90.0f32, -3.5, -0.7, -0.0, 1e-30, 0.6, 0.65, 2.0, 9.5, 88.0, f32::NAN];
    // The lanes `a` of a pack and its `exp` and `tanh`, as arrays.
    let check = |a: &[f32], e: &[f32], t: &[f32]| {
        for (l, &x) in a.iter().enumerate() {
            assert_eq!(e[l].to_bits(), exp_f32(x).to_bits(), "exp lane {l} of {a:?}");
            assert_eq!(t[l].to_bits(), tanh_f32(x).to_bits(), "tanh lane {l} of {a:?}");
        }
    };
    for w in xs.windows(8) {
        let p = WideF32x8::from_arr(w.try_into().unwrap());
        check(w, &exp(p).into_arr(), &tanh(p).into_arr());
    }
    for w in xs.windows(4) {
        let p = WideF32x4::from_arr(w.try_into().unwrap());
        check(w, &exp(p).into_arr(), &tanh(p).into_arr());
    }
}
