/* ================================================================================= [IMPL-METRICS]
   Implementation of [API-METRICS]. Private helpers are convrnn__m_* / convrnn__*. */

static double convrnn__m_nan(void) { return (double)NAN; }

static int convrnn__m_isfinite(double x) { return x == x && x - x == 0.0; }

/* checked n*m*k... element counts for doubles */
static int convrnn__m_count2(size_t a, size_t b, size_t *out) { return convrnn_size_mul(a, b, out); }
static int convrnn__m_count3(size_t a, size_t b, size_t c, size_t *out) {
    size_t t;
    return convrnn_size_mul(a, b, &t) && convrnn_size_mul(t, c, out);
}
static int convrnn__m_count4(size_t a, size_t b, size_t c, size_t d, size_t *out) {
    size_t t;
    return convrnn__m_count3(a, b, c, &t) && convrnn_size_mul(t, d, out);
}
static double *convrnn__m_dalloc(size_t n) {
    size_t bytes;
    if (!convrnn_size_mul(n, sizeof(double), &bytes)) return NULL;
    return (double *)convrnn_malloc(NULL, bytes);
}
static double *convrnn__m_dcalloc(size_t n) { return (double *)convrnn_calloc(NULL, n, sizeof(double)); }
static int *convrnn__m_ialloc(size_t n) {
    size_t bytes;
    if (!convrnn_size_mul(n, sizeof(int), &bytes)) return NULL;
    return (int *)convrnn_malloc(NULL, bytes);
}
static int convrnn__m_all_finite(const double *v, size_t n, size_t *bad) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!convrnn__m_isfinite(v[i])) { if (bad) *bad = i; return 0; }
    return 1;
}

/* Small-vector helpers. With GCC/Clang vector extensions (no intrinsics headers) four doubles are
   processed at once; the association of every sum is the same as in the scalar code (four
   interleaved partial sums, combined as (s0 + s1) + (s2 + s3)), so vector, scalar, 1 and N threads
   all give bitwise identical results. */
#if defined(__GNUC__) && !defined(CONVRNN_NO_SIMD)
#define CONVRNN__M_VEC 1
typedef double convrnn__m_v2 __attribute__((vector_size(16)));
#if defined(__AVX__)
#define CONVRNN__M_VEC4 1
typedef double convrnn__m_v4 __attribute__((vector_size(32)));
#endif
#endif

static double convrnn__m_dot(const double *a, const double *b, size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
#if defined(CONVRNN__M_VEC4)
    convrnn__m_v4 acc = {0, 0, 0, 0}, va, vb;
    for (; i + 4 <= n; i += 4) {
        memcpy(&va, a + i, sizeof va); memcpy(&vb, b + i, sizeof vb);
        acc += va * vb;
    }
    s0 = acc[0]; s1 = acc[1]; s2 = acc[2]; s3 = acc[3];
#elif defined(CONVRNN__M_VEC)
    convrnn__m_v2 acc0 = {0, 0}, acc1 = {0, 0}, va, vb, vc, vd;
    for (; i + 4 <= n; i += 4) {
        memcpy(&va, a + i, sizeof va); memcpy(&vb, b + i, sizeof vb);
        memcpy(&vc, a + i + 2, sizeof vc); memcpy(&vd, b + i + 2, sizeof vd);
        acc0 += va * vb;
        acc1 += vc * vd;
    }
    s0 = acc0[0]; s1 = acc0[1]; s2 = acc1[0]; s3 = acc1[1];
#else
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
#endif
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}
static void convrnn__m_axpy(double *y, double a, const double *x, size_t n) {
    size_t i = 0;
#if defined(CONVRNN__M_VEC4)
    convrnn__m_v4 va = {a, a, a, a}, vx, vy;
    for (; i + 4 <= n; i += 4) {
        memcpy(&vx, x + i, sizeof vx); memcpy(&vy, y + i, sizeof vy);
        vy += va * vx;
        memcpy(y + i, &vy, sizeof vy);
    }
#elif defined(CONVRNN__M_VEC)
    convrnn__m_v2 va = {a, a}, vx, vy, wx, wy;
    for (; i + 4 <= n; i += 4) {
        memcpy(&vx, x + i, sizeof vx); memcpy(&vy, y + i, sizeof vy);
        memcpy(&wx, x + i + 2, sizeof wx); memcpy(&wy, y + i + 2, sizeof wy);
        vy += va * vx;
        wy += va * wx;
        memcpy(y + i, &vy, sizeof vy); memcpy(y + i + 2, &wy, sizeof wy);
    }
#endif
    for (; i < n; i++) y[i] += a * x[i];
}

/* ================================================================ basic statistics */

CONVRNNDEF double convrnn_pearson(const double *x, const double *y, size_t n) {
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0, r;
    size_t i;
    int xc = 1, yc = 1;
    if (n < 2) return convrnn__m_nan();
    for (i = 0; i < n; i++) {
        if (x[i] != x[i] || y[i] != y[i]) return convrnn__m_nan();
        if (x[i] != x[0]) xc = 0;
        if (y[i] != y[0]) yc = 0;
        mx += x[i]; my += y[i];
    }
    if (xc || yc) return convrnn__m_nan();
    mx /= (double)n; my /= (double)n;
    for (i = 0; i < n; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b; sxx += a * a; syy += b * b;
    }
    if (!(sxx > 0) || !(syy > 0)) return convrnn__m_nan();
    r = sxy / (sqrt(sxx) * sqrt(syy));
    if (r > 1) r = 1;
    if (r < -1) r = -1;
    return r;
}

/* stable merge sort of (value, index) pairs by value */
typedef struct convrnn__m_vi { double v; int i; } convrnn__m_vi;
static void convrnn__m_sort_vi(convrnn__m_vi *a, convrnn__m_vi *tmp, size_t n) {
    size_t width, i;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t lo = i, mid = i + width < n ? i + width : n, hi = i + 2 * width < n ? i + 2 * width : n;
            size_t l = lo, r = mid, k = lo;
            while (l < mid && r < hi) tmp[k++] = (a[r].v < a[l].v) ? a[r++] : a[l++];
            while (l < mid) tmp[k++] = a[l++];
            while (r < hi) tmp[k++] = a[r++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}
/* average ranks with caller scratch (2n pairs) */
static void convrnn__m_rank_ws(const double *x, size_t n, double *ranks, convrnn__m_vi *ws) {
    convrnn__m_vi *a = ws, *tmp = ws + n;
    size_t i, j;
    for (i = 0; i < n; i++) { a[i].v = x[i]; a[i].i = (int)i; }
    convrnn__m_sort_vi(a, tmp, n);
    for (i = 0; i < n; i = j) {
        double avg;
        size_t k;
        for (j = i + 1; j < n && a[j].v == a[i].v; j++) {}
        avg = 0.5 * ((double)(i + 1) + (double)j);
        for (k = i; k < j; k++) ranks[a[k].i] = avg;
    }
}
static convrnn__m_vi *convrnn__m_vi_alloc(size_t n) {
    size_t bytes;
    if (!convrnn_size_mul(n ? n : 1, 2 * sizeof(convrnn__m_vi), &bytes)) return NULL;
    return (convrnn__m_vi *)convrnn_malloc(NULL, bytes);
}

CONVRNNDEF convrnn_status convrnn_rankdata(const double *x, size_t n, double *ranks, convrnn_error *err) {
    convrnn__m_vi *ws;
    size_t bad;
    if ((!x || !ranks) && n) return convrnn_error_set(err, CONVRNN_ERR_ARG, "rankdata: NULL array");
    if (!convrnn__m_all_finite(x, n, &bad) && x[bad] != x[bad])
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "rankdata: x[%lu] is NaN", (unsigned long)bad);
    if (n > (size_t)2147483647) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "rankdata: n too large");
    ws = convrnn__m_vi_alloc(n);
    if (!ws) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "rankdata: out of memory (n=%lu)", (unsigned long)n);
    convrnn__m_rank_ws(x, n, ranks, ws);
    convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

/* Spearman with caller scratch: ws 2n pairs, rk 2n doubles */
static double convrnn__m_spearman_ws(const double *x, const double *y, size_t n, convrnn__m_vi *ws, double *rk) {
    size_t i;
    for (i = 0; i < n; i++)
        if (x[i] != x[i] || y[i] != y[i]) return convrnn__m_nan();
    if (n < 2) return convrnn__m_nan();
    convrnn__m_rank_ws(x, n, rk, ws);
    convrnn__m_rank_ws(y, n, rk + n, ws);
    return convrnn_pearson(rk, rk + n, n);
}

CONVRNNDEF convrnn_status convrnn_spearman(const double *x, const double *y, size_t n, double *rho,
                                           convrnn_error *err) {
    convrnn__m_vi *ws;
    double *rk;
    if (!rho || ((!x || !y) && n)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "spearman: NULL argument");
    if (n > (size_t)2147483647) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "spearman: n too large");
    ws = convrnn__m_vi_alloc(n);
    rk = convrnn__m_dalloc(2 * (n ? n : 1));
    if (!ws || !rk) {
        convrnn_free(NULL, ws); convrnn_free(NULL, rk);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "spearman: out of memory (n=%lu)", (unsigned long)n);
    }
    *rho = convrnn__m_spearman_ws(x, y, n, ws, rk);
    convrnn_free(NULL, ws); convrnn_free(NULL, rk);
    return CONVRNN_OK;
}

CONVRNNDEF double convrnn_nanmean(const double *v, size_t n, size_t *used) {
    double s = 0;
    size_t i, k = 0;
    for (i = 0; i < n; i++)
        if (v[i] == v[i]) { s += v[i]; k++; }
    if (used) *used = k;
    return k ? s / (double)k : convrnn__m_nan();
}
CONVRNNDEF double convrnn_nanstd(const double *v, size_t n, int ddof, size_t *used) {
    size_t i, k;
    double m = convrnn_nanmean(v, n, &k), s = 0;
    if (used) *used = k;
    if (k == 0 || (double)k - (double)ddof <= 0) return convrnn__m_nan();
    for (i = 0; i < n; i++)
        if (v[i] == v[i]) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / ((double)k - (double)ddof));
}
CONVRNNDEF double convrnn_nansem(const double *v, size_t n, int ddof, size_t *used) {
    size_t k;
    double sd = convrnn_nanstd(v, n, ddof, &k);
    if (used) *used = k;
    return k ? sd / sqrt((double)k) : convrnn__m_nan();
}
static int convrnn__m_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}
/* NaN-skipping median with caller scratch (n doubles) */
static double convrnn__m_nanmedian_ws(const double *v, size_t n, double *ws, size_t *used) {
    size_t i, k = 0;
    for (i = 0; i < n; i++)
        if (v[i] == v[i]) ws[k++] = v[i];
    if (used) *used = k;
    if (!k) return convrnn__m_nan();
    qsort(ws, k, sizeof(double), convrnn__m_cmp_double);
    return (k & 1) ? ws[k / 2] : 0.5 * (ws[k / 2 - 1] + ws[k / 2]);
}
CONVRNNDEF convrnn_status convrnn_nanmedian(const double *v, size_t n, double *median, size_t *used,
                                            convrnn_error *err) {
    double *ws;
    if (!median || (!v && n)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "nanmedian: NULL argument");
    ws = convrnn__m_dalloc(n ? n : 1);
    if (!ws) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "nanmedian: out of memory (n=%lu)", (unsigned long)n);
    *median = convrnn__m_nanmedian_ws(v, n, ws, used);
    convrnn_free(NULL, ws);
    return CONVRNN_OK;
}
CONVRNNDEF double convrnn_spearman_brown(double r, double n) { return n * r / (1.0 + (n - 1.0) * r); }

/* ================================================================ special functions */

CONVRNNDEF double convrnn_lgamma(double x) {
    /* Lanczos (g = 7, n = 9) with reflection below 0.5 */
    static const double c[9] = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
                                771.32342877765313, -176.61502916214059, 12.507343278686905,
                                -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
    double a, t;
    int i;
    if (x != x) return x;
    if (x <= 0 && x == floor(x)) return (double)INFINITY;
    if (x < 0.5) return log(3.14159265358979323846 / fabs(sin(3.14159265358979323846 * x))) - convrnn_lgamma(1.0 - x);
    if (x == 1.0 || x == 2.0) return 0.0;
    if (x > 1e6) /* Stirling with two correction terms */
        return (x - 0.5) * log(x) - x + 0.91893853320467274178 + 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x * x);
    x -= 1.0;
    a = c[0];
    t = x + 7.5;
    for (i = 1; i < 9; i++) a += c[i] / (x + (double)i);
    return 0.91893853320467274178 + (x + 0.5) * log(t) - t + log(a);
}

CONVRNNDEF double convrnn_norm_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }
CONVRNNDEF double convrnn_norm_sf(double x) { return 0.5 * erfc(x * 0.70710678118654752440); }

CONVRNNDEF double convrnn_norm_ppf(double p) {
    /* Wichura (1988) AS 241, PPND16: about 1e-16 relative accuracy */
    double q, r, v;
    if (p != p || p < 0 || p > 1) return convrnn__m_nan();
    if (p == 0) return -(double)INFINITY;
    if (p == 1) return (double)INFINITY;
    q = p - 0.5;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
                        45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
                     133.14166789178437745) * r + 3.387132872796366608) /
               (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
                    21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r +
                 42.313330701600911252) * r + 1.0);
    }
    r = q < 0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    if (r <= 5.0) {
        r -= 1.6;
        v = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
                 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r +
              4.6303378461565452959) * r + 1.42343711074968357734) /
            (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
                 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r +
              2.05319162663775882187) * r + 1.0);
    } else {
        r -= 5.0;
        v = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
                 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r +
              5.4637849111641143699) * r + 6.6579046435011037772) /
            (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
                 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r +
              0.59983220655588793769) * r + 1.0);
    }
    return q < 0 ? -v : v;
}

/* continued fraction for I_x(a,b) (modified Lentz), valid for x < (a+1)/(a+b+2) */
static double convrnn__m_betacf(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), h;
    int m;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    h = d;
    for (m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m, aa = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)), del;
        d = 1.0 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d; h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2));
        d = 1.0 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d; del = d * c; h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return h;
}
/* I_x(a,b) given x and y = 1 - x (both passed to avoid cancellation) */
static double convrnn__m_betainc2(double a, double b, double x, double y) {
    double lbt;
    if (x != x || y != y || a != a || b != b || a <= 0 || b <= 0) return convrnn__m_nan();
    if (x <= 0) return 0.0;
    if (y <= 0) return 1.0;
    lbt = convrnn_lgamma(a + b) - convrnn_lgamma(a) - convrnn_lgamma(b) + a * log(x) + b * log(y);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * convrnn__m_betacf(a, b, x) / a;
    return 1.0 - exp(lbt) * convrnn__m_betacf(b, a, y) / b;
}
CONVRNNDEF double convrnn_betainc(double a, double b, double x) { return convrnn__m_betainc2(a, b, x, 1.0 - x); }

static double convrnn__m_gamma_series(double a, double x) { /* P(a,x) by series, x < a+1 */
    double ap = a, sum = 1.0 / a, del = sum;
    int n;
    for (n = 0; n < 100000; n++) {
        ap += 1.0; del *= x / ap; sum += del;
        if (fabs(del) < fabs(sum) * 1e-17) break;
    }
    return sum * exp(-x + a * log(x) - convrnn_lgamma(a));
}
static double convrnn__m_gamma_cf(double a, double x) { /* Q(a,x) by continued fraction, x >= a+1 */
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    int i;
    for (i = 1; i < 100000; i++) {
        double an = -i * (i - a), del;
        b += 2.0;
        d = an * d + b; if (fabs(d) < tiny) d = tiny;
        c = b + an / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d; del = d * c; h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return exp(-x + a * log(x) - convrnn_lgamma(a)) * h;
}
CONVRNNDEF double convrnn_gammainc_p(double a, double x) {
    if (a != a || x != x || a <= 0 || x < 0) return convrnn__m_nan();
    if (x == 0) return 0.0;
    if (x == (double)INFINITY) return 1.0;
    return x < a + 1.0 ? convrnn__m_gamma_series(a, x) : 1.0 - convrnn__m_gamma_cf(a, x);
}
CONVRNNDEF double convrnn_gammainc_q(double a, double x) {
    if (a != a || x != x || a <= 0 || x < 0) return convrnn__m_nan();
    if (x == 0) return 1.0;
    if (x == (double)INFINITY) return 0.0;
    return x < a + 1.0 ? 1.0 - convrnn__m_gamma_series(a, x) : convrnn__m_gamma_cf(a, x);
}
CONVRNNDEF double convrnn_t_sf(double t, double df) {
    double x, y, tail;
    if (t != t || df != df || df <= 0) return convrnn__m_nan();
    if (t == (double)INFINITY) return 0.0;
    if (t == -(double)INFINITY) return 1.0;
    /* tail = P(T > |t|) = I_{df/(df+t^2)}(df/2, 1/2) / 2 */
    x = df / (df + t * t);
    y = t * t / (df + t * t);
    tail = 0.5 * convrnn__m_betainc2(0.5 * df, 0.5, x, y);
    return t >= 0 ? tail : 1.0 - tail;
}
CONVRNNDEF double convrnn_chi2_sf(double x, double df) {
    if (x != x || df != df || df <= 0) return convrnn__m_nan();
    if (x <= 0) return 1.0;
    return convrnn_gammainc_q(0.5 * df, 0.5 * x);
}

/* ================================================================ statistical tests */

static void convrnn__m_test_init(convrnn_test_result *r) {
    r->statistic = r->pvalue = r->z = r->df = convrnn__m_nan();
    r->n = 0;
    r->exact = 0;
}

CONVRNNDEF convrnn_status convrnn_ttest_paired(const double *a, const double *b, int n,
                                               convrnn_test_result *res, convrnn_error *err) {
    double m = 0, v = 0, t;
    int i;
    if (!a || !b || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ttest_paired: NULL argument");
    if (n < 2) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ttest_paired: need n >= 2 pairs, got %d", n);
    for (i = 0; i < n; i++)
        if (!convrnn__m_isfinite(a[i]) || !convrnn__m_isfinite(b[i]))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "ttest_paired: pair %d is not finite (%g, %g)",
                                     i, a[i], b[i]);
    convrnn__m_test_init(res);
    for (i = 0; i < n; i++) m += a[i] - b[i];
    m /= n;
    for (i = 0; i < n; i++) { double d = (a[i] - b[i]) - m; v += d * d; }
    v /= (n - 1);
    t = m / sqrt(v / n);
    res->statistic = t;
    res->df = n - 1;
    res->n = n;
    res->pvalue = t != t ? t : 2.0 * convrnn_t_sf(fabs(t), n - 1.0);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_wilcoxon(const double *a, const double *b, int n, convrnn_wilcoxon_mode mode,
                                           convrnn_test_result *res, convrnn_error *err) {
    double *d = NULL, *r = NULL, rp = 0, rm = 0, T;
    convrnn__m_vi *ws = NULL;
    int i, k, nz = 0, exact;
    if (!a || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: NULL argument");
    if (n < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "wilcoxon: need n >= 1, got %d", n);
    if (mode != CONVRNN_WILCOXON_AUTO && mode != CONVRNN_WILCOXON_EXACT && mode != CONVRNN_WILCOXON_APPROX)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: unknown mode %d", (int)mode);
    convrnn__m_test_init(res);
    d = convrnn__m_dcalloc((size_t)2 * n);
    r = convrnn__m_dcalloc((size_t)n);
    ws = convrnn__m_vi_alloc((size_t)n);
    if (!d || !r || !ws) {
        convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "wilcoxon: out of memory (n=%d)", n);
    }
    for (i = 0; i < n; i++) {
        d[i] = b ? a[i] - b[i] : a[i];
        if (!convrnn__m_isfinite(d[i])) {
            convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "wilcoxon: difference %d is not finite", i);
        }
        if (d[i] == 0) nz++;
    }
    exact = mode == CONVRNN_WILCOXON_EXACT || (mode == CONVRNN_WILCOXON_AUTO && n <= 50);
    if (nz > 0 && exact) exact = 0; /* scipy switches to the approximation when there are zeros */
    k = n;
    if (!exact) {
        if (nz == n) {
            convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: all %d differences are zero", n);
        }
        for (i = 0, k = 0; i < n; i++)
            if (d[i] != 0) d[k++] = d[i];
    }
    for (i = 0; i < k; i++) r[i] = fabs(d[i]);
    convrnn__m_rank_ws(r, (size_t)k, d + n, ws);
    for (i = 0; i < k; i++) r[i] = d[n + i];
    for (i = 0; i < k; i++) {
        if (d[i] > 0) rp += r[i];
        else if (d[i] < 0) rm += r[i];
    }
    T = rp < rm ? rp : rm;
    res->statistic = T;
    res->n = k;
    res->exact = exact;
    if (!exact) {
        double mn = k * (k + 1.0) * 0.25, se = k * (k + 1.0) * (2.0 * k + 1.0), z;
        /* tie correction over repeated ranks (ranks are sorted in ws after ranking) */
        int j;
        for (i = 0; i < k; i++) ws[i].v = r[i];
        convrnn__m_sort_vi(ws, ws + k, (size_t)k);
        for (i = 0; i < k; i = j) {
            for (j = i + 1; j < k && ws[j].v == ws[i].v; j++) {}
            if (j - i > 1) { double t = (double)(j - i); se -= 0.5 * t * (t * t - 1.0); }
        }
        se = sqrt(se / 24.0);
        z = (T - mn) / se;
        res->z = z;
        res->pvalue = 2.0 * convrnn_norm_sf(fabs(z));
    } else {
        /* exact pmf of r_plus by the recursion scipy uses (probabilities halved at each step) */
        int tot = k * (k + 1) / 2, m, rpi = (int)rp, c;
        double *pmf = convrnn__m_dcalloc((size_t)tot + 1), *prev = convrnn__m_dcalloc((size_t)tot + 1);
        if (!pmf || !prev) {
            convrnn_free(NULL, pmf); convrnn_free(NULL, prev);
            convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "wilcoxon: out of memory (n=%d)", n);
        }
        pmf[0] = 1.0;
        m = 1;
        for (c = 1; c <= k; c++) {
            int len = c * (c + 1) / 2 + 1, s;
            memcpy(prev, pmf, (size_t)m * sizeof(double));
            for (s = 0; s < len; s++) pmf[s] = 0;
            for (s = 0; s < m; s++) pmf[s] = prev[s] * 0.5;
            for (s = 0; s < m; s++) pmf[len - m + s] += prev[s] * 0.5;
            m = len;
        }
        if (rpi == tot / 2) {
            res->pvalue = 1.0;
        } else {
            double pl = 0, pg = 0, p;
            for (c = 0; c <= rpi; c++) pl += pmf[c];
            for (c = rpi; c <= tot; c++) pg += pmf[c];
            p = 2.0 * (pl < pg ? pl : pg);
            res->pvalue = p > 1 ? 1 : (p < 0 ? 0 : p);
        }
        convrnn_free(NULL, pmf); convrnn_free(NULL, prev);
    }
    convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_friedman(const double *data, int n_blocks, int k, convrnn_test_result *res,
                                           convrnn_error *err) {
    double *rk, *rs, ties = 0, c, ssbn = 0, chi;
    convrnn__m_vi *ws;
    int i, j, l;
    size_t cnt;
    if (!data || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "friedman: NULL argument");
    if (k < 3) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "friedman: need k >= 3 treatments, got %d", k);
    if (n_blocks < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "friedman: need >= 1 block, got %d", n_blocks);
    if (!convrnn__m_count2((size_t)n_blocks, (size_t)k, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "friedman: %d x %d overflows", n_blocks, k);
    for (i = 0; i < (int)cnt; i++)
        if (!convrnn__m_isfinite(data[i]))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "friedman: block %d treatment %d is not finite",
                                     i / k, i % k);
    convrnn__m_test_init(res);
    rk = convrnn__m_dalloc((size_t)k);
    rs = convrnn__m_dcalloc((size_t)k);
    ws = convrnn__m_vi_alloc((size_t)k);
    if (!rk || !rs || !ws) {
        convrnn_free(NULL, rk); convrnn_free(NULL, rs); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "friedman: out of memory");
    }
    for (i = 0; i < n_blocks; i++) {
        convrnn__m_rank_ws(data + (size_t)i * k, (size_t)k, rk, ws);
        for (j = 0; j < k; j++) rs[j] += rk[j];
        /* ties within the block: ws holds the sorted values */
        for (j = 0; j < k; j = l) {
            for (l = j + 1; l < k && ws[l].v == ws[j].v; l++) {}
            if (l - j > 1) { double t = (double)(l - j); ties += t * (t * t - 1.0); }
        }
    }
    c = 1.0 - ties / ((double)k * ((double)k * k - 1.0) * n_blocks);
    for (j = 0; j < k; j++) ssbn += rs[j] * rs[j];
    chi = (12.0 / ((double)k * n_blocks * (k + 1.0)) * ssbn - 3.0 * n_blocks * (k + 1.0)) / c;
    res->statistic = chi;
    res->df = k - 1;
    res->n = n_blocks;
    res->pvalue = convrnn_chi2_sf(chi, k - 1.0);
    convrnn_free(NULL, rk); convrnn_free(NULL, rs); convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

CONVRNNDEF double convrnn_bonferroni(double p, int m) {
    double v = p * (double)m;
    if (p != p) return p;
    return v > 1.0 ? 1.0 : v;
}

/* ================================================================ splits */

CONVRNNDEF void convrnn_splits_free(convrnn_splits *s) {
    if (!s) return;
    convrnn_free(NULL, s->train); convrnn_free(NULL, s->test);
    convrnn_free(NULL, s->train_start); convrnn_free(NULL, s->test_start);
    memset(s, 0, sizeof *s);
}

static convrnn_status convrnn__m_splits_alloc(convrnn_splits *s, int n_splits, int n, size_t n_train_total,
                                            size_t n_test_total, convrnn_error *err) {
    size_t b1, b2;
    memset(s, 0, sizeof *s);
    s->n_splits = n_splits;
    s->n = n;
    if (!convrnn_size_mul(n_train_total ? n_train_total : 1, sizeof(int), &b1) ||
        !convrnn_size_mul(n_test_total ? n_test_total : 1, sizeof(int), &b2))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "splits: size overflow");
    s->train = (int *)convrnn_malloc(NULL, b1);
    s->test = (int *)convrnn_malloc(NULL, b2);
    s->train_start = (size_t *)convrnn_calloc(NULL, (size_t)n_splits + 1, sizeof(size_t));
    s->test_start = (size_t *)convrnn_calloc(NULL, (size_t)n_splits + 1, sizeof(size_t));
    if (!s->train || !s->test || !s->train_start || !s->test_start) {
        convrnn_splits_free(s);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory (%d splits of %d items)", n_splits, n);
    }
    return CONVRNN_OK;
}

static int convrnn__m_cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}
static void convrnn__m_shuffle_int(int *v, int n, convrnn_rng *rng) { /* Fisher-Yates */
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)convrnn_rng_below(rng, (uint32_t)(i + 1)), t = v[i];
        v[i] = v[j]; v[j] = t;
    }
}

/* sklearn _approximate_mode with our RNG for ties */
static void convrnn__m_approx_mode(const int *counts, int n_classes, int n_draws, int *out, double *rem, int *idx,
                                 convrnn_rng *rng) {
    double total = 0;
    int c, need, done = 0;
    for (c = 0; c < n_classes; c++) total += counts[c];
    need = n_draws;
    for (c = 0; c < n_classes; c++) {
        double cont = (double)counts[c] / total * (double)n_draws, fl = floor(cont);
        out[c] = (int)fl;
        rem[c] = cont - fl;
        need -= out[c];
    }
    while (need > 0 && !done) {
        /* largest remaining remainder value, all classes sharing it */
        double best = -1;
        int m = 0, take, i;
        for (c = 0; c < n_classes; c++)
            if (rem[c] > best) best = rem[c];
        if (best < 0) break;
        for (c = 0; c < n_classes; c++)
            if (rem[c] == best) idx[m++] = c;
        take = m < need ? m : need;
        convrnn__m_shuffle_int(idx, m, rng);
        for (i = 0; i < take; i++) out[idx[i]]++;
        for (i = 0; i < m; i++) rem[idx[i]] = -2; /* consumed */
        need -= take;
        if (m == 0) done = 1;
    }
}

CONVRNNDEF convrnn_status convrnn_splits_shuffle(convrnn_splits *out, int n, int n_splits, double train_size,
                                                 double test_size, const int *strata, uint64_t seed,
                                                 convrnn_error *err) {
    int n_train, n_test, s, i;
    convrnn_rng rng;
    convrnn_status st;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: NULL output");
    memset(out, 0, sizeof *out);
    if (n < 2 || n_splits < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "splits_shuffle: need n >= 2 and n_splits >= 1 (n=%d, splits=%d)",
                                 n, n_splits);
    if (!(train_size >= 0) || !(test_size >= 0) || (train_size == 0 && test_size == 0) ||
        (train_size >= 1 && train_size != floor(train_size)) || (test_size >= 1 && test_size != floor(test_size)))
        return convrnn_error_set(err, CONVRNN_ERR_ARG,
                                 "splits_shuffle: train_size=%g / test_size=%g must be fractions in (0,1), integer counts, or 0",
                                 train_size, test_size);
    n_test = test_size > 0 ? (test_size < 1 ? (int)ceil(test_size * n) : (int)test_size) : -1;
    n_train = train_size > 0 ? (train_size < 1 ? (int)floor(train_size * n) : (int)train_size) : -1;
    if (n_test < 0) n_test = n - n_train;
    if (n_train < 0) n_train = n - n_test;
    if (n_train < 1 || n_test < 1 || n_train + n_test > n)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: sizes train=%d test=%d do not fit n=%d",
                                 n_train, n_test, n);
    st = convrnn__m_splits_alloc(out, n_splits, n, (size_t)n_splits * n_train, (size_t)n_splits * n_test, err);
    if (st) return st;
    convrnn_rng_seed(&rng, seed);
    if (!strata) {
        int *perm = convrnn__m_ialloc((size_t)n);
        if (!perm) { convrnn_splits_free(out); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory"); }
        for (s = 0; s < n_splits; s++) {
            int *tr = out->train + (size_t)s * n_train, *te = out->test + (size_t)s * n_test;
            for (i = 0; i < n; i++) perm[i] = i;
            convrnn__m_shuffle_int(perm, n, &rng);
            memcpy(te, perm, (size_t)n_test * sizeof(int));
            memcpy(tr, perm + n_test, (size_t)n_train * sizeof(int));
            qsort(tr, (size_t)n_train, sizeof(int), convrnn__m_cmp_int);
            qsort(te, (size_t)n_test, sizeof(int), convrnn__m_cmp_int);
            out->train_start[s + 1] = out->train_start[s] + (size_t)n_train;
            out->test_start[s + 1] = out->test_start[s] + (size_t)n_test;
        }
        convrnn_free(NULL, perm);
        return CONVRNN_OK;
    } else {
        int n_classes = 0, c, *counts, *ntr, *nte, *left, *idx, *members, *mstart, *fill;
        double *rem;
        for (i = 0; i < n; i++) {
            if (strata[i] < 0) { convrnn_splits_free(out); return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: strata[%d] = %d is negative", i, strata[i]); }
            if (strata[i] >= n_classes) n_classes = strata[i] + 1;
        }
        counts = (int *)convrnn_calloc(NULL, (size_t)n_classes * 6 + 1, sizeof(int));
        rem = convrnn__m_dalloc((size_t)n_classes);
        members = convrnn__m_ialloc((size_t)n);
        if (!counts || !rem || !members) {
            convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_splits_free(out);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory");
        }
        ntr = counts + n_classes; nte = ntr + n_classes; left = nte + n_classes; idx = left + n_classes;
        mstart = idx + n_classes; /* n_classes + 1 */
        for (i = 0; i < n; i++) counts[strata[i]]++;
        {
            int nonempty = 0, bad = -1;
            for (c = 0; c < n_classes; c++)
                if (counts[c] > 0) { nonempty++; if (counts[c] < 2 && bad < 0) bad = c; }
            /* compact away empty class ids */
            if (bad >= 0 || n_train < nonempty || n_test < nonempty) {
                convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_splits_free(out);
                if (bad >= 0)
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: class %d has only 1 member; stratified splits need >= 2", bad);
                return convrnn_error_set(err, CONVRNN_ERR_ARG,
                                         "splits_shuffle: train=%d and test=%d must each be >= the number of classes (%d)",
                                         n_train, n_test, nonempty);
            }
        }
        mstart[0] = 0;
        for (c = 0; c < n_classes; c++) mstart[c + 1] = mstart[c] + counts[c];
        fill = (int *)convrnn_calloc(NULL, (size_t)n_classes + 1, sizeof(int));
        if (!fill) {
            convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_splits_free(out);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory");
        }
        for (i = 0; i < n; i++) members[mstart[strata[i]] + fill[strata[i]]++] = i;
        convrnn_free(NULL, fill);
        for (s = 0; s < n_splits; s++) {
            int *tr = out->train + (size_t)s * n_train, *te = out->test + (size_t)s * n_test, kt = 0, ke = 0;
            convrnn__m_approx_mode(counts, n_classes, n_train, ntr, rem, idx, &rng);
            for (c = 0; c < n_classes; c++) left[c] = counts[c] - ntr[c];
            convrnn__m_approx_mode(left, n_classes, n_test, nte, rem, idx, &rng);
            for (c = 0; c < n_classes; c++) {
                int *mem = members + mstart[c];
                /* members is re-permuted in place; the order it starts from is itself seeded */
                convrnn__m_shuffle_int(mem, counts[c], &rng);
                for (i = 0; i < ntr[c]; i++) tr[kt++] = mem[i];
                for (i = 0; i < nte[c]; i++) te[ke++] = mem[ntr[c] + i];
            }
            qsort(tr, (size_t)n_train, sizeof(int), convrnn__m_cmp_int);
            qsort(te, (size_t)n_test, sizeof(int), convrnn__m_cmp_int);
            out->train_start[s + 1] = out->train_start[s] + (size_t)n_train;
            out->test_start[s + 1] = out->test_start[s] + (size_t)n_test;
        }
        convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members);
        return CONVRNN_OK;
    }
}

CONVRNNDEF convrnn_status convrnn_splits_from_mask(convrnn_splits *out, const int *mask, int n_splits, int n,
                                                   convrnn_error *err) {
    size_t ntr = 0, nte = 0, cnt;
    int s, i;
    convrnn_status st;
    if (!out || !mask) return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_mask: NULL argument");
    memset(out, 0, sizeof *out);
    if (n < 1 || n_splits < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "splits_from_mask: bad shape (%d, %d)", n_splits, n);
    if (!convrnn__m_count2((size_t)n_splits, (size_t)n, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "splits_from_mask: size overflow");
    for (s = 0; s < n_splits; s++) {
        int a = 0, b = 0;
        for (i = 0; i < n; i++) {
            int v = mask[(size_t)s * n + i];
            if (v == 1) a++;
            else if (v == 0) b++;
        }
        if (a < 1 || b < 1)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_mask: split %d has %d train and %d test items (need >= 1 each)", s, a, b);
        ntr += (size_t)a; nte += (size_t)b;
    }
    st = convrnn__m_splits_alloc(out, n_splits, n, ntr, nte, err);
    if (st) return st;
    ntr = nte = 0;
    for (s = 0; s < n_splits; s++) {
        for (i = 0; i < n; i++) {
            int v = mask[(size_t)s * n + i];
            if (v == 1) out->train[ntr++] = i;
            else if (v == 0) out->test[nte++] = i;
        }
        out->train_start[s + 1] = ntr;
        out->test_start[s + 1] = nte;
    }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_splits_from_lists(convrnn_splits *out, int n, int n_splits, const int *train,
                                                    const size_t *train_start, const int *test,
                                                    const size_t *test_start, convrnn_error *err) {
    int *mask, k;
    size_t i, cnt;
    convrnn_status st;
    if (!out || !train || !train_start || !test || !test_start)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: NULL argument");
    memset(out, 0, sizeof *out);
    if (n < 1 || n_splits < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "splits_from_lists: bad shape (%d splits, %d items)", n_splits, n);
    if (!convrnn__m_count2((size_t)n_splits, (size_t)n, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "splits_from_lists: overflow");
    mask = convrnn__m_ialloc(cnt);
    if (!mask) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits_from_lists: out of memory");
    for (i = 0; i < cnt; i++) mask[i] = -1;
    for (k = 0; k < n_splits; k++) {
        int side;
        for (side = 0; side < 2; side++) {
            const int *idx = side ? test : train;
            const size_t *st0 = side ? test_start : train_start;
            if (st0[k + 1] < st0[k]) {
                convrnn_free(NULL, mask);
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d %s offsets decrease", k, side ? "test" : "train");
            }
            for (i = st0[k]; i < st0[k + 1]; i++) {
                int v = idx[i];
                if (v < 0 || v >= n) {
                    convrnn_free(NULL, mask);
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d %s index %d outside [0, %d)", k, side ? "test" : "train", v, n);
                }
                if (mask[(size_t)k * n + v] == 0 || (mask[(size_t)k * n + v] == 1 && side)) {
                    convrnn_free(NULL, mask);
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d has image %d in both train and test", k, v);
                }
                mask[(size_t)k * n + v] = side ? 0 : 1;
            }
        }
    }
    st = convrnn_splits_from_mask(out, mask, n_splits, n, err);
    convrnn_free(NULL, mask);
    return st;
}

CONVRNNDEF void convrnn_splits_to_mask(const convrnn_splits *s, int *mask) {
    int k;
    size_t i;
    for (i = 0; i < (size_t)s->n_splits * (size_t)s->n; i++) mask[i] = -1;
    for (k = 0; k < s->n_splits; k++) {
        for (i = s->train_start[k]; i < s->train_start[k + 1]; i++) mask[(size_t)k * s->n + s->train[i]] = 1;
        for (i = s->test_start[k]; i < s->test_start[k + 1]; i++) mask[(size_t)k * s->n + s->test[i]] = 0;
    }
}

static convrnn_status convrnn__m_check_splits(const convrnn_splits *s, int n, const char *who, convrnn_error *err) {
    int k;
    size_t i;
    if (!s || !s->train || !s->test || !s->train_start || !s->test_start || s->n_splits < 1)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: splits are empty or NULL", who);
    if (s->n != n)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "%s: splits are for %d items, data has %d", who, s->n, n);
    for (k = 0; k < s->n_splits; k++) {
        if (s->train_start[k + 1] <= s->train_start[k] || s->test_start[k + 1] <= s->test_start[k])
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: split %d has an empty train or test set", who, k);
        for (i = s->train_start[k]; i < s->train_start[k + 1]; i++)
            if (s->train[i] < 0 || s->train[i] >= n)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: split %d train index %d out of range [0,%d)", who, k, s->train[i], n);
        for (i = s->test_start[k]; i < s->test_start[k + 1]; i++)
            if (s->test[i] < 0 || s->test[i] >= n)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: split %d test index %d out of range [0,%d)", who, k, s->test[i], n);
    }
    return CONVRNN_OK;
}

/* ================================================================ dense kernels (deterministic) */

#define CONVRNN__M_PAR_MIN 1000000.0  /* below this many multiply-adds a loop stays on one thread */

/* y[i] = X[i,:] . w, i < n  (X n x p) */
static void convrnn__m_gemv_rows(const double *X, int n, int p, const double *w, double *y) {
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) if ((double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) y[i] = convrnn__m_dot(X + (size_t)i * p, w, (size_t)p);
}
/* y[j] = sum_i X[i,j] t[i], j < p. Rows are streamed in a fixed number of contiguous chunks whose
   partial sums are added in chunk order, so the result does not depend on the thread count. */
#define CONVRNN__M_NCH 16
static void convrnn__m_gemv_cols(const double *X, int n, int p, const double *t, double *y) {
    double *part;
    int c, j;
    if ((double)n * p <= CONVRNN__M_PAR_MIN ||
        !(part = convrnn__m_dalloc((size_t)CONVRNN__M_NCH * (size_t)p))) {
        int i;
        for (j = 0; j < p; j++) y[j] = 0;
        for (i = 0; i < n; i++) convrnn__m_axpy(y, t[i], X + (size_t)i * p, (size_t)p);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
    for (c = 0; c < CONVRNN__M_NCH; c++) {
        int per = (n + CONVRNN__M_NCH - 1) / CONVRNN__M_NCH, i0 = c * per, i1 = i0 + per < n ? i0 + per : n, i, k;
        double *yy = part + (size_t)c * p;
        for (k = 0; k < p; k++) yy[k] = 0;
        for (i = i0; i < i1; i++) convrnn__m_axpy(yy, t[i], X + (size_t)i * p, (size_t)p);
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (j = 0; j < p; j++) {
        double s = part[j];
        for (c = 1; c < CONVRNN__M_NCH; c++) s += part[(size_t)c * p + j];
        y[j] = s;
    }
    convrnn_free(NULL, part);
}

/* Fused pass for PLS: t[i] = X[i,:] . w - sum_j coef[j] T[j][i] (j < k, in order), then
   y = X' t, reading each row once (it is still in cache for the second product). The result is
   bitwise the same as gemv_rows, the corrections, then gemv_cols. */
static void convrnn__m_gemv_fused(const double *X, int n, int p, const double *w, const double *T, const double *coef,
                                  int k, double *t, double *y) {
    double *part = NULL;
    int c, j, nch = CONVRNN__M_NCH;
    if ((double)n * p <= CONVRNN__M_PAR_MIN || !(part = convrnn__m_dalloc((size_t)CONVRNN__M_NCH * (size_t)p))) {
        int i;
        for (i = 0; i < n; i++) {
            double v = convrnn__m_dot(X + (size_t)i * p, w, (size_t)p);
            for (j = 0; j < k; j++) v += -coef[j] * T[(size_t)j * n + i];
            t[i] = v;
        }
        convrnn__m_gemv_cols(X, n, p, t, y);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
    for (c = 0; c < nch; c++) {
        int per = (n + CONVRNN__M_NCH - 1) / CONVRNN__M_NCH, i0 = c * per, i1 = i0 + per < n ? i0 + per : n, i, l;
        double *yy = part + (size_t)c * p;
        for (l = 0; l < p; l++) yy[l] = 0;
        for (i = i0; i < i1; i++) {
            const double *xr = X + (size_t)i * p;
            double v = convrnn__m_dot(xr, w, (size_t)p);
            for (l = 0; l < k; l++) v += -coef[l] * T[(size_t)l * n + i];
            t[i] = v;
            convrnn__m_axpy(yy, v, xr, (size_t)p);
        }
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (j = 0; j < p; j++) {
        double s = part[j];
        for (c = 1; c < CONVRNN__M_NCH; c++) s += part[(size_t)c * p + j];
        y[j] = s;
    }
    convrnn_free(NULL, part);
}

/* C (m x q) = A^T B with A (n x m), B (n x q), row-major. Packed 4x4 register blocks over chunks
   of 256 rows; every C[j][c] is summed over i in increasing order by the same code path whatever
   the thread count. */
#define CONVRNN__M_KC 256
#define CONVRNN__M_MB 64
static void convrnn__m_kern4x4(const double *a, const double *b, int ldb, int kc, double *c, int ldc) {
#if defined(CONVRNN__M_VEC4)
    convrnn__m_v4 c0, c1, c2, c3, bv;
    int i;
    memcpy(&c0, c, 32); memcpy(&c1, c + ldc, 32); memcpy(&c2, c + 2 * ldc, 32); memcpy(&c3, c + 3 * ldc, 32);
    for (i = 0; i < kc; i++) {
        const double *ar = a + 4 * i;
        memcpy(&bv, b + (size_t)i * ldb, 32);
        c0 += ar[0] * bv; c1 += ar[1] * bv; c2 += ar[2] * bv; c3 += ar[3] * bv;
    }
    memcpy(c, &c0, 32); memcpy(c + ldc, &c1, 32); memcpy(c + 2 * ldc, &c2, 32); memcpy(c + 3 * ldc, &c3, 32);
#elif defined(CONVRNN__M_VEC)
    convrnn__m_v2 c0, d0, c1, d1, c2, d2, c3, d3, bv, bw;
    int i;
    memcpy(&c0, c, 16); memcpy(&d0, c + 2, 16); memcpy(&c1, c + ldc, 16); memcpy(&d1, c + ldc + 2, 16);
    memcpy(&c2, c + 2 * ldc, 16); memcpy(&d2, c + 2 * ldc + 2, 16);
    memcpy(&c3, c + 3 * ldc, 16); memcpy(&d3, c + 3 * ldc + 2, 16);
    for (i = 0; i < kc; i++) {
        const double *ar = a + 4 * i;
        memcpy(&bv, b + (size_t)i * ldb, 16); memcpy(&bw, b + (size_t)i * ldb + 2, 16);
        c0 += ar[0] * bv; d0 += ar[0] * bw; c1 += ar[1] * bv; d1 += ar[1] * bw;
        c2 += ar[2] * bv; d2 += ar[2] * bw; c3 += ar[3] * bv; d3 += ar[3] * bw;
    }
    memcpy(c, &c0, 16); memcpy(c + 2, &d0, 16); memcpy(c + ldc, &c1, 16); memcpy(c + ldc + 2, &d1, 16);
    memcpy(c + 2 * ldc, &c2, 16); memcpy(c + 2 * ldc + 2, &d2, 16);
    memcpy(c + 3 * ldc, &c3, 16); memcpy(c + 3 * ldc + 2, &d3, 16);
#else
    double c00 = c[0], c01 = c[1], c02 = c[2], c03 = c[3];
    double c10 = c[ldc], c11 = c[ldc + 1], c12 = c[ldc + 2], c13 = c[ldc + 3];
    double c20 = c[2 * ldc], c21 = c[2 * ldc + 1], c22 = c[2 * ldc + 2], c23 = c[2 * ldc + 3];
    double c30 = c[3 * ldc], c31 = c[3 * ldc + 1], c32 = c[3 * ldc + 2], c33 = c[3 * ldc + 3];
    int i;
    for (i = 0; i < kc; i++) {
        const double *br = b + (size_t)i * ldb, *ar = a + 4 * i;
        double b0 = br[0], b1 = br[1], b2 = br[2], b3 = br[3];
        double a0 = ar[0], a1 = ar[1], a2 = ar[2], a3 = ar[3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    }
    c[0] = c00; c[1] = c01; c[2] = c02; c[3] = c03;
    c[ldc] = c10; c[ldc + 1] = c11; c[ldc + 2] = c12; c[ldc + 3] = c13;
    c[2 * ldc] = c20; c[2 * ldc + 1] = c21; c[2 * ldc + 2] = c22; c[2 * ldc + 3] = c23;
    c[3 * ldc] = c30; c[3 * ldc + 1] = c31; c[3 * ldc + 2] = c32; c[3 * ldc + 3] = c33;
#endif
}
/* generic edge kernel: same accumulation order (per element, increasing i) */
static void convrnn__m_kern_edge(const double *a, int mr, const double *b, int ldb, int nr, int kc, double *c, int ldc) {
    int r, s, i;
    for (r = 0; r < mr; r++)
        for (s = 0; s < nr; s++) {
            double acc = c[(size_t)r * ldc + s];
            for (i = 0; i < kc; i++) acc += a[4 * i + r] * b[(size_t)i * ldb + s];
            c[(size_t)r * ldc + s] = acc;
        }
}
static convrnn_status convrnn__m_gemm_tn(const double *A, int n, int m, const double *B, int q, double *C) {
    int nb = (m + CONVRNN__M_MB - 1) / CONVRNN__M_MB, b, fail = 0;
    memset(C, 0, (size_t)m * q * sizeof(double));
#ifdef _OPENMP
#pragma omp parallel if ((double)n * m * q > CONVRNN__M_PAR_MIN)
#endif
    {
        double *pk = convrnn__m_dalloc((size_t)CONVRNN__M_KC * CONVRNN__M_MB);
        if (!pk) {
#ifdef _OPENMP
#pragma omp atomic
#endif
            fail++;
        }
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (b = 0; b < nb; b++) {
            int j0 = b * CONVRNN__M_MB, j1 = j0 + CONVRNN__M_MB < m ? j0 + CONVRNN__M_MB : m, i0;
            if (!pk) continue;
            for (i0 = 0; i0 < n; i0 += CONVRNN__M_KC) {
                int kc = i0 + CONVRNN__M_KC < n ? CONVRNN__M_KC : n - i0, jp, i, r, c0;
                /* pack A[i0:i0+kc, j0:j1] as panels of 4 columns: pk[panel][i][4] */
                for (jp = j0; jp < j1; jp += 4) {
                    double *dst = pk + (size_t)(jp - j0) * kc;
                    int mr = j1 - jp < 4 ? j1 - jp : 4;
                    for (i = 0; i < kc; i++) {
                        const double *src = A + (size_t)(i0 + i) * m + jp;
                        for (r = 0; r < mr; r++) dst[4 * i + r] = src[r];
                        for (; r < 4; r++) dst[4 * i + r] = 0;
                    }
                }
                for (c0 = 0; c0 < q; c0 += 4) {
                    int nr = q - c0 < 4 ? q - c0 : 4;
                    for (jp = j0; jp < j1; jp += 4) {
                        int mr = j1 - jp < 4 ? j1 - jp : 4;
                        const double *pa = pk + (size_t)(jp - j0) * kc, *pb = B + (size_t)i0 * q + c0;
                        double *pc = C + (size_t)jp * q + c0;
                        if (mr == 4 && nr == 4) convrnn__m_kern4x4(pa, pb, q, kc, pc, q);
                        else convrnn__m_kern_edge(pa, mr, pb, q, nr, kc, pc, q);
                    }
                }
            }
        }
        convrnn_free(NULL, pk);
    }
    return fail ? CONVRNN_ERR_NOMEM : CONVRNN_OK;
}

/* G (m x m) = S^T S for S (p x m): symmetric, computed as gemm_tn of S with itself */
static convrnn_status convrnn__m_syrk_tn(const double *S, int p, int m, double *G) {
    return convrnn__m_gemm_tn(S, p, m, S, m, G);
}
/* G (p x p) = S S^T for S (p x q): G[i][j] = S_i . S_j */
static void convrnn__m_syrk_nt(const double *S, int p, int q, double *G) {
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if ((double)p * p * q > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < p; i++) {
        int j;
        for (j = 0; j < p; j++) G[(size_t)i * p + j] = convrnn__m_dot(S + (size_t)i * q, S + (size_t)j * q, (size_t)q);
    }
}
/* out = G v for symmetric explicit m x m G */
static void convrnn__m_symv(const double *G, int m, const double *v, double *out) {
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)m * m > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < m; i++) out[i] = convrnn__m_dot(G + (size_t)i * m, v, (size_t)m);
}

/* ================================================================ PLS */

CONVRNNDEF void convrnn_pls_options_default(convrnn_pls_options *o) {
    o->n_components = 25;
    o->algorithm = CONVRNN_PLS_NIPALS;
    o->max_iter = 500;
    o->tol = 1e-6;
}

CONVRNNDEF void convrnn_pls_free(convrnn_pls *m) {
    if (!m) return;
    convrnn_free(NULL, m->x_mean); convrnn_free(NULL, m->y_mean);
    convrnn_free(NULL, m->x_weights); convrnn_free(NULL, m->x_loadings);
    convrnn_free(NULL, m->y_loadings); convrnn_free(NULL, m->x_rotations);
    convrnn_free(NULL, m->x_scores); convrnn_free(NULL, m->coef); convrnn_free(NULL, m->n_iter);
    memset(m, 0, sizeof *m);
}

/* Largest min(p,q) for which the Gram matrix of S is stored (above it, it is applied through S). */
#ifndef CONVRNN__M_GRAM_MAX
#define CONVRNN__M_GRAM_MAX 3000
#endif

/* The small Gram operator of S (p x q): q-space G = S^T S (iterate v, w = S v) when q <= p,
   else p-space G = S S^T (iterate w directly). Explicit when m is moderate, else applied through S. */
typedef struct convrnn__m_gram {
    int p, q, m, qspace, explicit_g;
    double *S;      /* p x q, owned by the caller */
    double *G;      /* m x m or NULL */
    double *tmp;    /* max(p, q) */
} convrnn__m_gram;

static void convrnn__m_gram_apply(const convrnn__m_gram *g, const double *v, double *out) {
    if (g->explicit_g) { convrnn__m_symv(g->G, g->m, v, out); return; }
    if (g->qspace) { /* out = S^T (S v) */
        convrnn__m_gemv_rows(g->S, g->p, g->q, v, g->tmp);
        convrnn__m_gemv_cols(g->S, g->p, g->q, g->tmp, out);
    } else {         /* out = S (S^T v) */
        convrnn__m_gemv_cols(g->S, g->p, g->q, v, g->tmp);
        convrnn__m_gemv_rows(g->S, g->p, g->q, g->tmp, out);
    }
}
/* w (p) = unit vector along M v, M = S (q-space) or I (p-space) */
static void convrnn__m_gram_to_w(const convrnn__m_gram *g, const double *v, double *w) {
    double nrm;
    int j;
    if (g->qspace) convrnn__m_gemv_rows(g->S, g->p, g->q, v, w);
    else memcpy(w, v, (size_t)g->p * sizeof(double));
    nrm = sqrt(convrnn__m_dot(w, w, (size_t)g->p));
    if (nrm > 0)
        for (j = 0; j < g->p; j++) w[j] /= nrm;
}
/* |M v|^2 given b = G v */
static double convrnn__m_gram_norm2(const convrnn__m_gram *g, const double *v, const double *b) {
    return g->qspace ? convrnn__m_dot(v, b, (size_t)g->m) : convrnn__m_dot(v, v, (size_t)g->m);
}
static convrnn_status convrnn__m_gram_refresh(convrnn__m_gram *g) {
    if (!g->explicit_g) return CONVRNN_OK;
    if (g->qspace) return convrnn__m_syrk_tn(g->S, g->p, g->q, g->G);
    convrnn__m_syrk_nt(g->S, g->p, g->q, g->G);
    return CONVRNN_OK;
}

/* sklearn's NIPALS power iteration, run in the Gram space. start: v0 (m). Returns the iterate v
   whose image M v is w; *n_iter as sklearn counts it. ws: 4m doubles. */
static void convrnn__m_nipals_power(const convrnn__m_gram *g, double *v, int max_iter, double tol, int *n_iter,
                                  double *ws) {
    int m = g->m, it, i;
    double *b = ws, *vn = ws + m, *bn = ws + 2 * m, n2, n2n;
    convrnn__m_gram_apply(g, v, b);
    n2 = convrnn__m_gram_norm2(g, v, b);
    it = 1;
    if (g->q == 1 || !(n2 > 0)) { *n_iter = 1; return; }
    while (it < max_iter) {
        double s = 1.0 / sqrt(n2), sn, diff2 = 0;
        for (i = 0; i < m; i++) vn[i] = b[i] * s; /* v_{i+1} ~ G v_i */
        convrnn__m_gram_apply(g, vn, bn);
        n2n = convrnn__m_gram_norm2(g, vn, bn);
        it++;
        if (!(n2n > 0)) break;
        sn = 1.0 / sqrt(n2n);
        /* |w_new - w_old|^2 = d' G d (q-space) or d'd (p-space), d = vn/|M vn| - v/|M v| */
        if (g->qspace) {
            for (i = 0; i < m; i++) diff2 += (vn[i] * sn - v[i] * s) * (bn[i] * sn - b[i] * s);
        } else {
            for (i = 0; i < m; i++) { double d = vn[i] * sn - v[i] * s; diff2 += d * d; }
        }
        memcpy(v, vn, (size_t)m * sizeof(double));
        memcpy(b, bn, (size_t)m * sizeof(double));
        n2 = n2n;
        if (diff2 < tol) break;
    }
    *n_iter = it;
}

/* largest eigenvalue of the symmetric tridiagonal (a[0..k-1], e[1..k-1] off-diagonal) by bisection */
static double convrnn__m_tri_top_eig(const double *a, const double *e, int k) {
    double lo = a[0], hi = a[0];
    int i, iter;
    for (i = 0; i < k; i++) {
        double r = (i > 0 ? fabs(e[i]) : 0) + (i + 1 < k ? fabs(e[i + 1]) : 0);
        if (a[i] - r < lo) lo = a[i] - r;
        if (a[i] + r > hi) hi = a[i] + r;
    }
    for (iter = 0; iter < 200; iter++) {
        double x = 0.5 * (lo + hi), d = 1.0;
        int cnt = 0; /* eigenvalues < x */
        if (x <= lo || x >= hi) break;
        for (i = 0; i < k; i++) {
            d = a[i] - x - (i > 0 ? e[i] * e[i] / d : 0.0);
            if (d == 0) d = -DBL_MIN * 1e10;
            if (d < 0) cnt++;
        }
        if (cnt == k) hi = x; /* all below x: top < x */
        else lo = x;
    }
    return hi;
}
/* eigenvector of the tridiagonal for eigenvalue th by inverse iteration (partial pivoting) */
static void convrnn__m_tri_eigvec(const double *a, const double *e, int k, double th, double *y, double *ws) {
    double *dl = ws, *d = ws + k, *du = ws + 2 * k, *du2 = ws + 3 * k, *x = ws + 4 * k, scale = 0;
    int i, it;
    for (i = 0; i < k; i++) scale += fabs(a[i]) + (i > 0 ? fabs(e[i]) : 0);
    if (!(scale > 0)) scale = 1;
    for (i = 0; i < k; i++) y[i] = 1.0 / sqrt((double)k) * (1.0 + 0.01 * (double)((i * 7919) % 13));
    for (it = 0; it < 4; it++) {
        double nrm = 0;
        /* factor T - th I (LAPACK dgttrf style) */
        for (i = 0; i < k; i++) { d[i] = a[i] - th; dl[i] = i + 1 < k ? e[i + 1] : 0; du[i] = i + 1 < k ? e[i + 1] : 0; du2[i] = 0; }
        for (i = 0; i < k; i++) x[i] = y[i];
        for (i = 0; i + 1 < k; i++) {
            if (fabs(d[i]) >= fabs(dl[i])) {
                double f;
                if (d[i] == 0) d[i] = DBL_EPSILON * scale;
                f = dl[i] / d[i];
                dl[i] = f;
                d[i + 1] -= f * du[i];
                x[i + 1] -= f * x[i];
            } else {
                double f = d[i] / dl[i], t;
                d[i] = dl[i]; dl[i] = f;
                t = du[i]; du[i] = d[i + 1]; d[i + 1] = t - f * d[i + 1];
                if (i + 2 < k) { du2[i] = du[i + 1]; du[i + 1] = -f * du[i + 1]; }
                t = x[i]; x[i] = x[i + 1]; x[i + 1] = t - f * x[i + 1];
            }
        }
        if (d[k - 1] == 0) d[k - 1] = DBL_EPSILON * scale;
        /* back substitution */
        x[k - 1] /= d[k - 1];
        if (k > 1) x[k - 2] = (x[k - 2] - du[k - 2] * x[k - 1]) / d[k - 2];
        for (i = k - 3; i >= 0; i--) x[i] = (x[i] - du[i] * x[i + 1] - du2[i] * x[i + 2]) / d[i];
        for (i = 0; i < k; i++) nrm += x[i] * x[i];
        nrm = sqrt(nrm);
        if (!(nrm > 0) || nrm != nrm) break;
        for (i = 0; i < k; i++) y[i] = x[i] / nrm;
    }
}

/* Top eigenvector of the Gram operator by Lanczos with full reorthogonalisation.
   v: start (m) -> eigenvector (m). Returns steps used, or -1 on allocation failure. */
static int convrnn__m_lanczos_top(const convrnn__m_gram *g, double *v) {
    int m = g->m, kmax = m < 400 ? m : 400, k, i, j, steps = 0, restart;
    double *V = convrnn__m_dalloc((size_t)m * (kmax + 1)), *al = convrnn__m_dalloc((size_t)kmax + 1),
           *be = convrnn__m_dalloc((size_t)kmax + 2), *z = convrnn__m_dalloc((size_t)m), *y = convrnn__m_dalloc((size_t)kmax + 1),
           *ws = convrnn__m_dalloc((size_t)6 * (kmax + 1) + 8);
    if (!V || !al || !be || !z || !y || !ws) {
        convrnn_free(NULL, V); convrnn_free(NULL, al); convrnn_free(NULL, be); convrnn_free(NULL, z);
        convrnn_free(NULL, y); convrnn_free(NULL, ws);
        return -1;
    }
    for (restart = 0; restart < 20; restart++) {
        double nrm = sqrt(convrnn__m_dot(v, v, (size_t)m)), th = 0;
        int conv = 0, kk = 0;
        if (!(nrm > 0)) break;
        for (i = 0; i < m; i++) V[i] = v[i] / nrm;
        be[0] = 0;
        for (k = 0; k < kmax; k++) {
            double *vk = V + (size_t)k * m, res, bnorm;
            int pass;
            convrnn__m_gram_apply(g, vk, z);
            steps++;
            al[k] = convrnn__m_dot(vk, z, (size_t)m);
            for (i = 0; i < m; i++) z[i] -= al[k] * vk[i] + (k > 0 ? be[k] * V[(size_t)(k - 1) * m + i] : 0.0);
            for (pass = 0; pass < 2; pass++) /* full reorthogonalisation, twice */
                for (j = 0; j <= k; j++) {
                    double h = convrnn__m_dot(V + (size_t)j * m, z, (size_t)m);
                    convrnn__m_axpy(z, -h, V + (size_t)j * m, (size_t)m);
                }
            bnorm = sqrt(convrnn__m_dot(z, z, (size_t)m));
            be[k + 1] = bnorm;
            kk = k + 1;
            th = convrnn__m_tri_top_eig(al, be, kk);
            convrnn__m_tri_eigvec(al, be, kk, th, y, ws);
            res = fabs(bnorm * y[kk - 1]);
            if (res <= 1e-14 * fabs(th) || bnorm <= 1e-300 || kk == m) { conv = 1; break; }
            if (k + 1 < kmax) {
                double *vn = V + (size_t)(k + 1) * m;
                for (i = 0; i < m; i++) vn[i] = z[i] / bnorm;
            }
        }
        /* Ritz vector */
        for (i = 0; i < m; i++) {
            double s = 0;
            for (j = 0; j < kk; j++) s += V[(size_t)j * m + i] * y[j];
            v[i] = s;
        }
        if (conv) break;
    }
    convrnn_free(NULL, V); convrnn_free(NULL, al); convrnn_free(NULL, be); convrnn_free(NULL, z);
    convrnn_free(NULL, y); convrnn_free(NULL, ws);
    return steps;
}

/* solve A^T Z = Wc (A k x k, Wc k x p component-major) in place -> Z; partial pivoting. 0 if singular */
static int convrnn__m_solve_at(const double *A, int k, double *Wc, int p) {
    double *M = convrnn__m_dalloc((size_t)k * k + 1);
    int *perm = convrnn__m_ialloc((size_t)k + 1), i, j, c, ok = 1;
    if (!M || !perm) { convrnn_free(NULL, M); convrnn_free(NULL, perm); return -1; }
    for (i = 0; i < k; i++)
        for (j = 0; j < k; j++) M[(size_t)i * k + j] = A[(size_t)j * k + i]; /* M = A^T */
    for (i = 0; i < k; i++) perm[i] = i;
    /* LU with partial pivoting, applying row operations to Wc (rows = components) */
    for (c = 0; c < k && ok; c++) {
        int piv = c;
        double best = fabs(M[(size_t)c * k + c]);
        for (i = c + 1; i < k; i++)
            if (fabs(M[(size_t)i * k + c]) > best) { best = fabs(M[(size_t)i * k + c]); piv = i; }
        if (!(best > 0)) { ok = 0; break; }
        if (piv != c) {
            for (j = 0; j < k; j++) { double t = M[(size_t)c * k + j]; M[(size_t)c * k + j] = M[(size_t)piv * k + j]; M[(size_t)piv * k + j] = t; }
            for (j = 0; j < p; j++) { double t = Wc[(size_t)c * p + j]; Wc[(size_t)c * p + j] = Wc[(size_t)piv * p + j]; Wc[(size_t)piv * p + j] = t; }
        }
        for (i = c + 1; i < k; i++) {
            double f = M[(size_t)i * k + c] / M[(size_t)c * k + c];
            if (f == 0) continue;
            for (j = c; j < k; j++) M[(size_t)i * k + j] -= f * M[(size_t)c * k + j];
            convrnn__m_axpy(Wc + (size_t)i * p, -f, Wc + (size_t)c * p, (size_t)p);
        }
    }
    if (ok)
        for (c = k - 1; c >= 0; c--) {
            double dv = M[(size_t)c * k + c];
            for (i = c + 1; i < k; i++) convrnn__m_axpy(Wc + (size_t)c * p, -M[(size_t)c * k + i], Wc + (size_t)i * p, (size_t)p);
            for (j = 0; j < p; j++) Wc[(size_t)c * p + j] /= dv;
        }
    convrnn_free(NULL, M); convrnn_free(NULL, perm);
    return ok;
}

/* the fit; Xc is a centred n x p matrix we may read (owned by the caller) */
static convrnn_status convrnn__m_pls_core(convrnn_pls *m, const double *Xc, double xnorm2, const double *Y, int n,
                                        int p, int q, const convrnn_pls_options *o, convrnn_error *err) {
    int K = o->n_components, k, i, j, mm, stop = CONVRNN_PLS_STOP_NONE;
    size_t pq, nq = (size_t)n * q;
    double *Yk = NULL, *S = NULL, *G = NULL, *tmp = NULL, *wv = NULL, *ws = NULL, *w, *t, *pv, *qv, *a1, *a2;
    double *W = NULL, *P = NULL, *Q = NULL, *T = NULL, s_ref = 0, *pw = NULL;
    int *nit = NULL;
    convrnn__m_gram g;
    convrnn_status st = CONVRNN_OK;
    if (!convrnn__m_count2((size_t)p, (size_t)q, &pq))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "pls_fit: p*q overflows (p=%d, q=%d)", p, q);
    memset(&g, 0, sizeof g);
    g.p = p; g.q = q;
    g.qspace = q <= p;
    g.m = mm = g.qspace ? q : p;
    g.explicit_g = mm <= CONVRNN__M_GRAM_MAX;
    Yk = convrnn__m_dalloc(nq);
    S = convrnn__m_dalloc(pq);
    G = g.explicit_g ? convrnn__m_dalloc((size_t)mm * mm) : NULL;
    tmp = convrnn__m_dalloc((size_t)(p > q ? p : q) + (size_t)n);
    wv = convrnn__m_dalloc((size_t)6 * ((p > q ? p : q) + 1) + (size_t)n);
    ws = convrnn__m_dalloc((size_t)4 * mm + 4);
    W = convrnn__m_dalloc((size_t)K * p); P = convrnn__m_dalloc((size_t)K * p);
    Q = convrnn__m_dalloc((size_t)K * q); T = convrnn__m_dalloc((size_t)K * n);
    nit = convrnn__m_ialloc((size_t)K);
    pw = convrnn__m_dalloc((size_t)K);
    if (!pw || !Yk || !S || (g.explicit_g && !G) || !tmp || !wv || !ws || !W || !P || !Q || !T || !nit) {
        st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (n=%d, p=%d, q=%d, K=%d)", n, p, q, K);
        goto done;
    }
    g.S = S; g.G = G; g.tmp = tmp;
    w = wv;                       /* p */
    t = wv + (p > q ? p : q) + 1; /* n */
    pv = t + n;                   /* p */
    qv = pv + (p > q ? p : q) + 1;/* q */
    a1 = qv + (p > q ? p : q) + 1;/* max(p,q) */
    a2 = a1 + (p > q ? p : q) + 1;/* max(p,q) */
    /* Y is already centred by the caller */
    memcpy(Yk, Y, nq * sizeof(double));
    if (convrnn__m_gemm_tn(Xc, n, p, Yk, q, S)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
    if (convrnn__m_gram_refresh(&g)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
    s_ref = convrnn__m_dot(S, S, pq);
    for (k = 0; k < K; k++) {
        int j0 = -1, zeroed = 0, c;
        double ynorm2 = 0, lam, tt, snorm2;
        /* sklearn: zero the columns of Y_k that are all below 10 eps, then start at the first column
           with an entry above eps */
        for (c = 0; c < q; c++) {
            int small = 1, any = 0;
            for (i = 0; i < n; i++) {
                double v = fabs(Yk[(size_t)i * q + c]);
                if (v >= 10 * DBL_EPSILON) small = 0;
                if (v > DBL_EPSILON) any = 1;
            }
            if (small) {
                int nz = 0;
                for (i = 0; i < n; i++) { if (Yk[(size_t)i * q + c] != 0) nz = 1; Yk[(size_t)i * q + c] = 0; }
                for (j = 0; j < p; j++) { if (S[(size_t)j * q + c] != 0) nz = 1; S[(size_t)j * q + c] = 0; }
                if (nz) zeroed = 1;
                any = 0;
            }
            if (any && j0 < 0) j0 = c;
        }
        if (zeroed && convrnn__m_gram_refresh(&g)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
        if (j0 < 0) { stop = CONVRNN_PLS_STOP_Y_RESIDUAL; break; }
        for (i = 0; i < (int)nq; i++) ynorm2 += Yk[i] * Yk[i];
        /* start vector: column j0 of S (sklearn: w ~ X_k' Y_k[:, j0]); if that column is zero, the
           column of S with the largest norm (sklearn would produce NaN there) */
        {
            double cn = 0;
            for (j = 0; j < p; j++) cn += S[(size_t)j * q + j0] * S[(size_t)j * q + j0];
            if (!(cn > 0)) {
                double best = 0;
                for (c = 0; c < q; c++) {
                    double s2 = 0;
                    for (j = 0; j < p; j++) s2 += S[(size_t)j * q + c] * S[(size_t)j * q + c];
                    if (s2 > best) { best = s2; j0 = c; }
                }
            }
        }
        if (g.qspace) { for (c = 0; c < q; c++) a1[c] = 0; a1[j0] = 1.0; }
        else for (j = 0; j < p; j++) a1[j] = S[(size_t)j * q + j0];
        if (o->algorithm == CONVRNN_PLS_EXACT) {
            int steps;
            if (g.qspace) { /* start: a fixed mix of e_j0 and a deterministic vector */
                convrnn_rng r;
                convrnn_rng_seed(&r, 12345u + (uint64_t)k);
                for (c = 0; c < q; c++) a1[c] += 0.5 * (convrnn_rng_uniform(&r) - 0.5);
            } else {
                convrnn_rng r;
                double sc = sqrt(convrnn__m_dot(a1, a1, (size_t)p)) / sqrt((double)p);
                convrnn_rng_seed(&r, 12345u + (uint64_t)k);
                for (j = 0; j < p; j++) a1[j] += sc * (convrnn_rng_uniform(&r) - 0.5);
            }
            steps = convrnn__m_lanczos_top(&g, a1);
            if (steps < 0) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (Lanczos)"); goto done; }
            nit[k] = steps;
        } else {
            convrnn__m_nipals_power(&g, a1, o->max_iter, o->tol, &nit[k], ws);
        }
        convrnn__m_gram_apply(&g, a1, a2);
        {
            double vv = convrnn__m_dot(a1, a1, (size_t)mm), n2 = convrnn__m_gram_norm2(&g, a1, a2);
            lam = g.qspace ? (vv > 0 ? n2 / vv : 0) : (n2 > 0 ? sqrt(convrnn__m_dot(a2, a2, (size_t)mm) / n2) : 0);
            /* lam: an estimate of sigma_1(S)^2 */
        }
        if (!(lam > 0) || sqrt(lam) <= 4.0 * n * DBL_EPSILON * sqrt(xnorm2) * sqrt(ynorm2)) {
            stop = CONVRNN_PLS_STOP_Y_RESIDUAL;
            break;
        }
        convrnn__m_gram_to_w(&g, a1, w);
        /* sign: the largest |w_j| (first one) positive */
        {
            int jm = 0;
            double best = -1;
            for (j = 0; j < p; j++)
                if (fabs(w[j]) > best) { best = fabs(w[j]); jm = j; }
            if (w[jm] < 0)
                for (j = 0; j < p; j++) w[j] = -w[j];
        }
        /* t = X_k w = Xc w - sum_j t_j (p_j . w), and Xc' t, in one pass over Xc */
        for (j = 0; j < k; j++) pw[j] = convrnn__m_dot(P + (size_t)j * p, w, (size_t)p);
        convrnn__m_gemv_fused(Xc, n, p, w, T, pw, k, t, pv);
        tt = convrnn__m_dot(t, t, (size_t)n);
        if (!(tt >= DBL_EPSILON * xnorm2) || !(tt > 0)) { stop = CONVRNN_PLS_STOP_X_RANK; break; }
        /* p = X_k' t / tt = (Xc' t - sum_j p_j (t_j . t)) / tt */
        for (j = 0; j < k; j++) convrnn__m_axpy(pv, -convrnn__m_dot(T + (size_t)j * n, t, (size_t)n), P + (size_t)j * p, (size_t)p);
        for (j = 0; j < p; j++) pv[j] /= tt;
        /* q = Y_k' t / tt; deflate Y_k */
        convrnn__m_gemv_cols(Yk, n, q, t, qv);
        for (c = 0; c < q; c++) qv[c] /= tt;
        for (i = 0; i < n; i++) convrnn__m_axpy(Yk + (size_t)i * q, -t[i], qv, (size_t)q);
        /* S_{k+1} = S_k - tt p q'; Gram by the matching rank-2 update */
        if (g.explicit_g) {
            if (g.qspace) { /* G -= g r' + r g' - (a.a) r r', a = p, r = tt q, g = S' a */
                double aa = convrnn__m_dot(pv, pv, (size_t)p);
                convrnn__m_gemv_cols(S, p, q, pv, a2);
                for (c = 0; c < q; c++) a1[c] = tt * qv[c];
                for (i = 0; i < q; i++)
                    for (c = 0; c < q; c++)
                        G[(size_t)i * q + c] += -a2[i] * a1[c] - a1[i] * a2[c] + aa * a1[i] * a1[c];
            } else {        /* G -= h a' + a h' - (r.r) a a', h = S r */
                double rr;
                for (c = 0; c < q; c++) a1[c] = tt * qv[c];
                rr = convrnn__m_dot(a1, a1, (size_t)q);
                convrnn__m_gemv_rows(S, p, q, a1, a2);
                for (i = 0; i < p; i++)
                    for (j = 0; j < p; j++)
                        G[(size_t)i * p + j] += -a2[i] * pv[j] - pv[i] * a2[j] + rr * pv[i] * pv[j];
            }
        }
        for (j = 0; j < p; j++) convrnn__m_axpy(S + (size_t)j * q, -tt * pv[j], qv, (size_t)q);
        snorm2 = convrnn__m_dot(S, S, pq);
        if (g.explicit_g && snorm2 < 1e-4 * s_ref) { /* bound the drift of the updated Gram */
            if (convrnn__m_gram_refresh(&g)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
            s_ref = snorm2;
        }
        memcpy(W + (size_t)k * p, w, (size_t)p * sizeof(double));
        memcpy(P + (size_t)k * p, pv, (size_t)p * sizeof(double));
        memcpy(Q + (size_t)k * q, qv, (size_t)q * sizeof(double));
        memcpy(T + (size_t)k * n, t, (size_t)n * sizeof(double));
    }
    m->rank = k;
    m->stop_reason = stop;
    /* rotations R = W (P'W)^-1 and coefficients B = R Q' */
    {
        int r = k;
        size_t rp = (size_t)r * p;
        double *A = convrnn__m_dalloc((size_t)r * r + 1), *R = convrnn__m_dalloc(rp + 1), *B = convrnn__m_dalloc(pq);
        if (!A || !R || !B) {
            convrnn_free(NULL, A); convrnn_free(NULL, R); convrnn_free(NULL, B);
            st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (coefficients)");
            goto done;
        }
        for (i = 0; i < r; i++)
            for (j = 0; j < r; j++) A[(size_t)i * r + j] = convrnn__m_dot(P + (size_t)i * p, W + (size_t)j * p, (size_t)p);
        memcpy(R, W, rp * sizeof(double));
        if (r > 0) {
            int ok = convrnn__m_solve_at(A, r, R, p);
            if (ok < 0) { convrnn_free(NULL, A); convrnn_free(NULL, R); convrnn_free(NULL, B); st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
            if (!ok) {
                convrnn_free(NULL, A); convrnn_free(NULL, R); convrnn_free(NULL, B);
                st = convrnn_error_set(err, CONVRNN_ERR_NUMERIC, "pls_fit: P'W is singular after %d components", r);
                goto done;
            }
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)p * q * (r + 1) > CONVRNN__M_PAR_MIN)
#endif
        for (j = 0; j < p; j++) {
            double *bj = B + (size_t)j * q;
            int c, l;
            for (c = 0; c < q; c++) bj[c] = 0;
            for (l = 0; l < r; l++) convrnn__m_axpy(bj, R[(size_t)l * p + j], Q + (size_t)l * q, (size_t)q);
        }
        convrnn_free(NULL, A);
        m->x_rotations = R;
        m->coef = B;
    }
    m->x_weights = W; m->x_loadings = P; m->y_loadings = Q; m->x_scores = T; m->n_iter = nit;
    W = P = Q = T = NULL;
    nit = NULL;
done:
    convrnn_free(NULL, Yk); convrnn_free(NULL, S); convrnn_free(NULL, G); convrnn_free(NULL, tmp);
    convrnn_free(NULL, wv); convrnn_free(NULL, ws); convrnn_free(NULL, W); convrnn_free(NULL, P);
    convrnn_free(NULL, Q); convrnn_free(NULL, T); convrnn_free(NULL, nit); convrnn_free(NULL, pw);
    return st;
}

static convrnn_status convrnn__m_pls_check(const convrnn_pls *m, const void *X, const void *Y, int n, int p, int q,
                                         const convrnn_pls_options *opt, convrnn_error *err) {
    size_t cnt;
    if (!m || !X || !Y) return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: NULL argument");
    if (n < 1 || p < 1 || q < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "pls_fit: bad shape n=%d p=%d q=%d", n, p, q);
    if (!convrnn__m_count2((size_t)n, (size_t)p, &cnt) || !convrnn__m_count2((size_t)n, (size_t)q, &cnt) ||
        !convrnn__m_count2((size_t)p, (size_t)q, &cnt) || cnt > ((size_t)-1) / 16)
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "pls_fit: sizes overflow (n=%d p=%d q=%d)", n, p, q);
    if (opt) {
        if (opt->n_components < 1)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: n_components must be >= 1 (got %d)", opt->n_components);
        if (opt->algorithm != CONVRNN_PLS_NIPALS && opt->algorithm != CONVRNN_PLS_EXACT)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: unknown algorithm %d", (int)opt->algorithm);
        if (opt->algorithm == CONVRNN_PLS_NIPALS && (opt->max_iter < 1 || !(opt->tol >= 0)))
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: max_iter=%d tol=%g invalid", opt->max_iter, opt->tol);
    }
    return CONVRNN_OK;
}

static convrnn_status convrnn__m_pls_fit_any(convrnn_pls *m, const double *Xin, double *Xw, const double *Y, int n,
                                             int p, int q, const convrnn_pls_options *opt, convrnn_error *err) {
    convrnn_pls_options o;
    double *Yc = NULL, xnorm2 = 0, *rowss = NULL;
    int i, nb = (p + 511) / 512, b;
    size_t nq = (size_t)n * q, bad;
    convrnn_status st;
    if (opt) o = *opt; else convrnn_pls_options_default(&o);
    memset(m, 0, sizeof *m);
    m->p = p; m->q = q; m->n_components = o.n_components; m->n_train = n;
    if (!convrnn__m_all_finite(Y, nq, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "pls_fit: Y[%lu][%lu] is not finite", (unsigned long)(bad / q), (unsigned long)(bad % q));
    m->x_mean = convrnn__m_dalloc((size_t)p);
    m->y_mean = convrnn__m_dalloc((size_t)q);
    Yc = convrnn__m_dalloc(nq);
    rowss = convrnn__m_dalloc((size_t)n);
    if (!m->x_mean || !m->y_mean || !Yc || !rowss) {
        convrnn_free(NULL, Yc); convrnn_free(NULL, rowss); convrnn_pls_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (n=%d, p=%d, q=%d)", n, p, q);
    }
    /* column means of X (fixed row order per column) */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if ((double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (b = 0; b < nb; b++) {
        int j0 = b * 512, j1 = j0 + 512 < p ? j0 + 512 : p, r, j;
        double *mu = m->x_mean + j0;
        for (j = 0; j < j1 - j0; j++) mu[j] = 0;
        for (r = 0; r < n; r++) {
            const double *xr = Xin + (size_t)r * p + j0;
            for (j = 0; j < j1 - j0; j++) mu[j] += xr[j];
        }
        for (j = 0; j < j1 - j0; j++) mu[j] /= n;
    }
    for (i = 0; i < p; i++)
        if (!convrnn__m_isfinite(m->x_mean[i])) {
            size_t r;
            for (r = 0; r < (size_t)n; r++)
                if (!convrnn__m_isfinite(Xin[r * p + i])) break;
            convrnn_free(NULL, Yc); convrnn_free(NULL, rowss); convrnn_pls_free(m);
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "pls_fit: X[%lu][%d] is not finite", (unsigned long)r, i);
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) if ((double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) {
        const double *xi = Xin + (size_t)i * p;
        double *xr = Xw + (size_t)i * p, s = 0;
        int j;
        for (j = 0; j < p; j++) { xr[j] = xi[j] - m->x_mean[j]; s += xr[j] * xr[j]; }
        rowss[i] = s;
    }
    for (i = 0; i < n; i++) xnorm2 += rowss[i];
    {
        int c;
        for (c = 0; c < q; c++) m->y_mean[c] = 0;
        for (i = 0; i < n; i++)
            for (c = 0; c < q; c++) m->y_mean[c] += Y[(size_t)i * q + c];
        for (c = 0; c < q; c++) m->y_mean[c] /= n;
        for (i = 0; i < n; i++)
            for (c = 0; c < q; c++) Yc[(size_t)i * q + c] = Y[(size_t)i * q + c] - m->y_mean[c];
    }
    st = convrnn__m_pls_core(m, Xw, xnorm2, Yc, n, p, q, &o, err);
    convrnn_free(NULL, Yc); convrnn_free(NULL, rowss);
    if (st) convrnn_pls_free(m);
    return st;
}

CONVRNNDEF convrnn_status convrnn_pls_fit_inplace(convrnn_pls *m, double *X, const double *Y, int n, int p,
                                                  int q, const convrnn_pls_options *opt, convrnn_error *err) {
    convrnn_status st = convrnn__m_pls_check(m, X, Y, n, p, q, opt, err);
    if (st) return st;
    return convrnn__m_pls_fit_any(m, X, X, Y, n, p, q, opt, err);
}

CONVRNNDEF convrnn_status convrnn_pls_fit(convrnn_pls *m, const double *X, const double *Y, int n, int p, int q,
                                          const convrnn_pls_options *opt, convrnn_error *err) {
    double *Xc;
    convrnn_status st = convrnn__m_pls_check(m, X, Y, n, p, q, opt, err);
    if (st) return st;
    Xc = convrnn__m_dalloc((size_t)n * p);
    if (!Xc) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory copying X (%d x %d)", n, p);
    st = convrnn__m_pls_fit_any(m, X, Xc, Y, n, p, q, opt, err);
    convrnn_free(NULL, Xc);
    return st;
}

CONVRNNDEF convrnn_status convrnn_pls_predict(const convrnn_pls *m, const double *X, int n, double *Yhat,
                                              convrnn_error *err) {
    int p, q, r, i;
    size_t bad;
    if (!m || !X || !Yhat || !m->coef || !m->y_mean) return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_predict: NULL argument or unfitted model");
    if (n < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "pls_predict: n=%d", n);
    p = m->p; q = m->q; r = m->rank;
    if (!convrnn__m_all_finite(X, (size_t)n * p, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "pls_predict: X[%lu][%lu] is not finite",
                                 (unsigned long)(bad / p), (unsigned long)(bad % p));
    if ((double)r * (p + q) < (double)p * q) {
        /* factored: T = (X - xbar) R', Yhat = T Q' + ybar */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * (r + 1) > CONVRNN__M_PAR_MIN)
#endif
        for (i = 0; i < n; i++) {
            const double *xr = X + (size_t)i * p;
            double *yr = Yhat + (size_t)i * q;
            int l, c, j;
            for (c = 0; c < q; c++) yr[c] = m->y_mean[c];
            for (l = 0; l < r; l++) {
                const double *rl = m->x_rotations + (size_t)l * p;
                double s = 0;
                for (j = 0; j < p; j++) s += (xr[j] - m->x_mean[j]) * rl[j];
                convrnn__m_axpy(yr, s, m->y_loadings + (size_t)l * q, (size_t)q);
            }
        }
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * q > CONVRNN__M_PAR_MIN)
#endif
        for (i = 0; i < n; i++) {
            const double *xr = X + (size_t)i * p;
            double *yr = Yhat + (size_t)i * q;
            int c, j;
            for (c = 0; c < q; c++) yr[c] = 0;
            for (j = 0; j < p; j++) convrnn__m_axpy(yr, xr[j] - m->x_mean[j], m->coef + (size_t)j * q, (size_t)q);
            for (c = 0; c < q; c++) yr[c] += m->y_mean[c];
        }
    }
    return CONVRNN_OK;
}

/* ================================================================ linear decoders */

CONVRNNDEF void convrnn_decoder_options_default(convrnn_decoder_options *o) {
    o->kind = CONVRNN_DECODER_LOGISTIC;
    o->zscore = 1;
    o->lambda = 0.463;
    o->penalize_bias = 0;
    o->C = 1e-3;
    o->bias = 1.0;
    o->tol = -1; /* kind-specific default: 1e-8 (logistic), 1e-6 (SVM) */
    o->max_iter = 10000;
    o->seed = 0;
}

CONVRNNDEF void convrnn_classifier_free(convrnn_classifier *m) {
    if (!m) return;
    convrnn_free(NULL, m->mean); convrnn_free(NULL, m->scale); convrnn_free(NULL, m->W);
    convrnn_free(NULL, m->b); convrnn_free(NULL, m->present);
    memset(m, 0, sizeof *m);
}

/* common checks, z-scoring (Xz: n x p standardised copy), class presence */
static convrnn_status convrnn__m_clf_prepare(convrnn_classifier *m, const double *X, const int *labels, int n, int p,
                                             int n_classes, const convrnn_decoder_options *o, double **Xz_out,
                                             const char *who, convrnn_error *err) {
    size_t np, bad;
    int i, j, npresent = 0;
    double *Xz;
    if (!m || !X || !labels || !o) return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: NULL argument", who);
    memset(m, 0, sizeof *m);
    if (n < 2 || p < 1 || n_classes < 2)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "%s: need n >= 2, p >= 1, n_classes >= 2 (n=%d p=%d classes=%d)",
                                 who, n, p, n_classes);
    if (!convrnn__m_count2((size_t)n, (size_t)p, &np) || np > ((size_t)-1) / 16)
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "%s: n*p overflows", who);
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: labels[%d] = %d outside [0, %d)", who, i, labels[i], n_classes);
    if (!convrnn__m_all_finite(X, np, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "%s: X[%lu][%lu] is not finite", who,
                                 (unsigned long)(bad / p), (unsigned long)(bad % p));
    m->p = p; m->n_classes = n_classes;
    m->mean = convrnn__m_dalloc((size_t)p);
    m->scale = convrnn__m_dalloc((size_t)p);
    m->W = convrnn__m_dcalloc((size_t)n_classes * p);
    m->b = convrnn__m_dcalloc((size_t)n_classes);
    m->present = (unsigned char *)convrnn_calloc(NULL, (size_t)n_classes, 1);
    Xz = convrnn__m_dalloc(np);
    if (!m->mean || !m->scale || !m->W || !m->b || !m->present || !Xz) {
        convrnn_free(NULL, Xz); convrnn_classifier_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "%s: out of memory (n=%d, p=%d)", who, n, p);
    }
    for (i = 0; i < n; i++) m->present[labels[i]] = 1;
    for (j = 0; j < n_classes; j++) npresent += m->present[j];
    if (npresent < 2) {
        convrnn_free(NULL, Xz); convrnn_classifier_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: only %d class present in the training labels (need >= 2)", who, npresent);
    }
    for (j = 0; j < p; j++) { m->mean[j] = 0; m->scale[j] = 1; }
    if (o->zscore) {
        /* StandardScaler: mean, population std; (near-)constant features get scale 1 */
        for (i = 0; i < n; i++) convrnn__m_axpy(m->mean, 1.0, X + (size_t)i * p, (size_t)p);
        for (j = 0; j < p; j++) m->mean[j] /= n;
        for (j = 0; j < p; j++) m->scale[j] = 0;
        for (i = 0; i < n; i++) {
            const double *xr = X + (size_t)i * p;
            for (j = 0; j < p; j++) { double d = xr[j] - m->mean[j]; m->scale[j] += d * d; }
        }
        for (j = 0; j < p; j++) {
            double var = m->scale[j] / n, bound = (double)n * DBL_EPSILON * var +
                                                  ((double)n * m->mean[j] * DBL_EPSILON) * ((double)n * m->mean[j] * DBL_EPSILON);
            m->scale[j] = (var <= bound || !(sqrt(var) >= 10 * DBL_EPSILON)) ? 1.0 : sqrt(var);
        }
    }
    for (i = 0; i < n; i++) {
        const double *xr = X + (size_t)i * p;
        double *zr = Xz + (size_t)i * p;
        for (j = 0; j < p; j++) zr[j] = (xr[j] - m->mean[j]) / m->scale[j];
    }
    *Xz_out = Xz;
    return CONVRNN_OK;
}

/* logistic objective on present classes. theta: [W (cp x p) | b (cp)]. Returns f, fills grad. */
typedef struct convrnn__m_lr {
    const double *X; int n, p, cp; const int *y; /* y: compact class index */
    double lambda; int penb; double *Z; /* n x cp */
    double *lossrow;                      /* n */
} convrnn__m_lr;
static double convrnn__m_lr_eval(const convrnn__m_lr *L, const double *th, double *g) {
    int n = L->n, p = L->p, cp = L->cp, i, nb = (p + 255) / 256, b;
    const double *W = th, *bb = th + (size_t)cp * p;
    double f = 0, reg = 0;
    double *Z = L->Z;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * cp > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) {
        const double *xr = L->X + (size_t)i * p;
        double *zr = Z + (size_t)i * cp, mx = -(double)INFINITY, s = 0;
        int c;
        for (c = 0; c < cp; c++) {
            zr[c] = convrnn__m_dot(xr, W + (size_t)c * p, (size_t)p) + bb[c];
            if (zr[c] > mx) mx = zr[c];
        }
        for (c = 0; c < cp; c++) { zr[c] -= mx; s += exp(zr[c]); }
        L->lossrow[i] = log(s) - zr[L->y[i]];          /* -log softmax of the true class */
        for (c = 0; c < cp; c++) zr[c] = exp(zr[c]) / s; /* probabilities */
    }
    for (i = 0; i < n; i++) f += L->lossrow[i];
    f /= n;
    /* residuals R = (P - Y)/n in place */
    for (i = 0; i < n; i++) {
        double *zr = Z + (size_t)i * cp;
        int c;
        zr[L->y[i]] -= 1.0;
        for (c = 0; c < cp; c++) zr[c] /= n;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * cp > CONVRNN__M_PAR_MIN)
#endif
    for (b = 0; b < nb; b++) {
        int j0 = b * 256, j1 = j0 + 256 < p ? j0 + 256 : p, c, r, j;
        for (c = 0; c < cp; c++) {
            double *gc = g + (size_t)c * p;
            for (j = j0; j < j1; j++) gc[j] = 0;
        }
        for (r = 0; r < n; r++) {
            const double *xr = L->X + (size_t)r * p;
            const double *zr = Z + (size_t)r * cp;
            for (c = 0; c < cp; c++) convrnn__m_axpy(g + (size_t)c * p + j0, zr[c], xr + j0, (size_t)(j1 - j0));
        }
        for (c = 0; c < cp; c++) {
            double *gc = g + (size_t)c * p;
            const double *wc = W + (size_t)c * p;
            for (j = j0; j < j1; j++) gc[j] += L->lambda * wc[j];
        }
    }
    {
        int c;
        for (c = 0; c < cp; c++) {
            double s = 0;
            for (i = 0; i < n; i++) s += Z[(size_t)i * cp + c];
            g[(size_t)cp * p + c] = s + (L->penb ? L->lambda * bb[c] : 0.0);
        }
    }
    reg = convrnn__m_dot(W, W, (size_t)cp * p);
    if (L->penb) reg += convrnn__m_dot(bb, bb, (size_t)cp);
    return f + 0.5 * L->lambda * reg;
}

static double convrnn__m_maxabs(const double *v, size_t n) {
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

CONVRNNDEF convrnn_status convrnn_logreg_fit(convrnn_classifier *m, const double *X, const int *labels, int n,
                                             int p, int n_classes, const convrnn_decoder_options *opt,
                                             convrnn_error *err) {
    convrnn_decoder_options o;
    double *Xz = NULL, *th = NULL, *g = NULL, *d = NULL, *thn = NULL, *gn = NULL, *S = NULL, *Yv = NULL, *rho = NULL,
           *alp = NULL, f, tol;
    int *yc = NULL, *cmap = NULL, cp = 0, i, c, it, mem = 10, head = 0, cnt = 0, converged = 0;
    size_t dim;
    convrnn__m_lr L;
    convrnn_status st;
    memset(&L, 0, sizeof L);
    if (opt) o = *opt; else convrnn_decoder_options_default(&o);
    tol = o.tol > 0 ? o.tol : 1e-8;
    if (!(o.lambda > 0))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "logreg_fit: lambda must be > 0 (got %g)", o.lambda);
    if (o.max_iter < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "logreg_fit: max_iter must be >= 1");
    st = convrnn__m_clf_prepare(m, X, labels, n, p, n_classes, &o, &Xz, "logreg_fit", err);
    if (st) return st;
    m->kind = CONVRNN_DECODER_LOGISTIC;
    cmap = convrnn__m_ialloc((size_t)n_classes);
    yc = convrnn__m_ialloc((size_t)n);
    if (!cmap || !yc) goto nomem;
    for (c = 0; c < n_classes; c++) cmap[c] = m->present[c] ? cp++ : -1;
    for (i = 0; i < n; i++) yc[i] = cmap[labels[i]];
    dim = (size_t)cp * (p + 1);
    th = convrnn__m_dcalloc(dim); g = convrnn__m_dalloc(dim); d = convrnn__m_dalloc(dim);
    thn = convrnn__m_dalloc(dim); gn = convrnn__m_dalloc(dim);
    S = convrnn__m_dalloc(dim * mem); Yv = convrnn__m_dalloc(dim * mem);
    rho = convrnn__m_dalloc((size_t)mem); alp = convrnn__m_dalloc((size_t)mem);
    L.X = Xz; L.n = n; L.p = p; L.cp = cp; L.y = yc; L.lambda = o.lambda; L.penb = o.penalize_bias;
    L.Z = convrnn__m_dalloc((size_t)n * cp);
    L.lossrow = convrnn__m_dalloc((size_t)n);
    if (!L.lossrow || !th || !g || !d || !thn || !gn || !S || !Yv || !rho || !alp || !L.Z) goto nomem;
    f = convrnn__m_lr_eval(&L, th, g);
    for (it = 0; it < o.max_iter; it++) {
        double gmax = convrnn__m_maxabs(g, dim), step, gd, fn = 0;
        int k, ls;
        if (gmax <= tol) { converged = 1; break; }
        /* two-loop recursion: d = -H g */
        for (k = 0; k < (int)dim; k++) d[k] = -g[k];
        for (k = 0; k < cnt; k++) {
            int idx = (head - 1 - k + mem) % mem;
            alp[idx] = rho[idx] * convrnn__m_dot(S + (size_t)idx * dim, d, dim);
            convrnn__m_axpy(d, -alp[idx], Yv + (size_t)idx * dim, dim);
        }
        if (cnt > 0) {
            int last = (head - 1 + mem) % mem;
            double gam = convrnn__m_dot(S + (size_t)last * dim, Yv + (size_t)last * dim, dim) /
                         convrnn__m_dot(Yv + (size_t)last * dim, Yv + (size_t)last * dim, dim);
            for (k = 0; k < (int)dim; k++) d[k] *= gam;
        }
        for (k = cnt - 1; k >= 0; k--) {
            int idx = (head - 1 - k + mem) % mem;
            double be = rho[idx] * convrnn__m_dot(Yv + (size_t)idx * dim, d, dim);
            convrnn__m_axpy(d, alp[idx] - be, S + (size_t)idx * dim, dim);
        }
        gd = convrnn__m_dot(g, d, dim);
        if (!(gd < 0)) { /* not a descent direction: restart from steepest descent */
            cnt = 0;
            for (k = 0; k < (int)dim; k++) d[k] = -g[k];
            gd = convrnn__m_dot(g, d, dim);
        }
        step = (cnt == 0) ? 1.0 / sqrt(convrnn__m_dot(g, g, dim)) : 1.0;
        if (cnt == 0 && step > 1.0) step = 1.0;
        for (ls = 0; ls < 60; ls++) { /* backtracking Armijo */
            for (k = 0; k < (int)dim; k++) thn[k] = th[k] + step * d[k];
            fn = convrnn__m_lr_eval(&L, thn, gn);
            if (fn <= f + 1e-4 * step * gd) break;
            /* near the optimum f changes below its rounding level: accept a step that does not
               increase f beyond rounding and reduces the gradient */
            if (fn <= f + 16 * DBL_EPSILON * fabs(f) && convrnn__m_maxabs(gn, dim) < convrnn__m_maxabs(g, dim)) break;
            step *= 0.5;
        }
        if (ls == 60) { converged = convrnn__m_maxabs(g, dim) <= 10 * tol; break; } /* no progress possible */
        {
            int slot = head;
            double sy;
            for (k = 0; k < (int)dim; k++) {
                S[(size_t)slot * dim + k] = thn[k] - th[k];
                Yv[(size_t)slot * dim + k] = gn[k] - g[k];
            }
            sy = convrnn__m_dot(S + (size_t)slot * dim, Yv + (size_t)slot * dim, dim);
            if (sy > 1e-300) {
                rho[slot] = 1.0 / sy;
                head = (head + 1) % mem;
                if (cnt < mem) cnt++;
            }
        }
        memcpy(th, thn, dim * sizeof(double));
        memcpy(g, gn, dim * sizeof(double));
        f = fn;
    }
    m->iterations = it;
    m->converged = converged || convrnn__m_maxabs(g, dim) <= tol;
    for (c = 0; c < n_classes; c++) {
        if (cmap[c] < 0) { m->b[c] = 0; continue; }
        memcpy(m->W + (size_t)c * p, th + (size_t)cmap[c] * p, (size_t)p * sizeof(double));
        m->b[c] = th[(size_t)cp * p + cmap[c]];
    }
    st = CONVRNN_OK;
    goto done;
nomem:
    st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "logreg_fit: out of memory (n=%d, p=%d, classes=%d)", n, p, n_classes);
    convrnn_classifier_free(m);
done:
    convrnn_free(NULL, Xz); convrnn_free(NULL, th); convrnn_free(NULL, g); convrnn_free(NULL, d);
    convrnn_free(NULL, thn); convrnn_free(NULL, gn); convrnn_free(NULL, S); convrnn_free(NULL, Yv);
    convrnn_free(NULL, rho); convrnn_free(NULL, alp); convrnn_free(NULL, yc); convrnn_free(NULL, cmap);
    convrnn_free(NULL, L.Z); convrnn_free(NULL, L.lossrow);
    return st;
}

/* liblinear's dual coordinate descent for the L2-regularised squared-hinge SVM (solver 1, no
   shrinking). Xz: n x p, ysign: +-1, bias: value of the extra feature (<= 0: none). w: p (+1). */
static int convrnn__m_svm_dcd(const double *Xz, int n, int p, const signed char *ysign, double Cc, double bias, double eps,
                              int max_iter, uint64_t seed, double *w, double *alpha, double *QD, int *idx, int *iters) {
    double Dii = 0.5 / Cc;
    int i, it, pw = p + (bias > 0 ? 1 : 0), conv = 0;
    convrnn_rng rng;
    convrnn_rng_seed(&rng, seed);
    for (i = 0; i < pw; i++) w[i] = 0;
    for (i = 0; i < n; i++) {
        alpha[i] = 0;
        QD[i] = Dii + convrnn__m_dot(Xz + (size_t)i * p, Xz + (size_t)i * p, (size_t)p) + (bias > 0 ? bias * bias : 0);
        idx[i] = i;
    }
    for (it = 0; it < max_iter; it++) {
        double pgmax = -(double)INFINITY, pgmin = (double)INFINITY;
        int s;
        convrnn__m_shuffle_int(idx, n, &rng);
        for (s = 0; s < n; s++) {
            int k = idx[s];
            const double *xk = Xz + (size_t)k * p;
            double yk = ysign[k], G, PG;
            G = yk * (convrnn__m_dot(w, xk, (size_t)p) + (bias > 0 ? w[p] * bias : 0)) - 1.0 + Dii * alpha[k];
            PG = (alpha[k] == 0) ? (G < 0 ? G : 0) : G;
            if (PG > pgmax) pgmax = PG;
            if (PG < pgmin) pgmin = PG;
            if (fabs(PG) > 1e-12) {
                double old = alpha[k], dlt;
                alpha[k] = old - G / QD[k];
                if (alpha[k] < 0) alpha[k] = 0;
                dlt = (alpha[k] - old) * yk;
                convrnn__m_axpy(w, dlt, xk, (size_t)p);
                if (bias > 0) w[p] += dlt * bias;
            }
        }
        if (pgmax - pgmin <= eps) { conv = 1; it++; break; }
    }
    *iters = it;
    return conv;
}

CONVRNNDEF convrnn_status convrnn_svm_fit(convrnn_classifier *m, const double *X, const int *labels, int n,
                                          int p, int n_classes, const convrnn_decoder_options *opt,
                                          convrnn_error *err) {
    convrnn_decoder_options o;
    double *Xz = NULL, tol;
    int c, npres = 0, cls[2] = {-1, -1}, fail = 0, maxit = 0, allconv = 1;
    convrnn_status st;
    if (opt) o = *opt; else convrnn_decoder_options_default(&o);
    tol = o.tol > 0 ? o.tol : 1e-6;
    if (!(o.C > 0)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "svm_fit: C must be > 0 (got %g)", o.C);
    if (o.max_iter < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "svm_fit: max_iter must be >= 1");
    st = convrnn__m_clf_prepare(m, X, labels, n, p, n_classes, &o, &Xz, "svm_fit", err);
    if (st) return st;
    m->kind = CONVRNN_DECODER_SVM;
    for (c = 0; c < n_classes; c++)
        if (m->present[c]) { if (npres < 2) cls[npres] = c; npres++; }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (n_classes > 2 && (double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (c = 0; c < n_classes; c++) {
        double *w, *alpha, *QD;
        int *idx, i, iters = 0, conv;
        signed char *ys;
        if (!m->present[c] || (npres == 2 && c == cls[0])) continue;
        w = convrnn__m_dalloc((size_t)p + 1);
        alpha = convrnn__m_dalloc((size_t)n);
        QD = convrnn__m_dalloc((size_t)n);
        idx = convrnn__m_ialloc((size_t)n);
        ys = (signed char *)convrnn_malloc(NULL, (size_t)n);
        if (!w || !alpha || !QD || !idx || !ys) {
#ifdef _OPENMP
#pragma omp atomic
#endif
            fail++;
        } else {
            for (i = 0; i < n; i++) ys[i] = (signed char)(labels[i] == c ? 1 : -1);
            conv = convrnn__m_svm_dcd(Xz, n, p, ys, o.C, o.bias, tol, o.max_iter, o.seed + (uint64_t)c * 7919u, w, alpha, QD, idx, &iters);
            memcpy(m->W + (size_t)c * p, w, (size_t)p * sizeof(double));
            m->b[c] = o.bias > 0 ? w[p] * o.bias : 0.0;
#ifdef _OPENMP
#pragma omp critical(convrnn__m_svm_stats)
#endif
            {
                if (iters > maxit) maxit = iters;
                if (!conv) allconv = 0;
            }
        }
        convrnn_free(NULL, w); convrnn_free(NULL, alpha); convrnn_free(NULL, QD);
        convrnn_free(NULL, idx); convrnn_free(NULL, ys);
    }
    if (npres == 2) { /* binary: one problem, mirrored (as liblinear) */
        int j;
        for (j = 0; j < p; j++) m->W[(size_t)cls[0] * p + j] = -m->W[(size_t)cls[1] * p + j];
        m->b[cls[0]] = -m->b[cls[1]];
    }
    convrnn_free(NULL, Xz);
    if (fail) {
        convrnn_classifier_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "svm_fit: out of memory (n=%d, p=%d)", n, p);
    }
    m->iterations = maxit;
    m->converged = allconv;
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_classifier_fit(convrnn_classifier *m, const double *X, const int *labels,
                                                 int n, int p, int n_classes,
                                                 const convrnn_decoder_options *opt, convrnn_error *err) {
    if (opt && opt->kind == CONVRNN_DECODER_SVM) return convrnn_svm_fit(m, X, labels, n, p, n_classes, opt, err);
    if (opt && opt->kind != CONVRNN_DECODER_LOGISTIC)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "classifier_fit: unknown decoder kind %d", (int)opt->kind);
    return convrnn_logreg_fit(m, X, labels, n, p, n_classes, opt, err);
}

CONVRNNDEF convrnn_status convrnn_classifier_decision(const convrnn_classifier *m, const double *X, int n,
                                                      double *out, convrnn_error *err) {
    int i, p, C;
    size_t bad;
    if (!m || !m->W || !X || !out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "classifier_decision: NULL argument or unfitted model");
    if (n < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "classifier_decision: n=%d", n);
    p = m->p; C = m->n_classes;
    if (!convrnn__m_all_finite(X, (size_t)n * p, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "classifier_decision: X[%lu][%lu] is not finite",
                                 (unsigned long)(bad / p), (unsigned long)(bad % p));
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * C > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) {
        const double *xr = X + (size_t)i * p;
        double *o = out + (size_t)i * C;
        int c, j;
        for (c = 0; c < C; c++) {
            const double *wc = m->W + (size_t)c * p;
            double s0 = 0, s1 = 0;
            if (!m->present[c]) { o[c] = -(double)INFINITY; continue; }
            for (j = 0; j + 1 < p; j += 2) {
                s0 += (xr[j] - m->mean[j]) / m->scale[j] * wc[j];
                s1 += (xr[j + 1] - m->mean[j + 1]) / m->scale[j + 1] * wc[j + 1];
            }
            for (; j < p; j++) s0 += (xr[j] - m->mean[j]) / m->scale[j] * wc[j];
            o[c] = s0 + s1 + m->b[c];
        }
    }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_classifier_proba(const convrnn_classifier *m, const double *X, int n,
                                                   double *out, convrnn_error *err) {
    int i, C;
    convrnn_status st = convrnn_classifier_decision(m, X, n, out, err);
    if (st) return st;
    C = m->n_classes;
    for (i = 0; i < n; i++) {
        double *o = out + (size_t)i * C, mx = -(double)INFINITY, s = 0;
        int c;
        for (c = 0; c < C; c++)
            if (o[c] > mx) mx = o[c];
        for (c = 0; c < C; c++) { o[c] = m->present[c] ? exp(o[c] - mx) : 0.0; s += o[c]; }
        for (c = 0; c < C; c++) o[c] /= s;
    }
    return CONVRNN_OK;
}

/* ================================================================ behaviour: I1 d' and OST */

CONVRNNDEF convrnn_status convrnn_i1_dprime(const double *proba, const int *labels, int n, int n_classes,
                                            const unsigned char *class_valid, double *i1, convrnn_error *err) {
    double *far_sum, *q;
    int *far_cnt, i, a, c;
    size_t cnt;
    if (!proba || !labels || !i1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "i1_dprime: NULL argument");
    if (n < 1 || n_classes < 2) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "i1_dprime: n=%d n_classes=%d", n, n_classes);
    if (!convrnn__m_count2((size_t)n, (size_t)n_classes, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "i1_dprime: n*n_classes overflows");
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "i1_dprime: labels[%d] = %d outside [0, %d)", i, labels[i], n_classes);
    q = convrnn__m_dalloc(cnt);
    far_sum = convrnn__m_dcalloc((size_t)n_classes * n_classes);
    far_cnt = (int *)convrnn_calloc(NULL, (size_t)n_classes * n_classes, sizeof(int));
    if (!q || !far_sum || !far_cnt) {
        convrnn_free(NULL, q); convrnn_free(NULL, far_sum); convrnn_free(NULL, far_cnt);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "i1_dprime: out of memory");
    }
#define CONVRNN__M_VALID(c) (!class_valid || class_valid[c])
    /* q(i,c): probability of choosing distractor c over the true object t_i */
    for (i = 0; i < n; i++) {
        int t = labels[i];
        for (c = 0; c < n_classes; c++) {
            double pc = proba[(size_t)i * n_classes + c], pt = proba[(size_t)i * n_classes + t];
            q[(size_t)i * n_classes + c] = (c == t || !CONVRNN__M_VALID(c) || !CONVRNN__M_VALID(t)) ? convrnn__m_nan() : pc / (pc + pt);
        }
    }
    /* FAR(a, c): mean over test images j of object c of q(j, a) (NaN-skipping) */
    for (i = 0; i < n; i++) {
        int cj = labels[i];
        for (a = 0; a < n_classes; a++) {
            double v = q[(size_t)i * n_classes + a];
            if (v == v) { far_sum[(size_t)a * n_classes + cj] += v; far_cnt[(size_t)a * n_classes + cj]++; }
        }
    }
    for (i = 0; i < n; i++) {
        int t = labels[i], k = 0;
        double s = 0;
        for (c = 0; c < n_classes; c++) {
            double hr, fa, d;
            int fc;
            if (c == t) continue;
            hr = 1.0 - q[(size_t)i * n_classes + c];
            fc = far_cnt[(size_t)t * n_classes + c];
            fa = fc ? far_sum[(size_t)t * n_classes + c] / fc : convrnn__m_nan();
            d = convrnn_norm_ppf(hr) - convrnn_norm_ppf(fa);
            if (d != d) continue;          /* NaN (including inf - inf) drops out of the mean */
            if (d > 5) d = 5;
            if (d < -5) d = -5;
            s += d; k++;
        }
        i1[i] = k ? s / k : convrnn__m_nan();
    }
#undef CONVRNN__M_VALID
    convrnn_free(NULL, q); convrnn_free(NULL, far_sum); convrnn_free(NULL, far_cnt);
    return CONVRNN_OK;
}

CONVRNNDEF double convrnn_ost_image(const double *dprime, const double *bin_ms, int n_bins, double threshold,
                                    convrnn_ost_anchor anchor) {
    int b, have = 0;
    double sl = 0, dl = 0;
    if (threshold != threshold) return convrnn__m_nan();
    for (b = 0; b < n_bins; b++) {
        double d = dprime[b];
        if (d != d) continue;
        if (d >= threshold) {
            if (!have) return bin_ms[b];
            return sl + (threshold - dl) * (bin_ms[b] - sl) / (d - dl);
        }
        if (anchor == CONVRNN_OST_ANCHOR_PREVIOUS_BIN || !have || d > dl) { sl = bin_ms[b]; dl = d; have = 1; }
    }
    return convrnn__m_nan();
}

CONVRNNDEF void convrnn_ost_options_default(convrnn_ost_options *o) {
    convrnn_decoder_options_default(&o->decoder);
    o->anchor = CONVRNN_OST_ANCHOR_MAX_SO_FAR;
}

CONVRNNDEF convrnn_status convrnn_ost_model(const double *features, int n_bins, int n, int p, const int *labels,
                                           int n_classes, const double *bin_ms, const double *thresholds,
                                           const convrnn_splits *splits, const convrnn_ost_options *opt,
                                           double *model_ost, double *dprime, convrnn_error *err) {
    convrnn_ost_options o;
    convrnn_status st;
    double *dp;
    int S, jobs, job, i, b, s, failed_job = -1;
    size_t cnt, total;
    convrnn_error *errs;
    if (!features || !labels || !bin_ms || !thresholds || !model_ost)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_model: NULL argument");
    if (n_bins < 1 || n < 2 || p < 1 || n_classes < 2)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_model: bad shape bins=%d n=%d p=%d classes=%d", n_bins, n, p, n_classes);
    if (!convrnn__m_count3((size_t)n_bins, (size_t)n, (size_t)p, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_model: features size overflows");
    st = convrnn__m_check_splits(splits, n, "ost_model", err);
    if (st) return st;
    for (b = 0; b < n_bins; b++) {
        if (!convrnn__m_isfinite(bin_ms[b]) || (b > 0 && !(bin_ms[b] > bin_ms[b - 1])))
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_model: bin_ms must be finite and increasing (bin %d = %g)", b, bin_ms[b]);
    }
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_model: labels[%d] = %d outside [0, %d)", i, labels[i], n_classes);
    if (opt) o = *opt; else convrnn_ost_options_default(&o);
    S = splits->n_splits;
    jobs = S * n_bins;
    if (!convrnn__m_count3((size_t)S, (size_t)n_bins, (size_t)n, &total))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_model: output size overflows");
    dp = dprime ? dprime : convrnn__m_dalloc(total);
    errs = (convrnn_error *)convrnn_calloc(NULL, (size_t)jobs, sizeof(convrnn_error));
    if (!dp || !errs) {
        if (!dprime) convrnn_free(NULL, dp);
        convrnn_free(NULL, errs);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_model: out of memory");
    }
    for (cnt = 0; cnt < total; cnt++) dp[cnt] = convrnn__m_nan();
    /* one decoder per (split, bin); jobs are independent, each deterministic */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (jobs > 1)
#endif
    for (job = 0; job < jobs; job++) {
        int sp = job / n_bins, bb = job % n_bins, ntr, nte, k, jj;
        const int *tr = splits->train + splits->train_start[sp], *te = splits->test + splits->test_start[sp];
        double *Xtr, *Xte, *P, *d1;
        int *ytr, *yte;
        convrnn_classifier clf;
        convrnn_status js;
        ntr = (int)(splits->train_start[sp + 1] - splits->train_start[sp]);
        nte = (int)(splits->test_start[sp + 1] - splits->test_start[sp]);
        Xtr = convrnn__m_dalloc((size_t)ntr * p);
        Xte = convrnn__m_dalloc((size_t)nte * p);
        P = convrnn__m_dalloc((size_t)nte * n_classes);
        d1 = convrnn__m_dalloc((size_t)nte);
        ytr = convrnn__m_ialloc((size_t)ntr);
        yte = convrnn__m_ialloc((size_t)nte);
        if (!Xtr || !Xte || !P || !d1 || !ytr || !yte) {
            convrnn_error_set(&errs[job], CONVRNN_ERR_NOMEM, "ost_model: out of memory (split %d, bin %d)", sp, bb);
        } else {
            const double *F = features + (size_t)bb * n * p;
            unsigned char *valid;
            for (k = 0; k < ntr; k++) { memcpy(Xtr + (size_t)k * p, F + (size_t)tr[k] * p, (size_t)p * sizeof(double)); ytr[k] = labels[tr[k]]; }
            for (k = 0; k < nte; k++) { memcpy(Xte + (size_t)k * p, F + (size_t)te[k] * p, (size_t)p * sizeof(double)); yte[k] = labels[te[k]]; }
            js = convrnn_classifier_fit(&clf, Xtr, ytr, ntr, p, n_classes, &o.decoder, &errs[job]);
            if (js == CONVRNN_OK) {
                js = convrnn_classifier_proba(&clf, Xte, nte, P, &errs[job]);
                valid = clf.present;
                if (js == CONVRNN_OK) js = convrnn_i1_dprime(P, yte, nte, n_classes, valid, d1, &errs[job]);
                if (js == CONVRNN_OK)
                    for (jj = 0; jj < nte; jj++) dp[((size_t)sp * n_bins + bb) * n + te[jj]] = d1[jj];
                convrnn_classifier_free(&clf);
            }
            if (js != CONVRNN_OK && errs[job].status == CONVRNN_OK) errs[job].status = js;
        }
        convrnn_free(NULL, Xtr); convrnn_free(NULL, Xte); convrnn_free(NULL, P); convrnn_free(NULL, d1);
        convrnn_free(NULL, ytr); convrnn_free(NULL, yte);
    }
    for (job = 0; job < jobs; job++)
        if (errs[job].status != CONVRNN_OK) { failed_job = job; break; }
    if (failed_job >= 0) {
        st = convrnn_error_set(err, errs[failed_job].status, "ost_model (split %d, bin %d): %s", failed_job / n_bins,
                               failed_job % n_bins, errs[failed_job].msg);
    } else {
        double *curve = convrnn__m_dalloc((size_t)n_bins);
        if (!curve) st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_model: out of memory");
        else {
            for (cnt = 0; cnt < (size_t)S * n; cnt++) model_ost[cnt] = convrnn__m_nan();
            for (s = 0; s < S; s++) {
                size_t t;
                for (t = splits->test_start[s]; t < splits->test_start[s + 1]; t++) {
                    int img = splits->test[t];
                    for (b = 0; b < n_bins; b++) curve[b] = dp[((size_t)s * n_bins + b) * n + img];
                    model_ost[(size_t)s * n + img] = convrnn_ost_image(curve, bin_ms, n_bins, thresholds[img], o.anchor);
                }
            }
            convrnn_free(NULL, curve);
            st = CONVRNN_OK;
        }
    }
    if (!dprime) convrnn_free(NULL, dp);
    convrnn_free(NULL, errs);
    return st;
}

CONVRNNDEF convrnn_status convrnn_ost_consistency(const double *model_ost, const double *it_ost,
                                                 const convrnn_splits *splits, int ddof, double *per_split_rho,
                                                 double *per_split_fraction, int *per_split_count,
                                                 convrnn_ost_summary *summary, convrnn_error *err) {
    int S, s, n;
    double *a, *b, *rho, *frac, *rk;
    convrnn__m_vi *ws;
    convrnn_status st;
    if (!model_ost || !it_ost || !splits) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_consistency: NULL argument");
    n = splits->n;
    st = convrnn__m_check_splits(splits, n, "ost_consistency", err);
    if (st) return st;
    S = splits->n_splits;
    a = convrnn__m_dalloc((size_t)n); b = convrnn__m_dalloc((size_t)n);
    rho = convrnn__m_dalloc((size_t)S); frac = convrnn__m_dalloc((size_t)S);
    rk = convrnn__m_dalloc((size_t)2 * n); ws = convrnn__m_vi_alloc((size_t)n);
    if (!a || !b || !rho || !frac || !rk || !ws) {
        convrnn_free(NULL, a); convrnn_free(NULL, b); convrnn_free(NULL, rho); convrnn_free(NULL, frac);
        convrnn_free(NULL, rk); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_consistency: out of memory");
    }
    for (s = 0; s < S; s++) {
        size_t t;
        int k = 0, itk = 0;
        for (t = splits->test_start[s]; t < splits->test_start[s + 1]; t++) {
            int img = splits->test[t];
            double mo = model_ost[(size_t)s * n + img], io = it_ost[img];
            if (convrnn__m_isfinite(io)) {
                itk++;
                if (convrnn__m_isfinite(mo)) { a[k] = mo; b[k] = io; k++; }
            }
        }
        rho[s] = k >= 2 ? convrnn__m_spearman_ws(a, b, (size_t)k, ws, rk) : convrnn__m_nan();
        frac[s] = itk ? (double)k / itk : convrnn__m_nan();
        if (per_split_rho) per_split_rho[s] = rho[s];
        if (per_split_fraction) per_split_fraction[s] = frac[s];
        if (per_split_count) per_split_count[s] = k;
    }
    if (summary) {
        size_t used;
        summary->consistency = convrnn_nanmean(rho, (size_t)S, &used);
        summary->splits_used = (int)used;
        summary->consistency_sem = convrnn_nansem(rho, (size_t)S, ddof, NULL);
        summary->fraction_solved = convrnn_nanmean(frac, (size_t)S, NULL);
    }
    convrnn_free(NULL, a); convrnn_free(NULL, b); convrnn_free(NULL, rho); convrnn_free(NULL, frac);
    convrnn_free(NULL, rk); convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ost_uniform_map(int k_layers, int n_bins, int *layer_of_bin, convrnn_error *err) {
    int j;
    if (!layer_of_bin) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_uniform_map: NULL output");
    if (k_layers < 1 || n_bins < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_uniform_map: k=%d bins=%d", k_layers, n_bins);
    for (j = 0; j < n_bins; j++) layer_of_bin[j] = (int)(((long long)j * k_layers) / n_bins);
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_graded_map_free(convrnn_graded_map *m) {
    if (!m) return;
    convrnn_free(NULL, m->layer); convrnn_free(NULL, m->unit);
    memset(m, 0, sizeof *m);
}

CONVRNNDEF convrnn_status convrnn_ost_graded_map(convrnn_graded_map *out, int k_layers, const int *layer_units,
                                                 int n_bins, int budget, uint64_t seed, convrnn_error *err) {
    int l, j, M, minu, maxu = 0, *pool;
    convrnn_rng rng;
    size_t cnt;
    if (!out || !layer_units) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_map: NULL argument");
    memset(out, 0, sizeof *out);
    if (k_layers < 1 || n_bins < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_graded_map: k=%d bins=%d", k_layers, n_bins);
    minu = layer_units[0];
    for (l = 0; l < k_layers; l++) {
        if (layer_units[l] < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_graded_map: layer %d has %d units", l, layer_units[l]);
        if (layer_units[l] < minu) minu = layer_units[l];
        if (layer_units[l] > maxu) maxu = layer_units[l];
    }
    M = budget > 0 ? budget : (minu < 1000 ? minu : 1000);
    if (M > minu)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_map: budget %d exceeds the smallest layer (%d units)", M, minu);
    if (!convrnn__m_count2((size_t)n_bins, (size_t)M, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_graded_map: overflow");
    out->layer = convrnn__m_ialloc(cnt);
    out->unit = convrnn__m_ialloc(cnt);
    pool = convrnn__m_ialloc((size_t)maxu);
    if (!out->layer || !out->unit || !pool) {
        convrnn_free(NULL, pool); convrnn_graded_map_free(out);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_graded_map: out of memory");
    }
    out->n_bins = n_bins; out->budget = M;
    convrnn_rng_seed(&rng, seed);
    for (j = 0; j < n_bins; j++) {
        double u = n_bins > 1 ? (double)j * (k_layers - 1) / (n_bins - 1) : 0.0, w;
        int a = (int)floor(u), nlow, part, k = 0;
        if (a > k_layers - 1) a = k_layers - 1;
        w = u - a;
        nlow = (w == 0 || a + 1 >= k_layers) ? M : (int)floor((1.0 - w) * M + 0.5);
        for (part = 0; part < 2; part++) {
            int layer = a + part, take = part == 0 ? nlow : M - nlow, i;
            if (take <= 0) continue;
            for (i = 0; i < layer_units[layer]; i++) pool[i] = i;
            for (i = 0; i < take; i++) { /* partial Fisher-Yates: draw without replacement */
                int r = i + (int)convrnn_rng_below(&rng, (uint32_t)(layer_units[layer] - i)), t = pool[i];
                pool[i] = pool[r]; pool[r] = t;
                out->layer[(size_t)j * M + k] = layer;
                out->unit[(size_t)j * M + k] = pool[i];
                k++;
            }
        }
    }
    convrnn_free(NULL, pool);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ost_graded_features(const convrnn_graded_map *m, const double *const *layers,
                                                      const int *layer_units, int k_layers, int n, double *out,
                                                      convrnn_error *err) {
    int j, i, u, M;
    if (!m || !layers || !layer_units || !out || !m->layer) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_features: NULL argument");
    M = m->budget;
    for (j = 0; j < m->n_bins * M; j++) {
        int l = m->layer[j];
        if (l < 0 || l >= k_layers || m->unit[j] < 0 || m->unit[j] >= layer_units[l] || !layers[l])
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_features: map entry %d (layer %d, unit %d) does not fit the layers given", j, l, m->unit[j]);
    }
    for (j = 0; j < m->n_bins; j++)
        for (i = 0; i < n; i++)
            for (u = 0; u < M; u++) {
                size_t e = (size_t)j * M + u;
                int l = m->layer[e];
                out[((size_t)j * n + i) * M + u] = layers[l][(size_t)i * layer_units[l] + m->unit[e]];
            }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ost_pls_features(const double *fit_features, const double *fit_it, int n_fit,
                                                   int p, int q, int n_bins, const double *ost_features,
                                                   int n_ost, const convrnn_pls_options *pls, double *out,
                                                   convrnn_error *err) {
    double *Y;
    int b, i, c;
    size_t cnt;
    convrnn_status st = CONVRNN_OK;
    if (!fit_features || !fit_it || !ost_features || !out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_pls_features: NULL argument");
    if (n_fit < 2 || p < 1 || q < 1 || n_bins < 1 || n_ost < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_pls_features: bad shape n_fit=%d p=%d q=%d bins=%d n_ost=%d", n_fit, p, q, n_bins, n_ost);
    if (!convrnn__m_count3((size_t)n_fit, (size_t)q, (size_t)n_bins, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_pls_features: overflow");
    Y = convrnn__m_dalloc((size_t)n_fit * q);
    if (!Y) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_pls_features: out of memory");
    for (b = 0; b < n_bins && !st; b++) {
        convrnn_pls m;
        for (i = 0; i < n_fit; i++)
            for (c = 0; c < q; c++) Y[(size_t)i * q + c] = fit_it[((size_t)i * q + c) * n_bins + b];
        st = convrnn_pls_fit(&m, fit_features + (size_t)b * n_fit * p, Y, n_fit, p, q, pls, err);
        if (st) break;
        st = convrnn_pls_predict(&m, ost_features + (size_t)b * n_ost * p, n_ost, out + (size_t)b * n_ost * q, err);
        convrnn_pls_free(&m);
    }
    convrnn_free(NULL, Y);
    return st;
}

/* ================================================================ noise ceilings */

CONVRNNDEF double convrnn_ceiling_bs2019(double r, double c) { return (r / c) * (r / c); }
CONVRNNDEF double convrnn_ceiling_bs2026(double r, double c) { return r * r / c; }
CONVRNNDEF double convrnn_ceiling_neuronwise(double r_j, double c_j) { return r_j * r_j / c_j; }
CONVRNNDEF double convrnn_ceiling_linear(double score, double c) { return score / c; }
CONVRNNDEF double convrnn_ceiling_r_nc(double r_xy, double r_xx, double r_yy) {
    double d = convrnn_spearman_brown(r_xx, 2.0) * convrnn_spearman_brown(r_yy, 2.0);
    return d > 0 ? r_xy / sqrt(d) : convrnn__m_nan();
}
CONVRNNDEF double convrnn_ceiling_ev_nc(double r_xy, double r_xx, double r_yy) {
    double r = convrnn_ceiling_r_nc(r_xy, r_xx, r_yy);
    return r * r;
}
CONVRNNDEF double convrnn_ceiling_r_nc_neuron(double r_xy, double r_yy) {
    double d = convrnn_spearman_brown(r_yy, 2.0);
    return d > 0 ? r_xy / sqrt(d) : convrnn__m_nan();
}
CONVRNNDEF double convrnn_ceiling_split_ratio_sb(double r_cross, double r_xx, double r_yy) {
    double d = r_xx * r_yy;
    return d > 0 ? convrnn_spearman_brown(r_cross / sqrt(d), 2.0) : convrnn__m_nan();
}

/* mean over a subset of trials: resp (R x E) -> out (E), trials idx[0..k) */
static void convrnn__m_trial_mean(const double *resp, size_t E, const int *idx, int k, double *out) {
    size_t e;
    int t;
    for (e = 0; e < E; e++) out[e] = 0;
    for (t = 0; t < k; t++) convrnn__m_axpy(out, 1.0, resp + (size_t)idx[t] * E, E);
    for (e = 0; e < E; e++) out[e] /= k;
}

/* Pearson between column (j) of two (N x W) matrices with stride W */
static double convrnn__m_pearson_strided(const double *A, const double *B, int N, size_t W, size_t j, double *ws) {
    int i;
    for (i = 0; i < N; i++) { ws[i] = A[(size_t)i * W + j]; ws[N + i] = B[(size_t)i * W + j]; }
    return convrnn_pearson(ws, ws + N, (size_t)N);
}

static convrnn_status convrnn__m_split_half(const double *resp, int R, int N, int Q, int B, int n_splits,
                                            uint64_t seed, int ddof, double *per_site, double *per_split,
                                            double *ceiling, double *error, convrnn_error *err) {
    size_t E, cnt, bad;
    double *h1, *h2, *rho, *split_med, *ws, *med_ws;
    int *perm, s, b, j, h;
    convrnn_rng rng;
    if (!resp) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ceiling_split_half: NULL responses");
    if (R < 2 || N < 2 || Q < 1 || B < 1 || n_splits < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ceiling_split_half: need R >= 2 trials, N >= 2 images (R=%d N=%d Q=%d B=%d splits=%d)",
                                 R, N, Q, B, n_splits);
    if (!convrnn__m_count3((size_t)N, (size_t)Q, (size_t)B, &E) || !convrnn__m_count2(E, (size_t)R, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ceiling_split_half: size overflow");
    if (!convrnn__m_all_finite(resp, cnt, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "ceiling_split_half: response element %lu (trial %lu) is not finite",
                                 (unsigned long)bad, (unsigned long)(bad / E));
    h1 = convrnn__m_dalloc(E); h2 = convrnn__m_dalloc(E);
    rho = convrnn__m_dcalloc((size_t)Q * B * n_splits);
    split_med = convrnn__m_dalloc((size_t)n_splits * B);
    ws = convrnn__m_dalloc((size_t)2 * N);
    med_ws = convrnn__m_dalloc((size_t)Q + (size_t)n_splits);
    perm = convrnn__m_ialloc((size_t)R);
    if (!h1 || !h2 || !rho || !split_med || !ws || !med_ws || !perm) {
        convrnn_free(NULL, h1); convrnn_free(NULL, h2); convrnn_free(NULL, rho); convrnn_free(NULL, split_med);
        convrnn_free(NULL, ws); convrnn_free(NULL, med_ws); convrnn_free(NULL, perm);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ceiling_split_half: out of memory");
    }
    convrnn_rng_seed(&rng, seed);
    h = R / 2;
    for (s = 0; s < n_splits; s++) {
        for (j = 0; j < R; j++) perm[j] = j;
        convrnn__m_shuffle_int(perm, R, &rng);
        convrnn__m_trial_mean(resp, E, perm, h, h1);
        convrnn__m_trial_mean(resp, E, perm + h, R - h, h2);
        for (j = 0; j < Q; j++)
            for (b = 0; b < B; b++) {
                double r = convrnn__m_pearson_strided(h1, h2, N, (size_t)Q * B, (size_t)j * B + b, ws);
                rho[((size_t)s * Q + j) * B + b] = convrnn_spearman_brown(r, 2.0);
            }
        for (b = 0; b < B; b++) {
            for (j = 0; j < Q; j++) med_ws[j] = rho[((size_t)s * Q + j) * B + b];
            split_med[(size_t)b * n_splits + s] = convrnn__m_nanmedian_ws(med_ws, (size_t)Q, med_ws, NULL);
        }
    }
    if (per_split) memcpy(per_split, split_med, (size_t)n_splits * B * sizeof(double));
    for (b = 0; b < B; b++) {
        const double *v = split_med + (size_t)b * n_splits;
        if (ceiling) ceiling[b] = convrnn_nanmean(v, (size_t)n_splits, NULL);
        if (error) error[b] = convrnn_nansem(v, (size_t)n_splits, ddof, NULL);
    }
    if (per_site)
        for (j = 0; j < Q; j++)
            for (b = 0; b < B; b++) {
                for (s = 0; s < n_splits; s++) med_ws[s] = rho[((size_t)s * Q + j) * B + b];
                per_site[(size_t)j * B + b] = convrnn_nanmean(med_ws, (size_t)n_splits, NULL);
            }
    convrnn_free(NULL, h1); convrnn_free(NULL, h2); convrnn_free(NULL, rho); convrnn_free(NULL, split_med);
    convrnn_free(NULL, ws); convrnn_free(NULL, med_ws); convrnn_free(NULL, perm);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ceiling_split_half_temporal(const double *resp, int R, int N, int Q, int B,
                                                              int n_splits, uint64_t seed, int ddof,
                                                              double *per_site, double *ceiling, double *error,
                                                              convrnn_error *err) {
    return convrnn__m_split_half(resp, R, N, Q, B, n_splits, seed, ddof, per_site, NULL, ceiling, error, err);
}

CONVRNNDEF convrnn_status convrnn_ceiling_split_half(const double *resp, int R, int N, int Q, int n_splits,
                                                     uint64_t seed, int ddof, double *per_site, double *per_split,
                                                     double *ceiling, double *error, convrnn_error *err) {
    return convrnn__m_split_half(resp, R, N, Q, 1, n_splits, seed, ddof, per_site, per_split, ceiling, error, err);
}

/* ================================================================ neural predictivity */

/* Fit the map on the training images and predict the test images.
   src[b]: N x P features for bin b; tgt[b]: N x Q responses for bin b.
   pred: B x nte x Q (bin-major). FIXED: one PLS on the stacked (bin, image) rows. */
static convrnn_status convrnn__m_map_fit_predict(const double *const *src, int P, const double *const *tgt, int Q, int B,
                                                 convrnn_map_kind map, const int *tr, int ntr, const int *te, int nte,
                                                 const convrnn_pls_options *pls, double *pred, convrnn_error *err) {
    int nb = map == CONVRNN_MAP_FIXED ? B : 1, fits = map == CONVRNN_MAP_FIXED ? 1 : B, f;
    size_t rows = (size_t)nb * ntr;
    double *Xs = convrnn__m_dalloc(rows * P), *Ys = convrnn__m_dalloc(rows * Q), *Xt = convrnn__m_dalloc((size_t)nb * nte * P);
    convrnn_status st = CONVRNN_OK;
    if (!Xs || !Ys || !Xt) {
        convrnn_free(NULL, Xs); convrnn_free(NULL, Ys); convrnn_free(NULL, Xt);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "map: out of memory (%lu stacked rows x %d features)", (unsigned long)rows, P);
    }
    for (f = 0; f < fits && !st; f++) {
        int b0 = map == CONVRNN_MAP_FIXED ? 0 : f, k, i;
        convrnn_pls m;
        for (k = 0; k < nb; k++) {
            int b = b0 + k;
            for (i = 0; i < ntr; i++) {
                memcpy(Xs + ((size_t)k * ntr + i) * P, src[b] + (size_t)tr[i] * P, (size_t)P * sizeof(double));
                memcpy(Ys + ((size_t)k * ntr + i) * Q, tgt[b] + (size_t)tr[i] * Q, (size_t)Q * sizeof(double));
            }
            for (i = 0; i < nte; i++)
                memcpy(Xt + ((size_t)k * nte + i) * P, src[b] + (size_t)te[i] * P, (size_t)P * sizeof(double));
        }
        st = convrnn_pls_fit_inplace(&m, Xs, Ys, (int)rows, P, Q, pls, err);
        if (st) break;
        st = convrnn_pls_predict(&m, Xt, nb * nte, pred + (size_t)b0 * nte * Q, err);
        convrnn_pls_free(&m);
    }
    convrnn_free(NULL, Xs); convrnn_free(NULL, Ys); convrnn_free(NULL, Xt);
    return st;
}

/* r over test images between pred (B x nte x Q) and tgt[b] rows te: out (Q x B) */
static void convrnn__m_score_bins(const double *pred, const double *const *tgt, int Q, int B, const int *te, int nte,
                                  double *out, double *ws) {
    int j, b, i;
    for (j = 0; j < Q; j++)
        for (b = 0; b < B; b++) {
            for (i = 0; i < nte; i++) {
                ws[i] = pred[((size_t)b * nte + i) * Q + j];
                ws[nte + i] = tgt[b][(size_t)te[i] * Q + j];
            }
            out[(size_t)j * B + b] = convrnn_pearson(ws, ws + nte, (size_t)nte);
        }
}

/* (N x Q x B) -> bin-major (B x N x Q) */
static void convrnn__m_to_bin_major(const double *in, int N, int Q, int B, double *out) {
    int i, j, b;
    for (i = 0; i < N; i++)
        for (j = 0; j < Q; j++)
            for (b = 0; b < B; b++) out[((size_t)b * N + i) * Q + j] = in[((size_t)i * Q + j) * B + b];
}

static int convrnn__m_split_sizes(const convrnn_splits *s, int *max_tr, int *max_te) {
    int k;
    *max_tr = *max_te = 0;
    for (k = 0; k < s->n_splits; k++) {
        int a = (int)(s->train_start[k + 1] - s->train_start[k]), b = (int)(s->test_start[k + 1] - s->test_start[k]);
        if (a > *max_tr) *max_tr = a;
        if (b > *max_te) *max_te = b;
    }
    return 1;
}

CONVRNNDEF convrnn_status convrnn_neural_predictivity(const double *features, int n_steps, int N, int P,
                                                      const int *bin_steps, const double *target, int Q, int B,
                                                      const convrnn_splits *splits, convrnn_map_kind map,
                                                      const convrnn_pls_options *pls, double *r,
                                                      convrnn_error *err) {
    const double **src = NULL, **tgt = NULL;
    double *T = NULL, *pred = NULL, *ws = NULL;
    size_t cnt, bad;
    int b, s, mtr, mte;
    convrnn_status st;
    if (!features || !bin_steps || !target || !r) return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_predictivity: NULL argument");
    if (n_steps < 1 || N < 2 || P < 1 || Q < 1 || B < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "neural_predictivity: bad shape steps=%d N=%d P=%d Q=%d B=%d", n_steps, N, P, Q, B);
    if (map != CONVRNN_MAP_FIXED && map != CONVRNN_MAP_PER_BIN) return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_predictivity: unknown map %d", (int)map);
    for (b = 0; b < B; b++)
        if (bin_steps[b] < 0 || bin_steps[b] >= n_steps)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_predictivity: bin %d maps to step %d, features have %d steps", b, bin_steps[b], n_steps);
    if (!convrnn__m_count3((size_t)N, (size_t)Q, (size_t)B, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "neural_predictivity: overflow");
    if (!convrnn__m_all_finite(target, cnt, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "neural_predictivity: target[%lu] is not finite", (unsigned long)bad);
    st = convrnn__m_check_splits(splits, N, "neural_predictivity", err);
    if (st) return st;
    convrnn__m_split_sizes(splits, &mtr, &mte);
    src = (const double **)convrnn_malloc(NULL, sizeof(double *) * (size_t)B);
    tgt = (const double **)convrnn_malloc(NULL, sizeof(double *) * (size_t)B);
    T = convrnn__m_dalloc(cnt);
    pred = convrnn__m_dalloc((size_t)B * mte * Q);
    ws = convrnn__m_dalloc((size_t)2 * mte);
    if (!src || !tgt || !T || !pred || !ws) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "neural_predictivity: out of memory"); goto done; }
    convrnn__m_to_bin_major(target, N, Q, B, T);
    for (b = 0; b < B; b++) { src[b] = features + (size_t)bin_steps[b] * N * P; tgt[b] = T + (size_t)b * N * Q; }
    for (s = 0; s < splits->n_splits; s++) {
        const int *tr = splits->train + splits->train_start[s], *te = splits->test + splits->test_start[s];
        int ntr = (int)(splits->train_start[s + 1] - splits->train_start[s]), nte = (int)(splits->test_start[s + 1] - splits->test_start[s]);
        st = convrnn__m_map_fit_predict(src, P, tgt, Q, B, map, tr, ntr, te, nte, pls, pred, err);
        if (st) goto done;
        convrnn__m_score_bins(pred, tgt, Q, B, te, nte, r + (size_t)s * Q * B, ws);
    }
done:
    convrnn_free(NULL, (void *)src); convrnn_free(NULL, (void *)tgt);
    convrnn_free(NULL, T); convrnn_free(NULL, pred); convrnn_free(NULL, ws);
    return st;
}

CONVRNNDEF convrnn_status convrnn_neural_score_static(const double *X, int N, int P, const double *Y, int Q,
                                                      const convrnn_splits *splits, const convrnn_pls_options *pls,
                                                      double *score, double *per_split, double *r,
                                                      convrnn_error *err) {
    double *rr, *med, *ws;
    int bin0 = 0, s, S;
    convrnn_status st;
    if (!X || !Y || !score) return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_score_static: NULL argument");
    st = convrnn__m_check_splits(splits, N, "neural_score_static", err);
    if (st) return st;
    S = splits->n_splits;
    rr = r ? r : convrnn__m_dalloc((size_t)S * Q);
    med = convrnn__m_dalloc((size_t)S);
    ws = convrnn__m_dalloc((size_t)Q);
    if (!rr || !med || !ws) {
        if (!r) convrnn_free(NULL, rr);
        convrnn_free(NULL, med); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "neural_score_static: out of memory");
    }
    st = convrnn_neural_predictivity(X, 1, N, P, &bin0, Y, Q, 1, splits, CONVRNN_MAP_FIXED, pls, rr, err);
    if (!st) {
        for (s = 0; s < S; s++) med[s] = convrnn__m_nanmedian_ws(rr + (size_t)s * Q, (size_t)Q, ws, NULL);
        *score = convrnn_nanmean(med, (size_t)S, NULL);
        if (per_split) memcpy(per_split, med, (size_t)S * sizeof(double));
    }
    if (!r) convrnn_free(NULL, rr);
    convrnn_free(NULL, med); convrnn_free(NULL, ws);
    return st;
}

CONVRNNDEF convrnn_status convrnn_time_average(const double *resp, int N, int Q, int B, const double *bin_ms,
                                               double t0, double t1, double *out, convrnn_error *err) {
    int b, k = 0;
    size_t e;
    if (!resp || !bin_ms || !out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "time_average: NULL argument");
    if (N < 1 || Q < 1 || B < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "time_average: bad shape N=%d Q=%d B=%d", N, Q, B);
    for (b = 0; b < B; b++)
        if (bin_ms[b] >= t0 && bin_ms[b] < t1) k++;
    if (!k) return convrnn_error_set(err, CONVRNN_ERR_ARG, "time_average: no bin starts in [%g, %g)", t0, t1);
    for (e = 0; e < (size_t)N * Q; e++) {
        double s = 0;
        for (b = 0; b < B; b++)
            if (bin_ms[b] >= t0 && bin_ms[b] < t1) s += resp[e * B + b];
        out[e] = s / k;
    }
    return CONVRNN_OK;
}

CONVRNNDEF int convrnn_select_layer(const double *scores, int n_layers) {
    int l, best = -1;
    for (l = 0; l < n_layers; l++)
        if (scores[l] == scores[l] && (best < 0 || scores[l] > scores[best])) best = l;
    return best;
}

CONVRNNDEF convrnn_status convrnn_select_layer_neural(const double *const *layers, const int *layer_p,
                                                      int n_layers, int N, const double *Y, int Q,
                                                      const convrnn_splits *splits, const convrnn_pls_options *pls,
                                                      int *best, double *scores, convrnn_error *err) {
    double *sc;
    int l;
    convrnn_status st = CONVRNN_OK;
    if (!layers || !layer_p || !Y || !best) return convrnn_error_set(err, CONVRNN_ERR_ARG, "select_layer_neural: NULL argument");
    if (n_layers < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "select_layer_neural: n_layers=%d", n_layers);
    sc = scores ? scores : convrnn__m_dalloc((size_t)n_layers);
    if (!sc) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "select_layer_neural: out of memory");
    for (l = 0; l < n_layers && !st; l++) {
        st = convrnn_neural_score_static(layers[l], N, layer_p[l], Y, Q, splits, pls, &sc[l], NULL, NULL, err);
        if (st) { char tmp[320]; memcpy(tmp, err ? err->msg : "", err ? sizeof tmp : 1); if (err) convrnn_error_set(err, st, "layer %d: %s", l, tmp); }
    }
    if (!st) *best = convrnn_select_layer(sc, n_layers);
    if (!scores) convrnn_free(NULL, sc);
    return st;
}

CONVRNNDEF convrnn_status convrnn_phase_summary(const double *values, int n_splits, int Q, int B,
                                                const int *phase_bins, int n_phase_bins, int ddof, double *per_site,
                                                double *median, double *sem, int *used, convrnn_error *err) {
    double *ps, *ws;
    int j, s, k;
    size_t u;
    if (!values || !phase_bins || !median || !sem) return convrnn_error_set(err, CONVRNN_ERR_ARG, "phase_summary: NULL argument");
    if (n_splits < 1 || Q < 1 || B < 1 || n_phase_bins < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "phase_summary: bad shape splits=%d Q=%d B=%d phase=%d", n_splits, Q, B, n_phase_bins);
    for (k = 0; k < n_phase_bins; k++)
        if (phase_bins[k] < 0 || phase_bins[k] >= B)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "phase_summary: phase bin %d = %d outside [0, %d)", k, phase_bins[k], B);
    ps = per_site ? per_site : convrnn__m_dalloc((size_t)Q);
    ws = convrnn__m_dalloc((size_t)Q + (size_t)n_splits * n_phase_bins);
    if (!ps || !ws) {
        if (!per_site) convrnn_free(NULL, ps);
        convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "phase_summary: out of memory");
    }
    for (j = 0; j < Q; j++) {
        double *v = ws + Q;
        int m = 0;
        for (s = 0; s < n_splits; s++)
            for (k = 0; k < n_phase_bins; k++) v[m++] = values[((size_t)s * Q + j) * B + phase_bins[k]];
        ps[j] = convrnn_nanmean(v, (size_t)m, NULL);
    }
    *median = convrnn__m_nanmedian_ws(ps, (size_t)Q, ws, &u);
    *sem = convrnn_nansem(ps, (size_t)Q, ddof, NULL);
    if (used) *used = (int)u;
    if (!per_site) convrnn_free(NULL, ps);
    convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

/* ================================================================ noise-corrected consistency */

CONVRNNDEF void convrnn_consistency_options_default(convrnn_consistency_options *o) {
    convrnn_pls_options_default(&o->pls);
    o->map = CONVRNN_MAP_FIXED;
    o->n_halves = 10;
    o->seed = 1234;
}

CONVRNNDEF void convrnn_consistency_result_free(convrnn_consistency_result *r) {
    if (!r) return;
    convrnn_free(NULL, r->r_xy); convrnn_free(NULL, r->r_xx); convrnn_free(NULL, r->r_yy);
    convrnn_free(NULL, r->r_nc); convrnn_free(NULL, r->r_sb_ratio); convrnn_free(NULL, r->r_nc_neuron);
    memset(r, 0, sizeof *r);
}

/* trial mean of (R x N x U x B) over trials idx -> bin-major (B x N x U) */
static void convrnn__m_trials_to_bins(const double *trials, int N, int U, int B, const int *idx, int k, double *tmp,
                                      double *out) {
    convrnn__m_trial_mean(trials, (size_t)N * U * B, idx, k, tmp);
    convrnn__m_to_bin_major(tmp, N, U, B, out);
}

static void convrnn__m_acc(double *sum, int *cnt, size_t i, double v) {
    if (v == v) { sum[i] += v; cnt[i]++; }
}

CONVRNNDEF convrnn_status convrnn_consistency(const convrnn_source *source, const double *target, int R, int N,
                                              int Q, int B, const convrnn_splits *splits,
                                              const convrnn_consistency_options *opt,
                                              convrnn_consistency_result *res, convrnn_error *err) {
    convrnn_consistency_options o;
    size_t QB, tcnt, scnt = 0, bad, EU;
    int P, Rs = 1, s, h, j, b, mtr, mte, *perm = NULL, *perm_s = NULL, neural;
    double *Tbar = NULL, *T1 = NULL, *T2 = NULL, *Sbar = NULL, *S1 = NULL, *S2 = NULL, *tmp = NULL;
    double *pred = NULL, *pred1 = NULL, *pred2 = NULL, *ws = NULL, *rxy = NULL;
    double *sum[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    int *cnt[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    const double **src = NULL, **src1 = NULL, **src2 = NULL, **tgt = NULL, **tgt1 = NULL, **tgt2 = NULL;
    convrnn_status st = CONVRNN_OK;
    convrnn_rng rng;
    if (!source || !source->data || !target || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: NULL argument");
    memset(res, 0, sizeof *res);
    if (opt) o = *opt; else convrnn_consistency_options_default(&o);
    P = source->p;
    neural = source->kind == CONVRNN_SOURCE_NEURAL;
    if (source->kind != CONVRNN_SOURCE_MODEL && !neural) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: unknown source kind %d", (int)source->kind);
    if (R < 2 || N < 3 || Q < 1 || B < 1 || P < 1 || o.n_halves < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "consistency: bad shape R=%d N=%d Q=%d B=%d P=%d halves=%d", R, N, Q, B, P, o.n_halves);
    if (o.map != CONVRNN_MAP_FIXED && o.map != CONVRNN_MAP_PER_BIN) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: unknown map %d", (int)o.map);
    if (neural) {
        Rs = source->n_trials;
        if (Rs < 2) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "consistency: a neural source needs >= 2 trials (got %d)", Rs);
        if (!convrnn__m_count4((size_t)Rs, (size_t)N, (size_t)P, (size_t)B, &scnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "consistency: overflow");
        if (!convrnn__m_all_finite(source->data, scnt, &bad))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "consistency: source element %lu is not finite", (unsigned long)bad);
    } else {
        if (!source->bin_steps || source->n_steps < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: model source needs n_steps and bin_steps");
        for (b = 0; b < B; b++)
            if (source->bin_steps[b] < 0 || source->bin_steps[b] >= source->n_steps)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: bin %d maps to step %d, source has %d steps", b, source->bin_steps[b], source->n_steps);
    }
    if (!convrnn__m_count4((size_t)R, (size_t)N, (size_t)Q, (size_t)B, &tcnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "consistency: overflow");
    if (!convrnn__m_all_finite(target, tcnt, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "consistency: target element %lu is not finite", (unsigned long)bad);
    st = convrnn__m_check_splits(splits, N, "consistency", err);
    if (st) return st;
    convrnn__m_split_sizes(splits, &mtr, &mte);
    QB = (size_t)Q * B;
    EU = (size_t)N * (P > Q ? P : Q) * B;
    Tbar = convrnn__m_dalloc((size_t)N * QB); T1 = convrnn__m_dalloc((size_t)N * QB); T2 = convrnn__m_dalloc((size_t)N * QB);
    tmp = convrnn__m_dalloc(EU);
    pred = convrnn__m_dalloc((size_t)B * mte * Q); pred1 = convrnn__m_dalloc((size_t)B * mte * Q); pred2 = convrnn__m_dalloc((size_t)B * mte * Q);
    ws = convrnn__m_dalloc((size_t)2 * mte + 2); rxy = convrnn__m_dalloc(QB);
    perm = convrnn__m_ialloc((size_t)R); perm_s = convrnn__m_ialloc((size_t)Rs);
    src = (const double **)convrnn_malloc(NULL, sizeof(double *) * (size_t)B * 6);
    if (!Tbar || !T1 || !T2 || !tmp || !pred || !pred1 || !pred2 || !ws || !rxy || !perm || !perm_s || !src) goto nomem;
    src1 = src + B; src2 = src + 2 * B; tgt = src + 3 * B; tgt1 = src + 4 * B; tgt2 = src + 5 * B;
    for (j = 0; j < 6; j++) {
        sum[j] = convrnn__m_dcalloc(QB);
        cnt[j] = (int *)convrnn_calloc(NULL, QB, sizeof(int));
        if (!sum[j] || !cnt[j]) goto nomem;
    }
    if (neural) {
        Sbar = convrnn__m_dalloc((size_t)N * P * B); S1 = convrnn__m_dalloc((size_t)N * P * B); S2 = convrnn__m_dalloc((size_t)N * P * B);
        if (!Sbar || !S1 || !S2) goto nomem;
        for (j = 0; j < Rs; j++) perm_s[j] = j;
        convrnn__m_trials_to_bins(source->data, N, P, B, perm_s, Rs, tmp, Sbar);
    }
    for (j = 0; j < R; j++) perm[j] = j;
    convrnn__m_trials_to_bins(target, N, Q, B, perm, R, tmp, Tbar);
    for (b = 0; b < B; b++) {
        tgt[b] = Tbar + (size_t)b * N * Q; tgt1[b] = T1 + (size_t)b * N * Q; tgt2[b] = T2 + (size_t)b * N * Q;
        if (neural) {
            src[b] = Sbar + (size_t)b * N * P; src1[b] = S1 + (size_t)b * N * P; src2[b] = S2 + (size_t)b * N * P;
        } else {
            src[b] = src1[b] = src2[b] = source->data + (size_t)source->bin_steps[b] * N * P;
        }
    }
    for (s = 0; s < splits->n_splits; s++) {
        const int *tr = splits->train + splits->train_start[s], *te = splits->test + splits->test_start[s];
        int ntr = (int)(splits->train_start[s + 1] - splits->train_start[s]), nte = (int)(splits->test_start[s + 1] - splits->test_start[s]);
        st = convrnn__m_map_fit_predict(src, P, tgt, Q, B, o.map, tr, ntr, te, nte, &o.pls, pred, err);
        if (st) goto done;
        convrnn__m_score_bins(pred, tgt, Q, B, te, nte, rxy, ws);
        for (j = 0; j < (int)QB; j++) convrnn__m_acc(sum[0], cnt[0], (size_t)j, rxy[j]);
        for (h = 0; h < o.n_halves; h++) {
            /* the same halves for every train/test split: seed + h */
            convrnn_rng_seed(&rng, o.seed + (uint64_t)h);
            for (j = 0; j < R; j++) perm[j] = j;
            convrnn__m_shuffle_int(perm, R, &rng);
            convrnn__m_trials_to_bins(target, N, Q, B, perm, R / 2, tmp, T1);
            convrnn__m_trials_to_bins(target, N, Q, B, perm + R / 2, R - R / 2, tmp, T2);
            if (neural) {
                for (j = 0; j < Rs; j++) perm_s[j] = j;
                convrnn__m_shuffle_int(perm_s, Rs, &rng);
                convrnn__m_trials_to_bins(source->data, N, P, B, perm_s, Rs / 2, tmp, S1);
                convrnn__m_trials_to_bins(source->data, N, P, B, perm_s + Rs / 2, Rs - Rs / 2, tmp, S2);
            }
            st = convrnn__m_map_fit_predict(src1, P, tgt1, Q, B, o.map, tr, ntr, te, nte, &o.pls, pred1, err);
            if (!st) st = convrnn__m_map_fit_predict(src2, P, tgt2, Q, B, o.map, tr, ntr, te, nte, &o.pls, pred2, err);
            if (st) goto done;
            for (j = 0; j < Q; j++)
                for (b = 0; b < B; b++) {
                    size_t e = (size_t)j * B + b;
                    int i;
                    double rxx, ryy, rcr;
                    for (i = 0; i < nte; i++) { ws[i] = pred1[((size_t)b * nte + i) * Q + j]; ws[nte + i] = pred2[((size_t)b * nte + i) * Q + j]; }
                    rxx = convrnn_pearson(ws, ws + nte, (size_t)nte);
                    for (i = 0; i < nte; i++) { ws[i] = tgt1[b][(size_t)te[i] * Q + j]; ws[nte + i] = tgt2[b][(size_t)te[i] * Q + j]; }
                    ryy = convrnn_pearson(ws, ws + nte, (size_t)nte);
                    for (i = 0; i < nte; i++) ws[i] = pred1[((size_t)b * nte + i) * Q + j]; /* vs T2 */
                    rcr = convrnn_pearson(ws, ws + nte, (size_t)nte);
                    convrnn__m_acc(sum[1], cnt[1], e, rxx);
                    convrnn__m_acc(sum[2], cnt[2], e, ryy);
                    convrnn__m_acc(sum[3], cnt[3], e, convrnn_ceiling_r_nc(rxy[e], rxx, ryy));
                    convrnn__m_acc(sum[4], cnt[4], e, convrnn_ceiling_split_ratio_sb(rcr, rxx, ryy));
                    convrnn__m_acc(sum[5], cnt[5], e, convrnn_ceiling_r_nc_neuron(rxy[e], ryy));
                }
        }
    }
    res->Q = Q; res->B = B;
    {
        double **outs[6];
        int k;
        outs[0] = &res->r_xy; outs[1] = &res->r_xx; outs[2] = &res->r_yy;
        outs[3] = &res->r_nc; outs[4] = &res->r_sb_ratio; outs[5] = &res->r_nc_neuron;
        for (k = 0; k < 6; k++) {
            size_t e;
            *outs[k] = convrnn__m_dalloc(QB);
            if (!*outs[k]) { convrnn_consistency_result_free(res); goto nomem; }
            for (e = 0; e < QB; e++) (*outs[k])[e] = cnt[k][e] ? sum[k][e] / cnt[k][e] : convrnn__m_nan();
        }
    }
    goto done;
nomem:
    st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "consistency: out of memory (N=%d Q=%d B=%d P=%d)", N, Q, B, P);
done:
    convrnn_free(NULL, Tbar); convrnn_free(NULL, T1); convrnn_free(NULL, T2); convrnn_free(NULL, tmp);
    convrnn_free(NULL, Sbar); convrnn_free(NULL, S1); convrnn_free(NULL, S2);
    convrnn_free(NULL, pred); convrnn_free(NULL, pred1); convrnn_free(NULL, pred2);
    convrnn_free(NULL, ws); convrnn_free(NULL, rxy); convrnn_free(NULL, perm); convrnn_free(NULL, perm_s);
    convrnn_free(NULL, (void *)src);
    for (j = 0; j < 6; j++) { convrnn_free(NULL, sum[j]); convrnn_free(NULL, cnt[j]); }
    if (st) convrnn_consistency_result_free(res);
    return st;
}

/* ================================================================ synthetic data */

CONVRNNDEF void convrnn_synth_neural_params_default(convrnn_synth_neural_params *p) {
    p->n_trials = 30; p->n_images = 2560; p->n_objects = 64; p->n_sites = 256; p->n_bins = 19; p->latent_dim = 16;
    p->bin0_ms = 70; p->bin_width_ms = 10;
    p->reliability_min = 0.5; p->reliability_max = 0.95;
    p->seed = 1;
}

CONVRNNDEF void convrnn_synth_neural_free(convrnn_synth_neural *s) {
    if (!s) return;
    convrnn_free(NULL, s->responses); convrnn_free(NULL, s->signal); convrnn_free(NULL, s->latent);
    convrnn_free(NULL, s->latent_late); convrnn_free(NULL, s->labels); convrnn_free(NULL, s->noise_sd);
    convrnn_free(NULL, s->reliability); convrnn_free(NULL, s->bin_ms);
    memset(s, 0, sizeof *s);
}

CONVRNNDEF double convrnn_synth_expected_reliability(double v, double s2, int R) {
    double h1 = (double)(R / 2), h2 = (double)(R - R / 2), r;
    if (!(v > 0)) return 0.0;
    r = v / sqrt((v + s2 / h1) * (v + s2 / h2));
    return convrnn_spearman_brown(r, 2.0);
}

CONVRNNDEF convrnn_status convrnn_synth_neural_make(convrnn_synth_neural *out, const convrnn_synth_neural_params *prm,
                                                   convrnn_error *err) {
    convrnn_synth_neural_params p;
    convrnn_rng rng;
    int R, N, Q, B, D, O, i, j, b, d, t;
    size_t cnt;
    double *mu = NULL, *A = NULL, *A2 = NULL, *onset = NULL, *v = NULL;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_neural: NULL output");
    memset(out, 0, sizeof *out);
    if (prm) p = *prm; else convrnn_synth_neural_params_default(&p);
    R = p.n_trials; N = p.n_images; Q = p.n_sites; B = p.n_bins; D = p.latent_dim; O = p.n_objects;
    if (R < 2 || N < 2 || Q < 1 || B < 1 || D < 1 || O < 1 || O > N)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "synth_neural: bad sizes trials=%d images=%d sites=%d bins=%d latent=%d objects=%d",
                                 R, N, Q, B, D, O);
    if (!(p.reliability_min > 0) || !(p.reliability_max < 1) || p.reliability_min > p.reliability_max)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_neural: reliabilities must satisfy 0 < min <= max < 1 (%g, %g)",
                                 p.reliability_min, p.reliability_max);
    if (!convrnn__m_count4((size_t)R, (size_t)N, (size_t)Q, (size_t)B, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "synth_neural: size overflow");
    out->R = R; out->N = N; out->Q = Q; out->B = B; out->D = D;
    out->responses = convrnn__m_dalloc(cnt);
    out->signal = convrnn__m_dalloc((size_t)N * Q * B);
    out->latent = convrnn__m_dalloc((size_t)N * D);
    out->latent_late = convrnn__m_dalloc((size_t)N * D);
    out->labels = convrnn__m_ialloc((size_t)N);
    out->noise_sd = convrnn__m_dalloc((size_t)Q);
    out->reliability = convrnn__m_dalloc((size_t)Q * B);
    out->bin_ms = convrnn__m_dalloc((size_t)B);
    mu = convrnn__m_dalloc((size_t)O * D); A = convrnn__m_dalloc((size_t)Q * D); A2 = convrnn__m_dalloc((size_t)Q * D);
    onset = convrnn__m_dalloc((size_t)Q); v = convrnn__m_dalloc((size_t)Q * B);
    if (!out->responses || !out->signal || !out->latent || !out->latent_late || !out->labels || !out->noise_sd ||
        !out->reliability || !out->bin_ms || !mu || !A || !A2 || !onset || !v) {
        convrnn_free(NULL, mu); convrnn_free(NULL, A); convrnn_free(NULL, A2); convrnn_free(NULL, onset); convrnn_free(NULL, v);
        convrnn_synth_neural_free(out);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "synth_neural: out of memory");
    }
    convrnn_rng_seed(&rng, p.seed);
    for (b = 0; b < B; b++) out->bin_ms[b] = p.bin0_ms + b * p.bin_width_ms;
    for (i = 0; i < O * D; i++) mu[i] = convrnn_rng_normal(&rng);
    for (i = 0; i < N; i++) {
        out->labels[i] = (int)(((long long)i * O) / N);
        for (d = 0; d < D; d++) {
            out->latent[(size_t)i * D + d] = mu[(size_t)out->labels[i] * D + d] + 0.7 * convrnn_rng_normal(&rng);
            out->latent_late[(size_t)i * D + d] = 0.5 * mu[(size_t)out->labels[i] * D + d] + convrnn_rng_normal(&rng);
        }
    }
    for (j = 0; j < Q * D; j++) { A[j] = convrnn_rng_normal(&rng) / sqrt((double)D); A2[j] = convrnn_rng_normal(&rng) / sqrt((double)D); }
    for (j = 0; j < Q; j++) onset[j] = 70.0 + 30.0 * convrnn_rng_uniform(&rng);
    /* signal(i,j,b) = g_j(t) <L_i, A_j> + 0.6 h(t) <L2_i, A2_j> + baseline_j; g: alpha function peaking
       20 ms after the onset, decaying to a sustained 0.3; h: late logistic ramp around 160 ms */
    for (j = 0; j < Q; j++) {
        double base = convrnn_rng_uniform(&rng);
        for (b = 0; b < B; b++) {
            double tm = out->bin_ms[b] + 0.5 * p.bin_width_ms, x = (tm - onset[j]) / 20.0;
            double g = x <= 0 ? 0.0 : x * exp(1.0 - x) + 0.3 * (1.0 - exp(-x));
            double hl = 1.0 / (1.0 + exp(-(tm - 160.0) / 15.0));
            for (i = 0; i < N; i++) {
                double e = convrnn__m_dot(out->latent + (size_t)i * D, A + (size_t)j * D, (size_t)D);
                double l = convrnn__m_dot(out->latent_late + (size_t)i * D, A2 + (size_t)j * D, (size_t)D);
                out->signal[((size_t)i * Q + j) * B + b] = g * e + 0.6 * hl * l + base;
            }
        }
    }
    /* realised signal variance across images (population variance) */
    for (j = 0; j < Q; j++)
        for (b = 0; b < B; b++) {
            double m = 0, s = 0;
            for (i = 0; i < N; i++) m += out->signal[((size_t)i * Q + j) * B + b];
            m /= N;
            for (i = 0; i < N; i++) { double dd = out->signal[((size_t)i * Q + j) * B + b] - m; s += dd * dd; }
            v[(size_t)j * B + b] = s / N;
        }
    /* noise: reliability rho_j of the R-trial mean at the site's peak-variance bin */
    for (j = 0; j < Q; j++) {
        double vmax = 0, rho = p.reliability_min + (p.reliability_max - p.reliability_min) * convrnn_rng_uniform(&rng), s2;
        for (b = 0; b < B; b++)
            if (v[(size_t)j * B + b] > vmax) vmax = v[(size_t)j * B + b];
        if (!(vmax > 0)) vmax = 1;
        s2 = R * vmax * (1.0 - rho) / rho;
        out->noise_sd[j] = sqrt(s2);
        for (b = 0; b < B; b++) out->reliability[(size_t)j * B + b] = convrnn_synth_expected_reliability(v[(size_t)j * B + b], s2, R);
    }
    for (t = 0; t < R; t++)
        for (i = 0; i < N; i++)
            for (j = 0; j < Q; j++)
                for (b = 0; b < B; b++) {
                    size_t e = ((size_t)i * Q + j) * B + b;
                    out->responses[(size_t)t * N * Q * B + e] = out->signal[e] + out->noise_sd[j] * convrnn_rng_normal(&rng);
                }
    convrnn_free(NULL, mu); convrnn_free(NULL, A); convrnn_free(NULL, A2); convrnn_free(NULL, onset); convrnn_free(NULL, v);
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_synth_ost_params_default(convrnn_synth_ost_params *p) {
    p->n_images = 1320; p->n_objects = 10; p->n_bins = 19; p->n_features = 100;
    p->bin0_ms = 70; p->bin_width_ms = 10;
    p->nan_fraction = 0.1;
    p->i1_min = 0.5; p->i1_max = 3.5;
    p->signal_gain = 1.0;
    p->seed = 1;
}

CONVRNNDEF void convrnn_synth_ost_free(convrnn_synth_ost *s) {
    if (!s) return;
    convrnn_free(NULL, s->labels); convrnn_free(NULL, s->difficulty); convrnn_free(NULL, s->i1);
    convrnn_free(NULL, s->it_ost); convrnn_free(NULL, s->features); convrnn_free(NULL, s->bin_ms);
    memset(s, 0, sizeof *s);
}

CONVRNNDEF convrnn_status convrnn_synth_ost_make(convrnn_synth_ost *out, const convrnn_synth_ost_params *prm,
                                                convrnn_error *err) {
    convrnn_synth_ost_params p;
    convrnn_rng rng;
    int N, C, B, P, i, b, k;
    size_t cnt;
    double *proto = NULL, *inoise = NULL;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_ost: NULL output");
    memset(out, 0, sizeof *out);
    if (prm) p = *prm; else convrnn_synth_ost_params_default(&p);
    N = p.n_images; C = p.n_objects; B = p.n_bins; P = p.n_features;
    if (N < 2 || C < 2 || C > N || B < 1 || P < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "synth_ost: bad sizes images=%d objects=%d bins=%d features=%d", N, C, B, P);
    if (!(p.nan_fraction >= 0 && p.nan_fraction < 1) || !(p.i1_min <= p.i1_max))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_ost: nan_fraction %g or i1 range [%g, %g] invalid", p.nan_fraction, p.i1_min, p.i1_max);
    if (!convrnn__m_count3((size_t)B, (size_t)N, (size_t)P, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "synth_ost: overflow");
    out->N = N; out->C = C; out->B = B; out->P = P;
    out->labels = convrnn__m_ialloc((size_t)N);
    out->difficulty = convrnn__m_dalloc((size_t)N);
    out->i1 = convrnn__m_dalloc((size_t)N);
    out->it_ost = convrnn__m_dalloc((size_t)N);
    out->features = convrnn__m_dalloc(cnt);
    out->bin_ms = convrnn__m_dalloc((size_t)B);
    proto = convrnn__m_dalloc((size_t)C * P);
    inoise = convrnn__m_dalloc((size_t)N * P);
    if (!out->labels || !out->difficulty || !out->i1 || !out->it_ost || !out->features || !out->bin_ms || !proto || !inoise) {
        convrnn_free(NULL, proto); convrnn_free(NULL, inoise); convrnn_synth_ost_free(out);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "synth_ost: out of memory");
    }
    convrnn_rng_seed(&rng, p.seed);
    for (b = 0; b < B; b++) out->bin_ms[b] = p.bin0_ms + b * p.bin_width_ms;
    for (k = 0; k < C * P; k++) proto[k] = convrnn_rng_normal(&rng);
    for (i = 0; i < N; i++) {
        out->labels[i] = i % C;
        out->difficulty[i] = convrnn_rng_uniform(&rng);
        out->i1[i] = p.i1_min + (p.i1_max - p.i1_min) * convrnn_rng_uniform(&rng);
        out->it_ost[i] = out->difficulty[i] >= 1.0 - p.nan_fraction ? convrnn__m_nan() : 70.0 + 180.0 * out->difficulty[i];
        for (k = 0; k < P; k++) inoise[(size_t)i * P + k] = convrnn_rng_normal(&rng);
    }
    /* class evidence of image i at bin start t: a linear ramp over the 30 ms before T_i = 70 + 180 d_i
       (0 before, gain * 8 after), along a random class prototype (scale 0.35 per feature), plus a fixed
       per-image noise and a small per-bin noise (both unit / 0.2 standard deviation). The decoders'
       d' therefore rises through the thresholds within 30 ms before each image's T_i. */
    for (b = 0; b < B; b++)
        for (i = 0; i < N; i++) {
            double Ti = 70.0 + 180.0 * out->difficulty[i], tm = out->bin_ms[b], ramp = (tm - (Ti - 30.0)) / 30.0;
            double a = p.signal_gain * 8.0 * (ramp < 0 ? 0.0 : (ramp > 1 ? 1.0 : ramp));
            double *f = out->features + ((size_t)b * N + i) * P;
            for (k = 0; k < P; k++)
                f[k] = a * 0.35 * proto[(size_t)out->labels[i] * P + k] + inoise[(size_t)i * P + k] + 0.2 * convrnn_rng_normal(&rng);
        }
    convrnn_free(NULL, proto); convrnn_free(NULL, inoise);
    return CONVRNN_OK;
}
