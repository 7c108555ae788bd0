//! `y = W·x + b` for one sample and at most four rows, with AVX-512: the
//! four partial sums of every row in one 512-bit register.
//!
//! The generic order (see [`Gemv`](super::affine)) gives row `o` four
//! partial sums, `sₚ` adding the products of `k ≡ p (mod 4)` in the order
//! of `k` (`s₀` from `b[o]`), then `y[o] = (s₀ + s₁) + (s₂ + s₃)`. Column
//! by column, a layer of 3 rows used 3 lanes of each 8-lane multiply-add
//! (16 loads, 16 broadcasts and 16 multiply-adds for 16 inputs). Here lane
//! `4o + p` of one register holds `sₚ` of row `o`, and a step takes four
//! columns at once: the weights `W[o, 4j + p]` come out of the column-major
//! values by one two-source permute (`vpermt2d`), the inputs
//! `x[4j..4j + 4]` are one 128-bit broadcast, and one multiply-add updates
//! all sums. The sums are added in the generic order, fused the same way,
//! so the results are the same bits (the lockstep packs take the generic
//! kernel and are tested lane by lane against `f32`). Only
//! [`kernels::affine`](crate::kernels::affine) takes this path, not
//! `affine_into` (training): see the former's docs.

use safe_arch::{
    add_m512, cast_to_m512_from_m512i, cast_to_m512i_from_m512, fused_mul_add_m512, m512, m512i,
    shuffle_abv_i32_all_m512i, shuffle_m512,
};

use super::P;

/// Lanes of a 512-bit `f32` register.
const L: usize = 16;

const _: () = assert!(P == 4, "four partial sums per row fill a 128-bit quarter");

/// Whether [`gemv`] takes an `O × I` product: 1 to 4 rows, a non-zero
/// multiple of 4 columns (a partial step would add zero products to the
/// sums, which can turn a `−0` sum into `+0`).
pub(super) const fn fits(o: usize, i: usize) -> bool {
    o >= 1 && o <= L / P && i >= P && i.is_multiple_of(P)
}

/// Steps of four columns after which the permutes repeat: a step reads
/// `4·O` values, so `period(O)` steps read whole registers of `W`.
const fn period(o: usize) -> usize {
    let mut a = P * o;
    let mut b = L;
    while b != 0 {
        (a, b) = (b, a % b);
    }
    L / a
}

/// The blocks of an `O × I` product, as constants (so that the steps of a
/// block unroll and their permutes' indices are constants).
struct Shape<const O: usize, const I: usize>;

impl<const O: usize, const I: usize> Shape<O, I> {
    /// Steps of four columns per block.
    const STEPS: usize = period(O);
    /// Registers of `W` per block.
    const REGS: usize = Self::STEPS * P * O / L;
    /// Whole blocks.
    const BLOCKS: usize = I / P / Self::STEPS;
    /// Steps after the whole blocks.
    const REST: usize = I / P % Self::STEPS;
}

/// `y = W·x + b` for `W: O×I` (column-major), `x: I`, `y: O`, when
/// [`fits`]`(O, I)`.
#[inline(always)]
pub(super) fn gemv<const O: usize, const I: usize>(
    y: &mut [f32],
    w: &[f32],
    x: &[f32],
    b: Option<&[f32]>,
) {
    assert!(fits(O, I) && y.len() == O && w.len() == O * I && x.len() == I);
    assert!(b.is_none_or(|b| b.len() == O));
    let (steps, regs) = (Shape::<O, I>::STEPS, Shape::<O, I>::REGS);
    let mut s = m512::from_array(core::array::from_fn(|l| match b {
        Some(b) if l % P == 0 && l / P < O => b[l / P],
        _ => 0.0,
    }));
    // Whole blocks straight from `W`, then the last steps from a copy
    // padded with zeros to whole registers (no lane uses the zeros: absent
    // rows repeat the last row).
    for (wb, xb) in w.chunks_exact(regs * L).zip(x.chunks_exact(steps * P)) {
        s = block::<O>(s, wb, xb, steps);
    }
    if Shape::<O, I>::REST > 0 {
        let done = Shape::<O, I>::BLOCKS * steps;
        let mut pad = [0.0f32; 4 * L];
        let rest = &w[done * P * O..];
        pad[..rest.len()].copy_from_slice(rest);
        s = block::<O>(s, &pad[..regs * L], &x[done * P..], Shape::<O, I>::REST);
    }
    // (s₀ + s₁) + (s₂ + s₃) in lane 4o: neighbours, then pairs of them.
    let t = add_m512(s, shuffle_m512::<0b10_11_00_01>(s, s));
    let u = add_m512(t, shuffle_m512::<0b01_00_11_10>(t, t)).to_array();
    for (o, y) in y.iter_mut().enumerate() {
        *y = u[P * o];
    }
}

/// `steps` steps of four columns from the start of a block: `w` holds the
/// block's registers of weights, `x` its inputs from the first.
#[inline(always)]
fn block<const O: usize>(mut s: m512, w: &[f32], x: &[f32], steps: usize) -> m512 {
    let reg = |r: usize| {
        let v: &[f32; L] = w[r * L..].first_chunk().expect("a whole register");
        cast_to_m512i_from_m512(m512::from_array(*v))
    };
    let regs = w.len() / L;
    for j in 0..steps {
        // Lane 4o + p: W[o, 4j + p] = w[(4j + p)·O + o] (rows past O
        // repeat the last one), from registers r and r + 1.
        let r = j * P * O / L;
        let idx = m512i::from(core::array::from_fn::<i32, L, _>(|l| {
            let (o, p) = ((l / P).min(O - 1), l % P);
            ((P * j + p) * O + o - r * L) as i32
        }));
        let a = shuffle_abv_i32_all_m512i(reg(r), idx, reg((r + 1).min(regs - 1)));
        let h = m512::from_array(core::array::from_fn(|l| x[P * j + l % P]));
        s = fused_mul_add_m512(cast_to_m512_from_m512i(a), h, s);
    }
    s
}
