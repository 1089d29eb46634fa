// Drives the playground page at / of a running `./xllm serve` in headless chromium (Debian's, through
// playwright-core), as a user would: chat, stop, settings, dashboard, API key. Exits 0 when every check
// holds, 1 with the reason otherwise; saves screenshots into --shots.
//
//   node playground-check.mjs --url http://127.0.0.1:8080 --scenario open --shots DIR
//   node playground-check.mjs --url http://127.0.0.1:8080 --scenario key --api-key KEY --shots DIR
//   node playground-check.mjs --url http://127.0.0.1:8080 --scenario nodes --node-url NODE_URL --shots DIR
//
// scenario open: a server without a key, in one process. scenario key: a server with --api-key and --workers 2.
// scenario nodes: `./xllm router` over one node (named a, at NODE_URL) registered in etcd.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    scenario: { type: 'string' },
    'api-key': { type: 'string' },
    'node-url': { type: 'string' },
    shots: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
assert.ok(args.url && args.scenario && args.shots, 'usage: --url URL --scenario open|key [--api-key KEY] --shots DIR');
const origin = new URL(args.url).origin;
mkdirSync(args.shots, { recursive: true });

const DESKTOP = { width: 1180, height: 900 };
const PHONE = { width: 375, height: 812 };

function step(text) {
  console.log(`- ${text}`);
}

/** Polls {@code check} until it returns something truthy; fails naming what it waited for and what it last saw. */
async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The server's own /metrics, summed per metric name (and per finished_reason for request_success_total). */
async function serverMetrics() {
  const text = await (await fetch(origin + '/metrics')).text();
  const sums = {};
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match) {
      continue;
    }
    let name = match[1];
    const reason = /finished_reason="(\w+)"/.exec(match[2] || '');
    if (reason) {
      name += ':' + reason[1];
    }
    sums[name] = (sums[name] || 0) + Number(match[3]);
  }
  return sums;
}

/** A page that records what it loads from elsewhere and what goes wrong in its scripts. */
async function openPage(context, viewport) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('uncaught: ' + e.message));
  page.on('console', (m) => {
    // failed statuses (401 before the key, 404 for /admin/nodes) are answers the page handles, not faults
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      page.problems.push('console: ' + m.text());
    }
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('data:')) {
      page.problems.push('loaded from elsewhere: ' + url);
    }
  });
  return page;
}

function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'the page loads only from the server and throws nothing');
}

const lastReply = (page) => page.locator('#conversation .turn.assistant').last();

async function replyDone(page) {
  const reply = lastReply(page);
  await until('the reply to finish', async () => (await reply.getAttribute('aria-busy')) === 'false', 120_000);
  return {
    text: await reply.locator('.text').textContent(),
    stats: (await reply.locator('.stats').allTextContents()).join(' | '),
  };
}

function usageOf(stats) {
  const match = /(\d+) prompt tokens · (\d+) completion tokens · TTFT [\d.]+ ms/.exec(stats);
  assert.ok(match, 'the reply shows prompt and completion tokens and TTFT: ' + stats);
  return { prompt: Number(match[1]), completion: Number(match[2]) };
}

/** Presses {@code key} until the element with {@code id} has the focus: it is reachable by keyboard. */
async function tabTo(page, id, key = 'Tab') {
  for (let i = 0; i < 40; i++) {
    if (await page.evaluate((want) => document.activeElement && document.activeElement.id === want, id)) {
      return;
    }
    await page.keyboard.press(key);
  }
  throw new Error(`#${id} is not reachable with ${key}`);
}

/** Records each new text the streamed reply shows, to tell a stream from a reply shown at once. */
async function recordReplyPieces(page) {
  await page.evaluate(() => {
    window.replyPieces = [];
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.target.matches && r.target.matches('.turn.assistant .text') && r.addedNodes.length) {
          window.replyPieces.push(r.target.textContent.length);
        }
      }
    }).observe(document.getElementById('conversation'), { childList: true, subtree: true });
  });
}

async function assertFitsWidth(page, width, what) {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${what} fits ${width} px without sideways scrolling (scrollWidth ${scrollWidth})`);
}

async function openScenario(browser) {
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await openPage(context, DESKTOP);
  await page.goto(origin + '/');
  step('the page loads and names the served model');
  await until('the model name', async () => (await page.locator('#model-name').textContent()) === 'pycoder-22m');
  const message = page.getByRole('textbox', { name: 'Message', exact: true });
  const send = page.getByRole('button', { name: 'Send' });
  const stop = page.getByRole('button', { name: 'Stop' });
  assert.ok(await stop.isDisabled(), 'Stop is disabled while nothing streams');
  assert.equal(await page.getByRole('log', { name: 'Conversation' }).getAttribute('aria-live'), 'polite');

  step('temperature 0 and 48 max tokens show in the request as curl');
  await page.getByLabel('Temperature').fill('0');
  await page.getByLabel('Max tokens').fill('48');
  await page.getByText('Request as curl').click();
  const curl = await page.locator('#curl').textContent();
  assert.match(curl, /"temperature": 0,/);
  assert.match(curl, /"max_tokens": 48,/);
  assert.match(curl, new RegExp('^curl -N ' + origin + '/v1/chat/completions'));
  await page.getByRole('button', { name: 'Copy' }).click();
  await until('the copy to be confirmed', async () => (await page.locator('#copy-state').textContent()) === 'Copied.');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl, 'the clipboard holds the curl command');

  step('a message typed and sent with the keyboard alone streams its reply into the conversation');
  await tabTo(page, 'message', 'Shift+Tab');
  await page.keyboard.type('Write a function that adds two numbers');
  await recordReplyPieces(page);
  const posted = page.waitForRequest((r) => r.url() === origin + '/v1/chat/completions');
  await page.keyboard.press('Enter');
  const body = JSON.parse((await posted).postData());
  assert.equal(body.temperature, 0, 'the changed temperature is sent');
  assert.equal(body.max_tokens, 48);
  assert.equal(body.stream, true);
  assert.deepEqual(body.stream_options, { include_usage: true });
  assert.deepEqual(body.messages.at(-1), { role: 'user', content: 'Write a function that adds two numbers' });
  const first = await replyDone(page);
  assert.ok(first.text.length > 0, 'the reply has text');
  const pieces = await page.evaluate(() => window.replyPieces);
  assert.ok(new Set(pieces).size >= 3 && pieces.every((n, i) => i === 0 || n >= pieces[i - 1]),
    'the reply grew piece by piece as the stream arrived: ' + JSON.stringify(pieces));
  const firstUsage = usageOf(first.stats);
  assert.ok(firstUsage.completion >= 1 && firstUsage.completion <= 48, first.stats);
  assert.match(first.stats, /tokens\/s/);
  assert.equal(await page.locator('#conversation .turn.user .text').first().textContent(), 'Write a function that adds two numbers');
  assert.equal(await message.inputValue(), '', 'the message box is emptied');
  await page.screenshot({ path: join(args.shots, 'chat.png') });

  step('a second message carries the conversation so far');
  await message.fill('And subtract them');
  const second = page.waitForRequest((r) => r.url() === origin + '/v1/chat/completions');
  await send.click();
  const secondBody = JSON.parse((await second).postData());
  assert.deepEqual(secondBody.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(secondBody.messages[1].content, first.text);
  await replyDone(page);

  step('Stop ends a long reply: the page stops and the server aborts the request');
  await page.getByRole('button', { name: 'Clear conversation' }).click();
  assert.equal(await page.locator('#conversation .turn').count(), 0);
  await page.getByLabel('Temperature').fill('0.8');
  await page.getByLabel('Max tokens').fill('1500');
  await page.getByLabel('Extra parameters (JSON)').fill('{"ignore_eos": true}');
  const abortsBefore = (await serverMetrics())['vllm:request_success_total:abort'];
  await message.fill('Tell me a long story');
  await send.click();
  await until('streamed text while the reply runs', async () =>
    (await lastReply(page).locator('.text').textContent()).length > 20 && !(await stop.isDisabled()));
  await stop.click();
  const stopped = await replyDone(page);
  assert.match(stopped.stats, /^Stopped/, 'the reply says it was stopped: ' + stopped.stats);
  assert.ok(await stop.isDisabled() && !(await send.isDisabled()), 'Send is back, Stop is off');
  await page.waitForTimeout(1500);
  assert.equal(await lastReply(page).locator('.text').textContent(), stopped.text, 'no text arrives after Stop');
  await until('the server to count the aborted request', async () => {
    const m = await serverMetrics();
    return m['vllm:request_success_total:abort'] === abortsBefore + 1 && m['vllm:num_requests_running'] === 0;
  }, 20_000);

  step('completion mode posts a prompt to /v1/completions and streams the continuation');
  await page.getByRole('radio', { name: 'Completion (base models)' }).check();
  const prompt = page.getByRole('textbox', { name: 'Prompt', exact: true });
  assert.ok(await page.getByLabel('System prompt').isDisabled(), 'no system prompt for a base model');
  await page.getByLabel('Extra parameters (JSON)').fill('');
  await page.getByLabel('Max tokens').fill('16');
  await page.getByLabel('Temperature').fill('0');
  await prompt.fill('def fibonacci(n):');
  const completion = page.waitForRequest((r) => r.url() === origin + '/v1/completions');
  await send.click();
  const completionBody = JSON.parse((await completion).postData());
  assert.equal(completionBody.prompt, 'def fibonacci(n):');
  assert.equal(completionBody.messages, undefined);
  const continued = await replyDone(page);
  assert.ok(continued.text.length > 0);
  const completionUsage = usageOf(continued.stats);
  assert.ok(completionUsage.completion >= 1 && completionUsage.completion <= 16, continued.stats);

  step('a bad setting is refused in the page, naming the field');
  await page.getByLabel('Extra parameters (JSON)').fill('{"top_k": ');
  await prompt.fill('x = 1');
  await send.click();
  assert.match(await page.locator('#settings-error').textContent(), /Extra parameters are not valid JSON/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'extra', 'the faulty field gets the focus');
  await page.getByLabel('Extra parameters (JSON)').fill('');

  step('the Dashboard tab, reached with the arrow keys, shows the server counters and charts');
  await page.getByRole('tab', { name: 'Chat' }).focus();
  await page.keyboard.press('ArrowRight');
  const dashboardTab = page.getByRole('tab', { name: 'Dashboard' });
  assert.equal(await dashboardTab.getAttribute('aria-selected'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-dashboard');
  assert.ok(await page.getByRole('tabpanel', { name: 'Dashboard' }).isVisible());
  const tile = async (id) => Number((await page.locator('#' + id).textContent()).replace(/[^\d.]/g, ''));
  const generated = (await serverMetrics())['vllm:generation_tokens_total'];
  await until(`the Tokens generated tile to read the server's ${generated}`, async () => (await tile('stat-tokens')) === generated);
  assert.ok((await tile('stat-finished')) >= 4, 'four requests finished (one stopped)');
  const quiet = await serverMetrics();
  const hitRate = (100 * quiet['vllm:prefix_cache_hits_total'] / quiet['vllm:prefix_cache_queries_total']).toFixed(1);
  assert.equal(await page.locator('#stat-prefix').textContent(), hitRate, 'the prefix-cache hit rate is the server\'s');
  assert.equal(await page.locator('#stat-running').textContent(), '0');
  assert.equal(await page.locator('#stat-waiting').textContent(), '0');
  assert.match(await page.locator('#scale-throughput').textContent(), /peak [1-9][\d.]* tokens\/s/, 'throughput was charted');
  assert.match(await page.locator('#scale-ttft').textContent(), /peak \d[\d.]* ms/, 'time to first token was charted');
  assert.match(await page.locator('#chart-throughput path').getAttribute('d'), /^M[\d.]+ [\d.]+ l0 0 L/, 'a line, not a dot');
  assert.match(await page.locator('#workers-note').textContent(), /One process/);
  assert.ok(await page.locator('#nodes-section').isHidden(), 'no nodes section on a server without nodes');
  assert.ok(await page.locator('#dash-error').isHidden(), 'no error on the dashboard');

  step('the dashboard follows new requests: three at once, eight tokens each');
  const finishedBefore = await tile('stat-finished');
  const load = [1, 2, 3].map(() => fetch(origin + '/v1/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'import os', max_tokens: 8, ignore_eos: true, temperature: 0 }),
  }).then((r) => r.json()));
  for (const r of await Promise.all(load)) {
    assert.equal(r.usage.completion_tokens, 8, JSON.stringify(r));
  }
  await until('the tiles to count 24 more tokens and 3 more requests', async () =>
    (await tile('stat-tokens')) === generated + 24 && (await tile('stat-finished')) === finishedBefore + 3, 15_000);
  await page.screenshot({ path: join(args.shots, 'dashboard.png'), fullPage: true });

  step('at phone width (375 px) nothing needs sideways scrolling and the controls stay in view');
  await page.setViewportSize(PHONE);
  await assertFitsWidth(page, PHONE.width, 'the dashboard');
  await page.getByRole('tab', { name: 'Chat' }).click();
  await page.getByRole('radio', { name: 'Chat', exact: true }).check();
  await assertFitsWidth(page, PHONE.width, 'the chat');
  for (const control of [page.getByRole('textbox', { name: 'Message', exact: true }), send, stop]) {
    const box = await control.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, 'a control inside the screen: ' + JSON.stringify(box));
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(args.shots, 'chat-phone.png'), fullPage: true });
  assertNoProblems(page);
  await context.close();
}

async function keyScenario(browser) {
  const key = args['api-key'];
  assert.ok(key, 'scenario key needs --api-key');
  const context = await browser.newContext();
  const page = await openPage(context, DESKTOP);
  await page.goto(origin + '/');
  step('the page asks for the API key, in a dialog with the focus in the key field');
  const dialog = page.getByRole('dialog', { name: 'API key' });
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key');

  step('a wrong key is refused and the dialog stays');
  await page.keyboard.type('not-the-key');
  await page.keyboard.press('Enter');
  await until('the refusal', async () => /refused/.test(await page.locator('#key-error').textContent()));
  assert.ok(await dialog.isVisible());

  step('the right key closes the dialog; the tab keeps it in session storage only');
  await page.getByRole('textbox', { name: 'API key' }).fill(key);
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  await until('the model name', async () => (await page.locator('#model-name').textContent()) === 'pycoder-22m');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('xllm.apiKey')), key);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in local storage');
  assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie');

  step('a message is sent with the key and its reply streams in');
  await page.getByLabel('Max tokens').fill('16');
  await page.getByLabel('Temperature').fill('0');
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill('hello');
  const posted = page.waitForRequest((r) => r.url() === origin + '/v1/chat/completions');
  await page.getByRole('button', { name: 'Send' }).click();
  assert.equal((await posted).headers().authorization, 'Bearer ' + key);
  const reply = await replyDone(page);
  assert.ok(reply.text.length > 0, 'the reply has text');
  assert.ok(usageOf(reply.stats).completion <= 16, reply.stats);
  await page.getByText('Request as curl').click();
  const curl = await page.locator('#curl').textContent();
  assert.match(curl, /Authorization: Bearer \$XLLM_API_KEY/);
  assert.ok(!curl.includes(key), 'the curl text does not show the key');

  step('the dashboard lists both workers with role, load and liveness');
  await page.getByRole('tab', { name: 'Dashboard' }).click();
  await until('two alive worker rows', async () => {
    const rows = await page.locator('#workers-rows tr').allTextContents();
    return rows.length === 2 && rows.every((r) => /mixed/.test(r) && /alive/.test(r));
  });
  const headers = await page.locator('#workers-wrap th[scope="col"]').allTextContents();
  assert.deepEqual(headers, ['Worker', 'Role', 'Load', 'Free KV blocks', 'PID', 'Liveness']);
  await until('the tiles to count the finished reply', async () =>
    (await page.locator('#stat-running').textContent()) === '0' && Number(await page.locator('#stat-finished').textContent()) >= 1);
  await page.screenshot({ path: join(args.shots, 'dashboard-workers.png'), fullPage: true });

  step('reloading the tab does not ask again');
  await page.reload();
  await until('the model name', async () => (await page.locator('#model-name').textContent()) === 'pycoder-22m');
  await page.waitForTimeout(500);
  assert.ok(await dialog.isHidden(), 'no dialog after a reload in the same tab');
  assertNoProblems(page);

  step('another browser session is asked afresh');
  const other = await browser.newContext();
  const fresh = await openPage(other, DESKTOP);
  await fresh.goto(origin + '/');
  await fresh.getByRole('dialog', { name: 'API key' }).waitFor({ state: 'visible' });
  await other.close();
  await context.close();
}

async function nodesScenario(browser) {
  const context = await browser.newContext();
  const page = await openPage(context, DESKTOP);
  step('a router of nodes opens straight on its dashboard (/#dashboard)');
  await page.goto(origin + '/#dashboard');
  assert.equal(await page.getByRole('tab', { name: 'Dashboard' }).getAttribute('aria-selected'), 'true');
  assert.ok(await page.getByRole('tabpanel', { name: 'Dashboard' }).isVisible());

  step('the node is listed with its role, load, address and liveness; the router says it is master');
  await until('an alive row for node a', async () => {
    const rows = await page.locator('#nodes-rows tr').allTextContents();
    return rows.length === 1 && rows[0].startsWith('a') && /mixed/.test(rows[0]) && /alive/.test(rows[0])
      && rows[0].includes(args['node-url']);
  });
  await until('the master note', async () => /holds the master duties/.test(await page.locator('#nodes-note').textContent()));
  assert.ok(await page.locator('#workers-section').isHidden(), 'a router of nodes shows nodes, not an empty worker list');

  step('a message sent through the router streams its reply from the node');
  await page.getByRole('tab', { name: 'Chat' }).click();
  await page.getByLabel('Max tokens').fill('12');
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill('Write a function that adds two numbers');
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = await replyDone(page);
  assert.ok(reply.text.length > 0, 'the reply has text');
  usageOf(reply.stats);
  await page.getByRole('tab', { name: 'Dashboard' }).click();
  await until('the tiles to count the finished reply', async () =>
    (await page.locator('#stat-running').textContent()) === '0' && (await page.locator('#stat-finished').textContent()) === '1');
  await page.screenshot({ path: join(args.shots, 'dashboard-nodes.png'), fullPage: true });
  assertNoProblems(page);
  await context.close();
}

/** At most the first and last 600 characters of {@code text}. */
function shortened(text) {
  return text.length <= 1200 ? text : text.slice(0, 600) + `\n[… ${text.length - 1200} characters …]\n` + text.slice(-600);
}

const scenarios = { open: openScenario, key: keyScenario, nodes: nodesScenario };

async function main() {
  assert.ok(scenarios[args.scenario], 'unknown scenario ' + args.scenario);
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true });
  try {
    await scenarios[args.scenario](browser);
    console.log(`playground ${args.scenario}: every check passed`);
  } catch (e) {
    // the reason first: a long reply on the page would push it out of a report that keeps only the start
    console.log('failed: ' + (e.stack || String(e)));
    for (const context of browser.contexts()) {
      for (const page of context.pages()) {
        await page.screenshot({ path: join(args.shots, `failure-${args.scenario}.png`), fullPage: true }).catch(() => {});
        console.log('page text at the failure:\n' + shortened(await page.locator('body').innerText().catch(() => '?')));
      }
    }
    process.exitCode = 1;
    return;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
