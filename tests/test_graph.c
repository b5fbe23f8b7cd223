/* Delay graphs and the zoo: parameter/unit counts of the released models (spec section 8), minimal
   unroll lengths (2.5), the timing facts of 2.4, the square wave of feedforward graphs, text and
   weights round trips, and rejection of bad graph text. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <string.h>
#include <stdlib.h>

/* spec section 8: params (M), units post-pool (M), units pre-pool (M) */
static const struct { const char *name; double params, units, prepool; } table8[] = {
    { "timedecay_shallow", 4.198, 0.373, 1.481 }, { "simplernn_shallow", 6.273, 0.344, 1.368 },
    { "gru_shallow", 25.434, 0.373, 1.481 }, { "lstm_shallow", 21.126, 0.344, 1.368 },
    { "intersectionrnn_shallow", 32.513, 0.373, 1.481 }, { "ugrnn_shallow", 18.356, 0.373, 1.481 },
    { "rgc_shallow", 23.957, 0.373, 1.481 }, { "timedecay_intermediate", 16.403, 0.925, 2.033 },
    { "simplernn_intermediate", 33.513, 0.925, 2.033 }, { "gru_intermediate", 67.725, 0.925, 2.033 },
    { "lstm_intermediate", 84.832, 0.925, 2.033 }, { "intersectionrnn_intermediate", 84.832, 0.925, 2.033 },
    { "ugrnn_intermediate", 50.618, 0.925, 2.033 }, { "ugrnn_intermediate_t30", 50.618, 0.925, 2.033 },
    { "ugrnn_intermediate_t30_tmaxconf", 50.618, 0.925, 2.033 }, { "ugrnn_intermediate_t30_dthresh", 50.618, 0.925, 2.033 },
    { "rgc_intermediate", 15.446, 1.314, 2.422 }, { "rgc_intermediate_tmaxconf", 15.446, 1.314, 2.422 },
    { "rgc_intermediate_t22_tmaxconf", 15.446, 1.314, 2.422 }, { "rgc_intermediate_dthresh", 15.446, 1.314, 2.422 },
};

static void test_counts(void) {
    size_t i;
    for (i = 0; i < sizeof table8 / sizeof table8[0]; i++) {
        convrnn_graph_spec g;
        convrnn_model m;
        size_t p, u, pre;
        CHECK(convrnn_zoo_spec(table8[i].name, &g, NULL) == CONVRNN_OK);
        CHECKF(convrnn_model_create(&m, &g) == CONVRNN_OK, "%s: %s", table8[i].name, m.err.msg);
        p = convrnn_model_param_count(&m);
        u = convrnn_model_unit_count(&m, &pre);
        printf("%-32s params %9zu (table %.3fM)  units %8zu (%.3fM)  pre-pool %8zu (%.3fM)\n", table8[i].name, p,
               table8[i].params, u, table8[i].units, pre, table8[i].prepool);
        CHECKF(fabs(p / 1e6 - table8[i].params) < 0.0005, "%s: %zu parameters, table says %.3fM", table8[i].name, p, table8[i].params);
        CHECKF(fabs(u / 1e6 - table8[i].units) < 0.0005, "%s: %zu units", table8[i].name, u);
        CHECKF(fabs(pre / 1e6 - table8[i].prepool) < 0.0005, "%s: %zu pre-pool units", table8[i].name, pre);
        /* presets */
        if (strstr(table8[i].name, "_shallow")) CHECK(g.T == 16 && g.image_off == 12 && convrnn_model_minimal_T(&m) == 7);
        else if (strstr(table8[i].name, "rgc_")) CHECK(convrnn_model_minimal_T(&m) == 15);
        else CHECK(convrnn_model_minimal_T(&m) == 12);
        if (strstr(table8[i].name, "_t30")) CHECK(g.T == 30 && g.image_off >= g.T);
        if (strstr(table8[i].name, "_t22")) CHECK(g.T == 22 && g.image_off >= g.T);
        if (strstr(table8[i].name, "tmaxconf")) CHECK(g.decoder.type == CONVRNN_DEC_MAX_CONF && g.decoder.trainable);
        if (strstr(table8[i].name, "dthresh")) CHECK(g.decoder.type == CONVRNN_DEC_THRESH && g.decoder.threshold == 0.9);
        convrnn_model_free(&m);
    }
    {   /* the feedforward BaseNets: first pass only */
        convrnn_graph_spec g;
        convrnn_model m;
        CHECK(convrnn_zoo_spec("ff_intermediate", &g, NULL) == CONVRNN_OK && convrnn_model_create(&m, &g) == CONVRNN_OK);
        CHECK(convrnn_model_minimal_T(&m) == 11);
        CHECK(convrnn_model_param_count(&m) == 16403432); /* timedecay_intermediate without its 7 scalars */
        convrnn_model_free(&m);
    }
    {
        convrnn_graph_spec g;
        convrnn_error e;
        convrnn_error_clear(&e);
        CHECK(convrnn_zoo_spec("resnet50", &g, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "rgc_intermediate") != NULL);
    }
}

/* A small chain graph for the timing facts: L conv layers (3x3, ELU) on 6x6 inputs, optional
   cell in the middle, dense readout. */
static void small_chain(convrnn_graph_spec *g, int L, convrnn_cell_type cell) {
    char text[8192];
    size_t o = 0;
    int l;
    o += (size_t)snprintf(text + o, sizeof text - o, "convrnn-graph 1\nname chain\ninput 6 6 2\nclasses 3\nsteps 12 5\n");
    for (l = 1; l <= L; l++) {
        if (l == 1) o += (size_t)snprintf(text + o, sizeof text - o, "node c1\n");
        else o += (size_t)snprintf(text + o, sizeof text - o, "node c%d ff=c%d\n", l, l - 1);
        o += (size_t)snprintf(text + o, sizeof text - o, "  pre conv k=3 s=1 out=4 act=elu scope=pre_0 w=weights\n");
        if (l == (L + 1) / 2 && cell != CONVRNN_CELL_IDENTITY)
            o += (size_t)snprintf(text + o, sizeof text - o, "  cell %s out=4\n", convrnn_cell_type_name(cell));
    }
    o += (size_t)snprintf(text + o, sizeof text - o, "node readout ff=c%d\n  pre gap\n  pre fc out=3 scope=pre_1 w=weights\n", L);
    CHECKF(convrnn_graph_parse(text, strlen(text), g, NULL) == CONVRNN_OK, "chain text:\n%s", text);
}

/* every parameter (biases included) drawn at random, so transients are visible */
static void randomize(convrnn_model *m, uint64_t seed) {
    convrnn_rng r;
    size_t i;
    convrnn_rng_seed(&r, seed);
    for (i = 0; i < m->params.total; i++) m->params.values[i] = (float)(0.4 * convrnn_rng_normal(&r));
}

static void run_model(convrnn_model *m, const float *img, int n, int T, int image_off, convrnn_tape *t, convrnn_tensor **outs) {
    convrnn_stimulus s = convrnn_stimulus_make(img, n, m->spec.in_h, m->spec.in_w, m->spec.in_c, T, image_off);
    convrnn_tape_init(t, 0);
    CHECKF(convrnn_model_unroll(m, t, &s, outs) == CONVRNN_OK, "unroll: %s", t->err.msg);
}

static int same(const convrnn_tensor *a, const convrnn_tensor *b) {
    return a->size == b->size && memcmp(a->data, b->data, a->size * sizeof(float)) == 0;
}

static void test_timing(void) {
    const int L = 6, T = 12, K = 5;
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_tape t1, t2, t3;
    convrnn_tensor *o_img[12 * 7], *o_zero[12 * 7], *o_const[12 * 7];
    float img[2 * 6 * 6 * 2], zero[2 * 6 * 6 * 2];
    convrnn_rng r;
    int i, v, step, n;
    small_chain(&g, L, CONVRNN_CELL_IDENTITY);
    CHECKF(convrnn_model_create(&m, &g) == CONVRNN_OK, "%s", m.err.msg);
    randomize(&m, 3);
    n = g.n_nodes;
    CHECK(n == L + 1);
    CHECK(convrnn_model_minimal_T(&m) == L + 1); /* feedforward: the first pass reaches the readout at t = L */
    convrnn_rng_seed(&r, 11);
    for (i = 0; i < (int)(sizeof img / sizeof img[0]); i++) { img[i] = (float)convrnn_rng_normal(&r); zero[i] = 0; }
    run_model(&m, img, 2, T, K, &t1, o_img);
    run_model(&m, zero, 2, T, K, &t2, o_zero);
    run_model(&m, img, 2, T, T, &t3, o_const);
    for (v = 0; v < n; v++) {
        /* node index l = v+1 first depends on the image at step l-1 */
        int first = -1;
        for (step = 0; step < T; step++)
            if (!same(o_img[step * n + v], o_zero[step * n + v])) { first = step; break; }
        CHECKF(first == v, "node %d: first image-dependent output at step %d, expected %d", v + 1, first, v);
        CHECK(convrnn_model_layer_start(&m, v, 0) == v && convrnn_model_layer_start(&m, v, 1) == v + 1);
        /* every node is computed at t = 0: bias-driven transients are nonzero */
        {
            const convrnn_tensor *y = o_zero[v];
            double s = 0;
            size_t q;
            for (q = 0; q < y->size; q++) s += fabs(y->data[q]);
            CHECKF(s > 0, "node %d is zero at t = 0 (biases must drive it)", v + 1);
        }
        /* feedforward square wave: constant while the image is on, then the blank response, which
           equals the response of a run whose image is the blank from the start */
        for (step = v; step < K + v && step < T; step++) CHECK(same(o_img[step * n + v], o_img[v * n + v]));
        if (K + v < T) CHECKF(!same(o_img[(K + v) * n + v], o_img[(K + v - 1) * n + v]), "node %d: no off response at %d", v + 1, K + v);
        /* the constant presentation never changes after the first pass */
        for (step = v + 1; step < T; step++) CHECK(same(o_const[step * n + v], o_const[v * n + v]));
    }
    convrnn_tape_free(&t1); convrnn_tape_free(&t2); convrnn_tape_free(&t3);
    convrnn_model_free(&m);
}

/* Under the training presentation (T 16, image_off 12) a 6-node graph's readout never sees the
   blank: its outputs equal those of a constant presentation at every step. */
static void test_blank_never_reaches_readout(void) {
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_tape t1, t2;
    convrnn_tensor *a[16 * 6], *b[16 * 6];
    float img[6 * 6 * 2];
    int i, step;
    small_chain(&g, 5, CONVRNN_CELL_GRU);
    CHECK(convrnn_model_create(&m, &g) == CONVRNN_OK);
    randomize(&m, 5);
    for (i = 0; i < 72; i++) img[i] = (float)sin(i * 0.7);
    run_model(&m, img, 1, 16, 12, &t1, a);
    run_model(&m, img, 1, 16, 16, &t2, b);
    for (step = 0; step < 16; step++) CHECK(same(a[step * 6 + 5], b[step * 6 + 5]));
    CHECK(!same(a[12 * 6 + 0], b[12 * 6 + 0])); /* conv1 sees the blank at step 12 */
    CHECK(same(a[11 * 6 + 0], b[11 * 6 + 0]));
    CHECK(convrnn_model_minimal_T(&m) == 3 + 3 + 1); /* cell in c3: acts at t = 3, reaches the readout 3 steps later */
    convrnn_tape_free(&t1); convrnn_tape_free(&t2);
    convrnn_model_free(&m);
}

static void test_roundtrips(void) {
    int i;
    for (i = 0; i < convrnn_zoo_count(); i++) {
        convrnn_graph_spec g, h;
        char *text = NULL, *text2 = NULL;
        convrnn_error e;
        convrnn_error_clear(&e);
        CHECK(convrnn_zoo_spec(convrnn_zoo_name(i), &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_graph_to_text(&g, &text, NULL) == CONVRNN_OK);
        CHECKF(convrnn_graph_parse(text, strlen(text), &h, &e) == CONVRNN_OK, "%s: %s", convrnn_zoo_name(i), e.msg);
        CHECK(convrnn_graph_to_text(&h, &text2, NULL) == CONVRNN_OK);
        CHECKF(text && text2 && !strcmp(text, text2), "%s: text round trip differs", convrnn_zoo_name(i));
        CHECK(convrnn_graph_equal(&g, &h));
        /* a parsed spec builds the same model */
        {
            convrnn_model a, b;
            CHECK(convrnn_model_create(&a, &g) == CONVRNN_OK && convrnn_model_create(&b, &h) == CONVRNN_OK);
            CHECK(convrnn_model_param_count(&a) == convrnn_model_param_count(&b) && a.params.count == b.params.count);
            convrnn_model_free(&a); convrnn_model_free(&b);
        }
        convrnn_free(NULL, text);
        convrnn_free(NULL, text2);
    }
}

static void test_weights_roundtrip(void) {
    convrnn_graph_spec g;
    convrnn_model a, b;
    convrnn_error e;
    const char *path = "build/test_graph_w.safetensors";
    convrnn_error_clear(&e);
    CHECK(convrnn_zoo_spec("laptop_rgc", &g, NULL) == CONVRNN_OK);
    CHECK(convrnn_model_create(&a, &g) == CONVRNN_OK && convrnn_model_init(&a, 42) == CONVRNN_OK);
    CHECK(convrnn_model_create(&b, &g) == CONVRNN_OK);
    CHECKF(convrnn_model_save(&a, path, &e) == CONVRNN_OK, "%s", e.msg);
    CHECKF(convrnn_model_load(&b, path, &e) == CONVRNN_OK, "%s", e.msg);
    CHECK(memcmp(a.params.values, b.params.values, a.params.total * sizeof(float)) == 0);
    {   /* the graph text travels in the metadata */
        convrnn_safetensors st;
        convrnn_graph_spec h;
        const char *txt;
        memset(&st, 0, sizeof st);
        CHECK(convrnn_st_read(path, &st, &e) == CONVRNN_OK);
        txt = convrnn_st_meta(&st, "convrnn_graph");
        CHECK(txt && convrnn_graph_parse(txt, strlen(txt), &h, NULL) == CONVRNN_OK && convrnn_graph_equal(&g, &h));
        convrnn_st_free(&st);
    }
    {   /* same seed, same weights; different seed, different */
        convrnn_model c;
        CHECK(convrnn_model_create(&c, &g) == CONVRNN_OK && convrnn_model_init(&c, 42) == CONVRNN_OK);
        CHECK(memcmp(a.params.values, c.params.values, a.params.total * sizeof(float)) == 0);
        CHECK(convrnn_model_init(&c, 43) == CONVRNN_OK);
        CHECK(memcmp(a.params.values, c.params.values, a.params.total * sizeof(float)) != 0);
        convrnn_model_free(&c);
    }
    {   /* a model of another architecture refuses the file and keeps its values */
        convrnn_graph_spec g2;
        convrnn_model d;
        float before;
        CHECK(convrnn_zoo_spec("laptop_gru", &g2, NULL) == CONVRNN_OK && convrnn_model_create(&d, &g2) == CONVRNN_OK);
        CHECK(convrnn_model_init(&d, 1) == CONVRNN_OK);
        before = d.params.values[0];
        CHECK(convrnn_model_load(&d, path, &e) == CONVRNN_ERR_FORMAT && e.msg[0]);
        CHECK(d.params.values[0] == before);
        convrnn_model_free(&d);
    }
    convrnn_model_free(&a);
    convrnn_model_free(&b);
    remove(path);
}

/* converted TF checkpoints also hold memory_decay = 0 for plain layers: accepted when 0 */
static void test_memory_decay_scalars(void) {
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_st_writer w;
    convrnn_safetensors st;
    convrnn_error e;
    void *buf = NULL;
    size_t len = 0;
    int i;
    float zero = 0, bad = 0.25f;
    int64_t one = 1;
    convrnn_error_clear(&e);
    CHECK(convrnn_zoo_spec("laptop_gru", &g, NULL) == CONVRNN_OK && convrnn_model_create(&m, &g) == CONVRNN_OK);
    CHECK(convrnn_model_init(&m, 9) == CONVRNN_OK);
    for (i = 0; i < 2; i++) {
        int k;
        convrnn_st_writer_init(&w);
        for (k = 0; k < m.params.count; k++) {
            int64_t shape[4];
            int j;
            for (j = 0; j < m.params.info[k].rank; j++) shape[j] = m.params.info[k].d[j];
            convrnn_st_writer_add(&w, m.params.info[k].name, CONVRNN_DT_F32, m.params.info[k].rank, shape,
                                  m.params.values + m.params.info[k].offset);
        }
        convrnn_st_writer_add(&w, "tnn_model/conv1/memory_decay", CONVRNN_DT_F32, 1, &one, i ? &bad : &zero);
        convrnn_st_writer_add(&w, "tnn_model/conv1/pre_0/weights_basenet/Momentum", CONVRNN_DT_F32, 1, &one, &zero);
        CHECK(convrnn_st_writer_to_buffer(&w, &buf, &len, &e) == CONVRNN_OK);
        memset(&st, 0, sizeof st);
        CHECK(convrnn_st_parse(buf, len, &st, &e) == CONVRNN_OK);
        if (i == 0) CHECKF(convrnn_model_load_st(&m, &st, &e) == CONVRNN_OK, "%s", e.msg);
        else CHECK(convrnn_model_load_st(&m, &st, &e) == CONVRNN_ERR_FORMAT && strstr(e.msg, "memory_decay"));
        convrnn_st_free(&st);
        convrnn_free(NULL, buf);
        convrnn_st_writer_free(&w);
    }
    convrnn_model_free(&m);
}

/* The presentation presets of spec 2.3 */
static void test_presets(void) {
    static const struct { const char *model, *preset; int T, off; } want[] = {
        { "rgc_shallow", "default", 16, 12 }, { "rgc_intermediate", "default", 17, 12 },
        { "rgc_intermediate_t22_tmaxconf", "default", 22, 22 }, { "ugrnn_intermediate_t30", "default", 30, 30 },
        { "lstm_shallow", "neural", 26, 10 }, { "rgc_intermediate", "neural", 26, 10 },
        { "gru_shallow", "constant", 16, 16 },
    };
    size_t i;
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        convrnn_graph_spec g;
        int T = -1, off = -1;
        CHECK(convrnn_zoo_spec(want[i].model, &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_stimulus_preset(&g, want[i].preset, &T, &off, NULL) == CONVRNN_OK);
        CHECKF(T == want[i].T && off == want[i].off, "%s %s: T %d image_off %d", want[i].model, want[i].preset, T, off);
    }
    {
        convrnn_graph_spec g;
        convrnn_error e;
        int T = -1, off = -1;
        convrnn_error_clear(&e);
        CHECK(convrnn_zoo_spec("rgc_shallow", &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_stimulus_preset(&g, "training", &T, &off, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "neural") && T == -1);
    }
}

static void test_bad_text(void) {
    static const struct { const char *text; int line; const char *what; } bad[] = {
        { "", 1, "convrnn-graph" },
        { "convrnn-graph 2\n", 1, "convrnn-graph" },
        { "convrnn-graph 1\ninput 8 8\n", 2, "unknown statement" },
        { "convrnn-graph 1\ninput 8 8 x\n", 2, "integer" },
        { "convrnn-graph 1\nnode a\n  pre conv k=3 out=4 scope=p w=w bogus=1\n", 3, "unknown key" },
        { "convrnn-graph 1\nnode a\n  pre conv k=0 out=4 scope=p w=w\n", 3, "integer" },
        { "convrnn-graph 1\n  cell gru out=4\n", 2, "outside a node" },
        { "convrnn-graph 1\nnode a\n  cell lstm out=4 forget_bias=nan\n", 3, "finite" },
        { "convrnn-graph 1\nnode a\n  cell xyz\n", 3, "unknown cell" },
        { "convrnn-graph 1\nnode a\nnode a\n", 3, "duplicate" },
        { "convrnn-graph 1\nnode a\nedge a b\n", 3, "unknown node" },
        { "convrnn-graph 1\nnode a\ndecoder maxconf\n", 3, "unknown decoder" },
        { "convrnn-graph 1\nnode a b\n", 2, "ff=" },
        { "convrnn-graph 1\nnode a\n  pre act act=swish\n", 3, "activation" },
        { "convrnn-graph 1\nnode a\n  pre conv k=3 out=4 scope=p w=w init=he\n", 3, "initializer" },
        { "convrnn-graph 1\nnode a\n  cell rgc out=4 fb_entry=side\n", 3, "fb_entry" },
        { "convrnn-graph 1\nnode a/b\n", 2, "character" },
        { "convrnn-graph 1\nnode a\n  cell gru out=3 init=uniform:nan:1\n", 3, "finite" },
        { "convrnn-graph 1\nnode a\n  cell gru out=3 init=uniform::1\n", 3, "uniform:A:B" },
        { "convrnn-graph 1\nnode a\n  cell gru out=0\n", 3, "needs out=" },
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        convrnn_graph_spec g;
        convrnn_error e;
        char want[32];
        convrnn_error_clear(&e);
        CHECKF(convrnn_graph_parse(bad[i].text, strlen(bad[i].text), &g, &e) == CONVRNN_ERR_FORMAT, "case %zu accepted", i);
        snprintf(want, sizeof want, "line %d", bad[i].line);
        CHECKF(strstr(e.msg, want) && strstr(e.msg, bad[i].what), "case %zu: message '%s' (want %s, %s)", i, e.msg, want, bad[i].what);
    }
    {   /* a cell without out= (timedecay keeps its input depth) writes out=0 and reads back equal */
        const char *t = "convrnn-graph 1\ninput 4 4 2\nclasses 2\nsteps 2 2\nnode a\n  cell timedecay\n  post gap\n  post fc out=2 scope=f w=w\n";
        convrnn_graph_spec g, h;
        char *txt = NULL;
        CHECK(convrnn_graph_parse(t, strlen(t), &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_graph_to_text(&g, &txt, NULL) == CONVRNN_OK);
        CHECK(txt && convrnn_graph_parse(txt, strlen(txt), &h, NULL) == CONVRNN_OK && convrnn_graph_equal(&g, &h));
        convrnn_free(NULL, txt);
    }
    {   /* structural errors found when building */
        convrnn_graph_spec g;
        convrnn_model m;
        const char *t1 = "convrnn-graph 1\ninput 8 8 1\nclasses 2\nsteps 3 3\nnode a\n  pre gap\n  pre fc out=2 scope=p w=w\nnode b\n  pre gap\n";
        const char *t2 = "convrnn-graph 1\ninput 8 8 1\nclasses 5\nsteps 3 3\nnode a\n  pre gap\n  pre fc out=2 scope=p w=w\n";
        const char *t3 = "convrnn-graph 1\ninput 2 2 1\nclasses 2\nsteps 3 3\nnode a\n  pre conv k=3 out=2 pad=valid scope=p w=w\n";
        CHECK(convrnn_graph_parse(t1, strlen(t1), &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_model_create(&m, &g) == CONVRNN_ERR_ARG && strstr(m.err.msg, "input nodes"));
        convrnn_model_free(&m);
        CHECK(convrnn_graph_parse(t2, strlen(t2), &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_model_create(&m, &g) == CONVRNN_ERR_SHAPE && strstr(m.err.msg, "classes"));
        convrnn_model_free(&m);
        CHECK(convrnn_graph_parse(t3, strlen(t3), &g, NULL) == CONVRNN_OK);
        CHECK(convrnn_model_create(&m, &g) == CONVRNN_ERR_SHAPE && strstr(m.err.msg, "VALID"));
        convrnn_model_free(&m);
    }
}

/* Graphs run at the input's own size; NaN images are refused. */
static void test_any_size_and_nan(void) {
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_tape t;
    convrnn_tensor *outs[8 * 7];
    static float img[2 * 36 * 36];
    convrnn_stimulus s;
    int i, h, w, c;
    CHECK(convrnn_zoo_spec("laptop_rgc", &g, NULL) == CONVRNN_OK && convrnn_model_create(&m, &g) == CONVRNN_OK);
    CHECK(convrnn_model_init(&m, 1) == CONVRNN_OK);
    for (i = 0; i < 2 * 36 * 36; i++) img[i] = (float)cos(i);
    s = convrnn_stimulus_make(img, 2, 36, 36, 1, 8, 4);
    convrnn_tape_init(&t, 0);
    CHECKF(convrnn_model_unroll(&m, &t, &s, outs) == CONVRNN_OK, "%s", t.err.msg);
    CHECK(convrnn_model_output_shape(&m, 0, 36, 36, &h, &w, &c, NULL) == CONVRNN_OK && h == 18 && w == 18 && c == 8);
    CHECK(g.n_nodes == 6 && outs[7 * 6 + 5] && outs[7 * 6 + 5]->d[0] == 2 && outs[7 * 6 + 5]->d[3] == 10);
    convrnn_tape_free(&t);
    img[5] = NAN;
    convrnn_tape_init(&t, 0);
    CHECK(convrnn_model_unroll(&m, &t, &s, outs) == CONVRNN_ERR_NOT_FINITE);
    convrnn_tape_free(&t);
    s.c = 3;
    convrnn_tape_init(&t, 0);
    CHECK(convrnn_model_unroll(&m, &t, &s, outs) == CONVRNN_ERR_SHAPE && strstr(t.err.msg, "channels"));
    convrnn_tape_free(&t);
    /* a movie: 4 frames of 2 images of 18x18; a NaN in frame 3 is refused as in a still image */
    {
        convrnn_stimulus mv = convrnn_stimulus_make(img, 2, 18, 18, 1, 4, 4);
        img[5] = 0;
        mv.movie = 1;
        convrnn_tape_init(&t, 0);
        CHECKF(convrnn_model_unroll(&m, &t, &mv, outs) == CONVRNN_OK, "%s", t.err.msg);
        convrnn_tape_free(&t);
        img[3 * 2 * 18 * 18 + 7] = NAN;
        convrnn_tape_init(&t, 0);
        CHECK(convrnn_model_unroll(&m, &t, &mv, outs) == CONVRNN_ERR_NOT_FINITE && strstr(t.err.msg, "frame 3"));
        convrnn_tape_free(&t);
    }
    convrnn_model_free(&m);
}

/* convrnn_model_unroll_decoded computes exactly the node-steps the decoder's window depends on:
   node v is skipped (NULL) after step last[v] = (window end - 1) - (edges from v to the readout),
   and the decoded logits, the loss and every parameter gradient equal the full unroll's bitwise.
   Graphs: laptop_gru (a chain), small_feedback (feedback edges), and small_feedback with an avg
   decoder over [3, T-2) (the window's end, not T, bounds the work). */
static void decoded_case(const char *what, convrnn_graph_spec *g, int T, const int *expect_last) {
    convrnn_model m;
    convrnn_tape t[2];
    convrnn_tensor **outs[2], *z[2] = { NULL, NULL };
    float *img, *grads[2];
    int lab[3] = { 1, 0, 2 }, k, v, step, n, N = 3;
    size_t i, ni;
    convrnn_rng r;
    CHECKF(convrnn_model_create(&m, g) == CONVRNN_OK, "%s: %s", what, m.err.msg);
    randomize(&m, 21);
    n = g->n_nodes;
    ni = (size_t)N * g->in_h * g->in_w * g->in_c;
    img = (float *)malloc(ni * sizeof *img);
    convrnn_rng_seed(&r, 4);
    for (i = 0; i < ni; i++) img[i] = (float)convrnn_rng_normal(&r);
    for (k = 0; k < 2; k++) {
        convrnn_stimulus s = convrnn_stimulus_make(img, N, g->in_h, g->in_w, g->in_c, T, T - 3);
        convrnn_tensor *L;
        outs[k] = (convrnn_tensor **)calloc((size_t)T * n, sizeof *outs[k]);
        grads[k] = (float *)malloc(m.params.total * sizeof(float));
        convrnn_tape_init(&t[k], 1);
        t[k].lazy_grads = 1;
        convrnn_params_zero_grad(&m.params);
        CHECKF((k ? convrnn_model_unroll_decoded : convrnn_model_unroll)(&m, &t[k], &s, outs[k]) == CONVRNN_OK, "%s: %s", what, t[k].err.msg);
        z[k] = convrnn_model_decode(&m, &t[k], outs[k], T, T - 3, NULL);
        L = convrnn_softmax_xent(&t[k], z[k], lab);
        CHECKF(L && convrnn_tape_backward(&t[k], L) == CONVRNN_OK, "%s: %s", what, t[k].err.msg);
        memcpy(grads[k], m.params.grads, m.params.total * sizeof(float));
    }
    for (v = 0; v < n; v++)
        for (step = 0; step < T; step++) {
            convrnn_tensor *a = outs[0][(size_t)step * n + v], *b = outs[1][(size_t)step * n + v];
            if (step <= expect_last[v]) CHECKF(b && same(a, b), "%s: node %d step %d differs or is missing", what, v, step);
            else CHECKF(b == NULL, "%s: node %d step %d computed after its last needed step %d", what, v, step, expect_last[v]);
        }
    CHECKF(z[0] && z[1] && same(z[0], z[1]), "%s: decoded logits differ", what);
    CHECKF(!memcmp(grads[0], grads[1], m.params.total * sizeof(float)), "%s: gradients differ", what);
    for (k = 0; k < 2; k++) { convrnn_tape_free(&t[k]); free(outs[k]); free(grads[k]); }
    free(img);
    convrnn_model_free(&m);
}
static void test_unroll_decoded(void) {
    convrnn_graph_spec g;
    convrnn_error e;
    int last[CONVRNN_MAX_NODES], v;
    CHECK(convrnn_zoo_spec("laptop_gru", &g, &e) == CONVRNN_OK);
    for (v = 0; v < g.n_nodes; v++) last[v] = 9 - (g.n_nodes - 1 - v);   /* a chain: one step per edge */
    decoded_case("laptop_gru", &g, 10, last);
    if (convrnn_graph_load("tests/fixtures/graph/small_feedback.cfg", &g, &e) != CONVRNN_OK) {
        CHECKF(0, "small_feedback.cfg: %s (run from the repository root)", e.msg);
        return;
    }
    {   /* expected: last[v] = (window end - 1) - the shortest path (in edges) from v to the readout,
           found here by breadth-first search over the predecessor lists */
        convrnn_model m;
        int dist[CONVRNN_MAX_NODES], q[CONVRNN_MAX_NODES], qh = 0, qt = 0, i, w, T;
        CHECK(convrnn_model_create(&m, &g) == CONVRNN_OK);
        for (v = 0; v < g.n_nodes; v++) dist[v] = -1;
        dist[m.readout] = 0; q[qt++] = m.readout;
        while (qh < qt) {
            w = q[qh++];
            for (i = 0; i < m.rt[w].n_preds; i++) {
                const int p = m.rt[w].preds[i];
                if (dist[p] < 0) { dist[p] = dist[w] + 1; q[qt++] = p; }
            }
        }
        for (T = 7; T <= 8; T++) {
            for (v = 0; v < g.n_nodes; v++) last[v] = dist[v] < 0 ? -1 : T - 1 - dist[v];
            decoded_case("small_feedback (last)", &g, T, last);
        }
        g.decoder.type = CONVRNN_DEC_AVG; g.decoder.start = 3; g.decoder.end = 6;   /* window [3, 6) at T = 8 */
        for (v = 0; v < g.n_nodes; v++) last[v] = dist[v] < 0 ? -1 : 5 - dist[v];
        decoded_case("small_feedback (avg over [3, 6))", &g, 8, last);
        convrnn_model_free(&m);
    }
}

/* sizes the parser bounds one by one but whose product is too large, and a decoder window that a
   shorter run cannot fill: errors, not a wrong model or a read of freed memory */
static void test_size_limits(void) {
    static const char *fc_wrap = "convrnn-graph 1\nname w\ninput 66 993 1\nclasses 3\nsteps 1 1\n"
                                 "node a\n  pre conv k=1 s=1 out=65536 scope=c w=w\n  pre fc out=3 scope=f w=w\n";
    static const char *mlp_wrap = "convrnn-graph 1\nname w\ninput 4 4 1\nclasses 65536\nsteps 65537 1\n"
                                  "node a\n  pre gap\n  pre fc out=65536 scope=f w=w\ndecoder mlp\n";
    static const char *c1d = "convrnn-graph 1\nname c\ninput 8 8 1\nclasses 10\nsteps 10 5\n"
                             "node a\n  pre gap\n  pre fc out=10 scope=s w=w\ndecoder conv1d start=0 end=0\n";
    convrnn_graph_spec g;
    convrnn_model m;
    convrnn_error e;
    int T;
    CHECKF(convrnn_graph_parse(fc_wrap, strlen(fc_wrap), &g, &e) == CONVRNN_OK, "%s", e.msg);
    CHECKF(convrnn_model_create(&m, &g) == CONVRNN_ERR_OVERFLOW && strstr(m.err.msg, "66x993x65536"), "fc wrap: %s", m.err.msg);
    convrnn_model_free(&m);
    CHECKF(convrnn_graph_parse(mlp_wrap, strlen(mlp_wrap), &g, &e) == CONVRNN_OK, "%s", e.msg);
    CHECKF(convrnn_model_create(&m, &g) == CONVRNN_ERR_OVERFLOW, "mlp wrap: %s", m.err.msg);
    convrnn_model_free(&m);
    CHECKF(convrnn_graph_parse(c1d, strlen(c1d), &g, &e) == CONVRNN_OK, "%s", e.msg);
    if (convrnn_model_create(&m, &g) == CONVRNN_OK) {
        float img[2 * 64];
        int i;
        for (i = 0; i < 2 * 64; i++) img[i] = (float)(i % 7) - 3;
        for (T = 10; T >= 1; T--) {   /* the graph's window is 10 steps; runs of 6+ steps decode */
            convrnn_tape t;
            convrnn_tensor **outs = (convrnn_tensor **)calloc((size_t)T * g.n_nodes, sizeof *outs), *z;
            convrnn_stimulus st = convrnn_stimulus_make(img, 2, 8, 8, 1, T, T);
            convrnn_tape_init(&t, 0);
            CHECK(convrnn_model_unroll_decoded(&m, &t, &st, outs) == CONVRNN_OK);
            z = convrnn_model_decode(&m, &t, outs, T, T, NULL);
            if (T >= 6) CHECKF(z && z->d[3] == 10, "T %d: %s", T, t.err.msg);
            else CHECKF(!z && t.err.status == CONVRNN_ERR_SHAPE && strstr(t.err.msg, "at least 6"), "T %d: %s", T, t.err.msg);
            convrnn_tape_free(&t);
            free(outs);
        }
        convrnn_model_free(&m);
    } else CHECKF(0, "conv1d: %s", m.err.msg);
}

int main(void) {
    test_counts();
    test_timing();
    test_blank_never_reaches_readout();
    test_roundtrips();
    test_weights_roundtrip();
    test_memory_decay_scalars();
    test_bad_text();
    test_presets();
    test_any_size_and_nan();
    test_unroll_decoded();
    test_size_limits();
    return TEST_END("graph");
}
