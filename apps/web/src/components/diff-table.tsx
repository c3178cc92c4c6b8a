import { diffValues, joinPath } from "../lib/diff";
import { formatValue } from "../lib/format";

/** Before → after of one value, one row per changed leaf. */
export function DiffTable({
  before,
  after,
  basePath = "",
  caption,
}: {
  before: unknown;
  after: unknown;
  basePath?: string;
  caption?: string;
}) {
  const changes = diffValues(before, after);
  if (changes.length === 0) return <p className="muted small">No change.</p>;
  return (
    <div className="table-wrap">
      <table className="diff">
        {caption && <caption className="muted small">{caption}</caption>}
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.path}>
              <td className="mono">{joinPath(basePath, c.path) || "(value)"}</td>
              <td className="mono before">{formatValue(c.before)}</td>
              <td className="mono after">{formatValue(c.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
