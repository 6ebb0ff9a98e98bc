import type { Command } from 'commander';
import { addPassphraseSlot, changePassphrase, listKeySlots, removeKeySlot } from '../../../lib/repo/keys';
import { openRepo, readPassword, type GlobalOptions } from '../context';
import { emit, table } from '../output';

const newPassword = (file?: string) => readPassword({ passwordFile: file }, process.env, { value: 'LIFEBOAT_NEW_PASSWORD', file: 'LIFEBOAT_NEW_PASSWORD_FILE' });

export function registerKey(program: Command, globals: () => GlobalOptions) {
  const key = program.command('key').description('manage key slots (passwords that unlock the repository)');

  key
    .command('list')
    .description('list key slots (never shows secrets)')
    .action(async () => {
      const opts = globals();
      const { repo, close } = await openRepo(opts);
      try {
        const slots = await listKeySlots(repo.store);
        emit(opts.json, slots.map((s) => ({ ...s, current: s.id === repo.slotId })), () =>
          table([['', 'ID', 'KIND', 'LABEL', 'HOST', 'CREATED'], ...slots.map((s) => [s.id === repo.slotId ? '*' : '', s.id.slice(0, 8), s.kind, s.label ?? '', s.hostname ?? '', s.created])]),
        );
      } finally {
        close();
      }
    });

  key
    .command('add')
    .description('add a password slot (the new password from LIFEBOAT_NEW_PASSWORD or --new-password-file)')
    .option('--new-password-file <file>', 'file holding the new password')
    .option('--label <label>', 'a note on whose key this is')
    .action(async (cmd: { newPasswordFile?: string; label?: string }) => {
      const opts = globals();
      const password = newPassword(cmd.newPasswordFile);
      const { repo, close } = await openRepo(opts);
      try {
        const id = await addPassphraseSlot(repo.store, repo.masterKey, password, { label: cmd.label });
        emit(opts.json, { id }, () => `added key slot ${id.slice(0, 8)}`);
      } finally {
        close();
      }
    });

  key
    .command('remove')
    .description('remove a key slot (refuses the last one)')
    .argument('<id>', 'slot id or a unique prefix of it')
    .action(async (idOrPrefix: string) => {
      const opts = globals();
      const { repo, close } = await openRepo(opts);
      try {
        const matches = (await listKeySlots(repo.store)).filter((s) => s.id.startsWith(idOrPrefix));
        if (matches.length !== 1) throw new Error(matches.length ? `key slot prefix "${idOrPrefix}" is ambiguous` : `no key slot ${idOrPrefix}`);
        await removeKeySlot(repo.store, matches[0]!.id, { currentSlotId: repo.slotId });
        emit(opts.json, { removed: matches[0]!.id }, () => `removed key slot ${matches[0]!.id.slice(0, 8)}`);
      } finally {
        close();
      }
    });

  key
    .command('passwd')
    .description('change the password of the slot you opened with (data is not re-encrypted)')
    .option('--new-password-file <file>', 'file holding the new password')
    .action(async (cmd: { newPasswordFile?: string }) => {
      const opts = globals();
      const password = newPassword(cmd.newPasswordFile);
      const { repo, close } = await openRepo(opts);
      try {
        const id = await changePassphrase(repo.store, repo.masterKey, repo.slotId, password);
        emit(opts.json, { id, replaced: repo.slotId }, () => `password changed (key slot ${repo.slotId.slice(0, 8)} replaced by ${id.slice(0, 8)})`);
      } finally {
        close();
      }
    });
}
