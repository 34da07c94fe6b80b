// Child process of tls.test.mjs. Node reads NODE_EXTRA_CA_CERTS only at start-up, and the
// simulator's self-signed certificate exists only once it runs, so the clients that must trust
// it run here, in a process started with that variable set.
//
// usage: node --experimental-websocket tls-client.mjs ddp-client|sdk HTTPS_URL CONTROL_URL
// Prints the transcript, then one line "RESULT {...}"; exits 0 only if the whole flow worked.

import { DDPSDK } from '@rocket.chat/ddp-client';
import sdk from '@rocket.chat/sdk';

import {
  ALICE,
  BOT,
  GENERAL,
  Mailbox,
  T,
  Transcript,
  loggingWebSocketClass,
  setTranscript,
  sha256hex,
  withTimeout,
} from './support.mjs';

const [client, httpsUrl, controlUrl] = process.argv.slice(2);
const tr = new Transcript(`tls ${client}`);
setTranscript(tr);

async function control(method, urlPath, body) {
  const res = await withTimeout(
    fetch(`${controlUrl}${urlPath}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }),
    T.rest,
    `control API ${method} ${urlPath}`,
  );
  const json = await res.json();
  if (!res.ok || json.ok !== true) throw new Error(`control API ${method} ${urlPath}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function postAlice(received, pick) {
  const text = '@camera-bot hello over TLS';
  const { message: posted } = await control('POST', '/_sim/messages', {
    room: GENERAL.name,
    user: ALICE.username,
    text,
  });
  const got = await received.next((m) => pick(m)?._id === posted._id, T.event, `alice's message ${posted._id} over wss`);
  if (pick(got).msg !== text) throw new Error(`streamed text ${JSON.stringify(pick(got).msg)} != ${JSON.stringify(text)}`);
  return posted._id;
}

async function runDdpClient() {
  const original = globalThis.WebSocket;
  globalThis.WebSocket = loggingWebSocketClass();
  let api;
  try {
    api = DDPSDK.create(httpsUrl); // https:// => wss://HOST/websocket and https://HOST/api
  } finally {
    globalThis.WebSocket = original;
  }
  try {
    await withTimeout(api.connection.connect(), T.connect, 'DDP connect over wss');
    await withTimeout(
      api.account.loginWithPassword(BOT.username, sha256hex(BOT.password)),
      T.login,
      'DDP password login over wss',
    );
    const received = new Mailbox();
    const sub = api.stream('room-messages', '__my_messages__', (msg) => received.push(msg));
    await withTimeout(sub.ready(), T.subscribe, '__my_messages__ ready over wss');
    const aliceId = await postAlice(received, (m) => m);
    const text = 'conformance: ddp-client over TLS';
    const res = await withTimeout(
      api.rest.post('/v1/chat.sendMessage', { message: { rid: GENERAL.id, msg: text } }).catch(async (r) => {
        throw new Error(r instanceof Response ? `HTTP ${r.status} ${await r.text()}` : String(r));
      }),
      T.rest,
      'REST POST https://.../api/v1/chat.sendMessage',
    );
    sub.stop();
    return { aliceId, sentId: res.message?._id, text };
  } finally {
    api.connection.close();
    api.timeoutControl.stop();
  }
}

async function runSdk() {
  const logger = { debug() {}, info() {}, warn() {}, warning() {}, error: (...a) => tr.add('SDK  ', `error ${a.join(' ')}`) };
  const bot = new sdk.Bot({ host: httpsUrl, useSsl: true, logger });
  let connected = false;
  try {
    await withTimeout(bot.connect({}), T.connect, 'driver.connect over wss');
    connected = true;
    await withTimeout(
      bot.login({ username: BOT.username, password: BOT.password }),
      T.login,
      'driver.login over https + wss',
    );
    const received = new Mailbox();
    await withTimeout(
      bot.reactToMessages((err, msg) => !err && received.push(msg)),
      T.subscribe,
      'reactToMessages over wss',
    );
    const aliceId = await postAlice(received, (m) => m);
    const text = 'conformance: sdk over TLS';
    const sent = await withTimeout(bot.sendToRoomId(text, GENERAL.id), T.rest, 'sendToRoomId over https');
    return { aliceId, sentId: sent?._id, text };
  } finally {
    if (connected) await withTimeout(bot.disconnect(), T.stop, 'driver.disconnect').catch((e) => tr.add('ERR  ', e.message));
  }
}

let result;
let code = 0;
try {
  result = client === 'sdk' ? await runSdk() : await runDdpClient();
  result.ok = true;
} catch (err) {
  result = { ok: false, error: err.message };
  code = 1;
}
process.stdout.write(tr.text());
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(code);
