//! A parametric layer defined here, outside the crate, with no edit to
//! `src/`: it trains in a sequence, saves and loads, exports as Rust source
//! that compiles, imports from PyTorch, and passes the gradient checker —
//! everything the crate's own layers do, through the layer's description
//! alone.
//!
//! The layer is a quadratic form, `y_o = Σᵢⱼ W[o, i, j]·xᵢ·xⱼ + b_o`, with a
//! weight of rank 3 (PyTorch's shape `[O, I, I]`), the module `Quadratic` of
//! tools/make_torch_blocks.py.

mod fixture;

use nalgebra::SMatrix;
use proptest::prelude::*;
use stackprop::export::write_rust;
use stackprop::gradcheck::{self, Config};
use stackprop::io::{self, file_size, torch};
use stackprop::layer::{Backward, Dx, Grads};
use stackprop::module::{Desc, ParamKind};
use stackprop::prelude::*;
use stackprop::rng::Rng;
use stackprop::zeros::ConstZeros;

/// `y_o = Σᵢⱼ W[o, i, j]·xᵢ·xⱼ + b_o` for each column `x` of a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quadratic<T, const I: usize, const O: usize> {
    /// `weight[j][i][o]` is `W[o, i, j]`: the column-major order of the
    /// shape `[O, I, I]`, as the crate stores every tensor.
    pub weight: [[[T; O]; I]; I],
    /// `b`.
    pub bias: [T; O],
}

impl<T: Copy, const I: usize, const O: usize> Quadratic<T, I, O> {
    /// From the weight (nested column-major) and the bias: the `const`
    /// constructor the exported source calls.
    pub const fn from_parts(weight: [[[T; O]; I]; I], bias: [T; O]) -> Self {
        Quadratic { weight, bias }
    }
}

impl<T: Real, const I: usize, const O: usize> Quadratic<T, I, O> {
    fn w(&self, o: usize, i: usize, j: usize) -> T {
        self.weight[j][i][o]
    }
}

impl<T: Real, const I: usize, const O: usize> Zeros for Quadratic<T, I, O> {
    fn zeros() -> Self {
        Quadratic { weight: [[[T::zero(); O]; I]; I], bias: [T::zero(); O] }
    }
    fn set_zero(&mut self) {
        *self = Self::zeros();
    }
}

impl<T: Real, const I: usize, const O: usize> Default for Quadratic<T, I, O> {
    fn default() -> Self {
        Self::zeros()
    }
}

impl<T: Real, const I: usize, const O: usize> Module for Quadratic<T, I, O> {
    type Scalar = T;
    const DESC: Desc = Desc::new("Quadratic")
        .rust("crate::Quadratic", "from_parts")
        .scalar::<T>()
        .dim("in", I)
        .dim("out", O)
        .tensor::<T>("weight", ParamKind::Weight, &[O, I, I])
        .tensor::<T>("bias", ParamKind::Bias, &[O]);

    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(self.weight.as_flattened().as_flattened().into()),
            1 => Some(self.bias.as_slice().into()),
            _ => None,
        }
    }

    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(self.weight.as_flattened_mut().as_flattened_mut().into()),
            1 => Some(self.bias.as_mut_slice().into()),
            _ => None,
        }
    }
}

impl<T: Real, const I: usize, const O: usize, const B: usize> Layer<SMatrix<T, I, B>>
    for Quadratic<T, I, O>
{
    type Output = SMatrix<T, O, B>;

    fn forward(&self, x: &SMatrix<T, I, B>) -> SMatrix<T, O, B> {
        SMatrix::from_fn(|o, b| {
            let mut y = self.bias[o];
            for j in 0..I {
                for i in 0..I {
                    y += self.w(o, i, j) * x[(i, b)] * x[(j, b)];
                }
            }
            y
        })
    }
}

impl<T: Real, const I: usize, const O: usize, const B: usize> Train<SMatrix<T, I, B>>
    for Quadratic<T, I, O>
{
    type Cache = ();

    fn forward_train(&self, x: &SMatrix<T, I, B>, _: &mut (), y: &mut SMatrix<T, O, B>) {
        *y = self.forward(x);
    }

    /// `∂J/∂W[o, i, j] = Σ_b dy_ob·x_ib·x_jb`, `∂J/∂b_o = Σ_b dy_ob`,
    /// `∂J/∂x_kb = Σ_o dy_ob·(Σⱼ W[o, k, j]·x_jb + Σᵢ W[o, i, k]·x_ib)`.
    fn backward<D: Dx>(
        &self,
        x: &SMatrix<T, I, B>,
        _y: &SMatrix<T, O, B>,
        _cache: &(),
        dy: &SMatrix<T, O, B>,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, I, B>>> {
        if mode == Grads::Write {
            grads.set_zero();
        }
        for b in 0..B {
            for o in 0..O {
                let d = dy[(o, b)];
                grads.bias[o] += d;
                for j in 0..I {
                    for i in 0..I {
                        grads.weight[j][i][o] += d * x[(i, b)] * x[(j, b)];
                    }
                }
            }
        }
        let dx = D::dx(|| {
            SMatrix::from_fn(|k, b| {
                let mut s = T::zero();
                for o in 0..O {
                    let mut inner = T::zero();
                    for j in 0..I {
                        inner += self.w(o, k, j) * x[(j, b)] + self.w(o, j, k) * x[(j, b)];
                    }
                    s += dy[(o, b)] * inner;
                }
                s
            })
        });
        Backward::new(dx)
    }
}

type Net = Seq![Linear<f64, 3, 4>, Tanh, Quadratic<f64, 4, 2>];

fn net(seed: u64) -> Net {
    let mut rng = Rng::new(seed);
    let mut q = Quadratic::zeros();
    for v in q.weight.as_flattened_mut().as_flattened_mut().iter_mut().chain(&mut q.bias) {
        *v = rng.range(-0.25, 0.25);
    }
    seq![Linear::init(&mut rng, Init::XavierUniform), Tanh, q]
}

fn matrix<const R: usize, const C: usize>() -> impl Strategy<Value = SMatrix<f64, R, C>> {
    proptest::collection::vec(-1.5..1.5f64, R * C).prop_map(|v| SMatrix::from_column_slice(&v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The public gradient checker passes the layer alone and inside a
    /// sequence (finite differences, adjoint identity, backward contract),
    /// at batch 1 and 3.
    #[test]
    fn the_layer_passes_the_gradient_checker(
        seed in any::<u64>(), x1 in matrix::<3, 1>(), x3 in matrix::<3, 3>(), q in matrix::<4, 2>()
    ) {
        let cfg = Config::default();
        let n = net(seed);
        let ok = |r: Result<gradcheck::Report, gradcheck::Failure>| r.map(|_| ()).map_err(|f| TestCaseError::fail(f.to_string()));
        ok(gradcheck::check_layer(&n.1.1, &q, &mut Rng::new(seed), &cfg))?;
        ok(gradcheck::check_layer(&n, &x1, &mut Rng::new(seed), &cfg))?;
        ok(gradcheck::check_layer(&n, &x3, &mut Rng::new(seed), &cfg))?;
    }
}

/// A regression target the network can fit: it trains with Adam in a
/// sequence, the loss falling by two orders of magnitude.
#[test]
fn trains_in_a_sequence() {
    let mut model = net(1);
    let mut rng = Rng::new(2);
    let x = SMatrix::<f64, 3, 16>::from_fn(|_, _| rng.range(-1.0, 1.0));
    let t = SMatrix::<f64, 2, 16>::from_fn(|o, b| {
        let (a, c) = (x[(0, b)], x[(1, b)] - x[(2, b)]);
        if o == 0 { 0.5 * a * c } else { 0.3 * c * c - 0.1 }
    });
    let mut tr: Trainer<f64, Net, _, _> = Trainer::new(Adam::new(0.02));
    let first = tr.step(&mut model, &Mse, &x, &t).unwrap();
    let mut last = first;
    for _ in 0..1500 {
        last = tr.step(&mut model, &Mse, &x, &t).unwrap();
    }
    assert!(last < first / 100.0, "{first} -> {last}");
    // The gradient reaches the layer's rank-3 weight by its path.
    let g = stackprop::module::find(&tr.backprop.grads, "2.weight")
        .and_then(Data::slice::<f64>)
        .unwrap();
    assert_eq!(g.len(), 2 * 4 * 4);
    assert!(g.iter().any(|&v| v != 0.0));
}

/// Saves and loads bit-exactly through the weight file, whose signature
/// names the layer; another layer in its place is refused by name.
#[test]
fn saves_and_loads() {
    let model = net(3);
    let mut buf = [0u8; file_size::<Net>()];
    io::save(&model, &mut buf).unwrap();
    let mut back = Net::zeros();
    io::load(&mut back, &buf).unwrap();
    assert_eq!(back, model);

    let mut other: Seq![Linear<f64, 3, 4>, Tanh, Linear<f64, 4, 2>] = Default::default();
    assert_eq!(
        io::load(&mut other, &buf).unwrap_err().to_string(),
        "architecture mismatch at layer 2: the model has Linear(f64, in=4, out=2), \
         the file has Quadratic(f64, in=4, out=2)"
    );
    assert_eq!(other, Default::default());
}

/// The exported source: exact text, and the same text compiled below
/// gives the model back, bit for bit.
#[test]
fn exports_rust_source_that_compiles() {
    let model: Seq![Linear<f64, 2, 1>, Tanh, Quadratic<f64, 1, 2>] = seq![
        Linear::from_fn(|_, i| i as f64 - 0.5, |_| 0.25),
        Tanh,
        Quadratic::from_parts([[[0.5, -1.5]]], [1e-3, 2.0])
    ];
    let mut src = String::new();
    write_rust(&mut src, "Exported", "EXPORTED", &model).unwrap();
    assert_eq!(
        src,
        "/// The exported model's type.
pub type Exported = stackprop::Seq![
    stackprop::Linear<f64, 2, 1>,
    stackprop::Tanh,
    crate::Quadratic<f64, 1, 2>,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static EXPORTED: Exported = stackprop::seq![
    stackprop::Linear::<f64, 2, 1>::from_columns([[-0.5], [0.5]], [0.25]),
    stackprop::Tanh,
    crate::Quadratic::<f64, 1, 2>::from_parts([[[0.5, -1.5]]], [0.001, 2.0]),
];
"
    );
    assert_eq!(EXPORTED, model);
}

pub type Exported = stackprop::Seq![
    stackprop::Linear<f64, 2, 1>,
    stackprop::Tanh,
    crate::Quadratic<f64, 1, 2>,
];

pub static EXPORTED: Exported = stackprop::seq![
    stackprop::Linear::<f64, 2, 1>::from_columns([[-0.5], [0.5]], [0.25]),
    stackprop::Tanh,
    crate::Quadratic::<f64, 1, 2>::from_parts([[[0.5, -1.5]]], [0.001, 2.0]),
];

/// The state dict of `nn.Sequential(Linear(3, 4), Tanh(), Quadratic(4, 2))`
/// (tools/make_torch_blocks.py) imports, the rank-3 weight reordered from
/// PyTorch's row-major layout, and the network gives PyTorch's float64
/// outputs (the file's float32 weights widen exactly).
#[test]
fn imports_from_pytorch() {
    let file = include_bytes!("data/torch_quadratic.safetensors");
    let mut model = Net::zeros();
    torch::load(&mut model, file).unwrap();
    fixture::assert_matches(include_str!("data/torch_quadratic.ref.txt"), |x| {
        model.forward(&SMatrix::<f64, 3, 1>::from_column_slice(x)).iter().copied().collect()
    });
    // A model whose layer has another shape is told which tensor differs
    // (the first in the file: safetensors sorts them by name).
    let mut wide: Seq![Linear<f64, 3, 4>, Tanh, Quadratic<f64, 4, 3>] = Default::default();
    assert_eq!(
        torch::load(&mut wide, file).unwrap_err().to_string(),
        "tensor 2.bias has shape [2], the model needs [3]"
    );
    let mut deep: Seq![Linear<f64, 3, 4>, Tanh, Quadratic<f64, 3, 2>] = Default::default();
    assert_eq!(
        torch::load(&mut deep, file).unwrap_err().to_string(),
        "tensor 2.weight has shape [2, 4, 4], the model needs [2, 3, 3]"
    );
}

impl<T: ConstZeros + Copy, const I: usize, const O: usize> ConstZeros for Quadratic<T, I, O> {
    const ZEROS: Self = Quadratic { weight: [[[T::ZEROS; O]; I]; I], bias: [T::ZEROS; O] };
}

/// Its zero value is a constant, so a model holding it can be a `static`.
#[test]
fn lives_in_a_static() {
    static ZERO: Seq![Tanh, Quadratic<f32, 2, 2>] = ConstZeros::ZEROS;
    assert_eq!(ZERO.1, Quadratic::zeros());
}
