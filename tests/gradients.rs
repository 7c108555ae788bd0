//! Property tests of every backward pass of the crate against finite
//! differences and the adjoint identity, through the public checker
//! [`stackprop::gradcheck`] (whose own tests, in `src/gradcheck/tests.rs`,
//! show that it catches wrong backward passes).
//!
//! Every property runs proptest's default 256 cases, and each case checks
//! several shapes: `1×1`, batch 1 with non-square layers, and batch > 1 with
//! non-square layers. Each check compares every entry of the input gradient
//! and of every parameter gradient with 6th-order central differences
//! (relative error ≤ 1e-6) and the adjoint identity ⟨J·v, u⟩ = ⟨v, Jᵀ·u⟩ for
//! the input and the parameter Jacobian (relative error ≤ 1e-10); see the
//! checker's docs for how the errors are measured. Where the map is linear
//! in the direction checked (add, mul and matmul in each input, a dense
//! layer in its input or its parameters) the tests also check the adjoint
//! identity with `J·v` computed exactly, by the map itself.
//!
//! The residual block `Residual<F>` is checked the same way, over
//! sequences of dense layers and tanh, inside sequences, over a single
//! layer and inside another residual block; and every layer's backward
//! variants of `Train::backward` are checked against each other (writing
//! over stale gradients equals adding to zeros, bit for bit).
//!
//! ReLU and LeakyReLU are not differentiable at 0, ReLU6 at 0 and 6:
//! samples keep every pre-activation a margin away from the kinks (by
//! construction for the ops, by filtering for compositions), larger than any
//! perturbation the checker makes.

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::gradcheck::{self, Config, Report};
use stackprop::layer::{Backward, Dx, Grads, NoDx, WithDx};
use stackprop::loss::{BceWithLogits, Loss, Mse, SoftmaxCrossEntropy, l2};
use stackprop::module::{AnyScalar, Data, DataMut, Desc, Module};
use stackprop::ops::activation::{self as act, Activation};
use stackprop::ops::{add, matmul, mul};
use stackprop::rng::Rng;
use stackprop::train::Trainer;
use stackprop::{
    Identity, Layer, LeakyRelu, Linear, LinearNoBias, ParamKind, Relu, Relu6, Residual, Seq,
    Sigmoid, Tanh, Train, Zeros, params, seq,
};
use std::fmt::Debug;
use std::ops::Range;

mod checks;
use checks::{bits, fail, layer, modes_agree, nans};

type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

// ---------------------------------------------------------------------------
// Strategies

/// A matrix with entries uniform in `r`.
fn mat<const R: usize, const C: usize>(r: Range<f64>) -> impl Strategy<Value = M<R, C>> {
    prop::collection::vec(r, R * C).prop_map(|v| M::from_column_slice(&v))
}

/// A matrix with entries of magnitude in `[margin, hi)` and random sign.
fn mat_away<const R: usize, const C: usize>(
    margin: f64,
    hi: f64,
) -> impl Strategy<Value = M<R, C>> {
    prop::collection::vec((margin..hi, any::<bool>()), R * C).prop_map(|v| {
        let v: Vec<f64> = v.into_iter().map(|(a, s)| if s { a } else { -a }).collect();
        M::from_column_slice(&v)
    })
}

fn linear<const I: usize, const O: usize>() -> impl Strategy<Value = Linear<f64, I, O>> {
    (mat::<O, I>(-1.0..1.0), mat::<O, 1>(-1.0..1.0))
        .prop_map(|(weight, bias)| Linear { weight, bias })
}

fn linear_nb<const I: usize, const O: usize>() -> impl Strategy<Value = LinearNoBias<f64, I, O>> {
    mat::<O, I>(-1.0..1.0).prop_map(|weight| LinearNoBias { weight })
}

fn leaky() -> impl Strategy<Value = LeakyRelu<f64>> {
    (0.0..1.0f64).prop_map(|a| LeakyRelu::new(a).unwrap())
}

// ---------------------------------------------------------------------------
// Running the checker

fn loss<Lo, const N: usize, const B: usize>(
    lo: &Lo,
    y: &M<N, B>,
    t: &Lo::Target,
    seed: u64,
) -> Result<Report, TestCaseError>
where
    Lo: Loss<M<N, B>, Scalar = f64>,
{
    let r =
        gradcheck::check_loss(lo, y, t, &mut Rng::new(seed), &Config::default()).map_err(fail)?;
    prop_assert_eq!(r.evaluations, 6 * N * B + 18);
    Ok(r)
}

/// `|a − b| ≤ 1e-10 · scale`: the exact adjoint identity, relative to the
/// size of the terms of the dot products.
fn adjoint_exact(lhs: f64, rhs: f64, scale: f64) -> Result<(), TestCaseError> {
    prop_assert!(
        (lhs - rhs).abs() <= 1e-10 * scale,
        "<Jv, u> = {lhs:e}, <v, J^T u> = {rhs:e}, scale {scale:e}"
    );
    Ok(())
}

fn abs_dot<const R: usize, const C: usize>(a: &M<R, C>, b: &M<R, C>) -> f64 {
    a.iter().zip(b.iter()).map(|(p, q)| (p * q).abs()).sum()
}

// ---------------------------------------------------------------------------
// The ops as layers: the first operand is the input, the second a parameter
// (tensor 0), so the checker checks both operands' gradients. Each is a
// `Module` (one `f64` weight tensor `b`, PyTorch shape `[R, C]`), a `Layer`
// and a `Train`.

macro_rules! one_tensor {
    ($name:ident, $a:ident, $b:ident, $field:ident) => {
        impl<const $a: usize, const $b: usize> Zeros for $name<$a, $b> {
            fn zeros() -> Self {
                Self { $field: SMatrix::zeros() }
            }
            fn set_zero(&mut self) {
                self.$field.fill(0.0);
            }
        }
        impl<const $a: usize, const $b: usize> Module for $name<$a, $b> {
            type Scalar = f64;
            const DESC: Desc = Desc::new(stringify!($name))
                .dim(stringify!($a), $a)
                .dim(stringify!($b), $b)
                .tensor::<f64>(stringify!($field), ParamKind::Weight, &[$a, $b]);
            fn tensor(&self, i: usize) -> Option<Data<'_>> {
                (i == 0).then(|| self.$field.as_slice().into())
            }
            fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
                (i == 0).then(|| self.$field.as_mut_slice().into())
            }
        }
    };
}

/// `g = d` for `Grads::Write`, `g += d` for `Grads::Add`.
fn put<const R: usize, const C: usize>(g: &mut M<R, C>, d: M<R, C>, mode: Grads) {
    match mode {
        Grads::Write => *g = d,
        Grads::Add => *g += d,
    }
}

/// `Y = X + B`.
#[derive(Clone, Debug)]
struct AddOp<const R: usize, const C: usize> {
    b: M<R, C>,
}
one_tensor!(AddOp, R, C, b);
impl<const R: usize, const C: usize> Layer<M<R, C>> for AddOp<R, C> {
    type Output = M<R, C>;
    fn forward(&self, x: &M<R, C>) -> M<R, C> {
        add::forward(x, &self.b)
    }
}
impl<const R: usize, const C: usize> Train<M<R, C>> for AddOp<R, C> {
    type Cache = ();
    fn forward_train(&self, x: &M<R, C>, _: &mut (), y: &mut M<R, C>) {
        *y = add::forward(x, &self.b);
    }
    fn backward<D: Dx>(
        &self,
        _: &M<R, C>,
        _: &M<R, C>,
        _: &(),
        dy: &M<R, C>,
        g: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<M<R, C>>> {
        let (da, db) = add::backward(dy);
        put(&mut g.b, db, mode);
        Backward::new(D::dx(|| da))
    }
}

/// `Y = X ⊙ B`.
#[derive(Clone, Debug)]
struct MulOp<const R: usize, const C: usize> {
    b: M<R, C>,
}
one_tensor!(MulOp, R, C, b);
impl<const R: usize, const C: usize> Layer<M<R, C>> for MulOp<R, C> {
    type Output = M<R, C>;
    fn forward(&self, x: &M<R, C>) -> M<R, C> {
        mul::forward(x, &self.b)
    }
}
impl<const R: usize, const C: usize> Train<M<R, C>> for MulOp<R, C> {
    type Cache = ();
    fn forward_train(&self, x: &M<R, C>, _: &mut (), y: &mut M<R, C>) {
        *y = mul::forward(x, &self.b);
    }
    fn backward<D: Dx>(
        &self,
        x: &M<R, C>,
        _: &M<R, C>,
        _: &(),
        dy: &M<R, C>,
        g: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<M<R, C>>> {
        let (da, db) = mul::backward(x, &self.b, dy);
        put(&mut g.b, db, mode);
        Backward::new(D::dx(|| da))
    }
}

/// `Y = X1·X2` with `X1` the input (`P×K`) and `X2` the parameter (`K×N`).
#[derive(Clone, Debug)]
struct MatmulOp<const K: usize, const N: usize> {
    x2: M<K, N>,
}
one_tensor!(MatmulOp, K, N, x2);
impl<const P: usize, const K: usize, const N: usize> Layer<M<P, K>> for MatmulOp<K, N> {
    type Output = M<P, N>;
    fn forward(&self, x: &M<P, K>) -> M<P, N> {
        matmul::forward(x, &self.x2)
    }
}
impl<const P: usize, const K: usize, const N: usize> Train<M<P, K>> for MatmulOp<K, N> {
    type Cache = ();
    fn forward_train(&self, x: &M<P, K>, _: &mut (), y: &mut M<P, N>) {
        *y = matmul::forward(x, &self.x2);
    }
    fn backward<D: Dx>(
        &self,
        x: &M<P, K>,
        _: &M<P, N>,
        _: &(),
        dy: &M<P, N>,
        g: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<M<P, K>>> {
        let (d1, d2) = matmul::backward(x, &self.x2, dy);
        put(&mut g.x2, d2, mode);
        Backward::new(D::dx(|| d1))
    }
}

/// An activation through `ops::activation` (the layers in
/// `layers::activation` are checked separately): `forward` through
/// `act::forward`, `forward_train` through `act::forward_into`.
#[derive(Clone, Copy, Debug, Default)]
struct ActOp<A>(A);
impl<A: Default> Zeros for ActOp<A> {
    fn zeros() -> Self {
        Self(A::default())
    }
    fn set_zero(&mut self) {}
}
impl<A> Module for ActOp<A> {
    type Scalar = AnyScalar;
    const DESC: Desc = Desc::new("ActOp");
}
impl<A: Activation<f64>, const R: usize, const C: usize> Layer<M<R, C>> for ActOp<A> {
    type Output = M<R, C>;
    fn forward(&self, x: &M<R, C>) -> M<R, C> {
        act::forward(&self.0, x)
    }
}
impl<A: Activation<f64> + Default, const R: usize, const C: usize> Train<M<R, C>> for ActOp<A> {
    type Cache = ();
    fn forward_train(&self, x: &M<R, C>, _: &mut (), y: &mut M<R, C>) {
        act::forward_into(&self.0, x, y)
    }
    fn backward<D: Dx>(
        &self,
        _: &M<R, C>,
        y: &M<R, C>,
        _: &(),
        dy: &M<R, C>,
        _: &mut Self,
        _: Grads,
    ) -> Backward<D::Out<M<R, C>>> {
        // No parameters: nothing that could be non-finite.
        Backward { dx: D::dx(|| act::backward(&self.0, y, dy)), finite: true }
    }
}

// ---------------------------------------------------------------------------
// Ops

/// `add`, `mul` at one shape: the checker, and the exact adjoint identity
/// (both are linear in each operand: `J_A·V = V` resp. `V ⊙ B`).
fn elementwise<const R: usize, const C: usize>(
    [x, b, u, va, vb]: [M<R, C>; 5],
    seed: u64,
) -> Result<(), TestCaseError> {
    let cfg = Config::default();
    layer(&AddOp { b }, &x, seed, &cfg)?;
    layer(&MulOp { b }, &x, seed, &cfg)?;
    let (da, db) = add::backward(&u);
    adjoint_exact(va.dot(&u), va.dot(&da), abs_dot(&va, &u))?;
    adjoint_exact(vb.dot(&u), vb.dot(&db), abs_dot(&vb, &u))?;
    let (da, db) = mul::backward(&x, &b, &u);
    let (ja, jb) = (mul::forward(&va, &b), mul::forward(&x, &vb));
    adjoint_exact(ja.dot(&u), va.dot(&da), abs_dot(&ja, &u).max(abs_dot(&va, &da)))?;
    adjoint_exact(jb.dot(&u), vb.dot(&db), abs_dot(&jb, &u).max(abs_dot(&vb, &db)))
}

/// `matmul` at one shape (`P×K` times `K×N`): both operands' gradients by
/// the checker, and the exact adjoint identity (`J₁·V = V·X2`,
/// `J₂·V = X1·V`).
fn matmul_at<const P: usize, const K: usize, const N: usize>(
    (x1, x2, u, v1, v2): (M<P, K>, M<K, N>, M<P, N>, M<P, K>, M<K, N>),
    seed: u64,
) -> Result<(), TestCaseError> {
    layer(&MatmulOp { x2 }, &x1, seed, &Config::default())?;
    let (d1, d2) = matmul::backward(&x1, &x2, &u);
    let (j1, j2) = (v1 * x2, x1 * v2);
    adjoint_exact(j1.dot(&u), v1.dot(&d1), abs_dot(&j1, &u).max(abs_dot(&v1, &d1)))?;
    adjoint_exact(j2.dot(&u), v2.dot(&d2), abs_dot(&j2, &u).max(abs_dot(&v2, &d2)))
}

/// An activation, as an op and as a layer, at one shape; and the layer's
/// backward variants against each other.
fn activation<A, const R: usize, const C: usize>(
    f: A,
    x: &M<R, C>,
    seed: u64,
) -> Result<(), TestCaseError>
where
    A: Activation<f64> + Default + Train<M<R, C>, Output = M<R, C>> + Module + Clone + Debug,
    A::Cache: PartialEq + Debug,
{
    let cfg = Config::default();
    layer(&ActOp(f), x, seed, &cfg)?;
    layer(&f, x, seed, &cfg)?;
    modes_agree(&f, x, &SMatrix::from_fn(|i, j| (i + 2 * j) as f64 * 0.3 - 0.5), &f)
}

fn five<const R: usize, const C: usize>() -> impl Strategy<Value = [M<R, C>; 5]> {
    [mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0)]
}

fn mm<const P: usize, const K: usize, const N: usize>()
-> impl Strategy<Value = (M<P, K>, M<K, N>, M<P, N>, M<P, K>, M<K, N>)> {
    (mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0))
}

/// Activation inputs for the three shapes, `margin` away from 0 (ReLU's
/// kink) — the checker moves an entry by at most `3·step = 3e-3`.
fn act_inputs() -> impl Strategy<Value = (M<1, 1>, M<3, 1>, M<2, 4>)> {
    (mat_away(0.05, 4.0), mat_away(0.05, 4.0), mat_away(0.05, 4.0))
}

/// A matrix with entries at least `margin` away from ReLU6's kinks 0 and
/// 6: uniform in `(−4, −margin)`, `(margin, 6 − margin)` or
/// `(6 + margin, 9)`.
fn mat_away6<const R: usize, const C: usize>(margin: f64) -> impl Strategy<Value = M<R, C>> {
    let entry = prop_oneof![-4.0..-margin, margin..6.0 - margin, 6.0 + margin..9.0];
    prop::collection::vec(entry, R * C).prop_map(|v| M::from_column_slice(&v))
}

proptest! {
    #[test]
    fn add_and_mul(s in any::<u64>(), a in five::<1, 1>(), b in five::<3, 1>(), c in five::<2, 4>()) {
        elementwise(a, s)?;
        elementwise(b, s)?;
        elementwise(c, s)?;
    }

    #[test]
    fn matmul_both_inputs(s in any::<u64>(), a in mm::<1, 1, 1>(), b in mm::<3, 2, 1>(),
                          c in mm::<2, 3, 4>()) {
        matmul_at(a, s)?;
        matmul_at(b, s)?;
        matmul_at(c, s)?;
    }

    #[test]
    fn relu(s in any::<u64>(), (a, b, c) in act_inputs()) {
        activation(Relu, &a, s)?;
        activation(Relu, &b, s)?;
        activation(Relu, &c, s)?;
    }

    #[test]
    fn relu6(s in any::<u64>(), a in mat_away6::<1, 1>(0.05), b in mat_away6::<3, 1>(0.05),
             c in mat_away6::<2, 4>(0.05)) {
        activation(Relu6, &a, s)?;
        activation(Relu6, &b, s)?;
        activation(Relu6, &c, s)?;
    }

    #[test]
    fn leaky_relu(s in any::<u64>(), f in leaky(), (a, b, c) in act_inputs()) {
        activation(f, &a, s)?;
        activation(f, &b, s)?;
        activation(f, &c, s)?;
    }

    #[test]
    fn sigmoid(s in any::<u64>(), a in mat::<1, 1>(-6.0..6.0), b in mat::<3, 1>(-6.0..6.0),
               c in mat::<2, 4>(-6.0..6.0)) {
        activation(Sigmoid, &a, s)?;
        activation(Sigmoid, &b, s)?;
        activation(Sigmoid, &c, s)?;
    }

    #[test]
    fn tanh(s in any::<u64>(), a in mat::<1, 1>(-3.0..3.0), b in mat::<3, 1>(-3.0..3.0),
            c in mat::<2, 4>(-3.0..3.0)) {
        activation(Tanh, &a, s)?;
        activation(Tanh, &b, s)?;
        activation(Tanh, &c, s)?;
    }

    #[test]
    fn identity(s in any::<u64>(), a in mat::<1, 1>(-3.0..3.0), b in mat::<3, 1>(-3.0..3.0),
                c in mat::<2, 4>(-3.0..3.0)) {
        activation(Identity, &a, s)?;
        activation(Identity, &b, s)?;
        activation(Identity, &c, s)?;
    }
}

// ---------------------------------------------------------------------------
// Dense layers

/// A dense layer at one shape: the checker, and the exact adjoint identity
/// of `X ↦ W·X + b1ᵀ` (`J_X·V = W·V`) and of `(W, b) ↦ W·X + b1ᵀ`
/// (`J_θ·(V_W, v_b) = V_W·X + v_b·1ᵀ`).
fn dense<const I: usize, const O: usize, const B: usize>(
    l: &Linear<f64, I, O>,
    x: &M<I, B>,
    (u, vx, vw, vb): (M<O, B>, M<I, B>, M<O, I>, M<O, 1>),
    seed: u64,
) -> Result<(), TestCaseError> {
    let cfg = Config::default();
    layer(l, x, seed, &cfg)?;
    let nb = LinearNoBias { weight: l.weight };
    layer(&nb, x, seed, &cfg)?;

    let mut g = Linear::zeros();
    let dx = l.backward::<WithDx>(x, &l.forward(x), &(), &u, &mut g, Grads::Add).dx;
    let jx = l.weight * vx;
    adjoint_exact(jx.dot(&u), vx.dot(&dx), abs_dot(&jx, &u).max(abs_dot(&vx, &dx)))?;
    let jt = vw * x + vb * M::<1, B>::repeat(1.0);
    let vg = vw.dot(&g.weight) + vb.dot(&g.bias);
    let vg_terms = abs_dot(&vw, &g.weight) + abs_dot(&vb, &g.bias);
    adjoint_exact(jt.dot(&u), vg, abs_dot(&jt, &u).max(vg_terms))?;

    modes_agree(l, x, &u, &Linear { weight: vw, bias: vb })?;
    modes_agree(&nb, x, &u, &LinearNoBias { weight: vw })?;

    let mut g = LinearNoBias::zeros();
    let dx_nb = nb.backward::<WithDx>(x, &nb.forward(x), &(), &u, &mut g, Grads::Add).dx;
    prop_assert_eq!(dx_nb, dx);
    let jt = vw * x;
    adjoint_exact(jt.dot(&u), vw.dot(&g.weight), abs_dot(&jt, &u).max(abs_dot(&vw, &g.weight)))
}

type DenseCase<const I: usize, const O: usize, const B: usize> =
    (Linear<f64, I, O>, M<I, B>, (M<O, B>, M<I, B>, M<O, I>, M<O, 1>));

fn dense_case<const I: usize, const O: usize, const B: usize>()
-> impl Strategy<Value = DenseCase<I, O, B>> {
    (linear(), mat(-2.0..2.0), (mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0), mat(-2.0..2.0)))
}

proptest! {
    #[test]
    fn linear_and_linear_no_bias(s in any::<u64>(), a in dense_case::<1, 1, 1>(),
                                 b in dense_case::<3, 2, 1>(), c in dense_case::<2, 3, 4>()) {
        dense(&a.0, &a.1, a.2, s)?;
        dense(&b.0, &b.1, b.2, s)?;
        dense(&c.0, &c.1, c.2, s)?;
    }
}

// ---------------------------------------------------------------------------
// Losses

fn labels<const N: usize, const B: usize>() -> impl Strategy<Value = [usize; B]> {
    prop::array::uniform(0..N)
}

proptest! {
    #[test]
    fn mse(s in any::<u64>(), a in (mat::<1, 1>(-3.0..3.0), mat::<1, 1>(-3.0..3.0)),
           b in (mat::<3, 1>(-3.0..3.0), mat::<3, 1>(-3.0..3.0)),
           c in (mat::<2, 4>(-3.0..3.0), mat::<2, 4>(-3.0..3.0))) {
        loss(&Mse, &a.0, &a.1, s)?;
        loss(&Mse, &b.0, &b.1, s)?;
        loss(&Mse, &c.0, &c.1, s)?;
    }

    #[test]
    fn softmax_cross_entropy(s in any::<u64>(),
                             a in (mat::<1, 1>(-5.0..5.0), labels::<1, 1>()),
                             b in (mat::<3, 1>(-5.0..5.0), labels::<3, 1>()),
                             c in (mat::<4, 3>(-5.0..5.0), labels::<4, 3>())) {
        loss(&SoftmaxCrossEntropy, &a.0, &a.1, s)?;
        loss(&SoftmaxCrossEntropy, &b.0, &b.1, s)?;
        loss(&SoftmaxCrossEntropy, &c.0, &c.1, s)?;
    }

    /// Logits of ±1000 (plus a small offset): the loss and its gradient are
    /// finite and the gradient still matches finite differences.
    #[test]
    fn softmax_cross_entropy_at_1000(s in any::<u64>(),
                                     signs in prop::array::uniform12(any::<bool>()),
                                     offsets in mat::<4, 3>(-1.0..1.0),
                                     t in labels::<4, 3>()) {
        let y = M::<4, 3>::from_fn(|i, j| {
            (if signs[i + 4 * j] { 1000.0 } else { -1000.0 }) + offsets[(i, j)]
        });
        let mut dy = M::<4, 3>::zeros();
        let l = SoftmaxCrossEntropy.loss_grad(&y, &t, &mut dy).unwrap();
        prop_assert!(l.is_finite() && l >= 0.0);
        prop_assert!(dy.iter().all(|d| d.is_finite()));
        // Each column of the gradient is (softmax − onehot)/B: it sums to 0.
        for col in dy.column_iter() {
            prop_assert!(col.sum().abs() < 1e-12);
        }
        loss(&SoftmaxCrossEntropy, &y, &t, s)?;
    }

    #[test]
    fn bce_with_logits(s in any::<u64>(), a in (mat::<1, 1>(-6.0..6.0), mat::<1, 1>(0.0..1.0)),
                       b in (mat::<3, 1>(-6.0..6.0), mat::<3, 1>(0.0..1.0)),
                       c in (mat::<2, 4>(-6.0..6.0), mat::<2, 4>(0.0..1.0))) {
        loss(&BceWithLogits, &a.0, &a.1, s)?;
        loss(&BceWithLogits, &b.0, &b.1, s)?;
        loss(&BceWithLogits, &c.0, &c.1, s)?;
    }
}

// ---------------------------------------------------------------------------
// Compositions of five layers: Linear → φ → Linear → φ → LinearNoBias, for
// each activation φ, at three shapes.

type Net<A, const I: usize, const H: usize, const K: usize, const O: usize> =
    Seq![Linear<f64, I, H>, A, Linear<f64, H, K>, A, LinearNoBias<f64, K, O>];

fn net<
    A: Clone + core::fmt::Debug,
    const I: usize,
    const H: usize,
    const K: usize,
    const O: usize,
>(
    f: impl Strategy<Value = A>,
) -> impl Strategy<Value = Net<A, I, H, K, O>> {
    (linear(), f, linear(), linear_nb()).prop_map(|(a, f, b, c)| seq![a, f.clone(), b, f, c])
}

/// The pre-activations of both hidden layers are at least `margin` away
/// from every kink in `kinks`.
fn away_from_kinks<
    A,
    const I: usize,
    const H: usize,
    const K: usize,
    const O: usize,
    const B: usize,
>(
    n: &Net<A, I, H, K, O>,
    x: &M<I, B>,
    margin: f64,
    kinks: &[f64],
) -> bool
where
    A: Layer<M<H, B>, Output = M<H, B>> + Layer<M<K, B>, Output = M<K, B>>,
{
    let (l1, (f, (l2, _))) = n;
    let z1 = l1.forward(x);
    let z2 = l2.forward(&f.forward(&z1));
    z1.iter().chain(z2.iter()).all(|z| kinks.iter().all(|k| (z - k).abs() >= margin))
}

macro_rules! composition {
    ($name:ident, $act:expr, $kinks:expr) => {
        proptest! {
            #[test]
            fn $name(
                s in any::<u64>(),
                a in (net::<_, 1, 1, 1, 1>($act), mat::<1, 1>(-2.0..2.0))
                    .prop_filter("pre-activation near a kink", |(n, x)| away_from_kinks(n, x, MARGIN, $kinks)),
                b in (net::<_, 3, 4, 2, 2>($act), mat::<3, 1>(-2.0..2.0))
                    .prop_filter("pre-activation near a kink", |(n, x)| away_from_kinks(n, x, MARGIN, $kinks)),
                c in (net::<_, 2, 3, 3, 2>($act), mat::<2, 4>(-2.0..2.0))
                    .prop_filter("pre-activation near a kink", |(n, x)| away_from_kinks(n, x, MARGIN, $kinks)),
            ) {
                let cfg = if <[f64]>::is_empty($kinks) { Config::default() } else { PIECEWISE_LINEAR };
                layer(&a.0, &a.1, s, &cfg)?;
                layer(&b.0, &b.1, s, &cfg)?;
                layer(&c.0, &c.1, s, &cfg)?;
                let dy = |i: usize, j: usize| (i + 2 * j) as f64 * 0.3 - 0.5;
                modes_agree(&a.0, &a.1, &SMatrix::from_fn(dy), &a.0)?;
                modes_agree(&b.0, &b.1, &SMatrix::from_fn(dy), &b.0)?;
                modes_agree(&c.0, &c.1, &SMatrix::from_fn(dy), &c.0)?;
            }
        }
    };
}

/// For ReLU, ReLU6 and LeakyReLU networks: a step of 1e-4, so no pre-activation
/// moves by more than ~0.02 (weights and biases in [−1, 1), inputs in
/// [−2, 2), at most 4 inputs per unit: `3·step·(4·2 + 1) ≈ 0.003` in the
/// first layer, `4·0.003 + 3·step·(4·9 + 1) ≈ 0.023` in the second), well
/// inside `MARGIN`. The functions are piecewise linear, so the step has no
/// truncation error.
const PIECEWISE_LINEAR: Config = Config { step: 1e-4, ..Config::DEFAULT };
const MARGIN: f64 = 0.05;

composition!(composition_relu, Just(Relu), &[0.0]);
composition!(composition_relu6, Just(Relu6), &[0.0, 6.0]);
composition!(composition_leaky_relu, leaky(), &[0.0]);
composition!(composition_sigmoid, Just(Sigmoid), &[]);
composition!(composition_tanh, Just(Tanh), &[]);
composition!(composition_identity, Just(Identity), &[]);

// ---------------------------------------------------------------------------
// The residual block `y = x + F(x)`: over a sequence of dense layers and
// tanh at several widths, inside a sequence (first, in the middle, last),
// over a single layer, and inside another residual block; batch 1 and > 1.

/// `F = Linear → tanh`, keeping the width.
type LinTanh<const N: usize> = Seq![Linear<f64, N, N>, Tanh];
/// `F = Linear → tanh → Linear`, through `H` hidden units.
type Block<const N: usize, const H: usize> = Seq![Linear<f64, N, H>, Tanh, Linear<f64, H, N>];

fn lin_tanh<const N: usize>() -> impl Strategy<Value = Residual<LinTanh<N>>> {
    linear().prop_map(|l| Residual::new(seq![l, Tanh]))
}

fn block<const N: usize, const H: usize>() -> impl Strategy<Value = Residual<Block<N, H>>> {
    (linear(), linear()).prop_map(|(a, b)| Residual::new(seq![a, Tanh, b]))
}

/// An upstream gradient for the mode checks.
fn dy<const R: usize, const C: usize>() -> M<R, C> {
    M::from_fn(|i, j| (i + 2 * j) as f64 * 0.3 - 0.5)
}

/// The checker, and the backward variants, for a model at one input.
fn model<L, const I: usize, const B: usize, const O: usize, const C: usize>(
    l: &L,
    x: &M<I, B>,
    seed: u64,
) -> Result<(), TestCaseError>
where
    L: Train<M<I, B>, Output = M<O, C>> + Module + Clone,
    L::Cache: PartialEq + Debug,
{
    layer(l, x, seed, &Config::default())?;
    modes_agree(l, x, &dy(), l)
}

/// A residual block is its inner map plus the identity, exactly: `forward`
/// is `x + F(x)` bit for bit, `forward_train` keeps `F`'s output and `F`'s
/// own cache (as `F`'s own `forward_train` computes them), and `backward`
/// gives `F`'s parameter gradient bit for bit and `dy + F`'s input gradient;
/// then the checker and the backward variants.
fn residual<F, const N: usize, const B: usize>(
    r: &Residual<F>,
    x: &M<N, B>,
    seed: u64,
) -> Result<(), TestCaseError>
where
    F: Train<M<N, B>, Output = M<N, B>> + Module + Clone,
    F::Cache: PartialEq + Debug,
{
    let fx = r.inner.forward(x);
    prop_assert_eq!(r.forward(x), x + fx);
    prop_assert_eq!(<Residual<F> as Module>::SIZE.params, F::SIZE.params);
    let mut cache = <Residual<F> as Train<M<N, B>>>::Cache::zeros();
    let mut y = M::<N, B>::from_element(f64::NAN);
    r.forward_train(x, &mut cache, &mut y);
    prop_assert_eq!(y, x + fx);
    let (mut fc, mut fy) = (F::Cache::zeros(), M::<N, B>::zeros());
    r.inner.forward_train(x, &mut fc, &mut fy);
    prop_assert_eq!(&cache.0, &fy);
    prop_assert_eq!(&cache.1, &fc);
    let u = dy::<N, B>();
    for mode in [Grads::Add, Grads::Write] {
        let (mut g, mut gi) = (nans(r), nans(&r.inner));
        if mode == Grads::Add {
            (g, gi) = (Residual::zeros(), F::zeros());
        }
        let b = r.backward::<WithDx>(x, &y, &cache, &u, &mut g, mode);
        let bi = r.inner.backward::<WithDx>(x, &fy, &fc, &u, &mut gi, mode);
        prop_assert_eq!(bits(&g), bits(&gi));
        prop_assert_eq!(b.finite, bi.finite);
        prop_assert_eq!(b.dx, u + bi.dx);
        let (mut gp, mut gpi) = (nans(r), nans(&r.inner));
        if mode == Grads::Add {
            (gp, gpi) = (Residual::zeros(), F::zeros());
        }
        let b = r.backward::<NoDx>(x, &y, &cache, &u, &mut gp, mode);
        let bi = r.inner.backward::<NoDx>(x, &fy, &fc, &u, &mut gpi, mode);
        prop_assert_eq!(bits(&gp), bits(&g));
        prop_assert_eq!(bits(&gpi), bits(&gi));
        prop_assert_eq!(b.finite, bi.finite);
    }
    model(r, x, seed)
}

proptest! {
    /// `Residual<Seq![Linear, Tanh]>` and `Residual<Seq![Linear, Tanh,
    /// Linear]>`, widths 1 to 4, batch 1 and > 1.
    #[test]
    fn residual_over_linear_and_tanh(
        s in any::<u64>(),
        a in (lin_tanh::<1>(), mat::<1, 1>(-2.0..2.0)),
        b in (block::<3, 4>(), mat::<3, 1>(-2.0..2.0)),
        c in (block::<2, 3>(), mat::<2, 4>(-2.0..2.0)),
        d in (lin_tanh::<4>(), mat::<4, 3>(-2.0..2.0)),
    ) {
        residual(&a.0, &a.1, s)?;
        residual(&b.0, &b.1, s)?;
        residual(&c.0, &c.1, s)?;
        residual(&d.0, &d.1, s)?;
    }

    /// A residual block inside a sequence: in the middle (batch 1 and 4),
    /// first (its input gradient is the model's), last, and two in a row.
    #[test]
    fn residual_inside_a_sequence(
        s in any::<u64>(),
        mid in (linear::<2, 3>(), block::<3, 4>(), linear::<3, 2>()),
        x1 in mat::<2, 1>(-2.0..2.0),
        x4 in mat::<2, 4>(-2.0..2.0),
        first in (block::<2, 3>(), linear::<2, 1>(), mat::<2, 3>(-2.0..2.0)),
        last in (linear::<1, 2>(), lin_tanh::<2>(), mat::<1, 1>(-2.0..2.0)),
        two in (lin_tanh::<3>(), block::<3, 2>(), mat::<3, 2>(-2.0..2.0)),
    ) {
        let (la, r, lb) = mid;
        let net = seq![la, Tanh, r, lb];
        model(&net, &x1, s)?;
        model(&net, &x4, s)?;
        let (r, l, x) = first;
        model(&seq![r, l], &x, s)?;
        let (l, r, x) = last;
        model(&seq![l, Sigmoid, r], &x, s)?;
        let (r1, r2, x) = two;
        model(&seq![r1, r2], &x, s)?;
    }

    /// A residual block whose inner map is one layer: a dense layer with
    /// and without bias, an activation.
    #[test]
    fn residual_of_a_single_layer(
        s in any::<u64>(),
        a in (linear::<1, 1>(), mat::<1, 1>(-2.0..2.0)),
        b in (linear::<3, 3>(), mat::<3, 1>(-2.0..2.0)),
        c in (linear_nb::<2, 2>(), mat::<2, 4>(-2.0..2.0)),
        d in mat::<3, 2>(-3.0..3.0),
    ) {
        residual(&Residual::new(a.0), &a.1, s)?;
        residual(&Residual::new(b.0), &b.1, s)?;
        residual(&Residual::new(c.0), &c.1, s)?;
        residual(&Residual::new(Tanh), &d, s)?;
    }

    /// A residual block inside a residual block: `x + (G(x) + H(G(x)))`
    /// with `H` itself a block, and `Residual<Residual<Linear>>`.
    #[test]
    fn residual_inside_a_residual(
        s in any::<u64>(),
        a in (linear::<2, 2>(), block::<2, 3>(), mat::<2, 1>(-2.0..2.0)),
        b in (linear::<3, 3>(), block::<3, 2>(), mat::<3, 4>(-2.0..2.0)),
        c in (linear::<2, 2>(), mat::<2, 2>(-2.0..2.0)),
    ) {
        let (l, r, x) = a;
        residual(&Residual::new(seq![l, Tanh, r]), &x, s)?;
        let (l, r, x) = b;
        residual(&Residual::new(seq![l, Tanh, r]), &x, s)?;
        residual(&Residual::new(Residual::new(c.0)), &c.1, s)?;
    }
}

// ---------------------------------------------------------------------------
// L2 weight decay, and a whole training gradient (model, loss, L2)

type Mlp = Net<Tanh, 3, 4, 2, 2>;

proptest! {
    /// `l2::add_grad` is the gradient of `l2::penalty`, on a single layer and
    /// on a model mixing weights and biases (biases get no decay).
    #[test]
    fn l2_weight_decay(s in any::<u64>(), lambda in 0.01..2.0f64, a in linear::<1, 1>(),
                       b in linear::<3, 2>(), m in net::<_, 3, 4, 2, 2>(Just(Tanh))) {
        let cfg = Config::default();
        let mut rng = Rng::new(s);
        macro_rules! check {
            ($m:expr) => {
                gradcheck::check_penalty(
                    $m,
                    |m| l2::penalty(m, lambda),
                    |m, g| l2::add_grad(m, g, lambda),
                    &mut rng,
                    &cfg,
                )
                .map_err(fail)?
            };
        }
        check!(&a);
        check!(&b);
        let r = check!(&m);
        prop_assert_eq!(r.evaluations, 6 * <Mlp as Module>::SIZE.params + 18);
    }

    /// `Trainer::gradient` (forward, MSE loss, L2 term, backward through five
    /// layers) against finite differences of the objective `J = L + λ/2·ΣW²`.
    #[test]
    fn trainer_gradient(s in any::<u64>(), lambda in 0.0..1.0f64, m in net::<_, 3, 4, 2, 2>(Just(Tanh)),
                        x in mat::<3, 5>(-2.0..2.0), t in mat::<2, 5>(-1.0..1.0)) {
        let objective = |m: &Mlp| Mse.loss(&m.forward(&x), &t).unwrap() + l2::penalty(m, lambda);
        let gradient = |m: &Mlp, g: &mut Mlp| {
            let mut tr: Trainer<f64, Mlp, M<3, 5>, _> =
                Trainer::new(stackprop::optim::Sgd::new(0.1)).with_l2(lambda);
            let j = tr.gradient(m, &Mse, &x, &t).unwrap();
            assert!((j - objective(m)).abs() <= 1e-12 * j.abs());
            params::zip(g, &tr.backprop.grads, |_, g, d: &[f64]| {
                g.iter_mut().zip(d).for_each(|(g, d)| *g += d)
            });
        };
        gradcheck::check_penalty(&m, objective, gradient, &mut Rng::new(s), &Config::default())
            .map_err(fail)?;
    }

    /// The same through a model with a residual block, whose trainer keeps
    /// the block's inner output in its cache.
    #[test]
    fn trainer_gradient_through_a_residual(
        s in any::<u64>(), lambda in 0.0..1.0f64,
        (la, r, lb) in (linear::<3, 4>(), block::<4, 3>(), linear::<4, 2>()),
        x in mat::<3, 5>(-2.0..2.0), t in mat::<2, 5>(-1.0..1.0),
    ) {
        let m: ResNet = seq![la, Tanh, r, lb];
        let objective =
            |m: &ResNet| Mse.loss(&m.forward(&x), &t).unwrap() + l2::penalty(m, lambda);
        let gradient = |m: &ResNet, g: &mut ResNet| {
            let mut tr: Trainer<f64, ResNet, M<3, 5>, _> =
                Trainer::new(stackprop::optim::Sgd::new(0.1)).with_l2(lambda);
            let j = tr.gradient(m, &Mse, &x, &t).unwrap();
            assert!((j - objective(m)).abs() <= 1e-12 * j.abs());
            assert_eq!(tr.backprop.y, m.forward(&x));
            params::zip(g, &tr.backprop.grads, |_, g, d: &[f64]| {
                g.iter_mut().zip(d).for_each(|(g, d)| *g += d)
            });
        };
        let cfg = Config::default();
        let r = gradcheck::check_penalty(&m, objective, gradient, &mut Rng::new(s), &cfg)
            .map_err(fail)?;
        prop_assert_eq!(r.evaluations, 6 * <ResNet as Module>::SIZE.params + 18);
    }
}

type ResNet = Seq![Linear<f64, 3, 4>, Tanh, Residual<Block<4, 3>>, Linear<f64, 4, 2>];
