// What the views show, derived from API objects: pure functions, no DOM.
export const INTENSITY_CONDITION = "supervision.podvisor.io/RestartIntensity";
export const INTENSITY_EXCEEDED = "RestartIntensityExceeded";
export const ROLLED_BACK = "RolledBack";
export const REVISION = "deployment.kubernetes.io/revision";
export const CHANGE_CAUSE = "kubernetes.io/change-cause";

export const condition = (obj, type) => (obj?.status?.conditions || []).find((c) => c.type === type);

export function ownedBy(objects, owner) {
  const uid = owner.metadata.uid;
  return [...objects].filter((o) => (o.metadata.ownerReferences || []).some((r) => r.uid === uid));
}

export function podStatus(pod) {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  for (const cs of pod.status?.containerStatuses || []) {
    const reason = cs.state?.waiting?.reason || cs.state?.terminated?.reason;
    if (reason && reason !== "Completed") return reason;
  }
  return pod.status?.phase || "Pending";
}

export const restarts = (pod) => (pod.status?.containerStatuses || []).reduce((n, cs) => n + (cs.restartCount || 0), 0);

// A container is "down" when it is not running and ready: terminated, or waiting (CrashLoopBackOff...).
export function containerView(pod, name) {
  const cs = (pod.status?.containerStatuses || []).find((s) => s.name === name);
  const state = cs?.state || {};
  const running = Boolean(state.running) && cs.ready !== false;
  const label = state.running ? "running" : state.waiting?.reason || (state.terminated ? `exited ${state.terminated.exitCode}` : "waiting");
  return { name, restarts: cs?.restartCount || 0, up: running, down: Boolean(cs) && !running, label, backoffUntil: backoffUntil(cs) };
}

// "back-off 20s restarting failed container=..." with lastState.terminated.finishedAt: when the restart is due (ms).
export function backoffUntil(cs) {
  const waiting = cs?.state?.waiting;
  if (waiting?.reason !== "CrashLoopBackOff") return null;
  const match = /back-off (\d+(?:\.\d+)?)(ms|s|m)?/.exec(waiting.message || "");
  const finished = Date.parse(cs.lastState?.terminated?.finishedAt || "");
  if (!match || Number.isNaN(finished)) return null;
  const scale = { ms: 1, s: 1000, m: 60000 }[match[2] || "s"];
  return finished + Number(match[1]) * scale;
}

export function budget(pod) {
  const c = condition(pod, INTENSITY_CONDITION);
  return c ? { text: c.message || c.reason || "", escalated: c.status === "False" && c.reason === INTENSITY_EXCEEDED } : null;
}

export function deploymentEscalated(deploy) {
  const p = condition(deploy, "Progressing");
  return p?.status === "False" && [INTENSITY_EXCEEDED, ROLLED_BACK].includes(p.reason);
}

export function conditionsText(obj) {
  return (obj.status?.conditions || []).map((c) => `${c.type.replace(/^.*\//, "")}=${c.status}${c.reason ? ` (${c.reason})` : ""}`).join(", ");
}

export function revisions(replicasets) {
  return replicasets
    .map((rs) => ({ rs, revision: Number(rs.metadata.annotations?.[REVISION] || 0) }))
    .sort((a, b) => b.revision - a.revision);
}

// Quantities as numbers: CPU in cores, memory in bytes.
const SUFFIX = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
export function quantity(text) {
  const match = /^([0-9.e+-]+)([a-zA-Z]*)$/.exec(String(text ?? ""));
  return match && match[2] in SUFFIX ? Number(match[1]) * SUFFIX[match[2]] : 0;
}

// A Go duration as the metrics API writes its window ("15s", "1.5s", "1m0.25s"), in seconds; null if not one.
export function goDuration(text) {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(String(text ?? ""));
  if (!match || !text) return null;
  return Number(match[1] || 0) * 3600 + Number(match[2] || 0) * 60 + Number(match[3] || 0);
}

// Bytes as people read them: 23.5Gi, 512Mi, 900Ki (binary units, as kubectl's capacity shows).
export function binaryBytes(bytes) {
  const units = ["", "Ki", "Mi", "Gi", "Ti"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
  return i === 0 ? String(Math.round(bytes)) : `${bytes.toFixed(bytes < 10 ? 1 : 0)}${units[i]}`;
}

export function age(timestamp, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(timestamp)) / 1000));
  if (Number.isNaN(seconds)) return "";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

export const eventTime = (e) => e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp;
