//! The memory consts of `stackprop::memory::Footprint` against
//! `core::mem::size_of` of the values they describe, the d2l closed forms,
//! and big models built in place (never on the test thread's stack: only
//! types and `size_of` here, big values live on the heap or in statics).

use core::mem::size_of;
use nalgebra::SMatrix;
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

/// `size_of` of what `backward` returns (`∂J/∂x`, shaped like the input).
#[allow(clippy::type_complexity)]
fn returns_from_backward<S, X, Y, C, R>(_: fn(&S, &X, &Y, &C, &Y, &mut S) -> R) -> usize {
    size_of::<R>()
}

/// Checks every const of `Footprint<M, X, O, L>` against `size_of` of the
/// values it describes: the model, the `Trainer`'s fields, the layer's
/// associated types and `forward`'s return type.
fn check<M, X, O, L>()
where
    M: Layer<X> + Params<L::Scalar>,
    O: Optimizer<M>,
    L: Loss<M::Output>,
    L::Scalar: Real,
{
    type Tr<M, X, O, L> = Trainer<<L as Loss<<M as Layer<X>>::Output>>::Scalar, M, X, O>;
    type F<M, X, O, L> = Footprint<M, X, O, L>;
    assert_eq!(F::<M, X, O, L>::PARAMS, size_of::<M>());
    assert_eq!(F::<M, X, O, L>::GRADS, field(|t: &Tr<M, X, O, L>| &t.grads));
    assert_eq!(F::<M, X, O, L>::CACHE, field(|t: &Tr<M, X, O, L>| &t.cache));
    assert_eq!(F::<M, X, O, L>::OPTIMIZER_STATE, field(|t: &Tr<M, X, O, L>| &t.state));
    assert_eq!(F::<M, X, O, L>::OUTPUT, field(|t: &Tr<M, X, O, L>| &t.dy));
    assert_eq!(F::<M, X, O, L>::OUTPUT, returns(<M as Layer<X>>::forward));
    assert_eq!(F::<M, X, O, L>::INPUT, returns_from_backward(<M as Layer<X>>::backward));
    assert_eq!(F::<M, X, O, L>::TARGET, size_of::<L::Target>());
    assert_eq!(F::<M, X, O, L>::TRAINER, size_of::<Tr<M, X, O, L>>());
    assert_eq!(F::<M, X, O, L>::INFER_SCRATCH, <M as Layer<X>>::INFER_SCRATCH);
    // the totals, as documented
    assert_eq!(
        F::<M, X, O, L>::INFER,
        size_of::<M>() + size_of::<X>() + size_of::<M::Cache>() + size_of::<M::Output>()
    );
    assert_eq!(
        F::<M, X, O, L>::TRAIN,
        size_of::<M>()
            + size_of::<Tr<M, X, O, L>>()
            + size_of::<X>()
            + size_of::<L::Target>()
            + size_of::<M::Output>()
            + size_of::<M::Cache>()
    );
    // the trainer holds at least its parts
    assert!(
        F::<M, X, O, L>::TRAINER
            >= F::<M, X, O, L>::GRADS
                + F::<M, X, O, L>::CACHE
                + F::<M, X, O, L>::OUTPUT
                + F::<M, X, O, L>::OPTIMIZER_STATE
    );
    assert!(
        F::<M, X, O, L>::INFER_SCRATCH
            <= F::<M, X, O, L>::INPUT + F::<M, X, O, L>::INFER_ACTIVATIONS
    );
    assert!(F::<M, X, O, L>::TRAIN > F::<M, X, O, L>::INFER);
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

fn check_optimizers<M, X>()
where
    M: Layer<X> + Params<f32>,
    Mse: Loss<M::Output, Scalar = f32>,
    SoftmaxCrossEntropy: Loss<M::Output, Scalar = f32>,
{
    check::<M, X, Sgd<f32>, Mse>();
    check::<M, X, Momentum<f32>, Mse>();
    check::<M, X, Adam<f32>, Mse>();
    check::<M, X, Adam<f32>, SoftmaxCrossEntropy>();
}

#[test]
fn consts_are_size_of_the_values() {
    check_optimizers::<Sine, SMatrix<f32, 1, 1>>();
    check_optimizers::<Sine, SMatrix<f32, 1, 16>>();
    check_optimizers::<Xor, SMatrix<f32, 2, 4>>();
    check_optimizers::<Deep, SMatrix<f32, 64, 8>>();
    check_optimizers::<D2l, SMatrix<f32, 784, 1>>();
    check_optimizers::<D2l, SMatrix<f32, 784, 32>>();
    check::<Odd, SMatrix<f64, 3, 7>, Adam<f64>, Mse>();
    check::<Odd, SMatrix<f64, 3, 7>, Momentum<f64>, Mse>();
    check::<Linear<f64, 3, 2>, SMatrix<f64, 3, 1>, Sgd<f64>, Mse>();
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

/// The same consts against `size_of_val` of values actually built (small
/// networks only: they sit on the test thread's stack).
#[test]
fn consts_match_built_values() {
    type X = SMatrix<f32, 2, 4>;
    type F = Footprint<Xor, X, Adam<f32>>;
    let net: Xor = seq![Linear::zeros(), Tanh, Linear::zeros()];
    let tr: Trainer<f32, Xor, X, Adam<f32>> = Trainer::new(Adam::new(0.1));
    let x = X::zeros();
    let mut cache = <Xor as Layer<X>>::Cache::zeros();
    let y = net.forward_train(&x, &mut cache);
    assert_eq!(F::PARAMS, core::mem::size_of_val(&net));
    assert_eq!(F::GRADS, core::mem::size_of_val(&tr.grads));
    assert_eq!(F::CACHE, core::mem::size_of_val(&cache));
    assert_eq!(F::OPTIMIZER_STATE, core::mem::size_of_val(&tr.state));
    assert_eq!(F::OUTPUT, core::mem::size_of_val(&y));
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
    // one step: params, gradient, state, cache, dy, x, target, y and the
    // input gradients of z and h; plus the optimizer's hyper-parameters and
    // the L2 option inside the Trainer
    let extra = F::<B>::TRAINER - (params + 2 * params + 2 * F32 + 2 * H * B * F32 + Q * B * F32);
    assert_eq!(extra, size_of::<Adam<f32>>() + size_of::<Option<f32>>());
    assert_eq!(
        F::<B>::TRAIN,
        params + F::<B>::TRAINER + D * B * F32 + Q * B * F32 + Q * B * F32 + 2 * H * B * F32
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
    assert_eq!(<Odd as Layer<X>>::Cache::ZEROS, <Odd as Layer<X>>::Cache::zeros());
    assert_eq!(AdamState::<Odd, f64>::ZEROS, AdamState::<Odd, f64>::zeros());
    let tr = Trainer::<f64, Odd, X, Adam<f64>>::zeroed(Adam::new(0.5));
    let new = Trainer::<f64, Odd, X, Adam<f64>>::new(Adam::new(0.5));
    assert_eq!((tr.grads, tr.cache, tr.dy, tr.state), (new.grads, new.cache, new.dy, new.state));
    assert_eq!((tr.optimizer, tr.l2), (new.optimizer, new.l2));
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
    // A step needs OUTPUT + BACKWARD_SCRATCH = 65 KiB of values on the
    // stack, plus temporaries: this closure needed 97–128 KiB in a release
    // build and 257–384 KiB in a debug build (bisected by hand, 2026-11);
    // after the kernel changes of 2026-12 a debug build needs 560–600 KiB
    // (at 512 it overflowed in 12 of 20 runs, bisected 2026-12-04).
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
