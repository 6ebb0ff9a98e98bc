// Bounded concurrency for I/O fan-out: Slots (tree loads, file reads: at most `size` tasks run at once, the
// rest wait in arrival order) and runLimited (a bounded pool over a list of tasks that stops at the first
// failure: the restorer's pack reads and file work).
export class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`Slots: size must be a positive integer, got ${size}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the first waiter, so a newcomer cannot slip in between.
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

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
