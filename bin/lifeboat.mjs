#!/usr/bin/env node
// The `lifeboat` command (package.json "bin"): loads the TypeScript CLI through tsx, so it runs from a
// checkout with no build step (`npx lifeboat ...`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli/main.ts');
process.exitCode = await main(process.argv);
