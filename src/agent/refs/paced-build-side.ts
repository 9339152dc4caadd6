import { isRegistryUrl } from '../../headquarters/registry-spec.js';
import type { BuildSide } from '../releases/build-side.js';
import { lookupRef, type RemoteRefs } from './remote-refs.js';

const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;

/**
 * The build side with its ref lookups paced by the ship's RemoteRefs: a branch, tag or HEAD comes from the repo's
 * last batched poll (no process when the repo is not due). A commit sha names the same commit forever, so once
 * resolved (and fetched) it is remembered per repo; `refs/...` names outside heads and tags, and anything the
 * snapshot does not hold, go to the real lookup, whose answer (found or not) waits for the repo's next poll.
 */
export function pacedBuildSide(base: BuildSide, refs: RemoteRefs): BuildSide {
  const fixed = new Map<string, string>();
  /** Answers of the real lookup, good for as long as the repo's snapshot they were asked with. */
  const asked = new Map<string, { at: number; sha: string | null; error: Error | null }>();
  return {
    ...base,
    async resolveRef(giturl, ref, access, dataDir) {
      if (isRegistryUrl(giturl)) return base.resolveRef(giturl, ref, access, dataDir);
      const key = `${giturl}#${ref ?? ''}`;
      const known = fixed.get(key);
      if (known !== undefined) return known;
      const sha = ref !== undefined && FULL_SHA.test(ref);
      if (!sha) {
        const snap = await refs.refs(giturl);
        const found = lookupRef(snap.refs, ref);
        if (found !== null) return found;
        if (ref === undefined) throw new Error(`${giturl}: the remote has no default branch (HEAD); name one with #<branch>`);
        const before = asked.get(key);
        if (before && before.at === snap.at) {
          if (before.error) throw before.error;
          if (before.sha !== null) return before.sha;
        }
        if (!SHORT_SHA.test(ref) && !ref.startsWith('refs/')) {
          const error = new Error(`${giturl}#${ref}: no branch or tag of that name on the remote`);
          asked.set(key, { at: snap.at, sha: null, error });
          throw error;
        }
        try {
          const r = await base.resolveRef(giturl, ref, access, dataDir);
          if (SHORT_SHA.test(ref)) fixed.set(key, r);
          else asked.set(key, { at: snap.at, sha: r, error: null });
          return r;
        } catch (e) {
          asked.set(key, { at: snap.at, sha: null, error: e as Error });
          throw e;
        }
      }
      const r = await base.resolveRef(giturl, ref, access, dataDir);
      fixed.set(key, r);
      return r;
    },
  };
}
