import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Writable } from "node:stream";
import * as ws from "ws";
import { closeFrame, FrameCursor } from "./ws-frames";

/** ws's frame parser (untyped in @types/ws): an independent reader of the frames built here. */
const { Receiver } = ws as unknown as {
  Receiver: new (opts: { isServer: boolean }) => Writable;
};

/** One frame's bytes, as RFC 6455 §5.2 lays them out (the payload left unmasked: only its length matters). */
function frame(opcode: number, fin: boolean, length: number, masked: boolean): Buffer {
  const ext = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  const len7 = ext === 0 ? length : ext === 2 ? 126 : 127;
  head[1] = (masked ? 0x80 : 0) | len7;
  if (ext === 2) head.writeUInt16BE(length, 2);
  if (ext === 8) {
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length % 2 ** 32, 6);
  }
  if (masked) head.writeUInt32BE(0xdeadbeef, 2 + ext);
  return Buffer.concat([head, Buffer.alloc(length, 0x61)]);
}

const frames = fc.array(
  fc.record({
    opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa),
    fin: fc.boolean(),
    length: fc.oneof(
      fc.integer({ min: 0, max: 130 }),
      fc.constantFrom(125, 126, 127, 65_535, 65_536),
      fc.integer({ min: 65_536, max: 70_000 }),
    ),
    masked: fc.boolean(),
  }),
  { minLength: 1, maxLength: 8 },
);

describe("FrameCursor", () => {
  it("knows after every chunk whether it stands between two frames, however the bytes are cut", () => {
    fc.assert(
      fc.property(
        frames,
        fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 12 }),
        (fs, cuts) => {
          const parts = fs.map((f) => frame(f.opcode, f.fin, f.length, f.masked));
          const bytes = Buffer.concat(parts);
          const ends = new Set<number>();
          let at = 0;
          for (const p of parts) ends.add((at += p.length));
          const c = new FrameCursor();
          let offset = 0;
          for (const size of [...cuts, bytes.length]) {
            const chunk = bytes.subarray(offset, offset + size);
            if (chunk.length === 0) break;
            expect(c.advance(chunk)).toBe(chunk.length);
            offset += chunk.length;
            expect(c.atBoundary()).toBe(ends.has(offset));
          }
          expect(c.closeSeen).toBe(fs.some((f) => f.opcode === 0x8));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("stops at the end of the frame in progress when asked to", () => {
    fc.assert(
      fc.property(frames, fc.nat(), (fs, pick) => {
        const parts = fs.map((f) => frame(f.opcode, f.fin, f.length, f.masked));
        const bytes = Buffer.concat(parts);
        const split = pick % bytes.length;
        let next = 0;
        for (const p of parts) if ((next += p.length) > split) break;
        const c = new FrameCursor();
        c.advance(bytes.subarray(0, split));
        const between = c.atBoundary();
        const end = between ? split : next;
        expect(c.advance(bytes.subarray(split), true)).toBe(end - split);
        expect(c.atBoundary()).toBe(true);
        // At a boundary it takes nothing more.
        expect(c.advance(bytes.subarray(end), true)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("closeFrame", () => {
  /** What a WebSocket endpoint reads from the bytes: `isServer` reads frames sent to a server. */
  const read = (bytes: Buffer, isServer: boolean) =>
    new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const r = new Receiver({ isServer });
      r.on("conclude", (code: number, reason: Buffer) =>
        resolve({ code, reason: reason.toString() }),
      );
      r.on("error", reject);
      r.write(bytes);
    });

  it("is read as a Close with its code and reason, masked towards a server", async () => {
    const toServer = closeFrame(1001, "gateway shutting down", true);
    expect(toServer[1]! & 0x80).toBe(0x80);
    await expect(read(toServer, true)).resolves.toEqual({
      code: 1001,
      reason: "gateway shutting down",
    });
    const toClient = closeFrame(1013, "read-only mode", false);
    expect(toClient[1]! & 0x80).toBe(0);
    await expect(read(toClient, false)).resolves.toEqual({ code: 1013, reason: "read-only mode" });
    // Two frames to a server never share a mask key.
    expect(closeFrame(1001, "x", true).subarray(2, 6)).not.toEqual(
      closeFrame(1001, "x", true).subarray(2, 6),
    );
  });

  it("cuts a long reason to the 123 bytes a control frame allows, on a character boundary", async () => {
    const f = closeFrame(1001, "é".repeat(100), false);
    const got = await read(f, false);
    expect(got.code).toBe(1001);
    expect(Buffer.byteLength(got.reason)).toBe(122);
    expect(got.reason).toBe("é".repeat(61));
  });
});
