//! Import of PyTorch weights from a `.safetensors` file.
//!
//! [`load`] reads the state dict of a PyTorch `nn.Sequential` of `Linear`
//! layers (and parameter-free activations), as written by
//! `safetensors.torch.save_file(model.state_dict(), path)`, into the
//! matching stackprop model. Module `k` of the `Sequential` is layer `k` of
//! the stackprop model, so the names are the state dict's:
//!
//! | stackprop layer `k` | tensors in the file |
//! |---|---|
//! | `Linear<T, I, O>` | `k.weight` (shape `[O, I]`), `k.bias` (shape `[O]`) |
//! | `LinearNoBias<T, I, O>` | `k.weight` (`nn.Linear(I, O, bias=False)`) |
//! | `Relu`, `Tanh`, `Sigmoid`, `LeakyRelu`, `Identity` | none |
//!
//! Put an `Identity` where the `Sequential` has another parameter-free
//! module (`Dropout`, `Flatten`) so the indices line up. The file records no
//! activations: matching them is up to you. PyTorch's weight is row-major
//! `[out, in]`; it is transposed into stackprop's column-major `O×I` on the
//! way in. `F32` tensors load into `f32` models; `f64` models take `F64`
//! tensors or, widened exactly, `F32` ones.
//!
//! Every name, dtype, shape and offset and every value's finiteness is
//! checked before the first parameter is written: on any [`TorchError`] the
//! model is left as it was. The parser works in place on the borrowed bytes
//! (no allocation, no dependency), so it runs on a device too, e.g. on a
//! file in flash.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::io::torch;
//! use stackprop::prelude::*;
//! // Written by tools/make_torch_fixture.py: nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)).
//! let file = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_mlp.safetensors"));
//! let mut net: Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>] = Default::default();
//! torch::load(&mut net, file).unwrap();
//! let y = net.forward(&SMatrix::<f32, 4, 1>::zeros());
//! // PyTorch's output for x = 0 (tests/data/torch_mlp.ref.txt, first row):
//! let reference = [0.1039109860388377, -0.20373083987156596, -0.16421954565025856];
//! for (a, b) in y.iter().zip(reference) {
//!     assert!((*a as f64 - b).abs() < 1e-6);
//! }
//!
//! // A model of another shape is told what differs.
//! let mut wide: Seq![Linear<f32, 4, 16>, Relu, Linear<f32, 16, 3>] = Default::default();
//! let e = torch::load(&mut wide, file).unwrap_err();
//! assert_eq!(e.to_string(), "tensor 0.bias has shape [8], the model needs [16]");
//! ```

mod error;
mod json;
mod safetensors;

pub use error::{NAME_CAP, Name, TorchError};
pub use safetensors::{Dtype, MAX_RANK, Shape};

use crate::arch::{Arch, LayerKind};
use crate::io::format::{FileScalar, ScalarType};
use crate::params::{ParamKind, Params};
use json::JsonStr;
use safetensors::{Entry, SafeTensors};

/// Loads the state dict in the safetensors file `bytes` into `model` (see
/// the [module docs](self) for the naming). On error `model` is unchanged.
///
/// ```
/// use stackprop::io::torch::{self, TorchError};
/// use stackprop::Linear;
/// let mut l = Linear::<f32, 2, 2>::zeros();
/// assert!(matches!(torch::load(&mut l, b"not a file"), Err(TorchError::Truncated { .. })));
/// ```
pub fn load<T: FileScalar, M: Arch + Params<T>>(
    model: &mut M,
    bytes: &[u8],
) -> Result<(), TorchError> {
    load_prefixed(model, bytes, "")
}

/// Like [`load`], for a state dict whose names carry a prefix, e.g.
/// `"net."` when the `Sequential` is the attribute `net` of a module.
///
/// ```
/// use stackprop::io::torch::{self, TorchError};
/// use stackprop::{Linear, Relu, Seq};
/// let file = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_mlp.safetensors"));
/// let mut net: Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>] = Default::default();
/// let e = torch::load_prefixed(&mut net, file, "net.").unwrap_err();
/// assert_eq!(e.to_string(), "unexpected tensor 0.bias: the model has no parameter of that name");
/// ```
pub fn load_prefixed<T: FileScalar, M: Arch + Params<T>>(
    model: &mut M,
    bytes: &[u8],
    prefix: &str,
) -> Result<(), TorchError> {
    check_model(model)?;
    let file = SafeTensors::parse(bytes)?;
    let data_len = file.data.len();

    // 1. Every entry is a tensor the model has, with the right dtype, shape
    //    and a byte range that fits.
    let mut used = 0u64;
    file.for_each(|e| {
        let w = classify(&e.name, prefix)
            .and_then(|(layer, part)| find(model, layer, part))
            .ok_or_else(|| TorchError::UnexpectedTensor { name: Name::from_json(&e.name) })?;
        let dtype_ok = match e.dtype {
            Dtype::F32 => true,
            Dtype::F64 => T::TYPE == ScalarType::F64,
            Dtype::Other(_) => false,
        };
        if !dtype_ok {
            let name = Name::from_json(&e.name);
            return Err(TorchError::WrongDtype { name, expected: T::TYPE, found: e.dtype });
        }
        let expected = w.shape();
        if e.shape != expected {
            let name = Name::from_json(&e.name);
            return Err(TorchError::WrongShape { name, expected, found: e.shape });
        }
        let needed = w.elements() as u64 * e.dtype.bytes().unwrap_or(0);
        if e.begin > e.end || e.end > data_len as u64 || e.end - e.begin != needed {
            let (name, begin, end) = (Name::from_json(&e.name), e.begin, e.end);
            return Err(TorchError::BadOffsets { name, begin, end, needed, data_len });
        }
        used = used.saturating_add(needed);
        Ok(())
    })?;

    // 2. Every tensor of the model is there once, shares no bytes with
    //    another, and holds finite values.
    let mut it = Wants::default();
    while let Some(w) = it.next(model) {
        let e = locate(&file, &w, prefix)?;
        file.for_each(|o| {
            let other = classify(&o.name, prefix) != Some((w.layer, w.part));
            if other && o.begin < e.end && e.begin < o.end {
                let name = w.name(prefix);
                return Err(TorchError::Overlap { name, other: Name::from_json(&o.name) });
            }
            Ok(())
        })?;
        if let Some(index) = values::<T>(&file, &e).position(|v| !v.finite()) {
            return Err(TorchError::NonFinite { name: w.name(prefix), index });
        }
    }
    if used != data_len as u64 {
        return Err(TorchError::UnusedData { used, data_len });
    }

    // 3. Write (nothing can fail from here on).
    let mut it = Wants::default();
    while let Some(w) = it.next(model) {
        let e = locate(&file, &w, prefix)?;
        let Some((_, dst)) = model.tensor_mut(w.tensor) else { continue };
        let (o, i) = (w.outputs, w.inputs.max(1));
        for (k, v) in values::<T>(&file, &e).enumerate() {
            // Row-major [O, I] element k = (k / I, k % I) → column-major.
            let at = match w.part {
                Part::Weight => (k % i) * o + k / i,
                Part::Bias => k,
            };
            if let Some(d) = dst.get_mut(at) {
                *d = v;
            }
        }
    }
    Ok(())
}

/// The values of an entry whose dtype and offsets were checked, in file
/// (row-major) order.
fn values<'a, T: FileScalar>(
    file: &SafeTensors<'a>,
    e: &Entry<'a>,
) -> impl Iterator<Item = T> + 'a {
    let size = e.dtype.bytes().unwrap_or(4) as usize;
    let f32_in = e.dtype == Dtype::F32;
    let bytes = file.data.get(e.begin as usize..e.end as usize).unwrap_or(&[]);
    bytes
        .chunks_exact(size)
        .map(move |c| if f32_in { T::from_f32(f32::read_le(c)) } else { T::read_le(c) })
}

/// The entry of tensor `w`, which must appear exactly once.
fn locate<'a>(file: &SafeTensors<'a>, w: &Want, prefix: &str) -> Result<Entry<'a>, TorchError> {
    let mut found = None;
    let mut dup = false;
    file.for_each(|e| {
        if classify(&e.name, prefix) == Some((w.layer, w.part)) {
            dup |= found.replace(e).is_some();
        }
        Ok(())
    })?;
    if dup {
        return Err(TorchError::DuplicateTensor { name: w.name(prefix) });
    }
    found.ok_or_else(|| TorchError::MissingTensor { name: w.name(prefix) })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Weight,
    Bias,
}

/// A tensor the model needs from the file.
#[derive(Clone, Copy, Debug)]
struct Want {
    layer: usize,
    tensor: usize,
    part: Part,
    inputs: usize,
    outputs: usize,
}

impl Want {
    fn elements(&self) -> usize {
        match self.part {
            Part::Weight => self.outputs.saturating_mul(self.inputs),
            Part::Bias => self.outputs,
        }
    }
    fn shape(&self) -> Shape {
        match self.part {
            Part::Weight => Shape::new(&[self.outputs as u64, self.inputs as u64]),
            Part::Bias => Shape::new(&[self.outputs as u64]),
        }
    }
    fn name(&self, prefix: &str) -> Name {
        let mut n = Name::empty();
        n.push_str(prefix);
        n.push_usize(self.layer);
        n.push_str(match self.part {
            Part::Weight => ".weight",
            Part::Bias => ".bias",
        });
        n
    }
}

/// Walks the tensors a model needs, layer by layer, numbering them as
/// [`Params`] does.
#[derive(Default)]
struct Wants {
    layer: usize,
    part: usize,
    tensor: usize,
}

impl Wants {
    fn next<M: Arch>(&mut self, model: &M) -> Option<Want> {
        while self.layer < M::LAYERS {
            let d = model.layer(self.layer)?;
            let parts: &[Part] = match d.kind {
                LayerKind::Linear => &[Part::Weight, Part::Bias],
                LayerKind::LinearNoBias => &[Part::Weight],
                _ => &[],
            };
            if let Some(&part) = parts.get(self.part) {
                let w = Want {
                    layer: self.layer,
                    tensor: self.tensor,
                    part,
                    inputs: d.inputs,
                    outputs: d.outputs,
                };
                self.part += 1;
                self.tensor += 1;
                return Some(w);
            }
            self.layer += 1;
            self.part = 0;
        }
        None
    }
}

/// Checks that the model's parameter tensors are exactly its `Linear`s'
/// weights and biases, in layer order.
fn check_model<T, M: Arch + Params<T>>(model: &M) -> Result<(), TorchError> {
    let mut it = Wants::default();
    while let Some(w) = it.next(model) {
        let kind = match w.part {
            Part::Weight => ParamKind::Weight,
            Part::Bias => ParamKind::Bias,
        };
        match model.tensor(w.tensor) {
            Some((k, s)) if k == kind && s.len() == w.elements() => {}
            _ => return Err(TorchError::UnsupportedModel { layer: w.layer }),
        }
    }
    if it.layer < M::LAYERS || it.tensor != M::TENSORS {
        return Err(TorchError::UnsupportedModel { layer: it.layer.min(M::LAYERS) });
    }
    Ok(())
}

/// The model tensor named `name`: `Some((k, part))` for
/// `{prefix}{k}.weight` or `{prefix}{k}.bias` with `k` a decimal number
/// without leading zeros.
fn classify(name: &JsonStr<'_>, prefix: &str) -> Option<(usize, Part)> {
    let mut c = name.chars();
    for p in prefix.chars() {
        if c.next()? != p {
            return None;
        }
    }
    let (mut k, mut digits, mut lead_zero) = (0usize, 0, false);
    loop {
        match c.next()? {
            d @ '0'..='9' => {
                if lead_zero {
                    return None;
                }
                lead_zero = digits == 0 && d == '0';
                k = k.checked_mul(10)?.checked_add(d as usize - '0' as usize)?;
                digits += 1;
            }
            '.' if digits > 0 => break,
            _ => return None,
        }
    }
    let part = if c.clone().eq("weight".chars()) {
        Part::Weight
    } else if c.eq("bias".chars()) {
        Part::Bias
    } else {
        return None;
    };
    Some((k, part))
}

/// The model's tensor `(layer, part)`, if it has one.
fn find<M: Arch>(model: &M, layer: usize, part: Part) -> Option<Want> {
    let mut it = Wants::default();
    while let Some(w) = it.next(model) {
        if w.layer == layer && w.part == part {
            return Some(w);
        }
        if w.layer > layer {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::json::Cursor;
    use super::*;
    use crate::{LinearNoBias, Relu, Seq};

    fn class(s: &str, prefix: &str) -> Option<(usize, Part)> {
        let mut c = Cursor::new(s, 0);
        classify(&c.string().unwrap(), prefix)
    }

    #[test]
    fn names() {
        assert_eq!(class(r#""0.weight""#, ""), Some((0, Part::Weight)));
        assert_eq!(class(r#""12.bias""#, ""), Some((12, Part::Bias)));
        assert_eq!(class(r#""net.3.bias""#, "net."), Some((3, Part::Bias)));
        assert_eq!(class(r#""\u0032.bias""#, ""), Some((2, Part::Bias)));
        for bad in [
            "00.weight",
            "01.bias",
            ".weight",
            "0.weights",
            "0.bia",
            "0weight",
            "0.",
            "-1.bias",
            "99999999999999999999999.bias",
            "net.0.bias",
            "0.weight.x",
        ] {
            assert_eq!(class(&["\"", bad, "\""].concat(), ""), None, "{bad}");
        }
        assert_eq!(class(r#""0.bias""#, "net."), None);
    }

    #[test]
    fn wanted_tensors_follow_the_layers() {
        type Net = Seq![LinearNoBias<f32, 3, 4>, Relu, crate::Linear<f32, 4, 2>];
        let net = Net::default();
        let mut it = Wants::default();
        let mut got = [(0, 0, Part::Weight); 3];
        for g in got.iter_mut() {
            let w = it.next(&net).unwrap();
            *g = (w.layer, w.tensor, w.part);
        }
        assert!(it.next(&net).is_none());
        assert_eq!(got, [(0, 0, Part::Weight), (2, 1, Part::Weight), (2, 2, Part::Bias)]);
        assert!(check_model(&net).is_ok());
        assert_eq!(find(&net, 0, Part::Bias).map(|w| w.tensor), None);
        assert_eq!(find(&net, 2, Part::Bias).map(|w| w.tensor), Some(2));
        assert_eq!(Wants::default().next(&net).unwrap().name("m.").as_str(), "m.0.weight");
    }
}
