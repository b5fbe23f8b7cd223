/* Every layer op and every recurrent cell against the PyTorch float64 reference fixtures in
   tests/fixtures/core (README.md there documents each case). For each case the inputs and
   parameters are loaded from the fixture, the C forward runs, the fixture's upstream gradient dy is
   pushed back, and the output (every step for cells), the loss sum(y*dy) and every gradient are
   compared. Each case prints one line with its max absolute and max relative error; a failing
   comparison names the tensor. Every tensor of a case must be consumed (so no gradient is skipped),
   and for cells every parameter the C cell declares must be in the fixture and vice versa.

   Compiled as is this is the float build; tests/test_fixtures_double.c defines CONVRNN_USE_DOUBLE
   and includes this file for the double build, with tight tolerances.

   Fixture directory: $CONVRNN_FIXTURES (the directory holding ops.safetensors and cells.safetensors,
   or its parent), else tests/fixtures/core relative to the working directory (make test runs from
   the repository root), else fixtures/core. A missing or unreadable file is a failed check. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifdef CONVRNN_USE_DOUBLE
#define FX_NAME "fixtures_double"
#define FX_PREC "double"
/* the fixtures are float64 autograd results: only summation order separates us from them */
#define FX_ATOL 1e-10
#define FX_RTOL 1e-9
#else
#define FX_NAME "fixtures_float"
#define FX_PREC "float"
/* float32 rounding of O(1) values through conv sums of up to ~400 terms and 4 BPTT steps */
#define FX_ATOL 1e-4
#define FX_RTOL 1e-4
#endif
/* the relative error reported is |got-ref|/|ref| over elements with |ref| >= FX_REL_FLOOR
   (smaller ones are judged by FX_ATOL alone) */
#define FX_REL_FLOOR 1e-3

#define FX_MAXT 8

/* ------------------------------------------------------------------ fixture access */

typedef struct fx {
    const convrnn_safetensors *st;
    const char *cs;        /* case name */
    char *used;            /* one flag per tensor of the file */
    double max_abs, max_rel;
    int nbad;              /* failing tensors in this case */
    int ncmp;              /* tensors compared */
} fx;

static const convrnn_st_tensor *fx_find(fx *f, const char *key) {
    char name[256];
    const convrnn_st_tensor *t;
    snprintf(name, sizeof name, "%s/%s", f->cs, key);
    t = convrnn_st_find(f->st, name);
    if (t) f->used[t - f->st->tensors] = 1;
    return t;
}
static const convrnn_st_tensor *fx_need(fx *f, const char *key) {
    const convrnn_st_tensor *t = fx_find(f, key);
    CHECKF(t != NULL, "%s: fixture tensor %s/%s missing", f->cs, f->cs, key);
    if (!t) f->nbad++;
    return t;
}
/* the tensor as doubles (malloc'd) or NULL */
static double *fx_f64(fx *f, const convrnn_st_tensor *t) {
    double *v;
    convrnn_error e;
    if (!t) return NULL;
    v = (double *)malloc((t->count ? t->count : 1) * sizeof *v);
    convrnn_error_clear(&e);
    if (convrnn_st_tensor_to_f64(t, v, t->count, &e) != CONVRNN_OK) {
        CHECKF(0, "%s: cannot convert %s: %s", f->cs, t->name, e.msg);
        f->nbad++;
        free(v);
        return NULL;
    }
    return v;
}
/* the tensor in the build's real type (malloc'd) or NULL */
static convrnn_real *fx_real(fx *f, const convrnn_st_tensor *t) {
    double *d = fx_f64(f, t);
    convrnn_real *r;
    size_t i;
    if (!d) return NULL;
    r = (convrnn_real *)malloc((t->count ? t->count : 1) * sizeof *r);
    for (i = 0; i < t->count; i++) r[i] = (convrnn_real)d[i];
    free(d);
    return r;
}
static const char *fx_meta(fx *f, const char *key) {
    char name[256];
    snprintf(name, sizeof name, "%s/%s", f->cs, key);
    return convrnn_st_meta(f->st, name);
}
static int fx_meta_int(fx *f, const char *key, int dflt) {
    const char *v = fx_meta(f, key);
    return v ? atoi(v) : dflt;
}
static double fx_meta_dbl(fx *f, const char *key, double dflt) {
    const char *v = fx_meta(f, key);
    return v ? strtod(v, NULL) : dflt;
}
static int fx_meta_bool(fx *f, const char *key) {
    const char *v = fx_meta(f, key);
    return v && !strcmp(v, "true");
}

/* Compare got[0..n) with the fixture tensor `key` (whose element count must be n). */
static void fx_compare(fx *f, const char *key, const convrnn_real *got, size_t n) {
    const convrnn_st_tensor *t = fx_need(f, key);
    double *ref, ma = 0, mr = 0;
    size_t i, worst = 0;
    int ok = 1;
    if (!t) return;
    if (!got) {
        CHECKF(0, "%s: %s: no value computed (NULL)", f->cs, key);
        f->nbad++;
        return;
    }
    if (t->count != n) {
        CHECKF(0, "%s: %s: %zu elements computed, fixture has %zu", f->cs, key, n, t->count);
        f->nbad++;
        return;
    }
    ref = fx_f64(f, t);
    if (!ref) return;
    for (i = 0; i < n; i++) {
        const double g = (double)got[i], r = ref[i], e = fabs(g - r);
        if (!(e <= FX_ATOL + FX_RTOL * fabs(r))) {   /* also catches NaN */
            if (ok || e > fabs((double)got[worst] - ref[worst]) || e != e) worst = i;
            ok = 0;
        }
        if (e > ma || e != e) ma = e;
        if (fabs(r) >= FX_REL_FLOOR && e / fabs(r) > mr) mr = e / fabs(r);
    }
    CHECKF(ok, "%s (%s): tensor %s mismatch: worst element %zu got %.10g want %.10g (max abs %.3g)",
           f->cs, FX_PREC, key, worst, (double)got[worst], ref[worst], ma);
    if (!ok) f->nbad++;
    if (ma > f->max_abs || ma != ma) f->max_abs = ma;
    if (mr > f->max_rel) f->max_rel = mr;
    f->ncmp++;
    free(ref);
}

/* every tensor of the case has been consumed */
static void fx_all_used(fx *f) {
    int i;
    size_t len = strlen(f->cs);
    if (f->nbad) return;   /* the case already failed before consuming everything */
    for (i = 0; i < f->st->count; i++) {
        const char *nm = f->st->tensors[i].name;
        if (!strncmp(nm, f->cs, len) && nm[len] == '/') {
            CHECKF(f->used[i], "%s: fixture tensor %s was not used by the test", f->cs, nm);
            if (!f->used[i]) f->nbad++;
        }
    }
}

static void fx_begin(fx *f, const convrnn_safetensors *st, char *used, const char *cs) {
    memset(f, 0, sizeof *f);
    f->st = st; f->used = used; f->cs = cs;
}
static void fx_end(fx *f) {
    fx_all_used(f);
    printf("%-7s %-20s tensors %2d  max abs %.3e  max rel %.3e  %s\n", FX_PREC, f->cs, f->ncmp, f->max_abs,
           f->max_rel, f->nbad ? "FAIL" : "ok");
}

/* A tape input (with gradient) holding the fixture tensor `key` in its own shape (rank 1..4). */
static convrnn_tensor *fx_input(fx *f, convrnn_tape *t, const char *key) {
    const convrnn_st_tensor *s = fx_need(f, key);
    convrnn_real *v;
    convrnn_tensor *x;
    int dims[4], i;
    if (!s) return NULL;
    if (s->ndim < 1 || s->ndim > 4) {
        CHECKF(0, "%s: %s has rank %d", f->cs, key, s->ndim);
        f->nbad++;
        return NULL;
    }
    for (i = 0; i < s->ndim; i++) dims[i] = (int)s->shape[i];
    v = fx_real(f, s);
    if (!v) return NULL;
    x = convrnn_tape_input_nd(t, s->ndim, dims, v, 1);
    free(v);
    return x;
}

/* ------------------------------------------------------------------ ops */

static convrnn_padding fx_pad(fx *f) {
    const char *p = fx_meta(f, "padding");
    return p && !strcmp(p, "VALID") ? CONVRNN_VALID : CONVRNN_SAME;
}

static void run_op(const convrnn_safetensors *st, char *used, const char *cs) {
    fx f;
    convrnn_tape t;
    const char *op;
    convrnn_tensor *in[4] = { NULL, NULL, NULL, NULL }, *y = NULL, *loss = NULL;
    const char *in_names[4] = { NULL, NULL, NULL, NULL };
    int nin = 0, i, *labels = NULL;
    convrnn_real *dy = NULL;
    fx_begin(&f, st, used, cs);
    convrnn_tape_init(&t, 1);
    op = fx_meta(&f, "op");
    CHECKF(op != NULL, "%s: no op metadata", cs);
    if (!op) { f.nbad++; fx_end(&f); return; }
#define IN(key) (in_names[nin] = (key), in[nin++] = fx_input(&f, &t, (key)))
    if (!strcmp(op, "conv2d") || !strcmp(op, "depthwise_conv2d")) {
        const int stride = fx_meta_int(&f, "stride", 1);
        convrnn_tensor *x = IN("x"), *w = IN("p/weights"), *b = IN("p/bias");
        CHECKF(w && w->d[0] == fx_meta_int(&f, "kh", -1) && w->d[1] == fx_meta_int(&f, "kw", -1),
               "%s: kernel size differs from the metadata", cs);
        y = op[0] == 'c' ? convrnn_conv2d(&t, x, w, b, stride, fx_pad(&f))
                         : convrnn_depthwise_conv2d(&t, x, w, b, stride, fx_pad(&f));
    } else if (!strcmp(op, "separable_conv2d")) {
        convrnn_tensor *x = IN("x"), *dw = IN("p/dw"), *pw = IN("p/pw"), *b = IN("p/b");
        y = convrnn_separable_conv2d(&t, x, dw, pw, b, fx_meta_int(&f, "stride", 1), fx_pad(&f));
    } else if (!strcmp(op, "dense")) {
        convrnn_tensor *x = IN("x"), *w = IN("p/weights"), *b = IN("p/bias");
        y = convrnn_dense(&t, x, w, b);
    } else if (!strcmp(op, "elu") || !strcmp(op, "relu") || !strcmp(op, "sigmoid") || !strcmp(op, "tanh")) {
        convrnn_act a = CONVRNN_ACT_IDENTITY;
        CHECKF(convrnn_act_parse(op, &a), "%s: activation %s not parsed", cs, op);
        y = convrnn_activate(&t, IN("x"), a);
    } else if (!strcmp(op, "max_pool")) {
        CHECK(fx_meta_int(&f, "kh", -1) == fx_meta_int(&f, "kw", -2));
        y = convrnn_maxpool(&t, IN("x"), fx_meta_int(&f, "kh", 1), fx_meta_int(&f, "stride", 1), fx_pad(&f));
    } else if (!strcmp(op, "global_avg_pool")) {
        y = convrnn_global_avgpool(&t, IN("x"));
    } else if (!strcmp(op, "resize_bilinear")) {
        const char *ac = fx_meta(&f, "align_corners");
        CHECKF(ac && !strcmp(ac, "true"), "%s: only align_corners=true exists in the library", cs);
        y = convrnn_resize_bilinear(&t, IN("x"), fx_meta_int(&f, "out_h", 0), fx_meta_int(&f, "out_w", 0));
    } else if (!strcmp(op, "layer_norm")) {
        convrnn_tensor *x = IN("x"), *g = IN("p/gamma"), *b = IN("p/beta");
        y = convrnn_layer_norm(&t, x, g, b, fx_meta_dbl(&f, "epsilon", 1e-12));
    } else if (!strcmp(op, "residual_add")) {
        const char *mode = fx_meta(&f, "mode");
        convrnn_tensor *u = IN("x0"), *r = IN("x1"), *p = NULL;
        if (mode && strcmp(mode, "identity")) p = IN("p/proj");
        y = convrnn_residual_add(&t, u, r, p);
    } else if (!strcmp(op, "softmax_xent")) {
        const convrnn_st_tensor *ls = fx_need(&f, "labels");
        convrnn_tensor *x = IN("x");
        double *lv = fx_f64(&f, ls);
        CHECKF(!fx_meta(&f, "reduction") || !strcmp(fx_meta(&f, "reduction"), "mean"), "%s: reduction", cs);
        if (lv && x) {
            labels = (int *)malloc(ls->count * sizeof *labels);
            CHECKF(ls->count == (size_t)x->d[0], "%s: %zu labels for %d samples", cs, ls->count, x->d[0]);
            for (i = 0; i < (int)ls->count; i++) labels[i] = (int)lv[i];
            if (ls->count == (size_t)x->d[0]) y = convrnn_softmax_xent(&t, x, labels);
        }
        free(lv);
    } else {
        CHECKF(0, "%s: unknown op '%s' in the fixture", cs, op);
        f.nbad++;
    }
#undef IN
    dy = fx_real(&f, fx_need(&f, "dy"));
    if (y && dy) {
        CHECKF(y->size == fx_need(&f, "dy")->count, "%s: output has %zu elements, dy %zu", cs, y->size,
               fx_need(&f, "dy")->count);
        if (y->size == fx_need(&f, "dy")->count) loss = convrnn_dot_const(&t, y, dy);
    }
    CHECKF(convrnn_tape_status(&t) == CONVRNN_OK && loss, "%s: forward failed: %s", cs, t.err.msg);
    if (loss) {
        CHECKF(convrnn_tape_backward(&t, loss) == CONVRNN_OK, "%s: backward failed: %s", cs, t.err.msg);
        fx_compare(&f, "y", y->data, y->size);
        fx_compare(&f, "loss", loss->data, 1);
        for (i = 0; i < nin; i++) {
            char key[96];
            snprintf(key, sizeof key, "grad/%s", in_names[i]);
            fx_compare(&f, key, in[i] ? in[i]->grad : NULL, in[i] ? in[i]->size : 0);
        }
    } else {
        f.nbad++;
    }
    free(dy);
    free(labels);
    convrnn_tape_free(&t);
    fx_end(&f);
}

/* ------------------------------------------------------------------ cells */

/* cell = "rgc": the general search-space form; every option of convrnn_rgc_config is in the
   metadata (named as in the graph text format). Returns 0 if one is missing or malformed. */
static int rgc_config(fx *f, convrnn_rgc_config *g) {
    static const struct { const char *key; size_t off; } ints[] = {
#define FX_RI(name) { #name, offsetof(convrnn_rgc_config, name) }
        FX_RI(tau_k), FX_RI(gate_k), FX_RI(ff_k), FX_RI(in_out_k), FX_RI(fb_k),
        FX_RI(tau_ds), FX_RI(gate_ds), FX_RI(ff_ds), FX_RI(in_out_ds), FX_RI(fb_ds),
        FX_RI(input_to_cell), FX_RI(input_to_out), FX_RI(cell_to_out), FX_RI(cell_residual), FX_RI(out_residual),
        FX_RI(residual_to_cell_tau), FX_RI(residual_to_cell_gate), FX_RI(residual_to_out_tau),
        FX_RI(residual_to_out_gate), FX_RI(input_to_tau), FX_RI(input_to_gate),
        { "rgc_layer_norm", offsetof(convrnn_rgc_config, layer_norm) }, { "Cc", offsetof(convrnn_rgc_config, cell_depth) }
#undef FX_RI
    };
    static const struct { const char *key; size_t off; } dbls[] = {
        { "tau_offset", offsetof(convrnn_rgc_config, tau_offset) }, { "tau_mult", offsetof(convrnn_rgc_config, tau_mult) },
        { "gate_offset", offsetof(convrnn_rgc_config, gate_offset) }, { "gate_mult", offsetof(convrnn_rgc_config, gate_mult) },
        { "tau_bias", offsetof(convrnn_rgc_config, tau_bias) }, { "gate_bias", offsetof(convrnn_rgc_config, gate_bias) }
    };
    static const struct { const char *key; size_t off; } acts[] = {
        { "tau_nl", offsetof(convrnn_rgc_config, tau_nl) }, { "gate_nl", offsetof(convrnn_rgc_config, gate_nl) },
        { "input_act", offsetof(convrnn_rgc_config, input_act) }, { "cell_act", offsetof(convrnn_rgc_config, cell_act) },
        { "out_act", offsetof(convrnn_rgc_config, out_act) }, { "fb_act", offsetof(convrnn_rgc_config, fb_act) }
    };
    const char *v;
    size_t i;
    *g = convrnn_rgc_shallow_config();
    v = fx_meta(f, "flavor");
    if (!v || (strcmp(v, "shallow") && strcmp(v, "median"))) return 0;
    g->flavor = strcmp(v, "median") ? CONVRNN_RGC_SHALLOW : CONVRNN_RGC_MEDIAN;
    v = fx_meta(f, "fb_entry");
    if (!v) return 0;
    if (!strcmp(v, "input")) g->fb_entry = CONVRNN_FB_INPUT;
    else if (!strcmp(v, "cell")) g->fb_entry = CONVRNN_FB_CELL;
    else if (!strcmp(v, "out")) g->fb_entry = CONVRNN_FB_OUT;
    else return 0;
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!fx_meta(f, ints[i].key)) return 0;
        *(int *)((char *)g + ints[i].off) = fx_meta_int(f, ints[i].key, 0);
    }
    for (i = 0; i < sizeof dbls / sizeof dbls[0]; i++) {
        if (!fx_meta(f, dbls[i].key)) return 0;
        *(double *)((char *)g + dbls[i].off) = fx_meta_dbl(f, dbls[i].key, 0);
    }
    for (i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (!convrnn_act_parse(fx_meta(f, acts[i].key), (convrnn_act *)((char *)g + acts[i].off))) return 0;
    return 1;
}

/* Configure the C cell for a fixture cell case; returns 0 if the case's cell kind is unknown. */
static int cell_config(fx *f, convrnn_cell_config *c, int *cr, int *cf) {
    const char *kind = fx_meta(f, "cell");
    const int D = fx_meta_int(f, "D", 0);
    *cr = fx_meta_int(f, "Cr", 0);
    *cf = fx_meta_int(f, "Cf", 0);
    if (!kind) return 0;
    if (!strcmp(kind, "timedecay")) *c = convrnn_cell_config_default(CONVRNN_CELL_TIMEDECAY, D);
    else if (!strcmp(kind, "simplernn")) *c = convrnn_cell_config_default(CONVRNN_CELL_SIMPLERNN, D);
    else if (!strcmp(kind, "gru")) *c = convrnn_cell_config_default(CONVRNN_CELL_GRU, D);
    else if (!strcmp(kind, "lstm")) *c = convrnn_cell_config_default(CONVRNN_CELL_LSTM, D);
    else if (!strcmp(kind, "ugrnn")) *c = convrnn_cell_config_default(CONVRNN_CELL_UGRNN, D);
    else if (!strcmp(kind, "intersectionrnn")) *c = convrnn_cell_config_default(CONVRNN_CELL_INTERSECTION, D);
    else if (!strcmp(kind, "rgc_shallow") || !strcmp(kind, "rgc_median")) {
        *c = convrnn_cell_config_default(CONVRNN_CELL_RGC, D);
        if (!strcmp(kind, "rgc_shallow")) {
            const int k = fx_meta_int(f, "k", 3);
            c->rgc = convrnn_rgc_shallow_config();
            c->rgc.tau_k = c->rgc.gate_k = c->rgc.ff_k = c->rgc.in_out_k = c->rgc.fb_k = k;
        } else {
            c->rgc = convrnn_rgc_median_config();
            c->rgc.ff_k = fx_meta_int(f, "ff_filter_size", c->rgc.ff_k);
            c->rgc.in_out_k = fx_meta_int(f, "in_out_filter_size", c->rgc.in_out_k);
            c->rgc.tau_k = fx_meta_int(f, "tau_filter_size", c->rgc.tau_k);
            c->rgc.gate_k = fx_meta_int(f, "gate_filter_size", c->rgc.gate_k);
            c->rgc.fb_k = fx_meta_int(f, "feedback_filter_size", c->rgc.fb_k);
        }
        c->rgc.cell_depth = fx_meta_int(f, "Cc", c->rgc.cell_depth);
        c->rgc.tau_offset = fx_meta_dbl(f, "tau_offset", c->rgc.tau_offset);
        c->rgc.tau_mult = fx_meta_dbl(f, "tau_multiplier", c->rgc.tau_mult);
        c->rgc.gate_offset = fx_meta_dbl(f, "gate_offset", c->rgc.gate_offset);
        c->rgc.gate_mult = fx_meta_dbl(f, "gate_multiplier", c->rgc.gate_mult);
    } else if (!strcmp(kind, "rgc")) {
        *c = convrnn_cell_config_default(CONVRNN_CELL_RGC, D);
        if (!rgc_config(f, &c->rgc)) return 0;
    } else {
        return 0;
    }
    c->k = fx_meta_int(f, "k", c->k);
    c->forget_bias = fx_meta_dbl(f, "forget_bias", c->forget_bias);
    c->layer_norm = fx_meta_bool(f, "layer_norm");
    c->peepholes = fx_meta_bool(f, "peepholes");
    return 1;
}

/* the fixture key "p/<name>" of a C parameter "<scope><Class>/<name>" (timedecay: "<scope><name>") */
static const char *cell_rel_name(const convrnn_cell *cell, const char *full, const char *scope) {
    const char *s = full + strlen(scope);
    if (strncmp(full, scope, strlen(scope))) return NULL;
    if (cell->cfg.type != CONVRNN_CELL_TIMEDECAY && cell->cfg.type != CONVRNN_CELL_IDENTITY) {
        s = strchr(s, '/');
        if (!s) return NULL;
        s++;
    }
    return s;
}

/* a [T,N,H,W,C] sequence input: one tape input per step, with gradients */
static convrnn_real *seq_load(fx *f, const char *key, int T, int N, int H, int W, int C) {
    const convrnn_st_tensor *s = fx_need(f, key);
    int ok;
    if (!s) return NULL;
    ok = s->ndim == 5 && s->shape[0] == T && s->shape[1] == N && s->shape[2] == H && s->shape[3] == W && s->shape[4] == C;
    CHECKF(ok, "%s: %s is not [%d,%d,%d,%d,%d]", f->cs, key, T, N, H, W, C);
    if (!ok) { f->nbad++; return NULL; }
    return fx_real(f, s);
}

static void run_cell(const convrnn_safetensors *st, char *used, const char *cs) {
    static const char *scope = "fx/";
    fx f;
    convrnn_cell_config cfg;
    convrnn_cell cell;
    convrnn_params ps;
    convrnn_tape t;
    int Tn, N, H, W, Cu, D, cr = 0, cf = 0, i, s, ok;
    size_t step_x, step_r, step_f, step_y;
    convrnn_real *xv = NULL, *rv = NULL, *fv = NULL, *dy = NULL, *ybuf = NULL, *gx = NULL, *gr = NULL, *gf = NULL;
    convrnn_tensor *xs[FX_MAXT], *rs[FX_MAXT], *fs[FX_MAXT], *ys[FX_MAXT], *state[2] = { NULL, NULL };
    fx_begin(&f, st, used, cs);
    convrnn_params_init_empty(&ps);
    convrnn_tape_init(&t, 1);
    Tn = fx_meta_int(&f, "T", 0); N = fx_meta_int(&f, "N", 0);
    H = fx_meta_int(&f, "H", 0); W = fx_meta_int(&f, "W", 0);
    D = fx_meta_int(&f, "D", 0);
    {   /* Cu: metadata, else the last dim of x (the RGC cases do not list it) */
        const convrnn_st_tensor *xt = fx_find(&f, "x");
        Cu = fx_meta_int(&f, "Cu", xt && xt->ndim == 5 ? (int)xt->shape[4] : 0);
    }
    ok = Tn > 0 && Tn <= FX_MAXT && N > 0 && H > 0 && W > 0 && Cu > 0 && D > 0;
    CHECKF(ok, "%s: bad cell metadata (T %d N %d H %d W %d Cu %d D %d)", cs, Tn, N, H, W, Cu, D);
    if (!ok) { f.nbad++; goto done; }
    ok = cell_config(&f, &cfg, &cr, &cf);
    CHECKF(ok, "%s: unknown cell kind (or incomplete RGC metadata) '%s'", cs, fx_meta(&f, "cell") ? fx_meta(&f, "cell") : "(none)");
    if (!ok) { f.nbad++; goto done; }
    ok = convrnn_cell_create(&cell, &cfg, scope, H, W, Cu, cr, cf, &ps) == CONVRNN_OK &&
         convrnn_params_finalize(&ps) == CONVRNN_OK;
    CHECKF(ok, "%s: cell create failed: %s", cs, ps.err.msg);
    if (!ok) { f.nbad++; goto done; }
    CHECKF(cell.out_c == D, "%s: cell output depth %d, fixture D %d", cs, cell.out_c, D);

    /* parameters: every declared one is in the fixture with the same shape; load its value */
    for (i = 0; i < ps.count; i++) {
        const convrnn_param_info *pi = &ps.info[i];
        const char *rel = cell_rel_name(&cell, pi->name, scope);
        char key[CONVRNN_NAME_MAX + 8];
        const convrnn_st_tensor *pt;
        int j, same;
        CHECKF(rel != NULL, "%s: parameter %s outside scope/class", cs, pi->name);
        if (!rel) { f.nbad++; continue; }
        snprintf(key, sizeof key, "p/%s", rel);
        pt = fx_find(&f, key);
        CHECKF(pt != NULL, "%s: the C cell declares %s, the fixture has no %s/%s", cs, pi->name, cs, key);
        if (!pt) { f.nbad++; continue; }
        same = pt->ndim == pi->rank;
        for (j = 0; same && j < pi->rank; j++) same = pt->shape[j] == pi->d[j];
        CHECKF(same, "%s: %s shape differs from fixture %s (rank %d vs %d)", cs, pi->name, pt->name, pi->rank, pt->ndim);
        if (!same) { f.nbad++; continue; }
        {
            convrnn_real *v = fx_real(&f, pt);
            if (v) memcpy(ps.values + pi->offset, v, pi->size * sizeof *v);
            free(v);
        }
    }
    /* ... and every fixture parameter is declared by the C cell */
    {
        char pre[128];
        size_t pl;
        snprintf(pre, sizeof pre, "%s/p/", cs);
        pl = strlen(pre);
        for (i = 0; i < st->count; i++) {
            const char *nm = st->tensors[i].name;
            if (!strncmp(nm, pre, pl)) {
                int j, found = 0;
                for (j = 0; j < ps.count && !found; j++) {
                    const char *rel = cell_rel_name(&cell, ps.info[j].name, scope);
                    found = rel && !strcmp(rel, nm + pl);
                }
                CHECKF(found, "%s: fixture parameter %s is not declared by the C cell", cs, nm);
                if (!found) f.nbad++;
            }
        }
    }

    step_x = (size_t)N * H * W * Cu;
    step_r = (size_t)N * H * W * cr;
    step_f = (size_t)N * H * W * cf;
    step_y = (size_t)N * H * W * D;
    xv = seq_load(&f, "x", Tn, N, H, W, Cu);
    if (cr) rv = seq_load(&f, "r", Tn, N, H, W, cr);
    if (cf) fv = seq_load(&f, "f", Tn, N, H, W, cf);
    dy = seq_load(&f, "dy", Tn, N, H, W, D);
    if (!xv || !dy || (cr && !rv) || (cf && !fv)) { f.nbad++; goto done; }

    /* forward over T steps from zero state */
    convrnn_params_zero_grad(&ps);
    for (s = 0; s < Tn; s++) {
        convrnn_tensor *y = NULL;
        xs[s] = convrnn_tape_input(&t, N, H, W, Cu, xv + s * step_x, 1);
        rs[s] = cr ? convrnn_tape_input(&t, N, H, W, cr, rv + s * step_r, 1) : NULL;
        fs[s] = cf ? convrnn_tape_input(&t, N, H, W, cf, fv + s * step_f, 1) : NULL;
        convrnn_cell_step(&t, &cell, &ps, xs[s], rs[s], fs[s], state, &y);
        ys[s] = y;
    }
    ok = convrnn_tape_status(&t) == CONVRNN_OK;
    CHECKF(ok, "%s: forward failed: %s", cs, t.err.msg);
    if (!ok) { f.nbad++; goto done; }
    /* seed every step's output gradient with dy[t] and sweep back through time */
    for (s = 0; s < Tn; s++) {
        size_t j;
        ok = ys[s] && ys[s]->size == step_y && ys[s]->grad;
        CHECKF(ok, "%s: step %d output missing, misshaped or without gradient", cs, s);
        if (!ok) { f.nbad++; goto done; }
        for (j = 0; j < step_y; j++) ys[s]->grad[j] += dy[s * step_y + j];
    }
    ok = convrnn_tape_backward_seeded(&t) == CONVRNN_OK;
    CHECKF(ok, "%s: backward failed: %s", cs, t.err.msg);
    if (!ok) { f.nbad++; goto done; }

    /* gather per-step outputs and input gradients into [T,...] buffers */
    ybuf = (convrnn_real *)malloc(Tn * step_y * sizeof *ybuf);
    gx = (convrnn_real *)calloc(Tn * step_x, sizeof *gx);
    if (cr) gr = (convrnn_real *)calloc(Tn * step_r, sizeof *gr);
    if (cf) gf = (convrnn_real *)calloc(Tn * step_f, sizeof *gf);
    {
        double loss = 0;
        size_t j;
        for (s = 0; s < Tn; s++) {
            memcpy(ybuf + s * step_y, ys[s]->data, step_y * sizeof *ybuf);
            for (j = 0; j < step_y; j++) loss += (double)ys[s]->data[j] * dy[s * step_y + j];
            if (xs[s]->grad) memcpy(gx + s * step_x, xs[s]->grad, step_x * sizeof *gx);
            if (cr && rs[s]->grad) memcpy(gr + s * step_r, rs[s]->grad, step_r * sizeof *gr);
            if (cf && fs[s]->grad) memcpy(gf + s * step_f, fs[s]->grad, step_f * sizeof *gf);
        }
        {
            convrnn_real lr = (convrnn_real)loss;
            fx_compare(&f, "y", ybuf, Tn * step_y);
            fx_compare(&f, "loss", &lr, 1);
        }
    }
    fx_compare(&f, "grad/x", gx, Tn * step_x);
    if (cr) fx_compare(&f, "grad/r", gr, Tn * step_r);
    if (cf) fx_compare(&f, "grad/f", gf, Tn * step_f);
    for (i = 0; i < ps.count; i++) {
        const convrnn_param_info *pi = &ps.info[i];
        const char *rel = cell_rel_name(&cell, pi->name, scope);
        char key[CONVRNN_NAME_MAX + 8];
        if (!rel) continue;
        CHECKF(pi->trainable, "%s: %s is not trainable", cs, pi->name);
        snprintf(key, sizeof key, "grad/p/%s", rel);
        fx_compare(&f, key, ps.grads + pi->offset, pi->size);
    }
done:
    free(xv); free(rv); free(fv); free(dy); free(ybuf); free(gx); free(gr); free(gf);
    convrnn_tape_free(&t);
    convrnn_params_free(&ps);
    fx_end(&f);
}

/* ------------------------------------------------------------------ files */

static int open_fixture(const char *file, convrnn_safetensors *st) {
    const char *env = getenv("CONVRNN_FIXTURES");
    char path[1024];
    const char *dirs[4];
    int nd = 0, i;
    convrnn_error e;
    if (env && env[0]) {
        dirs[nd++] = env;
    } else {
        dirs[nd++] = "tests/fixtures/core";
        dirs[nd++] = "fixtures/core";
    }
    for (i = 0; i < nd; i++) {
        FILE *fp;
        int k;
        for (k = 0; k < 2; k++) {
            snprintf(path, sizeof path, k ? "%s/core/%s" : "%s/%s", dirs[i], file);
            if ((fp = fopen(path, "rb")) == NULL) continue;
            fclose(fp);
            convrnn_error_clear(&e);
            if (convrnn_st_read(path, st, &e) != CONVRNN_OK) {
                CHECKF(0, "cannot parse fixture %s: %s", path, e.msg);
                return 0;
            }
            CHECKF(convrnn_st_meta(st, "format") && !strcmp(convrnn_st_meta(st, "format"), "convrnn-fixture-1"),
                   "%s: unexpected format metadata", path);
            return 1;
        }
    }
    CHECKF(0, "fixture file %s not found (looked in %s%s; set CONVRNN_FIXTURES)", file,
           env && env[0] ? env : "tests/fixtures/core", env && env[0] ? "" : " and fixtures/core");
    return 0;
}

static void run_file(const char *file, int cells, int expect_cases) {
    convrnn_safetensors st;
    const char *cases;
    char *list, *p;
    char *used;
    int n = 0, i;
    memset(&st, 0, sizeof st);
    if (!open_fixture(file, &st)) return;
    cases = convrnn_st_meta(&st, "cases");
    CHECKF(cases != NULL, "%s: no 'cases' metadata", file);
    if (!cases) { convrnn_st_free(&st); return; }
    used = (char *)calloc((size_t)st.count + 1, 1);
    list = (char *)malloc(strlen(cases) + 1);
    strcpy(list, cases);
    for (p = strtok(list, ","); p; p = strtok(NULL, ",")) {
        if (cells) run_cell(&st, used, p);
        else run_op(&st, used, p);
        n++;
    }
    CHECKF(n == expect_cases, "%s: %d cases, expected %d", file, n, expect_cases);
    /* no tensor outside the listed cases */
    for (i = 0; i < st.count; i++) {
        const char *nm = st.tensors[i].name, *sl = strchr(nm, '/');
        size_t cl = sl ? (size_t)(sl - nm) : strlen(nm);
        const char *c = cases;
        int listed = 0;
        while (*c && !listed) {
            size_t l = strcspn(c, ",");
            listed = l == cl && !strncmp(c, nm, cl);
            c += l + (c[l] == ',');
        }
        CHECKF(listed, "%s: tensor %s belongs to no listed case", file, nm);
    }
    free(list);
    free(used);
    convrnn_st_free(&st);
}

int main(void) {
    printf("%s\n", convrnn_build_info());
    CHECK(sizeof(convrnn_real) == (strcmp(FX_PREC, "double") ? sizeof(float) : sizeof(double)));
    run_file("ops.safetensors", 0, 42);
    run_file("cells.safetensors", 1, 18);
    return TEST_END(FX_NAME);
}
