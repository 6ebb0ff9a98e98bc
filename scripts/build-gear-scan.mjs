// Assembles lib/repo/chunker/gear-scan.wat into gear-scan.wasm (committed; nothing builds it at run time).
// `npm run build:wasm` after changing the .wat; lib/repo/chunker/gear-scan.test.ts fails until then.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

const dir = fileURLToPath(new URL('../lib/repo/chunker/', import.meta.url));

/** The binary module the .wat assembles to. */
export async function assembleGearScan() {
  const w = await wabt();
  const module = w.parseWat('gear-scan.wat', readFileSync(`${dir}gear-scan.wat`, 'utf8'));
  try {
    module.validate();
    return Buffer.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await assembleGearScan();
  writeFileSync(`${dir}gear-scan.wasm`, bytes);
  console.log(`wrote lib/repo/chunker/gear-scan.wasm (${bytes.length} bytes)`);
}
