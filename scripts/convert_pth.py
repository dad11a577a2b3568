#!/usr/bin/python3
"""Converts an RWKV-4 or RWKV-7 PyTorch state_dict (.pth, as RWKV-LM saves it) to a rwkv-kokkos
HDF5 model file (docs/FORMAT.md) and back; the version is read off the keys.

  convert_pth.py to-h5 IN.pth OUT.h5 [--dtype float32|float64|float16|bfloat16]
  convert_pth.py to-pth IN.h5 OUT.pth [--dtype ...]

Run with Debian's interpreter (/usr/bin/python3) and python3-torch, python3-h5py.

RWKV-LM's conventions and what the conversion does with them:
- Names are the same on both sides ("emb.weight", "blocks.0.att.key.weight", ...), and so are
  the shapes but for the per-channel vectors, [1, 1, C] in the .pth and [C] in HDF5:
  RWKV-4's att.time_mix_{k,v,r} and ffn.time_mix_{k,r}; RWKV-7's att.x_{r,w,k,v,a,g},
  att.{w0,a0,v0,k_k,k_a} and ffn.x_k.
- RWKV-4: att.time_decay is the raw parameter in both (the model computes w = -exp(time_decay));
  att.time_first is u itself in both. Neither is transformed.
- RWKV-7: the LoRA matrices keep PyTorch's [C, D] / [D, C] (used as x @ w1), att.r_k its
  [H, N]; att.w0 is the raw decay logit. The LoRA ranks are read off the shapes of w1, a1, v1 and
  g1 (released models follow no one formula) and the head size off r_k. Layer 0 never uses
  att.v0/v1/v2: files with and without them are both read, and kept as they were.
- blocks.0.ln0 exists in block 0 only. n_layer, n_embd, dim_ffn and vocab_size are read off
  the shapes.
- Any other key (pos_emb_x/y, tiny_*, head_q/head_k/copy_mask, ffnPre, RWKV-5/6 tensors, a
  file pre-converted by the `rwkv` pip package) changes the computation, which this format
  cannot express: the conversion refuses it rather than produce a different model.

Values are converted to --dtype (default float32 for to-h5; for to-pth the HDF5 file's own weight
type) rounding to nearest, ties to even; widening is exact. Outputs are written to a temporary
file in the same directory and renamed into place. Any bad input ends with one line naming the
file, the tensor and the problem, and exit status 1.
"""
import argparse
import os
import re
import sys
import tempfile
from collections import OrderedDict

import numpy as np

FORMAT_VERSION = 2
LIBRARY = "rwkv-kokkos scripts/convert_pth.py"
DTYPES = ("float32", "float64", "float16", "bfloat16")
TIME_MIX = ("att.time_mix_k", "att.time_mix_v", "att.time_mix_r", "ffn.time_mix_k", "ffn.time_mix_r")
V7_VECTORS = tuple("att." + n for n in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "v0", "k_k", "k_a")) + (
    "ffn.x_k",)
V7_LN_X_EPS = 64e-5  # GroupNorm eps of the released models; a .pth does not record it
# HDF5 float layouts of docs/FORMAT.md: (size, (sign bit, exponent pos, exponent bits,
# mantissa pos, mantissa bits), exponent bias).
FLOAT_LAYOUTS = {
    "float16": (2, (15, 10, 5, 0, 10), 15),
    "bfloat16": (2, (15, 7, 8, 0, 7), 127),
    "float32": (4, (31, 23, 8, 0, 23), 127),
    "float64": (8, (63, 52, 11, 0, 52), 1023),
}
MAX_CHUNK_BYTES = 1 << 30


class ConversionError(Exception):
    """A bad input: the message names the file and the field."""


def fail(path, what):
    raise ConversionError(f"{path}: {what}")


def shape_text(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def expected_shapes_v4(n_layer, C, F, V):
    """Every tensor of an RWKV-4 model in rwkv-kokkos' order, with its HDF5 (= PyTorch, except
    for time_mix) shape."""
    shapes = OrderedDict([("emb.weight", (V, C)), ("blocks.0.ln0.weight", (C,)), ("blocks.0.ln0.bias", (C,))])
    for i in range(n_layer):
        b = f"blocks.{i}."
        for name in ("ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "att.time_decay", "att.time_first",
                     "att.time_mix_k", "att.time_mix_v", "att.time_mix_r"):
            shapes[b + name] = (C,)
        for name in ("key", "value", "receptance", "output"):
            shapes[b + "att." + name + ".weight"] = (C, C)
        shapes[b + "ffn.time_mix_k"] = shapes[b + "ffn.time_mix_r"] = (C,)
        shapes[b + "ffn.key.weight"] = (F, C)
        shapes[b + "ffn.receptance.weight"] = (C, C)
        shapes[b + "ffn.value.weight"] = (C, F)
    shapes["ln_out.weight"] = shapes["ln_out.bias"] = (C,)
    shapes["head.weight"] = (V, C)
    return shapes


def expected_shapes_v7(n_layer, C, F, V, N, rank_w, rank_a, rank_v, rank_g, layer0_value_lora):
    """Every tensor of an RWKV-7 model in RWKV-LM's (and rwkv-kokkos') order, with its HDF5 shape
    (PyTorch's, except for the per-channel vectors)."""
    shapes = OrderedDict([("emb.weight", (V, C)), ("blocks.0.ln0.weight", (C,)), ("blocks.0.ln0.bias", (C,))])
    for i in range(n_layer):
        b = f"blocks.{i}."
        for name in ("ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias"):
            shapes[b + name] = (C,)
        for name in ("x_r", "x_w", "x_k", "x_v", "x_a", "x_g"):
            shapes[b + "att." + name] = (C,)
        loras = [("w", rank_w), ("a", rank_a)] + ([("v", rank_v)] if i > 0 or layer0_value_lora else [])
        for name, rank in loras:
            shapes[b + f"att.{name}0"] = (C,)
            shapes[b + f"att.{name}1"] = (C, rank)
            shapes[b + f"att.{name}2"] = (rank, C)
        shapes[b + "att.g1"] = (C, rank_g)
        shapes[b + "att.g2"] = (rank_g, C)
        shapes[b + "att.k_k"] = shapes[b + "att.k_a"] = (C,)
        shapes[b + "att.r_k"] = (C // N, N)
        for name in ("receptance", "key", "value", "output"):
            shapes[b + "att." + name + ".weight"] = (C, C)
        shapes[b + "att.ln_x.weight"] = shapes[b + "att.ln_x.bias"] = (C,)
        shapes[b + "ffn.x_k"] = (C,)
        shapes[b + "ffn.key.weight"] = (F, C)
        shapes[b + "ffn.value.weight"] = (C, F)
    shapes["ln_out.weight"] = shapes["ln_out.bias"] = (C,)
    shapes["head.weight"] = (V, C)
    return shapes


class Version:
    """What differs between the versions: the checkpoint name, the config attributes beyond the
    shared four, the tensors a config implies and which of them RWKV-LM keeps as [1, 1, C]."""

    def __init__(self, arch, label, extra_keys, shapes, vectors):
        self.arch, self.label, self.extra_keys, self.vectors = arch, label, extra_keys, vectors
        self.shapes = shapes

    def config_keys(self):
        return ("n_layer", "n_embd", "dim_ffn", "vocab_size") + self.extra_keys

    def expected_shapes(self, config):
        return self.shapes(*(config[k] for k in self.config_keys()))

    def pth_shape(self, name, shape):
        """The shape RWKV-LM gives a tensor whose HDF5 shape is `shape`."""
        return (1, 1) + tuple(shape) if name.endswith(self.vectors) else tuple(shape)

    def describe(self, config):
        return f"{self.label}, " + ", ".join(f"{k} {config[k]}" for k in self.config_keys())


V4 = Version("rwkv-4", "RWKV-4", (), expected_shapes_v4, TIME_MIX)
V7 = Version("rwkv-7", "RWKV-7", ("head_size", "rank_w", "rank_a", "rank_v", "rank_g", "layer0_value_lora"),
             expected_shapes_v7, V7_VECTORS)
VERSIONS = {v.arch: v for v in (V4, V7)}


# ---------------------------------------------------------------------------- .pth side

def explain_extra_keys(path, extra, version):
    """The error for keys a model of `version` in this format does not have."""
    first = extra[0]
    if any(k.startswith("_") for k in extra):
        hint = ("a file converted by the `rwkv` pip package for one of its strategies (time_decay "
                "already -exp()'d, matrices transposed); convert the original RWKV-LM .pth instead")
    elif any(re.search(r"\.(ln_x|time_faaaa|time_maa\w*|time_decay_w\d|gate|x_[rwkvag]|r_k|k_k)\b", k)
             for k in extra):
        hint = f"a tensor of another RWKV version in an {version.label} state_dict"
    elif any(re.search(r"(pos_emb|tiny_|head_q|head_k|copy_mask|ffnPre|s_emb|\.s[012]\b)", k) for k in extra):
        hint = (f"an {version.label} variant (position embedding, tiny attention, head QK, pre-FFN or "
                f"DeepEmbed) whose extra tensors change the computation; rwkv-kokkos implements plain "
                f"{version.label} only")
    else:
        hint = f"not a tensor of {version.label}"
    more = f" (and {len(extra) - 1} more: {', '.join(extra[1:4])}{', ...' if len(extra) > 4 else ''})" if len(extra) > 1 else ""
    fail(path, f"unexpected key '{first}'{more}: {hint}")


def read_pth(path):
    """The state_dict of `path`, checked: (config, OrderedDict name -> tensor in HDF5 shape)."""
    import torch

    if not os.path.isfile(path):
        fail(path, "no such file")
    try:
        # weights_only: a .pth is a pickle; refuse anything but tensors and containers.
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for foreign or truncated files
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        fail(path, f"not a PyTorch state_dict file (torch.load: {first_line})")
    if not isinstance(sd, dict):
        fail(path, f"holds a {type(sd).__name__}, not a state_dict (a dict of tensors)")
    for key, value in sd.items():
        if not isinstance(key, str):
            fail(path, f"key {key!r} is not a string: not a state_dict")
        if not isinstance(value, torch.Tensor):
            if key.startswith("_"):
                explain_extra_keys(path, [key], V4)
            fail(path, f"key '{key}' holds a {type(value).__name__}, not a tensor")
    if "emb.weight" not in sd:
        if any(re.match(r"blocks\.\d+\.", k) for k in sd):
            fail(path, "missing key 'emb.weight'")
        fail(path, f"not an RWKV state_dict: no key 'emb.weight' (keys: {', '.join(list(sd)[:5])}"
                   f"{', ...' if len(sd) > 5 else ''})")
    emb = sd["emb.weight"]
    if emb.dim() != 2:
        fail(path, f"key 'emb.weight' has shape {shape_text(emb.shape)}, expected [vocab_size, n_embd]")
    V, C = (int(d) for d in emb.shape)
    layers = {int(m.group(1)) for m in (re.match(r"blocks\.(\d+)\.", k) for k in sd) if m}
    n_layer = max(layers) + 1 if layers else 0
    if n_layer == 0:
        fail(path, "no key 'blocks.0.*': no layers")
    if len(layers) != n_layer:
        first_missing = next(i for i in range(n_layer) if i not in layers)
        fail(path, f"layer {first_missing} is missing (the file has keys of blocks up to {n_layer - 1})")
    F = matrix_rows(path, sd, "blocks.0.ffn.key.weight", f"[dim_ffn, {C}]")
    config = {"n_layer": n_layer, "n_embd": C, "dim_ffn": F, "vocab_size": V}
    version = version_of_keys(path, sd)
    if version is V7:
        H = matrix_rows(path, sd, "blocks.0.att.r_k", "[n_head, head_size]")
        N = int(sd["blocks.0.att.r_k"].shape[1])
        if H * N != C:
            fail(path, f"key 'blocks.0.att.r_k' has shape {shape_text(sd['blocks.0.att.r_k'].shape)}: "
                       f"n_head x head_size must be n_embd {C}")
        layer0_value_lora = "blocks.0.att.v1" in sd
        value_layer = 0 if layer0_value_lora else 1
        config.update(head_size=N, layer0_value_lora=int(layer0_value_lora),
                      rank_w=lora_rank(path, sd, "blocks.0.att.w1", C), rank_a=lora_rank(path, sd, "blocks.0.att.a1", C),
                      rank_v=lora_rank(path, sd, f"blocks.{value_layer}.att.v1", C) if value_layer < n_layer else 0,
                      rank_g=lora_rank(path, sd, "blocks.0.att.g1", C))

    shapes = version.expected_shapes(config)
    extra = [k for k in sd if k not in shapes]
    if extra:
        explain_extra_keys(path, extra, version)
    missing = [k for k in shapes if k not in sd]
    if missing:
        fail(path, f"missing key '{missing[0]}'" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))

    tensors = OrderedDict()
    for name, shape in shapes.items():
        t = sd[name]
        accepted = {tuple(shape), version.pth_shape(name, shape)}
        if tuple(t.shape) not in accepted:
            fail(path, f"key '{name}' has shape {shape_text(t.shape)}, expected "
                       f"{shape_text(version.pth_shape(name, shape))} ({version.describe(config)})")
        if not t.is_floating_point():
            fail(path, f"key '{name}' has dtype {t.dtype}, not a floating-point type")
        tensors[name] = t.reshape(shape)
    return version, config, tensors


def version_of_keys(path, sd):
    """RWKV-7 where block 0 has its removal-key scale, RWKV-4 otherwise (whose checks then name
    what is missing or foreign); RWKV-5/6 are refused by name."""
    if any(re.match(r"blocks\.\d+\.att\.(time_faaaa|time_maa)", k) for k in sd):
        fail(path, "an RWKV-5 or RWKV-6 model (att.time_faaaa / att.time_maa_*): this converter reads RWKV-4 "
                   "and RWKV-7")
    return V7 if "blocks.0.att.k_k" in sd else V4


def matrix_rows(path, sd, key, expected):
    """The rows of the 2-D tensor `key`, which must be there."""
    if key not in sd:
        fail(path, f"missing key '{key}'")
    rows = int(sd[key].shape[0]) if sd[key].dim() == 2 else -1
    if rows <= 0 or sd[key].shape[1] <= 0:
        fail(path, f"key '{key}' has shape {shape_text(sd[key].shape)}, expected {expected}")
    return rows


def lora_rank(path, sd, key, C):
    """D of the LoRA matrix `key` [C, D]."""
    if key not in sd:
        fail(path, f"missing key '{key}'")
    t = sd[key]
    if t.dim() != 2 or int(t.shape[0]) != C or int(t.shape[1]) <= 0:
        fail(path, f"key '{key}' has shape {shape_text(t.shape)}, expected [{C}, rank]")
    return int(t.shape[1])


def torch_dtype(name):
    import torch

    return {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
            "bfloat16": torch.bfloat16}[name]


def write_pth(path, tensors):
    import torch

    with atomic_output(path) as tmp:
        torch.save(tensors, tmp)


# ---------------------------------------------------------------------------- HDF5 side

def hdf5_float_type(dtype):
    """The HDF5 type of docs/FORMAT.md for `dtype` (a new h5py TypeFloatID)."""
    import h5py

    size, fields, bias = FLOAT_LAYOUTS[dtype]
    base = h5py.h5t.IEEE_F64LE if size == 8 else h5py.h5t.IEEE_F32LE
    t = base.copy()
    if size == 2:
        # set_fields needs the fields inside the precision; shrink in the order HDF5 allows.
        t.set_fields(*fields)
        t.set_ebias(bias)
        t.set_precision(16)
        t.set_size(2)
    return t


def float_kind(type_id):
    """Which of the four weight types an HDF5 datatype is, or None."""
    import h5py

    if not isinstance(type_id, h5py.h5t.TypeFloatID) or type_id.get_order() != h5py.h5t.ORDER_LE:
        return None
    for name, (size, fields, bias) in FLOAT_LAYOUTS.items():
        if (type_id.get_size() == size and tuple(type_id.get_fields()) == fields and type_id.get_ebias() == bias
                and type_id.get_offset() == 0 and type_id.get_precision() == 8 * size):
            return name
    return None


def tensor_bits(tensor, dtype):
    """The raw little-endian bits of `tensor` converted to `dtype`, as a NumPy array of the same
    item size (bfloat16 has no NumPy type: its bits travel as uint16)."""
    import torch

    t = tensor.to(torch_dtype(dtype)).contiguous()
    if dtype == "bfloat16":
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def write_h5(path, version, config, tensors, dtype):
    import h5py

    file_type = hdf5_float_type(dtype)
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["arch"] = np.bytes_(version.arch.encode())
            for key in version.config_keys():
                f.attrs[key] = np.int64(config[key])
            if version is V7:
                f.attrs["ln_x_eps"] = np.float64(config.get("ln_x_eps", V7_LN_X_EPS))
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            f.attrs["library"] = np.bytes_(LIBRARY.encode())
            f.attrs["weight_dtype"] = np.bytes_(dtype.encode())
            for name, tensor in tensors.items():
                bits = tensor_bits(tensor, dtype)
                shape = tuple(bits.shape)
                # One chunk per tensor, split by whole rows past 1 GiB; Fletcher-32 as the library.
                row_bytes = bits.itemsize * (shape[1] if len(shape) == 2 else 1)
                rows = max(1, min(shape[0], MAX_CHUNK_BYTES // (row_bytes if len(shape) == 2 else bits.itemsize)))
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_chunk((rows,) + shape[1:])
                dcpl.set_fletcher32()
                space = h5py.h5s.create_simple(shape)
                dset = h5py.h5d.create(f.id, name.encode(), file_type, space, dcpl=dcpl)
                # Memory type == file type: the bits were rounded by torch, HDF5 only copies them.
                dset.write(h5py.h5s.ALL, h5py.h5s.ALL, bits, mtype=file_type)


def read_h5(path):
    """(version, config, stored dtype, OrderedDict name -> torch tensor of the stored dtype, ignored
    names)."""
    import h5py
    import torch

    if not os.path.isfile(path):
        fail(path, "no such file")
    if not h5py.is_hdf5(path):
        fail(path, "not an HDF5 file")
    with h5py.File(path, "r") as f:
        arch = f.attrs.get("arch", b"rwkv-4")
        arch = arch.decode() if isinstance(arch, bytes) else str(arch)
        if arch not in VERSIONS:
            fail(path, f"attribute 'arch' is '{arch}', expected one of {', '.join(VERSIONS)}")
        version = VERSIONS[arch]
        format_version = f.attrs.get("format_version")
        if format_version is not None and int(format_version) > FORMAT_VERSION:
            fail(path, f"attribute 'format_version' is {int(format_version)}, newer than this converter's "
                       f"{FORMAT_VERSION}")
        config = {}
        for key in version.config_keys():
            if key not in f.attrs:
                fail(path, f"missing attribute '{key}'")
            value = f.attrs[key]
            if not np.issubdtype(np.asarray(value).dtype, np.integer) or np.asarray(value).shape != ():
                fail(path, f"attribute '{key}' is not an integer")
            # rank_v is 0 in a one-layer RWKV-7 whose layer 0 has no value LoRA; a flag is 0 or 1.
            low = 0 if key in ("rank_v", "layer0_value_lora") else 1
            high = 1 if key == "layer0_value_lora" else 2 ** 31 - 1
            if not low <= int(value) <= high:
                fail(path, f"attribute '{key}' is {int(value)}, out of range")
            config[key] = int(value)
        if version is V7 and config["n_embd"] % config["head_size"] != 0:
            fail(path, f"attribute 'head_size' is {config['head_size']}, which does not divide n_embd {config['n_embd']}")
        shapes = version.expected_shapes(config)
        tensors = OrderedDict()
        stored = None
        for name, shape in shapes.items():
            if name not in f:
                fail(path, f"missing dataset '{name}'")
            dset = f[name]
            if not isinstance(dset, h5py.Dataset):
                fail(path, f"'{name}' is not a dataset")
            if tuple(dset.shape) != shape:
                fail(path, f"dataset '{name}' has shape {shape_text(dset.shape)}, expected {shape_text(shape)}")
            kind = float_kind(dset.id.get_type())
            if kind is None:
                fail(path, f"dataset '{name}' has type {dset.dtype}, not one of {', '.join(DTYPES)}")
            if stored is None:
                stored = kind
            elif kind != stored:
                fail(path, f"dataset '{name}' is {kind}, the ones before it {stored}")
            try:
                values = dset[()]  # h5py widens bfloat16 to float32, exactly
            except OSError as e:
                fail(path, f"cannot read dataset '{name}' ({e})")
            tensors[name] = torch.from_numpy(np.ascontiguousarray(values)).to(torch_dtype(kind))
        declared = f.attrs.get("weight_dtype")
        if declared is not None:
            declared = declared.decode() if isinstance(declared, bytes) else str(declared)
            if declared != stored:
                fail(path, f"attribute 'weight_dtype' is '{declared}', the datasets are {stored}")
        ignored = []
        f.visit(lambda n: ignored.append(n) if isinstance(f[n], h5py.Dataset) and n not in shapes else None)
    return version, config, stored, tensors, ignored


# ---------------------------------------------------------------------------- commands

class atomic_output:
    """A temporary path in the target's directory, renamed over the target on success and removed
    on failure: the target is either untouched or complete."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            fail(self.path, f"directory {directory} does not exist")
        fd, self.tmp = tempfile.mkstemp(prefix=os.path.basename(self.path) + ".", suffix=".tmp", dir=directory)
        os.close(fd)
        return self.tmp

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            os.unlink(self.tmp)
            return False
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)
        return False


def to_h5(a):
    version, config, tensors = read_pth(a.input)
    write_h5(a.output, version, config, tensors, a.dtype or "float32")
    print(f"convert_pth: {a.input} -> {a.output}: {version.describe(config)}, {len(tensors)} tensors as "
          f"{a.dtype or 'float32'}")


def to_pth(a):
    version, config, stored, tensors, ignored = read_h5(a.input)
    dtype = torch_dtype(a.dtype or stored)
    out = OrderedDict((name, t.to(dtype).reshape(version.pth_shape(name, t.shape)).contiguous())
                      for name, t in tensors.items())
    write_pth(a.output, out)
    if ignored:
        print(f"convert_pth: {a.input}: not exported (not {version.label} weights): {', '.join(ignored[:4])}"
              f"{', ...' if len(ignored) > 4 else ''} ({len(ignored)} datasets)", file=sys.stderr)
    print(f"convert_pth: {a.input} -> {a.output}: {version.describe(config)}, {len(out)} tensors as {a.dtype or stored}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convert_pth.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    h5 = sub.add_parser("to-h5", help="RWKV-LM .pth state_dict -> rwkv-kokkos HDF5 model file")
    h5.add_argument("input", metavar="IN.pth")
    h5.add_argument("output", metavar="OUT.h5")
    h5.add_argument("--dtype", choices=DTYPES, help="weight type in the HDF5 file (default float32)")
    pth = sub.add_parser("to-pth", help="rwkv-kokkos HDF5 model or training checkpoint -> RWKV-LM .pth state_dict")
    pth.add_argument("input", metavar="IN.h5")
    pth.add_argument("output", metavar="OUT.pth")
    pth.add_argument("--dtype", choices=DTYPES, help="tensor type in the .pth (default: the HDF5 file's weight type)")
    a = ap.parse_args(argv)
    try:
        to_h5(a) if a.command == "to-h5" else to_pth(a)
    except ConversionError as e:
        print(f"convert_pth: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # writing: disk full, permissions
        print(f"convert_pth: {e.filename or a.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"convert_pth: {e.name} is missing: run /usr/bin/python3 with Debian's python3-torch and python3-h5py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
