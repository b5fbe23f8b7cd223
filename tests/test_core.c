/* Core API contract tests (float build):
   - bad input: every failure returns the documented status with an informative message, ops
     return NULL, the tape error is sticky (first message kept) and convrnn_tape_reset clears it;
   - small cases computed by hand: strided SAME conv, even-kernel SAME padding, TF SAME pads,
     max pool SAME with a partial last window, align-corners bilinear resize;
   - determinism: GRU and RGC-median unrolls (forward + BPTT) bitwise identical with 1 and 2
     OpenMP threads; parameter initialisation a pure function of the seed;
   - fused ops and lazy gradients: convrnn_conv2d_act equals convrnn_activate(convrnn_conv2d())
     bitwise (values and every gradient, every activation, scalar and SIMD kernels); lazy_grads gives
     bitwise the eager gradients, seeds through convrnn_tape_grad(), and lowers the tape's peak;
   - build info and status strings. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

static int has(const char *s, const char *needle) { return s && needle && strstr(s, needle) != NULL; }

/* The op result y must be NULL, the tape must hold status `want` with a message mentioning
   `needle`; then the tape is reset for the next case. */
static void expect_tape_err(convrnn_tape *t, const void *y, convrnn_status want, const char *needle, const char *what) {
    CHECKF(y == NULL, "%s: returned a tensor", what);
    CHECKF(t->err.status == want, "%s: status %d (%s), want %d (%s); msg '%s'", what, (int)t->err.status,
           convrnn_status_string(t->err.status), (int)want, convrnn_status_string(want), t->err.msg);
    CHECKF(strlen(t->err.msg) > 8, "%s: message too short: '%s'", what, t->err.msg);
    CHECKF(has(t->err.msg, needle), "%s: message '%s' does not mention '%s'", what, t->err.msg, needle);
    convrnn_tape_reset(t);
}
/* the same for a parameter store error (then cleared) */
static void expect_ps_err(convrnn_params *ps, convrnn_status got, convrnn_status want, const char *needle, const char *what) {
    CHECKF(got == want, "%s: returned %d, want %d", what, (int)got, (int)want);
    CHECKF(ps->err.status == want, "%s: ps status %d (%s), want %d (%s); msg '%s'", what, (int)ps->err.status,
           convrnn_status_string(ps->err.status), (int)want, convrnn_status_string(want), ps->err.msg);
    CHECKF(strlen(ps->err.msg) > 8, "%s: message too short: '%s'", what, ps->err.msg);
    CHECKF(has(ps->err.msg, needle), "%s: message '%s' does not mention '%s'", what, ps->err.msg, needle);
    convrnn_error_clear(&ps->err);
}

static convrnn_tensor *ramp(convrnn_tape *t, int n, int h, int w, int c, double scale, int grad) {
    convrnn_tensor *x = convrnn_tape_zeros(t, n, h, w, c, grad);
    size_t i;
    if (x) for (i = 0; i < x->size; i++) x->data[i] = (convrnn_real)(scale * (double)((i * 7) % 11) - 0.3);
    return x;
}
static convrnn_tensor *nd(convrnn_tape *t, int rank, int d0, int d1, int d2, int d3) {
    int d[4];
    convrnn_tensor *x;
    size_t i;
    d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
    x = convrnn_tape_input_nd(t, rank, d, NULL, 1);
    if (x) for (i = 0; i < x->size; i++) x->data[i] = (convrnn_real)(0.1 * (double)(i % 5) - 0.2);
    return x;
}

/* ------------------------------------------------------------------ bad input */

static void test_bad_ops(void) {
    convrnn_tape t;
    convrnn_tensor *x, *w, *b, *y, *xs[2];
    int labels[2] = { 0, 0 };
    convrnn_real wv[64];
    int i;
    for (i = 0; i < 64; i++) wv[i] = 1;
    convrnn_tape_init(&t, 1);

    /* conv kernel channels: x has 3, kernel expects 2 */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 2, 4);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "conv2d", "conv kernel channels");
    /* conv kernel of the wrong rank */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 2, 3, 4, 1, 1);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "conv2d", "conv kernel rank");
    /* conv bias size */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 4); b = nd(&t, 1, 5, 1, 1, 1);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, b, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "bias", "conv bias size");
    /* depthwise: multiplier != 1, channel mismatch, bias size */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 2);
    expect_tape_err(&t, convrnn_depthwise_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "depthwise", "dw multiplier");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 4, 1);
    expect_tape_err(&t, convrnn_depthwise_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "depthwise", "dw channels");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 1); b = nd(&t, 1, 4, 1, 1, 1);
    expect_tape_err(&t, convrnn_depthwise_conv2d(&t, x, w, b, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "bias", "dw bias size");
    /* separable: pointwise not [1,1,C,Co] */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 1); b = nd(&t, 4, 3, 3, 3, 5);
    expect_tape_err(&t, convrnn_separable_conv2d(&t, x, w, b, NULL, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "pointwise", "separable pw");
    /* dense: features and bias */
    x = ramp(&t, 2, 2, 2, 3, 0.1, 1); w = nd(&t, 2, 11, 5, 1, 1);
    expect_tape_err(&t, convrnn_dense(&t, x, w, NULL), CONVRNN_ERR_SHAPE, "dense", "dense features");
    x = ramp(&t, 2, 2, 2, 3, 0.1, 1); w = nd(&t, 2, 12, 5, 1, 1); b = nd(&t, 1, 4, 1, 1, 1);
    expect_tape_err(&t, convrnn_dense(&t, x, w, b), CONVRNN_ERR_SHAPE, "bias", "dense bias");
    /* bias_add, layer_norm sizes */
    x = ramp(&t, 1, 2, 2, 3, 0.1, 1); b = nd(&t, 1, 4, 1, 1, 1);
    expect_tape_err(&t, convrnn_bias_add(&t, x, b), CONVRNN_ERR_SHAPE, "bias_add", "bias_add size");
    x = ramp(&t, 1, 2, 2, 3, 0.1, 1); w = nd(&t, 1, 3, 1, 1, 1); b = nd(&t, 1, 2, 1, 1, 1);
    expect_tape_err(&t, convrnn_layer_norm(&t, x, w, b, 1e-12), CONVRNN_ERR_SHAPE, "layer_norm", "layer_norm beta size");
    /* residual add: shapes differ and no projection; projection of the wrong shape */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); y = ramp(&t, 1, 4, 4, 5, 0.1, 1);
    expect_tape_err(&t, convrnn_residual_add(&t, x, y, NULL), CONVRNN_ERR_SHAPE, "projection", "residual no proj");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); y = ramp(&t, 1, 4, 4, 5, 0.1, 1); w = nd(&t, 4, 1, 1, 3, 5);
    expect_tape_err(&t, convrnn_residual_add(&t, x, y, w), CONVRNN_ERR_SHAPE, "projection", "residual bad proj");

    /* zero and negative sizes */
    expect_tape_err(&t, convrnn_tape_zeros(&t, 0, 4, 4, 3, 0), CONVRNN_ERR_SHAPE, "positive", "zeros n=0");
    expect_tape_err(&t, convrnn_tape_zeros(&t, 1, -4, 4, 3, 0), CONVRNN_ERR_SHAPE, "positive", "zeros h<0");
    expect_tape_err(&t, convrnn_tape_fill(&t, 1, 4, 0, 3, 1), CONVRNN_ERR_SHAPE, "positive", "fill w=0");
    expect_tape_err(&t, convrnn_tape_input(&t, 1, 4, 4, -1, wv, 0), CONVRNN_ERR_SHAPE, "positive", "input c<0");
    {
        int d[4] = { 3, 0, 2, 2 };
        expect_tape_err(&t, convrnn_tape_input_nd(&t, 2, d, NULL, 0), CONVRNN_ERR_SHAPE, "positive", "input_nd dim 0");
        expect_tape_err(&t, convrnn_tape_input_nd(&t, 0, d, NULL, 0), CONVRNN_ERR_ARG, "rank", "input_nd rank 0");
        expect_tape_err(&t, convrnn_tape_input_nd(&t, 5, d, NULL, 0), CONVRNN_ERR_ARG, "rank", "input_nd rank 5");
        expect_tape_err(&t, convrnn_tape_input_nd(&t, 2, NULL, NULL, 0), CONVRNN_ERR_ARG, "input_nd", "input_nd dims NULL");
    }
    /* kernel sizes and strides */
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    expect_tape_err(&t, convrnn_maxpool(&t, x, 0, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "maxpool", "maxpool k=0");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    expect_tape_err(&t, convrnn_maxpool(&t, x, -2, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "maxpool", "maxpool k<0");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    expect_tape_err(&t, convrnn_maxpool(&t, x, 2, 0, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "stride", "maxpool stride 0");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 2);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, NULL, 0, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "stride", "conv stride 0");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 2);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, NULL, -1, CONVRNN_VALID), CONVRNN_ERR_SHAPE, "stride", "conv stride -1");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 1);
    expect_tape_err(&t, convrnn_depthwise_conv2d(&t, x, w, NULL, 0, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "stride", "dw stride 0");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1); w = nd(&t, 4, 3, 3, 3, 2);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, NULL, 1, (convrnn_padding)7), CONVRNN_ERR_ARG, "padding", "conv unknown padding");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    expect_tape_err(&t, convrnn_resize_bilinear(&t, x, 0, 3), CONVRNN_ERR_SHAPE, "resize", "resize to 0 rows");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    expect_tape_err(&t, convrnn_resize_bilinear(&t, x, 3, -1), CONVRNN_ERR_SHAPE, "resize", "resize to -1 cols");
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    expect_tape_err(&t, convrnn_activate(&t, x, CONVRNN_ACT_COUNT), CONVRNN_ERR_ARG, "activation", "unknown activation");
    {
        int o = -7, p = -7;
        CHECK(!convrnn_conv_out_size(5, 0, 1, CONVRNN_SAME, &o, &p));
        CHECK(!convrnn_conv_out_size(5, 3, 0, CONVRNN_SAME, &o, &p));
        CHECK(!convrnn_conv_out_size(0, 3, 1, CONVRNN_SAME, &o, &p));
        CHECK(!convrnn_conv_out_size(-5, 3, 1, CONVRNN_VALID, &o, &p));
        CHECK(!convrnn_conv_out_size(5, 3, 1, (convrnn_padding)9, &o, &p));
    }
    /* kernel larger than the input under VALID (fine under SAME) */
    x = ramp(&t, 1, 3, 5, 2, 0.1, 1); w = nd(&t, 4, 4, 4, 2, 1);
    expect_tape_err(&t, convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_VALID), CONVRNN_ERR_SHAPE, "VALID", "conv VALID k>in");
    x = ramp(&t, 1, 3, 5, 2, 0.1, 1); w = nd(&t, 4, 4, 4, 2, 1);
    CHECKF(convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME) != NULL, "conv SAME k>in must work: %s", t.err.msg);
    convrnn_tape_reset(&t);
    x = ramp(&t, 1, 3, 5, 2, 0.1, 1);
    expect_tape_err(&t, convrnn_maxpool(&t, x, 4, 1, CONVRNN_VALID), CONVRNN_ERR_SHAPE, "VALID", "maxpool VALID k>in");
    x = ramp(&t, 1, 3, 5, 2, 0.1, 1); w = nd(&t, 4, 4, 4, 2, 1);
    expect_tape_err(&t, convrnn_depthwise_conv2d(&t, x, w, NULL, 1, CONVRNN_VALID), CONVRNN_ERR_SHAPE, "VALID", "dw VALID k>in");

    /* NULL tensors into every op */
#define NULL_CASE(call, needle) do { \
        convrnn_tensor *xx_ = ramp(&t, 2, 4, 4, 3, 0.1, 1), *ww_ = nd(&t, 4, 3, 3, 3, 1), *pw_ = nd(&t, 4, 1, 1, 3, 2); \
        convrnn_tensor *cb_ = nd(&t, 1, 3, 1, 1, 1); \
        (void)xx_; (void)ww_; (void)pw_; (void)cb_; \
        expect_tape_err(&t, call, CONVRNN_ERR_ARG, needle, #call); } while (0)
    NULL_CASE(convrnn_conv2d(&t, NULL, ww_, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_conv2d(&t, xx_, NULL, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_depthwise_conv2d(&t, NULL, ww_, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_depthwise_conv2d(&t, xx_, NULL, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_separable_conv2d(&t, NULL, ww_, pw_, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_separable_conv2d(&t, xx_, NULL, pw_, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_separable_conv2d(&t, xx_, ww_, NULL, NULL, 1, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_dense(&t, NULL, ww_, NULL), "NULL");
    NULL_CASE(convrnn_dense(&t, xx_, NULL, NULL), "NULL");
    NULL_CASE(convrnn_bias_add(&t, NULL, cb_), "NULL");
    NULL_CASE(convrnn_bias_add(&t, xx_, NULL), "NULL");
    NULL_CASE(convrnn_activate(&t, NULL, CONVRNN_ACT_TANH), "NULL");
    NULL_CASE(convrnn_activate(&t, NULL, CONVRNN_ACT_IDENTITY), "NULL");
    NULL_CASE(convrnn_maxpool(&t, NULL, 2, 2, CONVRNN_SAME), "NULL");
    NULL_CASE(convrnn_global_avgpool(&t, NULL), "NULL");
    NULL_CASE(convrnn_resize_bilinear(&t, NULL, 3, 3), "NULL");
    NULL_CASE(convrnn_slice_channels(&t, NULL, 0, 1), "NULL");
    NULL_CASE(convrnn_layer_norm(&t, NULL, cb_, cb_, 1e-12), "NULL");
    NULL_CASE(convrnn_layer_norm(&t, xx_, NULL, cb_, 1e-12), "NULL");
    NULL_CASE(convrnn_layer_norm(&t, xx_, cb_, NULL, 1e-12), "NULL");
    NULL_CASE(convrnn_residual_add(&t, NULL, xx_, NULL), "NULL");
    NULL_CASE(convrnn_residual_add(&t, xx_, NULL, NULL), "NULL");
    NULL_CASE(convrnn_add(&t, NULL, xx_), "NULL");
    NULL_CASE(convrnn_add(&t, xx_, NULL), "NULL");
    NULL_CASE(convrnn_sub(&t, NULL, xx_), "NULL");
    NULL_CASE(convrnn_sub(&t, xx_, NULL), "NULL");
    NULL_CASE(convrnn_mul(&t, NULL, xx_), "NULL");
    NULL_CASE(convrnn_mul(&t, xx_, NULL), "NULL");
    NULL_CASE(convrnn_affine(&t, NULL, 2.0, 1.0), "NULL");
    NULL_CASE(convrnn_affine(&t, NULL, 1.0, 0.0), "NULL");
    NULL_CASE(convrnn_softmax_xent(&t, NULL, labels), "NULL");
    NULL_CASE(convrnn_softmax_xent(&t, xx_, NULL), "NULL");
    NULL_CASE(convrnn_dot_const(&t, NULL, wv), "NULL");
    NULL_CASE(convrnn_dot_const(&t, xx_, NULL), "NULL");
    NULL_CASE(convrnn_tape_input(&t, 1, 2, 2, 2, NULL, 1), "NULL");
    xs[0] = NULL; xs[1] = NULL;
    NULL_CASE(convrnn_concat(&t, NULL, 2), "concat");
    NULL_CASE(convrnn_concat(&t, xs, 0), "concat");
    NULL_CASE((xs[0] = xx_, xs[1] = NULL, convrnn_concat(&t, xs, 2)), "NULL");
    NULL_CASE(convrnn_sum_scalars(&t, NULL, 1), "sum_scalars");
    xs[0] = NULL;
    NULL_CASE(convrnn_sum_scalars(&t, xs, 1), "sum_scalars");
    NULL_CASE((xs[0] = xx_, convrnn_sum_scalars(&t, xs, 1)), "scalar");   /* not a 1-element tensor */
#undef NULL_CASE
    /* backward misuse */
    CHECK(convrnn_tape_backward(&t, NULL) == CONVRNN_ERR_ARG);
    CHECKF(strlen(t.err.msg) > 8 && has(t.err.msg, "loss"), "backward(NULL): '%s'", t.err.msg);
    convrnn_tape_reset(&t);
    x = ramp(&t, 1, 2, 2, 2, 0.1, 1);
    CHECK(convrnn_tape_backward(&t, x) == CONVRNN_ERR_ARG);   /* not 1-element */
    CHECKF(has(t.err.msg, "1-element"), "backward(non-scalar): '%s'", t.err.msg);
    convrnn_tape_reset(&t);
    y = convrnn_dot_const(&t, convrnn_tape_zeros(&t, 1, 2, 2, 2, 0), wv);   /* no gradient anywhere */
    CHECK(y != NULL && convrnn_tape_backward(&t, y) == CONVRNN_ERR_ARG);
    CHECKF(has(t.err.msg, "gradient"), "backward(no grad): '%s'", t.err.msg);
    convrnn_tape_free(&t);
    {
        convrnn_tape ti;
        convrnn_tape_init(&ti, 0);
        CHECK(convrnn_tape_backward_seeded(&ti) == CONVRNN_ERR_ARG);
        CHECKF(has(ti.err.msg, "without gradients"), "backward on inference tape: '%s'", ti.err.msg);
        convrnn_tape_free(&ti);
    }
    convrnn_tape_init(&t, 1);

    /* broadcast mismatch in add/sub/mul */
    x = ramp(&t, 2, 3, 3, 2, 0.1, 1); y = ramp(&t, 1, 1, 1, 5, 0.1, 1);
    expect_tape_err(&t, convrnn_add(&t, x, y), CONVRNN_ERR_SHAPE, "broadcast", "add broadcast");
    x = ramp(&t, 2, 3, 3, 2, 0.1, 1); y = ramp(&t, 1, 3, 3, 1, 0.1, 1);
    expect_tape_err(&t, convrnn_mul(&t, x, y), CONVRNN_ERR_SHAPE, "broadcast", "mul broadcast");
    x = ramp(&t, 2, 3, 3, 2, 0.1, 1); y = ramp(&t, 3, 3, 3, 2, 0.1, 1);
    expect_tape_err(&t, convrnn_sub(&t, x, y), CONVRNN_ERR_SHAPE, "broadcast", "sub broadcast");
    /* ... while the documented broadcasts work: per sample and scalar */
    x = ramp(&t, 2, 3, 3, 2, 0.1, 1);
    CHECK(convrnn_add(&t, x, ramp(&t, 1, 3, 3, 2, 0.1, 1)) != NULL);
    CHECK(convrnn_mul(&t, x, ramp(&t, 1, 1, 1, 1, 0.1, 1)) != NULL);
    CHECK(convrnn_tape_status(&t) == CONVRNN_OK);
    convrnn_tape_reset(&t);
    /* concat shape mismatch (spatial and batch) */
    xs[0] = ramp(&t, 1, 4, 4, 2, 0.1, 1); xs[1] = ramp(&t, 1, 3, 4, 2, 0.1, 1);
    expect_tape_err(&t, convrnn_concat(&t, xs, 2), CONVRNN_ERR_SHAPE, "concat", "concat spatial");
    xs[0] = ramp(&t, 1, 4, 4, 2, 0.1, 1); xs[1] = ramp(&t, 2, 4, 4, 2, 0.1, 1);
    expect_tape_err(&t, convrnn_concat(&t, xs, 2), CONVRNN_ERR_SHAPE, "concat", "concat batch");
    /* slice out of range */
    x = ramp(&t, 1, 2, 2, 4, 0.1, 1);
    expect_tape_err(&t, convrnn_slice_channels(&t, x, 2, 3), CONVRNN_ERR_SHAPE, "slice", "slice past the end");
    x = ramp(&t, 1, 2, 2, 4, 0.1, 1);
    expect_tape_err(&t, convrnn_slice_channels(&t, x, -1, 2), CONVRNN_ERR_SHAPE, "slice", "slice c0<0");
    x = ramp(&t, 1, 2, 2, 4, 0.1, 1);
    expect_tape_err(&t, convrnn_slice_channels(&t, x, 1, 0), CONVRNN_ERR_SHAPE, "slice", "slice nc=0");
    x = ramp(&t, 1, 2, 2, 4, 0.1, 1);
    expect_tape_err(&t, convrnn_slice_channels(&t, x, 4, 1), CONVRNN_ERR_SHAPE, "slice", "slice c0=C");
    /* label out of range */
    {
        int bad_hi[2] = { 1, 6 }, bad_lo[2] = { -1, 0 };
        x = ramp(&t, 2, 1, 1, 6, 0.1, 1);
        expect_tape_err(&t, convrnn_softmax_xent(&t, x, bad_hi), CONVRNN_ERR_ARG, "label 6", "xent label K");
        x = ramp(&t, 2, 1, 1, 6, 0.1, 1);
        expect_tape_err(&t, convrnn_softmax_xent(&t, x, bad_lo), CONVRNN_ERR_ARG, "label -1", "xent label -1");
    }
    /* sizes whose product overflows */
    expect_tape_err(&t, convrnn_tape_zeros(&t, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 0), CONVRNN_ERR_OVERFLOW, "overflow", "zeros 2^80");
    expect_tape_err(&t, convrnn_tape_zeros(&t, 1 << 20, 1 << 20, 1 << 20, 1, 1), CONVRNN_ERR_OVERFLOW, "too large", "zeros 2^60");
    {
        int d[4] = { 1 << 30, 1 << 30, 1 << 30, 1 << 30 };
        expect_tape_err(&t, convrnn_tape_input_nd(&t, 4, d, NULL, 0), CONVRNN_ERR_OVERFLOW, "overflow", "input_nd 2^120");
    }
    convrnn_tape_free(&t);
}

static void test_sticky(void) {
    convrnn_tape t;
    convrnn_tensor *x, *w, *y;
    char first[sizeof t.err.msg];
    convrnn_tape_init(&t, 1);
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    w = nd(&t, 4, 3, 3, 2, 4);
    y = convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME);                /* fails: channels */
    CHECK(y == NULL && t.err.status == CONVRNN_ERR_SHAPE);
    strcpy(first, t.err.msg);
    CHECK(strlen(first) > 8);
    /* a later valid op on valid tensors returns NULL and leaves the error alone */
    CHECK(convrnn_activate(&t, x, CONVRNN_ACT_TANH) == NULL);
    CHECK(convrnn_tape_zeros(&t, 1, 2, 2, 2, 0) == NULL);
    CHECK(convrnn_add(&t, x, x) == NULL);
    /* later failures of another kind do not overwrite the first message */
    CHECK(convrnn_slice_channels(&t, x, 5, 9) == NULL);
    CHECK(convrnn_tape_zeros(&t, 0, 0, 0, 0, 0) == NULL);
    CHECK(convrnn_activate(&t, NULL, CONVRNN_ACT_ELU) == NULL);
    CHECKF(t.err.status == CONVRNN_ERR_SHAPE && !strcmp(t.err.msg, first), "sticky: status %d msg '%s', first '%s'",
           (int)t.err.status, t.err.msg, first);
    CHECK(convrnn_tape_status(&t) == CONVRNN_ERR_SHAPE);
    /* a NULL-fed chain, e.g. a whole graph step, stays NULL */
    {
        convrnn_real wv[4] = { 1, 2, 3, 4 };
        CHECK(convrnn_dot_const(&t, convrnn_activate(&t, y, CONVRNN_ACT_RELU), wv) == NULL);
    }
    CHECK(convrnn_tape_backward_seeded(&t) == CONVRNN_ERR_SHAPE);
    CHECK(!strcmp(t.err.msg, first));
    /* reset clears it and the tape works again */
    convrnn_tape_reset(&t);
    CHECK(convrnn_tape_status(&t) == CONVRNN_OK && t.err.msg[0] == 0);
    x = ramp(&t, 1, 4, 4, 3, 0.1, 1);
    w = nd(&t, 4, 3, 3, 3, 4);
    y = convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME);
    CHECKF(y != NULL && t.err.status == CONVRNN_OK, "after reset: %s", t.err.msg);
    {
        convrnn_real ones[64];
        int i;
        for (i = 0; i < 64; i++) ones[i] = 1;
        CHECK(convrnn_tape_backward(&t, convrnn_dot_const(&t, y, ones)) == CONVRNN_OK);
        CHECK(x->grad && w->grad);
    }
    convrnn_tape_free(&t);

    /* parameter store errors are sticky too: cell_create refuses to run on a failed store */
    {
        convrnn_params ps;
        convrnn_cell cell;
        convrnn_cell_config c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 4);
        int d[1] = { 0 };
        convrnn_params_init_empty(&ps);
        CHECK(convrnn_params_declare(&ps, "a", 1, d, convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), 0, 1) == -1);
        strcpy(first, ps.err.msg);
        CHECK(convrnn_cell_create(&cell, &c, "s/", 4, 4, 3, 0, 0, &ps) == CONVRNN_ERR_SHAPE);
        CHECK(!strcmp(ps.err.msg, first));
        CHECK(convrnn_params_finalize(&ps) == CONVRNN_ERR_SHAPE);
        convrnn_params_free(&ps);
    }
}

static void test_bad_params_and_cells(void) {
    convrnn_params ps;
    convrnn_cell cell;
    convrnn_cell_config c;
    convrnn_init z = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
    int d2[2] = { 3, 4 }, d0[2] = { 3, 0 }, dn[2] = { -2, 4 }, dbig[4] = { 1 << 20, 1 << 20, 1 << 20, 1 << 20 };
    int r;

    /* duplicate names, zero/negative dims, overflow */
    convrnn_params_init_empty(&ps);
    CHECK(convrnn_params_declare(&ps, "layer/weights", 2, d2, z, 0, 1) == 0);
    r = convrnn_params_declare(&ps, "layer/weights", 2, d2, z, 0, 1);
    CHECK(r == -1);
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_ARG, "layer/weights", "duplicate name");
    CHECK(convrnn_params_declare(&ps, "zero", 2, d0, z, 0, 1) == -1);
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_SHAPE, "zero", "declare dim 0");
    CHECK(convrnn_params_declare(&ps, "neg", 2, dn, z, 0, 1) == -1);
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_SHAPE, "neg", "declare dim < 0");
    CHECK(convrnn_params_declare(&ps, "huge", 4, dbig, z, 0, 1) == -1);
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_OVERFLOW, "huge", "declare overflow");
    CHECK(convrnn_params_declare(&ps, NULL, 2, d2, z, 0, 1) == -1);
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_ARG, "params", "declare NULL name");
    CHECK(convrnn_params_init(&ps, 1) == CONVRNN_ERR_ARG);             /* before finalize */
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_ARG, "finalize", "init before finalize");
    CHECK(convrnn_params_count_trainable(&ps) == 12 && ps.count == 1);  /* the failures declared nothing */
    CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK);
    CHECK(convrnn_params_declare(&ps, "late", 2, d2, z, 0, 1) == -1);
    expect_ps_err(&ps, ps.err.status, CONVRNN_ERR_ARG, "finalize", "declare after finalize");
    CHECK(convrnn_params_tensor(&ps, 1) == NULL && convrnn_params_tensor(&ps, -1) == NULL);
    convrnn_params_free(&ps);

#define CELL_CASE(cfgexpr, h, w, cu, cr, cf, want, needle, what) do { \
        convrnn_params_init_empty(&ps); \
        c = cfgexpr; \
        r = convrnn_cell_create(&cell, &c, "net/conv4/", h, w, cu, cr, cf, &ps); \
        expect_ps_err(&ps, (convrnn_status)r, want, needle, what); \
        convrnn_params_free(&ps); } while (0)
    /* IntersectionRNN needs Cu == D */
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_INTERSECTION, 4), 5, 5, 3, 0, 0, CONVRNN_ERR_SHAPE, "IntersectionRNN", "intersection cu != D");
    /* RGC residual connections without a residual input (rgc_shallow uses residual_to_out_gate) */
    {
        convrnn_cell_config rc = convrnn_cell_config_default(CONVRNN_CELL_RGC, 4);
        rc.rgc = convrnn_rgc_shallow_config();
        CELL_CASE(rc, 5, 5, 4, 0, 0, CONVRNN_ERR_ARG, "residual", "rgc shallow without residual");
        rc.rgc = convrnn_rgc_median_config();
        rc.rgc.cell_depth = 3;
        CELL_CASE(rc, 8, 8, 4, 0, 3, CONVRNN_ERR_ARG, "residual", "rgc median without residual");
        /* the cell half with no input at all */
        rc.rgc = convrnn_rgc_shallow_config();
        rc.rgc.input_to_cell = 0;
        CELL_CASE(rc, 5, 5, 4, 3, 0, CONVRNN_ERR_ARG, "cell half", "rgc cell half without input");
        /* no input_to_out and Cu != D */
        rc.rgc = convrnn_rgc_shallow_config();
        CELL_CASE(rc, 5, 5, 3, 3, 0, CONVRNN_ERR_SHAPE, "input depth", "rgc cu != D without input_to_out");
        rc.rgc = convrnn_rgc_shallow_config();
        rc.rgc.tau_nl = CONVRNN_ACT_COUNT;
        CELL_CASE(rc, 5, 5, 4, 3, 0, CONVRNN_ERR_ARG, "activation", "rgc unknown activation");
    }
    /* unknown cell type */
    {
        convrnn_cell_config uc = convrnn_cell_config_default(CONVRNN_CELL_GRU, 4);
        uc.type = CONVRNN_CELL_TYPE_COUNT;
        CELL_CASE(uc, 5, 5, 3, 0, 0, CONVRNN_ERR_ARG, "unknown cell type", "unknown cell type");
        uc.type = (convrnn_cell_type)-1;
        CELL_CASE(uc, 5, 5, 3, 0, 0, CONVRNN_ERR_ARG, "unknown cell type", "negative cell type");
    }
    /* zero and negative sizes */
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_GRU, 4), 0, 5, 3, 0, 0, CONVRNN_ERR_SHAPE, "positive", "cell h = 0");
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_GRU, 4), 5, -5, 3, 0, 0, CONVRNN_ERR_SHAPE, "positive", "cell w < 0");
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_LSTM, 4), 5, 5, 0, 0, 0, CONVRNN_ERR_SHAPE, "positive", "cell cu = 0");
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_LSTM, 4), 5, 5, 3, -1, 0, CONVRNN_ERR_SHAPE, "positive", "cell cr < 0");
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_UGRNN, 0), 5, 5, 3, 0, 0, CONVRNN_ERR_SHAPE, "out_depth", "cell D = 0");
    CELL_CASE(convrnn_cell_config_default(CONVRNN_CELL_SIMPLERNN, -2), 5, 5, 3, 0, 0, CONVRNN_ERR_SHAPE, "out_depth", "cell D < 0");
    {
        convrnn_cell_config kc = convrnn_cell_config_default(CONVRNN_CELL_GRU, 4);
        kc.k = 0;
        CELL_CASE(kc, 5, 5, 3, 0, 0, CONVRNN_ERR_SHAPE, "filter size", "cell k = 0");
        kc.k = -3;
        CELL_CASE(kc, 5, 5, 3, 0, 0, CONVRNN_ERR_SHAPE, "filter size", "cell k < 0");
    }
    /* the same scope twice: duplicate parameter names */
    convrnn_params_init_empty(&ps);
    c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 4);
    CHECK(convrnn_cell_create(&cell, &c, "net/conv4/", 5, 5, 3, 0, 0, &ps) == CONVRNN_OK);
    r = convrnn_cell_create(&cell, &c, "net/conv4/", 5, 5, 3, 0, 0, &ps);
    expect_ps_err(&ps, (convrnn_status)r, CONVRNN_ERR_ARG, "duplicate", "cell declared twice");
    convrnn_params_free(&ps);
#undef CELL_CASE

    /* cell_step with wrong inputs */
    {
        convrnn_tape t;
        convrnn_tensor *st[2] = { NULL, NULL }, *out = NULL, *u;
        convrnn_params_init_empty(&ps);
        c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 4);
        CHECK(convrnn_cell_create(&cell, &c, "g/", 5, 5, 3, 0, 0, &ps) == CONVRNN_OK);
        convrnn_tape_init(&t, 1);
        u = ramp(&t, 2, 5, 5, 3, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, &out) == CONVRNN_ERR_ARG);   /* not finalized */
        expect_tape_err(&t, NULL, CONVRNN_ERR_ARG, "finalized", "step before finalize");
        CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK);
        u = ramp(&t, 2, 5, 5, 2, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, &out) == CONVRNN_ERR_SHAPE);
        expect_tape_err(&t, NULL, CONVRNN_ERR_SHAPE, "cell expects", "step input channels");
        u = ramp(&t, 2, 4, 5, 3, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, &out) == CONVRNN_ERR_SHAPE);
        expect_tape_err(&t, NULL, CONVRNN_ERR_SHAPE, "cell expects", "step input height");
        CHECK(convrnn_cell_step(&t, &cell, &ps, NULL, NULL, NULL, st, &out) == CONVRNN_ERR_ARG);
        expect_tape_err(&t, NULL, CONVRNN_ERR_ARG, "NULL", "step NULL input");
        u = ramp(&t, 2, 5, 5, 3, 0.1, 1);
        st[0] = ramp(&t, 2, 5, 5, 3, 0.1, 1);                    /* state with 3 channels, D = 4 */
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, &out) == CONVRNN_ERR_SHAPE);
        expect_tape_err(&t, NULL, CONVRNN_ERR_SHAPE, "state", "step wrong state");
        st[0] = NULL;
        u = ramp(&t, 2, 5, 5, 3, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, NULL) == CONVRNN_ERR_ARG);
        expect_tape_err(&t, NULL, CONVRNN_ERR_ARG, "NULL", "step NULL out");
        /* and a good step works after all that */
        u = ramp(&t, 2, 5, 5, 3, 0.1, 1);
        CHECKF(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, &out) == CONVRNN_OK && out && out->d[3] == 4,
               "good step: %s", t.err.msg);
        convrnn_tape_free(&t);
        convrnn_params_free(&ps);
    }
    /* an RGC step without its residual input, and with a misshaped feedback */
    {
        convrnn_tape t;
        convrnn_tensor *st[2] = { NULL, NULL }, *out = NULL, *u, *rr, *ff;
        convrnn_params_init_empty(&ps);
        c = convrnn_cell_config_default(CONVRNN_CELL_RGC, 4);
        c.rgc = convrnn_rgc_median_config();
        c.rgc.cell_depth = 3;
        CHECKF(convrnn_cell_create(&cell, &c, "m/", 8, 8, 4, 2, 3, &ps) == CONVRNN_OK, "rgc median: %s", ps.err.msg);
        CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK);
        convrnn_tape_init(&t, 1);
        u = ramp(&t, 2, 8, 8, 4, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, NULL, NULL, st, &out) == CONVRNN_ERR_ARG);
        expect_tape_err(&t, NULL, CONVRNN_ERR_ARG, "residual", "rgc step without residual");
        u = ramp(&t, 2, 8, 8, 4, 0.1, 1); rr = ramp(&t, 2, 8, 8, 2, 0.1, 1); ff = ramp(&t, 2, 8, 8, 2, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, rr, ff, st, &out) == CONVRNN_ERR_SHAPE);
        expect_tape_err(&t, NULL, CONVRNN_ERR_SHAPE, "feedback", "rgc step feedback channels");
        u = ramp(&t, 2, 8, 8, 4, 0.1, 1); rr = ramp(&t, 2, 8, 8, 3, 0.1, 1);
        CHECK(convrnn_cell_step(&t, &cell, &ps, u, rr, NULL, st, &out) == CONVRNN_ERR_SHAPE);
        expect_tape_err(&t, NULL, CONVRNN_ERR_SHAPE, "residual", "rgc step residual channels");
        convrnn_tape_free(&t);
        convrnn_params_free(&ps);
    }
}

/* ------------------------------------------------------------------ hand-computed cases */

static void test_hand(void) {
    convrnn_tape t;
    convrnn_tensor *x, *w, *b, *y;
    convrnn_real xv[49], wv[9], bv[1] = { 0.5f };
    int i, j, o, p;
    convrnn_tape_init(&t, 0);

    /* conv 3x3, stride 2, SAME on a 4x4 ramp x[i][j] = 4i + j + 1 (one channel), w[ky][kx] = 3ky + kx + 1,
       bias 0.5. out = ceil(4/2) = 2, pad_total = (2-1)*2 + 3 - 4 = 1 -> 0 before, 1 after, so output
       (oy, ox) reads rows 2oy..2oy+2 and cols 2ox..2ox+2, index 4 being padding:
         y00 = 1*1 + 2*2 + 3*3 + 5*4 + 6*5 + 7*6 + 9*7 + 10*8 + 11*9          + .5 = 348.5
         y01 = 3*1 + 4*2       + 7*4 + 8*5       + 11*7 + 12*8              + .5 = 252.5
         y10 = 9*1 + 10*2 + 11*3 + 13*4 + 14*5 + 15*6                      + .5 = 274.5
         y11 = 11*1 + 12*2     + 15*4 + 16*5                              + .5 = 175.5 */
    for (i = 0; i < 16; i++) xv[i] = (convrnn_real)(i + 1);
    for (i = 0; i < 9; i++) wv[i] = (convrnn_real)(i + 1);
    {
        int dw[4] = { 3, 3, 1, 1 }, db[1] = { 1 };
        static const double want[4] = { 348.5, 252.5, 274.5, 175.5 };
        x = convrnn_tape_input(&t, 1, 4, 4, 1, xv, 0);
        w = convrnn_tape_input_nd(&t, 4, dw, wv, 0);
        b = convrnn_tape_input_nd(&t, 1, db, bv, 0);
        y = convrnn_conv2d(&t, x, w, b, 2, CONVRNN_SAME);
        CHECKF(y && y->d[0] == 1 && y->d[1] == 2 && y->d[2] == 2 && y->d[3] == 1, "conv s2 shape: %s", t.err.msg);
        if (y) for (i = 0; i < 4; i++) CHECK_CLOSE(y->data[i], want[i], 0, 0);
    }
    /* conv 2x2, stride 1, SAME on a 3x3 ramp x = 1..9, w = [[1,2],[3,4]]: pads 0 before, 1 after, so
       y[i][j] = x[i][j] + 2x[i][j+1] + 3x[i+1][j] + 4x[i+1][j+1] with zeros past the end:
         y00 = 1 + 4 + 12 + 20 = 37   y01 = 2 + 6 + 15 + 24 = 47   y02 = 3 + 18 = 21
         y10 = 4 + 10 + 21 + 32 = 67  y11 = 5 + 12 + 24 + 36 = 77  y12 = 6 + 27 = 33
         y20 = 7 + 16 = 23            y21 = 8 + 18 = 26            y22 = 9 */
    {
        int dw[4] = { 2, 2, 1, 1 };
        static const double want[9] = { 37, 47, 21, 67, 77, 33, 23, 26, 9 };
        x = convrnn_tape_input(&t, 1, 3, 3, 1, xv, 0);
        w = convrnn_tape_input_nd(&t, 4, dw, wv, 0);
        y = convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_SAME);
        CHECKF(y && y->d[1] == 3 && y->d[2] == 3, "conv k2 shape: %s", t.err.msg);
        if (y) for (i = 0; i < 9; i++) CHECK_CLOSE(y->data[i], want[i], 0, 0);
        /* VALID: only the four full windows, i.e. y00, y01, y10, y11 */
        y = convrnn_conv2d(&t, x, w, NULL, 1, CONVRNN_VALID);
        CHECKF(y && y->d[1] == 2 && y->d[2] == 2, "conv k2 VALID shape: %s", t.err.msg);
        if (y) { CHECK(y->data[0] == 37); CHECK(y->data[1] == 47); CHECK(y->data[2] == 67); CHECK(y->data[3] == 77); }
    }
    /* TF SAME pads */
    CHECK(convrnn_conv_out_size(224, 7, 2, CONVRNN_SAME, &o, &p) && o == 112 && p == 2);   /* pads (2,3) */
    CHECK(convrnn_conv_out_size(7, 2, 2, CONVRNN_SAME, &o, &p) && o == 4 && p == 0);       /* pads (0,1) */
    CHECK(convrnn_conv_out_size(5, 2, 1, CONVRNN_SAME, &o, &p) && o == 5 && p == 0);       /* k2: (0,1) */
    CHECK(convrnn_conv_out_size(5, 4, 1, CONVRNN_SAME, &o, &p) && o == 5 && p == 1);       /* k4: (1,2) */
    CHECK(convrnn_conv_out_size(56, 3, 1, CONVRNN_SAME, &o, &p) && o == 56 && p == 1);
    CHECK(convrnn_conv_out_size(4, 1, 2, CONVRNN_SAME, &o, &p) && o == 2 && p == 0);      /* total < 0 -> 0 */
    CHECK(convrnn_conv_out_size(7, 3, 2, CONVRNN_VALID, &o, &p) && o == 3 && p == 0);
    CHECK(convrnn_conv_out_size(4, 4, 1, CONVRNN_VALID, &o, &p) && o == 1 && p == 0);

    /* max pool 2x2 stride 2 SAME on 7x7: out 4, pads (0,1); the last window covers only row/col 6.
       All values are negative, so a zero-padded cell would win if padding took part. */
    for (i = 0; i < 49; i++) xv[i] = (convrnn_real)(-1 - ((i * 17) % 49));
    convrnn_tape_free(&t);
    convrnn_tape_init(&t, 1);
    x = convrnn_tape_input(&t, 1, 7, 7, 1, xv, 1);
    y = convrnn_maxpool(&t, x, 2, 2, CONVRNN_SAME);
    CHECKF(y && y->d[1] == 4 && y->d[2] == 4, "maxpool shape: %s", t.err.msg);
    if (y) {
        convrnn_real ones[16];
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++) {
                /* window rows {2i, 2i+1} and cols {2j, 2j+1}, clipped to 0..6 */
                double m = -1e30;
                int a, c;
                for (a = 2 * i; a <= 2 * i + 1 && a < 7; a++)
                    for (c = 2 * j; c <= 2 * j + 1 && c < 7; c++) if (xv[a * 7 + c] > m) m = xv[a * 7 + c];
                CHECKF(y->data[i * 4 + j] == m, "maxpool[%d][%d] = %g, want %g", i, j, (double)y->data[i * 4 + j], m);
            }
        CHECK(y->data[15] == xv[48]);                                   /* corner: x[6][6] alone */
        CHECK(y->data[12] == (xv[42] > xv[43] ? xv[42] : xv[43]));      /* last row: x[6][0..1] */
        CHECK(y->data[3] == (xv[6] > xv[13] ? xv[6] : xv[13]));         /* last col: x[0..1][6] */
        CHECK(y->data[15] < 0);
        /* gradient: each output's 1 lands on its window's argmax only */
        for (i = 0; i < 16; i++) ones[i] = 1;
        CHECK(convrnn_tape_backward(&t, convrnn_dot_const(&t, y, ones)) == CONVRNN_OK);
        {
            double s = 0;
            for (i = 0; i < 49; i++) s += x->grad[i];
            CHECK(s == 16);
            CHECK(x->grad[48] == 1);
        }
    }
    /* VALID on 7x7: 3x3 output, row/col 6 dropped */
    y = convrnn_maxpool(&t, x, 2, 2, CONVRNN_VALID);
    CHECK(y && y->d[1] == 3 && y->d[2] == 3);

    /* bilinear align-corners resize 2x2 -> 3x3: corners kept, midpoints averaged
       [[1,2],[3,4]] -> [[1,1.5,2],[2,2.5,3],[3,3.5,4]] */
    {
        static const double want[9] = { 1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4 };
        convrnn_real v[4] = { 1, 2, 3, 4 };
        x = convrnn_tape_input(&t, 1, 2, 2, 1, v, 1);
        y = convrnn_resize_bilinear(&t, x, 3, 3);
        CHECKF(y && y->d[1] == 3 && y->d[2] == 3, "resize shape: %s", t.err.msg);
        if (y) for (i = 0; i < 9; i++) CHECKF(y->data[i] == want[i], "resize[%d] = %g want %g", i, (double)y->data[i], want[i]);
        /* same size is the identity (the tensor itself); 1x1 picks pixel (0,0) */
        CHECK(convrnn_resize_bilinear(&t, x, 2, 2) == x);
        y = convrnn_resize_bilinear(&t, x, 1, 1);
        CHECK(y && y->size == 1 && y->data[0] == 1);
    }
    convrnn_tape_free(&t);
}

/* ------------------------------------------------------------------ determinism */

typedef struct unroll_result {
    convrnn_real *out;      /* outputs of every step */
    convrnn_real *grads;    /* parameter gradients */
    convrnn_real *gin;      /* gradients of every step input (x, r, f) */
    size_t nout, ngrad, ngin;
} unroll_result;

/* T steps forward, loss = sum_t <y_t, w_t>, backward; everything copied into res. */
static int unroll(const convrnn_cell *cell, convrnn_params *ps, int T, int N, unroll_result *res) {
    convrnn_tape t;
    convrnn_tensor *state[2] = { NULL, NULL }, *ins[3 * 8], *losses[8], *loss;
    convrnn_rng rng;
    convrnn_real *buf, *wbuf;
    size_t nx = (size_t)N * cell->h * cell->w, i, o;
    int s, k, nin = 0, ok;
    convrnn_rng_seed(&rng, 2024);
    buf = (convrnn_real *)malloc(nx * 64 * sizeof *buf);
    wbuf = (convrnn_real *)malloc(nx * (size_t)cell->out_c * sizeof *wbuf);
    convrnn_tape_init(&t, 1);
    convrnn_params_zero_grad(ps);
    res->nout = 0;
    res->out = (convrnn_real *)malloc((size_t)T * nx * cell->out_c * sizeof(convrnn_real));
    for (s = 0; s < T; s++) {
        convrnn_tensor *u, *r = NULL, *f = NULL, *y = NULL;
        const int ch[3] = { cell->cu, cell->cr, cell->cf };
        convrnn_tensor **dst[3];
        dst[0] = &u; dst[1] = &r; dst[2] = &f;
        for (k = 0; k < 3; k++) {
            if (!ch[k]) continue;
            for (i = 0; i < nx * (size_t)ch[k]; i++) buf[i] = (convrnn_real)convrnn_rng_normal(&rng);
            *dst[k] = ins[nin++] = convrnn_tape_input(&t, N, cell->h, cell->w, ch[k], buf, 1);
        }
        convrnn_cell_step(&t, cell, ps, u, r, f, state, &y);
        for (i = 0; i < nx * (size_t)cell->out_c; i++) wbuf[i] = (convrnn_real)convrnn_rng_normal(&rng);
        losses[s] = convrnn_dot_const(&t, y, wbuf);
        if (y) { memcpy(res->out + res->nout, y->data, y->size * sizeof(convrnn_real)); res->nout += y->size; }
    }
    loss = convrnn_sum_scalars(&t, losses, T);
    ok = convrnn_tape_backward(&t, loss) == CONVRNN_OK;
    CHECKF(ok, "unroll: %s", t.err.msg);
    res->ngrad = ps->total;
    res->grads = (convrnn_real *)malloc(ps->total * sizeof(convrnn_real));
    memcpy(res->grads, ps->grads, ps->total * sizeof(convrnn_real));
    res->ngin = 0;
    for (k = 0; k < nin; k++) res->ngin += ins[k] ? ins[k]->size : 0;
    res->gin = (convrnn_real *)malloc((res->ngin + 1) * sizeof(convrnn_real));
    for (k = 0, o = 0; k < nin; k++)
        if (ins[k] && ins[k]->grad) { memcpy(res->gin + o, ins[k]->grad, ins[k]->size * sizeof(convrnn_real)); o += ins[k]->size; }
    CHECK(o == res->ngin);
    convrnn_tape_free(&t);
    free(buf); free(wbuf);
    return ok;
}
static void unroll_free(unroll_result *r) { free(r->out); free(r->grads); free(r->gin); memset(r, 0, sizeof *r); }

static size_t count_nonzero(const convrnn_real *v, size_t n) {
    size_t i, k = 0;
    for (i = 0; i < n; i++) k += v[i] != 0;
    return k;
}

static void determinism_case(const char *name, const convrnn_cell_config *cfg, int cr, int cf) {
    const int N = 4, H = 16, W = 16, C = 16, T = 4;
    convrnn_params ps;
    convrnn_cell cell;
    unroll_result a, b;
    convrnn_params_init_empty(&ps);
    CHECKF(convrnn_cell_create(&cell, cfg, "det/", H, W, C, cr, cf, &ps) == CONVRNN_OK, "%s: %s", name, ps.err.msg);
    CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK);
    CHECK(convrnn_params_init(&ps, 11) == CONVRNN_OK);
    {   /* nonzero biases so that every parameter has a non-trivial gradient */
        size_t i;
        convrnn_rng r;
        convrnn_rng_seed(&r, 3);
        for (i = 0; i < ps.total; i++) if (ps.values[i] == 0) ps.values[i] = (convrnn_real)(0.1 * convrnn_rng_normal(&r));
    }
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    unroll(&cell, &ps, T, N, &a);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    unroll(&cell, &ps, T, N, &b);
    CHECKF(a.nout == b.nout && a.nout == (size_t)T * N * H * W * cell.out_c, "%s: output sizes", name);
    CHECKF(a.nout == b.nout && !memcmp(a.out, b.out, a.nout * sizeof(convrnn_real)), "%s: outputs differ between 1 and 2 threads", name);
    CHECKF(a.ngrad == b.ngrad && !memcmp(a.grads, b.grads, a.ngrad * sizeof(convrnn_real)), "%s: parameter gradients differ between 1 and 2 threads", name);
    CHECKF(a.ngin == b.ngin && !memcmp(a.gin, b.gin, a.ngin * sizeof(convrnn_real)), "%s: input gradients differ between 1 and 2 threads", name);
    /* the comparison is meaningful: real outputs and gradients everywhere */
    CHECKF(count_nonzero(a.out, a.nout) > a.nout / 2, "%s: outputs mostly zero", name);
    CHECKF(count_nonzero(a.gin, a.ngin) > a.ngin / 2, "%s: input gradients mostly zero", name);
    {
        int i, dead = 0;
        for (i = 0; i < ps.count; i++) dead += count_nonzero(a.grads + ps.info[i].offset, ps.info[i].size) == 0;
        CHECKF(dead == 0, "%s: %d parameters without gradient", name, dead);
    }
    printf("determinism %-12s %zu outputs, %zu parameter grads, %zu input grads: 1 vs 2 threads bitwise equal\n", name,
           a.nout, a.ngrad, a.ngin);
    unroll_free(&a);
    unroll_free(&b);
    convrnn_params_free(&ps);
#ifdef _OPENMP
    omp_set_num_threads(omp_get_num_procs());
#endif
}


/* ------------------------------------------------------------------ fused conv + act, lazy grads */

/* Build x, w, b with gradients; y = act(conv(x)) fused or not; loss = sum(y * r). Returns y. */
static convrnn_tensor *fa_build(convrnn_tape *t, int fused, convrnn_act a, convrnn_tensor **x, convrnn_tensor **w, convrnn_tensor **b,
                                convrnn_real *r) {
    convrnn_tensor *y;
    size_t i;
    *x = nd(t, 4, 2, 6, 5, 3);
    *w = nd(t, 4, 3, 3, 3, 4);
    *b = nd(t, 1, 4, 1, 1, 1);
    if (*x) for (i = 0; i < (*x)->size; i++) (*x)->data[i] = (convrnn_real)(0.37 * sin(1.3 * (double)i) + (i % 13 == 0 ? 0.0 : 0.05));
    y = fused ? convrnn_conv2d_act(t, *x, *w, *b, 1, CONVRNN_SAME, a)
              : convrnn_activate(t, convrnn_conv2d(t, *x, *w, *b, 1, CONVRNN_SAME), a);
    if (y) for (i = 0; i < y->size; i++) r[i] = (convrnn_real)(0.1 * (double)(i % 7) - 0.25);
    return y;
}
static void test_fused_and_lazy(void) {
    static const convrnn_act acts[5] = { CONVRNN_ACT_IDENTITY, CONVRNN_ACT_ELU, CONVRNN_ACT_RELU, CONVRNN_ACT_SIGMOID, CONVRNN_ACT_TANH };
    convrnn_real r[2 * 6 * 5 * 4];
    int ai, be, lazy;
    for (be = 0; be < 2; be++)
        for (ai = 0; ai < 5; ai++) {
            convrnn_tape t[2];
            convrnn_tensor *x[2], *w[2], *b[2], *y[2];
            int f;
            for (f = 0; f < 2; f++) {
                convrnn_tape_init(&t[f], 1);
                t[f].backend = be ? CONVRNN_BACKEND_SCALAR : CONVRNN_BACKEND_AUTO;
                t[f].lazy_grads = f;   /* the fused op also runs under lazy gradients */
                y[f] = fa_build(&t[f], f, acts[ai], &x[f], &w[f], &b[f], r);
                CHECKF(y[f] && convrnn_tape_backward(&t[f], convrnn_dot_const(&t[f], y[f], r)) == CONVRNN_OK, "conv2d_act %s: %s",
                       convrnn_act_name(acts[ai]), t[f].err.msg);
            }
            if (y[0] && y[1]) {
                CHECKF(!memcmp(y[0]->data, y[1]->data, y[0]->size * sizeof(convrnn_real)), "conv2d_act %s (%s): values differ",
                       convrnn_act_name(acts[ai]), be ? "scalar" : "simd");
                CHECKF(!memcmp(x[0]->grad, x[1]->grad, x[0]->size * sizeof(convrnn_real)) &&
                       !memcmp(w[0]->grad, w[1]->grad, w[0]->size * sizeof(convrnn_real)) &&
                       !memcmp(b[0]->grad, b[1]->grad, b[0]->size * sizeof(convrnn_real)),
                       "conv2d_act %s (%s): gradients differ", convrnn_act_name(acts[ai]), be ? "scalar" : "simd");
            }
            convrnn_tape_free(&t[0]);
            convrnn_tape_free(&t[1]);
        }
    {   /* an unknown activation is refused */
        convrnn_tape t;
        convrnn_tensor *x, *w, *b;
        convrnn_tape_init(&t, 1);
        x = nd(&t, 4, 1, 4, 4, 3); w = nd(&t, 4, 3, 3, 3, 4); b = nd(&t, 1, 4, 1, 1, 1);
        expect_tape_err(&t, convrnn_conv2d_act(&t, x, w, b, 1, CONVRNN_SAME, (convrnn_act)99), CONVRNN_ERR_ARG, "activation",
                        "conv2d_act unknown activation");
        convrnn_tape_free(&t);
    }
    {   /* lazy vs eager on a chain with a dead branch, a reused tensor and a concat; then a seeded
           backward through convrnn_tape_grad() */
        convrnn_real gx[2][2 * 6 * 5 * 3], gw[2][3 * 3 * 3 * 4], gs[2][3 * 3 * 3 * 4];
        size_t peak[2];
        for (lazy = 0; lazy < 2; lazy++) {
            convrnn_tape t;
            convrnn_tensor *x, *w, *b, *y, *z, *dead, *cat[2], *c, *loss, *y2;
            convrnn_real *g;
            size_t i;
            convrnn_tape_init(&t, 1);
            t.lazy_grads = lazy;
            y = fa_build(&t, 1, CONVRNN_ACT_TANH, &x, &w, &b, r);
            dead = convrnn_mul(&t, y, y);                          /* never reaches the loss */
            z = convrnn_activate(&t, convrnn_mul(&t, y, y), CONVRNN_ACT_SIGMOID);
            cat[0] = y; cat[1] = z;
            c = convrnn_concat(&t, cat, 2);
            c = convrnn_activate(&t, convrnn_affine(&t, c, 0.5, 0.1), CONVRNN_ACT_ELU);
            y2 = convrnn_slice_channels(&t, c, 2, 4);
            loss = convrnn_dot_const(&t, y2, r);
            CHECK(dead != NULL);
            CHECKF(loss && convrnn_tape_backward(&t, loss) == CONVRNN_OK, "lazy %d: %s", lazy, t.err.msg);
            if (loss) {
                memcpy(gx[lazy], x->grad, sizeof gx[0]);
                memcpy(gw[lazy], w->grad, sizeof gw[0]);
            }
            peak[lazy] = convrnn_tape_peak_bytes(&t);
            if (lazy) {
                CHECK(x->grad_lazy == 0 && w->grad_lazy == 0);          /* leaves keep their gradients */
                CHECK(y->grad != NULL && y->grad_cap == 0);            /* op outputs gave theirs back */
            }
            /* seeded: d/dy of sum(y * r) through the same graph piece, seeded via convrnn_tape_grad */
            convrnn_tape_reset(&t);
            y = fa_build(&t, 1, CONVRNN_ACT_SIGMOID, &x, &w, &b, r);
            g = convrnn_tape_grad(&t, y);
            CHECK(g != NULL);
            if (g) for (i = 0; i < y->size; i++) g[i] = r[i];
            CHECKF(convrnn_tape_backward_seeded(&t) == CONVRNN_OK, "seeded lazy %d: %s", lazy, t.err.msg);
            memcpy(gs[lazy], w->grad, sizeof gs[0]);
            CHECK(convrnn_tape_grad(&t, NULL) == NULL);
            convrnn_tape_free(&t);
        }
        CHECK(!memcmp(gx[0], gx[1], sizeof gx[0]) && !memcmp(gw[0], gw[1], sizeof gw[0]));
        CHECK(!memcmp(gs[0], gs[1], sizeof gs[0]));
        CHECKF(peak[1] < peak[0], "lazy peak %zu, eager peak %zu", peak[1], peak[0]);
    }
}

static void test_determinism(void) {
    convrnn_cell_config c;
    c = convrnn_cell_config_default(CONVRNN_CELL_GRU, 16);
    determinism_case("gru", &c, 0, 0);
    c = convrnn_cell_config_default(CONVRNN_CELL_RGC, 16);
    c.rgc = convrnn_rgc_median_config();
    c.rgc.cell_depth = 16;
    determinism_case("rgc_median", &c, 8, 8);
}

static void declare_mix(convrnn_params *ps) {
    int d4[4] = { 3, 3, 8, 16 }, d1[1] = { 16 }, d2[2] = { 40, 10 };
    convrnn_params_init_empty(ps);
    convrnn_params_declare(ps, "a/weights", 4, d4, convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), 0, 1);
    convrnn_params_declare(ps, "a/vs", 4, d4, convrnn_init_make(CONVRNN_INIT_VARSCALE, 0.64, 0), 0, 1);
    convrnn_params_declare(ps, "a/bias", 1, d1, convrnn_init_make(CONVRNN_INIT_CONST, 1.0, 0), 0, 1);
    convrnn_params_declare(ps, "b/normal", 2, d2, convrnn_init_make(CONVRNN_INIT_NORMAL, 0.1, 0), 0, 1);
    convrnn_params_declare(ps, "b/uniform", 2, d2, convrnn_init_make(CONVRNN_INIT_UNIFORM, -0.5, 0.25), 0, 1);
    CHECK(convrnn_params_finalize(ps) == CONVRNN_OK);
}

static void test_init_seed(void) {
    convrnn_params p1, p2, p3;
    int i;
    declare_mix(&p1); declare_mix(&p2); declare_mix(&p3);
    CHECK(convrnn_params_init(&p1, 12345) == CONVRNN_OK);
    CHECK(convrnn_params_init(&p2, 12345) == CONVRNN_OK);
    CHECK(convrnn_params_init(&p3, 12346) == CONVRNN_OK);
    CHECK(p1.total == p2.total && !memcmp(p1.values, p2.values, p1.total * sizeof(convrnn_real)));
    CHECK(memcmp(p1.values, p3.values, p1.total * sizeof(convrnn_real)) != 0);
    for (i = 0; i < p1.count; i++) {
        const convrnn_param_info *pi = &p1.info[i];
        const int random = pi->init.kind != CONVRNN_INIT_CONST && pi->init.kind != CONVRNN_INIT_ZERO;
        const int same = !memcmp(p1.values + pi->offset, p3.values + pi->offset, pi->size * sizeof(convrnn_real));
        CHECKF(same == !random, "%s: seed change %s", pi->name, random ? "left it unchanged" : "changed a constant");
    }
    /* a parameter's stream depends on its name, not on its position: two different names differ */
    CHECK(memcmp(p1.values + p1.info[0].offset, p1.values + p1.info[1].offset, 16 * sizeof(convrnn_real)) != 0);
    /* re-initialising gives the same values again */
    CHECK(convrnn_params_init(&p3, 12345) == CONVRNN_OK);
    CHECK(!memcmp(p1.values, p3.values, p1.total * sizeof(convrnn_real)));
    convrnn_params_free(&p1); convrnn_params_free(&p2); convrnn_params_free(&p3);
}

/* The generator against known answers: splitmix64 from seed 0 starts 0xe220a8397b1dcdaf (the
   published reference value); the xoshiro256** outputs were computed by an independent Python
   implementation of the published algorithms:
       M = 2**64 - 1; rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M
       def splitmix(x): x = (x + 0x9E3779B97F4A7C15) & M; z = x
           z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M; z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
           return x, z ^ (z >> 31)
       state: four splitmix outputs; output: rotl(s1 * 5, 7) * 9, then the xoshiro256 update.
   Then the initializers' laws on many draws: bounds, means and deviations (TF's fans: the last two
   dims are (in, out), earlier dims the receptive field; a depthwise [k,k,C,1] kernel has fan_in
   k*k*C), within 5 standard errors. */
static void test_init_laws(void) {
    static const uint64_t x0[5] = { 0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
                                    0x6aa594f1262d2d2cULL, 0xbba5ad4a1f842e59ULL };
    static const uint64_t x12345[5] = { 0xbe6a36374160d49bULL, 0x214aaa0637a688c6ULL, 0xf69d16de9954d388ULL,
                                        0x0c60048c4e96e033ULL, 0x8e2076aeed51c648ULL };
    static const struct { const char *name; int rank, d[4]; convrnn_init_kind kind; double a, b; } cs[] = {
        { "glorot", 4, { 3, 3, 16, 32 }, CONVRNN_INIT_GLOROT_UNIFORM, 0, 0 },
        { "glorot1", 1, { 5000, 1, 1, 1 }, CONVRNN_INIT_GLOROT_UNIFORM, 0, 0 },
        { "vs", 4, { 3, 3, 16, 32 }, CONVRNN_INIT_VARSCALE, 2.0, 0 },
        { "vs_dw", 4, { 7, 7, 128, 1 }, CONVRNN_INIT_VARSCALE, 0.64, 0 },
        { "vs_peep", 3, { 2, 40, 64, 1 }, CONVRNN_INIT_VARSCALE, 1.0, 0 },
        { "normal", 2, { 80, 64, 1, 1 }, CONVRNN_INIT_NORMAL, 0.5, 0 },
        { "uniform", 2, { 80, 64, 1, 1 }, CONVRNN_INIT_UNIFORM, -1.0, 3.0 },
    };
    convrnn_rng r;
    convrnn_params ps;
    int i;
    size_t j;
    convrnn_rng_seed(&r, 0);
    for (i = 0; i < 5; i++) CHECKF(convrnn_rng_u64(&r) == x0[i], "xoshiro256** from seed 0: output %d", i);
    convrnn_rng_seed(&r, 12345);
    for (i = 0; i < 5; i++) CHECKF(convrnn_rng_u64(&r) == x12345[i], "xoshiro256** from seed 12345: output %d", i);
    convrnn_params_init_empty(&ps);
    for (i = 0; i < (int)(sizeof cs / sizeof cs[0]); i++)
        convrnn_params_declare(&ps, cs[i].name, cs[i].rank, cs[i].d, convrnn_init_make(cs[i].kind, cs[i].a, cs[i].b), 0, 1);
    CHECK(convrnn_params_finalize(&ps) == CONVRNN_OK && convrnn_params_init(&ps, 7) == CONVRNN_OK);
    for (i = 0; i < ps.count && i < (int)(sizeof cs / sizeof cs[0]); i++) {
        const convrnn_param_info *pi = &ps.info[i];
        const convrnn_real *v = ps.values + pi->offset;
        const double n = (double)pi->size;
        double fin, fout, lo, hi, mu, sd, m = 0, q = 0;
        if (cs[i].rank == 1) fin = fout = n;
        else {
            double rf = 1;
            int k;
            for (k = 0; k < cs[i].rank - 2; k++) rf *= cs[i].d[k];
            fin = rf * cs[i].d[cs[i].rank - 2]; fout = rf * cs[i].d[cs[i].rank - 1];
        }
        switch (cs[i].kind) {
        case CONVRNN_INIT_GLOROT_UNIFORM: hi = sqrt(6.0 / (fin + fout)); lo = -hi; mu = 0; sd = hi / sqrt(3.0); break;
        case CONVRNN_INIT_VARSCALE:   /* a unit normal truncated to +-2 has deviation 0.8796...: rescaled to sqrt(a / fan_in) */
            sd = sqrt(cs[i].a / fin); hi = 2 * sd / 0.87962566103423978; lo = -hi; mu = 0; break;
        case CONVRNN_INIT_NORMAL: sd = cs[i].a; hi = HUGE_VAL; lo = -HUGE_VAL; mu = 0; break;
        default: lo = cs[i].a; hi = cs[i].b; mu = 0.5 * (lo + hi); sd = (hi - lo) / sqrt(12.0); break;
        }
        for (j = 0; j < pi->size; j++) {
            const double x = (double)v[j];
            CHECKF(x >= lo * (1 + 1e-6) && x <= hi * (1 + 1e-6) && !(cs[i].kind == CONVRNN_INIT_UNIFORM && x >= hi),
                   "%s: value %zu = %g outside [%g, %g]", cs[i].name, j, x, lo, hi);
            m += x;
        }
        m /= n;
        for (j = 0; j < pi->size; j++) q += ((double)v[j] - m) * ((double)v[j] - m);
        q = sqrt(q / (n - 1));
        /* standard errors: of the mean sd / sqrt(n), of the deviation about sd * sqrt((kurtosis - 1) / (4 n)) */
        CHECKF(fabs(m - mu) <= 5 * sd / sqrt(n), "%s: mean %g, expected %g (n %g)", cs[i].name, m, mu, n);
        CHECKF(fabs(q - sd) <= 5 * sd * sqrt(2.0 / (4 * n)), "%s: deviation %g, expected %g (n %g)", cs[i].name, q, sd, n);
        printf("init %-8s n %5.0f  mean %+.4f  sd %.5f (expected %.5f)\n", cs[i].name, n, m, q, sd);
    }
    convrnn_params_free(&ps);
}

/* ------------------------------------------------------------------ build info, status strings */

static void test_info(void) {
    const char *info = convrnn_build_info();
    int i, j;
    printf("%s\n", info);
    CHECK(info && has(info, "REAL=float") && !has(info, "REAL=double"));
    CHECK(sizeof(convrnn_real) == sizeof(float));
#ifdef _OPENMP
    CHECK(has(info, "OPENMP=1"));
#else
    CHECK(has(info, "OPENMP=0"));
#endif
#if defined(__AVX2__) && defined(__FMA__) && !defined(CONVRNN_NO_SIMD)
    CHECK(has(info, "AVX2=1"));
#else
    CHECK(has(info, "AVX2=0"));   /* scalar kernels on x86 without -mavx2 -mfma */
#endif
    /* the AVX-512 flag follows the kernels' path */
    CHECK(has(info, "AVX512=1") == !strcmp(convrnn_simd_path(), "avx512"));
#if defined(__ARM_NEON) || defined(__aarch64__)
    CHECK(has(info, "NEON=1"));
#else
    CHECK(has(info, "NEON=0"));
#endif
    CHECK(has(info, "convrnn 0.") && has(info, "CUDA="));
    for (i = 0; i < CONVRNN_STATUS_COUNT; i++) {
        const char *si = convrnn_status_string((convrnn_status)i);
        CHECKF(si && si[0], "status %d has no string", i);
        for (j = 0; j < i; j++) {
            const char *sj = convrnn_status_string((convrnn_status)j);
            CHECKF(si && sj && strcmp(si, sj), "status %d and %d share the string '%s'", i, j, si ? si : "");
        }
    }
    CHECK(convrnn_status_string(CONVRNN_STATUS_COUNT) != NULL && convrnn_status_string((convrnn_status)-1) != NULL);
    CHECK(!strcmp(convrnn_status_string(CONVRNN_OK), "ok"));
    CHECK(convrnn_act_name(CONVRNN_ACT_COUNT) != NULL && convrnn_cell_type_name(CONVRNN_CELL_TYPE_COUNT) != NULL);
}

/* tensors of another tape, NULL tapes, sizes near INT_MAX, a cell stepped with another store,
   settings that would give NaN: each an error, never memory of the wrong tape or a wrong answer */
static void test_misuse(void) {
    convrnn_tape a, b;
    convrnn_tensor *x, *y, *z, *xs[2];
    convrnn_params p1, p2;
    convrnn_cell c1, c2;
    convrnn_cell_config cg;
    convrnn_init z0 = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), bad = z0;
    int d2[2] = { 3, 4 }, o = 0, pb = 0, i;
    convrnn_real ones[36];
    for (i = 0; i < 36; i++) ones[i] = 1;
    convrnn_tape_init(&a, 1);
    convrnn_tape_init(&b, 1);
    a.lazy_grads = 1;
    /* another tape's tensor: refused by unary, binary and list ops and by backward */
    x = ramp(&a, 2, 3, 3, 2, 0.1, 1);
    y = convrnn_affine(&a, x, 2, 0);
    CHECK(y != NULL);
    expect_tape_err(&b, convrnn_affine(&b, y, 1, 0), CONVRNN_ERR_ARG, "another tape", "affine of a tensor of tape a on tape b");
    z = ramp(&b, 2, 3, 3, 2, 0.1, 1);
    expect_tape_err(&b, convrnn_add(&b, z, y), CONVRNN_ERR_ARG, "another tape", "add across tapes");
    xs[0] = z; xs[1] = y;
    expect_tape_err(&b, convrnn_concat(&b, xs, 2), CONVRNN_ERR_ARG, "another tape", "concat across tapes");
    z = ramp(&b, 1, 1, 1, 1, 0.1, 1);
    CHECK(convrnn_tape_backward(&b, convrnn_dot_const(&a, y, ones)) != CONVRNN_OK && has(b.err.msg, "another tape"));
    convrnn_tape_reset(&b);
    CHECK(convrnn_tape_grad(&b, y) == NULL);
    CHECK(a.err.status == CONVRNN_OK);   /* tape a untouched: its own backward still runs */
    CHECK(convrnn_tape_backward(&a, convrnn_dot_const(&a, y, ones)) == CONVRNN_OK && x->grad && x->grad[0] == 2);
    /* NULL tapes */
    CHECK(convrnn_affine(NULL, x, 1, 0) == NULL && convrnn_concat(NULL, xs, 2) == NULL && convrnn_tape_zeros(NULL, 1, 1, 1, 1, 0) == NULL);
    CHECK(convrnn_conv2d_act(NULL, x, x, NULL, 1, CONVRNN_SAME, CONVRNN_ACT_RELU) == NULL);
    CHECK(convrnn_tape_backward(NULL, y) == CONVRNN_ERR_ARG && convrnn_tape_backward_seeded(NULL) == CONVRNN_ERR_ARG);
    CHECK(convrnn_model_unroll(NULL, &b, NULL, NULL) == CONVRNN_ERR_ARG);
    convrnn_tape_reset(&b);
    CHECK(convrnn_params_find(NULL, "x") == -1 && convrnn_params_find(&p1, NULL) == -1);
    /* sizes near INT_MAX: an error with the true cause, not a wrapped size or an endless loop */
    CHECK(convrnn_conv_out_size(5, 1, 2147483647, CONVRNN_SAME, &o, &pb) == 1 && o == 1 && pb == 0);
    CHECK(convrnn_conv_out_size(2147483647, 3, 2, CONVRNN_SAME, &o, &pb) == 1 && o == 1073741824);
    x = ramp(&b, 1, 4, 4, 1, 0.1, 0);
    expect_tape_err(&b, convrnn_maxpool(&b, x, 2147483647, 1, CONVRNN_SAME), CONVRNN_ERR_SHAPE, "larger than 4096", "maxpool k=INT_MAX");
    x = ramp(&b, 1, 4, 4, 1, 0.1, 0);
    y = convrnn_maxpool(&b, x, 2, 2147483647, CONVRNN_SAME);
    CHECKF(y && y->d[1] == 1 && y->d[2] == 1, "maxpool stride INT_MAX: %s", b.err.msg);
    /* layer norm with eps <= 0 or NaN */
    convrnn_tape_reset(&b);
    x = ramp(&b, 1, 2, 2, 2, 0.1, 0);
    z = convrnn_tape_fill(&b, 2, 1, 1, 1, 1);
    z->rank = 1; z->d[0] = 2;
    expect_tape_err(&b, convrnn_layer_norm(&b, x, z, z, 0), CONVRNN_ERR_ARG, "eps", "layer_norm eps 0");
    /* parameter declarations with an unknown initializer or a NaN argument */
    convrnn_params_init_empty(&p1);
    bad.kind = (convrnn_init_kind)42;
    CHECK(convrnn_params_declare(&p1, "w", 2, d2, bad, 0, 1) == -1);
    expect_ps_err(&p1, p1.err.status, CONVRNN_ERR_ARG, "initializer", "init kind 42");
    bad = convrnn_init_make(CONVRNN_INIT_NORMAL, (double)NAN, 0);
    CHECK(convrnn_params_declare(&p1, "w", 2, d2, bad, 0, 1) == -1);
    expect_ps_err(&p1, p1.err.status, CONVRNN_ERR_ARG, "initializer", "init NaN");
    CHECK(convrnn_params_declare(&p1, "w", 2, d2, z0, -1, 1) == -1);
    expect_ps_err(&p1, p1.err.status, CONVRNN_ERR_ARG, "weight decay", "negative weight decay");
    /* cells: huge channel counts, a NaN forget bias, an unknown RGC flavor */
    cg = convrnn_cell_config_default(CONVRNN_CELL_GRU, 2000000000);
    CHECK(convrnn_cell_create(&c1, &cg, "big/", 4, 4, 1, 0, 0, &p1) == CONVRNN_ERR_OVERFLOW);
    convrnn_error_clear(&p1.err);
    cg = convrnn_cell_config_default(CONVRNN_CELL_LSTM, 2);
    cg.forget_bias = (double)NAN;
    CHECK(convrnn_cell_create(&c1, &cg, "nan/", 4, 4, 1, 0, 0, &p1) == CONVRNN_ERR_ARG);
    convrnn_error_clear(&p1.err);
    cg = convrnn_cell_config_default(CONVRNN_CELL_RGC, 2);
    cg.rgc.flavor = (convrnn_rgc_flavor)7;
    CHECK(convrnn_cell_create(&c1, &cg, "rgc/", 4, 4, 1, 0, 0, &p1) == CONVRNN_ERR_ARG);
    convrnn_error_clear(&p1.err);
    /* a GRU stepped with the store of another GRU (other shapes, the same slots) */
    convrnn_params_init_empty(&p2);
    cg = convrnn_cell_config_default(CONVRNN_CELL_GRU, 2);
    CHECK(convrnn_cell_create(&c1, &cg, "g1/", 4, 4, 1, 0, 0, &p1) == CONVRNN_OK);
    cg = convrnn_cell_config_default(CONVRNN_CELL_GRU, 1);
    CHECK(convrnn_cell_create(&c2, &cg, "g2/", 4, 4, 2, 0, 0, &p2) == CONVRNN_OK);
    CHECK(convrnn_params_finalize(&p1) == CONVRNN_OK && convrnn_params_finalize(&p2) == CONVRNN_OK);
    {
        convrnn_tensor *st[2] = { NULL, NULL }, *out = NULL;
        convrnn_tape_reset(&b);
        x = ramp(&b, 1, 4, 4, 1, 0.1, 0);
        CHECK(convrnn_cell_step(&b, &c1, &p2, x, NULL, NULL, st, &out) == CONVRNN_ERR_ARG && has(b.err.msg, "parameter store"));
        convrnn_tape_reset(&b);
        x = ramp(&b, 1, 4, 4, 1, 0.1, 0);
        st[0] = NULL;
        CHECKF(convrnn_cell_step(&b, &c1, &p1, x, NULL, NULL, st, &out) == CONVRNN_OK && out && out->d[3] == 2, "%s", b.err.msg);
    }
    convrnn_params_free(&p1);
    convrnn_params_free(&p2);
    convrnn_tape_free(&a);
    convrnn_tape_free(&b);
}

int main(void) {
    test_info();
    test_bad_ops();
    test_sticky();
    test_bad_params_and_cells();
    test_hand();
    test_init_seed();
    test_init_laws();
    test_determinism();
    test_fused_and_lazy();
    test_misuse();
    return TEST_END("core");
}
