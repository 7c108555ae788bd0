//! The residual block through the tree description: PyTorch's names for
//! its tensors, weight files, Rust source and paths to its parameters and
//! gradients. (Its derivatives are property-tested in tests/gradients.rs.)

mod fixture;

use nalgebra::SMatrix;
use stackprop::export::write_rust;
use stackprop::io::{self, file_size, torch};
use stackprop::module::{self, Module};
use stackprop::prelude::*;

/// tools/make_torch_blocks.py's
/// `nn.Sequential(Linear(3, 4), Tanh(), Residual(Linear(4, 4), Tanh(), Linear(4, 4)), Linear(4, 2))`.
type Net<T> = Seq![
    Linear<T, 3, 4>,
    Tanh,
    Residual<Seq![Linear<T, 4, 4>, Tanh, Linear<T, 4, 4>]>,
    Linear<T, 4, 2>
];

fn imported() -> Net<f64> {
    let mut m = Net::<f64>::zeros();
    torch::load(&mut m, include_bytes!("data/torch_residual.safetensors")).unwrap();
    m
}

/// The state dict names the block's tensors `2.inner.0.weight` …, and the
/// imported network gives PyTorch's float64 outputs.
#[test]
fn imports_pytorch_names_and_matches_its_outputs() {
    let m = imported();
    fixture::assert_matches(include_str!("data/torch_residual.ref.txt"), |x| {
        m.forward(&SMatrix::<f64, 3, 1>::from_column_slice(x)).iter().copied().collect()
    });
    // A model without the block does not take the file: the names differ.
    let mut flat: Seq![Linear<f64, 3, 4>, Tanh, Linear<f64, 4, 4>, Tanh, Linear<f64, 4, 4>, Linear<f64, 4, 2>] =
        Default::default();
    let e = torch::load(&mut flat, include_bytes!("data/torch_residual.safetensors")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unexpected tensor 2.inner.0.bias: the model has no parameter of that name"
    );
}

/// Paths reach parameters and gradients; tuple positions reach the same
/// values.
#[test]
fn paths_reach_parameters_and_gradients() {
    let mut m = imported();
    let names = [
        "0.weight",
        "0.bias",
        "2.inner.0.weight",
        "2.inner.0.bias",
        "2.inner.2.weight",
        "2.inner.2.bias",
        "3.weight",
        "3.bias",
    ];
    for (i, n) in names.iter().enumerate() {
        assert_eq!(module::index_of(&m, n), Some(i), "{n}");
    }
    assert_eq!(module::index_of(&m, "2.inner.1.weight"), None);
    assert_eq!(module::index_of(&m, "2.weight"), None);
    let w = module::find(&m, "2.inner.2.weight").and_then(Data::slice::<f64>).unwrap();
    assert_eq!(w, m.1.1.0.inner.1.1.weight.as_slice());
    if let Some(DataMut::F64(b)) = module::find_mut(&mut m, "2.inner.0.bias") {
        b[3] = 7.0;
    }
    assert_eq!(m.1.1.0.inner.0.bias[3], 7.0);

    let x = SMatrix::<f64, 3, 5>::from_fn(|r, c| (r as f64 - c as f64) * 0.3);
    let t = SMatrix::<f64, 2, 5>::zeros();
    let mut bp = Backprop::new();
    bp.gradient(&m, &Mse, &x, &t).unwrap();
    let g = module::find(&bp.grads, "2.inner.0.weight").and_then(Data::slice::<f64>).unwrap();
    assert_eq!(g, bp.grads.1.1.0.inner.0.weight.as_slice());
    assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|&v| v != 0.0));
}

/// A weight file round trip, and a mismatch inside the block reported at
/// its nested path.
#[test]
fn saves_and_loads() {
    let m = imported();
    let mut buf = [0u8; file_size::<Net<f64>>()];
    io::save(&m, &mut buf).unwrap();
    let mut back = Net::<f64>::zeros();
    io::load(&mut back, &buf).unwrap();
    assert_eq!(back, m);

    let mut other: Seq![
        Linear<f64, 3, 4>,
        Tanh,
        Residual<Seq![Linear<f64, 4, 4>, Relu, Linear<f64, 4, 4>]>,
        Linear<f64, 4, 2>
    ] = Default::default();
    assert_eq!(
        io::load(&mut other, &buf).unwrap_err().to_string(),
        "architecture mismatch at layer 2.inner.1: the model has Relu, the file has Tanh"
    );
    let mut shallow: Seq![Linear<f64, 3, 4>, Tanh, Residual<Linear<f64, 4, 4>>, Linear<f64, 4, 2>] =
        Default::default();
    assert_eq!(
        io::load(&mut shallow, &buf).unwrap_err().to_string(),
        "architecture mismatch at layer 2.inner: the model has a sequence of 1 layer, \
         the file has a sequence of 3 layers"
    );
}

/// The exported source names the block's type and builds it with its
/// `const fn`; the same text, compiled, is the model.
#[test]
fn exports_rust_source_that_compiles() {
    let m: Seq![Linear<f32, 1, 2>, Residual<Seq![Linear<f32, 2, 2>, Relu]>, Residual<Tanh>] = seq![
        Linear::from_fn(|o, _| o as f32, |_| 0.5),
        Residual::new(seq![Linear::from_fn(|o, i| (o == i) as u8 as f32, |_| -1.0), Relu]),
        Residual::new(Tanh)
    ];
    let mut src = String::new();
    write_rust(&mut src, "Net", "NET", &m).unwrap();
    assert_eq!(
        src,
        "/// The exported model's type.
pub type Net = stackprop::Seq![
    stackprop::Linear<f32, 1, 2>,
    stackprop::Residual<stackprop::Seq![stackprop::Linear<f32, 2, 2>, stackprop::Relu]>,
    stackprop::Residual<stackprop::Tanh>,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static NET: Net = stackprop::seq![
    stackprop::Linear::<f32, 1, 2>::from_columns([[0.0, 1.0]], [0.5, 0.5]),
    stackprop::Residual::new(stackprop::seq![stackprop::Linear::<f32, 2, 2>::from_columns([[1.0, 0.0], [0.0, 1.0]], [-1.0, -1.0]), stackprop::Relu]),
    stackprop::Residual::new(stackprop::Tanh),
];
"
    );
    pub type Net = stackprop::Seq![
        stackprop::Linear<f32, 1, 2>,
        stackprop::Residual<stackprop::Seq![stackprop::Linear<f32, 2, 2>, stackprop::Relu]>,
        stackprop::Residual<stackprop::Tanh>,
    ];
    pub static NET: Net = stackprop::seq![
        stackprop::Linear::<f32, 1, 2>::from_columns([[0.0, 1.0]], [0.5, 0.5]),
        stackprop::Residual::new(stackprop::seq![
            stackprop::Linear::<f32, 2, 2>::from_columns([[1.0, 0.0], [0.0, 1.0]], [-1.0, -1.0]),
            stackprop::Relu
        ]),
        stackprop::Residual::new(stackprop::Tanh),
    ];
    assert_eq!(NET, m);
}

/// The block's memory: its cache holds the inner output and the inner
/// cache, and the model's `Footprint` counts it.
#[test]
fn memory_counts_the_block() {
    use core::mem::size_of;
    use stackprop::memory::Footprint;
    type X = SMatrix<f32, 3, 8>;
    type Inner = Seq![Linear<f32, 4, 4>, Tanh, Linear<f32, 4, 4>];
    type H = SMatrix<f32, 4, 8>;
    assert_eq!(
        <Residual<Inner> as Train<H>>::CACHE_BYTES,
        size_of::<H>() + <Inner as Train<H>>::CACHE_BYTES
    );
    // Net's intermediates: the first Linear's and Tanh's outputs, the
    // block's output and its own cache (inner output, inner intermediates).
    assert_eq!(Footprint::<Net<f32>, X>::CACHE, (3 + 1 + 2) * size_of::<H>());
    assert_eq!(<Net<f32> as Module>::SIZE.params, 4 * 3 + 4 + 2 * (4 * 4 + 4) + 2 * 4 + 2);
}
