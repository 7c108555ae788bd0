//! Classification metrics: the predicted class of each column, accuracy,
//! and a confusion matrix — without allocation.
//!
//! A classifier's output is an `SMatrix<T, C, B>` of scores (logits or
//! probabilities), one column per sample; [`argmax_columns`] turns it into
//! `B` class indices. [`ConfusionMatrix`] counts (true class, predicted
//! class) pairs in a `[[u32; C]; C]` and derives accuracy, precision and
//! recall; [`ConfusionMatrix::evaluate`] runs a model over a whole
//! [`Dataset`] in minibatches, in a caller's input buffer.
//!
//! ```
//! use nalgebra::SMatrix;
//! use stackprop::metrics::{accuracy, argmax_columns, ConfusionMatrix};
//! // Scores of 3 classes for 2 samples (one column each).
//! let y = SMatrix::<f32, 3, 2>::from_column_slice(&[0.1, 2.0, -1.0, 5.0, 0.0, 4.0]);
//! let pred = argmax_columns(&y);
//! assert_eq!(pred, [1, 0]);
//! let truth = [1, 2];
//! assert_eq!(accuracy(&pred, &truth), Ok(0.5));
//! let mut cm = ConfusionMatrix::<3>::new();
//! cm.record_all(&truth, &pred).unwrap();
//! assert_eq!(cm.count(2, 0), 1); // one sample of class 2 predicted as 0
//! assert_eq!(cm.accuracy(), 0.5);
//! ```

use crate::data::Dataset;
use crate::error::Error;
use crate::layer::Layer;
use crate::scalar::Real;
use core::fmt;
use nalgebra::SMatrix;

/// The index of the largest value of `xs` (the first one on ties).
///
/// NaN values are never the maximum; `0` if `xs` is empty or all NaN.
///
/// ```
/// use stackprop::metrics::argmax;
/// assert_eq!(argmax(&[1.0, 3.0, 3.0, -2.0]), 1);
/// assert_eq!(argmax(&[f32::NAN, -1.0, -4.0]), 1);
/// assert_eq!(argmax::<f64>(&[]), 0);
/// ```
pub fn argmax<T: PartialOrd + Copy>(xs: &[T]) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, &v) in xs.iter().enumerate() {
        let better = match best {
            // Only NaN is not comparable with itself.
            None => v.partial_cmp(&v).is_some(),
            Some((_, b)) => v > b,
        };
        if better {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// The [`argmax`] of each column: the predicted class of each sample of a
/// batch of scores.
///
/// ```
/// use nalgebra::SMatrix;
/// use stackprop::metrics::argmax_columns;
/// let y = SMatrix::<f64, 2, 3>::new(1.0, 0.0, 5.0,
///                                   2.0, 0.0, 4.0);
/// assert_eq!(argmax_columns(&y), [1, 0, 0]);
/// ```
pub fn argmax_columns<T, const C: usize, const B: usize>(y: &SMatrix<T, C, B>) -> [usize; B]
where
    T: nalgebra::Scalar + PartialOrd + Copy,
{
    let mut out = [0; B];
    for (o, col) in out.iter_mut().zip(y.as_slice().chunks_exact(C.max(1))) {
        *o = argmax(col);
    }
    out
}

/// The fraction of `pred` equal to `truth`, element by element.
///
/// Errors if the slices differ in length or are empty.
///
/// ```
/// use stackprop::metrics::accuracy;
/// assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]), Ok(0.75));
/// assert!(accuracy(&[0, 1], &[0]).is_err());
/// ```
pub fn accuracy(pred: &[usize], truth: &[usize]) -> Result<f64, Error> {
    if pred.len() != truth.len() {
        return Err(Error::LengthMismatch {
            what: "predictions",
            expected: truth.len(),
            found: pred.len(),
        });
    }
    if pred.is_empty() {
        return Err(Error::InvalidDataset { what: "no samples" });
    }
    let hits = pred.iter().zip(truth).filter(|(p, t)| p == t).count();
    Ok(hits as f64 / pred.len() as f64)
}

/// Counts of (true class, predicted class) pairs for `C` classes: row =
/// true class, column = predicted class (scikit-learn's convention).
///
/// `C·C` `u32` counters, nothing else: `size_of::<ConfusionMatrix<10>>()`
/// is 400 bytes. Counters saturate at `u32::MAX`.
///
/// ```
/// use stackprop::metrics::ConfusionMatrix;
/// let mut cm = ConfusionMatrix::<2>::new();
/// cm.record(0, 0).unwrap();
/// cm.record(1, 0).unwrap();
/// cm.record(1, 1).unwrap();
/// assert_eq!(cm.counts(), &[[1, 0], [1, 1]]);
/// assert_eq!(cm.recall(1), Some(0.5));
/// assert_eq!(cm.precision(0), Some(0.5));
/// assert!(cm.record(2, 0).is_err()); // class 2 does not exist
/// assert_eq!(cm.total(), 3);
/// const _: () = assert!(core::mem::size_of::<ConfusionMatrix<10>>() == 400);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix<const C: usize> {
    counts: [[u32; C]; C],
}

impl<const C: usize> Default for ConfusionMatrix<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const C: usize> ConfusionMatrix<C> {
    /// An empty matrix.
    ///
    /// ```
    /// static CM: stackprop::metrics::ConfusionMatrix<3> =
    ///     stackprop::metrics::ConfusionMatrix::new();
    /// assert_eq!(CM.total(), 0);
    /// ```
    pub const fn new() -> Self {
        Self { counts: [[0; C]; C] }
    }

    /// Sets every count to zero.
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// cm.record(1, 0).unwrap();
    /// cm.clear();
    /// assert_eq!(cm.total(), 0);
    /// ```
    pub fn clear(&mut self) {
        self.counts = [[0; C]; C];
    }

    /// The counts: `counts()[t][p]` samples of class `t` predicted as `p`.
    ///
    /// ```
    /// let cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// assert_eq!(cm.counts(), &[[0, 0], [0, 0]]);
    /// ```
    pub fn counts(&self) -> &[[u32; C]; C] {
        &self.counts
    }

    /// The number of samples of class `truth` predicted as `pred` (`0` for
    /// indices out of range).
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// cm.record(0, 1).unwrap();
    /// assert_eq!((cm.count(0, 1), cm.count(1, 0), cm.count(5, 5)), (1, 0, 0));
    /// ```
    pub fn count(&self, truth: usize, pred: usize) -> u32 {
        self.counts.get(truth).and_then(|r| r.get(pred)).copied().unwrap_or(0)
    }

    /// Counts one sample. Errors (counting nothing) if a class is `≥ C`.
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<3>::new();
    /// assert!(cm.record(2, 1).is_ok());
    /// assert!(cm.record(1, 3).is_err());
    /// assert_eq!(cm.total(), 1);
    /// ```
    pub fn record(&mut self, truth: usize, pred: usize) -> Result<(), Error> {
        self.record_all(&[truth], &[pred])
    }

    /// Counts `truth[k]` against `pred[k]` for every `k`. Errors, counting
    /// nothing, if the slices differ in length or any class is `≥ C`.
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// cm.record_all(&[0, 1, 1], &[0, 1, 0]).unwrap();
    /// assert_eq!(cm.correct(), 2);
    /// assert!(cm.record_all(&[0, 1], &[0, 2]).is_err());
    /// assert_eq!(cm.total(), 3); // unchanged by the failed call
    /// ```
    pub fn record_all(&mut self, truth: &[usize], pred: &[usize]) -> Result<(), Error> {
        if truth.len() != pred.len() {
            return Err(Error::LengthMismatch {
                what: "predictions",
                expected: truth.len(),
                found: pred.len(),
            });
        }
        for (sample, (&t, &p)) in truth.iter().zip(pred).enumerate() {
            if t >= C || p >= C {
                return Err(Error::LabelOutOfRange { sample, label: t.max(p), classes: C });
            }
        }
        for (&t, &p) in truth.iter().zip(pred) {
            self.counts[t][p] = self.counts[t][p].saturating_add(1);
        }
        Ok(())
    }

    /// The number of samples counted.
    ///
    /// ```
    /// assert_eq!(stackprop::metrics::ConfusionMatrix::<4>::new().total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().map(|&c| u64::from(c)).sum()
    }

    /// The number of samples predicted correctly (the diagonal).
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// cm.record_all(&[0, 1], &[0, 0]).unwrap();
    /// assert_eq!(cm.correct(), 1);
    /// ```
    pub fn correct(&self) -> u64 {
        (0..C).map(|c| u64::from(self.counts[c][c])).sum()
    }

    /// `correct() / total()`, or `0.0` when nothing was counted.
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// assert_eq!(cm.accuracy(), 0.0);
    /// cm.record_all(&[0, 1, 1, 1], &[0, 1, 1, 0]).unwrap();
    /// assert_eq!(cm.accuracy(), 0.75);
    /// ```
    pub fn accuracy(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            n => self.correct() as f64 / n as f64,
        }
    }

    /// Recall of class `c`: the fraction of its samples predicted as `c`
    /// (`None` if `c ≥ C` or no sample of class `c` was counted).
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// cm.record_all(&[1, 1, 1, 1], &[1, 1, 1, 0]).unwrap();
    /// assert_eq!((cm.recall(1), cm.recall(0)), (Some(0.75), None));
    /// ```
    pub fn recall(&self, c: usize) -> Option<f64> {
        let row = self.counts.get(c)?;
        let n: u64 = row.iter().map(|&v| u64::from(v)).sum();
        (n > 0).then(|| f64::from(row[c]) / n as f64)
    }

    /// Precision of class `c`: the fraction of samples predicted as `c`
    /// that are of class `c` (`None` if `c ≥ C` or nothing was predicted
    /// as `c`).
    ///
    /// ```
    /// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
    /// cm.record_all(&[0, 1, 1], &[1, 1, 1]).unwrap();
    /// assert_eq!(cm.precision(1), Some(2.0 / 3.0));
    /// assert_eq!(cm.precision(0), None);
    /// ```
    pub fn precision(&self, c: usize) -> Option<f64> {
        if c >= C {
            return None;
        }
        let n: u64 = self.counts.iter().map(|r| u64::from(r[c])).sum();
        (n > 0).then(|| f64::from(self.counts[c][c]) / n as f64)
    }

    /// Runs `model` over every sample of `data`, `B` at a time in the
    /// caller's input buffer `x`, and counts the [`argmax`] of each output
    /// column against the sample's label. The last, partial minibatch is
    /// run too (its unused columns keep earlier samples and are not
    /// counted), so every sample is counted once.
    ///
    /// Errors, counting nothing, if a label is `≥ C`.
    ///
    /// ```
    /// use nalgebra::SMatrix;
    /// use stackprop::metrics::ConfusionMatrix;
    /// use stackprop::prelude::*;
    /// // A fixed 2 → 2 "network" that predicts the larger feature.
    /// let net = Linear::<f32, 2, 2>::from_fn(|o, i| if o == i { 1.0 } else { 0.0 }, |_| 0.0);
    /// let xs = [[1.0f32, 0.0], [0.0, 1.0], [2.0, 1.0]];
    /// let labels = [0usize, 1, 1];
    /// let data = Dataset::new(&xs, &labels[..]).unwrap();
    /// let mut cm = ConfusionMatrix::<2>::new();
    /// cm.evaluate(&net, &data, &mut SMatrix::<f32, 2, 2>::zeros()).unwrap();
    /// assert_eq!(cm.counts(), &[[1, 0], [1, 1]]);
    /// ```
    pub fn evaluate<T, M, const I: usize, const B: usize>(
        &mut self,
        model: &M,
        data: &Dataset<'_, T, I, [usize]>,
        x: &mut SMatrix<T, I, B>,
    ) -> Result<(), Error>
    where
        T: Real + PartialOrd,
        M: Layer<SMatrix<T, I, B>, Output = SMatrix<T, C, B>>,
    {
        let labels = data.targets();
        if let Some(sample) = labels.iter().position(|&t| t >= C) {
            return Err(Error::LabelOutOfRange { sample, label: labels[sample], classes: C });
        }
        let mut t = [0usize; B];
        let mut idx = [0usize; B];
        let mut start = 0;
        while start < data.len() {
            let n = B.min(data.len() - start);
            for (k, i) in idx.iter_mut().enumerate() {
                *i = start + k;
            }
            data.gather(&idx[..n], x, &mut t);
            let pred = argmax_columns(&model.forward(x));
            // Labels were checked above: this cannot fail.
            self.record_all(&t[..n], &pred[..n])?;
            start += n;
        }
        Ok(())
    }
}

/// A table with the true class down and the predicted class across.
///
/// ```
/// let mut cm = stackprop::metrics::ConfusionMatrix::<2>::new();
/// cm.record_all(&[0, 1, 1], &[0, 1, 0]).unwrap();
/// assert_eq!(cm.to_string(), "true\\pred  0  1\n        0  1  0\n        1  1  1\n");
/// ```
impl<const C: usize> fmt::Display for ConfusionMatrix<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = |mut v: u64| {
            let mut d = 1;
            while v >= 10 {
                v /= 10;
                d += 1;
            }
            d
        };
        let largest = self.counts.iter().flatten().copied().max().unwrap_or(0);
        let w = digits(u64::from(largest)).max(digits(C.saturating_sub(1) as u64)) + 1;
        write!(f, "true\\pred")?;
        for p in 0..C {
            write!(f, " {p:>w$}", w = w)?;
        }
        writeln!(f)?;
        for (t, row) in self.counts.iter().enumerate() {
            write!(f, "{t:>9}")?;
            for c in row {
                write!(f, " {c:>w$}", w = w)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::layers::Linear;
    use proptest::prelude::*;

    #[test]
    fn argmax_prefers_first_of_ties_and_skips_nan() {
        assert_eq!(argmax(&[2.0f32, 2.0]), 0);
        assert_eq!(argmax(&[f64::NAN, f64::NAN]), 0);
        assert_eq!(argmax(&[-1.0f64, f64::NAN, 0.5, f64::NAN]), 2);
        assert_eq!(argmax(&[f32::NEG_INFINITY, -1e30]), 1);
    }

    proptest! {
        // argmax agrees with a naive maximum search on NaN-free data.
        #[test]
        fn argmax_is_a_maximum(xs in proptest::collection::vec(-1e6f64..1e6, 1..20)) {
            let i = argmax(&xs);
            prop_assert!(xs.iter().all(|&v| v <= xs[i]));
            prop_assert!(xs[..i].iter().all(|&v| v < xs[i]));
        }

        // Totals, diagonal and accuracy agree with counting by hand.
        #[test]
        fn confusion_matches_hand_count(pairs in proptest::collection::vec((0usize..4, 0usize..4), 1..60)) {
            let (t, p): (std::vec::Vec<usize>, std::vec::Vec<usize>) = pairs.iter().copied().unzip();
            let mut cm = ConfusionMatrix::<4>::new();
            cm.record_all(&t, &p).unwrap();
            prop_assert_eq!(cm.total(), pairs.len() as u64);
            let hits = pairs.iter().filter(|(a, b)| a == b).count();
            prop_assert_eq!(cm.correct(), hits as u64);
            prop_assert_eq!(cm.accuracy(), accuracy(&p, &t).unwrap());
            for c in 0..4 {
                let row = pairs.iter().filter(|(a, _)| *a == c).count() as u64;
                prop_assert_eq!(cm.counts()[c].iter().map(|&v| u64::from(v)).sum::<u64>(), row);
            }
        }
    }

    #[test]
    fn failed_record_changes_nothing() {
        let mut cm = ConfusionMatrix::<3>::new();
        cm.record_all(&[0, 1, 2], &[0, 2, 2]).unwrap();
        let before = cm;
        assert_eq!(
            cm.record_all(&[0, 1, 2], &[0, 3, 1]),
            Err(Error::LabelOutOfRange { sample: 1, label: 3, classes: 3 })
        );
        assert!(cm.record_all(&[0], &[]).is_err());
        assert_eq!(cm, before);
    }

    #[test]
    fn counters_saturate() {
        let mut cm = ConfusionMatrix::<1> { counts: [[u32::MAX]] };
        cm.record(0, 0).unwrap();
        assert_eq!(cm.count(0, 0), u32::MAX);
    }

    // Batch sizes that divide the data, don't, and exceed it all count every
    // sample once, and agree with running the samples one by one.
    #[test]
    fn evaluate_counts_each_sample_once_for_any_batch() {
        let net = Linear::<f64, 2, 3>::from_fn(
            |o, i| (o as f64 - 1.0) * (i as f64 + 0.5),
            |o| o as f64 * 0.1,
        );
        let xs: [[f64; 2]; 7] = [
            [1.0, 0.0],
            [-1.0, 2.0],
            [0.3, -0.2],
            [0.0, 0.0],
            [5.0, 1.0],
            [-3.0, -3.0],
            [0.1, 0.9],
        ];
        let labels = [2usize, 0, 1, 1, 2, 0, 2];
        let data = Dataset::new(&xs, &labels[..]).unwrap();
        let mut one = ConfusionMatrix::<3>::new();
        one.evaluate(&net, &data, &mut SMatrix::<f64, 2, 1>::zeros()).unwrap();
        assert_eq!(one.total(), 7);
        for b in [2usize, 3, 7] {
            let mut cm = ConfusionMatrix::<3>::new();
            match b {
                2 => cm.evaluate(&net, &data, &mut SMatrix::<f64, 2, 2>::zeros()),
                3 => cm.evaluate(&net, &data, &mut SMatrix::<f64, 2, 3>::zeros()),
                _ => cm.evaluate(&net, &data, &mut SMatrix::<f64, 2, 7>::zeros()),
            }
            .unwrap();
            assert_eq!(cm, one, "batch {b}");
        }
        let mut big = ConfusionMatrix::<3>::new();
        big.evaluate(&net, &data, &mut SMatrix::<f64, 2, 16>::zeros()).unwrap();
        assert_eq!(big, one);
        // By hand: the prediction of each sample, one at a time.
        let mut hand = ConfusionMatrix::<3>::new();
        for (x, &t) in xs.iter().zip(&labels) {
            let y = net.forward(&SMatrix::<f64, 2, 1>::from_column_slice(x));
            hand.record(t, argmax(y.as_slice())).unwrap();
        }
        assert_eq!(hand, one);
    }

    #[test]
    fn evaluate_rejects_bad_labels_and_counts_nothing() {
        let net = Linear::<f32, 1, 2>::zeros();
        let xs = [[0.0f32], [1.0]];
        let labels = [0usize, 2];
        let data = Dataset::new(&xs, &labels[..]).unwrap();
        let mut cm = ConfusionMatrix::<2>::new();
        let e = cm.evaluate(&net, &data, &mut SMatrix::<f32, 1, 1>::zeros());
        assert_eq!(e, Err(Error::LabelOutOfRange { sample: 1, label: 2, classes: 2 }));
        assert_eq!(cm.total(), 0);
    }
}
