// The part of autocannon 9's programmatic API the bench uses (the package ships no types).
declare module "autocannon" {
  type Percentiles = { average: number; mean: number; stddev: number; min: number; max: number; p50: number; p90: number; p99: number };

  export type AutocannonOptions = {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    /** Fire requests from this many worker threads, leaving the calling thread to the servers under test. */
    workers?: number;
    timeout?: number;
    /** Absolute path of a CommonJS module whose default export is called with each connection's client. */
    setupClient?: string;
    /** Copied into every connection (setupClient can read it as `client.opts.initialContext`). */
    initialContext?: Record<string, unknown>;
    /** Requests per second over all connections (per worker). */
    overallRate?: number;
    ignoreCoordinatedOmission?: boolean;
  };

  export type AutocannonResult = {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Percentiles & { totalCount: number };
    requests: Percentiles & { total: number; sent: number };
  };

  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
