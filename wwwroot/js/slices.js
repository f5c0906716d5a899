// The slice viewer: one plane of an image instance with a label instance over it, drawn from tiles fetched for
// what is visible, at a coarse pyramid level first and then at the level that fits the zoom.
import { api, short } from "./api.js";
import { paint, voxelsOf } from "./colors.js";

export const PLANES = { xy: { dims: "0_1", u: 0, v: 1, w: 2 }, xz: { dims: "0_2", u: 0, v: 2, w: 1 }, yz: { dims: "1_2", u: 1, v: 2, w: 0 } };
// At most MAX_VISIBLE tiles per layer are asked for by one view (zoom in, or keep a pyramid, to see more detail);
// the cache keeps at most MAX_BYTES of tiles and never drops a tile the current view uses.
const TILE = 256, MAX_VISIBLE = 96, MAX_BYTES = 192 << 20, IN_FLIGHT = 6;

/**
 * A layer: { name, type, dataType, isLabel, levels (coarsest level kept, 0 without a pyramid), levelName(k) -> the
 * instance to read level k from, query(k) -> extra query string }.
 */
export class SliceViewer {
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks; // { status(text), view(view), contrast([lo, hi]) }
    this.tiles = new Map(); // key -> { state: "queued"|"loading"|"ready"|"failed", layer, values, painted, w, h, bytes, used }
    this.queue = [];
    this.inFlight = 0;
    this.opacity = 0.5;
    this.contrast = null; // [lo, hi] for images that are not uint8, set from the first tiles drawn
    this.drawn = 0; // draws so far: tiles used by the current one are not evicted
    this.bytes = 0; // what the cached tiles hold (values and painted pixels)
    this.aborts = new AbortController();
  }

  /** Shows `image` and/or `labels` at version `uuid`; `bounds` {min, max} in voxels; `view` {plane, pos, zoom} or fit. */
  open(uuid, image, labels, bounds, voxelSize, view = {}) {
    if (uuid !== this.uuid || image?.name !== this.image?.name || labels?.name !== this.labels?.name) {
      // Another version or instance: requests still running for the old one are not waited for.
      this.aborts.abort();
      this.aborts = new AbortController();
      for (const [key, e] of this.tiles) if (e.state !== "ready") this.tiles.delete(key);
      this.queue = [];
    }
    Object.assign(this, { uuid, image, labels, min: bounds.min, max: bounds.max, voxelSize: voxelSize || [1, 1, 1] });
    this.contrast = null;
    for (const t of this.tiles.values()) t.painted = t.bitmapCanvas || null; // label 0 is clear over an image only
    this.plane = view.plane || this.plane || "xy";
    this.pos = view.pos ? [...view.pos] : this.min.map((lo, a) => Math.round((lo + this.max[a]) / 2));
    this.pos[PLANES[this.plane].w] = Math.round(this.pos[PLANES[this.plane].w]);
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
  setContrast(lo, hi) { this.contrast = [lo, hi]; for (const t of this.tiles.values()) if (t.layer === this.image && !t.bitmapCanvas) t.painted = null; this.draw(); }

  zoomBy(factor, sx, sy) {
    const floor = Math.min(1 / 1024, this.zoom); // a fitted huge volume may already be below it
    const { w, h } = this.size();
    sx ??= w / 2; sy ??= h / 2;
    const p = PLANES[this.plane];
    const before = this.voxelAt(sx, sy);
    this.zoom = Math.min(64, Math.max(floor, this.zoom * factor));
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

  /** The view as a deep link keeps it: plane, position (the slice an integer, the centre to a tenth of a voxel), zoom. */
  view() {
    const w = PLANES[this.plane].w;
    return { plane: this.plane, pos: this.pos.map((c, a) => (a === w ? Math.round(c) : Math.round(c * 10) / 10)), zoom: this.zoom, opacity: this.opacity };
  }

  /** Fractional (u, v) voxel coordinates at canvas pixel (sx, sy). */
  voxelAt(sx, sy, { w, h } = this.size()) {
    const p = PLANES[this.plane];
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
    // Tiles asked for but not yet started, or that failed, are asked for again if the new view needs them.
    this.queue = [];
    for (const [key, e] of this.tiles) if (e.state === "queued" || e.state === "failed") this.tiles.delete(key);
    this.scheduleDraw(); // once per frame, however many pointer or wheel events came
    this.hooks.view?.(this.view());
  }

  // ---------------------------------------------------------------- tiles

  /** Tile (tu, tv) of `layer` at level k in slice `at` (level-k coordinates), clipped to the extents; null if empty. */
  tileOf(layer, k, tu, tv, at) {
    const p = PLANES[this.plane];
    const s = 2 ** k;
    const lo = (a) => Math.floor(this.min[a] / s), hi = (a) => Math.floor(this.max[a] / s);
    const ou = Math.max(tu * TILE, lo(p.u)), ov = Math.max(tv * TILE, lo(p.v));
    const w = Math.min((tu + 1) * TILE, hi(p.u) + 1) - ou, h = Math.min((tv + 1) * TILE, hi(p.v) + 1) - ov;
    if (w <= 0 || h <= 0) return null;
    const offset = [0, 0, 0];
    offset[p.u] = ou; offset[p.v] = ov; offset[p.w] = at;
    return { key: `${this.uuid}/${layer.name}/${k}/${this.plane}/${at}/${ou}_${ov}_${w}_${h}`, k, offset, ou, ov, w, h };
  }

  /** Tiles of `layer` at level k covering the visible area, nearest the centre first. */
  visibleTiles(layer, k, size = this.size()) {
    const p = PLANES[this.plane];
    const [u0, v0] = this.voxelAt(0, 0, size), [u1, v1] = this.voxelAt(size.w, size.h, size);
    const s = 2 ** k;
    const at = Math.floor(this.pos[p.w] / s);
    const list = [];
    const first = (c, a) => Math.floor(Math.max(c / s, Math.floor(this.min[a] / s)) / TILE);
    const last = (c, a) => Math.floor(Math.min(c / s, Math.floor(this.max[a] / s)) / TILE);
    for (let tv = first(v0, p.v); tv <= last(v1, p.v); tv++)
      for (let tu = first(u0, p.u); tu <= last(u1, p.u); tu++) {
        const t = this.tileOf(layer, k, tu, tv, at);
        if (t) list.push({ ...t, d: Math.hypot((t.ou + t.w / 2) * s - this.pos[p.u], (t.ov + t.h / 2) * s - this.pos[p.v]) });
      }
    return list.sort((a, b) => a.d - b.d);
  }

  request(layer, t) {
    let entry = this.tiles.get(t.key);
    if (entry) this.tiles.delete(t.key); // re-inserted: the map's order is least recently used first
    else {
      entry = { state: "queued", w: t.w, h: t.h, layer };
      this.queue.push(() => this.load(layer, t, entry));
    }
    entry.used = this.drawn;
    this.tiles.set(t.key, entry);
    if (this.bytes > MAX_BYTES)
      for (const [key, e] of this.tiles) {
        if (this.bytes <= MAX_BYTES) break;
        if (e.state !== "loading" && e.used !== this.drawn) { this.bytes -= e.bytes || 0; this.tiles.delete(key); }
      }
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
    if (this.tiles.get(t.key) !== entry) return; // dropped before its turn came
    entry.state = "loading";
    const signal = this.aborts.signal;
    const p = PLANES[this.plane];
    const base = `/api/node/${this.uuid}/${encodeURIComponent(layer.levelName(t.k))}/raw/${p.dims}/${t.w}_${t.h}/${t.offset.join("_")}`;
    try {
      if (layer.dataType === "uint8" && !layer.isLabel) {
        const bitmap = await createImageBitmap(await api(`${base}/png${layer.query(t.k)}`, "blob", signal), { colorSpaceConversion: "none", premultiplyAlpha: "none" });
        const c = document.createElement("canvas");
        c.width = t.w; c.height = t.h;
        const ctx = c.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(bitmap, 0, 0);
        const rgba = ctx.getImageData(0, 0, t.w, t.h).data;
        entry.values = new Uint8Array(t.w * t.h).map((_, i) => rgba[4 * i]);
        bitmap.close();
        entry.painted = entry.bitmapCanvas = c;
      } else {
        entry.values = voxelsOf(await api(`${base}/binary${layer.query(t.k)}`, "bytes", signal), layer.isLabel ? "uint64" : layer.dataType);
      }
      entry.state = "ready";
      entry.bytes = entry.values.byteLength + 4 * t.w * t.h; // and its painted pixels
      if (this.tiles.get(t.key) === entry) this.bytes += entry.bytes;
    } catch (e) {
      entry.state = "failed";
      entry.error = e.message;
    }
  }

  /** The tile's pixels as a canvas: labels coloured, other images grey within the contrast. */
  painted(layer, entry) {
    if (entry.painted) return entry.painted;
    // Images of uint64 voxels are grey like the others; BigInts become Numbers for that (exact below 2^53).
    if (!layer.isLabel && entry.values instanceof BigUint64Array) entry.values = Float64Array.from(entry.values, Number);
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
    for (const e of this.tiles.values()) if (e.state === "ready" && e.layer === this.image)
      for (const v of e.values) { const n = Number(v); if (n < lo) lo = n; if (n > hi) hi = n; }
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
    const size = this.size(), { w, h } = size;
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const p = PLANES[this.plane];
    const su = this.scaleOf(p.u), sv = this.scaleOf(p.v);
    this.drawn++;
    let missing = 0, failed = 0, tooMany = 0;
    const fine = {};
    for (const layer of [this.image, this.labels].filter(Boolean)) {
      const k = (fine[layer.name] = this.levelFor(layer));
      const levels = layer.levels > k ? [layer.levels, k] : [k]; // the coarsest level first, while the fitting one loads
      ctx.globalAlpha = layer === this.labels && this.image ? this.opacity : 1;
      for (const level of levels) {
        const tiles = this.visibleTiles(layer, level, size);
        if (tiles.length > MAX_VISIBLE) { if (level === k) tooMany = tiles.length; continue; }
        for (const t of tiles) {
          const entry = this.request(layer, t);
          if (entry.state !== "ready") { if (level === k) { if (entry.state === "failed") failed++; else missing++; } continue; }
          const s = 2 ** level;
          ctx.drawImage(this.painted(layer, entry), w / 2 + (t.ou * s - this.pos[p.u] - 0.5) * su, h / 2 + (t.ov * s - this.pos[p.v] - 0.5) * sv, t.w * s * su, t.h * s * sv);
        }
      }
    }
    ctx.globalAlpha = 1;
    this.pump();
    const names = [this.image, this.labels].filter(Boolean).map((l) => l.name).join(" + ");
    const head = `${names}@${short(this.uuid)} ${this.plane.toUpperCase()} slice ${this.pos[p.w]}`;
    this.hooks.status?.(tooMany ? `${head}: zoom in: this view needs ${tooMany} tiles at the finest level kept (MaxDownresLevel keeps coarser ones)`
      : missing > 0 ? `${head}: loading ${missing} tiles…`
      : failed > 0 ? `${head}: ${failed} tiles could not be read (they are asked for again when the view changes)`
      : `${head}: drawn at level ${Object.values(fine).join("/")}, zoom ${this.zoom.toFixed(3)}`);
  }

  /** What is under canvas pixel (sx, sy): the voxel and each layer's value there, from the finest tile loaded. */
  hit(sx, sy) {
    const p = PLANES[this.plane];
    const [u, v] = this.voxelAt(sx, sy);
    const point = this.pos.map(Math.round);
    point[p.u] = Math.floor(u); point[p.v] = Math.floor(v);
    if (point.some((c, a) => c < this.min[a] || c > this.max[a])) return null;
    const valueOf = (layer) => {
      if (!layer) return undefined;
      for (let k = 0; k <= layer.levels; k++) {
        const s = 2 ** k;
        const t = this.tileOf(layer, k, Math.floor(point[p.u] / s / TILE), Math.floor(point[p.v] / s / TILE), Math.floor(point[p.w] / s));
        const e = t && this.tiles.get(t.key);
        if (e?.state !== "ready") continue;
        return e.values[(Math.floor(point[p.v] / s) - t.ov) * e.w + Math.floor(point[p.u] / s) - t.ou];
      }
      return undefined;
    };
    return { point, image: valueOf(this.image), label: valueOf(this.labels) };
  }
}
