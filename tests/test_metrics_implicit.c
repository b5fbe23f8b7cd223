/* The PLS fixtures again with the Gram operator of S = X_k'Y_k applied through S instead of being
   stored (the path taken when min(p, q) exceeds CONVRNN__M_GRAM_MAX, 3000 by default): both the
   sklearn-identical power iteration and the exact Lanczos solve must still match scikit-learn. */
#define CONVRNN__M_GRAM_MAX 0
#define TEST_METRICS_PLS_ONLY "metrics_implicit"
#include "test_metrics.c"
