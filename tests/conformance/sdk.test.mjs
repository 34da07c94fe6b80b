// @rocket.chat/sdk (1.0.0-alpha.42, the Node bot SDK: Bot = DDP driver + REST api) against
// rcgate-sim: connect, log in (REST /api/v1/login, then DDP resume with the token it got),
// api.get('me'), reactToMessages on __my_messages__, receive a message alice posts, send one with
// sendToRoomId (REST chat.sendMessage), find it stored.
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

function transcriptLogger(tr) {
  const line = (level) => (...args) =>
    tr.add('SDK  ', `${level} ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  // debug carries every frame again (the ws tap records them already); keep the rest.
  return { debug() {}, info: line('info'), warn: line('warn'), warning: line('warn'), error: line('error') };
}

async function run(t, { flavour, greeting = false }) {
  const name = `sdk flavour ${flavour} password login${greeting ? ' with greeting' : ''}`;
  await scenario(t, name, async ({ tr, onCleanup }) => {
    const sim = await startSim({ flavour, transcript: tr });
    onCleanup('stop rcgate-sim', async () => {
      const r = await sim.stop();
      assert.ok(r.code === 0 && !r.hungOnSigterm, `rcgate-sim must exit 0 on SIGTERM, got ${JSON.stringify(r)}`);
    });
    if (greeting) await sim.control('POST', '/_sim/settings', { greeting: true });

    // host keeps its http:// scheme: the REST client prefixes it to /api/v1/...; the DDP driver
    // strips it and opens ws://HOST/websocket (wss:// with useSsl).
    const bot = new Bot({ host: sim.httpUrl, useSsl: false, logger: transcriptLogger(tr) });
    let connected = false;
    onCleanup('disconnect the bot', async () => {
      // The driver reconnects forever after an abnormal close; close it (code 1000) first.
      if (connected) await withTimeout(bot.disconnect(), T.stop, 'driver.disconnect (close handshake)');
    });

    await withTimeout(bot.connect({ host: sim.httpUrl, useSsl: false }), T.connect, 'driver.connect (waiting for {"msg":"connected"})');
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

    const me = await withTimeout(bot.get('me'), T.rest, 'api.get("me") (GET /api/v1/me with X-User-Id/X-Auth-Token)');
    assert.equal(me._id, BOT.id, '/api/v1/me _id');
    assert.equal(me.username, BOT.username, '/api/v1/me username');
    assert.equal(me.success, true, '/api/v1/me success');

    const received = new Mailbox();
    const errors = [];
    await withTimeout(
      bot.reactToMessages((err, msg) => (err ? errors.push(err) : received.push(msg))),
      T.subscribe,
      'driver.reactToMessages (sub stream-room-messages/__my_messages__, waiting for ready)',
    );

    const text = '@camera-bot hello';
    const { message: posted } = await sim.control('POST', '/_sim/messages', {
      room: GENERAL.name,
      user: ALICE.username,
      text,
    });
    assert.equal(typeof posted?._id, 'string', 'control API must return the posted message');
    const got = await received.next(
      (m) => m._id === posted._id,
      T.event,
      `alice's message ${posted._id} through reactToMessages`,
    );
    assertAliceMention(got, posted, text);

    const reply = `conformance: sdk flavour ${flavour}`;
    const sent = await withTimeout(
      bot.sendToRoomId(reply, GENERAL.id),
      T.rest,
      'driver.sendToRoomId (REST POST /api/v1/chat.sendMessage)',
    );
    assertBotMessage(sent, reply, 'chat.sendMessage result message');

    const echo = await received.next(
      (m) => m._id === sent._id,
      T.event,
      `the bot's own message ${sent._id} through reactToMessages`,
    );
    assertBotMessage(echo, reply, 'streamed own message');
    assert.deepEqual(errors, [], 'reactToMessages reported errors (events without a message _id)');

    const alice = await assertStored(sim, posted._id, text, ALICE.username);
    const mine = await assertStored(sim, sent._id, reply, BOT.username);
    assert.ok(alice.index < mine.index, 'GET /_sim/messages lists oldest first');
  });
}

for (const flavour of FLAVOURS) {
  describe(`@rocket.chat/sdk Bot vs rcgate-sim --flavour ${flavour}`, () => {
    test('REST login + DDP resume, api.get(me), reactToMessages, sendToRoomId', (t) => run(t, { flavour }));
    test('server_id greeting before connected is tolerated', (t) => run(t, { flavour, greeting: true }));
  });
}
