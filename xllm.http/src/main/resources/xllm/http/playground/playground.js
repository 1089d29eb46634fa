// The xLLM playground: chat with the served model through the OpenAI API, and a dashboard drawn from
// polling /metrics, /admin/workers and /admin/nodes. Plain browser JavaScript: no framework, no build step,
// nothing loaded from anywhere but this server.

const KEY_STORAGE = 'xllm.apiKey';
const POLL_MS = 2000;
const WINDOW_S = 300;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- the API key and API calls

/** Thrown by api() when the server refused the request for want of a (right) key. */
class KeyNeeded extends Error {}

const auth = {
  key: sessionStorage.getItem(KEY_STORAGE),
  // 'unknown' until the server answers, 'needed' after a 401 until a key is accepted, 'ok' after
  state: 'unknown',
  // the dialog opens by itself once; after Cancel only what the user does opens it again
  dismissed: false,
};

/** fetch() with the key; a 401 asks for the key (by itself once, then when the user acts) and throws KeyNeeded. */
async function api(path, init = {}, interactive = false) {
  const headers = new Headers(init.headers || {});
  if (auth.key) {
    headers.set('Authorization', 'Bearer ' + auth.key);
  }
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    const refused = auth.key !== null;
    auth.state = 'needed';
    $('key-button').hidden = false;
    if (interactive || !auth.dismissed) {
      askForKey(refused ? 'The server refused the key this tab had. Enter the right one.' : null);
    }
    throw new KeyNeeded('this server needs an API key: use "Enter API key" at the top');
  }
  if (auth.state !== 'ok') {
    auth.state = 'ok';
    $('key-button').hidden = true;
  }
  return res;
}

/** The message of an OpenAI-shaped error response, or its status when the body says nothing. */
async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body && body.error && body.error.message) {
      return body.error.message;
    }
  } catch (ignored) {
    // not JSON: fall back to the status line
  }
  return `HTTP ${res.status} ${res.statusText}`;
}

function askForKey(message) {
  const dialog = $('key-dialog');
  showMessage($('key-error'), message);
  if (!dialog.open) {
    dialog.showModal();
  }
  $('api-key').focus();
}

$('key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) {
    showMessage($('key-error'), 'Enter the key the server was started with (--api-key).');
    return;
  }
  let res;
  try {
    res = await fetch('/v1/models', { headers: { Authorization: 'Bearer ' + key } });
  } catch (e) {
    showMessage($('key-error'), 'Cannot reach the server: ' + e.message);
    return;
  }
  if (res.status === 401) {
    showMessage($('key-error'), 'The server refused this key. Check it and try again.');
    $('api-key').select();
    return;
  }
  auth.key = key;
  auth.state = 'ok';
  sessionStorage.setItem(KEY_STORAGE, key);
  $('api-key').value = '';
  $('key-dialog').close();
  $('key-button').hidden = true;
  $('message').focus();
  loadModel();
  updateCurl();
});

$('key-cancel').addEventListener('click', () => $('key-dialog').close());
$('key-dialog').addEventListener('close', () => {
  if (auth.state === 'needed') {
    auth.dismissed = true;
    $('key-button').focus();
  }
});
$('key-button').addEventListener('click', () => askForKey(null));

// ---------------------------------------------------------------- the served model

const served = { model: null };

async function loadModel() {
  try {
    const res = await api('/v1/models');
    if (res.status === 503) {
      $('server-state').textContent = '(model loading…)';
      setTimeout(loadModel, POLL_MS);
      return;
    }
    if (!res.ok) {
      throw new Error(await errorMessage(res));
    }
    const body = await res.json();
    served.model = body.data[0].id;
    $('model-name').textContent = served.model;
    $('server-state').textContent = '(ready)';
    updateCurl();
  } catch (e) {
    if (e instanceof KeyNeeded) {
      $('server-state').textContent = '(API key needed)';
    } else {
      $('server-state').textContent = '(unreachable: ' + e.message + ')';
      setTimeout(loadModel, POLL_MS * 2);
    }
  }
}

// ---------------------------------------------------------------- tabs

const tabs = [$('tab-chat'), $('tab-dashboard')];

function selectTab(tab, focus) {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute('aria-selected', String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !selected;
  }
  if (focus) {
    tab.focus();
  }
  history.replaceState(null, '', tab === tabs[1] ? '#dashboard' : location.pathname);
  if (tab === tabs[1]) {
    renderDashboard();
  }
}

for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab, false));
  tab.addEventListener('keydown', (event) => {
    const i = tabs.indexOf(tab);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    }
  });
}

// ---------------------------------------------------------------- settings and the request they make

/** A setting the page cannot send; names the field, which gets the focus. */
class SettingError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

/** A number input's value: null when empty, an error naming the field when it is not a number. */
function numberSetting(id, name, integer) {
  const input = $(id);
  if (input.validity.badInput) {
    throw new SettingError(input, `${name} must be a number.`);
  }
  if (input.value === '') {
    return null;
  }
  const value = Number(input.value);
  if (integer && !Number.isInteger(value)) {
    throw new SettingError(input, `${name} must be a whole number.`);
  }
  return value;
}

function extraSetting() {
  const input = $('extra');
  if (!input.value.trim()) {
    return {};
  }
  let value;
  try {
    value = JSON.parse(input.value);
  } catch (e) {
    throw new SettingError(input, 'Extra parameters are not valid JSON: ' + e.message);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SettingError(input, 'Extra parameters must be a JSON object, like {"top_k": 40}.');
  }
  return value;
}

/** The endpoint and body that sending {@code text} would post, from the settings and the conversation so far. */
function buildRequest(text) {
  const chatMode = mode() === 'chat';
  const body = {};
  if (served.model) {
    body.model = served.model;
  }
  if (chatMode) {
    const messages = [];
    const system = $('system-prompt').value.trim();
    if (system) {
      messages.push({ role: 'system', content: system });
    }
    messages.push(...conversation.history, { role: 'user', content: text });
    body.messages = messages;
  } else {
    body.prompt = text;
  }
  const numbers = [
    ['temperature', 'temperature', 'Temperature', false],
    ['top-p', 'top_p', 'Top-p', false],
    ['max-tokens', 'max_tokens', 'Max tokens', true],
    ['seed', 'seed', 'Seed', true],
  ];
  for (const [id, field, name, integer] of numbers) {
    const value = numberSetting(id, name, integer);
    if (value !== null) {
      body[field] = value;
    }
  }
  const stops = $('stop-strings').value.split('\n').filter((s) => s !== '');
  if (stops.length) {
    body.stop = stops;
  }
  Object.assign(body, extraSetting());
  body.stream = true;
  body.stream_options = { include_usage: true };
  return { chat: chatMode, path: chatMode ? '/v1/chat/completions' : '/v1/completions', body };
}

function shellQuote(text) {
  return "'" + text.replaceAll("'", "'\\''") + "'";
}

function updateCurl() {
  let request;
  try {
    request = buildRequest($('message').value);
  } catch (e) {
    $('curl').textContent = '# ' + e.message;
    return;
  }
  const lines = ['curl -N ' + location.origin + request.path, "  -H 'Content-Type: application/json'"];
  if (auth.key) {
    lines.push('  -H "Authorization: Bearer $XLLM_API_KEY"');
  }
  lines.push('  -d ' + shellQuote(JSON.stringify(request.body, null, 2)));
  $('curl').textContent = lines.join(' \\\n');
}

$('settings').addEventListener('input', () => {
  showMessage($('settings-error'), null);
  updateCurl();
});
$('settings').addEventListener('submit', (event) => event.preventDefault());
$('message').addEventListener('input', updateCurl);

for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener('change', () => {
    const chatMode = mode() === 'chat';
    $('message-label').textContent = chatMode ? 'Message' : 'Prompt';
    $('system-prompt').disabled = !chatMode;
    updateCurl();
  });
}

$('copy-curl').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('curl').textContent);
    $('copy-state').textContent = 'Copied.';
  } catch (e) {
    // no clipboard outside a secure context: select the text for the user to copy
    const range = document.createRange();
    range.selectNodeContents($('curl'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $('copy-state').textContent = 'Selected: press Ctrl+C to copy.';
  }
});

// ---------------------------------------------------------------- the conversation

const conversation = {
  history: [], // the chat turns sent so far, as the API takes them
  running: null, // the AbortController of the reply streaming now
  cleared: 0, // counts Clear: a reply still ending after one must not refill the history
};

function showMessage(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}

/** Appends a turn to the conversation: who speaks, the text, and a line for the reply's numbers. */
function addTurn(kind, who, text) {
  const item = document.createElement('li');
  item.className = 'turn ' + kind;
  const whoLine = document.createElement('p');
  whoLine.className = 'who';
  whoLine.textContent = who;
  const textLine = document.createElement('p');
  textLine.className = 'text';
  textLine.textContent = text;
  item.append(whoLine, textLine);
  $('conversation').append(item);
  $('empty-note').hidden = true;
  item.scrollIntoView({ block: 'nearest' });
  return { item, text: textLine };
}

/** Each server-sent event's data, as the stream delivers it. */
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value.replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(0, end).split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      buffer = buffer.slice(end + 2);
      if (data) {
        yield data;
      }
    }
  }
}

function formatMs(ms) {
  return ms < 10 ? ms.toFixed(1) + ' ms' : Math.round(ms) + ' ms';
}

/** The reply's numbers: tokens from the usage chunk, time to first token and decode speed as this page saw them. */
function replyStats(outcome) {
  const parts = [];
  if (outcome.stopped) {
    parts.push('Stopped');
  }
  if (outcome.usage) {
    parts.push(outcome.usage.prompt_tokens + ' prompt tokens', outcome.usage.completion_tokens + ' completion tokens');
  }
  const t = outcome.timing;
  if (t.first !== null) {
    parts.push('TTFT ' + formatMs(t.first - t.start));
  }
  if (outcome.usage && outcome.usage.completion_tokens > 1 && t.last > t.first) {
    const perSecond = ((outcome.usage.completion_tokens - 1) * 1000) / (t.last - t.first);
    parts.push(perSecond.toFixed(1) + ' tokens/s');
  }
  if (outcome.finish) {
    parts.push('finish: ' + outcome.finish);
  }
  return parts.join(' · ');
}

function setRunning(running) {
  $('send').disabled = running;
  $('stop').disabled = !running;
}

async function send() {
  if (conversation.running) {
    return;
  }
  const text = $('message').value;
  showMessage($('chat-error'), null);
  if (!text.trim()) {
    showMessage($('chat-error'), mode() === 'chat' ? 'Write a message first.' : 'Write a prompt first.');
    $('message').focus();
    return;
  }
  let request;
  try {
    request = buildRequest(text);
  } catch (e) {
    if (!(e instanceof SettingError)) {
      throw e;
    }
    showMessage($('settings-error'), e.message);
    e.field.focus();
    return;
  }
  addTurn('user', request.chat ? 'You' : 'Prompt', text);
  const reply = addTurn('assistant', request.chat ? 'Assistant' : 'Completion', '');
  reply.item.setAttribute('aria-busy', 'true');
  $('message').value = '';
  const controller = new AbortController();
  const clearedBefore = conversation.cleared;
  conversation.running = controller;
  setRunning(true);
  const outcome = { usage: null, finish: null, stopped: false, error: null, timing: { start: performance.now(), first: null, last: null } };
  let replyText = '';
  try {
    const res = await api(request.path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request.body),
      signal: controller.signal,
    }, true);
    if (!res.ok) {
      throw new Error(await errorMessage(res));
    }
    for await (const data of sseEvents(res.body)) {
      if (data === '[DONE]') {
        break;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) {
        throw new Error(chunk.error.message);
      }
      if (chunk.usage) {
        outcome.usage = chunk.usage;
      }
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) {
        continue;
      }
      const piece = request.chat ? choice.delta && choice.delta.content : choice.text;
      if (piece) {
        const now = performance.now();
        if (outcome.timing.first === null) {
          outcome.timing.first = now;
        }
        outcome.timing.last = now;
        replyText += piece;
        const following = innerHeight + scrollY >= document.documentElement.scrollHeight - 48;
        reply.text.textContent = replyText;
        if (following) {
          scrollTo(0, document.documentElement.scrollHeight); // keep the growing reply in sight
        }
      }
      if (choice.finish_reason) {
        outcome.finish = choice.finish_reason;
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') {
      outcome.stopped = true;
    } else {
      outcome.error = e.message;
    }
  }
  reply.item.setAttribute('aria-busy', 'false');
  const stats = document.createElement('p');
  stats.className = 'stats';
  stats.textContent = replyStats(outcome);
  if (outcome.error) {
    const error = document.createElement('p');
    error.className = 'stats error';
    error.setAttribute('role', 'alert');
    error.textContent = 'Error: ' + outcome.error;
    reply.item.append(error);
  }
  if (stats.textContent) {
    reply.item.append(stats);
  }
  if (request.chat && !outcome.error && conversation.cleared === clearedBefore) {
    conversation.history.push({ role: 'user', content: text }, { role: 'assistant', content: replyText });
  }
  if (outcome.error && !$('message').value) {
    $('message').value = text; // to send again once the cause is fixed
  }
  conversation.running = null;
  setRunning(false);
  if (document.activeElement === document.body || document.activeElement === $('stop')) {
    $('message').focus();
  }
  updateCurl();
}

function stop() {
  if (conversation.running) {
    conversation.running.abort();
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});
$('message').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', stop);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && conversation.running && !$('key-dialog').open) {
    stop();
  }
});
$('clear').addEventListener('click', () => {
  stop();
  conversation.cleared++;
  conversation.history = [];
  $('conversation').replaceChildren();
  $('empty-note').hidden = false;
  showMessage($('chat-error'), null);
  updateCurl();
  $('message').focus();
});

// ---------------------------------------------------------------- the dashboard

const dashboard = {
  previous: null, // the last sample of /metrics
  points: [], // per poll: time, throughput, mean TTFT and ITL over the interval, KV usage
  latest: null,
  nodesServed: true, // false once /admin/nodes answered 404: not a router of nodes
};

/** Prometheus text format: metric name -> [{labels, value}]. */
function parseMetrics(text) {
  const metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) {
      continue;
    }
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) {
      continue;
    }
    const labels = {};
    for (const label of (match[2] || '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2];
    }
    if (!metrics.has(match[1])) {
      metrics.set(match[1], []);
    }
    metrics.get(match[1]).push({ labels, value: Number(match[3]) });
  }
  return metrics;
}

/** The sum over every series of one metric; null when the server does not print it. */
function total(metrics, name) {
  const series = metrics.get(name);
  return series ? series.reduce((sum, s) => sum + s.value, 0) : null;
}

function sample(metrics) {
  return {
    t: Date.now() / 1000,
    running: total(metrics, 'vllm:num_requests_running'),
    waiting: total(metrics, 'vllm:num_requests_waiting'),
    kv: total(metrics, 'vllm:kv_cache_usage_perc'),
    generated: total(metrics, 'vllm:generation_tokens_total'),
    finished: total(metrics, 'vllm:request_success_total'),
    prefixQueries: total(metrics, 'vllm:prefix_cache_queries_total'),
    prefixHits: total(metrics, 'vllm:prefix_cache_hits_total'),
    ttftSum: total(metrics, 'vllm:time_to_first_token_seconds_sum'),
    ttftCount: total(metrics, 'vllm:time_to_first_token_seconds_count'),
    itlSum: total(metrics, 'vllm:inter_token_latency_seconds_sum'),
    itlCount: total(metrics, 'vllm:inter_token_latency_seconds_count'),
  };
}

/** Mean of a histogram over the interval between two samples, in ms; null when nothing was observed. */
function meanMs(now, before, sumKey, countKey) {
  const count = now[countKey] - before[countKey];
  return count > 0 ? ((now[sumKey] - before[sumKey]) / count) * 1000 : null;
}

function addSample(now) {
  const before = dashboard.previous;
  dashboard.previous = now;
  dashboard.latest = now;
  // counters that went back mean the server restarted: start the rates afresh
  if (!before || now.generated < before.generated || now.t <= before.t) {
    dashboard.points.push({ t: now.t, throughput: null, ttft: null, itl: null, kv: now.kv * 100 });
  } else {
    dashboard.points.push({
      t: now.t,
      throughput: (now.generated - before.generated) / (now.t - before.t),
      ttft: meanMs(now, before, 'ttftSum', 'ttftCount'),
      itl: meanMs(now, before, 'itlSum', 'itlCount'),
      kv: now.kv * 100,
    });
  }
  while (dashboard.points.length && dashboard.points[0].t < now.t - WINDOW_S) {
    dashboard.points.shift();
  }
}

function formatNumber(value, digits) {
  return value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
}

/** The smallest of 1, 2, 5 times a power of ten that is at least {@code value}: a scale that reads well. */
function niceCeiling(value) {
  if (!(value > 0)) {
    return 1;
  }
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= value);
}

/** The time the charts span: what has been sampled, at least 30 s, at most the window. */
function chartSpan() {
  const points = dashboard.points;
  return Math.min(WINDOW_S, Math.max(30, points[points.length - 1].t - points[0].t));
}

function formatSpan(seconds) {
  return seconds < 120 ? Math.round(seconds) + ' s' : Math.round(seconds / 60) + ' minutes';
}

function drawChart(key, caption, unit, digits, fixedMax) {
  const svg = $('chart-' + key);
  const points = dashboard.points;
  const values = points.map((p) => p[key]).filter((v) => v !== null);
  const peak = values.length ? Math.max(...values) : null;
  const top = fixedMax || niceCeiling(peak);
  const span = chartSpan();
  const start = dashboard.latest.t - span;
  let d = '';
  let pen = 'M';
  for (const p of points) {
    if (p[key] === null) {
      pen = 'M';
      continue;
    }
    const x = 2 + ((p.t - start) / span) * 296; // inset: a dot at either end stays whole
    const y = 97 - (Math.min(p[key], top) / top) * 94;
    // a zero-length segment at each start draws a lone sample as a dot
    d += pen === 'M' ? `M${x.toFixed(1)} ${y.toFixed(1)} l0 0 ` : `L${x.toFixed(1)} ${y.toFixed(1)} `;
    pen = 'L';
  }
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', d.trim());
  path.setAttribute('stroke-linecap', 'round');
  svg.replaceChildren(path);
  const latest = values.length ? values[values.length - 1] : null;
  const summary = `now ${formatNumber(latest, digits)} ${unit}, peak ${formatNumber(peak, digits)} ${unit}, `
    + `scale 0 to ${formatNumber(top, 0)}, last ${formatSpan(span)}`;
  svg.setAttribute('aria-label', caption + ': ' + summary);
  $('scale-' + key).textContent = summary;
}

function renderDashboard() {
  const s = dashboard.latest;
  if (!s) {
    return;
  }
  const last = dashboard.points[dashboard.points.length - 1];
  $('stat-running').textContent = formatNumber(s.running, 0);
  $('stat-waiting').textContent = formatNumber(s.waiting, 0);
  $('stat-kv').textContent = formatNumber(s.kv * 100, 1);
  $('stat-prefix').textContent = s.prefixQueries > 0 ? formatNumber((s.prefixHits / s.prefixQueries) * 100, 1) : '–';
  $('stat-throughput').textContent = formatNumber(last.throughput, 1);
  $('stat-finished').textContent = formatNumber(s.finished, 0);
  $('stat-tokens').textContent = formatNumber(s.generated, 0);
  drawChart('throughput', 'Generation throughput', 'tokens/s', 1);
  drawChart('ttft', 'Time to first token', 'ms', 0);
  drawChart('itl', 'Inter-token latency', 'ms', 1);
  drawChart('kv', 'KV cache usage', '%', 1, 100);
  $('dash-state').textContent = 'Updated ' + new Date(s.t * 1000).toLocaleTimeString()
    + `; polled every ${POLL_MS / 1000} s, charts over up to the last ${WINDOW_S / 60} minutes.`;
}

function livenessCell(alive) {
  const cell = document.createElement('td');
  const word = document.createElement('span');
  word.className = alive ? 'alive' : 'down';
  word.textContent = alive ? 'alive' : 'down';
  cell.append(word);
  return cell;
}

function row(values, alive) {
  const tr = document.createElement('tr');
  values.forEach((value, i) => {
    const cell = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) {
      cell.scope = 'row';
    }
    cell.textContent = String(value);
    tr.append(cell);
  });
  tr.append(livenessCell(alive));
  return tr;
}

function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function renderWorkers(workers) {
  $('workers-wrap').hidden = workers.length === 0;
  $('workers-note').textContent = workers.length === 0
    ? 'One process: the engine runs inside the server (start it with --workers N for worker processes).'
    : `${count(workers.length, 'worker process', 'worker processes')}; load is requests running plus waiting.`;
  $('workers-rows').replaceChildren(...workers.map((w) =>
    row([w.id, w.role, w.load, w.free_kv_blocks, w.pid], w.alive)));
}

function renderNodes(body) {
  $('nodes-section').hidden = false;
  $('nodes-note').textContent = (body.master ? 'This router holds the master duties. ' : 'This router is a standby. ')
    + count(body.nodes.length, 'node', 'nodes') + '.';
  $('nodes-rows').replaceChildren(...body.nodes.map((n) => row([n.name, n.role, n.load, n.url], n.alive)));
}

async function pollMetrics() {
  try {
    const res = await fetch('/metrics');
    if (!res.ok) {
      throw new Error(await errorMessage(res));
    }
    addSample(sample(parseMetrics(await res.text())));
    showMessage($('dash-error'), null);
    if (!$('panel-dashboard').hidden) {
      renderDashboard();
    }
  } catch (e) {
    showMessage($('dash-error'), 'Cannot read /metrics: ' + e.message);
  }
}

/** A guarded admin route's JSON, or null when it is not served here or the key is still missing. */
async function adminJson(path) {
  if (auth.state === 'needed') {
    return null;
  }
  try {
    const res = await api(path);
    if (res.status === 404) {
      return null;
    }
    if (!res.ok) {
      throw new Error(await errorMessage(res));
    }
    return await res.json();
  } catch (e) {
    if (!(e instanceof KeyNeeded)) {
      showMessage($('dash-error'), `Cannot read ${path}: ${e.message}`);
    }
    return undefined;
  }
}

async function pollAdmin() {
  if (dashboard.nodesServed) {
    const nodes = await adminJson('/admin/nodes');
    if (nodes === null && auth.state !== 'needed') {
      dashboard.nodesServed = false; // 404: this server is not a router of nodes
    } else if (nodes) {
      renderNodes(nodes);
    }
  }
  const workers = await adminJson('/admin/workers');
  if (workers) {
    renderWorkers(workers.workers);
    // a router of nodes runs no engine of its own: its rows are the nodes
    $('workers-section').hidden = workers.workers.length === 0 && !$('nodes-section').hidden;
  } else if (auth.state === 'needed') {
    $('workers-note').textContent = 'Worker and node rows need the API key.';
  }
}

async function poll() {
  await Promise.all([pollMetrics(), pollAdmin()]);
  setTimeout(poll, POLL_MS);
}

// ---------------------------------------------------------------- start

if (location.hash === '#dashboard') {
  selectTab(tabs[1], false);
}
updateCurl();
loadModel().then(poll);
