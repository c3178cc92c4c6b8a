/**
 * WebSocket frame boundaries (RFC 6455 §5.2) in one direction of a tunnel, followed without
 * buffering or unmasking anything: the tunnel still forwards bytes as they come, and uses the
 * boundaries only to put its own Close frame between two frames when it ends the tunnel.
 * Control frames may come between the fragments of a message (§5.4), so any boundary will do.
 */
import { randomBytes } from "node:crypto";

const OP_CLOSE = 0x8;
/** A frame header is 2 bytes, 2 or 8 more for the length, 4 more for a mask key. */
const MAX_HEADER = 14;

export class FrameCursor {
  /** Bytes of the frame in progress's header read so far (0: between frames or in its payload). */
  private headerLen = 0;
  private readonly header = Buffer.alloc(MAX_HEADER);
  /** Payload bytes of the frame in progress still to come. */
  private remaining = 0;
  /** True once a Close frame's header has gone through: the sender has begun the closing handshake. */
  closeSeen = false;

  /** True between two frames. */
  atBoundary(): boolean {
    return this.headerLen === 0 && this.remaining === 0;
  }

  /**
   * Follow `chunk`, all of it, or with `toBoundary` only up to the end of the frame in progress.
   * Returns how many of its bytes were followed.
   */
  advance(chunk: Buffer, toBoundary = false): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        this.remaining -= take;
        i += take;
        continue;
      }
      if (toBoundary && this.headerLen === 0) return i;
      this.header[this.headerLen++] = chunk[i++]!;
      const need = this.headerSize();
      if (this.headerLen === need) this.endHeader();
    }
    return i;
  }

  /** The header's full size, as far as the bytes read so far tell (2 until they do). */
  private headerSize(): number {
    if (this.headerLen < 2) return 2;
    const b1 = this.header[1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  private endHeader(): void {
    const h = this.header;
    if ((h[0]! & 0x0f) === OP_CLOSE) this.closeSeen = true;
    const len7 = h[1]! & 0x7f;
    // A 64-bit length past 2^53 is not a frame anyone sends; it only makes the frame endless.
    this.remaining =
      len7 === 126
        ? h.readUInt16BE(2)
        : len7 === 127
          ? h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6)
          : len7;
    this.headerLen = 0;
  }
}

/**
 * A Close frame with `code` and `reason` (cut to the 123 bytes a control frame allows).
 * Frames to a server are masked (§5.3), with a fresh random key.
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  let cut = reason;
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1);
  const text = Buffer.from(cut, "utf8");
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  if (!masked) return Buffer.concat([Buffer.from([0x80 | OP_CLOSE, payload.length]), payload]);
  const key = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from([0x80 | OP_CLOSE, 0x80 | payload.length]), key, payload]);
}
