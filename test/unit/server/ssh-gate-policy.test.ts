import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplicateKeyProblems, parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import type { Admiral } from '../../../src/headquarters/types.js';
import { classifyExec, classifyShell } from '../../../src/server/access/exec-request.js';
import { authorize, sameOutcome, type GateIdentity, type SshRequest } from '../../../src/server/access/gate.js';
import { makeKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('ssh gate policy (unit)', () => {
  const dir = tmpDir('sp-gate-');
  const k = makeKey(dir, 'k');
  const grant = (options: string, file = 'authorized_keys/k'): Admiral => {
    const r = parseAuthorizedKeyFile(`${options ? `${options} ` : ''}${k.pub}\n`, file);
    assert.ok(r.admiral, JSON.stringify(r.problems));
    return r.admiral;
  };
  const id = (user: string, ...grants: Admiral[]): GateIdentity => ({ user, grants, remoteAddress: '127.0.0.1' });
  const allowed = (i: GateIdentity, r: SshRequest): boolean => authorize(i, r).allow;

  it('classifies commands as the requests they amount to', () => {
    assert.deepEqual(classifyExec('admiral', 'starphleet update'), { kind: 'update', command: 'starphleet update' });
    assert.deepEqual(classifyExec('admiral', '  starphleet   update --now'), { kind: 'update', command: '  starphleet   update --now' });
    // Help is only help: the CLI prints it, nothing is updated.
    assert.deepEqual(classifyExec('admiral', 'starphleet update --help'), { kind: 'exec', command: 'starphleet update --help' });
    assert.deepEqual(classifyExec('update', 'starphleet update --help'), { kind: 'update', command: 'starphleet update --help' });
    assert.equal(classifyExec('admiral', 'scp -f -- /data/x').kind, 'scp');
    assert.deepEqual(classifyExec('admiral', 'scp -v -r -t /data'), { kind: 'scp', command: 'scp -v -r -t /data', direction: 'upload' });
    assert.equal(classifyExec('admiral', '/usr/bin/scp -pf /etc/passwd').kind, 'scp');
    // An odd flag order must not turn a transfer into a plain exec.
    assert.equal(classifyExec('admiral', 'scp -S /bin/sh -f /x').kind, 'scp');
    assert.equal(classifyExec('admiral', 'starphleet status').kind, 'exec');
    assert.equal(classifyExec('git', "git-receive-pack '/app'").kind, 'git-receive-pack');
    assert.equal(classifyExec('git', "git-upload-pack '/app'").kind, 'git-upload-pack');
    assert.equal(classifyExec('git', 'ls').kind, 'exec');
    assert.equal(classifyExec('update', 'anything at all').kind, 'update');
    assert.deepEqual(classifyShell('update'), { kind: 'update', command: null });
    assert.deepEqual(classifyShell('admiral'), { kind: 'shell' });
  });

  it('command= runs only that command, as admiral, whatever is asked; the request becomes SSH_ORIGINAL_COMMAND', () => {
    const forced = grant('command="starphleet status"');
    const a = id('admiral', forced);
    assert.deepEqual(authorize(a, { kind: 'exec', command: 'rm -rf /' }), { allow: true, serve: { kind: 'exec', command: 'starphleet status' }, originalCommand: 'rm -rf /' });
    assert.deepEqual(authorize(a, { kind: 'shell' }), { allow: true, serve: { kind: 'exec', command: 'starphleet status' } });
    assert.deepEqual(authorize(a, classifyExec('admiral', 'starphleet update')), { allow: true, serve: { kind: 'exec', command: 'starphleet status' }, originalCommand: 'starphleet update' });
    for (const r of [{ kind: 'sftp' }, classifyExec('admiral', 'scp -f /data/x'), classifyExec('admiral', 'scp -t /data')] as SshRequest[]) {
      const v = authorize(a, r);
      assert.ok(!v.allow && /forced command \(command= in authorized_keys\/k\): no file transfer/.test(v.reason), r.kind);
    }
    assert.equal(allowed(id('git', forced), classifyExec('git', "git-upload-pack '/x'")), false);
    assert.equal(allowed(id('update', forced), classifyShell('update')), false);
    assert.equal(allowed(a, { kind: 'pty' }), true, 'OpenSSH gives a forced command a pty unless no-pty');
    assert.equal(allowed(a, { kind: 'env', name: 'LANG' }), true);
    assert.equal(allowed(a, { kind: 'env', name: 'BASH_ENV' }), false, 'nothing that changes what the forced command does');
    assert.equal(allowed(a, { kind: 'env', name: 'LD_PRELOAD' }), false);
  });

  it('restrict takes away the pty (unless pty follows) and forwarding, and nothing else', () => {
    for (const options of ['restrict', 'restrict,pty', 'no-pty', 'no-pty,pty', 'pty,no-pty']) {
      const g = grant(options);
      const ptyWanted = options.endsWith(',pty');
      assert.equal(allowed(id('admiral', g), { kind: 'pty' }), ptyWanted, options);
      for (const r of [{ kind: 'shell' }, { kind: 'exec', command: 'ls' }, { kind: 'sftp' }, classifyExec('admiral', 'scp -f /x'), classifyExec('admiral', 'starphleet update')] as SshRequest[]) {
        assert.equal(allowed(id('admiral', g), r), true, `${options} ${r.kind}`);
      }
      assert.equal(allowed(id('update', g), classifyShell('update')), true);
      assert.equal(allowed(id('git', g), classifyExec('git', "git-receive-pack '/x'")), true);
    }
  });

  it('refuses every forwarding, agent and X11 to everyone, and unknown subsystems', () => {
    for (const g of [grant(''), grant('restrict'), grant('port-forwarding,agent-forwarding,x11-forwarding')]) {
      for (const user of ['admiral', 'git', 'update']) {
        for (const what of ['direct-tcpip', 'tcpip-forward', 'streamlocal-forward', 'direct-streamlocal', 'agent', 'x11'] as const) {
          const v = authorize(id(user, g), { kind: 'forward', what, detail: '' });
          assert.ok(!v.allow && /forwards no ports/.test(v.reason), `${user} ${what}`);
        }
      }
    }
    assert.equal(allowed(id('admiral', grant('')), { kind: 'subsystem', name: 'netconf' }), false);
  });

  it('each user gets only its own requests', () => {
    const g = grant('');
    assert.equal(allowed(id('git', g), { kind: 'shell' }), false);
    assert.equal(allowed(id('git', g), classifyExec('git', 'cat /etc/passwd')), false);
    assert.equal(allowed(id('git', g), { kind: 'sftp' }), false);
    assert.equal(allowed(id('git', g), { kind: 'pty' }), false);
    assert.equal(allowed(id('git', g), { kind: 'env', name: 'GIT_PROTOCOL' }), true);
    assert.equal(allowed(id('git', g), { kind: 'env', name: 'LANG' }), false);
    assert.equal(allowed(id('update', g), { kind: 'sftp' }), false);
    assert.equal(allowed(id('update', g), classifyExec('update', 'scp -f /x')), true, 'for update@ every command is the update');
    assert.equal(allowed(id('update', g), { kind: 'env', name: 'LD_PRELOAD' }), false);
    assert.equal(allowed(id('root', g), { kind: 'shell' }), false);
  });

  it('from= applies to every user and every request', () => {
    const g = grant('from="10.0.0.0/8"');
    for (const [user, command] of [['admiral', 'ls'], ['git', "git-upload-pack '/x'"], ['update', '']] as const) {
      const v = authorize(id(user, g), classifyExec(user, command));
      assert.ok(!v.allow && /from= in authorized_keys\/k does not allow 127\.0\.0\.1/.test(v.reason), user);
      assert.equal(authorize({ user, grants: [g], remoteAddress: '10.1.2.3' }, classifyExec(user, command)).allow, true, user);
    }
  });

  it('the same key in two files: an HQ problem naming both, and a request must pass both files', () => {
    const a = grant('', 'authorized_keys/a');
    const b = grant('no-pty', 'authorized_keys/b');
    const problems = duplicateKeyProblems([a, b]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.file, 'authorized_keys/b');
    assert.match(problems[0]?.message ?? '', /also in authorized_keys\/a/);
    const both = id('admiral', a, b);
    const pty = authorize(both, { kind: 'pty' });
    assert.ok(!pty.allow && /authorized_keys\/b/.test(pty.reason));
    assert.equal(allowed(both, { kind: 'exec', command: 'ls' }), true);
    const c1 = grant('command="one"', 'authorized_keys/c1');
    const c2 = grant('command="two"', 'authorized_keys/c2');
    const split = id('admiral', c1, c2);
    for (const r of [{ kind: 'shell' }, { kind: 'exec', command: 'one' }, { kind: 'pty' }, { kind: 'sftp' }] as SshRequest[]) {
      const v = authorize(split, r);
      assert.ok(!v.allow && /force different commands for this key: it admits nothing/.test(v.reason), r.kind);
    }
    const same = id('admiral', c1, grant('command="one",no-pty', 'authorized_keys/c3'));
    assert.equal(authorize(same, { kind: 'shell' }).allow, true, 'the same command in both files is that command');
    assert.equal(allowed(same, { kind: 'pty' }), false);
    const fenced = id('admiral', a, grant('from="10.0.0.0/8"', 'authorized_keys/f'));
    assert.equal(allowed(fenced, { kind: 'exec', command: 'ls' }), false, "the second file's from= counts too");
  });

  it('re-authorization: a request keeps its session only if the new options serve it the same way', () => {
    const r: SshRequest = { kind: 'sftp' };
    const before = authorize(id('admiral', grant('')), r);
    assert.ok(sameOutcome(before, authorize(id('admiral', grant('no-pty')), r)));
    assert.ok(!sameOutcome(before, authorize(id('admiral', grant('command="starphleet status"')), r)));
    const exec: SshRequest = { kind: 'exec', command: 'sleep 60' };
    assert.ok(!sameOutcome(authorize(id('admiral', grant('')), exec), authorize(id('admiral', grant('command="sleep 60"')), exec)), 'a forced command is another program');
  });
});
