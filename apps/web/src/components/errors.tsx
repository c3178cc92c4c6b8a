/**
 * A tRPC error as one line for people: config issues as `path: reason`, input validation as
 * the fields that failed, otherwise the server's message.
 */
export function errorText(error: unknown): string {
  const e = error as {
    message?: string;
    data?: {
      code?: string;
      issues?: { path: string; message: string }[] | null;
      zodIssues?: { path: string; message: string }[] | null;
    } | null;
  };
  const issues = e?.data?.issues ?? e?.data?.zodIssues;
  if (issues && issues.length > 0)
    return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
  if (e?.data?.code === "FORBIDDEN") return "Your role does not allow this action.";
  if (e?.data?.code === "UNAUTHORIZED") return "Your session has ended. Sign in again.";
  return e?.message ?? "Something went wrong.";
}

export function QueryError({ error }: { error: unknown }) {
  return (
    <div role="alert" className="alert error">
      {errorText(error)}
    </div>
  );
}
