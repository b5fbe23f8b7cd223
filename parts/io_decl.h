/* ======================================================================================= [API-IO]
   File formats: .npy arrays, safetensors checkpoints, and image data sets (IDX, CIFAR-10 binary,
   the convrnn shard format). Every reader treats its input as hostile: each size and offset is
   bound-checked with overflow-safe arithmetic, and a truncated, oversized or inconsistent input
   returns CONVRNN_ERR_FORMAT (CONVRNN_ERR_IO for operating-system errors, CONVRNN_ERR_UNSUPPORTED
   for valid files this build does not handle) with a message naming what is wrong; never a crash
   or an out-of-bounds read. Buffer-based functions are always compiled; the path-based ones are
   dropped by CONVRNN_NO_STDIO.

   Writers are atomic: the bytes go to a temporary file in the target's directory
   ("<path>.tmp-XXXXXXXX"), which is flushed, fsync'ed where the platform has fsync, and renamed
   over the target. On any failure the temporary file is removed and an existing target is left
   untouched. (On Windows, where rename() does not replace, the old file is removed just before
   the rename: that one step is not atomic.) Define CONVRNN_NO_FSYNC to skip the fsync calls.
   Path-based readers put the path in front of a parser's message ("a.npy: npy: ...").

   Ownership: every pointer a function returns through an out-parameter is owned by the caller.
   Plain buffers are freed with convrnn_free(NULL, p); structs with their own _free function.
   The _free functions accept zeroed structs and are idempotent (they zero what they free).

   Limits (hostile-input bounds):
     CONVRNN_IO_MAX_NDIM         8 dimensions
     CONVRNN_IO_MAX_DIM          each dimension < 2^40
     CONVRNN_IO_MAX_NAME         a safetensors tensor name has 1..4096 bytes
     CONVRNN_IO_MAX_JSON_DEPTH   64 nested JSON arrays/objects
     CONVRNN_IO_MAX_ST_HEADER    100,000,000 bytes of safetensors JSON header (as the reference)
     CONVRNN_IO_MAX_NPY_HEADER   1 MiB of .npy header text
*/

#define CONVRNN_IO_MAX_NDIM 8
#define CONVRNN_IO_MAX_DIM ((int64_t)1 << 40)
#define CONVRNN_IO_MAX_NAME 4096
#define CONVRNN_IO_MAX_JSON_DEPTH 64
#define CONVRNN_IO_MAX_ST_HEADER 100000000u
#define CONVRNN_IO_MAX_NPY_HEADER (1u << 20)

/* Element types. F16 and BF16 exist only so that safetensors files holding them can be parsed
   (their tensors can be located and copied as raw bytes); conversions from them report
   CONVRNN_ERR_UNSUPPORTED. */
typedef enum convrnn_dtype {
    CONVRNN_DT_F32, CONVRNN_DT_F64, CONVRNN_DT_I32, CONVRNN_DT_I64, CONVRNN_DT_U8, CONVRNN_DT_I8,
    CONVRNN_DT_U16, CONVRNN_DT_I16, CONVRNN_DT_U32, CONVRNN_DT_U64, CONVRNN_DT_BOOL,
    CONVRNN_DT_F16, CONVRNN_DT_BF16,
    CONVRNN_DT_COUNT
} convrnn_dtype;

/* Bytes per element (BOOL: 1); 0 for a value outside the enum. */
CONVRNNDEF size_t convrnn_dtype_size(convrnn_dtype t);
/* numpy-style name ("float32", "int64", "uint8", "bool", "float16", "bfloat16"); "invalid" for a
   value outside the enum. Never NULL. */
CONVRNNDEF const char *convrnn_dtype_name(convrnn_dtype t);
/* safetensors name ("F32", "I64", "U8", "BOOL", "F16", "BF16", ...); "invalid" outside the enum. */
CONVRNNDEF const char *convrnn_dtype_st_name(convrnn_dtype t);

/* ---------------------------------------------------------------------------------- arrays, npy */

/* An n-dimensional C-order array in host byte order. data is owned: it comes from convrnn_malloc
   (malloc alignment, suitable for every dtype) and is released by convrnn_array_free. A 0-d
   array has ndim 0 and count 1; an array with a zero dimension has count 0. */
typedef struct convrnn_array {
    convrnn_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t count;  /* product of shape[0..ndim) */
    void *data;    /* count * convrnn_dtype_size(dtype) bytes */
} convrnn_array;

/* Allocate a zero-filled array. shape may be NULL when ndim is 0. */
CONVRNNDEF convrnn_status convrnn_array_init(convrnn_array *a, convrnn_dtype dtype, int ndim,
                                             const int64_t *shape, convrnn_error *err);
/* Free data and zero the struct. NULL is a no-op. */
CONVRNNDEF void convrnn_array_free(convrnn_array *a);
/* Convert every element to double / float in a new buffer of a->count elements (at least one
   byte is allocated for an empty array); the caller frees it with convrnn_free(NULL, p). Integer
   values beyond the target's precision are rounded; bool gives 0 or 1. */
CONVRNNDEF convrnn_status convrnn_array_to_f64(const convrnn_array *a, double **out, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_array_to_f32(const convrnn_array *a, float **out, convrnn_error *err);

/* Parse a .npy file image (format versions 1.0, 2.0 and 3.0; C order; dtypes '<f4' '<f8' '<i4'
   '<i8' '|u1' '|i1' '<u2' '<i2' '<u4' '<u8' '|b1', any byte order, '>' data converted to host
   order; 0-d arrays). fortran_order True, structured, complex, string, object and float16 dtypes
   give CONVRNN_ERR_UNSUPPORTED. The data must fill the rest of the buffer exactly. On failure
   *out is zeroed. */
CONVRNNDEF convrnn_status convrnn_npy_parse(const void *buf, size_t len, convrnn_array *out, convrnn_error *err);
/* Serialise to a new buffer (version 1.0, or 2.0 if the header needs it; header padded so the
   data starts on a 64-byte boundary, as numpy does). Free *buf with convrnn_free(NULL, *buf). */
CONVRNNDEF convrnn_status convrnn_npy_to_buffer(const convrnn_array *a, void **buf, size_t *len, convrnn_error *err);

/* ---------------------------------------------------------------------------------- safetensors */

/* One tensor of a parsed file. data points into the file image (little-endian, possibly
   unaligned: copy it with memcpy or the _to_ functions). */
typedef struct convrnn_st_tensor {
    const char *name;      /* NUL-terminated UTF-8 */
    convrnn_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t nbytes;         /* count * dtype size == end - begin of data_offsets */
    const void *data;
    size_t count;          /* number of elements (1 for a 0-d tensor) */
} convrnn_st_tensor;

/* A parsed safetensors file. tensors are ordered by their position in the data section;
   meta_keys/meta_values ("__metadata__") are in header order. Everything is owned by the struct
   and released by convrnn_st_free. */
typedef struct convrnn_safetensors {
    int count;
    convrnn_st_tensor *tensors;
    int meta_count;
    const char **meta_keys;
    const char **meta_values;
    /* private: */
    void *buf_;      /* copy of the file image */
    size_t len_;
    char *strs_;     /* decoded names, keys and values */
    const convrnn_st_tensor **index_;  /* tensors sorted by name, for convrnn_st_find */
} convrnn_safetensors;

/* Parse a safetensors file image (copied; buf may be freed afterwards). Validates: the header
   length against the buffer, strict JSON (UTF-8, escapes, no duplicate keys, depth limit), the
   fields of every entry, dtype names, shape * dtype size == end - begin without overflow,
   offsets inside the data section, no overlap, no gap and no uncovered byte in the data section,
   unique non-empty names of at most CONVRNN_IO_MAX_NAME bytes, string-to-string metadata. Dtypes
   the format knows but this library does not (F8_*, C64, ...) give CONVRNN_ERR_UNSUPPORTED.
   On failure *st is zeroed. */
CONVRNNDEF convrnn_status convrnn_st_parse(const void *buf, size_t len, convrnn_safetensors *st, convrnn_error *err);
/* The tensor with this exact name, or NULL (also for NULL arguments). O(log count). */
CONVRNNDEF const convrnn_st_tensor *convrnn_st_find(const convrnn_safetensors *st, const char *name);
/* The metadata value for key, or NULL. */
CONVRNNDEF const char *convrnn_st_meta(const convrnn_safetensors *st, const char *key);
CONVRNNDEF void convrnn_st_free(convrnn_safetensors *st);
/* Copy a tensor into dst (count elements, which must equal t->count: else CONVRNN_ERR_SHAPE),
   converting from its dtype. F16/BF16 give CONVRNN_ERR_UNSUPPORTED. */
CONVRNNDEF convrnn_status convrnn_st_tensor_to_f32(const convrnn_st_tensor *t, float *dst, size_t count, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_st_tensor_to_f64(const convrnn_st_tensor *t, double *dst, size_t count, convrnn_error *err);

/* Writer. Tensors are written in the order added, packed back to back after a JSON header
   padded with spaces to a multiple of 8 bytes (so the data section is 8-byte aligned).
   _add keeps the data POINTER (the bytes must stay valid until _save/_to_buffer) and copies the
   name; _meta copies key and value. Errors are sticky: the first failing _add/_meta is recorded
   in w->err and returned again by _save and _to_buffer, so a sequence of calls may be checked
   once at the end. */
typedef struct convrnn_st_writer {
    int count, cap;
    convrnn_st_tensor *tensors;   /* names are owned copies */
    int meta_count, meta_cap;
    char **meta_keys, **meta_values;
    convrnn_error err;            /* first error, status CONVRNN_OK while none */
} convrnn_st_writer;

CONVRNNDEF void convrnn_st_writer_init(convrnn_st_writer *w);
/* name: valid UTF-8, 1..CONVRNN_IO_MAX_NAME bytes, not "__metadata__", not already added
   (duplicate: CONVRNN_ERR_ARG). dtype: any of the enum, F16/BF16 included (raw bytes). ndim
   0..8, each shape entry 0..2^40-1; data (little-endian) may be NULL only if the tensor is empty. */
CONVRNNDEF convrnn_status convrnn_st_writer_add(convrnn_st_writer *w, const char *name, convrnn_dtype dtype,
                                                int ndim, const int64_t *shape, const void *data);
/* Add a "__metadata__" entry (both strings valid UTF-8; a repeated key is CONVRNN_ERR_ARG). */
CONVRNNDEF convrnn_status convrnn_st_writer_meta(convrnn_st_writer *w, const char *key, const char *value);
/* The whole file image in a new buffer; free with convrnn_free(NULL, *buf). */
CONVRNNDEF convrnn_status convrnn_st_writer_to_buffer(convrnn_st_writer *w, void **buf, size_t *len, convrnn_error *err);
CONVRNNDEF void convrnn_st_writer_free(convrnn_st_writer *w);

/* ------------------------------------------------------------------------------ image data sets */

/* A labelled image set: images is n*h*w*c uint8 in NHWC order, labels n values in
   [0, num_classes). Both owned (convrnn_malloc); release with convrnn_dataset_free. */
typedef struct convrnn_dataset {
    int n, h, w, c, num_classes;
    uint8_t *images;
    int32_t *labels;
} convrnn_dataset;

CONVRNNDEF void convrnn_dataset_free(convrnn_dataset *ds);

/* IDX (MNIST, Fashion-MNIST; uncompressed): an images file (magic 0x00000803: uint8, N x rows x
   cols, big-endian dims) and its labels file (0x00000801: N uint8). N must agree, the sizes must
   be exact, every label < num_classes (1..65536). Gives c = 1. */
CONVRNNDEF convrnn_status convrnn_idx_parse(const void *images, size_t images_len, const void *labels,
                                            size_t labels_len, int num_classes, convrnn_dataset *ds,
                                            convrnn_error *err);
/* CIFAR-10 binary batches: records of 1 label byte (< 10) + 3072 pixel bytes (3 x 32 x 32 planar,
   R then G then B). Converted to NHWC 32 x 32 x 3, num_classes 10. len must be a positive
   multiple of 3073. */
CONVRNNDEF convrnn_status convrnn_cifar10_parse(const void *buf, size_t len, convrnn_dataset *ds, convrnn_error *err);

/* The convrnn shard format (version 1), for data sets too big for one file. All integers
   little-endian:
       offset 0   8 bytes  magic "CRNSHRD1"
              8   u32      version (1)
             12   u32      count        number of records (< 2^31)
             16   u32      H            1..65535
             20   u32      W            1..65535
             24   u32      C            1..64
             28   u32      num_classes  1..2^24
             32   count records, each: u32 label (< num_classes), then H*W*C uint8 pixels (NHWC)
   The file ends exactly after the last record. examples/images_to_shards.py writes it. */
#define CONVRNN_SHARD_HEADER_BYTES 32
CONVRNNDEF convrnn_status convrnn_shard_parse(const void *buf, size_t len, convrnn_dataset *ds, convrnn_error *err);
/* Serialise a data set (its fields are validated like a parsed file's). */
CONVRNNDEF convrnn_status convrnn_shard_to_buffer(const convrnn_dataset *ds, void **buf, size_t *len, convrnn_error *err);

/* --------------------------------------------------------------------------------------- files */
#ifndef CONVRNN_NO_STDIO
/* Read a whole file into a new buffer (free with convrnn_free(NULL, *buf); one spare NUL byte
   follows the data). max_len bounds the size (0: no bound); a larger file is CONVRNN_ERR_FORMAT. */
CONVRNNDEF convrnn_status convrnn_read_file(const char *path, void **buf, size_t *len, size_t max_len, convrnn_error *err);
/* Atomically replace path with len bytes of buf (see the top of this section). */
CONVRNNDEF convrnn_status convrnn_write_file_atomic(const char *path, const void *buf, size_t len, convrnn_error *err);

CONVRNNDEF convrnn_status convrnn_npy_read(const char *path, convrnn_array *out, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_npy_write(const char *path, const convrnn_array *a, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_st_read(const char *path, convrnn_safetensors *st, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_st_writer_save(convrnn_st_writer *w, const char *path, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_idx_read(const char *images_path, const char *labels_path, int num_classes,
                                           convrnn_dataset *ds, convrnn_error *err);
/* Read and concatenate CIFAR-10 batch files (e.g. the five data_batch_N.bin). */
CONVRNNDEF convrnn_status convrnn_cifar10_read(const char *const *paths, int npaths, convrnn_dataset *ds,
                                               convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_shard_read(const char *path, convrnn_dataset *ds, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_shard_write(const char *path, const convrnn_dataset *ds, convrnn_error *err);
#endif /* CONVRNN_NO_STDIO */
