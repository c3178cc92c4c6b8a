/**
 * Runs once when the Next server starts: opens the store (migrations applied) and creates
 * the first admin when there is no user yet.
 */
export async function register(): Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- Next inlines NEXT_RUNTIME per bundle.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { bootstrapServer } = await import("./server/bootstrap");
  await bootstrapServer();
}
