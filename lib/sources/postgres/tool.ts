// Runs one PostgreSQL program (pg_dump, pg_restore, pg_basebackup, pg_ctl...) or tar as a child with pipes
// (../child-tool.ts has the guarantees). Failures are PgToolErrors naming the program; argv never holds a
// password (connection.ts passes it in the environment).
import { spawnTool, type RunningTool } from '../child-tool';
import { PgToolError, pgTool, type ToolName } from './connection';

export { firstLines, type RunningTool } from '../child-tool';

export type ToolOptions = {
  binDir?: string;
  env: NodeJS.ProcessEnv;
  /** What the program works on, for messages: "database app", "globals". */
  what: string;
  signal?: AbortSignal;
  /** Run as this OS user (through runuser; we must be root): the server programs refuse to run as root. */
  runAs?: string;
};

export function runTool(tool: ToolName, args: string[], opts: ToolOptions): RunningTool {
  const program = tool === 'tar' ? 'tar' : pgTool(tool, opts.binDir);
  return spawnTool(program, args, {
    ...opts,
    name: tool,
    startHint: tool === 'tar' ? undefined : 'is the PostgreSQL client installed? set LIFEBOAT_PG_BIN to its bin directory',
    makeError: (message, code, stderr) => new PgToolError(message, tool, code, stderr),
  });
}
