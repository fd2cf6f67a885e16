// The binding cookie of pending OIDC logins: one binding per flow, capped (oldest drops), and anything
// that is not exactly what we write counts as no binding at all.
import {
  holdsTransaction, MAX_PENDING_TRANSACTIONS, parseTransactions, serializeTransactions, transactionBindingOf, withoutTransaction, withTransaction,
} from "../../../src/sso/oidc/oidc-transaction";

const states = Array.from({ length: 8 }, (_, i) => `state-${i}`);

it("keeps one binding per flow, oldest first, and drops the oldest beyond the cap", () => {
  const bindings = states.reduce<string[]>((held, state) => withTransaction(held, state), []);
  expect(bindings).toHaveLength(MAX_PENDING_TRANSACTIONS);
  expect(states.map((state) => holdsTransaction(bindings, state))).toEqual([false, false, false, true, true, true, true, true]);
  expect(parseTransactions(serializeTransactions(bindings))).toEqual(bindings);
});

it("takes away only the binding of the flow whose callback came", () => {
  const bindings = withTransaction(withTransaction([], "a"), "b");
  expect(withoutTransaction(bindings, "a")).toEqual([transactionBindingOf("b")]);
  expect(withoutTransaction(bindings, "unknown")).toEqual(bindings);
});

it("reads a cookie of one binding (as written before several flows were kept)", () => {
  expect(parseTransactions(transactionBindingOf("a"))).toEqual([transactionBindingOf("a")]);
});

it("reads nothing from a missing, malformed or oversized cookie", () => {
  const genuine = transactionBindingOf("a");
  for (const cookie of [undefined, "", "x", `${genuine}.`, `${genuine}.${genuine.slice(1)}`, `${genuine};${genuine}`, Array(MAX_PENDING_TRANSACTIONS + 1).fill(genuine).join(".")]) {
    expect(parseTransactions(cookie)).toEqual([]);
  }
});

it("does not mistake a binding for its state or another flow's binding", () => {
  const bindings = withTransaction([], "a");
  expect(holdsTransaction(bindings, transactionBindingOf("a"))).toBe(false);
  expect(holdsTransaction(bindings, "b")).toBe(false);
  expect(holdsTransaction([], "a")).toBe(false);
});
