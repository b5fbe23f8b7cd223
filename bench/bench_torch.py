"""The same work as bench/bench_convrnn.c, in PyTorch on the CPU with channels-last tensors.

    python3 bench/bench_torch.py layers SET REPS_BIG REPS_SMALL THREADS
    python3 bench/bench_torch.py train DESCRIPTION_FILE T REPS THREADS
    python3 bench/bench_torch.py mem DESCRIPTION_FILE T THREADS

DESCRIPTION_FILE is the output of `bench_convrnn describe MODEL`, so the PyTorch model has the
layer shapes of the convrnn.h zoo model it stands in for: per node a 3x3 SAME conv + ELU, the cell
(ConvGRU as convrnn.h defines it, or the rgc_shallow reciprocal gated cell), 2x2 max-pool where the
zoo pools, every edge delayed by one step, then global average pool + dense, softmax cross-entropy
on the last step, and SGD (momentum 0.9, weight decay 1e-4). It does not reproduce convrnn.h's
numerics (initialisation, TF padding offsets), only its work. Timing lines start with RESULT like
the C side's. Needs /usr/bin/python3 with torch (Debian python3-torch).
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYERS = [
    # name, n, h, ci, co, k, s, valid, need_dx  (same list as bench_convrnn.c)
    ("basenet_conv1", 16, 224, 3, 64, 7, 2, 0, 0),
    ("basenet_conv1_dx", 16, 224, 3, 64, 7, 2, 0, 1),
    ("basenet_conv2", 16, 56, 64, 128, 3, 1, 0, 1),
    ("basenet_conv3", 16, 28, 128, 256, 3, 1, 0, 1),
    ("basenet_conv4", 16, 14, 256, 256, 3, 1, 0, 1),
    ("basenet_conv5", 16, 7, 256, 512, 3, 1, 0, 1),
    ("basenet_imnetds", 16, 4, 512, 1000, 2, 1, 1, 1),
    ("laptop_28_1_8", 64, 28, 1, 8, 3, 1, 0, 0),
    ("laptop_14_8_16", 64, 14, 8, 16, 3, 1, 0, 1),
    ("laptop_7_16_16", 64, 7, 16, 16, 3, 1, 0, 1),
    ("laptop_7_32_32", 64, 7, 32, 32, 3, 1, 0, 1),
    ("laptop_7_32_16", 64, 7, 32, 16, 3, 1, 0, 1),
    ("laptop_4_16_32", 64, 4, 16, 32, 3, 1, 0, 1),
    ("laptop_4_32_32", 64, 4, 32, 32, 3, 1, 0, 1),
    ("laptop_4_64_64", 64, 4, 64, 64, 3, 1, 0, 1),
    ("laptop_4_64_32", 64, 4, 64, 32, 3, 1, 0, 1),
]

CL = torch.channels_last


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def cmd_layers(sel, reps_big, reps_small, threads):
    torch.manual_seed(0)
    for name, n, h, ci, co, k, s, valid, need_dx in LAYERS:
        if sel != "all" and not name.startswith(sel):
            continue
        reps = reps_big if name.startswith("basenet") else reps_small
        pad = 0 if valid else k // 2
        x = torch.randn(n, ci, h, h).contiguous(memory_format=CL)
        w = (torch.randn(co, ci, k, k) / (k * k * ci) ** 0.5).contiguous(memory_format=CL)
        b = torch.randn(co) * 0.1
        x.requires_grad_(bool(need_dx))
        w.requires_grad_(True)
        b.requires_grad_(True)
        with torch.no_grad():
            y = F.conv2d(x, w, b, stride=s, padding=pad)
        gy = torch.randn_like(y).contiguous(memory_format=CL)
        oh = y.shape[2]

        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, b, stride=s, padding=pad)

        def fwdbwd():
            yy = F.conv2d(x, w, b, stride=s, padding=pad)
            yy.backward(gy)
            w.grad = None
            b.grad = None
            x.grad = None

        for f in (fwd, fwd, fwdbwd, fwdbwd):   # warm-up (oneDNN builds its kernels)
            f()
        tf, ta = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            fwd()
            tf.append(time.perf_counter() - t0)
        for _ in range(reps):
            t0 = time.perf_counter()
            fwdbwd()
            ta.append(time.perf_counter() - t0)
        flops = 2.0 * n * oh * oh * co * ci * k * k
        mf, ma = median(tf), median(ta)
        print("RESULT layer impl=torch name=%s threads=%d fwd_ms=%.3f fwdbwd_ms=%.3f fwd_gflops=%.1f fwdbwd_gflops=%.1f reps=%d"
              % (name, threads, 1e3 * mf, 1e3 * ma, flops / mf / 1e9, flops * (3 if need_dx else 2) / ma / 1e9, reps),
              flush=True)


# ------------------------------------------------------------------------------- models
def parse_description(path):
    nodes, model = [], {}
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == "model":
                model = {"name": t[1], "h": int(t[3]), "w": int(t[4]), "c": int(t[5]), "classes": int(t[7])}
            elif t[0] == "node":
                d = {"name": t[1], "h": int(t[3]), "w": int(t[5]), "conv": None, "cell": None, "pool": None,
                     "gap": False, "fc": None, "cin": int(t[t.index("cin") + 1])}
                i = 6
                while i < len(t):
                    if t[i] == "conv":
                        d["conv"] = (int(t[i + 1]), int(t[i + 2]), int(t[i + 3]), int(t[i + 4]), t[i + 5])
                        i += 6
                    elif t[i] == "cell":
                        d["cell"] = (t[i + 1], int(t[i + 2]), int(t[i + 4]), int(t[i + 6]), int(t[i + 8]), int(t[i + 10]),
                                     int(t[i + 12]))
                        i += 13
                    elif t[i] == "pool":
                        d["pool"] = (int(t[i + 1]), int(t[i + 2]))
                        i += 3
                    elif t[i] == "gap":
                        d["gap"] = True
                        i += 1
                    elif t[i] == "fc":
                        d["fc"] = (int(t[i + 1]), int(t[i + 2]), t[i + 3])
                        i += 4
                    elif t[i] == "cin":
                        i += 2
                    else:
                        raise SystemExit("bench_torch.py: unknown token %r in %s" % (t[i], path))
                nodes.append(d)
    return model, nodes


def conv3(cin, cout, k, bias):
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


class GRUCell(nn.Module):
    """convrnn.h's ConvGRU: [r~,z~] = W_g*[u,h] + b_g; r = sig(r~ + 1), z = sig(z~);
    c = tanh(W_c*[u, r h] + b_c); h' = z h + (1 - z) c"""

    def __init__(self, cu, d, k):
        super().__init__()
        self.gates = conv3(cu + d, 2 * d, k, True)
        self.cand = conv3(cu + d, d, k, True)
        self.d = d

    def forward(self, u, st):
        h = st[0]
        g = self.gates(torch.cat([u, h], 1))
        r = torch.sigmoid(g[:, : self.d] + 1.0)
        z = torch.sigmoid(g[:, self.d:])
        c = torch.tanh(self.cand(torch.cat([u, r * h], 1)))
        h = c + z * (h - c)
        return h, (h,)


class RGCShallow(nn.Module):
    """convrnn.h's reciprocal gated cell with the rgc_shallow configuration (no biases, 3x3 ops):
    c' = ELU((1 - sig(tau_c(c))) c + (1 - sig(gate_c(h))) ff(x))
    h' = ELU((1 - sig(tau_h(h))) h + (1 - sig(gate_h(c) + res_gate(r))) x)"""

    def __init__(self, cu, d, cr, k):
        super().__init__()
        self.ff = conv3(cu, d, k, False)
        self.ctau = conv3(d, d, k, False)
        self.cgate = conv3(d, d, k, False)
        self.otau = conv3(d, d, k, False)
        self.ogate = conv3(d, d, k, False)
        self.ogate_r = conv3(cr, d, k, False)

    def forward(self, x, st, r):
        c, h = st
        cn = F.elu((1 - torch.sigmoid(self.ctau(c))) * c + (1 - torch.sigmoid(self.cgate(h))) * self.ff(x))
        hn = F.elu((1 - torch.sigmoid(self.otau(h))) * h + (1 - torch.sigmoid(self.ogate(c) + self.ogate_r(r))) * x)
        return hn, (cn, hn)


class Net(nn.Module):
    def __init__(self, model, nodes):
        super().__init__()
        self.nodes = nodes
        self.model = model
        self.convs = nn.ModuleList()
        self.cells = nn.ModuleList()
        self.fc = None
        for d in nodes:
            if d["conv"]:
                k, s, out, bias, act = d["conv"]
                assert s == 1 and act == "elu"
                self.convs.append(conv3(d["cin"], out, k, bool(bias)))
            else:
                self.convs.append(nn.Identity())
            cell = d["cell"]
            if cell is None:
                self.cells.append(nn.Identity())
            elif cell[0] == "gru":
                self.cells.append(GRUCell(cell[2], cell[1], cell[5]))
            elif cell[0] == "rgc":
                assert cell[6] == 0 and cell[4] == 0, "only the rgc_shallow cell without feedback is modelled"
                self.cells.append(RGCShallow(cell[2], cell[1], cell[3], cell[5]))
            else:
                raise SystemExit("bench_torch.py: no PyTorch model for cell %s" % cell[0])
            if d["fc"]:
                self.fc = nn.Linear(d["cin"], d["fc"][0])

    def forward(self, img, T):
        n = img.shape[0]
        prev = [None] * len(self.nodes)
        states = [None] * len(self.nodes)
        for t in range(T):
            outs = []
            for v, d in enumerate(self.nodes):
                if v == 0:
                    x = img
                elif prev[v - 1] is None:   # every edge delays by one step: zeros at t = 0
                    shape = self.out_shape(v - 1, n)
                    x = torch.zeros(shape).contiguous(memory_format=CL) if len(shape) == 4 else torch.zeros(shape)
                else:
                    x = prev[v - 1]
                if d["fc"]:
                    outs.append(self.fc(x.mean((2, 3)) if x.dim() == 4 else x))
                    continue
                r = x
                x = F.elu(self.convs[v](x))
                if d["cell"]:
                    if states[v] is None:
                        z = torch.zeros_like(x)
                        states[v] = (z, z) if d["cell"][0] == "rgc" else (z,)
                    if d["cell"][0] == "rgc":
                        x, states[v] = self.cells[v](x, states[v], r)
                    else:
                        x, states[v] = self.cells[v](x, states[v])
                if d["pool"]:
                    x = F.max_pool2d(x, d["pool"][0], d["pool"][1], ceil_mode=True)
                outs.append(x)
            prev = outs
        return prev[-1]

    def out_shape(self, v, n):
        d = self.nodes[v]
        if d["fc"]:
            return (n, d["fc"][0])
        c = d["conv"][2]
        h, w = d["h"], d["w"]
        if d["pool"]:
            h, w = (h + 1) // 2, (w + 1) // 2
        return (n, c, h, w)


def make(desc):
    model, nodes = parse_description(desc)
    torch.manual_seed(0)
    net = Net(model, nodes).to(memory_format=CL)
    img = torch.rand(64, model["c"], model["h"], model["w"]).contiguous(memory_format=CL)
    lab = torch.arange(64) % model["classes"]
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    return net, img, lab, opt


def step(net, img, lab, opt, T):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(img, T), lab)
    loss.backward()
    opt.step()
    return loss.item()


def cmd_train(desc, T, reps, threads):
    net, img, lab, opt = make(desc)
    step(net, img, lab, opt, T)   # warm-up
    ts = []
    loss = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        loss = step(net, img, lab, opt, T)
        ts.append(time.perf_counter() - t0)
    print("RESULT train impl=torch model=%s T=%d threads=%d batch=64 step_ms=%.2f reps=%d loss=%.6f"
          % (os.path.basename(desc).split(".")[0], T, threads, 1e3 * median(ts), reps, loss), flush=True)


def proc_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return -1


def cmd_mem(desc, T, threads):
    net, img, lab, opt = make(desc)
    try:
        with open("/proc/self/clear_refs", "w") as f:   # "5" resets the peak RSS to the current RSS
            f.write("5")
    except OSError:
        pass
    base = proc_kb("VmRSS:")
    step(net, img, lab, opt, T)
    hwm = proc_kb("VmHWM:")
    print("RESULT mem impl=torch model=%s T=%d threads=%d peak_mb=%.1f"
          % (os.path.basename(desc).split(".")[0], T, threads, (hwm - base) / 1024.0), flush=True)


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    threads = int(a[-1])
    torch.set_num_threads(threads)
    if a[0] == "layers":
        cmd_layers(a[1], int(a[2]), int(a[3]), threads)
    elif a[0] == "train":
        cmd_train(a[1], int(a[2]), int(a[3]), threads)
    elif a[0] == "mem":
        cmd_mem(a[1], int(a[2]), threads)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
