//! Checks shared by the property tests of backward passes
//! (`tests/gradients.rs`, `tests/conv.rs`, …): the gradient checker with a
//! count of what it compared, and the agreement of the variants of
//! `Train::backward`.

#![allow(dead_code)]

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::gradcheck::{self, Config, Failure, Location, Report};
use stackprop::layer::{Grads, NoDx, WithDx};
use stackprop::module::{Elem, Module};
use stackprop::rng::Rng;
use stackprop::{Train, Zeros};
use std::fmt::Debug;

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

pub fn fail(f: Failure) -> TestCaseError {
    TestCaseError::fail(format!("{f}\n{:#?}", f.report))
}

/// Checks a layer and that the checker compared every entry it should.
pub fn layer<L, const I: usize, const B: usize, const O: usize, const C: usize>(
    l: &L,
    x: &M<I, B>,
    seed: u64,
    cfg: &Config,
) -> Result<Report, TestCaseError>
where
    L: Train<M<I, B>, Output = M<O, C>> + Module + Clone,
{
    let r = gradcheck::check_layer(l, x, &mut Rng::new(seed), cfg).map_err(fail)?;
    let len = L::SIZE.params;
    let dirs = usize::from(I * B > 0) + usize::from(len > 0);
    prop_assert_eq!(r.evaluations, 6 * (I * B + len) + 18 * dirs);
    let (input_at, params_at) = (r.input.at, r.params.at);
    prop_assert!(matches!(input_at, Location::Input { .. }), "{:?}", input_at);
    let params_checked = matches!(params_at, Location::Param { .. });
    prop_assert_eq!(len > 0, params_checked);
    Ok(r)
}

/// The bits of every `f64` tensor of `g`, in order.
pub fn bits<L: Module>(g: &L) -> Vec<u64> {
    (0..L::SIZE.tensors)
        .filter_map(|i| g.tensor(i).and_then(f64::of))
        .flat_map(|t| t.iter().map(|v| v.to_bits()))
        .collect()
}

/// Whether every `f64` tensor of `g` is finite.
pub fn finite<L: Module>(g: &L) -> bool {
    bits(g).iter().all(|&b| f64::from_bits(b).is_finite())
}

/// `g` with every `f64` tensor filled with NaN (which any read would keep).
pub fn nans<L: Module + Clone>(g: &L) -> L {
    let mut g = g.clone();
    for i in 0..L::SIZE.tensors {
        if let Some(t) = g.tensor_mut(i).and_then(f64::of_mut) {
            t.fill(f64::NAN);
        }
    }
    g
}

/// The variants of `Train::backward` agree:
///
/// * `Grads::Write` over stale gradients (`stale`, any values, and all NaN)
///   gives bit for bit the parameter gradient `Grads::Add` adds to zeroed
///   ones, and the same input gradient;
/// * without the input gradient (`NoDx`, writing and adding) the same
///   parameter gradient;
/// * `.finite` is never `true` for a gradient that is not finite.
///
/// And `forward_train` gives `forward`'s output, also over a stale output
/// (`dy`'s values; the checker tries NaN) and a cache filled by a pass on
/// `−x`, where it also gives the cache of a pass into fresh values.
pub fn modes_agree<L, X>(l: &L, x: &X, dy: &L::Output, stale: &L) -> Result<(), TestCaseError>
where
    L: Train<X> + Module + Clone,
    L::Output: Clone + PartialEq + Debug,
    L::Cache: PartialEq + Debug,
    X: PartialEq + Debug + Clone + std::ops::Neg<Output = X>,
{
    let mut cache = L::Cache::zeros();
    let mut y = L::Output::zeros();
    l.forward_train(x, &mut cache, &mut y);
    prop_assert_eq!(&y, &l.forward(x));
    let mut stale_cache = L::Cache::zeros();
    let mut out = dy.clone();
    l.forward_train(&-x.clone(), &mut stale_cache, &mut out);
    out = dy.clone();
    l.forward_train(x, &mut stale_cache, &mut out);
    prop_assert_eq!(&out, &y);
    prop_assert_eq!(&stale_cache, &cache);

    let mut added = L::zeros();
    let a = l.backward::<WithDx>(x, &y, &cache, dy, &mut added, Grads::Add);
    prop_assert!(!a.finite || finite(&added), "known finite, but it is not");
    let mut added_params = L::zeros();
    let p = l.backward::<NoDx>(x, &y, &cache, dy, &mut added_params, Grads::Add);
    prop_assert_eq!(bits(&added_params), bits(&added));
    prop_assert!(!p.finite || finite(&added_params), "known finite, but it is not");
    for stale in [stale.clone(), nans(stale)] {
        let mut written = stale.clone();
        let w = l.backward::<WithDx>(x, &y, &cache, dy, &mut written, Grads::Write);
        prop_assert_eq!(bits(&written), bits(&added));
        prop_assert_eq!(&w.dx, &a.dx);
        prop_assert!(!w.finite || finite(&written), "known finite, but it is not");
        let mut written = stale;
        let w = l.backward::<NoDx>(x, &y, &cache, dy, &mut written, Grads::Write);
        prop_assert_eq!(bits(&written), bits(&added));
        prop_assert!(!w.finite || finite(&written), "known finite, but it is not");
    }
    Ok(())
}
