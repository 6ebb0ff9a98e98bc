'use client';
// Size of each restore point and what it added to the repository, oldest to newest: growth and dedup at a glance.
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { PublicRestorePoint } from '@/lib/catalog/sources';

const MiB = 1024 * 1024;

export function RestorePointChart({ points }: { points: PublicRestorePoint[] }) {
  const data = [...points]
    .slice(0, 30)
    .reverse()
    .map((p) => ({ time: new Date(p.completedAt).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }), size: +(p.sizeBytes / MiB).toFixed(2), added: +(p.storedBytes / MiB).toFixed(2) }));
  if (data.length < 2) return null;
  return (
    <div className="panel" style={{ height: 260 }} data-testid="restore-point-chart">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="time" fontSize={11} />
          <YAxis fontSize={11} unit=" MiB" width={70} />
          <Tooltip />
          <Legend />
          <Bar dataKey="size" name="Source size (MiB)" fill="#9db7d5" />
          <Bar dataKey="added" name="Added to repository (MiB)" fill="#1f6feb" />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
