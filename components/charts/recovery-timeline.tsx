'use client';
// One line of time with what can be restored: the continuous recovery window of a WAL-archived cluster as a
// band (any moment in it), base backups as diamonds, the discrete restore points (dumps) as dots, and now: the
// gap between the band's end and now is what a disaster would lose. A click inside the band picks that moment
// for "Restore to a point in time".
import type { MouseEvent } from 'react';

export type TimelinePoint = { time: string; label: string; kind: 'base' | 'dump' };

const W = 1000;
const H = 64;
const PAD = 12;
const fmt = (t: number) => new Date(t).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function RecoveryTimeline({ from, to, points, onPick, now = Date.now() }: { from: string; to: string; points: TimelinePoint[]; onPick?: (iso: string) => void; now?: number }) {
  const a = Date.parse(from);
  const b = Date.parse(to);
  const times = [a, b, now, ...points.map((p) => Date.parse(p.time))];
  const lo = Math.min(...times);
  const span = Math.max(Math.max(...times) - lo, 60_000);
  const hi = lo + span;
  const x = (t: number) => PAD + ((t - lo) / span) * (W - 2 * PAD);
  const pick = (e: MouseEvent<SVGRectElement>) => {
    const box = e.currentTarget.ownerSVGElement!.getBoundingClientRect();
    const t = lo + (((e.clientX - box.left) / box.width) * W - PAD) / (W - 2 * PAD) * span;
    onPick?.(new Date(Math.round(Math.min(b, Math.max(a, t)) / 1000) * 1000).toISOString());
  };
  return (
    <figure className="timeline" data-testid="recovery-timeline">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" height={H} role="img" aria-label={`recoverable from ${fmt(a)} to ${fmt(b)}`}>
        <line x1={PAD} x2={W - PAD} y1={32} y2={32} stroke="#dde3ea" strokeWidth={2} />
        <rect x={x(a)} y={22} width={Math.max(2, x(b) - x(a))} height={20} rx={4} fill="#1f6feb" fillOpacity={0.25} stroke="#1f6feb" style={{ cursor: onPick ? 'crosshair' : undefined }} onClick={pick} data-testid="timeline-window">
          <title>{`any moment from ${fmt(a)} to ${fmt(b)}: click to restore to it`}</title>
        </rect>
        {points.map((p, i) => {
          const cx = x(Date.parse(p.time));
          return p.kind === 'base' ? (
            <path key={i} d={`M ${cx} 24 L ${cx + 6} 32 L ${cx} 40 L ${cx - 6} 32 Z`} fill="#17202a" pointerEvents="none">
              <title>{`${p.label}, ${fmt(Date.parse(p.time))}`}</title>
            </path>
          ) : (
            <circle key={i} cx={cx} cy={32} r={5} fill="#1a7f37">
              <title>{`${p.label}, ${fmt(Date.parse(p.time))}`}</title>
            </circle>
          );
        })}
        <line x1={x(now)} x2={x(now)} y1={14} y2={50} stroke="#cf222e" strokeDasharray="3 2">
          <title>{`now, ${fmt(now)}`}</title>
        </line>
        <text x={PAD} y={60} fontSize={12} fill="#5d6b7a">{fmt(lo)}</text>
        <text x={W - PAD} y={60} fontSize={12} fill="#5d6b7a" textAnchor="end">{fmt(hi)}</text>
      </svg>
      <figcaption className="muted">band: continuous recovery window · ◆ base backup · ● dump · red line: now</figcaption>
    </figure>
  );
}
