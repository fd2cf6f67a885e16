import { createWorkerPool } from "../../../src/platform/worker-pool";

const modulePath = require.resolve("./fixtures/pool-jobs");

describe("worker pool", () => {
  const pool = createWorkerPool({ modulePath, size: 2, name: "test" });
  afterAll(() => pool.close());

  it("runs exported functions in other threads, with structured-clone arguments and results", async () => {
    const value = { at: new Date(0), tags: new Map([["a", ["b"]]]) };
    expect(await pool.run("echo", [value])).toEqual(value);
  });

  it("spreads concurrent jobs over its threads and queues the rest", async () => {
    const threads = await Promise.all(Array.from({ length: 6 }, () => pool.run<number>("slowThreadId", [30])));
    expect(new Set(threads).size).toBe(2);
    expect(threads.every((id) => id !== 0)).toBe(true);
  });

  it("rejects a job that throws, and keeps serving", async () => {
    await expect(pool.run("fail", ["no such user"])).rejects.toThrow("test: no such user");
    expect(await pool.run("echo", [1])).toBe(1);
  });

  it("replaces a thread that dies: its job fails, the next one runs", async () => {
    await expect(pool.run("crash", [])).rejects.toThrow(/exited with code 3/);
    expect(await pool.run("echo", ["after"])).toBe("after");
  });

  it("lowers its threads' priority when asked (Linux)", async () => {
    const niced = createWorkerPool({ modulePath, size: 1, nice: 5, name: "niced" });
    try {
      expect(await niced.reniced()).toBe(process.platform === "linux");
      expect(await pool.reniced()).toBe(false);
    } finally {
      await niced.close();
    }
  });
});
