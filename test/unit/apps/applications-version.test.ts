// The registry version two instances share through the KV store: a change applies at once on the instance
// that made it, and on the others once the version they trust has aged out.
import { createApplicationsVersion } from "../../../src/apps/application-clients";
import { MemoryKvStore } from "../../../src/platform/kv/memory-store";

let kv: MemoryKvStore;
let clock = 0;
const now = () => clock;

beforeEach(() => {
  kv = new MemoryKvStore();
  clock = 1_000_000;
});
afterEach(() => kv.close());

it("reads the KV store at most once per freshness window, and sees another instance's change after it", async () => {
  const a = createApplicationsVersion(kv, { freshForMs: 500, now });
  const b = createApplicationsVersion(kv, { freshForMs: 500, now });
  const reads = jest.spyOn(kv, "get");
  const before = await b.current();
  await b.current();
  expect(reads).toHaveBeenCalledTimes(1);

  await a.changed();
  clock += 499;
  expect(await b.current()).toBe(before);
  clock += 1;
  const after = await b.current();
  expect(after).not.toBe(before);
  expect(await a.current()).toBe(after);
});

it("forgets the known version at once on the instance that made the change", async () => {
  const a = createApplicationsVersion(kv, { freshForMs: 60_000, now });
  const first = await a.current();
  await a.changed();
  const second = await a.current();
  expect(second).not.toBe(first);
  await a.changed();
  expect(await a.current()).not.toBe(second);
});

it("does not keep a version whose read began before a local change", async () => {
  const a = createApplicationsVersion(kv, { freshForMs: 60_000, now });
  await kv.set("oidc:applications-version", "old");
  const inFlight = a.current();
  await a.changed();
  expect(await inFlight).toBe("old");
  expect(await a.current()).not.toBe("old");
});

it("shares one read between concurrent callers", async () => {
  const a = createApplicationsVersion(kv, { freshForMs: 500, now });
  const reads = jest.spyOn(kv, "get");
  const values = await Promise.all([a.current(), a.current(), a.current()]);
  expect(new Set(values).size).toBe(1);
  expect(reads).toHaveBeenCalledTimes(1);
});
