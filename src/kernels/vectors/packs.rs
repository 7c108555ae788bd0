//! simba's `WideF32x8` (a pack of eight `f32` lanes, the lockstep scalar)
//! as an element of these kernels: a vector holds two packs (16 lanes,
//! [`wide::f32x16`]) with AVX-512, else one (`wide::f32x8`).
//!
//! A pack is eight independent `f32` computations, so a product of packs is
//! a lane-wise multiply-add: two adjacent packs of a column of `W` times a
//! pack of `X` repeated in both halves are one 512-bit multiply-add. The
//! generic kernels hold one pack per 256-bit register, half the width of
//! the `f32` kernels on an AVX-512 core. Each lane adds its products in
//! the same order and with the same fusing as `f32`, so lanes still equal
//! separate `f32` runs bit for bit.

use super::*;
use simba::simd::WideF32x8;

impl Elem for WideF32x8 {
    type Narrow = WideF32x8;
    #[cfg(target_feature = "avx512f")]
    type Wide = Pair;
    #[cfg(not(target_feature = "avx512f"))]
    type Wide = WideF32x8;
    const ZERO: Self = WideF32x8(wide::f32x8::ZERO);
    #[inline(always)]
    fn is_finite(self) -> bool {
        self.0.is_finite().all()
    }
}

/// One pack as a vector of one element.
impl Vector for WideF32x8 {
    type E = WideF32x8;
    const L: usize = 1;
    const ZERO: Self = <WideF32x8 as Elem>::ZERO;
    #[inline(always)]
    fn splat(x: Self) -> Self {
        x
    }
    #[inline(always)]
    fn load(s: &[Self], at: usize, n: usize) -> Self {
        if n == 1 { s[at] } else { Self::ZERO }
    }
    #[inline(always)]
    fn store(self, s: &mut [Self], at: usize, n: usize) {
        if n == 1 {
            s[at] = self;
        }
    }
    #[inline(always)]
    fn from_fn(n: usize, f: impl Fn(usize) -> Self) -> Self {
        if n == 1 { f(0) } else { Self::ZERO }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        WideF32x8(self.0.mul_add(a.0, b.0))
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        WideF32x8(self.0 + b.0)
    }
    #[inline(always)]
    fn reduce_add(self) -> Self {
        self
    }
}

/// Two adjacent packs in one 512-bit vector: lanes 0–7 the first, 8–15
/// the second.
#[cfg(target_feature = "avx512f")]
#[derive(Clone, Copy)]
pub(in crate::kernels) struct Pair(wide::f32x16);

#[cfg(target_feature = "avx512f")]
impl Pair {
    #[inline(always)]
    fn of(lo: WideF32x8, hi: WideF32x8) -> Self {
        let (lo, hi) = (lo.0.to_array(), hi.0.to_array());
        let mut a = [0.0; 16];
        a[..8].copy_from_slice(&lo);
        a[8..].copy_from_slice(&hi);
        Pair(wide::f32x16::new(a))
    }

    #[inline(always)]
    fn halves(self) -> [WideF32x8; 2] {
        let a = self.0.to_array();
        let (lo, hi) = (a.first_chunk::<8>().expect("8"), a.last_chunk::<8>().expect("8"));
        [WideF32x8(wide::f32x8::new(*lo)), WideF32x8(wide::f32x8::new(*hi))]
    }
}

#[cfg(target_feature = "avx512f")]
impl Vector for Pair {
    type E = WideF32x8;
    const L: usize = 2;
    const ZERO: Self = Pair(wide::f32x16::ZERO);
    #[inline(always)]
    fn splat(x: WideF32x8) -> Self {
        Self::of(x, x)
    }
    #[inline(always)]
    fn load(s: &[WideF32x8], at: usize, n: usize) -> Self {
        Self::from_fn(n, |i| s[at + i])
    }
    #[inline(always)]
    fn store(self, s: &mut [WideF32x8], at: usize, n: usize) {
        let [lo, hi] = self.halves();
        s[at] = lo;
        if n == 2 {
            s[at + 1] = hi;
        }
    }
    #[inline(always)]
    fn from_fn(n: usize, f: impl Fn(usize) -> WideF32x8) -> Self {
        let zero = <WideF32x8 as Elem>::ZERO;
        Self::of(if n >= 1 { f(0) } else { zero }, if n == 2 { f(1) } else { zero })
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Pair(self.0.mul_add(a.0, b.0))
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        Pair(self.0 + b.0)
    }
    /// The two packs added (only the finite check of `matmul_tr_acc` sums
    /// lanes).
    #[inline(always)]
    fn reduce_add(self) -> WideF32x8 {
        let [lo, hi] = self.halves();
        WideF32x8(lo.0 + hi.0)
    }
}

/// `Z = Aᵀ·B` for packs, `A: K×M`, `B: K×N`, `N > 1`: each element adds its
/// products in the order of `k`, from zero (as `f32` does over a transposed
/// `A`). No copy of `A` is made: the vector of rows `r, r + 1` of `Aᵀ` at
/// `k` is two whole packs of `A`'s columns `r` and `r + 1`, loaded as they
/// are (for `f32`, lanes would have to be shuffled out of their columns).
/// The generic path copied `A` transposed (128 KiB for a 64 × 64 layer).
#[inline]
pub(super) fn tr_matmul<const K: usize, const M: usize, const N: usize>(
    z: &mut [WideF32x8],
    a: &[WideF32x8],
    b: &[WideF32x8],
) {
    assert!(z.len() == M * N && a.len() == K * M && b.len() == K * N);
    let mut op = Gathered::<K, M> { z, a, b };
    by_width!(
        WideF32x8,
        M,
        for_tiles::<_, M, N, { AFFINE_TILE.0 }, { AFFINE_TILE.1 }>(&mut op, true)
    );
}

struct Gathered<'a, const K: usize, const M: usize> {
    z: &'a mut [WideF32x8],
    a: &'a [WideF32x8],
    b: &'a [WideF32x8],
}

impl<const K: usize, const M: usize> Tile<WideF32x8> for Gathered<'_, K, M> {
    #[inline(always)]
    fn tile<V: Vector<E = WideF32x8>, const RV: usize, const C: usize>(
        &mut self,
        r0: usize,
        last: usize,
        c0: usize,
    ) {
        let mut acc = [[V::ZERO; RV]; C];
        let mut bc: [&[WideF32x8; K]; C] = [self.b[..K].try_into().expect("K rows"); C];
        for (j, bj) in bc.iter_mut().enumerate() {
            *bj = self.b[(c0 + j) * K..(c0 + j + 1) * K].try_into().expect("K rows");
        }
        for k in 0..K {
            let mut wv = [V::ZERO; RV];
            for (v, w) in wv.iter_mut().enumerate() {
                *w = V::gather(self.a, (r0 + v * V::L) * K + k, K, lanes::<V>(v, RV, last));
            }
            for (a, bj) in acc.iter_mut().zip(&bc) {
                madd_col(a, &wv, bj[k]);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            store_rows(self.z, (c0 + j) * M + r0, last, a);
        }
    }
}
