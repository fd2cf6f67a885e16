// Attack: a session token left in an unattended browser or lifted from a device keeps working long after its owner stopped using it.
import { ManualClock } from "../../src/platform/clock";
import { MemoryKvStore } from "../../src/platform/kv/memory-store";
import { createSessionService, type SessionService } from "../../src/sessions/session.service";
import { createSessionStore } from "../../src/sessions/session.store";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const tenant = { slug: "tenant-1", region: "us", sessionIdleMinutes: 30, sessionAbsoluteHours: 12 };
const user = { id: "user-a", tenantId: "tenant-1", email: "user-a@example.test", name: "User A" };

let clock: ManualClock;
let kv: MemoryKvStore;
let sessions: SessionService;

function start() {
  return sessions.startSession({ user, tenant, method: "password", assurance: "aal2", amr: ["pwd", "otp", "mfa"], ip: "203.0.113.7", userAgent: "jest" });
}

beforeEach(() => {
  clock = new ManualClock(new Date("2026-03-01T09:00:00Z"));
  // The KV runs on real time, so its own TTLs never fire here: what ends sessions is the server-side check.
  kv = new MemoryKvStore();
  sessions = createSessionService({ store: createSessionStore({ kv, clock }), clock });
});
afterEach(() => kv.close());

describe("session expiry", () => {
  it("an abandoned session dies after the tenant's idle timeout", async () => {
    const { token } = await start();
    clock.advance(29 * MINUTE);
    expect(await sessions.validate(token)).not.toBeNull();
    clock.advance(30 * MINUTE);
    expect(await sessions.validate(token)).toBeNull();
    expect(await sessions.listUserSessions(user.id)).toEqual([]);
  });

  it("an idle-expired session cannot be revived by presenting it again", async () => {
    const { token } = await start();
    clock.advance(31 * MINUTE);
    expect(await sessions.validate(token)).toBeNull();
    expect(await sessions.rotateSession(token)).toBeNull();
    clock.advance(-2 * MINUTE); // even if a clock step made it look fresh again, it is gone
    expect(await sessions.validate(token)).toBeNull();
  });

  it("a session in constant use still ends at the absolute timeout", async () => {
    const { token, session } = await start();
    expect(session.absoluteExpiresAt - session.createdAt).toBe(12 * HOUR);
    while (clock.now().getTime() + 10 * MINUTE < session.absoluteExpiresAt) {
      clock.advance(10 * MINUTE);
      expect(await sessions.validate(token)).not.toBeNull();
    }
    clock.advance(10 * MINUTE);
    expect(await sessions.validate(token)).toBeNull();
  });

  it("rotation keeps the original absolute deadline: a stolen token cannot be laundered into a longer life", async () => {
    const { token, session } = await start();
    let current = token;
    while (clock.now().getTime() + 20 * MINUTE < session.absoluteExpiresAt) {
      clock.advance(20 * MINUTE);
      current = (await sessions.rotateSession(current)) ?? "";
      expect(current).not.toBe("");
    }
    expect((await sessions.validate(current))?.absoluteExpiresAt).toBe(session.absoluteExpiresAt);
    clock.advance(20 * MINUTE);
    expect(await sessions.validate(current)).toBeNull();
  });
});
