/* SIMD kernels against the scalar reference kernels, and thread-count independence.

   Every op and every cell runs through a tape twice, once with tape.backend = CONVRNN_BACKEND_SCALAR
   (the reference kernels) and once with CONVRNN_BACKEND_AUTO (the SIMD kernels of this build, see
   convrnn_simd_path()); outputs and the gradients of every input and parameter must satisfy
       |a - b| <= atol * max(1, max|b|) + rtol * |b|        (b: scalar reference, a: SIMD)
   per element, with the tolerances stated at each group:
     reductions (conv, dense, pooling, norms, cells): atol 2e-6, rtol 1e-4
     elementwise ops with transcendental functions:   atol 1e-6, rtol 1e-5
     convolutions that run Winograd F(4x4, 3x3) (3x3 stride 1, 32+ channels on both sides; unless
     built with CONVRNN_NO_WINO4), and the cells made of them, and those that run the polyphase
     F(3x3, 4x4) (7x7 or 8x8 stride 2, at most 4 input channels, 16+ outputs; unless built with
     CONVRNN_NO_WINO_PHASE):   atol 3e-5, rtol 1e-4
   (float accumulation in a different order, FMA contraction, and 1-3 ulp vector exp/tanh; the
   Winograd F(3x3, 2x2) of 2x2 layers (constants 0, +-1 and 1/2) keeps the first tolerance; F(4x4,
   3x3) scales the rounding of its 36 products by its transforms' constants, up to 8 and 5:
   test_wino4_accuracy and test_pw_accuracy measure it against double-precision references). Then
   the SIMD path is run with 1 and 2 OpenMP threads and must agree bitwise. In builds without a SIMD
   path (no -mavx2 -mfma / -mavx512f / NEON, or CONVRNN_USE_DOUBLE) both runs use the reference
   kernels and the comparisons hold trivially; built with -DCONVRNN_TEST_REQUIRE_SIMD (CI's SIMD
   runs), such a build fails instead. */
#define CONVRNN_IMPLEMENTATION
#include "../convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

#define ATOL_RED 2e-6
#define RTOL_RED 1e-4
#define ATOL_EW 1e-6
#define ATOL_W4 3e-5
/* a 3x3 stride-1 convolution that runs Winograd F(4x4, 3x3) in SIMD builds (its forward and input
   gradient on every map size, its weight gradient under 196 pixels) */
#ifdef CONVRNN_NO_WINO4
static int runs_w4(int k, int s, int ci, int co) { (void)k; (void)s; (void)ci; (void)co; return 0; }
#else
static int runs_w4(int k, int s, int ci, int co) { return k == 3 && s == 1 && ci >= 32 && co >= 32; }
#endif
#define RTOL_EW 1e-5
/* a 7x7 or 8x8 stride-2 convolution from at most 4 channels to 16+ that runs the polyphase
   Winograd F(3x3, 4x4) in SIMD builds (forward, input and weight gradients): the F(4x4,3x3) tolerance */
#ifdef CONVRNN_NO_WINO_PHASE
static int runs_pw(int k, int s, int ci, int co) { (void)k; (void)s; (void)ci; (void)co; return 0; }
#else
static int runs_pw(int k, int s, int ci, int co) { return (k == 7 || k == 8) && s == 2 && ci <= 4 && co >= 16; }
#endif

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* largest |a-b| / (atol*max(1,max|b|) + rtol*|b|) over the elements; <= 1 passes */
static double close_ratio(const convrnn_real *a, const convrnn_real *b, size_t n, double atol, double rtol) {
    double mb = 1, worst = 0;
    size_t i;
    for (i = 0; i < n; i++) if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), lim = atol * mb + rtol * fabs((double)b[i]);
        double r = d / lim;
        if (!(d <= lim)) { if (!(r <= worst)) worst = r != r ? 1e30 : r; }
        else if (r > worst) worst = r;
    }
    return worst;
}

/* ------------------------------------------------------------------ generic op runner */
#define MAXIN 4
typedef struct op_case {
    const char *name;
    int nin;
    int rank[MAXIN];
    int d[MAXIN][4];
    double scale[MAXIN];   /* inputs ~ N(0, scale^2) */
    int grad[MAXIN];       /* input needs a gradient */
    int ia[4];             /* integer arguments */
    double fa[2];          /* real arguments */
    double atol, rtol;
    convrnn_tensor *(*build)(convrnn_tape *t, convrnn_tensor **in, const struct op_case *c);
} op_case;

typedef struct run_out {
    size_t n[MAXIN + 1];
    convrnn_real *v[MAXIN + 1];   /* [0] output, [1..] input gradients */
} run_out;

static int run_case(const op_case *c, convrnn_backend be, run_out *ro) {
    convrnn_tape t;
    convrnn_tensor *in[MAXIN], *y;
    convrnn_rng rng;
    int i, ok = 1;
    size_t j;
    memset(ro, 0, sizeof *ro);
    convrnn_tape_init(&t, 1);
    t.backend = be;
    convrnn_rng_seed(&rng, 77);
    for (i = 0; i < c->nin; i++) {
        size_t n = 1;
        convrnn_real *buf;
        int k;
        for (k = 0; k < c->rank[i]; k++) n *= (size_t)c->d[i][k];
        buf = (convrnn_real *)malloc(n * sizeof *buf);
        for (j = 0; j < n; j++) buf[j] = (convrnn_real)(c->scale[i] * convrnn_rng_normal(&rng));
        in[i] = convrnn_tape_input_nd(&t, c->rank[i], c->d[i], buf, c->grad[i]);
        free(buf);
    }
    y = c->build(&t, in, c);
    if (!y) { CHECKF(0, "%s: %s", c->name, t.err.msg); convrnn_tape_free(&t); return 0; }
    if (y->size == 1 && y->grad) {
        ok = convrnn_tape_backward(&t, y) == CONVRNN_OK;
    } else {
        if (y->grad) for (j = 0; j < y->size; j++) y->grad[j] = (convrnn_real)convrnn_rng_normal(&rng);
        ok = convrnn_tape_backward_seeded(&t) == CONVRNN_OK;
    }
    CHECKF(ok, "%s: backward: %s", c->name, t.err.msg);
    ro->n[0] = y->size;
    ro->v[0] = (convrnn_real *)malloc(y->size * sizeof(convrnn_real));
    memcpy(ro->v[0], y->data, y->size * sizeof(convrnn_real));
    for (i = 0; i < c->nin; i++) {
        if (!in[i]->grad) continue;
        ro->n[i + 1] = in[i]->size;
        ro->v[i + 1] = (convrnn_real *)malloc(in[i]->size * sizeof(convrnn_real));
        memcpy(ro->v[i + 1], in[i]->grad, in[i]->size * sizeof(convrnn_real));
    }
    convrnn_tape_free(&t);
    return ok;
}
static void run_free(run_out *r) {
    int i;
    for (i = 0; i <= MAXIN; i++) free(r->v[i]);
}

static double g_worst = 0;

/* threads_too: 1 compares 1 and 2 threads bitwise, 2 also 3 threads */
static void check_case(const op_case *c, int threads_too) {
    run_out s, v, v1, v2;
    int i, t;
    run_case(c, CONVRNN_BACKEND_SCALAR, &s);
    run_case(c, CONVRNN_BACKEND_AUTO, &v);
    for (i = 0; i <= c->nin; i++) {
        double r;
        if (!s.v[i] && !v.v[i]) continue;
        CHECKF(s.v[i] && v.v[i] && s.n[i] == v.n[i], "%s: tensor %d missing or resized", c->name, i);
        if (!s.v[i] || !v.v[i] || s.n[i] != v.n[i]) continue;
        r = close_ratio(v.v[i], s.v[i], s.n[i], c->atol, c->rtol);
        if (r > g_worst) g_worst = r;
        CHECKF(r <= 1, "%s: %s differs from the scalar kernel (error/tolerance %.3g)", c->name,
               i == 0 ? "output" : "input gradient", r);
    }
    if (threads_too) {
        set_threads(1);
        run_case(c, CONVRNN_BACKEND_AUTO, &v1);
        for (t = 2; t <= (threads_too > 1 ? 3 : 2); t++) {
            set_threads(t);
            run_case(c, CONVRNN_BACKEND_AUTO, &v2);
            for (i = 0; i <= c->nin; i++) {
                if (!v1.v[i]) continue;
                CHECKF(v2.v[i] && v1.n[i] == v2.n[i] && !memcmp(v1.v[i], v2.v[i], v1.n[i] * sizeof(convrnn_real)),
                       "%s: tensor %d differs between 1 and %d threads", c->name, i, t);
            }
            run_free(&v2);
        }
        run_free(&v1);
#ifdef _OPENMP
        set_threads(omp_get_num_procs());
#endif
    }
    run_free(&s);
    run_free(&v);
}

/* ------------------------------------------------------------------ builders */
static convrnn_tensor *b_conv(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_conv2d(t, in[0], in[1], c->nin > 2 ? in[2] : NULL, c->ia[0], (convrnn_padding)c->ia[1]);
}
static convrnn_tensor *b_dw(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_depthwise_conv2d(t, in[0], in[1], c->nin > 2 ? in[2] : NULL, c->ia[0], (convrnn_padding)c->ia[1]);
}
static convrnn_tensor *b_sep(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_separable_conv2d(t, in[0], in[1], in[2], in[3], c->ia[0], (convrnn_padding)c->ia[1]);
}
static convrnn_tensor *b_dense(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_dense(t, in[0], in[1], c->nin > 2 ? in[2] : NULL);
}
static convrnn_tensor *b_bias(convrnn_tape *t, convrnn_tensor **in, const op_case *c) { (void)c; return convrnn_bias_add(t, in[0], in[1]); }
static convrnn_tensor *b_act(convrnn_tape *t, convrnn_tensor **in, const op_case *c) { return convrnn_activate(t, in[0], (convrnn_act)c->ia[0]); }
static convrnn_tensor *b_pool(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_maxpool(t, in[0], c->ia[0], c->ia[1], (convrnn_padding)c->ia[2]);
}
static convrnn_tensor *b_gap(convrnn_tape *t, convrnn_tensor **in, const op_case *c) { (void)c; return convrnn_global_avgpool(t, in[0]); }
static convrnn_tensor *b_resize(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_resize_bilinear(t, in[0], c->ia[0], c->ia[1]);
}
static convrnn_tensor *b_concat(convrnn_tape *t, convrnn_tensor **in, const op_case *c) { return convrnn_concat(t, in, c->nin); }
static convrnn_tensor *b_slice(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_slice_channels(t, in[0], c->ia[0], c->ia[1]);
}
static convrnn_tensor *b_ln(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    (void)c;
    return convrnn_layer_norm(t, in[0], in[1], in[2], 1e-12);
}
static convrnn_tensor *b_bin(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    switch (c->ia[0]) {
    case 0: return convrnn_add(t, in[0], in[1]);
    case 1: return convrnn_sub(t, in[0], in[1]);
    default: return convrnn_mul(t, in[0], in[1]);
    }
}
static convrnn_tensor *b_affine(convrnn_tape *t, convrnn_tensor **in, const op_case *c) { return convrnn_affine(t, in[0], c->fa[0], c->fa[1]); }
static convrnn_tensor *b_resadd(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    return convrnn_residual_add(t, in[0], in[1], c->nin > 2 ? in[2] : NULL);
}
static convrnn_tensor *b_xent(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    int lab[64], i;
    (void)c;
    for (i = 0; i < in[0]->d[0] && i < 64; i++) lab[i] = (i * 7) % (int)(in[0]->size / (size_t)in[0]->d[0]);
    return convrnn_softmax_xent(t, in[0], lab);
}
/* a small network: conv -> elu -> maxpool -> conv -> tanh -> gap -> dense (end-to-end) */
static convrnn_tensor *b_net(convrnn_tape *t, convrnn_tensor **in, const op_case *c) {
    convrnn_tensor *h;
    (void)c;
    h = convrnn_activate(t, convrnn_conv2d(t, in[0], in[1], NULL, 1, CONVRNN_SAME), CONVRNN_ACT_ELU);
    h = convrnn_maxpool(t, h, 2, 2, CONVRNN_SAME);
    h = convrnn_activate(t, convrnn_conv2d(t, h, in[2], NULL, 1, CONVRNN_SAME), CONVRNN_ACT_TANH);
    return convrnn_dense(t, convrnn_global_avgpool(t, h), in[3], NULL);
}

#define IN4(N, H, W, C) 4, N, H, W, C
static op_case mk(const char *name, convrnn_tensor *(*build)(convrnn_tape *, convrnn_tensor **, const op_case *),
                  double atol, double rtol) {
    op_case c;
    memset(&c, 0, sizeof c);
    c.name = name; c.build = build; c.atol = atol; c.rtol = rtol;
    return c;
}
static void add_in(op_case *c, int rank, int d0, int d1, int d2, int d3, double scale, int grad) {
    int i = c->nin++;
    c->rank[i] = rank;
    c->d[i][0] = d0; c->d[i][1] = d1; c->d[i][2] = d2; c->d[i][3] = d3;
    c->scale[i] = scale; c->grad[i] = grad;
}

/* ------------------------------------------------------------------ op groups */
static void test_conv(void) {
    /* N, H, W, Ci, Co, k, stride, pad, bias, threads (1: 1 vs 2 bitwise, 2: also 3) */
    static const int cs[][10] = {
        { 2, 9, 9, 5, 7, 3, 1, 0, 1, 0 },     /* odd channel counts (vector tails) */
        { 2, 8, 8, 16, 32, 3, 1, 0, 1, 0 },
        { 2, 11, 10, 3, 20, 7, 2, 0, 1, 0 },  /* conv1-like: 3 channels, 7x7 stride 2 */
        { 1, 7, 7, 24, 40, 2, 1, 0, 1, 0 },   /* even kernel, SAME (extra pad after) */
        { 2, 9, 9, 17, 33, 4, 2, 1, 0, 0 },   /* VALID, stride 2 */
        { 3, 5, 5, 64, 48, 1, 1, 0, 0, 0 },   /* 1x1 */
        { 2, 4, 4, 32, 50, 2, 1, 1, 1, 0 },   /* imnetds-like VALID 2x2 */
        { 1, 13, 11, 8, 12, 5, 3, 0, 1, 0 },  /* stride 3 */
        { 2, 12, 12, 1, 16, 3, 1, 0, 1, 0 },  /* one input channel */
        { 4, 64, 64, 3, 16, 3, 1, 0, 1, 1 },  /* 16384 pixels, small filter: weight gradient in pixel splits */
        { 2, 16, 16, 32, 32, 3, 1, 0, 1, 1 }, /* big enough for the threads */
        { 4, 7, 7, 64, 96, 3, 1, 0, 1, 1 },     /* on two threads dx and dw run concurrently, one thread each */
        { 2, 20, 20, 3, 24, 7, 2, 0, 1, 1 },
        { 8, 4, 4, 128, 130, 3, 1, 0, 1, 1 }, /* laptop-sized cell conv, column tail */
        /* batches that do not split evenly over the threads (shared padded copy, dynamic tasks) */
        { 3, 9, 9, 16, 24, 3, 1, 0, 1, 1 },
        { 1, 30, 30, 8, 16, 3, 1, 0, 1, 1 },
        { 3, 16, 16, 32, 32, 3, 1, 0, 1, 1 },   /* Winograd */
        { 8, 16, 16, 8, 16, 3, 1, 0, 1, 1 },    /* weight gradient: 8 ranges of whole samples */
        { 4, 28, 28, 1, 8, 3, 1, 0, 1, 1 },     /* 8 output channels: pixels in the lanes */
        { 3, 11, 13, 6, 4, 5, 1, 0, 1, 1 },     /* the same with a 5x5 kernel, odd sizes */
        { 2, 10, 9, 3, 2, 3, 1, 0, 1, 0 },      /* 2 and 3 destination channels (tiles of more rows) */
        { 1, 20, 18, 4, 3, 3, 1, 1, 1, 0 },     /* VALID: the source row is longer than the vectors */
        /* narrow destinations from whole vectors of source channels: channel dot products (a
           group of pixels per vector of sums); 3, 5 and 6 destination channels (lanes left over),
           VALID, an even kernel with SAME's padding after, 2 source vectors, threads */
        { 2, 9, 9, 3, 32, 3, 1, 0, 1, 1 },
        { 2, 10, 9, 16, 5, 3, 1, 1, 1, 1 },
        { 1, 7, 7, 16, 6, 2, 1, 0, 1, 0 },
        { 2, 9, 8, 12, 2, 3, 1, 1, 1, 1 },
        { 2, 11, 11, 7, 32, 3, 1, 0, 0, 1 },
        /* one vector of outputs, 16 or 32 input channels: weight-gradient tiles of a tap's channels */
        { 2, 7, 7, 16, 16, 3, 1, 0, 1, 1 },
        { 3, 7, 7, 32, 16, 3, 1, 0, 1, 0 },
        /* the same with pixel ranges (AVX-512: the transposed weight gradient), stride 2, 8 outputs */
        { 4, 12, 12, 16, 16, 3, 1, 0, 1, 1 },
        { 4, 24, 23, 32, 16, 3, 2, 0, 1, 1 },
        { 3, 28, 28, 16, 8, 3, 1, 0, 1, 1 },
        { 4, 12, 12, 16, 32, 3, 1, 0, 1, 1 },   /* 32 outputs: four rows of 8 */
        /* kernel rows of 8k channels that are not whole vectors: filter rows loaded in halves */
        { 4, 24, 24, 8, 8, 5, 2, 0, 1, 1 },
        { 3, 20, 20, 24, 16, 3, 1, 1, 1, 1 },
        { 1, 18, 18, 64, 16, 17, 1, 0, 1, 0 },  /* 17x17: the padded kernel, 289 taps in several calls */
        /* strided input gradients: a GEMM and runs added to dx (col), or with more than 2 MB of
           weights, stride-1 ones, one per phase of the input grid */
        { 2, 9, 8, 16, 24, 1, 2, 0, 1, 0 },     /* col, 1x1 stride 2: three of four input pixels get none */
        { 1, 13, 14, 5, 9, 3, 4, 0, 1, 0 },     /* col, stride 4 > kernel 3 */
        { 3, 45, 47, 2, 20, 6, 3, 1, 1, 2 },    /* col, VALID, even kernel; 3 samples over 2 (bands of
                                                   rows) and 3 threads (samples) */
        { 1, 40, 45, 3, 16, 7, 2, 0, 0, 2 },    /* col, one sample: 4 and 6 bands of rows */
        { 1, 7, 6, 256, 260, 3, 2, 0, 1, 0 },   /* phases (2.4 MB of packed weights) */
        { 1, 6, 7, 300, 230, 4, 3, 1, 0, 0 },   /* phases, VALID, stride 3 */
        /* a narrow stride-1 input gradient whose planar copy exceeds 4 MB: one sample at a time per
           thread */
        { 2, 112, 112, 3, 64, 3, 1, 0, 1, 1 },
        /* the same in a forward (4 outputs) on 2 threads, which claim the samples in turn: each
           thread zeroes its slot's borders on its first sample, whichever that is */
        { 2, 64, 64, 128, 4, 3, 1, 0, 1, 1 },
        /* weight gradient, many input channels: a readout (one pixel chunk, wide tiles on AVX-512,
           a last panel of 8 columns) and a 1x1 with channel tails on both sides */
        { 3, 4, 4, 96, 200, 2, 1, 1, 1, 1 },
        { 2, 4, 4, 256, 300, 2, 1, 1, 1, 1 },   /* weights > 1 MB: forward and bwd-data by panel */
        { 2, 4, 4, 600, 520, 2, 1, 1, 1, 1 },   /* panels of 600 and 520 KB (2400 and 2080 deep): wide
                                                   where glibc reports an L2 of 2 MB or more, else narrow */
        { 2, 6, 6, 130, 70, 1, 1, 0, 1, 1 },
        /* 3x3 stride 1 with >= 32 channels on >= 196-pixel maps runs Winograd F(4x4,3x3) in the
           forward and backward-data and F(2x2,3x3) in the weight gradient (all three F(2x2,3x3) with
           CONVRNN_NO_WINO4): odd sizes (partial tiles), VALID, channel tails, threads */
        { 1, 18, 16, 32, 40, 3, 1, 1, 1, 0 },
        { 1, 15, 15, 33, 35, 3, 1, 0, 1, 0 },
        { 1, 14, 14, 48, 32, 3, 1, 0, 0, 0 },
        { 2, 14, 14, 256, 64, 3, 1, 0, 1, 1 },
        { 2, 28, 28, 64, 96, 3, 1, 0, 1, 1 },
        { 2, 7, 7, 128, 256, 3, 1, 0, 1, 2 },   /* Winograd weight gradient on a small map; and 3 threads,
                                                   whose shares of its 32 tasks meet inside a position */
        { 4, 4, 4, 64, 64, 3, 1, 0, 1, 2 },      /* Winograd weight gradient of a 4x4 map (every tile on the border) */
        /* with >= 32 channels on maps under 196 pixels the three run Winograd F(4x4,3x3) (the
           F(2x2,3x3) weight gradient of the two above too): several blocks of tiles and a last panel
           of 8 columns; VALID; odd sizes
           (partial tiles) and channel tails; source channels in blocks of 128 and 32 */
        { 20, 7, 7, 32, 40, 3, 1, 0, 1, 2 },
        { 3, 9, 9, 40, 36, 3, 1, 1, 1, 1 },
        { 2, 5, 7, 33, 34, 3, 1, 0, 0, 1 },
        { 2, 6, 6, 160, 48, 3, 1, 1, 1, 1 },
        { 17, 7, 7, 32, 256, 3, 1, 0, 1, 1 },   /* 64 + 4 tiles: blocks of 34 on 2 threads, 64 and 4 on one */
        { 70, 7, 7, 32, 33, 3, 1, 0, 1, 1 },    /* weight gradient in groups of 64 and 6 samples (256 tiles) */
        /* 7x7 and 8x8 stride 2 from at most 4 channels with 16+ outputs run the polyphase Winograd
           F(3x3, 4x4) (forward, input gradient and weight gradient): 1-4 channels, VALID, odd sizes (partial tiles),
           two column panels with a tail, two blocks of tiles in a row (125 output columns), 16
           ranges of tile rows (4 samples x 7), threads */
        { 2, 17, 19, 1, 16, 7, 2, 0, 1, 1 },
        { 2, 18, 16, 2, 33, 8, 2, 0, 1, 1 },
        { 1, 21, 23, 4, 70, 8, 2, 1, 1, 2 },
        { 3, 16, 15, 3, 40, 7, 2, 1, 0, 1 },
        { 1, 9, 250, 3, 17, 7, 2, 0, 1, 2 },
        { 4, 40, 40, 3, 64, 7, 2, 0, 1, 2 },
        { 1, 7, 7, 3, 16, 7, 2, 0, 1, 0 },      /* one tile (a 4x4 output) */
        /* 2x2 stride 1 with 64+ channels on both sides and few tiles run Winograd F(3x3, 2x2)
           (forward and input gradient; the readouts above too): partial tiles (SAME, odd sizes),
           patches sharing rows and columns in the input gradient, several blocks of source
           channels with a tail, column panels with a tail, threads */
        { 2, 8, 8, 64, 64, 2, 1, 0, 1, 1 },
        { 3, 5, 7, 70, 130, 2, 1, 1, 1, 2 },
        { 2, 4, 4, 200, 65, 2, 1, 1, 0, 1 },
        { 1, 13, 10, 64, 96, 2, 1, 0, 1, 1 },
    };
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        const int *q = cs[i];
        char *name = (char *)malloc(96);
        op_case c = mk(name, b_conv, runs_w4(q[5], q[6], q[3], q[4]) || runs_pw(q[5], q[6], q[3], q[4]) ? ATOL_W4 : ATOL_RED, RTOL_RED);
        snprintf(name, 96, "conv2d n%d %dx%d %d->%d k%d s%d %s%s", q[0], q[1], q[2], q[3], q[4], q[5], q[6],
                 q[7] ? "valid" : "same", q[8] ? " bias" : "");
        add_in(&c, IN4(q[0], q[1], q[2], q[3]), 1.0, 1);
        add_in(&c, IN4(q[5], q[5], q[3], q[4]), 1.0 / sqrt((double)q[5] * q[5] * q[3]), 1);
        if (q[8]) add_in(&c, 1, q[4], 1, 1, 1, 0.5, 1);
        c.ia[0] = q[6]; c.ia[1] = q[7];
        check_case(&c, q[9]);
        free(name);
    }
    {   /* input without gradient (first layer): weights and bias only */
        op_case c = mk("conv2d without input gradient", b_conv, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(2, 10, 10, 3), 1.0, 0);
        add_in(&c, IN4(3, 3, 3, 16), 0.3, 1);
        add_in(&c, 1, 16, 1, 1, 1, 0.5, 1);
        c.ia[0] = 1; c.ia[1] = CONVRNN_SAME;
        check_case(&c, 0);
    }
}

static void test_depthwise_dense(void) {
    static const int ds[][8] = {
        /* N, H, W, C, k, stride, pad, bias */
        { 2, 9, 9, 13, 3, 1, 0, 1 }, { 2, 8, 8, 32, 7, 1, 0, 0 }, { 2, 10, 10, 20, 3, 2, 0, 1 },
        { 1, 6, 6, 16, 2, 1, 1, 1 }, { 4, 16, 16, 64, 7, 1, 0, 1 },
    };
    size_t i;
    for (i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        const int *q = ds[i];
        char name[96];
        op_case c = mk(name, b_dw, ATOL_RED, RTOL_RED);
        snprintf(name, sizeof name, "depthwise n%d %dx%d c%d k%d s%d", q[0], q[1], q[2], q[3], q[4], q[5]);
        add_in(&c, IN4(q[0], q[1], q[2], q[3]), 1.0, 1);
        add_in(&c, IN4(q[4], q[4], q[3], 1), 0.3, 1);
        if (q[7]) add_in(&c, 1, q[3], 1, 1, 1, 0.5, 1);
        c.ia[0] = q[5]; c.ia[1] = q[6];
        check_case(&c, i == 4);
    }
    {
        op_case c = mk("separable 16->24 k3", b_sep, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(2, 8, 8, 16), 1.0, 1);
        add_in(&c, IN4(3, 3, 16, 1), 0.3, 1);
        add_in(&c, IN4(1, 1, 16, 24), 0.25, 1);
        add_in(&c, 1, 24, 1, 1, 1, 0.5, 1);
        c.ia[0] = 1; c.ia[1] = CONVRNN_SAME;
        check_case(&c, 0);
    }
    {
        op_case c = mk("dense 63->10", b_dense, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(5, 3, 3, 7), 1.0, 1);
        add_in(&c, 2, 63, 10, 1, 1, 0.15, 1);
        add_in(&c, 1, 10, 1, 1, 1, 0.5, 1);
        check_case(&c, 0);
    }
    {
        op_case c = mk("dense 512->250 batch 64", b_dense, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(64, 1, 1, 512), 1.0, 1);
        add_in(&c, 2, 512, 250, 1, 1, 0.05, 1);
        add_in(&c, 1, 250, 1, 1, 1, 0.5, 1);
        check_case(&c, 1);
    }
}

static void test_elementwise(void) {
    static const char *an[] = { "identity", "elu", "relu", "sigmoid", "tanh" };
    int a, op;
    char name[96];
    for (a = 0; a < CONVRNN_ACT_COUNT; a++) {
        op_case c = mk(name, b_act, ATOL_EW, RTOL_EW);
        snprintf(name, sizeof name, "activate %s", an[a]);
        add_in(&c, IN4(4, 9, 9, 37), 3.0, 1);   /* wide range: both branches of every polynomial */
        c.ia[0] = a;
        check_case(&c, 0);
        snprintf(name, sizeof name, "activate %s large", an[a]);
        c.nin = 0;
        add_in(&c, IN4(8, 32, 32, 64), 3.0, 1);
        check_case(&c, 1);
    }
    {
        op_case c = mk("bias_add", b_bias, ATOL_EW, RTOL_EW);
        add_in(&c, IN4(3, 5, 5, 19), 1.0, 1);
        add_in(&c, 1, 19, 1, 1, 1, 1.0, 1);
        check_case(&c, 0);
    }
    for (op = 0; op < 3; op++) {
        static const char *on[] = { "add", "sub", "mul" };
        op_case c = mk(name, b_bin, ATOL_EW, RTOL_EW);
        snprintf(name, sizeof name, "%s same shape", on[op]);
        add_in(&c, IN4(3, 6, 6, 21), 1.0, 1);
        add_in(&c, IN4(3, 6, 6, 21), 1.0, 1);
        c.ia[0] = op;
        check_case(&c, 0);
        snprintf(name, sizeof name, "%s per-sample broadcast", on[op]);
        c.nin = 0;
        add_in(&c, IN4(3, 6, 6, 21), 1.0, 1);
        add_in(&c, 3, 6, 6, 21, 1, 1.0, 1);
        c.atol = ATOL_RED; c.rtol = RTOL_RED;
        check_case(&c, 0);
        snprintf(name, sizeof name, "%s scalar broadcast", on[op]);
        c.nin = 0;
        add_in(&c, IN4(3, 6, 6, 21), 1.0, 1);
        add_in(&c, 1, 1, 1, 1, 1, 1.0, 1);
        check_case(&c, 0);
        snprintf(name, sizeof name, "%s large", on[op]);
        c.nin = 0;
        add_in(&c, IN4(8, 32, 32, 64), 1.0, 1);
        add_in(&c, IN4(8, 32, 32, 64), 1.0, 1);
        c.atol = ATOL_EW; c.rtol = RTOL_EW;
        check_case(&c, 1);
    }
    {
        op_case c = mk("affine", b_affine, ATOL_EW, RTOL_EW);
        add_in(&c, IN4(3, 7, 7, 11), 1.0, 1);
        c.fa[0] = -0.7; c.fa[1] = 0.3;
        check_case(&c, 0);
    }
    {
        op_case c = mk("concat of 3", b_concat, ATOL_EW, RTOL_EW);
        add_in(&c, IN4(2, 5, 5, 3), 1.0, 1);
        add_in(&c, IN4(2, 5, 5, 16), 1.0, 1);
        add_in(&c, IN4(2, 5, 5, 9), 1.0, 1);
        check_case(&c, 0);
    }
    {
        op_case c = mk("slice_channels", b_slice, ATOL_EW, RTOL_EW);
        add_in(&c, IN4(2, 5, 5, 40), 1.0, 1);
        c.ia[0] = 7; c.ia[1] = 21;
        check_case(&c, 0);
    }
}

static void test_pool_norm(void) {
    static const int ps[][7] = {
        /* N, H, W, C, k, stride, pad */
        { 2, 9, 9, 13, 2, 2, 0 }, { 2, 9, 8, 16, 3, 2, 0 }, { 1, 7, 7, 5, 3, 1, 1 }, { 4, 28, 28, 32, 2, 2, 0 },
    };
    size_t i;
    char name[96];
    for (i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        const int *q = ps[i];
        op_case c = mk(name, b_pool, ATOL_RED, RTOL_RED);
        snprintf(name, sizeof name, "maxpool n%d %dx%d c%d k%d s%d %s", q[0], q[1], q[2], q[3], q[4], q[5], q[6] ? "valid" : "same");
        add_in(&c, IN4(q[0], q[1], q[2], q[3]), 1.0, 1);
        c.ia[0] = q[4]; c.ia[1] = q[5]; c.ia[2] = q[6];
        check_case(&c, i == 3);
    }
    {
        op_case c = mk("global_avgpool", b_gap, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(3, 7, 6, 21), 1.0, 1);
        check_case(&c, 0);
    }
    {
        static const int rs[][6] = { { 2, 4, 4, 19, 7, 7 }, { 2, 9, 7, 16, 4, 5 }, { 1, 1, 1, 8, 3, 3 }, { 4, 14, 14, 32, 28, 28 } };
        for (i = 0; i < sizeof rs / sizeof rs[0]; i++) {
            const int *q = rs[i];
            op_case c = mk(name, b_resize, ATOL_RED, RTOL_RED);
            snprintf(name, sizeof name, "resize %dx%d -> %dx%d c%d", q[1], q[2], q[4], q[5], q[3]);
            add_in(&c, IN4(q[0], q[1], q[2], q[3]), 1.0, 1);
            c.ia[0] = q[4]; c.ia[1] = q[5];
            check_case(&c, i == 3);
        }
    }
    {
        op_case c = mk("layer_norm", b_ln, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(3, 5, 5, 12), 2.0, 1);
        add_in(&c, 1, 12, 1, 1, 1, 1.0, 1);
        add_in(&c, 1, 12, 1, 1, 1, 1.0, 1);
        check_case(&c, 0);
    }
    {
        op_case c = mk("residual_add with projection", b_resadd, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(2, 6, 6, 16), 1.0, 1);
        add_in(&c, IN4(2, 9, 9, 8), 1.0, 1);
        add_in(&c, IN4(1, 1, 8, 16), 0.3, 1);
        check_case(&c, 0);
    }
    {
        op_case c = mk("softmax_xent", b_xent, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(16, 1, 1, 10), 2.0, 1);
        check_case(&c, 0);
    }
    {
        op_case c = mk("small network", b_net, ATOL_RED, RTOL_RED);
        add_in(&c, IN4(4, 12, 12, 3), 1.0, 1);
        add_in(&c, IN4(3, 3, 3, 16), 0.3, 1);
        add_in(&c, IN4(3, 3, 16, 24), 0.1, 1);
        add_in(&c, 2, 24, 10, 1, 1, 0.2, 1);
        check_case(&c, 1);
    }
}

/* ------------------------------------------------------------------ cells (BPTT over T steps) */
typedef struct cell_out { size_t nout, ngrad, ngin; convrnn_real *out, *grads, *gin; } cell_out;

static void cell_run(const convrnn_cell *cell, convrnn_params *ps, int T, int N, convrnn_backend be, cell_out *res) {
    convrnn_tape t;
    convrnn_tensor *state[2] = { NULL, NULL }, *ins[3 * 8], *losses[8], *loss;
    convrnn_rng rng;
    convrnn_real *buf, *wbuf;
    size_t nx = (size_t)N * cell->h * cell->w, i, o;
    int s, k, nin = 0;
    convrnn_rng_seed(&rng, 99);
    buf = (convrnn_real *)malloc(nx * 128 * sizeof *buf);
    wbuf = (convrnn_real *)malloc(nx * (size_t)cell->out_c * sizeof *wbuf);
    convrnn_tape_init(&t, 1);
    t.backend = be;
    convrnn_params_zero_grad(ps);
    res->out = (convrnn_real *)malloc((size_t)T * nx * cell->out_c * sizeof(convrnn_real));
    res->nout = 0;
    for (s = 0; s < T; s++) {
        convrnn_tensor *u = NULL, *r = NULL, *f = NULL, *y = NULL;
        const int ch[3] = { cell->cu, cell->cr, cell->cf };
        convrnn_tensor **dst[3];
        dst[0] = &u; dst[1] = &r; dst[2] = &f;
        for (k = 0; k < 3; k++) {
            if (!ch[k]) continue;
            for (i = 0; i < nx * (size_t)ch[k]; i++) buf[i] = (convrnn_real)convrnn_rng_normal(&rng);
            *dst[k] = ins[nin++] = convrnn_tape_input(&t, N, cell->h, cell->w, ch[k], buf, 1);
        }
        convrnn_cell_step(&t, cell, ps, u, r, f, state, &y);
        for (i = 0; i < nx * (size_t)cell->out_c; i++) wbuf[i] = (convrnn_real)convrnn_rng_normal(&rng);
        losses[s] = convrnn_dot_const(&t, y, wbuf);
        if (y) { memcpy(res->out + res->nout, y->data, y->size * sizeof(convrnn_real)); res->nout += y->size; }
    }
    loss = convrnn_sum_scalars(&t, losses, T);
    CHECKF(convrnn_tape_backward(&t, loss) == CONVRNN_OK, "cell unroll: %s", t.err.msg);
    res->ngrad = ps->total;
    res->grads = (convrnn_real *)malloc((ps->total + 1) * sizeof(convrnn_real));
    memcpy(res->grads, ps->grads, ps->total * sizeof(convrnn_real));
    for (k = 0, res->ngin = 0; k < nin; k++) res->ngin += ins[k] ? ins[k]->size : 0;
    res->gin = (convrnn_real *)malloc((res->ngin + 1) * sizeof(convrnn_real));
    for (k = 0, o = 0; k < nin; k++)
        if (ins[k] && ins[k]->grad) { memcpy(res->gin + o, ins[k]->grad, ins[k]->size * sizeof(convrnn_real)); o += ins[k]->size; }
    res->ngin = o;
    convrnn_tape_free(&t);
    free(buf); free(wbuf);
}
static void cell_free(cell_out *r) { free(r->out); free(r->grads); free(r->gin); }

static void cell_case(const char *name, const convrnn_cell_config *cfg, int H, int C, int cr, int cf, int threads) {
    const int N = 3, T = 3;
    convrnn_params ps;
    convrnn_cell cell;
    cell_out s, v;
    double r;
    /* cells of 32+ input and state channels run their 3x3 convolutions in Winograd F(4x4, 3x3) */
    const double atol = runs_w4(3, 1, C, C) ? ATOL_W4 : ATOL_RED;
    int i;
    convrnn_params_init_empty(&ps);
    CHECKF(convrnn_cell_create(&cell, cfg, "simd/", H, H, C, cr, cf, &ps) == CONVRNN_OK, "%s: %s", name, ps.err.msg);
    CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK);
    CHECK(convrnn_params_init(&ps, 5) == CONVRNN_OK);
    {
        convrnn_rng rg;
        size_t j;
        convrnn_rng_seed(&rg, 8);
        for (j = 0; j < ps.total; j++) if (ps.values[j] == 0) ps.values[j] = (convrnn_real)(0.1 * convrnn_rng_normal(&rg));
    }
    cell_run(&cell, &ps, T, N, CONVRNN_BACKEND_SCALAR, &s);
    cell_run(&cell, &ps, T, N, CONVRNN_BACKEND_AUTO, &v);
    CHECKF(s.nout == v.nout && s.ngrad == v.ngrad && s.ngin == v.ngin, "%s: sizes", name);
    r = close_ratio(v.out, s.out, s.nout, atol, RTOL_RED);
    if (r > g_worst) g_worst = r;
    CHECKF(r <= 1, "%s: outputs differ from the scalar kernels (error/tolerance %.3g)", name, r);
    r = close_ratio(v.gin, s.gin, s.ngin, atol, RTOL_RED);
    if (r > g_worst) g_worst = r;
    CHECKF(r <= 1, "%s: input gradients differ (error/tolerance %.3g)", name, r);
    for (i = 0; i < ps.count; i++) {   /* per parameter, so each gets its own magnitude scale */
        r = close_ratio(v.grads + ps.info[i].offset, s.grads + ps.info[i].offset, ps.info[i].size, atol, RTOL_RED);
        if (r > g_worst) g_worst = r;
        CHECKF(r <= 1, "%s: gradient of %s differs (error/tolerance %.3g)", name, ps.info[i].name, r);
    }
    if (threads) {
        cell_out a, b;
        set_threads(1);
        cell_run(&cell, &ps, T, N, CONVRNN_BACKEND_AUTO, &a);
        set_threads(2);
        cell_run(&cell, &ps, T, N, CONVRNN_BACKEND_AUTO, &b);
        CHECKF(a.nout == b.nout && !memcmp(a.out, b.out, a.nout * sizeof(convrnn_real)), "%s: outputs differ between 1 and 2 threads", name);
        CHECKF(!memcmp(a.grads, b.grads, a.ngrad * sizeof(convrnn_real)), "%s: parameter gradients differ between 1 and 2 threads", name);
        CHECKF(a.ngin == b.ngin && !memcmp(a.gin, b.gin, a.ngin * sizeof(convrnn_real)), "%s: input gradients differ between 1 and 2 threads", name);
        cell_free(&a);
        cell_free(&b);
#ifdef _OPENMP
        set_threads(omp_get_num_procs());
#endif
    }
    cell_free(&s);
    cell_free(&v);
    convrnn_params_free(&ps);
}

static void test_cells(void) {
    convrnn_cell_config c;
    c = convrnn_cell_config_default(CONVRNN_CELL_TIMEDECAY, 16);
    cell_case("timedecay", &c, 6, 16, 0, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_SIMPLERNN, 16);
    cell_case("simplernn", &c, 6, 12, 0, 0, 0);
    c.layer_norm = 1;
    cell_case("simplernn+ln", &c, 6, 12, 0, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 16);
    cell_case("gru", &c, 7, 16, 0, 0, 0);
    c.layer_norm = 1;
    cell_case("gru+ln", &c, 7, 16, 0, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_LSTM, 12);
    c.layer_norm = 1; c.peepholes = 1; c.k = 2;
    cell_case("lstm+ln+peepholes", &c, 5, 10, 0, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_UGRNN, 16);
    cell_case("ugrnn", &c, 6, 8, 0, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_INTERSECTION, 16);
    cell_case("intersectionrnn", &c, 6, 16, 0, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_RGC, 16);
    c.rgc = convrnn_rgc_shallow_config();
    cell_case("rgc shallow", &c, 6, 16, 8, 4, 0);
    c.rgc = convrnn_rgc_median_config();
    c.rgc.cell_depth = 8; c.rgc.tau_k = c.rgc.gate_k = 3;
    c.rgc.layer_norm = 1;
    cell_case("rgc median+ln", &c, 6, 16, 12, 4, 0);
    /* laptop-sized, with the threads */
    c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 64);
    cell_case("gru 7x7x64 (threads)", &c, 7, 32, 0, 0, 1);
    c = convrnn_cell_config_default(CONVRNN_CELL_RGC, 32);
    c.rgc = convrnn_rgc_shallow_config();
    cell_case("rgc shallow 7x7x32 (threads)", &c, 7, 32, 32, 0, 1);
}

#if defined(CONVRNN__SIMD) && (!defined(CONVRNN_NO_WINO4) || !defined(CONVRNN_NO_WINO_PHASE))
/* (for the double-precision checks below) x[0..n) = scale x standard normal draws */
static void fill_normal(convrnn_rng *rng, float *x, size_t n, double scale) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = (float)(convrnn_rng_normal(rng) * scale);
}
/* seeds rng, then x, w (scaled by ws) and dy from it, in that order */
static void fill_xwd(convrnn_rng *rng, uint64_t seed, float *x, size_t nx, float *w, size_t nw, double ws, float *dy, size_t ny) {
    convrnn_rng_seed(rng, seed);
    fill_normal(rng, x, nx, 1.0);
    fill_normal(rng, w, nw, ws);
    fill_normal(rng, dy, ny, 1.0);
}
/* each of the k results got[j] (cnt[j] values) within bound x max|exact| of ex[j]; prints the errors */
static void check_exact(const char *label, int k, const float *const *got, const double *const *ex, const size_t *cnt,
                        const char *const *what, double bound) {
    int j;
    size_t i;
    for (j = 0; j < k; j++) {
        double m = 0, e = 0;
        for (i = 0; i < cnt[j]; i++) if (fabs(ex[j][i]) > m) m = fabs(ex[j][i]);
        for (i = 0; i < cnt[j]; i++) if (fabs(got[j][i] - ex[j][i]) > e) e = fabs(got[j][i] - ex[j][i]);
        printf("simd: %s %s: max error %.2g x max|exact|\n", label, what[j], e / m);
        CHECKF(m > 0 && e <= bound * m, "%s %s: error %.3g x max|exact| (bound %g)", label, what[j], e / m, bound);
    }
}
#endif

/* Winograd F(4x4, 3x3) against a double-precision direct convolution, on BaseNet's conv5 layer
   (7x7, 256 -> 512; 2 samples): the output, the input gradient and the weight gradient each within
   ATOL_W4 x max|exact| (measured on AVX-512, 16 samples: 1.1e-5, 1.3e-5, 3e-6; the direct float
   kernels: 2e-6, 5e-7, 1.2e-6) */
static void test_wino4_accuracy(void) {
#if defined(CONVRNN__SIMD) && !defined(CONVRNN_NO_WINO4)
    const int n = 2, h = 7, ci = 256, co = 512;
    const size_t nx = (size_t)n * h * h * ci, nw = (size_t)9 * ci * co, ny = (size_t)n * h * h * co;
    float *x = (float *)malloc(nx * sizeof(float)), *w = (float *)malloc(nw * sizeof(float));
    float *dy = (float *)malloc(ny * sizeof(float)), *y = (float *)malloc(ny * sizeof(float));
    float *dx = (float *)calloc(nx, sizeof(float)), *dw = (float *)calloc(nw, sizeof(float));
    double *ye = (double *)calloc(ny, sizeof(double)), *dxe = (double *)calloc(nx, sizeof(double));
    double *dwe = (double *)calloc(nw, sizeof(double));
    convrnn_tape t;
    convrnn__geom g;
    convrnn_rng rng;
    int b, oy, ox, ky, kx, c, o;
    fill_xwd(&rng, 4, x, nx, w, nw, 1.0 / 48.0, dy, ny);
    memset(&g, 0, sizeof g);
    g.n = n; g.h = g.w = g.oh = g.ow = h; g.ci = ci; g.co = co; g.kh = g.kw = 3; g.s = 1; g.pt = g.pl = 1;
    CHECK(convrnn__wino4_ok(&g, 1));
    convrnn_tape_init(&t, 1);
    convrnn__conv_fwd_any(&t, &g, x, w, NULL, y);
    convrnn__conv_bwd_any(&t, &g, x, w, dy, dx, dw, NULL);
    convrnn_tape_free(&t);
    for (b = 0; b < n; b++)   /* the exact sums, in double */
        for (oy = 0; oy < h; oy++)
            for (ox = 0; ox < h; ox++)
                for (ky = 0; ky < 3; ky++)
                    for (kx = 0; kx < 3; kx++) {
                        const int iy = oy - 1 + ky, ix = ox - 1 + kx;
                        const size_t px = ((size_t)b * h + iy) * h + ix, po = ((size_t)b * h + oy) * h + ox;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
                        for (c = 0; c < ci; c++) {
                            const float *wr = w + ((size_t)(ky * 3 + kx) * ci + c) * co;
                            const double xv = x[px * ci + c];
                            double acc = 0;
                            for (o = 0; o < co; o++) {
                                ye[po * co + o] += xv * wr[o];
                                acc += (double)wr[o] * dy[po * co + o];
                                dwe[((size_t)(ky * 3 + kx) * ci + c) * co + o] += xv * dy[po * co + o];
                            }
                            dxe[px * ci + c] += acc;
                        }
                    }
    {
        const float *got[3] = { y, dx, dw };
        const double *ex[3] = { ye, dxe, dwe };
        const size_t cnt[3] = { ny, nx, nw };
        static const char *const what[3] = { "output", "input gradient", "weight gradient" };
        check_exact("Winograd F(4x4,3x3) 7x7 256->512", 3, got, ex, cnt, what, ATOL_W4);
    }
    free(x); free(w); free(dy); free(y); free(dx); free(dw); free(ye); free(dxe); free(dwe);
#endif
}

/* The polyphase Winograd F(3x3, 4x4) (7x7 stride-2 convolutions from at most 4 channels) against
   a double-precision direct convolution on BaseNet's conv1 (3 -> 64) at 64x64, 2 samples: the
   output, the input gradient, the weight gradient and the bias gradient each within ATOL_W4 x
   max|exact| (measured on AVX-512: 1.9e-6, 2.3e-6, 2.5e-6, 1.1e-7; the direct float kernels on
   the same data: 5.6e-7, -, 3.9e-7, 2.7e-7) */
static void test_pw_accuracy(void) {
#if defined(CONVRNN__SIMD) && !defined(CONVRNN_NO_WINO_PHASE)
    const int n = 2, h = 64, ci = 3, co = 64, k = 7, oh = 32;
    const size_t nx = (size_t)n * h * h * ci, nw = (size_t)k * k * ci * co, ny = (size_t)n * oh * oh * co;
    float *x = (float *)malloc(nx * sizeof(float)), *w = (float *)malloc(nw * sizeof(float));
    float *dy = (float *)malloc(ny * sizeof(float)), *y = (float *)malloc(ny * sizeof(float));
    float *dw = (float *)calloc(nw, sizeof(float)), *db = (float *)calloc((size_t)co, sizeof(float));
    float *bias = (float *)malloc((size_t)co * sizeof(float)), *dx = (float *)calloc(nx, sizeof(float));
    double *ye = (double *)calloc(ny, sizeof(double)), *dwe = (double *)calloc(nw, sizeof(double));
    double *dxe = (double *)calloc(nx, sizeof(double));
    double *dbe = (double *)calloc((size_t)co, sizeof(double));
    convrnn_tape t;
    convrnn__geom g;
    convrnn_rng rng;
    size_t i;
    int b, oy, ox, ky, kx, c, o;
    fill_xwd(&rng, 5, x, nx, w, nw, 1.0 / 12.0, dy, ny);
    fill_normal(&rng, bias, (size_t)co, 1.0);
    memset(&g, 0, sizeof g);
    g.n = n; g.h = g.w = h; g.oh = g.ow = oh; g.ci = ci; g.co = co; g.kh = g.kw = k; g.s = 2;
    g.pt = g.pl = 2;   /* SAME: pad_total = 31 * 2 + 7 - 64 = 5 */
    CHECK(convrnn__pw_ok(&g));
    convrnn_tape_init(&t, 1);
    convrnn__conv_fwd_any(&t, &g, x, w, bias, y);
    convrnn__conv_bwd_any(&t, &g, x, w, dy, dx, dw, db);
    convrnn_tape_free(&t);
    for (i = 0; i < ny; i++) ye[i] = bias[i % co];
    for (b = 0; b < n; b++)   /* the exact sums, in double */
        for (oy = 0; oy < oh; oy++)
            for (ox = 0; ox < oh; ox++) {
                const size_t po = ((size_t)b * oh + oy) * oh + ox;
                for (o = 0; o < co; o++) dbe[o] += dy[po * co + o];
                for (ky = 0; ky < k; ky++)
                    for (kx = 0; kx < k; kx++) {
                        const int iy = 2 * oy - 2 + ky, ix = 2 * ox - 2 + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= h) continue;
                        for (c = 0; c < ci; c++) {
                            const float *wr = w + ((size_t)(ky * k + kx) * ci + c) * co;
                            const size_t px = (((size_t)b * h + iy) * h + ix) * ci + c;
                            const double xv = x[px];
                            double acc = 0;
                            for (o = 0; o < co; o++) {
                                ye[po * co + o] += xv * wr[o];
                                acc += (double)wr[o] * dy[po * co + o];
                                dwe[((size_t)(ky * k + kx) * ci + c) * co + o] += xv * dy[po * co + o];
                            }
                            dxe[px] += acc;
                        }
                    }
            }
    {
        const float *got[4] = { y, dx, dw, db };
        const double *ex[4] = { ye, dxe, dwe, dbe };
        const size_t cnt[4] = { ny, nx, nw, (size_t)co };
        static const char *const what[4] = { "output", "input gradient", "weight gradient", "bias gradient" };
        check_exact("polyphase Winograd F(3x3,4x4) 64x64 3->64 7x7/2", 4, got, ex, cnt, what, ATOL_W4);
    }
    free(x); free(w); free(dy); free(y); free(dx); free(dw); free(db); free(bias); free(ye); free(dxe); free(dwe); free(dbe);
#endif
}

/* Max pooling with many ties and some NaNs: the SIMD kernels (2x2 windows take a pairwise tree)
   must pick the same winner as the scalar left-to-right scan: NaN in the same places, the same
   values, and the input gradient routed to the same elements (bitwise). */
static void test_pool_ties(void) {
    static const int ps[][6] = {   /* H, W, C, k, stride, pad */
        { 8, 8, 8, 2, 2, 0 }, { 9, 7, 16, 2, 2, 0 }, { 7, 9, 5, 2, 2, 1 }, { 9, 9, 24, 3, 2, 0 }, { 6, 6, 8, 2, 1, 0 },
    };
    size_t i, j;
    for (i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        const int *q = ps[i];
        convrnn_tape t[2];
        convrnn_tensor *x[2], *y[2];
        int b, same = 1, nan_same = 1;
        for (b = 0; b < 2; b++) {
            convrnn_real *g;
            convrnn_tape_init(&t[b], 1);
            t[b].backend = b ? CONVRNN_BACKEND_SCALAR : CONVRNN_BACKEND_AUTO;
            x[b] = convrnn_tape_zeros(&t[b], 2, q[0], q[1], q[2], 1);
            for (j = 0; x[b] && j < x[b]->size; j++)   /* four levels: ties everywhere; every 37th a NaN */
                x[b]->data[j] = j % 37 == 5 ? (convrnn_real)NAN : (convrnn_real)((j * 2654435761u >> 7) % 4);
            y[b] = convrnn_maxpool(&t[b], x[b], q[3], q[4], (convrnn_padding)q[5]);
            g = y[b] ? convrnn_tape_grad(&t[b], y[b]) : NULL;
            for (j = 0; g && j < y[b]->size; j++) g[j] = (convrnn_real)(1 + j % 5);
            CHECKF(g && convrnn_tape_backward_seeded(&t[b]) == CONVRNN_OK, "pool ties %zu: %s", i, t[b].err.msg);
        }
        if (y[0] && y[1]) {
            for (j = 0; j < y[0]->size; j++) {
                const int n0 = y[0]->data[j] != y[0]->data[j], n1 = y[1]->data[j] != y[1]->data[j];
                if (n0 != n1) nan_same = 0;
                else if (!n0 && y[0]->data[j] != y[1]->data[j]) same = 0;
            }
            CHECKF(nan_same && same, "maxpool ties/NaN %dx%d c%d k%d s%d: outputs differ", q[0], q[1], q[2], q[3], q[4]);
            CHECKF(!memcmp(x[0]->grad, x[1]->grad, x[0]->size * sizeof(convrnn_real)),
                   "maxpool ties/NaN %dx%d c%d k%d s%d: gradient routed to other elements", q[0], q[1], q[2], q[3], q[4]);
        }
        convrnn_tape_free(&t[0]);
        convrnn_tape_free(&t[1]);
    }
}

/* the in-register VL x VL transpose (bwd-data weight packing) against index arithmetic */
static void test_vtrans(void) {
#ifdef CONVRNN__SIMD
    float in[CONVRNN__VL * CONVRNN__VL], out[CONVRNN__VL * CONVRNN__VL];
    convrnn__vf r[CONVRNN__VL];
    int i, j, ok = 1;
    for (i = 0; i < CONVRNN__VL * CONVRNN__VL; i++) in[i] = (float)i;
    for (i = 0; i < CONVRNN__VL; i++) r[i] = convrnn__vld(in + i * CONVRNN__VL);
    convrnn__vtrans(r);
    for (i = 0; i < CONVRNN__VL; i++) convrnn__vst(out + i * CONVRNN__VL, r[i]);
    for (i = 0; i < CONVRNN__VL; i++)
        for (j = 0; j < CONVRNN__VL; j++) ok &= out[i * CONVRNN__VL + j] == in[j * CONVRNN__VL + i];
    CHECKF(ok, "vtrans: %dx%d transpose wrong", CONVRNN__VL, CONVRNN__VL);
#endif
}

int main(void) {
    printf("simd: path %s, %s\n", convrnn_simd_path(), convrnn_build_info());
#ifdef CONVRNN_TEST_REQUIRE_SIMD
    /* builds that must run SIMD kernels (CI's AVX2, native and NEON runs): a build that fell back to
       the scalar path would compare the reference kernels with themselves */
    CHECKF(strcmp(convrnn_simd_path(), "scalar") != 0, "simd: this build runs the scalar path (flags: %s)", convrnn_build_info());
#endif
    test_vtrans();
    test_conv();
    test_depthwise_dense();
    test_elementwise();
    test_pool_norm();
    test_pool_ties();
    test_cells();
    test_wino4_accuracy();
    test_pw_accuracy();
    printf("simd: largest error/tolerance ratio %.3g\n", g_worst);
    return TEST_END("simd");
}
