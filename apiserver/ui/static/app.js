// The dashboard: login, one informer (list + watch) per kind, and views redrawn at most once
// per animation frame, touching only what changed. Nothing here polls: the only timed fetch is
// the metrics API (when the server serves it), at its 15 s resolution.
import { Informer, Unauthorized, getJSON, lines, request, session } from "./api.js";
import { KeyedTable, el, sparkline } from "./dom.js";
import * as m from "./model.js";
import { renderTree } from "./tree.js";

const MAX_ROWS = 200, MAX_EVENTS = 100, MAX_LOG_LINES = 1000, TAIL_LINES = 200;
const METRICS_INTERVAL = 15000, METRICS_MIN_INTERVAL = 1000, METRICS_POINTS = 20;
const $ = (id) => document.getElementById(id);

const state = { namespace: "", informers: {}, selected: null, dirty: new Set(), frame: 0, log: null,
  metrics: null, usage: new Map(), tick: 0 };
const tables = {};

function path(kind) {
  const ns = state.namespace ? `/namespaces/${encodeURIComponent(state.namespace)}` : "";
  return {
    pods: `/api/v1${ns}/pods`, events: `/api/v1${ns}/events`, nodes: "/api/v1/nodes",
    deployments: `/apis/apps/v1${ns}/deployments`, replicasets: `/apis/apps/v1${ns}/replicasets`,
  }[kind];
}

function showLogin(message = "") {
  stopAll();
  session.clear();
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").value = "";
  $("token").focus();
}

async function login(token) {
  try {
    await getJSON("/api", { token });
  } catch (err) {
    $("login-error").textContent = err instanceof Unauthorized ? "That token was refused (401 Unauthorized)." : `Cannot log in: ${err.message}`;
    return;
  }
  session.save(token);
  start();
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  loadNamespaces();
  startInformers();
  startMetrics();
}

function stopAll() {
  for (const informer of Object.values(state.informers)) informer.stop();
  state.informers = {};
  closeLog();
  clearTimeout(state.metrics?.timer);
  clearInterval(state.tick);
  state.metrics = null;
  state.tick = 0;
}

const unauthorized = () => showLogin("Your session ended: the server refused the token (401). Log in again.");

function startInformers() {
  for (const informer of Object.values(state.informers)) informer.stop();
  const onChange = (kind) => markDirty(kind);
  const onError = (kind, err) => { $("status").textContent = `${kind}: ${err.message}, retrying`; };
  for (const kind of ["nodes", "deployments", "replicasets", "pods", "events"]) {
    state.informers[kind] = new Informer({ kind, path: path(kind), onChange, onUnauthorized: unauthorized, onError }).start();
  }
}

// Namespaces are listed when the selector is opened rather than watched: a browser keeps six
// connections per server over HTTP/1.1, and the five watches and the log stream use them all.
async function loadNamespaces() {
  try {
    const list = await getJSON("/api/v1/namespaces");
    const select = $("namespace");
    const names = list.items.map((n) => n.metadata.name).sort();
    const options = [el("option", { value: "" }, "all namespaces"), ...names.map((n) => el("option", { value: n }, n))];
    select.replaceChildren(...options);
    select.value = names.includes(state.namespace) ? state.namespace : "";
  } catch (err) {
    if (err instanceof Unauthorized) unauthorized();
  }
}

function markDirty(kind) {
  state.dirty.add(kind);
  if (!state.frame) state.frame = requestAnimationFrame(render);
}

function items(kind) { return [...(state.informers[kind]?.items.values() || [])]; }

function render() {
  state.frame = 0;
  const dirty = state.dirty;
  state.dirty = new Set();
  if (dirty.has("nodes") || dirty.has("usage")) renderNodes();
  if (dirty.has("deployments")) renderDeployments();
  if (dirty.has("pods") || dirty.has("usage")) renderPods();
  if (dirty.has("events")) renderEvents();
  if (["deployments", "replicasets", "pods", "tick"].some((k) => dirty.has(k))) renderSelected();
  const counts = ["nodes", "deployments", "pods"].map((k) => `${items(k).length} ${k}`).join(", ");
  $("status").textContent = counts;
}

const byName = (a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

function renderNodes() {
  tables.nodes.update(items("nodes").sort(byName).map((n) => {
    const ready = m.condition(n, "Ready")?.status === "True";
    const cap = n.status?.capacity || {};
    return { key: n.metadata.name, cls: ready ? "" : "bad",
      cells: [n.metadata.name, ready ? "Ready" : "NotReady", cap.cpu, cap.memory ? m.binaryBytes(m.quantity(cap.memory)) : "", cap.pods,
        m.conditionsText(n), usageCell(`node/${n.metadata.name}`)] };
  }));
}

function renderDeployments() {
  tables.deployments.update(items("deployments").sort(byName).map((d) => {
    const s = d.status || {}, want = d.spec?.replicas ?? 1;
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    return { key, cls: `${m.deploymentEscalated(d) ? "bad" : ""}${key === state.selected ? " selected" : ""}`,
      cells: [d.metadata.namespace, d.metadata.name, `${s.readyReplicas || 0}/${want}`, `${s.updatedReplicas || 0}/${want}`,
        `${s.availableReplicas || 0}/${want}`, m.conditionsText(d)] };
  }));
}

function renderPods() {
  const pods = items("pods").sort(byName);
  $("pods-count").textContent = pods.length > MAX_ROWS ? `(first ${MAX_ROWS} of ${pods.length})` : `(${pods.length})`;
  tables.pods.update(pods.slice(0, MAX_ROWS).map((p) => {
    const status = m.podStatus(p);
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    return { key, cls: ["Running", "Succeeded"].includes(status) ? "" : "warn",
      cells: [p.metadata.namespace, p.metadata.name, status, String(m.restarts(p)), p.spec?.nodeName || "", usageCell(`pod/${key}`)] };
  }));
}

function renderEvents() {
  const events = items("events").sort((a, b) => Date.parse(m.eventTime(b)) - Date.parse(m.eventTime(a))).slice(0, MAX_EVENTS);
  const now = Date.now();
  tables.events.update(events.map((e) => ({
    key: `${e.metadata.namespace}/${e.metadata.name}`, cls: e.type === "Warning" ? "warn" : "",
    cells: [m.age(m.eventTime(e), now), e.type || "", e.reason || "",
      `${(e.involvedObject?.kind || "").toLowerCase()}/${e.involvedObject?.name || ""}`, e.message || ""],
  })));
}

function renderSelected() {
  const deploy = state.selected && state.informers.deployments?.items.get(state.selected);
  if (!deploy) { $("tree-title").textContent = ""; return; }
  $("tree-title").textContent = state.selected;
  const replicasets = items("replicasets"), pods = items("pods");
  renderTree($("tree"), { deploy, replicasets, pods, now: Date.now() });
  tables.revisions.update(m.revisions(m.ownedBy(replicasets, deploy)).map(({ rs, revision }) => ({
    key: rs.metadata.name,
    cells: [String(revision), rs.metadata.name, `${rs.status?.readyReplicas || 0}/${rs.spec?.replicas ?? 0}`,
      rs.metadata.annotations?.[m.CHANGE_CAUSE] || ""],
  })));
  const countdown = pods.some((p) => (p.status?.containerStatuses || []).some((cs) => m.backoffUntil(cs) > Date.now()));
  if (countdown && !state.tick) state.tick = setInterval(() => markDirty("tick"), 1000);
  if (!countdown && state.tick) { clearInterval(state.tick); state.tick = 0; }
}

function select(key) {
  state.selected = key;
  markDirty("deployments");
  markDirty("pods");
}

// -- logs: one followed stream, bounded in memory --------------------------------------------

function closeLog() {
  state.log?.abort();
  state.log = null;
  $("log-close").hidden = true;
}

// A pod row follows the pod's first container; a container's box in the tree follows that one.
async function openLog(key, container = null) {
  const pod = state.informers.pods?.items.get(key);
  if (!pod) return;
  closeLog();
  container = container || pod.spec.containers[0].name;
  const cs = (pod.status?.containerStatuses || []).find((c) => c.name === container);
  if (!cs?.state?.running && !cs?.state?.terminated && !cs?.lastState?.terminated) {
    $("log-title").textContent = key;
    $("log").textContent = "(the container has not started yet: no logs)";
    return;
  }
  const controller = new AbortController();
  state.log = controller;
  const pre = $("log");
  pre.replaceChildren();
  $("log-title").textContent = `${key} (${container})`;
  $("log-close").hidden = false;
  const [ns, name] = key.split("/");
  const url = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/log?follow=true` +
    `&container=${encodeURIComponent(container)}&tailLines=${TAIL_LINES}`;
  try {
    const response = await request(url, { signal: controller.signal });
    if (!response.ok) { pre.textContent = `(${response.status}: ${(await response.json().catch(() => ({}))).message || "no logs"})`; return; }
    for await (const line of lines(response, controller.signal)) {
      pre.append(`${line}\n`);
      while (pre.childNodes.length > MAX_LOG_LINES) pre.firstChild.remove();
      pre.scrollTop = pre.scrollHeight;
    }
  } catch (err) {
    if (err instanceof Unauthorized) unauthorized();
    else if (!controller.signal.aborted) pre.append(`(log stream ended: ${err.message})\n`);
  }
}

// -- metrics.k8s.io sparklines, only when discovery lists the group --------------------------

// Polled as often as the metrics change: every scrape window the server reports (15 s by default).
async function startMetrics() {
  let groups;
  try { groups = await getJSON("/apis"); } catch (err) { if (err instanceof Unauthorized) unauthorized(); return; }
  if (!(groups.groups || []).some((g) => g.name === "metrics.k8s.io")) return;
  document.body.classList.add("has-metrics");
  const poller = { timer: 0 };  // a logout (or a new login) replaces it, and this chain ends
  const refresh = async () => {
    let delay = METRICS_INTERVAL;
    try { delay = await fetchMetrics(); } catch (err) { if (err instanceof Unauthorized) { unauthorized(); return; } }
    if (state.metrics === poller) poller.timer = setTimeout(refresh, delay);
  };
  state.metrics = poller;
  poller.timer = setTimeout(refresh, 0);
}

// Records the latest sample of every node and pod; answers when to look again (ms).
async function fetchMetrics() {
  const ns = state.namespace ? `/namespaces/${encodeURIComponent(state.namespace)}` : "";
  const [nodes, pods] = await Promise.all([getJSON("/apis/metrics.k8s.io/v1beta1/nodes"), getJSON(`/apis/metrics.k8s.io/v1beta1${ns}/pods`)]);
  for (const n of nodes.items) record(`node/${n.metadata.name}`, n.timestamp, m.quantity(n.usage?.cpu), m.quantity(n.usage?.memory));
  for (const p of pods.items) {
    const sum = (k) => (p.containers || []).reduce((t, c) => t + m.quantity(c.usage?.[k]), 0);
    record(`pod/${p.metadata.namespace}/${p.metadata.name}`, p.timestamp, sum("cpu"), sum("memory"));
  }
  markDirty("usage");
  const window = m.goDuration(nodes.items[0]?.window || pods.items[0]?.window);
  return window ? Math.min(Math.max(window * 1000, METRICS_MIN_INTERVAL), METRICS_INTERVAL * 4) : METRICS_INTERVAL;
}

// A sample is recorded once, however often it is read.
function record(key, timestamp, cpu, memory) {
  const series = state.usage.get(key) || { cpu: [], mem: [], at: null };
  if (series.at === timestamp) return;
  series.at = timestamp;
  series.cpu.push(cpu); series.mem.push(memory);
  if (series.cpu.length > METRICS_POINTS) { series.cpu.shift(); series.mem.shift(); }
  state.usage.set(key, series);
}

function usageCell(key) {
  const series = state.usage.get(key);
  if (!series) return "";
  const cell = el("span", { title: `cpu ${(series.cpu.at(-1) * 1000).toFixed(0)}m, memory ${(series.mem.at(-1) / 2 ** 20).toFixed(1)}Mi` });
  cell.append(sparkline([[series.cpu, "cpu"], [series.mem, "mem"]]));
  return cell;
}

// -- start ------------------------------------------------------------------------------------

function init() {
  tables.nodes = new KeyedTable($("nodes").tBodies[0], { attr: "data-node" });
  tables.deployments = new KeyedTable($("deployments").tBodies[0], { attr: "data-deployment", onSelect: select });
  tables.pods = new KeyedTable($("pods").tBodies[0], { attr: "data-pod-row", onSelect: openLog });
  tables.events = new KeyedTable($("events").tBodies[0]);
  tables.revisions = new KeyedTable($("revisions").tBodies[0]);
  $("login-form").addEventListener("submit", (e) => { e.preventDefault(); login($("token").value.trim()); });
  $("logout").addEventListener("click", () => showLogin("Logged out."));
  $("log-close").addEventListener("click", closeLog);
  $("tree").addEventListener("click", (e) => {
    const box = e.target.closest("[data-container]");
    if (!box || !state.selected) return;
    const [pod, container] = box.dataset.container.split("/");
    openLog(`${state.selected.split("/")[0]}/${pod}`, container);
  });
  $("namespace").addEventListener("focus", loadNamespaces);
  $("namespace").addEventListener("change", (e) => {
    state.namespace = e.target.value;
    startInformers();
  });
  if (session.token()) start(); else showLogin();
}

init();
