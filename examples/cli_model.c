#define _POSIX_C_SOURCE 200809L
/* convrnn info / init / features: the model zoo and feature extraction from the command line. */
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

int cli_info(int argc, char **argv) {
    convrnn_model m;
    size_t units, pre;
    int v;
    if (argc != 2) { fprintf(stderr, "usage: convrnn info MODEL|FILE.cfg\n"); return 2; }
    if (!cli_load_model("info", argv[1], &m)) return 1;
    printf("model %s: input %dx%dx%d, %d classes, T %d, image_off %d, decoder %s, minimal T %d\n", m.spec.name,
           m.spec.in_h, m.spec.in_w, m.spec.in_c, m.spec.n_classes, m.spec.T, m.spec.image_off,
           convrnn_decoder_name(m.spec.decoder.type), convrnn_model_minimal_T(&m));
    printf("%-10s %-16s %-15s %-15s %-15s %12s %10s  %s\n", "node", "memory", "harbor", "cell input", "output/step",
           "params", "units", "inputs (harbor order)");
    for (v = 0; v < m.spec.n_nodes; v++) {
        const convrnn_node_rt *rt = &m.rt[v];
        char hb[32], ci[32], oo[32], ins[256];
        size_t o = 0;
        int i;
        snprintf(hb, sizeof hb, "%dx%dx%d", rt->in_h, rt->in_w, rt->harbor_c);
        snprintf(ci, sizeof ci, "%dx%dx%d", rt->mem_h, rt->mem_w, rt->mem_c);
        snprintf(oo, sizeof oo, "%dx%dx%d", rt->out_h, rt->out_w, rt->out_c);
        ins[0] = 0;
        if (rt->ff < 0) o += (size_t)snprintf(ins, sizeof ins, "stimulus");
        for (i = 0; i < rt->n_preds && o < sizeof ins - 32; i++)
            o += (size_t)snprintf(ins + o, sizeof ins - o, "%s%s%s", o ? ", " : "", m.spec.nodes[rt->preds[i]].name,
                                  rt->preds[i] == rt->ff ? "" : " (fb)");
        printf("%-10s %-16s %-15s %-15s %-15s %12zu %10zu  %s\n", m.spec.nodes[v].name,
               convrnn_cell_type_name(m.spec.nodes[v].cell.type), hb, ci, oo, rt->params, rt->units, ins);
    }
    units = convrnn_model_unit_count(&m, &pre);
    printf("units are node outputs after post-memory pooling, readout included (before pooling: %zu)\n", pre);
    printf("params: %zu units: %zu\n", convrnn_model_param_count(&m), units);
    convrnn_model_free(&m);
    return 0;
}

int cli_init(int argc, char **argv) {
    static const char *known[] = { "--model", "--seed", "--out", NULL };
    const char *model = cli_opt(argc, argv, "--model"), *seed = cli_opt(argc, argv, "--seed"), *out = cli_opt(argc, argv, "--out");
    convrnn_model m;
    convrnn_error e;
    long s = 0;
    if (!cli_check_opts("init", argc, argv, known, NULL)) return 2;
    if (!model || !out) { fprintf(stderr, "usage: convrnn init --model NAME|FILE.cfg [--seed S] --out W.safetensors\n"); return 2; }
    if (seed && !cli_int("init", "--seed", seed, 0, 2147483647L, &s)) return 2;
    if (!cli_load_model("init", model, &m)) return 1;
    convrnn_error_clear(&e);
    if (convrnn_model_init(&m, (uint64_t)s) || convrnn_model_save(&m, out, &e)) {
        fprintf(stderr, "convrnn init: %s\n", e.status ? e.msg : m.err.msg);
        convrnn_model_free(&m);
        return 1;
    }
    printf("wrote %s (%d tensors, %zu parameters)\n", out, m.params.count, convrnn_model_param_count(&m));
    convrnn_model_free(&m);
    return 0;
}

/* Is node v's output a vector (last op a dense layer or a global pool)? */
static int dense_output(const convrnn_model *m, int v) {
    const convrnn_node_spec *n = &m->spec.nodes[v];
    const convrnn_op_spec *last = n->n_post ? &n->post[n->n_post - 1] : n->n_pre ? &n->pre[n->n_pre - 1] : NULL;
    return last && (last->kind == CONVRNN_OP_FC || last->kind == CONVRNN_OP_GAP);
}

int cli_features(int argc, char **argv) {
    static const char *known[] = { "--model", "--weights", "--init-seed", "--input", "--steps", "--image-off", "--blank",
                                   "--preset", "--layers", "--out", "--batch", "--flat", NULL };
    const char *model = cli_opt(argc, argv, "--model"), *weights = cli_opt(argc, argv, "--weights");
    const char *seed = cli_opt(argc, argv, "--init-seed"), *input = cli_opt(argc, argv, "--input"), *steps = cli_opt(argc, argv, "--steps");
    const char *ioff = cli_opt(argc, argv, "--image-off"), *blank = cli_opt(argc, argv, "--blank"), *layers = cli_opt(argc, argv, "--layers");
    const char *outdir = cli_opt(argc, argv, "--out"), *batch = cli_opt(argc, argv, "--batch"), *flat = cli_opt(argc, argv, "--flat");
    const char *preset = cli_opt(argc, argv, "--preset");
    convrnn_model m;
    convrnn_array x;
    convrnn_error e;
    float *img = NULL, *res[CONVRNN_MAX_NODES];
    int sel[CONVRNN_MAX_NODES], nsel = 0, v, rc = 1;
    long T = 0, K = 0, s = 0, B = 8, N, H, W, C, n0, i;
    double bv = 0.5;
    char list[1024], *tok, path[4096];
    memset(&x, 0, sizeof x);
    memset(res, 0, sizeof res);
    convrnn_error_clear(&e);
    if (!cli_check_opts("features", argc, argv, known, NULL)) return 2;
    if (!model || !input || (!preset && (!steps || !ioff)) || !layers || !outdir || (!weights == !seed)) {
        fprintf(stderr, "usage: convrnn features --model NAME|FILE.cfg (--weights W.safetensors | --init-seed S) --input X.npy"
                        " (--preset default|neural|constant | --steps T --image-off K) [--blank V] --layers a,b,c --out DIR"
                        " [--batch B] [--flat 1]\n"
                        "  writes DIR/<layer>.npy shaped (T, N, H, W, C), or (T, N, C) for dense layers and (T, N, H*W*C) with --flat 1;\n"
                        "  --steps / --image-off override the preset's values\n");
        return 2;
    }
    if ((steps && !cli_int("features", "--steps", steps, 1, 10000, &T)) || (ioff && !cli_int("features", "--image-off", ioff, 0, 10000, &K)) ||
        (seed && !cli_int("features", "--init-seed", seed, 0, 2147483647L, &s)) ||
        (batch && !cli_int("features", "--batch", batch, 1, 4096, &B))) return 2;
    if (blank) {
        char *end;
        bv = strtod(blank, &end);
        if (!*blank || *end || !(bv - bv == 0)) { fprintf(stderr, "convrnn features: --blank must be a finite number\n"); return 2; }
    }
    if (strlen(layers) >= sizeof list) { fprintf(stderr, "convrnn features: --layers is too long\n"); return 2; }
    if (!cli_load_model("features", model, &m)) return 1;
    if (preset) {
        int pT, pK;
        if (convrnn_stimulus_preset(&m.spec, preset, &pT, &pK, &e)) { fprintf(stderr, "convrnn features: %s\n", e.msg); goto done; }
        if (!steps) T = pT;
        if (!ioff) K = pK;
    }
    strcpy(list, layers);
    for (tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        v = convrnn_model_node(&m, tok);
        if (v < 0) { fprintf(stderr, "convrnn features: model '%s' has no layer '%s'\n", m.spec.name, tok); goto done; }
        for (i = 0; i < nsel; i++) if (sel[i] == v) break;
        if (i == nsel) sel[nsel++] = v;
    }
    if (!nsel) { fprintf(stderr, "convrnn features: --layers is empty\n"); goto done; }
    if (weights ? convrnn_model_load(&m, weights, &e) : convrnn_model_init(&m, (uint64_t)s)) {
        fprintf(stderr, "convrnn features: %s\n", e.status ? e.msg : m.err.msg);
        goto done;
    }
    if (convrnn_npy_read(input, &x, &e) || convrnn_array_to_f32(&x, &img, &e)) { fprintf(stderr, "convrnn features: %s: %s\n", input, e.msg); goto done; }
    if (x.ndim != 4) { fprintf(stderr, "convrnn features: %s must be (N, H, W, C), has %d dimensions\n", input, x.ndim); goto done; }
    N = (long)x.shape[0]; H = (long)x.shape[1]; W = (long)x.shape[2]; C = (long)x.shape[3];
    if (N < 1 || C != m.spec.in_c) { fprintf(stderr, "convrnn features: %s has %ld images of %ld channels; the model takes %d channels\n", input, N, C, m.spec.in_c); goto done; }
    for (i = 0; i < (long)x.count; i++) if (!(img[i] - img[i] == 0)) { fprintf(stderr, "convrnn features: %s holds NaN or infinity at element %ld\n", input, i); goto done; }
    for (n0 = 0; n0 < N; n0 += B) {
        const long nb = N - n0 < B ? N - n0 : B;
        convrnn_tape t;
        convrnn_tensor **outs = (convrnn_tensor **)calloc((size_t)T * m.spec.n_nodes, sizeof *outs);
        convrnn_stimulus st = convrnn_stimulus_make(img + (size_t)n0 * H * W * C, (int)nb, (int)H, (int)W, (int)C, (int)T, (int)K);
        st.blank = bv;
        convrnn_tape_init(&t, 0);
        if (!outs || convrnn_model_unroll(&m, &t, &st, outs)) {
            fprintf(stderr, "convrnn features: %s\n", outs ? t.err.msg : "out of memory");
            convrnn_tape_free(&t);
            free(outs);
            goto done;
        }
        for (i = 0; i < nsel; i++) {
            const convrnn_tensor *y0 = outs[sel[i]];
            const size_t per = y0->size / (size_t)nb; /* one image, one step */
            long step, n;
            if (!res[i]) res[i] = (float *)malloc((size_t)T * N * per * sizeof(float));
            if (!res[i]) { fprintf(stderr, "convrnn features: out of memory\n"); convrnn_tape_free(&t); free(outs); goto done; }
            for (step = 0; step < T; step++)
                for (n = 0; n < nb; n++) {
                    const convrnn_tensor *y = outs[(size_t)step * m.spec.n_nodes + sel[i]];
                    float *r = res[i] + ((size_t)step * N + n0 + n) * per;
                    size_t q;
                    for (q = 0; q < per; q++) r[q] = (float)y->data[(size_t)n * per + q];
                    for (q = 0; q < per; q++)
                        if (!(r[q] - r[q] == 0)) {   /* finite inputs, but the activations overflowed */
                            fprintf(stderr, "convrnn features: layer %s holds NaN or infinity at step %ld, image %ld (the activations overflow: rescale the input)\n",
                                    m.spec.nodes[sel[i]].name, step, n0 + n);
                            convrnn_tape_free(&t); free(outs); goto done;
                        }
                }
        }
        convrnn_tape_free(&t);
        free(outs);
    }
    if (!cli_mkdirs("features", outdir)) goto done;
    for (i = 0; i < nsel; i++) {
        convrnn_array a;
        int oh, ow, oc;
        if (convrnn_model_output_shape(&m, sel[i], (int)H, (int)W, &oh, &ow, &oc, &e)) { fprintf(stderr, "convrnn features: %s\n", e.msg); goto done; }
        memset(&a, 0, sizeof a);
        a.dtype = CONVRNN_DT_F32;
        a.shape[0] = T; a.shape[1] = N;
        if (dense_output(&m, sel[i]) || (flat && !strcmp(flat, "1"))) { a.ndim = 3; a.shape[2] = (int64_t)oh * ow * oc; }
        else { a.ndim = 5; a.shape[2] = oh; a.shape[3] = ow; a.shape[4] = oc; }
        a.count = (size_t)T * N * oh * ow * oc;
        a.data = res[i];
        snprintf(path, sizeof path, "%s/%s.npy", outdir, m.spec.nodes[sel[i]].name);
        if (convrnn_npy_write(path, &a, &e)) { fprintf(stderr, "convrnn features: %s\n", e.msg); goto done; }
        printf("wrote %s (T=%ld, N=%ld, %s)\n", path, T, N, a.ndim == 3 ? "dense" : "maps");
    }
    rc = 0;
done:
    for (i = 0; i < nsel; i++) free(res[i]);
    convrnn_free(NULL, img);
    convrnn_array_free(&x);
    convrnn_model_free(&m);
    return rc;
}
