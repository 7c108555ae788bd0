//! Every convolution, pooling, batch-norm and flatten layer against PyTorch:
//! the layer's state dict is imported from `tests/data/layers/*.safetensors`
//! (`io::torch`), and its output, input gradient and parameter gradients for
//! PyTorch's input and upstream gradient must match PyTorch's float64 values
//! (`*.ref.txt`, written by `tools/make_torch_layers.py`) to 1e-10, relative
//! to the largest reference value of each (plus 1e-14 absolute: the bias
//! gradient of a convolution followed by batch norm is zero up to
//! rounding, ~1e-16 in both frameworks).

use nalgebra::SMatrix;
use stackprop::io::torch;
use stackprop::layer::{Grads, WithDx};
use stackprop::module::{Elem, Module};
use stackprop::prelude::*;
use std::collections::HashMap;

/// The keyed lines of a reference file.
fn reference(name: &str) -> HashMap<String, Vec<f64>> {
    let path = format!("{}/tests/data/layers/{name}.ref.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split(' ');
            let key = it.next().unwrap().to_string();
            (key, it.map(|v| v.parse().unwrap()).collect())
        })
        .collect()
}

fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 1e-10 * scale + 1e-14, "{what}[{i}]: {a} vs PyTorch's {b}");
    }
}

/// Imports `name`'s state dict into `L`, runs the training forward and
/// backward on PyTorch's `x` and `u`, and compares `y`, `dx` and every
/// parameter gradient. Returns the layer, its cache and the reference.
fn check<L, const N: usize, const B: usize, const M: usize>(
    name: &str,
) -> (L, L::Cache, HashMap<String, Vec<f64>>)
where
    L: Train<SMatrix<f64, N, B>, Output = SMatrix<f64, M, B>> + Module + Default,
{
    let r = reference(name);
    let file = std::fs::read(format!(
        "{}/tests/data/layers/{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut layer = L::default();
    torch::load(&mut layer, &file).unwrap_or_else(|e| panic!("{name}: {e}"));
    let x = SMatrix::<f64, N, B>::from_column_slice(&r["x"]);
    let u = SMatrix::<f64, M, B>::from_column_slice(&r["u"]);
    let mut cache = L::Cache::zeros();
    let mut y = SMatrix::zeros();
    layer.forward_train(&x, &mut cache, &mut y);
    close(&format!("{name} y"), y.as_slice(), &r["y"]);
    let mut grads = L::zeros();
    let b = layer.backward::<WithDx>(&x, &y, &cache, &u, &mut grads, Grads::Write);
    close(&format!("{name} dx"), b.dx.as_slice(), &r["dx"]);
    let mut checked = 0;
    stackprop::module::for_each_tensor(&grads, |i, path, spec| {
        let path = path.to_string();
        let key = if path.is_empty() {
            format!("grad.{}", spec.name)
        } else {
            format!("grad.{path}.{}", spec.name)
        };
        if let (Some(want), Some(g)) = (r.get(&key), grads.tensor(i).and_then(f64::of)) {
            close(&format!("{name} {key}"), g, want);
            checked += 1;
        }
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(
        checked,
        r.keys().filter(|k| k.starts_with("grad.")).count(),
        "{name}: gradients compared"
    );
    (layer, cache, r)
}

#[test]
fn conv1d() {
    check::<Conv1d<f64, 1, 4, 5, 2, 1, 1, 12, 20>, 12, 3, 20>("conv1d_s2_p1");
    check::<Conv1d<f64, 3, 2, 3, 1, 2, 2, 7, 14>, 21, 2, 14>("conv1d_same_d2");
    check::<Conv1d<f64, 2, 3, 6, 1, 0, 1, 6, 3>, 12, 13, 3>("conv1d_k_eq_len");
}

#[test]
fn conv2d() {
    check::<Conv2d<f64, 2, 3, 3, 2, 1, 5, 6, 27>, 60, 2, 27>("conv2d_s2_p1");
    check::<Conv2d<f64, 3, 2, 1, 1, 0, 4, 3, 24>, 36, 1, 24>("conv2d_k1");
}

#[test]
fn depthwise_conv2d() {
    check::<DepthwiseConv2d<f64, 3, 3, 1, 1, 4, 5, 60>, 60, 2, 60>("depthwise_s1_p1");
    check::<DepthwiseConv2d<f64, 2, 2, 2, 0, 6, 4, 12>, 48, 3, 12>("depthwise_s2");
}

#[test]
fn pooling() {
    check::<MaxPool1d<3, 3, 2, 9, 12>, 27, 2, 12>("max_pool1d");
    check::<MaxPool2d<2, 2, 2, 4, 6, 12>, 48, 2, 12>("max_pool2d");
    check::<AvgPool1d<3, 2, 1, 5, 12>, 15, 2, 12>("avg_pool1d");
    check::<AvgPool2d<2, 3, 2, 7, 5, 12>, 70, 2, 12>("avg_pool2d");
    check::<GlobalAvgPool<4>, 24, 3, 4>("global_avg_pool2d");
}

#[test]
fn flatten_then_linear_has_pytorchs_weights() {
    check::<Seq![Flatten<3, 4, 12>, Linear<f64, 12, 2>], 12, 2, 2>("flatten_linear_1d");
    check::<Seq![Flatten<2, 3, 24>, Linear<f64, 24, 3>], 24, 2, 3>("flatten_linear_2d");
}

/// Training mode: batch statistics, PyTorch's gradients, and the running
/// statistics after the step (`Train::update_buffers`).
fn batch_norm_train<const C: usize, const N: usize, const B: usize>(name: &str) {
    let (mut bn, cache, r) = check::<BatchNorm<f64, C>, N, B, N>(name);
    <BatchNorm<f64, C> as Train<SMatrix<f64, N, B>>>::update_buffers(&mut bn, &cache);
    close(&format!("{name} running_mean"), bn.running_mean.as_slice(), &r["after.0.running_mean"]);
    close(&format!("{name} running_var"), bn.running_var.as_slice(), &r["after.0.running_var"]);
}

#[test]
fn batch_norm() {
    batch_norm_train::<3, 15, 4>("batch_norm1d_train");
    batch_norm_train::<2, 24, 3>("batch_norm2d_train");
    batch_norm_train::<4, 4, 5>("batch_norm_vec_train");
    // eval mode: the running statistics (Layer::forward)
    let r = reference("batch_norm1d_eval");
    let file = std::fs::read(format!(
        "{}/tests/data/layers/batch_norm1d_eval.safetensors",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut bn = BatchNorm::<f64, 3>::default();
    torch::load(&mut bn, &file).unwrap();
    let y = bn.forward(&SMatrix::<f64, 15, 4>::from_column_slice(&r["x"]));
    close("batch_norm1d_eval y", y.as_slice(), &r["y"]);
}

#[test]
fn relu6() {
    check::<Relu6, 3, 4, 3>("relu6");
}

/// Whole networks: a state dict with entries 0 (conv), 1 (batch norm),
/// 3 (depthwise conv) and 5/6 (linear) imports by path, and the network's
/// output and every gradient match PyTorch in training mode.
#[test]
fn networks() {
    type Net1 = Seq![
        Conv1d<f64, 1, 4, 5, 2, 1, 1, 12, 20>, BatchNorm<f64, 4>, Relu,
        MaxPool1d<4, 2, 2, 5, 8>, Flatten<4, 2, 8>, Linear<f64, 8, 3>
    ];
    check::<Net1, 12, 3, 3>("net1d_train");
    type Net2 = Seq![
        Conv2d<f64, 1, 4, 3, 1, 1, 4, 4, 64>, BatchNorm<f64, 4>, Relu6,
        DepthwiseConv2d<f64, 4, 3, 1, 1, 4, 4, 64>, AvgPool2d<4, 2, 2, 4, 4, 16>,
        Flatten<4, 2, 16>, Linear<f64, 16, 3>
    ];
    check::<Net2, 16, 2, 3>("net2d_train");
}
