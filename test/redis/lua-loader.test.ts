import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLuaScript } from '../../src/redis/luaSource';
import { scriptNames } from '../../src/redis/scripts';

function luaDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lua-'));
  mkdirSync(path.join(dir, 'includes'));
  for (const [name, source] of Object.entries(files)) writeFileSync(path.join(dir, name), source);
  return dir;
}

describe('Lua include loader', () => {
  it('expands includes once each, nested ones included', () => {
    const dir = luaDir({
      'main.lua': '-- @include "a"\n-- @include "b"\nreturn 1',
      'includes/a.lua': '-- @include "b"\nlocal function a() end',
      'includes/b.lua': 'local function b() end',
    });
    const source = loadLuaScript('main', dir);
    expect(source.match(/local function b/g)).toHaveLength(1);
    expect(source.indexOf('function b')).toBeLessThan(source.indexOf('function a'));
    expect(source).toContain('return 1');
  });

  it('fails loudly on a missing include, naming the chain', () => {
    const dir = luaDir({ 'main.lua': '-- @include "nope"\n' });
    expect(() => loadLuaScript('main', dir)).toThrow(/not found: includes\/nope\.lua \(included from main\)/);
  });

  it('fails loudly on a circular include', () => {
    const dir = luaDir({
      'main.lua': '-- @include "a"\n',
      'includes/a.lua': '-- @include "b"\n',
      'includes/b.lua': '-- @include "a"\n',
    });
    expect(() => loadLuaScript('main', dir)).toThrow('Circular Lua include: main -> a -> b -> a');
  });

  it('every script opens with its flags (shebang) and its contract: KEYS, ARGV and returns', () => {
    for (const file of scriptNames()) {
      const source = loadLuaScript(file);
      const header = source.slice(0, source.indexOf(']]'));
      // The shebang makes Redis refuse a writing script under OOM before it runs, never half-way.
      expect(header, file).toMatch(new RegExp(`^#!lua( flags=[a-z,-]+)?\\n--\\[\\[\\n  ${file}:`));
      expect(header, file).toContain('KEYS[1]');
      expect(header, file).toContain('Returns');
      expect(source, file).not.toContain('@include');
    }
  });

  it('the loader finds every script in lua/, and each has its call builder in scriptCalls.ts', () => {
    const names = scriptNames();
    expect(names).toContain('reserve');
    expect(names).not.toContain('openRecord');
    const builders = readFileSync(path.join(import.meta.dirname, '../../src/redis/scriptCalls.ts'), 'utf8');
    for (const name of names) expect(builders, name).toContain(`'${name}'`);
  });
});
