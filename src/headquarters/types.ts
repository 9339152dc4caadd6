import type { MaintenanceOrders } from './traffic-orders.js';

/** The typed, immutable picture of what an HQ commit asks for. Everything downstream reads this. */

/** A problem found in HQ: always a value with the file (relative to the HQ root) and, when known, the line. */
export interface Problem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** The result of evaluating one orders file. */
export interface Orders {
  /** The service repo URL, without the `#ref` part. */
  readonly giturl: string;
  /** Branch, tag or sha after `#`; undefined means the remote's default branch. */
  readonly ref?: string;
  /** Exports made by the orders file, in the order bash reports them. */
  readonly env: Readonly<Record<string, string>>;
  readonly unpublished: boolean;
  readonly proxyFor: readonly string[];
  /** `scale web=2 worker=1`: instances per Procfile type (over app.json's formation; default 1 each). */
  readonly scale?: Readonly<Record<string, number>>;
  /** `previews ...`: a preview release per matching branch (docs/previews.md); absent when the orders have none. */
  readonly previews?: PreviewOrders;
  /** `on web eu-1`: the ship names and tags it runs on (placement.ts); absent: every ship runs it. */
  readonly on?: readonly string[];
  /** `maintenance [--allow PATH]... [message]`: 503 with the maintenance page on every ship (traffic-orders.ts). */
  readonly maintenance?: MaintenanceOrders;
  /** `release_pause [seconds]`: deploys hold requests around the release command; null: the ship's default length. */
  readonly releasePause?: number | null;
}

/** The orders verb `previews [pattern...] [--max N] [--ttl 7d|off] [--secrets]`, checked (previews-orders.ts). */
export interface PreviewOrders {
  /** Globs of branch names (or of whole refs when they start with refs/), `!` first to leave out; empty: every branch. */
  readonly patterns: readonly string[];
  /** How many previews run at most (the oldest commits are skipped first). */
  readonly max: number;
  /** A preview whose branch saw no new commit for this long stops; null: never. */
  readonly ttlSeconds: number | null;
  /** `--secrets`: previews get the service's HQ secrets.age too (never without it). */
  readonly secrets: boolean;
}

/** HQ `<path>/previews.env`: env of that service's previews, over every other (dotenv lines, data only). */
export interface PreviewEnvFile {
  readonly mount: string;
  readonly file: string;
  readonly env: Readonly<Record<string, string>>;
  /** Why it cannot be used (a bad line, a symlink): that service's previews then hold, never run without it. */
  readonly problem: string | null;
}

export interface Service {
  /** URL mount path: `/` or `/a/b`. */
  readonly mount: string;
  /** Mount path without the leading `/`, `/` turned into `.`; `root` for `/`. */
  readonly name: string;
  /** Orders file relative to the HQ root. */
  readonly ordersFile: string;
  readonly orders: Orders;
  /**
   * sha256 of the orders file's bytes: lets the agent see "changed orders". For a placed service (`on`), of its
   * evaluated orders without `on` instead, so moving it redeploys nothing on the ships where it stays.
   */
  readonly ordersDigest: string;
  /** True when this commit's orders failed and the last good ones are kept in force. */
  readonly stale: boolean;
}

export type KeyOption =
  | { readonly name: 'command'; readonly value: string }
  | { readonly name: 'from'; readonly value: string }
  | { readonly name: string; readonly value?: undefined };

export interface Admiral {
  /** File under authorized_keys/, relative to the HQ root. */
  readonly file: string;
  readonly type: string;
  /** The key blob (the base64 part, decoded). */
  readonly blob: Buffer;
  /** `SHA256:...` exactly as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  readonly comment: string;
  /** Applied by the SSH gate only (src/server/access/gate.ts): nothing else reads them. */
  readonly options: readonly KeyOption[];
}

export interface HtpasswdEntry {
  readonly user: string;
  readonly hash: string;
  readonly line: number;
}

export interface HtpasswdFile {
  readonly mount: string;
  readonly file: string;
  readonly entries: readonly HtpasswdEntry[];
}

export interface DataRemote {
  /** Path under /var/data, without leading slash. */
  readonly path: string;
  readonly file: string;
  readonly giturl: string;
  readonly ref?: string;
}

export interface Job {
  readonly line: number;
  readonly schedule: string;
  readonly url: string;
}

export interface NamedFile {
  readonly name: string;
  readonly file: string;
}

/** A TLS certificate from HQ `ssl/<name>.crt` + `.key`, checked (key matches, covers the name, not expired). */
export interface HqCertificate {
  readonly name: string;
  /** `ssl/<name>.crt`. */
  readonly file: string;
  /** The PEM chain, leaf first. */
  readonly cert: string;
  readonly key: string;
  readonly notAfter: string;
  readonly issuer: string;
}

/**
 * A sealed env file of HQ: `secrets.age` (phleet-wide) or `<path>/secrets.age` (that service's), an age file whose
 * plaintext is dotenv lines. Only its header is read here; a ship opens it with its host key at deploy.
 */
export interface SealedFile {
  /** Relative to the HQ root. */
  readonly file: string;
  /** The mount of the service it belongs to; null for the phleet-wide file at the top. */
  readonly mount: string | null;
  /** The file's bytes (ciphertext: harmless to hold). */
  readonly bytes: Buffer;
  readonly sha256: string;
  /** Its recipient stanzas: type, and for ssh-ed25519/ssh-rsa the tag of the key (null for other types). */
  readonly recipients: readonly { readonly type: string; readonly tag: string | null }[];
  /** Why it cannot be used (a symlink, not an age file...): the services it applies to keep what they serve. */
  readonly problem: string | null;
}

export interface DesiredState {
  /** HQ commit sha, or null for a plain directory (hq check on a non-git dir). */
  readonly sha: string | null;
  readonly services: readonly Service[];
  /** Mounts whose orders file exists in this commit but failed to evaluate. */
  readonly brokenOrders: readonly string[];
  readonly admirals: readonly Admiral[];
  readonly htpasswd: readonly HtpasswdFile[];
  readonly dataRemotes: readonly DataRemote[];
  readonly jobs: readonly Job[];
  /** Exports of HQ `.starphleet`: phleet-wide env, highest precedence. */
  readonly env: Readonly<Record<string, string>>;
  readonly shipscripts: readonly NamedFile[];
  readonly containers: readonly NamedFile[];
  /** HQ `ssl/`: good certificates, and the names whose files are there but bad (their served certificate stays). */
  readonly ssl?: { readonly certs: readonly HqCertificate[]; readonly rejected: readonly string[] };
  /** `secrets.age` files (the phleet-wide one first, then by path); absent in states made before secrets existed. */
  readonly secrets?: readonly SealedFile[];
  /** `<path>/previews.env` files (see PreviewEnvFile); absent in states made before previews existed. */
  readonly previewEnv?: readonly PreviewEnvFile[];
  /** `<path>/previews.htpasswd`: basic auth of that service's previews instead of its .htpasswd. */
  readonly previewHtpasswd?: readonly HtpasswdFile[];
  /** HQ `tags`: ship name -> tags (placement.ts); absent when HQ has no such file. */
  readonly tags?: Readonly<Record<string, readonly string[]>>;
  readonly problems: readonly Problem[];
}
