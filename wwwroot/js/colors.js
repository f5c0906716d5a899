// Colours: a distinct, stable colour per label, and grey levels for image values.

const cache = new Map();

/** A distinct, stable colour per label (label 0 is black): a 64-bit hash of the id, as HSV with high saturation. */
function labelColor(label) {
  let c = cache.get(label);
  if (c) return c;
  if (label === 0n) c = [0, 0, 0];
  else {
    let x = label * 0x9E3779B97F4A7C15n & 0xFFFFFFFFFFFFFFFFn;
    x ^= x >> 29n;
    const hue = Number(x % 360n), sat = 0.65 + Number((x >> 9n) % 35n) / 100, val = 0.75 + Number((x >> 17n) % 25n) / 100;
    const f = (n) => { const k = (n + hue / 60) % 6; return Math.round(255 * (val - val * sat * Math.max(0, Math.min(k, 4 - k, 1)))); };
    c = [f(5), f(3), f(1)];
  }
  if (cache.size > 100000) cache.clear();
  cache.set(label, c);
  return c;
}

/** Typed array of a tile's voxels as the server sent them (little-endian). */
export function voxelsOf(buffer, dataType) {
  switch (dataType) {
    case "uint8": return new Uint8Array(buffer);
    case "uint16": return new Uint16Array(buffer);
    case "uint32": return new Uint32Array(buffer);
    case "float32": return new Float32Array(buffer);
    default: return new BigUint64Array(buffer);
  }
}

/** RGBA pixels of `values`: labels coloured (0 transparent when `clearZero`), images grey between `lo` and `hi`. */
export function paint(values, isLabel, lo, hi, clearZero) {
  const px = new Uint8ClampedArray(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isLabel) {
      const [r, g, b] = labelColor(BigInt(v));
      px[4 * i] = r; px[4 * i + 1] = g; px[4 * i + 2] = b; px[4 * i + 3] = clearZero && v == 0 ? 0 : 255;
    } else {
      const grey = Math.max(0, Math.min(255, Math.round((v - lo) * 255 / Math.max(1e-9, hi - lo))));
      px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = grey; px[4 * i + 3] = 255;
    }
  }
  return px;
}
