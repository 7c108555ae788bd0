//! Batch normalization (`BatchNorm`): the training map's gradients (batch
//! statistics) by the checker, its forward against the written-out batch
//! statistics, inference against the written-out formula, the running
//! statistics against PyTorch's update over several steps, on vectors, 1D
//! and 2D feature maps with one and several channels and batches of 1 to
//! 13; `Trainer::step` updating the running statistics through sequences
//! and residual blocks; weight files, exported source and PyTorch's own
//! numbers (tools/make_torch_batchnorm.py); folding into the layer before.

mod checks;

use checks::{layer, modes_agree};
use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::export::write_rust;
use stackprop::gradcheck::Config;
use stackprop::io::{self, file_size, torch};
use stackprop::layer::{Backward, Dx, Grads};
use stackprop::loss::l2;
use stackprop::module::{Desc, Size, Spec};
use stackprop::params;
use stackprop::prelude::*;
use stackprop::shape::{from_row_major, to_row_major};
use stackprop::train::{Stop, fit};
use std::ops::Range;

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

// ---------------------------------------------------------------------------
// The training map as a layer of its own

/// A layer whose inference is its training pass (batch statistics): what
/// the gradient checker, which compares `forward_train` with `forward`,
/// can check. Everything else is the wrapped layer's.
#[derive(Clone, Debug, PartialEq)]
struct TrainMode<L>(L);

impl<L: Zeros> Zeros for TrainMode<L> {
    fn zeros() -> Self {
        TrainMode(L::zeros())
    }
    fn set_zero(&mut self) {
        self.0.set_zero()
    }
}

impl<L: Module> Module for TrainMode<L> {
    type Scalar = L::Scalar;
    const DESC: Desc = L::DESC;
    const SIZE: Size = L::SIZE;
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        self.0.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        self.0.tensor_mut(i)
    }
    fn spec(i: usize) -> Option<&'static Spec> {
        L::spec(i)
    }
}

impl<L: Train<X>, X> Layer<X> for TrainMode<L> {
    type Output = L::Output;
    fn forward(&self, x: &X) -> L::Output {
        let (mut cache, mut y) = (L::Cache::zeros(), L::Output::zeros());
        self.0.forward_train(x, &mut cache, &mut y);
        y
    }
}

impl<L: Train<X>, X> Train<X> for TrainMode<L> {
    type Cache = L::Cache;
    fn forward_train(&self, x: &X, cache: &mut L::Cache, y: &mut L::Output) {
        self.0.forward_train(x, cache, y)
    }
    fn backward<D: Dx>(
        &self,
        x: &X,
        y: &L::Output,
        cache: &L::Cache,
        dy: &L::Output,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<X>> {
        self.0.backward::<D>(x, y, cache, dy, &mut grads.0, mode)
    }
}

// ---------------------------------------------------------------------------
// Strategies and written-out references

fn vals(n: usize, r: Range<f64>) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(r, n)
}

fn mat<const R: usize, const C: usize>(r: Range<f64>) -> impl Strategy<Value = M<R, C>> {
    vals(R * C, r).prop_map(|v| M::from_column_slice(&v))
}

/// A batch norm with every tensor and value random: γ of either sign,
/// running variance in [0.1, 3), ε in [1e-5, 0.1), momentum in [0, 1].
fn bn<const C: usize>() -> impl Strategy<Value = BatchNorm<f64, C>> {
    (
        vals(C, -2.0..2.0),
        vals(C, -1.0..1.0),
        vals(C, -1.0..1.0),
        vals(C, 0.1..3.0),
        (1e-5..0.1f64, 0.0..=1.0f64, 0..1000i64),
    )
        .prop_map(|(g, b, m, v, (eps, momentum, n))| BatchNorm {
            weight: M::from_column_slice(&g),
            bias: M::from_column_slice(&b),
            running_mean: M::from_column_slice(&m),
            running_var: M::from_column_slice(&v),
            num_batches_tracked: n,
            eps,
            momentum,
        })
}

/// The values of channel `c` in a batch of `C`-channel maps with `P = N/C`
/// positions: value `(c, p)` of sample `b` at row `c + C·p` of column `b`
/// (the crate's layout; for a 2D map `p = h + H·w`).
fn channel<const C: usize, const N: usize, const B: usize>(x: &M<N, B>, c: usize) -> Vec<f64> {
    (0..B).flat_map(|b| (0..N / C).map(move |p| x[(c + C * p, b)])).collect()
}

/// Mean, biased and unbiased variance of `v`.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let m = v.len() as f64;
    let mean = v.iter().sum::<f64>() / m;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, ss / m, ss / (m - 1.0))
}

/// Every channel of `x` spread out (biased variance at least 0.04): the
/// training map's curvature is `1/σ`, which must be large against the
/// checker's steps.
fn spread<const C: usize, const N: usize, const B: usize>(x: &M<N, B>) -> bool {
    (0..C).all(|c| stats(&channel::<C, N, B>(x, c)).1 >= 0.04)
}

fn close(a: f64, b: f64, tol: f64) -> Result<(), TestCaseError> {
    prop_assert!((a - b).abs() <= tol * (1.0 + b.abs()), "{} vs {}", a, b);
    Ok(())
}

// ---------------------------------------------------------------------------
// Property tests

/// One shape: `C` channels, `N/C` positions, batch `B`.
fn check<const C: usize, const N: usize, const B: usize>(
    bn: &BatchNorm<f64, C>,
    x: &M<N, B>,
    seed: u64,
) -> Result<(), TestCaseError> {
    // the training map's gradients, and the backward variants
    let tm = TrainMode(*bn);
    layer(&tm, x, seed, &Config::default())?;
    let dy = M::<N, B>::from_fn(|i, j| (i + 2 * j) as f64 * 0.3 - 0.5);
    let stale = BatchNorm { weight: bn.bias, bias: bn.running_mean, ..*bn };
    modes_agree(&tm, x, &dy, &TrainMode(stale))?;

    // training forward against the written-out batch statistics
    let y = tm.forward(x);
    for c in 0..C {
        let (mean, var, _) = stats(&channel::<C, N, B>(x, c));
        for b in 0..B {
            for p in 0..N / C {
                let i = c + C * p;
                let want = bn.weight[c] * (x[(i, b)] - mean) / (var + bn.eps).sqrt() + bn.bias[c];
                close(y[(i, b)], want, 1e-12)?;
            }
        }
    }

    // inference against the written-out formula
    let y = bn.forward(x);
    for (i, b) in (0..N).flat_map(|i| (0..B).map(move |b| (i, b))) {
        let c = i % C;
        let s = (bn.running_var[c] + bn.eps).sqrt();
        close(y[(i, b)], bn.weight[c] * (x[(i, b)] - bn.running_mean[c]) / s + bn.bias[c], 1e-12)?;
    }

    // running statistics over three steps, PyTorch's update written out
    let mut model = *bn;
    let (mut mean, mut var) = (bn.running_mean, bn.running_var);
    let batches = [*x, x.map(|v| 0.5 - 0.7 * v), x.map(|v| v * v - 1.0)];
    for xs in &batches {
        let (mut cache, mut y) = (Zeros::zeros(), M::<N, B>::zeros());
        model.forward_train(xs, &mut cache, &mut y);
        <BatchNorm<f64, C> as Train<M<N, B>>>::update_buffers(&mut model, &cache);
        let m = bn.momentum;
        for c in 0..C {
            let (bm, _, unbiased) = stats(&channel::<C, N, B>(xs, c));
            mean[c] = (1.0 - m) * mean[c] + m * bm;
            var[c] = (1.0 - m) * var[c] + m * unbiased;
        }
    }
    for c in 0..C {
        close(model.running_mean[c], mean[c], 1e-12)?;
        close(model.running_var[c], var[c], 1e-12)?;
    }
    prop_assert_eq!(model.num_batches_tracked, bn.num_batches_tracked + 3);
    // nothing else moved
    prop_assert_eq!((model.weight, model.bias), (bn.weight, bn.bias));
    prop_assert_eq!((model.eps, model.momentum), (bn.eps, bn.momentum));
    Ok(())
}

/// A batch of `N`-value samples whose channels are spread out.
fn input<const C: usize, const N: usize, const B: usize>() -> impl Strategy<Value = M<N, B>> {
    mat::<N, B>(-3.0..3.0).prop_filter("a channel without spread", spread::<C, N, B>)
}

proptest! {
    /// One channel: a vector of one value (batches 2 and 5), a 1D map of
    /// 4 positions (batch 1), a 2D map of 2 × 2 (batch 3).
    #[test]
    fn one_channel(s in any::<u64>(), bn in bn::<1>(), a in input::<1, 1, 2>(),
                   b in input::<1, 1, 5>(), c in input::<1, 4, 1>(), d in input::<1, 4, 3>()) {
        check(&bn, &a, s)?;
        check(&bn, &b, s)?;
        check(&bn, &c, s)?;
        check(&bn, &d, s)?;
    }

    /// `BatchNorm1d` on vectors of 3 features: batches 2, 4 and 13.
    #[test]
    fn vectors(s in any::<u64>(), bn in bn::<3>(), a in input::<3, 3, 2>(),
               b in input::<3, 3, 4>(), c in input::<3, 3, 13>()) {
        check(&bn, &a, s)?;
        check(&bn, &b, s)?;
        check(&bn, &c, s)?;
    }

    /// `BatchNorm1d` on 1D maps: 2 channels of 3 positions, batches 1 and
    /// 3; 3 channels of 2 positions, batch 2.
    #[test]
    fn maps_1d(s in any::<u64>(), bn2 in bn::<2>(), bn3 in bn::<3>(), a in input::<2, 6, 1>(),
               b in input::<2, 6, 3>(), c in input::<3, 6, 2>()) {
        check(&bn2, &a, s)?;
        check(&bn2, &b, s)?;
        check(&bn3, &c, s)?;
    }

    /// `BatchNorm2d` on 2D maps: 3 channels of 2 × 2 (batch 2), 2 channels
    /// of 2 × 3 (batch 1 and 2).
    #[test]
    fn maps_2d(s in any::<u64>(), bn2 in bn::<2>(), bn3 in bn::<3>(), a in input::<3, 12, 2>(),
               b in input::<2, 12, 1>(), c in input::<2, 12, 2>()) {
        check(&bn3, &a, s)?;
        check(&bn2, &b, s)?;
        check(&bn2, &c, s)?;
    }
}

// ---------------------------------------------------------------------------
// Folding into the layer before

fn linear<const I: usize, const O: usize>() -> impl Strategy<Value = Linear<f64, I, O>> {
    (mat::<O, I>(-1.0..1.0), mat::<O, 1>(-1.0..1.0))
        .prop_map(|(w, b)| Linear::from_fn(|o, i| w[(o, i)], |o| b[o]))
}

fn conv<
    const CI: usize,
    const CO: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const L: usize,
    const NO: usize,
>() -> impl Strategy<Value = Conv1d<f64, CI, CO, K, S, P, 1, L, NO>> {
    (vals(CO * CI * K, -1.0..1.0), vals(CO, -1.0..1.0))
        .prop_map(|(w, b)| Conv1d::from_fn(|o, i, k| w[o + CO * (i + CI * k)], |o| b[o]))
}

/// `folded(x)` is `bn(layer(x))` (inference) to 1e-12.
fn folds<L, const I: usize, const O: usize, const B: usize, const C: usize>(
    l: &L,
    bn: &BatchNorm<f64, C>,
    x: &M<I, B>,
) -> Result<(), TestCaseError>
where
    L: Layer<M<I, B>, Output = M<O, B>> + Module<Scalar = f64> + Clone,
{
    let want = bn.forward(&l.forward(x));
    let got = bn.fold_into(l).forward(x);
    for (a, b) in got.iter().zip(want.iter()) {
        close(*a, *b, 1e-12)?;
    }
    Ok(())
}

proptest! {
    /// Linear 3 → 4 (batch 3); Conv1d 2 → 3 channels, kernel 2, padding 1
    /// (length 5 → 6, batch 2); kernel 3, stride 2 (length 7 → 3, batch 1).
    #[test]
    fn fold_into_linear_and_conv1d(
        l in linear::<3, 4>(), bn4 in bn::<4>(), x in mat::<3, 3>(-3.0..3.0),
        c1 in conv::<2, 3, 2, 1, 1, 5, 18>(), c2 in conv::<2, 3, 3, 2, 0, 7, 9>(), bn3 in bn::<3>(),
        x1 in mat::<10, 2>(-3.0..3.0), x2 in mat::<14, 1>(-3.0..3.0),
    ) {
        folds(&l, &bn4, &x)?;
        folds(&c1, &bn3, &x1)?;
        folds(&c2, &bn3, &x2)?;
    }
}

// ---------------------------------------------------------------------------
// Training steps update the running statistics

type Net = Seq![Linear<f64, 3, 4>, BatchNorm<f64, 4>, Relu6, Linear<f64, 4, 2>];

fn net() -> Net {
    seq![
        Linear::from_fn(|o, i| ((o * 3 + i) as f64 * 0.7).sin(), |o| 0.1 * o as f64),
        BatchNorm { running_mean: [0.5, -0.5, 0.25, 0.0].into(), ..BatchNorm::<f64, 4>::new() },
        Relu6,
        Linear::from_fn(|o, i| ((o * 4 + i) as f64 * 1.3).cos(), |_| 0.0)
    ]
}

fn batch() -> (M<3, 5>, M<2, 5>) {
    (
        M::from_fn(|i, j| ((i * 5 + j) as f64 * 0.9).sin() * 2.0),
        M::from_fn(|i, j| (i + j) as f64 * 0.1),
    )
}

/// After a step the running statistics have taken in the batch statistics
/// of the batch norm's input (computed before the update), once; the
/// optimizer updated `γ` and `β` but no buffer; a failed step changes
/// nothing.
#[test]
fn trainer_step_updates_running_statistics() {
    let mut m = net();
    let (x, t) = batch();
    let z = m.0.forward(&x);
    let before = m.clone();
    let mut tr = Trainer::new(Sgd::new(0.1));
    tr.step(&mut m, &Mse, &x, &t).unwrap();
    let bn = &m.1.0;
    for c in 0..4 {
        let (mean, _, unbiased) = stats(&channel::<4, 4, 5>(&z, c));
        let want_mean = 0.9 * before.1.0.running_mean[c] + 0.1 * mean;
        assert!((bn.running_mean[c] - want_mean).abs() < 1e-15, "{c}");
        assert!((bn.running_var[c] - (0.9 + 0.1 * unbiased)).abs() < 1e-14, "{c}");
    }
    assert_eq!(bn.num_batches_tracked, 1);
    assert_ne!(bn.weight, before.1.0.weight);
    assert_ne!(bn.bias, before.1.0.bias);

    let snapshot = m.clone();
    let nan = M::<2, 5>::repeat(f64::NAN);
    assert!(tr.step(&mut m, &Mse, &x, &nan).is_err());
    assert_eq!(m, snapshot);

    // gradients alone never touch the buffers
    let mut bp = Backprop::new();
    bp.gradient(&m, &Mse, &x, &t).unwrap();
    assert_eq!(m, snapshot);
}

/// Through a residual block, and in `fit` (two steps an epoch).
#[test]
fn residual_blocks_and_fit_update_running_statistics() {
    type R = Seq![Linear<f64, 3, 4>, Residual<Seq![BatchNorm<f64, 4>, Tanh]>, Linear<f64, 4, 2>];
    let mut m: R = seq![
        Linear::from_fn(|o, i| ((o * 3 + i) as f64 * 0.7).sin(), |_| 0.0),
        Residual::new(seq![BatchNorm::default(), Tanh]),
        Linear::from_fn(|o, i| ((o * 4 + i) as f64 * 1.3).cos(), |_| 0.0)
    ];
    let (x, t) = batch();
    let mut tr = Trainer::new(Sgd::new(0.05));
    tr.step(&mut m, &Mse, &x, &t).unwrap();
    assert_eq!(m.1.0.inner.0.num_batches_tracked, 1);
    assert_ne!(m.1.0.inner.0.running_mean, M::<4, 1>::zeros());

    let xs: Vec<[f64; 3]> =
        (0..10).map(|k| [k as f64 * 0.3, (k as f64).sin(), 1.0 - k as f64 * 0.1]).collect();
    let ys: Vec<[f64; 2]> = (0..10).map(|k| [k as f64 * 0.1, 0.5]).collect();
    let data = Dataset::new(&xs, &ys[..]).unwrap();
    let mut tr: Trainer<f64, R, M<3, 5>, _> = Trainer::new(Sgd::new(0.05));
    let mut order = [0usize; 10];
    fit(
        &mut tr,
        &mut m,
        &Mse,
        &data,
        &mut order,
        &mut stackprop::rng::Rng::new(3),
        Stop::epochs(2),
        |_| {},
    )
    .unwrap();
    assert_eq!(m.1.0.inner.0.num_batches_tracked, 1 + 4);
}

/// `γ` and `β` are trained but, being of kind `Bias`, not decayed by the
/// L2 term; the running statistics are buffers.
#[test]
fn gamma_and_beta_are_not_decayed() {
    let mut m = net();
    m.1.0.weight = [2.0, 3.0, 4.0, 5.0].into();
    let w = m.0.weight.norm_squared() + m.1.1.1.weight.norm_squared();
    assert!((l2::penalty(&m, 1.0) - 0.5 * w).abs() < 1e-12);
    assert_eq!(params::len::<f64, Net>(), 3 * 4 + 4 + 2 * 4 + 4 * 2 + 2);
    let specs: Vec<_> =
        (2..7).map(|i| (Net::spec(i).unwrap().name, Net::spec(i).unwrap().kind)).collect();
    assert_eq!(
        specs,
        [
            ("weight", ParamKind::Bias),
            ("bias", ParamKind::Bias),
            ("running_mean", ParamKind::Buffer),
            ("running_var", ParamKind::Buffer),
            ("num_batches_tracked", ParamKind::Buffer),
        ]
    );
}

// ---------------------------------------------------------------------------
// Files, source, PyTorch

/// A weight file keeps the buffers, the counter and the values; a model
/// with another `eps` does not take it.
#[test]
fn saves_and_loads_buffers() {
    let mut m = net();
    let (x, t) = batch();
    let mut tr = Trainer::new(Sgd::new(0.1));
    for _ in 0..3 {
        tr.step(&mut m, &Mse, &x, &t).unwrap();
    }
    let mut buf = [0u8; file_size::<Net>()];
    io::save(&m, &mut buf).unwrap();
    let mut back = Net::zeros();
    io::load(&mut back, &buf).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.1.0.num_batches_tracked, 3);

    let mut other = Net::zeros();
    other.1.0.eps = 1e-3;
    let e = io::load(&mut other, &buf).unwrap_err().to_string();
    assert!(e.contains("eps"), "{e}");
}

/// The exported source builds the layer with `from_arrays` (values, then
/// tensors, the counter a bare integer); that text, compiled, is the model.
#[test]
fn exports_rust_source_that_compiles() {
    type Small = Seq![Linear<f32, 1, 2>, BatchNorm<f32, 2>, Relu6];
    let m: Small = seq![
        Linear::from_fn(|o, _| o as f32, |_| 0.5),
        BatchNorm::from_arrays(1e-5, 0.1, [1.5, -2.0], [0.25, 0.0], [0.5, -1.0], [2.0, 0.75], 3),
        Relu6
    ];
    let mut src = String::new();
    write_rust(&mut src, "Small", "SMALL", &m).unwrap();
    assert_eq!(
        src,
        "/// The exported model's type.
pub type Small = stackprop::Seq![
    stackprop::Linear<f32, 1, 2>,
    stackprop::BatchNorm<f32, 2>,
    stackprop::Relu6,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static SMALL: Small = stackprop::seq![
    stackprop::Linear::<f32, 1, 2>::from_columns([[0.0, 1.0]], [0.5, 0.5]),
    stackprop::BatchNorm::<f32, 2>::from_arrays(1e-5, 0.1, [1.5, -2.0], [0.25, 0.0], [0.5, -1.0], [2.0, 0.75], 3),
    stackprop::Relu6,
];
"
    );
    static SMALL: Small = stackprop::seq![
        stackprop::Linear::<f32, 1, 2>::from_columns([[0.0, 1.0]], [0.5, 0.5]),
        stackprop::BatchNorm::<f32, 2>::from_arrays(
            1e-5,
            0.1,
            [1.5, -2.0],
            [0.25, 0.0],
            [0.5, -1.0],
            [2.0, 0.75],
            3
        ),
        stackprop::Relu6,
    ];
    assert_eq!(SMALL, m);
}

/// tools/make_torch_batchnorm.py's
/// `nn.Sequential(Conv1d(2, 3, 2), BatchNorm1d(3, eps=0.01, momentum=0.25), ReLU6())`.
type Torch = Seq![Conv1d<f64, 2, 3, 2, 1, 0, 1, 5, 12>, BatchNorm<f64, 3>, Relu6];

/// `tag`'s lines of the reference file, as numbers.
fn lines(tag: &str) -> Vec<Vec<f64>> {
    include_str!("data/torch_batchnorm.ref.txt")
        .lines()
        .filter_map(|l| l.strip_prefix(tag).and_then(|l| l.strip_prefix(' ')))
        .map(|l| l.split(' ').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// PyTorch's state dict imports with every tensor matched (the counter
/// too); training passes give PyTorch's outputs with batch statistics and
/// its running statistics; evaluation gives its outputs with those.
#[test]
fn matches_pytorch() {
    let mut m = Torch::zeros();
    torch::load(&mut m, include_bytes!("data/torch_batchnorm.safetensors")).unwrap();
    assert_eq!(m.1.0.num_batches_tracked, 5);
    (m.1.0.eps, m.1.0.momentum) = (0.01, 0.25);

    let (t, y) = (lines("t"), lines("y"));
    assert_eq!((t.len(), y.len()), (3, 3 + 3));
    let same = |a: &[f64], b: &[f64]| {
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(b) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
        }
    };
    for (t, y) in t.iter().zip(&y) {
        let mut x = M::<10, 4>::zeros();
        for (b, s) in t.chunks(10).enumerate() {
            from_row_major(&[2, 5], s, x.column_mut(b).as_mut_slice());
        }
        let (mut cache, mut out) =
            (<Torch as Train<M<10, 4>>>::Cache::zeros(), M::<12, 4>::zeros());
        m.forward_train(&x, &mut cache, &mut out);
        <Torch as Train<M<10, 4>>>::update_buffers(&mut m, &cache);
        let mut got = vec![0.0; 48];
        for (b, g) in got.chunks_mut(12).enumerate() {
            to_row_major(&[3, 4], out.column(b).as_slice(), g);
        }
        same(&got, y);
    }
    same(m.1.0.running_mean.as_slice(), &lines("m")[0]);
    same(m.1.0.running_var.as_slice(), &lines("v")[0]);
    assert_eq!(lines("n"), [[8.0]]);
    assert_eq!(m.1.0.num_batches_tracked, 8);

    for (e, y) in lines("e").iter().zip(&y[3..]) {
        let mut x = M::<10, 1>::zeros();
        from_row_major(&[2, 5], e, x.as_mut_slice());
        let mut got = vec![0.0; 12];
        to_row_major(&[3, 4], m.forward(&x).as_slice(), &mut got);
        same(&got, y);
    }
}
