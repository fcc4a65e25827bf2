#!/usr/bin/env node
// kubectl finds plugins as kubectl-<name> on PATH; `npm install -g ./cli` links this file there.
// It runs the TypeScript sources through tsx, resolved (like every other package the plugin uses)
// from the repository's node_modules: the plugin shares the operator's client, S3 code and schemas
// rather than shipping copies of them.
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { register } from 'tsx/esm/api';

register();
const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env });
