import type { MailMessage } from "../platform/mail/mailer";
import { escapeHtml } from "../platform/http/page";

type Link = { to: string; tenantName: string; link: string };

// Each mail carries at most one secret: the link itself. Nothing else identifying is added.
function withLink(message: { to: string; subject: string; lines: string[]; link: string; linkText: string }): MailMessage {
  const text = [...message.lines, "", message.link, "", "If you did not expect this message, you can ignore it."].join("\n");
  const html = `<p>${message.lines.map(escapeHtml).join("</p><p>")}</p><p><a href="${escapeHtml(message.link)}">${escapeHtml(message.linkText)}</a></p><p>If you did not expect this message, you can ignore it.</p>`;
  return { to: message.to, subject: message.subject, text, html };
}

function notice(to: string, subject: string, lines: string[]): MailMessage {
  return { to, subject, text: lines.join("\n"), html: `<p>${lines.map(escapeHtml).join("</p><p>")}</p>` };
}

export const passwordMail = {
  reset: (m: Link) =>
    withLink({ to: m.to, subject: `Reset your ${m.tenantName} password`, lines: [`Someone asked to reset the password of your ${m.tenantName} account.`, "The link below works once, for 30 minutes."], link: m.link, linkText: "Choose a new password" }),
  invite: (m: Link) =>
    withLink({ to: m.to, subject: `Your ${m.tenantName} account`, lines: [`An account was created for you at ${m.tenantName}.`, "Choose your password with the link below. It works once, for 72 hours."], link: m.link, linkText: "Choose your password" }),
  changed: (to: string, tenantName: string, sessions: "all_ended" | "others_ended" | "others_kept") =>
    notice(to, `Your ${tenantName} password was changed`, [
      `The password of your ${tenantName} account was just changed.`,
      {
        all_ended: "Every session of your account was signed out.",
        others_ended: "Your other sessions were signed out.",
        others_kept: "Your other sessions were kept signed in; you can end them on your account page.",
      }[sessions],
      "If this was not you, contact your administrator at once.",
    ]),
  rotationRequired: (m: Link & { mode: "reset_required" | "change_at_next_login" }) =>
    m.mode === "reset_required"
      ? withLink({ to: m.to, subject: `Action needed: reset your ${m.tenantName} password`, lines: [`As a security precaution your ${m.tenantName} password has been disabled.`, "Use the link below to request a reset link and choose a new password."], link: m.link, linkText: "Reset my password" })
      : notice(m.to, `Action needed: change your ${m.tenantName} password`, [`As a security precaution you will be asked to choose a new ${m.tenantName} password the next time you sign in.`]),
};
