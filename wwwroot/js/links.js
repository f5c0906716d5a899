// Links out of the viewer: deep links to a view (the URL's hash), and Neuroglancer states for a version.
import { boundsOf } from "./api.js";

// ---------------------------------------------------------------- deep links
// #repo=<root uuid>&version=<uuid>&instance=<name>&plane=xy|xz|yz&pos=x,y,z&zoom=<screen pixels per voxel>
//   [&labels=<label instance over the image> | &image=<image instance under the labels>][&opacity=0..1]
// Every field but repo is optional; the README documents the format.

export function parseHash(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  const view = { repo: q.get("repo") || null, version: q.get("version") || null, instance: q.get("instance") || null };
  const plane = q.get("plane");
  if (plane === "xy" || plane === "xz" || plane === "yz") view.plane = plane;
  const pos = (q.get("pos") || "").split(",").map(Number);
  if (pos.length === 3 && pos.every(Number.isFinite)) view.pos = pos;
  const zoom = Number(q.get("zoom"));
  if (q.has("zoom") && Number.isFinite(zoom) && zoom > 0) view.zoom = zoom;
  if (q.has("labels")) view.labels = q.get("labels");
  if (q.has("image")) view.image = q.get("image");
  const opacity = Number(q.get("opacity"));
  if (q.has("opacity") && Number.isFinite(opacity)) view.opacity = Math.min(1, Math.max(0, opacity));
  return view;
}

export function formatHash(view) {
  const q = new URLSearchParams();
  for (const k of ["repo", "version", "instance", "plane"]) if (view[k]) q.set(k, view[k]);
  if (view.pos) q.set("pos", view.pos.join(","));
  if (view.zoom) q.set("zoom", String(Number(view.zoom.toPrecision(6))));
  for (const k of ["labels", "image"]) if (view[k]) q.set(k, view[k]);
  if (view.opacity !== undefined) q.set("opacity", String(view.opacity));
  return "#" + q.toString().replaceAll("%2C", ",");
}

// ---------------------------------------------------------------- Neuroglancer
// Neuroglancer's dvid:// source reads uint8blk as images and labelblk, labelmap and labelarray as segmentation;
// labelmaps need MaxDownresLevel >= 1 (Neuroglancer requires it to be a positive integer).

/** How Neuroglancer would show an instance: "image", "segmentation", or null with the reason in `why`. */
export function neuroglancerKind(type, info) {
  if (type === "uint8blk") return { kind: "image" };
  if (type === "labelblk") return { kind: "segmentation" };
  if (type === "labelmap" || type === "labelarray") {
    return (info?.Extended?.MaxDownresLevel ?? 0) >= 1 ? { kind: "segmentation" }
      : { kind: null, why: `${type} needs MaxDownresLevel ≥ 1 for Neuroglancer (POST …/info {"MaxDownresLevel": "1"} before writing, or diced downres)` };
  }
  return { kind: null, why: `Neuroglancer's DVID source does not read ${type}` };
}

/**
 * A Neuroglancer URL showing `layers` ({name, kind, info}: images first, segmentation over them) at version `uuid`
 * (pinned: the UUID, not a branch), centred on the extents of layer `focus` (or of them all) and zoomed to fit them
 * in a 4-panel view.
 */
export function neuroglancerUrl(origin, uuid, layers, focus) {
  const extentsOf = (list) => list.map((l) => l.info?.Extended || {}).filter((e) => e.MinPoint && e.MaxPoint);
  const focused = extentsOf(layers.filter((l) => l.name === focus));
  const exts = focused.length ? focused : extentsOf(layers);
  const box = exts.length ? boundsOf(exts.map((e) => ({ min: e.MinPoint, max: e.MaxPoint }))) : null;
  const lo = box?.min, hi = box?.max.map((v) => v + 1);
  const center = exts.length ? lo.map((v, a) => (v + hi[a]) / 2) : [0, 0, 0];
  const span = exts.length ? Math.max(...hi.map((v, a) => v - lo[a])) : 256;
  const first = layers[0]?.info?.Extended || {};
  const size = first.VoxelSize || [8, 8, 8];
  const unit = (first.VoxelUnits || [])[0] || "nanometers";
  const metres = { nanometers: 1e-9, nanometer: 1e-9, nm: 1e-9, micrometers: 1e-6, microns: 1e-6, um: 1e-6, millimeters: 1e-3, mm: 1e-3 }[unit] ?? 1e-9;
  const state = {
    dimensions: { x: [size[0] * metres, "m"], y: [size[1] * metres, "m"], z: [size[2] * metres, "m"] },
    position: center,
    crossSectionScale: Math.max(1, span / 400),
    projectionScale: Math.max(64, span * 2),
    layers: [...layers].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "image" ? -1 : 1)).map((l) => ({
      type: l.kind, name: l.name, source: `dvid://${origin}/${uuid}/${l.name}`,
    })),
    layout: "4panel",
  };
  return `/neuroglancer/#!${encodeURIComponent(JSON.stringify(state))}`;
}
