//! `Y = W·X + b·1ᵀ` over explicit vectors: [`Affine`] tiles for batches,
//! [`Gemv`] for one sample.

use super::*;

/// `Y = W·X + b·1ᵀ` for `W: O×I`, `X: I×B` (column-major slices).
#[inline]
pub(super) fn affine<E: Elem, const O: usize, const I: usize, const B: usize>(
    y: &mut [E],
    w: &[E],
    x: &[E],
    b: Option<&[E]>,
) {
    assert!(y.len() == O * B && w.len() == O * I && x.len() == I * B);
    assert!(b.is_none_or(|b| b.len() == O));
    if B == 1 {
        let mut op = Gemv(Affine::<E, O, I> { y, w, x, b });
        return by_width!(E, O, for_tiles::<_, O, 1, MRV1, 1>(&mut op, true));
    }
    let mut op = Affine::<E, O, I> { y, w, x, b };
    by_width!(E, O, for_tiles::<_, O, B, { AFFINE_TILE.0 }, { AFFINE_TILE.1 }>(&mut op, true))
}

struct Affine<'a, E, const O: usize, const I: usize> {
    y: &'a mut [E],
    w: &'a [E],
    x: &'a [E],
    b: Option<&'a [E]>,
}

impl<E: Elem, const O: usize, const I: usize> Tile<E> for Affine<'_, E, O, I> {
    /// `Y[r0.., c0..] = b + Σ_k W[r0.., k]·X[k, c0..]`, in the order of `k`.
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    ) {
        let mut acc = [[V::ZERO; RV]; C];
        if let Some(b) = self.b {
            acc = [load_rows::<V, RV>(b, r0, last); C];
        }
        let mut xc: [&[E; I]; C] = [self.x[..I].try_into().expect("I rows"); C];
        for (j, xj) in xc.iter_mut().enumerate() {
            *xj = self.x[(c0 + j) * I..(c0 + j + 1) * I].try_into().expect("I rows");
        }
        // A closure would be simpler, but without fat LTO the compiler did
        // not always inline it (a lockstep w3 step took 2.5× as long).
        #[inline(always)]
        fn step<V: Vector, const RV: usize, const C: usize, const I: usize>(
            acc: &mut [[V; RV]; C],
            xc: &[&[V::E; I]; C],
            k: usize,
            wk: &[V::E],
            r0: usize,
            last: usize,
        ) {
            let wv = load_rows::<V, RV>(wk, r0, last);
            for (a, xj) in acc.iter_mut().zip(xc) {
                madd_col(a, &wv, xj[k]);
            }
        }
        // Two steps of `k` per iteration (the loop's own instructions were
        // a tenth of the body); each element still adds in the order of `k`.
        let mut pairs = self.w.chunks_exact(2 * O);
        for (k, w2) in (0..I / 2).map(|k| 2 * k).zip(&mut pairs) {
            step(&mut acc, &xc, k, &w2[..O], r0, last);
            step(&mut acc, &xc, k + 1, &w2[O..], r0, last);
        }
        if I % 2 == 1 {
            step(&mut acc, &xc, I - 1, pairs.remainder(), r0, last);
        }
        for (j, a) in acc.iter().enumerate() {
            store_rows(self.y, (c0 + j) * O + r0, last, a);
        }
    }
}

/// `y = W·x + b` for one sample: row `o` sums `k ≡ p (mod P)` in partial
/// sum `p` (`s₀` starting from `b[o]`), then `y[o] = (s₀ + s₁) + (s₂ + s₃)`,
/// as the generic kernel does.
/// (The operands are [`Affine`]'s; the tiles are not.)
struct Gemv<'a, E, const O: usize, const I: usize>(Affine<'a, E, O, I>);

impl<E: Elem, const O: usize, const I: usize> Tile<E> for Gemv<'_, E, O, I> {
    #[inline(always)]
    fn tile<V: Vector<E = E>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        _c0: usize,
    ) {
        let Affine { y, w, x, b } = &mut self.0;
        let x: &[E; I] = (*x).try_into().expect("I rows");
        let mut acc = [[V::ZERO; RV]; P];
        if let Some(b) = b {
            acc[0] = load_rows::<V, RV>(b, r0, last);
        }
        for c in 0..I / P {
            for (p, a) in acc.iter_mut().enumerate() {
                let k = c * P + p;
                madd_col(a, &load_rows_over::<V, RV>(w, k * O + r0, last), x[k]);
            }
        }
        for (k, &xk) in x.iter().enumerate().skip(I / P * P) {
            madd_col(&mut acc[k % P], &load_rows_over::<V, RV>(w, k * O + r0, last), xk);
        }
        let [a0, a1, a2, a3] = &acc;
        let mut out = [V::ZERO; RV];
        for (v, o) in out.iter_mut().enumerate() {
            *o = (a0[v].add(a1[v])).add(a2[v].add(a3[v]));
        }
        store_rows(y, r0, last, &out);
    }
}

/// [`load_rows`] whose last vector, when fewer than `L` rows are left,
/// is a whole vector wherever the slice has `L` values from there: its
/// lanes past `last` hold the next column's values, which the tile never
/// stores (a plain load, not a load and a blend per column: the 3-row
/// layer of a 4 → 16 → 3 network loads its 16 columns so).
#[inline(always)]
fn load_rows_over<V: Vector, const RV: usize>(s: &[V::E], at: usize, last: usize) -> [V; RV] {
    load_rows(s, at, if at + V::L * RV <= s.len() { V::L } else { last })
}
