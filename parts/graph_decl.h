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
    CONVRNN_DEC_MLP, CONVRNN_DEC_CONV1D, CONVRNN_DEC_TYPE_COUNT
} convrnn_decoder_type;

typedef struct convrnn_decoder_spec {
    convrnn_decoder_type type;
    int start, end;        /* window [start, end) over steps; start < 0: number of layers; end <= 0: T */
    double threshold;      /* thresh: 0.9 */
    int trainable;         /* max_conf/thresh: beta (and theta) are variables */
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

/* Unroll: outs[t * n_nodes + v] receives node v's output at step t, for every t < T (caller array
   of T * spec.n_nodes pointers; tensors live on the tape). Runs at the stimulus's own size. */
CONVRNNDEF convrnn_status convrnn_model_unroll(convrnn_model *m, convrnn_tape *t, const convrnn_stimulus *s,
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
