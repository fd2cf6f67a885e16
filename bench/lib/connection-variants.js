// autocannon `setupClient` hook (load.ts passes this file's path: a worker thread cannot receive a function).
// Connection i of a run sends request variant i: autocannon creates its clients one after another, and
// each run gets a fresh worker thread, so this counter starts at 0 for every run.
let created = 0;

module.exports = function useConnectionVariant(client) {
  const variants = client.opts.initialContext && client.opts.initialContext.connectionVariants;
  if (!Array.isArray(variants) || variants.length === 0) return;
  const variant = variants[created % variants.length];
  created += 1;
  client.setHeadersAndBody(variant.headers, variant.body === undefined ? client.opts.body : variant.body);
};
