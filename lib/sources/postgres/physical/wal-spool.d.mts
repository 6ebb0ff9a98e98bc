// Types of wal-spool.mjs (plain JS so bin/lifeboat.mjs can use it without TypeScript).
export const SPOOL_DIR: string;
export const PREFETCH_COUNT: number;
export function isSegment(name: string): boolean;
export function nextSegmentNames(name: string, count: number, segmentSize?: number): string[];
export function serveFromSpool(spoolDir: string, name: string, dest: string): number | null;
export function writeListing(spoolDir: string, names: string[]): void;
export function listedAtStart(spoolDir: string, name: string): boolean | null;
export function previousSegmentName(name: string, segmentSize?: number): string;
export function spooledSegments(spoolDir: string): string[];
export function prefetchRunning(spoolDir: string): boolean;
export function lockSpool(spoolDir: string): boolean;
export function unlockSpool(spoolDir: string): void;
export function startPrefetch(cli: string[], spoolDir: string, wanted: string, segmentSize: number, cwd: string): void;
export function markWanted(spoolDir: string, name: string): void;
export function readWanted(spoolDir: string): string | null;
export function awaitSpooled(spoolDir: string, name: string, ms?: number): boolean;
export function spoolCopy(spoolDir: string, name: string, data: Buffer): void;
