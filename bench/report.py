"""Formats the RESULT lines of bench/run.sh (build-bench/results.txt) as markdown tables and ends
with one line per comparison: `speedup NAME X`, X = PyTorch's median time / ours (mem_*: PyTorch's
peak memory / ours; above 1 means convrnn.h is faster or uses less).

    report.py [RESULTS ...]   tables of the first file; with several files (whole runs of
                              bench/run.sh), each speedup line is the median over the runs"""
import sys


def parse(path):
    rows = []
    info = {}
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == "INFO":
                for kv in t[1:]:
                    k, _, v = kv.partition("=")
                    info[k] = v
                continue
            if t[0] != "RESULT":
                continue
            d = {"kind": t[1]}
            for kv in t[2:]:
                k, _, v = kv.partition("=")
                d[k] = v
            rows.append(d)
    return rows, info


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def combine(rs, times=("fwd_ms", "fwdbwd_ms")):
    """One layer's or training step's RESULT lines of several rounds as one: the median of the
    rounds' median times, GFLOP/s from those (the FLOPs of a round are its GFLOP/s x its time), the
    highest peak measured beside it."""
    if len(rs) == 1:
        return rs[0]
    d = dict(rs[0])
    for t in times:
        if t not in rs[0]:
            continue
        ms = median(float(r[t]) for r in rs)
        d[t] = "%.4f" % ms
        g = t.replace("_ms", "_gflops")
        if g in rs[0]:
            d[g] = "%.2f" % (float(rs[0][g]) * float(rs[0][t]) / ms)
    if "peak_near_gflops" in rs[0]:
        d["peak_near_gflops"] = "%.1f" % max(float(r.get("peak_near_gflops", 0)) for r in rs)
    return d


def f(x, fmt="%.2f"):
    return fmt % x if x is not None else "-"


def report(path, quiet=False):
    """Prints the tables of one run (unless quiet) and returns its [(name, speedup)]."""
    rows, info = parse(path)
    speedups = []
    out = print if not quiet else (lambda *a, **k: None)
    peak = {int(r["threads"]): float(r["gflops"]) for r in rows if r["kind"] == "peak"}
    out("machine: %s, %s cores; PyTorch %s; %s s for the whole run" % (
        info.get("cpu", "?").replace("_", " "), info.get("cores", "?"), info.get("torch", "absent"), info.get("seconds", "?")))
    out("FMA peak measured by the run: " + ", ".join("%d thread(s) %.0f GFLOP/s" % (k, v) for k, v in sorted(peak.items())))
    out()

    # ---- layers (several rounds: the median of the rounds' medians)
    rounds = {}
    for r in rows:
        if r["kind"] == "layer" and "fwd_ms" in r:
            rounds.setdefault((r["name"], int(r["threads"]), r["impl"]), []).append(r)
        elif r["kind"] == "layer":
            out("layer %s (%s): %s" % (r.get("name"), r.get("impl"), r.get("status")))
    lay = {key: combine(rs) for key, rs in rounds.items()}
    nround = max((len(rs) for rs in rounds.values()), default=0)
    if nround > 1:
        out("layers: the median of %d rounds' medians (ours and PyTorch's in turn in each round)" % nround)
    names = []
    for (n, th, impl) in lay:
        if n not in names:
            names.append(n)
    threads = sorted({th for (_, th, _) in lay})
    out("| layer (N, H, Ci->Co, k/s) | thr | fwd ours ms | fwd torch ms | fwd x | fwd+bwd ours ms | fwd+bwd torch ms | fwd+bwd x | ours GFLOP/s fwd / fwd+bwd | % of peak fwd / fwd+bwd | % of the peak beside it |")
    out("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in names:
        for th in threads:
            o = lay.get((n, th, "convrnn"))
            p = lay.get((n, th, "torch"))
            if not o:
                continue
            of, oa = float(o["fwd_ms"]), float(o["fwdbwd_ms"])
            pf = float(p["fwd_ms"]) if p else None
            pa = float(p["fwdbwd_ms"]) if p else None
            sf = pf / of if p else None
            sa = pa / oa if p else None
            gf, ga = float(o["fwd_gflops"]), float(o["fwdbwd_gflops"])
            pk = peak.get(th)
            pn = float(o["peak_near_gflops"]) if float(o.get("peak_near_gflops", 0)) > 0 else None
            desc = "%s (%s, %s, %s->%s, %s/%s)" % (n, o["n"], o["h"], o["ci"], o["co"], o["k"], o["s"])
            out("| %s | %d | %s | %s | %s | %s | %s | %s | %.0f / %.0f | %s | %s |" % (
                desc, th, f(of), f(pf), f(sf), f(oa), f(pa), f(sa), gf, ga,
                ("%.0f%% / %.0f%%" % (100 * gf / pk, 100 * ga / pk)) if pk else "-",
                ("%.0f%% / %.0f%%" % (100 * gf / pn, 100 * ga / pn)) if pn else "-"))
            if p:
                speedups.append(("layer_%s_fwd_t%d" % (n, th), sf))
                speedups.append(("layer_%s_fwdbwd_t%d" % (n, th), sa))
    out()

    # ---- training step
    trr = {}
    for r in rows:
        if r["kind"] == "train" and "step_ms" in r:
            trr.setdefault((r["model"], int(r["T"]), int(r["threads"]), r["impl"]), []).append(r)
        elif r["kind"] == "train":
            out("train %s (%s): %s" % (r.get("model"), r.get("impl"), r.get("status")))
    tr = {key: combine(rs, ("step_ms", "full_step_ms")) for key, rs in trr.items()}
    nround = max((len(rs) for rs in trr.values()), default=0)
    if nround > 1:
        out("training steps: the median of %d rounds' medians (ours and PyTorch's in turn in each round)" % nround)
    out("| training step (batch 64) | T | thr | ours ms | torch ms | x | ours, full unroll ms (node-steps run) | x, full unroll |")
    out("|---|---|---|---|---|---|---|---|")
    for key in sorted({(m, T, th) for (m, T, th, _) in tr}):
        m, T, th = key
        o = tr.get((m, T, th, "convrnn"))
        p = tr.get((m, T, th, "torch"))
        if not o:
            continue
        os_ = float(o["step_ms"])
        ofull = float(o["full_step_ms"]) if "full_step_ms" in o else None
        ps = float(p["step_ms"]) if p else None
        x = ps / os_ if p else None
        xf = ps / ofull if p and ofull else None
        out("| %s | %d | %d | %s | %s | %s | %s (%s) | %s |" % (m, T, th, f(os_, "%.1f"), f(ps, "%.1f"), f(x), f(ofull, "%.1f"),
                                                             o.get("node_steps", "?"), f(xf)))
        if p:
            speedups.append(("train_%s_T%d_t%d" % (m, T, th), x))
            if xf is not None:
                speedups.append(("train_full_unroll_%s_T%d_t%d" % (m, T, th), xf))
    out()

    # ---- memory
    mem = {}
    for r in rows:
        if r["kind"] == "mem" and "peak_mb" in r:
            mem[(r["model"], int(r["T"]), r["impl"])] = r
    out("| peak memory of a training step (batch 64) | T | ours MB (tape MB) | torch MB | torch / ours |")
    out("|---|---|---|---|---|")
    for key in sorted({(m, T) for (m, T, _) in mem}):
        m, T = key
        o = mem.get((m, T, "convrnn"))
        p = mem.get((m, T, "torch"))
        if not o:
            continue
        om = float(o["peak_mb"])
        pm = float(p["peak_mb"]) if p else None
        x = pm / om if p and om > 0 else None
        out("| %s | %d | %.1f (%s) | %s | %s |" % (m, T, om, o.get("tape_mb", "?"), f(pm, "%.1f"), f(x)))
        if p:
            speedups.append(("mem_%s_T%d" % (m, T), x))
    out()
    return speedups


def main():
    paths = sys.argv[1:] or ["build-bench/results.txt"]
    runs = [report(p, quiet=i > 0) for i, p in enumerate(paths)]
    if len(runs) > 1:
        print("medians of %d runs:" % len(runs))
    for name, _ in runs[0]:
        print("speedup %s %.2f" % (name, median(x for run in runs for n, x in run if n == name)))


if __name__ == "__main__":
    main()
