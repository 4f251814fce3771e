// Decoded frames of the open series: a byte-bounded LRU cache, one request per frame however many
// callers want it, and a prefetcher that loads the slices nearest the one shown first (ahead of the
// scrolling direction before behind it), a few requests at a time.

import { pixels } from './api.js';

export class FrameStore {
  /**
   * `urls[i]`: the pixel URL of slice i. `budget`: bytes of decoded frames to keep.
   * `onLoaded(i)` is called whenever slice i arrives.
   */
  constructor(urls, { budget = 256 * 1024 * 1024, concurrency = 6, onLoaded = () => {}, onError = () => {} } = {}) {
    this.urls = urls;
    this.budget = budget;
    this.concurrency = concurrency;
    this.onLoaded = onLoaded;
    this.onError = onError;
    this.cache = new Map(); // slice index → frame, in least-recently-used order
    this.bytes = 0;
    this.inflight = new Map(); // slice index → Promise<frame>
    this.failed = new Map(); // slice index → Error
    this.focus = 0;
    this.direction = 1;
    this.active = 0;
    this.closed = false;
    this.controller = new AbortController();
  }

  get size() {
    return this.urls.length;
  }

  /** The frame of slice `i` if it is loaded (and marks it recently used), else undefined. */
  peek(i) {
    const f = this.cache.get(i);
    if (f) {
      this.cache.delete(i);
      this.cache.set(i, f);
    }
    return f;
  }

  has(i) {
    return this.cache.has(i);
  }

  get loadedCount() {
    return this.cache.size;
  }

  /** Resolves to slice `i`'s frame, loading it first if needed. */
  get(i) {
    const f = this.peek(i);
    if (f) return Promise.resolve(f);
    return this.load(i);
  }

  load(i) {
    let p = this.inflight.get(i);
    if (p) return p;
    this.failed.delete(i);
    this.active++;
    p = pixels(this.urls[i], this.controller.signal)
      .then((frame) => {
        this.put(i, frame);
        this.onLoaded(i);
        return frame;
      })
      .catch((e) => {
        if (e.name !== 'AbortError') {
          this.failed.set(i, e);
          this.onError(i, e);
        }
        throw e;
      })
      .finally(() => {
        this.inflight.delete(i);
        this.active--;
        this.pump();
      });
    this.inflight.set(i, p);
    return p;
  }

  put(i, frame) {
    const size = frame.data.byteLength;
    if (this.cache.has(i)) return;
    this.cache.set(i, frame);
    this.bytes += size;
    // evict the least recently used frames, but never the ones around the focus
    for (const [k, f] of this.cache) {
      if (this.bytes <= this.budget) break;
      if (Math.abs(k - this.focus) <= 2) continue;
      this.cache.delete(k);
      this.bytes -= f.data.byteLength;
    }
  }

  /** How many slices fit the budget, judging by the frames seen so far. */
  capacity() {
    if (this.cache.size === 0) return 16;
    const avg = this.bytes / this.cache.size;
    return Math.max(8, Math.floor(this.budget / avg));
  }

  /** Slice `i` is now shown, after moving in `direction` (+1/-1): prefetch around it. */
  setFocus(i, direction = this.direction) {
    this.focus = i;
    if (direction) this.direction = direction > 0 ? 1 : -1;
    this.pump();
  }

  /** The next slice to prefetch: nearest the focus first, reaching twice as far ahead as behind. */
  next() {
    const cap = this.capacity() - 4;
    const all = cap >= this.size;
    const ahead = all ? this.size : Math.ceil((2 * cap) / 3);
    const behind = all ? this.size : cap - ahead;
    const d = this.direction;
    const wanted = (j) => j >= 0 && j < this.size && !this.cache.has(j) && !this.inflight.has(j) && !this.failed.has(j);
    for (let k = 0; k <= Math.max(ahead, behind); k++) {
      if (k <= ahead && wanted(this.focus + d * k)) return this.focus + d * k;
      if (k <= behind && wanted(this.focus - d * k)) return this.focus - d * k;
    }
    return -1;
  }

  pump() {
    if (this.closed) return;
    while (this.active < this.concurrency) {
      const j = this.next();
      if (j < 0) return;
      this.load(j).catch(() => {});
    }
  }

  /** Stops every request (another series or study is opened). */
  close() {
    this.closed = true;
    this.controller.abort();
    this.cache.clear();
    this.bytes = 0;
  }
}
