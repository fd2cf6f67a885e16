import { Worker } from "node:worker_threads";

/**
 * A fixed pool of worker threads that run exported functions of one module: CPU-heavy work (bcrypt,
 * SAML signature checks) leaves the event loop free for every other request. Jobs queue when all
 * threads are busy; a crashed thread fails only its own job and is replaced.
 *
 * The module is loaded by path in each thread. From TypeScript sources (tests, `tsx`) the thread first
 * registers tsx's loader; from `dist` it loads the compiled JavaScript directly. Arguments and results
 * cross the thread boundary by structured clone. With `nice` (Linux), each thread lowers its own
 * scheduling priority, so it only takes CPU that interactive work leaves idle.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
if (/\\.[cm]?ts$/.test(workerData.modulePath)) require("tsx/cjs");
let reniced = false;
if (workerData.nice !== undefined) {
  try {
    const tid = Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) { require("node:os").setPriority(tid, workerData.nice); reniced = true; }
  } catch {}
}
const functions = require(workerData.modulePath);
parentPort.postMessage({ ready: true, reniced });
parentPort.on("message", async (job) => {
  try {
    const result = await functions[job.fn](...job.args);
    parentPort.postMessage({ id: job.id, result });
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: String((error && error.message) || error) });
  }
});
`;

type Job = { id: number; fn: string; args: unknown[]; resolve: (value: never) => void; reject: (error: Error) => void };
type Slot = { worker: Worker; job?: Job };

export type WorkerPoolOptions = {
  /** Absolute path of the module whose exports the threads run (require.resolve it). */
  modulePath: string;
  size: number;
  /** Linux nice value for the threads (0-19); unchanged when absent. */
  nice?: number;
  /** For error messages. */
  name: string;
};

export type WorkerPool = {
  readonly size: number;
  run<T>(fn: string, args: unknown[]): Promise<T>;
  /** True when every thread lowered its priority as asked (false off Linux). */
  reniced(): Promise<boolean>;
  close(): Promise<void>;
};

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { size, name } = options;
  const queue: Job[] = [];
  const slots: Slot[] = [];
  const readiness: Promise<boolean>[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath: options.modulePath, nice: options.nice } });
    const slot: Slot = { worker };
    readiness.push(new Promise((resolve) => worker.once("message", (message: { reniced?: boolean }) => resolve(message.reniced === true))));
    worker.on("message", (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined || slot.job?.id !== message.id) return;
      const job = slot.job;
      slot.job = undefined;
      worker.unref();
      if (message.error !== undefined) job.reject(new Error(`${name}: ${message.error}`));
      else job.resolve(message.result as never);
      dispatch();
    });
    worker.on("error", (error) => replace(slot, error));
    worker.on("exit", (code) => {
      if (!closed) replace(slot, new Error(`${name} worker exited with code ${code}`));
    });
    worker.unref();
    return slot;
  }

  function replace(slot: Slot, error: Error): void {
    const index = slots.indexOf(slot);
    if (index < 0) return;
    slot.job?.reject(error);
    slot.job = undefined;
    slot.worker.removeAllListeners();
    void slot.worker.terminate();
    if (closed) {
      slots.splice(index, 1);
      return;
    }
    slots[index] = spawn();
    dispatch();
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (slot.job) continue;
      const job = queue.shift();
      if (!job) return;
      slot.job = job;
      // A thread with work keeps the process alive until it answers; idle ones never do.
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, fn: job.fn, args: job.args });
    }
  }

  for (let i = 0; i < size; i += 1) slots.push(spawn());

  return {
    size,
    run<T>(fn: string, args: unknown[]): Promise<T> {
      if (closed) return Promise.reject(new Error(`${name} pool is closed`));
      return new Promise<T>((resolve, reject) => {
        queue.push({ id: nextId++, fn, args, resolve: resolve as (value: never) => void, reject });
        dispatch();
      });
    },
    reniced: async () => (await Promise.all(readiness)).every(Boolean),
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error(`${name} pool is closed`));
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
