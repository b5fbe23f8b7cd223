#define _POSIX_C_SOURCE 200809L
/* convrnn train / convrnn eval: SGD through time on IDX (Fashion-MNIST), CIFAR-10, shard or
   generated data, with exactly-resumable checkpoints. */
#include "convrnn.h"
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int num(const char *cmd, const char *name, const char *v, double lo, double hi, double *out) {
    char *end;
    double x;
    if (!v) return 1;
    x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) { fprintf(stderr, "convrnn %s: %s must be a number in [%g, %g], got '%s'\n", cmd, name, lo, hi, v); return 0; }
    *out = x;
    return 1;
}
/* num, and a whole number (counts, sizes, seeds) */
static int inum(const char *cmd, const char *name, const char *v, double lo, double hi, double *out) {
    double x = *out;
    if (!num(cmd, name, v, lo, hi, &x)) return 0;
    if (x != floor(x)) { fprintf(stderr, "convrnn %s: %s must be a whole number, got '%s'\n", cmd, name, v); return 0; }
    *out = x;
    return 1;
}
static int file_exists(const char *p) { struct stat sb; return stat(p, &sb) == 0; }

/* Loads split "train" or "test" from DIR: IDX files (Fashion-MNIST names), CIFAR-10 batches,
   train.shard/test.shard, or DIR = "synthetic" for generated gratings. limit > 0 keeps the first
   `limit` images. */
int cli_load_split(const char *cmd, const char *dir, int test, long limit, convrnn_dataset *ds) {
    char a[4096], b[4096];
    convrnn_error e;
    convrnn_status s;
    convrnn_error_clear(&e);
    memset(ds, 0, sizeof *ds);
    if (!strcmp(dir, "synthetic") || !strncmp(dir, "synthetic:", 10)) {
        long side = 28;
        if (dir[9] == ':' && !cli_int(cmd, "the side of synthetic:N", dir + 10, 8, 256, &side)) return 0;
        s = convrnn_dataset_synthetic(ds, test ? 2000 : 10000, (int)side, (int)side, 1, 10, test ? 7 : 1, &e);
    } else {
        snprintf(a, sizeof a, "%s/%s", dir, test ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte");
        snprintf(b, sizeof b, "%s/%s", dir, test ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte");
        if (file_exists(a)) s = convrnn_idx_read(a, b, 10, ds, &e);
        else {
            snprintf(a, sizeof a, "%s/%s", dir, test ? "test.shard" : "train.shard");
            if (file_exists(a)) s = convrnn_shard_read(a, ds, &e);
            else {
                char p[5][4096];
                const char *pp[5];
                int i, np = test ? 1 : 5;
                for (i = 0; i < np; i++) {
                    if (test) snprintf(p[i], sizeof p[i], "%s/test_batch.bin", dir);
                    else snprintf(p[i], sizeof p[i], "%s/data_batch_%d.bin", dir, i + 1);
                    pp[i] = p[i];
                }
                if (!file_exists(p[0])) {
                    fprintf(stderr, "convrnn %s: no data in '%s' (expected Fashion-MNIST IDX files, CIFAR-10 .bin batches, "
                                    "train.shard/test.shard, or 'synthetic'; see examples/prepare_fashion_mnist.sh)\n", cmd, dir);
                    return 0;
                }
                s = convrnn_cifar10_read(pp, np, ds, &e);
            }
        }
    }
    if (s) { fprintf(stderr, "convrnn %s: %s\n", cmd, e.msg); return 0; }
    if (limit > 0 && limit < ds->n) ds->n = (int)limit;
    return 1;
}

static const char *train_vals[] = { "--model", "--data", "--epochs", "--batch", "--lr", "--momentum", "--clip-value",
    "--clip-norm", "--wd-scale", "--schedule", "--warmup", "--steps", "--image-off", "--blank", "--out", "--seed",
    "--limit-train", "--limit-test", "--save-every", "--eval-every", "--threads", "--crop-pad", "--weights", "--max-steps", NULL };
static const char *train_flags[] = { "--resume", "--nesterov", "--hflip", NULL };

/* config shared by train and eval */
static int read_cfg(const char *cmd, int argc, char **argv, const convrnn_model *m, convrnn_train_config *c, double *limits) {
    double v;
    const char *sch = cli_opt(argc, argv, "--schedule");
    memset(c, 0, sizeof *c);
    c->sgd = convrnn_sgd_default();
    c->batch = 64; c->epochs = 1; c->T = m->spec.T; c->image_off = m->spec.image_off; c->blank = 0.5;
    limits[0] = limits[1] = 0; limits[2] = 0; limits[3] = 0;
    v = c->epochs; if (!inum(cmd, "--epochs", cli_opt(argc, argv, "--epochs"), 1, 1e6, &v)) return 0; c->epochs = (int)v;
    v = c->batch; if (!inum(cmd, "--batch", cli_opt(argc, argv, "--batch"), 1, 65536, &v)) return 0; c->batch = (int)v;
    if (!num(cmd, "--lr", cli_opt(argc, argv, "--lr"), 0, 100, &c->sgd.lr)) return 0;
    if (!num(cmd, "--momentum", cli_opt(argc, argv, "--momentum"), 0, 1, &c->sgd.momentum)) return 0;
    if (!num(cmd, "--clip-value", cli_opt(argc, argv, "--clip-value"), 0, 1e30, &c->sgd.clip_value)) return 0;
    if (!num(cmd, "--clip-norm", cli_opt(argc, argv, "--clip-norm"), 0, 1e30, &c->sgd.clip_norm)) return 0;
    if (!num(cmd, "--wd-scale", cli_opt(argc, argv, "--wd-scale"), 0, 1e6, &c->sgd.wd_scale)) return 0;
    v = 0; if (!inum(cmd, "--warmup", cli_opt(argc, argv, "--warmup"), 0, 1e9, &v)) return 0; c->sgd.warmup = (long)v;
    v = c->T; if (!inum(cmd, "--steps", cli_opt(argc, argv, "--steps"), 1, 10000, &v)) return 0; c->T = (int)v;
    v = c->image_off; if (!inum(cmd, "--image-off", cli_opt(argc, argv, "--image-off"), 0, 10000, &v)) return 0; c->image_off = (int)v;
    if (!num(cmd, "--blank", cli_opt(argc, argv, "--blank"), -1e6, 1e6, &c->blank)) return 0;
    v = 0; if (!inum(cmd, "--seed", cli_opt(argc, argv, "--seed"), 0, 4294967295.0, &v)) return 0; c->seed = (uint64_t)v;
    v = 0; if (!inum(cmd, "--crop-pad", cli_opt(argc, argv, "--crop-pad"), 0, 64, &v)) return 0; c->data.crop_pad = (int)v;
    c->data.hflip = cli_has_flag(argc, argv, "--hflip");
    c->sgd.nesterov = cli_has_flag(argc, argv, "--nesterov");
    if (!inum(cmd, "--limit-train", cli_opt(argc, argv, "--limit-train"), 0, 1e9, &limits[0])) return 0;
    if (!inum(cmd, "--limit-test", cli_opt(argc, argv, "--limit-test"), 0, 1e9, &limits[1])) return 0;
    if (!inum(cmd, "--threads", cli_opt(argc, argv, "--threads"), 0, 1024, &limits[2])) return 0;
    if (!inum(cmd, "--max-steps", cli_opt(argc, argv, "--max-steps"), 0, 1e12, &limits[3])) return 0;
    if (sch) {
        if (!strcmp(sch, "constant")) c->sgd.schedule = CONVRNN_LR_CONSTANT;
        else if (!strcmp(sch, "cosine")) c->sgd.schedule = CONVRNN_LR_COSINE;
        else if (!strncmp(sch, "step:", 5)) {
            if (!cli_int(cmd, "N of --schedule step:N", sch + 5, 1, 2147483647L, &c->sgd.step_every)) return 0;
            c->sgd.schedule = CONVRNN_LR_STEP; c->sgd.step_gamma = 0.1;
        }
        else { fprintf(stderr, "convrnn %s: --schedule is constant, cosine or step:N\n", cmd); return 0; }
    }
#ifdef _OPENMP
    if (limits[2] > 0) omp_set_num_threads((int)limits[2]);
#endif
    return 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cli_train(int argc, char **argv) {
    const char *out = cli_opt(argc, argv, "--out"), *data = cli_opt(argc, argv, "--data");
    convrnn_model m;
    convrnn_train_config cfg;
    convrnn_trainer tr;
    convrnn_dataset train, test;
    convrnn_error e;
    double limits[4], t0, save_every = 0, eval_every = 0, last_loss = 0, last_acc = 0, test_acc = -1, test_loss = -1;
    char ckpt[4096], logp[4096], final[4096];
    FILE *log = NULL;
    long total, start;
    int rc = 1, tty = isatty(1);
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    memset(&tr, 0, sizeof tr);
    convrnn_error_clear(&e);
    if (!cli_check_opts("train", argc, argv, train_vals, train_flags)) return 2;
    if (!out || !data || !*out || !*data || !cli_opt(argc, argv, "--model") || !*cli_opt(argc, argv, "--model")) {
        fprintf(stderr, "usage: convrnn train --model NAME|FILE.cfg --data DIR|synthetic --epochs E --batch B --lr LR [--momentum M]"
                        " [--nesterov] [--clip-value C] [--clip-norm C] [--wd-scale S] [--schedule constant|cosine|step:N] [--warmup N]"
                        " [--steps T] [--image-off K] [--blank V] [--seed S] [--crop-pad P] [--hflip] [--limit-train N]"
                        " [--limit-test N] [--save-every N] [--eval-every N] [--threads N] [--max-steps N] --out RUN/ [--resume]\n");
        return 2;
    }
    if (!cli_load_model("train", cli_opt(argc, argv, "--model"), &m)) return 1;
    if (!read_cfg("train", argc, argv, &m, &cfg, limits) ||   /* a bad option value: a usage error */
        !inum("train", "--save-every", cli_opt(argc, argv, "--save-every"), 0, 1e12, &save_every) ||
        !inum("train", "--eval-every", cli_opt(argc, argv, "--eval-every"), 0, 1e12, &eval_every)) { rc = 2; goto done; }
    if (!cli_load_split("train", data, 0, (long)limits[0], &train) || !cli_load_split("train", data, 1, (long)limits[1], &test) ||
        !cli_same_channels("train", &train, &test)) goto done;
    if (train.h != m.spec.in_h || train.w != m.spec.in_w) {
        /* graphs run at the input's own size; only say so */
        fprintf(stderr, "convrnn train: note: images are %dx%d, the model was declared for %dx%d\n", train.h, train.w, m.spec.in_h, m.spec.in_w);
    }
    if (convrnn_dataset_stats(&train, cfg.data.mean, cfg.data.std, &e)) { fprintf(stderr, "convrnn train: %s\n", e.msg); goto done; }
    if (!cli_mkdirs("train", out)) goto done;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    snprintf(logp, sizeof logp, "%s/log.csv", out);
    snprintf(final, sizeof final, "%s/weights.safetensors", out);
    if (convrnn_model_init(&m, cfg.seed)) { fprintf(stderr, "convrnn train: %s\n", m.err.msg); goto done; }
    if (convrnn_trainer_init(&tr, &m, &train, &cfg)) { fprintf(stderr, "convrnn train: %s\n", tr.err.msg); goto done; }
    total = tr.steps_per_epoch * cfg.epochs;
    if (limits[3] > 0 && (long)limits[3] < total) total = (long)limits[3];
    cfg.sgd.total_steps = total;
    tr.cfg.sgd.total_steps = total;
    if (cli_has_flag(argc, argv, "--resume") && file_exists(ckpt)) {
        if (convrnn_trainer_load(&tr, ckpt, &e)) { fprintf(stderr, "convrnn train: cannot resume: %s\n", e.msg); goto done; }
        printf("resumed from %s at step %ld\n", ckpt, tr.step);
    }
    log = fopen(logp, tr.step ? "a" : "w");
    if (!log) { fprintf(stderr, "convrnn train: cannot write %s: %s\n", logp, strerror(errno)); goto done; }
    if (!tr.step) fprintf(log, "step,epoch,lr,loss,acc,images_per_s,test_acc,test_loss\n");
    printf("%s: %zu parameters, %d train / %d test images of %dx%dx%d, T %d, image_off %d, %ld steps of %d\n", m.spec.name,
           convrnn_model_param_count(&m), train.n, test.n, train.h, train.w, train.c, cfg.T, cfg.image_off, total, cfg.batch);
    t0 = now_s();
    start = tr.step;
    while (tr.step < total) {
        const long s0 = tr.step;
        int end_epoch;
        if (convrnn_trainer_step(&tr, &last_loss, &last_acc)) {
            fprintf(stderr, "\nconvrnn train: %s\n", tr.err.msg);
            if (tr.err.status == CONVRNN_ERR_NOT_FINITE) fprintf(stderr, "convrnn train: stopped; the last good checkpoint is %s\n", ckpt);
            goto done;
        }
        end_epoch = tr.step % tr.steps_per_epoch == 0 || tr.step == total;
        test_acc = test_loss = -1;
        if (end_epoch || (eval_every > 0 && tr.step % (long)eval_every == 0)) {
            if (convrnn_evaluate(&m, &test, &cfg, &test_acc, &test_loss, &e)) { fprintf(stderr, "\nconvrnn train: %s\n", e.msg); goto done; }
        }
        {
            const double el = now_s() - t0, ips = (double)(tr.step - start) * cfg.batch / (el > 1e-9 ? el : 1e-9);
            const double left = (double)(total - tr.step) * cfg.batch / (ips > 0 ? ips : 1);
            fprintf(log, "%ld,%ld,%.6g,%.6f,%.4f,%.2f,", tr.step, s0 / tr.steps_per_epoch, convrnn_lr_at(&cfg.sgd, s0), last_loss, last_acc, ips);
            if (test_acc >= 0) fprintf(log, "%.4f,%.6f\n", test_acc, test_loss); else fprintf(log, ",\n");
            if (tty || tr.step % 20 == 0 || test_acc >= 0 || tr.step == total)
                printf("%sstep %ld/%ld epoch %ld | %.1f img/s | loss %.4f | acc %.3f | left %dm%02ds%s", tty ? "\r" : "", tr.step, total,
                       s0 / tr.steps_per_epoch + 1, ips, last_loss, last_acc, (int)(left / 60), (int)left % 60, tty ? "" : "\n");
            if (test_acc >= 0) printf("%s  test accuracy %.4f, loss %.4f\n", tty ? "\n" : "", test_acc, test_loss);
            fflush(stdout);
        }
        if ((save_every > 0 && tr.step % (long)save_every == 0) || end_epoch) {
            fflush(log);
            if (convrnn_trainer_save(&tr, ckpt, &e)) { fprintf(stderr, "\nconvrnn train: %s\n", e.msg); goto done; }
        }
    }
    if (convrnn_model_save(&m, final, &e)) { fprintf(stderr, "convrnn train: %s\n", e.msg); goto done; }
    printf("done: %ld steps in %.1f s; weights in %s\n", tr.step - start, now_s() - t0, final);
    rc = 0;
done:
    if (log) fclose(log);
    convrnn_trainer_free(&tr);
    convrnn_dataset_free(&train);
    convrnn_dataset_free(&test);
    convrnn_model_free(&m);
    return rc;
}

int cli_eval(int argc, char **argv) {
    static const char *vals[] = { "--model", "--data", "--weights", "--batch", "--steps", "--image-off", "--blank",
                                  "--limit-train", "--limit-test", "--threads", NULL };
    static const char *flags[] = { NULL };
    const char *w = cli_opt(argc, argv, "--weights"), *data = cli_opt(argc, argv, "--data");
    convrnn_model m;
    convrnn_train_config cfg;
    convrnn_dataset test, train;
    convrnn_error e;
    double limits[4], acc, loss;
    int rc = 1;
    memset(&test, 0, sizeof test);
    memset(&train, 0, sizeof train);
    convrnn_error_clear(&e);
    if (!cli_check_opts("eval", argc, argv, vals, flags)) return 2;
    if (!w || !data || !cli_opt(argc, argv, "--model") || !*cli_opt(argc, argv, "--model")) { fprintf(stderr, "usage: convrnn eval --model NAME|FILE.cfg --weights W.safetensors --data DIR [--batch B] [--steps T] [--image-off K] [--blank V] [--limit-train N] [--limit-test N] [--threads N]\n"); return 2; }
    if (!cli_load_model("eval", cli_opt(argc, argv, "--model"), &m)) return 1;
    if (!read_cfg("eval", argc, argv, &m, &cfg, limits)) { rc = 2; goto done; }
    if (convrnn_model_load(&m, w, &e)) { fprintf(stderr, "convrnn eval: %s\n", e.msg); goto done; }
    /* the normalisation uses the training split's statistics, as in training (of its first
       --limit-train images when given, as train does) */
    if (!cli_load_split("eval", data, 0, (long)limits[0], &train) || !cli_load_split("eval", data, 1, (long)limits[1], &test) ||
        !cli_same_channels("eval", &train, &test)) goto done;
    if (convrnn_dataset_stats(&train, cfg.data.mean, cfg.data.std, &e) || convrnn_evaluate(&m, &test, &cfg, &acc, &loss, &e)) {
        fprintf(stderr, "convrnn eval: %s\n", e.msg);
        goto done;
    }
    printf("test accuracy %.4f loss %.4f (%d images, T %d, image_off %d)\n", acc, loss, test.n, cfg.T, cfg.image_off);
    rc = 0;
done:
    convrnn_dataset_free(&test);
    convrnn_dataset_free(&train);
    convrnn_model_free(&m);
    return rc;
}
