/* ====================================================================================== [IMPL-TRAIN] */

CONVRNNDEF convrnn_sgd_config convrnn_sgd_default(void) {
    convrnn_sgd_config c;
    memset(&c, 0, sizeof c);
    c.lr = 0.01; c.momentum = 0.9; c.wd_scale = 1.0; c.step_gamma = 0.1;
    return c;
}

CONVRNNDEF double convrnn_lr_at(const convrnn_sgd_config *c, long step) {
    double lr = c->lr;
    if (c->warmup > 0 && step < c->warmup) return c->lr * (double)(step + 1) / (double)c->warmup;
    switch (c->schedule) {
    case CONVRNN_LR_STEP:
        if (c->step_every > 0) lr *= pow(c->step_gamma, (double)(step / c->step_every));
        break;
    case CONVRNN_LR_COSINE:
        if (c->total_steps > c->warmup) {
            double p = (double)(step - c->warmup) / (double)(c->total_steps - c->warmup);
            if (p > 1) p = 1;
            lr *= 0.5 * (1 + cos(3.14159265358979323846 * p));
        }
        break;
    default: break;
    }
    return lr;
}

CONVRNNDEF double convrnn_weight_decay_loss(const convrnn_params *ps, double wd_scale) {
    double total = 0;
    int i;
    size_t j;
    for (i = 0; i < ps->count; i++) {
        const convrnn_param_info *p = &ps->info[i];
        double s = 0;
        if (!p->trainable || p->weight_decay == 0) continue;
        for (j = 0; j < p->size; j++) s += (double)ps->values[p->offset + j] * ps->values[p->offset + j];
        total += p->weight_decay * wd_scale * s / 2;
    }
    return total;
}

CONVRNNDEF convrnn_status convrnn_sgd_step(convrnn_params *ps, const convrnn_sgd_config *c, long step,
                                           double *grad_norm, convrnn_error *err) {
    int i;
    size_t j;
    double norm2 = 0, scale = 1, lr;
    if (!ps || !c || !ps->finalized) return convrnn_error_set(err, CONVRNN_ERR_ARG, "sgd_step: parameters not ready");
    if (!(c->lr >= 0) || !(c->momentum >= 0) || !(c->clip_value >= 0) || !(c->clip_norm >= 0))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "sgd_step: lr %g, momentum %g, clip %g/%g must be >= 0", c->lr, c->momentum, c->clip_value, c->clip_norm);
    /* 1. weight decay into the gradients; global norm (in parameter order, double) */
    for (i = 0; i < ps->count; i++) {
        const convrnn_param_info *p = &ps->info[i];
        convrnn_real *g = ps->grads + p->offset;
        const convrnn_real *w = ps->values + p->offset;
        const convrnn_real lam = (convrnn_real)(p->weight_decay * c->wd_scale);
        if (!p->trainable) continue;
        for (j = 0; j < p->size; j++) {
            if (lam != 0) g[j] += lam * w[j];
            norm2 += (double)g[j] * g[j];
        }
    }
    if (grad_norm) *grad_norm = sqrt(norm2);
    if (!(norm2 - norm2 == 0)) return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "sgd_step: gradients are not finite at step %ld", step);
    /* 2. clip by value, 3. clip by global norm */
    if (c->clip_value > 0 || c->clip_norm > 0) {
        const convrnn_real cv = (convrnn_real)c->clip_value;
        double n2 = 0;
        for (i = 0; i < ps->count; i++) {
            const convrnn_param_info *p = &ps->info[i];
            convrnn_real *g = ps->grads + p->offset;
            if (!p->trainable) continue;
            for (j = 0; j < p->size; j++) {
                if (cv > 0) g[j] = g[j] > cv ? cv : g[j] < -cv ? -cv : g[j];
                n2 += (double)g[j] * g[j];
            }
        }
        if (c->clip_norm > 0 && sqrt(n2) > c->clip_norm) scale = c->clip_norm / sqrt(n2);
    }
    /* 4. momentum update */
    lr = convrnn_lr_at(c, step);
    for (i = 0; i < ps->count; i++) {
        const convrnn_param_info *p = &ps->info[i];
        convrnn_real *g = ps->grads + p->offset, *w = ps->values + p->offset, *a = ps->opt_state + p->offset;
        const convrnn_real m = (convrnn_real)c->momentum, l = (convrnn_real)lr, sc = (convrnn_real)scale;
        if (!p->trainable) continue;
        for (j = 0; j < p->size; j++) {
            const convrnn_real gj = g[j] * sc;
            a[j] = m * a[j] + gj;
            w[j] -= c->nesterov ? l * (gj + m * a[j]) : l * a[j];
        }
    }
    return CONVRNN_OK;
}

/* ---- data */
CONVRNNDEF convrnn_status convrnn_dataset_stats(const convrnn_dataset *ds, double *mean, double *std, convrnn_error *err) {
    double s[4] = { 0, 0, 0, 0 }, q[4] = { 0, 0, 0, 0 };
    size_t i, np;
    int c;
    if (!ds || !ds->images || ds->n <= 0 || ds->c < 1 || ds->c > 4 || !mean || !std)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "dataset_stats: empty data set or more than 4 channels");
    np = (size_t)ds->n * ds->h * ds->w;
    for (i = 0; i < np; i++)
        for (c = 0; c < ds->c; c++) {
            const double v = ds->images[i * ds->c + c] / 255.0;
            s[c] += v; q[c] += v * v;
        }
    for (c = 0; c < ds->c; c++) {
        mean[c] = s[c] / np;
        std[c] = sqrt(q[c] / np - mean[c] * mean[c]);
        if (!(std[c] > 1e-8)) std[c] = 1;
    }
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_shuffle(int *idx, int n, convrnn_rng *r) {
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)convrnn_rng_below(r, (uint32_t)(i + 1)), t = idx[i];
        idx[i] = idx[j]; idx[j] = t;
    }
}

CONVRNNDEF void convrnn_batch_fill(const convrnn_dataset *ds, const int *idx, int n, const convrnn_data_config *dc,
                                   convrnn_rng *rng, convrnn_real *out, int *labels) {
    const int H = ds->h, W = ds->w, C = ds->c, pad = rng ? dc->crop_pad : 0;
    int b, y, x, c;
    for (b = 0; b < n; b++) {
        const uint8_t *src = ds->images + (size_t)idx[b] * H * W * C;
        convrnn_real *dst = out + (size_t)b * H * W * C;
        int oy = 0, ox = 0, flip = 0;
        if (pad > 0) { oy = (int)convrnn_rng_below(rng, (uint32_t)(2 * pad + 1)) - pad; ox = (int)convrnn_rng_below(rng, (uint32_t)(2 * pad + 1)) - pad; }
        if (rng && dc->hflip) flip = (int)convrnn_rng_below(rng, 2);
        for (y = 0; y < H; y++)
            for (x = 0; x < W; x++) {
                const int sy = y + oy, sx0 = x + ox, sx = flip ? W - 1 - sx0 : sx0;
                const int inside = sy >= 0 && sy < H && sx0 >= 0 && sx0 < W;
                for (c = 0; c < C; c++) {
                    const double v = inside ? src[((size_t)sy * W + sx) * C + c] / 255.0 : 0.0;
                    dst[((size_t)y * W + x) * C + c] = (convrnn_real)((v - dc->mean[c]) / dc->std[c]);
                }
            }
        if (labels) labels[b] = ds->labels[idx[b]];
    }
}

CONVRNNDEF convrnn_status convrnn_dataset_synthetic(convrnn_dataset *ds, int n, int h, int w, int c, int num_classes,
                                                    uint64_t seed, convrnn_error *err) {
    convrnn_rng r;
    int i, y, x, k;
    if (!ds || n <= 0 || h <= 0 || w <= 0 || c <= 0 || c > 4 || num_classes <= 0 || num_classes > 256)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "dataset_synthetic: bad size");
    memset(ds, 0, sizeof *ds);
    ds->images = (uint8_t *)convrnn_calloc(NULL, (size_t)n * h * w, (size_t)c);
    ds->labels = (int32_t *)convrnn_calloc(NULL, (size_t)n, sizeof(int32_t));
    if (!ds->images || !ds->labels) { convrnn_dataset_free(ds); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "dataset_synthetic: out of memory"); }
    ds->n = n; ds->h = h; ds->w = w; ds->c = c; ds->num_classes = num_classes;
    convrnn_rng_seed(&r, seed);
    for (i = 0; i < n; i++) {
        const int lab = (int)convrnn_rng_below(&r, (uint32_t)num_classes);
        /* class -> orientation and spatial frequency; instance -> phase, contrast, position jitter, noise */
        const double th = 3.14159265358979 * (lab % 5) / 5.0 + 0.1 * (convrnn_rng_uniform(&r) - 0.5);
        const double fr = (lab < 5 || num_classes <= 5 ? 2.0 : 3.5) * 6.283185307179586 / (double)w;
        const double ph = 6.283185307179586 * convrnn_rng_uniform(&r), con = 0.3 + 0.6 * convrnn_rng_uniform(&r);
        const double cx = fr * cos(th), cy = fr * sin(th);
        ds->labels[i] = lab;
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                const double g = 0.5 + 0.5 * con * sin(x * cx + y * cy + ph);
                for (k = 0; k < c; k++) {
                    double v = g + 0.12 * convrnn_rng_normal(&r);
                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    ds->images[(((size_t)i * h + y) * w + x) * c + k] = (uint8_t)(v * 255.0 + 0.5);
                }
            }
    }
    return CONVRNN_OK;
}

/* ---- training loop */
static uint64_t convrnn__mix64(uint64_t a, uint64_t b) {
    uint64_t z = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) * 0xD1B54A32D192ED03ULL;
    return convrnn__splitmix(&z);
}

CONVRNNDEF convrnn_status convrnn_trainer_init(convrnn_trainer *tr, convrnn_model *m, const convrnn_dataset *train,
                                               const convrnn_train_config *cfg) {
    size_t nx;
    if (!tr) return CONVRNN_ERR_ARG;
    memset(tr, 0, sizeof *tr);
    if (!m || !train || !cfg) return convrnn_error_set(&tr->err, CONVRNN_ERR_ARG, "trainer_init: NULL argument");
    if (cfg->batch <= 0 || cfg->T <= 0 || cfg->image_off < 0)
        return convrnn_error_set(&tr->err, CONVRNN_ERR_ARG, "trainer_init: batch %d, T %d, image_off %d", cfg->batch, cfg->T, cfg->image_off);
    if (train->n < cfg->batch) return convrnn_error_set(&tr->err, CONVRNN_ERR_ARG, "trainer_init: %d images, fewer than one batch of %d", train->n, cfg->batch);
    if (train->c != m->spec.in_c) return convrnn_error_set(&tr->err, CONVRNN_ERR_SHAPE, "trainer_init: images have %d channels, the model takes %d", train->c, m->spec.in_c);
    if (train->num_classes > m->spec.n_classes) return convrnn_error_set(&tr->err, CONVRNN_ERR_SHAPE, "trainer_init: %d classes in the data, the model has %d", train->num_classes, m->spec.n_classes);
    tr->m = m; tr->ds = train; tr->cfg = *cfg;
    tr->steps_per_epoch = train->n / cfg->batch;
    tr->perm_epoch = -1;
    nx = (size_t)cfg->batch * train->h * train->w * train->c;
    tr->perm = (int *)convrnn_calloc(NULL, (size_t)train->n, sizeof(int));
    tr->x = (convrnn_real *)convrnn_calloc(NULL, nx, sizeof(convrnn_real));
    tr->y = (int *)convrnn_calloc(NULL, (size_t)cfg->batch, sizeof(int));
    tr->outs = (convrnn_tensor **)convrnn_calloc(NULL, (size_t)cfg->T * m->spec.n_nodes, sizeof(convrnn_tensor *));
    if (!tr->perm || !tr->x || !tr->y || !tr->outs) { convrnn_trainer_free(tr); return convrnn_error_set(&tr->err, CONVRNN_ERR_NOMEM, "trainer_init: out of memory"); }
    convrnn_tape_init(&tr->tape, 1);
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_trainer_free(convrnn_trainer *tr) {
    if (!tr) return;
    convrnn_free(NULL, tr->perm); convrnn_free(NULL, tr->x); convrnn_free(NULL, tr->y); convrnn_free(NULL, tr->outs);
    convrnn_tape_free(&tr->tape);
    tr->perm = NULL; tr->x = NULL; tr->y = NULL; tr->outs = NULL;
}

static int convrnn__argmax_row(const convrnn_real *z, int K) {
    int k, b = 0;
    for (k = 1; k < K; k++) if (z[k] > z[b]) b = k;
    return b;
}

CONVRNNDEF convrnn_status convrnn_trainer_step(convrnn_trainer *tr, double *loss, double *acc) {
    const convrnn_train_config *c = &tr->cfg;
    convrnn_model *m = tr->m;
    const int B = c->batch, epoch = (int)(tr->step / tr->steps_per_epoch), pos = (int)(tr->step % tr->steps_per_epoch);
    convrnn_rng rng;
    convrnn_stimulus st;
    convrnn_tensor *logits, *L;
    int i, correct = 0;
    if (!tr->perm) return convrnn_error_set(&tr->err, CONVRNN_ERR_ARG, "trainer_step: trainer not initialised");
    if (tr->perm_epoch != epoch) {
        for (i = 0; i < tr->ds->n; i++) tr->perm[i] = i;
        convrnn_rng_seed(&rng, convrnn__mix64(c->seed, 0x45504F4348ULL + (uint64_t)epoch));
        convrnn_shuffle(tr->perm, tr->ds->n, &rng);
        tr->perm_epoch = epoch;
    }
    convrnn_rng_seed(&rng, convrnn__mix64(c->seed, (uint64_t)tr->step));
    convrnn_batch_fill(tr->ds, tr->perm + (size_t)pos * B, B, &c->data, &rng, tr->x, tr->y);
    convrnn_tape_reset(&tr->tape);
    convrnn_params_zero_grad(&m->params);
    st = convrnn_stimulus_make(tr->x, B, tr->ds->h, tr->ds->w, tr->ds->c, c->T, c->image_off);
    st.blank = c->blank;
    convrnn_model_unroll(m, &tr->tape, &st, tr->outs);
    logits = convrnn_model_decode(m, &tr->tape, tr->outs, c->T, c->image_off, &rng);
    L = convrnn_softmax_xent(&tr->tape, logits, tr->y);
    if (tr->tape.err.status) { tr->err = tr->tape.err; return tr->err.status; }
    for (i = 0; i < B; i++) correct += convrnn__argmax_row(logits->data + (size_t)i * m->spec.n_classes, m->spec.n_classes) == tr->y[i];
    if (loss) *loss = L->data[0];
    if (acc) *acc = (double)correct / B;
    if (!(L->data[0] - L->data[0] == 0))
        return convrnn_error_set(&tr->err, CONVRNN_ERR_NOT_FINITE, "training loss is %g at step %ld; weights left at the last good step", (double)L->data[0], tr->step);
    if (convrnn_tape_backward(&tr->tape, L)) { tr->err = tr->tape.err; return tr->err.status; }
    if (convrnn_sgd_step(&m->params, &c->sgd, tr->step, NULL, &tr->err)) return tr->err.status;
    tr->step++;
    return CONVRNN_OK;
}

#ifndef CONVRNN_NO_STDIO
CONVRNNDEF convrnn_status convrnn_trainer_save(const convrnn_trainer *tr, const char *path, convrnn_error *err) {
    char step[32], seed[32];
    const char *meta[4];
    snprintf(step, sizeof step, "%ld", tr->step);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)tr->cfg.seed);
    meta[0] = "train_step"; meta[1] = step; meta[2] = "train_seed"; meta[3] = seed;
    return convrnn__write_weights(tr->m, path, "convrnn-checkpoint-1", 1, meta, 2, err);
}

CONVRNNDEF convrnn_status convrnn_trainer_load(convrnn_trainer *tr, const char *path, convrnn_error *err) {
    convrnn_safetensors st;
    convrnn_params *ps = &tr->m->params;
    const char *txt, *stp;
    convrnn_status s;
    char *end;
    long step;
    int i;
    memset(&st, 0, sizeof st);
    if ((s = convrnn_st_read(path, &st, err)) != CONVRNN_OK) return s;
    txt = convrnn_st_meta(&st, "convrnn_graph");
    stp = convrnn_st_meta(&st, "train_step");
    if (txt) {
        convrnn_graph_spec g;
        if (convrnn_graph_parse(txt, strlen(txt), &g, NULL) || !convrnn_graph_equal(&g, &tr->m->spec)) {
            convrnn_st_free(&st);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "checkpoint %s was written for another graph", path);
        }
    }
    if (!stp || (step = strtol(stp, &end, 10)) < 0 || *end) {
        convrnn_st_free(&st);
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "checkpoint %s has no valid train_step", path);
    }
    if ((s = convrnn_model_load_st(tr->m, &st, err)) != CONVRNN_OK) { convrnn_st_free(&st); return s; }
    for (i = 0; i < ps->count; i++) {
        char nm[CONVRNN_NAME_MAX + 16];
        const convrnn_st_tensor *t;
        snprintf(nm, sizeof nm, "opt/momentum/%s", ps->info[i].name);
        t = convrnn_st_find(&st, nm);
        if (!t || t->nbytes != ps->info[i].size * 4) {
            convrnn_st_free(&st);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "checkpoint %s: missing or bad optimizer state '%s'", path, nm);
        }
#ifdef CONVRNN_USE_DOUBLE
        s = convrnn_st_tensor_to_f64(t, ps->opt_state + ps->info[i].offset, ps->info[i].size, err);
#else
        s = convrnn_st_tensor_to_f32(t, ps->opt_state + ps->info[i].offset, ps->info[i].size, err);
#endif
        if (s) { convrnn_st_free(&st); return s; }
    }
    tr->step = step;
    convrnn_st_free(&st);
    return CONVRNN_OK;
}
#endif

CONVRNNDEF convrnn_status convrnn_evaluate(convrnn_model *m, const convrnn_dataset *ds, const convrnn_train_config *cfg,
                                           double *acc, double *loss, convrnn_error *err) {
    const int B = cfg->batch > 0 ? cfg->batch : 64, K = m->spec.n_classes;
    convrnn_tape t;
    convrnn_tensor **outs;
    convrnn_real *x;
    int *y, *idx, i, n0, correct = 0;
    double lsum = 0;
    convrnn_status s = CONVRNN_OK;
    if (!ds || ds->n <= 0 || ds->c != m->spec.in_c) return convrnn_error_set(err, CONVRNN_ERR_ARG, "evaluate: empty data set or wrong channel count");
    outs = (convrnn_tensor **)convrnn_calloc(NULL, (size_t)cfg->T * m->spec.n_nodes, sizeof *outs);
    x = (convrnn_real *)convrnn_calloc(NULL, (size_t)B * ds->h * ds->w * ds->c, sizeof *x);
    y = (int *)convrnn_calloc(NULL, (size_t)B, sizeof *y);
    idx = (int *)convrnn_calloc(NULL, (size_t)B, sizeof *idx);
    convrnn_tape_init(&t, 0);
    if (!outs || !x || !y || !idx) s = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "evaluate: out of memory");
    for (n0 = 0; !s && n0 < ds->n; n0 += B) {
        const int nb = ds->n - n0 < B ? ds->n - n0 : B;
        convrnn_stimulus st;
        convrnn_tensor *z, *L;
        for (i = 0; i < nb; i++) idx[i] = n0 + i;
        convrnn_batch_fill(ds, idx, nb, &cfg->data, NULL, x, y);
        convrnn_tape_reset(&t);
        st = convrnn_stimulus_make(x, nb, ds->h, ds->w, ds->c, cfg->T, cfg->image_off);
        st.blank = cfg->blank;
        convrnn_model_unroll(m, &t, &st, outs);
        z = convrnn_model_decode(m, &t, outs, cfg->T, cfg->image_off, NULL);
        L = convrnn_softmax_xent(&t, z, y);
        if (t.err.status) { s = convrnn_error_set(err, t.err.status, "%s", t.err.msg); break; }
        lsum += (double)L->data[0] * nb;
        for (i = 0; i < nb; i++) correct += convrnn__argmax_row(z->data + (size_t)i * K, K) == y[i];
    }
    convrnn_tape_free(&t);
    convrnn_free(NULL, outs); convrnn_free(NULL, x); convrnn_free(NULL, y); convrnn_free(NULL, idx);
    if (!s) {
        if (acc) *acc = (double)correct / ds->n;
        if (loss) *loss = lsum / ds->n;
    }
    return s;
}
