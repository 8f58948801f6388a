// The book's multiscale viewer: reads an OME-Zarr 0.5 pyramid (Zarr v3) chunk by chunk,
// as the reader pans and zooms, and shows which chunks it fetched, from which level, and
// how many bytes that cost, next to what a viewer without a pyramid would have needed.
//
// No library and nothing downloaded: the chunks are stored uncompressed (the "bytes"
// codec) or with gzip (decoded by the browser's own DecompressionStream). Written for
// the book's sample slide (data made by _ext/viewer.py); any 2D image of that layout works.
//
// Each element <div class="dh-viewer" data-source="URL of the image"> becomes a viewer;
// `element.viewer` (and window.dataHelpersViewers) is its API: setView, stats, idle...
// Optional attributes: data-window="low high" (the pixel values drawn black and white;
// by default the range of the data type), data-what="plane" (what the image is called on
// the buttons) and data-variants='{"mean": URL, "nearest": URL}': images of the same
// shapes (pyramids made with different downsampling methods) the reader switches between.
//
// The level rule is that of data_helpers.multiscale.MultiscaleImage.level_for: the
// largest level (most pixels; the lowest index on a tie) whose shape fits in the limit on
// every axis. The limit is level 0's shape at the screen's resolution: level 0 drawn at the
// current zoom would be ceil(n * zoom) device pixels along an axis of n pixels.
// tests/test_viewer.py runs `levelFor` in the browser against level_for on the same
// shapes, so the two cannot drift apart.

/** The most concurrent chunk requests (a browser opens about six per server). */
const MAX_IN_FLIGHT = 6;
/** How long a chunk that just arrived stays highlighted, in milliseconds. */
const FLASH_MS = 900;
/** The finest zoom: this many screen pixels per pixel of level 0. */
const MAX_ZOOM = 16;

/**
 * The level to draw: the largest level whose shape fits in `maxShape` (the rule of
 * MultiscaleImage.level_for). `shapes` lists each level's shape (arrays of the same
 * length); `maxShape` holds one limit per axis, null for none. -1 when no level fits.
 */
export function levelFor(shapes, maxShape) {
  let best = -1;
  let bestPixels = -1;
  shapes.forEach((shape, i) => {
    const fits = shape.every((n, axis) => maxShape[axis] == null || n <= maxShape[axis]);
    const pixels = shape.reduce((product, n) => product * n, 1);
    // Strictly more pixels: on a tie the lower index (found first) stays.
    if (fits && pixels > bestPixels) {
      best = i;
      bestPixels = pixels;
    }
  });
  return best;
}

/** The limit per axis for a zoom (device pixels per pixel of level 0): ceil(n * zoom). */
export function maxShapeFor(shape0, zoom) {
  return shape0.map((n) => Math.ceil(n * zoom - 1e-9));
}

/**
 * The chunks of a level that a region covers: [[first, end) of rows, [first, end) of
 * columns], the region being [y0, y1) x [x0, x1) in the level's pixel edges (pixel i spans
 * [i, i + 1)), clipped to the level. A chunk counts when it overlaps with some area.
 */
export function chunkRange(shape, chunks, [y0, y1, x0, x1]) {
  const range = (lo, hi, n, c) => {
    const a = Math.max(0, Math.min(lo, n));
    const b = Math.max(0, Math.min(hi, n));
    if (b <= a) return [0, 0];
    return [Math.floor(a / c), Math.ceil(b / c)];
  };
  return [range(y0, y1, shape[0], chunks[0]), range(x0, x1, shape[1], chunks[1])];
}

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

const DTYPES = {
  uint8: [Uint8Array, 0, 255],
  int8: [Int8Array, -128, 127],
  uint16: [Uint16Array, 0, 65535],
  int16: [Int16Array, -32768, 32767],
  uint32: [Uint32Array, 0, 4294967295],
  float32: [Float32Array, 0, 1],
};

function transforms(dataset, ndim) {
  let scale = new Array(ndim).fill(1);
  let translation = new Array(ndim).fill(0);
  for (const t of dataset.coordinateTransformations || []) {
    if (t.type === "scale") scale = t.scale;
    if (t.type === "translation") translation = t.translation;
  }
  return { scale, translation };
}

function arrayLevel(path, meta, dataset, url) {
  const where = `${url}${path}/zarr.json`;
  if (meta.zarr_format !== 3 || meta.node_type !== "array") {
    throw new Error(`${where} is not a Zarr v3 array`);
  }
  if (!(meta.data_type in DTYPES)) {
    throw new Error(`${where}: data type ${meta.data_type} is not one of ${Object.keys(DTYPES)}`);
  }
  if (meta.chunk_grid?.name !== "regular") throw new Error(`${where}: not a regular chunk grid`);
  let gzip = false;
  let littleEndian = true;
  for (const codec of meta.codecs) {
    if (codec.name === "bytes") littleEndian = (codec.configuration?.endian ?? "little") === "little";
    else if (codec.name === "gzip") gzip = true;
    else throw new Error(`${where}: codec ${codec.name} needs a library; store chunks uncompressed or with gzip`);
  }
  if (!littleEndian && meta.data_type !== "uint8" && meta.data_type !== "int8") {
    throw new Error(`${where}: big-endian data is not supported`);
  }
  const encoding = meta.chunk_key_encoding || { name: "default" };
  const separator = encoding.configuration?.separator ?? (encoding.name === "v2" ? "." : "/");
  return {
    path,
    shape: meta.shape,
    chunks: meta.chunk_grid.configuration.chunk_shape,
    dtype: meta.data_type,
    gzip,
    key: (index) => (encoding.name === "v2" ? "" : `c${separator}`) + index.join(separator),
    ...transforms(dataset, meta.shape.length),
  };
}

/** The viewer in one element: a canvas, a toolbar and a panel of counts. */
export class Viewer {
  constructor(element) {
    this.element = element;
    const folder = (url) => new URL(url.replace(/\/?$/, "/"), document.baseURI).href;
    this.url = folder(element.dataset.source);
    this.variants = element.dataset.variants ? JSON.parse(element.dataset.variants) : null;
    if (this.variants) {
      for (const name of Object.keys(this.variants)) this.variants[name] = folder(this.variants[name]);
    }
    // The variant shown ("" without variants): the one whose URL is data-source.
    this.variant = this.variants
      ? Object.keys(this.variants).find((name) => this.variants[name] === this.url) ?? ""
      : "";
    this.stores = {}; // variant -> {url, levels}, once its metadata is read
    this.window = element.dataset.window ? element.dataset.window.trim().split(/\s+/).map(Number) : null;
    this.what = element.dataset.what || "slide";
    this.cache = new Map(); // "variant/level/iy/ix" -> {canvas, arrived}
    this.inFlight = new Map(); // key -> the request's promise
    this.queue = []; // keys to fetch, nearest to the centre first
    this.fetched = { chunks: 0, bytes: 0, metadata: 0, metadataBytes: 0, byLevel: [] };
    this.requests = []; // every chunk fetched: {level, index, url, bytes}
    this.errors = [];
    this.waiters = [];
    this.showGrid = true;
    this.pointers = new Map();
    this.frame = 0;
    this.build();
    this.ready = this.start();
  }

  build() {
    const e = (tag, props = {}, ...children) => {
      const node = Object.assign(document.createElement(tag), props);
      node.append(...children);
      return node;
    };
    this.canvas = e("canvas", {
      tabIndex: 0,
      className: "dh-viewer-canvas",
      ariaLabel: "Multiscale viewer: drag or use the arrow keys to pan, wheel, pinch or + and - to zoom",
    });
    this.context = this.canvas.getContext("2d");
    const button = (text, action) => {
      const b = e("button", { type: "button", textContent: text });
      b.addEventListener("click", action);
      return b;
    };
    const grid = e("input", { type: "checkbox", checked: true });
    grid.addEventListener("change", () => {
      this.showGrid = grid.checked;
      this.requestDraw();
    });
    this.toolbar = e("div", { className: "dh-viewer-toolbar" },
      button(`Whole ${this.what}`, () => this.home()),
      button("Zoom 10x", () => this.zoomBy10()),
      button("Full resolution", () => this.fullResolution()),
      e("label", {}, grid, " chunk grid"));
    if (this.variants) {
      // One radio button per variant: the pyramid the viewer reads.
      const group = e("span", { className: "dh-viewer-variants", role: "radiogroup",
        ariaLabel: "Downsampling method of the pyramid" }, "Downsampled with:");
      const name = `dh-variant-${Math.random().toString(36).slice(2)}`;
      this.variantInputs = {};
      for (const variant of Object.keys(this.variants)) {
        const input = e("input", { type: "radio", name, value: variant,
          checked: variant === this.variant });
        input.addEventListener("change", () => input.checked && this.setVariant(variant));
        this.variantInputs[variant] = input;
        group.append(e("label", {}, input, ` ${variant}`));
      }
      this.toolbar.append(group);
    }
    this.panel = e("dl", { className: "dh-viewer-panel" });
    this.rows = {};
    for (const [key, label] of [
      ...(this.variants ? [["variant", "Pyramid"]] : []),
      ["level", "Level in use"],
      ["view", "Chunks in this view"],
      ["nopyramid", "Without a pyramid"],
      ["fetched", "Fetched so far"],
    ]) {
      this.rows[key] = e("dd", { textContent: "…" });
      this.panel.append(e("dt", { textContent: label }), this.rows[key]);
    }
    this.message = e("p", { className: "dh-viewer-message", hidden: true });
    const help = e("p", {
      className: "dh-viewer-help",
      textContent: "Drag to pan (one finger on a touch screen), wheel or pinch to zoom; "
        + `on the canvas, arrow keys pan, + and - zoom, 0 shows the whole ${this.what}. New `
        + "chunks flash yellow as they arrive; outlined ones are on their way.",
    });
    this.stage = e("div", { className: "dh-viewer-stage" }, this.canvas);
    this.element.replaceChildren(this.stage, this.toolbar, this.panel, this.message, help);
    this.element.classList.add("dh-viewer-live");
  }

  async fetchBytes(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async fetchJSON(url) {
    const bytes = await this.fetchBytes(url);
    this.fetched.metadata += 1;
    this.fetched.metadataBytes += bytes.length;
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /** Read an image's metadata (the group's, then each level's): its levels. */
  async openStore(url) {
    const group = await this.fetchJSON(`${url}zarr.json`);
    const multiscales = group.attributes?.ome?.multiscales;
    if (!multiscales) throw new Error(`${url}zarr.json has no OME-Zarr 0.5 multiscales`);
    const [multiscale] = multiscales;
    if (multiscale.axes.length !== 2) {
      throw new Error(`the viewer shows 2D images; this one has axes ${multiscale.axes.map((a) => a.name)}`);
    }
    const levels = await Promise.all(multiscale.datasets.map(async (dataset) => {
      const meta = await this.fetchJSON(`${url}${dataset.path}/zarr.json`);
      return arrayLevel(dataset.path, meta, dataset, url);
    }));
    // Level edges -> level 0 edges, through the physical coordinates of the metadata:
    // pixel i of a level spans [t + (i - 0.5) s, t + (i + 0.5) s).
    const [zero] = levels;
    for (const level of levels) {
      level.a = level.scale.map((s, axis) => zero.scale[axis] / s);
      level.b = level.scale.map((s, axis) => (zero.translation[axis] - level.translation[axis]) / s
        + 0.5 - 0.5 * level.a[axis]);
    }
    const store = { url, levels };
    this.stores[this.variantOf(url)] = store;
    return store;
  }

  variantOf(url) {
    if (!this.variants) return "";
    return Object.keys(this.variants).find((name) => this.variants[name] === url) ?? "";
  }

  /**
   * Read another of the data-variants images (same shapes) from now on, keeping the view;
   * its chunks are fetched as the view needs them, and kept apart. Resolves when drawn.
   */
  async setVariant(name) {
    if (!this.variants || !(name in this.variants)) {
      throw new Error(`no variant ${name}; the variants are ${Object.keys(this.variants || {})}`);
    }
    try {
      const store = this.stores[name] || await this.openStore(this.variants[name]);
      const shapes = store.levels.map((level) => level.shape);
      if (JSON.stringify(shapes) !== JSON.stringify(this.shapes)) {
        throw new Error(`${store.url} has levels ${JSON.stringify(shapes)}, not ${JSON.stringify(this.shapes)}`);
      }
      this.variant = name;
      this.url = store.url;
      this.levels = store.levels;
      if (this.variantInputs) this.variantInputs[name].checked = true;
      this.update();
    } catch (error) {
      this.fail(error);
    }
    return this.idle();
  }

  async start() {
    try {
      ({ levels: this.levels } = await this.openStore(this.url));
      this.fetched.byLevel = this.levels.map(() => 0);
      this.shapes = this.levels.map((level) => level.shape);
      this.resize();
      this.home();
      new ResizeObserver(() => this.resize()).observe(this.element);
      this.listen();
    } catch (error) {
      this.fail(error);
    }
    return this.idle();
  }

  fail(error) {
    this.errors.push(String(error));
    this.message.hidden = false;
    this.message.textContent = `The viewer could not read the image: ${error.message || error}`;
    console.error("data_helpers viewer:", error);
    this.settle();
  }

  // -- the view: a centre (x, y) in pixels of level 0 and a zoom (CSS pixels per pixel)

  resize() {
    const width = Math.max(200, Math.floor(this.stage.clientWidth || this.element.clientWidth));
    const height = Math.round(Math.min(width / 2, window.innerHeight * 0.7));
    this.dpr = window.devicePixelRatio || 1;
    this.cssWidth = width;
    this.cssHeight = height;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * this.dpr);
    this.canvas.height = Math.round(height * this.dpr);
    if (this.view) this.update();
  }

  get fitZoom() {
    const [h, w] = this.shapes[0];
    return Math.min(this.cssHeight / h, this.cssWidth / w);
  }

  clampView({ x, y, zoom }) {
    const [h, w] = this.shapes[0];
    const z = Math.min(Math.max(zoom, this.fitZoom / 4), MAX_ZOOM);
    return { x: Math.min(Math.max(x, 0), w), y: Math.min(Math.max(y, 0), h), zoom: z };
  }

  /** Show a view: centre `x`, `y` (pixels of level 0) and `zoom`; resolves when drawn. */
  setView({ x = this.view?.x, y = this.view?.y, zoom = this.view?.zoom } = {}) {
    this.view = this.clampView({ x, y, zoom });
    this.update();
    return this.idle();
  }

  home() {
    const [h, w] = this.shapes[0];
    return this.setView({ x: w / 2, y: h / 2, zoom: this.fitZoom });
  }

  zoomBy10() {
    return this.setView({ zoom: this.fitZoom * 10 });
  }

  fullResolution() {
    return this.setView({ zoom: 1 / this.dpr });
  }

  /** Zoom by `factor` keeping the point at (sx, sy), CSS pixels from the canvas' corner, still. */
  zoomAt(factor, sx = this.cssWidth / 2, sy = this.cssHeight / 2) {
    const { x, y, zoom } = this.view;
    const ux = x + (sx - this.cssWidth / 2) / zoom;
    const uy = y + (sy - this.cssHeight / 2) / zoom;
    const z = this.clampView({ x, y, zoom: zoom * factor }).zoom;
    return this.setView({
      x: ux - (sx - this.cssWidth / 2) / z, y: uy - (sy - this.cssHeight / 2) / z, zoom: z,
    });
  }

  /** Move the view by (dx, dy) CSS pixels. */
  panBy(dx, dy) {
    const { x, y, zoom } = this.view;
    return this.setView({ x: x - dx / zoom, y: y - dy / zoom });
  }

  /** The region shown, [y0, y1, x0, x1] in pixel edges of level 0 (not clipped). */
  region() {
    const { x, y, zoom } = this.view;
    const hw = this.canvas.width / this.dpr / zoom / 2;
    const hh = this.canvas.height / this.dpr / zoom / 2;
    return [y - hh, y + hh, x - hw, x + hw];
  }

  /** A region of level 0 in the pixel edges of `level`. */
  toLevel(level, [y0, y1, x0, x1]) {
    const { a, b } = this.levels[level];
    return [a[0] * y0 + b[0], a[0] * y1 + b[0], a[1] * x0 + b[1], a[1] * x1 + b[1]];
  }

  levelInUse() {
    const level = levelFor(this.shapes, maxShapeFor(this.shapes[0], this.view.zoom * this.dpr));
    return level < 0 ? this.levels.length - 1 : level; // zoomed out beyond the smallest
  }

  chunksInView(level, region = this.region()) {
    const { shape, chunks } = this.levels[level];
    const [[r0, r1], [c0, c1]] = chunkRange(shape, chunks, this.toLevel(level, region));
    const list = [];
    for (let iy = r0; iy < r1; iy += 1) for (let ix = c0; ix < c1; ix += 1) list.push([iy, ix]);
    return list;
  }

  chunkBytes(level) {
    const { chunks, dtype } = this.levels[level];
    return chunks[0] * chunks[1] * DTYPES[dtype][0].BYTES_PER_ELEMENT;
  }

  // -- fetching

  update() {
    const level = this.levelInUse();
    const { chunks } = this.levels[level];
    const [y0, y1, x0, x1] = this.toLevel(level, this.region());
    const cy = (y0 + y1) / 2 / chunks[0] - 0.5;
    const cx = (x0 + x1) / 2 / chunks[1] - 0.5;
    const wanted = this.chunksInView(level)
      .sort((p, q) => Math.hypot(p[0] - cy, p[1] - cx) - Math.hypot(q[0] - cy, q[1] - cx))
      .map(([iy, ix]) => `${this.variant}/${level}/${iy}/${ix}`)
      .filter((key) => !this.cache.has(key) && !this.inFlight.has(key));
    // Chunks queued for an earlier view and out of this one are not fetched at all.
    this.queue = wanted;
    this.pump();
    this.requestDraw();
  }

  pump() {
    while (this.inFlight.size < MAX_IN_FLIGHT && this.queue.length) {
      const key = this.queue.shift();
      this.inFlight.set(key, this.load(key));
    }
    this.settle();
  }

  async load(key) {
    const [variant, ...index] = key.split("/");
    const [level, iy, ix] = index.map(Number);
    const store = this.stores[variant];
    const info = store.levels[level];
    const url = `${store.url}${info.path}/${info.key([iy, ix])}`;
    try {
      const body = await this.fetchBytes(url);
      this.fetched.chunks += 1;
      this.fetched.bytes += body.length;
      this.fetched.byLevel[level] += 1;
      this.requests.push({ variant, level, index: [iy, ix], url, bytes: body.length });
      let bytes = body;
      if (info.gzip) {
        const stream = new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"));
        bytes = new Uint8Array(await new Response(stream).arrayBuffer());
      }
      this.cache.set(key, { canvas: this.toCanvas(info, bytes), arrived: performance.now() });
    } catch (error) {
      this.fail(error);
    } finally {
      this.inFlight.delete(key);
      this.pump();
      this.requestDraw();
    }
  }

  toCanvas(info, bytes) {
    const [Type, typeLow, typeHigh] = DTYPES[info.dtype];
    const [lo, hi] = this.window || [typeLow, typeHigh];
    const [h, w] = info.chunks;
    const values = new Type(bytes.buffer, bytes.byteOffset, h * w);
    const image = new ImageData(w, h);
    const scale = 255 / (hi - lo);
    for (let i = 0; i < h * w; i += 1) {
      const v = Math.max(0, Math.min(255, (values[i] - lo) * scale));
      image.data[4 * i] = v;
      image.data[4 * i + 1] = v;
      image.data[4 * i + 2] = v;
      image.data[4 * i + 3] = 255;
    }
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").putImageData(image, 0, 0);
    return canvas;
  }

  /** Resolves once every chunk of the view has arrived and been drawn. */
  idle() {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.settle();
    });
  }

  settle() {
    const busy = this.queue.length || this.inFlight.size || this.frame;
    if (!busy && this.waiters.length) {
      const waiters = this.waiters.splice(0);
      for (const resolve of waiters) resolve(this.stats());
    }
  }

  // -- drawing

  requestDraw() {
    if (this.frame || !this.view) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
      this.settle();
    });
  }

  screenRect(level, iy, ix) {
    // The chunk's valid pixels, in device pixels of the canvas (rounded edges, no seams).
    const { shape, chunks, a, b } = this.levels[level];
    const { x, y, zoom } = this.view;
    const z = zoom * this.dpr;
    const ey = (v) => Math.round(((v - b[0]) / a[0] - y) * z + this.canvas.height / 2);
    const ex = (v) => Math.round(((v - b[1]) / a[1] - x) * z + this.canvas.width / 2);
    const v0 = iy * chunks[0];
    const v1 = Math.min(v0 + chunks[0], shape[0]);
    const u0 = ix * chunks[1];
    const u1 = Math.min(u0 + chunks[1], shape[1]);
    return { x: ex(u0), y: ey(v0), w: ex(u1) - ex(u0), h: ey(v1) - ey(v0), sw: u1 - u0, sh: v1 - v0 };
  }

  draw() {
    const ctx = this.context;
    const now = performance.now();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#202124";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const current = this.levelInUse();
    // Coarser levels first, as a backdrop for chunks still on their way.
    ctx.imageSmoothingEnabled = this.view.zoom * this.dpr < 2;
    for (let level = this.levels.length - 1; level >= current; level -= 1) {
      for (const [iy, ix] of this.chunksInView(level)) {
        const chunk = this.cache.get(`${this.variant}/${level}/${iy}/${ix}`);
        if (!chunk) continue;
        const r = this.screenRect(level, iy, ix);
        ctx.drawImage(chunk.canvas, 0, 0, r.sw, r.sh, r.x, r.y, r.w, r.h);
      }
    }
    let flashing = false;
    const line = Math.max(1, Math.round(this.dpr));
    for (const [iy, ix] of this.chunksInView(current)) {
      const key = `${this.variant}/${current}/${iy}/${ix}`;
      const r = this.screenRect(current, iy, ix);
      const chunk = this.cache.get(key);
      if (chunk) {
        const age = (now - chunk.arrived) / FLASH_MS;
        if (age < 1) {
          flashing = true;
          ctx.fillStyle = `rgba(255, 200, 0, ${0.5 * (1 - age)})`;
          ctx.fillRect(r.x, r.y, r.w, r.h);
        }
        if (this.showGrid) {
          ctx.strokeStyle = "rgba(0, 170, 255, 0.7)";
          ctx.lineWidth = line;
          ctx.strokeRect(r.x + line / 2, r.y + line / 2, r.w - line, r.h - line);
        }
      } else {
        ctx.fillStyle = "rgba(255, 120, 0, 0.15)";
        ctx.fillRect(r.x, r.y, r.w, r.h);
        ctx.strokeStyle = "rgba(255, 120, 0, 0.9)";
        ctx.lineWidth = 2 * line;
        ctx.setLineDash([6 * line, 4 * line]);
        ctx.strokeRect(r.x + line, r.y + line, r.w - 2 * line, r.h - 2 * line);
        ctx.setLineDash([]);
      }
    }
    this.showStats();
    if (flashing) this.requestDraw();
  }

  // -- the counts

  /** What the viewer shows and has fetched, for the panel and for tests. */
  stats() {
    if (!this.view) return { ready: false, errors: [...this.errors] };
    const level = this.levelInUse();
    const region = this.region();
    const inView = this.chunksInView(level, region);
    const zero = this.chunksInView(0, region);
    return {
      ready: true,
      url: this.url,
      variant: this.variant,
      variants: this.variants ? Object.keys(this.variants) : [],
      window: this.window,
      levels: this.levels.length,
      shapes: this.shapes,
      chunks: this.levels.map((l) => l.chunks),
      level,
      view: { ...this.view },
      dpr: this.dpr,
      canvas: [this.canvas.height, this.canvas.width],
      maxShape: maxShapeFor(this.shapes[0], this.view.zoom * this.dpr),
      region,
      inView: {
        chunks: inView,
        count: inView.length,
        loaded: inView.filter(([iy, ix]) => this.cache.has(`${this.variant}/${level}/${iy}/${ix}`)).length,
        bytes: inView.length * this.chunkBytes(level),
      },
      noPyramid: { chunks: zero, count: zero.length, bytes: zero.length * this.chunkBytes(0) },
      fetched: { ...this.fetched, byLevel: [...this.fetched.byLevel] },
      requests: this.requests.map((r) => ({ ...r })),
      pending: this.queue.length + this.inFlight.size,
      errors: [...this.errors],
    };
  }

  showStats() {
    const s = this.stats();
    const [h, w] = this.shapes[s.level];
    const factor = Math.round(1 / this.levels[s.level].a[1]);
    const set = (key, text, values) => {
      this.rows[key].textContent = text;
      for (const [name, value] of Object.entries(values)) this.rows[key].dataset[name] = value;
    };
    if (this.rows.variant) {
      set("variant", `the pyramid made with downsample(..., method="${s.variant}")`,
        { variant: s.variant });
    }
    set("level", `level ${s.level} of ${s.levels - 1}: ${h} x ${w} pixels, each ${factor} x ${factor} pixels of level 0`,
      { level: s.level });
    set("view", `${s.inView.count} chunks of level ${s.level} (${s.inView.loaded} loaded), ${formatBytes(s.inView.bytes)}`,
      { chunks: s.inView.count, bytes: s.inView.bytes });
    set("nopyramid", `${s.noPyramid.count} chunks of level 0, ${formatBytes(s.noPyramid.bytes)}`
      + (s.inView.bytes ? ` (${(s.noPyramid.bytes / s.inView.bytes).toFixed(1)} times this view)` : ""),
      { chunks: s.noPyramid.count, bytes: s.noPyramid.bytes });
    set("fetched", `${s.fetched.chunks} chunks, ${formatBytes(s.fetched.bytes)} (and ${s.fetched.metadata} `
      + `metadata documents, ${formatBytes(s.fetched.metadataBytes)})`,
      { chunks: s.fetched.chunks, bytes: s.fetched.bytes, metadata: s.fetched.metadata,
        metadataBytes: s.fetched.metadataBytes });
  }

  // -- mouse, keyboard and touch

  listen() {
    const c = this.canvas;
    const at = (event) => {
      const box = c.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    };
    c.addEventListener("wheel", (event) => {
      event.preventDefault();
      const lines = event.deltaMode === 1 ? 40 : 1;
      this.zoomAt(Math.exp(-event.deltaY * lines * 0.0015), ...at(event));
    }, { passive: false });
    c.addEventListener("dblclick", (event) => this.zoomAt(2, ...at(event)));
    c.addEventListener("pointerdown", (event) => {
      c.focus();
      try { c.setPointerCapture(event.pointerId); } catch { /* a synthetic pointer */ }
      this.pointers.set(event.pointerId, at(event));
    });
    c.addEventListener("pointermove", (event) => {
      if (!this.pointers.has(event.pointerId)) return;
      const before = [...this.pointers.values()];
      this.pointers.set(event.pointerId, at(event));
      const after = [...this.pointers.values()];
      if (after.length === 1) {
        this.panBy(after[0][0] - before[0][0], after[0][1] - before[0][1]);
      } else if (after.length === 2) {
        // Pinch: zoom by the change of the fingers' distance, about their midpoint.
        const mid = (p) => [(p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2];
        const gap = (p) => Math.hypot(p[0][0] - p[1][0], p[0][1] - p[1][1]) || 1;
        const [m0, m1] = [mid(before), mid(after)];
        this.panBy(m1[0] - m0[0], m1[1] - m0[1]);
        this.zoomAt(gap(after) / gap(before), ...m1);
      }
    });
    const up = (event) => this.pointers.delete(event.pointerId);
    c.addEventListener("pointerup", up);
    c.addEventListener("pointercancel", up);
    c.addEventListener("keydown", (event) => {
      const step = 0.125;
      const actions = {
        ArrowLeft: () => this.panBy(this.cssWidth * step, 0),
        ArrowRight: () => this.panBy(-this.cssWidth * step, 0),
        ArrowUp: () => this.panBy(0, this.cssHeight * step),
        ArrowDown: () => this.panBy(0, -this.cssHeight * step),
        "+": () => this.zoomAt(1.5),
        "=": () => this.zoomAt(1.5),
        "-": () => this.zoomAt(1 / 1.5),
        0: () => this.home(),
        Home: () => this.home(),
      };
      if (actions[event.key]) {
        event.preventDefault();
        actions[event.key]();
      }
    });
  }
}

/**
 * The replay of a recorded stream (data-mode="stream"): data_helpers.writer.record_stream's
 * record, one entry per frame appended (StreamRecord's fields: frame, shape on disk,
 * chunk_files, buffered, and in `levels` the same for every level of a multiscale
 * stream, with `unpaired`), as JSON. At every level, frames appear in memory, fill a
 * chunk, and the chunk is flushed to disk; a coarser level gets a frame for each pair of
 * frames of the level above. The panel says what a crash at that moment would lose.
 */
export class StreamReplay {
  constructor(element) {
    this.element = element;
    this.url = new URL(element.dataset.source, document.baseURI).href;
    this.errors = [];
    this.frame = 0;
    this.timer = 0;
    this.build();
    this.ready = this.start();
  }

  build() {
    const e = (tag, props = {}, ...children) => {
      const node = Object.assign(document.createElement(tag), props);
      node.append(...children);
      return node;
    };
    this.e = e;
    this.canvas = e("canvas", { tabIndex: 0, className: "dh-viewer-canvas",
      ariaLabel: "Stream replay: left and right arrow keys step through the frames" });
    this.context = this.canvas.getContext("2d");
    const button = (text, action) => {
      const b = e("button", { type: "button", textContent: text });
      b.addEventListener("click", action);
      return b;
    };
    this.playButton = button("Play", () => (this.timer ? this.pause() : this.play()));
    this.slider = e("input", { type: "range", min: 0, max: 0, value: 0, ariaLabel: "frame" });
    this.slider.addEventListener("input", () => this.setFrame(Number(this.slider.value)));
    this.toolbar = e("div", { className: "dh-viewer-toolbar" },
      button("First frame", () => this.setFrame(0)),
      button("Step back", () => this.setFrame(this.frame - 1)),
      this.playButton,
      button("Step", () => this.setFrame(this.frame + 1)),
      this.slider);
    this.panel = e("dl", { className: "dh-viewer-panel" });
    this.rows = {};
    this.addRows([
      ["frame", "Frames appended"],
      ["disk", "On disk"],
      ["memory", "In memory"],
      ["crash", "A crash now loses"],
    ]);
    this.message = e("p", { className: "dh-viewer-message", hidden: true });
    this.stage = e("div", { className: "dh-viewer-stage" }, this.canvas);
    this.element.replaceChildren(this.stage, this.toolbar, this.panel, this.message);
    this.element.classList.add("dh-viewer-live");
  }

  addRows(rows) {
    for (const [key, label] of rows) {
      this.rows[key] = this.e("dd", { textContent: "…" });
      this.panel.append(this.e("dt", { textContent: label }), this.rows[key]);
    }
  }

  async start() {
    try {
      const response = await fetch(this.url);
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${this.url}`);
      const record = await response.json();
      // A record of one level (without `levels`) is its own level 0.
      this.records = record.records.map((r) => ({ ...r, levels: r.levels?.length ? r.levels
        : [{ level: 0, shape: r.shape, chunk_files: r.chunk_files, buffered: r.buffered,
          unpaired: 0, on_disk: r.on_disk }] }));
      this.levels = record.levels || [{ level: 0, frame_shape: record.frame_shape,
        frames_per_chunk: record.frames_per_chunk }];
      this.perChunk = record.frames_per_chunk;
      this.frameShape = record.frame_shape;
      if (this.levels.length > 1) {
        this.addRows(this.levels.map(({ level, frame_shape: [h, w] }) => [
          `level${level}`, `Level ${level}, ${w} x ${h}`]));
      }
      this.slider.max = this.records.length - 1;
      this.canvas.addEventListener("keydown", (event) => {
        const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
        if (step) {
          event.preventDefault();
          this.setFrame(this.frame + step);
        }
      });
      new ResizeObserver(() => this.draw()).observe(this.element);
      this.setFrame(0);
    } catch (error) {
      this.errors.push(String(error));
      this.message.hidden = false;
      this.message.textContent = `The replay could not read its record: ${error.message || error}`;
      console.error("data_helpers stream replay:", error);
    }
    return this.stats();
  }

  /** Show the moment just after frame `i` was appended; returns the stats. */
  setFrame(i) {
    this.frame = Math.max(0, Math.min(i, this.records.length - 1));
    this.slider.value = this.frame;
    this.draw();
    return this.stats();
  }

  play(msPerFrame = 500) {
    if (this.frame >= this.records.length - 1) this.setFrame(0);
    this.playButton.textContent = "Pause";
    this.timer = setInterval(() => {
      if (this.frame >= this.records.length - 1) this.pause();
      else this.setFrame(this.frame + 1);
    }, msPerFrame);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = 0;
    this.playButton.textContent = "Play";
  }

  stats() {
    if (!this.records) return { ready: false, errors: [...this.errors] };
    const r = this.records[this.frame];
    const appended = r.frame + 1;
    return {
      ready: true, frame: r.frame, appended, frames: this.records.length,
      framesPerChunk: this.perChunk, shape: r.shape, onDisk: r.on_disk,
      chunkFiles: r.chunk_files, buffered: r.buffered, lost: appended - r.on_disk,
      levels: r.levels.map((level, k) => ({
        level: level.level, shape: level.shape, onDisk: level.on_disk,
        chunkFiles: level.chunk_files, buffered: level.buffered, unpaired: level.unpaired,
        framesPerChunk: this.levels[k].frames_per_chunk,
      })),
      errors: [...this.errors],
    };
  }

  draw() {
    if (!this.records) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(300, Math.floor(this.stage.clientWidth || this.element.clientWidth));
    const lane = 64; // one lane per level: its frames, in time, and its chunks
    const top = 28;
    const height = top + lane * this.levels.length + 8;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    const ctx = this.context;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    const s = this.stats();
    const n = this.records.length;
    const left = 96;
    const slot = (width - left - 10) / n; // the width of one frame of level 0
    const box = 30;
    ctx.font = "12px sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#333";
    const shapes = s.levels.map((level) => `(${level.shape.join(", ")})`).join(", ");
    ctx.fillText(`after frame ${s.frame}: on disk ${shapes}`, 6, 12);
    const previous = this.frame > 0 ? this.records[this.frame - 1].levels : null;
    s.levels.forEach((level, k) => {
      const y = top + k * lane;
      const span = 2 ** k; // a frame of level k stands for 2**k frames of level 0
      const [h, w] = this.levels[k].frame_shape;
      ctx.fillStyle = "#333";
      ctx.textAlign = "left";
      ctx.fillText(`level ${k}`, 6, y + box / 2 - 7);
      ctx.fillStyle = "#777";
      ctx.fillText(`${w} x ${h}`, 6, y + box / 2 + 8);
      const received = level.onDisk + level.buffered;
      const count = Math.max(Math.floor(n / span), received);
      for (let j = 0; j < count; j += 1) {
        const x = left + j * span * slot + 1;
        const cell = span * slot - 2;
        if (j < received) {
          ctx.fillStyle = j < level.onDisk ? "#1f77b4" : "#ff7f0e";
          ctx.fillRect(x, y, cell, box);
          if (cell > 14) {
            ctx.fillStyle = "#fff";
            ctx.textAlign = "center";
            ctx.fillText(String(j), x + cell / 2, y + box / 2);
            ctx.textAlign = "left";
          }
          if (level.unpaired && j === received - 1) {
            // Kept until its partner arrives, to be averaged into the next level.
            ctx.fillStyle = "#6a3d9a";
            ctx.beginPath();
            ctx.arc(x + cell - 5, y + 5, 3.5, 0, 2 * Math.PI);
            ctx.fill();
          }
        } else {
          ctx.strokeStyle = "#ccc";
          ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, box - 1);
        }
      }
      // The level's time-chunks, and each chunk once flushed to disk.
      const per = level.framesPerChunk;
      const flushed = Math.floor(level.onDisk / per);
      const before = previous ? Math.floor(previous[k].on_disk / per) : 0;
      for (let c = 0; c * per < count; c += 1) {
        const x0 = left + c * per * span * slot;
        const x1 = left + Math.min((c + 1) * per, count) * span * slot;
        ctx.strokeStyle = "#888";
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x0 + 0.5, y - 4);
        ctx.lineTo(x0 + 0.5, y + box + 4);
        ctx.stroke();
        ctx.setLineDash([]);
        if (c < flushed) {
          const fresh = c >= before;
          ctx.strokeStyle = fresh ? "#d4a000" : "#0b3d66";
          ctx.lineWidth = fresh ? 3 : 1.5;
          ctx.strokeRect(x0 + 1, y - 3, x1 - x0 - 2, box + 6);
          ctx.lineWidth = 1;
          ctx.fillStyle = "#0b3d66";
          ctx.fillText(fresh ? `chunk ${c} just flushed` : `chunk ${c}`, x0 + 3, y + box + 12);
        }
      }
    });
    this.showStats(s);
  }

  showStats(s) {
    const set = (key, text, values) => {
      this.rows[key].textContent = text;
      for (const [name, value] of Object.entries(values)) this.rows[key].dataset[name] = value;
    };
    set("frame", `${s.appended} of ${s.frames} (${s.framesPerChunk} frames per chunk)`, { value: s.appended });
    set("disk", `${s.onDisk} frames in ${s.chunkFiles} chunk files`, { value: s.onDisk, files: s.chunkFiles });
    set("memory", `${s.buffered} frames, waiting for their chunk to fill`, { value: s.buffered });
    set("crash", `${s.lost} frames`, { value: s.lost });
    if (s.levels.length < 2) return;
    for (const level of s.levels) {
      const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;
      set(`level${level.level}`,
        `${plural(level.onDisk, "frame")} on disk in ${plural(level.chunkFiles, "chunk file")}, `
        + `${plural(level.buffered, "frame")} in memory (${level.framesPerChunk} per chunk)`
        + (level.unpaired ? ", one kept for its pair" : ""),
        { disk: level.onDisk, files: level.chunkFiles, memory: level.buffered,
          unpaired: level.unpaired });
    }
  }
}

function startViewers() {
  window.dataHelpersViewers = window.dataHelpersViewers || [];
  for (const element of document.querySelectorAll(".dh-viewer:not(.dh-viewer-live)")) {
    const viewer = element.dataset.mode === "stream" ? new StreamReplay(element) : new Viewer(element);
    element.viewer = viewer;
    window.dataHelpersViewers.push(viewer);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startViewers);
else startViewers();
