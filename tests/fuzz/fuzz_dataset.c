/* libFuzzer target: the image data set readers. The first byte picks the format:
     0: IDX    byte 1 = num_classes, bytes 2-3 = length L of the images file (LE), then the
               images file (L bytes, clamped) and the labels file (the rest)
     1: CIFAR-10 binary batch (the rest)
     2: convrnn shard (the rest), also rewritten and reparsed
   Each part is copied to its own exact-size allocation, so reading past one is caught. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *dup_exact(const uint8_t *p, size_t n) {
    unsigned char *b = (unsigned char *)malloc(n ? n : 1);
    if (b && n) memcpy(b, p, n);
    return b;
}

static void check_ds(const convrnn_dataset *ds, convrnn_status s, const convrnn_error *e, size_t input) {
    int i;
    size_t px;
    if (s != CONVRNN_OK) {
        if (e->status != s || e->msg[0] == 0 || ds->images || ds->labels || ds->n) abort();
        if (s != CONVRNN_ERR_FORMAT && s != CONVRNN_ERR_UNSUPPORTED && s != CONVRNN_ERR_ARG && s != CONVRNN_ERR_NOMEM) abort();
        return;
    }
    if (ds->n < 0 || ds->h < 1 || ds->w < 1 || ds->c < 1 || ds->num_classes < 1 || !ds->images || !ds->labels) abort();
    px = (size_t)ds->n * (size_t)ds->h * (size_t)ds->w * (size_t)ds->c;
    if (px > input) abort();
    for (i = 0; i < ds->n; i++)
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->num_classes) abort();
    if (px) {
        volatile unsigned char x = ds->images[0] ^ ds->images[px - 1];
        (void)x;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    convrnn_dataset ds, back;
    convrnn_error e;
    convrnn_status s;
    unsigned char *a, *b;
    void *buf = NULL;
    size_t len = 0;
    if (size < 1) return 0;
    e.status = CONVRNN_OK;
    e.msg[0] = 0;
    switch (data[0] % 3) {
    case 0: {
        size_t il, rest;
        int k;
        if (size < 4) return 0;
        k = data[1];
        il = (size_t)data[2] | ((size_t)data[3] << 8);
        rest = size - 4;
        if (il > rest) il = rest;
        a = dup_exact(data + 4, il);
        b = dup_exact(data + 4 + il, rest - il);
        s = convrnn_idx_parse(a, il, b, rest - il, k, &ds, &e);
        check_ds(&ds, s, &e, size);
        if (s == CONVRNN_OK && ds.c != 1) abort();
        free(a);
        free(b);
        break;
    }
    case 1:
        a = dup_exact(data + 1, size - 1);
        s = convrnn_cifar10_parse(a, size - 1, &ds, &e);
        check_ds(&ds, s, &e, size);
        if (s == CONVRNN_OK && (ds.h != 32 || ds.w != 32 || ds.c != 3 || ds.num_classes != 10)) abort();
        free(a);
        break;
    default:
        a = dup_exact(data + 1, size - 1);
        s = convrnn_shard_parse(a, size - 1, &ds, &e);
        check_ds(&ds, s, &e, size);
        if (s == CONVRNN_OK) { /* the writer reproduces the input exactly */
            if (convrnn_shard_to_buffer(&ds, &buf, &len, &e) != CONVRNN_OK) abort();
            if (len != size - 1 || memcmp(buf, a, len) != 0) abort();
            if (convrnn_shard_parse(buf, len, &back, &e) != CONVRNN_OK || back.n != ds.n) abort();
            convrnn_dataset_free(&back);
            convrnn_free(NULL, buf);
        }
        free(a);
        break;
    }
    convrnn_dataset_free(&ds);
    return 0;
}
