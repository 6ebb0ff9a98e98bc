'use client';
// Achieved RPO per source against its target: a bar past its target line is a source at risk.
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { PublicSource } from '@/lib/catalog/sources';

const colour = { green: '#1a7f37', amber: '#bf8700', red: '#cf222e' } as const;

export function RpoChart({ sources }: { sources: PublicSource[] }) {
  const data = sources.map((s) => ({
    name: s.name,
    // Never backed up: drawn at twice the target so it stands out.
    achieved: +((s.achievedRpoMinutes ?? s.rpoMinutes * 2) / s.rpoMinutes).toFixed(2),
    status: s.rpoStatus,
  }));
  if (data.length === 0) return null;
  return (
    <div className="panel" style={{ height: 80 + 28 * data.length }} data-testid="rpo-chart">
      <div className="muted">Time since last restore point, as a multiple of each source’s RPO (1 = at target)</div>
      <ResponsiveContainer width="100%" height="90%">
        <BarChart data={data} layout="vertical" margin={{ left: 40 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" domain={[0, (max: number) => Math.max(2, Math.ceil(max))]} fontSize={11} />
          <YAxis type="category" dataKey="name" fontSize={12} width={140} />
          <Tooltip formatter={(v) => [`${v} × RPO`, 'achieved']} />
          <Bar dataKey="achieved">
            {data.map((d) => <Cell key={d.name} fill={colour[d.status]} />)}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
