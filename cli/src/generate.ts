// `kubectl lathe generate SERVICE "prompt" [--image out.png]`: a completion streamed to the terminal,
// or an image written to a file, from an InferenceService through a port-forward to its Service.
import { writeFileSync } from 'node:fs';
import type { InferenceService } from '../../operator/src/api/schema/inferenceservice.js';
import { CliError } from './errors.js';
import { withPortForward } from './port-forward.js';
import { INFERENCE_SERVICES, type Session } from './session.js';

/** The service's port (the Service the operator renders listens on 80). */
export const SERVICE_PORT = 80;

/** Refuses a service that cannot answer, saying why and what to do; pure. */
export function checkServable(svc: InferenceService, image: boolean): void {
  const name = svc.metadata.name!;
  const ready = svc.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const why = ready ? `${ready.reason}: ${ready.message}` : 'no status yet';
    throw new CliError(`InferenceService ${name} is not Ready (${why})`, `kubectl describe inferenceservice ${name} shows its conditions and Events; try again once READY is True`);
  }
  const task = svc.spec.task ?? 'text-generation';
  if (image && task !== 'text-to-image') throw new CliError(`InferenceService ${name} serves ${task}, not images`, 'leave out --image for text, or pick a text-to-image service');
  if (!image && task === 'text-to-image') throw new CliError(`InferenceService ${name} generates images`, `add --image out.png to write the image to a file`);
}

/** Text of one server-sent event's data (OpenAI completion chunks); undefined for [DONE]. Pure. */
export function chunkText(data: string): string | undefined {
  if (data === '[DONE]') return undefined;
  const chunk = JSON.parse(data) as { choices?: { text?: string; delta?: { content?: string } }[]; error?: { message?: string } };
  if (chunk.error) throw new CliError(`the server stopped the stream: ${chunk.error.message ?? JSON.stringify(chunk.error)}`);
  const c = chunk.choices?.[0];
  return c?.text ?? c?.delta?.content ?? '';
}

/** Reads an SSE body, calling `onData` with each event's data. */
export async function readEvents(body: ReadableStream<Uint8Array>, onData: (data: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) onData(data);
    }
  }
}

export async function failure(res: Response, what: string): Promise<CliError> {
  const text = await res.text();
  let said = text.slice(0, 300);
  try {
    said = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? said;
  } catch {
    // not JSON: the text as it came
  }
  return new CliError(`${what}: HTTP ${res.status}: ${said}`, res.status === 429 ? 'the service is at capacity: try again in a moment' : undefined);
}

export interface GenerateOptions {
  namespace: string;
  service: string;
  prompt: string;
  image?: string;
  maxTokens: number;
  temperature?: number;
  out: NodeJS.WritableStream;
  progress: (line: string) => void;
}

/** Generates and returns the text (also streamed to `out`), or the image file written. */
export async function generate(session: Session, o: GenerateOptions): Promise<string> {
  const svc = await session.find<InferenceService>(INFERENCE_SERVICES, o.namespace, o.service, `reading InferenceService ${o.service}`);
  if (!svc) throw new CliError(`no InferenceService ${o.service} in namespace ${o.namespace}`, `kubectl get inferenceservices -n ${o.namespace} lists them`);
  checkServable(svc, o.image !== undefined);
  o.progress(`port-forward to service/${o.service}`);
  return withPortForward(o.namespace, `service/${o.service}`, SERVICE_PORT, async (port) => {
    const base = `http://127.0.0.1:${port}`;
    if (o.image !== undefined) {
      o.progress('generating the image (this takes a while on CPU)');
      const res = await fetch(`${base}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: o.service, prompt: o.prompt, n: 1 }) });
      if (!res.ok) throw await failure(res, `generating an image with ${o.service}`);
      const body = (await res.json()) as { data?: { b64_json?: string }[] };
      const b64 = body.data?.[0]?.b64_json;
      if (!b64) throw new CliError(`${o.service} answered without an image`);
      writeFileSync(o.image, Buffer.from(b64, 'base64'));
      o.progress(`wrote ${o.image}`);
      return o.image;
    }
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: o.service, prompt: o.prompt, max_tokens: o.maxTokens, stream: true, ...(o.temperature !== undefined ? { temperature: o.temperature } : {}) }),
    });
    if (!res.ok || !res.body) throw await failure(res, `generating text with ${o.service}`);
    let text = '';
    await readEvents(res.body, (data) => {
      const piece = chunkText(data);
      if (piece) {
        text += piece;
        o.out.write(piece);
      }
    });
    o.out.write('\n');
    return text;
  });
}
