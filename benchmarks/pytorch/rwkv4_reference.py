#!/usr/bin/python3
"""Plain-PyTorch RWKV-4: speed reference and numerical cross-check for rwkv-kokkos.

Run with Debian's interpreter (/usr/bin/python3) and Debian's python3-torch (CPU).

Math (rwkv-kokkos docs/DESIGN.md#rwkv-4-blocks), x of shape [B,T,C]:
  x = emb[idx]; x = ln0(x)                                  block 0 only
  att: a = ln1(x); s = shift(a); xk = a*mk + s*(1-mk) (xv, xr likewise)
       x += (sigmoid(xr Wr^T) * WKV(-exp(time_decay), time_first, xk Wk^T, xv Wv^T)) Wo^T
  ffn: f = ln2(x); s = shift(f); xk, xr likewise
       x += sigmoid(xr Wr^T) * (relu(xk Wk^T)^2 Wv^T)
  logits = ln_out(x) head^T;  loss = mean cross-entropy
WKV: y[t] = (sum_{i<t} e^{(t-1-i)w+k_i} v_i + e^{u+k_t} v_t) / (same with v = 1).

Modes:
  bench     forward + backward + AdamW steps on random tokens; prints one JSON line
  dump      tiny float64 model with random weights -> HDF5 file of parameters, tokens,
            logits, loss, gradients and the parameters after 3 AdamW steps
  selftest  WKV against a per-step scalar reference; torch.autograd.gradcheck of the WKV
            and of the whole model
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from reference_common import (add_shape_args, adamw_steps, check, loss_fn, model_loss_of, parse_modes, run_mode,
                              timed_training_steps, write_adamw_group, write_h5, write_model_case)

WKV_CHUNK = 8  # T = 256 on 2 cores: L = 4 and 8 tie, 16 is 1.5-2x and 32 4x slower


# ---------------------------------------------------------------------------- WKV

def wkv_scalar_reference(w, u, k, v):
    """docs/DESIGN.md's recurrence, literally, one (b, c) at a time in float64 (selftest only)."""
    w, u, k, v = (t.detach().double().numpy() for t in (w, u, k, v))
    B, T, C = k.shape
    y = np.zeros((B, T, C))
    for b in range(B):
        for c in range(C):
            aa, bb, pp = 0.0, 0.0, -1e38
            for t in range(T):
                kt, vt = k[b, t, c], v[b, t, c]
                ww = u[c] + kt
                p = max(pp, ww)
                e1, e2 = math.exp(pp - p), math.exp(ww - p)
                y[b, t, c] = (e1 * aa + e2 * vt) / (e1 * bb + e2)
                ww = w[c] + pp
                p = max(ww, kt)
                e1, e2 = math.exp(ww - p), math.exp(kt - p)
                aa, bb, pp = e1 * aa + e2 * vt, e1 * bb + e2, p
    return torch.from_numpy(y)


def wkv_sequential(w, u, k, v):
    """The same recurrence on [B, C] slices, differentiated by autograd step by step."""
    B, T, C = k.shape
    kt, vt = k.transpose(0, 1), v.transpose(0, 1)
    aa, bb = k.new_zeros(B, C), k.new_zeros(B, C)
    pp = k.new_full((B, C), -1e38)
    ys = []
    for t in range(T):
        ww = u + kt[t]
        p = torch.maximum(pp, ww)
        e1, e2 = torch.exp(pp - p), torch.exp(ww - p)
        ys.append((e1 * aa + e2 * vt[t]) / (e1 * bb + e2))
        ww = w + pp
        p = torch.maximum(ww, kt[t])
        e1, e2 = torch.exp(ww - p), torch.exp(kt[t] - p)
        aa, bb, pp = e1 * aa + e2 * vt[t], e1 * bb + e2, p
    return torch.stack(ys, 1)


def wkv_chunked(w, u, k, v, L=WKV_CHUNK):
    """Chunks of L tokens: inside a chunk the weights form an [L, L] lower-triangular matrix
    per channel (all chunks at once); only a state per chunk is carried sequentially.

    Every exponent is shifted by a running maximum that is detached from autograd: the
    ratio y = num/den and the state product aa*e^pp do not depend on the shift, so its
    gradient cancels exactly and need not be taken.
    """
    B, T, C = k.shape
    N = (T + L - 1) // L
    pad = N * L - T  # padded tokens come last, so they never reach a real output (causal)
    kc = F.pad(k, (0, 0, 0, pad)).permute(0, 2, 1).reshape(B, C, N, L)
    vc = F.pad(v, (0, 0, 0, pad)).permute(0, 2, 1).reshape(B, C, N, L)
    j = torch.arange(L, dtype=k.dtype)
    lag = j.view(L, 1) - 1 - j.view(1, L)  # t - 1 - i
    diag = torch.eye(L, dtype=torch.bool)
    wcol, ucol = w.view(C, 1, 1), u.view(C, 1, 1)
    # exponent without k: (t-1-i) w below the diagonal, u on it, -inf above (future tokens)
    expo = torch.where(diag, ucol, wcol * lag)
    expo = torch.where((lag >= 0) | diag, expo, torch.full((), -math.inf, dtype=k.dtype))
    E = expo.unsqueeze(1) + kc.unsqueeze(3)  # [B, C, N, t, i]
    m_in = E.amax(-1).detach()
    P = torch.exp(E - m_in.unsqueeze(-1))
    num_in = (P @ vc.unsqueeze(-1)).squeeze(-1)
    den_in = P.sum(-1)

    # what a chunk adds to the state: sum_i e^{(L-1-i)w + k_i} (v_i or 1)
    Fx = wcol * (L - 1 - j) + kc
    m_f = Fx.amax(-1).detach()
    ef = torch.exp(Fx - m_f.unsqueeze(-1))
    add_a, add_b = (ef * vc).sum(-1), ef.sum(-1)
    decay = L * w
    aa, bb = k.new_zeros(B, C), k.new_zeros(B, C)
    pp = k.new_full((B, C), -1e38)
    states = []
    for n in range(N):
        states.append((aa, bb, pp))
        g = pp + decay
        p = torch.maximum(g, m_f[:, :, n]).detach()
        e1, e2 = torch.exp(g - p), torch.exp(m_f[:, :, n] - p)
        aa, bb, pp = e1 * aa + e2 * add_a[:, :, n], e1 * bb + e2 * add_b[:, :, n], p
    sa, sb, sp = (torch.stack(s, 2).unsqueeze(-1) for s in zip(*states))  # [B, C, N, 1]

    S = sp + wcol * j  # the carried state reaches token j of a chunk decayed by e^{jw}
    m = torch.maximum(m_in, S).detach()
    e_in, e_s = torch.exp(m_in - m), torch.exp(S - m)
    y = (e_in * num_in + e_s * sa) / (e_in * den_in + e_s * sb)
    return y.reshape(B, C, N * L)[:, :, :T].permute(0, 2, 1)


WKV_IMPLS = {"chunked": wkv_chunked, "sequential": wkv_sequential}


# ---------------------------------------------------------------------------- model

def token_shift(x):
    """s[t] = x[t-1], s[0] = 0, on [B, T, C]."""
    return F.pad(x, (0, 0, 1, -1))


class TimeMix(nn.Module):
    def __init__(self, C, wkv):
        super().__init__()
        self.wkv = wkv
        self.time_decay = nn.Parameter(torch.zeros(C))
        self.time_first = nn.Parameter(torch.zeros(C))
        self.time_mix_k = nn.Parameter(torch.zeros(C))
        self.time_mix_v = nn.Parameter(torch.zeros(C))
        self.time_mix_r = nn.Parameter(torch.zeros(C))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)

    def forward(self, a):
        s = token_shift(a)
        xk = a * self.time_mix_k + s * (1 - self.time_mix_k)
        xv = a * self.time_mix_v + s * (1 - self.time_mix_v)
        xr = a * self.time_mix_r + s * (1 - self.time_mix_r)
        r = torch.sigmoid(self.receptance(xr))
        y = self.wkv(-torch.exp(self.time_decay), self.time_first, self.key(xk), self.value(xv))
        return self.output(r * y)


class ChannelMix(nn.Module):
    def __init__(self, C, F_):
        super().__init__()
        self.time_mix_k = nn.Parameter(torch.zeros(C))
        self.time_mix_r = nn.Parameter(torch.zeros(C))
        self.key = nn.Linear(C, F_, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(F_, C, bias=False)

    def forward(self, f):
        s = token_shift(f)
        xk = f * self.time_mix_k + s * (1 - self.time_mix_k)
        xr = f * self.time_mix_r + s * (1 - self.time_mix_r)
        return torch.sigmoid(self.receptance(xr)) * self.value(torch.relu(self.key(xk)) ** 2)


class Block(nn.Module):
    def __init__(self, layer_id, C, F_, wkv):
        super().__init__()
        if layer_id == 0:
            self.ln0 = nn.LayerNorm(C, eps=1e-5)
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.att = TimeMix(C, wkv)
        self.ffn = ChannelMix(C, F_)

    def forward(self, x):
        if hasattr(self, "ln0"):
            x = self.ln0(x)
        x = x + self.att(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class RWKV4(nn.Module):
    def __init__(self, n_layer, n_embd, dim_ffn, vocab_size, wkv=wkv_chunked):
        super().__init__()
        self.n_layer, self.n_embd, self.dim_ffn, self.vocab_size = n_layer, n_embd, dim_ffn, vocab_size
        self.emb = nn.Embedding(vocab_size, n_embd)
        self.blocks = nn.ModuleList(Block(i, n_embd, dim_ffn, wkv) for i in range(n_layer))
        self.ln_out = nn.LayerNorm(n_embd, eps=1e-5)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        x = self.emb(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_out(x))


def expected_shapes(n_layer, C, F_, V):
    """The state_dict of docs/DESIGN.md, written out independently of the module tree."""
    shapes = {"emb.weight": (V, C), "blocks.0.ln0.weight": (C,), "blocks.0.ln0.bias": (C,)}
    for i in range(n_layer):
        p = f"blocks.{i}."
        for ln in ("ln1", "ln2"):
            shapes[p + ln + ".weight"] = shapes[p + ln + ".bias"] = (C,)
        for name in ("time_decay", "time_first", "time_mix_k", "time_mix_v", "time_mix_r"):
            shapes[p + "att." + name] = (C,)
        for name in ("key", "value", "receptance", "output"):
            shapes[p + "att." + name + ".weight"] = (C, C)
        shapes[p + "ffn.time_mix_k"] = shapes[p + "ffn.time_mix_r"] = (C,)
        shapes[p + "ffn.key.weight"] = (F_, C)
        shapes[p + "ffn.receptance.weight"] = (C, C)
        shapes[p + "ffn.value.weight"] = (C, F_)
    shapes["ln_out.weight"] = shapes["ln_out.bias"] = (C,)
    shapes["head.weight"] = (V, C)
    return shapes


def make_adamw(model, lr, betas, eps, weight_decay):
    """Weight decay on the 2-D weight matrices only (emb and head included)."""
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() == 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() != 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=False)


@torch.no_grad()
def init_rwkv4(model, gen):
    """RWKV-4 initialization: depth-dependent time curves, small-init embedding, zero-init
    projections. The remaining matrices get normal(0, 1/sqrt(in)) rather than RWKV-LM's
    orthogonal init: a QR of the 50277 x 768 head takes long and does not change the timing."""
    L, C = model.n_layer, model.n_embd
    ramp = torch.arange(C, dtype=torch.float64) / C
    model.emb.weight.uniform_(-1e-4, 1e-4, generator=gen)
    for i, blk in enumerate(model.blocks):
        r01 = i / (L - 1) if L > 1 else 0.0
        r10 = 1.0 - i / L
        h = torch.arange(C, dtype=torch.float64) / max(C - 1, 1)
        blk.att.time_decay.copy_(-5 + 8 * h ** (0.7 + 1.3 * r01))
        zigzag = 0.5 * torch.tensor([(c + 1) % 3 - 1 for c in range(C)], dtype=torch.float64)
        blk.att.time_first.copy_(math.log(0.3) + zigzag)
        blk.att.time_mix_k.copy_(ramp ** r10)
        blk.att.time_mix_v.copy_(ramp ** r10 + 0.3 * r01)
        blk.att.time_mix_r.copy_(ramp ** (0.5 * r10))
        blk.ffn.time_mix_k.copy_(ramp ** r10)
        blk.ffn.time_mix_r.copy_(ramp ** r10)
        for lin in (blk.att.key, blk.att.receptance, blk.att.output, blk.ffn.receptance, blk.ffn.value):
            lin.weight.zero_()
        for lin in (blk.att.value, blk.ffn.key):
            lin.weight.normal_(0.0, lin.in_features ** -0.5, generator=gen)
    model.head.weight.normal_(0.0, 0.5 * C ** -0.5, generator=gen)


@torch.no_grad()
def randomize(model, gen):
    """Every parameter random and nonzero, so that every gradient is nonzero too."""
    for name, p in model.named_parameters():
        if name.endswith("time_decay"):
            p.uniform_(-2.0, 1.0, generator=gen)  # |w| from 0.14 to 2.7
        elif name.endswith("time_first"):
            p.uniform_(-1.0, 1.0, generator=gen)
        elif ".time_mix_" in name:
            p.uniform_(0.05, 0.95, generator=gen)
        elif p.dim() == 1 and name.endswith(".weight"):  # layer-norm gains
            p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        elif p.dim() == 1:  # layer-norm biases
            p.copy_(0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        elif name == "emb.weight":
            p.normal_(0.0, 1.0, generator=gen)
        else:
            p.normal_(0.0, p.shape[1] ** -0.5, generator=gen)


# ---------------------------------------------------------------------------- bench

def run_bench(a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    dim_ffn = a.dim_ffn or 4 * a.n_embd
    model = RWKV4(a.n_layer, a.n_embd, dim_ffn, a.vocab, WKV_IMPLS[a.wkv])
    init_rwkv4(model, gen)
    opt = make_adamw(model, lr=6e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)
    idx = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    tgt = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    loss, wall, cpu = timed_training_steps(model, opt, idx, tgt, a.warmup, a.steps, logits_of)
    print(json.dumps({
        "impl": "pytorch", "n_layer": a.n_layer, "n_embd": a.n_embd, "dim_ffn": dim_ffn,
        "vocab": a.vocab, "ctx_len": a.ctx_len, "batch": a.batch, "threads": a.threads,
        "steps": a.steps, "warmup": a.warmup, "wkv": a.wkv,
        "tokens_per_s": a.batch * a.ctx_len * a.steps / wall,
        "step_ms": 1e3 * wall / a.steps, "cpu_ms_per_step": 1e3 * cpu / a.steps,
        "loss": loss, "torch": str(torch.__version__)}))


# ---------------------------------------------------------------------------- dump

def logits_of(output):
    """The model's forward returns the logits themselves."""
    return output


def tiny_model(a, gen):
    model = RWKV4(a.n_layer, a.n_embd, a.dim_ffn or 4 * a.n_embd, a.vocab).double()
    randomize(model, gen)
    idx = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    tgt = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    return model, idx, tgt


def run_dump(a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    model, idx, tgt = tiny_model(a, gen)
    F_ = model.dim_ffn
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes == expected_shapes(a.n_layer, a.n_embd, F_, a.vocab), "state_dict names/shapes"
    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    assert torch.autograd.gradcheck(model_loss_of(model, idx, tgt, logits_of), params, fast_mode=True)

    logits = model(idx)
    loss = loss_fn(logits, tgt)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    zero = [n for n, g in grads.items() if not bool((g != 0).any())]
    assert not zero, f"zero gradients: {zero}"
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}

    hyper = lr, betas, eps, wd = 1e-3, (0.9, 0.99), 1e-8, 0.01
    losses = adamw_steps(model, make_adamw(model, lr, betas, eps, wd), idx, tgt, 3, logits_of)

    def fill(h):
        write_model_case(h, "benchmarks/pytorch/rwkv4_reference.py dump",
                         (("n_layer", a.n_layer), ("n_embd", a.n_embd), ("dim_ffn", F_), ("vocab_size", a.vocab),
                          ("ctx_len", a.ctx_len), ("batch", a.batch), ("seed", a.seed)),
                         initial, idx, tgt, logits, loss, grads)
        write_adamw_group(h, model, hyper, losses, "2-D weight matrices (emb.weight, head.weight, every Linear)")
    write_h5(a.out, fill)
    print(json.dumps({"file": a.out, "loss": loss.item(), "adamw_losses": losses,
                      "n_params": sum(p.numel() for p in model.parameters())}))


# ---------------------------------------------------------------------------- selftest

def random_wkv_inputs(gen, B, T, C, dtype, decay_hi=1.0, k_scale=1.0):
    w = -torch.exp(torch.empty(C, dtype=dtype).uniform_(-3.0, decay_hi, generator=gen))
    u = torch.randn(C, generator=gen, dtype=dtype)
    k = k_scale * torch.randn(B, T, C, generator=gen, dtype=dtype)
    v = torch.randn(B, T, C, generator=gen, dtype=dtype)
    return w, u, k, v


def run_selftest(a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    ok = True

    # WKV vs the scalar recurrence: odd T across several chunks and T shorter than a chunk;
    # a second case with |w| up to e^3 and large k, where a naive exp(k) would overflow float32.
    for (B, T, C, hi, ks) in ((2, 19, 5, 1.0, 1.0), (1, 1, 3, 1.0, 1.0), (3, 7, 4, 1.0, 1.0),
                              (2, 33, 6, 3.0, 40.0)):
        w, u, k, v = random_wkv_inputs(gen, B, T, C, torch.float64, hi, ks)
        ref = wkv_scalar_reference(w, u, k, v)
        for impl, fn in WKV_IMPLS.items():
            err = (fn(w, u, k, v) - ref).abs().max().item()
            ok &= check(f"wkv {impl} == scalar recurrence, double, B{B} T{T} C{C} |k|~{ks}",
                        err < 1e-12, f"max abs err {err:.1e}")
            # float32, against the reference on the same rounded inputs: y is a convex mix of
            # the v's, weighted by exponentials whose float32 exponents carry an absolute error
            # of about eps32 * |exponent|, |exponent| <= |u| + |k| + WKV_CHUNK |w|.
            x32 = tuple(t.float() for t in (w, u, k, v))
            ref32 = wkv_scalar_reference(*x32)
            err32 = (fn(*x32).double() - ref32).abs().max().item()
            expo = (u.abs().max() + k.abs().max() + WKV_CHUNK * w.abs().max()).item()
            bound = 4 * 2.0 ** -24 * (1 + expo) * v.abs().max().item()
            ok &= check(f"wkv {impl} float32 vs double reference, B{B} T{T} C{C} |k|~{ks}",
                        err32 < bound, f"max abs err {err32:.1e} (bound {bound:.1e})")
    for L in (1, 3, 8):
        w, u, k, v = random_wkv_inputs(gen, 2, 17, 3, torch.float64)
        err = (wkv_chunked(w, u, k, v, L=L) - wkv_scalar_reference(w, u, k, v)).abs().max().item()
        ok &= check(f"wkv chunked L={L} == scalar recurrence", err < 1e-12, f"max abs err {err:.1e}")

    # WKV backward: full (element-wise) gradcheck of both formulations, w, u, k, v all checked.
    for impl, fn in WKV_IMPLS.items():
        for (B, T, C) in ((2, 19, 3), (1, 1, 2)):
            inp = tuple(t.requires_grad_() for t in random_wkv_inputs(gen, B, T, C, torch.float64))
            ok &= check(f"gradcheck wkv {impl} B{B} T{T} C{C}",
                        torch.autograd.gradcheck(fn, inp, eps=1e-6,
                                                  atol=1e-8, rtol=1e-6, raise_exception=False))

    # whole model: names and shapes, full gradcheck of the loss on a very small config, and a
    # fast (random-projection) gradcheck on the dump's config; a model with T spanning chunks.
    for (L_, D, F_, V, T, B, fast) in ((2, 4, 8, 5, 5, 2, False), (2, 3, 5, 4, 11, 1, False),
                                       (a.n_layer, a.n_embd, a.dim_ffn or 4 * a.n_embd,
                                        a.vocab, a.ctx_len, a.batch, True)):
        c = argparse.Namespace(n_layer=L_, n_embd=D, dim_ffn=F_, vocab=V, ctx_len=T, batch=B)
        model, idx, tgt = tiny_model(c, gen)
        shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
        ok &= check(f"state_dict names and shapes L{L_} D{D} F{F_} V{V}",
                    shapes == expected_shapes(L_, D, F_, V))
        params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
        t0 = time.perf_counter()
        res = torch.autograd.gradcheck(model_loss_of(model, idx, tgt, logits_of), params, eps=1e-6,
                                       atol=1e-8, rtol=1e-6, fast_mode=fast,
                                       raise_exception=False)
        n = sum(p.numel() for p in params)
        ok &= check(f"gradcheck model loss ({'fast' if fast else 'full'}) L{L_} D{D} F{F_} V{V} "
                    f"T{T} B{B}, {n} parameters", res, f"{time.perf_counter() - t0:.1f} s")
        seq = RWKV4(L_, D, F_, V, wkv_sequential).double()
        seq.load_state_dict(model.state_dict())
        err = (seq(idx) - model(idx)).abs().max().item()
        ok &= check(f"model logits chunked == sequential WKV L{L_} D{D}", err < 1e-12,
                    f"max abs err {err:.1e}")

    print("selftest " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


# ---------------------------------------------------------------------------- CLI

def main(argv=None):
    def model_args(p, defaults):
        L, D, V, T, B = defaults
        add_shape_args(p, L, D, V, T, B)
        p.add_argument("--dim-ffn", type=int, default=0, help="default 4*n_embd")

    tiny = (2, 16, 11, 7, 2)
    ap, bench = parse_modes(__doc__, model_args, {"bench": (6, 512, 256, 256, 8), "dump": tiny,
                                                  "selftest": tiny, "out": "rwkv4_reference.h5"})
    bench.add_argument("--wkv", choices=sorted(WKV_IMPLS), default="chunked")
    return run_mode(ap.parse_args(argv), {"bench": run_bench, "dump": run_dump, "selftest": run_selftest})

if __name__ == "__main__":
    sys.exit(main())
