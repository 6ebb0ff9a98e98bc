'use client';
// Starts a job through the API and follows it until it ends; `onDone` runs once with the final run.
import { useEffect, useRef, useState } from 'react';
import type { PublicJobRun } from '@/lib/console/jobs';
import { api, ApiFailure } from '../api-client';
import { isTerminal, useJobRun } from './use-job-run';

export function useStartJob(onDone?: (run: PublicJobRun) => void) {
  const [jobRunId, setJobRunId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { data: run } = useJobRun(jobRunId);
  const reported = useRef<string | null>(null);

  useEffect(() => {
    if (run && isTerminal(run.status) && reported.current !== run.id) {
      reported.current = run.id;
      onDone?.(run);
    }
  }, [run, onDone]);

  async function start(url: string, body?: unknown): Promise<boolean> {
    setError(null);
    try {
      const res = await api<{ jobRunId: string }>(url, { method: 'POST', body: body ?? {} });
      setJobRunId(res.jobRunId);
      return true;
    } catch (e) {
      setError(e instanceof ApiFailure ? Object.values(e.fields)[0] ? `${e.message}` : e.message : 'Could not start the job');
      return false;
    }
  }

  return { start, run, error, running: !!jobRunId && !isTerminal(run?.status) };
}
