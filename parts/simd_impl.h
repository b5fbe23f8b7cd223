/* ======================================================================================= [IMPL-SIMD]
   Vector layer and SIMD kernels. Chosen at compile time, never at run time:
     AVX-512   iff __AVX512F__                 (16 lanes; CONVRNN_NO_AVX512 skips it)
     AVX2      iff __AVX2__ && __FMA__         (8 lanes)
     NEON      iff __aarch64__ with NEON       (4 lanes)
   none under CONVRNN_NO_SIMD or CONVRNN_USE_DOUBLE. The scalar reference kernels in core_impl.h
   are always compiled; a tape with backend CONVRNN_BACKEND_SCALAR uses them, every other tape uses
   the kernels below when one of the paths is compiled. A kernel that cannot get its scratch memory
   returns 0 and the caller falls back to the scalar kernel, so no op fails for lack of scratch.

   Convolution (forward, backward-data, backward-filter, and dense as a 1x1 convolution) is a GEMM
   on NHWC data with a register-blocked micro-kernel of MR rows x NV vectors:
     forward      C[pixel][co] = bias + sum over (tap, ci) of x[pixel through tap][ci] w[tap][ci][co]
                  "indirect" A operand: per (pixel, tap) a pointer into x (or to a zero row for
                  padding), so no im2col buffer is built; B = w packed into column panels.
     bwd-data     the same with dy as the source, taps reversed through the gather rule, and
                  B = w transposed per tap; dx += result.
     bwd-filter   dw[(tap,ci)][co] += sum over pixels of x[pixel through tap][ci] dy[pixel][co];
                  A (x) and B (dy) are packed per chunk of KC pixels.
   Determinism: work is cut into tasks by the problem shape alone (never by the thread count); each
   output element belongs to exactly one task, which sums its reduction dimension in a fixed order
   (taps then channels; pixel chunks in ascending order). 1 and N threads agree bitwise. SIMD and
   scalar agree to rounding (FMA, different summation order; tests/test_simd.c states tolerances). */

/* geometry shared by conv, depthwise conv and pooling (rows of NHWC tensors) */
typedef struct convrnn__geom {
    int n, h, w, ci, kh, kw, co, s, pt, pl, oh, ow;
} convrnn__geom;
/* one bilinear-resize tap: source indices and weight of the second (see convrnn__lerp_table) */
typedef struct convrnn__lerp { int i0, i1; convrnn_real w; } convrnn__lerp;

#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE)
#if defined(__AVX512F__) && !defined(CONVRNN_NO_AVX512)
#define CONVRNN__AVX512 1
#define CONVRNN__SIMD 1
#include <immintrin.h>
#elif defined(CONVRNN__AVX2)
#define CONVRNN__SIMD 1
#elif defined(CONVRNN__NEON) && defined(__aarch64__)
#define CONVRNN__NEONV 1
#define CONVRNN__SIMD 1
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CONVRNN__FINL static inline __attribute__((always_inline))
#define CONVRNN__UNROLL _Pragma("GCC unroll 32")
#define CONVRNN__RESTRICT __restrict
#elif defined(_MSC_VER)
#define CONVRNN__FINL static __forceinline
#define CONVRNN__UNROLL
#define CONVRNN__RESTRICT __restrict
#else
#define CONVRNN__FINL static inline
#define CONVRNN__UNROLL
#define CONVRNN__RESTRICT
#endif

#ifdef _OPENMP
#define CONVRNN__PRAGMA_(x) _Pragma(#x)
#define CONVRNN__OMP_DYN(cond) CONVRNN__PRAGMA_(omp parallel for schedule(dynamic, 1) if (cond))
#define CONVRNN__OMP_STATIC(cond) CONVRNN__PRAGMA_(omp parallel for schedule(static) if (cond))
#else
#define CONVRNN__OMP_DYN(cond)
#define CONVRNN__OMP_STATIC(cond)
#endif

/* The SIMD path compiled into this build: "avx512", "avx2", "neon" or "scalar". */
CONVRNNDEF const char *convrnn_simd_path(void) {
#if defined(CONVRNN__AVX512)
    return "avx512";
#elif defined(CONVRNN__SIMD) && !defined(CONVRNN__NEONV)
    return "avx2";
#elif defined(CONVRNN__NEONV)
    return "neon";
#else
    return "scalar";
#endif
}

#ifdef CONVRNN__SIMD
#if defined(__GNUC__) && !defined(__clang__) && defined(CONVRNN__AVX512)
/* GCC 12 reports "__Y may be used uninitialized" inside its own AVX-512 headers (PR 105593) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define CONVRNN__POP_DIAG 1
#endif
#ifdef _OPENMP
static int convrnn__nthreads(void) { return omp_get_max_threads(); }
static int convrnn__tid(void) { return omp_get_thread_num(); }
#else
static int convrnn__nthreads(void) { return 1; }
static int convrnn__tid(void) { return 0; }
#endif

/* ---------------------------------------------------------------------------------- vector layer
   convrnn__vf: a vector of CONVRNN__VL floats; convrnn__vm: a lane mask.
   vld/vst (unaligned), vldn/vstn (first n lanes, 1 <= n <= VL; other lanes read as 0 / untouched),
   vset1, vzero, vadd, vsub, vmul, vdiv, vmax, vmin, vfma(a,b,c) = a*b + c, vgt(a,b) = a > b
   (ordered), veq(a,b) = a == b, vnan(a) = a is NaN, vsel(m,a,b) = m ? a : b, vmor/vmand/vmandn (m1 & ~m2), vround
   (nearest), vpow2i(n) = 2^n for integral n in [-126,127], vabs, vsignof(a) (sign bit), vxor. */
#if defined(CONVRNN__AVX512)
#define CONVRNN__VL 16
typedef __m512 convrnn__vf;
typedef __mmask16 convrnn__vm;
CONVRNN__FINL convrnn__vf convrnn__vld(const float *p) { return _mm512_loadu_ps(p); }
CONVRNN__FINL void convrnn__vst(float *p, convrnn__vf v) { _mm512_storeu_ps(p, v); }
CONVRNN__FINL convrnn__vf convrnn__vldn(const float *p, int n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p); }
CONVRNN__FINL void convrnn__vstn(float *p, convrnn__vf v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v); }
CONVRNN__FINL convrnn__vf convrnn__vset1(float a) { return _mm512_set1_ps(a); }
CONVRNN__FINL convrnn__vf convrnn__vzero(void) { return _mm512_setzero_ps(); }
CONVRNN__FINL convrnn__vf convrnn__vadd(convrnn__vf a, convrnn__vf b) { return _mm512_add_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsub(convrnn__vf a, convrnn__vf b) { return _mm512_sub_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmul(convrnn__vf a, convrnn__vf b) { return _mm512_mul_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vdiv(convrnn__vf a, convrnn__vf b) { return _mm512_div_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmax(convrnn__vf a, convrnn__vf b) { return _mm512_max_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmin(convrnn__vf a, convrnn__vf b) { return _mm512_min_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vfma(convrnn__vf a, convrnn__vf b, convrnn__vf c) { return _mm512_fmadd_ps(a, b, c); }
CONVRNN__FINL convrnn__vm convrnn__vgt(convrnn__vf a, convrnn__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
CONVRNN__FINL convrnn__vm convrnn__vnan(convrnn__vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
CONVRNN__FINL convrnn__vm convrnn__veq(convrnn__vf a, convrnn__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
CONVRNN__FINL convrnn__vf convrnn__vsel(convrnn__vm m, convrnn__vf a, convrnn__vf b) { return _mm512_mask_blend_ps(m, b, a); }
CONVRNN__FINL convrnn__vm convrnn__vmor(convrnn__vm a, convrnn__vm b) { return (convrnn__vm)(a | b); }
CONVRNN__FINL convrnn__vm convrnn__vmandn(convrnn__vm a, convrnn__vm b) { return (convrnn__vm)(a & ~b); }
CONVRNN__FINL convrnn__vf convrnn__vround(convrnn__vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
CONVRNN__FINL convrnn__vf convrnn__vpow2i(convrnn__vf n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}
CONVRNN__FINL convrnn__vf convrnn__vsignof(convrnn__vf a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u)));
}
CONVRNN__FINL convrnn__vf convrnn__vxor(convrnn__vf a, convrnn__vf b) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
CONVRNN__FINL convrnn__vf convrnn__vabs(convrnn__vf a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
#elif defined(CONVRNN__NEONV)
#define CONVRNN__VL 4
typedef float32x4_t convrnn__vf;
typedef uint32x4_t convrnn__vm;
CONVRNN__FINL convrnn__vf convrnn__vld(const float *p) { return vld1q_f32(p); }
CONVRNN__FINL void convrnn__vst(float *p, convrnn__vf v) { vst1q_f32(p, v); }
CONVRNN__FINL convrnn__vf convrnn__vldn(const float *p, int n) {
    float b[4] = { 0, 0, 0, 0 };
    int i;
    for (i = 0; i < n; i++) b[i] = p[i];
    return vld1q_f32(b);
}
CONVRNN__FINL void convrnn__vstn(float *p, convrnn__vf v, int n) {
    float b[4];
    int i;
    vst1q_f32(b, v);
    for (i = 0; i < n; i++) p[i] = b[i];
}
CONVRNN__FINL convrnn__vf convrnn__vset1(float a) { return vdupq_n_f32(a); }
CONVRNN__FINL convrnn__vf convrnn__vzero(void) { return vdupq_n_f32(0.0f); }
CONVRNN__FINL convrnn__vf convrnn__vadd(convrnn__vf a, convrnn__vf b) { return vaddq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsub(convrnn__vf a, convrnn__vf b) { return vsubq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmul(convrnn__vf a, convrnn__vf b) { return vmulq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vdiv(convrnn__vf a, convrnn__vf b) { return vdivq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmax(convrnn__vf a, convrnn__vf b) { return vmaxq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmin(convrnn__vf a, convrnn__vf b) { return vminq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vfma(convrnn__vf a, convrnn__vf b, convrnn__vf c) { return vfmaq_f32(c, a, b); }
CONVRNN__FINL convrnn__vm convrnn__vgt(convrnn__vf a, convrnn__vf b) { return vcgtq_f32(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vnan(convrnn__vf a) { return vmvnq_u32(vceqq_f32(a, a)); }
CONVRNN__FINL convrnn__vm convrnn__veq(convrnn__vf a, convrnn__vf b) { return vceqq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsel(convrnn__vm m, convrnn__vf a, convrnn__vf b) { return vbslq_f32(m, a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmor(convrnn__vm a, convrnn__vm b) { return vorrq_u32(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmandn(convrnn__vm a, convrnn__vm b) { return vbicq_u32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vround(convrnn__vf a) { return vrndnq_f32(a); }
CONVRNN__FINL convrnn__vf convrnn__vpow2i(convrnn__vf n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
}
CONVRNN__FINL convrnn__vf convrnn__vsignof(convrnn__vf a) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(0x80000000u)));
}
CONVRNN__FINL convrnn__vf convrnn__vxor(convrnn__vf a, convrnn__vf b) {
    return vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
}
CONVRNN__FINL convrnn__vf convrnn__vabs(convrnn__vf a) { return vabsq_f32(a); }
#else /* AVX2 + FMA */
#define CONVRNN__VL 8
typedef __m256 convrnn__vf;
typedef __m256 convrnn__vm;
CONVRNN__FINL __m256i convrnn__vnmask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
CONVRNN__FINL convrnn__vf convrnn__vld(const float *p) { return _mm256_loadu_ps(p); }
CONVRNN__FINL void convrnn__vst(float *p, convrnn__vf v) { _mm256_storeu_ps(p, v); }
CONVRNN__FINL convrnn__vf convrnn__vldn(const float *p, int n) { return _mm256_maskload_ps(p, convrnn__vnmask(n)); }
CONVRNN__FINL void convrnn__vstn(float *p, convrnn__vf v, int n) { _mm256_maskstore_ps(p, convrnn__vnmask(n), v); }
CONVRNN__FINL convrnn__vf convrnn__vset1(float a) { return _mm256_set1_ps(a); }
CONVRNN__FINL convrnn__vf convrnn__vzero(void) { return _mm256_setzero_ps(); }
CONVRNN__FINL convrnn__vf convrnn__vadd(convrnn__vf a, convrnn__vf b) { return _mm256_add_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsub(convrnn__vf a, convrnn__vf b) { return _mm256_sub_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmul(convrnn__vf a, convrnn__vf b) { return _mm256_mul_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vdiv(convrnn__vf a, convrnn__vf b) { return _mm256_div_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmax(convrnn__vf a, convrnn__vf b) { return _mm256_max_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmin(convrnn__vf a, convrnn__vf b) { return _mm256_min_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vfma(convrnn__vf a, convrnn__vf b, convrnn__vf c) { return _mm256_fmadd_ps(a, b, c); }
CONVRNN__FINL convrnn__vm convrnn__vgt(convrnn__vf a, convrnn__vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
CONVRNN__FINL convrnn__vm convrnn__vnan(convrnn__vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
CONVRNN__FINL convrnn__vm convrnn__veq(convrnn__vf a, convrnn__vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
CONVRNN__FINL convrnn__vf convrnn__vsel(convrnn__vm m, convrnn__vf a, convrnn__vf b) { return _mm256_blendv_ps(b, a, m); }
CONVRNN__FINL convrnn__vm convrnn__vmor(convrnn__vm a, convrnn__vm b) { return _mm256_or_ps(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmandn(convrnn__vm a, convrnn__vm b) { return _mm256_andnot_ps(b, a); }
CONVRNN__FINL convrnn__vf convrnn__vround(convrnn__vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
CONVRNN__FINL convrnn__vf convrnn__vpow2i(convrnn__vf n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}
CONVRNN__FINL convrnn__vf convrnn__vsignof(convrnn__vf a) { return _mm256_and_ps(a, _mm256_set1_ps(-0.0f)); }
CONVRNN__FINL convrnn__vf convrnn__vxor(convrnn__vf a, convrnn__vf b) { return _mm256_xor_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vabs(convrnn__vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
#endif

/* ------------------------------------------------------------------------------- vector math
   exp: Cephes range reduction x = n ln2 + r, degree-6 polynomial, 2^n by exponent bits (about
   2 ulp). Arguments are clamped to [-87.3, 88.37] (results below 1.2e-38 flush to that value);
   NaN propagates. sigmoid = 1/(1+exp(-x)). tanh: odd degree-11 minimax polynomial for |x| < 0.625,
   else sign(x)(1 - 2/(exp(2|x|)+1)) (relative error below 3e-7). expm1 (ELU, x <= 0): Taylor
   polynomial for |x| < 0.35, else exp(x) - 1. */
CONVRNN__FINL convrnn__vf convrnn__vexp(convrnn__vf x0) {
    convrnn__vf x = convrnn__vmin(convrnn__vmax(x0, convrnn__vset1(-87.3f)), convrnn__vset1(88.37f));
    convrnn__vf n = convrnn__vround(convrnn__vmul(x, convrnn__vset1(1.44269504088896341f)));
    convrnn__vf r = convrnn__vfma(n, convrnn__vset1(-0.693359375f), x), p;
    r = convrnn__vfma(n, convrnn__vset1(2.12194440e-4f), r);
    p = convrnn__vset1(1.9875691500e-4f);
    p = convrnn__vfma(p, r, convrnn__vset1(1.3981999507e-3f));
    p = convrnn__vfma(p, r, convrnn__vset1(8.3334519073e-3f));
    p = convrnn__vfma(p, r, convrnn__vset1(4.1665795894e-2f));
    p = convrnn__vfma(p, r, convrnn__vset1(1.6666665459e-1f));
    p = convrnn__vfma(p, r, convrnn__vset1(5.0000001201e-1f));
    p = convrnn__vfma(p, convrnn__vmul(r, r), convrnn__vadd(r, convrnn__vset1(1.0f)));
    p = convrnn__vmul(p, convrnn__vpow2i(n));
    return convrnn__vsel(convrnn__vnan(x0), x0, p);
}
CONVRNN__FINL convrnn__vf convrnn__vsigmoid(convrnn__vf x) {
    convrnn__vf one = convrnn__vset1(1.0f);
    convrnn__vf y = convrnn__vdiv(one, convrnn__vadd(one, convrnn__vexp(convrnn__vsub(convrnn__vzero(), x))));
    return convrnn__vsel(convrnn__vnan(x), x, y);
}
CONVRNN__FINL convrnn__vf convrnn__vtanh(convrnn__vf x) {
    convrnn__vf a = convrnn__vabs(x), t = convrnn__vmul(x, x), p, big, one = convrnn__vset1(1.0f);
    p = convrnn__vset1(-5.691975821e-03f);
    p = convrnn__vfma(p, t, convrnn__vset1(2.062628232e-02f));
    p = convrnn__vfma(p, t, convrnn__vset1(-5.373531580e-02f));
    p = convrnn__vfma(p, t, convrnn__vset1(1.333138198e-01f));
    p = convrnn__vfma(p, t, convrnn__vset1(-3.333328068e-01f));
    p = convrnn__vfma(convrnn__vmul(p, t), x, x);
    big = convrnn__vsub(one, convrnn__vdiv(convrnn__vset1(2.0f),
                                           convrnn__vadd(convrnn__vexp(convrnn__vadd(a, a)), one)));
    big = convrnn__vxor(big, convrnn__vsignof(x));
    return convrnn__vsel(convrnn__vgt(a, convrnn__vset1(0.625f)), big, convrnn__vsel(convrnn__vnan(x), x, p));
}
/* ELU: x > 0 ? x : expm1(x) */
CONVRNN__FINL convrnn__vf convrnn__velu(convrnn__vf x) {
    convrnn__vf p = convrnn__vset1(1.0f / 5040.0f), e;
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 720.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 120.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 24.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 6.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(0.5f));
    p = convrnn__vfma(convrnn__vmul(p, x), x, x);
    e = convrnn__vsub(convrnn__vexp(x), convrnn__vset1(1.0f));
    e = convrnn__vsel(convrnn__vgt(convrnn__vset1(-0.35f), x), e, p);
    return convrnn__vsel(convrnn__vgt(x, convrnn__vzero()), x, e);
}

/* ------------------------------------------------------------------------ GEMM micro-kernels
   MR x NV register block (NV vectors of VL columns). Constants per ISA: MRI/NVI for the
   indirect kernel (forward, bwd-data), MRP/NVP for the packed kernel (bwd-filter). */
#if defined(CONVRNN__AVX512)
#define CONVRNN__MRI 12
#define CONVRNN__NVI 2
#define CONVRNN__MRP 8
#define CONVRNN__NVP 2
#elif defined(CONVRNN__NEONV)
#define CONVRNN__MRI 6
#define CONVRNN__NVI 4
#define CONVRNN__MRP 6
#define CONVRNN__NVP 4
#else
#define CONVRNN__MRI 6
#define CONVRNN__NVI 2
#define CONVRNN__MRP 6
#define CONVRNN__NVP 2
#endif
#define CONVRNN__MRMAX 12
#define CONVRNN__NVMAX 4

/* Load the accumulators from C rows (add) or from the bias (or zero). ncol: valid columns. */
CONVRNN__FINL void convrnn__acc_init(const int MR, const int NV, convrnn__vf acc[][CONVRNN__NVMAX],
                                     float *const *crow, int ncol, int add, const float *bias) {
    int i, v;
    CONVRNN__UNROLL for (i = 0; i < MR; i++) CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vzero();
    if (add) {
        CONVRNN__UNROLL for (i = 0; i < MR; i++) {
            if (!crow[i]) continue;
            CONVRNN__UNROLL for (v = 0; v < NV; v++) {
                const int nn = ncol - v * CONVRNN__VL;
                acc[i][v] = nn >= CONVRNN__VL ? convrnn__vld(crow[i] + v * CONVRNN__VL) : convrnn__vldn(crow[i] + v * CONVRNN__VL, nn);
            }
        }
    } else if (bias) {
        CONVRNN__UNROLL for (v = 0; v < NV; v++) {
            const int nn = ncol - v * CONVRNN__VL;
            const convrnn__vf b = nn >= CONVRNN__VL ? convrnn__vld(bias + v * CONVRNN__VL) : convrnn__vldn(bias + v * CONVRNN__VL, nn);
            CONVRNN__UNROLL for (i = 0; i < MR; i++) acc[i][v] = b;
        }
    }
}
CONVRNN__FINL void convrnn__acc_store(const int MR, const int NV, convrnn__vf acc[][CONVRNN__NVMAX],
                                      float *const *crow, int ncol) {
    int i, v;
    CONVRNN__UNROLL for (i = 0; i < MR; i++) {
        if (!crow[i]) continue;
        CONVRNN__UNROLL for (v = 0; v < NV; v++) {
            const int nn = ncol - v * CONVRNN__VL;
            if (nn >= CONVRNN__VL) convrnn__vst(crow[i] + v * CONVRNN__VL, acc[i][v]);
            else convrnn__vstn(crow[i] + v * CONVRNN__VL, acc[i][v], nn);
        }
    }
}

/* Indirect kernel: for each of ntap taps, a[tap*MR + i] points at kc source values of row i and
   b[tap] at the packed panel rows [kc][NV*VL]. C rows crow[i] (NULL: row not stored). */
CONVRNN__FINL void convrnn__ukr_ind_g(const int MR, const int NV, int ntap, const float *const *a,
                                      const float *const *b, int kc, float *const *crow, int ncol, int add,
                                      const float *bias) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    int tp, k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, add, bias);
    for (tp = 0; tp < ntap; tp++) {
        const float *ar[CONVRNN__MRMAX];
        const float *bp = b[tp];
        CONVRNN__UNROLL for (i = 0; i < MR; i++) ar[i] = a[tp * MR + i];
        for (k = 0; k < kc; k++) {
            convrnn__vf bv[CONVRNN__NVMAX];
            CONVRNN__UNROLL for (v = 0; v < NV; v++) bv[v] = convrnn__vld(bp + v * CONVRNN__VL);
            CONVRNN__UNROLL for (i = 0; i < MR; i++) {
                const convrnn__vf av = convrnn__vset1(ar[i][k]);
                CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
            }
            bp += NV * CONVRNN__VL;
        }
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}

/* Offset kernel: row i of tap tp reads kc values at base[i] + off[tp]; b holds the packed panel
   rows of all ntap taps back to back ([tap][kc][NV*VL]). */
CONVRNN__FINL void convrnn__ukr_off_g(const int MR, const int NV, int ntap, const float *const *base,
                                      const ptrdiff_t *off, const float *b, int kc, float *const *crow, int ncol,
                                      int add, const float *bias) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    int tp, k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, add, bias);
    for (tp = 0; tp < ntap; tp++) {
        const float *ar[CONVRNN__MRMAX];
        CONVRNN__UNROLL for (i = 0; i < MR; i++) ar[i] = base[i] + off[tp];
        for (k = 0; k < kc; k++) {
            convrnn__vf bv[CONVRNN__NVMAX];
            CONVRNN__UNROLL for (v = 0; v < NV; v++) bv[v] = convrnn__vld(b + v * CONVRNN__VL);
            CONVRNN__UNROLL for (i = 0; i < MR; i++) {
                const convrnn__vf av = convrnn__vset1(ar[i][k]);
                CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
            }
            b += NV * CONVRNN__VL;
        }
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}

/* Packed kernel: a [kc][MR], b [kc][NV*VL]; C rows accumulate (add) or start from zero. */
CONVRNN__FINL void convrnn__ukr_pk_g(const int MR, const int NV, int kc, const float *CONVRNN__RESTRICT a,
                                     const float *CONVRNN__RESTRICT b, float *const *crow, int ncol, int add) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    int k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, add, NULL);
    for (k = 0; k < kc; k++) {
        convrnn__vf bv[CONVRNN__NVMAX];
        CONVRNN__UNROLL for (v = 0; v < NV; v++) bv[v] = convrnn__vld(b + v * CONVRNN__VL);
        CONVRNN__UNROLL for (i = 0; i < MR; i++) {
            const convrnn__vf av = convrnn__vset1(a[i]);
            CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
        }
        a += MR;
        b += NV * CONVRNN__VL;
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}

static void convrnn__ukr_ind(int nv, int ntap, const float *const *a, const float *const *b, int kc,
                             float *const *crow, int ncol, int add, const float *bias) {
    switch (nv) {
    case 1: convrnn__ukr_ind_g(CONVRNN__MRI, 1, ntap, a, b, kc, crow, ncol, add, bias); break;
#if CONVRNN__NVI >= 2
    case 2: convrnn__ukr_ind_g(CONVRNN__MRI, 2, ntap, a, b, kc, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 3
    case 3: convrnn__ukr_ind_g(CONVRNN__MRI, 3, ntap, a, b, kc, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 4
    case 4: convrnn__ukr_ind_g(CONVRNN__MRI, 4, ntap, a, b, kc, crow, ncol, add, bias); break;
#endif
    default: break;
    }
}
/* Padded-offset kernel (weight gradient): row i at pixel k is pad[pb[k] + ro[i]], column vectors
   at b + k*ldb (the last masked to ncol - (NV-1)*VL lanes unless full); accumulates into C. */
CONVRNN__FINL void convrnn__ukr_bo_g(const int MR, const int NV, const int full, int kc, const float *pad,
                                     const ptrdiff_t *pb, const ptrdiff_t *ro, const float *b, int ldb,
                                     float *const *crow, int ncol) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    ptrdiff_t o[CONVRNN__MRMAX];
    const int nl = ncol - (NV - 1) * CONVRNN__VL;
    int k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, 1, NULL);
    CONVRNN__UNROLL for (i = 0; i < MR; i++) o[i] = ro[i];
    for (k = 0; k < kc; k++) {
        convrnn__vf bv[CONVRNN__NVMAX];
        const float *ak = pad + pb[k];
        CONVRNN__UNROLL for (v = 0; v < NV; v++)
            bv[v] = full || v < NV - 1 ? convrnn__vld(b + v * CONVRNN__VL) : convrnn__vldn(b + v * CONVRNN__VL, nl);
        CONVRNN__UNROLL for (i = 0; i < MR; i++) {
            const convrnn__vf av = convrnn__vset1(ak[o[i]]);
            CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
        }
        b += ldb;
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}
static void convrnn__ukr_bo(int nv, int kc, const float *pad, const ptrdiff_t *pb, const ptrdiff_t *ro, const float *b, int ldb,
                            float *const *crow, int ncol) {
    const int full = ncol == nv * CONVRNN__VL;
    if (nv == 1 && full) convrnn__ukr_bo_g(CONVRNN__MRP, 1, 1, kc, pad, pb, ro, b, ldb, crow, ncol);
    else if (nv == 1) convrnn__ukr_bo_g(CONVRNN__MRP, 1, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
#if CONVRNN__NVP >= 2
    else if (nv == 2 && full) convrnn__ukr_bo_g(CONVRNN__MRP, 2, 1, kc, pad, pb, ro, b, ldb, crow, ncol);
    else if (nv == 2) convrnn__ukr_bo_g(CONVRNN__MRP, 2, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
#endif
#if CONVRNN__NVP >= 3
    else if (nv == 3 && full) convrnn__ukr_bo_g(CONVRNN__MRP, 3, 1, kc, pad, pb, ro, b, ldb, crow, ncol);
    else if (nv == 3) convrnn__ukr_bo_g(CONVRNN__MRP, 3, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
#endif
#if CONVRNN__NVP >= 4
    else if (nv == 4 && full) convrnn__ukr_bo_g(CONVRNN__MRP, 4, 1, kc, pad, pb, ro, b, ldb, crow, ncol);
    else if (nv == 4) convrnn__ukr_bo_g(CONVRNN__MRP, 4, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
#endif
}

static void convrnn__ukr_off(int nv, int ntap, const float *const *base, const ptrdiff_t *off, const float *b, int kc,
                             float *const *crow, int ncol, int add, const float *bias) {
    switch (nv) {
    case 1: convrnn__ukr_off_g(CONVRNN__MRI, 1, ntap, base, off, b, kc, crow, ncol, add, bias); break;
#if CONVRNN__NVI >= 2
    case 2: convrnn__ukr_off_g(CONVRNN__MRI, 2, ntap, base, off, b, kc, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 3
    case 3: convrnn__ukr_off_g(CONVRNN__MRI, 3, ntap, base, off, b, kc, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 4
    case 4: convrnn__ukr_off_g(CONVRNN__MRI, 4, ntap, base, off, b, kc, crow, ncol, add, bias); break;
#endif
    default: break;
    }
}
static void convrnn__ukr_pk(int nv, int kc, const float *a, const float *b, float *const *crow, int ncol, int add) {
    switch (nv) {
    case 1: convrnn__ukr_pk_g(CONVRNN__MRP, 1, kc, a, b, crow, ncol, add); break;
#if CONVRNN__NVP >= 2
    case 2: convrnn__ukr_pk_g(CONVRNN__MRP, 2, kc, a, b, crow, ncol, add); break;
#endif
#if CONVRNN__NVP >= 3
    case 3: convrnn__ukr_pk_g(CONVRNN__MRP, 3, kc, a, b, crow, ncol, add); break;
#endif
#if CONVRNN__NVP >= 4
    case 4: convrnn__ukr_pk_g(CONVRNN__MRP, 4, kc, a, b, crow, ncol, add); break;
#endif
    default: break;
    }
}

/* ------------------------------------------------------------------ convolution drivers */
#define CONVRNN__TPB_MAX 8                  /* micro-tiles per forward / bwd-data task */
#define CONVRNN__MC (CONVRNN__TPB_MAX * CONVRNN__MRI)  /* pixels per forward / bwd-data task */
#define CONVRNN__PANELS_PER_TASK 8          /* column panels per task */
#define CONVRNN__KC 128
#define CONVRNN__PAR_FLOPS 200000.0         /* run in parallel above this many multiply-adds */
#define CONVRNN__WINO_MIN_C 32             /* Winograd for 3x3 stride 1 with this many channels on both */
#define CONVRNN__WINO_MIN_HW 196           /* sides and this many output pixels per map (measured: on 7x7
                                              and smaller maps or fewer channels the direct kernel wins) */
#define CONVRNN__BWF_PAD_MAX_CI 31          /* weight gradient: padded kernel up to this many input
                                               channels, packed GEMM above (measured crossover) */

static size_t convrnn__al(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

/* dst[0..n) = src[0..n) (src NULL: zeros), whole vectors and one masked tail */
CONVRNN__FINL void convrnn__vcopy(float *dst, const float *src, int n) {
    int j;
    if (src) {
        for (j = 0; j + CONVRNN__VL <= n; j += CONVRNN__VL) convrnn__vst(dst + j, convrnn__vld(src + j));
        if (j < n) convrnn__vstn(dst + j, convrnn__vldn(src + j, n - j), n - j);
    } else {
        for (j = 0; j + CONVRNN__VL <= n; j += CONVRNN__VL) convrnn__vst(dst + j, convrnn__vzero());
        if (j < n) convrnn__vstn(dst + j, convrnn__vzero(), n - j);
    }
}

/* Forward (bwd = 0): dst = y [n,oh,ow,co] = bias + conv(src = x, w).
   Backward-data (bwd = 1): dst = dx [n,h,w,ci] += conv^T(src = dy, w) (gather rule: input pixel
   (iy,ix) receives output (oy,ox) through tap (ky,kx) iff iy + pt - ky = oy*s, ix + pl - kx = ox*s).
   Tasks: blocks of MC destination pixels x groups of column panels.
   Returns 0 (nothing written) when scratch memory is unavailable. */
static int convrnn__sconv_ind(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                              const float *bias, float *dst) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = CONVRNN__NVI * CONVRNN__VL;
    const int taps = g->kh * g->kw, TPB = CONVRNN__MC / CONVRNN__MRI;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow;   /* destination grid */
    const int SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;   /* source grid */
    const int M = g->n * DH * DW;
    const int npan = (Cd + NR - 1) / NR;
    const int nblk = (M + CONVRNN__MC - 1) / CONVRNN__MC;
    const int ngrp = (npan + CONVRNN__PANELS_PER_TASK - 1) / CONVRNN__PANELS_PER_TASK;
    const int ntask = nblk * ngrp;
    const double flops = (double)M * Cd * Cs * taps;
    const size_t bpsz = (size_t)npan * taps * Cs * NR;
    const size_t sz_ptab = convrnn__al((size_t)TPB * taps * MR * sizeof(float *));
    const size_t sz_tapi = convrnn__al((size_t)TPB * taps * sizeof(int));
    const size_t sz_ntv = convrnn__al((size_t)TPB * sizeof(int));
    const size_t sz_bl = convrnn__al((size_t)taps * sizeof(float *));
    const size_t per_thr = sz_ptab + sz_tapi + sz_ntv + sz_bl;
    const size_t off_zero = convrnn__al(bpsz * sizeof(float));
    const size_t off_thr = off_zero + convrnn__al((size_t)Cs * sizeof(float));
    int nthr = convrnn__nthreads(), task, p;
    char *mem, *base;
    float *bp, *zero;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    mem = (char *)convrnn_malloc(actx, off_thr + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = mem + (64 - (size_t)((uintptr_t)mem % 64)) % 64;
    bp = (float *)base;
    zero = (float *)(base + off_zero);
    memset(zero, 0, (size_t)Cs * sizeof(float));
    /* pack B: panel p holds columns [p*NR, p*NR + wp) padded to nvp*VL, rows (tap, c) */
CONVRNN__OMP_STATIC(bpsz > 65536 && nthr > 1)
    for (p = 0; p < npan; p++) {
        const int c0 = p * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
        float *pb = bp + (size_t)p * taps * Cs * NR;
        int tp, c, j;
        for (tp = 0; tp < taps; tp++)
            for (c = 0; c < Cs; c++) {
                float *row = pb + ((size_t)tp * Cs + c) * ld;
                if (!bwd) {
                    const float *wr = w + ((size_t)tp * g->ci + c) * g->co + c0;
                    for (j = 0; j < wp; j++) row[j] = wr[j];
                } else {
                    const float *wc = w + ((size_t)tp * g->ci + c0) * g->co + c;
                    for (j = 0; j < wp; j++) row[j] = wc[(size_t)j * g->co];
                }
                for (j = wp; j < ld; j++) row[j] = 0;
            }
    }
    if (!bwd || g->s == 1) {
        /* Zero-padded copy of the source: then every (pixel, tap) reads base(pixel) + off(tap).
           Forward: pad row = iy + pt, PH = (OH-1)s + kh. Backward-data (stride 1): pad row =
           oy + kh-1-pt, PH = H + kh - 1, and tap (ky,kx) reads row iy + kh-1-ky. */
        const int s1 = bwd ? 1 : g->s;
        const int PH = bwd ? g->h + g->kh - 1 : (g->oh - 1) * g->s + g->kh;
        const int PW = bwd ? g->w + g->kw - 1 : (g->ow - 1) * g->s + g->kw;
        const int ry = bwd ? g->kh - 1 - g->pt : g->pt, rx = bwd ? g->kw - 1 - g->pl : g->pl;
        /* pixel stride of the copy: Cs, plus 16 floats when Cs*4 is a multiple of 256 bytes, so the
           MR rows a micro-tile broadcasts from do not all fall into the same L1 sets */
        const int CsP = Cs % 64 == 0 ? Cs + 16 : Cs;
        const size_t psz = (size_t)g->n * PH * PW * CsP;
        ptrdiff_t *off;
        float *pad;
        char *pmem = (char *)convrnn_malloc(actx, psz * sizeof(float) + (size_t)taps * sizeof(ptrdiff_t) + 64);
        int prow;
        if (!pmem) { convrnn_free(actx, mem); return 0; }
        off = (ptrdiff_t *)pmem;
        pad = (float *)(pmem + convrnn__al((size_t)taps * sizeof(ptrdiff_t)));
        for (p = 0; p < taps; p++) {
            const int ky = p / g->kw, kx = p % g->kw;
            off[p] = bwd ? ((ptrdiff_t)(g->kh - 1 - ky) * PW + (g->kw - 1 - kx)) * CsP : ((ptrdiff_t)ky * PW + kx) * CsP;
        }
CONVRNN__OMP_STATIC(psz > 65536 && nthr > 1)
        for (prow = 0; prow < g->n * PH; prow++) {
            const int n = prow / PH, sy = prow % PH - ry;
            float *dr = pad + (size_t)prow * PW * CsP;
            int x0 = rx, nx = SW, j;
            if (sy < 0 || sy >= SH) { memset(dr, 0, (size_t)PW * CsP * sizeof(float)); continue; }
            if (x0 + nx > PW) nx = PW - x0;
            if (nx < 0) nx = 0;
            if (x0 > 0) memset(dr, 0, (size_t)x0 * CsP * sizeof(float));
            if (CsP == Cs) {
                if (nx > 0) memcpy(dr + (size_t)x0 * Cs, src + (((size_t)n * SH + sy) * SW) * Cs, (size_t)nx * Cs * sizeof(float));
            } else {
                for (j = 0; j < nx; j++) {
                    memcpy(dr + (size_t)(x0 + j) * CsP, src + (((size_t)n * SH + sy) * SW + j) * Cs, (size_t)Cs * sizeof(float));
                    memset(dr + (size_t)(x0 + j) * CsP + Cs, 0, (size_t)(CsP - Cs) * sizeof(float));
                }
            }
            if (x0 + nx < PW) memset(dr + (size_t)(x0 + nx) * CsP, 0, (size_t)(PW - x0 - nx) * CsP * sizeof(float));
        }
CONVRNN__OMP_DYN(nthr > 1)
        for (task = 0; task < ntask; task++) {
            const int blk = task / ngrp, grp = task % ngrp;
            const float *bases[CONVRNN__TPB_MAX][CONVRNN__MRMAX];
            int tile, i, pp, ntiles = 0;
            for (tile = 0; tile < TPB; tile++) {
                const int p0 = blk * CONVRNN__MC + tile * MR;
                int n, py, px;
                if (p0 >= M) break;
                ntiles++;
                n = p0 / (DH * DW); py = (p0 / DW) % DH; px = p0 % DW;
                for (i = 0; i < MR; i++) {
                    bases[tile][i] = p0 + i < M ? pad + (((size_t)n * PH + (size_t)py * s1) * PW + (size_t)px * s1) * CsP
                                                : bases[tile][0];
                    if (++px == DW) { px = 0; if (++py == DH) { py = 0; n++; } }
                }
            }
            for (pp = grp * CONVRNN__PANELS_PER_TASK; pp < npan && pp < (grp + 1) * CONVRNN__PANELS_PER_TASK; pp++) {
                const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL;
                const float *pb = bp + (size_t)pp * taps * Cs * NR;
                for (tile = 0; tile < ntiles; tile++) {
                    const int p0 = blk * CONVRNN__MC + tile * MR;
                    float *crow[CONVRNN__MRMAX];
                    for (i = 0; i < MR; i++) crow[i] = p0 + i < M ? dst + (size_t)(p0 + i) * Cd + c0 : NULL;
                    convrnn__ukr_off(nvp, taps, bases[tile], off, pb, Cs, crow, wp, bwd, bias && !bwd ? bias + c0 : NULL);
                }
            }
        }
        convrnn_free(actx, pmem);
        convrnn_free(actx, mem);
        return 1;
    }
CONVRNN__OMP_DYN(nthr > 1)
    for (task = 0; task < ntask; task++) {
        const int blk = task / ngrp, grp = task % ngrp;
        char *scr = base + off_thr + per_thr * (size_t)convrnn__tid();
        const float **ptab = (const float **)scr;              /* [tile][valid tap][MR] */
        int *tapi = (int *)(scr + sz_ptab);                     /* [tile][valid tap] tap index */
        int *ntv = (int *)(scr + sz_ptab + sz_tapi);            /* [tile] valid taps */
        const float **bl = (const float **)(scr + sz_ptab + sz_tapi + sz_ntv);
        int tile, tp, i, pp, ntiles = 0;
        /* pointer tables of every tile of this block; taps that reach no pixel are dropped */
        for (tile = 0; tile < TPB; tile++) {
            const int p0 = blk * CONVRNN__MC + tile * MR;
            int pn[CONVRNN__MRMAX], py[CONVRNN__MRMAX], px[CONVRNN__MRMAX], nt = 0;
            if (p0 >= M) break;
            ntiles++;
            for (i = 0; i < MR; i++) {
                const int q = p0 + i;
                if (q < M) { pn[i] = q / (DH * DW); py[i] = (q / DW) % DH; px[i] = q % DW; }
                else { pn[i] = -1; py[i] = px[i] = 0; }
            }
            for (tp = 0; tp < taps; tp++) {
                const int ky = tp / g->kw, kx = tp % g->kw;
                const float **row = ptab + ((size_t)tile * taps + nt) * MR;
                int any = 0;
                for (i = 0; i < MR; i++) {
                    int sy = 0, sx = 0, ok = pn[i] >= 0;
                    if (ok && !bwd) {
                        sy = py[i] * g->s - g->pt + ky; sx = px[i] * g->s - g->pl + kx;
                        ok = sy >= 0 && sy < SH && sx >= 0 && sx < SW;
                    } else if (ok) {
                        const int ny = py[i] + g->pt - ky, nx = px[i] + g->pl - kx;
                        ok = ny >= 0 && nx >= 0 && ny % g->s == 0 && nx % g->s == 0;
                        sy = ny / g->s; sx = nx / g->s;
                        ok = ok && sy < SH && sx < SW;
                    }
                    if (ok) { row[i] = src + (((size_t)pn[i] * SH + sy) * SW + sx) * Cs; any = 1; }
                    else row[i] = zero;
                }
                if (any) tapi[tile * taps + nt++] = tp;
            }
            ntv[tile] = nt;
        }
        for (pp = grp * CONVRNN__PANELS_PER_TASK; pp < npan && pp < (grp + 1) * CONVRNN__PANELS_PER_TASK; pp++) {
            const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
            const float *pb = bp + (size_t)pp * taps * Cs * NR;
            for (tile = 0; tile < ntiles; tile++) {
                const int p0 = blk * CONVRNN__MC + tile * MR;
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) crow[i] = p0 + i < M ? dst + (size_t)(p0 + i) * Cd + c0 : NULL;
                for (tp = 0; tp < ntv[tile]; tp++) bl[tp] = pb + (size_t)tapi[tile * taps + tp] * Cs * ld;
                convrnn__ukr_ind(nvp, ntv[tile], ptab + (size_t)tile * taps * MR, bl, Cs, crow, wp, bwd,
                                 bias && !bwd ? bias + c0 : NULL);
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (forward, and backward-data, which is the
   3x3 correlation of the zero-padded dy with the kernel rotated by 180 degrees and ci/co swapped).
   Per 2x2 output tile with 4x4 input patch d (from the zero-padded source, as the direct kernel):
       Y = A^T [ (G g G^T) (.) (B^T d B) ] A
       B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
       A^T = [1 1 1 0; 0 1 -1 -1]
   i.e. 16 GEMMs (one per transform position xi) of [tiles x Cs] x [Cs x Cd] instead of 36 products
   per tile and channel pair (2.25x fewer multiplications). A task owns a block of TB tiles and all
   output channels: it transforms its patches (V), runs the 16 GEMMs with the register-blocked
   kernel into M, and transforms M back into its output pixels (one writer per output element, a
   fixed summation order). Returns 0 (nothing written) without scratch memory. */
static int convrnn__sconv_wino(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                               const float *bias, float *dst) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = CONVRNN__NVI * CONVRNN__VL;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow;
    const int SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;
    const int TH = (DH + 1) / 2, TW = (DW + 1) / 2, T = g->n * TH * TW;
    const int PH = 2 * TH + 2, PW = 2 * TW + 2;
    const int ry = bwd ? 2 - g->pt : g->pt, rx = bwd ? 2 - g->pl : g->pl;
    const int CsP = Cs % 64 == 0 ? Cs + 16 : Cs;                   /* pixel stride of the padded copy */
    const int npan = (Cd + NR - 1) / NR, CdM = npan * NR + (npan * NR % 64 == 0 ? 16 : 0);
    const int CsV = ((Cs + VL - 1) / VL) * VL + (((Cs + VL - 1) / VL) * VL % 64 == 0 ? 16 : 0);
    /* TB tiles per task (a multiple of MR, fewer when the channels are many) */
    const int tb0 = (int)(16384 / ((double)(Cs + Cd) * MR)), TB = MR * (tb0 < 1 ? 1 : tb0 > 4 ? 4 : tb0);
    const int ntask = (T + TB - 1) / TB;
    const double flops = 16.0 * T * Cs * Cd;
    const size_t psz = (size_t)g->n * PH * PW * CsP, bsz = (size_t)16 * npan * Cs * NR;
    const size_t sz_v = convrnn__al((size_t)16 * TB * CsV * sizeof(float)), sz_m = convrnn__al((size_t)16 * TB * CdM * sizeof(float));
    const size_t per_thr = sz_v + sz_m, off_pad = convrnn__al(bsz * sizeof(float)), off_thr = off_pad + convrnn__al(psz * sizeof(float));
    int nthr = convrnn__nthreads(), task, prow, p;
    char *mem, *base;
    float *bp, *pad;
    if (g->kh != 3 || g->kw != 3 || g->s != 1) return 0;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    mem = (char *)convrnn_malloc(actx, off_thr + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = mem + (64 - (size_t)((uintptr_t)mem % 64)) % 64;
    bp = (float *)base;
    pad = (float *)(base + off_pad);
    /* U = G g G^T per (source channel, destination channel), packed per xi into column panels */
CONVRNN__OMP_STATIC(bsz > 65536 && nthr > 1)
    for (p = 0; p < npan; p++) {
        const int c0 = p * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, ld = ((wp + VL - 1) / VL) * VL;
        int cs, j, a, b2;
        for (cs = 0; cs < Cs; cs++)
            for (j = 0; j < ld; j++) {
                float gk[3][3], t4[4][3];
                int xi;
                if (j >= wp) {
                    for (xi = 0; xi < 16; xi++) bp[((size_t)xi * npan + p) * Cs * NR + (size_t)cs * ld + j] = 0;
                    continue;
                }
                for (a = 0; a < 3; a++)
                    for (b2 = 0; b2 < 3; b2++)
                        gk[a][b2] = bwd ? w[(((size_t)(2 - a) * 3 + (2 - b2)) * g->ci + c0 + j) * g->co + cs]
                                        : w[(((size_t)a * 3 + b2) * g->ci + cs) * g->co + c0 + j];
                for (b2 = 0; b2 < 3; b2++) {
                    t4[0][b2] = gk[0][b2];
                    t4[1][b2] = 0.5f * (gk[0][b2] + gk[1][b2] + gk[2][b2]);
                    t4[2][b2] = 0.5f * (gk[0][b2] - gk[1][b2] + gk[2][b2]);
                    t4[3][b2] = gk[2][b2];
                }
                for (a = 0; a < 4; a++) {   /* panel rows have the panel's own width ld */
                    float *u = bp + ((size_t)(a * 4) * npan + p) * Cs * NR + (size_t)cs * ld + j;
                    const size_t sx = (size_t)npan * Cs * NR;
                    u[0] = t4[a][0];
                    u[sx] = 0.5f * (t4[a][0] + t4[a][1] + t4[a][2]);
                    u[2 * sx] = 0.5f * (t4[a][0] - t4[a][1] + t4[a][2]);
                    u[3 * sx] = t4[a][2];
                }
            }
    }
    /* zero-padded source: pad row r holds source row r - ry (zeros outside) */
CONVRNN__OMP_STATIC(psz > 65536 && nthr > 1)
    for (prow = 0; prow < g->n * PH; prow++) {
        const int n = prow / PH, sy = prow % PH - ry;
        float *dr = pad + (size_t)prow * PW * CsP;
        int x0 = rx, nx = SW, j;
        if (sy < 0 || sy >= SH) { memset(dr, 0, (size_t)PW * CsP * sizeof(float)); continue; }
        if (x0 + nx > PW) nx = PW - x0;
        if (nx < 0) nx = 0;
        if (x0 > 0) memset(dr, 0, (size_t)x0 * CsP * sizeof(float));
        for (j = 0; j < nx; j++) {
            memcpy(dr + (size_t)(x0 + j) * CsP, src + (((size_t)n * SH + sy) * SW + j) * Cs, (size_t)Cs * sizeof(float));
            if (CsP > Cs) memset(dr + (size_t)(x0 + j) * CsP + Cs, 0, (size_t)(CsP - Cs) * sizeof(float));
        }
        if (x0 + nx < PW) memset(dr + (size_t)(x0 + nx) * CsP, 0, (size_t)(PW - x0 - nx) * CsP * sizeof(float));
    }
CONVRNN__OMP_DYN(nthr > 1)
    for (task = 0; task < ntask; task++) {
        char *scr = base + off_thr + per_thr * (size_t)convrnn__tid();
        float *V = (float *)scr, *Mb = (float *)(scr + sz_v);
        const int t0 = task * TB, nt = T - t0 < TB ? T - t0 : TB;
        const size_t vx = (size_t)TB * CsV, mx = (size_t)TB * CdM;   /* stride between positions xi */
        int t, c, i, xi, pp, mt;
        /* V[xi][t][c] = (B^T d B)[xi] */
        for (t = 0; t < nt; t++) {
            const int q = t0 + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
            const float *d0 = pad + (((size_t)n * PH + 2 * ty) * PW + 2 * tx) * CsP;
            for (c = 0; c < Cs; c += VL) {
                const int nn = Cs - c < VL ? Cs - c : VL;
                convrnn__vf d[4][4], r[4][4];
                int a, b2;
                for (a = 0; a < 4; a++)
                    for (b2 = 0; b2 < 4; b2++) d[a][b2] = convrnn__vldn(d0 + ((size_t)a * PW + b2) * CsP + c, nn);
                for (b2 = 0; b2 < 4; b2++) {
                    r[0][b2] = convrnn__vsub(d[0][b2], d[2][b2]);
                    r[1][b2] = convrnn__vadd(d[1][b2], d[2][b2]);
                    r[2][b2] = convrnn__vsub(d[2][b2], d[1][b2]);
                    r[3][b2] = convrnn__vsub(d[1][b2], d[3][b2]);
                }
                for (a = 0; a < 4; a++) {
                    float *v = V + (size_t)(a * 4) * vx + (size_t)t * CsV + c;
                    convrnn__vst(v, convrnn__vsub(r[a][0], r[a][2]));
                    convrnn__vst(v + vx, convrnn__vadd(r[a][1], r[a][2]));
                    convrnn__vst(v + 2 * vx, convrnn__vsub(r[a][2], r[a][1]));
                    convrnn__vst(v + 3 * vx, convrnn__vsub(r[a][1], r[a][3]));
                }
            }
        }
        /* M[xi] = V[xi] U[xi] */
        for (xi = 0; xi < 16; xi++)
            for (pp = 0; pp < npan; pp++) {
                const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL;
                const float *pb = bp + ((size_t)xi * npan + pp) * Cs * NR;
                const ptrdiff_t zero_off[1] = { 0 };
                for (mt = 0; mt < nt; mt += MR) {
                    const float *bs[CONVRNN__MRMAX];
                    float *crow[CONVRNN__MRMAX];
                    for (i = 0; i < MR; i++) {
                        const int tt = mt + i < nt ? mt + i : mt;
                        bs[i] = V + (size_t)xi * vx + (size_t)tt * CsV;
                        crow[i] = mt + i < nt ? Mb + (size_t)xi * mx + (size_t)(mt + i) * CdM + c0 : NULL;
                    }
                    convrnn__ukr_off(nvp, 1, bs, zero_off, pb, Cs, crow, wp, 0, NULL);
                }
            }
        /* Y = A^T M A (+ bias, or added to dx) */
        for (t = 0; t < nt; t++) {
            const int q = t0 + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
            const int ny2 = DH - 2 * ty < 2 ? DH - 2 * ty : 2, nx2 = DW - 2 * tx < 2 ? DW - 2 * tx : 2;
            for (c = 0; c < Cd; c += VL) {
                const int nn = Cd - c < VL ? Cd - c : VL;
                convrnn__vf m[4][4], s2[2][4], y[2][2];
                int a, b2;
                for (a = 0; a < 4; a++)
                    for (b2 = 0; b2 < 4; b2++) m[a][b2] = convrnn__vld(Mb + (size_t)(a * 4 + b2) * mx + (size_t)t * CdM + c);
                for (b2 = 0; b2 < 4; b2++) {
                    s2[0][b2] = convrnn__vadd(convrnn__vadd(m[0][b2], m[1][b2]), m[2][b2]);
                    s2[1][b2] = convrnn__vsub(convrnn__vsub(m[1][b2], m[2][b2]), m[3][b2]);
                }
                for (a = 0; a < 2; a++) {
                    y[a][0] = convrnn__vadd(convrnn__vadd(s2[a][0], s2[a][1]), s2[a][2]);
                    y[a][1] = convrnn__vsub(convrnn__vsub(s2[a][1], s2[a][2]), s2[a][3]);
                }
                for (a = 0; a < ny2; a++)
                    for (b2 = 0; b2 < nx2; b2++) {
                        float *o = dst + (((size_t)n * DH + 2 * ty + a) * DW + 2 * tx + b2) * Cd + c;
                        convrnn__vf v = y[a][b2];
                        if (bwd) v = convrnn__vadd(convrnn__vldn(o, nn), v);
                        else if (bias) v = convrnn__vadd(v, convrnn__vldn(bias + c, nn));
                        convrnn__vstn(o, v, nn);
                    }
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Backward-filter, computed transposed as a packed GEMM over the flattened filter rows
   r = tap*ci + c:  T[co][r] = sum over output pixels q of dy[q][co] x[q through tap(r)][c(r)].
   Columns are cut into units of NR rows r (a unit may span several taps when ci is small). Per
   chunk of KC pixels a task packs dy^T for its output channels ([tile][k][MRP], zero-padded) and,
   unit by unit, the x values of the unit ([k][NR], zeros for padding); the micro-kernel reads both
   sequentially. A task owns a block of output-channel tiles x a block of units, sums every chunk
   in ascending order into its private T block, then adds T transposed into dw (one writer per
   element, an order that does not depend on the thread count). Returns 0 without scratch. */
static int convrnn__sconv_bwf(void *actx, const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRP, NR = CONVRNN__NVP * CONVRNN__VL, KC = CONVRNN__KC;
    const int taps = g->kh * g->kw, Ci = g->ci, Co = g->co, R = taps * Ci;
    const int U = (R + NR - 1) / NR, nct = (Co + MR - 1) / MR;
    const int ug_n = (U + 7) / 8, UG = (U + ug_n - 1) / ug_n;            /* units per task */
    const int ct_n = (nct * MR + 127) / 128, CT = (nct + ct_n - 1) / ct_n; /* co tiles per task */
    const int K = g->n * g->oh * g->ow, OHW = g->oh * g->ow;
    const int ntask = ug_n * ct_n, ldt = UG * NR;
    const double flops = (double)K * R * Co;
    const size_t sz_t = convrnn__al((size_t)CT * MR * ldt * sizeof(float));
    const size_t sz_a = convrnn__al((size_t)CT * KC * MR * sizeof(float));
    const size_t sz_b = convrnn__al((size_t)KC * NR * sizeof(float));
    const size_t sz_i = convrnn__al((size_t)KC * sizeof(int));
    const size_t sz_s = convrnn__al((size_t)(NR + 1) * 4 * sizeof(int));
    const size_t per_thr = sz_t + sz_a + sz_b + 3 * sz_i + sz_s;
    int nthr = convrnn__nthreads(), task;
    char *mem, *base;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    mem = (char *)convrnn_malloc(actx, per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = mem + (64 - (size_t)((uintptr_t)mem % 64)) % 64;
CONVRNN__OMP_DYN(nthr > 1)
    for (task = 0; task < ntask; task++) {
        const int ug = task / ct_n, cg = task % ct_n;
        const int u0 = ug * UG, u1 = u0 + UG < U ? u0 + UG : U;
        const int t0 = cg * CT, t1 = t0 + CT < nct ? t0 + CT : nct;
        char *scr = base + per_thr * (size_t)convrnn__tid();
        float *tb = (float *)scr, *ap = (float *)(scr + sz_t), *bp = (float *)(scr + sz_t + sz_a);
        int *iy0 = (int *)(scr + sz_t + sz_a + sz_b), *ix0 = iy0 + sz_i / sizeof(int), *nb = ix0 + sz_i / sizeof(int);
        int *seg = nb + sz_i / sizeof(int);   /* per segment: ky, kx, first channel, length */
        int c0, k, i, j, u, tile;
        for (c0 = 0; c0 < K; c0 += KC) {
            const int kc = K - c0 < KC ? K - c0 : KC;
            int n = c0 / OHW, oy = (c0 / g->ow) % g->oh, ox = c0 % g->ow;
            for (k = 0; k < kc; k++) {
                iy0[k] = oy * g->s - g->pt; ix0[k] = ox * g->s - g->pl; nb[k] = n * g->h;
                if (++ox == g->ow) { ox = 0; if (++oy == g->oh) { oy = 0; n++; } }
            }
            for (tile = t0; tile < t1; tile++) {   /* pack dy^T */
                const int co0 = tile * MR, mrv = Co - co0 < MR ? Co - co0 : MR;
                float *a = ap + (size_t)(tile - t0) * KC * MR;
                for (k = 0; k < kc; k++) {
                    convrnn__vcopy(a + (size_t)k * MR, dy + (size_t)(c0 + k) * Co + co0, mrv);
                    if (mrv < MR) convrnn__vcopy(a + (size_t)k * MR + mrv, NULL, MR - mrv);
                }
            }
            for (u = u0; u < u1; u++) {
                const int r0 = u * NR, wp = R - r0 < NR ? R - r0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
                int nseg = 0, r = r0, q;
                while (r < r0 + wp) {     /* the unit's runs of channels, one per tap */
                    const int tp = r / Ci, c = r % Ci, len = Ci - c < r0 + wp - r ? Ci - c : r0 + wp - r;
                    seg[4 * nseg] = tp / g->kw; seg[4 * nseg + 1] = tp % g->kw; seg[4 * nseg + 2] = c; seg[4 * nseg + 3] = len;
                    nseg++;
                    r += len;
                }
                for (k = 0; k < kc; k++) {   /* pack the x values of this unit */
                    float *b = bp + (size_t)k * ld;
                    for (q = 0, j = 0; q < nseg; q++) {
                        const int iy = iy0[k] + seg[4 * q], ix = ix0[k] + seg[4 * q + 1], len = seg[4 * q + 3];
                        convrnn__vcopy(b + j, iy >= 0 && iy < g->h && ix >= 0 && ix < g->w
                                       ? x + (((size_t)nb[k] + iy) * g->w + ix) * Ci + seg[4 * q + 2] : NULL, len);
                        j += len;
                    }
                    if (j < ld) convrnn__vcopy(b + j, NULL, ld - j);
                }
                for (tile = t0; tile < t1; tile++) {
                    float *crow[CONVRNN__MRMAX];
                    for (i = 0; i < MR; i++)
                        crow[i] = tb + (size_t)((tile - t0) * MR + i) * ldt + (size_t)(u - u0) * NR;
                    convrnn__ukr_pk(nvp, kc, ap + (size_t)(tile - t0) * KC * MR, bp, crow, wp, c0 > 0);
                }
            }
        }
        /* dw[r][co] += T[co][r] */
        for (u = u0; u < u1; u++) {
            const int r0 = u * NR, wp = R - r0 < NR ? R - r0 : NR;
            for (j = 0; j < wp; j++) {
                float *dr = dw + (size_t)(r0 + j) * Co;
                for (tile = t0; tile < t1; tile++) {
                    const int co0 = tile * MR, mrv = Co - co0 < MR ? Co - co0 : MR;
                    const float *tr = tb + (size_t)((tile - t0) * MR) * ldt + (size_t)(u - u0) * NR + j;
                    for (i = 0; i < mrv; i++) dr[co0 + i] += tr[(size_t)i * ldt];
                }
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Backward-filter on a zero-padded copy of x (pad row = iy + pt, as the forward): filter row
   r = tap*ci + c of pixel q reads pad[base(q) + ro[r]], ro[r] = (ky*PW + kx)*ci + c, so no
   packing and no bounds checks. dw rows in tiles of MRP (a tile may span taps) x panels of NVP
   vectors read straight from the dy rows; accumulates into dw. A task owns a range of row tiles x a
   group of panels; pixel chunks are summed in ascending order. */
static int convrnn__sconv_bwf_pad(void *actx, const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRP, NR = CONVRNN__NVP * CONVRNN__VL, KC = CONVRNN__KC;
    const int PPT = CONVRNN__PANELS_PER_TASK;
    const int taps = g->kh * g->kw, Ci = g->ci, Co = g->co, R = taps * Ci, ntile = (R + MR - 1) / MR;
    const int npan = (Co + NR - 1) / NR, ngrp = (npan + PPT - 1) / PPT;
    const int tg1 = (ntile + 7) / 8, TG = tg1 > 4 ? tg1 : (ntile < 4 ? ntile : 4);
    const int nrg = (ntile + TG - 1) / TG, ntask = nrg * ngrp;
    const int K = g->n * g->oh * g->ow, OHW = g->oh * g->ow;
    const int PH = (g->oh - 1) * g->s + g->kh, PW = (g->ow - 1) * g->s + g->kw;
    const double flops = (double)K * R * Co;
    const size_t psz = (size_t)g->n * PH * PW * Ci;
    const size_t sz_pad = convrnn__al(psz * sizeof(float)), sz_ro = convrnn__al((size_t)R * sizeof(ptrdiff_t));
    const size_t per_thr = convrnn__al((size_t)KC * sizeof(ptrdiff_t));
    int nthr = convrnn__nthreads(), task, prow, r;
    char *mem, *base;
    float *pad;
    ptrdiff_t *ro;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    mem = (char *)convrnn_malloc(actx, sz_pad + sz_ro + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = mem + (64 - (size_t)((uintptr_t)mem % 64)) % 64;
    pad = (float *)base;
    ro = (ptrdiff_t *)(base + sz_pad);
    for (r = 0; r < R; r++) {
        const int tp = r / Ci;
        ro[r] = ((ptrdiff_t)(tp / g->kw) * PW + tp % g->kw) * Ci + r % Ci;
    }
CONVRNN__OMP_STATIC(psz > 65536 && nthr > 1)
    for (prow = 0; prow < g->n * PH; prow++) {
        const int n = prow / PH, sy = prow % PH - g->pt, x0 = g->pl;
        int nx = g->w;
        float *dr = pad + (size_t)prow * PW * Ci;
        if (sy < 0 || sy >= g->h) { memset(dr, 0, (size_t)PW * Ci * sizeof(float)); continue; }
        if (x0 + nx > PW) nx = PW - x0;
        if (x0 > 0) memset(dr, 0, (size_t)x0 * Ci * sizeof(float));
        if (nx > 0) memcpy(dr + (size_t)x0 * Ci, x + (((size_t)n * g->h + sy) * g->w) * Ci, (size_t)nx * Ci * sizeof(float));
        else nx = 0;
        if (x0 + nx < PW) memset(dr + (size_t)(x0 + nx) * Ci, 0, (size_t)(PW - x0 - nx) * Ci * sizeof(float));
    }
CONVRNN__OMP_DYN(nthr > 1)
    for (task = 0; task < ntask; task++) {
        const int rg = task / ngrp, grp = task % ngrp;
        const int t0 = rg * TG, t1 = t0 + TG < ntile ? t0 + TG : ntile;
        const int p0 = grp * PPT, p1 = p0 + PPT < npan ? p0 + PPT : npan;
        ptrdiff_t *pb = (ptrdiff_t *)(base + sz_pad + sz_ro + per_thr * (size_t)convrnn__tid());
        int c0, k, i, pp, tile;
        for (c0 = 0; c0 < K; c0 += KC) {
            const int kc = K - c0 < KC ? K - c0 : KC;
            int n = c0 / OHW, oy = (c0 / g->ow) % g->oh, ox = c0 % g->ow;
            for (k = 0; k < kc; k++) {
                pb[k] = (((ptrdiff_t)n * PH + (ptrdiff_t)oy * g->s) * PW + (ptrdiff_t)ox * g->s) * Ci;
                if (++ox == g->ow) { ox = 0; if (++oy == g->oh) { oy = 0; n++; } }
            }
            for (tile = t0; tile < t1; tile++) {
                const int r0 = tile * MR, mrv = R - r0 < MR ? R - r0 : MR;
                ptrdiff_t o[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) o[i] = ro[i < mrv ? r0 + i : r0];
                for (pp = p0; pp < p1; pp++) {
                    const int col = pp * NR, wp = Co - col < NR ? Co - col : NR, nvp = (wp + VL - 1) / VL;
                    for (i = 0; i < MR; i++) crow[i] = i < mrv ? dw + (size_t)(r0 + i) * Co + col : NULL;
                    convrnn__ukr_bo(nvp, kc, pad, pb, o, dy + (size_t)c0 * Co + col, Co, crow, wp);
                }
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* db [C] += column sums of dy [rows][C], rows in order (bitwise equal to the scalar kernel). */
static void convrnn__sbias_bwd(const float *dy, size_t rows, int C, float *db) {
    int c;
    for (c = 0; c < C; c += CONVRNN__VL) {
        const int nn = C - c < CONVRNN__VL ? C - c : CONVRNN__VL;
        convrnn__vf acc = convrnn__vldn(db + c, nn);
        size_t r;
        if (nn == CONVRNN__VL) for (r = 0; r < rows; r++) acc = convrnn__vadd(acc, convrnn__vld(dy + r * C + c));
        else for (r = 0; r < rows; r++) acc = convrnn__vadd(acc, convrnn__vldn(dy + r * C + c, nn));
        convrnn__vstn(db + c, acc, nn);
    }
}

/* ------------------------------------------------------------------------------- depthwise
   x (N,H,W,C), w (KH,KW,C,1), y (N,OH,OW,C). Forward and backward-data have one writer per
   output row (as the scalar kernels), taps summed in (ky, kx) order. Backward-filter: one task per
   group of channel vectors; for every (sample, output row) and tap it sums the row in a register
   and adds that partial sum to dw, rows in ascending order. */
static void convrnn__sdw_fwd(const convrnn__geom *g, const float *x, const float *w, const float *b, float *y) {
    const int C = g->ci, VL = CONVRNN__VL;
    int row, rows = g->n * g->oh;
    const double work = (double)rows * g->ow * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_STATIC(work > CONVRNN__PAR_FLOPS && rows > 1)
    for (row = 0; row < rows; row++) {
        const int n = row / g->oh, oy = row % g->oh;
        int ox, ky, kx, c;
        for (ox = 0; ox < g->ow; ox++) {
            float *yv = y + ((size_t)row * g->ow + ox) * C;
            for (c = 0; c < C; c += VL) {
                const int nn = C - c < VL ? C - c : VL;
                convrnn__vf acc = b ? convrnn__vldn(b + c, nn) : convrnn__vzero();
                for (ky = 0; ky < g->kh; ky++) {
                    const int iy = oy * g->s - g->pt + ky;
                    if (iy < 0 || iy >= g->h) continue;
                    for (kx = 0; kx < g->kw; kx++) {
                        const int ix = ox * g->s - g->pl + kx;
                        const float *xv, *wk;
                        if (ix < 0 || ix >= g->w) continue;
                        xv = x + (((size_t)n * g->h + iy) * g->w + ix) * C + c;
                        wk = w + ((size_t)ky * g->kw + kx) * C + c;
                        acc = nn == VL ? convrnn__vfma(convrnn__vld(xv), convrnn__vld(wk), acc)
                                       : convrnn__vfma(convrnn__vldn(xv, nn), convrnn__vldn(wk, nn), acc);
                    }
                }
                convrnn__vstn(yv + c, acc, nn);
            }
        }
    }
}
static void convrnn__sdw_bwd_data(const convrnn__geom *g, const float *dy, const float *w, float *dx) {
    const int C = g->ci, VL = CONVRNN__VL;
    int row, rows = g->n * g->h;
    const double work = (double)rows * g->w * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_STATIC(work > CONVRNN__PAR_FLOPS && rows > 1)
    for (row = 0; row < rows; row++) {
        const int n = row / g->h, iy = row % g->h;
        int ix, ky, kx, c;
        for (ix = 0; ix < g->w; ix++) {
            float *dxv = dx + ((size_t)row * g->w + ix) * C;
            for (c = 0; c < C; c += VL) {
                const int nn = C - c < VL ? C - c : VL;
                convrnn__vf acc = convrnn__vldn(dxv + c, nn);
                for (ky = 0; ky < g->kh; ky++) {
                    const int ny = iy + g->pt - ky;
                    int oy;
                    if (ny < 0 || ny % g->s) continue;
                    oy = ny / g->s;
                    if (oy >= g->oh) continue;
                    for (kx = 0; kx < g->kw; kx++) {
                        const int nx = ix + g->pl - kx;
                        const float *dyv, *wk;
                        int ox;
                        if (nx < 0 || nx % g->s) continue;
                        ox = nx / g->s;
                        if (ox >= g->ow) continue;
                        dyv = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * C + c;
                        wk = w + ((size_t)ky * g->kw + kx) * C + c;
                        acc = convrnn__vfma(convrnn__vldn(dyv, nn), convrnn__vldn(wk, nn), acc);
                    }
                }
                convrnn__vstn(dxv + c, acc, nn);
            }
        }
    }
}
static void convrnn__sdw_bwd_filter(const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int C = g->ci, VL = CONVRNN__VL, ncv = (C + VL - 1) / VL;
    const double work = (double)g->n * g->oh * g->ow * C * g->kh * g->kw;
    (void)work;
    int cv;
CONVRNN__OMP_DYN(work > CONVRNN__PAR_FLOPS && ncv > 1)
    for (cv = 0; cv < ncv; cv++) {
        const int c = cv * VL, nn = C - c < VL ? C - c : VL;
        int n, oy, ox, ky, kx;
        for (n = 0; n < g->n; n++)
            for (oy = 0; oy < g->oh; oy++) {
                const float *dyr = dy + ((size_t)n * g->oh + oy) * g->ow * C + c;
                for (ky = 0; ky < g->kh; ky++) {
                    const int iy = oy * g->s - g->pt + ky;
                    const float *xr;
                    if (iy < 0 || iy >= g->h) continue;
                    xr = x + ((size_t)n * g->h + iy) * g->w * C + c;
                    for (kx = 0; kx < g->kw; kx++) {
                        /* ox range with 0 <= ox*s - pl + kx < w */
                        int o0 = 0, o1 = g->ow;
                        convrnn__vf acc = convrnn__vzero();
                        float *dwv = dw + ((size_t)ky * g->kw + kx) * C + c;
                        while (o0 < o1 && o0 * g->s - g->pl + kx < 0) o0++;
                        while (o1 > o0 && (o1 - 1) * g->s - g->pl + kx >= g->w) o1--;
                        if (o0 >= o1) continue;
                        if (nn == VL)
                            for (ox = o0; ox < o1; ox++)
                                acc = convrnn__vfma(convrnn__vld(xr + (size_t)(ox * g->s - g->pl + kx) * C),
                                                    convrnn__vld(dyr + (size_t)ox * C), acc);
                        else
                            for (ox = o0; ox < o1; ox++)
                                acc = convrnn__vfma(convrnn__vldn(xr + (size_t)(ox * g->s - g->pl + kx) * C, nn),
                                                    convrnn__vldn(dyr + (size_t)ox * C, nn), acc);
                        convrnn__vstn(dwv, convrnn__vadd(convrnn__vldn(dwv, nn), acc), nn);
                    }
                }
            }
    }
}

/* ------------------------------------------------------------------------------- elementwise
   Chunked loops over flat arrays: every element is independent, so any split gives the same
   bits; chunks go to threads above CONVRNN__EW_PAR elements. Reductions (gradients of broadcast
   operands) are not split. */
#define CONVRNN__EW_CHUNK 16384
#define CONVRNN__EW_PAR 131072

static void convrnn__sact_fwd_r(int a, const float *x, float *y, size_t n) {
    size_t i = 0;
    switch (a) {
    case CONVRNN_ACT_ELU: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__velu(convrnn__vld(x + i))); break;
    case CONVRNN_ACT_RELU:
        for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) {
            const convrnn__vf v = convrnn__vld(x + i);
            convrnn__vst(y + i, convrnn__vsel(convrnn__vgt(v, convrnn__vzero()), v, convrnn__vzero()));
        }
        break;
    case CONVRNN_ACT_SIGMOID: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__vsigmoid(convrnn__vld(x + i))); break;
    case CONVRNN_ACT_TANH: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__vtanh(convrnn__vld(x + i))); break;
    default: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__vld(x + i)); break;
    }
    if (i < n) {
        const int r = (int)(n - i);
        convrnn__vf v = convrnn__vldn(x + i, r);
        switch (a) {
        case CONVRNN_ACT_ELU: v = convrnn__velu(v); break;
        case CONVRNN_ACT_RELU: v = convrnn__vsel(convrnn__vgt(v, convrnn__vzero()), v, convrnn__vzero()); break;
        case CONVRNN_ACT_SIGMOID: v = convrnn__vsigmoid(v); break;
        case CONVRNN_ACT_TANH: v = convrnn__vtanh(v); break;
        default: break;
        }
        convrnn__vstn(y + i, v, r);
    }
}
/* gx += gy * act'(x) with act' from the output y as the scalar kernel does */
static void convrnn__sact_bwd_r(int a, const float *x, const float *y, const float *gy, float *gx, size_t n) {
    size_t i;
    const convrnn__vf one = convrnn__vset1(1.0f), zero = convrnn__vzero();
    for (i = 0; i < n; i += CONVRNN__VL) {
        const int r = n - i < CONVRNN__VL ? (int)(n - i) : CONVRNN__VL;
        const convrnn__vf g = r == CONVRNN__VL ? convrnn__vld(gy + i) : convrnn__vldn(gy + i, r);
        const convrnn__vf o = r == CONVRNN__VL ? convrnn__vld(gx + i) : convrnn__vldn(gx + i, r);
        convrnn__vf d;
        switch (a) {
        case CONVRNN_ACT_ELU: {
            const convrnn__vf xv = convrnn__vldn(x + i, r), yv = convrnn__vldn(y + i, r);
            d = convrnn__vmul(g, convrnn__vsel(convrnn__vgt(xv, zero), one, convrnn__vadd(yv, one)));
            break;
        }
        case CONVRNN_ACT_RELU: d = convrnn__vsel(convrnn__vgt(convrnn__vldn(x + i, r), zero), g, zero); break;
        case CONVRNN_ACT_SIGMOID: {
            const convrnn__vf yv = convrnn__vldn(y + i, r);
            d = convrnn__vmul(convrnn__vmul(g, yv), convrnn__vsub(one, yv));
            break;
        }
        case CONVRNN_ACT_TANH: {
            const convrnn__vf yv = convrnn__vldn(y + i, r);
            d = convrnn__vmul(g, convrnn__vsub(one, convrnn__vmul(yv, yv)));
            break;
        }
        default: d = g; break;
        }
        convrnn__vstn(gx + i, convrnn__vadd(o, d), r);
    }
}
static void convrnn__sact_fwd(int a, const float *x, float *y, size_t n) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, m = n - i0 < CONVRNN__EW_CHUNK ? n - i0 : CONVRNN__EW_CHUNK;
        convrnn__sact_fwd_r(a, x + i0, y + i0, m);
    }
}
static void convrnn__sact_bwd(int a, const float *x, const float *y, const float *gy, float *gx, size_t n) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, m = n - i0 < CONVRNN__EW_CHUNK ? n - i0 : CONVRNN__EW_CHUNK;
        convrnn__sact_bwd_r(a, x + i0, y + i0, gy + i0, gx + i0, m);
    }
}

/* y = op(a, b) with b of nb elements repeated (nb divides n; nb == n: no broadcast).
   op: 0 add, 1 sub, 2 mul, 3 y = alpha*a + beta (b unused). */
static void convrnn__sbin_fwd(int op, const float *a, const float *b, size_t nb, float *y, size_t n, float alpha, float beta) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, i1 = n - i0 < CONVRNN__EW_CHUNK ? n : i0 + CONVRNN__EW_CHUNK;
        size_t i = i0;
        while (i < i1) {
            /* run of elements whose b index is contiguous */
            const size_t j0 = op == 3 ? 0 : i % nb, m0 = op == 3 || nb == 1 ? i1 - i : (nb - j0 < i1 - i ? nb - j0 : i1 - i);
            const convrnn__vf bs = convrnn__vset1(op == 3 ? alpha : b[j0]), be = convrnn__vset1(beta);
            size_t k;
            for (k = 0; k < m0; k += CONVRNN__VL) {
                const int r = m0 - k < CONVRNN__VL ? (int)(m0 - k) : CONVRNN__VL;
                const convrnn__vf av = convrnn__vldn(a + i + k, r);
                const convrnn__vf bv = op == 3 || nb == 1 ? bs : convrnn__vldn(b + j0 + k, r);
                convrnn__vf v;
                switch (op) {
                case 0: v = convrnn__vadd(av, bv); break;
                case 1: v = convrnn__vsub(av, bv); break;
                case 2: v = convrnn__vmul(av, bv); break;
                default: v = convrnn__vadd(convrnn__vmul(bs, av), be); break;
                }
                convrnn__vstn(y + i + k, v, r);
            }
            i += m0;
        }
    }
}
/* ga += s * gy (mul: ga += gy * b[i % nb]); s is 1 or alpha */
static void convrnn__sbin_bwd_a(int mul, const float *gy, const float *b, size_t nb, float *ga, size_t n, float s) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, i1 = n - i0 < CONVRNN__EW_CHUNK ? n : i0 + CONVRNN__EW_CHUNK;
        size_t i = i0;
        while (i < i1) {
            const size_t j0 = mul ? i % nb : 0, m0 = !mul || nb == 1 ? i1 - i : (nb - j0 < i1 - i ? nb - j0 : i1 - i);
            const convrnn__vf sv = convrnn__vset1(mul ? b[j0] : s);
            size_t k;
            for (k = 0; k < m0; k += CONVRNN__VL) {
                const int r = m0 - k < CONVRNN__VL ? (int)(m0 - k) : CONVRNN__VL;
                const convrnn__vf g = convrnn__vldn(gy + i + k, r), o = convrnn__vldn(ga + i + k, r);
                const convrnn__vf f = mul && nb > 1 ? convrnn__vldn(b + j0 + k, r) : sv;
                convrnn__vstn(ga + i + k, mul || s != 1.0f ? convrnn__vfma(g, f, o) : convrnn__vadd(o, g), r);
            }
            i += m0;
        }
    }
}
/* gb[j] += sgn * sum over r of gy[r*nb + j] (mul: times a[r*nb + j]), r ascending per element */
static void convrnn__sbin_bwd_b(int mul, const float *gy, const float *a, size_t nb, size_t reps, float *gb, float sgn) {
    size_t j;
    if (nb == 1) {   /* scalar b: vector partial sums over the flat array, then lanes in order */
        const size_t n = reps;
        convrnn__vf acc = convrnn__vzero();
        float lanes[CONVRNN__VL], tot = 0;
        size_t i;
        int l;
        for (i = 0; i < n; i += CONVRNN__VL) {
            const int r = n - i < CONVRNN__VL ? (int)(n - i) : CONVRNN__VL;
            const convrnn__vf g = convrnn__vldn(gy + i, r);
            acc = mul ? convrnn__vfma(g, convrnn__vldn(a + i, r), acc) : convrnn__vadd(acc, g);
        }
        convrnn__vst(lanes, acc);
        for (l = 0; l < CONVRNN__VL; l++) tot += lanes[l];
        gb[0] += sgn * tot;
        return;
    }
    for (j = 0; j < nb; j += CONVRNN__VL) {
        const int r = nb - j < CONVRNN__VL ? (int)(nb - j) : CONVRNN__VL;
        convrnn__vf acc = convrnn__vzero();
        size_t q;
        for (q = 0; q < reps; q++) {
            const convrnn__vf g = convrnn__vldn(gy + q * nb + j, r);
            acc = mul ? convrnn__vfma(g, convrnn__vldn(a + q * nb + j, r), acc) : convrnn__vadd(acc, g);
        }
        convrnn__vstn(gb + j, convrnn__vfma(acc, convrnn__vset1(sgn), convrnn__vldn(gb + j, r)), r);
    }
}
/* dst[r*ld_d + j] (+)= src[r*ld_s + j] for j < w: rows of a channel concat or slice */
static void convrnn__scopy_rows(float *dst, size_t ld_d, const float *src, size_t ld_s, size_t rows, int w, int add) {
    long r;
CONVRNN__OMP_STATIC(rows * (size_t)w > CONVRNN__EW_PAR)
    for (r = 0; r < (long)rows; r++) {
        float *d = dst + (size_t)r * ld_d;
        const float *s = src + (size_t)r * ld_s;
        int j;
        if (!add) { memcpy(d, s, (size_t)w * sizeof(float)); continue; }
        for (j = 0; j < w; j += CONVRNN__VL) {
            const int m = w - j < CONVRNN__VL ? w - j : CONVRNN__VL;
            convrnn__vstn(d + j, convrnn__vadd(convrnn__vldn(d + j, m), convrnn__vldn(s + j, m)), m);
        }
    }
}

/* ------------------------------------------------------------------------------- max pooling
   Same rule as the scalar kernel: the first maximum in (ky, kx) order wins, a NaN beats any
   number, padded cells never take part. Forward has one writer per output row; backward adds
   each output gradient to its winner's input gradient, one sample per task, outputs in order
   (overlapping windows of a sample stay in one task), so results equal the scalar kernel's. */
static void convrnn__smaxpool(const convrnn__geom *g, const float *x, float *y, const float *gy, float *gx) {
    const int C = g->ci, VL = CONVRNN__VL;
    int task, ntask = gx ? g->n : g->n * g->oh;
    const double work = (double)g->n * g->oh * g->ow * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_STATIC(work > CONVRNN__PAR_FLOPS && ntask > 1)
    for (task = 0; task < ntask; task++) {
        const int n = gx ? task : task / g->oh;
        const int oy0 = gx ? 0 : task % g->oh, oy1 = gx ? g->oh : oy0 + 1;
        int oy, ox, ky, kx, c;
        for (oy = oy0; oy < oy1; oy++) {
            const int iyb = oy * g->s - g->pt;
            const int ky0 = iyb < 0 ? -iyb : 0, ky1 = g->h - iyb < g->kh ? g->h - iyb : g->kh;
            for (ox = 0; ox < g->ow; ox++) {
                const int ixb = ox * g->s - g->pl;
                const int kx0 = ixb < 0 ? -ixb : 0, kx1 = g->w - ixb < g->kw ? g->w - ixb : g->kw;
                const float *xb = x + (((size_t)n * g->h + iyb) * g->w + ixb) * C;
                const size_t o = (((size_t)n * g->oh + oy) * g->ow + ox) * C;
                for (c = 0; c < C; c += VL) {
                    const int nn = C - c < VL ? C - c : VL;
                    convrnn__vf best = convrnn__vldn(xb + ((size_t)ky0 * g->w + kx0) * C + c, nn);
                    convrnn__vf bidx = convrnn__vset1((float)(ky0 * g->kw + kx0));   /* window ordinal */
                    for (ky = ky0; ky < ky1; ky++)
                        for (kx = ky == ky0 ? kx0 + 1 : kx0; kx < kx1; kx++) {
                            const convrnn__vf v = convrnn__vldn(xb + ((size_t)ky * g->w + kx) * C + c, nn);
                            const convrnn__vm m = convrnn__vmor(convrnn__vgt(v, best),
                                                                convrnn__vmandn(convrnn__vnan(v), convrnn__vnan(best)));
                            best = convrnn__vsel(m, v, best);
                            bidx = convrnn__vsel(m, convrnn__vset1((float)(ky * g->kw + kx)), bidx);
                        }
                    if (!gx) {
                        convrnn__vstn(y + o + c, best, nn);
                    } else {   /* the winner of each lane gets the output gradient (masked add) */
                        const convrnn__vf gv = convrnn__vldn(gy + o + c, nn);
                        for (ky = ky0; ky < ky1; ky++)
                            for (kx = kx0; kx < kx1; kx++) {
                                float *gp = gx + (((size_t)n * g->h + iyb + ky) * g->w + ixb + kx) * C + c;
                                const convrnn__vf old = convrnn__vldn(gp, nn);
                                convrnn__vstn(gp, convrnn__vsel(convrnn__veq(bidx, convrnn__vset1((float)(ky * g->kw + kx))),
                                                                convrnn__vadd(old, gv), old), nn);
                            }
                    }
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------------- bilinear resize
   tab: OH entries (rows) then OW entries (columns) of {i0, i1, w} as in core_impl.h. Forward: one
   writer per output row, the scalar kernel's formula. Backward: one sample per task, outputs in
   order, the scalar kernel's four weighted adds. */
static void convrnn__sresize(int N, int H, int W, int C, int OH, int OW, const convrnn__lerp *ty, const convrnn__lerp *tx,
                             const float *x, float *y, const float *gy, float *gx) {
    const int VL = CONVRNN__VL;
    int task, ntask = gx ? N : N * OH;
CONVRNN__OMP_STATIC((size_t)N * OH * OW * C > CONVRNN__EW_PAR && ntask > 1)
    for (task = 0; task < ntask; task++) {
        const int n = gx ? task : task / OH, oy0 = gx ? 0 : task % OH, oy1 = gx ? OH : oy0 + 1;
        int oy, ox, c;
        for (oy = oy0; oy < oy1; oy++)
            for (ox = 0; ox < OW; ox++) {
                const size_t base = (size_t)n * H * W;
                const size_t tl = (base + (size_t)ty[oy].i0 * W + tx[ox].i0) * C, tr = (base + (size_t)ty[oy].i0 * W + tx[ox].i1) * C;
                const size_t bl = (base + (size_t)ty[oy].i1 * W + tx[ox].i0) * C, br = (base + (size_t)ty[oy].i1 * W + tx[ox].i1) * C;
                const size_t o = (((size_t)n * OH + oy) * OW + ox) * C;
                const convrnn__vf vwx = convrnn__vset1(tx[ox].w), vwy = convrnn__vset1(ty[oy].w);
                const convrnn__vf one = convrnn__vset1(1.0f);
                for (c = 0; c < C; c += VL) {
                    const int nn = C - c < VL ? C - c : VL;
                    if (!gx) {
                        const convrnn__vf a = convrnn__vldn(x + tl + c, nn), b = convrnn__vldn(x + tr + c, nn);
                        const convrnn__vf d = convrnn__vldn(x + bl + c, nn), e = convrnn__vldn(x + br + c, nn);
                        const convrnn__vf top = convrnn__vfma(convrnn__vsub(b, a), vwx, a);
                        const convrnn__vf bot = convrnn__vfma(convrnn__vsub(e, d), vwx, d);
                        convrnn__vstn(y + o + c, convrnn__vfma(convrnn__vsub(bot, top), vwy, top), nn);
                    } else {
                        const convrnn__vf gv = convrnn__vldn(gy + o + c, nn);
                        const convrnn__vf gt = convrnn__vmul(gv, convrnn__vsub(one, vwy)), gb = convrnn__vmul(gv, vwy);
                        const convrnn__vf ux = convrnn__vsub(one, vwx);
                        convrnn__vstn(gx + tl + c, convrnn__vfma(gt, ux, convrnn__vldn(gx + tl + c, nn)), nn);
                        convrnn__vstn(gx + tr + c, convrnn__vfma(gt, vwx, convrnn__vldn(gx + tr + c, nn)), nn);
                        convrnn__vstn(gx + bl + c, convrnn__vfma(gb, ux, convrnn__vldn(gx + bl + c, nn)), nn);
                        convrnn__vstn(gx + br + c, convrnn__vfma(gb, vwx, convrnn__vldn(gx + br + c, nn)), nn);
                    }
                }
            }
    }
}
#ifdef CONVRNN__POP_DIAG
#pragma GCC diagnostic pop
#undef CONVRNN__POP_DIAG
#endif
#endif /* CONVRNN__SIMD */
