// Chromium for the Playwright browser tests (browsers cannot be downloaded here; Debian's package works).
// Contract:
//   ensureChromium({ log? }) -> Promise<string>  absolute path of the chromium binary (normally /usr/bin/chromium);
//     apt-get installs `chromium` when missing and running as root, otherwise throws saying what to install.
import { aptInstall, isRoot, makeLog, run, which } from './util.mjs';

export async function ensureChromium({ log } = {}) {
  const L = makeLog(log);
  const find = () => which('chromium');
  let bin = find();
  if (!bin) {
    if (!isRoot()) throw new Error('Chromium was not found (/usr/bin/chromium); install it with `sudo apt-get install -y chromium`.');
    await aptInstall(['chromium'], { log: L });
    bin = find();
    if (!bin) throw new Error('apt installed chromium but no chromium binary is on PATH');
  }
  // A cheap sanity check that the binary starts at all (missing shared libraries show up here).
  await run(bin, ['--version'], { timeoutMs: 30_000 }).catch((e) => {
    throw new Error(`Chromium at ${bin} does not start: ${e.message}`);
  });
  return bin;
}
