//! Import of PyTorch weights from a `.safetensors` file.
//!
//! [`load`] reads a PyTorch state dict, as written by
//! `safetensors.torch.save_file(model.state_dict(), path)`, into the
//! matching stackprop model. The names are the tensors' paths in the model
//! ([`crate::module`]): a sequence is an `nn.Sequential` (entry `k` is
//! module `k`), a block's child is a submodule (`3.inner.0.weight` for a
//! [`crate::Residual`] at position 3), and a layer's tensors have the names
//! its description gives, PyTorch's own for the crate's layers:
//!
//! | stackprop layer `k` | tensors in the file |
//! |---|---|
//! | `Linear<T, I, O>` | `k.weight` (shape `[O, I]`), `k.bias` (shape `[O]`) |
//! | `LinearNoBias<T, I, O>` | `k.weight` (`nn.Linear(I, O, bias=False)`) |
//! | `Conv1d`, `Conv2d` | `k.weight` (`[CO, CI, K]`, `[CO, CI, K, K]`), `k.bias` (`[CO]`) |
//! | `DepthwiseConv2d<T, C, ..>` | `k.weight` (`[C, 1, K, K]`: `nn.Conv2d(.., groups=C)`), `k.bias` |
//! | `BatchNorm<T, C>` | `k.weight`, `k.bias`, `k.running_mean`, `k.running_var` (`[C]`), `k.num_batches_tracked` (`i64`, rank 0) |
//! | `Relu`, `Relu6`, `Tanh`, `Sigmoid`, `LeakyRelu`, `Identity`, `Flatten`, pooling | none |
//!
//! Put an `Identity` where the `Sequential` has another parameter-free
//! module (`Dropout`) so the indices line up. Feature maps need no
//! conversion of weights: a convolution's weight is reordered like any
//! tensor, and `Flatten` writes PyTorch's flattening order, so the `Linear`
//! after it takes PyTorch's weight as it is (`tests/torch_layers.rs`). The file records no
//! activations: matching them is up to you. PyTorch stores a tensor
//! row-major (its last index fastest); it is reordered into stackprop's
//! column-major order of the same shape on the way in (for a dense weight
//! `[out, in]`, nalgebra's `O×I`), for tensors of any rank. `f32` tensors
//! take `F32`; `f64` tensors take `F64` or, widened exactly, `F32`; integer
//! tensors their own dtype (`I8`, `I32`, …).
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
pub(crate) mod json;
mod safetensors;

pub use error::{NAME_CAP, Name, TorchError};
pub use safetensors::{Dtype, MAX_RANK, Shape};

use crate::io::format::{Le, first_non_finite, with_storable_mut};
use crate::module::{self, Data, Module, Path, Spec};
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
pub fn load<M: Module>(model: &mut M, bytes: &[u8]) -> Result<(), TorchError> {
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
pub fn load_prefixed<M: Module>(
    model: &mut M,
    bytes: &[u8],
    prefix: &str,
) -> Result<(), TorchError> {
    check_model(&*model)?;
    // The tensors as they will be written must be what was checked.
    if let Some(i) = crate::io::save::first_misfit_mut(model) {
        let name = crate::io::save::tensor_path(&*model, i);
        return Err(TorchError::UnsupportedModel { name });
    }
    let file = SafeTensors::parse(bytes)?;
    let data_len = file.data.len();

    // 1. Every entry is a tensor the model has, with a dtype it takes, its
    //    shape and a byte range that fits.
    let mut used = 0u64;
    file.for_each(|e| {
        let Some(w) = find(&*model, prefix, &e.name) else {
            return Err(TorchError::UnexpectedTensor { name: Name::from_json(&e.name) });
        };
        if !takes(w.spec.dtype, e.dtype) {
            let (name, expected) = (Name::from_json(&e.name), w.spec.dtype);
            return Err(TorchError::WrongDtype { name, expected, found: e.dtype });
        }
        let expected = shape(w.spec);
        if e.shape != expected {
            let name = Name::from_json(&e.name);
            return Err(TorchError::WrongShape { name, expected, found: e.shape });
        }
        let needed = w.spec.len() as u64 * e.dtype.bytes().unwrap_or(0);
        if e.begin > e.end || e.end > data_len as u64 || e.end - e.begin != needed {
            let (name, begin, end) = (Name::from_json(&e.name), e.begin, e.end);
            return Err(TorchError::BadOffsets { name, begin, end, needed, data_len });
        }
        used = used.saturating_add(needed);
        Ok(())
    })?;

    // 2. Every tensor of the model is there once, shares no bytes with
    //    another, and holds finite values.
    for_each_wanted(&*model, |w| {
        let e = locate(&file, &w, prefix)?;
        file.for_each(|o| {
            let other = !w.is(prefix, &o.name);
            if other && o.begin < e.end && e.begin < o.end {
                return Err(TorchError::Overlap {
                    name: w.name(prefix),
                    other: Name::from_json(&o.name),
                });
            }
            Ok(())
        })?;
        let bytes = entry_bytes(&file, &e);
        match e.dtype.elem().and_then(|t| first_non_finite(t, bytes)) {
            Some(index) => Err(TorchError::NonFinite { name: w.name(prefix), index }),
            None => Ok(()),
        }
    })?;
    if used != data_len as u64 {
        return Err(TorchError::UnusedData { used, data_len });
    }

    // 3. Write (nothing can fail from here on).
    for i in 0..M::SIZE.tensors {
        let mut found = None;
        let _ = for_each_wanted(&*model, |w| {
            if w.index == i {
                found = locate(&file, &w, prefix).ok().map(|e| (e, w.spec));
            }
            Ok(())
        });
        let (Some((e, spec)), Some(dst)) = (found, model.tensor_mut(i)) else { continue };
        let (src, from_f32) = (entry_bytes(&file, &e), e.dtype == Dtype::F32);
        with_storable_mut!(dst, d => copy_reordered(spec.dims(), d, src, from_f32), ());
    }
    Ok(())
}

/// A tensor the model needs from the file: its number, spec and node path.
#[derive(Clone, Copy)]
struct Want {
    index: usize,
    spec: &'static Spec,
    path: Path,
}

impl Want {
    /// Its name in the state dict: `{prefix}{path}.{name}`.
    fn name(&self, prefix: &str) -> Name {
        Name::from_fmt(|n| {
            n.push_str(prefix);
            self.path.write_with(n, self.spec.name)
        })
    }

    /// Whether the file's name `name` is this tensor's.
    fn is(&self, prefix: &str, name: &JsonStr<'_>) -> bool {
        /// A sink that checks what is written against decoded characters.
        struct Match<'a> {
            chars: json::Chars<'a>,
            ok: bool,
        }
        impl core::fmt::Write for Match<'_> {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                for c in s.chars() {
                    self.ok &= self.chars.next() == Some(c);
                }
                Ok(())
            }
        }
        let mut m = Match { chars: name.chars(), ok: !self.path.overflowed() };
        let _ = core::fmt::Write::write_str(&mut m, prefix);
        let _ = self.path.write_with(&mut m, self.spec.name);
        m.ok && m.chars.next().is_none()
    }
}

/// Calls `f` for every tensor of `model`, in order, until it fails.
fn for_each_wanted<M: Module>(
    model: &M,
    mut f: impl FnMut(Want) -> Result<(), TorchError>,
) -> Result<(), TorchError> {
    module::for_each_tensor(model, |index, path, spec| f(Want { index, spec, path: *path }))
}

/// Checks that every tensor of the model can take an import: a type this
/// crate reads, values that match the description, a path that is not cut.
fn check_model<M: Module>(model: &M) -> Result<(), TorchError> {
    for_each_wanted(model, |w| {
        let ok = w.spec.dtype.storable()
            && !w.path.overflowed()
            && w.spec.dims().len() <= MAX_RANK
            && model.tensor(w.index).is_some_and(|d: Data<'_>| w.spec.fits(d.dtype(), d.len()));
        if ok { Ok(()) } else { Err(TorchError::UnsupportedModel { name: w.name("") }) }
    })
}

/// The model's tensor named `name`, if it has one.
fn find<M: Module>(model: &M, prefix: &str, name: &JsonStr<'_>) -> Option<Want> {
    let mut found = None;
    let _ = for_each_wanted(model, |w| {
        if w.is(prefix, name) {
            found = Some(w);
            // stop the walk
            return Err(TorchError::UnusedData { used: 0, data_len: 0 });
        }
        Ok(())
    });
    found
}

/// Whether a tensor of element type `t` takes the file's `dtype`: its own,
/// or `F32` widened into `f64`.
fn takes(t: module::Dtype, dtype: Dtype) -> bool {
    dtype.elem() == Some(t) || (t == module::Dtype::F64 && dtype == Dtype::F32)
}

/// PyTorch's shape of a tensor.
fn shape(s: &Spec) -> Shape {
    let mut d = [0u64; MAX_RANK];
    for (d, &s) in d.iter_mut().zip(s.dims()) {
        *d = s as u64;
    }
    Shape::new(&d[..s.dims().len().min(MAX_RANK)])
}

/// The bytes of an entry whose offsets were checked.
fn entry_bytes<'a>(file: &SafeTensors<'a>, e: &Entry<'a>) -> &'a [u8] {
    file.data.get(e.begin as usize..e.end as usize).unwrap_or(&[])
}

/// The entry of tensor `w`, which must appear exactly once.
fn locate<'a>(file: &SafeTensors<'a>, w: &Want, prefix: &str) -> Result<Entry<'a>, TorchError> {
    let mut found = None;
    let mut dup = false;
    file.for_each(|e| {
        if w.is(prefix, &e.name) {
            dup |= found.replace(e).is_some();
        }
        Ok(())
    })?;
    if dup {
        return Err(TorchError::DuplicateTensor { name: w.name(prefix) });
    }
    found.ok_or_else(|| TorchError::MissingTensor { name: w.name(prefix) })
}

/// A value of a tensor's element type from the file's little-endian bytes.
trait Import: Le {
    /// Value `k` of `src` (`from_f32`: the file holds `F32` values).
    fn at(src: &[u8], from_f32: bool, k: usize) -> Self {
        let _ = from_f32;
        Self::read_le(src.get(k * Self::BYTES..).unwrap_or(&[]))
    }
}

impl Import for f32 {}
impl Import for i8 {}
impl Import for i16 {}
impl Import for i32 {}
impl Import for i64 {}
impl Import for u8 {}
impl Import for f64 {
    fn at(src: &[u8], from_f32: bool, k: usize) -> Self {
        if from_f32 {
            f64::from(f32::read_le(src.get(4 * k..).unwrap_or(&[])))
        } else {
            f64::read_le(src.get(8 * k..).unwrap_or(&[]))
        }
    }
}

/// Copies the row-major values `src` of a tensor of shape `dims` into
/// `dst`, column-major: value `k` of the file, at index `(i₀, …, iᵣ₋₁)`
/// with the last index fastest, goes to `i₀ + d₀·(i₁ + d₁·(…))`.
fn copy_reordered<T: Import>(dims: &[usize], dst: &mut [T], src: &[u8], from_f32: bool) {
    let mut strides = [0usize; MAX_RANK];
    let mut stride = 1;
    for (s, &d) in strides.iter_mut().zip(dims) {
        *s = stride;
        stride *= d;
    }
    for k in 0..dst.len() {
        let (mut rest, mut at) = (k, 0);
        for (j, &d) in dims.iter().enumerate().rev() {
            at += (rest % d.max(1)) * strides[j];
            rest /= d.max(1);
        }
        if let Some(v) = dst.get_mut(at) {
            *v = T::at(src, from_f32, k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::json::Cursor;
    use super::*;
    use crate::{LinearNoBias, Relu, Residual, Seq, Tanh};

    fn json(s: &str) -> JsonStr<'_> {
        Cursor::new(s, 0).string().unwrap()
    }

    #[test]
    fn names_are_paths() {
        type Net =
            Seq![LinearNoBias<f32, 3, 4>, Relu, Residual<Seq![crate::Linear<f32, 4, 4>, Tanh]>];
        let net = Net::default();
        let mut got = [(0, Name::empty()); 3];
        let mut n = 0;
        for_each_wanted(&net, |w| {
            got[n] = (w.index, w.name("m."));
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(got[0], (0, Name::new("m.0.weight")));
        assert_eq!(got[1], (1, Name::new("m.2.inner.0.weight")));
        assert_eq!(got[2], (2, Name::new("m.2.inner.0.bias")));
        assert!(check_model(&net).is_ok());
        assert_eq!(find(&net, "", &json(r#""2.inner.0.bias""#)).map(|w| w.index), Some(2));
        assert_eq!(find(&net, "", &json(r#""\u0032.inner.0.bias""#)).map(|w| w.index), Some(2));
        for bad in ["00.weight", "0.weights", "0.bia", "0weight", "2.inner.bias", "2.0.bias", ""] {
            assert!(find(&net, "", &json(&["\"", bad, "\""].concat())).is_none(), "{bad}");
        }
        assert!(find(&net, "net.", &json(r#""0.weight""#)).is_none());
    }

    #[test]
    fn row_major_values_go_column_major() {
        // [2, 3, 2] row-major: value k at (k / 6, k / 2 % 3, k % 2)
        let src: [u8; 48] = core::array::from_fn(|b| if b % 4 == 0 { (b / 4) as u8 } else { 0 });
        let mut dst = [0i32; 12];
        copy_reordered(&[2, 3, 2], &mut dst, &src, false);
        for (k, v) in (0..12).zip(src.chunks(4)) {
            let (i, j, l) = (k / 6, k / 2 % 3, k % 2);
            assert_eq!(dst[i + 2 * (j + 3 * l)], i32::from(v[0]));
        }
        let mut w = [0f64; 2];
        copy_reordered(&[2], &mut w, &[0, 0, 0xC0, 0x3F, 0, 0, 0x80, 0xBF], true);
        assert_eq!(w, [1.5, -1.0]);
    }
}
