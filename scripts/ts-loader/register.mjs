// `node --import ./scripts/ts-loader/register.mjs file.ts`: runs a test file from the cache of compiled TypeScript
// named by SP_TS_CACHE (scripts/run-tests.mjs fills it once per run), with stack traces in TypeScript lines.
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const cache = process.env.SP_TS_CACHE;
if (!cache) throw new Error('SP_TS_CACHE names no cache of compiled TypeScript (scripts/run-tests.mjs sets it)');
register('./hooks.mjs', import.meta.url, { data: { root: fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, ''), cache } });
process.setSourceMapsEnabled(true);
