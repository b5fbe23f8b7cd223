/* Finite-difference checks (central differences, double build) of whole unrolled graphs: the
   gradient of a scalar loss w.r.t. every parameter tensor (up to GG_SAMPLES elements each) through
   every edge, feedback included, and through every decoder of convrnn_decoder_type.

   Graphs:
     * small_feedback (tests/fixtures/graph/small_feedback.cfg, T = 5, image_off = 3; RGC median
       node, GRU node, residual projection, three feedback edges) with the decoder set to "last";
       loss = softmax_xent(logits_{T-1}) + sum_t sum(logits_t * dy_t);
     * a tiny 3-node graph (5x5x1 input, conv + max-pool, conv + UGRNN, readout; a feedback edge
       c2 -> c1; T = 8, image_off = 5, decoder window [2, 8) = 6 steps) once per decoder, with
       loss = softmax_xent(decoded logits).
   Parameters are random (biases nonzero), N = 2 images. Every analytic gradient is computed twice,
   with gradient buffers made up front and with lazy_grads, and the two must agree bitwise.

   Piecewise decoders: max_conf, thresh, time_max, random and conv1d (max over time) select; the
   finite differences hold away from ties, so the margins of the selections are asserted. Their
   selection parameters (softmax_beta of max_conf/thresh/time_max, decoder_threshold) get no
   gradient: the analytic gradient must be exactly 0 and the finite difference ~0.
   thresh: the threshold is placed (from the confidences at the base point) so that at least one
   sample takes the first step over the threshold rather than the arg max.

   w_time_avg: out = sum_t a_t z_t with a_t = softmax_t(beta2 max_k softmax(beta1 z_t)[k]); the
   gradient flows through a_t as well, so every parameter, both betas included, is checked against
   finite differences: (a) at beta2 = 0 (a_t = 1/|W|; beta1's gradient is then exactly 0) and (b) at
   beta1 = 1.3, beta2 = 1.7. The decoded output must equal sum_t a_t z_t (a recomputed here), and
   the max class of every softmax_t has a margin (the max's gradient is piecewise). */
#define CONVRNN_USE_DOUBLE
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

#define GG_SAMPLES 30
#define GG_EPS 1e-5
#define GG_ATOL 1e-7
#define GG_RTOL 1e-5
#define GG_MAXT 16

#define GG_GUARD (-777)
typedef struct gg {
    const char *name;
    convrnn_model m;
    int guard[4];                /* right after m: catches writes past the end of convrnn_model */
    int N, T, off, K, L;
    convrnn_real *img;
    int labels[8];
    convrnn_real *dy;            /* T*N*K per-step projection (NULL: decoder loss only) */
    int use_rng;                 /* random decoder: draw with a fresh rng of this seed each run */
    uint64_t rng_seed;
    int exempt_mode;             /* 0: normal; 1: decoder scalars get no gradient */
} gg;

/* ------------------------------------------------------------------ loss */

static convrnn_tensor *gg_build(gg *c, convrnn_tape *t, convrnn_tensor ***outs_out) {
    convrnn_stimulus s = convrnn_stimulus_make(c->img, c->N, c->m.spec.in_h, c->m.spec.in_w, c->m.spec.in_c, c->T, c->off);
    convrnn_tensor **outs = (convrnn_tensor **)calloc((size_t)c->T * c->L, sizeof *outs), *y, *loss;
    convrnn_tensor *terms[GG_MAXT + 1];
    convrnn_rng rng;
    int nt = 0, step;
    *outs_out = outs;
    if (convrnn_model_unroll(&c->m, t, &s, outs) != CONVRNN_OK) return NULL;
    convrnn_rng_seed(&rng, c->rng_seed);
    y = convrnn_model_decode(&c->m, t, outs, c->T, c->off, c->use_rng ? &rng : NULL);
    terms[nt++] = convrnn_softmax_xent(t, y, c->labels);
    if (c->dy)
        for (step = 0; step < c->T; step++)
            terms[nt++] = convrnn_dot_const(t, outs[(size_t)step * c->L + c->m.readout], c->dy + (size_t)step * c->N * c->K);
    loss = convrnn_sum_scalars(t, terms, nt);
    return loss;
}

static double gg_loss(gg *c) {
    convrnn_tape t;
    convrnn_tensor **outs = NULL, *l;
    double v;
    convrnn_tape_init(&t, 0);
    l = gg_build(c, &t, &outs);
    CHECKF(l != NULL, "%s: forward failed: %s", c->name, t.err.msg);
    v = l ? (double)l->data[0] : NAN;
    convrnn_tape_free(&t);
    free(outs);
    return v;
}

/* analytic gradient into m.params.grads; returns the loss. Run twice: with every gradient buffer
   made up front, then with lazy_grads (made during backward, released after use); the parameter
   gradients must agree bitwise, and the lazy ones are the ones checked against finite differences. */
static double gg_analytic(gg *c) {
    convrnn_tape t;
    convrnn_tensor **outs = NULL, *l;
    double v = NAN;
    const size_t nb = c->m.params.total * sizeof(convrnn_real);
    convrnn_real *eager = (convrnn_real *)malloc(nb ? nb : 1);
    int lazy;
    for (lazy = 0; lazy < 2; lazy++) {
        convrnn_tape_init(&t, 1);
        t.lazy_grads = lazy;
        convrnn_params_zero_grad(&c->m.params);
        l = gg_build(c, &t, &outs);
        CHECKF(l && convrnn_tape_backward(&t, l) == CONVRNN_OK, "%s: backward (lazy %d) failed: %s", c->name, lazy, t.err.msg);
        if (l) v = (double)l->data[0];
        if (!lazy) memcpy(eager, c->m.params.grads, nb);
        else CHECKF(memcmp(eager, c->m.params.grads, nb) == 0, "%s: lazy gradients differ from eager ones", c->name);
        convrnn_tape_free(&t);
        free(outs);
        outs = NULL;
    }
    free(eager);
    return v;
}

/* ------------------------------------------------------------------ parameters */

static int gg_is_decoder_scalar(const char *name) {
    return strstr(name, "softmax_beta") != NULL || strstr(name, "decoder_threshold") != NULL;
}

static void gg_random_params(convrnn_model *m, uint64_t seed) {
    convrnn_rng r;
    int i;
    size_t j;
    convrnn_rng_seed(&r, seed);
    for (i = 0; i < m->params.count; i++) {
        const convrnn_param_info *pi = &m->params.info[i];
        double sd;
        if (pi->rank == 1) sd = 0.3;
        else {
            size_t fan = pi->size / (size_t)pi->d[pi->rank - 1];
            if (strstr(pi->name, "depthwise")) fan = (size_t)pi->d[0] * pi->d[1];
            sd = 1.6 / sqrt((double)fan);
            if (sd > 0.5) sd = 0.5;
        }
        for (j = 0; j < pi->size; j++) m->params.values[pi->offset + j] = (convrnn_real)(sd * convrnn_rng_normal(&r));
    }
}

static void gg_set(convrnn_model *m, const char *name, double v) {
    int i = convrnn_params_find(&m->params, name);
    CHECKF(i >= 0, "parameter %s missing", name);
    if (i >= 0) m->params.values[m->params.info[i].offset] = (convrnn_real)v;
}

/* Compare analytic gradients (already in m.params.grads) with central differences of the loss for
   every parameter tensor. skip_fd(name) != 0: only check that the analytic gradient is exactly 0. */
static void gg_check(gg *c, int (*zero_grad_param)(const char *), int (*skip_fd)(const char *)) {
    convrnn_model *m = &c->m;
    convrnn_real *an = (convrnn_real *)malloc(m->params.total * sizeof *an);
    convrnn_rng r;
    double worst_abs = 0, worst_rel = 0, big = 0;
    int i, nel = 0, nbad_total = 0;
    memcpy(an, m->params.grads, m->params.total * sizeof *an);
    convrnn_rng_seed(&r, 99);
    for (i = 0; i < m->params.count; i++) {
        const convrnn_param_info *pi = &m->params.info[i];
        const size_t n = pi->size, ns = n < GG_SAMPLES ? n : GG_SAMPLES;
        const size_t phase = n > ns ? (size_t)convrnn_rng_below(&r, (uint32_t)n) : 0;
        size_t q;
        double tmax_an = 0, tmax_abs = 0, tmax_rel = 0;
        int nbad = 0;
        const int zero = zero_grad_param && zero_grad_param(pi->name), skip = skip_fd && skip_fd(pi->name);
        if (!pi->trainable) {   /* a constant (simple_soft's beta): no gradient buffer at all */
            CHECKF(m->params.views[i].grad == NULL, "%s: constant %s has a gradient buffer", c->name, pi->name);
            printf("  %-66s constant, not differentiated\n", pi->name);
            continue;
        }
        for (q = 0; q < ns; q++) {
            const size_t j = (q * n / ns + phase) % n, o = pi->offset + j;
            const double a = (double)an[o], v0 = (double)m->params.values[o];
            double lp, lm, fd, e;
            if (fabs(a) > tmax_an) tmax_an = fabs(a);
            if (zero) CHECKF(a == 0, "%s: %s[%zu] has gradient %.3g, expected exactly 0", c->name, pi->name, j, a);
            if (skip) continue;
            m->params.values[o] = (convrnn_real)(v0 + GG_EPS);
            lp = gg_loss(c);
            m->params.values[o] = (convrnn_real)(v0 - GG_EPS);
            lm = gg_loss(c);
            m->params.values[o] = (convrnn_real)v0;
            fd = (lp - lm) / (2 * GG_EPS);
            e = fabs(fd - a);
            nel++;
            if (e > tmax_abs) tmax_abs = e;
            if (fabs(a) > 1e-6 && e / fabs(a) > tmax_rel) tmax_rel = e / fabs(a);
            if (!(e <= GG_ATOL + GG_RTOL * fabs(a))) {
                if (nbad++ < 3)
                    CHECKF(0, "%s: %s[%zu]: analytic %.10g, finite difference %.10g", c->name, pi->name, j, a, fd);
            } else {
                test__pass++;
            }
        }
        nbad_total += nbad;
        if (tmax_abs > worst_abs) worst_abs = tmax_abs;
        if (tmax_rel > worst_rel) worst_rel = tmax_rel;
        if (tmax_an > big) big = tmax_an;
        if (!zero) CHECKF(tmax_an > 1e-6, "%s: the gradient of %s is trivial (max |g| %.3g over %zu samples)", c->name, pi->name,
                          tmax_an, ns);
        printf("  %-66s %3zu/%-4zu max|g| %.2e  max abs err %.2e  rel %.2e%s\n", pi->name, ns, n, tmax_an, tmax_abs,
               tmax_rel, zero ? (skip ? "  (zero by design, no FD)" : "  (exactly 0 by design)") : "");
    }
    printf("%-14s %d elements: worst abs err %.2e, worst rel err %.2e, largest |g| %.2e%s\n", c->name, nel, worst_abs,
           worst_rel, big, nbad_total ? "  FAIL" : "");
    CHECKF(big > 1e-3, "%s: every gradient is tiny", c->name);
    free(an);
}

static int gg_zero_dec(const char *name) { return gg_is_decoder_scalar(name); }
static int gg_zero_none(const char *name) { (void)name; return 0; }
/* w_time_avg at beta2 = 0: the time weights do not depend on beta1 */
static int gg_zero_beta1(const char *name) { return strstr(name, "probs/softmax_beta") != NULL; }

/* ------------------------------------------------------------------ graphs */

static void gg_images(gg *c, uint64_t seed) {
    convrnn_rng r;
    size_t i, n = (size_t)c->N * c->m.spec.in_h * c->m.spec.in_w * c->m.spec.in_c;
    convrnn_rng_seed(&r, seed);
    c->img = (convrnn_real *)malloc(n * sizeof *c->img);
    for (i = 0; i < n; i++) c->img[i] = (convrnn_real)convrnn_rng_normal(&r);
    for (i = n / 2; i < n; i++) c->img[i] += 0.7;   /* the second image brighter */
}

static int gg_open(gg *c, const char *name, const convrnn_graph_spec *g) {
    int n;
    memset(c, 0, sizeof *c);
    c->name = name;
    for (n = 0; n < 4; n++) c->guard[n] = GG_GUARD;
    if (convrnn_model_create(&c->m, g) != CONVRNN_OK) {
        CHECKF(0, "%s: model_create: %s", name, c->m.err.msg);
        return 0;
    }
    /* convrnn_model.dec_p has 8 slots; a decoder with more parameters must not write past them */
    for (n = 0; n < 4; n++)
        CHECKF(c->guard[n] == GG_GUARD, "%s: convrnn_model_create wrote past the end of convrnn_model "
               "(the int after it is %d; dec_p has 8 slots)", name, c->guard[n]);
    c->N = 2; c->T = g->T; c->off = g->image_off; c->K = g->n_classes; c->L = g->n_nodes;
    for (n = 0; n < c->N; n++) c->labels[n] = (n * 2 + 1) % c->K;
    gg_random_params(&c->m, 1234);
    gg_images(c, 77);
    return 1;
}
static void gg_close(gg *c) {
    convrnn_model_free(&c->m);
    free(c->img);
    free(c->dy);
}

static void test_small_feedback(void) {
    convrnn_graph_spec g;
    convrnn_error e;
    gg c;
    convrnn_rng r;
    size_t i, n;
    convrnn_error_clear(&e);
    if (convrnn_graph_load("tests/fixtures/graph/small_feedback.cfg", &g, &e) != CONVRNN_OK) {
        CHECKF(0, "small_feedback.cfg: %s (run from the repository root)", e.msg);
        return;
    }
    g.decoder.type = CONVRNN_DEC_LAST;
    CHECK(g.T >= 4 && g.n_edges == 3);
    if (!gg_open(&c, "small_feedback", &g)) return;
    n = (size_t)c.T * c.N * c.K;
    c.dy = (convrnn_real *)malloc(n * sizeof *c.dy);
    convrnn_rng_seed(&r, 5);
    for (i = 0; i < n; i++) c.dy[i] = (convrnn_real)convrnn_rng_normal(&r);
    printf("small_feedback: %d nodes, %d feedback edges, T = %d, %d parameter tensors (%zu elements)\n", g.n_nodes,
           g.n_edges, g.T, c.m.params.count, c.m.params.total);
    gg_analytic(&c);
    gg_check(&c, gg_zero_none, NULL);
    gg_close(&c);
}

/* the tiny graph with a given decoder (trainable decoder scalars unless tiny_frozen) */
static int tiny_frozen;
static int tiny_spec(convrnn_graph_spec *g, const char *decoder) {
    char text[2048];
    convrnn_error e;
    snprintf(text, sizeof text,
             "convrnn-graph 1\nname tiny\ninput 5 5 1\nclasses 3\nsteps 8 5\n"
             "node c1\n  pre conv k=3 s=1 out=2 act=elu scope=pre_0 w=weights_basenet\n  post maxpool k=2 s=2\n"
             "node c2 ff=c1\n  pre conv k=2 s=1 out=2 act=elu scope=pre_0 w=weights_basenet\n  cell ugrnn out=2 k=2\n"
             "node readout ff=c2\n  pre gap\n  pre fc out=3 scope=pre_1 w=weights\n"
             "edge c2 c1\n"
             "decoder %s start=2 end=0 hidden=4 trainable=%d threshold=0.9\n", decoder, !tiny_frozen);
    convrnn_error_clear(&e);
    if (convrnn_graph_parse(text, strlen(text), g, &e) != CONVRNN_OK) {
        CHECKF(0, "tiny graph with decoder %s: %s", decoder, e.msg);
        return 0;
    }
    return 1;
}

/* readout logits z_t (inference) at the current parameters: z[(t*N + n)*K + k] */
static void tiny_logits(gg *c, double *z) {
    convrnn_tape t;
    convrnn_stimulus s = convrnn_stimulus_make(c->img, c->N, c->m.spec.in_h, c->m.spec.in_w, c->m.spec.in_c, c->T, c->off);
    convrnn_tensor **outs = (convrnn_tensor **)calloc((size_t)c->T * c->L, sizeof *outs);
    int step;
    size_t i;
    convrnn_tape_init(&t, 0);
    CHECK(convrnn_model_unroll(&c->m, &t, &s, outs) == CONVRNN_OK);
    for (step = 0; step < c->T; step++)
        for (i = 0; i < (size_t)c->N * c->K; i++) z[(size_t)step * c->N * c->K + i] = (double)outs[(size_t)step * c->L + c->m.readout]->data[i];
    convrnn_tape_free(&t);
    free(outs);
}
static void softmax(const double *z, int K, double beta, double *p) {
    double mx = -HUGE_VAL, s = 0;
    int k;
    for (k = 0; k < K; k++) if (beta * z[k] > mx) mx = beta * z[k];
    for (k = 0; k < K; k++) s += (p[k] = exp(beta * z[k] - mx));
    for (k = 0; k < K; k++) p[k] /= s;
}
static double max_conf_of(const double *z, int K, double beta) {
    double p[16], m = 0;
    int k;
    softmax(z, K, beta, p);
    for (k = 0; k < K; k++) if (p[k] > m) m = p[k];
    return m;
}

/* the decoded output (inference) at the current parameters */
static void tiny_decoded(gg *c, double *y) {
    convrnn_tape t;
    convrnn_stimulus s = convrnn_stimulus_make(c->img, c->N, c->m.spec.in_h, c->m.spec.in_w, c->m.spec.in_c, c->T, c->off);
    convrnn_tensor **outs = (convrnn_tensor **)calloc((size_t)c->T * c->L, sizeof *outs), *d;
    convrnn_rng rng;
    size_t i;
    convrnn_rng_seed(&rng, c->rng_seed);
    convrnn_tape_init(&t, 0);
    CHECK(convrnn_model_unroll(&c->m, &t, &s, outs) == CONVRNN_OK);
    d = convrnn_model_decode(&c->m, &t, outs, c->T, c->off, c->use_rng ? &rng : NULL);
    CHECKF(d && d->size == (size_t)c->N * c->K, "%s: decode failed: %s", c->name, t.err.msg);
    for (i = 0; d && i < d->size; i++) y[i] = (double)d->data[i];
    convrnn_tape_free(&t);
    free(outs);
}

static void test_decoder(convrnn_decoder_type type, int use_rng, int wta_case) {
    convrnn_graph_spec g;
    gg c;
    char name[48];
    const char *dn = convrnn_decoder_name(type);
    double z[GG_MAXT * 2 * 3], y[2 * 3];
    int s0 = 2, nz, n, i, k;
    if (!tiny_spec(&g, dn)) return;
    snprintf(name, sizeof name, "%s%s", dn, type == CONVRNN_DEC_RANDOM ? (use_rng ? "+rng" : "(eval)") :
             type == CONVRNN_DEC_W_TIME_AVG ? (wta_case ? "(b)" : "(a)") : "");
    if (!gg_open(&c, name, &g)) return;
    nz = c.T - s0;
    CHECK(c.T <= GG_MAXT && c.N == 2 && c.K == 3);
    c.use_rng = use_rng;
    c.rng_seed = 4242;
    /* decoder scalars at chosen values */
    switch (type) {
    case CONVRNN_DEC_MAX_CONF: case CONVRNN_DEC_TIME_MAX: case CONVRNN_DEC_W_AVG:
        gg_set(&c.m, "tnn_model/normalize/softmax_beta", 1.3);
        break;
    case CONVRNN_DEC_THRESH:
        gg_set(&c.m, "tnn_model/normalize/softmax_beta", 1.3);
        break;
    case CONVRNN_DEC_SIMPLE_SOFT:   /* a stored constant (1 when made); any value is used as stored */
        gg_set(&c.m, "tnn_model/normalize/softmax_beta", 1.3);
        break;
    case CONVRNN_DEC_W_TIME_AVG:
        gg_set(&c.m, "tnn_model/probs/softmax_beta", 1.3);
        gg_set(&c.m, "tnn_model/alpha/softmax_beta", wta_case ? 1.7 : 0.0);
        break;
    default: break;
    }
    tiny_logits(&c, z);
    tiny_decoded(&c, y);

    /* forward facts and selection margins at the base point */
    if (type == CONVRNN_DEC_MAX_CONF || type == CONVRNN_DEC_THRESH) {
        const double beta = 1.3;
        double theta = 2, best_gap = 0;
        if (type == CONVRNN_DEC_THRESH) {   /* a threshold in a wide gap that changes some selection */
            double v[GG_MAXT * 2];
            int nv = 0, a;
            for (i = 0; i < nz; i++) for (n = 0; n < c.N; n++) v[nv++] = max_conf_of(z + ((size_t)(s0 + i) * c.N + n) * c.K, c.K, beta);
            for (a = 0; a < nv; a++) {   /* candidate: midway between v[a] and the next larger value */
                double lo = v[a], hi = 2, th;
                int changes = 0, q;
                for (q = 0; q < nv; q++) if (v[q] > lo && v[q] < hi) hi = v[q];
                if (hi > 1 || hi - lo <= best_gap) continue;
                th = 0.5 * (lo + hi);
                for (n = 0; n < c.N; n++) {
                    int first = -1, am = 0;
                    for (i = 0; i < nz; i++) {
                        const double mi = v[i * c.N + n];
                        if (first < 0 && mi >= th) first = i;
                        if (mi > v[am * c.N + n]) am = i;
                    }
                    if (first >= 0 && first != am) changes = 1;
                }
                if (changes) { best_gap = hi - lo; theta = th; }
            }
            CHECKF(theta < 1 && best_gap > 1e-4, "thresh: no threshold separates a first crossing from the arg max");
            gg_set(&c.m, "tnn_model/decoder_threshold", theta);
            tiny_decoded(&c, y);
            printf("thresh: theta %.6f (gap %.3g)\n", theta, best_gap);
        }
        for (n = 0; n < c.N; n++) {
            int bi = 0, first = -1, sel;
            double b1 = -1, b2 = -1;
            for (i = 0; i < nz; i++) {
                const double mi = max_conf_of(z + ((size_t)(s0 + i) * c.N + n) * c.K, c.K, beta);
                if (mi > b1) { b2 = b1; b1 = mi; bi = i; } else if (mi > b2) b2 = mi;
                if (first < 0 && mi >= theta) first = i;
            }
            sel = type == CONVRNN_DEC_THRESH && first >= 0 ? first : bi;
            CHECKF(b1 - b2 > 1e-4, "%s: sample %d: confidence tie (%.3g)", name, n, b1 - b2);
            for (k = 0; k < c.K; k++)
                CHECKF(y[n * c.K + k] == z[((size_t)(s0 + sel) * c.N + n) * c.K + k], "%s: sample %d did not select window step %d", name, n, sel);
            printf("%s: sample %d selects step %d (arg max %d)\n", name, n, s0 + sel, s0 + bi);
        }
    }
    if (type == CONVRNN_DEC_TIME_MAX) {
        for (n = 0; n < c.N; n++)
            for (k = 0; k < c.K; k++) {
                double b1 = -1, b2 = -1, p[3];
                int bi = 0;
                for (i = 0; i < nz; i++) {
                    softmax(z + ((size_t)(s0 + i) * c.N + n) * c.K, c.K, 1.3, p);
                    if (p[k] > b1) { b2 = b1; b1 = p[k]; bi = i; } else if (p[k] > b2) b2 = p[k];
                }
                CHECKF(b1 - b2 > 1e-4, "time_max: tie at sample %d class %d", n, k);
                CHECK(y[n * c.K + k] == z[((size_t)(s0 + bi) * c.N + n) * c.K + k]);
            }
    }
    if (type == CONVRNN_DEC_RANDOM) {   /* the output is the logits of one window step */
        int hit = -1;
        for (i = 0; i < nz && hit < 0; i++) {
            int same = 1;
            for (n = 0; n < c.N * c.K; n++) same &= y[n] == z[(size_t)(s0 + i) * c.N * c.K + n];
            if (same) hit = i;
        }
        CHECKF(hit >= 0, "random: the output is no window step's logits");
        if (!use_rng) {
            int want = c.off + c.L - 1 - s0;
            if (want < 0) want = 0;
            if (want >= nz) want = nz - 1;
            CHECKF(hit == want, "random (evaluation): step %d selected, expected %d", s0 + hit, s0 + want);
        }
        printf("%s: step %d\n", name, s0 + hit);
    }
    if (type == CONVRNN_DEC_SUM || type == CONVRNN_DEC_AVG)
        for (n = 0; n < c.N * c.K; n++) {
            double acc = 0;
            for (i = 0; i < nz; i++) acc += z[(size_t)(s0 + i) * c.N * c.K + n];
            if (type == CONVRNN_DEC_AVG) acc /= nz;
            CHECK_CLOSE(y[n], acc, 1e-12, 1e-12);
        }
    if (type == CONVRNN_DEC_LAST || type == CONVRNN_DEC_SIMPLE)   /* the tiny window ends at T */
        for (n = 0; n < c.N * c.K; n++) CHECK(y[n] == z[(size_t)(c.T - 1) * c.N * c.K + n]);
    if (type == CONVRNN_DEC_SIMPLE_LINEAR || type == CONVRNN_DEC_SIMPLE_SOFT)   /* the window's last step, normalised */
        for (n = 0; n < c.N; n++) {
            const double *zl = z + ((size_t)(c.T - 1) * c.N + n) * c.K;
            double p[3], S = 0;
            softmax(zl, c.K, 1.3, p);
            for (k = 0; k < c.K; k++) S += zl[k];
            if (type == CONVRNN_DEC_SIMPLE_LINEAR) CHECKF(fabs(S) > 0.05, "simple_linear: sample %d: the logits sum to %.3g", n, S);
            for (k = 0; k < c.K; k++)
                CHECK_CLOSE(y[n * c.K + k], type == CONVRNN_DEC_SIMPLE_LINEAR ? zl[k] / S : p[k], 1e-12, 1e-12);
        }
    if (type == CONVRNN_DEC_W_TIME_AVG) {   /* a_t from the definition; output = sum_t a_t z_t */
        const double b1 = 1.3, b2 = wta_case ? 1.7 : 0.0;
        for (n = 0; n < c.N; n++) {
            double mx = -HUGE_VAL, sum = 0, a[GG_MAXT];
            for (i = 0; i < nz; i++) {
                double p[3], m1 = -1, m2 = -1;
                softmax(z + ((size_t)(s0 + i) * c.N + n) * c.K, c.K, b1, p);
                for (k = 0; k < c.K; k++) {
                    if (p[k] > m1) { m2 = m1; m1 = p[k]; } else if (p[k] > m2) m2 = p[k];
                }
                CHECKF(m1 - m2 > 1e-4, "w_time_avg: tie for the max class at sample %d step %d", n, s0 + i);
                a[i] = b2 * m1;
                if (a[i] > mx) mx = a[i];
            }
            for (i = 0; i < nz; i++) sum += (a[i] = exp(a[i] - mx));
            for (i = 0; i < nz; i++) a[i] /= sum;
            for (k = 0; k < c.K; k++) {
                double acc = 0;
                for (i = 0; i < nz; i++) acc += a[i] * z[((size_t)(s0 + i) * c.N + n) * c.K + k];
                CHECK_CLOSE(y[n * c.K + k], acc, 1e-12, 1e-12);
            }
            if (!wta_case) for (i = 0; i < nz; i++) CHECK_CLOSE(a[i], 1.0 / nz, 1e-15, 0);
        }
    }
    if (type == CONVRNN_DEC_W_AVG_T) {   /* alpha: values of both signs */
        int pi = convrnn_params_find(&c.m.params, "tnn_model/alpha/weights");
        convrnn_rng r;
        size_t j;
        CHECK(pi >= 0);
        convrnn_rng_seed(&r, 8);
        if (pi >= 0)
            for (j = 0; j < c.m.params.info[pi].size; j++)
                c.m.params.values[c.m.params.info[pi].offset + j] = (convrnn_real)(0.8 * convrnn_rng_normal(&r));
        /* the forward from the definition: w[i][k] = sigmoid(alpha[i][k]) / sum over i, out = sum_i w z_i */
        tiny_decoded(&c, y);
        for (n = 0; pi >= 0 && n < c.N; n++)
            for (k = 0; k < c.K; k++) {
                const convrnn_real *al = c.m.params.values + c.m.params.info[pi].offset;
                double sw = 0, acc = 0;
                for (i = 0; i < nz; i++) sw += 1.0 / (1.0 + exp(-(double)al[i * c.K + k]));
                for (i = 0; i < nz; i++) acc += 1.0 / (1.0 + exp(-(double)al[i * c.K + k])) / sw * z[((size_t)(s0 + i) * c.N + n) * c.K + k];
                CHECK_CLOSE(y[n * c.K + k], acc, 1e-12, 1e-12);
            }
    }
    if (type == CONVRNN_DEC_W_AVG)   /* per (sample, class): softmax over the window of beta z, out = sum_i w z_i */
        for (n = 0; n < c.N; n++)
            for (k = 0; k < c.K; k++) {
                double mx = -HUGE_VAL, sw = 0, acc = 0, zi;
                for (i = 0; i < nz; i++) if (1.3 * z[((size_t)(s0 + i) * c.N + n) * c.K + k] > mx) mx = 1.3 * z[((size_t)(s0 + i) * c.N + n) * c.K + k];
                for (i = 0; i < nz; i++) sw += exp(1.3 * z[((size_t)(s0 + i) * c.N + n) * c.K + k] - mx);
                for (i = 0; i < nz; i++) {
                    zi = z[((size_t)(s0 + i) * c.N + n) * c.K + k];
                    acc += exp(1.3 * zi - mx) / sw * zi;
                }
                CHECK_CLOSE(y[n * c.K + k], acc, 1e-12, 1e-12);
            }
    if (type == CONVRNN_DEC_MLP) {   /* ELU(concat_i z_i W1 + b1) W2 + b2, the window's steps in order */
        const convrnn_params *ps = &c.m.params;
        const int i1 = convrnn_params_find(ps, "tnn_model/mlp_decoder/fc1/weights"), i2 = convrnn_params_find(ps, "tnn_model/mlp_decoder/fc1/biases");
        const int i3 = convrnn_params_find(ps, "tnn_model/mlp_decoder/fc_final/weights"), i4 = convrnn_params_find(ps, "tnn_model/mlp_decoder/fc_final/biases");
        CHECK(i1 >= 0 && i2 >= 0 && i3 >= 0 && i4 >= 0 && ps->info[i1].d[0] == nz * c.K && ps->info[i1].d[1] == 4);
        for (n = 0; i1 >= 0 && i2 >= 0 && i3 >= 0 && i4 >= 0 && n < c.N; n++) {
            const convrnn_real *W1 = ps->values + ps->info[i1].offset, *b1 = ps->values + ps->info[i2].offset;
            const convrnn_real *W2 = ps->values + ps->info[i3].offset, *b2 = ps->values + ps->info[i4].offset;
            double h[4];
            int j;
            for (j = 0; j < 4; j++) {
                double a = b1[j];
                for (i = 0; i < nz; i++)
                    for (k = 0; k < c.K; k++) a += z[((size_t)(s0 + i) * c.N + n) * c.K + k] * W1[(i * c.K + k) * 4 + j];
                h[j] = a > 0 ? a : expm1(a);
            }
            for (k = 0; k < c.K; k++) {
                double o = b2[k];
                for (j = 0; j < 4; j++) o += h[j] * W2[j * c.K + k];
                CHECK_CLOSE(y[n * c.K + k], o, 1e-12, 1e-12);
            }
        }
    }
    if (type == CONVRNN_DEC_CONV1D) {   /* per filter length wl = 2..6: the max over positions q of
                                           sum_{j<wl,k} z_{q+j}[k] kernel[j][k][f] + bias[f], 4 filters; then a dense layer */
        const convrnn_params *ps = &c.m.params;
        const int iw = convrnn_params_find(ps, "tnn_model/conv1_decoder/fc_final/weights"), ib = convrnn_params_find(ps, "tnn_model/conv1_decoder/fc_final/biases");
        int wl, ok = iw >= 0 && ib >= 0;
        double feat[2][20];
        for (wl = 2; ok && wl <= 6; wl++) {
            char nk[64], nb[64];
            int ik, ibb, f, q, j;
            snprintf(nk, sizeof nk, "tnn_model/conv1_decoder/c_%d/kernel", wl);
            snprintf(nb, sizeof nb, "tnn_model/conv1_decoder/c_%d/bias", wl);
            ik = convrnn_params_find(ps, nk);
            ibb = convrnn_params_find(ps, nb);
            if (ik < 0 || ibb < 0) { ok = 0; break; }
            CHECK(ps->info[ik].d[0] == wl && ps->info[ik].d[1] == c.K && ps->info[ik].d[2] == 4);
            for (n = 0; n < c.N; n++)
                for (f = 0; f < 4; f++) {
                    double best = -HUGE_VAL;
                    for (q = 0; q + wl <= nz; q++) {
                        double a = ps->values[ps->info[ibb].offset + f];
                        for (j = 0; j < wl; j++)
                            for (k = 0; k < c.K; k++)
                                a += z[((size_t)(s0 + q + j) * c.N + n) * c.K + k] * ps->values[ps->info[ik].offset + ((size_t)j * c.K + k) * 4 + f];
                        if (a > best) best = a;
                    }
                    feat[n][(wl - 2) * 4 + f] = best;
                }
        }
        CHECKF(ok, "conv1d: parameters not found by their names");
        for (n = 0; ok && n < c.N; n++)
            for (k = 0; k < c.K; k++) {
                double o = ps->values[ps->info[ib].offset + k];
                int j;
                for (j = 0; j < 20; j++) o += feat[n][j] * ps->values[ps->info[iw].offset + (size_t)j * c.K + k];
                CHECK_CLOSE(y[n * c.K + k], o, 1e-12, 1e-12);
            }
    }

    printf("decoder %s: %d parameter tensors\n", name, c.m.params.count);
    gg_analytic(&c);
    if (type == CONVRNN_DEC_W_TIME_AVG && !wta_case) {
        gg_check(&c, gg_zero_beta1, NULL);
    } else if (type == CONVRNN_DEC_MAX_CONF || type == CONVRNN_DEC_THRESH || type == CONVRNN_DEC_TIME_MAX) {
        gg_check(&c, gg_zero_dec, NULL);
    } else {
        gg_check(&c, gg_zero_none, NULL);
    }
    gg_close(&c);
}

/* Decoder softmax betas follow the decoder's trainable flag, as the released code: trainable
   variables initialised U[0, 1), or constants 1 that get no gradient buffer (so training never
   moves them). w_avg_t's alpha starts U[0, 1) either way and is trainable only with the flag. */
static void test_decoder_trainable(void) {
    static const char *const names[] = { "w_avg", "w_time_avg", "time_max", "max_conf", "w_avg_t" };
    int di, fr;
    for (di = 0; di < 5; di++)
        for (fr = 0; fr < 2; fr++) {
            convrnn_graph_spec g;
            convrnn_model m;
            int i, nb = 0;
            tiny_frozen = fr;
            if (!tiny_spec(&g, names[di])) continue;
            CHECK(g.decoder.trainable == !fr);
            if (convrnn_model_create(&m, &g) != CONVRNN_OK || convrnn_model_init(&m, 3) != CONVRNN_OK) {
                CHECKF(0, "%s: %s", names[di], m.err.msg);
                convrnn_model_free(&m);
                continue;
            }
            for (i = 0; i < m.params.count; i++) {
                const convrnn_param_info *pi = &m.params.info[i];
                const double v = (double)m.params.values[pi->offset];
                if (strstr(pi->name, "alpha/weights")) {   /* w_avg_t: U[0, 1) either way */
                    size_t j;
                    nb++;
                    CHECKF(pi->trainable == !fr && (m.params.views[i].grad != NULL) == !fr, "w_avg_t: alpha trainable %d", pi->trainable);
                    for (j = 0; j < pi->size; j++) {
                        const double a = (double)m.params.values[pi->offset + j];
                        CHECKF(a >= 0.0 && a < 1.0, "w_avg_t: alpha[%zu] = %g, expected in [0, 1)", j, a);
                    }
                    continue;
                }
                if (!strstr(pi->name, "softmax_beta")) continue;
                nb++;
                CHECKF(pi->trainable == !fr, "%s (trainable=%d): %s trainable %d", names[di], !fr, pi->name, pi->trainable);
                CHECKF(fr ? m.params.views[i].grad == NULL : m.params.views[i].grad != NULL, "%s: %s gradient buffer", names[di], pi->name);
                if (fr) CHECKF(v == 1.0, "%s: frozen %s = %g, expected 1", names[di], pi->name, v);
                else CHECKF(v >= 0.0 && v < 1.0, "%s: trainable %s = %g, expected in [0, 1)", names[di], pi->name, v);
            }
            CHECKF(nb == (di == 1 ? 2 : 1), "%s: %d softmax betas", names[di], nb);
            convrnn_model_free(&m);
        }
    tiny_frozen = 0;
    {   /* mlp and conv1d: the released code's variable names, shapes and weight decays */
        static const struct { const char *dec, *name; int d0, d1; double wd; } want[] = {
            { "mlp", "tnn_model/mlp_decoder/fc1/weights", 18, 4, 0 },
            { "mlp", "tnn_model/mlp_decoder/fc1/biases", 4, 1, 0 },
            { "mlp", "tnn_model/mlp_decoder/fc_final/weights", 4, 3, 1e-4 },
            { "mlp", "tnn_model/mlp_decoder/fc_final/biases", 3, 1, 1e-4 },
            { "conv1d", "tnn_model/conv1_decoder/c_2/kernel", 2, 3, 1e-4 },
            { "conv1d", "tnn_model/conv1_decoder/c_6/kernel", 6, 3, 1e-4 },
            { "conv1d", "tnn_model/conv1_decoder/c_4/bias", 4, 1, 1e-4 },
            { "conv1d", "tnn_model/conv1_decoder/fc_final/weights", 20, 3, 1e-4 },
            { "conv1d", "tnn_model/conv1_decoder/fc_final/biases", 3, 1, 1e-4 },
        };
        size_t w;
        for (w = 0; w < sizeof want / sizeof want[0]; w++) {
            convrnn_graph_spec g;
            convrnn_model m;
            int pi;
            if (!tiny_spec(&g, want[w].dec)) continue;
            if (convrnn_model_create(&m, &g) != CONVRNN_OK) { CHECKF(0, "%s: %s", want[w].dec, m.err.msg); convrnn_model_free(&m); continue; }
            pi = convrnn_params_find(&m.params, want[w].name);
            CHECKF(pi >= 0, "%s: no parameter %s", want[w].dec, want[w].name);
            if (pi >= 0) {
                const convrnn_param_info *p = &m.params.info[pi];
                CHECKF(p->d[0] == want[w].d0 && p->d[1] == want[w].d1 && p->weight_decay == want[w].wd && p->trainable,
                       "%s: %s is [%d, %d] wd %g", want[w].dec, want[w].name, p->d[0], p->d[1], p->weight_decay);
            }
            convrnn_model_free(&m);
        }
    }
}

int main(void) {
    int d;
    convrnn_decoder_type dt;
    setvbuf(stdout, NULL, _IOLBF, 0);   /* keep the report and failures (stderr) in order */
    for (d = 0; d < CONVRNN_DEC_TYPE_COUNT; d++)   /* names round-trip; "simple" is the released code's "last" */
        CHECKF(convrnn_decoder_parse(convrnn_decoder_name((convrnn_decoder_type)d), &dt) && dt == (convrnn_decoder_type)d,
               "decoder %d (%s) does not parse back", d, convrnn_decoder_name((convrnn_decoder_type)d));
    CHECK(convrnn_decoder_parse("simple", &dt) && dt == CONVRNN_DEC_SIMPLE);
    CHECK(!convrnn_decoder_parse("simple_", &dt) && !convrnn_decoder_parse(NULL, &dt));
    test_small_feedback();
    test_decoder_trainable();
    for (d = 0; d < CONVRNN_DEC_TYPE_COUNT; d++) {
        test_decoder((convrnn_decoder_type)d, 0, 0);
        if (d == CONVRNN_DEC_RANDOM) test_decoder((convrnn_decoder_type)d, 1, 0);
        if (d == CONVRNN_DEC_W_TIME_AVG) test_decoder((convrnn_decoder_type)d, 0, 1);
    }
    return TEST_END("graph_grad");
}
