import bcrypt from "bcrypt";
import { createBcryptWorkerPool } from "../../../src/passwords/bcrypt-pool";

// The pool must give bcrypt's own answers, from threads that yield the CPU to the event loop.
describe("bcrypt worker pool", () => {
  const pool = createBcryptWorkerPool({ size: 2, nice: 10 });
  afterAll(() => pool.close());

  it("hashes and compares as bcrypt does, in both directions", async () => {
    const hash = await pool.hash("correct horse", 4);
    expect(await bcrypt.compare("correct horse", hash)).toBe(true);
    expect(await pool.compare("correct horse", hash)).toBe(true);
    expect(await pool.compare("wrong horse", hash)).toBe(false);
    const theirs = await bcrypt.hash("another secret", 4);
    expect(await pool.compare("another secret", theirs)).toBe(true);
  });

  it("queues more jobs than threads and answers each one", async () => {
    const hash = await bcrypt.hash("queued", 4);
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => pool.compare(i % 3 === 0 ? "queued" : `not-${i}`, hash)));
    expect(answers).toEqual(answers.map((_, i) => i % 3 === 0));
  });

  it("lowers the priority of its threads on Linux", async () => {
    expect(await pool.reniced()).toBe(process.platform === "linux");
  });

  it("rejects a malformed job with an error instead of hanging", async () => {
    await expect(pool.hash("x", 99)).rejects.toThrow(/bcrypt/);
    expect(await pool.compare("x", "not-a-hash")).toBe(false);
  });

  it("refuses work once closed", async () => {
    const closing = createBcryptWorkerPool({ size: 1 });
    await closing.close();
    await expect(closing.compare("x", "y")).rejects.toThrow(/closed/);
  });
});
