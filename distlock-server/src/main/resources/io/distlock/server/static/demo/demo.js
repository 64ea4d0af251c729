// The distlock demo page: plain ES module, no build step. It drives the JavaScript client
// served by the same server at /distlock/distlock.js and shows what happens: each document's
// lock state, and a log of every reply and push (LOCKED, WAIT, QUEUED, GRANTED, RETRY, LOST,
// errors). "Lock" asks once (LOCKED or WAIT, then RETRY); "Edit when free" uses request(),
// which waits in the server's queue (QUEUED, then GRANTED) on a protocol version 2 server.
//
// For the end-to-end tests: elements carry data-testid attributes, rows and log entries
// carry data-state / data-kind / data-lock, and the client is exposed as
// window.distlock = {client, DistLockClient}. `?edit=SECONDS` sets how long an edit lasts.
//
// One file on purpose (under 600 lines): the page has no build step, so a reader opens one
// script and sees the whole page.

const PRESET_DOCS = ['Quarterly report', 'Roadmap', 'Budget'];
const SAMPLE_NAMES = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Leslie', 'Margaret', 'Linus', 'Radia', 'Ken'];
const MAX_LOG_ENTRIES = 300;

const page = document.body.dataset;
const editSeconds = parseEditSeconds(new URLSearchParams(location.search).get('edit'));
const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

let DistLockClient;
try {
  ({ DistLockClient } = await import('/distlock/distlock.js'));
} catch (error) {
  fatal('The JavaScript client could not be loaded from /distlock/distlock.js (is distlock-js bundled in this build?).');
  throw error;
}

/**
 * The client, watched: lock() and unlock() are the client's own, reported to the page once
 * they settle. request() calls them too (passing its options on: `wait`, `mode`), so an
 * "Edit when free" shows its QUEUED (or WAIT) and LOCKED.
 */
class DemoClient extends DistLockClient {
  async lock(name, options) {
    try {
      const result = await super.lock(name, options);
      onLockResult(name, result);
      return result;
    } catch (error) {
      onCallFailed('lock', name, error);
      throw error;
    }
  }

  async unlock(name) {
    try {
      await super.unlock(name);
      onUnlocked(name);
    } catch (error) {
      onCallFailed('unlock', name, error);
      throw error;
    }
  }

  /** request() sends cancel when a queued wait is aborted ("Stop waiting"). */
  async cancel(name) {
    try {
      await super.cancel(name);
      onCancelled(name);
    } catch (error) {
      if (error.code !== 'NOT_QUEUED') onCallFailed('cancel', name, error); // NOT_QUEUED: granted meanwhile, and released again
      throw error;
    }
  }
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${page.wsPath}`;
const client = new DemoClient(wsUrl, { reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 } });

/** name -> {name, row, waiting, holder, note, busy, edit}: what the page knows of each lock */
const docs = new Map();
let connection = 'disconnected';
let socketOpened = false;
let ticker = null;

// ---------------------------------------------------------------- client events

client.on('session', ({ session, name, reconnected }) => {
  setConnection('connected', `Connected as ${name}`);
  if (reconnected) {
    log('reconnected', ['Reconnected to node ', code(page.nodeId), ' as ', strong(name),
      ': a new session (', code(session), '). The old session\u2019s locks are gone.']);
  } else {
    log('connected', ['Connected to node ', code(page.nodeId), ' as ', strong(name), ' (session ', code(session), ')']);
  }
  renderAll();
});

client.on('open', () => {
  socketOpened = true;
});

client.on('close', ({ code: closeCode, reason, willReconnect, delayMs }) => {
  const why = `code ${closeCode}${reason ? `, ${reason}` : ''}`;
  for (const doc of docs.values()) {
    doc.waiting = false; // a WAIT or a queue place belongs to the session, and the session is gone
    doc.queued = null;
    doc.holder = null;
  }
  if (willReconnect) {
    const seconds = (delayMs / 1000).toFixed(1);
    setConnection('reconnecting', `Reconnecting in ${seconds} s\u2026`);
    log('closed', socketOpened
      ? [`Connection lost (${why}). Reconnecting in ${seconds} s.`]
      : [`Reconnect failed (${why}). Next try in ${seconds} s.`]);
  } else {
    setConnection('disconnected', 'Disconnected');
    log('closed', [`Disconnected (${why}).`]);
  }
  socketOpened = false;
  renderAll();
});

client.on('retry', ({ lock }) => {
  const doc = ensureDoc(lock);
  doc.waiting = false;
  doc.holder = null;
  if (doc.edit) {
    log('retry', [code(lock), ' is free: the server said RETRY. Edit when free asks again.'], lock);
  } else {
    doc.note = { text: 'Free now (RETRY). Lock it before someone else does.' };
    log('retry', [code(lock), ' is free: the server said RETRY. Lock it now.'], lock);
  }
  render(doc);
});

client.on('granted', ({ lock, token, mode }) => {
  const doc = ensureDoc(lock);
  doc.waiting = false;
  doc.queued = null;
  doc.holder = null;
  doc.note = null;
  log('granted', [code(lock), ' is yours: your turn in the queue came, GRANTED', mode === 'shared' ? ' (shared)' : '',
    ' with fencing token ', code(String(token)), doc.edit ? ' (Edit when free)' : ''], lock);
  render(doc);
});

client.on('cancelled', ({ lock, reason }) => {
  const doc = ensureDoc(lock);
  doc.waiting = false;
  doc.queued = null;
  doc.holder = null;
  log('cancelled', ['Left the queue for ', code(lock), ` without the lock: CANCELLED (${reason}).`], lock);
  render(doc);
});

client.on('lost', ({ lock, token, reason, cause }) => {
  const doc = ensureDoc(lock);
  const why = reason !== 'LOST'
    ? 'the connection closed, and with it the session'
    : cause === 'taken'
      ? 'the server no longer had it as yours (its lease ran out there, or Redis lost it)'
      : 'the server could no longer guarantee it (its lease was not renewed)';
  doc.note = { text: `Lost: ${reason === 'LOST' ? 'LOST from the server' : 'connection closed'}.`, bad: true };
  log('lost', [code(lock), token === undefined ? '' : [' (token ', code(String(token)), ')'], ` is lost: ${why}.`], lock);
  if (doc.edit?.phase === 'editing') {
    doc.edit.lost = true;
    doc.edit.stop?.();
  }
  render(doc);
});

client.on('error', ({ error }) => {
  log('error', [strong(error.code ?? 'ERROR'), ` ${error.message}`]);
});

// ---------------------------------------------------------------- replies (from DemoClient)

function onLockResult(name, result) {
  const doc = ensureDoc(name);
  if (result.status === 'LOCKED') {
    doc.waiting = false;
    doc.queued = null;
    doc.holder = null;
    doc.note = null;
    log('locked', [code(name), ' is yours: LOCKED with fencing token ', code(String(result.token)), doc.edit ? ' (Edit when free)' : ''], name);
  } else if (result.status === 'QUEUED') {
    doc.waiting = false;
    doc.queued = result.position;
    doc.holder = result.holder ?? null;
    doc.note = null;
    log('queued', [code(name), ' is held by ', strong(result.holder ?? 'another session'),
      `: QUEUED, number ${result.position} in line. The server hands it over when it is your turn.`], name);
  } else {
    doc.waiting = true;
    doc.queued = null;
    doc.holder = result.holder ?? null;
    doc.note = null;
    log('wait', [code(name), ' is held by ', strong(result.holder ?? 'another session'),
      ': WAIT. The server will say RETRY when it is free.'], name);
  }
  render(doc);
}

function onCancelled(name) {
  const doc = ensureDoc(name);
  doc.queued = null;
  doc.holder = null;
  log('cancelled', ['Left the queue for ', code(name), ': cancel, OK.'], name);
  render(doc);
}

function onUnlocked(name) {
  const doc = ensureDoc(name);
  doc.note = { text: 'Released by you.' };
  log('unlocked', ['Released ', code(name), '.'], name);
  render(doc);
}

function onCallFailed(action, name, error) {
  const doc = ensureDoc(name);
  log('error', [`${action} `, code(name), ' failed: ', strong(error.code ?? error.name), ` ${error.message}`], name);
  render(doc);
}

// ---------------------------------------------------------------- user actions

async function connect(name) {
  setConnection('connecting', 'Connecting\u2026');
  try {
    await client.connect(name);
    try { sessionStorage.setItem('distlock-demo-name', name); } catch { /* storage may be off */ }
  } catch (error) {
    log('error', ['Could not connect: ', strong(error.code ?? error.name), ` ${error.message}`]);
    if (client.session === null) {
      setConnection('disconnected', 'Not connected');
    }
  }
  renderAll();
}

async function disconnect() {
  await client.disconnect();
  renderAll();
}

async function lockDoc(doc) {
  doc.busy = true;
  render(doc);
  try {
    await client.lock(doc.name);
  } catch {
    // logged by DemoClient
  } finally {
    doc.busy = false;
    render(doc);
  }
}

async function unlockDoc(doc) {
  doc.busy = true;
  render(doc);
  try {
    await client.unlock(doc.name);
  } catch {
    // logged by DemoClient
  } finally {
    doc.busy = false;
    render(doc);
  }
}

/** "Edit when free": request() waits for the lock, the callback "edits", request() releases. */
async function editWhenFree(doc) {
  const abort = new AbortController();
  doc.edit = { phase: 'waiting', abort, token: null, startedAt: 0, stop: null, lost: false };
  doc.note = null;
  log('edit', ['Edit when free: waiting for ', code(doc.name), '\u2026'], doc.name);
  render(doc);
  try {
    await client.request(doc.name, { signal: abort.signal }, async (lock) => {
      doc.edit.phase = 'editing';
      doc.edit.token = lock.token;
      doc.edit.startedAt = performance.now();
      log('edit', ['Editing ', code(doc.name), ` for ${editSeconds} s with token `, code(String(lock.token)), '.'], doc.name);
      startTicker();
      render(doc);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, editSeconds * 1000);
        doc.edit.stop = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      // Done editing; request() unlocks once this callback's promise settles.
      doc.edit.phase = 'releasing';
      render(doc);
    });
    if (doc.edit.lost) {
      log('edit', ['Stopped editing ', code(doc.name), ': the lock was lost, so nothing was saved.'], doc.name);
    } else {
      log('edit', ['Saved ', code(doc.name), ' and released the lock.'], doc.name);
      doc.note = { text: 'Edited and released.' };
    }
  } catch (error) {
    if (error?.name === 'AbortError') {
      log('edit', ['Stopped waiting for ', code(doc.name), '.'], doc.name);
    } else if (error?.code === 'LOST') {
      // request() rejects with LOST when the lock was lost while the callback ran.
      log('edit', ['Stopped editing ', code(doc.name), ': the lock was lost, so nothing was saved.'], doc.name);
    } else {
      log('error', ['Edit of ', code(doc.name), ' failed: ', strong(error?.code ?? error?.name ?? 'ERROR'), ` ${error?.message ?? error}`], doc.name);
    }
  } finally {
    doc.edit = null;
    doc.queued = null; // granted, or the place was cancelled (abort) or lost with the session
    render(doc);
  }
}

// ---------------------------------------------------------------- rendering

function setConnection(state, text) {
  connection = state;
  const status = $('connection-status');
  status.dataset.status = state;
  status.querySelector('.status-text').textContent = text;
  const connected = state === 'connected';
  const idle = state === 'disconnected';
  $('name-input').disabled = !idle;
  $('connect-button').hidden = !idle;
  $('connect-button').disabled = !idle;
  $('disconnect-button').hidden = idle;
  $('connect-hint').textContent = connected
    ? 'Others see this name as the holder of your locks. Disconnect to change it.'
    : 'Others see this name as the holder of your locks.';
}

function ensureDoc(name) {
  let doc = docs.get(name);
  if (doc !== undefined) return doc;
  doc = { name, row: null, waiting: false, queued: null, holder: null, note: null, busy: false, edit: null };
  docs.set(name, doc);

  const row = el('li', { class: 'doc', 'data-testid': 'doc', 'data-lock': name });
  const main = el('div', { class: 'doc-main' });
  const title = el('div', { class: 'doc-title' });
  title.append(
    el('span', { class: 'doc-name', 'data-testid': 'doc-name' }, name),
    el('span', { class: 'badge', 'data-testid': 'doc-state' }),
  );
  main.append(title, el('div', { class: 'doc-detail', 'data-testid': 'doc-detail' }));
  const actions = el('div', { class: 'doc-actions' });
  const lockButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'lock-button' }, 'Lock');
  const unlockButton = el('button', { type: 'button', class: 'secondary', 'data-testid': 'unlock-button' }, 'Unlock');
  const editButton = el('button', { type: 'button', class: 'secondary', 'data-testid': 'edit-button' }, 'Edit when free');
  lockButton.addEventListener('click', () => lockDoc(doc));
  unlockButton.addEventListener('click', () => unlockDoc(doc));
  editButton.addEventListener('click', () => {
    if (doc.edit?.phase === 'waiting') {
      doc.edit.abort.abort();
    } else if (doc.edit === null) {
      editWhenFree(doc);
    }
  });
  actions.append(lockButton, unlockButton, editButton);
  row.append(main, actions, el('div', { class: 'progress', hidden: '' }));
  doc.row = row;
  $('doc-list').append(row);
  render(doc);
  return doc;
}

function render(doc) {
  const row = doc.row;
  const connected = connection === 'connected';
  const token = client.heldLocks.get(doc.name);
  const held = token !== undefined;
  const edit = doc.edit;

  let state;
  let badge;
  let detail;
  if (edit?.phase === 'editing') {
    const left = Math.max(0, editSeconds - (performance.now() - edit.startedAt) / 1000);
    state = 'editing';
    badge = `Editing \u00b7 ${Math.ceil(left)} s left`;
    detail = ['You hold it with token ', code(String(edit.token)), '; it is released when the edit ends.'];
  } else if (held) {
    state = 'held';
    badge = 'Held by you';
    detail = ['Fencing token ', code(String(token))];
  } else if (doc.queued !== null) {
    state = 'queued';
    badge = doc.holder === null ? 'Held by someone else' : `Held by ${doc.holder}`;
    detail = edit
      ? [`Queued: number ${doc.queued} in line. Edit starts when the server hands the lock over (GRANTED).`]
      : [`Queued: number ${doc.queued} in line. The server hands the lock over when it is your turn (GRANTED).`];
  } else if (doc.waiting) {
    state = 'waiting';
    badge = doc.holder === null ? 'Held by someone else' : `Held by ${doc.holder}`;
    detail = edit
      ? ['Waiting: got WAIT; Edit starts when the server says RETRY and the lock is yours.']
      : ['Waiting: got WAIT; the server will say RETRY when it is free.'];
  } else if (edit?.phase === 'waiting') {
    state = 'waiting';
    badge = 'Asking\u2026';
    detail = ['Edit when free is asking for the lock.'];
  } else if (!connected) {
    state = 'offline';
    badge = 'Not connected';
    detail = [doc.note?.text ?? 'Connect to lock it.'];
  } else {
    state = 'free';
    badge = 'Free';
    detail = [doc.note?.text ?? 'Not held by you. Lock asks the server.'];
  }

  row.dataset.state = state;
  row.dataset.edit = edit?.phase ?? 'none';
  setOrRemove(row, 'data-token', held ? String(token) : null);
  setOrRemove(row, 'data-holder', state === 'waiting' || state === 'queued' ? doc.holder : null);
  setOrRemove(row, 'data-position', state === 'queued' ? String(doc.queued) : null);
  row.querySelector('[data-testid="doc-state"]').textContent = badge;
  const detailEl = row.querySelector('[data-testid="doc-detail"]');
  detailEl.replaceChildren(...nodes(detail));
  detailEl.style.color = doc.note?.bad && state !== 'held' && !edit ? 'var(--bad-fg)' : '';

  const lockButton = row.querySelector('[data-testid="lock-button"]');
  const unlockButton = row.querySelector('[data-testid="unlock-button"]');
  const editButton = row.querySelector('[data-testid="edit-button"]');
  lockButton.disabled = !connected || held || edit !== null || doc.busy;
  lockButton.textContent = doc.waiting && !edit ? 'Lock again' : 'Lock';
  unlockButton.disabled = !connected || !held || edit !== null || doc.busy;
  if (edit?.phase === 'waiting') {
    editButton.textContent = 'Stop waiting';
    editButton.disabled = false;
    editButton.className = 'danger';
  } else if (edit?.phase === 'editing') {
    editButton.textContent = 'Editing\u2026';
    editButton.disabled = true;
    editButton.className = 'secondary';
  } else {
    editButton.textContent = 'Edit when free';
    editButton.disabled = !connected || held || doc.busy;
    editButton.className = 'secondary';
  }

  const progress = row.querySelector('.progress');
  if (edit?.phase === 'editing') {
    const done = Math.min(1, (performance.now() - edit.startedAt) / (editSeconds * 1000));
    progress.hidden = false;
    progress.style.transform = `scaleX(${done})`;
  } else {
    progress.hidden = true;
  }
}

function renderAll() {
  for (const doc of docs.values()) render(doc);
}

/** Redraws editing documents (countdown, progress bar) while any edit runs. */
function startTicker() {
  if (ticker !== null) return;
  ticker = setInterval(() => {
    let editing = false;
    for (const doc of docs.values()) {
      if (doc.edit?.phase === 'editing') {
        editing = true;
        render(doc);
      }
    }
    if (!editing) {
      clearInterval(ticker);
      ticker = null;
    }
  }, 100);
}

function log(kind, parts, lock) {
  const list = $('log');
  const entry = el('li', { class: 'log-entry', 'data-testid': 'log-entry', 'data-kind': kind });
  if (lock !== undefined) entry.dataset.lock = lock;
  const now = new Date();
  const time = el('time', { class: 'log-time', datetime: now.toISOString() }, clock(now));
  const label = el('span', { class: 'log-kind' }, {
    locked: 'LOCKED', unlocked: 'UNLOCKED', wait: 'WAIT', queued: 'QUEUED', granted: 'GRANTED', cancelled: 'CANCELLED',
    retry: 'RETRY', lost: 'LOST', error: 'ERROR',
    connected: 'CONNECT', reconnected: 'RECONNECT', closed: 'CLOSED', edit: 'EDIT',
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

function parseEditSeconds(value) {
  const seconds = Number(value);
  return value !== null && Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 600) : 5;
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

// ---------------------------------------------------------------- wiring

$('edit-seconds').textContent = String(editSeconds);
const nameInput = $('name-input');
nameInput.value = storedName() ?? SAMPLE_NAMES[Math.floor(Math.random() * SAMPLE_NAMES.length)];

$('connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (!validName(name, 128)) {
    log('error', ['Choose a name of 1 to 128 characters, without control characters.']);
    nameInput.focus();
    return;
  }
  nameInput.value = name;
  connect(name);
});
$('disconnect-button').addEventListener('click', () => disconnect());

$('add-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('add-input');
  const name = input.value.trim();
  if (!validName(name, 256)) {
    log('error', ['A lock name has 1 to 256 characters, without control characters.']);
    return;
  }
  ensureDoc(name).row.scrollIntoView({ block: 'nearest' });
  input.value = '';
});

$('clear-log').addEventListener('click', () => {
  $('log').replaceChildren();
  $('log-empty').hidden = false;
});

function storedName() {
  try {
    return sessionStorage.getItem('distlock-demo-name');
  } catch {
    return null;
  }
}

for (const name of PRESET_DOCS) ensureDoc(name);
setConnection('disconnected', 'Not connected');

window.distlock = { client, DistLockClient };
document.documentElement.dataset.ready = 'true';
