/* convrnn score neural / score ost / pls, run in-process on .npy files in a temporary directory:
   the CSV and .npy outputs must equal the library's results; bad inputs must fail with a
   non-zero status. */
#define _POSIX_C_SOURCE 200809L
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include "../examples/cli_score.c"
#include "../examples/cli_common.c"   /* cli_mkdirs */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void path_of(char *out, const char *name) { snprintf(out, 512, "%s/%s", dir, name); }

static void write_f64(const char *name, int ndim, const int64_t *shape, const double *data) {
    char p[512];
    convrnn_array a;
    size_t n = 1;
    int i;
    memset(&a, 0, sizeof a);
    a.dtype = CONVRNN_DT_F64; a.ndim = ndim;
    for (i = 0; i < ndim; i++) { a.shape[i] = shape[i]; n *= (size_t)shape[i]; }
    a.count = n; a.data = (void *)data;
    path_of(p, name);
    CHECK(convrnn_npy_write(p, &a, NULL) == CONVRNN_OK);
}
static void write_i32(const char *name, int ndim, const int64_t *shape, const int *data) {
    char p[512];
    convrnn_array a;
    size_t n = 1;
    int i;
    memset(&a, 0, sizeof a);
    a.dtype = CONVRNN_DT_I32; a.ndim = ndim;
    for (i = 0; i < ndim; i++) { a.shape[i] = shape[i]; n *= (size_t)shape[i]; }
    a.count = n; a.data = (void *)data;
    path_of(p, name);
    CHECK(convrnn_npy_write(p, &a, NULL) == CONVRNN_OK);
}

static int run(const char *line) { /* split on spaces; {D} stands for the temporary directory */
    char buf[4096], *argv[64], *tok;
    int argc = 0;
    size_t o = 0;
    const char *s;
    for (s = line; *s && o < sizeof buf - 300; s++) {
        if (s[0] == '{' && s[1] == 'D' && s[2] == '}') { o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", dir); s += 2; }
        else buf[o++] = *s;
    }
    buf[o] = 0;
    for (tok = strtok(buf, " "); tok && argc < 63; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc] = NULL;
    if (!strcmp(argv[0], "pls")) return cli_pls(argc, argv);
    return cli_score(argc, argv);
}

/* read a CSV into rows of numbers (non-numeric fields such as "mean" become NaN) */
static int read_csv(const char *name, double *vals, int max_vals, int *cols) {
    char p[512], line[4096];
    FILE *f;
    int n = 0, header = 1;
    path_of(p, name);
    f = fopen(p, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *q = line;
        int c = 0;
        if (header) { header = 0; continue; }
        for (;;) { /* fields separated by commas; empty and non-numeric fields become NaN */
            char *end;
            double v = strtod(q, &end);
            if (end == q || (*end && *end != ',' && *end != '\n')) v = NAN;
            if (n < max_vals) vals[n++] = v;
            c++;
            while (*q && *q != ',' && *q != '\n') q++;
            if (*q != ',') break;
            q++;
        }
        *cols = c;
    }
    fclose(f);
    return n;
}

static void test_neural(void) {
    convrnn_synth_neural S;
    convrnn_synth_neural_params sp;
    convrnn_splits splits;
    convrnn_pls_options po;
    int64_t sh[4];
    int N, Q, B, R, b, i, j, t, steps[6], *mask, *lab, cols = 0, n, s;
    double *F, *Tm, *r, *csv, maxd = 0;
    convrnn_synth_neural_params_default(&sp);
    sp.n_trials = 6; sp.n_images = 120; sp.n_objects = 6; sp.n_sites = 10; sp.n_bins = 5; sp.latent_dim = 4; sp.seed = 8;
    CHECK(convrnn_synth_neural_make(&S, &sp, NULL) == CONVRNN_OK);
    N = S.N; Q = S.Q; B = S.B; R = S.R;
    /* model: 7 steps, bins paired with steps 2..6 */
    F = (double *)malloc(sizeof(double) * 7 * N * Q);
    for (t = 0; t < 7; t++)
        for (i = 0; i < N; i++)
            for (j = 0; j < Q; j++) F[((size_t)t * N + i) * Q + j] = S.signal[((size_t)i * Q + j) * B + (t < 2 ? 0 : t - 2)] + 0.01 * ((i * 7 + j * 3 + t) % 11);
    for (b = 0; b < B; b++) steps[b] = b + 2;
    sh[0] = 7; sh[1] = N; sh[2] = Q; write_f64("F.npy", 3, sh, F);
    sh[0] = R; sh[1] = N; sh[2] = Q; sh[3] = B; write_f64("R.npy", 4, sh, S.responses);
    lab = S.labels;
    sh[0] = N; write_i32("L.npy", 1, sh, lab);
    CHECK(convrnn_splits_shuffle(&splits, N, 3, 0.8, 0, lab, 5, NULL) == CONVRNN_OK);
    mask = (int *)malloc(sizeof(int) * 3 * N);
    convrnn_splits_to_mask(&splits, mask);
    sh[0] = 3; sh[1] = N; write_i32("S.npy", 2, sh, mask);
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/L.npy --splits {D}/S.npy --components 6 "
              "--bin-steps 2,3,4,5,6 --out {D}/neural") == 0);
    /* the library on the same inputs */
    Tm = (double *)calloc((size_t)N * Q * B, sizeof(double));
    for (t = 0; t < R; t++)
        for (i = 0; i < N * Q * B; i++) Tm[i] += S.responses[(size_t)t * N * Q * B + i] / R;
    r = (double *)malloc(sizeof(double) * 3 * Q * B);
    convrnn_pls_options_default(&po);
    po.n_components = 6;
    CHECK(convrnn_neural_predictivity(F, 7, N, Q, steps, Tm, Q, B, &splits, CONVRNN_MAP_FIXED, &po, r, NULL) == CONVRNN_OK);
    csv = (double *)malloc(sizeof(double) * 8 * 3 * Q * B + 64);
    n = read_csv("neural/neurons.csv", csv, 8 * 3 * Q * B + 64, &cols);
    CHECK(n == 8 * 3 * Q * B && cols == 8);
    for (i = 0; i < n / 8 && i < 3 * Q * B; i++) {
        int sp_ = (int)csv[i * 8], site = (int)csv[i * 8 + 1], bin = (int)csv[i * 8 + 2];
        CHECK(sp_ >= 0 && sp_ < 3 && site >= 0 && site < Q && bin >= 0 && bin < B && (int)csv[i * 8 + 3] == steps[bin]);
        if (sp_ >= 0 && sp_ < 3 && site >= 0 && site < Q && bin >= 0 && bin < B)
            maxd = fmax(maxd, fabs(csv[i * 8 + 4] - r[((size_t)sp_ * Q + site) * B + bin]));
    }
    printf("  score neural: neurons.csv r vs library, max abs difference %.3g\n", maxd);
    CHECK(maxd < 1e-9);
    n = read_csv("neural/summary.csv", csv, 1000, &cols);
    CHECK(n == 9 * (B + 1) && cols == 9);
    /* errors */
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/L.npy --bin-steps 2,3 --out {D}/x") != 0);
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/L.npy --bin-steps 2,3,4,5,9 --out {D}/x") != 0);
    CHECK(run("score neural --features {D}/R.npy --neural {D}/R.npy --labels {D}/L.npy --bin-steps 2,3,4,5,6 --out {D}/x") != 0);
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/missing.npy --bin-steps 2,3,4,5,6 --out {D}/x") != 0);
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/L.npy --bin-steps 2,3,4,5,6 --map sideways --out {D}/x") == 2);
    CHECK(run("score neural --neural {D}/R.npy") == 2);
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/L.npy --bin-steps 2,3,4,5,6 --out {D}/x --what 1") == 2);
    for (s = 0; s < N; s++) mask[s] = 1; /* split 0 without test images */
    sh[0] = 3; sh[1] = N; write_i32("Sbad.npy", 2, sh, mask);
    CHECK(run("score neural --features {D}/F.npy --neural {D}/R.npy --labels {D}/L.npy --splits {D}/Sbad.npy --bin-steps 2,3,4,5,6 --out {D}/x") != 0);
    free(F); free(Tm); free(r); free(csv); free(mask);
    convrnn_splits_free(&splits);
    convrnn_synth_neural_free(&S);
}

static void test_ost(void) {
    convrnn_synth_ost_params p;
    convrnn_synth_ost o;
    convrnn_splits splits;
    convrnn_ost_options oo;
    convrnn_ost_summary sm;
    int64_t sh[3];
    int N, cols = 0, n, i;
    double *mo, *csv, maxd = 0;
    convrnn_synth_ost_params_default(&p);
    p.n_images = 150; p.n_bins = 8; p.n_features = 30; p.seed = 4;
    CHECK(convrnn_synth_ost_make(&o, &p, NULL) == CONVRNN_OK);
    N = o.N;
    sh[0] = o.B; sh[1] = N; sh[2] = o.P; write_f64("Fo.npy", 3, sh, o.features);
    sh[0] = N; write_i32("Lo.npy", 1, sh, o.labels);
    write_f64("I1.npy", 1, sh, o.i1);
    write_f64("O.npy", 1, sh, o.it_ost);
    CHECK(run("score ost --features {D}/Fo.npy --labels {D}/Lo.npy --i1 {D}/I1.npy --it-ost {D}/O.npy "
              "--bin-ms 70,80,90,100,110,120,130,140 --seed 3 --out {D}/ost") == 0);
    CHECK(convrnn_splits_shuffle(&splits, N, 10, 0, 0.1, NULL, 3, NULL) == CONVRNN_OK);
    convrnn_ost_options_default(&oo);
    mo = (double *)malloc(sizeof(double) * 10 * N);
    CHECK(convrnn_ost_model(o.features, o.B, N, o.P, o.labels, o.C, o.bin_ms, o.i1, &splits, &oo, mo, NULL, NULL) == CONVRNN_OK);
    CHECK(convrnn_ost_consistency(mo, o.it_ost, &splits, 1, NULL, NULL, NULL, &sm, NULL) == CONVRNN_OK);
    csv = (double *)malloc(sizeof(double) * 4 * 10 * N + 64);
    n = read_csv("ost/ost.csv", csv, 4 * 10 * N + 64, &cols);
    CHECK(n == 4 * 10 * 15 && cols == 4);
    for (i = 0; i < n / 4; i++) {
        int s = (int)csv[i * 4], img = (int)csv[i * 4 + 1];
        double a = csv[i * 4 + 2], b = mo[(size_t)s * N + img];
        CHECK((a != a) == (b != b));
        if (a == a && b == b) maxd = fmax(maxd, fabs(a - b));
    }
    n = read_csv("ost/summary.csv", csv, 200, &cols);
    CHECK(n == 4 * 12 && cols == 4);
    printf("  score ost: ost.csv vs library, max abs difference %.3g ms; mean consistency %.6f (library %.6f)\n", maxd, csv[10 * 4 + 1], sm.consistency);
    CHECK(maxd < 1e-6);
    CHECK(fabs(csv[10 * 4 + 1] - sm.consistency) < 1e-9);
    CHECK(run("score ost --features {D}/Fo.npy --labels {D}/Lo.npy --i1 {D}/I1.npy --it-ost {D}/O.npy --bin-ms 70,80 --out {D}/x") != 0);
    CHECK(run("score ost --features {D}/Fo.npy --labels {D}/Lo.npy --i1 {D}/I1.npy --it-ost {D}/O.npy --bin-ms 70,80,90,100,110,120,130,140 --decoder tree --out {D}/x") == 2);
    CHECK(run("score ost --features {D}/Fo.npy --labels {D}/I1.npy --i1 {D}/I1.npy --it-ost {D}/O.npy --bin-ms 70,80,90,100,110,120,130,140 --out {D}/x") != 0);
    CHECK(run("score trees") == 2);
    /* any label values (here 2^31 - 1 - 7 c): the classes are the distinct values in order, so
       ost.csv is the same file */
    {
        int *big = (int *)malloc(sizeof(int) * (size_t)N);
        double *csv2 = (double *)malloc(sizeof(double) * 4 * 10 * N + 64);
        int n2, same = 1;
        for (i = 0; i < N; i++) big[i] = 2147483647 - 7 * (o.C - 1 - o.labels[i]);
        sh[0] = N; write_i32("Lbig.npy", 1, sh, big);
        CHECK(run("score ost --features {D}/Fo.npy --labels {D}/Lbig.npy --i1 {D}/I1.npy --it-ost {D}/O.npy "
                  "--bin-ms 70,80,90,100,110,120,130,140 --seed 3 --out {D}/ostbig") == 0);
        n = read_csv("ost/ost.csv", csv, 4 * 10 * N + 64, &cols);
        n2 = read_csv("ostbig/ost.csv", csv2, 4 * 10 * N + 64, &cols);
        for (i = 0; i < n && n == n2; i++) same &= (csv[i] != csv[i] && csv2[i] != csv2[i]) || csv[i] == csv2[i];
        CHECK(n == n2 && n > 0 && same);
        free(big); free(csv2);
    }
    free(mo); free(csv);
    convrnn_splits_free(&splits);
    convrnn_synth_ost_free(&o);
}

static void test_pls_cli(void) {
    double X[40 * 5], Y[40 * 2], Xt[6 * 5], pred[12];
    int64_t sh[2];
    convrnn_rng r;
    convrnn_pls m;
    convrnn_pls_options po;
    convrnn_array a;
    char pth[512];
    double *got = NULL, maxd = 0;
    int i;
    convrnn_rng_seed(&r, 2);
    for (i = 0; i < 200; i++) X[i] = convrnn_rng_normal(&r);
    for (i = 0; i < 80; i++) Y[i] = X[(i / 2) * 5 + i % 2] + 0.1 * convrnn_rng_normal(&r);
    for (i = 0; i < 30; i++) Xt[i] = convrnn_rng_normal(&r);
    sh[0] = 40; sh[1] = 5; write_f64("X.npy", 2, sh, X);
    sh[1] = 2; write_f64("Y.npy", 2, sh, Y);
    sh[0] = 6; sh[1] = 5; write_f64("Xt.npy", 2, sh, Xt);
    CHECK(run("pls --x {D}/X.npy --y {D}/Y.npy --components 3 --predict {D}/Xt.npy --out {D}/P.npy") == 0);
    convrnn_pls_options_default(&po);
    po.n_components = 3;
    CHECK(convrnn_pls_fit(&m, X, Y, 40, 5, 2, &po, NULL) == CONVRNN_OK);
    CHECK(convrnn_pls_predict(&m, Xt, 6, pred, NULL) == CONVRNN_OK);
    path_of(pth, "P.npy");
    CHECK(convrnn_npy_read(pth, &a, NULL) == CONVRNN_OK && a.ndim == 2 && a.shape[0] == 6 && a.shape[1] == 2);
    CHECK(convrnn_array_to_f64(&a, &got, NULL) == CONVRNN_OK);
    for (i = 0; i < 12 && got; i++) maxd = fmax(maxd, fabs(got[i] - pred[i]));
    printf("  pls: P.npy vs library, max abs difference %.3g\n", maxd);
    CHECK(maxd == 0);
    convrnn_free(NULL, got);
    convrnn_array_free(&a);
    convrnn_pls_free(&m);
    CHECK(run("pls --x {D}/X.npy --y {D}/Xt.npy --predict {D}/Xt.npy --out {D}/P2.npy") != 0);
    CHECK(run("pls --x {D}/X.npy --y {D}/Y.npy --predict {D}/Y.npy --out {D}/P2.npy") != 0);
    CHECK(run("pls --x {D}/X.npy --y {D}/Y.npy --components -3 --predict {D}/Xt.npy --out {D}/P2.npy") == 2);
}

int main(void) {
    char cmdline[600];
    snprintf(dir, sizeof dir, "/tmp/convrnn_metrics_cli_XXXXXX");
    if (!mkdtemp(dir)) { CHECK(0); return TEST_END("metrics_cli"); }
    test_neural();
    test_ost();
    test_pls_cli();
    snprintf(cmdline, sizeof cmdline, "rm -rf '%s'", dir);
    if (system(cmdline) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_END("metrics_cli");
}
