"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Badge } from "~/components/badges";
import { DiffTable } from "~/components/diff-table";
import { QueryError } from "~/components/errors";
import { Ago } from "~/components/time";
import { formatDateTime } from "~/lib/format";
import { useTRPC } from "~/trpc/react";

const PAGE = 25;

function Filter({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: readonly string[];
  onChange: (v: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

export function AuditView() {
  const trpc = useTRPC();
  const filters = useQuery(trpc.audit.filters.queryOptions());
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [target, setTarget] = useState("");
  // Cursors of the pages visited so far: the first page has none.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const input = {
    limit: PAGE,
    ...(actor ? { actor } : {}),
    ...(action ? { action } : {}),
    ...(target ? { target } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
  const list = useQuery({
    ...trpc.audit.list.queryOptions(input),
    placeholderData: keepPreviousData,
    refetchInterval: cursors.length === 1 ? 5000 : false,
  });
  const reset = (set: (v: string) => void) => (v: string) => {
    set(v);
    setCursors([undefined]);
  };
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Audit log</h1>
          <p>Every operator action: who, what, before → after, why and when. Append-only.</p>
        </div>
      </div>
      <section className="panel stack" aria-label="Filters">
        <div className="form-grid">
          <Filter
            label="Actor"
            value={actor}
            options={filters.data?.actors ?? []}
            onChange={reset(setActor)}
          />
          <Filter
            label="Action"
            value={action}
            options={filters.data?.actions ?? []}
            onChange={reset(setAction)}
          />
          <Filter
            label="Target"
            value={target}
            options={filters.data?.targets ?? []}
            onChange={reset(setTarget)}
          />
        </div>
      </section>
      {list.error && <QueryError error={list.error} />}
      <section className="panel">
        {list.data && list.data.rows.length === 0 ? (
          <p className="empty">No audit rows match.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col" style={{ width: "34%" }}>
                    Before → after
                  </th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {list.data?.rows.map((r) => (
                  <tr key={r.id}>
                    <td className="small" title={formatDateTime(r.at)}>
                      {formatDateTime(r.at).slice(5, 19)}
                      <div className="muted">
                        <Ago at={r.at} />
                      </div>
                    </td>
                    <td>
                      {r.actor}
                      <div className="muted small">{r.role}</div>
                    </td>
                    <td>
                      <span className="mono">{r.action}</span>
                      {r.outcome === "refused" && (
                        <div>
                          <Badge meta={{ label: "Refused", icon: "⊗", tone: "warn" }} />
                        </div>
                      )}
                    </td>
                    <td className="mono">{r.target}</td>
                    <td>
                      <DiffTable before={r.before} after={r.after} />
                    </td>
                    <td className="small">{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav
          className="row"
          aria-label="Pages"
          style={{ justifyContent: "space-between", marginTop: 12 }}
        >
          <button
            type="button"
            disabled={cursors.length === 1}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            ← Newer
          </button>
          <span className="muted small">Page {cursors.length}</span>
          <button
            type="button"
            disabled={!list.data?.nextCursor}
            onClick={() => {
              const next = list.data?.nextCursor;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            Older →
          </button>
        </nav>
      </section>
    </>
  );
}
