/**
 * A light abort signal for the hot path. Creating a Node `AbortController` costs 15–25 µs on
 * Node 20 (measured on this project's machines; most of it garbage collection of the
 * signal's internals), several times the whole pipeline's budget, and every attempt needs a
 * signal. {@link LiteAbortSignal} has the shape of `AbortSignal` (`aborted`, `reason`,
 * `onabort`, `throwIfAborted`, `addEventListener` / `removeEventListener` for "abort") and
 * costs one small object. Node's own APIs that take a signal (`http.request`, `stream`'s
 * `addAbortSignal`, `events.addAbortListener`) only use that surface, so it can be passed to
 * them; it is not an `instanceof AbortSignal` and cannot go into `AbortSignal.any`: call
 * {@link LiteAbortSignal.toAbortSignal} for a real one when needed.
 */

type AbortListener = Parameters<AbortSignal["addEventListener"]>[1];
type AddOptions = Parameters<AbortSignal["addEventListener"]>[2];
type RemoveOptions = Parameters<AbortSignal["removeEventListener"]>[2];

export class LiteAbortSignal implements AbortSignal {
  aborted = false;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- AbortSignal types it `any`
  reason: any = undefined;
  onabort: ((this: AbortSignal, ev: Event) => unknown) | null = null;
  /** The first listener inline, the rest in an array: most signals have one or none. */
  private first: AbortListener | undefined = undefined;
  private rest: AbortListener[] | undefined = undefined;
  private real: AbortController | undefined = undefined;

  addEventListener(type: string, listener: AbortListener | null, _options?: AddOptions): void {
    // Like EventTarget: a signal that already aborted never calls late listeners.
    if (type !== "abort" || listener === null || this.aborted) return;
    // Like EventTarget, adding the same listener twice registers it once.
    if (this.first === listener || this.rest?.includes(listener)) return;
    if (this.first === undefined) this.first = listener;
    else (this.rest ??= []).push(listener);
  }

  removeEventListener(
    type: string,
    listener: AbortListener | null,
    _options?: RemoveOptions,
  ): void {
    if (type !== "abort" || listener === null) return;
    if (this.first === listener) {
      this.first = this.rest?.shift();
      return;
    }
    const rest = this.rest;
    if (rest === undefined) return;
    const i = rest.indexOf(listener);
    if (i >= 0) rest.splice(i, 1);
  }

  dispatchEvent(_event: Event): boolean {
    return true;
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** A real AbortSignal that aborts with this one (created on first call). */
  toAbortSignal(): AbortSignal {
    if (this.real === undefined) {
      this.real = new AbortController();
      if (this.aborted) this.real.abort(this.reason);
    }
    return this.real.signal;
  }

  /** @internal Fire once; listeners run in the order they were added (each exactly once). */
  _abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    const first = this.first;
    const rest = this.rest;
    this.first = undefined;
    this.rest = undefined;
    this.real?.abort(this.reason);
    const event = new Event("abort");
    if (this.onabort) call(this.onabort.bind(this), event);
    if (first !== undefined) call(first, event);
    if (rest !== undefined) for (const l of rest) call(l, event);
  }
}

function call(listener: AbortListener | ((ev: Event) => unknown), event: Event): void {
  try {
    if (typeof listener === "function") listener(event);
    else listener.handleEvent(event);
  } catch (e) {
    // As with EventTarget, one listener's error must not stop the others.
    queueMicrotask(() => {
      throw e;
    });
  }
}

/** The controller of a {@link LiteAbortSignal}: same use as AbortController. */
export class LiteAbortController {
  readonly signal = new LiteAbortSignal();
  abort(reason?: unknown): void {
    this.signal._abort(reason);
  }
}
