// The distlock demo page: a "who is editing" board. Plain ES module, no build step. It drives
// the JavaScript client served by the same server at /distlock/distlock.js:
//
// - the board watches every lock named doc-... (client.watch({prefix: 'doc-'}), its first
//   state from client.query()) and shows, live, who edits each document (name and avatar, from
//   the session's `info`) and who waits for it;
// - Edit: client.request(doc) (the document at once, or a place in its queue);
//   Ask for it: request(doc, {ask: true}) (queues, and the holder is told: ASKED);
//   Take over: request(doc, {steal: true}) (only when the server runs with --allow-steal);
// - while you hold a document you edit its text; a save carries your fencing token to the
//   demo's fenced store (PUT /demo/docs/{id}), which refuses a token older than one it has
//   accepted. Pushed out (LOST, stolen), the editor goes read-only, and "Save anyway" shows
//   the store refusing the old token.
//
// For the end-to-end tests: elements carry data-testid attributes, rows carry data-state,
// data-holder and data-queue (names, comma-separated), log entries data-kind and data-lock;
// the client is window.distlock = {client, DistLockClient}.
//
// One file on purpose: the page has no build step, so a reader opens one script and sees it all.

const PREFIX = 'doc-';
const SAMPLE_NAMES = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Leslie', 'Margaret', 'Linus', 'Radia', 'Ken'];
const COLORS = ['#3b5bdb', '#0c8599', '#2b8a3e', '#c2255c', '#e8590c', '#7048e8', '#1971c2', '#a61e4d', '#5f3dc4', '#087f5b'];
const MAX_LOG_ENTRIES = 300;

const page = document.body.dataset;
const allowSteal = page.allowSteal === 'true';
const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

let DistLockClient;
try {
  ({ DistLockClient } = await import('/distlock/distlock.js'));
} catch (error) {
  fatal('The JavaScript client could not be loaded from /distlock/distlock.js (is distlock-js bundled in this build?).');
  throw error;
}

const myColor = COLORS[Math.floor(Math.random() * COLORS.length)];
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${page.wsPath}`;
// The server renders ws://: behind a TLS proxy it cannot tell that the page came over https.
document.querySelector('[data-testid="ws-url"]').textContent = wsUrl;
const client = new DistLockClient(wsUrl, { info: { color: myColor }, reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 } });

/**
 * id -> {id, title, row, state: {holders, queue} | null, mine, asked, text, savedToken}.
 * `mine` is this page's own request for the document while there is one:
 * {how: 'edit'|'ask'|'steal', phase: 'waiting'|'editing'|'releasing'|'lost', abort, position, token,
 *  release, done, lost: {by, cause} | null, result: {kind, text} | null}.
 */
const docs = new Map();
let connection = 'disconnected';
let unwatch = null;
/** Locks a CHANGED push told of since the watch began: their query answer may be older, and is not applied. */
let changedSinceWatch = new Set();

// ---------------------------------------------------------------- the board: watch and query

/**
 * Watches the board, then reads it. Also after a reconnect: the client watches again by
 * itself, but a query sent before the server watches again would miss a change made in
 * between, so the page's own watch comes first (answered once the server watches), then the
 * query; the callback of the watch it replaces goes.
 */
async function startWatching() {
  try {
    changedSinceWatch = new Set();
    const next = await client.watch({ prefix: PREFIX }, (lock, state) => {
      changedSinceWatch.add(lock);
      onState(lock, state);
    });
    const replaced = unwatch;
    unwatch = next;
    replaced?.().catch(() => {}); // nothing is sent: the new callback still watches the prefix
    await refreshBoard(false);
  } catch (error) { // e.g. UNAUTHORIZED from a server started with --no-watching: show the board once, unwatched
    log('error', ['Could not watch the board: ', strong(error.code ?? error.name), ` ${error.message}`]);
    await refreshBoard();
  }
}

/**
 * The board's state now (query). A watch by prefix tells only changes, so this gives the
 * starting point, and again after a reconnect (what changed while the page was away is told by
 * nobody). A lock a CHANGED push told of meanwhile keeps that state: the query's answer may be
 * older.
 */
async function refreshBoard(reset = true) {
  if (reset) changedSinceWatch = new Set();
  try {
    const snapshot = await client.query([...docs.keys()]);
    for (const [lock, state] of Object.entries(snapshot)) {
      if (!changedSinceWatch.has(lock)) onState(lock, state);
    }
  } catch (error) {
    log('error', ['Could not read the board: ', strong(error.code ?? error.name), ` ${error.message}`]);
  }
}

function onState(lock, state) {
  const doc = docs.get(lock);
  if (doc === undefined) return; // a doc-... lock that is not one of the demo's documents
  const holders = state?.holders ?? [];
  const queue = state?.queue ?? [];
  // A long list comes cut to its first entries, with its full length beside it.
  doc.state = { holders, queue, holdersTotal: state?.holdersTotal ?? holders.length, queueTotal: state?.queueTotal ?? queue.length };
  render(doc);
}

// ---------------------------------------------------------------- client events

client.on('session', ({ session, name, reconnected }) => {
  setConnection('connected', `Connected as ${name}`);
  log(reconnected ? 'reconnected' : 'connected', [reconnected ? 'Reconnected to node ' : 'Connected to node ', code(page.nodeId),
    ' as ', strong(name), ' (session ', code(session), ')', reconnected ? '. A new session: the old one\u2019s documents are gone.' : '']);
  if (reconnected && unwatch !== null) startWatching();
  renderAll();
});

client.on('suspended', ({ until }) => {
  const seconds = Math.max(0, Math.round((until - Date.now()) / 1000));
  setConnection('suspended', 'Connection lost, reconnecting\u2026');
  log('closed', [`Connection lost. The server keeps this session\u2019s documents for ${seconds} s while the page reconnects.`]);
});

client.on('resumed', ({ name }) => {
  setConnection('connected', `Connected as ${name}`);
  log('reconnected', ['Resumed the session: its documents and places in line are kept.']);
  if (unwatch !== null) startWatching();
  renderAll();
});

client.on('close', ({ code: closeCode, reason, willReconnect, delayMs }) => {
  const why = `code ${closeCode}${reason ? `, ${reason}` : ''}`;
  if (client.state === 'suspended') return; // said by 'suspended'
  if (willReconnect) {
    const seconds = (delayMs / 1000).toFixed(1);
    setConnection('reconnecting', `Reconnecting in ${seconds} s\u2026`);
    log('closed', [`Connection lost (${why}). Reconnecting in ${seconds} s.`]);
  } else {
    setConnection('disconnected', 'Disconnected');
    log('closed', [`Disconnected (${why}).`]);
  }
  for (const doc of docs.values()) doc.state = null; // unknown until watched again
  renderAll();
});

client.on('granted', ({ lock, token }) => {
  log('granted', [code(lock), ' is yours: your turn in the line came, GRANTED with fencing token ', code(String(token))], lock);
});

client.on('asked', ({ lock, by }) => {
  const doc = docs.get(lock);
  if (doc === undefined) return;
  const who = by ?? 'Someone';
  log('asked', [strong(who), ' asks for ', code(lock), '.'], lock);
  if (doc.mine?.phase === 'editing') {
    doc.asked = { by: who };
    render(doc);
  }
});

client.on('lost', ({ lock, token, cause, by }) => {
  const doc = docs.get(lock);
  const why = cause === 'stolen' ? `${by ?? 'someone'} took it over`
    : cause === 'taken' ? 'the server no longer had it as yours'
      : cause === 'lease' ? 'its lease could not be renewed' : 'the connection closed, and with it the session';
  log('lost', [code(lock), token === undefined ? '' : [' (token ', code(String(token)), ')'], ` is lost: ${why}.`], lock);
  if (doc?.mine?.phase === 'editing' || doc?.mine?.phase === 'lost') { // request() may have rejected first
    doc.mine.phase = 'lost';
    doc.mine.lost = { by, cause };
    doc.asked = null;
    render(doc);
  }
});

client.on('error', ({ error }) => {
  log('error', [strong(error.code ?? 'ERROR'), ` ${error.message}`]);
});

// ---------------------------------------------------------------- user actions

async function connect(name) {
  setConnection('connecting', 'Connecting\u2026');
  try {
    await client.connect(name);
    try { sessionStorage.setItem('distlock-demo-name', name); } catch { /* storage may be off */ }
    await startWatching();
  } catch (error) {
    log('error', ['Could not connect: ', strong(error.code ?? error.name), ` ${error.message}`]);
    if (client.session === null) setConnection('disconnected', 'Not connected');
  }
  renderAll();
}

async function disconnect() {
  const stop = unwatch;
  unwatch = null;
  await stop?.().catch(() => {}); // the socket closes next anyway
  await client.disconnect();
  renderAll();
}

/**
 * Edit, Ask for it, Take over: request() the document (`how`: 'edit', 'ask', 'steal'); while
 * the callback runs this page holds it. The callback first announces the token to the store
 * (which from then on refuses older ones) and loads the text, then waits for Done, Release,
 * or the lock's loss.
 */
async function request(doc, how) {
  if (doc.mine?.phase === 'waiting') { // Take over while in line: leave the line first
    doc.mine.abort.abort();
    await doc.mine.done;
  }
  const abort = new AbortController();
  const mine = { how, phase: 'waiting', abort, position: null, token: null, release: null, done: null, lost: null, result: null };
  doc.mine = mine;
  doc.asked = null;
  render(doc);
  // steal takes the lock now: it never waits, so it has no signal and no place in line (Web Locks' rule)
  const options = how === 'steal' ? { steal: true } : {
    signal: abort.signal,
    onQueued: ({ position, holder }) => {
      mine.position = position ?? null;
      log('queued', [code(doc.id), ' is edited by ', strong(holder ?? 'someone'), `: QUEUED, number ${position ?? '?'} in line`,
        how === 'ask' ? ', and asked them for it.' : '.'], doc.id);
      render(doc);
    },
    ...(how === 'ask' ? { ask: true } : {}),
  };
  mine.done = client.request(doc.id, options, async (lock) => {
    mine.phase = 'editing';
    mine.token = lock.token;
    log('locked', [code(doc.id), how === 'steal' ? ' taken over' : ' is yours', ': editing with fencing token ', code(String(lock.token)), '.'], doc.id);
    render(doc);
    const stopped = new Promise((resolve) => {
      mine.release = resolve;
      lock.signal.addEventListener('abort', resolve, { once: true });
    });
    await save(doc, null); // announce the token, load the text
    await stopped;
    if (lock.signal.aborted) {
      lostEdit(doc, mine);
    } else {
      // The edit ends here, as the callback returns: only then is the lock released, so no other
      // page can be editing while this one shows "mine".
      mine.phase = 'releasing';
      render(doc);
    }
  }).then(() => {
    if (mine.phase === 'releasing') log('unlocked', ['Released ', code(doc.id), '.'], doc.id);
  }, (error) => {
    if (mine.phase === 'editing' || mine.phase === 'lost') {
      lostEdit(doc, mine); // request() rejects when the lock is lost (stolen) while its callback runs
    } else if (error?.name === 'AbortError') {
      log('cancelled', ['Left the line for ', code(doc.id), '.'], doc.id);
    } else {
      log('error', [`${how === 'steal' ? 'Take over' : 'Edit'} of `, code(doc.id), ' failed: ',
        strong(error?.code ?? error?.name ?? 'ERROR'), ` ${error?.message ?? error}`], doc.id);
    }
  }).finally(() => {
    if (doc.mine === mine && mine.phase !== 'lost') doc.mine = null; // a lost edit stays, read-only, until dismissed
    if (doc.mine === null) doc.asked = null;
    render(doc);
  });
  return mine.done;
}

/** The edit's lock is gone: the editor stays, read-only; the lost event says who took it. */
function lostEdit(doc, mine) {
  mine.phase = 'lost';
  mine.lost ??= { by: undefined, cause: undefined };
  doc.asked = null;
}

/** PUT /demo/docs/{id} with the token: `text` null only announces the token (and loads the text). */
async function save(doc, text) {
  const mine = doc.mine;
  const body = { token: mine.token, by: client.session?.name ?? '' };
  if (text !== null) body.text = text;
  let response;
  let answer;
  try {
    response = await fetch(`/demo/docs/${encodeURIComponent(doc.id)}`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    answer = await response.json();
  } catch (error) {
    mine.result = { kind: 'error', text: `Save failed: ${error.message}` };
    render(doc);
    return;
  }
  if (response.ok) {
    doc.text = answer.text;
    doc.savedToken = answer.token;
    if (text === null) {
      doc.row.querySelector('[data-testid="editor-text"]').value = answer.text;
      mine.result = { kind: 'opened', text: `Opened with token ${answer.token}: the store now refuses older tokens.` };
    } else {
      mine.result = { kind: 'saved', text: `Saved with token ${answer.token}.` };
      log('saved', ['Saved ', code(doc.id), ' with token ', code(String(answer.token)), '.'], doc.id);
    }
  } else if (response.status === 409) {
    mine.result = { kind: 'refused', text: answer.message };
    log('refused', [code(doc.id), `: ${answer.message}.`], doc.id);
  } else {
    mine.result = { kind: 'error', text: `Save failed: ${answer.message ?? response.status}` };
    log('error', ['Save of ', code(doc.id), ` failed: ${answer.message ?? response.status}`], doc.id);
  }
  render(doc);
}

// ---------------------------------------------------------------- rendering

function setConnection(state, text) {
  connection = state;
  const status = $('connection-status');
  status.dataset.status = state;
  status.querySelector('.status-text').textContent = text;
  const idle = state === 'disconnected';
  $('name-input').disabled = !idle;
  $('connect-button').hidden = !idle;
  $('connect-button').disabled = !idle;
  $('disconnect-button').hidden = idle;
}

function addDoc({ id, title, text, token }) {
  const doc = { id, title, row: null, state: null, mine: null, asked: null, text, savedToken: token };
  docs.set(id, doc);
  const row = el('li', { class: 'doc', 'data-testid': 'doc', 'data-lock': id });
  row.innerHTML = `
    <div class="doc-main">
      <div class="doc-title"><span class="doc-name" data-testid="doc-name"></span> <code class="doc-id"></code></div>
      <div class="doc-people">
        <span class="people" data-testid="doc-holders"></span>
        <span class="people queue" data-testid="doc-queue"></span>
      </div>
    </div>
    <div class="doc-actions">
      <button type="button" class="primary" data-testid="edit-button">Edit</button>
      <button type="button" class="secondary" data-testid="ask-button">Ask for it</button>
      <button type="button" class="danger" data-testid="steal-button">Take over</button>
      <button type="button" class="secondary" data-testid="cancel-button">Stop waiting</button>
    </div>
    <div class="notice asked" data-testid="asked" role="alert">
      <span data-testid="asked-text"></span>
      <button type="button" class="primary" data-testid="asked-release">Release</button>
      <button type="button" class="secondary" data-testid="asked-keep">Keep</button>
    </div>
    <div class="notice lost" data-testid="lost-notice" role="alert"><span data-testid="lost-text"></span></div>
    <div class="editor" data-testid="editor">
      <label class="visually-hidden">Text</label>
      <textarea data-testid="editor-text" rows="4" maxlength="4000" spellcheck="false"></textarea>
      <div class="editor-bar">
        <span class="save-result" data-testid="save-result"></span>
        <button type="button" class="primary" data-testid="save-button">Save</button>
        <button type="button" class="secondary" data-testid="release-button">Done</button>
      </div>
    </div>`;
  row.querySelector('.doc-name').textContent = title;
  row.querySelector('.doc-id').textContent = id;
  const on = (testId, handler) => row.querySelector(`[data-testid="${testId}"]`).addEventListener('click', handler);
  on('edit-button', () => request(doc, 'edit'));
  on('ask-button', () => request(doc, 'ask'));
  on('steal-button', () => request(doc, 'steal'));
  on('cancel-button', () => doc.mine?.abort.abort());
  on('save-button', () => save(doc, row.querySelector('[data-testid="editor-text"]').value));
  on('release-button', () => {
    if (doc.mine?.phase === 'lost') {
      doc.mine = null; // dismiss the read-only editor
      render(doc);
    } else {
      doc.mine?.release?.();
    }
  });
  on('asked-release', () => doc.mine?.release?.());
  on('asked-keep', () => {
    log('kept', ['Kept ', code(doc.id), ': the one who asked waits in line.'], doc.id);
    doc.asked = null;
    render(doc);
  });
  doc.row = row;
  $('doc-list').append(row);
  render(doc);
}

function render(doc) {
  const { row, mine, state } = doc;
  const connected = connection === 'connected';
  const holders = state?.holders ?? [];
  const queue = state?.queue ?? [];
  const editing = mine?.phase === 'editing';
  const waiting = mine?.phase === 'waiting';
  const lost = mine?.phase === 'lost';
  const heldByOther = holders.length > 0 && !editing;

  let rowState;
  if (editing) rowState = 'mine';
  else if (lost) rowState = 'lost';
  else if (waiting) rowState = 'queued';
  else if (holders.length > 0) rowState = 'other';
  else rowState = 'free';
  row.dataset.state = rowState;
  setOrRemove(row, 'data-holder', holders.length > 0 ? holders.map(displayName).join(',') : null);
  setOrRemove(row, 'data-queue', queue.length > 0 ? queue.map(displayName).join(',') : null);
  setOrRemove(row, 'data-token', editing || lost ? String(mine.token) : null);

  const holdersEl = row.querySelector('[data-testid="doc-holders"]');
  if (state === null) {
    holdersEl.replaceChildren(connected ? 'Looking\u2026' : 'Connect to see who edits it.');
  } else if (holders.length === 0) {
    holdersEl.replaceChildren(editing ? 'You are editing' : 'Free');
  } else {
    const names = holders.map((h) => (editing && holders.length === 1 ? 'You' : displayName(h)));
    const many = state.holdersTotal > 1;
    const verb = many || names[0] === 'You' ? 'are' : 'is';
    holdersEl.replaceChildren(...holders.map(avatar), ` ${names.join(', ')}${more(state.holdersTotal, holders.length)} ${verb} editing`);
  }
  const queueEl = row.querySelector('[data-testid="doc-queue"]');
  queueEl.replaceChildren(...(queue.length === 0 ? []
    : ['Waiting: ', ...queue.map(avatar), ` ${queue.map(displayName).join(', ')}${more(state.queueTotal, queue.length)}`]));
  if (waiting) {
    const where = mine.position === null ? 'Asking\u2026' : `You are number ${mine.position} in line${mine.how === 'ask' ? ' and asked for it' : ''}.`;
    queueEl.replaceChildren(...queueEl.childNodes, queue.length > 0 ? ' \u00b7 ' : '', where);
  }

  const show = (testId, visible) => { row.querySelector(`[data-testid="${testId}"]`).hidden = !visible; };
  show('edit-button', !editing && !waiting && !lost);
  row.querySelector('[data-testid="edit-button"]').textContent = heldByOther ? 'Edit when free' : 'Edit';
  show('ask-button', !editing && !waiting && !lost && heldByOther);
  show('steal-button', allowSteal && !editing && !lost && heldByOther);
  show('cancel-button', waiting && mine.how !== 'steal');
  for (const button of row.querySelectorAll('.doc-actions button')) button.disabled = !connected;

  show('asked', editing && doc.asked !== null);
  if (doc.asked !== null) row.querySelector('[data-testid="asked-text"]').textContent = `${doc.asked.by} asks for ${doc.id}`;
  show('lost-notice', lost);
  if (lost) {
    row.querySelector('[data-testid="lost-text"]').textContent = mine.lost?.cause === 'stolen' || mine.lost?.by
      ? `${mine.lost.by ?? 'Someone'} took over ${doc.id}. Your editor is read-only.`
      : `You lost ${doc.id}. Your editor is read-only.`;
  }

  show('editor', editing || lost);
  const text = row.querySelector('[data-testid="editor-text"]');
  text.readOnly = !editing;
  const saveButton = row.querySelector('[data-testid="save-button"]');
  saveButton.textContent = lost ? `Save anyway (token ${mine.token})` : 'Save';
  saveButton.className = lost ? 'danger' : 'primary';
  row.querySelector('[data-testid="release-button"]').textContent = lost ? 'Close' : 'Done';
  const result = row.querySelector('[data-testid="save-result"]');
  result.textContent = mine?.result?.text ?? '';
  setOrRemove(result, 'data-result', mine?.result?.kind ?? null);
}

function renderAll() {
  for (const doc of docs.values()) render(doc);
}

/** ' and N more' for a list the server cut to its first `shown` entries, else nothing. */
function more(total, shown) {
  return total > shown ? ` and ${total - shown} more` : '';
}

/** The name of a holder or queue entry; hidden holders (--hide-holder) have none. */
function displayName(entry) {
  return entry.name ?? 'Someone';
}

/** Initials in a circle of the entry's colour (its `info.color`, else one derived from its name). */
function avatar(entry) {
  const name = displayName(entry);
  const color = /^#[0-9a-f]{6}$/i.test(entry.info?.color ?? '') ? entry.info.color : colorOf(name);
  const circle = el('span', { class: 'avatar', title: name, 'aria-hidden': 'true' }, initials(name));
  circle.style.background = color;
  return circle;
}

function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]].map((w) => [...w][0]) : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

function colorOf(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[hash % COLORS.length];
}

function log(kind, parts, lock) {
  const list = $('log');
  const entry = el('li', { class: 'log-entry', 'data-testid': 'log-entry', 'data-kind': kind });
  if (lock !== undefined) entry.dataset.lock = lock;
  const now = new Date();
  const time = el('time', { class: 'log-time', datetime: now.toISOString() }, clock(now));
  const label = el('span', { class: 'log-kind' }, {
    locked: 'LOCKED', unlocked: 'UNLOCKED', queued: 'QUEUED', granted: 'GRANTED', cancelled: 'CANCELLED',
    asked: 'ASKED', kept: 'KEPT', lost: 'LOST', saved: 'SAVED', refused: 'REFUSED', error: 'ERROR',
    connected: 'CONNECT', reconnected: 'RECONNECT', closed: 'CLOSED',
  }[kind] ?? kind.toUpperCase());
  const text = el('span', { class: 'log-text', 'data-testid': 'log-text' });
  text.append(...nodes(parts));
  entry.append(time, label, text);
  list.prepend(entry); // newest first
  while (list.children.length > MAX_LOG_ENTRIES) list.lastElementChild.remove();
  $('log-empty').hidden = true;
}

// ---------------------------------------------------------------- small helpers

function code(text) {
  return el('code', {}, text);
}

function strong(text) {
  return el('b', {}, text);
}

/** Flattens strings, elements and nested arrays into DOM nodes (text is never parsed as HTML). */
function nodes(parts) {
  return [parts].flat(Infinity).filter((part) => part !== '' && part != null)
    .map((part) => (typeof part === 'string' ? document.createTextNode(part) : part));
}

function el(tag, attributes = {}, text) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function setOrRemove(element, attribute, value) {
  if (value === null || value === undefined) element.removeAttribute(attribute);
  else element.setAttribute(attribute, value);
}

function clock(date) {
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** A name the server will accept: 1 to `max` characters, no control characters. */
function validName(name, max) {
  return name.length > 0 && [...name].length <= max && !/[\u0000-\u001f\u007f-\u009f]/.test(name);
}

function fatal(message) {
  const banner = document.querySelector('[data-testid="fatal"]');
  banner.textContent = message;
  banner.hidden = false;
}

function storedName() {
  try {
    return sessionStorage.getItem('distlock-demo-name');
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- wiring

const nameInput = $('name-input');
const myAvatar = () => $('my-avatar').replaceChildren(...avatar({ name: nameInput.value.trim() || '?', info: { color: myColor } }).childNodes);
$('my-avatar').style.background = myColor;
nameInput.value = storedName() ?? SAMPLE_NAMES[Math.floor(Math.random() * SAMPLE_NAMES.length)];
nameInput.addEventListener('input', myAvatar);
myAvatar();
for (const hint of [$('steal-hint'), $('steal-hint-text')]) hint.hidden = !allowSteal;

$('connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (!validName(name, 64)) {
    log('error', ['Choose a name of 1 to 64 characters, without control characters.']);
    nameInput.focus();
    return;
  }
  nameInput.value = name;
  connect(name);
});
$('disconnect-button').addEventListener('click', () => disconnect());
$('clear-log').addEventListener('click', () => {
  $('log').replaceChildren();
  $('log-empty').hidden = false;
});

setConnection('disconnected', 'Not connected');
try {
  const response = await fetch('/demo/docs');
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.message ?? `HTTP ${response.status}`); // 503: Redis did not answer
  for (const doc of answer.docs) addDoc(doc);
} catch (error) {
  fatal(`The documents could not be loaded from /demo/docs: ${error.message}`);
}

window.distlock = { client, DistLockClient };
document.documentElement.dataset.ready = 'true';
