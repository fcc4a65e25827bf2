// kubectl-lathe: `kubectl lathe runs|logs|generate`. Results go to stdout, progress and errors to
// stderr (so `kubectl lathe runs > runs.txt` holds only the table); exit 1 on an error, 2 on usage.
import { parseArgs } from 'node:util';
import type { TrainingRun } from '../../operator/src/api/schema/trainingrun.js';
import { startConsole } from './console/server.js';
import { curve } from './curve.js';
import { CliError } from './errors.js';
import { generate } from './generate.js';
import { storedRuns } from './history.js';
import { logs } from './logs.js';
import { formatRuns, runRows } from './runs.js';
import { Session, TRAINING_RUNS } from './session.js';
import { parseTimeout, waitForRun, waitForService } from './wait.js';

export const USAGE = `kubectl lathe: Lathe's runs, logs and models from your terminal (your kubeconfig and AWS credentials)

  kubectl lathe runs [-n NS | -A] [--history] [--bucket B]   runs: phase, progress, loss, duration, GPUs, artifact;
                                                             --history adds the S3 records of deleted runs
  kubectl lathe runs RUN [-n NS] [--wait [--timeout 2h]]     one run; --wait follows it until it finishes
                                                             (a line per change; exit 1 if it Failed)
  kubectl lathe logs RUN [-n NS] [-f] [--worker N]           logs of the run's current attempt
  kubectl lathe curve RUN [-n NS] [--rows N]                 loss, learning rate and evaluation over steps
                                                             (metrics-history.json; deleted runs too)
  kubectl lathe generate SERVICE "prompt" [-n NS] [--max-tokens N] [--temperature T] [--image out.png] [--wait]
                                                             text streamed, or an image written, through a port-forward;
                                                             --wait first waits until the service is Ready (model loaded)
  kubectl lathe console [-n NS | -A] [--port P]              a web page on 127.0.0.1 (a token in its URL): runs updating
                                                             live, loss curves, Events, lineage, services, a playground
`;

export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const progress = (line: string) => io.err.write(`[lathe] ${line}\n`);
  let session: Session | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        history: { type: 'boolean' },
        bucket: { type: 'string' },
        follow: { type: 'boolean', short: 'f' },
        worker: { type: 'string' },
        image: { type: 'string' },
        'max-tokens': { type: 'string' },
        rows: { type: 'string' },
        temperature: { type: 'string' },
        port: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...args] = positionals;
    if (values.help || !command) {
      io.out.write(USAGE);
      return command || values.help ? 0 : 2;
    }
    session = new Session(values.bucket ?? io.env.LATHE_S3_BUCKET ?? undefined, io.env);
    const namespace = () => values.namespace ?? session!.defaultNamespace();
    switch (command) {
      case 'runs': {
        if (args.length > 1) throw new UsageError(`runs takes at most one TrainingRun name, got ${args.join(' ')}`);
        if (values.wait && args.length !== 1) throw new UsageError('--wait follows one run: kubectl lathe runs RUN --wait');
        if (args.length === 1) {
          const name = args[0]!;
          const ns = namespace();
          const run = values.wait
            ? await waitForRun(session, { namespace: ns, name, timeoutMs: parseTimeout(values.timeout, 2 * 3_600_000), progress })
            : await session.find<TrainingRun>(TRAINING_RUNS, ns, name, `reading TrainingRun ${name}`);
          if (!run) throw new CliError(`no TrainingRun ${name} in namespace ${ns}`, `kubectl lathe runs -n ${ns} --history lists its runs, deleted ones too`);
          io.out.write(formatRuns(runRows([run], undefined, ns, new Date()), { allNamespaces: false, history: false }));
          return 0;
        }
        const all = values['all-namespaces'] === true;
        const ns = all ? undefined : namespace();
        const live = await session.list<TrainingRun>(TRAINING_RUNS, ns, 'listing TrainingRuns');
        let stored;
        if (values.history) {
          progress(`reading run records from s3://${session.bucket}/models/`);
          stored = await storedRuns(session, (line) => progress(`warning: ${line}`), (done, total) => {
            if (done === total || done % 25 === 0) progress(`read ${done}/${total} run records`);
          });
        }
        io.out.write(formatRuns(runRows(live, stored, ns, new Date()), { allNamespaces: all, history: values.history === true }));
        return 0;
      }
      case 'logs': {
        if (args.length !== 1) throw new UsageError('logs takes one TrainingRun name: kubectl lathe logs RUN [-f] [--worker N]');
        await logs(session, { namespace: namespace(), run: args[0]!, follow: values.follow === true, worker: intOption(values.worker, 'worker', 0), out: io.out, progress });
        return 0;
      }
      case 'curve': {
        if (args.length !== 1) throw new UsageError('curve takes one TrainingRun name: kubectl lathe curve RUN');
        await curve(session, { namespace: namespace(), run: args[0]!, rows: Math.max(2, intOption(values.rows, 'rows', 20)), out: io.out, progress });
        return 0;
      }
      case 'generate': {
        if (args.length !== 2) throw new UsageError('generate takes a service and a prompt: kubectl lathe generate SERVICE "prompt"');
        const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
        if (temperature !== undefined && !(temperature >= 0)) throw new UsageError(`--temperature must be a number ≥ 0, got ${JSON.stringify(values.temperature)}`);
        if (values.wait) await waitForService(session, { namespace: namespace(), name: args[0]!, timeoutMs: parseTimeout(values.timeout, 30 * 60_000), progress });
        await generate(session, {
          namespace: namespace(),
          service: args[0]!,
          prompt: args[1]!,
          ...(values.image !== undefined ? { image: values.image } : {}),
          maxTokens: intOption(values['max-tokens'], 'max-tokens', 64),
          ...(temperature !== undefined ? { temperature } : {}),
          out: io.out,
          progress,
        });
        return 0;
      }
      case 'console': {
        if (args.length) throw new UsageError(`console takes no arguments, got ${args.join(' ')}`);
        const port = intOption(values.port, 'port', 0);
        if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
        const consoleNs = values['all-namespaces'] === true ? undefined : namespace();
        const server = await startConsole({ session, namespace: consoleNs, port });
        progress(`console for ${consoleNs ? `namespace ${consoleNs}` : 'all namespaces'} of ${session.client.access.server}; Ctrl-C stops it`);
        io.out.write(`${server.url}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        progress('stopping the console');
        await server.close();
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`error: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof CliError) {
      io.err.write(`error: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
      return 1;
    }
    io.err.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    session?.close();
  }
}
