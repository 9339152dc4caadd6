import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/** One record as the test's rsyslog template writes it (tab-separated fields). */
export interface SyslogRecord {
  readonly hostname: string;
  readonly app: string;
  readonly procid: string;
  readonly msgid: string;
  readonly sd: Record<string, string>;
  readonly msg: string;
}

/**
 * Debian's rsyslogd in the foreground with a config of its own in dir: imtcp (and imudp) on loopback ports, omfile to
 * dir/out.log, its own pid file and work dir; no system path is read or written.
 */
export class Rsyslog {
  private child: ChildProcess | null = null;
  readonly out: string;
  private readonly conf: string;

  constructor(
    private readonly dir: string,
    readonly tcpPort: number,
    readonly udpPort: number,
  ) {
    mkdirSync(join(dir, 'work'), { recursive: true });
    this.out = join(dir, 'out.log');
    this.conf = join(dir, 'rsyslog.conf');
    writeFileSync(
      this.conf,
      [
        `global(workDirectory="${join(dir, 'work')}")`,
        'module(load="imtcp")',
        'module(load="imudp")',
        `input(type="imtcp" port="${tcpPort}" address="127.0.0.1")`,
        `input(type="imudp" port="${udpPort}" address="127.0.0.1")`,
        // What it has read is written out before it exits (a restart must not lose what it took).
        'main_queue(queue.timeoutShutdown="20000")',
        'template(name="rec" type="string" string="%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n")',
        `action(type="omfile" file="${this.out}" template="rec")`,
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<void> {
    const child = spawn('rsyslogd', ['-n', '-f', this.conf, '-i', join(this.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    this.child = child;
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`rsyslogd exited ${child.exitCode}: ${err}`);
          const s = connect(this.tcpPort, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        }),
      'rsyslogd listening',
      30_000,
      100,
    );
  }

  /** SIGTERM and wait for it to exit (it writes out its queue first). */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }

  /** Freezes it (SIGSTOP: what arrives now sits unread in its socket), then kills it (SIGKILL: that is gone). */
  async freezeThenKill(frozenMs: number): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, frozenMs));
    c.kill('SIGKILL');
    await exited;
  }

  records(): SyslogRecord[] {
    let text = '';
    try {
      text = readFileSync(this.out, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [hostname = '', app = '', procid = '', msgid = '', sdText = '', ...rest] = l.split('\t');
        const sd: Record<string, string> = {};
        for (const m of sdText.matchAll(/([a-z]+)="((?:[^"\\]|\\.)*)"/g)) sd[m[1] as string] = (m[2] as string).replace(/\\(.)/g, '$1');
        return { hostname, app, procid, msgid, sd, msg: rest.join('\t') };
      });
  }
}
