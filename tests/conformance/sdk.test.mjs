// @rocket.chat/sdk (1.0.0-alpha.42, the Node bot SDK: Bot = DDP driver + REST api) against
// rcgate-sim: connect, log in (REST /api/v1/login, then DDP resume with the token it got),
// api.get('me'), reactToMessages on __my_messages__, receive a message alice posts, send one with
// sendToRoomId (REST chat.sendMessage), find it stored; then server heartbeats and a dropped
// connection (the driver reopens, resumes and re-subscribes by itself).
//
// Not exercised on purpose: sendToRoom(name) asks GET /api/v1/chat.getRoomIdByNameOrId, an
// endpoint Rocket.Chat servers do not have, so it cannot work against a real server either.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sdk from '@rocket.chat/sdk';

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
  scenario,
  startSim,
  withTimeout,
} from './support.mjs';

const { Bot } = sdk;
const HEARTBEAT_MS = 400; // short enough to see several pings, long enough for a loaded CI machine
const REOPEN_MS = 200; // the driver's reconnect delay (default 10 s)

function transcriptLogger(tr) {
  const line = (level) => (...args) =>
    tr.add('SDK  ', `${level} ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  // debug carries every frame again (the ws tap records them already); keep the rest.
  return { debug() {}, info: line('info'), warn: line('warn'), warning: line('warn'), error: line('error') };
}

async function setUp({ tr, onCleanup }, { flavour, greeting = false, simArgs = [] }) {
  const sim = await startSim({ flavour, transcript: tr, extraArgs: simArgs });
  onCleanup('stop rcgate-sim', async () => {
    const r = await sim.stop();
    assert.ok(r.code === 0 && !r.hungOnSigterm, `rcgate-sim must exit 0 on SIGTERM, got ${JSON.stringify(r)}`);
  });
  if (greeting) await sim.control('POST', '/_sim/settings', { greeting: true });

  // host keeps its http:// scheme: the REST client prefixes it to /api/v1/...; the DDP driver
  // strips it and opens ws://HOST/websocket (wss:// with useSsl).
  const bot = new Bot({ host: sim.httpUrl, useSsl: false, reopen: REOPEN_MS, logger: transcriptLogger(tr) });
  const driver = await bot.socket;
  const frames = new Mailbox(); // every parsed inbound frame with a msg
  const closes = [];
  for (const msg of ['connected', 'result', 'ready', 'nosub', 'ping', 'pong', 'changed']) {
    driver.ddp.on(msg, (frame) => frames.push(frame));
  }
  driver.ddp.on('close', (e) => closes.push(e.code));
  let connected = false;
  onCleanup('disconnect the bot', async () => {
    // The driver reconnects forever after an abnormal close; close it (code 1000) first.
    if (connected) await withTimeout(bot.disconnect(), T.stop, 'driver.disconnect (close handshake)');
  });

  await withTimeout(
    bot.connect({ host: sim.httpUrl, useSsl: false }),
    T.connect,
    'driver.connect (waiting for {"msg":"connected"})',
  );
  connected = true;

  const login = await withTimeout(
    bot.login({ username: BOT.username, password: BOT.password }),
    T.login,
    'driver.login (REST POST /api/v1/login, then DDP login {resume})',
  );
  assert.equal(bot.userId, BOT.id, '/api/v1/login data.userId');
  assert.equal(bot.currentLogin?.username, BOT.username, '/api/v1/login data.me.username');
  assert.equal(typeof bot.currentLogin?.authToken, 'string', '/api/v1/login data.authToken');
  assert.ok(login && typeof login === 'object', `DDP resume login must return a result object, got ${JSON.stringify(login)}`);
  assert.equal(login.id, BOT.id, 'DDP resume login result id');
  assert.equal(login.token, bot.currentLogin.authToken, 'a DDP resume login returns the token it was given');
  assert.equal(login.type, 'resume', 'DDP resume login result type');

  const received = new Mailbox();
  const errors = [];
  await withTimeout(
    bot.reactToMessages((err, msg) => (err ? errors.push(err) : received.push(msg))),
    T.subscribe,
    'driver.reactToMessages (sub stream-room-messages/__my_messages__, waiting for ready)',
  );

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
      (m) => m._id === posted._id,
      T.event,
      `${step}: alice's message ${posted._id} through reactToMessages`,
    );
    assertAliceMention(got, posted, text);
    assert.deepEqual(errors, [], 'reactToMessages reported errors (events without a message _id)');
    return { posted, text };
  };
  return { sim, bot, driver, frames, closes, received, errors, expectAlice };
}

async function runBasic(t, { flavour, greeting = false }) {
  await scenario(t, `sdk flavour ${flavour} password login${greeting ? ' with greeting' : ''}`, async (ctx) => {
    const { sim, bot, received, errors, expectAlice } = await setUp(ctx, { flavour, greeting });

    const me = await withTimeout(bot.get('me'), T.rest, 'api.get("me") (GET /api/v1/me with X-User-Id/X-Auth-Token)');
    assert.equal(me._id, BOT.id, '/api/v1/me _id');
    assert.equal(me.username, BOT.username, '/api/v1/me username');
    assert.equal(me.success, true, '/api/v1/me success');

    const { posted, text } = await expectAlice('after login');

    const reply = `conformance: sdk flavour ${flavour}`;
    const sent = await withTimeout(
      bot.sendToRoomId(reply, GENERAL.id),
      T.rest,
      'driver.sendToRoomId (REST POST /api/v1/chat.sendMessage)',
    );
    assertBotMessage(sent, reply, 'chat.sendMessage result message', 'rest');

    const echo = await received.next(
      (m) => m._id === sent._id,
      T.event,
      `the bot's own message ${sent._id} through reactToMessages`,
    );
    assertBotMessage(echo, reply, 'streamed own message', 'ddp');
    assert.deepEqual(errors, [], 'reactToMessages reported errors (events without a message _id)');

    const alice = await assertStored(sim, posted._id, text, ALICE.username);
    const mine = await assertStored(sim, sent._id, reply, BOT.username);
    assert.ok(alice.index < mine.index, 'GET /_sim/messages lists oldest first');
  });
}

// The driver answers a server {"msg":"ping"} with a bare {"msg":"pong"} (it never echoes an
// id): an idle but answering client must stay connected.
async function runHeartbeat(t, { flavour }) {
  await scenario(t, `sdk flavour ${flavour} heartbeat`, async (ctx) => {
    const { frames, closes, expectAlice } = await setUp(ctx, {
      flavour,
      simArgs: ['--heartbeat-ms', String(HEARTBEAT_MS)],
    });
    const idle = HEARTBEAT_MS * 6;
    await new Promise((r) => setTimeout(r, idle));
    const pings = frames.items.filter((f) => f.msg === 'ping').length;
    assert.ok(pings >= 2, `rcgate-sim --heartbeat-ms ${HEARTBEAT_MS} sent ${pings} pings in ${idle} ms of client silence`);
    assert.deepEqual(closes, [], 'the connection closed although the client answered every ping');
    await expectAlice('after idling through server pings');
  });
}

// After a dropped TCP connection the driver reopens (after `reopen` ms), logs in again with
// {resume: <token>} and sends its subscriptions again; reactToMessages must keep working.
async function runReconnect(t, { flavour }) {
  await scenario(t, `sdk flavour ${flavour} reconnect`, async (ctx) => {
    const { sim, bot, frames, closes, expectAlice } = await setUp(ctx, { flavour });
    await expectAlice('before the drop');
    const mark = frames.mark();

    const { dropped } = await sim.control('POST', '/_sim/connections/drop');
    assert.ok(dropped >= 1, `POST /_sim/connections/drop dropped ${dropped} connections`);

    await frames.next((f) => f.msg === 'connected', REOPEN_MS + T.connect, 'connected on the reopened socket', mark);
    const resumed = await frames.next(
      (f) => f.msg === 'result' && f.result && f.result.type === 'resume',
      T.login,
      'resume login on the reopened socket',
      mark,
    );
    assert.equal(resumed.result.token, bot.currentLogin.authToken, 'the driver resumes with its REST login token');
    await frames.next((f) => f.msg === 'ready', T.subscribe, 'ready for the re-sent __my_messages__ subscription', mark);
    assert.ok(closes.length >= 1, 'the driver never saw the connection drop');
    await expectAlice('after the reconnect');
  });
}

for (const flavour of FLAVOURS) {
  describe(`@rocket.chat/sdk Bot vs rcgate-sim --flavour ${flavour}`, () => {
    test('REST login + DDP resume, api.get(me), reactToMessages, sendToRoomId', (t) => runBasic(t, { flavour }));
    test('server_id greeting before connected is tolerated', (t) => runBasic(t, { flavour, greeting: true }));
    test('server heartbeat pings are answered and the idle connection stays up', (t) => runHeartbeat(t, { flavour }));
    test('dropped connection: reopen, resume login, re-subscribe', (t) => runReconnect(t, { flavour }));
  });
}
