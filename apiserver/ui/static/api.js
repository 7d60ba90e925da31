// Talking to the Kubernetes API: the bearer token (kept in sessionStorage, never in a URL),
// requests, and list-then-watch streams of newline-delimited JSON read with fetch.
const TOKEN_KEY = "podvisor.dashboard.token";
const BACKOFF_START = 500, BACKOFF_CAP = 30000;

export class Unauthorized extends Error {}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  save: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function request(path, { signal, token } = {}) {
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token || session.token()}`, Accept: "application/json" },
    signal, cache: "no-store", credentials: "omit",
  });
  if (response.status === 401) throw new Unauthorized("the server refused the token (401 Unauthorized)");
  return response;
}

export async function getJSON(path, options) {
  const response = await request(path, options);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

// Lines of a streamed body, as they arrive.
export async function* lines(response, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const onAbort = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort);
  let rest = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parts = (rest + value).split("\n");
      rest = parts.pop();
      for (const line of parts) yield line;
    }
    if (rest) yield rest;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

const keyOf = (o) => `${o.metadata.namespace || ""}/${o.metadata.name}`;

// One kind's objects kept current: LIST, then WATCH from the list's resourceVersion; a 410
// (or an ERROR event) re-lists, a closed stream re-watches from the last version seen, and
// errors back off. `onChange(kind)` is told after every batch of changes.
export class Informer {
  constructor({ kind, path, onChange, onUnauthorized, onError }) {
    Object.assign(this, { kind, path, onChange, onUnauthorized, onError });
    this.items = new Map();
    this.controller = new AbortController();
  }

  start() { this.run().catch(() => {}); return this; }
  stop() { this.controller.abort(); }

  async run() {
    const signal = this.controller.signal;
    let delay = BACKOFF_START, rv = null;
    while (!signal.aborted) {
      try {
        if (rv === null) rv = await this.list(signal);
        rv = await this.watch(rv, signal);
        delay = BACKOFF_START;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Unauthorized) { this.onUnauthorized(err); return; }
        if (err.gone) rv = null;
        else { this.onError?.(this.kind, err); await sleep(delay, signal); delay = Math.min(delay * 2, BACKOFF_CAP); }
      }
    }
  }

  async list(signal) {
    const body = await getJSON(this.path, { signal });
    this.items = new Map(body.items.map((o) => [keyOf(o), o]));
    this.onChange(this.kind);
    return body.metadata.resourceVersion;
  }

  async watch(rv, signal) {
    const sep = this.path.includes("?") ? "&" : "?";
    const url = `${this.path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`;
    const response = await request(url, { signal });
    if (response.status === 410) throw Object.assign(new Error("gone"), { gone: true });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    for await (const line of lines(response, signal)) {
      if (!line.trim()) continue;
      const event = JSON.parse(line);
      if (event.type === "ERROR") throw Object.assign(new Error(event.object?.message || "watch error"), { gone: true });
      rv = event.object.metadata.resourceVersion || rv;
      if (event.type === "BOOKMARK") continue;
      if (event.type === "DELETED") this.items.delete(keyOf(event.object));
      else this.items.set(keyOf(event.object), event.object);
      this.onChange(this.kind);
    }
    return rv;
  }
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
