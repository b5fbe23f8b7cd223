/* Kernel and training-step benchmarks of convrnn.h (the C side of bench/run.sh).

     bench_convrnn peak                      AVX-512 / AVX2 / NEON FMA peak of one thread (GFLOP/s)
     bench_convrnn layers SET REPS_BIG REPS_SMALL
                                             conv layer shapes (SET: basenet | laptop | all):
                                             validate SIMD vs scalar, warm up, median of repetitions
                                             of forward and of forward+backward; BaseNet layers
                                             also print the FMA peak of all threads measured
                                             beside them (peak_near_gflops)
     bench_convrnn train MODEL T REPS        one training step (unroll, decode, softmax
                                             cross-entropy, BPTT, SGD) at batch 64: validate one step
                                             SIMD vs scalar, and the full unroll against the decoded
                                             one (bitwise), warm up, median of REPS of each: step_ms
                                             as the library trainer (convrnn_model_unroll_decoded:
                                             only the node-steps the decoder depends on, node_steps
                                             of them), full_step_ms every node at every step
     bench_convrnn mem MODEL T               peak resident memory of the first training step of a
                                             fresh process, over the RSS after the model is built
     bench_convrnn describe MODEL            the model's layers, for bench/bench_torch.py

   Threads: OMP_NUM_THREADS. Every timing line starts with "RESULT" and has the fields
   bench/run.sh parses. Built by bench/run.sh with -O3 -march=native -fopenmp. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L   /* clock_gettime under -std=c99 without OpenMP */
#endif
#define CONVRNN_IMPLEMENTATION
#include "../convrnn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
static int nthreads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
static void fill(convrnn_real *p, size_t n, uint64_t seed, double scale) {
    convrnn_rng r;
    size_t i;
    convrnn_rng_seed(&r, seed);
    for (i = 0; i < n; i++) p[i] = (convrnn_real)(scale * (2 * convrnn_rng_uniform(&r) - 1));
}
/* largest |a-b| / (atol*max(1,max|b|) + rtol*|b|) */
static double err_ratio(const convrnn_real *a, const convrnn_real *b, size_t n, double atol, double rtol) {
    double mb = 1, w = 0;
    size_t i;
    for (i = 0; i < n; i++) if (fabs(b[i]) > mb) mb = fabs(b[i]);
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), r = d / (atol * mb + rtol * fabs(b[i]));
        if (!(r <= w)) w = r;
    }
    return w;
}

/* ----------------------------------------------------------------------------- FMA peak */
/* One thread's FMA rate in GFLOP/s: the best of reps loops of n iterations of 12 independent
   vector FMAs (0 without SIMD). */
static double fma_rate(int reps, long n) {
    double best = 0;
#ifdef CONVRNN__SIMD
    convrnn__vf a[12], b = convrnn__vset1(0.999f), c = convrnn__vset1(0.001f);
    float out[CONVRNN__VL];
    double t0, t;
    long it;
    int i, rep;
    for (rep = 0; rep < reps; rep++) {
        for (i = 0; i < 12; i++) a[i] = convrnn__vset1((float)i);
        t0 = now_s();
        for (it = 0; it < n; it++) {
            CONVRNN__UNROLL for (i = 0; i < 12; i++) a[i] = convrnn__vfma(a[i], b, c);
        }
        t = now_s() - t0;
        for (i = 1; i < 12; i++) a[0] = convrnn__vadd(a[0], a[i]);
        convrnn__vst(out, a[0]);
        if (out[0] == 12345.0f) printf("#\n");   /* keep the loop */
        if (2.0 * CONVRNN__VL * 12 * n / t / 1e9 > best) best = 2.0 * CONVRNN__VL * 12 * n / t / 1e9;
    }
#else
    (void)reps; (void)n;
#endif
    return best;
}
static void cmd_peak(void) { printf("RESULT peak1 path=%s gflops=%.1f\n", convrnn_simd_path(), fma_rate(5, 20000000)); }
/* The FMA peak of all the threads at this moment (each runs the loop at once; the rates summed).
   The machine is shared: for minutes at a time the layers run slower, and a layer timed then is
   slower against the peak the run measured at its start. Measured beside a layer (before and
   after its timings, the higher of the two), it tells whether the cores were slower then too
   (on this project's machine they were not; in some spells two threads ran slower than one, as
   when a core is shared with other work). */
static double peak_now(void) {
    double sum = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(+ : sum)
#endif
    sum += fma_rate(3, 10000000);
    return sum;
}

/* ----------------------------------------------------------------------------- conv layers */
typedef struct layer { const char *name; int n, h, ci, co, k, s, valid, need_dx; } layer;
static const layer LAYERS[] = {
    /* shallow BaseNet at 224x224, batch 16 (pre_0 convolutions of conv1..conv5, imnetds) */
    { "basenet_conv1", 16, 224, 3, 64, 7, 2, 0, 0 },    /* input image: no input gradient */
    { "basenet_conv1_dx", 16, 224, 3, 64, 7, 2, 0, 1 }, /* the same with the image's gradient (saliency,
                                                           feature visualization): a strided input gradient */
    { "basenet_conv2", 16, 56, 64, 128, 3, 1, 0, 1 },
    { "basenet_conv3", 16, 28, 128, 256, 3, 1, 0, 1 },
    { "basenet_conv4", 16, 14, 256, 256, 3, 1, 0, 1 },
    { "basenet_conv5", 16, 7, 256, 512, 3, 1, 0, 1 },
    { "basenet_imnetds", 16, 4, 512, 1000, 2, 1, 1, 1 },
    /* laptop models at 28x28, batch 64 (pre convs and the GRU / RGC cell convs) */
    { "laptop_28_1_8", 64, 28, 1, 8, 3, 1, 0, 0 },      /* input image: no input gradient */
    { "laptop_14_8_16", 64, 14, 8, 16, 3, 1, 0, 1 },
    { "laptop_7_16_16", 64, 7, 16, 16, 3, 1, 0, 1 },
    { "laptop_7_32_32", 64, 7, 32, 32, 3, 1, 0, 1 },
    { "laptop_7_32_16", 64, 7, 32, 16, 3, 1, 0, 1 },
    { "laptop_4_16_32", 64, 4, 16, 32, 3, 1, 0, 1 },
    { "laptop_4_32_32", 64, 4, 32, 32, 3, 1, 0, 1 },
    { "laptop_4_64_64", 64, 4, 64, 64, 3, 1, 0, 1 },
    { "laptop_4_64_32", 64, 4, 64, 32, 3, 1, 0, 1 },
};

typedef struct conv_run { convrnn_real *y, *dx, *dw, *db; size_t ny, nx, nw; double t_fwd, t_all; } conv_run;

/* One forward (and, with bwd, backward) of layer L at batch n. The tape is reset, not freed, between
   repetitions (as in training), so its memory is reused. */
static convrnn_tape g_tape[2];
static int g_tape_init[2];
static int conv_once(const layer *L, int n, convrnn_backend be, int bwd, const convrnn_real *x, const convrnn_real *w,
                     const convrnn_real *b, conv_run *out, int keep) {
    convrnn_tape *tp = &g_tape[bwd ? 1 : 0];
    convrnn_tensor *X, *W, *B, *Y;
    int dw[4], db[1], ok;
    double t0, t1, t2, t3;
    size_t i;
    if (!g_tape_init[bwd ? 1 : 0]) { convrnn_tape_init(tp, bwd); g_tape_init[bwd ? 1 : 0] = 1; }
    convrnn_tape_reset(tp);
#define t (*tp)
    t.backend = be;
    t.lazy_grads = 1;   /* as the library trainer: an op output's gradient exists only when needed */
    dw[0] = dw[1] = L->k; dw[2] = L->ci; dw[3] = L->co; db[0] = L->co;
    X = convrnn_tape_input(&t, n, L->h, L->h, L->ci, x, bwd && L->need_dx);
    W = convrnn_tape_input_nd(&t, 4, dw, w, bwd);
    B = convrnn_tape_input_nd(&t, 1, db, b, bwd);
    if (bwd) {   /* the input gradients start zeroed before the timed region (as a parameter
                    gradient is zeroed once per training step, not per use) */
        convrnn_tape_grad(&t, W);
        convrnn_tape_grad(&t, B);
        if (L->need_dx) convrnn_tape_grad(&t, X);
    }
    t0 = now_s();
    Y = convrnn_conv2d(&t, X, W, B, L->s, L->valid ? CONVRNN_VALID : CONVRNN_SAME);
    t1 = now_s();
    t2 = t3 = t1;
    if (Y && bwd) {   /* the output gradient is made and set outside the timed region (as the peer's) */
        convrnn_real *gy = convrnn_tape_grad(&t, Y);
        if (!gy) { fprintf(stderr, "%s: %s\n", L->name, t.err.msg); return 0; }
        for (i = 0; i < Y->size; i++) gy[i] = (convrnn_real)((double)((i * 7919) % 1000) / 1000.0 - 0.5);
        t2 = now_s();
        convrnn_tape_backward_seeded(&t);
        t3 = now_s();
    }
    ok = convrnn_tape_status(&t) == CONVRNN_OK && Y != NULL;
    if (!ok) fprintf(stderr, "%s: %s\n", L->name, t.err.msg);
    out->t_fwd = t1 - t0;
    out->t_all = (t1 - t0) + (t3 - t2);
    if (ok && keep) {
        out->ny = Y->size; out->nx = X->size; out->nw = W->size;
        out->y = (convrnn_real *)malloc(Y->size * sizeof(convrnn_real));
        memcpy(out->y, Y->data, Y->size * sizeof(convrnn_real));
        out->dx = X->grad ? (convrnn_real *)malloc(X->size * sizeof(convrnn_real)) : NULL;
        if (out->dx) memcpy(out->dx, X->grad, X->size * sizeof(convrnn_real));
        out->dw = (convrnn_real *)malloc(W->size * sizeof(convrnn_real));
        memcpy(out->dw, W->grad, W->size * sizeof(convrnn_real));
        out->db = (convrnn_real *)malloc(B->size * sizeof(convrnn_real));
        memcpy(out->db, B->grad, B->size * sizeof(convrnn_real));
    }
#undef t
    return ok;
}
static void conv_free(conv_run *r) { free(r->y); free(r->dx); free(r->dw); free(r->db); }

static void cmd_layers(const char *set, int reps_big, int reps_small) {
    size_t li;
    for (li = 0; li < sizeof LAYERS / sizeof LAYERS[0]; li++) {
        const layer *L = &LAYERS[li];
        const int big = !strncmp(L->name, "basenet", 7);
        const int reps = big ? reps_big : reps_small, nval = big ? 1 : 4;
        int oh = 1, pt = 0, ow = 1, pl = 0, r;
        size_t nx, nw;
        convrnn_real *x, *w, *b;
        conv_run s, v, tmp;
        double *tf, *ta, flops, e = 0, pk0, pk1;
        if (strcmp(set, "all") && strncmp(L->name, set, strlen(set))) continue;
        convrnn_conv_out_size(L->h, L->k, L->s, L->valid ? CONVRNN_VALID : CONVRNN_SAME, &oh, &pt);
        convrnn_conv_out_size(L->h, L->k, L->s, L->valid ? CONVRNN_VALID : CONVRNN_SAME, &ow, &pl);
        nx = (size_t)L->n * L->h * L->h * L->ci;
        nw = (size_t)L->k * L->k * L->ci * L->co;
        x = (convrnn_real *)malloc(nx * sizeof *x);
        w = (convrnn_real *)malloc(nw * sizeof *w);
        b = (convrnn_real *)malloc((size_t)L->co * sizeof *b);
        fill(x, nx, 1, 1.0);
        fill(w, nw, 2, 1.0 / sqrt((double)L->k * L->k * L->ci));
        fill(b, (size_t)L->co, 3, 0.1);
        /* validation: the same geometry at a small batch, SIMD against the scalar kernels */
        memset(&s, 0, sizeof s); memset(&v, 0, sizeof v);
        if (conv_once(L, nval, CONVRNN_BACKEND_SCALAR, 1, x, w, b, &s, 1) && conv_once(L, nval, CONVRNN_BACKEND_AUTO, 1, x, w, b, &v, 1)) {
            /* tests/test_simd.c's tolerances: 3e-5 for the layers on Winograd F(4x4,3x3) (3x3
               stride 1, 32+ channels on both sides) or on the polyphase F(3x3,4x4) (7x7 or 8x8
               stride 2 from at most 4 channels to 16+), else 2e-6 */
            const int wino = (L->k == 3 && L->s == 1 && L->ci >= 32 && L->co >= 32) ||
                             ((L->k == 7 || L->k == 8) && L->s == 2 && L->ci <= 4 && L->co >= 16);
            const double at = wino ? 3e-5 : 2e-6;
            double q;
            q = err_ratio(v.y, s.y, s.ny, at, 1e-4); if (q > e) e = q;
            if (s.dx) { q = err_ratio(v.dx, s.dx, s.nx, at, 1e-4); if (q > e) e = q; }
            q = err_ratio(v.dw, s.dw, s.nw, at, 1e-4); if (q > e) e = q;
            q = err_ratio(v.db, s.db, (size_t)L->co, 2e-6, 1e-4); if (q > e) e = q;
        } else {
            e = 1e30;
        }
        conv_free(&s); conv_free(&v);
        if (!(e <= 1)) { printf("RESULT layer impl=convrnn name=%s status=INVALID err=%.3g\n", L->name, e); continue; }
        tf = (double *)malloc((size_t)reps * sizeof *tf);
        ta = (double *)malloc((size_t)reps * sizeof *ta);
        memset(&tmp, 0, sizeof tmp);
        conv_once(L, L->n, CONVRNN_BACKEND_AUTO, 0, x, w, b, &tmp, 0);   /* warm-up */
        conv_once(L, L->n, CONVRNN_BACKEND_AUTO, 1, x, w, b, &tmp, 0);
        pk0 = big ? peak_now() : 0;
        for (r = 0; r < reps; r++) {
            conv_once(L, L->n, CONVRNN_BACKEND_AUTO, 0, x, w, b, &tmp, 0);
            tf[r] = tmp.t_fwd;
        }
        for (r = 0; r < reps; r++) {
            conv_once(L, L->n, CONVRNN_BACKEND_AUTO, 1, x, w, b, &tmp, 0);
            ta[r] = tmp.t_all;
        }
        pk1 = big ? peak_now() : 0;
        flops = 2.0 * L->n * oh * ow * L->co * L->ci * L->k * L->k;
        {
            const double mf = median(tf, reps), ma = median(ta, reps);
            const double fa = flops * (L->need_dx ? 3 : 2);
            printf("RESULT layer impl=convrnn name=%s threads=%d n=%d h=%d ci=%d co=%d k=%d s=%d fwd_ms=%.3f fwdbwd_ms=%.3f "
                   "fwd_gflops=%.1f fwdbwd_gflops=%.1f reps=%d err=%.3g", L->name, nthreads(), L->n, L->h, L->ci, L->co,
                   L->k, L->s, 1e3 * mf, 1e3 * ma, flops / mf / 1e9, fa / ma / 1e9, reps, e);
            if (big) printf(" peak_near_gflops=%.1f", pk0 > pk1 ? pk0 : pk1);
            printf("\n");
            fflush(stdout);
        }
        free(tf); free(ta); free(x); free(w); free(b);
        convrnn_tape_free(&g_tape[0]); convrnn_tape_free(&g_tape[1]);
        g_tape_init[0] = g_tape_init[1] = 0;
    }
}

/* ----------------------------------------------------------------------------- training step */
typedef struct trainer {
    convrnn_model m;
    convrnn_tape t;
    convrnn_real *img;
    int lab[64], N, T;
    convrnn_tensor **outs;
    convrnn_sgd_config sgd;
} trainer;

static int trainer_init(trainer *tr, const char *model, int T) {
    convrnn_graph_spec g;
    convrnn_error e;
    int i;
    memset(tr, 0, sizeof *tr);
    tr->N = 64; tr->T = T;
    if (convrnn_zoo_spec(model, &g, &e)) { fprintf(stderr, "%s\n", e.msg); return 0; }
    if (convrnn_model_create(&tr->m, &g) || convrnn_model_init(&tr->m, 1)) { fprintf(stderr, "%s\n", tr->m.err.msg); return 0; }
    tr->img = (convrnn_real *)malloc((size_t)tr->N * g.in_h * g.in_w * g.in_c * sizeof(convrnn_real));
    fill(tr->img, (size_t)tr->N * g.in_h * g.in_w * g.in_c, 5, 1.0);
    for (i = 0; i < tr->N; i++) tr->lab[i] = i % g.n_classes;
    tr->outs = (convrnn_tensor **)malloc((size_t)T * g.n_nodes * sizeof *tr->outs);
    tr->sgd = convrnn_sgd_default();
    tr->sgd.lr = 0.01;
    convrnn_tape_init(&tr->t, 1);
    tr->t.lazy_grads = 1;   /* as the library trainer: op-output gradients live only during backward */
    return 1;
}
static void trainer_free(trainer *tr) {
    convrnn_tape_free(&tr->t);
    convrnn_model_free(&tr->m);
    free(tr->img); free(tr->outs);
}
/* forward, BPTT and (sgd) the update; returns the loss (NaN on failure). full = 0: as the library
   trainer, only the node-steps the decoder depends on (convrnn_model_unroll_decoded); 1: every
   node at every step, as the PyTorch peer */
static double train_step_u(trainer *tr, convrnn_backend be, int sgd, long step, int full) {
    const convrnn_graph_spec *g = &tr->m.spec;
    convrnn_stimulus s = convrnn_stimulus_make(tr->img, tr->N, g->in_h, g->in_w, g->in_c, tr->T, tr->T);
    convrnn_tensor *logits, *loss;
    convrnn_error e;
    double l;
    convrnn_tape_reset(&tr->t);
    tr->t.backend = be;
    convrnn_params_zero_grad(&tr->m.params);
    if ((full ? convrnn_model_unroll : convrnn_model_unroll_decoded)(&tr->m, &tr->t, &s, tr->outs)) {
        fprintf(stderr, "unroll: %s\n", tr->t.err.msg);
        return NAN;
    }
    logits = convrnn_model_decode(&tr->m, &tr->t, tr->outs, tr->T, tr->T, NULL);
    loss = convrnn_softmax_xent(&tr->t, logits, tr->lab);
    if (!loss || convrnn_tape_backward(&tr->t, loss)) { fprintf(stderr, "backward: %s\n", tr->t.err.msg); return NAN; }
    l = loss->data[0];
    if (sgd && convrnn_sgd_step(&tr->m.params, &tr->sgd, step, NULL, &e)) { fprintf(stderr, "sgd: %s\n", e.msg); return NAN; }
    return l;
}
static double train_step(trainer *tr, convrnn_backend be, int sgd, long step) { return train_step_u(tr, be, sgd, step, 0); }

static void cmd_train(const char *model, int T, int reps) {
    trainer tr;
    double ls, lv, lf, e = 0, *ts, *tf;
    convrnn_real *gs;
    int i, r, done = 0;
    if (!trainer_init(&tr, model, T)) { printf("RESULT train impl=convrnn model=%s status=FAILED\n", model); return; }
    /* validation: loss and every parameter gradient of one step, SIMD against scalar */
    ls = train_step(&tr, CONVRNN_BACKEND_SCALAR, 0, 0);
    gs = (convrnn_real *)malloc(tr.m.params.total * sizeof *gs);
    memcpy(gs, tr.m.params.grads, tr.m.params.total * sizeof *gs);
    lv = train_step(&tr, CONVRNN_BACKEND_AUTO, 0, 0);
    for (i = 0; i < tr.m.params.count; i++) {
        const convrnn_param_info *p = &tr.m.params.info[i];
        double q = err_ratio(tr.m.params.grads + p->offset, gs + p->offset, p->size, 1e-5, 1e-3);
        if (q > e) e = q;
    }
    if (!(fabs(ls - lv) <= 1e-5 * (1 + fabs(ls)))) e = 1e30;
    for (i = 0; i < T * tr.m.spec.n_nodes; i++) done += tr.outs[i] != NULL;
    /* the full unroll gives bitwise the same loss and gradients */
    memcpy(gs, tr.m.params.grads, tr.m.params.total * sizeof *gs);
    lf = train_step_u(&tr, CONVRNN_BACKEND_AUTO, 0, 0, 1);
    if (lf != lv || memcmp(gs, tr.m.params.grads, tr.m.params.total * sizeof *gs)) e = 1e30;
    free(gs);
    if (!(e <= 1)) { printf("RESULT train impl=convrnn model=%s T=%d status=INVALID err=%.3g\n", model, T, e); trainer_free(&tr); return; }
    ts = (double *)malloc((size_t)reps * sizeof *ts);
    tf = (double *)malloc((size_t)reps * sizeof *tf);
    train_step(&tr, CONVRNN_BACKEND_AUTO, 1, 0);   /* warm-up */
    for (r = 0; r < reps; r++) {   /* the two variants alternate, so both see the same machine load */
        double t0 = now_s();
        train_step(&tr, CONVRNN_BACKEND_AUTO, 1, 2 * r + 1);
        ts[r] = now_s() - t0;
        t0 = now_s();
        train_step_u(&tr, CONVRNN_BACKEND_AUTO, 1, 2 * r + 2, 1);
        tf[r] = now_s() - t0;
    }
    printf("RESULT train impl=convrnn model=%s T=%d threads=%d batch=%d step_ms=%.2f full_step_ms=%.2f node_steps=%d/%d reps=%d "
           "loss=%.6f err=%.3g tape_mb=%.1f\n", model, T, nthreads(), tr.N, 1e3 * median(ts, reps), 1e3 * median(tf, reps), done,
           T * tr.m.spec.n_nodes, reps, lv, e, (double)convrnn_tape_peak_bytes(&tr.t) / 1048576.0);
    free(ts);
    free(tf);
    trainer_free(&tr);
}

/* VmRSS / VmHWM of this process in kB (-1 if /proc is unavailable) */
static long proc_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) { v = atol(line + strlen(key) + 1); break; }
    fclose(f);
    return v;
}
static void cmd_mem(const char *model, int T) {
    trainer tr;
    long base, hwm;
    FILE *f;
    if (!trainer_init(&tr, model, T)) { printf("RESULT mem impl=convrnn model=%s status=FAILED\n", model); return; }
    f = fopen("/proc/self/clear_refs", "w");   /* "5" resets the peak RSS to the current RSS */
    if (f) { fputs("5", f); fclose(f); }
    base = proc_kb("VmRSS:");
    train_step(&tr, CONVRNN_BACKEND_AUTO, 1, 0);
    hwm = proc_kb("VmHWM:");
    printf("RESULT mem impl=convrnn model=%s T=%d threads=%d peak_mb=%.1f tape_mb=%.1f\n", model, T, nthreads(), (double)(hwm - base) / 1024.0,
           (double)convrnn_tape_peak_bytes(&tr.t) / 1048576.0);
    trainer_free(&tr);
}

static void cmd_describe(const char *model) {
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_error e;
    int v, j;
    if (convrnn_zoo_spec(model, &g, &e) || convrnn_model_create(&m, &g)) { printf("error\n"); return; }
    printf("model %s in %d %d %d classes %d\n", model, g.in_h, g.in_w, g.in_c, g.n_classes);
    for (v = 0; v < g.n_nodes; v++) {
        const convrnn_node_spec *n = &g.nodes[v];
        const convrnn_node_rt *rt = &m.rt[v];
        printf("node %s h %d w %d", n->name, rt->mem_h, rt->mem_w);
        for (j = 0; j < n->n_pre; j++) {
            const convrnn_op_spec *o = &n->pre[j];
            if (o->kind == CONVRNN_OP_CONV) printf(" conv %d %d %d %d %s", o->k, o->stride, o->out, o->bias, convrnn_act_name(o->act));
            else if (o->kind == CONVRNN_OP_GAP) printf(" gap");
            else if (o->kind == CONVRNN_OP_FC) printf(" fc %d %d %s", o->out, o->bias, convrnn_act_name(o->act));
            else printf(" op%d", (int)o->kind);
        }
        if (n->cell.type != CONVRNN_CELL_IDENTITY)
            printf(" cell %s %d cu %d cr %d cf %d k %d flavor %d", convrnn_cell_type_name(n->cell.type), rt->cell.out_c,
                   rt->cell.cu, rt->cell.cr, rt->cell.cf, n->cell.k, (int)n->cell.rgc.flavor);
        for (j = 0; j < n->n_post; j++) {
            const convrnn_op_spec *o = &n->post[j];
            if (o->kind == CONVRNN_OP_MAXPOOL) printf(" pool %d %d", o->k, o->stride);
            else printf(" op%d", (int)o->kind);
        }
        printf(" cin %d\n", rt->harbor_c);
    }
    convrnn_model_free(&m);
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "peak")) cmd_peak();
    else if (argc >= 5 && !strcmp(argv[1], "layers")) cmd_layers(argv[2], atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 5 && !strcmp(argv[1], "train")) cmd_train(argv[2], atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 4 && !strcmp(argv[1], "mem")) cmd_mem(argv[2], atoi(argv[3]));
    else if (argc >= 3 && !strcmp(argv[1], "describe")) cmd_describe(argv[2]);
    else {
        fprintf(stderr, "usage: bench_convrnn peak | layers SET REPS_BIG REPS_SMALL | train MODEL T REPS | mem MODEL T | describe MODEL\n");
        return 2;
    }
    return 0;
}
