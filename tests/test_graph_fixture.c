/* The delay-graph unroller against the PyTorch float64 reference of tests/fixtures/graph
   (gen_graph.py): a 4-node graph with an RGC (median flavour) node, a GRU node, a residual
   projection and three feedback edges (conv3 -> conv1, conv2 -> conv1, conv3 -> conv2) unrolled for
   T = 5 steps with the image off at step 3.

   The graph text is parsed from small_feedback.cfg, the model created from it, its parameters loaded
   with convrnn_model_load_st from small_feedback_weights.safetensors (which holds exactly the model's
   tensors), and small_feedback.safetensors supplies the images and the reference values:
     out/<node>/<t>   every node's output at every step;
     loss, grad/<p>   loss = sum_t sum(logits_t * dy/<t>) and its gradient (BPTT through every edge)
                      for every parameter;
     dec/...          the max_conf decoder over the window [3, T): output, the selected steps, the
                      loss sum(dec/y * dec/dy) and its parameter gradients.
   Each compared tensor prints one line with its max absolute and max relative error.

   Compiled as is this is the float build; tests/test_graph_fixture_double.c defines
   CONVRNN_USE_DOUBLE and includes this file, with tight tolerances.

   Fixture directory: $CONVRNN_FIXTURES/graph (or $CONVRNN_FIXTURES itself), else
   tests/fixtures/graph relative to the working directory, else fixtures/graph. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

#ifdef CONVRNN_USE_DOUBLE
#define GF_NAME "graph_fixture_double"
#define GF_PREC "double"
#define GF_ATOL 1e-10
#define GF_RTOL 1e-9
#else
#define GF_NAME "graph_fixture_float"
#define GF_PREC "float"
/* float32 rounding through 4 layers, 5 steps and BPTT over the feedback loops (O(1) values) */
#define GF_ATOL 2e-5
#define GF_RTOL 1e-4
#endif
#define GF_REL_FLOOR 1e-3   /* relative errors are reported over |ref| >= this */

static const convrnn_safetensors *gf_st;
static char *gf_used;
static double gf_worst_abs, gf_worst_rel;
static int gf_ntensors;

static const convrnn_st_tensor *gf_find(const char *name) {
    const convrnn_st_tensor *t = convrnn_st_find(gf_st, name);
    if (t) gf_used[t - gf_st->tensors] = 1;
    return t;
}

/* the named fixture tensor as doubles (malloc'd), its element count in *n; NULL (a failed check) if absent */
static double *gf_f64(const char *name, size_t *n) {
    const convrnn_st_tensor *t = gf_find(name);
    double *v;
    convrnn_error e;
    CHECKF(t != NULL, "fixture tensor %s missing", name);
    if (!t) return NULL;
    v = (double *)malloc((t->count ? t->count : 1) * sizeof *v);
    convrnn_error_clear(&e);
    if (!v || convrnn_st_tensor_to_f64(t, v, t->count, &e) != CONVRNN_OK) {
        CHECKF(0, "cannot read %s: %s", name, e.msg);
        free(v);
        return NULL;
    }
    if (n) *n = t->count;
    return v;
}
static convrnn_real *gf_real(const char *name, size_t *n) {
    size_t cnt = 0, i;
    double *d = gf_f64(name, &cnt);
    convrnn_real *r;
    if (!d) return NULL;
    r = (convrnn_real *)malloc((cnt ? cnt : 1) * sizeof *r);
    for (i = 0; i < cnt; i++) r[i] = (convrnn_real)d[i];
    free(d);
    if (n) *n = cnt;
    return r;
}

/* compare got[0..n) with the fixture tensor; one line per tensor */
static void gf_compare(const char *name, const convrnn_real *got, size_t n) {
    size_t cnt = 0, i, worst = 0;
    double *ref = gf_f64(name, &cnt), ma = 0, mr = 0;
    int ok = 1;
    if (!ref) return;
    CHECKF(got != NULL, "%s: nothing computed", name);
    CHECKF(cnt == n, "%s: %zu elements computed, the fixture has %zu", name, n, cnt);
    if (!got || cnt != n) { free(ref); return; }
    for (i = 0; i < n; i++) {
        const double g = (double)got[i], r = ref[i], e = fabs(g - r);
        if (!(e <= GF_ATOL + GF_RTOL * fabs(r))) {
            if (ok || e > fabs((double)got[worst] - ref[worst]) || e != e) worst = i;
            ok = 0;
        }
        if (e > ma || e != e) ma = e;
        if (fabs(r) >= GF_REL_FLOOR && e / fabs(r) > mr) mr = e / fabs(r);
    }
    CHECKF(ok, "(%s) %s mismatch: worst element %zu got %.10g want %.10g (max abs %.3g)", GF_PREC, name, worst,
           (double)got[worst], ref[worst], ma);
    printf("%-6s %-72s n %4zu  max abs %.3e  max rel %.3e  %s\n", GF_PREC, name, n, ma, mr, ok ? "ok" : "FAIL");
    if (ma > gf_worst_abs || ma != ma) gf_worst_abs = ma;
    if (mr > gf_worst_rel) gf_worst_rel = mr;
    gf_ntensors++;
    free(ref);
}

static int gf_dir(char *dir, size_t n) {
    const char *env = getenv("CONVRNN_FIXTURES");
    const char *cands[4];
    int nc = 0, i;
    char a[1024], b[1024];
    if (env && env[0]) {
        snprintf(a, sizeof a, "%s/graph", env);
        cands[nc++] = a;
        snprintf(b, sizeof b, "%s", env);
        cands[nc++] = b;
    } else {
        cands[nc++] = "tests/fixtures/graph";
        cands[nc++] = "fixtures/graph";
    }
    for (i = 0; i < nc; i++) {
        char p[1100];
        FILE *fp;
        snprintf(p, sizeof p, "%s/small_feedback.safetensors", cands[i]);
        fp = fopen(p, "rb");
        if (fp) {
            fclose(fp);
            snprintf(dir, n, "%s", cands[i]);
            return 1;
        }
    }
    return 0;
}

/* a scalar fixture tensor (0-d or 1 element) */
static double gf_scalar(const char *name) {
    size_t n = 0;
    double *v = gf_f64(name, &n), r = 0;
    if (v && n == 1) r = v[0];
    CHECKF(v && n == 1, "%s is not a scalar", name);
    free(v);
    return r;
}

static int meta_int(const char *key, int dflt) {
    const char *v = convrnn_st_meta(gf_st, key);
    return v ? atoi(v) : dflt;
}

/* grad/<name> (prefix "grad/") or dec/grad/<name> for every parameter; and no fixture gradient
   without a model parameter */
static void gf_compare_grads(convrnn_model *m, const char *prefix) {
    int i;
    size_t pl = strlen(prefix);
    for (i = 0; i < m->params.count; i++) {
        const convrnn_param_info *pi = &m->params.info[i];
        char key[CONVRNN_NAME_MAX + 16];
        snprintf(key, sizeof key, "%s%s", prefix, pi->name);
        gf_compare(key, m->params.grads + pi->offset, pi->size);
    }
    for (i = 0; i < gf_st->count; i++) {
        const char *nm = gf_st->tensors[i].name;
        if (!strncmp(nm, prefix, pl))
            CHECKF(convrnn_params_find(&m->params, nm + pl) >= 0, "fixture gradient %s has no model parameter", nm);
    }
}

static void run(void) {
    char dir[1024], path[1200];
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_safetensors st, wst;
    convrnn_error e;
    convrnn_tape t;
    convrnn_stimulus s;
    convrnn_tensor **outs = NULL, *losses[64], *loss;
    convrnn_real *x = NULL;
    const convrnn_st_tensor *xt;
    int T, off, N, v, step, ok, L;
    char key[256];

    memset(&st, 0, sizeof st);
    memset(&wst, 0, sizeof wst);
    memset(&m, 0, sizeof m);
    ok = gf_dir(dir, sizeof dir);
    CHECKF(ok, "fixture directory not found (set CONVRNN_FIXTURES or run from the repository root)");
    if (!ok) return;

    /* graph text -> spec -> model */
    snprintf(path, sizeof path, "%s/small_feedback.cfg", dir);
    convrnn_error_clear(&e);
    ok = convrnn_graph_load(path, &g, &e) == CONVRNN_OK;
    CHECKF(ok, "%s: %s", path, e.msg);
    if (!ok) return;
    CHECK(g.n_nodes == 4 && g.n_edges == 3 && g.decoder.type == CONVRNN_DEC_MAX_CONF);
    ok = convrnn_model_create(&m, &g) == CONVRNN_OK;
    CHECKF(ok, "model_create: %s", m.err.msg);
    if (!ok) return;
    L = g.n_nodes;

    /* parameters: the weights file holds exactly the model's tensors */
    snprintf(path, sizeof path, "%s/small_feedback_weights.safetensors", dir);
    convrnn_error_clear(&e);
    ok = convrnn_st_read(path, &wst, &e) == CONVRNN_OK;
    CHECKF(ok, "%s: %s", path, e.msg);
    if (!ok) goto done;
    CHECKF(wst.count == m.params.count, "weights file has %d tensors, the model declares %d", wst.count, m.params.count);
    ok = convrnn_model_load_st(&m, &wst, &e) == CONVRNN_OK;
    CHECKF(ok, "model_load_st: %s", e.msg);
    if (!ok) goto done;
    {   /* and the values arrived (bit-exact in double; rounded in float) */
        int i;
        for (i = 0; i < m.params.count; i++) {
            const convrnn_param_info *pi = &m.params.info[i];
            const convrnn_st_tensor *wt = convrnn_st_find(&wst, pi->name);
            double *d = (double *)malloc(pi->size * sizeof *d);
            size_t j;
            int same = wt && convrnn_st_tensor_to_f64(wt, d, pi->size, NULL) == CONVRNN_OK;
            for (j = 0; same && j < pi->size; j++) same = m.params.values[pi->offset + j] == (convrnn_real)d[j];
            CHECKF(same, "parameter %s not loaded", pi->name);
            free(d);
        }
    }

    /* the reference */
    snprintf(path, sizeof path, "%s/small_feedback.safetensors", dir);
    ok = convrnn_st_read(path, &st, &e) == CONVRNN_OK;
    CHECKF(ok, "%s: %s", path, e.msg);
    if (!ok) goto done;
    gf_st = &st;
    gf_used = (char *)calloc((size_t)st.count + 1, 1);
    T = meta_int("T", 0);
    off = meta_int("image_off", -1);
    N = meta_int("N", 0);
    CHECKF(T == g.T && off == g.image_off && T > 0 && T <= 64, "T %d / image_off %d differ from the graph text (%d, %d)", T,
           off, g.T, g.image_off);
    CHECK(convrnn_st_meta(&st, "blank") && !strcmp(convrnn_st_meta(&st, "blank"), "0.5"));
    xt = gf_find("x");
    ok = xt && xt->ndim == 4 && xt->shape[0] == N && xt->shape[1] == g.in_h && xt->shape[2] == g.in_w && xt->shape[3] == g.in_c;
    CHECKF(ok, "x is not [%d,%d,%d,%d]", N, g.in_h, g.in_w, g.in_c);
    if (!ok || T != g.T || T > 64 || N > 64) goto done;
    x = gf_real("x", NULL);
    s = convrnn_stimulus_make(x, N, g.in_h, g.in_w, g.in_c, T, off);
    CHECK(s.blank == 0.5);

    /* ---- unroll with gradients; loss = sum_t sum(logits_t * dy_t) */
    outs = (convrnn_tensor **)calloc((size_t)T * L, sizeof *outs);
    convrnn_tape_init(&t, 1);
    convrnn_params_zero_grad(&m.params);
    ok = convrnn_model_unroll(&m, &t, &s, outs) == CONVRNN_OK;
    CHECKF(ok, "unroll: %s", t.err.msg);
    if (ok) {
        convrnn_real *dys[64];
        for (step = 0; step < T; step++)
            for (v = 0; v < L; v++) {
                snprintf(key, sizeof key, "out/%s/%d", g.nodes[v].name, step);
                gf_compare(key, outs[(size_t)step * L + v]->data, outs[(size_t)step * L + v]->size);
            }
        for (step = 0; step < T; step++) {
            size_t n = 0;
            snprintf(key, sizeof key, "dy/%d", step);
            dys[step] = gf_real(key, &n);
            ok = dys[step] && n == outs[(size_t)step * L + m.readout]->size;
            CHECKF(ok, "%s: %zu elements, the logits have %zu", key, n, outs[(size_t)step * L + m.readout]->size);
            losses[step] = ok ? convrnn_dot_const(&t, outs[(size_t)step * L + m.readout], dys[step]) : NULL;
        }
        loss = convrnn_sum_scalars(&t, losses, T);
        ok = loss && convrnn_tape_backward(&t, loss) == CONVRNN_OK;
        CHECKF(ok, "loss/backward: %s", t.err.msg);
        if (ok) {
            CHECK_CLOSE(loss->data[0], gf_scalar("loss"), GF_ATOL, GF_RTOL);
            printf("%-6s %-72s loss %.12g (fixture %.12g)\n", GF_PREC, "loss", (double)loss->data[0], gf_scalar("loss"));
            gf_compare_grads(&m, "grad/");
        }
        for (step = 0; step < T; step++) free(dys[step]);
    }
    convrnn_tape_free(&t);

    /* ---- the max_conf decoder (window [3, T), beta from the weights) on a fresh tape */
    convrnn_tape_init(&t, 1);
    convrnn_params_zero_grad(&m.params);
    ok = convrnn_model_unroll(&m, &t, &s, outs) == CONVRNN_OK;
    CHECKF(ok, "unroll (decoder): %s", t.err.msg);
    if (ok) {
        convrnn_tensor *y = convrnn_model_decode(&m, &t, outs, T, off, NULL);
        size_t n = 0, K = (size_t)g.n_classes;
        convrnn_real *dy = gf_real("dec/dy", &n);
        const convrnn_st_tensor *selt = gf_find("dec/sel");
        ok = y && dy && n == y->size;
        CHECKF(ok, "decode: %s", t.err.msg);
        if (ok) {
            int i;
            gf_compare("dec/y", y->data, y->size);
            if (selt && selt->count == (size_t)N) {   /* the selected steps, read off the copied logits */
                double sel[64];
                convrnn_st_tensor_to_f64(selt, sel, (size_t)N, NULL);
                for (i = 0; i < N; i++) {
                    const convrnn_tensor *z = outs[(size_t)sel[i] * L + m.readout];
                    CHECKF(!memcmp(y->data + (size_t)i * K, z->data + (size_t)i * K, K * sizeof(convrnn_real)),
                           "max_conf: sample %d did not select step %d", i, (int)sel[i]);
                }
                printf("%-6s %-72s steps", GF_PREC, "dec/sel");
                for (i = 0; i < N; i++) printf(" %d", (int)sel[i]);
                printf("\n");
            } else {
                CHECKF(0, "dec/sel missing or not [%d]", N);
            }
            loss = convrnn_dot_const(&t, y, dy);
            ok = loss && convrnn_tape_backward(&t, loss) == CONVRNN_OK;
            CHECKF(ok, "decoder backward: %s", t.err.msg);
            if (ok) {
                CHECK_CLOSE(loss->data[0], gf_scalar("dec/loss"), GF_ATOL, GF_RTOL);
                gf_compare_grads(&m, "dec/grad/");
            }
        }
        free(dy);
    }
    convrnn_tape_free(&t);

    {   /* every fixture tensor was used */
        int i;
        for (i = 0; i < st.count; i++) CHECKF(gf_used[i], "fixture tensor %s not used by the test", st.tensors[i].name);
    }
    printf("%-6s %d tensors compared, worst max abs %.3e, worst max rel %.3e (tolerance %.0e + %.0e*|ref|)\n", GF_PREC,
           gf_ntensors, gf_worst_abs, gf_worst_rel, GF_ATOL, GF_RTOL);
done:
    free(outs);
    free(x);
    free(gf_used);
    gf_used = NULL;
    convrnn_st_free(&st);
    convrnn_st_free(&wst);
    convrnn_model_free(&m);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);   /* keep the report and failures (stderr) in order */
    run();
    return TEST_END(GF_NAME);
}
