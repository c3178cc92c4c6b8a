/**
 * A WebSocket tunnel once the handshake is done: the client's and the upstream's sockets
 * joined byte for byte. The gateway does not read WebSocket messages; it only follows frame
 * boundaries, so that when it ends a tunnel itself (idle, config change, shutdown) both sides
 * get a Close frame with a code and a reason between two frames, instead of a bare TCP close
 * that a browser reports as 1006 (abnormal). When the upstream's socket fails (a reset, a
 * keep-alive timeout) or the upstream closes its connection without a Close frame (its process
 * died, say) between two frames towards the client, the client gets 1014 Bad Gateway, so that
 * it can tell a failed upstream from a failed gateway.
 */
import type { Socket } from "node:net";
import { closeFrame, FrameCursor } from "./ws-frames";

/**
 * Why a tunnel ended: who closed first (`client_error`, `upstream_error`: whose socket failed
 * first, a reset or a keep-alive timeout; for the upstream also a connection it closed without
 * a Close frame while neither side had begun closing), or what the gateway closed it for.
 */
export type TunnelEnd =
  "client" | "upstream" | "client_error" | "upstream_error" | "idle" | "config" | "shutdown";

/** Close codes the gateway sends (RFC 6455 §7.4.1 and IANA's registry). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;
export const CLOSE_BAD_GATEWAY = 1014;

/**
 * The error code of a tunnel whose upstream closed its connection (a FIN) before either side
 * sent a Close frame: what a server's process that died or was killed leaves behind.
 */
export const NO_CLOSE_FRAME = "NO_CLOSE_FRAME";

export interface Tunnel {
  /**
   * Close both sides (config change, shutdown): each gets a Close frame with `code` and
   * `reason` once the frame in progress towards it has passed, then the connection ends; the
   * bytes already written are flushed first.
   */
  close(by: "config" | "shutdown", code: number, reason: string): void;
  /** Change the idle timeout (0: never), counted from the last byte either way. */
  setIdleTimeout(ms: number): void;
}

/** How long a closed tunnel's sockets may take to flush before they are destroyed. */
const CLOSE_GRACE_MS = 2000;

/** One direction of the tunnel. */
interface Direction {
  from: Socket;
  to: Socket;
  cursor: FrameCursor;
  /** Frames to the upstream (a server) are masked. */
  masked: boolean;
  /** Waiting for `to` to drain, `from` paused. */
  waiting: boolean;
  /** Closing: this direction got its Close frame (or cannot), and what comes is dropped. */
  done: boolean;
}

/**
 * Join the two sockets. `clientHead` and `upstreamHead` are the bytes that arrived with the
 * handshake on each side; `idleMs` (0: never) closes the tunnel when neither side sends
 * anything for that long (the client socket sees both directions: it reads what the client
 * sends and writes what the upstream sends). `onEnd` runs once, when both sockets are closed,
 * with the error code (ECONNRESET, ETIMEDOUT...) when a socket failed first.
 * A half-close passes through (a FIN from one side ends the other's writing side). A reset or
 * an error on the client's side destroys the upstream's; one on the upstream's side sends the
 * client 1014 when that falls between two frames (and the upstream has not begun closing),
 * and destroys the client's socket otherwise. An upstream's FIN before any Close frame and
 * before the client's own FIN is such a failure too (NO_CLOSE_FRAME); when it falls inside a
 * frame, it passes through as a half-close.
 */
export function joinTunnel(
  client: Socket,
  clientHead: Buffer,
  upstream: Socket,
  upstreamHead: Buffer,
  idleMs: number,
  onEnd: (by: TunnelEnd, errorCode?: string) => void,
): Tunnel {
  let by: TunnelEnd | undefined;
  let errorCode: string | undefined;
  let open = 2;
  let closing: { code: number; reason: string } | undefined;
  const closed = () => {
    if (--open === 0) onEnd(by ?? "client", errorCode);
  };
  const failed = (side: "client_error" | "upstream_error", code: string | undefined) => {
    if (by === undefined) {
      by = side;
      errorCode = code ?? "ERR_UNKNOWN";
    }
  };
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.setKeepAlive(true, 30_000);
  upstream.setKeepAlive(true, 30_000);
  client.setTimeout(idleMs);
  upstream.setTimeout(0);
  client.on("error", (err: NodeJS.ErrnoException) => {
    failed("client_error", err.code);
    upstream.destroy();
  });
  upstream.on("error", (err: NodeJS.ErrnoException) => {
    failed("upstream_error", err.code);
    if (!badGateway("upstream connection failed")) client.destroy();
  });
  client.on("end", () => {
    by ??= "client";
  });
  upstream.on("end", () => {
    if (
      by === undefined &&
      closing === undefined &&
      !toClient.cursor.closeSeen &&
      !toUpstream.cursor.closeSeen
    ) {
      // Nobody began closing: the upstream went away rather than closed.
      failed("upstream_error", NO_CLOSE_FRAME);
      badGateway("upstream closed without a Close frame");
    }
    by ??= "upstream";
  });
  client.on("close", (hadError: boolean) => {
    by ??= "client";
    if (hadError) upstream.destroy();
    else upstream.destroySoon();
    closed();
  });
  upstream.on("close", (hadError: boolean) => {
    by ??= "upstream";
    // Once the client is told (1014), its Close is on its way: the client or the grace timer
    // ends the rest.
    if (!clientTold) {
      if (hadError) client.destroy();
      else client.destroySoon();
    }
    closed();
  });

  const toUpstream: Direction = {
    from: client,
    to: upstream,
    cursor: new FrameCursor(),
    masked: true,
    waiting: false,
    done: false,
  };
  const toClient: Direction = {
    from: upstream,
    to: client,
    cursor: new FrameCursor(),
    masked: false,
    waiting: false,
    done: false,
  };

  /** Closing: the direction's Close frame (unless its sender began closing already), then FIN. */
  const finish = (d: Direction, code: number, reason: string) => {
    d.done = true;
    if (d.to.writable) {
      if (!d.cursor.closeSeen) d.to.write(closeFrame(code, reason, d.masked));
      d.to.end();
    }
    // From now on what the sender sends (its answer to the other side's Close) is dropped.
    d.from.resume();
  };
  const write = (d: Direction, bytes: Buffer) => {
    if (d.to.write(bytes) || d.waiting) return;
    d.waiting = true;
    d.from.pause();
    d.to.once("drain", () => {
      d.waiting = false;
      d.from.resume();
    });
  };
  const forward = (d: Direction, chunk: Buffer) => {
    if (d.done) return;
    if (closing === undefined) {
      d.cursor.advance(chunk);
      write(d, chunk);
      return;
    }
    // The rest of the frame in progress, then the Close frame; nothing after it.
    const n = d.cursor.advance(chunk, true);
    if (n > 0) write(d, n === chunk.length ? chunk : chunk.subarray(0, n));
    if (d.cursor.atBoundary()) finish(d, closing.code, closing.reason);
  };
  for (const d of [toUpstream, toClient]) {
    d.from.on("data", (chunk: Buffer) => forward(d, chunk));
    d.from.on("end", () => {
      // A half-close passes through; while closing, a frame cut short gets no Close after it.
      if (d.done) return;
      d.done = closing !== undefined;
      d.to.end();
    });
  }

  /**
   * The upstream failed: tell the client with 1014 and `reason` if that can go between two
   * frames towards it. What the client sends from now on (its answering Close) is dropped.
   */
  let clientTold = false;
  const badGateway = (reason: string): boolean => {
    const d = toClient;
    if (closing !== undefined || d.done || !d.cursor.atBoundary() || d.cursor.closeSeen)
      return false;
    if (!client.writable) return false;
    clientTold = true;
    client.setTimeout(0);
    // Towards the upstream a Close goes only if its socket still takes writes (after a FIN on a
    // half-open connection); what comes from it from now on is dropped.
    for (const dir of [toUpstream, toClient]) finish(dir, CLOSE_BAD_GATEWAY, reason);
    setTimeout(destroyBoth, CLOSE_GRACE_MS).unref();
    return true;
  };

  const close = (reason: TunnelEnd, code: number, text: string) => {
    if (closing !== undefined || (client.destroyed && upstream.destroyed)) return;
    by ??= reason;
    closing = { code, reason: text };
    client.setTimeout(0);
    for (const d of [toUpstream, toClient])
      if (!d.done && d.cursor.atBoundary()) finish(d, code, text);
    setTimeout(destroyBoth, CLOSE_GRACE_MS).unref();
  };
  client.on("timeout", () => close("idle", CLOSE_GOING_AWAY, "idle timeout"));

  if (upstreamHead.length > 0) forward(toClient, upstreamHead);
  if (clientHead.length > 0) forward(toUpstream, clientHead);
  // Both come paused (the client's by the handshake's watch), and a listener does not resume them.
  client.resume();
  upstream.resume();
  return {
    setIdleTimeout(ms) {
      if (!client.destroyed && closing === undefined) client.setTimeout(ms);
    },
    close,
  };
}
