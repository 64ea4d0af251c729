// The React test page: one component that calls useLock(lock) while mounted, in StrictMode
// (which mounts, unmounts and mounts again on purpose). ?server= is the node's WebSocket URL, ?name= the session's name,
// ?lock= the lock. window.app lets the test mount, unmount and rename it, read what it rendered, and reach the client.
import { StrictMode, createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { DistLockClient } from '@distlock/client';
import { DistLockContext, useLock } from '../../../main/js/react/useLock.js';

const params = new URLSearchParams(location.search);
const client = new DistLockClient(params.get('server')); // the node's ws://.../distlock/lock
const connected = client.connect(params.get('name')); // request() waits for the session being opened
// What the client told the page, for the test's failure messages.
const events = [];
for (const type of ['connected', 'granted', 'cancelled', 'retry', 'lost', 'suspended', 'resumed', 'expired', 'close', 'error']) {
  client.on(type, (detail) => events.push(`${new Date().toISOString().slice(11, 23)} ${type} ${JSON.stringify(detail, (key, value) => (value instanceof Error ? `${value.name} ${value.code}: ${value.message}` : value))}`));
}

const renders = []; // [lock, status, token] of every render
function Doc({ name }) {
  const { status, token, holder, error } = useLock(name);
  renders.push([name, status, token]);
  const text = { queued: `Waiting for the lock${holder ? ` (held by ${holder})` : ''}`, held: `Editing (token ${token})`, lost: 'Lock lost', error: `Failed: ${error?.message}` };
  return h('p', { 'data-testid': 'doc', 'data-status': status, 'data-token': token ?? '', 'data-error': error?.code ?? error?.name ?? '' },
    `${name}: ${text[status]}`);
}

const root = createRoot(document.getElementById('app'));
let lock = params.get('lock');
function render(mounted) {
  root.render(h(StrictMode, null, h(DistLockContext.Provider, { value: client },
    mounted ? h(Doc, { name: lock }) : h('p', { 'data-testid': 'unmounted' }, 'not mounted'))));
}
render(false);

window.app = {
  client, connected, events, renders,
  mount: () => render(true),
  unmount: () => render(false),
  rename: (name) => { lock = name; render(true); },
};
