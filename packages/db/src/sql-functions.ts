/**
 * SQL functions over latency histograms stored as JSON arrays, so upserts and roll-ups add
 * histograms inside SQLite instead of reading rows out and writing them back.
 */
import type Database from "better-sqlite3";
import { LATENCY_CELLS } from "@rg/core/sli";

export function parseCells(json: unknown): number[] {
  if (typeof json !== "string") return new Array<number>(LATENCY_CELLS).fill(0);
  const v: unknown = JSON.parse(json);
  return Array.isArray(v) ? (v as number[]) : new Array<number>(LATENCY_CELLS).fill(0);
}

function addInto(acc: number[], cells: readonly number[]): number[] {
  const n = Math.max(acc.length, cells.length);
  for (let i = 0; i < n; i++) acc[i] = (acc[i] ?? 0) + (cells[i] ?? 0);
  return acc;
}

export function registerFunctions(sqlite: Database.Database): void {
  sqlite.function("rg_add_cells", { deterministic: true }, (a: unknown, b: unknown) =>
    JSON.stringify(addInto(parseCells(a), parseCells(b))),
  );
  sqlite.aggregate("rg_sum_cells", {
    start: () => new Array<number>(LATENCY_CELLS).fill(0),
    step: (acc: number[], cells: unknown) => addInto(acc, parseCells(cells)),
    result: (acc: number[]) => JSON.stringify(acc),
  });
}
