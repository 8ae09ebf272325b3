// `npm run build`: compiles src/ into dist/ as `tsc -p tsconfig.build.json` would, plus one step
// tsc lacks. The sources import relative modules without an extension ('./config'), which tsx and
// the bundler-style resolution of tsconfig.json accept but Node's ESM loader does not; the emit
// here writes the file each one resolves to ('./config.js', './http/index.js'). Nothing is
// emitted when there is a type error, and dist/ is replaced whole, so it never mixes two builds.
import { existsSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configPath = path.join(root, 'tsconfig.build.json');

const host = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};

function fail(diagnostics) {
  const format = process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
  process.stderr.write(format(diagnostics, host));
  process.stderr.write(`build: ${diagnostics.length} error(s), nothing written to dist/\n`);
  process.exit(1);
}

const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
});
if (parsed.errors.length) fail(parsed.errors);

const startedAt = new Date();
const outDir = parsed.options.outDir;
const staging = `${outDir}.tmp-${process.pid}`;
const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, outDir: staging } });
const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
if (errors.length) fail(errors);

/** './config' -> './config.js', './http' -> './http/index.js', './x.ts' -> './x.js'; others as they are. */
function runtimeSpecifier(specifier, fromFile) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  if (/\.(ts|mts)$/.test(specifier)) return specifier.replace(/\.(m?)ts$/, '.$1js');
  if (/\.(m?js|cjs|json)$/.test(specifier)) return specifier;
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const [suffix, emitted] of [['.ts', '.js'], ['.tsx', '.js'], ['.mts', '.mjs'], ['/index.ts', '/index.js']]) {
    if (existsSync(base + suffix)) return specifier + emitted;
  }
  throw new Error(`${path.relative(root, fromFile)}: cannot resolve import '${specifier}'`);
}

/** Rewrites the specifiers of import/export declarations and of import() calls. */
const addExtensions = (context) => (sourceFile) => {
  const { factory } = context;
  const literal = (node) => {
    const specifier = runtimeSpecifier(node.text, sourceFile.fileName);
    return specifier === node.text ? node : factory.createStringLiteral(specifier, true);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      return factory.updateImportDeclaration(node, node.modifiers, node.importClause, literal(node.moduleSpecifier), node.attributes);
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      return factory.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, literal(node.moduleSpecifier), node.attributes);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      return factory.updateCallExpression(node, node.expression, node.typeArguments, [literal(node.arguments[0]), ...node.arguments.slice(1)]);
    }
    return ts.visitEachChild(node, visit, context);
  };
  return ts.visitNode(sourceFile, visit);
};

rmSync(staging, { recursive: true, force: true });
let result;
try {
  result = program.emit(undefined, undefined, undefined, false, { after: [addExtensions] });
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`build: ${error.message}; nothing written to dist/`);
  process.exit(1);
}
if (result.emitSkipped || result.diagnostics.length) {
  rmSync(staging, { recursive: true, force: true });
  fail(result.diagnostics);
}
// The stamp carries the time the sources were read: one edited during the build is newer than it,
// so scripts/ensure-build.mjs builds again.
const stamp = path.join(staging, '.build-stamp');
writeFileSync(stamp, `${startedAt.toISOString()}\n`);
utimesSync(stamp, startedAt, startedAt);
const previous = `${outDir}.old-${process.pid}`;
if (existsSync(outDir)) renameSync(outDir, previous);
renameSync(staging, outDir);
rmSync(previous, { recursive: true, force: true });
console.error(`build: compiled ${parsed.fileNames.length} files into ${path.relative(root, outDir)}/`);
