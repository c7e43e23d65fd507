import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * Compiles each required .ts file on the fly (transpile only, as ts-jest does here) and maps the
 * @bulwark/* paths, so a plain `node` child can run a TypeScript fixture: jest's module registry
 * cannot load the ES module `webgpu`, and a child keeps Dawn's threads out of the jest worker.
 */
const HOOK = `
const ts = require('typescript');
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const root = ${JSON.stringify(ROOT)};
const paths = require(join(root, 'tsconfig.json')).compilerOptions.paths;
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolveFilename.call(this, paths[request] ? join(root, paths[request][0]) : request, ...rest);
};
require.extensions['.ts'] = (module, fileName) => {
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true };
  module._compile(ts.transpileModule(readFileSync(fileName, 'utf8'), { fileName, compilerOptions }).outputText, fileName);
};
require(process.argv[1]);
`;

export interface ChildResult {
  code: number | null;
  output: string;
}

/** Runs `script` (a .ts file) in a fresh node process with `args`; resolves when it exits. */
export function runTypeScriptChild(script: string, args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', HOOK, script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}
