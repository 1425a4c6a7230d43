"""Writers for llama2.c model files (v1 fp32, v2 Q8_0) and llama2.c tokenizer.bin.

The byte layouts are the ones fpgaserve's C++ loader reads (the design notes, section "Model files"):
  header (256 bytes, little-endian):
    0  uint32 magic 0x616b3432 ("ak42")     4  int32 version (1 or 2)
    8  int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, max_seq_len
    36 uint8 shared_classifier              37 int32 group_size (v2 only)
    zero padding up to byte 256
  v1 body, fp32: attention_norm[all layers], ffn_norm[all], norm, tok_embeddings,
    wq[all], wk[all], wv[all], wo[all], w1[all], w2[all], w3[all], (output if not shared)
  v2 body: the same norms in fp32, then each matrix (tok_embeddings, wq of every layer, wk, wv,
    wo, w1, w2, w3, output if not shared) as its int8 values immediately followed by its fp32
    scales, tensor by tensor, as llama2.c's export.py writes and runq.c reads.
Matrices are row-major (out_features, in_features), i.e. nn.Linear.weight as is.
"""
import struct

import numpy as np
import torch

MAGIC = 0x616B3432


def _header(model, version, group_size=None):
    c = model.cfg
    shared = model.output.weight is model.tok_embeddings.weight
    h = struct.pack("<Ii", MAGIC, version)
    h += struct.pack("<7i", c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                     c.vocab_size, c.max_seq_len)
    h += struct.pack("<B", int(shared))
    if group_size is not None:
        h += struct.pack("<i", group_size)
    assert len(h) <= 256
    return h + b"\0" * (256 - len(h)), shared


def _norms(model):
    L = model.layers
    return ([l.attention_norm.weight for l in L] + [l.ffn_norm.weight for l in L]
            + [model.norm.weight])


def _matrices(model, shared):
    L = model.layers
    groups = [[model.tok_embeddings.weight]]
    for name in ("wq", "wk", "wv", "wo"):
        groups.append([getattr(l.attention, name).weight for l in L])
    for name in ("w1", "w2", "w3"):
        groups.append([getattr(l.feed_forward, name).weight for l in L])
    if not shared:
        groups.append([model.output.weight])
    return groups


def _f32(t):
    return t.detach().cpu().to(torch.float32).numpy().astype("<f4").tobytes()


def write_v1(model, path):
    header, shared = _header(model, 1)
    with open(path, "wb") as f:
        f.write(header)
        for t in _norms(model):
            f.write(_f32(t))
        for group in _matrices(model, shared):
            for t in group:
                f.write(_f32(t))


def q80(w, group_size):
    """Symmetric int8 per group: scale = max|w| / 127, q = round-half-to-even(w / scale)."""
    w = w.detach().cpu().to(torch.float32).reshape(-1, group_size)
    scale = w.abs().max(dim=1).values / 127.0
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))  # all-zero group -> q = 0
    q = torch.round(w / safe[:, None]).to(torch.int8)  # torch.round is half-to-even
    err = (q.float() * scale[:, None] - w).abs().max().item()
    return q, scale, err


def q8_group_size(dim):
    gs = 64
    while dim % gs != 0:  # llama2.c's rule: halve until it divides dim
        gs //= 2
    return gs


def write_v2(model, path):
    gs = q8_group_size(model.cfg.dim)
    header, shared = _header(model, 2, gs)
    max_err = 0.0
    with open(path, "wb") as f:
        f.write(header)
        for t in _norms(model):
            f.write(_f32(t))
        for group in _matrices(model, shared):
            for t in group:
                assert t.numel() % gs == 0
                q, s, err = q80(t, gs)
                f.write(q.numpy().tobytes())  # one tensor's int8 values, then its scales
                f.write(s.numpy().astype("<f4").tobytes())
                max_err = max(max_err, err)
    return max_err


def write_tokenizer(sp, path):
    """llama2.c tokenizer.bin: uint32 max_token_length, then (f32 score, u32 len, bytes) per id.

    Follows llama2.c's tokenizer.py: '▁' becomes ' ', BOS/EOS are written as "\\n<s>\\n" and
    "\\n</s>\\n", byte-fallback pieces stay literal ("<0x0A>"), scores are sentencepiece's.
    """
    pieces, scores = [], []
    for i in range(sp.get_piece_size()):
        t = sp.id_to_piece(i)
        if i == sp.bos_id():
            t = "\n<s>\n"
        elif i == sp.eos_id():
            t = "\n</s>\n"
        pieces.append(t.replace("\u2581", " ").encode("utf-8"))
        scores.append(sp.get_score(i))
    with open(path, "wb") as f:
        f.write(struct.pack("<I", max(len(b) for b in pieces)))
        for b, s in zip(pieces, scores):
            f.write(struct.pack("<fI", s, len(b)))
            f.write(b)
