// Job threads do not inherit tsx's loader from the main thread: register it here, then run the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./thread-main.ts');
