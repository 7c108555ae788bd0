//! Inference in an arena (`stackprop::infer`): the same output as
//! `Layer::forward`, bit for bit, for every layer kind that runs in one, at
//! batch 1 and > 1, starting at either end (dense, convolution, pooling,
//! flatten, activation and residual layers); and `Run::ARENA` is the largest
//! input + output pair (the input alone for in-place layers).

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::infer::{self, Run};
use stackprop::prelude::*;
use stackprop::rng::Rng as SRng;
use stackprop::shape::conv_len;

type Mlp = Seq![Linear<f32, 3, 16>, Tanh, LinearNoBias<f32, 16, 8>, Relu, Residual<Seq![Linear<f32, 8, 8>, Sigmoid]>, Linear<f32, 8, 2>];
type Cnn = Seq![
    Conv1d<f32, 1, 4, 5, 2, 1, 1, 20, { 4 * conv_len(20, 5, 2, 1, 1) }>, Relu,
    Conv1d<f32, 4, 6, 3, 1, 1, 1, 9, 54>, LeakyRelu<f32>,
    MaxPool1d<6, 3, 2, 9, 24>, Flatten<6, 4, 24>,
    Linear<f32, 24, 3>
];

type Cnn2 = Seq![
    Conv2d<f32, 2, 4, 3, 1, 1, 5, 6, 120>, Relu6,
    DepthwiseConv2d<f32, 4, 3, 2, 1, 5, 6, 36>, Tanh,
    AvgPool2d<4, 2, 1, 3, 3, 16>, GlobalAvgPool<4>,
    Linear<f32, 4, 3>
];

fn models(seed: u64) -> (Mlp, Cnn) {
    let mut r = SRng::new(seed);
    let mlp = seq![
        Linear::init(&mut r, Init::Torch),
        Tanh,
        LinearNoBias::init(&mut r, Init::Torch),
        Relu,
        Residual::new(seq![Linear::init(&mut r, Init::Torch), Sigmoid]),
        Linear::init(&mut r, Init::Torch)
    ];
    let cnn = seq![
        Conv1d::init(&mut r, Init::Torch),
        Relu,
        Conv1d::init(&mut r, Init::Torch),
        LeakyRelu::new(0.1).unwrap(),
        MaxPool1d::new(),
        Flatten::new(),
        Linear::init(&mut r, Init::Torch)
    ];
    (mlp, cnn)
}

fn cnn2(seed: u64) -> Cnn2 {
    let mut r = SRng::new(seed);
    seq![
        Conv2d::init(&mut r, Init::Torch),
        Relu6,
        DepthwiseConv2d::init(&mut r, Init::Torch),
        Tanh,
        AvgPool2d::new(),
        GlobalAvgPool::new(),
        Linear::init(&mut r, Init::Torch)
    ]
}

#[test]
fn arena_is_the_largest_pair() {
    // MLP, batch 4: Linear 3+16, Tanh 16 (in place), LinearNoBias 16+8, Relu 8, Residual 8+8, 8+2
    assert_eq!(<Mlp as Run<SMatrix<f32, 3, 4>>>::ARENA, 24 * 4);
    // CNN, batch 1: 20 + 36, 36, 36 + 54, 54, 54 + 24, 24 + 24, 24 + 3
    assert_eq!(<Cnn as Run<SMatrix<f32, 20, 1>>>::ARENA, 90);
    assert_eq!(
        <Cnn as Run<SMatrix<f32, 20, 1>>>::SCRATCH,
        (4 + 2 * 6) * stackprop::kernels::CONV_BLOCK * 4
    );
}

/// Runs `net` with the input at the back of an arena one longer than
/// needed (so the ends differ from `forward_in`'s).
fn from_back<L, const N: usize, const B: usize, const M: usize>(
    net: &L,
    x: &SMatrix<f32, N, B>,
) -> Vec<f32>
where
    L: Run<SMatrix<f32, N, B>, Elem = f32, Output = SMatrix<f32, M, B>>,
{
    let mut arena = vec![f32::NAN; L::ARENA + 1];
    let len = arena.len();
    arena[len - N * B..].copy_from_slice(x.as_slice());
    let front = net.run(&mut arena, false);
    if front { arena[..M * B].to_vec() } else { arena[len - M * B..].to_vec() }
}

proptest! {
    #[test]
    fn same_as_forward(seed in any::<u64>(), x in prop::collection::vec(-3.0f32..3.0, 3 * 4 + 20 * 5)) {
        let (mlp, cnn) = models(seed);
        let a = SMatrix::<f32, 3, 4>::from_column_slice(&x[..12]);
        let mut arena = [f32::NAN; <Mlp as Run<SMatrix<f32, 3, 4>>>::ARENA];
        prop_assert_eq!(infer::forward_in(&mlp, &a, &mut arena), mlp.forward(&a));
        prop_assert_eq!(from_back(&mlp, &a), mlp.forward(&a).as_slice().to_vec());
        let a1 = SMatrix::<f32, 3, 1>::from_column_slice(&x[..3]);
        let mut arena = [0.0; <Mlp as Run<SMatrix<f32, 3, 1>>>::ARENA];
        prop_assert_eq!(infer::forward_in(&mlp, &a1, &mut arena), mlp.forward(&a1));

        let c = SMatrix::<f32, 20, 5>::from_column_slice(&x[12..]);
        let mut arena = [f32::NAN; <Cnn as Run<SMatrix<f32, 20, 5>>>::ARENA];
        prop_assert_eq!(infer::forward_in(&cnn, &c, &mut arena), cnn.forward(&c));
        prop_assert_eq!(from_back(&cnn, &c), cnn.forward(&c).as_slice().to_vec());

        let net = cnn2(seed);
        let d = SMatrix::<f32, 60, 2>::from_fn(|i, j| x[(i + 7 * j) % x.len()]);
        let mut arena = [f32::NAN; <Cnn2 as Run<SMatrix<f32, 60, 2>>>::ARENA];
        prop_assert_eq!(infer::forward_in(&net, &d, &mut arena), net.forward(&d));
        prop_assert_eq!(from_back(&net, &d), net.forward(&d).as_slice().to_vec());
    }
}
