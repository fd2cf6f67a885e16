import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { SMTPServer } from "smtp-server";
import { createFileMailer, createSmtpMailer, type Mailer } from "../../../src/platform/mail/mailer";

const message = { to: "ada@example.com", subject: "Your password was changed", text: "If this was not you, contact support." };

describe("file mailer (embedded default)", () => {
  it("writes each message as an .eml file with headers and body", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-mail-"));
    const mailer: Mailer = createFileMailer(dir, "Gatehouse <no-reply@gatehouse.test>");
    await mailer.send(message);
    await mailer.send({ ...message, subject: "Second" });
    const files = readdirSync(dir).filter((f) => f.endsWith(".eml"));
    expect(files).toHaveLength(2);
    const raw = files.map((f) => readFileSync(path.join(dir, f), "utf8")).join("\n");
    expect(raw).toContain("To: ada@example.com");
    expect(raw).toContain("From: Gatehouse <no-reply@gatehouse.test>");
    expect(raw).toContain("Subject: Your password was changed");
    expect(raw).toContain("If this was not you, contact support.");
    await mailer.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("SMTP mailer", () => {
  it("delivers to a real SMTP server", async () => {
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, _session, done) {
        let data = "";
        stream.on("data", (chunk: Buffer) => (data += chunk.toString()));
        stream.on("end", () => {
          received.push(data);
          done();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.server.address() as AddressInfo;
    const mailer = createSmtpMailer(`smtp://127.0.0.1:${port}?ignoreTLS=true`, "Gatehouse <no-reply@gatehouse.test>");
    await mailer.send(message);
    await mailer.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(received).toHaveLength(1);
    expect(received[0]).toContain("Subject: Your password was changed");
    expect(received[0]).toContain("To: ada@example.com");
  });
});
