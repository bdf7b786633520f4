#!/usr/bin/env node
// An IMAP4rev1 server for sparekey's integration tests (RFC 3501, SASL-IR
// RFC 4959), plain TCP on 127.0.0.1, that opens its one mailbox, INBOX
// holding one message, only after AUTHENTICATE XOAUTH2 with an access token
// the test provider accepts (resource.mjs), the way Gmail and Microsoft 365
// do. Enough of IMAP for isync's mbsync to pull INBOX into a Maildir:
// CAPABILITY, AUTHENTICATE XOAUTH2, LIST, SELECT/EXAMINE, UID SEARCH,
// UID FETCH, FETCH, NOOP, CLOSE, LOGOUT. Read only: STORE, APPEND, COPY
// and EXPUNGE are refused. No STARTTLS (mbsync runs with TLSType None on
// loopback), no literals from the client.
//
// Usage: node imap.mjs --issuer URL [--port N] [--port-file FILE] [--log FILE]
//                      [--refusal gmail|microsoft]
//   AUTHENTICATE XOAUTH2 takes base64("user=U\x01auth=Bearer TOKEN\x01\x01"),
//   as the initial response (SASL-IR) or after "+ ". A refused token gets
//   --refusal gmail (the default): Gmail's answer, "+ " with a base64 JSON
//     error, then "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
//     once the client sends its (empty) line. mbsync 1.4.4 never sends that
//     line: it gives up ("IMAP wants more steps despite successful SASL
//     authentication") and waits for the tagged answer for ever;
//   --refusal microsoft: Microsoft 365's answer, "NO AUTHENTICATE failed."
//     at once.
//   Anything but CAPABILITY, NOOP and LOGOUT before a successful
//   AUTHENTICATE: NO.
//   --log FILE  JSON lines: {ts, event: auth, user, auth: accepted|refused|
//               malformed} and {ts, event: fetch, user, uid, body: bool}
//               (body: the message's text was sent); never a token.
import net from 'node:net';
import process from 'node:process';

import {
  GMAIL_XOAUTH2_ERROR, commandLines, jsonLog, peerArgs, providerAccepts, xoauth2,
} from './resource.mjs';
import { serveLoopback } from './serve.mjs';

const NAME = 'imap.mjs';
const opt = peerArgs(NAME, process.argv.slice(2), { '--refusal': 'refusal' });
opt.refusal ||= 'gmail';
if (!opt.issuer || !['gmail', 'microsoft'].includes(opt.refusal)) {
  process.stderr.write(`${NAME}: --issuer is required; --refusal is gmail or microsoft\n`);
  process.exit(64);
}
const log = jsonLog(opt.log);
const CAPS = 'IMAP4rev1 AUTH=XOAUTH2 SASL-IR';
const UIDVALIDITY = 1733356800;

// INBOX: one message, UID 1.
const MESSAGE = Buffer.from([
  'From: bob@example.test',
  'To: alice@example.test',
  'Subject: sparekey imap test',
  'Date: Sat, 05 Dec 2026 00:00:00 +0000',
  'Message-ID: <inbox-1@imap.sparekey.test>',
  '',
  'Fetched by mbsync with a token from sparekey.',
  '',
].join('\r\n'), 'latin1');
const MSGS = [{ uid: 1, flags: [], date: '05-Dec-2026 00:00:00 +0000', text: MESSAGE }];

// A sequence set ("1", "1:*", "2,4:6") as a predicate on n, * being max.
function inSet(set, max) {
  const ranges = set.split(',').map((r) => {
    const [a, b = a] = r.split(':').map((x) => (x === '*' ? max : Number(x)));
    return [Math.min(a, b), Math.max(a, b)];
  });
  if (ranges.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b))) return null;
  return (n) => ranges.some(([a, b]) => n >= a && n <= b);
}

// The header fields of text named in names (upper case), as a buffer.
function headerFields(text, names, not) {
  const head = text.toString('latin1').split('\r\n\r\n')[0];
  const fields = head.split(/\r\n(?![ \t])/).filter((f) => {
    const has = names.includes(f.split(':')[0].trim().toUpperCase());
    return not ? !has : has;
  });
  return Buffer.from(fields.map((f) => `${f}\r\n`).join('') + '\r\n', 'latin1');
}

// The FETCH attribute list "(A B BODY.PEEK[HEADER.FIELDS (X Y)])" as items.
function fetchItems(spec) {
  const s = spec.replace(/^\((.*)\)$/, '$1');
  const items = [];
  const re = /(BODY(?:\.PEEK)?\[[^\]]*\](?:<\d+\.\d+>)?|[A-Z0-9.]+)/gi;
  let m;
  while ((m = re.exec(s))) items.push(m[1].toUpperCase());
  return items;
}

function session(sock) {
  const s = { user: null, selected: false, pending: null };
  const say = (line) => { if (!sock.destroyed) sock.write(`${line}\r\n`); };

  async function auth(tag, b64) {
    const cred = xoauth2(b64);
    if (!cred) {
      log({ event: 'auth', user: null, auth: 'malformed' });
      say(`${tag} BAD cannot decode the XOAUTH2 response`);
      return;
    }
    const verdict = await providerAccepts(opt.issuer, cred.token);
    log({ event: 'auth', user: cred.user, auth: verdict.ok ? 'accepted' : 'refused' });
    if (verdict.ok) {
      s.user = cred.user;
      say(`${tag} OK [CAPABILITY ${CAPS}] ${cred.user} authenticated (Success)`);
    } else if (opt.refusal === 'microsoft') {
      say(`${tag} NO AUTHENTICATE failed.`);
    } else {
      s.pending = { kind: 'auth-error', tag };
      say(`+ ${GMAIL_XOAUTH2_ERROR}`);
    }
  }

  function fetch(tag, set, spec, byUid) {
    const pred = inSet(set, byUid ? MSGS[MSGS.length - 1].uid : MSGS.length);
    if (!pred) {
      say(`${tag} BAD bad sequence set`);
      return;
    }
    const items = fetchItems(spec);
    MSGS.forEach((msg, i) => {
      if (!pred(byUid ? msg.uid : i + 1)) return;
      const parts = [];
      const lits = [];
      let body = false;
      if (byUid && !items.includes('UID')) parts.push(`UID ${msg.uid}`);
      for (const it of items) {
        if (it === 'UID') parts.push(`UID ${msg.uid}`);
        else if (it === 'FLAGS') parts.push(`FLAGS (${msg.flags.join(' ')})`);
        else if (it === 'INTERNALDATE') parts.push(`INTERNALDATE "${msg.date}"`);
        else if (it === 'RFC822.SIZE') parts.push(`RFC822.SIZE ${msg.text.length}`);
        else if (it.startsWith('BODY')) {
          const section = /\[([^\]]*)\]/.exec(it)[1];
          const hf = /^HEADER\.FIELDS(\.NOT)? \((.*)\)$/.exec(section);
          let data;
          if (section === '') {
            data = msg.text;
            body = true;
          } else if (section === 'HEADER') data = headerFields(msg.text, [], true);
          else if (hf) data = headerFields(msg.text, hf[2].split(/\s+/), !!hf[1]);
          else {
            say(`${tag} BAD unsupported section ${section}`);
            return;
          }
          const name = `BODY[${section}]`;
          parts.push(`${name} {${data.length}}`);
          lits.push(data);
        } else {
          say(`${tag} BAD unsupported fetch item ${it}`);
          return;
        }
      }
      // Literals go right after the "{n}" they follow.
      let out = Buffer.from(`* ${i + 1} FETCH (`, 'latin1');
      parts.forEach((p, k) => {
        const sep = k ? ' ' : '';
        out = Buffer.concat([out, Buffer.from(sep + p, 'latin1')]);
        if (/\{\d+\}$/.test(p)) out = Buffer.concat([out, Buffer.from('\r\n'), lits.shift()]);
      });
      if (!sock.destroyed) sock.write(Buffer.concat([out, Buffer.from(')\r\n')]));
      log({ event: 'fetch', user: s.user, uid: msg.uid, body });
    });
    say(`${tag} OK ${byUid ? 'UID ' : ''}FETCH completed`);
  }

  function search(tag, arg) {
    // Only what a syncing client asks: ALL, or "UID set".
    const m = /^(?:ALL|UID (\S+))$/i.exec(arg.trim());
    const pred = m && m[1] ? inSet(m[1], MSGS[MSGS.length - 1].uid) : () => true;
    if (!m || !pred) {
      say(`${tag} BAD unsupported search`);
      return;
    }
    say(`* SEARCH${MSGS.filter((x) => pred(x.uid)).map((x) => ` ${x.uid}`).join('')}`);
    say(`${tag} OK UID SEARCH completed`);
  }

  function select(tag, verb, arg) {
    const box = arg.replace(/^"(.*)"$/, '$1');
    if (box.toUpperCase() !== 'INBOX') {
      s.selected = false;
      say(`${tag} NO [NONEXISTENT] no such mailbox`);
      return;
    }
    s.selected = true;
    say(`* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)`);
    say(`* OK [PERMANENTFLAGS ()] read only`);
    say(`* OK [UIDVALIDITY ${UIDVALIDITY}] UIDs valid`);
    say(`* ${MSGS.length} EXISTS`);
    say('* 0 RECENT');
    say(`* OK [UIDNEXT ${MSGS[MSGS.length - 1].uid + 1}] predicted next UID`);
    say(`${tag} OK [READ-ONLY] ${verb} completed`);
  }

  async function line(l) {
    if (s.pending) {
      const p = s.pending;
      s.pending = null;
      if (p.kind === 'auth') {
        if (l.trim() === '*') say(`${p.tag} BAD AUTHENTICATE cancelled`);
        else await auth(p.tag, l.trim());
      } else say(`${p.tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)`);
      return;
    }
    const m = /^(\S+) (\S+)(?: (.*))?$/.exec(l);
    if (!m) {
      say('* BAD malformed command');
      return;
    }
    const [, tag, verbRaw, arg = ''] = m;
    let verb = verbRaw.toUpperCase();
    let rest = arg;
    let byUid = false;
    if (verb === 'UID') {
      byUid = true;
      [verb, rest] = [arg.split(' ')[0].toUpperCase(), arg.split(' ').slice(1).join(' ')];
    }
    if (/\{\d+\+?\}$/.test(l)) {
      say(`${tag} BAD literals are not supported`);
      return;
    }
    if (!s.user && !['CAPABILITY', 'NOOP', 'LOGOUT', 'AUTHENTICATE'].includes(verb)) {
      say(`${tag} NO authenticate first`);
      return;
    }
    switch (verb) {
      case 'CAPABILITY':
        say(`* CAPABILITY ${CAPS}`);
        say(`${tag} OK CAPABILITY completed`);
        break;
      case 'AUTHENTICATE': {
        const [mech, initial] = rest.split(' ');
        if (s.user) say(`${tag} BAD already authenticated`);
        else if ((mech || '').toUpperCase() !== 'XOAUTH2') say(`${tag} NO unsupported mechanism`);
        else if (initial && initial !== '=') await auth(tag, initial);
        else {
          s.pending = { kind: 'auth', tag };
          say('+ ');
        }
        break;
      }
      case 'LOGIN':
        say(`${tag} NO [PRIVACYREQUIRED] use AUTHENTICATE XOAUTH2`);
        break;
      case 'LIST':
      case 'LSUB':
        say(`* ${verb} (\\HasNoChildren) "/" "INBOX"`);
        say(`${tag} OK ${verb} completed`);
        break;
      case 'SELECT':
      case 'EXAMINE':
        select(tag, verb, rest);
        break;
      case 'FETCH':
      case 'SEARCH': {
        const [set, ...items] = rest.split(' ');
        if (!s.selected) say(`${tag} BAD no mailbox selected`);
        else if (verb === 'FETCH') fetch(tag, set, items.join(' '), byUid);
        else search(tag, rest);
        break;
      }
      case 'NOOP':
        say(`${tag} OK NOOP completed`);
        break;
      case 'CLOSE':
        s.selected = false;
        say(`${tag} OK CLOSE completed`);
        break;
      case 'LOGOUT':
        say('* BYE logging out');
        say(`${tag} OK LOGOUT completed`);
        sock.end();
        break;
      default:
        say(`${tag} NO ${verb} is not supported here (read only)`);
    }
  }

  commandLines(sock, {
    name: NAME, onLine: line, tooLong: '* BYE line too long', failed: '* BAD internal error',
  });
  say(`* OK [CAPABILITY ${CAPS}] imap.sparekey.test ready`);
}

const server = net.createServer(session);
serveLoopback(server, { name: NAME, port: opt.port, portFile: opt.portFile });
