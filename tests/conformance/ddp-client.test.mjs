// @rocket.chat/ddp-client (DDPSDK, the client the Rocket.Chat web app is moving to) against
// rcgate-sim: connect, log in (password digest, or resume with a personal access token),
// stream __my_messages__, receive a message alice posts, send one over REST, find it stored.

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

async function run(t, { flavour, login, greeting = false }) {
  const name = `ddp-client flavour ${flavour} ${login} login${greeting ? ' with greeting' : ''}`;
  await scenario(t, name, async ({ tr, onCleanup }) => {
    const sim = await startSim({ flavour, transcript: tr });
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
      assert.ok(expires > Date.now() + 24 * 3600_000, `tokenExpires must lie in the future (about 90 days), got ${sdk.account.user.tokenExpires}`);
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

    const text = '@camera-bot hello';
    const { message: posted } = await sim.control('POST', '/_sim/messages', {
      room: GENERAL.name,
      user: ALICE.username,
      text,
    });
    assert.equal(typeof posted?._id, 'string', 'control API must return the posted message');
    const got = await received.next(
      (e) => e.msg && e.msg._id === posted._id,
      T.event,
      `alice's message ${posted._id} on stream-room-messages/__my_messages__`,
    );
    assertAliceMention(got.msg, posted, text);
    assert.deepEqual(
      got.meta,
      { roomParticipant: true, roomType: GENERAL.type, roomName: GENERAL.name },
      '__my_messages__ args[1] (meta) for a channel the bot belongs to',
    );

    const reply = `conformance: ddp-client flavour ${flavour} ${login}`;
    const res = await restPost(
      sdk,
      '/v1/chat.sendMessage',
      { message: { rid: GENERAL.id, msg: reply } },
      'REST POST /api/v1/chat.sendMessage',
    );
    assert.equal(res.success, true, `chat.sendMessage must answer success:true, got ${JSON.stringify(res)}`);
    assertBotMessage(res.message, reply, 'chat.sendMessage result message');

    // Real servers stream the sender's own messages on __my_messages__ too.
    const echo = await received.next(
      (e) => e.msg && e.msg._id === res.message._id,
      T.event,
      `the bot's own message ${res.message._id} on __my_messages__`,
    );
    assertBotMessage(echo.msg, reply, 'streamed own message');
    assert.equal(echo.meta?.roomParticipant, true, 'own message meta.roomParticipant');

    const alice = await assertStored(sim, posted._id, text, ALICE.username);
    const mine = await assertStored(sim, res.message._id, reply, BOT.username);
    assert.ok(alice.index < mine.index, 'GET /_sim/messages lists oldest first');
  });
}

for (const flavour of FLAVOURS) {
  describe(`@rocket.chat/ddp-client DDPSDK vs rcgate-sim --flavour ${flavour}`, () => {
    test('password login, __my_messages__, REST chat.sendMessage', (t) => run(t, { flavour, login: 'password' }));
    test('personal access token login, __my_messages__, REST chat.sendMessage', (t) =>
      run(t, { flavour, login: 'token' }));
    test('server_id greeting before connected is tolerated', (t) =>
      run(t, { flavour, login: 'password', greeting: true }));
  });
}

// Guard against an empty run passing silently.
test('flavour list is not empty', () => {
  assert.ok(FLAVOURS.length > 0 && FLAVOURS.every((f) => [6, 7, 8].includes(f)), `bad CONFORMANCE_FLAVOURS: ${FLAVOURS}`);
});
