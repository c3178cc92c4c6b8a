import type { Random } from "../ports";

/** mulberry32: a small, fast, seedable PRNG; good enough for jitter and tests. */
export class SeededRandom implements Random {
  private state: number;
  constructor(seed = 1) {
    this.state = seed >>> 0;
  }
  next(): number {
    let z = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }
}

/** A Random that returns the given values in turn (cycling). */
export class SequenceRandom implements Random {
  private i = 0;
  constructor(private readonly values: readonly number[]) {}
  next(): number {
    const v = this.values[this.i % this.values.length] ?? 0;
    this.i++;
    return v;
  }
}
