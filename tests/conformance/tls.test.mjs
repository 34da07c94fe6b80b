// Both clients over https:// + wss:// against rcgate-sim --tls-port, trusting only the
// certificate the simulator wrote to --cert-out (certificate checks stay on). The flow runs in
// a child process (tls-client.mjs) because Node reads NODE_EXTRA_CA_CERTS only at start-up.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import { ALICE, BOT, FLAVOURS, assertStored, scenario, startSim } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD_MS = 30_000;

function runChild(tr, args, env) {
  return new Promise((resolve) => {
    tr.add('CHILD', `node ${args.join(' ')}`);
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings=ExperimentalWarning', ...args], {
      cwd: here,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      tr.add('CHILD', `no exit within ${CHILD_MS} ms: SIGKILL pid ${child.pid}`);
      process.kill(child.pid, 'SIGKILL');
    }, CHILD_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      for (const line of out.split('\n')) if (line) tr.add('CHILD', line);
      for (const line of err.split('\n')) if (line) tr.add('CHLD2', line);
      const last = out.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ code, signal, result: last ? JSON.parse(last.slice(7)) : null });
    });
  });
}

const flavour = FLAVOURS[FLAVOURS.length - 1];

describe(`TLS (https + wss) vs rcgate-sim --tls-port --flavour ${flavour}`, () => {
  for (const [client, host] of [
    ['ddp-client', 'localhost'], // certificate name (DNS SAN)
    ['sdk', '127.0.0.1'], // certificate address (IP SAN)
  ]) {
    test(`${client} connects, logs in, streams and sends over TLS to ${host}`, (t) =>
      scenario(t, `tls ${client}`, async ({ tr, onCleanup }) => {
        const certFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rcgate-conformance-cert-')), 'sim-cert.pem');
        const sim = await startSim({ flavour, transcript: tr, extraArgs: ['--tls-port', '0', '--cert-out', certFile] });
        onCleanup('stop rcgate-sim', async () => {
          const r = await sim.stop();
          assert.ok(r.code === 0 && !r.hungOnSigterm, `rcgate-sim must exit 0 on SIGTERM, got ${JSON.stringify(r)}`);
        });
        assert.ok(Number.isInteger(sim.ports.https) && sim.ports.https > 0, `ports file must give the https port: ${JSON.stringify(sim.ports)}`);
        assert.equal(sim.ports.cert_file, certFile, 'ports file cert_file must name the --cert-out file');
        const pem = fs.readFileSync(certFile, 'utf8');
        assert.match(pem, /-----BEGIN CERTIFICATE-----/, `${certFile} must hold a PEM certificate`);
        assert.doesNotMatch(pem, /PRIVATE KEY/, 'the certificate file handed to clients must not contain the private key');

        const { code, signal, result } = await runChild(
          tr,
          ['tls-client.mjs', client, `https://${host}:${sim.ports.https}`, sim.httpUrl],
          { NODE_EXTRA_CA_CERTS: certFile },
        );
        assert.ok(result, `tls-client.mjs printed no RESULT (exit code=${code} signal=${signal})`);
        assert.equal(result.ok, true, `${client} over TLS failed: ${result.error}`);
        assert.equal(code, 0);
        await assertStored(sim, result.aliceId, '@camera-bot hello over TLS', ALICE.username);
        await assertStored(sim, result.sentId, result.text, BOT.username);
      }),
    );
  }
});
