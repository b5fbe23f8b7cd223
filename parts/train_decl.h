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
   grad_norm (may be NULL) receives the global norm before clipping. Non-finite gradients leave
   the weights untouched and return CONVRNN_ERR_NOT_FINITE. */
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
/* Normalised (and, with rng != NULL, augmented) images of idx[0..n) into out (n*h*w*c), labels. */
CONVRNNDEF void convrnn_batch_fill(const convrnn_dataset *ds, const int *idx, int n, const convrnn_data_config *dc,
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
   acc: its accuracy. A non-finite loss stops before the update (CONVRNN_ERR_NOT_FINITE). */
CONVRNNDEF convrnn_status convrnn_trainer_step(convrnn_trainer *tr, double *loss, double *acc);
CONVRNNDEF void convrnn_trainer_free(convrnn_trainer *tr);
/* Checkpoint: every parameter (TF names), the momentum buffers ("opt/momentum/<name>"), the step and
   seed in the metadata, written atomically. Loading checks that the graph matches. */
CONVRNNDEF convrnn_status convrnn_trainer_save(const convrnn_trainer *tr, const char *path, convrnn_error *err);
CONVRNNDEF convrnn_status convrnn_trainer_load(convrnn_trainer *tr, const char *path, convrnn_error *err);
/* Accuracy and mean loss of the model's decoder output on a data set (batches of `batch`). */
CONVRNNDEF convrnn_status convrnn_evaluate(convrnn_model *m, const convrnn_dataset *ds, const convrnn_train_config *cfg,
                                           double *acc, double *loss, convrnn_error *err);
