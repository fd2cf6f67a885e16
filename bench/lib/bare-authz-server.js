// The memory baseline, run as its own process by child-gatehouse.ts: bare Express 5 and ioredis (the same
// versions Gatehouse uses) answering a session check with one Redis GET and nothing else. Plain JavaScript
// run by plain node, as Gatehouse runs from dist/: a TypeScript loader would add its own memory.
"use strict";
const express = require("express");
const { Redis } = require("ioredis");

const port = Number(process.env.PORT);
const key = process.env.PROBE_KEY;
const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1, connectionName: "gatehouse-bench-bare" });
const app = express();
app.disable("x-powered-by");
app.set("etag", false);

app.get("/healthz", (_req, res) => void res.status(200).end());
app.get("/authz", async (_req, res) => {
  const found = await redis.get(key);
  res.status(found ? 200 : 401).end();
});
// The counterpart of GET /api/v1/session: the same read, answered with a small JSON body.
app.get("/api/v1/session", async (_req, res) => {
  const found = await redis.get(key);
  if (!found) return void res.status(401).json({ error: "unauthenticated" });
  res.set("Cache-Control", "no-store").json({ id: key, user: { id: found, email: "bench@bench.example" }, checkedAt: new Date().toISOString() });
});
app.use((_error, _req, res, _next) => void res.status(500).end());

const server = app.listen(port, "127.0.0.1");
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  process.stdin.destroy();
  server.close();
  server.closeAllConnections();
  redis.disconnect();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// The driver holds stdin open; when it is gone (even killed), so is this server.
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
