/**
 * The store, opened once per server process (migrations are applied by openStore). Kept on
 * globalThis so Next's dev reloads reuse the open handle instead of leaking one per reload.
 */
import { openStore, type Store } from "@rg/db";
import { env } from "~/env";

const holder = globalThis as typeof globalThis & { __rgStore?: Store };

export function getStore(): Store {
  holder.__rgStore ??= openStore(env().DATABASE_PATH);
  return holder.__rgStore;
}
