// The generator's floor for the paced runs, run as its own process by child-gatehouse.ts: node:http
// answering every request at once with an empty 200, so what a paced run measures against it is the
// generator, the loopback and the machine, not a server's work.
"use strict";
const http = require("node:http");

const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-length": "0" });
  res.end();
});
server.listen(Number(process.env.PORT), "127.0.0.1");
const stop = () => {
  process.stdin.destroy();
  server.close();
  server.closeAllConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// The driver holds stdin open; when it is gone (even killed), so is this server.
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
