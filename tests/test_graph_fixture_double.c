/* The unroller fixture comparison of test_graph_fixture.c in the double build (tight tolerances). */
#define CONVRNN_USE_DOUBLE
#include "test_graph_fixture.c"
