/** Text into HTML (element content and quoted attribute values alike): every character that could start markup. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tagged template whose every `${value}` is escaped; a `Raw` value (already HTML) goes in as it is. */
export class Raw {
  constructor(readonly html: string) {}
}

export function html(parts: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = parts[0] ?? '';
  values.forEach((v, i) => {
    const piece = v instanceof Raw ? v.html : Array.isArray(v) ? v.map((x) => (x instanceof Raw ? x.html : esc(x))).join('') : esc(v);
    out += piece + (parts[i + 1] ?? '');
  });
  return new Raw(out);
}
