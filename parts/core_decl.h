/* ===================================================================================== [API-TENSOR]
   Tensors live on a tape. Every op appends its result to the tape and, when gradients are enabled,
   a record of how to push gradients back. One tape holds a whole unroll, so backpropagation through
   time is one reverse sweep over it. Ops never fail loudly: the first failure is stored in
   tape->err (sticky), the op returns NULL, and every later op given a NULL input returns NULL too,
   so a whole cell or graph step can be written without checks and tested once at the end. */

typedef struct convrnn_tensor {
    int rank;              /* meaningful dims (activations: 4 = N,H,W,C) */
    int d[4];              /* dims; unused trailing dims are 1 */
    size_t size;           /* product of dims */
    convrnn_real *data;
    convrnn_real *grad;    /* NULL when no gradient flows into this tensor */
} convrnn_tensor;

#define CONVRNN_N(t) ((t)->d[0])
#define CONVRNN_H(t) ((t)->d[1])
#define CONVRNN_W(t) ((t)->d[2])
#define CONVRNN_C(t) ((t)->d[3])

typedef struct convrnn__node convrnn__node;
typedef struct convrnn__chunk convrnn__chunk;

typedef struct convrnn_tape {
    convrnn_error err;         /* first failure (sticky until convrnn_tape_reset) */
    void *alloc_ctx;           /* passed to CONVRNN_MALLOC/FREE */
    convrnn_backend backend;   /* CONVRNN_BACKEND_SCALAR forces the reference kernels */
    int grad_enabled;          /* 1: record backward information (training); 0: inference */
    /* private */
    convrnn__chunk *chunks;
    int n_chunks, cap_chunks, cur_chunk;
    convrnn__node *nodes;
    int n_nodes, cap_nodes;
    size_t bytes_in_use, peak_bytes;
} convrnn_tape;

/* Initialise an empty tape (no allocation yet). grad_enabled: 1 for training. */
CONVRNNDEF void convrnn_tape_init(convrnn_tape *t, int grad_enabled);
/* Forget every tensor and record but keep the memory for reuse; clears the error. */
CONVRNNDEF void convrnn_tape_reset(convrnn_tape *t);
CONVRNNDEF void convrnn_tape_free(convrnn_tape *t);
/* The tape's status (CONVRNN_OK or its first error). */
CONVRNNDEF convrnn_status convrnn_tape_status(const convrnn_tape *t);

/* A new activation tensor [n,h,w,c] filled with zeros; need_grad gives it a gradient buffer. */
CONVRNNDEF convrnn_tensor *convrnn_tape_zeros(convrnn_tape *t, int n, int h, int w, int c, int need_grad);
/* A new tensor [n,h,w,c] holding a copy of data (count n*h*w*c). */
CONVRNNDEF convrnn_tensor *convrnn_tape_input(convrnn_tape *t, int n, int h, int w, int c,
                                             const convrnn_real *data, int need_grad);
/* A new tensor of rank 1..4 with the given dims (e.g. a kernel [kh,kw,ci,co] or dense [ci,co]),
   holding a copy of data (NULL: zeros). */
CONVRNNDEF convrnn_tensor *convrnn_tape_input_nd(convrnn_tape *t, int rank, const int *dims,
                                                const convrnn_real *data, int need_grad);
/* A constant tensor of the given shape, every element = v. */
CONVRNNDEF convrnn_tensor *convrnn_tape_fill(convrnn_tape *t, int n, int h, int w, int c, convrnn_real v);
/* Reverse sweep: seeds d(loss)/d(loss) = 1 (loss must be a 1-element tensor with a gradient) and
   accumulates gradients into every tensor and parameter that has a gradient buffer. */
CONVRNNDEF convrnn_status convrnn_tape_backward(convrnn_tape *t, convrnn_tensor *loss);
/* Reverse sweep with caller-set output gradients already in place (e.g. y->grad = dy). */
CONVRNNDEF convrnn_status convrnn_tape_backward_seeded(convrnn_tape *t);
/* Peak bytes of tensor memory used since init (for the memory benchmarks). */
CONVRNNDEF size_t convrnn_tape_peak_bytes(const convrnn_tape *t);

/* ===================================================================================== [API-PARAMS]
   The parameter store owns one contiguous block of values, one of gradients and one of optimizer
   state (same layout), with named tensors as views into them. Names are the TensorFlow checkpoint
   variable names (e.g. "tnn_model/conv1/pre_0/weights_basenet"), shapes the TensorFlow layouts.
   Declare every parameter first, then convrnn_params_finalize() allocates, then
   convrnn_params_init() draws the initial values. */

typedef enum convrnn_init_kind {
    CONVRNN_INIT_ZERO = 0,
    CONVRNN_INIT_CONST,          /* a */
    CONVRNN_INIT_NORMAL,         /* N(0, a^2) */
    CONVRNN_INIT_UNIFORM,        /* U[a, b) */
    CONVRNN_INIT_VARSCALE,       /* TF1 variance_scaling, fan_in, truncated normal: scale a */
    CONVRNN_INIT_GLOROT_UNIFORM  /* TF glorot/xavier uniform: limit sqrt(6/(fan_in+fan_out)) */
} convrnn_init_kind;

typedef struct convrnn_init {
    convrnn_init_kind kind;
    double a, b;
} convrnn_init;

#define CONVRNN_NAME_MAX 160

typedef struct convrnn_param_info {
    char name[CONVRNN_NAME_MAX];
    int rank;
    int d[4];
    size_t offset, size;     /* in elements, into the blocks */
    convrnn_init init;
    double weight_decay;     /* lambda of the TF l2 term lambda*sum(w^2)/2 (0: none) */
    int trainable;           /* 0: frozen (e.g. memory_decay of plain layers) */
    int group;               /* 0: network; 1: decoder scalars (not in the paper's parameter counts) */
} convrnn_param_info;

typedef struct convrnn_params {
    convrnn_error err;
    void *alloc_ctx;
    int count, cap;
    convrnn_param_info *info;
    size_t total;             /* elements in each block */
    convrnn_real *values;     /* parameter block */
    convrnn_real *grads;      /* gradient block */
    convrnn_real *opt_state;  /* optimizer-state block (momentum buffer) */
    convrnn_tensor *views;    /* one tensor view per parameter (data/grad into the blocks) */
    int finalized;
} convrnn_params;

CONVRNNDEF void convrnn_params_init_empty(convrnn_params *ps);
/* Declare a parameter; returns its index (>= 0) or -1 (ps->err says why: duplicate name, bad shape). */
CONVRNNDEF int  convrnn_params_declare(convrnn_params *ps, const char *name, int rank, const int *dims,
                                       convrnn_init init, double weight_decay, int trainable);
CONVRNNDEF convrnn_status convrnn_params_finalize(convrnn_params *ps);
/* Draw every initial value from seed; each parameter gets its own stream derived from its name. */
CONVRNNDEF convrnn_status convrnn_params_init(convrnn_params *ps, uint64_t seed);
CONVRNNDEF int  convrnn_params_find(const convrnn_params *ps, const char *name);
CONVRNNDEF convrnn_tensor *convrnn_params_tensor(convrnn_params *ps, int index);
CONVRNNDEF void convrnn_params_zero_grad(convrnn_params *ps);
CONVRNNDEF size_t convrnn_params_count_trainable(const convrnn_params *ps);
/* Elements of the trainable network parameters (group 0): the paper's parameter count. */
CONVRNNDEF size_t convrnn_params_count_network(const convrnn_params *ps);
CONVRNNDEF void convrnn_params_free(convrnn_params *ps);
CONVRNNDEF convrnn_init convrnn_init_make(convrnn_init_kind kind, double a, double b);

/* The SIMD kernel path compiled into this build: "avx512", "avx2", "neon" or "scalar". Tapes with
   backend CONVRNN_BACKEND_AUTO use it; CONVRNN_BACKEND_SCALAR forces the reference kernels. */
CONVRNNDEF const char *convrnn_simd_path(void);

/* ======================================================================================== [API-OPS]
   Every op: forward now, backward recorded on the tape. Shapes are NHWC. Kernels use TF layouts. */

typedef enum convrnn_padding { CONVRNN_SAME = 0, CONVRNN_VALID = 1 } convrnn_padding;
typedef enum convrnn_act {
    CONVRNN_ACT_IDENTITY = 0, CONVRNN_ACT_ELU, CONVRNN_ACT_RELU, CONVRNN_ACT_SIGMOID, CONVRNN_ACT_TANH,
    CONVRNN_ACT_COUNT
} convrnn_act;
CONVRNNDEF const char *convrnn_act_name(convrnn_act a);
CONVRNNDEF int convrnn_act_parse(const char *name, convrnn_act *out); /* 1 on success */

/* TF output size and padding for one spatial axis; returns 0 when the combination is invalid. */
CONVRNNDEF int convrnn_conv_out_size(int in, int k, int stride, convrnn_padding pad, int *out, int *pad_before);

/* y = x (*) w + b. x [N,H,W,Ci], w [kh,kw,Ci,Co], b [Co] or NULL. */
CONVRNNDEF convrnn_tensor *convrnn_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                          convrnn_tensor *b, int stride, convrnn_padding pad);
/* Depthwise, multiplier 1: w [kh,kw,C,1], b [C] or NULL. */
CONVRNNDEF convrnn_tensor *convrnn_depthwise_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                                    convrnn_tensor *b, int stride, convrnn_padding pad);
/* Depthwise (dw [kh,kw,Ci,1]) then pointwise (pw [1,1,Ci,Co]) then bias b [Co] or NULL. */
CONVRNNDEF convrnn_tensor *convrnn_separable_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *dw,
                                                    convrnn_tensor *pw, convrnn_tensor *b, int stride,
                                                    convrnn_padding pad);
/* Flatten x to [N, H*W*C] (row-major h,w,c), then y = x w + b: w [H*W*C, Co]. y is [N,1,1,Co]. */
CONVRNNDEF convrnn_tensor *convrnn_dense(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w, convrnn_tensor *b);
/* y = x + b per channel, b [C]. */
CONVRNNDEF convrnn_tensor *convrnn_bias_add(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *b);
/* Elementwise activation (identity returns x itself). */
CONVRNNDEF convrnn_tensor *convrnn_activate(convrnn_tape *t, convrnn_tensor *x, convrnn_act a);
/* Max pooling, k x k, stride, TF SAME (padded cells never win) or VALID. */
CONVRNNDEF convrnn_tensor *convrnn_maxpool(convrnn_tape *t, convrnn_tensor *x, int k, int stride, convrnn_padding pad);
/* Mean over H and W: [N,H,W,C] -> [N,1,1,C]. */
CONVRNNDEF convrnn_tensor *convrnn_global_avgpool(convrnn_tape *t, convrnn_tensor *x);
/* Bilinear resize with TF1 align_corners=True; same size returns x itself. */
CONVRNNDEF convrnn_tensor *convrnn_resize_bilinear(convrnn_tape *t, convrnn_tensor *x, int out_h, int out_w);
/* Concatenate along channels, in the order given. */
CONVRNNDEF convrnn_tensor *convrnn_concat(convrnn_tape *t, convrnn_tensor **xs, int n);
/* Channels [c0, c0+nc) of x (the inverse of concat). */
CONVRNNDEF convrnn_tensor *convrnn_slice_channels(convrnn_tape *t, convrnn_tensor *x, int c0, int nc);
/* TF contrib layer norm over H,W,C jointly per sample; gamma, beta [C]; eps 1e-12 in the models. */
CONVRNNDEF convrnn_tensor *convrnn_layer_norm(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *gamma,
                                              convrnn_tensor *beta, double eps);
/* Residual add: u + r if shapes match; else u + conv1x1(resize(r), proj) with proj [1,1,Cr,Cu]
   (no bias; resize only when the spatial sizes differ). proj must be NULL iff shapes match. */
CONVRNNDEF convrnn_tensor *convrnn_residual_add(convrnn_tape *t, convrnn_tensor *u, convrnn_tensor *r,
                                                convrnn_tensor *proj);
/* Elementwise a (op) b. b has a's size, or a's per-sample size (broadcast over N), or size 1. */
CONVRNNDEF convrnn_tensor *convrnn_add(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b);
CONVRNNDEF convrnn_tensor *convrnn_sub(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b);
CONVRNNDEF convrnn_tensor *convrnn_mul(convrnn_tape *t, convrnn_tensor *a, convrnn_tensor *b);
/* y = alpha*x + beta with constants. */
CONVRNNDEF convrnn_tensor *convrnn_affine(convrnn_tape *t, convrnn_tensor *x, double alpha, double beta);
/* Mean over the batch of -log softmax(x)[label]; x is [N,1,1,K] (any [N,...] flattened), labels in
   [0,K). Returns a 1-element tensor. */
CONVRNNDEF convrnn_tensor *convrnn_softmax_xent(convrnn_tape *t, convrnn_tensor *x, const int *labels);
/* sum(x * w) for a constant tensor w of x's size (loss for tests and probes). */
CONVRNNDEF convrnn_tensor *convrnn_dot_const(convrnn_tape *t, convrnn_tensor *x, const convrnn_real *w);
/* Sum of several 1-element tensors. */
CONVRNNDEF convrnn_tensor *convrnn_sum_scalars(convrnn_tape *t, convrnn_tensor **xs, int n);

/* 1 if every element is finite. */
CONVRNNDEF int convrnn_check_finite(const convrnn_real *x, size_t n);

/* ====================================================================================== [API-CELLS]
   A cell declares its parameters under a scope (e.g. "tnn_model/conv3/") in a parameter store, then
   runs one step at a time on a tape. The equations are in [DOC-MATH] and beside each step function. */

typedef enum convrnn_cell_type {
    CONVRNN_CELL_IDENTITY = 0,  /* plain layer: memory with decay 0 (output = input) */
    CONVRNN_CELL_TIMEDECAY,     /* s_t = d s_{t-1} + u_t, trainable scalar d */
    CONVRNN_CELL_SIMPLERNN,
    CONVRNN_CELL_GRU,
    CONVRNN_CELL_LSTM,
    CONVRNN_CELL_UGRNN,
    CONVRNN_CELL_INTERSECTION,
    CONVRNN_CELL_RGC,
    CONVRNN_CELL_TYPE_COUNT
} convrnn_cell_type;
CONVRNNDEF const char *convrnn_cell_type_name(convrnn_cell_type t);
CONVRNNDEF int convrnn_cell_type_parse(const char *name, convrnn_cell_type *out);

typedef enum convrnn_fb_entry { CONVRNN_FB_INPUT = 0, CONVRNN_FB_CELL, CONVRNN_FB_OUT } convrnn_fb_entry;
/* Which released implementation's parameter set and names the RGC follows (spec 5.7):
   SHALLOW: conventional ops bias-free, separable ops biased, names "cell/tau/weights" ...;
   MEDIAN:  every op biased (except the extra input_to_/residual_to_ gate terms); tau_bias and
            gate_bias added to conventional tau/gate ops; names "cell/input_to_cell_weights" ... */
typedef enum convrnn_rgc_flavor { CONVRNN_RGC_SHALLOW = 0, CONVRNN_RGC_MEDIAN = 1 } convrnn_rgc_flavor;

typedef struct convrnn_rgc_config {
    convrnn_rgc_flavor flavor;
    int cell_depth;                      /* Cc; 0 = no cell half (gate_filter_size 0) */
    int tau_k, gate_k, ff_k, in_out_k, fb_k;            /* kernel sizes (clipped to the map) */
    int tau_ds, gate_ds, ff_ds, in_out_ds, fb_ds;       /* 1: depth-separable op */
    int input_to_cell, input_to_out, cell_to_out, cell_residual, out_residual;
    int residual_to_cell_tau, residual_to_cell_gate, residual_to_out_tau, residual_to_out_gate;
    int input_to_tau, input_to_gate;
    convrnn_act tau_nl, gate_nl;         /* sigmoid or tanh */
    double tau_offset, tau_mult, gate_offset, gate_mult;
    double tau_bias, gate_bias;          /* scalars (MEDIAN flavour, conventional tau/gate only) */
    convrnn_act input_act, cell_act, out_act, fb_act;
    int layer_norm;                      /* LN before phi_c and phi_h */
    convrnn_fb_entry fb_entry;
    convrnn_init kernel_init;            /* initializer of every RGC kernel */
} convrnn_rgc_config;

typedef struct convrnn_cell_config {
    convrnn_cell_type type;
    int k;                  /* filter size of the gated cells (SimpleRNN..IntersectionRNN) */
    int out_depth;          /* D: output channels of the cell */
    double forget_bias;     /* GRU (reset gate), LSTM, UGRNN, IntersectionRNN: 1.0 by default */
    int layer_norm;         /* SimpleRNN, LSTM (GRU: LN on r~, z~ and the candidate) */
    int peepholes;          /* LSTM */
    double weight_decay;    /* L2 lambda of the cell's kernels (training) */
    convrnn_init kernel_init, bias_init;
    convrnn_rgc_config rgc;
} convrnn_cell_config;

/* Defaults of the released code for a type (forget_bias 1, k 3, glorot kernels, zero biases...). */
CONVRNNDEF convrnn_cell_config convrnn_cell_config_default(convrnn_cell_type type, int out_depth);
/* The RGC of rgc_shallow (spec 5.8) and of RGC Median (spec 5.9, released overrides applied). */
CONVRNNDEF convrnn_rgc_config convrnn_rgc_shallow_config(void);
CONVRNNDEF convrnn_rgc_config convrnn_rgc_median_config(void);

#define CONVRNN_CELL_MAX_PARAMS 72

typedef struct convrnn_cell {
    convrnn_cell_config cfg;
    int h, w;               /* spatial size of the cell's input and output */
    int cu, cr, cf;         /* channels of the input u, residual r (0: none), feedback f (0: none) */
    int out_c;              /* channels of the output */
    int state_c[2];         /* channels of each state tensor (0: unused) */
    int n_state;
    int p[CONVRNN_CELL_MAX_PARAMS];  /* parameter indices (cell-type specific slots, -1 unused) */
} convrnn_cell;

/* Declare the cell's parameters in ps under scope (a prefix such as "tnn_model/conv3/"; the cell
   adds its class name, e.g. "ConvGRUCell/gates/weights"). cr/cf: residual and feedback channels
   (RGC only; 0 = absent). Returns a status; details in ps->err. */
CONVRNNDEF convrnn_status convrnn_cell_create(convrnn_cell *cell, const convrnn_cell_config *cfg,
                                              const char *scope, int h, int w, int cu, int cr, int cf,
                                              convrnn_params *ps);
/* One step. u [N,h,w,cu]; r, f may be NULL when absent. state[0..n_state-1]: previous states, NULL
   meaning zero (t = 0); they are replaced by the new states. *out receives the output.
   Errors go to the tape. */
CONVRNNDEF convrnn_status convrnn_cell_step(convrnn_tape *t, const convrnn_cell *cell, convrnn_params *ps,
                                            convrnn_tensor *u, convrnn_tensor *r, convrnn_tensor *f,
                                            convrnn_tensor **state, convrnn_tensor **out);
