// A TCP proxy on 127.0.0.1 in front of a server node, so that a test can cut a browser tab's
// network without touching the browser: the tab loads its page through the proxy, so its
// WebSocket goes through it too. Chromium's offline emulation does not reliably close an open
// WebSocket; destroying the proxied sockets does, as a lost connection does.
//
//   forward      (the start, and after heal()) new connections are forwarded to the target;
//   cut()        every proxied connection is destroyed at once, on both sides (the browser and
//                the server each see their socket close), and new connections are accepted and
//                destroyed at once (the browser's reconnects fail), until heal();
//   blackhole()  the silent case: proxied connections stay open but nothing is forwarded any
//                more, either way, and nobody is told (half-open connections, as after a
//                network switch); new connections are accepted and left silent. heal() does not
//                revive them: they stay dead (what either end sends is dropped) until an end
//                closes its side, or cut() or close().

import { createServer, connect } from 'node:net';
import { once } from 'node:events';

export class TcpProxy {
  #targetPort;
  #server;
  #mode = 'forward';
  /** {client, upstream} of every connection being forwarded */
  #pairs = new Set();
  /** connections accepted while blackholed, and pairs blackholed: dead, each as {client, upstream, upstreamBytes, upstreamClosed} */
  #silent = new Set();

  /** Connections accepted and forwarded; connections not forwarded (cut: destroyed at once; blackholed: left silent). */
  forwarded = 0;
  refused = 0;

  constructor(targetPort) {
    this.#targetPort = targetPort;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listens on a free port of 127.0.0.1; resolves with it. */
  async listen() {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = this.#server.address().port;
    return this.port;
  }

  get mode() {
    return this.#mode;
  }

  /** The connections being forwarded now. */
  get open() {
    return this.#pairs.size;
  }

  /** Destroys every proxied connection and refuses new ones until heal(); returns how many were destroyed. */
  cut() {
    this.#mode = 'cut';
    const count = this.#pairs.size;
    for (const pair of this.#pairs) destroyPair(pair);
    this.#pairs.clear();
    this.#destroySilent();
    return count;
  }

  /** Stops forwarding, either way, on every connection, without closing any; returns how many. */
  blackhole() {
    this.#mode = 'blackhole';
    const count = this.#pairs.size;
    for (const pair of this.#pairs) {
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      // read and drop: what is sent is lost, as on a dead network path (unpipe paused the streams)
      pair.client.on('data', () => {}).resume();
      pair.upstreamBytes = 0;
      pair.upstream.on('data', (chunk) => { pair.upstreamBytes += chunk.length; }).resume();
      this.#silent.add(pair);
    }
    this.#pairs.clear();
    return count;
  }

  /** Forwards new connections again (connections left dead by blackhole() stay dead). */
  heal() {
    this.#mode = 'forward';
  }

  /**
   * The WebSocket connections blackhole() left dead, as {upstreamBytes, upstreamClosed}: what
   * the server sent into the void since, and whether it closed its side.
   */
  get deadWebSockets() {
    return [...this.#silent].filter((pair) => pair.websocket)
      .map(({ upstreamBytes, upstream }) => ({ upstreamBytes, upstreamClosed: upstream.destroyed || upstream.readableEnded }));
  }

  /** Stops listening and destroys every connection. */
  async close() {
    this.cut();
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }

  #accept(client) {
    client.on('error', () => {});
    if (this.#mode === 'cut') {
      this.refused += 1;
      client.destroy();
      return;
    }
    if (this.#mode === 'blackhole') {
      this.refused += 1;
      client.on('data', () => {});
      const pair = { client, upstream: null };
      this.#silent.add(pair);
      client.once('close', () => this.#silent.delete(pair));
      return;
    }
    this.forwarded += 1;
    const upstream = connect({ host: '127.0.0.1', port: this.#targetPort });
    upstream.on('error', () => {});
    const pair = { client, upstream, websocket: false };
    this.#pairs.add(pair);
    // An upgrade request says which connections carry a WebSocket (the page's other requests go through too).
    client.once('data', (chunk) => { pair.websocket = /^upgrade: *websocket/im.test(chunk.toString('latin1')); });
    // An end that closes closes the other, unless the connection is dead: then nothing gets through.
    const end = () => {
      this.#pairs.delete(pair);
      if (!this.#silent.has(pair)) destroyPair(pair);
    };
    client.once('close', end);
    upstream.once('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #destroySilent() {
    for (const pair of this.#silent) destroyPair(pair);
    this.#silent.clear();
  }
}

function destroyPair({ client, upstream }) {
  client.destroy();
  upstream?.destroy();
}
