//! The w1_train step (4 → 16 → 3, ReLU, softmax cross-entropy, SGD with
//! weight decay on weights and biases) written by hand for this one shape
//! with `wide` vectors, timed in alternation with stackprop's
//! `Trainer::step` on the same init, data and update rule (the peers'
//! harness: `benches/common`). It measures how far the library's generic
//! step is from a step that knows its shape:
//!
//! * `by_hand`: gradient and update fused per tensor, nothing flushed,
//!   only the loss checked;
//! * `by_hand_stored`: the gradient written out (as the trainer's
//!   `backprop.grads` is) and then applied, nothing flushed;
//! * `by_hand_rules`: the library's rules — as `by_hand_stored`, and each
//!   written parameter below `2⁻¹⁰³` stored as 0 (see `stackprop::optim`).
//!
//! Before timing, all four take 1,000 steps from the init and must agree
//! with each other to 1e-5 (they differ only in rounding).
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --bench w1_by_hand
//! ```

mod common;

#[cfg(target_arch = "x86_64")]
mod by_hand {
    use super::common::{self, LR, WD};
    use wide::{Select, f32x4, f32x8};

    /// Parameters: `W₁` column-major as 8 vectors (column `k` in vectors
    /// `2k`, `2k + 1`), `b₁`, `W₂` column-major (48 values and 4 of padding
    /// so every column loads as a 4-lane vector), `b₂` (and one of padding).
    #[derive(Clone, Copy)]
    pub struct W1 {
        pub w1: [f32x8; 8],
        pub b1: [f32x8; 2],
        pub w2: [f32; 52],
        pub b2: [f32; 4],
    }

    impl W1 {
        /// The peers' init.
        pub fn init() -> Self {
            let p = common::init_params(common::W1_DIMS);
            let v8 = |s: &[f32]| f32x8::new(s.try_into().expect("8 values"));
            let mut m = W1 {
                w1: [f32x8::ZERO; 8],
                b1: [v8(&p[0].b[..8]), v8(&p[0].b[8..])],
                w2: [0.0; 52],
                b2: [0.0; 4],
            };
            // The init is row-major (PyTorch's layout); these are by column.
            let w1: Vec<f32> = (0..64).map(|c| p[0].w[(c % 16) * 4 + c / 16]).collect();
            for (i, v) in m.w1.iter_mut().enumerate() {
                *v = v8(&w1[8 * i..8 * i + 8]);
            }
            for (c, v) in m.w2[..48].iter_mut().enumerate() {
                *v = p[1].w[(c % 3) * 16 + c / 3];
            }
            m.b2[..3].copy_from_slice(&p[1].b);
            m
        }

        /// All parameters in stackprop's order (`W₁`, `b₁`, `W₂`, `b₂`).
        pub fn flat(&self) -> Vec<f32> {
            let mut v: Vec<f32> = self.w1.iter().flat_map(|x| x.to_array()).collect();
            v.extend(self.b1.iter().flat_map(|x| x.to_array()));
            v.extend(&self.w2[..48]);
            v.extend(&self.b2[..3]);
            v
        }
    }

    const TINY: f32 = f32::MIN_POSITIVE / f32::EPSILON;

    #[inline(always)]
    fn update8(p: f32x8, g: f32x8, flush: bool) -> f32x8 {
        let n = p - f32x8::splat(LR) * (g + f32x8::splat(WD) * p);
        if flush { Select::select(n.abs().simd_lt(f32x8::splat(TINY)), f32x8::ZERO, n) } else { n }
    }

    #[inline(always)]
    fn update4(p: f32x4, g: f32x4, flush: bool) -> f32x4 {
        let n = p - f32x4::splat(LR) * (g + f32x4::splat(WD) * p);
        if flush { Select::select(n.abs().simd_lt(f32x4::splat(TINY)), f32x4::ZERO, n) } else { n }
    }

    #[inline(always)]
    fn update1(p: f32, g: f32) -> f32 {
        p - LR * (g + WD * p)
    }

    /// Forward to the hidden activations (as vectors and as values) and the
    /// logits.
    #[inline(always)]
    fn forward(m: &W1, x: &[f32; 4]) -> ([f32x8; 2], [f32; 16], [f32; 4]) {
        let mut h = m.b1;
        for (k, &xk) in x.iter().enumerate() {
            for (r, h) in h.iter_mut().enumerate() {
                *h = m.w1[2 * k + r].mul_add(f32x8::splat(xk), *h);
            }
        }
        let h = [h[0].max(f32x8::ZERO), h[1].max(f32x8::ZERO)];
        let mut hs = [0.0; 16];
        hs[..8].copy_from_slice(&h[0].to_array());
        hs[8..].copy_from_slice(&h[1].to_array());
        let mut acc = [f32x4::ZERO; 4];
        for (j, &hj) in hs.iter().enumerate() {
            let c = f32x4::new(m.w2[3 * j..3 * j + 4].try_into().expect("4 values"));
            acc[j % 4] = c.mul_add(f32x4::splat(hj), acc[j % 4]);
        }
        let z = (acc[0] + acc[1]) + (acc[2] + acc[3]) + f32x4::new(m.b2);
        (h, hs, z.to_array())
    }

    /// Loss and `∂L/∂z` of softmax cross-entropy for target `t`.
    #[inline(always)]
    fn softmax_ce(z: &[f32; 4], t: usize) -> (f32, [f32; 3]) {
        let mx = z[0].max(z[1]).max(z[2]);
        let e = [(z[0] - mx).exp(), (z[1] - mx).exp(), (z[2] - mx).exp()];
        let s = e[0] + e[1] + e[2];
        let inv = 1.0 / s;
        let mut dy = [e[0] * inv, e[1] * inv, e[2] * inv];
        dy[t] -= 1.0;
        (s.ln() - (z[t] - mx), dy)
    }

    /// `∂L/∂h` through ReLU: `W₂ᵀ·dy` (the old `W₂`) where `h > 0`.
    #[inline(always)]
    fn hidden_grad(m: &W1, h: &[f32x8; 2], dy: &[f32; 3]) -> [f32x8; 2] {
        let mut dh = [0.0; 16];
        for (j, d) in dh.iter_mut().enumerate() {
            let c = &m.w2[3 * j..3 * j + 3];
            *d = c[0] * dy[0] + c[1] * dy[1] + c[2] * dy[2];
        }
        let v = [
            f32x8::new(dh[..8].try_into().expect("8")),
            f32x8::new(dh[8..].try_into().expect("8")),
        ];
        [
            Select::select(h[0].simd_gt(f32x8::ZERO), v[0], f32x8::ZERO),
            Select::select(h[1].simd_gt(f32x8::ZERO), v[1], f32x8::ZERO),
        ]
    }

    /// The loss, the hidden activations, and the gradients of the logits
    /// and of the hidden layer.
    type Gradients = (f32, [f32; 16], [f32; 3], [f32x8; 2]);

    /// Forward, loss (`None` when not finite) and [`Gradients`]: what every
    /// step variant starts with.
    #[inline(always)]
    fn gradients(m: &W1, x: &[f32; 4], t: usize) -> Option<Gradients> {
        let (h, hs, z) = forward(m, x);
        let (loss, dy) = softmax_ce(&z, t);
        if !loss.is_finite() {
            return None;
        }
        Some((loss, hs, dy, hidden_grad(m, &h, &dy)))
    }

    /// One step, gradient and update fused, nothing flushed.
    #[inline(never)]
    pub fn step(m: &mut W1, x: &[f32; 4], t: usize) -> Option<f32> {
        let (loss, hs, dy, dh) = gradients(m, x, t)?;
        for (j, &hj) in hs.iter().enumerate() {
            for (i, &d) in dy.iter().enumerate() {
                m.w2[3 * j + i] = update1(m.w2[3 * j + i], d * hj);
            }
        }
        for (i, &d) in dy.iter().enumerate() {
            m.b2[i] = update1(m.b2[i], d);
        }
        for (k, &xk) in x.iter().enumerate() {
            for (r, &d) in dh.iter().enumerate() {
                m.w1[2 * k + r] = update8(m.w1[2 * k + r], d * f32x8::splat(xk), false);
            }
        }
        for (b, &d) in m.b1.iter_mut().zip(&dh) {
            *b = update8(*b, d, false);
        }
        Some(loss)
    }

    /// One step with the gradient written to `g` and then applied; with
    /// `FLUSH`, every written parameter below `2⁻¹⁰³` stored as 0 (the
    /// library's rules).
    #[inline(never)]
    pub fn step_stored<const FLUSH: bool>(
        m: &mut W1,
        g: &mut W1,
        x: &[f32; 4],
        t: usize,
    ) -> Option<f32> {
        let (loss, hs, dy, dh) = gradients(m, x, t)?;
        for (j, &hj) in hs.iter().enumerate() {
            for (i, &d) in dy.iter().enumerate() {
                g.w2[3 * j + i] = d * hj;
            }
        }
        g.b2[..3].copy_from_slice(&dy);
        for (k, &xk) in x.iter().enumerate() {
            for (r, &d) in dh.iter().enumerate() {
                g.w1[2 * k + r] = d * f32x8::splat(xk);
            }
        }
        g.b1 = dh;
        for (p, &g) in m.w1.iter_mut().zip(&g.w1).chain(m.b1.iter_mut().zip(&g.b1)) {
            *p = update8(*p, g, FLUSH);
        }
        // `W₂` and `b₂` four at a time (their padding stays 0).
        let w2 = m.w2.chunks_exact_mut(4).zip(g.w2.chunks_exact(4));
        for (p, g) in w2.chain([(&mut m.b2[..], &g.b2[..])]) {
            let (p4, g4): (&mut [f32; 4], &[f32; 4]) =
                (p.try_into().expect("4"), g.try_into().expect("4"));
            *p4 = update4(f32x4::new(*p4), f32x4::new(*g4), FLUSH).to_array();
        }
        Some(loss)
    }
}

#[cfg(target_arch = "x86_64")]
fn main() {
    use common::nets::{input, sgd, targets, w1};
    use stackprop::prelude::*;
    use std::hint::black_box;

    let xm = input::<4, 1>();
    let x: [f32; 4] = xm.as_slice().try_into().expect("4 inputs");
    let t = targets::<1>(3);

    // Same workload: 1,000 steps each from the init.
    let (mut net, mut tr) = (w1(), Trainer::new(sgd()));
    let init = by_hand::W1::init();
    let (mut a, mut b, mut c, mut g) = (init, init, init, init);
    for _ in 0..1000 {
        tr.step(&mut net, &SoftmaxCrossEntropy, &xm, &t).expect("finite");
        by_hand::step(&mut a, &x, t[0]).expect("finite");
        by_hand::step_stored::<false>(&mut b, &mut g, &x, t[0]).expect("finite");
        by_hand::step_stored::<true>(&mut c, &mut g, &x, t[0]).expect("finite");
    }
    let mut lib = vec![];
    stackprop::params::for_each(&net, |_, p: &[f32]| lib.extend_from_slice(p));
    for (name, m) in [("by_hand", &a), ("by_hand_stored", &b), ("by_hand_rules", &c)] {
        let d = lib.iter().zip(m.flat()).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(d < 1e-5, "{name} differs from stackprop by {d} after 1,000 steps");
    }

    let w = common::workload("w1_train");
    let (mut a, mut b, mut c) = (init, init, init);
    let mut net = w1();
    for _ in 0..3 {
        common::bench("stackprop", w, || {
            let l = tr.step(&mut net, &SoftmaxCrossEntropy, black_box(&xm), black_box(&t));
            black_box(l.expect("finite"));
        });
        common::bench("by_hand", w, || {
            black_box(by_hand::step(&mut a, black_box(&x), black_box(t[0])).expect("finite"));
        });
        common::bench("by_hand_stored", w, || {
            let l = by_hand::step_stored::<false>(&mut b, &mut g, black_box(&x), black_box(t[0]));
            black_box(l.expect("finite"));
        });
        common::bench("by_hand_rules", w, || {
            let l = by_hand::step_stored::<true>(&mut c, &mut g, black_box(&x), black_box(t[0]));
            black_box(l.expect("finite"));
        });
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("w1_by_hand: x86-64 only (wide vectors)");
}
