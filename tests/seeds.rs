//! The worked examples of backpropagation (the scalar graph and the d2l
//! one-hidden-layer network), reproduced with the crate.
//!
//! 1. The scalar graph `g = (x + y)·z` built from [`stackprop::ops`]: for
//!    x = 1, y = 3, z = −3 the forward values p = 4, g = −12 and the
//!    gradients ∂g/∂x = −3, ∂g/∂y = −3, ∂g/∂z = 4, exactly, in f64 and f32.
//! 2. The one-hidden-layer MLP of d2l section 5.3 (without bias, and with an
//!    unregularized hidden bias): the crate's objective `J = L + λ/2(‖W1‖²_F
//!    + ‖W2‖²_F)` and its gradients against
//!    (a) equations 5.3.8–5.3.14 written out below with plain `f64` arrays
//!        and loops (no stackprop, no nalgebra arithmetic), and
//!    (b) golden values printed by `tools/d2l_reference.py` (plain Python),
//!    to 1e-12 relative, through both `Trainer::gradient` and the low-level
//!    path: `forward_train`, `backward::<NoDx>` adding (`Grads::Add`) and
//!    `loss::l2`.
//!
//! Choices for the d2l network (the seed leaves φ and l open): d = 3 inputs,
//! h = 4 hidden units, q = 2 outputs, λ = 0.1, and four cases
//!
//! | case | hidden bias | φ       | l                               | batch |
//! |------|-------------|---------|---------------------------------|-------|
//! | A    | no          | tanh    | MSE (mean over q·B entries)     | 1     |
//! | B    | no          | tanh    | softmax cross-entropy (mean)    | 3     |
//! | C    | yes         | tanh    | softmax cross-entropy (mean)    | 3     |
//! | D    | yes         | sigmoid | MSE (mean over q·B entries)     | 1     |
//!
//! With a batch of B samples the loss is the mean over samples, `s` is
//! added once, and the products `∂J/∂o·hᵀ`, `∂J/∂z·xᵀ` sum over the batch.

use nalgebra::SMatrix;
use stackprop::layer::{self, NoDx};
use stackprop::loss::{Loss, Mse, SoftmaxCrossEntropy, l2};
use stackprop::ops::{add, mul};
use stackprop::prelude::*;

// ---------------------------------------------------------------------------
// 1. The scalar graph g = (x + y)·z.

/// Forward `(p, g)` and backward `(∂g/∂x, ∂g/∂y, ∂g/∂z)` of `g = (x + y)·z`,
/// from the ops on 1×1 matrices.
fn scalar_graph<T: Real>(x: T, y: T, z: T) -> ((T, T), (T, T, T)) {
    let s = SMatrix::<T, 1, 1>::new;
    let (x, y, z) = (s(x), s(y), s(z));
    let p = add::forward(&x, &y);
    let g = mul::forward(&p, &z);
    let (dp, dz) = mul::backward(&p, &z, &s(T::one())); // ∂g/∂g = 1
    let (dx, dy) = add::backward(&dp);
    ((p[0], g[0]), (dx[0], dy[0], dz[0]))
}

#[test]
fn scalar_graph_f64_exact() {
    assert_eq!(scalar_graph(1.0f64, 3.0, -3.0), ((4.0, -12.0), (-3.0, -3.0, 4.0)));
}

#[test]
fn scalar_graph_f32_exact() {
    assert_eq!(scalar_graph(1.0f32, 3.0, -3.0), ((4.0, -12.0), (-3.0, -3.0, 4.0)));
}

// ---------------------------------------------------------------------------
// 2. The d2l network of section 5.3. The numbers are those of
// tools/d2l_reference.py (keep the two in step).

const D: usize = 3;
const H: usize = 4;
const Q: usize = 2;
const LAM: f64 = 0.1;
const W1: [[f64; D]; H] =
    [[0.2, -0.5, 0.1], [0.7, 0.3, -0.4], [-0.6, 0.8, 0.25], [0.15, -0.35, 0.9]];
const B1: [f64; H] = [0.1, -0.2, 0.3, 0.05];
const W2: [[f64; H]; Q] = [[0.5, -0.3, 0.8, -0.2], [-0.45, 0.6, 0.1, 0.7]];
/// One sample a row.
const XS: [[f64; D]; 3] = [[1.0, -2.0, 0.5], [0.3, 0.8, -1.2], [-0.7, 0.4, 1.5]];
/// MSE targets, one sample a row.
const YS: [[f64; Q]; 3] = [[0.5, -1.0], [-0.25, 0.75], [1.0, 0.2]];
/// Softmax cross-entropy targets.
const LABELS: [usize; 3] = [1, 0, 1];

// Printed by tools/d2l_reference.py (plain Python, float64), pasted verbatim:
// `python3 tools/d2l_reference.py`.
// Case A: no bias, tanh, MSE, batch 1.
const GOLDEN_A_J: f64 = 1.3173721824034879;
const GOLDEN_A_DW1: [[f64; 3]; 4] = [
    [-0.25365327274044197, 0.497306545480884, -0.12682663637022099],
    [0.9976032835376728, -1.8252065670753457, 0.4238016417688364],
    [-0.10206575669569856, 0.16413151339139714, 0.003967121652150719],
    [0.2580275877633217, -0.5210551755266434, 0.21151379388166086],
];
const GOLDEN_A_DW2: [[f64; 4]; 2] = [
    [-0.7927450289357223, 0.06901724265056061, 1.0426339529112325, -0.8760967990216664],
    [0.8582369200552251, -0.04612465955094312, -1.0217314216212903, 0.9875470746994399],
];
// Case B: no bias, tanh, softmax CE, batch 3.
const GOLDEN_B_J: f64 = 0.9615339394046698;
const GOLDEN_B_DW1: [[f64; 3]; 4] = [
    [-0.1145958613927933, -0.1556240750223138, 0.4620426800356654],
    [0.038576366827259775, 0.2762887427931183, -0.3007442380848435],
    [-0.12534841834546642, -0.010254850627968687, 0.24767707818416554],
    [0.04284094493252377, 0.029007196191822633, -0.06674926576191474],
];
const GOLDEN_B_DW2: [[f64; 4]; 2] = [
    [0.19436494271195898, -0.3201929033825739, 0.09043933267505605, 0.39753195386215673],
    [-0.18936494271195892, 0.35019290338257386, -0.00043933267505608803, -0.3475319538621567],
];
// Case C: bias b1, tanh, softmax CE, batch 3.
const GOLDEN_C_J: f64 = 0.9698552448885867;
const GOLDEN_C_DW1: [[f64; 3]; 4] = [
    [-0.12626654771870693, -0.13377853369168088, 0.4755903465228185],
    [0.024460952543036263, 0.2988391277538365, -0.288022398236724],
    [-0.09725966971252378, 0.002274817452540767, 0.18067139857632383],
    [0.04062795751655547, 0.02831357163497606, -0.06284815028278816],
];
const GOLDEN_C_DW2: [[f64; 4]; 2] = [
    [0.20355812509680898, -0.3382352810321917, 0.07222929033439937, 0.40207720629209825],
    [-0.19855812509680898, 0.3682352810321918, 0.01777070966560059, -0.35207720629209827],
];
const GOLDEN_C_DB1: [f64; 4] =
    [0.10237055083261502, -0.09039126164253833, -0.04509034302618139, -0.05415825240929181];
// Case D: bias b1, sigmoid, MSE, batch 1.
const GOLDEN_D_J: f64 = 1.3724378422782124;
const GOLDEN_D_DW1: [[f64; 3]; 4] = [
    [-0.11038265125294265, 0.21076530250588532, -0.055191325626471326],
    [0.30542869427388425, -0.44085738854776857, 0.07771434713694213],
    [-0.06891685677677911, 0.09783371355355824, 0.020541571611610444],
    [0.1919836033663243, -0.3889672067326486, 0.17849180168316217],
];
const GOLDEN_D_DW2: [[f64; 4]; 2] = [
    [-0.16718734688982134, -0.1463861634685396, 0.040365230647338074, -0.23718734688982135],
    [1.1210674344690958, 0.6848711860378691, 0.22279699060129193, 1.2360674344690958],
];
const GOLDEN_D_DB1: [f64; 4] =
    [-0.13038265125294266, 0.23542869427388427, -0.00891685677677911, 0.17698360336632432];

/// The objective and its gradients, as plain arrays (row-major, like the
/// d2l equations). `db1` is zero for a network without bias.
#[derive(Debug, Clone, Copy)]
struct Grads {
    j: f64,
    dw1: [[f64; D]; H],
    dw2: [[f64; H]; Q],
    db1: [f64; H],
}

#[derive(Debug, Clone, Copy)]
enum Phi {
    Tanh,
    Sigmoid,
}

impl Phi {
    /// `(φ(z), φ'(z))`.
    fn eval(self, z: f64) -> (f64, f64) {
        match self {
            Phi::Tanh => {
                let t = z.tanh();
                (t, 1.0 - t * t)
            }
            Phi::Sigmoid => {
                let s = 1.0 / (1.0 + (-z).exp());
                (s, s * (1.0 - s))
            }
        }
    }
}

enum Target<'a, const B: usize> {
    Mse(&'a [[f64; Q]; B]),
    Ce(&'a [usize; B]),
}

/// `(L, ∂L/∂o)` for the outputs `o` of B samples (one a row).
fn ref_loss<const B: usize>(o: &[[f64; Q]; B], t: &Target<B>) -> (f64, [[f64; Q]; B]) {
    let mut l = 0.0;
    let mut dl = [[0.0; Q]; B];
    match t {
        Target::Mse(y) => {
            let n = (Q * B) as f64;
            for c in 0..B {
                for k in 0..Q {
                    let e = o[c][k] - y[c][k];
                    l += e * e / n;
                    dl[c][k] = 2.0 * e / n;
                }
            }
        }
        Target::Ce(labels) => {
            for c in 0..B {
                let m = o[c].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + o[c].iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                l += (lse - o[c][labels[c]]) / B as f64;
                for k in 0..Q {
                    let onehot = if k == labels[c] { 1.0 } else { 0.0 };
                    dl[c][k] = ((o[c][k] - lse).exp() - onehot) / B as f64;
                }
            }
        }
    }
    (l, dl)
}

/// d2l equations 5.3.1–5.3.14 with plain arrays and loops, for the samples
/// `xs` (one a row), optionally with the (unregularized) hidden bias `B1`.
// Index loops on purpose: they spell out the sums of the equations.
#[allow(clippy::needless_range_loop)]
fn reference<const B: usize>(bias: bool, phi: Phi, xs: &[[f64; D]; B], t: Target<B>) -> Grads {
    let b1 = if bias { B1 } else { [0.0; H] };
    // Forward: z = W1·x (+ b1), h = φ(z), o = W2·h.
    let mut z = [[0.0; H]; B];
    let mut h = [[0.0; H]; B];
    let mut dphi = [[0.0; H]; B];
    let mut o = [[0.0; Q]; B];
    for c in 0..B {
        for i in 0..H {
            z[c][i] = b1[i];
            for k in 0..D {
                z[c][i] += W1[i][k] * xs[c][k];
            }
            (h[c][i], dphi[c][i]) = phi.eval(z[c][i]);
        }
        for r in 0..Q {
            for i in 0..H {
                o[c][r] += W2[r][i] * h[c][i];
            }
        }
    }
    // L = l(o, y), s = λ/2(‖W1‖²_F + ‖W2‖²_F), J = L + s.
    let (l, dl_do) = ref_loss(&o, &t);
    let mut s = 0.0;
    for row in &W1 {
        for w in row {
            s += w * w;
        }
    }
    for row in &W2 {
        for w in row {
            s += w * w;
        }
    }
    let j = l + LAM / 2.0 * s;
    // (5.3.8) ∂J/∂o = ∂L/∂o.
    let dj_do = dl_do;
    // (5.3.10) ∂J/∂W2 = ∂J/∂o·hᵀ + λW2.
    let mut dw2 = [[0.0; H]; Q];
    for r in 0..Q {
        for i in 0..H {
            for c in 0..B {
                dw2[r][i] += dj_do[c][r] * h[c][i];
            }
            dw2[r][i] += LAM * W2[r][i];
        }
    }
    // (5.3.11) ∂J/∂h = W2ᵀ·∂J/∂o; (5.3.12) ∂J/∂z = ∂J/∂h ⊙ φ'(z).
    let mut dj_dz = [[0.0; H]; B];
    for c in 0..B {
        for i in 0..H {
            let mut dj_dh = 0.0;
            for r in 0..Q {
                dj_dh += W2[r][i] * dj_do[c][r];
            }
            dj_dz[c][i] = dj_dh * dphi[c][i];
        }
    }
    // (5.3.14) ∂J/∂W1 = ∂J/∂z·xᵀ + λW1; the bias: ∂J/∂b1 = ∂J/∂z·1, no λ.
    let mut dw1 = [[0.0; D]; H];
    let mut db1 = [0.0; H];
    for i in 0..H {
        for k in 0..D {
            for c in 0..B {
                dw1[i][k] += dj_dz[c][i] * xs[c][k];
            }
            dw1[i][k] += LAM * W1[i][k];
        }
        if bias {
            for c in 0..B {
                db1[i] += dj_dz[c][i];
            }
        }
    }
    Grads { j, dw1, dw2, db1 }
}

// --- The crate's side.

type NoBias<P> = Seq![LinearNoBias<f64, D, H>, P, LinearNoBias<f64, H, Q>];
type WithBias<P> = Seq![Linear<f64, D, H>, P, LinearNoBias<f64, H, Q>];

/// The values of a row-major weight (d2l's `W[o][i]`, one output a row)
/// in column-major order, the order of the slice constructors: the `R`
/// weights of input 0, then of input 1, …
fn columns<const R: usize, const C: usize>(w: &[[f64; C]; R]) -> Vec<f64> {
    (0..C).flat_map(|i| (0..R).map(move |o| w[o][i])).collect()
}

fn no_bias<P>(phi: P) -> NoBias<P> {
    seq![
        LinearNoBias::from_column_slice(&columns(&W1)).unwrap(),
        phi,
        LinearNoBias::from_column_slice(&columns(&W2)).unwrap()
    ]
}

fn with_bias<P>(phi: P) -> WithBias<P> {
    seq![
        Linear::from_column_slices(&columns(&W1), &B1).unwrap(),
        phi,
        LinearNoBias::from_column_slice(&columns(&W2)).unwrap()
    ]
}

/// The slice constructors put `W[o][i]` at `(o, i)`.
#[test]
#[allow(clippy::needless_range_loop)] // (o, i) index both sides
fn weights_are_where_d2l_puts_them() {
    let (l1, (_, l2)) = with_bias(Tanh);
    for o in 0..H {
        for i in 0..D {
            assert_eq!(l1.weight[(o, i)], W1[o][i]);
        }
        assert_eq!(l1.bias[o], B1[o]);
    }
    for o in 0..Q {
        for i in 0..H {
            assert_eq!(l2.weight[(o, i)], W2[o][i]);
        }
    }
    assert_eq!(no_bias(Tanh).0.weight, l1.weight);
}

/// The first `B` samples as a `D×B` batch (one column a sample).
fn batch_x<const B: usize>() -> SMatrix<f64, D, B> {
    SMatrix::from_fn(|i, c| XS[c][i])
}

/// The first `B` MSE targets as a `Q×B` batch.
fn batch_y<const B: usize>() -> SMatrix<f64, Q, B> {
    SMatrix::from_fn(|k, c| YS[c][k])
}

fn rows<const R: usize, const C: usize>(m: &SMatrix<f64, R, C>) -> [[f64; C]; R] {
    core::array::from_fn(|r| core::array::from_fn(|c| m[(r, c)]))
}

/// `J` and the gradient (a value of the model's type) through
/// `Trainer::gradient` with the L2 term.
fn via_trainer<M, L, const B: usize>(
    net: &M,
    loss: &L,
    x: &SMatrix<f64, D, B>,
    t: &L::Target,
) -> (f64, M)
where
    M: Train<SMatrix<f64, D, B>> + Module<Scalar = f64>,
    L: Loss<M::Output, Scalar = f64>,
{
    let mut tr: Trainer<f64, M, SMatrix<f64, D, B>, Sgd<f64>> =
        Trainer::new(Sgd::new(0.0)).with_l2(LAM);
    let j = tr.gradient(net, loss, x, t).unwrap();
    (j, tr.backprop.grads)
}

/// The same through the low-level API: `forward_train`, the loss,
/// `backward` adding the parameter gradient into zeros
/// (`backward::<NoDx>` with `Grads::Add`), and `loss::l2::{penalty, add_grad}`.
fn via_layers<M, L, const B: usize>(
    net: &M,
    loss: &L,
    x: &SMatrix<f64, D, B>,
    t: &L::Target,
) -> (f64, M)
where
    M: Train<SMatrix<f64, D, B>> + Module<Scalar = f64>,
    L: Loss<M::Output, Scalar = f64>,
{
    let mut cache = M::Cache::zeros();
    let mut o = M::Output::zeros();
    net.forward_train(x, &mut cache, &mut o);
    let mut dl_do = M::Output::zeros();
    let j = loss.loss_grad(&o, t, &mut dl_do).unwrap() + l2::penalty(net, LAM);
    let mut grads = M::zeros();
    let _ = net.backward::<NoDx>(x, &o, &cache, &dl_do, &mut grads, layer::Grads::Add);
    l2::add_grad(net, &mut grads, LAM);
    (j, grads)
}

fn from_no_bias<P>((j, g): (f64, NoBias<P>)) -> Grads {
    Grads { j, dw1: rows(&g.0.weight), dw2: rows(&g.1.1.weight), db1: [0.0; H] }
}

fn from_with_bias<P>((j, g): (f64, WithBias<P>)) -> Grads {
    let db1 = core::array::from_fn(|i| g.0.bias[i]);
    Grads { j, dw1: rows(&g.0.weight), dw2: rows(&g.1.1.weight), db1 }
}

// --- Comparison.

const REL: f64 = 1e-12;

fn close(what: &str, got: f64, want: f64) {
    let err = (got - want).abs();
    assert!(
        err <= REL * got.abs().max(want.abs()),
        "{what}: got {got:e}, want {want:e} (relative error {:e})",
        err / want.abs()
    );
}

fn check(what: &str, got: &Grads, want: &Grads) {
    close(&format!("{what}: J"), got.j, want.j);
    for i in 0..H {
        for k in 0..D {
            close(&format!("{what}: dJ/dW1[{i}][{k}]"), got.dw1[i][k], want.dw1[i][k]);
        }
        close(&format!("{what}: dJ/db1[{i}]"), got.db1[i], want.db1[i]);
    }
    for r in 0..Q {
        for i in 0..H {
            close(&format!("{what}: dJ/dW2[{r}][{i}]"), got.dw2[r][i], want.dw2[r][i]);
        }
    }
}

fn golden(j: f64, dw1: [[f64; 3]; 4], dw2: [[f64; 4]; 2], db1: [f64; 4]) -> Grads {
    Grads { j, dw1, dw2, db1 }
}

/// Checks both crate paths against the in-test equations and the Python
/// golden values, and the equations against the golden values.
fn check_all(case: &str, trainer: Grads, layers: Grads, equations: Grads, golden: Grads) {
    check(&format!("case {case}, equations vs Python"), &equations, &golden);
    for (path, got) in [("Trainer::gradient", trainer), ("forward_train/backward", layers)] {
        check(&format!("case {case}, {path} vs equations"), &got, &equations);
        check(&format!("case {case}, {path} vs Python"), &got, &golden);
    }
}

#[test]
fn d2l_no_bias_tanh_mse_batch1() {
    let (net, x, y) = (no_bias(Tanh), batch_x::<1>(), batch_y::<1>());
    let xs = [XS[0]];
    let ys = [YS[0]];
    check_all(
        "A",
        from_no_bias(via_trainer(&net, &Mse, &x, &y)),
        from_no_bias(via_layers(&net, &Mse, &x, &y)),
        reference(false, Phi::Tanh, &xs, Target::Mse(&ys)),
        golden(GOLDEN_A_J, GOLDEN_A_DW1, GOLDEN_A_DW2, [0.0; H]),
    );
}

#[test]
fn d2l_no_bias_tanh_softmax_ce_batch3() {
    let (net, x) = (no_bias(Tanh), batch_x::<3>());
    let ce = SoftmaxCrossEntropy;
    check_all(
        "B",
        from_no_bias(via_trainer(&net, &ce, &x, &LABELS)),
        from_no_bias(via_layers(&net, &ce, &x, &LABELS)),
        reference(false, Phi::Tanh, &XS, Target::Ce(&LABELS)),
        golden(GOLDEN_B_J, GOLDEN_B_DW1, GOLDEN_B_DW2, [0.0; H]),
    );
}

#[test]
fn d2l_hidden_bias_tanh_softmax_ce_batch3() {
    let (net, x) = (with_bias(Tanh), batch_x::<3>());
    let ce = SoftmaxCrossEntropy;
    let trainer = from_with_bias(via_trainer(&net, &ce, &x, &LABELS));
    check_all(
        "C",
        trainer,
        from_with_bias(via_layers(&net, &ce, &x, &LABELS)),
        reference(true, Phi::Tanh, &XS, Target::Ce(&LABELS)),
        golden(GOLDEN_C_J, GOLDEN_C_DW1, GOLDEN_C_DW2, GOLDEN_C_DB1),
    );
    bias_not_regularized(&trainer, &GOLDEN_C_DB1);
}

#[test]
fn d2l_hidden_bias_sigmoid_mse_batch1() {
    let (net, x, y) = (with_bias(Sigmoid), batch_x::<1>(), batch_y::<1>());
    let xs = [XS[0]];
    let ys = [YS[0]];
    let trainer = from_with_bias(via_trainer(&net, &Mse, &x, &y));
    check_all(
        "D",
        trainer,
        from_with_bias(via_layers(&net, &Mse, &x, &y)),
        reference(true, Phi::Sigmoid, &xs, Target::Mse(&ys)),
        golden(GOLDEN_D_J, GOLDEN_D_DW1, GOLDEN_D_DW2, GOLDEN_D_DB1),
    );
    bias_not_regularized(&trainer, &GOLDEN_D_DB1);
}

/// The checks above would catch a λ·b1 term on the bias gradient or a
/// ‖b1‖² term in J: both are far above the 1e-12 tolerance for these
/// numbers.
fn bias_not_regularized(got: &Grads, want_db1: &[f64; H]) {
    for i in 0..H {
        let with_decay = want_db1[i] + LAM * B1[i];
        assert!((got.db1[i] - with_decay).abs() > 1e3 * REL * with_decay.abs(), "b1[{i}]");
    }
    let sq: f64 = B1.iter().map(|b| b * b).sum();
    assert!(LAM / 2.0 * sq > 1e3 * REL * got.j);
}

/// The bias gradient is ∂J/∂z summed over the batch: the first layer's
/// backward, given ∂J/∂z, puts exactly that into the bias slot (and the
/// L2 term adds nothing to it).
#[test]
fn d2l_bias_gradient_is_dj_dz() {
    let first = Linear::<f64, D, H>::from_column_slices(&columns(&W1), &B1).unwrap();
    let x = batch_x::<3>();
    let dz = SMatrix::<f64, H, 3>::from_fn(|i, c| 0.25 * (i as f64 + 1.0) - 0.5 * c as f64);
    let z = first.forward(&x);
    let mut g = Linear::<f64, D, H>::zeros();
    let _ = first.backward::<NoDx>(&x, &z, &(), &dz, &mut g, layer::Grads::Add);
    l2::add_grad(&first, &mut g, LAM);
    for i in 0..H {
        let want: f64 = (0..3).map(|c| dz[(i, c)]).sum();
        assert_eq!(g.bias[i], want, "b1[{i}]");
    }
}
