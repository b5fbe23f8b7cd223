/* ====================================================================================== [IMPL-GRAPH] */

static convrnn_op_spec convrnn__op(convrnn_op_kind kind, const char *scope, const char *wname) {
    convrnn_op_spec o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.k = 1; o.stride = 1; o.pad = CONVRNN_SAME;
    if (scope) snprintf(o.scope, sizeof o.scope, "%s", scope);
    if (wname) snprintf(o.wname, sizeof o.wname, "%s", wname);
    o.winit = convrnn_init_make(CONVRNN_INIT_VARSCALE, 1.0, 0);
    o.binit = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
    return o;
}
static convrnn_op_spec convrnn__conv_op(const char *scope, const char *wname, int k, int stride, int out,
                                        convrnn_padding pad, convrnn_act act, double wd) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_CONV, scope, wname);
    o.k = k; o.stride = stride; o.out = out; o.pad = pad; o.act = act; o.bias = 1; o.wd = wd;
    return o;
}
static convrnn_op_spec convrnn__pool_op(void) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_MAXPOOL, "", "");
    o.k = 2; o.stride = 2;
    return o;
}
static convrnn_op_spec convrnn__act_op(convrnn_act a) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_ACT, "", "");
    o.act = a;
    return o;
}
static convrnn_node_spec *convrnn__add_node(convrnn_graph_spec *g, const char *name, const char *ff) {
    convrnn_node_spec *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->ff, sizeof n->ff, "%s", ff ? ff : "");
    n->cell = convrnn_cell_config_default(CONVRNN_CELL_IDENTITY, 0);
    return n;
}
static void convrnn__add_edge(convrnn_graph_spec *g, int src, int dst) {
    g->edge_src[g->n_edges] = src;
    g->edge_dst[g->n_edges] = dst;
    g->n_edges++;
}

/* The 20 released models (spec 10.1) and the laptop-sized ones. */
static const char *convrnn__zoo_names[] = {
    "rgc_intermediate", "rgc_intermediate_tmaxconf", "rgc_intermediate_t22_tmaxconf", "rgc_intermediate_dthresh",
    "ugrnn_intermediate", "intersectionrnn_intermediate", "lstm_intermediate", "gru_intermediate",
    "simplernn_intermediate", "timedecay_intermediate", "ugrnn_intermediate_t30", "ugrnn_intermediate_t30_tmaxconf",
    "ugrnn_intermediate_t30_dthresh", "ugrnn_shallow", "rgc_shallow", "intersectionrnn_shallow", "lstm_shallow",
    "gru_shallow", "simplernn_shallow", "timedecay_shallow",
    "ff_shallow", "ff_intermediate",
    "laptop_ff", "laptop_timedecay", "laptop_simplernn", "laptop_gru", "laptop_lstm", "laptop_ugrnn",
    "laptop_intersectionrnn", "laptop_rgc", "laptop_ff_deep"
};
#define CONVRNN__ZOO_N ((int)(sizeof convrnn__zoo_names / sizeof convrnn__zoo_names[0]))

CONVRNNDEF int convrnn_zoo_count(void) { return CONVRNN__ZOO_N; }
CONVRNNDEF const char *convrnn_zoo_name(int i) { return i >= 0 && i < CONVRNN__ZOO_N ? convrnn__zoo_names[i] : NULL; }

static int convrnn__starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static int convrnn__ends(const char *s, const char *p) {
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

/* Cell of a released model, by family. */
static convrnn_cell_config convrnn__zoo_cell(convrnn_cell_type type, int D, double wd) {
    convrnn_cell_config c = convrnn_cell_config_default(type, D);
    c.weight_decay = wd;
    return c;
}

/* Shallow BaseNet (spec 4.1): conv1..conv5 + imnetds (2x2 VALID conv to the classes + global pool). */
static void convrnn__zoo_shallow(convrnn_graph_spec *g, convrnn_cell_type type) {
    static const char *names[] = { "conv1", "conv2", "conv3", "conv4", "conv5" };
    static const int pre_c[] = { 64, 128, 256, 256, 512 };
    int D[3] = { 256, 256, 512 }, l;
    convrnn_act A = type == CONVRNN_CELL_RGC ? CONVRNN_ACT_ELU : CONVRNN_ACT_IDENTITY;
    if (type == CONVRNN_CELL_SIMPLERNN || type == CONVRNN_CELL_LSTM) { D[0] = 128; D[1] = 256; D[2] = 256; }
    g->in_h = g->in_w = 224; g->in_c = 3; g->n_classes = 1000;
    g->T = 16; g->image_off = 12;
    for (l = 0; l < 5; l++) {
        convrnn_node_spec *n = convrnn__add_node(g, names[l], l ? names[l - 1] : "");
        convrnn_act act = l < 2 ? CONVRNN_ACT_ELU : A;
        n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", l ? 3 : 7, l ? 1 : 2, pre_c[l], CONVRNN_SAME, act, 1e-4);
        if (l >= 2 && type != CONVRNN_CELL_IDENTITY) {
            n->cell = convrnn__zoo_cell(type, D[l - 2], 1e-4);
            if (type == CONVRNN_CELL_RGC) {
                n->cell.rgc = convrnn_rgc_shallow_config();
            } else if (type == CONVRNN_CELL_LSTM) {
                /* lstm_shallow.npz layer_params (spec 4.1) */
                static const int k[3] = { 2, 3, 4 }, peep[3] = { 0, 1, 0 };
                static const double fb[3] = { 1.3561755, 0.9779629, 0.9249280 };
                static const double wd[3] = { 5.434e-6, 7.613e-6, 3.038e-6 };
                static const double sc[3] = { 0.70088, 1.83146, 0.89376 };
                static const double bi[3] = { 1.64277, -1.16602, -1.34950 };
                n->cell.k = k[l - 2]; n->cell.peepholes = peep[l - 2]; n->cell.layer_norm = 1;
                n->cell.forget_bias = fb[l - 2]; n->cell.weight_decay = wd[l - 2];
                n->cell.kernel_init = convrnn_init_make(CONVRNN_INIT_VARSCALE, sc[l - 2], 0);
                n->cell.bias_init = convrnn_init_make(CONVRNN_INIT_CONST, bi[l - 2], 0);
            } else if (type == CONVRNN_CELL_SIMPLERNN) {
                n->cell.layer_norm = 1;
            }
        }
        n->post[n->n_post++] = convrnn__pool_op();
    }
    {
        convrnn_node_spec *n = convrnn__add_node(g, "imnetds", "conv5");
        convrnn_op_spec o = convrnn__conv_op("pre_1", "weights", 2, 1, 1000, CONVRNN_VALID, CONVRNN_ACT_IDENTITY, 1e-4);
        o.winit = convrnn_init_make(CONVRNN_INIT_NORMAL, 0.01, 0);
        n->pre[n->n_pre++] = o;
        n->post[n->n_post++] = convrnn__op(CONVRNN_OP_GAP, "", "");
    }
}

static convrnn_op_spec convrnn__fc_op(const char *scope, int out, double wd) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_FC, scope, "weights");
    o.out = out; o.bias = 1; o.wd = wd;
    o.winit = convrnn_init_make(CONVRNN_INIT_NORMAL, 0.01, 0);
    o.binit = convrnn_init_make(CONVRNN_INIT_CONST, 1.0, 0); /* the fc default */
    return o;
}

/* Intermediate BaseNet (spec 4.2) with cells in conv4..conv10, and the RGC Median backbone (4.3). */
static void convrnn__zoo_intermediate(convrnn_graph_spec *g, convrnn_cell_type type) {
    static const int depth[] = { 64, 64, 64, 128, 128, 256, 256, 512, 512, 512 };
    static const int rgc_pre[] = { 64, 128, 128, 128, 128, 256, 256, 256, 512, 512 };
    static const int pool[] = { 1, 0, 0, 1, 0, 1, 1, 0, 0, 1 };
    static const int rgc_pool[] = { 1, 0, 0, 1, 0, 1, 1, 0, 0, 1 };
    const int rgc = type == CONVRNN_CELL_RGC;
    char name[16], prev[16];
    int l;
    g->in_h = g->in_w = 224; g->in_c = 3; g->n_classes = 1000;
    g->T = 17; g->image_off = 12;
    for (l = 0; l < 10; l++) {
        convrnn_node_spec *n;
        snprintf(name, sizeof name, "conv%d", l + 1);
        snprintf(prev, sizeof prev, "conv%d", l);
        n = convrnn__add_node(g, name, l ? prev : "");
        if (l == 0) {
            n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 7, 2, 64, CONVRNN_SAME, CONVRNN_ACT_IDENTITY, 1e-4);
            n->post[n->n_post++] = convrnn__act_op(CONVRNN_ACT_ELU);
            n->post[n->n_post++] = convrnn__pool_op();
            continue;
        }
        if (rgc) {
            n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 3, 1, rgc_pre[l], CONVRNN_SAME, CONVRNN_ACT_IDENTITY, 1e-4);
            if (l < 3) {
                n->post[n->n_post++] = convrnn__act_op(CONVRNN_ACT_ELU);
            } else {
                n->cell = convrnn__zoo_cell(CONVRNN_CELL_RGC, rgc_pre[l], 2.033999e-4);
                n->cell.rgc = convrnn_rgc_median_config();
                n->cell.bias_init = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
                if (rgc_pool[l]) n->post[n->n_post++] = convrnn__pool_op();
            }
            continue;
        }
        n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 3, 1, depth[l], CONVRNN_SAME, CONVRNN_ACT_ELU, 1e-4);
        if (l >= 3 && type != CONVRNN_CELL_IDENTITY) n->cell = convrnn__zoo_cell(type, depth[l], 1e-4);
        n->post[n->n_post++] = convrnn__conv_op("post_0", "weights", 3, 1, depth[l], CONVRNN_SAME, CONVRNN_ACT_IDENTITY, 1e-4);
        {
            convrnn_op_spec o = convrnn__op(CONVRNN_OP_RESADD, "post_1", "residual_add_weights");
            o.wd = 1e-4;
            n->post[n->n_post++] = o;
        }
        n->post[n->n_post++] = convrnn__act_op(CONVRNN_ACT_ELU);
        if (pool[l]) n->post[n->n_post++] = convrnn__pool_op();
    }
    {
        convrnn_node_spec *n = convrnn__add_node(g, "imnetds", "conv10");
        n->pre[n->n_pre++] = convrnn__op(CONVRNN_OP_GAP, "", "");
        n->pre[n->n_pre++] = convrnn__fc_op("pre_3", 1000, 1e-4);
    }
    if (rgc) {
        /* the five long-range feedback edges of RGC Median */
        static const int src[] = { 8, 9, 10, 7, 10 }, dst[] = { 5, 6, 7, 6, 9 };
        int e;
        for (e = 0; e < 5; e++) convrnn__add_edge(g, src[e] - 1, dst[e] - 1);
    }
}

/* Laptop-sized models for 28x28 (or 32x32) inputs: the shallow topology with small channel counts,
   cells in conv3..conv5, a global-pool + dense readout; "deep" doubles the feedforward blocks. */
static void convrnn__zoo_laptop(convrnn_graph_spec *g, convrnn_cell_type type, int deep) {
    static const int ch[] = { 8, 16, 16, 32, 32 };
    char name[16], prev[16];
    int l, L = deep ? 10 : 5, idx = 0;
    g->in_h = g->in_w = 28; g->in_c = 1; g->n_classes = 10;
    g->T = 8; g->image_off = 8;
    for (l = 0; l < L; l++) {
        convrnn_node_spec *n;
        int b = deep ? l / 2 : l, pool = deep ? (l % 2 == 1 && l < 7) : (l < 3);
        snprintf(name, sizeof name, "conv%d", l + 1);
        snprintf(prev, sizeof prev, "conv%d", l);
        n = convrnn__add_node(g, name, l ? prev : "");
        n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 3, 1, ch[b], CONVRNN_SAME,
                                              CONVRNN_ACT_ELU, 1e-4);
        if (!deep && l >= 2 && type != CONVRNN_CELL_IDENTITY) {
            n->cell = convrnn__zoo_cell(type, ch[b], 1e-4);
            if (type == CONVRNN_CELL_RGC) n->cell.rgc = convrnn_rgc_shallow_config();
        }
        if (pool) n->post[n->n_post++] = convrnn__pool_op();
        idx++;
    }
    {
        convrnn_node_spec *n = convrnn__add_node(g, "imnetds", name);
        n->pre[n->n_pre++] = convrnn__op(CONVRNN_OP_GAP, "", "");
        n->pre[n->n_pre++] = convrnn__fc_op("pre_1", 10, 1e-4);
        n->pre[n->n_pre - 1].binit = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
        n->pre[n->n_pre - 1].winit = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0);
    }
    (void)idx;
}

CONVRNNDEF convrnn_status convrnn_zoo_spec(const char *name, convrnn_graph_spec *g, convrnn_error *err) {
    static const char *fam[] = { "timedecay", "simplernn", "gru", "lstm", "ugrnn", "intersectionrnn", "rgc", "ff" };
    static const convrnn_cell_type types[] = { CONVRNN_CELL_TIMEDECAY, CONVRNN_CELL_SIMPLERNN, CONVRNN_CELL_GRU,
        CONVRNN_CELL_LSTM, CONVRNN_CELL_UGRNN, CONVRNN_CELL_INTERSECTION, CONVRNN_CELL_RGC, CONVRNN_CELL_IDENTITY };
    int i, known = 0, f;
    if (!name || !g) return convrnn_error_set(err, CONVRNN_ERR_ARG, "zoo: NULL name or spec");
    for (i = 0; i < CONVRNN__ZOO_N; i++) if (!strcmp(name, convrnn__zoo_names[i])) known = 1;
    if (!known) {
        char list[200];
        size_t off = 0;
        list[0] = 0;
        for (i = 0; i < CONVRNN__ZOO_N; i++) {
            const size_t l = strlen(convrnn__zoo_names[i]);
            if (off + l + 8 >= sizeof list) { memcpy(list + off, ", ...", 6); break; }
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", convrnn__zoo_names[i]);
        }
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "unknown model '%.64s' (%d zoo names: %s)", name, CONVRNN__ZOO_N, list);
    }
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->decoder.type = CONVRNN_DEC_LAST;
    g->decoder.start = -1; g->decoder.end = 0; g->decoder.threshold = 0.9; g->decoder.mlp_hidden = 250;
    if (convrnn__starts(name, "laptop_")) {
        const char *rest = name + 7;
        if (!strcmp(rest, "ff_deep")) convrnn__zoo_laptop(g, CONVRNN_CELL_IDENTITY, 1);
        else for (f = 0; f < 8; f++) if (!strcmp(rest, fam[f])) convrnn__zoo_laptop(g, types[f], 0);
        return CONVRNN_OK;
    }
    for (f = 0; f < 8; f++) {
        size_t n = strlen(fam[f]);
        if (!strncmp(name, fam[f], n) && name[n] == '_') break;
    }
    if (strstr(name, "_shallow")) convrnn__zoo_shallow(g, types[f]);
    else convrnn__zoo_intermediate(g, types[f]);
    if (strstr(name, "_t22")) { g->T = 22; g->image_off = 22; }
    if (strstr(name, "_t30")) { g->T = 30; g->image_off = 30; }
    if (convrnn__ends(name, "_tmaxconf")) { g->decoder.type = CONVRNN_DEC_MAX_CONF; g->decoder.trainable = 1; }
    if (convrnn__ends(name, "_dthresh")) g->decoder.type = CONVRNN_DEC_THRESH;
    return CONVRNN_OK;
}

/* [DOC-GRAPH-TEXT] The graph text format, one statement per line, '#' starts a comment:
     convrnn-graph 1
     name NAME
     input H W C
     classes K
     steps T IMAGE_OFF
     node NAME [ff=PRED]              starts a node; the lines below belong to it
       pre|post conv k= s= out= pad=same|valid act= bias=0|1 scope= w= wd= init= binit=
       pre|post fc out= act= bias= scope= w= wd= init= binit=
       pre|post maxpool k= s= pad=      pre|post act act=     pre|post gap
       post resadd scope= w= wd= init=
       cell TYPE out= k= forget_bias= layer_norm= peepholes= wd= init= binit= [rgc keys]
     edge SRC DST                     an extra (feedback) edge, one step of delay like every edge
     decoder TYPE start= end= threshold= trainable= hidden=
   TYPE of cell: identity timedecay simplernn gru lstm ugrnn intersectionrnn rgc. RGC keys:
   flavor=shallow|median cell_depth= tau_k= gate_k= ff_k= in_out_k= fb_k= tau_ds= gate_ds= ff_ds=
   in_out_ds= fb_ds= input_to_cell= input_to_out= cell_to_out= cell_residual= out_residual=
   residual_to_cell_tau= residual_to_cell_gate= residual_to_out_tau= residual_to_out_gate=
   input_to_tau= input_to_gate= tau_nl= gate_nl= tau_offset= tau_mult= gate_offset= gate_mult=
   tau_bias= gate_bias= input_act= cell_act= out_act= fb_act= layer_norm= fb_entry=input|cell|out
   rgc_init=. Initializers: zero, const:V, normal:SD, uniform:A:B, varscale:SCALE, glorot.
   The writer prints every field (floats with 17 significant digits), so text -> spec -> text is
   exact, and two specs are equal iff their texts are. */

typedef struct convrnn__sb { char *p; size_t n, cap; int oom; } convrnn__sb;
static void convrnn__sb_printf(convrnn__sb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void convrnn__sb_printf(convrnn__sb *b, const char *fmt, ...) {
    va_list ap;
    int k;
    if (b->oom) return;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if (b->p && (size_t)k < room) { b->n += (size_t)k; return; }
        {
            size_t nc = (b->cap + (size_t)k + 1) * 2;
            char *np = (char *)convrnn_malloc(NULL, nc);
            if (!np) { b->oom = 1; return; }
            if (b->p) memcpy(np, b->p, b->n + 1);
            convrnn_free(NULL, b->p);
            b->p = np; b->cap = nc;
        }
    }
}

static const char *convrnn__init_str(convrnn_init i, char *buf, size_t n) {
    switch (i.kind) {
    case CONVRNN_INIT_ZERO: snprintf(buf, n, "zero"); break;
    case CONVRNN_INIT_CONST: snprintf(buf, n, "const:%.17g", i.a); break;
    case CONVRNN_INIT_NORMAL: snprintf(buf, n, "normal:%.17g", i.a); break;
    case CONVRNN_INIT_UNIFORM: snprintf(buf, n, "uniform:%.17g:%.17g", i.a, i.b); break;
    case CONVRNN_INIT_VARSCALE: snprintf(buf, n, "varscale:%.17g", i.a); break;
    default: snprintf(buf, n, "glorot"); break;
    }
    return buf;
}
static const char *convrnn__op_names[] = { "conv", "fc", "maxpool", "act", "gap", "resadd" };
static const char *convrnn__fb_names[] = { "input", "cell", "out" };
static const char *convrnn__dec_names[] = { "last", "max_conf", "thresh", "time_max", "w_avg", "w_avg_t",
                                            "w_time_avg", "sum", "avg", "random", "mlp", "conv1d" };

CONVRNNDEF const char *convrnn_decoder_name(convrnn_decoder_type d) {
    return (unsigned)d < CONVRNN_DEC_TYPE_COUNT ? convrnn__dec_names[d] : "?";
}
CONVRNNDEF int convrnn_decoder_parse(const char *name, convrnn_decoder_type *out) {
    int i;
    for (i = 0; name && i < CONVRNN_DEC_TYPE_COUNT; i++)
        if (!strcmp(name, convrnn__dec_names[i])) { *out = (convrnn_decoder_type)i; return 1; }
    return 0;
}

static void convrnn__write_op(convrnn__sb *b, const char *where, const convrnn_op_spec *o) {
    char i1[64], i2[64];
    convrnn__sb_printf(b, "  %s %s", where, convrnn__op_names[o->kind]);
    switch (o->kind) {
    case CONVRNN_OP_CONV:
        convrnn__sb_printf(b, " k=%d s=%d out=%d pad=%s act=%s bias=%d scope=%s w=%s wd=%.17g init=%s binit=%s",
            o->k, o->stride, o->out, o->pad == CONVRNN_SAME ? "same" : "valid", convrnn_act_name(o->act), o->bias,
            o->scope, o->wname, o->wd, convrnn__init_str(o->winit, i1, sizeof i1), convrnn__init_str(o->binit, i2, sizeof i2));
        break;
    case CONVRNN_OP_FC:
        convrnn__sb_printf(b, " out=%d act=%s bias=%d scope=%s w=%s wd=%.17g init=%s binit=%s", o->out,
            convrnn_act_name(o->act), o->bias, o->scope, o->wname, o->wd, convrnn__init_str(o->winit, i1, sizeof i1),
            convrnn__init_str(o->binit, i2, sizeof i2));
        break;
    case CONVRNN_OP_MAXPOOL:
        convrnn__sb_printf(b, " k=%d s=%d pad=%s", o->k, o->stride, o->pad == CONVRNN_SAME ? "same" : "valid");
        break;
    case CONVRNN_OP_ACT: convrnn__sb_printf(b, " act=%s", convrnn_act_name(o->act)); break;
    case CONVRNN_OP_RESADD:
        convrnn__sb_printf(b, " scope=%s w=%s wd=%.17g init=%s", o->scope, o->wname, o->wd, convrnn__init_str(o->winit, i1, sizeof i1));
        break;
    default: break;
    }
    convrnn__sb_printf(b, "\n");
}

static void convrnn__write_cell(convrnn__sb *b, const convrnn_cell_config *c) {
    char i1[64], i2[64];
    convrnn__sb_printf(b, "  cell %s", convrnn_cell_type_name(c->type));
    if (c->type == CONVRNN_CELL_IDENTITY) { convrnn__sb_printf(b, "\n"); return; }
    convrnn__sb_printf(b, " out=%d k=%d forget_bias=%.17g layer_norm=%d peepholes=%d wd=%.17g init=%s binit=%s",
        c->out_depth, c->k, c->forget_bias, c->layer_norm, c->peepholes, c->weight_decay,
        convrnn__init_str(c->kernel_init, i1, sizeof i1), convrnn__init_str(c->bias_init, i2, sizeof i2));
    if (c->type == CONVRNN_CELL_RGC) {
        const convrnn_rgc_config *g = &c->rgc;
        convrnn__sb_printf(b, " flavor=%s cell_depth=%d tau_k=%d gate_k=%d ff_k=%d in_out_k=%d fb_k=%d tau_ds=%d gate_ds=%d"
            " ff_ds=%d in_out_ds=%d fb_ds=%d input_to_cell=%d input_to_out=%d cell_to_out=%d cell_residual=%d"
            " out_residual=%d residual_to_cell_tau=%d residual_to_cell_gate=%d residual_to_out_tau=%d"
            " residual_to_out_gate=%d input_to_tau=%d input_to_gate=%d",
            g->flavor == CONVRNN_RGC_MEDIAN ? "median" : "shallow", g->cell_depth, g->tau_k, g->gate_k, g->ff_k,
            g->in_out_k, g->fb_k, g->tau_ds, g->gate_ds, g->ff_ds, g->in_out_ds, g->fb_ds, g->input_to_cell,
            g->input_to_out, g->cell_to_out, g->cell_residual, g->out_residual, g->residual_to_cell_tau,
            g->residual_to_cell_gate, g->residual_to_out_tau, g->residual_to_out_gate, g->input_to_tau, g->input_to_gate);
        convrnn__sb_printf(b, " tau_nl=%s gate_nl=%s tau_offset=%.17g tau_mult=%.17g gate_offset=%.17g gate_mult=%.17g"
            " tau_bias=%.17g gate_bias=%.17g input_act=%s cell_act=%s out_act=%s fb_act=%s rgc_layer_norm=%d"
            " fb_entry=%s rgc_init=%s",
            convrnn_act_name(g->tau_nl), convrnn_act_name(g->gate_nl), g->tau_offset, g->tau_mult, g->gate_offset,
            g->gate_mult, g->tau_bias, g->gate_bias, convrnn_act_name(g->input_act), convrnn_act_name(g->cell_act),
            convrnn_act_name(g->out_act), convrnn_act_name(g->fb_act), g->layer_norm,
            convrnn__fb_names[(unsigned)g->fb_entry <= 2 ? g->fb_entry : 0], convrnn__init_str(g->kernel_init, i1, sizeof i1));
    }
    convrnn__sb_printf(b, "\n");
}

CONVRNNDEF convrnn_status convrnn_graph_to_text(const convrnn_graph_spec *g, char **text, convrnn_error *err) {
    convrnn__sb b;
    int i, j;
    if (!g || !text) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_to_text: NULL argument");
    memset(&b, 0, sizeof b);
    convrnn__sb_printf(&b, "convrnn-graph 1\nname %s\ninput %d %d %d\nclasses %d\nsteps %d %d\n", g->name[0] ? g->name : "unnamed",
        g->in_h, g->in_w, g->in_c, g->n_classes, g->T, g->image_off);
    for (i = 0; i < g->n_nodes; i++) {
        const convrnn_node_spec *n = &g->nodes[i];
        convrnn__sb_printf(&b, "node %s", n->name);
        if (n->ff[0]) convrnn__sb_printf(&b, " ff=%s", n->ff);
        convrnn__sb_printf(&b, "\n");
        for (j = 0; j < n->n_pre; j++) convrnn__write_op(&b, "pre", &n->pre[j]);
        convrnn__write_cell(&b, &n->cell);
        for (j = 0; j < n->n_post; j++) convrnn__write_op(&b, "post", &n->post[j]);
    }
    for (i = 0; i < g->n_edges; i++) {
        if (g->edge_src[i] < 0 || g->edge_src[i] >= g->n_nodes || g->edge_dst[i] < 0 || g->edge_dst[i] >= g->n_nodes) {
            convrnn_free(NULL, b.p);
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_to_text: edge %d refers to a missing node", i);
        }
        convrnn__sb_printf(&b, "edge %s %s\n", g->nodes[g->edge_src[i]].name, g->nodes[g->edge_dst[i]].name);
    }
    convrnn__sb_printf(&b, "decoder %s start=%d end=%d threshold=%.17g trainable=%d hidden=%d\n",
        convrnn_decoder_name(g->decoder.type), g->decoder.start, g->decoder.end, g->decoder.threshold,
        g->decoder.trainable, g->decoder.mlp_hidden);
    if (b.oom) { convrnn_free(NULL, b.p); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "graph_to_text: out of memory"); }
    *text = b.p;
    return CONVRNN_OK;
}

CONVRNNDEF int convrnn_graph_equal(const convrnn_graph_spec *a, const convrnn_graph_spec *b) {
    char *ta = NULL, *tb = NULL;
    int eq;
    if (convrnn_graph_to_text(a, &ta, NULL) || convrnn_graph_to_text(b, &tb, NULL)) { convrnn_free(NULL, ta); convrnn_free(NULL, tb); return 0; }
    eq = !strcmp(ta, tb);
    convrnn_free(NULL, ta);
    convrnn_free(NULL, tb);
    return eq;
}

/* ---- parser */
typedef struct convrnn__lp { convrnn_error *err; int line; const char *key; } convrnn__lp;

static int convrnn__perr(convrnn__lp *p, const char *fmt, const char *a, const char *b) {
    char what[200];
    snprintf(what, sizeof what, fmt, a ? a : "", b ? b : "");
    convrnn_error_set(p->err, CONVRNN_ERR_FORMAT, "graph text line %d: %s", p->line, what);
    return 0;
}
static int convrnn__pint(convrnn__lp *p, const char *v, int lo, int hi, int *out) {
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        char rng[64];
        snprintf(rng, sizeof rng, "[%d, %d]", lo, hi);
        return convrnn__perr(p, "value '%.40s' must be an integer in %s", v, rng);
    }
    *out = (int)x;
    return 1;
}
static int convrnn__pdbl(convrnn__lp *p, const char *v, double *out) {
    char *end;
    double x;
    x = strtod(v, &end);
    if (!*v || *end || !(x - x == 0)) return convrnn__perr(p, "value '%.40s' is not a finite number%s", v, "");
    *out = x;
    return 1;
}
static int convrnn__pact(convrnn__lp *p, const char *v, convrnn_act *out) {
    if (!convrnn_act_parse(v, out)) return convrnn__perr(p, "unknown activation '%.40s'%s", v, "");
    return 1;
}
static int convrnn__pinit(convrnn__lp *p, const char *v, convrnn_init *out) {
    char *end;
    memset(out, 0, sizeof *out);
    if (!strcmp(v, "zero")) { out->kind = CONVRNN_INIT_ZERO; return 1; }
    if (!strcmp(v, "glorot")) { out->kind = CONVRNN_INIT_GLOROT_UNIFORM; return 1; }
    if (!strncmp(v, "const:", 6)) { out->kind = CONVRNN_INIT_CONST; return convrnn__pdbl(p, v + 6, &out->a); }
    if (!strncmp(v, "normal:", 7)) { out->kind = CONVRNN_INIT_NORMAL; return convrnn__pdbl(p, v + 7, &out->a); }
    if (!strncmp(v, "varscale:", 9)) { out->kind = CONVRNN_INIT_VARSCALE; return convrnn__pdbl(p, v + 9, &out->a); }
    if (!strncmp(v, "uniform:", 8)) {
        out->kind = CONVRNN_INIT_UNIFORM;
        out->a = strtod(v + 8, &end);
        if (*end != ':') return convrnn__perr(p, "initializer '%.40s': expected uniform:A:B%s", v, "");
        return convrnn__pdbl(p, end + 1, &out->b);
    }
    return convrnn__perr(p, "unknown initializer '%.40s'%s", v, "");
}
static int convrnn__pname(convrnn__lp *p, const char *v, char *dst, size_t n) {
    size_t i, len = strlen(v);
    if (len == 0 || len >= n) return convrnn__perr(p, "name '%.40s' is empty or too long%s", v, "");
    for (i = 0; i < len; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return convrnn__perr(p, "name '%.40s' has a character outside [A-Za-z0-9_.-]%s", v, "");
    }
    memcpy(dst, v, len + 1);
    return 1;
}

static int convrnn__pop(convrnn__lp *p, char **tok, int nt, convrnn_op_spec *o) {
    int i;
    convrnn_op_kind kind = CONVRNN_OP_KIND_COUNT;
    for (i = 0; i < CONVRNN_OP_KIND_COUNT; i++) if (!strcmp(tok[1], convrnn__op_names[i])) kind = (convrnn_op_kind)i;
    if (kind == CONVRNN_OP_KIND_COUNT) return convrnn__perr(p, "unknown op '%.40s'%s", tok[1], "");
    *o = convrnn__op(kind, "", "");
    if (kind == CONVRNN_OP_MAXPOOL) { o->k = 2; o->stride = 2; }
    if (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC) o->bias = 1;
    if (kind == CONVRNN_OP_RESADD) snprintf(o->wname, sizeof o->wname, "residual_add_weights");
    for (i = 2; i < nt; i++) {
        char *k = tok[i], *v = strchr(k, '=');
        int ok = 1;
        if (!v) return convrnn__perr(p, "expected key=value, got '%.40s'%s", k, "");
        *v++ = 0;
        if (!strcmp(k, "k") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_MAXPOOL)) ok = convrnn__pint(p, v, 1, 64, &o->k);
        else if (!strcmp(k, "s") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_MAXPOOL)) ok = convrnn__pint(p, v, 1, 64, &o->stride);
        else if (!strcmp(k, "out") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC)) ok = convrnn__pint(p, v, 1, 1 << 16, &o->out);
        else if (!strcmp(k, "pad") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_MAXPOOL)) {
            if (!strcmp(v, "same")) o->pad = CONVRNN_SAME;
            else if (!strcmp(v, "valid")) o->pad = CONVRNN_VALID;
            else return convrnn__perr(p, "padding must be same or valid, got '%.40s'%s", v, "");
        } else if (!strcmp(k, "act") && kind != CONVRNN_OP_MAXPOOL && kind != CONVRNN_OP_GAP && kind != CONVRNN_OP_RESADD) ok = convrnn__pact(p, v, &o->act);
        else if (!strcmp(k, "bias") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC)) ok = convrnn__pint(p, v, 0, 1, &o->bias);
        else if (!strcmp(k, "scope") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pname(p, v, o->scope, sizeof o->scope);
        else if (!strcmp(k, "w") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pname(p, v, o->wname, sizeof o->wname);
        else if (!strcmp(k, "wd") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pdbl(p, v, &o->wd);
        else if (!strcmp(k, "init") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pinit(p, v, &o->winit);
        else if (!strcmp(k, "binit") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC)) ok = convrnn__pinit(p, v, &o->binit);
        else return convrnn__perr(p, "unknown key '%.40s' for op %s", k, convrnn__op_names[kind]);
        if (!ok) return 0;
    }
    if ((kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC) && (!o->out || !o->scope[0] || !o->wname[0]))
        return convrnn__perr(p, "op %s needs out=, scope= and w=%s", convrnn__op_names[kind], "");
    if (kind == CONVRNN_OP_RESADD && !o->scope[0]) return convrnn__perr(p, "resadd needs scope=%s%s", "", "");
    return 1;
}

static int convrnn__pcell(convrnn__lp *p, char **tok, int nt, convrnn_cell_config *c) {
    convrnn_cell_type type;
    convrnn_rgc_config *g;
    int i;
    if (nt < 2 || !convrnn_cell_type_parse(tok[1], &type)) return convrnn__perr(p, "unknown cell type '%.40s'%s", nt > 1 ? tok[1] : "", "");
    *c = convrnn_cell_config_default(type, 0);
    g = &c->rgc;
    for (i = 2; i < nt; i++) {
        char *k = tok[i], *v = strchr(k, '=');
        int ok = 1;
        if (!v) return convrnn__perr(p, "expected key=value, got '%.40s'%s", k, "");
        *v++ = 0;
        if (type == CONVRNN_CELL_IDENTITY) return convrnn__perr(p, "cell identity takes no keys (got '%.40s')%s", k, "");
#define CONVRNN__I(name, dst, lo, hi) else if (!strcmp(k, name)) ok = convrnn__pint(p, v, lo, hi, &(dst))
#define CONVRNN__D(name, dst) else if (!strcmp(k, name)) ok = convrnn__pdbl(p, v, &(dst))
#define CONVRNN__A(name, dst) else if (!strcmp(k, name)) ok = convrnn__pact(p, v, &(dst))
        if (0) {}
        CONVRNN__I("out", c->out_depth, 1, 1 << 16);
        CONVRNN__I("k", c->k, 1, 64);
        CONVRNN__D("forget_bias", c->forget_bias);
        CONVRNN__I("layer_norm", c->layer_norm, 0, 1);
        CONVRNN__I("peepholes", c->peepholes, 0, 1);
        CONVRNN__D("wd", c->weight_decay);
        else if (!strcmp(k, "init")) ok = convrnn__pinit(p, v, &c->kernel_init);
        else if (!strcmp(k, "binit")) ok = convrnn__pinit(p, v, &c->bias_init);
        else if (type != CONVRNN_CELL_RGC) return convrnn__perr(p, "unknown key '%.40s' for cell %s", k, tok[1]);
        else if (!strcmp(k, "flavor")) {
            if (!strcmp(v, "shallow")) g->flavor = CONVRNN_RGC_SHALLOW;
            else if (!strcmp(v, "median")) g->flavor = CONVRNN_RGC_MEDIAN;
            else return convrnn__perr(p, "flavor must be shallow or median, got '%.40s'%s", v, "");
        } else if (!strcmp(k, "fb_entry")) {
            if (!strcmp(v, "input")) g->fb_entry = CONVRNN_FB_INPUT;
            else if (!strcmp(v, "cell")) g->fb_entry = CONVRNN_FB_CELL;
            else if (!strcmp(v, "out")) g->fb_entry = CONVRNN_FB_OUT;
            else return convrnn__perr(p, "fb_entry must be input, cell or out, got '%.40s'%s", v, "");
        }
        CONVRNN__I("cell_depth", g->cell_depth, -1, 1 << 16);
        CONVRNN__I("tau_k", g->tau_k, 0, 64);
        CONVRNN__I("gate_k", g->gate_k, 0, 64);
        CONVRNN__I("ff_k", g->ff_k, 0, 64);
        CONVRNN__I("in_out_k", g->in_out_k, 0, 64);
        CONVRNN__I("fb_k", g->fb_k, 0, 64);
        CONVRNN__I("tau_ds", g->tau_ds, 0, 1);
        CONVRNN__I("gate_ds", g->gate_ds, 0, 1);
        CONVRNN__I("ff_ds", g->ff_ds, 0, 1);
        CONVRNN__I("in_out_ds", g->in_out_ds, 0, 1);
        CONVRNN__I("fb_ds", g->fb_ds, 0, 1);
        CONVRNN__I("input_to_cell", g->input_to_cell, 0, 1);
        CONVRNN__I("input_to_out", g->input_to_out, 0, 1);
        CONVRNN__I("cell_to_out", g->cell_to_out, 0, 1);
        CONVRNN__I("cell_residual", g->cell_residual, 0, 1);
        CONVRNN__I("out_residual", g->out_residual, 0, 1);
        CONVRNN__I("residual_to_cell_tau", g->residual_to_cell_tau, 0, 1);
        CONVRNN__I("residual_to_cell_gate", g->residual_to_cell_gate, 0, 1);
        CONVRNN__I("residual_to_out_tau", g->residual_to_out_tau, 0, 1);
        CONVRNN__I("residual_to_out_gate", g->residual_to_out_gate, 0, 1);
        CONVRNN__I("input_to_tau", g->input_to_tau, 0, 1);
        CONVRNN__I("input_to_gate", g->input_to_gate, 0, 1);
        CONVRNN__I("rgc_layer_norm", g->layer_norm, 0, 1);
        CONVRNN__A("tau_nl", g->tau_nl);
        CONVRNN__A("gate_nl", g->gate_nl);
        CONVRNN__A("input_act", g->input_act);
        CONVRNN__A("cell_act", g->cell_act);
        CONVRNN__A("out_act", g->out_act);
        CONVRNN__A("fb_act", g->fb_act);
        CONVRNN__D("tau_offset", g->tau_offset);
        CONVRNN__D("tau_mult", g->tau_mult);
        CONVRNN__D("gate_offset", g->gate_offset);
        CONVRNN__D("gate_mult", g->gate_mult);
        CONVRNN__D("tau_bias", g->tau_bias);
        CONVRNN__D("gate_bias", g->gate_bias);
        else if (!strcmp(k, "rgc_init")) ok = convrnn__pinit(p, v, &g->kernel_init);
        else return convrnn__perr(p, "unknown key '%.40s' for cell %s", k, tok[1]);
#undef CONVRNN__I
#undef CONVRNN__D
#undef CONVRNN__A
        if (!ok) return 0;
    }
    if (type != CONVRNN_CELL_IDENTITY && type != CONVRNN_CELL_TIMEDECAY && c->out_depth <= 0)
        return convrnn__perr(p, "cell %s needs out=%s", tok[1], "");
    return 1;
}

static int convrnn__find_node(const convrnn_graph_spec *g, const char *name) {
    int i;
    for (i = 0; i < g->n_nodes; i++) if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

#define CONVRNN__MAX_TOK 96
CONVRNNDEF convrnn_status convrnn_graph_parse(const char *text, size_t len, convrnn_graph_spec *g, convrnn_error *err) {
    convrnn__lp p;
    char line[4096], *tok[CONVRNN__MAX_TOK], pend_src[CONVRNN_MAX_EDGES][CONVRNN_NODE_NAME], pend_dst[CONVRNN_MAX_EDGES][CONVRNN_NODE_NAME];
    int pend_line[CONVRNN_MAX_EDGES];
    size_t pos = 0;
    int have_header = 0, i, cur = -1, seen_cell = 0;
    if (!text || !g) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_parse: NULL argument");
    memset(g, 0, sizeof *g);
    g->decoder.start = -1; g->decoder.threshold = 0.9; g->decoder.mlp_hidden = 250;
    g->n_classes = 0;
    p.err = err; p.line = 0; p.key = NULL;
    while (pos < len) {
        size_t e = pos, n;
        int nt = 0;
        char *s;
        while (e < len && text[e] != '\n') e++;
        n = e - pos;
        p.line++;
        if (n >= sizeof line) { convrnn__perr(&p, "line longer than 4095 characters%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos = e + 1;
        for (i = 0; i < (int)n; i++) {
            if (line[i] == '#') { line[i] = 0; break; }
            if (line[i] == 0 || ((unsigned char)line[i] < 32 && line[i] != '\t' && line[i] != '\r')) {
                convrnn__perr(&p, "control character in the text%s%s", "", "");
                return CONVRNN_ERR_FORMAT;
            }
        }
        s = line;
        for (;;) {
            while (*s == ' ' || *s == '\t' || *s == '\r') *s++ = 0;
            if (!*s) break;
            if (nt == CONVRNN__MAX_TOK) { convrnn__perr(&p, "too many words on one line%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            tok[nt++] = s;
            while (*s && *s != ' ' && *s != '\t' && *s != '\r') s++;
        }
        if (!nt) continue;
        if (!have_header) {
            if (nt != 2 || strcmp(tok[0], "convrnn-graph") || strcmp(tok[1], "1")) {
                convrnn__perr(&p, "the first statement must be 'convrnn-graph 1'%s%s", "", "");
                return CONVRNN_ERR_FORMAT;
            }
            have_header = 1;
            continue;
        }
        if (!strcmp(tok[0], "name") && nt == 2) {
            if (!convrnn__pname(&p, tok[1], g->name, sizeof g->name)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "input") && nt == 4) {
            if (!convrnn__pint(&p, tok[1], 1, 1 << 15, &g->in_h) || !convrnn__pint(&p, tok[2], 1, 1 << 15, &g->in_w) ||
                !convrnn__pint(&p, tok[3], 1, 1 << 12, &g->in_c)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "classes") && nt == 2) {
            if (!convrnn__pint(&p, tok[1], 1, 1 << 20, &g->n_classes)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "steps") && nt == 3) {
            if (!convrnn__pint(&p, tok[1], 1, 100000, &g->T) || !convrnn__pint(&p, tok[2], 0, 100000, &g->image_off)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "node") && (nt == 2 || nt == 3)) {
            convrnn_node_spec *nd;
            if (g->n_nodes == CONVRNN_MAX_NODES) { convrnn__perr(&p, "more than %s nodes%s", "32", ""); return CONVRNN_ERR_FORMAT; }
            nd = &g->nodes[g->n_nodes];
            memset(nd, 0, sizeof *nd);
            nd->cell = convrnn_cell_config_default(CONVRNN_CELL_IDENTITY, 0);
            if (!convrnn__pname(&p, tok[1], nd->name, sizeof nd->name)) return CONVRNN_ERR_FORMAT;
            if (convrnn__find_node(g, nd->name) >= 0) { convrnn__perr(&p, "duplicate node '%.40s'%s", nd->name, ""); return CONVRNN_ERR_FORMAT; }
            if (nt == 3) {
                if (strncmp(tok[2], "ff=", 3)) { convrnn__perr(&p, "expected ff=NODE, got '%.40s'%s", tok[2], ""); return CONVRNN_ERR_FORMAT; }
                if (!convrnn__pname(&p, tok[2] + 3, nd->ff, sizeof nd->ff)) return CONVRNN_ERR_FORMAT;
            }
            cur = g->n_nodes++;
            seen_cell = 0;
        } else if ((!strcmp(tok[0], "pre") || !strcmp(tok[0], "post")) && nt >= 2) {
            convrnn_node_spec *nd;
            int post = tok[0][1] == 'o';
            if (cur < 0) { convrnn__perr(&p, "'%s' outside a node%s", tok[0], ""); return CONVRNN_ERR_FORMAT; }
            nd = &g->nodes[cur];
            if ((post ? nd->n_post : nd->n_pre) == CONVRNN_MAX_NODE_OPS) { convrnn__perr(&p, "more than 6 %s ops in one node%s", tok[0], ""); return CONVRNN_ERR_FORMAT; }
            if (!post && seen_cell) { convrnn__perr(&p, "'pre' after the node's cell%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (!convrnn__pop(&p, tok, nt, post ? &nd->post[nd->n_post] : &nd->pre[nd->n_pre])) return CONVRNN_ERR_FORMAT;
            if (post) nd->n_post++; else nd->n_pre++;
        } else if (!strcmp(tok[0], "cell") && nt >= 2) {
            if (cur < 0) { convrnn__perr(&p, "'cell' outside a node%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (seen_cell) { convrnn__perr(&p, "a node has one cell%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (g->nodes[cur].n_post) { convrnn__perr(&p, "'cell' after post ops%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (!convrnn__pcell(&p, tok, nt, &g->nodes[cur].cell)) return CONVRNN_ERR_FORMAT;
            seen_cell = 1;
        } else if (!strcmp(tok[0], "edge") && nt == 3) {
            if (g->n_edges == CONVRNN_MAX_EDGES) { convrnn__perr(&p, "more than %s edges%s", "64", ""); return CONVRNN_ERR_FORMAT; }
            if (!convrnn__pname(&p, tok[1], pend_src[g->n_edges], CONVRNN_NODE_NAME) ||
                !convrnn__pname(&p, tok[2], pend_dst[g->n_edges], CONVRNN_NODE_NAME)) return CONVRNN_ERR_FORMAT;
            pend_line[g->n_edges] = p.line;
            g->n_edges++;
        } else if (!strcmp(tok[0], "decoder") && nt >= 2) {
            if (!convrnn_decoder_parse(tok[1], &g->decoder.type)) { convrnn__perr(&p, "unknown decoder '%.40s'%s", tok[1], ""); return CONVRNN_ERR_FORMAT; }
            for (i = 2; i < nt; i++) {
                char *k = tok[i], *v = strchr(k, '=');
                int ok;
                if (!v) { convrnn__perr(&p, "expected key=value, got '%.40s'%s", k, ""); return CONVRNN_ERR_FORMAT; }
                *v++ = 0;
                if (!strcmp(k, "start")) ok = convrnn__pint(&p, v, -1, 100000, &g->decoder.start);
                else if (!strcmp(k, "end")) ok = convrnn__pint(&p, v, 0, 100000, &g->decoder.end);
                else if (!strcmp(k, "threshold")) ok = convrnn__pdbl(&p, v, &g->decoder.threshold);
                else if (!strcmp(k, "trainable")) ok = convrnn__pint(&p, v, 0, 1, &g->decoder.trainable);
                else if (!strcmp(k, "hidden")) ok = convrnn__pint(&p, v, 1, 1 << 16, &g->decoder.mlp_hidden);
                else { convrnn__perr(&p, "unknown key '%.40s' for decoder%s", k, ""); return CONVRNN_ERR_FORMAT; }
                if (!ok) return CONVRNN_ERR_FORMAT;
            }
        } else {
            convrnn__perr(&p, "unknown statement '%.40s' (or wrong number of words)%s", tok[0], "");
            return CONVRNN_ERR_FORMAT;
        }
    }
    if (!have_header) { p.line = 1; convrnn__perr(&p, "empty text: expected 'convrnn-graph 1'%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
    for (i = 0; i < g->n_edges; i++) {
        g->edge_src[i] = convrnn__find_node(g, pend_src[i]);
        g->edge_dst[i] = convrnn__find_node(g, pend_dst[i]);
        if (g->edge_src[i] < 0 || g->edge_dst[i] < 0) {
            p.line = pend_line[i];
            convrnn__perr(&p, "edge names an unknown node ('%.40s' or '%.40s')", pend_src[i], pend_dst[i]);
            return CONVRNN_ERR_FORMAT;
        }
    }
    for (i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].ff[0] && convrnn__find_node(g, g->nodes[i].ff) < 0) {
            convrnn_error_set(err, CONVRNN_ERR_FORMAT, "graph text: node '%s' has unknown ff predecessor '%s'", g->nodes[i].name, g->nodes[i].ff);
            return CONVRNN_ERR_FORMAT;
        }
    if (!g->n_nodes || !g->in_h || !g->n_classes || !g->T)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "graph text: needs 'input', 'classes', 'steps' and at least one node");
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_graph_load(const char *name_or_path, convrnn_graph_spec *g, convrnn_error *err) {
    if (!name_or_path) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_load: NULL name");
    if (convrnn__ends(name_or_path, ".cfg")) {
#ifndef CONVRNN_NO_STDIO
        void *buf = NULL;
        size_t len = 0;
        convrnn_status s = convrnn_read_file(name_or_path, &buf, &len, (size_t)16 << 20, err);
        if (s) return s;
        s = convrnn_graph_parse((const char *)buf, len, g, err);
        convrnn_free(NULL, buf);
        return s;
#else
        return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "graph_load: built with CONVRNN_NO_STDIO");
#endif
    }
    return convrnn_zoo_spec(name_or_path, g, err);
}

/* ---- models */

static int convrnn__is_rgc(const convrnn_node_spec *n) { return n->cell.type == CONVRNN_CELL_RGC; }

/* Spatial inference along the feedforward chain for an input of h x w. Fills, per node, the harbor
   size, the cell-input size and the output size. */
typedef struct convrnn__sizes { int in_h, in_w, mem_h, mem_w, out_h, out_w; } convrnn__sizes;

static int convrnn__op_size(const convrnn_op_spec *o, int *h, int *w, convrnn_error *err, const char *node) {
    int pb;
    switch (o->kind) {
    case CONVRNN_OP_CONV:
    case CONVRNN_OP_MAXPOOL:
        if (!convrnn_conv_out_size(*h, o->k, o->stride, o->pad, h, &pb) || !convrnn_conv_out_size(*w, o->k, o->stride, o->pad, w, &pb)) {
            convrnn_error_set(err, CONVRNN_ERR_SHAPE, "node %s: %s kernel %d does not fit a %dx%d map (VALID padding)",
                              node, convrnn__op_names[o->kind], o->k, *h, *w);
            return 0;
        }
        return 1;
    case CONVRNN_OP_FC:
    case CONVRNN_OP_GAP: *h = *w = 1; return 1;
    default: return 1;
    }
}

static convrnn_status convrnn__infer_sizes(const convrnn_model *m, int h, int w, convrnn__sizes *sz, convrnn_error *err) {
    const convrnn_graph_spec *g = &m->spec;
    int done[CONVRNN_MAX_NODES], pass, v, j, left = g->n_nodes;
    memset(done, 0, sizeof done);
    for (pass = 0; pass <= g->n_nodes && left; pass++)
        for (v = 0; v < g->n_nodes; v++) {
            const convrnn_node_spec *n = &g->nodes[v];
            int ff = m->rt[v].ff, ch, cw;
            if (done[v] || (ff >= 0 && !done[ff])) continue;
            ch = ff >= 0 ? sz[ff].out_h : h;
            cw = ff >= 0 ? sz[ff].out_w : w;
            sz[v].in_h = ch; sz[v].in_w = cw;
            for (j = 0; j < n->n_pre; j++) if (!convrnn__op_size(&n->pre[j], &ch, &cw, err, n->name)) return CONVRNN_ERR_SHAPE;
            sz[v].mem_h = ch; sz[v].mem_w = cw;
            for (j = 0; j < n->n_post; j++) if (!convrnn__op_size(&n->post[j], &ch, &cw, err, n->name)) return CONVRNN_ERR_SHAPE;
            sz[v].out_h = ch; sz[v].out_w = cw;
            done[v] = 1;
            left--;
        }
    if (left) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph: the feedforward predecessors (ff=) form a cycle");
    return CONVRNN_OK;
}

/* Output channels of node v given its input channels (-1: unknown); -1 if not yet determined. */
static int convrnn__node_out_c(const convrnn_node_spec *n, int in_c) {
    int c = in_c, j;
    for (j = 0; j < n->n_pre; j++) if (n->pre[j].kind == CONVRNN_OP_CONV || n->pre[j].kind == CONVRNN_OP_FC) c = n->pre[j].out;
    if (n->cell.type != CONVRNN_CELL_IDENTITY && n->cell.type != CONVRNN_CELL_TIMEDECAY) c = n->cell.out_depth;
    for (j = 0; j < n->n_post; j++) if (n->post[j].kind == CONVRNN_OP_CONV || n->post[j].kind == CONVRNN_OP_FC) c = n->post[j].out;
    return c;
}

static int convrnn__decl_param(convrnn_model *m, const char *node, const char *scope, const char *name, int rank,
                               int d0, int d1, int d2, int d3, convrnn_init init, double wd, int group) {
    char full[CONVRNN_NAME_MAX + 64];
    int d[4], i;
    d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
    if (scope && scope[0]) snprintf(full, sizeof full, "tnn_model/%s/%s/%s", node, scope, name);
    else if (node && node[0]) snprintf(full, sizeof full, "tnn_model/%s/%s", node, name);
    else snprintf(full, sizeof full, "tnn_model/%s", name);
    i = convrnn_params_declare(&m->params, full, rank, d, init, wd, 1);
    if (i >= 0) m->params.info[i].group = group;
    return i;
}

static int convrnn__window(const convrnn_model *m, int T, int *s, int *e) {
    *s = m->spec.decoder.start < 0 ? m->spec.n_nodes : m->spec.decoder.start;
    *e = m->spec.decoder.end <= 0 ? T : m->spec.decoder.end;
    if (*e > T) *e = T;
    return *s < *e;
}

/* Declare the variables of one pre/post op and advance the running shape (c, h, w). */
static void convrnn__declare_op(convrnn_model *m, const convrnn_node_spec *n, const convrnn_op_spec *o, int *pw, int *pb,
                                int *c, int *h, int *w, int rc, int rh, int rw, size_t *prepool) {
    *pw = *pb = -1;
    if (o->kind == CONVRNN_OP_CONV) {
        *pw = convrnn__decl_param(m, n->name, o->scope, o->wname, 4, o->k, o->k, *c, o->out, o->winit, o->wd, 0);
        if (o->bias) *pb = convrnn__decl_param(m, n->name, o->scope, "bias", 1, o->out, 1, 1, 1, o->binit, 0, 0);
        *c = o->out;
    } else if (o->kind == CONVRNN_OP_FC) {
        *pw = convrnn__decl_param(m, n->name, o->scope, o->wname, 2, *h * *w * *c, o->out, 1, 1, o->winit, o->wd, 0);
        if (o->bias) *pb = convrnn__decl_param(m, n->name, o->scope, "bias", 1, o->out, 1, 1, 1, o->binit, 0, 0);
        *c = o->out;
    } else if (o->kind == CONVRNN_OP_RESADD) {
        if (rc != *c || rh != *h || rw != *w)
            *pw = convrnn__decl_param(m, n->name, o->scope, o->wname, 4, 1, 1, rc, *c, o->winit, o->wd, 0);
    } else if (o->kind == CONVRNN_OP_MAXPOOL && !*prepool) {
        *prepool = (size_t)*h * *w * *c;
    }
    convrnn__op_size(o, h, w, &m->err, n->name);
}

static int convrnn__cmp_pred(const convrnn_graph_spec *g, int a, int b) { return strcmp(g->nodes[a].name, g->nodes[b].name); }

CONVRNNDEF convrnn_status convrnn_model_create(convrnn_model *m, const convrnn_graph_spec *g) {
    convrnn__sizes sz[CONVRNN_MAX_NODES];
    int v, i, j, nin = 0, pass;
    int outc[CONVRNN_MAX_NODES];
    if (!m) return CONVRNN_ERR_ARG;
    memset(m, 0, sizeof *m);
    convrnn_params_init_empty(&m->params);
    if (!g) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "model_create: NULL spec");
    m->spec = *g;
    g = &m->spec;
    if (g->n_nodes < 1 || g->n_nodes > CONVRNN_MAX_NODES) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: %d nodes (1..%d allowed)", g->n_nodes, CONVRNN_MAX_NODES);
    if (g->n_edges < 0 || g->n_edges > CONVRNN_MAX_EDGES) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: %d edges", g->n_edges);
    if (g->in_h <= 0 || g->in_w <= 0 || g->in_c <= 0 || g->n_classes <= 0 || g->T <= 0 || g->image_off < 0)
        return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: input %dx%dx%d, %d classes, T %d, image_off %d must be positive",
                                 g->in_h, g->in_w, g->in_c, g->n_classes, g->T, g->image_off);
    if ((unsigned)g->decoder.type >= CONVRNN_DEC_TYPE_COUNT) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: unknown decoder");
    for (v = 0; v < g->n_nodes; v++) {
        const convrnn_node_spec *n = &g->nodes[v];
        if (!n->name[0] || memchr(n->name, 0, sizeof n->name) == NULL) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node %d has no name", v);
        if (convrnn__find_node(g, n->name) != v) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: duplicate node '%s'", n->name);
        if (n->n_pre < 0 || n->n_pre > CONVRNN_MAX_NODE_OPS || n->n_post < 0 || n->n_post > CONVRNN_MAX_NODE_OPS)
            return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' has too many ops", n->name);
        for (j = 0; j < n->n_pre + n->n_post; j++) {
            const convrnn_op_spec *o = j < n->n_pre ? &n->pre[j] : &n->post[j - n->n_pre];
            if ((unsigned)o->kind >= CONVRNN_OP_KIND_COUNT || (unsigned)o->act >= CONVRNN_ACT_COUNT ||
                ((o->kind == CONVRNN_OP_CONV || o->kind == CONVRNN_OP_FC) && o->out <= 0) ||
                ((o->kind == CONVRNN_OP_CONV || o->kind == CONVRNN_OP_MAXPOOL) && (o->k <= 0 || o->stride <= 0)))
                return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' op %d is invalid", n->name, j);
        }
        m->rt[v].ff = -1;
        if (!n->ff[0]) { nin++; continue; }
        m->rt[v].ff = convrnn__find_node(g, n->ff);
        if (m->rt[v].ff < 0) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' has unknown ff predecessor '%s'", n->name, n->ff);
        if (m->rt[v].ff == v) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' is its own ff predecessor", n->name);
    }
    if (nin != 1) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: %d input nodes (nodes without ff=); exactly one is needed", nin);
    /* predecessors in harbor order */
    for (v = 0; v < g->n_nodes; v++) {
        convrnn_node_rt *rt = &m->rt[v];
        int *p = rt->preds, k;
        rt->n_preds = 0;
        if (rt->ff >= 0) p[rt->n_preds++] = rt->ff;
        for (i = 0; i < g->n_edges; i++) {
            if (g->edge_src[i] < 0 || g->edge_src[i] >= g->n_nodes || g->edge_dst[i] < 0 || g->edge_dst[i] >= g->n_nodes)
                return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: edge %d refers to a missing node", i);
            if (g->edge_dst[i] != v) continue;
            for (k = 0; k < rt->n_preds; k++)
                if (p[k] == g->edge_src[i]) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: duplicate edge %s -> %s",
                                                                      g->nodes[g->edge_src[i]].name, g->nodes[v].name);
            p[rt->n_preds++] = g->edge_src[i];
        }
        /* insertion sort by name; RGC nodes keep the ff predecessor first */
        for (i = convrnn__is_rgc(&g->nodes[v]) && rt->ff >= 0 ? 2 : 1; i < rt->n_preds; i++) {
            int x = p[i], y = i, lo = convrnn__is_rgc(&g->nodes[v]) && rt->ff >= 0 ? 1 : 0;
            while (y > lo && convrnn__cmp_pred(g, p[y - 1], x) > 0) { p[y] = p[y - 1]; y--; }
            p[y] = x;
        }
    }
    /* channels: fixed point over the graph (feedback makes it cyclic) */
    for (v = 0; v < g->n_nodes; v++) outc[v] = -1;
    for (pass = 0; pass <= g->n_nodes + 1; pass++)
        for (v = 0; v < g->n_nodes; v++) {
            convrnn_node_rt *rt = &m->rt[v];
            int hc = rt->ff < 0 ? g->in_c : 0, known = 1, ffc, c;
            for (i = 0; i < rt->n_preds; i++) { if (outc[rt->preds[i]] < 0) known = 0; else hc += outc[rt->preds[i]]; }
            ffc = rt->ff < 0 ? g->in_c : outc[rt->ff];
            c = convrnn__node_out_c(&g->nodes[v], convrnn__is_rgc(&g->nodes[v]) ? ffc : (known ? hc : -1));
            if (c > 0) outc[v] = c;
            if (known) {
                rt->harbor_c = hc;
                rt->ff_c = convrnn__is_rgc(&g->nodes[v]) ? ffc : hc;
                rt->fb_c = convrnn__is_rgc(&g->nodes[v]) ? hc - ffc : 0;
            }
        }
    for (v = 0; v < g->n_nodes; v++)
        if (outc[v] <= 0 || m->rt[v].harbor_c <= 0)
            return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: cannot determine the channels of node '%s'", g->nodes[v].name);
    if (convrnn__infer_sizes(m, g->in_h, g->in_w, sz, &m->err)) return m->err.status;
    m->readout = g->n_nodes - 1;
    /* parameters, node by node, in TF names and layouts */
    for (v = 0; v < g->n_nodes; v++) {
        const convrnn_node_spec *n = &g->nodes[v];
        convrnn_node_rt *rt = &m->rt[v];
        int c = rt->ff_c, h = sz[v].in_h, w = sz[v].in_w, rc = rt->ff_c, rh = h, rw = w, cr = 0, cf = 0;
        size_t before = m->params.total, prepool = 0;
        char scope[CONVRNN_NAME_MAX];
        rt->in_h = h; rt->in_w = w;
        for (j = 0; j < n->n_pre; j++)
            convrnn__declare_op(m, n, &n->pre[j], &rt->pre_w[j], &rt->pre_b[j], &c, &h, &w, rc, rh, rw, &prepool);
        rt->mem_h = h; rt->mem_w = w; rt->mem_c = c;
        snprintf(scope, sizeof scope, "tnn_model/%s/", n->name);
        if (convrnn__is_rgc(n)) {
            const convrnn_rgc_config *rg = &n->cell.rgc;
            cr = rg->cell_residual || rg->out_residual || rg->residual_to_cell_tau || rg->residual_to_cell_gate ||
                 rg->residual_to_out_tau || rg->residual_to_out_gate ? rc : 0;
            cf = rt->fb_c;
            if (cr && (rh != h || rw != w))
                return convrnn_error_set(&m->err, CONVRNN_ERR_SHAPE, "node %s: an RGC residual needs the pre-memory ops to keep the %dx%d size", n->name, rh, rw);
        }
        if (convrnn_cell_create(&rt->cell, &n->cell, scope, h, w, c, cr, cf, &m->params)) {
            m->err = m->params.err;
            return m->err.status;
        }
        c = rt->cell.out_c;
        for (j = 0; j < n->n_post; j++)
            convrnn__declare_op(m, n, &n->post[j], &rt->post_w[j], &rt->post_b[j], &c, &h, &w, rc, rh, rw, &prepool);
        if (m->params.err.status) { m->err = m->params.err; return m->err.status; }
        rt->out_h = h; rt->out_w = w; rt->out_c = c;
        if (c != outc[v] || h != sz[v].out_h || w != sz[v].out_w)
            return convrnn_error_set(&m->err, CONVRNN_ERR_SHAPE, "node %s: inconsistent output shape", n->name);
        rt->units = (size_t)h * w * c;
        rt->units_prepool = prepool ? prepool : rt->units;
        rt->params = m->params.total - before; /* refined below from the info table */
    }
    {
        const convrnn_node_rt *ro = &m->rt[m->readout];
        if (ro->out_h != 1 || ro->out_w != 1 || ro->out_c != g->n_classes)
            return convrnn_error_set(&m->err, CONVRNN_ERR_SHAPE, "graph: the readout '%s' gives %dx%dx%d, expected 1x1x%d (classes)",
                                     g->nodes[m->readout].name, ro->out_h, ro->out_w, ro->out_c, g->n_classes);
    }
    /* decoder variables */
    for (i = 0; i < (int)(sizeof m->dec_p / sizeof m->dec_p[0]); i++) m->dec_p[i] = -1;
    {
        const convrnn_decoder_spec *d = &g->decoder;
        const int K = g->n_classes;
        int s, e;
        convrnn_init beta_init = d->trainable ? convrnn_init_make(CONVRNN_INIT_UNIFORM, 0, 1) : convrnn_init_make(CONVRNN_INIT_CONST, 1, 0);
        if (!convrnn__window(m, g->T, &s, &e) && d->type != CONVRNN_DEC_LAST)
            return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "decoder window [%d,%d) is empty for T = %d", s, e, g->T);
        switch (d->type) {
        case CONVRNN_DEC_MAX_CONF: case CONVRNN_DEC_TIME_MAX: case CONVRNN_DEC_W_AVG:
            m->dec_p[0] = convrnn__decl_param(m, "", "", "normalize/softmax_beta", 1, 1, 1, 1, 1, beta_init, 0, 1);
            break;
        case CONVRNN_DEC_THRESH:
            if (d->trainable) {
                m->dec_p[0] = convrnn__decl_param(m, "", "", "normalize/softmax_beta", 1, 1, 1, 1, 1, beta_init, 0, 1);
                m->dec_p[1] = convrnn__decl_param(m, "", "", "decoder_threshold", 1, 1, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, d->threshold, 0), 0, 1);
            }
            break;
        case CONVRNN_DEC_W_AVG_T:
            m->dec_p[0] = convrnn__decl_param(m, "", "", "alpha/weights", 2, e - s, K, 1, 1, convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), 0, 1);
            break;
        case CONVRNN_DEC_W_TIME_AVG:
            m->dec_p[0] = convrnn__decl_param(m, "", "", "probs/softmax_beta", 1, 1, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, 1, 0), 0, 1);
            m->dec_p[1] = convrnn__decl_param(m, "", "", "alpha/softmax_beta", 1, 1, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, 1, 0), 0, 1);
            break;
        case CONVRNN_DEC_MLP: {
            convrnn_init gl = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), z = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
            m->dec_p[0] = convrnn__decl_param(m, "", "", "decoder/fc1/weights", 2, (e - s) * K, d->mlp_hidden, 1, 1, gl, 0, 1);
            m->dec_p[1] = convrnn__decl_param(m, "", "", "decoder/fc1/bias", 1, d->mlp_hidden, 1, 1, 1, z, 0, 1);
            m->dec_p[2] = convrnn__decl_param(m, "", "", "decoder/fc2/weights", 2, d->mlp_hidden, K, 1, 1, gl, 0, 1);
            m->dec_p[3] = convrnn__decl_param(m, "", "", "decoder/fc2/bias", 1, K, 1, 1, 1, z, 0, 1);
            break;
        }
        case CONVRNN_DEC_CONV1D: {
            convrnn_init gl = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), z = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
            char nm[64];
            int wl;
            if (e - s < 6) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "conv1d decoder needs a window of at least 6 steps (have %d)", e - s);
            for (wl = 2; wl <= 6; wl++) {
                snprintf(nm, sizeof nm, "decoder/conv1d_%d/weights", wl);
                m->dec_p[2 * (wl - 2)] = convrnn__decl_param(m, "", "", nm, 3, wl, K, 4, 1, gl, 0, 1);
                snprintf(nm, sizeof nm, "decoder/conv1d_%d/bias", wl);
                m->dec_p[2 * (wl - 2) + 1] = convrnn__decl_param(m, "", "", nm, 1, 4, 1, 1, 1, z, 0, 1);
            }
            break;
        }
        default: break;
        }
        if (d->type == CONVRNN_DEC_CONV1D) {
            m->dec_p[10] = convrnn__decl_param(m, "", "", "decoder/fc/weights", 2, 20, K, 1, 1, convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), 0, 1);
            m->dec_p[11] = convrnn__decl_param(m, "", "", "decoder/fc/bias", 1, K, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), 0, 1);
        }
    }
    if (m->params.err.status || convrnn_params_finalize(&m->params)) { m->err = m->params.err; return m->err.status; }
    /* per-node trainable parameter counts from the info table */
    for (v = 0; v < g->n_nodes; v++) m->rt[v].params = 0;
    for (i = 0; i < m->params.count; i++) {
        const char *nm = m->params.info[i].name + 10; /* after "tnn_model/" */
        for (v = 0; v < g->n_nodes; v++) {
            size_t l = strlen(g->nodes[v].name);
            if (!strncmp(nm, g->nodes[v].name, l) && nm[l] == '/' && m->params.info[i].trainable) m->rt[v].params += m->params.info[i].size;
        }
    }
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_model_free(convrnn_model *m) {
    if (!m) return;
    convrnn_params_free(&m->params);
    memset(m, 0, sizeof *m);
}
CONVRNNDEF convrnn_status convrnn_model_init(convrnn_model *m, uint64_t seed) {
    if (!m->params.finalized) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "model_init: model not created");
    return convrnn_params_init(&m->params, seed);
}
CONVRNNDEF size_t convrnn_model_param_count(const convrnn_model *m) { return convrnn_params_count_network(&m->params); }
CONVRNNDEF size_t convrnn_model_unit_count(const convrnn_model *m, size_t *prepool) {
    size_t u = 0, p = 0;
    int v;
    for (v = 0; v < m->spec.n_nodes; v++) { u += m->rt[v].units; p += m->rt[v].units_prepool; }
    if (prepool) *prepool = p;
    return u;
}
CONVRNNDEF convrnn_status convrnn_model_output_shape(const convrnn_model *m, int v, int in_h, int in_w, int *h, int *w,
                                                     int *c, convrnn_error *err) {
    convrnn__sizes sz[CONVRNN_MAX_NODES];
    convrnn_status s;
    if (!m || v < 0 || v >= m->spec.n_nodes || !h || !w || !c) return convrnn_error_set(err, CONVRNN_ERR_ARG, "output_shape: bad argument");
    if (in_h <= 0 || in_w <= 0) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "output_shape: input %dx%d", in_h, in_w);
    if ((s = convrnn__infer_sizes(m, in_h, in_w, sz, err)) != CONVRNN_OK) return s;
    *h = sz[v].out_h; *w = sz[v].out_w; *c = m->rt[v].out_c;
    return CONVRNN_OK;
}
CONVRNNDEF int convrnn_model_node(const convrnn_model *m, const char *name) { return name ? convrnn__find_node(&m->spec, name) : -1; }

/* d[v]: first step whose output depends on the image (shortest delay path from the input) */
static void convrnn__first_steps(const convrnn_model *m, int *d) {
    const int n = m->spec.n_nodes, INF = 1 << 20;
    int v, i, changed;
    for (v = 0; v < n; v++) d[v] = m->rt[v].ff < 0 ? 0 : INF;
    do {
        changed = 0;
        for (v = 0; v < n; v++)
            for (i = 0; i < m->rt[v].n_preds; i++) {
                const int u = m->rt[v].preds[i];
                if (d[u] + 1 < d[v]) { d[v] = d[u] + 1; changed = 1; }
            }
    } while (changed);
}

CONVRNNDEF int convrnn_model_layer_start(const convrnn_model *m, int v, int readme_convention) {
    int d[CONVRNN_MAX_NODES];
    if (!m || v < 0 || v >= m->spec.n_nodes) return -1;
    convrnn__first_steps(m, d);
    return d[v] + (readme_convention ? 1 : 0);
}

CONVRNNDEF int convrnn_model_minimal_T(const convrnn_model *m) {
    const convrnn_graph_spec *g = &m->spec;
    const int n = g->n_nodes, INF = 1 << 20;
    int d[CONVRNN_MAX_NODES], dist[CONVRNN_MAX_NODES], v, i, changed, best = -1, u;
    convrnn__first_steps(m, d);
    /* dist[v]: steps for a change at v's output to reach the readout's output */
    for (v = 0; v < n; v++) dist[v] = v == m->readout ? 0 : INF;
    do {
        changed = 0;
        for (v = 0; v < n; v++)
            for (i = 0; i < m->rt[v].n_preds; i++) {
                u = m->rt[v].preds[i];
                if (dist[v] + 1 < dist[u]) { dist[u] = dist[v] + 1; changed = 1; }
            }
    } while (changed);
    for (v = 0; v < n; v++) {
        /* local recurrence acts first at d[v] + 1 */
        if (g->nodes[v].cell.type != CONVRNN_CELL_IDENTITY && d[v] < INF && dist[v] < INF && d[v] + 1 + dist[v] > best)
            best = d[v] + 1 + dist[v];
        /* a feedback edge u -> v (not v's ff edge) delivers image-driven input at d[u] + 1 */
        for (i = 0; i < m->rt[v].n_preds; i++) {
            u = m->rt[v].preds[i];
            if (u == m->rt[v].ff || d[u] >= INF || dist[v] >= INF) continue;
            if (d[u] + 1 + dist[v] > best) best = d[u] + 1 + dist[v];
        }
    }
    if (best < 0) best = d[m->readout] < INF ? d[m->readout] : 0; /* feedforward: the first pass */
    return best + 1;
}

CONVRNNDEF convrnn_stimulus convrnn_stimulus_make(const convrnn_real *images, int n, int h, int w, int c, int T, int image_off) {
    convrnn_stimulus s;
    memset(&s, 0, sizeof s);
    s.images = images; s.n = n; s.h = h; s.w = w; s.c = c; s.T = T; s.image_off = image_off; s.blank = 0.5;
    return s;
}

#define CONVRNN__MP(i) convrnn_params_tensor(&m->params, (i))

static convrnn_tensor *convrnn__apply_op(convrnn_tape *t, convrnn_model *m, const convrnn_op_spec *o, int wi, int bi,
                                         convrnn_tensor *x, convrnn_tensor *r) {
    convrnn_tensor *W = wi >= 0 ? CONVRNN__MP(wi) : NULL, *B = bi >= 0 ? CONVRNN__MP(bi) : NULL;
    switch (o->kind) {
    case CONVRNN_OP_CONV: return convrnn_activate(t, convrnn_conv2d(t, x, W, B, o->stride, o->pad), o->act);
    case CONVRNN_OP_FC: return convrnn_activate(t, convrnn_dense(t, x, W, B), o->act);
    case CONVRNN_OP_MAXPOOL: return convrnn_maxpool(t, x, o->k, o->stride, o->pad);
    case CONVRNN_OP_ACT: return convrnn_activate(t, x, o->act);
    case CONVRNN_OP_GAP: return convrnn_global_avgpool(t, x);
    case CONVRNN_OP_RESADD: return convrnn_residual_add(t, x, r, W);
    default: return x;
    }
}

CONVRNNDEF convrnn_status convrnn_model_unroll(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s,
                                               convrnn_tensor **outs) {
    const convrnn_graph_spec *g = &m->spec;
    const int n = g->n_nodes;
    convrnn__sizes sz[CONVRNN_MAX_NODES];
    convrnn_cell cells[CONVRNN_MAX_NODES];
    convrnn_tensor *st[CONVRNN_MAX_NODES][2], *zero[CONVRNN_MAX_NODES], *img = NULL, *blank = NULL;
    convrnn_error e;
    int step, v, i, j;
    if (!t) return CONVRNN_ERR_ARG;
    if (t->err.status) return t->err.status;
    if (!m->params.finalized) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "unroll: model not created");
    if (!s || !s->images || !outs) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "unroll: NULL stimulus, images or output array");
    if (s->n <= 0 || s->h <= 0 || s->w <= 0 || s->T <= 0 || s->image_off < 0)
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "unroll: stimulus %d x %dx%d, T %d, image_off %d must be positive",
                                 s->n, s->h, s->w, s->T, s->image_off);
    if (s->c != g->in_c) return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "unroll: stimulus has %d channels, model '%s' takes %d", s->c, g->name, g->in_c);
    if (!(s->blank - s->blank == 0)) return convrnn_error_set(&t->err, CONVRNN_ERR_NOT_FINITE, "unroll: blank value is not finite");
    convrnn_error_clear(&e);
    if (convrnn__infer_sizes(m, s->h, s->w, sz, &e)) return convrnn_error_set(&t->err, e.status, "unroll at %dx%d: %s", s->h, s->w, e.msg);
    for (v = 0; v < n; v++) {
        cells[v] = m->rt[v].cell;
        cells[v].h = sz[v].mem_h;
        cells[v].w = sz[v].mem_w;
        if (cells[v].cfg.type == CONVRNN_CELL_LSTM && cells[v].cfg.peepholes && (sz[v].mem_h != m->rt[v].mem_h || sz[v].mem_w != m->rt[v].mem_w))
            return convrnn_error_set(&t->err, CONVRNN_ERR_UNSUPPORTED, "unroll: node %s has LSTM peepholes of size %dx%d; input %dx%d gives %dx%d",
                                     g->nodes[v].name, m->rt[v].mem_h, m->rt[v].mem_w, s->h, s->w, sz[v].mem_h, sz[v].mem_w);
        st[v][0] = st[v][1] = NULL;
        zero[v] = convrnn_tape_zeros(t, s->n, sz[v].out_h, sz[v].out_w, m->rt[v].out_c, 0);
    }
    if (!s->movie) {
        img = convrnn_tape_input(t, s->n, s->h, s->w, s->c, s->images, 0);
        if (img && !convrnn_check_finite(img->data, img->size)) return convrnn_error_set(&t->err, CONVRNN_ERR_NOT_FINITE, "unroll: the images contain NaN or infinity");
    }
    blank = convrnn_tape_fill(t, s->n, s->h, s->w, s->c, (convrnn_real)s->blank);
    for (step = 0; step < s->T; step++) {
        for (v = 0; v < n; v++) {
            const convrnn_node_spec *nd = &g->nodes[v];
            const convrnn_node_rt *rt = &m->rt[v];
            convrnn_tensor *ins[CONVRNN_MAX_NODES + 1], *x, *r, *f = NULL, *y;
            int ni = 0, th = rt->ff >= 0 ? sz[rt->ff].out_h : s->h, tw = rt->ff >= 0 ? sz[rt->ff].out_w : s->w;
            const int rgc = convrnn__is_rgc(nd);
            if (rt->ff < 0) {
                convrnn_tensor *frame;
                if (s->movie) {
                    size_t fs = (size_t)s->n * s->h * s->w * s->c;
                    frame = convrnn_tape_input(t, s->n, s->h, s->w, s->c, s->images + (size_t)step * fs, 0);
                } else {
                    frame = step < s->image_off ? img : blank;
                }
                ins[ni++] = frame;
            }
            for (i = 0; i < rt->n_preds; i++) {
                const int p = rt->preds[i];
                ins[ni++] = convrnn_resize_bilinear(t, step ? outs[(size_t)(step - 1) * n + p] : zero[p], th, tw);
            }
            if (rgc) {
                x = ins[0];
                if (ni > 1) f = convrnn_concat(t, ins + 1, ni - 1);
            } else {
                x = convrnn_concat(t, ins, ni);
            }
            r = x;
            for (j = 0; j < nd->n_pre; j++) x = convrnn__apply_op(t, m, &nd->pre[j], rt->pre_w[j], rt->pre_b[j], x, r);
            if (cells[v].cfg.type != CONVRNN_CELL_IDENTITY) {
                convrnn_cell_step(t, &cells[v], &m->params, x, cells[v].cr ? r : NULL, cells[v].cf ? f : NULL, st[v], &y);
                x = y;
            }
            for (j = 0; j < nd->n_post; j++) x = convrnn__apply_op(t, m, &nd->post[j], rt->post_w[j], rt->post_b[j], x, r);
            outs[(size_t)step * n + v] = x;
            if (t->err.status) {
                char msg[sizeof t->err.msg];
                memcpy(msg, t->err.msg, sizeof msg);
                snprintf(t->err.msg, sizeof t->err.msg, "node %s, step %d: %.250s", nd->name, step, msg);
                return t->err.status;
            }
        }
    }
    return CONVRNN_OK;
}

/* ---- decoders (spec 6). A decoder maps the readout logits of the window W = [s, e) to one logit
   vector. z_t: logits at step t; p_t = softmax(beta z_t).
     last       z_{T-1}                   sum / avg   sum_t z_t / mean_t z_t
     max_conf   z_{t*}, t* = argmax_t max_k p_t[k] (per sample, first on ties; beta gets no gradient)
     thresh     z_{t*}, t* = first t with max_k p_t[k] >= theta, else the argmax
     time_max   out_k = z_{t_k,k}, t_k = argmax_t p_t[k]
     w_avg      out_k = sum_t softmax_t(beta z_{t,k}) z_{t,k}
     w_avg_t    out_k = sum_t w_{t,k} z_{t,k}, w = sig(alpha_{t,k}) / sum_t sig(alpha_{t,k})
     w_time_avg out = sum_t a_t z_t, a = softmax_t(beta2 max_k softmax(beta1 z_t)[k]); the weights a
                are treated as constants in the backward pass (gradient flows through z_t only)
     random     training: z_t at a uniformly drawn t in W; evaluation: t = image_off + L - 1 (clipped)
     mlp        [z_s..z_{e-1}] -> dense(hidden) -> ELU -> dense(K)
     conv1d     for w = 2..6: 4 filters of a VALID 1-D conv over time, max over time; 20 -> dense(K) */
enum { CONVRNN__DSEL = 0, CONVRNN__DSUM, CONVRNN__DWAVG, CONVRNN__DWAVGT, CONVRNN__DTMAX };
typedef struct convrnn__dec { int mode, nz, K, N; convrnn_tensor **z; int *sel; double *w; double scale; convrnn_tensor *beta, *alpha; } convrnn__dec;

static void convrnn__softmax_row(const convrnn_real *z, int K, double beta, double *p) {
    double mx = -HUGE_VAL, s = 0;
    int k;
    for (k = 0; k < K; k++) if (beta * z[k] > mx) mx = beta * z[k];
    for (k = 0; k < K; k++) { p[k] = exp(beta * z[k] - mx); s += p[k]; }
    for (k = 0; k < K; k++) p[k] /= s;
}

static void convrnn__dec_bwd(convrnn_tape *t, convrnn__node *nd) {
    const convrnn__dec *d = (const convrnn__dec *)nd->aux;
    const convrnn_real *gy = nd->out->grad;
    const int N = d->N, K = d->K;
    int n, k, i;
    (void)t;
    for (n = 0; n < N; n++)
        for (k = 0; k < K; k++) {
            const double g = gy[(size_t)n * K + k];
            const size_t o = (size_t)n * K + k;
            switch (d->mode) {
            case CONVRNN__DSEL: { convrnn_tensor *z = d->z[d->sel[n]]; if (z->grad) z->grad[o] += (convrnn_real)g; break; }
            case CONVRNN__DTMAX: { convrnn_tensor *z = d->z[d->sel[o]]; if (z->grad) z->grad[o] += (convrnn_real)g; break; }
            case CONVRNN__DSUM:
                for (i = 0; i < d->nz; i++) if (d->z[i]->grad) d->z[i]->grad[o] += (convrnn_real)(g * (d->w ? d->w[(size_t)i * N + n] : d->scale));
                break;
            case CONVRNN__DWAVG: {
                /* out = sum_i a_i z_i, a = softmax_i(beta z_i): d/dz_i = a_i (1 + beta (z_i - out)); d/dbeta = sum_i a_i z_i (z_i - out) */
                const double out = nd->out->data[o], beta = d->beta->data[0];
                double db = 0;
                for (i = 0; i < d->nz; i++) {
                    const double a = d->w[((size_t)i * N + n) * K + k], z = d->z[i]->data[o];
                    if (d->z[i]->grad) d->z[i]->grad[o] += (convrnn_real)(g * a * (1 + beta * (z - out)));
                    db += a * z * (z - out);
                }
                if (d->beta->grad) d->beta->grad[0] += (convrnn_real)(g * db);
                break;
            }
            case CONVRNN__DWAVGT: {
                /* w_i = g_i / G, g = sig(alpha_i): d/dz_i = w_i; d/dalpha_i = (z_i - out) w_i (1 - g_i) */
                const double out = nd->out->data[o];
                for (i = 0; i < d->nz; i++) {
                    const double gi = 1.0 / (1.0 + exp(-(double)d->alpha->data[(size_t)i * K + k]));
                    const double wi = d->w[(size_t)i * K + k];
                    if (d->z[i]->grad) d->z[i]->grad[o] += (convrnn_real)(g * wi);
                    if (d->alpha->grad) d->alpha->grad[(size_t)i * K + k] += (convrnn_real)(g * (d->z[i]->data[o] - out) * wi * (1 - gi));
                }
                break;
            }
            }
        }
}

static convrnn_tensor *convrnn__dec_op(convrnn_tape *t, convrnn__dec *d) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int i, g = 0, n, k;
    const int N = d->N, K = d->K;
    for (i = 0; i < d->nz; i++) g |= d->z[i]->grad != NULL;
    if (d->beta && d->beta->grad) g = 1;
    if (d->alpha && d->alpha->grad) g = 1;
    y = CONVRNN__NEW4(t, N, 1, 1, K, g);
    if (!y) return NULL;
    for (n = 0; n < N; n++)
        for (k = 0; k < K; k++) {
            const size_t o = (size_t)n * K + k;
            double acc = 0;
            switch (d->mode) {
            case CONVRNN__DSEL: acc = d->z[d->sel[n]]->data[o]; break;
            case CONVRNN__DTMAX: acc = d->z[d->sel[o]]->data[o]; break;
            case CONVRNN__DSUM: for (i = 0; i < d->nz; i++) acc += (d->w ? d->w[(size_t)i * N + n] : d->scale) * d->z[i]->data[o]; break;
            case CONVRNN__DWAVG: for (i = 0; i < d->nz; i++) acc += d->w[((size_t)i * N + n) * K + k] * d->z[i]->data[o]; break;
            case CONVRNN__DWAVGT: for (i = 0; i < d->nz; i++) acc += d->w[(size_t)i * K + k] * d->z[i]->data[o]; break;
            }
            y->data[o] = (convrnn_real)acc;
        }
    if ((nd = convrnn__record(t, convrnn__dec_bwd, y)) != NULL) nd->aux = d;
    return y;
}

/* elementwise maximum of n same-shaped tensors (first on ties); gradient to the winner */
static void convrnn__maxn_bwd(convrnn_tape *t, convrnn__node *nd) {
    const convrnn__cat *cat = (const convrnn__cat *)nd->aux;
    const int *win = (const int *)nd->in[0];
    size_t i;
    (void)t;
    for (i = 0; i < nd->out->size; i++) {
        convrnn_tensor *x = cat->xs[win[i]];
        if (x->grad) x->grad[i] += nd->out->grad[i];
    }
}
static convrnn_tensor *convrnn__maxn(convrnn_tape *t, convrnn_tensor **xs, int n) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int *win, j, g = 0;
    size_t i;
    if (t->err.status) return NULL;
    for (j = 0; j < n; j++) { if (!xs[j]) return NULL; g |= xs[j]->grad != NULL; }
    y = convrnn__new(t, xs[0]->rank, xs[0]->d[0], xs[0]->d[1], xs[0]->d[2], xs[0]->d[3], g);
    win = (int *)convrnn__talloc(t, xs[0]->size * sizeof(int));
    if (!y || !win) return NULL;
    for (i = 0; i < y->size; i++) {
        int b = 0;
        for (j = 1; j < n; j++) if (xs[j]->data[i] > xs[b]->data[i]) b = j;
        win[i] = b;
        y->data[i] = xs[b]->data[i];
    }
    if ((nd = convrnn__record(t, convrnn__maxn_bwd, y)) != NULL) {
        convrnn__cat *cat = (convrnn__cat *)convrnn__talloc(t, sizeof *cat);
        if (!cat) return NULL;
        cat->xs = (convrnn_tensor **)convrnn__talloc(t, (size_t)n * sizeof *cat->xs);
        if (!cat->xs) return NULL;
        cat->n = n;
        memcpy(cat->xs, xs, (size_t)n * sizeof *xs);
        nd->aux = cat;
        nd->in[0] = (convrnn_tensor *)(void *)win;
    }
    return y;
}

CONVRNNDEF convrnn_tensor *convrnn_model_decode(convrnn_model *m, convrnn_tape *t, convrnn_tensor **outs, int T,
                                                int image_off, convrnn_rng *rng) {
    const convrnn_decoder_spec *ds = &m->spec.decoder;
    const int L = m->spec.n_nodes, K = m->spec.n_classes;
    convrnn__dec *d;
    int s, e, i, n, N, k;
    double *p;
    if (t->err.status) return NULL;
    if (!outs || T <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "decode: no outputs");
    if (ds->type == CONVRNN_DEC_LAST) return outs[(size_t)(T - 1) * L + m->readout];
    if (!convrnn__window(m, T, &s, &e))
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "decode: window [%d,%d) is empty for T = %d", s, e, T);
    d = (convrnn__dec *)convrnn__talloc(t, sizeof *d);
    if (!d) return NULL;
    d->nz = e - s; d->K = K;
    d->z = (convrnn_tensor **)convrnn__talloc(t, (size_t)d->nz * sizeof *d->z);
    if (!d->z) return NULL;
    for (i = 0; i < d->nz; i++) {
        d->z[i] = outs[(size_t)(s + i) * L + m->readout];
        if (!d->z[i]) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "decode: missing output at step %d", s + i);
    }
    N = d->N = d->z[0]->d[0];
    p = (double *)convrnn__talloc(t, (size_t)K * sizeof(double));
    if (!p) return NULL;
    switch (ds->type) {
    case CONVRNN_DEC_SUM: case CONVRNN_DEC_AVG:
        d->mode = CONVRNN__DSUM; d->scale = ds->type == CONVRNN_DEC_AVG ? 1.0 / d->nz : 1.0;
        return convrnn__dec_op(t, d);
    case CONVRNN_DEC_RANDOM:
        i = rng ? (int)convrnn_rng_below(rng, (uint32_t)d->nz) : image_off + L - 1 - s;
        if (i < 0) i = 0;
        if (i >= d->nz) i = d->nz - 1;
        return d->z[i];
    case CONVRNN_DEC_MAX_CONF: case CONVRNN_DEC_THRESH: {
        const double beta = m->dec_p[0] >= 0 ? CONVRNN__MP(m->dec_p[0])->data[0] : 1.0;
        const double theta = m->dec_p[1] >= 0 ? CONVRNN__MP(m->dec_p[1])->data[0] : ds->threshold;
        d->mode = CONVRNN__DSEL;
        d->sel = (int *)convrnn__talloc(t, (size_t)N * sizeof(int));
        if (!d->sel) return NULL;
        for (n = 0; n < N; n++) {
            double best = -1;
            int bi = 0, first = -1;
            for (i = 0; i < d->nz; i++) {
                double mx = 0;
                convrnn__softmax_row(d->z[i]->data + (size_t)n * K, K, beta, p);
                for (k = 0; k < K; k++) if (p[k] > mx) mx = p[k];
                if (mx > best) { best = mx; bi = i; }
                if (first < 0 && mx >= theta) first = i;
            }
            d->sel[n] = ds->type == CONVRNN_DEC_THRESH && first >= 0 ? first : bi;
        }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_TIME_MAX: {
        const double beta = CONVRNN__MP(m->dec_p[0])->data[0];
        double *best = (double *)convrnn__talloc(t, (size_t)N * K * sizeof(double));
        d->mode = CONVRNN__DTMAX;
        d->sel = (int *)convrnn__talloc(t, (size_t)N * K * sizeof(int));
        if (!d->sel || !best) return NULL;
        for (i = 0; i < d->nz; i++)
            for (n = 0; n < N; n++) {
                convrnn__softmax_row(d->z[i]->data + (size_t)n * K, K, beta, p);
                for (k = 0; k < K; k++)
                    if (i == 0 || p[k] > best[(size_t)n * K + k]) { best[(size_t)n * K + k] = p[k]; d->sel[(size_t)n * K + k] = i; }
            }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_W_AVG: {
        const double beta = CONVRNN__MP(m->dec_p[0])->data[0];
        d->mode = CONVRNN__DWAVG;
        d->beta = CONVRNN__MP(m->dec_p[0]);
        d->w = (double *)convrnn__talloc(t, (size_t)d->nz * N * K * sizeof(double));
        if (!d->w) return NULL;
        for (n = 0; n < N; n++)
            for (k = 0; k < K; k++) {
                double mx = -HUGE_VAL, sum = 0;
                const size_t o = (size_t)n * K + k;
                for (i = 0; i < d->nz; i++) if (beta * d->z[i]->data[o] > mx) mx = beta * d->z[i]->data[o];
                for (i = 0; i < d->nz; i++) sum += (d->w[((size_t)i * N + n) * K + k] = exp(beta * d->z[i]->data[o] - mx));
                for (i = 0; i < d->nz; i++) d->w[((size_t)i * N + n) * K + k] /= sum;
            }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_W_AVG_T: {
        convrnn_tensor *al = CONVRNN__MP(m->dec_p[0]);
        if (al->d[0] != d->nz)
            return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "decode: w_avg_t weights cover %d steps, the window has %d", al->d[0], d->nz);
        d->mode = CONVRNN__DWAVGT;
        d->alpha = al;
        d->w = (double *)convrnn__talloc(t, (size_t)d->nz * K * sizeof(double));
        if (!d->w) return NULL;
        for (k = 0; k < K; k++) {
            double sum = 0;
            for (i = 0; i < d->nz; i++) sum += (d->w[(size_t)i * K + k] = 1.0 / (1.0 + exp(-(double)al->data[(size_t)i * K + k])));
            for (i = 0; i < d->nz; i++) d->w[(size_t)i * K + k] /= sum;
        }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_W_TIME_AVG: {
        const double b1 = CONVRNN__MP(m->dec_p[0])->data[0], b2 = CONVRNN__MP(m->dec_p[1])->data[0];
        d->mode = CONVRNN__DSUM;
        d->w = (double *)convrnn__talloc(t, (size_t)d->nz * N * sizeof(double));
        if (!d->w) return NULL;
        for (n = 0; n < N; n++) {
            double mx = -HUGE_VAL, sum = 0;
            for (i = 0; i < d->nz; i++) {
                double a = 0;
                convrnn__softmax_row(d->z[i]->data + (size_t)n * K, K, b1, p);
                for (k = 0; k < K; k++) if (p[k] > a) a = p[k];
                d->w[(size_t)i * N + n] = b2 * a;
                if (b2 * a > mx) mx = b2 * a;
            }
            for (i = 0; i < d->nz; i++) sum += (d->w[(size_t)i * N + n] = exp(d->w[(size_t)i * N + n] - mx));
            for (i = 0; i < d->nz; i++) d->w[(size_t)i * N + n] /= sum;
        }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_MLP: {
        convrnn_tensor *h = convrnn_concat(t, d->z, d->nz);
        h = convrnn_activate(t, convrnn_dense(t, h, CONVRNN__MP(m->dec_p[0]), CONVRNN__MP(m->dec_p[1])), CONVRNN_ACT_ELU);
        return convrnn_dense(t, h, CONVRNN__MP(m->dec_p[2]), CONVRNN__MP(m->dec_p[3]));
    }
    case CONVRNN_DEC_CONV1D: {
        convrnn_tensor *cat = convrnn_concat(t, d->z, d->nz), *feats[5], *pos[64], *wv;
        int wl, q, fw = m->dec_p[10], fb = m->dec_p[11];
        if (d->nz - 1 > 64) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_UNSUPPORTED, "decode: conv1d window longer than 65 steps");
        for (wl = 2; wl <= 6; wl++) {
            /* a window of wl steps is wl*K consecutive channels of cat; the kernel [wl,K,4] is a
               dense layer [wl*K, 4] shared over positions */
            convrnn_tensor *W = CONVRNN__MP(m->dec_p[2 * (wl - 2)]), *B = CONVRNN__MP(m->dec_p[2 * (wl - 2) + 1]);
            int dims[2];
            dims[0] = wl * K; dims[1] = 4;
            wv = convrnn_tape_input_nd(t, 2, dims, NULL, 0);
            if (!wv) return NULL;
            wv->data = W->data; wv->grad = W->grad; /* a 2-D view of the same parameter */
            for (q = 0; q + wl <= d->nz; q++) pos[q] = convrnn_dense(t, convrnn_slice_channels(t, cat, q * K, wl * K), wv, B);
            feats[wl - 2] = convrnn__maxn(t, pos, d->nz - wl + 1);
        }
        return convrnn_dense(t, convrnn_concat(t, feats, 5), CONVRNN__MP(fw), CONVRNN__MP(fb));
    }
    default:
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_UNSUPPORTED, "decode: unknown decoder");
    }
}

/* ---- weights files */
#ifndef CONVRNN_NO_STDIO
/* Every parameter as F32 under its TF name (and, with_momentum, its momentum buffer as
   "opt/momentum/<name>"), the graph text and the given metadata pairs, written atomically. */
static convrnn_status convrnn__write_weights(const convrnn_model *m, const char *path, const char *format, int with_momentum,
                                             const char *const *meta, int n_meta, convrnn_error *err) {
    const convrnn_params *ps = &m->params;
    const size_t copies = with_momentum ? 2 : 1;
    convrnn_st_writer w;
    char *text = NULL, (*names)[CONVRNN_NAME_MAX + 16] = NULL;
    convrnn_status s;
    int i, k;
    float *buf;
    size_t off = 0, j;
    if (!m || !path) return convrnn_error_set(err, CONVRNN_ERR_ARG, "save: NULL argument");
    if (!ps->finalized) return convrnn_error_set(err, CONVRNN_ERR_ARG, "save: model not created");
    buf = (float *)convrnn_calloc(NULL, copies * ps->total + 1, sizeof(float));
    if (with_momentum) names = (char (*)[CONVRNN_NAME_MAX + 16])convrnn_calloc(NULL, (size_t)ps->count + 1, sizeof *names);
    if (!buf || (with_momentum && !names)) { convrnn_free(NULL, buf); convrnn_free(NULL, names); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "save: out of memory"); }
    convrnn_st_writer_init(&w);
    s = convrnn_graph_to_text(&m->spec, &text, err);
    if (!s) s = convrnn_st_writer_meta(&w, "convrnn_graph", text);
    if (!s) s = convrnn_st_writer_meta(&w, "format", format);
    for (i = 0; !s && i < n_meta; i++) s = convrnn_st_writer_meta(&w, meta[2 * i], meta[2 * i + 1]);
    for (i = 0; !s && i < ps->count; i++) {
        const convrnn_param_info *pi = &ps->info[i];
        int64_t shape[4];
        for (k = 0; k < pi->rank; k++) shape[k] = pi->d[k];
        for (j = 0; j < pi->size; j++) buf[off + j] = (float)ps->values[pi->offset + j];
        s = convrnn_st_writer_add(&w, pi->name, CONVRNN_DT_F32, pi->rank, shape, buf + off);
        if (with_momentum && !s) {
            for (j = 0; j < pi->size; j++) buf[ps->total + off + j] = (float)ps->opt_state[pi->offset + j];
            snprintf(names[i], sizeof names[i], "opt/momentum/%s", pi->name);
            s = convrnn_st_writer_add(&w, names[i], CONVRNN_DT_F32, pi->rank, shape, buf + ps->total + off);
        }
        off += pi->size;
    }
    if (s && err && !err->status) convrnn_error_set(err, s, "save: could not add a tensor");
    if (!s) s = convrnn_st_writer_save(&w, path, err);
    convrnn_st_writer_free(&w);
    convrnn_free(NULL, text);
    convrnn_free(NULL, buf);
    convrnn_free(NULL, names);
    return s;
}
CONVRNNDEF convrnn_status convrnn_model_save(const convrnn_model *m, const char *path, convrnn_error *err) {
    return convrnn__write_weights(m, path, "convrnn-weights-1", 0, NULL, 0, err);
}
CONVRNNDEF convrnn_status convrnn_model_load(convrnn_model *m, const char *path, convrnn_error *err) {
    convrnn_safetensors st;
    convrnn_status s;
    memset(&st, 0, sizeof st);
    s = convrnn_st_read(path, &st, err);
    if (!s) s = convrnn_model_load_st(m, &st, err);
    convrnn_st_free(&st);
    return s;
}
#endif

CONVRNNDEF convrnn_status convrnn_model_load_st(convrnn_model *m, const convrnn_safetensors *st, convrnn_error *err) {
    int i, j, v;
    convrnn_real *tmp;
    if (!m || !st) return convrnn_error_set(err, CONVRNN_ERR_ARG, "model_load: NULL argument");
    /* every file tensor must be known, ignorable, or a zero memory_decay of a plain layer */
    for (i = 0; i < st->count; i++) {
        const convrnn_st_tensor *ft = &st->tensors[i];
        if (convrnn_params_find(&m->params, ft->name) >= 0) continue;
        if (convrnn__ends(ft->name, "/Momentum") || !strcmp(ft->name, "global_step") || convrnn__starts(ft->name, "opt/")) continue;
        if (convrnn__ends(ft->name, "/memory_decay") && convrnn__starts(ft->name, "tnn_model/")) {
            double dv[1];
            for (v = 0; v < m->spec.n_nodes; v++) {
                char nm[CONVRNN_NAME_MAX];
                snprintf(nm, sizeof nm, "tnn_model/%s/memory_decay", m->spec.nodes[v].name);
                if (!strcmp(nm, ft->name)) break;
            }
            if (v == m->spec.n_nodes || m->spec.nodes[v].cell.type != CONVRNN_CELL_IDENTITY)
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: unexpected tensor '%s'", ft->name);
            if (ft->ndim > 1 || (ft->ndim == 1 && ft->shape[0] != 1) || convrnn_st_tensor_to_f64(ft, dv, 1, err))
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' must hold one float", ft->name);
            if (dv[0] != 0)
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' is %g; plain layers have a fixed decay of 0", ft->name, dv[0]);
            continue;
        }
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: tensor '%s' is not a variable of model '%s'", ft->name, m->spec.name);
    }
    tmp = (convrnn_real *)convrnn_calloc(NULL, m->params.total + 1, sizeof(convrnn_real));
    if (!tmp) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "model_load: out of memory");
    for (i = 0; i < m->params.count; i++) {
        const convrnn_param_info *pi = &m->params.info[i];
        const convrnn_st_tensor *ft = convrnn_st_find(st, pi->name);
        int ok = 1;
        convrnn_status s;
        if (!ft) { convrnn_free(NULL, tmp); return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: missing tensor '%s'", pi->name); }
        if (ft->dtype != CONVRNN_DT_F32 && ft->dtype != CONVRNN_DT_F64) {
            convrnn_free(NULL, tmp);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' has dtype %s, expected float32", pi->name, convrnn_dtype_name(ft->dtype));
        }
        if (ft->ndim != pi->rank) ok = 0;
        for (j = 0; ok && j < pi->rank; j++) if (ft->shape[j] != pi->d[j]) ok = 0;
        if (!ok) {
            char a[96], b[96];
            size_t o = 0;
            for (j = 0; j < ft->ndim && o < sizeof a - 24; j++) o += (size_t)snprintf(a + o, sizeof a - o, "%s%lld", j ? "," : "", (long long)ft->shape[j]);
            a[o] = 0;
            o = 0;
            for (j = 0; j < pi->rank && o < sizeof b - 24; j++) o += (size_t)snprintf(b + o, sizeof b - o, "%s%d", j ? "," : "", pi->d[j]);
            b[o] = 0;
            convrnn_free(NULL, tmp);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' has shape [%s], the model needs [%s]", pi->name, a, b);
        }
#ifdef CONVRNN_USE_DOUBLE
        s = convrnn_st_tensor_to_f64(ft, tmp + pi->offset, pi->size, err);
#else
        s = convrnn_st_tensor_to_f32(ft, tmp + pi->offset, pi->size, err);
#endif
        if (s) { convrnn_free(NULL, tmp); return s; }
        if (!convrnn_check_finite(tmp + pi->offset, pi->size)) {
            convrnn_free(NULL, tmp);
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "weights: '%s' holds NaN or infinity", pi->name);
        }
    }
    /* all checks passed: only now replace the values */
    memcpy(m->params.values, tmp, m->params.total * sizeof(convrnn_real));
    convrnn_free(NULL, tmp);
    return CONVRNN_OK;
}
#undef CONVRNN__MP



