/**
 * A WebSocket tunnel once the handshake is done: the client's and the upstream's sockets
 * joined byte for byte. The gateway does not read WebSocket frames; it only watches the two
 * connections, as nginx and Envoy do.
 */
import type { Socket } from "node:net";

/** Why a tunnel ended: who closed first, or what the gateway closed it for. */
export type TunnelEnd = "client" | "upstream" | "idle" | "error" | "config" | "shutdown";

export interface Tunnel {
  /** Close both sides (config change, shutdown); the bytes already written are flushed first. */
  close(reason: "config" | "shutdown"): void;
  /** Change the idle timeout (0: never), counted from the last byte either way. */
  setIdleTimeout(ms: number): void;
}

/** How long a closed tunnel's sockets may take to flush before they are destroyed. */
const CLOSE_GRACE_MS = 2000;

/**
 * Join the two sockets. `clientHead` and `upstreamHead` are the bytes that arrived with the
 * handshake on each side; `idleMs` (0: never) closes the tunnel when neither side sends
 * anything for that long (the client socket sees both directions: it reads what the client
 * sends and writes what the upstream sends). `onEnd` runs once, when both sockets are closed.
 * A half-close passes through (a FIN from one side ends the other's writing side); a reset or
 * an error on one side destroys the other.
 */
export function joinTunnel(
  client: Socket,
  clientHead: Buffer,
  upstream: Socket,
  upstreamHead: Buffer,
  idleMs: number,
  onEnd: (by: TunnelEnd) => void,
): Tunnel {
  let by: TunnelEnd | undefined;
  let open = 2;
  const closed = () => {
    if (--open === 0) onEnd(by ?? "error");
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
  client.on("timeout", () => {
    by ??= "idle";
    destroyBoth();
  });
  client.on("error", () => {
    by ??= "error";
    upstream.destroy();
  });
  upstream.on("error", () => {
    by ??= "error";
    client.destroy();
  });
  client.on("end", () => {
    by ??= "client";
  });
  upstream.on("end", () => {
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
    if (hadError) client.destroy();
    else client.destroySoon();
    closed();
  });
  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (clientHead.length > 0) upstream.write(clientHead);
  upstream.pipe(client);
  client.pipe(upstream);
  return {
    setIdleTimeout(ms) {
      if (!client.destroyed) client.setTimeout(ms);
    },
    close(reason) {
      if (client.destroyed && upstream.destroyed) return;
      by ??= reason;
      upstream.unpipe(client);
      client.unpipe(upstream);
      client.end();
      upstream.end();
      setTimeout(destroyBoth, CLOSE_GRACE_MS).unref();
    },
  };
}
