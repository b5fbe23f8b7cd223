/* Finite-difference gradient checks, in the double build, for every op and every cell (cells over
   T = 4 steps, i.e. backpropagation through time). For each leaf (input or parameter) the analytic
   gradient from the tape is compared with a central difference of the loss, and is required to be
   non-trivial. */
#define CONVRNN_USE_DOUBLE
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <string.h>
#include <stdlib.h>

#define MAXLEAF 16
typedef struct gc {
    /* leaf inputs held here: re-created on every evaluation so they can be perturbed */
    int nleaf;
    int rank[MAXLEAF], dims[MAXLEAF][4];
    double *val[MAXLEAF];
    size_t n[MAXLEAF];
    convrnn_tensor *leaf[MAXLEAF];
    convrnn_params *ps;            /* optional parameter store (its values are leaves too) */
    double *wout;                  /* random projection of the output(s) that defines the loss */
    size_t nout;
    int op;                        /* case selector */
    void *aux;
    convrnn_rng rng;
} gc;

typedef convrnn_tensor *(*gc_fn)(convrnn_tape *t, gc *g);

static double *rnd(convrnn_rng *r, size_t n, double scale) {
    double *v = (double *)malloc(n * sizeof *v);
    size_t i;
    for (i = 0; i < n; i++) v[i] = scale * convrnn_rng_normal(r);
    return v;
}
static int add_leaf(gc *g, int rank, int d0, int d1, int d2, int d3, double scale) {
    int i = g->nleaf++;
    size_t n = (size_t)d0 * (rank > 1 ? d1 : 1) * (rank > 2 ? d2 : 1) * (rank > 3 ? d3 : 1);
    g->rank[i] = rank;
    g->dims[i][0] = d0; g->dims[i][1] = d1; g->dims[i][2] = d2; g->dims[i][3] = d3;
    g->n[i] = n;
    g->val[i] = rnd(&g->rng, n, scale);
    return i;
}
static void make_leaves(convrnn_tape *t, gc *g) {
    int i;
    for (i = 0; i < g->nleaf; i++) g->leaf[i] = convrnn_tape_input_nd(t, g->rank[i], g->dims[i], g->val[i], 1);
}
/* loss = sum(y * wout[off..]) ; wout grown on demand */
static convrnn_tensor *proj_loss(convrnn_tape *t, gc *g, convrnn_tensor *y, size_t off) {
    if (!y) return NULL;
    if (off + y->size > g->nout) {
        size_t i, n = off + y->size;
        g->wout = (double *)realloc(g->wout, n * sizeof(double));
        for (i = g->nout; i < n; i++) g->wout[i] = convrnn_rng_normal(&g->rng);
        g->nout = n;
    }
    return convrnn_dot_const(t, y, g->wout + off);
}

static double eval_loss(gc *g, gc_fn fn) {
    convrnn_tape t;
    convrnn_tensor *L;
    double v;
    convrnn_tape_init(&t, 0);
    L = fn(&t, g);
    v = L ? L->data[0] : NAN;
    convrnn_tape_free(&t);
    return v;
}

static int check_grad_slot(const char *name, const char *slot, double *val, const double *grad, size_t n,
                           gc *g, gc_fn fn) {
    size_t i, step = n > 30 ? n / 30 : 1;
    double maxabs = 0, maxerr = 0;
    int bad = 0;
    for (i = 0; i < n; i++) if (fabs(grad[i]) > maxabs) maxabs = fabs(grad[i]);
    CHECKF(maxabs > 1e-6, "%s/%s: analytic gradient is trivial (max %g)", name, slot, maxabs);
    for (i = (n > 30 ? 7 % step : 0); i < n; i += step) {
        const double v = val[i], h = 1e-5 * (fabs(v) > 1 ? fabs(v) : 1);
        double lp, lm, fd, err;
        val[i] = v + h; lp = eval_loss(g, fn);
        val[i] = v - h; lm = eval_loss(g, fn);
        val[i] = v;
        fd = (lp - lm) / (2 * h);
        /* relative error; elements far below the slot's gradient scale are judged against that scale */
        err = fabs(fd - grad[i]) / (1e-4 * maxabs + fabs(fd) + fabs(grad[i]) + 1e-12);
        if (err > maxerr) maxerr = err;
        if (err > 1e-5 && !bad) {
            fprintf(stderr, "  %s/%s[%zu]: analytic %.10g numeric %.10g\n", name, slot, i, grad[i], fd);
            bad = 1;
        }
    }
    CHECKF(maxerr <= 1e-5, "%s/%s: max relative error %.3g", name, slot, maxerr);
    return !bad;
}

static void run_check(const char *name, gc *g, gc_fn fn) {
    convrnn_tape t;
    convrnn_tensor *L;
    double *grads[MAXLEAF];
    int i;
    char slot[64];
    convrnn_tape_init(&t, 1);
    if (g->ps) convrnn_params_zero_grad(g->ps);
    L = fn(&t, g);
    CHECKF(L != NULL && convrnn_tape_status(&t) == CONVRNN_OK, "%s: forward failed: %s", name, t.err.msg);
    if (!L) { convrnn_tape_free(&t); return; }
    CHECKF(convrnn_tape_backward(&t, L) == CONVRNN_OK, "%s: backward failed: %s", name, t.err.msg);
    for (i = 0; i < g->nleaf; i++) {
        grads[i] = (double *)malloc(g->n[i] * sizeof(double));
        if (g->leaf[i] && g->leaf[i]->grad) memcpy(grads[i], g->leaf[i]->grad, g->n[i] * sizeof(double));
        else memset(grads[i], 0, g->n[i] * sizeof(double));
    }
    convrnn_tape_free(&t);
    for (i = 0; i < g->nleaf; i++) {
        snprintf(slot, sizeof slot, "input%d", i);
        check_grad_slot(name, slot, g->val[i], grads[i], g->n[i], g, fn);
        free(grads[i]);
    }
    if (g->ps) {
        double *pg = (double *)malloc(g->ps->total * sizeof(double));
        memcpy(pg, g->ps->grads, g->ps->total * sizeof(double));
        for (i = 0; i < g->ps->count; i++) {
            const convrnn_param_info *pi = &g->ps->info[i];
            if (!pi->trainable) continue;
            check_grad_slot(name, pi->name, g->ps->values + pi->offset, pg + pi->offset, pi->size, g, fn);
        }
        free(pg);
    }
    printf("gradcheck %-28s ok\n", name);
}

static void gc_free(gc *g) {
    int i;
    for (i = 0; i < g->nleaf; i++) free(g->val[i]);
    free(g->wout);
    memset(g, 0, sizeof *g);
}
static void gc_init(gc *g, uint64_t seed) {
    memset(g, 0, sizeof *g);
    convrnn_rng_seed(&g->rng, seed);
}

/* ------------------------------------------------------------------ op cases */
enum { OP_CONV, OP_DW, OP_SEP, OP_DENSE, OP_BIAS, OP_ACT, OP_MAXPOOL, OP_GAP, OP_RESIZE, OP_CONCAT_SLICE,
       OP_LN, OP_RESADD, OP_BINARY, OP_AFFINE, OP_XENT, OP_SUMS };
typedef struct opargs { int k, stride, pad, act, oh, ow, bop, bmode; } opargs;

static convrnn_tensor *op_fn(convrnn_tape *t, gc *g) {
    const opargs *a = (const opargs *)g->aux;
    convrnn_tensor *y = NULL, **L;
    make_leaves(t, g);
    L = g->leaf;
    switch (g->op) {
    case OP_CONV: y = convrnn_conv2d(t, L[0], L[1], L[2], a->stride, (convrnn_padding)a->pad); break;
    case OP_DW: y = convrnn_depthwise_conv2d(t, L[0], L[1], L[2], a->stride, (convrnn_padding)a->pad); break;
    case OP_SEP: y = convrnn_separable_conv2d(t, L[0], L[1], L[2], L[3], a->stride, (convrnn_padding)a->pad); break;
    case OP_DENSE: y = convrnn_dense(t, L[0], L[1], L[2]); break;
    case OP_BIAS: y = convrnn_bias_add(t, L[0], L[1]); break;
    case OP_ACT: y = convrnn_activate(t, L[0], (convrnn_act)a->act); break;
    case OP_MAXPOOL: y = convrnn_maxpool(t, L[0], a->k, a->stride, (convrnn_padding)a->pad); break;
    case OP_GAP: y = convrnn_global_avgpool(t, L[0]); break;
    case OP_RESIZE: y = convrnn_resize_bilinear(t, L[0], a->oh, a->ow); break;
    case OP_CONCAT_SLICE: {
        convrnn_tensor *c = convrnn_concat(t, L, 3);
        /* a slice that straddles the inputs, then a nonlinearity so every input matters */
        y = convrnn_mul(t, convrnn_slice_channels(t, c, 1, 5), convrnn_slice_channels(t, c, 2, 5));
        break;
    }
    case OP_LN: y = convrnn_layer_norm(t, L[0], L[1], L[2], 1e-12); break;
    case OP_RESADD: y = convrnn_residual_add(t, L[0], L[1], g->nleaf > 2 ? L[2] : NULL); break;
    case OP_BINARY:
        y = a->bop == 0 ? convrnn_add(t, L[0], L[1]) : a->bop == 1 ? convrnn_sub(t, L[0], L[1]) : convrnn_mul(t, L[0], L[1]);
        break;
    case OP_AFFINE: y = convrnn_affine(t, L[0], -0.7, 0.3); break;
    case OP_XENT: {
        static const int labels[4] = { 2, 0, 5, 1 };
        return convrnn_softmax_xent(t, L[0], labels);
    }
    case OP_SUMS: {
        convrnn_tensor *s[2];
        s[0] = proj_loss(t, g, L[0], 0);
        s[1] = convrnn_dot_const(t, convrnn_mul(t, L[0], L[0]), g->wout);
        return convrnn_sum_scalars(t, s, 2);
    }
    }
    return proj_loss(t, g, y, 0);
}

static void op_case(const char *name, int op, opargs a, int nl, const int (*shapes)[5]) {
    gc g;
    int i;
    gc_init(&g, 1234 + (uint64_t)op * 77 + (uint64_t)strlen(name));
    g.op = op;
    g.aux = &a;
    for (i = 0; i < nl; i++) add_leaf(&g, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], shapes[i][4], 0.7);
    run_check(name, &g, op_fn);
    gc_free(&g);
}

static void test_ops(void) {
    opargs a;
    memset(&a, 0, sizeof a);
    {   /* conv2d: odd/even kernels, strides, SAME and VALID */
        static const int s1[3][5] = { { 4, 2, 5, 6, 3 }, { 4, 3, 3, 3, 4 }, { 1, 4, 1, 1, 1 } };
        static const int s2[3][5] = { { 4, 2, 5, 6, 3 }, { 4, 2, 2, 3, 4 }, { 1, 4, 1, 1, 1 } };
        static const int s3[3][5] = { { 4, 2, 5, 6, 3 }, { 4, 4, 4, 3, 2 }, { 1, 2, 1, 1, 1 } };
        static const int s4[3][5] = { { 4, 2, 9, 11, 3 }, { 4, 7, 7, 3, 4 }, { 1, 4, 1, 1, 1 } };
        static const int s5[3][5] = { { 4, 2, 7, 8, 3 }, { 4, 3, 3, 3, 4 }, { 1, 4, 1, 1, 1 } };
        a.stride = 1; a.pad = CONVRNN_SAME;
        op_case("conv_k3_s1_same", OP_CONV, a, 3, s1);
        op_case("conv_k2_s1_same", OP_CONV, a, 3, s2);
        op_case("conv_k4_s1_same", OP_CONV, a, 3, s3);
        a.stride = 2;
        op_case("conv_k7_s2_same", OP_CONV, a, 3, s4);
        op_case("conv_k3_s2_same", OP_CONV, a, 3, s5);
        a.pad = CONVRNN_VALID;
        op_case("conv_k3_s2_valid", OP_CONV, a, 3, s5);
        a.stride = 1;
        op_case("conv_k2_s1_valid", OP_CONV, a, 3, s2);
    }
    {
        static const int d1[3][5] = { { 4, 2, 5, 6, 3 }, { 4, 3, 3, 3, 1 }, { 1, 3, 1, 1, 1 } };
        static const int d2[3][5] = { { 4, 2, 5, 5, 3 }, { 4, 7, 7, 3, 1 }, { 1, 3, 1, 1, 1 } };
        static const int sp[4][5] = { { 4, 2, 6, 6, 3 }, { 4, 3, 3, 3, 1 }, { 4, 1, 1, 3, 5 }, { 1, 5, 1, 1, 1 } };
        a.stride = 1; a.pad = CONVRNN_SAME;
        op_case("dw_k3_s1_same", OP_DW, a, 3, d1);
        op_case("dw_k7_s1_same", OP_DW, a, 3, d2);
        a.stride = 2;
        op_case("dw_k3_s2_same", OP_DW, a, 3, d1);
        a.stride = 1;
        op_case("separable_k3", OP_SEP, a, 4, sp);
    }
    {
        static const int de[3][5] = { { 4, 3, 1, 1, 7 }, { 2, 7, 5, 1, 1 }, { 1, 5, 1, 1, 1 } };
        static const int de2[3][5] = { { 4, 3, 2, 2, 2 }, { 2, 8, 5, 1, 1 }, { 1, 5, 1, 1, 1 } };
        static const int bi[2][5] = { { 4, 2, 3, 4, 5 }, { 1, 5, 1, 1, 1 } };
        op_case("dense", OP_DENSE, a, 3, de);
        op_case("dense_flatten", OP_DENSE, a, 3, de2);
        op_case("bias_add", OP_BIAS, a, 2, bi);
    }
    {
        static const int x1[1][5] = { { 4, 2, 3, 4, 5 } };
        static const char *names[] = { "", "act_elu", "act_relu", "act_sigmoid", "act_tanh" };
        int i;
        for (i = 1; i < CONVRNN_ACT_COUNT; i++) { a.act = i; op_case(names[i], OP_ACT, a, 1, x1); }
        op_case("affine", OP_AFFINE, a, 1, x1);
        op_case("sum_scalars", OP_SUMS, a, 1, x1);
    }
    {
        static const int p1[1][5] = { { 4, 2, 7, 7, 3 } };
        static const int p2[1][5] = { { 4, 2, 8, 9, 3 } };
        a.k = 2; a.stride = 2; a.pad = CONVRNN_SAME;
        op_case("maxpool_k2_s2_same", OP_MAXPOOL, a, 1, p1);
        a.k = 3;
        op_case("maxpool_k3_s2_same", OP_MAXPOOL, a, 1, p2);
        a.k = 2; a.pad = CONVRNN_VALID;
        op_case("maxpool_k2_s2_valid", OP_MAXPOOL, a, 1, p1);
        op_case("global_avgpool", OP_GAP, a, 1, p2);
    }
    {
        static const int r1[1][5] = { { 4, 2, 3, 5, 2 } };
        static const int r2[1][5] = { { 4, 2, 7, 6, 2 } };
        a.oh = 7; a.ow = 9; op_case("resize_up", OP_RESIZE, a, 1, r1);
        a.oh = 4; a.ow = 3; op_case("resize_down", OP_RESIZE, a, 1, r2);
        a.oh = 1; a.ow = 1; op_case("resize_to1", OP_RESIZE, a, 1, r2);
    }
    {
        static const int cs[3][5] = { { 4, 2, 3, 3, 2 }, { 4, 2, 3, 3, 3 }, { 4, 2, 3, 3, 2 } };
        static const int ln[3][5] = { { 4, 2, 4, 5, 3 }, { 1, 3, 1, 1, 1 }, { 1, 3, 1, 1, 1 } };
        static const int ra[2][5] = { { 4, 2, 4, 4, 3 }, { 4, 2, 4, 4, 3 } };
        static const int rp[3][5] = { { 4, 2, 4, 4, 5 }, { 4, 2, 4, 4, 3 }, { 4, 1, 1, 3, 5 } };
        static const int rr[3][5] = { { 4, 2, 3, 3, 5 }, { 4, 2, 6, 6, 3 }, { 4, 1, 1, 3, 5 } };
        op_case("concat_slice", OP_CONCAT_SLICE, a, 3, cs);
        op_case("layer_norm", OP_LN, a, 3, ln);
        op_case("residual_identity", OP_RESADD, a, 2, ra);
        op_case("residual_proj", OP_RESADD, a, 3, rp);
        op_case("residual_resize_proj", OP_RESADD, a, 3, rr);
    }
    {
        static const int same[2][5] = { { 4, 2, 3, 3, 2 }, { 4, 2, 3, 3, 2 } };
        static const int samp[2][5] = { { 4, 2, 3, 3, 2 }, { 3, 3, 3, 2, 1 } };
        static const int scal[2][5] = { { 4, 2, 3, 3, 2 }, { 1, 1, 1, 1, 1 } };
        static const char *nm[3][3] = { { "add_same", "add_per_sample", "add_scalar" },
                                        { "sub_same", "sub_per_sample", "sub_scalar" },
                                        { "mul_same", "mul_per_sample", "mul_scalar" } };
        int bop;
        for (bop = 0; bop < 3; bop++) {
            a.bop = bop;
            op_case(nm[bop][0], OP_BINARY, a, 2, same);
            op_case(nm[bop][1], OP_BINARY, a, 2, samp);
            op_case(nm[bop][2], OP_BINARY, a, 2, scal);
        }
    }
    {
        static const int xe[1][5] = { { 2, 4, 6, 1, 1 } };
        op_case("softmax_xent", OP_XENT, a, 1, xe);
    }
}

/* ------------------------------------------------------------------ cell cases (BPTT over T steps) */
typedef struct cellcase {
    convrnn_cell cell;
    int T, N;
    int xi, ri, fi;   /* first leaf of each per-step input sequence (T leaves each; -1: none) */
} cellcase;

static convrnn_tensor *cell_fn(convrnn_tape *t, gc *g) {
    cellcase *cc = (cellcase *)g->aux;
    convrnn_tensor *state[2] = { NULL, NULL }, *y = NULL, *losses[16];
    int s;
    size_t off = 0;
    make_leaves(t, g);
    for (s = 0; s < cc->T; s++) {
        convrnn_cell_step(t, &cc->cell, g->ps, g->leaf[cc->xi + s], cc->ri >= 0 ? g->leaf[cc->ri + s] : NULL,
                          cc->fi >= 0 ? g->leaf[cc->fi + s] : NULL, state, &y);
        losses[s] = proj_loss(t, g, y, off);
        if (y) off += y->size;
    }
    /* the final states enter the loss too, so every step's inputs matter (e.g. feedback into the
       cell half at the last step only reaches the final cell state) */
    losses[cc->T] = proj_loss(t, g, state[0], off);
    if (state[0]) off += state[0]->size;
    if (cc->cell.n_state == 2) { losses[cc->T + 1] = proj_loss(t, g, state[1], off); }
    return convrnn_sum_scalars(t, losses, cc->T + cc->cell.n_state);
}

static void cell_case(const char *name, const convrnn_cell_config *cfg, int h, int w, int cu, int cr, int cf) {
    gc g;
    cellcase cc;
    convrnn_params ps;
    int s;
    gc_init(&g, 99 + strlen(name) * 31);
    convrnn_params_init_empty(&ps);
    memset(&cc, 0, sizeof cc);
    cc.T = 4; cc.N = 2; cc.ri = cc.fi = -1;
    CHECKF(convrnn_cell_create(&cc.cell, cfg, "t/", h, w, cu, cr, cf, &ps) == CONVRNN_OK, "%s: create: %s", name, ps.err.msg);
    CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK);
    CHECK(convrnn_params_init(&ps, 7) == CONVRNN_OK);
    {   /* moderate random weights (the default initializers are fine too, but this also makes
           biases and decay scalars nonzero so that every parameter gets a gradient) */
        size_t i;
        convrnn_rng r;
        convrnn_rng_seed(&r, 5);
        for (i = 0; i < ps.total; i++) ps.values[i] = 0.35 * convrnn_rng_normal(&r);
        for (i = 0; i < (size_t)ps.count; i++)
            if (strstr(ps.info[i].name, "gamma")) {
                size_t j;
                for (j = 0; j < ps.info[i].size; j++) ps.values[ps.info[i].offset + j] += 1.0;
            }
    }
    g.ps = &ps;
    g.aux = &cc;
    cc.xi = g.nleaf;
    for (s = 0; s < cc.T; s++) add_leaf(&g, 4, cc.N, h, w, cu, 1.0);
    if (cr) { cc.ri = g.nleaf; for (s = 0; s < cc.T; s++) add_leaf(&g, 4, cc.N, h, w, cr, 1.0); }
    if (cf) { cc.fi = g.nleaf; for (s = 0; s < cc.T; s++) add_leaf(&g, 4, cc.N, h, w, cf, 1.0); }
    run_check(name, &g, cell_fn);
    gc_free(&g);
    convrnn_params_free(&ps);
}

static void test_cells(void) {
    convrnn_cell_config c;
    c = convrnn_cell_config_default(CONVRNN_CELL_IDENTITY, 3);
    cell_case("identity", &c, 3, 3, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_TIMEDECAY, 3);
    cell_case("timedecay", &c, 4, 4, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_SIMPLERNN, 4);
    cell_case("simplernn", &c, 4, 5, 3, 0, 0);
    c.layer_norm = 1;
    cell_case("simplernn_ln", &c, 4, 5, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 4);
    cell_case("gru", &c, 4, 4, 3, 0, 0);
    c.layer_norm = 1; c.k = 2;
    cell_case("gru_ln_k2", &c, 4, 4, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_LSTM, 4);
    cell_case("lstm", &c, 4, 4, 3, 0, 0);
    c.layer_norm = 1; c.peepholes = 1; c.k = 2; c.forget_bias = 1.3561755;
    cell_case("lstm_ln_peep_k2", &c, 4, 4, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_UGRNN, 4);
    cell_case("ugrnn", &c, 4, 4, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_INTERSECTION, 3);
    cell_case("intersectionrnn", &c, 4, 4, 3, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_RGC, 4);
    c.rgc = convrnn_rgc_shallow_config();
    cell_case("rgc_shallow", &c, 4, 4, 4, 3, 0);
    c.rgc = convrnn_rgc_median_config();
    c.rgc.cell_depth = 3;
    cell_case("rgc_median", &c, 8, 8, 4, 2, 3);
    /* search-space switches beyond the two released instances */
    c.rgc = convrnn_rgc_median_config();
    c.rgc.cell_depth = 3; c.rgc.fb_entry = CONVRNN_FB_INPUT; c.rgc.fb_ds = 1; c.rgc.fb_k = 3; c.rgc.fb_act = CONVRNN_ACT_ELU;
    c.rgc.cell_to_out = 1; c.rgc.cell_residual = 1; c.rgc.input_to_tau = 1; c.rgc.input_to_gate = 1;
    c.rgc.tau_ds = 0; c.rgc.tau_k = 3; c.rgc.gate_ds = 0; c.rgc.gate_k = 2; c.rgc.layer_norm = 1;
    c.rgc.ff_ds = 1; c.rgc.ff_k = 3; c.rgc.tau_nl = CONVRNN_ACT_TANH; c.rgc.gate_nl = CONVRNN_ACT_SIGMOID;
    cell_case("rgc_search_a", &c, 5, 5, 4, 3, 2);
    c.rgc = convrnn_rgc_shallow_config();
    c.rgc.cell_depth = 2; c.rgc.fb_entry = CONVRNN_FB_CELL; c.rgc.fb_k = 2;
    c.rgc.residual_to_cell_tau = 1; c.rgc.residual_to_cell_gate = 1; c.rgc.residual_to_out_tau = 1;
    c.rgc.out_residual = 1; c.rgc.input_to_out = 1; c.rgc.in_out_ds = 1; c.rgc.input_act = CONVRNN_ACT_ELU;
    c.rgc.tau_ds = 1; c.rgc.gate_ds = 1; c.rgc.layer_norm = 1;
    cell_case("rgc_search_b", &c, 5, 4, 3, 2, 2);
    c.rgc = convrnn_rgc_shallow_config();
    c.rgc.cell_depth = 0; c.rgc.input_to_gate = 1; c.rgc.residual_to_out_gate = 0; c.rgc.out_residual = 1;
    cell_case("rgc_no_cell", &c, 4, 4, 4, 3, 0);
}

int main(void) {
    printf("%s\n", convrnn_build_info());
    test_ops();
    test_cells();
    return TEST_END("grad");
}
