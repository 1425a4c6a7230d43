#!/usr/bin/python3
"""Independent check of the exported llama2.c files (the format the C++ loader reads).

Reads the v1 (fp32) and v2 (Q8_0) files and tokenizer.bin with nothing but struct/numpy,
runs a token-by-token forward pass written after llama2.c's run.c / runq.c (kv cache, adjacent
pair RoPE, GQA, tied classifier) on the first tokens of models/heldout.txt, and compares the
mean next-token loss with the PyTorch model's. Also checks that a run.c-style greedy BPE
encoder over tokenizer.bin reproduces sentencepiece's token ids for the whole held-out text.

    /usr/bin/python3 tools/train-demo/check_export.py            # defaults: models/austen-1m*
Exit status 0 only if every check passes.
"""
import argparse
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# ---------------------------------------------------------------------------------------
# readers

def read_model(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, version = struct.unpack_from("<Ii", data, 0)
    assert magic == 0x616B3432, f"bad magic {magic:#x}"
    assert version in (1, 2), f"unsupported version {version}"
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack_from("<7i", data, 8)
    shared = data[36]
    gs = struct.unpack_from("<i", data, 37)[0] if version == 2 else None
    assert data[41 if version == 2 else 37:256] == b"\0" * (256 - (41 if version == 2 else 37))
    p = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
             vocab=vocab, seq_len=seq_len, shared=shared, version=version, group_size=gs)
    kv_dim = dim * n_kv_heads // n_heads
    off = 256

    def f32(n):
        nonlocal off
        a = np.frombuffer(data, "<f4", n, off)
        off += 4 * n
        return a

    def q8(count, shape):
        """count tensors of shape: all int8 values first, then all fp32 scales."""
        nonlocal off
        n = int(np.prod(shape))
        q = np.frombuffer(data, np.int8, count * n, off).reshape(count, n // gs, gs)
        off += count * n
        s = np.frombuffer(data, "<f4", count * n // gs, off).reshape(count, n // gs)
        off += 4 * count * n // gs
        return {"q": q.reshape(count, *shape[:-1], shape[-1] // gs, gs),
                "s": s.reshape(count, *shape[:-1], shape[-1] // gs), "shape": shape}

    w = {"att_norm": f32(n_layers * dim).reshape(n_layers, dim),
         "ffn_norm": f32(n_layers * dim).reshape(n_layers, dim),
         "norm": f32(dim)}
    shapes = [("tok", 1, (vocab, dim)), ("wq", n_layers, (dim, dim)),
              ("wk", n_layers, (kv_dim, dim)), ("wv", n_layers, (kv_dim, dim)),
              ("wo", n_layers, (dim, dim)), ("w1", n_layers, (hidden, dim)),
              ("w2", n_layers, (dim, hidden)), ("w3", n_layers, (hidden, dim))]
    if not shared:
        shapes.append(("cls", 1, (vocab, dim)))
    for name, count, shape in shapes:
        if version == 1:
            w[name] = f32(count * int(np.prod(shape))).reshape(count, *shape)
        else:
            w[name] = q8(count, shape)
    if shared:
        w["cls"] = w["tok"]
    assert off == len(data), f"{len(data) - off} trailing bytes"
    return p, w


def read_tokenizer(path, vocab):
    with open(path, "rb") as f:
        data = f.read()
    max_len = struct.unpack_from("<I", data, 0)[0]
    off, pieces, scores = 4, [], []
    for _ in range(vocab):
        score, n = struct.unpack_from("<fI", data, off)
        off += 8
        pieces.append(data[off:off + n])
        scores.append(score)
        off += n
    assert off == len(data) and max_len == max(len(p) for p in pieces)
    return pieces, scores


# ---------------------------------------------------------------------------------------
# run.c-style encoder and forward pass

def encode_runc(text, pieces, scores):
    """llama2.c run.c encode(): dummy prefix ' ', codepoints or byte fallback, greedy merges."""
    lookup = {p: i for i, p in enumerate(pieces)}
    ids = [lookup[b" "]] if text else []
    for ch in text:
        b = ch.encode("utf-8")
        if b in lookup:
            ids.append(lookup[b])
        else:
            ids += [x + 3 for x in b]
    while True:  # merge the best-scoring adjacent pair, leftmost on ties, until none applies
        best, best_i, best_id = -1e10, -1, -1
        for i in range(len(ids) - 1):
            j = lookup.get(pieces[ids[i]] + pieces[ids[i + 1]])
            if j is not None and scores[j] > best:
                best, best_i, best_id = scores[j], i, j
        if best_i < 0:
            return ids
        ids[best_i:best_i + 2] = [best_id]


def quantize(x, gs):
    """runq.c quantize(): per group scale max|x|/127, round to nearest."""
    g = x.reshape(-1, gs)
    s = np.abs(g).max(1) / np.float32(127.0)
    q = np.round(g / np.where(s > 0, s, 1)[:, None]).astype(np.int32)
    return q, s.astype(np.float32)


def matmul(w, x, layer, p):
    """W (out, in) @ x; for Q8 weights this follows runq.c's integer-dot-per-group matmul."""
    if p["version"] == 1:
        return w[layer] @ x
    xq, xs = quantize(x, p["group_size"])
    wq, ws = w["q"][layer].astype(np.int32), w["s"][layer]
    ival = np.einsum("dgk,gk->dg", wq, xq)  # integer dot product of each group
    return (ival.astype(np.float32) * ws * xs[None, :]).sum(1, dtype=np.float32)


def rmsnorm(x, weight):
    ss = np.float32(1.0) / np.sqrt(np.mean(x * x, dtype=np.float32) + np.float32(1e-5))
    return (weight * (ss * x)).astype(np.float32)


def forward_losses(p, w, tokens):
    """Next-token losses for tokens[1:], processing one position at a time like run.c."""
    dim, hs = p["dim"], p["dim"] // p["n_heads"]
    kv_dim = hs * p["n_kv_heads"]
    kv_mul = p["n_heads"] // p["n_kv_heads"]
    L = p["n_layers"]
    kc = np.zeros((L, len(tokens), kv_dim), np.float32)
    vc = np.zeros((L, len(tokens), kv_dim), np.float32)
    if p["version"] == 1:
        emb = w["tok"][0]
    else:  # runq.c dequantizes the embedding table once
        emb = (w["tok"]["q"][0].astype(np.float32) * w["tok"]["s"][0][..., None]).reshape(p["vocab"], dim)
    losses = []
    for pos, tok in enumerate(tokens[:-1]):
        x = emb[tok].copy()
        for l in range(L):
            xb = rmsnorm(x, w["att_norm"][l])
            q = matmul(w["wq"], xb, l, p)
            k = matmul(w["wk"], xb, l, p)
            v = matmul(w["wv"], xb, l, p)
            # RoPE exactly as run.c: adjacent pairs, head_dim = i % head_size
            for i in range(0, dim, 2):
                freq = 1.0 / 10000.0 ** ((i % hs) / hs)
                fcr, fci = np.float32(np.cos(pos * freq)), np.float32(np.sin(pos * freq))
                for vec in ((q, k) if i < kv_dim else (q,)):
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i], vec[i + 1] = v0 * fcr - v1 * fci, v0 * fci + v1 * fcr
            kc[l, pos], vc[l, pos] = k, v
            out = np.zeros(dim, np.float32)
            for h in range(p["n_heads"]):
                kh = (h // kv_mul) * hs
                att = kc[l, :pos + 1, kh:kh + hs] @ q[h * hs:(h + 1) * hs] / np.sqrt(np.float32(hs))
                att = np.exp(att - att.max())
                att /= att.sum()
                out[h * hs:(h + 1) * hs] = att @ vc[l, :pos + 1, kh:kh + hs]
            x = x + matmul(w["wo"], out, l, p)
            xb = rmsnorm(x, w["ffn_norm"][l])
            h1, h3 = matmul(w["w1"], xb, l, p), matmul(w["w3"], xb, l, p)
            x = x + matmul(w["w2"], (h1 / (1 + np.exp(-h1))) * h3, l, p)
        x = rmsnorm(x, w["norm"])
        logits = matmul(w["cls"], x, 0, p).astype(np.float64)
        m = logits.max()
        losses.append(m + np.log(np.exp(logits - m).sum()) - logits[tokens[pos + 1]])
    return np.array(losses)


# ---------------------------------------------------------------------------------------

def torch_losses(ckpt, tokens):
    import torch
    sys.path.insert(0, HERE)
    from model import Config, Transformer
    torch.set_num_threads(1)
    state = torch.load(ckpt)
    m = Transformer(Config(**state["config"]))
    m.load_state_dict(state["model"])
    m.eval()
    with torch.no_grad():
        x = torch.tensor([tokens[:-1]])
        y = torch.tensor(tokens[1:])
        logits, _ = m(x)
        return torch.nn.functional.cross_entropy(logits[0], y, reduction="none").double().numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--name", default="austen-1m")
    ap.add_argument("--work", default=os.path.join(HERE, "work"),
                    help="where train.py left the torch checkpoint and sentencepiece model")
    ap.add_argument("--tokens", type=int, default=200, help="BOS + this many held-out tokens")
    args = ap.parse_args()
    ok = True

    v1_path = os.path.join(args.models, f"{args.name}.bin")
    q8_path = os.path.join(args.models, f"{args.name}-q8.bin")
    p1, w1 = read_model(v1_path)
    p2, w2 = read_model(q8_path)
    print("v1 header:", p1)
    print("v2 header:", p2)
    ok &= all(p1[k] == p2[k] for k in ("dim", "hidden", "n_layers", "n_heads", "n_kv_heads",
                                       "vocab", "seq_len", "shared"))

    pieces, scores = read_tokenizer(os.path.join(args.models, "austen-tokenizer.bin"), p1["vocab"])
    assert pieces[1] == b"\n<s>\n" and pieces[2] == b"\n</s>\n" and pieces[3 + 10] == b"<0x0A>"
    with open(os.path.join(args.models, "heldout.txt"), encoding="utf-8") as f:
        text = f.read()
    ids = encode_runc(text, pieces, scores)
    sp_path = os.path.join(args.work, "austen_sp.model")
    if os.path.exists(sp_path):
        import sentencepiece as spm
        sp_ids = spm.SentencePieceProcessor(model_file=sp_path).encode(text)
        same = sp_ids == ids
        print(f"tokenizer: run.c-style encoding of heldout.txt == sentencepiece: {same} "
              f"({len(ids)} tokens)")
        ok &= same
    else:
        print(f"tokenizer: {len(ids)} tokens (no sentencepiece model to compare with)")

    tokens = [1] + ids[:args.tokens]  # BOS first, as the server does
    l1 = forward_losses(p1, w1, tokens)
    l2 = forward_losses(p2, w2, tokens)
    print(f"numpy v1 (fp32)  loss over {len(l1)} tokens: {l1.mean():.6f}  ppl {np.exp(l1.mean()):.4f}")
    print(f"numpy v2 (Q8_0, runq.c-style) loss:           {l2.mean():.6f}  ppl {np.exp(l2.mean()):.4f}")
    ckpt = os.path.join(args.work, f"{args.name}.pt")
    if os.path.exists(ckpt):
        lt = torch_losses(ckpt, tokens)
        d = abs(lt.mean() - l1.mean())
        dmax = np.abs(lt - l1).max()
        print(f"torch            loss: {lt.mean():.6f}  |mean diff| {d:.2e}  max per-token diff {dmax:.2e}")
        ok &= d < 1e-4
        ok &= abs(l2.mean() - l1.mean()) < 0.05  # Q8 should cost only a little
    else:
        print("no torch checkpoint found; skipped the torch comparison")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
