// Shared helpers for the conformance tests: start rcgate-sim, talk to its control API, record
// every frame and REST exchange so a failure shows exactly what went over the wire.
//
// The tests judge the simulator: the clients are Rocket.Chat's own, used as published. Nothing
// here adapts a client to the simulator; it only starts, observes and stops things.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SIM_BIN = process.env.RCGATE_SIM || '/work/build-sim/tests/sim/rcgate-sim';

export const FLAVOURS = (process.env.CONFORMANCE_FLAVOURS || '6,7,8')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map(Number);

// Default household of rcgate-sim (see sim-contract.md), ids from the shared fixtures.
export const BOT = {
  id: 'BCmeyJm2r6b8hJiie',
  username: 'camera-bot',
  name: 'Camera Bot',
  password: 'bot-password',
  pat: 'eQQIF9v-qaaq269SmOiktm65Nt3CVdbm1P4Ij9ucYTb',
};
export const ALICE = { id: 't7EgqqFfkzCDKZrLg', username: 'alice', name: 'Alice Example' };
export const GENERAL = { id: 'GENERAL', name: 'general', type: 'c' };

// Every single wait in the tests is bounded by one of these.
export const T = {
  simStart: 10_000,
  connect: 5_000,
  login: 5_000,
  subscribe: 5_000,
  event: 5_000,
  rest: 5_000,
  stop: 5_000,
};

export function sha256hex(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function describeValue(v) {
  if (v instanceof Error) return v.stack || v.message;
  if (typeof Response !== 'undefined' && v instanceof Response) return `HTTP ${v.status} ${v.statusText} from ${v.url}`;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

// Clients reject with non-Error values (REST Response objects, DDP error objects, result
// wrappers); turn them into Errors that say which step failed and what came back.
export function asError(step, v) {
  if (v instanceof Error && v.message.startsWith(step)) return v;
  const e = new Error(`${step}: ${describeValue(v)}`);
  if (v instanceof Error) e.cause = v;
  return e;
}

export async function withTimeout(promise, ms, step) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve(promise), timeout]);
  } catch (err) {
    throw asError(step, err);
  } finally {
    clearTimeout(timer);
  }
}

function redact(value) {
  if (typeof value !== 'string' || value.length < 12) return value;
  return `${value.slice(0, 4)}…(${value.length})`;
}

// One transcript per test: sim output, raw WebSocket frames both ways, REST calls.
export class Transcript {
  constructor(name) {
    this.name = name;
    this.t0 = Date.now();
    this.lines = [];
  }

  add(kind, text) {
    const ms = String(Date.now() - this.t0).padStart(6, ' ');
    this.lines.push(`${ms} ms ${kind} ${text}`);
  }

  text() {
    return `=== transcript: ${this.name}\n${this.lines.join('\n')}\n=== end of transcript\n`;
  }

  // Written always (so passing runs can be inspected too); printed when the test failed.
  save() {
    const dir = process.env.CONFORMANCE_LOG_DIR || path.join(os.tmpdir(), 'rcgate-conformance-logs');
    try {
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${this.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`);
      fs.writeFileSync(file, this.text());
      return file;
    } catch {
      return null;
    }
  }
}

// REST calls of both clients go through the global fetch: record them.
let currentTranscript = null;
export function setTranscript(tr) {
  currentTranscript = tr;
}
const originalFetch = globalThis.fetch;
globalThis.fetch = async function loggingFetch(input, init = {}) {
  const tr = currentTranscript;
  const url = typeof input === 'string' ? input : input.url;
  const method = init.method || 'GET';
  if (tr && !url.includes('/_sim/')) {
    const h = new Headers(init.headers || {});
    const auth = ['x-user-id', 'x-auth-token', 'content-type', 'accept']
      .filter((k) => h.has(k))
      .map((k) => `${k}: ${k === 'x-auth-token' ? redact(h.get(k)) : h.get(k)}`)
      .join(', ');
    tr.add('REST>', `${method} ${url} [${auth}]${init.body ? ` ${init.body}` : ''}`);
  }
  let res;
  try {
    res = await originalFetch(input, init);
  } catch (err) {
    if (tr) tr.add('REST!', `${method} ${url} failed: ${err.message}${err.cause ? ` (${err.cause.message})` : ''}`);
    throw err;
  }
  if (tr && !url.includes('/_sim/')) {
    const body = await res.clone().text().catch((e) => `<unreadable: ${e.message}>`);
    tr.add('REST<', `${res.status} ${method} ${url} ${body.slice(0, 4000)}`);
  }
  return res;
};

// Raw frames of the `ws` package (used by @rocket.chat/sdk through universal-websocket-client).
const require = createRequire(import.meta.url);
const WS = require('ws');
if (!WS.prototype.__rcgateTapped) {
  WS.prototype.__rcgateTapped = true;
  const send = WS.prototype.send;
  WS.prototype.send = function tappedSend(data, ...rest) {
    currentTranscript?.add('WS>  ', String(data));
    return send.call(this, data, ...rest);
  };
  const emit = WS.prototype.emit;
  WS.prototype.emit = function tappedEmit(event, ...args) {
    if (event === 'message') currentTranscript?.add('WS<  ', `${args[1] ? '(binary frame) ' : ''}${String(args[0])}`);
    else if (event === 'close') currentTranscript?.add('WS-- ', `closed code=${args[0]} reason=${String(args[1] || '')}`);
    else if (event === 'error') currentTranscript?.add('WS!! ', String(args[0]?.message || args[0]));
    else if (event === 'open') currentTranscript?.add('WS-- ', `open ${this.url}`);
    return emit.call(this, event, ...args);
  };
}

// The global (browser-style) WebSocket used by @rocket.chat/ddp-client, with the same tap.
export function loggingWebSocketClass() {
  if (typeof globalThis.WebSocket !== 'function') {
    throw new Error(
      '@rocket.chat/ddp-client needs a global WebSocket: run node with --experimental-websocket (run.sh does)',
    );
  }
  const Base = globalThis.WebSocket;
  return class LoggingWebSocket extends Base {
    constructor(url, ...rest) {
      super(url, ...rest);
      const tr = currentTranscript;
      tr?.add('WS-- ', `connecting ${url}`);
      this.addEventListener('open', () => tr?.add('WS-- ', 'open'));
      this.addEventListener('message', (e) =>
        tr?.add('WS<  ', typeof e.data === 'string' ? e.data : `(binary frame, ${describeValue(e.data)})`),
      );
      this.addEventListener('close', (e) => tr?.add('WS-- ', `closed code=${e.code} reason=${e.reason}`));
      this.addEventListener('error', (e) => tr?.add('WS!! ', String(e.message || e.error?.message || 'error')));
    }

    send(data) {
      currentTranscript?.add('WS>  ', String(data));
      return super.send(data);
    }
  };
}

// Collects pushed items; next() waits (bounded) for one matching a predicate.
// mark() is the index the next pushed item will get.
export class Mailbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  mark() {
    return this.items.length;
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }

  // Waits for an item matching pred, looking only at items from index `from` on.
  next(pred, ms, step, from = 0) {
    const found = this.items.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = { pred, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, step).finally(() => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Starts rcgate-sim on a free port; resolves once it wrote its ports file.
export async function startSim({ flavour, transcript, extraArgs = [] }) {
  let stat;
  try {
    stat = fs.statSync(SIM_BIN);
  } catch {
    throw new Error(`rcgate-sim binary not found at ${SIM_BIN} (build target rcgate-sim, or set RCGATE_SIM)`);
  }
  if (!stat.isFile()) throw new Error(`${SIM_BIN} is not a file`);
  try {
    fs.accessSync(SIM_BIN, fs.constants.X_OK);
  } catch {
    throw new Error(`${SIM_BIN} is not executable`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rcgate-conformance-'));
  const portsFile = path.join(dir, 'ports.json');
  const args = [
    '--listen', '127.0.0.1',
    '--port', '0',
    '--ports-file', portsFile,
    '--flavour', String(flavour),
    '--log-level', process.env.CONFORMANCE_SIM_LOG_LEVEL || 'debug',
    ...extraArgs,
  ];
  transcript.add('SIM  ', `start ${SIM_BIN} ${args.join(' ')}`);
  const child = spawn(SIM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      transcript.add('SIM  ', `exited code=${code} signal=${signal}`);
      resolve(exited);
    });
  });
  let spawnError = null;
  child.on('error', (err) => {
    spawnError = err;
    transcript.add('SIM  ', `spawn error: ${err.message}`);
  });
  const collect = (stream, tag) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        transcript.add(tag, buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => buf && transcript.add(tag, buf));
  };
  collect(child.stdout, 'SIM1 ');
  collect(child.stderr, 'SIM2 ');

  const sim = {
    child,
    dir,
    pid: child.pid,
    async stop() {
      if (exited) return exited;
      transcript.add('SIM  ', `SIGTERM pid ${child.pid}`);
      process.kill(child.pid, 'SIGTERM');
      const res = await Promise.race([exitPromise, sleep(T.stop).then(() => null)]);
      if (res) return res;
      transcript.add('SIM  ', `did not exit ${T.stop} ms after SIGTERM; SIGKILL pid ${child.pid}`);
      process.kill(child.pid, 'SIGKILL');
      await Promise.race([exitPromise, sleep(T.stop)]);
      return { code: null, signal: 'SIGKILL', hungOnSigterm: true };
    },
  };

  const deadline = Date.now() + T.simStart;
  let ports = null;
  while (!ports) {
    if (spawnError) throw new Error(`could not start ${SIM_BIN}: ${spawnError.message}`);
    if (exited) throw new Error(`rcgate-sim exited before writing its ports file (code=${exited.code} signal=${exited.signal})`);
    if (Date.now() > deadline) {
      await sim.stop();
      throw new Error(`rcgate-sim did not write ${portsFile} within ${T.simStart} ms`);
    }
    if (fs.existsSync(portsFile)) {
      const text = fs.readFileSync(portsFile, 'utf8');
      try {
        ports = JSON.parse(text);
      } catch (err) {
        await sim.stop();
        throw new Error(`ports file is not JSON (${err.message}): ${text}`);
      }
    } else {
      await sleep(25);
    }
  }
  transcript.add('SIM  ', `ports file ${JSON.stringify(ports)}`);
  if (!Number.isInteger(ports.http) || ports.http <= 0) {
    await sim.stop();
    throw new Error(`ports file has no usable "http" port: ${JSON.stringify(ports)}`);
  }
  sim.ports = ports;
  sim.httpUrl = `http://127.0.0.1:${ports.http}`;

  // Control API (plain HTTP, /_sim/...). Fails loudly on anything but {"ok":true,...}.
  sim.control = async (method, urlPath, body) => {
    const step = `control API ${method} ${urlPath}`;
    transcript.add('CTRL>', `${method} ${urlPath}${body ? ` ${JSON.stringify(body)}` : ''}`);
    const res = await withTimeout(
      originalFetch(`${sim.httpUrl}${urlPath}`, {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      }),
      T.rest,
      step,
    );
    const text = await withTimeout(res.text(), T.rest, `${step} body`);
    transcript.add('CTRL<', `${res.status} ${text.slice(0, 4000)}`);
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${step}: HTTP ${res.status}, body is not JSON: ${text.slice(0, 300)}`);
    }
    if (!res.ok || json.ok !== true) throw new Error(`${step}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return json;
  };
  return sim;
}

// Runs one conformance scenario with a transcript; on failure the transcript goes to stderr.
export async function scenario(t, name, body) {
  const tr = new Transcript(name);
  setTranscript(tr);
  const cleanups = [];
  const onCleanup = (label, fn) => cleanups.push({ label, fn });
  let failure = null;
  try {
    await body({ tr, onCleanup });
  } catch (err) {
    failure = err;
  }
  for (const { label, fn } of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      tr.add('CLEAN', `${label} failed: ${describeValue(err)}`);
      if (!failure) failure = asError(`cleanup: ${label}`, err);
    }
  }
  const file = tr.save();
  setTranscript(null);
  if (failure) {
    process.stderr.write(tr.text());
    t.diagnostic(`transcript: ${file ?? '(not saved)'}`);
    throw failure;
  }
}

// Checks shared by both clients: what a real server puts into a streamed/returned message.

// DDP frames carry dates as EJSON {"$date":ms}; REST answers carry them as ISO-8601 strings
// (plain JSON serialisation of a Date), e.g. chat.sendMessage's message.ts.
export function assertDate(value, what, transport = 'ddp') {
  if (transport === 'rest') {
    assert.equal(typeof value, 'string', `${what} must be an ISO-8601 string over REST, got ${describeValue(value)}`);
    assert.match(value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `${what} must be ISO-8601 UTC`);
    assert.ok(Math.abs(Date.parse(value) - Date.now()) < 10 * 60_000, `${what} ${value} is not close to now`);
    return;
  }
  assert.ok(value && typeof value === 'object', `${what} must be an EJSON date object {"$date":ms}, got ${describeValue(value)}`);
  assert.equal(typeof value.$date, 'number', `${what}.$date must be a number of ms, got ${describeValue(value)}`);
  assert.ok(Math.abs(value.$date - Date.now()) < 10 * 60_000, `${what} ${value.$date} is not close to now (${Date.now()})`);
}

export function assertUser(u, user, what) {
  assert.ok(u && typeof u === 'object', `${what}.u must be an object, got ${describeValue(u)}`);
  assert.equal(u._id, user.id, `${what}.u._id`);
  assert.equal(u.username, user.username, `${what}.u.username`);
  assert.equal(u.name, user.name, `${what}.u.name`);
}

export function assertAliceMention(msg, posted, text) {
  const what = 'streamed message';
  assert.equal(typeof msg._id, 'string', `${what}._id`);
  if (posted) assert.equal(msg._id, posted._id, `${what}._id must be the id the control API returned`);
  assert.equal(msg.rid, GENERAL.id, `${what}.rid`);
  assert.equal(msg.msg, text, `${what}.msg`);
  assertUser(msg.u, ALICE, what);
  assertDate(msg.ts, `${what}.ts`);
  assertDate(msg._updatedAt, `${what}._updatedAt`);
  assert.ok(Array.isArray(msg.mentions), `${what}.mentions must be an array, got ${describeValue(msg.mentions)}`);
  const m = msg.mentions.find((x) => x && x._id === BOT.id);
  assert.ok(m, `${what}.mentions must contain the bot (${BOT.id}), got ${describeValue(msg.mentions)}`);
  assert.equal(m.username, BOT.username, `${what}.mentions[bot].username`);
  assert.equal(msg.t, undefined, `${what} is a user message: no "t" (system type) field`);
}

export function assertBotMessage(msg, text, what, transport) {
  assert.ok(msg && typeof msg === 'object', `${what} must be a message object, got ${describeValue(msg)}`);
  assert.equal(typeof msg._id, 'string', `${what}._id`);
  assert.ok(msg._id.length > 0, `${what}._id must not be empty`);
  assert.equal(msg.rid, GENERAL.id, `${what}.rid`);
  assert.equal(msg.msg, text, `${what}.msg`);
  assertUser(msg.u, BOT, what);
  assertDate(msg.ts, `${what}.ts`, transport);
}

// The control API's view of the room (what the server stored).
export async function assertStored(sim, id, text, username) {
  const { messages } = await sim.control('GET', `/_sim/messages?room=${GENERAL.name}`);
  assert.ok(Array.isArray(messages), `GET /_sim/messages must answer {"messages":[...]}, got ${describeValue(messages)}`);
  const stored = messages.find((m) => m && m._id === id);
  assert.ok(stored, `message ${id} is not stored in ${GENERAL.name}; stored ids: ${messages.map((m) => m && m._id).join(', ')}`);
  assert.equal(stored.msg, text, 'stored message text');
  assert.equal(stored.rid, GENERAL.id, 'stored message rid');
  assert.equal(stored.u?.username, username, 'stored message author');
  return { stored, index: messages.indexOf(stored), messages };
}
