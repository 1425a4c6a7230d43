// llama.cpp's view of a GGUF model, for comparing fpgaserve with it (see run.sh and README.md,
// "llama.cpp as the reference").
//
//   node logits.mjs --model M.gguf --tokens 1,2,3 [--steps 4] [--threads 2] [--kv-type F32|F16]
//
// Feeds the token ids as they are (no tokenizer, no BOS added) to one sequence of a llama.cpp context
// (node-llama-cpp's CPU build; it never downloads or builds anything), then continues greedily for
// --steps tokens. Prints one JSON object:
//   {"logprobs": [[vocab floats] per position], "greedy": [steps token ids]}
// logprobs[p] is log softmax of the logits after the token at position p: the given tokens, then each
// greedy token but the last (tokens + steps - 1 rows; as many as the tokens when --steps is 0). node-llama-cpp 3.21.1 gives no raw
// logits, only the probabilities its sampler computes from them; at temperature 0 its chain is llama.cpp's
// greedy sampler alone, which leaves the logits as they are, so these are the model's full-vocabulary
// probabilities. A probability that underflows float32 is 0 and its log -Infinity, written as null.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parseArgs(argv) {
  const args = { steps: 0, threads: 2, kvType: "F16" };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--model") args.model = value;
    else if (flag === "--tokens") args.tokens = value.split(",").map(Number);
    else if (flag === "--steps") args.steps = Number(value);
    else if (flag === "--threads") args.threads = Number(value);
    else if (flag === "--kv-type") args.kvType = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.model || !args.tokens?.length || args.tokens.some((t) => !Number.isInteger(t)))
    throw new Error("usage: node logits.mjs --model M.gguf --tokens 1,2,3 [--steps N] [--threads T] [--kv-type F32|F16]");
  return args;
}

// The CPU build shipped in @node-llama-cpp/linux-x64; never a download or a source build.
export async function cpuLlama() {
  return getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
                    progressLogs: false, logLevel: LlamaLogLevel.error });
}

// The map holds every token of the vocabulary (llama.cpp's candidates before any sampler cuts them).
function logprobRow(probabilities) {
  const row = new Array(probabilities.size).fill(null);
  for (const [token, p] of probabilities) row[token] = p > 0 ? Math.log(p) : null;
  return row;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const llama = await cpuLlama();
  const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
  const total = args.tokens.length + args.steps;
  const context = await model.createContext({
    contextSize: Math.max(total, 32), batchSize: Math.max(total, 32), sequences: 1, threads: args.threads,
    flashAttention: false, experimentalKvCacheKeyType: args.kvType, experimentalKvCacheValueType: args.kvType,
  });
  const sequence = context.getSequence();
  const next = { generateNext: { token: true, probabilities: true } };

  const logprobs = [];
  const greedy = [];
  let input = args.tokens;
  for (;;) {
    const out = await sequence.controlledEvaluate(input.map((t) => [t, next]));
    for (let i = 0; i < input.length; i++) logprobs.push(logprobRow(out[i].next.probabilities));
    if (greedy.length === args.steps) break;
    greedy.push(out[input.length - 1].next.token);
    if (greedy.length === args.steps) break;
    input = [greedy.at(-1)];
  }
  process.stdout.write(JSON.stringify({ logprobs, greedy }) + "\n");
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    process.stderr.write(`logits.mjs: ${error.stack ?? error}\n`);
    process.exit(1);
  });
}
