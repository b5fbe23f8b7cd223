/* Compiles the whole header (declarations and implementation); used as C++, static and double. */
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
int main(void) { return convrnn_build_info()[0] == 0; }
