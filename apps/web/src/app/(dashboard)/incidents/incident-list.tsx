"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { QueryError } from "~/components/errors";
import { Ago, Elapsed } from "~/components/time";
import { formatDateTime } from "~/lib/format";
import { useTRPC } from "~/trpc/react";
import { IncidentStatus } from "./incident-status";

export function IncidentList() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.incidents.list.queryOptions({}), refetchInterval: 2000 });
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Incidents</h1>
          <p>
            Opened automatically when a breaker opens, an SLO burns, an upstream loses every
            endpoint, or the gateway is degraded. Open first.
          </p>
        </div>
      </div>
      {q.error && <QueryError error={q.error} />}
      <section className="panel">
        {q.data && q.data.length === 0 ? (
          <p className="empty">No incidents. All quiet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Incident</th>
                  <th scope="col">Status</th>
                  <th scope="col">Scope</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Opened</th>
                  <th scope="col">Duration</th>
                </tr>
              </thead>
              <tbody>
                {q.data?.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <Link href={`/incidents/${i.id}`}>
                        <strong>{i.title}</strong>
                      </Link>{" "}
                      <span className="muted small">#{i.id}</span>
                    </td>
                    <td>
                      <IncidentStatus status={i.status} />
                    </td>
                    <td>
                      {i.scopeKind} <strong>{i.scopeId}</strong>
                    </td>
                    <td className="small">{i.trigger}</td>
                    <td className="small" title={formatDateTime(i.openedAt)}>
                      <Ago at={i.openedAt} />
                    </td>
                    <td className="small">
                      {i.resolvedAt ? (
                        <Elapsed since={i.openedAt} until={i.resolvedAt} />
                      ) : (
                        <>
                          <Elapsed since={i.openedAt} /> so far
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
