/* convrnn.h v0.1.0 - convolutional recurrent networks of the primate ventral stream, in one C file.
   Public domain-style permissive licence (MIT or Unlicense, your choice): see the end of this file.

   The models of Nayebi et al. 2022, "Recurrent Connections in the Primate Ventral Visual Stream
   Mediate a Trade-Off Between Task Performance and Network Size During Core Object Recognition"
   (Neural Computation 34:1652): tensors, convolution, every recurrent cell of the paper, delay-graph
   unrolling, backpropagation through time, SGD, and the model-to-brain comparisons.

   HOW TO USE
     In exactly one C or C++ file:
         #define CONVRNN_IMPLEMENTATION
         #include "convrnn.h"
     Everywhere else just #include "convrnn.h". Link with -lm. Add -fopenmp for threads.
     Zero-config build:  cc -O2 -std=c99 my.c -lm

   CONFIGURATION MACROS (define before the #include that has CONVRNN_IMPLEMENTATION)
     CONVRNNDEF              linkage of every public function (default: extern)
     CONVRNN_STATIC          make every function static (private copy per translation unit)
     CONVRNN_MALLOC(ctx,sz) / CONVRNN_REALLOC(ctx,p,sz) / CONVRNN_FREE(ctx,p)
                             allocator; define all three or none. ctx is the user pointer given to
                             the object that allocates (convrnn_tape.alloc_ctx etc.); defaults ignore it
     CONVRNN_ASSERT(x)       programmer-invariant check (default: assert from <assert.h>)
     CONVRNN_NO_SIMD         never compile SIMD kernels (the scalar path is always compiled anyway)
     CONVRNN_USE_DOUBLE      convrnn_real becomes double (used for finite-difference gradient checks)
     CONVRNN_NO_STDIO        drop the file functions; the buffer-based ones remain

   TABLE OF CONTENTS (search for the tag in brackets)
     [DOC-MATH]    the equations of every cell, gate orders, bias conventions
     [DOC-LAYOUT]  shapes, layouts, padding rules, determinism guarantee, choices made
     [API-BASE]    status codes, error object, real type, allocator, PRNG, build info
     [API-TENSOR]  tensors and the tape (reverse-mode autodiff over whole unrolls)
     [API-PARAMS]  the parameter store: one block of values, one of gradients, one of optimizer state
     [API-OPS]     conv2d, depthwise, separable, dense, bias, activations, pooling, resize,
                   concat/split, layer norm, residual add, elementwise, softmax cross-entropy
     [API-CELLS]   Time Decay, SimpleRNN, GRU, LSTM, UGRNN, IntersectionRNN, RGC (full search space)
     [API-IO]      .npy arrays, safetensors files, IDX / CIFAR-10 / shard image sets
     [API-GRAPH]   delay graphs, the model zoo, the graph text format [DOC-GRAPH-TEXT], decoders,
                   weights files
     [API-TRAIN]   SGD through time, data pipeline, resumable checkpoints
     [API-METRICS] PLS, splits, correlations, ceilings, neural predictivity, decoders (logistic,
                   SVM), I1 d', OST, consistency, statistics, synthetic data
     [DOC-CHOICES] what this implementation chose where the sources disagree or are silent
     [IMPL-*]      the implementation, in the same order

   [DOC-MATH]  cell equations (u_t: the cell input at step t, "*": SAME stride-1 cross-correlation,
               [a,b]: channel concatenation, (.): elementwise product; all states start at zero)
     Time Decay     s_t = d s_{t-1} + u_t                       (d: one trainable scalar, init 0)
     SimpleRNN      h_t = ELU(N(W_i*u_t + b_i + W_s*h_{t-1} + b_s))  N = layer norm or identity
     GRU            [r~,z~] = W_g*[u_t,h_{t-1}] + b_g  (split order r first; b_g init 1)
                    r = sig(r~ + fb) (fb = forget bias 1.0, added to the RESET gate), z = sig(z~)
                    c = tanh(W_c*[u_t, r(.)h_{t-1}] + b_c);  h_t = z(.)h_{t-1} + (1-z)(.)c
     LSTM           [i,j,f,o] = W*[u_t,h_{t-1}] + b;  optional LN on each of i,j,f,o
                    c_t = c_{t-1}(.)sig(f + fb [+P_f(.)c_{t-1}]) + sig(i [+P_i(.)c_{t-1}])(.)tanh(j)
                    optional LN on c_t;  h_t = tanh(c_t)(.)sig(o [+P_o(.)c_{t-1}])
                    (the output peephole reads the PREVIOUS cell c_{t-1}, as the released code)
     UGRNN          [g~,c~] = W*[u_t,h_{t-1}] + b; g = sig(g~ + fb); h_t = g(.)h_{t-1} + (1-g)(.)tanh(c~)
     IntersectionRNN [gh~,h~,gy~,y~] = W*[u_t,h_{t-1}] + b; gh = sig(gh~+fb); gy = sig(gy~+fb)
                    h_t = gh(.)h_{t-1} + (1-gh)(.)tanh(h~)    (state)
                    y_t = gy(.)u_t + (1-gy)(.)ReLU(y~)        (OUTPUT is y_t, needs C_u = D)
     RGC            see convrnn_rgc_config; both halves gate with the PREVIOUS states:
                    x <- phi_in(x [+ phi_fb(Op_fb f)  if entry=input])
                    u_c = [cell_residual]Op_ff(r) + [input_to_cell]Op_ff(x) [+ phi_fb(Op_fb f) if entry=cell]
                    a_c = Op_tau(c_{t-1}) [+conv(x)] [+conv(r)];  g_c = Op_gate(h_{t-1}) [+conv(x)] [+conv(r)]
                    c_t = phi_c(N((o_t + m_t s_t(a_c))(.)c_{t-1} + (o_g + m_g s_g(g_c))(.)u_c))
                    u_h = ([input_to_out]Op_io(x) else x) + [cell_to_out]Op_gate(c_{t-1})
                          + [out_residual]R(r) + [entry=out] phi_fb(Op_fb f)
                    a_h = Op_tau(h_{t-1}) [+...];  g_h = [cell && !cell_to_out]Op_gate(c_{t-1}) [+...]
                    h_t = phi_h(N((o_t + m_t s_t(a_h))(.)h_{t-1} + (o_g + m_g s_g(g_h))(.)u_h))
                    Op(k, ds) is a k x k conv, or (ds) depthwise k x k + pointwise 1x1.
                    Bias conventions: CONVRNN_RGC_BIAS_SHALLOW (conventional ops bias-free, separable
                    ops biased, tau_bias/gate_bias unused) and CONVRNN_RGC_BIAS_MEDIAN (all ops biased
                    except the extra input_to_ / residual_to_ gate terms; the scalars tau_bias and
                    gate_bias are added to conventional tau/gate ops only).

   [DOC-LAYOUT]
     Activations are NHWC real tensors; sequences are time-major [T][N][H][W][C]. Dense activations
     are [N][1][1][C]. Kernels use TensorFlow layouts: conv [kh][kw][C_in][C_out], depthwise
     [kh][kw][C][1], dense [C_in][C_out]. Convolution is cross-correlation. SAME padding follows
     TensorFlow: out = ceil(in/s), pad_total = max((out-1)s + k - in, 0), pad_before = pad_total/2
     (floor), the extra row/column goes after. Max pooling ignores padded cells. Bilinear resize uses
     TF1 align_corners=True. Layer norm normalises each sample over H, W and C jointly (biased
     variance, epsilon 1e-12) with per-channel gain and offset (TF contrib semantics).
     Determinism: every result is a pure function of inputs, weights and seeds; parallel loops
     have one writer per output element and fixed-order sums, so 1 and N threads agree bitwise.
     The library never prints, never exits and keeps no global mutable state.

   [DOC-CHOICES]  Where the paper and the released code differ, the code's behaviour is the default
     and the alternative a parameter; where both are silent, the choice is stated here.
     - Neural presentation: 26 steps with the image off after 10 (code), not the paper's 10 + 15;
       T and image_off are parameters of convrnn_stimulus.
     - The blank after image offset is the constant 0.5 in the normalised input space (code), not a
       normalised mid-gray; convrnn_stimulus.blank changes it.
     - Every node is computed at every step from t = 0; all steps are returned. Node l first
       depends on the image at t = l-1; the released dictionaries start at t = l
       (convrnn_model_layer_start gives both). Decoder windows default to [L, T).
     - Plain layers are memories with decay 0 (identity); converted checkpoints' memory_decay
       scalars are accepted when 0 and refused otherwise.
     - RGC bias conventions follow the implementation behind each checkpoint (CONVRNN_RGC_SHALLOW,
       CONVRNN_RGC_MEDIAN); RGC Median uses the released overrides (feedback at the output, 1x1,
       identity activation, conventional). The cells.py feedback-into-cell quirk (f added to its own
       projection) is not reproduced: feedback entering the cell is phi_fb(Op_fb(f)). CReLU cell
       activations, batch norm and recurrent dropout (off in every released model) are not offered.
       Parameter names of RGC ops the released models never create (e.g. input_to_tau) are ours.
       The extra input_to_/residual_to_ gate and tau terms use the gate/tau kernel size and
       separability and have no bias.
     - Time Decay uses the raw trainable scalar d (code), initialised to 0.
     - timedecay_shallow has no nonlinearity in conv3-5 (the released graph as written).
     - LSTM with layer norm keeps its bias; peepholes are added after the layer norm and all read
       c_{t-1}; the state carried on is the normalised c_t.
     - GRU layer norm (unused by released models) normalises r~, z~ and the candidate.
     - Units are node outputs after post-memory pooling, readout included; the pre-pool count is
       also reported. Parameter counts exclude decoder scalars and fixed memory_decay scalars.
     - Harbor order: stimulus first, then predecessors sorted by name (strcmp); RGC nodes put the
       feedforward predecessor first and pass the rest, concatenated, as feedback.
     - max_conf's beta is a stored variable (no gradient reaches it); a checkpoint without it is
       refused rather than defaulting to 1, since the library never prints a warning.
     - w_time_avg (unused by released models) treats its time weights as constants in backward.
     - The minimally unrolled T is derived (7 shallow, 12 intermediate, 15 RGC Median), not the
       paper's appendix table, which is not public.
     - Training recipe (unknown in the paper): momentum SGD (Nesterov optional), the TF weight
       decays of the configs, value and global-norm clipping, cross-entropy on the decoder output
       (the last step for `last`). A reconstruction, not the authors' schedule.

   CHANGELOG
     0.1.0  first release: core ops and cells, delay graphs and the model zoo, training, metrics.
*/
#ifndef CONVRNN_H_INCLUDED
#define CONVRNN_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef CONVRNN_STATIC
#define CONVRNNDEF static
#elif !defined(CONVRNNDEF)
#define CONVRNNDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CONVRNN_VERSION_MAJOR 0
#define CONVRNN_VERSION_MINOR 1
#define CONVRNN_VERSION_PATCH 0

/* ===================================================================================== [API-BASE] */

#ifdef CONVRNN_USE_DOUBLE
typedef double convrnn_real;
#else
typedef float convrnn_real;
#endif

typedef enum convrnn_status {
    CONVRNN_OK = 0,
    CONVRNN_ERR_NOMEM,        /* an allocation failed */
    CONVRNN_ERR_SHAPE,        /* shapes do not fit together, or a size is zero/negative */
    CONVRNN_ERR_ARG,          /* an argument is invalid (NULL, out of range, unknown name) */
    CONVRNN_ERR_OVERFLOW,     /* a size computation overflows */
    CONVRNN_ERR_IO,           /* a file could not be opened, read, written or renamed */
    CONVRNN_ERR_FORMAT,       /* a file or buffer is malformed, truncated or inconsistent */
    CONVRNN_ERR_UNSUPPORTED,  /* a valid request this build cannot do */
    CONVRNN_ERR_NOT_FINITE,   /* NaN or infinity where finite numbers are required */
    CONVRNN_ERR_NUMERIC,      /* a numerical procedure failed (singular, no convergence) */
    CONVRNN_STATUS_COUNT
} convrnn_status;

/* Short description of a status code ("ok", "out of memory", ...). Never NULL. */
CONVRNNDEF const char *convrnn_status_string(convrnn_status s);

/* An error record. Objects embed one; free functions take a pointer (which may be NULL).
   msg names the offending shapes or values. */
typedef struct convrnn_error {
    convrnn_status status;
    char msg[320];
} convrnn_error;

/* Set e (if not NULL) and return s. printf-style detail. */
CONVRNNDEF convrnn_status convrnn_error_set(convrnn_error *e, convrnn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
CONVRNNDEF void convrnn_error_clear(convrnn_error *e);

/* One line: version, SIMD paths compiled, OpenMP, CUDA, precision. Static string. */
CONVRNNDEF const char *convrnn_build_info(void);

/* Kernel backend switch (per object, never global): CONVRNN_BACKEND_SCALAR forces the reference path. */
typedef enum convrnn_backend { CONVRNN_BACKEND_AUTO = 0, CONVRNN_BACKEND_SCALAR = 1 } convrnn_backend;

/* --- PRNG: explicit state, xoshiro256** seeded by splitmix64. Same seed, same stream everywhere. */
typedef struct convrnn_rng { uint64_t s[4]; } convrnn_rng;
CONVRNNDEF void     convrnn_rng_seed(convrnn_rng *r, uint64_t seed);
CONVRNNDEF uint64_t convrnn_rng_u64(convrnn_rng *r);
CONVRNNDEF double   convrnn_rng_uniform(convrnn_rng *r);            /* [0,1), 53 bits */
CONVRNNDEF uint32_t convrnn_rng_below(convrnn_rng *r, uint32_t n);   /* uniform in [0,n), unbiased */
CONVRNNDEF double   convrnn_rng_normal(convrnn_rng *r);             /* N(0,1), Box-Muller, no cache */
CONVRNNDEF double   convrnn_rng_truncnormal(convrnn_rng *r);        /* N(0,1) redrawn outside +-2 */

/* Checked size arithmetic: return 0 on overflow. */
CONVRNNDEF int convrnn_size_mul(size_t a, size_t b, size_t *out);
CONVRNNDEF int convrnn_size_add(size_t a, size_t b, size_t *out);

/* Bring in the allocator (defined in the implementation). ctx may be NULL. */
CONVRNNDEF void *convrnn_malloc(void *ctx, size_t n);
CONVRNNDEF void *convrnn_calloc(void *ctx, size_t count, size_t size); /* zeroed, overflow-checked */
CONVRNNDEF void  convrnn_free(void *ctx, void *p);

/* development parts, inlined before release */
#include "parts/core_decl.h"
#include "parts/io_decl.h"
#include "parts/graph_decl.h"
#include "parts/train_decl.h"
#include "parts/metrics_decl.h"

#ifdef __cplusplus
}
#endif
#endif /* CONVRNN_H_INCLUDED */

/* ============================================================================= IMPLEMENTATION */
#ifdef CONVRNN_IMPLEMENTATION
#ifndef CONVRNN_IMPLEMENTATION_DONE
#define CONVRNN_IMPLEMENTATION_DONE

#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <float.h>
#include <errno.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(CONVRNN_MALLOC) && defined(CONVRNN_FREE) && defined(CONVRNN_REALLOC)
#elif !defined(CONVRNN_MALLOC) && !defined(CONVRNN_FREE) && !defined(CONVRNN_REALLOC)
#define CONVRNN_MALLOC(ctx, sz) ((void)(ctx), malloc(sz))
#define CONVRNN_REALLOC(ctx, p, sz) ((void)(ctx), realloc(p, sz))
#define CONVRNN_FREE(ctx, p) ((void)(ctx), free(p))
#else
#error "convrnn.h: define all of CONVRNN_MALLOC, CONVRNN_REALLOC and CONVRNN_FREE, or none"
#endif

#ifndef CONVRNN_ASSERT
#include <assert.h>
#define CONVRNN_ASSERT(x) assert(x)
#endif

#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE) && defined(__AVX2__) && defined(__FMA__)
#define CONVRNN__AVX2 1
#include <immintrin.h>
#endif
#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE) && (defined(__ARM_NEON) || defined(__aarch64__))
#define CONVRNN__NEON 1
#include <arm_neon.h>
#endif

#if defined(CONVRNN_STATIC) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* ================================================================================ [IMPL-BASE] */

CONVRNNDEF const char *convrnn_status_string(convrnn_status s) {
    switch (s) {
    case CONVRNN_OK: return "ok";
    case CONVRNN_ERR_NOMEM: return "out of memory";
    case CONVRNN_ERR_SHAPE: return "bad shape";
    case CONVRNN_ERR_ARG: return "invalid argument";
    case CONVRNN_ERR_OVERFLOW: return "size overflow";
    case CONVRNN_ERR_IO: return "i/o error";
    case CONVRNN_ERR_FORMAT: return "malformed data";
    case CONVRNN_ERR_UNSUPPORTED: return "unsupported";
    case CONVRNN_ERR_NOT_FINITE: return "not finite";
    case CONVRNN_ERR_NUMERIC: return "numerical failure";
    default: return "unknown status";
    }
}

CONVRNNDEF convrnn_status convrnn_error_set(convrnn_error *e, convrnn_status s, const char *fmt, ...) {
    if (e) {
        va_list ap;
        e->status = s;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

CONVRNNDEF void convrnn_error_clear(convrnn_error *e) {
    if (e) { e->status = CONVRNN_OK; e->msg[0] = 0; }
}

CONVRNNDEF const char *convrnn_build_info(void) {
#define CONVRNN__STR2(x) #x
#define CONVRNN__STR(x) CONVRNN__STR2(x)
    return "convrnn " CONVRNN__STR(CONVRNN_VERSION_MAJOR) "." CONVRNN__STR(CONVRNN_VERSION_MINOR) "."
        CONVRNN__STR(CONVRNN_VERSION_PATCH)
#ifdef CONVRNN__AVX2
        " AVX2=1 FMA=1"
#else
        " AVX2=0"
#endif
#ifdef CONVRNN__NEON
        " NEON=1"
#else
        " NEON=0"
#endif
#ifdef _OPENMP
        " OPENMP=1"
#else
        " OPENMP=0"
#endif
#ifdef CONVRNN_CUDA
        " CUDA=1"
#else
        " CUDA=0"
#endif
#ifdef CONVRNN_USE_DOUBLE
        " REAL=double";
#else
        " REAL=float";
#endif
}

CONVRNNDEF int convrnn_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}
CONVRNNDEF int convrnn_size_add(size_t a, size_t b, size_t *out) {
    if (b > (size_t)-1 - a) return 0;
    *out = a + b;
    return 1;
}

CONVRNNDEF void *convrnn_malloc(void *ctx, size_t n) { return CONVRNN_MALLOC(ctx, n ? n : 1); }
CONVRNNDEF void *convrnn_calloc(void *ctx, size_t count, size_t size) {
    size_t n;
    void *p;
    if (!convrnn_size_mul(count, size, &n)) return NULL;
    p = CONVRNN_MALLOC(ctx, n ? n : 1);
    if (p) memset(p, 0, n);
    return p;
}
CONVRNNDEF void convrnn_free(void *ctx, void *p) { if (p) CONVRNN_FREE(ctx, p); }

static uint64_t convrnn__splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
CONVRNNDEF void convrnn_rng_seed(convrnn_rng *r, uint64_t seed) {
    int i;
    for (i = 0; i < 4; i++) r->s[i] = convrnn__splitmix(&seed);
}
static uint64_t convrnn__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
CONVRNNDEF uint64_t convrnn_rng_u64(convrnn_rng *r) {
    uint64_t *s = r->s, res = convrnn__rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = convrnn__rotl(s[3], 45);
    return res;
}
CONVRNNDEF double convrnn_rng_uniform(convrnn_rng *r) {
    return (double)(convrnn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}
CONVRNNDEF uint32_t convrnn_rng_below(convrnn_rng *r, uint32_t n) {
    uint64_t lim, x;
    if (n <= 1) return 0;
    lim = (UINT64_MAX / n) * n;
    do { x = convrnn_rng_u64(r); } while (x >= lim);
    return (uint32_t)(x % n);
}
CONVRNNDEF double convrnn_rng_normal(convrnn_rng *r) {
    double u1 = 1.0 - convrnn_rng_uniform(r), u2 = convrnn_rng_uniform(r); /* u1 in (0,1] */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
CONVRNNDEF double convrnn_rng_truncnormal(convrnn_rng *r) {
    double z;
    do { z = convrnn_rng_normal(r); } while (z < -2.0 || z > 2.0);
    return z;
}

#include "parts/simd_impl.h"
#include "parts/core_impl.h"
#include "parts/io_impl.h"
#include "parts/graph_impl.h"
#include "parts/train_impl.h"
#include "parts/metrics_impl.h"

#if defined(CONVRNN_STATIC) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif /* CONVRNN_IMPLEMENTATION_DONE */
#endif /* CONVRNN_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the convrnn.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions: The above copyright notice and this
permission notice shall be included in all copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain. Anyone is free to copy,
modify, publish, use, compile, sell, or distribute this software, either in source code form or as
a compiled binary, for any purpose, commercial or non-commercial, and by any means.
------------------------------------------------------------------------------
*/
