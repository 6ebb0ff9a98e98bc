// Ctrl-C and SIGTERM during a long command: abort its work through an AbortSignal (so the engine stops,
// removes temp files and writes no snapshot) instead of killing the process mid-write.

/** An AbortSignal fired by the first SIGINT/SIGTERM; call dispose() when the command ends. */
export function abortOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
