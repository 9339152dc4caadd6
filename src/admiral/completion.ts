import type { Command } from 'commander';
import { AdmiralError } from './remotes.js';

/** What completes after a command: its subcommands and its long options (help included). */
interface Node {
  readonly name: string;
  readonly subs: readonly string[];
  readonly options: readonly string[];
}

function words(cmd: Command): Node[] {
  const visible = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  const out: Node[] = [];
  for (const c of visible) {
    const options = c.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((f): f is string => typeof f === 'string'));
    out.push({ name: c.name(), subs: c.commands.map((s) => s.name()), options: [...options, '--help'] });
    for (const s of c.commands) {
      const subOptions = s.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((f): f is string => typeof f === 'string'));
      out.push({ name: `${c.name()} ${s.name()}`, subs: [], options: [...subOptions, '--help'] });
    }
  }
  return out;
}

// Commands whose next word is a remote name, and commands whose arguments are paths.
const REMOTE_ARG = new Set(['remote remove']);
const DIR_ARG = new Set(['hq init', 'hq check']);
// Arguments with a fixed set of values.
const ARG_WORDS: Readonly<Record<string, readonly string[]>> = { completion: ['bash', 'zsh'] };

function bashScript(program: Command): string {
  const nodes = words(program);
  const top = nodes.filter((n) => !n.name.includes(' ')).map((n) => n.name);
  const cases = nodes
    .map((n) => {
      const list = [...n.subs, ...(ARG_WORDS[n.name] ?? []), ...n.options].join(' ');
      if (REMOTE_ARG.has(n.name)) return `    '${n.name}') COMPREPLY=($(compgen -W "$(__starphleet_remotes) ${list}" -- "$cur")) ;;`;
      if (DIR_ARG.has(n.name)) return `    '${n.name}') COMPREPLY=($(compgen -d -W "${list}" -- "$cur")) ;;`;
      return `    '${n.name}') COMPREPLY=($(compgen -W "${list}" -- "$cur")) ;;`;
    })
    .join('\n');
  return `# bash completion for starphleet: source <(starphleet completion bash), or save it in
# ~/.local/share/bash-completion/completions/starphleet
__starphleet_remotes() { command starphleet remote list --names 2>/dev/null; }
_starphleet() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} spath= w i n=0
  if [[ $prev == -s || $prev == --ship ]]; then COMPREPLY=($(compgen -W "$(__starphleet_remotes)" -- "$cur")); return; fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case $w in
      -s|--ship) ((i++)) ;;
      -*) ;;
      *) if ((n < 2)); then spath=\${spath:+$spath }$w; ((n++)); fi ;;
    esac
  done
  case $spath in
    '') COMPREPLY=($(compgen -W "${top.join(' ')} -s --ship --help" -- "$cur")) ;;
${cases}
    *) COMPREPLY=() ;;
  esac
}
complete -o default -F _starphleet starphleet
`;
}

function zshScript(program: Command): string {
  const nodes = words(program);
  const top = nodes.filter((n) => !n.name.includes(' ')).map((n) => n.name);
  const cases = nodes
    .map((n) => {
      const list = [...n.subs, ...(ARG_WORDS[n.name] ?? []), ...n.options].join(' ');
      if (REMOTE_ARG.has(n.name)) return `    ('${n.name}') compadd -- \${(f)"$(__starphleet_remotes)"} ${list} ;;`;
      if (DIR_ARG.has(n.name)) return `    ('${n.name}') compadd -- ${list}; _files -/ ;;`;
      return `    ('${n.name}') compadd -- ${list} ;;`;
    })
    .join('\n');
  return `#compdef starphleet
# zsh completion for starphleet: source <(starphleet completion zsh) after compinit, or save it as _starphleet in
# a directory of your $fpath
__starphleet_remotes() { command starphleet remote list --names 2>/dev/null; }
_starphleet() {
  local spath= w i n=0
  if [[ \${words[CURRENT-1]} == (-s|--ship) ]]; then compadd -- \${(f)"$(__starphleet_remotes)"}; return; fi
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    case $w in
      (-s|--ship) ((i++)) ;;
      (-*) ;;
      (*) if ((n < 2)); then spath=\${spath:+$spath }$w; ((n++)); fi ;;
    esac
  done
  case $spath in
    ('') compadd -- ${top.join(' ')} -s --ship --help ;;
${cases}
    (*) _files ;;
  esac
}
if (( $+functions[compdef] )); then compdef _starphleet starphleet; fi
`;
}

/** `starphleet completion bash|zsh`: the script, made from the CLI's own commands so it never drifts from them. */
export function completionScript(program: Command, shell: string): string {
  if (shell === 'bash') return bashScript(program);
  if (shell === 'zsh') return zshScript(program);
  throw new AdmiralError(`completion: unknown shell ${JSON.stringify(shell)} (bash or zsh)`);
}
