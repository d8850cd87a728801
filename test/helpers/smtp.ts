/**
 * A local SMTP receiver for e-mail alert tests (smtp-server, the counterpart of the nodemailer
 * client Strongbox sends with): on 127.0.0.1, a free port, requiring a login; it records every
 * login attempt and every message, raw and parsed.
 */
import net from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** The envelope: MAIL FROM and RCPT TO. */
  from: string | undefined;
  to: string[];
  /** The message as it came over the wire (headers and encoded body). */
  raw: string;
  parsed: ParsedMail;
}

export interface SmtpReceiver {
  host: string;
  port: number;
  /** Every AUTH attempt: the user name given and whether it was accepted. */
  logins: Array<{ user: string; accepted: boolean }>;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

/** Starts a receiver accepting one login (`user`, `password`); any other is refused with 535. */
export async function startSmtpReceiver(login: { user: string; password: string }): Promise<SmtpReceiver> {
  const logins: SmtpReceiver['logins'] = [];
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    // A loopback relay without TLS: a login in clear is fine on loopback only (Strongbox requires
    // STARTTLS for any other host).
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      const accepted = auth.username === login.user && auth.password === login.password;
      logins.push({ user: auth.username ?? '', accepted });
      if (accepted) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('authentication failed'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            mails.push({ from: from ? from.address : undefined, to: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    logins,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
