// Talking to the server's own DVID API, and small DOM helpers shared by the viewer's modules.

export const $ = (sel) => document.querySelector(sel);

// With authentication on, the token (from "Token…", kept in this browser) goes with every request.
export const token = () => localStorage.getItem("dicedToken");

export async function api(path, as = "json", signal = undefined) {
  const t = token();
  const r = await fetch(path, { signal, ...(t ? { headers: { Authorization: `Bearer ${t}` } } : {}) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).trim()}`);
  return as === "json" ? r.json() : as === "text" ? r.text() : as === "blob" ? r.blob() : r.arrayBuffer();
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
export function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export const short = (uuid) => uuid.slice(0, 8);

/** The box ({min, max}, inclusive voxel corners) holding every one of `boxes` (at least one). */
export const boundsOf = (boxes) => ({
  min: [0, 1, 2].map((a) => Math.min(...boxes.map((b) => b.min[a]))),
  max: [0, 1, 2].map((a) => Math.max(...boxes.map((b) => b.max[a]))),
});
export const when = (t) => (t ? new Date(t).toLocaleString() : "");

export const IMAGE_TYPES = new Set(["uint8blk", "uint16blk", "uint32blk", "uint64blk", "float32blk", "rgba8blk"]);
export const LABEL_TYPES = new Set(["labelblk", "labelmap", "labelarray"]);
