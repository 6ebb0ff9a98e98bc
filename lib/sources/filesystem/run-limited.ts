// runLimited: a bounded pool over a list of tasks, for the restorer's reads and file work.

/**
 * Runs `tasks` in order with at most `limit` running at once. After the first failure no new task
 * starts; it waits for the running ones to settle (so nothing is left writing when it returns), then
 * rethrows that first failure.
 */
export async function runLimited(tasks: Iterable<() => Promise<void>>, limit: number): Promise<void> {
  const next = tasks[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure) {
      const step = next.next();
      if (step.done) return;
      try {
        await step.value();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure) throw failure.error;
}
