/* libFuzzer target: the graph text parser, then (for texts that parse) model construction with a
   bounded size and the writer round trip. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    convrnn_graph_spec g, h;
    convrnn_error e;
    char *text = NULL;
    convrnn_error_clear(&e);
    if (convrnn_graph_parse((const char *)data, size, &g, &e) != CONVRNN_OK) {
        if (!e.msg[0]) __builtin_trap(); /* every failure names a reason */
        return 0;
    }
    /* the writer's output must parse back to the same graph */
    if (convrnn_graph_to_text(&g, &text, &e) == CONVRNN_OK) {
        if (convrnn_graph_parse(text, strlen(text), &h, &e) != CONVRNN_OK || !convrnn_graph_equal(&g, &h)) __builtin_trap();
        convrnn_free(NULL, text);
    }
    /* build only small models (the parser bounds each size, not their product) */
    if ((long)g.in_h * g.in_w * g.in_c <= 4096 && g.n_classes <= 64) {
        int v, j, small = 1;
        for (v = 0; v < g.n_nodes; v++) {
            const convrnn_node_spec *n = &g.nodes[v];
            for (j = 0; j < n->n_pre; j++) if (n->pre[j].out > 64 || n->pre[j].k > 8) small = 0;
            for (j = 0; j < n->n_post; j++) if (n->post[j].out > 64 || n->post[j].k > 8) small = 0;
            if (n->cell.out_depth > 64 || n->cell.k > 8 || n->cell.rgc.cell_depth > 64) small = 0;
        }
        if (small) {
            convrnn_model m;
            convrnn_model_create(&m, &g);
            convrnn_model_free(&m);
        }
    }
    return 0;
}
