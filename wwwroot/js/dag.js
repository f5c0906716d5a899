// The version DAG as a picture: versions in rows by depth, edges parent → child, merges, branch heads and archived
// versions marked.
import { short, svgEl } from "./api.js";

const W = 180, H = 62, GX = 24, GY = 34;

/** Draws `nodes` (the repo info's DAG.Nodes values) into `svg`; `onSelect(uuid)` when a version is clicked. */
export function renderDag(svg, nodes, onSelect) {
  const byId = new Map(nodes.map((n) => [n.VersionID, n]));
  const depth = new Map();
  const depthOf = (n) => {
    if (depth.has(n.VersionID)) return depth.get(n.VersionID);
    const parents = n.Parents.map((p) => byId.get(p)).filter(Boolean);
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depthOf));
    depth.set(n.VersionID, d);
    return d;
  };
  const rows = new Map();
  for (const n of [...nodes].sort((a, b) => a.VersionID - b.VersionID)) {
    const d = depthOf(n);
    if (!rows.has(d)) rows.set(d, []);
    rows.get(d).push(n);
  }
  const pos = new Map();
  let width = 0;
  for (const [d, row] of rows) row.forEach((n, i) => { pos.set(n.VersionID, { x: 12 + i * (W + GX), y: 12 + d * (H + GY) }); width = Math.max(width, 12 + (i + 1) * (W + GX)); });
  // A branch's head: its version without a child on the same branch.
  const heads = new Set(nodes.filter((n) => !n.Children.some((c) => byId.get(c)?.Branch === n.Branch)).map((n) => n.VersionID));

  svg.replaceChildren();
  svg.setAttribute("width", Math.max(width, 200));
  svg.setAttribute("height", 24 + rows.size * (H + GY));
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5b6670" }));
  defs.append(marker);
  svg.append(defs);
  for (const n of nodes) for (const c of n.Children) {
    const a = pos.get(n.VersionID), b = pos.get(c);
    if (!b) continue;
    const child = byId.get(c);
    const cls = child.Parents.length > 1 ? "dag-edge merge-edge" : "dag-edge";
    svg.append(svgEl("path", { class: cls, "data-from": n.UUID, "data-to": child.UUID,
      d: `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + GY / 2} ${b.x + W / 2},${b.y - GY / 2} ${b.x + W / 2},${b.y}` }));
  }
  for (const n of nodes) {
    const p = pos.get(n.VersionID);
    const merge = n.Parents.length > 1;
    const classes = ["dag-node", n.Locked ? "locked" : "open", merge ? "merge" : "", n.Archived ? "archived" : "", heads.has(n.VersionID) ? "head" : ""];
    const g = svgEl("g", { class: classes.filter(Boolean).join(" "), "data-uuid": n.UUID, transform: `translate(${p.x},${p.y})` });
    g.append(svgEl("title", {}, `${n.UUID}\n${n.Note || ""}`));
    g.append(svgEl("rect", { width: W, height: H }));
    g.append(svgEl("text", { x: 8, y: 16 }, `${short(n.UUID)} ${n.Archived ? "archived" : n.Locked ? "🔒" : "open"}`));
    const branch = n.Branch ? n.Branch : "master";
    g.append(svgEl("text", { x: 8, y: 32, class: "dag-branch" }, heads.has(n.VersionID) ? `⎇ ${branch} (head)` : `branch ${branch}`));
    if (merge) g.append(svgEl("text", { x: 8, y: 46, class: "dag-merge" }, `merge of ${n.Parents.map((v) => short(byId.get(v)?.UUID || "?")).join(" + ")}`));
    g.append(svgEl("text", { x: 8, y: merge ? 58 : 50, class: "dag-note" }, (n.Note || "").slice(0, 26)));
    g.addEventListener("click", () => onSelect(n.UUID));
    svg.append(g);
  }
}

/** The versions `uuid` descends from, itself included. */
export function ancestorsOf(nodesByUuid, uuid) {
  const byId = new Map(Object.values(nodesByUuid).map((n) => [n.VersionID, n]));
  const seen = new Set();
  const stack = [nodesByUuid[uuid]];
  while (stack.length) {
    const n = stack.pop();
    if (!n || seen.has(n.UUID)) continue;
    seen.add(n.UUID);
    for (const p of n.Parents) stack.push(byId.get(p));
  }
  return seen;
}
