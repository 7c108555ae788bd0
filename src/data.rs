//! Data sets as borrowed slices, and shuffled minibatches without
//! allocation.
//!
//! A [`Dataset`] borrows samples (`&[[T; I]]`, one array per sample) and
//! targets — class indices (`&[usize]`) or vectors (`&[[T; N]]`) — from
//! wherever they live: a `static` in flash, a buffer filled by a sensor, or
//! a `Vec` on the host. [`Batches`] walks a seeded shuffle of the sample
//! indices, kept in a caller-provided buffer.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::data::{Batches, Dataset};
//! use stackprop::rng::Rng;
//! let xs = [[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
//! let labels = [0usize, 1, 0];
//! let data = Dataset::new(&xs, &labels[..]).unwrap();
//! let mut order = [0usize; 3];
//! let mut batches = Batches::<2>::new(data.len(), &mut order, &mut Rng::new(3)).unwrap();
//! let idx = batches.next_batch().unwrap();
//! let (mut x, mut t) = (SMatrix::<f32, 2, 2>::zeros(), [0usize; 2]);
//! data.gather(idx, &mut x, &mut t);
//! assert!(batches.next_batch().is_none()); // 3 samples: one full batch of 2
//! ```

use crate::error::Error;
use crate::rng::Rng;
use crate::scalar::{Real, is_finite};
use crate::zeros::Zeros;
use nalgebra::SMatrix;

/// A slice of per-sample targets: class indices `[usize]` or vectors
/// `[[T; N]]`.
pub trait TargetSet {
    /// Number of samples.
    fn count(&self) -> usize;
    /// Checks every target (finite values).
    fn validate(&self) -> Result<(), Error>;
    /// `(..n, n..)`.
    fn split_at(&self, n: usize) -> (&Self, &Self);
}

/// Per-sample targets that can be gathered into a minibatch target of `B`
/// samples.
pub trait Targets<const B: usize>: TargetSet {
    /// The minibatch target: `[usize; B]` for labels, `SMatrix<T, N, B>` for
    /// vectors.
    type Batch: Zeros;
    /// Writes the targets of samples `idx` into `out` (column `j` ← sample
    /// `idx[j]`). Indices must be `< count()`; [`Batches`] guarantees it.
    fn gather(&self, idx: &[usize], out: &mut Self::Batch);
}

impl TargetSet for [usize] {
    fn count(&self) -> usize {
        self.len()
    }
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }
    fn split_at(&self, n: usize) -> (&Self, &Self) {
        <[usize]>::split_at(self, n)
    }
}

impl<const B: usize> Targets<B> for [usize] {
    type Batch = [usize; B];
    fn gather(&self, idx: &[usize], out: &mut [usize; B]) {
        for (o, &i) in out.iter_mut().zip(idx) {
            *o = self.get(i).copied().unwrap_or(0);
        }
    }
}

impl<T: Real, const N: usize> TargetSet for [[T; N]] {
    fn count(&self) -> usize {
        self.len()
    }
    fn validate(&self) -> Result<(), Error> {
        if self.iter().flatten().all(|&v| is_finite(v)) {
            Ok(())
        } else {
            Err(Error::NonFinite { what: "target" })
        }
    }
    fn split_at(&self, n: usize) -> (&Self, &Self) {
        <[[T; N]]>::split_at(self, n)
    }
}

impl<T: Real, const N: usize, const B: usize> Targets<B> for [[T; N]] {
    type Batch = SMatrix<T, N, B>;
    fn gather(&self, idx: &[usize], out: &mut SMatrix<T, N, B>) {
        for (mut col, &i) in out.column_iter_mut().zip(idx) {
            if let Some(s) = self.get(i) {
                col.copy_from_slice(s);
            }
        }
    }
}

/// A supervised data set: samples of `I` features and their targets `Y`
/// (`[usize]` class indices or `[[T; N]]` vectors), borrowed.
///
/// ```
/// use stackprop::data::Dataset;
/// let xs = [[0.0f64; 4]; 3];
/// assert!(Dataset::new(&xs, &[0usize, 1][..]).is_err()); // 3 samples, 2 labels
/// assert!(Dataset::new(&[[f64::NAN; 4]], &[0usize][..]).is_err());
/// ```
#[derive(Debug)]
pub struct Dataset<'a, T, const I: usize, Y: ?Sized> {
    x: &'a [[T; I]],
    y: &'a Y,
}

impl<T, const I: usize, Y: ?Sized> Clone for Dataset<'_, T, I, Y> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, const I: usize, Y: ?Sized> Copy for Dataset<'_, T, I, Y> {}

impl<'a, T: Real, const I: usize, Y: ?Sized> Dataset<'a, T, I, Y> {
    /// A data set of samples `x` and targets `y`; errors unless they have the
    /// same non-zero length and every value is finite.
    pub fn new(x: &'a [[T; I]], y: &'a Y) -> Result<Self, Error>
    where
        Y: TargetSet,
    {
        if x.is_empty() {
            return Err(Error::InvalidDataset { what: "no samples" });
        }
        if x.len() != y.count() {
            return Err(Error::InvalidDataset { what: "samples and targets differ in number" });
        }
        if !x.iter().flatten().all(|&v| is_finite(v)) {
            return Err(Error::NonFinite { what: "sample" });
        }
        y.validate()?;
        Ok(Self { x, y })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Always `false`: a data set has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The samples.
    pub fn samples(&self) -> &'a [[T; I]] {
        self.x
    }

    /// The targets.
    pub fn targets(&self) -> &'a Y {
        self.y
    }

    /// Writes samples `idx` into the columns of `x` and their targets into
    /// `t`.
    pub fn gather<const B: usize>(&self, idx: &[usize], x: &mut SMatrix<T, I, B>, t: &mut Y::Batch)
    where
        Y: Targets<B>,
    {
        for (mut col, &i) in x.column_iter_mut().zip(idx) {
            if let Some(s) = self.x.get(i) {
                col.copy_from_slice(s);
            }
        }
        self.y.gather(idx, t);
    }

    /// Splits into the first `n` samples and the rest (a fixed train/test
    /// split; shuffle the source once beforehand if its order matters).
    ///
    /// ```
    /// use stackprop::data::Dataset;
    /// let xs = [[1.0f32], [2.0], [3.0]];
    /// let d = Dataset::new(&xs, &[0usize, 1, 2][..]).unwrap();
    /// let (train, test) = d.split(2).unwrap();
    /// assert_eq!((train.len(), test.len()), (2, 1));
    /// ```
    pub fn split(&self, n: usize) -> Result<(Self, Self), Error>
    where
        Y: TargetSet,
    {
        if n == 0 || n >= self.len() {
            return Err(Error::InvalidDataset { what: "a split must leave samples on both sides" });
        }
        let (xa, xb) = self.x.split_at(n);
        let (ya, yb) = self.y.split_at(n);
        Ok((Self { x: xa, y: ya }, Self { x: xb, y: yb }))
    }
}

/// One epoch of shuffled minibatches of `B` sample indices.
///
/// The order lives in a caller-provided buffer (a local array, a `static`, a
/// `heapless::Vec`), one `usize` per sample; the final partial batch is
/// skipped.
///
/// ```
/// use stackprop::data::Batches;
/// let mut order = [0usize; 10];
/// let mut b = Batches::<4>::new(10, &mut order, &mut stackprop::rng::Rng::new(1)).unwrap();
/// assert_eq!(b.next_batch().unwrap().len(), 4);
/// assert!(b.next_batch().is_some());
/// assert!(b.next_batch().is_none());
/// ```
#[derive(Debug)]
pub struct Batches<'o, const B: usize> {
    order: &'o mut [usize],
    pos: usize,
}

impl<'o, const B: usize> Batches<'o, B> {
    /// A fresh shuffle of `0..n` into `order`. Errors if `order` does not
    /// hold exactly `n` indices or if `n < B` (no full minibatch).
    pub fn new(n: usize, order: &'o mut [usize], rng: &mut Rng) -> Result<Self, Error> {
        if order.len() != n {
            return Err(Error::InvalidDataset {
                what: "the order buffer must hold one index per sample",
            });
        }
        if n < B || B == 0 {
            return Err(Error::InvalidDataset { what: "fewer samples than one minibatch" });
        }
        for (i, o) in order.iter_mut().enumerate() {
            *o = i;
        }
        rng.shuffle(order);
        Ok(Self { order, pos: 0 })
    }

    /// The next `B` indices, or `None` at the end of the epoch.
    pub fn next_batch(&mut self) -> Option<&[usize]> {
        let end = self.pos + B;
        let s = self.order.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
}

/// Shuffles samples and their targets together, in place: one seeded
/// permutation (Fisher–Yates, the same as [`Rng::shuffle`] draws for `xs`
/// alone) applied to both slices, so each sample keeps its target.
///
/// Use it once before [`Dataset::split`] for a fixed, shuffled train/test
/// split of data stored in class order. Errors, changing nothing, if the
/// slices differ in length.
///
/// ```
/// use stackprop::data::{shuffle_together, Dataset};
/// use stackprop::rng::Rng;
/// let mut xs = [[0.0f32], [1.0], [2.0], [3.0]];
/// let mut ys = [0usize, 1, 2, 3];
/// shuffle_together(&mut xs, &mut ys, &mut Rng::new(5)).unwrap();
/// assert!(xs.iter().zip(&ys).all(|(x, &y)| x[0] == y as f32));
/// let data = Dataset::new(&xs, &ys[..]).unwrap();
/// let (train, test) = data.split(3).unwrap();
/// assert_eq!((train.len(), test.len()), (3, 1));
/// ```
pub fn shuffle_together<A, B>(xs: &mut [A], ys: &mut [B], rng: &mut Rng) -> Result<(), Error> {
    if xs.len() != ys.len() {
        return Err(Error::InvalidDataset { what: "samples and targets differ in number" });
    }
    for i in (1..xs.len()).rev() {
        let j = rng.below(i + 1);
        xs.swap(i, j);
        ys.swap(i, j);
    }
    Ok(())
}

#[cfg(test)]
mod shuffle_together_tests {
    use super::*;

    #[test]
    fn same_permutation_as_rng_shuffle_and_pairs_kept() {
        let mut xs: [u32; 50] = core::array::from_fn(|i| i as u32);
        let mut ys: [usize; 50] = core::array::from_fn(|i| 1000 + i);
        let mut alone = xs;
        Rng::new(42).shuffle(&mut alone);
        shuffle_together(&mut xs, &mut ys, &mut Rng::new(42)).unwrap();
        assert_eq!(xs, alone);
        assert_ne!(xs, core::array::from_fn(|i| i as u32)); // it did shuffle
        assert!(xs.iter().zip(&ys).all(|(&x, &y)| y == 1000 + x as usize));
    }

    #[test]
    fn length_mismatch_changes_nothing() {
        let mut xs = [1, 2, 3];
        let mut ys = [1, 2];
        let mut rng = Rng::new(1);
        assert!(shuffle_together(&mut xs, &mut ys, &mut rng).is_err());
        assert_eq!((xs, ys, rng), ([1, 2, 3], [1, 2], Rng::new(1)));
    }
}
