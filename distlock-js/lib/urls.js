/**
 * Where the next WebSocket goes: one URL, several (the nodes of a multi-node deployment), or
 * a function the client calls before every socket (so that a URL carrying an auth token can
 * be refreshed between reconnects).
 *
 * With several URLs the client stays on the one that last opened, and moves to the next one
 * (round robin) when a socket fails to open: a dead node is skipped at the next attempt, and
 * a blip does not move a healthy session. A session that survives a dropped connection can
 * be resumed on any node, so moving is always safe.
 *
 * @param {string | URL | ReadonlyArray<string | URL> | ((attempt: {reconnect: boolean}) => string | URL | PromiseLike<string | URL>)} spec
 * @returns {{next(reconnect: boolean): string | Promise<string>, failed(): void}}
 */
export function urlSource(spec) {
  if (typeof spec === 'function') {
    return {
      next: (reconnect) => {
        const url = spec({ reconnect });
        return typeof url?.then === 'function' ? Promise.resolve(url).then(checkedUrl) : checkedUrl(url);
      },
      failed: () => {},
    };
  }
  const urls = (Array.isArray(spec) ? spec : [spec]).map(checkedUrl);
  if (urls.length === 0) throw new TypeError('url: the list of URLs is empty');
  let index = 0;
  return {
    next: () => urls[index],
    failed: () => { index = (index + 1) % urls.length; },
  };
}

function checkedUrl(url) {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError(`url must be a string or a URL, was ${typeof url}`);
  }
  return String(url);
}
