// The image viewport: an image canvas (the frame, zoomed and panned) under an annotation canvas
// (measurements), both sized to the element in device pixels. Knows the mapping between screen
// (CSS pixels relative to the element) and image coordinates; knows nothing of DICOM or the API.

import { label } from './measure.js';

export class Viewport {
  constructor(element, imageCanvas, annotationCanvas) {
    this.element = element;
    this.canvas = imageCanvas;
    this.annotations = annotationCanvas;
    this.ctx = imageCanvas.getContext('2d', { alpha: false });
    this.actx = annotationCanvas.getContext('2d');
    this.source = null; // a canvas or image holding the frame at its own resolution
    this.cols = 0;
    this.rows = 0;
    this.aspect = 1; // displayed width of a column relative to the height of a row
    this.zoom = 1; // relative to "fit"
    this.pan = { x: 0, y: 0 }; // CSS pixels, offset of the image centre from the element centre
    this.cssWidth = 0;
    this.cssHeight = 0;
    this.dpr = 1;
    this.resize();
  }

  /** Matches the canvases to the element's size; returns whether it changed. */
  resize() {
    const r = this.element.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width));
    const h = Math.max(1, Math.round(r.height));
    if (w === this.cssWidth && h === this.cssHeight && dpr === this.dpr) return false;
    this.cssWidth = w;
    this.cssHeight = h;
    this.dpr = dpr;
    for (const c of [this.canvas, this.annotations]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
    }
    return true;
  }

  /** Sets the frame geometry (columns × rows, pixel aspect); keeps zoom and pan. */
  setGeometry(cols, rows, spacing) {
    this.cols = cols;
    this.rows = rows;
    this.aspect = Array.isArray(spacing) && spacing[0] > 0 && spacing[1] > 0 ? spacing[1] / spacing[0] : 1;
  }

  /** CSS pixels per image row at zoom 1: the whole image fits the element. */
  fitScale() {
    if (!this.cols || !this.rows) return 1;
    return Math.min(this.cssWidth / (this.cols * this.aspect), this.cssHeight / this.rows);
  }

  /** Screen (CSS) pixels per image row: the magnification the overlay shows. */
  scale() {
    return this.fitScale() * this.zoom;
  }

  toScreen(p) {
    const s = this.scale();
    return {
      x: this.cssWidth / 2 + this.pan.x + (p.x - this.cols / 2) * s * this.aspect,
      y: this.cssHeight / 2 + this.pan.y + (p.y - this.rows / 2) * s,
    };
  }

  toImage(p) {
    const s = this.scale();
    return {
      x: (p.x - this.cssWidth / 2 - this.pan.x) / (s * this.aspect) + this.cols / 2,
      y: (p.y - this.cssHeight / 2 - this.pan.y) / s + this.rows / 2,
    };
  }

  /** Multiplies the zoom by `factor`, keeping the image point under screen point `at` in place. */
  zoomBy(factor, at = { x: this.cssWidth / 2, y: this.cssHeight / 2 }) {
    const next = Math.min(40, Math.max(0.1, this.zoom * factor));
    const f = next / this.zoom;
    const cx = this.cssWidth / 2 + this.pan.x;
    const cy = this.cssHeight / 2 + this.pan.y;
    this.pan.x += (at.x - cx) * (1 - f);
    this.pan.y += (at.y - cy) * (1 - f);
    this.zoom = next;
  }

  fit() {
    this.zoom = 1;
    this.pan = { x: 0, y: 0 };
  }

  /** Draws `source` (canvas/image of any resolution showing the whole frame) with zoom and pan. */
  draw(source = this.source) {
    this.source = source;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!source || !this.cols) return;
    const s = this.scale();
    const tl = this.toScreen({ x: 0, y: 0 });
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.imageSmoothingEnabled = s * this.dpr < 3;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(source, tl.x, tl.y, this.cols * s * this.aspect, this.rows * s);
  }

  /** Draws finished measurements and the one being drawn (`pending`, may be null). */
  drawAnnotations(measurements, pending) {
    const ctx = this.actx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.annotations.width, this.annotations.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.lineWidth = 1.5;
    ctx.font = '13px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    const all = pending ? [...measurements, pending] : measurements;
    for (const m of all) {
      const pts = m.points.map((p) => this.toScreen(p));
      ctx.strokeStyle = m === pending ? '#7fd4ff' : '#ffd84d';
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
      ctx.stroke();
      for (const p of pts) {
        ctx.beginPath();
        ctx.arc(p.x, p.y, 3, 0, 2 * Math.PI);
        ctx.fill();
      }
      if (m.value !== undefined) {
        const at = m.type === 'angle' && pts[1] ? pts[1] : pts[pts.length - 1];
        const text = label(m);
        const w = ctx.measureText(text).width;
        ctx.fillStyle = 'rgba(0,0,0,0.6)';
        ctx.fillRect(at.x + 6, at.y - 20, w + 8, 18);
        ctx.fillStyle = m === pending ? '#7fd4ff' : '#ffd84d';
        ctx.fillText(text, at.x + 10, at.y - 4);
      }
    }
  }
}
