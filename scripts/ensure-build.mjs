// Runs before `npm start` and `npm run reconcile` (prestart, prereconcile): builds dist/ when it is
// missing or older than what it is built from, so a fresh clone needs nothing but `npm ci`.
// Where there is no src/ (the Docker image ships dist/ alone) there is nothing to compare.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist', 'main.js');
const stamp = path.join(root, 'dist', '.build-stamp'); // written by scripts/build.mjs
const sources = ['src', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'].map((p) => path.join(root, p));

/** Newest modification time under `file`, directories included (a deleted file changes its directory). */
function newest(file) {
  if (!existsSync(file)) return 0;
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce((max, name) => Math.max(max, newest(path.join(file, name))), stat.mtimeMs);
}

const hasSources = existsSync(sources[0]);
const reason = !existsSync(entry)
  ? 'dist/ is missing'
  : hasSources && (!existsSync(stamp) || Math.max(...sources.map(newest)) > statSync(stamp).mtimeMs)
    ? 'src/ or the build setup changed since the last build'
    : null;
if (reason) {
  if (!hasSources) {
    console.error('[flashsale] dist/main.js is missing and there is no src/ to build it from.');
    process.exit(1);
  }
  console.error(`[flashsale] ${reason}: building (npm run build)`);
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
