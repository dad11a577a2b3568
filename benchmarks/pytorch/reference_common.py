"""What the plain-PyTorch references (rwkv4_reference.py, rwkv7_reference.py) share: the loss, the
timed training steps of `bench`, the gradcheck wrapper, the HDF5 writing of `dump`, the selftest's
report lines and the command line."""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.stateless import functional_call


def loss_fn(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def timed_training_steps(model, opt, idx, tgt, warmup, steps, logits_of):
    """`warmup` untimed then `steps` timed steps of zero_grad, forward, loss, backward, AdamW;
    returns the last loss, the wall and the process CPU seconds of the timed steps."""
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(logits_of(model(idx)), tgt)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    loss = float("nan")
    for _ in range(steps):
        loss = step()
    return loss, time.perf_counter() - t0, time.process_time() - c0


def model_loss_of(model, idx, tgt, logits_of):
    """The loss as a function of the parameter tensors, for gradcheck."""
    names = [n for n, _ in model.named_parameters()]

    def f(*params):
        return loss_fn(logits_of(functional_call(model, dict(zip(names, params)), (idx,))), tgt)
    return f


def adamw_steps(model, opt, idx, tgt, steps, logits_of):
    """The losses before each of `steps` AdamW steps."""
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(logits_of(model(idx)), tgt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def write_h5(path, fill):
    """A complete file or none: `fill(h5py.File)` writes into a temporary file, renamed at the end."""
    import h5py

    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as h:
        fill(h)
    os.replace(tmp, path)


def write_model_case(h, generator, int_attrs, params, idx, tgt, logits, loss, grads):
    """The config (integer attributes), the parameters under their names, tokens, targets, logits,
    loss and grad/<name>."""
    for key, val in int_attrs:
        h.attrs[key] = np.int64(val)
    h.attrs["torch"] = str(torch.__version__)
    h.attrs["generator"] = generator
    for n, p in params.items():
        h[n] = p.numpy()
    h["tokens"] = idx.numpy().astype(np.int32)
    h["targets"] = tgt.numpy().astype(np.int32)
    h["logits"] = logits.detach().numpy()
    h["loss"] = np.float64(loss.item())
    for n, g in grads.items():
        h["grad/" + n] = g.numpy()


def write_adamw_group(h, model, hyper, losses, decayed, **extra_attrs):
    """after_adamw/<name> (the parameters after the steps) with the hyper-parameters as attributes,
    and adamw_losses."""
    lr, betas, eps, wd = hyper
    grp = h.create_group("after_adamw")
    grp.attrs["lr"], grp.attrs["beta1"], grp.attrs["beta2"] = lr, betas[0], betas[1]
    grp.attrs["eps"], grp.attrs["weight_decay"], grp.attrs["steps"] = eps, wd, np.int64(len(losses))
    grp.attrs["decayed"] = decayed
    for key, value in extra_attrs.items():
        grp.attrs[key] = value
    grp.attrs["semantics"] = ("torch.optim.AdamW: p *= 1 - lr*wd; m,v moments; "
                              "p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)")
    for n, p in model.named_parameters():
        grp[n] = p.detach().numpy()
    h["adamw_losses"] = np.array(losses, dtype=np.float64)


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}", flush=True)
    return ok


def add_shape_args(p, n_layer, n_embd, vocab, ctx_len, batch):
    """The options every reference's model and data take."""
    p.add_argument("--n-layer", type=int, default=n_layer)
    p.add_argument("--n-embd", type=int, default=n_embd)
    p.add_argument("--vocab", type=int, default=vocab)
    p.add_argument("--ctx-len", type=int, default=ctx_len)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--seed", type=int, default=1234)


def run_mode(args, modes):
    """Runs modes[args.mode](args); the exit status is what it returns, 0 for None."""
    status = modes[args.mode](args)
    return 0 if status is None else status


def parse_modes(doc, add_model_args, defaults):
    """The three modes' command line: `add_model_args(parser, defaults)` adds the model's options,
    `defaults` maps bench / dump / selftest to theirs and `out` to dump's file name."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("bench", help="time forward + backward + AdamW steps")
    add_model_args(b, defaults["bench"])
    b.add_argument("--steps", type=int, default=2)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--threads", type=int, default=2)
    d = sub.add_parser("dump", help="write the HDF5 cross-check file of a tiny model")
    add_model_args(d, defaults["dump"])
    d.add_argument("--threads", type=int, default=1)
    d.add_argument("--out", default=defaults["out"])
    s = sub.add_parser("selftest", help="check the kernels, the gradients and the model")
    add_model_args(s, defaults["selftest"])
    s.add_argument("--threads", type=int, default=1)
    return ap, b
