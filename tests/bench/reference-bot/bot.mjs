// The benchmark's reference bot: what a household would write on @rocket.chat/sdk (the library
// hubot-rocketchat uses) to do rcgate's job in the benchmark — count every message it reads and
// answer a mention with a fixed reply. It uses the SDK's lean path (reactToMessages, one DDP
// subscription on __my_messages__, replies by sendToRoomId = REST chat.sendMessage), not
// respondToMessages, which asks GET rooms.info for every message and would make the comparison
// unfair to the SDK.
//
//   node bot.mjs --url http://127.0.0.1:PORT --user camera-bot --password PW
//                [--keyword ping --reply pong] [--count-file FILE]
//
// Prints "ready" once logged in and subscribed. Every 100 ms, and on SIGTERM, writes
// {"messages":N,"mentions":M,"replies":R,"errors":E} to --count-file (FILE.tmp then rename), so
// the benchmark reads the bot's own count without asking it anything.
import fs from 'node:fs';
import sdk from '@rocket.chat/sdk';

const { Bot } = sdk;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (fallback === undefined) {
      console.error(`reference-bot: --${name} is required`);
      process.exit(64);
    }
    return fallback;
  }
  return process.argv[i + 1];
}

const url = arg('url');
const username = arg('user');
const password = arg('password');
const keyword = arg('keyword', 'ping').toLowerCase();
const replyText = arg('reply', 'pong');
const countFile = arg('count-file', '');

const counts = { messages: 0, mentions: 0, replies: 0, errors: 0 };
const quiet = { debug() {}, info() {}, warn: console.warn, warning: console.warn, error: console.error };

function writeCounts() {
  if (!countFile) return;
  fs.writeFileSync(`${countFile}.tmp`, JSON.stringify(counts));
  fs.renameSync(`${countFile}.tmp`, countFile);
}

const bot = new Bot({ host: url, useSsl: false, logger: quiet });
await bot.socket;
await bot.connect({ host: url, useSsl: false });
await bot.login({ username, password });
const me = bot.userId;
const mention = `@${username}`;

await bot.reactToMessages((err, message) => {
  if (err) {
    counts.errors += 1;
    return;
  }
  counts.messages += 1;
  if (!message.u || message.u._id === me || message.editedAt || message.t) return;
  const mentioned = Array.isArray(message.mentions)
    ? message.mentions.some((m) => m && m.username === username)
    : String(message.msg || '').includes(mention);
  if (!mentioned) return;
  counts.mentions += 1;
  if (!String(message.msg || '').toLowerCase().includes(keyword)) return;
  bot.sendToRoomId(replyText, message.rid).then(
    () => { counts.replies += 1; },
    (e) => { counts.errors += 1; console.error(`reference-bot: reply failed: ${e.message}`); },
  );
});
console.log('ready');
writeCounts();
setInterval(writeCounts, 100).unref();

const stop = async () => {
  writeCounts();
  try {
    await bot.disconnect();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
