#!/usr/bin/env node
// An SMTP submission server for sparekey's integration tests (RFC 5321,
// RFC 4954), plain TCP on 127.0.0.1, that lets a client send only after
// AUTH XOAUTH2 with an access token the test provider accepts
// (resource.mjs), the way Gmail and Microsoft 365 do. Enough of SMTP for
// msmtp: EHLO/HELO, AUTH XOAUTH2, MAIL, RCPT, DATA, RSET, NOOP, QUIT. No
// STARTTLS (msmtp runs with `tls off` on loopback).
//
// Usage: node smtp.mjs --issuer URL [--port N] [--port-file FILE]
//                      [--log FILE] [--mailbox FILE]
//   AUTH XOAUTH2 takes base64("user=U\x01auth=Bearer TOKEN\x01\x01"), as
//   the initial response or after "334 ". A refused token gets Gmail's
//   answer: "334 " with a base64 JSON error, then 535 5.7.8 once the
//   client sends its (empty) line.
//   MAIL before a successful AUTH: 530 5.7.0.
//   --mailbox FILE  each accepted message is appended, mbox style ("From "
//                   line, the message, an empty line)
//   --log FILE      JSON lines: {ts, event: auth, user, auth: accepted|
//                   refused|malformed} and {ts, event: mail, user, from,
//                   to, bytes, subject}; never a token.
import fs from 'node:fs';
import net from 'node:net';
import process from 'node:process';

import {
  GMAIL_XOAUTH2_ERROR, commandLines, jsonLog, peerArgs, providerAccepts, xoauth2,
} from './resource.mjs';
import { serveLoopback } from './serve.mjs';

const NAME = 'smtp.mjs';
const opt = peerArgs(NAME, process.argv.slice(2), { '--mailbox': 'mailbox' });
if (!opt.issuer) {
  process.stderr.write(`${NAME}: --issuer is required\n`);
  process.exit(64);
}
const log = jsonLog(opt.log);
const HOST = 'smtp.sparekey.test';
const MAX_MESSAGE = 1024 * 1024;

function session(sock) {
  const s = {
    user: null, from: null, to: [], data: null, pending: null,
  };
  const say = (line) => { if (!sock.destroyed) sock.write(`${line}\r\n`); };

  async function auth(b64) {
    const cred = xoauth2(b64);
    if (!cred) {
      log({ event: 'auth', user: null, auth: 'malformed' });
      say('501 5.5.2 cannot decode the XOAUTH2 response');
      return;
    }
    const verdict = await providerAccepts(opt.issuer, cred.token);
    log({ event: 'auth', user: cred.user, auth: verdict.ok ? 'accepted' : 'refused' });
    if (verdict.ok) {
      s.user = cred.user;
      say('235 2.7.0 Accepted');
    } else {
      s.pending = 'auth-error';
      say(`334 ${GMAIL_XOAUTH2_ERROR}`);
    }
  }

  function message() {
    const text = s.data.join('\r\n');
    const subject = /^Subject:\s*(.*)$/im.exec(text)?.[1] ?? '';
    if (opt.mailbox) {
      fs.appendFileSync(opt.mailbox, `From ${s.from || 'MAILER-DAEMON'} ${new Date().toUTCString()}\n`
        + `${text.replace(/\r\n/g, '\n')}\n\n`);
    }
    log({ event: 'mail', user: s.user, from: s.from, to: s.to, bytes: text.length, subject });
    s.data = null;
    s.from = null;
    s.to = [];
    say('250 2.0.0 OK queued');
  }

  async function line(l) {
    if (s.data) {
      if (l === '.') {
        message();
      } else if (s.data.bytes + l.length > MAX_MESSAGE) {
        s.data = null;
        say('552 5.3.4 message too big');
      } else {
        s.data.push(l.startsWith('.') ? l.slice(1) : l);
        s.data.bytes += l.length + 2;
      }
      return;
    }
    if (s.pending === 'auth') {
      s.pending = null;
      await auth(l.trim());
      return;
    }
    if (s.pending === 'auth-error') {
      s.pending = null;
      say('535 5.7.8 Username and Password not accepted');
      return;
    }
    const [verb, ...rest] = l.split(' ');
    const arg = rest.join(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO':
        say(`250-${HOST} at your service`);
        say('250-8BITMIME');
        say('250-AUTH XOAUTH2');
        say('250 SIZE 1048576');
        break;
      case 'HELO':
        say(`250 ${HOST}`);
        break;
      case 'AUTH': {
        const [mech, initial] = arg.split(' ');
        if (s.user) say('503 5.5.1 already authenticated');
        else if ((mech || '').toUpperCase() !== 'XOAUTH2') say('504 5.7.4 unrecognized authentication type');
        else if (initial && initial !== '=') await auth(initial);
        else {
          s.pending = 'auth';
          say('334 ');
        }
        break;
      }
      case 'MAIL':
        if (!s.user) say('530 5.7.0 authentication required');
        else {
          s.from = /<([^>]*)>/.exec(arg)?.[1] ?? '';
          s.to = [];
          say('250 2.1.0 OK');
        }
        break;
      case 'RCPT':
        if (s.from === null) say('503 5.5.1 MAIL first');
        else {
          s.to.push(/<([^>]*)>/.exec(arg)?.[1] ?? '');
          say('250 2.1.5 OK');
        }
        break;
      case 'DATA':
        if (s.from === null || s.to.length === 0) say('503 5.5.1 RCPT first');
        else {
          s.data = [];
          s.data.bytes = 0;
          say('354 go ahead');
        }
        break;
      case 'RSET':
        s.from = null;
        s.to = [];
        say('250 2.0.0 OK');
        break;
      case 'NOOP':
        say('250 2.0.0 OK');
        break;
      case 'QUIT':
        say(`221 2.0.0 ${HOST} closing connection`);
        sock.end();
        break;
      default:
        say('502 5.5.1 unrecognized command');
    }
  }

  commandLines(sock, {
    name: NAME, onLine: line, tooLong: '500 5.5.2 line too long',
    failed: '451 4.3.0 internal error',
  });
  say(`220 ${HOST} ESMTP sparekey test server`);
}

const server = net.createServer(session);
serveLoopback(server, { name: NAME, port: opt.port, portFile: opt.portFile });
