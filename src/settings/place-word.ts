/**
 * The one grammar of ship names and tags (`--tag`, STARPHLEET_TAGS, HQ `tags`, orders' `on`): the ship name's, a
 * file name under ships/ and a word in status lines, so `on` never needs quoting and cannot smuggle anything into a
 * log or a path. Here because the ship's own flags are checked by it before any HQ is read.
 */
export const PLACE_WORD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Why a word cannot name a ship or a tag, or null when it can. */
export function placeWordProblem(word: string): string | null {
  return PLACE_WORD.test(word) ? null : `${JSON.stringify(word.slice(0, 64))} is not a ship name or tag (1-63 letters, digits, '.', '_' or '-', not starting with a symbol)`;
}
