/* Option parsing and small I/O helpers shared by the convrnn subcommands. */
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

int cli_same_channels(const char *cmd, const convrnn_dataset *train, const convrnn_dataset *test) {
    if (train->c == test->c) return 1;
    fprintf(stderr, "convrnn %s: the test split has %d channels and the training split %d\n", cmd, test->c, train->c);
    return 0;
}

int cli_mkdirs(const char *cmd, const char *dir) {
    char p[4096];
    struct stat sb;
    size_t i, n = strlen(dir);
    if (!n || n >= sizeof p) { fprintf(stderr, "convrnn %s: bad output directory '%s'\n", cmd, dir); return 0; }
    memcpy(p, dir, n + 1);
    for (i = 1; i <= n; i++) {   /* each prefix ending at a '/' (or the end), the root excepted */
        if (i < n && p[i] != '/') continue;
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && !(errno == EEXIST && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))) {
            fprintf(stderr, "convrnn %s: cannot create output directory %s: %s\n", cmd, p, errno == EEXIST ? "not a directory" : strerror(errno));
            return 0;
        }
        if (i < n) p[i] = '/';
    }
    return 1;
}

int cli_int(const char *cmd, const char *name, const char *v, long lo, long hi, long *out) {
    char *end;
    long x;
    errno = 0;
    x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "convrnn %s: %s must be an integer in [%ld, %ld], got '%s'\n", cmd, name, lo, hi, v ? v : "");
        return 0;
    }
    *out = x;
    return 1;
}

const char *cli_opt(int argc, char **argv, const char *key) {
    int i;
    for (i = 1; i < argc; i++) if (!strcmp(argv[i], key)) return i + 1 < argc ? argv[i + 1] : "";
    return NULL;
}

int cli_has_flag(int argc, char **argv, const char *key) {
    int i;
    for (i = 1; i < argc; i++) if (!strcmp(argv[i], key)) return 1;
    return 0;
}

int cli_check_opts(const char *cmd, int argc, char **argv, const char *const *vals, const char *const *flags) {
    int i, k;
    for (i = 1; i < argc; i++) {
        for (k = 0; flags && flags[k]; k++) if (!strcmp(argv[i], flags[k])) break;
        if (flags && flags[k]) continue;
        for (k = 0; vals[k]; k++) if (!strcmp(argv[i], vals[k])) break;
        if (!vals[k]) { fprintf(stderr, "convrnn %s: unknown option '%s'\n", cmd, argv[i]); return 0; }
        if (i + 1 >= argc) { fprintf(stderr, "convrnn %s: option '%s' needs a value\n", cmd, argv[i]); return 0; }
        i++;
    }
    return 1;
}

int cli_write_npy(const char *cmd, const char *path, convrnn_dtype dt, int ndim, const int64_t *shape, void *data) {
    convrnn_array a;
    convrnn_error e;
    size_t n = 1;
    int i;
    memset(&a, 0, sizeof a);
    convrnn_error_clear(&e);
    a.dtype = dt; a.ndim = ndim;
    for (i = 0; i < ndim; i++) { a.shape[i] = shape[i]; n *= (size_t)shape[i]; }
    a.count = n; a.data = data;
    if (convrnn_npy_write(path, &a, &e)) { fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg); return 0; }
    return 1;
}

int cli_load_model(const char *cmd, const char *name, convrnn_model *m) {
    convrnn_graph_spec g;
    convrnn_error e;
    convrnn_error_clear(&e);
    if (!name || !*name) { fprintf(stderr, "convrnn %s: --model is required\n", cmd); return 0; }
    if (convrnn_graph_load(name, &g, &e)) { fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg); return 0; }
    if (convrnn_model_create(m, &g)) { fprintf(stderr, "convrnn %s: %s\n", cmd, m->err.msg); convrnn_model_free(m); return 0; }
    return 1;
}
