// The official `openai` npm client (pinned in package.json) against a running fpgaserve.
// run.sh starts the server and sets FPGASERVE_URL (http://127.0.0.1:PORT/v1), FPGASERVE_API_KEY and
// FPGASERVE_MODEL; FPGASERVE_QUEUE_URL points at a second server with one slot and a queue of one (429).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from 'openai';

const baseURL = process.env.FPGASERVE_URL;
const apiKey = process.env.FPGASERVE_API_KEY;
const model = process.env.FPGASERVE_MODEL ?? 'tiny';
// maxRetries 0: a 429 must reach the test, not be retried away.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

test('completions, not streamed, n = 2 with stop', async () => {
  const r = await client.completions.create({ model, prompt: 'the story', max_tokens: 8, n: 2, seed: 3, stop: ['\n\n'] });
  assert.equal(r.object, 'text_completion');
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.choices.length, 2);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  for (const c of r.choices) {
    assert.ok(['stop', 'length'].includes(c.finish_reason));
    assert.ok(!c.text.includes('\n\n'));
  }
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('completions, streamed, equal to the same request not streamed', async () => {
  const body = { model, prompt: 'once upon', max_tokens: 10, seed: 42, temperature: 0.8 };
  const whole = await client.completions.create(body);
  const stream = await client.completions.create({ ...body, stream: true });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.text;
      finish = c.finish_reason ?? finish;
    }
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
});

test('chat, not streamed', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }],
    max_tokens: 6,
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
});

test('chat, streamed, n = 2 with the usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 5,
    n: 2,
    stream: true,
    stream_options: { include_usage: true },
  });
  const texts = ['', ''];
  const roles = new Set();
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) roles.add(`${c.index}:${c.delta.role}`);
      texts[c.index] += c.delta.content ?? '';
    }
  }
  assert.deepEqual([...roles].sort(), ['0:assistant', '1:assistant']);
  assert.ok(usage && usage.completion_tokens > 0 && usage.completion_tokens <= 10);
});

test('400 is a BadRequestError naming the param', async () => {
  await assert.rejects(client.completions.create({ model, prompt: 'a', temperature: 5 }), (e) => {
    assert.ok(e instanceof BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.param, 'temperature');
    return true;
  });
});

test('401 is an AuthenticationError', async () => {
  const wrong = new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await assert.rejects(wrong.completions.create({ model, prompt: 'a' }), (e) => {
    assert.ok(e instanceof AuthenticationError);
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
});

test('404 for an unknown model is a NotFoundError', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a' }] }),
    (e) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'model_not_found');
      return true;
    });
});

test('429 when the queue is full is a RateLimitError', { skip: !process.env.FPGASERVE_QUEUE_URL }, async () => {
  const small = new OpenAI({ baseURL: process.env.FPGASERVE_QUEUE_URL, apiKey, maxRetries: 0 });
  await assert.rejects(small.completions.create({ model, prompt: 'a', n: 8, max_tokens: 100, ignore_eos: true }),
    (e) => {
      assert.ok(e instanceof RateLimitError);
      assert.equal(e.status, 429);
      return true;
    });
});

test('models list', async () => {
  const list = await client.models.list();
  const ids = [];
  for await (const m of list) ids.push(m.id);
  assert.deepEqual(ids, [model]);
});
