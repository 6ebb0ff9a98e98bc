// Loads Prisma's schema engine (@prisma/schema-engine-wasm) without the native binary.
// Contract: `openSchemaEngine(schemaPath, factory)` returns a ready SchemaEngine bound to the given
// migration-aware driver adapter factory. The .wasm is instantiated by hand once per process (the package's
// ESM entry imports .wasm directly, which Node 20 cannot load). Engine log lines go to `onLog`; the last
// lines are kept so callers can attach them to errors (`recentEngineLogs`).
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { ErrorRegistry, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';

export type { SchemaEngine };

let loaded: typeof bg | undefined;

/** The panic hook inside the wasm writes the Rust panic message here (same object the Prisma CLI installs). */
function installPanicRegistry(): void {
  const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void; get(): string } };
  if (g.PRISMA_WASM_PANIC_REGISTRY) return;
  let message = '';
  g.PRISMA_WASM_PANIC_REGISTRY = {
    set_message: (m: string) => void (message = `RuntimeError: ${m}`),
    get: () => message,
  };
}

/** Instantiates schema_engine_bg.wasm (idempotent) and returns the wasm-bindgen glue module. */
export function loadSchemaEngineWasm(): typeof bg {
  if (loaded) return loaded;
  installPanicRegistry();
  const require = createRequire(import.meta.url);
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmPath = path.join(path.dirname(gluePath), 'schema_engine_bg.wasm');
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  // Every import of the module comes from the glue file ("./schema_engine_bg.js").
  const imports: WebAssembly.Imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= bg as unknown as WebAssembly.ModuleImports;
  }
  const instance = new WebAssembly.Instance(module, imports);
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  loaded = bg;
  return bg;
}

export function schemaEngineVersion(): string {
  return loadSchemaEngineWasm().version();
}

const recent: string[] = [];
const RECENT_MAX = 40;

/** The last engine log lines (JSON strings), newest last. */
export function recentEngineLogs(): string[] {
  return [...recent];
}

export interface OpenEngineOptions {
  /** Receives each engine log line (a JSON string). Default: print when LIFEBOAT_MIGRATE_DEBUG is set. */
  onLog?: (line: string) => void;
}

export async function openSchemaEngine(
  schemaPath: string,
  factory: SqlMigrationAwareDriverAdapterFactory,
  opts: OpenEngineOptions = {},
): Promise<SchemaEngine> {
  const glue = loadSchemaEngineWasm();
  const absolute = path.resolve(schemaPath);
  const datamodel = await readFile(absolute, 'utf8');
  const debug = Boolean(process.env.LIFEBOAT_MIGRATE_DEBUG);
  const onLog = (line: string) => {
    recent.push(line);
    if (recent.length > RECENT_MAX) recent.shift();
    if (opts.onLog) opts.onLog(line);
    else if (debug) process.stderr.write(`[schema-engine] ${line}\n`);
  };
  const bound = bindMigrationAwareSqlAdapterFactory(factory);
  let engine: SchemaEngine;
  try {
    engine = await glue.SchemaEngine.new({ datamodels: [[absolute, datamodel]] }, onLog, bound);
  } catch (err) {
    throw new Error(engineErrorMessage(err, bound.errorRegistry));
  }
  registries.set(engine, bound.errorRegistry);
  return engine;
}

/** Errors thrown by our adapter reach the engine as "External error id#N", kept in the bound factory's registry. */
const registries = new WeakMap<SchemaEngine, ErrorRegistry>();

function resolveExternal(message: string, registry?: ErrorRegistry): string {
  if (!registry) return message;
  return message.replace(/External error id#(\d+)/g, (whole, id: string) => {
    const original = registry.consumeError(Number(id))?.error as { message?: unknown; cause?: { message?: unknown } } | undefined;
    const text = original?.cause?.message ?? original?.message;
    return typeof text === 'string' && text ? text : whole;
  });
}

/** Engine errors end with a tracing span list ("   0: schema_engine_wasm::..."): keep the message only. */
function stripSpanTrace(message: string): string {
  const [head, trace = ''] = message.split(/\n\s*0: /);
  const migration = /migration_name="([^"]+)"/.exec(trace)?.[1];
  const lines = head!.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'Error:');
  const text = lines.reduce((acc, l) => (acc ? `${acc}${/[.:]$/.test(acc) ? ' ' : ': '}${l}` : l), '');
  return migration && !text.includes(migration) ? `${text} (migration ${migration})` : text;
}

/** Turns whatever the engine rejected with into a readable message (pass the engine to resolve adapter errors). */
export function engineErrorMessage(err: unknown, source?: SchemaEngine | ErrorRegistry): string {
  const registry = source && 'consumeError' in source ? source : source ? registries.get(source as SchemaEngine) : undefined;
  return resolveExternal(plainMessage(err), registry);
}

function plainMessage(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'RuntimeError') {
      const panic = (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { get(): string } }).PRISMA_WASM_PANIC_REGISTRY;
      return `schema engine panicked: ${panic?.get() || err.message}`;
    }
    return stripSpanTrace(err.message);
  }
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; error?: unknown };
    if (typeof e.message === 'string') return e.message;
    if (typeof e.error === 'string') return e.error;
    return JSON.stringify(err);
  }
  return String(err);
}
