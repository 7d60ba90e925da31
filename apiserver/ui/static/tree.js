// The supervision tree of one Deployment: Deployment -> ReplicaSets -> Pods -> containers,
// with restart counts, the restart-intensity budget used, back-off countdowns and escalations.
import { el } from "./dom.js";
import * as m from "./model.js";

export function renderTree(root, { deploy, replicasets, pods, now }) {
  const sets = m.revisions(m.ownedBy(replicasets, deploy));
  const tree = el("ul", {}, el("li", {}, box("Deployment", deploy.metadata.name, {
    escalated: m.deploymentEscalated(deploy), extra: [m.conditionsText(deploy)],
  }), el("ul", {}, ...sets.map(({ rs, revision }) => replicasetItem(rs, revision, pods, now)))));
  root.replaceChildren(tree);
}

function replicasetItem(rs, revision, pods, now) {
  const ready = `${rs.status?.readyReplicas || 0}/${rs.spec?.replicas ?? 0} ready`;
  const children = m.ownedBy(pods, rs).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return el("li", {}, box("ReplicaSet", rs.metadata.name, { extra: [`rev ${revision}`, ready] }),
    el("ul", {}, ...children.map((pod) => podItem(pod, now))));
}

function podItem(pod, now) {
  const budget = m.budget(pod);
  const extra = [m.podStatus(pod), `restarts ${m.restarts(pod)}`];
  const node = box("Pod", pod.metadata.name, { escalated: budget?.escalated, extra, budget: budget?.text });
  node.dataset.pod = pod.metadata.name;
  const containers = (pod.spec?.containers || []).map((c) => containerItem(pod, c.name, now));
  return el("li", {}, node, el("ul", {}, ...containers));
}

function containerItem(pod, name, now) {
  const view = m.containerView(pod, name);
  const restarts = el("span", { class: "restarts" }, String(view.restarts));
  const node = el("span", { class: `node container${view.down ? " down" : ""}${view.up ? " up" : ""}` },
    el("span", { class: "kind" }, "container"), el("strong", {}, name), el("span", {}, view.label),
    el("span", {}, "restarts "), restarts);
  node.dataset.container = `${pod.metadata.name}/${name}`;
  if (view.backoffUntil !== null) {
    const remaining = Math.max(0, Math.ceil((view.backoffUntil - now) / 1000));
    node.append(el("span", { class: "backoff" }, `restart in ${remaining}s`));
  }
  return el("li", {}, node);
}

function box(kind, name, { escalated = false, extra = [], budget = null } = {}) {
  const node = el("span", { class: `node${escalated ? " escalated" : ""}` },
    el("span", { class: "kind" }, kind), el("strong", {}, name));
  for (const text of extra) if (text) node.append(el("span", { class: "muted" }, text));
  if (budget) node.append(el("span", { class: "budget", title: "restart intensity used" }, budget));
  if (escalated) node.append(el("span", { class: "bad" }, "escalated"));
  return node;
}
