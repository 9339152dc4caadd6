// `node --import ./trace-load.mjs`: registers trace-load-hooks.mjs with the file TRACE_LOADED_MODULES names.
import { register } from 'node:module';

register('./trace-load-hooks.mjs', import.meta.url, { data: { file: process.env.TRACE_LOADED_MODULES } });
