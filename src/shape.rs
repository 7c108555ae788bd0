//! Feature maps: how a sample of a convolutional network is laid out, the
//! sizes convolutions and pooling produce, and conversions from and to
//! PyTorch's layout.
//!
//! # The layout
//!
//! A sample is one column, as everywhere in the crate: a batch of `B`
//! feature maps of `C` channels and `L` positions is an
//! `SMatrix<T, N, B>` with `N = C·L`. Within the column the map is stored
//! in column-major order of its PyTorch shape, the order of every tensor
//! in the crate (first index fastest): channel `c` at position `l` is
//! element `c + C·l`, and channel `c` at row `h`, column `w` of an
//! `H × W` map is element `c + C·(h + H·w)`. The `C` channels of one
//! position are contiguous, so a convolution is a sum over its taps of
//! matrix products `W_t·X_t` with `X_t` the input vectors the tap reads
//! (see [`crate::Conv1d`]), batch normalization finds a value's channel as
//! its index modulo `C` in 1D and 2D alike, and activations and residual
//! blocks work on feature maps unchanged.
//!
//! PyTorch's NCL / NCHW tensors are row-major (last index fastest):
//! [`from_row_major`] and [`to_row_major`] convert one sample, and
//! [`crate::Flatten`] writes its output in PyTorch's flattening order, so
//! a `Linear` after it has PyTorch's weights. Nothing else converts:
//! imported weights are reordered by the import ([`crate::io::torch`]).
//!
//! ```
//! use stackprop::shape::{from_row_major, to_row_major};
//! // one sample of PyTorch shape [2, 3] (2 channels, 3 positions), row-major
//! let torch = [1.0, 2.0, 3.0, 10.0, 20.0, 30.0];
//! let mut ours = [0.0; 6];
//! from_row_major(&[2, 3], &torch, &mut ours);
//! assert_eq!(ours, [1.0, 10.0, 2.0, 20.0, 3.0, 30.0]); // position by position
//! let mut back = [0.0; 6];
//! to_row_major(&[2, 3], &ours, &mut back);
//! assert_eq!(back, torch);
//! ```
//!
//! # Sizes
//!
//! Output sizes that depend on kernel, stride and padding are const
//! parameters of the layer types, checked at compile time against
//! [`conv_len`]: a wrong one fails the build with a message that names the
//! size it must be. A size can be written as a constant expression:
//!
//! ```
//! use stackprop::{shape::conv_len, Conv1d};
//! // 1 channel of 40 → 25 channels, kernel 5, stride 2, padding 1
//! type First = Conv1d<f32, 1, 25, 5, 2, 1, 1, 40, { 25 * conv_len(40, 5, 2, 1, 1) }>;
//! assert_eq!(conv_len(40, 5, 2, 1, 1), 19);
//! ```

use crate::memory::Msg;

/// The output length of a convolution or pooling window over `len`
/// positions: `(len + 2·padding − dilation·(kernel − 1) − 1) / stride + 1`,
/// PyTorch's formula; 0 if the (dilated) kernel does not fit in the padded
/// input or `stride` is 0.
///
/// ```
/// use stackprop::shape::conv_len;
/// assert_eq!(conv_len(40, 5, 2, 1, 1), 19);
/// assert_eq!(conv_len(8, 3, 1, 1, 1), 8); // "same" padding
/// assert_eq!(conv_len(8, 2, 2, 0, 1), 4); // 2 × 2 pooling
/// assert_eq!(conv_len(3, 5, 1, 0, 1), 0); // does not fit
/// ```
pub const fn conv_len(
    len: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> usize {
    let span = dilation * (kernel.saturating_sub(1)) + 1;
    let padded = len + 2 * padding;
    if stride == 0 || kernel == 0 || padded < span { 0 } else { (padded - span) / stride + 1 }
}

/// Writes one sample given in row-major order of PyTorch shape `dims`
/// (NCL / NCHW without the N: last index fastest) into `dst` in the
/// crate's column-major order (first index fastest). `src` and `dst` hold
/// the product of `dims` values each.
///
/// # Panics
///
/// If a slice's length is not the product of `dims` (a caller's bug: the
/// lengths are the model's constants).
pub fn from_row_major<T: Copy>(dims: &[usize], src: &[T], dst: &mut [T]) {
    permute(dims, src, dst, true)
}

/// The inverse of [`from_row_major`]: one sample in the crate's layout to
/// PyTorch's row-major order.
///
/// # Panics
///
/// As [`from_row_major`].
pub fn to_row_major<T: Copy>(dims: &[usize], src: &[T], dst: &mut [T]) {
    permute(dims, src, dst, false)
}

/// Walks the row-major index; `to_col`: copy row-major `src` to
/// column-major `dst`, else the reverse.
fn permute<T: Copy>(dims: &[usize], src: &[T], dst: &mut [T], to_col: bool) {
    let n: usize = dims.iter().product();
    assert!(src.len() == n && dst.len() == n, "stackprop: a sample's length is not its shape's");
    let mut idx = [0usize; crate::module::MAX_RANK];
    assert!(dims.len() <= idx.len(), "stackprop: a sample of rank over 5");
    for r in 0..n {
        // column-major offset of the multi-index
        let mut c = 0;
        let mut stride = 1;
        for (k, &d) in dims.iter().enumerate() {
            c += idx[k] * stride;
            stride *= d;
        }
        if to_col {
            dst[c] = src[r]
        } else {
            dst[r] = src[c]
        }
        // next row-major multi-index: last dimension fastest
        for k in (0..dims.len()).rev() {
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// The compile-time check of a layer's sizes: fails the build with
/// `stackprop: {layer}: {what} must be {expected}, not {found}{why}` unless
/// `found == expected`.
pub(crate) const fn expect(layer: &str, what: &str, expected: usize, found: usize, why: &str) {
    if found == expected {
        return;
    }
    let mut m = Msg::new();
    m.push("stackprop: ");
    m.push(layer);
    m.push(": ");
    m.push(what);
    m.push(" must be ");
    m.push_num(expected);
    m.push(", not ");
    m.push_num(found);
    m.push(why);
    m.fail()
}

/// [`expect`] for a product: fails the build with `stackprop: {layer}:
/// {what} must be {a·b} = {a} × {b} ({names}), not {found}` unless
/// `found == a·b`.
pub(crate) const fn expect_product(
    layer: &str,
    what: &str,
    a: usize,
    b: usize,
    names: &str,
    found: usize,
) {
    if found == a * b {
        return;
    }
    let mut m = Msg::new();
    m.push("stackprop: ");
    m.push(layer);
    m.push(": ");
    m.push(what);
    m.push(" must be ");
    m.push_num(a * b);
    m.push(" = ");
    m.push_num(a);
    m.push(" × ");
    m.push_num(b);
    m.push(" (");
    m.push(names);
    m.push("), not ");
    m.push_num(found);
    m.fail()
}

/// The output length of a window layer (convolution or pooling) over `l`
/// positions, checked at compile time: sizes at least 1, a kernel that
/// fits, and an output size `no` of `c·lo` values; the build fails naming
/// `layer`, the size `no` must be and its factors (`names`).
#[allow(clippy::too_many_arguments)] // PyTorch's window parameters, one by one
pub(crate) const fn out_1d(
    layer: &str,
    names: &str,
    c: usize,
    k: usize,
    s: usize,
    p: usize,
    d: usize,
    l: usize,
    no: usize,
) -> usize {
    require(
        c > 0 && k > 0 && s > 0 && d > 0,
        layer,
        "channels, kernel size, stride and dilation must be at least 1",
    );
    let lo = conv_len(l, k, s, p, d);
    require(lo > 0, layer, "the (dilated) kernel is longer than the (padded) input");
    expect_product(layer, "the output size NO", c, lo, names, no);
    lo
}

/// [`out_1d`] for a `K × K` window over an `h × w` map: the output height
/// and width, checked likewise (`no = c·ho·wo`).
#[allow(clippy::too_many_arguments)]
pub(crate) const fn out_2d(
    layer: &str,
    c: usize,
    k: usize,
    s: usize,
    p: usize,
    h: usize,
    w: usize,
    no: usize,
) -> (usize, usize) {
    require(c > 0 && k > 0 && s > 0, layer, "channels, kernel size and stride must be at least 1");
    let (ho, wo) = (conv_len(h, k, s, p, 1), conv_len(w, k, s, p, 1));
    require(ho > 0 && wo > 0, layer, "the kernel is larger than the (padded) input");
    expect_product(
        layer,
        "the output size NO",
        c,
        ho * wo,
        "channels × output height × output width",
        no,
    );
    (ho, wo)
}

/// Fails the build with `stackprop: {layer}: {what}` unless `ok`.
pub(crate) const fn require(ok: bool, layer: &str, what: &str) {
    if ok {
        return;
    }
    let mut m = Msg::new();
    m.push("stackprop: ");
    m.push(layer);
    m.push(": ");
    m.push(what);
    m.fail()
}
