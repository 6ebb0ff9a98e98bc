import type { Command } from 'commander';
import { readEnv } from '../../../lib/config/env';
import { createDb } from '../../../lib/db/client';
import { syncRestorePoints } from '../../../lib/catalog/restore-points';
import { openRepo, type GlobalOptions } from '../context';
import { UsageError } from '../errors';
import { emit } from '../output';

export function registerCatalog(program: Command, globals: () => GlobalOptions) {
  const catalog = program.command('catalog').description('the console catalog (DATABASE_URL) as an index over the repository');
  catalog
    .command('sync')
    .description("rebuild the catalog's restore points from the snapshots in the repository (the bucket is the source of truth)")
    .requiredOption('--storage-target <name>', 'the catalog storage target that holds this repository')
    .action(async (cmd: { storageTarget: string }) => {
      const opts = globals();
      const { DATABASE_URL } = readEnv(['DATABASE_URL']);
      const db = createDb(DATABASE_URL);
      const { repo, close } = await openRepo(opts);
      try {
        const target = await db.storageTarget.findUnique({ where: { name: cmd.storageTarget } });
        if (!target) {
          const names = (await db.storageTarget.findMany({ select: { name: true } })).map((t) => t.name);
          throw new UsageError(`no storage target "${cmd.storageTarget}" in the catalog (known: ${names.join(', ') || 'none'})`);
        }
        if (target.repositoryId && target.repositoryId !== repo.id) {
          throw new UsageError(`storage target "${cmd.storageTarget}" holds repository ${target.repositoryId.slice(0, 8)}, not ${repo.id.slice(0, 8)}`);
        }
        const result = await syncRestorePoints(db, repo, target.id);
        await db.storageTarget.update({ where: { id: target.id }, data: { repositoryId: repo.id } });
        emit(opts.json, result, () => [
          `${result.snapshots} snapshot(s) in the repository: ${result.added} restore point(s) added, ${result.updated} updated, ${result.forgotten} marked forgotten`,
          ...(result.sourcesCreated.length ? [`sources created: ${result.sourcesCreated.join(', ')}`] : []),
        ]);
      } finally {
        close();
        await db.$disconnect();
      }
    });
}
