import { BuildFailure, type StepContext } from './buildpacks.js';
import { runScript } from './run-script.js';
import { instanceScript } from '../runtime/runtime.js';
import { APP_DIR, SANDBOX_PATH } from '../runtime/runtime-types.js';

/**
 * app.json's `scripts.dokku.predeploy`: after the build, in the built tree (so its writes become part of the
 * release), in the build's sandbox, with the app's env as its instances get it. In the sandbox the tree is at /app,
 * its working directory and HOME, as an instance's release is (and as Dokku runs it). Non-zero fails the deploy.
 */
export async function runPredeploy(command: string, buildDir: string, env: Readonly<Record<string, string>>, ctx: StepContext): Promise<void> {
  ctx.log(`-----> Running predeploy (app.json scripts.dokku.predeploy): ${command}`);
  const at = ctx.sandbox ? APP_DIR : buildDir;
  const r = await runScript('bash', ['-c', instanceScript(command)], {
    cwd: at,
    env: { PATH: ctx.scriptEnv.PATH ?? SANDBOX_PATH, LANG: 'C.UTF-8', ...env, HOME: at },
    log: ctx.log,
    deadline: ctx.deadline,
    sandbox: ctx.sandbox,
    recordIn: ctx.dataDir,
    what: 'predeploy',
    ...(ctx.quietMs !== undefined ? { quietMs: ctx.quietMs } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (r.stopped === 'timeout') throw new BuildFailure('predeploy did not finish within the build time limit and was killed');
  if (r.stopped === 'aborted') throw new BuildFailure('build cancelled');
  const said = r.tail.length > 0 ? `; last output: ${r.tail.join(' | ')}` : '';
  if (r.code !== 0) throw new BuildFailure(`predeploy (app.json scripts.dokku.predeploy) failed (${r.limit ?? `exit ${r.code ?? 'by signal'}`})${said}`);
}
