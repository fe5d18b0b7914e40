// A set of non-negative integers below 2^53 in one Float64Array (open addressing, linear probing).
// A processor keeps hundreds of thousands of customer hashes in its sketch cache: as a Set of
// numbers each is a heap object that every full garbage collection must visit; here a sketch's
// hashes are one object, whatever their number.

const EMPTY = -1;
const MIN_CAPACITY = 8;

export class IntegerSet {
  private slots: Float64Array;
  private mask: number;
  private count = 0;

  constructor(expected = 0) {
    let capacity = MIN_CAPACITY;
    while (capacity * 0.5 < expected) capacity *= 2;
    this.slots = new Float64Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes its slots take (they stay at most half full). */
  get memoryBytes(): number {
    return this.slots.byteLength;
  }

  has(value: number): boolean {
    const slots = this.slots;
    for (let i = (value >>> 0) & this.mask; ; i = (i + 1) & this.mask) {
      const held = slots[i]!;
      if (held === value) return true;
      if (held === EMPTY) return false;
    }
  }

  /** True when the value was not held yet. */
  add(value: number): boolean {
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value))) throw new RangeError(`IntegerSet holds integers in [0, 2^53): ${value}`);
    const slots = this.slots;
    for (let i = (value >>> 0) & this.mask; ; i = (i + 1) & this.mask) {
      const held = slots[i]!;
      if (held === value) return false;
      if (held === EMPTY) {
        slots[i] = value;
        if (++this.count * 2 > slots.length) this.grow();
        return true;
      }
    }
  }

  /** Each value, in no particular order (a plain loop: sketches merge thousands at a time). */
  forEach(callback: (value: number) => void): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== EMPTY) callback(slots[i]!);
  }

  /** The values in one array of their own, in no particular order. */
  values(): Float64Array {
    const out = new Float64Array(this.count);
    const slots = this.slots;
    let n = 0;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== EMPTY) out[n++] = slots[i]!;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (const value of this.slots) if (value !== EMPTY) yield value;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2).fill(EMPTY);
    this.mask = this.slots.length - 1;
    for (const value of old) {
      if (value === EMPTY) continue;
      let i = (value >>> 0) & this.mask;
      while (this.slots[i] !== EMPTY) i = (i + 1) & this.mask;
      this.slots[i] = value;
    }
  }
}
