// Pictures instead of tables: instance extents as boxes, a mutation log as a timeline, storage as bars.
import { boundsOf, el, svgEl } from "./api.js";

const COLORS = ["#2f7dd1", "#d1662f", "#2fa35b", "#a33fb8", "#c9a227", "#3fb8b0", "#b83f5d", "#6b7a8a"];

/**
 * The extents of `instances` ([{name, min:[x,y,z], max:[x,y,z]}]) as boxes seen from above (x → right, y → down) and
 * from the side (x → right, z → down), in one frame. Each box is a <rect class="extent" data-name>.
 */
export function extentsPicture(instances) {
  const svg = svgEl("svg", { class: "extents", role: "img", "aria-label": "Extents" });
  if (instances.length === 0) return svg;
  const box = boundsOf(instances);
  const lo = box.min, hi = box.max.map((v) => v + 1);
  const PW = 240, PAD = 22;
  const scale = PW / Math.max(1, hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  const views = [{ title: "x–y (from above)", v: 1, x: PAD }, { title: "x–z (from the side)", v: 2, x: PAD * 2 + PW }];
  svg.setAttribute("width", PAD * 3 + PW * 2);
  svg.setAttribute("height", PAD * 2 + PW + 16 * instances.length);
  for (const view of views) {
    svg.append(svgEl("text", { x: view.x, y: 14, class: "extents-title" }, view.title));
    svg.append(svgEl("rect", { x: view.x, y: PAD, width: (hi[0] - lo[0]) * scale, height: (hi[view.v] - lo[view.v]) * scale, class: "extents-frame" }));
    instances.forEach((inst, i) => {
      const r = svgEl("rect", {
        class: "extent", "data-name": inst.name, "data-view": view.v === 1 ? "xy" : "xz", fill: COLORS[i % COLORS.length], stroke: COLORS[i % COLORS.length],
        x: view.x + (inst.min[0] - lo[0]) * scale, y: PAD + (inst.min[view.v] - lo[view.v]) * scale,
        width: Math.max(1, (inst.max[0] + 1 - inst.min[0]) * scale), height: Math.max(1, (inst.max[view.v] + 1 - inst.min[view.v]) * scale),
      });
      r.append(svgEl("title", {}, `${inst.name}: ${inst.min.join(",")} → ${inst.max.join(",")}`));
      svg.append(r);
    });
  }
  instances.forEach((inst, i) => {
    const y = PAD * 2 + PW + 16 * i;
    svg.append(svgEl("rect", { x: PAD, y: y - 9, width: 10, height: 10, fill: COLORS[i % COLORS.length] }));
    svg.append(svgEl("text", { x: PAD + 16, y, class: "extents-legend" }, `${inst.name}  ${inst.min.join(",")} → ${inst.max.join(",")}`));
  });
  return svg;
}

/** Go's time format ("2006-01-02 15:04:05.9999999 +0000 UTC"), RFC 3339, or null. */
function parseTime(text) {
  if (typeof text !== "string") return null;
  const iso = text.replace(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d\d)(\d\d).*$/, "$1T$2$3:$4");
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** The mutation log `records` (objects with Action and Timestamp) as dots on a time axis, one row per action. */
export function timelinePicture(records) {
  const items = records.map((r) => ({ r, t: parseTime(r.Timestamp) })).filter((x) => x.t !== null);
  const svg = svgEl("svg", { class: "timeline", role: "img", "aria-label": "Mutation log timeline" });
  if (items.length === 0) return svg;
  const actions = [...new Set(items.map((x) => x.r.Action || "?"))].sort();
  const t0 = Math.min(...items.map((x) => x.t)), t1 = Math.max(...items.map((x) => x.t));
  const LEFT = 110, WIDTH = 480, ROW = 20;
  svg.setAttribute("width", LEFT + WIDTH + 20);
  svg.setAttribute("height", 30 + ROW * actions.length);
  actions.forEach((a, i) => {
    svg.append(svgEl("text", { x: 4, y: 18 + ROW * i, class: "timeline-action" }, a));
    svg.append(svgEl("line", { x1: LEFT, x2: LEFT + WIDTH, y1: 14 + ROW * i, y2: 14 + ROW * i, class: "timeline-row" }));
  });
  for (const { r, t } of items) {
    const i = actions.indexOf(r.Action || "?");
    const x = LEFT + (t1 === t0 ? WIDTH / 2 : (t - t0) * WIDTH / (t1 - t0));
    const dot = svgEl("circle", { cx: x, cy: 14 + ROW * i, r: 4, class: "mutation", "data-action": r.Action || "", fill: COLORS[i % COLORS.length] });
    dot.append(svgEl("title", {}, JSON.stringify(r)));
    svg.append(dot);
  }
  const label = (t) => new Date(t).toLocaleString();
  svg.append(svgEl("text", { x: LEFT, y: 24 + ROW * actions.length, class: "timeline-axis" }, label(t0)));
  svg.append(svgEl("text", { x: LEFT + WIDTH, y: 24 + ROW * actions.length, class: "timeline-axis", "text-anchor": "end" }, label(t1)));
  return svg;
}

/** Horizontal bars of `rows` ([{label, bytes}]), widest first, with human sizes. */
export function storageBars(rows) {
  const max = Math.max(1, ...rows.map((r) => r.bytes));
  const human = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(2)} GiB`);
  return el("div", { class: "bars" }, ...[...rows].sort((a, b) => b.bytes - a.bytes).map((r, i) =>
    el("div", { class: "bar-row", "data-label": r.id ?? r.label, "data-bytes": String(r.bytes) },
      el("span", { class: "bar-label" }, r.label),
      el("span", { class: "bar", style: `width:${Math.max(1, Math.round(300 * r.bytes / max))}px;background:${COLORS[i % COLORS.length]}` }),
      el("span", { class: "bar-value" }, `${human(r.bytes)}${r.keys !== undefined ? ` in ${r.keys} keys` : ""}`))));
}
