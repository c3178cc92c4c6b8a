/**
 * Raw HTTP/1.x on a client socket for the framing tests: a connection with event-driven
 * waits on what it has received, and a parser that splits the bytes into responses.
 */
import net from "node:net";
import { expect } from "vitest";

export const H = "Host: gw.test\r\n";

/** One client connection to the gateway, with event-driven waits on what it has received. */
export class Wire {
  private readonly socket: net.Socket;
  private received = "";
  private readonly waiters = new Set<() => void>();
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    // latin1 keeps one char per byte, so Content-Length arithmetic holds.
    this.socket.setEncoding("latin1");
    this.socket.on("data", (c: string) => {
      this.received += c;
      this.wake();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  get text(): string {
    return this.received;
  }

  send(bytes: string): void {
    if (!this.socket.destroyed) this.socket.write(bytes, "latin1");
  }

  /** Half-close: the client has sent everything it will. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** True once `cond` holds; false when it still does not after the socket closed or `timeoutMs`. */
  waitFor(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const finish = (v: boolean) => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      const check = () => {
        if (cond()) finish(true);
        else if (this.closed) finish(false);
      };
      timer = setTimeout(() => finish(cond()), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** Raw header lines as received (name: value), in order. */
  lines: string[];
  body: string;
}

export interface Parsed {
  /** Interim (1xx) responses, in order. */
  interim: WireResponse[];
  /** Final responses, complete by their framing, in order. */
  finals: WireResponse[];
  /** Bytes after the last complete response (garbage, or a response cut short). */
  rest: string;
}

/**
 * Split a byte stream into HTTP/1.x responses. `methods[i]` is the method of the i-th request
 * (a response to HEAD has no body); `eof` means the stream ended (close-delimited bodies end).
 */
export function parseResponses(text: string, methods: readonly string[] = [], eof = false): Parsed {
  const out: Parsed = { interim: [], finals: [], rest: "" };
  let i = 0;
  for (let guard = 0; guard < 100; guard++) {
    const headEnd = text.indexOf("\r\n\r\n", i);
    if (headEnd === -1) break;
    const lines = text.slice(i, headEnd).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
    if (!m) break;
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const c = line.indexOf(":");
      const k = line.slice(0, c).trim().toLowerCase();
      const v = line.slice(c + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    let p = headEnd + 4;
    if (status < 200) {
      out.interim.push({ status, headers, lines: lines.slice(1), body: "" });
      i = p;
      continue;
    }
    const method = methods[out.finals.length] ?? "GET";
    let body = "";
    if (method === "HEAD" || status === 204 || status === 304) {
      // No content, whatever the framing headers say.
    } else if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) {
      let complete = false;
      for (let n = 0; n < 10_000; n++) {
        const eol = text.indexOf("\r\n", p);
        if (eol === -1) break;
        const size = parseInt(text.slice(p, eol).split(";")[0]!, 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          // The last chunk, then a trailer section ending with an empty line.
          const end = text.indexOf("\r\n\r\n", eol);
          if (end === -1) break;
          p = end + 4;
          complete = true;
          break;
        }
        if (text.length < eol + 2 + size + 2) break;
        body += text.slice(eol + 2, eol + 2 + size);
        p = eol + 2 + size + 2;
      }
      if (!complete) break;
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      if (text.length < p + n) break;
      body = text.slice(p, p + n);
      p += n;
    } else {
      if (!eof) break;
      body = text.slice(p);
      p = text.length;
    }
    out.finals.push({ status, headers, lines: lines.slice(1), body });
    i = p;
  }
  out.rest = text.slice(i);
  return out;
}

export interface Exchange extends Parsed {
  closed: boolean;
  text: string;
}

/** An RFC 9457 problem document with this status. */
export function expectProblem(
  r: WireResponse | undefined,
  status: number,
): Record<string, unknown> {
  expect(r, "a final response").toBeDefined();
  expect(r!.status).toBe(status);
  expect(r!.headers["content-type"] ?? "(no content-type)").toMatch(
    /^application\/problem\+json\b/,
  );
  const p = JSON.parse(r!.body) as Record<string, unknown>;
  expect(p).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  return p;
}
