#!/usr/bin/python3
"""Train the bundled demo model (fpgaserve issue "A bundled demo model that the project trains itself").

One command runs every stage: corpus extraction from the Debian package r-cran-janeaustenr,
SentencePiece BPE tokenizer, training of a ~1.2M-parameter Llama-style model, and export to
llama2.c files (v1 fp32, v2 Q8_0, tokenizer.bin) plus models/heldout.txt.

    /usr/bin/python3 tools/train-demo/train.py --out models --minutes 38   (as tools/train-demo/train.sh does)

Everything is seeded; with the same package versions and thread count the run is repeatable.
Debian's python3-torch lives under /usr/bin/python3 (a pyenv or venv python will not see it).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, Transformer  # noqa: E402
import export  # noqa: E402

HELDOUT_BOOK = "Emma"          # the longest novel; losing its ending costs the least
HELDOUT_CHARS = 30000          # ~3.4% of Emma, whole paragraphs


# ----------------------------------------------------------------------------------------
# corpus

def extract_books(work):
    """Dump each novel's lines from janeaustenr's austen_books() into work/raw/<n>.txt."""
    raw = os.path.join(work, "raw")
    os.makedirs(raw, exist_ok=True)
    script = r'''
library(janeaustenr)
b <- austen_books()
books <- levels(b$book)
writeLines(as.character(books), file.path(Sys.getenv("RAW"), "index.txt"))
for (i in seq_along(books)) {
  con <- file(file.path(Sys.getenv("RAW"), paste0(i, ".txt")), open = "w", encoding = "UTF-8")
  writeLines(b$text[b$book == books[i]], con)
  close(con)
}
'''
    subprocess.run(["Rscript", "-e", script], check=True, env=dict(os.environ, RAW=raw))
    with open(os.path.join(raw, "index.txt"), encoding="utf-8") as f:
        names = [l.strip() for l in f if l.strip()]
    books = {}
    for i, name in enumerate(names, 1):
        with open(os.path.join(raw, f"{i}.txt"), encoding="utf-8") as f:
            books[name] = f.read()
    return books


def paragraphs(text):
    """Reflow the hard-wrapped Gutenberg lines into one line per paragraph.

    Line breaks inside a paragraph carry no meaning, and keeping them would make the model
    spend capacity (and tokens) predicting where a 70-column printer wrapped. Underscores are
    the transcription's italics markers, not text, so they are dropped.
    """
    out = []
    for block in re.split(r"\n\s*\n", text):
        p = re.sub(r"\s+", " ", block.replace("_", "")).strip()
        if p:
            out.append(p)
    return out


def build_corpus(work):
    books = extract_books(work)
    train_docs, held = [], None
    for name, text in books.items():
        paras = paragraphs(text)
        if name == HELDOUT_BOOK:
            # take whole paragraphs from the end until HELDOUT_CHARS are collected
            n, k = 0, len(paras)
            while n < HELDOUT_CHARS:
                k -= 1
                n += len(paras[k]) + 2
            held = "\n\n".join(paras[k:]) + "\n"
            paras = paras[:k]
        train_docs.append("\n\n".join(paras) + "\n")
    return books, train_docs, held


# ----------------------------------------------------------------------------------------
# tokenizer

def train_tokenizer(train_docs, work, vocab_size):
    """SentencePiece BPE with byte fallback, Llama conventions (0 <unk>, 1 <s>, 2 </s>, bytes)."""
    sent_file = os.path.join(work, "sp_input.txt")
    with open(sent_file, "w", encoding="utf-8") as f:
        for doc in train_docs:
            for p in doc.split("\n\n"):
                if p.strip():
                    f.write(p.strip() + "\n")
    prefix = os.path.join(work, "austen_sp")
    spm.SentencePieceTrainer.train(
        input=sent_file, model_prefix=prefix, model_type="bpe", vocab_size=vocab_size,
        byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True,
        # identity: no NFKC and no whitespace squeezing, so "\n" reaches the model as <0x0A>
        # and the C++ encoder (run.c style, no normaliser) produces the same ids.
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, character_coverage=1.0, max_sentence_length=1 << 16,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1, seed_sentencepiece_size=1000000, shuffle_input_sentence=False,
        input_sentence_size=0, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    assert sp.id_to_piece(3) == "<0x00>" and sp.id_to_piece(258) == "<0xFF>"
    return sp, prefix + ".model"


def encode_doc(sp, doc):
    """Token ids of a whole document plus the offsets where paragraphs start.

    The document is encoded as one string, exactly as the server's run.c-style encoder treats
    any text (one dummy-prefix space at the start, "\n" as the byte token <0x0A>), so the
    held-out loss measured here can be reproduced by the C++ side from models/heldout.txt.
    """
    ids = sp.encode(doc)
    nl = sp.piece_to_id("<0x0A>")
    starts = [0] + [i for i in range(2, len(ids)) if ids[i - 1] == nl and ids[i - 2] == nl]
    return ids, starts


# ----------------------------------------------------------------------------------------
# training

def heldout_windows(ids, seq_len):
    """Consecutive windows of the held-out text, each preceded by BOS (id 1).

    Every held-out token is predicted exactly once; the first token of a window sees only BOS.
    This is the definition of the validation loss reported in models/README.md.
    """
    xs, ys = [], []
    step = seq_len - 1
    for i in range(0, len(ids), step):
        chunk = ids[i:i + step]
        x = [1] + chunk[:-1]
        y = list(chunk)
        pad = seq_len - len(x)
        xs.append(x + [0] * pad)
        ys.append(y + [-1] * pad)  # -1 = ignored by the loss
    return torch.tensor(xs), torch.tensor(ys)


@torch.no_grad()
def evaluate(model, xv, yv, bs=16):
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, len(xv), bs):
        logits, _ = model(xv[i:i + bs])
        y = yv[i:i + bs]
        l = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                              ignore_index=-1, reduction="sum")
        tot += float(l)
        n += int((y >= 0).sum())
    model.train()
    return tot / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="models", help="directory for the exported files")
    ap.add_argument("--work", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "work"),
                    help="scratch directory (corpus, sentencepiece model, torch checkpoint)")
    ap.add_argument("--name", default="austen-1m", help="model file stem")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--minutes", type=float, default=0,
                    help="train for this many wall-clock minutes; the lr schedule then follows\n"
                         "elapsed time instead of --steps (robust on a shared, busy machine,\n"
                         "but the step count depends on speed). 0 = step-based, deterministic")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=256)
    args = ap.parse_args()

    # One thread: at this size a second thread barely helps, and the other core builds C++.
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()

    books, train_docs, held = build_corpus(args.work)
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(held)
    print(f"corpus: {len(books)} books, train {sum(map(len, train_docs))} chars, "
          f"held-out {len(held)} chars (end of {HELDOUT_BOOK})", flush=True)

    sp, sp_model = train_tokenizer(train_docs, args.work, args.vocab)
    export.write_tokenizer(sp, os.path.join(args.out, "austen-tokenizer.bin"))

    # Training stream: all six books. Half of the windows start at a paragraph (so that BOS
    # alone leads into a sensible paragraph), half anywhere (so that any prompt text after BOS
    # is familiar). Every window starts with BOS, like a served prompt.
    stream, starts = [], []
    for doc in train_docs:
        ids, st = encode_doc(sp, doc)
        base = len(stream)
        stream += ids + [2]  # EOS closes each book
        starts += [base + s for s in st]
    stream = torch.tensor(stream, dtype=torch.long)
    T = args.seq_len
    starts = np.array([s for s in starts if s + T <= len(stream)])
    n_any = len(stream) - T
    held_ids, _ = encode_doc(sp, held)
    xv, yv = heldout_windows(held_ids, T)
    print(f"tokens: train {len(stream)} ({sum(map(len, train_docs)) / len(stream):.2f} chars/token), "
          f"held-out {len(held_ids)}, paragraph starts {len(starts)}", flush=True)

    cfg = Config(dim=args.dim, n_layers=args.layers, n_heads=args.heads, n_kv_heads=args.kv_heads,
                 hidden_dim=args.hidden, vocab_size=args.vocab, max_seq_len=T)
    model = Transformer(cfg)
    print(f"model: {cfg.to_dict()} params {model.n_params()}", flush=True)

    # AdamW, no weight decay on norms (vectors), cosine decay to 10% after a linear warmup.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    def progress(step):
        """Fraction of the run done: by steps, or by wall-clock time with --minutes."""
        if args.minutes:
            return (time.time() - t_train) / (60 * args.minutes)
        return step / args.steps

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p0 = args.warmup / args.steps if not args.minutes else 0.0
        frac = (progress(step) - p0) / (1 - p0)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))

    t_train = time.time()
    best, history, step = float("inf"), [], 0
    ckpt = os.path.join(args.work, f"{args.name}.pt")
    step = 0
    while True:
        done = progress(step) >= 1.0
        if step % args.eval_every == 0 or done:
            vl = evaluate(model, xv, yv)
            el = (time.time() - t_train) / 60
            history.append({"step": step, "val_loss": vl, "minutes": el})
            print(f"step {step:6d} | val {vl:.4f} (ppl {math.exp(vl):.2f}) | {el:.1f} min", flush=True)
            if vl < best:  # keep the best checkpoint; the late cosine tail rarely regresses
                best = vl
                torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step,
                            "val_loss": vl}, ckpt)
            if done:
                break
        # batch: BOS + T-1 tokens
        half = args.batch // 2
        pos = np.concatenate([starts[rng.integers(0, len(starts), half)],
                              rng.integers(0, n_any, args.batch - half)])
        seqs = torch.stack([stream[s:s + T] for s in pos])
        x = torch.cat([torch.ones(args.batch, 1, dtype=torch.long), seqs[:, :-1]], 1)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        _, loss = model(x, seqs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            print(f"step {step:6d} | train {loss.item():.4f} | lr {lr_at(step):.2e}", flush=True)
        step += 1
    train_minutes = (time.time() - t_train) / 60

    state = torch.load(ckpt)
    model.load_state_dict(state["model"])
    v1 = os.path.join(args.out, f"{args.name}.bin")
    q8 = os.path.join(args.out, f"{args.name}-q8.bin")
    export.write_v1(model, v1)
    export.write_v2(model, q8)

    summary = {
        "config": cfg.to_dict(), "params": model.n_params(), "best_step": state["step"],
        "val_loss": state["val_loss"], "val_ppl": math.exp(state["val_loss"]),
        "train_minutes": train_minutes, "total_minutes": (time.time() - t_start) / 60,
        "threads": args.threads, "cpu_count": os.cpu_count(), "steps_run": step,
        "train_tokens": int(len(stream)), "heldout_tokens": len(held_ids),
        "tokens_seen": step * args.batch * T, "history": history, "argv": sys.argv,
        "sentencepiece_model": sp_model,
    }
    with open(os.path.join(args.work, f"{args.name}-summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1), flush=True)


if __name__ == "__main__":
    main()
