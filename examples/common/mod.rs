//! Shared by the `digits`, `digits_cnn`, `mnist1d` and `iris` examples and by `tests/datasets.rs`
//! (each includes it with `#[path = "…/common/mod.rs"] mod common;`):
//! the data sets of `data/` compiled into the binary, a CSV parser that
//! writes into caller buffers, input standardization, and a hand-written
//! SVG chart of the training curves.
//!
//! The data sets are embedded with `include_str!`, so the examples need no
//! files (and no Python) at run time. The parser itself allocates nothing —
//! it fills slices the caller provides, as firmware would — and the
//! `Vec`-returning loaders below are the host's convenience on top of it.
//! MNIST-1D, a binary file, has its own reader in [`mnist1d`].

#![allow(dead_code)] // each user includes this file and uses a part of it

pub mod mnist1d;

use stackprop::Linear;
use std::fmt::{self, Write as _};

/// `data/iris.csv`: 150 samples, 4 features (cm), classes 0..3.
pub const IRIS_CSV: &str = include_str!("../../data/iris.csv");
/// `data/digits.csv`: 1,797 samples, 64 pixels (0..=16), classes 0..10.
pub const DIGITS_CSV: &str = include_str!("../../data/digits.csv");

/// Iris class names, by class index.
pub const IRIS_CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// What is wrong with a CSV file, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line number, from 1 (the header is line 1).
    pub line: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for ParseError {}

/// Parses a CSV text of one header line and then one sample per line — `N`
/// numbers and a class index `< classes` — into `x[k]` and `y[k]`. Returns
/// the number of samples; errors unless there are exactly `x.len()` of them
/// (and `y.len() == x.len()`). Allocates nothing.
pub fn parse_csv<const N: usize>(
    text: &str,
    classes: usize,
    x: &mut [[f32; N]],
    y: &mut [usize],
) -> Result<usize, ParseError> {
    if x.len() != y.len() {
        return Err(ParseError { line: 0, what: "sample and label buffers differ in length" });
    }
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, header)) if header.split(',').count() == N + 1 => {}
        _ => return Err(ParseError { line: 1, what: "the header must name N + 1 columns" }),
    }
    let mut n = 0;
    for (line, row) in lines {
        if row.is_empty() {
            continue;
        }
        let err = |what| ParseError { line, what };
        let (xs, ys) = match (x.get_mut(n), y.get_mut(n)) {
            (Some(xs), Some(ys)) => (xs, ys),
            _ => return Err(err("more samples than the buffers hold")),
        };
        let mut fields = row.split(',');
        for v in xs.iter_mut() {
            let f = fields.next().ok_or(err("too few columns"))?;
            *v = f.trim().parse().map_err(|_| err("a feature is not a number"))?;
            if !v.is_finite() {
                return Err(err("a feature is not finite"));
            }
        }
        let label = fields.next().ok_or(err("no class column"))?;
        *ys = label.trim().parse().map_err(|_| err("the class is not an integer"))?;
        if *ys >= classes {
            return Err(err("class index out of range"));
        }
        if fields.next().is_some() {
            return Err(err("too many columns"));
        }
        n += 1;
    }
    if n != x.len() {
        return Err(ParseError { line: 0, what: "fewer samples than the buffers hold" });
    }
    Ok(n)
}

/// Samples and labels, owned (host side).
pub struct Table<const N: usize> {
    /// One array of `N` features per sample.
    pub x: Vec<[f32; N]>,
    /// One class index per sample.
    pub y: Vec<usize>,
}

fn load<const N: usize>(
    text: &str,
    samples: usize,
    classes: usize,
) -> Result<Table<N>, ParseError> {
    let mut t = Table { x: vec![[0.0; N]; samples], y: vec![0; samples] };
    parse_csv(text, classes, &mut t.x, &mut t.y)?;
    Ok(t)
}

/// Iris: 150 × 4, classes 0..3 (50 each), in the source's order (by class).
pub fn iris() -> Result<Table<4>, ParseError> {
    load(IRIS_CSV, 150, 3)
}

/// 8 × 8 digits: 1,797 × 64 pixels in 0..=16 (row-major), classes 0..10.
pub fn digits() -> Result<Table<64>, ParseError> {
    load(DIGITS_CSV, 1797, 10)
}

/// Per-feature standardization `(x − mean) / std`, fitted on training data
/// only. A feature that is constant in the training data is only centered.
pub struct Standardizer<const N: usize> {
    /// Mean of each feature.
    pub mean: [f32; N],
    /// `1 / std` of each feature (`1` where the std is 0).
    pub inv_std: [f32; N],
}

impl<const N: usize> Standardizer<N> {
    /// Means and standard deviations of `xs`, in f64.
    pub fn fit(xs: &[[f32; N]]) -> Self {
        let n = xs.len().max(1) as f64;
        let mut mean = [0.0f32; N];
        let mut inv_std = [1.0f32; N];
        for j in 0..N {
            let m = xs.iter().map(|x| f64::from(x[j])).sum::<f64>() / n;
            let var = xs.iter().map(|x| (f64::from(x[j]) - m).powi(2)).sum::<f64>() / n;
            mean[j] = m as f32;
            if var > 1e-12 {
                inv_std[j] = (1.0 / var.sqrt()) as f32;
            }
        }
        Self { mean, inv_std }
    }

    /// Standardizes `xs` in place.
    pub fn apply(&self, xs: &mut [[f32; N]]) {
        for x in xs {
            for ((v, m), s) in x.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                *v = (*v - m) * s;
            }
        }
    }

    /// Folds the standardization into the first layer of a trained network,
    /// so that it takes raw inputs: `W·((x − m)⊙s) + b = (W·diag(s))·x +
    /// (b − W·diag(s)·m)`. The saved weights then need no separate scaler.
    pub fn fold_into<const O: usize>(&self, layer: &mut Linear<f32, N, O>) {
        for o in 0..O {
            let mut shift = 0.0f64;
            for i in 0..N {
                let w = layer.weight[(o, i)] * self.inv_std[i];
                layer.weight[(o, i)] = w;
                shift += f64::from(w) * f64::from(self.mean[i]);
            }
            layer.bias[o] -= shift as f32;
        }
    }
}

/// The directory `target/<name>/` of this repository, created.
pub fn out_dir(name: &str) -> std::io::Result<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Writes `net` to `path` in stackprop's weight-file format
/// ([`stackprop::io`]) and loads it back: the loaded model (which the
/// examples evaluate again) and the file's size.
pub fn save_and_reload<M: stackprop::module::Module + Default>(
    net: &M,
    path: &std::path::Path,
) -> Result<(M, usize), Box<dyn std::error::Error>> {
    let mut bytes = vec![0u8; stackprop::io::file_size::<M>()];
    let n = stackprop::io::save(net, &mut bytes)?;
    std::fs::write(path, &bytes[..n])?;
    let mut loaded = M::default();
    stackprop::io::load(&mut loaded, &std::fs::read(path)?)?;
    Ok((loaded, n))
}

/// The training curves of a run, one value per epoch: mean training loss,
/// and train and test accuracy in percent.
#[derive(Default)]
pub struct Curves {
    /// Mean training loss.
    pub loss: Vec<f64>,
    /// Training accuracy (%).
    pub train: Vec<f64>,
    /// Test accuracy (%).
    pub test: Vec<f64>,
}

impl Curves {
    /// Records one epoch (accuracies as fractions in `0..=1`).
    pub fn push(&mut self, loss: f64, train_acc: f64, test_acc: f64) {
        self.loss.push(loss);
        self.train.push(100.0 * train_acc);
        self.test.push(100.0 * test_acc);
    }

    /// Writes `dir/curves.svg`: a loss panel and an accuracy panel with a
    /// dashed line at `target` (a fraction). The accuracy axis starts at the
    /// lowest accuracy rounded down to 10 %, and at most at `y_floor_max`.
    pub fn write_svg(
        &self,
        dir: &std::path::Path,
        caption: &str,
        target: f64,
        y_floor_max: f64,
    ) -> std::io::Result<std::path::PathBuf> {
        let lowest = self.train.iter().chain(&self.test).fold(100.0f64, |a, &b| a.min(b));
        let floor = ((lowest / 10.0).floor() * 10.0).min(y_floor_max);
        let target_label = format!("{:.0} % target", 100.0 * target);
        let svg = chart_svg(
            caption,
            &[
                Panel {
                    title: "Training loss",
                    y_label: "softmax cross-entropy",
                    y_range: None,
                    series: &[Series {
                        name: "train (mean)",
                        color: "#d62728",
                        values: &self.loss,
                    }],
                    reference: None,
                    legend_below: false,
                },
                Panel {
                    title: "Accuracy",
                    y_label: "accuracy (%)",
                    y_range: Some((floor, 100.0)),
                    series: &[
                        Series { name: "train", color: "#1f77b4", values: &self.train },
                        Series { name: "test", color: "#ff7f0e", values: &self.test },
                    ],
                    reference: Some((100.0 * target, &target_label)),
                    legend_below: true,
                },
            ],
        );
        let path = dir.join("curves.svg");
        std::fs::write(&path, svg)?;
        Ok(path)
    }
}

/// The exit status of an example that must reach `target` test accuracy:
/// success at or above it, failure (with the reason on stderr) below it or
/// on an error.
pub fn exit_status(
    result: Result<f64, Box<dyn std::error::Error>>,
    target: f64,
) -> std::process::ExitCode {
    match result {
        Ok(acc) if acc >= target => std::process::ExitCode::SUCCESS,
        Ok(acc) => {
            eprintln!(
                "test accuracy {:.2} % is below the {:.0} % target",
                100.0 * acc,
                100.0 * target
            );
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One line of a chart: a name, a CSS colour and one value per epoch.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Stroke colour.
    pub color: &'a str,
    /// `values[k]` is plotted at epoch `k + 1`.
    pub values: &'a [f64],
}

/// One panel: a title, a y-axis label, its range and its lines.
pub struct Panel<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
    /// `(min, max)` of the y axis; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    /// The lines.
    pub series: &'a [Series<'a>],
    /// A dashed horizontal reference line (e.g. a target accuracy).
    pub reference: Option<(f64, &'a str)>,
    /// Legend in the lower right corner instead of the upper right.
    pub legend_below: bool,
}

/// "Nice" tick values (1, 2, 5 × 10^k steps) covering `lo..=hi`.
fn ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / want.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= want as f64);
    let step = step.unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Draws `panel` as an SVG group at `(x0, y0)` of size `w × h`.
fn draw_panel(svg: &mut String, p: &Panel<'_>, x0: f64, y0: f64, w: f64, h: f64) {
    let (ml, mr, mt, mb) = (58.0, 16.0, 34.0, 44.0);
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let epochs = p.series.iter().map(|s| s.values.len()).max().unwrap_or(1).max(2);
    let finite = p.series.iter().flat_map(|s| s.values.iter().copied()).filter(|v| v.is_finite());
    let (lo, hi) = p.y_range.unwrap_or_else(|| {
        let (lo, hi) =
            finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        if lo.is_finite() { (lo.min(0.0), hi * 1.05 + 1e-9) } else { (0.0, 1.0) }
    });
    let sx = |e: f64| x0 + ml + (e - 1.0) / (epochs as f64 - 1.0) * pw;
    let sy = |v: f64| y0 + mt + (1.0 - (v.clamp(lo, hi) - lo) / (hi - lo)) * ph;
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        x0 + ml + pw / 2.0,
        y0 + 20.0,
        p.title
    );
    for t in ticks(lo, hi, 6) {
        let y = sy(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            x0 + ml,
            x0 + ml + pw,
            x0 + ml - 6.0,
            y + 4.0,
            fmt_tick(t)
        );
    }
    for t in ticks(1.0, epochs as f64, 8).into_iter().filter(|t| t.fract() == 0.0) {
        let x = sx(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"##,
            y0 + mt,
            y0 + mt + ph,
            y0 + mt + ph + 16.0,
            fmt_tick(t)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{:.1}" y="{:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#444"/>"##,
        x0 + ml,
        y0 + mt
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">epoch</text>"#,
        x0 + ml + pw / 2.0,
        y0 + h - 8.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}</text>"#,
        x0 + 14.0,
        y0 + mt + ph / 2.0,
        p.y_label
    );
    if let Some((v, label)) = p.reference {
        let y = sy(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#777" stroke-dasharray="5,4"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#555">{}</text>"##,
            x0 + ml,
            x0 + ml + pw,
            x0 + ml + 6.0,
            y - 4.0,
            label
        );
    }
    for (k, s) in p.series.iter().enumerate() {
        let pts: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(e, &v)| format!("{:.1},{:.1}", sx(e as f64 + 1.0), sy(v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            s.color,
            pts.join(" ")
        );
        let row = if p.legend_below { k as f64 - p.series.len() as f64 } else { k as f64 + 1.0 };
        let (lx, ly) = (
            x0 + ml + pw - 130.0,
            if p.legend_below { y0 + mt + ph } else { y0 + mt } + 18.0 * row,
        );
        let _ = writeln!(
            svg,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{ly:.1}" font-size="12">{}</text>"#,
            ly - 4.0,
            lx + 22.0,
            ly - 4.0,
            s.color,
            lx + 28.0,
            s.name
        );
    }
}

/// An SVG picture of `panels` side by side, with a caption line.
pub fn chart_svg(caption: &str, panels: &[Panel<'_>]) -> String {
    let (w, h) = (460.0, 340.0);
    let total_w = w * panels.len().max(1) as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{}" viewBox="0 0 {total_w} {}" font-family="sans-serif">"#,
        h + 24.0,
        h + 24.0
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (k, p) in panels.iter().enumerate() {
        draw_panel(&mut svg, p, w * k as f64, 0.0, w, h);
    }
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#555">{}</text>"##,
        total_w / 2.0,
        h + 14.0,
        caption
    );
    svg.push_str("</svg>\n");
    svg
}
