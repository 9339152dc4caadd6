export interface ParseProblem {
  readonly line: number;
  readonly message: string;
}

/** `type: command` lines of a Procfile; `#` comments and blank lines skipped. */
export function parseProcfile(text: string): { processes: Record<string, string>; problems: ParseProblem[] } {
  const processes: Record<string, string> = {};
  const problems: ParseProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(line);
    if (!m || (m[2] as string).trim() === '') problems.push({ line: i + 1, message: `expected "type: command", got ${JSON.stringify(line.slice(0, 80))}` });
    else processes[m[1] as string] = (m[2] as string).trim();
  });
  return { processes, problems };
}

export interface BuildpackRelease {
  readonly defaultProcessTypes: Record<string, string>;
  readonly configVars: Record<string, string>;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return JSON.parse(t) as string;
  return t;
}

/**
 * The part of YAML that bin/release prints (Heroku buildpack API): top-level `default_process_types:` and
 * `config_vars:` maps of `name: value`, values plain or quoted. Other top-level keys (addons) are ignored.
 */
export function parseReleaseYaml(text: string): { release: BuildpackRelease; problems: ParseProblem[] } {
  const release: BuildpackRelease = { defaultProcessTypes: {}, configVars: {} };
  const problems: ParseProblem[] = [];
  let section: Record<string, string> | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '' || raw.trim().startsWith('#') || raw.trim() === '---') return;
    const top = /^([A-Za-z_]+):\s*(.*)$/.exec(raw);
    if (top) {
      // `key: {}` or `key: []` is an empty section: nothing follows that belongs to it.
      const known = top[1] === 'default_process_types' ? release.defaultProcessTypes : top[1] === 'config_vars' ? release.configVars : null;
      section = (top[2] as string).trim() === '' ? known : null;
      return;
    }
    if (!section) return;
    const entry = /^\s+([A-Za-z0-9_-]+):\s*(.*)$/.exec(raw);
    if (!entry) problems.push({ line: i + 1, message: `not understood: ${JSON.stringify(raw.slice(0, 80))}` });
    else {
      try {
        section[entry[1] as string] = unquote(entry[2] as string);
      } catch {
        problems.push({ line: i + 1, message: `bad quoted value: ${JSON.stringify(raw.slice(0, 80))}` });
      }
    }
  });
  return { release, problems };
}
