/* The fixture comparisons of test_fixtures.c in the double build (tight tolerances). */
#define CONVRNN_USE_DOUBLE
#include "test_fixtures.c"
