const UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/**
 * A duration as admirals write it for traffic settings: `30`, `30s`, `1.5m`, `500ms`, `1h` (seconds when no unit).
 * Null when it is not one, or outside (0, maxSeconds].
 */
export function parseDuration(raw: string, maxSeconds: number): number | null {
  const m = /^(\d{1,7}(?:\.\d{1,3})?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) return null;
  const s = Number(m[1]) * (UNITS[m[2] ?? 's'] as number);
  return s > 0 && s <= maxSeconds ? s : null;
}
