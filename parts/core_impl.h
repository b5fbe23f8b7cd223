/* ===================================================================================== [IMPL-TENSOR] */

struct convrnn__chunk { char *mem; size_t cap, used; };

typedef void (*convrnn__bwd_fn)(convrnn_tape *t, convrnn__node *nd);
struct convrnn__node {
    convrnn__bwd_fn bwd;
    convrnn_tensor *in[4];
    convrnn_tensor *out;
    int i[8];
    double f[2];
    void *aux;
};

#define CONVRNN__ALIGN 64
#define CONVRNN__CHUNK (4u << 20)
/* Parallel loops run only when there is enough work to pay for the threads. */
#define CONVRNN__PAR_MIN 32768
#ifdef _OPENMP
#define CONVRNN__PRAGMA(x) _Pragma(#x)
#define CONVRNN__OMP_FOR(cond) CONVRNN__PRAGMA(omp parallel for schedule(static) if (cond))
#else
#define CONVRNN__OMP_FOR(cond)
#endif

CONVRNNDEF void convrnn_tape_init(convrnn_tape *t, int grad_enabled) {
    memset(t, 0, sizeof *t);
    t->grad_enabled = grad_enabled;
}

CONVRNNDEF void convrnn_tape_reset(convrnn_tape *t) {
    int i;
    for (i = 0; i < t->n_chunks; i++) t->chunks[i].used = 0;
    t->cur_chunk = 0;
    t->n_nodes = 0;
    t->bytes_in_use = 0;
    convrnn_error_clear(&t->err);
}

CONVRNNDEF void convrnn_tape_free(convrnn_tape *t) {
    int i;
    for (i = 0; i < t->n_chunks; i++) convrnn_free(t->alloc_ctx, t->chunks[i].mem);
    convrnn_free(t->alloc_ctx, t->chunks);
    convrnn_free(t->alloc_ctx, t->nodes);
    t->chunks = NULL; t->nodes = NULL;
    t->n_chunks = t->cap_chunks = t->n_nodes = t->cap_nodes = t->cur_chunk = 0;
}

CONVRNNDEF convrnn_status convrnn_tape_status(const convrnn_tape *t) { return t->err.status; }
CONVRNNDEF size_t convrnn_tape_peak_bytes(const convrnn_tape *t) { return t->peak_bytes; }

/* First error wins; later ones are dropped so the message names the root cause. */
static void *convrnn__fail(convrnn_tape *t, convrnn_status s, const char *fmt, ...) {
    if (t->err.status == CONVRNN_OK) {
        va_list ap;
        t->err.status = s;
        va_start(ap, fmt);
        vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* Zeroed, 64-byte aligned memory from the tape's arena (valid until reset/free). */
static void *convrnn__talloc(convrnn_tape *t, size_t bytes) {
    int i;
    size_t need;
    bytes = (bytes + CONVRNN__ALIGN - 1) & ~(size_t)(CONVRNN__ALIGN - 1);
    for (i = t->cur_chunk; i < t->n_chunks; i++) {
        convrnn__chunk *c = &t->chunks[i];
        if (c->cap - c->used >= bytes) {
            char *p = c->mem + c->used;
            c->used += bytes;
            t->cur_chunk = i;
            t->bytes_in_use += bytes;
            if (t->bytes_in_use > t->peak_bytes) t->peak_bytes = t->bytes_in_use;
            memset(p, 0, bytes);
            return p;
        }
    }
    if (t->n_chunks == t->cap_chunks) {
        int nc = t->cap_chunks ? 2 * t->cap_chunks : 8;
        convrnn__chunk *ch = (convrnn__chunk *)convrnn_malloc(t->alloc_ctx, (size_t)nc * sizeof *ch);
        if (!ch) return convrnn__fail(t, CONVRNN_ERR_NOMEM, "tape: out of memory growing chunk list");
        if (t->n_chunks) memcpy(ch, t->chunks, (size_t)t->n_chunks * sizeof *ch);
        convrnn_free(t->alloc_ctx, t->chunks);
        t->chunks = ch;
        t->cap_chunks = nc;
    }
    need = bytes > CONVRNN__CHUNK ? bytes : CONVRNN__CHUNK;
    {
        convrnn__chunk *c = &t->chunks[t->n_chunks];
        char *raw = (char *)convrnn_malloc(t->alloc_ctx, need + CONVRNN__ALIGN);
        if (!raw) return convrnn__fail(t, CONVRNN_ERR_NOMEM, "tape: out of memory allocating %zu bytes", bytes);
        c->mem = raw; /* chunk memory from malloc is aligned to at least 16; realign below */
        c->cap = need + CONVRNN__ALIGN;
        c->used = (size_t)((CONVRNN__ALIGN - ((uintptr_t)raw % CONVRNN__ALIGN)) % CONVRNN__ALIGN);
        t->n_chunks++;
        t->cur_chunk = t->n_chunks - 1;
    }
    return convrnn__talloc(t, bytes);
}

static int convrnn__tensor_ok(const convrnn_tensor *x) { return x != NULL; }

/* A new tensor of the given dims; with_grad allocates its gradient buffer. */
static convrnn_tensor *convrnn__new(convrnn_tape *t, int rank, int d0, int d1, int d2, int d3, int with_grad) {
    convrnn_tensor *x;
    size_t n = 1, bytes;
    int d[4], i;
    if (t->err.status) return NULL;
    d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
    for (i = 0; i < 4; i++) {
        if (d[i] <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "tensor dims must be positive, got [%d,%d,%d,%d]", d0, d1, d2, d3);
        if (!convrnn_size_mul(n, (size_t)d[i], &n))
            return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_OVERFLOW, "tensor [%d,%d,%d,%d] size overflows", d0, d1, d2, d3);
    }
    if (!convrnn_size_mul(n, sizeof(convrnn_real), &bytes) || bytes > ((size_t)1 << 46))
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_OVERFLOW, "tensor [%d,%d,%d,%d] too large", d0, d1, d2, d3);
    x = (convrnn_tensor *)convrnn__talloc(t, sizeof *x);
    if (!x) return NULL;
    x->rank = rank;
    memcpy(x->d, d, sizeof d);
    x->size = n;
    x->data = (convrnn_real *)convrnn__talloc(t, bytes);
    if (!x->data) return NULL;
    if (with_grad && t->grad_enabled) {
        x->grad = (convrnn_real *)convrnn__talloc(t, bytes);
        if (!x->grad) return NULL;
    }
    return x;
}
#define CONVRNN__NEW4(t, n, h, w, c, g) convrnn__new(t, 4, n, h, w, c, g)

static convrnn__node *convrnn__record(convrnn_tape *t, convrnn__bwd_fn fn, convrnn_tensor *out) {
    convrnn__node *nd;
    if (!t->grad_enabled || !out || !out->grad) return NULL;
    if (t->n_nodes == t->cap_nodes) {
        int nc = t->cap_nodes ? 2 * t->cap_nodes : 256;
        convrnn__node *nn = (convrnn__node *)convrnn_malloc(t->alloc_ctx, (size_t)nc * sizeof *nn);
        if (!nn) { convrnn__fail(t, CONVRNN_ERR_NOMEM, "tape: out of memory growing node list"); return NULL; }
        if (t->n_nodes) memcpy(nn, t->nodes, (size_t)t->n_nodes * sizeof *nn);
        convrnn_free(t->alloc_ctx, t->nodes);
        t->nodes = nn;
        t->cap_nodes = nc;
    }
    nd = &t->nodes[t->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->bwd = fn;
    nd->out = out;
    return nd;
}

/* Check inputs: NULL (an earlier failure, or a caller bug) stops the op. */
static int convrnn__args(convrnn_tape *t, const char *op, int n, convrnn_tensor *a, convrnn_tensor *b,
                         convrnn_tensor *c) {
    convrnn_tensor *xs[3];
    int i;
    xs[0] = a; xs[1] = b; xs[2] = c;
    if (t->err.status) return 0;
    for (i = 0; i < n; i++)
        if (!convrnn__tensor_ok(xs[i])) { convrnn__fail(t, CONVRNN_ERR_ARG, "%s: input %d is NULL", op, i); return 0; }
    return 1;
}
static int convrnn__any_grad(convrnn_tensor *a, convrnn_tensor *b, convrnn_tensor *c, convrnn_tensor *d) {
    return (a && a->grad) || (b && b->grad) || (c && c->grad) || (d && d->grad);
}

CONVRNNDEF convrnn_tensor *convrnn_tape_zeros(convrnn_tape *t, int n, int h, int w, int c, int need_grad) {
    return CONVRNN__NEW4(t, n, h, w, c, need_grad);
}
CONVRNNDEF convrnn_tensor *convrnn_tape_input(convrnn_tape *t, int n, int h, int w, int c,
                                             const convrnn_real *data, int need_grad) {
    convrnn_tensor *x;
    if (t->err.status) return NULL;
    if (!data) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "tape_input: data is NULL");
    x = CONVRNN__NEW4(t, n, h, w, c, need_grad);
    if (x) memcpy(x->data, data, x->size * sizeof(convrnn_real));
    return x;
}
CONVRNNDEF convrnn_tensor *convrnn_tape_input_nd(convrnn_tape *t, int rank, const int *dims,
                                                const convrnn_real *data, int need_grad) {
    convrnn_tensor *x;
    int d[4], i;
    if (t->err.status) return NULL;
    if (!dims || rank < 1 || rank > 4) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "tape_input_nd: rank %d outside 1..4", rank);
    for (i = 0; i < 4; i++) d[i] = i < rank ? dims[i] : 1;
    x = convrnn__new(t, rank, d[0], d[1], d[2], d[3], need_grad);
    if (x && data) memcpy(x->data, data, x->size * sizeof(convrnn_real));
    return x;
}
CONVRNNDEF convrnn_tensor *convrnn_tape_fill(convrnn_tape *t, int n, int h, int w, int c, convrnn_real v) {
    convrnn_tensor *x = CONVRNN__NEW4(t, n, h, w, c, 0);
    size_t i;
    if (x && v != 0) for (i = 0; i < x->size; i++) x->data[i] = v;
    return x;
}

CONVRNNDEF convrnn_status convrnn_tape_backward_seeded(convrnn_tape *t) {
    int i;
    if (t->err.status) return t->err.status;
    if (!t->grad_enabled) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: tape was created without gradients");
    for (i = t->n_nodes - 1; i >= 0; i--) {
        t->nodes[i].bwd(t, &t->nodes[i]);
        if (t->err.status) return t->err.status;
    }
    return CONVRNN_OK;
}
CONVRNNDEF convrnn_status convrnn_tape_backward(convrnn_tape *t, convrnn_tensor *loss) {
    if (t->err.status) return t->err.status;
    if (!loss || loss->size != 1)
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: loss must be a 1-element tensor");
    if (!loss->grad)
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: loss does not depend on anything with a gradient");
    loss->grad[0] += 1;
    return convrnn_tape_backward_seeded(t);
}

CONVRNNDEF int convrnn_check_finite(const convrnn_real *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) if (!(x[i] - x[i] == 0)) return 0;
    return 1;
}

/* ===================================================================================== [IMPL-PARAMS] */

CONVRNNDEF convrnn_init convrnn_init_make(convrnn_init_kind kind, double a, double b) {
    convrnn_init i;
    i.kind = kind; i.a = a; i.b = b;
    return i;
}

CONVRNNDEF void convrnn_params_init_empty(convrnn_params *ps) { memset(ps, 0, sizeof *ps); }

CONVRNNDEF int convrnn_params_find(const convrnn_params *ps, const char *name) {
    int i;
    for (i = 0; i < ps->count; i++) if (!strcmp(ps->info[i].name, name)) return i;
    return -1;
}

CONVRNNDEF int convrnn_params_declare(convrnn_params *ps, const char *name, int rank, const int *dims,
                                      convrnn_init init, double weight_decay, int trainable) {
    convrnn_param_info *pi;
    size_t n = 1;
    int i;
    if (ps->finalized) { convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "params: declare '%s' after finalize", name ? name : "?"); return -1; }
    if (!name || !dims || rank < 0 || rank > 4) { convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "params: bad declaration"); return -1; }
    if (strlen(name) >= CONVRNN_NAME_MAX) { convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "params: name too long: '%.60s...'", name); return -1; }
    if (convrnn_params_find(ps, name) >= 0) { convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "params: duplicate name '%s'", name); return -1; }
    for (i = 0; i < rank; i++) {
        if (dims[i] <= 0) { convrnn_error_set(&ps->err, CONVRNN_ERR_SHAPE, "params: '%s' dim %d is %d", name, i, dims[i]); return -1; }
        if (!convrnn_size_mul(n, (size_t)dims[i], &n)) { convrnn_error_set(&ps->err, CONVRNN_ERR_OVERFLOW, "params: '%s' size overflows", name); return -1; }
    }
    if (ps->count == ps->cap) {
        int nc = ps->cap ? 2 * ps->cap : 32;
        convrnn_param_info *ni = (convrnn_param_info *)convrnn_malloc(ps->alloc_ctx, (size_t)nc * sizeof *ni);
        if (!ni) { convrnn_error_set(&ps->err, CONVRNN_ERR_NOMEM, "params: out of memory"); return -1; }
        if (ps->count) memcpy(ni, ps->info, (size_t)ps->count * sizeof *ni);
        convrnn_free(ps->alloc_ctx, ps->info);
        ps->info = ni;
        ps->cap = nc;
    }
    pi = &ps->info[ps->count];
    memset(pi, 0, sizeof *pi);
    strcpy(pi->name, name);
    pi->rank = rank;
    for (i = 0; i < 4; i++) pi->d[i] = i < rank ? dims[i] : 1;
    pi->size = n;
    pi->offset = ps->total;
    pi->init = init;
    pi->weight_decay = weight_decay;
    pi->trainable = trainable;
    if (!convrnn_size_add(ps->total, (n + 15) & ~(size_t)15, &ps->total)) {
        convrnn_error_set(&ps->err, CONVRNN_ERR_OVERFLOW, "params: total size overflows");
        return -1;
    }
    return ps->count++;
}

CONVRNNDEF convrnn_status convrnn_params_finalize(convrnn_params *ps) {
    int i;
    if (ps->err.status) return ps->err.status;
    if (ps->finalized) return CONVRNN_OK;
    ps->values = (convrnn_real *)convrnn_calloc(ps->alloc_ctx, ps->total + 1, sizeof(convrnn_real));
    ps->grads = (convrnn_real *)convrnn_calloc(ps->alloc_ctx, ps->total + 1, sizeof(convrnn_real));
    ps->opt_state = (convrnn_real *)convrnn_calloc(ps->alloc_ctx, ps->total + 1, sizeof(convrnn_real));
    ps->views = (convrnn_tensor *)convrnn_calloc(ps->alloc_ctx, (size_t)ps->count + 1, sizeof(convrnn_tensor));
    if (!ps->values || !ps->grads || !ps->opt_state || !ps->views)
        return convrnn_error_set(&ps->err, CONVRNN_ERR_NOMEM, "params: out of memory for %zu values", ps->total);
    for (i = 0; i < ps->count; i++) {
        convrnn_tensor *v = &ps->views[i];
        v->rank = ps->info[i].rank;
        memcpy(v->d, ps->info[i].d, sizeof v->d);
        v->size = ps->info[i].size;
        v->data = ps->values + ps->info[i].offset;
        v->grad = ps->info[i].trainable ? ps->grads + ps->info[i].offset : NULL;
    }
    ps->finalized = 1;
    return CONVRNN_OK;
}

static uint64_t convrnn__hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211ULL; }
    return h;
}

/* Fan-in/out as TF computes them: the last two dims are (in, out), earlier dims form the receptive
   field; a 1-D shape has fan_in = fan_out = its length. */
static void convrnn__fans(const convrnn_param_info *p, double *fin, double *fout) {
    if (p->rank >= 2) {
        double rf = 1;
        int i;
        for (i = 0; i < p->rank - 2; i++) rf *= p->d[i];
        *fin = rf * p->d[p->rank - 2]; *fout = rf * p->d[p->rank - 1];
    } else {
        *fin = *fout = (double)p->size;
    }
}

CONVRNNDEF convrnn_status convrnn_params_init(convrnn_params *ps, uint64_t seed) {
    int i;
    size_t j;
    if (!ps->finalized) return convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "params_init: call convrnn_params_finalize first");
    for (i = 0; i < ps->count; i++) {
        const convrnn_param_info *p = &ps->info[i];
        convrnn_real *v = ps->values + p->offset;
        convrnn_rng r;
        double fin, fout, sd, lim;
        convrnn_rng_seed(&r, seed ^ convrnn__hash(p->name));
        convrnn__fans(p, &fin, &fout);
        for (j = 0; j < p->size; j++) {
            double x = 0;
            switch (p->init.kind) {
            case CONVRNN_INIT_ZERO: x = 0; break;
            case CONVRNN_INIT_CONST: x = p->init.a; break;
            case CONVRNN_INIT_NORMAL: x = p->init.a * convrnn_rng_normal(&r); break;
            case CONVRNN_INIT_UNIFORM: x = p->init.a + (p->init.b - p->init.a) * convrnn_rng_uniform(&r); break;
            case CONVRNN_INIT_VARSCALE:
                /* TF1 variance_scaling(scale, fan_in, 'normal'): truncated normal, stddev corrected by
                   0.87962566103423978 (the stddev of a unit normal truncated to +-2). */
                sd = sqrt(p->init.a / (fin > 1 ? fin : 1)) / 0.87962566103423978;
                x = sd * convrnn_rng_truncnormal(&r);
                break;
            case CONVRNN_INIT_GLOROT_UNIFORM:
                lim = sqrt(6.0 / (fin + fout));
                x = -lim + 2 * lim * convrnn_rng_uniform(&r);
                break;
            }
            v[j] = (convrnn_real)x;
        }
    }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_tensor *convrnn_params_tensor(convrnn_params *ps, int index) {
    if (!ps->finalized || index < 0 || index >= ps->count) return NULL;
    return &ps->views[index];
}
CONVRNNDEF void convrnn_params_zero_grad(convrnn_params *ps) {
    if (ps->grads) memset(ps->grads, 0, ps->total * sizeof(convrnn_real));
}
CONVRNNDEF size_t convrnn_params_count_trainable(const convrnn_params *ps) {
    size_t n = 0;
    int i;
    for (i = 0; i < ps->count; i++) if (ps->info[i].trainable) n += ps->info[i].size;
    return n;
}
CONVRNNDEF size_t convrnn_params_count_network(const convrnn_params *ps) {
    size_t n = 0;
    int i;
    for (i = 0; i < ps->count; i++) if (ps->info[i].trainable && ps->info[i].group == 0) n += ps->info[i].size;
    return n;
}
CONVRNNDEF void convrnn_params_free(convrnn_params *ps) {
    convrnn_free(ps->alloc_ctx, ps->info);
    convrnn_free(ps->alloc_ctx, ps->values);
    convrnn_free(ps->alloc_ctx, ps->grads);
    convrnn_free(ps->alloc_ctx, ps->opt_state);
    convrnn_free(ps->alloc_ctx, ps->views);
    memset(ps, 0, sizeof *ps);
}

/* ======================================================================================== [IMPL-OPS] */

CONVRNNDEF const char *convrnn_act_name(convrnn_act a) {
    static const char *names[] = { "identity", "elu", "relu", "sigmoid", "tanh" };
    return (unsigned)a < CONVRNN_ACT_COUNT ? names[a] : "?";
}
CONVRNNDEF int convrnn_act_parse(const char *name, convrnn_act *out) {
    int i;
    if (!name) return 0;
    if (!strcmp(name, "none") || !strcmp(name, "linear")) { *out = CONVRNN_ACT_IDENTITY; return 1; }
    for (i = 0; i < CONVRNN_ACT_COUNT; i++)
        if (!strcmp(name, convrnn_act_name((convrnn_act)i))) { *out = (convrnn_act)i; return 1; }
    return 0;
}

CONVRNNDEF int convrnn_conv_out_size(int in, int k, int stride, convrnn_padding pad, int *out, int *pad_before) {
    int o, total;
    if (in <= 0 || k <= 0 || stride <= 0) return 0;
    if (pad == CONVRNN_SAME) {
        o = (in + stride - 1) / stride;
        total = (o - 1) * stride + k - in;
        if (total < 0) total = 0;
        *pad_before = total / 2;
    } else if (pad == CONVRNN_VALID) {
        if (k > in) return 0;
        o = (in - k) / stride + 1;
        *pad_before = 0;
    } else {
        return 0;
    }
    *out = o;
    return 1;
}

/* ---- geometry shared by conv, depthwise conv and pooling: convrnn__geom in parts/simd_impl.h */
static int convrnn__geometry(convrnn_tape *t, const char *op, const convrnn_tensor *x, int kh, int kw,
                             int stride, convrnn_padding pad, convrnn__geom *g) {
    g->n = x->d[0]; g->h = x->d[1]; g->w = x->d[2]; g->ci = x->d[3];
    g->kh = kh; g->kw = kw; g->s = stride;
    if (kh <= 0 || kw <= 0 || stride <= 0) {
        convrnn__fail(t, CONVRNN_ERR_SHAPE, "%s: kernel %dx%d and stride %d must be positive", op, kh, kw, stride);
        return 0;
    }
    if (pad != CONVRNN_SAME && pad != CONVRNN_VALID) { convrnn__fail(t, CONVRNN_ERR_ARG, "%s: unknown padding %d", op, (int)pad); return 0; }
    if (!convrnn_conv_out_size(g->h, kh, stride, pad, &g->oh, &g->pt) ||
        !convrnn_conv_out_size(g->w, kw, stride, pad, &g->ow, &g->pl)) {
        convrnn__fail(t, CONVRNN_ERR_SHAPE, "%s: kernel %dx%d larger than the %dx%d input under VALID padding", op, kh, kw, g->h, g->w);
        return 0;
    }
    return 1;
}

/* ---- conv2d kernels. x: (N,H,W,Ci), w: (KH,KW,Ci,Co), y: (N,OH,OW,Co). Each output element has
   one writer and a fixed summation order (ky, kx, ci), so threads do not change results. */
static void convrnn__conv2d_fwd(const convrnn__geom *g, const convrnn_real *x, const convrnn_real *w,
                                const convrnn_real *b, convrnn_real *y) {
    int row, rows = g->n * g->oh;
    const int Co = g->co, Ci = g->ci;
    size_t work = (size_t)rows * g->ow * Co * Ci * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_FOR(work > CONVRNN__PAR_MIN)
    for (row = 0; row < rows; row++) {
        int n = row / g->oh, oy = row % g->oh, ox, ky, kx, ci, co;
        for (ox = 0; ox < g->ow; ox++) {
            convrnn_real *yv = y + ((size_t)row * g->ow + ox) * Co;
            for (co = 0; co < Co; co++) yv[co] = b ? b[co] : 0;
            for (ky = 0; ky < g->kh; ky++) {
                int iy = oy * g->s - g->pt + ky;
                if (iy < 0 || iy >= g->h) continue;
                for (kx = 0; kx < g->kw; kx++) {
                    int ix = ox * g->s - g->pl + kx;
                    const convrnn_real *xv, *wk;
                    if (ix < 0 || ix >= g->w) continue;
                    xv = x + (((size_t)n * g->h + iy) * g->w + ix) * Ci;
                    wk = w + ((size_t)ky * g->kw + kx) * Ci * Co;
                    for (ci = 0; ci < Ci; ci++) {
                        const convrnn_real a = xv[ci], *wr = wk + (size_t)ci * Co;
                        for (co = 0; co < Co; co++) yv[co] += a * wr[co];
                    }
                }
            }
        }
    }
}

/* dx[n,iy,ix,ci] += sum over taps reaching it of dy[n,oy,ox,:] . w[ky,kx,ci,:] (gather form). */
static void convrnn__conv2d_bwd_data(const convrnn__geom *g, const convrnn_real *dy, const convrnn_real *w,
                                     convrnn_real *dx) {
    int row, rows = g->n * g->h;
    const int Co = g->co, Ci = g->ci;
    size_t work = (size_t)g->n * g->oh * g->ow * Co * Ci * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_FOR(work > CONVRNN__PAR_MIN)
    for (row = 0; row < rows; row++) {
        int n = row / g->h, iy = row % g->h, ix, ky, kx, ci, co;
        for (ix = 0; ix < g->w; ix++) {
            convrnn_real *dxv = dx + ((size_t)row * g->w + ix) * Ci;
            for (ky = 0; ky < g->kh; ky++) {
                int ny = iy + g->pt - ky, oy;
                if (ny < 0 || ny % g->s) continue;
                oy = ny / g->s;
                if (oy >= g->oh) continue;
                for (kx = 0; kx < g->kw; kx++) {
                    int nx = ix + g->pl - kx, ox;
                    const convrnn_real *dyv, *wk;
                    if (nx < 0 || nx % g->s) continue;
                    ox = nx / g->s;
                    if (ox >= g->ow) continue;
                    dyv = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * Co;
                    wk = w + ((size_t)ky * g->kw + kx) * Ci * Co;
                    for (ci = 0; ci < Ci; ci++) {
                        const convrnn_real *wr = wk + (size_t)ci * Co;
                        convrnn_real acc = 0;
                        for (co = 0; co < Co; co++) acc += dyv[co] * wr[co];
                        dxv[ci] += acc;
                    }
                }
            }
        }
    }
}

/* dw[ky,kx,ci,:] += sum over (n,oy,ox) of x[n,iy,ix,ci] * dy[n,oy,ox,:]; one writer per (ky,kx,ci). */
static void convrnn__conv2d_bwd_filter(const convrnn__geom *g, const convrnn_real *x, const convrnn_real *dy,
                                       convrnn_real *dw) {
    int q, nq = g->kh * g->kw * g->ci;
    const int Co = g->co, Ci = g->ci;
    size_t work = (size_t)g->n * g->oh * g->ow * Co * Ci * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_FOR(work > CONVRNN__PAR_MIN)
    for (q = 0; q < nq; q++) {
        int ky = q / (g->kw * Ci), kx = (q / Ci) % g->kw, ci = q % Ci, n, oy, ox, co;
        convrnn_real *dwr = dw + (size_t)q * Co;
        for (n = 0; n < g->n; n++)
            for (oy = 0; oy < g->oh; oy++) {
                int iy = oy * g->s - g->pt + ky;
                if (iy < 0 || iy >= g->h) continue;
                for (ox = 0; ox < g->ow; ox++) {
                    int ix = ox * g->s - g->pl + kx;
                    convrnn_real a;
                    const convrnn_real *dyv;
                    if (ix < 0 || ix >= g->w) continue;
                    a = x[(((size_t)n * g->h + iy) * g->w + ix) * Ci + ci];
                    dyv = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * Co;
                    for (co = 0; co < Co; co++) dwr[co] += a * dyv[co];
                }
            }
    }
}

/* db[c] += sum over all rows of dy[row, c]; rows: count of C-vectors. */
static void convrnn__bias_bwd(const convrnn_real *dy, size_t rows, int C, convrnn_real *db) {
    size_t r;
    int c;
    for (r = 0; r < rows; r++) {
        const convrnn_real *v = dy + r * C;
        for (c = 0; c < C; c++) db[c] += v[c];
    }
}

/* Backend dispatch: the SIMD kernels (parts/simd_impl.h) unless the tape asks for the scalar
   reference or the SIMD kernel could not get scratch memory. */
#ifdef CONVRNN__SIMD
#define CONVRNN__VEC(t) ((t)->backend != CONVRNN_BACKEND_SCALAR)
/* 3x3 stride 1 with enough channels: Winograd F(2x2,3x3) (parts/simd_impl.h) */
static int convrnn__wino_ok(const convrnn__geom *g) {
    return g->kh == 3 && g->kw == 3 && g->s == 1 && g->ci >= CONVRNN__WINO_MIN_C && g->co >= CONVRNN__WINO_MIN_C &&
           g->oh * g->ow >= CONVRNN__WINO_MIN_HW;
}
#else
#define CONVRNN__VEC(t) 0
#endif
static void convrnn__conv_fwd_any(convrnn_tape *t, const convrnn__geom *g, const convrnn_real *x, const convrnn_real *w,
                                  const convrnn_real *b, convrnn_real *y) {
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t) && convrnn__wino_ok(g) && convrnn__sconv_wino(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && convrnn__sconv_ind(t->alloc_ctx, g, 0, x, w, b, y)) return;
#endif
    (void)t;
    convrnn__conv2d_fwd(g, x, w, b, y);
}
/* dx, dw, db may be NULL (no gradient wanted). */
static void convrnn__conv_bwd_any(convrnn_tape *t, const convrnn__geom *g, const convrnn_real *x, const convrnn_real *w,
                                  const convrnn_real *dy, convrnn_real *dx, convrnn_real *dw, convrnn_real *db) {
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        if (dx && convrnn__wino_ok(g) && convrnn__sconv_wino(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && convrnn__sconv_ind(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dw && g->ci <= CONVRNN__BWF_PAD_MAX_CI && convrnn__sconv_bwf_pad(t->alloc_ctx, g, x, dy, dw)) dw = NULL;
        if (dw && convrnn__sconv_bwf(t->alloc_ctx, g, x, dy, dw)) dw = NULL;
        if (db) { convrnn__sbias_bwd(dy, (size_t)g->n * g->oh * g->ow, g->co, db); db = NULL; }
    }
#endif
    (void)t;
    if (dx) convrnn__conv2d_bwd_data(g, dy, w, dx);
    if (dw) convrnn__conv2d_bwd_filter(g, x, dy, dw);
    if (db) convrnn__bias_bwd(dy, (size_t)g->n * g->oh * g->ow, g->co, db);
}

static void convrnn__conv2d_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    convrnn__geom g;
    memcpy(&g, nd->aux, sizeof g);
    convrnn__conv_bwd_any(t, &g, x->data, w->data, y->grad, x->grad, w->grad, b ? b->grad : NULL);
}

static convrnn__geom *convrnn__save_geom(convrnn_tape *t, const convrnn__geom *g) {
    convrnn__geom *p = (convrnn__geom *)convrnn__talloc(t, sizeof *p);
    if (p) *p = *g;
    return p;
}

CONVRNNDEF convrnn_tensor *convrnn_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                          convrnn_tensor *b, int stride, convrnn_padding pad) {
    convrnn__geom g;
    convrnn_tensor *y;
    convrnn__node *nd;
    if (!convrnn__args(t, "conv2d", 2, x, w, NULL)) return NULL;
    if (w->rank != 4 || w->d[2] != x->d[3])
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "conv2d: kernel [%d,%d,%d,%d] (rank %d) does not fit input [%d,%d,%d,%d] (needs [kh,kw,%d,Co])",
            w->d[0], w->d[1], w->d[2], w->d[3], w->rank, x->d[0], x->d[1], x->d[2], x->d[3], x->d[3]);
    if (b && (int)b->size != w->d[3])
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "conv2d: bias has %zu elements, kernel has %d outputs", b->size, w->d[3]);
    if (!convrnn__geometry(t, "conv2d", x, w->d[0], w->d[1], stride, pad, &g)) return NULL;
    g.co = w->d[3];
    y = CONVRNN__NEW4(t, g.n, g.oh, g.ow, g.co, convrnn__any_grad(x, w, b, NULL));
    if (!y) return NULL;
    convrnn__conv_fwd_any(t, &g, x->data, w->data, b ? b->data : NULL, y->data);
    if ((nd = convrnn__record(t, convrnn__conv2d_bwd, y)) != NULL) {
        nd->in[0] = x; nd->in[1] = w; nd->in[2] = b;
        nd->aux = convrnn__save_geom(t, &g);
    }
    return y;
}

/* ---- depthwise conv. x (N,H,W,C), w (KH,KW,C,1), y (N,OH,OW,C). */
static void convrnn__dw_fwd(const convrnn__geom *g, const convrnn_real *x, const convrnn_real *w,
                            const convrnn_real *b, convrnn_real *y) {
    int row, rows = g->n * g->oh;
    const int C = g->ci;
    size_t work = (size_t)rows * g->ow * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_FOR(work > CONVRNN__PAR_MIN)
    for (row = 0; row < rows; row++) {
        int n = row / g->oh, oy = row % g->oh, ox, ky, kx, c;
        for (ox = 0; ox < g->ow; ox++) {
            convrnn_real *yv = y + ((size_t)row * g->ow + ox) * C;
            for (c = 0; c < C; c++) yv[c] = b ? b[c] : 0;
            for (ky = 0; ky < g->kh; ky++) {
                int iy = oy * g->s - g->pt + ky;
                if (iy < 0 || iy >= g->h) continue;
                for (kx = 0; kx < g->kw; kx++) {
                    int ix = ox * g->s - g->pl + kx;
                    const convrnn_real *xv, *wk;
                    if (ix < 0 || ix >= g->w) continue;
                    xv = x + (((size_t)n * g->h + iy) * g->w + ix) * C;
                    wk = w + ((size_t)ky * g->kw + kx) * C;
                    for (c = 0; c < C; c++) yv[c] += xv[c] * wk[c];
                }
            }
        }
    }
}
static void convrnn__dw_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    convrnn__geom g;
    const int C = x->d[3];
    (void)t;
    memcpy(&g, nd->aux, sizeof g);
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        if (x->grad) convrnn__sdw_bwd_data(&g, y->grad, w->data, x->grad);
        if (w->grad) convrnn__sdw_bwd_filter(&g, x->data, y->grad, w->grad);
        if (b && b->grad) convrnn__sbias_bwd(y->grad, (size_t)g.n * g.oh * g.ow, C, b->grad);
        return;
    }
#endif
    if (x->grad) {
        int row, rows = g.n * g.h;
CONVRNN__OMP_FOR((size_t)rows * g.w * C * g.kh * g.kw > CONVRNN__PAR_MIN)
        for (row = 0; row < rows; row++) {
            int n = row / g.h, iy = row % g.h, ix, ky, kx, c;
            for (ix = 0; ix < g.w; ix++) {
                convrnn_real *dxv = x->grad + ((size_t)row * g.w + ix) * C;
                for (ky = 0; ky < g.kh; ky++) {
                    int ny = iy + g.pt - ky, oy;
                    if (ny < 0 || ny % g.s) continue;
                    oy = ny / g.s;
                    if (oy >= g.oh) continue;
                    for (kx = 0; kx < g.kw; kx++) {
                        int nx = ix + g.pl - kx, ox;
                        const convrnn_real *dyv, *wk;
                        if (nx < 0 || nx % g.s) continue;
                        ox = nx / g.s;
                        if (ox >= g.ow) continue;
                        dyv = y->grad + (((size_t)n * g.oh + oy) * g.ow + ox) * C;
                        wk = w->data + ((size_t)ky * g.kw + kx) * C;
                        for (c = 0; c < C; c++) dxv[c] += dyv[c] * wk[c];
                    }
                }
            }
        }
    }
    if (w->grad) {
        int q, nq = g.kh * g.kw;
CONVRNN__OMP_FOR((size_t)g.n * g.oh * g.ow * C * nq > CONVRNN__PAR_MIN)
        for (q = 0; q < nq; q++) {
            int ky = q / g.kw, kx = q % g.kw, n, oy, ox, c;
            convrnn_real *dwr = w->grad + (size_t)q * C;
            for (n = 0; n < g.n; n++)
                for (oy = 0; oy < g.oh; oy++) {
                    int iy = oy * g.s - g.pt + ky;
                    if (iy < 0 || iy >= g.h) continue;
                    for (ox = 0; ox < g.ow; ox++) {
                        int ix = ox * g.s - g.pl + kx;
                        const convrnn_real *xv, *dyv;
                        if (ix < 0 || ix >= g.w) continue;
                        xv = x->data + (((size_t)n * g.h + iy) * g.w + ix) * C;
                        dyv = y->grad + (((size_t)n * g.oh + oy) * g.ow + ox) * C;
                        for (c = 0; c < C; c++) dwr[c] += xv[c] * dyv[c];
                    }
                }
        }
    }
    if (b && b->grad) convrnn__bias_bwd(y->grad, (size_t)g.n * g.oh * g.ow, C, b->grad);
}

CONVRNNDEF convrnn_tensor *convrnn_depthwise_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                                    convrnn_tensor *b, int stride, convrnn_padding pad) {
    convrnn__geom g;
    convrnn_tensor *y;
    convrnn__node *nd;
    if (!convrnn__args(t, "depthwise_conv2d", 2, x, w, NULL)) return NULL;
    if (w->rank != 4 || w->d[2] != x->d[3] || w->d[3] != 1)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "depthwise_conv2d: kernel [%d,%d,%d,%d] does not fit input with %d channels (needs [kh,kw,%d,1])",
            w->d[0], w->d[1], w->d[2], w->d[3], x->d[3], x->d[3]);
    if (b && (int)b->size != x->d[3])
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "depthwise_conv2d: bias has %zu elements for %d channels", b->size, x->d[3]);
    if (!convrnn__geometry(t, "depthwise_conv2d", x, w->d[0], w->d[1], stride, pad, &g)) return NULL;
    g.co = g.ci;
    y = CONVRNN__NEW4(t, g.n, g.oh, g.ow, g.ci, convrnn__any_grad(x, w, b, NULL));
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__sdw_fwd(&g, x->data, w->data, b ? b->data : NULL, y->data);
    else
#endif
    convrnn__dw_fwd(&g, x->data, w->data, b ? b->data : NULL, y->data);
    if ((nd = convrnn__record(t, convrnn__dw_bwd, y)) != NULL) {
        nd->in[0] = x; nd->in[1] = w; nd->in[2] = b;
        nd->aux = convrnn__save_geom(t, &g);
    }
    return y;
}

CONVRNNDEF convrnn_tensor *convrnn_separable_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *dw,
                                                    convrnn_tensor *pw, convrnn_tensor *b, int stride,
                                                    convrnn_padding pad) {
    convrnn_tensor *m;
    if (!convrnn__args(t, "separable_conv2d", 3, x, dw, pw)) return NULL;
    if (pw->rank != 4 || pw->d[0] != 1 || pw->d[1] != 1 || pw->d[2] != x->d[3])
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "separable_conv2d: pointwise kernel [%d,%d,%d,%d] must be [1,1,%d,Co]", pw->d[0], pw->d[1], pw->d[2], pw->d[3], x->d[3]);
    m = convrnn_depthwise_conv2d(t, x, dw, NULL, stride, pad);
    return convrnn_conv2d(t, m, pw, b, 1, CONVRNN_SAME);
}

/* ---- dense. x viewed as (N, K), w (K, Co), y (N,1,1,Co). The SIMD path runs it as a 1x1 conv. */
#ifdef CONVRNN__SIMD
static void convrnn__dense_geom(convrnn__geom *g, int N, int K, int Co) {
    memset(g, 0, sizeof *g);
    g->n = N; g->h = g->w = g->oh = g->ow = 1; g->ci = K; g->co = Co; g->kh = g->kw = 1; g->s = 1;
}
#endif
static void convrnn__dense_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    const int N = x->d[0], K = nd->i[0], Co = nd->i[1];
    int n, k;
    (void)t;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {   /* dense = 1x1 convolution of [N,1,1,K] */
        convrnn__geom g;
        convrnn__dense_geom(&g, N, K, Co);
        convrnn__conv_bwd_any(t, &g, x->data, w->data, y->grad, x->grad, w->grad, b ? b->grad : NULL);
        return;
    }
#endif
    if (x->grad) {
CONVRNN__OMP_FOR((size_t)N * K * Co > CONVRNN__PAR_MIN)
        for (n = 0; n < N; n++) {
            int kk, co;
            const convrnn_real *dyv = y->grad + (size_t)n * Co;
            for (kk = 0; kk < K; kk++) {
                const convrnn_real *wr = w->data + (size_t)kk * Co;
                convrnn_real acc = 0;
                for (co = 0; co < Co; co++) acc += dyv[co] * wr[co];
                x->grad[(size_t)n * K + kk] += acc;
            }
        }
    }
    if (w->grad) {
CONVRNN__OMP_FOR((size_t)N * K * Co > CONVRNN__PAR_MIN)
        for (k = 0; k < K; k++) {
            int nn, co;
            convrnn_real *dwr = w->grad + (size_t)k * Co;
            for (nn = 0; nn < N; nn++) {
                const convrnn_real a = x->data[(size_t)nn * K + k], *dyv = y->grad + (size_t)nn * Co;
                for (co = 0; co < Co; co++) dwr[co] += a * dyv[co];
            }
        }
    }
    if (b && b->grad) convrnn__bias_bwd(y->grad, (size_t)N, Co, b->grad);
}
CONVRNNDEF convrnn_tensor *convrnn_dense(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w, convrnn_tensor *b) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int N, K, Co, n, n0 = 0;
    if (!convrnn__args(t, "dense", 2, x, w, NULL)) return NULL;
    N = x->d[0];
    K = (int)(x->size / (size_t)N);
    if (w->rank != 2 || w->d[0] != K)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "dense: weights [%d,%d] (rank %d) do not fit %d input features", w->d[0], w->d[1], w->rank, K);
    Co = w->d[1];
    if (b && (int)b->size != Co)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "dense: bias has %zu elements for %d outputs", b->size, Co);
    y = CONVRNN__NEW4(t, N, 1, 1, Co, convrnn__any_grad(x, w, b, NULL));
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        convrnn__geom g;
        convrnn__dense_geom(&g, N, K, Co);
        convrnn__conv_fwd_any(t, &g, x->data, w->data, b ? b->data : NULL, y->data);
        n0 = N;   /* done: skip the reference loop */
    }
#endif
CONVRNN__OMP_FOR((size_t)N * K * Co > CONVRNN__PAR_MIN)
    for (n = n0; n < N; n++) {
        int k, co;
        convrnn_real *yv = y->data + (size_t)n * Co;
        for (co = 0; co < Co; co++) yv[co] = b ? b->data[co] : 0;
        for (k = 0; k < K; k++) {
            const convrnn_real a = x->data[(size_t)n * K + k], *wr = w->data + (size_t)k * Co;
            for (co = 0; co < Co; co++) yv[co] += a * wr[co];
        }
    }
    if ((nd = convrnn__record(t, convrnn__dense_bwd, y)) != NULL) {
        nd->in[0] = x; nd->in[1] = w; nd->in[2] = b;
        nd->i[0] = K; nd->i[1] = Co;
    }
    return y;
}

/* ---- bias add */
static void convrnn__bias_add_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *b = nd->in[1], *y = nd->out;
    size_t i;
    (void)t;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        if (x->grad) convrnn__sbin_bwd_a(0, y->grad, NULL, 1, x->grad, x->size, 1.0f);
        if (b->grad) convrnn__sbias_bwd(y->grad, x->size / b->size, (int)b->size, b->grad);
        return;
    }
#endif
    if (x->grad) for (i = 0; i < x->size; i++) x->grad[i] += y->grad[i];
    if (b->grad) convrnn__bias_bwd(y->grad, x->size / b->size, (int)b->size, b->grad);
}
CONVRNNDEF convrnn_tensor *convrnn_bias_add(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *b) {
    convrnn_tensor *y;
    convrnn__node *nd;
    size_t i, C;
    if (!convrnn__args(t, "bias_add", 2, x, b, NULL)) return NULL;
    C = (size_t)x->d[x->rank - 1];
    if (b->size != C)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "bias_add: bias has %zu elements for %zu channels", b->size, C);
    y = convrnn__new(t, x->rank, x->d[0], x->d[1], x->d[2], x->d[3], convrnn__any_grad(x, b, NULL, NULL));
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__sbin_fwd(0, x->data, b->data, C, y->data, x->size, 1.0f, 0.0f);
    else
#endif
    for (i = 0; i < x->size; i++) y->data[i] = x->data[i] + b->data[i % C];
    if ((nd = convrnn__record(t, convrnn__bias_add_bwd, y)) != NULL) { nd->in[0] = x; nd->in[1] = b; }
    return y;
}

/* ---- activations */
static convrnn_real convrnn__act1(convrnn_act a, convrnn_real v) {
    switch (a) {
    case CONVRNN_ACT_ELU: return v > 0 ? v : (convrnn_real)expm1(v);
    case CONVRNN_ACT_RELU: return v > 0 ? v : 0;
    case CONVRNN_ACT_SIGMOID:
        /* stable for both signs */
        if (v >= 0) { double e = exp(-(double)v); return (convrnn_real)(1.0 / (1.0 + e)); }
        else { double e = exp((double)v); return (convrnn_real)(e / (1.0 + e)); }
    case CONVRNN_ACT_TANH: return (convrnn_real)tanh(v);
    default: return v;
    }
}
static void convrnn__act_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    convrnn_act a = (convrnn_act)nd->i[0];
    size_t i, n = x->size;
    (void)t;
    if (!x->grad) return;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { convrnn__sact_bwd((int)a, x->data, y->data, y->grad, x->grad, n); return; }
#endif
    switch (a) {
    case CONVRNN_ACT_ELU: for (i = 0; i < n; i++) x->grad[i] += y->grad[i] * (x->data[i] > 0 ? 1 : y->data[i] + 1); break;
    case CONVRNN_ACT_RELU: for (i = 0; i < n; i++) x->grad[i] += x->data[i] > 0 ? y->grad[i] : 0; break;
    case CONVRNN_ACT_SIGMOID: for (i = 0; i < n; i++) x->grad[i] += y->grad[i] * y->data[i] * (1 - y->data[i]); break;
    case CONVRNN_ACT_TANH: for (i = 0; i < n; i++) x->grad[i] += y->grad[i] * (1 - y->data[i] * y->data[i]); break;
    default: for (i = 0; i < n; i++) x->grad[i] += y->grad[i]; break;
    }
}
CONVRNNDEF convrnn_tensor *convrnn_activate(convrnn_tape *t, convrnn_tensor *x, convrnn_act a) {
    convrnn_tensor *y;
    convrnn__node *nd;
    size_t i;
    if (!convrnn__args(t, "activate", 1, x, NULL, NULL)) return NULL;
    if ((unsigned)a >= CONVRNN_ACT_COUNT) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "activate: unknown activation %d", (int)a);
    if (a == CONVRNN_ACT_IDENTITY) return x;
    y = convrnn__new(t, x->rank, x->d[0], x->d[1], x->d[2], x->d[3], x->grad != NULL);
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__sact_fwd((int)a, x->data, y->data, x->size);
    else
#endif
    for (i = 0; i < x->size; i++) y->data[i] = convrnn__act1(a, x->data[i]);
    if ((nd = convrnn__record(t, convrnn__act_bwd, y)) != NULL) { nd->in[0] = x; nd->i[0] = (int)a; }
    return y;
}

/* ---- max pooling (padded cells never win: the window is clipped to the input) */
static size_t convrnn__pool_argmax(const convrnn__geom *g, const convrnn_real *x, int n, int oy, int ox, int c) {
    int ky, kx;
    size_t best = (size_t)-1;
    convrnn_real bv = 0;
    for (ky = 0; ky < g->kh; ky++) {
        int iy = oy * g->s - g->pt + ky;
        if (iy < 0 || iy >= g->h) continue;
        for (kx = 0; kx < g->kw; kx++) {
            int ix = ox * g->s - g->pl + kx;
            size_t idx;
            if (ix < 0 || ix >= g->w) continue;
            idx = (((size_t)n * g->h + iy) * g->w + ix) * g->ci + c;
            if (best == (size_t)-1 || x[idx] > bv || (x[idx] != x[idx] && bv == bv)) { best = idx; bv = x[idx]; }
        }
    }
    return best;
}
static void convrnn__maxpool_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    convrnn__geom g;
    int n;
    (void)t;
    if (!x->grad) return;
    memcpy(&g, nd->aux, sizeof g);
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { convrnn__smaxpool(&g, x->data, NULL, y->grad, x->grad); return; }
#endif
CONVRNN__OMP_FOR(y->size * g.kh * g.kw > CONVRNN__PAR_MIN)
    for (n = 0; n < g.n; n++) {
        int oy, ox, c;
        for (oy = 0; oy < g.oh; oy++)
            for (ox = 0; ox < g.ow; ox++)
                for (c = 0; c < g.ci; c++) {
                    size_t o = (((size_t)n * g.oh + oy) * g.ow + ox) * g.ci + c;
                    x->grad[convrnn__pool_argmax(&g, x->data, n, oy, ox, c)] += y->grad[o];
                }
    }
}
CONVRNNDEF convrnn_tensor *convrnn_maxpool(convrnn_tape *t, convrnn_tensor *x, int k, int stride, convrnn_padding pad) {
    convrnn__geom g;
    convrnn_tensor *y;
    convrnn__node *nd;
    int row;
    if (!convrnn__args(t, "maxpool", 1, x, NULL, NULL)) return NULL;
    if (!convrnn__geometry(t, "maxpool", x, k, k, stride, pad, &g)) return NULL;
    g.co = g.ci;
    y = CONVRNN__NEW4(t, g.n, g.oh, g.ow, g.ci, x->grad != NULL);
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__smaxpool(&g, x->data, y->data, NULL, NULL);
    else
#endif
CONVRNN__OMP_FOR((size_t)g.n * g.oh * g.ow * g.ci * k * k > CONVRNN__PAR_MIN)
    for (row = 0; row < g.n * g.oh; row++) {
        int n = row / g.oh, oy = row % g.oh, ox, c;
        for (ox = 0; ox < g.ow; ox++)
            for (c = 0; c < g.ci; c++)
                y->data[((size_t)row * g.ow + ox) * g.ci + c] = x->data[convrnn__pool_argmax(&g, x->data, n, oy, ox, c)];
    }
    if ((nd = convrnn__record(t, convrnn__maxpool_bwd, y)) != NULL) {
        nd->in[0] = x;
        nd->aux = convrnn__save_geom(t, &g);
    }
    return y;
}

/* ---- global average pooling */
static void convrnn__gap_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    const int N = x->d[0], HW = x->d[1] * x->d[2], C = x->d[3];
    int n, p, c;
    const convrnn_real inv = (convrnn_real)(1.0 / HW);
    (void)t;
    if (!x->grad) return;
    for (n = 0; n < N; n++)
        for (p = 0; p < HW; p++)
            for (c = 0; c < C; c++) x->grad[((size_t)n * HW + p) * C + c] += y->grad[(size_t)n * C + c] * inv;
}
CONVRNNDEF convrnn_tensor *convrnn_global_avgpool(convrnn_tape *t, convrnn_tensor *x) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int n, p, c, N, HW, C;
    if (!convrnn__args(t, "global_avgpool", 1, x, NULL, NULL)) return NULL;
    N = x->d[0]; HW = x->d[1] * x->d[2]; C = x->d[3];
    y = CONVRNN__NEW4(t, N, 1, 1, C, x->grad != NULL);
    if (!y) return NULL;
    for (n = 0; n < N; n++)
        for (c = 0; c < C; c++) {
            double s = 0;
            for (p = 0; p < HW; p++) s += x->data[((size_t)n * HW + p) * C + c];
            y->data[(size_t)n * C + c] = (convrnn_real)(s / HW);
        }
    if ((nd = convrnn__record(t, convrnn__gap_bwd, y)) != NULL) nd->in[0] = x;
    return y;
}

/* ---- bilinear resize, TF1 align_corners=True. For output index o: src = o*(in-1)/(out-1) (0 when
   out == 1), i0 = floor(src), i1 = min(i0+1, in-1), lerp = src - i0. */
/* convrnn__lerp (one resize tap) is defined in parts/simd_impl.h */
static void convrnn__lerp_table(int in, int out, convrnn__lerp *tab) {
    int o;
    /* computed in convrnn_real: float in the default build (as TF computes it), exact in double */
    const convrnn_real scale = out > 1 ? (convrnn_real)(in - 1) / (convrnn_real)(out - 1) : (convrnn_real)0;
    for (o = 0; o < out; o++) {
        const convrnn_real src = (convrnn_real)o * scale;
        int i0 = (int)floor((double)src);
        if (i0 > in - 1) i0 = in - 1;
        tab[o].i0 = i0;
        tab[o].i1 = i0 + 1 < in ? i0 + 1 : in - 1;
        tab[o].w = src - (convrnn_real)i0;
    }
}
static void convrnn__resize_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    const int N = x->d[0], H = x->d[1], W = x->d[2], C = x->d[3], OH = y->d[1], OW = y->d[2];
    const convrnn__lerp *ty = (const convrnn__lerp *)nd->aux, *tx = ty + OH;
    int n;
    (void)t;
    if (!x->grad) return;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { convrnn__sresize(N, H, W, C, OH, OW, ty, tx, NULL, NULL, y->grad, x->grad); return; }
#endif
CONVRNN__OMP_FOR(y->size > CONVRNN__PAR_MIN)
    for (n = 0; n < N; n++) {
        int oy, ox, c;
        convrnn_real *gx = x->grad + (size_t)n * H * W * C;
        for (oy = 0; oy < OH; oy++)
            for (ox = 0; ox < OW; ox++) {
                const convrnn_real *gy = y->grad + (((size_t)n * OH + oy) * OW + ox) * C;
                const convrnn_real wy = ty[oy].w, wx = tx[ox].w;
                convrnn_real *tl = gx + ((size_t)ty[oy].i0 * W + tx[ox].i0) * C;
                convrnn_real *tr = gx + ((size_t)ty[oy].i0 * W + tx[ox].i1) * C;
                convrnn_real *bl = gx + ((size_t)ty[oy].i1 * W + tx[ox].i0) * C;
                convrnn_real *br = gx + ((size_t)ty[oy].i1 * W + tx[ox].i1) * C;
                for (c = 0; c < C; c++) {
                    const convrnn_real gt = gy[c] * (1 - wy), gb = gy[c] * wy;
                    tl[c] += gt * (1 - wx); tr[c] += gt * wx;
                    bl[c] += gb * (1 - wx); br[c] += gb * wx;
                }
            }
    }
}
CONVRNNDEF convrnn_tensor *convrnn_resize_bilinear(convrnn_tape *t, convrnn_tensor *x, int out_h, int out_w) {
    convrnn_tensor *y;
    convrnn__node *nd;
    convrnn__lerp *tab;
    int N, H, W, C, row;
    if (!convrnn__args(t, "resize_bilinear", 1, x, NULL, NULL)) return NULL;
    if (out_h <= 0 || out_w <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "resize_bilinear: output size %dx%d", out_h, out_w);
    N = x->d[0]; H = x->d[1]; W = x->d[2]; C = x->d[3];
    if (H == out_h && W == out_w) return x;
    y = CONVRNN__NEW4(t, N, out_h, out_w, C, x->grad != NULL);
    tab = (convrnn__lerp *)convrnn__talloc(t, ((size_t)out_h + out_w) * sizeof *tab);
    if (!y || !tab) return NULL;
    convrnn__lerp_table(H, out_h, tab);
    convrnn__lerp_table(W, out_w, tab + out_h);
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__sresize(N, H, W, C, out_h, out_w, tab, tab + out_h, x->data, y->data, NULL, NULL);
    else
#endif
CONVRNN__OMP_FOR(y->size > CONVRNN__PAR_MIN)
    for (row = 0; row < N * out_h; row++) {
        int n = row / out_h, oy = row % out_h, ox, c;
        const convrnn__lerp *ly = &tab[oy];
        const convrnn_real *xs = x->data + (size_t)n * H * W * C;
        for (ox = 0; ox < out_w; ox++) {
            const convrnn__lerp *lx = &tab[out_h + ox];
            const convrnn_real *tl = xs + ((size_t)ly->i0 * W + lx->i0) * C, *tr = xs + ((size_t)ly->i0 * W + lx->i1) * C;
            const convrnn_real *bl = xs + ((size_t)ly->i1 * W + lx->i0) * C, *br = xs + ((size_t)ly->i1 * W + lx->i1) * C;
            convrnn_real *yv = y->data + ((size_t)row * out_w + ox) * C;
            for (c = 0; c < C; c++) {
                const convrnn_real top = tl[c] + (tr[c] - tl[c]) * lx->w;
                const convrnn_real bot = bl[c] + (br[c] - bl[c]) * lx->w;
                yv[c] = top + (bot - top) * ly->w;
            }
        }
    }
    if ((nd = convrnn__record(t, convrnn__resize_bwd, y)) != NULL) { nd->in[0] = x; nd->aux = tab; }
    return y;
}

/* ---- channel concat / slice */
typedef struct convrnn__cat { int n; convrnn_tensor **xs; } convrnn__cat;
static void convrnn__concat_bwd(convrnn_tape *t, convrnn__node *nd) {
    const convrnn__cat *cat = (const convrnn__cat *)nd->aux;
    convrnn_tensor *y = nd->out;
    size_t rows = y->size / (size_t)y->d[3], r;
    int i, off = 0, c;
    (void)t;
    for (i = 0; i < cat->n; i++) {
        convrnn_tensor *x = cat->xs[i];
        const int C = x->d[3];
#ifdef CONVRNN__SIMD
        if (x->grad && CONVRNN__VEC(t)) convrnn__scopy_rows(x->grad, (size_t)C, y->grad + off, (size_t)y->d[3], rows, C, 1);
        else
#endif
        if (x->grad)
            for (r = 0; r < rows; r++)
                for (c = 0; c < C; c++) x->grad[r * C + c] += y->grad[r * y->d[3] + off + c];
        off += C;
    }
}
CONVRNNDEF convrnn_tensor *convrnn_concat(convrnn_tape *t, convrnn_tensor **xs, int n) {
    convrnn_tensor *y;
    convrnn__node *nd;
    convrnn__cat *cat;
    int i, C = 0, off = 0, g = 0, c;
    size_t rows, r;
    if (t->err.status) return NULL;
    if (!xs || n <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "concat: no inputs");
    for (i = 0; i < n; i++) {
        if (!xs[i]) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "concat: input %d is NULL", i);
        if (xs[i]->d[0] != xs[0]->d[0] || xs[i]->d[1] != xs[0]->d[1] || xs[i]->d[2] != xs[0]->d[2])
            return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "concat: input %d is [%d,%d,%d,%d], input 0 is [%d,%d,%d,%d]",
                i, xs[i]->d[0], xs[i]->d[1], xs[i]->d[2], xs[i]->d[3], xs[0]->d[0], xs[0]->d[1], xs[0]->d[2], xs[0]->d[3]);
        C += xs[i]->d[3];
        g |= xs[i]->grad != NULL;
    }
    if (n == 1) return xs[0];
    y = CONVRNN__NEW4(t, xs[0]->d[0], xs[0]->d[1], xs[0]->d[2], C, g);
    if (!y) return NULL;
    rows = y->size / (size_t)C;
    for (i = 0; i < n; i++) {
        const int Ci = xs[i]->d[3];
#ifdef CONVRNN__SIMD
        if (CONVRNN__VEC(t)) convrnn__scopy_rows(y->data + off, (size_t)C, xs[i]->data, (size_t)Ci, rows, Ci, 0);
        else
#endif
        for (r = 0; r < rows; r++)
            for (c = 0; c < Ci; c++) y->data[r * C + off + c] = xs[i]->data[r * Ci + c];
        off += Ci;
    }
    if ((nd = convrnn__record(t, convrnn__concat_bwd, y)) != NULL) {
        cat = (convrnn__cat *)convrnn__talloc(t, sizeof *cat);
        if (!cat) return NULL;
        cat->xs = (convrnn_tensor **)convrnn__talloc(t, (size_t)n * sizeof *cat->xs);
        if (!cat->xs) return NULL;
        cat->n = n;
        memcpy(cat->xs, xs, (size_t)n * sizeof *xs);
        nd->aux = cat;
    }
    return y;
}
static void convrnn__slice_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    const int c0 = nd->i[0], nc = nd->i[1], C = x->d[3];
    size_t rows = y->size / (size_t)nc, r;
    int c;
    (void)t;
    if (!x->grad) return;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { convrnn__scopy_rows(x->grad + c0, (size_t)C, y->grad, (size_t)nc, rows, nc, 1); return; }
#endif
    for (r = 0; r < rows; r++)
        for (c = 0; c < nc; c++) x->grad[r * C + c0 + c] += y->grad[r * nc + c];
}
CONVRNNDEF convrnn_tensor *convrnn_slice_channels(convrnn_tape *t, convrnn_tensor *x, int c0, int nc) {
    convrnn_tensor *y;
    convrnn__node *nd;
    size_t rows, r;
    int c;
    if (!convrnn__args(t, "slice_channels", 1, x, NULL, NULL)) return NULL;
    if (c0 < 0 || nc <= 0 || c0 > x->d[3] - nc)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "slice_channels: [%d, %d) outside %d channels", c0, c0 + nc, x->d[3]);
    if (c0 == 0 && nc == x->d[3]) return x;
    y = CONVRNN__NEW4(t, x->d[0], x->d[1], x->d[2], nc, x->grad != NULL);
    if (!y) return NULL;
    rows = y->size / (size_t)nc;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__scopy_rows(y->data, (size_t)nc, x->data + c0, (size_t)x->d[3], rows, nc, 0);
    else
#endif
    for (r = 0; r < rows; r++)
        for (c = 0; c < nc; c++) y->data[r * nc + c] = x->data[r * x->d[3] + c0 + c];
    if ((nd = convrnn__record(t, convrnn__slice_bwd, y)) != NULL) { nd->in[0] = x; nd->i[0] = c0; nd->i[1] = nc; }
    return y;
}

/* ---- layer norm over (H,W,C) per sample: y = g_c (x - mu) rstd + b_c, rstd = 1/sqrt(var + eps) */
static void convrnn__ln_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *gm = nd->in[1], *bt = nd->in[2], *y = nd->out;
    const double *stats = (const double *)nd->aux;
    const int N = x->d[0], C = x->d[3];
    const size_t M = x->size / (size_t)N;
    int n;
    size_t i;
    (void)t;
    for (n = 0; n < N; n++) {
        const convrnn_real *xv = x->data + (size_t)n * M, *gy = y->grad + (size_t)n * M;
        const double mu = stats[2 * n], rs = stats[2 * n + 1];
        double m1 = 0, m2 = 0;
        for (i = 0; i < M; i++) {
            const double xh = (xv[i] - mu) * rs, dxh = (double)gy[i] * gm->data[i % C];
            m1 += dxh; m2 += dxh * xh;
            if (gm->grad) gm->grad[i % C] += (convrnn_real)(gy[i] * xh);
            if (bt->grad) bt->grad[i % C] += gy[i];
        }
        m1 /= (double)M; m2 /= (double)M;
        if (x->grad) {
            convrnn_real *gx = x->grad + (size_t)n * M;
            for (i = 0; i < M; i++) {
                const double xh = (xv[i] - mu) * rs, dxh = (double)gy[i] * gm->data[i % C];
                gx[i] += (convrnn_real)(rs * (dxh - m1 - xh * m2));
            }
        }
    }
}
CONVRNNDEF convrnn_tensor *convrnn_layer_norm(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *gamma,
                                              convrnn_tensor *beta, double eps) {
    convrnn_tensor *y;
    convrnn__node *nd;
    double *stats;
    int N, C, n;
    size_t M, i;
    if (!convrnn__args(t, "layer_norm", 3, x, gamma, beta)) return NULL;
    N = x->d[0]; C = x->d[3];
    if ((int)gamma->size != C || (int)beta->size != C)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "layer_norm: gamma/beta have %zu/%zu elements for %d channels", gamma->size, beta->size, C);
    M = x->size / (size_t)N;
    y = CONVRNN__NEW4(t, N, x->d[1], x->d[2], C, convrnn__any_grad(x, gamma, beta, NULL));
    stats = (double *)convrnn__talloc(t, 2 * (size_t)N * sizeof(double));
    if (!y || !stats) return NULL;
    for (n = 0; n < N; n++) {
        const convrnn_real *xv = x->data + (size_t)n * M;
        double mu = 0, var = 0, rs;
        for (i = 0; i < M; i++) mu += xv[i];
        mu /= (double)M;
        for (i = 0; i < M; i++) var += (xv[i] - mu) * (xv[i] - mu);
        var /= (double)M;
        rs = 1.0 / sqrt(var + eps);
        stats[2 * n] = mu; stats[2 * n + 1] = rs;
        for (i = 0; i < M; i++)
            y->data[(size_t)n * M + i] = (convrnn_real)(gamma->data[i % C] * (xv[i] - mu) * rs + beta->data[i % C]);
    }
    if ((nd = convrnn__record(t, convrnn__ln_bwd, y)) != NULL) {
        nd->in[0] = x; nd->in[1] = gamma; nd->in[2] = beta; nd->aux = stats;
    }
    return y;
}

/* ---- elementwise binary ops with broadcasting of b: same size, per-sample (over N), or scalar */
enum { CONVRNN__ADD = 0, CONVRNN__SUB = 1, CONVRNN__MUL = 2 };
static void convrnn__binary_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    const int op = nd->i[0];
    const size_t nb = b->size, reps = a->size / nb;
    size_t i, j, r;
    (void)t;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        if (a->grad) convrnn__sbin_bwd_a(op == CONVRNN__MUL, y->grad, b->data, nb, a->grad, a->size, 1.0f);
        if (b->grad) {
            if (nb == a->size) convrnn__sbin_bwd_a(op == CONVRNN__MUL, y->grad, a->data, nb, b->grad, nb, op == CONVRNN__SUB ? -1.0f : 1.0f);
            else convrnn__sbin_bwd_b(op == CONVRNN__MUL, y->grad, a->data, nb, nb == 1 ? a->size : reps, b->grad, op == CONVRNN__SUB ? -1.0f : 1.0f);
        }
        return;
    }
#endif
    if (a->grad) {
        if (op == CONVRNN__MUL) for (i = 0; i < a->size; i++) a->grad[i] += y->grad[i] * b->data[i % nb];
        else for (i = 0; i < a->size; i++) a->grad[i] += y->grad[i];
    }
    if (b->grad) {
        const convrnn_real sgn = op == CONVRNN__SUB ? (convrnn_real)-1 : (convrnn_real)1;
        for (j = 0; j < nb; j++) {
            convrnn_real acc = 0;
            for (r = 0; r < reps; r++) {
                i = r * nb + j;
                acc += op == CONVRNN__MUL ? y->grad[i] * a->data[i] : y->grad[i];
            }
            b->grad[j] += sgn * acc;
        }
    }
}
static convrnn_tensor *convrnn__binary(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b, int op) {
    static const char *names[] = { "add", "sub", "mul" };
    convrnn_tensor *y;
    convrnn__node *nd;
    size_t i, nb;
    if (!convrnn__args(t, names[op], 2, a, b, NULL)) return NULL;
    nb = b->size;
    /* b: a's exact shape, one sample of a ([H,W,C] or [1,H,W,C]), or a scalar */
    if (!(nb == 1 ||
          (nb == a->size && b->d[0] == a->d[0] && b->d[1] == a->d[1] && b->d[2] == a->d[2] && b->d[3] == a->d[3]) ||
          (b->rank == 3 && b->d[0] == a->d[1] && b->d[1] == a->d[2] && b->d[2] == a->d[3]) ||
          (b->rank == 4 && b->d[0] == 1 && b->d[1] == a->d[1] && b->d[2] == a->d[2] && b->d[3] == a->d[3])))
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "%s: shapes [%d,%d,%d,%d] and [%d,%d,%d,%d] do not broadcast (b must match a, one sample of a, or be a scalar)",
            names[op], a->d[0], a->d[1], a->d[2], a->d[3], b->d[0], b->d[1], b->d[2], b->d[3]);
    y = convrnn__new(t, a->rank, a->d[0], a->d[1], a->d[2], a->d[3], convrnn__any_grad(a, b, NULL, NULL));
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__sbin_fwd(op, a->data, b->data, nb, y->data, a->size, 1.0f, 0.0f);
    else
#endif
    {
        switch (op) {
        case CONVRNN__ADD: for (i = 0; i < a->size; i++) y->data[i] = a->data[i] + b->data[i % nb]; break;
        case CONVRNN__SUB: for (i = 0; i < a->size; i++) y->data[i] = a->data[i] - b->data[i % nb]; break;
        default: for (i = 0; i < a->size; i++) y->data[i] = a->data[i] * b->data[i % nb]; break;
        }
    }
    if ((nd = convrnn__record(t, convrnn__binary_bwd, y)) != NULL) { nd->in[0] = a; nd->in[1] = b; nd->i[0] = op; }
    return y;
}
CONVRNNDEF convrnn_tensor *convrnn_add(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b) { return convrnn__binary(t, a, b, CONVRNN__ADD); }
CONVRNNDEF convrnn_tensor *convrnn_sub(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b) { return convrnn__binary(t, a, b, CONVRNN__SUB); }
CONVRNNDEF convrnn_tensor *convrnn_mul(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b) { return convrnn__binary(t, a, b, CONVRNN__MUL); }

static void convrnn__affine_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    const convrnn_real al = (convrnn_real)nd->f[0];
    size_t i;
    (void)t;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { if (x->grad) convrnn__sbin_bwd_a(0, y->grad, NULL, 1, x->grad, x->size, al); return; }
#endif
    if (x->grad) for (i = 0; i < x->size; i++) x->grad[i] += al * y->grad[i];
}
CONVRNNDEF convrnn_tensor *convrnn_affine(convrnn_tape *t, convrnn_tensor *x, double alpha, double beta) {
    convrnn_tensor *y;
    convrnn__node *nd;
    size_t i;
    const convrnn_real al = (convrnn_real)alpha, be = (convrnn_real)beta;
    if (!convrnn__args(t, "affine", 1, x, NULL, NULL)) return NULL;
    if (alpha == 1 && beta == 0) return x;
    y = convrnn__new(t, x->rank, x->d[0], x->d[1], x->d[2], x->d[3], x->grad != NULL);
    if (!y) return NULL;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) convrnn__sbin_fwd(3, x->data, NULL, 1, y->data, x->size, al, be);
    else
#endif
    for (i = 0; i < x->size; i++) y->data[i] = al * x->data[i] + be;
    if ((nd = convrnn__record(t, convrnn__affine_bwd, y)) != NULL) { nd->in[0] = x; nd->f[0] = alpha; }
    return y;
}

CONVRNNDEF convrnn_tensor *convrnn_residual_add(convrnn_tape *t, convrnn_tensor *u, convrnn_tensor *r,
                                                convrnn_tensor *proj) {
    int same;
    if (!convrnn__args(t, "residual_add", 2, u, r, NULL)) return NULL;
    same = u->d[0] == r->d[0] && u->d[1] == r->d[1] && u->d[2] == r->d[2] && u->d[3] == r->d[3];
    if (same && !proj) return convrnn_add(t, u, r);
    if (!proj)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "residual_add: u [%d,%d,%d,%d] and r [%d,%d,%d,%d] differ and no projection was given",
            u->d[0], u->d[1], u->d[2], u->d[3], r->d[0], r->d[1], r->d[2], r->d[3]);
    if (u->d[0] != r->d[0] || proj->rank != 4 || proj->d[0] != 1 || proj->d[1] != 1 || proj->d[2] != r->d[3] || proj->d[3] != u->d[3])
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE,
            "residual_add: projection [%d,%d,%d,%d] must be [1,1,%d,%d] (batch %d vs %d)",
            proj->d[0], proj->d[1], proj->d[2], proj->d[3], r->d[3], u->d[3], u->d[0], r->d[0]);
    r = convrnn_resize_bilinear(t, r, u->d[1], u->d[2]);
    return convrnn_add(t, u, convrnn_conv2d(t, r, proj, NULL, 1, CONVRNN_SAME));
}

/* ---- softmax cross-entropy, mean over the batch (accumulated in double) */
static void convrnn__xent_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    const int *lab = (const int *)nd->aux;
    const int N = x->d[0], K = (int)(x->size / (size_t)N);
    int n, k;
    (void)t;
    if (!x->grad) return;
    for (n = 0; n < N; n++) {
        const convrnn_real *z = x->data + (size_t)n * K;
        double m = z[0], s = 0;
        for (k = 1; k < K; k++) if (z[k] > m) m = z[k];
        for (k = 0; k < K; k++) s += exp(z[k] - m);
        for (k = 0; k < K; k++) {
            double p = exp(z[k] - m) / s - (k == lab[n] ? 1.0 : 0.0);
            x->grad[(size_t)n * K + k] += (convrnn_real)(p * y->grad[0] / N);
        }
    }
}
CONVRNNDEF convrnn_tensor *convrnn_softmax_xent(convrnn_tape *t, convrnn_tensor *x, const int *labels) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int *lab, N, K, n, k;
    double loss = 0;
    if (!convrnn__args(t, "softmax_xent", 1, x, NULL, NULL)) return NULL;
    if (!labels) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "softmax_xent: labels are NULL");
    N = x->d[0]; K = (int)(x->size / (size_t)N);
    lab = (int *)convrnn__talloc(t, (size_t)N * sizeof(int));
    if (!lab) return NULL;
    for (n = 0; n < N; n++) {
        const convrnn_real *z = x->data + (size_t)n * K;
        double m, s = 0;
        if (labels[n] < 0 || labels[n] >= K)
            return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "softmax_xent: label %d of sample %d outside [0,%d)", labels[n], n, K);
        lab[n] = labels[n];
        m = z[0];
        for (k = 1; k < K; k++) if (z[k] > m) m = z[k];
        for (k = 0; k < K; k++) s += exp(z[k] - m);
        loss += log(s) + m - z[labels[n]];
    }
    y = convrnn__new(t, 1, 1, 1, 1, 1, x->grad != NULL);
    if (!y) return NULL;
    y->data[0] = (convrnn_real)(loss / N);
    if ((nd = convrnn__record(t, convrnn__xent_bwd, y)) != NULL) { nd->in[0] = x; nd->aux = lab; }
    return y;
}

static void convrnn__dot_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    const convrnn_real *w = (const convrnn_real *)nd->aux;
    size_t i;
    (void)t;
    if (x->grad) for (i = 0; i < x->size; i++) x->grad[i] += w[i] * y->grad[0];
}
CONVRNNDEF convrnn_tensor *convrnn_dot_const(convrnn_tape *t, convrnn_tensor *x, const convrnn_real *w) {
    convrnn_tensor *y;
    convrnn__node *nd;
    convrnn_real *wc;
    double s = 0;
    size_t i;
    if (!convrnn__args(t, "dot_const", 1, x, NULL, NULL)) return NULL;
    if (!w) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "dot_const: weights are NULL");
    wc = (convrnn_real *)convrnn__talloc(t, x->size * sizeof *wc);
    y = convrnn__new(t, 1, 1, 1, 1, 1, x->grad != NULL);
    if (!wc || !y) return NULL;
    memcpy(wc, w, x->size * sizeof *wc);
    for (i = 0; i < x->size; i++) s += (double)x->data[i] * w[i];
    y->data[0] = (convrnn_real)s;
    if ((nd = convrnn__record(t, convrnn__dot_bwd, y)) != NULL) { nd->in[0] = x; nd->aux = wc; }
    return y;
}

static void convrnn__sums_bwd(convrnn_tape *t, convrnn__node *nd) {
    const convrnn__cat *cat = (const convrnn__cat *)nd->aux;
    int i;
    (void)t;
    for (i = 0; i < cat->n; i++) if (cat->xs[i]->grad) cat->xs[i]->grad[0] += nd->out->grad[0];
}
CONVRNNDEF convrnn_tensor *convrnn_sum_scalars(convrnn_tape *t, convrnn_tensor **xs, int n) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int i, g = 0;
    double s = 0;
    if (t->err.status) return NULL;
    if (!xs || n <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "sum_scalars: no inputs");
    for (i = 0; i < n; i++) {
        if (!xs[i] || xs[i]->size != 1) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "sum_scalars: input %d is not a scalar", i);
        s += xs[i]->data[0];
        g |= xs[i]->grad != NULL;
    }
    y = convrnn__new(t, 1, 1, 1, 1, 1, g);
    if (!y) return NULL;
    y->data[0] = (convrnn_real)s;
    if ((nd = convrnn__record(t, convrnn__sums_bwd, y)) != NULL) {
        convrnn__cat *cat = (convrnn__cat *)convrnn__talloc(t, sizeof *cat);
        if (!cat) return NULL;
        cat->xs = (convrnn_tensor **)convrnn__talloc(t, (size_t)n * sizeof *cat->xs);
        if (!cat->xs) return NULL;
        cat->n = n;
        memcpy(cat->xs, xs, (size_t)n * sizeof *xs);
        nd->aux = cat;
    }
    return y;
}

/* ====================================================================================== [IMPL-CELLS] */

CONVRNNDEF const char *convrnn_cell_type_name(convrnn_cell_type t) {
    static const char *names[] = { "identity", "timedecay", "simplernn", "gru", "lstm", "ugrnn",
                                   "intersectionrnn", "rgc" };
    return (unsigned)t < CONVRNN_CELL_TYPE_COUNT ? names[t] : "?";
}
CONVRNNDEF int convrnn_cell_type_parse(const char *name, convrnn_cell_type *out) {
    int i;
    if (!name) return 0;
    for (i = 0; i < CONVRNN_CELL_TYPE_COUNT; i++)
        if (!strcmp(name, convrnn_cell_type_name((convrnn_cell_type)i))) { *out = (convrnn_cell_type)i; return 1; }
    return 0;
}

CONVRNNDEF convrnn_rgc_config convrnn_rgc_shallow_config(void) {
    /* spec 5.8: cells.py ReciprocalGateCell as configured by rgc_shallow.json */
    convrnn_rgc_config c;
    memset(&c, 0, sizeof c);
    c.flavor = CONVRNN_RGC_SHALLOW;
    c.cell_depth = -1;                 /* -1: equal to the output depth D */
    c.tau_k = c.gate_k = c.ff_k = c.in_out_k = c.fb_k = 3;
    c.input_to_cell = 1;
    c.residual_to_out_gate = 1;
    c.tau_nl = c.gate_nl = CONVRNN_ACT_SIGMOID;
    c.tau_offset = c.gate_offset = 1.0;
    c.tau_mult = c.gate_mult = -1.0;
    c.input_act = CONVRNN_ACT_IDENTITY;
    c.cell_act = c.out_act = CONVRNN_ACT_ELU;
    c.fb_act = CONVRNN_ACT_IDENTITY;
    c.fb_entry = CONVRNN_FB_OUT;
    c.kernel_init = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0); /* xavier */
    return c;
}

CONVRNNDEF convrnn_rgc_config convrnn_rgc_median_config(void) {
    /* spec 5.9 / 4.3: median_config_dict with the released model's overrides */
    convrnn_rgc_config c;
    memset(&c, 0, sizeof c);
    c.flavor = CONVRNN_RGC_MEDIAN;
    c.cell_depth = 64;
    c.tau_k = 7; c.tau_ds = 1;
    c.gate_k = 7; c.gate_ds = 1;
    c.ff_k = 2; c.ff_ds = 0;
    c.input_to_cell = 1;
    c.input_to_out = 1; c.in_out_k = 3; c.in_out_ds = 0;
    c.cell_to_out = 0;
    c.out_residual = 1; c.cell_residual = 0;
    c.tau_nl = CONVRNN_ACT_SIGMOID; c.gate_nl = CONVRNN_ACT_TANH;
    c.tau_offset = 0.9219348064291611; c.tau_mult = -0.9219348064291611;
    c.gate_offset = 0.7006566684988862; c.gate_mult = -0.7006566684988862;
    c.tau_bias = 4.147336708899556; c.gate_bias = 2.776542926439013; /* unused: tau/gate are separable */
    c.input_act = c.cell_act = c.out_act = CONVRNN_ACT_ELU;
    c.layer_norm = 0;
    c.fb_entry = CONVRNN_FB_OUT; c.fb_act = CONVRNN_ACT_IDENTITY; c.fb_ds = 0; c.fb_k = 1;
    c.kernel_init = convrnn_init_make(CONVRNN_INIT_VARSCALE, 0.6393378, 0);
    return c;
}

CONVRNNDEF convrnn_cell_config convrnn_cell_config_default(convrnn_cell_type type, int out_depth) {
    convrnn_cell_config c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.k = 3;
    c.out_depth = out_depth;
    c.forget_bias = 1.0;
    c.weight_decay = 0;
    c.kernel_init = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0);
    c.bias_init = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
    c.rgc = convrnn_rgc_shallow_config();
    return c;
}

/* --- slots of cell->p[] */
enum { CONVRNN__SR_IW = 0, CONVRNN__SR_IB, CONVRNN__SR_SW, CONVRNN__SR_SB, CONVRNN__SR_G, CONVRNN__SR_B };
enum { CONVRNN__GRU_GW = 0, CONVRNN__GRU_GB, CONVRNN__GRU_CW, CONVRNN__GRU_CB, CONVRNN__GRU_LN };
enum { CONVRNN__LSTM_W = 0, CONVRNN__LSTM_B, CONVRNN__LSTM_LN, CONVRNN__LSTM_PEEP = CONVRNN__LSTM_LN + 10 };
/* RGC ops; each op owns 3 slots (weights or depthwise, pointwise, bias) */
enum {
    CONVRNN__R_IN_FB = 0, CONVRNN__R_FF, CONVRNN__R_CRES, CONVRNN__R_CFB, CONVRNN__R_CTAU, CONVRNN__R_CGATE,
    CONVRNN__R_CTAU_X, CONVRNN__R_CGATE_X, CONVRNN__R_CTAU_R, CONVRNN__R_CGATE_R,
    CONVRNN__R_IO, CONVRNN__R_C2O, CONVRNN__R_OFB, CONVRNN__R_OTAU, CONVRNN__R_OGATE,
    CONVRNN__R_OTAU_X, CONVRNN__R_OGATE_X, CONVRNN__R_OTAU_R, CONVRNN__R_OGATE_R, CONVRNN__R_NOPS
};
#define CONVRNN__R_PROJ (3 * CONVRNN__R_NOPS)
#define CONVRNN__R_LN (CONVRNN__R_PROJ + 1)

/* Declare "<scope><cls>/<name>" */
static int convrnn__cell_decl(convrnn_params *ps, const char *scope, const char *cls, const char *name, int rank,
                              int d0, int d1, int d2, int d3, convrnn_init init, double wd) {
    char full[CONVRNN_NAME_MAX + 64];
    int d[4];
    d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
    snprintf(full, sizeof full, "%s%s%s%s", scope ? scope : "", cls, cls[0] ? "/" : "", name);
    if (strlen(full) >= CONVRNN_NAME_MAX) { convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "cell: parameter name too long: %.80s", full); return -1; }
    return convrnn_params_declare(ps, full, rank, d, init, wd, 1);
}

static const char *convrnn__cell_class(convrnn_cell_type t) {
    switch (t) {
    case CONVRNN_CELL_SIMPLERNN: return "ConvNormBasicCell";
    case CONVRNN_CELL_GRU: return "ConvGRUCell";
    case CONVRNN_CELL_LSTM: return "ConvLSTMCell";
    case CONVRNN_CELL_UGRNN: return "ConvUGRNNCell";
    case CONVRNN_CELL_INTERSECTION: return "ConvIntersectionRNNCell";
    case CONVRNN_CELL_RGC: return "ReciprocalGateCell";
    default: return "";
    }
}

/* RGC op table: input source, output depth, kernel size, separable, biased, name. */
typedef struct convrnn__rgc_op { int used, cin, cout, k, ds, bias, flat; const char *name; } convrnn__rgc_op;

static void convrnn__rgc_ops(const convrnn_cell *cell, convrnn__rgc_op *ops) {
    const convrnn_rgc_config *g = &cell->cfg.rgc;
    const int D = cell->cfg.out_depth, Cc = cell->state_c[0] && cell->n_state == 2 ? cell->state_c[0] : 0;
    const int med = g->flavor == CONVRNN_RGC_MEDIAN, cell_on = Cc > 0, cu = cell->cu, cr = cell->cr, cf = cell->cf;
    int i;
    memset(ops, 0, sizeof(convrnn__rgc_op) * CONVRNN__R_NOPS);
#define CONVRNN__OP(id, use, ci, co, kk, dsep, b, fl, nm) do { convrnn__rgc_op *o_ = &ops[id]; o_->used = (use); \
    o_->cin = (ci); o_->cout = (co); o_->k = (kk); o_->ds = (dsep); o_->bias = (b); o_->flat = (fl); o_->name = (nm); } while (0)
    /* bias rules: SHALLOW: only separable ops; MEDIAN: all main ops; extras (x/r gate terms): none */
#define CONVRNN__MAINB(dsep) (med ? 1 : (dsep))
#define CONVRNN__EXTRAB 0
    CONVRNN__OP(CONVRNN__R_IN_FB, cf > 0 && g->fb_entry == CONVRNN_FB_INPUT, cf, cu, g->fb_k, g->fb_ds, CONVRNN__MAINB(g->fb_ds), med, med ? "input/feedback_to_input" : "input/feedback");
    CONVRNN__OP(CONVRNN__R_FF, cell_on && g->input_to_cell, cu, Cc, g->ff_k, g->ff_ds, CONVRNN__MAINB(g->ff_ds), med, "cell/input_to_cell");
    CONVRNN__OP(CONVRNN__R_CRES, cell_on && g->cell_residual, cr, Cc, g->ff_k, g->ff_ds, CONVRNN__MAINB(g->ff_ds), med, "cell/residual_to_cell");
    CONVRNN__OP(CONVRNN__R_CFB, cell_on && cf > 0 && g->fb_entry == CONVRNN_FB_CELL, cf, Cc, g->fb_k, g->fb_ds, CONVRNN__MAINB(g->fb_ds), med, med ? "cell/feedback_to_cell" : "cell/feedback");
    CONVRNN__OP(CONVRNN__R_CTAU, cell_on, Cc, Cc, g->tau_k, g->tau_ds, CONVRNN__MAINB(g->tau_ds), 0, "cell/tau");
    CONVRNN__OP(CONVRNN__R_CGATE, cell_on, D, Cc, g->gate_k, g->gate_ds, CONVRNN__MAINB(g->gate_ds), 0, med ? "cell/out_to_cell" : "cell/gate");
    CONVRNN__OP(CONVRNN__R_CTAU_X, cell_on && g->input_to_tau, cu, Cc, g->tau_k, g->tau_ds, CONVRNN__EXTRAB, 0, "cell/input_to_tau");
    CONVRNN__OP(CONVRNN__R_CGATE_X, cell_on && g->input_to_gate, cu, Cc, g->gate_k, g->gate_ds, CONVRNN__EXTRAB, 0, "cell/input_to_gate");
    CONVRNN__OP(CONVRNN__R_CTAU_R, cell_on && g->residual_to_cell_tau, cr, Cc, g->tau_k, g->tau_ds, CONVRNN__EXTRAB, 0, "cell/residual_to_cell_tau");
    CONVRNN__OP(CONVRNN__R_CGATE_R, cell_on && g->residual_to_cell_gate, cr, Cc, g->gate_k, g->gate_ds, CONVRNN__EXTRAB, 0, "cell/residual_to_cell_gate");
    CONVRNN__OP(CONVRNN__R_IO, g->input_to_out, cu, D, g->in_out_k, g->in_out_ds, CONVRNN__MAINB(g->in_out_ds), med, "out/input_to_out");
    CONVRNN__OP(CONVRNN__R_C2O, cell_on && g->cell_to_out, Cc, D, g->gate_k, g->gate_ds, CONVRNN__MAINB(g->gate_ds), 0, "out/cell_to_out");
    CONVRNN__OP(CONVRNN__R_OFB, cf > 0 && g->fb_entry == CONVRNN_FB_OUT, cf, D, g->fb_k, g->fb_ds, CONVRNN__MAINB(g->fb_ds), med, med ? "out/feedback_to_out" : "out/feedback");
    CONVRNN__OP(CONVRNN__R_OTAU, 1, D, D, g->tau_k, g->tau_ds, CONVRNN__MAINB(g->tau_ds), 0, "out/tau");
    CONVRNN__OP(CONVRNN__R_OGATE, cell_on && !g->cell_to_out, Cc, D, g->gate_k, g->gate_ds, CONVRNN__MAINB(g->gate_ds), 0, "out/gate");
    CONVRNN__OP(CONVRNN__R_OTAU_X, g->input_to_tau, cu, D, g->tau_k, g->tau_ds, CONVRNN__EXTRAB, 0, "out/input_to_tau");
    CONVRNN__OP(CONVRNN__R_OGATE_X, g->input_to_gate, cu, D, g->gate_k, g->gate_ds, CONVRNN__EXTRAB, 0, "out/input_to_gate");
    CONVRNN__OP(CONVRNN__R_OTAU_R, g->residual_to_out_tau, cr, D, g->tau_k, g->tau_ds, CONVRNN__EXTRAB, 0, "out/residual_to_out_tau");
    CONVRNN__OP(CONVRNN__R_OGATE_R, g->residual_to_out_gate, cr, D, g->gate_k, g->gate_ds, CONVRNN__EXTRAB, 0, "out/residual_to_out_gate");
#undef CONVRNN__OP
#undef CONVRNN__MAINB
#undef CONVRNN__EXTRAB
    for (i = 0; i < CONVRNN__R_NOPS; i++) if (ops[i].k <= 0) ops[i].k = 1;
}

static convrnn_status convrnn__cell_fail(convrnn_params *ps, convrnn_status s, const char *what, const char *scope) {
    return convrnn_error_set(&ps->err, s, "cell %s: %s", scope && scope[0] ? scope : "(no scope)", what);
}

static convrnn_status convrnn__rgc_create(convrnn_cell *cell, const char *scope, convrnn_params *ps) {
    const convrnn_rgc_config *g = &cell->cfg.rgc;
    const char *cls = "ReciprocalGateCell";
    const int D = cell->cfg.out_depth;
    int Cc = g->cell_depth < 0 ? D : g->cell_depth, i;
    convrnn__rgc_op ops[CONVRNN__R_NOPS];
    char nm[CONVRNN_NAME_MAX];
    if ((unsigned)g->tau_nl >= CONVRNN_ACT_COUNT || (unsigned)g->gate_nl >= CONVRNN_ACT_COUNT ||
        (unsigned)g->input_act >= CONVRNN_ACT_COUNT || (unsigned)g->cell_act >= CONVRNN_ACT_COUNT ||
        (unsigned)g->out_act >= CONVRNN_ACT_COUNT || (unsigned)g->fb_act >= CONVRNN_ACT_COUNT)
        return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "RGC: unknown activation", scope);
    if ((unsigned)g->fb_entry > CONVRNN_FB_OUT) return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "RGC: unknown feedback entry", scope);
    if (Cc > 0 && !g->input_to_cell && !g->cell_residual)
        return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "RGC: the cell half needs input_to_cell or cell_residual", scope);
    if (!g->input_to_out && cell->cu != D)
        return convrnn__cell_fail(ps, CONVRNN_ERR_SHAPE, "RGC: without input_to_out the input depth must equal out_depth", scope);
    if (cell->cr == 0 && (g->cell_residual || g->out_residual || g->residual_to_cell_tau || g->residual_to_cell_gate ||
                          g->residual_to_out_tau || g->residual_to_out_gate))
        return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "RGC: residual connections need a residual input (cr > 0)", scope);
    cell->n_state = Cc > 0 ? 2 : 1;
    cell->state_c[0] = Cc > 0 ? Cc : D;
    cell->state_c[1] = Cc > 0 ? D : 0;
    cell->out_c = D;
    convrnn__rgc_ops(cell, ops);
    for (i = 0; i < CONVRNN__R_NOPS; i++) {
        const convrnn__rgc_op *o = &ops[i];
        const int kh = o->k < cell->h ? o->k : cell->h, kw = o->k < cell->w ? o->k : cell->w; /* clip to the map */
        const char *sep = o->flat ? "_" : "/";
        if (!o->used) continue;
        if (o->ds) {
            snprintf(nm, sizeof nm, "%s%sdepthwise_weights", o->name, sep);
            cell->p[3 * i] = convrnn__cell_decl(ps, scope, cls, nm, 4, kh, kw, o->cin, 1, g->kernel_init, cell->cfg.weight_decay);
            snprintf(nm, sizeof nm, "%s%spointwise_weights", o->name, sep);
            cell->p[3 * i + 1] = convrnn__cell_decl(ps, scope, cls, nm, 4, 1, 1, o->cin, o->cout, g->kernel_init, cell->cfg.weight_decay);
        } else {
            snprintf(nm, sizeof nm, "%s%sweights", o->name, sep);
            cell->p[3 * i] = convrnn__cell_decl(ps, scope, cls, nm, 4, kh, kw, o->cin, o->cout, g->kernel_init, cell->cfg.weight_decay);
        }
        if (o->bias) {
            snprintf(nm, sizeof nm, "%s%sbias", o->name, sep);
            cell->p[3 * i + 2] = convrnn__cell_decl(ps, scope, cls, nm, 1, o->cout, 1, 1, 1, cell->cfg.bias_init, 0);
        }
    }
    if (g->out_residual && cell->cr != D)
        cell->p[CONVRNN__R_PROJ] = convrnn__cell_decl(ps, scope, cls, "out/residual_add_weights", 4, 1, 1, cell->cr, D, g->kernel_init, cell->cfg.weight_decay);
    if (g->layer_norm) {
        if (Cc > 0) {
            cell->p[CONVRNN__R_LN] = convrnn__cell_decl(ps, scope, cls, "cell/layer_norm/gamma", 1, Cc, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, 1, 0), 0);
            cell->p[CONVRNN__R_LN + 1] = convrnn__cell_decl(ps, scope, cls, "cell/layer_norm/beta", 1, Cc, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), 0);
        }
        cell->p[CONVRNN__R_LN + 2] = convrnn__cell_decl(ps, scope, cls, "out/layer_norm/gamma", 1, D, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, 1, 0), 0);
        cell->p[CONVRNN__R_LN + 3] = convrnn__cell_decl(ps, scope, cls, "out/layer_norm/beta", 1, D, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), 0);
    }
    return ps->err.status;
}

CONVRNNDEF convrnn_status convrnn_cell_create(convrnn_cell *cell, const convrnn_cell_config *cfg,
                                              const char *scope, int h, int w, int cu, int cr, int cf,
                                              convrnn_params *ps) {
    const char *cls;
    int D, k, Cin, i;
    convrnn_init one = convrnn_init_make(CONVRNN_INIT_CONST, 1, 0), zero = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
    if (!cell || !cfg || !ps) return CONVRNN_ERR_ARG;
    if (ps->err.status) return ps->err.status;
    memset(cell, 0, sizeof *cell);
    for (i = 0; i < CONVRNN_CELL_MAX_PARAMS; i++) cell->p[i] = -1;
    cell->cfg = *cfg;
    cell->h = h; cell->w = w; cell->cu = cu; cell->cr = cr; cell->cf = cf;
    if ((unsigned)cfg->type >= CONVRNN_CELL_TYPE_COUNT) return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "unknown cell type", scope);
    if (h <= 0 || w <= 0 || cu <= 0 || cr < 0 || cf < 0) {
        return convrnn_error_set(&ps->err, CONVRNN_ERR_SHAPE, "cell %s: input %dx%dx%d (residual %d, feedback %d) must be positive",
                                 scope ? scope : "", h, w, cu, cr, cf);
    }
    D = cfg->type == CONVRNN_CELL_IDENTITY || cfg->type == CONVRNN_CELL_TIMEDECAY ? cu : cfg->out_depth;
    cell->cfg.out_depth = D;
    if (D <= 0) return convrnn__cell_fail(ps, CONVRNN_ERR_SHAPE, "out_depth must be positive", scope);
    k = cfg->k;
    cls = convrnn__cell_class(cfg->type);
    Cin = cu + D;
    cell->out_c = D;
    cell->n_state = 1;
    cell->state_c[0] = D;
    if (cfg->type >= CONVRNN_CELL_SIMPLERNN && cfg->type <= CONVRNN_CELL_INTERSECTION && k <= 0)
        return convrnn__cell_fail(ps, CONVRNN_ERR_SHAPE, "filter size must be positive", scope);
    switch (cfg->type) {
    case CONVRNN_CELL_IDENTITY:
        cell->n_state = 0; cell->state_c[0] = 0;
        break;
    case CONVRNN_CELL_TIMEDECAY:
        cell->p[0] = convrnn__cell_decl(ps, scope, "", "memory_decay", 1, 1, 1, 1, 1, zero, 0);
        break;
    case CONVRNN_CELL_SIMPLERNN:
        cell->p[CONVRNN__SR_IW] = convrnn__cell_decl(ps, scope, cls, "i/weights", 4, k, k, cu, D, cfg->kernel_init, cfg->weight_decay);
        cell->p[CONVRNN__SR_IB] = convrnn__cell_decl(ps, scope, cls, "i/bias", 1, D, 1, 1, 1, cfg->bias_init, cfg->weight_decay);
        cell->p[CONVRNN__SR_SW] = convrnn__cell_decl(ps, scope, cls, "s/weights", 4, k, k, D, D, cfg->kernel_init, cfg->weight_decay);
        cell->p[CONVRNN__SR_SB] = convrnn__cell_decl(ps, scope, cls, "s/bias", 1, D, 1, 1, 1, cfg->bias_init, cfg->weight_decay);
        if (cfg->layer_norm) {
            cell->p[CONVRNN__SR_G] = convrnn__cell_decl(ps, scope, cls, "layer_norm/gamma", 1, D, 1, 1, 1, one, 0);
            cell->p[CONVRNN__SR_B] = convrnn__cell_decl(ps, scope, cls, "layer_norm/beta", 1, D, 1, 1, 1, zero, 0);
        }
        break;
    case CONVRNN_CELL_GRU:
        cell->p[CONVRNN__GRU_GW] = convrnn__cell_decl(ps, scope, cls, "gates/weights", 4, k, k, Cin, 2 * D, cfg->kernel_init, cfg->weight_decay);
        cell->p[CONVRNN__GRU_GB] = convrnn__cell_decl(ps, scope, cls, "gates/bias", 1, 2 * D, 1, 1, 1, one, 0);
        cell->p[CONVRNN__GRU_CW] = convrnn__cell_decl(ps, scope, cls, "candidates/weights", 4, k, k, Cin, D, cfg->kernel_init, cfg->weight_decay);
        cell->p[CONVRNN__GRU_CB] = convrnn__cell_decl(ps, scope, cls, "candidates/bias", 1, D, 1, 1, 1, cfg->bias_init, 0);
        if (cfg->layer_norm) {
            static const char *nm[] = { "gates/r_ln/gamma", "gates/r_ln/beta", "gates/u_ln/gamma", "gates/u_ln/beta",
                                        "candidates/ln/gamma", "candidates/ln/beta" };
            for (i = 0; i < 6; i++)
                cell->p[CONVRNN__GRU_LN + i] = convrnn__cell_decl(ps, scope, cls, nm[i], 1, D, 1, 1, 1, i % 2 ? zero : one, 0);
        }
        break;
    case CONVRNN_CELL_LSTM:
        cell->n_state = 2; cell->state_c[0] = D; cell->state_c[1] = D;
        cell->p[CONVRNN__LSTM_W] = convrnn__cell_decl(ps, scope, cls, "weights", 4, k, k, Cin, 4 * D, cfg->kernel_init, cfg->weight_decay);
        cell->p[CONVRNN__LSTM_B] = convrnn__cell_decl(ps, scope, cls, "bias", 1, 4 * D, 1, 1, 1, cfg->bias_init, 0);
        if (cfg->layer_norm) {
            static const char *nm[] = { "input/gamma", "input/beta", "transform/gamma", "transform/beta", "forget/gamma",
                                        "forget/beta", "output/gamma", "output/beta", "state/gamma", "state/beta" };
            for (i = 0; i < 10; i++)
                cell->p[CONVRNN__LSTM_LN + i] = convrnn__cell_decl(ps, scope, cls, nm[i], 1, D, 1, 1, 1, i % 2 ? zero : one, 0);
        }
        if (cfg->peepholes) {
            static const char *nm[] = { "peepholes/w_f_diag", "peepholes/w_i_diag", "peepholes/w_o_diag" };
            for (i = 0; i < 3; i++)
                cell->p[CONVRNN__LSTM_PEEP + i] = convrnn__cell_decl(ps, scope, cls, nm[i], 3, h, w, D, 1, cfg->kernel_init, 0);
        }
        break;
    case CONVRNN_CELL_UGRNN:
        cell->p[0] = convrnn__cell_decl(ps, scope, cls, "weights", 4, k, k, Cin, 2 * D, cfg->kernel_init, cfg->weight_decay);
        cell->p[1] = convrnn__cell_decl(ps, scope, cls, "bias", 1, 2 * D, 1, 1, 1, cfg->bias_init, 0);
        break;
    case CONVRNN_CELL_INTERSECTION:
        if (cu != D) return convrnn_error_set(&ps->err, CONVRNN_ERR_SHAPE,
            "cell %s: IntersectionRNN needs input depth (%d) equal to out_depth (%d)", scope ? scope : "", cu, D);
        cell->p[0] = convrnn__cell_decl(ps, scope, cls, "weights", 4, k, k, Cin, 4 * D, cfg->kernel_init, cfg->weight_decay);
        cell->p[1] = convrnn__cell_decl(ps, scope, cls, "bias", 1, 4 * D, 1, 1, 1, cfg->bias_init, 0);
        break;
    case CONVRNN_CELL_RGC:
        return convrnn__rgc_create(cell, scope, ps);
    default:
        break;
    }
    return ps->err.status;
}

/* --- step helpers */
#define CONVRNN__P(i) convrnn_params_tensor(ps, cell->p[i])

/* g (.) a + (1 - g) (.) b, computed as b + g (.) (a - b) */
static convrnn_tensor *convrnn__mix(convrnn_tape *t, convrnn_tensor *g, convrnn_tensor *a, convrnn_tensor *b) {
    return convrnn_add(t, b, convrnn_mul(t, g, convrnn_sub(t, a, b)));
}
static convrnn_tensor *convrnn__cat2(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b) {
    convrnn_tensor *xs[2];
    xs[0] = a; xs[1] = b;
    return convrnn_concat(t, xs, 2);
}

/* One RGC op (conventional or separable, with or without bias); MEDIAN adds the tau/gate scalars
   to conventional tau/gate ops. */
static convrnn_tensor *convrnn__rgc_apply(convrnn_tape *t, const convrnn_cell *cell, convrnn_params *ps,
                                          const convrnn__rgc_op *ops, int id, convrnn_tensor *x) {
    const convrnn__rgc_op *o = &ops[id];
    convrnn_tensor *b = cell->p[3 * id + 2] >= 0 ? CONVRNN__P(3 * id + 2) : NULL, *y;
    if (o->ds) y = convrnn_separable_conv2d(t, x, CONVRNN__P(3 * id), CONVRNN__P(3 * id + 1), b, 1, CONVRNN_SAME);
    else y = convrnn_conv2d(t, x, CONVRNN__P(3 * id), b, 1, CONVRNN_SAME);
    if (cell->cfg.rgc.flavor == CONVRNN_RGC_MEDIAN && !o->ds) {
        if (id == CONVRNN__R_CTAU || id == CONVRNN__R_OTAU) y = convrnn_affine(t, y, 1, cell->cfg.rgc.tau_bias);
        if (id == CONVRNN__R_CGATE || id == CONVRNN__R_OGATE) y = convrnn_affine(t, y, 1, cell->cfg.rgc.gate_bias);
    }
    return y;
}
/* acc + op(x), or op(x) when acc is the "nothing yet" marker */
static convrnn_tensor *convrnn__rgc_acc(convrnn_tape *t, const convrnn_cell *cell, convrnn_params *ps,
                                        const convrnn__rgc_op *ops, convrnn_tensor *acc, int *have, int id,
                                        convrnn_tensor *x) {
    convrnn_tensor *y;
    if (!ops[id].used) return acc;
    y = convrnn__rgc_apply(t, cell, ps, ops, id, x);
    if (!*have) { *have = 1; return y; }
    return convrnn_add(t, acc, y);
}

/* Reciprocal gated circuit, one step (spec 5.7). Shapes: x [N,h,w,cu], r [N,h,w,cr], f [N,h,w,cf],
   c [N,h,w,Cc], h [N,h,w,D].
     x   <- phi_in(x [+ phi_fb(Op_fb f) if entry = input])
     u_c  = [cell_residual] Op_ff(r) + [input_to_cell] Op_ff(x) + [entry = cell] phi_fb(Op_fb f)
     a_c  = Op_tau(c_{t-1}) [+ Op(x)] [+ Op(r)]        g_c = Op_gate(h_{t-1}) [+ Op(x)] [+ Op(r)]
     c_t  = phi_c(LN?((o_tau + m_tau s_tau(a_c)) c_{t-1} + (o_g + m_g s_g(g_c)) u_c))
     u_h  = ([input_to_out] Op_io(x) else x) + [cell_to_out] Op_gate(c_{t-1}) + [out_residual] R(r)
            + [entry = out] phi_fb(Op_fb f)
     a_h  = Op_tau(h_{t-1}) [+ ...]                    g_h = [cell, !cell_to_out] Op_gate(c_{t-1}) [+ ...]
     h_t  = phi_h(LN?((o_tau + m_tau s_tau(a_h)) h_{t-1} + (o_g + m_g s_g(g_h)) u_h)) */
static void convrnn__rgc_step(convrnn_tape *t, const convrnn_cell *cell, convrnn_params *ps, convrnn_tensor *x,
                              convrnn_tensor *r, convrnn_tensor *f, convrnn_tensor **state, convrnn_tensor **out) {
    const convrnn_rgc_config *g = &cell->cfg.rgc;
    convrnn__rgc_op ops[CONVRNN__R_NOPS];
    const int cell_on = cell->n_state == 2;
    convrnn_tensor *c_prev = cell_on ? state[0] : NULL, *h_prev = cell_on ? state[1] : state[0];
    convrnn_tensor *u_c = NULL, *a, *gt, *pre, *u_h, *c_new = NULL, *h_new;
    int have;
    convrnn__rgc_ops(cell, ops);
    if (ops[CONVRNN__R_IN_FB].used)
        x = convrnn_add(t, x, convrnn_activate(t, convrnn__rgc_apply(t, cell, ps, ops, CONVRNN__R_IN_FB, f), g->fb_act));
    x = convrnn_activate(t, x, g->input_act);
    if (cell_on) {
        have = 0;
        u_c = convrnn__rgc_acc(t, cell, ps, ops, u_c, &have, CONVRNN__R_CRES, r);
        u_c = convrnn__rgc_acc(t, cell, ps, ops, u_c, &have, CONVRNN__R_FF, x);
        if (ops[CONVRNN__R_CFB].used) {
            convrnn_tensor *fc = convrnn_activate(t, convrnn__rgc_apply(t, cell, ps, ops, CONVRNN__R_CFB, f), g->fb_act);
            u_c = have ? convrnn_add(t, u_c, fc) : fc;
        }
        have = 0; a = NULL;
        a = convrnn__rgc_acc(t, cell, ps, ops, a, &have, CONVRNN__R_CTAU, c_prev);
        a = convrnn__rgc_acc(t, cell, ps, ops, a, &have, CONVRNN__R_CTAU_X, x);
        a = convrnn__rgc_acc(t, cell, ps, ops, a, &have, CONVRNN__R_CTAU_R, r);
        have = 0; gt = NULL;
        gt = convrnn__rgc_acc(t, cell, ps, ops, gt, &have, CONVRNN__R_CGATE, h_prev);
        gt = convrnn__rgc_acc(t, cell, ps, ops, gt, &have, CONVRNN__R_CGATE_X, x);
        gt = convrnn__rgc_acc(t, cell, ps, ops, gt, &have, CONVRNN__R_CGATE_R, r);
        pre = convrnn_add(t,
            convrnn_mul(t, convrnn_affine(t, convrnn_activate(t, a, g->tau_nl), g->tau_mult, g->tau_offset), c_prev),
            convrnn_mul(t, convrnn_affine(t, convrnn_activate(t, gt, g->gate_nl), g->gate_mult, g->gate_offset), u_c));
        if (cell->p[CONVRNN__R_LN] >= 0) pre = convrnn_layer_norm(t, pre, CONVRNN__P(CONVRNN__R_LN), CONVRNN__P(CONVRNN__R_LN + 1), 1e-12);
        c_new = convrnn_activate(t, pre, g->cell_act);
    }
    u_h = ops[CONVRNN__R_IO].used ? convrnn__rgc_apply(t, cell, ps, ops, CONVRNN__R_IO, x) : x;
    if (ops[CONVRNN__R_C2O].used) u_h = convrnn_add(t, u_h, convrnn__rgc_apply(t, cell, ps, ops, CONVRNN__R_C2O, c_prev));
    if (g->out_residual) u_h = convrnn_residual_add(t, u_h, r, cell->p[CONVRNN__R_PROJ] >= 0 ? CONVRNN__P(CONVRNN__R_PROJ) : NULL);
    if (ops[CONVRNN__R_OFB].used)
        u_h = convrnn_add(t, u_h, convrnn_activate(t, convrnn__rgc_apply(t, cell, ps, ops, CONVRNN__R_OFB, f), g->fb_act));
    have = 0; a = NULL;
    a = convrnn__rgc_acc(t, cell, ps, ops, a, &have, CONVRNN__R_OTAU, h_prev);
    a = convrnn__rgc_acc(t, cell, ps, ops, a, &have, CONVRNN__R_OTAU_X, x);
    a = convrnn__rgc_acc(t, cell, ps, ops, a, &have, CONVRNN__R_OTAU_R, r);
    have = 0; gt = NULL;
    gt = convrnn__rgc_acc(t, cell, ps, ops, gt, &have, CONVRNN__R_OGATE, c_prev);
    gt = convrnn__rgc_acc(t, cell, ps, ops, gt, &have, CONVRNN__R_OGATE_X, x);
    gt = convrnn__rgc_acc(t, cell, ps, ops, gt, &have, CONVRNN__R_OGATE_R, r);
    if (!have && h_prev) gt = convrnn_tape_fill(t, h_prev->d[0], h_prev->d[1], h_prev->d[2], h_prev->d[3], 0);
    pre = convrnn_add(t,
        convrnn_mul(t, convrnn_affine(t, convrnn_activate(t, a, g->tau_nl), g->tau_mult, g->tau_offset), h_prev),
        convrnn_mul(t, convrnn_affine(t, convrnn_activate(t, gt, g->gate_nl), g->gate_mult, g->gate_offset), u_h));
    if (cell->p[CONVRNN__R_LN + 2] >= 0) pre = convrnn_layer_norm(t, pre, CONVRNN__P(CONVRNN__R_LN + 2), CONVRNN__P(CONVRNN__R_LN + 3), 1e-12);
    h_new = convrnn_activate(t, pre, g->out_act);
    if (cell_on) { state[0] = c_new; state[1] = h_new; }
    else state[0] = h_new;
    *out = h_new;
}

CONVRNNDEF convrnn_status convrnn_cell_step(convrnn_tape *t, const convrnn_cell *cell, convrnn_params *ps,
                                            convrnn_tensor *u, convrnn_tensor *r, convrnn_tensor *f,
                                            convrnn_tensor **state, convrnn_tensor **out) {
    const convrnn_cell_config *cfg;
    int N, D, i;
    if (!t) return CONVRNN_ERR_ARG;
    if (t->err.status) return t->err.status;
    if (!cell || !ps || !out || (cell->n_state > 0 && !state))
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "cell_step: NULL cell, params, state or output");
    if (!u) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "cell_step: input is NULL");
    if (!ps->finalized) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "cell_step: parameters not finalized");
    cfg = &cell->cfg;
    D = cfg->out_depth;
    N = u->d[0];
    if (u->d[1] != cell->h || u->d[2] != cell->w || u->d[3] != cell->cu)
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "cell_step (%s): input [%d,%d,%d,%d], cell expects [N,%d,%d,%d]",
            convrnn_cell_type_name(cfg->type), u->d[0], u->d[1], u->d[2], u->d[3], cell->h, cell->w, cell->cu);
    if (r && (r->d[0] != N || r->d[3] != cell->cr))
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "cell_step: residual [%d,%d,%d,%d], cell expects %d channels",
            r->d[0], r->d[1], r->d[2], r->d[3], cell->cr);
    if (f && (f->d[0] != N || f->d[1] != cell->h || f->d[2] != cell->w || f->d[3] != cell->cf))
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "cell_step: feedback [%d,%d,%d,%d], cell expects [N,%d,%d,%d]",
            f->d[0], f->d[1], f->d[2], f->d[3], cell->h, cell->w, cell->cf);
    if (cell->cr > 0 && !r) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "cell_step: the cell needs its residual input");
    if (cell->cf > 0 && !f) f = convrnn_tape_zeros(t, N, cell->h, cell->w, cell->cf, 0);
    for (i = 0; i < cell->n_state; i++) {
        if (!state[i]) state[i] = convrnn_tape_zeros(t, N, cell->h, cell->w, cell->state_c[i], 0);
        else if (state[i]->d[0] != N || state[i]->d[1] != cell->h || state[i]->d[2] != cell->w || state[i]->d[3] != cell->state_c[i])
            return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "cell_step: state %d is [%d,%d,%d,%d], expected [%d,%d,%d,%d]", i,
                state[i]->d[0], state[i]->d[1], state[i]->d[2], state[i]->d[3], N, cell->h, cell->w, cell->state_c[i]);
    }
    switch (cfg->type) {
    case CONVRNN_CELL_IDENTITY:
        /* memory with decay 0: output = input */
        *out = u;
        break;
    case CONVRNN_CELL_TIMEDECAY:
        /* s_t = d s_{t-1} + u_t ; d: scalar [1] */
        state[0] = convrnn_add(t, convrnn_mul(t, state[0], CONVRNN__P(0)), u);
        *out = state[0];
        break;
    case CONVRNN_CELL_SIMPLERNN: {
        /* h_t = ELU(N(W_i*u_t + b_i + W_s*h_{t-1} + b_s)); W_i [k,k,Cu,D], W_s [k,k,D,D] */
        convrnn_tensor *z = convrnn_add(t, convrnn_conv2d(t, u, CONVRNN__P(CONVRNN__SR_IW), CONVRNN__P(CONVRNN__SR_IB), 1, CONVRNN_SAME),
                                        convrnn_conv2d(t, state[0], CONVRNN__P(CONVRNN__SR_SW), CONVRNN__P(CONVRNN__SR_SB), 1, CONVRNN_SAME));
        if (cfg->layer_norm) z = convrnn_layer_norm(t, z, CONVRNN__P(CONVRNN__SR_G), CONVRNN__P(CONVRNN__SR_B), 1e-12);
        state[0] = *out = convrnn_activate(t, z, CONVRNN_ACT_ELU);
        break;
    }
    case CONVRNN_CELL_GRU: {
        /* [r~,z~] = W_g*[u,h] + b_g (W_g [k,k,Cu+D,2D]); r = sig(r~ + fb); z = sig(z~)
           c = tanh(W_c*[u, r h] + b_c) (W_c [k,k,Cu+D,D]); h_t = z h + (1-z) c */
        convrnn_tensor *h = state[0], *gz, *rr, *zz, *cc;
        gz = convrnn_conv2d(t, convrnn__cat2(t, u, h), CONVRNN__P(CONVRNN__GRU_GW), CONVRNN__P(CONVRNN__GRU_GB), 1, CONVRNN_SAME);
        rr = convrnn_slice_channels(t, gz, 0, D);
        zz = convrnn_slice_channels(t, gz, D, D);
        if (cfg->layer_norm) {
            rr = convrnn_layer_norm(t, rr, CONVRNN__P(CONVRNN__GRU_LN), CONVRNN__P(CONVRNN__GRU_LN + 1), 1e-12);
            zz = convrnn_layer_norm(t, zz, CONVRNN__P(CONVRNN__GRU_LN + 2), CONVRNN__P(CONVRNN__GRU_LN + 3), 1e-12);
        }
        rr = convrnn_activate(t, convrnn_affine(t, rr, 1, cfg->forget_bias), CONVRNN_ACT_SIGMOID);
        zz = convrnn_activate(t, zz, CONVRNN_ACT_SIGMOID);
        cc = convrnn_conv2d(t, convrnn__cat2(t, u, convrnn_mul(t, rr, h)), CONVRNN__P(CONVRNN__GRU_CW), CONVRNN__P(CONVRNN__GRU_CB), 1, CONVRNN_SAME);
        if (cfg->layer_norm) cc = convrnn_layer_norm(t, cc, CONVRNN__P(CONVRNN__GRU_LN + 4), CONVRNN__P(CONVRNN__GRU_LN + 5), 1e-12);
        cc = convrnn_activate(t, cc, CONVRNN_ACT_TANH);
        state[0] = *out = convrnn__mix(t, zz, h, cc);
        break;
    }
    case CONVRNN_CELL_LSTM: {
        /* [i,j,f,o] = W*[u,h] + b (W [k,k,Cu+D,4D]); LN? each; peepholes P [h,w,D] read c_{t-1}
           c_t = c sig(f + fb + P_f c) + sig(i + P_i c) tanh(j); LN_state?(c_t); h_t = tanh(c_t) sig(o + P_o c) */
        convrnn_tensor *c = state[0], *h = state[1], *z, *gi, *gj, *gf, *go, *cn;
        const int ln = cfg->layer_norm, pp = cfg->peepholes;
        z = convrnn_conv2d(t, convrnn__cat2(t, u, h), CONVRNN__P(CONVRNN__LSTM_W), CONVRNN__P(CONVRNN__LSTM_B), 1, CONVRNN_SAME);
        gi = convrnn_slice_channels(t, z, 0, D);
        gj = convrnn_slice_channels(t, z, D, D);
        gf = convrnn_slice_channels(t, z, 2 * D, D);
        go = convrnn_slice_channels(t, z, 3 * D, D);
        if (ln) {
            gi = convrnn_layer_norm(t, gi, CONVRNN__P(CONVRNN__LSTM_LN + 0), CONVRNN__P(CONVRNN__LSTM_LN + 1), 1e-12);
            gj = convrnn_layer_norm(t, gj, CONVRNN__P(CONVRNN__LSTM_LN + 2), CONVRNN__P(CONVRNN__LSTM_LN + 3), 1e-12);
            gf = convrnn_layer_norm(t, gf, CONVRNN__P(CONVRNN__LSTM_LN + 4), CONVRNN__P(CONVRNN__LSTM_LN + 5), 1e-12);
            go = convrnn_layer_norm(t, go, CONVRNN__P(CONVRNN__LSTM_LN + 6), CONVRNN__P(CONVRNN__LSTM_LN + 7), 1e-12);
        }
        gf = convrnn_affine(t, gf, 1, cfg->forget_bias);
        if (pp) {
            gf = convrnn_add(t, gf, convrnn_mul(t, c, CONVRNN__P(CONVRNN__LSTM_PEEP + 0)));
            gi = convrnn_add(t, gi, convrnn_mul(t, c, CONVRNN__P(CONVRNN__LSTM_PEEP + 1)));
            go = convrnn_add(t, go, convrnn_mul(t, c, CONVRNN__P(CONVRNN__LSTM_PEEP + 2)));
        }
        cn = convrnn_add(t, convrnn_mul(t, c, convrnn_activate(t, gf, CONVRNN_ACT_SIGMOID)),
                         convrnn_mul(t, convrnn_activate(t, gi, CONVRNN_ACT_SIGMOID), convrnn_activate(t, gj, CONVRNN_ACT_TANH)));
        if (ln) cn = convrnn_layer_norm(t, cn, CONVRNN__P(CONVRNN__LSTM_LN + 8), CONVRNN__P(CONVRNN__LSTM_LN + 9), 1e-12);
        state[0] = cn;
        state[1] = *out = convrnn_mul(t, convrnn_activate(t, cn, CONVRNN_ACT_TANH), convrnn_activate(t, go, CONVRNN_ACT_SIGMOID));
        break;
    }
    case CONVRNN_CELL_UGRNN: {
        /* [g~,c~] = W*[u,h] + b (W [k,k,Cu+D,2D]); g = sig(g~ + fb); h_t = g h + (1-g) tanh(c~) */
        convrnn_tensor *h = state[0], *z, *gg, *cc;
        z = convrnn_conv2d(t, convrnn__cat2(t, u, h), CONVRNN__P(0), CONVRNN__P(1), 1, CONVRNN_SAME);
        gg = convrnn_activate(t, convrnn_affine(t, convrnn_slice_channels(t, z, 0, D), 1, cfg->forget_bias), CONVRNN_ACT_SIGMOID);
        cc = convrnn_activate(t, convrnn_slice_channels(t, z, D, D), CONVRNN_ACT_TANH);
        state[0] = *out = convrnn__mix(t, gg, h, cc);
        break;
    }
    case CONVRNN_CELL_INTERSECTION: {
        /* [gh~,h~,gy~,y~] = W*[u,h] + b (W [k,k,Cu+D,4D]); gh = sig(gh~ + fb); gy = sig(gy~ + fb)
           h_t = gh h + (1-gh) tanh(h~) (state); y_t = gy u + (1-gy) relu(y~) (output) */
        convrnn_tensor *h = state[0], *z, *gh, *hh, *gy, *yy;
        z = convrnn_conv2d(t, convrnn__cat2(t, u, h), CONVRNN__P(0), CONVRNN__P(1), 1, CONVRNN_SAME);
        gh = convrnn_activate(t, convrnn_affine(t, convrnn_slice_channels(t, z, 0, D), 1, cfg->forget_bias), CONVRNN_ACT_SIGMOID);
        hh = convrnn_activate(t, convrnn_slice_channels(t, z, D, D), CONVRNN_ACT_TANH);
        gy = convrnn_activate(t, convrnn_affine(t, convrnn_slice_channels(t, z, 2 * D, D), 1, cfg->forget_bias), CONVRNN_ACT_SIGMOID);
        yy = convrnn_activate(t, convrnn_slice_channels(t, z, 3 * D, D), CONVRNN_ACT_RELU);
        state[0] = convrnn__mix(t, gh, h, hh);
        *out = convrnn__mix(t, gy, u, yy);
        break;
    }
    case CONVRNN_CELL_RGC:
        convrnn__rgc_step(t, cell, ps, u, r, f, state, out);
        break;
    default:
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "cell_step: unknown cell type %d", (int)cfg->type);
    }
    if (!t->err.status && !*out) convrnn__fail(t, CONVRNN_ERR_ARG, "cell_step: missing parameter (cell created with another store?)");
    return t->err.status;
}
#undef CONVRNN__P

