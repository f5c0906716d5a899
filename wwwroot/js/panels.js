// Instance panels that are lists: the changes since another version, and a keyvalue's keys.
import { $, api, el, short } from "./api.js";

/** The instance's changes since another version (its first parent by default): GET …/diff/{other}. */
export function setupDiff(repo, node, name, current) {
  const nodes = Object.values(repo.DAG.Nodes);
  const others = nodes.filter((n) => n.UUID !== node.UUID);
  const view = $("#diff-view");
  view.hidden = others.length === 0;
  if (view.hidden) return;
  const parent = nodes.find((n) => n.VersionID === (node.Parents || [])[0]);
  const select = $("#diff-with");
  select.replaceChildren(...others.map((n) => el("option", { value: n.UUID }, `${short(n.UUID)} ${n.Note || ""}`.trim())));
  select.value = (parent || others[0]).UUID;
  select.onchange = () => showDiff(node.UUID, name, select.value, current);
  showDiff(node.UUID, name, select.value, current);
}

async function showDiff(uuid, name, other, current) {
  const list = $("#diff-list");
  list.replaceChildren();
  $("#diff-summary").textContent = "comparing…";
  try {
    const d = await api(`/api/node/${other}/${encodeURIComponent(name)}/diff/${uuid}`);
    if (current() !== name || $("#diff-with").value !== other) return; // another choice was made meanwhile
    const counts = {};
    for (const c of d.changes) counts[c.change] = (counts[c.change] || 0) + 1;
    $("#diff-summary").textContent = d.changes.length === 0 ? "no changes"
      : Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
    list.replaceChildren(...d.changes.slice(0, 500).map((c) => el("li", { class: `change ${c.change}`, "data-key": c.key }, `${c.key} `, el("span", {}, c.change))));
  } catch (e) {
    $("#diff-summary").textContent = `diff unavailable: ${e.message}`;
  }
}

export async function loadKeys(uuid, name, current = () => true) {
  $("#key-view").hidden = true;
  const keys = await api(`/api/node/${uuid}/${encodeURIComponent(name)}/keys`);
  if (!current()) return;
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
