/* Tiny test harness shared by the tests: counts checks, prints failures, ends with
   "NAME: N passed, M failed" and returns non-zero on any failure (use TEST_END). */
#ifndef CONVRNN_TEST_H
#define CONVRNN_TEST_H
#include <stdio.h>
#include <math.h>
static int test__pass = 0, test__fail = 0;
#define CHECK(cond) do { if (cond) test__pass++; else { test__fail++; \
    fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECKF(cond, ...) do { if (cond) test__pass++; else { test__fail++; \
    fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol) do { double test__a = (double)(a), test__b = (double)(b); \
    CHECKF(fabs(test__a - test__b) <= (atol) + (rtol) * fabs(test__b), "%s=%.9g %s=%.9g", #a, test__a, #b, test__b); } while (0)
#define TEST_END(name) (printf("%s: %d passed, %d failed\n", name, test__pass, test__fail), test__fail ? 1 : 0)
#endif
