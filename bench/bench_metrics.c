/* C side of bench/run_metrics.sh (see there and bench/peer_metrics.py for the settings).

     bench_metrics DIR KIND [--validate]   time one fit of KIND (pls | logistic | logistic-lbfgs | svm) on the data in
                                           DIR, append the seconds to DIR/ours_KIND.txt; --validate
                                           first compares the outputs with the peer's reference
                                           (exit 1 when they disagree)
     bench_metrics DIR summary             median times of both sides, "speedup KIND X" lines
                                           (peer median / ours)
   Inputs are raw little-endian float64 / int32 files written by peer_metrics.py. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { PLS_N = 2560, PLS_P = 10000, PLS_Q = 256, PLS_T = 256, DEC_N = 1188, DEC_P = 1000, DEC_C = 10, DEC_T = 132 };
#define LAMBDA 0.463
#define SVM_C 1e-3

static double now(void) {
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static void *load(const char *dir, const char *name, size_t count, size_t size) {
    char p[1024];
    FILE *f;
    void *buf = malloc(count * size);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "rb");
    if (!buf || !f || fread(buf, size, count, f) != count) {
        fprintf(stderr, "bench_metrics: cannot read %s (%lu values)\n", p, (unsigned long)count);
        exit(2);
    }
    fclose(f);
    return buf;
}

static int agree(const char *what, const double *ours, const double *ref, size_t n, double tol) {
    double mabs = 0, mref = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        if (fabs(ours[i] - ref[i]) > mabs) mabs = fabs(ours[i] - ref[i]);
        if (fabs(ref[i]) > mref) mref = fabs(ref[i]);
    }
    printf("validate %-22s max abs %.3g, max rel %.3g (limit %.1g) %s\n", what, mabs, mabs / mref, tol,
           mabs <= tol * mref ? "ok" : "DISAGREE");
    return mabs <= tol * mref;
}

static void append_time(const char *dir, const char *kind, double t) {
    char p[1024];
    FILE *f;
    snprintf(p, sizeof p, "%s/ours_%s.txt", dir, kind);
    f = fopen(p, "a");
    if (f) { fprintf(f, "%.6f\n", t); fclose(f); }
    printf("ours %-8s %.3f s\n", kind, t);
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static int median_file(const char *dir, const char *name, double *med, int *count) {
    char p[1024];
    double v[256];
    int n = 0;
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    f = fopen(p, "r");
    if (!f) return 0;
    while (n < 256 && fscanf(f, "%lf", &v[n]) == 1) n++;
    fclose(f);
    if (!n) return 0;
    qsort(v, (size_t)n, sizeof(double), cmpd);
    *med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    *count = n;
    return 1;
}

int main(int argc, char **argv) {
    const char *dir, *kind;
    int validate, ok = 1;
    convrnn_error err;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_metrics DIR pls|logistic|logistic-lbfgs|svm [--validate] | bench_metrics DIR summary\n");
        return 2;
    }
    dir = argv[1]; kind = argv[2];
    validate = argc > 3 && !strcmp(argv[3], "--validate");
    if (!strcmp(kind, "summary")) {
        static const char *kinds[4] = {"pls", "logistic", "logistic-lbfgs", "svm"};
        int k;
        printf("build: %s, %d thread(s)\n", convrnn_build_info(),
#ifdef _OPENMP
               omp_get_max_threads()
#else
               1
#endif
        );
        for (k = 0; k < 4; k++) {
            char a[64], b[64];
            double mo, mp;
            int no, np;
            snprintf(a, sizeof a, "ours_%s.txt", kinds[k]);
            snprintf(b, sizeof b, "peer_%s.txt", kinds[k]);
            if (!median_file(dir, a, &mo, &no) || !median_file(dir, b, &mp, &np)) continue;
            printf("median %-8s ours %.3f s (%d runs), peer %.3f s (%d runs)\n", kinds[k], mo, no, mp, np);
            printf("speedup %s %.1f\n", kinds[k], mp / mo);
        }
        return 0;
    }
    if (!strcmp(kind, "pls")) {
        double *X = (double *)load(dir, "pls_X.f64", (size_t)PLS_N * PLS_P, 8), *Y = (double *)load(dir, "pls_Y.f64", (size_t)PLS_N * PLS_Q, 8);
        double *Xt = (double *)load(dir, "pls_Xt.f64", (size_t)PLS_T * PLS_P, 8), *pred = (double *)malloc(sizeof(double) * PLS_T * PLS_Q), t;
        convrnn_pls m;
        convrnn_pls_options o;
        convrnn_pls_options_default(&o); /* 25 components, sklearn NIPALS defaults */
        t = now();
        if (convrnn_pls_fit(&m, X, Y, PLS_N, PLS_P, PLS_Q, &o, &err) || convrnn_pls_predict(&m, Xt, PLS_T, pred, &err)) {
            fprintf(stderr, "bench_metrics: %s\n", err.msg);
            return 1;
        }
        t = now() - t;
        if (validate) {
            double *rp = (double *)load(dir, "ref_pls_pred.f64", (size_t)PLS_T * PLS_Q, 8), *rc = (double *)load(dir, "ref_pls_coef.f64", (size_t)PLS_P * PLS_Q, 8);
            ok &= agree("pls predictions", pred, rp, (size_t)PLS_T * PLS_Q, 1e-6);
            ok &= agree("pls coefficients", m.coef, rc, (size_t)PLS_P * PLS_Q, 1e-6);
            free(rp); free(rc);
        }
        convrnn_pls_free(&m);
        append_time(dir, kind, t);
        free(X); free(Y); free(Xt); free(pred);
    } else if (!strcmp(kind, "logistic") || !strcmp(kind, "logistic-lbfgs") || !strcmp(kind, "svm")) {
        double *X = (double *)load(dir, "dec_X.f64", (size_t)DEC_N * DEC_P, 8), *Xt = (double *)load(dir, "dec_Xt.f64", (size_t)DEC_T * DEC_P, 8);
        int *y = (int *)load(dir, "dec_y.i32", DEC_N, 4), svm = !strcmp(kind, "svm");
        double *out = (double *)malloc(sizeof(double) * DEC_T * DEC_C), t;
        convrnn_classifier c;
        convrnn_decoder_options o;
        convrnn_decoder_options_default(&o);
        o.kind = svm ? CONVRNN_DECODER_SVM : CONVRNN_DECODER_LOGISTIC;
        o.lambda = LAMBDA;
        o.C = SVM_C;
        o.tol = svm ? 1e-6 : 1e-8;
        t = now();
        if (convrnn_classifier_fit(&c, X, y, DEC_N, DEC_P, DEC_C, &o, &err) ||
            (svm ? convrnn_classifier_decision(&c, Xt, DEC_T, out, &err) : convrnn_classifier_proba(&c, Xt, DEC_T, out, &err))) {
            fprintf(stderr, "bench_metrics: %s\n", err.msg);
            return 1;
        }
        t = now() - t;
        if (validate) {
            int lb = !strcmp(kind, "logistic-lbfgs");
            char rn[64];
            double *r;
            snprintf(rn, sizeof rn, "ref_%s.f64", kind);
            r = (double *)load(dir, rn, (size_t)DEC_T * DEC_C, 8);
            ok &= agree(svm ? "svm decision values" : (lb ? "logistic (sklearn lbfgs)" : "logistic probabilities"), out, r,
                        (size_t)DEC_T * DEC_C, lb ? 1e-4 : 1e-6);
            free(r);
        }
        convrnn_classifier_free(&c);
        append_time(dir, kind, t);
        free(X); free(Xt); free(y); free(out);
    } else {
        fprintf(stderr, "bench_metrics: unknown kind '%s'\n", kind);
        return 2;
    }
    return ok ? 0 : 1;
}
