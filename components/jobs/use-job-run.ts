'use client';
// Polls one job run until it reaches a terminal status.
import { useQuery } from '@tanstack/react-query';
import { api } from '../api-client';
import type { PublicJobRun } from '@/lib/console/jobs';

const terminal = new Set(['succeeded', 'partial', 'failed', 'cancelled']);

export function useJobRun(id: string | null) {
  return useQuery({
    queryKey: ['job-run', id],
    enabled: !!id,
    queryFn: () => api<{ jobRun: PublicJobRun }>(`/api/jobs/${id}`).then((r) => r.jobRun),
    refetchInterval: (q) => (q.state.data && terminal.has(q.state.data.status) ? false : 700),
  });
}

export const isTerminal = (status: string | undefined) => !!status && terminal.has(status);
