import { Badge } from "~/components/badges";
import type { StateMeta } from "~/lib/breaker";

const STATUS: Record<string, StateMeta> = {
  open: { label: "Open", icon: "⚑", tone: "bad" },
  acknowledged: { label: "Acknowledged", icon: "◐", tone: "warn" },
  resolved: { label: "Resolved", icon: "✓", tone: "ok" },
};

export function IncidentStatus({ status }: { status: string }) {
  return <Badge meta={STATUS[status] ?? { label: status, icon: "•", tone: "muted" }} />;
}
