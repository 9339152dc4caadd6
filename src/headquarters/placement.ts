import type { VerbCall } from './bash-eval.js';
import type { Problem } from './types.js';
import { PLACE_WORD, placeWordProblem } from '../settings/place-word.js';

/**
 * Placement: `on <ship-or-tag>...` in orders runs a service only on the ships named or tagged. Tags come from the
 * ship's own `--tag` flags (written into its ships/ entry) and from HQ `tags` (`<ship> <tag>...` per line), so an
 * admiral can tag ships without touching them. Names and tags share one grammar (settings/place-word.ts).
 *
 * The `on` calls of an orders file: undefined when there are none (every ship runs it). Several `on` lines add up.
 * `on` with no word, or a word outside the grammar, is a problem on its line (and the orders do not apply).
 */
export function placementFrom(calls: readonly VerbCall[], file: string, problems: Problem[]): readonly string[] | undefined {
  const ons = calls.filter((c) => c.verb === 'on');
  if (ons.length === 0) return undefined;
  const words = new Set<string>();
  for (const c of ons) {
    if (c.args.length === 0) problems.push({ file, line: c.line, message: 'on needs at least one ship name or tag, e.g. on web eu-1' });
    for (const a of c.args) {
      const bad = placeWordProblem(a);
      if (bad) problems.push({ file, line: c.line, message: `on: ${bad}` });
      else words.add(a);
    }
  }
  return [...words].sort();
}

/** HQ `tags`, parsed: ship name -> its tags (sorted, unique), with a problem per bad line. */
export interface TagsFile {
  readonly tags: Readonly<Record<string, readonly string[]>>;
  readonly problems: readonly Problem[];
}

/**
 * HQ `tags`: one ship per line, `<ship> <tag> [<tag>...]`; `#` starts a comment; a ship on two lines gets both
 * lines' tags. A bad word is a problem with its line, and that word only is left out.
 */
export function parseTagsFile(text: string, file = 'tags'): TagsFile {
  const tags = new Map<string, Set<string>>();
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const words = raw.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
    const [ship, ...rest] = words;
    if (ship === undefined) return;
    const bad = placeWordProblem(ship);
    if (bad) return problems.push({ file, line, message: `ship ${bad}` });
    if (rest.length === 0) return problems.push({ file, line, message: `${ship}: no tag (a line is <ship> <tag> [<tag>...])` });
    const set = tags.get(ship) ?? new Set<string>();
    for (const t of rest) {
      const badTag = placeWordProblem(t);
      if (badTag) problems.push({ file, line, message: `tag ${badTag}` });
      else set.add(t);
    }
    tags.set(ship, set);
  });
  return { tags: Object.fromEntries([...tags].map(([k, v]) => [k, [...v].sort()])), problems };
}

/**
 * A ship's tags: its own (`--tag`, or its ships/ entry's) and what HQ `tags` gives it. An entry is written by the
 * ship itself: a word outside the grammar there is left out (it could name nothing `on` can say anyway).
 */
export function tagsOf(ship: string, own: readonly unknown[] | undefined, hqTags: Readonly<Record<string, readonly string[]>> | undefined): ReadonlySet<string> {
  const words = [...(own ?? []), ...(Object.hasOwn(hqTags ?? {}, ship) ? (hqTags?.[ship] ?? []) : [])];
  return new Set(words.filter((w): w is string => typeof w === 'string' && PLACE_WORD.test(w)));
}

/** Whether a service with these `on` words runs on this ship: yes when it has none, else by name or by a tag. */
export function placedOn(on: readonly string[] | undefined, ship: string, tags: ReadonlySet<string>): boolean {
  if (on === undefined) return true;
  return on.some((w) => w === ship || tags.has(w));
}
