"""A small Llama-architecture transformer, written to match llama2.c's run.c exactly.

The C++ server runs the forward pass the way llama2.c's run.c does, so every detail
here that affects numerics follows run.c rather than any other Llama implementation:
  * RMSNorm with eps 1e-5, weight multiplied after normalisation;
  * RoPE with theta 10000 rotating *adjacent* pairs (x[2i], x[2i+1]) of each head,
    frequency 1 / 10000^(2i / head_size);
  * grouped-query attention (n_kv_heads < n_heads), query head h reads kv head
    h // (n_heads / n_kv_heads);
  * SwiGLU feed-forward w2(silu(w1 x) * w3 x);
  * no biases anywhere; classifier tied to the token embedding (shared_classifier=1).
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    dim: int = 128
    n_layers: int = 6
    n_heads: int = 8
    n_kv_heads: int = 4
    hidden_dim: int = 384
    vocab_size: int = 512
    max_seq_len: int = 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # run.c: ss = mean(x^2) + eps; x * (1/sqrt(ss)) * weight
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_size, seq_len, theta):
    """cos/sin per (position, pair index); pair j rotates elements 2j and 2j+1 of a head."""
    j = torch.arange(0, head_size, 2, dtype=torch.float32)  # == run.c's head_dim (even)
    freq = 1.0 / (theta ** (j / head_size))
    angle = torch.outer(torch.arange(seq_len, dtype=torch.float32), freq)
    return torch.cos(angle), torch.sin(angle)


def apply_rope(x, cos, sin):
    # x: (B, T, H, head_size). View as adjacent pairs (v0, v1), as run.c does.
    B, T, H, D = x.shape
    xp = x.reshape(B, T, H, D // 2, 2)
    v0, v1 = xp[..., 0], xp[..., 1]
    c = cos[:T].view(1, T, 1, D // 2)
    s = sin[:T].view(1, T, 1, D // 2)
    out = torch.stack((v0 * c - v1 * s, v0 * s + v1 * c), dim=-1)
    return out.reshape(B, T, H, D)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.n_kv_heads = cfg.n_kv_heads
        self.head_size = cfg.dim // cfg.n_heads
        kv_dim = self.n_kv_heads * self.head_size
        self.wq = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.wk = nn.Linear(cfg.dim, kv_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, kv_dim, bias=False)
        self.wo = nn.Linear(cfg.dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.head_size)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_size)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_size)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        # GQA: consecutive query heads share one kv head (run.c: h / kv_mul).
        rep = self.n_heads // self.n_kv_heads
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_size)
        att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, -1)
        return self.wo(y)


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return x + self.feed_forward(self.ffn_norm(x))


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        # Tied classifier: saves vocab*dim parameters, and the export writes shared_classifier=1.
        self.output.weight = self.tok_embeddings.weight
        cos, sin = rope_tables(cfg.dim // cfg.n_heads, cfg.max_seq_len, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        mask = torch.triu(torch.ones(cfg.max_seq_len, cfg.max_seq_len, dtype=torch.bool), 1)
        self.register_buffer("mask", mask, persistent=False)
        self.apply(self._init)
        # GPT-2 style: scale down the residual-branch output projections with depth.
        for name, p in self.named_parameters():
            if name.endswith("wo.weight") or name.endswith("w2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, tokens, targets=None):
        x = self.tok_embeddings(tokens)
        for layer in self.layers:
            x = layer(x, self.rope_cos, self.rope_sin, self.mask)
        logits = self.output(self.norm(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                               ignore_index=-1)
        return logits, loss

    def n_params(self):
        return sum(p.numel() for p in self.parameters())  # the tied matrix counts once

    @torch.no_grad()
    def generate(self, tokens, max_new, temperature=0.8, generator=None, stop_ids=(1, 2)):
        """Plain sampling without a kv cache (fine at this size); stops on BOS/EOS like run.c."""
        out = list(tokens)
        for _ in range(max_new):
            ctx = torch.tensor([out[-self.cfg.max_seq_len:]])
            logits, _ = self(ctx)
            probs = torch.softmax(logits[0, -1] / temperature, -1)
            nxt = int(torch.multinomial(probs, 1, generator=generator))
            if nxt in stop_ids:
                break
            out.append(nxt)
        return out
