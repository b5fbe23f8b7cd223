/* libFuzzer target: the safetensors reader and its JSON parser. Each input is tried twice:
   as a whole file, and as "JSON header, NUL, data" with the 8-byte length prefix computed here
   (so mutations reach the JSON and offset checks without having to fix the length field).
   A parse that succeeds must describe tensors inside the buffer that tile the data section, and
   must survive a rewrite with the writer and a second parse unchanged. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const unsigned char *data, size_t size) {
    convrnn_safetensors st, st2;
    convrnn_st_writer w;
    convrnn_error e;
    convrnn_status s;
    void *buf = NULL;
    size_t len = 0, total = 0;
    int i;
    e.status = CONVRNN_OK;
    e.msg[0] = 0;
    s = convrnn_st_parse(data, size, &st, &e);
    if (s != CONVRNN_OK) {
        if (e.status != s || e.msg[0] == 0 || st.tensors != NULL || st.buf_ != NULL) abort();
        if (s != CONVRNN_ERR_FORMAT && s != CONVRNN_ERR_UNSUPPORTED && s != CONVRNN_ERR_NOMEM) abort();
        return;
    }
    convrnn_st_writer_init(&w);
    for (i = 0; i < st.meta_count; i++) {
        if (convrnn_st_meta(&st, st.meta_keys[i]) != st.meta_values[i]) abort();
        if (convrnn_st_writer_meta(&w, st.meta_keys[i], st.meta_values[i]) != CONVRNN_OK) abort();
    }
    for (i = 0; i < st.count; i++) {
        const convrnn_st_tensor *t = &st.tensors[i];
        const unsigned char *lo = (const unsigned char *)st.buf_, *p = (const unsigned char *)t->data;
        if (p < lo || p + t->nbytes > lo + st.len_) abort();
        if (t->nbytes != t->count * convrnn_dtype_size(t->dtype)) abort();
        total += t->nbytes;
        if (convrnn_st_find(&st, t->name) != t) abort();
        if (t->dtype != CONVRNN_DT_F16 && t->dtype != CONVRNN_DT_BF16 && t->count <= 4096) {
            double *d = (double *)malloc(t->count * sizeof(double) + 1);
            if (convrnn_st_tensor_to_f64(t, d, t->count, &e) != CONVRNN_OK) abort();
            free(d);
        }
        if (convrnn_st_writer_add(&w, t->name, t->dtype, t->ndim, t->shape, t->data) != CONVRNN_OK) abort();
    }
    if (st.count && total > size) abort();
    if (convrnn_st_writer_to_buffer(&w, &buf, &len, &e) != CONVRNN_OK) abort();
    if (convrnn_st_parse(buf, len, &st2, &e) != CONVRNN_OK) abort();
    if (st2.count != st.count || st2.meta_count != st.meta_count) abort();
    for (i = 0; i < st.count; i++) {
        const convrnn_st_tensor *a = &st.tensors[i], *b = &st2.tensors[i];
        if (strcmp(a->name, b->name) != 0 || a->dtype != b->dtype || a->ndim != b->ndim || a->nbytes != b->nbytes ||
            memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) != 0 ||
            (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0))
            abort();
    }
    for (i = 0; i < st.meta_count; i++)
        if (strcmp(st.meta_keys[i], st2.meta_keys[i]) != 0 || strcmp(st.meta_values[i], st2.meta_values[i]) != 0) abort();
    convrnn_st_free(&st2);
    convrnn_free(NULL, buf);
    convrnn_st_writer_free(&w);
    convrnn_st_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul;
    size_t hl, k;
    unsigned char *b;
    check(data, size);
    nul = (const uint8_t *)memchr(data, 0, size);
    hl = nul ? (size_t)(nul - data) : size;
    b = (unsigned char *)malloc(size + 8);
    if (!b) return 0;
    for (k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    memcpy(b + 8, data, hl);
    if (nul) memcpy(b + 8 + hl, nul + 1, size - hl - 1);
    check(b, size + 8 - (nul ? 1 : 0));
    free(b);
    return 0;
}
