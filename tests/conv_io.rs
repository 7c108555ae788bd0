//! Every convolution, pooling, batch-norm and flatten layer in weight files
//! and exported Rust source: two networks holding all of them save and load
//! back bit for bit, and their exported source is exactly
//! `tests/data/conv_export.rs`, which is compiled here (`include!`) and
//! gives the networks back. Regenerate the file with
//! `STACKPROP_OVERWRITE=1 cargo test --test conv_io` and review the diff.

use stackprop::export::write_rust;
use stackprop::io::{file_size, load, save};
use stackprop::prelude::*;

mod exported {
    include!("data/conv_export.rs");
}

type Net1 = Seq![
    Conv1d<f32, 2, 3, 3, 1, 1, 2, 8, 18>,
    BatchNorm<f32, 3>,
    Relu6,
    MaxPool1d<3, 2, 2, 6, 9>,
    AvgPool1d<3, 2, 1, 3, 6>,
    Flatten<3, 2, 6>,
    Linear<f32, 6, 2>
];
type Net2 = Seq![
    Conv2d<f32, 1, 2, 3, 1, 1, 4, 4, 32>,
    BatchNorm<f32, 2>,
    Relu,
    DepthwiseConv2d<f32, 2, 3, 1, 1, 4, 4, 32>,
    MaxPool2d<2, 2, 2, 4, 4, 8>,
    AvgPool2d<2, 1, 1, 2, 2, 8>,
    GlobalAvgPool<2>,
    Linear<f32, 2, 2>
];

/// A value in eighths, different for each index: exact in f32 and short in
/// source.
fn v(k: usize) -> f32 {
    ((k * 7 + 3) % 17) as f32 / 8.0 - 1.0
}

fn bn<const C: usize>() -> BatchNorm<f32, C> {
    BatchNorm {
        weight: nalgebra::SVector::from_fn(|c, _| 1.0 + v(c) / 4.0),
        bias: nalgebra::SVector::from_fn(|c, _| v(c + 5)),
        running_mean: nalgebra::SVector::from_fn(|c, _| v(c + 9) / 2.0),
        running_var: nalgebra::SVector::from_fn(|c, _| 1.5 + v(c + 2) / 2.0),
        num_batches_tracked: 12,
        ..Default::default()
    }
}

fn nets() -> (Net1, Net2) {
    let net1 = seq![
        Conv1d::from_fn(|o, i, k| v(o + 3 * i + 7 * k), |o| v(o + 11)),
        bn(),
        Relu6,
        MaxPool1d::new(),
        AvgPool1d::new(),
        Flatten::new(),
        Linear::from_fn(|o, i| v(2 * o + i + 1), v)
    ];
    let net2 = seq![
        Conv2d::from_fn(|o, i, kh, kw| v(o + i + 3 * kh + 5 * kw), |o| v(o + 2)),
        bn(),
        Relu,
        DepthwiseConv2d::from_fn(|c, kh, kw| v(c + 2 * kh + 4 * kw + 1), |c| v(c + 7)),
        MaxPool2d::new(),
        AvgPool2d::new(),
        GlobalAvgPool::new(),
        Linear::from_fn(|o, i| v(o + 2 * i), |o| v(o + 3))
    ];
    (net1, net2)
}

/// `save`, then `load` into a zero model: the same model, and the file is
/// the size `file_size` says.
fn round_trip<M: Module + Zeros + PartialEq + std::fmt::Debug>(m: &M) {
    let mut bytes = vec![0u8; file_size::<M>()];
    let n = save(m, &mut bytes).unwrap();
    assert_eq!(n, bytes.len());
    let mut back = M::zeros();
    load(&mut back, &bytes).unwrap();
    assert_eq!(&back, m);
}

#[test]
fn weight_files_round_trip() {
    let (a, b) = nets();
    round_trip(&a);
    round_trip(&b);
}

#[test]
fn exported_source_compiles_to_the_same_networks() {
    let (a, b) = nets();
    let mut src = String::from(
        "// Written by tests/conv_io.rs (STACKPROP_OVERWRITE=1 cargo test --test conv_io).\n\n",
    );
    write_rust(&mut src, "Net1", "NET1", &a).unwrap();
    src.push('\n');
    write_rust(&mut src, "Net2", "NET2", &b).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conv_export.rs");
    if std::env::var_os("STACKPROP_OVERWRITE").is_some() {
        std::fs::write(path, &src).unwrap();
    }
    assert_eq!(src, include_str!("data/conv_export.rs"));
    assert_eq!(exported::NET1, a);
    assert_eq!(exported::NET2, b);
}
