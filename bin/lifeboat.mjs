#!/usr/bin/env node
// The `lifeboat` command (package.json "bin"): loads the TypeScript CLI through tsx, so it runs from a
// checkout with no build step (`npx lifeboat ...`).
import { register } from 'tsx/esm/api';

// The AWS SDK's notice about future Node versions is not the operator's problem at 3 a.m.; keep stderr to
// what went wrong.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('./cli/main.ts');
process.exitCode = await main(process.argv);
