// Rogue guest (scenario e): speaks the memresize protocol (docs/protocol.md) on the
// org.memresize.0 port, then floods it with resize requests for far more than any VM may
// have, garbage and an oversized line. Prints one summary line, `rogue {json}`:
// what it sent, the acks by outcome, the largest grant, and whether the host hung up.
//   node rogue.mjs [targetGiB=100] [maxLines=20000] [seconds=15]
//   node rogue.mjs hello        just the handshake: is the agent still serving?
import { Buffer } from 'node:buffer';
import { closeSync, constants, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';

const helloOnly = process.argv[2] === 'hello';
const [targetGiB = 100, maxLines = 20000, seconds = 15] = helloOnly ? [] : process.argv.slice(2).map(Number);
const name = 'org.memresize.0';
const portName = (p) => {
  try {
    return readFileSync(`/sys/class/virtio-ports/${p}/name`, 'utf8').trim();
  } catch {
    return ''; // a console port (hvc) has no name
  }
};
const vport = readdirSync('/sys/class/virtio-ports').find((p) => portName(p) === name);
if (!vport) throw new Error(`no virtio port named ${name}`);
// Non-blocking: a blocking read on a virtio-serial port keeps Node from ever exiting.
const fd = openSync(`/dev/${vport}`, constants.O_RDWR | constants.O_NONBLOCK);

const s = { sent: 0, writeErrors: 0, acks: {}, errors: 0, welcome: false, maxGranted: 0, disconnected: false, hangupBy: '' };
let buf = '';
let sawData = false;
const rbuf = Buffer.alloc(65536);

function pump() {
  for (;;) {
    let n;
    try {
      n = readSync(fd, rbuf, 0, rbuf.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') return;
      s.disconnected = true;
      s.hangupBy = `read ${e.code}`;
      return;
    }
    // EOF on a virtio-serial port: no host end connected (any more).
    if (n === 0) {
      if (sawData) {
        s.disconnected = true;
        s.hangupBy = 'read EOF';
      }
      return;
    }
    sawData = true;
    buf += rbuf.toString('utf8', 0, n);
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        continue;
      }
      if (m.type === 'welcome') s.welcome = true;
      else if (m.type === 'error') s.errors++;
      else if (m.type === 'ack') {
        s.acks[m.outcome] = (s.acks[m.outcome] ?? 0) + 1;
        s.maxGranted = Math.max(s.maxGranted, m.grantedBytes ?? 0);
      }
    }
  }
}

function send(line) {
  try {
    writeSync(fd, `${line}\n`);
    s.sent++;
    return true;
  } catch (e) {
    s.writeErrors++;
    if (e.code !== 'EAGAIN') {
      s.disconnected = true;
      s.hangupBy = `write ${e.code}`;
    }
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
// The agent may not be connected yet (the port then drops what we write): repeat the hello.
const hello = JSON.stringify({ type: 'hello', versions: [1], idPrefix: 'rogue', software: 'e2e-rogue' });
let lastHello = 0;
while (!s.welcome && Date.now() - t0 < 30_000) {
  if (Date.now() - lastHello > 2000) {
    send(hello);
    lastHello = Date.now();
  }
  pump();
  await sleep(20);
}
if (!helloOnly) {
  const target = targetGiB * 1024 ** 3;
  let i = 0;
  while (i < maxLines && !s.disconnected && Date.now() - t0 < seconds * 1000) {
    const k = i % 50;
    const line =
      k === 13 ? 'this is not json {' :
      k === 29 ? JSON.stringify({ type: 'resize', id: `big${i}`, kind: 'grow', targetBytes: target, reason: 'x'.repeat(70 * 1024) }) :
      k === 41 ? JSON.stringify({ type: 'no-such-type', id: `u${i}` }) :
      JSON.stringify({ type: 'resize', id: `r${i}`, kind: 'grow', targetBytes: target, reason: 'rogue' });
    if (send(line)) i++;
    else await sleep(5);
    if (i % 100 === 0) {
      pump();
      await sleep(1);
    }
  }
  // Let the host answer (or hang up) what is in flight.
  const until = Date.now() + 3000;
  while (Date.now() < until && !s.disconnected) {
    pump();
    await sleep(50);
  }
}
closeSync(fd);
console.log(`rogue ${JSON.stringify(s)}`);
