// The console page's only script. The server renders every table and chart (cli/src/console/views.ts);
// this file (1) listens to /events and swaps in a fresh copy of a fragment when what it shows
// changed, and (2) runs the playground: a chat streamed token by token, or an image shown inline.
// Plain JavaScript served as it is: there is nothing to build.

const live = (document.body.dataset.live ?? '').split(' ');
const connection = document.getElementById('connection');
const pending = new Map();

function refresh(id) {
  const el = document.getElementById(id);
  if (!el || pending.has(id)) return;
  pending.set(id, setTimeout(async () => {
    pending.delete(id);
    const current = document.getElementById(id);
    if (!current?.dataset.fragment) return;
    try {
      const res = await fetch(current.dataset.fragment, { headers: { accept: 'text/html' } });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      const t = document.createElement('template');
      t.innerHTML = await res.text();
      const next = t.content.firstElementChild;
      if (next) current.replaceWith(next);
      document.dispatchEvent(new CustomEvent('lathe:refreshed', { detail: id }));
    } catch (err) {
      connection.textContent = `could not refresh: ${err.message}`;
      connection.className = 'connection conn-problem';
    }
  }, 250));
}

function onChange(change) {
  if (change.kind === 'connection') {
    connection.textContent = change.problem ? `${change.problem.message}${change.problem.hint ? ` (${change.problem.hint})` : ''}` : 'live';
    connection.className = change.problem ? 'connection conn-problem' : 'connection conn-ok';
    for (const id of ['runs', 'services', 'run', 'play-status']) refresh(id);
    return;
  }
  const key = `${change.namespace}/${change.name}`;
  if (live[0] === 'runs' && (change.kind === 'trainingruns' || change.kind === 'records')) refresh('runs');
  if (live[0] === 'runs' && change.kind === 'inferenceservices') refresh('services');
  if (live[0] === 'run' && (change.kind === 'records' || change.kind === 'inferenceservices' || (change.kind === 'trainingruns' && key === live[1]))) refresh('run');
  if (live[0] === 'service' && change.kind === 'inferenceservices' && key === live[1]) refresh('play-status');
}

const events = new EventSource('/events');
events.addEventListener('change', (e) => onChange(JSON.parse(e.data)));
events.addEventListener('error', () => {
  connection.textContent = 'console unreachable: reconnecting…';
  connection.className = 'connection conn-problem';
});

// ---- the playground -------------------------------------------------------------------------

const progress = document.getElementById('play-progress');

async function errorOf(res) {
  try {
    const body = await res.json();
    return `${body.error.message}${body.error.hint ? ` (${body.error.hint})` : ''}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** Reads a server-sent event stream, calling onEvent(name, data) for each event. */
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const lines = block.split('\n');
      const name = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) onEvent(name, data);
    }
  }
}

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  div.textContent = text;
  document.getElementById('chat').append(div);
  return div;
}

const chatForm = document.getElementById('chat-form');
if (chatForm) {
  const messages = [];
  chatForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(chatForm);
    const text = String(form.get('message') ?? '').trim();
    if (!text) return;
    const button = chatForm.querySelector('button');
    button.disabled = true;
    messages.push({ role: 'user', content: text });
    bubble('user', text);
    chatForm.querySelector('textarea').value = '';
    const answer = bubble('assistant', '');
    answer.classList.add('streaming');
    progress.textContent = 'waiting for the first token…';
    const started = performance.now();
    let pieces = 0;
    try {
      const res = await fetch(chatForm.dataset.api, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages, max_tokens: Number(form.get('max_tokens')), temperature: Number(form.get('temperature')) }),
      });
      if (!res.ok || !res.body) throw new Error(await errorOf(res));
      await readEvents(res.body, (name, data) => {
        if (data === '[DONE]') return;
        const chunk = JSON.parse(data);
        if (name === 'error' || chunk.error) throw new Error(chunk.error?.message ?? 'the stream failed');
        const piece = chunk.choices?.[0]?.delta?.content;
        if (piece) {
          pieces += 1;
          answer.textContent += piece;
          answer.dataset.chunks = String(pieces);
          progress.textContent = `${pieces} chunk(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`;
        }
      });
      messages.push({ role: 'assistant', content: answer.textContent });
      answer.classList.remove('streaming');
      answer.classList.add('done');
      progress.textContent = `done: ${pieces} chunk(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    } catch (err) {
      messages.pop();
      answer.remove();
      bubble('error', err.message);
      progress.textContent = '';
    } finally {
      button.disabled = false;
    }
  });
}

const imageForm = document.getElementById('image-form');
if (imageForm) {
  imageForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const prompt = String(new FormData(imageForm).get('prompt') ?? '');
    const button = imageForm.querySelector('button');
    button.disabled = true;
    const started = performance.now();
    const ticker = setInterval(() => (progress.textContent = `generating… ${((performance.now() - started) / 1000).toFixed(0)} s (minutes on a CPU)`), 1000);
    const out = document.getElementById('image-out');
    try {
      const res = await fetch(imageForm.dataset.api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) });
      if (!res.ok) throw new Error(await errorOf(res));
      const { b64_json: b64 } = await res.json();
      const img = document.createElement('img');
      img.alt = prompt;
      img.src = `data:image/png;base64,${b64}`;
      out.replaceChildren(img);
      progress.textContent = `done in ${((performance.now() - started) / 1000).toFixed(1)} s`;
    } catch (err) {
      out.replaceChildren(Object.assign(document.createElement('div'), { className: 'msg error', textContent: err.message }));
      progress.textContent = '';
    } finally {
      clearInterval(ticker);
      button.disabled = false;
    }
  });
}
