//! The error type of the crate's fallible operations.
//!
//! Bad input gets an [`Error`] value, never a panic, and the value being
//! written (a model, an optimizer state) is left as it was.
//!
//! ```
//! use stackprop::{Error, Linear};
//! let e = Linear::<f32, 2, 2>::from_column_slices(&[1.0; 3], &[0.0; 2]).unwrap_err();
//! assert_eq!(e, Error::LengthMismatch { what: "weight", expected: 4, found: 3 });
//! ```

use core::fmt;

/// What went wrong.
///
/// ```
/// use stackprop::Error;
/// let e = Error::LabelOutOfRange { sample: 3, label: 12, classes: 10 };
/// assert_eq!(format!("{e}"), "sample 3 has label 12, but the model has 10 classes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A slice had the wrong number of elements.
    LengthMismatch {
        /// What the slice was for.
        what: &'static str,
        /// The length the shape needs.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A value that must be finite was infinite or NaN.
    NonFinite {
        /// What held the non-finite value.
        what: &'static str,
    },
    /// A class label was not below the number of classes.
    LabelOutOfRange {
        /// The column (sample) holding the label.
        sample: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A hyper-parameter was outside its valid range.
    InvalidHyperparameter {
        /// Which one, and the valid range.
        what: &'static str,
    },
    /// A data set was empty or its parts disagreed in length.
    InvalidDataset {
        /// What is wrong.
        what: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::LengthMismatch { what, expected, found } => {
                write!(f, "{what} needs {expected} values, got {found}")
            }
            Error::NonFinite { what } => write!(f, "{what} is not finite (inf or NaN)"),
            Error::LabelOutOfRange { sample, label, classes } => {
                write!(f, "sample {sample} has label {label}, but the model has {classes} classes")
            }
            Error::InvalidHyperparameter { what } => write!(f, "invalid hyper-parameter: {what}"),
            Error::InvalidDataset { what } => write!(f, "invalid data set: {what}"),
        }
    }
}

impl core::error::Error for Error {}
