import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root's lua/, from src/redis/ under tsx and from dist/redis/ once built (the build keeps
 * each file as deep as its source: tsconfig.build.json). Read from the root rather than copied into
 * dist/, like drizzle/ (src/db/client.ts): one copy of the scripts, never a stale one.
 */
export const LUA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lua');

const INCLUDE = /^--\s*@include\s+"([\w-]+)"\s*$/;

/**
 * Returns a script's source with its `-- @include "name"` lines replaced by lua/includes/name.lua.
 * Each include is expanded once per script (later repeats are dropped); a missing or circular
 * include throws, naming the chain that led to it.
 */
export function loadLuaScript(name: string, dir = LUA_DIR): string {
  const included = new Set<string>();

  function expand(file: string, chain: string[]): string {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch {
      throw new Error(`Lua include not found: ${path.relative(dir, file)} (included from ${chain.slice(0, -1).join(' -> ')})`);
    }
    return source
      .split('\n')
      .map((line) => {
        const match = INCLUDE.exec(line.trim());
        if (!match) return line;
        const include = match[1];
        if (chain.includes(include)) {
          throw new Error(`Circular Lua include: ${[...chain, include].join(' -> ')}`);
        }
        if (included.has(include)) return '';
        const expanded = expand(path.join(dir, 'includes', `${include}.lua`), [...chain, include]);
        included.add(include);
        return expanded;
      })
      .join('\n');
  }

  return expand(path.join(dir, `${name}.lua`), [name]);
}
