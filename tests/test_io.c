/* File formats: npy, safetensors, IDX, CIFAR-10, shards, atomic writes; round trips, files written
   by numpy (tests/fixtures/io, made by gen_io.py) and a table of hostile inputs. Run from the
   repository root (the Makefile's test target does). */
#define CONVRNN_IMPLEMENTATION
#define _POSIX_C_SOURCE 200809L /* mkdir, opendir in the file tests (before any system header) */
#include "convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

#define FIX "tests/fixtures/io/"
#define TMPDIR "build/test_io_tmp"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/stat.h>
#include <dirent.h>
#define HAVE_POSIX_DIR 1
#endif

static void *slurp(const char *path, size_t *len) {
    void *buf = NULL;
    convrnn_error e;
    if (convrnn_read_file(path, &buf, len, 0, &e) != CONVRNN_OK) {
        fprintf(stderr, "cannot read fixture %s: %s\n", path, e.msg);
        *len = 0;
        return NULL;
    }
    return buf;
}

/* npy files store host order, safetensors little-endian: raw-byte comparisons with numpy's files
   or with host values only hold on little-endian hosts (values are checked everywhere) */
static int host_le(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* pattern of gen_io.py for flat index i */
static double pat(convrnn_dtype t, size_t i) {
    if (t == CONVRNN_DT_BOOL) return (i % 3) == 0 ? 1.0 : 0.0;
    if (t == CONVRNN_DT_U8 || t == CONVRNN_DT_U16 || t == CONVRNN_DT_U32 || t == CONVRNN_DT_U64) return 3.0 * (double)i + 1;
    if (t == CONVRNN_DT_I8 && 3.0 * (double)i - 7 > 127) return 0; /* not used with such sizes */
    return 3.0 * (double)i - 7;
}

static int files_with_prefix(const char *dir, const char *prefix) {
#ifdef HAVE_POSIX_DIR
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d) return -1;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
#else
    (void)dir; (void)prefix;
    return 0;
#endif
}

/* ------------------------------------------------------------------------------ expectations */

#define EXPECT_STATUS(call, want)                                                                  \
    do {                                                                                           \
        convrnn_error e_;                                                                          \
        convrnn_status s_;                                                                         \
        e_.status = CONVRNN_OK; e_.msg[0] = 0;                                                     \
        s_ = (call);                                                                               \
        (void)e_;                                                                                  \
        CHECKF(s_ == (want), "%s -> %s (want %s)", #call, convrnn_status_string(s_), convrnn_status_string(want)); \
    } while (0)

static int n_hostile = 0;
static void expect_err(convrnn_status got, convrnn_status want, const convrnn_error *e, const char *what,
                       const char *needle) {
    n_hostile++;
    CHECKF(got == want, "%s: got %s (want %s): %s", what, convrnn_status_string(got), convrnn_status_string(want), e->msg);
    CHECKF(e->msg[0] != 0, "%s: empty message", what);
    CHECKF(got == CONVRNN_OK || e->status == got, "%s: err.status %d != returned %d", what, (int)e->status, (int)got);
    if (needle) CHECKF(strstr(e->msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, e->msg, needle);
}

/* ---------------------------------------------------------------------------------------- dtypes */

static void test_dtypes(void) {
    CHECK(convrnn_dtype_size(CONVRNN_DT_F32) == 4);
    CHECK(convrnn_dtype_size(CONVRNN_DT_F64) == 8);
    CHECK(convrnn_dtype_size(CONVRNN_DT_BOOL) == 1);
    CHECK(convrnn_dtype_size(CONVRNN_DT_U16) == 2);
    CHECK(convrnn_dtype_size(CONVRNN_DT_BF16) == 2);
    CHECK(convrnn_dtype_size(CONVRNN_DT_COUNT) == 0);
    CHECK(convrnn_dtype_size((convrnn_dtype)-1) == 0);
    CHECK(strcmp(convrnn_dtype_name(CONVRNN_DT_I64), "int64") == 0);
    CHECK(strcmp(convrnn_dtype_name(CONVRNN_DT_COUNT), "invalid") == 0);
    CHECK(strcmp(convrnn_dtype_st_name(CONVRNN_DT_BOOL), "BOOL") == 0);
    CHECK(strcmp(convrnn_dtype_st_name(CONVRNN_DT_U8), "U8") == 0);
}

/* --------------------------------------------------------------------------------------- npy */

static void fill_random(void *p, size_t n, convrnn_rng *r) {
    unsigned char *b = (unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) b[i] = (unsigned char)convrnn_rng_u64(r);
}

static void test_npy_roundtrip(void) {
    static const int64_t shapes[][8] = {{0}, {5}, {2, 3}, {0, 3}, {1, 2, 1, 2, 1, 2, 1, 2}, {7, 1, 3}};
    static const int ndims[] = {0, 1, 2, 2, 8, 3};
    convrnn_rng r;
    int t, k;
    convrnn_rng_seed(&r, 42);
    for (t = 0; t < CONVRNN_DT_F16; t++)
        for (k = 0; k < 6; k++) {
            convrnn_array a, b, c;
            convrnn_error e;
            void *buf = NULL;
            size_t len = 0, nb;
            char path[128];
            int ok;
            CHECK(convrnn_array_init(&a, (convrnn_dtype)t, ndims[k], shapes[k], &e) == CONVRNN_OK);
            nb = a.count * convrnn_dtype_size(a.dtype);
            fill_random(a.data, nb, &r);
            if (t == CONVRNN_DT_BOOL) { size_t i; for (i = 0; i < nb; i++) ((unsigned char *)a.data)[i] &= 1; }
            CHECK(convrnn_npy_to_buffer(&a, &buf, &len, &e) == CONVRNN_OK);
            CHECK(len % 64 == nb % 64); /* header padded to 64 */
            ok = convrnn_npy_parse(buf, len, &b, &e) == CONVRNN_OK;
            CHECKF(ok, "npy parse dtype %d shape %d: %s", t, k, e.msg);
            if (ok) {
                CHECK(b.dtype == a.dtype && b.ndim == a.ndim && b.count == a.count);
                CHECK(memcmp(b.shape, a.shape, sizeof(int64_t) * (size_t)a.ndim) == 0);
                CHECK(nb == 0 || memcmp(a.data, b.data, nb) == 0);
            }
            snprintf(path, sizeof path, TMPDIR "/rt_%d_%d.npy", t, k);
            CHECK(convrnn_npy_write(path, &a, &e) == CONVRNN_OK);
            ok = convrnn_npy_read(path, &c, &e) == CONVRNN_OK;
            CHECKF(ok, "npy read %s: %s", path, e.msg);
            if (ok) {
                CHECK(c.dtype == a.dtype && c.ndim == a.ndim && c.count == a.count);
                CHECK(nb == 0 || memcmp(a.data, c.data, nb) == 0);
            }
            remove(path);
            convrnn_free(NULL, buf);
            convrnn_array_free(&a);
            convrnn_array_free(&b);
            convrnn_array_free(&c);
        }
}

static void check_pattern(const convrnn_array *a, const char *what) {
    double *d = NULL;
    float *f = NULL;
    convrnn_error e;
    size_t i;
    int bad = 0;
    CHECKF(convrnn_array_to_f64(a, &d, &e) == CONVRNN_OK, "%s: %s", what, e.msg);
    CHECKF(convrnn_array_to_f32(a, &f, &e) == CONVRNN_OK, "%s: %s", what, e.msg);
    if (!d || !f) { convrnn_free(NULL, d); convrnn_free(NULL, f); return; }
    for (i = 0; i < a->count; i++) {
        double want = pat(a->dtype, i);
        if (a->dtype == CONVRNN_DT_I8 || a->dtype == CONVRNN_DT_U8) { /* numpy wraps modulo 256 */
            long long v = (long long)want;
            want = a->dtype == CONVRNN_DT_U8 ? (double)(v & 255) : (double)(signed char)(v & 255);
        }
        if (d[i] != want || f[i] != (float)want) bad++;
    }
    CHECKF(bad == 0, "%s: %d values differ from the pattern", what, bad);
    convrnn_free(NULL, d);
    convrnn_free(NULL, f);
}

static void test_npy_numpy_files(void) {
    static const struct { const char *file; convrnn_dtype t; } f[] = {
        {"np_f4.npy", CONVRNN_DT_F32}, {"np_f8.npy", CONVRNN_DT_F64}, {"np_i4.npy", CONVRNN_DT_I32},
        {"np_i8.npy", CONVRNN_DT_I64}, {"np_u1.npy", CONVRNN_DT_U8},  {"np_i1.npy", CONVRNN_DT_I8},
        {"np_u2.npy", CONVRNN_DT_U16}, {"np_i2.npy", CONVRNN_DT_I16}, {"np_u4.npy", CONVRNN_DT_U32},
        {"np_u8.npy", CONVRNN_DT_U64}, {"np_b1.npy", CONVRNN_DT_BOOL}};
    size_t i;
    convrnn_array a;
    convrnn_error e;
    char path[256];
    for (i = 0; i < sizeof f / sizeof f[0]; i++) {
        void *raw, *mine = NULL;
        size_t rawlen, minelen = 0;
        snprintf(path, sizeof path, FIX "%s", f[i].file);
        CHECKF(convrnn_npy_read(path, &a, &e) == CONVRNN_OK, "%s: %s", path, e.msg);
        CHECKF(a.dtype == f[i].t && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6, "%s: dtype/shape", path);
        check_pattern(&a, path);
        /* our writer reproduces numpy's bytes exactly */
        raw = slurp(path, &rawlen);
        CHECK(convrnn_npy_to_buffer(&a, &mine, &minelen, &e) == CONVRNN_OK);
        CHECKF(raw && minelen == rawlen && (!host_le() || memcmp(raw, mine, rawlen) == 0), "%s: writer output differs from numpy's", path);
        convrnn_free(NULL, raw);
        convrnn_free(NULL, mine);
        convrnn_array_free(&a);
    }
    CHECK(convrnn_npy_read(FIX "np_be_f4.npy", &a, &e) == CONVRNN_OK);
    CHECK(a.dtype == CONVRNN_DT_F32 && a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 2);
    check_pattern(&a, "big-endian f4");
    convrnn_array_free(&a);
    CHECK(convrnn_npy_read(FIX "np_be_i8.npy", &a, &e) == CONVRNN_OK);
    CHECK(a.dtype == CONVRNN_DT_I64 && a.ndim == 1 && a.count == 4);
    check_pattern(&a, "big-endian i8");
    CHECK(a.count == 4 && ((int64_t *)a.data)[3] == 2); /* host order after reading */
    convrnn_array_free(&a);
    CHECK(convrnn_npy_read(FIX "np_scalar_f8.npy", &a, &e) == CONVRNN_OK);
    CHECK(a.dtype == CONVRNN_DT_F64 && a.ndim == 0 && a.count == 1 && ((double *)a.data)[0] == -7.0);
    {   /* 0-d round trip gives numpy's bytes too */
        void *raw, *mine = NULL;
        size_t rawlen, minelen = 0;
        raw = slurp(FIX "np_scalar_f8.npy", &rawlen);
        CHECK(convrnn_npy_to_buffer(&a, &mine, &minelen, &e) == CONVRNN_OK);
        CHECK(raw && minelen == rawlen && (!host_le() || memcmp(raw, mine, rawlen) == 0));
        convrnn_free(NULL, raw);
        convrnn_free(NULL, mine);
    }
    convrnn_array_free(&a);
    CHECK(convrnn_npy_read(FIX "np_empty_f4.npy", &a, &e) == CONVRNN_OK);
    CHECK(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.count == 0 && a.data != NULL);
    convrnn_array_free(&a);
    CHECK(convrnn_npy_read(FIX "np_4d_i2.npy", &a, &e) == CONVRNN_OK);
    CHECK(a.dtype == CONVRNN_DT_I16 && a.ndim == 4 && a.count == 12 && a.shape[2] == 3);
    check_pattern(&a, "4-d i2");
    convrnn_array_free(&a);
    CHECKF(convrnn_npy_read(FIX "np_v2_f4.npy", &a, &e) == CONVRNN_OK, "v2: %s", e.msg);
    CHECK(a.dtype == CONVRNN_DT_F32 && a.ndim == 1 && a.count == 5);
    check_pattern(&a, "version 2.0");
    convrnn_array_free(&a);
    CHECKF(convrnn_npy_read(FIX "np_v3_i4.npy", &a, &e) == CONVRNN_OK, "v3: %s", e.msg);
    CHECK(a.dtype == CONVRNN_DT_I32 && a.ndim == 2 && a.count == 4);
    check_pattern(&a, "version 3.0");
    convrnn_array_free(&a);
    expect_err(convrnn_npy_read(FIX "np_fortran_f4.npy", &a, &e), CONVRNN_ERR_UNSUPPORTED, &e, "fortran order", "fortran");
    CHECK(a.data == NULL);
    CHECK(strstr(e.msg, "np_fortran_f4.npy") != NULL); /* file functions name the path */
    expect_err(convrnn_npy_read(FIX "np_c8.npy", &a, &e), CONVRNN_ERR_UNSUPPORTED, &e, "complex64", "<c8");
    expect_err(convrnn_npy_read(FIX "np_f2.npy", &a, &e), CONVRNN_ERR_UNSUPPORTED, &e, "float16", "<f2");
    expect_err(convrnn_npy_read(FIX "does_not_exist.npy", &a, &e), CONVRNN_ERR_IO, &e, "missing file", "does_not_exist");
}

/* an npy image with a hand-written header (padding to 64 done here) and nbytes of data */
static size_t make_npy(unsigned char *out, size_t cap, int major, const char *header, size_t nbytes) {
    size_t hl = strlen(header), pre = major == 1 ? 10 : 12, total, pad, i;
    pad = 63 - (pre + hl) % 64; /* spaces, then '\n' */
    total = pre + hl + pad + 1 + nbytes;
    if (total > cap) return 0;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    if (major == 1) { out[8] = (unsigned char)((hl + pad + 1) & 255); out[9] = (unsigned char)((hl + pad + 1) >> 8); }
    else { out[8] = (unsigned char)((hl + pad + 1) & 255); out[9] = (unsigned char)((hl + pad + 1) >> 8); out[10] = out[11] = 0; }
    memcpy(out + pre, header, hl);
    memset(out + pre + hl, ' ', pad);
    out[pre + hl + pad] = '\n';
    for (i = 0; i < nbytes; i++) out[pre + hl + pad + 1 + i] = (unsigned char)i;
    return total;
}

static void test_npy_hostile(void) {
    static const struct { const char *hdr; size_t nbytes; convrnn_status want; const char *needle; } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, CONVRNN_OK, NULL},
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 3L)}", 24, CONVRNN_OK, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, CONVRNN_ERR_FORMAT, "needs 24"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, CONVRNN_ERR_FORMAT, "needs 24"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, CONVRNN_ERR_UNSUPPORTED, "fortran"},
        {"{'descr': '<f4', 'shape': (2, 3), }", 24, CONVRNN_ERR_FORMAT, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, }", 4, CONVRNN_ERR_FORMAT, "shape"},
        {"{'fortran_order': False, 'shape': (2, 3), }", 24, CONVRNN_ERR_FORMAT, "descr"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, CONVRNN_ERR_FORMAT, "duplicate"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", 24, CONVRNN_ERR_FORMAT, "extra"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, CONVRNN_ERR_UNSUPPORTED, "<c8"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", 2, CONVRNN_ERR_UNSUPPORTED, "<f2"},
        {"{'descr': 'zz9', 'fortran_order': False, 'shape': (1,), }", 2, CONVRNN_ERR_FORMAT, "descriptor"},
        {"{'descr': '<f', 'fortran_order': False, 'shape': (1,), }", 2, CONVRNN_ERR_FORMAT, "descriptor"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, CONVRNN_ERR_UNSUPPORTED, "structured"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", 12, CONVRNN_ERR_FORMAT, "tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0, CONVRNN_ERR_FORMAT, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", 0, CONVRNN_ERR_FORMAT, "2^40"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627775, 1099511627775, 1099511627775), }", 0,
         CONVRNN_ERR_FORMAT, "overflow"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, CONVRNN_ERR_FORMAT, "dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1), }", 4, CONVRNN_OK, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", 24, CONVRNN_ERR_FORMAT, "after the dict"},
        {"['descr', '<f4']", 4, CONVRNN_ERR_FORMAT, "dict"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, CONVRNN_ERR_FORMAT, "fortran_order"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }", 8, CONVRNN_ERR_FORMAT, "expected"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,,), }", 8, CONVRNN_ERR_FORMAT, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3", 24, CONVRNN_ERR_FORMAT, "shape"},
        {"{'descr: '<f4', 'fortran_order': False, 'shape': (2,), }", 8, CONVRNN_ERR_FORMAT, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, CONVRNN_OK, NULL},
        {"{'descr': '|b1', 'fortran_order': False, 'shape': (0,), }", 0, CONVRNN_OK, NULL},
    };
    unsigned char buf[512], big[64];
    size_t i, n;
    convrnn_array a;
    convrnn_error e;
    char what[64];
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        convrnn_status s;
        n = make_npy(buf, sizeof buf, 1, cases[i].hdr, cases[i].nbytes);
        CHECK(n > 0);
        snprintf(what, sizeof what, "npy case %lu", (unsigned long)i);
        e.msg[0] = 0;
        s = convrnn_npy_parse(buf, n, &a, &e);
        if (cases[i].want == CONVRNN_OK) CHECKF(s == CONVRNN_OK, "%s: %s", what, e.msg);
        else {
            expect_err(s, cases[i].want, &e, what, cases[i].needle);
            CHECK(a.data == NULL && a.count == 0);
        }
        convrnn_array_free(&a);
    }
    /* preamble problems */
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
    expect_err(convrnn_npy_parse(buf, 0, &a, &e), CONVRNN_ERR_FORMAT, &e, "empty npy", NULL);
    expect_err(convrnn_npy_parse(NULL, 0, &a, &e), CONVRNN_ERR_FORMAT, &e, "NULL empty npy", NULL);
    expect_err(convrnn_npy_parse(NULL, 10, &a, &e), CONVRNN_ERR_ARG, &e, "NULL npy", NULL);
    memcpy(big, buf, 64);
    big[1] = 'X';
    expect_err(convrnn_npy_parse(big, 64, &a, &e), CONVRNN_ERR_FORMAT, &e, "bad magic", "magic");
    buf[6] = 4;
    expect_err(convrnn_npy_parse(buf, n, &a, &e), CONVRNN_ERR_UNSUPPORTED, &e, "version 4", "version");
    buf[6] = 1;
    buf[8] = 0xFF; buf[9] = 0xFF; /* header length 65535 > file */
    expect_err(convrnn_npy_parse(buf, n, &a, &e), CONVRNN_ERR_FORMAT, &e, "header length past end", "header length");
    n = make_npy(buf, sizeof buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
    CHECK(convrnn_npy_parse(buf, n, &a, &e) == CONVRNN_OK);
    convrnn_array_free(&a);
    buf[10] = 0xFF; buf[11] = 0x7F; /* v2 header length ~2^31 */
    expect_err(convrnn_npy_parse(buf, n, &a, &e), CONVRNN_ERR_FORMAT, &e, "huge v2 header", "header length");
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
    buf[20] = 0; /* NUL inside the header text */
    expect_err(convrnn_npy_parse(buf, n, &a, &e), CONVRNN_ERR_FORMAT, &e, "NUL in header", "not text");
    /* truncation at every byte of a valid file */
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16);
    {
        int bad = 0;
        size_t cut;
        for (cut = 0; cut < n; cut++) {
            unsigned char *c = (unsigned char *)malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
            memcpy(c, buf, cut);
            e.msg[0] = 0;
            if (convrnn_npy_parse(c, cut, &a, &e) != CONVRNN_ERR_FORMAT || !e.msg[0] || a.data) bad++;
            convrnn_array_free(&a);
            free(c);
        }
        CHECKF(bad == 0, "npy truncations: %d of %lu not rejected as FORMAT", bad, (unsigned long)n);
        n_hostile += (int)n;
    }
    /* writer argument checks */
    {
        convrnn_array w;
        void *out = NULL;
        size_t len = 0;
        int64_t sh[2] = {2, 3};
        CHECK(convrnn_array_init(&w, CONVRNN_DT_F32, 2, sh, &e) == CONVRNN_OK);
        w.count = 5;
        expect_err(convrnn_npy_to_buffer(&w, &out, &len, &e), CONVRNN_ERR_ARG, &e, "count mismatch", "count");
        w.count = 6;
        w.dtype = CONVRNN_DT_F16;
        expect_err(convrnn_npy_to_buffer(&w, &out, &len, &e), CONVRNN_ERR_UNSUPPORTED, &e, "write f16", NULL);
        w.dtype = CONVRNN_DT_COUNT;
        expect_err(convrnn_npy_to_buffer(&w, &out, &len, &e), CONVRNN_ERR_ARG, &e, "write bad dtype", NULL);
        w.dtype = CONVRNN_DT_F32;
        w.ndim = 9;
        expect_err(convrnn_npy_to_buffer(&w, &out, &len, &e), CONVRNN_ERR_SHAPE, &e, "write ndim 9", NULL);
        CHECK(out == NULL && len == 0);
        convrnn_array_free(&w);
        sh[0] = -1;
        expect_err(convrnn_array_init(&w, CONVRNN_DT_F32, 2, sh, &e), CONVRNN_ERR_SHAPE, &e, "negative dim", NULL);
    }
}

/* ------------------------------------------------------------------------------- safetensors */

static size_t make_st(unsigned char *out, size_t cap, const char *json, size_t datalen) {
    size_t hl = strlen(json), i;
    if (8 + hl + datalen > cap) return 0;
    for (i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(out + 8, json, hl);
    for (i = 0; i < datalen; i++) out[8 + hl + i] = (unsigned char)(i * 7);
    return 8 + hl + datalen;
}

static void test_st_roundtrip(void) {
    convrnn_st_writer w;
    convrnn_safetensors st;
    convrnn_error e;
    float w1[6] = {1.5f, -2.25f, 3.0f, 0.0f, -0.0f, 1e-30f};
    double b1[3] = {0.1, -1e300, 4.0};
    int64_t steps = -123456789012345LL;
    unsigned char mask[4] = {1, 0, 0, 1};
    uint16_t u16[2] = {65535, 7};
    int8_t i8[3] = {-128, 0, 127};
    uint64_t u64[1] = {18446744073709551615ULL};
    int32_t i32[2] = {-2147483647 - 1, 5};
    int64_t sh23[2] = {2, 3}, sh3[1] = {3}, sh4[1] = {4}, sh2[1] = {2}, sh1[1] = {1}, sh04[2] = {0, 4};
    void *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0, hl;
    const convrnn_st_tensor *t;
    float f6[6];
    double d3[3];
    const char *weird = "a\"b\\c\nd\te/\x01 caf\xC3\xA9 \xF0\x9F\x98\x80";
    convrnn_st_writer_init(&w);
    CHECK(convrnn_st_writer_add(&w, "conv1/weights", CONVRNN_DT_F32, 2, sh23, w1) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "conv1/bias", CONVRNN_DT_F64, 1, sh3, b1) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "global_step", CONVRNN_DT_I64, 0, NULL, &steps) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "mask", CONVRNN_DT_BOOL, 1, sh4, mask) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "u16", CONVRNN_DT_U16, 1, sh2, u16) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "i8", CONVRNN_DT_I8, 1, sh3, i8) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "u64", CONVRNN_DT_U64, 1, sh1, u64) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, "empty", CONVRNN_DT_F32, 2, sh04, NULL) == CONVRNN_OK);
    CHECK(convrnn_st_writer_add(&w, weird, CONVRNN_DT_I32, 1, sh2, i32) == CONVRNN_OK);
    CHECK(convrnn_st_writer_meta(&w, "format", "convrnn") == CONVRNN_OK);
    CHECK(convrnn_st_writer_meta(&w, "cell", "lstm \"peephole\"\n") == CONVRNN_OK);
    CHECK(convrnn_st_writer_meta(&w, weird, "") == CONVRNN_OK);
    CHECK(w.err.status == CONVRNN_OK);
    CHECKF(convrnn_st_writer_to_buffer(&w, &buf, &len, &e) == CONVRNN_OK, "%s", e.msg);
    hl = (size_t)((unsigned char *)buf)[0] | ((size_t)((unsigned char *)buf)[1] << 8);
    CHECK(hl % 8 == 0);
    CHECK(len == 8 + hl + 24 + 24 + 8 + 4 + 4 + 3 + 8 + 0 + 8);
    CHECKF(convrnn_st_parse(buf, len, &st, &e) == CONVRNN_OK, "%s", e.msg);
    CHECK(st.count == 9 && st.meta_count == 3);
    if (st.count == 9) { /* tensors come back in the order written (data order) */
        CHECK(strcmp(st.tensors[0].name, "conv1/weights") == 0);
        CHECK(strcmp(st.tensors[8].name, weird) == 0);
    }
    t = convrnn_st_find(&st, "conv1/weights");
    CHECK(t && t->dtype == CONVRNN_DT_F32 && t->ndim == 2 && t->shape[1] == 3 && t->nbytes == 24 && t->count == 6);
    CHECK(t && (!host_le() || memcmp(t->data, w1, 24) == 0));
    CHECK(t && convrnn_st_tensor_to_f32(t, f6, 6, &e) == CONVRNN_OK && memcmp(f6, w1, sizeof f6) == 0);
    t = convrnn_st_find(&st, "conv1/bias");
    CHECK(t && convrnn_st_tensor_to_f64(t, d3, 3, &e) == CONVRNN_OK && memcmp(d3, b1, sizeof d3) == 0);
    expect_err(t ? convrnn_st_tensor_to_f64(t, d3, 2, &e) : CONVRNN_OK, CONVRNN_ERR_SHAPE, &e, "to_f64 wrong count", "conv1/bias");
    t = convrnn_st_find(&st, "global_step");
    CHECK(t && t->ndim == 0 && t->count == 1 && t->nbytes == 8 && (!host_le() || memcmp(t->data, &steps, 8) == 0));
    CHECK(t && convrnn_st_tensor_to_f64(t, d3, 1, &e) == CONVRNN_OK && d3[0] == (double)steps);
    t = convrnn_st_find(&st, "mask");
    CHECK(t && t->dtype == CONVRNN_DT_BOOL && memcmp(t->data, mask, 4) == 0);
    t = convrnn_st_find(&st, "u64");
    CHECK(t && memcmp(t->data, u64, 8) == 0); /* all bytes 0xFF: any order */
    t = convrnn_st_find(&st, "i8");
    CHECK(t && convrnn_st_tensor_to_f32(t, f6, 3, &e) == CONVRNN_OK && f6[0] == -128.0f && f6[2] == 127.0f);
    t = convrnn_st_find(&st, "empty");
    CHECK(t && t->count == 0 && t->nbytes == 0 && convrnn_st_tensor_to_f32(t, NULL, 0, &e) == CONVRNN_OK);
    t = convrnn_st_find(&st, weird);
    CHECK(t && t->dtype == CONVRNN_DT_I32 && (!host_le() || memcmp(t->data, i32, 8) == 0));
    CHECK(convrnn_st_find(&st, "nope") == NULL && convrnn_st_find(&st, "") == NULL && convrnn_st_find(NULL, "mask") == NULL);
    CHECK(convrnn_st_meta(&st, "format") && strcmp(convrnn_st_meta(&st, "format"), "convrnn") == 0);
    CHECK(convrnn_st_meta(&st, "cell") && strcmp(convrnn_st_meta(&st, "cell"), "lstm \"peephole\"\n") == 0);
    CHECK(convrnn_st_meta(&st, weird) && convrnn_st_meta(&st, weird)[0] == 0);
    CHECK(convrnn_st_meta(&st, "nope") == NULL);
    convrnn_st_free(&st);
    convrnn_st_free(&st); /* idempotent */
    /* save/read through a file gives the same bytes */
    CHECKF(convrnn_st_writer_save(&w, TMPDIR "/rt.safetensors", &e) == CONVRNN_OK, "%s", e.msg);
    buf2 = slurp(TMPDIR "/rt.safetensors", &len2);
    CHECK(buf2 && len2 == len && memcmp(buf, buf2, len) == 0);
    CHECK(convrnn_st_read(TMPDIR "/rt.safetensors", &st, &e) == CONVRNN_OK && st.count == 9);
    convrnn_st_free(&st);
    remove(TMPDIR "/rt.safetensors");
    convrnn_free(NULL, buf);
    convrnn_free(NULL, buf2);
    convrnn_st_writer_free(&w);

    /* writer errors: duplicates and bad arguments return a status and are sticky */
    convrnn_st_writer_init(&w);
    CHECK(convrnn_st_writer_add(&w, "a", CONVRNN_DT_F32, 1, sh2, w1) == CONVRNN_OK);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "a", CONVRNN_DT_F32, 1, sh2, w1), CONVRNN_ERR_ARG);
    CHECK(w.err.status == CONVRNN_ERR_ARG && strstr(w.err.msg, "duplicate") != NULL);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "", CONVRNN_DT_F32, 1, sh2, w1), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "__metadata__", CONVRNN_DT_F32, 1, sh2, w1), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "bad\xC3(", CONVRNN_DT_F32, 1, sh2, w1), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "b", CONVRNN_DT_COUNT, 1, sh2, w1), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "b", CONVRNN_DT_F32, 9, sh2, w1), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "b", CONVRNN_DT_F32, 1, NULL, w1), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(&w, "b", CONVRNN_DT_F32, 1, sh2, NULL), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_add(NULL, "b", CONVRNN_DT_F32, 1, sh2, w1), CONVRNN_ERR_ARG);
    {
        int64_t huge[3] = {(int64_t)1 << 39, (int64_t)1 << 39, (int64_t)1 << 39};
        EXPECT_STATUS(convrnn_st_writer_add(&w, "b", CONVRNN_DT_F32, 3, huge, w1), CONVRNN_ERR_SHAPE);
    }
    CHECK(convrnn_st_writer_meta(&w, "k", "v") == CONVRNN_OK);
    EXPECT_STATUS(convrnn_st_writer_meta(&w, "k", "w"), CONVRNN_ERR_ARG);
    EXPECT_STATUS(convrnn_st_writer_meta(&w, NULL, "w"), CONVRNN_ERR_ARG);
    CHECK(strstr(w.err.msg, "duplicate") != NULL); /* still the first error */
    expect_err(convrnn_st_writer_to_buffer(&w, &buf, &len, &e), CONVRNN_ERR_ARG, &e, "sticky writer error", "duplicate");
    CHECK(buf == NULL);
    expect_err(convrnn_st_writer_save(&w, TMPDIR "/never.safetensors", &e), CONVRNN_ERR_ARG, &e, "sticky save", "duplicate");
    {
        FILE *f = fopen(TMPDIR "/never.safetensors", "rb");
        CHECK(f == NULL);
        if (f) fclose(f);
    }
    convrnn_error_clear(&w.err); /* a caller may deliberately go on */
    CHECK(convrnn_st_writer_to_buffer(&w, &buf, &len, &e) == CONVRNN_OK);
    CHECK(convrnn_st_parse(buf, len, &st, &e) == CONVRNN_OK && st.count == 1 && st.meta_count == 1);
    convrnn_st_free(&st);
    convrnn_free(NULL, buf);
    convrnn_st_writer_free(&w);
    /* an empty writer gives a valid empty file */
    convrnn_st_writer_init(&w);
    CHECK(convrnn_st_writer_to_buffer(&w, &buf, &len, &e) == CONVRNN_OK && len == 16);
    CHECK(convrnn_st_parse(buf, len, &st, &e) == CONVRNN_OK && st.count == 0 && st.meta_count == 0);
    convrnn_st_free(&st);
    convrnn_free(NULL, buf);
    convrnn_st_writer_free(&w);
}

/* a checkpoint-sized file with TF-style names (convrnn_spec.md section 12), added in a shuffled
   order: every tensor is found by name, data stay bitwise, the order is the order added */
static void test_st_many(void) {
    static const char *const leaf[] = {"pre_0/weights_basenet", "pre_0/bias", "ConvLSTMCell/weights", "ConvLSTMCell/bias",
                                       "ConvLSTMCell/peepholes/w_f_diag", "ConvLSTMCell/forget/gamma", "memory_decay",
                                       "ReciprocalGateCell/cell/tau/depthwise_weights", "pre_0/weights_basenet/Momentum"};
    enum { NT = 10 * 9 };
    char names[NT][96];
    float *vals = (float *)malloc(sizeof(float) * NT * 5);
    int order[NT], i, k, found = 0, same = 0;
    convrnn_rng r;
    convrnn_st_writer w;
    convrnn_safetensors st;
    convrnn_error e;
    void *buf = NULL;
    size_t len = 0;
    convrnn_rng_seed(&r, 7);
    for (i = 0; i < NT; i++) {
        snprintf(names[i], sizeof names[i], "tnn_model/conv%d/%s", i / 9 + 1, leaf[i % 9]);
        order[i] = i;
        for (k = 0; k < 5; k++) vals[i * 5 + k] = (float)convrnn_rng_normal(&r);
    }
    for (i = NT - 1; i > 0; i--) { int j = (int)convrnn_rng_below(&r, (uint32_t)i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
    convrnn_st_writer_init(&w);
    for (i = 0; i < NT; i++) {
        int64_t sh[2] = {1, 1 + order[i] % 5};
        convrnn_st_writer_add(&w, names[order[i]], CONVRNN_DT_F32, 2, sh, vals + order[i] * 5);
    }
    CHECK(convrnn_st_writer_meta(&w, "global_step", "1000") == CONVRNN_OK);
    CHECKF(convrnn_st_writer_to_buffer(&w, &buf, &len, &e) == CONVRNN_OK, "%s", e.msg);
    CHECKF(convrnn_st_parse(buf, len, &st, &e) == CONVRNN_OK, "%s", e.msg);
    CHECK(st.count == NT);
    for (i = 0; i < NT && i < st.count; i++) {
        const convrnn_st_tensor *t = convrnn_st_find(&st, names[i]);
        float got[5];
        if (t && t->count == (size_t)(1 + i % 5) && convrnn_st_tensor_to_f32(t, got, t->count, &e) == CONVRNN_OK &&
            memcmp(got, vals + i * 5, t->count * sizeof(float)) == 0)
            found++;
        same += strcmp(st.tensors[i].name, names[order[i]]) == 0;
    }
    CHECK(found == NT && same == NT);
    CHECK(convrnn_st_find(&st, "tnn_model/conv1") == NULL && convrnn_st_find(&st, "tnn_model/conv10/memory_decay!") == NULL);
    convrnn_st_free(&st);
    convrnn_free(NULL, buf);
    convrnn_st_writer_free(&w);
    free(vals);
}

static void test_st_python_file(void) {
    convrnn_safetensors st;
    convrnn_error e;
    const convrnn_st_tensor *t;
    double d[8];
    size_t i;
    int ok, good;
    const char *order[] = {"conv1/weights", "conv1/bias", "steps", "mask", "pix", "idx16", "empty", "caf\xC3\xA9 \"q\""};
    ok = convrnn_st_read(FIX "st_ref.safetensors", &st, &e) == CONVRNN_OK;
    CHECKF(ok, "st_ref: %s", e.msg);
    if (!ok) return;
    CHECK(st.count == 8 && st.meta_count == 2);
    for (i = 0; i < 8 && (int)i < st.count; i++) CHECKF(strcmp(st.tensors[i].name, order[i]) == 0, "order %lu", (unsigned long)i);
    CHECK(convrnn_st_meta(&st, "format") && strcmp(convrnn_st_meta(&st, "format"), "pt") == 0);
    CHECK(convrnn_st_meta(&st, "note") &&
          strcmp(convrnn_st_meta(&st, "note"), "h\xC3\xA9llo \"world\"\n\xE2\x98\xBA \xF0\x9F\x98\x80") == 0);
    t = convrnn_st_find(&st, "conv1/weights");
    CHECK(t && convrnn_st_tensor_to_f64(t, d, 6, &e) == CONVRNN_OK);
    for (good = 1, i = 0; t && i < 6; i++) good &= d[i] == pat(CONVRNN_DT_F32, i);
    CHECK(good);
    t = convrnn_st_find(&st, "conv1/bias");
    CHECK(t && t->dtype == CONVRNN_DT_F64 && convrnn_st_tensor_to_f64(t, d, 3, &e) == CONVRNN_OK && d[2] == -1.0);
    t = convrnn_st_find(&st, "steps");
    CHECK(t && t->ndim == 0 && convrnn_st_tensor_to_f64(t, d, 1, &e) == CONVRNN_OK && d[0] == -7.0);
    t = convrnn_st_find(&st, "mask");
    CHECK(t && convrnn_st_tensor_to_f64(t, d, 4, &e) == CONVRNN_OK && d[0] == 1 && d[1] == 0 && d[3] == 1);
    t = convrnn_st_find(&st, "pix");
    CHECK(t && t->ndim == 3 && convrnn_st_tensor_to_f64(t, d, 4, &e) == CONVRNN_OK && d[3] == 10);
    t = convrnn_st_find(&st, "idx16");
    CHECK(t && t->dtype == CONVRNN_DT_I16 && convrnn_st_tensor_to_f64(t, d, 3, &e) == CONVRNN_OK && d[0] == -7 && d[2] == -1);
    t = convrnn_st_find(&st, "caf\xC3\xA9 \"q\"");
    CHECK(t && t->dtype == CONVRNN_DT_U32 && convrnn_st_tensor_to_f64(t, d, 2, &e) == CONVRNN_OK && d[1] == 4);
    t = convrnn_st_find(&st, "empty");
    CHECK(t && t->count == 0 && t->ndim == 2 && t->shape[1] == 4);
    convrnn_st_free(&st);
    /* F16/BF16: parse fine, locate fine, refuse conversion */
    ok = convrnn_st_read(FIX "st_half.safetensors", &st, &e) == CONVRNN_OK;
    CHECKF(ok, "st_half: %s", e.msg);
    if (!ok) return;
    t = convrnn_st_find(&st, "h");
    CHECK(t && t->dtype == CONVRNN_DT_F16 && t->nbytes == 4);
    expect_err(t ? convrnn_st_tensor_to_f32(t, (float *)d, 2, &e) : CONVRNN_OK, CONVRNN_ERR_UNSUPPORTED, &e, "F16 convert", "F16");
    t = convrnn_st_find(&st, "b");
    CHECK(t && t->dtype == CONVRNN_DT_BF16 && t->nbytes == 2);
    expect_err(t ? convrnn_st_tensor_to_f64(t, d, 1, &e) : CONVRNN_OK, CONVRNN_ERR_UNSUPPORTED, &e, "BF16 convert", "BF16");
    convrnn_st_free(&st);
}

#define T1 "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
static void test_st_hostile(void) {
    static const struct { const char *json; size_t data; convrnn_status want; const char *needle; } cases[] = {
        {"{" T1 "}", 8, CONVRNN_OK, NULL},
        {"{" T1 "}   ", 8, CONVRNN_OK, NULL},
        {"  {" T1 "}", 8, CONVRNN_OK, NULL},
        {"{}", 0, CONVRNN_OK, NULL},
        {"{\"__metadata__\":{}}", 0, CONVRNN_OK, NULL},
        {"{\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"f\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
         0, CONVRNN_OK, NULL},
        /* offsets and coverage */
        {"{" T1 "}", 4, CONVRNN_ERR_FORMAT, "exceed data section of 4 bytes"},
        {"{\"conv1/w\":{\"dtype\":\"U8\",\"shape\":[100],\"data_offsets\":[0,100]}}", 64, CONVRNN_ERR_FORMAT,
         "tensor 'conv1/w' data_offsets [0, 100] exceed data section of 64 bytes"},
        {"{" T1 "}", 12, CONVRNN_ERR_FORMAT, "belong to no tensor"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, CONVRNN_ERR_FORMAT, "belong to no tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, CONVRNN_ERR_FORMAT, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         8, CONVRNN_ERR_FORMAT, "overlap"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 12, CONVRNN_ERR_FORMAT, "needs 8 bytes"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, CONVRNN_ERR_FORMAT, "reversed"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551615]}}", 8, CONVRNN_ERR_FORMAT, "exceed"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", 8, CONVRNN_ERR_FORMAT, "data_offsets"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8, CONVRNN_ERR_FORMAT, "two"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, CONVRNN_ERR_FORMAT, "two"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-0,8]}}", 8, CONVRNN_ERR_FORMAT, "two"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]}}", 8, CONVRNN_ERR_FORMAT, "two"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0,8\"}}", 8, CONVRNN_ERR_FORMAT, "two"},
        /* shapes */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627775,1099511627775,1099511627775],\"data_offsets\":[0,8]}}", 8,
         CONVRNN_ERR_FORMAT, "overflow"},
        {"{\"w\":{\"dtype\":\"F64\",\"shape\":[1099511627775,1099511627775],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT,
         "overflow"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "2^40"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "shape entry 0"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "shape entry 0"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1e1],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "shape entry 0"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "shape entry 0"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "not an array"},
        {"{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, CONVRNN_ERR_FORMAT, "9 dimensions"},
        {"{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, CONVRNN_OK, NULL},
        /* dtypes */
        {"{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "unknown dtype \"F33\""},
        {"{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "unknown dtype"},
        {"{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, CONVRNN_ERR_UNSUPPORTED, "F8_E4M3"},
        {"{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "dtype is not a string"},
        {"{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, CONVRNN_OK, NULL},
        /* entry structure */
        {"{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "lacks the field 'dtype'"},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "lacks the field 'shape'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, CONVRNN_ERR_FORMAT, "lacks the field 'data_offsets'"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, CONVRNN_ERR_FORMAT, "unexpected field"},
        {"{\"w\":[1,2]}", 0, CONVRNN_ERR_FORMAT, "not a JSON object"},
        {"[1,2]", 0, CONVRNN_ERR_FORMAT, "not a JSON object"},
        {"\"str\"", 0, CONVRNN_ERR_FORMAT, "not a JSON object"},
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "empty name"},
        {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "NUL"},
        {"{\"__metadata__\":[]}", 0, CONVRNN_ERR_FORMAT, "__metadata__ is not an object"},
        {"{\"__metadata__\":{\"a\":1}}", 0, CONVRNN_ERR_FORMAT, "is not a string"},
        {"{\"__metadata__\":{\"a\":\"x\\u0000y\"}}", 0, CONVRNN_ERR_FORMAT, "NUL"},
        /* duplicate keys */
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, CONVRNN_ERR_FORMAT, "twice"},
        {"{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "twice"},
        {"{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}}", 0, CONVRNN_ERR_FORMAT, "\"a\" twice"},
        {"{\"\\u0077\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, CONVRNN_ERR_FORMAT, "twice"},
        /* JSON syntax */
        {"{" T1 ",}", 8, CONVRNN_ERR_FORMAT, "bad JSON"},
        {"{" T1, 8, CONVRNN_ERR_FORMAT, "bad JSON"},
        {"{'w':1}", 0, CONVRNN_ERR_FORMAT, "bad JSON"},
        {"{\"w\" {}}", 0, CONVRNN_ERR_FORMAT, "expected ':'"},
        {"{\"w\":{\"dtype\":\"F32\" \"shape\":[2],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "expected ','"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2 3],\"data_offsets\":[0,8]}}", 8, CONVRNN_ERR_FORMAT, "expected ','"},
        {"{" T1 "} {}", 8, CONVRNN_ERR_FORMAT, "after the JSON value"},
        {"{" T1 "}\0", 8, CONVRNN_OK, NULL}, /* strlen stops at the NUL: same as the first case */
        {"", 0, CONVRNN_ERR_FORMAT, "unexpected end"},
        {"   ", 0, CONVRNN_ERR_FORMAT, "unexpected end"},
        {"{\"a", 0, CONVRNN_ERR_FORMAT, "unterminated string"},
        {"{\"a\tb\":1}", 0, CONVRNN_ERR_FORMAT, "control character"},
        {"{\"a\\xb\":1}", 0, CONVRNN_ERR_FORMAT, "bad escape"},
        {"{\"a\\u12\":1}", 0, CONVRNN_ERR_FORMAT, "\\u escape"},
        {"{\"a\\udc00\":1}", 0, CONVRNN_ERR_FORMAT, "lone low surrogate"},
        {"{\"a\\ud800\":1}", 0, CONVRNN_ERR_FORMAT, "high surrogate"},
        {"{\"a\\ud800\\u0041\":1}", 0, CONVRNN_ERR_FORMAT, "high surrogate"},
        {"{\"a\xC0\xAF\":1}", 0, CONVRNN_ERR_FORMAT, "UTF-8"},
        {"{\"a\xED\xA0\x80\":1}", 0, CONVRNN_ERR_FORMAT, "UTF-8"},
        {"{\"a\xF4\x90\x80\x80\":1}", 0, CONVRNN_ERR_FORMAT, "UTF-8"},
        {"{\"a\xE2\x82\":1}", 0, CONVRNN_ERR_FORMAT, "UTF-8"},
        {"{\"a\xFF\":1}", 0, CONVRNN_ERR_FORMAT, "UTF-8"},
        {"{\"__metadata__\":{\"n\":\"01\"},\"x\":01}", 0, CONVRNN_ERR_FORMAT, "expected ','"},
        {"{\"x\":-}", 0, CONVRNN_ERR_FORMAT, "bad number"},
        {"{\"x\":1.}", 0, CONVRNN_ERR_FORMAT, "bad number"},
        {"{\"x\":1e}", 0, CONVRNN_ERR_FORMAT, "bad number"},
        {"{\"x\":.5}", 0, CONVRNN_ERR_FORMAT, "unexpected character"},
        {"{\"x\":tru}", 0, CONVRNN_ERR_FORMAT, "unexpected character"},
        {"{\"x\":NaN}", 0, CONVRNN_ERR_FORMAT, "unexpected character"},
        {"{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"z\":[true,false,null,-1.5e-3,{}]}}",
         8, CONVRNN_ERR_FORMAT, "unexpected field \"z\""},
    };
    unsigned char buf[1024];
    size_t i, n;
    convrnn_safetensors st;
    convrnn_error e;
    char what[64];
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        convrnn_status s;
        n = make_st(buf, sizeof buf, cases[i].json, cases[i].data);
        CHECK(n > 0);
        snprintf(what, sizeof what, "safetensors case %lu", (unsigned long)i);
        e.msg[0] = 0;
        s = convrnn_st_parse(buf, n, &st, &e);
        if (cases[i].want == CONVRNN_OK) CHECKF(s == CONVRNN_OK, "%s: %s", what, e.msg);
        else {
            expect_err(s, cases[i].want, &e, what, cases[i].needle);
            CHECK(st.count == 0 && st.tensors == NULL && st.buf_ == NULL);
        }
        convrnn_st_free(&st);
    }
    /* header length field */
    n = make_st(buf, sizeof buf, "{" T1 "}", 8);
    buf[7] = 0x40; /* 2^62 + ... */
    expect_err(convrnn_st_parse(buf, n, &st, &e), CONVRNN_ERR_FORMAT, &e, "huge header length", "exceeds the limit");
    buf[7] = 0;
    buf[3] = 0x01; /* 16M + ..., below the limit but past the end */
    expect_err(convrnn_st_parse(buf, n, &st, &e), CONVRNN_ERR_FORMAT, &e, "header past end", "after the length field");
    buf[3] = 0;
    buf[0] = (unsigned char)(buf[0] - 1); /* one byte short: the JSON ends early */
    expect_err(convrnn_st_parse(buf, n, &st, &e), CONVRNN_ERR_FORMAT, &e, "header one short", "bad JSON");
    expect_err(convrnn_st_parse(buf, 7, &st, &e), CONVRNN_ERR_FORMAT, &e, "7 bytes", "too short");
    expect_err(convrnn_st_parse(NULL, 0, &st, &e), CONVRNN_ERR_FORMAT, &e, "NULL, 0", "too short");
    expect_err(convrnn_st_parse(NULL, 5, &st, &e), CONVRNN_ERR_ARG, &e, "NULL, 5", NULL);
    /* nesting: 64 levels pass the JSON layer (then fail the schema), 65 are refused */
    {
        char *deep = (char *)malloc(400);
        int d, k = 0;
        deep[k++] = '{';
        memcpy(deep + k, "\"__metadata__\":", 15); k += 15;
        for (d = 0; d < 63; d++) deep[k++] = '[';
        for (d = 0; d < 63; d++) deep[k++] = ']';
        deep[k++] = '}';
        deep[k] = 0;
        n = make_st(buf, sizeof buf, deep, 0);
        expect_err(convrnn_st_parse(buf, n, &st, &e), CONVRNN_ERR_FORMAT, &e, "depth 64", "__metadata__ is not an object");
        k = 0;
        deep[k++] = '{';
        memcpy(deep + k, "\"__metadata__\":", 15); k += 15;
        for (d = 0; d < 64; d++) deep[k++] = '[';
        for (d = 0; d < 64; d++) deep[k++] = ']';
        deep[k++] = '}';
        deep[k] = 0;
        n = make_st(buf, sizeof buf, deep, 0);
        expect_err(convrnn_st_parse(buf, n, &st, &e), CONVRNN_ERR_FORMAT, &e, "depth 65", "nested deeper");
        free(deep);
    }
    {   /* 100k levels: no stack overflow */
        size_t depth = 100000, k;
        unsigned char *deep = (unsigned char *)malloc(8 + 2 * depth);
        for (k = 0; k < 8; k++) deep[k] = (unsigned char)((uint64_t)(2 * depth) >> (8 * k));
        for (k = 0; k < depth; k++) { deep[8 + k] = '['; deep[8 + depth + k] = ']'; }
        expect_err(convrnn_st_parse(deep, 8 + 2 * depth, &st, &e), CONVRNN_ERR_FORMAT, &e, "depth 100000", "nested deeper");
        free(deep);
    }
    {   /* a tensor name over the limit */
        size_t nl = CONVRNN_IO_MAX_NAME + 1, k;
        char *js = (char *)malloc(nl + 128);
        unsigned char *b2 = (unsigned char *)malloc(nl + 256);
        js[0] = '{'; js[1] = '"';
        for (k = 0; k < nl; k++) js[2 + k] = 'n';
        strcpy(js + 2 + nl, "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}");
        n = make_st(b2, nl + 256, js, 1);
        expect_err(convrnn_st_parse(b2, n, &st, &e), CONVRNN_ERR_FORMAT, &e, "long name", "limit 4096");
        js[2 + 5] = 0; /* a valid 5-byte name */
        strcat(js, "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}");
        n = make_st(b2, nl + 256, js, 1);
        CHECK(convrnn_st_parse(b2, n, &st, &e) == CONVRNN_OK && convrnn_st_find(&st, "nnnnn") != NULL);
        convrnn_st_free(&st);
        free(js);
        free(b2);
    }
    /* truncation at every byte of a valid file (the Python-written one), and of ours */
    {
        size_t len, cut;
        unsigned char *ref = (unsigned char *)slurp(FIX "st_ref.safetensors", &len);
        int bad = 0;
        for (cut = 0; ref && cut < len; cut++) {
            unsigned char *c = (unsigned char *)malloc(cut ? cut : 1);
            memcpy(c, ref, cut);
            e.msg[0] = 0;
            if (convrnn_st_parse(c, cut, &st, &e) != CONVRNN_ERR_FORMAT || !e.msg[0] || st.buf_) bad++;
            convrnn_st_free(&st);
            free(c);
        }
        CHECKF(bad == 0, "safetensors truncations: %d of %lu not rejected as FORMAT", bad, (unsigned long)len);
        n_hostile += (int)len;
        /* one extra trailing byte is refused too */
        if (ref) {
            unsigned char *c = (unsigned char *)malloc(len + 1);
            memcpy(c, ref, len);
            c[len] = 0;
            expect_err(convrnn_st_parse(c, len + 1, &st, &e), CONVRNN_ERR_FORMAT, &e, "one trailing byte", "belong to no tensor");
            free(c);
        }
        convrnn_free(NULL, ref);
    }
}

/* ------------------------------------------------------------------------------ data sets */

static size_t make_idx(unsigned char *im, unsigned char *lb, uint32_t n, uint32_t r, uint32_t c, size_t *lbl_len) {
    size_t i;
    im[0] = im[1] = 0; im[2] = 8; im[3] = 3;
    im[4] = (unsigned char)(n >> 24); im[5] = (unsigned char)(n >> 16); im[6] = (unsigned char)(n >> 8); im[7] = (unsigned char)n;
    im[8] = (unsigned char)(r >> 24); im[9] = (unsigned char)(r >> 16); im[10] = (unsigned char)(r >> 8); im[11] = (unsigned char)r;
    im[12] = (unsigned char)(c >> 24); im[13] = (unsigned char)(c >> 16); im[14] = (unsigned char)(c >> 8); im[15] = (unsigned char)c;
    for (i = 0; i < (size_t)n * r * c; i++) im[16 + i] = (unsigned char)(i * 13 + 1);
    lb[0] = lb[1] = 0; lb[2] = 8; lb[3] = 1;
    memcpy(lb + 4, im + 4, 4);
    for (i = 0; i < n; i++) lb[8 + i] = (unsigned char)(i % 10);
    *lbl_len = 8 + n;
    return 16 + (size_t)n * r * c;
}

static void test_idx(void) {
    unsigned char im[16 + 5 * 4 * 3], lb[8 + 5], tmp[200];
    size_t il, ll, i, cut;
    convrnn_dataset ds;
    convrnn_error e;
    int bad;
    il = make_idx(im, lb, 5, 4, 3, &ll);
    CHECKF(convrnn_idx_parse(im, il, lb, ll, 10, &ds, &e) == CONVRNN_OK, "%s", e.msg);
    CHECK(ds.n == 5 && ds.h == 4 && ds.w == 3 && ds.c == 1 && ds.num_classes == 10);
    CHECK(ds.images && memcmp(ds.images, im + 16, 60) == 0);
    CHECK(ds.labels && ds.labels[4] == 4);
    convrnn_dataset_free(&ds);
    convrnn_dataset_free(&ds);
    /* through files */
    CHECK(convrnn_write_file_atomic(TMPDIR "/idx-images", im, il, &e) == CONVRNN_OK);
    CHECK(convrnn_write_file_atomic(TMPDIR "/idx-labels", lb, ll, &e) == CONVRNN_OK);
    CHECK(convrnn_idx_read(TMPDIR "/idx-images", TMPDIR "/idx-labels", 10, &ds, &e) == CONVRNN_OK && ds.n == 5);
    convrnn_dataset_free(&ds);
    expect_err(convrnn_idx_read(TMPDIR "/idx-images", TMPDIR "/idx-labels", 3, &ds, &e), CONVRNN_ERR_FORMAT, &e,
               "idx labels out of range (file)", "label 3 of image 3 is not below num_classes 3");
    expect_err(convrnn_idx_read(TMPDIR "/idx-labels", TMPDIR "/idx-images", 10, &ds, &e), CONVRNN_ERR_FORMAT, &e,
               "idx files swapped", "idx-labels: idx: images: 13 bytes is too short");
    remove(TMPDIR "/idx-images");
    remove(TMPDIR "/idx-labels");
    /* hostile */
    expect_err(convrnn_idx_parse(im, il, lb, ll, 4, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx label range", "not below num_classes 4");
    CHECK(ds.images == NULL && ds.n == 0);
    expect_err(convrnn_idx_parse(im, il, lb, ll, 0, &ds, &e), CONVRNN_ERR_ARG, &e, "idx 0 classes", NULL);
    expect_err(convrnn_idx_parse(im, il - 1, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx images short", "needs 76 bytes");
    memcpy(tmp, im, il); tmp[il] = 0;
    expect_err(convrnn_idx_parse(tmp, il + 1, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx images long", "needs 76 bytes");
    expect_err(convrnn_idx_parse(im, il, lb, ll - 1, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx labels short", "labels");
    memcpy(tmp, im, il); tmp[0] = 1;
    expect_err(convrnn_idx_parse(tmp, il, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx magic", "magic");
    memcpy(tmp, im, il); tmp[2] = 0x0D;
    expect_err(convrnn_idx_parse(tmp, il, lb, ll, 10, &ds, &e), CONVRNN_ERR_UNSUPPORTED, &e, "idx float", "0x0d");
    memcpy(tmp, im, il); tmp[2] = 0x07;
    expect_err(convrnn_idx_parse(tmp, il, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx type 7", "element type");
    memcpy(tmp, im, il); tmp[3] = 2;
    expect_err(convrnn_idx_parse(tmp, il, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx 2 dims", "dimensions");
    memcpy(tmp, im, il); tmp[11] = 0;
    expect_err(convrnn_idx_parse(tmp, il, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx rows 0", "1..65535");
    memcpy(tmp, im, il); tmp[4] = 0xFF;
    expect_err(convrnn_idx_parse(tmp, il, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx count huge", "2^31");
    memcpy(tmp, im, il); tmp[4] = 0x7F; tmp[8] = 0; tmp[9] = 0; tmp[10] = 0xFF; tmp[11] = 0xFF; tmp[14] = 0xFF; tmp[15] = 0xFF;
    {
        unsigned char lb2[13];
        memcpy(lb2, lb, 13); lb2[4] = 0x7F;
        expect_err(convrnn_idx_parse(tmp, il, lb2, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx size huge", NULL);
        memcpy(lb2, lb, 13); lb2[7] = 4;
        expect_err(convrnn_idx_parse(im, il, lb2, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx count mismatch", "4 labels for 5");
    }
    for (bad = 0, cut = 0; cut < il; cut++) {
        unsigned char *c = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(c, im, cut);
        if (convrnn_idx_parse(c, cut, lb, ll, 10, &ds, &e) != CONVRNN_ERR_FORMAT || ds.images) bad++;
        convrnn_dataset_free(&ds);
        free(c);
    }
    for (cut = 0; cut < ll; cut++) {
        unsigned char *c = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(c, lb, cut);
        if (convrnn_idx_parse(im, il, c, cut, 10, &ds, &e) != CONVRNN_ERR_FORMAT || ds.images) bad++;
        convrnn_dataset_free(&ds);
        free(c);
    }
    CHECKF(bad == 0, "idx truncations: %d not rejected", bad);
    n_hostile += (int)(il + ll);
    expect_err(convrnn_idx_parse(NULL, 0, lb, ll, 10, &ds, &e), CONVRNN_ERR_FORMAT, &e, "idx NULL", NULL);
    (void)i;
}

static void test_cifar(void) {
    size_t n = 3, i, len = n * 3073, cut;
    unsigned char *b = (unsigned char *)malloc(len + 1);
    convrnn_dataset ds;
    convrnn_error e;
    int ok, bad;
    for (i = 0; i < n; i++) {
        size_t p;
        b[i * 3073] = (unsigned char)(i * 4);
        for (p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = (unsigned char)(p * 7 + i);
    }
    ok = convrnn_cifar10_parse(b, len, &ds, &e) == CONVRNN_OK;
    CHECKF(ok, "%s", e.msg);
    if (ok) {
        int good = 1;
        size_t y, x, c;
        CHECK(ds.n == 3 && ds.h == 32 && ds.w == 32 && ds.c == 3 && ds.num_classes == 10 && ds.labels[2] == 8);
        for (i = 0; i < n; i++)
            for (c = 0; c < 3; c++)
                for (y = 0; y < 32; y++)
                    for (x = 0; x < 32; x++)
                        good &= ds.images[i * 3072 + (y * 32 + x) * 3 + c] == b[i * 3073 + 1 + c * 1024 + y * 32 + x];
        CHECKF(good, "cifar CHW -> HWC");
    }
    convrnn_dataset_free(&ds);
    {   /* two batch files concatenate */
        const char *paths[2] = {TMPDIR "/cifar_a.bin", TMPDIR "/cifar_b.bin"};
        CHECK(convrnn_write_file_atomic(paths[0], b, len, &e) == CONVRNN_OK);
        CHECK(convrnn_write_file_atomic(paths[1], b, 3073, &e) == CONVRNN_OK);
        CHECK(convrnn_cifar10_read(paths, 2, &ds, &e) == CONVRNN_OK);
        CHECK(ds.n == 4 && ds.labels[3] == 0 && ds.labels[1] == 4);
        CHECK(ds.images && memcmp(ds.images + 3 * 3072, ds.images, 3072) == 0);
        convrnn_dataset_free(&ds);
        b[3073] = 10;
        CHECK(convrnn_write_file_atomic(paths[1], b, len, &e) == CONVRNN_OK);
        expect_err(convrnn_cifar10_read(paths, 2, &ds, &e), CONVRNN_ERR_FORMAT, &e, "cifar file label 10", "cifar_b.bin");
        CHECK(ds.images == NULL && ds.n == 0);
        b[3073] = 4;
        remove(paths[0]);
        expect_err(convrnn_cifar10_read(paths, 2, &ds, &e), CONVRNN_ERR_IO, &e, "cifar missing file", "cifar_a.bin");
        remove(paths[1]);
    }
    b[3073 * 2] = 10;
    expect_err(convrnn_cifar10_parse(b, len, &ds, &e), CONVRNN_ERR_FORMAT, &e, "cifar label 10", "label 10 of record 2");
    b[3073 * 2] = 255;
    expect_err(convrnn_cifar10_parse(b, len, &ds, &e), CONVRNN_ERR_FORMAT, &e, "cifar label 255", "label 255");
    b[3073 * 2] = 0;
    expect_err(convrnn_cifar10_parse(b, 0, &ds, &e), CONVRNN_ERR_FORMAT, &e, "cifar empty", NULL);
    expect_err(convrnn_cifar10_parse(b, len + 1, &ds, &e), CONVRNN_ERR_FORMAT, &e, "cifar extra byte", "multiple");
    for (bad = 0, cut = 0; cut < len; cut += (cut < 3080 ? 1 : 97)) {
        convrnn_status s = convrnn_cifar10_parse(b, cut, &ds, &e);
        if (cut % 3073 == 0 && cut) { if (s != CONVRNN_OK) bad++; }
        else if (s != CONVRNN_ERR_FORMAT || ds.images) bad++;
        convrnn_dataset_free(&ds);
        n_hostile++;
    }
    CHECKF(bad == 0, "cifar truncations: %d wrong", bad);
    free(b);
}

static void test_shard(void) {
    convrnn_dataset ds, back;
    convrnn_error e;
    void *buf = NULL, *file = NULL;
    size_t len = 0, flen = 0, cut, i;
    int bad, ok;
    unsigned char *t;
    memset(&ds, 0, sizeof ds);
    ds.n = 4; ds.h = 3; ds.w = 2; ds.c = 3; ds.num_classes = 1000;
    ds.images = (uint8_t *)malloc(4 * 18);
    ds.labels = (int32_t *)malloc(4 * sizeof(int32_t));
    for (i = 0; i < 72; i++) ds.images[i] = (uint8_t)(i * 5);
    ds.labels[0] = 0; ds.labels[1] = 999; ds.labels[2] = 256; ds.labels[3] = 7;
    CHECK(convrnn_shard_to_buffer(&ds, &buf, &len, &e) == CONVRNN_OK);
    CHECK(len == 32 + 4 * (4 + 18));
    CHECK(buf && memcmp(buf, "CRNSHRD1\1\0\0\0\4\0\0\0\3\0\0\0\2\0\0\0\3\0\0\0\xE8\3\0\0", 32) == 0);
    ok = convrnn_shard_parse(buf, len, &back, &e) == CONVRNN_OK;
    CHECKF(ok, "%s", e.msg);
    if (ok) {
        CHECK(back.n == 4 && back.h == 3 && back.w == 2 && back.c == 3 && back.num_classes == 1000);
        CHECK(memcmp(back.images, ds.images, 72) == 0 && memcmp(back.labels, ds.labels, 16) == 0);
    }
    convrnn_dataset_free(&back);
    CHECK(convrnn_shard_write(TMPDIR "/s.shard", &ds, &e) == CONVRNN_OK);
    file = slurp(TMPDIR "/s.shard", &flen);
    CHECK(file && flen == len && memcmp(file, buf, len) == 0);
    CHECK(convrnn_shard_read(TMPDIR "/s.shard", &back, &e) == CONVRNN_OK && back.n == 4 && back.labels[1] == 999);
    convrnn_dataset_free(&back);
    remove(TMPDIR "/s.shard");
    convrnn_free(NULL, file);
    /* writer validation */
    ds.labels[2] = 1000;
    expect_err(convrnn_shard_to_buffer(&ds, &file, &flen, &e), CONVRNN_ERR_ARG, &e, "shard write label", "label 1000");
    ds.labels[2] = 256;
    ds.c = 0;
    expect_err(convrnn_shard_to_buffer(&ds, &file, &flen, &e), CONVRNN_ERR_ARG, &e, "shard write c=0", "channels");
    ds.c = 3;
    /* hostile */
    t = (unsigned char *)malloc(len + 1);
#define SHARD_CASE(mod, want, needle, what) do { memcpy(t, buf, len); mod; \
        expect_err(convrnn_shard_parse(t, len, &back, &e), want, &e, what, needle); CHECK(back.images == NULL); } while (0)
    SHARD_CASE(t[0] = 'X', CONVRNN_ERR_FORMAT, "magic", "shard magic");
    SHARD_CASE(t[8] = 2, CONVRNN_ERR_UNSUPPORTED, "version 2", "shard version");
    SHARD_CASE(t[12] = 5, CONVRNN_ERR_FORMAT, "need", "shard count 5");
    SHARD_CASE(t[12] = 3, CONVRNN_ERR_FORMAT, "need", "shard count 3");
    SHARD_CASE(t[15] = 0x80, CONVRNN_ERR_FORMAT, "2^31", "shard count 2^31");
    SHARD_CASE((t[12] = t[13] = t[14] = 0xFF, t[15] = 0x7F, t[16] = t[17] = t[20] = t[21] = 0xFF, t[24] = 1), CONVRNN_ERR_FORMAT,
               sizeof(size_t) > 4 ? "need" : "overflow", "shard huge");
    SHARD_CASE(t[16] = 0, CONVRNN_ERR_FORMAT, "1..65535", "shard h 0");
    SHARD_CASE(t[22] = 1, CONVRNN_ERR_FORMAT, "1..65535", "shard w 65538");
    SHARD_CASE(t[24] = 65, CONVRNN_ERR_FORMAT, "channels", "shard c 65");
    SHARD_CASE((t[28] = 0, t[29] = 0), CONVRNN_ERR_FORMAT, "num_classes", "shard k 0");
    SHARD_CASE(t[31] = 1, CONVRNN_ERR_FORMAT, "num_classes", "shard k huge");
    SHARD_CASE(t[32 + 22 + 1] = 4, CONVRNN_ERR_FORMAT, "label 1255 of record 1", "shard label");
    SHARD_CASE(t[32 + 3] = 0x80, CONVRNN_ERR_FORMAT, "label 2147483648 of record 0", "shard label negative");
    memcpy(t, buf, len);
    t[len] = 0;
    expect_err(convrnn_shard_parse(t, len + 1, &back, &e), CONVRNN_ERR_FORMAT, &e, "shard trailing", "need");
    for (bad = 0, cut = 0; cut < len; cut++) {
        unsigned char *c = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(c, buf, cut);
        if (convrnn_shard_parse(c, cut, &back, &e) != CONVRNN_ERR_FORMAT || back.images || !e.msg[0]) bad++;
        convrnn_dataset_free(&back);
        free(c);
    }
    CHECKF(bad == 0, "shard truncations: %d not rejected", bad);
    n_hostile += (int)len;
    expect_err(convrnn_shard_read(TMPDIR "/missing.shard", &back, &e), CONVRNN_ERR_IO, &e, "shard missing", "missing.shard");
    {   /* an empty shard is valid */
        convrnn_dataset z;
        memset(&z, 0, sizeof z);
        z.h = 1; z.w = 1; z.c = 1; z.num_classes = 2;
        convrnn_free(NULL, file);
        file = NULL;
        CHECK(convrnn_shard_to_buffer(&z, &file, &flen, &e) == CONVRNN_OK && flen == 32);
        CHECK(convrnn_shard_parse(file, flen, &back, &e) == CONVRNN_OK && back.n == 0);
        convrnn_dataset_free(&back);
    }
#undef SHARD_CASE
    free(t);
    convrnn_free(NULL, file);
    convrnn_free(NULL, buf);
    free(ds.images);
    free(ds.labels);
}

/* ------------------------------------------------------------------------------- files */

static void test_files(void) {
    convrnn_error e;
    void *buf = NULL;
    size_t len = 0;
    const char *p = TMPDIR "/atomic.bin";
    char big[100000];
    size_t i;
    for (i = 0; i < sizeof big; i++) big[i] = (char)(i * 31 + 7);
    CHECK(convrnn_write_file_atomic(p, "first version", 13, &e) == CONVRNN_OK);
    CHECK(convrnn_read_file(p, &buf, &len, 0, &e) == CONVRNN_OK && len == 13 && memcmp(buf, "first version", 13) == 0);
    CHECK(buf && ((char *)buf)[13] == 0); /* spare NUL */
    convrnn_free(NULL, buf);
    /* write over an existing file */
    CHECK(convrnn_write_file_atomic(p, big, sizeof big, &e) == CONVRNN_OK);
    CHECK(convrnn_read_file(p, &buf, &len, 0, &e) == CONVRNN_OK && len == sizeof big && memcmp(buf, big, len) == 0);
    convrnn_free(NULL, buf);
    /* max_len */
    expect_err(convrnn_read_file(p, &buf, &len, 99999, &e), CONVRNN_ERR_FORMAT, &e, "read over max_len", "limit");
    CHECK(buf == NULL && len == 0);
    CHECK(convrnn_read_file(p, &buf, &len, 100000, &e) == CONVRNN_OK && len == 100000);
    convrnn_free(NULL, buf);
    /* an empty file */
    CHECK(convrnn_write_file_atomic(p, NULL, 0, &e) == CONVRNN_OK);
    CHECK(convrnn_read_file(p, &buf, &len, 0, &e) == CONVRNN_OK && len == 0 && buf != NULL);
    convrnn_free(NULL, buf);
    CHECK(files_with_prefix(TMPDIR, "atomic.bin.tmp") == 0);
    /* failing writes: missing directory, target is a directory; no temporary file is left */
    expect_err(convrnn_write_file_atomic(TMPDIR "/no/such/dir/x.bin", "x", 1, &e), CONVRNN_ERR_IO, &e, "missing dir", "x.bin");
#ifdef HAVE_POSIX_DIR
    mkdir(TMPDIR "/adir", 0755);
    expect_err(convrnn_write_file_atomic(TMPDIR "/adir", "x", 1, &e), CONVRNN_ERR_IO, &e, "target is a directory", "rename");
    CHECK(files_with_prefix(TMPDIR, "adir.tmp") == 0);
    {   /* the failed npy / safetensors / shard writes leave the old content and no temp file */
        convrnn_array a;
        int64_t sh[1] = {3};
        CHECK(convrnn_array_init(&a, CONVRNN_DT_F32, 1, sh, &e) == CONVRNN_OK);
        expect_err(convrnn_npy_write(TMPDIR "/adir", &a, &e), CONVRNN_ERR_IO, &e, "npy onto a directory", NULL);
        convrnn_array_free(&a);
        CHECK(files_with_prefix(TMPDIR, "adir.tmp") == 0);
    }
    /* reading a directory is an I/O error (Linux reports a huge size for it: not trusted) */
    expect_err(convrnn_read_file(TMPDIR "/adir", &buf, &len, 0, &e), CONVRNN_ERR_IO, &e, "read a directory", "adir");
    CHECK(buf == NULL);
    remove(TMPDIR "/adir");
#endif
    CHECK(convrnn_read_file(p, &buf, &len, 0, &e) == CONVRNN_OK && len == 0);
    convrnn_free(NULL, buf);
    expect_err(convrnn_read_file(TMPDIR "/missing", &buf, &len, 0, &e), CONVRNN_ERR_IO, &e, "read missing", "missing");
    expect_err(convrnn_write_file_atomic("", "x", 1, &e), CONVRNN_ERR_ARG, &e, "empty path", NULL);
    expect_err(convrnn_write_file_atomic(p, NULL, 1, &e), CONVRNN_ERR_ARG, &e, "NULL data", NULL);
    remove(p);
    CHECK(files_with_prefix(TMPDIR, "atomic") == 0);
    /* NULL error pointers are accepted everywhere */
    CHECK(convrnn_read_file(TMPDIR "/missing", &buf, &len, 0, NULL) == CONVRNN_ERR_IO);
    {
        convrnn_safetensors st;
        convrnn_array a;
        CHECK(convrnn_st_parse("xx", 2, &st, NULL) == CONVRNN_ERR_FORMAT);
        CHECK(convrnn_st_parse("\2\0\0\0\0\0\0\0{}", 10, &st, NULL) == CONVRNN_OK);
        convrnn_st_free(&st);
        CHECK(convrnn_st_parse("\3\0\0\0\0\0\0\0{x}", 11, &st, NULL) == CONVRNN_ERR_FORMAT);
        CHECK(convrnn_npy_parse("xx", 2, &a, NULL) == CONVRNN_ERR_FORMAT);
    }
}

/* arrays: conversions */
static void test_array_convert(void) {
    convrnn_array a;
    convrnn_error e;
    int64_t sh[1] = {4};
    double *d = NULL;
    float *f = NULL;
    CHECK(convrnn_array_init(&a, CONVRNN_DT_I64, 1, sh, &e) == CONVRNN_OK && a.count == 4);
    ((int64_t *)a.data)[0] = -5;
    ((int64_t *)a.data)[1] = (int64_t)1 << 53;
    ((int64_t *)a.data)[3] = 7;
    CHECK(convrnn_array_to_f64(&a, &d, &e) == CONVRNN_OK && d[0] == -5 && d[1] == 9007199254740992.0 && d[2] == 0 && d[3] == 7);
    CHECK(convrnn_array_to_f32(&a, &f, &e) == CONVRNN_OK && f[0] == -5.0f && f[3] == 7.0f);
    convrnn_free(NULL, d);
    convrnn_free(NULL, f);
    convrnn_array_free(&a);
    CHECK(convrnn_array_init(&a, CONVRNN_DT_BOOL, 1, sh, &e) == CONVRNN_OK);
    ((unsigned char *)a.data)[1] = 7; /* any non-zero byte is true */
    CHECK(convrnn_array_to_f32(&a, &f, &e) == CONVRNN_OK && f[0] == 0 && f[1] == 1.0f);
    convrnn_free(NULL, f);
    a.dtype = CONVRNN_DT_F16;
    a.count = 4;
    convrnn_free(NULL, a.data);
    a.data = convrnn_calloc(NULL, 8, 1);
    expect_err(convrnn_array_to_f64(&a, &d, &e), CONVRNN_ERR_UNSUPPORTED, &e, "array f16 convert", "float16");
    CHECK(d == NULL);
    convrnn_array_free(&a);
    CHECK(convrnn_array_init(&a, CONVRNN_DT_F32, 0, NULL, &e) == CONVRNN_OK && a.count == 1 && a.ndim == 0);
    convrnn_array_free(&a);
    expect_err(convrnn_array_to_f64(NULL, &d, &e), CONVRNN_ERR_ARG, &e, "NULL array", NULL);
}

int main(void) {
#ifdef HAVE_POSIX_DIR
    mkdir("build", 0755);
    mkdir(TMPDIR, 0755);
#endif
    test_dtypes();
    test_array_convert();
    test_npy_roundtrip();
    test_npy_numpy_files();
    test_npy_hostile();
    test_st_roundtrip();
    test_st_many();
    test_st_python_file();
    test_st_hostile();
    test_idx();
    test_cifar();
    test_shard();
    test_files();
    printf("io: %d hostile inputs rejected as expected\n", n_hostile);
    return TEST_END("io");
}
