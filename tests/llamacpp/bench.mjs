// llama.cpp's decode speed on a GGUF file, for `fpgaserve bench llamacpp` (a benchmark, not a test).
//
//   node bench.mjs --model M.gguf --streams 1,32 [--steps 64] [--threads 2]
//
// For each stream count S: one llama.cpp context (node-llama-cpp's CPU build, F16 KV cache, no flash
// attention) with S sequences; each sequence is fed one token at position 0, then decodes --steps tokens
// greedily. The S sequences ask for their next token in the same event-loop turn, so node-llama-cpp puts
// their S tokens in one batch: one llama_decode per step, as the simulated card runs one step for S
// streams. An untimed pass first (as `bench kernel` does), then the timed one. Prints one JSON object:
//   {"threads": T, "results": [{"streams": S, "steps": N, "seconds": s, "tokens_per_second": x}, ...]}
import { cpuLlama } from "./logits.mjs";

function parseArgs(argv) {
  const args = { steps: 64, threads: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--model") args.model = value;
    else if (flag === "--streams") args.streams = value.split(",").map(Number);
    else if (flag === "--steps") args.steps = Number(value);
    else if (flag === "--threads") args.threads = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.model || !args.streams?.length) throw new Error("usage: node bench.mjs --model M.gguf --streams 1,32 [--steps N] [--threads T]");
  return args;
}

// One sequence: its first token, then `steps` greedy tokens, each fed back as the next step's input.
async function decode(sequence, firstToken, steps) {
  const next = { generateNext: { token: true } };
  let token = firstToken;
  for (let s = 0; s < steps; s++) {
    const out = await sequence.controlledEvaluate([[token, next]]);
    token = out[0].next.token;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const llama = await cpuLlama();
  const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
  const results = [];
  for (const streams of args.streams) {
    const context = await model.createContext({
      contextSize: args.steps + 8, sequences: streams, batchSize: Math.max(streams, 32),
      threads: args.threads, flashAttention: false,
    });
    const sequences = Array.from({ length: streams }, () => context.getSequence());
    const run = () => Promise.all(sequences.map((seq, i) => decode(seq, (i * 131 + 3) % 1000 + 3, args.steps)));
    await run();
    await Promise.all(sequences.map((seq) => seq.clearHistory()));
    const start = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    results.push({ streams, steps: args.steps, seconds, tokens_per_second: (streams * args.steps) / seconds });
    await context.dispose();
  }
  process.stdout.write(JSON.stringify({ threads: args.threads, results }) + "\n");
  await model.dispose();
  await llama.dispose();
}

main().catch((error) => {
  process.stderr.write(`bench.mjs: ${error.stack ?? error}\n`);
  process.exit(1);
});
