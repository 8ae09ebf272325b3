import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What a running engine leaves in its DATA_DIR so operator commands can find it. */
export interface EngineInfo {
  pid: number;
  url: string;
  /** The engine holds the embedded Postgres (PGlite), which only one process may open. */
  embeddedPostgres: boolean;
}

const file = (dataDir: string) => path.join(dataDir, 'engine.json');

export function writeEngineInfo(dataDir: string, info: EngineInfo): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file(dataDir), JSON.stringify(info));
}

export function clearEngineInfo(dataDir: string, pid: number): void {
  const info = readEngineInfo(dataDir);
  if (info?.pid === pid) rmSync(file(dataDir), { force: true });
}

/** The engine running on this DATA_DIR, or null (a stale file of a dead process counts as none). */
export function readEngineInfo(dataDir: string): EngineInfo | null {
  if (!existsSync(file(dataDir))) return null;
  try {
    const info = JSON.parse(readFileSync(file(dataDir), 'utf8')) as EngineInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}
