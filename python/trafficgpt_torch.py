"""A PyTorch reference of the trafficgpt model, for loading its checkpoints.

It reads a trafficgpt safetensors checkpoint (format trafficgpt-model-1: see
docs/formats.md and internal/model/doc.go) with numpy only, builds the same
network in PyTorch and reproduces the Go forward pass's logits (the Go test
internal/model/pytorch_test.go checks a max relative difference below 1e-4
for the tiny and small presets and for reversible and quadratic variants).

    import torch, trafficgpt_torch as tg
    model = tg.load("model/model.safetensors")         # float64 by default
    logits = model(torch.tensor([[3, 17, 200, 45]]))    # (B, T, vocab)

The network, as internal/model computes it (names are the checkpoint's):

    x = wte[tokens]                               no absolute positions
    per layer:  x += Attn(x); x += FFN(x)         pre-LN residual, or reversible:
                y1 = y2 = x; y1 += Attn(y2); y2 += FFN(y1); x = (y1 + y2) / 2 at the end
    Attn(x):    LayerNorm (eps 1e-5) -> token shift (channels [0, C/2) take
                position t-1's values, zeros at t = 0) -> qkv = x W^T + b,
                columns [q | k | v], each [head 0 | head 1 | ...] of head_dim D
                heads 0..local_heads-1 (all with attention "quadratic"):
                    RoPE on q, k: pairs (i, i + D/2) rotated by t * base^(-2i/D);
                    softmax(q k^T / sqrt(D)) over keys t-window..t (all of 0..t
                    for "quadratic")
                the other heads, causal linear attention:
                    phi(q) = softmax(q over D) * D^-1/2, phi(k) = exp(min(k, 30))
                    out_t = sum_{j<=t} (phi(q_t).phi(k_j)) v_j / max(sum_{j<=t} phi(q_t).phi(k_j), 1e-3)
                -> heads merged in order -> out projection
    FFN(x):     LayerNorm -> token shift -> fc -> GELU (tanh) -> proj
    logits:     LayerNorm(norm) -> x wte^T (tied) or lm_head.weight
    classifier: cls.weight/bias on the final normed state at the <cls>
                position ("pool": "last") or the mean up to it ("mean")

Dropout is not applied (inference). Needs numpy and torch only.
"""

import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "trafficgpt-model-1"
LINEAR_KEY_CLAMP = 30.0
LINEAR_EPS = 1e-3
LN_EPS = 1e-5


def read_safetensors(path):
    """Returns ({name: float32 numpy array}, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + hlen :]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name}: dtype {info['dtype']}, want F32")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = arr
    return tensors, meta


def rope(x, base):
    """Rotary embedding of x (B, H, T, D): pairs (i, i + D/2), angle t * base^(-2i/D)."""
    T, D = x.shape[-2], x.shape[-1]
    h = D // 2
    freq = torch.tensor([base ** (-2.0 * i / D) for i in range(h)], dtype=torch.float64)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * freq[None, :]
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    a, b = x[..., :h], x[..., h:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def softmax_attention(q, k, v, window):
    """Causal softmax attention over keys max(0, t - window) .. t (window None: all)."""
    T, D = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    t = torch.arange(T)
    allowed = t[None, :] <= t[:, None]
    if window is not None:
        allowed &= t[None, :] >= t[:, None] - window
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def linear_attention(q, k, v):
    """Causal linear attention with trafficgpt's feature maps and stabiliser."""
    T, D = q.shape[-2], q.shape[-1]
    pq = torch.softmax(q, dim=-1) * D ** -0.5
    pk = torch.exp(torch.clamp(k, max=LINEAR_KEY_CLAMP))
    a = (pq @ pk.transpose(-1, -2)).tril()  # (T, T): phi(q_t).phi(k_j), j <= t
    num = a @ v
    den = a.sum(dim=-1, keepdim=True).clamp(min=LINEAR_EPS)
    return num / den


def token_shift(x):
    """Channels [0, C/2) of position t take position t-1's (zeros at t = 0)."""
    C = x.shape[-1]
    half = x[..., : C // 2]
    shifted = torch.cat([torch.zeros_like(half[:, :1]), half[:, :-1]], dim=1)
    return torch.cat([shifted, x[..., C // 2 :]], dim=-1)


class Block(nn.Module):
    """One layer's attention and FFN blocks, with the checkpoint's parameters."""

    def __init__(self, cfg):
        super().__init__()
        C, D, H = cfg["width"], cfg["head_dim"], cfg["local_heads"] + cfg["global_heads"]
        self.cfg = cfg
        self.attn_norm = nn.LayerNorm(C, eps=LN_EPS)
        self.qkv = nn.Linear(C, 3 * H * D)
        self.out = nn.Linear(H * D, C)
        self.ffn_norm = nn.LayerNorm(C, eps=LN_EPS)
        self.fc = nn.Linear(C, cfg["ffn"])
        self.proj = nn.Linear(cfg["ffn"], C)

    def _norm_shift(self, norm, x):
        h = norm(x)
        return token_shift(h) if self.cfg["token_shift"] else h

    def attn(self, x):
        cfg = self.cfg
        B, T, _ = x.shape
        D = cfg["head_dim"]
        H = cfg["local_heads"] + cfg["global_heads"]
        quadratic = cfg["attention"] == "quadratic"
        hs = H if quadratic else cfg["local_heads"]
        qkv = self.qkv(self._norm_shift(self.attn_norm, x))
        q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in qkv.split(H * D, dim=-1))
        outs = []
        if hs > 0:
            qs, ks = rope(q[:, :hs], cfg["rope_base"]), rope(k[:, :hs], cfg["rope_base"])
            outs.append(softmax_attention(qs, ks, v[:, :hs], None if quadratic else cfg["window"]))
        if hs < H:
            outs.append(linear_attention(q[:, hs:], k[:, hs:], v[:, hs:]))
        o = torch.cat(outs, dim=1).transpose(1, 2).reshape(B, T, H * D)
        return self.out(o)

    def ffn(self, x):
        h = self._norm_shift(self.ffn_norm, x)
        return self.proj(F.gelu(self.fc(h), approximate="tanh"))


class TrafficGPT(nn.Module):
    """The trafficgpt transformer; forward(tokens (B, T) int) -> logits (B, T, vocab)."""

    def __init__(self, cfg):
        super().__init__()
        if cfg.get("attention", "linear") not in ("linear", "quadratic"):
            raise ValueError(f"attention {cfg.get('attention')!r} is not supported")
        self.cfg = cfg
        C, V = cfg["width"], cfg["vocab"]
        self.wte = nn.Embedding(V, C)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg["layers"]))
        self.norm = nn.LayerNorm(C, eps=LN_EPS)
        self.lm_head = None if cfg["tied_embedding"] else nn.Linear(C, V, bias=False)
        classes = cfg.get("classes", 0) or 0
        self.cls = nn.Linear(C, classes) if classes > 0 else None

    def hidden(self, tokens):
        """Final normed hidden states (B, T, C)."""
        x = self.wte(tokens)
        if self.cfg["reversible"]:
            y1, y2 = x, x
            for blk in self.layers:
                y1 = y1 + blk.attn(y2)
                y2 = y2 + blk.ffn(y1)
            x = (y1 + y2) / 2
        else:
            for blk in self.layers:
                x = x + blk.attn(x)
                x = x + blk.ffn(x)
        return self.norm(x)

    def forward(self, tokens):
        h = self.hidden(tokens)
        w = self.wte.weight if self.lm_head is None else self.lm_head.weight
        return h @ w.T

    def classify(self, tokens, cls_pos):
        """Class logits (B, classes) read at positions cls_pos (B,) as the Go head does."""
        h = self.hidden(tokens)
        idx = torch.as_tensor(cls_pos)
        if self.cfg.get("pool") == "mean":
            t = torch.arange(h.shape[1])
            mask = (t[None, :] <= idx[:, None]).to(h.dtype)
            pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        else:
            pooled = h[torch.arange(h.shape[0]), idx]
        return self.cls(pooled)


# Checkpoint tensor name -> (module attribute path) per layer.
_LAYER_NAMES = {
    "attn.norm.weight": "attn_norm.weight", "attn.norm.bias": "attn_norm.bias",
    "attn.qkv.weight": "qkv.weight", "attn.qkv.bias": "qkv.bias",
    "attn.out.weight": "out.weight", "attn.out.bias": "out.bias",
    "ffn.norm.weight": "ffn_norm.weight", "ffn.norm.bias": "ffn_norm.bias",
    "ffn.fc.weight": "fc.weight", "ffn.fc.bias": "fc.bias",
    "ffn.proj.weight": "proj.weight", "ffn.proj.bias": "proj.bias",
}


def state_dict_names(name):
    """Maps a checkpoint tensor name to the TrafficGPT module's state_dict key."""
    if name.startswith("layers."):
        _, l, rest = name.split(".", 2)
        return f"layers.{l}.{_LAYER_NAMES[rest]}"
    if name == "wte":
        return "wte.weight"
    return name


def load(path, dtype=torch.float64):
    """Loads a trafficgpt checkpoint into a TrafficGPT module (eval mode)."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format {meta.get('format')!r}, want {FORMAT!r}")
    cfg = json.loads(meta["config"])
    model = TrafficGPT(cfg)
    sd = {state_dict_names(n): torch.from_numpy(a.copy()) for n, a in tensors.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: missing tensors {missing}, unexpected {unexpected}")
    model = model.to(dtype).eval()
    model.meta = meta
    return model


def run_logits(checkpoint, tokens_path, batch, out, dtype=torch.float64, cls_pos=None):
    """Writes the logits (B*T, vocab) of the tokens in tokens_path (int32) as float32 to out;
    with cls_pos (B positions), the classifier's class probabilities (B, classes) instead."""
    model = load(checkpoint, dtype)
    toks = torch.from_numpy(np.fromfile(tokens_path, dtype="<i4").astype(np.int64).reshape(batch, -1))
    with torch.no_grad():
        if cls_pos is not None:
            out_t = torch.softmax(model.classify(toks, cls_pos), dim=-1)
        else:
            out_t = model(toks)
    out_t.to(torch.float32).numpy().astype("<f4").tofile(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run a trafficgpt checkpoint in PyTorch: tokens in, logits out.")
    ap.add_argument("checkpoint", nargs="?", help="model.safetensors")
    ap.add_argument("--tokens", help="raw little-endian int32 token ids, B*T of them")
    ap.add_argument("--batch", type=int, default=1, help="B (rows of the token file)")
    ap.add_argument("--out", help="write logits (B*T, vocab) as little-endian float32 here")
    ap.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
    ap.add_argument("--jobs", help="JSON list of {checkpoint, tokens, batch, out[, cls_pos]}: many runs, one start-up")
    a = ap.parse_args(argv)
    dtype = torch.float32 if a.float32 else torch.float64
    if a.jobs:
        with open(a.jobs) as f:
            for job in json.load(f):
                run_logits(job["checkpoint"], job["tokens"], job["batch"], job["out"], dtype, job.get("cls_pos"))
        return 0
    if not (a.checkpoint and a.tokens and a.out):
        ap.error("need CHECKPOINT --tokens FILE --out FILE (or --jobs FILE)")
    run_logits(a.checkpoint, a.tokens, a.batch, a.out, dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
