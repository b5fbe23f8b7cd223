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
#endif
