// How every test peer serves, in one place: on 127.0.0.1 only; "ready PORT"
// on stdout once it answers, the same port written atomically to the
// --port-file if one was given; one line on stderr and exit 1 if it cannot
// listen; a clean exit on SIGTERM or SIGINT.
//
// serveLoopback(server, { name, port, portFile, onListening }): onListening
// (actual port) runs before "ready", for a peer that can set up its
// handlers only once it knows its own address.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

export function serveLoopback(server, { name, port, portFile, onListening }) {
  server.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    const actual = server.address().port;
    onListening?.(actual);
    process.stdout.write(`ready ${actual}\n`);
    if (portFile) {
      const tmp = path.join(path.dirname(portFile), `.${path.basename(portFile)}.${process.pid}`);
      fs.writeFileSync(tmp, `${actual}\n`);
      fs.renameSync(tmp, portFile);
    }
  });
  const shutdown = () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
