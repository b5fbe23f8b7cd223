/* Metrics against scikit-learn / SciPy / liblinear fixtures (tests/fixtures/metrics, written by
   gen_metrics.py there), plus unit and degenerate-input tests of the metrics API.
   Each fixture comparison prints its max abs and max rel (to max |ref|) error. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------ fixture container (CRMF) */
typedef struct fx_entry { char name[96]; int dtype, ndim; long long dims[8]; size_t count; void *data; } fx_entry;
typedef struct fx_file { int n; fx_entry *e; } fx_file;

static unsigned rd_u32(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24; }

static int fx_load(fx_file *f, const char *name) {
    const char *dirs[2] = {"tests/fixtures/metrics/", "fixtures/metrics/"};
    unsigned char *buf = NULL;
    long len = 0;
    size_t pos = 12;
    int d, i;
    memset(f, 0, sizeof *f);
    for (d = 0; d < 2 && !buf; d++) {
        char path[512];
        FILE *fp;
        snprintf(path, sizeof path, "%s%s", dirs[d], name);
        fp = fopen(path, "rb");
        if (!fp) continue;
        fseek(fp, 0, SEEK_END); len = ftell(fp); fseek(fp, 0, SEEK_SET);
        buf = (unsigned char *)malloc((size_t)len);
        if (!buf || fread(buf, 1, (size_t)len, fp) != (size_t)len) { free(buf); buf = NULL; }
        fclose(fp);
    }
    if (!buf || len < 12 || memcmp(buf, "CRMF", 4) || rd_u32(buf + 4) != 1) {
        fprintf(stderr, "cannot read fixture %s (regenerate with /usr/bin/python3 tests/fixtures/metrics/gen_metrics.py)\n", name);
        free(buf);
        return 0;
    }
    f->n = (int)rd_u32(buf + 8);
    f->e = (fx_entry *)calloc((size_t)f->n, sizeof(fx_entry));
    for (i = 0; i < f->n; i++) {
        fx_entry *e = &f->e[i];
        unsigned nl = rd_u32(buf + pos), k;
        size_t es, bytes;
        pos += 4;
        memcpy(e->name, buf + pos, nl < 95 ? nl : 95);
        pos += nl;
        e->dtype = (int)rd_u32(buf + pos); e->ndim = (int)rd_u32(buf + pos + 4);
        pos += 8;
        e->count = 1;
        for (k = 0; k < (unsigned)e->ndim; k++) {
            long long v;
            memcpy(&v, buf + pos, 8);
            e->dims[k] = v; e->count *= (size_t)v; pos += 8;
        }
        es = e->dtype == 0 ? 8 : 4;
        bytes = e->count * es;
        e->data = malloc(bytes ? bytes : 1);
        memcpy(e->data, buf + pos, bytes);
        pos += bytes;
    }
    free(buf);
    return 1;
}
static void fx_free(fx_file *f) {
    int i;
    for (i = 0; i < f->n; i++) free(f->e[i].data);
    free(f->e);
}
static fx_entry *fx_get(fx_file *f, const char *name) {
    int i;
    for (i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].name, name)) return &f->e[i];
    fprintf(stderr, "fixture entry %s missing\n", name);
    return NULL;
}
static double *fx_d(fx_file *f, const char *name) { fx_entry *e = fx_get(f, name); return e ? (double *)e->data : NULL; }
static int *fx_i(fx_file *f, const char *name) { fx_entry *e = fx_get(f, name); return e ? (int *)e->data : NULL; }
static size_t fx_n(fx_file *f, const char *name) { fx_entry *e = fx_get(f, name); return e ? e->count : 0; }

/* Compare arrays: every element must satisfy |a-b| <= atol + rtol |b| with atol = tol * max|ref|
   (a normwise relative tolerance); NaN must match NaN. Prints max abs and max rel. */
static void cmp(const char *what, const double *got, const double *ref, size_t n, double tol) {
    double mref = 0, mabs = 0, rel;
    size_t i, bad = 0, nanbad = 0;
    if (!got || !ref) { CHECKF(0, "%s: missing data", what); return; }
    for (i = 0; i < n; i++)
        if (ref[i] == ref[i] && fabs(ref[i]) > mref) mref = fabs(ref[i]);
    for (i = 0; i < n; i++) {
        if ((ref[i] != ref[i]) || (got[i] != got[i])) { if ((ref[i] != ref[i]) != (got[i] != got[i])) nanbad++; continue; }
        if (fabs(got[i] - ref[i]) > mabs) mabs = fabs(got[i] - ref[i]);
        if (fabs(got[i] - ref[i]) > tol * (mref > 0 ? mref : 1)) bad++;
    }
    rel = mref > 0 ? mabs / mref : mabs;
    printf("  %-40s n=%-6lu max abs %.3g  max rel %.3g\n", what, (unsigned long)n, mabs, rel);
    CHECKF(bad == 0 && nanbad == 0, "%s: %lu elements beyond rel %.1g (max rel %.3g), %lu NaN mismatches", what,
           (unsigned long)bad, tol, rel, (unsigned long)nanbad);
}
static void cmp1(const char *what, double got, double ref, double rtol) { cmp(what, &got, &ref, 1, rtol); }

/* ------------------------------------------------------------------ PLS fixtures */
static void test_pls_fixtures(void) {
    static const char *cases[] = {"wide", "tall", "pspace", "pls1", "constcol"};
    fx_file f;
    int c;
    if (!fx_load(&f, "pls.bin")) { CHECK(0); return; }
    printf("PLS vs sklearn %s\n", "1.2 PLSRegression(scale=False)");
    for (c = 0; c < 5; c++) {
        char key[128], lab[128];
        const char *nm = cases[c];
        fx_entry *ex, *ey, *et;
        int n, p, q, nt, K, alg;
        snprintf(key, sizeof key, "%s.X", nm); ex = fx_get(&f, key);
        snprintf(key, sizeof key, "%s.Y", nm); ey = fx_get(&f, key);
        snprintf(key, sizeof key, "%s.Xt", nm); et = fx_get(&f, key);
        snprintf(key, sizeof key, "%s.K", nm); K = fx_i(&f, key)[0];
        if (!ex || !ey || !et) { CHECK(0); continue; }
        n = (int)ex->dims[0]; p = (int)ex->dims[1]; q = (int)ey->dims[1]; nt = (int)et->dims[0];
        for (alg = 0; alg < 3; alg++) {
            /* alg 0: NIPALS with sklearn defaults vs sklearn defaults;
               alg 1: NIPALS at tol 1e-22 vs converged sklearn; alg 2: EXACT vs converged sklearn */
            convrnn_pls m;
            convrnn_pls_options o;
            convrnn_error e;
            double *pred = (double *)malloc(sizeof(double) * (size_t)nt * q), *tmp = (double *)malloc(sizeof(double) * (size_t)p * (K > q ? K : q));
            const char *ref = alg == 0 ? "default" : "exact";
            double tol = alg == 0 ? 1e-9 : 1e-7;
            convrnn_pls_options_default(&o);
            o.n_components = K;
            if (alg == 1) { o.tol = 1e-22; o.max_iter = 200000; }
            if (alg == 2) o.algorithm = CONVRNN_PLS_EXACT;
            CHECK(convrnn_pls_fit(&m, (double *)ex->data, (double *)ey->data, n, p, q, &o, &e) == CONVRNN_OK);
            CHECK(m.rank == K);
            CHECK(convrnn_pls_predict(&m, (double *)et->data, nt, pred, &e) == CONVRNN_OK);
            snprintf(lab, sizeof lab, "pls %s %s predictions", nm, alg == 2 ? "exact" : (alg ? "nipals-tight" : "nipals"));
            snprintf(key, sizeof key, "%s.%s.pred", nm, ref);
            cmp(lab, pred, fx_d(&f, key), (size_t)nt * q, tol);
            snprintf(lab, sizeof lab, "pls %s %s coef", nm, alg == 2 ? "exact" : (alg ? "nipals-tight" : "nipals"));
            snprintf(key, sizeof key, "%s.%s.coef", nm, ref);
            cmp(lab, m.coef, fx_d(&f, key), (size_t)p * q, tol);
            snprintf(lab, sizeof lab, "pls %s %s x_weights (signs)", nm, alg == 2 ? "exact" : (alg ? "nipals-tight" : "nipals"));
            snprintf(key, sizeof key, "%s.%s.x_weights", nm, ref);
            cmp(lab, m.x_weights, fx_d(&f, key), (size_t)K * p, alg == 0 ? 1e-9 : 1e-6);
            if (alg == 0) {
                int k, same = 1;
                int *nit;
                snprintf(key, sizeof key, "%s.default.x_loadings", nm);
                cmp("  x_loadings", m.x_loadings, fx_d(&f, key), (size_t)K * p, 1e-9);
                snprintf(key, sizeof key, "%s.default.y_loadings", nm);
                cmp("  y_loadings", m.y_loadings, fx_d(&f, key), (size_t)K * q, 1e-9);
                snprintf(key, sizeof key, "%s.default.x_rotations", nm);
                cmp("  x_rotations", m.x_rotations, fx_d(&f, key), (size_t)K * p, 1e-9);
                snprintf(key, sizeof key, "%s.default.n_iter", nm);
                nit = fx_i(&f, key);
                for (k = 0; k < K && nit; k++) same &= m.n_iter[k] == nit[k];
                CHECKF(same, "pls %s: power iteration counts differ from sklearn", nm);
            }
            convrnn_pls_free(&m);
            free(pred); free(tmp);
        }
    }
    fx_free(&f);
}

/* ------------------------------------------------------------------ statistics fixtures */
static void test_stats_fixtures(void) {
    fx_file f;
    int i, nw;
    double r, *x, *y;
    size_t n;
    convrnn_test_result res;
    if (!fx_load(&f, "stats.bin")) { CHECK(0); return; }
    printf("statistics vs scipy 1.10\n");
    x = fx_d(&f, "corr.x"); y = fx_d(&f, "corr.y"); n = fx_n(&f, "corr.x");
    cmp1("pearson", convrnn_pearson(x, y, n), fx_d(&f, "corr.pearson")[0], 1e-13);
    CHECK(convrnn_spearman(x, y, n, &r, NULL) == CONVRNN_OK);
    cmp1("spearman (ties)", r, fx_d(&f, "corr.spearman")[0], 1e-13);
    {
        double *rk = (double *)malloc(sizeof(double) * n);
        CHECK(convrnn_rankdata(x, n, rk, NULL) == CONVRNN_OK);
        cmp("rankdata (average ties)", rk, fx_d(&f, "corr.rank_x"), n, 0);
        free(rk);
    }
    for (i = 0; i < 2; i++) {
        char k1[64], k2[64], k3[64], lab[64];
        snprintf(k1, 64, "ttest%d.a", i); snprintf(k2, 64, "ttest%d.b", i); snprintf(k3, 64, "ttest%d.res", i);
        CHECK(convrnn_ttest_paired(fx_d(&f, k1), fx_d(&f, k2), (int)fx_n(&f, k1), &res, NULL) == CONVRNN_OK);
        snprintf(lab, 64, "ttest_rel %d statistic", i); cmp1(lab, res.statistic, fx_d(&f, k3)[0], 1e-12);
        snprintf(lab, 64, "ttest_rel %d p", i); cmp1(lab, res.pvalue, fx_d(&f, k3)[1], 1e-10);
    }
    nw = fx_i(&f, "wilcoxon.count")[0];
    for (i = 0; i < nw; i++) {
        char k1[64], k2[64], k3[64], lab[64];
        snprintf(k1, 64, "wilcoxon%d.a", i); snprintf(k2, 64, "wilcoxon%d.b", i); snprintf(k3, 64, "wilcoxon%d.res", i);
        CHECK(convrnn_wilcoxon(fx_d(&f, k1), fx_d(&f, k2), (int)fx_n(&f, k1), CONVRNN_WILCOXON_AUTO, &res, NULL) == CONVRNN_OK);
        snprintf(lab, 64, "wilcoxon %d (%s) statistic", i, res.exact ? "exact" : "normal"); cmp1(lab, res.statistic, fx_d(&f, k3)[0], 1e-14);
        snprintf(lab, 64, "wilcoxon %d (%s) p", i, res.exact ? "exact" : "normal"); cmp1(lab, res.pvalue, fx_d(&f, k3)[1], 1e-10);
    }
    /* the normal approximation forced at n = 14 vs scipy method='approx' (zero_method 'wilcox', no
       continuity correction): rank sums are exact in double, z is one sqrt and one division away,
       and norm_sf is checked to 1e-15 below, so z and p agree to a few ulps */
    nw = fx_i(&f, "wilcoxon_approx.count")[0];
    for (i = 0; i < nw; i++) {
        char k1[64], k2[64], k3[64], lab[64];
        double *ref;
        snprintf(k1, 64, "wilcoxon_approx%d.a", i); snprintf(k2, 64, "wilcoxon_approx%d.b", i); snprintf(k3, 64, "wilcoxon_approx%d.res", i);
        ref = fx_d(&f, k3);
        CHECK(convrnn_wilcoxon(fx_d(&f, k1), fx_d(&f, k2), (int)fx_n(&f, k1), CONVRNN_WILCOXON_APPROX, &res, NULL) == CONVRNN_OK);
        CHECK(!res.exact);
        CHECKF(ref && res.n == (int)ref[3], "wilcoxon approx %d: n = %d, scipy's non-zero count %g", i, res.n, ref ? ref[3] : -1.0);
        snprintf(lab, 64, "wilcoxon approx %d (n=14) statistic", i); cmp1(lab, res.statistic, ref[0], 0);
        snprintf(lab, 64, "wilcoxon approx %d (n=14) z", i); cmp1(lab, res.z, ref[2], 1e-14);
        snprintf(lab, 64, "wilcoxon approx %d (n=14) p", i); cmp1(lab, res.pvalue, ref[1], 1e-14);
    }
    for (i = 0; i < 2; i++) {
        char k1[64], k2[64], lab[64];
        fx_entry *e;
        snprintf(k1, 64, "friedman%d.data", i); snprintf(k2, 64, "friedman%d.res", i);
        e = fx_get(&f, k1);
        CHECK(e && convrnn_friedman((double *)e->data, (int)e->dims[0], (int)e->dims[1], &res, NULL) == CONVRNN_OK);
        snprintf(lab, 64, "friedman %d chi2", i); cmp1(lab, res.statistic, fx_d(&f, k2)[0], 1e-12);
        snprintf(lab, 64, "friedman %d p", i); cmp1(lab, res.pvalue, fx_d(&f, k2)[1], 1e-10);
    }
    {
        double out[64], *a, *ref;
        size_t k, m;
        a = fx_d(&f, "ppf.p"); m = fx_n(&f, "ppf.p"); ref = fx_d(&f, "ppf.v");
        for (k = 0; k < m; k++) out[k] = convrnn_norm_ppf(a[k]);
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "norm.ppf(%g)", a[k]); cmp1(lab, out[k], ref[k], 1e-14); }
        a = fx_d(&f, "norm.x"); m = fx_n(&f, "norm.x");
        for (k = 0; k < m; k++) out[k] = convrnn_norm_cdf(a[k]);
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "norm.cdf(%g)", a[k]); cmp1(lab, out[k], fx_d(&f, "norm.cdf")[k], fabs(a[k]) >= 8 ? 5e-14 : 1e-15); }
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "norm.sf(%g)", a[k]); cmp1(lab, convrnn_norm_sf(a[k]), fx_d(&f, "norm.sf")[k], fabs(a[k]) >= 8 ? 5e-14 : 1e-15); }
        a = fx_d(&f, "t.args"); m = fx_n(&f, "t.args") / 2;
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "t.sf(%g, %g)", a[2 * k], a[2 * k + 1]); cmp1(lab, convrnn_t_sf(a[2 * k], a[2 * k + 1]), fx_d(&f, "t.sf")[k], 1e-11); }
        a = fx_d(&f, "chi2.args"); m = fx_n(&f, "chi2.args") / 2;
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "chi2.sf(%g, %g)", a[2 * k], a[2 * k + 1]); cmp1(lab, convrnn_chi2_sf(a[2 * k], a[2 * k + 1]), fx_d(&f, "chi2.sf")[k], 1e-11); }
        a = fx_d(&f, "beta.args"); m = fx_n(&f, "beta.args") / 3;
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "betainc(%g, %g, %g)", a[3 * k], a[3 * k + 1], a[3 * k + 2]); cmp1(lab, convrnn_betainc(a[3 * k], a[3 * k + 1], a[3 * k + 2]), fx_d(&f, "beta.v")[k], 1e-11); }
        a = fx_d(&f, "gamma.args"); m = fx_n(&f, "gamma.args") / 2;
        for (k = 0; k < m; k++) {
            char lab[64];
            snprintf(lab, 64, "gammainc_p(%g, %g)", a[2 * k], a[2 * k + 1]); cmp1(lab, convrnn_gammainc_p(a[2 * k], a[2 * k + 1]), fx_d(&f, "gamma.p")[k], 1e-11);
            snprintf(lab, 64, "gammainc_q(%g, %g)", a[2 * k], a[2 * k + 1]); cmp1(lab, convrnn_gammainc_q(a[2 * k], a[2 * k + 1]), fx_d(&f, "gamma.q")[k], 1e-11);
        }
        a = fx_d(&f, "lgamma.x"); m = fx_n(&f, "lgamma.x");
        for (k = 0; k < m; k++) { char lab[64]; snprintf(lab, 64, "lgamma(%g)", a[k]); cmp1(lab, convrnn_lgamma(a[k]), fx_d(&f, "lgamma.v")[k], 1e-13); }
    }
    fx_free(&f);
}

/* ------------------------------------------------------------------ decoder fixtures */
/* logistic regression (z-scored or raw features) against the fixture's PREFIX.TAG.* entries:
   probabilities, coefficients and centred intercepts */
static void logreg_case(fx_file *f, const char *pre, const char *tag, int zscore, fx_entry *ex, fx_entry *et, int *y,
                        int C, double *out) {
    const int n = (int)ex->dims[0], p = (int)ex->dims[1], nt = (int)et->dims[0];
    convrnn_classifier m;
    convrnn_decoder_options o;
    convrnn_error e;
    char key[64], lab[96];
    double bc[16], mb = 0;
    int c;
    convrnn_decoder_options_default(&o);
    o.zscore = zscore;
    snprintf(key, 64, "%s.%s.lambda", pre, tag); o.lambda = fx_d(f, key)[0];
    o.tol = 1e-12;
    CHECK(convrnn_logreg_fit(&m, (double *)ex->data, y, n, p, C, &o, &e) == CONVRNN_OK);
    CHECK(m.converged);
    CHECK(convrnn_classifier_proba(&m, (double *)et->data, nt, out, &e) == CONVRNN_OK);
    snprintf(lab, 96, "logreg%s lambda=%g probabilities", zscore ? "" : " zscore=0", o.lambda);
    snprintf(key, 64, "%s.%s.proba", pre, tag); cmp(lab, out, fx_d(f, key), (size_t)nt * C, 1e-9);
    snprintf(lab, 96, "logreg%s lambda=%g coef", zscore ? "" : " zscore=0", o.lambda);
    snprintf(key, 64, "%s.%s.coef", pre, tag); cmp(lab, m.W, fx_d(f, key), (size_t)C * p, 1e-8);
    for (c = 0; c < C; c++) mb += m.b[c] / C;
    for (c = 0; c < C; c++) bc[c] = m.b[c] - mb;
    snprintf(lab, 96, "logreg%s lambda=%g intercept (centred)", zscore ? "" : " zscore=0", o.lambda);
    snprintf(key, 64, "%s.%s.intercept", pre, tag); cmp(lab, bc, fx_d(f, key), (size_t)C, 1e-8);
    convrnn_classifier_free(&m);
}
static void test_decoder_fixtures(void) {
    fx_file f;
    fx_entry *ex, *et;
    int n, p, nt, C, *y, *yt, t;
    double *out;
    convrnn_classifier m;
    convrnn_decoder_options o;
    convrnn_error e;
    static const char *lr[2] = {"lam0463", "lam005"}, *sv[2] = {"c001", "c1"};
    if (!fx_load(&f, "decoders.bin")) { CHECK(0); return; }
    printf("decoders vs sklearn LogisticRegression(newton-cg) / LinearSVC / liblinear-train\n");
    ex = fx_get(&f, "X"); et = fx_get(&f, "Xt");
    y = fx_i(&f, "y"); yt = fx_i(&f, "yt"); C = fx_i(&f, "C")[0];
    n = (int)ex->dims[0]; p = (int)ex->dims[1]; nt = (int)et->dims[0];
    out = (double *)malloc(sizeof(double) * (size_t)nt * C);
    for (t = 0; t < 2; t++) logreg_case(&f, "logreg", lr[t], 1, ex, et, y, C, out);
    for (t = 0; t < 2; t++) {
        char key[64], lab[96];
        int i, correct = 0;
        convrnn_decoder_options_default(&o);
        o.kind = CONVRNN_DECODER_SVM;
        snprintf(key, 64, "svm.%s.C", sv[t]); o.C = fx_d(&f, key)[0];
        o.tol = 1e-10;
        CHECK(convrnn_svm_fit(&m, (double *)ex->data, y, n, p, C, &o, &e) == CONVRNN_OK);
        CHECK(m.converged);
        CHECK(convrnn_classifier_decision(&m, (double *)et->data, nt, out, &e) == CONVRNN_OK);
        snprintf(lab, 96, "svm C=%g decision values", o.C);
        snprintf(key, 64, "svm.%s.decision", sv[t]); cmp(lab, out, fx_d(&f, key), (size_t)nt * C, 1e-8);
        for (i = 0; i < nt; i++) {
            int c, best = 0;
            for (c = 1; c < C; c++) if (out[(size_t)i * C + c] > out[(size_t)i * C + best]) best = c;
            correct += best == yt[i];
        }
        snprintf(lab, 96, "svm C=%g accuracy", o.C);
        snprintf(key, 64, "svm.%s.accuracy", sv[t]); cmp1(lab, (double)correct / nt, fx_d(&f, key)[0], 0);
        convrnn_classifier_free(&m);
    }
    { /* binary problem vs the liblinear command-line trainer */
        int *yb = fx_i(&f, "svmbin.y"), i;
        double *d = (double *)malloc(sizeof(double) * (size_t)nt), *o2 = (double *)malloc(sizeof(double) * (size_t)nt * 2);
        convrnn_decoder_options_default(&o);
        o.kind = CONVRNN_DECODER_SVM; o.C = fx_d(&f, "svmbin.C")[0]; o.tol = 1e-10;
        CHECK(convrnn_svm_fit(&m, (double *)ex->data, yb, n, p, 2, &o, &e) == CONVRNN_OK);
        CHECK(convrnn_classifier_decision(&m, (double *)et->data, nt, o2, &e) == CONVRNN_OK);
        for (i = 0; i < nt; i++) { d[i] = o2[2 * i + 1]; CHECK(o2[2 * i] == -o2[2 * i + 1]); }
        cmp("svm binary vs liblinear-train -s 1 -B 1", d, fx_d(&f, "svmbin.decision"), (size_t)nt, 1e-7);
        convrnn_classifier_free(&m);
        /* the bias option vs liblinear-train -B: -B -1 (no bias feature; the library's bias <= 0,
           checked at -1 and 0) and -B 2.5 (a regularised constant feature of value 2.5) */
        {
            static const char *bt[3] = {"Bnone", "Bnone", "B2p5"};
            int k;
            for (k = 0; k < 3; k++) {
                char key[64], lab[96];
                convrnn_decoder_options_default(&o);
                o.kind = CONVRNN_DECODER_SVM; o.C = fx_d(&f, "svmbin.C")[0]; o.tol = 1e-10;
                snprintf(key, 64, "svmbin.%s.bias", bt[k]); o.bias = k == 1 ? 0.0 : fx_d(&f, key)[0];
                CHECK(convrnn_svm_fit(&m, (double *)ex->data, yb, n, p, 2, &o, &e) == CONVRNN_OK);
                CHECK(m.converged);
                CHECK(convrnn_classifier_decision(&m, (double *)et->data, nt, o2, &e) == CONVRNN_OK);
                for (i = 0; i < nt; i++) d[i] = o2[2 * i + 1];
                snprintf(lab, 96, "svm binary bias=%g vs liblinear -B %g", o.bias, fx_d(&f, key)[0]);
                snprintf(key, 64, "svmbin.%s.decision", bt[k]); cmp(lab, d, fx_d(&f, key), (size_t)nt, 1e-7);
                snprintf(lab, 96, "svm binary bias=%g intercept", o.bias);
                snprintf(key, 64, "svmbin.%s.intercept", bt[k]); cmp1(lab, m.b[1], fx_d(&f, key)[0], 1e-7);
                convrnn_classifier_free(&m);
            }
        }
        /* zscore = 0: raw features, liblinear -B 1 */
        convrnn_decoder_options_default(&o);
        o.kind = CONVRNN_DECODER_SVM; o.C = fx_d(&f, "svmbin.C")[0]; o.tol = 1e-10; o.zscore = 0;
        CHECK(convrnn_svm_fit(&m, (double *)ex->data, yb, n, p, 2, &o, &e) == CONVRNN_OK);
        CHECK(m.converged);
        CHECK(convrnn_classifier_decision(&m, (double *)et->data, nt, o2, &e) == CONVRNN_OK);
        for (i = 0; i < nt; i++) d[i] = o2[2 * i + 1];
        cmp("svm binary zscore=0 vs liblinear -B 1 (raw)", d, fx_d(&f, "svmbin.raw.decision"), (size_t)nt, 1e-7);
        convrnn_classifier_free(&m);
        free(d); free(o2);
    }
    /* zscore = 0: logistic regression on the raw features */
    for (t = 0; t < 2; t++) logreg_case(&f, "logreg_raw", lr[t], 0, ex, et, y, C, out);
    free(out);
    fx_free(&f);
}

/* ------------------------------------------------------------------ I1 / OST fixtures */
static void test_behaviour_fixtures(void) {
    fx_file f;
    fx_entry *ep, *ec;
    int n, C, i, nimg, nb;
    double *i1, *o1, *o2;
    if (!fx_load(&f, "behaviour.bin")) { CHECK(0); return; }
    printf("I1 and OST vs a Python transcription of Brain-Score (scipy ppf, interp1d + fsolve)\n");
    ep = fx_get(&f, "i1.proba");
    n = (int)ep->dims[0]; C = fx_i(&f, "i1.C")[0];
    i1 = (double *)malloc(sizeof(double) * (size_t)n);
    CHECK(convrnn_i1_dprime((double *)ep->data, fx_i(&f, "i1.labels"), n, C, NULL, i1, NULL) == CONVRNN_OK);
    cmp("I1 d' (clip 5, NaN rules, absent object)", i1, fx_d(&f, "i1.ref"), (size_t)n, 1e-13);
    ec = fx_get(&f, "ost.curves");
    nimg = (int)ec->dims[0]; nb = (int)ec->dims[1];
    o1 = (double *)malloc(sizeof(double) * (size_t)nimg); o2 = (double *)malloc(sizeof(double) * (size_t)nimg);
    for (i = 0; i < nimg; i++) {
        o1[i] = convrnn_ost_image((double *)ec->data + (size_t)i * nb, fx_d(&f, "ost.times"), nb, fx_d(&f, "ost.thr")[i], CONVRNN_OST_ANCHOR_MAX_SO_FAR);
        o2[i] = convrnn_ost_image((double *)ec->data + (size_t)i * nb, fx_d(&f, "ost.times"), nb, fx_d(&f, "ost.thr")[i], CONVRNN_OST_ANCHOR_PREVIOUS_BIN);
    }
    cmp("OST anchor max-so-far (ms)", o1, fx_d(&f, "ost.max_so_far"), (size_t)nimg, 1e-12);
    cmp("OST anchor previous-bin (ms)", o2, fx_d(&f, "ost.previous"), (size_t)nimg, 1e-12);
    free(i1); free(o1); free(o2);
    fx_free(&f);
}

/* ------------------------------------------------------------------ neural predictivity / OST consistency fixtures */
static void test_neural_fixtures(void) {
    fx_file f;
    fx_entry *ef, *et, *em, *ex, *ey, *eo;
    convrnn_splits sp, so;
    convrnn_pls_options po;
    convrnn_error e;
    int n_steps, N, P, Q, B, S, map, alg, n, Sx, ddof;
    double *r, score, *per_split, *rs;
    if (!fx_load(&f, "neural.bin")) { CHECK(0); return; }
    printf("neural predictivity (FIXED, PER_BIN, static) vs PLSRegression + pearsonr; OST consistency vs spearmanr\n");
    ef = fx_get(&f, "np.features"); et = fx_get(&f, "np.target"); em = fx_get(&f, "np.mask");
    if (!ef || !et || !em) { CHECK(0); fx_free(&f); return; }
    n_steps = (int)ef->dims[0]; N = (int)ef->dims[1]; P = (int)ef->dims[2];
    Q = (int)et->dims[1]; B = (int)et->dims[2]; S = (int)em->dims[0];
    /* the Python side's exact splits: 1 train, 0 test, -1 unused */
    CHECK(convrnn_splits_from_mask(&sp, (int *)em->data, S, N, &e) == CONVRNN_OK);
    r = (double *)malloc(sizeof(double) * (size_t)S * Q * B);
    for (alg = 0; alg < 2; alg++)
        for (map = 0; map < 2; map++) {
            /* alg 0: NIPALS with sklearn's defaults (tol 1e-6, max_iter 500) against sklearn's defaults: the
               same iterations, so only rounding differs; alg 1: EXACT against sklearn at tol 1e-22 */
            char key[64], lab[96];
            convrnn_pls_options_default(&po);
            po.n_components = fx_i(&f, "np.K")[0];
            if (alg) po.algorithm = CONVRNN_PLS_EXACT;
            CHECK(convrnn_neural_predictivity((double *)ef->data, n_steps, N, P, fx_i(&f, "np.bin_steps"),
                                              (double *)et->data, Q, B, &sp, (convrnn_map_kind)map, &po, r, &e) == CONVRNN_OK);
            snprintf(key, sizeof key, "np.%s.r%s", map ? "per_bin" : "fixed", alg ? "_exact" : "");
            snprintf(lab, sizeof lab, "predictivity %s r (%s)", map ? "PER_BIN" : "FIXED", alg ? "exact" : "nipals");
            cmp(lab, r, fx_d(&f, key), (size_t)S * Q * B, 1e-9);
        }
    free(r);
    /* static score: NaN-skipping median over sites (one constant site: even count), mean over splits */
    ex = fx_get(&f, "static.X"); ey = fx_get(&f, "static.Y");
    if (ex && ey) {
        per_split = (double *)malloc(sizeof(double) * (size_t)S);
        rs = (double *)malloc(sizeof(double) * (size_t)S * (size_t)ey->dims[1]);
        convrnn_pls_options_default(&po);
        po.n_components = fx_i(&f, "np.K")[0];
        CHECK(convrnn_neural_score_static((double *)ex->data, N, (int)ex->dims[1], (double *)ey->data, (int)ey->dims[1],
                                          &sp, &po, &score, per_split, rs, &e) == CONVRNN_OK);
        cmp("static r (splits x sites)", rs, fx_d(&f, "static.r"), (size_t)S * (size_t)ey->dims[1], 1e-9);
        cmp("static per-split median", per_split, fx_d(&f, "static.per_split"), (size_t)S, 1e-9);
        cmp1("static score", score, fx_d(&f, "static.score")[0], 1e-9);
        free(per_split); free(rs);
    } else CHECK(0);
    convrnn_splits_free(&sp);
    /* OST consistency: hand-made OSTs with NaN, ties, finite values outside the test sets, a split with one
       common image and a split with constant model OSTs (both NaN) */
    eo = fx_get(&f, "ostc.model"); em = fx_get(&f, "ostc.mask");
    if (eo && em) {
        double rho[16], fr[16];
        int cnt[16], k;
        const double *sm = fx_d(&f, "ostc.summary");
        Sx = (int)eo->dims[0]; n = (int)eo->dims[1];
        CHECK(Sx <= 16);
        CHECK(convrnn_splits_from_mask(&so, (int *)em->data, Sx, n, &e) == CONVRNN_OK);
        for (ddof = 0; ddof < 2; ddof++) {
            convrnn_ost_summary su;
            CHECK(convrnn_ost_consistency((double *)eo->data, fx_d(&f, "ostc.it"), &so, ddof, rho, fr, cnt, &su, &e) == CONVRNN_OK);
            if (ddof == 1) {
                cmp("OST consistency per-split Spearman rho", rho, fx_d(&f, "ostc.rho"), (size_t)Sx, 1e-14);
                cmp("OST consistency per-split fraction", fr, fx_d(&f, "ostc.fraction"), (size_t)Sx, 1e-15);
                for (k = 0; k < Sx; k++) CHECKF(cnt[k] == fx_i(&f, "ostc.count")[k], "split %d count %d vs %d", k, cnt[k], fx_i(&f, "ostc.count")[k]);
                cmp1("OST consistency mean", su.consistency, sm[0], 1e-14);
                cmp1("OST consistency s.e.m. (ddof 1)", su.consistency_sem, sm[1], 1e-13);
                cmp1("OST fraction solved", su.fraction_solved, sm[2], 1e-15);
                CHECK(su.splits_used == (int)sm[3]);
            } else
                cmp1("OST consistency s.e.m. (ddof 0)", su.consistency_sem, sm[4], 1e-13);
        }
        convrnn_splits_free(&so);
    } else CHECK(0);
    fx_free(&f);
}

/* ------------------------------------------------------------------ unit tests */
static void test_aggregates(void) {
    double v[7] = {3, NAN, 1, 2, NAN, 10, -1}, med;
    size_t used;
    double c1[4] = {2, 2, 2, 2}, c2[4] = {1, 2, 3, 4}, allnan[3] = {NAN, NAN, NAN};
    CHECK(convrnn_nanmedian(v, 7, &med, &used, NULL) == CONVRNN_OK);
    CHECK(med == 2 && used == 5);
    CHECK(convrnn_nanmedian(v, 4, &med, &used, NULL) == CONVRNN_OK); /* 3, 1, 2 */
    CHECK(med == 2 && used == 3);
    CHECK(convrnn_nanmedian(c2, 4, &med, NULL, NULL) == CONVRNN_OK && med == 2.5);
    CHECK(convrnn_nanmedian(allnan, 3, &med, &used, NULL) == CONVRNN_OK && med != med && used == 0);
    CHECK_CLOSE(convrnn_nanmean(v, 7, &used), 3.0, 0, 1e-15);
    CHECK(used == 5);
    CHECK(convrnn_nanmean(allnan, 3, &used) != convrnn_nanmean(allnan, 3, &used) && used == 0);
    CHECK_CLOSE(convrnn_nansem(c2, 4, 0, NULL), sqrt(1.25) / 2, 0, 1e-15);
    CHECK_CLOSE(convrnn_nansem(c2, 4, 1, NULL), sqrt(5.0 / 3.0) / 2, 0, 1e-15);
    CHECK(convrnn_pearson(c1, c2, 4) != convrnn_pearson(c1, c2, 4)); /* constant -> NaN */
    CHECK_CLOSE(convrnn_pearson(c2, c2, 4), 1.0, 0, 1e-15);
    CHECK(convrnn_pearson(c2, c2, 1) != convrnn_pearson(c2, c2, 1));
    CHECK(convrnn_pearson(v, c2, 4) != convrnn_pearson(v, c2, 4)); /* NaN propagates */
    CHECK_CLOSE(convrnn_spearman_brown(0.5, 2), 2.0 / 3.0, 0, 1e-15);
    CHECK_CLOSE(convrnn_spearman_brown(0.25, 4), 0.5714285714285714, 0, 1e-15);
    CHECK(convrnn_bonferroni(0.02, 3) == 0.06 && convrnn_bonferroni(0.4, 3) == 1.0);
    CHECK(convrnn_rankdata(v, 7, c1, NULL) == CONVRNN_ERR_NOT_FINITE);
    /* named normalisations */
    CHECK_CLOSE(convrnn_ceiling_bs2019(0.4, 0.8), 0.25, 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_bs2026(0.4, 0.8), 0.2, 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_neuronwise(0.5, 0.5), 0.5, 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_linear(0.2, 0.8), 0.25, 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_r_nc(0.5, 0.6, 0.6), 0.5 / (1.2 / 1.6), 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_ev_nc(0.5, 0.6, 0.6), pow(0.5 / 0.75, 2), 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_r_nc_neuron(0.5, 0.6), 0.5 / sqrt(0.75), 0, 1e-15);
    CHECK_CLOSE(convrnn_ceiling_split_ratio_sb(0.3, 0.5, 0.8), convrnn_spearman_brown(0.3 / sqrt(0.4), 2), 0, 1e-15);
    CHECK(convrnn_ceiling_r_nc(0.5, -0.2, 0.6) != convrnn_ceiling_r_nc(0.5, -0.2, 0.6)); /* SB product <= 0 */
    CHECK(convrnn_ceiling_split_ratio_sb(0.5, -0.2, 0.6) != convrnn_ceiling_split_ratio_sb(0.5, -0.2, 0.6));
}

static void test_stats_degenerate(void) {
    double a[5] = {1, 2, 3, 4, 5}, zero[5] = {0, 0, 0, 0, 0}, d[6] = {1, 1, 1, 1, 1, 1};
    convrnn_test_result r;
    convrnn_error e;
    CHECK(convrnn_wilcoxon(zero, NULL, 5, CONVRNN_WILCOXON_AUTO, &r, &e) == CONVRNN_ERR_ARG);
    CHECK(strstr(e.msg, "zero") != NULL);
    CHECK(convrnn_ttest_paired(a, a, 1, &r, &e) == CONVRNN_ERR_SHAPE);
    CHECK(convrnn_friedman(a, 5, 2, &r, &e) == CONVRNN_ERR_SHAPE);
    CHECK(convrnn_ttest_paired(a, zero, 5, &r, NULL) == CONVRNN_OK && r.df == 4);
    /* constant non-zero differences: infinite t, p = 0 */
    CHECK(convrnn_ttest_paired(d, zero, 5, &r, NULL) == CONVRNN_OK && r.statistic == INFINITY && r.pvalue == 0);
    /* exact mode requested with zeros: scipy switches to the approximation */
    {
        double x[6] = {0.5, -1.0, 0.0, 2.0, 3.0, -4.0};
        CHECK(convrnn_wilcoxon(x, NULL, 6, CONVRNN_WILCOXON_EXACT, &r, NULL) == CONVRNN_OK && !r.exact && r.n == 5);
        a[0] = NAN;
        CHECK(convrnn_wilcoxon(a, NULL, 5, CONVRNN_WILCOXON_AUTO, &r, &e) == CONVRNN_ERR_NOT_FINITE);
    }
    /* the exact distribution costs n^3: asked for with n > 1000, an error (before any work) */
    {
        double *big = (double *)malloc(sizeof(double) * 1001);
        int i;
        for (i = 0; i < 1001; i++) big[i] = i % 2 ? i + 1.0 : -(i + 1.0);
        CHECK(convrnn_wilcoxon(big, NULL, 1001, CONVRNN_WILCOXON_EXACT, &r, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "1000"));
        CHECK(convrnn_wilcoxon(big, NULL, 1001, CONVRNN_WILCOXON_AUTO, &r, &e) == CONVRNN_OK && !r.exact);
        free(big);
    }
    /* I1 from probabilities that are NaN or outside [0, 1]; a time average over a NaN response */
    {
        double P[6] = {0.7, 0.2, 0.1, 0.1, 0.8, 0.1}, i1[2], resp[2 * 3] = {1, 2, 3, 4, 5, 6}, bins[3] = {70, 80, 90}, out[2];
        int lab[2] = {0, 1};
        CHECK(convrnn_i1_dprime(P, lab, 2, 3, NULL, i1, &e) == CONVRNN_OK);
        P[4] = NAN;
        CHECK(convrnn_i1_dprime(P, lab, 2, 3, NULL, i1, &e) == CONVRNN_ERR_NOT_FINITE && strstr(e.msg, "image 1, class 1"));
        P[4] = 1.5;
        CHECK(convrnn_i1_dprime(P, lab, 2, 3, NULL, i1, &e) == CONVRNN_ERR_ARG);
        P[4] = -0.1;
        CHECK(convrnn_i1_dprime(P, lab, 2, 3, NULL, i1, &e) == CONVRNN_ERR_ARG);
        CHECK(convrnn_time_average(resp, 2, 1, 3, bins, 70, 90, out, &e) == CONVRNN_OK && out[0] == 1.5 && out[1] == 4.5);
        resp[5] = NAN;   /* in a bin outside [70, 90): not read */
        CHECK(convrnn_time_average(resp, 2, 1, 3, bins, 70, 90, out, &e) == CONVRNN_OK && out[1] == 4.5);
        resp[4] = NAN;
        CHECK(convrnn_time_average(resp, 2, 1, 3, bins, 70, 90, out, &e) == CONVRNN_ERR_NOT_FINITE && strstr(e.msg, "image 1, site 0, bin 1"));
    }
}

static void test_splits(void) {
    convrnn_splits s;
    convrnn_error e;
    int *strata, *mask, i, k, ok;
    /* sklearn sizes: train_size 0.9 -> floor; test_size 0.1 -> ceil */
    CHECK(convrnn_splits_shuffle(&s, 2560, 10, 0.9, 0, NULL, 1, &e) == CONVRNN_OK);
    CHECK(s.train_start[1] == 2304 && s.test_start[1] == 256 && s.train_start[10] == 23040);
    convrnn_splits_free(&s);
    CHECK(convrnn_splits_shuffle(&s, 1318, 10, 0, 0.1, NULL, 1, &e) == CONVRNN_OK);
    CHECK(s.test_start[1] == 132 && s.train_start[1] == 1186);
    convrnn_splits_free(&s);
    CHECK(convrnn_splits_shuffle(&s, 1320, 10, 0, 0.1, NULL, 1, &e) == CONVRNN_OK);
    CHECK(s.test_start[1] == 132 && s.train_start[1] == 1188);
    /* disjoint, in range, ascending; different splits differ */
    mask = (int *)malloc(sizeof(int) * 10 * 1320);
    convrnn_splits_to_mask(&s, mask);
    ok = 1;
    for (k = 0; k < 10; k++) {
        int ntr = 0, nte = 0;
        for (i = 0; i < 1320; i++) { ntr += mask[k * 1320 + i] == 1; nte += mask[k * 1320 + i] == 0; }
        ok &= ntr == 1188 && nte == 132;
        for (i = 1; i < 132; i++) ok &= s.test[s.test_start[k] + i] > s.test[s.test_start[k] + i - 1];
    }
    CHECK(ok);
    CHECK(memcmp(s.test, s.test + 132, 132 * sizeof(int)) != 0);
    { /* same seed, same splits; mask round trip */
        convrnn_splits s2, s3;
        CHECK(convrnn_splits_shuffle(&s2, 1320, 10, 0, 0.1, NULL, 1, &e) == CONVRNN_OK);
        CHECK(!memcmp(s.test, s2.test, sizeof(int) * 1320) && !memcmp(s.train, s2.train, sizeof(int) * 11880));
        CHECK(convrnn_splits_from_mask(&s3, mask, 10, 1320, &e) == CONVRNN_OK);
        CHECK(!memcmp(s.test, s3.test, sizeof(int) * 1320) && !memcmp(s.train, s3.train, sizeof(int) * 11880));
        convrnn_splits_free(&s2); convrnn_splits_free(&s3);
        /* index lists (here: the shuffled split's own lists) give the same splits */
        CHECK(convrnn_splits_from_lists(&s2, 1320, 10, s.train, s.train_start, s.test, s.test_start, &e) == CONVRNN_OK);
        CHECK(!memcmp(s.test, s2.test, sizeof(int) * 1320) && !memcmp(s.train, s2.train, sizeof(int) * 11880));
        convrnn_splits_free(&s2);
        {
            int tr[3] = {0, 1, 2}, te[2] = {3, 2};
            size_t a[2] = {0, 3}, b[2] = {0, 2};
            CHECK(convrnn_splits_from_lists(&s2, 5, 1, tr, a, te, b, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "both") != NULL);
            te[1] = 7;
            CHECK(convrnn_splits_from_lists(&s2, 5, 1, tr, a, te, b, &e) == CONVRNN_ERR_ARG);
        }
        convrnn_splits_free(&s);
        CHECK(convrnn_splits_shuffle(&s2, 1320, 10, 0, 0.1, NULL, 2, &e) == CONVRNN_OK);
        CHECK(convrnn_splits_shuffle(&s3, 1320, 10, 0, 0.1, NULL, 1, &e) == CONVRNN_OK);
        CHECK(memcmp(s2.test, s3.test, sizeof(int) * 1320) != 0);
        convrnn_splits_free(&s2); convrnn_splits_free(&s3);
    }
    /* stratified: 64 objects x 40 images, 90/10 -> 36 / 4 of every object in every split */
    strata = (int *)malloc(sizeof(int) * 2560);
    for (i = 0; i < 2560; i++) strata[i] = i % 64;
    CHECK(convrnn_splits_shuffle(&s, 2560, 10, 0.9, 0, strata, 1, &e) == CONVRNN_OK);
    ok = 1;
    for (k = 0; k < 10; k++) {
        int cnt[64] = {0};
        size_t t;
        for (t = s.test_start[k]; t < s.test_start[k + 1]; t++) cnt[strata[s.test[t]]]++;
        for (i = 0; i < 64; i++) ok &= cnt[i] == 4;
    }
    CHECK(ok);
    convrnn_splits_free(&s);
    /* uneven classes: sizes still exact, each class on both sides */
    for (i = 0; i < 103; i++) strata[i] = i < 50 ? 0 : (i < 90 ? 1 : 2);
    CHECK(convrnn_splits_shuffle(&s, 103, 5, 0, 0.2, strata, 3, &e) == CONVRNN_OK);
    CHECK(s.test_start[1] == 21 && s.train_start[1] == 82);
    ok = 1;
    for (k = 0; k < 5; k++) {
        int cnt[3] = {0, 0, 0};
        size_t t;
        for (t = s.test_start[k]; t < s.test_start[k + 1]; t++) cnt[strata[s.test[t]]]++;
        ok &= cnt[0] >= 10 && cnt[0] <= 11 && cnt[1] >= 8 && cnt[1] <= 9 && cnt[2] >= 2 && cnt[2] <= 3;
    }
    CHECK(ok);
    convrnn_splits_free(&s);
    /* any class ids (gaps, INT_MAX): the classes are the distinct ids in ascending order, so the
       splits equal those of the ranks 0, 1, 2 */
    {
        int *ids = (int *)malloc(sizeof(int) * 103);
        convrnn_splits s2;
        for (i = 0; i < 103; i++) ids[i] = strata[i] == 0 ? 7 : strata[i] == 1 ? 1000 : 2147483647;
        CHECK(convrnn_splits_shuffle(&s, 103, 5, 0, 0.2, strata, 3, &e) == CONVRNN_OK);
        CHECK(convrnn_splits_shuffle(&s2, 103, 5, 0, 0.2, ids, 3, &e) == CONVRNN_OK);
        CHECK(s.test_start[5] == s2.test_start[5] && s.train_start[5] == s2.train_start[5] &&
              !memcmp(s.test, s2.test, sizeof(int) * s.test_start[5]) && !memcmp(s.train, s2.train, sizeof(int) * s.train_start[5]));
        convrnn_splits_free(&s); convrnn_splits_free(&s2);
        ids[0] = 2147483646;   /* a class of one member, named by its id */
        CHECK(convrnn_splits_shuffle(&s, 103, 5, 0, 0.2, ids, 3, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "class 2147483646"));
        free(ids);
    }
    /* errors */
    strata[0] = 5; /* class 5 has one member */
    CHECK(convrnn_splits_shuffle(&s, 103, 5, 0, 0.2, strata, 3, &e) == CONVRNN_ERR_ARG);
    CHECK(strstr(e.msg, "class 5") != NULL);
    for (i = 0; i < 20; i++) strata[i] = i % 10;
    CHECK(convrnn_splits_shuffle(&s, 20, 5, 0, 0.2, strata, 3, &e) == CONVRNN_ERR_ARG); /* 4 test < 10 classes */
    CHECK(convrnn_splits_shuffle(&s, 20, 5, 0.9, 0.2, NULL, 3, &e) == CONVRNN_ERR_ARG);
    for (i = 0; i < 20; i++) mask[i] = 1;
    CHECK(convrnn_splits_from_mask(&s, mask, 1, 20, &e) == CONVRNN_ERR_ARG); /* no test item */
    free(strata); free(mask);
}

static void test_ost_units(void) {
    double t[6] = {70, 80, 90, 100, 110, 120};
    double d1[6] = {0.1, 0.5, 0.3, 1.2, 2.0, 3.0};
    double d2[6] = {NAN, NAN, 2.0, 3.0, 4.0, 5.0};
    int lay[19], i, ok;
    /* threshold 1.0: hit at 100 (1.2). max-so-far anchor (80, 0.5); previous-bin anchor (90, 0.3) */
    CHECK_CLOSE(convrnn_ost_image(d1, t, 6, 1.0, CONVRNN_OST_ANCHOR_MAX_SO_FAR), 80 + 0.5 * 20 / 0.7, 0, 1e-14);
    CHECK_CLOSE(convrnn_ost_image(d1, t, 6, 1.0, CONVRNN_OST_ANCHOR_PREVIOUS_BIN), 90 + 0.7 * 10 / 0.9, 0, 1e-14);
    CHECK(convrnn_ost_image(d1, t, 6, 0.1, CONVRNN_OST_ANCHOR_MAX_SO_FAR) == 70); /* inclusive, first bin */
    CHECK(convrnn_ost_image(d1, t, 6, 3.5, CONVRNN_OST_ANCHOR_MAX_SO_FAR) != convrnn_ost_image(d1, t, 6, 3.5, CONVRNN_OST_ANCHOR_MAX_SO_FAR));
    CHECK(convrnn_ost_image(d1, t, 6, NAN, CONVRNN_OST_ANCHOR_MAX_SO_FAR) != convrnn_ost_image(d1, t, 6, NAN, CONVRNN_OST_ANCHOR_MAX_SO_FAR));
    CHECK(convrnn_ost_image(d2, t, 6, 1.0, CONVRNN_OST_ANCHOR_MAX_SO_FAR) == 90); /* NaN bins skipped, no anchor */
    CHECK_CLOSE(convrnn_ost_image(d2, t, 6, 2.5, CONVRNN_OST_ANCHOR_MAX_SO_FAR), 95, 0, 1e-14);
    { /* infinite d': the interpolation's limits (an anchor of -inf: the hit's bin; a hit of +inf: the anchor) */
        double d3[6] = {-INFINITY, 0.5, 2.0, 3.0, 4.0, 5.0}, d4[6] = {-INFINITY, -INFINITY, INFINITY, 3.0, 4.0, 5.0};
        double d5[6] = {0.2, INFINITY, 2.0, 3.0, 4.0, 5.0};
        CHECK(convrnn_ost_image(d3, t, 6, -1.0, CONVRNN_OST_ANCHOR_MAX_SO_FAR) == 80);
        CHECK(convrnn_ost_image(d3, t, 6, -1.0, CONVRNN_OST_ANCHOR_PREVIOUS_BIN) == 80);
        CHECK_CLOSE(convrnn_ost_image(d3, t, 6, 1.0, CONVRNN_OST_ANCHOR_MAX_SO_FAR), 80 + 0.5 * 10 / 1.5, 0, 1e-14);
        CHECK(convrnn_ost_image(d4, t, 6, 1.0, CONVRNN_OST_ANCHOR_MAX_SO_FAR) == 90);
        CHECK(convrnn_ost_image(d4, t, 6, INFINITY, CONVRNN_OST_ANCHOR_MAX_SO_FAR) == 90);
        CHECK(convrnn_ost_image(d5, t, 6, 1.0, CONVRNN_OST_ANCHOR_MAX_SO_FAR) == 70);
        CHECK(convrnn_ost_image(d5, t, 6, INFINITY, CONVRNN_OST_ANCHOR_PREVIOUS_BIN) == 80);
    }
    /* uniform map: k = T is the identity; k = 3 over 19 bins: blocks 7, 6, 6 */
    CHECK(convrnn_ost_uniform_map(19, 19, lay, NULL) == CONVRNN_OK);
    ok = 1;
    for (i = 0; i < 19; i++) ok &= lay[i] == i;
    CHECK(ok);
    CHECK(convrnn_ost_uniform_map(3, 19, lay, NULL) == CONVRNN_OK);
    CHECK(lay[0] == 0 && lay[6] == 0 && lay[7] == 1 && lay[12] == 1 && lay[13] == 2 && lay[18] == 2);
    { /* graded map: k = T equals the uniform map; proportions; no duplicates; deterministic */
        int units[19], k;
        convrnn_graded_map g, g2;
        for (k = 0; k < 19; k++) units[k] = 50 + k;
        CHECK(convrnn_ost_graded_map(&g, 19, units, 19, 20, 7, NULL) == CONVRNN_OK);
        ok = g.budget == 20;
        for (i = 0; i < 19 * 20; i++) ok &= g.layer[i] == i / 20;
        CHECK(ok);
        convrnn_graded_map_free(&g);
        units[0] = 30; units[1] = 40; units[2] = 45;
        CHECK(convrnn_ost_graded_map(&g, 3, units, 5, 0, 7, NULL) == CONVRNN_OK); /* u = 0, .5, 1, 1.5, 2 */
        CHECK(g.budget == 30);
        {
            int cnt[5][3] = {{0}}, dup = 0, j, a;
            for (j = 0; j < 5; j++)
                for (i = 0; i < 30; i++) {
                    cnt[j][g.layer[j * 30 + i]]++;
                    for (a = 0; a < i; a++) dup += g.layer[j * 30 + a] == g.layer[j * 30 + i] && g.unit[j * 30 + a] == g.unit[j * 30 + i];
                }
            CHECK(cnt[0][0] == 30 && cnt[1][0] == 15 && cnt[1][1] == 15 && cnt[2][1] == 30 && cnt[3][1] == 15 && cnt[3][2] == 15 && cnt[4][2] == 30);
            CHECK(dup == 0);
        }
        CHECK(convrnn_ost_graded_map(&g2, 3, units, 5, 0, 7, NULL) == CONVRNN_OK);
        CHECK(!memcmp(g.unit, g2.unit, sizeof(int) * 150));
        {
            double *L0 = (double *)malloc(sizeof(double) * 4 * 30), *L1 = (double *)malloc(sizeof(double) * 4 * 40),
                   *L2 = (double *)malloc(sizeof(double) * 4 * 45), *out = (double *)malloc(sizeof(double) * 5 * 4 * 30);
            const double *Ls[3];
            int img;
            for (i = 0; i < 120; i++) L0[i] = 1000 + i;
            for (i = 0; i < 160; i++) L1[i] = 2000 + i;
            for (i = 0; i < 180; i++) L2[i] = 3000 + i;
            Ls[0] = L0; Ls[1] = L1; Ls[2] = L2;
            CHECK(convrnn_ost_graded_features(&g, Ls, units, 3, 4, out, NULL) == CONVRNN_OK);
            ok = 1;
            for (k = 0; k < 5; k++)
                for (img = 0; img < 4; img++)
                    for (i = 0; i < 30; i++) {
                        int l = g.layer[k * 30 + i], u = g.unit[k * 30 + i];
                        ok &= out[(k * 4 + img) * 30 + i] == (l + 1) * 1000 + img * units[l] + u;
                    }
            CHECK(ok);
            free(L0); free(L1); free(L2); free(out);
        }
        convrnn_graded_map_free(&g); convrnn_graded_map_free(&g2);
        CHECK(convrnn_ost_graded_map(&g, 3, units, 5, 100, 7, NULL) == CONVRNN_ERR_ARG); /* budget > smallest */
    }
}

/* ------------------------------------------------------------------ degenerate PLS / decoders */
static void test_pls_degenerate(void) {
    convrnn_pls m;
    convrnn_pls_options o;
    convrnn_error e;
    convrnn_rng r;
    double X[40 * 6], Y[40 * 3], pred[40 * 3];
    int i, j, alg;
    convrnn_rng_seed(&r, 3);
    /* rank 2: columns 2..5 are combinations of columns 0, 1 */
    for (i = 0; i < 40; i++) {
        double a = convrnn_rng_normal(&r), b = convrnn_rng_normal(&r);
        X[i * 6 + 0] = a; X[i * 6 + 1] = b; X[i * 6 + 2] = a + b; X[i * 6 + 3] = a - 2 * b; X[i * 6 + 4] = 3 * a; X[i * 6 + 5] = 0.5 * b;
        Y[i * 3 + 0] = a + 0.1 * convrnn_rng_normal(&r); Y[i * 3 + 1] = b - a; Y[i * 3 + 2] = 7.0; /* constant target */
    }
    /* more components asked for than X can have: the fit stops at its rank (no allocation for the rest) */
    convrnn_pls_options_default(&o);
    o.n_components = 2147483647;
    CHECKF(convrnn_pls_fit(&m, X, Y, 40, 6, 3, &o, &e) == CONVRNN_OK && m.rank == 2, "%s", e.msg);
    convrnn_pls_free(&m);
    /* data beyond the supported scale: an error, not a fit of no components (within it, 1e+-50,
       the same rank) */
    {
        static const double sc[4] = { 1e75, 1e-75, 1e50, 1e-50 };
        double Xs[40 * 6], Ys[40 * 3];
        int k;
        for (k = 0; k < 4; k++) {
            for (i = 0; i < 240; i++) Xs[i] = X[i] * sc[k];
            CHECKF(convrnn_pls_fit(&m, Xs, Y, 40, 6, 3, NULL, &e) == (k < 2 ? CONVRNN_ERR_ARG : CONVRNN_OK), "X scale %g: %s", sc[k], e.msg);
            if (k >= 2) { CHECKF(m.rank == 2, "X scale %g: rank %d (stop %d)", sc[k], m.rank, (int)m.stop_reason); convrnn_pls_free(&m); }
            if (k % 2) continue;   /* a small Y follows scikit-learn: columns below 10 eps count as zero */
            for (i = 0; i < 120; i++) Ys[i] = (Y[i] - (i % 3 == 2 ? 7.0 : 0)) * sc[k];
            CHECKF(convrnn_pls_fit(&m, X, Ys, 40, 6, 3, NULL, &e) == (k < 2 ? CONVRNN_ERR_ARG : CONVRNN_OK), "Y scale %g: %s", sc[k], e.msg);
            if (k >= 2) { CHECK(m.rank == 2); convrnn_pls_free(&m); }
        }
    }
    for (alg = 0; alg < 2; alg++) {
        convrnn_pls_options_default(&o);
        o.algorithm = alg ? CONVRNN_PLS_EXACT : CONVRNN_PLS_NIPALS;
        CHECK(convrnn_pls_fit(&m, X, Y, 40, 6, 3, &o, &e) == CONVRNN_OK);
        CHECKF(m.rank == 2 && m.stop_reason != CONVRNN_PLS_STOP_NONE, "rank %d reason %d", m.rank, m.stop_reason);
        CHECK(convrnn_pls_predict(&m, X, 40, pred, &e) == CONVRNN_OK);
        {
            int fin = 1, cst = 1;
            double r1;
            for (i = 0; i < 120; i++) fin &= convrnn__m_isfinite(pred[i]);
            for (i = 0; i < 40; i++) cst &= pred[i * 3 + 2] == 7.0;
            CHECK(fin);
            CHECK(cst); /* the constant target is predicted as its training mean exactly */
            /* X spans (a, b) exactly, so target 1 (b - a) is fitted exactly */
            r1 = 0;
            for (i = 0; i < 40; i++) r1 = fmax(r1, fabs(pred[i * 3 + 1] - (X[i * 6 + 1] - X[i * 6])));
            CHECKF(r1 < 1e-10, "exact fit error %g", r1);
            {
                double col[40];
                for (i = 0; i < 40; i++) col[i] = pred[i * 3 + 2];
                CHECK(convrnn_pearson(col, Y + 2, 40) != convrnn_pearson(col, Y + 2, 40)); /* -> NaN, skipped by medians */
            }
        }
        convrnn_pls_free(&m);
    }
    /* fewer images than components: 5 images, 25 components -> rank <= 4 */
    convrnn_pls_options_default(&o);
    CHECK(convrnn_pls_fit(&m, X, Y, 5, 6, 2, &o, &e) == CONVRNN_OK);
    CHECKF(m.rank >= 1 && m.rank <= 4 && m.stop_reason != CONVRNN_PLS_STOP_NONE, "rank %d", m.rank);
    convrnn_pls_free(&m);
    /* all-constant Y: no component; prediction is the mean */
    for (i = 0; i < 40 * 3; i++) Y[i] = 2.0;
    CHECK(convrnn_pls_fit(&m, X, Y, 40, 6, 3, &o, &e) == CONVRNN_OK);
    CHECK(m.rank == 0 && m.stop_reason == CONVRNN_PLS_STOP_Y_RESIDUAL);
    CHECK(convrnn_pls_predict(&m, X, 40, pred, &e) == CONVRNN_OK && pred[0] == 2.0 && pred[119] == 2.0);
    convrnn_pls_free(&m);
    /* NaN input, bad shapes, bad options */
    X[13] = NAN;
    CHECK(convrnn_pls_fit(&m, X, Y, 40, 6, 3, &o, &e) == CONVRNN_ERR_NOT_FINITE);
    CHECK(strstr(e.msg, "X[2][1]") != NULL);
    X[13] = 0;
    Y[5] = INFINITY;
    CHECK(convrnn_pls_fit(&m, X, Y, 40, 6, 3, &o, &e) == CONVRNN_ERR_NOT_FINITE);
    CHECK(convrnn_pls_fit(&m, X, Y, 0, 6, 3, &o, &e) == CONVRNN_ERR_SHAPE);
    o.n_components = 0;
    Y[5] = 2.0;
    CHECK(convrnn_pls_fit(&m, X, Y, 40, 6, 3, &o, &e) == CONVRNN_ERR_ARG);
    (void)j;
}

static void test_decoder_degenerate(void) {
    convrnn_classifier m;
    convrnn_decoder_options o;
    convrnn_error e;
    convrnn_rng r;
    double X[60 * 3], P[10 * 4], i1[10];
    int y[60], yt[10], i, kind;
    convrnn_rng_seed(&r, 11);
    for (i = 0; i < 60; i++) {
        y[i] = i % 3; /* class 3 never appears in training */
        X[i * 3] = y[i] + 0.3 * convrnn_rng_normal(&r); X[i * 3 + 1] = convrnn_rng_normal(&r); X[i * 3 + 2] = 1.0; /* constant */
    }
    for (kind = 0; kind < 2; kind++) {
        convrnn_decoder_options_default(&o);
        o.kind = kind ? CONVRNN_DECODER_SVM : CONVRNN_DECODER_LOGISTIC;
        CHECK(convrnn_classifier_fit(&m, X, y, 60, 3, 4, &o, &e) == CONVRNN_OK);
        CHECK(m.present[3] == 0 && m.present[0] && m.converged);
        CHECK(m.scale[2] == 1.0); /* constant feature */
        CHECK(convrnn_classifier_proba(&m, X, 10, P, &e) == CONVRNN_OK);
        {
            int ok = 1;
            for (i = 0; i < 10; i++) {
                ok &= P[i * 4 + 3] == 0.0 && fabs(P[i * 4] + P[i * 4 + 1] + P[i * 4 + 2] - 1) < 1e-14;
                yt[i] = i < 8 ? y[i] : 3;
            }
            CHECK(ok);
        }
        /* I1 with the absent class marked invalid: images of class 3 get NaN, others finite */
        CHECK(convrnn_i1_dprime(P, yt, 10, 4, m.present, i1, &e) == CONVRNN_OK);
        CHECK(i1[9] != i1[9] && i1[8] != i1[8] && i1[0] == i1[0]);
        convrnn_classifier_free(&m);
    }
    /* a single class present, NaN features, bad labels */
    for (i = 0; i < 60; i++) y[i] = 1;
    CHECK(convrnn_logreg_fit(&m, X, y, 60, 3, 4, NULL, &e) == CONVRNN_ERR_ARG);
    y[0] = 0; X[4] = NAN;
    CHECK(convrnn_svm_fit(&m, X, y, 60, 3, 4, NULL, &e) == CONVRNN_ERR_NOT_FINITE);
    X[4] = 0; y[3] = 4;
    CHECK(convrnn_logreg_fit(&m, X, y, 60, 3, 4, NULL, &e) == CONVRNN_ERR_ARG);
    CHECK(strstr(e.msg, "labels[3]") != NULL);
    /* bias penalty: with penalize_bias the gradient condition includes lambda*b; check KKT */
    {
        double Xb[40 * 2];
        int yb[40], c, j;
        for (i = 0; i < 40; i++) { yb[i] = i % 2; Xb[i * 2] = yb[i] + convrnn_rng_normal(&r); Xb[i * 2 + 1] = convrnn_rng_normal(&r); }
        convrnn_decoder_options_default(&o);
        o.penalize_bias = 1; o.lambda = 0.1; o.tol = 1e-12;
        CHECK(convrnn_logreg_fit(&m, Xb, yb, 40, 2, 2, &o, &e) == CONVRNN_OK);
        {
            double *Pp = (double *)malloc(sizeof(double) * 80), gmax = 0;
            CHECK(convrnn_classifier_proba(&m, Xb, 40, Pp, &e) == CONVRNN_OK);
            for (c = 0; c < 2; c++) {
                double gb = 0;
                for (i = 0; i < 40; i++) gb += (Pp[i * 2 + c] - (yb[i] == c)) / 40.0;
                gb += o.lambda * m.b[c];
                gmax = fmax(gmax, fabs(gb));
                for (j = 0; j < 2; j++) {
                    double gw = 0;
                    for (i = 0; i < 40; i++) gw += (Pp[i * 2 + c] - (yb[i] == c)) * (Xb[i * 2 + j] - m.mean[j]) / m.scale[j] / 40.0;
                    gmax = fmax(gmax, fabs(gw + o.lambda * m.W[c * 2 + j]));
                }
            }
            CHECKF(gmax < 1e-10, "penalised-bias KKT residual %g", gmax);
            free(Pp);
        }
        convrnn_classifier_free(&m);
    }
}

/* ------------------------------------------------------------------ determinism: 1 vs N threads */
static void test_threads(void) {
#ifdef _OPENMP
    int nt = omp_get_max_threads(), n = 300, p = 4000, q = 40, i;
    double *X = (double *)malloc(sizeof(double) * n * p), *Y = (double *)malloc(sizeof(double) * n * q);
    convrnn_pls m1, m2;
    convrnn_pls_options o;
    convrnn_rng r;
    if (nt < 2) nt = 2;
    convrnn_rng_seed(&r, 5);
    for (i = 0; i < n * p; i++) X[i] = convrnn_rng_normal(&r) + (i % p == 7 ? 3.0 * X[i - 7] : 0.0);
    for (i = 0; i < n * q; i++) Y[i] = convrnn_rng_normal(&r) + X[(i / q) * p + (i % q)];
    convrnn_pls_options_default(&o);
    o.n_components = 8;
    omp_set_num_threads(1);
    CHECK(convrnn_pls_fit(&m1, X, Y, n, p, q, &o, NULL) == CONVRNN_OK);
    omp_set_num_threads(nt);
    CHECK(convrnn_pls_fit(&m2, X, Y, n, p, q, &o, NULL) == CONVRNN_OK);
    CHECK(m1.rank == m2.rank && !memcmp(m1.coef, m2.coef, sizeof(double) * p * q));
    CHECK(!memcmp(m1.x_weights, m2.x_weights, sizeof(double) * m1.rank * p));
    printf("  PLS 1 vs %d threads: coefficients bitwise %s\n", nt, memcmp(m1.coef, m2.coef, sizeof(double) * p * q) ? "DIFFERENT" : "identical");
    convrnn_pls_free(&m1); convrnn_pls_free(&m2);
    {
        convrnn_classifier c1, c2;
        int *lab = (int *)malloc(sizeof(int) * n);
        for (i = 0; i < n; i++) lab[i] = i % 5;
        omp_set_num_threads(1);
        CHECK(convrnn_logreg_fit(&c1, X, lab, n, 600, 5, NULL, NULL) == CONVRNN_OK);
        omp_set_num_threads(nt);
        CHECK(convrnn_logreg_fit(&c2, X, lab, n, 600, 5, NULL, NULL) == CONVRNN_OK);
        CHECK(!memcmp(c1.W, c2.W, sizeof(double) * 5 * 600) && !memcmp(c1.b, c2.b, sizeof(double) * 5));
        convrnn_classifier_free(&c1); convrnn_classifier_free(&c2);
        free(lab);
    }
    free(X); free(Y);
#endif
}

/* sizes, settings and magnitudes at the edges of double and int */
static void test_metrics_edges(void) {
    convrnn_splits s;
    convrnn_error e;
    convrnn_classifier m;
    convrnn_decoder_options o;
    double X[40 * 2], Xs[40 * 2], dec[40 * 2], a[5] = { 1, 2, 3, 4, 6 }, b[5] = { 2, 1, 4, 3, 7 }, as[5], bs[5], r1;
    int y[40], i, k, kind, tr[3] = { 0, 1, 2 }, te[2] = { 5, 5 };
    size_t trs[2] = { 0, 3 }, tes[2] = { 0, 2 };
    convrnn_rng rng;
    /* p-value helpers at their edges: a huge df is the normal's tail; m < 1 is no correction */
    {   /* t_sf - Q follows phi(t)(t^3 + t)/(4 df) + O(1/df^2) */
        static const double dfs[5] = { 1e6, 1e7, 1e8, 1e9, 1e15 };
        int q;
        for (q = 0; q < 5; q++) {
            const double want = 0.05399096651318806 * 10 / (4 * dfs[q]), got = convrnn_t_sf(2, dfs[q]) - convrnn_norm_sf(2);
            CHECKF(fabs(got - want) < 5e-11, "t_sf(2, %g) - Q(2) = %.4g, want %.4g", dfs[q], got, want);   /* the p-value within 5e-11 */
            CHECKF(fabs(convrnn_t_sf(-2, dfs[q]) - (1 - convrnn_t_sf(2, dfs[q]))) < 1e-15, "t_sf symmetry at df %g", dfs[q]);
        }
    }
    CHECK(isnan(convrnn_bonferroni(0.3, -1)) && isnan(convrnn_bonferroni(0.3, 0)) && isnan(convrnn_bonferroni(1.5, 2)) &&
          convrnn_bonferroni(0.3, 2) == 0.6 && convrnn_bonferroni(0.3, 5) == 1.0);
    /* split sizes beyond n and beyond an int */
    CHECK(convrnn_splits_shuffle(&s, 10, 1, 1.0, 2147483647.0, NULL, 1, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "do not fit"));
    CHECK(convrnn_splits_shuffle(&s, 10, 1, 0, 1e20, NULL, 1, &e) == CONVRNN_ERR_ARG);
    CHECK(convrnn_splits_shuffle(&s, 10, 1, 0, 10, NULL, 1, &e) == CONVRNN_ERR_ARG);
    CHECK(convrnn_splits_shuffle(&s, 10, 1, 0, 9, NULL, 1, &e) == CONVRNN_OK && s.test_start[1] == 9);
    convrnn_splits_free(&s);
    /* a test index listed twice is named as such */
    CHECK(convrnn_splits_from_lists(&s, 10, 1, tr, trs, te, tes, &e) == CONVRNN_ERR_ARG && strstr(e.msg, "twice"));
    /* Pearson at any magnitude (powers of ten: r within rounding of the unscaled one) */
    r1 = convrnn_pearson(a, b, 5);
    for (k = 0; k < 4; k++) {
        const double sc = k == 0 ? 1e160 : k == 1 ? 1e-170 : k == 2 ? 1e300 : 1e-300;
        double rk;
        for (i = 0; i < 5; i++) { as[i] = a[i] * sc; bs[i] = b[i] * (k % 2 ? 1 : sc); }
        rk = convrnn_pearson(as, bs, 5);
        CHECKF(fabs(rk - r1) < 1e-12, "pearson at scale %g: %.17g vs %.17g", sc, rk, r1);
    }
    /* decoders: infinite settings refused; separable data at any magnitude still separated */
    convrnn_rng_seed(&rng, 8);
    for (i = 0; i < 40; i++) {
        y[i] = i % 2;
        X[i * 2] = (y[i] ? 1 : -1) + 0.1 * convrnn_rng_normal(&rng);
        X[i * 2 + 1] = convrnn_rng_normal(&rng);
    }
    convrnn_decoder_options_default(&o);
    o.kind = CONVRNN_DECODER_SVM; o.C = INFINITY;
    CHECK(convrnn_classifier_fit(&m, X, y, 40, 2, 2, &o, &e) == CONVRNN_ERR_ARG);
    o.C = 1; o.bias = INFINITY;
    CHECK(convrnn_classifier_fit(&m, X, y, 40, 2, 2, &o, &e) == CONVRNN_ERR_ARG);
    convrnn_decoder_options_default(&o);
    o.lambda = INFINITY;
    CHECK(convrnn_classifier_fit(&m, X, y, 40, 2, 2, &o, &e) == CONVRNN_ERR_ARG);
    for (kind = 0; kind < 2; kind++)
        for (k = 0; k < 3; k++) {
            const double sc = k == 0 ? 1 : k == 1 ? 1e160 : 1e-12;   /* (below a std of 10 eps, features count as constant, as in scikit-learn) */
            int correct = 0;
            convrnn_decoder_options_default(&o);
            o.kind = kind ? CONVRNN_DECODER_SVM : CONVRNN_DECODER_LOGISTIC;
            if (kind) o.C = 1;
            for (i = 0; i < 80; i++) Xs[i] = X[i] * sc;
            if (convrnn_classifier_fit(&m, Xs, y, 40, 2, 2, &o, &e) == CONVRNN_OK) {
                CHECK(convrnn_classifier_decision(&m, Xs, 40, dec, &e) == CONVRNN_OK);
                for (i = 0; i < 40; i++) correct += (dec[i * 2 + 1] > dec[i * 2]) == (y[i] == 1);
                convrnn_classifier_free(&m);
            } else CHECKF(0, "%s", e.msg);
            CHECKF(correct == 40, "%s at scale %g: %d of 40", kind ? "svm" : "logistic", sc, correct);
        }
    /* neural score with no sites, generators with NaN settings */
    {
        convrnn_synth_ost_params po;
        convrnn_synth_neural_params pn;
        convrnn_synth_ost so;
        convrnn_synth_neural sn;
        double score;
        CHECK(convrnn_splits_shuffle(&s, 10, 2, 0, 0.2, NULL, 1, &e) == CONVRNN_OK);
        CHECK(convrnn_neural_score_static(X, 10, 2, X, -1, &s, NULL, &score, NULL, NULL, &e) == CONVRNN_ERR_SHAPE);
        convrnn_splits_free(&s);
        convrnn_synth_ost_params_default(&po);
        po.signal_gain = NAN;
        CHECK(convrnn_synth_ost_make(&so, &po, &e) == CONVRNN_ERR_ARG);
        convrnn_synth_ost_params_default(&po);
        po.bin_width_ms = NAN;
        CHECK(convrnn_synth_ost_make(&so, &po, &e) == CONVRNN_ERR_ARG);
        convrnn_synth_neural_params_default(&pn);
        pn.bin0_ms = NAN;
        CHECK(convrnn_synth_neural_make(&sn, &pn, &e) == CONVRNN_ERR_ARG);
    }
}

#ifdef TEST_METRICS_PLS_ONLY
int main(void) {
    /* the other groups belong to test_metrics itself */
    (void)test_stats_fixtures; (void)test_decoder_fixtures; (void)test_behaviour_fixtures; (void)test_neural_fixtures;
    (void)test_aggregates;
    (void)test_stats_degenerate; (void)test_splits; (void)test_ost_units; (void)test_pls_degenerate;
    (void)test_decoder_degenerate; (void)test_threads; (void)test_metrics_edges;
    test_pls_fixtures();
    return TEST_END(TEST_METRICS_PLS_ONLY);
}
#else
int main(void) {
    test_pls_fixtures();
    test_stats_fixtures();
    test_decoder_fixtures();
    test_behaviour_fixtures();
    test_neural_fixtures();
    test_aggregates();
    test_stats_degenerate();
    test_splits();
    test_ost_units();
    test_pls_degenerate();
    test_decoder_degenerate();
    test_threads();
    test_metrics_edges();
    return TEST_END("metrics");
}
#endif
