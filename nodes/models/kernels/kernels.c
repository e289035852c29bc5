/*
 * Fused float32 kernels for the tiny transformer (nodes/models/Transformer.ts) and the
 * models' shared ops (nodes/models/Ops.ts), in WebAssembly SIMD (128-bit). Built by
 * nodes/models/kernels/build.ts into binary.ts; nodes/models/kernels/Kernels.ts
 * instantiates the module on TensorFlow.js's wasm heap (it imports that memory) and
 * registers each entry point as a TensorFlow.js kernel of the wasm backend.
 *
 * Rules that keep the module safe on another module's heap: no data segments (the build
 * refuses a module with one: it would be copied over TensorFlow.js's data), no allocation
 * (callers pass `scratch` from TensorFlow.js's malloc), and a stack the loader allocates there
 * and points the exported __stack_pointer at (the kernels keep their values in locals and use
 * none of it as built). Every loop runs in a fixed order, so results are bit-identical run to
 * run; no fused multiply-add, so products sum exactly as a plain loop of multiplies and adds.
 *
 * Formulas (float32, row-major, shapes in brackets):
 *   matmul      C[M,N] = A·B (+ bias), A and B read through strides (transposes are free)
 *   layer_norm  y = (x − μ)/σ · γ + β, σ = √(var + ε) (Ba et al., 2016, arXiv:1607.06450)
 *   gelu        0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (Hendrycks & Gimpel, arXiv:1606.08415)
 *   attention   softmax(QKᵀ/√dh + causal mask)·V per head (Vaswani et al., arXiv:1706.03762)
 *   token_log_probs  log softmax(logits[t])[token[t+1]]
 *   adam        Kingma & Ba, arXiv:1412.6980, in the order of nodes/models/Adam.ts
 * Gradients are the exact derivatives of the same expressions.
 */
#include <wasm_simd128.h>

typedef float f32;
typedef int i32;

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

/* GEMM blocking: an MR×NR register tile, B packed in panels of NR columns and at most KC rows. */
#define MR 4
#define NR 8
#define KC 256

INLINE v128_t splat(f32 x) { return wasm_f32x4_splat(x); }
INLINE v128_t add(v128_t a, v128_t b) { return wasm_f32x4_add(a, b); }
INLINE v128_t sub(v128_t a, v128_t b) { return wasm_f32x4_sub(a, b); }
INLINE v128_t mul(v128_t a, v128_t b) { return wasm_f32x4_mul(a, b); }
INLINE v128_t div(v128_t a, v128_t b) { return wasm_f32x4_div(a, b); }
INLINE v128_t load(const f32* p) { return wasm_v128_load(p); }
INLINE void store(f32* p, v128_t x) { wasm_v128_store(p, x); }
INLINE f32 lane0(v128_t x) { return wasm_f32x4_extract_lane(x, 0); }
INLINE f32 hsum(v128_t x) {
  return (wasm_f32x4_extract_lane(x, 0) + wasm_f32x4_extract_lane(x, 1)) +
         (wasm_f32x4_extract_lane(x, 2) + wasm_f32x4_extract_lane(x, 3));
}
INLINE f32 hmax(v128_t x) {
  f32 a = wasm_f32x4_extract_lane(x, 0), b = wasm_f32x4_extract_lane(x, 1);
  f32 c = wasm_f32x4_extract_lane(x, 2), d = wasm_f32x4_extract_lane(x, 3);
  f32 ab = a > b ? a : b, cd = c > d ? c : d;
  return ab > cd ? ab : cd;
}
INLINE i32 min_i(i32 a, i32 b) { return a < b ? a : b; }

/* ---------------------------------------------------------------------------------------
 * Elementary functions (Cephes single precision: S. L. Moshier, "Methods and Programs for
 * Mathematical Functions", 1989), exp vectorised. Relative error ~2 ulp.
 */

/*
 * e^x: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2ⁿ from exponent bits. n is
 * rounded by adding 1.5·2²³ + 127, which leaves n + 127 in the sum's low bits: shifted into the
 * exponent field they are 2ⁿ. (pmin/pmax and this shift compile to single x86 instructions;
 * f32x4.min/max and i32x4.trunc_sat do not.) x is clamped to [−87.3, 88], so the result is
 * finite and at least 2⁻¹²⁶.
 */
#define EXP_SHIFT 12583039.0f
INLINE v128_t v_exp(v128_t x) {
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, splat(88.0f)), splat(-87.33654f));
  v128_t t = add(mul(x, splat(1.44269504088896341f)), splat(EXP_SHIFT));
  v128_t n = sub(t, splat(EXP_SHIFT));
  v128_t r = sub(sub(x, mul(n, splat(0.693359375f))), mul(n, splat(-2.12194440e-4f)));
  v128_t p = splat(1.9875691500e-4f);
  p = add(mul(p, r), splat(1.3981999507e-3f));
  p = add(mul(p, r), splat(8.3334519073e-3f));
  p = add(mul(p, r), splat(4.1665795894e-2f));
  p = add(mul(p, r), splat(1.6666665459e-1f));
  p = add(mul(p, r), splat(5.0000001201e-1f));
  p = add(add(mul(mul(p, r), r), r), splat(1.0f));
  return mul(p, wasm_i32x4_shl(t, 23));
}

/* natural log of x ≥ 1 (a softmax's sum): x = m·2ᵉ, m ∈ [√½, √2), log(m) by a polynomial. */
static f32 s_log(f32 x) {
  i32 bits = wasm_i32x4_extract_lane(wasm_f32x4_splat(x), 0);
  i32 e = ((bits >> 23) & 0xff) - 126;
  f32 m = wasm_f32x4_extract_lane(wasm_i32x4_splat((bits & (i32)0x807fffff) | 0x3f000000), 0);
  if (m < 0.70710678118654752f) {
    e -= 1;
    m = m + m - 1.0f;
  } else {
    m = m - 1.0f;
  }
  f32 z = m * m;
  f32 y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  f32 fe = (f32)e;
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return (m + y) + 0.693359375f * fe;
}

/* ---------------------------------------------------------------------------------------
 * GEMM: C[i,j] (=|+=) Σ_k A(i,k)·B(k,j) (+ bias[j]), with A(i,k) = A[i·ars + k·aks] and
 * B(k,j) = B[k·bks + j·bjs], so any transpose is a choice of strides. B is packed into
 * zero-padded panels of NR columns; A is read in place when its rows are contiguous in k,
 * else packed per MR-row block. K is split into blocks of KC, each continuing the sums where
 * the last left them: every sum is taken in the order of k, as a plain loop would.
 */

/* floats of scratch gemm needs */
static i32 gemm_scratch_floats(i32 N, i32 K) {
  i32 panels = (N + NR - 1) / NR;
  i32 kc = min_i(K, KC);
  return panels * NR * kc + panels * NR + MR * kc;
}

static void pack_b(const f32* B, i32 kc, i32 N, i32 bks, i32 bjs, f32* out) {
  for (i32 j0 = 0; j0 < N; j0 += NR) {
    i32 w = min_i(N - j0, NR);
    f32* p = out + (j0 / NR) * kc * NR;
    if (bjs == 1 && w == NR) {
      for (i32 k = 0; k < kc; k++) {
        store(p + k * NR, load(B + k * bks + j0));
        store(p + k * NR + 4, load(B + k * bks + j0 + 4));
      }
    } else {
      for (i32 k = 0; k < kc; k++) {
        for (i32 c = 0; c < NR; c++) p[k * NR + c] = c < w ? B[k * bks + (j0 + c) * bjs] : 0.0f;
      }
    }
  }
}

/* w ≤ NR columns of a row of C, zero-padded */
INLINE void load_row(const f32* c, i32 w, v128_t* x0, v128_t* x1) {
  if (w == NR) {
    *x0 = load(c);
    *x1 = load(c + 4);
    return;
  }
  v128_t a = splat(0.0f), b = splat(0.0f);
  if (w > 0) a = wasm_f32x4_replace_lane(a, 0, c[0]);
  if (w > 1) a = wasm_f32x4_replace_lane(a, 1, c[1]);
  if (w > 2) a = wasm_f32x4_replace_lane(a, 2, c[2]);
  if (w > 3) a = wasm_f32x4_replace_lane(a, 3, c[3]);
  if (w > 4) b = wasm_f32x4_replace_lane(b, 0, c[4]);
  if (w > 5) b = wasm_f32x4_replace_lane(b, 1, c[5]);
  if (w > 6) b = wasm_f32x4_replace_lane(b, 2, c[6]);
  *x0 = a;
  *x1 = b;
}

/* w ≤ NR columns of a row of C */
INLINE void store_row(f32* c, v128_t x0, v128_t x1, i32 w) {
  if (w == NR) {
    store(c, x0);
    store(c + 4, x1);
    return;
  }
  v128_t x = x0;
  for (i32 q = 0; q < w; q++) {
    if (q == 4) x = x1;
    c[q] = lane0(x);
    x = wasm_i32x4_shuffle(x, x, 1, 2, 3, 0);
  }
}

#define TILE_ROW(r)                                                  \
  if (rows > r) {                                                    \
    v128_t a = wasm_v128_load32_splat(A + r * ars + k * aks);        \
    c##r##0 = add(c##r##0, mul(a, b0));                              \
    c##r##1 = add(c##r##1, mul(a, b1));                              \
  }

/*
 * The register tile: rows ≤ MR rows of A against one packed panel P of kc rows. Each sum
 * starts from C's value when acc (so a sum split over K blocks is still taken in the order of
 * k), else from zero; i0/i1 (a bias, or zeros) are added at the end.
 */
INLINE void tile(const i32 rows, i32 kc, const f32* A, i32 ars, i32 aks, const f32* P, v128_t i0, v128_t i1, f32* C,
                 i32 ldc, i32 w, i32 acc) {
  v128_t z = splat(0.0f);
  v128_t c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
  if (acc) {
    load_row(C, w, &c00, &c01);
    if (rows > 1) load_row(C + ldc, w, &c10, &c11);
    if (rows > 2) load_row(C + 2 * ldc, w, &c20, &c21);
    if (rows > 3) load_row(C + 3 * ldc, w, &c30, &c31);
  }
  for (i32 k = 0; k < kc; k++) {
    v128_t b0 = load(P + k * NR), b1 = load(P + k * NR + 4);
    TILE_ROW(0) TILE_ROW(1) TILE_ROW(2) TILE_ROW(3)
  }
  c00 = add(c00, i0), c01 = add(c01, i1), c10 = add(c10, i0), c11 = add(c11, i1);
  c20 = add(c20, i0), c21 = add(c21, i1), c30 = add(c30, i0), c31 = add(c31, i1);
  store_row(C, c00, c01, w);
  if (rows > 1) store_row(C + ldc, c10, c11, w);
  if (rows > 2) store_row(C + 2 * ldc, c20, c21, w);
  if (rows > 3) store_row(C + 3 * ldc, c30, c31, w);
}

static void tile_any(i32 rows, i32 kc, const f32* A, i32 ars, i32 aks, const f32* P, v128_t i0, v128_t i1, f32* C, i32 ldc,
                     i32 w, i32 acc) {
  switch (rows) {
    case 1: tile(1, kc, A, ars, aks, P, i0, i1, C, ldc, w, acc); break;
    case 2: tile(2, kc, A, ars, aks, P, i0, i1, C, ldc, w, acc); break;
    case 3: tile(3, kc, A, ars, aks, P, i0, i1, C, ldc, w, acc); break;
    default: tile(MR, kc, A, ars, aks, P, i0, i1, C, ldc, w, acc); break;
  }
}

/* Which part of a causal product gemm computes, for the MR-row block starting at row i. */
enum triangle {
  FULL = 0,
  /* only columns j ≤ row (the lower triangle of C); the rest of C is left as it was */
  LOWER_C = 1,
  /* A is lower triangular (A(r, k) = 0 for k > r): k runs to the block's last row */
  LOWER_A = 2,
  /* A is upper triangular (A(r, k) = 0 for k < r): k runs from the block's first row */
  UPPER_A = 3
};

static void gemm(i32 M, i32 N, i32 K, const f32* A, i32 ars, i32 aks, const f32* B, i32 bks, i32 bjs, f32* C, i32 ldc,
                 i32 accumulate, const f32* bias, f32* scratch, i32 tri) {
  i32 panels = (N + NR - 1) / NR;
  f32* packed = scratch;
  f32* biases = scratch + panels * NR * min_i(K, KC);
  f32* apack = biases + panels * NR;
  for (i32 j = 0; j < panels * NR; j++) biases[j] = bias != 0 && j < N ? bias[j] : 0.0f;
  i32 k0 = 0;
  do {
    i32 kc = min_i(K - k0, KC);
    i32 acc = accumulate || k0 > 0;
    i32 last = k0 + kc == K;
    pack_b(B + k0 * bks, kc, N, bks, bjs, packed);
    for (i32 i = 0; i < M; i += MR) {
      i32 rows = min_i(M - i, MR);
      /* this block's k range within [k0, k0 + kc), and its columns */
      i32 klo = tri == UPPER_A && i > k0 ? min_i(i, k0 + kc) : k0;
      i32 khi = tri == LOWER_A ? min_i(k0 + kc, i + rows) : k0 + kc;
      if (khi < klo) khi = klo;
      i32 ncols = tri == LOWER_C ? min_i(N, i + rows) : N;
      const f32* Ai = A + i * ars + klo * aks;
      i32 rs = ars, ks = aks;
      if (aks != 1) {
        for (i32 k = 0; k < khi - klo; k++) {
          for (i32 r = 0; r < MR; r++) apack[k * MR + r] = r < rows ? Ai[r * ars + k * aks] : 0.0f;
        }
        Ai = apack;
        rs = 1;
        ks = MR;
      }
      for (i32 j0 = 0; j0 < ncols; j0 += NR) {
        i32 w = min_i(N - j0, NR);
        v128_t i0 = last && bias != 0 ? load(biases + j0) : splat(0.0f);
        v128_t i1 = last && bias != 0 ? load(biases + j0 + 4) : splat(0.0f);
        const f32* P = packed + (j0 / NR) * kc * NR + (klo - k0) * NR;
        if (rows == MR) tile(MR, khi - klo, Ai, rs, ks, P, i0, i1, C + i * ldc + j0, ldc, w, acc);
        else tile_any(rows, khi - klo, Ai, rs, ks, P, i0, i1, C + i * ldc + j0, ldc, w, acc);
      }
    }
    k0 += kc;
  } while (k0 < K);
}

EXPORT(matmul_scratch) i32 matmul_scratch(i32 N, i32 K) { return gemm_scratch_floats(N, K); }

/*
 * Matrix–vector products (N = 1: a linear model's scores and its weights' gradient), where
 * gemm would use one lane of eight. Each sum is gemm's, operation for operation: from zero,
 * + A(i,k)·b[k] in the order of k, + 0 at the end of each KC block of k (gemm's store of a
 * partial sum) and + bias (or 0) at the end, so the results are bit-identical to gemm's.
 */

/* 4×4 transpose: lane r of out[k] is lane k of row r */
INLINE void transpose4(v128_t r0, v128_t r1, v128_t r2, v128_t r3, v128_t* out) {
  v128_t lo01 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), lo23 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
  v128_t hi01 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), hi23 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  out[0] = wasm_i32x4_shuffle(lo01, lo23, 0, 1, 4, 5);
  out[1] = wasm_i32x4_shuffle(lo01, lo23, 2, 3, 6, 7);
  out[2] = wasm_i32x4_shuffle(hi01, hi23, 0, 1, 4, 5);
  out[3] = wasm_i32x4_shuffle(hi01, hi23, 2, 3, 6, 7);
}

/* + A(i,k)·b[k] for k in [k, end) to the sums of 4 rows, one per lane (rows past M repeat the last) */
INLINE v128_t gemv_rows(v128_t s, const f32* r0, const f32* r1, const f32* r2, const f32* r3, const f32* b, i32 k, i32 end) {
  for (; k + 4 <= end; k += 4) {
    v128_t c[4];
    transpose4(load(r0 + k), load(r1 + k), load(r2 + k), load(r3 + k), c);
    s = add(s, mul(c[0], splat(b[k])));
    s = add(s, mul(c[1], splat(b[k + 1])));
    s = add(s, mul(c[2], splat(b[k + 2])));
    s = add(s, mul(c[3], splat(b[k + 3])));
  }
  for (; k < end; k++) {
    v128_t column = wasm_f32x4_make(r0[k], r1[k], r2[k], r3[k]);
    s = add(s, mul(column, splat(b[k])));
  }
  return s;
}

/* out[M] = A[M,K]·b[K] (+ bias), 8 rows at a time (two independent chains of sums) */
static void gemv(i32 M, i32 K, const f32* A, const f32* b, const f32* bias, f32* out) {
  v128_t end = splat(bias != 0 ? bias[0] : 0.0f);
  for (i32 i = 0; i < M; i += 8) {
    const f32* r[8];
    for (i32 q = 0; q < 8; q++) r[q] = A + min_i(i + q, M - 1) * K;
    v128_t s0 = splat(0.0f), s1 = splat(0.0f);
    for (i32 k0 = 0; k0 < K; k0 += KC) {
      i32 k1 = min_i(K, k0 + KC);
      s0 = gemv_rows(s0, r[0], r[1], r[2], r[3], b, k0, k1);
      s1 = gemv_rows(s1, r[4], r[5], r[6], r[7], b, k0, k1);
      v128_t e = k1 == K ? end : splat(0.0f);
      s0 = add(s0, e);
      s1 = add(s1, e);
    }
    f32 lanes[8];
    store(lanes, s0);
    store(lanes + 4, s1);
    for (i32 q = 0; q < 8 && i + q < M; q++) out[i + q] = lanes[q];
  }
}

/* out[M] = Aᵀ·b with A stored [K,M] (+ bias): row k of A, times b[k], added to every sum at once */
static void gemv_transposed(i32 M, i32 K, const f32* A, const f32* b, const f32* bias, f32* out) {
  for (i32 i = 0; i < M; i++) out[i] = 0.0f;
  for (i32 k0 = 0; k0 < K; k0 += KC) {
    i32 k1 = min_i(K, k0 + KC);
    for (i32 k = k0; k < k1; k++) {
      const f32* row = A + k * M;
      v128_t bk = splat(b[k]);
      i32 i = 0;
      for (; i + 4 <= M; i += 4) store(out + i, add(load(out + i), mul(load(row + i), bk)));
      for (; i < M; i++) out[i] = out[i] + row[i] * b[k];
    }
    f32 e = k1 == K && bias != 0 ? bias[0] : 0.0f;
    for (i32 i = 0; i < M; i++) out[i] = out[i] + e;
  }
}

/*
 * out[M,N] = op(a)·op(b) (+ bias[N]); op(a) is a[M,K] or, transposed, a stored [K,M];
 * op(b) is b[K,N] or, transposed, b stored [N,K].
 */
EXPORT(matmul)
void matmul(i32 M, i32 N, i32 K, const f32* a, i32 transpose_a, const f32* b, i32 transpose_b, const f32* bias, f32* out,
            f32* scratch) {
  if (N == 1 && K > 0) {
    /* b is K floats in a row either way */
    if (transpose_a) gemv_transposed(M, K, a, b, bias, out);
    else gemv(M, K, a, b, bias, out);
    return;
  }
  gemm(M, N, K, a, transpose_a ? 1 : K, transpose_a ? M : 1, b, transpose_b ? 1 : N, transpose_b ? K : 1, out, N, 0, bias,
       scratch, FULL);
}

/* out[N] = Σ_rows x[rows, N]: a bias's gradient */
EXPORT(column_sum) void column_sum(i32 rows, i32 N, const f32* x, f32* out) {
  for (i32 j = 0; j < N; j++) out[j] = 0.0f;
  for (i32 r = 0; r < rows; r++) {
    const f32* row = x + r * N;
    i32 j = 0;
    for (; j + 4 <= N; j += 4) store(out + j, add(load(out + j), load(row + j)));
    for (; j < N; j++) out[j] += row[j];
  }
}

/* ---------------------------------------------------------------------------------------
 * LayerNorm over the last axis of x[rows, D]: y = (x − μ)/σ·γ + β, with μ and σ saved per
 * row for the gradient:
 *   x̂ = (x − μ)/σ,  g = dy·γ,  dx = (g − mean(g) − x̂·mean(g·x̂))/σ,
 *   dγ = Σ_rows dy·x̂,  dβ = Σ_rows dy.
 */
EXPORT(layer_norm)
void layer_norm(i32 rows, i32 D, const f32* x, const f32* gamma, const f32* beta, f32 epsilon, f32* y, f32* mean_out,
                f32* std_out) {
  for (i32 r = 0; r < rows; r++) {
    const f32* xr = x + r * D;
    f32* yr = y + r * D;
    v128_t s4 = splat(0.0f);
    i32 j = 0;
    for (; j + 4 <= D; j += 4) s4 = add(s4, load(xr + j));
    f32 s = hsum(s4);
    for (; j < D; j++) s += xr[j];
    f32 mean = s / (f32)D;
    v128_t m4 = splat(mean), q4 = splat(0.0f);
    for (j = 0; j + 4 <= D; j += 4) {
      v128_t c = sub(load(xr + j), m4);
      q4 = add(q4, mul(c, c));
    }
    f32 q = hsum(q4);
    for (; j < D; j++) q += (xr[j] - mean) * (xr[j] - mean);
    f32 sd = wasm_f32x4_extract_lane(wasm_f32x4_sqrt(splat(q / (f32)D + epsilon)), 0);
    v128_t sd4 = splat(sd);
    for (j = 0; j + 4 <= D; j += 4) store(yr + j, add(mul(div(sub(load(xr + j), m4), sd4), load(gamma + j)), load(beta + j)));
    for (; j < D; j++) yr[j] = (xr[j] - mean) / sd * gamma[j] + beta[j];
    mean_out[r] = mean;
    std_out[r] = sd;
  }
}

EXPORT(layer_norm_grad)
void layer_norm_grad(i32 rows, i32 D, const f32* dy, const f32* x, const f32* gamma, const f32* mean_in, const f32* std_in,
                     f32* dx, f32* dgamma, f32* dbeta) {
  for (i32 j = 0; j < D; j++) dgamma[j] = dbeta[j] = 0.0f;
  for (i32 r = 0; r < rows; r++) {
    const f32* xr = x + r * D;
    const f32* dyr = dy + r * D;
    f32* dxr = dx + r * D;
    f32 mean = mean_in[r], rstd = 1.0f / std_in[r];
    v128_t m4 = splat(mean), r4 = splat(rstd), sg4 = splat(0.0f), sgx4 = splat(0.0f);
    i32 j = 0;
    for (; j + 4 <= D; j += 4) {
      v128_t xh = mul(sub(load(xr + j), m4), r4);
      v128_t d = load(dyr + j);
      v128_t g = mul(d, load(gamma + j));
      sg4 = add(sg4, g);
      sgx4 = add(sgx4, mul(g, xh));
      store(dgamma + j, add(load(dgamma + j), mul(d, xh)));
      store(dbeta + j, add(load(dbeta + j), d));
    }
    f32 sg = hsum(sg4), sgx = hsum(sgx4);
    for (; j < D; j++) {
      f32 xh = (xr[j] - mean) * rstd, g = dyr[j] * gamma[j];
      sg += g;
      sgx += g * xh;
      dgamma[j] += dyr[j] * xh;
      dbeta[j] += dyr[j];
    }
    f32 mg = sg / (f32)D, mgx = sgx / (f32)D;
    v128_t mg4 = splat(mg), mgx4 = splat(mgx);
    for (j = 0; j + 4 <= D; j += 4) {
      v128_t xh = mul(sub(load(xr + j), m4), r4);
      v128_t g = mul(load(dyr + j), load(gamma + j));
      store(dxr + j, mul(sub(sub(g, mg4), mul(xh, mgx4)), r4));
    }
    for (; j < D; j++) {
      f32 xh = (xr[j] - mean) * rstd, g = dyr[j] * gamma[j];
      dxr[j] = (g - mg - xh * mgx) * rstd;
    }
  }
}

/* ---------------------------------------------------------------------------------------
 * GELU, tanh form: y = 0.5·x·(1 + tanh(z)), z = c·(x + 0.044715·x³), c = √(2/π). Since
 * 0.5·(1 + tanh(z)) = σ(2z) = 1/(1 + e^{−2z}), y = x·s with s = σ(2z), and
 * dy/dx = s + 2·x·s·(1 − s)·c·(1 + 3·0.044715·x²).
 */
#define GELU_C 0.7978845608028654f
#define GELU_A 0.044715f

/* σ(2z) for GELU's z at x */
INLINE v128_t v_gelu_gate(v128_t x) {
  v128_t z = mul(splat(GELU_C), add(x, mul(splat(GELU_A), mul(mul(x, x), x))));
  return div(splat(1.0f), add(splat(1.0f), v_exp(mul(z, splat(-2.0f)))));
}

/* dy/dx from x and its gate s = σ(2z) */
INLINE v128_t v_gelu_grad(v128_t x, v128_t s, v128_t dy) {
  v128_t dz = mul(splat(2.0f * GELU_C), add(splat(1.0f), mul(splat(3.0f * GELU_A), mul(x, x))));
  return mul(dy, add(s, mul(mul(mul(x, s), sub(splat(1.0f), s)), dz)));
}

/* y = x·s, and the gate s saved for the gradient */
EXPORT(gelu) void gelu(i32 n, const f32* x, f32* y, f32* gate) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t xv = load(x + i), sv = v_gelu_gate(xv);
    store(gate + i, sv);
    store(y + i, mul(xv, sv));
  }
  for (; i < n; i++) {
    v128_t xv = splat(x[i]), sv = v_gelu_gate(xv);
    gate[i] = lane0(sv);
    y[i] = lane0(mul(xv, sv));
  }
}

EXPORT(gelu_grad) void gelu_grad(i32 n, const f32* dy, const f32* x, const f32* gate, f32* dx) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) store(dx + i, v_gelu_grad(load(x + i), load(gate + i), load(dy + i)));
  for (; i < n; i++) dx[i] = lane0(v_gelu_grad(splat(x[i]), splat(gate[i]), splat(dy[i])));
}

/* ---------------------------------------------------------------------------------------
 * Causal multi-head self-attention on a fused projection qkv[B, T, 3d] (q, k, v side by
 * side, head h at columns h·dh..(h+1)·dh of each), d = H·dh:
 *   S = Q·Kᵀ/√dh,  P = softmax over s ≤ t (0 for s > t),  O = P·V  → out[B, T, d], P saved.
 * Gradient, per head:  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP))/√dh,
 *   dQ = dS·K,  dK = dSᵀ·Q,  dV = Pᵀ·dO.
 * P and dS are lower triangular, so each product computes only the triangle it needs.
 */

/* floats of scratch attention needs: one T×T matrix and the GEMMs' */
EXPORT(attention_scratch) i32 attention_scratch(i32 T, i32 dh) {
  i32 g1 = gemm_scratch_floats(T, dh), g2 = gemm_scratch_floats(dh, T);
  return T * T + (g1 > g2 ? g1 : g2);
}

/* softmax of row t over its first t + 1 entries (the causal mask), zeros after */
static void causal_softmax_row(f32* row, i32 t, i32 T, f32 scale) {
  i32 n = t + 1;
  v128_t mx4 = splat(-3.4e38f);
  i32 j = 0;
  for (; j + 4 <= n; j += 4) mx4 = wasm_f32x4_pmax(mx4, load(row + j));
  f32 mx = hmax(mx4);
  for (; j < n; j++) mx = row[j] > mx ? row[j] : mx;
  /* softmax(s/√dh) with the maximum taken before scaling: scale > 0 */
  v128_t m4 = splat(mx), sc4 = splat(scale), s4 = splat(0.0f);
  for (j = 0; j + 4 <= n; j += 4) {
    v128_t e = v_exp(mul(sub(load(row + j), m4), sc4));
    store(row + j, e);
    s4 = add(s4, e);
  }
  f32 s = hsum(s4);
  for (; j < n; j++) {
    f32 e = lane0(v_exp(splat((row[j] - mx) * scale)));
    row[j] = e;
    s += e;
  }
  v128_t inv4 = splat(s);
  for (j = 0; j + 4 <= n; j += 4) store(row + j, div(load(row + j), inv4));
  for (; j < n; j++) row[j] = row[j] / s;
  for (j = n; j < T; j++) row[j] = 0.0f;
}

EXPORT(attention)
void attention(i32 B, i32 T, i32 H, i32 dh, const f32* qkv, f32* out, f32* probs, f32* scratch) {
  i32 d = H * dh, ld = 3 * d;
  f32 scale = 1.0f / wasm_f32x4_extract_lane(wasm_f32x4_sqrt(splat((f32)dh)), 0);
  for (i32 b = 0; b < B; b++) {
    for (i32 h = 0; h < H; h++) {
      const f32* q = qkv + b * T * ld + h * dh;
      const f32* k = q + d;
      const f32* v = q + 2 * d;
      f32* p = probs + (b * H + h) * T * T;
      /* S[t,s] = Σ_e Q(t,e)·K(s,e) for s ≤ t: B(k=e, j=s) = K[s·ld + e] */
      gemm(T, T, dh, q, ld, 1, k, 1, ld, p, T, 0, 0, scratch, LOWER_C);
      for (i32 t = 0; t < T; t++) causal_softmax_row(p + t * T, t, T, scale);
      /* O[t,e] = Σ_s P(t,s)·V(s,e) into out[b, t, h·dh + e] */
      gemm(T, dh, T, p, T, 1, v, ld, 1, out + b * T * d + h * dh, d, 0, 0, scratch, LOWER_A);
    }
  }
}

EXPORT(attention_grad)
void attention_grad(i32 B, i32 T, i32 H, i32 dh, const f32* dout, const f32* qkv, const f32* probs, f32* dqkv, f32* scratch) {
  i32 d = H * dh, ld = 3 * d;
  f32 scale = 1.0f / wasm_f32x4_extract_lane(wasm_f32x4_sqrt(splat((f32)dh)), 0);
  f32* ds = scratch;
  f32* gs = scratch + T * T;
  for (i32 b = 0; b < B; b++) {
    for (i32 h = 0; h < H; h++) {
      const f32* q = qkv + b * T * ld + h * dh;
      const f32* k = q + d;
      const f32* v = q + 2 * d;
      const f32* p = probs + (b * H + h) * T * T;
      const f32* g = dout + b * T * d + h * dh;
      f32* dq = dqkv + b * T * ld + h * dh;
      /* dP[t,s] = Σ_e dO(t,e)·V(s,e) for s ≤ t */
      gemm(T, T, dh, g, d, 1, v, 1, ld, ds, T, 0, 0, gs, LOWER_C);
      /* dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale, rows causal */
      for (i32 t = 0; t < T; t++) {
        const f32* pr = p + t * T;
        f32* dr = ds + t * T;
        v128_t s4 = splat(0.0f);
        i32 j = 0, n = t + 1;
        for (; j + 4 <= n; j += 4) s4 = add(s4, mul(load(pr + j), load(dr + j)));
        f32 s = hsum(s4);
        for (; j < n; j++) s += pr[j] * dr[j];
        v128_t sm = splat(s), sc = splat(scale);
        for (j = 0; j + 4 <= n; j += 4) store(dr + j, mul(mul(load(pr + j), sub(load(dr + j), sm)), sc));
        for (; j < n; j++) dr[j] = pr[j] * (dr[j] - s) * scale;
        for (j = n; j < T; j++) dr[j] = 0.0f;
      }
      /* dQ[t,e] = Σ_s dS(t,s)·K(s,e) */
      gemm(T, dh, T, ds, T, 1, k, ld, 1, dq, ld, 0, 0, gs, LOWER_A);
      /* dK[s,e] = Σ_t dS(t,s)·Q(t,e) */
      gemm(T, dh, T, ds, 1, T, q, ld, 1, dq + d, ld, 0, 0, gs, UPPER_A);
      /* dV[s,e] = Σ_t P(t,s)·dO(t,e) */
      gemm(T, dh, T, p, 1, T, g, d, 1, dq + 2 * d, ld, 0, 0, gs, UPPER_A);
    }
  }
}

/* ---------------------------------------------------------------------------------------
 * Embedding: out[b,t] = table[tokens[b,t]] + positions[t] (a token outside [0, V) embeds as
 * zeros, as a one-hot product would). Gradient: dTable[v] = Σ over (b,t) with token v of
 * dy[b,t]; dPositions[t] = Σ_b dy[b,t] (rows t ≥ T: 0).
 */
EXPORT(embedding)
void embedding(i32 BT, i32 T, i32 D, i32 V, const i32* tokens, const f32* table, const f32* positions, f32* out) {
  for (i32 r = 0; r < BT; r++) {
    i32 tok = tokens[r];
    const f32* pos = positions + (r % T) * D;
    f32* o = out + r * D;
    if (tok >= 0 && tok < V) {
      const f32* e = table + tok * D;
      i32 j = 0;
      for (; j + 4 <= D; j += 4) store(o + j, add(load(e + j), load(pos + j)));
      for (; j < D; j++) o[j] = e[j] + pos[j];
    } else {
      for (i32 j = 0; j < D; j++) o[j] = 0.0f + pos[j];
    }
  }
}

EXPORT(embedding_grad)
void embedding_grad(i32 BT, i32 T, i32 D, i32 V, i32 L, const f32* dy, const i32* tokens, f32* dtable, f32* dpositions) {
  for (i32 j = 0; j < V * D; j++) dtable[j] = 0.0f;
  for (i32 j = 0; j < L * D; j++) dpositions[j] = 0.0f;
  for (i32 r = 0; r < BT; r++) {
    i32 tok = tokens[r];
    const f32* g = dy + r * D;
    f32* dp = dpositions + (r % T) * D;
    i32 j = 0;
    for (; j + 4 <= D; j += 4) store(dp + j, add(load(dp + j), load(g + j)));
    for (; j < D; j++) dp[j] += g[j];
    if (tok >= 0 && tok < V) {
      f32* dt = dtable + tok * D;
      for (j = 0; j + 4 <= D; j += 4) store(dt + j, add(load(dt + j), load(g + j)));
      for (; j < D; j++) dt[j] += g[j];
    }
  }
}

/* ---------------------------------------------------------------------------------------
 * Log-probability of each next token: for b < B, t < T − 1, with ℓ = logits[b, t, :] and
 * y = tokens[b, t + 1]:  out[b, t] = (ℓ_y − max ℓ) − log Σ_v exp(ℓ_v − max ℓ), and 0 when y
 * is outside [0, V) (a zero one-hot row). lse[b, t] = max ℓ + log Σ exp(ℓ − max ℓ) is saved.
 * Gradient: dℓ_v = dout·(1[v = y] − exp(ℓ_v − lse)); position T − 1, and a row whose y is
 * outside [0, V), get 0.
 */
EXPORT(token_log_probs)
void token_log_probs(i32 B, i32 T, i32 V, const f32* logits, const i32* tokens, f32* out, f32* lse) {
  for (i32 b = 0; b < B; b++) {
    for (i32 t = 0; t + 1 < T; t++) {
      const f32* l = logits + (b * T + t) * V;
      i32 y = tokens[b * T + t + 1];
      v128_t mx4 = splat(-3.4e38f);
      i32 j = 0;
      for (; j + 4 <= V; j += 4) mx4 = wasm_f32x4_pmax(mx4, load(l + j));
      f32 mx = hmax(mx4);
      for (; j < V; j++) mx = l[j] > mx ? l[j] : mx;
      v128_t m4 = splat(mx), s4 = splat(0.0f);
      for (j = 0; j + 4 <= V; j += 4) s4 = add(s4, v_exp(sub(load(l + j), m4)));
      f32 s = hsum(s4);
      for (; j < V; j++) s += lane0(v_exp(splat(l[j] - mx)));
      f32 logs = s_log(s);
      i32 r = b * (T - 1) + t;
      out[r] = y >= 0 && y < V ? (l[y] - mx) - logs : 0.0f;
      lse[r] = mx + logs;
    }
  }
}

EXPORT(token_log_probs_grad)
void token_log_probs_grad(i32 B, i32 T, i32 V, const f32* dout, const f32* logits, const i32* tokens, const f32* lse,
                          f32* dlogits) {
  for (i32 b = 0; b < B; b++) {
    for (i32 t = 0; t < T; t++) {
      const f32* l = logits + (b * T + t) * V;
      f32* dl = dlogits + (b * T + t) * V;
      i32 y = t + 1 < T ? tokens[b * T + t + 1] : -1;
      if (y < 0 || y >= V) { /* the last position, or a constant 0 for a token outside the vocabulary */
        for (i32 j = 0; j < V; j++) dl[j] = 0.0f;
        continue;
      }
      i32 r = b * (T - 1) + t;
      f32 g = dout[r];
      v128_t g4 = splat(g), m4 = splat(lse[r]);
      i32 j = 0;
      for (; j + 4 <= V; j += 4) store(dl + j, mul(g4, sub(splat(0.0f), v_exp(sub(load(l + j), m4)))));
      for (; j < V; j++) dl[j] = g * (0.0f - lane0(v_exp(splat(l[j] - lse[r]))));
      dl[y] = g * (1.0f - lane0(v_exp(splat(l[y] - lse[r]))));
    }
  }
}

/* ---------------------------------------------------------------------------------------
 * Adam, element-wise, operation for operation as nodes/models/Adam.ts composes it (so the
 * results are the same bits):  m' = m·β₁ + g·(1−β₁),  v' = v·β₂ + g²·(1−β₂),
 *   θ' = θ − ((m'/c₁)/(√(v'/c₂) + ε))·lr,  c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ.
 */
INLINE void adam4(v128_t* p, v128_t* m, v128_t* v, v128_t g, f32 beta1, f32 one_minus_beta1, f32 beta2,
                  f32 one_minus_beta2, f32 c1, f32 c2, f32 epsilon, f32 lr) {
  *m = add(mul(*m, splat(beta1)), mul(g, splat(one_minus_beta1)));
  *v = add(mul(*v, splat(beta2)), mul(mul(g, g), splat(one_minus_beta2)));
  v128_t step = div(div(*m, splat(c1)), add(wasm_f32x4_sqrt(div(*v, splat(c2))), splat(epsilon)));
  *p = sub(*p, mul(step, splat(lr)));
}

EXPORT(adam)
void adam(i32 n, const f32* param, const f32* m, const f32* v, const f32* grad, f32 beta1, f32 one_minus_beta1, f32 beta2,
          f32 one_minus_beta2, f32 c1, f32 c2, f32 epsilon, f32 lr, f32* param_out, f32* m_out, f32* v_out) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t p4 = load(param + i), m4 = load(m + i), v4 = load(v + i);
    adam4(&p4, &m4, &v4, load(grad + i), beta1, one_minus_beta1, beta2, one_minus_beta2, c1, c2, epsilon, lr);
    store(param_out + i, p4);
    store(m_out + i, m4);
    store(v_out + i, v4);
  }
  for (; i < n; i++) {
    v128_t p4 = splat(param[i]), m4 = splat(m[i]), v4 = splat(v[i]);
    adam4(&p4, &m4, &v4, splat(grad[i]), beta1, one_minus_beta1, beta2, one_minus_beta2, c1, c2, epsilon, lr);
    param_out[i] = lane0(p4);
    m_out[i] = lane0(m4);
    v_out[i] = lane0(v4);
  }
}
