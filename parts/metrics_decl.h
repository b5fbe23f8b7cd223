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
CONVRNNDEF double convrnn_t_sf(double t, double df);          /* Student t survival function */
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
   defaults (see the header notes). All-zero differences in the approximation: CONVRNN_ERR_ARG. */
CONVRNNDEF convrnn_status convrnn_wilcoxon(const double *a, const double *b, int n, convrnn_wilcoxon_mode mode,
                                           convrnn_test_result *res, convrnn_error *err);
/* Friedman test on a (n_blocks x k) table (rows: blocks, e.g. splits; columns: treatments), k >= 3,
   as scipy.stats.friedmanchisquare(*columns). */
CONVRNNDEF convrnn_status convrnn_friedman(const double *data, int n_blocks, int k, convrnn_test_result *res,
                                           convrnn_error *err);
/* min(1, m p). */
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
   else per-item class ids >= 0 for StratifiedShuffleSplit (every class needs >= 2 items, and both
   sides >= the number of classes). */
CONVRNNDEF convrnn_status convrnn_splits_shuffle(convrnn_splits *out, int n, int n_splits, double train_size,
                                                 double test_size, const int *strata, uint64_t seed,
                                                 convrnn_error *err);
/* From a (n_splits x n) mask: 1 = train, 0 = test, anything else = unused. */
CONVRNNDEF convrnn_status convrnn_splits_from_mask(convrnn_splits *out, const int *mask, int n_splits, int n,
                                                   convrnn_error *err);
/* From index lists: split s trains on train[train_start[s] .. train_start[s+1]) and tests on
   test[test_start[s] .. test_start[s+1]) (offsets: n_splits + 1 entries each). Indices are
   checked (range, no index on both sides of a split) and stored in ascending order. */
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
   above that the Gram operator is applied through S). */
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
    int zscore;                 /* standardise with the training mean and population std (zero std -> 1);
                                   default 1 */
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
/* Image-level d' (I1, spec 5.4) from class probabilities P (n x n_classes) of the n test images with
   true labels. class_valid (may be NULL = all valid) marks classes the decoder could predict. */
CONVRNNDEF convrnn_status convrnn_i1_dprime(const double *proba, const int *labels, int n, int n_classes,
                                            const unsigned char *class_valid, double *i1, convrnn_error *err);

typedef enum convrnn_ost_anchor {
    CONVRNN_OST_ANCHOR_MAX_SO_FAR = 0,   /* the sub-threshold bin with the largest d' so far (default) */
    CONVRNN_OST_ANCHOR_PREVIOUS_BIN = 1  /* the last finite bin before the hit (2019-05 variant) */
} convrnn_ost_anchor;
/* OST of one image from its d' time course (n_bins values at increasing bin starts, ms) and its
   primate threshold (spec 5.5). NaN when the threshold is never reached or is NaN. */
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
/* Mean of the bins whose start lies in [t0, t1): resp (N x Q x B) -> out (N x Q). */
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
