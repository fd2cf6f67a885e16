// Attack: an attacker plants a session token they know in the victim's browser, waits for the victim to sign in or step up, then rides the now-privileged session.
import { ManualClock } from "../../src/platform/clock";
import { sha256Hex } from "../../src/platform/crypto";
import { MemoryKvStore } from "../../src/platform/kv/memory-store";
import { createSessionService, type SessionService } from "../../src/sessions/session.service";
import { createSessionStore } from "../../src/sessions/session.store";

const tenant = { slug: "tenant-1", region: "us", sessionIdleMinutes: 30, sessionAbsoluteHours: 12 };
const victim = { id: "victim", tenantId: "tenant-1", email: "victim@example.test", name: "Victim" };
const client = { ip: "203.0.113.7", userAgent: "victim-browser" };

let kv: MemoryKvStore;
let sessions: SessionService;

beforeEach(() => {
  const clock = new ManualClock(new Date("2026-03-01T09:00:00Z"));
  kv = new MemoryKvStore({ now: () => clock.now().getTime() });
  sessions = createSessionService({ store: createSessionStore({ kv, clock }), clock });
});
afterEach(() => kv.close());

describe("session fixation", () => {
  it("a token chosen by the attacker is never accepted or adopted", async () => {
    const planted = "A".repeat(43);
    expect(await sessions.validate(planted)).toBeNull();
    const { token } = await sessions.startSession({ user: victim, tenant, method: "password", assurance: "aal2", amr: ["pwd", "otp", "mfa"], ...client });
    expect(token).not.toBe(planted);
    expect(await sessions.validate(planted)).toBeNull();
    expect(await kv.get(`session:${sha256Hex(planted)}`)).toBeNull();
  });

  it("a planted low-assurance token stops working when the victim steps up", async () => {
    // The attacker holds a real token of a password-only session and plants it in the victim's browser.
    const { token: planted, session } = await sessions.startSession({ user: victim, tenant, method: "password", assurance: "aal1", amr: ["pwd"], ...client });
    const elevated = await sessions.rotateSession(planted, { assurance: "aal2", amr: ["pwd", "otp", "mfa"] });

    expect(elevated).toEqual(expect.any(String));
    expect(elevated).not.toBe(planted);
    expect(await sessions.validate(planted)).toBeNull();
    expect(await sessions.rotateSession(planted)).toBeNull();
    expect(await sessions.validate(elevated!)).toMatchObject({ id: session.id, userId: "victim", assurance: "aal2" });
  });

  it("a token planted into a password-change-only session is worthless once the password is changed", async () => {
    const { token: planted } = await sessions.startSession({
      user: victim, tenant, method: "password", assurance: "aal2", amr: ["pwd", "otp", "mfa"], restriction: "password_change", ...client,
    });
    const unrestricted = await sessions.rotateSession(planted, { restriction: null });

    expect(await sessions.validate(planted)).toBeNull();
    expect((await sessions.validate(unrestricted!))?.restriction).toBeUndefined();
  });

  it("each sign-in gets its own session: a token from an earlier sign-in is not upgraded", async () => {
    const earlier = await sessions.startSession({ user: victim, tenant, method: "password", assurance: "aal1", amr: ["pwd"], ...client });
    const later = await sessions.startSession({ user: victim, tenant, method: "saml", assurance: "aal2", amr: ["mfa"], ...client });

    expect(later.token).not.toBe(earlier.token);
    expect(later.session.id).not.toBe(earlier.session.id);
    expect((await sessions.validate(earlier.token))?.assurance).toBe("aal1");
  });
});
