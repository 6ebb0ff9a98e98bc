// A single progress line on stderr, redrawn in place, only when stderr is a terminal (cron logs and pipes
// get nothing but the final summary). Throttled to 5 updates a second, except that the first figures with
// a total are drawn at once (a short backup's only line was otherwise the one before the totals were known).
export type ProgressFigures = { done: number; total?: number; filesDone?: number; filesTotal?: number; label?: string };

export { formatBytes } from '../../lib/format';
import { formatBytes } from '../../lib/format';

export class ProgressLine {
  private last = 0;
  private shown = false;
  private hadTotal = false;
  private readonly started = Date.now();

  constructor(
    private readonly verb: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(p: ProgressFigures, force = false) {
    const firstTotal = p.total !== undefined && !this.hadTotal;
    if (!this.out.isTTY || (!force && !firstTotal && Date.now() - this.last < 200)) return;
    this.hadTotal ||= p.total !== undefined;
    this.last = Date.now();
    const secs = (Date.now() - this.started) / 1000;
    const pct = p.total ? ` ${Math.min(100, (100 * p.done) / p.total).toFixed(1)}%` : '';
    const files = p.filesDone !== undefined ? `, ${p.filesDone}${p.filesTotal !== undefined ? '/' + p.filesTotal : ''} files` : '';
    const rate = secs > 0 ? `, ${formatBytes(p.done / secs)}/s` : '';
    const line = `${this.verb}${pct} ${formatBytes(p.done)}${p.total ? ' of ' + formatBytes(p.total) : ''}${files}${rate}${p.label ? ' ' + p.label : ''}`;
    const width = this.width();
    this.out.write(`\r${line.slice(0, width - 1).padEnd(width - 1)}`);
    this.shown = true;
  }

  done() {
    if (this.shown) this.out.write(`\r${' '.repeat(this.width() - 1)}\r`);
    this.shown = false;
  }

  /** Terminal width; a pty without a size (e.g. under `script`) reports 0 columns. */
  private width(): number {
    const c = this.out.columns;
    return c && c > 20 ? c : 100;
  }
}
