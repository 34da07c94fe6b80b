// @rocket.chat/ddp-client (DDPSDK, the client the Rocket.Chat web app is moving to) against
// rcgate-sim: connect, log in (password digest, or resume with a personal access token),
// stream __my_messages__, receive a message alice posts, send one over REST, find it stored;
// then the connection-level behaviours the client relies on: server heartbeats and a dropped
// connection (the SDK reconnects, resumes its login token and re-subscribes by itself).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DDPSDK } from '@rocket.chat/ddp-client';

import {
  ALICE,
  BOT,
  FLAVOURS,
  GENERAL,
  Mailbox,
  T,
  assertAliceMention,
  assertBotMessage,
  assertStored,
  loggingWebSocketClass,
  scenario,
  sha256hex,
  startSim,
  withTimeout,
} from './support.mjs';

const HEARTBEAT_MS = 400; // short enough to see several pings, long enough for a loaded CI machine

function createSdk(url) {
  // DDPSDK.create picks up the global WebSocket when called; hand it one that records frames.
  const original = globalThis.WebSocket;
  globalThis.WebSocket = loggingWebSocketClass();
  try {
    return DDPSDK.create(url);
  } finally {
    globalThis.WebSocket = original;
  }
}

// sdk.rest rejects with the fetch Response on HTTP errors: read its body for the message.
function restPost(sdk, endpoint, body, step) {
  const call = sdk.rest.post(endpoint, body).catch(async (res) => {
    if (res instanceof Response) throw new Error(`HTTP ${res.status} ${await res.text().catch(() => '')}`);
    throw res;
  });
  return withTimeout(call, T.rest, step);
}

// Starts a sim, connects, logs in, subscribes to __my_messages__. Returns what the scenarios need.
async function setUp({ tr, onCleanup }, { flavour, login, greeting = false, simArgs = [] }) {
  const sim = await startSim({ flavour, transcript: tr, extraArgs: simArgs });
  onCleanup('stop rcgate-sim', async () => {
    const r = await sim.stop();
    assert.ok(r.code === 0 && !r.hungOnSigterm, `rcgate-sim must exit 0 on SIGTERM, got ${JSON.stringify(r)}`);
  });
  if (greeting) await sim.control('POST', '/_sim/settings', { greeting: true });

  // The REST client derives /api/... from this URL; the DDP connection uses ws://HOST/websocket.
  const sdk = createSdk(sim.httpUrl);
  onCleanup('close the DDP connection', () => {
    sdk.connection.close();
    sdk.timeoutControl.stop();
  });
  const frames = new Mailbox(); // every parsed inbound frame
  sdk.client.ddp.onMessage((frame) => frames.push(frame));
  let disconnects = 0;
  sdk.connection.on('disconnected', () => {
    disconnects += 1;
  });

  await withTimeout(sdk.connection.connect(), T.connect, 'DDP connect (waiting for {"msg":"connected"})');
  assert.equal(sdk.connection.status, 'connected');
  assert.equal(typeof sdk.connection.session, 'string', 'connected frame must carry a "session" string');
  assert.ok(sdk.connection.session.length > 0, 'connected.session must not be empty');

  if (login === 'password') {
    // The web client sends the SHA-256 hex digest of the password, never the password itself.
    await withTimeout(
      sdk.account.loginWithPassword(BOT.username, sha256hex(BOT.password)),
      T.login,
      'DDP login with {user:{username}, password:{digest, algorithm:"sha-256"}}',
    );
    assert.equal(sdk.account.uid, BOT.id, 'login result id');
    assert.equal(typeof sdk.account.user.token, 'string', 'login result token');
    assert.ok(sdk.account.user.token.length >= 20, `login token too short: ${sdk.account.user.token.length}`);
    assert.notEqual(sdk.account.user.token, BOT.pat, 'a password login must mint a new token, not return the PAT');
    const expires = sdk.account.user.tokenExpires.getTime();
    assert.ok(
      expires > Date.now() + 24 * 3600_000,
      `tokenExpires must lie in the future (about 90 days), got ${sdk.account.user.tokenExpires}`,
    );
  } else {
    // DDPSDK destructures result.tokenExpires.$date: a result without tokenExpires makes
    // loginWithToken throw even though the server accepted the token. The Meteor monolith
    // always includes tokenExpires (accounts-base _loginUser); for a PAT, whose token record
    // has no "when", it serialises as {"$date":null}.
    const result = await withTimeout(
      sdk.account.loginWithToken(BOT.pat),
      T.login,
      'DDP login with {resume: <personal access token>}',
    );
    assert.equal(result.id, BOT.id, 'resume login result id');
    assert.equal(result.token, BOT.pat, 'a resume login returns the token it was given');
    assert.equal(result.type, 'resume', 'resume login result type');
    assert.equal(sdk.account.uid, BOT.id);
  }

  const received = new Mailbox();
  const sub = sdk.stream('room-messages', '__my_messages__', (msg, meta) => received.push({ msg, meta }));
  onCleanup('stop the __my_messages__ subscription', () => sub.stop());
  await withTimeout(sub.ready(), T.subscribe, 'subscription stream-room-messages/__my_messages__ ready');

  // alice posts through the control API; the bot must get it on its stream.
  let posts = 0;
  const expectAlice = async (step) => {
    posts += 1;
    const text = `@camera-bot hello ${posts}`;
    const { message: posted } = await sim.control('POST', '/_sim/messages', {
      room: GENERAL.name,
      user: ALICE.username,
      text,
    });
    assert.equal(typeof posted?._id, 'string', 'control API must return the posted message');
    const got = await received.next(
      (e) => e.msg && e.msg._id === posted._id,
      T.event,
      `${step}: alice's message ${posted._id} on stream-room-messages/__my_messages__`,
    );
    assertAliceMention(got.msg, posted, text);
    assert.deepEqual(
      got.meta,
      { roomParticipant: true, roomType: GENERAL.type, roomName: GENERAL.name },
      '__my_messages__ args[1] (meta) for a channel the bot belongs to',
    );
    return { posted, text };
  };

  return { sim, sdk, sub, frames, received, expectAlice, disconnects: () => disconnects };
}

async function runBasic(t, { flavour, login, greeting = false }) {
  const name = `ddp-client flavour ${flavour} ${login} login${greeting ? ' with greeting' : ''}`;
  await scenario(t, name, async (ctx) => {
    const { sim, sdk, received, expectAlice } = await setUp(ctx, { flavour, login, greeting });
    const { posted, text } = await expectAlice('after login');

    const reply = `conformance: ddp-client flavour ${flavour} ${login}`;
    const res = await restPost(
      sdk,
      '/v1/chat.sendMessage',
      { message: { rid: GENERAL.id, msg: reply } },
      'REST POST /api/v1/chat.sendMessage',
    );
    assert.equal(res.success, true, `chat.sendMessage must answer success:true, got ${JSON.stringify(res)}`);
    assertBotMessage(res.message, reply, 'chat.sendMessage result message', 'rest');

    // Real servers stream the sender's own messages on __my_messages__ too.
    const echo = await received.next(
      (e) => e.msg && e.msg._id === res.message._id,
      T.event,
      `the bot's own message ${res.message._id} on __my_messages__`,
    );
    assertBotMessage(echo.msg, reply, 'streamed own message', 'ddp');
    assert.equal(echo.meta?.roomParticipant, true, 'own message meta.roomParticipant');

    const alice = await assertStored(sim, posted._id, text, ALICE.username);
    const mine = await assertStored(sim, res.message._id, reply, BOT.username);
    assert.ok(alice.index < mine.index, 'GET /_sim/messages lists oldest first');
  });
}

// Meteor pings an idle client ({"msg":"ping"}) and counts any frame as proof of life; DDPSDK
// answers with {"msg":"pong"}. An idle but answering client must stay connected.
async function runHeartbeat(t, { flavour }) {
  await scenario(t, `ddp-client flavour ${flavour} heartbeat`, async (ctx) => {
    const { frames, expectAlice, disconnects } = await setUp(ctx, {
      flavour,
      login: 'password',
      simArgs: ['--heartbeat-ms', String(HEARTBEAT_MS)],
    });
    const idle = HEARTBEAT_MS * 6;
    await new Promise((r) => setTimeout(r, idle));
    const pings = frames.items.filter((f) => f.msg === 'ping').length;
    assert.ok(pings >= 2, `rcgate-sim --heartbeat-ms ${HEARTBEAT_MS} sent ${pings} pings in ${idle} ms of client silence`);
    assert.equal(disconnects(), 0, 'the connection closed although the client answered every ping');
    await expectAlice('after idling through server pings');
  });
}

// After a dropped TCP connection DDPSDK reconnects once (100 ms later), sends {resume:<token>}
// and re-sends its subscriptions with the same ids; the stream must work again.
async function runReconnect(t, { flavour }) {
  await scenario(t, `ddp-client flavour ${flavour} reconnect`, async (ctx) => {
    const { sim, sdk, sub, frames, expectAlice, disconnects } = await setUp(ctx, { flavour, login: 'password' });
    await expectAlice('before the drop');
    const token = sdk.account.user.token;
    const mark = frames.mark();

    const { dropped } = await sim.control('POST', '/_sim/connections/drop');
    assert.ok(dropped >= 1, `POST /_sim/connections/drop dropped ${dropped} connections`);

    const resumed = await frames.next(
      (f) => f.msg === 'result' && f.result && f.result.type === 'resume',
      T.connect + T.login,
      'resume login after the dropped connection',
      mark,
    );
    assert.equal(resumed.result.token, token, 'the client resumes with the token of its password login');
    assert.equal(resumed.result.id, BOT.id);
    await frames.next(
      (f) => f.msg === 'ready' && f.subs.includes(sub.id),
      T.subscribe,
      `ready for the re-sent subscription ${sub.id} on the new connection`,
      mark,
    );
    assert.ok(disconnects() >= 1, 'the client never saw the connection drop');
    assert.equal(sdk.connection.status, 'connected');
    await expectAlice('after the reconnect');
  });
}

for (const flavour of FLAVOURS) {
  describe(`@rocket.chat/ddp-client DDPSDK vs rcgate-sim --flavour ${flavour}`, () => {
    test('password login, __my_messages__, REST chat.sendMessage', (t) => runBasic(t, { flavour, login: 'password' }));
    test('personal access token login, __my_messages__, REST chat.sendMessage', (t) =>
      runBasic(t, { flavour, login: 'token' }));
    test('server_id greeting before connected is tolerated', (t) =>
      runBasic(t, { flavour, login: 'password', greeting: true }));
    test('server heartbeat pings are answered and the idle connection stays up', (t) => runHeartbeat(t, { flavour }));
    test('dropped connection: reconnect, resume login, re-subscribe', (t) => runReconnect(t, { flavour }));
  });
}

// Guard against an empty run passing silently.
test('flavour list is not empty', () => {
  assert.ok(FLAVOURS.length > 0 && FLAVOURS.every((f) => [6, 7, 8].includes(f)), `bad CONFORMANCE_FLAVOURS: ${FLAVOURS}`);
});
