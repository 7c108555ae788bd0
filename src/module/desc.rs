//! A layer's description as a constant: [`Desc`], built by `const fn`s in
//! the layer's own file.

use super::data::{Dtype, Elem};

/// Longest name (of a kind, a hyper-parameter, a tensor or a child) in
/// bytes: what a weight-file record holds.
pub const NAME_MAX: usize = 32;
/// Most dimensions a tensor has.
pub const MAX_RANK: usize = 5;
/// Most hyper-parameters a [`Desc`] lists.
pub const MAX_HYPERS: usize = 16;
/// Most tensors a [`Desc`] lists (its own, not its children's).
pub const MAX_TENSORS: usize = 8;
/// Most children a block names.
const MAX_CHILDREN: usize = 4;

/// What a tensor is, which decides what trains it: weights and biases are
/// trained (weight decay applies to weights), buffers are state that is
/// saved and loaded but never updated by an optimizer (running statistics,
/// a quantized layer's integers).
///
/// ```
/// use stackprop::ParamKind;
/// assert!(ParamKind::Weight.trained() && !ParamKind::Buffer.trained());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamKind {
    /// A weight (regularized by weight decay).
    Weight,
    /// A bias (not regularized by default).
    Bias,
    /// State that no optimizer updates.
    Buffer,
}

impl ParamKind {
    /// Whether optimizers update tensors of this kind.
    pub const fn trained(self) -> bool {
        matches!(self, ParamKind::Weight | ParamKind::Bias)
    }
    /// The code in weight files.
    pub const fn code(self) -> u8 {
        match self {
            ParamKind::Weight => 1,
            ParamKind::Bias => 2,
            ParamKind::Buffer => 3,
        }
    }
    /// The kind with code `c`.
    pub const fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(ParamKind::Weight),
            2 => Some(ParamKind::Bias),
            3 => Some(ParamKind::Buffer),
            _ => None,
        }
    }
}

/// A tensor of a layer: name, kind, element type and shape (PyTorch's
/// order; the values are stored column-major, the first index fastest).
///
/// ```
/// use stackprop::module::{Desc, ParamKind};
/// const D: Desc = Desc::new("Linear").tensor::<f32>("weight", ParamKind::Weight, &[8, 4]);
/// let w = &D.tensors()[0];
/// assert_eq!((w.name, w.dims(), w.len()), ("weight", &[8, 4][..], 32));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The name, the last segment of the tensor's path (`weight`).
    pub name: &'static str,
    /// What it is.
    pub kind: ParamKind,
    /// The element type.
    pub dtype: Dtype,
    rank: usize,
    dims: [usize; MAX_RANK],
}

impl Spec {
    /// The dimensions, outermost first (PyTorch's shape).
    pub const fn dims(&self) -> &[usize] {
        self.dims.split_at(self.rank).0
    }
    /// The number of values (1 for a tensor of rank 0).
    pub const fn len(&self) -> usize {
        let mut n = 1;
        let mut k = 0;
        while k < self.rank {
            n *= self.dims[k];
            k += 1;
        }
        n
    }
    /// Whether it holds no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether values of type `dtype`, `len` of them, are what this spec
    /// says (what the weight file, the PyTorch import and the export check
    /// of every tensor a layer hands out).
    pub fn fits(&self, dtype: Dtype, len: usize) -> bool {
        dtype == self.dtype && len == self.len()
    }
}

/// A hyper-parameter: part of the layer's type (its scalar type, a
/// dimension) or a value it holds ([`crate::module::Module::value`]).
///
/// In exported Rust source, `Scalar` and `Dim` are the generic arguments of
/// the layer's type, in the order the [`Desc`] lists them; `Value`s are the
/// first arguments of its constructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hyper {
    /// The scalar type parameter (`T` of `Linear<T, I, O>`).
    Scalar(Dtype),
    /// A dimension, a const parameter of the type (`in = 784`).
    Dim(&'static str, usize),
    /// A value of the layer (a slope); the `k`-th `Value` of the list is
    /// `Module::value(k)`.
    Value(&'static str),
}

/// A layer's description: a constant, built with the `const fn`s below in
/// the layer's own file (see [`crate::module::Module`]). A name longer than
/// [`NAME_MAX`] bytes, or more entries than the limits, fail the build.
///
/// ```
/// use stackprop::module::{Desc, Hyper, ParamKind};
/// const D: Desc = Desc::new("Linear")
///     .rust("stackprop::Linear", "from_columns")
///     .scalar::<f32>()
///     .dim("in", 4)
///     .dim("out", 8)
///     .tensor::<f32>("weight", ParamKind::Weight, &[8, 4])
///     .tensor::<f32>("bias", ParamKind::Bias, &[8]);
/// assert_eq!(D.hypers()[1], Hyper::Dim("in", 4));
/// assert_eq!(D.tensors().len(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    /// The kind, as messages and weight files name it (`"Linear"`).
    pub kind: &'static str,
    /// The path of the type in exported Rust source (`"stackprop::Linear"`);
    /// empty if the layer cannot be exported.
    pub rust_path: &'static str,
    /// The `const fn` exported source builds it with (`"from_columns"`):
    /// `path::<generics>::ctor(values.., tensors..)` for a layer,
    /// `path::ctor(children..)` for a block; empty for a unit struct, whose
    /// path is its value.
    pub rust_ctor: &'static str,
    hypers: [Hyper; MAX_HYPERS],
    n_hypers: usize,
    tensors: [Spec; MAX_TENSORS],
    n_tensors: usize,
    children: [&'static str; MAX_CHILDREN],
    n_children: usize,
}

const fn check_name(name: &str) {
    assert!(!name.is_empty(), "stackprop: an empty name in a layer's description");
    assert!(name.len() <= NAME_MAX, "stackprop: a name in a layer's description is over 32 bytes");
}

impl Desc {
    /// A layer of kind `kind`, with nothing else yet.
    pub const fn new(kind: &'static str) -> Self {
        check_name(kind);
        Desc {
            kind,
            rust_path: "",
            rust_ctor: "",
            hypers: [Hyper::Value(""); MAX_HYPERS],
            n_hypers: 0,
            tensors: [Spec {
                name: "",
                kind: ParamKind::Buffer,
                dtype: Dtype::U8,
                rank: 0,
                dims: [0; MAX_RANK],
            }; MAX_TENSORS],
            n_tensors: 0,
            children: [""; MAX_CHILDREN],
            n_children: 0,
        }
    }

    /// How exported Rust source names the type and builds a value.
    pub const fn rust(mut self, path: &'static str, ctor: &'static str) -> Self {
        self.rust_path = path;
        self.rust_ctor = ctor;
        self
    }

    const fn hyper(mut self, h: Hyper) -> Self {
        assert!(self.n_hypers < MAX_HYPERS, "stackprop: over 16 hyper-parameters");
        self.hypers[self.n_hypers] = h;
        self.n_hypers += 1;
        self
    }

    /// The scalar type parameter `T`.
    pub const fn scalar<T: Elem>(self) -> Self {
        self.hyper(Hyper::Scalar(T::DTYPE))
    }

    /// A dimension (a const parameter of the type).
    pub const fn dim(self, name: &'static str, value: usize) -> Self {
        check_name(name);
        self.hyper(Hyper::Dim(name, value))
    }

    /// A value the layer holds, given by `Module::value(k)` for the `k`-th
    /// `value` listed.
    pub const fn value(self, name: &'static str) -> Self {
        check_name(name);
        self.hyper(Hyper::Value(name))
    }

    /// A tensor of `T` with PyTorch's shape `dims`.
    pub const fn tensor<T: Elem>(
        mut self,
        name: &'static str,
        kind: ParamKind,
        dims: &[usize],
    ) -> Self {
        check_name(name);
        assert!(self.n_tensors < MAX_TENSORS, "stackprop: over 8 tensors in one layer");
        assert!(dims.len() <= MAX_RANK, "stackprop: a tensor of rank over 5");
        let mut d = [0; MAX_RANK];
        let mut k = 0;
        while k < dims.len() {
            d[k] = dims[k];
            k += 1;
        }
        self.tensors[self.n_tensors] =
            Spec { name, kind, dtype: T::DTYPE, rank: dims.len(), dims: d };
        self.n_tensors += 1;
        self
    }

    /// A child of a block, walked as a sequence after the block's own
    /// tensors.
    pub const fn child(mut self, name: &'static str) -> Self {
        check_name(name);
        assert!(self.n_children < MAX_CHILDREN, "stackprop: over 4 children in one block");
        self.children[self.n_children] = name;
        self.n_children += 1;
        self
    }

    /// The hyper-parameters, in order.
    pub const fn hypers(&self) -> &[Hyper] {
        self.hypers.split_at(self.n_hypers).0
    }

    /// The layer's own tensors, in order.
    pub const fn tensors(&self) -> &[Spec] {
        self.tensors.split_at(self.n_tensors).0
    }

    /// The names of a block's children, in order.
    pub const fn children(&self) -> &[&'static str] {
        self.children.split_at(self.n_children).0
    }

    /// The number of [`Hyper::Value`]s.
    pub const fn values(&self) -> usize {
        let mut n = 0;
        let mut k = 0;
        while k < self.n_hypers {
            if let Hyper::Value(_) = self.hypers[k] {
                n += 1;
            }
            k += 1;
        }
        n
    }
}

/// Totals over a subtree, as constants ([`crate::module::Module::SIZE`]).
///
/// ```
/// use stackprop::module::Module;
/// use stackprop::{Linear, Relu, Seq};
/// let s = <Seq![Linear<f32, 4, 8>, Relu, Linear<f32, 8, 3>]>::SIZE;
/// assert_eq!((s.tensors, s.len, s.bytes), (4, 67, 268));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Tensors.
    pub tensors: usize,
    /// Values over all tensors.
    pub len: usize,
    /// Values over the trained tensors (the parameters).
    pub params: usize,
    /// Bytes of those values.
    pub bytes: usize,
    /// Records of the weight file's architecture signature: one per node,
    /// hyper-parameter, tensor and child.
    pub records: usize,
    /// The element types of the trained tensors, one bit per
    /// [`Dtype::code`] (bit 0 for the types files do not store).
    pub trained: u32,
    /// Whether every tensor's type can be stored in a file.
    pub storable: bool,
    /// Bit `i` set: tensor `i` is trained (for the first 64 tensors).
    pub trained_mask: u64,
    /// Bit `i` set: tensor `i` is a weight (for the first 64 tensors).
    pub weight_mask: u64,
}

impl Size {
    /// Nothing.
    pub const ZERO: Size = Size {
        tensors: 0,
        len: 0,
        params: 0,
        bytes: 0,
        records: 0,
        trained: 0,
        storable: true,
        trained_mask: 0,
        weight_mask: 0,
    };

    /// A node's own part: its tensors, and a record for itself, each
    /// hyper-parameter, tensor and child name.
    pub const fn of(d: &Desc) -> Size {
        let mut s = Size {
            records: 1 + d.n_hypers + d.n_tensors + d.n_children,
            tensors: d.n_tensors,
            ..Size::ZERO
        };
        let mut k = 0;
        while k < d.n_tensors {
            let t = &d.tensors[k];
            s.len += t.len();
            s.bytes += t.len() * t.dtype.bytes();
            if t.kind.trained() {
                s.trained |= 1 << t.dtype.code();
                s.params += t.len();
                if k < 64 {
                    s.trained_mask |= 1 << k;
                }
            }
            if matches!(t.kind, ParamKind::Weight) && k < 64 {
                s.weight_mask |= 1 << k;
            }
            s.storable &= t.dtype.storable();
            k += 1;
        }
        s
    }

    /// The totals of two subtrees, `o`'s tensors after `self`'s.
    pub const fn plus(self, o: Size) -> Size {
        let (t, w) = if self.tensors < 64 {
            (o.trained_mask << self.tensors, o.weight_mask << self.tensors)
        } else {
            (0, 0)
        };
        Size {
            trained_mask: self.trained_mask | t,
            weight_mask: self.weight_mask | w,
            tensors: self.tensors + o.tensors,
            len: self.len + o.len,
            params: self.params + o.params,
            bytes: self.bytes + o.bytes,
            records: self.records + o.records,
            trained: self.trained | o.trained,
            storable: self.storable && o.storable,
        }
    }

    /// Whether every trained tensor has element type `T` (or there is
    /// none): what an optimizer over `T` needs.
    pub const fn trains_only<T: Elem>(&self) -> bool {
        self.trained & !(1 << T::DTYPE.code()) == 0
    }
}
