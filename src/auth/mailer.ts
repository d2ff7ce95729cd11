import nodemailer from "nodemailer";
import type { ChatkitConfig } from "../config/schema.ts";
import { isEmailAddress } from "../core/email-address.ts";

/** What a sign-in mail says; the link is the only way in it offers. */
export interface SignInMail {
  to: string;
  /** The one-time login link. */
  url: string;
  /** Minutes until the link expires. */
  minutes: number;
  /** A self-requested link, or an admin's invitation (naming who invited, when known). */
  kind: "link" | "invitation";
  invitedBy?: string;
}

/**
 * Sends the box's mails over SMTP (`signIn.email.smtpUrl`): sign-in links people ask for, and
 * invitations an admin sends. Built only when SMTP is configured (`createMailer`).
 *
 * @example
 * await mailer?.sendSignInMail({ to: "ann@example.com", url, minutes: 15, kind: "invitation", invitedBy: "admin@example.com" });
 */
export interface Mailer {
  sendSignInMail(mail: SignInMail): Promise<void>;
  close(): void;
}

/** Milliseconds an SMTP server may take to connect, greet and answer; a stuck server must not pile up sends. */
const SMTP_TIMEOUT_MS = 15_000;

/** The mailer for the config, or undefined when no SMTP server is configured (sign-in is then by invitation). */
export function createMailer(config: ChatkitConfig, boxName = "chatkit-box"): Mailer | undefined {
  const { smtpUrl, from } = config.signIn.email;
  if (!smtpUrl || !from) return undefined;
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
    disableFileAccess: true,
    disableUrlAccess: true,
  }, { from });
  return {
    async sendSignInMail(mail) {
      // Addresses reach here validated; checked again because a header is only as safe as its last writer.
      if (!isEmailAddress(mail.to)) throw new Error("refusing to mail an address that is not one plain address");
      const { subject, text } = signInMailText(mail, boxName);
      await transport.sendMail({ to: mail.to, subject, text });
    },
    close: () => transport.close(),
  };
}

/** The subject and plain-text body of a sign-in or invitation mail; the link on a line of its own, for clients that only linkify whole lines. */
export function signInMailText(mail: SignInMail, boxName: string): { subject: string; text: string } {
  const lifetime = `The link works once, within ${mail.minutes} minute${mail.minutes === 1 ? "" : "s"}.`;
  if (mail.kind === "invitation") {
    return {
      subject: `You are invited to ${boxName}`,
      text: [
        `${mail.invitedBy ? `${mail.invitedBy} invited you` : "You are invited"} to chat on ${boxName}.`,
        "",
        "Open this link to sign in:",
        mail.url,
        "",
        lifetime,
      ].join("\n"),
    };
  }
  return {
    subject: `Your sign-in link for ${boxName}`,
    text: [
      `Open this link to sign in to ${boxName}:`,
      mail.url,
      "",
      lifetime,
      "If you did not ask for it, ignore this mail: nobody can use the link without it.",
    ].join("\n"),
  };
}
