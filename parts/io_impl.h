/* ======================================================================================= [IMPL-IO]
   Readers treat their input as hostile. Conventions in this section:
   - every size computed from input goes through convrnn_size_mul/convrnn_size_add or an explicit
     bound before it is used to index or allocate;
   - multi-byte integers are assembled byte by byte (no unaligned or host-order loads);
   - a failed parse frees what it allocated and leaves its output zeroed. */

/* ---------------------------------------------------------------------------- byte-level helpers */

static int convrnn__io_host_le(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}
static uint32_t convrnn__io_rd_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t convrnn__io_rd_le64(const unsigned char *p) {
    return (uint64_t)convrnn__io_rd_le32(p) | ((uint64_t)convrnn__io_rd_le32(p + 4) << 32);
}
static uint32_t convrnn__io_rd_be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static void convrnn__io_wr_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static void convrnn__io_wr_le64(unsigned char *p, uint64_t v) {
    convrnn__io_wr_le32(p, (uint32_t)v);
    convrnn__io_wr_le32(p + 4, (uint32_t)(v >> 32));
}
/* reverse the bytes of n elements of size es (es in 2, 4, 8), in place */
static void convrnn__io_bswap_n(void *data, size_t n, size_t es) {
    unsigned char *p = (unsigned char *)data, t;
    size_t i, k;
    if (es < 2) return;
    for (i = 0; i < n; i++, p += es)
        for (k = 0; k < es / 2; k++) { t = p[k]; p[k] = p[es - 1 - k]; p[es - 1 - k] = t; }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes available), or 0 if invalid
   (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are invalid). */
static size_t convrnn__io_utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t need, k;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    if (n < need + 1) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (k = 2; k <= need; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return need + 1;
}
static int convrnn__io_utf8_valid(const char *s, size_t n) {
    size_t i = 0, k;
    while (i < n) {
        k = convrnn__io_utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------- dtypes */

CONVRNNDEF size_t convrnn_dtype_size(convrnn_dtype t) {
    switch (t) {
    case CONVRNN_DT_F32: case CONVRNN_DT_I32: case CONVRNN_DT_U32: return 4;
    case CONVRNN_DT_F64: case CONVRNN_DT_I64: case CONVRNN_DT_U64: return 8;
    case CONVRNN_DT_U8: case CONVRNN_DT_I8: case CONVRNN_DT_BOOL: return 1;
    case CONVRNN_DT_U16: case CONVRNN_DT_I16: case CONVRNN_DT_F16: case CONVRNN_DT_BF16: return 2;
    default: return 0;
    }
}

CONVRNNDEF const char *convrnn_dtype_name(convrnn_dtype t) {
    switch (t) {
    case CONVRNN_DT_F32: return "float32";
    case CONVRNN_DT_F64: return "float64";
    case CONVRNN_DT_I32: return "int32";
    case CONVRNN_DT_I64: return "int64";
    case CONVRNN_DT_U8: return "uint8";
    case CONVRNN_DT_I8: return "int8";
    case CONVRNN_DT_U16: return "uint16";
    case CONVRNN_DT_I16: return "int16";
    case CONVRNN_DT_U32: return "uint32";
    case CONVRNN_DT_U64: return "uint64";
    case CONVRNN_DT_BOOL: return "bool";
    case CONVRNN_DT_F16: return "float16";
    case CONVRNN_DT_BF16: return "bfloat16";
    default: return "invalid";
    }
}

CONVRNNDEF const char *convrnn_dtype_st_name(convrnn_dtype t) {
    switch (t) {
    case CONVRNN_DT_F32: return "F32";
    case CONVRNN_DT_F64: return "F64";
    case CONVRNN_DT_I32: return "I32";
    case CONVRNN_DT_I64: return "I64";
    case CONVRNN_DT_U8: return "U8";
    case CONVRNN_DT_I8: return "I8";
    case CONVRNN_DT_U16: return "U16";
    case CONVRNN_DT_I16: return "I16";
    case CONVRNN_DT_U32: return "U32";
    case CONVRNN_DT_U64: return "U64";
    case CONVRNN_DT_BOOL: return "BOOL";
    case CONVRNN_DT_F16: return "F16";
    case CONVRNN_DT_BF16: return "BF16";
    default: return "invalid";
    }
}

static int convrnn__io_dtype_ok(convrnn_dtype t) { return (int)t >= 0 && (int)t < (int)CONVRNN_DT_COUNT; }
static int convrnn__io_dtype_convertible(convrnn_dtype t) {
    return convrnn__io_dtype_ok(t) && t != CONVRNN_DT_F16 && t != CONVRNN_DT_BF16;
}

/* Element count and byte size of a shape, each dim in [0, CONVRNN_IO_MAX_DIM). Returns 0 (with
   *why set) if ndim or a dim is out of range or the byte size overflows size_t. */
static int convrnn__io_shape_size(int ndim, const int64_t *shape, size_t es, size_t *count, size_t *nbytes,
                               const char **why) {
    size_t c = 1;
    int i;
    if (ndim < 0 || ndim > CONVRNN_IO_MAX_NDIM) { *why = "ndim outside 0..8"; return 0; }
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] >= CONVRNN_IO_MAX_DIM) { *why = "a dimension is outside [0, 2^40)"; return 0; }
        if (!convrnn_size_mul(c, (size_t)shape[i], &c)) { *why = "the element count overflows"; return 0; }
    }
    if (!convrnn_size_mul(c, es, nbytes)) { *why = "the byte size overflows"; return 0; }
    *count = c;
    return 1;
}

/* Format a shape as "[2, 3]" into buf (always NUL-terminated). */
static const char *convrnn__io_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t n = 0;
    int i, k;
    if (cap == 0) return buf;
    buf[0] = 0;
    k = snprintf(buf, cap, "[");
    if (k > 0) n = (size_t)k;
    for (i = 0; i < ndim && n < cap; i++) {
        k = snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)shape[i]);
        if (k < 0) break;
        n += (size_t)k;
    }
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Convert n elements of type t at src to double (dst64) or float (dst32). swap: the source bytes
   are in the opposite of host order. The source may be unaligned. */
#define CONVRNN__IO_CVT(T)                                                                        \
    do {                                                                                       \
        T v_;                                                                                  \
        unsigned char b_[8];                                                                   \
        for (i = 0; i < n; i++) {                                                              \
            memcpy(b_, s + i * sizeof(T), sizeof(T));                                          \
            if (swap) convrnn__io_bswap_n(b_, 1, sizeof(T));                                      \
            memcpy(&v_, b_, sizeof(T));                                                        \
            if (dst64) dst64[i] = (double)v_; else dst32[i] = (float)v_;                       \
        }                                                                                      \
    } while (0)
static void convrnn__io_convert(convrnn_dtype t, const void *src, size_t n, int swap, double *dst64, float *dst32) {
    const unsigned char *s = (const unsigned char *)src;
    size_t i;
    switch (t) {
    case CONVRNN_DT_F32:
        if (!swap && dst32) { if (n) memcpy(dst32, s, n * 4); break; }
        CONVRNN__IO_CVT(float); break;
    case CONVRNN_DT_F64:
        if (!swap && dst64) { if (n) memcpy(dst64, s, n * 8); break; }
        CONVRNN__IO_CVT(double); break;
    case CONVRNN_DT_I32: CONVRNN__IO_CVT(int32_t); break;
    case CONVRNN_DT_I64: CONVRNN__IO_CVT(int64_t); break;
    case CONVRNN_DT_U8: CONVRNN__IO_CVT(uint8_t); break;
    case CONVRNN_DT_I8: CONVRNN__IO_CVT(int8_t); break;
    case CONVRNN_DT_U16: CONVRNN__IO_CVT(uint16_t); break;
    case CONVRNN_DT_I16: CONVRNN__IO_CVT(int16_t); break;
    case CONVRNN_DT_U32: CONVRNN__IO_CVT(uint32_t); break;
    case CONVRNN_DT_U64: CONVRNN__IO_CVT(uint64_t); break;
    case CONVRNN_DT_BOOL:
        for (i = 0; i < n; i++) {
            if (dst64) dst64[i] = s[i] ? 1.0 : 0.0; else dst32[i] = s[i] ? 1.0f : 0.0f;
        }
        break;
    default: break; /* callers reject F16/BF16 first */
    }
}
#undef CONVRNN__IO_CVT

/* ------------------------------------------------------------------------------------- arrays */

CONVRNNDEF convrnn_status convrnn_array_init(convrnn_array *a, convrnn_dtype dtype, int ndim,
                                             const int64_t *shape, convrnn_error *err) {
    size_t count, nbytes;
    const char *why = "";
    int i;
    if (!a) return convrnn_error_set(err, CONVRNN_ERR_ARG, "array_init: NULL array");
    memset(a, 0, sizeof *a);
    if (!convrnn__io_dtype_ok(dtype))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "array_init: invalid dtype %d", (int)dtype);
    if (ndim > 0 && !shape) return convrnn_error_set(err, CONVRNN_ERR_ARG, "array_init: NULL shape");
    if (!convrnn__io_shape_size(ndim, shape, convrnn_dtype_size(dtype), &count, &nbytes, &why))
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "array_init: %s", why);
    a->data = convrnn_calloc(NULL, nbytes ? nbytes : 1, 1);
    if (!a->data)
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "array_init: cannot allocate %lu bytes",
                                 (unsigned long)nbytes);
    a->dtype = dtype;
    a->ndim = ndim;
    for (i = 0; i < ndim; i++) a->shape[i] = shape[i];
    a->count = count;
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_array_free(convrnn_array *a) {
    if (!a) return;
    convrnn_free(NULL, a->data);
    memset(a, 0, sizeof *a);
}

/* Validate an array given by the caller (to write or convert it). */
static convrnn_status convrnn__io_array_check(const convrnn_array *a, const char *who, size_t *nbytes, convrnn_error *err) {
    size_t count;
    const char *why = "";
    if (!a) return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: NULL array", who);
    if (!convrnn__io_dtype_ok(a->dtype))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: invalid dtype %d", who, (int)a->dtype);
    if (!convrnn__io_shape_size(a->ndim, a->shape, convrnn_dtype_size(a->dtype), &count, nbytes, &why))
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "%s: %s", who, why);
    if (count != a->count)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: count %lu does not match the shape (%lu elements)",
                                 who, (unsigned long)a->count, (unsigned long)count);
    if (*nbytes && !a->data) return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: NULL data", who);
    return CONVRNN_OK;
}

static convrnn_status convrnn__io_array_to(const convrnn_array *a, double **o64, float **o32, convrnn_error *err) {
    size_t nbytes, outb;
    void *p;
    const char *who = o64 ? "array_to_f64" : "array_to_f32";
    convrnn_status s;
    if (o64) *o64 = NULL;
    if (o32) *o32 = NULL;
    s = convrnn__io_array_check(a, who, &nbytes, err);
    if (s) return s;
    if (!convrnn__io_dtype_convertible(a->dtype))
        return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "%s: cannot convert %s", who, convrnn_dtype_name(a->dtype));
    if (!convrnn_size_mul(a->count, o64 ? sizeof(double) : sizeof(float), &outb))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "%s: %lu elements overflow", who, (unsigned long)a->count);
    p = convrnn_malloc(NULL, outb);
    if (!p) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "%s: cannot allocate %lu bytes", who, (unsigned long)outb);
    convrnn__io_convert(a->dtype, a->data, a->count, 0, o64 ? (double *)p : NULL, o64 ? NULL : (float *)p);
    if (o64) *o64 = (double *)p; else *o32 = (float *)p;
    return CONVRNN_OK;
}
CONVRNNDEF convrnn_status convrnn_array_to_f64(const convrnn_array *a, double **out, convrnn_error *err) {
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "array_to_f64: NULL output");
    return convrnn__io_array_to(a, out, NULL, err);
}
CONVRNNDEF convrnn_status convrnn_array_to_f32(const convrnn_array *a, float **out, convrnn_error *err) {
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "array_to_f32: NULL output");
    return convrnn__io_array_to(a, NULL, out, err);
}

/* ---------------------------------------------------------------------------------------- npy */

/* The header is a Python dict literal, e.g.
   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
   This scanner accepts exactly that grammar: string keys 'descr', 'fortran_order', 'shape', each
   once; a quoted descr string (a list descr is a structured dtype: unsupported); True/False; a
   tuple of non-negative integers (Python 2 'L' suffixes allowed) with the one-element tuple
   needing its comma; optional trailing comma; then only whitespace. */
typedef struct convrnn__io_npyh {
    const char *s;
    size_t n, i;
} convrnn__io_npyh;

static void convrnn__io_npyh_ws(convrnn__io_npyh *h) {
    while (h->i < h->n && (h->s[h->i] == ' ' || h->s[h->i] == '\t' || h->s[h->i] == '\n' || h->s[h->i] == '\r'))
        h->i++;
}
/* a quoted string without escapes: returns start and length, or 0 */
static int convrnn__io_npyh_str(convrnn__io_npyh *h, const char **str, size_t *len) {
    char q;
    size_t b;
    if (h->i >= h->n || (h->s[h->i] != '\'' && h->s[h->i] != '"')) return 0;
    q = h->s[h->i++];
    b = h->i;
    while (h->i < h->n && h->s[h->i] != q) {
        if (h->s[h->i] == '\\' || h->s[h->i] == '\n') return 0;
        h->i++;
    }
    if (h->i >= h->n) return 0;
    *str = h->s + b;
    *len = h->i - b;
    h->i++;
    return 1;
}
static int convrnn__io_npyh_lit(convrnn__io_npyh *h, const char *lit) {
    size_t k = strlen(lit);
    if (h->n - h->i < k || memcmp(h->s + h->i, lit, k) != 0) return 0;
    h->i += k;
    return 1;
}

/* descr string -> dtype; returns OK, FORMAT (not a dtype string) or UNSUPPORTED. *swap is set
   when the data is in the opposite of host byte order. */
static convrnn_status convrnn__io_npy_descr(const char *d, size_t n, convrnn_dtype *dt, int *swap, convrnn_error *err) {
    char order, kind;
    int size = 0;
    size_t k;
    if (n < 3 || n > 8) goto bad;
    order = d[0];
    kind = d[1];
    if (order != '<' && order != '>' && order != '|' && order != '=') goto bad;
    for (k = 2; k < n; k++) {
        if (d[k] < '0' || d[k] > '9') goto bad;
        size = size * 10 + (d[k] - '0');
    }
    switch (kind) {
    case 'f': if (size == 4) *dt = CONVRNN_DT_F32; else if (size == 8) *dt = CONVRNN_DT_F64; else goto unsup; break;
    case 'i': if (size == 1) *dt = CONVRNN_DT_I8; else if (size == 2) *dt = CONVRNN_DT_I16;
              else if (size == 4) *dt = CONVRNN_DT_I32; else if (size == 8) *dt = CONVRNN_DT_I64; else goto unsup;
              break;
    case 'u': if (size == 1) *dt = CONVRNN_DT_U8; else if (size == 2) *dt = CONVRNN_DT_U16;
              else if (size == 4) *dt = CONVRNN_DT_U32; else if (size == 8) *dt = CONVRNN_DT_U64; else goto unsup;
              break;
    case 'b': if (size == 1) *dt = CONVRNN_DT_BOOL; else goto unsup; break;
    case 'c': case 'U': case 'S': case 'a': case 'O': case 'V': case 'M': case 'm': goto unsup;
    default: goto bad;
    }
    *swap = (order == '<' && !convrnn__io_host_le()) || (order == '>' && convrnn__io_host_le());
    if (size == 1) *swap = 0;
    return CONVRNN_OK;
unsup:
    return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "npy: dtype '%.*s' is not supported", (int)n, d);
bad:
    return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: '%.*s' is not a dtype descriptor", (int)(n > 16 ? 16 : n), d);
}

static convrnn_status convrnn__io_npy_header(const char *s, size_t n, convrnn_dtype *dt, int *swap, int *ndim,
                                          int64_t *shape, convrnn_error *err) {
    convrnn__io_npyh h;
    int have_descr = 0, have_fo = 0, have_shape = 0, comma;
    const char *key, *val;
    size_t klen, vlen;
    convrnn_status st;
    h.s = s; h.n = n; h.i = 0;
    convrnn__io_npyh_ws(&h);
    if (h.i >= h.n || h.s[h.i] != '{')
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header is not a dict literal");
    h.i++;
    for (;;) {
        convrnn__io_npyh_ws(&h);
        if (h.i < h.n && h.s[h.i] == '}') { h.i++; break; }
        if (!convrnn__io_npyh_str(&h, &key, &klen))
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: expected a quoted key at byte %lu", (unsigned long)h.i);
        convrnn__io_npyh_ws(&h);
        if (h.i >= h.n || h.s[h.i] != ':')
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: expected ':' after key '%.*s'", (int)klen, key);
        h.i++;
        convrnn__io_npyh_ws(&h);
        if (klen == 5 && memcmp(key, "descr", 5) == 0) {
            if (have_descr++) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: duplicate key 'descr'");
            if (h.i < h.n && h.s[h.i] == '[')
                return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "npy: structured dtypes are not supported");
            if (!convrnn__io_npyh_str(&h, &val, &vlen))
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: 'descr' is not a string");
            st = convrnn__io_npy_descr(val, vlen, dt, swap, err);
            if (st) return st;
        } else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (have_fo++) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: duplicate key 'fortran_order'");
            if (convrnn__io_npyh_lit(&h, "True"))
                return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED,
                                         "npy: fortran_order True is not supported (save a C-order array)");
            if (!convrnn__io_npyh_lit(&h, "False"))
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: 'fortran_order' is not True or False");
        } else if (klen == 5 && memcmp(key, "shape", 5) == 0) {
            if (have_shape++) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: duplicate key 'shape'");
            if (h.i >= h.n || h.s[h.i] != '(')
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: 'shape' is not a tuple");
            h.i++;
            *ndim = 0;
            comma = 0;
            for (;;) {
                int64_t v = 0;
                size_t digits = 0;
                convrnn__io_npyh_ws(&h);
                if (h.i < h.n && h.s[h.i] == ')') { h.i++; break; }
                if (*ndim == CONVRNN_IO_MAX_NDIM)
                    return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: more than %d dimensions", CONVRNN_IO_MAX_NDIM);
                while (h.i < h.n && h.s[h.i] >= '0' && h.s[h.i] <= '9') {
                    v = v * 10 + (h.s[h.i] - '0');
                    h.i++;
                    if (v >= CONVRNN_IO_MAX_DIM)
                        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: dimension %d is not below 2^40", *ndim);
                    digits++;
                }
                if (!digits)
                    return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: bad shape entry at byte %lu", (unsigned long)h.i);
                if (h.i < h.n && h.s[h.i] == 'L') h.i++;
                shape[(*ndim)++] = v;
                convrnn__io_npyh_ws(&h);
                comma = 0;
                if (h.i < h.n && h.s[h.i] == ',') { h.i++; comma = 1; continue; }
                if (h.i < h.n && h.s[h.i] == ')') { h.i++; break; }
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: bad shape tuple at byte %lu", (unsigned long)h.i);
            }
            if (*ndim == 1 && !comma)
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: 'shape' is not a tuple");
        } else {
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: unexpected key '%.*s'",
                                     (int)(klen > 32 ? 32 : klen), key);
        }
        convrnn__io_npyh_ws(&h);
        if (h.i < h.n && h.s[h.i] == ',') { h.i++; continue; }
        if (h.i < h.n && h.s[h.i] == '}') { h.i++; break; }
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: expected ',' or '}' at byte %lu", (unsigned long)h.i);
    }
    convrnn__io_npyh_ws(&h);
    if (h.i != h.n)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header: unexpected text after the dict at byte %lu",
                                 (unsigned long)h.i);
    if (!have_descr || !have_fo || !have_shape)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header lacks the key '%s'",
                                 !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    return CONVRNN_OK;
}

/* Parse; if owned is not NULL it is the (malloc'ed) buffer buf itself, and becomes out->data. */
static convrnn_status convrnn__io_npy_parse(const void *buf, size_t len, void *owned, convrnn_array *out, convrnn_error *err) {
    const unsigned char *b = (const unsigned char *)buf;
    size_t hlen, off, count, nbytes, k;
    int major, swap = 0, ndim = 0;
    int64_t shape[8];
    convrnn_dtype dt = CONVRNN_DT_F32;
    const char *why = "";
    convrnn_status st;
    void *data;
    if (!out) { convrnn_free(NULL, owned); return convrnn_error_set(err, CONVRNN_ERR_ARG, "npy: NULL output"); }
    memset(out, 0, sizeof *out);
    if (!buf && len) { st = convrnn_error_set(err, CONVRNN_ERR_ARG, "npy: NULL buffer"); goto fail; }
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, len < 10 ? "npy: %lu bytes is too short for a header"
                                                                 : "npy: bad magic (%lu bytes)", (unsigned long)len);
        goto fail;
    }
    major = b[6];
    if (major == 1) { hlen = (size_t)b[8] | ((size_t)b[9] << 8); off = 10; }
    else if (major == 2 || major == 3) {
        if (len < 12) { st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: truncated version %d preamble", major); goto fail; }
        hlen = (size_t)convrnn__io_rd_le32(b + 8);
        off = 12;
    } else {
        st = convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "npy: format version %d.%d is not supported", major, b[7]);
        goto fail;
    }
    if (hlen > CONVRNN_IO_MAX_NPY_HEADER) {
        st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header length %lu exceeds the limit of %u",
                               (unsigned long)hlen, (unsigned)CONVRNN_IO_MAX_NPY_HEADER);
        goto fail;
    }
    if (hlen > len - off) {
        st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: header length %lu exceeds the %lu bytes after the preamble",
                               (unsigned long)hlen, (unsigned long)(len - off));
        goto fail;
    }
    for (k = 0; k < hlen; k++)
        if (b[off + k] == 0 || (b[off + k] >= 0x80 && major < 3)) {
            st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: byte %lu of the header is not text", (unsigned long)k);
            goto fail;
        }
    st = convrnn__io_npy_header((const char *)b + off, hlen, &dt, &swap, &ndim, shape, err);
    if (st) goto fail;
    off += hlen;
    if (!convrnn__io_shape_size(ndim, shape, convrnn_dtype_size(dt), &count, &nbytes, &why)) {
        st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: shape: %s", why);
        goto fail;
    }
    if (nbytes != len - off) {
        char sh[96];
        st = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "npy: %s %s needs %lu data bytes, the file has %lu",
                               convrnn_dtype_name(dt), convrnn__io_shape_str(sh, sizeof sh, ndim, shape),
                               (unsigned long)nbytes, (unsigned long)(len - off));
        goto fail;
    }
    if (owned) {
        if (nbytes) memmove(owned, b + off, nbytes);
        data = owned;
        owned = NULL;
    } else {
        data = convrnn_malloc(NULL, nbytes);
        if (!data) {
            st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "npy: cannot allocate %lu bytes", (unsigned long)nbytes);
            goto fail;
        }
        if (nbytes) memcpy(data, b + off, nbytes);
    }
    if (swap) convrnn__io_bswap_n(data, count, convrnn_dtype_size(dt));
    out->dtype = dt;
    out->ndim = ndim;
    for (k = 0; k < (size_t)ndim; k++) out->shape[k] = shape[k];
    out->count = count;
    out->data = data;
    return CONVRNN_OK;
fail:
    convrnn_free(NULL, owned);
    return st;
}

CONVRNNDEF convrnn_status convrnn_npy_parse(const void *buf, size_t len, convrnn_array *out, convrnn_error *err) {
    return convrnn__io_npy_parse(buf, len, NULL, out, err);
}

/* Python repr of the descr, e.g. '<f4' or '|u1' */
static void convrnn__io_npy_descr_str(convrnn_dtype t, char d[4]) {
    size_t es = convrnn_dtype_size(t);
    char kind = 'f';
    switch (t) {
    case CONVRNN_DT_I8: case CONVRNN_DT_I16: case CONVRNN_DT_I32: case CONVRNN_DT_I64: kind = 'i'; break;
    case CONVRNN_DT_U8: case CONVRNN_DT_U16: case CONVRNN_DT_U32: case CONVRNN_DT_U64: kind = 'u'; break;
    case CONVRNN_DT_BOOL: kind = 'b'; break;
    default: kind = 'f'; break;
    }
    d[0] = es == 1 ? '|' : convrnn__io_host_le() ? '<' : '>';
    d[1] = kind;
    d[2] = (char)('0' + (int)es);
    d[3] = 0;
}

/* Build the npy preamble+header exactly as numpy 1.24 does (same bytes for the same array). */
static convrnn_status convrnn__io_npy_preamble(const convrnn_array *a, unsigned char **pre, size_t *prelen,
                                            size_t *nbytes, convrnn_error *err) {
    char hdr[512], descr[4], num[32];
    size_t n = 0, total, padlen, hl, off;
    int i, k;
    unsigned char *p;
    convrnn_status st = convrnn__io_array_check(a, "npy", nbytes, err);
    if (st) return st;
    if (!convrnn__io_dtype_convertible(a->dtype))
        return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "npy: writing %s is not supported", convrnn_dtype_name(a->dtype));
    convrnn__io_npy_descr_str(a->dtype, descr);
    k = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    n = (size_t)k;
    for (i = 0; i < a->ndim; i++) {
        k = snprintf(hdr + n, sizeof hdr - n, i ? ", %lld" : "%lld", (long long)a->shape[i]);
        n += (size_t)k;
    }
    k = snprintf(hdr + n, sizeof hdr - n, a->ndim == 1 ? ",), }" : "), }");
    n += (size_t)k;
    if (a->ndim > 0) { /* numpy's spare room for growing axis 0: 21 digits */
        k = snprintf(num, sizeof num, "%lld", (long long)a->shape[0]);
        for (i = k; i < 21; i++) hdr[n++] = ' ';
    }
    hl = n + 1; /* + '\n' */
    padlen = 64 - ((10 + hl) % 64);
    off = 10;
    if (hl + padlen > 65535) { padlen = 64 - ((12 + hl) % 64); off = 12; }
    total = off + hl + padlen;
    p = (unsigned char *)convrnn_malloc(NULL, total);
    if (!p) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "npy: cannot allocate a header");
    memcpy(p, "\x93NUMPY", 6);
    p[6] = (unsigned char)(off == 10 ? 1 : 2);
    p[7] = 0;
    if (off == 10) { p[8] = (unsigned char)((hl + padlen) & 0xFF); p[9] = (unsigned char)((hl + padlen) >> 8); }
    else convrnn__io_wr_le32(p + 8, (uint32_t)(hl + padlen));
    memcpy(p + off, hdr, n);
    memset(p + off + n, ' ', padlen);
    p[total - 1] = '\n';
    *pre = p;
    *prelen = total;
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_npy_to_buffer(const convrnn_array *a, void **buf, size_t *len, convrnn_error *err) {
    unsigned char *pre = NULL, *out;
    size_t prelen = 0, nbytes = 0, total;
    convrnn_status st;
    if (!buf || !len) return convrnn_error_set(err, CONVRNN_ERR_ARG, "npy_to_buffer: NULL output");
    *buf = NULL;
    *len = 0;
    st = convrnn__io_npy_preamble(a, &pre, &prelen, &nbytes, err);
    if (st) return st;
    if (!convrnn_size_add(prelen, nbytes, &total)) {
        convrnn_free(NULL, pre);
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "npy_to_buffer: size overflows");
    }
    out = (unsigned char *)convrnn_malloc(NULL, total);
    if (!out) {
        convrnn_free(NULL, pre);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "npy_to_buffer: cannot allocate %lu bytes", (unsigned long)total);
    }
    memcpy(out, pre, prelen);
    if (nbytes) memcpy(out + prelen, a->data, nbytes);
    convrnn_free(NULL, pre);
    *buf = out;
    *len = total;
    return CONVRNN_OK;
}

/* --------------------------------------------------------------------------------------- JSON */
/* A strict RFC 8259 parser into a flat node table (indices, not pointers, so the table can grow).
   Strings are validated as UTF-8 and decoded (escapes, \uXXXX with surrogate pairs; lone
   surrogates are rejected) into one pool allocated up front: a decoded string plus its NUL never
   exceeds its quoted source, so a pool of text length + 1 bytes always suffices. Objects with a
   repeated key are rejected. Nesting is limited to CONVRNN_IO_MAX_JSON_DEPTH. Text length is
   below 2^32 (callers bound it). */
enum { CONVRNN__IO_J_NULL, CONVRNN__IO_J_FALSE, CONVRNN__IO_J_TRUE, CONVRNN__IO_J_NUM, CONVRNN__IO_J_STR, CONVRNN__IO_J_ARR,
       CONVRNN__IO_J_OBJ };

typedef struct convrnn__io_jnode {
    int32_t type, first, next; /* first child / next sibling: -1 if none */
    uint32_t pos;              /* byte offset of the value in the text */
    uint32_t key, klen;        /* object member: key (pool offset, length) */
    uint32_t val, vlen;        /* STR: pool offset, length; NUM: text offset, length; ARR/OBJ: -, count */
} convrnn__io_jnode;

typedef struct convrnn__io_jkey { const char *p; uint32_t n, pos; } convrnn__io_jkey;

typedef struct convrnn__io_json {
    const char *s;
    uint32_t n, i;
    convrnn__io_jnode *nodes;
    int32_t count, cap;
    char *pool;
    uint32_t used;
    convrnn__io_jkey *keys;
    size_t kcap;
    const char *who;
    convrnn_error *err;
} convrnn__io_json;

static void convrnn__io_json_free(convrnn__io_json *j) {
    convrnn_free(NULL, j->nodes);
    convrnn_free(NULL, j->pool);
    convrnn_free(NULL, j->keys);
    j->nodes = NULL; j->pool = NULL; j->keys = NULL;
}

static int32_t convrnn__io_json_new(convrnn__io_json *j, int32_t type) {
    convrnn__io_jnode *nd;
    if (j->count == j->cap) {
        int32_t nc = j->cap < 64 ? 64 : j->cap > 0x3FFFFFFF ? 0x7FFFFFFF : j->cap * 2;
        convrnn__io_jnode *p;
        if (j->count == 0x7FFFFFFF) {
            convrnn_error_set(j->err, CONVRNN_ERR_FORMAT, "%s: JSON has too many values", j->who);
            return -1;
        }
        p = (convrnn__io_jnode *)CONVRNN_REALLOC(NULL, j->nodes, (size_t)nc * sizeof *p);
        if (!p) {
            convrnn_error_set(j->err, CONVRNN_ERR_NOMEM, "%s: out of memory parsing JSON (%ld values)", j->who, (long)j->count);
            return -1;
        }
        j->nodes = p;
        j->cap = nc;
    }
    nd = &j->nodes[j->count];
    nd->type = type;
    nd->first = nd->next = -1;
    nd->pos = j->i;
    nd->key = nd->klen = nd->val = nd->vlen = 0;
    return j->count++;
}

static int32_t convrnn__io_json_bad(convrnn__io_json *j, const char *what) {
    convrnn_error_set(j->err, CONVRNN_ERR_FORMAT, "%s: bad JSON at byte %lu: %s", j->who, (unsigned long)j->i, what);
    return -1;
}

static void convrnn__io_json_ws(convrnn__io_json *j) {
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int convrnn__io_json_hex4(const char *s, uint32_t *v) {
    int k;
    uint32_t x = 0;
    for (k = 0; k < 4; k++) {
        char c = s[k];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *v = x;
    return 1;
}

/* at '"': decode into the pool; returns 0 (error set) on failure */
static int convrnn__io_json_str(convrnn__io_json *j, uint32_t *off, uint32_t *len) {
    char *o0 = j->pool + j->used, *o = o0;
    uint32_t cp, lo;
    size_t k;
    j->i++;
    for (;;) {
        unsigned char c;
        if (j->i >= j->n) { convrnn__io_json_bad(j, "unterminated string"); return 0; }
        c = (unsigned char)j->s[j->i];
        if (c == '"') { j->i++; break; }
        if (c < 0x20) { convrnn__io_json_bad(j, "control character in a string"); return 0; }
        if (c == '\\') {
            if (j->n - j->i < 2) { convrnn__io_json_bad(j, "unterminated string"); return 0; }
            c = (unsigned char)j->s[j->i + 1];
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u':
                if (j->n - j->i < 6 || !convrnn__io_json_hex4(j->s + j->i + 2, &cp)) {
                    convrnn__io_json_bad(j, "bad \\u escape"); return 0;
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) { convrnn__io_json_bad(j, "lone low surrogate in \\u escape"); return 0; }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (j->n - j->i < 12 || j->s[j->i + 6] != '\\' || j->s[j->i + 7] != 'u' ||
                        !convrnn__io_json_hex4(j->s + j->i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                        convrnn__io_json_bad(j, "high surrogate not followed by a low surrogate"); return 0;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j->i += 6;
                }
                if (cp < 0x80) *o++ = (char)cp;
                else if (cp < 0x800) { *o++ = (char)(0xC0 | (cp >> 6)); *o++ = (char)(0x80 | (cp & 0x3F)); }
                else if (cp < 0x10000) {
                    *o++ = (char)(0xE0 | (cp >> 12)); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                    *o++ = (char)(0x80 | (cp & 0x3F));
                } else {
                    *o++ = (char)(0xF0 | (cp >> 18)); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F));
                }
                j->i += 4;
                break;
            default: convrnn__io_json_bad(j, "bad escape in a string"); return 0;
            }
            j->i += 2;
        } else if (c < 0x80) {
            *o++ = (char)c;
            j->i++;
        } else {
            k = convrnn__io_utf8_seq((const unsigned char *)j->s + j->i, j->n - j->i);
            if (!k) { convrnn__io_json_bad(j, "invalid UTF-8 in a string"); return 0; }
            memcpy(o, j->s + j->i, k);
            o += k;
            j->i += (uint32_t)k;
        }
    }
    *o = 0;
    *off = j->used;
    *len = (uint32_t)(o - o0);
    j->used += *len + 1;
    return 1;
}

static int convrnn__io_jkey_cmp(const void *a, const void *b) {
    const convrnn__io_jkey *x = (const convrnn__io_jkey *)a, *y = (const convrnn__io_jkey *)b;
    uint32_t m = x->n < y->n ? x->n : y->n;
    int c = m ? memcmp(x->p, y->p, m) : 0;
    if (c) return c;
    return x->n < y->n ? -1 : x->n > y->n ? 1 : 0;
}

static int32_t convrnn__io_json_val(convrnn__io_json *j, int depth);

static int32_t convrnn__io_json_container(convrnn__io_json *j, int depth, int obj) {
    int32_t node = convrnn__io_json_new(j, obj ? CONVRNN__IO_J_OBJ : CONVRNN__IO_J_ARR), last = -1, child;
    uint32_t count = 0, ko = 0, kl = 0, kpos = 0, c;
    if (node < 0) return -1;
    if (depth >= CONVRNN_IO_MAX_JSON_DEPTH) {
        convrnn_error_set(j->err, CONVRNN_ERR_FORMAT, "%s: JSON nested deeper than %d levels at byte %lu", j->who,
                          CONVRNN_IO_MAX_JSON_DEPTH, (unsigned long)j->i);
        return -1;
    }
    j->i++;
    convrnn__io_json_ws(j);
    if (j->i < j->n && j->s[j->i] == (obj ? '}' : ']')) { j->i++; return node; }
    for (;;) {
        convrnn__io_json_ws(j);
        if (obj) {
            if (j->i >= j->n || j->s[j->i] != '"') return convrnn__io_json_bad(j, "expected a string key");
            kpos = j->i;
            if (!convrnn__io_json_str(j, &ko, &kl)) return -1;
            convrnn__io_json_ws(j);
            if (j->i >= j->n || j->s[j->i] != ':') return convrnn__io_json_bad(j, "expected ':'");
            j->i++;
            convrnn__io_json_ws(j);
        }
        child = convrnn__io_json_val(j, depth + 1);
        if (child < 0) return -1;
        if (obj) { j->nodes[child].key = ko; j->nodes[child].klen = kl; j->nodes[child].pos = kpos; }
        if (last < 0) j->nodes[node].first = child; else j->nodes[last].next = child;
        last = child;
        count++;
        convrnn__io_json_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') { j->i++; continue; }
        if (j->i < j->n && j->s[j->i] == (obj ? '}' : ']')) { j->i++; break; }
        return convrnn__io_json_bad(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    j->nodes[node].vlen = count;
    if (obj && count > 1) { /* reject repeated keys */
        if (count > j->kcap) {
            convrnn__io_jkey *nk = (convrnn__io_jkey *)CONVRNN_REALLOC(NULL, j->keys, (size_t)count * sizeof *nk);
            if (!nk) {
                convrnn_error_set(j->err, CONVRNN_ERR_NOMEM, "%s: out of memory parsing JSON", j->who);
                return -1;
            }
            j->keys = nk;
            j->kcap = count;
        }
        for (c = 0, child = j->nodes[node].first; child >= 0; child = j->nodes[child].next, c++) {
            j->keys[c].p = j->pool + j->nodes[child].key;
            j->keys[c].n = j->nodes[child].klen;
            j->keys[c].pos = j->nodes[child].pos;
        }
        qsort(j->keys, count, sizeof *j->keys, convrnn__io_jkey_cmp);
        for (c = 1; c < count; c++)
            if (convrnn__io_jkey_cmp(&j->keys[c - 1], &j->keys[c]) == 0) {
                uint32_t p2 = j->keys[c].pos > j->keys[c - 1].pos ? j->keys[c].pos : j->keys[c - 1].pos;
                convrnn_error_set(j->err, CONVRNN_ERR_FORMAT, "%s: JSON object has the key \"%.*s\" twice (byte %lu)",
                                  j->who, (int)(j->keys[c].n > 80 ? 80 : j->keys[c].n), j->keys[c].p, (unsigned long)p2);
                return -1;
            }
    }
    return node;
}

static int32_t convrnn__io_json_val(convrnn__io_json *j, int depth) {
    int32_t node;
    uint32_t start;
    char c;
    if (j->i >= j->n) return convrnn__io_json_bad(j, "unexpected end of text");
    c = j->s[j->i];
    if (c == '{' || c == '[') return convrnn__io_json_container(j, depth, c == '{');
    if (c == '"') {
        uint32_t off, len;
        node = convrnn__io_json_new(j, CONVRNN__IO_J_STR);
        if (node < 0 || !convrnn__io_json_str(j, &off, &len)) return -1;
        j->nodes[node].val = off;
        j->nodes[node].vlen = len;
        return node;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        node = convrnn__io_json_new(j, CONVRNN__IO_J_NUM);
        if (node < 0) return -1;
        start = j->i;
        if (j->s[j->i] == '-') j->i++;
        if (j->i < j->n && j->s[j->i] == '0') j->i++;
        else if (j->i < j->n && j->s[j->i] >= '1' && j->s[j->i] <= '9')
            while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') j->i++;
        else return convrnn__io_json_bad(j, "bad number");
        if (j->i < j->n && j->s[j->i] == '.') {
            j->i++;
            if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9') return convrnn__io_json_bad(j, "bad number");
            while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') j->i++;
        }
        if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
            j->i++;
            if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-')) j->i++;
            if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9') return convrnn__io_json_bad(j, "bad number");
            while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') j->i++;
        }
        j->nodes[node].val = start;
        j->nodes[node].vlen = j->i - start;
        return node;
    }
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "true", 4) == 0) {
        node = convrnn__io_json_new(j, CONVRNN__IO_J_TRUE); j->i += 4; return node;
    }
    if (j->n - j->i >= 5 && memcmp(j->s + j->i, "false", 5) == 0) {
        node = convrnn__io_json_new(j, CONVRNN__IO_J_FALSE); j->i += 5; return node;
    }
    if (j->n - j->i >= 4 && memcmp(j->s + j->i, "null", 4) == 0) {
        node = convrnn__io_json_new(j, CONVRNN__IO_J_NULL); j->i += 4; return node;
    }
    return convrnn__io_json_bad(j, "unexpected character");
}

/* Parse text[0..n) (n < 2^32); returns the root node index, or -1 with the error set. On success
   the caller owns j (convrnn__io_json_free). */
static int32_t convrnn__io_json_parse(convrnn__io_json *j, const char *text, uint32_t n, const char *who, convrnn_error *err) {
    int32_t root;
    memset(j, 0, sizeof *j);
    j->s = text;
    j->n = n;
    j->who = who;
    j->err = err;
    j->pool = (char *)convrnn_malloc(NULL, (size_t)n + 1);
    if (!j->pool) {
        convrnn_error_set(err, CONVRNN_ERR_NOMEM, "%s: cannot allocate %lu bytes for JSON strings", who, (unsigned long)n + 1);
        return -1;
    }
    convrnn__io_json_ws(j);
    root = convrnn__io_json_val(j, 0);
    if (root >= 0) {
        convrnn__io_json_ws(j);
        if (j->i != j->n) root = convrnn__io_json_bad(j, "unexpected text after the JSON value");
    }
    if (root < 0) convrnn__io_json_free(j);
    return root;
}

/* A JSON number that is a plain non-negative integer (digits only) fitting in uint64. */
static int convrnn__io_json_u64(const convrnn__io_json *j, int32_t node, uint64_t *v) {
    const convrnn__io_jnode *nd = &j->nodes[node];
    uint64_t x = 0;
    uint32_t k;
    if (nd->type != CONVRNN__IO_J_NUM || nd->vlen == 0) return 0;
    for (k = 0; k < nd->vlen; k++) {
        char c = j->s[nd->val + k];
        if (c < '0' || c > '9') return 0;
        if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10) return 0;
        x = x * 10 + (uint64_t)(c - '0');
    }
    *v = x;
    return 1;
}

/* ------------------------------------------------------------------------------- safetensors */

typedef struct convrnn__io_st_span { uint64_t begin, end; int idx; } convrnn__io_st_span;

static int convrnn__io_st_span_cmp(const void *a, const void *b) {
    const convrnn__io_st_span *x = (const convrnn__io_st_span *)a, *y = (const convrnn__io_st_span *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}
static int convrnn__io_st_name_cmp(const void *a, const void *b) {
    const convrnn_st_tensor *x = *(const convrnn_st_tensor *const *)a, *y = *(const convrnn_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

/* Known safetensors dtype names: 1 = supported (*dt set), -1 = valid but unsupported, 0 = unknown. */
static int convrnn__io_st_dtype(const char *s, uint32_t n, convrnn_dtype *dt) {
    static const char *const unsup[] = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};
    int t;
    size_t k;
    for (t = 0; t < (int)CONVRNN_DT_COUNT; t++) {
        const char *nm = convrnn_dtype_st_name((convrnn_dtype)t);
        if (strlen(nm) == n && memcmp(nm, s, n) == 0) { *dt = (convrnn_dtype)t; return 1; }
    }
    for (k = 0; k < sizeof unsup / sizeof unsup[0]; k++)
        if (strlen(unsup[k]) == n && memcmp(unsup[k], s, n) == 0) return -1;
    return 0;
}

CONVRNNDEF void convrnn_st_free(convrnn_safetensors *st) {
    if (!st) return;
    convrnn_free(NULL, st->tensors);
    convrnn_free(NULL, (void *)st->meta_keys);
    convrnn_free(NULL, (void *)st->meta_values);
    convrnn_free(NULL, st->buf_);
    convrnn_free(NULL, st->strs_);
    convrnn_free(NULL, (void *)st->index_);
    memset(st, 0, sizeof *st);
}

#define CONVRNN__IO_STNAME(t) (int)((t)->klen > 80 ? 80 : (t)->klen), j.pool + (t)->key

/* Parse a file image that this function owns (buf is freed on failure, kept by st on success). */
static convrnn_status convrnn__io_st_parse_owned(unsigned char *buf, size_t len, convrnn_safetensors *st, convrnn_error *err) {
    convrnn__io_json j;
    convrnn__io_st_span *spans = NULL;
    convrnn_st_tensor *sorted = NULL;
    uint64_t hlen64;
    size_t hlen, data_len, pos;
    int32_t root, m, f;
    int ti = 0, mi = 0, k, ntensors, nmeta;
    char shs[96];
    convrnn_status s = CONVRNN_OK;
    convrnn_error local;
    if (!err) err = &local;
    memset(&j, 0, sizeof j);
    memset(st, 0, sizeof *st);
    if (len < 8) {
        s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: %lu bytes is too short for the 8-byte header length",
                              (unsigned long)len);
        goto fail;
    }
    hlen64 = convrnn__io_rd_le64(buf);
    if (hlen64 > CONVRNN_IO_MAX_ST_HEADER) {
        s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: header length %llu exceeds the limit of %u bytes",
                              (unsigned long long)hlen64, (unsigned)CONVRNN_IO_MAX_ST_HEADER);
        goto fail;
    }
    hlen = (size_t)hlen64;
    if (hlen > len - 8) {
        s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: header length %lu exceeds the %lu bytes after the length field",
                              (unsigned long)hlen, (unsigned long)(len - 8));
        goto fail;
    }
    data_len = len - 8 - hlen;
    root = convrnn__io_json_parse(&j, (const char *)buf + 8, (uint32_t)hlen, "safetensors: header", err);
    if (root < 0) { s = err->status; goto fail; }
    if (j.nodes[root].type != CONVRNN__IO_J_OBJ) {
        s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: header is not a JSON object");
        goto fail;
    }
    /* count tensors and metadata entries */
    ntensors = 0;
    nmeta = 0;
    for (m = j.nodes[root].first; m >= 0; m = j.nodes[m].next) {
        if (j.nodes[m].klen == 12 && memcmp(j.pool + j.nodes[m].key, "__metadata__", 12) == 0) {
            if (j.nodes[m].type != CONVRNN__IO_J_OBJ) {
                s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: __metadata__ is not an object");
                goto fail;
            }
            nmeta = (int)j.nodes[m].vlen;
        } else ntensors++;
    }
    st->tensors = (convrnn_st_tensor *)convrnn_calloc(NULL, (size_t)ntensors + 1, sizeof *st->tensors);
    sorted = (convrnn_st_tensor *)convrnn_calloc(NULL, (size_t)ntensors + 1, sizeof *sorted);
    spans = (convrnn__io_st_span *)convrnn_calloc(NULL, (size_t)ntensors + 1, sizeof *spans);
    st->index_ = (const convrnn_st_tensor **)convrnn_calloc(NULL, (size_t)ntensors + 1, sizeof *st->index_);
    st->meta_keys = (const char **)convrnn_calloc(NULL, (size_t)nmeta + 1, sizeof(char *));
    st->meta_values = (const char **)convrnn_calloc(NULL, (size_t)nmeta + 1, sizeof(char *));
    if (!st->tensors || !sorted || !spans || !st->index_ || !st->meta_keys || !st->meta_values) {
        s = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "safetensors: out of memory for %d tensors", ntensors);
        goto fail;
    }
    for (m = j.nodes[root].first; m >= 0; m = j.nodes[m].next) {
        const convrnn__io_jnode *e = &j.nodes[m];
        const char *name = j.pool + e->key;
        int32_t fdt = -1, fshape = -1, foff = -1;
        convrnn_st_tensor *t;
        uint64_t b = 0, en = 0, v;
        size_t count, nbytes;
        const char *why = "";
        if (e->klen == 12 && memcmp(name, "__metadata__", 12) == 0) {
            for (f = e->first; f >= 0; f = j.nodes[f].next) {
                const convrnn__io_jnode *kv = &j.nodes[f];
                if (kv->type != CONVRNN__IO_J_STR) {
                    s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: __metadata__ value of \"%.*s\" is not a string",
                                          CONVRNN__IO_STNAME(kv));
                    goto fail;
                }
                if (strlen(j.pool + kv->key) != kv->klen || strlen(j.pool + kv->val) != kv->vlen) {
                    s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: __metadata__ entry \"%.*s\" contains a NUL character",
                                          CONVRNN__IO_STNAME(kv));
                    goto fail;
                }
                st->meta_keys[mi] = j.pool + kv->key;
                st->meta_values[mi] = j.pool + kv->val;
                mi++;
            }
            continue;
        }
        if (e->klen == 0) { s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: a tensor has an empty name"); goto fail; }
        if (e->klen > CONVRNN_IO_MAX_NAME) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor name '%.*s...' has %lu bytes (limit %d)",
                                  CONVRNN__IO_STNAME(e), (unsigned long)e->klen, CONVRNN_IO_MAX_NAME);
            goto fail;
        }
        if (strlen(name) != e->klen) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor name '%s' contains a NUL character", name);
            goto fail;
        }
        if (e->type != CONVRNN__IO_J_OBJ) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s': entry is not a JSON object", CONVRNN__IO_STNAME(e));
            goto fail;
        }
        for (f = e->first; f >= 0; f = j.nodes[f].next) {
            const convrnn__io_jnode *fl = &j.nodes[f];
            const char *fk = j.pool + fl->key;
            if (fl->klen == 5 && memcmp(fk, "dtype", 5) == 0) fdt = f;
            else if (fl->klen == 5 && memcmp(fk, "shape", 5) == 0) fshape = f;
            else if (fl->klen == 12 && memcmp(fk, "data_offsets", 12) == 0) foff = f;
            else {
                s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s': unexpected field \"%.*s\"",
                                      CONVRNN__IO_STNAME(e), CONVRNN__IO_STNAME(fl));
                goto fail;
            }
        }
        if (fdt < 0 || fshape < 0 || foff < 0) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s' lacks the field '%s'", CONVRNN__IO_STNAME(e),
                                  fdt < 0 ? "dtype" : fshape < 0 ? "shape" : "data_offsets");
            goto fail;
        }
        t = &st->tensors[ti];
        t->name = name;
        if (j.nodes[fdt].type != CONVRNN__IO_J_STR) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s': dtype is not a string", CONVRNN__IO_STNAME(e));
            goto fail;
        }
        k = convrnn__io_st_dtype(j.pool + j.nodes[fdt].val, j.nodes[fdt].vlen, &t->dtype);
        if (k <= 0) {
            s = convrnn_error_set(err, k < 0 ? CONVRNN_ERR_UNSUPPORTED : CONVRNN_ERR_FORMAT,
                                  k < 0 ? "safetensors: tensor '%.*s': dtype %.*s is not supported"
                                        : "safetensors: tensor '%.*s': unknown dtype \"%.*s\"",
                                  CONVRNN__IO_STNAME(e), (int)(j.nodes[fdt].vlen > 16 ? 16 : j.nodes[fdt].vlen),
                                  j.pool + j.nodes[fdt].val);
            goto fail;
        }
        if (j.nodes[fshape].type != CONVRNN__IO_J_ARR) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s': shape is not an array", CONVRNN__IO_STNAME(e));
            goto fail;
        }
        if (j.nodes[fshape].vlen > CONVRNN_IO_MAX_NDIM) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s' has %lu dimensions (limit %d)",
                                  CONVRNN__IO_STNAME(e), (unsigned long)j.nodes[fshape].vlen, CONVRNN_IO_MAX_NDIM);
            goto fail;
        }
        t->ndim = 0;
        for (f = j.nodes[fshape].first; f >= 0; f = j.nodes[f].next) {
            if (!convrnn__io_json_u64(&j, f, &v) || v >= (uint64_t)CONVRNN_IO_MAX_DIM) {
                s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                                      "safetensors: tensor '%.*s': shape entry %d is not an integer in [0, 2^40)",
                                      CONVRNN__IO_STNAME(e), t->ndim);
                goto fail;
            }
            t->shape[t->ndim++] = (int64_t)v;
        }
        if (!convrnn__io_shape_size(t->ndim, t->shape, convrnn_dtype_size(t->dtype), &count, &nbytes, &why)) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s' of shape %s: %s", CONVRNN__IO_STNAME(e),
                                  convrnn__io_shape_str(shs, sizeof shs, t->ndim, t->shape), why);
            goto fail;
        }
        if (j.nodes[foff].type != CONVRNN__IO_J_ARR || j.nodes[foff].vlen != 2 ||
            !convrnn__io_json_u64(&j, j.nodes[foff].first, &b) || !convrnn__io_json_u64(&j, j.nodes[j.nodes[foff].first].next, &en)) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                                  "safetensors: tensor '%.*s': data_offsets is not an array of two non-negative integers",
                                  CONVRNN__IO_STNAME(e));
            goto fail;
        }
        if (b > en) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT, "safetensors: tensor '%.*s': data_offsets [%llu, %llu] are reversed",
                                  CONVRNN__IO_STNAME(e), (unsigned long long)b, (unsigned long long)en);
            goto fail;
        }
        if (en > (uint64_t)data_len) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                                  "safetensors: tensor '%.*s' data_offsets [%llu, %llu] exceed data section of %lu bytes",
                                  CONVRNN__IO_STNAME(e), (unsigned long long)b, (unsigned long long)en, (unsigned long)data_len);
            goto fail;
        }
        if (en - b != (uint64_t)nbytes) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                                  "safetensors: tensor '%.*s': %s %s needs %lu bytes but data_offsets [%llu, %llu] span %llu",
                                  CONVRNN__IO_STNAME(e), convrnn_dtype_st_name(t->dtype),
                                  convrnn__io_shape_str(shs, sizeof shs, t->ndim, t->shape), (unsigned long)nbytes,
                                  (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b));
            goto fail;
        }
        t->nbytes = nbytes;
        t->count = count;
        t->data = buf + 8 + hlen + (size_t)b;
        spans[ti].begin = b;
        spans[ti].end = en;
        spans[ti].idx = ti;
        ti++;
    }
    /* the data section must be covered exactly: sorted by offset, each tensor starts where the
       previous one ended, and the last ends at the end of the buffer */
    qsort(spans, (size_t)ntensors, sizeof *spans, convrnn__io_st_span_cmp);
    pos = 0;
    for (k = 0; k < ntensors; k++) {
        const convrnn_st_tensor *t = &st->tensors[spans[k].idx];
        if (spans[k].begin < (uint64_t)pos) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                                  "safetensors: tensor '%.80s' data_offsets [%llu, %llu] overlap tensor '%.80s' (ends at %lu)",
                                  t->name, (unsigned long long)spans[k].begin, (unsigned long long)spans[k].end,
                                  st->tensors[spans[k - 1].idx].name, (unsigned long)pos);
            goto fail;
        }
        if (spans[k].begin > (uint64_t)pos) {
            s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                                  "safetensors: data bytes [%lu, %llu) belong to no tensor (next is '%.80s')",
                                  (unsigned long)pos, (unsigned long long)spans[k].begin, t->name);
            goto fail;
        }
        pos = (size_t)spans[k].end;
    }
    if (pos != data_len) {
        s = convrnn_error_set(err, CONVRNN_ERR_FORMAT,
                              "safetensors: the last %lu of the %lu data bytes belong to no tensor",
                              (unsigned long)(data_len - pos), (unsigned long)data_len);
        goto fail;
    }
    for (k = 0; k < ntensors; k++) sorted[k] = st->tensors[spans[k].idx];
    convrnn_free(NULL, st->tensors);
    st->tensors = sorted;
    sorted = NULL;
    for (k = 0; k < ntensors; k++) st->index_[k] = &st->tensors[k];
    qsort((void *)st->index_, (size_t)ntensors, sizeof *st->index_, convrnn__io_st_name_cmp);
    st->count = ntensors;
    st->meta_count = mi;
    st->buf_ = buf;
    st->len_ = len;
    st->strs_ = j.pool;
    j.pool = NULL;
    convrnn__io_json_free(&j);
    convrnn_free(NULL, spans);
    return CONVRNN_OK;
fail:
    convrnn__io_json_free(&j);
    convrnn_free(NULL, spans);
    convrnn_free(NULL, sorted);
    convrnn_st_free(st);
    convrnn_free(NULL, buf);
    return s;
}
#undef CONVRNN__IO_STNAME

CONVRNNDEF convrnn_status convrnn_st_parse(const void *buf, size_t len, convrnn_safetensors *st, convrnn_error *err) {
    unsigned char *copy;
    if (!st) return convrnn_error_set(err, CONVRNN_ERR_ARG, "safetensors: NULL output");
    memset(st, 0, sizeof *st);
    if (!buf && len) return convrnn_error_set(err, CONVRNN_ERR_ARG, "safetensors: NULL buffer");
    copy = (unsigned char *)convrnn_malloc(NULL, len);
    if (!copy) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "safetensors: cannot allocate %lu bytes", (unsigned long)len);
    if (len) memcpy(copy, buf, len);
    return convrnn__io_st_parse_owned(copy, len, st, err);
}

CONVRNNDEF const convrnn_st_tensor *convrnn_st_find(const convrnn_safetensors *st, const char *name) {
    int lo = 0, hi, mid, c;
    if (!st || !name || !st->index_) return NULL;
    hi = st->count - 1;
    while (lo <= hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(name, st->index_[mid]->name);
        if (c == 0) return st->index_[mid];
        if (c < 0) hi = mid - 1; else lo = mid + 1;
    }
    return NULL;
}

CONVRNNDEF const char *convrnn_st_meta(const convrnn_safetensors *st, const char *key) {
    int i;
    if (!st || !key) return NULL;
    for (i = 0; i < st->meta_count; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

static convrnn_status convrnn__io_st_to(const convrnn_st_tensor *t, double *d64, float *d32, size_t count, convrnn_error *err) {
    const char *who = d32 ? "st_tensor_to_f32" : "st_tensor_to_f64";
    size_t nb;
    if (!t) return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: NULL tensor", who);
    if (!convrnn__io_dtype_ok(t->dtype) || t->ndim < 0 || t->ndim > CONVRNN_IO_MAX_NDIM ||
        !convrnn_size_mul(t->count, convrnn_dtype_size(t->dtype), &nb) || nb != t->nbytes || (nb && !t->data))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: inconsistent tensor record", who);
    if (!convrnn__io_dtype_convertible(t->dtype))
        return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "%s: tensor '%.80s' is %s, which cannot be converted", who,
                                 t->name ? t->name : "", convrnn_dtype_st_name(t->dtype));
    if (count != t->count)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "%s: tensor '%.80s' has %lu elements, the destination %lu", who,
                                 t->name ? t->name : "", (unsigned long)t->count, (unsigned long)count);
    convrnn__io_convert(t->dtype, t->data, count, !convrnn__io_host_le(), d64, d32);
    return CONVRNN_OK;
}
CONVRNNDEF convrnn_status convrnn_st_tensor_to_f32(const convrnn_st_tensor *t, float *dst, size_t count, convrnn_error *err) {
    float dummy;
    if (!dst && count) return convrnn_error_set(err, CONVRNN_ERR_ARG, "st_tensor_to_f32: NULL destination");
    return convrnn__io_st_to(t, NULL, dst ? dst : &dummy, count, err);
}
CONVRNNDEF convrnn_status convrnn_st_tensor_to_f64(const convrnn_st_tensor *t, double *dst, size_t count, convrnn_error *err) {
    double dummy;
    if (!dst && count) return convrnn_error_set(err, CONVRNN_ERR_ARG, "st_tensor_to_f64: NULL destination");
    return convrnn__io_st_to(t, dst ? dst : &dummy, NULL, count, err);
}

/* ------------------------------------------------------------------------- safetensors writer */

typedef struct convrnn__io_sb { char *p; size_t n, cap; int bad; } convrnn__io_sb;

static void convrnn__io_sb_put(convrnn__io_sb *b, const char *s, size_t n) {
    size_t need;
    if (b->bad) return;
    if (!convrnn_size_add(b->n, n, &need) || !convrnn_size_add(need, 1, &need)) { b->bad = 1; return; }
    if (need > b->cap) {
        size_t nc = b->cap < 256 ? 256 : b->cap;
        char *np;
        while (nc < need) {
            if (nc > (size_t)-1 / 2) { nc = need; break; }
            nc *= 2;
        }
        np = (char *)CONVRNN_REALLOC(NULL, b->p, nc);
        if (!np) { b->bad = 1; return; }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void convrnn__io_sb_cstr(convrnn__io_sb *b, const char *s) { convrnn__io_sb_put(b, s, strlen(s)); }
static void convrnn__io_sb_u64(convrnn__io_sb *b, uint64_t v) {
    char t[24];
    int k = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    convrnn__io_sb_put(b, t, (size_t)k);
}
/* a JSON string literal (s is valid UTF-8) */
static void convrnn__io_sb_jstr(convrnn__io_sb *b, const char *s) {
    const char *run = s;
    convrnn__io_sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[8];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) { snprintf(u, sizeof u, "\\u%04x", (unsigned)c); esc = u; }
        if (esc) {
            convrnn__io_sb_put(b, run, (size_t)(s - run));
            convrnn__io_sb_cstr(b, esc);
            run = s + 1;
        }
    }
    convrnn__io_sb_put(b, run, (size_t)(s - run));
    convrnn__io_sb_put(b, "\"", 1);
}

CONVRNNDEF void convrnn_st_writer_init(convrnn_st_writer *w) {
    if (w) memset(w, 0, sizeof *w);
}

CONVRNNDEF void convrnn_st_writer_free(convrnn_st_writer *w) {
    int i;
    if (!w) return;
    for (i = 0; i < w->count; i++) convrnn_free(NULL, (void *)w->tensors[i].name);
    for (i = 0; i < w->meta_count; i++) { convrnn_free(NULL, w->meta_keys[i]); convrnn_free(NULL, w->meta_values[i]); }
    convrnn_free(NULL, w->tensors);
    convrnn_free(NULL, w->meta_keys);
    convrnn_free(NULL, w->meta_values);
    memset(w, 0, sizeof *w);
}

/* record the first error of a writer and return s */
static convrnn_status convrnn__io_stw_fail(convrnn_st_writer *w, convrnn_status s, const char *what, const char *name) {
    if (w && w->err.status == CONVRNN_OK)
        convrnn_error_set(&w->err, s, "safetensors writer: %s%s%.80s%s", what, name ? " '" : "", name ? name : "", name ? "'" : "");
    return s;
}

static char *convrnn__io_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)convrnn_malloc(NULL, n);
    if (p) memcpy(p, s, n);
    return p;
}

CONVRNNDEF convrnn_status convrnn_st_writer_add(convrnn_st_writer *w, const char *name, convrnn_dtype dtype,
                                                int ndim, const int64_t *shape, const void *data) {
    convrnn_st_tensor *t;
    size_t count, nbytes, nl;
    const char *why = "";
    int i;
    if (!w) return CONVRNN_ERR_ARG;
    if (!name) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "NULL tensor name", NULL);
    nl = strlen(name);
    if (nl == 0 || nl > CONVRNN_IO_MAX_NAME || !convrnn__io_utf8_valid(name, nl))
        return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "name is empty, too long or not UTF-8:", name);
    if (strcmp(name, "__metadata__") == 0) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "reserved tensor name", name);
    if (!convrnn__io_dtype_ok(dtype)) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "invalid dtype for tensor", name);
    if (ndim < 0 || ndim > CONVRNN_IO_MAX_NDIM || (ndim > 0 && !shape))
        return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "bad ndim or NULL shape for tensor", name);
    if (!convrnn__io_shape_size(ndim, shape, convrnn_dtype_size(dtype), &count, &nbytes, &why))
        return convrnn__io_stw_fail(w, CONVRNN_ERR_SHAPE, "shape out of range (dims in [0, 2^40), size in size_t) for tensor", name);
    if (nbytes && !data) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "NULL data for tensor", name);
    for (i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "duplicate tensor", name);
    if (w->count == w->cap) {
        int nc = w->cap < 16 ? 16 : w->cap * 2;
        convrnn_st_tensor *nt;
        if (w->cap > 0x3FFFFFFF) return convrnn__io_stw_fail(w, CONVRNN_ERR_OVERFLOW, "too many tensors at", name);
        nt = (convrnn_st_tensor *)CONVRNN_REALLOC(NULL, w->tensors, (size_t)nc * sizeof *nt);
        if (!nt) return convrnn__io_stw_fail(w, CONVRNN_ERR_NOMEM, "out of memory adding", name);
        w->tensors = nt;
        w->cap = nc;
    }
    t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    t->name = convrnn__io_strdup(name);
    if (!t->name) return convrnn__io_stw_fail(w, CONVRNN_ERR_NOMEM, "out of memory adding", name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = nbytes;
    t->count = count;
    t->data = data;
    w->count++;
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_st_writer_meta(convrnn_st_writer *w, const char *key, const char *value) {
    int i;
    char *k, *v;
    if (!w) return CONVRNN_ERR_ARG;
    if (!key || !value) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "NULL metadata key or value", NULL);
    if (!convrnn__io_utf8_valid(key, strlen(key)) || !convrnn__io_utf8_valid(value, strlen(value)))
        return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "metadata key or value is not UTF-8:", key);
    for (i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta_keys[i], key) == 0) return convrnn__io_stw_fail(w, CONVRNN_ERR_ARG, "duplicate metadata key", key);
    if (w->meta_count == w->meta_cap) {
        int nc = w->meta_cap < 8 ? 8 : w->meta_cap * 2;
        char **nk, **nv;
        if (w->meta_cap > 0x3FFFFFFF) return convrnn__io_stw_fail(w, CONVRNN_ERR_OVERFLOW, "too many metadata entries at", key);
        nk = (char **)CONVRNN_REALLOC(NULL, w->meta_keys, (size_t)nc * sizeof *nk);
        if (!nk) return convrnn__io_stw_fail(w, CONVRNN_ERR_NOMEM, "out of memory adding metadata", key);
        w->meta_keys = nk;
        nv = (char **)CONVRNN_REALLOC(NULL, w->meta_values, (size_t)nc * sizeof *nv);
        if (!nv) return convrnn__io_stw_fail(w, CONVRNN_ERR_NOMEM, "out of memory adding metadata", key);
        w->meta_values = nv;
        w->meta_cap = nc;
    }
    k = convrnn__io_strdup(key);
    v = convrnn__io_strdup(value);
    if (!k || !v) {
        convrnn_free(NULL, k);
        convrnn_free(NULL, v);
        return convrnn__io_stw_fail(w, CONVRNN_ERR_NOMEM, "out of memory adding metadata", key);
    }
    w->meta_keys[w->meta_count] = k;
    w->meta_values[w->meta_count] = v;
    w->meta_count++;
    return CONVRNN_OK;
}

/* The 8-byte length plus the padded JSON header, in a new buffer; *data_len: the data section. */
static convrnn_status convrnn__io_stw_header(convrnn_st_writer *w, unsigned char **hdr, size_t *hdr_len, size_t *data_len,
                                         convrnn_error *err) {
    convrnn__io_sb b;
    size_t off = 0, hl;
    int i, d;
    *hdr = NULL;
    if (!w) return convrnn_error_set(err, CONVRNN_ERR_ARG, "safetensors writer: NULL writer");
    if (w->err.status) return convrnn_error_set(err, w->err.status, "%s", w->err.msg);
    memset(&b, 0, sizeof b);
    convrnn__io_sb_put(&b, "\0\0\0\0\0\0\0\0{", 9);
    if (w->meta_count) {
        convrnn__io_sb_cstr(&b, "\"__metadata__\":{");
        for (i = 0; i < w->meta_count; i++) {
            if (i) convrnn__io_sb_put(&b, ",", 1);
            convrnn__io_sb_jstr(&b, w->meta_keys[i]);
            convrnn__io_sb_put(&b, ":", 1);
            convrnn__io_sb_jstr(&b, w->meta_values[i]);
        }
        convrnn__io_sb_put(&b, "}", 1);
    }
    for (i = 0; i < w->count; i++) {
        const convrnn_st_tensor *t = &w->tensors[i];
        if (i || w->meta_count) convrnn__io_sb_put(&b, ",", 1);
        convrnn__io_sb_jstr(&b, t->name);
        convrnn__io_sb_cstr(&b, ":{\"dtype\":\"");
        convrnn__io_sb_cstr(&b, convrnn_dtype_st_name(t->dtype));
        convrnn__io_sb_cstr(&b, "\",\"shape\":[");
        for (d = 0; d < t->ndim; d++) {
            if (d) convrnn__io_sb_put(&b, ",", 1);
            convrnn__io_sb_u64(&b, (uint64_t)t->shape[d]);
        }
        convrnn__io_sb_cstr(&b, "],\"data_offsets\":[");
        convrnn__io_sb_u64(&b, (uint64_t)off);
        convrnn__io_sb_put(&b, ",", 1);
        if (!convrnn_size_add(off, t->nbytes, &off)) b.bad = 2;
        convrnn__io_sb_u64(&b, (uint64_t)off);
        convrnn__io_sb_cstr(&b, "]}");
    }
    convrnn__io_sb_put(&b, "}", 1);
    while (!b.bad && (b.n - 8) % 8 != 0) convrnn__io_sb_put(&b, " ", 1);
    if (b.bad) {
        convrnn_free(NULL, b.p);
        return b.bad == 2 ? convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "safetensors writer: total data size overflows")
                          : convrnn_error_set(err, CONVRNN_ERR_NOMEM, "safetensors writer: out of memory building the header");
    }
    hl = b.n - 8;
    if (hl > CONVRNN_IO_MAX_ST_HEADER) {
        convrnn_free(NULL, b.p);
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "safetensors writer: header of %lu bytes exceeds the format limit",
                                 (unsigned long)hl);
    }
    convrnn__io_wr_le64((unsigned char *)b.p, (uint64_t)hl);
    *hdr = (unsigned char *)b.p;
    *hdr_len = b.n;
    *data_len = off;
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_st_writer_to_buffer(convrnn_st_writer *w, void **buf, size_t *len, convrnn_error *err) {
    unsigned char *hdr = NULL, *out;
    size_t hl = 0, dl = 0, total, off;
    int i;
    convrnn_status s;
    if (!buf || !len) return convrnn_error_set(err, CONVRNN_ERR_ARG, "safetensors writer: NULL output");
    *buf = NULL;
    *len = 0;
    s = convrnn__io_stw_header(w, &hdr, &hl, &dl, err);
    if (s) return s;
    if (!convrnn_size_add(hl, dl, &total)) {
        convrnn_free(NULL, hdr);
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "safetensors writer: file size overflows");
    }
    out = (unsigned char *)convrnn_malloc(NULL, total);
    if (!out) {
        convrnn_free(NULL, hdr);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "safetensors writer: cannot allocate %lu bytes", (unsigned long)total);
    }
    memcpy(out, hdr, hl);
    convrnn_free(NULL, hdr);
    off = hl;
    for (i = 0; i < w->count; i++) {
        const convrnn_st_tensor *t = &w->tensors[i];
        if (t->nbytes) memcpy(out + off, t->data, t->nbytes);
        if (!convrnn__io_host_le()) convrnn__io_bswap_n(out + off, t->count, convrnn_dtype_size(t->dtype));
        off += t->nbytes;
    }
    *buf = out;
    *len = total;
    return CONVRNN_OK;
}

/* ------------------------------------------------------------------------------ image data sets */

CONVRNNDEF void convrnn_dataset_free(convrnn_dataset *ds) {
    if (!ds) return;
    convrnn_free(NULL, ds->images);
    convrnn_free(NULL, ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* allocate images and labels for n records of h*w*c pixels */
static convrnn_status convrnn__io_ds_alloc(convrnn_dataset *ds, size_t n, size_t h, size_t w, size_t c, int k,
                                        const char *who, convrnn_error *err) {
    size_t px, lb;
    memset(ds, 0, sizeof *ds);
    if (n > 0x7FFFFFFF || !convrnn_size_mul(n, h, &px) || !convrnn_size_mul(px, w, &px) || !convrnn_size_mul(px, c, &px) ||
        !convrnn_size_mul(n, sizeof(int32_t), &lb))
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "%s: %lu images of %lu x %lu x %lu overflow", who, (unsigned long)n,
                                 (unsigned long)h, (unsigned long)w, (unsigned long)c);
    ds->images = (uint8_t *)convrnn_malloc(NULL, px);
    ds->labels = (int32_t *)convrnn_malloc(NULL, lb);
    if (!ds->images || !ds->labels) {
        convrnn_dataset_free(ds);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "%s: cannot allocate %lu bytes of images", who, (unsigned long)px);
    }
    ds->n = (int)n;
    ds->h = (int)h;
    ds->w = (int)w;
    ds->c = (int)c;
    ds->num_classes = k;
    return CONVRNN_OK;
}

/* the IDX magic for uint8 with nd dimensions; FORMAT or UNSUPPORTED otherwise */
static convrnn_status convrnn__io_idx_magic(const unsigned char *p, size_t len, int nd, size_t hdr, const char *what,
                                         convrnn_error *err) {
    uint32_t magic;
    if (!p || len < hdr)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: %s: %lu bytes is too short for the %lu-byte header", what,
                                 (unsigned long)(p ? len : 0), (unsigned long)hdr);
    magic = convrnn__io_rd_be32(p);
    if ((magic >> 16) != 0)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: %s: bad magic 0x%08lx (expected 0x%08x)", what,
                                 (unsigned long)magic, 0x800u | (unsigned)nd);
    if (p[2] != 0x08) {
        if (p[2] == 0x09 || (p[2] >= 0x0B && p[2] <= 0x0E))
            return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "idx: %s: element type 0x%02x is not supported (only unsigned byte)",
                                     what, p[2]);
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: %s: bad magic 0x%08lx (unknown element type)", what,
                                 (unsigned long)magic);
    }
    if (p[3] != nd)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: %s: %d dimensions, expected %d (magic 0x%08x)", what, p[3], nd,
                                 0x800u | (unsigned)nd);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_idx_parse(const void *images, size_t images_len, const void *labels, size_t labels_len,
                                            int num_classes, convrnn_dataset *ds, convrnn_error *err) {
    const unsigned char *im = (const unsigned char *)images, *lb = (const unsigned char *)labels;
    uint32_t n, rows, cols, nl;
    size_t px, need;
    convrnn_status s;
    uint32_t i;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "idx: NULL output");
    memset(ds, 0, sizeof *ds);
    if (num_classes < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "idx: num_classes %d is not positive", num_classes);
    s = convrnn__io_idx_magic(im, images_len, 3, 16, "images", err);
    if (s) return s;
    s = convrnn__io_idx_magic(lb, labels_len, 1, 8, "labels", err);
    if (s) return s;
    n = convrnn__io_rd_be32(im + 4);
    rows = convrnn__io_rd_be32(im + 8);
    cols = convrnn__io_rd_be32(im + 12);
    nl = convrnn__io_rd_be32(lb + 4);
    if (n > 0x7FFFFFFFu) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: images: count %lu exceeds 2^31-1", (unsigned long)n);
    if (rows < 1 || rows > 65535 || cols < 1 || cols > 65535)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: images: %lu x %lu pixels is outside 1..65535", (unsigned long)rows,
                                 (unsigned long)cols);
    if (nl != n)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: %lu labels for %lu images", (unsigned long)nl, (unsigned long)n);
    if (!convrnn_size_mul((size_t)rows * cols, n, &px) || !convrnn_size_add(px, 16, &need))
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: images: %lu x %lu x %lu overflows", (unsigned long)n,
                                 (unsigned long)rows, (unsigned long)cols);
    if (need != images_len)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: images: %lu x %lu x %lu needs %lu bytes, the buffer has %lu",
                                 (unsigned long)n, (unsigned long)rows, (unsigned long)cols, (unsigned long)need,
                                 (unsigned long)images_len);
    if (labels_len - 8 != (size_t)n)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: labels: %lu labels need %lu bytes, the buffer has %lu",
                                 (unsigned long)n, (unsigned long)n + 8, (unsigned long)labels_len);
    for (i = 0; i < n; i++)
        if ((int)lb[8 + i] >= num_classes)
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "idx: labels: label %d of image %lu is not below num_classes %d", lb[8 + i],
                                     (unsigned long)i, num_classes);
    s = convrnn__io_ds_alloc(ds, n, rows, cols, 1, num_classes, "idx", err);
    if (s) return s;
    if (px) memcpy(ds->images, im + 16, px);
    for (i = 0; i < n; i++) ds->labels[i] = lb[8 + i];
    return CONVRNN_OK;
}

#define CONVRNN__IO_CIFAR_REC 3073
CONVRNNDEF convrnn_status convrnn_cifar10_parse(const void *buf, size_t len, convrnn_dataset *ds, convrnn_error *err) {
    const unsigned char *p = (const unsigned char *)buf, *r;
    size_t n, i, y, x, ch;
    uint8_t *img;
    convrnn_status s;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "cifar10: NULL output");
    memset(ds, 0, sizeof *ds);
    if (!p || len == 0 || len % CONVRNN__IO_CIFAR_REC != 0)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "cifar10: %lu bytes is not a positive multiple of the %d-byte record",
                                 (unsigned long)(p ? len : 0), CONVRNN__IO_CIFAR_REC);
    n = len / CONVRNN__IO_CIFAR_REC;
    if (n > 0x7FFFFFFF) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "cifar10: %lu records exceed 2^31-1", (unsigned long)n);
    for (i = 0; i < n; i++)
        if (p[i * CONVRNN__IO_CIFAR_REC] >= 10)
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "cifar10: label %d of record %lu is not below 10",
                                     p[i * CONVRNN__IO_CIFAR_REC], (unsigned long)i);
    s = convrnn__io_ds_alloc(ds, n, 32, 32, 3, 10, "cifar10", err);
    if (s) return s;
    for (i = 0; i < n; i++) {
        r = p + i * CONVRNN__IO_CIFAR_REC;
        ds->labels[i] = r[0];
        img = ds->images + i * 3072;
        for (ch = 0; ch < 3; ch++)
            for (y = 0; y < 32; y++)
                for (x = 0; x < 32; x++) img[(y * 32 + x) * 3 + ch] = r[1 + ch * 1024 + y * 32 + x];
    }
    return CONVRNN_OK;
}

/* shard header fields, validated; *rec = bytes per record */
static convrnn_status convrnn__io_shard_dims(uint32_t count, uint32_t h, uint32_t w, uint32_t c, uint32_t k, size_t *rec,
                                         size_t *total, convrnn_error *err) {
    size_t px, t;
    if (count > 0x7FFFFFFFu) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: count %lu exceeds 2^31-1", (unsigned long)count);
    if (h < 1 || h > 65535 || w < 1 || w > 65535)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: image size %lu x %lu is outside 1..65535", (unsigned long)h,
                                 (unsigned long)w);
    if (c < 1 || c > 64) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: %lu channels is outside 1..64", (unsigned long)c);
    if (k < 1 || k > (1u << 24))
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: num_classes %lu is outside 1..2^24", (unsigned long)k);
    px = (size_t)h * (size_t)w; /* < 2^32 */
    if (!convrnn_size_mul(px, c, &px) || !convrnn_size_add(px, 4, rec) || !convrnn_size_mul(*rec, count, &t) ||
        !convrnn_size_add(t, CONVRNN_SHARD_HEADER_BYTES, total))
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: %lu records of %lu x %lu x %lu overflow", (unsigned long)count,
                                 (unsigned long)h, (unsigned long)w, (unsigned long)c);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_shard_parse(const void *buf, size_t len, convrnn_dataset *ds, convrnn_error *err) {
    const unsigned char *p = (const unsigned char *)buf;
    uint32_t ver, count, h, w, c, k, lab;
    size_t rec = 0, total = 0, i;
    convrnn_status s;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: NULL output");
    memset(ds, 0, sizeof *ds);
    if (!p || len < CONVRNN_SHARD_HEADER_BYTES)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: %lu bytes is too short for the %d-byte header",
                                 (unsigned long)(p ? len : 0), CONVRNN_SHARD_HEADER_BYTES);
    if (memcmp(p, "CRNSHRD1", 8) != 0) return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: bad magic (expected \"CRNSHRD1\")");
    ver = convrnn__io_rd_le32(p + 8);
    if (ver != 1) return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "shard: version %lu is not supported (1 is)", (unsigned long)ver);
    count = convrnn__io_rd_le32(p + 12);
    h = convrnn__io_rd_le32(p + 16);
    w = convrnn__io_rd_le32(p + 20);
    c = convrnn__io_rd_le32(p + 24);
    k = convrnn__io_rd_le32(p + 28);
    s = convrnn__io_shard_dims(count, h, w, c, k, &rec, &total, err);
    if (s) return s;
    if (total != len)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: %lu records of %lu bytes need %lu bytes, the buffer has %lu",
                                 (unsigned long)count, (unsigned long)rec, (unsigned long)total, (unsigned long)len);
    for (i = 0; i < count; i++) {
        lab = convrnn__io_rd_le32(p + CONVRNN_SHARD_HEADER_BYTES + i * rec);
        if (lab >= k)
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "shard: label %lu of record %lu is not below num_classes %lu",
                                     (unsigned long)lab, (unsigned long)i, (unsigned long)k);
    }
    s = convrnn__io_ds_alloc(ds, count, h, w, c, (int)k, "shard", err);
    if (s) return s;
    for (i = 0; i < count; i++) {
        const unsigned char *r = p + CONVRNN_SHARD_HEADER_BYTES + i * rec;
        ds->labels[i] = (int32_t)convrnn__io_rd_le32(r);
        memcpy(ds->images + i * (rec - 4), r + 4, rec - 4);
    }
    return CONVRNN_OK;
}

/* validate a caller's data set for writing; fills the 32-byte header */
static convrnn_status convrnn__io_shard_check(const convrnn_dataset *ds, unsigned char hdr[CONVRNN_SHARD_HEADER_BYTES],
                                          size_t *rec, size_t *total, convrnn_error *err) {
    int i;
    convrnn_status s;
    convrnn_error e;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: NULL data set");
    if (ds->n < 0 || ds->h < 0 || ds->w < 0 || ds->c < 0 || ds->num_classes < 0)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: negative size in the data set");
    s = convrnn__io_shard_dims((uint32_t)ds->n, (uint32_t)ds->h, (uint32_t)ds->w, (uint32_t)ds->c, (uint32_t)ds->num_classes, rec,
                            total, &e);
    if (s) return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s", e.msg);
    if (ds->n > 0 && (!ds->images || !ds->labels)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: NULL images or labels");
    for (i = 0; i < ds->n; i++)
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->num_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: label %ld of record %d is outside [0, %d)", (long)ds->labels[i], i,
                                     ds->num_classes);
    memcpy(hdr, "CRNSHRD1", 8);
    convrnn__io_wr_le32(hdr + 8, 1);
    convrnn__io_wr_le32(hdr + 12, (uint32_t)ds->n);
    convrnn__io_wr_le32(hdr + 16, (uint32_t)ds->h);
    convrnn__io_wr_le32(hdr + 20, (uint32_t)ds->w);
    convrnn__io_wr_le32(hdr + 24, (uint32_t)ds->c);
    convrnn__io_wr_le32(hdr + 28, (uint32_t)ds->num_classes);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_shard_to_buffer(const convrnn_dataset *ds, void **buf, size_t *len, convrnn_error *err) {
    unsigned char hdr[CONVRNN_SHARD_HEADER_BYTES], *out, *r;
    size_t rec = 0, total = 0;
    int i;
    convrnn_status s;
    if (!buf || !len) return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: NULL output");
    *buf = NULL;
    *len = 0;
    s = convrnn__io_shard_check(ds, hdr, &rec, &total, err);
    if (s) return s;
    out = (unsigned char *)convrnn_malloc(NULL, total);
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "shard: cannot allocate %lu bytes", (unsigned long)total);
    memcpy(out, hdr, sizeof hdr);
    for (i = 0; i < ds->n; i++) {
        r = out + CONVRNN_SHARD_HEADER_BYTES + (size_t)i * rec;
        convrnn__io_wr_le32(r, (uint32_t)ds->labels[i]);
        memcpy(r + 4, ds->images + (size_t)i * (rec - 4), rec - 4);
    }
    *buf = out;
    *len = total;
    return CONVRNN_OK;
}

/* -------------------------------------------------------------------------------------- files */
#ifndef CONVRNN_NO_STDIO

/* fsync: declared here rather than through <unistd.h>/<fcntl.h> so that strict -std=c99 builds
   (which hide POSIX declarations) still get it. These match the POSIX prototypes; O_RDONLY is 0
   on every POSIX system. Define CONVRNN_NO_FSYNC to skip it. */
#if !defined(CONVRNN_NO_FSYNC) && (defined(__unix__) || defined(__APPLE__))
#define CONVRNN__IO_FSYNC 1
#ifdef __cplusplus
extern "C" {
#endif
int open(const char *path, int flags, ...);
int fsync(int fd);
int close(int fd);
#ifdef __cplusplus
}
#endif
/* fsync a file or directory by path; 0 on success */
static int convrnn__io_fsync_path(const char *path) {
    int fd = open(path, 0 /* O_RDONLY */), r;
    if (fd < 0) return -1;
    r = fsync(fd);
    if (close(fd) != 0) r = -1;
    return r;
}
#endif

typedef struct convrnn__io_piece { const void *p; size_t n; } convrnn__io_piece;

/* Write pieces to a fresh temporary file next to path, flush, fsync, rename over path. */
static convrnn_status convrnn__io_write_atomic(const char *path, const convrnn__io_piece *pc, size_t np, convrnn_error *err) {
    size_t plen, i;
    char *tmp;
    FILE *f = NULL, *probe;
    uint64_t seed;
    int attempt;
    convrnn_status s = CONVRNN_OK;
    if (!path || !*path) return convrnn_error_set(err, CONVRNN_ERR_ARG, "write: empty path");
    plen = strlen(path);
    tmp = (char *)convrnn_malloc(NULL, plen + 32);
    if (!tmp) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "write: out of memory");
    /* a per-process, per-call name: addresses differ between processes (ASLR) and calls */
    seed = (uint64_t)(size_t)tmp ^ ((uint64_t)(size_t)&seed << 17) ^ ((uint64_t)(size_t)pc << 7) ^ (uint64_t)np;
    for (attempt = 0; attempt < 100; attempt++) {
        uint32_t r = (uint32_t)(convrnn__splitmix(&seed) >> 32);
        snprintf(tmp, plen + 32, "%s.tmp-%08lx", path, (unsigned long)r);
#if defined(_WIN32)
        probe = fopen(tmp, "rb");
        if (probe) { fclose(probe); continue; }
        f = fopen(tmp, "wb");
#else
        f = fopen(tmp, "wbx"); /* exclusive create (C11, and glibc/BSD/macOS in any mode) */
#endif
        if (f) break;
        probe = fopen(tmp, "rb");
        if (!probe) break; /* not a name clash: the directory is missing or not writable */
        fclose(probe);
    }
    if (!f) {
        s = convrnn_error_set(err, CONVRNN_ERR_IO, "cannot create a temporary file next to '%s'", path);
        convrnn_free(NULL, tmp);
        return s;
    }
    for (i = 0; i < np && !s; i++)
        if (pc[i].n && fwrite(pc[i].p, 1, pc[i].n, f) != pc[i].n)
            s = convrnn_error_set(err, CONVRNN_ERR_IO, "cannot write '%s' (disk full?)", tmp);
    if (!s && (fflush(f) != 0 || ferror(f))) s = convrnn_error_set(err, CONVRNN_ERR_IO, "cannot flush '%s'", tmp);
    if (fclose(f) != 0 && !s) s = convrnn_error_set(err, CONVRNN_ERR_IO, "cannot close '%s'", tmp);
#ifdef CONVRNN__IO_FSYNC
    if (!s && convrnn__io_fsync_path(tmp) != 0) s = convrnn_error_set(err, CONVRNN_ERR_IO, "cannot fsync '%s'", tmp);
#endif
    if (!s && rename(tmp, path) != 0) {
#if defined(_WIN32)
        remove(path); /* Windows rename() does not replace an existing file */
        if (rename(tmp, path) != 0)
#endif
            s = convrnn_error_set(err, CONVRNN_ERR_IO, "cannot rename '%s' to '%s'", tmp, path);
    }
    if (s) remove(tmp);
#ifdef CONVRNN__IO_FSYNC
    else { /* make the rename durable: fsync the directory (best effort) */
        char *slash = strrchr(tmp, '/');
        if (slash == tmp) convrnn__io_fsync_path("/");
        else if (slash) { *slash = 0; convrnn__io_fsync_path(tmp); }
        else convrnn__io_fsync_path(".");
    }
#endif
    convrnn_free(NULL, tmp);
    return s;
}

CONVRNNDEF convrnn_status convrnn_write_file_atomic(const char *path, const void *buf, size_t len, convrnn_error *err) {
    convrnn__io_piece pc;
    if (!buf && len) return convrnn_error_set(err, CONVRNN_ERR_ARG, "write: NULL buffer");
    pc.p = buf;
    pc.n = len;
    return convrnn__io_write_atomic(path, &pc, 1, err);
}

CONVRNNDEF convrnn_status convrnn_read_file(const char *path, void **buf, size_t *len, size_t max_len, convrnn_error *err) {
    FILE *f;
    unsigned char *p, *np;
    size_t cap, n = 0, got, limit, hint;
    long sz = -1;
    if (!buf || !len) return convrnn_error_set(err, CONVRNN_ERR_ARG, "read_file: NULL output");
    *buf = NULL;
    *len = 0;
    if (!path) return convrnn_error_set(err, CONVRNN_ERR_ARG, "read_file: NULL path");
    limit = max_len && max_len < (size_t)-1 - 2 ? max_len : (size_t)-1 - 2;
    f = fopen(path, "rb");
    if (!f) return convrnn_error_set(err, CONVRNN_ERR_IO, "cannot open '%s' for reading", path);
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (fseek(f, 0, SEEK_SET) != 0) sz = -1;
    /* The size is only a hint (pipes, files that change, directories that report huge sizes):
       read until EOF, or until limit + 1 bytes prove the file too large. The first read goes
       into at most 1 MiB; only once that filled up does the buffer grow to the hinted size, plus
       one byte so that EOF shows at once. */
    hint = sz >= 0 && (unsigned long)sz < (unsigned long)limit ? (size_t)sz + 1 : 0;
    cap = hint && hint < ((size_t)1 << 20) ? hint : (size_t)1 << 20;
    if (cap > limit + 1) cap = limit + 1;
    p = (unsigned char *)convrnn_malloc(NULL, cap + 1);
    if (!p) {
        fclose(f);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "cannot allocate %lu bytes to read '%s'", (unsigned long)cap, path);
    }
    for (;;) {
        if (n == cap) {
            size_t nc;
            if (cap > limit) break; /* read limit + 1 bytes: too large */
            nc = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
            if (hint > nc) nc = hint; /* hint <= limit */
            np = (unsigned char *)CONVRNN_REALLOC(NULL, p, nc + 1);
            if (!np) {
                convrnn_free(NULL, p);
                fclose(f);
                return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "cannot allocate %lu bytes to read '%s'", (unsigned long)nc, path);
            }
            p = np;
            cap = nc;
        }
        got = fread(p + n, 1, cap - n, f);
        n += got;
        if (n < cap) { /* a short read means end of file or an error */
            if (ferror(f) || !feof(f)) {
                convrnn_free(NULL, p);
                fclose(f);
                return convrnn_error_set(err, CONVRNN_ERR_IO, "cannot read '%s'", path);
            }
            break;
        }
    }
    fclose(f);
    if (n > limit) {
        convrnn_free(NULL, p);
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "'%s' is larger than the limit of %lu bytes", path, (unsigned long)limit);
    }
    p[n] = 0;
    *buf = p;
    *len = n;
    return CONVRNN_OK;
}

/* prefix a failed reader's message with the path */
static convrnn_status convrnn__io_with_path(convrnn_status s, const char *path, convrnn_error *err) {
    char m[sizeof err->msg];
    if (s == CONVRNN_OK || !err || !path) return s;
    memcpy(m, err->msg, sizeof m);
    m[sizeof m - 1] = 0;
    if (strncmp(m, "cannot ", 7) == 0 || strstr(m, path)) return s; /* I/O messages already name it */
    return convrnn_error_set(err, s, "%s: %s", path, m);
}

CONVRNNDEF convrnn_status convrnn_npy_read(const char *path, convrnn_array *out, convrnn_error *err) {
    void *buf;
    size_t len;
    convrnn_status s;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "npy: NULL output");
    memset(out, 0, sizeof *out);
    s = convrnn_read_file(path, &buf, &len, 0, err);
    if (s) return s;
    return convrnn__io_with_path(convrnn__io_npy_parse(buf, len, buf, out, err), path, err);
}

CONVRNNDEF convrnn_status convrnn_npy_write(const char *path, const convrnn_array *a, convrnn_error *err) {
    unsigned char *pre = NULL;
    size_t prelen = 0, nbytes = 0;
    convrnn__io_piece pc[2];
    convrnn_status s = convrnn__io_npy_preamble(a, &pre, &prelen, &nbytes, err);
    if (s) return s;
    pc[0].p = pre;
    pc[0].n = prelen;
    pc[1].p = a->data;
    pc[1].n = nbytes;
    s = convrnn__io_write_atomic(path, pc, 2, err);
    convrnn_free(NULL, pre);
    return s;
}

CONVRNNDEF convrnn_status convrnn_st_read(const char *path, convrnn_safetensors *st, convrnn_error *err) {
    void *buf;
    size_t len;
    convrnn_status s;
    if (!st) return convrnn_error_set(err, CONVRNN_ERR_ARG, "safetensors: NULL output");
    memset(st, 0, sizeof *st);
    s = convrnn_read_file(path, &buf, &len, 0, err);
    if (s) return s;
    return convrnn__io_with_path(convrnn__io_st_parse_owned((unsigned char *)buf, len, st, err), path, err);
}

CONVRNNDEF convrnn_status convrnn_st_writer_save(convrnn_st_writer *w, const char *path, convrnn_error *err) {
    unsigned char *hdr = NULL;
    size_t hl = 0, dl = 0;
    convrnn__io_piece *pc;
    int i;
    convrnn_status s;
    if (!convrnn__io_host_le()) { /* tensors need byte swapping: go through a buffer */
        void *buf;
        size_t len;
        s = convrnn_st_writer_to_buffer(w, &buf, &len, err);
        if (s) return s;
        s = convrnn_write_file_atomic(path, buf, len, err);
        convrnn_free(NULL, buf);
        return s;
    }
    s = convrnn__io_stw_header(w, &hdr, &hl, &dl, err);
    if (s) return s;
    pc = (convrnn__io_piece *)convrnn_calloc(NULL, (size_t)w->count + 1, sizeof *pc);
    if (!pc) {
        convrnn_free(NULL, hdr);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "safetensors writer: out of memory");
    }
    pc[0].p = hdr;
    pc[0].n = hl;
    for (i = 0; i < w->count; i++) {
        pc[i + 1].p = w->tensors[i].data;
        pc[i + 1].n = w->tensors[i].nbytes;
    }
    s = convrnn__io_write_atomic(path, pc, (size_t)w->count + 1, err);
    convrnn_free(NULL, pc);
    convrnn_free(NULL, hdr);
    return s;
}

CONVRNNDEF convrnn_status convrnn_idx_read(const char *images_path, const char *labels_path, int num_classes,
                                           convrnn_dataset *ds, convrnn_error *err) {
    void *im = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    convrnn_status s;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "idx: NULL output");
    memset(ds, 0, sizeof *ds);
    s = convrnn_read_file(images_path, &im, &il, 0, err);
    if (!s) s = convrnn_read_file(labels_path, &lb, &ll, 0, err);
    if (!s) {
        s = convrnn_idx_parse(im, il, lb, ll, num_classes, ds, err);
        if (s) s = convrnn__io_with_path(s, err && strstr(err->msg, "labels") ? labels_path : images_path, err);
    }
    convrnn_free(NULL, im);
    convrnn_free(NULL, lb);
    return s;
}

CONVRNNDEF convrnn_status convrnn_cifar10_read(const char *const *paths, int npaths, convrnn_dataset *ds, convrnn_error *err) {
    convrnn_dataset one;
    void *buf;
    size_t len, total_n = 0, nb;
    int i;
    convrnn_status s;
    uint8_t *ni;
    int32_t *nl;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "cifar10: NULL output");
    memset(ds, 0, sizeof *ds);
    if (!paths || npaths < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "cifar10: no files given");
    for (i = 0; i < npaths; i++) {
        s = convrnn_read_file(paths[i], &buf, &len, 0, err);
        if (s) { convrnn_dataset_free(ds); return s; }
        s = convrnn_cifar10_parse(buf, len, &one, err);
        convrnn_free(NULL, buf);
        if (s) { convrnn_dataset_free(ds); return convrnn__io_with_path(s, paths[i], err); }
        if (i == 0) { *ds = one; total_n = (size_t)one.n; continue; }
        if (total_n + (size_t)one.n > 0x7FFFFFFF || !convrnn_size_mul(total_n + (size_t)one.n, 3072, &nb)) {
            convrnn_dataset_free(&one);
            convrnn_dataset_free(ds);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "cifar10: more than 2^31-1 records in all");
        }
        ni = (uint8_t *)CONVRNN_REALLOC(NULL, ds->images, nb);
        if (ni) ds->images = ni;
        nl = ni ? (int32_t *)CONVRNN_REALLOC(NULL, ds->labels, (total_n + (size_t)one.n) * sizeof(int32_t)) : NULL;
        if (nl) ds->labels = nl;
        if (!ni || !nl) {
            convrnn_dataset_free(&one);
            convrnn_dataset_free(ds);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "cifar10: out of memory");
        }
        memcpy(ds->images + total_n * 3072, one.images, (size_t)one.n * 3072);
        memcpy(ds->labels + total_n, one.labels, (size_t)one.n * sizeof(int32_t));
        total_n += (size_t)one.n;
        ds->n = (int)total_n;
        convrnn_dataset_free(&one);
    }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_shard_read(const char *path, convrnn_dataset *ds, convrnn_error *err) {
    void *buf;
    size_t len;
    convrnn_status s;
    if (!ds) return convrnn_error_set(err, CONVRNN_ERR_ARG, "shard: NULL output");
    memset(ds, 0, sizeof *ds);
    s = convrnn_read_file(path, &buf, &len, 0, err);
    if (s) return s;
    s = convrnn_shard_parse(buf, len, ds, err);
    convrnn_free(NULL, buf);
    return convrnn__io_with_path(s, path, err);
}

CONVRNNDEF convrnn_status convrnn_shard_write(const char *path, const convrnn_dataset *ds, convrnn_error *err) {
    unsigned char hdr[CONVRNN_SHARD_HEADER_BYTES], *labs;
    size_t rec = 0, total = 0, np;
    convrnn__io_piece *pc;
    int i;
    convrnn_status s = convrnn__io_shard_check(ds, hdr, &rec, &total, err);
    if (s) return s;
    np = 1 + 2 * (size_t)ds->n;
    pc = (convrnn__io_piece *)convrnn_calloc(NULL, np, sizeof *pc);
    labs = (unsigned char *)convrnn_malloc(NULL, 4 * (size_t)ds->n);
    if (!pc || !labs) {
        convrnn_free(NULL, pc);
        convrnn_free(NULL, labs);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "shard: out of memory");
    }
    pc[0].p = hdr;
    pc[0].n = sizeof hdr;
    for (i = 0; i < ds->n; i++) {
        convrnn__io_wr_le32(labs + 4 * (size_t)i, (uint32_t)ds->labels[i]);
        pc[1 + 2 * (size_t)i].p = labs + 4 * (size_t)i;
        pc[1 + 2 * (size_t)i].n = 4;
        pc[2 + 2 * (size_t)i].p = ds->images + (size_t)i * (rec - 4);
        pc[2 + 2 * (size_t)i].n = rec - 4;
    }
    s = convrnn__io_write_atomic(path, pc, np, err);
    convrnn_free(NULL, pc);
    convrnn_free(NULL, labs);
    return s;
}

#endif /* CONVRNN_NO_STDIO */
