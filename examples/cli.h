/* Subcommands of the convrnn command; each returns the process exit code and prints its errors
   as one line on stderr. */
#ifndef CONVRNN_CLI_H
#define CONVRNN_CLI_H
int cli_score(int argc, char **argv);   /* convrnn score neural|ost ... (cli_score.c) */
int cli_pls(int argc, char **argv);     /* convrnn pls ... (cli_score.c) */
int cli_info(int argc, char **argv);     /* convrnn info (cli_model.c) */
int cli_init(int argc, char **argv);     /* convrnn init (cli_model.c) */
int cli_features(int argc, char **argv); /* convrnn features (cli_model.c) */
int cli_train(int argc, char **argv);    /* convrnn train (cli_train.c) */
int cli_eval(int argc, char **argv);     /* convrnn eval (cli_train.c) */
int cli_export(int argc, char **argv);   /* convrnn export (cli_synth.c) */
int cli_synth(int argc, char **argv);    /* convrnn synth (cli_synth.c) */
/* Loads split train (test = 0) or test of DIR (IDX, CIFAR-10, shards, or "synthetic"), keeping the
   first `limit` images when limit > 0; prints one error line and returns 0 on failure. */
#include "convrnn.h"
int cli_load_split(const char *cmd, const char *dir, int test, long limit, convrnn_dataset *ds);
/* 1 when the test split has the training split's channels (its per-channel statistics normalise
   both); else one error line and 0 */
int cli_same_channels(const char *cmd, const convrnn_dataset *train, const convrnn_dataset *test);
/* cli_common.c: the value after `key` (NULL if absent, "" if it ends the line); flags; a check
   that every option is known (one error line otherwise); .npy writing; model by name or .cfg */
const char *cli_opt(int argc, char **argv, const char *key);
int cli_has_flag(int argc, char **argv, const char *key);
int cli_check_opts(const char *cmd, int argc, char **argv, const char *const *vals, const char *const *flags);
int cli_write_npy(const char *cmd, const char *path, convrnn_dtype dt, int ndim, const int64_t *shape, void *data);
int cli_load_model(const char *cmd, const char *name, convrnn_model *m);
/* dir and any missing parents (mkdir -p); one error line and 0 on failure or when a part is not a directory */
int cli_mkdirs(const char *cmd, const char *dir);
/* v as a decimal integer in [lo, hi] (nothing else on it) into *out; one error line and 0 otherwise */
int cli_int(const char *cmd, const char *name, const char *v, long lo, long hi, long *out);
#endif
