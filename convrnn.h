/* convrnn.h v0.1.0 - convolutional recurrent networks of the primate ventral stream, in one C file.
   Public domain-style permissive licence (MIT or Unlicense, your choice): see the end of this file.

   The models of Nayebi et al. 2022, "Recurrent Connections in the Primate Ventral Visual Stream
   Mediate a Trade-Off Between Task Performance and Network Size During Core Object Recognition"
   (Neural Computation 34:1652): tensors, convolution, every recurrent cell of the paper, delay-graph
   unrolling, backpropagation through time, SGD, and the model-to-brain comparisons.

   HOW TO USE
     In exactly one C or C++ file:
         #define CONVRNN_IMPLEMENTATION
         #include "convrnn.h"
     Everywhere else just #include "convrnn.h". Link with -lm. Add -fopenmp for threads.
     Zero-config build:  cc -O2 -std=c99 my.c -lm

   CONFIGURATION MACROS (define before the #include that has CONVRNN_IMPLEMENTATION)
     CONVRNNDEF              linkage of every public function (default: extern)
     CONVRNN_STATIC          make every function static (private copy per translation unit)
     CONVRNN_MALLOC(ctx,sz) / CONVRNN_REALLOC(ctx,p,sz) / CONVRNN_FREE(ctx,p)
                             allocator; define all three or none. ctx is the user pointer given to
                             the object that allocates (convrnn_tape.alloc_ctx etc.); defaults ignore it
     CONVRNN_ASSERT(x)       programmer-invariant check (default: assert from <assert.h>)
     CONVRNN_NO_SIMD         never compile SIMD kernels (the scalar path is always compiled anyway)
     CONVRNN_NO_WINO4        no Winograd F(4x4,3x3) (3x3 stride-1 layers with 32+ channels): maps
                             of 196+ pixels run F(2x2,3x3), smaller ones the direct kernels (but
                             the weight gradient of small maps with ci*co >= 32768, or 64+ input
                             channels on even maps, stays on F(2x2,3x3)); slower, closer to the
                             exact sums (rounding: see
                             "Rounding" in [IMPL-SIMD])
     CONVRNN_NO_WINO_PHASE   no polyphase Winograd F(3x3,4x4) for 7x7 and 8x8 stride-2 layers from
                             at most 4 channels (an image's first layer, BaseNet's conv1): the
                             direct kernels instead; slower, closer to the exact sums
     CONVRNN_NO_WINO2        no Winograd F(3x3,2x2) for 2x2 stride-1 layers with 64+ channels (a
                             readout): the direct kernels instead (slower)
     CONVRNN_NO_AVX512       use AVX2+FMA even where the compiler targets AVX-512
     CONVRNN_USE_DOUBLE      convrnn_real becomes double (used for finite-difference gradient checks)
     CONVRNN_NO_STDIO        drop the file functions; the buffer-based ones remain
     CONVRNN_NO_SYSCONF      do not include <unistd.h> (glibc only: sysconf tells the L2 cache size,
                             which sets the width of some SIMD kernels' weight panels; the results
                             are the same bits either way, only the speed differs)
     CONVRNN_NO_FSYNC        do not fsync files and their directory when saving (faster, less safe
                             against a power cut; the write-then-rename stays)
     CONVRNN_DEBUG_POISON    fill every op's output buffer, and the SIMD kernels' scratch, with NaN
                             before it is written (tests: a kernel that reads memory before
                             writing it shows as NaN)

   TABLE OF CONTENTS (search for the tag in brackets)
     [DOC-MATH]    the equations of every cell, gate orders, bias conventions
     [DOC-LAYOUT]  shapes, layouts, padding rules, determinism guarantee
     [DOC-CHOICES] what this implementation chose where the sources disagree or are silent
     [API-BASE]    status codes, error object, real type, allocator, PRNG, build info
     [API-TENSOR]  tensors and the tape (reverse-mode autodiff over whole unrolls; lazy_grads:
                   gradient memory only while backward needs it)
     [API-PARAMS]  the parameter store: one block of values, one of gradients, one of optimizer state
     [API-OPS]     conv2d (and conv2d_act, fused with its activation), depthwise, separable, dense,
                   bias, activations, pooling, resize, concat/split, layer norm, residual add,
                   elementwise, softmax cross-entropy
     [API-CELLS]   Time Decay, SimpleRNN, GRU, LSTM, UGRNN, IntersectionRNN, RGC (full search space)
     [API-IO]      .npy arrays, safetensors files, IDX / CIFAR-10 / shard image sets
     [API-GRAPH]   delay graphs, the model zoo, the graph text format [DOC-GRAPH-TEXT], decoders,
                   weights files
     [API-TRAIN]   SGD through time, data pipeline, resumable checkpoints
     [API-METRICS] PLS, splits, correlations, ceilings, neural predictivity, decoders (logistic,
                   SVM), I1 d', OST, consistency, statistics, synthetic data
     [IMPL-BASE]   allocation, errors, PRNG, build info
     [IMPL-SIMD]   the vector layer (AVX-512, AVX2+FMA, NEON) and the SIMD kernels; the scalar
                   kernels stay compiled and tape->backend = CONVRNN_BACKEND_SCALAR selects them
     [IMPL-TENSOR] .. [IMPL-METRICS]  the implementation of each API section, in the same order

   [DOC-MATH]  cell equations (u_t: the cell input at step t, "*": SAME stride-1 cross-correlation,
               [a,b]: channel concatenation, (.): elementwise product; all states start at zero)
     Time Decay     s_t = d s_{t-1} + u_t                       (d: one trainable scalar, init 0)
     SimpleRNN      h_t = ELU(N(W_i*u_t + b_i + W_s*h_{t-1} + b_s))  N = layer norm or identity
     GRU            [r~,z~] = W_g*[u_t,h_{t-1}] + b_g  (split order r first; b_g init 1)
                    r = sig(r~ + fb) (fb = forget bias 1.0, added to the RESET gate), z = sig(z~)
                    c = tanh(W_c*[u_t, r(.)h_{t-1}] + b_c);  h_t = z(.)h_{t-1} + (1-z)(.)c
     LSTM           [i,j,f,o] = W*[u_t,h_{t-1}] + b;  optional LN on each of i,j,f,o
                    c_t = c_{t-1}(.)sig(f + fb [+P_f(.)c_{t-1}]) + sig(i [+P_i(.)c_{t-1}])(.)tanh(j)
                    optional LN on c_t;  h_t = tanh(c_t)(.)sig(o [+P_o(.)c_{t-1}])
                    (the output peephole reads the PREVIOUS cell c_{t-1}, as the released code)
     UGRNN          [g~,c~] = W*[u_t,h_{t-1}] + b; g = sig(g~ + fb); h_t = g(.)h_{t-1} + (1-g)(.)tanh(c~)
     IntersectionRNN [gh~,h~,gy~,y~] = W*[u_t,h_{t-1}] + b; gh = sig(gh~+fb); gy = sig(gy~+fb)
                    h_t = gh(.)h_{t-1} + (1-gh)(.)tanh(h~)    (state)
                    y_t = gy(.)u_t + (1-gy)(.)ReLU(y~)        (OUTPUT is y_t, needs C_u = D)
     RGC            see convrnn_rgc_config; both halves gate with the PREVIOUS states:
                    x <- phi_in(x [+ phi_fb(Op_fb f)  if entry=input])
                    u_c = [cell_residual]Op_ff(r) + [input_to_cell]Op_ff(x) [+ phi_fb(Op_fb f) if entry=cell]
                    a_c = Op_tau(c_{t-1}) [+conv(x)] [+conv(r)];  g_c = Op_gate(h_{t-1}) [+conv(x)] [+conv(r)]
                    c_t = phi_c(N((o_t + m_t s_t(a_c))(.)c_{t-1} + (o_g + m_g s_g(g_c))(.)u_c))
                    u_h = ([input_to_out]Op_io(x) else x) + [cell_to_out]Op_gate(c_{t-1})
                          + [out_residual]R(r) + [entry=out] phi_fb(Op_fb f)
                    a_h = Op_tau(h_{t-1}) [+...];  g_h = [cell && !cell_to_out]Op_gate(c_{t-1}) [+...]
                    h_t = phi_h(N((o_t + m_t s_t(a_h))(.)h_{t-1} + (o_g + m_g s_g(g_h))(.)u_h))
                    Op(k, ds) is a k x k conv, or (ds) depthwise k x k + pointwise 1x1.
                    Bias conventions: CONVRNN_RGC_SHALLOW (conventional ops bias-free, separable
                    ops biased, tau_bias/gate_bias unused) and CONVRNN_RGC_MEDIAN (all ops biased
                    except the extra input_to_ / residual_to_ gate terms; the scalars tau_bias and
                    gate_bias are added to conventional tau/gate ops only).

   [DOC-LAYOUT]
     Activations are NHWC real tensors; sequences are time-major [T][N][H][W][C]. Dense activations
     are [N][1][1][C]. Kernels use TensorFlow layouts: conv [kh][kw][C_in][C_out], depthwise
     [kh][kw][C][1], dense [C_in][C_out]. Convolution is cross-correlation. SAME padding follows
     TensorFlow: out = ceil(in/s), pad_total = max((out-1)s + k - in, 0), pad_before = pad_total/2
     (floor), the extra row/column goes after. Max pooling ignores padded cells. Bilinear resize uses
     TF1 align_corners=True. Layer norm normalises each sample over H, W and C jointly (biased
     variance, epsilon 1e-12) with per-channel gain and offset (TF contrib semantics).
     Determinism: every result is a pure function of inputs, weights and seeds; parallel loops
     have one writer per output element and fixed-order sums, so 1 and N threads agree bitwise.
     The library never prints, never exits and keeps no global mutable state.

   [DOC-CHOICES]  Where the paper and the released code differ, the code's behaviour is the default
     and the alternative a parameter; where both are silent, the choice is stated here.
     - Neural presentation: 26 steps with the image off after 10 (code), not the paper's 10 + 15;
       T and image_off are parameters of convrnn_stimulus.
     - The blank after image offset is the constant 0.5 in the normalised input space (code), not a
       normalised mid-gray; convrnn_stimulus.blank changes it.
     - Every node is computed at every step from t = 0; all steps are returned (training and
       convrnn_evaluate skip the node-steps the decoder's window cannot see, with identical
       results: convrnn_model_unroll_decoded). Node l first depends on the image at t = l-1; the
       released dictionaries start at t = l (convrnn_model_layer_start gives both). Decoder
       windows default to [L, T).
     - Plain layers are memories with decay 0 (identity); converted checkpoints' memory_decay
       scalars are accepted when 0 and refused otherwise.
     - RGC bias conventions follow the implementation behind each checkpoint (CONVRNN_RGC_SHALLOW,
       CONVRNN_RGC_MEDIAN); RGC Median uses the released overrides (feedback at the output, 1x1,
       identity activation, conventional). The cells.py feedback-into-cell quirk (f added to its own
       projection) is not reproduced: feedback entering the cell is phi_fb(Op_fb(f)). CReLU cell
       activations, batch norm and recurrent dropout (off in every released model) are not offered.
       (In median_rgcell.py a CReLU cell's conventional tau kernel takes 2 Cc input channels and
       its new state has 2 Cc + D, while the zero state and the next step's split hold Cc + D: that
       path does not run as released.)
       Parameter names of RGC ops the released models never create (e.g. input_to_tau) are ours.
       The extra input_to_/residual_to_ gate and tau terms use the gate/tau kernel size and
       separability and have no bias.
     - Time Decay uses the raw trainable scalar d (code), initialised to 0.
     - timedecay_shallow has no nonlinearity in conv3-5 (the released graph as written).
     - LSTM with layer norm keeps its bias; peepholes are added after the layer norm and all read
       c_{t-1}; the state carried on is the normalised c_t.
     - GRU layer norm (unused by released models) normalises r~, z~ and the candidate.
     - Units are node outputs after post-memory pooling, readout included; the pre-pool count is
       also reported. Parameter counts exclude decoder scalars and fixed memory_decay scalars.
     - Harbor order: stimulus first, then predecessors sorted by name (strcmp); RGC nodes put the
       feedforward predecessor first and pass the rest, concatenated, as feedback.
     - max_conf's beta is a stored variable (no gradient reaches it); a checkpoint without it is
       refused rather than defaulting to 1, since the library never prints a warning.
     - w_time_avg (unused by released models): the gradient flows through its time weights too,
       to both betas; a tie for the max class shares the max's gradient equally (as TF's reduce_max).
       The softmax betas of every decoder are trainable (initialised U[0,1)) only with the
       decoder's trainable flag, else constants 1; w_avg_t's alpha starts U[0,1) either way and
       trains only with the flag: as the released code. Its name (alpha/weights) is ours; the mlp
       and conv1d decoders' names and weight decays (1e-4) are the released code's.
     - The minimally unrolled T is derived (7 shallow, 12 intermediate, 15 RGC Median), not the
       paper's appendix table, which is not public.
     - Training recipe (unknown in the paper): momentum SGD (Nesterov optional), the TF weight
       decays of the configs, value and global-norm clipping, cross-entropy on the decoder output
       (the last step for `last`). A reconstruction, not the authors' schedule.

   CHANGELOG
     0.1.0  first release: core ops and cells, delay graphs and the model zoo, training, metrics.
*/
#ifndef CONVRNN_H_INCLUDED
#define CONVRNN_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef CONVRNN_STATIC
#define CONVRNNDEF static
#elif !defined(CONVRNNDEF)
#define CONVRNNDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CONVRNN_VERSION_MAJOR 0
#define CONVRNN_VERSION_MINOR 1
#define CONVRNN_VERSION_PATCH 0

/* ===================================================================================== [API-BASE] */

#ifdef CONVRNN_USE_DOUBLE
typedef double convrnn_real;
#else
typedef float convrnn_real;
#endif

typedef enum convrnn_status {
    CONVRNN_OK = 0,
    CONVRNN_ERR_NOMEM,        /* an allocation failed */
    CONVRNN_ERR_SHAPE,        /* shapes do not fit together, or a size is zero/negative */
    CONVRNN_ERR_ARG,          /* an argument is invalid (NULL, out of range, unknown name) */
    CONVRNN_ERR_OVERFLOW,     /* a size computation overflows */
    CONVRNN_ERR_IO,           /* a file could not be opened, read, written or renamed */
    CONVRNN_ERR_FORMAT,       /* a file or buffer is malformed, truncated or inconsistent */
    CONVRNN_ERR_UNSUPPORTED,  /* a valid request this build cannot do */
    CONVRNN_ERR_NOT_FINITE,   /* NaN or infinity where finite numbers are required */
    CONVRNN_ERR_NUMERIC,      /* a numerical procedure failed (singular, no convergence) */
    CONVRNN_STATUS_COUNT
} convrnn_status;

/* Short description of a status code ("ok", "out of memory", ...). Never NULL. */
CONVRNNDEF const char *convrnn_status_string(convrnn_status s);

/* An error record. Objects embed one; free functions take a pointer (which may be NULL).
   msg names the offending shapes or values. */
typedef struct convrnn_error {
    convrnn_status status;
    char msg[320];
} convrnn_error;

/* Set e (if not NULL) and return s. printf-style detail. */
CONVRNNDEF convrnn_status convrnn_error_set(convrnn_error *e, convrnn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
CONVRNNDEF void convrnn_error_clear(convrnn_error *e);

/* One line: version, SIMD paths compiled, OpenMP, CUDA, precision. Static string. */
CONVRNNDEF const char *convrnn_build_info(void);

/* Kernel backend switch (per object, never global): CONVRNN_BACKEND_SCALAR forces the reference path. */
typedef enum convrnn_backend { CONVRNN_BACKEND_AUTO = 0, CONVRNN_BACKEND_SCALAR = 1 } convrnn_backend;

/* --- PRNG: explicit state, xoshiro256** seeded by splitmix64. Same seed, same stream everywhere. */
typedef struct convrnn_rng { uint64_t s[4]; } convrnn_rng;
CONVRNNDEF void     convrnn_rng_seed(convrnn_rng *r, uint64_t seed);
CONVRNNDEF uint64_t convrnn_rng_u64(convrnn_rng *r);
CONVRNNDEF double   convrnn_rng_uniform(convrnn_rng *r);            /* [0,1), 53 bits */
CONVRNNDEF uint32_t convrnn_rng_below(convrnn_rng *r, uint32_t n);   /* uniform in [0,n), unbiased */
CONVRNNDEF double   convrnn_rng_normal(convrnn_rng *r);             /* N(0,1), Box-Muller, no cache */
CONVRNNDEF double   convrnn_rng_truncnormal(convrnn_rng *r);        /* N(0,1) redrawn outside +-2 */

/* Checked size arithmetic: return 0 on overflow. */
CONVRNNDEF int convrnn_size_mul(size_t a, size_t b, size_t *out);
CONVRNNDEF int convrnn_size_add(size_t a, size_t b, size_t *out);

/* Bring in the allocator (defined in the implementation). ctx may be NULL. */
CONVRNNDEF void *convrnn_malloc(void *ctx, size_t n);
CONVRNNDEF void *convrnn_calloc(void *ctx, size_t count, size_t size); /* zeroed, overflow-checked */
CONVRNNDEF void  convrnn_free(void *ctx, void *p);

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
    convrnn_real *grad;    /* NULL when no gradient flows into this tensor; see convrnn_tape_grad() */
    int grad_lazy;         /* private (lazy_grads): the gradient is made and released by backward */
    size_t grad_cap;       /* private: bytes of the pool block holding grad (0: none) */
    const void *tape_;     /* private: the tape that made it; ops on another tape refuse it
                              (NULL: a parameter view, usable on every tape) */
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
    int lazy_grads;            /* 1: gradients of op outputs get memory only during backward, from a pool,
                                  and give it back as soon as the op that made them has pushed them on
                                  (training memory is roughly the forward tensors alone). Then only
                                  leaves (tape inputs, parameters) keep readable gradients after
                                  backward; seed an op output through convrnn_tape_grad(). Default 0. */
    /* private */
    void *grad_pool;           /* free gradient blocks (lazy_grads), cleared by reset */
    convrnn_real lazy_tag;     /* the grad pointer of a lazy tensor before backward points here */
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
/* Reverse sweep with caller-set output gradients already in place (e.g. y->grad = dy; with
   lazy_grads, write dy into convrnn_tape_grad(t, y) instead). */
CONVRNNDEF convrnn_status convrnn_tape_backward_seeded(convrnn_tape *t);
/* The gradient buffer of x (NULL if no gradient flows into x): with lazy_grads, the buffer of an op
   output is created here (zeroed) if backward has not made it yet; otherwise x->grad. */
CONVRNNDEF convrnn_real *convrnn_tape_grad(convrnn_tape *t, convrnn_tensor *x);
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

/* TF output size and padding for one spatial axis; returns 0 when the combination is invalid. The
   ops take kernels of up to 4096 x 4096 (CONVRNN_ERR_SHAPE beyond). */
CONVRNNDEF int convrnn_conv_out_size(int in, int k, int stride, convrnn_padding pad, int *out, int *pad_before);

/* y = x (*) w + b. x [N,H,W,Ci], w [kh,kw,Ci,Co], b [Co] or NULL. */
CONVRNNDEF convrnn_tensor *convrnn_conv2d(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                          convrnn_tensor *b, int stride, convrnn_padding pad);
/* act(conv2d(x, w, b)) in one op that keeps only the activated output (the backward pass gets
   act' from it): the same values as convrnn_activate(convrnn_conv2d(...)), less memory. */
CONVRNNDEF convrnn_tensor *convrnn_conv2d_act(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                              convrnn_tensor *b, int stride, convrnn_padding pad, convrnn_act act);
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
/* Residual add: u + r when proj is NULL (the shapes must then match); else u + conv1x1(resize(r),
   proj) with proj [1,1,Cr,Cu] (no bias; resize only when the spatial sizes differ). The models pass
   a projection exactly when the shapes differ. */
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
    uint64_t psig_;         /* private: the indices and shapes of its parameters in the store it was
                               created in; a step given another store refuses it */
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
/* ====================================================================================== [API-GRAPH]
   Delay graphs, the model zoo, decoders, weights files.

   A graph is a list of nodes (layers) and edges. EVERY edge, feedforward or feedback, delays by one
   step (10 ms): at step t node v reads its predecessors' outputs of step t-1 (zeros at t = 0), the
   input node also reads the stimulus frame of step t, and every node is computed at every step
   (biases drive transients before any image signal arrives). Per node:
     harbor      inputs resized (bilinear, align_corners) to the spatial size of the feedforward
                 predecessor's output and concatenated along channels. Order: the stimulus first
                 (input node), then predecessors sorted by name (strcmp), except that for nodes with
                 an RGC cell the feedforward predecessor comes first and the rest (the feedback, in
                 sorted-name order) is passed to the cell as f.
     pre-memory  ops on the harbor (RGC nodes: on the feedforward part only); the first conv's input
                 is kept as the residual input r.
     memory      a cell (convrnn_cell) or the identity (plain layer: memory with decay 0).
     post-memory ops (ELU, max-pool, second conv, residual add of r, global pool, ...).
   Feedforward networks are the same graphs with identity memories.

   Time conventions: frames x_t = image for t < image_off, else the constant blank (0.5 in the
   normalised input space, configurable); image_off >= T means a constant image. Presets:
   training 16 (shallow) / 17 (intermediate) with image_off 12; "neural" 26 with image_off 10 (the
   paper's text says 10 + 15 = 25 steps; the released code uses 26, which is the default here);
   t22 / t30 constant. Node l (conv1 = 1) first depends on the image at step l-1; the released
   feature dictionaries start at step l (convrnn_model_layer_start gives either convention). */

#define CONVRNN_MAX_NODES 32
#define CONVRNN_MAX_EDGES 64
#define CONVRNN_MAX_NODE_OPS 6
#define CONVRNN_NODE_NAME 24

typedef enum convrnn_op_kind {
    CONVRNN_OP_CONV = 0,   /* conv2d k x k, stride, padding, out channels, bias, activation */
    CONVRNN_OP_FC,         /* flatten + dense to out, bias, activation */
    CONVRNN_OP_MAXPOOL,    /* k x k, stride, padding */
    CONVRNN_OP_ACT,        /* activation */
    CONVRNN_OP_GAP,        /* global average pool */
    CONVRNN_OP_RESADD,     /* + r (bias-free 1x1 projection, resized if needed, when shapes differ) */
    CONVRNN_OP_KIND_COUNT
} convrnn_op_kind;

typedef struct convrnn_op_spec {
    convrnn_op_kind kind;
    int k, stride, out;            /* kernel, stride, output channels (conv/fc) */
    convrnn_padding pad;
    convrnn_act act;               /* applied after conv/fc, or the ACT op itself */
    int bias;                      /* conv/fc: 1 = has a bias */
    char scope[16];                /* variable scope, e.g. "pre_0" */
    char wname[24];                /* kernel variable name, e.g. "weights_basenet" or "weights" */
    double wd;                     /* L2 lambda of the kernel */
    convrnn_init winit, binit;
} convrnn_op_spec;

typedef struct convrnn_node_spec {
    char name[CONVRNN_NODE_NAME];
    char ff[CONVRNN_NODE_NAME];    /* feedforward predecessor ("" for the input node) */
    int n_pre, n_post;
    convrnn_op_spec pre[CONVRNN_MAX_NODE_OPS], post[CONVRNN_MAX_NODE_OPS];
    convrnn_cell_config cell;      /* CONVRNN_CELL_IDENTITY for plain layers */
} convrnn_node_spec;

typedef enum convrnn_decoder_type {
    CONVRNN_DEC_LAST = 0, CONVRNN_DEC_MAX_CONF, CONVRNN_DEC_THRESH, CONVRNN_DEC_TIME_MAX, CONVRNN_DEC_W_AVG,
    CONVRNN_DEC_W_AVG_T, CONVRNN_DEC_W_TIME_AVG, CONVRNN_DEC_SUM, CONVRNN_DEC_AVG, CONVRNN_DEC_RANDOM,
    CONVRNN_DEC_MLP, CONVRNN_DEC_CONV1D, CONVRNN_DEC_SIMPLE_LINEAR, CONVRNN_DEC_SIMPLE_SOFT, CONVRNN_DEC_SIMPLE,
    CONVRNN_DEC_TYPE_COUNT
} convrnn_decoder_type;

typedef struct convrnn_decoder_spec {
    convrnn_decoder_type type;
    int start, end;        /* window [start, end) over steps; start < 0: number of layers; end <= 0: T */
    double threshold;      /* thresh: 0.9 */
    int trainable;         /* the softmax betas of max_conf, time_max, w_avg and w_time_avg (and thresh's
                              beta and threshold) are trainable variables initialised U[0, 1), as the
                              released code; 0: constants 1 (thresh: beta 1, theta = threshold).
                              w_avg_t's alpha starts U[0, 1) either way and trains only with it */
    int mlp_hidden;        /* mlp: 250 */
} convrnn_decoder_spec;

typedef struct convrnn_graph_spec {
    char name[48];
    int in_h, in_w, in_c;            /* nominal input size (parameters are declared for it) */
    int n_classes;
    int T, image_off;                /* default presentation */
    int n_nodes, n_edges;
    convrnn_node_spec nodes[CONVRNN_MAX_NODES];
    int edge_src[CONVRNN_MAX_EDGES], edge_dst[CONVRNN_MAX_EDGES]; /* extra (feedback) edges, node indices */
    convrnn_decoder_spec decoder;
} convrnn_graph_spec;

/* ---- model zoo */
/* Number of zoo names and the i-th name (NULL past the end). Includes the 20 released models and
   the laptop-sized ones ("laptop_*"). */
CONVRNNDEF int convrnn_zoo_count(void);
CONVRNNDEF const char *convrnn_zoo_name(int i);
/* Build the spec of a zoo model; CONVRNN_ERR_ARG for an unknown name (message lists the names). */
CONVRNNDEF convrnn_status convrnn_zoo_spec(const char *name, convrnn_graph_spec *g, convrnn_error *err);

/* ---- text format (see [DOC-GRAPH-TEXT] at convrnn_graph_to_text) */
/* Writes the spec as text into a buffer the caller frees with convrnn_free(NULL, p). */
CONVRNNDEF convrnn_status convrnn_graph_to_text(const convrnn_graph_spec *g, char **text, convrnn_error *err);
/* Parses text; errors name the line number and the reason. */
CONVRNNDEF convrnn_status convrnn_graph_parse(const char *text, size_t len, convrnn_graph_spec *g, convrnn_error *err);
/* Zoo name or path of a .cfg file. */
CONVRNNDEF convrnn_status convrnn_graph_load(const char *name_or_path, convrnn_graph_spec *g, convrnn_error *err);
/* 1 if two specs describe the identical graph. */
CONVRNNDEF int convrnn_graph_equal(const convrnn_graph_spec *a, const convrnn_graph_spec *b);

/* ---- models: a spec made concrete with parameters */
typedef struct convrnn_node_rt {
    int n_preds, preds[CONVRNN_MAX_NODES];   /* predecessor node indices, in harbor order */
    int ff;                                  /* feedforward predecessor index (-1: input node) */
    int harbor_c, ff_c, fb_c;                /* harbor channels (ff part / feedback part for RGC) */
    int in_h, in_w;                          /* harbor spatial size at the nominal input */
    int mem_h, mem_w, mem_c;                 /* cell input size */
    int out_h, out_w, out_c;                 /* node output at the nominal input */
    int pre_w[CONVRNN_MAX_NODE_OPS], pre_b[CONVRNN_MAX_NODE_OPS];
    int post_w[CONVRNN_MAX_NODE_OPS], post_b[CONVRNN_MAX_NODE_OPS];
    int decay_ok;                            /* identity memory: a stored memory_decay must be 0 */
    convrnn_cell cell;
    size_t units, units_prepool;             /* output units after / before post-memory pooling */
    size_t params;                           /* trainable parameters of this node */
} convrnn_node_rt;

typedef struct convrnn_model {
    convrnn_error err;
    convrnn_graph_spec spec;
    convrnn_params params;
    convrnn_node_rt rt[CONVRNN_MAX_NODES];
    int readout;                             /* index of the last node (the logits) */
    int dec_p[12];                           /* decoder parameter indices (conv1d: 5 widths x 2, then its dense layer) */
} convrnn_model;

/* Resolve shapes at the spec's nominal input size, declare every parameter (TF checkpoint names)
   and allocate the blocks. Values are zero until convrnn_model_init or a load. */
CONVRNNDEF convrnn_status convrnn_model_create(convrnn_model *m, const convrnn_graph_spec *g);
CONVRNNDEF void convrnn_model_free(convrnn_model *m);
/* Section-7 initializers from seed. */
CONVRNNDEF convrnn_status convrnn_model_init(convrnn_model *m, uint64_t seed);
/* Trainable network parameters (the paper's count) and units (outputs of every node after
   post-memory pooling, readout included; pre-pool variant in the second pointer, may be NULL). */
CONVRNNDEF size_t convrnn_model_param_count(const convrnn_model *m);
CONVRNNDEF size_t convrnn_model_unit_count(const convrnn_model *m, size_t *prepool);
/* The smallest T at which the readout's last output depends on every recurrent connection
   (local recurrence and feedback edges) having acted on image-driven input once (spec 2.5);
   for a feedforward graph, the length of the first feedforward pass (L). */
CONVRNNDEF int convrnn_model_minimal_T(const convrnn_model *m);
/* Output shape of node v (per image, per step) for an input of in_h x in_w. */
CONVRNNDEF convrnn_status convrnn_model_output_shape(const convrnn_model *m, int v, int in_h, int in_w, int *h, int *w,
                                                     int *c, convrnn_error *err);
/* First step at which node v's output depends on the image: the shortest delay path from the
   input (l-1 for the l-th node of a chain). readme_convention = 1 adds one step, reproducing the
   released code's feature dictionaries, which start at t = l. */
CONVRNNDEF int convrnn_model_layer_start(const convrnn_model *m, int v, int readme_convention);
/* Node index by name, -1 if absent. */
CONVRNNDEF int convrnn_model_node(const convrnn_model *m, const char *name);

/* ---- running */
typedef struct convrnn_stimulus {
    const convrnn_real *images;  /* [N,H,W,C] normalised images (or a movie [T][N][H][W][C]) */
    int n, h, w, c;
    int movie;                   /* 1: images holds T frames */
    int T, image_off;            /* frames t >= image_off are the blank (image_off >= T: constant) */
    double blank;                /* blank value (0.5 in the released code) */
} convrnn_stimulus;
CONVRNNDEF convrnn_stimulus convrnn_stimulus_make(const convrnn_real *images, int n, int h, int w, int c,
                                                  int T, int image_off);
/* The presentation presets of the released code (spec 2.3), as (T, image_off):
     "default"   the model's training presentation, g->T and g->image_off (16/12 for the shallow
                 models, 17/12 for the intermediate ones, a constant image for the _t22 / _t30 ones)
     "neural"    26 steps, image off after step 10 (100 ms on in a 260 ms trial), the comparison to
                 neural and behavioural data
     "constant"  g->T steps of the image (image_off = T)
   An unknown name gives CONVRNN_ERR_ARG with the list of names in err. */
CONVRNNDEF convrnn_status convrnn_stimulus_preset(const convrnn_graph_spec *g, const char *name, int *T, int *image_off,
                                                  convrnn_error *err);

/* Unroll: outs[t * n_nodes + v] receives node v's output at step t, for every t < T (caller array
   of T * spec.n_nodes pointers; tensors live on the tape). Runs at the stimulus's own size. */
CONVRNNDEF convrnn_status convrnn_model_unroll(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s,
                                               convrnn_tensor **outs);
/* The same, computing only the node-steps that the decoder's window (the readout's outputs at the
   window's steps) depends on; the others are left NULL in outs. Every edge delays by one step, so
   a node k edges upstream of the readout is not needed in the last k steps of the window's end.
   convrnn_model_decode() then gives the same logits, loss and gradients as after the full unroll,
   with less work: the trainer and convrnn_evaluate() use it. */
CONVRNNDEF convrnn_status convrnn_model_unroll_decoded(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s,
                                                       convrnn_tensor **outs);
/* Decoder over the readout's outputs (outs as above): logits [N,1,1,K]. rng: for the random
   decoder in training (NULL: evaluation rule). */
CONVRNNDEF convrnn_tensor *convrnn_model_decode(convrnn_model *m, convrnn_tape *t, convrnn_tensor **outs, int T,
                                                int image_off, convrnn_rng *rng);
CONVRNNDEF const char *convrnn_decoder_name(convrnn_decoder_type d);
CONVRNNDEF int convrnn_decoder_parse(const char *name, convrnn_decoder_type *out);

/* ---- weights */
/* Write every parameter (TF names and layouts, F32) plus the graph text in the metadata key
   "convrnn_graph" (and any extra key/values given, may be NULL) atomically. */
CONVRNNDEF convrnn_status convrnn_model_save(const convrnn_model *m, const char *path, convrnn_error *err);
/* Load parameters: every declared name must be present with its shape and a float dtype; a
   stored memory_decay of a plain layer must be 0; optimizer slots ("/Momentum", "opt/...") and
   global_step are ignored; any other unknown tensor is an error. Reports the first mismatch. */
CONVRNNDEF convrnn_status convrnn_model_load(convrnn_model *m, const char *path, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_model_load_st(convrnn_model *m, const convrnn_safetensors *st, convrnn_error *err);
/* ====================================================================================== [API-TRAIN]
   SGD through time, data pipelines and exactly-resumable checkpoints.

   Optimizer (TensorFlow semantics): g <- dL/dw + lambda_w w (the TF l2 term lambda sum(w^2)/2 of
   every parameter that declares a weight decay, times wd_scale); then clip each element to
   [-clip_value, clip_value] (if > 0); then scale all gradients by min(1, clip_norm / ||g||) (if
   > 0; the norm is summed in double in parameter order); then
     momentum:  a <- m a + g;  w <- w - lr a
     Nesterov:  a <- m a + g;  w <- w - lr (g + m a)
   Learning rate at step s: linear warm-up from lr/warmup to lr over the first `warmup` steps, then
   constant, step (times gamma every step_every steps) or cosine (to 0 at total_steps).
   Training is a pure function of (model, data, config, seed): the order of epoch e is a shuffle
   drawn from a PRNG seeded by (seed, e), and the augmentation of step s from (seed, s). A
   checkpoint stores the weights, the momentum buffers and the step, so a resumed run gives bitwise
   the weights of an uninterrupted one (on 1 or N threads). */

typedef enum convrnn_lr_kind { CONVRNN_LR_CONSTANT = 0, CONVRNN_LR_STEP, CONVRNN_LR_COSINE } convrnn_lr_kind;

typedef struct convrnn_sgd_config {
    double lr, momentum;
    int nesterov;
    double clip_value, clip_norm;   /* 0: off */
    double wd_scale;                /* multiplies every parameter's declared weight decay */
    convrnn_lr_kind schedule;
    long step_every;                /* CONVRNN_LR_STEP */
    double step_gamma;
    long total_steps;               /* CONVRNN_LR_COSINE */
    long warmup;                    /* linear warm-up steps (0: none) */
} convrnn_sgd_config;

CONVRNNDEF convrnn_sgd_config convrnn_sgd_default(void);  /* lr 0.01, momentum 0.9, wd_scale 1 */
CONVRNNDEF double convrnn_lr_at(const convrnn_sgd_config *c, long step);
/* sum over parameters of lambda * wd_scale * sum(w^2) / 2, in double */
CONVRNNDEF double convrnn_weight_decay_loss(const convrnn_params *ps, double wd_scale);
/* One update from ps->grads (which it modifies: decay and clipping are applied in place).
   grad_norm (may be NULL) receives the global norm before clipping. Non-finite gradients, or an
   update that would make a weight or momentum buffer non-finite, leave the weights and buffers
   untouched and return CONVRNN_ERR_NOT_FINITE. */
CONVRNNDEF convrnn_status convrnn_sgd_step(convrnn_params *ps, const convrnn_sgd_config *c, long step,
                                           double *grad_norm, convrnn_error *err);

/* ---- data */
typedef struct convrnn_data_config {
    double mean[4], std[4];         /* per-channel normalisation of pixel/255 */
    int crop_pad;                   /* random crop after zero-padding by this many pixels (0: off) */
    int hflip;                      /* random horizontal flips */
} convrnn_data_config;

/* Per-channel mean and standard deviation of pixel/255 over the whole set. */
CONVRNNDEF convrnn_status convrnn_dataset_stats(const convrnn_dataset *ds, double *mean, double *std, convrnn_error *err);
/* Fisher-Yates shuffle of idx[0..n) */
CONVRNNDEF void convrnn_shuffle(int *idx, int n, convrnn_rng *r);
/* Normalised (and, with rng != NULL, augmented) images of idx[0..n) into out (n*h*w*c), labels
   (NULL: not wanted). CONVRNN_ERR_ARG (nothing written) for a NULL argument, a set of other than
   1-4 channels (dc holds 4 means and deviations) or an index outside [0, ds->n). */
CONVRNNDEF convrnn_status convrnn_batch_fill(const convrnn_dataset *ds, const int *idx, int n, const convrnn_data_config *dc,
                                             convrnn_rng *rng, convrnn_real *out, int *labels);
/* A generated data set standing in for real images: num_classes classes of oriented gratings with
   class-specific orientation and frequency, random phase, contrast and noise. */
CONVRNNDEF convrnn_status convrnn_dataset_synthetic(convrnn_dataset *ds, int n, int h, int w, int c, int num_classes,
                                                    uint64_t seed, convrnn_error *err);

/* ---- training loop */
typedef struct convrnn_train_config {
    convrnn_sgd_config sgd;
    convrnn_data_config data;
    int batch, epochs;
    int T, image_off;               /* presentation (image_off >= T: constant image) */
    double blank;
    uint64_t seed;
} convrnn_train_config;

typedef struct convrnn_trainer {
    convrnn_error err;
    convrnn_model *m;
    const convrnn_dataset *ds;
    convrnn_train_config cfg;
    long step;                      /* updates done */
    long steps_per_epoch;
    /* private */
    int *perm, perm_epoch;
    convrnn_real *x;
    int *y;
    convrnn_tensor **outs;
    convrnn_tape tape;
} convrnn_trainer;

CONVRNNDEF convrnn_status convrnn_trainer_init(convrnn_trainer *tr, convrnn_model *m, const convrnn_dataset *train,
                                               const convrnn_train_config *cfg);
/* One SGD step on the next batch. loss: cross-entropy of the batch (without the decay term);
   acc: its accuracy. A non-finite loss, gradient or update stops before the update
   (CONVRNN_ERR_NOT_FINITE: the weights stay at the last good step). */
CONVRNNDEF convrnn_status convrnn_trainer_step(convrnn_trainer *tr, double *loss, double *acc);
CONVRNNDEF void convrnn_trainer_free(convrnn_trainer *tr);
/* Checkpoint: every parameter (TF names), the momentum buffers ("opt/momentum/<name>"), the step and
   seed in the metadata, written atomically (nothing is written while a weight or buffer is NaN or
   infinite: CONVRNN_ERR_NOT_FINITE). Loading checks that the graph matches, that every buffer is F32
   of its parameter's shape and finite, and the step, before it changes anything: on an error the
   model, the buffers and the step are as they were. */
CONVRNNDEF convrnn_status convrnn_trainer_save(const convrnn_trainer *tr, const char *path, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_trainer_load(convrnn_trainer *tr, const char *path, convrnn_error *err);
/* Accuracy and mean loss of the model's decoder output on a data set (batches of `batch`). A
   non-finite mean loss (weights or data holding NaN or infinity) returns CONVRNN_ERR_NOT_FINITE. */
CONVRNNDEF convrnn_status convrnn_evaluate(convrnn_model *m, const convrnn_dataset *ds, const convrnn_train_config *cfg,
                                           double *acc, double *loss, convrnn_error *err);
/* ================================================================================== [API-METRICS]
   Brain-comparison metrics (Nayebi et al. 2022; Kar et al. 2019; Brain-Score conventions), in double
   precision: PLS regression, cross-validation splits, correlations, noise ceilings, temporally fixed
   and per-bin neural predictivity, linear decoders, image-level d' (I1), object solution times (OST)
   and OST consistency, inter-animal consistency, paired statistics, and a synthetic data generator
   with known ground truth.

   LAYOUT. Every array is a dense row-major double array with explicit dimensions:
     features      (steps or bins) x images x units          time-major, as the rest of convrnn.h
     responses     trials x images x sites x bins            (R x N x Q x B), the paper's recordings
     trial means   images x sites x bins                     (N x Q x B)
     splits        convrnn_splits (index lists) or a (splits x N) 0/1 train mask
   Labels are ints in [0, n_classes). Sizes are ints; products are overflow-checked.

   ERRORS AND NaN. Functions that can fail return convrnn_status and fill an optional convrnn_error
   whose message names the offending shape or value. Non-finite inputs are rejected with
   CONVRNN_ERR_NOT_FINITE wherever finite numbers are required (PLS, decoders, responses,
   features) except where the spec gives a NaN rule, which is then followed and documented below
   (NaN-skipping medians and means, NaN IT OSTs, NaN thresholds, NaN d').

   DETERMINISM. Every result is a pure function of inputs and seeds. Random draws (splits, trial
   halves, SVM coordinate order, the synthetic generator, graded unit sampling) use convrnn_rng
   seeded from the caller's seed. OpenMP loops have one writer per output and fixed-order sums, so 1
   and N threads give bitwise identical results; the vector kernels (GCC/Clang vector extensions,
   2 or 4 doubles) keep the scalar association, so CONVRNN_NO_SIMD, SSE2 and AVX builds agree
   bitwise too (in ISO C mode, where the compiler does not contract a*b+c into FMA).

   CHOICES MADE WHERE THE SPEC (metrics_spec.md, section 11) LEAVES AN AMBIGUITY
     PLS     Default algorithm CONVRNN_PLS_NIPALS reproduces sklearn PLSRegression(scale=False) with its
             defaults (max_iter 500, tol 1e-6): same start column, same power iteration, same stopping
             test, same sign rule, same regression deflation, R = W (P'W)^-1, B = R Q'. The iteration is
             run in the small (min(p,q))-dimensional Gram space of S_k = X_k'Y_k, so each component costs
             O(n p) + O(p q) instead of O(iterations * n p). CONVRNN_PLS_EXACT takes the exact top
             singular vector of S_k (Lanczos with full reorthogonalisation), i.e. sklearn at tol -> 0.
             Differences from sklearn: w is normalised to unit length (sklearn divides by |w| + eps);
             components stop at the numerical rank (A16): a component is not added when
             |t|^2 < eps |X_c|_F^2 (X exhausted) or when the largest singular value of S_k is below
             4 n eps |X_c|_F |Y_k|_F or no column of Y_k exceeds eps (Y exhausted; sklearn's "Y
             residual is constant"). rank and stop_reason report it; predictions then use the
             components found (0 components: the prediction is the training mean).
     Splits  Seeded with convrnn_rng; sizes follow sklearn exactly (train_size: floor(f n), test_size:
             ceil(f n), the other one the complement); stratified splits allocate per class with
             sklearn's _approximate_mode (largest remainders, ties broken by our RNG), then permute
             within each class. Index lists are returned in ascending order. Bit-identical indices
             to numpy are not a goal; import Python splits with convrnn_splits_from_mask.
     A3      Every normalisation has its own name: convrnn_ceiling_bs2019 = (r/c)^2,
             convrnn_ceiling_bs2026 = r^2/c, convrnn_ceiling_neuronwise = r_j^2/c_j,
             convrnn_ceiling_linear = s/c (OST), convrnn_ceiling_r_nc = r/sqrt(SB(r_xx) SB(r_yy))
             (Nayebi r_xy_n_sb; the default for Fig. 4 replications), convrnn_ceiling_r_nc_neuron =
             r/sqrt(SB(r_yy)) (no mapping-reliability term), convrnn_ceiling_ev_nc = r_nc^2,
             convrnn_ceiling_split_ratio_sb (mouse-vision form, SB applied to the ratio).
     A5      convrnn_time_average takes the window; the conventional default is [70, 170) ms.
     A6      Decoder default: multinomial logistic regression on z-scored features, minimising
             mean cross-entropy + lambda/2 |W|^2 (+ lambda/2 |b|^2 if penalize_bias), lambda = 0.463,
             L-BFGS to a gradient tolerance (no Adam, no minibatches: exact TF parity is not a goal).
             Option: one-vs-rest L2-regularised squared-hinge linear SVM solved by liblinear's dual
             coordinate descent (bias as a regularised constant feature, liblinear -B), probabilities
             = softmax of the OvR decision values. Default SVM C = 1e-3 (the C of lambda=0.463 at
             n=2160, as in the logistic derivation). Classes absent from a training split get decision
             -inf and probability 0, and convrnn_ost_model marks them invalid for I1.
     I1      False-alarm rates are NaN-skipping means over test images of the distractor object;
             d' values are clipped to [-5, 5] (inf - inf stays NaN); I1 is the NaN-skipping mean over
             distractors. Images whose true class is invalid give NaN.
     A7      Both OST anchors: CONVRNN_OST_ANCHOR_MAX_SO_FAR (default, current Brain-Score) and
             CONVRNN_OST_ANCHOR_PREVIOUS_BIN (2019-05). NaN d' bins are neither hits nor anchors;
             PREVIOUS_BIN uses the latest earlier bin with a finite d'. A hit with no anchor gives the
             bin start. OST uses bin starts in ms. A model whose features do not change over time
             solves every image at the same bin, so its OSTs are constant and the Spearman consistency
             is NaN (the role of Brain-Score's temporally_varying check); a model that solves no
             image also gives NaN (spec 10.1 controls).
     Halves  The same trial halves (seeded seed + h) are used for every train/test split; the
             noise-corrected values are averaged (NaN-skipping) over halves and splits, then the
             caller takes medians over sites.
     A8      Inter-animal / noise-corrected consistency computes both forms per neuron and bin:
             r_nc (brainmodel_utils r_xy_n_sb, the default) and r_sb_ratio (mouse-vision). Trial halves
             are drawn "sync" (the same trials for all images); with uneven R the halves have
             floor(R/2) and R - floor(R/2) trials.
     A11     Graded mapping: linear-interpolation sampling of section 6, unit budget M (0 -> min(1000,
             smallest layer)); uniform mapping a(j) = floor(j k / T).
     A12/13  PLS defaults: 25 components, scale=False. Neural splits default (CLI): 10 stratified 90/10
             splits by object label; OST splits: 10 unstratified splits, test = ceil(10%).
     A14     s.e.m. takes ddof; the CLI and summaries use ddof = 1 (the paper's t(9) values equal
             mean/s.e.m. with ddof = 1), Brain-Score numbers need ddof = 0.
     Wilcoxon matches scipy 1.10 defaults (zero_method 'wilcox', no continuity correction, mode 'auto':
             exact when n <= 50 and there are no zero differences, else the normal approximation with
             the tie correction; like scipy 1.10, the exact branch truncates a tied r_plus to an
             integer).
     Fixed   The temporally fixed map stacks (image, bin) rows of the training images and fits one PLS
             (centering over all stacked rows); the per-bin map fits one PLS per bin.
   ============================================================================================== */

/* ---------------------------------------------------------------- basic statistics */

/* Pearson correlation of x and y (n values). NaN if n < 2, if either vector is constant, or if any
   input is NaN (NaN propagates, as scipy's default). Clipped to [-1, 1]. */
CONVRNNDEF double convrnn_pearson(const double *x, const double *y, size_t n);
/* Spearman rank correlation: average ranks for ties, then Pearson of the ranks. Same NaN rules. */
CONVRNNDEF convrnn_status convrnn_spearman(const double *x, const double *y, size_t n, double *rho,
                                           convrnn_error *err);
/* Average ranks (1-based, ties get the mean of their positions), as scipy.stats.rankdata.
   Rejects NaN with CONVRNN_ERR_NOT_FINITE. */
CONVRNNDEF convrnn_status convrnn_rankdata(const double *x, size_t n, double *ranks, convrnn_error *err);
/* NaN-skipping aggregates; *used (may be NULL) receives the number of non-NaN values. The result is
   NaN when no value is usable (for sem also when used - ddof <= 0). sem = std(ddof)/sqrt(used). */
CONVRNNDEF double convrnn_nanmean(const double *v, size_t n, size_t *used);
CONVRNNDEF double convrnn_nanstd(const double *v, size_t n, int ddof, size_t *used);
CONVRNNDEF double convrnn_nansem(const double *v, size_t n, int ddof, size_t *used);
/* NaN-skipping median (even count: mean of the two middle values). Allocates a scratch copy. */
CONVRNNDEF convrnn_status convrnn_nanmedian(const double *v, size_t n, double *median, size_t *used,
                                            convrnn_error *err);
/* Spearman-Brown prophecy: n r / (1 + (n - 1) r). */
CONVRNNDEF double convrnn_spearman_brown(double r, double n);

/* ---------------------------------------------------------------- special functions */
CONVRNNDEF double convrnn_lgamma(double x);                   /* log|Gamma(x)|, x > 0 */
CONVRNNDEF double convrnn_norm_cdf(double x);                 /* Phi(x) */
CONVRNNDEF double convrnn_norm_sf(double x);                  /* 1 - Phi(x), accurate in the tail */
CONVRNNDEF double convrnn_norm_ppf(double p);                 /* Phi^-1(p) (AS241); -inf at 0, +inf at 1,
                                                                 NaN outside [0,1] */
CONVRNNDEF double convrnn_betainc(double a, double b, double x); /* regularized I_x(a,b) */
CONVRNNDEF double convrnn_gammainc_p(double a, double x);     /* regularized lower P(a,x) */
CONVRNNDEF double convrnn_gammainc_q(double a, double x);     /* regularized upper Q(a,x) */
CONVRNNDEF double convrnn_t_sf(double t, double df);          /* Student t survival function (df > 1e7: normal + 1/df term) */
CONVRNNDEF double convrnn_chi2_sf(double x, double df);       /* chi-square survival function */

/* ---------------------------------------------------------------- statistical tests */
typedef struct convrnn_test_result {
    double statistic;   /* t; Wilcoxon min(W+, W-); Friedman chi^2 */
    double pvalue;      /* two-sided */
    double z;           /* Wilcoxon normal-approximation z (NaN for exact); else NaN */
    double df;          /* t-test n-1; Friedman k-1; else NaN */
    int n;              /* pairs used (Wilcoxon: non-zero differences in the approximation) */
    int exact;          /* Wilcoxon: 1 if the exact distribution was used */
} convrnn_test_result;

/* Paired t-test (scipy ttest_rel): d = a - b, t = mean(d)/(sd(d, ddof 1)/sqrt(n)), df = n - 1,
   p = 2 sf(|t|). n >= 2. A zero variance gives t = +-inf, p = 0 (or NaN when mean(d) = 0 too). */
CONVRNNDEF convrnn_status convrnn_ttest_paired(const double *a, const double *b, int n,
                                               convrnn_test_result *res, convrnn_error *err);
typedef enum convrnn_wilcoxon_mode {
    CONVRNN_WILCOXON_AUTO = 0, CONVRNN_WILCOXON_EXACT = 1, CONVRNN_WILCOXON_APPROX = 2
} convrnn_wilcoxon_mode;
/* Wilcoxon signed-rank test on d = a - b (b may be NULL: a holds the differences), scipy 1.10
   defaults (see the header notes). All-zero differences in the approximation: CONVRNN_ERR_ARG.
   CONVRNN_WILCOXON_EXACT takes n <= 1000 (the exact distribution costs n^3; AUTO uses it up to 50). */
CONVRNNDEF convrnn_status convrnn_wilcoxon(const double *a, const double *b, int n, convrnn_wilcoxon_mode mode,
                                           convrnn_test_result *res, convrnn_error *err);
/* Friedman test on a (n_blocks x k) table (rows: blocks, e.g. splits; columns: treatments), k >= 3,
   as scipy.stats.friedmanchisquare(*columns). */
CONVRNNDEF convrnn_status convrnn_friedman(const double *data, int n_blocks, int k, convrnn_test_result *res,
                                           convrnn_error *err);
/* min(1, m p); NaN for m < 1 or p outside [0, 1]. */
CONVRNNDEF double convrnn_bonferroni(double p, int m);

/* ---------------------------------------------------------------- cross-validation splits */
typedef struct convrnn_splits {
    int n_splits;
    int n;              /* number of items (images) */
    int *train;         /* all train indices, split after split, ascending within a split */
    int *test;
    size_t *train_start; /* n_splits + 1 offsets into train */
    size_t *test_start;  /* n_splits + 1 offsets into test */
} convrnn_splits;
/* Random shuffle splits with sklearn's sizes. train_size/test_size: a fraction in (0,1), an integer
   count >= 1, or 0 for "the complement" (at least one must be set). strata: NULL for ShuffleSplit,
   else per-item class ids >= 0 for StratifiedShuffleSplit (any values: the classes are the distinct
   ids, in ascending order, as numpy's unique; every class needs >= 2 items, and both sides >= the
   number of classes). */
CONVRNNDEF convrnn_status convrnn_splits_shuffle(convrnn_splits *out, int n, int n_splits, double train_size,
                                                 double test_size, const int *strata, uint64_t seed,
                                                 convrnn_error *err);
/* From a (n_splits x n) mask: 1 = train, 0 = test, anything else = unused. */
CONVRNNDEF convrnn_status convrnn_splits_from_mask(convrnn_splits *out, const int *mask, int n_splits, int n,
                                                   convrnn_error *err);
/* From index lists: split s trains on train[train_start[s] .. train_start[s+1]) and tests on
   test[test_start[s] .. test_start[s+1]) (offsets: n_splits + 1 entries each). Indices are
   checked (range, no index twice on a side or on both sides of a split) and stored in ascending order. */
CONVRNNDEF convrnn_status convrnn_splits_from_lists(convrnn_splits *out, int n, int n_splits, const int *train,
                                                    const size_t *train_start, const int *test,
                                                    const size_t *test_start, convrnn_error *err);
/* Write the (n_splits x n) mask (1 train, 0 test, -1 unused). */
CONVRNNDEF void convrnn_splits_to_mask(const convrnn_splits *s, int *mask);
CONVRNNDEF void convrnn_splits_free(convrnn_splits *s);

/* ---------------------------------------------------------------- PLS regression */
typedef enum convrnn_pls_algorithm { CONVRNN_PLS_NIPALS = 0, CONVRNN_PLS_EXACT = 1 } convrnn_pls_algorithm;
typedef enum convrnn_pls_stop {
    CONVRNN_PLS_STOP_NONE = 0,        /* all requested components were extracted */
    CONVRNN_PLS_STOP_X_RANK = 1,      /* X (deflated) has no variance left: numerical rank reached */
    CONVRNN_PLS_STOP_Y_RESIDUAL = 2   /* Y (deflated) or the cross-covariance S_k is numerically zero */
} convrnn_pls_stop;
typedef struct convrnn_pls_options {
    int n_components;               /* default 25 */
    convrnn_pls_algorithm algorithm;/* default CONVRNN_PLS_NIPALS (sklearn-identical) */
    int max_iter;                   /* NIPALS power iterations per component, default 500 */
    double tol;                     /* NIPALS stopping test |w - w_prev|^2 < tol, default 1e-6 */
} convrnn_pls_options;
CONVRNNDEF void convrnn_pls_options_default(convrnn_pls_options *o);

/* A fitted model. Component-major storage: x_weights[k*p + j] is sklearn's x_weights_[j, k]. */
typedef struct convrnn_pls {
    int p, q;
    int n_components;   /* requested */
    int rank;           /* components extracted (<= n_components) */
    int stop_reason;    /* convrnn_pls_stop */
    double *x_mean;     /* p */
    double *y_mean;     /* q: the intercept */
    double *x_weights;  /* rank x p (W) */
    double *x_loadings; /* rank x p (P) */
    double *y_loadings; /* rank x q (Q; equal to sklearn's y_weights_ for PLSRegression) */
    double *x_rotations;/* rank x p (R = W (P'W)^-1) */
    double *x_scores;   /* rank x n_train (T) */
    double *coef;       /* p x q (B = R Q', sklearn 1.2 coef_) */
    int *n_iter;        /* rank: power iterations used (EXACT: Lanczos steps) */
    int n_train;
} convrnn_pls;
/* Fit on X (n x p) and Y (n x q). The model is overwritten (free a previous fit first). Memory:
   a centred copy of X (n p), S (p q), and the Gram matrix (min(p,q)^2 while min(p,q) <= 3000;
   above that the Gram operator is applied through S). Scale: the centred X must lie within
   1e-60..1e60 in absolute value (its largest entry) and the centred Y below 1e60, else
   CONVRNN_ERR_ARG (the fit's products would overflow or underflow); as in scikit-learn
   (scale=False), a column of Y whose entries are all below 10 DBL_EPSILON counts as zero. */
CONVRNNDEF convrnn_status convrnn_pls_fit(convrnn_pls *m, const double *X, const double *Y, int n, int p, int q,
                                          const convrnn_pls_options *opt, convrnn_error *err);
/* The same, but centres X in place (X is left centred): saves one copy of X for large inputs. */
CONVRNNDEF convrnn_status convrnn_pls_fit_inplace(convrnn_pls *m, double *X, const double *Y, int n, int p,
                                                  int q, const convrnn_pls_options *opt, convrnn_error *err);
/* Yhat (n x q) = (X - x_mean) coef + y_mean. */
CONVRNNDEF convrnn_status convrnn_pls_predict(const convrnn_pls *m, const double *X, int n, double *Yhat,
                                              convrnn_error *err);
CONVRNNDEF void convrnn_pls_free(convrnn_pls *m);

/* ---------------------------------------------------------------- linear decoders */
typedef enum convrnn_decoder_kind { CONVRNN_DECODER_LOGISTIC = 0, CONVRNN_DECODER_SVM = 1 } convrnn_decoder_kind;
typedef struct convrnn_decoder_options {
    convrnn_decoder_kind kind;  /* default LOGISTIC */
    int zscore;                 /* standardise with the training mean and population std (a std
                                   within rounding of zero or below 10 DBL_EPSILON -> 1, as
                                   scikit-learn; any magnitude of features otherwise); default 1 */
    double lambda;              /* logistic: L2 strength on the MEAN cross-entropy, default 0.463
                                   (sklearn C = 1/(lambda n)) */
    int penalize_bias;          /* logistic: also penalise the bias, default 0 */
    double C;                   /* SVM: liblinear C, default 1e-3 */
    double bias;                /* SVM: value of the constant bias feature (liblinear -B), default 1;
                                   <= 0: no bias */
    double tol;                 /* logistic: stop when max|gradient of the mean objective| <= tol;
                                   SVM: stop when max PG - min PG <= tol (liblinear's test);
                                   <= 0 (the default): 1e-8 for logistic, 1e-6 for SVM */
    int max_iter;               /* logistic L-BFGS iterations / SVM epochs, default 10000 */
    uint64_t seed;              /* SVM coordinate order, default 0 */
} convrnn_decoder_options;
CONVRNNDEF void convrnn_decoder_options_default(convrnn_decoder_options *o);

typedef struct convrnn_classifier {
    convrnn_decoder_kind kind;
    int p, n_classes;
    double *mean, *scale;       /* p: z-scoring (0 and 1 when zscore is off) */
    double *W;                  /* n_classes x p, acting on z-scored features */
    double *b;                  /* n_classes */
    unsigned char *present;     /* n_classes: 1 if the class had training samples */
    int iterations;             /* L-BFGS iterations / maximum SVM epochs over the OvR problems */
    int converged;              /* 1 if every problem met its tolerance */
} convrnn_classifier;
/* Fit on X (n x p), labels in [0, n_classes). At least two classes must be present. */
CONVRNNDEF convrnn_status convrnn_logreg_fit(convrnn_classifier *m, const double *X, const int *labels, int n,
                                             int p, int n_classes, const convrnn_decoder_options *opt,
                                             convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_svm_fit(convrnn_classifier *m, const double *X, const int *labels, int n,
                                          int p, int n_classes, const convrnn_decoder_options *opt,
                                          convrnn_error *err);
/* Either of the two, by opt->kind. */
CONVRNNDEF convrnn_status convrnn_classifier_fit(convrnn_classifier *m, const double *X, const int *labels,
                                                 int n, int p, int n_classes,
                                                 const convrnn_decoder_options *opt, convrnn_error *err);
/* Decision values (n x n_classes): W z + b; -inf for absent classes. */
CONVRNNDEF convrnn_status convrnn_classifier_decision(const convrnn_classifier *m, const double *X, int n,
                                                      double *out, convrnn_error *err);
/* Probabilities (n x n_classes): softmax of the decision values (0 for absent classes). */
CONVRNNDEF convrnn_status convrnn_classifier_proba(const convrnn_classifier *m, const double *X, int n,
                                                   double *out, convrnn_error *err);
CONVRNNDEF void convrnn_classifier_free(convrnn_classifier *m);

/* ---------------------------------------------------------------- behaviour: I1 and OST */
/* Image-level d' (I1, spec 5.4) from class probabilities P (n x n_classes, each in [0, 1]: else
   CONVRNN_ERR_ARG, or CONVRNN_ERR_NOT_FINITE for NaN or infinity) of the n test images with true
   labels. class_valid (may be NULL = all valid) marks classes the decoder could predict. */
CONVRNNDEF convrnn_status convrnn_i1_dprime(const double *proba, const int *labels, int n, int n_classes,
                                            const unsigned char *class_valid, double *i1, convrnn_error *err);

typedef enum convrnn_ost_anchor {
    CONVRNN_OST_ANCHOR_MAX_SO_FAR = 0,   /* the sub-threshold bin with the largest d' so far (default) */
    CONVRNN_OST_ANCHOR_PREVIOUS_BIN = 1  /* the last finite bin before the hit (2019-05 variant) */
} convrnn_ost_anchor;
/* OST of one image from its d' time course (n_bins values at increasing bin starts, ms) and its
   primate threshold (spec 5.5). NaN when the threshold is never reached or is NaN. NaN bins are
   skipped. Infinite d' values take the interpolation's limits: a hit of +inf gives the anchor's
   time, an anchor of -inf gives the hit's bin. */
CONVRNNDEF double convrnn_ost_image(const double *dprime, const double *bin_ms, int n_bins, double threshold,
                                    convrnn_ost_anchor anchor);

typedef struct convrnn_ost_options {
    convrnn_decoder_options decoder;
    convrnn_ost_anchor anchor;
} convrnn_ost_options;
CONVRNNDEF void convrnn_ost_options_default(convrnn_ost_options *o);
/* Model OSTs: for every split and bin, fit a decoder on the training images' features at the bin,
   predict the test images, compute I1, and turn the d' time courses into OSTs.
   features (n_bins x n x p), labels (n), bin_ms (n_bins, increasing), thresholds (n, primate i1).
   model_ost (n_splits x n): OST of each test image, NaN elsewhere. dprime (optional, n_splits x
   n_bins x n): d' of each test image, NaN elsewhere. */
CONVRNNDEF convrnn_status convrnn_ost_model(const double *features, int n_bins, int n, int p, const int *labels,
                                           int n_classes, const double *bin_ms, const double *thresholds,
                                           const convrnn_splits *splits, const convrnn_ost_options *opt,
                                           double *model_ost, double *dprime, convrnn_error *err);
typedef struct convrnn_ost_summary {
    double consistency;         /* NaN-skipping mean over splits of the per-split Spearman rho */
    double consistency_sem;     /* s.e.m. over the splits used (ddof as given) */
    double fraction_solved;     /* mean over splits of |both finite| / |IT finite| */
    int splits_used;            /* splits with a finite consistency */
} convrnn_ost_summary;
/* OST consistency (spec 5.6): per split, Spearman rho between model and IT OSTs over the test images
   where both are finite (NaN with fewer than 2 such images or a constant side), and the fraction of
   IT-solved test images the model solves. model_ost (n_splits x n), it_ost (n, NaN = unsolved).
   per_split_rho / per_split_fraction / per_split_count (n_splits each) may be NULL. */
CONVRNNDEF convrnn_status convrnn_ost_consistency(const double *model_ost, const double *it_ost,
                                                 const convrnn_splits *splits, int ddof, double *per_split_rho,
                                                 double *per_split_fraction, int *per_split_count,
                                                 convrnn_ost_summary *summary, convrnn_error *err);

/* Uniform temporal mapping of k feedforward layers onto n_bins bins: layer_of_bin[j] = floor(j k / T)
   (0-based layer indices). */
CONVRNNDEF convrnn_status convrnn_ost_uniform_map(int k_layers, int n_bins, int *layer_of_bin, convrnn_error *err);
/* Graded mapping: for each bin, `budget` (layer, unit) pairs drawn without replacement from the two
   neighbouring layers in proportions set by the fractional depth u_j = j (k-1)/(T-1) (spec 6). */
typedef struct convrnn_graded_map {
    int n_bins, budget;
    int *layer;   /* n_bins x budget */
    int *unit;    /* n_bins x budget */
} convrnn_graded_map;
CONVRNNDEF convrnn_status convrnn_ost_graded_map(convrnn_graded_map *out, int k_layers, const int *layer_units,
                                                 int n_bins, int budget, uint64_t seed, convrnn_error *err);
/* Build bin features (n_bins x n x budget) from k layers given as pointers to (n x layer_units[l]). */
CONVRNNDEF convrnn_status convrnn_ost_graded_features(const convrnn_graded_map *m, const double *const *layers,
                                                      const int *layer_units, int k_layers, int n, double *out,
                                                      convrnn_error *err);
CONVRNNDEF void convrnn_graded_map_free(convrnn_graded_map *m);
/* PLS Uniform / PLS Graded: for every bin b, fit PLS from fit_features[b] (n_fit x p) to the IT
   responses fit_it (n_fit x q x n_bins, bins last) at bin b, then predict the OST images:
   ost_features (n_bins x n_ost x p) -> out (n_bins x n_ost x q). */
CONVRNNDEF convrnn_status convrnn_ost_pls_features(const double *fit_features, const double *fit_it, int n_fit,
                                                   int p, int q, int n_bins, const double *ost_features,
                                                   int n_ost, const convrnn_pls_options *pls, double *out,
                                                   convrnn_error *err);

/* ---------------------------------------------------------------- noise ceilings and normalisation */
/* Split-half internal consistency (spec 2.4a): resp (R x N x Q). n_splits random halves of the
   repetitions (floor(R/2) and the rest), trial-average each half, Pearson across images per site,
   Spearman-Brown (n = 2); per split the NaN-skipping median over sites; ceiling = mean over splits,
   error = std(ddof)/sqrt(n_splits used). per_site (Q, mean over splits of SB rho_j) and per_split
   (n_splits) may be NULL. */
CONVRNNDEF convrnn_status convrnn_ceiling_split_half(const double *resp, int R, int N, int Q, int n_splits,
                                                     uint64_t seed, int ddof, double *per_site, double *per_split,
                                                     double *ceiling, double *error, convrnn_error *err);
/* The same for every bin of resp (R x N x Q x B) with the same trial halves for all bins:
   per_site (Q x B), ceiling and error (B) (any may be NULL). */
CONVRNNDEF convrnn_status convrnn_ceiling_split_half_temporal(const double *resp, int R, int N, int Q, int B,
                                                              int n_splits, uint64_t seed, int ddof,
                                                              double *per_site, double *ceiling, double *error,
                                                              convrnn_error *err);
CONVRNNDEF double convrnn_ceiling_bs2019(double r, double c);         /* (r/c)^2, Brain-Score 2019-2025 */
CONVRNNDEF double convrnn_ceiling_bs2026(double r, double c);         /* r^2/c, Brain-Score since 2026-01 */
CONVRNNDEF double convrnn_ceiling_neuronwise(double r_j, double c_j); /* r_j^2/c_j per neuron */
CONVRNNDEF double convrnn_ceiling_linear(double score, double c);     /* score/c (OST ceiling) */
/* r_xy / sqrt(SB(r_xx) SB(r_yy)) from raw (uncorrected) split-half correlations; NaN if the product of
   the SB terms is <= 0. */
CONVRNNDEF double convrnn_ceiling_r_nc(double r_xy, double r_xx, double r_yy);
CONVRNNDEF double convrnn_ceiling_ev_nc(double r_xy, double r_xx, double r_yy);   /* r_nc^2 */
CONVRNNDEF double convrnn_ceiling_r_nc_neuron(double r_xy, double r_yy);          /* r/sqrt(SB(r_yy)) */
/* SB(r_cross / sqrt(r_xx r_yy)) (mouse-vision form); NaN if r_xx r_yy <= 0. */
CONVRNNDEF double convrnn_ceiling_split_ratio_sb(double r_cross, double r_xx, double r_yy);

/* ---------------------------------------------------------------- neural predictivity */
typedef enum convrnn_map_kind { CONVRNN_MAP_FIXED = 0, CONVRNN_MAP_PER_BIN = 1 } convrnn_map_kind;
/* Raw held-out predictivity of model features for binned responses.
   features (n_steps x N x P); bin_steps (B): the model step paired with each neural bin;
   target (N x Q x B) trial-averaged responses. For every split: fit the map on the training images
   (FIXED: one PLS on the stacked (image, bin) rows; PER_BIN: one PLS per bin), predict the test
   images, and r[s][j][b] = Pearson over test images (out: n_splits x Q x B; NaN for constant
   vectors). */
CONVRNNDEF convrnn_status convrnn_neural_predictivity(const double *features, int n_steps, int N, int P,
                                                      const int *bin_steps, const double *target, int Q, int B,
                                                      const convrnn_splits *splits, convrnn_map_kind map,
                                                      const convrnn_pls_options *pls, double *r,
                                                      convrnn_error *err);
/* Static (time-averaged) score of one layer, Brain-Score style: X (N x P), Y (N x Q); per split the
   NaN-skipping median over sites of the held-out Pearson r; *score = mean over splits.
   per_split (n_splits) and r (n_splits x Q) may be NULL. */
CONVRNNDEF convrnn_status convrnn_neural_score_static(const double *X, int N, int P, const double *Y, int Q,
                                                      const convrnn_splits *splits, const convrnn_pls_options *pls,
                                                      double *score, double *per_split, double *r,
                                                      convrnn_error *err);
/* Mean of the bins whose start lies in [t0, t1): resp (N x Q x B) -> out (N x Q). A non-finite
   response in those bins: CONVRNN_ERR_NOT_FINITE. */
CONVRNNDEF convrnn_status convrnn_time_average(const double *resp, int N, int Q, int B, const double *bin_ms,
                                               double t0, double t1, double *out, convrnn_error *err);
/* Index of the largest non-NaN score (ties: earliest); -1 if all are NaN. */
CONVRNNDEF int convrnn_select_layer(const double *scores, int n_layers);
/* Layer selection (spec 4): score each layer (layers[l]: N x layer_p[l]) against Y (N x Q) with
   convrnn_neural_score_static; *best = convrnn_select_layer(scores). scores (n_layers) may be NULL. */
CONVRNNDEF convrnn_status convrnn_select_layer_neural(const double *const *layers, const int *layer_p,
                                                      int n_layers, int N, const double *Y, int Q,
                                                      const convrnn_splits *splits, const convrnn_pls_options *pls,
                                                      int *best, double *scores, convrnn_error *err);
/* Phase summary (Fig. 4): values (n_splits x Q x B); for each site the NaN-skipping mean over splits
   and over the phase bins (indices), then the NaN-skipping median over sites and the s.e.m. over
   sites (ddof). per_site (Q) and used (sites with a finite value) may be NULL. */
CONVRNNDEF convrnn_status convrnn_phase_summary(const double *values, int n_splits, int Q, int B,
                                                const int *phase_bins, int n_phase_bins, int ddof, double *per_site,
                                                double *median, double *sem, int *used, convrnn_error *err);

/* ---------------------------------------------------------------- noise-corrected consistency */
/* A source of predictors: model features (one "trial") or another animal's trials. */
typedef enum convrnn_source_kind { CONVRNN_SOURCE_MODEL = 0, CONVRNN_SOURCE_NEURAL = 1 } convrnn_source_kind;
typedef struct convrnn_source {
    convrnn_source_kind kind;
    const double *data;     /* MODEL: features (n_steps x N x P); NEURAL: trials (R x N x P x B) */
    int n_steps;            /* MODEL */
    const int *bin_steps;   /* MODEL: step paired with each bin (B) */
    int n_trials;           /* NEURAL */
    int p;                  /* units */
} convrnn_source;
typedef struct convrnn_consistency_options {
    convrnn_pls_options pls;
    convrnn_map_kind map;   /* default CONVRNN_MAP_FIXED */
    int n_halves;           /* trial split-halves per train/test split (num_bootstrap_iters), default 10 */
    uint64_t seed;          /* default 1234 */
} convrnn_consistency_options;
CONVRNNDEF void convrnn_consistency_options_default(convrnn_consistency_options *o);
/* Per-(site, bin) results, each (Q x B), averaged (NaN-skipping) over train/test splits and halves. */
typedef struct convrnn_consistency_result {
    int Q, B;
    double *r_xy;       /* r(F(source mean), target mean) on test images */
    double *r_xx;       /* r(F1(source half 1), F2(source half 2)): mapping reliability */
    double *r_yy;       /* r(target half 1, target half 2) */
    double *r_nc;       /* mean of r_xy / sqrt(SB(r_xx) SB(r_yy)) (brainmodel_utils, form A) */
    double *r_sb_ratio; /* mean of SB(r(F1(S1), T2) / sqrt(r_xx r_yy)) (mouse-vision, form B) */
    double *r_nc_neuron;/* mean of r_xy / sqrt(SB(r_yy)) (no mapping-reliability term) */
} convrnn_consistency_result;
/* Noise-corrected consistency of a source with a target (R x N x Q x B trials), spec 2.4c and 7.
   For a model source the halves apply to the target only (X1 = X2 = X). */
CONVRNNDEF convrnn_status convrnn_consistency(const convrnn_source *source, const double *target, int R, int N,
                                              int Q, int B, const convrnn_splits *splits,
                                              const convrnn_consistency_options *opt,
                                              convrnn_consistency_result *res, convrnn_error *err);
CONVRNNDEF void convrnn_consistency_result_free(convrnn_consistency_result *r);

/* ---------------------------------------------------------------- synthetic data (spec 10.3) */
typedef struct convrnn_synth_neural_params {
    int n_trials, n_images, n_objects, n_sites, n_bins, latent_dim; /* 30, 2560, 64, 256, 19, 16 */
    double bin0_ms, bin_width_ms;       /* 70, 10 */
    double reliability_min, reliability_max; /* per-site reliability of the R-trial mean at its peak
                                                bin, drawn uniformly; default 0.5, 0.95 */
    uint64_t seed;
} convrnn_synth_neural_params;
CONVRNNDEF void convrnn_synth_neural_params_default(convrnn_synth_neural_params *p);
typedef struct convrnn_synth_neural {
    int R, N, Q, B, D;
    double *responses;      /* R x N x Q x B: signal + N(0, noise_sd^2) trial noise */
    double *signal;         /* N x Q x B: the noise-free response */
    double *latent;         /* N x D: image latent (object mean + image jitter) */
    double *latent_late;    /* N x D: second latent that drives the late response component */
    int *labels;            /* N: object of each image */
    double *noise_sd;       /* Q: trial noise standard deviation of each site */
    double *reliability;    /* Q x B: expected Spearman-Brown split-half reliability of each site/bin
                               (halves of floor(R/2) and R - floor(R/2) trials, realised signal variance) */
    double *bin_ms;         /* B: bin starts */
} convrnn_synth_neural;
CONVRNNDEF convrnn_status convrnn_synth_neural_make(convrnn_synth_neural *out, const convrnn_synth_neural_params *p,
                                                   convrnn_error *err);
CONVRNNDEF void convrnn_synth_neural_free(convrnn_synth_neural *s);
/* Expected split-half reliability (SB-corrected) for signal variance v, noise variance s2, R trials. */
CONVRNNDEF double convrnn_synth_expected_reliability(double v, double s2, int R);

typedef struct convrnn_synth_ost_params {
    int n_images, n_objects, n_bins, n_features;   /* 1320, 10, 19, 100 */
    double bin0_ms, bin_width_ms;                  /* 70, 10 */
    double nan_fraction;                           /* hardest images with NaN IT OST, default 0.1 */
    double i1_min, i1_max;                         /* primate threshold range, 0.5 .. 3.5 */
    double signal_gain;                            /* class-signal scale, default 1 */
    uint64_t seed;
} convrnn_synth_ost_params;
CONVRNNDEF void convrnn_synth_ost_params_default(convrnn_synth_ost_params *p);
typedef struct convrnn_synth_ost {
    int N, C, B, P;
    int *labels;            /* N */
    double *difficulty;     /* N in [0,1) */
    double *i1;             /* N primate thresholds */
    double *it_ost;         /* N IT OST (ms), 70 + 180 difficulty, NaN for the hardest nan_fraction */
    double *features;       /* B x N x P: class signal ramping up at a rate set by the difficulty */
    double *bin_ms;         /* B */
} convrnn_synth_ost;
CONVRNNDEF convrnn_status convrnn_synth_ost_make(convrnn_synth_ost *out, const convrnn_synth_ost_params *p,
                                                convrnn_error *err);
CONVRNNDEF void convrnn_synth_ost_free(convrnn_synth_ost *s);

#ifdef __cplusplus
}
#endif
#endif /* CONVRNN_H_INCLUDED */

/* ============================================================================= IMPLEMENTATION */
#ifdef CONVRNN_IMPLEMENTATION
#ifndef CONVRNN_IMPLEMENTATION_DONE
#define CONVRNN_IMPLEMENTATION_DONE

#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <float.h>
#include <errno.h>
#include <limits.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__GLIBC__) && !defined(CONVRNN_NO_SYSCONF)
#include <unistd.h> /* sysconf: the L2 cache size, which sets the SIMD kernels' panel widths */
#if defined(_SC_LEVEL2_CACHE_SIZE)
#define CONVRNN__HAVE_SYSCONF_L2 1
#endif
#endif

#if defined(CONVRNN_MALLOC) && defined(CONVRNN_FREE) && defined(CONVRNN_REALLOC)
#elif !defined(CONVRNN_MALLOC) && !defined(CONVRNN_FREE) && !defined(CONVRNN_REALLOC)
#define CONVRNN_MALLOC(ctx, sz) ((void)(ctx), malloc(sz))
#define CONVRNN_REALLOC(ctx, p, sz) ((void)(ctx), realloc(p, sz))
#define CONVRNN_FREE(ctx, p) ((void)(ctx), free(p))
#define CONVRNN__LIBC_CALLOC 1 /* libc's calloc maps fresh zero pages lazily: big, unused blocks cost nothing */
#else
#error "convrnn.h: define all of CONVRNN_MALLOC, CONVRNN_REALLOC and CONVRNN_FREE, or none"
#endif

#ifndef CONVRNN_ASSERT
#include <assert.h>
#define CONVRNN_ASSERT(x) assert(x)
#endif

#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE) && defined(__AVX2__) && defined(__FMA__)
#define CONVRNN__AVX2 1
#include <immintrin.h>
#endif
#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE) && (defined(__ARM_NEON) || defined(__aarch64__))
#define CONVRNN__NEON 1
#include <arm_neon.h>
#endif

#if defined(CONVRNN_STATIC) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* ================================================================================ [IMPL-BASE] */

CONVRNNDEF const char *convrnn_status_string(convrnn_status s) {
    switch (s) {
    case CONVRNN_OK: return "ok";
    case CONVRNN_ERR_NOMEM: return "out of memory";
    case CONVRNN_ERR_SHAPE: return "bad shape";
    case CONVRNN_ERR_ARG: return "invalid argument";
    case CONVRNN_ERR_OVERFLOW: return "size overflow";
    case CONVRNN_ERR_IO: return "i/o error";
    case CONVRNN_ERR_FORMAT: return "malformed data";
    case CONVRNN_ERR_UNSUPPORTED: return "unsupported";
    case CONVRNN_ERR_NOT_FINITE: return "not finite";
    case CONVRNN_ERR_NUMERIC: return "numerical failure";
    default: return "unknown status";
    }
}

CONVRNNDEF convrnn_status convrnn_error_set(convrnn_error *e, convrnn_status s, const char *fmt, ...) {
    if (e) {
        va_list ap;
        e->status = s;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

CONVRNNDEF void convrnn_error_clear(convrnn_error *e) {
    if (e) { e->status = CONVRNN_OK; e->msg[0] = 0; }
}

CONVRNNDEF const char *convrnn_build_info(void) {
#define CONVRNN__STR2(x) #x
#define CONVRNN__STR(x) CONVRNN__STR2(x)
    return "convrnn " CONVRNN__STR(CONVRNN_VERSION_MAJOR) "." CONVRNN__STR(CONVRNN_VERSION_MINOR) "."
        CONVRNN__STR(CONVRNN_VERSION_PATCH)
#ifdef CONVRNN__AVX2
        " AVX2=1 FMA=1"
#else
        " AVX2=0"
#endif
#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE) && defined(__AVX512F__) && !defined(CONVRNN_NO_AVX512)
        " AVX512=1"   /* the kernels' path: convrnn_simd_path() */
#else
        " AVX512=0"
#endif
#ifdef CONVRNN__NEON
        " NEON=1"
#else
        " NEON=0"
#endif
#ifdef _OPENMP
        " OPENMP=1"
#else
        " OPENMP=0"
#endif
#ifdef CONVRNN_CUDA
        " CUDA=1"
#else
        " CUDA=0"
#endif
#ifdef CONVRNN_NO_WINO4
        " WINO4=0"
#endif
#ifdef CONVRNN_NO_WINO_PHASE
        " WINO_PHASE=0"
#endif
#ifdef CONVRNN_NO_WINO2
        " WINO2=0"
#endif
#ifdef CONVRNN_USE_DOUBLE
        " REAL=double";
#else
        " REAL=float";
#endif
}

CONVRNNDEF int convrnn_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}
CONVRNNDEF int convrnn_size_add(size_t a, size_t b, size_t *out) {
    if (b > (size_t)-1 - a) return 0;
    *out = a + b;
    return 1;
}

CONVRNNDEF void *convrnn_malloc(void *ctx, size_t n) { return CONVRNN_MALLOC(ctx, n ? n : 1); }
CONVRNNDEF void *convrnn_calloc(void *ctx, size_t count, size_t size) {
    size_t n;
    void *p;
    if (!convrnn_size_mul(count, size, &n)) return NULL;
#ifdef CONVRNN__LIBC_CALLOC
    (void)ctx;
    p = n ? calloc(count, size) : calloc(1, 1);
#else
    p = CONVRNN_MALLOC(ctx, n ? n : 1);
    if (p) memset(p, 0, n);
#endif
    return p;
}
CONVRNNDEF void convrnn_free(void *ctx, void *p) { if (p) CONVRNN_FREE(ctx, p); }

static uint64_t convrnn__splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
CONVRNNDEF void convrnn_rng_seed(convrnn_rng *r, uint64_t seed) {
    int i;
    for (i = 0; i < 4; i++) r->s[i] = convrnn__splitmix(&seed);
}
static uint64_t convrnn__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
CONVRNNDEF uint64_t convrnn_rng_u64(convrnn_rng *r) {
    uint64_t *s = r->s, res = convrnn__rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = convrnn__rotl(s[3], 45);
    return res;
}
CONVRNNDEF double convrnn_rng_uniform(convrnn_rng *r) {
    return (double)(convrnn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}
CONVRNNDEF uint32_t convrnn_rng_below(convrnn_rng *r, uint32_t n) {
    uint64_t lim, x;
    if (n <= 1) return 0;
    lim = (UINT64_MAX / n) * n;
    do { x = convrnn_rng_u64(r); } while (x >= lim);
    return (uint32_t)(x % n);
}
CONVRNNDEF double convrnn_rng_normal(convrnn_rng *r) {
    double u1 = 1.0 - convrnn_rng_uniform(r), u2 = convrnn_rng_uniform(r); /* u1 in (0,1] */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
CONVRNNDEF double convrnn_rng_truncnormal(convrnn_rng *r) {
    double z;
    do { z = convrnn_rng_normal(r); } while (z < -2.0 || z > 2.0);
    return z;
}

/* ======================================================================================= [IMPL-SIMD]
   Vector layer and SIMD kernels. Chosen at compile time, never at run time:
     AVX-512   iff __AVX512F__                 (16 lanes; CONVRNN_NO_AVX512 skips it)
     AVX2      iff __AVX2__ && __FMA__         (8 lanes)
     NEON      iff __aarch64__ with NEON       (4 lanes)
   none under CONVRNN_NO_SIMD or CONVRNN_USE_DOUBLE. The scalar reference kernels in [IMPL-OPS]
   are always compiled; a tape with backend CONVRNN_BACKEND_SCALAR uses them, every other tape uses
   the kernels below when one of the paths is compiled. A kernel that cannot get its scratch memory
   returns 0 and the caller falls back to the scalar kernel, so no op fails for lack of scratch.

   Convolution (forward, backward-data, backward-filter, and dense as a 1x1 convolution) is a GEMM
   on NHWC data with a register-blocked micro-kernel of MR rows x NV vectors:
     forward      C[pixel][co] = bias + sum over (tap, ci) of x[pixel through tap][ci] w[tap][ci][co]
     bwd-data     the same with dy as the source, taps reversed through the gather rule, and
                  B = w transposed per tap; dx += result.
     bwd-filter   dw[(tap,ci)][co] += sum over pixels of x[pixel through tap][ci] dy[pixel][co].
   bwd-data with stride s > 1 (other than the polyphase layers below) runs as a GEMM,
   Z[pixel][(tap, ci)] = dy[pixel] . w[tap][ci], whose rows are then added to dx run by run (a tap
   row's (kx, ci) are consecutive in dx), while the packed weights fit in 2 MB; above that as s*s stride-1 ones, one per phase of the input grid
   (its rows iy with (iy + pt) % s == a see only the kernel rows a + s j; columns alike), each
   into a zeroed block added to its places in dx; the indirect kernel below is the fallback.
   Forward and bwd-data take the first kernel that applies:
     Winograd F(4x4,3x3)  3x3 stride 1, 32+ channels on both sides, every map size (4x fewer
                          products; the weights transformed by each task for its column panel,
                          block by block of 128 source channels, into its own scratch; measured
                          against F(2x2,3x3) on 196+ pixels, Intel Xeon: 0.52-0.85x the time);
     polyphase Winograd   7x7 or 8x8 stride 2 from at most 4 channels to 16+ (an image's first
                          layer): the four phases of the input grid as 4 ci channels of a 4x4
                          stride-1 kernel, run as F(3x3,4x4) (3.1x fewer products for 7x7; see
                          convrnn__sconv_pw; forward, input gradient (its adjoint: dy as the
                          source, convrnn__sconv_pw_dx) and weight gradient; BaseNet's conv1
                          forward 27 -> 20 ms, its weight gradient with db 30 -> 20 ms, Intel
                          Xeon, one thread; its input gradient 25 -> 22 ms, AMD EPYC; the rows
                          ahead prefetched: 24-29 -> 16-18 ms for the weight gradient and 24 -> 18
                          ms for the forward there);
     Winograd F(3x3,2x2)  2x2 stride 1 with 64+ channels on both sides and at most 4 MB of
                          transformed tiles (a readout; BaseNet's imnetds: one 3x3 tile per
                          sample), forward and input gradient (weight gradient: below): 2.25x
                          fewer products; every tile
                          transformed first, then a task per destination panel transforms the
                          panel's weights block by block of 64 source channels (the rows of w ahead
                          prefetched: each is on another page) and runs the 16 GEMMs (see
                          convrnn__sconv_w32; imnetds forward 4.2 -> 2.8 ms, input gradient 4.1 ->
                          3.0 ms, Intel Xeon, one thread);
     Winograd F(2x2,3x3)  the same layers on maps of 196+ pixels when F(4x4,3x3) is off
                          (CONVRNN_NO_WINO4; the tiles' 4x4 patches read in place, zeros off the
                          map);
     channel dots         at most VL/2 destination channels from whole vectors of source
                          channels, stride 1 (AVX2: one destination channel only; NEON: never): a
                          zero-padded NHWC copy of each sample, and per group of VL / ND
                          destination pixels VL accumulators of channel products, summed across
                          their lanes at the end into one vector of results (AVX-512, against the
                          planar kernel below: 14x14 8->16 input gradient 0.27 against 0.35 ms,
                          28x28 1->16 0.37 against 1.2 ms, forwards of 4-8 outputs from 16-64
                          channels 1.05-2x faster; AVX2: 1->16 and 1->32 input gradients 2x);
     pixels in lanes      at most VL/2 destination channels, stride 1: a planar padded copy, and
                          vectors of pixels (channel vectors would be half empty);
     classes              16+ source channels: no copy; destination positions with the same valid
                          taps form a class, tiles are taken within a class across samples, and
                          the taps that fall outside the source are skipped (on 4x4 maps with a
                          3x3 kernel they are 30% of the products);
     padded               a zero-padded copy, every (pixel, tap) at a fixed offset;
     indirect             (bwd-data with stride > 1, when a phase's padding does not fit the
                          stride-1 kernels) per (pixel, tap) a pointer into the source or to a
                          zero row; B = w packed into column panels.
   Their tiles are MRI destination pixels x the vectors of one column panel (AVX-512: 12 x 2; AVX2
   6 x 2; NEON 6 x 4). On AVX-512 the classes, padded and stride-s GEMM kernels pack wide panels of
   4 vectors (64 columns) when a panel fits 512 KB, or half the L2 cache where glibc reports its
   size, up to 1 MB (convrnn__dir_nr; deeper ones keep 2: with a 1 MB L2 the readout's input
   gradient, 4000 rows, whose 1 MB panels were 16% slower there and are 4% faster with a 2 MB L2)
   and run each 12-pixel tile as two 6 x 4 tiles (a
   tile of 7-8 pixels as two 4 x 4): 6 broadcasts and 4 loads per 24 FMAs instead of 12 and 2.
   Measured (medians, BaseNet shapes): conv1's forward 3% faster, its stride-2 input gradient 8% on
   one thread and 11% on two, the readout's forward 2%; alone on a core whose other hardware thread
   was busy, the 6 x 4 tile kept 224 GFLOP/s where 12 x 2 fell to 161. Every output is still summed
   in the same order: the same bits as the narrow panels, whatever the L2. (Measured and dropped
   with a 1 MB L2: the readout's input gradient packed and run kernel row by kernel row, 13%
   slower.)
   (Measured and dropped for the forward, on BaseNet's conv1 and readout, one and two threads:
   non-temporal stores of a large output, conv1's 51 MB, 6-10% slower; the next tile's destination
   rows prefetched for writing, no change; the readout's next group of weights prefetched while a
   group runs, a burst per tile or one line every 2-8 steps of the kernel's inner loop, 6-18%
   slower; the readout's full panels read in place from w (rows 4000 bytes apart) instead of
   packed, 13-19% slower.)
   Rounding: Winograd F(4x4,3x3)'s transforms multiply by constants up to 8 (A) and 5 (B), so its
   results are further from the exact sums than the other kernels': on BaseNet's conv5 (7x7,
   256 -> 512) 0.9-1.5e-5 x the largest value against a double-precision reference (output, input
   gradient), where the direct float sums are 0.5-2e-6 (tests/test_simd.c checks 3e-5). Build with
   CONVRNN_NO_WINO4 to run those layers on the direct kernels instead (slower, forward + backward:
   BaseNet's conv5 1.6x on one thread and 1.45x on two, the laptop models' 4x4 and 7x7 layers with
   32+ channels 1.4-1.8x and 1.15-1.55x). With F(4x4,3x3) on every map size the 3x3 layers of
   196+ pixels with 32+ channels (BaseNet's conv2-conv4) have that rounding in their outputs and
   input gradients; their weight gradients stay on F(2x2,3x3). The polyphase F(3x3,4x4) of
   stride-2 first layers (constants up to 4 in its A, 8 in the weight gradient's, 5 in B): on
   BaseNet's conv1 at 64x64 1.9e-6 (output), 6.7e-6 (input gradient) and 2.5e-6 (weight
   gradient) x the largest value, where the direct kernels are 5.6e-7, 2.1e-7 and 3.9e-7
   (tests/test_simd.c checks 3e-5); build with
   CONVRNN_NO_WINO_PHASE for the direct kernels. Non-finite values: every Winograd kernel mixes
   the values of a tile's patch, so a NaN or an infinity in a patch can make any output of its
   tile NaN (and any weight's gradient), where the direct kernels give NaN (or an infinity) only
   in the outputs whose window holds it (the trainer refuses non-finite data and losses either
   way).
   bwd-filter: the polyphase Winograd above (its layers; db summed from the same reads of dy);
   Winograd F(2x2,3x3)'s weight-gradient form for the F(3x3,2x2) layers (convrnn__sconv_bwf_w32:
   imnetds 3.9 -> 3.1 ms on one thread, 2.0 -> 1.8 ms on two);
   Winograd (F(4x4,3x3) on the maps under 196 pixels; F(2x2,3x3) on larger ones and,
   when F(4x4,3x3) is off, on small maps with many channels; x and dy read in place), or offsets
   into a zero-padded copy of x with dy read in place: tiles of MRP rows (tap, ci) x NVP vectors
   of co (AVX-512 with 4+ vectors of co: MRW x NVW, 6 x 4, for fewer broadcasts per product; one
   vector of co: 2 MRP rows, or MRP when only that keeps a tile within one tap), pixel chunks of
   KC, 2 KC when co fits in one vector
   (the last takes the rest, up to twice that, so a small map is one chunk and dw is read and
   written once); on AVX-512 with pixel ranges and 8-32 outputs in rows of 8, a transposed form
   (8 output channels broadcast from dy x up to 3 vectors of filter rows); the chunk's dy panel
   kept in L1 across the row tiles (copied into an aligned block when co spans several panels),
   the next chunk's rows of dy prefetched while a tile runs, and the next tile's rows of dw too
   unless the tile accumulates into a pixel range's partial sum (small, in cache). (A
   packed-GEMM weight gradient for many input channels measured slower on every shape tried: 1x1,
   3x3 stride 2, 5x5, and the 512 -> 1000 readout, AVX2 and AVX-512; so did padding conv1's rows
   chunk by chunk inside its range's task instead of the range's samples before it, 1% slower.)
   Threads: one parallel region per call. When the packed weights pass 1 MB and 4x the source (a
   readout; BaseNet conv5), the threads claim groups of two narrow column panels (or one wide one)
   in turn and pack each into a slot of their own just before running it over every destination row
   (packing all first sent 8 MB of copy through memory next to the weights). Otherwise, when the
   batch splits evenly over the threads, they claim chunks of whole samples in turn
   (convrnn__nchunks: 4 per thread) and pad and compute each chunk themselves (measured on this
   project's machine: reading a copy another core has just written costs more than the work of a
   small layer), making each row of the padded copy just before the first block that reads it.
   Claiming in turn rather than taking one fixed share each stays within 3% on an idle machine and
   lets a core slowed by other work take fewer chunks (measured with a busy loop sharing one of two
   cores: BaseNet's conv1 forward 22.4 -> 15.9-17.0 ms on two threads). The Winograd F(2x2,3x3)
   weight gradient splits its 16 transform positions: each thread transforms every tile for its own
   positions only, so the transformed tiles it multiplies never come from another core. Winograd
   F(4x4,3x3) forward and bwd-data: tasks own blocks of tiles, transformed into the thread's own
   scratch and run through every column panel (each block transforms the weights again: on two
   threads that beat a shared transform of every tile with a task per panel, which transforms
   each weight once, by 1.26x on BaseNet's conv5). Its weight gradient: the threads transform
   every tile into a shared block, then a task owns a column panel and a block of input channels,
   summed over all tiles (on two threads the backward pair runs it on one thread).
   Determinism: each output element is computed by exactly one task, which sums its reduction
   dimension in a fixed order (taps then channels; pixel chunks in ascending order) whatever the
   split of the elements; a reduction cut into ranges for parallelism (the weight gradient's pixel
   ranges) has a number of ranges fixed by the shape alone, folded in order. 1 and N threads agree
   bitwise. SIMD and scalar agree to rounding (FMA, different summation order; tests/test_simd.c
   states tolerances). */

/* geometry shared by conv, depthwise conv and pooling (rows of NHWC tensors) */
typedef struct convrnn__geom {
    int n, h, w, ci, kh, kw, co, s, pt, pl, oh, ow;
} convrnn__geom;
/* one bilinear-resize tap: source indices and weight of the second (see convrnn__lerp_table) */
typedef struct convrnn__lerp { int i0, i1; convrnn_real w; } convrnn__lerp;

#if !defined(CONVRNN_NO_SIMD) && !defined(CONVRNN_USE_DOUBLE)
#if defined(__AVX512F__) && !defined(CONVRNN_NO_AVX512)
#define CONVRNN__AVX512 1
#define CONVRNN__SIMD 1
#include <immintrin.h>
#elif defined(CONVRNN__AVX2)
#define CONVRNN__SIMD 1
#elif defined(CONVRNN__NEON) && defined(__aarch64__)
#define CONVRNN__NEONV 1
#define CONVRNN__SIMD 1
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CONVRNN__FINL static inline __attribute__((always_inline))
#define CONVRNN__UNROLL _Pragma("GCC unroll 32")
#define CONVRNN__RESTRICT __restrict
#elif defined(_MSC_VER)
#define CONVRNN__FINL static __forceinline
#define CONVRNN__UNROLL
#define CONVRNN__RESTRICT __restrict
#else
#define CONVRNN__FINL static inline
#define CONVRNN__UNROLL
#define CONVRNN__RESTRICT
#endif

#ifdef _OPENMP
#define CONVRNN__PRAGMA_(x) _Pragma(#x)
#define CONVRNN__OMP_DYN(cond) CONVRNN__PRAGMA_(omp parallel for schedule(dynamic, 1) if (cond))
#define CONVRNN__OMP_STATIC(cond) CONVRNN__PRAGMA_(omp parallel for schedule(static) if (cond))
/* one parallel region with work-sharing loops inside it (one fork and join per call) */
#define CONVRNN__OMP_REGION(cond) CONVRNN__PRAGMA_(omp parallel if (cond))
#define CONVRNN__OMP_FOR_STATIC CONVRNN__PRAGMA_(omp for schedule(static))
#define CONVRNN__OMP_FOR_DYN CONVRNN__PRAGMA_(omp for schedule(dynamic, 1))
#define CONVRNN__OMP_BARRIER CONVRNN__PRAGMA_(omp barrier)
#else
#define CONVRNN__OMP_DYN(cond)
#define CONVRNN__OMP_STATIC(cond)
#define CONVRNN__OMP_REGION(cond)
#define CONVRNN__OMP_FOR_STATIC
#define CONVRNN__OMP_FOR_DYN
#define CONVRNN__OMP_BARRIER
#endif

#ifdef _OPENMP
/* threads for a kernel's region: 1 inside an active region (a nested one would run on one) */
static int convrnn__nthreads(void) { return omp_in_parallel() ? 1 : omp_get_max_threads(); }
#else
static int convrnn__nthreads(void) { return 1; }
#endif

/* The SIMD path compiled into this build: "avx512", "avx2", "neon" or "scalar". */
CONVRNNDEF const char *convrnn_simd_path(void) {
#if defined(CONVRNN__AVX512)
    return "avx512";
#elif defined(CONVRNN__SIMD) && !defined(CONVRNN__NEONV)
    return "avx2";
#elif defined(CONVRNN__NEONV)
    return "neon";
#else
    return "scalar";
#endif
}

#ifdef CONVRNN__SIMD
#if defined(__GNUC__) && !defined(__clang__) && defined(CONVRNN__AVX512)
/* GCC 12 reports "__Y may be used uninitialized" inside its own AVX-512 headers (PR 105593) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define CONVRNN__POP_DIAG 1
#endif
#ifdef _OPENMP
static int convrnn__tid(void) { return omp_get_thread_num(); }
static int convrnn__team(void) { return omp_get_num_threads(); }   /* threads of the current region */
#else
static int convrnn__tid(void) { return 0; }
static int convrnn__team(void) { return 1; }
#endif
/* Whether the threads of a kernel's region each take their own contiguous samples: when the n
   samples split evenly over nthr threads, or nearly (4+ per thread). */
static int convrnn__by_sample(int n, int nthr) { return nthr > 1 && (n % nthr == 0 || n >= 4 * nthr); }
/* Part q of nq of [0, n): [*a, *b), contiguous, sizes differing by at most one. */
static void convrnn__share(int n, int q, int nq, int *a, int *b) {
    *a = (int)((long long)n * q / nq);
    *b = (int)((long long)n * (q + 1) / nq);
}
/* Kernels whose threads each take whole samples (or weight panels) cut them into
   convrnn__nchunks(n, team) contiguous chunks (convrnn__share) that the threads claim in turn
   (schedule(dynamic, 1)) rather than one fixed share each: a thread slowed by other work on its
   core (a shared machine, a laptop's background jobs) then takes fewer chunks instead of the others
   waiting for its share (measured on 2 threads with a busy loop on one core: BaseNet's conv1
   forward 22.4 -> 15.9-17.0 ms). Every output is still computed by one task in a fixed order:
   the same bits whichever thread claims what. */
#define CONVRNN__CHUNKS_PER_THREAD 4
static int convrnn__nchunks(int n, int team) {
    return n < CONVRNN__CHUNKS_PER_THREAD * team ? n : CONVRNN__CHUNKS_PER_THREAD * team;
}
/* ---------------------------------------------------------------------------------- vector layer
   convrnn__vf: a vector of CONVRNN__VL floats; convrnn__vm: a lane mask.
   vld/vst (unaligned), vldn/vstn (first n lanes, 1 <= n <= VL; other lanes read as 0 / untouched),
   vset1, vzero, vadd, vsub, vmul, vdiv, vmax, vmin, vfma(a,b,c) = a*b + c, vgt(a,b) = a > b
   (ordered), veq(a,b) = a == b, vnan(a) = a is NaN, vsel(m,a,b) = m ? a : b, vmor/vmand/vmandn (m1 & ~m2), vround
   (nearest), vpow2i(n) = 2^n for integral n in [-126,127], vabs, vsignof(a) (sign bit), vxor. */
#if defined(CONVRNN__AVX512)
#define CONVRNN__VL 16
typedef __m512 convrnn__vf;
typedef __mmask16 convrnn__vm;
CONVRNN__FINL convrnn__vf convrnn__vld(const float *p) { return _mm512_loadu_ps(p); }
CONVRNN__FINL void convrnn__vst(float *p, convrnn__vf v) { _mm512_storeu_ps(p, v); }
/* Whole vectors use plain loads and stores, half vectors (n = 8, e.g. 8 channels) plain 256-bit
   ones: a masked 512-bit load that overlaps a recent masked store stalls for the store to retire on
   some cores (measured: 8-channel max pooling ran 5x slower than the AVX2 build). */
CONVRNN__FINL convrnn__vf convrnn__vldn(const float *p, int n) {
    if (n == 16) return _mm512_loadu_ps(p);
    if (n == 8) return _mm512_zextps256_ps512(_mm256_loadu_ps(p));
    return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
}
/* lanes [0, VL/2) from lo, [VL/2, VL) from hi */
CONVRNN__FINL convrnn__vf convrnn__vld2h(const float *lo, const float *hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(lo))),
                                               _mm256_castps_pd(_mm256_loadu_ps(hi)), 1));   /* AVX-512F only */
}
CONVRNN__FINL void convrnn__vstn(float *p, convrnn__vf v, int n) {
    if (n == 16) { _mm512_storeu_ps(p, v); return; }
    if (n == 8) { _mm256_storeu_ps(p, _mm512_castps512_ps256(v)); return; }
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
}
CONVRNN__FINL convrnn__vf convrnn__vset1(float a) { return _mm512_set1_ps(a); }
CONVRNN__FINL convrnn__vf convrnn__vzero(void) { return _mm512_setzero_ps(); }
CONVRNN__FINL convrnn__vf convrnn__vadd(convrnn__vf a, convrnn__vf b) { return _mm512_add_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsub(convrnn__vf a, convrnn__vf b) { return _mm512_sub_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmul(convrnn__vf a, convrnn__vf b) { return _mm512_mul_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vdiv(convrnn__vf a, convrnn__vf b) { return _mm512_div_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmax(convrnn__vf a, convrnn__vf b) { return _mm512_max_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmin(convrnn__vf a, convrnn__vf b) { return _mm512_min_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vfma(convrnn__vf a, convrnn__vf b, convrnn__vf c) { return _mm512_fmadd_ps(a, b, c); }
CONVRNN__FINL convrnn__vm convrnn__vgt(convrnn__vf a, convrnn__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
CONVRNN__FINL convrnn__vm convrnn__vnan(convrnn__vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
CONVRNN__FINL convrnn__vm convrnn__veq(convrnn__vf a, convrnn__vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
CONVRNN__FINL convrnn__vf convrnn__vsel(convrnn__vm m, convrnn__vf a, convrnn__vf b) { return _mm512_mask_blend_ps(m, b, a); }
CONVRNN__FINL convrnn__vm convrnn__vmor(convrnn__vm a, convrnn__vm b) { return (convrnn__vm)(a | b); }
CONVRNN__FINL convrnn__vm convrnn__vmandn(convrnn__vm a, convrnn__vm b) { return (convrnn__vm)(a & ~b); }
CONVRNN__FINL convrnn__vm convrnn__vmand(convrnn__vm a, convrnn__vm b) { return (convrnn__vm)(a & b); }
CONVRNN__FINL convrnn__vf convrnn__vround(convrnn__vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
CONVRNN__FINL convrnn__vf convrnn__vpow2i(convrnn__vf n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}
CONVRNN__FINL convrnn__vf convrnn__vsignof(convrnn__vf a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u)));
}
CONVRNN__FINL convrnn__vf convrnn__vxor(convrnn__vf a, convrnn__vf b) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
CONVRNN__FINL convrnn__vf convrnn__vabs(convrnn__vf a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
/* r[0..16) as the rows of a 16x16 block, transposed in place: pairs interleaved, then quads within
   128-bit lanes (u[m] lane L: column 4L+m of four rows), then lanes gathered in two steps */
CONVRNN__FINL void convrnn__vtrans(convrnn__vf *r) {
    __m512 t[16], u[16];
    int m;
    for (m = 0; m < 8; m++) { t[2 * m] = _mm512_unpacklo_ps(r[2 * m], r[2 * m + 1]); t[2 * m + 1] = _mm512_unpackhi_ps(r[2 * m], r[2 * m + 1]); }
    for (m = 0; m < 4; m++) {
        u[4 * m] = _mm512_shuffle_ps(t[4 * m], t[4 * m + 2], 0x44); u[4 * m + 1] = _mm512_shuffle_ps(t[4 * m], t[4 * m + 2], 0xEE);
        u[4 * m + 2] = _mm512_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0x44); u[4 * m + 3] = _mm512_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0xEE);
    }
    for (m = 0; m < 4; m++) {
        const __m512 va = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88), wa = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
        const __m512 vb = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD), wb = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);
        r[m] = _mm512_shuffle_f32x4(va, wa, 0x88); r[8 + m] = _mm512_shuffle_f32x4(va, wa, 0xDD);
        r[4 + m] = _mm512_shuffle_f32x4(vb, wb, 0x88); r[12 + m] = _mm512_shuffle_f32x4(vb, wb, 0xDD);
    }
}
/* lane j of the result = the sum of the lanes of r[j] (j < 16), by a fixed tree: pairs interleaved
   and added, then quads within 128-bit lanes, then the 128-bit lanes in two steps (30 shuffles,
   15 adds) */
CONVRNN__FINL convrnn__vf convrnn__vhsums(const convrnn__vf *r) {
    __m512 t[8], u[4], w0, w1;
    int m;
    for (m = 0; m < 8; m++) t[m] = _mm512_add_ps(_mm512_unpacklo_ps(r[2 * m], r[2 * m + 1]), _mm512_unpackhi_ps(r[2 * m], r[2 * m + 1]));
    for (m = 0; m < 4; m++) u[m] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * m], t[2 * m + 1], 0x44), _mm512_shuffle_ps(t[2 * m], t[2 * m + 1], 0xEE));
    w0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x44), _mm512_shuffle_f32x4(u[0], u[1], 0xEE));
    w1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x44), _mm512_shuffle_f32x4(u[2], u[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xDD));
}
#elif defined(CONVRNN__NEONV)
#define CONVRNN__VL 4
typedef float32x4_t convrnn__vf;
typedef uint32x4_t convrnn__vm;
CONVRNN__FINL convrnn__vf convrnn__vld(const float *p) { return vld1q_f32(p); }
CONVRNN__FINL convrnn__vf convrnn__vld2h(const float *lo, const float *hi) { return vcombine_f32(vld1_f32(lo), vld1_f32(hi)); }
CONVRNN__FINL void convrnn__vst(float *p, convrnn__vf v) { vst1q_f32(p, v); }
CONVRNN__FINL convrnn__vf convrnn__vldn(const float *p, int n) {
    float b[4] = { 0, 0, 0, 0 };
    int i;
    for (i = 0; i < n; i++) b[i] = p[i];
    return vld1q_f32(b);
}
CONVRNN__FINL void convrnn__vstn(float *p, convrnn__vf v, int n) {
    float b[4];
    int i;
    vst1q_f32(b, v);
    for (i = 0; i < n; i++) p[i] = b[i];
}
CONVRNN__FINL convrnn__vf convrnn__vset1(float a) { return vdupq_n_f32(a); }
CONVRNN__FINL convrnn__vf convrnn__vzero(void) { return vdupq_n_f32(0.0f); }
CONVRNN__FINL convrnn__vf convrnn__vadd(convrnn__vf a, convrnn__vf b) { return vaddq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsub(convrnn__vf a, convrnn__vf b) { return vsubq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmul(convrnn__vf a, convrnn__vf b) { return vmulq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vdiv(convrnn__vf a, convrnn__vf b) { return vdivq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmax(convrnn__vf a, convrnn__vf b) { return vmaxq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmin(convrnn__vf a, convrnn__vf b) { return vminq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vfma(convrnn__vf a, convrnn__vf b, convrnn__vf c) { return vfmaq_f32(c, a, b); }
CONVRNN__FINL convrnn__vm convrnn__vgt(convrnn__vf a, convrnn__vf b) { return vcgtq_f32(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vnan(convrnn__vf a) { return vmvnq_u32(vceqq_f32(a, a)); }
CONVRNN__FINL convrnn__vm convrnn__veq(convrnn__vf a, convrnn__vf b) { return vceqq_f32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsel(convrnn__vm m, convrnn__vf a, convrnn__vf b) { return vbslq_f32(m, a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmor(convrnn__vm a, convrnn__vm b) { return vorrq_u32(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmandn(convrnn__vm a, convrnn__vm b) { return vbicq_u32(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmand(convrnn__vm a, convrnn__vm b) { return vandq_u32(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vround(convrnn__vf a) { return vrndnq_f32(a); }
CONVRNN__FINL convrnn__vf convrnn__vpow2i(convrnn__vf n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
}
CONVRNN__FINL convrnn__vf convrnn__vsignof(convrnn__vf a) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(0x80000000u)));
}
CONVRNN__FINL convrnn__vf convrnn__vxor(convrnn__vf a, convrnn__vf b) {
    return vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
}
CONVRNN__FINL convrnn__vf convrnn__vabs(convrnn__vf a) { return vabsq_f32(a); }
/* r[0..4) as the rows of a 4x4 block, transposed in place */
CONVRNN__FINL void convrnn__vtrans(convrnn__vf *r) {
    const float32x4x2_t p = vtrnq_f32(r[0], r[1]), q = vtrnq_f32(r[2], r[3]);   /* a0 b0 a2 b2 | a1 b1 a3 b3 */
    r[0] = vcombine_f32(vget_low_f32(p.val[0]), vget_low_f32(q.val[0]));
    r[1] = vcombine_f32(vget_low_f32(p.val[1]), vget_low_f32(q.val[1]));
    r[2] = vcombine_f32(vget_high_f32(p.val[0]), vget_high_f32(q.val[0]));
    r[3] = vcombine_f32(vget_high_f32(p.val[1]), vget_high_f32(q.val[1]));
}
/* lane j of the result = the sum of the lanes of r[j] (j < 4) */
CONVRNN__FINL convrnn__vf convrnn__vhsums(const convrnn__vf *r) { return vpaddq_f32(vpaddq_f32(r[0], r[1]), vpaddq_f32(r[2], r[3])); }
#else /* AVX2 + FMA */
#define CONVRNN__VL 8
typedef __m256 convrnn__vf;
typedef __m256 convrnn__vm;
CONVRNN__FINL __m256i convrnn__vnmask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
CONVRNN__FINL convrnn__vf convrnn__vld(const float *p) { return _mm256_loadu_ps(p); }
CONVRNN__FINL convrnn__vf convrnn__vld2h(const float *lo, const float *hi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
}
CONVRNN__FINL void convrnn__vst(float *p, convrnn__vf v) { _mm256_storeu_ps(p, v); }
CONVRNN__FINL convrnn__vf convrnn__vldn(const float *p, int n) { return _mm256_maskload_ps(p, convrnn__vnmask(n)); }
CONVRNN__FINL void convrnn__vstn(float *p, convrnn__vf v, int n) { _mm256_maskstore_ps(p, convrnn__vnmask(n), v); }
CONVRNN__FINL convrnn__vf convrnn__vset1(float a) { return _mm256_set1_ps(a); }
CONVRNN__FINL convrnn__vf convrnn__vzero(void) { return _mm256_setzero_ps(); }
CONVRNN__FINL convrnn__vf convrnn__vadd(convrnn__vf a, convrnn__vf b) { return _mm256_add_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vsub(convrnn__vf a, convrnn__vf b) { return _mm256_sub_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmul(convrnn__vf a, convrnn__vf b) { return _mm256_mul_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vdiv(convrnn__vf a, convrnn__vf b) { return _mm256_div_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmax(convrnn__vf a, convrnn__vf b) { return _mm256_max_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vmin(convrnn__vf a, convrnn__vf b) { return _mm256_min_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vfma(convrnn__vf a, convrnn__vf b, convrnn__vf c) { return _mm256_fmadd_ps(a, b, c); }
CONVRNN__FINL convrnn__vm convrnn__vgt(convrnn__vf a, convrnn__vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
CONVRNN__FINL convrnn__vm convrnn__vnan(convrnn__vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
CONVRNN__FINL convrnn__vm convrnn__veq(convrnn__vf a, convrnn__vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
CONVRNN__FINL convrnn__vf convrnn__vsel(convrnn__vm m, convrnn__vf a, convrnn__vf b) { return _mm256_blendv_ps(b, a, m); }
CONVRNN__FINL convrnn__vm convrnn__vmor(convrnn__vm a, convrnn__vm b) { return _mm256_or_ps(a, b); }
CONVRNN__FINL convrnn__vm convrnn__vmandn(convrnn__vm a, convrnn__vm b) { return _mm256_andnot_ps(b, a); }
CONVRNN__FINL convrnn__vm convrnn__vmand(convrnn__vm a, convrnn__vm b) { return _mm256_and_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vround(convrnn__vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
CONVRNN__FINL convrnn__vf convrnn__vpow2i(convrnn__vf n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}
CONVRNN__FINL convrnn__vf convrnn__vsignof(convrnn__vf a) { return _mm256_and_ps(a, _mm256_set1_ps(-0.0f)); }
CONVRNN__FINL convrnn__vf convrnn__vxor(convrnn__vf a, convrnn__vf b) { return _mm256_xor_ps(a, b); }
CONVRNN__FINL convrnn__vf convrnn__vabs(convrnn__vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
/* r[0..8) as the rows of an 8x8 block, transposed in place (u[m] lane L: column 4L+m of 4 rows) */
CONVRNN__FINL void convrnn__vtrans(convrnn__vf *r) {
    __m256 t[8], u[8];
    int m;
    for (m = 0; m < 4; m++) { t[2 * m] = _mm256_unpacklo_ps(r[2 * m], r[2 * m + 1]); t[2 * m + 1] = _mm256_unpackhi_ps(r[2 * m], r[2 * m + 1]); }
    for (m = 0; m < 2; m++) {
        u[4 * m] = _mm256_shuffle_ps(t[4 * m], t[4 * m + 2], 0x44); u[4 * m + 1] = _mm256_shuffle_ps(t[4 * m], t[4 * m + 2], 0xEE);
        u[4 * m + 2] = _mm256_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0x44); u[4 * m + 3] = _mm256_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0xEE);
    }
    for (m = 0; m < 4; m++) {
        r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
        r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
    }
}
/* lane j of the result = the sum of the lanes of r[j] (j < 8): pairs interleaved and added, quads
   within 128-bit lanes, then the two 128-bit lanes */
CONVRNN__FINL convrnn__vf convrnn__vhsums(const convrnn__vf *r) {
    __m256 t[4], u[2];
    int m;
    for (m = 0; m < 4; m++) t[m] = _mm256_add_ps(_mm256_unpacklo_ps(r[2 * m], r[2 * m + 1]), _mm256_unpackhi_ps(r[2 * m], r[2 * m + 1]));
    for (m = 0; m < 2; m++) u[m] = _mm256_add_ps(_mm256_shuffle_ps(t[2 * m], t[2 * m + 1], 0x44), _mm256_shuffle_ps(t[2 * m], t[2 * m + 1], 0xEE));
    return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20), _mm256_permute2f128_ps(u[0], u[1], 0x31));
}
#endif

/* ------------------------------------------------------------------------------- vector math
   exp: Cephes range reduction x = n ln2 + r, degree-6 polynomial, 2^n by exponent bits (about
   2 ulp). Arguments are clamped to [-87.3, 88.37] (results below 1.2e-38 flush to that value);
   NaN propagates. sigmoid = 1/(1+exp(-x)). tanh: odd degree-11 minimax polynomial for |x| < 0.625,
   else sign(x)(1 - 2/(exp(2|x|)+1)) (relative error below 3e-7). expm1 (ELU, x <= 0): Taylor
   polynomial for |x| < 0.35, else exp(x) - 1. */
CONVRNN__FINL convrnn__vf convrnn__vexp(convrnn__vf x0) {
    convrnn__vf x = convrnn__vmin(convrnn__vmax(x0, convrnn__vset1(-87.3f)), convrnn__vset1(88.37f));
    convrnn__vf n = convrnn__vround(convrnn__vmul(x, convrnn__vset1(1.44269504088896341f)));
    convrnn__vf r = convrnn__vfma(n, convrnn__vset1(-0.693359375f), x), p;
    r = convrnn__vfma(n, convrnn__vset1(2.12194440e-4f), r);
    p = convrnn__vset1(1.9875691500e-4f);
    p = convrnn__vfma(p, r, convrnn__vset1(1.3981999507e-3f));
    p = convrnn__vfma(p, r, convrnn__vset1(8.3334519073e-3f));
    p = convrnn__vfma(p, r, convrnn__vset1(4.1665795894e-2f));
    p = convrnn__vfma(p, r, convrnn__vset1(1.6666665459e-1f));
    p = convrnn__vfma(p, r, convrnn__vset1(5.0000001201e-1f));
    p = convrnn__vfma(p, convrnn__vmul(r, r), convrnn__vadd(r, convrnn__vset1(1.0f)));
    p = convrnn__vmul(p, convrnn__vpow2i(n));
    return convrnn__vsel(convrnn__vnan(x0), x0, p);
}
CONVRNN__FINL convrnn__vf convrnn__vsigmoid(convrnn__vf x) {
    convrnn__vf one = convrnn__vset1(1.0f);
    convrnn__vf y = convrnn__vdiv(one, convrnn__vadd(one, convrnn__vexp(convrnn__vsub(convrnn__vzero(), x))));
    return convrnn__vsel(convrnn__vnan(x), x, y);
}
CONVRNN__FINL convrnn__vf convrnn__vtanh(convrnn__vf x) {
    convrnn__vf a = convrnn__vabs(x), t = convrnn__vmul(x, x), p, big, one = convrnn__vset1(1.0f);
    p = convrnn__vset1(-5.691975821e-03f);
    p = convrnn__vfma(p, t, convrnn__vset1(2.062628232e-02f));
    p = convrnn__vfma(p, t, convrnn__vset1(-5.373531580e-02f));
    p = convrnn__vfma(p, t, convrnn__vset1(1.333138198e-01f));
    p = convrnn__vfma(p, t, convrnn__vset1(-3.333328068e-01f));
    p = convrnn__vfma(convrnn__vmul(p, t), x, x);
    big = convrnn__vsub(one, convrnn__vdiv(convrnn__vset1(2.0f),
                                           convrnn__vadd(convrnn__vexp(convrnn__vadd(a, a)), one)));
    big = convrnn__vxor(big, convrnn__vsignof(x));
    return convrnn__vsel(convrnn__vgt(a, convrnn__vset1(0.625f)), big, convrnn__vsel(convrnn__vnan(x), x, p));
}
/* ELU: x > 0 ? x : expm1(x) */
CONVRNN__FINL convrnn__vf convrnn__velu(convrnn__vf x) {
    convrnn__vf p = convrnn__vset1(1.0f / 5040.0f), e;
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 720.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 120.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 24.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(1.0f / 6.0f));
    p = convrnn__vfma(p, x, convrnn__vset1(0.5f));
    p = convrnn__vfma(convrnn__vmul(p, x), x, x);
    e = convrnn__vsub(convrnn__vexp(x), convrnn__vset1(1.0f));
    e = convrnn__vsel(convrnn__vgt(convrnn__vset1(-0.35f), x), e, p);
    return convrnn__vsel(convrnn__vgt(x, convrnn__vzero()), x, e);
}

/* ------------------------------------------------------------------------ GEMM micro-kernels
   MR x NV register block (NV vectors of VL columns). Constants per ISA: MRI/NVI for the
   forward and bwd-data kernels, MRP/NVP (and MRW/NVW for wide outputs) for bwd-filter. */
#if defined(CONVRNN__AVX512)
#define CONVRNN__MRI 12
#define CONVRNN__NVI 2
#define CONVRNN__MRP 8
#define CONVRNN__NVP 2
#elif defined(CONVRNN__NEONV)
#define CONVRNN__MRI 6
#define CONVRNN__NVI 4
#define CONVRNN__MRP 6
#define CONVRNN__NVP 4
#else
#define CONVRNN__MRI 6
#define CONVRNN__NVI 2
#define CONVRNN__MRP 6
#define CONVRNN__NVP 2
#endif
#if defined(CONVRNN__AVX512)
#define CONVRNN__MRW 6   /* weight gradient with 4+ vectors of outputs: a wider tile (fewer broadcasts) */
#define CONVRNN__NVW 4
#else
#define CONVRNN__MRW CONVRNN__MRP
#define CONVRNN__NVW CONVRNN__NVP
#endif
#if defined(CONVRNN__AVX512)
#define CONVRNN__NVD 4   /* direct kernels' wide panels: 4 vectors of outputs, as two 6 x 4 tiles of the 12 rows */
#else
#define CONVRNN__NVD CONVRNN__NVI
#endif
#define CONVRNN__MRMAX 16
#define CONVRNN__NVMAX 4

/* Load the accumulators from C rows (add) or from the bias (or zero). ncol: valid columns. */
CONVRNN__FINL void convrnn__acc_init(const int MR, const int NV, convrnn__vf acc[][CONVRNN__NVMAX],
                                     float *const *crow, int ncol, int add, const float *bias) {
    int i, v;
    CONVRNN__UNROLL for (i = 0; i < MR; i++) CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vzero();
    if (add) {
        CONVRNN__UNROLL for (i = 0; i < MR; i++) {
            if (!crow[i]) continue;
            CONVRNN__UNROLL for (v = 0; v < NV; v++) {
                const int nn = ncol - v * CONVRNN__VL;
                acc[i][v] = nn >= CONVRNN__VL ? convrnn__vld(crow[i] + v * CONVRNN__VL) : convrnn__vldn(crow[i] + v * CONVRNN__VL, nn);
            }
        }
    } else if (bias) {
        CONVRNN__UNROLL for (v = 0; v < NV; v++) {
            const int nn = ncol - v * CONVRNN__VL;
            const convrnn__vf b = nn >= CONVRNN__VL ? convrnn__vld(bias + v * CONVRNN__VL) : convrnn__vldn(bias + v * CONVRNN__VL, nn);
            CONVRNN__UNROLL for (i = 0; i < MR; i++) acc[i][v] = b;
        }
    }
}
CONVRNN__FINL void convrnn__acc_store(const int MR, const int NV, convrnn__vf acc[][CONVRNN__NVMAX],
                                      float *const *crow, int ncol) {
    int i, v;
    CONVRNN__UNROLL for (i = 0; i < MR; i++) {
        if (!crow[i]) continue;
        CONVRNN__UNROLL for (v = 0; v < NV; v++) {
            const int nn = ncol - v * CONVRNN__VL;
            if (nn >= CONVRNN__VL) convrnn__vst(crow[i] + v * CONVRNN__VL, acc[i][v]);
            else convrnn__vstn(crow[i] + v * CONVRNN__VL, acc[i][v], nn);
        }
    }
}

/* Indirect kernel: for each of ntap taps, a[tap*MR + i] points at kc source values of row i and
   b[tap] at the packed panel rows [kc][NV*VL]. C rows crow[i] (NULL: row not stored). */
CONVRNN__FINL void convrnn__ukr_ind_g(const int MR, const int NV, int ntap, const float *const *a,
                                      const float *const *b, int kc, float *const *crow, int ncol, int add,
                                      const float *bias) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    int tp, k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, add, bias);
    for (tp = 0; tp < ntap; tp++) {
        const float *ar[CONVRNN__MRMAX];
        const float *bp = b[tp];
        CONVRNN__UNROLL for (i = 0; i < MR; i++) ar[i] = a[tp * MR + i];
        for (k = 0; k < kc; k++) {
            convrnn__vf bv[CONVRNN__NVMAX];
            CONVRNN__UNROLL for (v = 0; v < NV; v++) bv[v] = convrnn__vld(bp + v * CONVRNN__VL);
            CONVRNN__UNROLL for (i = 0; i < MR; i++) {
                const convrnn__vf av = convrnn__vset1(ar[i][k]);
                CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
            }
            bp += NV * CONVRNN__VL;
        }
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}

/* Run kernel: row i of run r reads len[r] values at base[i] + off[r]; b[r] points at the run's
   packed panel rows [len[r]][NV*VL]. (A run is one tap, or the contiguous taps of a kernel row.) */
CONVRNN__FINL void convrnn__ukr_run_g(const int MR, const int NV, int nrun, const float *const *base,
                                      const ptrdiff_t *off, const int *len, const float *const *b,
                                      float *const *crow, int ncol, int add, const float *bias) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    int r, k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, add, bias);
    for (r = 0; r < nrun; r++) {
        const float *ar[CONVRNN__MRMAX];
        const float *bp = b[r];
        const int kc = len[r];
        CONVRNN__UNROLL for (i = 0; i < MR; i++) ar[i] = base[i] + off[r];
        for (k = 0; k < kc; k++) {
            convrnn__vf bv[CONVRNN__NVMAX];
            CONVRNN__UNROLL for (v = 0; v < NV; v++) bv[v] = convrnn__vld(bp + v * CONVRNN__VL);
            CONVRNN__UNROLL for (i = 0; i < MR; i++) {
                const convrnn__vf av = convrnn__vset1(ar[i][k]);
                CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
            }
            bp += NV * CONVRNN__VL;
        }
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}
/* rows: the rows the tile stores (fewer than MRI in a class's last tiles); full panels then take an
   MRI/2-row kernel, or with MRI = 12 an 8-row one (rows <= 8) */
static void convrnn__ukr_run(int nv, int rows, int nrun, const float *const *base, const ptrdiff_t *off, const int *len,
                             const float *const *b, float *const *crow, int ncol, int add, const float *bias) {
#if CONVRNN__NVD == 4 && CONVRNN__MRI == 12
    /* 3 or 4 vectors of outputs (a wide panel): the tile's rows as two 6-row tiles, 6 broadcasts
       and 4 vector loads per 24 FMAs (12 x 2: 12 + 2; measured on a core whose other hardware thread
       is busy: 224 GFLOP/s on 6 x 4 where 12 x 2 ran at 161) */
    if (nv >= 3) {
        const int hr = rows > 6 && rows <= 8 ? 4 : 6;   /* 7-8 rows: two 4-row tiles */
        int h;
        for (h = 0; h < 2 && hr * h < rows; h++) {
            if (hr == 4 && nv == 4) convrnn__ukr_run_g(4, 4, nrun, base + 4 * h, off, len, b, crow + 4 * h, ncol, add, bias);
            else if (hr == 4) convrnn__ukr_run_g(4, 3, nrun, base + 4 * h, off, len, b, crow + 4 * h, ncol, add, bias);
            else if (nv == 4) convrnn__ukr_run_g(6, 4, nrun, base + 6 * h, off, len, b, crow + 6 * h, ncol, add, bias);
            else convrnn__ukr_run_g(6, 3, nrun, base + 6 * h, off, len, b, crow + 6 * h, ncol, add, bias);
        }
        return;
    }
#endif
    if (rows <= CONVRNN__MRI / 2 && nv == CONVRNN__NVI) {
        convrnn__ukr_run_g(CONVRNN__MRI / 2, CONVRNN__NVI, nrun, base, off, len, b, crow, ncol, add, bias);
        return;
    }
#if CONVRNN__MRI == 12
    if (rows <= 8 && nv == CONVRNN__NVI) {
        convrnn__ukr_run_g(8, CONVRNN__NVI, nrun, base, off, len, b, crow, ncol, add, bias);
        return;
    }
#endif
    switch (nv) {
    case 1: convrnn__ukr_run_g(CONVRNN__MRI, 1, nrun, base, off, len, b, crow, ncol, add, bias); break;
#if CONVRNN__NVI >= 2
    case 2: convrnn__ukr_run_g(CONVRNN__MRI, 2, nrun, base, off, len, b, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 3
    case 3: convrnn__ukr_run_g(CONVRNN__MRI, 3, nrun, base, off, len, b, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 4
    case 4: convrnn__ukr_run_g(CONVRNN__MRI, 4, nrun, base, off, len, b, crow, ncol, add, bias); break;
#endif
    default: break;
    }
}
static void convrnn__ukr_ind(int nv, int ntap, const float *const *a, const float *const *b, int kc,
                             float *const *crow, int ncol, int add, const float *bias) {
    switch (nv) {
    case 1: convrnn__ukr_ind_g(CONVRNN__MRI, 1, ntap, a, b, kc, crow, ncol, add, bias); break;
#if CONVRNN__NVI >= 2
    case 2: convrnn__ukr_ind_g(CONVRNN__MRI, 2, ntap, a, b, kc, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 3
    case 3: convrnn__ukr_ind_g(CONVRNN__MRI, 3, ntap, a, b, kc, crow, ncol, add, bias); break;
#endif
#if CONVRNN__NVI >= 4
    case 4: convrnn__ukr_ind_g(CONVRNN__MRI, 4, ntap, a, b, kc, crow, ncol, add, bias); break;
#endif
    default: break;
    }
}
/* Padded-offset kernel (weight gradient): row i at pixel k is pad[pb[k] + ro[i]], column vectors
   at b + k*ldb (the last masked to ncol - (NV-1)*VL lanes unless full); accumulates into C. */
CONVRNN__FINL void convrnn__ukr_bo_g(const int MR, const int NV, const int full, const int contig, int kc, const float *pad,
                                     const ptrdiff_t *pb, const ptrdiff_t *ro, const float *b, int ldb,
                                     float *const *crow, int ncol) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    ptrdiff_t o[CONVRNN__MRMAX];
    const int nl = ncol - (NV - 1) * CONVRNN__VL;
    int k, i, v;
    convrnn__acc_init(MR, NV, acc, crow, ncol, 1, NULL);
    CONVRNN__UNROLL for (i = 0; i < MR; i++) o[i] = ro[i];
    for (k = 0; k < kc; k++) {
        convrnn__vf bv[CONVRNN__NVMAX];
        const float *ak = pad + pb[k], *ac = ak + o[0];
#if defined(__GNUC__)
        if (contig) __asm__("" : "+r"(ac));   /* keep ac one register: the rows become displacements */
#endif
        CONVRNN__UNROLL for (v = 0; v < NV; v++)
            bv[v] = full || v < NV - 1 ? convrnn__vld(b + v * CONVRNN__VL) : convrnn__vldn(b + v * CONVRNN__VL, nl);
        CONVRNN__UNROLL for (i = 0; i < MR; i++) {
            /* contig: the tile's rows are consecutive channels of one tap, so the broadcasts read
               ak + o[0] + i (constant offsets, no address arithmetic per row) */
            const convrnn__vf av = convrnn__vset1(contig ? ac[i] : ak[o[i]]);
            CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
        }
        b += ldb;
    }
    convrnn__acc_store(MR, NV, acc, crow, ncol);
}
static void convrnn__ukr_bo(int mr, int nv, int kc, const float *pad, const ptrdiff_t *pb, const ptrdiff_t *ro, const float *b,
                            int ldb, float *const *crow, int ncol) {
    const int full = ncol == nv * CONVRNN__VL;
    int contig = 1, i;
    for (i = 1; i < mr; i++) contig &= ro[i] == ro[0] + i;
#define CONVRNN__BO(MR_, NV_) do { \
        if (full && contig) convrnn__ukr_bo_g(MR_, NV_, 1, 1, kc, pad, pb, ro, b, ldb, crow, ncol); \
        else if (full) convrnn__ukr_bo_g(MR_, NV_, 1, 0, kc, pad, pb, ro, b, ldb, crow, ncol); \
        else convrnn__ukr_bo_g(MR_, NV_, 0, 0, kc, pad, pb, ro, b, ldb, crow, ncol); } while (0)
    if (mr == 2 * CONVRNN__MRP && nv == 1) CONVRNN__BO(2 * CONVRNN__MRP, 1);   /* one vector of outputs: twice the rows */
#if CONVRNN__MRW != CONVRNN__MRP
    else if (mr == CONVRNN__MRW && nv == CONVRNN__NVW) CONVRNN__BO(CONVRNN__MRW, CONVRNN__NVW);
    else if (mr == CONVRNN__MRW && nv == 1) convrnn__ukr_bo_g(CONVRNN__MRW, 1, 0, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
    else if (mr == CONVRNN__MRW && nv == 2) convrnn__ukr_bo_g(CONVRNN__MRW, 2, 0, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
    else if (mr == CONVRNN__MRW && nv == 3) convrnn__ukr_bo_g(CONVRNN__MRW, 3, 0, 0, kc, pad, pb, ro, b, ldb, crow, ncol);
#endif
    else if (nv == 1) CONVRNN__BO(CONVRNN__MRP, 1);
#if CONVRNN__NVP >= 2
    else if (nv == 2) CONVRNN__BO(CONVRNN__MRP, 2);
#endif
#if CONVRNN__NVP >= 3
    else if (nv == 3) CONVRNN__BO(CONVRNN__MRP, 3);
#endif
#if CONVRNN__NVP >= 4
    else if (nv == 4) CONVRNN__BO(CONVRNN__MRP, 4);
#endif
#undef CONVRNN__BO
}


/* ------------------------------------------------------------------ convolution drivers */
#define CONVRNN__TPB_MAX 8                  /* micro-tiles per forward / bwd-data task */
#define CONVRNN__MC (CONVRNN__TPB_MAX * CONVRNN__MRI)  /* pixels per forward / bwd-data task */
#define CONVRNN__PANELS_PER_TASK 8          /* column panels per task */
#define CONVRNN__KC 128
#define CONVRNN__RUNMAX 64                  /* runs per micro-kernel call (more: further calls add) */
#define CONVRNN__PAR_FLOPS 200000.0         /* run in parallel above this many multiply-adds */
#define CONVRNN__WINO_MIN_C 32             /* Winograd for 3x3 stride 1 with this many channels on both */
#define CONVRNN__WINO_MIN_HW 196           /* sides and this many output pixels per map (measured: on 7x7
                                              and smaller maps or fewer channels the direct kernel wins);
                                              F(2x2, 3x3)'s forward and input gradient run only when
                                              F(4x4, 3x3) is off (CONVRNN_NO_WINO4) */
#define CONVRNN__WINO4_MIN_C 32            /* Winograd F(4x4, 3x3) with this many channels on both sides
                                              (measured: 16 -> 32, 32 -> 16, 16 -> 16 no faster on one
                                              thread, slower on two): the forward and input gradient on
                                              every map size, the weight gradient below
                                              CONVRNN__WINO_MIN_HW pixels (convrnn__wino4_ok) */
#define CONVRNN__WINO4_TB 64               /* tiles per block of an F(4x4, 3x3) task: at most this many, */
#define CONVRNN__WINO4_TBMIN 32            /* and at least this many for the blocks of several threads */
#define CONVRNN__WINO4_KB 128              /* its source channels per block of transformed weights
                                              (measured on 7x7 256 -> 512: 32 and 64 slower) */
#define CONVRNN__WINO4_CBT 8               /* its weight gradient: row tiles per block of input channels, */
#define CONVRNN__WINO4_BWF_TILES 256       /* and tiles transformed at once (whole samples) */

#define CONVRNN__PF_ROWS 16                 /* weight packing: rows read ahead */
#define CONVRNN__PACK_GROUP 2               /* forward packing: panels read together, row by row */
#define CONVRNN__WIDE_PANEL_BYTES 524288.0  /* wide panels (CONVRNN__NVD vectors) up to this many bytes per
                                               panel, or up to half the L2 where the C library tells its
                                               size (convrnn__l2_bytes), at most CONVRNN__WIDE_PANEL_MAX.
                                               A readout's input gradient, 4000 deep: a 1 MB panel, measured
                                               16% slower than two narrow panels with a 1 MB L2 (AMD EPYC),
                                               4% faster with a 2 MB L2 (Intel Xeon); 768 KB panels (1x1,
                                               3072 deep) 3-4% faster there */
#define CONVRNN__WIDE_PANEL_MAX 1048576.0
#if defined(__GNUC__)
#define CONVRNN__PREFETCH(p) __builtin_prefetch(p)
#define CONVRNN__PREFETCHW(p) __builtin_prefetch(p, 1)   /* a line about to be written */
#else
#define CONVRNN__PREFETCH(p) ((void)(p))
#define CONVRNN__PREFETCHW(p) ((void)(p))
#endif

static size_t convrnn__al(size_t bytes) { return (bytes + 63) & ~(size_t)63; }
/* the row length of a block of C channels: C rounded up to whole vectors, plus 16 floats when that
   is a multiple of 64 (rows 256 bytes apart would put the rows a tile reads together into the same
   L1 sets) */
static int convrnn__ldv(int C) {
    const int v = (C + CONVRNN__VL - 1) / CONVRNN__VL * CONVRNN__VL;
    return v % 64 == 0 ? v + 16 : v;
}
/* the L2 cache of one core in bytes, as glibc reports it (sysconf; read from the CPU once by the C
   library at start-up, a few ns a call); 0 where unknown */
static double convrnn__l2_bytes(void) {
#if defined(CONVRNN__HAVE_SYSCONF_L2)
    const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return v > 0 ? (double)v : 0.0;
#else
    return 0.0;
#endif
}
/* columns per packed panel of the direct kernels for panels K rows deep: wide (CONVRNN__NVD
   vectors) when such a panel fits CONVRNN__WIDE_PANEL_BYTES, or half the L2 up to
   CONVRNN__WIDE_PANEL_MAX, else CONVRNN__NVI vectors. The panel width changes the tiling only:
   every output is summed in the same order, the same bits on every machine. */
static int convrnn__dir_nr(size_t K) {
    const double b = (double)K * CONVRNN__NVD * CONVRNN__VL * sizeof(float);
    const int wide = b <= CONVRNN__WIDE_PANEL_BYTES || (b <= CONVRNN__WIDE_PANEL_MAX && b <= 0.5 * convrnn__l2_bytes());
    return wide ? CONVRNN__NVD * CONVRNN__VL : CONVRNN__NVI * CONVRNN__VL;
}
/* panels packed together by a readout's forward / input gradient (CONVRNN__PACK_GROUP narrow ones,
   or one wide one: the same bytes per row of w) */
static int convrnn__pack_group(int NR) { return NR > CONVRNN__NVI * CONVRNN__VL ? 1 : CONVRNN__PACK_GROUP; }
/* the first 64-byte boundary in a block allocated with 64 spare bytes */
static char *convrnn__al_base(char *mem) { return mem + (64 - (size_t)((uintptr_t)mem % 64)) % 64; }
/* a kernel's scratch block (convrnn_malloc); with CONVRNN_DEBUG_POISON filled with all-ones bytes
   (NaN floats), so that scratch read before it is written shows in the tests */
static void *convrnn__scratch(void *actx, size_t bytes) {
    void *p = convrnn_malloc(actx, bytes);
#ifdef CONVRNN_DEBUG_POISON
    if (p) memset(p, 0xff, bytes);
#endif
    return p;
}

/* d[0..n) += the sum of the rows s + r*ld, r = 0 .. rows-1, added in ascending order: each column is
   its own chain of adds, as one column vector at a time, but up to 8 vectors of columns are summed
   together, so that their chains overlap (one chain waits an add's latency per row). The last of
   the NV vectors has nl lanes. */
CONVRNN__FINL void convrnn__colsum_g(const int NV, const float *s, size_t ld, size_t rows, float *d, int nl) {
    const int full = nl == CONVRNN__VL;
    convrnn__vf a[8];
    size_t r;
    int v;
    CONVRNN__UNROLL for (v = 0; v < NV; v++)
        a[v] = v < NV - 1 || full ? convrnn__vld(d + v * CONVRNN__VL) : convrnn__vldn(d + v * CONVRNN__VL, nl);
    for (r = 0; r < rows; r++) {
        const float *sr = s + r * ld;
        CONVRNN__UNROLL for (v = 0; v < NV; v++)
            a[v] = convrnn__vadd(a[v], v < NV - 1 || full ? convrnn__vld(sr + v * CONVRNN__VL) : convrnn__vldn(sr + v * CONVRNN__VL, nl));
    }
    CONVRNN__UNROLL for (v = 0; v < NV; v++) {
        if (v < NV - 1 || full) convrnn__vst(d + v * CONVRNN__VL, a[v]);
        else convrnn__vstn(d + v * CONVRNN__VL, a[v], nl);
    }
}
static void convrnn__colsum(const float *s, size_t ld, size_t rows, int n, float *d) {
    const int G = 8 * CONVRNN__VL;
    int c = 0, nv, nl;
    for (; n - c > G; c += G) convrnn__colsum_g(8, s + c, ld, rows, d + c, CONVRNN__VL);
    nv = (n - c + CONVRNN__VL - 1) / CONVRNN__VL;
    nl = n - c - (nv - 1) * CONVRNN__VL;
    switch (nv) {
    case 1: convrnn__colsum_g(1, s + c, ld, rows, d + c, nl); break;
    case 2: convrnn__colsum_g(2, s + c, ld, rows, d + c, nl); break;
    case 3: convrnn__colsum_g(3, s + c, ld, rows, d + c, nl); break;
    case 4: convrnn__colsum_g(4, s + c, ld, rows, d + c, nl); break;
    case 5: convrnn__colsum_g(5, s + c, ld, rows, d + c, nl); break;
    case 6: convrnn__colsum_g(6, s + c, ld, rows, d + c, nl); break;
    case 7: convrnn__colsum_g(7, s + c, ld, rows, d + c, nl); break;
    case 8: convrnn__colsum_g(8, s + c, ld, rows, d + c, nl); break;
    default: break;
    }
}

/* dst[0..n) = src[0..n) (src NULL: zeros), whole vectors and one masked tail */
CONVRNN__FINL void convrnn__vcopy(float *dst, const float *src, int n) {
    int j;
    if (src) {
        for (j = 0; j + CONVRNN__VL <= n; j += CONVRNN__VL) convrnn__vst(dst + j, convrnn__vld(src + j));
        if (j < n) convrnn__vstn(dst + j, convrnn__vldn(src + j, n - j), n - j);
    } else {
        for (j = 0; j + CONVRNN__VL <= n; j += CONVRNN__VL) convrnn__vst(dst + j, convrnn__vzero());
        if (j < n) convrnn__vstn(dst + j, convrnn__vzero(), n - j);
    }
}

/* dst[j*ldd + i] = src[i*lds + j] for i < rows, j < cols: VL x VL blocks transposed in registers
   (the last ones masked) */
static void convrnn__transp(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols) {
    const int VL = CONVRNN__VL;
    int i0, j0, q;
    for (i0 = 0; i0 < rows; i0 += VL) {
        const int ni = rows - i0 < VL ? rows - i0 : VL;
        for (j0 = 0; j0 < cols; j0 += VL) {
            const int nj = cols - j0 < VL ? cols - j0 : VL;
            convrnn__vf v[CONVRNN__VL];
            for (q = 0; q < VL; q++) v[q] = q < ni ? convrnn__vldn(src + (size_t)(i0 + q) * lds + j0, nj) : convrnn__vzero();
            convrnn__vtrans(v);
            for (q = 0; q < nj; q++) convrnn__vstn(dst + (size_t)(j0 + q) * ldd + i0, v[q], ni);
        }
    }
}

/* Zero-padded copy of an NHWC source [N][SH][SW][Cs] into pad [N][PH][PW][CsP], one row prow
   (of N*PH) per call: pad row r of a sample holds source row r - ry from column rx, each pixel's
   Cs values at stride CsP, zeros elsewhere. Vector copies (the rows are short: a library call per
   piece costs more than it). */
CONVRNN__FINL void convrnn__pad_row(float *pad, const float *src, int SH, int SW, int Cs, int PH, int PW, int CsP,
                                   int ry, int rx, int prow) {
    const int n = prow / PH, sy = prow % PH - ry;
    float *dr = pad + (size_t)prow * PW * CsP;
    const float *sr;
    int x0 = rx, nx = SW, j;
    if (sy < 0 || sy >= SH) { convrnn__vcopy(dr, NULL, PW * CsP); return; }
    sr = src + ((size_t)n * SH + sy) * SW * Cs;
    if (x0 + nx > PW) nx = PW - x0;
    if (nx < 0) nx = 0;
    if (x0 > 0) convrnn__vcopy(dr, NULL, x0 * CsP);
    if (CsP == Cs) convrnn__vcopy(dr + (size_t)x0 * Cs, sr, nx * Cs);
    else
        for (j = 0; j < nx; j++) {
            convrnn__vcopy(dr + (size_t)(x0 + j) * CsP, sr + (size_t)j * Cs, Cs);
            convrnn__vcopy(dr + (size_t)(x0 + j) * CsP + Cs, NULL, CsP - Cs);
        }
    if (x0 + nx < PW) convrnn__vcopy(dr + (size_t)(x0 + nx) * CsP, NULL, (PW - x0 - nx) * CsP);
}

/* Pack B for the direct kernels, panels [p0, p1) from bp on (panel p at p - p0): panel p holds
   output columns [p*NR, p*NR + wp) padded to nvp*VL, rows (tap, c). Backward-data with stride 1
   takes the kernel columns mirrored (tap (ky, kx) holds w[ky][kw-1-kx]), so that on the padded
   copy the taps of a kernel row read ascending, contiguous pixels. Forward reads w row by row,
   PACK_GROUP panels at a time (one page per row of w for the group; panel by panel, every
   4*NR-byte piece would be on another page, which the hardware prefetchers do not follow, so the
   rows ahead are prefetched); backward-data reads, per panel, its VL-row blocks of w along their
   rows. */
static void convrnn__ind_pack(const convrnn__geom *g, int bwd, const float *w, float *bp, int NR, int p0, int p1) {
    const int VL = CONVRNN__VL, taps = g->kh * g->kw;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    int tp, c, j, p;
    if (!bwd) {   /* row kk = (tp, c) of panel p = w[kk][p*NR .. p*NR + wp), zeros to nvp*VL */
        const int rows = taps * Cs, G = convrnn__pack_group(NR);
        int pg, kk;
        for (pg = p0; pg < p1; pg += G) {   /* G panels at a time, row by row */
            const int pe = pg + G < p1 ? pg + G : p1, c0 = pg * NR, wg = (Cd < pe * NR ? Cd : pe * NR) - c0;
            for (kk = 0; kk < rows; kk++) {
                const float *wr = w + (size_t)kk * Cd + c0;
                if (kk + CONVRNN__PF_ROWS < rows) {   /* each row is on another page: no hardware prefetch */
                    int v;
                    for (v = 0; v < wg; v += 16) CONVRNN__PREFETCH(wr + (size_t)CONVRNN__PF_ROWS * Cd + v);
                    CONVRNN__PREFETCH(wr + (size_t)CONVRNN__PF_ROWS * Cd + wg - 1);
                }
                for (p = pg; p < pe; p++) {
                    const int wp = Cd - p * NR < NR ? Cd - p * NR : NR, ld = (wp + VL - 1) / VL * VL;
                    float *row = bp + (size_t)(p - p0) * rows * NR + (size_t)kk * ld;
                    convrnn__vcopy(row, wr + (p - pg) * NR, wp);
                    if (wp < ld) convrnn__vcopy(row + wp, NULL, ld - wp);
                }
            }
        }
        return;
    }
    for (p = p0; p < p1; p++) {
        const int c0 = p * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
        const int jf = wp / VL * VL, cf = Cs / VL * VL;
        float *pb = bp + (size_t)(p - p0) * taps * Cs * NR;
        for (tp = 0; tp < taps; tp++) {
            /* row c, column j = w[st][c0 + j][c]: VL x VL blocks transposed in registers */
            const int st = g->s == 1 ? (tp / g->kw) * g->kw + (g->kw - 1 - tp % g->kw) : tp;
            const float *wb = w + ((size_t)st * g->ci + c0) * g->co;
            float *pt = pb + (size_t)tp * Cs * ld;
            int jb, cb, q;
            for (jb = 0; jb < jf; jb += VL)
                for (cb = 0; cb < cf; cb += VL) {
                    convrnn__vf r[CONVRNN__VL];
                    /* each row read 4 vectors ahead (measured: the readout's input gradient 3% faster) */
                    for (q = 0; q < VL; q++) {
                        r[q] = convrnn__vld(wb + (size_t)(jb + q) * g->co + cb);
                        if (cb + 4 * VL < cf) CONVRNN__PREFETCH(wb + (size_t)(jb + q) * g->co + cb + 4 * VL);
                    }
                    convrnn__vtrans(r);
                    for (q = 0; q < VL; q++) convrnn__vst(pt + (size_t)(cb + q) * ld + jb, r[q]);
                }
            for (c = 0; c < Cs; c++) {   /* the tails, and zeros past wp */
                float *row = pt + (size_t)c * ld;
                for (j = c < cf ? jf : 0; j < wp; j++) row[j] = wb[(size_t)j * g->co + c];
                for (j = wp; j < ld; j++) row[j] = 0;
            }
        }
    }
}
/* the panels of thread q of nq, into their places in bp (a static split; the packing is a copy,
   any split is exact) */
static void convrnn__ind_pack_part(const convrnn__geom *g, int bwd, const float *w, float *bp, int NR, int npan, int q, int nq) {
    int p0, p1;
    convrnn__share(npan, q, nq, &p0, &p1);
    convrnn__ind_pack(g, bwd, w, bp + (size_t)p0 * g->kh * g->kw * (bwd ? g->co : g->ci) * NR, NR, p0, p1);
}

/* The direct kernel on a zero-padded source: destination pixels [p0, p1) (at most MC of them),
   column panels of group grp. */
typedef struct {
    const convrnn__geom *g;
    const float *pad, *bp, *bias;
    const ptrdiff_t *off;
    float *dst;
    int bwd, Cs, Cd, DH, DW, PH, PW, CsP, s1, npan, NR;
} convrnn__indp;
static void convrnn__ind_pad_block(const convrnn__indp *c, int p0, int p1, int grp) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = c->NR, TPB = CONVRNN__MC / CONVRNN__MRI;
    const int taps = c->g->kh * c->g->kw, Cs = c->Cs, Cd = c->Cd, CsP = c->CsP;
    /* with no stride padding the kw taps of a kernel row are one run of kw*Cs values */
    const int nrun = CsP == Cs ? c->g->kh : taps, kc = CsP == Cs ? c->g->kw * Cs : Cs;
    const float *bases[CONVRNN__TPB_MAX][CONVRNN__MRMAX];
    int len[CONVRNN__RUNMAX];
    const size_t step = (size_t)c->s1 * CsP;
    int tile, i, pp, ntiles = 0, n = p0 / (c->DH * c->DW), py = (p0 / c->DW) % c->DH, px = p0 % c->DW;
    for (tile = 0; tile < TPB; tile++) {   /* (n, py, px): pixel q0, carried from tile to tile */
        const int q0 = p0 + tile * MR;
        const float *bq = c->pad;
        if (q0 >= p1) break;
        ntiles++;
        for (i = 0; i < MR && q0 + i < p1; i++) {   /* along a destination row the base moves by s1 pixels */
            bq = px > 0 && i > 0 ? bq + step : c->pad + (((size_t)n * c->PH + (size_t)py * c->s1) * c->PW + (size_t)px * c->s1) * CsP;
            bases[tile][i] = bq;
            if (++px == c->DW) { px = 0; if (++py == c->DH) { py = 0; n++; } }
        }
        for (; i < MR; i++) bases[tile][i] = bases[tile][0];
    }
    for (i = 0; i < nrun && i < CONVRNN__RUNMAX; i++) len[i] = kc;
    for (pp = grp * CONVRNN__PANELS_PER_TASK; pp < c->npan && pp < (grp + 1) * CONVRNN__PANELS_PER_TASK; pp++) {
        const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL;
        const float *pb = c->bp + (size_t)pp * taps * Cs * NR;
        const float *bias = c->bias && !c->bwd ? c->bias + c0 : NULL;
        int r0;
        for (r0 = 0; r0 < nrun; r0 += CONVRNN__RUNMAX) {   /* float partial sums: the same bits as one call */
            const int nr = nrun - r0 < CONVRNN__RUNMAX ? nrun - r0 : CONVRNN__RUNMAX;
            const float *bl[CONVRNN__RUNMAX];
            for (i = 0; i < nr; i++) bl[i] = pb + (size_t)(r0 + i) * kc * nvp * VL;
            for (tile = 0; tile < ntiles; tile++) {
                const int q0 = p0 + tile * MR;
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) crow[i] = q0 + i < p1 ? c->dst + (size_t)(q0 + i) * Cd + c0 : NULL;
                convrnn__ukr_run(nvp, CONVRNN__MRI, nr, bases[tile], c->off + r0, len, bl, crow, wp, c->bwd || r0 > 0, r0 ? NULL : bias);
            }
        }
    }
}

/* Forward (bwd = 0): dst = y [n,oh,ow,co] = bias + conv(src = x, w).
   Backward-data (bwd = 1): dst = dx [n,h,w,ci] += conv^T(src = dy, w) (gather rule: input pixel
   (iy,ix) receives output (oy,ox) through tap (ky,kx) iff iy + pt - ky = oy*s, ix + pl - kx = ox*s).
   Tasks: blocks of MC destination pixels x groups of column panels. With a padded copy, one
   parallel region packs the weights, pads and computes; when the batch splits evenly, the threads
   claim chunks of samples in turn and pad and compute each (the copy stays in that core's
   cache, no second barrier).
   Every destination element is one task's, summed in a fixed order: any split gives the same bits.
   Returns 0 (nothing written) when scratch memory is unavailable. */
static int convrnn__sconv_ind(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                              const float *bias, float *dst) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI;
    const int taps = g->kh * g->kw, TPB = CONVRNN__MC / CONVRNN__MRI;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    /* wide panels on the padded copy (its run kernel splits them into 6-row tiles); the pointer
       table kernel below keeps narrow ones */
    const int NR = !bwd || g->s == 1 ? convrnn__dir_nr((size_t)taps * Cs) : CONVRNN__NVI * CONVRNN__VL;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow;   /* destination grid */
    const int SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;   /* source grid */
    const int M = g->n * DH * DW;
    const int npan = (Cd + NR - 1) / NR;
    const int nblk = (M + CONVRNN__MC - 1) / CONVRNN__MC;
    const int ngrp = (npan + CONVRNN__PANELS_PER_TASK - 1) / CONVRNN__PANELS_PER_TASK;
    const int ntask = nblk * ngrp;
    const double flops = (double)M * Cd * Cs * taps;
    const size_t bpsz = (size_t)npan * taps * Cs * NR;
    const size_t sz_ptab = convrnn__al((size_t)TPB * taps * MR * sizeof(float *));
    const size_t sz_tapi = convrnn__al((size_t)TPB * taps * sizeof(int));
    const size_t sz_ntv = convrnn__al((size_t)TPB * sizeof(int));
    const size_t sz_bl = convrnn__al((size_t)taps * sizeof(float *));
    const size_t per_thr = sz_ptab + sz_tapi + sz_ntv + sz_bl;
    const size_t off_zero = convrnn__al(bpsz * sizeof(float));
    const size_t off_thr = off_zero + convrnn__al((size_t)Cs * sizeof(float));
    int nthr = convrnn__nthreads(), task, p;
    char *mem, *base;
    float *bp, *zero;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    mem = (char *)convrnn__scratch(actx, off_thr + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    bp = (float *)base;
    zero = (float *)(base + off_zero);
    memset(zero, 0, (size_t)Cs * sizeof(float));
    if (!bwd || g->s == 1) {
        /* Zero-padded copy of the source: then every (pixel, tap) reads base(pixel) + off(tap).
           Forward: pad row = iy + pt, PH = (OH-1)s + kh. Backward-data (stride 1): pad row =
           oy + kh-1-pt, PH = H + kh - 1, and tap (ky,kx) (mirrored column, see the packing)
           reads row iy + kh-1-ky, column ix + kx. When the copy has no stride padding, the kw
           taps of a kernel row are one contiguous run of kw*Cs values: one "tap" of the kernel. */
        const int s1 = bwd ? 1 : g->s;
        const int PH = bwd ? g->h + g->kh - 1 : (g->oh - 1) * g->s + g->kh;
        const int PW = bwd ? g->w + g->kw - 1 : (g->ow - 1) * g->s + g->kw;
        const int ry = bwd ? g->kh - 1 - g->pt : g->pt, rx = bwd ? g->kw - 1 - g->pl : g->pl;
        /* pixel stride of the copy: Cs, plus 16 floats when Cs*4 is a multiple of 256 bytes, so the
           MR rows a micro-tile broadcasts from do not all fall into the same L1 sets */
        const int CsP = Cs % 64 == 0 ? Cs + 16 : Cs;
        const size_t psz = (size_t)g->n * PH * PW * CsP;
        /* chunks of samples claimed by the threads when they split evenly (or nearly: 4+ per thread) */
        const int local = convrnn__by_sample(g->n, nthr);
        convrnn__indp c;
        ptrdiff_t *off;
        float *pad;
        char *pmem = (char *)convrnn__scratch(actx, psz * sizeof(float) + (size_t)taps * sizeof(ptrdiff_t) + 64);
        if (!pmem) { convrnn_free(actx, mem); return 0; }
        off = (ptrdiff_t *)pmem;
        pad = (float *)(pmem + convrnn__al((size_t)taps * sizeof(ptrdiff_t)));
        for (p = 0; p < taps; p++) {
            const int ky = p / g->kw, kx = p % g->kw;
            off[p] = bwd ? ((ptrdiff_t)(g->kh - 1 - ky) * PW + kx) * CsP : ((ptrdiff_t)ky * PW + kx) * CsP;
        }
        if (CsP == Cs)   /* merge the taps of each kernel row */
            for (p = 0; p < g->kh; p++) off[p] = off[p * g->kw];
        c.g = g; c.pad = pad; c.bp = bp; c.bias = bias; c.off = off; c.dst = dst; c.bwd = bwd; c.Cs = Cs; c.Cd = Cd;
        c.DH = DH; c.DW = DW; c.PH = PH; c.PW = PW; c.CsP = CsP; c.s1 = s1; c.npan = npan; c.NR = NR;
CONVRNN__OMP_REGION(nthr > 1)
        {
            int q, grp, n0, n1;
            const int nteam = convrnn__team();
CONVRNN__OMP_FOR_STATIC
            for (q = 0; q < nteam; q++) convrnn__ind_pack_part(g, bwd, w, bp, NR, npan, q, nteam);
            if (local && nteam > 1) {
                const int nch = convrnn__nchunks(g->n, nteam);
                int ch;
CONVRNN__OMP_FOR_DYN
                for (ch = 0; ch < nch; ch++) {   /* chunks of samples, each padded by the thread that runs it: */
                    int P1, done;                /* a copy's rows just before the first block that reads them */
                    convrnn__share(g->n, ch, nch, &n0, &n1);
                    P1 = n1 * DH * DW;
                    done = n0 * PH;
                    for (q = n0 * DH * DW; q < P1; q += CONVRNN__MC) {
                        const int e = (q + CONVRNN__MC < P1 ? q + CONVRNN__MC : P1) - 1;
                        const int need = e / (DH * DW) * PH + (e / DW) % DH * s1 + g->kh;   /* rows [.., need) */
                        for (; done < need; done++) convrnn__pad_row(pad, src, SH, SW, Cs, PH, PW, CsP, ry, rx, done);
                        for (grp = 0; grp < ngrp; grp++)
                            convrnn__ind_pad_block(&c, q, q + CONVRNN__MC < P1 ? q + CONVRNN__MC : P1, grp);
                    }
                }
            } else {
CONVRNN__OMP_FOR_STATIC
                for (q = 0; q < g->n * PH; q++) convrnn__pad_row(pad, src, SH, SW, Cs, PH, PW, CsP, ry, rx, q);
CONVRNN__OMP_FOR_DYN
                for (q = 0; q < ntask; q++) {
                    const int p0 = (q / ngrp) * CONVRNN__MC;
                    convrnn__ind_pad_block(&c, p0, p0 + CONVRNN__MC < M ? p0 + CONVRNN__MC : M, q % ngrp);
                }
            }
        }
        convrnn_free(actx, pmem);
        convrnn_free(actx, mem);
        return 1;
    }
    {
        const int npk = bpsz > 65536 ? nthr : 1;
CONVRNN__OMP_STATIC(npk > 1)
        for (p = 0; p < npk; p++) convrnn__ind_pack_part(g, bwd, w, bp, NR, npan, p, npk);
    }
CONVRNN__OMP_DYN(nthr > 1)
    for (task = 0; task < ntask; task++) {
        const int blk = task / ngrp, grp = task % ngrp;
        char *scr = base + off_thr + per_thr * (size_t)convrnn__tid();
        const float **ptab = (const float **)scr;              /* [tile][valid tap][MR] */
        int *tapi = (int *)(scr + sz_ptab);                     /* [tile][valid tap] tap index */
        int *ntv = (int *)(scr + sz_ptab + sz_tapi);            /* [tile] valid taps */
        const float **bl = (const float **)(scr + sz_ptab + sz_tapi + sz_ntv);
        int tile, tp, i, pp, ntiles = 0;
        /* pointer tables of every tile of this block; taps that reach no pixel are dropped */
        for (tile = 0; tile < TPB; tile++) {
            const int p0 = blk * CONVRNN__MC + tile * MR;
            int pn[CONVRNN__MRMAX], py[CONVRNN__MRMAX], px[CONVRNN__MRMAX], nt = 0;
            if (p0 >= M) break;
            ntiles++;
            for (i = 0; i < MR; i++) {
                const int q = p0 + i;
                if (q < M) { pn[i] = q / (DH * DW); py[i] = (q / DW) % DH; px[i] = q % DW; }
                else { pn[i] = -1; py[i] = px[i] = 0; }
            }
            for (tp = 0; tp < taps; tp++) {
                const int ky = tp / g->kw, kx = tp % g->kw;
                const float **row = ptab + ((size_t)tile * taps + nt) * MR;
                int any = 0;
                for (i = 0; i < MR; i++) {
                    int sy = 0, sx = 0, ok = pn[i] >= 0;
                    if (ok && !bwd) {
                        sy = py[i] * g->s - g->pt + ky; sx = px[i] * g->s - g->pl + kx;
                        ok = sy >= 0 && sy < SH && sx >= 0 && sx < SW;
                    } else if (ok) {
                        const int ny = py[i] + g->pt - ky, nx = px[i] + g->pl - kx;
                        ok = ny >= 0 && nx >= 0 && ny % g->s == 0 && nx % g->s == 0;
                        sy = ny / g->s; sx = nx / g->s;
                        ok = ok && sy < SH && sx < SW;
                    }
                    if (ok) { row[i] = src + (((size_t)pn[i] * SH + sy) * SW + sx) * Cs; any = 1; }
                    else row[i] = zero;
                }
                if (any) tapi[tile * taps + nt++] = tp;
            }
            ntv[tile] = nt;
        }
        for (pp = grp * CONVRNN__PANELS_PER_TASK; pp < npan && pp < (grp + 1) * CONVRNN__PANELS_PER_TASK; pp++) {
            const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
            const float *pb = bp + (size_t)pp * taps * Cs * NR;
            for (tile = 0; tile < ntiles; tile++) {
                const int p0 = blk * CONVRNN__MC + tile * MR;
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) crow[i] = p0 + i < M ? dst + (size_t)(p0 + i) * Cd + c0 : NULL;
                for (tp = 0; tp < ntv[tile]; tp++) bl[tp] = pb + (size_t)tapi[tile * taps + tp] * Cs * ld;
                convrnn__ukr_ind(nvp, ntv[tile], ptab + (size_t)tile * taps * MR, bl, Cs, crow, wp, bwd,
                                 bias && !bwd ? bias + c0 : NULL);
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Direct convolution without a padded copy and without the taps that fall outside the source
   (forward, any stride; backward-data, stride 1). A destination position's valid kernel rows
   and columns depend on its row and column alone; positions with the same ranges form a class,
   and a class's taps of one kernel row are one run of contiguous source values (NHWC; backward
   takes the columns mirrored, see convrnn__ind_pack). Tiles of MRI pixels are taken within a
   class, across samples: every row of a tile has the same runs, read in place from the source.
   Each destination element is summed over its runs in ascending order by one task: any split
   gives the same bits. When the threads split the batch evenly they claim chunks of samples.
   Returns 0 (nothing written) when it does not apply or scratch memory is unavailable. */
#define CONVRNN__CLS_MAXK 16   /* kernel sizes up to 16x16 (larger: the padded kernels) */
/* rows of the next tile with rem left: MRI, or 8 when 13-16 are left and MRI is 12 (a block of at
   most MC rows still has at most MC / MRI tiles) */
#define CONVRNN__CLS_STEP(rem) (CONVRNN__MRI == 12 && (rem) > 12 && (rem) <= 16 ? 8 : CONVRNN__MRI)
#define CONVRNN__CLS_PANEL_BYTES 1048576.0   /* packed weights above this and 4x the source: by panel */
#define CONVRNN__CLS_MIN_C 16  /* from this many source channels (fewer: runs too short, the padded
                                  kernel wins; measured on 28x28 1 -> 8 and 14x14 8 -> 16) */
typedef struct {
    const convrnn__geom *g;
    const float *src, *bp, *bias;
    float *dst;
    const int *pos, *cstart;   /* positions by class (class c: y range c / nx, x range c % nx) */
    const int *yr, *xr;        /* range id -> [k0, k1) (pairs) */
    int bwd, Cs, Cd, DH, DW, SH, SW, npan, nx, NR;
} convrnn__clsp;
/* panels [pa, pe) of c->bp; with one1 (then pe = pa + 1), panel pa packed alone at one1 */
static void convrnn__cls_block(const convrnn__clsp *c, int cls, int j0, int j1, int pa, int pe, const float *one1) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = c->NR;
    const int Cs = c->Cs, Cd = c->Cd, kw = g->kw, cnt = c->cstart[cls + 1] - c->cstart[cls];
    const int *pos = c->pos + c->cstart[cls];
    const int ky0 = c->yr[2 * (cls / c->nx)], ky1 = c->yr[2 * (cls / c->nx) + 1];
    const int kx0 = c->xr[2 * (cls % c->nx)], kx1 = c->xr[2 * (cls % c->nx) + 1];
    const int nrun = kx1 > kx0 && ky1 > ky0 ? ky1 - ky0 : 0;
    ptrdiff_t off[CONVRNN__CLS_MAXK];
    const float *base[CONVRNN__MC / CONVRNN__MRI][CONVRNN__MRMAX];
    size_t dp[CONVRNN__MC / CONVRNN__MRI][CONVRNN__MRMAX];
    int len[CONVRNN__CLS_MAXK], rows[CONVRNN__MC / CONVRNN__MRI], j, je, i, pp, r, t, ntile;
    /* run r relative to the first (row pointers point at a row's first run, inside the source) */
    for (r = 0; r < nrun; r++) {
        off[r] = (ptrdiff_t)(c->bwd ? -r : r) * c->SW * Cs;
        len[r] = (kx1 - kx0) * Cs;
    }
    /* rows of every tile of the block first; then panel by panel, each panel's B (taps x Cs x NR)
       is read from L2 by all the tiles (tile by tile, a group of panels would stream from L3).
       Tiles of MR rows; with MR = 12, 13-16 rows left go as 8 + the rest (an 8-row kernel, where
       12 + 1-4 would leave most of a 6-row tile empty) */
    {   /* entry q is position pos[q % cnt] of sample q / cnt; the class is a rectangle of positions
           [yb, ye) x [xb, xe) taken row-major, so (n, py, px) is carried from entry to entry */
        const int xb = pos[0] % c->DW, yb = pos[0] / c->DW, xe = pos[cnt - 1] % c->DW + 1, ye = pos[cnt - 1] / c->DW + 1;
        int n = j0 / cnt, py = pos[j0 % cnt] / c->DW, px = pos[j0 % cnt] % c->DW;
        for (j = j0, t = 0; j < j1; j = je, t++) {
            const int step = CONVRNN__CLS_STEP(j1 - j);
            je = j + step < j1 ? j + step : j1;
            rows[t] = je - j;
            for (i = 0; i < je - j; i++) {
                /* the source pixel of the first valid tap (ky0, kx0) */
                const int sy = c->bwd ? py + g->pt - ky0 : py * g->s - g->pt + ky0;
                const int sx = c->bwd ? px + g->pl - kw + 1 + kx0 : px * g->s - g->pl + kx0;
                base[t][i] = nrun ? c->src + (((size_t)n * c->SH + sy) * c->SW + sx) * Cs : c->src;
                dp[t][i] = ((size_t)n * c->DH + (size_t)py) * c->DW + (size_t)px;
                if (++px == xe) { px = xb; if (++py == ye) { py = yb; n++; } }
            }
            for (; i < MR; i++) {   /* rows past the tile's: the first row's source, not stored */
                base[t][i] = base[t][0];
                dp[t][i] = (size_t)-1;
            }
        }
    }
    ntile = t;
    for (pp = pa; pp < pe && pp < c->npan; pp++) {
        const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL;
        const float *pb = one1 ? one1 : c->bp + (size_t)pp * kw * g->kh * Cs * NR;
        const float *bl[CONVRNN__CLS_MAXK];
        const int ld = nvp * VL;
        for (r = 0; r < nrun; r++) bl[r] = pb + ((size_t)(ky0 + r) * kw + kx0) * Cs * ld;
        for (t = 0; t < ntile; t++) {
            float *crow[CONVRNN__MRMAX];
            for (i = 0; i < MR; i++) crow[i] = dp[t][i] != (size_t)-1 ? c->dst + dp[t][i] * Cd + c0 : NULL;
            convrnn__ukr_run(nvp, rows[t], nrun, base[t], off, len, bl, crow, wp, c->bwd,
                             c->bias && !c->bwd ? c->bias + c0 : NULL);
        }
    }
}
static int convrnn__sconv_cls(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                              const float *bias, float *dst) {
    const int kh = g->kh, kw = g->kw, taps = kh * kw, NR = convrnn__dir_nr((size_t)taps * (bwd ? g->co : g->ci));
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow, SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;
    const int M = g->n * DH * DW, npan = (Cd + NR - 1) / NR;
    const int ngrp = (npan + CONVRNN__PANELS_PER_TASK - 1) / CONVRNN__PANELS_PER_TASK;
    const double flops = (double)M * Cd * Cs * taps;
    const size_t bpsz = (size_t)npan * taps * Cs * NR;
    const int nyr = 2 * kh + 2, nxr = 2 * kw + 2;
    const size_t nint = (size_t)DH * DW + 3 * (size_t)(nyr + nxr) + 2 * (size_t)nyr * nxr + 4;
    int nthr = convrnn__nthreads(), local, ny = 0, nx = 0, ncls, p, cidx, ntask;
    /* weights far larger than the source (a readout): the threads claim groups of PACK_GROUP
       panels in turn, pack each into a slot of their own and run it over every destination row
       (packing them all first sends 8 MB of packed copy through memory next to the weights; by
       samples, each thread would read the other's packed panels). The team only shrinks below,
       so nthr slots suffice. */
    const int bypan = npan >= nthr && (double)bpsz * sizeof(float) > CONVRNN__CLS_PANEL_BYTES &&
                      (double)bpsz > 4.0 * g->n * SH * SW * Cs;
    const int PG = convrnn__pack_group(NR);
    const size_t sz_bp = convrnn__al((bypan ? (size_t)nthr * PG * taps * Cs * NR : bpsz) * sizeof(float));
    int *pos, *cstart, *yr, *xr, *ybeg, *xbeg, *tstart;
    char *mem, *base;
    float *bp;
    convrnn__clsp c;
    if ((bwd && g->s != 1) || kh > CONVRNN__CLS_MAXK || kw > CONVRNN__CLS_MAXK) return 0;
    mem = (char *)convrnn__scratch(actx, sz_bp + nint * sizeof(int) + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    bp = (float *)base;
    pos = (int *)(base + sz_bp);                     /* DH*DW */
    yr = pos + (size_t)DH * DW; xr = yr + 2 * nyr;  /* distinct [k0, k1) ranges (the bounds only */
    ybeg = xr + 2 * nxr; xbeg = ybeg + nyr;         /* decrease: at most 2k + 1), and the first */
    cstart = xbeg + nxr;                            /* row / column of each; class starts in pos */
    tstart = cstart + nyr * nxr + 1;
    /* valid kernel rows of destination row py (columns alike; backward: mirrored columns) */
    for (p = 0; p < DH + DW; p++) {
        const int isx = p >= DH, d = isx ? p - DH : p, K = isx ? kw : kh, S = isx ? SW : SH, pd = isx ? g->pl : g->pt;
        int k0, k1, *rng = isx ? xr : yr, *nr = isx ? &nx : &ny, *beg = isx ? xbeg : ybeg;
        if (!bwd) { k0 = pd - d * g->s; k1 = S + pd - d * g->s; }
        else if (!isx) { k0 = d + pd - S + 1; k1 = d + pd + 1; }
        else { k0 = K - 1 - pd - d; k1 = S + K - 1 - pd - d; }
        if (k0 < 0) k0 = 0;
        if (k1 > K) k1 = K;
        if (k1 < k0) k1 = k0;
        if (!*nr || rng[2 * (*nr - 1)] != k0 || rng[2 * (*nr - 1) + 1] != k1) {
            if (*nr == 2 * K + 2) { convrnn_free(actx, mem); return 0; }   /* cannot happen (monotone) */
            rng[2 * *nr] = k0; rng[2 * *nr + 1] = k1; beg[*nr] = d; (*nr)++;
        }
    }
    ybeg[ny] = DH; xbeg[nx] = DW;
    /* class k = (y range k / nx, x range k % nx): a rectangle of positions, taken row-major */
    ncls = ny * nx;
    cstart[0] = 0;
    for (cidx = 0; cidx < ncls; cidx++) {
        int py, px, j = cstart[cidx];
        for (py = ybeg[cidx / nx]; py < ybeg[cidx / nx + 1]; py++)
            for (px = xbeg[cidx % nx]; px < xbeg[cidx % nx + 1]; px++) pos[j++] = py * DW + px;
        cstart[cidx + 1] = j;
    }
    /* tasks (shared split): blocks of MC entries of a class, x panel groups */
    tstart[0] = 0;
    for (cidx = 0; cidx < ncls; cidx++) {
        const long long e = (long long)g->n * (cstart[cidx + 1] - cstart[cidx]);
        tstart[cidx + 1] = tstart[cidx] + (int)((e + CONVRNN__MC - 1) / CONVRNN__MC) * ngrp;
    }
    ntask = tstart[ncls];
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    local = convrnn__by_sample(g->n, nthr);
    c.g = g; c.src = src; c.bp = bp; c.bias = bias; c.dst = dst; c.pos = pos; c.cstart = cstart;
    c.yr = yr; c.xr = xr; c.bwd = bwd; c.Cs = Cs; c.Cd = Cd; c.DH = DH; c.DW = DW; c.SH = SH; c.SW = SW;
    c.npan = npan; c.nx = nx; c.NR = NR;
CONVRNN__OMP_REGION(nthr > 1)
    {
        int t, k, grp, n0, n1;
        if (bypan) {   /* groups of G panels, claimed in turn, packed into the thread's slot, each run over every row */
            const size_t psz = (size_t)taps * Cs * NR;
            float *slot = bp + (size_t)convrnn__tid() * PG * psz;
            const int npg = (npan + PG - 1) / PG;
            int pg;
CONVRNN__OMP_FOR_DYN
            for (pg = 0; pg < npg; pg++) {   /* groups of panels claimed in turn */
                const int p0 = pg * PG, te = p0 + PG < npan ? p0 + PG : npan;
                int q;
                convrnn__ind_pack(g, bwd, w, slot, NR, p0, te);
                for (q = p0; q < te; q++)
                    for (k = 0; k < ncls; k++) {
                        const int e1 = g->n * (cstart[k + 1] - cstart[k]);
                        int j;
                        for (j = 0; j < e1; j += CONVRNN__MC)
                            convrnn__cls_block(&c, k, j, j + CONVRNN__MC < e1 ? j + CONVRNN__MC : e1, q, q + 1, slot + (size_t)(q - p0) * psz);
                    }
            }
        } else {
            const int nteam = convrnn__team();
CONVRNN__OMP_FOR_STATIC
            for (t = 0; t < nteam; t++) convrnn__ind_pack_part(g, bwd, w, bp, NR, npan, t, nteam);
            if (local && nteam > 1) {
                const int nch = convrnn__nchunks(g->n, nteam);
                int ch;
CONVRNN__OMP_FOR_DYN
                for (ch = 0; ch < nch; ch++) {   /* chunks of samples */
                    convrnn__share(g->n, ch, nch, &n0, &n1);
                    for (k = 0; k < ncls; k++) {
                        const int cnt = cstart[k + 1] - cstart[k], e1 = n1 * cnt;
                        int j;
                        for (j = n0 * cnt; j < e1; j += CONVRNN__MC)
                            for (grp = 0; grp < ngrp; grp++)
                                convrnn__cls_block(&c, k, j, j + CONVRNN__MC < e1 ? j + CONVRNN__MC : e1, grp * CONVRNN__PANELS_PER_TASK,
                                                   (grp + 1) * CONVRNN__PANELS_PER_TASK, NULL);
                    }
                }
            } else {
CONVRNN__OMP_FOR_DYN
                for (t = 0; t < ntask; t++) {
                    int j, e1;
                    k = 0;
                    while (tstart[k + 1] <= t) k++;
                    j = (t - tstart[k]) / ngrp * CONVRNN__MC;
                    e1 = g->n * (cstart[k + 1] - cstart[k]);
                    grp = (t - tstart[k]) % ngrp;
                    convrnn__cls_block(&c, k, j, j + CONVRNN__MC < e1 ? j + CONVRNN__MC : e1, grp * CONVRNN__PANELS_PER_TASK,
                                       (grp + 1) * CONVRNN__PANELS_PER_TASK, NULL);
                }
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Narrow outputs (at most VL/2 destination channels, stride 1): pixels in the vector lanes. The
   source goes to a zero-padded planar copy P[n][s][PH][PWv] (forward: row = iy + pt, column =
   ix + pl; backward-data: row = oy + kh-1-pt, column = ox + kw-1-pl), so that
       dst(py, px)[d] = sum over (ky, kx, s) of P[s][py + ky][px + kx] * Wt[ky][kx][s][d],
   Wt = w (forward) or w rotated by 180 degrees with ci/co swapped (backward-data), its columns
   padded to ND = Cd rounded up to 1, 2, 4 or 8. A tile is R = CONVRNN__PL_ROWS(ND) output rows x
   one block of VL columns: per (tap, s) R vector loads, ND broadcasts and R*ND full-width FMAs
   (the channel-vector kernels would fill half a vector or less; fewer channels take more rows,
   so that the accumulators still hide the FMA latency). The planar copy and the results move
   between pixel-major and planar by VL x VL register transposes. Each destination element is
   summed over (ky, kx, s) in this order by one task; forward starts from the bias,
   backward-data adds the sum to dx. The threads claim chunks of samples and pad and compute
   each when they split evenly. Returns 0 (nothing written) when it does not apply or without
   scratch. */
#define CONVRNN__PL_MAXD (CONVRNN__VL / 2)   /* outputs that fill at most half a vector */
#define CONVRNN__PL_SLOT_BYTES 4194304.0      /* planar copies above this: one sample at a time */
/* ND = Cd rounded up to a power of two columns of weights; a tile is R = CONVRNN__PL_ROWS(ND) output
   rows, R x ND accumulators (of the 32 vector registers of AVX-512 and NEON, 16 of AVX2) */
#if CONVRNN__VL == 8
#define CONVRNN__PL_ACC 12
#else
#define CONVRNN__PL_ACC 24
#endif
#define CONVRNN__PL_RMAX 8
#define CONVRNN__PL_ROWS(nd) (CONVRNN__PL_ACC / (nd) < CONVRNN__PL_RMAX ? CONVRNN__PL_ACC / (nd) : CONVRNN__PL_RMAX)
typedef struct {
    const convrnn__geom *g;
    const float *pl, *wt, *bias;
    float *dst;
    int bwd, Cs, Cd, nd, DH, DW, PH, PWv, nxb;
    int nsub;   /* pl holds the planes of samples nsub, nsub + 1, ... */
} convrnn__plp;
/* sample n's planes; zero: clear them first (a slot that held another sample has zeros at the
   same places: every sample writes the same positions) */
static void convrnn__pl_pad(const convrnn__plp *c, const float *src, int n, int SH, int SW, int ry, int rx, int zero) {
    const int VL = CONVRNN__VL, Cs = c->Cs, PH = c->PH, PWv = c->PWv;
    const size_t plane = (size_t)PH * PWv;
    float *pn = (float *)c->pl + (size_t)(n - c->nsub) * Cs * plane;
    int s2, y, x0, q;
    if (zero)
        for (s2 = 0; s2 < Cs; s2++) convrnn__vcopy(pn + (size_t)s2 * plane, NULL, (int)plane);   /* zeros, then the source */
    for (y = 0; y < SH; y++) {
        const int r = y + ry;
        const float *sp = src + ((size_t)n * SH + y) * SW * Cs;
        if (r < 0 || r >= PH) continue;
        /* VL pixels x VL channels at a time, transposed in registers; the pixels past the row's end
           are zeros and land on the padding (stores stop at the padded row's end) */
        for (x0 = 0; x0 < SW && x0 + rx < PWv; x0 += VL) {
            const int nx = SW - x0 < VL ? SW - x0 : VL, nst = PWv - x0 - rx < VL ? PWv - x0 - rx : VL;
            float *d = pn + (size_t)r * PWv + x0 + rx;
            int cb;
            if (Cs == 1) { convrnn__vstn(d, convrnn__vldn(sp + x0, nx), nst); continue; }
            for (cb = 0; cb < Cs; cb += VL) {
                const int nc = Cs - cb < VL ? Cs - cb : VL;
                convrnn__vf v[CONVRNN__VL];
                for (q = 0; q < VL; q++) v[q] = q < nx ? convrnn__vldn(sp + (size_t)(x0 + q) * Cs + cb, nc) : convrnn__vzero();
                convrnn__vtrans(v);
                for (s2 = 0; s2 < nc; s2++) convrnn__vstn(d + (size_t)(cb + s2) * plane, v[s2], nst);
            }
        }
    }
}
/* One tile: output rows [py0, py0 + nr) (nr <= R) of sample n, ND (a constant after inlining) of
   the destination channels in the vector loop; every block of VL columns. */
CONVRNN__FINL void convrnn__pl_tile(const convrnn__plp *c, int n, int py0, int nr, const int ND, const int R) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, Cs = c->Cs, Cd = c->Cd, kh = g->kh, kw = g->kw;
    int xb, v, d, ky, kx, s2, j;
    for (xb = 0; xb < c->nxb; xb++) {
        convrnn__vf acc[CONVRNN__PL_RMAX][CONVRNN__PL_MAXD];
        const int x0 = xb * VL, nx = c->DW - x0 < VL ? c->DW - x0 : VL;
        for (v = 0; v < R; v++)
            for (d = 0; d < ND; d++)
                acc[v][d] = c->bias && !c->bwd && d < Cd ? convrnn__vset1(c->bias[d]) : convrnn__vzero();
        for (ky = 0; ky < kh; ky++)
            for (kx = 0; kx < kw; kx++)
                for (s2 = 0; s2 < Cs; s2++) {
                    const float *pr = c->pl + (((size_t)(n - c->nsub) * Cs + s2) * c->PH + py0 + ky) * c->PWv + x0 + kx;
                    const float *wk = c->wt + (((size_t)ky * kw + kx) * Cs + s2) * ND;
                    convrnn__vf a[CONVRNN__PL_RMAX];
                    CONVRNN__UNROLL for (v = 0; v < R; v++) a[v] = v < nr ? convrnn__vld(pr + (size_t)v * c->PWv) : convrnn__vzero();
                    CONVRNN__UNROLL for (d = 0; d < ND; d++) {
                        const convrnn__vf wv = convrnn__vset1(wk[d]);
                        CONVRNN__UNROLL for (v = 0; v < R; v++) acc[v][d] = convrnn__vfma(a[v], wv, acc[v][d]);
                    }
                }
        for (v = 0; v < nr; v++) {   /* channel vectors of VL pixels -> pixel rows, in registers */
            float *drow = c->dst + (((size_t)n * c->DH + py0 + v) * c->DW + x0) * Cd;
            convrnn__vf r[CONVRNN__VL];
            if (Cd == 1) {   /* already a pixel row */
                convrnn__vstn(drow, c->bwd ? convrnn__vadd(convrnn__vldn(drow, nx), acc[v][0]) : acc[v][0], nx);
                continue;
            }
            for (d = 0; d < VL; d++) r[d] = d < Cd ? acc[v][d < ND ? d : 0] : convrnn__vzero();
            convrnn__vtrans(r);
            if (c->bwd)
                for (j = 0; j < nx; j++) convrnn__vstn(drow + (size_t)j * Cd, convrnn__vadd(convrnn__vldn(drow + (size_t)j * Cd, Cd), r[j]), Cd);
            else
                for (j = 0; j < nx; j++) convrnn__vstn(drow + (size_t)j * Cd, r[j], Cd);
        }
    }
}
/* task rt of sample n: rows [rt R, rt R + R) */
static void convrnn__pl_task(const convrnn__plp *c, int n, int rt) {
    const int R = CONVRNN__PL_ROWS(c->nd), py0 = rt * R, nr = c->DH - py0 < R ? c->DH - py0 : R;
    switch (c->nd) {
    case 1: convrnn__pl_tile(c, n, py0, nr, 1, CONVRNN__PL_ROWS(1)); break;
    case 2: convrnn__pl_tile(c, n, py0, nr, 2, CONVRNN__PL_ROWS(2)); break;
#if CONVRNN__PL_MAXD >= 4
    case 4: convrnn__pl_tile(c, n, py0, nr, 4, CONVRNN__PL_ROWS(4)); break;
#endif
#if CONVRNN__PL_MAXD >= 8
    case 8: convrnn__pl_tile(c, n, py0, nr, 8, CONVRNN__PL_ROWS(8)); break;
#endif
    default: break;
    }
}
/* the weight from source channel s to destination channel d at tap (ky, kx) of the destination's
   window: forward w[ky][kx][s][d]; backward-data (source dy, destination dx) w rotated by 180
   degrees with ci/co swapped, w[kh-1-ky][kw-1-kx][d][s] */
CONVRNN__FINL float convrnn__w_sd(const convrnn__geom *g, const float *w, int bwd, int ky, int kx, int s, int d) {
    return bwd ? w[(((size_t)(g->kh - 1 - ky) * g->kw + (g->kw - 1 - kx)) * g->ci + d) * g->co + s]
               : w[(((size_t)ky * g->kw + kx) * g->ci + s) * g->co + d];
}
static int convrnn__sconv_plane(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                                const float *bias, float *dst) {
    const int VL = CONVRNN__VL, kh = g->kh, kw = g->kw, taps = kh * kw;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow, SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;
    const int nd = Cd <= 1 ? 1 : Cd <= 2 ? 2 : Cd <= 4 ? 4 : 8, R = CONVRNN__PL_ROWS(nd);
    const int nxb = (DW + VL - 1) / VL, PH = DH + kh - 1, PWv = nxb * VL + kw - 1;
    const int nrt = (DH + R - 1) / R, ntask = g->n * nrt;
    const int ry = bwd ? kh - 1 - g->pt : g->pt, rx = bwd ? kw - 1 - g->pl : g->pl;
    const double flops = (double)g->n * DH * DW * Cd * Cs * taps;
    const size_t sz_w = convrnn__al((size_t)taps * Cs * nd * sizeof(float));
    const size_t pls = (size_t)Cs * PH * PWv;   /* one sample's planes */
    int nthr = convrnn__nthreads(), local, slots, t;
    size_t psz;
    char *mem, *base;
    float *wt, *pl;
    convrnn__plp c;
    if (Cd > CONVRNN__PL_MAXD || g->s != 1) return 0;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    /* a copy of every sample above 4 MB, on one thread or samples that split evenly among the
       threads: each thread has one slot of planes and runs sample after sample through it (the
       whole copy is the size of the source, padded, and costs its page faults: 53 MB and 20x
       slower for 16 x 112x112 x 64); smaller copies are made whole, as before */
    local = convrnn__by_sample(g->n, nthr);
    slots = (double)g->n * pls * sizeof(float) > CONVRNN__PL_SLOT_BYTES && (nthr == 1 || local);
    psz = (slots ? (size_t)nthr : (size_t)g->n) * pls;
    mem = (char *)convrnn__scratch(actx, sz_w + psz * sizeof(float) + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    wt = (float *)base;
    pl = (float *)(base + sz_w);
    for (t = 0; t < taps; t++) {   /* Wt[tap][s][d], d padded to nd */
        const int ky = t / kw, kx = t % kw;
        int s2, d;
        for (s2 = 0; s2 < Cs; s2++)
            for (d = 0; d < nd; d++)
                wt[((size_t)t * Cs + s2) * nd + d] = d < Cd ? convrnn__w_sd(g, w, bwd, ky, kx, s2, d) : 0.0f;
    }
    c.g = g; c.pl = pl; c.wt = wt; c.bias = bias; c.dst = dst; c.bwd = bwd; c.Cs = Cs; c.Cd = Cd; c.nd = nd;
    c.DH = DH; c.DW = DW; c.PH = PH; c.PWv = PWv; c.nxb = nxb; c.nsub = 0;
CONVRNN__OMP_REGION(nthr > 1)
    {
        int q, r, n0 = 0, n1 = g->n;
        if (slots) {   /* samples claimed in turn, each through the thread's slot */
            convrnn__plp cc = c;
            int first = 1;
            cc.pl = pl + (size_t)convrnn__tid() * pls;
CONVRNN__OMP_FOR_DYN
            for (q = 0; q < g->n; q++) {
                cc.nsub = q;
                convrnn__pl_pad(&cc, src, q, SH, SW, ry, rx, first);
                first = 0;
                for (r = 0; r < nrt; r++) convrnn__pl_task(&cc, q, r);
            }
        } else if (local && convrnn__team() > 1) {   /* chunks of samples claimed in turn, each padded first */
            const int nch = convrnn__nchunks(g->n, convrnn__team());
            int ch;
CONVRNN__OMP_FOR_DYN
            for (ch = 0; ch < nch; ch++) {
                convrnn__share(g->n, ch, nch, &n0, &n1);
                for (q = n0; q < n1; q++) convrnn__pl_pad(&c, src, q, SH, SW, ry, rx, 1);
                for (q = n0 * nrt; q < n1 * nrt; q++) convrnn__pl_task(&c, q / nrt, q % nrt);
            }
        } else {
CONVRNN__OMP_FOR_STATIC
            for (q = 0; q < g->n; q++) convrnn__pl_pad(&c, src, q, SH, SW, ry, rx, 1);
CONVRNN__OMP_FOR_DYN
            for (q = 0; q < ntask; q++) convrnn__pl_task(&c, q / nrt, q % nrt);
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Narrow outputs from wide sources (at most VL/2 destination channels, a whole number of vectors of
   source channels, stride 1): channel dot products, pixels of the destination in the result's
   lanes. The weights go to Wd[tap][d][s] (forward: w[ky][kx][s][d]; backward-data: w rotated by 180
   degrees, w[kh-1-ky][kw-1-kx][d][s], as for convrnn__sconv_plane; d padded with zero rows to ND =
   Cd rounded up to 1, 2, 4 or 8), and each sample to a zero-padded NHWC copy Q[DH + kh - 1][DW +
   kw - 1][Cs] in its thread's 64-byte aligned slot (Q[y + ry][x + rx] = source (y, x), ry, rx as
   in convrnn__sconv_plane: the window of destination pixel (py, px) starts at Q[py][px]; a row
   copy, no transposes; unaligned sources cost a split load per vector). A group of P = VL / ND
   consecutive destination pixels (consecutive in NHWC, across rows too) keeps P x ND = VL
   accumulators whose lanes hold partial sums over the source channels:
       acc[p][d] += Q[py_p + ky][px_p + kx][sv] * Wd[tap][d][sv]   for every tap and source vector sv;
   then lane p ND + d of convrnn__vhsums(acc) is the destination (p, d). Every FMA is full width
   (the planar kernel fills 14 of 16 lanes on 14-wide maps and transposes its source and results).
   Forward adds the bias, backward-data adds the result to dx. Tasks are samples, or runs of a
   sample's groups when the samples are fewer than CONVRNN__CHUNKS_PER_THREAD per thread; each
   destination element is summed by one task in a fixed order. With VL = 8 (AVX2) it runs only for
   one destination channel (ND = 1, 8 pixels a group): measured on AVX2, the input gradient of
   56x56 3->64 took 4.3-5.1 ms against the planar kernel's 4.3-4.4, that of 28x28 1->16 0.46-0.56
   against 0.96. NEON (VL = 4) keeps the planar kernel: 4 accumulators cannot hide the FMA latency
   where the planar tiles have 8 or more, and no ARM machine was at hand to measure. Returns 0
   (nothing written) when it does not apply or without scratch. */
#define CONVRNN__DOT_MAXTAPS 64
typedef struct {
    const convrnn__geom *g;
    const float *src, *wd, *bias;
    float *dst;
    int bwd, Cs, Cd, nv, SH, SW, DH, DW, QH, QW, ry, rx;
    size_t toff[CONVRNN__DOT_MAXTAPS];   /* tap t's offset in Q from the window's start */
    float bvec[CONVRNN__VL];             /* lane p ND + d: bias[d] (forward, Cd = ND) */
} convrnn__dotp;
/* acc[p ND + d] += a[p] * wk[d wrow] for p < VL / ND, d < ND, a[p] = the vector at org[p] + o */
CONVRNN__FINL void convrnn__dot_fma(convrnn__vf *acc, const float *const *org, size_t o, const float *wk, size_t wrow, const int ND) {
    convrnn__vf a[CONVRNN__VL], wv[8];
    int i;
    for (i = 0; i < CONVRNN__VL / ND; i++) a[i] = convrnn__vld(org[i] + o);
    CONVRNN__UNROLL for (i = 0; i < ND; i++) wv[i] = convrnn__vld(wk + i * wrow);
    CONVRNN__UNROLL for (i = 0; i < CONVRNN__VL; i++) acc[i] = convrnn__vfma(a[i / ND], wv[i % ND], acc[i]);   /* i = p ND + d */
}
/* acc += every tap's products for the pixels whose windows start at org[0..VL/ND); NV source
   vectors a tap (a constant after inlining where it is 1 or 2) */
CONVRNN__FINL void convrnn__dot_taps(const convrnn__dotp *c, const float *const *org, convrnn__vf *acc, const int ND, const int NV) {
    const int VL = CONVRNN__VL, taps = c->g->kh * c->g->kw;
    int t, v;
    for (t = 0; t < taps; t++)
        for (v = 0; v < NV; v++)
            convrnn__dot_fma(acc, org, c->toff[t] + (size_t)v * VL, c->wd + ((size_t)t * ND * NV + v) * VL, (size_t)NV * VL, ND);
}
/* the group of sample n (padded to q) whose first pixel is q0, at (py, px); its pixels past the
   map's end repeat q0 and are not stored. ND a constant after inlining. */
CONVRNN__FINL void convrnn__dot_group(const convrnn__dotp *c, const float *q, int n, int q0, int py, int px, const int ND) {
    const int VL = CONVRNN__VL, P = CONVRNN__VL / ND, nv = c->nv, Cd = c->Cd;
    const int npix = c->DH * c->DW, np = npix - q0 < P ? npix - q0 : P;
    const float *org[CONVRNN__VL];   /* each pixel's window start in q */
    convrnn__vf acc[CONVRNN__VL], r;
    float *dp = c->dst + ((size_t)n * npix + q0) * Cd;
    int p, d;
    for (p = 0; p < P; p++) {   /* pixel q0 + p at (py, px + p), wrapped to the next rows */
        int y = py, x = px + p;
        while (x >= c->DW) { x -= c->DW; y++; }
        if (p >= np) { y = py; x = px; }
        org[p] = q + ((size_t)y * c->QW + x) * c->Cs;
    }
    CONVRNN__UNROLL for (p = 0; p < VL; p++) acc[p] = convrnn__vzero();
    switch (nv) {   /* one or two source vectors a tap as constants (measured: a run-time count of
                       two took 3.1 ms for 28x28 8->32's input gradient, the constant 2.3) */
    case 1: convrnn__dot_taps(c, org, acc, ND, 1); break;
    case 2: convrnn__dot_taps(c, org, acc, ND, 2); break;
    default: convrnn__dot_taps(c, org, acc, ND, nv); break;
    }
    r = convrnn__vhsums(acc);
    if (Cd == ND) {   /* the group's results are contiguous in dst */
        if (c->bwd) r = convrnn__vadd(convrnn__vldn(dp, np * Cd), r);
        else if (c->bias) r = convrnn__vadd(r, convrnn__vld(c->bvec));
        convrnn__vstn(dp, r, np * Cd);
    } else {
        float b[CONVRNN__VL];
        convrnn__vst(b, r);
        for (p = 0; p < np; p++)
            for (d = 0; d < Cd; d++) {
                float *o = dp + (size_t)p * Cd + d;
                *o = c->bwd ? *o + b[p * ND + d] : c->bias ? b[p * ND + d] + c->bias[d] : b[p * ND + d];
            }
    }
}
/* sample n into q (its padding is zero and stays so: every sample writes the same places) */
static void convrnn__dot_pad(const convrnn__dotp *c, float *q, int n) {
    int y, x0 = c->rx > 0 ? 0 : -c->rx, x1 = c->SW < c->QW - c->rx ? c->SW : c->QW - c->rx;
    for (y = 0; y < c->SH; y++)
        if (y + c->ry >= 0 && y + c->ry < c->QH && x1 > x0)
            memcpy(q + ((size_t)(y + c->ry) * c->QW + x0 + c->rx) * c->Cs,
                   c->src + (((size_t)n * c->SH + y) * c->SW + x0) * c->Cs, (size_t)(x1 - x0) * c->Cs * sizeof(float));
}
/* groups [g0, g1) of sample n, padded to q */
static void convrnn__dot_run(const convrnn__dotp *c, const float *q, int n, int g0, int g1, int nd) {
    const int P = CONVRNN__VL / nd;
    int k, py = g0 * P / c->DW, px = g0 * P % c->DW;
    for (k = g0; k < g1; k++) {
        switch (nd) {
        case 1: convrnn__dot_group(c, q, n, k * P, py, px, 1); break;
        case 2: convrnn__dot_group(c, q, n, k * P, py, px, 2); break;
#if CONVRNN__PL_MAXD >= 4
        case 4: convrnn__dot_group(c, q, n, k * P, py, px, 4); break;
#endif
#if CONVRNN__PL_MAXD >= 8
        case 8: convrnn__dot_group(c, q, n, k * P, py, px, 8); break;
#endif
        default: break;
        }
        for (px += P; px >= c->DW; px -= c->DW) py++;
    }
}
static int convrnn__sconv_dot(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                              const float *bias, float *dst) {
    const int VL = CONVRNN__VL, kh = g->kh, kw = g->kw, taps = kh * kw;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co, nv = Cs / CONVRNN__VL;
    const int nd = Cd <= 1 ? 1 : Cd <= 2 ? 2 : Cd <= 4 ? 4 : 8, P = CONVRNN__VL / nd;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow;
    const int ngr = (DH * DW + P - 1) / P;
    const double flops = (double)g->n * DH * DW * Cd * Cs * taps;
    const size_t sz_w = convrnn__al((size_t)taps * nd * Cs * sizeof(float));
    const size_t sz_q = convrnn__al((size_t)(DH + kh - 1) * (DW + kw - 1) * Cs * sizeof(float));
    int nthr = convrnn__nthreads(), pieces, ntask, t;
    char *mem, *base;
    convrnn__dotp c;
    if (Cd > CONVRNN__PL_MAXD || g->s != 1 || Cs % VL != 0 || taps > CONVRNN__DOT_MAXTAPS) return 0;
    if (VL < 16 && (nd > 1 || VL < 8)) return 0;   /* AVX2: one channel only; NEON: not at all (see above) */
    if (flops <= CONVRNN__PAR_FLOPS) nthr = 1;
    pieces = nthr == 1 || g->n >= CONVRNN__CHUNKS_PER_THREAD * nthr ? 1 : (CONVRNN__CHUNKS_PER_THREAD * nthr + g->n - 1) / g->n;
    if (pieces > ngr) pieces = ngr;
    ntask = g->n * pieces;
    mem = (char *)convrnn__scratch(actx, sz_w + (size_t)nthr * sz_q + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    c.wd = (float *)base;
    for (t = 0; t < taps; t++) {   /* Wd[tap][d][s], d padded to nd */
        const int ky = t / kw, kx = t % kw;
        int s2, d;
        for (d = 0; d < nd; d++)
            for (s2 = 0; s2 < Cs; s2++)
                ((float *)base)[((size_t)t * nd + d) * Cs + s2] = d < Cd ? convrnn__w_sd(g, w, bwd, ky, kx, s2, d) : 0.0f;
    }
    memset(base + sz_w, 0, (size_t)nthr * sz_q);
    c.g = g; c.src = src; c.bias = bias; c.dst = dst; c.bwd = bwd; c.Cs = Cs; c.Cd = Cd; c.nv = nv;
    c.SH = bwd ? g->oh : g->h; c.SW = bwd ? g->ow : g->w; c.DH = DH; c.DW = DW; c.QH = DH + kh - 1; c.QW = DW + kw - 1;
    c.ry = bwd ? kh - 1 - g->pt : g->pt; c.rx = bwd ? kw - 1 - g->pl : g->pl;
    for (t = 0; t < taps; t++) c.toff[t] = ((size_t)(t / kw) * c.QW + t % kw) * Cs;
    for (t = 0; t < VL; t++) c.bvec[t] = bias && !bwd && t % nd < Cd ? bias[t % nd] : 0.0f;
CONVRNN__OMP_REGION(nthr > 1)
    {
        float *q = (float *)(base + sz_w + (size_t)convrnn__tid() * sz_q);
        int k, cur = -1;
CONVRNN__OMP_FOR_DYN
        for (k = 0; k < ntask; k++) {
            const int n = k / pieces, pc = k % pieces;
            if (n != cur) convrnn__dot_pad(&c, q, n);
            cur = n;
            convrnn__dot_run(&c, q, n, (int)((long long)ngr * pc / pieces), (int)((long long)ngr * (pc + 1) / pieces), nd);
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* The 16 pixel pointers of a 4x4 patch with top-left source pixel (sy0, sx0) of sample n of an
   NHWC source [N][SH][SW][C]: px[4a + b] at (sy0 + a, sx0 + b), NULL off the map. */
static void convrnn__wino_patch(const float *src, int n, int SH, int SW, int C, int sy0, int sx0, const float **px) {
    int i;
    for (i = 0; i < 16; i++) {
        const int sy = sy0 + i / 4, sx = sx0 + i % 4;
        px[i] = sy >= 0 && sy < SH && sx >= 0 && sx < SW ? src + (((size_t)n * SH + sy) * SW + sx) * C : NULL;
    }
}
/* Row a of a transformed 4x4 tile, o[b] = position xi = 4a + b: stored at v0 + (xi - x0)*vx when
   xi is in [x0, x1). */
CONVRNN__FINL void convrnn__wino_put(float *v0, size_t vx, int a, const convrnn__vf *o, int x0, int x1) {
    int b2;
    for (b2 = 0; b2 < 4; b2++)
        if (4 * a + b2 >= x0 && 4 * a + b2 < x1) convrnn__vst(v0 + (size_t)(4 * a + b2 - x0) * vx, o[b2]);
}
/* Winograd input transform of one tile: v0[(xi - x0) * vx + c] = (B^T d B)[xi] for channels
   [0, C) of the 4x4 patch d, pixel (a, b) at px[4a + b] (NULL: zeros), for the positions
   xi = 4a + b in [x0, x1) (the forward takes all 16). Channel vectors are stored whole (the scratch
   rows are padded to whole vectors). */
CONVRNN__FINL void convrnn__wino_in(const float *const *px, int C, float *v0, size_t vx, int x0, int x1) {
    int c;
    for (c = 0; c < C; c += CONVRNN__VL) {
        const int nn = C - c < CONVRNN__VL ? C - c : CONVRNN__VL;
        convrnn__vf d[4][4], r[4][4];
        int a, b2;
        for (a = 0; a < 4; a++)
            for (b2 = 0; b2 < 4; b2++)
                d[a][b2] = px[4 * a + b2] ? convrnn__vldn(px[4 * a + b2] + c, nn) : convrnn__vzero();
        for (b2 = 0; b2 < 4; b2++) {
            r[0][b2] = convrnn__vsub(d[0][b2], d[2][b2]);
            r[1][b2] = convrnn__vadd(d[1][b2], d[2][b2]);
            r[2][b2] = convrnn__vsub(d[2][b2], d[1][b2]);
            r[3][b2] = convrnn__vsub(d[1][b2], d[3][b2]);
        }
        for (a = x0 / 4; a <= (x1 - 1) / 4; a++) {
            convrnn__vf o[4];
            o[0] = convrnn__vsub(r[a][0], r[a][2]);
            o[1] = convrnn__vadd(r[a][1], r[a][2]);
            o[2] = convrnn__vsub(r[a][2], r[a][1]);
            o[3] = convrnn__vsub(r[a][1], r[a][3]);
            convrnn__wino_put(v0 + c, vx, a, o, x0, x1);
        }
    }
}
/* One Winograd task: tiles [t0, t0 + nt) (V, Mb: the thread's scratch). Tile (n, ty, tx) reads
   source pixel (2ty + a - ry, 2tx + b - rx) in place, zeros off the map. */
typedef struct {
    const convrnn__geom *g;
    const float *src, *bp, *bias;
    float *dst;
    int bwd, Cs, Cd, DH, DW, SH, SW, TH, TW, ry, rx, npan, CdM, CsV, TB;
} convrnn__winop;
static void convrnn__wino_task(const convrnn__winop *cx, float *V, float *Mb, int t0, int nt) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = CONVRNN__NVI * CONVRNN__VL;
    const int bwd = cx->bwd, Cs = cx->Cs, Cd = cx->Cd, DH = cx->DH, DW = cx->DW, TH = cx->TH, TW = cx->TW;
    const int SH = cx->SH, SW = cx->SW, npan = cx->npan, CdM = cx->CdM, CsV = cx->CsV;
    const float *src = cx->src, *bp = cx->bp, *bias = cx->bias;
    float *dst = cx->dst;
    const size_t vx = (size_t)cx->TB * CsV, mx = (size_t)cx->TB * CdM;   /* stride between positions xi */
    int t, c, i, xi, pp, mt;
    /* V[xi][t][c] = (B^T d B)[xi] */
    for (t = 0; t < nt; t++) {
        const int q = t0 + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
        const float *px[16];
        convrnn__wino_patch(src, n, SH, SW, Cs, 2 * ty - cx->ry, 2 * tx - cx->rx, px);
        convrnn__wino_in(px, Cs, V + (size_t)t * CsV, vx, 0, 16);
    }
    /* M[xi] = V[xi] U[xi] */
    for (xi = 0; xi < 16; xi++)
        for (pp = 0; pp < npan; pp++) {
            const int c0 = pp * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL;
            const float *pb = bp + ((size_t)xi * npan + pp) * Cs * NR;
            const ptrdiff_t zero_off[1] = { 0 };
            for (mt = 0; mt < nt; mt += MR) {
                const float *bs[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) {
                    bs[i] = V + (size_t)xi * vx + (size_t)(mt + i < nt ? mt + i : mt) * CsV;
                    crow[i] = mt + i < nt ? Mb + (size_t)xi * mx + (size_t)(mt + i) * CdM + c0 : NULL;
                }
                convrnn__ukr_run(nvp, CONVRNN__MRI, 1, bs, zero_off, &Cs, &pb, crow, wp, 0, NULL);
            }
        }
    /* Y = A^T M A (+ bias, or added to dx) */
    for (t = 0; t < nt; t++) {
        const int q = t0 + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
        const int ny2 = DH - 2 * ty < 2 ? DH - 2 * ty : 2, nx2 = DW - 2 * tx < 2 ? DW - 2 * tx : 2;
        for (c = 0; c < Cd; c += VL) {
            const int nn = Cd - c < VL ? Cd - c : VL;
            convrnn__vf m[4][4], s2[2][4], y[2][2];
            int a, b2;
            for (a = 0; a < 4; a++)
                for (b2 = 0; b2 < 4; b2++) m[a][b2] = convrnn__vld(Mb + (size_t)(a * 4 + b2) * mx + (size_t)t * CdM + c);
            for (b2 = 0; b2 < 4; b2++) {
                s2[0][b2] = convrnn__vadd(convrnn__vadd(m[0][b2], m[1][b2]), m[2][b2]);
                s2[1][b2] = convrnn__vsub(convrnn__vsub(m[1][b2], m[2][b2]), m[3][b2]);
            }
            for (a = 0; a < 2; a++) {
                y[a][0] = convrnn__vadd(convrnn__vadd(s2[a][0], s2[a][1]), s2[a][2]);
                y[a][1] = convrnn__vsub(convrnn__vsub(s2[a][1], s2[a][2]), s2[a][3]);
            }
            for (a = 0; a < ny2; a++)
                for (b2 = 0; b2 < nx2; b2++) {
                    float *o = dst + (((size_t)n * DH + 2 * ty + a) * DW + 2 * tx + b2) * Cd + c;
                    convrnn__vf v = y[a][b2];
                    if (bwd) v = convrnn__vadd(convrnn__vldn(o, nn), v);
                    else if (bias) v = convrnn__vadd(v, convrnn__vldn(bias + c, nn));
                    convrnn__vstn(o, v, nn);
                }
        }
    }
}

/* Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (forward, and backward-data, which is the
   3x3 correlation of the zero-padded dy with the kernel rotated by 180 degrees and ci/co swapped).
   Per 2x2 output tile with 4x4 input patch d (read in place, zeros off the map):
       Y = A^T [ (G g G^T) (.) (B^T d B) ] A
       B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
       A^T = [1 1 1 0; 0 1 -1 -1]
   i.e. 16 GEMMs (one per transform position xi) of [tiles x Cs] x [Cs x Cd] instead of 36 products
   per tile and channel pair (2.25x fewer multiplications). A task owns a block of TB tiles and all
   output channels: it transforms its patches (V), runs the 16 GEMMs with the register-blocked
   kernel into M, and transforms M back into its output pixels (one writer per output element, a
   fixed summation order). Returns 0 (nothing written) without scratch memory. */
static int convrnn__sconv_wino(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                               const float *bias, float *dst) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = CONVRNN__NVI * CONVRNN__VL;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow;
    const int SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;
    const int TH = (DH + 1) / 2, TW = (DW + 1) / 2, T = g->n * TH * TW;
    const int ry = bwd ? 2 - g->pt : g->pt, rx = bwd ? 2 - g->pl : g->pl;   /* source row of patch row 0: 2ty - ry */
    const int npan = (Cd + NR - 1) / NR, CdM = convrnn__ldv(npan * NR);
    const int CsV = convrnn__ldv(Cs);
    /* TB tiles per task (a multiple of MR, fewer when the channels are many) */
    const int tb0 = (int)(16384 / ((double)(Cs + Cd) * MR)), TB = MR * (tb0 < 1 ? 1 : tb0 > 4 ? 4 : tb0);
    const int ntask = (T + TB - 1) / TB;
    const double flops = 16.0 * T * Cs * Cd;
    const size_t bsz = (size_t)16 * npan * Cs * NR;
    const size_t sz_v = convrnn__al((size_t)16 * TB * CsV * sizeof(float)), sz_m = convrnn__al((size_t)16 * TB * CdM * sizeof(float));
    const size_t per_thr = sz_v + sz_m, off_thr = convrnn__al(bsz * sizeof(float));
    int nthr = convrnn__nthreads(), task, p, local;
    char *mem, *base;
    float *bp;
    convrnn__winop cx;
    if (g->kh != 3 || g->kw != 3 || g->s != 1) return 0;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    local = convrnn__by_sample(g->n, nthr);
    mem = (char *)convrnn__scratch(actx, off_thr + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    bp = (float *)base;
    cx.g = g; cx.src = src; cx.bp = bp; cx.bias = bias; cx.dst = dst; cx.bwd = bwd; cx.Cs = Cs; cx.Cd = Cd;
    cx.DH = DH; cx.DW = DW; cx.SH = SH; cx.SW = SW; cx.TH = TH; cx.TW = TW; cx.ry = ry; cx.rx = rx; cx.npan = npan;
    cx.CdM = CdM; cx.CsV = CsV; cx.TB = TB;
    /* one parallel region: pack U, tasks; with an even split of the batch the threads claim
       chunks of samples and transform each (measured: reading the source in place instead of a
       zero-padded copy saves the copy, about 10% of a 56x56 64->128 forward) */
CONVRNN__OMP_REGION(nthr > 1)
    {
    char *scr = base + off_thr + per_thr * (size_t)convrnn__tid();
    int n0, n1;
    float *V = (float *)scr, *Mb = (float *)(scr + sz_v);
    /* U = G g G^T per (source channel, destination channel), packed per xi into column panels */
CONVRNN__OMP_FOR_STATIC
    for (p = 0; p < npan; p++) {
        const int c0 = p * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, ld = ((wp + VL - 1) / VL) * VL;
        int cs, j, a, b2;
        for (cs = 0; cs < Cs; cs++)
            for (j = 0; j < ld; j++) {
                float gk[3][3], t4[4][3];
                int xi;
                if (j >= wp) {
                    for (xi = 0; xi < 16; xi++) bp[((size_t)xi * npan + p) * Cs * NR + (size_t)cs * ld + j] = 0;
                    continue;
                }
                for (a = 0; a < 3; a++)
                    for (b2 = 0; b2 < 3; b2++)
                        gk[a][b2] = bwd ? w[(((size_t)(2 - a) * 3 + (2 - b2)) * g->ci + c0 + j) * g->co + cs]
                                        : w[(((size_t)a * 3 + b2) * g->ci + cs) * g->co + c0 + j];
                for (b2 = 0; b2 < 3; b2++) {
                    t4[0][b2] = gk[0][b2];
                    t4[1][b2] = 0.5f * (gk[0][b2] + gk[1][b2] + gk[2][b2]);
                    t4[2][b2] = 0.5f * (gk[0][b2] - gk[1][b2] + gk[2][b2]);
                    t4[3][b2] = gk[2][b2];
                }
                for (a = 0; a < 4; a++) {   /* panel rows have the panel's own width ld */
                    float *u = bp + ((size_t)(a * 4) * npan + p) * Cs * NR + (size_t)cs * ld + j;
                    const size_t sx = (size_t)npan * Cs * NR;
                    u[0] = t4[a][0];
                    u[sx] = 0.5f * (t4[a][0] + t4[a][1] + t4[a][2]);
                    u[2 * sx] = 0.5f * (t4[a][0] - t4[a][1] + t4[a][2]);
                    u[3 * sx] = t4[a][2];
                }
            }
    }
    if (local && convrnn__team() > 1) {   /* chunks of samples claimed in turn */
        const int nch = convrnn__nchunks(g->n, convrnn__team());
        int ch, q;
CONVRNN__OMP_FOR_DYN
        for (ch = 0; ch < nch; ch++) {
            int T1;
            convrnn__share(g->n, ch, nch, &n0, &n1);
            T1 = n1 * TH * TW;
            for (q = n0 * TH * TW; q < T1; q += TB) convrnn__wino_task(&cx, V, Mb, q, T1 - q < TB ? T1 - q : TB);
        }
    } else {
CONVRNN__OMP_FOR_DYN
        for (task = 0; task < ntask; task++)
            convrnn__wino_task(&cx, V, Mb, task * TB, T - task * TB < TB ? T - task * TB : TB);
    }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions with many channels (forward, and
   backward-data as in convrnn__sconv_wino). Per 4x4 output tile with 6x6 input patch d:
       Y = A^T [ (G g G^T) (.) (B^T d B) ] A,
       B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
       G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
       A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
   i.e. 36 GEMMs (one per transform position xi) of [tiles x Cs] x [Cs x Cd]: 36 products per tile
   and channel pair instead of 144 (4x fewer). On small maps the tiles are few (4 per sample on 7x7)
   and the transformed weights (36 Cs Cd floats, 4x the kernel) dwarf them, so they are never
   stored whole: for one column panel of output channels and a block of tiles
   (convrnn__w4_panel) the weights of the panel are transformed block by block of source channels
   into scratch that stays in cache (U), the 36 GEMMs add each block into M, and M is transformed
   back into the panel's channels of the block's pixels. A task owns a block of tiles, transformed
   into the thread's own scratch (V[xi][t][c]), and runs it through every panel. Each output
   element has one writer and a fixed summation order.
   Rounding: the transforms' constants (up to 8 in A, 5 in B) make the error larger than the other
   kernels' (see "Rounding" in [IMPL-SIMD]). Returns 0 (nothing written) without scratch memory. */
CONVRNN__FINL void convrnn__w4_bt(const convrnn__vf *d, convrnn__vf *r) {   /* r = B^T d (6 vectors) */
    const convrnn__vf c4 = convrnn__vset1(4.0f), c5 = convrnn__vset1(-5.0f), c2 = convrnn__vset1(2.0f);
    const convrnn__vf a13 = convrnn__vsub(d[1], d[3]), b42 = convrnn__vsub(d[4], d[2]);
    r[0] = convrnn__vfma(c4, d[0], convrnn__vfma(c5, d[2], d[4]));
    r[1] = convrnn__vfma(convrnn__vset1(-4.0f), convrnn__vadd(d[1], d[2]), convrnn__vadd(d[3], d[4]));
    r[2] = convrnn__vfma(c4, convrnn__vsub(d[1], d[2]), convrnn__vsub(d[4], d[3]));
    r[3] = convrnn__vfma(convrnn__vset1(-2.0f), a13, b42);
    r[4] = convrnn__vfma(c2, a13, b42);
    r[5] = convrnn__vfma(c4, d[1], convrnn__vfma(c5, d[3], d[5]));
}
CONVRNN__FINL void convrnn__w4_at(const convrnn__vf *m, convrnn__vf *y) {   /* y = A^T m (6 -> 4 vectors) */
    const convrnn__vf s12 = convrnn__vadd(m[1], m[2]), d12 = convrnn__vsub(m[1], m[2]);
    const convrnn__vf s34 = convrnn__vadd(m[3], m[4]), d34 = convrnn__vsub(m[3], m[4]);
    y[0] = convrnn__vadd(convrnn__vadd(m[0], s12), s34);
    y[1] = convrnn__vfma(convrnn__vset1(2.0f), d34, d12);
    y[2] = convrnn__vfma(convrnn__vset1(4.0f), s34, s12);
    y[3] = convrnn__vadd(convrnn__vfma(convrnn__vset1(8.0f), d34, d12), m[5]);
}
CONVRNN__FINL void convrnn__w4_g(const convrnn__vf *g, convrnn__vf *u) {   /* u = G g (3 -> 6 vectors) */
    const convrnn__vf s = convrnn__vadd(g[0], g[2]), m6 = convrnn__vset1(-1.0f / 6.0f);
    const convrnn__vf q = convrnn__vfma(convrnn__vset1(1.0f / 24.0f), g[0], convrnn__vmul(convrnn__vset1(1.0f / 6.0f), g[2]));
    const convrnn__vf h = convrnn__vmul(convrnn__vset1(1.0f / 12.0f), g[1]);
    u[0] = convrnn__vmul(convrnn__vset1(0.25f), g[0]);
    u[1] = convrnn__vmul(m6, convrnn__vadd(s, g[1]));
    u[2] = convrnn__vmul(m6, convrnn__vsub(s, g[1]));
    u[3] = convrnn__vadd(q, h);
    u[4] = convrnn__vsub(q, h);
    u[5] = g[2];
}
static size_t convrnn__w4_str(size_t floats) { return floats % 1024 == 0 ? floats + 16 : floats; }
/* Blocks of n items: want of them where blocks of at least lo items allow, and none over hi */
static int convrnn__w4_blocks(int n, int lo, int hi, int want) {
    const int most = n / lo > 1 ? n / lo : 1, least = (n + hi - 1) / hi, b = want < most ? want : most;
    return b > least ? b : least;
}
/* The 36 pixel pointers of the 6x6 patch with top-left source pixel (sy0, sx0), NULL off the map. */
static void convrnn__w4_patch(const float *src, int n, int SH, int SW, int C, int sy0, int sx0, const float **px) {
    int i;
    for (i = 0; i < 36; i++) {
        const int sy = sy0 + i / 6, sx = sx0 + i % 6;
        px[i] = sy >= 0 && sy < SH && sx >= 0 && sx < SW ? src + (((size_t)n * SH + sy) * SW + sx) * C : NULL;
    }
}
/* V[xi * vx + c] = (B^T d B)[xi] for channels [0, C) of the 6x6 patch d, pixel (a, b) at px[6a + b]
   (NULL: zeros); channel vectors are stored whole (the rows are padded to whole vectors) */
CONVRNN__FINL void convrnn__w4_in(const float *const *px, int C, float *V, size_t vx) {
    int c, a, b2;
    for (c = 0; c < C; c += CONVRNN__VL) {
        const int nn = C - c < CONVRNN__VL ? C - c : CONVRNN__VL;
        convrnn__vf d[6], r[6][6], o[6];
        for (b2 = 0; b2 < 6; b2++) {   /* columns: r = B^T d */
            convrnn__vf col[6];
            for (a = 0; a < 6; a++) d[a] = px[6 * a + b2] ? convrnn__vldn(px[6 * a + b2] + c, nn) : convrnn__vzero();
            convrnn__w4_bt(d, col);
            for (a = 0; a < 6; a++) r[a][b2] = col[a];
        }
        for (a = 0; a < 6; a++) {   /* rows: (B^T d) B */
            convrnn__w4_bt(r[a], o);
            for (b2 = 0; b2 < 6; b2++) convrnn__vst(V + (size_t)(6 * a + b2) * vx + c, o[b2]);
        }
    }
}
/* U[xi * ux + cs * ld + j] = (G g G^T)[xi] of the kernel taps g[a][b] at src + tap * ts + cs * cst + j
   (j < wp; zero beyond, up to ld), tap = 3a + b, or 3(2 - a) + (2 - b) with rot */
static void convrnn__w4_pack(const float *src, size_t ts, size_t cst, int rot, int Cs, int wp, int ld, size_t ux, float *U) {
    int cs, j, a, b2;
    for (cs = 0; cs < Cs; cs++)
        for (j = 0; j < ld; j += CONVRNN__VL) {
            const int nn = wp - j < CONVRNN__VL ? wp - j : CONVRNN__VL;
            convrnn__vf g[3][3], col[3], t6[6][3], row[3], u[6];
            for (a = 0; a < 3; a++)
                for (b2 = 0; b2 < 3; b2++) {
                    const int tap = rot ? 3 * (2 - a) + (2 - b2) : 3 * a + b2;
                    g[a][b2] = convrnn__vldn(src + (size_t)tap * ts + (size_t)cs * cst + j, nn);
                }
            for (b2 = 0; b2 < 3; b2++) {   /* columns: t6 = G g */
                convrnn__vf o[6];
                for (a = 0; a < 3; a++) col[a] = g[a][b2];
                convrnn__w4_g(col, o);
                for (a = 0; a < 6; a++) t6[a][b2] = o[a];
            }
            for (a = 0; a < 6; a++) {   /* rows: (G g) G^T */
                int xb;
                for (b2 = 0; b2 < 3; b2++) row[b2] = t6[a][b2];
                convrnn__w4_g(row, u);
                for (xb = 0; xb < 6; xb++) convrnn__vst(U + (size_t)(6 * a + xb) * ux + (size_t)cs * ld + j, u[xb]);
            }
        }
}
typedef struct {
    const convrnn__geom *g;
    const float *w, *bias;
    float *dst;
    int bwd, Cs, Cd, CsV, DH, DW, TH, TW, KB;
    size_t ux, mx;
} convrnn__w4p;
/* Output panel p (channels [p NR, p NR + NR)) of tiles [t0, t0 + nb), whose transforms are at
   V[xi * vx + (t - t0) * CsV + c]: the weights of the panel transformed block by block of source
   channels (U, and for dx their transposed copy Wt), the GEMMs into M, and M transformed back. */
static void convrnn__w4_panel(const convrnn__w4p *cx, const float *V, size_t vx, int t0, int nb, int p, float *U, float *M,
                              float *Wt) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = CONVRNN__NVI * CONVRNN__VL;
    const convrnn__geom *g = cx->g;
    const int Cs = cx->Cs, Cd = cx->Cd, CsV = cx->CsV, DH = cx->DH, DW = cx->DW, TH = cx->TH, TW = cx->TW, KB = cx->KB;
    const int c0 = p * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
    const size_t ux = cx->ux, mx = cx->mx;
    const ptrdiff_t zero_off[1] = { 0 };
    int xi, mt, i, k0, c, t;
    if (cx->bwd) {   /* Wt[tap][cs][j] = w[tap][c0 + j][cs] (the input channels of the panel in rows) */
        int tap;
        for (tap = 0; tap < 9; tap++)
            convrnn__transp(Wt + (size_t)tap * Cs * ld, (size_t)ld, cx->w + ((size_t)tap * g->ci + c0) * g->co, (size_t)g->co, wp, Cs);
    }
    for (k0 = 0; k0 < Cs; k0 += KB) {   /* source channels in blocks: U of the block stays in cache */
        const int kb = Cs - k0 < KB ? Cs - k0 : KB;
        if (cx->bwd) convrnn__w4_pack(Wt + (size_t)k0 * ld, (size_t)Cs * ld, (size_t)ld, 1, kb, wp, ld, ux, U);
        else convrnn__w4_pack(cx->w + (size_t)k0 * g->co + c0, (size_t)g->ci * g->co, (size_t)g->co, 0, kb, wp, ld, ux, U);
        for (xi = 0; xi < 36; xi++) {   /* M[xi] (+)= V[xi] U[xi] */
            const float *pb = U + (size_t)xi * ux;
            for (mt = 0; mt < nb; mt += MR) {
                const float *bs[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) {
                    bs[i] = V + (size_t)xi * vx + (size_t)(mt + i < nb ? mt + i : mt) * CsV + k0;
                    crow[i] = mt + i < nb ? M + (size_t)xi * mx + (size_t)(mt + i) * ld : NULL;
                }
                convrnn__ukr_run(nvp, nb - mt < MR ? nb - mt : MR, 1, bs, zero_off, &kb, &pb, crow, ld, k0 > 0, NULL);
            }
        }
    }
    for (t = 0; t < nb; t++) {   /* Y = A^T M A (+ bias, or added to dx) */
        const int q = t0 + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
        const int ny4 = DH - 4 * ty < 4 ? DH - 4 * ty : 4, nx4 = DW - 4 * tx < 4 ? DW - 4 * tx : 4;
        for (c = 0; c < wp; c += VL) {
            const int nn = wp - c < VL ? wp - c : VL;
            convrnn__vf s4[4][6], m6[6], y[4];
            int a, b2;
            for (b2 = 0; b2 < 6; b2++) {   /* columns: s4 = A^T m */
                for (a = 0; a < 6; a++) m6[a] = convrnn__vld(M + (size_t)(6 * a + b2) * mx + (size_t)t * ld + c);
                convrnn__w4_at(m6, y);
                for (a = 0; a < 4; a++) s4[a][b2] = y[a];
            }
            for (a = 0; a < ny4; a++) {   /* rows: (A^T m) A */
                convrnn__w4_at(s4[a], y);
                for (b2 = 0; b2 < nx4; b2++) {
                    float *o = cx->dst + (((size_t)n * DH + 4 * ty + a) * DW + 4 * tx + b2) * Cd + c0 + c;
                    convrnn__vf v = y[b2];
                    if (cx->bwd) v = convrnn__vadd(convrnn__vldn(o, nn), v);
                    else if (cx->bias) v = convrnn__vadd(v, convrnn__vldn(cx->bias + c0 + c, nn));
                    convrnn__vstn(o, v, nn);
                }
            }
        }
    }
}
static int convrnn__sconv_wino4(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w,
                                const float *bias, float *dst) {
    const int NR = CONVRNN__NVI * CONVRNN__VL;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co;
    const int DH = bwd ? g->h : g->oh, DW = bwd ? g->w : g->ow;
    const int SH = bwd ? g->oh : g->h, SW = bwd ? g->ow : g->w;
    const int TH = (DH + 3) / 4, TW = (DW + 3) / 4, T = g->n * TH * TW;
    const int ry = bwd ? 2 - g->pt : g->pt, rx = bwd ? 2 - g->pl : g->pl;   /* source row of patch row 0: 4ty - ry */
    const int npan = (Cd + NR - 1) / NR;
    const int CsV = convrnn__ldv(Cs);
    const double flops = 36.0 * T * Cs * Cd;
    const int nthr0 = flops <= CONVRNN__PAR_FLOPS ? 1 : convrnn__nthreads();
    /* a task per block of tiles, transformed into the thread's own scratch and run through every
       column panel: the tiles in ntb blocks of TB, at most CONVRNN__WINO4_TB; on several threads
       two blocks per thread where blocks of CONVRNN__WINO4_TBMIN or more allow (the weights are
       transformed once per block). (Measured on two threads, BaseNet's conv5: a shared block of
       every tile's transform and a task per panel, each weight transformed once, was 1.26x slower
       in the forward.) */
    const int ntb = convrnn__w4_blocks(T, CONVRNN__WINO4_TBMIN, CONVRNN__WINO4_TB, nthr0 > 1 ? 2 * nthr0 : 1);
    const int TB = (T + ntb - 1) / ntb, KB = Cs < CONVRNN__WINO4_KB ? Cs : CONVRNN__WINO4_KB;
    /* strides between positions xi in V, U and M: off multiples of 4 KB (36 regions written or read
       together would share the L1 sets) */
    const size_t vx = convrnn__w4_str((size_t)TB * CsV);
    const size_t sz_v = convrnn__al((size_t)36 * vx * sizeof(float));
    const size_t ux = convrnn__w4_str((size_t)KB * NR), mx = convrnn__w4_str((size_t)TB * NR);
    const size_t sz_u = convrnn__al((size_t)36 * ux * sizeof(float)), sz_m = convrnn__al((size_t)36 * mx * sizeof(float));
    const size_t sz_t = bwd ? convrnn__al((size_t)9 * Cs * NR * sizeof(float)) : 0;
    const size_t per_thr = sz_v + sz_u + sz_m + sz_t;
    int nthr = ntb > 1 ? nthr0 : 1, task;   /* scratch for every thread of the region */
    char *mem, *base;
    convrnn__w4p cx;
    if (g->kh != 3 || g->kw != 3 || g->s != 1) return 0;
    mem = (char *)convrnn__scratch(actx, per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    cx.g = g; cx.w = w; cx.bias = bias; cx.dst = dst; cx.bwd = bwd; cx.Cs = Cs; cx.Cd = Cd; cx.CsV = CsV;
    cx.DH = DH; cx.DW = DW; cx.TH = TH; cx.TW = TW; cx.KB = KB; cx.ux = ux; cx.mx = mx;
CONVRNN__OMP_REGION(nthr > 1)
    {
    char *scr = base + per_thr * (size_t)convrnn__tid();
    float *V = (float *)scr, *U = (float *)(scr + sz_v), *M = (float *)(scr + sz_v + sz_u), *Wt = (float *)(scr + sz_v + sz_u + sz_m);
CONVRNN__OMP_FOR_DYN
    for (task = 0; task < ntb; task++) {   /* a block of tiles claimed in turn, transformed into V */
        const int t0 = task * TB, nb = T - t0 < TB ? T - t0 : TB;
        int t, p;
        for (t = 0; t < nb; t++) {
            const int q = t0 + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
            const float *px[36];
            convrnn__w4_patch(src, n, SH, SW, Cs, 4 * ty - ry, 4 * tx - rx, px);
            convrnn__w4_in(px, Cs, V + (size_t)t * CsV, vx);
        }
        for (p = 0; p < npan; p++) convrnn__w4_panel(&cx, V, vx, t0, nb, p, U, M, Wt);
    }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Polyphase Winograd F(3x3, 4x4) for stride-2 convolutions with 7x7 or 8x8 kernels and at most 4
   input channels (an image's first layer, BaseNet's conv1), forward and weight gradient. With
   xp the zero-padded input (pt rows above, pl columns left) and its four phases
       P[i][k][e] = xp[2i + a][2k + b][c],   e = (2a + b) ci + c   (4 ci phase channels),
   the stride-2 kernel is a stride-1 4x4 kernel on P:
       y[oy][ox] = bias + sum over j, l < 4, e of P[oy + j][ox + l][e] W'[j][l][e],
       W'[j][l][e] = w[2j + a][2l + b][c]   (0 where 2j + a or 2l + b is the kernel size 7),
   and 4x4 stride-1 runs as F(3x3, 4x4): per 3x3 output tile with 6x6 patch d of P,
       Y = A3^T [ (G4 W' G4^T) (.) (B^T d B) ] A3,
       B^T: the F(4x4,3x3) one above (the same six points 0, +-1, +-2, infinity),
       G4 = [1/4 0 0 0; -1/6 -1/6 -1/6 -1/6; -1/6 1/6 -1/6 1/6; 1/24 1/12 1/6 1/3;
             1/24 -1/12 1/6 -1/3; 0 0 0 1],
       A3^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 1],
   i.e. 36 GEMMs of [tiles x 4ci] x [4ci x co]: 36 products per tile, phase channel and output
   channel where the direct sum takes 9 x 49 / 4 (3.1x fewer for 7x7). The weight gradient is the
   same correlation with dy as the kernel: per tile, dW'_t = F(4x4,3x3) of the patch d and the 3x3
   tile of dy, so
       dW' = A4^T [ sum over tiles of (G3 dY G3^T) (.) (B^T d B) ] A4
   with the F(4x4, 3x3) matrices (GEMMs of [4ci x tiles] x [tiles x co]). A task is a block of at
   most CONVRNN__PW_TB tiles of one tile row of one sample; the rows of P it needs are copied
   into the thread's scratch (a band of 6 rows), transformed (V), and multiplied. Forward: every
   output is one task's. Weight gradient: the tile rows are cut into a number of ranges fixed by
   the shape (CONVRNN__PW_RANGES at most), each summed in order into its own partial sum, and the
   partial sums are added in range order: 1 and N threads give the same bits. Rounding: as
   F(4x4,3x3) (constants up to 4 in A3, 8 in A4, 5 in B). Returns 0 (nothing written) when it
   does not apply or without scratch memory. */
#define CONVRNN__PW_TB 40       /* tiles per block (BaseNet's conv1: one tile row of 38; measured
                                   with 6, 12 and 20: no faster) */
#define CONVRNN__PW_RANGES 16   /* weight gradient: ranges of tile rows at most */
#define CONVRNN__PW_CEMAX 16    /* input gradient: 4 ci phase channels, in whole vectors */
#define CONVRNN__PW_PFD 2       /* tiles read (and written) ahead: AMD EPYC (Zen 5), conv1's
                                   weight gradient 24-29 -> 16-18 ms, forward 24-25 -> 17-19 ms;
                                   1, 4 and 8 ahead measured: no better */
static int convrnn__pw_ok(const convrnn__geom *g) {
#ifdef CONVRNN_NO_WINO_PHASE
    (void)g;
    return 0;
#else
    return g->s == 2 && g->kh == g->kw && (g->kh == 7 || g->kh == 8) && g->ci <= 4 && g->co >= 16;
#endif
}
CONVRNN__FINL void convrnn__pw_a3(const convrnn__vf *m, convrnn__vf *y) {   /* y = A3^T m (6 -> 3 vectors) */
    const convrnn__vf s12 = convrnn__vadd(m[1], m[2]), s34 = convrnn__vadd(m[3], m[4]);
    y[0] = convrnn__vadd(convrnn__vadd(m[0], s12), s34);
    y[1] = convrnn__vfma(convrnn__vset1(2.0f), convrnn__vsub(m[3], m[4]), convrnn__vsub(m[1], m[2]));
    y[2] = convrnn__vadd(convrnn__vfma(convrnn__vset1(4.0f), s34, s12), m[5]);
}
CONVRNN__FINL void convrnn__pw_g4(const convrnn__vf *g, convrnn__vf *u) {   /* u = G4 g (4 -> 6 vectors) */
    const convrnn__vf se = convrnn__vadd(g[0], g[2]), so = convrnn__vadd(g[1], g[3]), m6 = convrnn__vset1(-1.0f / 6.0f);
    const convrnn__vf q = convrnn__vfma(convrnn__vset1(1.0f / 24.0f), g[0], convrnn__vmul(convrnn__vset1(1.0f / 6.0f), g[2]));
    const convrnn__vf h = convrnn__vfma(convrnn__vset1(1.0f / 12.0f), g[1], convrnn__vmul(convrnn__vset1(1.0f / 3.0f), g[3]));
    u[0] = convrnn__vmul(convrnn__vset1(0.25f), g[0]);
    u[1] = convrnn__vmul(m6, convrnn__vadd(se, so));
    u[2] = convrnn__vmul(m6, convrnn__vsub(se, so));
    u[3] = convrnn__vadd(q, h);
    u[4] = convrnn__vsub(q, h);
    u[5] = g[3];
}
typedef struct {
    const convrnn__geom *g;
    const float *x, *dy, *U, *bias;
    float *y;
    int C4, CP, TH, TW, NR, nbx, zld;
    size_t vx, ux, mx;
} convrnn__pwp;
/* Block q (tile row (n, ty), tiles [tx0, tx0 + nb)): the band of P rows 3ty .. 3ty + 5, columns
   3tx0 .. 3tx0 + 3nb + 2 (phase channels padded with zeros to CP), then V[xi * vx + t * CP + e] */
static void convrnn__pw_in(const convrnn__pwp *c, int q, float *band, float *V, int *n_, int *ty_, int *tx0_, int *nb_) {
    const convrnn__geom *g = c->g;
    const int ci = g->ci, CP = c->CP, n = q / (c->TH * c->nbx), ty = (q / c->nbx) % c->TH;
    const int tx0 = (q % c->nbx) * CONVRNN__PW_TB, nb = c->TW - tx0 < CONVRNN__PW_TB ? c->TW - tx0 : CONVRNN__PW_TB;
    const int BW = 3 * nb + 3;
    int i, k, a, b2, t;
    memset(band, 0, (size_t)6 * BW * CP * sizeof(float));
    for (i = 0; i < 6; i++)
        for (a = 0; a < 2; a++) {
            const int sy = 2 * (3 * ty + i) + a - g->pt;
            const float *xr;
            if (sy < 0 || sy >= g->h) continue;
            xr = c->x + ((size_t)n * g->h + sy) * g->w * ci;
            for (k = 0; k < BW; k++) {   /* phases (a, 0) and (a, 1): the two pixels from sx on, 2 ci values */
                const int sx = 2 * (3 * tx0 + k) - g->pl;
                float *d = band + ((size_t)i * BW + k) * CP + 2 * a * ci;
                if (sx >= 0 && sx + 1 < g->w) convrnn__vcopy(d, xr + (size_t)sx * ci, 2 * ci);
                else
                    for (b2 = 0; b2 < 2; b2++)
                        if (sx + b2 >= 0 && sx + b2 < g->w) convrnn__vcopy(d + b2 * ci, xr + (size_t)(sx + b2) * ci, ci);
            }
        }
    if (q + 1 < c->g->n * c->TH * c->nbx) {   /* the rows of block q + 1, read ahead */
        const int n1 = (q + 1) / (c->TH * c->nbx), ty1 = ((q + 1) / c->nbx) % c->TH, tx1 = ((q + 1) % c->nbx) * CONVRNN__PW_TB;
        const int sx0 = 2 * 3 * tx1 - g->pl < 0 ? 0 : 2 * 3 * tx1 - g->pl;
        const int sx1 = 2 * (3 * tx1 + 3 * CONVRNN__PW_TB + 3) - g->pl < g->w ? 2 * (3 * tx1 + 3 * CONVRNN__PW_TB + 3) - g->pl : g->w;
        for (i = 0; i < 12 && sx0 < sx1; i++) {
            const int sy = 2 * 3 * ty1 + i - g->pt;
            if (sy >= 0 && sy < g->h) {
                const float *pr = c->x + (((size_t)n1 * g->h + sy) * g->w + sx0) * ci;
                const int len = (sx1 - sx0) * ci;
                for (k = 0; k < len; k += 16) CONVRNN__PREFETCH(pr + k);
                CONVRNN__PREFETCH(pr + len - 1);
            }
        }
    }
    for (t = 0; t < nb; t++) {
        const float *px[36];
        for (i = 0; i < 36; i++) px[i] = band + ((size_t)(i / 6) * BW + 3 * t + i % 6) * CP;
        convrnn__w4_in(px, CP, V + (size_t)t * CP, c->vx);
    }
    *n_ = n; *ty_ = ty; *tx0_ = tx0; *nb_ = nb;
}

/* U[p][xi][e][j] = (G4 W' G4^T)[xi] for output panel p (columns p NR + j, zeros from Co to ld) */
static void convrnn__pw_pack(const convrnn__pwp *c, const float *w, float *U, int p) {
    const convrnn__geom *g = c->g;
    const int ci = g->ci, k = g->kh, NR = c->NR, c0 = p * NR, wp = g->co - c0 < NR ? g->co - c0 : NR;
    const int ld = (wp + CONVRNN__VL - 1) / CONVRNN__VL * CONVRNN__VL;
    float *Up = U + (size_t)p * c->ux * 36;
    int e, j, a, b2;
    for (e = 0; e < c->C4; e++) {
        const int pa = e / ci / 2, pb = e / ci % 2, cc = e % ci;
        for (j = 0; j < ld; j += CONVRNN__VL) {
            const int nn = wp - j < CONVRNN__VL ? wp - j : CONVRNN__VL;
            convrnn__vf wq[4][4], t6[6][4], col[4], u[6];
            for (a = 0; a < 4; a++)
                for (b2 = 0; b2 < 4; b2++) {
                    const int ky = 2 * a + pa, kx = 2 * b2 + pb;
                    wq[a][b2] = ky < k && kx < k ? convrnn__vldn(w + (((size_t)ky * k + kx) * ci + cc) * g->co + c0 + j, nn)
                                                 : convrnn__vzero();
                }
            for (b2 = 0; b2 < 4; b2++) {   /* columns: t6 = G4 W' */
                for (a = 0; a < 4; a++) col[a] = wq[a][b2];
                convrnn__pw_g4(col, u);
                for (a = 0; a < 6; a++) t6[a][b2] = u[a];
            }
            for (a = 0; a < 6; a++) {   /* rows: (G4 W') G4^T */
                convrnn__pw_g4(t6[a], u);
                for (b2 = 0; b2 < 6; b2++) convrnn__vst(Up + (size_t)(6 * a + b2) * c->ux + (size_t)e * ld + j, u[b2]);
            }
        }
    }
}
/* The 36 GEMMs of a polyphase block of nb tiles: M[xi] = V[xi] U[xi], xi < 36. Tile i's row of
   V[xi] is at V + xi vx + i vs (K values), U[xi] at U + xi ux (K rows of nv vectors), and its row
   of M[xi] at M + xi mx + i ld (ld = nv VL); MRI tiles per micro-kernel call. Inlined. (The
   F(4x4,3x3) panel keeps its own copy: through this helper BaseNet's conv5 forward measured 4.2-4.5
   against 3.8 ms inlined, 6.3 ms as a call; AMD EPYC.) */
CONVRNN__FINL void convrnn__pw_gemm(int nb, int nv, int K, const float *V, size_t vx, int vs, const float *U, size_t ux,
                                    float *M, size_t mx, int ld) {
    const int MR = CONVRNN__MRI;
    const ptrdiff_t zero_off[1] = { 0 };
    int xi, mt, i;
    for (xi = 0; xi < 36; xi++) {
        const float *pb = U + (size_t)xi * ux;
        for (mt = 0; mt < nb; mt += MR) {
            const float *bs[CONVRNN__MRMAX];
            float *crow[CONVRNN__MRMAX];
            for (i = 0; i < MR; i++) {
                bs[i] = V + (size_t)xi * vx + (size_t)(mt + i < nb ? mt + i : mt) * vs;
                crow[i] = mt + i < nb ? M + (size_t)xi * mx + (size_t)(mt + i) * ld : NULL;
            }
            convrnn__ukr_run(nv, nb - mt < MR ? nb - mt : MR, 1, bs, zero_off, &K, &pb, crow, ld, 0, NULL);
        }
    }
}
static void convrnn__pw_fwd_task(const convrnn__pwp *c, int q, float *band, float *V, float *M) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, NR = c->NR, Co = g->co, CP = c->CP;
    int n, ty, tx0, nb, p, t;
    convrnn__pw_in(c, q, band, V, &n, &ty, &tx0, &nb);
    for (p = 0; p * NR < Co; p++) {
        const int c0 = p * NR, wp = Co - c0 < NR ? Co - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
        convrnn__pw_gemm(nb, nvp, c->C4, V, c->vx, CP, c->U + (size_t)p * 36 * c->ux, c->ux, M, c->mx, ld);   /* M[xi] = V[xi] U[xi] */
        for (t = 0; t < nb; t++) {   /* Y = A3^T M A3 + bias, the rows and columns inside the map */
            const int oy0 = 3 * ty, ox0 = 3 * (tx0 + t);
            const int ny = g->oh - oy0 < 3 ? g->oh - oy0 : 3, nx = g->ow - ox0 < 3 ? g->ow - ox0 : 3;
            int cc;
            if (t + CONVRNN__PW_PFD < nb) {   /* the lines of y the tile PW_PFD ahead writes, owned ahead */
                const int px = ox0 + 3 * CONVRNN__PW_PFD, lx = g->ow - px < 3 ? g->ow - px : 3;
                int a, b2, v;
                for (a = 0; a < ny; a++)
                    for (b2 = 0; b2 < lx; b2++) {
                        float *pr = c->y + (((size_t)n * g->oh + oy0 + a) * g->ow + px + b2) * Co + c0;
                        for (v = 0; v < wp; v += 16) CONVRNN__PREFETCHW(pr + v);
                        CONVRNN__PREFETCHW(pr + wp - 1);
                    }
            }
            for (cc = 0; cc < wp; cc += VL) {
                const int nn = wp - cc < VL ? wp - cc : VL;
                const convrnn__vf bv = c->bias ? convrnn__vldn(c->bias + c0 + cc, nn) : convrnn__vzero();
                convrnn__vf s3[3][6], m6[6], y[3];
                int a, b2;
                for (b2 = 0; b2 < 6; b2++) {   /* columns: s3 = A3^T m */
                    for (a = 0; a < 6; a++) m6[a] = convrnn__vld(M + (size_t)(6 * a + b2) * c->mx + (size_t)t * ld + cc);
                    convrnn__pw_a3(m6, y);
                    for (a = 0; a < 3; a++) s3[a][b2] = y[a];
                }
                for (a = 0; a < ny; a++) {   /* rows: (A3^T m) A3 */
                    convrnn__pw_a3(s3[a], y);
                    for (b2 = 0; b2 < nx; b2++)
                        convrnn__vstn(c->y + (((size_t)n * g->oh + oy0 + a) * g->ow + ox0 + b2) * Co + c0 + cc, convrnn__vadd(y[b2], bv), nn);
                }
            }
        }
    }
}
/* Read ahead the 3 rows of dy from 3 ty of tile column ta (of TW in a row; past the row's end, the
   next tile row's), 3 pixels of co values each. Inlined: as a call it made conv1's weight gradient
   slower than without any read-ahead (AMD EPYC: 26-32 against 15-17 ms, gcc 12) */
CONVRNN__FINL void convrnn__pw_pf_dy(const convrnn__geom *g, const float *dy, int n, int ty, int ta, int TW) {
    const int py = ta < TW ? 3 * ty : 3 * ty + 3, px = 3 * (ta < TW ? ta : ta - TW), Co = g->co;
    int a, v;
    for (a = 0; a < 3; a++)
        if (py + a < g->oh && px < g->ow) {
            const float *pr = dy + (((size_t)n * g->oh + py + a) * g->ow + px) * Co;
            const int len = (g->ow - px < 3 ? g->ow - px : 3) * Co;
            for (v = 0; v < len; v += 16) CONVRNN__PREFETCH(pr + v);
            CONVRNN__PREFETCH(pr + len - 1);
        }
}
/* Weight-gradient block q into the range's partial sums S[xi][e][co] (row length zld) and, with
   dbr, dbr[co] (the bias gradient: each tile's dy summed row by row, then added) */
static void convrnn__pw_bwf_task(const convrnn__pwp *c, int q, float *band, float *V, float *Z, ptrdiff_t *pbk, float *S,
                                 float *dbr) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, Co = g->co, CP = c->CP, zld = c->zld, PN = CONVRNN__NVW * CONVRNN__VL;
    int n, ty, tx0, nb, t, xi, e0, i, c0;
    convrnn__pw_in(c, q, band, V, &n, &ty, &tx0, &nb);
    for (t = 0; t < nb; t++) {   /* Z[xi][t] = G3 dY G3^T of the tile's 3x3 dy (zeros off the map) */
        const int oy0 = 3 * ty, ox0 = 3 * (tx0 + t);
        int cc;
        convrnn__pw_pf_dy(g, c->dy, n, ty, tx0 + t + CONVRNN__PW_PFD, c->TW);
        for (cc = 0; cc < Co; cc += VL) {
            const int nn = Co - cc < VL ? Co - cc : VL;
            convrnn__vf d[3][3], t6[6][3], col[3], u[6];
            int a, b2;
            for (a = 0; a < 3; a++)
                for (b2 = 0; b2 < 3; b2++)
                    d[a][b2] = oy0 + a < g->oh && ox0 + b2 < g->ow
                                   ? convrnn__vldn(c->dy + (((size_t)n * g->oh + oy0 + a) * g->ow + ox0 + b2) * Co + cc, nn)
                                   : convrnn__vzero();
            if (dbr) {
                convrnn__vf s = convrnn__vldn(dbr + cc, nn), ts = convrnn__vzero();
                for (a = 0; a < 3; a++)
                    for (b2 = 0; b2 < 3; b2++) ts = convrnn__vadd(ts, d[a][b2]);
                convrnn__vstn(dbr + cc, convrnn__vadd(s, ts), nn);
            }
            for (b2 = 0; b2 < 3; b2++) {
                for (a = 0; a < 3; a++) col[a] = d[a][b2];
                convrnn__w4_g(col, u);
                for (a = 0; a < 6; a++) t6[a][b2] = u[a];
            }
            for (a = 0; a < 6; a++) {
                convrnn__w4_g(t6[a], u);
                for (b2 = 0; b2 < 6; b2++) convrnn__vst(Z + (size_t)(6 * a + b2) * c->mx + (size_t)t * zld + cc, u[b2]);
            }
        }
    }
    for (t = 0; t < nb; t++) pbk[t] = (ptrdiff_t)t * CP;
    for (xi = 0; xi < 36; xi++)   /* S[xi] += V[xi]^T Z[xi]: tiles of MRW phase channels x NVW vectors */
        for (c0 = 0; c0 < Co; c0 += PN) {
            const int wp = Co - c0 < PN ? Co - c0 : PN, nv = (wp + VL - 1) / VL;
            for (e0 = 0; e0 < c->C4; e0 += CONVRNN__MRW) {
                ptrdiff_t ro[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < CONVRNN__MRW; i++) {
                    ro[i] = e0 + i;   /* rows past C4 read the zeros (or the next tile's) of V, not stored */
                    crow[i] = e0 + i < c->C4 ? S + ((size_t)xi * c->C4 + e0 + i) * zld + c0 : NULL;
                }
                convrnn__ukr_bo(CONVRNN__MRW, nv, nb, V + (size_t)xi * c->vx, pbk, ro, Z + (size_t)xi * c->mx + c0, zld, crow, wp);
            }
        }
}
/* mode 0: forward (out = y = bias + conv(x, w)); mode 1: weight gradient (out = dw += ..., and
   db += the sums of dy unless db is NULL) */
static int convrnn__sconv_pw(void *actx, const convrnn__geom *g, int mode, const float *x, const float *w, const float *bias,
                             const float *dy, float *out, float *db) {
    const int C4 = 4 * g->ci, CP = (C4 + CONVRNN__VL - 1) / CONVRNN__VL * CONVRNN__VL, Co = g->co;
    const int TH = (g->oh + 2) / 3, TW = (g->ow + 2) / 3, nbx = (TW + CONVRNN__PW_TB - 1) / CONVRNN__PW_TB;
    const int TB = TW < CONVRNN__PW_TB ? TW : CONVRNN__PW_TB, nblk = g->n * TH * nbx;
    const int NR = CONVRNN__NVD * CONVRNN__VL, npan = (Co + NR - 1) / NR;
    const int zld = convrnn__ldv(Co);
    const double flops = 36.0 * g->n * TH * TW * C4 * Co;
    const size_t vx = convrnn__w4_str((size_t)TB * CP), ux = convrnn__w4_str((size_t)C4 * NR);
    /* forward: M[xi][t][ld]; weight gradient: Z[xi][t][zld] */
    const size_t mx = convrnn__w4_str((size_t)TB * (mode ? (size_t)zld : (size_t)NR));
    const size_t sz_band = convrnn__al((size_t)6 * (3 * TB + 3) * CP * sizeof(float));
    const size_t sz_v = convrnn__al(((size_t)36 * vx + 2 * CONVRNN__MRMAX) * sizeof(float));
    const size_t sz_m = convrnn__al((size_t)36 * mx * sizeof(float)), sz_pb = convrnn__al((size_t)TB * sizeof(ptrdiff_t));
    const size_t per_thr = sz_band + sz_v + sz_m + sz_pb;
    const size_t ssz = (size_t)36 * C4 * zld;   /* one partial sum of the weight gradient */
    const int nrng = mode ? (g->n * TH < CONVRNN__PW_RANGES ? g->n * TH : CONVRNN__PW_RANGES) : 0;
    const size_t sz_u = mode ? 0 : convrnn__al((size_t)npan * 36 * ux * sizeof(float));
    const size_t sz_s = convrnn__al((size_t)nrng * (ssz + zld) * sizeof(float));   /* partial sums, then db's */
    int nthr = flops <= CONVRNN__PAR_FLOPS ? 1 : convrnn__nthreads(), task;
    char *mem, *base;
    float *U, *S;
    convrnn__pwp c;
    if (!convrnn__pw_ok(g) || g->oh < 1 || g->ow < 1) return 0;
    if ((mode ? nrng : nblk) < 2) nthr = 1;   /* (else scratch for every thread of the region) */
    mem = (char *)convrnn__scratch(actx, sz_u + sz_s + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    U = (float *)base;
    S = (float *)(base + sz_u);
    c.g = g; c.x = x; c.dy = dy; c.U = U; c.bias = bias; c.y = out; c.C4 = C4; c.CP = CP; c.TH = TH; c.TW = TW;
    c.NR = NR; c.nbx = nbx; c.zld = zld; c.vx = vx; c.ux = ux; c.mx = mx;
    if (!mode) {
        int p;
        for (p = 0; p < npan; p++) convrnn__pw_pack(&c, w, U, p);
CONVRNN__OMP_REGION(nthr > 1)
        {
            char *scr = base + sz_u + sz_s + per_thr * (size_t)convrnn__tid();
CONVRNN__OMP_FOR_DYN
            for (task = 0; task < nblk; task++)
                convrnn__pw_fwd_task(&c, task, (float *)scr, (float *)(scr + sz_band), (float *)(scr + sz_band + sz_v));
        }
    } else {
        const int nrow = g->n * TH;
        size_t el;
        float *dbr = S + (size_t)nrng * ssz;
        memset(S, 0, (size_t)nrng * (ssz + zld) * sizeof(float));
CONVRNN__OMP_REGION(nthr > 1)
        {
            char *scr = base + sz_u + sz_s + per_thr * (size_t)convrnn__tid();
            int r, r0, r1, q;
CONVRNN__OMP_FOR_DYN
            for (r = 0; r < nrng; r++) {   /* range r: tile rows [r0, r1), blocks in ascending order */
                convrnn__share(nrow, r, nrng, &r0, &r1);
                for (q = r0 * nbx; q < r1 * nbx; q++)
                    convrnn__pw_bwf_task(&c, q, (float *)scr, (float *)(scr + sz_band), (float *)(scr + sz_band + sz_v),
                                         (ptrdiff_t *)(scr + sz_band + sz_v + sz_m), S + (size_t)r * ssz,
                                         db ? dbr + (size_t)r * zld : NULL);
            }
        }
        if (db)
            for (el = 0; el < (size_t)Co; el++) {
                float s = dbr[el];
                int r;
                for (r = 1; r < nrng; r++) s += dbr[(size_t)r * zld + el];
                db[el] += s;
            }
        for (el = 0; el < ssz; el++) {   /* the ranges' partial sums, in range order */
            int r;
            for (r = 1; r < nrng; r++) S[el] += S[(size_t)r * ssz + el];
        }
        {   /* dW' = A4^T S A4, each (j, l, e) to dw[2j + a][2l + b][c] inside the kernel */
            const int ci = g->ci, k = g->kh, VL = CONVRNN__VL;
            int e, cc, a, b2;
            for (e = 0; e < C4; e++) {
                const int pa = e / ci / 2, pb = e / ci % 2, ch = e % ci;
                for (cc = 0; cc < Co; cc += VL) {
                    const int nn = Co - cc < VL ? Co - cc : VL;
                    convrnn__vf s4[4][6], m6[6], y[4];
                    for (b2 = 0; b2 < 6; b2++) {
                        for (a = 0; a < 6; a++) m6[a] = convrnn__vld(S + ((size_t)(6 * a + b2) * C4 + e) * zld + cc);
                        convrnn__w4_at(m6, y);
                        for (a = 0; a < 4; a++) s4[a][b2] = y[a];
                    }
                    for (a = 0; a < 4; a++) {
                        convrnn__w4_at(s4[a], y);
                        for (b2 = 0; b2 < 4; b2++) {
                            const int ky = 2 * a + pa, kx = 2 * b2 + pb;
                            float *o = out + (((size_t)ky * k + kx) * ci + ch) * Co + cc;
                            if (ky < k && kx < k) convrnn__vstn(o, convrnn__vadd(convrnn__vldn(o, nn), y[b2]), nn);
                        }
                    }
                }
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Input gradient of the same convolutions (BaseNet's conv1 when the image's gradient is wanted:
   saliency maps). In the phase grid the forward is y[o] = sum over j < 4 of P[o + j] W'[j], so its
   adjoint is dP[Y] = sum over j of dy[Y - j] W'[j]: a stride-1 4x4 correlation of dy (3 rows and
   columns of zeros before) with the flipped kernel W'[3 - j], co -> 4ci channels, which
   F(3x3, 4x4) computes as above with the roles swapped:
       dP tile = A3^T [ (B^T e B) (.) U ] A3,   e = the 6x6 patch of dy from (3ty - 3, 3tx - 3),
       U[xi][co][e'] = (G4 flip(W') G4^T)[xi] for phase channel e' (4ci padded to whole vectors),
   36 GEMMs of [tiles x co] x [co x 4ci]. Each value of dP is one pixel of x (phase (pa, pb) of
   P[Y][X] is x[2Y + pa - pt][2X + pb - pl]) and is added to it; the tiles of dP are disjoint, so
   every value of dx is written by one task: 1 and N threads give the same bits. */
typedef struct {
    const convrnn__geom *g;
    const float *dy, *U;
    float *dx;
    int C4, CE, PH, PW, TH, TW, nbx;
    size_t vx, ux, mx;
} convrnn__pwd;
static void convrnn__pw_dx_task(const convrnn__pwd *c, int q, float *V, float *M) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, Co = g->co, CP = (Co + VL - 1) / VL * VL, CE = c->CE, ci = g->ci;
    const int n = q / (c->TH * c->nbx), ty = (q / c->nbx) % c->TH, tx0 = (q % c->nbx) * CONVRNN__PW_TB;
    const int nb = c->TW - tx0 < CONVRNN__PW_TB ? c->TW - tx0 : CONVRNN__PW_TB;
    int t, i;
    for (t = 0; t < nb; t++) {   /* V[xi][t] = B^T e B of the tile's dy patch (NULL: zeros off the map) */
        const float *px[36];
        const int y0 = 3 * ty - 3, x0 = 3 * (tx0 + t) - 3;
        /* the new rows of the tile PW_PFD ahead (the rows above were read by the tile row above) */
        convrnn__pw_pf_dy(g, c->dy, n, ty, tx0 + t + CONVRNN__PW_PFD, c->TW);
        for (i = 0; i < 36; i++) {
            const int yy = y0 + i / 6, xx = x0 + i % 6;
            px[i] = yy >= 0 && yy < g->oh && xx >= 0 && xx < g->ow ? c->dy + (((size_t)n * g->oh + yy) * g->ow + xx) * Co : NULL;
        }
        convrnn__w4_in(px, Co, V + (size_t)t * CP, c->vx);
    }
    convrnn__pw_gemm(nb, CE / VL, Co, V, c->vx, CP, c->U, c->ux, M, c->mx, CE);   /* M[xi] = V[xi] U[xi] */
    for (t = 0; t < nb; t++) {   /* dP = A3^T M A3, each value added to its pixel of dx */
        const int Y0 = 3 * ty, X0 = 3 * (tx0 + t), ix0 = 2 * X0 - g->pl;
        float o[3][3][CONVRNN__PW_CEMAX];
        int e0, a, b2, pa, pb, j;
        if (t + CONVRNN__PW_PFD < nb) {   /* the 6 rows of dx the tile PW_PFD ahead adds to, owned ahead */
            const int jx0 = ix0 + 6 * CONVRNN__PW_PFD < 0 ? 0 : ix0 + 6 * CONVRNN__PW_PFD;
            const int jx1 = ix0 + 6 * CONVRNN__PW_PFD + 6 < g->w ? ix0 + 6 * CONVRNN__PW_PFD + 6 : g->w;
            for (a = 0; a < 6 && jx0 < jx1; a++) {
                const int iy = 2 * Y0 + a - g->pt;
                if (iy >= 0 && iy < g->h) {
                    float *pr = c->dx + (((size_t)n * g->h + iy) * g->w + jx0) * ci;
                    CONVRNN__PREFETCHW(pr);
                    CONVRNN__PREFETCHW(pr + (size_t)(jx1 - jx0) * ci - 1);
                }
            }
        }
        for (e0 = 0; e0 < CE; e0 += VL) {
            convrnn__vf s3[3][6], m6[6], y[3];
            for (b2 = 0; b2 < 6; b2++) {   /* columns: s3 = A3^T m */
                for (a = 0; a < 6; a++) m6[a] = convrnn__vld(M + (size_t)(6 * a + b2) * c->mx + (size_t)t * CE + e0);
                convrnn__pw_a3(m6, y);
                for (a = 0; a < 3; a++) s3[a][b2] = y[a];
            }
            for (a = 0; a < 3; a++) {   /* rows: (A3^T m) A3 */
                convrnn__pw_a3(s3[a], y);
                for (b2 = 0; b2 < 3; b2++) convrnn__vst(o[a][b2] + e0, y[b2]);
            }
        }
        for (a = 0; a < 3 && Y0 + a < c->PH; a++)   /* P[Y0 + a][X0 + b2], phase (pa, pb): x[2(Y0 + a) + pa - pt][ix0 + 2 b2 + pb] */
            for (pa = 0; pa < 2; pa++) {
                const int iy = 2 * (Y0 + a) + pa - g->pt;
                float *row;
                if (iy < 0 || iy >= g->h) continue;
                row = c->dx + ((size_t)n * g->h + iy) * g->w * ci;
                for (b2 = 0; b2 < 3; b2++)
                    for (pb = 0; pb < 2; pb++) {
                        const int ix = ix0 + 2 * b2 + pb;
                        const float *src = o[a][b2] + (2 * pa + pb) * ci;
                        float *dst = row + (size_t)ix * ci;
                        if (ix < 0 || ix >= g->w) continue;
                        for (j = 0; j < ci; j++) dst[j] += src[j];
                    }
            }
    }
}
static int convrnn__sconv_pw_dx(void *actx, const convrnn__geom *g, const float *w, const float *dy, float *dx) {
    const int VL = CONVRNN__VL, ci = g->ci, k = g->kh, Co = g->co, C4 = 4 * ci, CE = (C4 + VL - 1) / VL * VL;
    const int CP = (Co + VL - 1) / VL * VL;
    /* the rows Y of P that hold pixels of x: 2Y + pa - pt < h */
    const int PH = (g->h - 1 + g->pt) / 2 + 1, PW = (g->w - 1 + g->pl) / 2 + 1;
    const int TH = (PH + 2) / 3, TW = (PW + 2) / 3, nbx = (TW + CONVRNN__PW_TB - 1) / CONVRNN__PW_TB;
    const int TB = TW < CONVRNN__PW_TB ? TW : CONVRNN__PW_TB, nblk = g->n * TH * nbx;
    const double flops = 36.0 * g->n * TH * TW * C4 * Co;
    const size_t vx = convrnn__w4_str((size_t)TB * CP), ux = convrnn__w4_str((size_t)Co * CE), mx = convrnn__w4_str((size_t)TB * CE);
    const size_t sz_u = convrnn__al((size_t)36 * ux * sizeof(float));
    const size_t sz_v = convrnn__al(((size_t)36 * vx + 2 * CONVRNN__MRMAX) * sizeof(float)), sz_m = convrnn__al((size_t)36 * mx * sizeof(float));
    int nthr = flops <= CONVRNN__PAR_FLOPS || nblk < 2 ? 1 : convrnn__nthreads(), task, e, c0, xi, l;
    char *mem, *base;
    float *U;
    convrnn__pwd c;
    if (!convrnn__pw_ok(g) || g->oh < 1 || g->ow < 1) return 0;
    mem = (char *)convrnn__scratch(actx, sz_u + (sz_v + sz_m) * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    U = (float *)base;
    memset(U, 0, sz_u);
    for (e = 0; e < C4; e++) {   /* U[xi][co][e] = (G4 flip(W') G4^T)[xi]: vectors over co, then transposed */
        const int pa = e / ci / 2, pb = e / ci % 2, cc = e % ci;
        for (c0 = 0; c0 < Co; c0 += VL) {
            const int nn = Co - c0 < VL ? Co - c0 : VL;
            convrnn__vf wq[4][4], t6[6][4], col[4], u[6];
            float o[CONVRNN__VL];
            int a, b2;
            for (a = 0; a < 4; a++)
                for (b2 = 0; b2 < 4; b2++) {   /* flip: tap (a, b2) of the correlation is W'[3 - a][3 - b2] */
                    const int ky = 2 * (3 - a) + pa, kx = 2 * (3 - b2) + pb;
                    wq[a][b2] = ky < k && kx < k ? convrnn__vldn(w + (((size_t)ky * k + kx) * ci + cc) * Co + c0, nn) : convrnn__vzero();
                }
            for (b2 = 0; b2 < 4; b2++) {   /* columns: t6 = G4 g */
                for (a = 0; a < 4; a++) col[a] = wq[a][b2];
                convrnn__pw_g4(col, u);
                for (a = 0; a < 6; a++) t6[a][b2] = u[a];
            }
            for (a = 0; a < 6; a++) {   /* rows: (G4 g) G4^T */
                convrnn__pw_g4(t6[a], u);
                for (b2 = 0; b2 < 6; b2++) {
                    xi = 6 * a + b2;
                    convrnn__vst(o, u[b2]);
                    for (l = 0; l < nn; l++) U[(size_t)xi * ux + (size_t)(c0 + l) * CE + e] = o[l];
                }
            }
        }
    }
    c.g = g; c.dy = dy; c.U = U; c.dx = dx; c.C4 = C4; c.CE = CE; c.PH = PH; c.PW = PW; c.TH = TH; c.TW = TW; c.nbx = nbx;
    c.vx = vx; c.ux = ux; c.mx = mx;
CONVRNN__OMP_REGION(nthr > 1)
    {
        char *scr = base + sz_u + (sz_v + sz_m) * (size_t)convrnn__tid();
CONVRNN__OMP_FOR_DYN
        for (task = 0; task < nblk; task++) convrnn__pw_dx_task(&c, task, (float *)scr, (float *)(scr + sz_v));
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Winograd F(3x3, 2x2) for 2x2 stride-1 convolutions with 64+ channels on both sides and few tiles
   (a readout: BaseNet's imnetds, 4x4 -> 3x3 VALID, one tile per sample), forward and input
   gradient. Per 3x3 output tile with 4x4 input patch d (rows 3ty - pt ..):
       Y = A^T [ U (.) (B^T d B) ] A,   U = G g G^T,
       B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1],  G = [1 0; 1/2 1/2; 1/2 -1/2; 0 1],
       A^T = [1 1 1 0; 0 1 -1 0; 0 1 1 1]   (points 0, 1, -1, infinity),
   16 products per tile and channel pair instead of 36 (2.25x fewer). The input gradient is its
   adjoint, dd = B [ U (.) (A dY A^T) ] B^T, added into dx patch by patch (patches of neighbouring
   tiles share a row or column; each patch added in tile order). Both are 16 GEMMs with the same
   U: [tiles x ci] x [ci x co], and [tiles x co] x [co x ci]. Every tile is transformed first (V, or
   Z from dy: a few MB at most, convrnn__w32_ok); then a task owns a column panel of destination
   channels: the weights of the panel transformed block by block of CONVRNN__W32_KB source
   channels (U, in cache), the GEMMs added up block by block, the result transformed back into
   the panel's channels of every tile. One writer per destination element, sums in a fixed order:
   any thread count gives the same bits. Rounding: constants up to 2 (A, B are 0 and +-1):
   close to the direct kernels. Returns 0 (nothing written) when it does not apply or without
   scratch memory. */
#define CONVRNN__W32_MIN_C 64          /* channels on both sides at least */
#define CONVRNN__W32_KB 64             /* source channels per block of transformed weights */
#define CONVRNN__W32_MAX_BYTES 4194304.0   /* transformed tiles (16 positions x tiles x channels) at most */
static int convrnn__w32_ok(const convrnn__geom *g) {
#ifdef CONVRNN_NO_WINO2
    (void)g;
    return 0;
#else
    const double T = (double)g->n * ((g->oh + 2) / 3) * ((g->ow + 2) / 3);
    const int cm = g->ci > g->co ? g->ci : g->co;
    return g->kh == 2 && g->kw == 2 && g->s == 1 && g->ci >= CONVRNN__W32_MIN_C && g->co >= CONVRNN__W32_MIN_C &&
           64.0 * T * (cm + CONVRNN__VL) <= CONVRNN__W32_MAX_BYTES;
#endif
}
CONVRNN__FINL void convrnn__w32_bt(const convrnn__vf *d, convrnn__vf *r) {   /* r = B^T d */
    r[0] = convrnn__vsub(d[0], d[2]);
    r[1] = convrnn__vadd(d[1], d[2]);
    r[2] = convrnn__vsub(d[2], d[1]);
    r[3] = convrnn__vsub(d[3], d[1]);
}
CONVRNN__FINL void convrnn__w32_b(const convrnn__vf *n, convrnn__vf *r) {   /* r = B n */
    r[0] = n[0];
    r[1] = convrnn__vsub(convrnn__vsub(n[1], n[2]), n[3]);
    r[2] = convrnn__vsub(convrnn__vadd(n[1], n[2]), n[0]);
    r[3] = n[3];
}
CONVRNN__FINL void convrnn__w32_at(const convrnn__vf *m, convrnn__vf *y) {   /* y = A^T m (4 -> 3) */
    const convrnn__vf s = convrnn__vadd(m[1], m[2]);
    y[0] = convrnn__vadd(m[0], s);
    y[1] = convrnn__vsub(m[1], m[2]);
    y[2] = convrnn__vadd(s, m[3]);
}
CONVRNN__FINL void convrnn__w32_a(const convrnn__vf *y, convrnn__vf *z) {   /* z = A y (3 -> 4) */
    const convrnn__vf s = convrnn__vadd(y[0], y[2]);
    z[0] = y[0];
    z[1] = convrnn__vadd(s, y[1]);
    z[2] = convrnn__vsub(s, y[1]);
    z[3] = y[2];
}
CONVRNN__FINL void convrnn__w32_g3(const convrnn__vf *y, convrnn__vf *z) {   /* z = G3 y (3 -> 4; weight gradient) */
    const convrnn__vf h = convrnn__vset1(0.5f), s = convrnn__vadd(y[0], y[2]);
    z[0] = y[0];
    z[1] = convrnn__vmul(h, convrnn__vadd(s, y[1]));
    z[2] = convrnn__vmul(h, convrnn__vsub(s, y[1]));
    z[3] = y[2];
}
CONVRNN__FINL void convrnn__w32_g(const convrnn__vf *g, convrnn__vf *u) {   /* u = G g (2 -> 4) */
    const convrnn__vf h = convrnn__vset1(0.5f);
    u[0] = g[0];
    u[1] = convrnn__vmul(h, convrnn__vadd(g[0], g[1]));
    u[2] = convrnn__vmul(h, convrnn__vsub(g[0], g[1]));
    u[3] = g[1];
}
typedef struct {
    const convrnn__geom *g;
    const float *w, *bias, *V;
    float *dst;
    int bwd, Cs, Cd, CsV, TH, TW, T;
    size_t vx, ux, mx;
} convrnn__w32p;
/* Tile q's transform into V[xi * vx + q * ld + c] (kind 0: V = B^T d B of the 4x4 patch of x;
   1: Z = A dY A^T of the 3x3 tile of dy, zeros off the map; 2: G3 dY G3^T, for the weight
   gradient); Cs channels */
static void convrnn__w32_tile(const convrnn__w32p *c, int kind, const float *src, int Cs, int q, float *V, size_t vx, int ld) {
    const convrnn__geom *g = c->g;
    const int n = q / (c->TH * c->TW), ty = (q / c->TW) % c->TH, tx = q % c->TW;
    const int np = kind ? 3 : 4;
    const int SH = kind ? g->oh : g->h, SW = kind ? g->ow : g->w;
    const int y0 = kind ? 3 * ty : 3 * ty - g->pt, x0 = kind ? 3 * tx : 3 * tx - g->pl;
    int cc, a, b2;
    for (cc = 0; cc < Cs; cc += CONVRNN__VL) {
        const int nn = Cs - cc < CONVRNN__VL ? Cs - cc : CONVRNN__VL;
        convrnn__vf d[4][4], t4[4][4], col[4], r[4];
        for (a = 0; a < np; a++)
            for (b2 = 0; b2 < np; b2++) {
                const int sy = y0 + a, sx = x0 + b2;
                d[a][b2] = sy >= 0 && sy < SH && sx >= 0 && sx < SW
                               ? convrnn__vldn(src + (((size_t)n * SH + sy) * SW + sx) * Cs + cc, nn)
                               : convrnn__vzero();
            }
        for (b2 = 0; b2 < np; b2++) {   /* columns */
            for (a = 0; a < np; a++) col[a] = d[a][b2];
            if (kind == 1) convrnn__w32_a(col, r);
            else if (kind == 2) convrnn__w32_g3(col, r);
            else convrnn__w32_bt(col, r);
            for (a = 0; a < 4; a++) t4[a][b2] = r[a];
        }
        for (a = 0; a < 4; a++) {   /* rows */
            if (kind == 1) convrnn__w32_a(t4[a], r);
            else if (kind == 2) convrnn__w32_g3(t4[a], r);
            else convrnn__w32_bt(t4[a], r);
            for (b2 = 0; b2 < 4; b2++) convrnn__vst(V + (size_t)(4 * a + b2) * vx + (size_t)q * ld + cc, r[b2]);
        }
    }
}
/* Destination panel p (channels [p NR, p NR + wp)) */
static void convrnn__w32_panel(const convrnn__w32p *c, int p, float *U, float *Wt, float *M) {
    const int VL = CONVRNN__VL, MR = CONVRNN__MRI, NR = CONVRNN__NVD * CONVRNN__VL;
    const convrnn__geom *g = c->g;
    const int Cs = c->Cs, Cd = c->Cd, T = c->T, KB = CONVRNN__W32_KB;
    const int c0 = p * NR, wp = Cd - c0 < NR ? Cd - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
    const ptrdiff_t zero_off[1] = { 0 };
    int k0, xi, mt, i, t, j;
    for (k0 = 0; k0 < Cs; k0 += KB) {
        const int kb = Cs - k0 < KB ? Cs - k0 : KB;
        int kk, tap;
        /* forward: taps[tap][k][j] = w[tap][k0 + k][c0 + j]; backward: w[tap][c0 + j][k0 + k]
           transposed into Wt first */
        if (c->bwd)
            for (tap = 0; tap < 4; tap++)
                convrnn__transp(Wt + (size_t)tap * kb * ld, (size_t)ld, c->w + ((size_t)tap * g->ci + c0) * g->co + k0, (size_t)g->co,
                                wp, kb);
        for (kk = 0; kk < kb; kk++)   /* U[xi][kk][j] = (G g G^T)[xi] */
            for (j = 0; j < ld; j += VL) {
                const int nn = wp - j < VL ? wp - j : VL;
                convrnn__vf gk[2][2], t4[4][2], col[2], u[4];
                int a, b2;
                if (c->bwd && j == 0 && k0 + kb < Cs) {   /* the next block's rows of w (4 wp of them, */
                    const int R = 4 * wp, r1 = (kk + 1) * R / kb;   /* on other pages) a share per kk */
                    const int nk = Cs - k0 - kb < KB ? Cs - k0 - kb : KB;
                    int r, v;
                    for (r = kk * R / kb; r < r1; r++) {
                        const float *pr = c->w + ((size_t)(r / wp) * g->ci + c0 + r % wp) * g->co + k0 + kb;
                        for (v = 0; v < nk; v += 16) CONVRNN__PREFETCH(pr + v);
                        CONVRNN__PREFETCH(pr + nk - 1);
                    }
                }
                if (!c->bwd && j == 0 && k0 + kk + CONVRNN__PF_ROWS < Cs)   /* rows of w on other pages: */
                    for (tap = 0; tap < 4; tap++) {                          /* no hardware prefetch */
                        const float *pr = c->w + ((size_t)tap * g->ci + k0 + kk + CONVRNN__PF_ROWS) * g->co + c0;
                        int v;
                        for (v = 0; v < wp; v += 16) CONVRNN__PREFETCH(pr + v);
                        CONVRNN__PREFETCH(pr + wp - 1);
                    }
                for (tap = 0; tap < 4; tap++)
                    gk[tap / 2][tap % 2] = c->bwd ? convrnn__vldn(Wt + ((size_t)tap * kb + kk) * ld + j, nn)
                                                  : convrnn__vldn(c->w + ((size_t)tap * g->ci + k0 + kk) * g->co + c0 + j, nn);
                for (b2 = 0; b2 < 2; b2++) {
                    col[0] = gk[0][b2]; col[1] = gk[1][b2];
                    convrnn__w32_g(col, u);
                    for (a = 0; a < 4; a++) t4[a][b2] = u[a];
                }
                for (a = 0; a < 4; a++) {
                    convrnn__w32_g(t4[a], u);
                    for (b2 = 0; b2 < 4; b2++) convrnn__vst(U + (size_t)(4 * a + b2) * c->ux + (size_t)kk * ld + j, u[b2]);
                }
            }
        for (xi = 0; xi < 16; xi++) {   /* M[xi] (+)= V[xi][.][k0 ..] U[xi] */
            const float *pb = U + (size_t)xi * c->ux;
            for (mt = 0; mt < T; mt += MR) {
                const float *bs[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) {
                    bs[i] = c->V + (size_t)xi * c->vx + (size_t)(mt + i < T ? mt + i : mt) * c->CsV + k0;
                    crow[i] = mt + i < T ? M + (size_t)xi * c->mx + (size_t)(mt + i) * ld : NULL;
                }
                convrnn__ukr_run(nvp, T - mt < MR ? T - mt : MR, 1, bs, zero_off, &kb, &pb, crow, ld, k0 > 0, NULL);
            }
        }
    }
    for (t = 0; t < T; t++) {   /* back: forward Y = A^T M A + bias; backward dx += B M B^T */
        const int n = t / (c->TH * c->TW), ty = (t / c->TW) % c->TH, tx = t % c->TW;
        const int DH = c->bwd ? g->h : g->oh, DW = c->bwd ? g->w : g->ow;
        const int y0 = c->bwd ? 3 * ty - g->pt : 3 * ty, x0 = c->bwd ? 3 * tx - g->pl : 3 * tx, no = c->bwd ? 4 : 3;
        int cc, a, b2;
        for (cc = 0; cc < wp; cc += VL) {
            const int nn = wp - cc < VL ? wp - cc : VL;
            convrnn__vf s[4][4], m4[4], y[4];
            for (b2 = 0; b2 < 4; b2++) {
                for (a = 0; a < 4; a++) m4[a] = convrnn__vld(M + (size_t)(4 * a + b2) * c->mx + (size_t)t * ld + cc);
                if (c->bwd) convrnn__w32_b(m4, y);
                else convrnn__w32_at(m4, y);
                for (a = 0; a < no; a++) s[a][b2] = y[a];
            }
            for (a = 0; a < no; a++) {
                if (y0 + a < 0 || y0 + a >= DH) continue;
                if (c->bwd) convrnn__w32_b(s[a], y);
                else convrnn__w32_at(s[a], y);
                for (b2 = 0; b2 < no; b2++) {
                    float *o;
                    if (x0 + b2 < 0 || x0 + b2 >= DW) continue;
                    o = c->dst + (((size_t)n * DH + y0 + a) * DW + x0 + b2) * Cd + c0 + cc;
                    if (c->bwd) convrnn__vstn(o, convrnn__vadd(convrnn__vldn(o, nn), y[b2]), nn);
                    else convrnn__vstn(o, c->bias ? convrnn__vadd(y[b2], convrnn__vldn(c->bias + c0 + cc, nn)) : y[b2], nn);
                }
            }
        }
    }
}
/* bwd = 0: dst = y = bias + conv(src = x, w); bwd = 1: dst = dx += conv^T(src = dy, w) */
static int convrnn__sconv_w32(void *actx, const convrnn__geom *g, int bwd, const float *src, const float *w, const float *bias,
                              float *dst) {
    const int NR = CONVRNN__NVD * CONVRNN__VL;
    const int Cs = bwd ? g->co : g->ci, Cd = bwd ? g->ci : g->co, CsV = convrnn__ldv(Cs);
    const int TH = (g->oh + 2) / 3, TW = (g->ow + 2) / 3, T = g->n * TH * TW, npan = (Cd + NR - 1) / NR;
    const double flops = 16.0 * T * Cs * Cd;
    const size_t vx = convrnn__w4_str((size_t)T * CsV), ux = convrnn__w4_str((size_t)CONVRNN__W32_KB * NR);
    const size_t mx = convrnn__w4_str((size_t)T * NR);
    const size_t sz_v = convrnn__al((size_t)16 * vx * sizeof(float));
    const size_t sz_u = convrnn__al((size_t)16 * ux * sizeof(float)), sz_m = convrnn__al((size_t)16 * mx * sizeof(float));
    const size_t sz_t = bwd ? convrnn__al((size_t)4 * CONVRNN__W32_KB * NR * sizeof(float)) : 0;
    const size_t per_thr = sz_u + sz_m + sz_t;
    int nthr = flops <= CONVRNN__PAR_FLOPS || npan < 2 ? 1 : convrnn__nthreads(), task;
    char *mem, *base;
    float *V;
    convrnn__w32p c;
    if (!convrnn__w32_ok(g)) return 0;
    mem = (char *)convrnn__scratch(actx, sz_v + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    V = (float *)base;
    c.g = g; c.w = w; c.bias = bias; c.V = V; c.dst = dst; c.bwd = bwd; c.Cs = Cs; c.Cd = Cd; c.CsV = CsV;
    c.TH = TH; c.TW = TW; c.T = T; c.vx = vx; c.ux = ux; c.mx = mx;
CONVRNN__OMP_REGION(nthr > 1)
    {
        char *scr = base + sz_v + per_thr * (size_t)convrnn__tid();
CONVRNN__OMP_FOR_STATIC
        for (task = 0; task < T; task++) convrnn__w32_tile(&c, bwd, src, Cs, task, V, vx, CsV);
CONVRNN__OMP_FOR_DYN
        for (task = 0; task < npan; task++)
            convrnn__w32_panel(&c, task, (float *)scr, (float *)(scr + sz_u + sz_m), (float *)(scr + sz_u));
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Weight gradient of the same layers: per tile, dW_t = F(2x2, 3x3) of the 4x4 patch d of x and the
   3x3 tile of dy (the same four points, so the same B^T as the forward):
       dw += A2^T [ sum over tiles of (G3 dY G3^T) (.) (B^T d B) ] A2,
       G3 = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],  A2^T = [1 1 1 0; 0 1 -1 1],
   16 products per tile and channel pair where the direct sum takes 36. Every tile of x (V) and of
   dy (Z) is transformed first, and V copied into blocks of 6 input channels in reading order
   (V6); a task owns 2 vectors of output channels and runs, block of 6 input channels by block,
   the 16 sums over the tiles (K = tiles, few) in registers, each folded at once into the 4 taps'
   sums (A2^T has 0 and +-1 only; in L1), which are added to dw. Each element of dw is one task's,
   summed in a fixed order. db is left to the caller. */
static const signed char convrnn__w32_fold[2][4] = { { 1, 1, 1, 0 }, { 0, 1, -1, 1 } };   /* A2^T */
CONVRNN__FINL void convrnn__w32_bwf_g(const int MR, int T, const float *V, size_t vx, int CsV, const float *Z, size_t zx, int ldz,
                                      float *dw, size_t tst, int Co, int nl) {
    /* 12 sums in registers (6 rows x 2 vectors: enough chains to cover the FMA latency with K = tiles
       small); the taps' sums in a block of L1 */
    float tpb[4 * 6 * 2 * CONVRNN__VL];
    convrnn__vf acc[6][2];
    int xi, t, i, v, tap;
    for (i = 0; i < 4 * 6 * 2 * CONVRNN__VL; i += CONVRNN__VL) convrnn__vst(tpb + i, convrnn__vzero());
    for (xi = 0; xi < 16; xi++) {
        const float *vr = V + (size_t)xi * vx, *zr = Z + (size_t)xi * zx;
        for (i = 0; i < MR; i++) acc[i][0] = acc[i][1] = convrnn__vzero();
        for (t = 0; t < T; t++) {
            const convrnn__vf z0 = convrnn__vld(zr + (size_t)t * ldz), z1 = convrnn__vld(zr + (size_t)t * ldz + CONVRNN__VL);
            for (i = 0; i < MR; i++) {
                const convrnn__vf a = convrnn__vset1(vr[(size_t)t * CsV + i]);
                acc[i][0] = convrnn__vfma(a, z0, acc[i][0]);
                acc[i][1] = convrnn__vfma(a, z1, acc[i][1]);
            }
        }
        for (tap = 0; tap < 4; tap++) {   /* tap (ky, kx) gets A2^T[ky][p] A2^T[kx][q] of position (p, q) */
            const int cf = convrnn__w32_fold[tap / 2][xi / 4] * convrnn__w32_fold[tap % 2][xi % 4];
            float *tb = tpb + (size_t)tap * 12 * CONVRNN__VL;
            if (cf == 0) continue;
            for (i = 0; i < MR; i++)
                for (v = 0; v < 2; v++) {
                    float *o = tb + (2 * i + v) * CONVRNN__VL;
                    convrnn__vst(o, cf > 0 ? convrnn__vadd(convrnn__vld(o), acc[i][v]) : convrnn__vsub(convrnn__vld(o), acc[i][v]));
                }
        }
    }
    for (tap = 0; tap < 4; tap++)
        for (i = 0; i < MR; i++)
            for (v = 0; v < 2; v++) {
                const int nn = nl - v * CONVRNN__VL;
                const convrnn__vf s = convrnn__vld(tpb + ((size_t)tap * 12 + 2 * i + v) * CONVRNN__VL);
                float *o = dw + (size_t)tap * tst + (size_t)i * Co + v * CONVRNN__VL;
                if (nn >= CONVRNN__VL) convrnn__vst(o, convrnn__vadd(convrnn__vld(o), s));
                else if (nn > 0) convrnn__vstn(o, convrnn__vadd(convrnn__vldn(o, nn), s), nn);
            }
}
static int convrnn__sconv_bwf_w32(void *actx, const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int Ci = g->ci, Co = g->co, CiV = convrnn__ldv(Ci), CoZ = convrnn__ldv(Co), NB = 2 * CONVRNN__VL;
    const int TH = (g->oh + 2) / 3, TW = (g->ow + 2) / 3, T = g->n * TH * TW, nblk = (Co + NB - 1) / NB;
    const double flops = 16.0 * T * Ci * Co;
    const size_t vx = convrnn__w4_str((size_t)T * CiV), zx = convrnn__w4_str((size_t)T * CoZ);
    const size_t sz_v = convrnn__al((size_t)16 * vx * sizeof(float));
    const size_t sz_z = convrnn__al(((size_t)16 * zx + 2 * CONVRNN__VL) * sizeof(float));   /* (the last row's second vector) */
    const int nb6 = (Ci + 5) / 6;
    const size_t sz_v6 = convrnn__al((size_t)nb6 * 16 * T * 6 * sizeof(float));
    const int nthr = flops <= CONVRNN__PAR_FLOPS || nblk < 2 ? 1 : convrnn__nthreads();
    char *mem, *base;
    float *V, *Z, *V6;
    convrnn__w32p c;
    int task;
    (void)nthr;   /* (read by the parallel region only) */
    if (!convrnn__w32_ok(g)) return 0;
    mem = (char *)convrnn__scratch(actx, sz_v + sz_z + sz_v6 + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    V = (float *)base;
    Z = (float *)(base + sz_v);
    V6 = (float *)(base + sz_v + sz_z);
    memset(&c, 0, sizeof c);
    c.g = g; c.TH = TH; c.TW = TW; c.T = T;
CONVRNN__OMP_REGION(nthr > 1)
    {
CONVRNN__OMP_FOR_STATIC
        for (task = 0; task < 2 * T; task++) {
            if (task < T) convrnn__w32_tile(&c, 0, x, Ci, task, V, vx, CiV);
            else convrnn__w32_tile(&c, 2, dy, Co, task - T, Z, zx, CoZ);
        }
CONVRNN__OMP_FOR_STATIC
        for (task = 0; task < nb6; task++) {   /* V6[block of 6 channels][xi][t][6]: read in order below */
            int xi, t, i;
            for (xi = 0; xi < 16; xi++)
                for (t = 0; t < T; t++)
                    for (i = 0; i < 6; i++)
                        V6[(((size_t)task * 16 + xi) * T + t) * 6 + i] = 6 * task + i < Ci ? V[(size_t)xi * vx + (size_t)t * CiV + 6 * task + i] : 0.0f;
        }
CONVRNN__OMP_FOR_DYN
        for (task = 0; task < nblk; task++) {   /* output channels [co0, co0 + nl), blocks of 6 input channels */
            const int co0 = task * NB, nl = Co - co0 < NB ? Co - co0 : NB;
            const size_t tst = (size_t)Ci * Co;
            int c0;
            for (c0 = 0; c0 < Ci; c0 += 6) {
                float *o = dw + (size_t)c0 * Co + co0;
                const float *vb = V6 + (size_t)(c0 / 6) * 16 * T * 6, *zb = Z + co0;
                switch (Ci - c0 < 6 ? Ci - c0 : 6) {
                case 6: convrnn__w32_bwf_g(6, T, vb, (size_t)T * 6, 6, zb, zx, CoZ, o, tst, Co, nl); break;
                case 5: convrnn__w32_bwf_g(5, T, vb, (size_t)T * 6, 6, zb, zx, CoZ, o, tst, Co, nl); break;
                case 4: convrnn__w32_bwf_g(4, T, vb, (size_t)T * 6, 6, zb, zx, CoZ, o, tst, Co, nl); break;
                case 3: convrnn__w32_bwf_g(3, T, vb, (size_t)T * 6, 6, zb, zx, CoZ, o, tst, Co, nl); break;
                case 2: convrnn__w32_bwf_g(2, T, vb, (size_t)T * 6, 6, zb, zx, CoZ, o, tst, Co, nl); break;
                default: convrnn__w32_bwf_g(1, T, vb, (size_t)T * 6, 6, zb, zx, CoZ, o, tst, Co, nl); break;
                }
            }
        }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* Weight gradient of a 3x3 stride-1 convolution with Winograd F(2x2, 3x3): with V_t = B^T d_t B
   (4x4 input patch of tile t, as the forward) and Z_t = A dY_t A^T (its 2x2 output gradient),
       dw += G^T ( sum over tiles t of Z_t (.) V_t ) G,
   i.e. per transform position xi a GEMM dU[xi][ci][co] += sum_t V[xi][t][ci] Z[xi][t][co]
   (2.25x fewer multiplications than the direct sum). Tiles are taken in chunks of TC in ascending
   order. Each element of dU is owned by one (xi, channel-block) task, so the sums do not depend on
   the thread count. Each thread takes a contiguous share of the tasks (xi-major) and, chunk by
   chunk, transforms every tile for its own positions xi only, into its own slots of V and Z, then
   runs its GEMMs: V and Z never cross cores and the chunks need no barrier. The transforms read x
   and dy in place (taps off the map read zeros): no padded copy to write and share. (Measured on
   2 threads, where one transform loop over the tiles and a padded copy of x, each made half by
   the other core, gave 1.0-1.5x the speed of one thread.) Returns 0 (nothing written) without
   scratch memory. */
static int convrnn__sconv_bwf_wino(void *actx, const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int VL = CONVRNN__VL, NR = CONVRNN__NVP * CONVRNN__VL, Ci = g->ci, Co = g->co;
    const int TH = (g->oh + 1) / 2, TW = (g->ow + 1) / 2, T = g->n * TH * TW;
    const int CiV = convrnn__ldv(Ci);
    const int CoZ = convrnn__ldv(Co);
    const int tc0 = (int)(65536 / (double)(CiV + CoZ)), TC = tc0 < 32 ? 32 : tc0 > 512 ? 512 : tc0;
    const int MR = CONVRNN__MRP, nct = (Ci + MR - 1) / MR, npan = (Co + NR - 1) / NR;
    const int cg_n = (nct + 7) / 8, CG = (nct + cg_n - 1) / cg_n;    /* ci tiles per GEMM task */
    const int ntask = 16 * cg_n;
    const double flops = 16.0 * T * Ci * Co;
    size_t sz_v, sz_z;
    int nslot;
    const size_t sz_u = convrnn__al((size_t)16 * Ci * Co * sizeof(float));
    const size_t sz_pb = convrnn__al((size_t)TC * sizeof(ptrdiff_t));
    int nthr = convrnn__nthreads(), c0;
    char *mem, *base;
    float *V, *Z, *dU;
    ptrdiff_t *pb;
    if (g->kh != 3 || g->kw != 3 || g->s != 1) return 0;
    if (flops <= CONVRNN__PAR_FLOPS) nthr = 1;
    /* 16 + min(nthr, ntask) - 1 slots of TC tiles: a thread whose share starts at task tk0 keeps
       position xi in slot xi + min(me, tk0) (the shares of neighbouring threads overlap in at most
       one xi, and that offset grows by at least 1 from one non-empty share to the next) */
    nslot = 15 + (nthr < ntask ? nthr : ntask);
    sz_v = convrnn__al((size_t)nslot * TC * CiV * sizeof(float));
    sz_z = convrnn__al((size_t)nslot * TC * CoZ * sizeof(float));
    mem = (char *)convrnn__scratch(actx, sz_v + sz_z + sz_u + sz_pb + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    V = (float *)base;
    Z = (float *)(base + sz_v);
    dU = (float *)(base + sz_v + sz_z);
    pb = (ptrdiff_t *)(base + sz_v + sz_z + sz_u);
    for (c0 = 0; c0 < TC; c0++) pb[c0] = (ptrdiff_t)c0 * CiV;
CONVRNN__OMP_REGION(nthr > 1)
    {   /* one region: each thread's chunks (transforms and GEMMs of its positions), the fold */
    const int me = convrnn__tid();
    const size_t vx = (size_t)TC * CiV, zx = (size_t)TC * CoZ;
    int ch, tk0, tk1, x0, x1, task, rk;
    convrnn__share(ntask, me, convrnn__team(), &tk0, &tk1);
    rk = me < tk0 ? me : tk0;   /* the slot offset */
    x0 = tk0 / cg_n;
    x1 = tk1 > tk0 ? (tk1 - 1) / cg_n + 1 : x0;
    for (task = tk0; task < tk1; task++) {   /* this thread's rows of dU start at zero */
        const int xi = task / cg_n, ca = task % cg_n * CG * MR, cb = ca + CG * MR < Ci ? ca + CG * MR : Ci;
        if (cb > ca) memset(dU + ((size_t)xi * Ci + ca) * Co, 0, (size_t)(cb - ca) * Co * sizeof(float));
    }
    for (ch = 0; ch < T && tk1 > tk0; ch += TC) {
        const int nt = T - ch < TC ? T - ch : TC;
        float *Vm = V + (size_t)(x0 + rk) * vx, *Zm = Z + (size_t)(x0 + rk) * zx;   /* slot of x0 */
        int t;
        for (t = 0; t < nt; t++) {   /* V = B^T d B and Z = A dY A^T of every tile of the chunk, at xi in [x0, x1) */
            const int q = ch + t, n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
            const int ny2 = g->oh - 2 * ty < 2 ? g->oh - 2 * ty : 2, nx2 = g->ow - 2 * tx < 2 ? g->ow - 2 * tx : 2;
            const float *px[16];
            int c, a, b2;
            convrnn__wino_patch(x, n, g->h, g->w, Ci, 2 * ty - g->pt, 2 * tx - g->pl, px);
            convrnn__wino_in(px, Ci, Vm + (size_t)t * CiV, vx, x0, x1);
            for (c = 0; c < Co; c += VL) {
                const int nn = Co - c < VL ? Co - c : VL;
                convrnn__vf e[2][2], h[4][2];
                for (a = 0; a < 2; a++)
                    for (b2 = 0; b2 < 2; b2++)
                        e[a][b2] = a < ny2 && b2 < nx2
                            ? convrnn__vldn(dy + (((size_t)n * g->oh + 2 * ty + a) * g->ow + 2 * tx + b2) * Co + c, nn)
                            : convrnn__vzero();
                for (b2 = 0; b2 < 2; b2++) {
                    h[0][b2] = e[0][b2];
                    h[1][b2] = convrnn__vadd(e[0][b2], e[1][b2]);
                    h[2][b2] = convrnn__vsub(e[0][b2], e[1][b2]);
                    h[3][b2] = convrnn__vsub(convrnn__vzero(), e[1][b2]);
                }
                for (a = x0 / 4; a <= (x1 - 1) / 4; a++) {
                    convrnn__vf o[4];
                    o[0] = h[a][0];
                    o[1] = convrnn__vadd(h[a][0], h[a][1]);
                    o[2] = convrnn__vsub(h[a][0], h[a][1]);
                    o[3] = convrnn__vsub(convrnn__vzero(), h[a][1]);
                    convrnn__wino_put(Zm + (size_t)t * CoZ + c, zx, a, o, x0, x1);
                }
            }
        }
        for (task = tk0; task < tk1; task++) {   /* dU[xi] += V[xi]^T Z[xi] over the chunk */
            const int xi = task / cg_n, cg = task % cg_n;
            const int t0 = cg * CG, t1 = t0 + CG < nct ? t0 + CG : nct;
            int tile, pp, i;
            for (tile = t0; tile < t1; tile++) {
                const int ci0 = tile * MR, mrv = Ci - ci0 < MR ? Ci - ci0 : MR;
                ptrdiff_t o[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                for (i = 0; i < MR; i++) o[i] = ci0 + (i < mrv ? i : 0);
                for (pp = 0; pp < npan; pp++) {
                    const int col = pp * NR, wp = Co - col < NR ? Co - col : NR, nvp = (wp + VL - 1) / VL;
                    for (i = 0; i < MR; i++) crow[i] = i < mrv ? dU + ((size_t)xi * Ci + ci0 + i) * Co + col : NULL;
                    convrnn__ukr_bo(MR, nvp, nt, V + (size_t)(xi + rk) * vx, pb, o, Z + (size_t)(xi + rk) * zx + col, CoZ,
                                    crow, wp);
                }
            }
        }
    }
CONVRNN__OMP_BARRIER
    {   /* dw[a][b][ci][co] += (G^T dU G)[a][b] */
        int ci;
CONVRNN__OMP_FOR_STATIC
        for (ci = 0; ci < Ci; ci++) {
            int co, a, j;
            for (co = 0; co < Co; co++) {
                float u[4][4], pq[3][4];
                for (a = 0; a < 4; a++)
                    for (j = 0; j < 4; j++) u[a][j] = dU[((size_t)(a * 4 + j) * Ci + ci) * Co + co];
                for (j = 0; j < 4; j++) {
                    pq[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
                    pq[1][j] = 0.5f * (u[1][j] - u[2][j]);
                    pq[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
                }
                for (a = 0; a < 3; a++) {
                    float *o = dw + ((size_t)(a * 3) * Ci + ci) * Co + co;
                    const size_t sx = (size_t)Ci * Co;
                    o[0] += pq[a][0] + 0.5f * (pq[a][1] + pq[a][2]);
                    o[sx] += 0.5f * (pq[a][1] - pq[a][2]);
                    o[2 * sx] += 0.5f * (pq[a][1] + pq[a][2]) + pq[a][3];
                }
            }
        }
    }
    }
    convrnn_free(actx, mem);
    return 1;
}
/* Weight gradient of a 3x3 stride-1 convolution with Winograd F(4x4, 3x3), for the small maps of
   convrnn__sconv_wino4: with V_t = B^T d_t B (6x6 input patch of tile t, as the forward) and
   Z_t = A dY_t A^T (its 4x4 output gradient),
       dw += G^T ( sum over tiles t of Z_t (.) V_t ) G,
   i.e. per position xi a GEMM dU[xi][ci][co] = sum_t V[xi][t][ci] Z[xi][t][co] with 36 products
   per tile and channel pair instead of 144. The threads first transform every tile (V and Z) of a
   group of samples; then a task owns one column panel of output channels and a block of input
   channels: it sums dU for them over the group's tiles, in ascending order, in its own scratch,
   and adds G^T dU G into its part of dw; group after group. Each element of
   dw has one writer and a fixed summation order. Returns 0 (nothing written) without scratch
   memory. */
CONVRNN__FINL void convrnn__w4_a(const convrnn__vf *e, convrnn__vf *z) {   /* z = A e (4 -> 6 vectors) */
    const convrnn__vf p = convrnn__vadd(e[0], e[2]), q = convrnn__vadd(e[1], e[3]);
    const convrnn__vf p4 = convrnn__vfma(convrnn__vset1(4.0f), e[2], e[0]);
    const convrnn__vf q2 = convrnn__vfma(convrnn__vset1(8.0f), e[3], convrnn__vadd(e[1], e[1]));
    z[0] = e[0];
    z[1] = convrnn__vadd(p, q);
    z[2] = convrnn__vsub(p, q);
    z[3] = convrnn__vadd(p4, q2);
    z[4] = convrnn__vsub(p4, q2);
    z[5] = e[3];
}
CONVRNN__FINL void convrnn__w4_gt(const convrnn__vf *u, convrnn__vf *k) {   /* k = G^T u (6 -> 3 vectors) */
    const convrnn__vf s12 = convrnn__vadd(u[1], u[2]), d12 = convrnn__vsub(u[1], u[2]);
    const convrnn__vf s34 = convrnn__vadd(u[3], u[4]), d34 = convrnn__vsub(u[3], u[4]);
    const convrnn__vf m6 = convrnn__vset1(-1.0f / 6.0f);
    k[0] = convrnn__vfma(convrnn__vset1(1.0f / 24.0f), s34, convrnn__vfma(m6, s12, convrnn__vmul(convrnn__vset1(0.25f), u[0])));
    k[1] = convrnn__vfma(convrnn__vset1(1.0f / 12.0f), d34, convrnn__vmul(m6, d12));
    k[2] = convrnn__vadd(convrnn__vfma(convrnn__vset1(1.0f / 6.0f), s34, convrnn__vmul(m6, s12)), u[5]);
}
static int convrnn__sconv_bwf_wino4(void *actx, const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int VL = CONVRNN__VL, NR = CONVRNN__NVW * CONVRNN__VL, MR = CONVRNN__MRW, Ci = g->ci, Co = g->co;
    const int TH = (g->oh + 3) / 4, TW = (g->ow + 3) / 4;
    /* the samples in groups of ng, each group's tiles transformed whole (at most
       CONVRNN__WINO4_BWF_TILES tiles where a sample allows: the scratch stays bounded) and added
       to dw in turn (groups fixed by the shape, so the sums do not depend on the threads) */
    const int ngw = CONVRNN__WINO4_BWF_TILES / (TH * TW), ng = ngw < 1 ? 1 : ngw > g->n ? g->n : ngw, T = ng * TH * TW;
    const int CiV = convrnn__ldv(Ci);
    const int CoZ = convrnn__ldv(Co);
    const int npan = (Co + NR - 1) / NR, ntl = (Ci + MR - 1) / MR;
    const double flops = 36.0 * g->n * TH * TW * Ci * Co;
    const int nthr0 = flops <= CONVRNN__PAR_FLOPS ? 1 : convrnn__nthreads();
    /* input channels in ncb blocks of CB (whole MR-row tiles, at most CONVRNN__WINO4_CBT of them) */
    const int ncb = convrnn__w4_blocks(ntl, 1, CONVRNN__WINO4_CBT, nthr0 > 1 ? (4 * nthr0 + npan - 1) / npan : 1), CB = (ntl + ncb - 1) / ncb * MR;
    const size_t vx = convrnn__w4_str((size_t)T * CiV), zx = convrnn__w4_str((size_t)T * CoZ);
    const size_t ux = convrnn__w4_str((size_t)CB * NR);
    const size_t sz_v = convrnn__al((size_t)36 * vx * sizeof(float)), sz_z = convrnn__al((size_t)36 * zx * sizeof(float));
    const size_t sz_pb = convrnn__al((size_t)T * sizeof(ptrdiff_t)), per_thr = convrnn__al((size_t)36 * ux * sizeof(float));
    int nthr = nthr0, q, task, n0;
    char *mem, *base;
    float *V, *Z;
    ptrdiff_t *pb;
    if (g->kh != 3 || g->kw != 3 || g->s != 1) return 0;
    mem = (char *)convrnn__scratch(actx, sz_v + sz_z + sz_pb + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    V = (float *)base;
    Z = (float *)(base + sz_v);
    pb = (ptrdiff_t *)(base + sz_v + sz_z);
    for (q = 0; q < T; q++) pb[q] = (ptrdiff_t)q * CiV;
    for (n0 = 0; n0 < g->n; n0 += ng) {
    const int Tc = (g->n - n0 < ng ? g->n - n0 : ng) * TH * TW;
    const float *xs = x + (size_t)n0 * g->h * g->w * Ci, *dys = dy + (size_t)n0 * g->oh * g->ow * Co;
CONVRNN__OMP_REGION(nthr > 1)
    {
    float *dU = (float *)(base + sz_v + sz_z + sz_pb + per_thr * (size_t)convrnn__tid());
    /* V[xi][t][ci] = (B^T d B)[xi], Z[xi][t][co] = (A dY A^T)[xi] of every tile t */
CONVRNN__OMP_FOR_STATIC
    for (q = 0; q < Tc; q++) {
        const int n = q / (TH * TW), ty = (q / TW) % TH, tx = q % TW;
        const int ny4 = g->oh - 4 * ty < 4 ? g->oh - 4 * ty : 4, nx4 = g->ow - 4 * tx < 4 ? g->ow - 4 * tx : 4;
        const float *px[36];
        int c, a, b2;
        convrnn__w4_patch(xs, n, g->h, g->w, Ci, 4 * ty - g->pt, 4 * tx - g->pl, px);
        convrnn__w4_in(px, Ci, V + (size_t)q * CiV, vx);
        for (c = 0; c < Co; c += VL) {
            const int nn = Co - c < VL ? Co - c : VL;
            convrnn__vf e[4], h[6][4], z[6];
            for (b2 = 0; b2 < 4; b2++) {   /* columns: h = A e */
                for (a = 0; a < 4; a++)
                    e[a] = a < ny4 && b2 < nx4
                        ? convrnn__vldn(dys + (((size_t)n * g->oh + 4 * ty + a) * g->ow + 4 * tx + b2) * Co + c, nn)
                        : convrnn__vzero();
                convrnn__w4_a(e, z);
                for (a = 0; a < 6; a++) h[a][b2] = z[a];
            }
            for (a = 0; a < 6; a++) {   /* rows: (A e) A^T */
                convrnn__w4_a(h[a], z);
                for (b2 = 0; b2 < 6; b2++) convrnn__vst(Z + (size_t)(6 * a + b2) * zx + (size_t)q * CoZ + c, z[b2]);
            }
        }
    }
    /* a task per column panel of output channels and block of input channels: dU over the group's
       tiles, then dw += G^T dU G */
CONVRNN__OMP_FOR_DYN
    for (task = 0; task < npan * ncb; task++) {
        const int p = task / ncb, c0 = p * NR, wp = Co - c0 < NR ? Co - c0 : NR, nvp = (wp + VL - 1) / VL, ld = nvp * VL;
        const int cb0 = task % ncb * CB;
        int xi, ci0, i;
        if (cb0 < Ci) {   /* the block's dU stays in cache */
            const int cb = Ci - cb0 < CB ? Ci - cb0 : CB;
            int ci;
            for (xi = 0; xi < 36; xi++) {
                memset(dU + (size_t)xi * ux, 0, (size_t)cb * ld * sizeof(float));
                for (ci0 = cb0; ci0 < cb0 + cb; ci0 += MR) {
                    const int mrv = cb0 + cb - ci0 < MR ? cb0 + cb - ci0 : MR;
                    ptrdiff_t o[CONVRNN__MRMAX];
                    float *crow[CONVRNN__MRMAX];
                    for (i = 0; i < MR; i++) {
                        o[i] = ci0 + (i < mrv ? i : 0);
                        crow[i] = i < mrv ? dU + (size_t)xi * ux + (size_t)(ci0 - cb0 + i) * ld : NULL;
                    }
                    convrnn__ukr_bo(MR, nvp, Tc, V + (size_t)xi * vx, pb, o, Z + (size_t)xi * zx + c0, CoZ, crow, ld);
                }
            }
            for (ci = cb0; ci < cb0 + cb; ci++) {
                int c, a, b2;
                for (c = 0; c < wp; c += VL) {
                    const int nn = wp - c < VL ? wp - c : VL;
                    convrnn__vf u6[6], k3[3], t3[3][6];
                    for (b2 = 0; b2 < 6; b2++) {   /* columns: t3 = G^T u */
                        for (a = 0; a < 6; a++) u6[a] = convrnn__vld(dU + (size_t)(6 * a + b2) * ux + (size_t)(ci - cb0) * ld + c);
                        convrnn__w4_gt(u6, k3);
                        for (a = 0; a < 3; a++) t3[a][b2] = k3[a];
                    }
                    for (a = 0; a < 3; a++) {   /* rows: (G^T u) G */
                        convrnn__w4_gt(t3[a], k3);
                        for (b2 = 0; b2 < 3; b2++) {
                            float *o = dw + ((size_t)(3 * a + b2) * Ci + ci) * Co + c0 + c;
                            convrnn__vstn(o, convrnn__vadd(convrnn__vldn(o, nn), k3[b2]), nn);
                        }
                    }
                }
            }
        }
    }
    }
    }
    convrnn_free(actx, mem);
    return 1;
}


/* Backward-filter on a zero-padded copy of x (pad row = iy + pt, as the forward): filter row
   r = tap*ci + c of pixel q reads pad[base(q) + ro[r]], ro[r] = (ky*PW + kx)*ci + c, so no
   packing and no bounds checks. dw rows in tiles of MRP (2*MRP when co fits in one vector, unless
   only MRP keeps the tiles within taps; a tile may span taps) x panels of NVP (NVW) vectors of dy
   (read from its rows when co fits in one panel, else from aligned copies of the panels: made once
   before the tasks when several row groups would each copy them, else per chunk by each task);
   accumulates into dw. On AVX-512, with pixel ranges and at most 32 outputs in rows of 8 and
   kernel rows of 8k values (kw*ci a multiple of 8), each range runs transposed
   (convrnn__bwft_task): 8 output channels broadcast from dy x up to 3 vectors of filter rows,
   where the row-major tile takes one broadcast per vector FMA.
   With many pixels and a small filter the pixels are cut into KS fixed ranges (whole samples when
   there are KS of them), each summed into its own partial dw and folded into dw in ascending
   order; KS depends on the shapes only, never on the thread count. A task owns one range x a
   range of row tiles x a group of panels; pixel chunks (KC pixels, 2 KC when co fits in one
   vector) are summed in ascending order. When the ranges are whole samples and the threads
   (one included) divide KS, the threads claim the ranges in turn and pad and reduce each, its
   samples padded just before its tasks (they stay in its cache; measured: reading a copy another
   core has just written costs more than the reduction, and padding range by range makes
   conv1's weight gradient 1-3% faster than padding every sample first). */
typedef struct {
    const convrnn__geom *g;
    const float *pad, *dy;
    const ptrdiff_t *ro;
    float *dw, *db, *part;
    const float *dyp;   /* NULL, or dy in panels: panel p's row k (NR values) at dyp[(p K + k) NR] */
    int MR, NR, KC, KS, TG, R, ntile, npan, PH, PW, Kper, bysample, tr;
} convrnn__bwfp;
static int convrnn__bwfp_k(const convrnn__bwfp *c, int ks) {   /* first pixel of range ks */
    const int K = c->g->n * c->g->oh * c->g->ow;
    if (c->bysample) return (int)((long long)ks * c->g->n / c->KS) * c->g->oh * c->g->ow;
    return (long long)ks * c->Kper < K ? ks * c->Kper : K;
}
/* a task's float scratch, after its 2 KC pixel offsets pb: the aligned dy panel (co > NR) or T */
/* clears what range ks's partial sum (KS > 1) needs cleared: its bias row in the transposed form
   (its transpose writes rows 0..R-1 whole), else all R + 1 rows */
static void convrnn__bwfp_clear(const convrnn__bwfp *c, int ks) {
    const size_t Co = (size_t)c->g->co, rows = c->tr ? 1 : (size_t)c->R + 1;
    memset(c->part + ((size_t)ks * (c->R + 1) + (c->R + 1 - rows)) * Co, 0, rows * Co * sizeof(float));
}
static float *convrnn__bwfp_scratch(const convrnn__bwfp *c, ptrdiff_t *pb) {
    return (float *)((char *)pb + convrnn__al((size_t)2 * c->KC * sizeof(ptrdiff_t)));
}
/* panel p of dy into dyp: each row's wp values at the start of its NR */
static void convrnn__bwfp_pack(const convrnn__bwfp *c, float *dyp, int p) {
    const int Co = c->g->co, NR = c->NR, wp = Co - p * NR < NR ? Co - p * NR : NR;
    const size_t K = (size_t)c->g->n * c->g->oh * c->g->ow;
    size_t k;
    for (k = 0; k < K; k++) convrnn__vcopy(dyp + ((size_t)p * K + k) * NR, c->dy + k * Co + (size_t)p * NR, wp);
}
/* chunk [c0, c0 + kc): pb[k] = the copy's offset of pixel c0 + k; dbt (unless NULL) += the sum of
   its dy rows, columns [ca, cb), rows in ascending order */
static void convrnn__bwfp_chunk(const convrnn__bwfp *c, int c0, int kc, ptrdiff_t *pb, float *dbt, int ca, int cb) {
    const convrnn__geom *g = c->g;
    const int Co = g->co, Ci = g->ci, OHW = g->oh * g->ow;
    int n = c0 / OHW, oy = (c0 / g->ow) % g->oh, ox = c0 % g->ow, k;
    for (k = 0; k < kc; k++) {
        pb[k] = (((ptrdiff_t)n * c->PH + (ptrdiff_t)oy * g->s) * c->PW + (ptrdiff_t)ox * g->s) * Ci;
        if (++ox == g->ow) { ox = 0; if (++oy == g->oh) { oy = 0; n++; } }
    }
    if (c->db && dbt && cb > ca) convrnn__colsum(c->dy + (size_t)c0 * Co + ca, Co, (size_t)kc, cb - ca, dbt + ca);
}
/* Transposed weight-gradient kernel: crow[i][0 .. ncol) += sum over k of a[k lda + i] * (vector v of
   the copy at pixel k), 8 rows (output channels) broadcast from the dy row, NV vectors of filter
   rows. split 0: the vectors are consecutive, vector v whole at pad[pb[k] + v VL ..] (the caller
   passes pad already offset to the first; lo and hi are not read); split 1: vector v's halves at
   pad[pb[k] + lo[v] ..] and pad[pb[k] + hi[v] ..] (filter rows that straddle a kernel row).
   fma(dy, x, acc) rounds as fma(x, dy, acc): the same bits as ukr_bo. */
CONVRNN__FINL void convrnn__ukr_bt_g(const int NV, const int split, int kc, const float *a, int lda, const float *pad,
                                     const ptrdiff_t *pb, const ptrdiff_t *lo, const ptrdiff_t *hi, float *const *crow,
                                     int ncol, int add) {
    convrnn__vf acc[CONVRNN__MRMAX][CONVRNN__NVMAX];
    ptrdiff_t l[CONVRNN__NVMAX], h[CONVRNN__NVMAX];
    int k, i, v;
    convrnn__acc_init(8, NV, acc, crow, ncol, add, NULL);
    CONVRNN__UNROLL for (v = 0; v < NV; v++) { l[v] = lo[v]; h[v] = hi[v]; }
    for (k = 0; k < kc; k++) {
        const float *bk = pad + pb[k];
        convrnn__vf bv[CONVRNN__NVMAX];
        CONVRNN__UNROLL for (v = 0; v < NV; v++)
            bv[v] = split ? convrnn__vld2h(bk + l[v], bk + h[v]) : convrnn__vld(bk + v * CONVRNN__VL);
        CONVRNN__UNROLL for (i = 0; i < 8; i++) {
            const convrnn__vf av = convrnn__vset1(a[i]);
            CONVRNN__UNROLL for (v = 0; v < NV; v++) acc[i][v] = convrnn__vfma(av, bv[v], acc[i][v]);
        }
        a += lda;
    }
    convrnn__acc_store(8, NV, acc, crow, ncol);
}
/* Range ks in the transposed form (c->tr): T[co][r] starts at zero (a range's partial sum dwt is
   zero until its one task), each chunk adds dwT += dy^T X over its pixels in tiles of 8 output
   channels x up to 3 vectors of filter rows (the kw taps' channels of a kernel row are contiguous
   in the copy; with kernel rows of whole vectors a vector is one load, else its halves are loaded
   apart), and T is transposed into dwt in registers. Each element is the same chain of FMAs as in
   the row-major tiles. */
static void convrnn__bwft_task(const convrnn__bwfp *c, int ks, ptrdiff_t *pb) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, KC = c->KC, R = c->R, Co = g->co, rowf = g->kw * g->ci, nvec = (R + VL - 1) / VL;
    const int k0 = convrnn__bwfp_k(c, ks), k1 = convrnn__bwfp_k(c, ks + 1);
    const ptrdiff_t rowoff = (ptrdiff_t)c->PW * g->ci;   /* copy offset of the next kernel row */
    float *dwt = c->part + (size_t)ks * (R + 1) * Co;   /* c->tr implies pixel ranges (KS > 1) */
    float *T = convrnn__bwfp_scratch(c, pb);
    int c0, kc, co, j0, v, i;
    /* the first chunk's tiles start from zero (add = 0) and write all of T; an empty range writes
       zeros (vector stores: T stays in cache; measured: memset was slower) */
    if (k0 >= k1) convrnn__vcopy(T, NULL, Co * R);
    for (c0 = k0; c0 < k1; c0 += kc) {
        kc = k1 - c0 < 2 * KC ? k1 - c0 : KC;
        convrnn__bwfp_chunk(c, c0, kc, pb, dwt + (size_t)R * Co, 0, Co);
        for (j0 = 0; j0 < nvec; j0 += 3) {
            const int nv = nvec - j0 < 3 ? nvec - j0 : 3, c1 = j0 * VL, ncol = R - c1 < nv * VL ? R - c1 : nv * VL;
            ptrdiff_t lo[3], hi[3];
            int split = 0;
            for (v = 0; v < nv; v++) {   /* filter row f sits at (f / rowf) rowoff + f % rowf */
                const int f = c1 + v * VL, fh = f + VL / 2 < R ? f + VL / 2 : f;   /* past R: lanes unused */
                lo[v] = (ptrdiff_t)(f / rowf) * rowoff + f % rowf;
                hi[v] = (ptrdiff_t)(fh / rowf) * rowoff + fh % rowf;
                split |= lo[v] != lo[0] + v * VL || hi[v] != lo[v] + VL / 2;
            }
            for (co = 0; co < Co; co += 8) {
                const float *a = c->dy + (size_t)c0 * Co + co;
                const float *pk = split ? c->pad : c->pad + lo[0];
                float *crow[8];
                for (i = 0; i < 8; i++) crow[i] = T + (size_t)(co + i) * R + c1;
#define CONVRNN__BT(NV_) (split ? convrnn__ukr_bt_g(NV_, 1, kc, a, Co, pk, pb, lo, hi, crow, ncol, c0 > k0) \
                                : convrnn__ukr_bt_g(NV_, 0, kc, a, Co, pk, pb, lo, hi, crow, ncol, c0 > k0))
                if (nv == 3) CONVRNN__BT(3);
                else if (nv == 2) CONVRNN__BT(2);
                else CONVRNN__BT(1);
#undef CONVRNN__BT
            }
        }
    }
    convrnn__transp(dwt, (size_t)Co, T, (size_t)R, Co, R);
}
static void convrnn__bwfp_task(const convrnn__bwfp *c, int ks, int rg, int grp, ptrdiff_t *pb) {
    const convrnn__geom *g = c->g;
    const int VL = CONVRNN__VL, NR = c->NR, KC = c->KC, PPT = CONVRNN__PANELS_PER_TASK;
    const int MR = c->MR, R = c->R, Co = g->co;
    const int t0 = rg * c->TG, t1 = t0 + c->TG < c->ntile ? t0 + c->TG : c->ntile;
    const int p0 = grp * PPT, p1 = p0 + PPT < c->npan ? p0 + PPT : c->npan;
    const int k0 = convrnn__bwfp_k(c, ks), k1 = convrnn__bwfp_k(c, ks + 1);
    float *dwt = c->KS > 1 ? c->part + (size_t)ks * (R + 1) * Co : c->dw;   /* its row R: the bias gradient */
    float *dbt = c->KS > 1 ? dwt + (size_t)R * Co : c->db;
    const float *dy = c->dy;
    const int ncall = (p1 - p0) * (t1 - t0), ca = p0 * NR, cb = Co < p1 * NR ? Co : p1 * NR;
    const size_t K = (size_t)g->n * g->oh * g->ow;
    int c0, kc, k, i, pp, tile, nxt, knx;
    if (c->tr) { convrnn__bwft_task(c, ks, pb); return; }
    for (c0 = k0; c0 < k1; c0 += kc) {
        kc = k1 - c0 < 2 * KC ? k1 - c0 : KC;   /* the last chunk takes the rest (< 2 KC) */
        convrnn__bwfp_chunk(c, c0, kc, pb, rg == 0 ? dbt : NULL, ca, cb);
        /* the next chunk's rows of dy (this task's columns) are prefetched, spread over the calls */
        nxt = c0 + kc;
        knx = nxt < k1 ? (k1 - nxt < 2 * KC ? k1 - nxt : KC) : 0;
        for (pp = p0; pp < p1; pp++) {   /* the chunk's dy panel stays in L1 across the row tiles */
            const int col = pp * NR, wp = Co - col < NR ? Co - col : NR, nvp = (wp + VL - 1) / VL;
            const float *bsrc = dy + (size_t)c0 * Co + col;
            int ldb = Co;
            if (c->dyp) {   /* the panels copied before the tasks */
                bsrc = c->dyp + ((size_t)pp * K + c0) * NR;
                ldb = NR;
            } else if (Co > NR) {   /* rows of wp values Co apart: copied together (aligned, 4*NR bytes apart) */
                float *pk = convrnn__bwfp_scratch(c, pb);
                for (k = 0; k < kc; k++) convrnn__vcopy(pk + (size_t)k * NR, bsrc + (size_t)k * Co, wp);
                bsrc = pk;
                ldb = NR;
            }
            for (tile = t0; tile < t1; tile++) {
                const int r0 = tile * MR, mrv = R - r0 < MR ? R - r0 : MR;
                ptrdiff_t o[CONVRNN__MRMAX];
                float *crow[CONVRNN__MRMAX];
                int tn = tile + 1, cn = col, wn = wp, qa, qb, q, v;
                convrnn__share(knx, (pp - p0) * (t1 - t0) + tile - t0, ncall, &qa, &qb);
                if (c->dyp) {
                    int pq;
                    for (q = qa; q < qb; q++)
                        for (pq = p0; pq < p1; pq++)
                            for (v = 0; v < NR; v += 16) CONVRNN__PREFETCH(c->dyp + ((size_t)pq * K + nxt + q) * NR + v);
                } else
                    for (q = qa; q < qb; q++) {
                        const float *row = dy + (size_t)(nxt + q) * Co;
                        for (v = ca; v < cb; v += 16) CONVRNN__PREFETCH(row + v);
                        CONVRNN__PREFETCH(row + cb - 1);
                    }
                for (i = 0; i < MR; i++) {
                    o[i] = c->ro[i < mrv ? r0 + i : r0];
                    crow[i] = i < mrv ? dwt + (size_t)(r0 + i) * Co + col : NULL;
                }
                /* the next tile's rows of dw (after the last tile, the next panel's first), so that
                   they arrive while this one computes: the kernel starts by loading its rows, and
                   dw (a readout's 8 MB) comes from memory, one page per row. Not with pixel ranges:
                   their partial sums (at most 64K values) stay in cache (measured: conv1's weight
                   gradient 1-5% faster without these prefetches) */
                if (tn == t1 && pp + 1 < p1) { tn = t0; cn = col + NR; wn = Co - cn < NR ? Co - cn : NR; }
                if (tn < t1 && c->KS == 1) {
                    const int r1 = tn * MR, mn = R - r1 < MR ? R - r1 : MR;
                    for (i = 0; i < mn; i++)
                        for (v = 0; v < wn; v += 16) CONVRNN__PREFETCH(dwt + (size_t)(r1 + i) * Co + cn + v);
                    for (i = 0; i < mn; i++) CONVRNN__PREFETCH(dwt + (size_t)(r1 + i) * Co + cn + wn - 1);
                }
                convrnn__ukr_bo(MR, nvp, kc, c->pad, pb, o, bsrc, ldb, crow, wp);
            }
        }
    }
}
static int convrnn__sconv_bwf_pad(void *actx, const convrnn__geom *g, const float *x, const float *dy, float *dw, float *db) {
    const int wide = g->co >= CONVRNN__NVW * CONVRNN__VL;
    /* one vector of outputs: twice the rows, or MRP when that keeps every tile within one tap and
       twice does not (e.g. 8 input channels on AVX-512: each tile's broadcasts then read constant
       offsets from one address), and chunks of twice the pixels (the dy rows are short) */
    const int one = g->co <= CONVRNN__VL;
    const int MR = one ? (g->ci % (2 * CONVRNN__MRP) != 0 && g->ci % CONVRNN__MRP == 0 ? CONVRNN__MRP : 2 * CONVRNN__MRP)
                       : wide ? CONVRNN__MRW : CONVRNN__MRP;
    const int NR = (wide ? CONVRNN__NVW : CONVRNN__NVP) * CONVRNN__VL, KC = one ? 2 * CONVRNN__KC : CONVRNN__KC;
    const int PPT = CONVRNN__PANELS_PER_TASK;
    const int taps = g->kh * g->kw, Ci = g->ci, Co = g->co, R = taps * Ci, ntile = (R + MR - 1) / MR;
    const int npan = (Co + NR - 1) / NR, ngrp = (npan + PPT - 1) / PPT;
    const int K = g->n * g->oh * g->ow;
    /* pixel ranges: 8 from 2048 pixels, 2 from 512 (and 2+ samples), for filters of up to 64K values */
    const int small = (double)R * Co <= 65536.0;
    const int KS = small && K >= 2048 ? 8 : small && K >= 512 && g->n >= 2 ? 2 : 1;
    const int tg1 = (ntile + 7) / 8, TG = KS > 1 ? ntile : tg1 > 4 ? tg1 : (ntile < 4 ? ntile : 4);
    const int nrg = (ntile + TG - 1) / TG, ntask = KS * nrg * ngrp;
    const int PH = (g->oh - 1) * g->s + g->kh, PW = (g->ow - 1) * g->s + g->kw;
    const double flops = (double)K * R * Co;
    const size_t psz = (size_t)g->n * PH * PW * Ci;
    const size_t sz_pad = convrnn__al(psz * sizeof(float)), sz_ro = convrnn__al((size_t)R * sizeof(ptrdiff_t));
    const size_t sz_part = KS > 1 ? convrnn__al((size_t)KS * (R + 1) * Co * sizeof(float)) : 0;
    /* AVX-512, up to two vectors of outputs in rows of 8, kernel rows of 8k values, pixel
       ranges: the transposed form (8 x 3 tiles; measured: 12-18% faster for 16 outputs, 3-5% for 32,
       none for 64) */
    const int tr = CONVRNN__VL == 16 && Co <= 2 * CONVRNN__VL && Co % 8 == 0 && (g->kw * Ci) % (CONVRNN__VL / 2) == 0 && KS > 1;
    /* with more outputs than a panel and several row groups (which would each copy the same
       panels again), dy's panels are copied once before the tasks when that copy is at most 2M
       values (measured: the readout's weight gradient 2-3% faster), else each task copies its
       chunks' panels */
    const size_t ndyp = KS == 1 && nrg > 1 && Co > NR ? (size_t)npan * NR * K : 0;
    const size_t sz_dyp = ndyp && ndyp <= ((size_t)1 << 21) ? convrnn__al(ndyp * sizeof(float)) : 0;
    const size_t per_thr = convrnn__al((size_t)2 * KC * sizeof(ptrdiff_t)) +
                           (Co > NR && !sz_dyp ? convrnn__al((size_t)2 * KC * NR * sizeof(float)) : 0) +
                           (tr ? convrnn__al((size_t)Co * R * sizeof(float)) : 0);
    int nthr = convrnn__nthreads(), local, r;
    char *mem, *base;
    float *pad, *part, *dyp;
    ptrdiff_t *ro;
    convrnn__bwfp c;
    if (flops <= CONVRNN__PAR_FLOPS || ntask < 2) nthr = 1;
    local = KS > 1 && KS % nthr == 0 && g->n >= KS;
    mem = (char *)convrnn__scratch(actx, sz_pad + sz_ro + sz_part + sz_dyp + per_thr * (size_t)nthr + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    pad = (float *)base;
    ro = (ptrdiff_t *)(base + sz_pad);
    part = (float *)(base + sz_pad + sz_ro);
    dyp = sz_dyp ? (float *)(base + sz_pad + sz_ro + sz_part) : NULL;
    for (r = 0; r < R; r++) {
        const int tp = r / Ci;
        ro[r] = ((ptrdiff_t)(tp / g->kw) * PW + tp % g->kw) * Ci + r % Ci;
    }
    c.g = g; c.pad = pad; c.dy = dy; c.ro = ro; c.dw = dw; c.db = db; c.part = part; c.MR = MR; c.NR = NR; c.KC = KC; c.KS = KS; c.TG = TG;
    c.R = R; c.ntile = ntile; c.npan = npan; c.PH = PH; c.PW = PW;
    c.Kper = ((K + KS - 1) / KS + KC - 1) / KC * KC;
    c.bysample = KS > 1 && g->n >= KS;
    c.tr = tr;
    c.dyp = dyp;
CONVRNN__OMP_REGION(nthr > 1)
    {   /* one region: pad (and dy's panels), tasks, fold */
    const int me = convrnn__tid();
    ptrdiff_t *pb = (ptrdiff_t *)(base + sz_pad + sz_ro + sz_part + sz_dyp + per_thr * (size_t)me);
    int task, q;
    if (local) {   /* ranges of whole samples claimed in turn, each padded just before its tasks */
        int ks;
CONVRNN__OMP_FOR_DYN
        for (ks = 0; ks < KS; ks++) {
            const int n0 = convrnn__bwfp_k(&c, ks) / (g->oh * g->ow), n1 = convrnn__bwfp_k(&c, ks + 1) / (g->oh * g->ow);
            convrnn__bwfp_clear(&c, ks);
            for (q = n0 * PH; q < n1 * PH; q++) convrnn__pad_row(pad, x, g->h, g->w, Ci, PH, PW, Ci, g->pt, g->pl, q);
            for (task = ks * nrg * ngrp; task < (ks + 1) * nrg * ngrp; task++)
                convrnn__bwfp_task(&c, task / (nrg * ngrp), task / ngrp % nrg, task % ngrp, pb);
        }
    } else {
        if (KS > 1 && me == 0)
            for (q = 0; q < KS; q++) convrnn__bwfp_clear(&c, q);
CONVRNN__OMP_FOR_STATIC
        for (q = 0; q < g->n * PH; q++) convrnn__pad_row(pad, x, g->h, g->w, Ci, PH, PW, Ci, g->pt, g->pl, q);
        if (dyp) {
CONVRNN__OMP_FOR_STATIC
            for (q = 0; q < npan; q++) convrnn__bwfp_pack(&c, dyp, q);
        }
        /* within a range, the row groups of one panel group first (measured: 3-4% faster on two
           threads than taking both panel groups of a row group together, for the readout and 4x4 maps) */
CONVRNN__OMP_FOR_DYN
        for (task = 0; task < ntask; task++) convrnn__bwfp_task(&c, task / (nrg * ngrp), task % nrg, task / nrg % ngrp, pb);
    }
    if (KS > 1) {   /* dw += part[0] + part[1] + ... in this order (row R: db) */
CONVRNN__OMP_FOR_STATIC
        for (q = 0; q <= R; q++) {
            float *dr = q < R ? dw + (size_t)q * Co : db;
            int k, cc;
            if (!dr) continue;
            for (k = 0; k < KS; k++) {
                const float *pr = part + ((size_t)k * (R + 1) + q) * Co;
                for (cc = 0; cc < Co; cc += CONVRNN__VL) {
                    const int nn = Co - cc < CONVRNN__VL ? Co - cc : CONVRNN__VL;
                    convrnn__vstn(dr + cc, convrnn__vadd(convrnn__vldn(dr + cc, nn), convrnn__vldn(pr + cc, nn)), nn);
                }
            }
        }
    }
    }
    convrnn_free(actx, mem);
    return 1;
}

/* db [C] += column sums of dy [rows][C], rows in order (bitwise equal to the scalar kernel). Large
   sums split the column vectors among the threads (each column is still one chain). */
static void convrnn__sbias_bwd(const float *dy, size_t rows, int C, float *db) {
    const int nvec = (C + CONVRNN__VL - 1) / CONVRNN__VL;
    int nq = convrnn__nthreads(), q;
    if ((double)rows * C <= CONVRNN__PAR_FLOPS) nq = 1;
    if (nq > nvec) nq = nvec;
CONVRNN__OMP_STATIC(nq > 1)
    for (q = 0; q < nq; q++) {
        int v0, v1, c0, c1;
        convrnn__share(nvec, q, nq, &v0, &v1);
        c0 = v0 * CONVRNN__VL;
        c1 = v1 * CONVRNN__VL < C ? v1 * CONVRNN__VL : C;
        if (c1 > c0) convrnn__colsum(dy + c0, (size_t)C, rows, c1 - c0, db + c0);
    }
}

/* ------------------------------------------------------------------------------- depthwise
   x (N,H,W,C), w (KH,KW,C,1), y (N,OH,OW,C). Forward and backward-data have one writer per
   output row (as the scalar kernels), taps summed in (ky, kx) order. Backward-filter: one task per
   group of channel vectors; for every (sample, output row) and tap it sums the row in a register
   and adds that partial sum to dw, rows in ascending order. */
static void convrnn__sdw_fwd(const convrnn__geom *g, const float *x, const float *w, const float *b, float *y) {
    const int C = g->ci, VL = CONVRNN__VL;
    int row, rows = g->n * g->oh;
    const double work = (double)rows * g->ow * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_STATIC(work > CONVRNN__PAR_FLOPS && rows > 1)
    for (row = 0; row < rows; row++) {
        const int n = row / g->oh, oy = row % g->oh;
        int ox, ky, kx, c;
        for (ox = 0; ox < g->ow; ox++) {
            float *yv = y + ((size_t)row * g->ow + ox) * C;
            for (c = 0; c < C; c += VL) {
                const int nn = C - c < VL ? C - c : VL;
                convrnn__vf acc = b ? convrnn__vldn(b + c, nn) : convrnn__vzero();
                for (ky = 0; ky < g->kh; ky++) {
                    const int iy = oy * g->s - g->pt + ky;
                    if (iy < 0 || iy >= g->h) continue;
                    for (kx = 0; kx < g->kw; kx++) {
                        const int ix = ox * g->s - g->pl + kx;
                        const float *xv, *wk;
                        if (ix < 0 || ix >= g->w) continue;
                        xv = x + (((size_t)n * g->h + iy) * g->w + ix) * C + c;
                        wk = w + ((size_t)ky * g->kw + kx) * C + c;
                        acc = nn == VL ? convrnn__vfma(convrnn__vld(xv), convrnn__vld(wk), acc)
                                       : convrnn__vfma(convrnn__vldn(xv, nn), convrnn__vldn(wk, nn), acc);
                    }
                }
                convrnn__vstn(yv + c, acc, nn);
            }
        }
    }
}
static void convrnn__sdw_bwd_data(const convrnn__geom *g, const float *dy, const float *w, float *dx) {
    const int C = g->ci, VL = CONVRNN__VL;
    int row, rows = g->n * g->h;
    const double work = (double)rows * g->w * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_STATIC(work > CONVRNN__PAR_FLOPS && rows > 1)
    for (row = 0; row < rows; row++) {
        const int n = row / g->h, iy = row % g->h;
        int ix, ky, kx, c;
        for (ix = 0; ix < g->w; ix++) {
            float *dxv = dx + ((size_t)row * g->w + ix) * C;
            for (c = 0; c < C; c += VL) {
                const int nn = C - c < VL ? C - c : VL;
                convrnn__vf acc = convrnn__vldn(dxv + c, nn);
                for (ky = 0; ky < g->kh; ky++) {
                    const int ny = iy + g->pt - ky;
                    int oy;
                    if (ny < 0 || ny % g->s) continue;
                    oy = ny / g->s;
                    if (oy >= g->oh) continue;
                    for (kx = 0; kx < g->kw; kx++) {
                        const int nx = ix + g->pl - kx;
                        const float *dyv, *wk;
                        int ox;
                        if (nx < 0 || nx % g->s) continue;
                        ox = nx / g->s;
                        if (ox >= g->ow) continue;
                        dyv = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * C + c;
                        wk = w + ((size_t)ky * g->kw + kx) * C + c;
                        acc = convrnn__vfma(convrnn__vldn(dyv, nn), convrnn__vldn(wk, nn), acc);
                    }
                }
                convrnn__vstn(dxv + c, acc, nn);
            }
        }
    }
}
static void convrnn__sdw_bwd_filter(const convrnn__geom *g, const float *x, const float *dy, float *dw) {
    const int C = g->ci, VL = CONVRNN__VL, ncv = (C + VL - 1) / VL;
    const double work = (double)g->n * g->oh * g->ow * C * g->kh * g->kw;
    (void)work;
    int cv;
CONVRNN__OMP_DYN(work > CONVRNN__PAR_FLOPS && ncv > 1)
    for (cv = 0; cv < ncv; cv++) {
        const int c = cv * VL, nn = C - c < VL ? C - c : VL;
        int n, oy, ox, ky, kx;
        for (n = 0; n < g->n; n++)
            for (oy = 0; oy < g->oh; oy++) {
                const float *dyr = dy + ((size_t)n * g->oh + oy) * g->ow * C + c;
                for (ky = 0; ky < g->kh; ky++) {
                    const int iy = oy * g->s - g->pt + ky;
                    const float *xr;
                    if (iy < 0 || iy >= g->h) continue;
                    xr = x + ((size_t)n * g->h + iy) * g->w * C + c;
                    for (kx = 0; kx < g->kw; kx++) {
                        /* ox range with 0 <= ox*s - pl + kx < w */
                        int o0 = 0, o1 = g->ow;
                        convrnn__vf acc = convrnn__vzero();
                        float *dwv = dw + ((size_t)ky * g->kw + kx) * C + c;
                        while (o0 < o1 && o0 * g->s - g->pl + kx < 0) o0++;
                        while (o1 > o0 && (o1 - 1) * g->s - g->pl + kx >= g->w) o1--;
                        if (o0 >= o1) continue;
                        if (nn == VL)
                            for (ox = o0; ox < o1; ox++)
                                acc = convrnn__vfma(convrnn__vld(xr + (size_t)(ox * g->s - g->pl + kx) * C),
                                                    convrnn__vld(dyr + (size_t)ox * C), acc);
                        else
                            for (ox = o0; ox < o1; ox++)
                                acc = convrnn__vfma(convrnn__vldn(xr + (size_t)(ox * g->s - g->pl + kx) * C, nn),
                                                    convrnn__vldn(dyr + (size_t)ox * C, nn), acc);
                        convrnn__vstn(dwv, convrnn__vadd(convrnn__vldn(dwv, nn), acc), nn);
                    }
                }
            }
    }
}

/* ------------------------------------------------------------------------------- elementwise
   Chunked loops over flat arrays: every element is independent, so any split gives the same
   bits; chunks go to threads above CONVRNN__EW_PAR elements. Reductions (gradients of broadcast
   operands) are not split. */
#define CONVRNN__EW_CHUNK 8192
#define CONVRNN__EW_PAR 32768

static void convrnn__sact_fwd_r(int a, const float *x, float *y, size_t n) {
    size_t i = 0;
    switch (a) {
    case CONVRNN_ACT_ELU: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__velu(convrnn__vld(x + i))); break;
    case CONVRNN_ACT_RELU:
        for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) {
            const convrnn__vf v = convrnn__vld(x + i);
            convrnn__vst(y + i, convrnn__vsel(convrnn__vgt(v, convrnn__vzero()), v, convrnn__vzero()));
        }
        break;
    case CONVRNN_ACT_SIGMOID: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__vsigmoid(convrnn__vld(x + i))); break;
    case CONVRNN_ACT_TANH: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__vtanh(convrnn__vld(x + i))); break;
    default: for (; i + CONVRNN__VL <= n; i += CONVRNN__VL) convrnn__vst(y + i, convrnn__vld(x + i)); break;
    }
    if (i < n) {
        const int r = (int)(n - i);
        convrnn__vf v = convrnn__vldn(x + i, r);
        switch (a) {
        case CONVRNN_ACT_ELU: v = convrnn__velu(v); break;
        case CONVRNN_ACT_RELU: v = convrnn__vsel(convrnn__vgt(v, convrnn__vzero()), v, convrnn__vzero()); break;
        case CONVRNN_ACT_SIGMOID: v = convrnn__vsigmoid(v); break;
        case CONVRNN_ACT_TANH: v = convrnn__vtanh(v); break;
        default: break;
        }
        convrnn__vstn(y + i, v, r);
    }
}
/* gx += gy * act'(x) with act' from the output y as the scalar kernel does */
static void convrnn__sact_bwd_r(int a, const float *x, const float *y, const float *gy, float *gx, size_t n, int assign) {
    size_t i;
    const convrnn__vf one = convrnn__vset1(1.0f), zero = convrnn__vzero();
    for (i = 0; i < n; i += CONVRNN__VL) {
        const int r = n - i < CONVRNN__VL ? (int)(n - i) : CONVRNN__VL;
        const convrnn__vf g = r == CONVRNN__VL ? convrnn__vld(gy + i) : convrnn__vldn(gy + i, r);
        const convrnn__vf o = assign ? zero : r == CONVRNN__VL ? convrnn__vld(gx + i) : convrnn__vldn(gx + i, r);
        convrnn__vf d;
        switch (a) {
        case CONVRNN_ACT_ELU: {
            const convrnn__vf xv = convrnn__vldn(x + i, r), yv = convrnn__vldn(y + i, r);
            d = convrnn__vmul(g, convrnn__vsel(convrnn__vgt(xv, zero), one, convrnn__vadd(yv, one)));
            break;
        }
        case CONVRNN_ACT_RELU: d = convrnn__vsel(convrnn__vgt(convrnn__vldn(x + i, r), zero), g, zero); break;
        case CONVRNN_ACT_SIGMOID: {
            const convrnn__vf yv = convrnn__vldn(y + i, r);
            d = convrnn__vmul(convrnn__vmul(g, yv), convrnn__vsub(one, yv));
            break;
        }
        case CONVRNN_ACT_TANH: {
            const convrnn__vf yv = convrnn__vldn(y + i, r);
            d = convrnn__vmul(g, convrnn__vsub(one, convrnn__vmul(yv, yv)));
            break;
        }
        default: d = g; break;
        }
        convrnn__vstn(gx + i, convrnn__vadd(o, d), r);
    }
}
static void convrnn__sact_fwd(int a, const float *x, float *y, size_t n) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, m = n - i0 < CONVRNN__EW_CHUNK ? n - i0 : CONVRNN__EW_CHUNK;
        convrnn__sact_fwd_r(a, x + i0, y + i0, m);
    }
}
static void convrnn__sact_bwd(int a, const float *x, const float *y, const float *gy, float *gx, size_t n, int assign) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, m = n - i0 < CONVRNN__EW_CHUNK ? n - i0 : CONVRNN__EW_CHUNK;
        convrnn__sact_bwd_r(a, x + i0, y + i0, gy + i0, gx + i0, m, assign);
    }
}

/* y = op(a, b) with b of nb elements repeated (nb divides n; nb == n: no broadcast).
   op: 0 add, 1 sub, 2 mul, 3 y = alpha*a + beta (b unused). */
static void convrnn__sbin_fwd(int op, const float *a, const float *b, size_t nb, float *y, size_t n, float alpha, float beta) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, i1 = n - i0 < CONVRNN__EW_CHUNK ? n : i0 + CONVRNN__EW_CHUNK;
        size_t i = i0;
        while (i < i1) {
            /* run of elements whose b index is contiguous */
            const size_t j0 = op == 3 ? 0 : i % nb, m0 = op == 3 || nb == 1 ? i1 - i : (nb - j0 < i1 - i ? nb - j0 : i1 - i);
            const convrnn__vf bs = convrnn__vset1(op == 3 ? alpha : b[j0]), be = convrnn__vset1(beta);
            size_t k;
            for (k = 0; k < m0; k += CONVRNN__VL) {
                const int r = m0 - k < CONVRNN__VL ? (int)(m0 - k) : CONVRNN__VL;
                const convrnn__vf av = convrnn__vldn(a + i + k, r);
                const convrnn__vf bv = op == 3 || nb == 1 ? bs : convrnn__vldn(b + j0 + k, r);
                convrnn__vf v;
                switch (op) {
                case 0: v = convrnn__vadd(av, bv); break;
                case 1: v = convrnn__vsub(av, bv); break;
                case 2: v = convrnn__vmul(av, bv); break;
                default: v = convrnn__vadd(convrnn__vmul(bs, av), be); break;
                }
                convrnn__vstn(y + i + k, v, r);
            }
            i += m0;
        }
    }
}
/* ga += s * gy (mul: ga += gy * b[i % nb]); s is 1 or alpha */
static void convrnn__sbin_bwd_a(int mul, const float *gy, const float *b, size_t nb, float *ga, size_t n, float s) {
    const long nc = (long)((n + CONVRNN__EW_CHUNK - 1) / CONVRNN__EW_CHUNK);
    long c;
CONVRNN__OMP_STATIC(n > CONVRNN__EW_PAR)
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CONVRNN__EW_CHUNK, i1 = n - i0 < CONVRNN__EW_CHUNK ? n : i0 + CONVRNN__EW_CHUNK;
        size_t i = i0;
        while (i < i1) {
            const size_t j0 = mul ? i % nb : 0, m0 = !mul || nb == 1 ? i1 - i : (nb - j0 < i1 - i ? nb - j0 : i1 - i);
            const convrnn__vf sv = convrnn__vset1(mul ? b[j0] : s);
            size_t k;
            for (k = 0; k < m0; k += CONVRNN__VL) {
                const int r = m0 - k < CONVRNN__VL ? (int)(m0 - k) : CONVRNN__VL;
                const convrnn__vf g = convrnn__vldn(gy + i + k, r), o = convrnn__vldn(ga + i + k, r);
                const convrnn__vf f = mul && nb > 1 ? convrnn__vldn(b + j0 + k, r) : sv;
                convrnn__vstn(ga + i + k, mul || s != 1.0f ? convrnn__vfma(g, f, o) : convrnn__vadd(o, g), r);
            }
            i += m0;
        }
    }
}
/* gb[j] += sgn * sum over r of gy[r*nb + j] (mul: times a[r*nb + j]), r ascending per element */
static void convrnn__sbin_bwd_b(int mul, const float *gy, const float *a, size_t nb, size_t reps, float *gb, float sgn) {
    size_t j;
    if (nb == 1) {   /* scalar b: vector partial sums over the flat array, then lanes in order */
        const size_t n = reps;
        convrnn__vf acc = convrnn__vzero();
        float lanes[CONVRNN__VL], tot = 0;
        size_t i;
        int l;
        for (i = 0; i < n; i += CONVRNN__VL) {
            const int r = n - i < CONVRNN__VL ? (int)(n - i) : CONVRNN__VL;
            const convrnn__vf g = convrnn__vldn(gy + i, r);
            acc = mul ? convrnn__vfma(g, convrnn__vldn(a + i, r), acc) : convrnn__vadd(acc, g);
        }
        convrnn__vst(lanes, acc);
        for (l = 0; l < CONVRNN__VL; l++) tot += lanes[l];
        gb[0] += sgn * tot;
        return;
    }
    for (j = 0; j < nb; j += CONVRNN__VL) {
        const int r = nb - j < CONVRNN__VL ? (int)(nb - j) : CONVRNN__VL;
        convrnn__vf acc = convrnn__vzero();
        size_t q;
        for (q = 0; q < reps; q++) {
            const convrnn__vf g = convrnn__vldn(gy + q * nb + j, r);
            acc = mul ? convrnn__vfma(g, convrnn__vldn(a + q * nb + j, r), acc) : convrnn__vadd(acc, g);
        }
        convrnn__vstn(gb + j, convrnn__vfma(acc, convrnn__vset1(sgn), convrnn__vldn(gb + j, r)), r);
    }
}
/* dst[r*ld_d + j] (+)= src[r*ld_s + j] for j < w: rows of a channel concat or slice */
static void convrnn__scopy_rows(float *dst, size_t ld_d, const float *src, size_t ld_s, size_t rows, int w, int add) {
    long r;
CONVRNN__OMP_STATIC(rows * (size_t)w > CONVRNN__EW_PAR)
    for (r = 0; r < (long)rows; r++) {
        float *d = dst + (size_t)r * ld_d;
        const float *s = src + (size_t)r * ld_s;
        int j;
        if (!add) { convrnn__vcopy(d, s, w); continue; }   /* rows are short: no library call per row */
        for (j = 0; j < w; j += CONVRNN__VL) {
            const int m = w - j < CONVRNN__VL ? w - j : CONVRNN__VL;
            convrnn__vstn(d + j, convrnn__vadd(convrnn__vldn(d + j, m), convrnn__vldn(s + j, m)), m);
        }
    }
}

/* ------------------------------------------------------------------------------- max pooling
   Same rule as the scalar kernel: the first maximum in (ky, kx) order wins, a NaN beats any
   number, padded cells never take part. Forward has one writer per output row; backward adds
   each output gradient to its winner's input gradient, one sample per task, outputs in order
   (overlapping windows of a sample stay in one task), so results equal the scalar kernel's. */
static void convrnn__smaxpool(const convrnn__geom *g, const float *x, float *y, const float *gy, float *gx) {
    const int C = g->ci, VL = CONVRNN__VL;
    int task, ntask = gx ? g->n : g->n * g->oh;
    const double work = (double)g->n * g->oh * g->ow * C * g->kh * g->kw;
    (void)work;
CONVRNN__OMP_STATIC(work > CONVRNN__PAR_FLOPS && ntask > 1)
    for (task = 0; task < ntask; task++) {
        const int n = gx ? task : task / g->oh;
        const int oy0 = gx ? 0 : task % g->oh, oy1 = gx ? g->oh : oy0 + 1;
        int oy, ox, ky, kx, c;
        for (oy = oy0; oy < oy1; oy++) {
            const int iyb = oy * g->s - g->pt;
            const int ky0 = iyb < 0 ? -iyb : 0, ky1 = g->h - iyb < g->kh ? g->h - iyb : g->kh;
            for (ox = 0; ox < g->ow; ox++) {
                const int ixb = ox * g->s - g->pl;
                const int kx0 = ixb < 0 ? -ixb : 0, kx1 = g->w - ixb < g->kw ? g->w - ixb : g->kw;
                const float *xb = x + (((size_t)n * g->h + iyb) * g->w + ixb) * C;
                const size_t o = (((size_t)n * g->oh + oy) * g->ow + ox) * C;
                const int full2 = ky1 - ky0 == 2 && kx1 - kx0 == 2;
                for (c = 0; c < C; c += VL) {
                    const int nn = C - c < VL ? C - c : VL;
                    convrnn__vf best = convrnn__vldn(xb + ((size_t)ky0 * g->w + kx0) * C + c, nn);
                    convrnn__vf bidx = convrnn__vset1((float)(ky0 * g->kw + kx0));   /* window ordinal */
                    if (full2) {
                        /* a 2x2 window by a pairwise tree (the two first compares run together). "b
                           beats a" only when strictly greater or the first NaN, with a the earlier
                           element, so the tree picks the element the left-to-right scan picks */
                        const float *p0 = xb + ((size_t)ky0 * g->w + kx0) * C + c, *p1 = p0 + (size_t)g->w * C;
                        const convrnn__vf a1 = convrnn__vldn(p0 + C, nn), b0 = convrnn__vldn(p1, nn), b1 = convrnn__vldn(p1 + C, nn);
                        const convrnn__vm ma = convrnn__vmor(convrnn__vgt(a1, best), convrnn__vmandn(convrnn__vnan(a1), convrnn__vnan(best)));
                        const convrnn__vm mb = convrnn__vmor(convrnn__vgt(b1, b0), convrnn__vmandn(convrnn__vnan(b1), convrnn__vnan(b0)));
                        const convrnn__vf va = convrnn__vsel(ma, a1, best), vb = convrnn__vsel(mb, b1, b0);
                        const convrnn__vm m = convrnn__vmor(convrnn__vgt(vb, va), convrnn__vmandn(convrnn__vnan(vb), convrnn__vnan(va)));
                        best = convrnn__vsel(m, vb, va);
                        if (gx) {   /* the winner's gradient += gy: the masks of the tree say which */
                            const convrnn__vf gv = convrnn__vldn(gy + o + c, nn);
                            float *q0 = gx + (((size_t)n * g->h + iyb + ky0) * g->w + ixb + kx0) * C + c, *q1 = q0 + (size_t)g->w * C;
                            convrnn__vf old = convrnn__vldn(q0, nn);
                            convrnn__vstn(q0, convrnn__vsel(convrnn__vmor(m, ma), old, convrnn__vadd(old, gv)), nn);
                            old = convrnn__vldn(q0 + C, nn);
                            convrnn__vstn(q0 + C, convrnn__vsel(convrnn__vmandn(ma, m), convrnn__vadd(old, gv), old), nn);
                            old = convrnn__vldn(q1, nn);
                            convrnn__vstn(q1, convrnn__vsel(convrnn__vmandn(m, mb), convrnn__vadd(old, gv), old), nn);
                            old = convrnn__vldn(q1 + C, nn);
                            convrnn__vstn(q1 + C, convrnn__vsel(convrnn__vmand(m, mb), convrnn__vadd(old, gv), old), nn);
                            continue;
                        }
                    } else
                    for (ky = ky0; ky < ky1; ky++)
                        for (kx = ky == ky0 ? kx0 + 1 : kx0; kx < kx1; kx++) {
                            const convrnn__vf v = convrnn__vldn(xb + ((size_t)ky * g->w + kx) * C + c, nn);
                            const convrnn__vm m = convrnn__vmor(convrnn__vgt(v, best),
                                                                convrnn__vmandn(convrnn__vnan(v), convrnn__vnan(best)));
                            best = convrnn__vsel(m, v, best);
                            bidx = convrnn__vsel(m, convrnn__vset1((float)(ky * g->kw + kx)), bidx);
                        }
                    if (!gx) {
                        convrnn__vstn(y + o + c, best, nn);
                    } else {   /* the winner of each lane gets the output gradient (masked add) */
                        const convrnn__vf gv = convrnn__vldn(gy + o + c, nn);
                        for (ky = ky0; ky < ky1; ky++)
                            for (kx = kx0; kx < kx1; kx++) {
                                float *gp = gx + (((size_t)n * g->h + iyb + ky) * g->w + ixb + kx) * C + c;
                                const convrnn__vf old = convrnn__vldn(gp, nn);
                                convrnn__vstn(gp, convrnn__vsel(convrnn__veq(bidx, convrnn__vset1((float)(ky * g->kw + kx))),
                                                                convrnn__vadd(old, gv), old), nn);
                            }
                    }
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------------- bilinear resize
   tab: OH entries (rows) then OW entries (columns) of {i0, i1, w} as in core_impl.h. Forward: one
   writer per output row, the scalar kernel's formula. Backward: one sample per task, outputs in
   order, the scalar kernel's four weighted adds. */
static void convrnn__sresize(int N, int H, int W, int C, int OH, int OW, const convrnn__lerp *ty, const convrnn__lerp *tx,
                             const float *x, float *y, const float *gy, float *gx) {
    const int VL = CONVRNN__VL;
    int task, ntask = gx ? N : N * OH;
CONVRNN__OMP_STATIC((size_t)N * OH * OW * C > CONVRNN__EW_PAR && ntask > 1)
    for (task = 0; task < ntask; task++) {
        const int n = gx ? task : task / OH, oy0 = gx ? 0 : task % OH, oy1 = gx ? OH : oy0 + 1;
        int oy, ox, c;
        for (oy = oy0; oy < oy1; oy++)
            for (ox = 0; ox < OW; ox++) {
                const size_t base = (size_t)n * H * W;
                const size_t tl = (base + (size_t)ty[oy].i0 * W + tx[ox].i0) * C, tr = (base + (size_t)ty[oy].i0 * W + tx[ox].i1) * C;
                const size_t bl = (base + (size_t)ty[oy].i1 * W + tx[ox].i0) * C, br = (base + (size_t)ty[oy].i1 * W + tx[ox].i1) * C;
                const size_t o = (((size_t)n * OH + oy) * OW + ox) * C;
                const convrnn__vf vwx = convrnn__vset1(tx[ox].w), vwy = convrnn__vset1(ty[oy].w);
                const convrnn__vf one = convrnn__vset1(1.0f);
                for (c = 0; c < C; c += VL) {
                    const int nn = C - c < VL ? C - c : VL;
                    if (!gx) {
                        const convrnn__vf a = convrnn__vldn(x + tl + c, nn), b = convrnn__vldn(x + tr + c, nn);
                        const convrnn__vf d = convrnn__vldn(x + bl + c, nn), e = convrnn__vldn(x + br + c, nn);
                        const convrnn__vf top = convrnn__vfma(convrnn__vsub(b, a), vwx, a);
                        const convrnn__vf bot = convrnn__vfma(convrnn__vsub(e, d), vwx, d);
                        convrnn__vstn(y + o + c, convrnn__vfma(convrnn__vsub(bot, top), vwy, top), nn);
                    } else {
                        const convrnn__vf gv = convrnn__vldn(gy + o + c, nn);
                        const convrnn__vf gt = convrnn__vmul(gv, convrnn__vsub(one, vwy)), gb = convrnn__vmul(gv, vwy);
                        const convrnn__vf ux = convrnn__vsub(one, vwx);
                        convrnn__vstn(gx + tl + c, convrnn__vfma(gt, ux, convrnn__vldn(gx + tl + c, nn)), nn);
                        convrnn__vstn(gx + tr + c, convrnn__vfma(gt, vwx, convrnn__vldn(gx + tr + c, nn)), nn);
                        convrnn__vstn(gx + bl + c, convrnn__vfma(gb, ux, convrnn__vldn(gx + bl + c, nn)), nn);
                        convrnn__vstn(gx + br + c, convrnn__vfma(gb, vwx, convrnn__vldn(gx + br + c, nn)), nn);
                    }
                }
            }
    }
}
#ifdef CONVRNN__POP_DIAG
#pragma GCC diagnostic pop
#undef CONVRNN__POP_DIAG
#endif
#endif /* CONVRNN__SIMD */
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
    convrnn_tensor **xs;   /* inputs given as a list (concat, sums, maxn, decoders) */
    int nxs;
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
    t->grad_pool = NULL;
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

/* memset(p, 0, bytes); big blocks in one contiguous piece per thread, the split the kernels give
   their samples (a gradient then starts in the cache of the core that accumulates into it) */
static void convrnn__bzero(void *p, size_t bytes) {
    const int nthr = bytes >= ((size_t)1 << 18) ? convrnn__nthreads() : 1;
    int i;
    (void)nthr;
CONVRNN__OMP_STATIC(nthr > 1)
    for (i = 0; i < nthr; i++) {
        const size_t a = bytes / (size_t)nthr * (size_t)i & ~(size_t)63;
        const size_t b = i == nthr - 1 ? bytes : bytes / (size_t)nthr * (size_t)(i + 1) & ~(size_t)63;
        memset((char *)p + a, 0, b - a);
    }
}
/* 64-byte aligned memory from the tape's arena (valid until reset/free), zeroed when zero is set.
   zero = 0: the caller writes every element (op outputs); CONVRNN_DEBUG_POISON fills such memory
   with NaN instead, so that a kernel that reads before it writes shows in the tests. */
static void *convrnn__talloc_z(convrnn_tape *t, size_t bytes, int zero) {
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
            if (zero) convrnn__bzero(p, bytes);
#ifdef CONVRNN_DEBUG_POISON
            else memset(p, 0xff, bytes); /* all-ones bytes: a quiet NaN in float and double */
#endif
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
    return convrnn__talloc_z(t, bytes, zero);
}
static void *convrnn__talloc(convrnn_tape *t, size_t bytes) { return convrnn__talloc_z(t, bytes, 1); }

static int convrnn__tensor_ok(const convrnn_tensor *x) { return x != NULL; }
/* 1 when x may be used on tape t: made by t, or a parameter view; else the op fails (another
   tape's gradient buffers and records are not t's) */
static int convrnn__owned(convrnn_tape *t, const convrnn_tensor *x, const char *op, int i) {
    if (!x->tape_ || x->tape_ == (const void *)t) return 1;
    convrnn__fail(t, CONVRNN_ERR_ARG, "%s: input %d was made on another tape", op, i);
    return 0;
}

/* A new tensor of the given dims; with_grad allocates its gradient buffer. */
static convrnn_tensor *convrnn__new(convrnn_tape *t, int rank, int d0, int d1, int d2, int d3, int with_grad) {
    convrnn_tensor *x;
    size_t n = 1, bytes;
    int d[4], i;
    if (!t || t->err.status) return NULL;
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
    x->data = (convrnn_real *)convrnn__talloc_z(t, bytes, 0); /* every op writes its whole output */
    if (!x->data) return NULL;
    x->grad_lazy = 0;
    x->grad_cap = 0;
    x->tape_ = t;
    if (with_grad && t->grad_enabled) {
        if (t->lazy_grads) {
            x->grad = &t->lazy_tag;   /* "a gradient will flow here"; memory comes in backward */
            x->grad_lazy = 1;
        } else {
            x->grad = (convrnn_real *)convrnn__talloc(t, bytes);
            if (!x->grad) return NULL;
        }
    }
    return x;
}

/* ---- the backward pool (lazy_grads): released gradient blocks keep {next, bytes} in their first
   bytes; a request takes the smallest free block that fits and is at most twice the size. */
typedef struct convrnn__gblk { struct convrnn__gblk *next; size_t bytes; } convrnn__gblk;
static convrnn_real *convrnn__pool_get(convrnn_tape *t, size_t n, size_t *cap) {
    size_t bytes = (n * sizeof(convrnn_real) + CONVRNN__ALIGN - 1) & ~(size_t)(CONVRNN__ALIGN - 1);
    convrnn__gblk **pp, **best = NULL;
    void *p;
    for (pp = (convrnn__gblk **)&t->grad_pool; *pp; pp = &(*pp)->next)
        if ((*pp)->bytes >= bytes && (*pp)->bytes <= 2 * bytes && (!best || (*pp)->bytes < (*best)->bytes)) {
            best = pp;
            if ((*pp)->bytes == bytes) break;
        }
    if (best) {
        convrnn__gblk *b = *best;
        *best = b->next;
        *cap = b->bytes;
        p = b;
    } else {
        p = convrnn__talloc_z(t, bytes, 0);
        if (!p) return NULL;
        *cap = bytes;
    }
    return (convrnn_real *)p;
}
static void convrnn__pool_put(convrnn_tape *t, convrnn_real *p, size_t cap) {
    convrnn__gblk *b = (convrnn__gblk *)(void *)p;
    b->bytes = cap;
    b->next = (convrnn__gblk *)t->grad_pool;
    t->grad_pool = b;
}
/* Give a lazy tensor its (zeroed) gradient memory; 0 on out-of-memory. */
static int convrnn__grad_make(convrnn_tape *t, convrnn_tensor *x) {
    convrnn_real *g;
    if (!x || x->grad != &t->lazy_tag) return 1;
    g = convrnn__pool_get(t, x->size, &x->grad_cap);
    if (!g) return 0;
    convrnn__bzero(g, x->size * sizeof *g);
    x->grad = g;
    return 1;
}
/* After the op that made x has run its backward, x's gradient is no longer read: back to the pool. */
static void convrnn__grad_release(convrnn_tape *t, convrnn_tensor *x) {
    if (!x->grad_lazy || !x->grad_cap) return;
    convrnn__pool_put(t, x->grad, x->grad_cap);
    x->grad = &t->lazy_tag;
    x->grad_cap = 0;
}
/* Tensors made by the caller (tape inputs) keep their gradients: make them now, never release. */
static convrnn_tensor *convrnn__leaf(convrnn_tape *t, convrnn_tensor *x) {
    if (!x || !x->grad_lazy) return x;
    if (!convrnn__grad_make(t, x)) return NULL;
    x->grad_lazy = 0;
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

/* The node's list inputs: a copy of xs[0..n) on the tape. 0 on out-of-memory. */
static int convrnn__record_list(convrnn_tape *t, convrnn__node *nd, convrnn_tensor **xs, int n) {
    convrnn_tensor **c = (convrnn_tensor **)convrnn__talloc(t, (size_t)n * sizeof *c);
    if (!c) return 0;
    memcpy(c, xs, (size_t)n * sizeof *xs);
    nd->xs = c;
    nd->nxs = n;
    return 1;
}

/* Check inputs: NULL (an earlier failure, or a caller bug) stops the op. */
static int convrnn__args(convrnn_tape *t, const char *op, int n, convrnn_tensor *a, convrnn_tensor *b,
                         convrnn_tensor *c) {
    convrnn_tensor *xs[3];
    int i;
    xs[0] = a; xs[1] = b; xs[2] = c;
    if (!t || t->err.status) return 0;
    for (i = 0; i < n; i++) {
        if (!convrnn__tensor_ok(xs[i])) { convrnn__fail(t, CONVRNN_ERR_ARG, "%s: input %d is NULL", op, i); return 0; }
        if (!convrnn__owned(t, xs[i], op, i)) return 0;
    }
    return 1;
}
static int convrnn__any_grad(convrnn_tensor *a, convrnn_tensor *b, convrnn_tensor *c, convrnn_tensor *d) {
    return (a && a->grad) || (b && b->grad) || (c && c->grad) || (d && d->grad);
}

CONVRNNDEF convrnn_tensor *convrnn_tape_zeros(convrnn_tape *t, int n, int h, int w, int c, int need_grad) {
    convrnn_tensor *x = convrnn__leaf(t, CONVRNN__NEW4(t, n, h, w, c, need_grad));
    if (x) memset(x->data, 0, x->size * sizeof(convrnn_real));
    return x;
}
CONVRNNDEF convrnn_tensor *convrnn_tape_input(convrnn_tape *t, int n, int h, int w, int c,
                                             const convrnn_real *data, int need_grad) {
    convrnn_tensor *x;
    if (!t || t->err.status) return NULL;
    if (!data) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "tape_input: data is NULL");
    x = convrnn__leaf(t, CONVRNN__NEW4(t, n, h, w, c, need_grad));
    if (x) memcpy(x->data, data, x->size * sizeof(convrnn_real));
    return x;
}
CONVRNNDEF convrnn_tensor *convrnn_tape_input_nd(convrnn_tape *t, int rank, const int *dims,
                                                const convrnn_real *data, int need_grad) {
    convrnn_tensor *x;
    int d[4], i;
    if (!t || t->err.status) return NULL;
    if (!dims || rank < 1 || rank > 4) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "tape_input_nd: rank %d outside 1..4", rank);
    for (i = 0; i < 4; i++) d[i] = i < rank ? dims[i] : 1;
    x = convrnn__leaf(t, convrnn__new(t, rank, d[0], d[1], d[2], d[3], need_grad));
    if (x && data) memcpy(x->data, data, x->size * sizeof(convrnn_real));
    else if (x) memset(x->data, 0, x->size * sizeof(convrnn_real));
    return x;
}
CONVRNNDEF convrnn_tensor *convrnn_tape_fill(convrnn_tape *t, int n, int h, int w, int c, convrnn_real v) {
    convrnn_tensor *x = CONVRNN__NEW4(t, n, h, w, c, 0);
    size_t i;
    if (x) for (i = 0; i < x->size; i++) x->data[i] = v;
    return x;
}

CONVRNNDEF convrnn_status convrnn_tape_backward_seeded(convrnn_tape *t) {
    int i;
    if (!t) return CONVRNN_ERR_ARG;
    if (t->err.status) return t->err.status;
    if (!t->grad_enabled) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: tape was created without gradients");
    for (i = t->n_nodes - 1; i >= 0; i--) {
        convrnn__node *nd = &t->nodes[i];
        if (t->lazy_grads) {
            int k, ok = 1;
            if (nd->out->grad == &t->lazy_tag) continue;   /* no gradient reached this output */
            for (k = 0; k < 4; k++) ok &= convrnn__grad_make(t, nd->in[k]);
            for (k = 0; k < nd->nxs; k++) ok &= convrnn__grad_make(t, nd->xs[k]);
            if (!ok) return t->err.status;
        }
        nd->bwd(t, nd);
        if (t->err.status) return t->err.status;
        if (t->lazy_grads) convrnn__grad_release(t, nd->out);
    }
    return CONVRNN_OK;
}
CONVRNNDEF convrnn_real *convrnn_tape_grad(convrnn_tape *t, convrnn_tensor *x) {
    if (!t || !x || !x->grad || (x->tape_ && x->tape_ != (const void *)t)) return NULL;
    if (!convrnn__grad_make(t, x)) return NULL;
    return x->grad;
}
CONVRNNDEF convrnn_status convrnn_tape_backward(convrnn_tape *t, convrnn_tensor *loss) {
    if (!t) return CONVRNN_ERR_ARG;
    if (t->err.status) return t->err.status;
    if (!loss || loss->size != 1)
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: loss must be a 1-element tensor");
    if (loss->tape_ && loss->tape_ != (const void *)t)
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: the loss was made on another tape");
    if (!loss->grad)
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "backward: loss does not depend on anything with a gradient");
    if (!convrnn__grad_make(t, loss)) return t->err.status;
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
    if (!ps || !name) return -1;
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
    if ((unsigned)init.kind > (unsigned)CONVRNN_INIT_GLOROT_UNIFORM || !(init.a - init.a == 0) || !(init.b - init.b == 0) ||
        !(weight_decay >= 0 && weight_decay - weight_decay == 0)) {
        convrnn_error_set(&ps->err, CONVRNN_ERR_ARG, "params: '%s': initializer kind %d (%g, %g) or weight decay %g is not valid", name,
                          (int)init.kind, init.a, init.b, weight_decay);
        return -1;
    }
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
    int o;
    long long total;
    if (in <= 0 || k <= 0 || stride <= 0) return 0;
    if (pad == CONVRNN_SAME) {
        o = (in - 1) / stride + 1;   /* ceil(in / stride) without overflow */
        total = (long long)(o - 1) * stride + k - in;
        if (total < 0) total = 0;   /* total < k: it fits an int */
        *pad_before = (int)(total / 2);
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

/* ---- geometry shared by conv, depthwise conv and pooling: convrnn__geom in the [IMPL-SIMD] section */
#define CONVRNN__MAX_KERNEL 4096
static int convrnn__geometry(convrnn_tape *t, const char *op, const convrnn_tensor *x, int kh, int kw,
                             int stride, convrnn_padding pad, convrnn__geom *g) {
    g->n = x->d[0]; g->h = x->d[1]; g->w = x->d[2]; g->ci = x->d[3];
    g->kh = kh; g->kw = kw; g->s = stride;
    if (kh <= 0 || kw <= 0 || stride <= 0) {
        convrnn__fail(t, CONVRNN_ERR_SHAPE, "%s: kernel %dx%d and stride %d must be positive", op, kh, kw, stride);
        return 0;
    }
    if (x->rank != 4) {
        convrnn__fail(t, CONVRNN_ERR_SHAPE, "%s: the input must be an [N,H,W,C] tensor (rank 4, got %d)", op, x->rank);
        return 0;
    }
    if (kh > CONVRNN__MAX_KERNEL || kw > CONVRNN__MAX_KERNEL) {   /* a pooling window's taps are visited one by one */
        convrnn__fail(t, CONVRNN_ERR_SHAPE, "%s: kernel %dx%d is larger than %d", op, kh, kw, CONVRNN__MAX_KERNEL);
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

/* Backend dispatch: the SIMD kernels (the [IMPL-SIMD] section) unless the tape asks for the scalar
   reference or the SIMD kernel could not get scratch memory. */
#ifdef CONVRNN__SIMD
#define CONVRNN__VEC(t) ((t)->backend != CONVRNN_BACKEND_SCALAR)
/* 3x3 stride 1 with enough channels: Winograd F(2x2,3x3) (the [IMPL-SIMD] section) */
static int convrnn__wino_ok(const convrnn__geom *g) {
    return g->kh == 3 && g->kw == 3 && g->s == 1 && g->ci >= CONVRNN__WINO_MIN_C && g->co >= CONVRNN__WINO_MIN_C &&
           g->oh * g->ow >= CONVRNN__WINO_MIN_HW;
}
/* the Winograd weight gradient also wins on small maps when the channels are many, and on maps of
   whole 2x2 tiles from 64 input channels (measured: 4x4 maps, 64 -> 32 and 64 -> 64) */
static int convrnn__wino_bwf_ok(const convrnn__geom *g) {
    return g->kh == 3 && g->kw == 3 && g->s == 1 && g->ci >= CONVRNN__WINO_MIN_C && g->co >= CONVRNN__WINO_MIN_C &&
           (g->oh * g->ow >= CONVRNN__WINO_MIN_HW || (double)g->ci * g->co >= 32768.0 ||
            (g->ci >= 64 && g->oh % 2 == 0 && g->ow % 2 == 0));
}
/* 3x3 stride 1 with enough channels: Winograd F(4x4,3x3), the forward and input gradient on every
   map size, the weight gradient (bwf) on maps below CONVRNN__WINO_MIN_HW pixels; the choice
   depends on the geometry alone, so the bits do not depend on the thread count. Measured against
   F(2x2,3x3) on maps of 196 pixels and more (Intel Xeon, AVX-512, 1 and 2 threads, 16-64 samples,
   14x14 to 112x112, 32 to 512 channels): forward and input gradient 0.52-0.85x the time; the
   weight gradient 0.56-0.97x on one thread but 0.93-1.66x on two, so there F(2x2,3x3) keeps it. */
static int convrnn__wino4_ok(const convrnn__geom *g, int bwf) {
#ifdef CONVRNN_NO_WINO4
    (void)g;
    (void)bwf;
    return 0;
#else
    return g->kh == 3 && g->kw == 3 && g->s == 1 && g->ci >= CONVRNN__WINO4_MIN_C && g->co >= CONVRNN__WINO4_MIN_C &&
           (!bwf || g->oh * g->ow < CONVRNN__WINO_MIN_HW);
#endif
}
#else
#define CONVRNN__VEC(t) 0
#endif
static void convrnn__conv_fwd_any(convrnn_tape *t, const convrnn__geom *g, const convrnn_real *x, const convrnn_real *w,
                                  const convrnn_real *b, convrnn_real *y) {
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t) && convrnn__wino4_ok(g, 0) && convrnn__sconv_wino4(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && convrnn__wino_ok(g) && convrnn__sconv_wino(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && g->co <= CONVRNN__PL_MAXD && g->s == 1 && convrnn__sconv_dot(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && g->co <= CONVRNN__PL_MAXD && g->s == 1 && convrnn__sconv_plane(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && convrnn__sconv_pw(t->alloc_ctx, g, 0, x, w, b, NULL, y, NULL)) return;
    if (CONVRNN__VEC(t) && convrnn__sconv_w32(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && g->ci >= CONVRNN__CLS_MIN_C && convrnn__sconv_cls(t->alloc_ctx, g, 0, x, w, b, y)) return;
    if (CONVRNN__VEC(t) && convrnn__sconv_ind(t->alloc_ctx, g, 0, x, w, b, y)) return;
#endif
    (void)t;
    convrnn__conv2d_fwd(g, x, w, b, y);
}
/* The input gradient dx (NULL: not wanted) and the weight and bias gradients dw, db (either NULL:
   not wanted) of a convolution. */
#ifdef CONVRNN__SIMD
static int convrnn__sconv_bwd_phase(convrnn_tape *t, const convrnn__geom *g, const float *w, const float *dy, float *dx);
static int convrnn__sconv_bwd_col(void *actx, const convrnn__geom *g, const float *w, const float *dy, float *dx);
#endif
static void convrnn__conv_bwd_dx(convrnn_tape *t, const convrnn__geom *g, const convrnn_real *w, const convrnn_real *dy,
                                 convrnn_real *dx) {
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        if (dx && convrnn__sconv_pw_dx(t->alloc_ctx, g, w, dy, dx)) dx = NULL;
        if (dx && g->s > 1 && convrnn__sconv_bwd_col(t->alloc_ctx, g, w, dy, dx)) dx = NULL;
        if (dx && g->s > 1 && convrnn__sconv_bwd_phase(t, g, w, dy, dx)) dx = NULL;
        if (dx && convrnn__sconv_w32(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && convrnn__wino4_ok(g, 0) && convrnn__sconv_wino4(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && convrnn__wino_ok(g) && convrnn__sconv_wino(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && g->ci <= CONVRNN__PL_MAXD && g->s == 1 && convrnn__sconv_dot(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && g->ci <= CONVRNN__PL_MAXD && g->s == 1 && convrnn__sconv_plane(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && g->co >= CONVRNN__CLS_MIN_C && convrnn__sconv_cls(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
        if (dx && convrnn__sconv_ind(t->alloc_ctx, g, 1, dy, w, NULL, dx)) dx = NULL;
    }
#endif
    (void)t;
    if (dx) convrnn__conv2d_bwd_data(g, dy, w, dx);
}
static void convrnn__conv_bwd_dw(convrnn_tape *t, const convrnn__geom *g, const convrnn_real *x, const convrnn_real *dy,
                                 convrnn_real *dw, convrnn_real *db) {
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) {
        if (dw && convrnn__wino4_ok(g, 1) && convrnn__sconv_bwf_wino4(t->alloc_ctx, g, x, dy, dw)) dw = NULL;
        if (dw && convrnn__wino_bwf_ok(g) && convrnn__sconv_bwf_wino(t->alloc_ctx, g, x, dy, dw)) dw = NULL;
        if (dw && convrnn__sconv_pw(t->alloc_ctx, g, 1, x, NULL, NULL, dy, dw, db)) dw = db = NULL;
        if (dw && convrnn__sconv_bwf_w32(t->alloc_ctx, g, x, dy, dw)) dw = NULL;
        if (dw && convrnn__sconv_bwf_pad(t->alloc_ctx, g, x, dy, dw, db)) dw = db = NULL;
        if (db) { convrnn__sbias_bwd(dy, (size_t)g->n * g->oh * g->ow, g->co, db); db = NULL; }
    }
#endif
    (void)t;
    if (dw) convrnn__conv2d_bwd_filter(g, x, dy, dw);
    if (db) convrnn__bias_bwd(dy, (size_t)g->n * g->oh * g->ow, g->co, db);
}
#ifdef CONVRNN__SIMD
/* Input gradient of a strided convolution as s*s stride-1 ones (one per phase of the input grid):
   the input rows iy with (iy + pt) % s == a see only the kernel rows ky = a + s j, and
       dx[iy0 + s t] += sum over j of dy[T0 + t - j] . w[a + s j],  iy0 = (a - pt) mod s,
                                                                   T0 = (iy0 + pt - a) / s,
   which is the input gradient of a stride-1 convolution with kernel rows w[a + s j] (j < kh_a =
   ceil((kh - a) / s)), input rows t < ceil((h - iy0) / s), the same dy, and top padding T0
   (columns alike). Each phase runs on the stride-1 kernels into a zeroed block that is then added
   to its places in dx (the strided kernels read the source through per-tap pointers and fill
   few lanes: measured 11 GFLOP/s for 224x224 3->64 7x7 stride 2). For the weights the GEMM and
   scatter below (convrnn__sconv_bwd_col) cannot keep in cache. Returns 0 (nothing written)
   when a phase's padding is outside [0, kernel - 1] or the scratch cannot be had. */
static int convrnn__phase_dim(int a, int s, int k, int in, int pad, int *k_a, int *i0, int *len, int *t0) {
    *k_a = a < k ? (k - a + s - 1) / s : 0;
    *i0 = ((a - pad) % s + s) % s;
    *len = *i0 < in ? (in - *i0 + s - 1) / s : 0;
    *t0 = (*i0 + pad - a) / s;
    return *k_a == 0 || *len == 0 || (*t0 >= 0 && *t0 <= *k_a - 1);
}
static int convrnn__sconv_bwd_phase(convrnn_tape *t, const convrnn__geom *g, const float *w, const float *dy, float *dx) {
    const int s = g->s, Ci = g->ci, Co = g->co;
    int a, b, kmax = 0, hmax = 0, wmax = 0;
    size_t nw, nt;
    float *ws, *tmp;
    for (a = 0; a < s; a++) {   /* every phase's geometry first: nothing is written unless all fit */
        int ka, i0, len, t0, kb, j0, lenb, u0;
        if (!convrnn__phase_dim(a, s, g->kh, g->h, g->pt, &ka, &i0, &len, &t0) ||
            !convrnn__phase_dim(a, s, g->kw, g->w, g->pl, &kb, &j0, &lenb, &u0))
            return 0;
        if (ka > kmax) kmax = ka;
        if (kb > kmax) kmax = kb;
        if (len > hmax) hmax = len;
        if (lenb > wmax) wmax = lenb;
    }
    nw = (size_t)kmax * kmax * Ci * Co;
    nt = (size_t)g->n * hmax * wmax * Ci;
    ws = (float *)convrnn__scratch(t->alloc_ctx, ((nw + 15) / 16 * 16 + nt) * sizeof(float));
    if (!ws) return 0;
    tmp = ws + (nw + 15) / 16 * 16;
    for (a = 0; a < s; a++)
        for (b = 0; b < s; b++) {
            convrnn__geom q = *g;
            int ka, i0, len, t0, kb, j0, lenb, u0, j, i, row;
            const size_t blk = (size_t)Ci * Co;
            convrnn__phase_dim(a, s, g->kh, g->h, g->pt, &ka, &i0, &len, &t0);
            convrnn__phase_dim(b, s, g->kw, g->w, g->pl, &kb, &j0, &lenb, &u0);
            if (!ka || !kb || !len || !lenb) continue;   /* no tap reaches these pixels: dx += 0 */
            for (j = 0; j < ka; j++)
                for (i = 0; i < kb; i++)
                    memcpy(ws + ((size_t)j * kb + i) * blk, w + ((size_t)(a + s * j) * g->kw + b + s * i) * blk, blk * sizeof(float));
            q.h = len; q.w = lenb; q.kh = ka; q.kw = kb; q.s = 1; q.pt = t0; q.pl = u0;
            memset(tmp, 0, (size_t)g->n * len * lenb * Ci * sizeof(float));
            convrnn__conv_bwd_dx(t, &q, ws, dy, tmp);
CONVRNN__OMP_STATIC((double)g->n * len * lenb * Ci > CONVRNN__PAR_FLOPS)
            for (row = 0; row < g->n * len; row++) {   /* dx at rows i0 + s t, columns j0 + s u += tmp */
                const int n = row / len, tt = row % len;
                convrnn__scopy_rows(dx + (((size_t)n * g->h + i0 + (size_t)s * tt) * g->w + j0) * Ci, (size_t)s * Ci,
                                    tmp + (size_t)row * lenb * Ci, (size_t)Ci, (size_t)lenb, Ci, 1);
            }
        }
    convrnn_free(t->alloc_ctx, ws);
    return 1;
}
/* Input gradient of a strided convolution as a GEMM and a scatter: for each dy pixel p = (n, oy, ox)
       Z[p][(ky, kx, c)] = sum over co of dy[p][co] w[ky][kx][c][co]     (K = Co; NZ = kh kw Ci columns)
       dx[n][oy s - pt + ky][ox s - pl + kx][c] += Z[p][(ky, kx, c)]     (the taps inside the map)
   w read as [NZ][Co] is packed transposed into column panels [Co][NVI VL] once. For one ky the
   columns (kx, c) are kw Ci consecutive floats of a dx row, so the scatter is kh runs per pixel
   (clipped at the map's edges). A tile is MRI consecutive pixels of one sample: its Z rows (in L1
   or L2), then their runs added to dx, pixels j, j + stp, j + 2 stp, ... for j < stp = ceil(kw / s)
   (so that consecutive pixels' runs do not overlap). A task is a sample, or a band of its dx rows
   (when the samples do not split evenly over the threads) for which it runs the tiles of the dy
   rows that reach the band and adds only the runs that fall in it; the tiles are those of the
   whole sample either way, so each dx element receives the same terms in the same order (fixed by
   the shape) whatever the threads and bands. Used while the packed weights stay within
   CONVRNN__COL_BMAX (every tile reads all of them); measured against the phases on the stride-1
   kernels: BaseNet's conv1 (224x224 3->64, 7x7 stride 2) 75 -> 30 ms on one thread, other
   stride-2 layers with 2-64 input channels 1.06-17x faster (the phases of a narrow output copy
   dy into planes once per phase, and each phase is a small convolution), with 128 inputs
   1.1-3.4x; 2.4 MB and more of weights (3x3 256 -> 256 on 14x14) as fast or slower. Returns 0
   (nothing written) when it does not apply or without scratch. */
#define CONVRNN__COL_BMAX 524288.0   /* packed weights, floats (2 MB) */
static int convrnn__col_ok(const convrnn__geom *g) {
    const int NR = convrnn__dir_nr((size_t)g->co), NZ = g->kh * g->kw * g->ci;
    return g->s > 1 && (double)g->co * ((NZ + NR - 1) / NR) * NR <= CONVRNN__COL_BMAX;
}
/* dx rows [r0, r1) of sample n: the dy rows that reach them, in the tiles of the whole sample */
static void convrnn__col_rows(const convrnn__geom *g, const float *bp, int NR, int npan, const float *dy, float *dx, float *Z, int n,
                              int r0, int r1) {
    const int VL = CONVRNN__VL, Ci = g->ci, Co = g->co, kh = g->kh, kw = g->kw, s = g->s;
    const int NZ = kh * kw * Ci, ldz = npan * NR, P = g->oh * g->ow;
    const ptrdiff_t zero_off[1] = { 0 };
    const float *dys = dy + (size_t)n * P * Co;
    const int stp = (kw + s - 1) / s;   /* pixels ox and ox + stp write disjoint runs */
    const int oy0 = r0 + g->pt - kh + 1 <= 0 ? 0 : (r0 + g->pt - kh + s) / s;   /* oy s - pt + ky in [r0, r1) */
    const int oy1 = (r1 - 1 + g->pt) / s + 1 < g->oh ? (r1 - 1 + g->pt) / s + 1 : g->oh;
    int p0, i, j, pp, ky, v;
    for (p0 = oy0 * g->ow / CONVRNN__MRI * CONVRNN__MRI; p0 < oy1 * g->ow; p0 += CONVRNN__MRI) {
        const int rows = P - p0 < CONVRNN__MRI ? P - p0 : CONVRNN__MRI;
        const float *bs[CONVRNN__MRMAX];
        float *crow[CONVRNN__MRMAX];
        for (i = 0; i < CONVRNN__MRI; i++) bs[i] = dys + (size_t)(p0 + (i < rows ? i : 0)) * Co;
        for (pp = 0; pp < npan; pp++) {   /* Z rows = dy rows x panel pp */
            const int wp = NZ - pp * NR < NR ? NZ - pp * NR : NR;
            const float *pb = bp + (size_t)pp * Co * NR;
            for (i = 0; i < CONVRNN__MRI; i++) crow[i] = i < rows ? Z + (size_t)i * ldz + pp * NR : NULL;
            convrnn__ukr_run((wp + VL - 1) / VL, rows, 1, bs, zero_off, &Co, &pb, crow, wp, 0, NULL);
        }
        for (j = 0; j < stp; j++)   /* dx += Z, kh runs of (kx1 - kx0) Ci floats per pixel, in the order */
        for (i = j; i < rows; i += stp) {   /* j, j + stp, ...: consecutive pixels' runs do not overlap */
            const int oy = (p0 + i) / g->ow, ox = (p0 + i) % g->ow, iy0 = oy * s - g->pt, ix0 = ox * s - g->pl;
            const int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + kw > g->w ? g->w - ix0 : kw, len = (kx1 - kx0) * Ci;
            const int ky0 = iy0 < r0 ? r0 - iy0 : 0, ky1 = iy0 + kh > r1 ? r1 - iy0 : kh;
            const int nf = len / VL, rem = len % VL;
            float *d;
            const float *z;
            if (len <= 0 || ky0 >= ky1) continue;
            d = dx + (((size_t)n * g->h + iy0 + ky0) * g->w + ix0 + kx0) * Ci;
            z = Z + (size_t)i * ldz + (ky0 * kw + kx0) * Ci;
            for (ky = ky0; ky < ky1; ky++, d += (size_t)g->w * Ci, z += kw * Ci) {
                for (v = 0; v < nf; v++)
                    convrnn__vst(d + v * VL, convrnn__vadd(convrnn__vld(d + v * VL), convrnn__vld(z + v * VL)));
                if (rem) convrnn__vstn(d + nf * VL, convrnn__vadd(convrnn__vldn(d + nf * VL, rem), convrnn__vldn(z + nf * VL, rem)), rem);
            }
        }
    }
}
static int convrnn__sconv_bwd_col(void *actx, const convrnn__geom *g, const float *w, const float *dy, float *dx) {
    const int NR = convrnn__dir_nr((size_t)g->co), Co = g->co, NZ = g->kh * g->kw * g->ci, npan = (NZ + NR - 1) / NR;
    const size_t szb = convrnn__al((size_t)npan * Co * NR * sizeof(float));
    const size_t szz = convrnn__al((size_t)CONVRNN__MRI * npan * NR * sizeof(float));
    int nthr = convrnn__nthreads(), nb, hb, pp, k, j;
    char *mem, *base;
    float *bp;
    if (!convrnn__col_ok(g)) return 0;
    if ((double)g->n * g->oh * g->ow * Co * NZ <= CONVRNN__PAR_FLOPS) nthr = 1;
    /* a sample per task, or with samples that do not split evenly over the threads, bands of dx
       rows (each computes the dy rows that reach it: those on a band's edge twice) */
    nb = nthr == 1 || convrnn__by_sample(g->n, nthr) ? 1 : (2 * nthr + g->n - 1) / g->n;
    if (nb > g->h) nb = g->h;
    hb = (g->h + nb - 1) / nb;
    mem = (char *)convrnn__scratch(actx, szb + (size_t)convrnn__nthreads() * szz + 64);
    if (!mem) return 0;
    base = convrnn__al_base(mem);
    bp = (float *)base;
    for (pp = 0; pp < npan; pp++) {   /* panel pp: [k][j] = w[q = pp NR + j][k], zero past NZ; the */
        const int wp = NZ - pp * NR < NR ? NZ - pp * NR : NR;   /* last has rows of its own vectors */
        const int ld = (wp + CONVRNN__VL - 1) / CONVRNN__VL * CONVRNN__VL;
        for (k = 0; k < Co; k++)
            for (j = 0; j < ld; j++) {
                const int q = pp * NR + j;
                bp[(size_t)pp * Co * NR + (size_t)k * ld + j] = q < NZ ? w[(size_t)q * Co + k] : 0.0f;
            }
    }
CONVRNN__OMP_REGION(nthr > 1)
    {
        int q;
        float *Z = (float *)(base + szb + (size_t)convrnn__tid() * szz);
CONVRNN__OMP_FOR_DYN
        for (q = 0; q < g->n * nb; q++) {   /* (sample, band) tasks claimed in turn; nb = 1: whole samples */
            const int r0 = q % nb * hb, r1 = r0 + hb < g->h ? r0 + hb : g->h;
            if (r0 < r1) convrnn__col_rows(g, bp, NR, npan, dy, dx, Z, q / nb, r0, r1);
        }
    }
    convrnn_free(actx, mem);
    return 1;
}
#endif
/* dx, dw, db may be NULL (no gradient wanted). On two threads with both gradients wanted, each
   thread computes one of them alone, concurrently (the kernels then see one thread; measured:
   faster than both threads on each in turn, whose regions scale by 1.5-1.9x: 8-28% on the laptop
   layers, 5% on the readout, up to 2x on small maps). Not for 3x3 layers with 32+ channels on maps
   of 196+ pixels (Winograd; they scale well: the pair was 1-5% slower on 56x56 and 28x28 maps
   with F(2x2,3x3) input gradients), nor for large strided ones on
   the GEMM and scatter (CONVRNN__BWD_PAIR_COL_MAX). Each result is the kernels' own, whatever
   the threads: the same bits either way. Only with the libc allocator (a user allocator need not
   be thread-safe). */
#define CONVRNN__BWD_PAIR_FLOPS 2.0e5     /* multiply-adds of each gradient from which the pair runs */
#define CONVRNN__BWD_PAIR_FLOPS_PL 4.0e6  /* the same with few input channels (the input gradient on the
                                             planar kernel, slower alone: measured 1.2-1.4x slower pairs
                                             below this on 8 input channels) */
#define CONVRNN__BWD_PAIR_COL_MAX 2.5e8   /* not from this many with a strided input gradient's GEMM and
                                             scatter, which scale well over samples (measured: BaseNet's
                                             conv1 and 56x56 64 -> 128 3x3/2 8-12% faster each on two
                                             threads in turn than side by side) */
static void convrnn__conv_bwd_any(convrnn_tape *t, const convrnn__geom *g, const convrnn_real *x, const convrnn_real *w,
                                  const convrnn_real *dy, convrnn_real *dx, convrnn_real *dw, convrnn_real *db) {
#if defined(_OPENMP) && defined(CONVRNN__SIMD) && defined(CONVRNN__LIBC_CALLOC)
    const double macs = (double)g->n * g->oh * g->ow * g->co * g->ci * g->kh * g->kw;
    if (CONVRNN__VEC(t) && dx && dw && convrnn__nthreads() == 2 && !convrnn__wino_ok(g) &&
        macs >= (g->ci <= CONVRNN__PL_MAXD ? CONVRNN__BWD_PAIR_FLOPS_PL : CONVRNN__BWD_PAIR_FLOPS) &&
        !(convrnn__col_ok(g) && macs >= CONVRNN__BWD_PAIR_COL_MAX)) {
        int q;
#pragma omp parallel for schedule(static, 1) num_threads(2)
        for (q = 0; q < 2; q++) {
            if (q == 0) convrnn__conv_bwd_dx(t, g, w, dy, dx);
            else convrnn__conv_bwd_dw(t, g, x, dy, dw, db);
        }
        return;
    }
#endif
    convrnn__conv_bwd_dx(t, g, w, dy, dx);
    convrnn__conv_bwd_dw(t, g, x, dy, dw, db);
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
/* gx += gy * act'(x) from the input x and output y. ELU and ReLU read only the sign of x, which the
   output shares (x > 0 exactly when y > 0), so x = y is allowed: fused ops keep only y.
   assign: gx = 0 + gy * act'(x) (the same bits as adding to a zeroed gx, without reading it). */
static void convrnn__act_grad(convrnn_tape *t, convrnn_act a, const convrnn_real *x, const convrnn_real *y,
                              const convrnn_real *gy, convrnn_real *gx, size_t n, int assign) {
    size_t i;
    (void)t;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { convrnn__sact_bwd((int)a, x, y, gy, gx, n, assign); return; }
#endif
    if (assign) for (i = 0; i < n; i++) gx[i] = 0;
    switch (a) {
    case CONVRNN_ACT_ELU: for (i = 0; i < n; i++) gx[i] += gy[i] * (x[i] > 0 ? 1 : y[i] + 1); break;
    case CONVRNN_ACT_RELU: for (i = 0; i < n; i++) gx[i] += x[i] > 0 ? gy[i] : 0; break;
    case CONVRNN_ACT_SIGMOID: for (i = 0; i < n; i++) gx[i] += gy[i] * y[i] * (1 - y[i]); break;
    case CONVRNN_ACT_TANH: for (i = 0; i < n; i++) gx[i] += gy[i] * (1 - y[i] * y[i]); break;
    default: for (i = 0; i < n; i++) gx[i] += gy[i]; break;
    }
}
static void convrnn__act_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *y = nd->out;
    if (x->grad) convrnn__act_grad(t, (convrnn_act)nd->i[0], x->data, y->data, y->grad, x->grad, x->size, 0);
}
/* y = act(y) in place */
static void convrnn__act_inplace(convrnn_tape *t, convrnn_act a, convrnn_real *y, size_t n) {
    size_t i;
    (void)t;
    if (a == CONVRNN_ACT_IDENTITY) return;
#ifdef CONVRNN__SIMD
    if (CONVRNN__VEC(t)) { convrnn__sact_fwd((int)a, y, y, n); return; }
#endif
    for (i = 0; i < n; i++) y[i] = convrnn__act1(a, y[i]);
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

/* ---- conv + bias + activation in one op: dz = dy act'(y) goes through a pool block */
static void convrnn__conv_act_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    const convrnn_act a = (convrnn_act)nd->i[0];
    convrnn__geom g;
    size_t cap;
    convrnn_real *dz = convrnn__pool_get(t, y->size, &cap);
    if (!dz) return;
    memcpy(&g, nd->aux, sizeof g);
    convrnn__act_grad(t, a, y->data, y->data, y->grad, dz, y->size, 1);
    convrnn__conv_bwd_any(t, &g, x->data, w->data, dz, x->grad, w->grad, b ? b->grad : NULL);
    convrnn__pool_put(t, dz, cap);
}
CONVRNNDEF convrnn_tensor *convrnn_conv2d_act(convrnn_tape *t, convrnn_tensor *x, convrnn_tensor *w,
                                              convrnn_tensor *b, int stride, convrnn_padding pad, convrnn_act act) {
    convrnn_tensor *y;
    convrnn__node *nd;
    if (t && !t->err.status && (unsigned)act >= CONVRNN_ACT_COUNT)
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "conv2d_act: unknown activation %d", (int)act);
    y = convrnn_conv2d(t, x, w, b, stride, pad);
    if (!y || act == CONVRNN_ACT_IDENTITY) return y;
    convrnn__act_inplace(t, act, y->data, y->size);
    if (t->n_nodes > 0 && t->nodes[t->n_nodes - 1].out == y) {   /* the conv's record: make it the fused one */
        nd = &t->nodes[t->n_nodes - 1];
        nd->bwd = convrnn__conv_act_bwd;
        nd->i[0] = (int)act;
    }
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
/* convrnn__lerp (one resize tap) is defined in the [IMPL-SIMD] section */
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
static void convrnn__concat_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *y = nd->out;
    size_t rows = y->size / (size_t)y->d[3], r;
    int i, off = 0, c;
    (void)t;
    for (i = 0; i < nd->nxs; i++) {
        convrnn_tensor *x = nd->xs[i];
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
    int i, C = 0, off = 0, g = 0, c;
    size_t rows, r;
    if (!t || t->err.status) return NULL;
    if (!xs || n <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "concat: no inputs");
    for (i = 0; i < n; i++) {
        if (!xs[i]) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "concat: input %d is NULL", i);
        if (!convrnn__owned(t, xs[i], "concat", i)) return NULL;
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
    if ((nd = convrnn__record(t, convrnn__concat_bwd, y)) != NULL && !convrnn__record_list(t, nd, xs, n)) return NULL;
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
    if (!(eps > 0 && eps - eps == 0)) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "layer_norm: eps %g must be finite and > 0", eps);
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
    int i;
    (void)t;
    for (i = 0; i < nd->nxs; i++) if (nd->xs[i]->grad) nd->xs[i]->grad[0] += nd->out->grad[0];
}
CONVRNNDEF convrnn_tensor *convrnn_sum_scalars(convrnn_tape *t, convrnn_tensor **xs, int n) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int i, g = 0;
    double s = 0;
    if (!t || t->err.status) return NULL;
    if (!xs || n <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "sum_scalars: no inputs");
    for (i = 0; i < n; i++) {
        if (!xs[i] || xs[i]->size != 1) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "sum_scalars: input %d is not a scalar", i);
        if (!convrnn__owned(t, xs[i], "sum_scalars", i)) return NULL;
        s += xs[i]->data[0];
        g |= xs[i]->grad != NULL;
    }
    y = convrnn__new(t, 1, 1, 1, 1, 1, g);
    if (!y) return NULL;
    y->data[0] = (convrnn_real)s;
    if ((nd = convrnn__record(t, convrnn__sums_bwd, y)) != NULL && !convrnn__record_list(t, nd, xs, n)) return NULL;
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

/* FNV-1a over the cell's parameter slots and the rank and dims each has in ps */
static uint64_t convrnn__cell_sig(const convrnn_cell *cell, const convrnn_params *ps) {
    uint64_t h = 1469598103934665603ull;
    int i, k;
#define CONVRNN__FNV(v) (h = (h ^ (uint64_t)(uint32_t)(v)) * 1099511628211ull)
    for (i = 0; i < CONVRNN_CELL_MAX_PARAMS; i++) {
        const int q = cell->p[i];
        CONVRNN__FNV(q);
        if (q < 0) continue;
        if (q >= ps->count) return 0;   /* not this store's */
        CONVRNN__FNV(ps->info[q].rank);
        for (k = 0; k < 4; k++) CONVRNN__FNV(ps->info[q].d[k]);
    }
#undef CONVRNN__FNV
    return h | 1;   /* never 0 */
}
#define CONVRNN__CELL_MAX_C (1 << 24)
static convrnn_status convrnn__cell_create_any(convrnn_cell *cell, const convrnn_cell_config *cfg, const char *scope, int h,
                                               int w, int cu, int cr, int cf, convrnn_params *ps);
CONVRNNDEF convrnn_status convrnn_cell_create(convrnn_cell *cell, const convrnn_cell_config *cfg,
                                              const char *scope, int h, int w, int cu, int cr, int cf,
                                              convrnn_params *ps) {
    const convrnn_status st = convrnn__cell_create_any(cell, cfg, scope, h, w, cu, cr, cf, ps);
    if (st == CONVRNN_OK) cell->psig_ = convrnn__cell_sig(cell, ps);
    return st;
}
static convrnn_status convrnn__cell_create_any(convrnn_cell *cell, const convrnn_cell_config *cfg, const char *scope, int h,
                                               int w, int cu, int cr, int cf, convrnn_params *ps) {
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
    /* the gate widths (up to 4 D + the inputs) must fit an int */
    if (D > CONVRNN__CELL_MAX_C || cu > CONVRNN__CELL_MAX_C || cr > CONVRNN__CELL_MAX_C || cf > CONVRNN__CELL_MAX_C ||
        (cfg->type == CONVRNN_CELL_RGC && cfg->rgc.cell_depth > CONVRNN__CELL_MAX_C))
        return convrnn__cell_fail(ps, CONVRNN_ERR_OVERFLOW, "channel counts above 2^24", scope);
    if (!(cfg->forget_bias - cfg->forget_bias == 0)) return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "forget_bias is not finite", scope);
    if (cfg->type == CONVRNN_CELL_RGC && (unsigned)cfg->rgc.flavor > (unsigned)CONVRNN_RGC_MEDIAN)
        return convrnn__cell_fail(ps, CONVRNN_ERR_ARG, "unknown RGC flavor", scope);
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

/* ---- the GRU's elementwise gate math as two ops (rows = N*H*W pixels; G = [r~, z~] [rows][2D]):
   reset   y = [u, r (.) h],      r = sig(r~ + fb)     y [rows][Cu+D]   (the candidate conv's input)
   update  y = c + z (.) (h - c), z = sig(z~)          y [rows][D]      (= z h + (1-z) c)
   Only y is kept; the backward pass recomputes r and z from G. One writer per output element, so
   the row loop runs in parallel without changing any sum. */
static void convrnn__gru_k(int vec, int upd, size_t rows, int Cu, int D, convrnn_real fb, const convrnn_real *G,
                           const convrnn_real *h, const convrnn_real *uc, convrnn_real *y, const convrnn_real *gy,
                           convrnn_real *gG, convrnn_real *gh, convrnn_real *guc) {
    const int Y = upd ? D : Cu + D, off = upd ? 0 : Cu, go = upd ? D : 0, UC = upd ? D : Cu;
    long p;
    (void)vec;
CONVRNN__OMP_FOR(rows * (size_t)Y > CONVRNN__PAR_MIN)
    for (p = 0; p < (long)rows; p++) {
        const convrnn_real *gr = G + (size_t)p * 2 * D + go, *hr = h + (size_t)p * D, *ur = uc + (size_t)p * UC;
        int d = 0, c = 0;
#ifdef CONVRNN__SIMD
        if (vec) {
            const convrnn__vf one = convrnn__vset1(1.0f), vfb = convrnn__vset1(fb);
            if (!upd)   /* the u part of the reset output: a copy forward, a gradient add backward */
                for (; c < Cu; c += CONVRNN__VL) {
                    const int nn = Cu - c < CONVRNN__VL ? Cu - c : CONVRNN__VL;
                    if (!gy) convrnn__vstn(y + (size_t)p * Y + c, convrnn__vldn(ur + c, nn), nn);
                    else if (guc) {
                        float *q = guc + (size_t)p * Cu + c;
                        convrnn__vstn(q, convrnn__vadd(convrnn__vldn(q, nn), convrnn__vldn(gy + (size_t)p * Y + c, nn)), nn);
                    }
                }
            for (; d < D; d += CONVRNN__VL) {
                const int nn = D - d < CONVRNN__VL ? D - d : CONVRNN__VL;
                const convrnn__vf s = convrnn__vsigmoid(upd ? convrnn__vldn(gr + d, nn) : convrnn__vadd(convrnn__vldn(gr + d, nn), vfb));
                const convrnn__vf hv = convrnn__vldn(hr + d, nn);
                const convrnn__vf cv = upd ? convrnn__vldn(ur + d, nn) : convrnn__vzero();
                if (!gy) {
                    convrnn__vstn(y + (size_t)p * Y + off + d, upd ? convrnn__vfma(s, convrnn__vsub(hv, cv), cv) : convrnn__vmul(s, hv), nn);
                } else {
                    const convrnn__vf g = convrnn__vldn(gy + (size_t)p * Y + off + d, nn);
                    const convrnn__vf gs = convrnn__vmul(g, upd ? convrnn__vsub(hv, cv) : hv);
                    const convrnn__vf gw = convrnn__vmul(g, s);
                    float *q;
                    if (gG) { q = gG + (size_t)p * 2 * D + go + d; convrnn__vstn(q, convrnn__vadd(convrnn__vldn(q, nn), convrnn__vmul(convrnn__vmul(gs, s), convrnn__vsub(one, s))), nn); }
                    if (gh) { q = gh + (size_t)p * D + d; convrnn__vstn(q, convrnn__vadd(convrnn__vldn(q, nn), gw), nn); }
                    if (upd && guc) { q = guc + (size_t)p * D + d; convrnn__vstn(q, convrnn__vadd(convrnn__vldn(q, nn), convrnn__vsub(g, gw)), nn); }
                }
            }
        }
#endif
        if (!upd && c < Cu) {
            if (!gy) memcpy(y + (size_t)p * Y, ur, (size_t)Cu * sizeof *ur);
            else if (guc) for (; c < Cu; c++) guc[(size_t)p * Cu + c] += gy[(size_t)p * Y + c];
        }
        for (; d < D; d++) {
            const convrnn_real s = convrnn__act1(CONVRNN_ACT_SIGMOID, upd ? gr[d] : gr[d] + fb), hv = hr[d], cv = upd ? ur[d] : 0;
            if (!gy) {
                y[(size_t)p * Y + off + d] = upd ? cv + s * (hv - cv) : s * hv;
            } else {
                const convrnn_real g = gy[(size_t)p * Y + off + d], gs = g * (upd ? hv - cv : hv), gw = g * s;
                if (gG) gG[(size_t)p * 2 * D + go + d] += gs * s * (1 - s);
                if (gh) gh[(size_t)p * D + d] += gw;
                if (upd && guc) guc[(size_t)p * D + d] += g - gw;
            }
        }
    }
}
static void convrnn__gru_bwd(convrnn_tape *t, convrnn__node *nd) {
    convrnn_tensor *G = nd->in[0], *h = nd->in[1], *uc = nd->in[2], *y = nd->out;
    const int upd = nd->i[1], D = nd->i[0];
    (void)t;
    convrnn__gru_k(CONVRNN__VEC(t), upd, h->size / (size_t)D, upd ? D : uc->d[3], D, (convrnn_real)nd->f[0], G->data, h->data,
                   uc->data, NULL, y->grad, G->grad, h->grad, uc->grad);
}
/* upd = 0: reset(G, h, u, fb); upd = 1: update(G, h, c). Shapes are the cell's, checked by cell_step. */
static convrnn_tensor *convrnn__gru_op(convrnn_tape *t, int upd, convrnn_tensor *G, convrnn_tensor *h, convrnn_tensor *uc, double fb) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int D;
    if (!convrnn__args(t, upd ? "gru update" : "gru reset", 3, G, h, uc)) return NULL;
    D = h->d[3];
    y = CONVRNN__NEW4(t, h->d[0], h->d[1], h->d[2], upd ? D : uc->d[3] + D, convrnn__any_grad(G, h, uc, NULL));
    if (!y) return NULL;
    convrnn__gru_k(CONVRNN__VEC(t), upd, h->size / (size_t)D, upd ? D : uc->d[3], D, (convrnn_real)fb, G->data, h->data,
                   uc->data, y->data, NULL, NULL, NULL, NULL);
    if ((nd = convrnn__record(t, convrnn__gru_bwd, y)) != NULL) {
        nd->in[0] = G; nd->in[1] = h; nd->in[2] = uc;
        nd->i[0] = D; nd->i[1] = upd; nd->f[0] = fb;
    }
    return y;
}
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
    if (convrnn__cell_sig(cell, ps) != cell->psig_)
        return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "cell_step (%s): the parameter store does not hold this cell's parameters",
                                 convrnn_cell_type_name(cell->cfg.type));
    cfg = &cell->cfg;
    D = cfg->out_depth;
    N = u->d[0];
    if (u->d[1] != cell->h || u->d[2] != cell->w || u->d[3] != cell->cu)
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "cell_step (%s): input [%d,%d,%d,%d], cell expects [N,%d,%d,%d]",
            convrnn_cell_type_name(cfg->type), u->d[0], u->d[1], u->d[2], u->d[3], cell->h, cell->w, cell->cu);
    if (r && (r->d[0] != N || r->d[1] != cell->h || r->d[2] != cell->w || r->d[3] != cell->cr))
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "cell_step: residual [%d,%d,%d,%d], cell expects [N,%d,%d,%d]",
            r->d[0], r->d[1], r->d[2], r->d[3], cell->h, cell->w, cell->cr);
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
        if (!cfg->layer_norm) {   /* the fused gate ops: the same math, a third of the tensors */
            cc = convrnn_conv2d_act(t, convrnn__gru_op(t, 0, gz, h, u, cfg->forget_bias), CONVRNN__P(CONVRNN__GRU_CW),
                                    CONVRNN__P(CONVRNN__GRU_CB), 1, CONVRNN_SAME, CONVRNN_ACT_TANH);
            state[0] = *out = convrnn__gru_op(t, 1, gz, h, cc, 0);
            break;
        }
        /* with layer norm on r~, z~ and the candidate: the composed ops */
        rr = convrnn_layer_norm(t, convrnn_slice_channels(t, gz, 0, D), CONVRNN__P(CONVRNN__GRU_LN), CONVRNN__P(CONVRNN__GRU_LN + 1), 1e-12);
        zz = convrnn_layer_norm(t, convrnn_slice_channels(t, gz, D, D), CONVRNN__P(CONVRNN__GRU_LN + 2), CONVRNN__P(CONVRNN__GRU_LN + 3), 1e-12);
        rr = convrnn_activate(t, convrnn_affine(t, rr, 1, cfg->forget_bias), CONVRNN_ACT_SIGMOID);
        zz = convrnn_activate(t, zz, CONVRNN_ACT_SIGMOID);
        cc = convrnn_conv2d(t, convrnn__cat2(t, u, convrnn_mul(t, rr, h)), CONVRNN__P(CONVRNN__GRU_CW), CONVRNN__P(CONVRNN__GRU_CB), 1, CONVRNN_SAME);
        cc = convrnn_layer_norm(t, cc, CONVRNN__P(CONVRNN__GRU_LN + 4), CONVRNN__P(CONVRNN__GRU_LN + 5), 1e-12);
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
/* ====================================================================================== [IMPL-GRAPH] */

static convrnn_op_spec convrnn__op(convrnn_op_kind kind, const char *scope, const char *wname) {
    convrnn_op_spec o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.k = 1; o.stride = 1; o.pad = CONVRNN_SAME;
    if (scope) snprintf(o.scope, sizeof o.scope, "%s", scope);
    if (wname) snprintf(o.wname, sizeof o.wname, "%s", wname);
    o.winit = convrnn_init_make(CONVRNN_INIT_VARSCALE, 1.0, 0);
    o.binit = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
    return o;
}
static convrnn_op_spec convrnn__conv_op(const char *scope, const char *wname, int k, int stride, int out,
                                        convrnn_padding pad, convrnn_act act, double wd) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_CONV, scope, wname);
    o.k = k; o.stride = stride; o.out = out; o.pad = pad; o.act = act; o.bias = 1; o.wd = wd;
    return o;
}
static convrnn_op_spec convrnn__pool_op(void) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_MAXPOOL, "", "");
    o.k = 2; o.stride = 2;
    return o;
}
static convrnn_op_spec convrnn__act_op(convrnn_act a) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_ACT, "", "");
    o.act = a;
    return o;
}
static convrnn_node_spec *convrnn__add_node(convrnn_graph_spec *g, const char *name, const char *ff) {
    convrnn_node_spec *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->ff, sizeof n->ff, "%s", ff ? ff : "");
    n->cell = convrnn_cell_config_default(CONVRNN_CELL_IDENTITY, 0);
    return n;
}
static void convrnn__add_edge(convrnn_graph_spec *g, int src, int dst) {
    g->edge_src[g->n_edges] = src;
    g->edge_dst[g->n_edges] = dst;
    g->n_edges++;
}

/* The 20 released models (spec 10.1) and the laptop-sized ones. */
static const char *convrnn__zoo_names[] = {
    "rgc_intermediate", "rgc_intermediate_tmaxconf", "rgc_intermediate_t22_tmaxconf", "rgc_intermediate_dthresh",
    "ugrnn_intermediate", "intersectionrnn_intermediate", "lstm_intermediate", "gru_intermediate",
    "simplernn_intermediate", "timedecay_intermediate", "ugrnn_intermediate_t30", "ugrnn_intermediate_t30_tmaxconf",
    "ugrnn_intermediate_t30_dthresh", "ugrnn_shallow", "rgc_shallow", "intersectionrnn_shallow", "lstm_shallow",
    "gru_shallow", "simplernn_shallow", "timedecay_shallow",
    "ff_shallow", "ff_intermediate",
    "laptop_ff", "laptop_timedecay", "laptop_simplernn", "laptop_gru", "laptop_lstm", "laptop_ugrnn",
    "laptop_intersectionrnn", "laptop_rgc", "laptop_ff_deep"
};
#define CONVRNN__ZOO_N ((int)(sizeof convrnn__zoo_names / sizeof convrnn__zoo_names[0]))

CONVRNNDEF int convrnn_zoo_count(void) { return CONVRNN__ZOO_N; }
CONVRNNDEF const char *convrnn_zoo_name(int i) { return i >= 0 && i < CONVRNN__ZOO_N ? convrnn__zoo_names[i] : NULL; }

static int convrnn__starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static int convrnn__ends(const char *s, const char *p) {
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

/* Cell of a released model, by family. */
static convrnn_cell_config convrnn__zoo_cell(convrnn_cell_type type, int D, double wd) {
    convrnn_cell_config c = convrnn_cell_config_default(type, D);
    c.weight_decay = wd;
    return c;
}

/* Shallow BaseNet (spec 4.1): conv1..conv5 + imnetds (2x2 VALID conv to the classes + global pool). */
static void convrnn__zoo_shallow(convrnn_graph_spec *g, convrnn_cell_type type) {
    static const char *names[] = { "conv1", "conv2", "conv3", "conv4", "conv5" };
    static const int pre_c[] = { 64, 128, 256, 256, 512 };
    int D[3] = { 256, 256, 512 }, l;
    convrnn_act A = type == CONVRNN_CELL_RGC ? CONVRNN_ACT_ELU : CONVRNN_ACT_IDENTITY;
    if (type == CONVRNN_CELL_SIMPLERNN || type == CONVRNN_CELL_LSTM) { D[0] = 128; D[1] = 256; D[2] = 256; }
    g->in_h = g->in_w = 224; g->in_c = 3; g->n_classes = 1000;
    g->T = 16; g->image_off = 12;
    for (l = 0; l < 5; l++) {
        convrnn_node_spec *n = convrnn__add_node(g, names[l], l ? names[l - 1] : "");
        convrnn_act act = l < 2 ? CONVRNN_ACT_ELU : A;
        n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", l ? 3 : 7, l ? 1 : 2, pre_c[l], CONVRNN_SAME, act, 1e-4);
        if (l >= 2 && type != CONVRNN_CELL_IDENTITY) {
            n->cell = convrnn__zoo_cell(type, D[l - 2], 1e-4);
            if (type == CONVRNN_CELL_RGC) {
                n->cell.rgc = convrnn_rgc_shallow_config();
            } else if (type == CONVRNN_CELL_LSTM) {
                /* lstm_shallow.npz layer_params (spec 4.1) */
                static const int k[3] = { 2, 3, 4 }, peep[3] = { 0, 1, 0 };
                static const double fb[3] = { 1.3561755, 0.9779629, 0.9249280 };
                static const double wd[3] = { 5.434e-6, 7.613e-6, 3.038e-6 };
                static const double sc[3] = { 0.70088, 1.83146, 0.89376 };
                static const double bi[3] = { 1.64277, -1.16602, -1.34950 };
                n->cell.k = k[l - 2]; n->cell.peepholes = peep[l - 2]; n->cell.layer_norm = 1;
                n->cell.forget_bias = fb[l - 2]; n->cell.weight_decay = wd[l - 2];
                n->cell.kernel_init = convrnn_init_make(CONVRNN_INIT_VARSCALE, sc[l - 2], 0);
                n->cell.bias_init = convrnn_init_make(CONVRNN_INIT_CONST, bi[l - 2], 0);
            } else if (type == CONVRNN_CELL_SIMPLERNN) {
                n->cell.layer_norm = 1;
            }
        }
        n->post[n->n_post++] = convrnn__pool_op();
    }
    {
        convrnn_node_spec *n = convrnn__add_node(g, "imnetds", "conv5");
        convrnn_op_spec o = convrnn__conv_op("pre_1", "weights", 2, 1, 1000, CONVRNN_VALID, CONVRNN_ACT_IDENTITY, 1e-4);
        o.winit = convrnn_init_make(CONVRNN_INIT_NORMAL, 0.01, 0);
        n->pre[n->n_pre++] = o;
        n->post[n->n_post++] = convrnn__op(CONVRNN_OP_GAP, "", "");
    }
}

static convrnn_op_spec convrnn__fc_op(const char *scope, int out, double wd) {
    convrnn_op_spec o = convrnn__op(CONVRNN_OP_FC, scope, "weights");
    o.out = out; o.bias = 1; o.wd = wd;
    o.winit = convrnn_init_make(CONVRNN_INIT_NORMAL, 0.01, 0);
    o.binit = convrnn_init_make(CONVRNN_INIT_CONST, 1.0, 0); /* the fc default */
    return o;
}

/* Intermediate BaseNet (spec 4.2) with cells in conv4..conv10, and the RGC Median backbone (4.3). */
static void convrnn__zoo_intermediate(convrnn_graph_spec *g, convrnn_cell_type type) {
    static const int depth[] = { 64, 64, 64, 128, 128, 256, 256, 512, 512, 512 };
    static const int rgc_pre[] = { 64, 128, 128, 128, 128, 256, 256, 256, 512, 512 };
    static const int pool[] = { 1, 0, 0, 1, 0, 1, 1, 0, 0, 1 };
    static const int rgc_pool[] = { 1, 0, 0, 1, 0, 1, 1, 0, 0, 1 };
    const int rgc = type == CONVRNN_CELL_RGC;
    char name[16], prev[16];
    int l;
    g->in_h = g->in_w = 224; g->in_c = 3; g->n_classes = 1000;
    g->T = 17; g->image_off = 12;
    for (l = 0; l < 10; l++) {
        convrnn_node_spec *n;
        snprintf(name, sizeof name, "conv%d", l + 1);
        snprintf(prev, sizeof prev, "conv%d", l);
        n = convrnn__add_node(g, name, l ? prev : "");
        if (l == 0) {
            n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 7, 2, 64, CONVRNN_SAME, CONVRNN_ACT_IDENTITY, 1e-4);
            n->post[n->n_post++] = convrnn__act_op(CONVRNN_ACT_ELU);
            n->post[n->n_post++] = convrnn__pool_op();
            continue;
        }
        if (rgc) {
            n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 3, 1, rgc_pre[l], CONVRNN_SAME, CONVRNN_ACT_IDENTITY, 1e-4);
            if (l < 3) {
                n->post[n->n_post++] = convrnn__act_op(CONVRNN_ACT_ELU);
            } else {
                n->cell = convrnn__zoo_cell(CONVRNN_CELL_RGC, rgc_pre[l], 2.033999e-4);
                n->cell.rgc = convrnn_rgc_median_config();
                n->cell.bias_init = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
                if (rgc_pool[l]) n->post[n->n_post++] = convrnn__pool_op();
            }
            continue;
        }
        n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 3, 1, depth[l], CONVRNN_SAME, CONVRNN_ACT_ELU, 1e-4);
        if (l >= 3 && type != CONVRNN_CELL_IDENTITY) n->cell = convrnn__zoo_cell(type, depth[l], 1e-4);
        n->post[n->n_post++] = convrnn__conv_op("post_0", "weights", 3, 1, depth[l], CONVRNN_SAME, CONVRNN_ACT_IDENTITY, 1e-4);
        {
            convrnn_op_spec o = convrnn__op(CONVRNN_OP_RESADD, "post_1", "residual_add_weights");
            o.wd = 1e-4;
            n->post[n->n_post++] = o;
        }
        n->post[n->n_post++] = convrnn__act_op(CONVRNN_ACT_ELU);
        if (pool[l]) n->post[n->n_post++] = convrnn__pool_op();
    }
    {
        convrnn_node_spec *n = convrnn__add_node(g, "imnetds", "conv10");
        n->pre[n->n_pre++] = convrnn__op(CONVRNN_OP_GAP, "", "");
        n->pre[n->n_pre++] = convrnn__fc_op("pre_3", 1000, 1e-4);
    }
    if (rgc) {
        /* the five long-range feedback edges of RGC Median */
        static const int src[] = { 8, 9, 10, 7, 10 }, dst[] = { 5, 6, 7, 6, 9 };
        int e;
        for (e = 0; e < 5; e++) convrnn__add_edge(g, src[e] - 1, dst[e] - 1);
    }
}

/* Laptop-sized models for 28x28 (or 32x32) inputs: the shallow topology with small channel counts,
   cells in conv3..conv5, a global-pool + dense readout; "deep" doubles the feedforward blocks. */
static void convrnn__zoo_laptop(convrnn_graph_spec *g, convrnn_cell_type type, int deep) {
    static const int ch[] = { 8, 16, 16, 32, 32 };
    char name[16], prev[16];
    int l, L = deep ? 10 : 5, idx = 0;
    g->in_h = g->in_w = 28; g->in_c = 1; g->n_classes = 10;
    g->T = 8; g->image_off = 8;
    for (l = 0; l < L; l++) {
        convrnn_node_spec *n;
        int b = deep ? l / 2 : l, pool = deep ? (l % 2 == 1 && l < 7) : (l < 3);
        snprintf(name, sizeof name, "conv%d", l + 1);
        snprintf(prev, sizeof prev, "conv%d", l);
        n = convrnn__add_node(g, name, l ? prev : "");
        n->pre[n->n_pre++] = convrnn__conv_op("pre_0", "weights_basenet", 3, 1, ch[b], CONVRNN_SAME,
                                              CONVRNN_ACT_ELU, 1e-4);
        if (!deep && l >= 2 && type != CONVRNN_CELL_IDENTITY) {
            n->cell = convrnn__zoo_cell(type, ch[b], 1e-4);
            if (type == CONVRNN_CELL_RGC) n->cell.rgc = convrnn_rgc_shallow_config();
        }
        if (pool) n->post[n->n_post++] = convrnn__pool_op();
        idx++;
    }
    {
        convrnn_node_spec *n = convrnn__add_node(g, "imnetds", name);
        n->pre[n->n_pre++] = convrnn__op(CONVRNN_OP_GAP, "", "");
        n->pre[n->n_pre++] = convrnn__fc_op("pre_1", 10, 1e-4);
        n->pre[n->n_pre - 1].binit = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
        n->pre[n->n_pre - 1].winit = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0);
    }
    (void)idx;
}

CONVRNNDEF convrnn_status convrnn_zoo_spec(const char *name, convrnn_graph_spec *g, convrnn_error *err) {
    static const char *fam[] = { "timedecay", "simplernn", "gru", "lstm", "ugrnn", "intersectionrnn", "rgc", "ff" };
    static const convrnn_cell_type types[] = { CONVRNN_CELL_TIMEDECAY, CONVRNN_CELL_SIMPLERNN, CONVRNN_CELL_GRU,
        CONVRNN_CELL_LSTM, CONVRNN_CELL_UGRNN, CONVRNN_CELL_INTERSECTION, CONVRNN_CELL_RGC, CONVRNN_CELL_IDENTITY };
    int i, known = 0, f;
    if (!name || !g) return convrnn_error_set(err, CONVRNN_ERR_ARG, "zoo: NULL name or spec");
    for (i = 0; i < CONVRNN__ZOO_N; i++) if (!strcmp(name, convrnn__zoo_names[i])) known = 1;
    if (!known) {
        char list[200];
        size_t off = 0;
        list[0] = 0;
        for (i = 0; i < CONVRNN__ZOO_N; i++) {
            const size_t l = strlen(convrnn__zoo_names[i]);
            if (off + l + 8 >= sizeof list) { memcpy(list + off, ", ...", 6); break; }
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", convrnn__zoo_names[i]);
        }
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "unknown model '%.64s' (%d zoo names: %s)", name, CONVRNN__ZOO_N, list);
    }
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->decoder.type = CONVRNN_DEC_LAST;
    g->decoder.start = -1; g->decoder.end = 0; g->decoder.threshold = 0.9; g->decoder.mlp_hidden = 250;
    if (convrnn__starts(name, "laptop_")) {
        const char *rest = name + 7;
        if (!strcmp(rest, "ff_deep")) convrnn__zoo_laptop(g, CONVRNN_CELL_IDENTITY, 1);
        else for (f = 0; f < 8; f++) if (!strcmp(rest, fam[f])) convrnn__zoo_laptop(g, types[f], 0);
        return CONVRNN_OK;
    }
    for (f = 0; f < 8; f++) {
        size_t n = strlen(fam[f]);
        if (!strncmp(name, fam[f], n) && name[n] == '_') break;
    }
    if (strstr(name, "_shallow")) convrnn__zoo_shallow(g, types[f]);
    else convrnn__zoo_intermediate(g, types[f]);
    if (strstr(name, "_t22")) { g->T = 22; g->image_off = 22; }
    if (strstr(name, "_t30")) { g->T = 30; g->image_off = 30; }
    if (convrnn__ends(name, "_tmaxconf")) { g->decoder.type = CONVRNN_DEC_MAX_CONF; g->decoder.trainable = 1; }
    if (convrnn__ends(name, "_dthresh")) g->decoder.type = CONVRNN_DEC_THRESH;
    return CONVRNN_OK;
}

/* [DOC-GRAPH-TEXT] The graph text format, one statement per line, '#' starts a comment:
     convrnn-graph 1
     name NAME
     input H W C
     classes K
     steps T IMAGE_OFF
     node NAME [ff=PRED]              starts a node; the lines below belong to it
       pre|post conv k= s= out= pad=same|valid act= bias=0|1 scope= w= wd= init= binit=
       pre|post fc out= act= bias= scope= w= wd= init= binit=
       pre|post maxpool k= s= pad=      pre|post act act=     pre|post gap
       post resadd scope= w= wd= init=
       cell TYPE out= k= forget_bias= layer_norm= peepholes= wd= init= binit= [rgc keys]
     edge SRC DST                     an extra (feedback) edge, one step of delay like every edge
     decoder TYPE start= end= threshold= trainable= hidden=
   TYPE of cell: identity timedecay simplernn gru lstm ugrnn intersectionrnn rgc. RGC keys:
   flavor=shallow|median cell_depth= tau_k= gate_k= ff_k= in_out_k= fb_k= tau_ds= gate_ds= ff_ds=
   in_out_ds= fb_ds= input_to_cell= input_to_out= cell_to_out= cell_residual= out_residual=
   residual_to_cell_tau= residual_to_cell_gate= residual_to_out_tau= residual_to_out_gate=
   input_to_tau= input_to_gate= tau_nl= gate_nl= tau_offset= tau_mult= gate_offset= gate_mult=
   tau_bias= gate_bias= input_act= cell_act= out_act= fb_act= layer_norm= fb_entry=input|cell|out
   rgc_init=. Initializers: zero, const:V, normal:SD, uniform:A:B, varscale:SCALE, glorot.
   The writer prints every field (floats with 17 significant digits), so text -> spec -> text is
   exact, and two specs are equal iff their texts are. */

typedef struct convrnn__sb { char *p; size_t n, cap; int oom; } convrnn__sb;
static void convrnn__sb_printf(convrnn__sb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void convrnn__sb_printf(convrnn__sb *b, const char *fmt, ...) {
    va_list ap;
    int k;
    if (b->oom) return;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if (b->p && (size_t)k < room) { b->n += (size_t)k; return; }
        {
            size_t nc = (b->cap + (size_t)k + 1) * 2;
            char *np = (char *)convrnn_malloc(NULL, nc);
            if (!np) { b->oom = 1; return; }
            if (b->p) memcpy(np, b->p, b->n + 1);
            convrnn_free(NULL, b->p);
            b->p = np; b->cap = nc;
        }
    }
}

static const char *convrnn__init_str(convrnn_init i, char *buf, size_t n) {
    switch (i.kind) {
    case CONVRNN_INIT_ZERO: snprintf(buf, n, "zero"); break;
    case CONVRNN_INIT_CONST: snprintf(buf, n, "const:%.17g", i.a); break;
    case CONVRNN_INIT_NORMAL: snprintf(buf, n, "normal:%.17g", i.a); break;
    case CONVRNN_INIT_UNIFORM: snprintf(buf, n, "uniform:%.17g:%.17g", i.a, i.b); break;
    case CONVRNN_INIT_VARSCALE: snprintf(buf, n, "varscale:%.17g", i.a); break;
    default: snprintf(buf, n, "glorot"); break;
    }
    return buf;
}
static const char *convrnn__op_names[] = { "conv", "fc", "maxpool", "act", "gap", "resadd" };
static const char *convrnn__fb_names[] = { "input", "cell", "out" };
static const char *convrnn__dec_names[] = { "last", "max_conf", "thresh", "time_max", "w_avg", "w_avg_t",
                                            "w_time_avg", "sum", "avg", "random", "mlp", "conv1d",
                                            "simple_linear", "simple_soft", "simple" };

CONVRNNDEF const char *convrnn_decoder_name(convrnn_decoder_type d) {
    return (unsigned)d < CONVRNN_DEC_TYPE_COUNT ? convrnn__dec_names[d] : "?";
}
CONVRNNDEF int convrnn_decoder_parse(const char *name, convrnn_decoder_type *out) {
    int i;
    for (i = 0; name && i < CONVRNN_DEC_TYPE_COUNT; i++)
        if (!strcmp(name, convrnn__dec_names[i])) { *out = (convrnn_decoder_type)i; return 1; }
    return 0;
}

static void convrnn__write_op(convrnn__sb *b, const char *where, const convrnn_op_spec *o) {
    char i1[64], i2[64];
    convrnn__sb_printf(b, "  %s %s", where, convrnn__op_names[o->kind]);
    switch (o->kind) {
    case CONVRNN_OP_CONV:
        convrnn__sb_printf(b, " k=%d s=%d out=%d pad=%s act=%s bias=%d scope=%s w=%s wd=%.17g init=%s binit=%s",
            o->k, o->stride, o->out, o->pad == CONVRNN_SAME ? "same" : "valid", convrnn_act_name(o->act), o->bias,
            o->scope, o->wname, o->wd, convrnn__init_str(o->winit, i1, sizeof i1), convrnn__init_str(o->binit, i2, sizeof i2));
        break;
    case CONVRNN_OP_FC:
        convrnn__sb_printf(b, " out=%d act=%s bias=%d scope=%s w=%s wd=%.17g init=%s binit=%s", o->out,
            convrnn_act_name(o->act), o->bias, o->scope, o->wname, o->wd, convrnn__init_str(o->winit, i1, sizeof i1),
            convrnn__init_str(o->binit, i2, sizeof i2));
        break;
    case CONVRNN_OP_MAXPOOL:
        convrnn__sb_printf(b, " k=%d s=%d pad=%s", o->k, o->stride, o->pad == CONVRNN_SAME ? "same" : "valid");
        break;
    case CONVRNN_OP_ACT: convrnn__sb_printf(b, " act=%s", convrnn_act_name(o->act)); break;
    case CONVRNN_OP_RESADD:
        convrnn__sb_printf(b, " scope=%s w=%s wd=%.17g init=%s", o->scope, o->wname, o->wd, convrnn__init_str(o->winit, i1, sizeof i1));
        break;
    default: break;
    }
    convrnn__sb_printf(b, "\n");
}

static void convrnn__write_cell(convrnn__sb *b, const convrnn_cell_config *c) {
    char i1[64], i2[64];
    convrnn__sb_printf(b, "  cell %s", convrnn_cell_type_name(c->type));
    if (c->type == CONVRNN_CELL_IDENTITY) { convrnn__sb_printf(b, "\n"); return; }
    convrnn__sb_printf(b, " out=%d k=%d forget_bias=%.17g layer_norm=%d peepholes=%d wd=%.17g init=%s binit=%s",
        c->out_depth, c->k, c->forget_bias, c->layer_norm, c->peepholes, c->weight_decay,
        convrnn__init_str(c->kernel_init, i1, sizeof i1), convrnn__init_str(c->bias_init, i2, sizeof i2));
    if (c->type == CONVRNN_CELL_RGC) {
        const convrnn_rgc_config *g = &c->rgc;
        convrnn__sb_printf(b, " flavor=%s cell_depth=%d tau_k=%d gate_k=%d ff_k=%d in_out_k=%d fb_k=%d tau_ds=%d gate_ds=%d"
            " ff_ds=%d in_out_ds=%d fb_ds=%d input_to_cell=%d input_to_out=%d cell_to_out=%d cell_residual=%d"
            " out_residual=%d residual_to_cell_tau=%d residual_to_cell_gate=%d residual_to_out_tau=%d"
            " residual_to_out_gate=%d input_to_tau=%d input_to_gate=%d",
            g->flavor == CONVRNN_RGC_MEDIAN ? "median" : "shallow", g->cell_depth, g->tau_k, g->gate_k, g->ff_k,
            g->in_out_k, g->fb_k, g->tau_ds, g->gate_ds, g->ff_ds, g->in_out_ds, g->fb_ds, g->input_to_cell,
            g->input_to_out, g->cell_to_out, g->cell_residual, g->out_residual, g->residual_to_cell_tau,
            g->residual_to_cell_gate, g->residual_to_out_tau, g->residual_to_out_gate, g->input_to_tau, g->input_to_gate);
        convrnn__sb_printf(b, " tau_nl=%s gate_nl=%s tau_offset=%.17g tau_mult=%.17g gate_offset=%.17g gate_mult=%.17g"
            " tau_bias=%.17g gate_bias=%.17g input_act=%s cell_act=%s out_act=%s fb_act=%s rgc_layer_norm=%d"
            " fb_entry=%s rgc_init=%s",
            convrnn_act_name(g->tau_nl), convrnn_act_name(g->gate_nl), g->tau_offset, g->tau_mult, g->gate_offset,
            g->gate_mult, g->tau_bias, g->gate_bias, convrnn_act_name(g->input_act), convrnn_act_name(g->cell_act),
            convrnn_act_name(g->out_act), convrnn_act_name(g->fb_act), g->layer_norm,
            convrnn__fb_names[(unsigned)g->fb_entry <= 2 ? g->fb_entry : 0], convrnn__init_str(g->kernel_init, i1, sizeof i1));
    }
    convrnn__sb_printf(b, "\n");
}

CONVRNNDEF convrnn_status convrnn_graph_to_text(const convrnn_graph_spec *g, char **text, convrnn_error *err) {
    convrnn__sb b;
    int i, j;
    if (!g || !text) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_to_text: NULL argument");
    memset(&b, 0, sizeof b);
    convrnn__sb_printf(&b, "convrnn-graph 1\nname %s\ninput %d %d %d\nclasses %d\nsteps %d %d\n", g->name[0] ? g->name : "unnamed",
        g->in_h, g->in_w, g->in_c, g->n_classes, g->T, g->image_off);
    for (i = 0; i < g->n_nodes; i++) {
        const convrnn_node_spec *n = &g->nodes[i];
        convrnn__sb_printf(&b, "node %s", n->name);
        if (n->ff[0]) convrnn__sb_printf(&b, " ff=%s", n->ff);
        convrnn__sb_printf(&b, "\n");
        for (j = 0; j < n->n_pre; j++) convrnn__write_op(&b, "pre", &n->pre[j]);
        convrnn__write_cell(&b, &n->cell);
        for (j = 0; j < n->n_post; j++) convrnn__write_op(&b, "post", &n->post[j]);
    }
    for (i = 0; i < g->n_edges; i++) {
        if (g->edge_src[i] < 0 || g->edge_src[i] >= g->n_nodes || g->edge_dst[i] < 0 || g->edge_dst[i] >= g->n_nodes) {
            convrnn_free(NULL, b.p);
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_to_text: edge %d refers to a missing node", i);
        }
        convrnn__sb_printf(&b, "edge %s %s\n", g->nodes[g->edge_src[i]].name, g->nodes[g->edge_dst[i]].name);
    }
    convrnn__sb_printf(&b, "decoder %s start=%d end=%d threshold=%.17g trainable=%d hidden=%d\n",
        convrnn_decoder_name(g->decoder.type), g->decoder.start, g->decoder.end, g->decoder.threshold,
        g->decoder.trainable, g->decoder.mlp_hidden);
    if (b.oom) { convrnn_free(NULL, b.p); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "graph_to_text: out of memory"); }
    *text = b.p;
    return CONVRNN_OK;
}

CONVRNNDEF int convrnn_graph_equal(const convrnn_graph_spec *a, const convrnn_graph_spec *b) {
    char *ta = NULL, *tb = NULL;
    int eq;
    if (convrnn_graph_to_text(a, &ta, NULL) || convrnn_graph_to_text(b, &tb, NULL)) { convrnn_free(NULL, ta); convrnn_free(NULL, tb); return 0; }
    eq = !strcmp(ta, tb);
    convrnn_free(NULL, ta);
    convrnn_free(NULL, tb);
    return eq;
}

/* ---- parser */
typedef struct convrnn__lp { convrnn_error *err; int line; const char *key; } convrnn__lp;

static int convrnn__perr(convrnn__lp *p, const char *fmt, const char *a, const char *b) {
    char what[200];
    snprintf(what, sizeof what, fmt, a ? a : "", b ? b : "");
    convrnn_error_set(p->err, CONVRNN_ERR_FORMAT, "graph text line %d: %s", p->line, what);
    return 0;
}
static int convrnn__pint(convrnn__lp *p, const char *v, int lo, int hi, int *out) {
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        char rng[64];
        snprintf(rng, sizeof rng, "[%d, %d]", lo, hi);
        return convrnn__perr(p, "value '%.40s' must be an integer in %s", v, rng);
    }
    *out = (int)x;
    return 1;
}
static int convrnn__pdbl(convrnn__lp *p, const char *v, double *out) {
    char *end;
    double x;
    x = strtod(v, &end);
    if (!*v || *end || !(x - x == 0)) return convrnn__perr(p, "value '%.40s' is not a finite number%s", v, "");
    *out = x;
    return 1;
}
static int convrnn__pact(convrnn__lp *p, const char *v, convrnn_act *out) {
    if (!convrnn_act_parse(v, out)) return convrnn__perr(p, "unknown activation '%.40s'%s", v, "");
    return 1;
}
static int convrnn__pinit(convrnn__lp *p, const char *v, convrnn_init *out) {
    memset(out, 0, sizeof *out);
    if (!strcmp(v, "zero")) { out->kind = CONVRNN_INIT_ZERO; return 1; }
    if (!strcmp(v, "glorot")) { out->kind = CONVRNN_INIT_GLOROT_UNIFORM; return 1; }
    if (!strncmp(v, "const:", 6)) { out->kind = CONVRNN_INIT_CONST; return convrnn__pdbl(p, v + 6, &out->a); }
    if (!strncmp(v, "normal:", 7)) { out->kind = CONVRNN_INIT_NORMAL; return convrnn__pdbl(p, v + 7, &out->a); }
    if (!strncmp(v, "varscale:", 9)) { out->kind = CONVRNN_INIT_VARSCALE; return convrnn__pdbl(p, v + 9, &out->a); }
    if (!strncmp(v, "uniform:", 8)) {   /* A and B each pass the same finite-number check */
        const char *colon = strchr(v + 8, ':');
        char a[64];
        out->kind = CONVRNN_INIT_UNIFORM;
        if (!colon || colon == v + 8 || (size_t)(colon - (v + 8)) >= sizeof a)
            return convrnn__perr(p, "initializer '%.40s': expected uniform:A:B%s", v, "");
        memcpy(a, v + 8, (size_t)(colon - (v + 8)));
        a[colon - (v + 8)] = 0;
        return convrnn__pdbl(p, a, &out->a) && convrnn__pdbl(p, colon + 1, &out->b);
    }
    return convrnn__perr(p, "unknown initializer '%.40s'%s", v, "");
}
static int convrnn__pname(convrnn__lp *p, const char *v, char *dst, size_t n) {
    size_t i, len = strlen(v);
    if (len == 0 || len >= n) return convrnn__perr(p, "name '%.40s' is empty or too long%s", v, "");
    for (i = 0; i < len; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return convrnn__perr(p, "name '%.40s' has a character outside [A-Za-z0-9_.-]%s", v, "");
    }
    memcpy(dst, v, len + 1);
    return 1;
}

static int convrnn__pop(convrnn__lp *p, char **tok, int nt, convrnn_op_spec *o) {
    int i;
    convrnn_op_kind kind = CONVRNN_OP_KIND_COUNT;
    for (i = 0; i < CONVRNN_OP_KIND_COUNT; i++) if (!strcmp(tok[1], convrnn__op_names[i])) kind = (convrnn_op_kind)i;
    if (kind == CONVRNN_OP_KIND_COUNT) return convrnn__perr(p, "unknown op '%.40s'%s", tok[1], "");
    *o = convrnn__op(kind, "", "");
    if (kind == CONVRNN_OP_MAXPOOL) { o->k = 2; o->stride = 2; }
    if (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC) o->bias = 1;
    if (kind == CONVRNN_OP_RESADD) snprintf(o->wname, sizeof o->wname, "residual_add_weights");
    for (i = 2; i < nt; i++) {
        char *k = tok[i], *v = strchr(k, '=');
        int ok = 1;
        if (!v) return convrnn__perr(p, "expected key=value, got '%.40s'%s", k, "");
        *v++ = 0;
        if (!strcmp(k, "k") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_MAXPOOL)) ok = convrnn__pint(p, v, 1, 64, &o->k);
        else if (!strcmp(k, "s") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_MAXPOOL)) ok = convrnn__pint(p, v, 1, 64, &o->stride);
        else if (!strcmp(k, "out") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC)) ok = convrnn__pint(p, v, 1, 1 << 16, &o->out);
        else if (!strcmp(k, "pad") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_MAXPOOL)) {
            if (!strcmp(v, "same")) o->pad = CONVRNN_SAME;
            else if (!strcmp(v, "valid")) o->pad = CONVRNN_VALID;
            else return convrnn__perr(p, "padding must be same or valid, got '%.40s'%s", v, "");
        } else if (!strcmp(k, "act") && kind != CONVRNN_OP_MAXPOOL && kind != CONVRNN_OP_GAP && kind != CONVRNN_OP_RESADD) ok = convrnn__pact(p, v, &o->act);
        else if (!strcmp(k, "bias") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC)) ok = convrnn__pint(p, v, 0, 1, &o->bias);
        else if (!strcmp(k, "scope") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pname(p, v, o->scope, sizeof o->scope);
        else if (!strcmp(k, "w") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pname(p, v, o->wname, sizeof o->wname);
        else if (!strcmp(k, "wd") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pdbl(p, v, &o->wd);
        else if (!strcmp(k, "init") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC || kind == CONVRNN_OP_RESADD)) ok = convrnn__pinit(p, v, &o->winit);
        else if (!strcmp(k, "binit") && (kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC)) ok = convrnn__pinit(p, v, &o->binit);
        else return convrnn__perr(p, "unknown key '%.40s' for op %s", k, convrnn__op_names[kind]);
        if (!ok) return 0;
    }
    if ((kind == CONVRNN_OP_CONV || kind == CONVRNN_OP_FC) && (!o->out || !o->scope[0] || !o->wname[0]))
        return convrnn__perr(p, "op %s needs out=, scope= and w=%s", convrnn__op_names[kind], "");
    if (kind == CONVRNN_OP_RESADD && !o->scope[0]) return convrnn__perr(p, "resadd needs scope=%s%s", "", "");
    return 1;
}

static int convrnn__pcell(convrnn__lp *p, char **tok, int nt, convrnn_cell_config *c) {
    convrnn_cell_type type;
    convrnn_rgc_config *g;
    int i;
    if (nt < 2 || !convrnn_cell_type_parse(tok[1], &type)) return convrnn__perr(p, "unknown cell type '%.40s'%s", nt > 1 ? tok[1] : "", "");
    *c = convrnn_cell_config_default(type, 0);
    g = &c->rgc;
    for (i = 2; i < nt; i++) {
        char *k = tok[i], *v = strchr(k, '=');
        int ok = 1;
        if (!v) return convrnn__perr(p, "expected key=value, got '%.40s'%s", k, "");
        *v++ = 0;
        if (type == CONVRNN_CELL_IDENTITY) return convrnn__perr(p, "cell identity takes no keys (got '%.40s')%s", k, "");
#define CONVRNN__I(name, dst, lo, hi) else if (!strcmp(k, name)) ok = convrnn__pint(p, v, lo, hi, &(dst))
#define CONVRNN__D(name, dst) else if (!strcmp(k, name)) ok = convrnn__pdbl(p, v, &(dst))
#define CONVRNN__A(name, dst) else if (!strcmp(k, name)) ok = convrnn__pact(p, v, &(dst))
        if (0) {}
        CONVRNN__I("out", c->out_depth, 0, 1 << 16); /* 0: a cell that keeps its input depth (identity, timedecay) */
        CONVRNN__I("k", c->k, 1, 64);
        CONVRNN__D("forget_bias", c->forget_bias);
        CONVRNN__I("layer_norm", c->layer_norm, 0, 1);
        CONVRNN__I("peepholes", c->peepholes, 0, 1);
        CONVRNN__D("wd", c->weight_decay);
        else if (!strcmp(k, "init")) ok = convrnn__pinit(p, v, &c->kernel_init);
        else if (!strcmp(k, "binit")) ok = convrnn__pinit(p, v, &c->bias_init);
        else if (type != CONVRNN_CELL_RGC) return convrnn__perr(p, "unknown key '%.40s' for cell %s", k, tok[1]);
        else if (!strcmp(k, "flavor")) {
            if (!strcmp(v, "shallow")) g->flavor = CONVRNN_RGC_SHALLOW;
            else if (!strcmp(v, "median")) g->flavor = CONVRNN_RGC_MEDIAN;
            else return convrnn__perr(p, "flavor must be shallow or median, got '%.40s'%s", v, "");
        } else if (!strcmp(k, "fb_entry")) {
            if (!strcmp(v, "input")) g->fb_entry = CONVRNN_FB_INPUT;
            else if (!strcmp(v, "cell")) g->fb_entry = CONVRNN_FB_CELL;
            else if (!strcmp(v, "out")) g->fb_entry = CONVRNN_FB_OUT;
            else return convrnn__perr(p, "fb_entry must be input, cell or out, got '%.40s'%s", v, "");
        }
        CONVRNN__I("cell_depth", g->cell_depth, -1, 1 << 16);
        CONVRNN__I("tau_k", g->tau_k, 0, 64);
        CONVRNN__I("gate_k", g->gate_k, 0, 64);
        CONVRNN__I("ff_k", g->ff_k, 0, 64);
        CONVRNN__I("in_out_k", g->in_out_k, 0, 64);
        CONVRNN__I("fb_k", g->fb_k, 0, 64);
        CONVRNN__I("tau_ds", g->tau_ds, 0, 1);
        CONVRNN__I("gate_ds", g->gate_ds, 0, 1);
        CONVRNN__I("ff_ds", g->ff_ds, 0, 1);
        CONVRNN__I("in_out_ds", g->in_out_ds, 0, 1);
        CONVRNN__I("fb_ds", g->fb_ds, 0, 1);
        CONVRNN__I("input_to_cell", g->input_to_cell, 0, 1);
        CONVRNN__I("input_to_out", g->input_to_out, 0, 1);
        CONVRNN__I("cell_to_out", g->cell_to_out, 0, 1);
        CONVRNN__I("cell_residual", g->cell_residual, 0, 1);
        CONVRNN__I("out_residual", g->out_residual, 0, 1);
        CONVRNN__I("residual_to_cell_tau", g->residual_to_cell_tau, 0, 1);
        CONVRNN__I("residual_to_cell_gate", g->residual_to_cell_gate, 0, 1);
        CONVRNN__I("residual_to_out_tau", g->residual_to_out_tau, 0, 1);
        CONVRNN__I("residual_to_out_gate", g->residual_to_out_gate, 0, 1);
        CONVRNN__I("input_to_tau", g->input_to_tau, 0, 1);
        CONVRNN__I("input_to_gate", g->input_to_gate, 0, 1);
        CONVRNN__I("rgc_layer_norm", g->layer_norm, 0, 1);
        CONVRNN__A("tau_nl", g->tau_nl);
        CONVRNN__A("gate_nl", g->gate_nl);
        CONVRNN__A("input_act", g->input_act);
        CONVRNN__A("cell_act", g->cell_act);
        CONVRNN__A("out_act", g->out_act);
        CONVRNN__A("fb_act", g->fb_act);
        CONVRNN__D("tau_offset", g->tau_offset);
        CONVRNN__D("tau_mult", g->tau_mult);
        CONVRNN__D("gate_offset", g->gate_offset);
        CONVRNN__D("gate_mult", g->gate_mult);
        CONVRNN__D("tau_bias", g->tau_bias);
        CONVRNN__D("gate_bias", g->gate_bias);
        else if (!strcmp(k, "rgc_init")) ok = convrnn__pinit(p, v, &g->kernel_init);
        else return convrnn__perr(p, "unknown key '%.40s' for cell %s", k, tok[1]);
#undef CONVRNN__I
#undef CONVRNN__D
#undef CONVRNN__A
        if (!ok) return 0;
    }
    if (type != CONVRNN_CELL_IDENTITY && type != CONVRNN_CELL_TIMEDECAY && c->out_depth <= 0)
        return convrnn__perr(p, "cell %s needs out=%s", tok[1], "");
    return 1;
}

static int convrnn__find_node(const convrnn_graph_spec *g, const char *name) {
    int i;
    for (i = 0; i < g->n_nodes; i++) if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

#define CONVRNN__MAX_TOK 96
CONVRNNDEF convrnn_status convrnn_graph_parse(const char *text, size_t len, convrnn_graph_spec *g, convrnn_error *err) {
    convrnn__lp p;
    char line[4096], *tok[CONVRNN__MAX_TOK], pend_src[CONVRNN_MAX_EDGES][CONVRNN_NODE_NAME], pend_dst[CONVRNN_MAX_EDGES][CONVRNN_NODE_NAME];
    int pend_line[CONVRNN_MAX_EDGES];
    size_t pos = 0;
    int have_header = 0, i, cur = -1, seen_cell = 0;
    if (!text || !g) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_parse: NULL argument");
    memset(g, 0, sizeof *g);
    g->decoder.start = -1; g->decoder.threshold = 0.9; g->decoder.mlp_hidden = 250;
    g->n_classes = 0;
    p.err = err; p.line = 0; p.key = NULL;
    while (pos < len) {
        size_t e = pos, n;
        int nt = 0;
        char *s;
        while (e < len && text[e] != '\n') e++;
        n = e - pos;
        p.line++;
        if (n >= sizeof line) { convrnn__perr(&p, "line longer than 4095 characters%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos = e + 1;
        for (i = 0; i < (int)n; i++) {
            if (line[i] == '#') { line[i] = 0; break; }
            if (line[i] == 0 || ((unsigned char)line[i] < 32 && line[i] != '\t' && line[i] != '\r')) {
                convrnn__perr(&p, "control character in the text%s%s", "", "");
                return CONVRNN_ERR_FORMAT;
            }
        }
        s = line;
        for (;;) {
            while (*s == ' ' || *s == '\t' || *s == '\r') *s++ = 0;
            if (!*s) break;
            if (nt == CONVRNN__MAX_TOK) { convrnn__perr(&p, "too many words on one line%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            tok[nt++] = s;
            while (*s && *s != ' ' && *s != '\t' && *s != '\r') s++;
        }
        if (!nt) continue;
        if (!have_header) {
            if (nt != 2 || strcmp(tok[0], "convrnn-graph") || strcmp(tok[1], "1")) {
                convrnn__perr(&p, "the first statement must be 'convrnn-graph 1'%s%s", "", "");
                return CONVRNN_ERR_FORMAT;
            }
            have_header = 1;
            continue;
        }
        if (!strcmp(tok[0], "name") && nt == 2) {
            if (!convrnn__pname(&p, tok[1], g->name, sizeof g->name)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "input") && nt == 4) {
            if (!convrnn__pint(&p, tok[1], 1, 1 << 15, &g->in_h) || !convrnn__pint(&p, tok[2], 1, 1 << 15, &g->in_w) ||
                !convrnn__pint(&p, tok[3], 1, 1 << 12, &g->in_c)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "classes") && nt == 2) {
            if (!convrnn__pint(&p, tok[1], 1, 1 << 20, &g->n_classes)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "steps") && nt == 3) {
            if (!convrnn__pint(&p, tok[1], 1, 100000, &g->T) || !convrnn__pint(&p, tok[2], 0, 100000, &g->image_off)) return CONVRNN_ERR_FORMAT;
        } else if (!strcmp(tok[0], "node") && (nt == 2 || nt == 3)) {
            convrnn_node_spec *nd;
            if (g->n_nodes == CONVRNN_MAX_NODES) { convrnn__perr(&p, "more than %s nodes%s", "32", ""); return CONVRNN_ERR_FORMAT; }
            nd = &g->nodes[g->n_nodes];
            memset(nd, 0, sizeof *nd);
            nd->cell = convrnn_cell_config_default(CONVRNN_CELL_IDENTITY, 0);
            if (!convrnn__pname(&p, tok[1], nd->name, sizeof nd->name)) return CONVRNN_ERR_FORMAT;
            if (convrnn__find_node(g, nd->name) >= 0) { convrnn__perr(&p, "duplicate node '%.40s'%s", nd->name, ""); return CONVRNN_ERR_FORMAT; }
            if (nt == 3) {
                if (strncmp(tok[2], "ff=", 3)) { convrnn__perr(&p, "expected ff=NODE, got '%.40s'%s", tok[2], ""); return CONVRNN_ERR_FORMAT; }
                if (!convrnn__pname(&p, tok[2] + 3, nd->ff, sizeof nd->ff)) return CONVRNN_ERR_FORMAT;
            }
            cur = g->n_nodes++;
            seen_cell = 0;
        } else if ((!strcmp(tok[0], "pre") || !strcmp(tok[0], "post")) && nt >= 2) {
            convrnn_node_spec *nd;
            int post = tok[0][1] == 'o';
            if (cur < 0) { convrnn__perr(&p, "'%s' outside a node%s", tok[0], ""); return CONVRNN_ERR_FORMAT; }
            nd = &g->nodes[cur];
            if ((post ? nd->n_post : nd->n_pre) == CONVRNN_MAX_NODE_OPS) { convrnn__perr(&p, "more than 6 %s ops in one node%s", tok[0], ""); return CONVRNN_ERR_FORMAT; }
            if (!post && seen_cell) { convrnn__perr(&p, "'pre' after the node's cell%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (!convrnn__pop(&p, tok, nt, post ? &nd->post[nd->n_post] : &nd->pre[nd->n_pre])) return CONVRNN_ERR_FORMAT;
            if (post) nd->n_post++; else nd->n_pre++;
        } else if (!strcmp(tok[0], "cell") && nt >= 2) {
            if (cur < 0) { convrnn__perr(&p, "'cell' outside a node%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (seen_cell) { convrnn__perr(&p, "a node has one cell%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (g->nodes[cur].n_post) { convrnn__perr(&p, "'cell' after post ops%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
            if (!convrnn__pcell(&p, tok, nt, &g->nodes[cur].cell)) return CONVRNN_ERR_FORMAT;
            seen_cell = 1;
        } else if (!strcmp(tok[0], "edge") && nt == 3) {
            if (g->n_edges == CONVRNN_MAX_EDGES) { convrnn__perr(&p, "more than %s edges%s", "64", ""); return CONVRNN_ERR_FORMAT; }
            if (!convrnn__pname(&p, tok[1], pend_src[g->n_edges], CONVRNN_NODE_NAME) ||
                !convrnn__pname(&p, tok[2], pend_dst[g->n_edges], CONVRNN_NODE_NAME)) return CONVRNN_ERR_FORMAT;
            pend_line[g->n_edges] = p.line;
            g->n_edges++;
        } else if (!strcmp(tok[0], "decoder") && nt >= 2) {
            if (!convrnn_decoder_parse(tok[1], &g->decoder.type)) { convrnn__perr(&p, "unknown decoder '%.40s'%s", tok[1], ""); return CONVRNN_ERR_FORMAT; }
            for (i = 2; i < nt; i++) {
                char *k = tok[i], *v = strchr(k, '=');
                int ok;
                if (!v) { convrnn__perr(&p, "expected key=value, got '%.40s'%s", k, ""); return CONVRNN_ERR_FORMAT; }
                *v++ = 0;
                if (!strcmp(k, "start")) ok = convrnn__pint(&p, v, -1, 100000, &g->decoder.start);
                else if (!strcmp(k, "end")) ok = convrnn__pint(&p, v, 0, 100000, &g->decoder.end);
                else if (!strcmp(k, "threshold")) ok = convrnn__pdbl(&p, v, &g->decoder.threshold);
                else if (!strcmp(k, "trainable")) ok = convrnn__pint(&p, v, 0, 1, &g->decoder.trainable);
                else if (!strcmp(k, "hidden")) ok = convrnn__pint(&p, v, 1, 1 << 16, &g->decoder.mlp_hidden);
                else { convrnn__perr(&p, "unknown key '%.40s' for decoder%s", k, ""); return CONVRNN_ERR_FORMAT; }
                if (!ok) return CONVRNN_ERR_FORMAT;
            }
        } else {
            convrnn__perr(&p, "unknown statement '%.40s' (or wrong number of words)%s", tok[0], "");
            return CONVRNN_ERR_FORMAT;
        }
    }
    if (!have_header) { p.line = 1; convrnn__perr(&p, "empty text: expected 'convrnn-graph 1'%s%s", "", ""); return CONVRNN_ERR_FORMAT; }
    for (i = 0; i < g->n_edges; i++) {
        g->edge_src[i] = convrnn__find_node(g, pend_src[i]);
        g->edge_dst[i] = convrnn__find_node(g, pend_dst[i]);
        if (g->edge_src[i] < 0 || g->edge_dst[i] < 0) {
            p.line = pend_line[i];
            convrnn__perr(&p, "edge names an unknown node ('%.40s' or '%.40s')", pend_src[i], pend_dst[i]);
            return CONVRNN_ERR_FORMAT;
        }
    }
    for (i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].ff[0] && convrnn__find_node(g, g->nodes[i].ff) < 0) {
            convrnn_error_set(err, CONVRNN_ERR_FORMAT, "graph text: node '%s' has unknown ff predecessor '%s'", g->nodes[i].name, g->nodes[i].ff);
            return CONVRNN_ERR_FORMAT;
        }
    if (!g->n_nodes || !g->in_h || !g->n_classes || !g->T)
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "graph text: needs 'input', 'classes', 'steps' and at least one node");
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_graph_load(const char *name_or_path, convrnn_graph_spec *g, convrnn_error *err) {
    if (!name_or_path) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph_load: NULL name");
    if (convrnn__ends(name_or_path, ".cfg")) {
#ifndef CONVRNN_NO_STDIO
        void *buf = NULL;
        size_t len = 0;
        convrnn_status s = convrnn_read_file(name_or_path, &buf, &len, (size_t)16 << 20, err);
        if (s) return s;
        s = convrnn_graph_parse((const char *)buf, len, g, err);
        convrnn_free(NULL, buf);
        return s;
#else
        return convrnn_error_set(err, CONVRNN_ERR_UNSUPPORTED, "graph_load: built with CONVRNN_NO_STDIO");
#endif
    }
    return convrnn_zoo_spec(name_or_path, g, err);
}

/* ---- models */

static int convrnn__is_rgc(const convrnn_node_spec *n) { return n->cell.type == CONVRNN_CELL_RGC; }

/* Spatial inference along the feedforward chain for an input of h x w. Fills, per node, the harbor
   size, the cell-input size and the output size. */
typedef struct convrnn__sizes { int in_h, in_w, mem_h, mem_w, out_h, out_w; } convrnn__sizes;

static int convrnn__op_size(const convrnn_op_spec *o, int *h, int *w, convrnn_error *err, const char *node) {
    int pb;
    switch (o->kind) {
    case CONVRNN_OP_CONV:
    case CONVRNN_OP_MAXPOOL:
        if (!convrnn_conv_out_size(*h, o->k, o->stride, o->pad, h, &pb) || !convrnn_conv_out_size(*w, o->k, o->stride, o->pad, w, &pb)) {
            convrnn_error_set(err, CONVRNN_ERR_SHAPE, "node %s: %s kernel %d does not fit a %dx%d map (VALID padding)",
                              node, convrnn__op_names[o->kind], o->k, *h, *w);
            return 0;
        }
        return 1;
    case CONVRNN_OP_FC:
    case CONVRNN_OP_GAP: *h = *w = 1; return 1;
    default: return 1;
    }
}

static convrnn_status convrnn__infer_sizes(const convrnn_model *m, int h, int w, convrnn__sizes *sz, convrnn_error *err) {
    const convrnn_graph_spec *g = &m->spec;
    int done[CONVRNN_MAX_NODES], pass, v, j, left = g->n_nodes;
    memset(done, 0, sizeof done);
    for (pass = 0; pass <= g->n_nodes && left; pass++)
        for (v = 0; v < g->n_nodes; v++) {
            const convrnn_node_spec *n = &g->nodes[v];
            int ff = m->rt[v].ff, ch, cw;
            if (done[v] || (ff >= 0 && !done[ff])) continue;
            ch = ff >= 0 ? sz[ff].out_h : h;
            cw = ff >= 0 ? sz[ff].out_w : w;
            sz[v].in_h = ch; sz[v].in_w = cw;
            for (j = 0; j < n->n_pre; j++) if (!convrnn__op_size(&n->pre[j], &ch, &cw, err, n->name)) return CONVRNN_ERR_SHAPE;
            sz[v].mem_h = ch; sz[v].mem_w = cw;
            for (j = 0; j < n->n_post; j++) if (!convrnn__op_size(&n->post[j], &ch, &cw, err, n->name)) return CONVRNN_ERR_SHAPE;
            sz[v].out_h = ch; sz[v].out_w = cw;
            done[v] = 1;
            left--;
        }
    if (left) return convrnn_error_set(err, CONVRNN_ERR_ARG, "graph: the feedforward predecessors (ff=) form a cycle");
    return CONVRNN_OK;
}

/* Output channels of node v given its input channels (-1: unknown); -1 if not yet determined. */
static int convrnn__node_out_c(const convrnn_node_spec *n, int in_c) {
    int c = in_c, j;
    for (j = 0; j < n->n_pre; j++) if (n->pre[j].kind == CONVRNN_OP_CONV || n->pre[j].kind == CONVRNN_OP_FC) c = n->pre[j].out;
    if (n->cell.type != CONVRNN_CELL_IDENTITY && n->cell.type != CONVRNN_CELL_TIMEDECAY) c = n->cell.out_depth;
    for (j = 0; j < n->n_post; j++) if (n->post[j].kind == CONVRNN_OP_CONV || n->post[j].kind == CONVRNN_OP_FC) c = n->post[j].out;
    return c;
}

#define CONVRNN__DEC_WD 1e-4   /* weight decay of the mlp and conv1d decoders' regularised layers (released code) */
static int convrnn__decl_var(convrnn_model *m, const char *node, const char *scope, const char *name, int rank, int d0,
                             int d1, int d2, int d3, convrnn_init init, double wd, int group, int trainable) {
    char full[CONVRNN_NAME_MAX + 64];
    int d[4], i;
    d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
    if (scope && scope[0]) snprintf(full, sizeof full, "tnn_model/%s/%s/%s", node, scope, name);
    else if (node && node[0]) snprintf(full, sizeof full, "tnn_model/%s/%s", node, name);
    else snprintf(full, sizeof full, "tnn_model/%s", name);
    i = convrnn_params_declare(&m->params, full, rank, d, init, wd, trainable);
    if (i >= 0) m->params.info[i].group = group;
    return i;
}
/* a trainable variable tnn_model/[node/][scope/]name */
static int convrnn__decl_param(convrnn_model *m, const char *node, const char *scope, const char *name, int rank,
                               int d0, int d1, int d2, int d3, convrnn_init init, double wd, int group) {
    return convrnn__decl_var(m, node, scope, name, rank, d0, d1, d2, d3, init, wd, group, 1);
}
/* a decoder variable tnn_model/name (group 1), trainable or a constant */
static int convrnn__decl_dec(convrnn_model *m, const char *name, int rank, int d0, int d1, int d2, convrnn_init init,
                             double wd, int trainable) {
    return convrnn__decl_var(m, "", "", name, rank, d0, d1, d2, 1, init, wd, 1, trainable);
}

static int convrnn__window(const convrnn_model *m, int T, int *s, int *e) {
    *s = m->spec.decoder.start < 0 ? m->spec.n_nodes : m->spec.decoder.start;
    *e = m->spec.decoder.end <= 0 ? T : m->spec.decoder.end;
    if (*e > T) *e = T;
    return *s < *e;
}

/* Declare the variables of one pre/post op and advance the running shape (c, h, w). */
static void convrnn__declare_op(convrnn_model *m, const convrnn_node_spec *n, const convrnn_op_spec *o, int *pw, int *pb,
                                int *c, int *h, int *w, int rc, int rh, int rw, size_t *prepool) {
    *pw = *pb = -1;
    if (o->kind == CONVRNN_OP_CONV) {
        *pw = convrnn__decl_param(m, n->name, o->scope, o->wname, 4, o->k, o->k, *c, o->out, o->winit, o->wd, 0);
        if (o->bias) *pb = convrnn__decl_param(m, n->name, o->scope, "bias", 1, o->out, 1, 1, 1, o->binit, 0, 0);
        *c = o->out;
    } else if (o->kind == CONVRNN_OP_FC) {
        /* the parser bounds each size, not their product (reported through params.err, which the
           caller checks after the node's ops) */
        if ((double)*h * *w * *c > (double)INT_MAX) {
            if (!m->params.err.status)
                convrnn_error_set(&m->params.err, CONVRNN_ERR_OVERFLOW, "node %s: a dense layer on %dx%dx%d inputs (more than 2^31 values)",
                                  n->name, *h, *w, *c);
            return;
        }
        *pw = convrnn__decl_param(m, n->name, o->scope, o->wname, 2, *h * *w * *c, o->out, 1, 1, o->winit, o->wd, 0);
        if (o->bias) *pb = convrnn__decl_param(m, n->name, o->scope, "bias", 1, o->out, 1, 1, 1, o->binit, 0, 0);
        *c = o->out;
    } else if (o->kind == CONVRNN_OP_RESADD) {
        if (rc != *c || rh != *h || rw != *w)
            *pw = convrnn__decl_param(m, n->name, o->scope, o->wname, 4, 1, 1, rc, *c, o->winit, o->wd, 0);
    } else if (o->kind == CONVRNN_OP_MAXPOOL && !*prepool) {
        *prepool = (size_t)*h * *w * *c;
    }
    convrnn__op_size(o, h, w, &m->err, n->name);
}

static int convrnn__cmp_pred(const convrnn_graph_spec *g, int a, int b) { return strcmp(g->nodes[a].name, g->nodes[b].name); }

CONVRNNDEF convrnn_status convrnn_model_create(convrnn_model *m, const convrnn_graph_spec *g) {
    convrnn__sizes sz[CONVRNN_MAX_NODES];
    int v, i, j, nin = 0, pass;
    int outc[CONVRNN_MAX_NODES];
    if (!m) return CONVRNN_ERR_ARG;
    memset(m, 0, sizeof *m);
    convrnn_params_init_empty(&m->params);
    if (!g) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "model_create: NULL spec");
    m->spec = *g;
    g = &m->spec;
    if (g->n_nodes < 1 || g->n_nodes > CONVRNN_MAX_NODES) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: %d nodes (1..%d allowed)", g->n_nodes, CONVRNN_MAX_NODES);
    if (g->n_edges < 0 || g->n_edges > CONVRNN_MAX_EDGES) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: %d edges", g->n_edges);
    if (g->in_h <= 0 || g->in_w <= 0 || g->in_c <= 0 || g->n_classes <= 0 || g->T <= 0 || g->image_off < 0)
        return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: input %dx%dx%d, %d classes, T %d, image_off %d must be positive",
                                 g->in_h, g->in_w, g->in_c, g->n_classes, g->T, g->image_off);
    if ((unsigned)g->decoder.type >= CONVRNN_DEC_TYPE_COUNT) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: unknown decoder");
    for (v = 0; v < g->n_nodes; v++) {
        const convrnn_node_spec *n = &g->nodes[v];
        if (!n->name[0] || memchr(n->name, 0, sizeof n->name) == NULL) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node %d has no name", v);
        if (convrnn__find_node(g, n->name) != v) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: duplicate node '%s'", n->name);
        if (n->n_pre < 0 || n->n_pre > CONVRNN_MAX_NODE_OPS || n->n_post < 0 || n->n_post > CONVRNN_MAX_NODE_OPS)
            return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' has too many ops", n->name);
        for (j = 0; j < n->n_pre + n->n_post; j++) {
            const convrnn_op_spec *o = j < n->n_pre ? &n->pre[j] : &n->post[j - n->n_pre];
            if ((unsigned)o->kind >= CONVRNN_OP_KIND_COUNT || (unsigned)o->act >= CONVRNN_ACT_COUNT ||
                ((o->kind == CONVRNN_OP_CONV || o->kind == CONVRNN_OP_FC) && o->out <= 0) ||
                ((o->kind == CONVRNN_OP_CONV || o->kind == CONVRNN_OP_MAXPOOL) && (o->k <= 0 || o->stride <= 0)))
                return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' op %d is invalid", n->name, j);
        }
        m->rt[v].ff = -1;
        if (!n->ff[0]) { nin++; continue; }
        m->rt[v].ff = convrnn__find_node(g, n->ff);
        if (m->rt[v].ff < 0) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' has unknown ff predecessor '%s'", n->name, n->ff);
        if (m->rt[v].ff == v) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: node '%s' is its own ff predecessor", n->name);
    }
    if (nin != 1) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: %d input nodes (nodes without ff=); exactly one is needed", nin);
    /* predecessors in harbor order */
    for (v = 0; v < g->n_nodes; v++) {
        convrnn_node_rt *rt = &m->rt[v];
        int *p = rt->preds, k;
        rt->n_preds = 0;
        if (rt->ff >= 0) p[rt->n_preds++] = rt->ff;
        for (i = 0; i < g->n_edges; i++) {
            if (g->edge_src[i] < 0 || g->edge_src[i] >= g->n_nodes || g->edge_dst[i] < 0 || g->edge_dst[i] >= g->n_nodes)
                return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: edge %d refers to a missing node", i);
            if (g->edge_dst[i] != v) continue;
            for (k = 0; k < rt->n_preds; k++)
                if (p[k] == g->edge_src[i]) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: duplicate edge %s -> %s",
                                                                      g->nodes[g->edge_src[i]].name, g->nodes[v].name);
            p[rt->n_preds++] = g->edge_src[i];
        }
        /* insertion sort by name; RGC nodes keep the ff predecessor first */
        for (i = convrnn__is_rgc(&g->nodes[v]) && rt->ff >= 0 ? 2 : 1; i < rt->n_preds; i++) {
            int x = p[i], y = i, lo = convrnn__is_rgc(&g->nodes[v]) && rt->ff >= 0 ? 1 : 0;
            while (y > lo && convrnn__cmp_pred(g, p[y - 1], x) > 0) { p[y] = p[y - 1]; y--; }
            p[y] = x;
        }
    }
    /* channels: fixed point over the graph (feedback makes it cyclic) */
    for (v = 0; v < g->n_nodes; v++) outc[v] = -1;
    for (pass = 0; pass <= g->n_nodes + 1; pass++)
        for (v = 0; v < g->n_nodes; v++) {
            convrnn_node_rt *rt = &m->rt[v];
            int hc = rt->ff < 0 ? g->in_c : 0, known = 1, ffc, c;
            for (i = 0; i < rt->n_preds; i++) { if (outc[rt->preds[i]] < 0) known = 0; else hc += outc[rt->preds[i]]; }
            ffc = rt->ff < 0 ? g->in_c : outc[rt->ff];
            c = convrnn__node_out_c(&g->nodes[v], convrnn__is_rgc(&g->nodes[v]) ? ffc : (known ? hc : -1));
            if (c > 0) outc[v] = c;
            if (known) {
                rt->harbor_c = hc;
                rt->ff_c = convrnn__is_rgc(&g->nodes[v]) ? ffc : hc;
                rt->fb_c = convrnn__is_rgc(&g->nodes[v]) ? hc - ffc : 0;
            }
        }
    for (v = 0; v < g->n_nodes; v++)
        if (outc[v] <= 0 || m->rt[v].harbor_c <= 0)
            return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "graph: cannot determine the channels of node '%s'", g->nodes[v].name);
    if (convrnn__infer_sizes(m, g->in_h, g->in_w, sz, &m->err)) return m->err.status;
    m->readout = g->n_nodes - 1;
    /* parameters, node by node, in TF names and layouts */
    for (v = 0; v < g->n_nodes; v++) {
        const convrnn_node_spec *n = &g->nodes[v];
        convrnn_node_rt *rt = &m->rt[v];
        int c = rt->ff_c, h = sz[v].in_h, w = sz[v].in_w, rc = rt->ff_c, rh = h, rw = w, cr = 0, cf = 0;
        size_t before = m->params.total, prepool = 0;
        char scope[CONVRNN_NAME_MAX];
        rt->in_h = h; rt->in_w = w;
        for (j = 0; j < n->n_pre; j++)
            convrnn__declare_op(m, n, &n->pre[j], &rt->pre_w[j], &rt->pre_b[j], &c, &h, &w, rc, rh, rw, &prepool);
        rt->mem_h = h; rt->mem_w = w; rt->mem_c = c;
        snprintf(scope, sizeof scope, "tnn_model/%s/", n->name);
        if (convrnn__is_rgc(n)) {
            const convrnn_rgc_config *rg = &n->cell.rgc;
            cr = rg->cell_residual || rg->out_residual || rg->residual_to_cell_tau || rg->residual_to_cell_gate ||
                 rg->residual_to_out_tau || rg->residual_to_out_gate ? rc : 0;
            cf = rt->fb_c;
            if (cr && (rh != h || rw != w))
                return convrnn_error_set(&m->err, CONVRNN_ERR_SHAPE, "node %s: an RGC residual needs the pre-memory ops to keep the %dx%d size", n->name, rh, rw);
        }
        if (convrnn_cell_create(&rt->cell, &n->cell, scope, h, w, c, cr, cf, &m->params)) {
            m->err = m->params.err;
            return m->err.status;
        }
        c = rt->cell.out_c;
        for (j = 0; j < n->n_post; j++)
            convrnn__declare_op(m, n, &n->post[j], &rt->post_w[j], &rt->post_b[j], &c, &h, &w, rc, rh, rw, &prepool);
        if (m->params.err.status) { m->err = m->params.err; return m->err.status; }
        rt->out_h = h; rt->out_w = w; rt->out_c = c;
        if (c != outc[v] || h != sz[v].out_h || w != sz[v].out_w)
            return convrnn_error_set(&m->err, CONVRNN_ERR_SHAPE, "node %s: inconsistent output shape", n->name);
        rt->units = (size_t)h * w * c;
        rt->units_prepool = prepool ? prepool : rt->units;
        rt->params = m->params.total - before; /* refined below from the info table */
    }
    {
        const convrnn_node_rt *ro = &m->rt[m->readout];
        if (ro->out_h != 1 || ro->out_w != 1 || ro->out_c != g->n_classes)
            return convrnn_error_set(&m->err, CONVRNN_ERR_SHAPE, "graph: the readout '%s' gives %dx%dx%d, expected 1x1x%d (classes)",
                                     g->nodes[m->readout].name, ro->out_h, ro->out_w, ro->out_c, g->n_classes);
    }
    /* decoder variables */
    for (i = 0; i < (int)(sizeof m->dec_p / sizeof m->dec_p[0]); i++) m->dec_p[i] = -1;
    {
        const convrnn_decoder_spec *d = &g->decoder;
        const int K = g->n_classes;
        int s, e;
        convrnn_init beta_init = d->trainable ? convrnn_init_make(CONVRNN_INIT_UNIFORM, 0, 1) : convrnn_init_make(CONVRNN_INIT_CONST, 1, 0);
        if (!convrnn__window(m, g->T, &s, &e) && d->type != CONVRNN_DEC_LAST)
            return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "decoder window [%d,%d) is empty for T = %d", s, e, g->T);
        switch (d->type) {
        case CONVRNN_DEC_MAX_CONF: case CONVRNN_DEC_TIME_MAX: case CONVRNN_DEC_W_AVG:
            m->dec_p[0] = convrnn__decl_dec(m, "normalize/softmax_beta", 1, 1, 1, 1, beta_init, 0, d->trainable);
            break;
        case CONVRNN_DEC_THRESH:
            if (d->trainable) {
                m->dec_p[0] = convrnn__decl_dec(m, "normalize/softmax_beta", 1, 1, 1, 1, beta_init, 0, 1);
                m->dec_p[1] = convrnn__decl_dec(m, "decoder_threshold", 1, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, d->threshold, 0), 0, 1);
            }
            break;
        case CONVRNN_DEC_W_AVG_T:
            /* U[0, 1) whether trainable or not, as the released code */
            m->dec_p[0] = convrnn__decl_dec(m, "alpha/weights", 2, e - s, K, 1, convrnn_init_make(CONVRNN_INIT_UNIFORM, 0, 1), 0, d->trainable);
            break;
        case CONVRNN_DEC_SIMPLE_SOFT:   /* the released code's normalize(): a constant 1, never trainable */
            m->dec_p[0] = convrnn__decl_dec(m, "normalize/softmax_beta", 1, 1, 1, 1, convrnn_init_make(CONVRNN_INIT_CONST, 1, 0), 0, 0);
            break;
        case CONVRNN_DEC_W_TIME_AVG:
            m->dec_p[0] = convrnn__decl_dec(m, "probs/softmax_beta", 1, 1, 1, 1, beta_init, 0, d->trainable);
            m->dec_p[1] = convrnn__decl_dec(m, "alpha/softmax_beta", 1, 1, 1, 1, beta_init, 0, d->trainable);
            break;
        case CONVRNN_DEC_MLP: {
            convrnn_init gl = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), z = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
            /* the released code's names; its weight decay (1e-4) on the last layer only */
            if ((double)(e - s) * K > (double)INT_MAX)
                return convrnn_error_set(&m->err, CONVRNN_ERR_OVERFLOW, "mlp decoder: %d steps x %d classes inputs (more than 2^31)", e - s, K);
            m->dec_p[0] = convrnn__decl_dec(m, "mlp_decoder/fc1/weights", 2, (e - s) * K, d->mlp_hidden, 1, gl, 0, 1);
            m->dec_p[1] = convrnn__decl_dec(m, "mlp_decoder/fc1/biases", 1, d->mlp_hidden, 1, 1, z, 0, 1);
            m->dec_p[2] = convrnn__decl_dec(m, "mlp_decoder/fc_final/weights", 2, d->mlp_hidden, K, 1, gl, CONVRNN__DEC_WD, 1);
            m->dec_p[3] = convrnn__decl_dec(m, "mlp_decoder/fc_final/biases", 1, K, 1, 1, z, CONVRNN__DEC_WD, 1);
            break;
        }
        case CONVRNN_DEC_CONV1D: {
            convrnn_init gl = convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), z = convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0);
            char nm[64];
            int wl;
            if (e - s < 6) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "conv1d decoder needs a window of at least 6 steps (have %d)", e - s);
            for (wl = 2; wl <= 6; wl++) {   /* the released code's names and weight decay */
                snprintf(nm, sizeof nm, "conv1_decoder/c_%d/kernel", wl);
                m->dec_p[2 * (wl - 2)] = convrnn__decl_dec(m, nm, 3, wl, K, 4, gl, CONVRNN__DEC_WD, 1);
                snprintf(nm, sizeof nm, "conv1_decoder/c_%d/bias", wl);
                m->dec_p[2 * (wl - 2) + 1] = convrnn__decl_dec(m, nm, 1, 4, 1, 1, z, CONVRNN__DEC_WD, 1);
            }
            break;
        }
        default: break;
        }
        if (d->type == CONVRNN_DEC_CONV1D) {
            m->dec_p[10] = convrnn__decl_dec(m, "conv1_decoder/fc_final/weights", 2, 20, K, 1, convrnn_init_make(CONVRNN_INIT_GLOROT_UNIFORM, 0, 0), CONVRNN__DEC_WD, 1);
            m->dec_p[11] = convrnn__decl_dec(m, "conv1_decoder/fc_final/biases", 1, K, 1, 1, convrnn_init_make(CONVRNN_INIT_ZERO, 0, 0), CONVRNN__DEC_WD, 1);
        }
    }
    if (m->params.err.status || convrnn_params_finalize(&m->params)) { m->err = m->params.err; return m->err.status; }
    /* per-node trainable parameter counts from the info table */
    for (v = 0; v < g->n_nodes; v++) m->rt[v].params = 0;
    for (i = 0; i < m->params.count; i++) {
        const char *nm = m->params.info[i].name + 10; /* after "tnn_model/" */
        for (v = 0; v < g->n_nodes; v++) {
            size_t l = strlen(g->nodes[v].name);
            if (!strncmp(nm, g->nodes[v].name, l) && nm[l] == '/' && m->params.info[i].trainable) m->rt[v].params += m->params.info[i].size;
        }
    }
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_model_free(convrnn_model *m) {
    if (!m) return;
    convrnn_params_free(&m->params);
    memset(m, 0, sizeof *m);
}
CONVRNNDEF convrnn_status convrnn_model_init(convrnn_model *m, uint64_t seed) {
    if (!m->params.finalized) return convrnn_error_set(&m->err, CONVRNN_ERR_ARG, "model_init: model not created");
    return convrnn_params_init(&m->params, seed);
}
CONVRNNDEF size_t convrnn_model_param_count(const convrnn_model *m) { return convrnn_params_count_network(&m->params); }
CONVRNNDEF size_t convrnn_model_unit_count(const convrnn_model *m, size_t *prepool) {
    size_t u = 0, p = 0;
    int v;
    for (v = 0; v < m->spec.n_nodes; v++) { u += m->rt[v].units; p += m->rt[v].units_prepool; }
    if (prepool) *prepool = p;
    return u;
}
CONVRNNDEF convrnn_status convrnn_model_output_shape(const convrnn_model *m, int v, int in_h, int in_w, int *h, int *w,
                                                     int *c, convrnn_error *err) {
    convrnn__sizes sz[CONVRNN_MAX_NODES];
    convrnn_status s;
    if (!m || v < 0 || v >= m->spec.n_nodes || !h || !w || !c) return convrnn_error_set(err, CONVRNN_ERR_ARG, "output_shape: bad argument");
    if (in_h <= 0 || in_w <= 0) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "output_shape: input %dx%d", in_h, in_w);
    if ((s = convrnn__infer_sizes(m, in_h, in_w, sz, err)) != CONVRNN_OK) return s;
    *h = sz[v].out_h; *w = sz[v].out_w; *c = m->rt[v].out_c;
    return CONVRNN_OK;
}
CONVRNNDEF int convrnn_model_node(const convrnn_model *m, const char *name) { return name ? convrnn__find_node(&m->spec, name) : -1; }

/* d[v]: first step whose output depends on the image (shortest delay path from the input) */
static void convrnn__first_steps(const convrnn_model *m, int *d) {
    const int n = m->spec.n_nodes, INF = 1 << 20;
    int v, i, changed;
    for (v = 0; v < n; v++) d[v] = m->rt[v].ff < 0 ? 0 : INF;
    do {
        changed = 0;
        for (v = 0; v < n; v++)
            for (i = 0; i < m->rt[v].n_preds; i++) {
                const int u = m->rt[v].preds[i];
                if (d[u] + 1 < d[v]) { d[v] = d[u] + 1; changed = 1; }
            }
    } while (changed);
}

CONVRNNDEF int convrnn_model_layer_start(const convrnn_model *m, int v, int readme_convention) {
    int d[CONVRNN_MAX_NODES];
    if (!m || v < 0 || v >= m->spec.n_nodes) return -1;
    convrnn__first_steps(m, d);
    return d[v] + (readme_convention ? 1 : 0);
}

CONVRNNDEF int convrnn_model_minimal_T(const convrnn_model *m) {
    const convrnn_graph_spec *g = &m->spec;
    const int n = g->n_nodes, INF = 1 << 20;
    int d[CONVRNN_MAX_NODES], dist[CONVRNN_MAX_NODES], v, i, changed, best = -1, u;
    convrnn__first_steps(m, d);
    /* dist[v]: steps for a change at v's output to reach the readout's output */
    for (v = 0; v < n; v++) dist[v] = v == m->readout ? 0 : INF;
    do {
        changed = 0;
        for (v = 0; v < n; v++)
            for (i = 0; i < m->rt[v].n_preds; i++) {
                u = m->rt[v].preds[i];
                if (dist[v] + 1 < dist[u]) { dist[u] = dist[v] + 1; changed = 1; }
            }
    } while (changed);
    for (v = 0; v < n; v++) {
        /* local recurrence acts first at d[v] + 1 */
        if (g->nodes[v].cell.type != CONVRNN_CELL_IDENTITY && d[v] < INF && dist[v] < INF && d[v] + 1 + dist[v] > best)
            best = d[v] + 1 + dist[v];
        /* a feedback edge u -> v (not v's ff edge) delivers image-driven input at d[u] + 1 */
        for (i = 0; i < m->rt[v].n_preds; i++) {
            u = m->rt[v].preds[i];
            if (u == m->rt[v].ff || d[u] >= INF || dist[v] >= INF) continue;
            if (d[u] + 1 + dist[v] > best) best = d[u] + 1 + dist[v];
        }
    }
    if (best < 0) best = d[m->readout] < INF ? d[m->readout] : 0; /* feedforward: the first pass */
    return best + 1;
}

CONVRNNDEF convrnn_stimulus convrnn_stimulus_make(const convrnn_real *images, int n, int h, int w, int c, int T, int image_off) {
    convrnn_stimulus s;
    memset(&s, 0, sizeof s);
    s.images = images; s.n = n; s.h = h; s.w = w; s.c = c; s.T = T; s.image_off = image_off; s.blank = 0.5;
    return s;
}

CONVRNNDEF convrnn_status convrnn_stimulus_preset(const convrnn_graph_spec *g, const char *name, int *T, int *image_off,
                                                  convrnn_error *err) {
    if (!g || !name || !T || !image_off) return convrnn_error_set(err, CONVRNN_ERR_ARG, "stimulus_preset: NULL argument");
    if (!strcmp(name, "default")) { *T = g->T; *image_off = g->image_off; }
    else if (!strcmp(name, "neural")) { *T = 26; *image_off = 10; }
    else if (!strcmp(name, "constant")) { *T = g->T; *image_off = g->T; }
    else return convrnn_error_set(err, CONVRNN_ERR_ARG, "unknown stimulus preset '%.64s' (default, neural, constant)", name);
    return CONVRNN_OK;
}

#define CONVRNN__MP(i) convrnn_params_tensor(&m->params, (i))

static convrnn_tensor *convrnn__apply_op(convrnn_tape *t, convrnn_model *m, const convrnn_op_spec *o, int wi, int bi,
                                         convrnn_tensor *x, convrnn_tensor *r) {
    convrnn_tensor *W = wi >= 0 ? CONVRNN__MP(wi) : NULL, *B = bi >= 0 ? CONVRNN__MP(bi) : NULL;
    switch (o->kind) {
    case CONVRNN_OP_CONV: return convrnn_conv2d_act(t, x, W, B, o->stride, o->pad, o->act);
    case CONVRNN_OP_FC: return convrnn_activate(t, convrnn_dense(t, x, W, B), o->act);
    case CONVRNN_OP_MAXPOOL: return convrnn_maxpool(t, x, o->k, o->stride, o->pad);
    case CONVRNN_OP_ACT: return convrnn_activate(t, x, o->act);
    case CONVRNN_OP_GAP: return convrnn_global_avgpool(t, x);
    case CONVRNN_OP_RESADD: return convrnn_residual_add(t, x, r, W);
    default: return x;
    }
}

/* last[v]: the last step node v is computed at (NULL: every step) */
static convrnn_status convrnn__unroll(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s, convrnn_tensor **outs,
                                      const int *last) {
    const convrnn_graph_spec *g = m ? &m->spec : NULL;   /* m is checked below */
    const int n = g ? g->n_nodes : 0;
    convrnn__sizes sz[CONVRNN_MAX_NODES];
    convrnn_cell cells[CONVRNN_MAX_NODES];
    convrnn_tensor *st[CONVRNN_MAX_NODES][2], *zero[CONVRNN_MAX_NODES], *img = NULL, *blank = NULL;
    convrnn_error e;
    int step, v, i, j;
    if (!t) return CONVRNN_ERR_ARG;
    if (t->err.status) return t->err.status;
    if (!m || !m->params.finalized) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "unroll: model not created");
    if (!s || !s->images || !outs) return convrnn_error_set(&t->err, CONVRNN_ERR_ARG, "unroll: NULL stimulus, images or output array");
    if (s->n <= 0 || s->h <= 0 || s->w <= 0 || s->T <= 0 || s->image_off < 0)
        return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "unroll: stimulus %d x %dx%d, T %d, image_off %d must be positive",
                                 s->n, s->h, s->w, s->T, s->image_off);
    if (s->c != g->in_c) return convrnn_error_set(&t->err, CONVRNN_ERR_SHAPE, "unroll: stimulus has %d channels, model '%s' takes %d", s->c, g->name, g->in_c);
    if (!(s->blank - s->blank == 0)) return convrnn_error_set(&t->err, CONVRNN_ERR_NOT_FINITE, "unroll: blank value is not finite");
    convrnn_error_clear(&e);
    if (convrnn__infer_sizes(m, s->h, s->w, sz, &e)) return convrnn_error_set(&t->err, e.status, "unroll at %dx%d: %s", s->h, s->w, e.msg);
    for (v = 0; v < n; v++) {
        cells[v] = m->rt[v].cell;
        cells[v].h = sz[v].mem_h;
        cells[v].w = sz[v].mem_w;
        if (cells[v].cfg.type == CONVRNN_CELL_LSTM && cells[v].cfg.peepholes && (sz[v].mem_h != m->rt[v].mem_h || sz[v].mem_w != m->rt[v].mem_w))
            return convrnn_error_set(&t->err, CONVRNN_ERR_UNSUPPORTED, "unroll: node %s has LSTM peepholes of size %dx%d; input %dx%d gives %dx%d",
                                     g->nodes[v].name, m->rt[v].mem_h, m->rt[v].mem_w, s->h, s->w, sz[v].mem_h, sz[v].mem_w);
        st[v][0] = st[v][1] = NULL;
        zero[v] = convrnn_tape_zeros(t, s->n, sz[v].out_h, sz[v].out_w, m->rt[v].out_c, 0);
    }
    if (!s->movie) {
        img = convrnn_tape_input(t, s->n, s->h, s->w, s->c, s->images, 0);
        if (img && !convrnn_check_finite(img->data, img->size)) return convrnn_error_set(&t->err, CONVRNN_ERR_NOT_FINITE, "unroll: the images contain NaN or infinity");
    } else {   /* a movie: frame t at step t */
        int fr;
        for (fr = 0; fr < s->T; fr++)
            if (!convrnn_check_finite(s->images + (size_t)fr * s->n * s->h * s->w * s->c, (size_t)s->n * s->h * s->w * s->c))
                return convrnn_error_set(&t->err, CONVRNN_ERR_NOT_FINITE, "unroll: movie frame %d contains NaN or infinity", fr);
    }
    blank = convrnn_tape_fill(t, s->n, s->h, s->w, s->c, (convrnn_real)s->blank);
    for (step = 0; step < s->T; step++) {
        for (v = 0; v < n; v++) {
            const convrnn_node_spec *nd = &g->nodes[v];
            const convrnn_node_rt *rt = &m->rt[v];
            convrnn_tensor *ins[CONVRNN_MAX_NODES + 1], *x, *r, *f = NULL, *y;
            int ni = 0, th = rt->ff >= 0 ? sz[rt->ff].out_h : s->h, tw = rt->ff >= 0 ? sz[rt->ff].out_w : s->w;
            const int rgc = convrnn__is_rgc(nd);
            if (last && step > last[v]) { outs[(size_t)step * n + v] = NULL; continue; }
            if (rt->ff < 0) {
                convrnn_tensor *frame;
                if (s->movie) {
                    size_t fs = (size_t)s->n * s->h * s->w * s->c;
                    frame = convrnn_tape_input(t, s->n, s->h, s->w, s->c, s->images + (size_t)step * fs, 0);
                } else {
                    frame = step < s->image_off ? img : blank;
                }
                ins[ni++] = frame;
            }
            for (i = 0; i < rt->n_preds; i++) {
                const int p = rt->preds[i];
                ins[ni++] = convrnn_resize_bilinear(t, step ? outs[(size_t)(step - 1) * n + p] : zero[p], th, tw);
            }
            if (rgc) {
                x = ins[0];
                if (ni > 1) f = convrnn_concat(t, ins + 1, ni - 1);
            } else {
                x = convrnn_concat(t, ins, ni);
            }
            r = x;
            for (j = 0; j < nd->n_pre; j++) x = convrnn__apply_op(t, m, &nd->pre[j], rt->pre_w[j], rt->pre_b[j], x, r);
            if (cells[v].cfg.type != CONVRNN_CELL_IDENTITY) {
                convrnn_cell_step(t, &cells[v], &m->params, x, cells[v].cr ? r : NULL, cells[v].cf ? f : NULL, st[v], &y);
                x = y;
            }
            for (j = 0; j < nd->n_post; j++) x = convrnn__apply_op(t, m, &nd->post[j], rt->post_w[j], rt->post_b[j], x, r);
            outs[(size_t)step * n + v] = x;
            if (t->err.status) {
                char msg[sizeof t->err.msg];
                memcpy(msg, t->err.msg, sizeof msg);
                snprintf(t->err.msg, sizeof t->err.msg, "node %s, step %d: %.250s", nd->name, step, msg);
                return t->err.status;
            }
        }
    }
    return CONVRNN_OK;
}
CONVRNNDEF convrnn_status convrnn_model_unroll(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s,
                                               convrnn_tensor **outs) {
    return convrnn__unroll(m, t, s, outs, NULL);
}
CONVRNNDEF convrnn_status convrnn_model_unroll_decoded(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s,
                                                       convrnn_tensor **outs) {
    int last[CONVRNN_MAX_NODES], v, i, ws, we, changed = 1;
    if (!m || !m->params.finalized || !s || s->T <= 0) return convrnn__unroll(m, t, s, outs, NULL);   /* its checks report */
    we = s->T;
    if (m->spec.decoder.type != CONVRNN_DEC_LAST && convrnn__window(m, s->T, &ws, &we) == 0) we = s->T;
    for (v = 0; v < m->spec.n_nodes; v++) last[v] = -1;
    last[m->readout] = we - 1;
    /* node p feeds node v one step later: p is needed up to last[v] - 1 (a fixed point: feedback) */
    while (changed) {
        changed = 0;
        for (v = 0; v < m->spec.n_nodes; v++)
            for (i = 0; i < m->rt[v].n_preds; i++) {
                const int p = m->rt[v].preds[i];
                if (last[v] - 1 > last[p]) { last[p] = last[v] - 1; changed = 1; }
            }
    }
    return convrnn__unroll(m, t, s, outs, last);
}

/* ---- decoders (spec 6). A decoder maps the readout logits of the window W = [s, e) to one logit
   vector. z_t: logits at step t; p_t = softmax(beta z_t).
     last       z_{T-1}                   sum / avg   sum_t z_t / mean_t z_t
     max_conf   z_{t*}, t* = argmax_t max_k p_t[k] (per sample, first on ties; beta gets no gradient)
     thresh     z_{t*}, t* = first t with max_k p_t[k] >= theta, else the argmax
     time_max   out_k = z_{t_k,k}, t_k = argmax_t p_t[k]
     w_avg      out_k = sum_t softmax_t(beta z_{t,k}) z_{t,k}
     w_avg_t    out_k = sum_t w_{t,k} z_{t,k}, w = sig(alpha_{t,k}) / sum_t sig(alpha_{t,k})
     w_time_avg out = sum_t a_t z_t, a = softmax_t(beta2 m_t), m_t = max_k softmax(beta1 z_t)[k];
                the gradient flows through a as well (to z_t, beta1 and beta2); a tie for the max
                shares it equally among the tied classes (as TensorFlow's reduce_max)
     random     training: z_t at a uniformly drawn t in W; evaluation: t = image_off + L - 1 (clipped)
     simple     z_{e-1}, the window's last step (= last when the window ends at T)
     simple_linear  z_{e-1} / sum_k z_{e-1,k}       simple_soft  softmax(beta z_{e-1}), beta a stored
                constant (1): the window's last step, normalised over the classes
     mlp        [z_s..z_{e-1}] -> dense(hidden) -> ELU -> dense(K)
     conv1d     for w = 2..6: 4 filters of a VALID 1-D conv over time, max over time; 20 -> dense(K)
   mlp and conv1d carry the released code's variable names (mlp_decoder/fc1, fc_final;
   conv1_decoder/c_w/kernel, bias, fc_final) and weight decay (1e-4 on conv1d's layers and on the
   last layer of each). */
enum { CONVRNN__DSEL = 0, CONVRNN__DSUM, CONVRNN__DWAVG, CONVRNN__DWAVGT, CONVRNN__DTMAX, CONVRNN__DWTAVG, CONVRNN__DLIN,
       CONVRNN__DSOFT };
typedef struct convrnn__dec {
    int mode, nz, K, N;
    convrnn_tensor **z;
    int *sel;
    double *w, *p;   /* p: K + nz doubles of scratch (softmax rows; w_time_avg's backward: G at p + K) */
    double scale;
    convrnn_tensor *beta, *alpha;
} convrnn__dec;

static void convrnn__softmax_row(const convrnn_real *z, int K, double beta, double *p) {
    double mx = -HUGE_VAL, s = 0;
    int k;
    for (k = 0; k < K; k++) if (beta * z[k] > mx) mx = beta * z[k];
    for (k = 0; k < K; k++) { p[k] = exp(beta * z[k] - mx); s += p[k]; }
    for (k = 0; k < K; k++) p[k] /= s;
}

/* w_time_avg backward (d->beta: beta1, d->alpha: beta2; d->w: a [nz][N]; p: K + nz doubles of scratch). Per sample, with g the
   output gradient, G_i = sum_k g_k z_ik and S_i the classes at the max m_i (|S_i| = c_i):
     ds_i = a_i (G_i - sum_j a_j G_j)           (s_i = beta2 m_i)
     dbeta2 += sum_i ds_i m_i,   dm_i = beta2 ds_i
     dz_ik = a_i g_k + dm_i beta1 m_i ([k in S_i] / c_i - p_ik)
     dbeta1 += sum_i dm_i m_i (mean of z_ik over S_i - sum_k p_ik z_ik)
   */
static void convrnn__dec_wta_bwd(const convrnn__dec *d, const convrnn_real *gy, double *p) {
    const int N = d->N, K = d->K;
    const double b1 = d->beta->data[0], b2 = d->alpha->data[0];
    double db1 = 0, db2 = 0;
    int n, i, k;
    for (n = 0; n < N; n++) {
        const convrnn_real *g = gy + (size_t)n * K;
        double gbar = 0, *G = p + K;
        for (i = 0; i < d->nz; i++) {   /* G_i, and sum_j a_j G_j */
            const convrnn_real *z = d->z[i]->data + (size_t)n * K;
            G[i] = 0;
            for (k = 0; k < K; k++) G[i] += (double)g[k] * z[k];
            gbar += d->w[(size_t)i * N + n] * G[i];
        }
        for (i = 0; i < d->nz; i++) {
            const convrnn_real *z = d->z[i]->data + (size_t)n * K;
            convrnn_real *gz = d->z[i]->grad ? d->z[i]->grad + (size_t)n * K : NULL;
            const double a = d->w[(size_t)i * N + n];
            double m = 0, pz = 0, zs = 0, ds, dm;
            int c = 0;
            convrnn__softmax_row(z, K, b1, p);   /* as the forward: the same m and ties */
            for (k = 0; k < K; k++) if (p[k] > m) m = p[k];
            for (k = 0; k < K; k++) {
                pz += p[k] * z[k];
                if (p[k] == m) { zs += z[k]; c++; }
            }
            ds = a * (G[i] - gbar);
            dm = b2 * ds;
            db2 += ds * m;
            db1 += dm * m * (zs / c - pz);
            if (gz)
                for (k = 0; k < K; k++) gz[k] += (convrnn_real)(a * g[k] + dm * b1 * m * ((p[k] == m ? 1.0 / c : 0.0) - p[k]));
        }
    }
    if (d->beta->grad) d->beta->grad[0] += (convrnn_real)db1;
    if (d->alpha->grad) d->alpha->grad[0] += (convrnn_real)db2;
}

static void convrnn__dec_bwd(convrnn_tape *t, convrnn__node *nd) {
    const convrnn__dec *d = (const convrnn__dec *)nd->aux;
    const convrnn_real *gy = nd->out->grad;
    const int N = d->N, K = d->K;
    int n, k, i;
    (void)t;
    if (d->mode == CONVRNN__DWTAVG) { convrnn__dec_wta_bwd(d, gy, d->p); return; }
    if (d->mode == CONVRNN__DLIN || d->mode == CONVRNN__DSOFT) {
        /* y = z / S (S = sum_k z_k): dz_j = (g_j - sum_k g_k y_k) / S;
           y = softmax(beta z): dz_j = beta y_j (g_j - sum_k g_k y_k) (beta is a constant) */
        convrnn_tensor *z = d->z[d->nz - 1];
        if (!z->grad) return;
        for (n = 0; n < N; n++) {
            const convrnn_real *g = gy + (size_t)n * K, *y = nd->out->data + (size_t)n * K, *zr = z->data + (size_t)n * K;
            double gy_dot = 0, S = 0;
            for (k = 0; k < K; k++) { gy_dot += (double)g[k] * y[k]; S += zr[k]; }
            for (k = 0; k < K; k++)
                z->grad[(size_t)n * K + k] += (convrnn_real)(d->mode == CONVRNN__DLIN ? (g[k] - gy_dot) / S
                                                                                     : d->scale * y[k] * (g[k] - gy_dot));
        }
        return;
    }
    for (n = 0; n < N; n++)
        for (k = 0; k < K; k++) {
            const double g = gy[(size_t)n * K + k];
            const size_t o = (size_t)n * K + k;
            switch (d->mode) {
            case CONVRNN__DSEL: { convrnn_tensor *z = d->z[d->sel[n]]; if (z->grad) z->grad[o] += (convrnn_real)g; break; }
            case CONVRNN__DTMAX: { convrnn_tensor *z = d->z[d->sel[o]]; if (z->grad) z->grad[o] += (convrnn_real)g; break; }
            case CONVRNN__DSUM:
                for (i = 0; i < d->nz; i++) if (d->z[i]->grad) d->z[i]->grad[o] += (convrnn_real)(g * (d->w ? d->w[(size_t)i * N + n] : d->scale));
                break;
            case CONVRNN__DWAVG: {
                /* out = sum_i a_i z_i, a = softmax_i(beta z_i): d/dz_i = a_i (1 + beta (z_i - out)); d/dbeta = sum_i a_i z_i (z_i - out) */
                const double out = nd->out->data[o], beta = d->beta->data[0];
                double db = 0;
                for (i = 0; i < d->nz; i++) {
                    const double a = d->w[((size_t)i * N + n) * K + k], z = d->z[i]->data[o];
                    if (d->z[i]->grad) d->z[i]->grad[o] += (convrnn_real)(g * a * (1 + beta * (z - out)));
                    db += a * z * (z - out);
                }
                if (d->beta->grad) d->beta->grad[0] += (convrnn_real)(g * db);
                break;
            }
            case CONVRNN__DWAVGT: {
                /* w_i = g_i / G, g = sig(alpha_i): d/dz_i = w_i; d/dalpha_i = (z_i - out) w_i (1 - g_i) */
                const double out = nd->out->data[o];
                for (i = 0; i < d->nz; i++) {
                    const double gi = 1.0 / (1.0 + exp(-(double)d->alpha->data[(size_t)i * K + k]));
                    const double wi = d->w[(size_t)i * K + k];
                    if (d->z[i]->grad) d->z[i]->grad[o] += (convrnn_real)(g * wi);
                    if (d->alpha->grad) d->alpha->grad[(size_t)i * K + k] += (convrnn_real)(g * (d->z[i]->data[o] - out) * wi * (1 - gi));
                }
                break;
            }
            }
        }
}

static convrnn_tensor *convrnn__dec_op(convrnn_tape *t, convrnn__dec *d) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int i, g = 0, n, k;
    const int N = d->N, K = d->K;
    for (i = 0; i < d->nz; i++) g |= d->z[i]->grad != NULL;
    if (d->beta && d->beta->grad) g = 1;
    if (d->alpha && d->alpha->grad) g = 1;
    y = CONVRNN__NEW4(t, N, 1, 1, K, g);
    if (!y) return NULL;
    if (d->mode == CONVRNN__DLIN || d->mode == CONVRNN__DSOFT) {
        const convrnn_tensor *z = d->z[d->nz - 1];
        for (n = 0; n < N; n++) {
            const convrnn_real *zr = z->data + (size_t)n * K;
            double S = 0;
            if (d->mode == CONVRNN__DSOFT) convrnn__softmax_row(zr, K, d->scale, d->p);
            else for (k = 0; k < K; k++) S += zr[k];
            for (k = 0; k < K; k++) y->data[(size_t)n * K + k] = (convrnn_real)(d->mode == CONVRNN__DSOFT ? d->p[k] : zr[k] / S);
        }
    } else {
        for (n = 0; n < N; n++)
            for (k = 0; k < K; k++) {
                const size_t o = (size_t)n * K + k;
                double acc = 0;
                switch (d->mode) {
                case CONVRNN__DSEL: acc = d->z[d->sel[n]]->data[o]; break;
                case CONVRNN__DTMAX: acc = d->z[d->sel[o]]->data[o]; break;
                case CONVRNN__DSUM: case CONVRNN__DWTAVG:
                    for (i = 0; i < d->nz; i++) acc += (d->w ? d->w[(size_t)i * N + n] : d->scale) * d->z[i]->data[o];
                    break;
                case CONVRNN__DWAVG: for (i = 0; i < d->nz; i++) acc += d->w[((size_t)i * N + n) * K + k] * d->z[i]->data[o]; break;
                case CONVRNN__DWAVGT: for (i = 0; i < d->nz; i++) acc += d->w[(size_t)i * K + k] * d->z[i]->data[o]; break;
                }
                y->data[o] = (convrnn_real)acc;
            }
    }
    if ((nd = convrnn__record(t, convrnn__dec_bwd, y)) != NULL) {
        nd->aux = d;
        nd->xs = d->z;       /* the backward pass gives these gradient memory before dec_bwd runs */
        nd->nxs = d->nz;
        nd->in[0] = d->beta;
        nd->in[1] = d->alpha;
    }
    return y;
}

/* elementwise maximum of n same-shaped tensors (first on ties); gradient to the winner */
static void convrnn__maxn_bwd(convrnn_tape *t, convrnn__node *nd) {
    const int *win = (const int *)nd->aux;
    size_t i;
    (void)t;
    for (i = 0; i < nd->out->size; i++) {
        convrnn_tensor *x = nd->xs[win[i]];
        if (x->grad) x->grad[i] += nd->out->grad[i];
    }
}
static convrnn_tensor *convrnn__maxn(convrnn_tape *t, convrnn_tensor **xs, int n) {
    convrnn_tensor *y;
    convrnn__node *nd;
    int *win, j, g = 0;
    size_t i;
    if (t->err.status) return NULL;
    if (n < 1) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "maxn: no inputs");
    for (j = 0; j < n; j++) { if (!xs[j] || !convrnn__owned(t, xs[j], "maxn", j)) return NULL; g |= xs[j]->grad != NULL; }
    y = convrnn__new(t, xs[0]->rank, xs[0]->d[0], xs[0]->d[1], xs[0]->d[2], xs[0]->d[3], g);
    win = (int *)convrnn__talloc(t, xs[0]->size * sizeof(int));
    if (!y || !win) return NULL;
    for (i = 0; i < y->size; i++) {
        int b = 0;
        for (j = 1; j < n; j++) if (xs[j]->data[i] > xs[b]->data[i]) b = j;
        win[i] = b;
        y->data[i] = xs[b]->data[i];
    }
    if ((nd = convrnn__record(t, convrnn__maxn_bwd, y)) != NULL) {
        if (!convrnn__record_list(t, nd, xs, n)) return NULL;
        nd->aux = win;
    }
    return y;
}

CONVRNNDEF convrnn_tensor *convrnn_model_decode(convrnn_model *m, convrnn_tape *t, convrnn_tensor **outs, int T,
                                                int image_off, convrnn_rng *rng) {
    const convrnn_decoder_spec *ds = &m->spec.decoder;
    const int L = m->spec.n_nodes, K = m->spec.n_classes;
    convrnn__dec *d;
    int s, e, i, n, N, k;
    double *p;
    if (t->err.status) return NULL;
    if (!outs || T <= 0) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "decode: no outputs");
    if (ds->type == CONVRNN_DEC_LAST) return outs[(size_t)(T - 1) * L + m->readout];
    if (!convrnn__window(m, T, &s, &e))
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "decode: window [%d,%d) is empty for T = %d", s, e, T);
    d = (convrnn__dec *)convrnn__talloc(t, sizeof *d);
    if (!d) return NULL;
    d->nz = e - s; d->K = K;
    d->z = (convrnn_tensor **)convrnn__talloc(t, (size_t)d->nz * sizeof *d->z);
    if (!d->z) return NULL;
    for (i = 0; i < d->nz; i++) {
        d->z[i] = outs[(size_t)(s + i) * L + m->readout];
        if (!d->z[i]) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_ARG, "decode: missing output at step %d", s + i);
    }
    N = d->N = d->z[0]->d[0];
    p = d->p = (double *)convrnn__talloc(t, ((size_t)K + d->nz) * sizeof(double));
    if (!p) return NULL;
    switch (ds->type) {
    case CONVRNN_DEC_SUM: case CONVRNN_DEC_AVG:
        d->mode = CONVRNN__DSUM; d->scale = ds->type == CONVRNN_DEC_AVG ? 1.0 / d->nz : 1.0;
        return convrnn__dec_op(t, d);
    case CONVRNN_DEC_SIMPLE_LINEAR: case CONVRNN_DEC_SIMPLE_SOFT:
        d->mode = ds->type == CONVRNN_DEC_SIMPLE_LINEAR ? CONVRNN__DLIN : CONVRNN__DSOFT;
        d->scale = ds->type == CONVRNN_DEC_SIMPLE_SOFT ? CONVRNN__MP(m->dec_p[0])->data[0] : 1.0;   /* beta */
        return convrnn__dec_op(t, d);
    case CONVRNN_DEC_SIMPLE:
        return d->z[d->nz - 1];
    case CONVRNN_DEC_RANDOM:
        i = rng ? (int)convrnn_rng_below(rng, (uint32_t)d->nz) : image_off + L - 1 - s;
        if (i < 0) i = 0;
        if (i >= d->nz) i = d->nz - 1;
        return d->z[i];
    case CONVRNN_DEC_MAX_CONF: case CONVRNN_DEC_THRESH: {
        const double beta = m->dec_p[0] >= 0 ? CONVRNN__MP(m->dec_p[0])->data[0] : 1.0;
        const double theta = m->dec_p[1] >= 0 ? CONVRNN__MP(m->dec_p[1])->data[0] : ds->threshold;
        d->mode = CONVRNN__DSEL;
        d->sel = (int *)convrnn__talloc(t, (size_t)N * sizeof(int));
        if (!d->sel) return NULL;
        for (n = 0; n < N; n++) {
            double best = -1;
            int bi = 0, first = -1;
            for (i = 0; i < d->nz; i++) {
                double mx = 0;
                convrnn__softmax_row(d->z[i]->data + (size_t)n * K, K, beta, p);
                for (k = 0; k < K; k++) if (p[k] > mx) mx = p[k];
                if (mx > best) { best = mx; bi = i; }
                if (first < 0 && mx >= theta) first = i;
            }
            d->sel[n] = ds->type == CONVRNN_DEC_THRESH && first >= 0 ? first : bi;
        }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_TIME_MAX: {
        const double beta = CONVRNN__MP(m->dec_p[0])->data[0];
        double *best = (double *)convrnn__talloc(t, (size_t)N * K * sizeof(double));
        d->mode = CONVRNN__DTMAX;
        d->sel = (int *)convrnn__talloc(t, (size_t)N * K * sizeof(int));
        if (!d->sel || !best) return NULL;
        for (i = 0; i < d->nz; i++)
            for (n = 0; n < N; n++) {
                convrnn__softmax_row(d->z[i]->data + (size_t)n * K, K, beta, p);
                for (k = 0; k < K; k++)
                    if (i == 0 || p[k] > best[(size_t)n * K + k]) { best[(size_t)n * K + k] = p[k]; d->sel[(size_t)n * K + k] = i; }
            }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_W_AVG: {
        const double beta = CONVRNN__MP(m->dec_p[0])->data[0];
        d->mode = CONVRNN__DWAVG;
        d->beta = CONVRNN__MP(m->dec_p[0]);
        d->w = (double *)convrnn__talloc(t, (size_t)d->nz * N * K * sizeof(double));
        if (!d->w) return NULL;
        for (n = 0; n < N; n++)
            for (k = 0; k < K; k++) {
                double mx = -HUGE_VAL, sum = 0;
                const size_t o = (size_t)n * K + k;
                for (i = 0; i < d->nz; i++) if (beta * d->z[i]->data[o] > mx) mx = beta * d->z[i]->data[o];
                for (i = 0; i < d->nz; i++) sum += (d->w[((size_t)i * N + n) * K + k] = exp(beta * d->z[i]->data[o] - mx));
                for (i = 0; i < d->nz; i++) d->w[((size_t)i * N + n) * K + k] /= sum;
            }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_W_AVG_T: {
        convrnn_tensor *al = CONVRNN__MP(m->dec_p[0]);
        if (al->d[0] != d->nz)
            return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "decode: w_avg_t weights cover %d steps, the window has %d", al->d[0], d->nz);
        d->mode = CONVRNN__DWAVGT;
        d->alpha = al;
        d->w = (double *)convrnn__talloc(t, (size_t)d->nz * K * sizeof(double));
        if (!d->w) return NULL;
        for (k = 0; k < K; k++) {
            double sum = 0;
            for (i = 0; i < d->nz; i++) sum += (d->w[(size_t)i * K + k] = 1.0 / (1.0 + exp(-(double)al->data[(size_t)i * K + k])));
            for (i = 0; i < d->nz; i++) d->w[(size_t)i * K + k] /= sum;
        }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_W_TIME_AVG: {
        const double b1 = CONVRNN__MP(m->dec_p[0])->data[0], b2 = CONVRNN__MP(m->dec_p[1])->data[0];
        d->mode = CONVRNN__DWTAVG;
        d->beta = CONVRNN__MP(m->dec_p[0]);
        d->alpha = CONVRNN__MP(m->dec_p[1]);
        d->w = (double *)convrnn__talloc(t, (size_t)d->nz * N * sizeof(double));
        if (!d->w) return NULL;
        for (n = 0; n < N; n++) {
            double mx = -HUGE_VAL, sum = 0;
            for (i = 0; i < d->nz; i++) {
                double a = 0;
                convrnn__softmax_row(d->z[i]->data + (size_t)n * K, K, b1, p);
                for (k = 0; k < K; k++) if (p[k] > a) a = p[k];
                d->w[(size_t)i * N + n] = b2 * a;
                if (b2 * a > mx) mx = b2 * a;
            }
            for (i = 0; i < d->nz; i++) sum += (d->w[(size_t)i * N + n] = exp(d->w[(size_t)i * N + n] - mx));
            for (i = 0; i < d->nz; i++) d->w[(size_t)i * N + n] /= sum;
        }
        return convrnn__dec_op(t, d);
    }
    case CONVRNN_DEC_MLP: {
        convrnn_tensor *h = convrnn_concat(t, d->z, d->nz);
        h = convrnn_activate(t, convrnn_dense(t, h, CONVRNN__MP(m->dec_p[0]), CONVRNN__MP(m->dec_p[1])), CONVRNN_ACT_ELU);
        return convrnn_dense(t, h, CONVRNN__MP(m->dec_p[2]), CONVRNN__MP(m->dec_p[3]));
    }
    case CONVRNN_DEC_CONV1D: {
        convrnn_tensor *cat = convrnn_concat(t, d->z, d->nz), *feats[5], *pos[64], *wv;
        int wl, q, fw = m->dec_p[10], fb = m->dec_p[11];
        if (d->nz - 1 > 64) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_UNSUPPORTED, "decode: conv1d window longer than 65 steps");
        /* the window is the run's (its T may be shorter than the graph's): filters of up to 6 steps */
        if (d->nz < 6) return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_SHAPE, "decode: the conv1d decoder needs a window of at least 6 steps (this run's has %d)", d->nz);
        for (wl = 2; wl <= 6; wl++) {
            /* a window of wl steps is wl*K consecutive channels of cat; the kernel [wl,K,4] is a
               dense layer [wl*K, 4] shared over positions */
            convrnn_tensor *W = CONVRNN__MP(m->dec_p[2 * (wl - 2)]), *B = CONVRNN__MP(m->dec_p[2 * (wl - 2) + 1]);
            int dims[2];
            dims[0] = wl * K; dims[1] = 4;
            wv = convrnn_tape_input_nd(t, 2, dims, NULL, 0);
            if (!wv) return NULL;
            wv->data = W->data; wv->grad = W->grad; /* a 2-D view of the same parameter */
            for (q = 0; q + wl <= d->nz; q++) pos[q] = convrnn_dense(t, convrnn_slice_channels(t, cat, q * K, wl * K), wv, B);
            feats[wl - 2] = convrnn__maxn(t, pos, d->nz - wl + 1);
        }
        return convrnn_dense(t, convrnn_concat(t, feats, 5), CONVRNN__MP(fw), CONVRNN__MP(fb));
    }
    default:
        return (convrnn_tensor *)convrnn__fail(t, CONVRNN_ERR_UNSUPPORTED, "decode: unknown decoder");
    }
}

/* ---- weights files */
#ifndef CONVRNN_NO_STDIO
/* Every parameter as F32 under its TF name (and, with_momentum, its momentum buffer as
   "opt/momentum/<name>"), the graph text and the given metadata pairs, written atomically. */
static convrnn_status convrnn__write_weights(const convrnn_model *m, const char *path, const char *format, int with_momentum,
                                             const char *const *meta, int n_meta, convrnn_error *err) {
    const convrnn_params *ps = &m->params;
    const size_t copies = with_momentum ? 2 : 1;
    convrnn_st_writer w;
    char *text = NULL, (*names)[CONVRNN_NAME_MAX + 16] = NULL;
    convrnn_status s;
    int i, k;
    float *buf;
    size_t off = 0, j;
    if (!m || !path) return convrnn_error_set(err, CONVRNN_ERR_ARG, "save: NULL argument");
    if (!ps->finalized) return convrnn_error_set(err, CONVRNN_ERR_ARG, "save: model not created");
    buf = (float *)convrnn_calloc(NULL, copies * ps->total + 1, sizeof(float));
    if (with_momentum) names = (char (*)[CONVRNN_NAME_MAX + 16])convrnn_calloc(NULL, (size_t)ps->count + 1, sizeof *names);
    if (!buf || (with_momentum && !names)) { convrnn_free(NULL, buf); convrnn_free(NULL, names); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "save: out of memory"); }
    convrnn_st_writer_init(&w);
    s = convrnn_graph_to_text(&m->spec, &text, err);
    if (!s) s = convrnn_st_writer_meta(&w, "convrnn_graph", text);
    if (!s) s = convrnn_st_writer_meta(&w, "format", format);
    for (i = 0; !s && i < n_meta; i++) s = convrnn_st_writer_meta(&w, meta[2 * i], meta[2 * i + 1]);
    for (i = 0; !s && i < ps->count; i++) {
        const convrnn_param_info *pi = &ps->info[i];
        int64_t shape[4];
        for (k = 0; k < pi->rank; k++) shape[k] = pi->d[k];
        for (j = 0; j < pi->size; j++) buf[off + j] = (float)ps->values[pi->offset + j];
        s = convrnn_st_writer_add(&w, pi->name, CONVRNN_DT_F32, pi->rank, shape, buf + off);
        if (with_momentum && !s) {
            for (j = 0; j < pi->size; j++) buf[ps->total + off + j] = (float)ps->opt_state[pi->offset + j];
            snprintf(names[i], sizeof names[i], "opt/momentum/%s", pi->name);
            s = convrnn_st_writer_add(&w, names[i], CONVRNN_DT_F32, pi->rank, shape, buf + ps->total + off);
        }
        off += pi->size;
    }
    if (s && err && !err->status) convrnn_error_set(err, s, "save: could not add a tensor");
    /* the readers refuse non-finite values: such a file would replace a good one by one that cannot
       be read back, so nothing is written (checked on the float copies: NaN, infinity, and a double
       build's values beyond float) */
    for (j = 0; !s && j < copies * ps->total; j++)
        if (!(buf[j] - buf[j] == 0))
            s = convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "save: the %s hold NaN or infinity (as float); %s not written",
                                  j < ps->total ? "weights" : "momentum buffers", path);
    if (!s) s = convrnn_st_writer_save(&w, path, err);
    convrnn_st_writer_free(&w);
    convrnn_free(NULL, text);
    convrnn_free(NULL, buf);
    convrnn_free(NULL, names);
    return s;
}
CONVRNNDEF convrnn_status convrnn_model_save(const convrnn_model *m, const char *path, convrnn_error *err) {
    return convrnn__write_weights(m, path, "convrnn-weights-1", 0, NULL, 0, err);
}
CONVRNNDEF convrnn_status convrnn_model_load(convrnn_model *m, const char *path, convrnn_error *err) {
    convrnn_safetensors st;
    convrnn_status s;
    memset(&st, 0, sizeof st);
    s = convrnn_st_read(path, &st, err);
    if (!s) s = convrnn_model_load_st(m, &st, err);
    convrnn_st_free(&st);
    return s;
}
#endif

CONVRNNDEF convrnn_status convrnn_model_load_st(convrnn_model *m, const convrnn_safetensors *st, convrnn_error *err) {
    int i, j, v;
    convrnn_real *tmp;
    if (!m || !st) return convrnn_error_set(err, CONVRNN_ERR_ARG, "model_load: NULL argument");
    /* every file tensor must be known, ignorable, or a zero memory_decay of a plain layer */
    for (i = 0; i < st->count; i++) {
        const convrnn_st_tensor *ft = &st->tensors[i];
        if (convrnn_params_find(&m->params, ft->name) >= 0) continue;
        if (convrnn__ends(ft->name, "/Momentum") || !strcmp(ft->name, "global_step") || convrnn__starts(ft->name, "opt/")) continue;
        if (convrnn__ends(ft->name, "/memory_decay") && convrnn__starts(ft->name, "tnn_model/")) {
            double dv[1];
            for (v = 0; v < m->spec.n_nodes; v++) {
                char nm[CONVRNN_NAME_MAX];
                snprintf(nm, sizeof nm, "tnn_model/%s/memory_decay", m->spec.nodes[v].name);
                if (!strcmp(nm, ft->name)) break;
            }
            if (v == m->spec.n_nodes || m->spec.nodes[v].cell.type != CONVRNN_CELL_IDENTITY)
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: unexpected tensor '%s'", ft->name);
            if (ft->ndim > 1 || (ft->ndim == 1 && ft->shape[0] != 1) || (ft->dtype != CONVRNN_DT_F32 && ft->dtype != CONVRNN_DT_F64) ||
                convrnn_st_tensor_to_f64(ft, dv, 1, err))
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' must hold one float", ft->name);
            if (dv[0] != 0)
                return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' is %g; plain layers have a fixed decay of 0", ft->name, dv[0]);
            continue;
        }
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: tensor '%s' is not a variable of model '%s'", ft->name, m->spec.name);
    }
    tmp = (convrnn_real *)convrnn_calloc(NULL, m->params.total + 1, sizeof(convrnn_real));
    if (!tmp) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "model_load: out of memory");
    for (i = 0; i < m->params.count; i++) {
        const convrnn_param_info *pi = &m->params.info[i];
        const convrnn_st_tensor *ft = convrnn_st_find(st, pi->name);
        int ok = 1;
        convrnn_status s;
        if (!ft) { convrnn_free(NULL, tmp); return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: missing tensor '%s'", pi->name); }
        if (ft->dtype != CONVRNN_DT_F32 && ft->dtype != CONVRNN_DT_F64) {
            convrnn_free(NULL, tmp);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' has dtype %s, expected float32", pi->name, convrnn_dtype_name(ft->dtype));
        }
        if (ft->ndim != pi->rank) ok = 0;
        for (j = 0; ok && j < pi->rank; j++) if (ft->shape[j] != pi->d[j]) ok = 0;
        if (!ok) {
            char a[96], b[96];
            size_t o = 0;
            for (j = 0; j < ft->ndim && o < sizeof a - 24; j++) o += (size_t)snprintf(a + o, sizeof a - o, "%s%lld", j ? "," : "", (long long)ft->shape[j]);
            a[o] = 0;
            o = 0;
            for (j = 0; j < pi->rank && o < sizeof b - 24; j++) o += (size_t)snprintf(b + o, sizeof b - o, "%s%d", j ? "," : "", pi->d[j]);
            b[o] = 0;
            convrnn_free(NULL, tmp);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "weights: '%s' has shape [%s], the model needs [%s]", pi->name, a, b);
        }
#ifdef CONVRNN_USE_DOUBLE
        s = convrnn_st_tensor_to_f64(ft, tmp + pi->offset, pi->size, err);
#else
        s = convrnn_st_tensor_to_f32(ft, tmp + pi->offset, pi->size, err);
#endif
        if (s) { convrnn_free(NULL, tmp); return s; }
        if (!convrnn_check_finite(tmp + pi->offset, pi->size)) {
            convrnn_free(NULL, tmp);
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "weights: '%s' holds NaN or infinity", pi->name);
        }
    }
    /* all checks passed: only now replace the values */
    memcpy(m->params.values, tmp, m->params.total * sizeof(convrnn_real));
    convrnn_free(NULL, tmp);
    return CONVRNN_OK;
}
#undef CONVRNN__MP



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
    int i, pass;
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
    /* 4. momentum update, in two passes over the same arithmetic: the first only checks (a
       non-finite momentum buffer, or an update that overflows, leaves every weight and buffer as
       it was), the second writes */
    lr = convrnn_lr_at(c, step);
    for (pass = 0; pass < 2; pass++)
        for (i = 0; i < ps->count; i++) {
            const convrnn_param_info *p = &ps->info[i];
            convrnn_real *g = ps->grads + p->offset, *w = ps->values + p->offset, *a = ps->opt_state + p->offset;
            const convrnn_real m = (convrnn_real)c->momentum, l = (convrnn_real)lr, sc = (convrnn_real)scale;
            if (!p->trainable) continue;
            for (j = 0; j < p->size; j++) {
                const convrnn_real gj = g[j] * sc, aj = m * a[j] + gj;
                const convrnn_real wj = w[j] - (c->nesterov ? l * (gj + m * aj) : l * aj);
                if (pass) { a[j] = aj; w[j] = wj; }
                else if (!(aj - aj == 0) || !(wj - wj == 0))
                    return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE,
                                             "sgd_step: the update of '%s' is not finite at step %ld (momentum buffer %g); weights left as they were",
                                             p->name, step, (double)a[j]);
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

CONVRNNDEF convrnn_status convrnn_batch_fill(const convrnn_dataset *ds, const int *idx, int n, const convrnn_data_config *dc,
                                             convrnn_rng *rng, convrnn_real *out, int *labels) {
    int H, W, C, pad, b, y, x, c;
    if (!ds || !ds->images || !dc || (n > 0 && (!idx || !out)) || ds->c < 1 || ds->c > 4) return CONVRNN_ERR_ARG;
    for (b = 0; b < n; b++)
        if (idx[b] < 0 || idx[b] >= ds->n) return CONVRNN_ERR_ARG;
    H = ds->h; W = ds->w; C = ds->c; pad = rng ? dc->crop_pad : 0;
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
    return CONVRNN_OK;
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
    tr->tape.lazy_grads = 1;   /* only parameter gradients are read after backward */
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
    if (convrnn_batch_fill(tr->ds, tr->perm + (size_t)pos * B, B, &c->data, &rng, tr->x, tr->y))
        return convrnn_error_set(&tr->err, CONVRNN_ERR_ARG, "trainer_step: the data set has %d channels (1-4 supported)", tr->ds->c);
    convrnn_tape_reset(&tr->tape);
    convrnn_params_zero_grad(&m->params);
    st = convrnn_stimulus_make(tr->x, B, tr->ds->h, tr->ds->w, tr->ds->c, c->T, c->image_off);
    st.blank = c->blank;
    convrnn_model_unroll_decoded(m, &tr->tape, &st, tr->outs);
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
    convrnn_real *mom;
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
    /* a decimal count: no sign, no blanks, no trailing text, below LONG_MAX (the step counter
       goes on from it) */
    errno = 0;
    step = stp && *stp >= '0' && *stp <= '9' ? strtol(stp, &end, 10) : -1;
    if (step < 0 || *end || errno || step == LONG_MAX) {
        convrnn_st_free(&st);
        return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "checkpoint %s has no valid train_step", path);
    }
    /* everything is checked before anything is changed: the momentum buffers go to scratch
       first (F32 of the parameter's exact shape, finite), then the weights load (all or none),
       then the buffers and the step are committed */
    mom = (convrnn_real *)convrnn_calloc(NULL, ps->total + 1, sizeof *mom);
    if (!mom) { convrnn_st_free(&st); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "checkpoint %s: out of memory", path); }
    for (i = 0; i < ps->count; i++) {
        const convrnn_param_info *pi = &ps->info[i];
        char nm[CONVRNN_NAME_MAX + 16];
        const convrnn_st_tensor *t;
        int k, same = 1;
        snprintf(nm, sizeof nm, "opt/momentum/%s", pi->name);
        t = convrnn_st_find(&st, nm);
        if (t && t->ndim == pi->rank)
            for (k = 0; k < pi->rank; k++) same &= t->shape[k] == pi->d[k];
        if (!t || t->dtype != CONVRNN_DT_F32 || t->ndim != pi->rank || !same || t->count != pi->size) {
            convrnn_free(NULL, mom); convrnn_st_free(&st);
            return convrnn_error_set(err, CONVRNN_ERR_FORMAT, "checkpoint %s: optimizer state '%s' is missing or is not F32 of the parameter's shape", path, nm);
        }
#ifdef CONVRNN_USE_DOUBLE
        s = convrnn_st_tensor_to_f64(t, mom + pi->offset, pi->size, err);
#else
        s = convrnn_st_tensor_to_f32(t, mom + pi->offset, pi->size, err);
#endif
        if (!s && !convrnn_check_finite(mom + pi->offset, pi->size))
            s = convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "checkpoint %s: optimizer state '%s' holds NaN or infinity", path, nm);
        if (s) { convrnn_free(NULL, mom); convrnn_st_free(&st); return s; }
    }
    if ((s = convrnn_model_load_st(tr->m, &st, err)) != CONVRNN_OK) { convrnn_free(NULL, mom); convrnn_st_free(&st); return s; }
    memcpy(ps->opt_state, mom, ps->total * sizeof *mom);
    tr->step = step;
    convrnn_free(NULL, mom);
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
        if (convrnn_batch_fill(ds, idx, nb, &cfg->data, NULL, x, y)) {
            s = convrnn_error_set(err, CONVRNN_ERR_ARG, "evaluate: the data set has %d channels (1-4 supported)", ds->c);
            break;
        }
        convrnn_tape_reset(&t);
        st = convrnn_stimulus_make(x, nb, ds->h, ds->w, ds->c, cfg->T, cfg->image_off);
        st.blank = cfg->blank;
        convrnn_model_unroll_decoded(m, &t, &st, outs);
        z = convrnn_model_decode(m, &t, outs, cfg->T, cfg->image_off, NULL);
        L = convrnn_softmax_xent(&t, z, y);
        if (t.err.status) { s = convrnn_error_set(err, t.err.status, "%s", t.err.msg); break; }
        lsum += (double)L->data[0] * nb;
        for (i = 0; i < nb; i++) correct += convrnn__argmax_row(z->data + (size_t)i * K, K) == y[i];
    }
    convrnn_tape_free(&t);
    convrnn_free(NULL, outs); convrnn_free(NULL, x); convrnn_free(NULL, y); convrnn_free(NULL, idx);
    if (!s && !(lsum - lsum == 0))
        s = convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "evaluate: the loss is not finite (NaN or infinity in the weights or the data)");
    if (!s) {
        if (acc) *acc = (double)correct / ds->n;
        if (loss) *loss = lsum / ds->n;
    }
    return s;
}
/* ================================================================================= [IMPL-METRICS]
   Implementation of [API-METRICS]. Private helpers are convrnn__m_* / convrnn__*. */

static double convrnn__m_nan(void) { return (double)NAN; }

static int convrnn__m_isfinite(double x) { return x == x && x - x == 0.0; }
/* 2^-e such that maxabs 2^-e lies in [0.5, 1) (1 for 0): values scaled by it sum and square without
   overflow or underflow, and exactly (a power of two), so sums of the scaled values have the same
   bits, scaled, as sums of the values wherever those stay in range */
static double convrnn__m_pow2_unit(double maxabs) {
    int e;
    (void)frexp(maxabs, &e);
    return ldexp(1.0, -e);
}

/* checked n*m*k... element counts for doubles */
static int convrnn__m_count2(size_t a, size_t b, size_t *out) { return convrnn_size_mul(a, b, out); }
static int convrnn__m_count3(size_t a, size_t b, size_t c, size_t *out) {
    size_t t;
    return convrnn_size_mul(a, b, &t) && convrnn_size_mul(t, c, out);
}
static int convrnn__m_count4(size_t a, size_t b, size_t c, size_t d, size_t *out) {
    size_t t;
    return convrnn__m_count3(a, b, c, &t) && convrnn_size_mul(t, d, out);
}
static double *convrnn__m_dalloc(size_t n) {
    size_t bytes;
    if (!convrnn_size_mul(n, sizeof(double), &bytes)) return NULL;
    return (double *)convrnn_malloc(NULL, bytes);
}
static double *convrnn__m_dcalloc(size_t n) { return (double *)convrnn_calloc(NULL, n, sizeof(double)); }
static int *convrnn__m_ialloc(size_t n) {
    size_t bytes;
    if (!convrnn_size_mul(n, sizeof(int), &bytes)) return NULL;
    return (int *)convrnn_malloc(NULL, bytes);
}
static int convrnn__m_all_finite(const double *v, size_t n, size_t *bad) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!convrnn__m_isfinite(v[i])) { if (bad) *bad = i; return 0; }
    return 1;
}

/* Small-vector helpers. With GCC/Clang vector extensions (no intrinsics headers) four doubles are
   processed at once; the association of every sum is the same as in the scalar code (four
   interleaved partial sums, combined as (s0 + s1) + (s2 + s3)), so vector, scalar, 1 and N threads
   all give bitwise identical results. */
#if defined(__GNUC__) && !defined(CONVRNN_NO_SIMD)
#define CONVRNN__M_VEC 1
typedef double convrnn__m_v2 __attribute__((vector_size(16)));
#if defined(__AVX__)
#define CONVRNN__M_VEC4 1
typedef double convrnn__m_v4 __attribute__((vector_size(32)));
#endif
#endif

static double convrnn__m_dot(const double *a, const double *b, size_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
#if defined(CONVRNN__M_VEC4)
    convrnn__m_v4 acc = {0, 0, 0, 0}, va, vb;
    for (; i + 4 <= n; i += 4) {
        memcpy(&va, a + i, sizeof va); memcpy(&vb, b + i, sizeof vb);
        acc += va * vb;
    }
    s0 = acc[0]; s1 = acc[1]; s2 = acc[2]; s3 = acc[3];
#elif defined(CONVRNN__M_VEC)
    convrnn__m_v2 acc0 = {0, 0}, acc1 = {0, 0}, va, vb, vc, vd;
    for (; i + 4 <= n; i += 4) {
        memcpy(&va, a + i, sizeof va); memcpy(&vb, b + i, sizeof vb);
        memcpy(&vc, a + i + 2, sizeof vc); memcpy(&vd, b + i + 2, sizeof vd);
        acc0 += va * vb;
        acc1 += vc * vd;
    }
    s0 = acc0[0]; s1 = acc0[1]; s2 = acc1[0]; s3 = acc1[1];
#else
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
#endif
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}
static void convrnn__m_axpy(double *y, double a, const double *x, size_t n) {
    size_t i = 0;
#if defined(CONVRNN__M_VEC4)
    convrnn__m_v4 va = {a, a, a, a}, vx, vy;
    for (; i + 4 <= n; i += 4) {
        memcpy(&vx, x + i, sizeof vx); memcpy(&vy, y + i, sizeof vy);
        vy += va * vx;
        memcpy(y + i, &vy, sizeof vy);
    }
#elif defined(CONVRNN__M_VEC)
    convrnn__m_v2 va = {a, a}, vx, vy, wx, wy;
    for (; i + 4 <= n; i += 4) {
        memcpy(&vx, x + i, sizeof vx); memcpy(&vy, y + i, sizeof vy);
        memcpy(&wx, x + i + 2, sizeof wx); memcpy(&wy, y + i + 2, sizeof wy);
        vy += va * vx;
        wy += va * wx;
        memcpy(y + i, &vy, sizeof vy); memcpy(y + i + 2, &wy, sizeof wy);
    }
#endif
    for (; i < n; i++) y[i] += a * x[i];
}

/* ================================================================ basic statistics */

CONVRNNDEF double convrnn_pearson(const double *x, const double *y, size_t n) {
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0, r, ax = 0, ay = 0, kx, ky;
    size_t i;
    int xc = 1, yc = 1;
    if (n < 2) return convrnn__m_nan();
    for (i = 0; i < n; i++) {
        if (x[i] != x[i] || y[i] != y[i]) return convrnn__m_nan();
        if (x[i] != x[0]) xc = 0;
        if (y[i] != y[0]) yc = 0;
        ax = fmax(ax, fabs(x[i])); ay = fmax(ay, fabs(y[i]));
    }
    if (xc || yc) return convrnn__m_nan();
    /* x and y scaled to a largest magnitude in [0.5, 1): r has the bits of the unscaled sums
       wherever those neither overflowed nor underflowed */
    kx = convrnn__m_pow2_unit(ax); ky = convrnn__m_pow2_unit(ay);
    for (i = 0; i < n; i++) { mx += x[i] * kx; my += y[i] * ky; }
    mx /= (double)n; my /= (double)n;
    for (i = 0; i < n; i++) {
        double a = x[i] * kx - mx, b = y[i] * ky - my;
        sxy += a * b; sxx += a * a; syy += b * b;
    }
    if (!(sxx > 0) || !(syy > 0)) return convrnn__m_nan();
    r = sxy / (sqrt(sxx) * sqrt(syy));
    if (r > 1) r = 1;
    if (r < -1) r = -1;
    return r;
}

/* stable merge sort of (value, index) pairs by value */
typedef struct convrnn__m_vi { double v; int i; } convrnn__m_vi;
static void convrnn__m_sort_vi(convrnn__m_vi *a, convrnn__m_vi *tmp, size_t n) {
    size_t width, i;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t lo = i, mid = i + width < n ? i + width : n, hi = i + 2 * width < n ? i + 2 * width : n;
            size_t l = lo, r = mid, k = lo;
            while (l < mid && r < hi) tmp[k++] = (a[r].v < a[l].v) ? a[r++] : a[l++];
            while (l < mid) tmp[k++] = a[l++];
            while (r < hi) tmp[k++] = a[r++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}
/* average ranks with caller scratch (2n pairs) */
static void convrnn__m_rank_ws(const double *x, size_t n, double *ranks, convrnn__m_vi *ws) {
    convrnn__m_vi *a = ws, *tmp = ws + n;
    size_t i, j;
    for (i = 0; i < n; i++) { a[i].v = x[i]; a[i].i = (int)i; }
    convrnn__m_sort_vi(a, tmp, n);
    for (i = 0; i < n; i = j) {
        double avg;
        size_t k;
        for (j = i + 1; j < n && a[j].v == a[i].v; j++) {}
        avg = 0.5 * ((double)(i + 1) + (double)j);
        for (k = i; k < j; k++) ranks[a[k].i] = avg;
    }
}
static convrnn__m_vi *convrnn__m_vi_alloc(size_t n) {
    size_t bytes;
    if (!convrnn_size_mul(n ? n : 1, 2 * sizeof(convrnn__m_vi), &bytes)) return NULL;
    return (convrnn__m_vi *)convrnn_malloc(NULL, bytes);
}

CONVRNNDEF convrnn_status convrnn_rankdata(const double *x, size_t n, double *ranks, convrnn_error *err) {
    convrnn__m_vi *ws;
    size_t bad;
    if ((!x || !ranks) && n) return convrnn_error_set(err, CONVRNN_ERR_ARG, "rankdata: NULL array");
    if (!convrnn__m_all_finite(x, n, &bad) && x[bad] != x[bad])
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "rankdata: x[%lu] is NaN", (unsigned long)bad);
    if (n > (size_t)2147483647) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "rankdata: n too large");
    ws = convrnn__m_vi_alloc(n);
    if (!ws) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "rankdata: out of memory (n=%lu)", (unsigned long)n);
    convrnn__m_rank_ws(x, n, ranks, ws);
    convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

/* Spearman with caller scratch: ws 2n pairs, rk 2n doubles */
static double convrnn__m_spearman_ws(const double *x, const double *y, size_t n, convrnn__m_vi *ws, double *rk) {
    size_t i;
    for (i = 0; i < n; i++)
        if (x[i] != x[i] || y[i] != y[i]) return convrnn__m_nan();
    if (n < 2) return convrnn__m_nan();
    convrnn__m_rank_ws(x, n, rk, ws);
    convrnn__m_rank_ws(y, n, rk + n, ws);
    return convrnn_pearson(rk, rk + n, n);
}

CONVRNNDEF convrnn_status convrnn_spearman(const double *x, const double *y, size_t n, double *rho,
                                           convrnn_error *err) {
    convrnn__m_vi *ws;
    double *rk;
    if (!rho || ((!x || !y) && n)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "spearman: NULL argument");
    if (n > (size_t)2147483647) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "spearman: n too large");
    ws = convrnn__m_vi_alloc(n);
    rk = convrnn__m_dalloc(2 * (n ? n : 1));
    if (!ws || !rk) {
        convrnn_free(NULL, ws); convrnn_free(NULL, rk);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "spearman: out of memory (n=%lu)", (unsigned long)n);
    }
    *rho = convrnn__m_spearman_ws(x, y, n, ws, rk);
    convrnn_free(NULL, ws); convrnn_free(NULL, rk);
    return CONVRNN_OK;
}

CONVRNNDEF double convrnn_nanmean(const double *v, size_t n, size_t *used) {
    double s = 0;
    size_t i, k = 0;
    for (i = 0; i < n; i++)
        if (v[i] == v[i]) { s += v[i]; k++; }
    if (used) *used = k;
    return k ? s / (double)k : convrnn__m_nan();
}
CONVRNNDEF double convrnn_nanstd(const double *v, size_t n, int ddof, size_t *used) {
    size_t i, k;
    double m = convrnn_nanmean(v, n, &k), s = 0;
    if (used) *used = k;
    if (k == 0 || (double)k - (double)ddof <= 0) return convrnn__m_nan();
    for (i = 0; i < n; i++)
        if (v[i] == v[i]) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / ((double)k - (double)ddof));
}
CONVRNNDEF double convrnn_nansem(const double *v, size_t n, int ddof, size_t *used) {
    size_t k;
    double sd = convrnn_nanstd(v, n, ddof, &k);
    if (used) *used = k;
    return k ? sd / sqrt((double)k) : convrnn__m_nan();
}
static int convrnn__m_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}
/* NaN-skipping median with caller scratch (n doubles) */
static double convrnn__m_nanmedian_ws(const double *v, size_t n, double *ws, size_t *used) {
    size_t i, k = 0;
    for (i = 0; i < n; i++)
        if (v[i] == v[i]) ws[k++] = v[i];
    if (used) *used = k;
    if (!k) return convrnn__m_nan();
    qsort(ws, k, sizeof(double), convrnn__m_cmp_double);
    return (k & 1) ? ws[k / 2] : 0.5 * (ws[k / 2 - 1] + ws[k / 2]);
}
CONVRNNDEF convrnn_status convrnn_nanmedian(const double *v, size_t n, double *median, size_t *used,
                                            convrnn_error *err) {
    double *ws;
    if (!median || (!v && n)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "nanmedian: NULL argument");
    ws = convrnn__m_dalloc(n ? n : 1);
    if (!ws) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "nanmedian: out of memory (n=%lu)", (unsigned long)n);
    *median = convrnn__m_nanmedian_ws(v, n, ws, used);
    convrnn_free(NULL, ws);
    return CONVRNN_OK;
}
CONVRNNDEF double convrnn_spearman_brown(double r, double n) { return n * r / (1.0 + (n - 1.0) * r); }

/* ================================================================ special functions */

CONVRNNDEF double convrnn_lgamma(double x) {
    /* Lanczos (g = 7, n = 9) with reflection below 0.5 */
    static const double c[9] = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
                                771.32342877765313, -176.61502916214059, 12.507343278686905,
                                -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
    double a, t;
    int i;
    if (x != x) return x;
    if (x <= 0 && x == floor(x)) return (double)INFINITY;
    if (x < 0.5) return log(3.14159265358979323846 / fabs(sin(3.14159265358979323846 * x))) - convrnn_lgamma(1.0 - x);
    if (x == 1.0 || x == 2.0) return 0.0;
    if (x > 1e6) /* Stirling with two correction terms */
        return (x - 0.5) * log(x) - x + 0.91893853320467274178 + 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x * x);
    x -= 1.0;
    a = c[0];
    t = x + 7.5;
    for (i = 1; i < 9; i++) a += c[i] / (x + (double)i);
    return 0.91893853320467274178 + (x + 0.5) * log(t) - t + log(a);
}

CONVRNNDEF double convrnn_norm_cdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }
CONVRNNDEF double convrnn_norm_sf(double x) { return 0.5 * erfc(x * 0.70710678118654752440); }

CONVRNNDEF double convrnn_norm_ppf(double p) {
    /* Wichura (1988) AS 241, PPND16: about 1e-16 relative accuracy */
    double q, r, v;
    if (p != p || p < 0 || p > 1) return convrnn__m_nan();
    if (p == 0) return -(double)INFINITY;
    if (p == 1) return (double)INFINITY;
    q = p - 0.5;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
                        45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
                     133.14166789178437745) * r + 3.387132872796366608) /
               (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
                    21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r +
                 42.313330701600911252) * r + 1.0);
    }
    r = q < 0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    if (r <= 5.0) {
        r -= 1.6;
        v = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
                 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r +
              4.6303378461565452959) * r + 1.42343711074968357734) /
            (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
                 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r +
              2.05319162663775882187) * r + 1.0);
    } else {
        r -= 5.0;
        v = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
                 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r +
              5.4637849111641143699) * r + 6.6579046435011037772) /
            (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
                 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r +
              0.59983220655588793769) * r + 1.0);
    }
    return q < 0 ? -v : v;
}

/* continued fraction for I_x(a,b) (modified Lentz), valid for x < (a+1)/(a+b+2) */
static double convrnn__m_betacf(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), h;
    int m;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    h = d;
    for (m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m, aa = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)), del;
        d = 1.0 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d; h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2));
        d = 1.0 + aa * d; if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d; del = d * c; h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return h;
}
/* I_x(a,b) given x and y = 1 - x (both passed to avoid cancellation) */
static double convrnn__m_betainc2(double a, double b, double x, double y) {
    double lbt;
    if (x != x || y != y || a != a || b != b || a <= 0 || b <= 0) return convrnn__m_nan();
    if (x <= 0) return 0.0;
    if (y <= 0) return 1.0;
    lbt = convrnn_lgamma(a + b) - convrnn_lgamma(a) - convrnn_lgamma(b) + a * log(x) + b * log(y);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * convrnn__m_betacf(a, b, x) / a;
    return 1.0 - exp(lbt) * convrnn__m_betacf(b, a, y) / b;
}
CONVRNNDEF double convrnn_betainc(double a, double b, double x) { return convrnn__m_betainc2(a, b, x, 1.0 - x); }

static double convrnn__m_gamma_series(double a, double x) { /* P(a,x) by series, x < a+1 */
    double ap = a, sum = 1.0 / a, del = sum;
    int n;
    for (n = 0; n < 100000; n++) {
        ap += 1.0; del *= x / ap; sum += del;
        if (fabs(del) < fabs(sum) * 1e-17) break;
    }
    return sum * exp(-x + a * log(x) - convrnn_lgamma(a));
}
static double convrnn__m_gamma_cf(double a, double x) { /* Q(a,x) by continued fraction, x >= a+1 */
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    int i;
    for (i = 1; i < 100000; i++) {
        double an = -i * (i - a), del;
        b += 2.0;
        d = an * d + b; if (fabs(d) < tiny) d = tiny;
        c = b + an / c; if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d; del = d * c; h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return exp(-x + a * log(x) - convrnn_lgamma(a)) * h;
}
CONVRNNDEF double convrnn_gammainc_p(double a, double x) {
    if (a != a || x != x || a <= 0 || x < 0) return convrnn__m_nan();
    if (x == 0) return 0.0;
    if (x == (double)INFINITY) return 1.0;
    return x < a + 1.0 ? convrnn__m_gamma_series(a, x) : 1.0 - convrnn__m_gamma_cf(a, x);
}
CONVRNNDEF double convrnn_gammainc_q(double a, double x) {
    if (a != a || x != x || a <= 0 || x < 0) return convrnn__m_nan();
    if (x == 0) return 1.0;
    if (x == (double)INFINITY) return 0.0;
    return x < a + 1.0 ? 1.0 - convrnn__m_gamma_series(a, x) : convrnn__m_gamma_cf(a, x);
}
CONVRNNDEF double convrnn_t_sf(double t, double df) {
    double x, y, tail;
    if (t != t || df != df || df <= 0) return convrnn__m_nan();
    if (t == (double)INFINITY) return 0.0;
    if (t == -(double)INFINITY) return 1.0;
    /* above 1e7 degrees of freedom the continued fraction loses digits: the normal tail with its
       1/df term, P(T > t) = Q(t) + phi(t) (t^3 + t) / (4 df) + O(1/df^2) */
    if (df > 1e7) return convrnn_norm_sf(t) + exp(-0.5 * t * t) * 0.39894228040143267794 * (t * t * t + t) / (4.0 * df);
    /* tail = P(T > |t|) = I_{df/(df+t^2)}(df/2, 1/2) / 2 */
    x = df / (df + t * t);
    y = t * t / (df + t * t);
    tail = 0.5 * convrnn__m_betainc2(0.5 * df, 0.5, x, y);
    return t >= 0 ? tail : 1.0 - tail;
}
CONVRNNDEF double convrnn_chi2_sf(double x, double df) {
    if (x != x || df != df || df <= 0) return convrnn__m_nan();
    if (x <= 0) return 1.0;
    return convrnn_gammainc_q(0.5 * df, 0.5 * x);
}

/* ================================================================ statistical tests */

static void convrnn__m_test_init(convrnn_test_result *r) {
    r->statistic = r->pvalue = r->z = r->df = convrnn__m_nan();
    r->n = 0;
    r->exact = 0;
}

CONVRNNDEF convrnn_status convrnn_ttest_paired(const double *a, const double *b, int n,
                                               convrnn_test_result *res, convrnn_error *err) {
    double m = 0, v = 0, t;
    int i;
    if (!a || !b || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ttest_paired: NULL argument");
    if (n < 2) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ttest_paired: need n >= 2 pairs, got %d", n);
    for (i = 0; i < n; i++)
        if (!convrnn__m_isfinite(a[i]) || !convrnn__m_isfinite(b[i]))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "ttest_paired: pair %d is not finite (%g, %g)",
                                     i, a[i], b[i]);
    convrnn__m_test_init(res);
    for (i = 0; i < n; i++) m += a[i] - b[i];
    m /= n;
    for (i = 0; i < n; i++) { double d = (a[i] - b[i]) - m; v += d * d; }
    v /= (n - 1);
    t = m / sqrt(v / n);
    res->statistic = t;
    res->df = n - 1;
    res->n = n;
    res->pvalue = t != t ? t : 2.0 * convrnn_t_sf(fabs(t), n - 1.0);
    return CONVRNN_OK;
}

#define CONVRNN__WILCOXON_EXACT_MAX 1000
CONVRNNDEF convrnn_status convrnn_wilcoxon(const double *a, const double *b, int n, convrnn_wilcoxon_mode mode,
                                           convrnn_test_result *res, convrnn_error *err) {
    double *d = NULL, *r = NULL, rp = 0, rm = 0, T;
    convrnn__m_vi *ws = NULL;
    int i, k, nz = 0, exact;
    if (!a || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: NULL argument");
    if (n < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "wilcoxon: need n >= 1, got %d", n);
    if (mode != CONVRNN_WILCOXON_AUTO && mode != CONVRNN_WILCOXON_EXACT && mode != CONVRNN_WILCOXON_APPROX)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: unknown mode %d", (int)mode);
    if (mode == CONVRNN_WILCOXON_EXACT && n > CONVRNN__WILCOXON_EXACT_MAX)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: the exact distribution is for n <= %d (n=%d; its cost grows as n^3): use the approximation",
                                 CONVRNN__WILCOXON_EXACT_MAX, n);
    convrnn__m_test_init(res);
    d = convrnn__m_dcalloc((size_t)2 * n);
    r = convrnn__m_dcalloc((size_t)n);
    ws = convrnn__m_vi_alloc((size_t)n);
    if (!d || !r || !ws) {
        convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "wilcoxon: out of memory (n=%d)", n);
    }
    for (i = 0; i < n; i++) {
        d[i] = b ? a[i] - b[i] : a[i];
        if (!convrnn__m_isfinite(d[i])) {
            convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "wilcoxon: difference %d is not finite", i);
        }
        if (d[i] == 0) nz++;
    }
    exact = mode == CONVRNN_WILCOXON_EXACT || (mode == CONVRNN_WILCOXON_AUTO && n <= 50);
    if (nz > 0 && exact) exact = 0; /* scipy switches to the approximation when there are zeros */
    k = n;
    if (!exact) {
        if (nz == n) {
            convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "wilcoxon: all %d differences are zero", n);
        }
        for (i = 0, k = 0; i < n; i++)
            if (d[i] != 0) d[k++] = d[i];
    }
    for (i = 0; i < k; i++) r[i] = fabs(d[i]);
    convrnn__m_rank_ws(r, (size_t)k, d + n, ws);
    for (i = 0; i < k; i++) r[i] = d[n + i];
    for (i = 0; i < k; i++) {
        if (d[i] > 0) rp += r[i];
        else if (d[i] < 0) rm += r[i];
    }
    T = rp < rm ? rp : rm;
    res->statistic = T;
    res->n = k;
    res->exact = exact;
    if (!exact) {
        double mn = k * (k + 1.0) * 0.25, se = k * (k + 1.0) * (2.0 * k + 1.0), z;
        /* tie correction over repeated ranks (ranks are sorted in ws after ranking) */
        int j;
        for (i = 0; i < k; i++) ws[i].v = r[i];
        convrnn__m_sort_vi(ws, ws + k, (size_t)k);
        for (i = 0; i < k; i = j) {
            for (j = i + 1; j < k && ws[j].v == ws[i].v; j++) {}
            if (j - i > 1) { double t = (double)(j - i); se -= 0.5 * t * (t * t - 1.0); }
        }
        se = sqrt(se / 24.0);
        z = (T - mn) / se;
        res->z = z;
        res->pvalue = 2.0 * convrnn_norm_sf(fabs(z));
    } else {
        /* exact pmf of r_plus by the recursion scipy uses (probabilities halved at each step) */
        int tot = k * (k + 1) / 2, m, rpi = (int)rp, c;
        double *pmf = convrnn__m_dcalloc((size_t)tot + 1), *prev = convrnn__m_dcalloc((size_t)tot + 1);
        if (!pmf || !prev) {
            convrnn_free(NULL, pmf); convrnn_free(NULL, prev);
            convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "wilcoxon: out of memory (n=%d)", n);
        }
        pmf[0] = 1.0;
        m = 1;
        for (c = 1; c <= k; c++) {
            int len = c * (c + 1) / 2 + 1, s;
            memcpy(prev, pmf, (size_t)m * sizeof(double));
            for (s = 0; s < len; s++) pmf[s] = 0;
            for (s = 0; s < m; s++) pmf[s] = prev[s] * 0.5;
            for (s = 0; s < m; s++) pmf[len - m + s] += prev[s] * 0.5;
            m = len;
        }
        if (rpi == tot / 2) {
            res->pvalue = 1.0;
        } else {
            double pl = 0, pg = 0, p;
            for (c = 0; c <= rpi; c++) pl += pmf[c];
            for (c = rpi; c <= tot; c++) pg += pmf[c];
            p = 2.0 * (pl < pg ? pl : pg);
            res->pvalue = p > 1 ? 1 : (p < 0 ? 0 : p);
        }
        convrnn_free(NULL, pmf); convrnn_free(NULL, prev);
    }
    convrnn_free(NULL, d); convrnn_free(NULL, r); convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_friedman(const double *data, int n_blocks, int k, convrnn_test_result *res,
                                           convrnn_error *err) {
    double *rk, *rs, ties = 0, c, ssbn = 0, chi;
    convrnn__m_vi *ws;
    int i, j, l;
    size_t cnt;
    if (!data || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "friedman: NULL argument");
    if (k < 3) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "friedman: need k >= 3 treatments, got %d", k);
    if (n_blocks < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "friedman: need >= 1 block, got %d", n_blocks);
    if (!convrnn__m_count2((size_t)n_blocks, (size_t)k, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "friedman: %d x %d overflows", n_blocks, k);
    for (i = 0; i < (int)cnt; i++)
        if (!convrnn__m_isfinite(data[i]))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "friedman: block %d treatment %d is not finite",
                                     i / k, i % k);
    convrnn__m_test_init(res);
    rk = convrnn__m_dalloc((size_t)k);
    rs = convrnn__m_dcalloc((size_t)k);
    ws = convrnn__m_vi_alloc((size_t)k);
    if (!rk || !rs || !ws) {
        convrnn_free(NULL, rk); convrnn_free(NULL, rs); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "friedman: out of memory");
    }
    for (i = 0; i < n_blocks; i++) {
        convrnn__m_rank_ws(data + (size_t)i * k, (size_t)k, rk, ws);
        for (j = 0; j < k; j++) rs[j] += rk[j];
        /* ties within the block: ws holds the sorted values */
        for (j = 0; j < k; j = l) {
            for (l = j + 1; l < k && ws[l].v == ws[j].v; l++) {}
            if (l - j > 1) { double t = (double)(l - j); ties += t * (t * t - 1.0); }
        }
    }
    c = 1.0 - ties / ((double)k * ((double)k * k - 1.0) * n_blocks);
    for (j = 0; j < k; j++) ssbn += rs[j] * rs[j];
    chi = (12.0 / ((double)k * n_blocks * (k + 1.0)) * ssbn - 3.0 * n_blocks * (k + 1.0)) / c;
    res->statistic = chi;
    res->df = k - 1;
    res->n = n_blocks;
    res->pvalue = convrnn_chi2_sf(chi, k - 1.0);
    convrnn_free(NULL, rk); convrnn_free(NULL, rs); convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

CONVRNNDEF double convrnn_bonferroni(double p, int m) {
    double v = p * (double)m;
    if (p != p) return p;
    if (m < 1 || p < 0 || p > 1) return convrnn__m_nan();
    return v > 1.0 ? 1.0 : v;
}

/* ================================================================ splits */

CONVRNNDEF void convrnn_splits_free(convrnn_splits *s) {
    if (!s) return;
    convrnn_free(NULL, s->train); convrnn_free(NULL, s->test);
    convrnn_free(NULL, s->train_start); convrnn_free(NULL, s->test_start);
    memset(s, 0, sizeof *s);
}

static convrnn_status convrnn__m_splits_alloc(convrnn_splits *s, int n_splits, int n, size_t n_train_total,
                                            size_t n_test_total, convrnn_error *err) {
    size_t b1, b2;
    memset(s, 0, sizeof *s);
    s->n_splits = n_splits;
    s->n = n;
    if (!convrnn_size_mul(n_train_total ? n_train_total : 1, sizeof(int), &b1) ||
        !convrnn_size_mul(n_test_total ? n_test_total : 1, sizeof(int), &b2))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "splits: size overflow");
    s->train = (int *)convrnn_malloc(NULL, b1);
    s->test = (int *)convrnn_malloc(NULL, b2);
    s->train_start = (size_t *)convrnn_calloc(NULL, (size_t)n_splits + 1, sizeof(size_t));
    s->test_start = (size_t *)convrnn_calloc(NULL, (size_t)n_splits + 1, sizeof(size_t));
    if (!s->train || !s->test || !s->train_start || !s->test_start) {
        convrnn_splits_free(s);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory (%d splits of %d items)", n_splits, n);
    }
    return CONVRNN_OK;
}

static int convrnn__m_cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}
static void convrnn__m_shuffle_int(int *v, int n, convrnn_rng *rng) { /* Fisher-Yates */
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)convrnn_rng_below(rng, (uint32_t)(i + 1)), t = v[i];
        v[i] = v[j]; v[j] = t;
    }
}

/* sklearn _approximate_mode with our RNG for ties */
static void convrnn__m_approx_mode(const int *counts, int n_classes, int n_draws, int *out, double *rem, int *idx,
                                 convrnn_rng *rng) {
    double total = 0;
    int c, need, done = 0;
    for (c = 0; c < n_classes; c++) total += counts[c];
    need = n_draws;
    for (c = 0; c < n_classes; c++) {
        double cont = (double)counts[c] / total * (double)n_draws, fl = floor(cont);
        out[c] = (int)fl;
        rem[c] = cont - fl;
        need -= out[c];
    }
    while (need > 0 && !done) {
        /* largest remaining remainder value, all classes sharing it */
        double best = -1;
        int m = 0, take, i;
        for (c = 0; c < n_classes; c++)
            if (rem[c] > best) best = rem[c];
        if (best < 0) break;
        for (c = 0; c < n_classes; c++)
            if (rem[c] == best) idx[m++] = c;
        take = m < need ? m : need;
        convrnn__m_shuffle_int(idx, m, rng);
        for (i = 0; i < take; i++) out[idx[i]]++;
        for (i = 0; i < m; i++) rem[idx[i]] = -2; /* consumed */
        need -= take;
        if (m == 0) done = 1;
    }
}

CONVRNNDEF convrnn_status convrnn_splits_shuffle(convrnn_splits *out, int n, int n_splits, double train_size,
                                                 double test_size, const int *strata, uint64_t seed,
                                                 convrnn_error *err) {
    int n_train, n_test, s, i;
    convrnn_rng rng;
    convrnn_status st;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: NULL output");
    memset(out, 0, sizeof *out);
    if (n < 2 || n_splits < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "splits_shuffle: need n >= 2 and n_splits >= 1 (n=%d, splits=%d)",
                                 n, n_splits);
    if (!(train_size >= 0) || !(test_size >= 0) || (train_size == 0 && test_size == 0) ||
        (train_size >= 1 && train_size != floor(train_size)) || (test_size >= 1 && test_size != floor(test_size)))
        return convrnn_error_set(err, CONVRNN_ERR_ARG,
                                 "splits_shuffle: train_size=%g / test_size=%g must be fractions in (0,1), integer counts, or 0",
                                 train_size, test_size);
    if (train_size > n || test_size > n)   /* counts larger than the items (and than an int) */
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: sizes train=%g test=%g do not fit n=%d", train_size, test_size, n);
    n_test = test_size > 0 ? (test_size < 1 ? (int)ceil(test_size * n) : (int)test_size) : -1;
    n_train = train_size > 0 ? (train_size < 1 ? (int)floor(train_size * n) : (int)train_size) : -1;
    if (n_test < 0) n_test = n - n_train;
    if (n_train < 0) n_train = n - n_test;
    if (n_train < 1 || n_test < 1 || (long long)n_train + n_test > n)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: sizes train=%d test=%d do not fit n=%d",
                                 n_train, n_test, n);
    st = convrnn__m_splits_alloc(out, n_splits, n, (size_t)n_splits * n_train, (size_t)n_splits * n_test, err);
    if (st) return st;
    convrnn_rng_seed(&rng, seed);
    if (!strata) {
        int *perm = convrnn__m_ialloc((size_t)n);
        if (!perm) { convrnn_splits_free(out); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory"); }
        for (s = 0; s < n_splits; s++) {
            int *tr = out->train + (size_t)s * n_train, *te = out->test + (size_t)s * n_test;
            for (i = 0; i < n; i++) perm[i] = i;
            convrnn__m_shuffle_int(perm, n, &rng);
            memcpy(te, perm, (size_t)n_test * sizeof(int));
            memcpy(tr, perm + n_test, (size_t)n_train * sizeof(int));
            qsort(tr, (size_t)n_train, sizeof(int), convrnn__m_cmp_int);
            qsort(te, (size_t)n_test, sizeof(int), convrnn__m_cmp_int);
            out->train_start[s + 1] = out->train_start[s] + (size_t)n_train;
            out->test_start[s + 1] = out->test_start[s] + (size_t)n_test;
        }
        convrnn_free(NULL, perm);
        return CONVRNN_OK;
    } else {
        int n_classes = 0, c, *counts, *ntr, *nte, *left, *idx, *members, *mstart, *fill, *vals, *sid;
        double *rem;
        for (i = 0; i < n; i++)
            if (strata[i] < 0) { convrnn_splits_free(out); return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: strata[%d] = %d is negative", i, strata[i]); }
        /* class c = the rank of a stratum among the distinct values (any ids, gaps included, as
           numpy's unique: no empty classes) */
        vals = convrnn__m_ialloc((size_t)n * 2);
        if (!vals) { convrnn_splits_free(out); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory"); }
        sid = vals + n;
        memcpy(vals, strata, (size_t)n * sizeof(int));
        qsort(vals, (size_t)n, sizeof(int), convrnn__m_cmp_int);
        for (i = 0; i < n; i++)
            if (i == 0 || vals[i] != vals[n_classes - 1]) vals[n_classes++] = vals[i];
        for (i = 0; i < n; i++) {
            int lo = 0, hi = n_classes - 1;
            while (lo < hi) {
                const int mid = lo + (hi - lo) / 2;
                if (vals[mid] < strata[i]) lo = mid + 1; else hi = mid;
            }
            sid[i] = lo;
        }
        counts = (int *)convrnn_calloc(NULL, (size_t)n_classes * 6 + 1, sizeof(int));
        rem = convrnn__m_dalloc((size_t)n_classes);
        members = convrnn__m_ialloc((size_t)n);
        if (!counts || !rem || !members) {
            convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_free(NULL, vals); convrnn_splits_free(out);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory");
        }
        ntr = counts + n_classes; nte = ntr + n_classes; left = nte + n_classes; idx = left + n_classes;
        mstart = idx + n_classes; /* n_classes + 1 */
        for (i = 0; i < n; i++) counts[sid[i]]++;
        {
            int nonempty = 0, bad = -1;
            for (c = 0; c < n_classes; c++)
                if (counts[c] > 0) { nonempty++; if (counts[c] < 2 && bad < 0) bad = vals[c]; }
            if (bad >= 0 || n_train < nonempty || n_test < nonempty) {
                convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_free(NULL, vals); convrnn_splits_free(out);
                if (bad >= 0)
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_shuffle: class %d has only 1 member; stratified splits need >= 2", bad);
                return convrnn_error_set(err, CONVRNN_ERR_ARG,
                                         "splits_shuffle: train=%d and test=%d must each be >= the number of classes (%d)",
                                         n_train, n_test, nonempty);
            }
        }
        mstart[0] = 0;
        for (c = 0; c < n_classes; c++) mstart[c + 1] = mstart[c] + counts[c];
        fill = (int *)convrnn_calloc(NULL, (size_t)n_classes + 1, sizeof(int));
        if (!fill) {
            convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_free(NULL, vals); convrnn_splits_free(out);
            return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits: out of memory");
        }
        for (i = 0; i < n; i++) members[mstart[sid[i]] + fill[sid[i]]++] = i;
        convrnn_free(NULL, fill);
        for (s = 0; s < n_splits; s++) {
            int *tr = out->train + (size_t)s * n_train, *te = out->test + (size_t)s * n_test, kt = 0, ke = 0;
            convrnn__m_approx_mode(counts, n_classes, n_train, ntr, rem, idx, &rng);
            for (c = 0; c < n_classes; c++) left[c] = counts[c] - ntr[c];
            convrnn__m_approx_mode(left, n_classes, n_test, nte, rem, idx, &rng);
            for (c = 0; c < n_classes; c++) {
                int *mem = members + mstart[c];
                /* members is re-permuted in place; the order it starts from is itself seeded */
                convrnn__m_shuffle_int(mem, counts[c], &rng);
                for (i = 0; i < ntr[c]; i++) tr[kt++] = mem[i];
                for (i = 0; i < nte[c]; i++) te[ke++] = mem[ntr[c] + i];
            }
            qsort(tr, (size_t)n_train, sizeof(int), convrnn__m_cmp_int);
            qsort(te, (size_t)n_test, sizeof(int), convrnn__m_cmp_int);
            out->train_start[s + 1] = out->train_start[s] + (size_t)n_train;
            out->test_start[s + 1] = out->test_start[s] + (size_t)n_test;
        }
        convrnn_free(NULL, counts); convrnn_free(NULL, rem); convrnn_free(NULL, members); convrnn_free(NULL, vals);
        return CONVRNN_OK;
    }
}

CONVRNNDEF convrnn_status convrnn_splits_from_mask(convrnn_splits *out, const int *mask, int n_splits, int n,
                                                   convrnn_error *err) {
    size_t ntr = 0, nte = 0, cnt;
    int s, i;
    convrnn_status st;
    if (!out || !mask) return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_mask: NULL argument");
    memset(out, 0, sizeof *out);
    if (n < 1 || n_splits < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "splits_from_mask: bad shape (%d, %d)", n_splits, n);
    if (!convrnn__m_count2((size_t)n_splits, (size_t)n, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "splits_from_mask: size overflow");
    for (s = 0; s < n_splits; s++) {
        int a = 0, b = 0;
        for (i = 0; i < n; i++) {
            int v = mask[(size_t)s * n + i];
            if (v == 1) a++;
            else if (v == 0) b++;
        }
        if (a < 1 || b < 1)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_mask: split %d has %d train and %d test items (need >= 1 each)", s, a, b);
        ntr += (size_t)a; nte += (size_t)b;
    }
    st = convrnn__m_splits_alloc(out, n_splits, n, ntr, nte, err);
    if (st) return st;
    ntr = nte = 0;
    for (s = 0; s < n_splits; s++) {
        for (i = 0; i < n; i++) {
            int v = mask[(size_t)s * n + i];
            if (v == 1) out->train[ntr++] = i;
            else if (v == 0) out->test[nte++] = i;
        }
        out->train_start[s + 1] = ntr;
        out->test_start[s + 1] = nte;
    }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_splits_from_lists(convrnn_splits *out, int n, int n_splits, const int *train,
                                                    const size_t *train_start, const int *test,
                                                    const size_t *test_start, convrnn_error *err) {
    int *mask, k;
    size_t i, cnt;
    convrnn_status st;
    if (!out || !train || !train_start || !test || !test_start)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: NULL argument");
    memset(out, 0, sizeof *out);
    if (n < 1 || n_splits < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "splits_from_lists: bad shape (%d splits, %d items)", n_splits, n);
    if (!convrnn__m_count2((size_t)n_splits, (size_t)n, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "splits_from_lists: overflow");
    mask = convrnn__m_ialloc(cnt);
    if (!mask) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "splits_from_lists: out of memory");
    for (i = 0; i < cnt; i++) mask[i] = -1;
    for (k = 0; k < n_splits; k++) {
        int side;
        for (side = 0; side < 2; side++) {
            const int *idx = side ? test : train;
            const size_t *st0 = side ? test_start : train_start;
            if (st0[k + 1] < st0[k]) {
                convrnn_free(NULL, mask);
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d %s offsets decrease", k, side ? "test" : "train");
            }
            for (i = st0[k]; i < st0[k + 1]; i++) {
                int v = idx[i];
                if (v < 0 || v >= n) {
                    convrnn_free(NULL, mask);
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d %s index %d outside [0, %d)", k, side ? "test" : "train", v, n);
                }
                if (mask[(size_t)k * n + v] == (side ? 0 : 1)) {
                    convrnn_free(NULL, mask);
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d lists %s image %d twice", k, side ? "test" : "train", v);
                }
                if (mask[(size_t)k * n + v] == 0 || (mask[(size_t)k * n + v] == 1 && side)) {
                    convrnn_free(NULL, mask);
                    return convrnn_error_set(err, CONVRNN_ERR_ARG, "splits_from_lists: split %d has image %d in both train and test", k, v);
                }
                mask[(size_t)k * n + v] = side ? 0 : 1;
            }
        }
    }
    st = convrnn_splits_from_mask(out, mask, n_splits, n, err);
    convrnn_free(NULL, mask);
    return st;
}

CONVRNNDEF void convrnn_splits_to_mask(const convrnn_splits *s, int *mask) {
    int k;
    size_t i;
    for (i = 0; i < (size_t)s->n_splits * (size_t)s->n; i++) mask[i] = -1;
    for (k = 0; k < s->n_splits; k++) {
        for (i = s->train_start[k]; i < s->train_start[k + 1]; i++) mask[(size_t)k * s->n + s->train[i]] = 1;
        for (i = s->test_start[k]; i < s->test_start[k + 1]; i++) mask[(size_t)k * s->n + s->test[i]] = 0;
    }
}

static convrnn_status convrnn__m_check_splits(const convrnn_splits *s, int n, const char *who, convrnn_error *err) {
    int k;
    size_t i;
    if (!s || !s->train || !s->test || !s->train_start || !s->test_start || s->n_splits < 1)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: splits are empty or NULL", who);
    if (s->n != n)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "%s: splits are for %d items, data has %d", who, s->n, n);
    for (k = 0; k < s->n_splits; k++) {
        if (s->train_start[k + 1] <= s->train_start[k] || s->test_start[k + 1] <= s->test_start[k])
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: split %d has an empty train or test set", who, k);
        for (i = s->train_start[k]; i < s->train_start[k + 1]; i++)
            if (s->train[i] < 0 || s->train[i] >= n)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: split %d train index %d out of range [0,%d)", who, k, s->train[i], n);
        for (i = s->test_start[k]; i < s->test_start[k + 1]; i++)
            if (s->test[i] < 0 || s->test[i] >= n)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: split %d test index %d out of range [0,%d)", who, k, s->test[i], n);
    }
    return CONVRNN_OK;
}

/* ================================================================ dense kernels (deterministic) */

#define CONVRNN__M_PAR_MIN 1000000.0  /* below this many multiply-adds a loop stays on one thread */

/* y[i] = X[i,:] . w, i < n  (X n x p) */
static void convrnn__m_gemv_rows(const double *X, int n, int p, const double *w, double *y) {
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) if ((double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) y[i] = convrnn__m_dot(X + (size_t)i * p, w, (size_t)p);
}
/* y[j] = sum_i X[i,j] t[i], j < p. Rows are streamed in a fixed number of contiguous chunks whose
   partial sums are added in chunk order, so the result does not depend on the thread count. */
#define CONVRNN__M_NCH 16
static void convrnn__m_gemv_cols(const double *X, int n, int p, const double *t, double *y) {
    double *part;
    int c, j;
    if ((double)n * p <= CONVRNN__M_PAR_MIN ||
        !(part = convrnn__m_dalloc((size_t)CONVRNN__M_NCH * (size_t)p))) {
        int i;
        for (j = 0; j < p; j++) y[j] = 0;
        for (i = 0; i < n; i++) convrnn__m_axpy(y, t[i], X + (size_t)i * p, (size_t)p);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
    for (c = 0; c < CONVRNN__M_NCH; c++) {
        int per = (n + CONVRNN__M_NCH - 1) / CONVRNN__M_NCH, i0 = c * per, i1 = i0 + per < n ? i0 + per : n, i, k;
        double *yy = part + (size_t)c * p;
        for (k = 0; k < p; k++) yy[k] = 0;
        for (i = i0; i < i1; i++) convrnn__m_axpy(yy, t[i], X + (size_t)i * p, (size_t)p);
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (j = 0; j < p; j++) {
        double s = part[j];
        for (c = 1; c < CONVRNN__M_NCH; c++) s += part[(size_t)c * p + j];
        y[j] = s;
    }
    convrnn_free(NULL, part);
}

/* Fused pass for PLS: t[i] = X[i,:] . w - sum_j coef[j] T[j][i] (j < k, in order), then
   y = X' t, reading each row once (it is still in cache for the second product). The result is
   bitwise the same as gemv_rows, the corrections, then gemv_cols. */
static void convrnn__m_gemv_fused(const double *X, int n, int p, const double *w, const double *T, const double *coef,
                                  int k, double *t, double *y) {
    double *part = NULL;
    int c, j, nch = CONVRNN__M_NCH;
    if ((double)n * p <= CONVRNN__M_PAR_MIN || !(part = convrnn__m_dalloc((size_t)CONVRNN__M_NCH * (size_t)p))) {
        int i;
        for (i = 0; i < n; i++) {
            double v = convrnn__m_dot(X + (size_t)i * p, w, (size_t)p);
            for (j = 0; j < k; j++) v += -coef[j] * T[(size_t)j * n + i];
            t[i] = v;
        }
        convrnn__m_gemv_cols(X, n, p, t, y);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
    for (c = 0; c < nch; c++) {
        int per = (n + CONVRNN__M_NCH - 1) / CONVRNN__M_NCH, i0 = c * per, i1 = i0 + per < n ? i0 + per : n, i, l;
        double *yy = part + (size_t)c * p;
        for (l = 0; l < p; l++) yy[l] = 0;
        for (i = i0; i < i1; i++) {
            const double *xr = X + (size_t)i * p;
            double v = convrnn__m_dot(xr, w, (size_t)p);
            for (l = 0; l < k; l++) v += -coef[l] * T[(size_t)l * n + i];
            t[i] = v;
            convrnn__m_axpy(yy, v, xr, (size_t)p);
        }
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (j = 0; j < p; j++) {
        double s = part[j];
        for (c = 1; c < CONVRNN__M_NCH; c++) s += part[(size_t)c * p + j];
        y[j] = s;
    }
    convrnn_free(NULL, part);
}

/* C (m x q) = A^T B with A (n x m), B (n x q), row-major. Packed 4x4 register blocks over chunks
   of 256 rows; every C[j][c] is summed over i in increasing order by the same code path whatever
   the thread count. */
#define CONVRNN__M_KC 256
#define CONVRNN__M_MB 64
static void convrnn__m_kern4x4(const double *a, const double *b, int ldb, int kc, double *c, int ldc) {
#if defined(CONVRNN__M_VEC4)
    convrnn__m_v4 c0, c1, c2, c3, bv;
    int i;
    memcpy(&c0, c, 32); memcpy(&c1, c + ldc, 32); memcpy(&c2, c + 2 * ldc, 32); memcpy(&c3, c + 3 * ldc, 32);
    for (i = 0; i < kc; i++) {
        const double *ar = a + 4 * i;
        memcpy(&bv, b + (size_t)i * ldb, 32);
        c0 += ar[0] * bv; c1 += ar[1] * bv; c2 += ar[2] * bv; c3 += ar[3] * bv;
    }
    memcpy(c, &c0, 32); memcpy(c + ldc, &c1, 32); memcpy(c + 2 * ldc, &c2, 32); memcpy(c + 3 * ldc, &c3, 32);
#elif defined(CONVRNN__M_VEC)
    convrnn__m_v2 c0, d0, c1, d1, c2, d2, c3, d3, bv, bw;
    int i;
    memcpy(&c0, c, 16); memcpy(&d0, c + 2, 16); memcpy(&c1, c + ldc, 16); memcpy(&d1, c + ldc + 2, 16);
    memcpy(&c2, c + 2 * ldc, 16); memcpy(&d2, c + 2 * ldc + 2, 16);
    memcpy(&c3, c + 3 * ldc, 16); memcpy(&d3, c + 3 * ldc + 2, 16);
    for (i = 0; i < kc; i++) {
        const double *ar = a + 4 * i;
        memcpy(&bv, b + (size_t)i * ldb, 16); memcpy(&bw, b + (size_t)i * ldb + 2, 16);
        c0 += ar[0] * bv; d0 += ar[0] * bw; c1 += ar[1] * bv; d1 += ar[1] * bw;
        c2 += ar[2] * bv; d2 += ar[2] * bw; c3 += ar[3] * bv; d3 += ar[3] * bw;
    }
    memcpy(c, &c0, 16); memcpy(c + 2, &d0, 16); memcpy(c + ldc, &c1, 16); memcpy(c + ldc + 2, &d1, 16);
    memcpy(c + 2 * ldc, &c2, 16); memcpy(c + 2 * ldc + 2, &d2, 16);
    memcpy(c + 3 * ldc, &c3, 16); memcpy(c + 3 * ldc + 2, &d3, 16);
#else
    double c00 = c[0], c01 = c[1], c02 = c[2], c03 = c[3];
    double c10 = c[ldc], c11 = c[ldc + 1], c12 = c[ldc + 2], c13 = c[ldc + 3];
    double c20 = c[2 * ldc], c21 = c[2 * ldc + 1], c22 = c[2 * ldc + 2], c23 = c[2 * ldc + 3];
    double c30 = c[3 * ldc], c31 = c[3 * ldc + 1], c32 = c[3 * ldc + 2], c33 = c[3 * ldc + 3];
    int i;
    for (i = 0; i < kc; i++) {
        const double *br = b + (size_t)i * ldb, *ar = a + 4 * i;
        double b0 = br[0], b1 = br[1], b2 = br[2], b3 = br[3];
        double a0 = ar[0], a1 = ar[1], a2 = ar[2], a3 = ar[3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    }
    c[0] = c00; c[1] = c01; c[2] = c02; c[3] = c03;
    c[ldc] = c10; c[ldc + 1] = c11; c[ldc + 2] = c12; c[ldc + 3] = c13;
    c[2 * ldc] = c20; c[2 * ldc + 1] = c21; c[2 * ldc + 2] = c22; c[2 * ldc + 3] = c23;
    c[3 * ldc] = c30; c[3 * ldc + 1] = c31; c[3 * ldc + 2] = c32; c[3 * ldc + 3] = c33;
#endif
}
/* generic edge kernel: same accumulation order (per element, increasing i) */
static void convrnn__m_kern_edge(const double *a, int mr, const double *b, int ldb, int nr, int kc, double *c, int ldc) {
    int r, s, i;
    for (r = 0; r < mr; r++)
        for (s = 0; s < nr; s++) {
            double acc = c[(size_t)r * ldc + s];
            for (i = 0; i < kc; i++) acc += a[4 * i + r] * b[(size_t)i * ldb + s];
            c[(size_t)r * ldc + s] = acc;
        }
}
static convrnn_status convrnn__m_gemm_tn(const double *A, int n, int m, const double *B, int q, double *C) {
    int nb = (m + CONVRNN__M_MB - 1) / CONVRNN__M_MB, b, fail = 0;
    memset(C, 0, (size_t)m * q * sizeof(double));
#ifdef _OPENMP
#pragma omp parallel if ((double)n * m * q > CONVRNN__M_PAR_MIN)
#endif
    {
        double *pk = convrnn__m_dalloc((size_t)CONVRNN__M_KC * CONVRNN__M_MB);
        if (!pk) {
#ifdef _OPENMP
#pragma omp atomic
#endif
            fail++;
        }
#ifdef _OPENMP
#pragma omp for schedule(dynamic)
#endif
        for (b = 0; b < nb; b++) {
            int j0 = b * CONVRNN__M_MB, j1 = j0 + CONVRNN__M_MB < m ? j0 + CONVRNN__M_MB : m, i0;
            if (!pk) continue;
            for (i0 = 0; i0 < n; i0 += CONVRNN__M_KC) {
                int kc = i0 + CONVRNN__M_KC < n ? CONVRNN__M_KC : n - i0, jp, i, r, c0;
                /* pack A[i0:i0+kc, j0:j1] as panels of 4 columns: pk[panel][i][4] */
                for (jp = j0; jp < j1; jp += 4) {
                    double *dst = pk + (size_t)(jp - j0) * kc;
                    int mr = j1 - jp < 4 ? j1 - jp : 4;
                    for (i = 0; i < kc; i++) {
                        const double *src = A + (size_t)(i0 + i) * m + jp;
                        for (r = 0; r < mr; r++) dst[4 * i + r] = src[r];
                        for (; r < 4; r++) dst[4 * i + r] = 0;
                    }
                }
                for (c0 = 0; c0 < q; c0 += 4) {
                    int nr = q - c0 < 4 ? q - c0 : 4;
                    for (jp = j0; jp < j1; jp += 4) {
                        int mr = j1 - jp < 4 ? j1 - jp : 4;
                        const double *pa = pk + (size_t)(jp - j0) * kc, *pb = B + (size_t)i0 * q + c0;
                        double *pc = C + (size_t)jp * q + c0;
                        if (mr == 4 && nr == 4) convrnn__m_kern4x4(pa, pb, q, kc, pc, q);
                        else convrnn__m_kern_edge(pa, mr, pb, q, nr, kc, pc, q);
                    }
                }
            }
        }
        convrnn_free(NULL, pk);
    }
    return fail ? CONVRNN_ERR_NOMEM : CONVRNN_OK;
}

/* G (m x m) = S^T S for S (p x m): symmetric, computed as gemm_tn of S with itself */
static convrnn_status convrnn__m_syrk_tn(const double *S, int p, int m, double *G) {
    return convrnn__m_gemm_tn(S, p, m, S, m, G);
}
/* G (p x p) = S S^T for S (p x q): G[i][j] = S_i . S_j */
static void convrnn__m_syrk_nt(const double *S, int p, int q, double *G) {
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if ((double)p * p * q > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < p; i++) {
        int j;
        for (j = 0; j < p; j++) G[(size_t)i * p + j] = convrnn__m_dot(S + (size_t)i * q, S + (size_t)j * q, (size_t)q);
    }
}
/* out = G v for symmetric explicit m x m G */
static void convrnn__m_symv(const double *G, int m, const double *v, double *out) {
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)m * m > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < m; i++) out[i] = convrnn__m_dot(G + (size_t)i * m, v, (size_t)m);
}

/* ================================================================ PLS */

CONVRNNDEF void convrnn_pls_options_default(convrnn_pls_options *o) {
    o->n_components = 25;
    o->algorithm = CONVRNN_PLS_NIPALS;
    o->max_iter = 500;
    o->tol = 1e-6;
}

CONVRNNDEF void convrnn_pls_free(convrnn_pls *m) {
    if (!m) return;
    convrnn_free(NULL, m->x_mean); convrnn_free(NULL, m->y_mean);
    convrnn_free(NULL, m->x_weights); convrnn_free(NULL, m->x_loadings);
    convrnn_free(NULL, m->y_loadings); convrnn_free(NULL, m->x_rotations);
    convrnn_free(NULL, m->x_scores); convrnn_free(NULL, m->coef); convrnn_free(NULL, m->n_iter);
    memset(m, 0, sizeof *m);
}

/* Largest min(p,q) for which the Gram matrix of S is stored (above it, it is applied through S). */
#ifndef CONVRNN__M_GRAM_MAX
#define CONVRNN__M_GRAM_MAX 3000
#endif

/* The small Gram operator of S (p x q): q-space G = S^T S (iterate v, w = S v) when q <= p,
   else p-space G = S S^T (iterate w directly). Explicit when m is moderate, else applied through S. */
typedef struct convrnn__m_gram {
    int p, q, m, qspace, explicit_g;
    double *S;      /* p x q, owned by the caller */
    double *G;      /* m x m or NULL */
    double *tmp;    /* max(p, q) */
} convrnn__m_gram;

static void convrnn__m_gram_apply(const convrnn__m_gram *g, const double *v, double *out) {
    if (g->explicit_g) { convrnn__m_symv(g->G, g->m, v, out); return; }
    if (g->qspace) { /* out = S^T (S v) */
        convrnn__m_gemv_rows(g->S, g->p, g->q, v, g->tmp);
        convrnn__m_gemv_cols(g->S, g->p, g->q, g->tmp, out);
    } else {         /* out = S (S^T v) */
        convrnn__m_gemv_cols(g->S, g->p, g->q, v, g->tmp);
        convrnn__m_gemv_rows(g->S, g->p, g->q, g->tmp, out);
    }
}
/* w (p) = unit vector along M v, M = S (q-space) or I (p-space) */
static void convrnn__m_gram_to_w(const convrnn__m_gram *g, const double *v, double *w) {
    double nrm;
    int j;
    if (g->qspace) convrnn__m_gemv_rows(g->S, g->p, g->q, v, w);
    else memcpy(w, v, (size_t)g->p * sizeof(double));
    nrm = sqrt(convrnn__m_dot(w, w, (size_t)g->p));
    if (nrm > 0)
        for (j = 0; j < g->p; j++) w[j] /= nrm;
}
/* |M v|^2 given b = G v */
static double convrnn__m_gram_norm2(const convrnn__m_gram *g, const double *v, const double *b) {
    return g->qspace ? convrnn__m_dot(v, b, (size_t)g->m) : convrnn__m_dot(v, v, (size_t)g->m);
}
static convrnn_status convrnn__m_gram_refresh(convrnn__m_gram *g) {
    if (!g->explicit_g) return CONVRNN_OK;
    if (g->qspace) return convrnn__m_syrk_tn(g->S, g->p, g->q, g->G);
    convrnn__m_syrk_nt(g->S, g->p, g->q, g->G);
    return CONVRNN_OK;
}

/* sklearn's NIPALS power iteration, run in the Gram space. start: v0 (m). Returns the iterate v
   whose image M v is w; *n_iter as sklearn counts it. ws: 4m doubles. */
static void convrnn__m_nipals_power(const convrnn__m_gram *g, double *v, int max_iter, double tol, int *n_iter,
                                  double *ws) {
    int m = g->m, it, i;
    double *b = ws, *vn = ws + m, *bn = ws + 2 * m, n2, n2n;
    convrnn__m_gram_apply(g, v, b);
    n2 = convrnn__m_gram_norm2(g, v, b);
    it = 1;
    if (g->q == 1 || !(n2 > 0)) { *n_iter = 1; return; }
    while (it < max_iter) {
        double s = 1.0 / sqrt(n2), sn, diff2 = 0;
        for (i = 0; i < m; i++) vn[i] = b[i] * s; /* v_{i+1} ~ G v_i */
        convrnn__m_gram_apply(g, vn, bn);
        n2n = convrnn__m_gram_norm2(g, vn, bn);
        it++;
        if (!(n2n > 0)) break;
        sn = 1.0 / sqrt(n2n);
        /* |w_new - w_old|^2 = d' G d (q-space) or d'd (p-space), d = vn/|M vn| - v/|M v| */
        if (g->qspace) {
            for (i = 0; i < m; i++) diff2 += (vn[i] * sn - v[i] * s) * (bn[i] * sn - b[i] * s);
        } else {
            for (i = 0; i < m; i++) { double d = vn[i] * sn - v[i] * s; diff2 += d * d; }
        }
        memcpy(v, vn, (size_t)m * sizeof(double));
        memcpy(b, bn, (size_t)m * sizeof(double));
        n2 = n2n;
        if (diff2 < tol) break;
    }
    *n_iter = it;
}

/* largest eigenvalue of the symmetric tridiagonal (a[0..k-1], e[1..k-1] off-diagonal) by bisection */
static double convrnn__m_tri_top_eig(const double *a, const double *e, int k) {
    double lo = a[0], hi = a[0];
    int i, iter;
    for (i = 0; i < k; i++) {
        double r = (i > 0 ? fabs(e[i]) : 0) + (i + 1 < k ? fabs(e[i + 1]) : 0);
        if (a[i] - r < lo) lo = a[i] - r;
        if (a[i] + r > hi) hi = a[i] + r;
    }
    for (iter = 0; iter < 200; iter++) {
        double x = 0.5 * (lo + hi), d = 1.0;
        int cnt = 0; /* eigenvalues < x */
        if (x <= lo || x >= hi) break;
        for (i = 0; i < k; i++) {
            d = a[i] - x - (i > 0 ? e[i] * e[i] / d : 0.0);
            if (d == 0) d = -DBL_MIN * 1e10;
            if (d < 0) cnt++;
        }
        if (cnt == k) hi = x; /* all below x: top < x */
        else lo = x;
    }
    return hi;
}
/* eigenvector of the tridiagonal for eigenvalue th by inverse iteration (partial pivoting) */
static void convrnn__m_tri_eigvec(const double *a, const double *e, int k, double th, double *y, double *ws) {
    double *dl = ws, *d = ws + k, *du = ws + 2 * k, *du2 = ws + 3 * k, *x = ws + 4 * k, scale = 0;
    int i, it;
    for (i = 0; i < k; i++) scale += fabs(a[i]) + (i > 0 ? fabs(e[i]) : 0);
    if (!(scale > 0)) scale = 1;
    for (i = 0; i < k; i++) y[i] = 1.0 / sqrt((double)k) * (1.0 + 0.01 * (double)((i * 7919) % 13));
    for (it = 0; it < 4; it++) {
        double nrm = 0;
        /* factor T - th I (LAPACK dgttrf style) */
        for (i = 0; i < k; i++) { d[i] = a[i] - th; dl[i] = i + 1 < k ? e[i + 1] : 0; du[i] = i + 1 < k ? e[i + 1] : 0; du2[i] = 0; }
        for (i = 0; i < k; i++) x[i] = y[i];
        for (i = 0; i + 1 < k; i++) {
            if (fabs(d[i]) >= fabs(dl[i])) {
                double f;
                if (d[i] == 0) d[i] = DBL_EPSILON * scale;
                f = dl[i] / d[i];
                dl[i] = f;
                d[i + 1] -= f * du[i];
                x[i + 1] -= f * x[i];
            } else {
                double f = d[i] / dl[i], t;
                d[i] = dl[i]; dl[i] = f;
                t = du[i]; du[i] = d[i + 1]; d[i + 1] = t - f * d[i + 1];
                if (i + 2 < k) { du2[i] = du[i + 1]; du[i + 1] = -f * du[i + 1]; }
                t = x[i]; x[i] = x[i + 1]; x[i + 1] = t - f * x[i + 1];
            }
        }
        if (d[k - 1] == 0) d[k - 1] = DBL_EPSILON * scale;
        /* back substitution */
        x[k - 1] /= d[k - 1];
        if (k > 1) x[k - 2] = (x[k - 2] - du[k - 2] * x[k - 1]) / d[k - 2];
        for (i = k - 3; i >= 0; i--) x[i] = (x[i] - du[i] * x[i + 1] - du2[i] * x[i + 2]) / d[i];
        for (i = 0; i < k; i++) nrm += x[i] * x[i];
        nrm = sqrt(nrm);
        if (!(nrm > 0) || nrm != nrm) break;
        for (i = 0; i < k; i++) y[i] = x[i] / nrm;
    }
}

/* Top eigenvector of the Gram operator by Lanczos with full reorthogonalisation.
   v: start (m) -> eigenvector (m). Returns steps used, or -1 on allocation failure. */
static int convrnn__m_lanczos_top(const convrnn__m_gram *g, double *v) {
    int m = g->m, kmax = m < 400 ? m : 400, k, i, j, steps = 0, restart;
    double *V = convrnn__m_dalloc((size_t)m * (kmax + 1)), *al = convrnn__m_dalloc((size_t)kmax + 1),
           *be = convrnn__m_dalloc((size_t)kmax + 2), *z = convrnn__m_dalloc((size_t)m), *y = convrnn__m_dalloc((size_t)kmax + 1),
           *ws = convrnn__m_dalloc((size_t)6 * (kmax + 1) + 8);
    if (!V || !al || !be || !z || !y || !ws) {
        convrnn_free(NULL, V); convrnn_free(NULL, al); convrnn_free(NULL, be); convrnn_free(NULL, z);
        convrnn_free(NULL, y); convrnn_free(NULL, ws);
        return -1;
    }
    for (restart = 0; restart < 20; restart++) {
        double nrm = sqrt(convrnn__m_dot(v, v, (size_t)m)), th = 0;
        int conv = 0, kk = 0;
        if (!(nrm > 0)) break;
        for (i = 0; i < m; i++) V[i] = v[i] / nrm;
        be[0] = 0;
        for (k = 0; k < kmax; k++) {
            double *vk = V + (size_t)k * m, res, bnorm;
            int pass;
            convrnn__m_gram_apply(g, vk, z);
            steps++;
            al[k] = convrnn__m_dot(vk, z, (size_t)m);
            for (i = 0; i < m; i++) z[i] -= al[k] * vk[i] + (k > 0 ? be[k] * V[(size_t)(k - 1) * m + i] : 0.0);
            for (pass = 0; pass < 2; pass++) /* full reorthogonalisation, twice */
                for (j = 0; j <= k; j++) {
                    double h = convrnn__m_dot(V + (size_t)j * m, z, (size_t)m);
                    convrnn__m_axpy(z, -h, V + (size_t)j * m, (size_t)m);
                }
            bnorm = sqrt(convrnn__m_dot(z, z, (size_t)m));
            be[k + 1] = bnorm;
            kk = k + 1;
            th = convrnn__m_tri_top_eig(al, be, kk);
            convrnn__m_tri_eigvec(al, be, kk, th, y, ws);
            res = fabs(bnorm * y[kk - 1]);
            if (res <= 1e-14 * fabs(th) || bnorm <= 1e-300 || kk == m) { conv = 1; break; }
            if (k + 1 < kmax) {
                double *vn = V + (size_t)(k + 1) * m;
                for (i = 0; i < m; i++) vn[i] = z[i] / bnorm;
            }
        }
        /* Ritz vector */
        for (i = 0; i < m; i++) {
            double s = 0;
            for (j = 0; j < kk; j++) s += V[(size_t)j * m + i] * y[j];
            v[i] = s;
        }
        if (conv) break;
    }
    convrnn_free(NULL, V); convrnn_free(NULL, al); convrnn_free(NULL, be); convrnn_free(NULL, z);
    convrnn_free(NULL, y); convrnn_free(NULL, ws);
    return steps;
}

/* solve A^T Z = Wc (A k x k, Wc k x p component-major) in place -> Z; partial pivoting. 0 if singular */
static int convrnn__m_solve_at(const double *A, int k, double *Wc, int p) {
    double *M = convrnn__m_dalloc((size_t)k * k + 1);
    int *perm = convrnn__m_ialloc((size_t)k + 1), i, j, c, ok = 1;
    if (!M || !perm) { convrnn_free(NULL, M); convrnn_free(NULL, perm); return -1; }
    for (i = 0; i < k; i++)
        for (j = 0; j < k; j++) M[(size_t)i * k + j] = A[(size_t)j * k + i]; /* M = A^T */
    for (i = 0; i < k; i++) perm[i] = i;
    /* LU with partial pivoting, applying row operations to Wc (rows = components) */
    for (c = 0; c < k && ok; c++) {
        int piv = c;
        double best = fabs(M[(size_t)c * k + c]);
        for (i = c + 1; i < k; i++)
            if (fabs(M[(size_t)i * k + c]) > best) { best = fabs(M[(size_t)i * k + c]); piv = i; }
        if (!(best > 0)) { ok = 0; break; }
        if (piv != c) {
            for (j = 0; j < k; j++) { double t = M[(size_t)c * k + j]; M[(size_t)c * k + j] = M[(size_t)piv * k + j]; M[(size_t)piv * k + j] = t; }
            for (j = 0; j < p; j++) { double t = Wc[(size_t)c * p + j]; Wc[(size_t)c * p + j] = Wc[(size_t)piv * p + j]; Wc[(size_t)piv * p + j] = t; }
        }
        for (i = c + 1; i < k; i++) {
            double f = M[(size_t)i * k + c] / M[(size_t)c * k + c];
            if (f == 0) continue;
            for (j = c; j < k; j++) M[(size_t)i * k + j] -= f * M[(size_t)c * k + j];
            convrnn__m_axpy(Wc + (size_t)i * p, -f, Wc + (size_t)c * p, (size_t)p);
        }
    }
    if (ok)
        for (c = k - 1; c >= 0; c--) {
            double dv = M[(size_t)c * k + c];
            for (i = c + 1; i < k; i++) convrnn__m_axpy(Wc + (size_t)c * p, -M[(size_t)c * k + i], Wc + (size_t)i * p, (size_t)p);
            for (j = 0; j < p; j++) Wc[(size_t)c * p + j] /= dv;
        }
    convrnn_free(NULL, M); convrnn_free(NULL, perm);
    return ok;
}

/* the fit; Xc is a centred n x p matrix we may read (owned by the caller) */
static convrnn_status convrnn__m_pls_core(convrnn_pls *m, const double *Xc, double xnorm2, const double *Y, int n,
                                        int p, int q, const convrnn_pls_options *o, convrnn_error *err) {
    int K = o->n_components, k, i, j, mm, stop = CONVRNN_PLS_STOP_NONE;
    size_t pq, nq = (size_t)n * q;
    double *Yk = NULL, *S = NULL, *G = NULL, *tmp = NULL, *wv = NULL, *ws = NULL, *w, *t, *pv, *qv, *a1, *a2;
    double *W = NULL, *P = NULL, *Q = NULL, *T = NULL, s_ref = 0, *pw = NULL;
    int *nit = NULL;
    convrnn__m_gram g;
    convrnn_status st = CONVRNN_OK;
    if (!convrnn__m_count2((size_t)p, (size_t)q, &pq))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "pls_fit: p*q overflows (p=%d, q=%d)", p, q);
    if (K > p) K = p;   /* the rank of the centred X is at most min(n, p): no more components to size for */
    if (K > n) K = n;
    memset(&g, 0, sizeof g);
    g.p = p; g.q = q;
    g.qspace = q <= p;
    g.m = mm = g.qspace ? q : p;
    g.explicit_g = mm <= CONVRNN__M_GRAM_MAX;
    Yk = convrnn__m_dalloc(nq);
    S = convrnn__m_dalloc(pq);
    G = g.explicit_g ? convrnn__m_dalloc((size_t)mm * mm) : NULL;
    tmp = convrnn__m_dalloc((size_t)(p > q ? p : q) + (size_t)n);
    wv = convrnn__m_dalloc((size_t)6 * ((p > q ? p : q) + 1) + (size_t)n);
    ws = convrnn__m_dalloc((size_t)4 * mm + 4);
    W = convrnn__m_dalloc((size_t)K * p); P = convrnn__m_dalloc((size_t)K * p);
    Q = convrnn__m_dalloc((size_t)K * q); T = convrnn__m_dalloc((size_t)K * n);
    nit = convrnn__m_ialloc((size_t)K);
    pw = convrnn__m_dalloc((size_t)K);
    if (!pw || !Yk || !S || (g.explicit_g && !G) || !tmp || !wv || !ws || !W || !P || !Q || !T || !nit) {
        st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (n=%d, p=%d, q=%d, K=%d)", n, p, q, K);
        goto done;
    }
    g.S = S; g.G = G; g.tmp = tmp;
    w = wv;                       /* p */
    t = wv + (p > q ? p : q) + 1; /* n */
    pv = t + n;                   /* p */
    qv = pv + (p > q ? p : q) + 1;/* q */
    a1 = qv + (p > q ? p : q) + 1;/* max(p,q) */
    a2 = a1 + (p > q ? p : q) + 1;/* max(p,q) */
    /* Y is already centred by the caller */
    memcpy(Yk, Y, nq * sizeof(double));
    if (convrnn__m_gemm_tn(Xc, n, p, Yk, q, S)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
    if (convrnn__m_gram_refresh(&g)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
    s_ref = convrnn__m_dot(S, S, pq);
    for (k = 0; k < K; k++) {
        int j0 = -1, zeroed = 0, c;
        double ynorm2 = 0, lam, tt, snorm2;
        /* sklearn: zero the columns of Y_k that are all below 10 eps, then start at the first column
           with an entry above eps */
        for (c = 0; c < q; c++) {
            int small = 1, any = 0;
            for (i = 0; i < n; i++) {
                double v = fabs(Yk[(size_t)i * q + c]);
                if (v >= 10 * DBL_EPSILON) small = 0;
                if (v > DBL_EPSILON) any = 1;
            }
            if (small) {
                int nz = 0;
                for (i = 0; i < n; i++) { if (Yk[(size_t)i * q + c] != 0) nz = 1; Yk[(size_t)i * q + c] = 0; }
                for (j = 0; j < p; j++) { if (S[(size_t)j * q + c] != 0) nz = 1; S[(size_t)j * q + c] = 0; }
                if (nz) zeroed = 1;
                any = 0;
            }
            if (any && j0 < 0) j0 = c;
        }
        if (zeroed && convrnn__m_gram_refresh(&g)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
        if (j0 < 0) { stop = CONVRNN_PLS_STOP_Y_RESIDUAL; break; }
        for (i = 0; i < (int)nq; i++) ynorm2 += Yk[i] * Yk[i];
        /* start vector: column j0 of S (sklearn: w ~ X_k' Y_k[:, j0]); if that column is zero, the
           column of S with the largest norm (sklearn would produce NaN there) */
        {
            double cn = 0;
            for (j = 0; j < p; j++) cn += S[(size_t)j * q + j0] * S[(size_t)j * q + j0];
            if (!(cn > 0)) {
                double best = 0;
                for (c = 0; c < q; c++) {
                    double s2 = 0;
                    for (j = 0; j < p; j++) s2 += S[(size_t)j * q + c] * S[(size_t)j * q + c];
                    if (s2 > best) { best = s2; j0 = c; }
                }
            }
        }
        if (g.qspace) { for (c = 0; c < q; c++) a1[c] = 0; a1[j0] = 1.0; }
        else for (j = 0; j < p; j++) a1[j] = S[(size_t)j * q + j0];
        if (o->algorithm == CONVRNN_PLS_EXACT) {
            int steps;
            if (g.qspace) { /* start: a fixed mix of e_j0 and a deterministic vector */
                convrnn_rng r;
                convrnn_rng_seed(&r, 12345u + (uint64_t)k);
                for (c = 0; c < q; c++) a1[c] += 0.5 * (convrnn_rng_uniform(&r) - 0.5);
            } else {
                convrnn_rng r;
                double sc = sqrt(convrnn__m_dot(a1, a1, (size_t)p)) / sqrt((double)p);
                convrnn_rng_seed(&r, 12345u + (uint64_t)k);
                for (j = 0; j < p; j++) a1[j] += sc * (convrnn_rng_uniform(&r) - 0.5);
            }
            steps = convrnn__m_lanczos_top(&g, a1);
            if (steps < 0) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (Lanczos)"); goto done; }
            nit[k] = steps;
        } else {
            convrnn__m_nipals_power(&g, a1, o->max_iter, o->tol, &nit[k], ws);
        }
        convrnn__m_gram_apply(&g, a1, a2);
        {
            double vv = convrnn__m_dot(a1, a1, (size_t)mm), n2 = convrnn__m_gram_norm2(&g, a1, a2);
            lam = g.qspace ? (vv > 0 ? n2 / vv : 0) : (n2 > 0 ? sqrt(convrnn__m_dot(a2, a2, (size_t)mm) / n2) : 0);
            /* lam: an estimate of sigma_1(S)^2 */
        }
        if (!(lam > 0) || sqrt(lam) <= 4.0 * n * DBL_EPSILON * sqrt(xnorm2) * sqrt(ynorm2)) {
            stop = CONVRNN_PLS_STOP_Y_RESIDUAL;
            break;
        }
        convrnn__m_gram_to_w(&g, a1, w);
        /* sign: the largest |w_j| (first one) positive */
        {
            int jm = 0;
            double best = -1;
            for (j = 0; j < p; j++)
                if (fabs(w[j]) > best) { best = fabs(w[j]); jm = j; }
            if (w[jm] < 0)
                for (j = 0; j < p; j++) w[j] = -w[j];
        }
        /* t = X_k w = Xc w - sum_j t_j (p_j . w), and Xc' t, in one pass over Xc */
        for (j = 0; j < k; j++) pw[j] = convrnn__m_dot(P + (size_t)j * p, w, (size_t)p);
        convrnn__m_gemv_fused(Xc, n, p, w, T, pw, k, t, pv);
        tt = convrnn__m_dot(t, t, (size_t)n);
        if (!(tt >= DBL_EPSILON * xnorm2) || !(tt > 0)) { stop = CONVRNN_PLS_STOP_X_RANK; break; }
        /* p = X_k' t / tt = (Xc' t - sum_j p_j (t_j . t)) / tt */
        for (j = 0; j < k; j++) convrnn__m_axpy(pv, -convrnn__m_dot(T + (size_t)j * n, t, (size_t)n), P + (size_t)j * p, (size_t)p);
        for (j = 0; j < p; j++) pv[j] /= tt;
        /* q = Y_k' t / tt; deflate Y_k */
        convrnn__m_gemv_cols(Yk, n, q, t, qv);
        for (c = 0; c < q; c++) qv[c] /= tt;
        for (i = 0; i < n; i++) convrnn__m_axpy(Yk + (size_t)i * q, -t[i], qv, (size_t)q);
        /* S_{k+1} = S_k - tt p q'; Gram by the matching rank-2 update */
        if (g.explicit_g) {
            if (g.qspace) { /* G -= g r' + r g' - (a.a) r r', a = p, r = tt q, g = S' a */
                double aa = convrnn__m_dot(pv, pv, (size_t)p);
                convrnn__m_gemv_cols(S, p, q, pv, a2);
                for (c = 0; c < q; c++) a1[c] = tt * qv[c];
                for (i = 0; i < q; i++)
                    for (c = 0; c < q; c++)
                        G[(size_t)i * q + c] += -a2[i] * a1[c] - a1[i] * a2[c] + aa * a1[i] * a1[c];
            } else {        /* G -= h a' + a h' - (r.r) a a', h = S r */
                double rr;
                for (c = 0; c < q; c++) a1[c] = tt * qv[c];
                rr = convrnn__m_dot(a1, a1, (size_t)q);
                convrnn__m_gemv_rows(S, p, q, a1, a2);
                for (i = 0; i < p; i++)
                    for (j = 0; j < p; j++)
                        G[(size_t)i * p + j] += -a2[i] * pv[j] - pv[i] * a2[j] + rr * pv[i] * pv[j];
            }
        }
        for (j = 0; j < p; j++) convrnn__m_axpy(S + (size_t)j * q, -tt * pv[j], qv, (size_t)q);
        snorm2 = convrnn__m_dot(S, S, pq);
        if (g.explicit_g && snorm2 < 1e-4 * s_ref) { /* bound the drift of the updated Gram */
            if (convrnn__m_gram_refresh(&g)) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
            s_ref = snorm2;
        }
        memcpy(W + (size_t)k * p, w, (size_t)p * sizeof(double));
        memcpy(P + (size_t)k * p, pv, (size_t)p * sizeof(double));
        memcpy(Q + (size_t)k * q, qv, (size_t)q * sizeof(double));
        memcpy(T + (size_t)k * n, t, (size_t)n * sizeof(double));
    }
    m->rank = k;
    m->stop_reason = stop;
    /* rotations R = W (P'W)^-1 and coefficients B = R Q' */
    {
        int r = k;
        size_t rp = (size_t)r * p;
        double *A = convrnn__m_dalloc((size_t)r * r + 1), *R = convrnn__m_dalloc(rp + 1), *B = convrnn__m_dalloc(pq);
        if (!A || !R || !B) {
            convrnn_free(NULL, A); convrnn_free(NULL, R); convrnn_free(NULL, B);
            st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (coefficients)");
            goto done;
        }
        for (i = 0; i < r; i++)
            for (j = 0; j < r; j++) A[(size_t)i * r + j] = convrnn__m_dot(P + (size_t)i * p, W + (size_t)j * p, (size_t)p);
        memcpy(R, W, rp * sizeof(double));
        if (r > 0) {
            int ok = convrnn__m_solve_at(A, r, R, p);
            if (ok < 0) { convrnn_free(NULL, A); convrnn_free(NULL, R); convrnn_free(NULL, B); st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory"); goto done; }
            if (!ok) {
                convrnn_free(NULL, A); convrnn_free(NULL, R); convrnn_free(NULL, B);
                st = convrnn_error_set(err, CONVRNN_ERR_NUMERIC, "pls_fit: P'W is singular after %d components", r);
                goto done;
            }
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)p * q * (r + 1) > CONVRNN__M_PAR_MIN)
#endif
        for (j = 0; j < p; j++) {
            double *bj = B + (size_t)j * q;
            int c, l;
            for (c = 0; c < q; c++) bj[c] = 0;
            for (l = 0; l < r; l++) convrnn__m_axpy(bj, R[(size_t)l * p + j], Q + (size_t)l * q, (size_t)q);
        }
        convrnn_free(NULL, A);
        m->x_rotations = R;
        m->coef = B;
    }
    m->x_weights = W; m->x_loadings = P; m->y_loadings = Q; m->x_scores = T; m->n_iter = nit;
    W = P = Q = T = NULL;
    nit = NULL;
done:
    convrnn_free(NULL, Yk); convrnn_free(NULL, S); convrnn_free(NULL, G); convrnn_free(NULL, tmp);
    convrnn_free(NULL, wv); convrnn_free(NULL, ws); convrnn_free(NULL, W); convrnn_free(NULL, P);
    convrnn_free(NULL, Q); convrnn_free(NULL, T); convrnn_free(NULL, nit); convrnn_free(NULL, pw);
    return st;
}

static convrnn_status convrnn__m_pls_check(const convrnn_pls *m, const void *X, const void *Y, int n, int p, int q,
                                         const convrnn_pls_options *opt, convrnn_error *err) {
    size_t cnt;
    if (!m || !X || !Y) return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: NULL argument");
    if (n < 1 || p < 1 || q < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "pls_fit: bad shape n=%d p=%d q=%d", n, p, q);
    if (!convrnn__m_count2((size_t)n, (size_t)p, &cnt) || !convrnn__m_count2((size_t)n, (size_t)q, &cnt) ||
        !convrnn__m_count2((size_t)p, (size_t)q, &cnt) || cnt > ((size_t)-1) / 16)
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "pls_fit: sizes overflow (n=%d p=%d q=%d)", n, p, q);
    if (opt) {
        if (opt->n_components < 1)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: n_components must be >= 1 (got %d)", opt->n_components);
        if (opt->algorithm != CONVRNN_PLS_NIPALS && opt->algorithm != CONVRNN_PLS_EXACT)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: unknown algorithm %d", (int)opt->algorithm);
        if (opt->algorithm == CONVRNN_PLS_NIPALS && (opt->max_iter < 1 || !(opt->tol >= 0)))
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: max_iter=%d tol=%g invalid", opt->max_iter, opt->tol);
    }
    return CONVRNN_OK;
}

#define CONVRNN__M_PLS_RANGE 1e60
static convrnn_status convrnn__m_pls_fit_any(convrnn_pls *m, const double *Xin, double *Xw, const double *Y, int n,
                                             int p, int q, const convrnn_pls_options *opt, convrnn_error *err) {
    convrnn_pls_options o;
    double *Yc = NULL, xnorm2 = 0, *rowss = NULL;
    int i, nb = (p + 511) / 512, b;
    size_t nq = (size_t)n * q, bad;
    convrnn_status st;
    if (opt) o = *opt; else convrnn_pls_options_default(&o);
    memset(m, 0, sizeof *m);
    m->p = p; m->q = q; m->n_components = o.n_components; m->n_train = n;
    if (!convrnn__m_all_finite(Y, nq, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "pls_fit: Y[%lu][%lu] is not finite", (unsigned long)(bad / q), (unsigned long)(bad % q));
    m->x_mean = convrnn__m_dalloc((size_t)p);
    m->y_mean = convrnn__m_dalloc((size_t)q);
    Yc = convrnn__m_dalloc(nq);
    rowss = convrnn__m_dalloc((size_t)n);
    if (!m->x_mean || !m->y_mean || !Yc || !rowss) {
        convrnn_free(NULL, Yc); convrnn_free(NULL, rowss); convrnn_pls_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory (n=%d, p=%d, q=%d)", n, p, q);
    }
    /* column means of X (fixed row order per column) */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if ((double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (b = 0; b < nb; b++) {
        int j0 = b * 512, j1 = j0 + 512 < p ? j0 + 512 : p, r, j;
        double *mu = m->x_mean + j0;
        for (j = 0; j < j1 - j0; j++) mu[j] = 0;
        for (r = 0; r < n; r++) {
            const double *xr = Xin + (size_t)r * p + j0;
            for (j = 0; j < j1 - j0; j++) mu[j] += xr[j];
        }
        for (j = 0; j < j1 - j0; j++) mu[j] /= n;
    }
    for (i = 0; i < p; i++)
        if (!convrnn__m_isfinite(m->x_mean[i])) {
            size_t r;
            for (r = 0; r < (size_t)n; r++)
                if (!convrnn__m_isfinite(Xin[r * p + i])) break;
            convrnn_free(NULL, Yc); convrnn_free(NULL, rowss); convrnn_pls_free(m);
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "pls_fit: X[%lu][%d] is not finite", (unsigned long)r, i);
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) if ((double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) {
        const double *xi = Xin + (size_t)i * p;
        double *xr = Xw + (size_t)i * p, s = 0;
        int j;
        for (j = 0; j < p; j++) { xr[j] = xi[j] - m->x_mean[j]; s += xr[j] * xr[j]; }
        rowss[i] = s;
    }
    for (i = 0; i < n; i++) xnorm2 += rowss[i];
    {
        int c;
        for (c = 0; c < q; c++) m->y_mean[c] = 0;
        for (i = 0; i < n; i++)
            for (c = 0; c < q; c++) m->y_mean[c] += Y[(size_t)i * q + c];
        for (c = 0; c < q; c++) m->y_mean[c] /= n;
        for (i = 0; i < n; i++)
            for (c = 0; c < q; c++) Yc[(size_t)i * q + c] = Y[(size_t)i * q + c] - m->y_mean[c];
    }
    /* the fit forms products of up to four values: beyond 1e+-60 they overflow or underflow and
       the fit would end with "no variance left" instead of a model; an error says why */
    {
        double xa = 0, ya = 0;
        size_t k;
        for (k = 0; k < (size_t)n * p; k++) xa = fmax(xa, fabs(Xw[k]));
        for (k = 0; k < nq; k++) ya = fmax(ya, fabs(Yc[k]));
        const int xbad = xa > CONVRNN__M_PLS_RANGE || (xa > 0 && xa < 1.0 / CONVRNN__M_PLS_RANGE);
        if (xbad || ya > CONVRNN__M_PLS_RANGE) {
            convrnn_free(NULL, Yc); convrnn_free(NULL, rowss); convrnn_pls_free(m);
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_fit: the centred %s reaches %g, outside the supported scale (1e-60 to 1e60); rescale it",
                                     xbad ? "X" : "Y", xbad ? xa : ya);
        }
    }
    st = convrnn__m_pls_core(m, Xw, xnorm2, Yc, n, p, q, &o, err);
    convrnn_free(NULL, Yc); convrnn_free(NULL, rowss);
    if (st) convrnn_pls_free(m);
    return st;
}

CONVRNNDEF convrnn_status convrnn_pls_fit_inplace(convrnn_pls *m, double *X, const double *Y, int n, int p,
                                                  int q, const convrnn_pls_options *opt, convrnn_error *err) {
    convrnn_status st = convrnn__m_pls_check(m, X, Y, n, p, q, opt, err);
    if (st) return st;
    return convrnn__m_pls_fit_any(m, X, X, Y, n, p, q, opt, err);
}

CONVRNNDEF convrnn_status convrnn_pls_fit(convrnn_pls *m, const double *X, const double *Y, int n, int p, int q,
                                          const convrnn_pls_options *opt, convrnn_error *err) {
    double *Xc;
    convrnn_status st = convrnn__m_pls_check(m, X, Y, n, p, q, opt, err);
    if (st) return st;
    Xc = convrnn__m_dalloc((size_t)n * p);
    if (!Xc) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "pls_fit: out of memory copying X (%d x %d)", n, p);
    st = convrnn__m_pls_fit_any(m, X, Xc, Y, n, p, q, opt, err);
    convrnn_free(NULL, Xc);
    return st;
}

CONVRNNDEF convrnn_status convrnn_pls_predict(const convrnn_pls *m, const double *X, int n, double *Yhat,
                                              convrnn_error *err) {
    int p, q, r, i;
    size_t bad;
    if (!m || !X || !Yhat || !m->coef || !m->y_mean) return convrnn_error_set(err, CONVRNN_ERR_ARG, "pls_predict: NULL argument or unfitted model");
    if (n < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "pls_predict: n=%d", n);
    p = m->p; q = m->q; r = m->rank;
    if (!convrnn__m_all_finite(X, (size_t)n * p, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "pls_predict: X[%lu][%lu] is not finite",
                                 (unsigned long)(bad / p), (unsigned long)(bad % p));
    if ((double)r * (p + q) < (double)p * q) {
        /* factored: T = (X - xbar) R', Yhat = T Q' + ybar */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * (r + 1) > CONVRNN__M_PAR_MIN)
#endif
        for (i = 0; i < n; i++) {
            const double *xr = X + (size_t)i * p;
            double *yr = Yhat + (size_t)i * q;
            int l, c, j;
            for (c = 0; c < q; c++) yr[c] = m->y_mean[c];
            for (l = 0; l < r; l++) {
                const double *rl = m->x_rotations + (size_t)l * p;
                double s = 0;
                for (j = 0; j < p; j++) s += (xr[j] - m->x_mean[j]) * rl[j];
                convrnn__m_axpy(yr, s, m->y_loadings + (size_t)l * q, (size_t)q);
            }
        }
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * q > CONVRNN__M_PAR_MIN)
#endif
        for (i = 0; i < n; i++) {
            const double *xr = X + (size_t)i * p;
            double *yr = Yhat + (size_t)i * q;
            int c, j;
            for (c = 0; c < q; c++) yr[c] = 0;
            for (j = 0; j < p; j++) convrnn__m_axpy(yr, xr[j] - m->x_mean[j], m->coef + (size_t)j * q, (size_t)q);
            for (c = 0; c < q; c++) yr[c] += m->y_mean[c];
        }
    }
    return CONVRNN_OK;
}

/* ================================================================ linear decoders */

CONVRNNDEF void convrnn_decoder_options_default(convrnn_decoder_options *o) {
    o->kind = CONVRNN_DECODER_LOGISTIC;
    o->zscore = 1;
    o->lambda = 0.463;
    o->penalize_bias = 0;
    o->C = 1e-3;
    o->bias = 1.0;
    o->tol = -1; /* kind-specific default: 1e-8 (logistic), 1e-6 (SVM) */
    o->max_iter = 10000;
    o->seed = 0;
}

CONVRNNDEF void convrnn_classifier_free(convrnn_classifier *m) {
    if (!m) return;
    convrnn_free(NULL, m->mean); convrnn_free(NULL, m->scale); convrnn_free(NULL, m->W);
    convrnn_free(NULL, m->b); convrnn_free(NULL, m->present);
    memset(m, 0, sizeof *m);
}

/* common checks, z-scoring (Xz: n x p standardised copy), class presence */
static convrnn_status convrnn__m_clf_prepare(convrnn_classifier *m, const double *X, const int *labels, int n, int p,
                                             int n_classes, const convrnn_decoder_options *o, double **Xz_out,
                                             const char *who, convrnn_error *err) {
    size_t np, bad;
    int i, j, npresent = 0;
    double *Xz;
    if (!m || !X || !labels || !o) return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: NULL argument", who);
    memset(m, 0, sizeof *m);
    if (n < 2 || p < 1 || n_classes < 2)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "%s: need n >= 2, p >= 1, n_classes >= 2 (n=%d p=%d classes=%d)",
                                 who, n, p, n_classes);
    if (!convrnn__m_count2((size_t)n, (size_t)p, &np) || np > ((size_t)-1) / 16)
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "%s: n*p overflows", who);
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: labels[%d] = %d outside [0, %d)", who, i, labels[i], n_classes);
    if (!convrnn__m_all_finite(X, np, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "%s: X[%lu][%lu] is not finite", who,
                                 (unsigned long)(bad / p), (unsigned long)(bad % p));
    m->p = p; m->n_classes = n_classes;
    m->mean = convrnn__m_dalloc((size_t)p);
    m->scale = convrnn__m_dalloc((size_t)p);
    m->W = convrnn__m_dcalloc((size_t)n_classes * p);
    m->b = convrnn__m_dcalloc((size_t)n_classes);
    m->present = (unsigned char *)convrnn_calloc(NULL, (size_t)n_classes, 1);
    Xz = convrnn__m_dalloc(np);
    if (!m->mean || !m->scale || !m->W || !m->b || !m->present || !Xz) {
        convrnn_free(NULL, Xz); convrnn_classifier_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "%s: out of memory (n=%d, p=%d)", who, n, p);
    }
    for (i = 0; i < n; i++) m->present[labels[i]] = 1;
    for (j = 0; j < n_classes; j++) npresent += m->present[j];
    if (npresent < 2) {
        convrnn_free(NULL, Xz); convrnn_classifier_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "%s: only %d class present in the training labels (need >= 2)", who, npresent);
    }
    for (j = 0; j < p; j++) { m->mean[j] = 0; m->scale[j] = 1; }
    if (o->zscore) {
        /* StandardScaler: mean, population std; (near-)constant features get scale 1. Each column
           is summed scaled by k_j = convrnn__m_pow2_unit(its largest magnitude). */
        double *k = (double *)convrnn_calloc(NULL, (size_t)p + 1, sizeof(double));
        if (!k) { convrnn_free(NULL, Xz); convrnn_classifier_free(m); return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "%s: out of memory", who); }
        for (i = 0; i < n; i++)
            for (j = 0; j < p; j++) k[j] = fmax(k[j], fabs(X[(size_t)i * p + j]));
        for (j = 0; j < p; j++) { k[j] = convrnn__m_pow2_unit(k[j]); m->mean[j] = 0; m->scale[j] = 0; }
        for (i = 0; i < n; i++)
            for (j = 0; j < p; j++) m->mean[j] += X[(size_t)i * p + j] * k[j];
        for (j = 0; j < p; j++) m->mean[j] /= n;
        for (i = 0; i < n; i++) {
            const double *xr = X + (size_t)i * p;
            for (j = 0; j < p; j++) { double d = xr[j] * k[j] - m->mean[j]; m->scale[j] += d * d; }
        }
        for (j = 0; j < p; j++) {
            double var = m->scale[j] / n, bound = (double)n * DBL_EPSILON * var +
                                                  ((double)n * m->mean[j] * DBL_EPSILON) * ((double)n * m->mean[j] * DBL_EPSILON);
            const double sd = sqrt(var) / k[j];   /* exact: k is a power of two */
            m->mean[j] /= k[j];
            /* (the absolute floor of 10 eps on the std is scikit-learn's, for features that are
               constant up to rounding) */
            m->scale[j] = (var <= bound || !(sd >= 10 * DBL_EPSILON)) ? 1.0 : sd;
        }
        convrnn_free(NULL, k);
    }
    for (i = 0; i < n; i++) {
        const double *xr = X + (size_t)i * p;
        double *zr = Xz + (size_t)i * p;
        for (j = 0; j < p; j++) zr[j] = (xr[j] - m->mean[j]) / m->scale[j];
    }
    *Xz_out = Xz;
    return CONVRNN_OK;
}

/* logistic objective on present classes. theta: [W (cp x p) | b (cp)]. Returns f, fills grad. */
typedef struct convrnn__m_lr {
    const double *X; int n, p, cp; const int *y; /* y: compact class index */
    double lambda; int penb; double *Z; /* n x cp */
    double *lossrow;                      /* n */
} convrnn__m_lr;
static double convrnn__m_lr_eval(const convrnn__m_lr *L, const double *th, double *g) {
    int n = L->n, p = L->p, cp = L->cp, i, nb = (p + 255) / 256, b;
    const double *W = th, *bb = th + (size_t)cp * p;
    double f = 0, reg = 0;
    double *Z = L->Z;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * cp > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) {
        const double *xr = L->X + (size_t)i * p;
        double *zr = Z + (size_t)i * cp, mx = -(double)INFINITY, s = 0;
        int c;
        for (c = 0; c < cp; c++) {
            zr[c] = convrnn__m_dot(xr, W + (size_t)c * p, (size_t)p) + bb[c];
            if (zr[c] > mx) mx = zr[c];
        }
        for (c = 0; c < cp; c++) { zr[c] -= mx; s += exp(zr[c]); }
        L->lossrow[i] = log(s) - zr[L->y[i]];          /* -log softmax of the true class */
        for (c = 0; c < cp; c++) zr[c] = exp(zr[c]) / s; /* probabilities */
    }
    for (i = 0; i < n; i++) f += L->lossrow[i];
    f /= n;
    /* residuals R = (P - Y)/n in place */
    for (i = 0; i < n; i++) {
        double *zr = Z + (size_t)i * cp;
        int c;
        zr[L->y[i]] -= 1.0;
        for (c = 0; c < cp; c++) zr[c] /= n;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * cp > CONVRNN__M_PAR_MIN)
#endif
    for (b = 0; b < nb; b++) {
        int j0 = b * 256, j1 = j0 + 256 < p ? j0 + 256 : p, c, r, j;
        for (c = 0; c < cp; c++) {
            double *gc = g + (size_t)c * p;
            for (j = j0; j < j1; j++) gc[j] = 0;
        }
        for (r = 0; r < n; r++) {
            const double *xr = L->X + (size_t)r * p;
            const double *zr = Z + (size_t)r * cp;
            for (c = 0; c < cp; c++) convrnn__m_axpy(g + (size_t)c * p + j0, zr[c], xr + j0, (size_t)(j1 - j0));
        }
        for (c = 0; c < cp; c++) {
            double *gc = g + (size_t)c * p;
            const double *wc = W + (size_t)c * p;
            for (j = j0; j < j1; j++) gc[j] += L->lambda * wc[j];
        }
    }
    {
        int c;
        for (c = 0; c < cp; c++) {
            double s = 0;
            for (i = 0; i < n; i++) s += Z[(size_t)i * cp + c];
            g[(size_t)cp * p + c] = s + (L->penb ? L->lambda * bb[c] : 0.0);
        }
    }
    reg = convrnn__m_dot(W, W, (size_t)cp * p);
    if (L->penb) reg += convrnn__m_dot(bb, bb, (size_t)cp);
    return f + 0.5 * L->lambda * reg;
}

static double convrnn__m_maxabs(const double *v, size_t n) {
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

CONVRNNDEF convrnn_status convrnn_logreg_fit(convrnn_classifier *m, const double *X, const int *labels, int n,
                                             int p, int n_classes, const convrnn_decoder_options *opt,
                                             convrnn_error *err) {
    convrnn_decoder_options o;
    double *Xz = NULL, *th = NULL, *g = NULL, *d = NULL, *thn = NULL, *gn = NULL, *S = NULL, *Yv = NULL, *rho = NULL,
           *alp = NULL, f, tol;
    int *yc = NULL, *cmap = NULL, cp = 0, i, c, it, mem = 10, head = 0, cnt = 0, converged = 0;
    size_t dim;
    convrnn__m_lr L;
    convrnn_status st;
    memset(&L, 0, sizeof L);
    if (opt) o = *opt; else convrnn_decoder_options_default(&o);
    tol = o.tol > 0 ? o.tol : 1e-8;
    if (!(o.lambda > 0 && convrnn__m_isfinite(o.lambda)))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "logreg_fit: lambda must be finite and > 0 (got %g)", o.lambda);
    if (o.max_iter < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "logreg_fit: max_iter must be >= 1");
    st = convrnn__m_clf_prepare(m, X, labels, n, p, n_classes, &o, &Xz, "logreg_fit", err);
    if (st) return st;
    m->kind = CONVRNN_DECODER_LOGISTIC;
    cmap = convrnn__m_ialloc((size_t)n_classes);
    yc = convrnn__m_ialloc((size_t)n);
    if (!cmap || !yc) goto nomem;
    for (c = 0; c < n_classes; c++) cmap[c] = m->present[c] ? cp++ : -1;
    for (i = 0; i < n; i++) yc[i] = cmap[labels[i]];
    dim = (size_t)cp * (p + 1);
    th = convrnn__m_dcalloc(dim); g = convrnn__m_dalloc(dim); d = convrnn__m_dalloc(dim);
    thn = convrnn__m_dalloc(dim); gn = convrnn__m_dalloc(dim);
    S = convrnn__m_dalloc(dim * mem); Yv = convrnn__m_dalloc(dim * mem);
    rho = convrnn__m_dalloc((size_t)mem); alp = convrnn__m_dalloc((size_t)mem);
    L.X = Xz; L.n = n; L.p = p; L.cp = cp; L.y = yc; L.lambda = o.lambda; L.penb = o.penalize_bias;
    L.Z = convrnn__m_dalloc((size_t)n * cp);
    L.lossrow = convrnn__m_dalloc((size_t)n);
    if (!L.lossrow || !th || !g || !d || !thn || !gn || !S || !Yv || !rho || !alp || !L.Z) goto nomem;
    f = convrnn__m_lr_eval(&L, th, g);
    for (it = 0; it < o.max_iter; it++) {
        double gmax = convrnn__m_maxabs(g, dim), step, gd, fn = 0;
        int k, ls;
        if (gmax <= tol) { converged = 1; break; }
        /* two-loop recursion: d = -H g */
        for (k = 0; k < (int)dim; k++) d[k] = -g[k];
        for (k = 0; k < cnt; k++) {
            int idx = (head - 1 - k + mem) % mem;
            alp[idx] = rho[idx] * convrnn__m_dot(S + (size_t)idx * dim, d, dim);
            convrnn__m_axpy(d, -alp[idx], Yv + (size_t)idx * dim, dim);
        }
        if (cnt > 0) {
            int last = (head - 1 + mem) % mem;
            double gam = convrnn__m_dot(S + (size_t)last * dim, Yv + (size_t)last * dim, dim) /
                         convrnn__m_dot(Yv + (size_t)last * dim, Yv + (size_t)last * dim, dim);
            for (k = 0; k < (int)dim; k++) d[k] *= gam;
        }
        for (k = cnt - 1; k >= 0; k--) {
            int idx = (head - 1 - k + mem) % mem;
            double be = rho[idx] * convrnn__m_dot(Yv + (size_t)idx * dim, d, dim);
            convrnn__m_axpy(d, alp[idx] - be, S + (size_t)idx * dim, dim);
        }
        gd = convrnn__m_dot(g, d, dim);
        if (!(gd < 0)) { /* not a descent direction: restart from steepest descent */
            cnt = 0;
            for (k = 0; k < (int)dim; k++) d[k] = -g[k];
            gd = convrnn__m_dot(g, d, dim);
        }
        step = (cnt == 0) ? 1.0 / sqrt(convrnn__m_dot(g, g, dim)) : 1.0;
        if (cnt == 0 && step > 1.0) step = 1.0;
        for (ls = 0; ls < 60; ls++) { /* backtracking Armijo */
            for (k = 0; k < (int)dim; k++) thn[k] = th[k] + step * d[k];
            fn = convrnn__m_lr_eval(&L, thn, gn);
            if (fn <= f + 1e-4 * step * gd) break;
            /* near the optimum f changes below its rounding level: accept a step that does not
               increase f beyond rounding and reduces the gradient */
            if (fn <= f + 16 * DBL_EPSILON * fabs(f) && convrnn__m_maxabs(gn, dim) < convrnn__m_maxabs(g, dim)) break;
            step *= 0.5;
        }
        if (ls == 60) { converged = convrnn__m_maxabs(g, dim) <= 10 * tol; break; } /* no progress possible */
        {
            int slot = head;
            double sy;
            for (k = 0; k < (int)dim; k++) {
                S[(size_t)slot * dim + k] = thn[k] - th[k];
                Yv[(size_t)slot * dim + k] = gn[k] - g[k];
            }
            sy = convrnn__m_dot(S + (size_t)slot * dim, Yv + (size_t)slot * dim, dim);
            if (sy > 1e-300) {
                rho[slot] = 1.0 / sy;
                head = (head + 1) % mem;
                if (cnt < mem) cnt++;
            }
        }
        memcpy(th, thn, dim * sizeof(double));
        memcpy(g, gn, dim * sizeof(double));
        f = fn;
    }
    m->iterations = it;
    m->converged = converged || convrnn__m_maxabs(g, dim) <= tol;
    for (c = 0; c < n_classes; c++) {
        if (cmap[c] < 0) { m->b[c] = 0; continue; }
        memcpy(m->W + (size_t)c * p, th + (size_t)cmap[c] * p, (size_t)p * sizeof(double));
        m->b[c] = th[(size_t)cp * p + cmap[c]];
    }
    st = CONVRNN_OK;
    goto done;
nomem:
    st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "logreg_fit: out of memory (n=%d, p=%d, classes=%d)", n, p, n_classes);
    convrnn_classifier_free(m);
done:
    convrnn_free(NULL, Xz); convrnn_free(NULL, th); convrnn_free(NULL, g); convrnn_free(NULL, d);
    convrnn_free(NULL, thn); convrnn_free(NULL, gn); convrnn_free(NULL, S); convrnn_free(NULL, Yv);
    convrnn_free(NULL, rho); convrnn_free(NULL, alp); convrnn_free(NULL, yc); convrnn_free(NULL, cmap);
    convrnn_free(NULL, L.Z); convrnn_free(NULL, L.lossrow);
    return st;
}

/* liblinear's dual coordinate descent for the L2-regularised squared-hinge SVM (solver 1, no
   shrinking). Xz: n x p, ysign: +-1, bias: value of the extra feature (<= 0: none). w: p (+1). */
static int convrnn__m_svm_dcd(const double *Xz, int n, int p, const signed char *ysign, double Cc, double bias, double eps,
                              int max_iter, uint64_t seed, double *w, double *alpha, double *QD, int *idx, int *iters) {
    double Dii = 0.5 / Cc;
    int i, it, pw = p + (bias > 0 ? 1 : 0), conv = 0;
    convrnn_rng rng;
    convrnn_rng_seed(&rng, seed);
    for (i = 0; i < pw; i++) w[i] = 0;
    for (i = 0; i < n; i++) {
        alpha[i] = 0;
        QD[i] = Dii + convrnn__m_dot(Xz + (size_t)i * p, Xz + (size_t)i * p, (size_t)p) + (bias > 0 ? bias * bias : 0);
        idx[i] = i;
    }
    for (it = 0; it < max_iter; it++) {
        double pgmax = -(double)INFINITY, pgmin = (double)INFINITY;
        int s;
        convrnn__m_shuffle_int(idx, n, &rng);
        for (s = 0; s < n; s++) {
            int k = idx[s];
            const double *xk = Xz + (size_t)k * p;
            double yk = ysign[k], G, PG;
            G = yk * (convrnn__m_dot(w, xk, (size_t)p) + (bias > 0 ? w[p] * bias : 0)) - 1.0 + Dii * alpha[k];
            PG = (alpha[k] == 0) ? (G < 0 ? G : 0) : G;
            if (PG > pgmax) pgmax = PG;
            if (PG < pgmin) pgmin = PG;
            if (fabs(PG) > 1e-12) {
                double old = alpha[k], dlt;
                alpha[k] = old - G / QD[k];
                if (alpha[k] < 0) alpha[k] = 0;
                dlt = (alpha[k] - old) * yk;
                convrnn__m_axpy(w, dlt, xk, (size_t)p);
                if (bias > 0) w[p] += dlt * bias;
            }
        }
        if (pgmax - pgmin <= eps) { conv = 1; it++; break; }
    }
    *iters = it;
    return conv;
}

CONVRNNDEF convrnn_status convrnn_svm_fit(convrnn_classifier *m, const double *X, const int *labels, int n,
                                          int p, int n_classes, const convrnn_decoder_options *opt,
                                          convrnn_error *err) {
    convrnn_decoder_options o;
    double *Xz = NULL, tol;
    int c, npres = 0, cls[2] = {-1, -1}, fail = 0, maxit = 0, allconv = 1;
    convrnn_status st;
    if (opt) o = *opt; else convrnn_decoder_options_default(&o);
    tol = o.tol > 0 ? o.tol : 1e-6;
    if (!(o.C > 0 && convrnn__m_isfinite(o.C))) return convrnn_error_set(err, CONVRNN_ERR_ARG, "svm_fit: C must be finite and > 0 (got %g)", o.C);
    if (!convrnn__m_isfinite(o.bias)) return convrnn_error_set(err, CONVRNN_ERR_ARG, "svm_fit: bias must be finite (got %g)", o.bias);
    if (o.max_iter < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "svm_fit: max_iter must be >= 1");
    st = convrnn__m_clf_prepare(m, X, labels, n, p, n_classes, &o, &Xz, "svm_fit", err);
    if (st) return st;
    m->kind = CONVRNN_DECODER_SVM;
    for (c = 0; c < n_classes; c++)
        if (m->present[c]) { if (npres < 2) cls[npres] = c; npres++; }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (n_classes > 2 && (double)n * p > CONVRNN__M_PAR_MIN)
#endif
    for (c = 0; c < n_classes; c++) {
        double *w, *alpha, *QD;
        int *idx, i, iters = 0, conv;
        signed char *ys;
        if (!m->present[c] || (npres == 2 && c == cls[0])) continue;
        w = convrnn__m_dalloc((size_t)p + 1);
        alpha = convrnn__m_dalloc((size_t)n);
        QD = convrnn__m_dalloc((size_t)n);
        idx = convrnn__m_ialloc((size_t)n);
        ys = (signed char *)convrnn_malloc(NULL, (size_t)n);
        if (!w || !alpha || !QD || !idx || !ys) {
#ifdef _OPENMP
#pragma omp atomic
#endif
            fail++;
        } else {
            for (i = 0; i < n; i++) ys[i] = (signed char)(labels[i] == c ? 1 : -1);
            conv = convrnn__m_svm_dcd(Xz, n, p, ys, o.C, o.bias, tol, o.max_iter, o.seed + (uint64_t)c * 7919u, w, alpha, QD, idx, &iters);
            memcpy(m->W + (size_t)c * p, w, (size_t)p * sizeof(double));
            m->b[c] = o.bias > 0 ? w[p] * o.bias : 0.0;
#ifdef _OPENMP
#pragma omp critical(convrnn__m_svm_stats)
#endif
            {
                if (iters > maxit) maxit = iters;
                if (!conv) allconv = 0;
            }
        }
        convrnn_free(NULL, w); convrnn_free(NULL, alpha); convrnn_free(NULL, QD);
        convrnn_free(NULL, idx); convrnn_free(NULL, ys);
    }
    if (npres == 2) { /* binary: one problem, mirrored (as liblinear) */
        int j;
        for (j = 0; j < p; j++) m->W[(size_t)cls[0] * p + j] = -m->W[(size_t)cls[1] * p + j];
        m->b[cls[0]] = -m->b[cls[1]];
    }
    convrnn_free(NULL, Xz);
    if (fail) {
        convrnn_classifier_free(m);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "svm_fit: out of memory (n=%d, p=%d)", n, p);
    }
    m->iterations = maxit;
    m->converged = allconv;
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_classifier_fit(convrnn_classifier *m, const double *X, const int *labels,
                                                 int n, int p, int n_classes,
                                                 const convrnn_decoder_options *opt, convrnn_error *err) {
    if (opt && opt->kind == CONVRNN_DECODER_SVM) return convrnn_svm_fit(m, X, labels, n, p, n_classes, opt, err);
    if (opt && opt->kind != CONVRNN_DECODER_LOGISTIC)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "classifier_fit: unknown decoder kind %d", (int)opt->kind);
    return convrnn_logreg_fit(m, X, labels, n, p, n_classes, opt, err);
}

CONVRNNDEF convrnn_status convrnn_classifier_decision(const convrnn_classifier *m, const double *X, int n,
                                                      double *out, convrnn_error *err) {
    int i, p, C;
    size_t bad;
    if (!m || !m->W || !X || !out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "classifier_decision: NULL argument or unfitted model");
    if (n < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "classifier_decision: n=%d", n);
    p = m->p; C = m->n_classes;
    if (!convrnn__m_all_finite(X, (size_t)n * p, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "classifier_decision: X[%lu][%lu] is not finite",
                                 (unsigned long)(bad / p), (unsigned long)(bad % p));
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)n * p * C > CONVRNN__M_PAR_MIN)
#endif
    for (i = 0; i < n; i++) {
        const double *xr = X + (size_t)i * p;
        double *o = out + (size_t)i * C;
        int c, j;
        for (c = 0; c < C; c++) {
            const double *wc = m->W + (size_t)c * p;
            double s0 = 0, s1 = 0;
            if (!m->present[c]) { o[c] = -(double)INFINITY; continue; }
            for (j = 0; j + 1 < p; j += 2) {
                s0 += (xr[j] - m->mean[j]) / m->scale[j] * wc[j];
                s1 += (xr[j + 1] - m->mean[j + 1]) / m->scale[j + 1] * wc[j + 1];
            }
            for (; j < p; j++) s0 += (xr[j] - m->mean[j]) / m->scale[j] * wc[j];
            o[c] = s0 + s1 + m->b[c];
        }
    }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_classifier_proba(const convrnn_classifier *m, const double *X, int n,
                                                   double *out, convrnn_error *err) {
    int i, C;
    convrnn_status st = convrnn_classifier_decision(m, X, n, out, err);
    if (st) return st;
    C = m->n_classes;
    for (i = 0; i < n; i++) {
        double *o = out + (size_t)i * C, mx = -(double)INFINITY, s = 0;
        int c;
        for (c = 0; c < C; c++)
            if (o[c] > mx) mx = o[c];
        for (c = 0; c < C; c++) { o[c] = m->present[c] ? exp(o[c] - mx) : 0.0; s += o[c]; }
        for (c = 0; c < C; c++) o[c] /= s;
    }
    return CONVRNN_OK;
}

/* ================================================================ behaviour: I1 d' and OST */

CONVRNNDEF convrnn_status convrnn_i1_dprime(const double *proba, const int *labels, int n, int n_classes,
                                            const unsigned char *class_valid, double *i1, convrnn_error *err) {
    double *far_sum, *q;
    int *far_cnt, i, a, c;
    size_t cnt;
    if (!proba || !labels || !i1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "i1_dprime: NULL argument");
    if (n < 1 || n_classes < 2) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "i1_dprime: n=%d n_classes=%d", n, n_classes);
    if (!convrnn__m_count2((size_t)n, (size_t)n_classes, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "i1_dprime: n*n_classes overflows");
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "i1_dprime: labels[%d] = %d outside [0, %d)", i, labels[i], n_classes);
    {
        size_t bad;
        if (!convrnn__m_all_finite(proba, cnt, &bad))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "i1_dprime: probability %lu (image %lu, class %lu) is not finite",
                                     (unsigned long)bad, (unsigned long)(bad / (size_t)n_classes), (unsigned long)(bad % (size_t)n_classes));
        for (bad = 0; bad < cnt; bad++)
            if (proba[bad] < 0 || proba[bad] > 1 + 1e-9)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "i1_dprime: probability %lu is %g, outside [0, 1]", (unsigned long)bad, proba[bad]);
    }
    q = convrnn__m_dalloc(cnt);
    far_sum = convrnn__m_dcalloc((size_t)n_classes * n_classes);
    far_cnt = (int *)convrnn_calloc(NULL, (size_t)n_classes * n_classes, sizeof(int));
    if (!q || !far_sum || !far_cnt) {
        convrnn_free(NULL, q); convrnn_free(NULL, far_sum); convrnn_free(NULL, far_cnt);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "i1_dprime: out of memory");
    }
#define CONVRNN__M_VALID(c) (!class_valid || class_valid[c])
    /* q(i,c): probability of choosing distractor c over the true object t_i */
    for (i = 0; i < n; i++) {
        int t = labels[i];
        for (c = 0; c < n_classes; c++) {
            double pc = proba[(size_t)i * n_classes + c], pt = proba[(size_t)i * n_classes + t];
            q[(size_t)i * n_classes + c] = (c == t || !CONVRNN__M_VALID(c) || !CONVRNN__M_VALID(t)) ? convrnn__m_nan() : pc / (pc + pt);
        }
    }
    /* FAR(a, c): mean over test images j of object c of q(j, a) (NaN-skipping) */
    for (i = 0; i < n; i++) {
        int cj = labels[i];
        for (a = 0; a < n_classes; a++) {
            double v = q[(size_t)i * n_classes + a];
            if (v == v) { far_sum[(size_t)a * n_classes + cj] += v; far_cnt[(size_t)a * n_classes + cj]++; }
        }
    }
    for (i = 0; i < n; i++) {
        int t = labels[i], k = 0;
        double s = 0;
        for (c = 0; c < n_classes; c++) {
            double hr, fa, d;
            int fc;
            if (c == t) continue;
            hr = 1.0 - q[(size_t)i * n_classes + c];
            fc = far_cnt[(size_t)t * n_classes + c];
            fa = fc ? far_sum[(size_t)t * n_classes + c] / fc : convrnn__m_nan();
            d = convrnn_norm_ppf(hr) - convrnn_norm_ppf(fa);
            if (d != d) continue;          /* NaN (including inf - inf) drops out of the mean */
            if (d > 5) d = 5;
            if (d < -5) d = -5;
            s += d; k++;
        }
        i1[i] = k ? s / k : convrnn__m_nan();
    }
#undef CONVRNN__M_VALID
    convrnn_free(NULL, q); convrnn_free(NULL, far_sum); convrnn_free(NULL, far_cnt);
    return CONVRNN_OK;
}

CONVRNNDEF double convrnn_ost_image(const double *dprime, const double *bin_ms, int n_bins, double threshold,
                                    convrnn_ost_anchor anchor) {
    int b, have = 0;
    double sl = 0, dl = 0;
    if (threshold != threshold) return convrnn__m_nan();
    for (b = 0; b < n_bins; b++) {
        double d = dprime[b];
        if (d != d) continue;
        if (d >= threshold) {
            double t;
            if (!have) return bin_ms[b];
            /* where a d' is infinite, the interpolation's limits: the anchor's time for d = +inf
               (inf in the denominator), the hit's bin for an anchor at -inf and for d = threshold =
               +inf (inf / inf) */
            t = sl + (threshold - dl) * (bin_ms[b] - sl) / (d - dl);
            return t == t ? t : bin_ms[b];
        }
        if (anchor == CONVRNN_OST_ANCHOR_PREVIOUS_BIN || !have || d > dl) { sl = bin_ms[b]; dl = d; have = 1; }
    }
    return convrnn__m_nan();
}

CONVRNNDEF void convrnn_ost_options_default(convrnn_ost_options *o) {
    convrnn_decoder_options_default(&o->decoder);
    o->anchor = CONVRNN_OST_ANCHOR_MAX_SO_FAR;
}

CONVRNNDEF convrnn_status convrnn_ost_model(const double *features, int n_bins, int n, int p, const int *labels,
                                           int n_classes, const double *bin_ms, const double *thresholds,
                                           const convrnn_splits *splits, const convrnn_ost_options *opt,
                                           double *model_ost, double *dprime, convrnn_error *err) {
    convrnn_ost_options o;
    convrnn_status st;
    double *dp;
    int S, jobs, job, i, b, s, failed_job = -1;
    size_t cnt, total;
    convrnn_error *errs;
    if (!features || !labels || !bin_ms || !thresholds || !model_ost)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_model: NULL argument");
    if (n_bins < 1 || n < 2 || p < 1 || n_classes < 2)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_model: bad shape bins=%d n=%d p=%d classes=%d", n_bins, n, p, n_classes);
    if (!convrnn__m_count3((size_t)n_bins, (size_t)n, (size_t)p, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_model: features size overflows");
    st = convrnn__m_check_splits(splits, n, "ost_model", err);
    if (st) return st;
    for (b = 0; b < n_bins; b++) {
        if (!convrnn__m_isfinite(bin_ms[b]) || (b > 0 && !(bin_ms[b] > bin_ms[b - 1])))
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_model: bin_ms must be finite and increasing (bin %d = %g)", b, bin_ms[b]);
    }
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_model: labels[%d] = %d outside [0, %d)", i, labels[i], n_classes);
    if (opt) o = *opt; else convrnn_ost_options_default(&o);
    S = splits->n_splits;
    jobs = S * n_bins;
    if (!convrnn__m_count3((size_t)S, (size_t)n_bins, (size_t)n, &total))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_model: output size overflows");
    dp = dprime ? dprime : convrnn__m_dalloc(total);
    errs = (convrnn_error *)convrnn_calloc(NULL, (size_t)jobs, sizeof(convrnn_error));
    if (!dp || !errs) {
        if (!dprime) convrnn_free(NULL, dp);
        convrnn_free(NULL, errs);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_model: out of memory");
    }
    for (cnt = 0; cnt < total; cnt++) dp[cnt] = convrnn__m_nan();
    /* one decoder per (split, bin); jobs are independent, each deterministic */
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) if (jobs > 1)
#endif
    for (job = 0; job < jobs; job++) {
        int sp = job / n_bins, bb = job % n_bins, ntr, nte, k, jj;
        const int *tr = splits->train + splits->train_start[sp], *te = splits->test + splits->test_start[sp];
        double *Xtr, *Xte, *P, *d1;
        int *ytr, *yte;
        convrnn_classifier clf;
        convrnn_status js;
        ntr = (int)(splits->train_start[sp + 1] - splits->train_start[sp]);
        nte = (int)(splits->test_start[sp + 1] - splits->test_start[sp]);
        Xtr = convrnn__m_dalloc((size_t)ntr * p);
        Xte = convrnn__m_dalloc((size_t)nte * p);
        P = convrnn__m_dalloc((size_t)nte * n_classes);
        d1 = convrnn__m_dalloc((size_t)nte);
        ytr = convrnn__m_ialloc((size_t)ntr);
        yte = convrnn__m_ialloc((size_t)nte);
        if (!Xtr || !Xte || !P || !d1 || !ytr || !yte) {
            convrnn_error_set(&errs[job], CONVRNN_ERR_NOMEM, "ost_model: out of memory (split %d, bin %d)", sp, bb);
        } else {
            const double *F = features + (size_t)bb * n * p;
            unsigned char *valid;
            for (k = 0; k < ntr; k++) { memcpy(Xtr + (size_t)k * p, F + (size_t)tr[k] * p, (size_t)p * sizeof(double)); ytr[k] = labels[tr[k]]; }
            for (k = 0; k < nte; k++) { memcpy(Xte + (size_t)k * p, F + (size_t)te[k] * p, (size_t)p * sizeof(double)); yte[k] = labels[te[k]]; }
            js = convrnn_classifier_fit(&clf, Xtr, ytr, ntr, p, n_classes, &o.decoder, &errs[job]);
            if (js == CONVRNN_OK) {
                js = convrnn_classifier_proba(&clf, Xte, nte, P, &errs[job]);
                valid = clf.present;
                if (js == CONVRNN_OK) js = convrnn_i1_dprime(P, yte, nte, n_classes, valid, d1, &errs[job]);
                if (js == CONVRNN_OK)
                    for (jj = 0; jj < nte; jj++) dp[((size_t)sp * n_bins + bb) * n + te[jj]] = d1[jj];
                convrnn_classifier_free(&clf);
            }
            if (js != CONVRNN_OK && errs[job].status == CONVRNN_OK) errs[job].status = js;
        }
        convrnn_free(NULL, Xtr); convrnn_free(NULL, Xte); convrnn_free(NULL, P); convrnn_free(NULL, d1);
        convrnn_free(NULL, ytr); convrnn_free(NULL, yte);
    }
    for (job = 0; job < jobs; job++)
        if (errs[job].status != CONVRNN_OK) { failed_job = job; break; }
    if (failed_job >= 0) {
        st = convrnn_error_set(err, errs[failed_job].status, "ost_model (split %d, bin %d): %s", failed_job / n_bins,
                               failed_job % n_bins, errs[failed_job].msg);
    } else {
        double *curve = convrnn__m_dalloc((size_t)n_bins);
        if (!curve) st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_model: out of memory");
        else {
            for (cnt = 0; cnt < (size_t)S * n; cnt++) model_ost[cnt] = convrnn__m_nan();
            for (s = 0; s < S; s++) {
                size_t t;
                for (t = splits->test_start[s]; t < splits->test_start[s + 1]; t++) {
                    int img = splits->test[t];
                    for (b = 0; b < n_bins; b++) curve[b] = dp[((size_t)s * n_bins + b) * n + img];
                    model_ost[(size_t)s * n + img] = convrnn_ost_image(curve, bin_ms, n_bins, thresholds[img], o.anchor);
                }
            }
            convrnn_free(NULL, curve);
            st = CONVRNN_OK;
        }
    }
    if (!dprime) convrnn_free(NULL, dp);
    convrnn_free(NULL, errs);
    return st;
}

CONVRNNDEF convrnn_status convrnn_ost_consistency(const double *model_ost, const double *it_ost,
                                                 const convrnn_splits *splits, int ddof, double *per_split_rho,
                                                 double *per_split_fraction, int *per_split_count,
                                                 convrnn_ost_summary *summary, convrnn_error *err) {
    int S, s, n;
    double *a, *b, *rho, *frac, *rk;
    convrnn__m_vi *ws;
    convrnn_status st;
    if (!model_ost || !it_ost || !splits) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_consistency: NULL argument");
    n = splits->n;
    st = convrnn__m_check_splits(splits, n, "ost_consistency", err);
    if (st) return st;
    S = splits->n_splits;
    a = convrnn__m_dalloc((size_t)n); b = convrnn__m_dalloc((size_t)n);
    rho = convrnn__m_dalloc((size_t)S); frac = convrnn__m_dalloc((size_t)S);
    rk = convrnn__m_dalloc((size_t)2 * n); ws = convrnn__m_vi_alloc((size_t)n);
    if (!a || !b || !rho || !frac || !rk || !ws) {
        convrnn_free(NULL, a); convrnn_free(NULL, b); convrnn_free(NULL, rho); convrnn_free(NULL, frac);
        convrnn_free(NULL, rk); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_consistency: out of memory");
    }
    for (s = 0; s < S; s++) {
        size_t t;
        int k = 0, itk = 0;
        for (t = splits->test_start[s]; t < splits->test_start[s + 1]; t++) {
            int img = splits->test[t];
            double mo = model_ost[(size_t)s * n + img], io = it_ost[img];
            if (convrnn__m_isfinite(io)) {
                itk++;
                if (convrnn__m_isfinite(mo)) { a[k] = mo; b[k] = io; k++; }
            }
        }
        rho[s] = k >= 2 ? convrnn__m_spearman_ws(a, b, (size_t)k, ws, rk) : convrnn__m_nan();
        frac[s] = itk ? (double)k / itk : convrnn__m_nan();
        if (per_split_rho) per_split_rho[s] = rho[s];
        if (per_split_fraction) per_split_fraction[s] = frac[s];
        if (per_split_count) per_split_count[s] = k;
    }
    if (summary) {
        size_t used;
        summary->consistency = convrnn_nanmean(rho, (size_t)S, &used);
        summary->splits_used = (int)used;
        summary->consistency_sem = convrnn_nansem(rho, (size_t)S, ddof, NULL);
        summary->fraction_solved = convrnn_nanmean(frac, (size_t)S, NULL);
    }
    convrnn_free(NULL, a); convrnn_free(NULL, b); convrnn_free(NULL, rho); convrnn_free(NULL, frac);
    convrnn_free(NULL, rk); convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ost_uniform_map(int k_layers, int n_bins, int *layer_of_bin, convrnn_error *err) {
    int j;
    if (!layer_of_bin) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_uniform_map: NULL output");
    if (k_layers < 1 || n_bins < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_uniform_map: k=%d bins=%d", k_layers, n_bins);
    for (j = 0; j < n_bins; j++) layer_of_bin[j] = (int)(((long long)j * k_layers) / n_bins);
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_graded_map_free(convrnn_graded_map *m) {
    if (!m) return;
    convrnn_free(NULL, m->layer); convrnn_free(NULL, m->unit);
    memset(m, 0, sizeof *m);
}

CONVRNNDEF convrnn_status convrnn_ost_graded_map(convrnn_graded_map *out, int k_layers, const int *layer_units,
                                                 int n_bins, int budget, uint64_t seed, convrnn_error *err) {
    int l, j, M, minu, maxu = 0, *pool;
    convrnn_rng rng;
    size_t cnt;
    if (!out || !layer_units) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_map: NULL argument");
    memset(out, 0, sizeof *out);
    if (k_layers < 1 || n_bins < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_graded_map: k=%d bins=%d", k_layers, n_bins);
    minu = layer_units[0];
    for (l = 0; l < k_layers; l++) {
        if (layer_units[l] < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_graded_map: layer %d has %d units", l, layer_units[l]);
        if (layer_units[l] < minu) minu = layer_units[l];
        if (layer_units[l] > maxu) maxu = layer_units[l];
    }
    M = budget > 0 ? budget : (minu < 1000 ? minu : 1000);
    if (M > minu)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_map: budget %d exceeds the smallest layer (%d units)", M, minu);
    if (!convrnn__m_count2((size_t)n_bins, (size_t)M, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_graded_map: overflow");
    out->layer = convrnn__m_ialloc(cnt);
    out->unit = convrnn__m_ialloc(cnt);
    pool = convrnn__m_ialloc((size_t)maxu);
    if (!out->layer || !out->unit || !pool) {
        convrnn_free(NULL, pool); convrnn_graded_map_free(out);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_graded_map: out of memory");
    }
    out->n_bins = n_bins; out->budget = M;
    convrnn_rng_seed(&rng, seed);
    for (j = 0; j < n_bins; j++) {
        double u = n_bins > 1 ? (double)j * (k_layers - 1) / (n_bins - 1) : 0.0, w;
        int a = (int)floor(u), nlow, part, k = 0;
        if (a > k_layers - 1) a = k_layers - 1;
        w = u - a;
        nlow = (w == 0 || a + 1 >= k_layers) ? M : (int)floor((1.0 - w) * M + 0.5);
        for (part = 0; part < 2; part++) {
            int layer = a + part, take = part == 0 ? nlow : M - nlow, i;
            if (take <= 0) continue;
            for (i = 0; i < layer_units[layer]; i++) pool[i] = i;
            for (i = 0; i < take; i++) { /* partial Fisher-Yates: draw without replacement */
                int r = i + (int)convrnn_rng_below(&rng, (uint32_t)(layer_units[layer] - i)), t = pool[i];
                pool[i] = pool[r]; pool[r] = t;
                out->layer[(size_t)j * M + k] = layer;
                out->unit[(size_t)j * M + k] = pool[i];
                k++;
            }
        }
    }
    convrnn_free(NULL, pool);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ost_graded_features(const convrnn_graded_map *m, const double *const *layers,
                                                      const int *layer_units, int k_layers, int n, double *out,
                                                      convrnn_error *err) {
    int j, i, u, M;
    if (!m || !layers || !layer_units || !out || !m->layer) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_features: NULL argument");
    M = m->budget;
    for (j = 0; j < m->n_bins * M; j++) {
        int l = m->layer[j];
        if (l < 0 || l >= k_layers || m->unit[j] < 0 || m->unit[j] >= layer_units[l] || !layers[l])
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_graded_features: map entry %d (layer %d, unit %d) does not fit the layers given", j, l, m->unit[j]);
    }
    for (j = 0; j < m->n_bins; j++)
        for (i = 0; i < n; i++)
            for (u = 0; u < M; u++) {
                size_t e = (size_t)j * M + u;
                int l = m->layer[e];
                out[((size_t)j * n + i) * M + u] = layers[l][(size_t)i * layer_units[l] + m->unit[e]];
            }
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ost_pls_features(const double *fit_features, const double *fit_it, int n_fit,
                                                   int p, int q, int n_bins, const double *ost_features,
                                                   int n_ost, const convrnn_pls_options *pls, double *out,
                                                   convrnn_error *err) {
    double *Y;
    int b, i, c;
    size_t cnt;
    convrnn_status st = CONVRNN_OK;
    if (!fit_features || !fit_it || !ost_features || !out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ost_pls_features: NULL argument");
    if (n_fit < 2 || p < 1 || q < 1 || n_bins < 1 || n_ost < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ost_pls_features: bad shape n_fit=%d p=%d q=%d bins=%d n_ost=%d", n_fit, p, q, n_bins, n_ost);
    if (!convrnn__m_count3((size_t)n_fit, (size_t)q, (size_t)n_bins, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ost_pls_features: overflow");
    Y = convrnn__m_dalloc((size_t)n_fit * q);
    if (!Y) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ost_pls_features: out of memory");
    for (b = 0; b < n_bins && !st; b++) {
        convrnn_pls m;
        for (i = 0; i < n_fit; i++)
            for (c = 0; c < q; c++) Y[(size_t)i * q + c] = fit_it[((size_t)i * q + c) * n_bins + b];
        st = convrnn_pls_fit(&m, fit_features + (size_t)b * n_fit * p, Y, n_fit, p, q, pls, err);
        if (st) break;
        st = convrnn_pls_predict(&m, ost_features + (size_t)b * n_ost * p, n_ost, out + (size_t)b * n_ost * q, err);
        convrnn_pls_free(&m);
    }
    convrnn_free(NULL, Y);
    return st;
}

/* ================================================================ noise ceilings */

CONVRNNDEF double convrnn_ceiling_bs2019(double r, double c) { return (r / c) * (r / c); }
CONVRNNDEF double convrnn_ceiling_bs2026(double r, double c) { return r * r / c; }
CONVRNNDEF double convrnn_ceiling_neuronwise(double r_j, double c_j) { return r_j * r_j / c_j; }
CONVRNNDEF double convrnn_ceiling_linear(double score, double c) { return score / c; }
CONVRNNDEF double convrnn_ceiling_r_nc(double r_xy, double r_xx, double r_yy) {
    double d = convrnn_spearman_brown(r_xx, 2.0) * convrnn_spearman_brown(r_yy, 2.0);
    return d > 0 ? r_xy / sqrt(d) : convrnn__m_nan();
}
CONVRNNDEF double convrnn_ceiling_ev_nc(double r_xy, double r_xx, double r_yy) {
    double r = convrnn_ceiling_r_nc(r_xy, r_xx, r_yy);
    return r * r;
}
CONVRNNDEF double convrnn_ceiling_r_nc_neuron(double r_xy, double r_yy) {
    double d = convrnn_spearman_brown(r_yy, 2.0);
    return d > 0 ? r_xy / sqrt(d) : convrnn__m_nan();
}
CONVRNNDEF double convrnn_ceiling_split_ratio_sb(double r_cross, double r_xx, double r_yy) {
    double d = r_xx * r_yy;
    return d > 0 ? convrnn_spearman_brown(r_cross / sqrt(d), 2.0) : convrnn__m_nan();
}

/* mean over a subset of trials: resp (R x E) -> out (E), trials idx[0..k) */
static void convrnn__m_trial_mean(const double *resp, size_t E, const int *idx, int k, double *out) {
    size_t e;
    int t;
    for (e = 0; e < E; e++) out[e] = 0;
    for (t = 0; t < k; t++) convrnn__m_axpy(out, 1.0, resp + (size_t)idx[t] * E, E);
    for (e = 0; e < E; e++) out[e] /= k;
}

/* Pearson between column (j) of two (N x W) matrices with stride W */
static double convrnn__m_pearson_strided(const double *A, const double *B, int N, size_t W, size_t j, double *ws) {
    int i;
    for (i = 0; i < N; i++) { ws[i] = A[(size_t)i * W + j]; ws[N + i] = B[(size_t)i * W + j]; }
    return convrnn_pearson(ws, ws + N, (size_t)N);
}

static convrnn_status convrnn__m_split_half(const double *resp, int R, int N, int Q, int B, int n_splits,
                                            uint64_t seed, int ddof, double *per_site, double *per_split,
                                            double *ceiling, double *error, convrnn_error *err) {
    size_t E, cnt, bad;
    double *h1, *h2, *rho, *split_med, *ws, *med_ws;
    int *perm, s, b, j, h;
    convrnn_rng rng;
    if (!resp) return convrnn_error_set(err, CONVRNN_ERR_ARG, "ceiling_split_half: NULL responses");
    if (R < 2 || N < 2 || Q < 1 || B < 1 || n_splits < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "ceiling_split_half: need R >= 2 trials, N >= 2 images (R=%d N=%d Q=%d B=%d splits=%d)",
                                 R, N, Q, B, n_splits);
    if (!convrnn__m_count3((size_t)N, (size_t)Q, (size_t)B, &E) || !convrnn__m_count2(E, (size_t)R, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "ceiling_split_half: size overflow");
    if (!convrnn__m_all_finite(resp, cnt, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "ceiling_split_half: response element %lu (trial %lu) is not finite",
                                 (unsigned long)bad, (unsigned long)(bad / E));
    h1 = convrnn__m_dalloc(E); h2 = convrnn__m_dalloc(E);
    rho = convrnn__m_dcalloc((size_t)Q * B * n_splits);
    split_med = convrnn__m_dalloc((size_t)n_splits * B);
    ws = convrnn__m_dalloc((size_t)2 * N);
    med_ws = convrnn__m_dalloc((size_t)Q + (size_t)n_splits);
    perm = convrnn__m_ialloc((size_t)R);
    if (!h1 || !h2 || !rho || !split_med || !ws || !med_ws || !perm) {
        convrnn_free(NULL, h1); convrnn_free(NULL, h2); convrnn_free(NULL, rho); convrnn_free(NULL, split_med);
        convrnn_free(NULL, ws); convrnn_free(NULL, med_ws); convrnn_free(NULL, perm);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "ceiling_split_half: out of memory");
    }
    convrnn_rng_seed(&rng, seed);
    h = R / 2;
    for (s = 0; s < n_splits; s++) {
        for (j = 0; j < R; j++) perm[j] = j;
        convrnn__m_shuffle_int(perm, R, &rng);
        convrnn__m_trial_mean(resp, E, perm, h, h1);
        convrnn__m_trial_mean(resp, E, perm + h, R - h, h2);
        for (j = 0; j < Q; j++)
            for (b = 0; b < B; b++) {
                double r = convrnn__m_pearson_strided(h1, h2, N, (size_t)Q * B, (size_t)j * B + b, ws);
                rho[((size_t)s * Q + j) * B + b] = convrnn_spearman_brown(r, 2.0);
            }
        for (b = 0; b < B; b++) {
            for (j = 0; j < Q; j++) med_ws[j] = rho[((size_t)s * Q + j) * B + b];
            split_med[(size_t)b * n_splits + s] = convrnn__m_nanmedian_ws(med_ws, (size_t)Q, med_ws, NULL);
        }
    }
    if (per_split) memcpy(per_split, split_med, (size_t)n_splits * B * sizeof(double));
    for (b = 0; b < B; b++) {
        const double *v = split_med + (size_t)b * n_splits;
        if (ceiling) ceiling[b] = convrnn_nanmean(v, (size_t)n_splits, NULL);
        if (error) error[b] = convrnn_nansem(v, (size_t)n_splits, ddof, NULL);
    }
    if (per_site)
        for (j = 0; j < Q; j++)
            for (b = 0; b < B; b++) {
                for (s = 0; s < n_splits; s++) med_ws[s] = rho[((size_t)s * Q + j) * B + b];
                per_site[(size_t)j * B + b] = convrnn_nanmean(med_ws, (size_t)n_splits, NULL);
            }
    convrnn_free(NULL, h1); convrnn_free(NULL, h2); convrnn_free(NULL, rho); convrnn_free(NULL, split_med);
    convrnn_free(NULL, ws); convrnn_free(NULL, med_ws); convrnn_free(NULL, perm);
    return CONVRNN_OK;
}

CONVRNNDEF convrnn_status convrnn_ceiling_split_half_temporal(const double *resp, int R, int N, int Q, int B,
                                                              int n_splits, uint64_t seed, int ddof,
                                                              double *per_site, double *ceiling, double *error,
                                                              convrnn_error *err) {
    return convrnn__m_split_half(resp, R, N, Q, B, n_splits, seed, ddof, per_site, NULL, ceiling, error, err);
}

CONVRNNDEF convrnn_status convrnn_ceiling_split_half(const double *resp, int R, int N, int Q, int n_splits,
                                                     uint64_t seed, int ddof, double *per_site, double *per_split,
                                                     double *ceiling, double *error, convrnn_error *err) {
    return convrnn__m_split_half(resp, R, N, Q, 1, n_splits, seed, ddof, per_site, per_split, ceiling, error, err);
}

/* ================================================================ neural predictivity */

/* Fit the map on the training images and predict the test images.
   src[b]: N x P features for bin b; tgt[b]: N x Q responses for bin b.
   pred: B x nte x Q (bin-major). FIXED: one PLS on the stacked (bin, image) rows. */
static convrnn_status convrnn__m_map_fit_predict(const double *const *src, int P, const double *const *tgt, int Q, int B,
                                                 convrnn_map_kind map, const int *tr, int ntr, const int *te, int nte,
                                                 const convrnn_pls_options *pls, double *pred, convrnn_error *err) {
    int nb = map == CONVRNN_MAP_FIXED ? B : 1, fits = map == CONVRNN_MAP_FIXED ? 1 : B, f;
    size_t rows = (size_t)nb * ntr;
    double *Xs = convrnn__m_dalloc(rows * P), *Ys = convrnn__m_dalloc(rows * Q), *Xt = convrnn__m_dalloc((size_t)nb * nte * P);
    convrnn_status st = CONVRNN_OK;
    if (!Xs || !Ys || !Xt) {
        convrnn_free(NULL, Xs); convrnn_free(NULL, Ys); convrnn_free(NULL, Xt);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "map: out of memory (%lu stacked rows x %d features)", (unsigned long)rows, P);
    }
    for (f = 0; f < fits && !st; f++) {
        int b0 = map == CONVRNN_MAP_FIXED ? 0 : f, k, i;
        convrnn_pls m;
        for (k = 0; k < nb; k++) {
            int b = b0 + k;
            for (i = 0; i < ntr; i++) {
                memcpy(Xs + ((size_t)k * ntr + i) * P, src[b] + (size_t)tr[i] * P, (size_t)P * sizeof(double));
                memcpy(Ys + ((size_t)k * ntr + i) * Q, tgt[b] + (size_t)tr[i] * Q, (size_t)Q * sizeof(double));
            }
            for (i = 0; i < nte; i++)
                memcpy(Xt + ((size_t)k * nte + i) * P, src[b] + (size_t)te[i] * P, (size_t)P * sizeof(double));
        }
        st = convrnn_pls_fit_inplace(&m, Xs, Ys, (int)rows, P, Q, pls, err);
        if (st) break;
        st = convrnn_pls_predict(&m, Xt, nb * nte, pred + (size_t)b0 * nte * Q, err);
        convrnn_pls_free(&m);
    }
    convrnn_free(NULL, Xs); convrnn_free(NULL, Ys); convrnn_free(NULL, Xt);
    return st;
}

/* r over test images between pred (B x nte x Q) and tgt[b] rows te: out (Q x B) */
static void convrnn__m_score_bins(const double *pred, const double *const *tgt, int Q, int B, const int *te, int nte,
                                  double *out, double *ws) {
    int j, b, i;
    for (j = 0; j < Q; j++)
        for (b = 0; b < B; b++) {
            for (i = 0; i < nte; i++) {
                ws[i] = pred[((size_t)b * nte + i) * Q + j];
                ws[nte + i] = tgt[b][(size_t)te[i] * Q + j];
            }
            out[(size_t)j * B + b] = convrnn_pearson(ws, ws + nte, (size_t)nte);
        }
}

/* (N x Q x B) -> bin-major (B x N x Q) */
static void convrnn__m_to_bin_major(const double *in, int N, int Q, int B, double *out) {
    int i, j, b;
    for (i = 0; i < N; i++)
        for (j = 0; j < Q; j++)
            for (b = 0; b < B; b++) out[((size_t)b * N + i) * Q + j] = in[((size_t)i * Q + j) * B + b];
}

static int convrnn__m_split_sizes(const convrnn_splits *s, int *max_tr, int *max_te) {
    int k;
    *max_tr = *max_te = 0;
    for (k = 0; k < s->n_splits; k++) {
        int a = (int)(s->train_start[k + 1] - s->train_start[k]), b = (int)(s->test_start[k + 1] - s->test_start[k]);
        if (a > *max_tr) *max_tr = a;
        if (b > *max_te) *max_te = b;
    }
    return 1;
}

CONVRNNDEF convrnn_status convrnn_neural_predictivity(const double *features, int n_steps, int N, int P,
                                                      const int *bin_steps, const double *target, int Q, int B,
                                                      const convrnn_splits *splits, convrnn_map_kind map,
                                                      const convrnn_pls_options *pls, double *r,
                                                      convrnn_error *err) {
    const double **src = NULL, **tgt = NULL;
    double *T = NULL, *pred = NULL, *ws = NULL;
    size_t cnt, bad;
    int b, s, mtr, mte;
    convrnn_status st;
    if (!features || !bin_steps || !target || !r) return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_predictivity: NULL argument");
    if (n_steps < 1 || N < 2 || P < 1 || Q < 1 || B < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "neural_predictivity: bad shape steps=%d N=%d P=%d Q=%d B=%d", n_steps, N, P, Q, B);
    if (map != CONVRNN_MAP_FIXED && map != CONVRNN_MAP_PER_BIN) return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_predictivity: unknown map %d", (int)map);
    for (b = 0; b < B; b++)
        if (bin_steps[b] < 0 || bin_steps[b] >= n_steps)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_predictivity: bin %d maps to step %d, features have %d steps", b, bin_steps[b], n_steps);
    if (!convrnn__m_count3((size_t)N, (size_t)Q, (size_t)B, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "neural_predictivity: overflow");
    if (!convrnn__m_all_finite(target, cnt, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "neural_predictivity: target[%lu] is not finite", (unsigned long)bad);
    st = convrnn__m_check_splits(splits, N, "neural_predictivity", err);
    if (st) return st;
    convrnn__m_split_sizes(splits, &mtr, &mte);
    src = (const double **)convrnn_malloc(NULL, sizeof(double *) * (size_t)B);
    tgt = (const double **)convrnn_malloc(NULL, sizeof(double *) * (size_t)B);
    T = convrnn__m_dalloc(cnt);
    pred = convrnn__m_dalloc((size_t)B * mte * Q);
    ws = convrnn__m_dalloc((size_t)2 * mte);
    if (!src || !tgt || !T || !pred || !ws) { st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "neural_predictivity: out of memory"); goto done; }
    convrnn__m_to_bin_major(target, N, Q, B, T);
    for (b = 0; b < B; b++) { src[b] = features + (size_t)bin_steps[b] * N * P; tgt[b] = T + (size_t)b * N * Q; }
    for (s = 0; s < splits->n_splits; s++) {
        const int *tr = splits->train + splits->train_start[s], *te = splits->test + splits->test_start[s];
        int ntr = (int)(splits->train_start[s + 1] - splits->train_start[s]), nte = (int)(splits->test_start[s + 1] - splits->test_start[s]);
        st = convrnn__m_map_fit_predict(src, P, tgt, Q, B, map, tr, ntr, te, nte, pls, pred, err);
        if (st) goto done;
        convrnn__m_score_bins(pred, tgt, Q, B, te, nte, r + (size_t)s * Q * B, ws);
    }
done:
    convrnn_free(NULL, (void *)src); convrnn_free(NULL, (void *)tgt);
    convrnn_free(NULL, T); convrnn_free(NULL, pred); convrnn_free(NULL, ws);
    return st;
}

CONVRNNDEF convrnn_status convrnn_neural_score_static(const double *X, int N, int P, const double *Y, int Q,
                                                      const convrnn_splits *splits, const convrnn_pls_options *pls,
                                                      double *score, double *per_split, double *r,
                                                      convrnn_error *err) {
    double *rr, *med, *ws;
    int bin0 = 0, s, S;
    convrnn_status st;
    if (!X || !Y || !score) return convrnn_error_set(err, CONVRNN_ERR_ARG, "neural_score_static: NULL argument");
    if (N < 2 || P < 1 || Q < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "neural_score_static: bad shape N=%d P=%d Q=%d", N, P, Q);
    st = convrnn__m_check_splits(splits, N, "neural_score_static", err);
    if (st) return st;
    S = splits->n_splits;
    rr = r ? r : convrnn__m_dalloc((size_t)S * Q);
    med = convrnn__m_dalloc((size_t)S);
    ws = convrnn__m_dalloc((size_t)Q);
    if (!rr || !med || !ws) {
        if (!r) convrnn_free(NULL, rr);
        convrnn_free(NULL, med); convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "neural_score_static: out of memory");
    }
    st = convrnn_neural_predictivity(X, 1, N, P, &bin0, Y, Q, 1, splits, CONVRNN_MAP_FIXED, pls, rr, err);
    if (!st) {
        for (s = 0; s < S; s++) med[s] = convrnn__m_nanmedian_ws(rr + (size_t)s * Q, (size_t)Q, ws, NULL);
        *score = convrnn_nanmean(med, (size_t)S, NULL);
        if (per_split) memcpy(per_split, med, (size_t)S * sizeof(double));
    }
    if (!r) convrnn_free(NULL, rr);
    convrnn_free(NULL, med); convrnn_free(NULL, ws);
    return st;
}

CONVRNNDEF convrnn_status convrnn_time_average(const double *resp, int N, int Q, int B, const double *bin_ms,
                                               double t0, double t1, double *out, convrnn_error *err) {
    int b, k = 0;
    size_t e;
    if (!resp || !bin_ms || !out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "time_average: NULL argument");
    if (N < 1 || Q < 1 || B < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "time_average: bad shape N=%d Q=%d B=%d", N, Q, B);
    for (b = 0; b < B; b++)
        if (bin_ms[b] >= t0 && bin_ms[b] < t1) k++;
    if (!k) return convrnn_error_set(err, CONVRNN_ERR_ARG, "time_average: no bin starts in [%g, %g)", t0, t1);
    for (e = 0; e < (size_t)N * Q * B; e++)
        if (!convrnn__m_isfinite(resp[e]) && bin_ms[e % (size_t)B] >= t0 && bin_ms[e % (size_t)B] < t1)
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "time_average: response %lu (image %lu, site %lu, bin %lu) is not finite",
                                     (unsigned long)e, (unsigned long)(e / ((size_t)Q * B)), (unsigned long)(e / (size_t)B % (size_t)Q),
                                     (unsigned long)(e % (size_t)B));
    for (e = 0; e < (size_t)N * Q; e++) {
        double s = 0;
        for (b = 0; b < B; b++)
            if (bin_ms[b] >= t0 && bin_ms[b] < t1) s += resp[e * B + b];
        out[e] = s / k;
    }
    return CONVRNN_OK;
}

CONVRNNDEF int convrnn_select_layer(const double *scores, int n_layers) {
    int l, best = -1;
    for (l = 0; l < n_layers; l++)
        if (scores[l] == scores[l] && (best < 0 || scores[l] > scores[best])) best = l;
    return best;
}

CONVRNNDEF convrnn_status convrnn_select_layer_neural(const double *const *layers, const int *layer_p,
                                                      int n_layers, int N, const double *Y, int Q,
                                                      const convrnn_splits *splits, const convrnn_pls_options *pls,
                                                      int *best, double *scores, convrnn_error *err) {
    double *sc;
    int l;
    convrnn_status st = CONVRNN_OK;
    if (!layers || !layer_p || !Y || !best) return convrnn_error_set(err, CONVRNN_ERR_ARG, "select_layer_neural: NULL argument");
    if (n_layers < 1) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "select_layer_neural: n_layers=%d", n_layers);
    sc = scores ? scores : convrnn__m_dalloc((size_t)n_layers);
    if (!sc) return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "select_layer_neural: out of memory");
    for (l = 0; l < n_layers && !st; l++) {
        st = convrnn_neural_score_static(layers[l], N, layer_p[l], Y, Q, splits, pls, &sc[l], NULL, NULL, err);
        if (st) { char tmp[320]; memcpy(tmp, err ? err->msg : "", err ? sizeof tmp : 1); if (err) convrnn_error_set(err, st, "layer %d: %s", l, tmp); }
    }
    if (!st) *best = convrnn_select_layer(sc, n_layers);
    if (!scores) convrnn_free(NULL, sc);
    return st;
}

CONVRNNDEF convrnn_status convrnn_phase_summary(const double *values, int n_splits, int Q, int B,
                                                const int *phase_bins, int n_phase_bins, int ddof, double *per_site,
                                                double *median, double *sem, int *used, convrnn_error *err) {
    double *ps, *ws;
    int j, s, k;
    size_t u;
    if (!values || !phase_bins || !median || !sem) return convrnn_error_set(err, CONVRNN_ERR_ARG, "phase_summary: NULL argument");
    if (n_splits < 1 || Q < 1 || B < 1 || n_phase_bins < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "phase_summary: bad shape splits=%d Q=%d B=%d phase=%d", n_splits, Q, B, n_phase_bins);
    for (k = 0; k < n_phase_bins; k++)
        if (phase_bins[k] < 0 || phase_bins[k] >= B)
            return convrnn_error_set(err, CONVRNN_ERR_ARG, "phase_summary: phase bin %d = %d outside [0, %d)", k, phase_bins[k], B);
    ps = per_site ? per_site : convrnn__m_dalloc((size_t)Q);
    ws = convrnn__m_dalloc((size_t)Q + (size_t)n_splits * n_phase_bins);
    if (!ps || !ws) {
        if (!per_site) convrnn_free(NULL, ps);
        convrnn_free(NULL, ws);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "phase_summary: out of memory");
    }
    for (j = 0; j < Q; j++) {
        double *v = ws + Q;
        int m = 0;
        for (s = 0; s < n_splits; s++)
            for (k = 0; k < n_phase_bins; k++) v[m++] = values[((size_t)s * Q + j) * B + phase_bins[k]];
        ps[j] = convrnn_nanmean(v, (size_t)m, NULL);
    }
    *median = convrnn__m_nanmedian_ws(ps, (size_t)Q, ws, &u);
    *sem = convrnn_nansem(ps, (size_t)Q, ddof, NULL);
    if (used) *used = (int)u;
    if (!per_site) convrnn_free(NULL, ps);
    convrnn_free(NULL, ws);
    return CONVRNN_OK;
}

/* ================================================================ noise-corrected consistency */

CONVRNNDEF void convrnn_consistency_options_default(convrnn_consistency_options *o) {
    convrnn_pls_options_default(&o->pls);
    o->map = CONVRNN_MAP_FIXED;
    o->n_halves = 10;
    o->seed = 1234;
}

CONVRNNDEF void convrnn_consistency_result_free(convrnn_consistency_result *r) {
    if (!r) return;
    convrnn_free(NULL, r->r_xy); convrnn_free(NULL, r->r_xx); convrnn_free(NULL, r->r_yy);
    convrnn_free(NULL, r->r_nc); convrnn_free(NULL, r->r_sb_ratio); convrnn_free(NULL, r->r_nc_neuron);
    memset(r, 0, sizeof *r);
}

/* trial mean of (R x N x U x B) over trials idx -> bin-major (B x N x U) */
static void convrnn__m_trials_to_bins(const double *trials, int N, int U, int B, const int *idx, int k, double *tmp,
                                      double *out) {
    convrnn__m_trial_mean(trials, (size_t)N * U * B, idx, k, tmp);
    convrnn__m_to_bin_major(tmp, N, U, B, out);
}

static void convrnn__m_acc(double *sum, int *cnt, size_t i, double v) {
    if (v == v) { sum[i] += v; cnt[i]++; }
}

CONVRNNDEF convrnn_status convrnn_consistency(const convrnn_source *source, const double *target, int R, int N,
                                              int Q, int B, const convrnn_splits *splits,
                                              const convrnn_consistency_options *opt,
                                              convrnn_consistency_result *res, convrnn_error *err) {
    convrnn_consistency_options o;
    size_t QB, tcnt, scnt = 0, bad, EU;
    int P, Rs = 1, s, h, j, b, mtr, mte, *perm = NULL, *perm_s = NULL, neural;
    double *Tbar = NULL, *T1 = NULL, *T2 = NULL, *Sbar = NULL, *S1 = NULL, *S2 = NULL, *tmp = NULL;
    double *pred = NULL, *pred1 = NULL, *pred2 = NULL, *ws = NULL, *rxy = NULL;
    double *sum[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    int *cnt[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    const double **src = NULL, **src1 = NULL, **src2 = NULL, **tgt = NULL, **tgt1 = NULL, **tgt2 = NULL;
    convrnn_status st = CONVRNN_OK;
    convrnn_rng rng;
    if (!source || !source->data || !target || !res) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: NULL argument");
    memset(res, 0, sizeof *res);
    if (opt) o = *opt; else convrnn_consistency_options_default(&o);
    P = source->p;
    neural = source->kind == CONVRNN_SOURCE_NEURAL;
    if (source->kind != CONVRNN_SOURCE_MODEL && !neural) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: unknown source kind %d", (int)source->kind);
    if (R < 2 || N < 3 || Q < 1 || B < 1 || P < 1 || o.n_halves < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "consistency: bad shape R=%d N=%d Q=%d B=%d P=%d halves=%d", R, N, Q, B, P, o.n_halves);
    if (o.map != CONVRNN_MAP_FIXED && o.map != CONVRNN_MAP_PER_BIN) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: unknown map %d", (int)o.map);
    if (neural) {
        Rs = source->n_trials;
        if (Rs < 2) return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "consistency: a neural source needs >= 2 trials (got %d)", Rs);
        if (!convrnn__m_count4((size_t)Rs, (size_t)N, (size_t)P, (size_t)B, &scnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "consistency: overflow");
        if (!convrnn__m_all_finite(source->data, scnt, &bad))
            return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "consistency: source element %lu is not finite", (unsigned long)bad);
    } else {
        if (!source->bin_steps || source->n_steps < 1) return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: model source needs n_steps and bin_steps");
        for (b = 0; b < B; b++)
            if (source->bin_steps[b] < 0 || source->bin_steps[b] >= source->n_steps)
                return convrnn_error_set(err, CONVRNN_ERR_ARG, "consistency: bin %d maps to step %d, source has %d steps", b, source->bin_steps[b], source->n_steps);
    }
    if (!convrnn__m_count4((size_t)R, (size_t)N, (size_t)Q, (size_t)B, &tcnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "consistency: overflow");
    if (!convrnn__m_all_finite(target, tcnt, &bad))
        return convrnn_error_set(err, CONVRNN_ERR_NOT_FINITE, "consistency: target element %lu is not finite", (unsigned long)bad);
    st = convrnn__m_check_splits(splits, N, "consistency", err);
    if (st) return st;
    convrnn__m_split_sizes(splits, &mtr, &mte);
    QB = (size_t)Q * B;
    EU = (size_t)N * (P > Q ? P : Q) * B;
    Tbar = convrnn__m_dalloc((size_t)N * QB); T1 = convrnn__m_dalloc((size_t)N * QB); T2 = convrnn__m_dalloc((size_t)N * QB);
    tmp = convrnn__m_dalloc(EU);
    pred = convrnn__m_dalloc((size_t)B * mte * Q); pred1 = convrnn__m_dalloc((size_t)B * mte * Q); pred2 = convrnn__m_dalloc((size_t)B * mte * Q);
    ws = convrnn__m_dalloc((size_t)2 * mte + 2); rxy = convrnn__m_dalloc(QB);
    perm = convrnn__m_ialloc((size_t)R); perm_s = convrnn__m_ialloc((size_t)Rs);
    src = (const double **)convrnn_malloc(NULL, sizeof(double *) * (size_t)B * 6);
    if (!Tbar || !T1 || !T2 || !tmp || !pred || !pred1 || !pred2 || !ws || !rxy || !perm || !perm_s || !src) goto nomem;
    src1 = src + B; src2 = src + 2 * B; tgt = src + 3 * B; tgt1 = src + 4 * B; tgt2 = src + 5 * B;
    for (j = 0; j < 6; j++) {
        sum[j] = convrnn__m_dcalloc(QB);
        cnt[j] = (int *)convrnn_calloc(NULL, QB, sizeof(int));
        if (!sum[j] || !cnt[j]) goto nomem;
    }
    if (neural) {
        Sbar = convrnn__m_dalloc((size_t)N * P * B); S1 = convrnn__m_dalloc((size_t)N * P * B); S2 = convrnn__m_dalloc((size_t)N * P * B);
        if (!Sbar || !S1 || !S2) goto nomem;
        for (j = 0; j < Rs; j++) perm_s[j] = j;
        convrnn__m_trials_to_bins(source->data, N, P, B, perm_s, Rs, tmp, Sbar);
    }
    for (j = 0; j < R; j++) perm[j] = j;
    convrnn__m_trials_to_bins(target, N, Q, B, perm, R, tmp, Tbar);
    for (b = 0; b < B; b++) {
        tgt[b] = Tbar + (size_t)b * N * Q; tgt1[b] = T1 + (size_t)b * N * Q; tgt2[b] = T2 + (size_t)b * N * Q;
        if (neural) {
            src[b] = Sbar + (size_t)b * N * P; src1[b] = S1 + (size_t)b * N * P; src2[b] = S2 + (size_t)b * N * P;
        } else {
            src[b] = src1[b] = src2[b] = source->data + (size_t)source->bin_steps[b] * N * P;
        }
    }
    for (s = 0; s < splits->n_splits; s++) {
        const int *tr = splits->train + splits->train_start[s], *te = splits->test + splits->test_start[s];
        int ntr = (int)(splits->train_start[s + 1] - splits->train_start[s]), nte = (int)(splits->test_start[s + 1] - splits->test_start[s]);
        st = convrnn__m_map_fit_predict(src, P, tgt, Q, B, o.map, tr, ntr, te, nte, &o.pls, pred, err);
        if (st) goto done;
        convrnn__m_score_bins(pred, tgt, Q, B, te, nte, rxy, ws);
        for (j = 0; j < (int)QB; j++) convrnn__m_acc(sum[0], cnt[0], (size_t)j, rxy[j]);
        for (h = 0; h < o.n_halves; h++) {
            /* the same halves for every train/test split: seed + h */
            convrnn_rng_seed(&rng, o.seed + (uint64_t)h);
            for (j = 0; j < R; j++) perm[j] = j;
            convrnn__m_shuffle_int(perm, R, &rng);
            convrnn__m_trials_to_bins(target, N, Q, B, perm, R / 2, tmp, T1);
            convrnn__m_trials_to_bins(target, N, Q, B, perm + R / 2, R - R / 2, tmp, T2);
            if (neural) {
                for (j = 0; j < Rs; j++) perm_s[j] = j;
                convrnn__m_shuffle_int(perm_s, Rs, &rng);
                convrnn__m_trials_to_bins(source->data, N, P, B, perm_s, Rs / 2, tmp, S1);
                convrnn__m_trials_to_bins(source->data, N, P, B, perm_s + Rs / 2, Rs - Rs / 2, tmp, S2);
            }
            st = convrnn__m_map_fit_predict(src1, P, tgt1, Q, B, o.map, tr, ntr, te, nte, &o.pls, pred1, err);
            if (!st) st = convrnn__m_map_fit_predict(src2, P, tgt2, Q, B, o.map, tr, ntr, te, nte, &o.pls, pred2, err);
            if (st) goto done;
            for (j = 0; j < Q; j++)
                for (b = 0; b < B; b++) {
                    size_t e = (size_t)j * B + b;
                    int i;
                    double rxx, ryy, rcr;
                    for (i = 0; i < nte; i++) { ws[i] = pred1[((size_t)b * nte + i) * Q + j]; ws[nte + i] = pred2[((size_t)b * nte + i) * Q + j]; }
                    rxx = convrnn_pearson(ws, ws + nte, (size_t)nte);
                    for (i = 0; i < nte; i++) { ws[i] = tgt1[b][(size_t)te[i] * Q + j]; ws[nte + i] = tgt2[b][(size_t)te[i] * Q + j]; }
                    ryy = convrnn_pearson(ws, ws + nte, (size_t)nte);
                    for (i = 0; i < nte; i++) ws[i] = pred1[((size_t)b * nte + i) * Q + j]; /* vs T2 */
                    rcr = convrnn_pearson(ws, ws + nte, (size_t)nte);
                    convrnn__m_acc(sum[1], cnt[1], e, rxx);
                    convrnn__m_acc(sum[2], cnt[2], e, ryy);
                    convrnn__m_acc(sum[3], cnt[3], e, convrnn_ceiling_r_nc(rxy[e], rxx, ryy));
                    convrnn__m_acc(sum[4], cnt[4], e, convrnn_ceiling_split_ratio_sb(rcr, rxx, ryy));
                    convrnn__m_acc(sum[5], cnt[5], e, convrnn_ceiling_r_nc_neuron(rxy[e], ryy));
                }
        }
    }
    res->Q = Q; res->B = B;
    {
        double **outs[6];
        int k;
        outs[0] = &res->r_xy; outs[1] = &res->r_xx; outs[2] = &res->r_yy;
        outs[3] = &res->r_nc; outs[4] = &res->r_sb_ratio; outs[5] = &res->r_nc_neuron;
        for (k = 0; k < 6; k++) {
            size_t e;
            *outs[k] = convrnn__m_dalloc(QB);
            if (!*outs[k]) { convrnn_consistency_result_free(res); goto nomem; }
            for (e = 0; e < QB; e++) (*outs[k])[e] = cnt[k][e] ? sum[k][e] / cnt[k][e] : convrnn__m_nan();
        }
    }
    goto done;
nomem:
    st = convrnn_error_set(err, CONVRNN_ERR_NOMEM, "consistency: out of memory (N=%d Q=%d B=%d P=%d)", N, Q, B, P);
done:
    convrnn_free(NULL, Tbar); convrnn_free(NULL, T1); convrnn_free(NULL, T2); convrnn_free(NULL, tmp);
    convrnn_free(NULL, Sbar); convrnn_free(NULL, S1); convrnn_free(NULL, S2);
    convrnn_free(NULL, pred); convrnn_free(NULL, pred1); convrnn_free(NULL, pred2);
    convrnn_free(NULL, ws); convrnn_free(NULL, rxy); convrnn_free(NULL, perm); convrnn_free(NULL, perm_s);
    convrnn_free(NULL, (void *)src);
    for (j = 0; j < 6; j++) { convrnn_free(NULL, sum[j]); convrnn_free(NULL, cnt[j]); }
    if (st) convrnn_consistency_result_free(res);
    return st;
}

/* ================================================================ synthetic data */

CONVRNNDEF void convrnn_synth_neural_params_default(convrnn_synth_neural_params *p) {
    p->n_trials = 30; p->n_images = 2560; p->n_objects = 64; p->n_sites = 256; p->n_bins = 19; p->latent_dim = 16;
    p->bin0_ms = 70; p->bin_width_ms = 10;
    p->reliability_min = 0.5; p->reliability_max = 0.95;
    p->seed = 1;
}

CONVRNNDEF void convrnn_synth_neural_free(convrnn_synth_neural *s) {
    if (!s) return;
    convrnn_free(NULL, s->responses); convrnn_free(NULL, s->signal); convrnn_free(NULL, s->latent);
    convrnn_free(NULL, s->latent_late); convrnn_free(NULL, s->labels); convrnn_free(NULL, s->noise_sd);
    convrnn_free(NULL, s->reliability); convrnn_free(NULL, s->bin_ms);
    memset(s, 0, sizeof *s);
}

CONVRNNDEF double convrnn_synth_expected_reliability(double v, double s2, int R) {
    double h1 = (double)(R / 2), h2 = (double)(R - R / 2), r;
    if (!(v > 0)) return 0.0;
    r = v / sqrt((v + s2 / h1) * (v + s2 / h2));
    return convrnn_spearman_brown(r, 2.0);
}

CONVRNNDEF convrnn_status convrnn_synth_neural_make(convrnn_synth_neural *out, const convrnn_synth_neural_params *prm,
                                                   convrnn_error *err) {
    convrnn_synth_neural_params p;
    convrnn_rng rng;
    int R, N, Q, B, D, O, i, j, b, d, t;
    size_t cnt;
    double *mu = NULL, *A = NULL, *A2 = NULL, *onset = NULL, *v = NULL;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_neural: NULL output");
    memset(out, 0, sizeof *out);
    if (prm) p = *prm; else convrnn_synth_neural_params_default(&p);
    R = p.n_trials; N = p.n_images; Q = p.n_sites; B = p.n_bins; D = p.latent_dim; O = p.n_objects;
    if (R < 2 || N < 2 || Q < 1 || B < 1 || D < 1 || O < 1 || O > N)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "synth_neural: bad sizes trials=%d images=%d sites=%d bins=%d latent=%d objects=%d",
                                 R, N, Q, B, D, O);
    if (!convrnn__m_isfinite(p.bin0_ms) || !(p.bin_width_ms > 0 && convrnn__m_isfinite(p.bin_width_ms)))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_neural: bin0_ms %g and bin_width_ms %g (> 0) must be finite", p.bin0_ms, p.bin_width_ms);
    if (!(p.reliability_min > 0) || !(p.reliability_max < 1) || p.reliability_min > p.reliability_max)
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_neural: reliabilities must satisfy 0 < min <= max < 1 (%g, %g)",
                                 p.reliability_min, p.reliability_max);
    if (!convrnn__m_count4((size_t)R, (size_t)N, (size_t)Q, (size_t)B, &cnt))
        return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "synth_neural: size overflow");
    out->R = R; out->N = N; out->Q = Q; out->B = B; out->D = D;
    out->responses = convrnn__m_dalloc(cnt);
    out->signal = convrnn__m_dalloc((size_t)N * Q * B);
    out->latent = convrnn__m_dalloc((size_t)N * D);
    out->latent_late = convrnn__m_dalloc((size_t)N * D);
    out->labels = convrnn__m_ialloc((size_t)N);
    out->noise_sd = convrnn__m_dalloc((size_t)Q);
    out->reliability = convrnn__m_dalloc((size_t)Q * B);
    out->bin_ms = convrnn__m_dalloc((size_t)B);
    mu = convrnn__m_dalloc((size_t)O * D); A = convrnn__m_dalloc((size_t)Q * D); A2 = convrnn__m_dalloc((size_t)Q * D);
    onset = convrnn__m_dalloc((size_t)Q); v = convrnn__m_dalloc((size_t)Q * B);
    if (!out->responses || !out->signal || !out->latent || !out->latent_late || !out->labels || !out->noise_sd ||
        !out->reliability || !out->bin_ms || !mu || !A || !A2 || !onset || !v) {
        convrnn_free(NULL, mu); convrnn_free(NULL, A); convrnn_free(NULL, A2); convrnn_free(NULL, onset); convrnn_free(NULL, v);
        convrnn_synth_neural_free(out);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "synth_neural: out of memory");
    }
    convrnn_rng_seed(&rng, p.seed);
    for (b = 0; b < B; b++) out->bin_ms[b] = p.bin0_ms + b * p.bin_width_ms;
    for (i = 0; i < O * D; i++) mu[i] = convrnn_rng_normal(&rng);
    for (i = 0; i < N; i++) {
        out->labels[i] = (int)(((long long)i * O) / N);
        for (d = 0; d < D; d++) {
            out->latent[(size_t)i * D + d] = mu[(size_t)out->labels[i] * D + d] + 0.7 * convrnn_rng_normal(&rng);
            out->latent_late[(size_t)i * D + d] = 0.5 * mu[(size_t)out->labels[i] * D + d] + convrnn_rng_normal(&rng);
        }
    }
    for (j = 0; j < Q * D; j++) { A[j] = convrnn_rng_normal(&rng) / sqrt((double)D); A2[j] = convrnn_rng_normal(&rng) / sqrt((double)D); }
    for (j = 0; j < Q; j++) onset[j] = 70.0 + 30.0 * convrnn_rng_uniform(&rng);
    /* signal(i,j,b) = g_j(t) <L_i, A_j> + 0.6 h(t) <L2_i, A2_j> + baseline_j; g: alpha function peaking
       20 ms after the onset, decaying to a sustained 0.3; h: late logistic ramp around 160 ms */
    for (j = 0; j < Q; j++) {
        double base = convrnn_rng_uniform(&rng);
        for (b = 0; b < B; b++) {
            double tm = out->bin_ms[b] + 0.5 * p.bin_width_ms, x = (tm - onset[j]) / 20.0;
            double g = x <= 0 ? 0.0 : x * exp(1.0 - x) + 0.3 * (1.0 - exp(-x));
            double hl = 1.0 / (1.0 + exp(-(tm - 160.0) / 15.0));
            for (i = 0; i < N; i++) {
                double e = convrnn__m_dot(out->latent + (size_t)i * D, A + (size_t)j * D, (size_t)D);
                double l = convrnn__m_dot(out->latent_late + (size_t)i * D, A2 + (size_t)j * D, (size_t)D);
                out->signal[((size_t)i * Q + j) * B + b] = g * e + 0.6 * hl * l + base;
            }
        }
    }
    /* realised signal variance across images (population variance) */
    for (j = 0; j < Q; j++)
        for (b = 0; b < B; b++) {
            double m = 0, s = 0;
            for (i = 0; i < N; i++) m += out->signal[((size_t)i * Q + j) * B + b];
            m /= N;
            for (i = 0; i < N; i++) { double dd = out->signal[((size_t)i * Q + j) * B + b] - m; s += dd * dd; }
            v[(size_t)j * B + b] = s / N;
        }
    /* noise: reliability rho_j of the R-trial mean at the site's peak-variance bin */
    for (j = 0; j < Q; j++) {
        double vmax = 0, rho = p.reliability_min + (p.reliability_max - p.reliability_min) * convrnn_rng_uniform(&rng), s2;
        for (b = 0; b < B; b++)
            if (v[(size_t)j * B + b] > vmax) vmax = v[(size_t)j * B + b];
        if (!(vmax > 0)) vmax = 1;
        s2 = R * vmax * (1.0 - rho) / rho;
        out->noise_sd[j] = sqrt(s2);
        for (b = 0; b < B; b++) out->reliability[(size_t)j * B + b] = convrnn_synth_expected_reliability(v[(size_t)j * B + b], s2, R);
    }
    for (t = 0; t < R; t++)
        for (i = 0; i < N; i++)
            for (j = 0; j < Q; j++)
                for (b = 0; b < B; b++) {
                    size_t e = ((size_t)i * Q + j) * B + b;
                    out->responses[(size_t)t * N * Q * B + e] = out->signal[e] + out->noise_sd[j] * convrnn_rng_normal(&rng);
                }
    convrnn_free(NULL, mu); convrnn_free(NULL, A); convrnn_free(NULL, A2); convrnn_free(NULL, onset); convrnn_free(NULL, v);
    return CONVRNN_OK;
}

CONVRNNDEF void convrnn_synth_ost_params_default(convrnn_synth_ost_params *p) {
    p->n_images = 1320; p->n_objects = 10; p->n_bins = 19; p->n_features = 100;
    p->bin0_ms = 70; p->bin_width_ms = 10;
    p->nan_fraction = 0.1;
    p->i1_min = 0.5; p->i1_max = 3.5;
    p->signal_gain = 1.0;
    p->seed = 1;
}

CONVRNNDEF void convrnn_synth_ost_free(convrnn_synth_ost *s) {
    if (!s) return;
    convrnn_free(NULL, s->labels); convrnn_free(NULL, s->difficulty); convrnn_free(NULL, s->i1);
    convrnn_free(NULL, s->it_ost); convrnn_free(NULL, s->features); convrnn_free(NULL, s->bin_ms);
    memset(s, 0, sizeof *s);
}

CONVRNNDEF convrnn_status convrnn_synth_ost_make(convrnn_synth_ost *out, const convrnn_synth_ost_params *prm,
                                                convrnn_error *err) {
    convrnn_synth_ost_params p;
    convrnn_rng rng;
    int N, C, B, P, i, b, k;
    size_t cnt;
    double *proto = NULL, *inoise = NULL;
    if (!out) return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_ost: NULL output");
    memset(out, 0, sizeof *out);
    if (prm) p = *prm; else convrnn_synth_ost_params_default(&p);
    N = p.n_images; C = p.n_objects; B = p.n_bins; P = p.n_features;
    if (N < 2 || C < 2 || C > N || B < 1 || P < 1)
        return convrnn_error_set(err, CONVRNN_ERR_SHAPE, "synth_ost: bad sizes images=%d objects=%d bins=%d features=%d", N, C, B, P);
    if (!(p.nan_fraction >= 0 && p.nan_fraction < 1) || !(p.i1_min <= p.i1_max))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_ost: nan_fraction %g or i1 range [%g, %g] invalid", p.nan_fraction, p.i1_min, p.i1_max);
    if (!convrnn__m_isfinite(p.bin0_ms) || !(p.bin_width_ms > 0 && convrnn__m_isfinite(p.bin_width_ms)) || !convrnn__m_isfinite(p.signal_gain) ||
        !convrnn__m_isfinite(p.i1_min) || !convrnn__m_isfinite(p.i1_max))
        return convrnn_error_set(err, CONVRNN_ERR_ARG, "synth_ost: bin0_ms %g, bin_width_ms %g (> 0), signal_gain %g and the i1 range must be finite",
                                 p.bin0_ms, p.bin_width_ms, p.signal_gain);
    if (!convrnn__m_count3((size_t)B, (size_t)N, (size_t)P, &cnt)) return convrnn_error_set(err, CONVRNN_ERR_OVERFLOW, "synth_ost: overflow");
    out->N = N; out->C = C; out->B = B; out->P = P;
    out->labels = convrnn__m_ialloc((size_t)N);
    out->difficulty = convrnn__m_dalloc((size_t)N);
    out->i1 = convrnn__m_dalloc((size_t)N);
    out->it_ost = convrnn__m_dalloc((size_t)N);
    out->features = convrnn__m_dalloc(cnt);
    out->bin_ms = convrnn__m_dalloc((size_t)B);
    proto = convrnn__m_dalloc((size_t)C * P);
    inoise = convrnn__m_dalloc((size_t)N * P);
    if (!out->labels || !out->difficulty || !out->i1 || !out->it_ost || !out->features || !out->bin_ms || !proto || !inoise) {
        convrnn_free(NULL, proto); convrnn_free(NULL, inoise); convrnn_synth_ost_free(out);
        return convrnn_error_set(err, CONVRNN_ERR_NOMEM, "synth_ost: out of memory");
    }
    convrnn_rng_seed(&rng, p.seed);
    for (b = 0; b < B; b++) out->bin_ms[b] = p.bin0_ms + b * p.bin_width_ms;
    for (k = 0; k < C * P; k++) proto[k] = convrnn_rng_normal(&rng);
    for (i = 0; i < N; i++) {
        out->labels[i] = i % C;
        out->difficulty[i] = convrnn_rng_uniform(&rng);
        out->i1[i] = p.i1_min + (p.i1_max - p.i1_min) * convrnn_rng_uniform(&rng);
        out->it_ost[i] = out->difficulty[i] >= 1.0 - p.nan_fraction ? convrnn__m_nan() : 70.0 + 180.0 * out->difficulty[i];
        for (k = 0; k < P; k++) inoise[(size_t)i * P + k] = convrnn_rng_normal(&rng);
    }
    /* class evidence of image i at bin start t: a linear ramp over the 30 ms before T_i = 70 + 180 d_i
       (0 before, gain * 8 after), along a random class prototype (scale 0.35 per feature), plus a fixed
       per-image noise and a small per-bin noise (both unit / 0.2 standard deviation). The decoders'
       d' therefore rises through the thresholds within 30 ms before each image's T_i. */
    for (b = 0; b < B; b++)
        for (i = 0; i < N; i++) {
            double Ti = 70.0 + 180.0 * out->difficulty[i], tm = out->bin_ms[b], ramp = (tm - (Ti - 30.0)) / 30.0;
            double a = p.signal_gain * 8.0 * (ramp < 0 ? 0.0 : (ramp > 1 ? 1.0 : ramp));
            double *f = out->features + ((size_t)b * N + i) * P;
            for (k = 0; k < P; k++)
                f[k] = a * 0.35 * proto[(size_t)out->labels[i] * P + k] + inoise[(size_t)i * P + k] + 0.2 * convrnn_rng_normal(&rng);
        }
    convrnn_free(NULL, proto); convrnn_free(NULL, inoise);
    return CONVRNN_OK;
}

#if defined(CONVRNN_STATIC) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif /* CONVRNN_IMPLEMENTATION_DONE */
#endif /* CONVRNN_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the convrnn.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions: The above copyright notice and this
permission notice shall be included in all copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain. Anyone is free to copy,
modify, publish, use, compile, sell, or distribute this software, either in source code form or as
a compiled binary, for any purpose, commercial or non-commercial, and by any means.
------------------------------------------------------------------------------
*/
