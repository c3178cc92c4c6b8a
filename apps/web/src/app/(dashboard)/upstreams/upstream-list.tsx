"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { BreakerBadge } from "~/components/badges";
import { QueryError } from "~/components/errors";
import { Ago } from "~/components/time";
import { describeReason } from "~/lib/breaker";
import { formatMs, formatPercent, formatRate } from "~/lib/format";
import { useTRPC } from "~/trpc/react";

export function UpstreamList() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.overview.get.queryOptions(), refetchInterval: 2000 });
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Upstreams</h1>
          <p>Breaker state and traffic of every upstream over the last minute.</p>
        </div>
      </div>
      {q.error && <QueryError error={q.error} />}
      <section className="panel">
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Upstream</th>
                <th scope="col">Breaker</th>
                <th scope="col">Why</th>
                <th scope="col">Since</th>
                <th scope="col" className="num">
                  req/s
                </th>
                <th scope="col" className="num">
                  Errors
                </th>
                <th scope="col" className="num">
                  p99
                </th>
              </tr>
            </thead>
            <tbody>
              {(q.data?.upstreams ?? []).map((u) => (
                <tr key={u.id}>
                  <td>
                    <Link href={`/upstreams/${u.id}`}>
                      <strong>{u.id}</strong>
                    </Link>
                  </td>
                  <td>
                    <BreakerBadge state={u.state === "unknown" ? null : u.state} />
                  </td>
                  <td className="small">
                    {u.state === "closed" ? "" : (describeReason(u.reason) ?? "")}
                  </td>
                  <td className="small">
                    {u.since ? <Ago at={u.since} /> : "—"}
                    {u.reportedAt !== null && (
                      <div className="muted">
                        last reported <Ago at={u.reportedAt} />
                      </div>
                    )}
                  </td>
                  <td className="num">{formatRate(u.rps)}</td>
                  <td className="num">
                    {formatPercent(u.errorRate === null ? null : u.errorRate * 100)}
                  </td>
                  <td className="num">{formatMs(u.p99)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
