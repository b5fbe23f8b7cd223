/* convrnn: the command-line front end of convrnn.h.
   Usage: convrnn <command> [options]; `convrnn help` lists the commands. */
#define _POSIX_C_SOURCE 200809L
#define CONVRNN_IMPLEMENTATION
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
#include <string.h>

static int usage(FILE *f) {
    fprintf(f,
        "usage: convrnn <command> [options]\n"
        "  version                         print the build line\n"
        "  models                          list the zoo\n"
        "  info MODEL|FILE.cfg             layer table, parameters and units\n"
        "  init --model M --seed S --out W.safetensors   freshly initialized weights\n"
        "  features --model M (--weights W | --init-seed S) --input X.npy --steps T --image-off K\n"
        "           [--blank V] --layers a,b --out DIR     per-step features as DIR/<layer>.npy\n"
        "  train --model M --data DIR|synthetic --epochs E --batch B --lr LR ... --out RUN/ [--resume]\n"
        "  eval --model M --weights W --data DIR           test accuracy of trained weights\n"
        "  export --data DIR [--split test] [--limit N] --out X.npy --labels-out L.npy   normalised images\n"
        "  synth --images X.npy --labels L.npy --out DIR  image-driven synthetic neural/behavioural data\n"
        "  score neural|ost ...            score model features against neural/behavioural data\n"
        "  pls ...                         fit PLS regression and predict\n");
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "version")) { printf("%s\n", convrnn_build_info()); return 0; }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) return usage(stdout);
    if (!strcmp(argv[1], "models")) {
        int i;
        for (i = 0; i < convrnn_zoo_count(); i++) printf("%s\n", convrnn_zoo_name(i));
        return 0;
    }
    if (!strcmp(argv[1], "info")) return cli_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "init")) return cli_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "features")) return cli_features(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return cli_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cli_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "export")) return cli_export(argc - 1, argv + 1);
    if (!strcmp(argv[1], "synth")) return cli_synth(argc - 1, argv + 1);
    if (!strcmp(argv[1], "score")) return cli_score(argc - 1, argv + 1);
    if (!strcmp(argv[1], "pls")) return cli_pls(argc - 1, argv + 1);
    fprintf(stderr, "convrnn: unknown command '%s' (try 'convrnn help')\n", argv[1]);
    return 2;
}
