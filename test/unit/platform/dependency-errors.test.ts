import { isDependencyUnavailable } from "../../../src/platform/dependency-errors";

describe("isDependencyUnavailable", () => {
  it.each([
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" })],
    ["an ioredis command timeout", new Error("Command timed out")],
    ["a cluster without a master for the slot", new Error("CLUSTERDOWN The cluster is down")],
    ["a cluster that cannot find its nodes", Object.assign(new Error("Failed to refresh slots cache."), { name: "ClusterAllFailedError" })],
    ["a PostgreSQL connection failure deep in the cause chain", new Error("query failed", { cause: new Error("x", { cause: Object.assign(new Error("admin shutdown"), { code: "57P01" }) }) })],
  ])("treats %s as unavailable (503)", (_label, error) => {
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  it.each([
    ["a unique violation", Object.assign(new Error("Unique constraint failed"), { code: "P2002" })],
    ["a plain bug", new TypeError("x is not a function")],
    ["a WRONGTYPE reply", new Error("WRONGTYPE Operation against a key holding the wrong kind of value")],
  ])("does not excuse %s", (_label, error) => {
    expect(isDependencyUnavailable(error)).toBe(false);
  });
});
