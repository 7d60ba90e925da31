// DOM helpers: elements built with textContent only (object text is never parsed as HTML),
// and keyed tables that touch only the rows and cells that changed.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// A table body whose rows are keyed: `update(rows)` with rows [{key, cells, cls}], cells strings or Nodes.
export class KeyedTable {
  constructor(tbody, { onSelect, attr } = {}) {
    Object.assign(this, { tbody, onSelect, attr });
    this.rows = new Map();
    if (onSelect) tbody.addEventListener("click", (e) => {
      const tr = e.target.closest("tr");
      if (tr?.dataset.key) onSelect(tr.dataset.key);
    });
  }

  update(rows) {
    const seen = new Set();
    let previous = null;
    for (const row of rows) {
      seen.add(row.key);
      let tr = this.rows.get(row.key);
      if (!tr) {
        tr = el("tr");
        tr.dataset.key = row.key;
        if (this.attr) tr.setAttribute(this.attr, row.key);
        this.rows.set(row.key, tr);
      }
      setCells(tr, row.cells);
      tr.className = row.cls || "";
      const want = previous ? previous.nextSibling : this.tbody.firstChild;
      if (want !== tr) this.tbody.insertBefore(tr, want);
      previous = tr;
    }
    for (const [key, tr] of this.rows) if (!seen.has(key)) { tr.remove(); this.rows.delete(key); }
  }
}

function setCells(tr, cells) {
  while (tr.children.length < cells.length) tr.append(el("td"));
  while (tr.children.length > cells.length) tr.lastChild.remove();
  cells.forEach((cell, i) => {
    const td = tr.children[i];
    if (cell instanceof Node) { if (td.firstChild !== cell) td.replaceChildren(cell); }
    else if (td.textContent !== String(cell ?? "") || td.firstElementChild) td.textContent = String(cell ?? "");
    if (i === cells.length - 1 && typeof cell === "string" && cell.length > 40) td.className = "msg";
  });
}

const SVG = "http://www.w3.org/2000/svg";
export function sparkline(series, cls) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 60 16");
  for (const [values, name] of series) {
    if (values.length < 2) continue;
    const max = Math.max(...values) || 1;
    const step = 60 / (values.length - 1);
    const points = values.map((v, i) => `${(i * step).toFixed(1)},${(15 - (v / max) * 14).toFixed(1)}`).join(" ");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points);
    line.setAttribute("class", name || cls);
    svg.append(line);
  }
  return svg;
}
