/* libFuzzer target: the .npy reader. Any input must either parse into a consistent array that
   survives a write/parse round trip bit for bit, or fail with a status and a message; never
   crash or read out of bounds. Build and run with tests/fuzz/run.sh. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    convrnn_array a, b;
    convrnn_error e;
    convrnn_status s;
    e.status = CONVRNN_OK;
    e.msg[0] = 0;
    s = convrnn_npy_parse(data, size, &a, &e);
    if (s != CONVRNN_OK) {
        if (e.status != s || e.msg[0] == 0 || a.data != NULL || a.count != 0) abort();
        if (s != CONVRNN_ERR_FORMAT && s != CONVRNN_ERR_UNSUPPORTED && s != CONVRNN_ERR_NOMEM) abort();
        return 0;
    } else {
        size_t nb = a.count * convrnn_dtype_size(a.dtype);
        double *d = NULL;
        float *f = NULL;
        void *buf = NULL;
        size_t len = 0;
        if (!a.data || a.ndim < 0 || a.ndim > 8 || nb > size) abort();
        if (nb) { /* touch every byte: ASan checks the allocation size */
            volatile unsigned char x = 0;
            size_t i;
            for (i = 0; i < nb; i++) x ^= ((unsigned char *)a.data)[i];
            (void)x;
        }
        if (convrnn_array_to_f64(&a, &d, &e) != CONVRNN_OK) abort();
        if (convrnn_array_to_f32(&a, &f, &e) != CONVRNN_OK) abort();
        convrnn_free(NULL, d);
        convrnn_free(NULL, f);
        if (convrnn_npy_to_buffer(&a, &buf, &len, &e) != CONVRNN_OK) abort();
        if (convrnn_npy_parse(buf, len, &b, &e) != CONVRNN_OK) abort();
        if (b.dtype != a.dtype || b.ndim != a.ndim || b.count != a.count ||
            memcmp(b.shape, a.shape, sizeof(int64_t) * (size_t)a.ndim) != 0 || (nb && memcmp(a.data, b.data, nb) != 0))
            abort();
        convrnn_array_free(&b);
        convrnn_free(NULL, buf);
    }
    convrnn_array_free(&a);
    return 0;
}
