// autocannon `setupClient` hook for oidc-token (a worker thread cannot receive a function, only this file's
// path). Every request sends the next unused token request of the run's list: an authorization code is
// redeemed once only. One worker per run, so this counter starts at 0 for every run and is shared by all of
// its connections.
let next = 0;

module.exports = function useFreshCodes(client) {
  const bodies = client.opts.initialContext && client.opts.initialContext.bodies;
  if (!Array.isArray(bodies) || bodies.length === 0) throw new Error("oidc-token: no token request bodies");
  const advance = () => client.setBody(bodies[next++ % bodies.length]);
  advance();
  // Emitted before autocannon writes the connection's next request.
  client.on("response", advance);
};
