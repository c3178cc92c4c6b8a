import net, { type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "./harness";
import { joinTunnel, type TunnelEnd } from "../src/proxy/tunnel";
import { closeFrame } from "../src/proxy/ws-frames";

/**
 * Two ends of one loopback TCP connection: [the outside party, the gateway's side]. Both
 * allow half-open connections, as the gateway's server does.
 */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<Socket>((r) => server.once("connection", r));
  const outside = net.connect({
    port: (server.address() as AddressInfo).port,
    host: "127.0.0.1",
    allowHalfOpen: true,
  });
  const inside = await accepted;
  server.close();
  await new Promise((r) => outside.once("connect", r));
  return [outside, inside];
}

/** `count` binary frames of `size` bytes each, unmasked (as a server sends them) or masked. */
function frames(count: number, size: number, masked: boolean): Buffer {
  const head = Buffer.from([0x82, (masked ? 0x80 : 0) | 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  head.writeUInt32BE(size, 6);
  const one = Buffer.concat([
    head,
    masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0),
    Buffer.alloc(size, 7),
  ]);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

/** A 10-byte frame of which only the header and 4 bytes were sent. */
const HALF_FRAME = frames(1, 10, false).subarray(0, 14);

const opened: Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

async function tunnel() {
  const [client, gwClient] = await socketPair();
  const [upstream, gwUpstream] = await socketPair();
  opened.push(client, gwClient, upstream, gwUpstream);
  gwClient.pause();
  gwUpstream.pause();
  const ends: [TunnelEnd, string | undefined][] = [];
  joinTunnel(gwClient, Buffer.alloc(0), gwUpstream, Buffer.alloc(0), 0, (by, code) =>
    ends.push([by, code]),
  );
  return { client, gwClient, upstream, gwUpstream, ends };
}

/** Count what `s` receives. */
function received(s: Socket): () => number {
  let n = 0;
  s.on("data", (c: Buffer) => (n += c.length));
  return () => n;
}

describe("joinTunnel", () => {
  // 32 MiB against a reader that has stopped: what the gateway holds must stay near one
  // socket's high-water mark, however fast the other side sends.
  const FRAMES = 32;
  const FRAME = 1024 * 1024;

  for (const way of ["to the client", "to the upstream"] as const) {
    it(`stops reading while the reader ${way} does not keep up, and loses nothing`, async () => {
      const t = await tunnel();
      const [sender, reader, gwFrom, gwTo] =
        way === "to the client"
          ? [t.upstream, t.client, t.gwUpstream, t.gwClient]
          : [t.client, t.upstream, t.gwClient, t.gwUpstream];
      reader.pause();
      let held = 0;
      // Runs after the tunnel's own listener: what the gateway holds once it has forwarded.
      gwFrom.on("data", () => (held = Math.max(held, gwTo.writableLength)));
      sender.write(frames(FRAMES, FRAME, way === "to the upstream"));
      await until(() => gwFrom.isPaused());
      const got = received(reader);
      reader.resume();
      await until(() => got() === FRAMES * (FRAME + (way === "to the upstream" ? 14 : 10)));
      expect(held).toBeLessThan(1024 * 1024);
      expect(gwFrom.isPaused()).toBe(false);
    });
  }

  it("passes a half-close through and ends once both sides are closed", async () => {
    const t = await tunnel();
    const got = received(t.upstream);
    const upstreamEnded = new Promise((r) => t.upstream.once("end", r));
    t.client.end(frames(1, 10, true));
    await upstreamEnded;
    expect(got()).toBe(10 + 14);
    // The other way still carries bytes after the half-close.
    const back = received(t.client);
    t.upstream.end(frames(1, 5, false));
    await until(() => back() === 5 + 10 && t.ends.length === 1);
    expect(t.ends).toEqual([["client", undefined]]);
  });

  /** Everything `s` receives, as one buffer. */
  function bytes(s: Socket): () => Buffer {
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    return () => Buffer.concat(chunks);
  }

  for (const side of ["client", "upstream"] as const) {
    it(`reports a reset by the ${side} as ${side}_error with its code, and closes the other side`, async () => {
      const t = await tunnel();
      const [resetter, other] = side === "client" ? [t.client, t.upstream] : [t.upstream, t.client];
      const got = bytes(other);
      // The outside parties allow half-open connections: the gateway's close shows as an end.
      const otherEnded = new Promise((r) => other.once("end", r));
      resetter.resetAndDestroy();
      await otherEnded;
      other.end();
      await until(() => t.ends.length === 1);
      expect(t.ends).toEqual([[`${side}_error`, "ECONNRESET"]]);
      if (side === "client") {
        // The upstream just loses its connection (1006 to it), as when the client's own died.
        expect(got().length).toBe(0);
      } else {
        // The client is told that the upstream failed: a Close frame, 1014 Bad Gateway.
        const reason = Buffer.from("upstream connection failed");
        expect(got()).toEqual(
          Buffer.concat([Buffer.from([0x88, 2 + reason.length, 0x03, 0xf6]), reason]),
        );
      }
    });
  }

  it("sends no Close frame into a frame the upstream left unfinished when it reset", async () => {
    const t = await tunnel();
    const got = bytes(t.client);
    const ended = new Promise((r) => t.client.once("end", r));
    t.upstream.write(HALF_FRAME);
    await until(() => got().length === HALF_FRAME.length);
    t.upstream.resetAndDestroy();
    await ended;
    await until(() => t.ends.length === 1);
    expect(got()).toEqual(HALF_FRAME);
    expect(t.ends).toEqual([["upstream_error", "ECONNRESET"]]);
  });

  it("tells the client 1014 when the upstream closes before anyone sent a Close frame", async () => {
    const t = await tunnel();
    const got = bytes(t.client);
    const ended = new Promise((r) => t.client.once("end", r));
    const frame = frames(1, 10, false);
    t.upstream.write(frame);
    await until(() => got().length === frame.length);
    // A FIN with no Close frame before it: what a server whose process died leaves behind.
    t.upstream.end();
    await ended;
    t.client.end(closeFrame(1014, "", true));
    await until(() => t.ends.length === 1);
    expect(got()).toEqual(
      Buffer.concat([frame, closeFrame(1014, "upstream closed without a Close frame", false)]),
    );
    expect(t.ends).toEqual([["upstream_error", "NO_CLOSE_FRAME"]]);
  });

  it("passes an upstream's FIN inside a frame through as a half-close, and still counts it", async () => {
    const t = await tunnel();
    const got = bytes(t.client);
    const ended = new Promise((r) => t.client.once("end", r));
    t.upstream.end(HALF_FRAME);
    await ended;
    t.client.end();
    await until(() => t.ends.length === 1);
    expect(got()).toEqual(HALF_FRAME);
    expect(t.ends).toEqual([["upstream_error", "NO_CLOSE_FRAME"]]);
  });

  it("ends cleanly when the upstream closes after its own Close frame", async () => {
    const t = await tunnel();
    const got = bytes(t.client);
    const ended = new Promise((r) => t.client.once("end", r));
    const bye = closeFrame(1000, "bye", false);
    t.upstream.end(bye);
    await ended;
    t.client.end(closeFrame(1000, "bye", true));
    await until(() => t.ends.length === 1);
    // Nothing added: the frame passes as it is, and the end is the upstream's own.
    expect(got()).toEqual(bye);
    expect(t.ends).toEqual([["upstream", undefined]]);
  });

  it("ends cleanly when the upstream drops the connection after the client's Close frame", async () => {
    const t = await tunnel();
    const got = bytes(t.client);
    const sent = bytes(t.upstream);
    const ended = new Promise((r) => t.client.once("end", r));
    const bye = closeFrame(1000, "bye", true);
    t.client.write(bye);
    await until(() => sent().length === bye.length);
    // The client began closing: a server that answers with a bare FIN has not failed.
    t.upstream.end();
    await ended;
    t.client.end();
    await until(() => t.ends.length === 1);
    expect(got().length).toBe(0);
    expect(t.ends).toEqual([["upstream", undefined]]);
  });

  it("drops what the client sends after it was told of the upstream's failure, then ends", async () => {
    const t = await tunnel();
    const got = bytes(t.client);
    t.upstream.resetAndDestroy();
    await until(() => got().length > 0);
    // The client answers the Close with its own, then closes, as RFC 6455 §5.5.1 asks.
    t.client.end(frames(1, 2, true));
    await until(() => t.ends.length === 1);
    expect(t.ends).toEqual([["upstream_error", "ECONNRESET"]]);
    expect(t.gwClient.destroyed).toBe(true);
  });
});
