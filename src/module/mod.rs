//! What a model is made of, described by its layers themselves: each layer
//! states, in its own file, its kind, its hyper-parameters and its tensors
//! (name, kind, element type, shape); sequences and blocks arrange layers
//! into a tree whose paths are PyTorch's state-dict names.
//!
//! The weight file's architecture signature ([`crate::io`]), the PyTorch
//! import ([`crate::io::torch`]), the Rust-source export
//! ([`crate::export`]), their error messages and the optimizers' walks over
//! the parameters all read this description; none of them knows a list of
//! layer kinds, so a layer defined outside the crate saves, loads, imports
//! and exports like a built-in one.
//!
//! # The description
//!
//! A [`Module`] has a constant [`Desc`]: its kind (`"Linear"`), how Rust
//! source names and builds it, its hyper-parameters ([`Hyper`]: the scalar
//! type, dimensions, values such as a slope) and the [`Spec`] of each of its
//! tensors. The shape of a tensor is PyTorch's (`[out, in]` for a dense
//! weight); its values are stored in **column-major** order of that shape
//! (the first index varies fastest), which for a matrix is nalgebra's
//! storage order: element `(o, i)` of an `O×I` weight is value `o + i·O`.
//! Every constructor from slices, every visit and every file uses that one
//! layout.
//!
//! The tensors of a model are numbered in the order of the tree, a node's
//! own tensors before its children's; [`Module::tensor`] and
//! [`Module::tensor_mut`] hand tensor `i` out with its element type erased
//! ([`Data`]), [`crate::params`] gives typed views of them.
//!
//! # The tree and its paths
//!
//! A pair `(A, C)` ([`Seq!`](crate::Seq!)) is a sequence: its entries are
//! numbered from 0, nested pairs flattened, as `nn.Sequential` numbers its
//! modules. A block such as [`crate::Residual`] names its children, and a
//! child is again a sequence. The path of a tensor is the path of its node
//! and the tensor's name: `2.weight`, `3.inner.0.bias`. The model itself is
//! a sequence, so a lone layer is entry `0`.
//!
//! ```
//! use stackprop::module::{self, Module};
//! use stackprop::prelude::*;
//! type Net = Seq![Linear<f32, 2, 3>, Tanh, Residual<Seq![Linear<f32, 3, 3>, Relu]>];
//! let mut net: Net = Default::default();
//! assert_eq!(<Net as Module>::SIZE.tensors, 4);
//! assert_eq!(module::index_of(&net, "2.inner.0.bias"), Some(3));
//! if let Some(DataMut::F32(b)) = module::find_mut(&mut net, "2.inner.0.bias") {
//!     b[1] = 0.5;
//! }
//! assert_eq!(net.1.1.inner.0.bias[1], 0.5);
//! assert_eq!(module::find(&net, "1.weight"), None); // Tanh has no tensors
//! ```

mod data;
mod desc;
mod path;

pub use data::{AnyScalar, Data, DataMut, Dtype, Elem, Join, Value};
pub use desc::{Desc, Hyper, MAX_HYPERS, MAX_RANK, MAX_TENSORS, NAME_MAX, ParamKind, Size, Spec};
pub use path::{MAX_DEPTH, Path, Seg};

/// A value with a described structure: a layer, a sequence of layers, a
/// block, or anything shaped like one (a model's gradient, an optimizer's
/// moments).
///
/// A layer implements [`Module::DESC`] and, if it has tensors,
/// [`Module::tensor`] and [`Module::tensor_mut`]; if a hyper-parameter is a
/// value of the layer rather than of its type, [`Module::value`]. The rest
/// is provided, and overridden only by composites (pairs, blocks):
///
/// ```
/// use nalgebra::SVector;
/// use stackprop::module::{Data, DataMut, Desc, Module, ParamKind};
///
/// /// `y = s ⊙ x`, a learned scale per feature.
/// struct Scale<const N: usize> {
///     s: SVector<f64, N>,
/// }
///
/// impl<const N: usize> Module for Scale<N> {
///     type Scalar = f64;
///     const DESC: Desc = Desc::new("Scale")
///         .rust("my_crate::Scale", "from_array")
///         .dim("features", N)
///         .tensor::<f64>("scale", ParamKind::Weight, &[N]);
///     fn tensor(&self, i: usize) -> Option<Data<'_>> {
///         (i == 0).then(|| self.s.as_slice().into())
///     }
///     fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
///         (i == 0).then(|| self.s.as_mut_slice().into())
///     }
/// }
///
/// assert_eq!(<Scale<3> as Module>::SIZE.len, 3);
/// let s = Scale::<3> { s: SVector::from([1.0, 2.0, 3.0]) };
/// assert_eq!(stackprop::module::find(&s, "0.scale"), Some(Data::F64(&[1.0, 2.0, 3.0])));
/// ```
pub trait Module: Sized {
    /// The scalar type of the trained tensors (what an optimizer updates),
    /// or [`AnyScalar`] for a layer without any.
    type Scalar;

    /// What this node is: kind, Rust names, hyper-parameters, its own
    /// tensors (and, for a block, its children's names).
    const DESC: Desc;
    /// Totals over this node and everything under it: tensors, scalars,
    /// bytes, weight-file records. Provided from [`Module::DESC`];
    /// composites add their children's.
    const SIZE: Size = Size::of(&Self::DESC);
    /// Entries this value adds to an enclosing sequence: 1, or for a pair
    /// the entries of both halves (pairs flatten).
    const ENTRIES: usize = 1;

    /// Tensor `i` of the subtree (numbered as the [module docs](self)
    /// say), `None` past the last.
    fn tensor(&self, i: usize) -> Option<Data<'_>> {
        let _ = i;
        None
    }

    /// Tensor `i` of the subtree, mutable.
    fn tensor_mut(&mut self, i: usize) -> Option<DataMut<'_>> {
        let _ = i;
        None
    }

    /// The spec of tensor `i` of the subtree.
    fn spec(i: usize) -> Option<&'static Spec> {
        let d: &'static Desc = &Self::DESC;
        d.tensors().get(i)
    }

    /// The value of the `k`-th [`Hyper::Value`] of [`Module::DESC`].
    fn value(&self, k: usize) -> Option<Value> {
        let _ = k;
        None
    }

    /// Walks this node: [`Visitor::node`] for a layer; composites walk
    /// their children too.
    fn visit<V: Visitor>(&self, path: &mut Path, v: &mut V) -> Result<(), V::Error> {
        v.node(path, self)
    }

    /// Walks this value as entries `first..` of a sequence: one entry
    /// (path segment `first`) for a layer or a block, the entries of both
    /// halves for a pair.
    fn visit_entries<V: Visitor>(
        &self,
        path: &mut Path,
        v: &mut V,
        first: usize,
    ) -> Result<(), V::Error> {
        path.push(Seg::Index(first));
        let r = self.visit(path, v);
        path.pop();
        r
    }
}

/// What a walk over a model ([`walk`]) calls: every node in order, and the
/// bounds of sequences and of blocks' children.
pub trait Visitor {
    /// What can stop the walk.
    type Error;

    /// A layer, or a block before its children; `path` is its path.
    fn node<M: Module>(&mut self, path: &Path, m: &M) -> Result<(), Self::Error>;

    /// A sequence of `entries` entries begins: the model, or a child of a
    /// block (after [`Visitor::begin_child`]).
    fn begin_sequence(&mut self, entries: usize) -> Result<(), Self::Error> {
        let _ = entries;
        Ok(())
    }

    /// The sequence begun last ends.
    fn end_sequence(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The child `name` of the block visited last begins.
    fn begin_child(&mut self, name: &'static str) -> Result<(), Self::Error> {
        let _ = name;
        Ok(())
    }

    /// The child begun last ends.
    fn end_child(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Walks `model` as a sequence (a lone layer is entry 0).
///
/// ```
/// use stackprop::module::{walk, Module, Path, Visitor};
/// use stackprop::{Linear, Relu, Seq};
/// struct Kinds(Vec<String>);
/// impl Visitor for Kinds {
///     type Error = ();
///     fn node<M: Module>(&mut self, path: &Path, _: &M) -> Result<(), ()> {
///         self.0.push(format!("{path}: {}", M::DESC.kind));
///         Ok(())
///     }
/// }
/// let mut k = Kinds(Vec::new());
/// walk(&<Seq![Linear<f32, 2, 2>, Relu]>::default(), &mut k).unwrap();
/// assert_eq!(k.0, ["0: Linear", "1: Relu"]);
/// ```
pub fn walk<M: Module, V: Visitor>(model: &M, v: &mut V) -> Result<(), V::Error> {
    let mut path = Path::new();
    v.begin_sequence(M::ENTRIES)?;
    model.visit_entries(&mut path, v, 0)?;
    v.end_sequence()
}

/// Walks the child `name` of a block, as a sequence: what a block's
/// [`Module::visit`] calls for each child after [`Visitor::node`] on
/// itself (see [`crate::Residual`]).
pub fn visit_child<C: Module, V: Visitor>(
    child: &C,
    name: &'static str,
    path: &mut Path,
    v: &mut V,
) -> Result<(), V::Error> {
    v.begin_child(name)?;
    v.begin_sequence(C::ENTRIES)?;
    path.push(Seg::Name(name));
    let r = child.visit_entries(path, v, 0);
    path.pop();
    r?;
    v.end_sequence()?;
    v.end_child()
}

/// Calls `f(i, path, spec)` for every tensor of `model`, in
/// [`Module::tensor`] order: its number, the path of its node and its spec
/// (the tensor's own path is the node's and `spec.name`), until `f` returns
/// an error, which it returns.
///
/// ```
/// use stackprop::module;
/// use stackprop::prelude::*;
/// let net: Seq![Linear<f32, 2, 2>, Relu, Residual<LinearNoBias<f32, 2, 2>>] = Default::default();
/// let mut names = Vec::new();
/// module::for_each_tensor(&net, |i, path, spec| {
///     names.push(format!("{i} {path}.{}", spec.name));
///     Ok::<(), ()>(())
/// })
/// .unwrap();
/// assert_eq!(names, ["0 0.weight", "1 0.bias", "2 2.inner.0.weight"]);
/// ```
pub fn for_each_tensor<M: Module, E>(
    model: &M,
    f: impl FnMut(usize, &Path, &'static Spec) -> Result<(), E>,
) -> Result<(), E> {
    struct Tensors<F> {
        next: usize,
        f: F,
    }
    impl<E, F: FnMut(usize, &Path, &'static Spec) -> Result<(), E>> Visitor for Tensors<F> {
        type Error = E;
        fn node<N: Module>(&mut self, path: &Path, _: &N) -> Result<(), E> {
            let d: &'static Desc = &N::DESC;
            for s in d.tensors() {
                (self.f)(self.next, path, s)?;
                self.next += 1;
            }
            Ok(())
        }
    }
    walk(model, &mut Tensors { next: 0, f })
}

/// The number, in [`Module::tensor`] order, of the tensor whose path is
/// `path` (e.g. `"2.inner.0.weight"`).
pub fn index_of<M: Module>(model: &M, path: &str) -> Option<usize> {
    let r = for_each_tensor(
        model,
        |i, node, s| {
            if node.is_prefix_of(path, s.name) { Err(i) } else { Ok(()) }
        },
    );
    r.err()
}

/// The tensor whose path is `path`, if the model has one.
pub fn find<'m, M: Module>(model: &'m M, path: &str) -> Option<Data<'m>> {
    model.tensor(index_of(model, path)?)
}

/// The tensor whose path is `path`, mutable, if the model has one.
pub fn find_mut<'m, M: Module>(model: &'m mut M, path: &str) -> Option<DataMut<'m>> {
    let i = index_of(model, path)?;
    model.tensor_mut(i)
}
