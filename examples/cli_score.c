/* convrnn score / convrnn pls (under construction in this change) */
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
int cli_score(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "convrnn score: not available in this build\n"); return 2; }
int cli_pls(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "convrnn pls: not available in this build\n"); return 2; }
