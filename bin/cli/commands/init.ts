import type { Command } from 'commander';
import { Repository } from '../../../lib/repo/repository';
import { cacheRootFor, openStore, readPassword, type GlobalOptions } from '../context';
import { emit } from '../output';

export function registerInit(program: Command, globals: () => GlobalOptions) {
  program
    .command('init')
    .description('create a new repository (the bucket or directory is created when missing)')
    .action(async () => {
      const opts = globals();
      const password = readPassword(opts);
      const { store, ensureExists, close } = openStore(opts);
      try {
        await ensureExists();
        const repo = await Repository.init(store, { passphrase: password }, { cacheRoot: cacheRootFor(opts) });
        emit(opts.json, { id: repo.id, location: store.describe(), keySlot: repo.slotId }, () => [
          `created repository ${repo.id.slice(0, 8)} at ${store.describe()}`,
          'keep the password safe: without it (or another key slot) the data cannot be read',
        ]);
      } finally {
        close();
      }
    });
}
