// Written by tests/conv_io.rs (STACKPROP_OVERWRITE=1 cargo test --test conv_io).

/// The exported model's type.
pub type Net1 = stackprop::Seq![
    stackprop::Conv1d<f32, 2, 3, 3, 1, 1, 2, 8, 18>,
    stackprop::BatchNorm<f32, 3>,
    stackprop::Relu6,
    stackprop::MaxPool1d<3, 2, 2, 6, 9>,
    stackprop::AvgPool1d<3, 2, 1, 3, 6>,
    stackprop::Flatten<3, 2, 6>,
    stackprop::Linear<f32, 6, 2>,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static NET1: Net1 = stackprop::seq![
    stackprop::Conv1d::<f32, 2, 3, 3, 1, 1, 2, 8, 18>::from_arrays([[[-0.625, 0.25, -1.0], [-0.125, 0.75, -0.5]], [[-0.875, 0.0, 0.875], [-0.375, 0.5, -0.75]], [[1.0, -0.25, 0.625], [-0.625, 0.25, -1.0]]], [0.5, -0.75, 0.125]),
    stackprop::BatchNorm::<f32, 3>::from_arrays(1e-5, 0.1, [0.84375, 1.0625, 0.75], [-0.5, 0.375, -0.875], [0.4375, -0.1875, 0.25], [1.0, 1.4375, 1.875], 12),
    stackprop::Relu6,
    stackprop::MaxPool1d::<3, 2, 2, 6, 9>::new(),
    stackprop::AvgPool1d::<3, 2, 1, 3, 6>::new(),
    stackprop::Flatten::<3, 2, 6>::new(),
    stackprop::Linear::<f32, 6, 2>::from_columns([[0.25, -0.125], [-1.0, 0.75], [-0.125, -0.5], [0.75, 0.375], [-0.5, -0.875], [0.375, 0.0]], [-0.625, 0.25]),
];

/// The exported model's type.
pub type Net2 = stackprop::Seq![
    stackprop::Conv2d<f32, 1, 2, 3, 1, 1, 4, 4, 32>,
    stackprop::BatchNorm<f32, 2>,
    stackprop::Relu,
    stackprop::DepthwiseConv2d<f32, 2, 3, 1, 1, 4, 4, 32>,
    stackprop::MaxPool2d<2, 2, 2, 4, 4, 8>,
    stackprop::AvgPool2d<2, 1, 1, 2, 2, 8>,
    stackprop::GlobalAvgPool<2>,
    stackprop::Linear<f32, 2, 2>,
];

/// The exported model, built at compile time (its weights stay in flash).
pub static NET2: Net2 = stackprop::seq![
    stackprop::Conv2d::<f32, 1, 2, 3, 1, 1, 4, 4, 32>::from_arrays([[[[-0.625, 0.25]], [[-0.125, 0.75]], [[0.375, -0.875]]], [[[-0.5, 0.375]], [[0.0, 0.875]], [[0.5, -0.75]]], [[[-0.375, 0.5]], [[0.125, 1.0]], [[0.625, -0.625]]]], [-1.0, -0.125]),
    stackprop::BatchNorm::<f32, 2>::from_arrays(1e-5, 0.1, [0.84375, 1.0625], [-0.5, 0.375], [0.4375, -0.1875], [1.0, 1.4375], 12),
    stackprop::Relu,
    stackprop::DepthwiseConv2d::<f32, 2, 3, 1, 1, 4, 4, 32>::from_arrays([[[[0.25, -1.0]], [[-0.125, 0.75]], [[-0.5, 0.375]]], [[[-0.5, 0.375]], [[-0.875, 0.0]], [[0.875, -0.375]]], [[[0.875, -0.375]], [[0.5, -0.75]], [[0.125, 1.0]]]], [-0.875, 0.0]),
    stackprop::MaxPool2d::<2, 2, 2, 4, 4, 8>::new(),
    stackprop::AvgPool2d::<2, 1, 1, 2, 2, 8>::new(),
    stackprop::GlobalAvgPool::<2>::new(),
    stackprop::Linear::<f32, 2, 2>::from_columns([[-0.625, 0.25], [-1.0, -0.125]], [-0.125, 0.75]),
];
