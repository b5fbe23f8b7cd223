/* libFuzzer target: graph texts that parse and describe a small model are built, initialised, run
   for 1-3 steps on 2 images at the graph's size and at another size (graphs run at the input's own
   size), decoded by their decoder (any window length: too short a window must be an error) and
   differentiated. Any failure must be a status, never a crash or a sanitizer report. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include <string.h>
#include <stdlib.h>

/* the parser bounds each size, not their product: keep the models small enough to run */
static int small_model(const convrnn_graph_spec *g) {
    int v, j;
    if ((long)g->in_h * g->in_w * g->in_c > 1024 || g->n_classes > 32) return 0;
    if (g->decoder.type == CONVRNN_DEC_MLP && g->decoder.mlp_hidden > 64) return 0;
    for (v = 0; v < g->n_nodes; v++) {
        const convrnn_node_spec *n = &g->nodes[v];
        const convrnn_rgc_config *r = &n->cell.rgc;
        for (j = 0; j < n->n_pre; j++) if (n->pre[j].out > 32 || n->pre[j].k > 7) return 0;
        for (j = 0; j < n->n_post; j++) if (n->post[j].out > 32 || n->post[j].k > 7) return 0;
        if (n->cell.out_depth > 32 || n->cell.k > 7 || r->cell_depth > 32) return 0;
        if (r->tau_k > 7 || r->gate_k > 7 || r->ff_k > 7 || r->in_out_k > 7 || r->fb_k > 7) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    convrnn_graph_spec g;
    convrnn_error e;
    convrnn_model m;
    int run;
    convrnn_error_clear(&e);
    if (convrnn_graph_parse((const char *)data, size, &g, &e) != CONVRNN_OK || !small_model(&g)) return 0;
    if (convrnn_model_create(&m, &g) != CONVRNN_OK || convrnn_model_init(&m, 1) != CONVRNN_OK ||
        convrnn_model_param_count(&m) > 200000) {
        convrnn_model_free(&m);
        return 0;
    }
    for (run = 0; run < 2; run++) {
        const int H = g.in_h + 3 * run, W = g.in_w + run, T = 1 + (int)(size % 3), lab[2] = { 0, 0 };
        const size_t n = (size_t)2 * H * W * g.in_c;
        convrnn_real *img = (convrnn_real *)malloc(n * sizeof *img);
        convrnn_tensor **outs = (convrnn_tensor **)calloc((size_t)T * g.n_nodes, sizeof *outs);
        convrnn_stimulus s;
        convrnn_tape t;
        size_t i;
        if (!img || !outs) __builtin_trap();
        for (i = 0; i < n; i++) img[i] = (convrnn_real)((double)(i * 37 % 11) / 11.0);
        s = convrnn_stimulus_make(img, 2, H, W, g.in_c, T, 1);
        convrnn_tape_init(&t, 1);
        if (convrnn_model_unroll(&m, &t, &s, outs) == CONVRNN_OK) {
            convrnn_tensor *z = convrnn_model_decode(&m, &t, outs, T, 1, NULL);
            if (z) {
                convrnn_tensor *loss = convrnn_softmax_xent(&t, z, lab);
                if (loss) convrnn_tape_backward(&t, loss);
            } else if (!t.err.status || !t.err.msg[0]) __builtin_trap();   /* a failed decode says why */
        }
        convrnn_tape_free(&t);
        free(outs);
        free(img);
    }
    convrnn_model_free(&m);
    return 0;
}
