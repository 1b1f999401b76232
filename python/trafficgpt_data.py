"""Read trafficgpt datasets (`dataset build -o DIR`) with numpy only.

A dataset directory holds manifest.json and one shard per split
(train.tgs, valid.tgs, test.tgs, ...); docs/formats.md and
internal/dataset/doc.go give the layout. This module maps a shard's tokens
(uint16) and index without copying, checks the header and index CRC-32C
(and, with verify=True, every flow's), and hands out flows as numpy arrays:

    import trafficgpt_data as td
    ds = td.Dataset("ds")
    train = ds.split("train")
    print(len(train), ds.labels)             # flows, label names
    tokens, label = train[0]                  # uint16 array <flow> ... <end>, label id
    x, y = train.padded(512)                  # (flows, 512) int64 padded with <pad>, labels

    # PyTorch, if installed:
    import torch
    loader = torch.utils.data.DataLoader(td.TorchFlows(train, 512), batch_size=32, shuffle=True)

Token ids are codec tokens (docs/grammar.md): PAD_TOKEN pads.
"""

import argparse
import json
import os
import sys

import numpy as np

SHARD_MAGIC = b"TGSH"
HEADER_LEN = 64
INDEX_DTYPE = np.dtype([
    ("offset", "<u8"), ("length", "<u4"), ("label", "<i4"), ("file", "<u4"), ("packets", "<u4"),
    ("flow_id", "<u8"), ("payload_hash", "<u8"), ("crc32c", "<u4"), ("reserved", "<u4"),
])
assert INDEX_DTYPE.itemsize == 48

# The codec's <pad> token (internal/codec: PAD, docs/grammar.md).
PAD_TOKEN = 256


def _crc32c_table():
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return [int(x) for x in table]


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli) of bytes, as Go's crc32.Checksum(data, castagnoli)."""
    crc = 0xFFFFFFFF
    t = _CRC_TABLE
    for b in bytes(data):
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class ShardError(ValueError):
    """A shard that is not one, truncated, or corrupt."""


class Shard:
    """One .tgs shard: tokens (uint16 memmap) and index (structured array)."""

    def __init__(self, path, verify=False):
        self.path = path
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        if len(raw) < HEADER_LEN or bytes(raw[:4]) != SHARD_MAGIC:
            raise ShardError(f"{path}: not a trafficgpt shard (magic {bytes(raw[:4])!r})")
        h = bytes(raw[:HEADER_LEN])
        self.version = int.from_bytes(h[4:8], "little")
        self.codec_version = int.from_bytes(h[8:12], "little")
        index_crc = int.from_bytes(h[12:16], "little")
        n = int.from_bytes(h[16:24], "little")
        ntok = int.from_bytes(h[24:32], "little")
        off = int.from_bytes(h[32:40], "little")
        if self.version not in (1, 2):
            raise ShardError(f"{path}: shard version {self.version}, this reader knows 1 and 2")
        if self.version >= 2 and crc32c(h[:60]) != int.from_bytes(h[60:64], "little"):
            raise ShardError(f"{path}: header CRC-32C mismatch")
        if off != HEADER_LEN + 2 * ntok or len(raw) != off + 48 * n:
            raise ShardError(f"{path}: sizes do not add up ({len(raw)} bytes, {ntok} tokens, {n} flows)")
        self.tokens = raw[HEADER_LEN:off].view("<u2")
        index_bytes = raw[off:]
        if self.version >= 2 and crc32c(index_bytes) != index_crc:
            raise ShardError(f"{path}: index CRC-32C mismatch")
        self.index = index_bytes.view(INDEX_DTYPE)
        ends = self.index["offset"].astype(np.int64) + self.index["length"]
        starts = np.concatenate([[0], ends[:-1]]) if n else ends
        if n and (np.any(self.index["offset"] != starts) or ends[-1] != ntok):
            raise ShardError(f"{path}: flows do not tile the token area")
        if verify and self.version >= 2:
            for i in range(n):
                if crc32c(self.flow_tokens(i).tobytes()) != int(self.index["crc32c"][i]):
                    raise ShardError(f"{path}: flow {i}: CRC-32C mismatch")

    def __len__(self):
        return len(self.index)

    def flow_tokens(self, i):
        e = self.index[i]
        o = int(e["offset"])
        return self.tokens[o : o + int(e["length"])]


class Split:
    """A dataset split: flows with their labels (label ids index Dataset.labels)."""

    def __init__(self, shard, labels):
        self.shard = shard
        self.labels = labels

    def __len__(self):
        return len(self.shard)

    def __getitem__(self, i):
        return np.asarray(self.shard.flow_tokens(i)), int(self.shard.index["label"][i])

    @property
    def meta(self):
        """The index as a structured array: offset, length, label, file, packets, flow_id, ..."""
        return self.shard.index

    def padded(self, length, pad=PAD_TOKEN):
        """(flows, length) int64 tokens, each flow cut or padded with pad, and the labels (flows,)."""
        x = np.full((len(self), length), pad, dtype=np.int64)
        for i in range(len(self)):
            t = self.shard.flow_tokens(i)[:length]
            x[i, : len(t)] = t
        return x, np.asarray(self.shard.index["label"], dtype=np.int64)


class Dataset:
    """A dataset directory: manifest.json and one shard per split."""

    def __init__(self, path, verify=False):
        self.path = path
        with open(os.path.join(path, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.labels = self.manifest.get("labels") or []
        self.verify = verify

    @property
    def splits(self):
        return sorted(self.manifest["splits"])

    def split(self, name):
        info = self.manifest["splits"][name]
        return Split(Shard(os.path.join(self.path, info["shard"]), self.verify), self.labels)


def TorchFlows(split, length):
    """A torch Dataset of (tokens int64 (length,), label) for a Split (needs torch)."""
    import torch

    class _Flows(torch.utils.data.Dataset):
        def __len__(self):
            return len(split)

        def __getitem__(self, i):
            t, label = split[i]
            x = torch.full((length,), PAD_TOKEN, dtype=torch.int64)
            t = torch.from_numpy(t[:length].astype(np.int64))
            x[: len(t)] = t
            return x, label

    return _Flows()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Summarise a trafficgpt dataset (numpy only).")
    ap.add_argument("dataset", help="dataset directory (dataset build -o)")
    ap.add_argument("--verify", action="store_true", help="check every flow's CRC-32C too")
    ap.add_argument("--json", action="store_true", help="print every split's flows, labels and tokens as JSON")
    a = ap.parse_args(argv)
    ds = Dataset(a.dataset, verify=a.verify)
    out = {}
    for name in ds.splits:
        s = ds.split(name)
        out[name] = {
            "flows": len(s),
            "tokens": int(len(s.shard.tokens)),
            "labels": [int(x) for x in s.meta["label"]],
            "flow_ids": [int(x) for x in s.meta["flow_id"]],
            "token_sum": int(np.asarray(s.shard.tokens, dtype=np.int64).sum()),
            "first_tokens": [int(x) for x in s[0][0][:16]] if len(s) else [],
        }
    if a.json:
        json.dump({"labels": ds.labels, "splits": out}, sys.stdout)
        print()
    else:
        for name, o in out.items():
            print(f"{name}: {o['flows']} flows, {o['tokens']} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
