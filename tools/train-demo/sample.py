#!/usr/bin/python3
"""Print a few samples from the trained PyTorch model, to eyeball text quality.

    /usr/bin/python3 tools/train-demo/sample.py [--temperature 0.8] [--n 3] [--tokens 200]

Prompts are encoded as the server does (BOS, then sentencepiece ids with the dummy prefix).
"""
import argparse
import os
import sys

import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Config, Transformer  # noqa: E402

PROMPTS = ["It is a truth universally acknowledged", "Mr. Darcy", "\"My dear Emma,\" said"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--name", default="austen-1m")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--prompt", action="append", help="prompt(s); default: three Austen openings")
    args = ap.parse_args()

    torch.set_num_threads(1)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.work, "austen_sp.model"))
    state = torch.load(os.path.join(args.work, f"{args.name}.pt"))
    model = Transformer(Config(**state["config"]))
    model.load_state_dict(state["model"])
    model.eval()
    gen = torch.Generator().manual_seed(args.seed)
    prompts = args.prompt or PROMPTS
    for i in range(args.n):
        prompt = prompts[i % len(prompts)]
        ids = model.generate([1] + sp.encode(prompt), args.tokens, args.temperature, gen)
        print(f"--- sample {i + 1} (prompt {prompt!r}, T={args.temperature}) ---")
        print(sp.decode(ids[1:]))
        print()


if __name__ == "__main__":
    main()
