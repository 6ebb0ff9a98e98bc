import type { Command } from 'commander';
import { openRepo, type GlobalOptions } from '../context';
import { emit, table } from '../output';
import { formatBytes } from '../progress';

export function registerSnapshots(program: Command, globals: () => GlobalOptions) {
  program
    .command('snapshots')
    .description('list restore points, oldest first')
    .option('--source-name <name>', 'only this source')
    .action(async (cmd: { sourceName?: string }) => {
      const opts = globals();
      const { repo, close } = await openRepo(opts);
      try {
        const list = (await repo.listSnapshots()).filter((e) => !cmd.sourceName || e.snapshot.source.name === cmd.sourceName);
        emit(opts.json, list.map((e) => ({ id: e.id, ...e.snapshot })), () =>
          list.length === 0
            ? 'no snapshots'
            : table([
                ['ID', 'TIME', 'HOST', 'SOURCE', 'MODE', 'STATUS', 'SIZE', 'PATHS'],
                ...list.map((e) => [e.id.slice(0, 8), e.snapshot.time.replace('T', ' ').slice(0, 19), e.snapshot.hostname, `${e.snapshot.source.kind}:${e.snapshot.source.name}`, e.snapshot.mode, e.snapshot.status, formatBytes(e.snapshot.summary.bytes), e.snapshot.paths.join(' ')]),
              ]),
        );
      } finally {
        close();
      }
    });
}
