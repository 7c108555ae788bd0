//! The memory consts of `stackprop::memory::Footprint` against
//! `core::mem::size_of` of the values they describe, the d2l closed forms,
//! and big models built in place (never on the test thread's stack: only
//! types and `size_of` here, big values live on the heap or in statics).

use core::mem::size_of;
use nalgebra::SMatrix;
use stackprop::layer::{Backward, Grads, WithDx};
use stackprop::loss::{Loss, SoftmaxCrossEntropy};
use stackprop::memory::Footprint;
use stackprop::optim::AdamState;
use stackprop::prelude::*;
use stackprop::zeros::ConstZeros;

/// `size_of` of the field a projection returns: the real field of the real
/// type, with no value constructed.
fn field<S, F>(_: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

/// `size_of` of what a function returns, from its type alone.
fn returns<A, B, R>(_: fn(&A, &B) -> R) -> usize {
    size_of::<R>()
}

/// `size_of` of the input of a function of two arguments (`forward`'s `x`).
fn second_argument<A, B, R>(_: fn(&A, &B) -> R) -> usize {
    size_of::<B>()
}

/// `size_of` of the input gradient `backward::<WithDx>` returns
/// (`Backward<X>`: `∂J/∂x`, shaped like the input).
#[allow(clippy::type_complexity)]
fn returns_from_backward<S, X, Y, C, R>(
    _: fn(&S, &X, &Y, &C, &Y, &mut S, Grads) -> Backward<R>,
) -> usize {
    size_of::<R>()
}

/// The trainer of `Footprint<M, X, O, L>`.
type Tr<M, X, O, L> = Trainer<<L as Loss<<M as Layer<X>>::Output>>::Scalar, M, X, O>;

/// Checks every const of `Footprint<M, X, O, L>` against `size_of` of the
/// values it describes: the model, the `Trainer`'s fields (its `backprop`:
/// gradient, cache, output `y`, `∂J/∂y`; the optimizer's state), the
/// layer's associated types and the types of `forward` and `backward`.
fn check<M, X, O, L>()
where
    M: Train<X> + Module<Scalar = L::Scalar>,
    O: Optimizer<M>,
    L: Loss<M::Output>,
    L::Scalar: Real,
{
    type F<M, X, O, L> = Footprint<M, X, O, L>;
    assert_eq!(F::<M, X, O, L>::PARAMS, size_of::<M>());
    assert_eq!(F::<M, X, O, L>::GRADS, field(|t: &Tr<M, X, O, L>| &t.backprop.grads));
    assert_eq!(F::<M, X, O, L>::CACHE, field(|t: &Tr<M, X, O, L>| &t.backprop.cache));
    assert_eq!(F::<M, X, O, L>::CACHE, size_of::<<M as Train<X>>::Cache>());
    assert_eq!(F::<M, X, O, L>::OPTIMIZER_STATE, field(|t: &Tr<M, X, O, L>| &t.state));
    assert_eq!(F::<M, X, O, L>::OUTPUT, field(|t: &Tr<M, X, O, L>| &t.backprop.y));
    assert_eq!(F::<M, X, O, L>::OUTPUT, field(|t: &Tr<M, X, O, L>| &t.backprop.dy));
    assert_eq!(F::<M, X, O, L>::OUTPUT, returns(<M as Layer<X>>::forward));
    assert_eq!(F::<M, X, O, L>::INPUT, second_argument(<M as Layer<X>>::forward));
    assert_eq!(F::<M, X, O, L>::INPUT, returns_from_backward(<M as Train<X>>::backward::<WithDx>));
    assert_eq!(F::<M, X, O, L>::TARGET, size_of::<L::Target>());
    assert_eq!(F::<M, X, O, L>::TRAINER, size_of::<Tr<M, X, O, L>>());
    assert_eq!(F::<M, X, O, L>::INFER_SCRATCH, <M as Layer<X>>::INFER_SCRATCH);
    assert_eq!(F::<M, X, O, L>::INFER_ACTIVATIONS, <M as Layer<X>>::ACTIVATIONS);
    assert_eq!(F::<M, X, O, L>::BACKWARD_SCRATCH, F::<M, X, O, L>::CACHE);
    // the totals, as documented
    assert_eq!(
        F::<M, X, O, L>::INFER,
        size_of::<M>() + size_of::<X>() + <M as Layer<X>>::ACTIVATIONS
    );
    // the output `y` is the trainer's: no term of its own
    assert_eq!(
        F::<M, X, O, L>::TRAIN,
        size_of::<M>()
            + size_of::<Tr<M, X, O, L>>()
            + size_of::<X>()
            + size_of::<L::Target>()
            + size_of::<<M as Train<X>>::Cache>()
    );
    // the trainer holds at least its parts: gradient, cache, y, dy, state
    assert!(
        F::<M, X, O, L>::TRAINER
            >= F::<M, X, O, L>::GRADS
                + F::<M, X, O, L>::CACHE
                + 2 * F::<M, X, O, L>::OUTPUT
                + F::<M, X, O, L>::OPTIMIZER_STATE
    );
    // INFER_SCRATCH is a lower bound of what any evaluation order needs,
    // so of what forward keeps live (the input and INFER_ACTIVATIONS)
    assert!(
        F::<M, X, O, L>::INFER_SCRATCH
            <= F::<M, X, O, L>::INPUT + F::<M, X, O, L>::INFER_ACTIVATIONS,
        "INFER_SCRATCH {} > INPUT {} + INFER_ACTIVATIONS {} for {}",
        F::<M, X, O, L>::INFER_SCRATCH,
        F::<M, X, O, L>::INPUT,
        F::<M, X, O, L>::INFER_ACTIVATIONS,
        std::any::type_name::<M>()
    );
    // what forward keeps live is at most what a training pass keeps
    assert!(F::<M, X, O, L>::INFER_ACTIVATIONS <= F::<M, X, O, L>::CACHE + F::<M, X, O, L>::OUTPUT);
    assert!(F::<M, X, O, L>::TRAIN > F::<M, X, O, L>::INFER);
}

/// [`check`], and for a sequence of layers without caches of their own
/// (every layer here but `Residual`) what `forward` keeps live is exactly
/// every intermediate and the output: `CACHE + OUTPUT`.
fn check_plain<M, X, O, L>()
where
    M: Train<X> + Module<Scalar = L::Scalar>,
    O: Optimizer<M>,
    L: Loss<M::Output>,
    L::Scalar: Real,
{
    check::<M, X, O, L>();
    type F<M, X, O, L> = Footprint<M, X, O, L>;
    assert_eq!(
        F::<M, X, O, L>::INFER_ACTIVATIONS,
        F::<M, X, O, L>::CACHE + F::<M, X, O, L>::OUTPUT
    );
}

type Sine = Seq![Linear<f32, 1, 16>, Tanh, Linear<f32, 16, 16>, Tanh, Linear<f32, 16, 1>];
type Xor = Seq![Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 1>];
type Deep = Seq![
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 64>,
    Relu,
    Linear<f32, 64, 10>
];
type Odd = Seq![LinearNoBias<f64, 3, 5>, LeakyRelu<f64>, Linear<f64, 5, 2>, Sigmoid, Identity];
/// The d2l MLP: d = 784 inputs, h = 256 hidden units, q = 10 outputs.
type D2l = Seq![Linear<f32, 784, 256>, Relu, Linear<f32, 256, 10>];
/// A residual block of width 4 through 8 hidden units.
type Block = Residual<Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 4>]>;
/// The block inside a sequence.
type ResNet = Seq![Linear<f32, 2, 4>, Tanh, Block, Linear<f32, 4, 3>];
/// Residual blocks inside a residual block.
type Nested = Residual<Seq![Linear<f64, 3, 3>, Tanh, Residual<Residual<Linear<f64, 3, 3>>>]>;

fn check_optimizers<M, X>()
where
    M: Train<X> + Module<Scalar = f32>,
    Mse: Loss<M::Output, Scalar = f32>,
    SoftmaxCrossEntropy: Loss<M::Output, Scalar = f32>,
{
    check_plain::<M, X, Sgd<f32>, Mse>();
    check_plain::<M, X, Momentum<f32>, Mse>();
    check_plain::<M, X, Adam<f32>, Mse>();
    check_plain::<M, X, Adam<f32>, SoftmaxCrossEntropy>();
}

#[test]
fn consts_are_size_of_the_values() {
    check_optimizers::<Sine, SMatrix<f32, 1, 1>>();
    check_optimizers::<Sine, SMatrix<f32, 1, 16>>();
    check_optimizers::<Xor, SMatrix<f32, 2, 4>>();
    check_optimizers::<Deep, SMatrix<f32, 64, 8>>();
    check_optimizers::<D2l, SMatrix<f32, 784, 1>>();
    check_optimizers::<D2l, SMatrix<f32, 784, 32>>();
    check_plain::<Odd, SMatrix<f64, 3, 7>, Adam<f64>, Mse>();
    check_plain::<Odd, SMatrix<f64, 3, 7>, Momentum<f64>, Mse>();
    check_plain::<Linear<f64, 3, 2>, SMatrix<f64, 3, 1>, Sgd<f64>, Mse>();
    // residual blocks: alone, in a sequence, nested
    check::<ResNet, SMatrix<f32, 2, 1>, Adam<f32>, Mse>();
    check::<ResNet, SMatrix<f32, 2, 6>, Sgd<f32>, SoftmaxCrossEntropy>();
    check::<Block, SMatrix<f32, 4, 3>, Momentum<f32>, Mse>();
}

/// The same for a residual block over a single layer and for residual
/// blocks inside a residual block.
#[test]
fn consts_are_size_of_the_values_for_one_layer_and_nested_residual_blocks() {
    check::<Residual<Linear<f32, 4, 4>>, SMatrix<f32, 4, 1>, Sgd<f32>, Mse>();
    check::<Residual<Residual<Linear<f32, 4, 4>>>, SMatrix<f32, 4, 1>, Sgd<f32>, Mse>();
    check::<Nested, SMatrix<f64, 3, 2>, Adam<f64>, Mse>();
}

/// `INFER_SCRATCH` of a nest of pairs is the largest input + output pair of
/// any layer, wherever it sits in the nest; `CACHE` holds every
/// intermediate once (rows counted by hand; one column per sample).
#[test]
fn scratch_is_the_largest_pair_and_cache_every_intermediate() {
    const B: usize = 3;
    type Last = Seq![Linear<f32, 2, 3>, Tanh, Linear<f32, 3, 4>, Tanh, Linear<f32, 4, 50>];
    type First = Seq![Linear<f32, 50, 4>, Tanh, Linear<f32, 4, 3>, Tanh, Linear<f32, 3, 2>];
    type Middle = Seq![Linear<f32, 2, 3>, Relu, Linear<f32, 3, 40>, Relu, Linear<f32, 40, 1>];
    let f32s = |rows: usize| rows * B * 4;
    // pairs 2+3, 3+3, 3+4, 4+4, 4+50; intermediates 3, 3, 4, 4
    assert_eq!(Footprint::<Last, SMatrix<f32, 2, B>>::INFER_SCRATCH, f32s(54));
    assert_eq!(Footprint::<Last, SMatrix<f32, 2, B>>::CACHE, f32s(14));
    assert_eq!(Footprint::<First, SMatrix<f32, 50, B>>::INFER_SCRATCH, f32s(54));
    assert_eq!(Footprint::<First, SMatrix<f32, 50, B>>::CACHE, f32s(14));
    // pairs 2+3, 3+3, 3+40, 40+40, 40+1; intermediates 3, 3, 40, 40
    assert_eq!(Footprint::<Middle, SMatrix<f32, 2, B>>::INFER_SCRATCH, f32s(80));
    assert_eq!(Footprint::<Middle, SMatrix<f32, 2, B>>::CACHE, f32s(86));
    assert_eq!(Footprint::<Middle, SMatrix<f32, 2, B>>::INFER_ACTIVATIONS, f32s(87));
    // the sine network: every pair is at most 16 + 16; four 16-row intermediates
    assert_eq!(Footprint::<Sine, SMatrix<f32, 1, B>>::INFER_SCRATCH, f32s(32));
    assert_eq!(Footprint::<Sine, SMatrix<f32, 1, B>>::CACHE, f32s(64));
    // f64, LinearNoBias, LeakyRelu, Sigmoid, Identity: rows 3, 5, 5, 2, 2, 2
    assert_eq!(Footprint::<Odd, SMatrix<f64, 3, B>>::INFER_SCRATCH, 10 * B * 8);
    assert_eq!(Footprint::<Odd, SMatrix<f64, 3, B>>::CACHE, 14 * B * 8);
}

/// A residual block's `CACHE` holds its inner output and its inner cache;
/// its `forward` keeps the inner's activations (the sum is written over the
/// inner output) besides the input (rows counted by hand).
#[test]
fn residual_cache_holds_the_inner_output_and_the_inner_cache() {
    const B: usize = 3;
    type Inner = Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 4>];
    type X = SMatrix<f32, 4, B>;
    type F = Footprint<Block, X>;
    let f32s = |rows: usize| rows * B * 4;
    // the inner sequence: z and relu(z), 8 rows each
    assert_eq!(Footprint::<Inner, X>::CACHE, f32s(16));
    // the block: the inner output (4 rows), then the inner cache
    assert_eq!(F::CACHE, size_of::<X>() + Footprint::<Inner, X>::CACHE);
    assert_eq!(F::CACHE, f32s(20));
    assert_eq!(F::BACKWARD_SCRATCH, F::CACHE);
    assert_eq!(F::INFER_ACTIVATIONS, Footprint::<Inner, X>::INFER_ACTIVATIONS);
    assert_eq!(F::INFER_ACTIVATIONS, f32s(8 + 8 + 4));
    // a lower bound of what forward keeps live, at least the inner's
    // largest pair (8 + 8) and x with the inner's output for the sum
    const { assert!(F::INFER_SCRATCH <= F::INPUT + F::INFER_ACTIVATIONS) };
    const { assert!(F::INFER_SCRATCH >= Footprint::<Inner, X>::INFER_SCRATCH) };
    const { assert!(F::INFER_SCRATCH >= 2 * size_of::<X>()) };
    assert_eq!(F::INFER, F::PARAMS + F::INPUT + F::INFER_ACTIVATIONS);
    // in a sequence: the outputs of Linear, Tanh and the block (4 rows
    // each), then the block's own cache
    assert_eq!(Footprint::<ResNet, SMatrix<f32, 2, B>>::CACHE, f32s(12) + F::CACHE);
    // nested: Residual<Residual<Linear>> keeps two outputs of 3 rows; the
    // outer block of `Nested` its inner output, Linear's and Tanh's outputs
    // and that: 15 rows of f64
    type Rr = Residual<Residual<Linear<f64, 3, 3>>>;
    assert_eq!(Footprint::<Rr, SMatrix<f64, 3, B>>::CACHE, 2 * 3 * B * 8);
    assert_eq!(Footprint::<Nested, SMatrix<f64, 3, B>>::CACHE, 15 * B * 8);
    // and against the values built
    let block: Block = Residual::new(seq![Linear::zeros(), Relu, Linear::zeros()]);
    let mut cache = <Block as Train<X>>::Cache::zeros();
    let mut y = X::zeros();
    block.forward_train(&X::repeat(1.0), &mut cache, &mut y);
    assert_eq!(F::CACHE, core::mem::size_of_val(&cache));
    assert_eq!(size_of::<X>(), core::mem::size_of_val(&cache.0));
    assert_eq!(Footprint::<Inner, X>::CACHE, core::mem::size_of_val(&cache.1));
    let tr: Trainer<f32, ResNet, SMatrix<f32, 2, B>, Sgd<f32>> = Trainer::new(Sgd::new(0.1));
    let f = Footprint::<ResNet, SMatrix<f32, 2, B>, Sgd<f32>>::CACHE;
    assert_eq!(f, core::mem::size_of_val(&tr.backprop.cache));
}

/// A layer that only infers (`Layer`, no `Train`): `y = s·x / 64` with an
/// `i8` scale per feature.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Int8Scale<const N: usize> {
    s: [i8; N],
}

impl<const N: usize, const B: usize> Layer<SMatrix<f32, N, B>> for Int8Scale<N> {
    type Output = SMatrix<f32, N, B>;
    fn forward(&self, x: &SMatrix<f32, N, B>) -> SMatrix<f32, N, B> {
        SMatrix::from_fn(|i, j| x[(i, j)] * f32::from(self.s[i]) / 64.0)
    }
}

/// The inference consts of a model that cannot be trained (it holds an
/// inference-only layer): `PARAMS`, `INPUT`, `OUTPUT`, `INFER_SCRATCH`,
/// `INFER_ACTIVATIONS`, `INFER` and `assert_fits!(.., infer <= ..)`.
#[test]
fn inference_only_models_have_an_inference_footprint() {
    const B: usize = 5;
    type Q = Seq![Linear<f32, 3, 6>, Int8Scale<6>, Relu, Linear<f32, 6, 2>];
    type X = SMatrix<f32, 3, B>;
    type F = Footprint<Q, X>;
    let f32s = |rows: usize| rows * B * 4;
    assert_eq!(F::PARAMS, size_of::<Q>());
    const { assert!(F::PARAMS >= (3 * 6 + 6 + 6 * 2 + 2) * 4 + 6) };
    assert_eq!(F::INPUT, size_of::<X>());
    assert_eq!(F::OUTPUT, returns(<Q as Layer<X>>::forward));
    assert_eq!(F::OUTPUT, f32s(2));
    // pairs 3 + 6, 6 + 6, 6 + 6, 6 + 2; intermediates 6, 6, 6 and the output
    assert_eq!(F::INFER_SCRATCH, f32s(12));
    assert_eq!(F::INFER_ACTIVATIONS, f32s(6 + 6 + 6 + 2));
    assert_eq!(F::INFER_ACTIVATIONS, <Q as Layer<X>>::ACTIVATIONS);
    assert_eq!(F::INFER, F::PARAMS + F::INPUT + F::INFER_ACTIVATIONS);
    const _: () = stackprop::memory::fits("Q", Footprint::<Q, SMatrix<f32, 3, 5>>::INFER, 1024);
    stackprop::assert_fits!(Q, SMatrix<f32, 3, 5>, infer <= 1024);
    // a value of it, which runs
    let q: Q = seq![
        Linear::from_fn(|o, i| (o as f32 - i as f32) / 4.0, |o| o as f32 / 8.0),
        Int8Scale { s: [64, -64, 32, 0, 127, -128] },
        Relu,
        Linear::from_fn(|o, i| (o + i) as f32 / 8.0, |_| 0.5)
    ];
    assert_eq!(F::PARAMS, core::mem::size_of_val(&q));
    let x = X::from_fn(|i, j| i as f32 - j as f32 / 2.0);
    let (l1, (s, (_, l2))) = &q;
    let h = l1.forward(&x);
    let want = l2.forward(&s.forward(&h).map(|v| v.max(0.0)));
    assert_eq!(q.forward(&x), want);
}

/// The same consts against `size_of_val` of values actually built (small
/// networks only: they sit on the test thread's stack).
#[test]
fn consts_match_built_values() {
    type X = SMatrix<f32, 2, 4>;
    type F = Footprint<Xor, X, Adam<f32>>;
    let net: Xor = seq![Linear::zeros(), Tanh, Linear::zeros()];
    let tr: Trainer<f32, Xor, X, Adam<f32>> = Trainer::new(Adam::new(0.1));
    let x = X::zeros();
    let mut cache = <Xor as Train<X>>::Cache::zeros();
    let mut y = SMatrix::zeros();
    net.forward_train(&x, &mut cache, &mut y);
    assert_eq!(F::PARAMS, core::mem::size_of_val(&net));
    assert_eq!(F::GRADS, core::mem::size_of_val(&tr.backprop.grads));
    assert_eq!(F::CACHE, core::mem::size_of_val(&cache));
    assert_eq!(F::CACHE, core::mem::size_of_val(&tr.backprop.cache));
    assert_eq!(F::OPTIMIZER_STATE, core::mem::size_of_val(&tr.state));
    assert_eq!(F::OUTPUT, core::mem::size_of_val(&y));
    assert_eq!(F::OUTPUT, core::mem::size_of_val(&tr.backprop.y));
    assert_eq!(F::INPUT, core::mem::size_of_val(&x));
    assert_eq!(F::TRAINER, core::mem::size_of_val(&tr));
    // 2→8→1 in f32 at batch 4: 33 parameters; cache z, h: 8×4 each
    assert_eq!(F::PARAMS, 33 * 4);
    assert_eq!(F::CACHE, 2 * 8 * 4 * 4);
    assert_eq!(F::OPTIMIZER_STATE, 2 * 33 * 4 + 2 * 4);
}

/// The d2l closed forms for the MLP x ∈ ℝᵈ → z = W⁽¹⁾x + b⁽¹⁾ ∈ ℝʰ →
/// h = relu(z) → o = W⁽²⁾h + b⁽²⁾ ∈ ℝ^q, f32 (4 bytes), batch B.
fn d2l_closed_form<const B: usize>() {
    const D: usize = 784;
    const H: usize = 256;
    const Q: usize = 10;
    const F32: usize = 4;
    type F<const B: usize> = Footprint<D2l, SMatrix<f32, D, B>, Adam<f32>>;
    let params = (H * D + Q * H + H + Q) * F32;
    assert_eq!(F::<B>::PARAMS, params);
    assert_eq!(params, 814_120);
    // training keeps z and h (both h×B) for backward: the cache
    assert_eq!(F::<B>::CACHE, 2 * H * B * F32);
    // prediction needs at most one layer's input and output at a time: the
    // largest pair is (x, z) since d > h > q
    assert_eq!(F::<B>::INFER_SCRATCH, (D + H) * B * F32);
    // what stackprop's forward keeps live: z, h and o
    assert_eq!(F::<B>::INFER_ACTIVATIONS, (2 * H + Q) * B * F32);
    assert_eq!(F::<B>::INFER, params + D * B * F32 + (2 * H + Q) * B * F32);
    // Adam: two moments shaped like the model, and two scalars
    assert_eq!(F::<B>::OPTIMIZER_STATE, 2 * params + 2 * F32);
    assert_eq!(Footprint::<D2l, SMatrix<f32, D, B>, Momentum<f32>>::OPTIMIZER_STATE, params);
    assert_eq!(Footprint::<D2l, SMatrix<f32, D, B>, Sgd<f32>>::OPTIMIZER_STATE, 0);
    // the trainer: gradient, Adam's state, cache (z, h), y and dy; plus the
    // optimizer's hyper-parameters and the L2 option
    let extra =
        F::<B>::TRAINER - (params + 2 * params + 2 * F32 + 2 * H * B * F32 + 2 * Q * B * F32);
    assert_eq!(extra, size_of::<Adam<f32>>() + size_of::<Option<f32>>());
    // one step: params, the trainer, x, target and the input gradients of z
    // and h (y is the trainer's)
    assert_eq!(
        F::<B>::TRAIN,
        params + F::<B>::TRAINER + D * B * F32 + Q * B * F32 + 2 * H * B * F32
    );
    // the same total as before y moved into the trainer: params, gradient,
    // state, cache, y, dy, x, target and the input gradients
    assert_eq!(
        F::<B>::TRAIN,
        4 * params + 2 * F32 + extra + D * B * F32 + 3 * Q * B * F32 + 4 * H * B * F32
    );
}

#[test]
fn d2l_closed_form_batch_1() {
    d2l_closed_form::<1>();
}

#[test]
fn d2l_closed_form_batch_32() {
    d2l_closed_form::<32>();
}

/// A budget assertion that holds compiles (the failing one is
/// tests/ui/over_budget.rs).
#[test]
fn budget_assertions_that_fit_compile() {
    stackprop::assert_fits!(Xor, SMatrix<f32, 2, 4>, infer <= 512);
    stackprop::assert_fits!(Xor, SMatrix<f32, 2, 4>, Adam<f32>, train <= 2048);
    stackprop::assert_fits!(D2l, SMatrix<f32, 784, 32>, Adam<f32>, SoftmaxCrossEntropy, train <= 4 << 20);
    const _: () = stackprop::memory::fits("xor", Footprint::<Xor, SMatrix<f32, 2, 4>>::INFER, 512);
    // 2→8→1 at batch 4: 33 parameters, x (2×4), z and h (8×4 each), y (1×4)
    assert_eq!(Footprint::<Xor, SMatrix<f32, 2, 4>>::INFER, (33 + 8 + 64 + 4) * 4);
}

/// `ConstZeros::ZEROS` is `Zeros::zeros()` for models, caches, optimizer
/// states and trainers (small networks: on the stack).
#[test]
fn const_zeros_equal_zeros() {
    type X = SMatrix<f64, 3, 7>;
    assert_eq!(Odd::ZEROS, Odd::zeros());
    assert_eq!(<Odd as Train<X>>::Cache::ZEROS, <Odd as Train<X>>::Cache::zeros());
    assert_eq!(AdamState::<Odd, f64>::ZEROS, AdamState::<Odd, f64>::zeros());
    let tr = Trainer::<f64, Odd, X, Adam<f64>>::zeroed(Adam::new(0.5));
    let new = Trainer::<f64, Odd, X, Adam<f64>>::new(Adam::new(0.5));
    let (a, b) = (tr.backprop, new.backprop);
    assert_eq!((a.grads, a.cache, a.y, a.dy, a.l2), (b.grads, b.cache, b.y, b.dy, b.l2));
    assert_eq!((tr.state, tr.optimizer), (new.state, new.optimizer));
    // with a residual block, whose cache holds its inner output
    type Y = SMatrix<f64, 3, 2>;
    assert_eq!(Nested::ZEROS, Nested::zeros());
    assert_eq!(<Nested as Train<Y>>::Cache::ZEROS, <Nested as Train<Y>>::Cache::zeros());
    let tr = Trainer::<f64, Nested, Y, Adam<f64>>::zeroed(Adam::new(0.5));
    let new = Trainer::<f64, Nested, Y, Adam<f64>>::new(Adam::new(0.5));
    let (a, b) = (tr.backprop, new.backprop);
    assert_eq!((a.grads, a.cache, a.y, a.dy, a.l2), (b.grads, b.cache, b.y, b.dy, b.l2));
    assert_eq!((tr.state, tr.optimizer), (new.state, new.optimizer));
    assert_eq!(LeakyRelu::<f32>::ZEROS, LeakyRelu::<f32>::zeros());
}

const ADAM: Adam<f32> =
    Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.0, decay_biases: false };
type X32 = SMatrix<f32, 784, 32>;
type D2lTrainer = Trainer<f32, D2l, X32, Adam<f32>>;

/// Runs `f` on a thread with a `kib` KiB stack and returns its result; a
/// stack overflow aborts the whole test binary.
fn on_stack<R: Send + 'static>(kib: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new().stack_size(kib << 10).spawn(f).unwrap().join().unwrap()
}

/// The d2l model (814 KB), its Adam trainer at batch 32 (≈ 2.5 MB) and a
/// batch built by `boxed!` on a 64 KiB stack: had any of them gone through
/// the stack, the thread would overflow and the test binary abort. Then one
/// training step on them, on a thread whose stack is far smaller than the
/// trainer.
#[test]
fn boxed_builds_big_values_in_place() {
    type F = Footprint<D2l, X32, Adam<f32>, SoftmaxCrossEntropy>;
    // the values are many times the 64 KiB stack
    const { assert!(F::PARAMS > 12 * (64 << 10) && F::TRAINER > 36 * (64 << 10)) };
    let (mut net, mut tr, mut x) = on_stack(64, || {
        let net = stackprop::boxed!(D2l::ZEROS);
        let tr = stackprop::boxed!(D2lTrainer::zeroed(ADAM));
        let x = stackprop::boxed!(X32::ZEROS);
        assert!(net[0].0.weight.iter().chain(tr[0].state.v.1.1.bias.iter()).all(|&v| v == 0.0));
        assert_eq!(tr[0].optimizer, ADAM);
        (net, tr, x)
    });
    // A step needs BACKWARD_SCRATCH = 64 KiB of values on the stack (the
    // output y is the trainer's, on the heap here), plus temporaries and,
    // in a debug build, the copies unoptimized code makes: a debug build
    // needed about 500–600 KiB (the first layer's input gradient, 98 KiB
    // here, is never computed nor given room: `NoDx`).
    const STEP_KIB: usize = 768;
    const { assert!(STEP_KIB << 10 < F::TRAINER / 3) };
    on_stack(STEP_KIB, move || {
        let ([net], [tr], [x]) = (&mut *net, &mut *tr, &mut *x);
        net.0.reinit(&mut Rng::new(1), Init::HeUniform);
        net.1.1.reinit(&mut Rng::new(2), Init::HeUniform);
        x.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 7) as f32 / 7.0);
        let t: [usize; 32] = core::array::from_fn(|j| j % 10);
        let first = tr.step(net, &SoftmaxCrossEntropy, x, &t).unwrap();
        let mut last = first;
        for _ in 0..5 {
            last = tr.step(net, &SoftmaxCrossEntropy, x, &t).unwrap();
        }
        assert!(last < first, "{last} !< {first}");
    });
}
