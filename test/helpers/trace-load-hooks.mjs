// Module hooks (node:module register) that append the URL of every file: module loaded to the file named by
// initialize's data: what loaded-modules.ts reads to tell which modules a CLI call loads.
import { appendFileSync } from 'node:fs';

let file = '';

export function initialize(data) {
  file = data.file;
}

export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(file, `${url}\n`);
  return next(url, context);
}
