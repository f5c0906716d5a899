// Diced web viewer: repos, the version DAG, instances at a version, a key browser, a slice viewer with labels over
// images, links to Neuroglancer, and deep links. Plain ES modules, no dependencies; everything comes from the
// server's own DVID API.
import { $, api, el, short, when, token, boundsOf, IMAGE_TYPES, LABEL_TYPES } from "./js/api.js";
import { renderDag, ancestorsOf } from "./js/dag.js";
import { parseHash, formatHash, neuroglancerKind, neuroglancerUrl } from "./js/links.js";
import { extentsPicture, timelinePicture, storageBars } from "./js/pictures.js";
import { SliceViewer, PLANES } from "./js/slices.js";
import { setupDiff, loadKeys } from "./js/panels.js";

// present: the instances of the selected version (name, repo-info entry), set when it is selected.
const state = { repos: {}, repo: null, node: null, present: [], instance: null, infos: {}, asked: 0 };
// Every choice the user makes (repo, version, instance) takes a new number; an answer that arrives after a newer
// choice was made is dropped, so slow answers never overwrite what is shown.
const ask = () => ++state.asked;
const stale = (n) => n !== state.asked;
const viewer = new SliceViewer($("#slice-canvas"), {
  status: (text) => { $("#slice-status").textContent = text; },
  view: (v) => { syncControls(v); writeHash(); },
  contrast: ([lo, hi]) => { $("#contrast-min").value = lo; $("#contrast-max").value = hi; },
});

// ---------------------------------------------------------------- repos

async function loadRepos() {
  state.repos = (await api("/api/repos/info")) || {};
  renderRepos();
}

function renderRepos() {
  const q = $("#search").value.trim().toLowerCase();
  const list = Object.values(state.repos).filter((r) => r && typeof r === "object")
    .filter((r) => !q || [r.Alias, r.Description, r.Root].some((s) => (s || "").toLowerCase().includes(q)))
    .sort((a, b) => (a.Alias || "").localeCompare(b.Alias || ""));
  $("#repos tbody").replaceChildren(...list.map((r) => {
    const nodes = Object.values(r.DAG?.Nodes || {});
    const row = el("tr", { class: "repo-row", "data-uuid": r.Root, onclick: () => openRepo(r.Root) },
      el("td", { class: "repo-name" }, r.Alias || "(no name)"), el("td", { class: "repo-description" }, r.Description || ""),
      el("td", {}, el("code", {}, short(r.Root))), el("td", {}, when(nodes.map((n) => n.Created).sort()[0])), el("td", {}, when(nodes.map((n) => n.Updated).sort().at(-1))));
    if (state.repo?.Root === r.Root) row.classList.add("selected");
    return row;
  }));
  $("#repos-empty").hidden = list.length > 0;
}

// ---------------------------------------------------------------- a repo and its versions

async function openRepo(root, nodeUuid, then) {
  const n = ask();
  const repo = await api(`/api/repo/${root}/info`);
  if (stale(n)) return;
  state.repo = repo;
  renderRepos();
  $("#repo-panel").hidden = false;
  $("#repo-title").textContent = state.repo.Alias || short(root);
  $("#repo-description").textContent = state.repo.Description || "";
  $("#storage-view").hidden = true;
  renderDag($("#dag"), Object.values(state.repo.DAG.Nodes), (uuid) => selectNode(uuid));
  const leaf = nodeUuid && state.repo.DAG.Nodes[nodeUuid] ? nodeUuid : Object.values(state.repo.DAG.Nodes).sort((a, b) => b.VersionID - a.VersionID)[0].UUID;
  await selectNode(leaf, then);
}

/** Instances present at the selected version (created there or at an ancestor), stored data only. */
function instancesAt(uuid) {
  const ancestors = ancestorsOf(state.repo.DAG.Nodes, uuid);
  return Object.entries(state.repo.DataInstances).sort(([a], [b]) => a.localeCompare(b))
    .filter(([, inst]) => ancestors.has(inst.Base.RepoUUID) && !(inst.Base.Tags && ("diced-generated" in inst.Base.Tags || "pyramid" in inst.Base.Tags)));
}

async function selectNode(uuid, then) {
  const n = ask();
  state.node = state.repo.DAG.Nodes[uuid];
  state.infos = {};
  for (const g of document.querySelectorAll("#dag .dag-node")) g.classList.toggle("selected", g.dataset.uuid === uuid);
  $("#node-panel").hidden = false;
  $("#node-uuid").textContent = uuid;
  const badge = $("#node-state");
  badge.textContent = state.node.Archived ? "archived" : state.node.Locked ? "locked" : "open";
  badge.className = `badge ${state.node.Locked ? "locked" : "open"}`;
  $("#node-note").textContent = state.node.Note || "";
  const log = await api(`/api/node/${uuid}/log`).catch(() => ({ log: state.node.Log }));
  if (stale(n)) return;
  $("#node-log").replaceChildren(...(log.log || []).map((l) => el("li", {}, l)));
  const present = (state.present = instancesAt(uuid));
  $("#instance-list").replaceChildren(...present.map(([name, inst]) =>
    el("li", { class: "instance", "data-name": name, onclick: () => openInstance(name) }, name, " ", el("span", {}, inst.Base.TypeName))));
  const infos = {};
  await Promise.all(present.map(async ([name]) => { infos[name] = await api(`/api/node/${uuid}/${encodeURIComponent(name)}/info`).catch(() => null); }));
  if (stale(n)) return;
  state.infos = infos;
  showVersionPictures(uuid, present);
  setNeuroglancerLink($("#node-neuroglancer"), $("#node-neuroglancer-note"), uuid, present.map(([n]) => n));
  writeHash();
  if (then) await then();
  else if (state.instance && present.some(([name]) => name === state.instance)) await openInstance(state.instance);
  else $("#instance-panel").hidden = true;
}

function extentOf(name) {
  const ext = state.infos[name]?.Extended;
  return ext?.MinPoint && ext?.MaxPoint && ext.MinPoint.length === 3 ? { name, min: ext.MinPoint, max: ext.MaxPoint } : null;
}

function showVersionPictures(uuid, present) {
  const boxes = present.map(([n]) => extentOf(n)).filter(Boolean);
  $("#extents-view").hidden = boxes.length === 0;
  $("#extents-picture").replaceChildren(extentsPicture(boxes));
  $("#extents-picture").dataset.version = uuid;
}

/** Bytes kept per instance and per version of the repo (GET /api/repo/{uuid}/storage), as bars. */
async function measureStorage() {
  const repo = state.repo;
  $("#measure-storage").disabled = true;
  try {
    const s = await api(`/api/repo/${repo.Root}/storage`);
    if (state.repo !== repo) return;
    $("#storage-instances").replaceChildren(storageBars(s.Instances.map((i) => ({ label: i.Name, bytes: i.Bytes, keys: i.Keys }))));
    const perVersion = new Map();
    for (const i of s.Instances) for (const v of i.Versions) {
      const key = v.UUID || `(deleted version ${v.VersionID})`;
      const sum = perVersion.get(key) || { bytes: 0, keys: 0 };
      perVersion.set(key, { bytes: sum.bytes + v.Bytes, keys: sum.keys + v.Keys });
    }
    const nodes = repo.DAG.Nodes;
    $("#storage-versions").replaceChildren(storageBars([...perVersion].map(([uuid, v]) => ({
      label: nodes[uuid] ? `${short(uuid)} ${nodes[uuid].Note || ""}`.trim() : uuid, id: uuid, ...v,
    }))));
    $("#storage-view").hidden = false;
  } catch (e) {
    $("#storage-view").hidden = false;
    $("#storage-instances").textContent = `cannot measure: ${e.message}`;
  } finally {
    $("#measure-storage").disabled = false;
  }
}

/** Points `link` at Neuroglancer showing `names` at `uuid` (those it can read); `note` says what was left out and why. */
function setNeuroglancerLink(link, note, uuid, names, focus) {
  const layers = [], left = [];
  for (const name of names) {
    const info = state.infos[name];
    if (!info) continue;
    const k = neuroglancerKind(info.Base.TypeName, info);
    if (k.kind) layers.push({ name, kind: k.kind, info });
    else if (IMAGE_TYPES.has(info.Base.TypeName) || LABEL_TYPES.has(info.Base.TypeName)) left.push(`${name}: ${k.why}`);
  }
  link.hidden = layers.length === 0;
  link.href = layers.length ? neuroglancerUrl(location.origin, uuid, layers, focus) : "#";
  note.textContent = left.join("; ");
}

// ---------------------------------------------------------------- instances

async function openInstance(name, view = {}) {
  const n = ask();
  const uuid = state.node.UUID;
  state.instance = name;
  const info = state.infos[name] || await api(`/api/node/${uuid}/${encodeURIComponent(name)}/info`);
  if (stale(n)) return;
  state.infos[name] = info;
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
  // With an image, the labels of the version can go over it, and the other way round.
  const others = (types) => state.present.map(([n]) => n).filter((n) => types.has(state.infos[n]?.Base.TypeName));
  const isLabel = LABEL_TYPES.has(type);
  setupDiff(state.repo, state.node, name, () => state.instance);
  showTimeline(uuid, name, type, n);
  $("#keyvalue-browser").hidden = type !== "keyvalue";
  const spatial = ext.BlockSize && ext.BlockSize.length === 3 && (IMAGE_TYPES.has(type) || isLabel);
  $("#slice-viewer").hidden = !spatial;
  if (type === "keyvalue") await loadKeys(uuid, name, () => !stale(n));
  if (spatial) {
    fillLayerChoices(isLabel ? others(IMAGE_TYPES) : others(LABEL_TYPES), isLabel ? view.image ?? "" : view.labels ?? "", isLabel);
    $("#layer-choice-label").firstChild.textContent = isLabel ? "Image under it " : "Labels over it ";
    showSlices(view);
  }
  instanceNeuroglancerLink();
}

/** The instance's Neuroglancer link: it and the layer chosen over or under it (for labels, else the first uint8 image). */
function instanceNeuroglancerLink() {
  const name = state.instance, uuid = state.node.UUID;
  const isLabel = LABEL_TYPES.has(state.infos[name]?.Base.TypeName);
  const chosen = $("#slice-viewer").hidden ? "" : $("#layer-choice").value;
  const firstGrey = state.present.map(([n]) => n).find((n) => state.infos[n]?.Base.TypeName === "uint8blk");
  const names = isLabel ? [chosen || firstGrey, name].filter(Boolean) : [name, chosen].filter(Boolean);
  setNeuroglancerLink($("#instance-neuroglancer"), $("#instance-neuroglancer-note"), uuid, names, name);
}

async function showTimeline(uuid, name, type, n) {
  $("#timeline-view").hidden = true;
  if (!(LABEL_TYPES.has(type) || ["keyvalue", "annotation", "neuronjson"].includes(type))) return;
  const records = await api(`/api/node/${uuid}/${encodeURIComponent(name)}/mutations`).catch(() => null);
  if (stale(n) || !Array.isArray(records) || records.length === 0) return;
  $("#timeline-view").hidden = false;
  $("#timeline-summary").textContent = `${records.length} mutations`;
  $("#timeline-picture").replaceChildren(timelinePicture(records));
}

function fillLayerChoices(names, chosen, isLabel) {
  const select = $("#layer-choice");
  select.replaceChildren(el("option", { value: "" }, "none"), ...names.map((n) => el("option", { value: n }, n)));
  select.value = names.includes(chosen) ? chosen : "";
  select.dataset.role = isLabel ? "image" : "labels";
}

/** A layer of the slice viewer for instance `name`: its levels and how to read each. */
function layerOf(name) {
  if (!name) return null;
  const info = state.infos[name];
  const type = info.Base.TypeName;
  const isLabel = LABEL_TYPES.has(type);
  let levels = 0;
  if (type === "labelmap" || type === "labelarray") levels = info.Extended?.MaxDownresLevel || 0;
  else if (!isLabel) while (state.repo.DataInstances[`${name}_${levels + 1}`]) levels++;
  return {
    name, type, isLabel, levels, dataType: info.Extended?.Values?.[0]?.DataType || "uint8",
    levelName: (k) => (k === 0 || isLabel ? name : `${name}_${k}`),
    query: (k) => (isLabel && k > 0 ? `?scale=${k}` : ""),
  };
}

function showSlices(view = {}) {
  const main = layerOf(state.instance), other = layerOf($("#layer-choice").value);
  const image = main.isLabel ? other : main, labels = main.isLabel ? main : other;
  const boxes = [image, labels].filter(Boolean).map((l) => extentOf(l.name)).filter(Boolean);
  const bounds = boxes.length ? boundsOf(boxes) : { min: [0, 0, 0], max: [63, 63, 63] };
  $("#contrast").hidden = !image || image.dataType === "uint8";
  $("#opacity-control").hidden = !(image && labels);
  if (view.opacity !== undefined) viewer.opacity = view.opacity;
  viewer.open(state.node.UUID, image, labels, bounds, state.infos[state.instance].Extended?.VoxelSize, { plane: view.plane || $("#plane").value, pos: view.pos, zoom: view.zoom });
}

function syncControls(v) {
  const p = PLANES[v.plane];
  $("#plane").value = v.plane;
  const slider = $("#slice");
  slider.min = viewer.min[p.w]; slider.max = viewer.max[p.w]; slider.value = v.pos[p.w];
  $("#slice-value").textContent = v.pos[p.w];
  $("#opacity").value = v.opacity;
}

// ---------------------------------------------------------------- deep links

let hashTimer = 0;
/** Puts the view in the address (after it settles: panning and scrolling do not write it on every event). */
function writeHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(writeHashNow, 100);
}

function writeHashNow() {
  if (state.applying || !state.repo) return;
  const v = { repo: state.repo.Root, version: state.node?.UUID };
  if (state.instance && !$("#instance-panel").hidden) {
    v.instance = state.instance;
    if (!$("#slice-viewer").hidden && viewer.uuid) {
      Object.assign(v, viewer.view());
      const choice = $("#layer-choice").value;
      if (choice) v[$("#layer-choice").dataset.role] = choice;
      if (!(viewer.image && viewer.labels)) delete v.opacity;
    }
  }
  const hash = formatHash(v);
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

async function applyHash() {
  const v = parseHash(location.hash);
  if (!v.repo) return;
  state.applying = true;
  if (!v.instance) state.instance = null;
  try {
    // Names the version does not have are left out rather than failing the page.
    const present = () => state.present.some(([n]) => n === v.instance);
    await openRepo(v.repo, v.version, async () => {
      if (v.instance && present()) await openInstance(v.instance, v);
      else { state.instance = null; $("#instance-panel").hidden = true; }
    });
  } catch (e) {
    $("#repos-empty").hidden = false;
    $("#repos-empty").textContent = `Cannot open the view in the link: ${e.message}`;
  } finally {
    state.applying = false;
  }
  writeHashNow();
}

// ---------------------------------------------------------------- controls and start

function wireControls() {
  $("#plane").addEventListener("change", (e) => viewer.setPlane(e.target.value));
  $("#slice").addEventListener("input", (e) => viewer.setSlice(Number(e.target.value)));
  $("#zoom-in").addEventListener("click", () => viewer.zoomBy(2));
  $("#zoom-out").addEventListener("click", () => viewer.zoomBy(0.5));
  $("#fit").addEventListener("click", () => viewer.fit());
  $("#measure-storage").addEventListener("click", measureStorage);
  $("#opacity").addEventListener("input", (e) => viewer.setOpacity(Number(e.target.value)));
  $("#layer-choice").addEventListener("change", () => { showSlices(viewer.view()); instanceNeuroglancerLink(); });
  for (const id of ["#contrast-min", "#contrast-max"]) $(id).addEventListener("input", () => viewer.setContrast(Number($("#contrast-min").value), Number($("#contrast-max").value)));
  const wrap = $("#canvas-wrap");
  const local = (ev) => { const r = wrap.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  wrap.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    if (!viewer.uuid) return;
    if (ev.ctrlKey || ev.metaKey) viewer.zoomBy(ev.deltaY < 0 ? 1.25 : 0.8, ...local(ev));
    else viewer.setSlice(viewer.pos[PLANES[viewer.plane].w] + (ev.deltaY > 0 ? 1 : -1));
  }, { passive: false });
  let drag = null, hoverTimer = 0;
  wrap.addEventListener("pointerdown", (ev) => { drag = { x: ev.clientX, y: ev.clientY }; wrap.setPointerCapture(ev.pointerId); });
  wrap.addEventListener("pointerup", () => { drag = null; });
  wrap.addEventListener("pointermove", (ev) => {
    if (!viewer.uuid) return;
    if (drag) { viewer.panBy(ev.clientX - drag.x, ev.clientY - drag.y); drag = { x: ev.clientX, y: ev.clientY }; }
    const hit = viewer.hit(...local(ev));
    const value = hit ? (viewer.image ? hit.image : hit.label) : undefined;
    $("#cursor-value").textContent = value === undefined ? "–" : String(value);
    $("#cursor-point").textContent = hit ? hit.point.join(",") : "–";
    clearTimeout(hoverTimer);
    if (hit && viewer.labels) hoverTimer = setTimeout(() => describeLabel(hit.point), 120);
    else { described++; describedAt = ""; $("#cursor-label").textContent = ""; }
  });
}

/** The body and supervoxel under `point` and the body's size, asked of the server (exact at any zoom). */
let described = 0, describedAt = "";
async function describeLabel(point) {
  const layer = viewer.labels, uuid = viewer.uuid;
  const where = `${uuid}/${layer.name}/${point.join(",")}`;
  if (where === describedAt) return; // still the voxel described last
  describedAt = where;
  const n = ++described;
  const at = `/api/node/${uuid}/${encodeURIComponent(layer.name)}/label/${point.join("_")}`;
  // Label ids are uint64: read the digits from the text, not through a JSON number (exact only below 2^53).
  const labelOf = async (url) => (/"Label"\s*:\s*(\d+)/.exec(await api(url, "text")) || [])[1] ?? "0";
  let text;
  try {
    const body = await labelOf(at);
    text = body === "0" ? "background" : `body ${body}`;
    if (layer.type === "labelmap" && body !== "0") {
      const sv = await labelOf(`${at}?supervoxels=true`);
      const size = (await api(`/api/node/${uuid}/${encodeURIComponent(layer.name)}/size/${body}`)).voxels;
      text += ` (supervoxel ${sv}), ${size.toLocaleString("en-US")} voxels`;
    }
  } catch (e) {
    text = e.message;
    describedAt = "";
  }
  if (n === described && viewer.labels === layer && viewer.uuid === uuid) $("#cursor-label").textContent = text;
}

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

$("#search").addEventListener("input", renderRepos);
$("#home").addEventListener("click", (e) => { e.preventDefault(); history.replaceState(null, "", "#"); loadRepos(); });
$("#signin").addEventListener("click", () => {
  const t = prompt("Token (sent as Authorization: Bearer …); empty to sign out", token() ?? "");
  if (t === null) return;
  if (t.trim()) localStorage.setItem("dicedToken", t.trim()); else localStorage.removeItem("dicedToken");
  location.reload();
});
window.addEventListener("hashchange", () => applyHash());
window.addEventListener("resize", () => viewer.uuid && viewer.draw());
wireControls();
showWho();
loadRepos().then(applyHash).catch((e) => { $("#repos-empty").hidden = false; $("#repos-empty").textContent = `Cannot list repos: ${e.message}`; });
window.diced = { state, viewer, openRepo, selectNode, openInstance }; // for tests and the console
