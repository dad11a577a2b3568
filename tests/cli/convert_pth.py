#!/usr/bin/python3
"""scripts/convert_pth.py against rwkv-eval and a PyTorch forward of the same weights.

  convert_pth.py RWKV_EVAL RWKV_TRAIN WORK_DIR

1. A random RWKV-4 state_dict in RWKV-LM's layout (time_mix [1, 1, C], raw time_decay, float32),
   saved by torch.save, converted with `to-h5`, evaluated by `rwkv-eval --dump-logits`: the
   logits agree with benchmarks/pytorch/rwkv4_reference.py's forward (float64) of the same
   weights within float32 rounding, and a wrong time_decay convention would be far off.
2. A bfloat16 .pth (what RWKV-LM releases hold) to float32 and to bfloat16 HDF5: the values are
   the bfloat16 values exactly, and rwkv-eval gives identical logits for both files.
3. Round trips h5 -> pth -> h5 are bit exact: the converter's float32 and bfloat16 files and a
   file rwkv-train wrote.
4. Bad inputs end with exit status 1, one message naming the file and key, and no output file.
5. RWKV-7: a random state_dict of benchmarks/pytorch/rwkv7_reference.py's model (RWKV-LM's names
   and shapes), float32, bfloat16 and float16, with and without layer 0's unused value LoRA, goes
   to HDF5 with the version, head size and LoRA ranks read off the shapes and back to the same
   .pth bit for bit; h5 -> pth -> h5 is bit exact; rwkv-eval --dump-logits of the converted file
   matches that model's float64 forward; bad RWKV-7 files are refused by name.
Exits 77 (ctest: skipped) when torch or h5py is missing.
"""
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
    import torch
except ImportError as e:
    print(f"SKIP: {e.name} is missing (Debian packages python3-torch, python3-h5py)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONVERTER = os.path.join(ROOT, "scripts", "convert_pth.py")
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "pytorch"))
import rwkv4_reference as ref  # noqa: E402
import rwkv7_reference as ref7  # noqa: E402

L, C, F, V, T = 2, 24, 40, 37, 13
TIME_MIX = ("att.time_mix_k", "att.time_mix_v", "att.time_mix_r", "ffn.time_mix_k", "ffn.time_mix_r")
failures = 0


def check(what, ok, detail=""):
    global failures
    print(f"{'ok' if ok else 'FAILED'}: {what}{'  ' + detail if detail else ''}", flush=True)
    failures += not ok
    return ok


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def convert(*args):
    p = run(sys.executable, CONVERTER, *args)
    if p.returncode != 0:
        print(p.stdout + p.stderr)
    return p.returncode == 0


def fails_with(what, message, args, output):
    """The converter exits 1 naming `message` and leaves `output` as it was (here: absent)."""
    p = run(sys.executable, CONVERTER, *args)
    ok = p.returncode == 1 and message in p.stderr and not os.path.exists(output)
    check(f"{what}: exit {p.returncode} with \"{message}\"", ok, "" if ok else f"stderr: {p.stderr.strip()}")
    leftovers = [n for n in os.listdir(os.path.dirname(output) or ".") if n.endswith(".tmp")]
    check(f"{what}: no temporary file left", not leftovers, " ".join(leftovers))


def official_state_dict(model, dtype):
    """The model's parameters as RWKV-LM saves them."""
    sd = {}
    for name, p in model.state_dict().items():
        t = p.detach().to(dtype).clone()
        sd[name] = t.reshape(1, 1, -1) if name.endswith(TIME_MIX) else t
    return sd


def reference_logits(sd, tokens):
    """rwkv4_reference's float64 forward of exactly the values in `sd`."""
    model = ref.RWKV4(L, C, F, V, ref.wkv_sequential).double()
    model.load_state_dict({k: v.double().reshape(-1) if k.endswith(TIME_MIX) else v.double() for k, v in sd.items()})
    with torch.no_grad():
        return model(torch.tensor(tokens, dtype=torch.long).view(1, -1))[0].numpy()


def eval_logits(rwkv_eval, model_h5, tokens_npy, out):
    p = run(rwkv_eval, "--model", model_h5, "--data", tokens_npy, "--dump-logits", out, "--ctx-len", str(T),
            "--threads", "2")
    if p.returncode != 0:
        print(p.stdout + p.stderr)
        return None
    with h5py.File(out, "r") as f:
        return f["logits"][()].astype(np.float64)


def raw_datasets(path):
    """name -> (HDF5 type, shape, raw bytes in the stored type) of every root dataset (the weights:
    a training checkpoint's /train group does not travel through a .pth); the attributes."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and "/" not in name:
                t = obj.id.get_type()
                buf = np.empty(obj.shape, dtype=f"u{t.get_size()}")
                obj.id.read(h5py.h5s.ALL, h5py.h5s.ALL, buf, mtype=t)
                out[name] = (t.get_size(), t.get_fields() if isinstance(t, h5py.h5t.TypeFloatID) else None,
                             obj.shape, buf.tobytes())
        f.visititems(visit)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                 for k, v in f.attrs.items()}
    return out, attrs


def same_weights(a, b, what, config=("n_layer", "n_embd", "dim_ffn", "vocab_size")):
    da, aa = raw_datasets(a)
    db, ab = raw_datasets(b)
    differing = [n for n in da if n not in db or da[n] != db[n]] + [n for n in db if n not in da]
    check(f"{what}: every dataset bit exact ({len(da)} datasets)", not differing and len(da) > 0,
          f"differing: {differing[:3]}")
    check(f"{what}: same config attributes", all(aa.get(k) == ab.get(k) for k in config),
          f"{[aa.get(k) for k in config]} vs {[ab.get(k) for k in config]}")


def main():
    rwkv_eval, rwkv_train, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    for name in os.listdir("."):
        os.unlink(name)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(5)
    model = ref.RWKV4(L, C, F, V, ref.wkv_sequential).double()
    ref.randomize(model, gen)
    tokens = torch.randint(0, V, (T,), generator=gen).tolist()
    np.save("tokens.npy", np.array(tokens, dtype=np.uint16))

    # 1. float32 .pth -> HDF5 -> rwkv-eval vs PyTorch
    sd = official_state_dict(model, torch.float32)
    torch.save(sd, "model.pth")
    check("to-h5 of a float32 RWKV-LM state_dict", convert("to-h5", "model.pth", "model.h5"))
    with h5py.File("model.h5", "r") as f:
        check("config read off the shapes", [int(f.attrs[k]) for k in ("n_layer", "n_embd", "dim_ffn", "vocab_size")]
              == [L, C, F, V])
        check("time_mix stored as [C]", f["blocks.1.att.time_mix_v"].shape == (C,) and f["blocks.0.ffn.time_mix_r"].shape == (C,))
        check("values (time_decay raw, time_mix flattened) bit exact",
              all(np.array_equal(f[k][()], v.reshape(f[k].shape).numpy()) for k, v in sd.items()))
    logits = eval_logits(rwkv_eval, "model.h5", "tokens.npy", "logits.h5")
    check("rwkv-eval --dump-logits of the converted file", logits is not None)
    if logits is not None:
        expected = reference_logits(sd, tokens)
        scale = np.abs(expected).max()
        err = np.abs(logits - expected).max()
        # float32 arithmetic against float64 on the same weights: 64 unit roundoffs (2^-24 each)
        # of the largest logit, for the few dozen roundings along any path of this 2-layer model
        # (seen: 7.2e-07 = 4 roundoffs of a largest logit of 3.0).
        tolerance = 64 * 2.0 ** -24 * scale
        check(f"logits [{T}, {V}] == PyTorch float64 forward of the same weights", err <= tolerance,
              f"max abs err {err:.2e}, tolerance {tolerance:.2e} (64 x 2^-24 x max |logit| {scale:.2f})")
        wrong = dict(sd)
        for i in range(L):
            wrong[f"blocks.{i}.att.time_decay"] = -torch.exp(sd[f"blocks.{i}.att.time_decay"])
        off = np.abs(logits - reference_logits(wrong, tokens)).max()
        check("a -exp(time_decay) conversion would be caught", off > 100 * tolerance, f"max abs diff {off:.2e}")

    # 2. bfloat16 .pth
    sd16 = official_state_dict(model, torch.bfloat16)
    torch.save(sd16, "model-bf16.pth")
    check("to-h5 of a bfloat16 state_dict", convert("to-h5", "model-bf16.pth", "from-bf16.h5"))
    check("to-h5 --dtype bfloat16", convert("to-h5", "model-bf16.pth", "bf16.h5", "--dtype", "bfloat16"))
    with h5py.File("from-bf16.h5", "r") as a, h5py.File("bf16.h5", "r") as b:
        exact = all(np.array_equal(a[k][()], v.float().reshape(a[k].shape).numpy()) and
                    np.array_equal(b[k][()], a[k][()]) for k, v in sd16.items())
        check("bfloat16 values widened exactly, stored in 2 bytes",
              exact and b["emb.weight"].id.get_type().get_size() == 2 and b.attrs["weight_dtype"] == b"bfloat16")
    l32 = eval_logits(rwkv_eval, "from-bf16.h5", "tokens.npy", "logits-f32.h5")
    l16 = eval_logits(rwkv_eval, "bf16.h5", "tokens.npy", "logits-bf16.h5")
    check("rwkv-eval: bfloat16 file == its float32 widening", l32 is not None and l16 is not None and np.array_equal(l32, l16))

    # 3. round trips
    check("to-pth", convert("to-pth", "model.h5", "back.pth"))
    back = torch.load("back.pth")
    check("to-pth gives RWKV-LM's layout, bit exact", list(back) == list(sd) and all(
        back[k].dtype == torch.float32 and back[k].shape == sd[k].shape and torch.equal(back[k], sd[k]) for k in sd))
    if check("back to HDF5", convert("to-h5", "back.pth", "model2.h5")):
        same_weights("model.h5", "model2.h5", "float32 h5 -> pth -> h5")
    if check("bfloat16 h5 -> pth -> h5", convert("to-pth", "bf16.h5", "bf16.pth") and
             convert("to-h5", "bf16.pth", "bf16-2.h5", "--dtype", "bfloat16")):
        check("the .pth of a bfloat16 file is bfloat16", torch.load("bf16.pth")["head.weight"].dtype == torch.bfloat16)
        same_weights("bf16.h5", "bf16-2.h5", "bfloat16 h5 -> pth -> h5")
    with open("corpus.txt", "w") as f:
        f.write("In the beginning God created the heaven and the earth. " * 8)
    p = run(rwkv_train, "--data", "corpus.txt", "--n-layer", "2", "--n-embd", "16", "--ctx-len", "8", "--steps", "0",
            "--save", "trained.h5", "--threads", "2")
    if (check("rwkv-train writes a model", p.returncode == 0, p.stderr.strip()) and
            check("rwkv-train's file h5 -> pth -> h5",
                  convert("to-pth", "trained.h5", "trained.pth") and convert("to-h5", "trained.pth", "trained2.h5"))):
        same_weights("trained.h5", "trained2.h5", "rwkv-train's file h5 -> pth -> h5")

    # 4. bad inputs
    def variant(name, change):
        d = dict(sd)
        change(d)
        torch.save(d, name)
        return name

    fails_with("a missing tensor", "missing.pth: missing key 'blocks.1.att.time_first'",
               ["to-h5", variant("missing.pth", lambda d: d.pop("blocks.1.att.time_first")), "out1.h5"], "out1.h5")
    fails_with("a wrong shape", f"shape.pth: key 'blocks.1.att.key.weight' has shape [{C}, {C + 1}], expected [{C}, {C}]",
               ["to-h5", variant("shape.pth", lambda d: d.update({"blocks.1.att.key.weight": torch.zeros(C, C + 1)})),
                "out2.h5"], "out2.h5")
    fails_with("a wrong time_mix shape", f"mix.pth: key 'blocks.0.att.time_mix_k' has shape [1, {C}], expected [1, 1, {C}]",
               ["to-h5", variant("mix.pth", lambda d: d.update({"blocks.0.att.time_mix_k": torch.zeros(1, C)})),
                "out3.h5"], "out3.h5")
    fails_with("a position embedding", "pos.pth: unexpected key 'blocks.0.pos_emb_x'",
               ["to-h5", variant("pos.pth", lambda d: d.update({"blocks.0.pos_emb_x": torch.zeros(1, 4, C)})),
                "out4.h5"], "out4.h5")
    fails_with("an RWKV-5 tensor",
               "v5.pth: unexpected key 'blocks.0.att.ln_x.weight': a tensor of another RWKV version in an RWKV-4",
               ["to-h5", variant("v5.pth", lambda d: d.update({"blocks.0.att.ln_x.weight": torch.zeros(C)})),
                "out5.h5"], "out5.h5")
    fails_with("ln0 outside block 0", "ln0.pth: unexpected key 'blocks.1.ln0.weight'",
               ["to-h5", variant("ln0.pth", lambda d: d.update({"blocks.1.ln0.weight": torch.zeros(C)})),
                "out6.h5"], "out6.h5")
    torch.save({"fc.weight": torch.zeros(2, 2)}, "other.pth")
    fails_with("another network", "other.pth: not an RWKV state_dict", ["to-h5", "other.pth", "out7.h5"], "out7.h5")
    torch.save([1, 2, 3], "list.pth")
    fails_with("not a dict", "list.pth: holds a list", ["to-h5", "list.pth", "out8.h5"], "out8.h5")
    with open("text.pth", "w") as f:
        f.write("hello\n")
    fails_with("not a PyTorch file", "text.pth: not a PyTorch state_dict file", ["to-h5", "text.pth", "out9.h5"], "out9.h5")
    fails_with("a missing input", "nowhere.pth: no such file", ["to-h5", "nowhere.pth", "out10.h5"], "out10.h5")
    with h5py.File("model.h5", "r") as src, h5py.File("partial.h5", "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        for k in src:
            if k != "head.weight":
                dst[k] = src[k][()]
    fails_with("an HDF5 file without head.weight", "partial.h5: missing dataset 'head.weight'",
               ["to-pth", "partial.h5", "out11.pth"], "out11.pth")
    fails_with("an HDF5 file that is no HDF5", "text.pth: not an HDF5 file", ["to-pth", "text.pth", "out12.pth"],
               "out12.pth")
    with open("keep.h5", "w") as f:
        f.write("previous")
    p = run(sys.executable, CONVERTER, "to-h5", "shape.pth", "keep.h5")
    check("a failed conversion leaves an existing output as it was",
          p.returncode == 1 and open("keep.h5").read() == "previous")

    check_rwkv7(rwkv_eval)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


L7, C7, N7, V7, RANKS7 = 3, 24, 8, 29, (4, 6, 2, 5)
V7_CONFIG = ("n_layer", "n_embd", "dim_ffn", "vocab_size", "head_size", "rank_w", "rank_a", "rank_v", "rank_g",
             "layer0_value_lora", "ln_x_eps")


def rwkv7_state_dict(gen, dtype, layer0_value_lora):
    """A random RWKV-7 state_dict as RWKV-LM saves it; with layer0_value_lora, layer 0 carries the
    (unused) att.v0/v1/v2 too, in RWKV-LM's order (after a0/a1/a2)."""
    model = ref7.RWKV7(L7, C7, N7, V7, RANKS7).double()
    ref7.randomize(model, gen)
    sd = {}
    for name, p in model.state_dict().items():
        sd[name] = p.detach().to(dtype).clone()
        if layer0_value_lora and name == "blocks.0.att.a2":
            sd["blocks.0.att.v0"] = torch.randn(1, 1, C7, generator=gen).to(dtype)
            sd["blocks.0.att.v1"] = torch.randn(C7, RANKS7[2], generator=gen).to(dtype)
            sd["blocks.0.att.v2"] = torch.randn(RANKS7[2], C7, generator=gen).to(dtype)
    return sd


def reference_logits7(sd, tokens):
    """rwkv7_reference's float64 forward of exactly the values in `sd` (layer 0's unused value LoRA,
    which its model does not hold, left out)."""
    model = ref7.RWKV7(L7, C7, N7, V7, RANKS7).double()
    model.load_state_dict({k: v.double() for k, v in sd.items() if k not in ("blocks.0.att.v0", "blocks.0.att.v1", "blocks.0.att.v2")})
    with torch.no_grad():
        return ref7.logits_of(model(torch.tensor(tokens, dtype=torch.long).view(1, -1)))[0].numpy()


def same_state_dict(a, b):
    """The same tensors (order aside: our PyTorch modules list them in their own order)."""
    return sorted(a) == sorted(b) and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and
                                      torch.equal(a[k], b[k]) for k in a)


def check_rwkv7(rwkv_eval):
    gen = torch.Generator().manual_seed(7)
    sd = rwkv7_state_dict(gen, torch.float32, False)
    torch.save(sd, "v7.pth")
    check("RWKV-7: to-h5 of a float32 RWKV-LM state_dict", convert("to-h5", "v7.pth", "v7.h5"))
    with h5py.File("v7.h5", "r") as f:
        attrs = [f.attrs[k].decode() if k == "arch" else f.attrs[k].item() for k in ("arch",) + V7_CONFIG]
        want = ["rwkv-7", L7, C7, 4 * C7, V7, N7, *RANKS7, 0, 64e-5]
        check("RWKV-7: arch, sizes, head size and LoRA ranks read off the shapes", attrs == want, f"{attrs} vs {want}")
        check("RWKV-7: per-channel vectors stored as [C], r_k as [H, N], LoRAs as [C, D] / [D, C]",
              f["blocks.1.att.x_g"].shape == (C7,) and f["blocks.2.ffn.x_k"].shape == (C7,) and
              f["blocks.1.att.r_k"].shape == (C7 // N7, N7) and f["blocks.0.att.g1"].shape == (C7, RANKS7[3]) and
              f["blocks.1.att.v2"].shape == (RANKS7[2], C7) and "blocks.0.att.v0" not in f)
        check("RWKV-7: values bit exact", all(np.array_equal(f[k][()], v.reshape(f[k].shape).numpy())
                                              for k, v in sd.items()))
    check("RWKV-7: to-pth", convert("to-pth", "v7.h5", "v7-back.pth"))
    check("RWKV-7: to-pth gives RWKV-LM's names and shapes, bit exact",
          same_state_dict(torch.load("v7-back.pth"), sd))
    if check("RWKV-7: back to HDF5", convert("to-h5", "v7-back.pth", "v7-2.h5")):
        same_weights("v7.h5", "v7-2.h5", "RWKV-7 h5 -> pth -> h5", V7_CONFIG)

    sd0 = rwkv7_state_dict(gen, torch.float32, True)
    torch.save(sd0, "v7-layer0.pth")
    if check("RWKV-7: to-h5 with layer 0's value LoRA", convert("to-h5", "v7-layer0.pth", "v7-layer0.h5")):
        with h5py.File("v7-layer0.h5", "r") as f:
            check("RWKV-7: layer 0's value LoRA kept and flagged",
                  int(f.attrs["layer0_value_lora"]) == 1 and np.array_equal(f["blocks.0.att.v1"][()],
                                                                            sd0["blocks.0.att.v1"].numpy()))
        check("RWKV-7: ... and back to the same .pth",
              convert("to-pth", "v7-layer0.h5", "v7-layer0-back.pth") and
              same_state_dict(torch.load("v7-layer0-back.pth"), sd0))

    # rwkv-eval of the converted files against our PyTorch RWKV-7 in float64 on the same float32
    # values; layer 0's unused value LoRA changes nothing.
    tokens7 = torch.randint(0, V7, (T,), generator=gen).tolist()
    np.save("tokens7.npy", np.array(tokens7, dtype=np.uint16))
    for h5, weights, what in (("v7.h5", sd, "the converted file"),
                              ("v7-layer0.h5", sd0, "the file with layer 0's value LoRA")):
        logits = eval_logits(rwkv_eval, h5, "tokens7.npy", "logits7.h5")
        if check(f"RWKV-7: rwkv-eval --dump-logits of {what}", logits is not None):
            expected = reference_logits7(weights, tokens7)
            err = np.abs(logits - expected).max()
            # float32 against float64 on the same weights: 64 unit roundoffs (2^-24 each) of the
            # largest logit, as for RWKV-4 above (seen: 1.4e-06, 6 roundoffs of a largest logit of
            # 3.5).
            tolerance = 64 * 2.0 ** -24 * np.abs(expected).max()
            check(f"RWKV-7: logits [{T}, {V7}] of {what} == PyTorch float64 forward", err <= tolerance,
                  f"max abs error {err:.2e}, tolerance {tolerance:.2e}")

    for dtype, name in ((torch.bfloat16, "bfloat16"), (torch.float16, "float16")):
        sd16 = rwkv7_state_dict(gen, dtype, False)
        torch.save(sd16, f"v7-{name}.pth")
        ok = convert("to-h5", f"v7-{name}.pth", f"v7-{name}.h5", "--dtype", name) and \
            convert("to-pth", f"v7-{name}.h5", f"v7-{name}-back.pth")
        check(f"RWKV-7: a {name} .pth -> {name} HDF5 -> the same .pth", ok and
              same_state_dict(torch.load(f"v7-{name}-back.pth"), sd16))
        ok = convert("to-h5", f"v7-{name}.pth", f"v7-{name}-f32.h5")
        with h5py.File(f"v7-{name}-f32.h5", "r") as f:
            check(f"RWKV-7: {name} values widened to float32 exactly", ok and all(
                np.array_equal(f[k][()], v.float().reshape(f[k].shape).numpy()) for k, v in sd16.items()))

    def variant(name, change):
        d = dict(sd)
        change(d)
        torch.save(d, name)
        return name

    fails_with("RWKV-7: a missing tensor", "v7-missing.pth: missing key 'blocks.1.att.g2'",
               ["to-h5", variant("v7-missing.pth", lambda d: d.pop("blocks.1.att.g2")), "o1.h5"], "o1.h5")
    fails_with("RWKV-7: a layer with another LoRA rank",
               f"v7-rank.pth: key 'blocks.2.att.w1' has shape [{C7}, 5], expected [{C7}, {RANKS7[0]}]",
               ["to-h5", variant("v7-rank.pth", lambda d: d.update({"blocks.2.att.w1": torch.zeros(C7, 5)})), "o2.h5"],
               "o2.h5")
    fails_with("RWKV-7: r_k that does not tile n_embd", "v7-rk.pth: key 'blocks.0.att.r_k' has shape [2, 8]",
               ["to-h5", variant("v7-rk.pth", lambda d: d.update({"blocks.0.att.r_k": torch.zeros(2, 8)})), "o3.h5"],
               "o3.h5")
    fails_with("RWKV-7: a DeepEmbed tensor", "v7-de.pth: unexpected key 'blocks.0.ffn.s_emb.weight'",
               ["to-h5", variant("v7-de.pth", lambda d: d.update({"blocks.0.ffn.s_emb.weight": torch.zeros(V7, 32)})),
                "o4.h5"], "o4.h5")
    fails_with("an RWKV-6 model", "v6.pth: an RWKV-5 or RWKV-6 model",
               ["to-h5", variant("v6.pth", lambda d: d.update({"blocks.0.att.time_maa_x": torch.zeros(1, 1, C7)})),
                "o5.h5"], "o5.h5")
    with h5py.File("v7.h5", "r") as src, h5py.File("v7-badattr.h5", "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        dst.attrs["head_size"] = np.int64(7)
        for k in src:
            dst[k] = src[k][()]
    fails_with("RWKV-7: an HDF5 head size that does not divide n_embd",
               "v7-badattr.h5: attribute 'head_size' is 7, which does not divide n_embd 24",
               ["to-pth", "v7-badattr.h5", "o6.pth"], "o6.pth")


if __name__ == "__main__":
    sys.exit(main())
