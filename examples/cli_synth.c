#define _POSIX_C_SOURCE 200809L
/* convrnn export / convrnn synth: the inputs of the demo's brain comparison.
   export writes normalised images and labels of a data set as .npy;
   synth builds image-driven synthetic "neural" and "behavioural" data for those images, with a
   known generating process, so that the scoring pipeline can be run end to end without
   recordings. The generator (documented in the README):
     phi(x)     4x4 average-pooled image, flattened (16 C values), z-scored over the image set
     site q     s_q(x) = tanh(w_q . phi / sqrt(dim)) and a late component l_q(x) = tanh(v_q . phi / sqrt(dim)),
                w_q, v_q ~ N(0, 1); latency L_q uniform in [3, 6] bins
     response   r_q(x, b) = s_q(x) bump(b - L_q) + 0.5 l_q(x) late(b - L_q - 4), bump/late smooth
                rise-and-decay profiles; trials add N(0, sigma_q^2) with sigma_q set so that the
                trial-averaged reliability of the site is uniform in [0.5, 0.95]
     behaviour  difficulty d(x) = 1 - p(true class) of a nearest-class-mean softmax classifier on phi;
                primate I1 d' = 2 + U(-0.25, 0.25) (a similar behavioural level for every image, so
                that the time to reach it orders images by how fast evidence accumulates);
                IT OST = 70 + 180 d ms, NaN for the hardest 10%. */
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>

int cli_export(int argc, char **argv) {
    static const char *known[] = { "--data", "--split", "--limit", "--out", "--labels-out", NULL };
    const char *data = cli_opt(argc, argv, "--data"), *split = cli_opt(argc, argv, "--split"), *out = cli_opt(argc, argv, "--out");
    const char *lout = cli_opt(argc, argv, "--labels-out"), *lim = cli_opt(argc, argv, "--limit");
    char *targv[8];
    convrnn_dataset train, test;
    convrnn_data_config dc;
    convrnn_error e;
    float *x = NULL;
    int32_t *lab = NULL;
    int *idx = NULL, i, n, rc = 1;
    convrnn_real *buf = NULL;
    (void)targv;
    memset(&train, 0, sizeof train); memset(&test, 0, sizeof test); memset(&dc, 0, sizeof dc);
    convrnn_error_clear(&e);
    if (!cli_check_opts("export", argc, argv, known, NULL)) return 2;
    if (!data || !out || !lout) { fprintf(stderr, "usage: convrnn export --data DIR|synthetic [--split test|train] [--limit N] --out X.npy --labels-out L.npy\n"); return 2; }
    if (split && strcmp(split, "test") && strcmp(split, "train")) { fprintf(stderr, "convrnn export: --split is test or train\n"); return 2; }
    if (!cli_load_split("export", data, 0, 0, &train) || !cli_load_split("export", data, !split || !strcmp(split, "test"), 0, &test)) goto done;
    if (convrnn_dataset_stats(&train, dc.mean, dc.std, &e)) { fprintf(stderr, "convrnn export: %s\n", e.msg); goto done; }
    if (!cli_same_channels("export", &train, &test)) goto done;   /* the statistics are the training split's, per channel */
    n = test.n;
    if (lim) { long l; if (!cli_int("export", "--limit", lim, 1, 2147483647L, &l)) goto done; if (l < n) n = (int)l; }
    idx = (int *)malloc((size_t)n * sizeof *idx);
    buf = (convrnn_real *)malloc((size_t)n * test.h * test.w * test.c * sizeof *buf);
    x = (float *)malloc((size_t)n * test.h * test.w * test.c * sizeof *x);
    lab = (int32_t *)malloc((size_t)n * sizeof *lab);
    if (!idx || !buf || !x || !lab) { fprintf(stderr, "convrnn export: out of memory\n"); goto done; }
    for (i = 0; i < n; i++) idx[i] = i;
    if (convrnn_batch_fill(&test, idx, n, &dc, NULL, buf, NULL)) { fprintf(stderr, "convrnn export: cannot normalise %d channels\n", test.c); goto done; }
    for (i = 0; i < n; i++) lab[i] = test.labels[i];
    for (i = 0; i < n * test.h * test.w * test.c; i++) x[i] = (float)buf[i];
    {
        int64_t sx[4], sl[1];
        sx[0] = n; sx[1] = test.h; sx[2] = test.w; sx[3] = test.c; sl[0] = n;
        if (!cli_write_npy("export", out, CONVRNN_DT_F32, 4, sx, x) || !cli_write_npy("export", lout, CONVRNN_DT_I32, 1, sl, lab)) goto done;
    }
    printf("wrote %s (%d images %dx%dx%d, normalised with the training split's statistics) and %s\n", out, n, test.h, test.w, test.c, lout);
    rc = 0;
done:
    free(idx); free(buf); free(x); free(lab);
    convrnn_dataset_free(&train); convrnn_dataset_free(&test);
    return rc;
}

static double bump(double u) { return u < 0 ? 0 : (u / 2.0) * exp(1 - u / 2.0); }          /* peak 1 at u = 2 */
static double late(double u) { return u < 0 ? 0 : 1 - exp(-u / 3.0); }

int cli_synth(int argc, char **argv) {
    static const char *known[] = { "--images", "--labels", "--out", "--sites", "--reps", "--bins", "--seed", NULL };
    const char *xi = cli_opt(argc, argv, "--images"), *li = cli_opt(argc, argv, "--labels"), *out = cli_opt(argc, argv, "--out");
    convrnn_array xa, la;
    convrnn_error e;
    double *x = NULL, *lab = NULL, *phi = NULL, *w = NULL, *v = NULL, *s = NULL, *l = NULL, *cm = NULL, *d = NULL;
    float *resp = NULL, *ost = NULL, *i1 = NULL;
    int32_t *labi = NULL;
    int N, H, W, C, D, Q = 64, R = 20, B = 19, K = 0, q, n, b, r, k, rc = 1, *lat = NULL;
    long seed = 1;
    convrnn_rng rng;
    char path[4096];
    memset(&xa, 0, sizeof xa); memset(&la, 0, sizeof la);
    convrnn_error_clear(&e);
    if (!cli_check_opts("synth", argc, argv, known, NULL)) return 2;
    if (!xi || !li || !out) { fprintf(stderr, "usage: convrnn synth --images X.npy --labels L.npy --out DIR [--sites 64] [--reps 20] [--bins 19] [--seed 1]\n"); return 2; }
    {
        long v;
        if (cli_opt(argc, argv, "--sites")) { if (!cli_int("synth", "--sites", cli_opt(argc, argv, "--sites"), 1, 4096, &v)) return 2; Q = (int)v; }
        if (cli_opt(argc, argv, "--reps")) { if (!cli_int("synth", "--reps", cli_opt(argc, argv, "--reps"), 2, 1000, &v)) return 2; R = (int)v; }
        if (cli_opt(argc, argv, "--bins")) { if (!cli_int("synth", "--bins", cli_opt(argc, argv, "--bins"), 2, 1000, &v)) return 2; B = (int)v; }
        if (cli_opt(argc, argv, "--seed") && !cli_int("synth", "--seed", cli_opt(argc, argv, "--seed"), 0, 2147483647L, &seed)) return 2;
    }
    if (convrnn_npy_read(xi, &xa, &e) || convrnn_array_to_f64(&xa, &x, &e) || convrnn_npy_read(li, &la, &e) || convrnn_array_to_f64(&la, &lab, &e)) {
        fprintf(stderr, "convrnn synth: %s\n", e.msg);
        goto done;
    }
    if (xa.ndim != 4 || la.ndim != 1 || la.shape[0] != xa.shape[0]) { fprintf(stderr, "convrnn synth: need images (N,H,W,C) and labels (N)\n"); goto done; }
    N = (int)xa.shape[0]; H = (int)xa.shape[1]; W = (int)xa.shape[2]; C = (int)xa.shape[3];
    D = 16 * C;
    for (n = 0; n < N; n++) {
        if (!(lab[n] >= 0 && lab[n] < 1000 && lab[n] == (int)lab[n])) { fprintf(stderr, "convrnn synth: label %d is not a class index\n", n); goto done; }
        if ((int)lab[n] + 1 > K) K = (int)lab[n] + 1;
    }
    phi = (double *)calloc((size_t)N * D, sizeof *phi); w = (double *)malloc((size_t)Q * D * sizeof *w); v = (double *)malloc((size_t)Q * D * sizeof *v);
    s = (double *)malloc((size_t)N * Q * sizeof *s); l = (double *)malloc((size_t)N * Q * sizeof *l); cm = (double *)calloc((size_t)K * D + 1, sizeof *cm);
    d = (double *)malloc((size_t)N * sizeof *d); lat = (int *)malloc((size_t)Q * sizeof *lat);
    resp = (float *)malloc((size_t)R * N * Q * B * sizeof *resp); ost = (float *)malloc((size_t)N * sizeof *ost); i1 = (float *)malloc((size_t)N * sizeof *i1);
    labi = (int32_t *)malloc((size_t)N * sizeof *labi);
    if (!phi || !w || !v || !s || !l || !cm || !d || !lat || !resp || !ost || !i1 || !labi) { fprintf(stderr, "convrnn synth: out of memory\n"); goto done; }
    /* phi: 4x4 average pooling, z-scored per dimension */
    for (n = 0; n < N; n++)
        for (b = 0; b < H * W; b++) {
            const int y = b / W, xx = b % W, cell = (y * 4 / H) * 4 + (xx * 4 / W);
            for (k = 0; k < C; k++) phi[(size_t)n * D + cell * C + k] += x[(size_t)n * H * W * C + (size_t)b * C + k] / ((double)H * W / 16.0);
        }
    for (k = 0; k < D; k++) {
        double m = 0, sd = 0;
        for (n = 0; n < N; n++) m += phi[(size_t)n * D + k];
        m /= N;
        for (n = 0; n < N; n++) sd += (phi[(size_t)n * D + k] - m) * (phi[(size_t)n * D + k] - m);
        sd = sqrt(sd / N) + 1e-9;
        for (n = 0; n < N; n++) phi[(size_t)n * D + k] = (phi[(size_t)n * D + k] - m) / sd;
    }
    convrnn_rng_seed(&rng, (uint64_t)seed);
    for (q = 0; q < Q * D; q++) { w[q] = convrnn_rng_normal(&rng); v[q] = convrnn_rng_normal(&rng); }
    for (q = 0; q < Q; q++) lat[q] = 3 + (int)convrnn_rng_below(&rng, 4);
    for (n = 0; n < N; n++)
        for (q = 0; q < Q; q++) {
            double a = 0, c2 = 0;
            for (k = 0; k < D; k++) { a += w[(size_t)q * D + k] * phi[(size_t)n * D + k]; c2 += v[(size_t)q * D + k] * phi[(size_t)n * D + k]; }
            s[(size_t)n * Q + q] = tanh(a / sqrt((double)D));
            l[(size_t)n * Q + q] = tanh(c2 / sqrt((double)D));
        }
    for (q = 0; q < Q; q++) {
        /* noise so that the R-trial mean at the peak bin has the drawn reliability rel:
           var_signal / (var_signal + sigma^2 / R) = rel */
        double m = 0, var = 0, rel = 0.5 + 0.45 * convrnn_rng_uniform(&rng), sigma;
        for (n = 0; n < N; n++) m += s[(size_t)n * Q + q];
        m /= N;
        for (n = 0; n < N; n++) var += (s[(size_t)n * Q + q] - m) * (s[(size_t)n * Q + q] - m);
        var /= N;
        sigma = sqrt(var * R * (1 - rel) / rel) + 1e-6;
        for (r = 0; r < R; r++)
            for (n = 0; n < N; n++)
                for (b = 0; b < B; b++) {
                    const double u = (double)(b - lat[q]);
                    const double mu = s[(size_t)n * Q + q] * bump(u) + 0.5 * l[(size_t)n * Q + q] * late(u - 4);
                    resp[(((size_t)r * N + n) * Q + q) * B + b] = (float)(mu + sigma * convrnn_rng_normal(&rng));
                }
    }
    /* behaviour: nearest-class-mean softmax classifier on phi */
    {
        int *cnt = (int *)calloc((size_t)K + 1, sizeof *cnt), *order = (int *)malloc((size_t)N * sizeof *order);
        if (!cnt || !order) { free(cnt); free(order); fprintf(stderr, "convrnn synth: out of memory\n"); goto done; }
        for (n = 0; n < N; n++) { cnt[(int)lab[n]]++; for (k = 0; k < D; k++) cm[(size_t)lab[n] * D + k] += phi[(size_t)n * D + k]; }
        for (k = 0; k < K; k++) for (b = 0; b < D; b++) if (cnt[k]) cm[(size_t)k * D + b] /= cnt[k];
        for (n = 0; n < N; n++) {
            double mx = -1e300, z = 0, pt = 0;
            for (k = 0; k < K; k++) {
                double dist = 0;
                if (!cnt[k]) continue;
                for (b = 0; b < D; b++) dist += (phi[(size_t)n * D + b] - cm[(size_t)k * D + b]) * (phi[(size_t)n * D + b] - cm[(size_t)k * D + b]);
                if (-dist / D * 4 > mx) mx = -dist / D * 4;
            }
            for (k = 0; k < K; k++) {
                double dist = 0, e2;
                if (!cnt[k]) continue;
                for (b = 0; b < D; b++) dist += (phi[(size_t)n * D + b] - cm[(size_t)k * D + b]) * (phi[(size_t)n * D + b] - cm[(size_t)k * D + b]);
                e2 = exp(-dist / D * 4 - mx);
                z += e2;
                if (k == (int)lab[n]) pt = e2;
            }
            d[n] = 1 - pt / z;
            order[n] = n;
        }
        /* the hardest 10% get NaN IT OST */
        for (n = 1; n < N; n++) { int t = order[n], j = n; while (j > 0 && d[order[j - 1]] < d[t]) { order[j] = order[j - 1]; j--; } order[j] = t; }
        for (n = 0; n < N; n++) { i1[n] = (float)(2.0 + 0.5 * (convrnn_rng_uniform(&rng) - 0.5)); ost[n] = (float)(70 + 180 * d[n]); labi[n] = (int32_t)lab[n]; }
        for (n = 0; n < N / 10; n++) ost[order[n]] = NAN;
        free(cnt); free(order);
    }
    if (mkdir(out, 0777) && errno != EEXIST) { fprintf(stderr, "convrnn synth: cannot create %s: %s\n", out, strerror(errno)); goto done; }
    {
        int64_t sh[4];
        sh[0] = R; sh[1] = N; sh[2] = Q; sh[3] = B;
        snprintf(path, sizeof path, "%s/neural.npy", out);
        if (!cli_write_npy("synth", path, CONVRNN_DT_F32, 4, sh, resp)) goto done;
        sh[0] = N;
        snprintf(path, sizeof path, "%s/it_ost.npy", out);
        if (!cli_write_npy("synth", path, CONVRNN_DT_F32, 1, sh, ost)) goto done;
        snprintf(path, sizeof path, "%s/i1.npy", out);
        if (!cli_write_npy("synth", path, CONVRNN_DT_F32, 1, sh, i1)) goto done;
        snprintf(path, sizeof path, "%s/labels.npy", out);
        if (!cli_write_npy("synth", path, CONVRNN_DT_I32, 1, sh, labi)) goto done;
    }
    printf("wrote %s/{neural,it_ost,i1,labels}.npy: %d trials x %d images x %d sites x %d bins\n", out, R, N, Q, B);
    rc = 0;
done:
    convrnn_array_free(&xa); convrnn_array_free(&la);
    convrnn_free(NULL, x); convrnn_free(NULL, lab);
    free(phi); free(w); free(v); free(s); free(l); free(cm); free(d); free(lat); free(resp); free(ost); free(i1); free(labi);
    return rc;
}
