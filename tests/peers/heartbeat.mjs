#!/usr/bin/env node
// A dead-man's-switch service in the style of healthchecks.io, for
// sparekey's integration tests: it counts the pings it gets, by path.
//
// Usage: node heartbeat.mjs [--port N] [--port-file FILE] [--log FILE]
//                           [--hang-file FILE]
//   GET|HEAD|POST /ping/ID        a success ping: counted, 200 "OK"
//   GET|HEAD|POST /ping/ID/fail   a failure ping: counted, 200 "OK"
//   any other path                counted too, 404
//   GET /counts                   not counted: {"<path>": n, ...} of every
//                                 request so far (path without the query)
//   --hang-file FILE  while FILE exists, a ping is counted on arrival and
//                     then never answered (the connection stays open until
//                     the client gives up): a server that accepts and hangs
//   --log FILE        JSON lines, one per ping: {ts, method, path, query,
//                     authorization (true when the header was sent),
//                     user_agent, hung}
import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import { jsonLog, peerArgs } from './resource.mjs';
import { serveLoopback } from './serve.mjs';

const NAME = 'heartbeat.mjs';
const opt = peerArgs(NAME, process.argv.slice(2), { '--hang-file': 'hangFile' });
const log = jsonLog(opt.log);
const counts = {};

const server = http.createServer((req, res) => {
  req.resume();
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'GET' && url.pathname === '/counts') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(counts)}\n`);
    return;
  }
  counts[url.pathname] = (counts[url.pathname] || 0) + 1;
  const hung = Boolean(opt.hangFile) && fs.existsSync(opt.hangFile);
  log({
    method: req.method,
    path: url.pathname,
    query: url.search,
    authorization: req.headers.authorization !== undefined,
    user_agent: req.headers['user-agent'] || '',
    hung,
  });
  if (hung) return;
  const ping = /^\/ping\/[^/]+(\/fail)?$/.test(url.pathname);
  res.writeHead(ping ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(ping ? 'OK' : 'not found');
});
// A hung request must not keep the server from stopping, nor time out here.
server.requestTimeout = 0;
server.headersTimeout = 0;
serveLoopback(server, { name: NAME, port: opt.port, portFile: opt.portFile });
