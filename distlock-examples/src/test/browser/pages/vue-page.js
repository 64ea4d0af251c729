// The Vue test page: one component that calls useLock(lock) while mounted. ?name= is the
// session's name, ?lock= the lock. window.app lets the test mount, unmount and rename it, read
// what it rendered, and reach the client.
import { createApp, defineComponent, h, ref } from 'vue';
import { DistLockClient } from '@distlock/client';
import { DistLockKey, useLock } from '../../../main/js/vue/useLock.js';

const params = new URLSearchParams(location.search);
const client = new DistLockClient(params.get('server')); // the node's ws://.../distlock/lock
const connected = client.connect(params.get('name')); // request() waits for the session being opened
// What the client told the page, for the test's failure messages.
const events = [];
for (const type of ['connected', 'granted', 'cancelled', 'retry', 'lost', 'suspended', 'resumed', 'expired', 'close', 'error']) {
  client.on(type, (detail) => events.push(`${new Date().toISOString().slice(11, 23)} ${type} ${JSON.stringify(detail, (key, value) => (value instanceof Error ? `${value.name} ${value.code}: ${value.message}` : value))}`));
}

const renders = []; // [lock, status, token] of every render
const Doc = defineComponent({
  props: { name: { type: String, required: true } },
  setup(props) {
    const { status, token, holder, error } = useLock(() => props.name);
    return () => {
      renders.push([props.name, status.value, token.value]);
      const text = { queued: `Waiting for the lock${holder.value ? ` (held by ${holder.value})` : ''}`, held: `Editing (token ${token.value})`, lost: 'Lock lost', error: `Failed: ${error.value?.message}` };
      return h('p', { 'data-testid': 'doc', 'data-status': status.value, 'data-token': token.value ?? '', 'data-error': error.value?.code ?? error.value?.name ?? '' },
        `${props.name}: ${text[status.value]}`);
    };
  },
});

const mounted = ref(false);
const lock = ref(params.get('lock'));
const app = createApp({
  setup: () => () => (mounted.value ? h(Doc, { name: lock.value }) : h('p', { 'data-testid': 'unmounted' }, 'not mounted')),
});
app.provide(DistLockKey, client);
app.mount('#app');

window.app = {
  client, connected, events, renders,
  mount: () => { mounted.value = true; },
  unmount: () => { mounted.value = false; },
  rename: (name) => { lock.value = name; mounted.value = true; },
};
