#!/usr/bin/python3
"""Plain-PyTorch RWKV-7 (x070): numerical cross-check and speed reference for rwkv-kokkos.

Run with Debian's interpreter (/usr/bin/python3) and Debian's python3-torch (CPU). Written from the
formulas (shared/RWKV-VERSIONS.md section 1), not from RWKV-LM's code. x of shape [B, T, C],
C = H * N, d = shift(x) - x (shift: the previous token's x, from the state at t = 0):
  time mix on a = ln1(x), with x_c = a + d * mu_c for c in r, w, k, v, a, g:
    r = Wr x_r, k = Wk x_k, v = Wv x_v
    omega = exp(-e^{-1/2} sigmoid(w0 + tanh(x_w w1) w2))               decay, in (0.545, 1)
    layer 0: v_first = v; others: v += (v_first - v) sigmoid(v0 + (x_v v1) v2)
    a = sigmoid(a0 + (x_a a1) a2),  g = sigmoid(x_g g1) g2
    kk = normalize_per_head(k * k_k),  k = k * (1 + (a - 1) * k_a)
    per head: S <- S diag(omega) + (S alpha) beta^T + v k^T,  y = S r    alpha = -kk, beta = kk * a
    y = GroupNorm_H(y; eps 64e-5) + (sum_head r * k * r_k) v;  out = Wo (y * g)
  channel mix on f = ln2(x): out = Wv relu(Wk (f + d mu_k))^2
  block 0 starts with ln0; logits = head ln_out(x); loss = mean cross-entropy (no L2Wrap).
State per layer (RNN mode): att_x_prev [B, C], wkv [B, H, N, N] (S[i][j]: i value, j key), ffn_x_prev.

Modes:
  bench     forward + backward + AdamW steps on random tokens; prints one JSON line
  dump      tiny float64 model with random weights -> HDF5 file of parameters, tokens, logits,
            loss, gradients, parameters after 3 AdamW steps, and the RNN mode's logits and state
  selftest  WKV-7 against a scalar loop, gradchecks of the WKV-7 and of the model, prefill ==
            token-by-token steps, state_dict names and shapes
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

LN_X_EPS = 64e-5
DECAY_SCALE = math.exp(-0.5)


# ---------------------------------------------------------------------------- WKV-7

def wkv7_scalar_reference(r, w, k, v, alpha, beta, s0):
    """The recurrence element by element in float64 numpy (selftest only). Inputs [B, T, H, N],
    s0 [B, H, N, N]; returns y [B, T, H, N] and the final state."""
    r, w, k, v, alpha, beta, s = (t.detach().double().numpy().copy() for t in (r, w, k, v, alpha, beta, s0))
    B, T, H, N = r.shape
    y = np.zeros((B, T, H, N))
    for b in range(B):
        for h in range(H):
            S = s[b, h]
            for t in range(T):
                sa = [sum(S[i, j] * alpha[b, t, h, j] for j in range(N)) for i in range(N)]
                for i in range(N):
                    for j in range(N):
                        S[i, j] = S[i, j] * w[b, t, h, j] + sa[i] * beta[b, t, h, j] + v[b, t, h, i] * k[b, t, h, j]
                for i in range(N):
                    y[b, t, h, i] = sum(S[i, j] * r[b, t, h, j] for j in range(N))
    return torch.from_numpy(y), torch.from_numpy(s)


def wkv7_loop(r, w, k, v, alpha, beta, s0):
    """The same recurrence on [B, H, N] slices, step by step, differentiated by autograd."""
    S = s0
    ys = []
    for t in range(r.shape[1]):
        sa = torch.einsum("bhij,bhj->bhi", S, alpha[:, t])
        S = S * w[:, t, :, None, :] + sa[..., None] * beta[:, t, :, None, :] + v[:, t, :, :, None] * k[:, t, :, None, :]
        ys.append(torch.einsum("bhij,bhj->bhi", S, r[:, t]))
    y = torch.stack(ys, 1) if ys else r.new_zeros(r.shape)
    return y, S


def decay_of(z):
    """omega = exp(-e^{-1/2} sigmoid(z)): the decay from its raw logit."""
    return torch.exp(-DECAY_SCALE * torch.sigmoid(z))


# ---------------------------------------------------------------------------- model

def shift(x, prev):
    """s[t] = x[t-1], s[0] = prev ([B, C], zero at a sequence start)."""
    return torch.cat((prev[:, None, :], x[:, :-1, :]), 1)


class TimeMix(nn.Module):
    def __init__(self, layer_id, C, H, ranks):
        super().__init__()
        d_w, d_a, d_v, d_g = ranks
        self.layer_id, self.H, self.N = layer_id, H, C // H
        for name in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "k_k", "k_a"):
            setattr(self, name, nn.Parameter(torch.zeros(1, 1, C)))
        self.w1, self.w2 = nn.Parameter(torch.zeros(C, d_w)), nn.Parameter(torch.zeros(d_w, C))
        self.a1, self.a2 = nn.Parameter(torch.zeros(C, d_a)), nn.Parameter(torch.zeros(d_a, C))
        if layer_id > 0:  # the value residual mixes layer 0's v into every later layer
            self.v0 = nn.Parameter(torch.zeros(1, 1, C))
            self.v1, self.v2 = nn.Parameter(torch.zeros(C, d_v)), nn.Parameter(torch.zeros(d_v, C))
        self.g1, self.g2 = nn.Parameter(torch.zeros(C, d_g)), nn.Parameter(torch.zeros(d_g, C))
        self.r_k = nn.Parameter(torch.zeros(H, self.N))
        self.receptance = nn.Linear(C, C, bias=False)
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)
        self.ln_x = nn.GroupNorm(H, C, eps=LN_X_EPS)

    def forward(self, x, v_first, x_prev, s0):
        B, T, C = x.shape
        H, N = self.H, self.N
        d = shift(x, x_prev) - x
        xr, xw, xk, xv, xa, xg = (x + d * mu for mu in (self.x_r, self.x_w, self.x_k, self.x_v, self.x_a, self.x_g))
        r, k, v = self.receptance(xr), self.key(xk), self.value(xv)
        w = decay_of(self.w0 + torch.tanh(xw @ self.w1) @ self.w2)
        if self.layer_id == 0:
            v_first = v
        else:
            v = v + (v_first - v) * torch.sigmoid(self.v0 + (xv @ self.v1) @ self.v2)
        a = torch.sigmoid(self.a0 + (xa @ self.a1) @ self.a2)
        g = torch.sigmoid(xg @ self.g1) @ self.g2
        kk = F.normalize((k * self.k_k).view(B, T, H, N), dim=-1, p=2.0, eps=1e-12).view(B, T, C)
        k = k * (1 + (a - 1) * self.k_a)

        def heads(t):
            return t.view(B, T, H, N)
        y, s = wkv7_loop(heads(r), heads(w), heads(k), heads(v), heads(-kk), heads(kk * a), s0)
        y = self.ln_x(y.reshape(B * T, C)).view(B, T, C)
        bonus = (heads(r) * heads(k) * self.r_k).sum(-1, keepdim=True) * heads(v)
        y = y + bonus.reshape(B, T, C)
        return self.output(y * g), v_first, x[:, -1, :], s


class ChannelMix(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.x_k = nn.Parameter(torch.zeros(1, 1, C))
        self.key = nn.Linear(C, 4 * C, bias=False)
        self.value = nn.Linear(4 * C, C, bias=False)

    def forward(self, x, x_prev):
        k = x + (shift(x, x_prev) - x) * self.x_k
        return self.value(torch.relu(self.key(k)) ** 2), x[:, -1, :]


class Block(nn.Module):
    def __init__(self, layer_id, C, H, ranks):
        super().__init__()
        if layer_id == 0:
            self.ln0 = nn.LayerNorm(C, eps=1e-5)
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.att = TimeMix(layer_id, C, H, ranks)
        self.ffn = ChannelMix(C)

    def forward(self, x, v_first, state):
        att_prev, wkv, ffn_prev = state
        if hasattr(self, "ln0"):
            x = self.ln0(x)
        dx, v_first, att_prev, wkv = self.att(self.ln1(x), v_first, att_prev, wkv)
        x = x + dx
        dx, ffn_prev = self.ffn(self.ln2(x), ffn_prev)
        return x + dx, v_first, (att_prev, wkv, ffn_prev)


class RWKV7(nn.Module):
    def __init__(self, n_layer, n_embd, head_size, vocab_size, ranks):
        super().__init__()
        assert n_embd % head_size == 0, "n_embd must be a multiple of head_size"
        self.n_layer, self.n_embd, self.head_size, self.vocab_size = n_layer, n_embd, head_size, vocab_size
        self.n_head, self.ranks = n_embd // head_size, tuple(ranks)
        self.emb = nn.Embedding(vocab_size, n_embd)
        self.blocks = nn.ModuleList(Block(i, n_embd, self.n_head, ranks) for i in range(n_layer))
        self.ln_out = nn.LayerNorm(n_embd, eps=1e-5)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)

    def new_state(self, batch):
        """Zero state of every layer: (att_x_prev, wkv, ffn_x_prev); the wkv state is never
        narrower than float32."""
        p = self.emb.weight
        wkv_dtype = torch.promote_types(p.dtype, torch.float32)
        return [(p.new_zeros(batch, self.n_embd),
                 torch.zeros(batch, self.n_head, self.head_size, self.head_size, dtype=wkv_dtype),
                 p.new_zeros(batch, self.n_embd)) for _ in range(self.n_layer)]

    def forward(self, idx, state=None):
        """Logits [B, T, V] and the state after the tokens (from `state`, or a fresh one)."""
        state = state if state is not None else self.new_state(idx.shape[0])
        x = self.emb(idx)
        v_first = None
        out = []
        for block, layer_state in zip(self.blocks, state):
            x, v_first, layer_state = block(x, v_first, layer_state)
            out.append(layer_state)
        return self.head(self.ln_out(x)), out


def expected_shapes(n_layer, C, N, V, ranks):
    """RWKV-7's state_dict (RWKV-VERSIONS.md 1.1), written out independently of the module tree."""
    d_w, d_a, d_v, d_g = ranks
    H = C // N
    shapes = {"emb.weight": (V, C), "blocks.0.ln0.weight": (C,), "blocks.0.ln0.bias": (C,)}
    for i in range(n_layer):
        p = f"blocks.{i}."
        for ln in ("ln1", "ln2"):
            shapes[p + ln + ".weight"] = shapes[p + ln + ".bias"] = (C,)
        for name in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "k_k", "k_a"):
            shapes[p + "att." + name] = (1, 1, C)
        for name, rank in (("w", d_w), ("a", d_a), ("g", d_g)) + ((("v", d_v),) if i > 0 else ()):
            shapes[p + f"att.{name}1"] = (C, rank)
            shapes[p + f"att.{name}2"] = (rank, C)
        if i > 0:
            shapes[p + "att.v0"] = (1, 1, C)
        shapes[p + "att.r_k"] = (H, N)
        for name in ("receptance", "key", "value", "output"):
            shapes[p + "att." + name + ".weight"] = (C, C)
        shapes[p + "att.ln_x.weight"] = shapes[p + "att.ln_x.bias"] = (C,)
        shapes[p + "ffn.x_k"] = (1, 1, C)
        shapes[p + "ffn.key.weight"] = (4 * C, C)
        shapes[p + "ffn.value.weight"] = (C, 4 * C)
    shapes["ln_out.weight"] = shapes["ln_out.bias"] = (C,)
    shapes["head.weight"] = (V, C)
    return shapes


def make_adamw(model, lr, betas, eps, weight_decay):
    """RWKV-7's groups: weight decay on the 2-D `.weight` matrices only (not the LoRAs), twice the
    learning rate on att.w0."""
    decayed, doubled, plain = [], [], []
    for name, p in model.named_parameters():
        if name.endswith(".weight") and p.dim() == 2:
            decayed.append(p)
        elif name.endswith("att.w0"):
            doubled.append(p)
        else:
            plain.append(p)
    groups = [{"params": decayed, "weight_decay": weight_decay},
              {"params": doubled, "weight_decay": 0.0, "lr": 2 * lr},
              {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=False)


@torch.no_grad()
def init_rwkv7(model, gen):
    """RWKV-7's initialization (RWKV-VERSIONS.md 1.1), with normal(0, gain/sqrt(in)) in place of the
    orthogonal matrices: a QR of the large ones takes long and does not change the timing."""
    L, C, N = model.n_layer, model.n_embd, model.head_size
    n = torch.arange(C, dtype=torch.float64)
    ddd = n / C
    linear = n / (C - 1) - 0.5
    z = ((n % N) - (N - 1) / 2) / ((N - 1) / 2)
    zigzag = z * z.abs()
    model.emb.weight.uniform_(-1e-4, 1e-4, generator=gen)
    for i, blk in enumerate(model.blocks):
        r0 = i / (L - 1) if L > 1 else 0.0
        r1 = 1.0 - i / L
        att = blk.att
        for name, power in (("x_r", 0.2), ("x_w", 0.9), ("x_k", 0.7), ("x_v", 0.7), ("x_a", 0.9), ("x_g", 0.2)):
            getattr(att, name).copy_((1 - ddd ** (power * r1)).view(1, 1, C))
        www = -6 + 6 * (n / (C - 1)) ** (1 + r0 ** 0.3)
        att.w0.copy_((www + 0.5 + 2.5 * zigzag).view(1, 1, C))
        att.a0.copy_((-0.19 + 0.3 * zigzag + 0.4 * linear).view(1, 1, C))
        if i > 0:
            att.v0.copy_((0.73 - 0.4 * linear).view(1, 1, C))
        att.k_k.copy_((0.71 - 0.1 * linear).view(1, 1, C))
        att.k_a.fill_(1.02)
        att.r_k.fill_(-0.04)
        for first, second in ((att.w1, att.w2), (att.a1, att.a2), (att.g1, att.g2)) + (
                ((att.v1, att.v2),) if i > 0 else ()):
            first.zero_()
            second.normal_(0.0, 0.1 * second.shape[0] ** -0.5, generator=gen)
        att.ln_x.weight.fill_(((1 + i) / L) ** 0.7)
        att.ln_x.bias.zero_()
        for lin, gain in ((att.receptance, 1.0), (att.key, 0.1), (att.value, 1.0), (blk.ffn.key, 1.0)):
            lin.weight.normal_(0.0, gain * lin.in_features ** -0.5, generator=gen)
        att.output.weight.zero_()
        blk.ffn.value.weight.zero_()
        blk.ffn.x_k.copy_((1 - ddd ** (r1 ** 4)).view(1, 1, C))
    model.head.weight.normal_(0.0, 0.5 * C ** -0.5, generator=gen)


@torch.no_grad()
def randomize(model, gen):
    """Every parameter random and nonzero, so that every gradient is nonzero too."""
    for name, p in model.named_parameters():
        if name.endswith("att.w0"):
            p.uniform_(-3.0, 3.0, generator=gen)
        elif name.endswith(("x_r", "x_w", "x_k", "x_v", "x_a", "x_g")):
            p.uniform_(0.05, 0.95, generator=gen)
        elif name.endswith(("a0", "v0", "k_a")):
            p.uniform_(-1.0, 1.5, generator=gen)
        elif name.endswith(("k_k", "r_k")):
            p.uniform_(-1.0, 1.0, generator=gen)
        elif p.dim() == 1 and name.endswith(".weight"):  # layer-norm and group-norm gains
            p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        elif p.dim() == 1:  # their biases
            p.copy_(0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        elif name == "emb.weight":
            p.normal_(0.0, 1.0, generator=gen)
        else:  # matrices and LoRAs: y = x W with W [in, out], or nn.Linear's [out, in]
            fan_in = p.shape[0] if name.endswith(("1", "2")) and not name.endswith(".weight") else p.shape[1]
            p.normal_(0.0, fan_in ** -0.5, generator=gen)


def logits_of(output):
    """The model's forward returns (logits, state)."""
    return output[0]


def parse_ranks(text):
    ranks = tuple(int(r) for r in text.split(","))
    if len(ranks) != 4 or min(ranks) < 1:
        raise SystemExit(f"--ranks must be four positive integers D_w,D_a,D_v,D_g, got '{text}'")
    return ranks


# ---------------------------------------------------------------------------- bench

def run_bench(a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    model = RWKV7(a.n_layer, a.n_embd, a.head_size, a.vocab, parse_ranks(a.ranks))
    init_rwkv7(model, gen)
    opt = make_adamw(model, lr=6e-4, betas=(0.9, 0.99), eps=1e-18, weight_decay=0.001)
    idx = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    tgt = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    loss, wall, cpu = timed_training_steps(model, opt, idx, tgt, a.warmup, a.steps, logits_of)
    print(json.dumps({
        "impl": "pytorch", "arch": "rwkv-7", "n_layer": a.n_layer, "n_embd": a.n_embd,
        "head_size": a.head_size, "ranks": list(parse_ranks(a.ranks)), "vocab": a.vocab,
        "ctx_len": a.ctx_len, "batch": a.batch, "threads": a.threads, "steps": a.steps,
        "warmup": a.warmup, "wkv": "loop",
        "tokens_per_s": a.batch * a.ctx_len * a.steps / wall,
        "step_ms": 1e3 * wall / a.steps, "cpu_ms_per_step": 1e3 * cpu / a.steps,
        "loss": loss, "torch": str(torch.__version__)}))


# ---------------------------------------------------------------------------- dump

def tiny_model(a, gen):
    model = RWKV7(a.n_layer, a.n_embd, a.head_size, a.vocab, parse_ranks(a.ranks)).double()
    randomize(model, gen)
    idx = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    tgt = torch.randint(0, a.vocab, (a.batch, a.ctx_len), generator=gen)
    return model, idx, tgt


@torch.no_grad()
def token_by_token(model, idx):
    """RNN mode: one token at a time from a zero state; logits [B, T, V] and the final state."""
    state = model.new_state(idx.shape[0])
    logits = []
    for t in range(idx.shape[1]):
        step_logits, state = model(idx[:, t:t + 1], state)
        logits.append(step_logits)
    return torch.cat(logits, 1), state


def run_dump(a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    model, idx, tgt = tiny_model(a, gen)
    ranks = parse_ranks(a.ranks)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes == expected_shapes(a.n_layer, a.n_embd, a.head_size, a.vocab, ranks), "state_dict names/shapes"

    logits, state = model(idx)
    loss = loss_fn(logits, tgt)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    zero = [n for n, g in grads.items() if not bool((g != 0).any())]
    assert not zero, f"zero gradients: {zero}"
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    rnn_logits, rnn_state = token_by_token(model, idx)

    hyper = lr, betas, eps, wd = 1e-3, (0.9, 0.99), 1e-8, 0.01
    losses = adamw_steps(model, make_adamw(model, lr, betas, eps, wd), idx, tgt, 3, logits_of)

    def fill(h):
        write_model_case(h, "benchmarks/pytorch/rwkv7_reference.py dump",
                         (("n_layer", a.n_layer), ("n_embd", a.n_embd), ("head_size", a.head_size),
                          ("vocab_size", a.vocab), ("ctx_len", a.ctx_len), ("batch", a.batch), ("seed", a.seed))
                         + tuple(zip(("rank_w", "rank_a", "rank_v", "rank_g"), ranks)),
                         initial, idx, tgt, logits, loss, grads)
        h.attrs["arch"] = "rwkv-7"
        h.attrs["ln_x_eps"] = LN_X_EPS
        rnn = h.create_group("rnn")
        rnn.attrs["semantics"] = "tokens fed one at a time from a zero state; state after the last"
        rnn["logits"] = rnn_logits.numpy()
        for part, name in enumerate(("att_x_prev", "wkv", "ffn_x_prev")):
            rnn["state/" + name] = torch.stack([s[part] for s in rnn_state]).numpy()
        write_adamw_group(h, model, hyper, losses, "2-D .weight matrices (emb, head, every Linear; not the LoRAs)",
                          lr_x2="att.w0")
    write_h5(a.out, fill)
    print(json.dumps({"file": a.out, "loss": loss.item(), "adamw_losses": losses,
                      "n_params": sum(p.numel() for p in model.parameters())}))


# ---------------------------------------------------------------------------- selftest

def random_wkv7_inputs(gen, B, T, H, N, dtype):
    """Inputs as RWKV-7 makes them: omega in (0.545, 1), a unit removal key per head kk,
    alpha = -kk, beta = kk * a with a in (0, 1); an asymmetric initial state."""
    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=dtype)
    r, k, v = randn(B, T, H, N), randn(B, T, H, N), randn(B, T, H, N)
    z = 2 * randn(B, T, H, N)
    kk = F.normalize(randn(B, T, H, N), dim=-1)
    a = torch.sigmoid(randn(B, T, H, N))
    return r, z, k, v, -kk, kk * a, randn(B, H, N, N)


def run_selftest(a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    ok = True

    # WKV-7 against the element-by-element loop, from an asymmetric state (a transposed state
    # would not pass), for T = 0, 1 and across several steps.
    for (B, T, H, N) in ((2, 5, 2, 3), (1, 1, 1, 4), (1, 0, 2, 2), (1, 17, 3, 2)):
        r, z, k, v, al, be, s0 = random_wkv7_inputs(gen, B, T, H, N, torch.float64)
        y, s = wkv7_loop(r, decay_of(z), k, v, al, be, s0)
        y_ref, s_ref = wkv7_scalar_reference(r, decay_of(z), k, v, al, be, s0)
        err = max((y - y_ref).abs().max().item() if T else 0.0, (s - s_ref).abs().max().item())
        ok &= check(f"wkv7 loop == scalar recurrence, B{B} T{T} H{H} N{N}", err < 1e-12, f"max abs err {err:.1e}")
    s0 = torch.tensor([[[[1.0, 2.0], [0.0, 0.0]]]], dtype=torch.float64)  # S[0][1] = 2: value 0, key 1
    unit = torch.tensor([0.0, 1.0], dtype=torch.float64).view(1, 1, 1, 2)
    y, _ = wkv7_loop(unit, torch.ones_like(unit), torch.zeros_like(unit), torch.zeros_like(unit),
                     torch.zeros_like(unit), torch.zeros_like(unit), s0)
    ok &= check("wkv7 orientation: S[i][j] maps key j to value i", y.flatten().tolist() == [2.0, 0.0],
                f"y = {y.flatten().tolist()}")

    # WKV-7 backward, every input including the initial state and the decay logit.
    def wkv7_of_logit(r, z, k, v, al, be, s0):
        y, s = wkv7_loop(r, decay_of(z), k, v, al, be, s0)
        return y, s
    for (B, T, H, N) in ((2, 6, 2, 3), (1, 1, 1, 2)):
        inp = tuple(t.requires_grad_() for t in random_wkv7_inputs(gen, B, T, H, N, torch.float64))
        ok &= check(f"gradcheck wkv7 (decay logit, initial state) B{B} T{T} H{H} N{N}",
                    torch.autograd.gradcheck(wkv7_of_logit, inp, eps=1e-6, atol=1e-8, rtol=1e-6,
                                             raise_exception=False))

    # Whole model: names and shapes, gradchecks of the loss, prefill == token-by-token steps.
    for (L_, D, N, V, T, B, ranks, fast) in ((2, 4, 2, 5, 4, 2, "2,2,1,3", False),
                                             (a.n_layer, a.n_embd, a.head_size, a.vocab, a.ctx_len,
                                              a.batch, a.ranks, True)):
        c = argparse.Namespace(n_layer=L_, n_embd=D, head_size=N, vocab=V, ctx_len=T, batch=B, ranks=ranks)
        model, idx, tgt = tiny_model(c, gen)
        shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
        ok &= check(f"state_dict names and shapes L{L_} D{D} N{N} V{V} ranks {ranks}",
                    shapes == expected_shapes(L_, D, N, V, parse_ranks(ranks)))
        params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
        t0 = time.perf_counter()
        res = torch.autograd.gradcheck(model_loss_of(model, idx, tgt, logits_of), params, eps=1e-6, atol=1e-8, rtol=1e-6,
                                       fast_mode=fast, raise_exception=False)
        n = sum(p.numel() for p in params)
        ok &= check(f"gradcheck model loss ({'fast' if fast else 'full'}) L{L_} D{D} N{N} V{V} T{T} B{B}, "
                    f"{n} parameters", res, f"{time.perf_counter() - t0:.1f} s")
        with torch.no_grad():
            logits, state = model(idx)
            step_logits, step_state = token_by_token(model, idx)
            half = T // 2  # a prefill that starts from a carried state
            first, mid = model(idx[:, :half])
            rest, end = model(idx[:, half:], mid)
        err = (logits - step_logits).abs().max().item()
        err = max([err] + [(x - y).abs().max().item() for s, t in zip(state, step_state) for x, y in zip(s, t)])
        ok &= check(f"prefill == token-by-token steps (logits, state) L{L_} D{D}", err < 1e-12, f"max abs err {err:.1e}")
        err = max((torch.cat((first, rest), 1) - logits).abs().max().item(),
                  max((x - y).abs().max().item() for s, t in zip(end, state) for x, y in zip(s, t)))
        ok &= check(f"prefill in two parts == one, L{L_} D{D}", err < 1e-12, f"max abs err {err:.1e}")

    print("selftest " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


# ---------------------------------------------------------------------------- CLI

def main(argv=None):
    def model_args(p, defaults):
        L, D, N, V, T, B, ranks = defaults
        add_shape_args(p, L, D, V, T, B)
        p.add_argument("--head-size", type=int, default=N)
        p.add_argument("--ranks", default=ranks, help="LoRA ranks D_w,D_a,D_v,D_g")

    tiny = (2, 8, 4, 11, 6, 2, "3,3,2,4")
    ap, _ = parse_modes(__doc__, model_args, {"bench": (6, 512, 64, 256, 256, 8, "32,32,32,64"), "dump": tiny,
                                              "selftest": tiny, "out": "rwkv7_reference.h5"})
    return run_mode(ap.parse_args(argv), {"bench": run_bench, "dump": run_dump, "selftest": run_selftest})

if __name__ == "__main__":
    sys.exit(main())
