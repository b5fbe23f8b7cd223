/* Known-answer tests of the brain-comparison metrics on the synthetic generators (spec 10.3):
   ceilings against the Spearman-Brown prediction from the generating noise, a noisy copy of the
   signal near ceiling and random features near zero, noise-corrected and inter-animal consistency,
   layer selection, and OST consistency with the controls of spec 10.1. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

static double median_of(const double *v, int n) {
    double m = NAN;
    convrnn_nanmedian(v, (size_t)n, &m, NULL, NULL);
    return m;
}

/* trial mean (R x E) -> E */
static double *trial_mean(const double *resp, int R, size_t E) {
    double *m = (double *)calloc(E, sizeof(double));
    int t;
    size_t e;
    for (t = 0; t < R; t++)
        for (e = 0; e < E; e++) m[e] += resp[(size_t)t * E + e] / R;
    return m;
}

static convrnn_synth_neural S;
static double *Tmean; /* N x Q x B */

static void test_ceiling(void) {
    int Q = S.Q, B = S.B, b, j, nb = 0;
    double *ceil = (double *)malloc(sizeof(double) * B), *err = (double *)malloc(sizeof(double) * B);
    double *per_site = (double *)malloc(sizeof(double) * Q * B), *v = (double *)malloc(sizeof(double) * Q);
    double c1, e1, per_split[10], *rs = (double *)malloc(sizeof(double) * S.R * S.N * Q);
    convrnn_error e;
    int t, i;
    CHECK(convrnn_ceiling_split_half_temporal(S.responses, S.R, S.N, Q, B, 10, 7, 1, per_site, ceil, err, &e) == CONVRNN_OK);
    printf("split-half ceiling vs Spearman-Brown prediction from the generating noise (R=%d, N=%d, Q=%d)\n", S.R, S.N, Q);
    for (b = 0; b < B; b++) {
        double pred;
        for (j = 0; j < Q; j++) v[j] = S.reliability[j * B + b];
        pred = median_of(v, Q);
        printf("  bin %3.0f ms: ceiling %.4f +- %.4f, predicted %.4f\n", S.bin_ms[b], ceil[b], err[b], pred);
        /* the sampling sd of a per-site split-half r over N images is about (1 - r^2)/sqrt(N); the
           median over Q sites has about 1.25 sd/sqrt(Q); allow 5 of those plus the SB slope (2) */
        if (pred > 0.3) {
            double tol = 5 * 2 * 1.25 * (1 - pred * pred / 4) / sqrt((double)S.N) / sqrt((double)Q) + 0.005;
            CHECKF(fabs(ceil[b] - pred) < tol, "bin %g: ceiling %.4f vs prediction %.4f (tol %.4f)", S.bin_ms[b], ceil[b], pred, tol);
            nb++;
        }
        /* per-site agreement, averaged over sites */
        {
            double md = 0;
            for (j = 0; j < Q; j++) md += (per_site[j * B + b] - S.reliability[j * B + b]) / Q;
            CHECKF(fabs(md) < 0.03, "bin %g: mean per-site ceiling error %.4f", S.bin_ms[b], md);
        }
    }
    CHECK(nb >= 4);
    /* the static variant on one bin equals the temporal one with the same seed */
    for (t = 0; t < S.R; t++)
        for (i = 0; i < S.N; i++)
            for (j = 0; j < Q; j++) rs[((size_t)t * S.N + i) * Q + j] = S.responses[(((size_t)t * S.N + i) * Q + j) * B + 4];
    CHECK(convrnn_ceiling_split_half(rs, S.R, S.N, Q, 10, 7, 1, NULL, per_split, &c1, &e1, &e) == CONVRNN_OK);
    CHECK(c1 == ceil[4] && e1 == err[4]);
    CHECK_CLOSE(convrnn_nanmean(per_split, 10, NULL), c1, 0, 1e-15);
    /* identical repetitions have ceiling 1 (Brain-Score test) */
    for (t = 1; t < S.R; t++) memcpy(rs + (size_t)t * S.N * Q, rs, sizeof(double) * S.N * Q);
    CHECK(convrnn_ceiling_split_half(rs, S.R, S.N, Q, 10, 7, 1, NULL, NULL, &c1, &e1, &e) == CONVRNN_OK);
    CHECK_CLOSE(c1, 1.0, 1e-12, 0);
    /* degenerate: one trial, NaN */
    CHECK(convrnn_ceiling_split_half(rs, 1, S.N, Q, 10, 7, 1, NULL, NULL, &c1, &e1, &e) == CONVRNN_ERR_SHAPE);
    rs[17] = NAN;
    CHECK(convrnn_ceiling_split_half(rs, S.R, S.N, Q, 10, 7, 1, NULL, NULL, &c1, &e1, &e) == CONVRNN_ERR_NOT_FINITE);
    free(ceil); free(err); free(per_site); free(v); free(rs);
}

/* model features per step (= bin): the noise-free signal plus small noise, or pure noise */
static double *make_features(int noisy_copy, double noise, uint64_t seed) {
    int N = S.N, Q = S.Q, B = S.B, b, i, j;
    double *F = (double *)malloc(sizeof(double) * (size_t)B * N * Q);
    convrnn_rng r;
    convrnn_rng_seed(&r, seed);
    for (b = 0; b < B; b++)
        for (i = 0; i < N; i++)
            for (j = 0; j < Q; j++)
                F[((size_t)b * N + i) * Q + j] = (noisy_copy ? S.signal[((size_t)i * Q + j) * B + b] : 0.0) + noise * convrnn_rng_normal(&r);
    return F;
}

static void test_predictivity(void) {
    int N = S.N, Q = S.Q, B = S.B, b, j, s, steps[32], map, rnd;
    double *Fc = make_features(1, 0.05, 5), *Fr = make_features(0, 1.0, 6);
    double *r = (double *)malloc(sizeof(double) * 5 * Q * B), *ceil = (double *)malloc(sizeof(double) * Q * B);
    double *v = (double *)malloc(sizeof(double) * Q);
    convrnn_splits sp;
    convrnn_pls_options po;
    convrnn_error e;
    CHECK(convrnn_splits_shuffle(&sp, N, 5, 0.9, 0, S.labels, 1, &e) == CONVRNN_OK);
    CHECK(convrnn_ceiling_split_half_temporal(S.responses, S.R, N, Q, B, 10, 3, 1, ceil, NULL, NULL, &e) == CONVRNN_OK);
    for (b = 0; b < B; b++) steps[b] = b;
    convrnn_pls_options_default(&po);
    po.n_components = 10;
    for (map = 0; map < 2; map++) {
        printf("%s map: median over sites of r/sqrt(ceiling) for a noisy copy, and r for random features\n",
               map ? "per-bin" : "temporally fixed");
        for (rnd = 0; rnd < 2; rnd++) {
            CHECK(convrnn_neural_predictivity(rnd ? Fr : Fc, B, N, Q, steps, Tmean, Q, B, &sp, (convrnn_map_kind)map, &po, r, &e) == CONVRNN_OK);
            for (b = 0; b < B; b++) {
                double m, pc;
                for (j = 0; j < Q; j++) {
                    double a = 0;
                    for (s = 0; s < 5; s++) a += r[((size_t)s * Q + j) * B + b] / 5;
                    v[j] = rnd ? a : (ceil[j * B + b] > 0 ? a / sqrt(ceil[j * B + b]) : NAN);
                }
                m = median_of(v, Q);
                for (j = 0; j < Q; j++) v[j] = S.reliability[j * B + b];
                pc = median_of(v, Q);
                printf("  bin %3.0f (predicted ceiling %.2f): %s %.3f\n", S.bin_ms[b], pc, rnd ? "random" : "noisy copy", m);
                if (!rnd && pc > 0.5) CHECKF(m > 0.9 && m < 1.1, "bin %g: noisy copy scores %.3f of ceiling", S.bin_ms[b], m);
                /* unrelated features: test r over ~N/10 images has sd ~ 1/sqrt(n_test) */
                if (rnd) CHECKF(fabs(m) < 3.0 / sqrt(N / 10.0), "bin %g: random features score %.3f", S.bin_ms[b], m);
            }
        }
    }
    { /* phase summary over the late bins */
        int phase[3] = {B - 3, B - 2, B - 1}, used;
        double med, sem, *ps = (double *)malloc(sizeof(double) * Q);
        CHECK(convrnn_neural_predictivity(Fc, B, N, Q, steps, Tmean, Q, B, &sp, CONVRNN_MAP_FIXED, &po, r, &e) == CONVRNN_OK);
        CHECK(convrnn_phase_summary(r, 5, Q, B, phase, 3, 1, ps, &med, &sem, &used, &e) == CONVRNN_OK);
        CHECK(used == Q && med > 0.5 && sem > 0 && sem < 0.1);
        CHECK_CLOSE(med, median_of(ps, Q), 0, 0);
        free(ps);
    }
    /* degenerate inputs */
    steps[0] = B + 3;
    CHECK(convrnn_neural_predictivity(Fc, B, N, Q, steps, Tmean, Q, B, &sp, CONVRNN_MAP_FIXED, &po, r, &e) == CONVRNN_ERR_ARG);
    steps[0] = 0;
    convrnn_splits_free(&sp);
    free(Fc); free(Fr); free(r); free(ceil); free(v);
}

static void test_consistency(void) {
    int N = S.N, Q = S.Q, B = S.B, b, j, steps[32];
    double *Fc = make_features(1, 0.05, 8), *v = (double *)malloc(sizeof(double) * Q);
    convrnn_splits sp;
    convrnn_source src;
    convrnn_consistency_options co;
    convrnn_consistency_result res;
    convrnn_error e;
    for (b = 0; b < B; b++) steps[b] = b;
    CHECK(convrnn_splits_shuffle(&sp, N, 3, 0.8, 0, NULL, 4, &e) == CONVRNN_OK);
    memset(&src, 0, sizeof src);
    src.kind = CONVRNN_SOURCE_MODEL; src.data = Fc; src.n_steps = B; src.bin_steps = steps; src.p = Q;
    convrnn_consistency_options_default(&co);
    co.pls.n_components = 10; co.n_halves = 2;
    CHECK(convrnn_consistency(&src, S.responses, S.R, N, Q, B, &sp, &co, &res, &e) == CONVRNN_OK);
    printf("noise-corrected consistency of a noisy copy (medians over sites)\n");
    for (b = 0; b < B; b++) {
        double a, c, d, pc;
        for (j = 0; j < Q; j++) v[j] = res.r_nc[j * B + b];
        a = median_of(v, Q);
        for (j = 0; j < Q; j++) v[j] = res.r_sb_ratio[j * B + b];
        c = median_of(v, Q);
        for (j = 0; j < Q; j++) v[j] = res.r_nc_neuron[j * B + b];
        d = median_of(v, Q);
        for (j = 0; j < Q; j++) v[j] = S.reliability[j * B + b];
        pc = median_of(v, Q);
        printf("  bin %3.0f: r_nc %.3f  sb_ratio %.3f  r_nc_neuron %.3f\n", S.bin_ms[b], a, c, d);
        if (pc > 0.5) {
            CHECKF(fabs(a - 1) < 0.1, "bin %g: r_nc %.3f", S.bin_ms[b], a);
            CHECKF(fabs(c - 1) < 0.1, "bin %g: sb_ratio %.3f", S.bin_ms[b], c);
            CHECKF(fabs(d - 1) < 0.1, "bin %g: r_nc_neuron %.3f", S.bin_ms[b], d);
        }
    }
    convrnn_consistency_result_free(&res);
    /* inter-animal: two disjoint halves of the sites as two "animals" driven by the same latents;
       the noise-corrected consistency of one predicting the other approaches 1 */
    {
        int Qs = Q / 2, Qt = Q - Qs, t, i;
        double *As = (double *)malloc(sizeof(double) * (size_t)S.R * N * Qs * B), *At = (double *)malloc(sizeof(double) * (size_t)S.R * N * Qt * B);
        for (t = 0; t < S.R; t++)
            for (i = 0; i < N; i++)
                for (j = 0; j < Q; j++)
                    for (b = 0; b < B; b++) {
                        double x = S.responses[((((size_t)t * N + i) * Q + j) * B) + b];
                        if (j < Qs) As[(((size_t)t * N + i) * Qs + j) * B + b] = x;
                        else At[(((size_t)t * N + i) * Qt + (j - Qs)) * B + b] = x;
                    }
        memset(&src, 0, sizeof src);
        src.kind = CONVRNN_SOURCE_NEURAL; src.data = As; src.n_trials = S.R; src.p = Qs;
        co.map = CONVRNN_MAP_PER_BIN;
        CHECK(convrnn_consistency(&src, At, S.R, N, Qt, B, &sp, &co, &res, &e) == CONVRNN_OK);
        printf("inter-animal consistency (per-bin maps, medians over target sites)\n");
        for (b = 0; b < B; b++) {
            double a, c, pc, rx;
            for (j = 0; j < Qt; j++) v[j] = res.r_xy[j * B + b];
            rx = median_of(v, Qt);
            for (j = 0; j < Qt; j++) v[j] = res.r_nc[j * B + b];
            a = median_of(v, Qt);
            for (j = 0; j < Qt; j++) v[j] = res.r_sb_ratio[j * B + b];
            c = median_of(v, Qt);
            for (j = 0; j < Qt; j++) v[j] = S.reliability[(Qs + j) * B + b];
            pc = median_of(v, Qt);
            printf("  bin %3.0f: r_nc %.3f  sb_ratio %.3f (raw r_xy %.3f)\n", S.bin_ms[b], a, c, rx);
            if (pc > 0.6) {
                CHECKF(a > 0.8 && a < 1.15, "bin %g: inter-animal r_nc %.3f", S.bin_ms[b], a);
                CHECKF(c > 0.8 && c < 1.15, "bin %g: inter-animal sb_ratio %.3f", S.bin_ms[b], c);
            }
        }
        convrnn_consistency_result_free(&res);
        src.n_trials = 1;
        CHECK(convrnn_consistency(&src, At, S.R, N, Qt, B, &sp, &co, &res, &e) == CONVRNN_ERR_SHAPE);
        free(As); free(At);
    }
    convrnn_splits_free(&sp);
    free(Fc); free(v);
}

static void test_layer_selection(void) {
    int N = S.N, Q = S.Q, B = S.B, i, j, best = -1, P[3] = {Q, Q, Q};
    double *Y = (double *)malloc(sizeof(double) * N * Q), *L[3], sc[3], bins[32];
    const double *Lc[3];
    convrnn_splits sp;
    convrnn_pls_options po;
    convrnn_error e;
    convrnn_rng r;
    for (i = 0; i < B; i++) bins[i] = S.bin_ms[i];
    CHECK(convrnn_time_average(Tmean, N, Q, B, bins, 100, 170, Y, &e) == CONVRNN_OK);
    CHECK(convrnn_time_average(Tmean, N, Q, B, bins, 300, 400, Y + 0, &e) == CONVRNN_ERR_ARG);
    convrnn_rng_seed(&r, 12);
    /* layer 0: random; layer 1: the latent-driven signal averaged in the window; layer 2: the same,
       much noisier */
    for (i = 0; i < 3; i++) L[i] = (double *)malloc(sizeof(double) * N * Q);
    for (i = 0; i < N; i++)
        for (j = 0; j < Q; j++) {
            double m = 0;
            int b, k = 0;
            for (b = 0; b < B; b++)
                if (bins[b] >= 100 && bins[b] < 170) { m += S.signal[((size_t)i * Q + j) * B + b]; k++; }
            m /= k;
            L[0][i * Q + j] = convrnn_rng_normal(&r);
            L[1][i * Q + j] = m + 0.05 * convrnn_rng_normal(&r);
            L[2][i * Q + j] = m + 2.0 * convrnn_rng_normal(&r);
        }
    for (i = 0; i < 3; i++) Lc[i] = L[i];
    CHECK(convrnn_splits_shuffle(&sp, N, 4, 0.9, 0, S.labels, 2, &e) == CONVRNN_OK);
    convrnn_pls_options_default(&po);
    po.n_components = 10;
    CHECK(convrnn_select_layer_neural(Lc, P, 3, N, Y, Q, &sp, &po, &best, sc, &e) == CONVRNN_OK);
    printf("layer selection scores: random %.3f, copy %.3f, noisy copy %.3f -> layer %d\n", sc[0], sc[1], sc[2], best);
    CHECK(best == 1 && sc[1] > sc[2] && sc[2] > sc[0]);
    sc[0] = NAN; sc[1] = 0.2; sc[2] = 0.2;
    CHECK(convrnn_select_layer(sc, 3) == 1);
    sc[1] = sc[2] = NAN;
    CHECK(convrnn_select_layer(sc, 3) == -1);
    convrnn_splits_free(&sp);
    for (i = 0; i < 3; i++) free(L[i]);
    free(Y);
}

static void test_ost(void) {
    convrnn_synth_ost_params p;
    convrnn_synth_ost o;
    convrnn_splits sp;
    convrnn_ost_options oo;
    convrnn_ost_summary sm;
    convrnn_error e;
    convrnn_rng r;
    double *mo, *dp, rho[10], fr[10], *F;
    int kind, i, N;
    convrnn_synth_ost_params_default(&p);
    p.n_images = 400; p.seed = 3;
    CHECK(convrnn_synth_ost_make(&o, &p, &e) == CONVRNN_OK);
    N = o.N;
    CHECK(convrnn_splits_shuffle(&sp, N, 10, 0, 0.1, NULL, 1, &e) == CONVRNN_OK);
    CHECK(sp.test_start[1] == 40);
    mo = (double *)malloc(sizeof(double) * 10 * N);
    dp = (double *)malloc(sizeof(double) * 10 * o.B * N);
    printf("OST consistency on synthetic stimuli (N=%d, %d bins, %d features)\n", N, o.B, o.P);
    for (kind = 0; kind < 2; kind++) {
        convrnn_ost_options_default(&oo);
        oo.decoder.kind = (convrnn_decoder_kind)kind;
        CHECK(convrnn_ost_model(o.features, o.B, N, o.P, o.labels, o.C, o.bin_ms, o.i1, &sp, &oo, mo, dp, &e) == CONVRNN_OK);
        CHECK(convrnn_ost_consistency(mo, o.it_ost, &sp, 1, rho, fr, NULL, &sm, &e) == CONVRNN_OK);
        printf("  %s decoder: consistency %.3f +- %.3f over %d splits, fraction of IT-solved images solved %.3f\n",
               kind ? "SVM" : "logistic", sm.consistency, sm.consistency_sem, sm.splits_used, sm.fraction_solved);
        CHECK(sm.splits_used == 10);
        CHECKF(sm.consistency > (kind ? 0.25 : 0.45), "OST consistency %.3f", sm.consistency);
        CHECK(sm.fraction_solved > 0.5 && sm.fraction_solved <= 1.0);
    }
    /* control: the same construction with the difficulties of other images (shuffled) -> ~0 */
    {
        convrnn_synth_ost o2;
        double *itp = (double *)malloc(sizeof(double) * N);
        int *perm = (int *)malloc(sizeof(int) * N), k;
        convrnn_rng_seed(&r, 77);
        for (i = 0; i < N; i++) perm[i] = i;
        for (i = N - 1; i > 0; i--) { k = (int)convrnn_rng_below(&r, (uint32_t)(i + 1)); { int t = perm[i]; perm[i] = perm[k]; perm[k] = t; } }
        for (i = 0; i < N; i++) itp[i] = o.it_ost[perm[i]];
        convrnn_ost_options_default(&oo);
        CHECK(convrnn_ost_model(o.features, o.B, N, o.P, o.labels, o.C, o.bin_ms, o.i1, &sp, &oo, mo, NULL, &e) == CONVRNN_OK);
        CHECK(convrnn_ost_consistency(mo, itp, &sp, 1, NULL, NULL, NULL, &sm, &e) == CONVRNN_OK);
        printf("  unrelated IT OSTs: consistency %.3f +- %.3f\n", sm.consistency, sm.consistency_sem);
        CHECKF(fabs(sm.consistency) < 0.15, "shuffled control %.3f", sm.consistency);
        free(itp); free(perm);
        (void)o2;
    }
    /* spec 10.1 controls: 5 random units over 5 bins -> NaN (nothing solved); a single bin -> NaN */
    F = (double *)malloc(sizeof(double) * 5 * N * 5);
    convrnn_rng_seed(&r, 9);
    for (i = 0; i < 5 * N * 5; i++) F[i] = convrnn_rng_normal(&r);
    convrnn_ost_options_default(&oo);
    CHECK(convrnn_ost_model(F, 5, N, 5, o.labels, o.C, o.bin_ms, o.i1, &sp, &oo, mo, NULL, &e) == CONVRNN_OK);
    CHECK(convrnn_ost_consistency(mo, o.it_ost, &sp, 1, NULL, fr, NULL, &sm, &e) == CONVRNN_OK);
    printf("  random features: consistency %g, fraction solved %g\n", sm.consistency, sm.fraction_solved);
    CHECK(sm.consistency != sm.consistency && sm.splits_used == 0);
    CHECK(convrnn_ost_model(o.features + (size_t)(o.B - 1) * N * o.P, 1, N, o.P, o.labels, o.C, o.bin_ms, o.i1, &sp, &oo, mo, NULL, &e) == CONVRNN_OK);
    CHECK(convrnn_ost_consistency(mo, o.it_ost, &sp, 1, NULL, NULL, NULL, &sm, &e) == CONVRNN_OK);
    printf("  single bin: consistency %g (fraction solved %.3f)\n", sm.consistency, sm.fraction_solved);
    CHECK(sm.consistency != sm.consistency && sm.fraction_solved > 0);
    /* errors */
    CHECK(convrnn_ost_model(o.features, o.B, N, o.P, o.labels, 2, o.bin_ms, o.i1, &sp, &oo, mo, NULL, &e) == CONVRNN_ERR_ARG);
    o.features[5] = NAN;
    CHECK(convrnn_ost_model(o.features, o.B, N, o.P, o.labels, o.C, o.bin_ms, o.i1, &sp, &oo, mo, NULL, &e) == CONVRNN_ERR_NOT_FINITE);
    CHECK(strstr(e.msg, "split") != NULL);
    free(F); free(mo); free(dp);
    convrnn_splits_free(&sp);
    convrnn_synth_ost_free(&o);
}

static void test_pls_uniform(void) {
    /* PLS Uniform: map model features per bin onto "IT" responses of other images, then decode */
    int nf = 200, no = 60, p = 12, q = 8, B = 3, b, i, j;
    double *ff = (double *)malloc(sizeof(double) * B * nf * p), *fit = (double *)malloc(sizeof(double) * nf * q * B);
    double *of = (double *)malloc(sizeof(double) * B * no * p), *out = (double *)malloc(sizeof(double) * B * no * q);
    double *Wm = (double *)malloc(sizeof(double) * p * q), maxerr = 0;
    convrnn_rng r;
    convrnn_pls_options po;
    convrnn_rng_seed(&r, 21);
    for (i = 0; i < p * q; i++) Wm[i] = convrnn_rng_normal(&r);
    for (b = 0; b < B; b++) {
        for (i = 0; i < nf * p; i++) ff[(size_t)b * nf * p + i] = convrnn_rng_normal(&r);
        for (i = 0; i < no * p; i++) of[(size_t)b * no * p + i] = convrnn_rng_normal(&r);
        for (i = 0; i < nf; i++)
            for (j = 0; j < q; j++) {
                double s = 0;
                int k;
                for (k = 0; k < p; k++) s += ff[((size_t)b * nf + i) * p + k] * Wm[k * q + j] * (b + 1);
                fit[((size_t)i * q + j) * B + b] = s;
            }
    }
    convrnn_pls_options_default(&po);
    po.n_components = 12; /* full rank: PLS equals least squares, so the map is recovered exactly */
    CHECK(convrnn_ost_pls_features(ff, fit, nf, p, q, B, of, no, &po, out, NULL) == CONVRNN_OK);
    for (b = 0; b < B; b++)
        for (i = 0; i < no; i++)
            for (j = 0; j < q; j++) {
                double s = 0;
                int k;
                for (k = 0; k < p; k++) s += of[((size_t)b * no + i) * p + k] * Wm[k * q + j] * (b + 1);
                maxerr = fmax(maxerr, fabs(out[((size_t)b * no + i) * q + j] - s));
            }
    CHECKF(maxerr < 1e-9, "PLS uniform map recovery error %g", maxerr);
    free(ff); free(fit); free(of); free(out); free(Wm);
}

int main(void) {
    convrnn_synth_neural_params sp;
    convrnn_error e;
    convrnn_synth_neural_params_default(&sp);
    sp.n_trials = 12; sp.n_images = 480; sp.n_objects = 8; sp.n_sites = 48; sp.n_bins = 8; sp.latent_dim = 8; sp.seed = 3;
    CHECK(convrnn_synth_neural_make(&S, &sp, &e) == CONVRNN_OK);
    Tmean = trial_mean(S.responses, S.R, (size_t)S.N * S.Q * S.B);
    test_ceiling();
    test_predictivity();
    test_consistency();
    test_layer_selection();
    test_ost();
    test_pls_uniform();
    free(Tmean);
    convrnn_synth_neural_free(&S);
    return TEST_END("metrics_synth");
}
