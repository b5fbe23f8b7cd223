#define _POSIX_C_SOURCE 200809L
/* convrnn score neural|ost and convrnn pls: the brain-comparison metrics from the command line.
   Arrays are .npy files; tables are CSV (NaN written as "nan"); each error is one line on stderr
   (exit status 2 for usage errors, 1 for failures). */
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ helpers */

/* the value after `key` (NULL if absent, "" if it ends the line) */
static const char *sc_opt(int argc, char **argv, const char *key) {
    int i;
    for (i = 1; i < argc; i++) if (!strcmp(argv[i], key)) return i + 1 < argc ? argv[i + 1] : "";
    return NULL;
}
/* every argument must be a known option followed by a value */
static int sc_check_opts(const char *cmd, int argc, char **argv, const char *const *known) {
    int i, k;
    for (i = 1; i < argc; i++) {
        for (k = 0; known[k]; k++) if (!strcmp(argv[i], known[k])) break;
        if (!known[k]) { fprintf(stderr, "convrnn %s: unknown option '%s'\n", cmd, argv[i]); return 0; }
        if (i + 1 >= argc) { fprintf(stderr, "convrnn %s: option '%s' needs a value\n", cmd, argv[i]); return 0; }
        i++;
    }
    return 1;
}

static int sc_int(const char *cmd, const char *name, const char *v, long lo, long hi, long *out) {
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "convrnn %s: %s must be an integer in [%ld, %ld], got '%s'\n", cmd, name, lo, hi, v);
        return 0;
    }
    *out = x;
    return 1;
}

static int sc_double(const char *cmd, const char *name, const char *v, double *out) {
    char *end;
    double x;
    errno = 0;
    x = strtod(v, &end);
    if (!*v || *end || errno || !(x == x) || x - x != 0) {
        fprintf(stderr, "convrnn %s: %s must be a finite number, got '%s'\n", cmd, name, v);
        return 0;
    }
    *out = x;
    return 1;
}

/* comma-separated numbers -> new array; *n receives the count */
static double *sc_list(const char *cmd, const char *name, const char *v, int *n) {
    int cap = 8, k = 0;
    double *a = (double *)malloc(sizeof(double) * (size_t)cap);
    const char *p = v;
    if (!a) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); return NULL; }
    while (*p) {
        char *end;
        double x;
        errno = 0;
        x = strtod(p, &end);
        if (end == p || errno || !(x == x) || x - x != 0 || (*end && *end != ',')) {
            fprintf(stderr, "convrnn %s: %s must be a comma-separated list of numbers, got '%s'\n", cmd, name, v);
            free(a);
            return NULL;
        }
        if (k == cap) {
            double *b = (double *)realloc(a, sizeof(double) * (size_t)(cap *= 2));
            if (!b) { free(a); fprintf(stderr, "convrnn %s: out of memory\n", cmd); return NULL; }
            a = b;
        }
        a[k++] = x;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) { fprintf(stderr, "convrnn %s: %s ends with a comma: '%s'\n", cmd, name, v); free(a); return NULL; }
    }
    if (!k) { fprintf(stderr, "convrnn %s: %s is empty\n", cmd, name); free(a); return NULL; }
    *n = k;
    return a;
}

/* read a .npy file as doubles, checking the number of dimensions (ndim_hi < 0: exactly ndim_lo) */
static double *sc_read(const char *cmd, const char *opt, const char *path, int ndim_lo, int ndim_hi, convrnn_array *info) {
    convrnn_error e;
    double *d = NULL;
    convrnn_error_clear(&e);
    if (convrnn_npy_read(path, info, &e)) { fprintf(stderr, "convrnn %s: %s: %s\n", cmd, opt, e.msg); return NULL; }
    if (info->ndim < ndim_lo || info->ndim > (ndim_hi < 0 ? ndim_lo : ndim_hi)) {
        if (ndim_hi < 0 || ndim_hi == ndim_lo)
            fprintf(stderr, "convrnn %s: %s %s must have %d dimensions, it has %d\n", cmd, opt, path, ndim_lo, info->ndim);
        else
            fprintf(stderr, "convrnn %s: %s %s must have %d to %d dimensions, it has %d\n", cmd, opt, path, ndim_lo, ndim_hi, info->ndim);
        convrnn_array_free(info);
        return NULL;
    }
    if (info->count == 0) {
        fprintf(stderr, "convrnn %s: %s %s is empty\n", cmd, opt, path);
        convrnn_array_free(info);
        return NULL;
    }
    if (convrnn_array_to_f64(info, &d, &e)) { fprintf(stderr, "convrnn %s: %s: %s\n", cmd, opt, e.msg); convrnn_array_free(info); return NULL; }
    {   /* keep only the shape */
        convrnn_array tmp = *info;
        convrnn_array_free(&tmp);
        info->data = NULL;
    }
    return d;
}
static void sc_free(void *p) { convrnn_free(NULL, p); }

/* doubles that must be integers >= 0 (labels) or 0/1 (split masks) -> ints */
static int *sc_ints(const char *cmd, const char *opt, const double *v, size_t n, long lo, long hi) {
    int *a = (int *)malloc(sizeof(int) * (n ? n : 1));
    size_t i;
    if (!a) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); return NULL; }
    for (i = 0; i < n; i++) {
        if (!(v[i] == floor(v[i])) || v[i] < (double)lo || v[i] > (double)hi) {
            fprintf(stderr, "convrnn %s: %s element %lu is %g; expected an integer in [%ld, %ld]\n", cmd, opt, (unsigned long)i, v[i], lo, hi);
            free(a);
            return NULL;
        }
        a[i] = (int)v[i];
    }
    return a;
}

/* class ids -> their ranks among the distinct ids (0 .. C-1, in ascending order); returns C, or
   -1 when out of memory. Any ids are accepted, gaps included: no empty class reaches a decoder. */
static int sc_int_cmp(const void *a, const void *b) { const int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }
static int sc_rank_labels(int *lab, int n) {
    int *v = (int *)malloc(sizeof(int) * (n ? (size_t)n : 1)), c = 0, i;
    if (!v) return -1;
    memcpy(v, lab, sizeof(int) * (size_t)n);
    qsort(v, (size_t)n, sizeof(int), sc_int_cmp);
    for (i = 0; i < n; i++)
        if (i == 0 || v[i] != v[c - 1]) v[c++] = v[i];
    for (i = 0; i < n; i++) lab[i] = (int)((int *)bsearch(&lab[i], v, (size_t)c, sizeof(int), sc_int_cmp) - v);
    free(v);
    return c;
}

/* CSV files are written to NAME.tmp and renamed into place */
typedef struct sc_csv { FILE *f; char path[1024], tmp[1040]; } sc_csv;
static int sc_csv_open(const char *cmd, sc_csv *c, const char *dir, const char *name, const char *header) {
    snprintf(c->path, sizeof c->path, "%s/%s", dir, name);
    snprintf(c->tmp, sizeof c->tmp, "%s.tmp", c->path);
    c->f = fopen(c->tmp, "w");
    if (!c->f) { fprintf(stderr, "convrnn %s: cannot write %s: %s\n", cmd, c->tmp, strerror(errno)); return 0; }
    fprintf(c->f, "%s\n", header);
    return 1;
}
static int sc_csv_close(const char *cmd, sc_csv *c) {
    int bad = ferror(c->f);
    if (fclose(c->f) || bad) { fprintf(stderr, "convrnn %s: error writing %s\n", cmd, c->tmp); remove(c->tmp); return 0; }
    if (rename(c->tmp, c->path)) { fprintf(stderr, "convrnn %s: cannot rename %s to %s: %s\n", cmd, c->tmp, c->path, strerror(errno)); remove(c->tmp); return 0; }
    return 1;
}
static void sc_num(FILE *f, double v, int last) {
    if (v != v) fputs("nan", f);
    else fprintf(f, "%.10g", v);
    fputc(last ? '\n' : ',', f);
}

/* splits: from a (splits, N) 0/1 mask file, or seeded random ones */
static int sc_splits(const char *cmd, const char *path, int N, int n_splits, double train, double test, const int *strata,
                     uint64_t seed, convrnn_splits *s) {
    convrnn_error e;
    convrnn_error_clear(&e);
    if (path) {
        convrnn_array info;
        double *d = sc_read(cmd, "--splits", path, 2, -1, &info);
        int *m, st;
        if (!d) return 0;
        if (info.shape[1] != N) {
            fprintf(stderr, "convrnn %s: --splits %s has shape (%lld, %lld); expected (splits, %d)\n", cmd, path,
                    (long long)info.shape[0], (long long)info.shape[1], N);
            sc_free(d);
            return 0;
        }
        m = sc_ints(cmd, "--splits", d, info.count, 0, 1);
        sc_free(d);
        if (!m) return 0;
        st = convrnn_splits_from_mask(s, m, (int)info.shape[0], N, &e);
        free(m);
        if (st) { fprintf(stderr, "convrnn %s: --splits %s: %s\n", cmd, path, e.msg); return 0; }
        return 1;
    }
    if (convrnn_splits_shuffle(s, N, n_splits, train, test, strata, seed, &e)) {
        fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ score neural */

static int score_neural(int argc, char **argv) {
    static const char *known[] = {"--features", "--neural", "--labels", "--splits", "--components", "--map", "--bin-steps",
                                  "--out", "--seed", "--n-splits", "--ceiling-splits", "--algorithm", NULL};
    const char *cmd = "score neural";
    const char *fF = sc_opt(argc, argv, "--features"), *fR = sc_opt(argc, argv, "--neural"), *fL = sc_opt(argc, argv, "--labels");
    const char *fS = sc_opt(argc, argv, "--splits"), *oK = sc_opt(argc, argv, "--components"), *oMap = sc_opt(argc, argv, "--map");
    const char *oBins = sc_opt(argc, argv, "--bin-steps"), *out = sc_opt(argc, argv, "--out"), *oSeed = sc_opt(argc, argv, "--seed");
    const char *oNS = sc_opt(argc, argv, "--n-splits"), *oCS = sc_opt(argc, argv, "--ceiling-splits"), *oAlg = sc_opt(argc, argv, "--algorithm");
    convrnn_array iF, iR, iL;
    double *F = NULL, *R = NULL, *L = NULL, *steps_d = NULL, *Tm = NULL, *r = NULL, *ceil_site = NULL, *ceil_bin = NULL, *ceil_err = NULL;
    int *labels = NULL, *steps = NULL, rc = 1, T, N, P, reps, Q, B, nb = 0, b, j, s, i;
    long K = 25, seed = 1, nsplits = 10, csplits = 10;
    convrnn_map_kind map = CONVRNN_MAP_FIXED;
    convrnn_splits sp;
    convrnn_pls_options po;
    convrnn_error e;
    memset(&sp, 0, sizeof sp);
    convrnn_error_clear(&e);
    if (!sc_check_opts(cmd, argc, argv, known)) return 2;
    if (!fF || !fR || !fL || !oBins || !out) {
        fprintf(stderr, "usage: convrnn score neural --features F.npy --neural R.npy --labels L.npy [--splits S.npy] "
                        "[--components 25] [--map fixed|per-bin] --bin-steps 7,8,... --out DIR\n");
        return 2;
    }
    if (oK && !sc_int(cmd, "--components", oK, 1, 100000, &K)) return 2;
    if (oSeed && !sc_int(cmd, "--seed", oSeed, 0, 2147483647L, &seed)) return 2;
    if (oNS && !sc_int(cmd, "--n-splits", oNS, 1, 100000, &nsplits)) return 2;
    if (oCS && !sc_int(cmd, "--ceiling-splits", oCS, 1, 100000, &csplits)) return 2;
    if (oMap) {
        if (!strcmp(oMap, "fixed")) map = CONVRNN_MAP_FIXED;
        else if (!strcmp(oMap, "per-bin")) map = CONVRNN_MAP_PER_BIN;
        else { fprintf(stderr, "convrnn %s: --map must be fixed or per-bin, got '%s'\n", cmd, oMap); return 2; }
    }
    convrnn_pls_options_default(&po);
    po.n_components = (int)K;
    if (oAlg) {
        if (!strcmp(oAlg, "nipals")) po.algorithm = CONVRNN_PLS_NIPALS;
        else if (!strcmp(oAlg, "exact")) po.algorithm = CONVRNN_PLS_EXACT;
        else { fprintf(stderr, "convrnn %s: --algorithm must be nipals or exact, got '%s'\n", cmd, oAlg); return 2; }
    }
    if (!(steps_d = sc_list(cmd, "--bin-steps", oBins, &nb))) return 2;
    if (!(F = sc_read(cmd, "--features", fF, 3, -1, &iF))) goto done;
    T = (int)iF.shape[0]; N = (int)iF.shape[1]; P = (int)iF.shape[2];
    if (!(R = sc_read(cmd, "--neural", fR, 4, -1, &iR))) goto done;
    reps = (int)iR.shape[0]; Q = (int)iR.shape[2]; B = (int)iR.shape[3];
    if (iR.shape[1] != N) {
        fprintf(stderr, "convrnn %s: --neural has %lld images, --features has %d\n", cmd, (long long)iR.shape[1], N);
        goto done;
    }
    if (nb != B) { fprintf(stderr, "convrnn %s: --bin-steps lists %d steps, --neural has %d bins\n", cmd, nb, B); goto done; }
    if (!(steps = sc_ints(cmd, "--bin-steps", steps_d, (size_t)nb, 0, T - 1))) goto done;
    if (!(L = sc_read(cmd, "--labels", fL, 1, -1, &iL))) goto done;
    if (iL.shape[0] != N) { fprintf(stderr, "convrnn %s: --labels has %lld entries, expected %d\n", cmd, (long long)iL.shape[0], N); goto done; }
    if (!(labels = sc_ints(cmd, "--labels", L, (size_t)N, 0, 2147483647L))) goto done;
    if (!sc_splits(cmd, fS, N, (int)nsplits, 0.9, 0, labels, (uint64_t)seed, &sp)) goto done;
    /* trial mean (N x Q x B) */
    Tm = (double *)calloc((size_t)N * Q * B, sizeof(double));
    r = (double *)malloc(sizeof(double) * (size_t)sp.n_splits * Q * B);
    ceil_site = (double *)malloc(sizeof(double) * (size_t)Q * B);
    ceil_bin = (double *)malloc(sizeof(double) * (size_t)B);
    ceil_err = (double *)malloc(sizeof(double) * (size_t)B);
    if (!Tm || !r || !ceil_site || !ceil_bin || !ceil_err) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); goto done; }
    {
        size_t E = (size_t)N * Q * B, k;
        int t;
        for (t = 0; t < reps; t++)
            for (k = 0; k < E; k++) Tm[k] += R[(size_t)t * E + k] / reps;
    }
    if (convrnn_neural_predictivity(F, T, N, P, steps, Tm, Q, B, &sp, map, &po, r, &e)) {
        fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg);
        goto done;
    }
    if (convrnn_ceiling_split_half_temporal(R, reps, N, Q, B, (int)csplits, (uint64_t)seed, 1, ceil_site, ceil_bin, ceil_err, &e)) {
        fprintf(stderr, "convrnn %s: ceiling: %s\n", cmd, e.msg);
        goto done;
    }
    if (!cli_mkdirs(cmd, out)) goto done;
    {
        sc_csv c;
        if (!sc_csv_open(cmd, &c, out, "neurons.csv", "split,site,bin,step,r,ceiling,r_nc_neuron,ev_neuronwise")) goto done;
        for (s = 0; s < sp.n_splits; s++)
            for (j = 0; j < Q; j++)
                for (b = 0; b < B; b++) {
                    double rv = r[((size_t)s * Q + j) * B + b], cv = ceil_site[(size_t)j * B + b];
                    fprintf(c.f, "%d,%d,%d,%d,", s, j, b, steps[b]);
                    sc_num(c.f, rv, 0);
                    sc_num(c.f, cv, 0);
                    sc_num(c.f, cv > 0 ? rv / sqrt(cv) : NAN, 0);
                    sc_num(c.f, cv > 0 ? convrnn_ceiling_neuronwise(rv, cv) : NAN, 1);
                }
        if (!sc_csv_close(cmd, &c)) goto done;
    }
    {
        sc_csv c;
        double *v = (double *)malloc(sizeof(double) * (size_t)(Q > sp.n_splits ? Q : sp.n_splits) * 2), *ms = v + (Q > sp.n_splits ? Q : sp.n_splits);
        double acc[6] = {0, 0, 0, 0, 0, 0};
        int cnt[6] = {0, 0, 0, 0, 0, 0};
        if (!v) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); goto done; }
        if (!sc_csv_open(cmd, &c, out, "summary.csv", "bin,step,median_r,ceiling,ceiling_error,median_r_nc_neuron,bs2019,bs2026,sites")) { free(v); goto done; }
        printf("%-5s %-5s %9s %9s %9s %12s %9s %9s %6s\n", "bin", "step", "median_r", "ceiling", "+-", "r/sqrt(c)", "bs2019", "bs2026", "sites");
        for (b = 0; b < B; b++) {
            double mr = NAN, mnc = NAN, score, bs19, bs26, row[6];
            size_t used;
            int k;
            /* Brain-Score aggregation: per split the median over sites, then the mean over splits */
            for (s = 0; s < sp.n_splits; s++) {
                for (j = 0; j < Q; j++) v[j] = r[((size_t)s * Q + j) * B + b];
                convrnn_nanmedian(v, (size_t)Q, &ms[s], NULL, NULL);
            }
            score = convrnn_nanmean(ms, (size_t)sp.n_splits, NULL);
            /* per site: mean over splits; medians over sites */
            for (j = 0; j < Q; j++) {
                for (s = 0; s < sp.n_splits; s++) ms[s] = r[((size_t)s * Q + j) * B + b];
                v[j] = convrnn_nanmean(ms, (size_t)sp.n_splits, NULL);
            }
            convrnn_nanmedian(v, (size_t)Q, &mr, &used, NULL);
            for (j = 0; j < Q; j++) {
                double cv = ceil_site[(size_t)j * B + b];
                v[j] = cv > 0 ? v[j] / sqrt(cv) : NAN;
            }
            convrnn_nanmedian(v, (size_t)Q, &mnc, NULL, NULL);
            bs19 = convrnn_ceiling_bs2019(score, ceil_bin[b]);
            bs26 = convrnn_ceiling_bs2026(score, ceil_bin[b]);
            fprintf(c.f, "%d,%d,", b, steps[b]);
            row[0] = mr; row[1] = ceil_bin[b]; row[2] = ceil_err[b]; row[3] = mnc; row[4] = bs19; row[5] = bs26;
            for (k = 0; k < 6; k++) { sc_num(c.f, row[k], 0); if (row[k] == row[k]) { acc[k] += row[k]; cnt[k]++; } }
            fprintf(c.f, "%lu\n", (unsigned long)used);
            printf("%-5d %-5d %9.4f %9.4f %9.4f %12.4f %9.4f %9.4f %6lu\n", b, steps[b], mr, ceil_bin[b], ceil_err[b], mnc, bs19, bs26, (unsigned long)used);
        }
        fprintf(c.f, "mean,,");
        for (i = 0; i < 6; i++) sc_num(c.f, cnt[i] ? acc[i] / cnt[i] : NAN, 0);
        fprintf(c.f, "%d\n", Q);
        free(v);
        if (!sc_csv_close(cmd, &c)) goto done;
    }
    printf("%d splits, %d sites, %d bins, %s map, %ld components; wrote %s/neurons.csv and %s/summary.csv\n", sp.n_splits, Q, B,
           map == CONVRNN_MAP_FIXED ? "temporally fixed" : "per-bin", K, out, out);
    rc = 0;
done:
    sc_free(F); sc_free(R); sc_free(L);
    free(steps_d); free(steps); free(labels); free(Tm); free(r); free(ceil_site); free(ceil_bin); free(ceil_err);
    convrnn_splits_free(&sp);
    return rc;
}

/* ------------------------------------------------------------------ score ost */

static int score_ost(int argc, char **argv) {
    static const char *known[] = {"--features", "--labels", "--i1", "--it-ost", "--splits", "--decoder", "--bin-ms", "--out",
                                  "--seed", "--n-splits", "--anchor", "--lambda", "--C", NULL};
    const char *cmd = "score ost";
    const char *fF = sc_opt(argc, argv, "--features"), *fL = sc_opt(argc, argv, "--labels"), *fI = sc_opt(argc, argv, "--i1");
    const char *fO = sc_opt(argc, argv, "--it-ost"), *fS = sc_opt(argc, argv, "--splits"), *oDec = sc_opt(argc, argv, "--decoder");
    const char *oBins = sc_opt(argc, argv, "--bin-ms"), *out = sc_opt(argc, argv, "--out"), *oSeed = sc_opt(argc, argv, "--seed");
    const char *oNS = sc_opt(argc, argv, "--n-splits"), *oAnc = sc_opt(argc, argv, "--anchor"), *oLam = sc_opt(argc, argv, "--lambda");
    const char *oC = sc_opt(argc, argv, "--C");
    convrnn_array iF, iL, iI, iO;
    double *F = NULL, *L = NULL, *I1 = NULL, *O = NULL, *bins = NULL, *mo = NULL, *rho = NULL, *frac = NULL;
    int *labels = NULL, *cnt = NULL, rc = 1, nb = 0, B, N, P, C = 0, s;
    long seed = 1, nsplits = 10;
    convrnn_splits sp;
    convrnn_ost_options oo;
    convrnn_ost_summary sm;
    convrnn_error e;
    memset(&sp, 0, sizeof sp);
    convrnn_error_clear(&e);
    if (!sc_check_opts(cmd, argc, argv, known)) return 2;
    if (!fF || !fL || !fI || !fO || !oBins || !out) {
        fprintf(stderr, "usage: convrnn score ost --features F.npy --labels L.npy --i1 I.npy --it-ost O.npy [--splits S.npy] "
                        "[--decoder logistic|svm] --bin-ms 70,80,... --out DIR\n");
        return 2;
    }
    convrnn_ost_options_default(&oo);
    if (oDec) {
        if (!strcmp(oDec, "logistic")) oo.decoder.kind = CONVRNN_DECODER_LOGISTIC;
        else if (!strcmp(oDec, "svm")) oo.decoder.kind = CONVRNN_DECODER_SVM;
        else { fprintf(stderr, "convrnn %s: --decoder must be logistic or svm, got '%s'\n", cmd, oDec); return 2; }
    }
    if (oAnc) {
        if (!strcmp(oAnc, "max")) oo.anchor = CONVRNN_OST_ANCHOR_MAX_SO_FAR;
        else if (!strcmp(oAnc, "previous")) oo.anchor = CONVRNN_OST_ANCHOR_PREVIOUS_BIN;
        else { fprintf(stderr, "convrnn %s: --anchor must be max or previous, got '%s'\n", cmd, oAnc); return 2; }
    }
    if (oLam && (!sc_double(cmd, "--lambda", oLam, &oo.decoder.lambda) || !(oo.decoder.lambda > 0))) {
        if (oo.decoder.lambda <= 0) fprintf(stderr, "convrnn %s: --lambda must be > 0, got '%s'\n", cmd, oLam);
        return 2;
    }
    if (oC && (!sc_double(cmd, "--C", oC, &oo.decoder.C) || !(oo.decoder.C > 0))) {
        if (oo.decoder.C <= 0) fprintf(stderr, "convrnn %s: --C must be > 0, got '%s'\n", cmd, oC);
        return 2;
    }
    if (oSeed && !sc_int(cmd, "--seed", oSeed, 0, 2147483647L, &seed)) return 2;
    if (oNS && !sc_int(cmd, "--n-splits", oNS, 1, 100000, &nsplits)) return 2;
    if (!(bins = sc_list(cmd, "--bin-ms", oBins, &nb))) return 2;
    if (!(F = sc_read(cmd, "--features", fF, 3, -1, &iF))) goto done;
    B = (int)iF.shape[0]; N = (int)iF.shape[1]; P = (int)iF.shape[2];
    if (nb != B) { fprintf(stderr, "convrnn %s: --bin-ms lists %d bins, --features has %d\n", cmd, nb, B); goto done; }
    if (!(L = sc_read(cmd, "--labels", fL, 1, -1, &iL))) goto done;
    if (!(I1 = sc_read(cmd, "--i1", fI, 1, -1, &iI))) goto done;
    if (!(O = sc_read(cmd, "--it-ost", fO, 1, -1, &iO))) goto done;
    if (iL.shape[0] != N || iI.shape[0] != N || iO.shape[0] != N) {
        fprintf(stderr, "convrnn %s: --labels, --i1 and --it-ost must have %d entries (the images of --features); they have %lld, %lld, %lld\n",
                cmd, N, (long long)iL.shape[0], (long long)iI.shape[0], (long long)iO.shape[0]);
        goto done;
    }
    if (!(labels = sc_ints(cmd, "--labels", L, (size_t)N, 0, 2147483647L))) goto done;
    if ((C = sc_rank_labels(labels, N)) < 0) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); goto done; }
    if (!sc_splits(cmd, fS, N, (int)nsplits, 0, 0.1, NULL, (uint64_t)seed, &sp)) goto done;
    mo = (double *)malloc(sizeof(double) * (size_t)sp.n_splits * N);
    rho = (double *)malloc(sizeof(double) * (size_t)sp.n_splits);
    frac = (double *)malloc(sizeof(double) * (size_t)sp.n_splits);
    cnt = (int *)malloc(sizeof(int) * (size_t)sp.n_splits);
    if (!mo || !rho || !frac || !cnt) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); goto done; }
    if (convrnn_ost_model(F, B, N, P, labels, C < 2 ? 2 : C, bins, I1, &sp, &oo, mo, NULL, &e) ||
        convrnn_ost_consistency(mo, O, &sp, 1, rho, frac, cnt, &sm, &e)) {
        fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg);
        goto done;
    }
    if (!cli_mkdirs(cmd, out)) goto done;
    {
        sc_csv c;
        size_t t;
        if (!sc_csv_open(cmd, &c, out, "ost.csv", "split,image,model_ost,it_ost")) goto done;
        for (s = 0; s < sp.n_splits; s++)
            for (t = sp.test_start[s]; t < sp.test_start[s + 1]; t++) {
                int img = sp.test[t];
                fprintf(c.f, "%d,%d,", s, img);
                sc_num(c.f, mo[(size_t)s * N + img], 0);
                sc_num(c.f, O[img], 1);
            }
        if (!sc_csv_close(cmd, &c)) goto done;
        if (!sc_csv_open(cmd, &c, out, "summary.csv", "split,consistency,fraction_solved,n_common")) goto done;
        printf("%-6s %12s %16s %9s\n", "split", "consistency", "fraction_solved", "n_common");
        for (s = 0; s < sp.n_splits; s++) {
            fprintf(c.f, "%d,", s);
            sc_num(c.f, rho[s], 0);
            sc_num(c.f, frac[s], 0);
            fprintf(c.f, "%d\n", cnt[s]);
            printf("%-6d %12.4f %16.4f %9d\n", s, rho[s], frac[s], cnt[s]);
        }
        fprintf(c.f, "mean,");
        sc_num(c.f, sm.consistency, 0);
        sc_num(c.f, sm.fraction_solved, 0);
        fprintf(c.f, "%d\n", sm.splits_used);
        fprintf(c.f, "sem,");
        sc_num(c.f, sm.consistency_sem, 0);
        sc_num(c.f, convrnn_nansem(frac, (size_t)sp.n_splits, 1, NULL), 0);
        fprintf(c.f, "%d\n", sm.splits_used);
        if (!sc_csv_close(cmd, &c)) goto done;
    }
    printf("OST consistency %.4f +- %.4f (s.e.m. over %d splits with a value), fraction of IT-solved images solved %.4f\n",
           sm.consistency, sm.consistency_sem, sm.splits_used, sm.fraction_solved);
    printf("%s decoder, %d bins, %d images, %d features; wrote %s/ost.csv and %s/summary.csv\n",
           oo.decoder.kind == CONVRNN_DECODER_SVM ? "svm" : "logistic", B, N, P, out, out);
    rc = 0;
done:
    sc_free(F); sc_free(L); sc_free(I1); sc_free(O);
    free(bins); free(labels); free(mo); free(rho); free(frac); free(cnt);
    convrnn_splits_free(&sp);
    return rc;
}

int cli_score(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "neural")) return score_neural(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "ost")) return score_ost(argc - 1, argv + 1);
    fprintf(stderr, "usage: convrnn score neural|ost [options] (run 'convrnn score neural' or 'convrnn score ost' for their options)\n");
    return 2;
}

/* ------------------------------------------------------------------ pls */

int cli_pls(int argc, char **argv) {
    static const char *known[] = {"--x", "--y", "--components", "--predict", "--out", "--algorithm", NULL};
    const char *cmd = "pls";
    const char *fX = sc_opt(argc, argv, "--x"), *fY = sc_opt(argc, argv, "--y"), *oK = sc_opt(argc, argv, "--components");
    const char *fT = sc_opt(argc, argv, "--predict"), *out = sc_opt(argc, argv, "--out"), *oAlg = sc_opt(argc, argv, "--algorithm");
    convrnn_array iX, iY, iT;
    double *X = NULL, *Y = NULL, *Xt = NULL, *pred = NULL;
    long K = 25;
    int rc = 1, n, p, q, m;
    convrnn_pls model;
    convrnn_pls_options po;
    convrnn_error e;
    static const char *why[3] = {"all requested components", "X has no variance left (numerical rank)", "no covariance left with Y"};
    memset(&model, 0, sizeof model);
    convrnn_error_clear(&e);
    if (!sc_check_opts(cmd, argc, argv, known)) return 2;
    if (!fX || !fY || !fT || !out) {
        fprintf(stderr, "usage: convrnn pls --x X.npy --y Y.npy [--components 25] [--algorithm nipals|exact] --predict Xtest.npy --out P.npy\n");
        return 2;
    }
    if (oK && !sc_int(cmd, "--components", oK, 1, 100000, &K)) return 2;
    convrnn_pls_options_default(&po);
    po.n_components = (int)K;
    if (oAlg) {
        if (!strcmp(oAlg, "nipals")) po.algorithm = CONVRNN_PLS_NIPALS;
        else if (!strcmp(oAlg, "exact")) po.algorithm = CONVRNN_PLS_EXACT;
        else { fprintf(stderr, "convrnn %s: --algorithm must be nipals or exact, got '%s'\n", cmd, oAlg); return 2; }
    }
    if (!(X = sc_read(cmd, "--x", fX, 2, -1, &iX))) goto done;
    if (!(Y = sc_read(cmd, "--y", fY, 1, 2, &iY))) goto done;
    if (!(Xt = sc_read(cmd, "--predict", fT, 2, -1, &iT))) goto done;
    n = (int)iX.shape[0]; p = (int)iX.shape[1];
    q = iY.ndim == 2 ? (int)iY.shape[1] : 1;
    m = (int)iT.shape[0];
    if (iY.shape[0] != n) { fprintf(stderr, "convrnn %s: --y has %lld rows, --x has %d\n", cmd, (long long)iY.shape[0], n); goto done; }
    if (iT.shape[1] != p) { fprintf(stderr, "convrnn %s: --predict has %lld columns, --x has %d\n", cmd, (long long)iT.shape[1], p); goto done; }
    if (convrnn_pls_fit(&model, X, Y, n, p, q, &po, &e)) { fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg); goto done; }
    pred = (double *)malloc(sizeof(double) * (size_t)m * q);
    if (!pred) { fprintf(stderr, "convrnn %s: out of memory\n", cmd); goto done; }
    if (convrnn_pls_predict(&model, Xt, m, pred, &e)) { fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg); goto done; }
    {
        convrnn_array a;
        memset(&a, 0, sizeof a);
        a.dtype = CONVRNN_DT_F64;
        a.ndim = iY.ndim == 2 ? 2 : 1;
        a.shape[0] = m; a.shape[1] = q;
        a.count = (size_t)m * q;
        a.data = pred;
        if (convrnn_npy_write(out, &a, &e)) { fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg); goto done; }
    }
    printf("PLS: %d x %d -> %d targets, %d of %ld components (%s); predicted %d rows into %s\n", n, p, q, model.rank, K,
           why[model.stop_reason >= 0 && model.stop_reason < 3 ? model.stop_reason : 0], m, out);
    rc = 0;
done:
    sc_free(X); sc_free(Y); sc_free(Xt);
    free(pred);
    convrnn_pls_free(&model);
    return rc;
}
