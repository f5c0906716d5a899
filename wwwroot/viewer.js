// Diced web viewer: repos, the version DAG, instances at a version, a key browser and a slice viewer.
// Plain ES module, no dependencies; everything comes from the server's own DVID API.

const $ = (sel) => document.querySelector(sel);
// With authentication on, the token (from "Token…", kept in this browser) goes with every request.
const token = () => localStorage.getItem("dicedToken");
const api = async (path, as = "json") => {
  const t = token();
  const r = await fetch(path, t ? { headers: { Authorization: `Bearer ${t}` } } : {});
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).trim()}`);
  return as === "json" ? r.json() : as === "text" ? r.text() : r.arrayBuffer();
};
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const short = (uuid) => uuid.slice(0, 8);
const when = (t) => (t ? new Date(t).toLocaleString() : "");
const LABEL_TYPES = new Set(["labelblk", "labelmap", "labelarray"]);

const state = { repos: {}, repo: null, node: null, instance: null, slice: null };

// ---------------------------------------------------------------- repos

async function loadRepos() {
  const repos = await api("/api/repos/info");
  state.repos = repos || {};
  renderRepos();
}

function renderRepos() {
  const q = $("#search").value.trim().toLowerCase();
  const body = $("#repos tbody");
  body.replaceChildren();
  const list = Object.values(state.repos).filter((r) => r && typeof r === "object")
    .filter((r) => !q || [r.Alias, r.Description, r.Root].some((s) => (s || "").toLowerCase().includes(q)))
    .sort((a, b) => (a.Alias || "").localeCompare(b.Alias || ""));
  for (const r of list) {
    const nodes = Object.values(r.DAG?.Nodes || {});
    const created = nodes.map((n) => n.Created).sort()[0];
    const updated = nodes.map((n) => n.Updated).sort().at(-1);
    const row = el("tr", { class: "repo-row", "data-uuid": r.Root, onclick: () => openRepo(r.Root) },
      el("td", { class: "repo-name" }, r.Alias || "(no name)"), el("td", { class: "repo-description" }, r.Description || ""),
      el("td", {}, el("code", {}, short(r.Root))), el("td", {}, when(created)), el("td", {}, when(updated)));
    if (state.repo?.Root === r.Root) row.classList.add("selected");
    body.append(row);
  }
  $("#repos-empty").hidden = list.length > 0;
}

// ---------------------------------------------------------------- the version DAG

async function openRepo(root, nodeUuid) {
  state.repo = await api(`/api/repo/${root}/info`);
  renderRepos();
  $("#repo-panel").hidden = false;
  $("#repo-title").textContent = state.repo.Alias || short(root);
  $("#repo-description").textContent = state.repo.Description || "";
  renderDag();
  const nodes = Object.values(state.repo.DAG.Nodes);
  const leaf = nodeUuid || nodes.sort((a, b) => b.VersionID - a.VersionID)[0].UUID;
  selectNode(leaf);
}

function renderDag() {
  const nodes = Object.values(state.repo.DAG.Nodes);
  const byId = new Map(nodes.map((n) => [n.VersionID, n]));
  const depth = new Map();
  const depthOf = (n) => {
    if (depth.has(n.VersionID)) return depth.get(n.VersionID);
    const d = n.Parents.length === 0 ? 0 : 1 + Math.max(...n.Parents.map((p) => depthOf(byId.get(p))));
    depth.set(n.VersionID, d);
    return d;
  };
  const rows = new Map();
  for (const n of nodes.sort((a, b) => a.VersionID - b.VersionID)) {
    const d = depthOf(n);
    if (!rows.has(d)) rows.set(d, []);
    rows.get(d).push(n);
  }
  const W = 170, H = 58, GX = 24, GY = 34;
  const pos = new Map();
  let width = 0;
  for (const [d, row] of rows) row.forEach((n, i) => { pos.set(n.VersionID, { x: 12 + i * (W + GX), y: 12 + d * (H + GY) }); width = Math.max(width, 12 + (i + 1) * (W + GX)); });
  const svg = $("#dag");
  const NS = "http://www.w3.org/2000/svg";
  const s = (tag, attrs = {}, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  svg.replaceChildren();
  svg.setAttribute("width", Math.max(width, 200));
  svg.setAttribute("height", 24 + rows.size * (H + GY));
  const defs = s("defs");
  const marker = s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.append(s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5b6670" }));
  defs.append(marker);
  svg.append(defs);
  for (const n of nodes) for (const c of n.Children) {
    const a = pos.get(n.VersionID), b = pos.get(c);
    if (!b) continue;
    svg.append(s("path", { class: "dag-edge", "data-from": n.UUID, "data-to": byId.get(c).UUID,
      d: `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + GY / 2} ${b.x + W / 2},${b.y - GY / 2} ${b.x + W / 2},${b.y}` }));
  }
  for (const n of nodes) {
    const p = pos.get(n.VersionID);
    const g = s("g", { class: `dag-node ${n.Locked ? "locked" : "open"}`, "data-uuid": n.UUID, transform: `translate(${p.x},${p.y})` });
    g.append(s("rect", { width: W, height: H }));
    g.append(s("text", { x: 8, y: 16 }, `${short(n.UUID)} ${n.Locked ? "🔒" : "open"}`));
    g.append(s("text", { x: 8, y: 32, class: "dag-branch" }, n.Branch ? `branch ${n.Branch}` : "master"));
    g.append(s("text", { x: 8, y: 48, class: "dag-note" }, (n.Note || "").slice(0, 24)));
    g.addEventListener("click", () => selectNode(n.UUID));
    svg.append(g);
  }
}

function ancestorsOf(uuid) {
  const nodes = state.repo.DAG.Nodes;
  const byId = new Map(Object.values(nodes).map((n) => [n.VersionID, n]));
  const seen = new Set();
  const stack = [nodes[uuid]];
  while (stack.length) {
    const n = stack.pop();
    if (seen.has(n.UUID)) continue;
    seen.add(n.UUID);
    for (const p of n.Parents) stack.push(byId.get(p));
  }
  return seen;
}

async function selectNode(uuid) {
  state.node = state.repo.DAG.Nodes[uuid];
  for (const g of document.querySelectorAll("#dag .dag-node")) g.classList.toggle("selected", g.dataset.uuid === uuid);
  $("#node-panel").hidden = false;
  $("#node-uuid").textContent = uuid;
  const badge = $("#node-state");
  badge.textContent = state.node.Locked ? "locked" : "open";
  badge.className = `badge ${state.node.Locked ? "locked" : "open"}`;
  $("#node-note").textContent = state.node.Note || "";
  const log = await api(`/api/node/${uuid}/log`).catch(() => ({ log: state.node.Log }));
  $("#node-log").replaceChildren(...(log.log || []).map((l) => el("li", {}, l)));
  // Instance names are repo-wide; an instance is there at a version when it was created at it or an ancestor.
  const ancestors = ancestorsOf(uuid);
  const list = $("#instance-list");
  list.replaceChildren();
  for (const [name, inst] of Object.entries(state.repo.DataInstances).sort()) {
    if (!ancestors.has(inst.Base.RepoUUID)) continue;
    if (inst.Base.Tags && "diced-generated" in inst.Base.Tags) continue; // meshes built for Neuroglancer, not stored data
    list.append(el("li", { class: "instance", "data-name": name, onclick: () => openInstance(name) }, name, " ", el("span", {}, inst.Base.TypeName)));
  }
  if (state.instance) {
    if ([...list.children].some((li) => li.dataset.name === state.instance)) openInstance(state.instance);
    else $("#instance-panel").hidden = true;
  }
}

// ---------------------------------------------------------------- instances

async function openInstance(name) {
  const uuid = state.node.UUID;
  state.instance = name;
  const info = await api(`/api/node/${uuid}/${encodeURIComponent(name)}/info`);
  const type = info.Base.TypeName;
  $("#instance-panel").hidden = false;
  $("#instance-title").textContent = `${name} at ${short(uuid)}`;
  const dl = $("#instance-info");
  dl.replaceChildren();
  const add = (k, v) => dl.append(el("dt", {}, k), el("dd", { "data-field": k }, v));
  add("Type", type);
  add("Compression", info.Base.Compression || "");
  const ext = info.Extended || {};
  if (ext.BlockSize) add("Block size", ext.BlockSize.join(" × "));
  if (ext.VoxelSize) add("Voxel size", `${ext.VoxelSize.join(" × ")} ${(ext.VoxelUnits || [])[0] || ""}`);
  if ("MinPoint" in ext) add("Extents", ext.MinPoint ? `${ext.MinPoint.join(",")} → ${ext.MaxPoint.join(",")}` : "empty");
  setupDiff(uuid, name);
  $("#keyvalue-browser").hidden = type !== "keyvalue";
  $("#slice-viewer").hidden = !ext.BlockSize;
  if (type === "keyvalue") await loadKeys(uuid, name);
  if (ext.BlockSize) setupSlices(uuid, name, type, ext);
}

// The instance's changes since another version (its first parent by default): GET …/diff/{other}.
function setupDiff(uuid, name) {
  const nodes = Object.values(state.repo.DAG.Nodes);
  const others = nodes.filter((n) => n.UUID !== uuid);
  const view = $("#diff-view");
  view.hidden = others.length === 0;
  if (view.hidden) return;
  const parent = nodes.find((n) => n.VersionID === (state.node.Parents || [])[0]);
  const select = $("#diff-with");
  select.replaceChildren(...others.map((n) => el("option", { value: n.UUID }, `${short(n.UUID)} ${n.Note || ""}`.trim())));
  select.value = (parent || others[0]).UUID;
  select.onchange = () => showDiff(uuid, name, select.value);
  showDiff(uuid, name, select.value);
}

async function showDiff(uuid, name, other) {
  const list = $("#diff-list");
  list.replaceChildren();
  $("#diff-summary").textContent = "comparing…";
  try {
    const d = await api(`/api/node/${other}/${encodeURIComponent(name)}/diff/${uuid}`);
    if (state.instance !== name || $("#diff-with").value !== other) return; // another choice was made meanwhile
    const counts = {};
    for (const c of d.changes) counts[c.change] = (counts[c.change] || 0) + 1;
    $("#diff-summary").textContent = d.changes.length === 0 ? "no changes"
      : Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
    list.replaceChildren(...d.changes.slice(0, 500).map((c) => el("li", { class: `change ${c.change}`, "data-key": c.key }, `${c.key} `, el("span", {}, c.change))));
  } catch (e) {
    $("#diff-summary").textContent = `diff unavailable: ${e.message}`;
  }
}

async function loadKeys(uuid, name) {
  $("#key-view").hidden = true;
  const keys = await api(`/api/node/${uuid}/${encodeURIComponent(name)}/keys`);
  $("#keys").replaceChildren(...keys.map((k) => el("li", { class: "key", "data-key": k, onclick: () => showKey(uuid, name, k) }, k)));
}

async function showKey(uuid, name, key) {
  const url = `/api/node/${uuid}/${encodeURIComponent(name)}/key/${encodeURIComponent(key)}`;
  const bytes = new Uint8Array(await api(url, "bytes"));
  $("#key-view").hidden = false;
  $("#key-name").textContent = key;
  const dl = $("#key-download");
  dl.href = url;
  dl.download = key;
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* plain text */ }
  } catch {
    text = `${bytes.length} bytes of binary data: ` + [...bytes.slice(0, 64)].map((b) => b.toString(16).padStart(2, "0")).join(" ") + (bytes.length > 64 ? " …" : "");
  }
  $("#key-value").textContent = text;
}

// ---------------------------------------------------------------- slice viewer

const PLANES = { xy: { dims: "0_1", u: 0, v: 1, w: 2 }, xz: { dims: "0_2", u: 0, v: 2, w: 1 }, yz: { dims: "1_2", u: 1, v: 2, w: 0 } };
const MAX_SIDE = 2048;

function setupSlices(uuid, name, type, ext) {
  const dataType = (ext.Values?.[0]?.DataType || "uint8");
  const min = ext.MinPoint || [0, 0, 0], max = ext.MaxPoint || [63, 63, 63];
  state.slice = { uuid, name, type, dataType, isLabel: LABEL_TYPES.has(type), min, max, zoom: 1, panX: 0, panY: 0, data: null, colors: new Map() };
  $("#contrast").hidden = dataType !== "uint16";
  setPlane($("#plane").value);
}

function setPlane(plane) {
  const s = state.slice;
  s.plane = plane;
  const p = PLANES[plane];
  const slider = $("#slice");
  slider.min = s.min[p.w];
  slider.max = s.max[p.w];
  slider.value = Math.round((s.min[p.w] + s.max[p.w]) / 2);
  fetchSlice();
}

async function fetchSlice() {
  const s = state.slice;
  const p = PLANES[s.plane];
  const at = Number($("#slice").value);
  $("#slice-value").textContent = at;
  const w = Math.min(MAX_SIDE, s.max[p.u] - s.min[p.u] + 1), h = Math.min(MAX_SIDE, s.max[p.v] - s.min[p.v] + 1);
  const offset = [0, 0, 0];
  offset[p.u] = s.min[p.u]; offset[p.v] = s.min[p.v]; offset[p.w] = at;
  const url = `/api/node/${s.uuid}/${encodeURIComponent(s.name)}/raw/${p.dims}/${w}_${h}/${offset.join("_")}/binary`;
  $("#slice-status").textContent = "loading…";
  const request = (s.request = url);
  const buffer = await api(url, "bytes");
  if (s.request !== request) return; // a newer slice was asked for meanwhile
  Object.assign(s, { data: new DataView(buffer), width: w, height: h, offset, bytes: buffer.byteLength / (w * h) });
  if (s.dataType === "uint16" && !s.contrastSet) {
    let lo = 65535, hi = 0;
    for (let i = 0; i < w * h; i++) { const v = s.data.getUint16(2 * i, true); if (v < lo) lo = v; if (v > hi) hi = v; }
    $("#contrast-min").value = lo; $("#contrast-max").value = Math.max(hi, lo + 1);
    s.contrastSet = true;
  }
  draw();
  $("#slice-status").textContent = `${s.name}@${short(s.uuid)} ${s.plane.toUpperCase()} slice ${at}: ${w} × ${h} from ${offset.join(",")}`;
}

function valueAt(i) {
  const s = state.slice;
  switch (s.bytes) {
    case 1: return s.data.getUint8(i);
    case 2: return s.data.getUint16(2 * i, true);
    case 4: return s.dataType === "float32" ? s.data.getFloat32(4 * i, true) : s.data.getUint32(4 * i, true);
    default: return s.data.getBigUint64(8 * i, true);
  }
}

/** A distinct, stable colour per label (label 0 is black): a 64-bit hash of the id, as HSV with high saturation. */
function labelColor(label) {
  const s = state.slice;
  let c = s.colors.get(label);
  if (c) return c;
  if (label === 0n) c = [0, 0, 0];
  else {
    let x = label * 0x9E3779B97F4A7C15n & 0xFFFFFFFFFFFFFFFFn;
    x ^= x >> 29n;
    const hue = Number(x % 360n), sat = 0.65 + Number((x >> 9n) % 35n) / 100, val = 0.75 + Number((x >> 17n) % 25n) / 100;
    const f = (n) => { const k = (n + hue / 60) % 6; return Math.round(255 * (val - val * sat * Math.max(0, Math.min(k, 4 - k, 1)))); };
    c = [f(5), f(3), f(1)];
  }
  s.colors.set(label, c);
  return c;
}

function draw() {
  const s = state.slice;
  const canvas = $("#slice-canvas");
  canvas.width = s.width; canvas.height = s.height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const img = ctx.createImageData(s.width, s.height);
  const px = img.data;
  const lo = Number($("#contrast-min").value), hi = Number($("#contrast-max").value);
  let fmin = Infinity, fmax = -Infinity;
  if (s.dataType === "float32" || s.dataType === "uint32") for (let i = 0; i < s.width * s.height; i++) { const v = valueAt(i); fmin = Math.min(fmin, v); fmax = Math.max(fmax, v); }
  for (let i = 0; i < s.width * s.height; i++) {
    let r, g, b;
    if (s.isLabel || s.bytes === 8) [r, g, b] = labelColor(valueAt(i));
    else {
      const v = valueAt(i);
      const gray = s.bytes === 1 ? v : s.dataType === "uint16" ? Math.max(0, Math.min(255, Math.round((v - lo) * 255 / Math.max(1, hi - lo))))
        : Math.round((v - fmin) * 255 / Math.max(1e-9, fmax - fmin));
      r = g = b = gray;
    }
    px[4 * i] = r; px[4 * i + 1] = g; px[4 * i + 2] = b; px[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  applyTransform();
}

function applyTransform() {
  const s = state.slice;
  $("#slice-canvas").style.transform = `translate(${s.panX}px, ${s.panY}px) scale(${s.zoom})`;
}

function zoomBy(factor, cx = 256, cy = 256) {
  const s = state.slice;
  const z = Math.min(64, Math.max(0.125, s.zoom * factor));
  s.panX = cx - (cx - s.panX) * z / s.zoom;
  s.panY = cy - (cy - s.panY) * z / s.zoom;
  s.zoom = z;
  applyTransform();
}

function pointerVoxel(ev) {
  const s = state.slice;
  const rect = $("#canvas-wrap").getBoundingClientRect();
  const u = Math.floor((ev.clientX - rect.left - s.panX) / s.zoom), v = Math.floor((ev.clientY - rect.top - s.panY) / s.zoom);
  if (u < 0 || v < 0 || u >= s.width || v >= s.height) return null;
  const p = PLANES[s.plane];
  const point = [...s.offset];
  point[p.u] += u; point[p.v] += v;
  return { index: v * s.width + u, point };
}

function wireSliceViewer() {
  $("#plane").addEventListener("change", (e) => setPlane(e.target.value));
  $("#slice").addEventListener("input", () => fetchSlice());
  $("#zoom-in").addEventListener("click", () => zoomBy(2));
  $("#zoom-out").addEventListener("click", () => zoomBy(0.5));
  for (const id of ["#contrast-min", "#contrast-max"]) $(id).addEventListener("input", () => state.slice?.data && draw());
  const wrap = $("#canvas-wrap");
  wrap.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const s = state.slice;
    if (!s) return;
    if (ev.ctrlKey || ev.metaKey) { const r = wrap.getBoundingClientRect(); zoomBy(ev.deltaY < 0 ? 1.25 : 0.8, ev.clientX - r.left, ev.clientY - r.top); return; }
    const slider = $("#slice");
    slider.value = Math.max(Number(slider.min), Math.min(Number(slider.max), Number(slider.value) + (ev.deltaY > 0 ? 1 : -1)));
    fetchSlice();
  }, { passive: false });
  let drag = null;
  wrap.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, panX: state.slice?.panX, panY: state.slice?.panY }; wrap.setPointerCapture(ev.pointerId); });
  wrap.addEventListener("pointerup", () => { drag = null; });
  wrap.addEventListener("pointermove", (ev) => {
    const s = state.slice;
    if (!s?.data) return;
    if (drag) { s.panX = drag.panX + ev.clientX - drag.x; s.panY = drag.panY + ev.clientY - drag.y; applyTransform(); }
    const hit = pointerVoxel(ev);
    $("#cursor-value").textContent = hit ? String(valueAt(hit.index)) : "–";
    $("#cursor-point").textContent = hit ? hit.point.join(",") : "–";
  });
}

// ---------------------------------------------------------------- start

$("#search").addEventListener("input", renderRepos);
$("#home").addEventListener("click", (e) => { e.preventDefault(); loadRepos(); });
wireSliceViewer();
loadRepos().catch((e) => { $("#repos-empty").hidden = false; $("#repos-empty").textContent = `Cannot list repos: ${e.message}`; });
window.diced = { state, openRepo, selectNode, openInstance }; // for tests and the console

// Who the server takes this browser to be; "Token…" sets or clears the token.
async function showWho() {
  try {
    const w = await api("/api/server/whoami");
    $("#signin").hidden = !w.AuthEnabled;
    $("#who").textContent = !w.AuthEnabled ? "" : w.User ? `signed in as ${w.User}` : "not signed in";
  } catch (e) {
    $("#signin").hidden = false;
    $("#who").textContent = e.message.includes(": 401") ? "token not accepted" : "";
  }
}
$("#signin").addEventListener("click", () => {
  const t = prompt("Token (sent as Authorization: Bearer …); empty to sign out", token() ?? "");
  if (t === null) return;
  if (t.trim()) localStorage.setItem("dicedToken", t.trim()); else localStorage.removeItem("dicedToken");
  location.reload();
});
showWho();
