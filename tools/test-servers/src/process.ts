import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Runs `command` and resolves with its standard output. A failure (non-zero exit, `timeoutMs` passed)
 * rejects with an error naming the command line and carrying its standard error (or output).
 */
export async function runCommand(command: string, args: readonly string[], timeoutMs = 60_000, cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { timeout: timeoutMs, ...(cwd === undefined ? {} : { cwd }) });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr?.trim() || e.stdout?.trim() || e.message}`);
  }
}

/** True while a process with this pid exists (also one of another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The first of `names` that is an executable file in `dirs` or on the `PATH`, or `null`. */
export function findExecutable(names: readonly string[], dirs: readonly string[]): string | null {
  const path = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of names) {
    for (const dir of [...dirs, ...path]) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** Resolves after `ms` milliseconds. */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
