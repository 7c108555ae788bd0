//! Batch normalization, PyTorch's `nn.BatchNorm1d` and `nn.BatchNorm2d`.

use crate::finite::all_finite;
use crate::infer::{self, Run};
use crate::layer::{Backward, Dx, Grads, Layer, Train};
use crate::module::{Data, DataMut, Desc, Dtype, Elem, Module, ParamKind, Value};
use crate::scalar::{Real, lit};
use crate::shape::{expect, require};
use crate::zeros::{ConstZeros, Zeros};
use nalgebra::{SMatrix, SVector};
use simba::scalar::SupersetOf;

/// Batch normalization over `C` channels: PyTorch's `nn.BatchNorm1d(C)` on
/// vectors (`N = C`) and on 1D feature maps, `nn.BatchNorm2d(C)` on 2D
/// feature maps, with PyTorch's defaults `eps = 1e-5`, `momentum = 0.1`.
///
/// It takes any `SMatrix<T, N, B>` whose size per sample `N` is a multiple
/// of `C` (checked at compile time). In the crate's layout
/// ([`crate::shape`]: channel fastest) the channel of a value is its index
/// modulo `C`, for vectors, 1D maps and 2D maps alike, so one type serves
/// all three; the `M = B·N/C` values of a channel in a batch are its
/// positions in all samples.
///
/// * **Inference** ([`Layer::forward`], PyTorch's `eval()`):
///   `y = γ·(x − running_mean)/√(running_var + ε) + β` per channel,
///   computed as `x·s + (β − running_mean·s)` with `s = γ/√(running_var + ε)`.
/// * **Training** ([`Train::forward_train`], PyTorch's `train()`): the
///   batch's own statistics, `μ = Σx/M` and the biased `σ² = Σ(x − μ)²/M`,
///   `x̂ = (x − μ)/√(σ² + ε)`, `y = γ·x̂ + β`. The cache ([`BatchStats`])
///   keeps `μ`, `σ²` and `1/√(σ² + ε)`; backward recomputes `x̂` from the
///   input and returns the standard
///   `∂J/∂x = (γ/√(σ² + ε))·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)`, with
///   `∂J/∂γ = Σ dy·x̂` and `∂J/∂β = Σ dy` (sums per channel). Training needs
///   `M > 1` (PyTorch raises an error for one value per channel; here it
///   is a compile error).
/// * **Running statistics**: [`Train::update_buffers`], which
///   [`crate::train::Trainer::step`] calls after each successful update, does
///   PyTorch's `running_mean ← (1 − m)·running_mean + m·μ`,
///   `running_var ← (1 − m)·running_var + m·σ²·M/(M − 1)` (the unbiased
///   variance) and `num_batches_tracked += 1`. PyTorch's `momentum=None`
///   (a cumulative average), `affine=False` and
///   `track_running_stats=False` have no equivalent.
///
/// So unlike every other layer of the crate, `forward_train` does not
/// return what `forward` returns: the two are PyTorch's two modes. (The
/// gradient checker, [`crate::gradcheck`], differentiates `forward`: check
/// the training map through a wrapper whose `forward` is `forward_train`,
/// as `TrainMode` in the crate's `tests/batch_norm.rs`.)
///
/// Tensors, PyTorch's state-dict names: `weight` (`γ`, `[C]`), `bias`
/// (`β`, `[C]`), both trained and both of kind [`ParamKind::Bias`], so that
/// weight decay leaves them alone unless biases are decayed too (the usual
/// practice: decaying `γ` towards 0 fights the normalization;
/// `Sgd::decay_biases(true)` is PyTorch's `SGD(weight_decay=…)`, which
/// decays both); `running_mean`, `running_var` (`[C]`) and
/// `num_batches_tracked` (an `i64` of rank 0, as PyTorch's), of kind
/// [`ParamKind::Buffer`]: never trained, saved, loaded, exported and
/// imported with the rest, so a PyTorch state dict imports with every
/// tensor matched. `eps` and `momentum` are values of the layer
/// ([`Module::value`]), recorded in weight files and exported source.
///
/// For deployment, [`BatchNorm::fold_into`] folds the inference map into
/// the preceding `Linear` or convolution.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::layer::Train;
/// use stackprop::{BatchNorm, Layer, Zeros};
/// // 2 channels, 1D maps of 3 positions: a sample is c0 c1 | c0 c1 | c0 c1
/// let bn = BatchNorm::<f64, 2>::new(); // γ = 1, β = 0, running stats 0 and 1
/// let x = SMatrix::<f64, 6, 2>::from_fn(|i, b| if i % 2 == 0 { (i + b) as f64 } else { 10.0 });
/// // training: channel 1 is constant, so it normalizes to 0
/// let (mut stats, mut y) = (Zeros::zeros(), SMatrix::zeros());
/// bn.forward_train(&x, &mut stats, &mut y);
/// assert_eq!((stats.mean[0], stats.mean[1]), (2.5, 10.0));
/// assert_eq!(y[1], 0.0);
/// // inference with the initial running statistics: y = x/√(1 + ε)
/// assert!((bn.forward(&x)[(1, 0)] - 10.0).abs() < 1e-4);
/// ```
///
/// A size per sample that is not a multiple of the channels does not build:
///
/// ```compile_fail
/// use stackprop::{BatchNorm, Layer};
/// let bn = BatchNorm::<f32, 2>::new();
/// let _ = bn.forward(&nalgebra::SMatrix::<f32, 3, 1>::zeros());
/// ```
///
/// Nor does training on one value per channel:
///
/// ```compile_fail
/// use stackprop::{BatchNorm, Train, Zeros};
/// let bn = BatchNorm::<f32, 2>::new();
/// let (mut s, mut y) = (Zeros::zeros(), nalgebra::SMatrix::<f32, 2, 1>::zeros());
/// bn.forward_train(&nalgebra::SMatrix::<f32, 2, 1>::zeros(), &mut s, &mut y);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm<T, const C: usize> {
    /// `γ`, the scale of each channel.
    pub weight: SVector<T, C>,
    /// `β`, the shift of each channel.
    pub bias: SVector<T, C>,
    /// The running mean of each channel (inference's `μ`).
    pub running_mean: SVector<T, C>,
    /// The running (unbiased) variance of each channel (inference's `σ²`).
    pub running_var: SVector<T, C>,
    /// How many updates the running statistics have had.
    pub num_batches_tracked: i64,
    /// `ε`, added to the variance under the square root (PyTorch's
    /// default `1e-5`); must be positive.
    pub eps: T,
    /// `m`, the weight of a batch's statistics in the running ones
    /// (PyTorch's default `0.1`); in `[0, 1]`.
    pub momentum: T,
}

/// What [`BatchNorm`]'s training pass keeps for backward and for the
/// running statistics: per channel the batch mean `μ`, the biased variance
/// `σ²` and `1/√(σ² + ε)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchStats<T, const C: usize> {
    /// `μ`, the batch mean of each channel.
    pub mean: SVector<T, C>,
    /// `σ² = Σ(x − μ)²/M`, the biased batch variance of each channel.
    pub var: SVector<T, C>,
    /// `1/√(σ² + ε)`.
    pub inv_std: SVector<T, C>,
}

impl<T: Elem, const C: usize> Zeros for BatchStats<T, C> {
    fn zeros() -> Self {
        <Self as ConstZeros>::ZEROS
    }
    fn set_zero(&mut self) {
        self.mean.set_zero();
        self.var.set_zero();
        self.inv_std.set_zero();
    }
}

impl<T: Elem, const C: usize> ConstZeros for BatchStats<T, C> {
    const ZEROS: Self =
        Self { mean: ConstZeros::ZEROS, var: ConstZeros::ZEROS, inv_std: ConstZeros::ZEROS };
}

impl<T: Elem, const C: usize> BatchNorm<T, C> {
    /// From arrays in a `const` context, in the order of exported source:
    /// `eps`, `momentum`, then the tensors `weight` (`γ`), `bias` (`β`),
    /// `running_mean`, `running_var`, `num_batches_tracked`. A model built
    /// this way can be a `static` whose parameters stay in flash.
    ///
    /// ```
    /// use stackprop::BatchNorm;
    /// static BN: BatchNorm<f32, 2> =
    ///     BatchNorm::from_arrays(1e-5, 0.1, [1.0, 2.0], [0.0, 0.5], [0.1, 0.2], [1.0, 4.0], 7);
    /// assert_eq!((BN.running_var[1], BN.num_batches_tracked), (4.0, 7));
    /// ```
    pub const fn from_arrays(
        eps: T,
        momentum: T,
        weight: [T; C],
        bias: [T; C],
        running_mean: [T; C],
        running_var: [T; C],
        num_batches_tracked: i64,
    ) -> Self {
        Self {
            weight: SVector::from_array_storage(nalgebra::ArrayStorage([weight])),
            bias: SVector::from_array_storage(nalgebra::ArrayStorage([bias])),
            running_mean: SVector::from_array_storage(nalgebra::ArrayStorage([running_mean])),
            running_var: SVector::from_array_storage(nalgebra::ArrayStorage([running_var])),
            num_batches_tracked,
            eps,
            momentum,
        }
    }

    /// The values per channel of an input of `n` values per sample in
    /// batches of `b`, `M = b·n/C`; evaluating it checks the sizes at
    /// compile time (and, for `train`, that `M > 1`).
    const fn per_channel(n: usize, b: usize, train: bool) -> usize {
        require(C > 0, "BatchNorm", "the number of channels must be at least 1");
        expect(
            "BatchNorm",
            "the input size modulo the channels",
            0,
            n % C,
            " (a sample is channels × positions, channel fastest)",
        );
        let m = n / C * b;
        require(
            !train || m > 1,
            "BatchNorm",
            "training needs more than one value per channel (batch size × positions), as PyTorch's does",
        );
        m
    }
}

macro_rules! batch_norm_consts {
    ($($t:ty),*) => {$(
        impl<const C: usize> BatchNorm<$t, C> {
            /// PyTorch's initial state as a `const fn`: `γ = 1`, `β = 0`,
            /// running mean 0 and variance 1, `eps = 1e-5`,
            /// `momentum = 0.1`. One `new` per scalar type: where the type is
            /// inferred (in `seq![…]`) or generic, `Default::default()` is
            /// the same value.
            ///
            /// ```
            /// use stackprop::BatchNorm;
            /// static BN: BatchNorm<f32, 3> = BatchNorm::<f32, 3>::new();
            /// assert_eq!((BN.weight[2], BN.running_var[0], BN.eps), (1.0, 1.0, 1e-5));
            /// ```
            pub const fn new() -> Self {
                Self::from_arrays(1e-5, 0.1, [1.0; C], [0.0; C], [0.0; C], [1.0; C], 0)
            }
        }

        // Like `Zeros::zeros`: every tensor zero, the default `eps` and
        // `momentum` (hyper-parameters, not parameters).
        impl<const C: usize> ConstZeros for BatchNorm<$t, C> {
            const ZEROS: Self = Self::from_arrays(1e-5, 0.1, [0.0; C], [0.0; C], [0.0; C], [0.0; C], 0);
        }
    )*};
}
batch_norm_consts!(f32, f64);

impl<T: Real, const C: usize> Default for BatchNorm<T, C> {
    /// PyTorch's initial state: `γ = 1`, `β = 0`, running mean 0 and
    /// variance 1, `eps = 1e-5`, `momentum = 0.1`. (Unlike the layers with
    /// random initial weights, whose default is all zeros: this one has a
    /// fixed initial state.)
    fn default() -> Self {
        Self {
            weight: SVector::repeat(T::one()),
            running_var: SVector::repeat(T::one()),
            ..Self::zeros()
        }
    }
}

// The hyper-parameters `eps` and `momentum` are not parameters: `zeros()`
// gives their defaults and `set_zero` keeps them, so a gradient or a model
// built in place never normalizes with `eps = 0` by accident.
impl<T: Real, const C: usize> Zeros for BatchNorm<T, C> {
    fn zeros() -> Self {
        Self {
            weight: Zeros::zeros(),
            bias: Zeros::zeros(),
            running_mean: Zeros::zeros(),
            running_var: Zeros::zeros(),
            num_batches_tracked: 0,
            eps: lit(1e-5),
            momentum: lit(0.1),
        }
    }
    fn set_zero(&mut self) {
        self.weight.set_zero();
        self.bias.set_zero();
        self.running_mean.set_zero();
        self.running_var.set_zero();
        self.num_batches_tracked = 0;
    }
}

impl<T: Real, const C: usize> BatchNorm<T, C> {
    /// Inference's map per channel, `y = x·scale + shift`:
    /// `scale = γ/√(running_var + ε)`, `shift = β − running_mean·scale`.
    pub fn scale_shift(&self) -> (SVector<T, C>, SVector<T, C>) {
        let scale = SVector::from_fn(|c, _| {
            self.weight[c] / (self.running_var[c] + self.eps).simd_sqrt()
        });
        let shift = SVector::from_fn(|c, _| self.bias[c] - self.running_mean[c] * scale[c]);
        (scale, shift)
    }

    /// `layer` followed by this batch normalization (inference), as one
    /// layer of `layer`'s type: for deployment, where the normalization
    /// then costs nothing. With `s = γ/√(running_var + ε)` per output
    /// channel `o`, `W'[o, …] = W[o, …]·s[o]` and
    /// `b'[o] = (b[o] − running_mean[o])·s[o] + β[o]`.
    ///
    /// `layer` is any layer described with a `weight` tensor of shape
    /// `[C, …]` (output channels first, as PyTorch's) and a `bias` of
    /// shape `[C]`, whose output channel `o` is linear in `W[o, …]` plus
    /// `b[o]` and is laid out channel fastest: [`crate::Linear`],
    /// [`crate::Conv1d`], and a 2D convolution with PyTorch's
    /// `[CO, CI, KH, KW]` weight. (Values stored in column-major order of
    /// the weight's shape have their output channel at index mod `C`.)
    /// Anything else — no `bias`, another shape — is a compile error.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::{BatchNorm, Layer, Linear};
    /// let l = Linear::<f64, 2, 2>::from_fn(|o, i| (o + 2 * i) as f64, |o| o as f64);
    /// let bn = BatchNorm::<f64, 2> { running_mean: [0.5, -1.0].into(), ..BatchNorm::<f64, 2>::new() };
    /// let folded = bn.fold_into(&l);
    /// let x = SMatrix::<f64, 2, 1>::new(1.0, -2.0);
    /// assert!((folded.forward(&x) - bn.forward(&l.forward(&x))).amax() < 1e-12);
    /// ```
    ///
    /// ```compile_fail
    /// use stackprop::{BatchNorm, LinearNoBias};
    /// let _ = BatchNorm::<f64, 2>::new().fold_into(&LinearNoBias::<f64, 2, 2>::zeros());
    /// ```
    pub fn fold_into<L: Module<Scalar = T> + Clone>(&self, layer: &L) -> L {
        let (w, b) = const { foldable(&L::DESC, C, T::DTYPE) };
        let (scale, _) = self.scale_shift();
        let mut out = layer.clone();
        if let Some(t) = out.tensor_mut(w).and_then(T::of_mut) {
            for (k, v) in t.iter_mut().enumerate() {
                *v *= scale[k % C];
            }
        }
        if let Some(t) = out.tensor_mut(b).and_then(T::of_mut) {
            for (c, v) in t.iter_mut().enumerate() {
                *v = (*v - self.running_mean[c]) * scale[c] + self.bias[c];
            }
        }
        out
    }
}

/// The numbers of the `weight` (shape `[c, …]`) and `bias` (`[c]`)
/// tensors of a layer described by `d`, of element type `t`; fails the
/// build if there are none.
const fn foldable(d: &Desc, c: usize, t: Dtype) -> (usize, usize) {
    const WHAT: &str = "BatchNorm::fold_into";
    let ts = d.tensors();
    let (mut w, mut b) = (usize::MAX, usize::MAX);
    let mut k = 0;
    while k < ts.len() {
        if same(ts[k].name, "weight") {
            w = k;
        } else if same(ts[k].name, "bias") {
            b = k;
        }
        k += 1;
    }
    require(w < ts.len() && b < ts.len(), WHAT, "the layer needs a `weight` and a `bias` tensor");
    let (wd, bd) = (ts[w].dims(), ts[b].dims());
    require(!wd.is_empty() && bd.len() == 1, WHAT, "the layer's weight must be [out, …], its bias [out]");
    expect(WHAT, "the out channels of the layer's weight", c, wd[0], " (the batch norm's channels)");
    expect(WHAT, "the length of the layer's bias", c, bd[0], " (the batch norm's channels)");
    require(
        ts[w].dtype.code() == t.code() && ts[b].dtype.code() == t.code(),
        WHAT,
        "the layer's weight and bias must be of the batch norm's scalar type",
    );
    (w, b)
}

/// `a == b`, in a `const fn`.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut k = 0;
    while k < a.len() {
        if a[k] != b[k] {
            return false;
        }
        k += 1;
    }
    true
}

/// `eps` and `momentum` are values of the layer, `Module::value(0)` and
/// `(1)` (lane 0 of a SIMD pack); exported source builds it with
/// [`BatchNorm::from_arrays`].
impl<T: Real, const C: usize> Module for BatchNorm<T, C> {
    type Scalar = T;
    const DESC: Desc = Desc::new("BatchNorm")
        .rust("stackprop::BatchNorm", "from_arrays")
        .scalar::<T>()
        .dim("num_features", C)
        .value("eps")
        .value("momentum")
        .tensor::<T>("weight", ParamKind::Bias, &[C])
        .tensor::<T>("bias", ParamKind::Bias, &[C])
        .tensor::<T>("running_mean", ParamKind::Buffer, &[C])
        .tensor::<T>("running_var", ParamKind::Buffer, &[C])
        .tensor::<i64>("num_batches_tracked", ParamKind::Buffer, &[]);

    #[inline]
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        match i {
            0 => Some(self.weight.as_slice().into()),
            1 => Some(self.bias.as_slice().into()),
            2 => Some(self.running_mean.as_slice().into()),
            3 => Some(self.running_var.as_slice().into()),
            4 => Some(core::slice::from_ref(&self.num_batches_tracked).into()),
            _ => None,
        }
    }

    #[inline]
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        match i {
            0 => Some(self.weight.as_mut_slice().into()),
            1 => Some(self.bias.as_mut_slice().into()),
            2 => Some(self.running_mean.as_mut_slice().into()),
            3 => Some(self.running_var.as_mut_slice().into()),
            4 => Some(core::slice::from_mut(&mut self.num_batches_tracked).into()),
            _ => None,
        }
    }

    fn value(&self, k: usize) -> Option<Value> {
        let v = match k {
            0 => self.eps,
            1 => self.momentum,
            _ => return None,
        };
        let v: f64 = v.extract(0).to_subset().unwrap_or(f64::NAN);
        Some(match T::DTYPE {
            Dtype::F64 => Value::F64(v),
            // an f32 lane widened to f64 and back is the same f32
            _ => Value::F32(v as f32),
        })
    }
}

impl<T: Real, const C: usize, const N: usize, const B: usize> Layer<SMatrix<T, N, B>>
    for BatchNorm<T, C>
{
    type Output = SMatrix<T, N, B>;

    /// With the running statistics (PyTorch's `eval()` mode).
    #[inline]
    fn forward(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        const { Self::per_channel(N, B, false) };
        let (scale, shift) = self.scale_shift();
        let mut y = SMatrix::<T, N, B>::zeros();
        for (yp, xp) in y.as_mut_slice().chunks_exact_mut(C).zip(x.as_slice().chunks_exact(C)) {
            for c in 0..C {
                yp[c] = xp[c] * scale[c] + shift[c];
            }
        }
        y
    }
}

/// In an arena: in place, with the running statistics.
impl<T: Real + bytemuck::Pod, const C: usize, const N: usize, const B: usize> Run<SMatrix<T, N, B>>
    for BatchNorm<T, C>
{
    type Elem = T;
    const ARENA: usize = N * B;

    #[inline]
    fn run(&self, arena: &mut [T], front: bool) -> bool {
        const { Self::per_channel(N, B, false) };
        let (scale, shift) = self.scale_shift();
        infer::in_place(arena, front, N * B, |v| {
            for vp in v.chunks_exact_mut(C) {
                for c in 0..C {
                    vp[c] = vp[c] * scale[c] + shift[c];
                }
            }
        })
    }
}

#[diagnostic::do_not_recommend]
impl<T: Real, const C: usize, const N: usize, const B: usize> Train<SMatrix<T, N, B>>
    for BatchNorm<T, C>
{
    type Cache = BatchStats<T, C>;

    /// With the batch's statistics (PyTorch's `train()` mode), which go
    /// into the cache.
    #[inline]
    fn forward_train(&self, x: &SMatrix<T, N, B>, s: &mut BatchStats<T, C>, y: &mut SMatrix<T, N, B>) {
        let m = lit::<T>(const { Self::per_channel(N, B, true) } as f64);
        let xs = x.as_slice();
        s.mean.set_zero();
        for p in xs.chunks_exact(C) {
            for (a, &v) in s.mean.iter_mut().zip(p) {
                *a += v;
            }
        }
        s.mean /= m;
        s.var.set_zero();
        for p in xs.chunks_exact(C) {
            for ((a, &v), &mu) in s.var.iter_mut().zip(p).zip(s.mean.iter()) {
                *a += (v - mu) * (v - mu);
            }
        }
        s.var /= m;
        for c in 0..C {
            s.inv_std[c] = T::one() / (s.var[c] + self.eps).simd_sqrt();
        }
        for (yp, p) in y.as_mut_slice().chunks_exact_mut(C).zip(xs.chunks_exact(C)) {
            for c in 0..C {
                yp[c] = self.weight[c] * ((p[c] - s.mean[c]) * s.inv_std[c]) + self.bias[c];
            }
        }
    }

    /// `∂J/∂γ = Σ dy·x̂`, `∂J/∂β = Σ dy` per channel; the buffers' entries
    /// of the gradient are 0 (written so in [`Grads::Write`] mode: the
    /// training map does not read them). Known finite when written and
    /// checked here.
    #[inline]
    fn backward<D: Dx>(
        &self,
        x: &SMatrix<T, N, B>,
        _y: &SMatrix<T, N, B>,
        s: &BatchStats<T, C>,
        dy: &SMatrix<T, N, B>,
        grads: &mut Self,
        mode: Grads,
    ) -> Backward<D::Out<SMatrix<T, N, B>>> {
        let m = lit::<T>(const { Self::per_channel(N, B, true) } as f64);
        let (xs, gs) = (x.as_slice(), dy.as_slice());
        let xhat = |p: &[T], c: usize| (p[c] - s.mean[c]) * s.inv_std[c];
        // Σ dy and Σ dy·x̂ per channel
        let (mut sum_dy, mut sum_dyx) = (SVector::<T, C>::zeros(), SVector::<T, C>::zeros());
        for (p, g) in xs.chunks_exact(C).zip(gs.chunks_exact(C)) {
            for c in 0..C {
                sum_dy[c] += g[c];
                sum_dyx[c] += g[c] * xhat(p, c);
            }
        }
        let finite = match mode {
            Grads::Add => {
                grads.weight += sum_dyx;
                grads.bias += sum_dy;
                false
            }
            Grads::Write => {
                grads.weight = sum_dyx;
                grads.bias = sum_dy;
                grads.running_mean.set_zero();
                grads.running_var.set_zero();
                grads.num_batches_tracked = 0;
                all_finite(sum_dyx.as_slice()) && all_finite(sum_dy.as_slice())
            }
        };
        D::backward(
            |dx: &mut SMatrix<T, N, B>| {
                let k = SVector::<T, C>::from_fn(|c, _| self.weight[c] * s.inv_std[c]);
                let (mean_dy, mean_dyx) = (sum_dy / m, sum_dyx / m);
                let chunks = dx.as_mut_slice().chunks_exact_mut(C).zip(xs.chunks_exact(C));
                for ((d, p), g) in chunks.zip(gs.chunks_exact(C)) {
                    for c in 0..C {
                        d[c] = k[c] * (g[c] - mean_dy[c] - xhat(p, c) * mean_dyx[c]);
                    }
                }
            },
            finite,
        )
    }

    /// PyTorch's update of the running statistics with this step's batch
    /// statistics: `running_mean ← (1 − m)·running_mean + m·μ`,
    /// `running_var ← (1 − m)·running_var + m·σ²·M/(M − 1)`,
    /// `num_batches_tracked += 1`.
    #[inline]
    fn update_buffers(&mut self, s: &BatchStats<T, C>) {
        let m = const { Self::per_channel(N, B, true) };
        let unbias = lit::<T>(m as f64 / (m - 1) as f64);
        let keep = T::one() - self.momentum;
        for c in 0..C {
            self.running_mean[c] = keep * self.running_mean[c] + self.momentum * s.mean[c];
            self.running_var[c] = keep * self.running_var[c] + self.momentum * (s.var[c] * unbias);
        }
        self.num_batches_tracked = self.num_batches_tracked.saturating_add(1);
    }
}
