// The slice viewer: one plane of an image instance with a label instance over it, drawn from tiles fetched for
// what is visible, at a coarse pyramid level first and then at the level that fits the zoom.
import { api, short } from "./api.js";
import { paint, voxelsOf } from "./colors.js";

export const PLANES = { xy: { dims: "0_1", u: 0, v: 1, w: 2 }, xz: { dims: "0_2", u: 0, v: 2, w: 1 }, yz: { dims: "1_2", u: 1, v: 2, w: 0 } };
const TILE = 256, MAX_TILES = 600, IN_FLIGHT = 6;

/**
 * A layer: { name, type, dataType, isLabel, levels (coarsest level kept, 0 without a pyramid), levelName(k) -> the
 * instance to read level k from, query(k) -> extra query string }.
 */
export class SliceViewer {
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks; // { status(text), view(view), hover(hit) }
    this.tiles = new Map(); // key -> { state: "loading"|"ready"|"failed", canvas, values, w, h }
    this.queue = [];
    this.inFlight = 0;
    this.opacity = 0.5;
    this.contrast = null; // [lo, hi] for images that are not uint8, set from the first tiles drawn
  }

  /** Shows `image` and/or `labels` at version `uuid`; `bounds` {min, max} in voxels; `view` {plane, pos, zoom} or fit. */
  open(uuid, image, labels, bounds, voxelSize, view = {}) {
    Object.assign(this, { uuid, image, labels, min: bounds.min, max: bounds.max, voxelSize: voxelSize || [1, 1, 1] });
    this.contrast = null;
    this.plane = view.plane || this.plane || "xy";
    this.pos = view.pos ? [...view.pos] : this.min.map((lo, a) => Math.round((lo + this.max[a]) / 2));
    if (view.zoom) this.zoom = view.zoom; else this.fit(false);
    this.changed();
  }

  /** Screen pixels per voxel along axis a (voxels of unequal size keep their aspect). */
  scaleOf(a) { return this.zoom * this.voxelSize[a] / Math.min(...this.voxelSize); }

  /** Zooms so that the whole extent of the plane fits the canvas, centred. */
  fit(redraw = true) {
    const p = PLANES[this.plane];
    const rect = this.size();
    const su = this.voxelSize[p.u] / Math.min(...this.voxelSize), sv = this.voxelSize[p.v] / Math.min(...this.voxelSize);
    this.zoom = Math.min(rect.w / ((this.max[p.u] - this.min[p.u] + 1) * su), rect.h / ((this.max[p.v] - this.min[p.v] + 1) * sv));
    this.pos[p.u] = (this.min[p.u] + this.max[p.u] + 1) / 2 - 0.5;
    this.pos[p.v] = (this.min[p.v] + this.max[p.v] + 1) / 2 - 0.5;
    if (redraw) this.changed();
  }

  size() {
    const r = this.canvas.parentElement.getBoundingClientRect();
    return { w: Math.max(64, Math.floor(r.width)), h: Math.max(64, Math.floor(r.height)) };
  }

  /** Another plane through the same point, at the same zoom. */
  setPlane(plane) { this.plane = plane; this.pos[PLANES[plane].w] = Math.round(this.pos[PLANES[plane].w]); this.changed(); }
  setSlice(at) { this.pos[PLANES[this.plane].w] = Math.max(this.min[PLANES[this.plane].w], Math.min(this.max[PLANES[this.plane].w], at)); this.changed(); }
  setOpacity(o) { this.opacity = o; this.draw(); this.hooks.view?.(this.view()); }
  setContrast(lo, hi) { this.contrast = [lo, hi]; for (const t of this.tiles.values()) t.painted = null; this.draw(); }

  zoomBy(factor, sx, sy) {
    const { w, h } = this.size();
    sx ??= w / 2; sy ??= h / 2;
    const p = PLANES[this.plane];
    const before = this.voxelAt(sx, sy);
    this.zoom = Math.min(64, Math.max(1 / 1024, this.zoom * factor));
    const after = this.voxelAt(sx, sy);
    this.pos[p.u] += before[0] - after[0];
    this.pos[p.v] += before[1] - after[1];
    this.changed();
  }

  panBy(dx, dy) {
    const p = PLANES[this.plane];
    this.pos[p.u] -= dx / this.scaleOf(p.u);
    this.pos[p.v] -= dy / this.scaleOf(p.v);
    this.changed();
  }

  /** The view as a deep link keeps it: plane, integer position, zoom. */
  view() { return { plane: this.plane, pos: this.pos.map(Math.round), zoom: this.zoom, opacity: this.opacity }; }

  /** Fractional (u, v) voxel coordinates at canvas pixel (sx, sy). */
  voxelAt(sx, sy) {
    const p = PLANES[this.plane];
    const { w, h } = this.size();
    return [this.pos[p.u] + 0.5 + (sx - w / 2) / this.scaleOf(p.u), this.pos[p.v] + 0.5 + (sy - h / 2) / this.scaleOf(p.v)];
  }

  /** Canvas pixel of the centre of voxel `point` (tests and overlays use it). */
  screenOf(point) {
    const p = PLANES[this.plane];
    const { w, h } = this.size();
    return [w / 2 + (point[p.u] - this.pos[p.u]) * this.scaleOf(p.u), h / 2 + (point[p.v] - this.pos[p.v]) * this.scaleOf(p.v)];
  }

  /** The level that gives about one voxel per screen pixel, within what the layer keeps. */
  levelFor(layer) {
    const p = PLANES[this.plane];
    const perPixel = 1 / Math.max(this.scaleOf(p.u), this.scaleOf(p.v));
    return Math.max(0, Math.min(layer.levels, Math.floor(Math.log2(Math.max(1, perPixel)))));
  }

  changed() {
    // Tiles asked for but not yet started are asked for again if the new view still needs them.
    this.queue = [];
    for (const [key, e] of this.tiles) if (e.state === "queued") this.tiles.delete(key);
    this.draw();
    this.hooks.view?.(this.view());
  }

  // ---------------------------------------------------------------- tiles

  /** Tiles of `layer` at level k covering the visible area: [{key, k, offset, w, h}], nearest the centre first. */
  visibleTiles(layer, k) {
    const p = PLANES[this.plane];
    const { w, h } = this.size();
    const [u0, v0] = this.voxelAt(0, 0), [u1, v1] = this.voxelAt(w, h);
    const s = 2 ** k;
    const lo = (a) => Math.floor(this.min[a] / s), hi = (a) => Math.floor(this.max[a] / s);
    const at = Math.floor(this.pos[p.w] / s);
    const list = [];
    for (let tv = Math.floor(Math.max(v0 / s, lo(p.v)) / TILE); tv * TILE <= Math.min(v1 / s, hi(p.v)); tv++)
      for (let tu = Math.floor(Math.max(u0 / s, lo(p.u)) / TILE); tu * TILE <= Math.min(u1 / s, hi(p.u)); tu++) {
        const ou = Math.max(tu * TILE, lo(p.u)), ov = Math.max(tv * TILE, lo(p.v));
        const tw = Math.min((tu + 1) * TILE, hi(p.u) + 1) - ou, th = Math.min((tv + 1) * TILE, hi(p.v) + 1) - ov;
        if (tw <= 0 || th <= 0) continue;
        const offset = [0, 0, 0];
        offset[p.u] = ou; offset[p.v] = ov; offset[p.w] = at;
        const key = `${this.uuid}/${layer.name}/${k}/${this.plane}/${at}/${tu}/${tv}`;
        list.push({ key, k, offset, ou, ov, w: tw, h: th, d: Math.hypot((ou + tw / 2) * s - this.pos[p.u], (ov + th / 2) * s - this.pos[p.v]) });
      }
    return list.sort((a, b) => a.d - b.d);
  }

  request(layer, t) {
    if (this.tiles.has(t.key)) { const e = this.tiles.get(t.key); this.tiles.delete(t.key); this.tiles.set(t.key, e); return e; }
    const entry = { state: "queued", w: t.w, h: t.h };
    this.tiles.set(t.key, entry);
    this.queue.push(() => this.load(layer, t, entry));
    if (this.tiles.size > MAX_TILES) for (const [key, e] of this.tiles) { if (this.tiles.size <= MAX_TILES) break; if (e.state !== "loading") this.tiles.delete(key); }
    return entry;
  }

  pump() {
    while (this.inFlight < IN_FLIGHT && this.queue.length) {
      const job = this.queue.shift();
      this.inFlight++;
      job().finally(() => { this.inFlight--; this.pump(); this.scheduleDraw(); });
    }
  }

  async load(layer, t, entry) {
    entry.state = "loading";
    const p = PLANES[this.plane];
    const base = `/api/node/${this.uuid}/${encodeURIComponent(layer.levelName(t.k))}/raw/${p.dims}/${t.w}_${t.h}/${t.offset.join("_")}`;
    try {
      if (layer.dataType === "uint8" && !layer.isLabel) {
        const bitmap = await createImageBitmap(await api(`${base}/png${layer.query(t.k)}`, "blob"));
        const c = document.createElement("canvas");
        c.width = t.w; c.height = t.h;
        const ctx = c.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(bitmap, 0, 0);
        const rgba = ctx.getImageData(0, 0, t.w, t.h).data;
        entry.values = new Uint8Array(t.w * t.h).map((_, i) => rgba[4 * i]);
        entry.painted = c;
      } else {
        entry.values = voxelsOf(await api(`${base}/binary${layer.query(t.k)}`, "bytes"), layer.isLabel ? "uint64" : layer.dataType);
      }
      entry.state = "ready";
    } catch (e) {
      entry.state = "failed";
      entry.error = e.message;
    }
  }

  /** The tile's pixels as a canvas: labels coloured, other images grey within the contrast. */
  painted(layer, entry) {
    if (entry.painted) return entry.painted;
    if (!layer.isLabel && !this.contrast) this.autoContrast();
    const [lo, hi] = this.contrast || [0, 255];
    const c = document.createElement("canvas");
    c.width = entry.w; c.height = entry.h;
    c.getContext("2d").putImageData(new ImageData(paint(entry.values, layer.isLabel, lo, hi, !!this.image && layer === this.labels), entry.w, entry.h), 0, 0);
    return (entry.painted = c);
  }

  /** Contrast spanning the values of the image tiles loaded for this view. */
  autoContrast() {
    let lo = Infinity, hi = -Infinity;
    for (const e of this.tiles.values()) if (e.state === "ready" && e.layer === this.image && !(e.values instanceof BigUint64Array))
      for (const v of e.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo === Infinity) return;
    this.contrast = [lo, Math.max(hi, lo + 1)];
    this.hooks.contrast?.(this.contrast);
  }

  scheduleDraw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => { this.drawPending = false; this.draw(); });
  }

  /** Draws what is loaded (coarse tiles under fine ones; labels over the image) and asks for what is missing. */
  draw() {
    if (!this.uuid) return;
    const { w, h } = this.size();
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const p = PLANES[this.plane];
    let missing = 0;
    const fine = {};
    for (const layer of [this.image, this.labels].filter(Boolean)) {
      const k = (fine[layer.name] = this.levelFor(layer));
      const levels = layer.levels > k ? [layer.levels, k] : [k]; // the coarsest level first, while the fitting one loads
      ctx.globalAlpha = layer === this.labels && this.image ? this.opacity : 1;
      for (const level of levels)
        for (const t of this.visibleTiles(layer, level)) {
          const entry = this.request(layer, t);
          entry.layer = layer;
          if (entry.state !== "ready") { if (level === k && entry.state !== "failed") missing++; continue; }
          const s = 2 ** level;
          ctx.drawImage(this.painted(layer, entry), w / 2 + (t.ou * s - this.pos[p.u] - 0.5) * this.scaleOf(p.u), h / 2 + (t.ov * s - this.pos[p.v] - 0.5) * this.scaleOf(p.v),
            t.w * s * this.scaleOf(p.u), t.h * s * this.scaleOf(p.v));
        }
    }
    ctx.globalAlpha = 1;
    this.pump();
    const names = [this.image, this.labels].filter(Boolean).map((l) => l.name).join(" + ");
    const at = this.pos[p.w];
    this.hooks.status?.(missing > 0 ? `${names}@${short(this.uuid)} ${this.plane.toUpperCase()} slice ${at}: loading ${missing} tiles…`
      : `${names}@${short(this.uuid)} ${this.plane.toUpperCase()} slice ${at}: drawn at level ${Object.values(fine).join("/")}, zoom ${this.zoom.toFixed(3)}`);
  }

  /** What is under canvas pixel (sx, sy): the voxel and each layer's value there, from the finest tile loaded. */
  hit(sx, sy) {
    const p = PLANES[this.plane];
    const [u, v] = this.voxelAt(sx, sy);
    const point = [...this.pos].map(Math.round);
    point[p.u] = Math.floor(u); point[p.v] = Math.floor(v);
    if (point.some((c, a) => c < this.min[a] || c > this.max[a])) return null;
    const valueOf = (layer) => {
      if (!layer) return undefined;
      for (let k = 0; k <= layer.levels; k++) {
        const s = 2 ** k;
        const tu = Math.floor(point[p.u] / s / TILE), tv = Math.floor(point[p.v] / s / TILE);
        const e = this.tiles.get(`${this.uuid}/${layer.name}/${k}/${this.plane}/${Math.floor(point[p.w] / s)}/${tu}/${tv}`);
        if (e?.state !== "ready") continue;
        const iu = Math.floor(point[p.u] / s) - Math.max(tu * TILE, Math.floor(this.min[p.u] / s));
        const iv = Math.floor(point[p.v] / s) - Math.max(tv * TILE, Math.floor(this.min[p.v] / s));
        return e.values[iv * e.w + iu];
      }
      return undefined;
    };
    return { point, image: valueOf(this.image), label: valueOf(this.labels) };
  }
}
