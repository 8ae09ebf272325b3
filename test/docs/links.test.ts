/**
 * Every relative link of the documentation (README.md, CONTRIBUTING.md, docs/*.md) reaches a file
 * of the repository, and every `#anchor` into a Markdown file reaches one of its headings, with
 * the anchors GitHub gives headings. No servers: it reads files only.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The documentation files, relative to the repository root. */
function documentationFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', 'CONTRIBUTING.md', ...docs.sort()];
}

/** The text outside fenced code blocks, line by line (a fenced line reads empty: line numbers stay). */
function proseLines(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const opening = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null && opening) {
      fence = opening[1];
      return '';
    }
    if (fence !== null) {
      if (new RegExp(`^\\s{0,3}${fence[0]}{${fence.length},}\\s*$`).test(line)) fence = null;
      return '';
    }
    return line;
  });
}

/**
 * GitHub's anchor of a heading (github-slugger): the rendered text in lower case, without
 * punctuation and symbols (letters, marks, digits, `_`, `-` and spaces stay), spaces turned into
 * `-`; a repeated anchor gets `-1`, `-2`, … in order.
 */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/`([^`]*)`/g, '$1') // code spans: their content
    .replace(/[*~]/g, '') // emphasis and strike-through marks
    .trim();
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** Every anchor a Markdown file offers: one per heading (GitHub's rules), and explicit `<a id|name>`. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1]);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const explicit of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(explicit[1]);
  }
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Relative link targets of a Markdown file: inline links and images, and reference definitions. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  proseLines(markdown).forEach((raw, n) => {
    const line = raw.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length)); // no links inside code spans
    const targets = [
      ...[...line.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]),
      ...[...line.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/g)].map((match) => match[1]),
    ];
    for (const target of targets) {
      if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // external: http:, https:, mailto:, …
      links.push({ line: n + 1, target });
    }
  });
  return links;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    anchors = anchorsOf(readFileSync(file, 'utf8'));
    anchorCache.set(file, anchors);
  }
  return anchors;
}

/** Why a link of `from` (relative to the root) is broken, or null when it resolves. */
function brokenReason(from: string, target: string): string | null {
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const file = pathPart === '' ? path.join(ROOT, from) : pathPart.startsWith('/') ? path.join(ROOT, pathPart) : path.resolve(path.dirname(path.join(ROOT, from)), pathPart);
  if (!path.relative(ROOT, file).split(path.sep).every((part) => part !== '..')) return 'points outside the repository';
  if (!existsSync(file)) return 'no such file';
  if (anchor === null || anchor === '') return null;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return null;
  return anchorsOfFile(file).has(anchor) ? null : `no heading with the anchor #${anchor}`;
}

describe('documentation links', () => {
  it('GitHub anchors of headings', () => {
    expect(githubSlug('When Redis is unreachable')).toBe('when-redis-is-unreachable');
    expect(githubSlug('7. An answer is a promise')).toBe('7-an-answer-is-a-promise');
    expect(githubSlug('Reserve, commit, release, extend')).toBe('reserve-commit-release-extend');
    expect(githubSlug('Drift, and when to repair')).toBe('drift-and-when-to-repair');
    expect(githubSlug('`flashsale_sku_units` and [the API](api.md)')).toBe('flashsale_sku_units-and-the-api');
    expect(githubSlug('2026-12-05: a hold extended before a `FLUSHALL` (seed 20261122)')).toBe('2026-12-05-a-hold-extended-before-a-flushall-seed-20261122');
    expect([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n### A')]).toEqual(['a', 'a-1', 'a-2']);
  });

  it('finds relative links and leaves external ones and code alone', () => {
    const markdown = [
      'See [the API](docs/api.md#errors), ![a chart](bench/chart.svg "title") and [the site](https://example.com).',
      'In code: `[not a link](nowhere.md)`.',
      '```md',
      '[also not a link](nowhere.md)',
      '```',
      '[ref]: CONTRIBUTING.md#tests',
    ].join('\n');
    expect(linksOf(markdown)).toEqual([
      { line: 1, target: 'docs/api.md#errors' },
      { line: 1, target: 'bench/chart.svg' },
      { line: 6, target: 'CONTRIBUTING.md#tests' },
    ]);
  });

  it('covers the README, CONTRIBUTING.md and every page of docs/', () => {
    const files = documentationFiles();
    expect(files).toContain('README.md');
    expect(files).toContain('CONTRIBUTING.md');
    expect(files.filter((file) => file.startsWith('docs/')).length).toBeGreaterThan(0);
    for (const file of files) expect(existsSync(path.join(ROOT, file)), file).toBe(true);
  });

  it.each(documentationFiles())('every relative link of %s resolves', (file) => {
    const broken = linksOf(readFileSync(path.join(ROOT, file), 'utf8'))
      .map(({ line, target }) => ({ line, target, reason: brokenReason(file, target) }))
      .filter((link) => link.reason !== null)
      .map(({ line, target, reason }) => `${file}:${line}: ${target}: ${reason}`);
    expect(broken).toEqual([]);
  });

  it('every page of docs/ is reachable from the README or the docs index', () => {
    const linked = new Set<string>();
    for (const from of ['README.md', 'docs/README.md']) {
      for (const { target } of linksOf(readFileSync(path.join(ROOT, from), 'utf8'))) {
        const pathPart = target.split('#')[0];
        if (pathPart) linked.add(path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, from)), pathPart)).split(path.sep).join('/'));
      }
    }
    const unlinked = documentationFiles().filter((file) => file.startsWith('docs/') && file !== 'docs/README.md' && !linked.has(file));
    expect(unlinked).toEqual([]);
  });
});
