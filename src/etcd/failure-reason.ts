import { badPortText } from './bad-ports.js';
import { EtcdBadPortError, EtcdRedirectError } from './errors.js';

/** What a failure is about, so a caller can point at the setting to check. */
export type FailureSubject = 'network' | 'server-certificate' | 'client-certificate';

export interface FailureReason {
  /** A few words, without endpoints or credentials. */
  text: string;
  about: FailureSubject;
}

const SERVER_CERT: FailureReason = { text: "etcd's certificate is not signed by a trusted CA", about: 'server-certificate' };
const CLIENT_CERT: FailureReason = { text: 'etcd refused the client certificate (none given, or not signed by a CA it trusts)', about: 'client-certificate' };
const net = (text: string): FailureReason => ({ text, about: 'network' });

/** Error codes of `fetch` failures (Node, undici, OpenSSL) by what they mean. */
const BY_CODE: Record<string, FailureReason> = {
  ECONNREFUSED: net('connection refused'),
  ECONNRESET: net('connection reset'),
  ENOTFOUND: net('host not found'),
  EAI_AGAIN: net('host not found'),
  ETIMEDOUT: net('timed out'),
  UND_ERR_CONNECT_TIMEOUT: net('connect timed out'),
  ETCD_TIMEOUT: net('timed out'),
  DEPTH_ZERO_SELF_SIGNED_CERT: SERVER_CERT,
  SELF_SIGNED_CERT_IN_CHAIN: SERVER_CERT,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: SERVER_CERT,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: SERVER_CERT,
  CERT_HAS_EXPIRED: { text: "etcd's certificate has expired", about: 'server-certificate' },
  ERR_TLS_CERT_ALTNAME_INVALID: { text: "etcd's certificate does not name this host", about: 'server-certificate' },
  // TLS alerts etcd sends when it requires a client certificate it trusts.
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: CLIENT_CERT,
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: CLIENT_CERT,
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: CLIENT_CERT,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: CLIENT_CERT,
};

/**
 * Why a call could not reach etcd, from the first recognizable error in a
 * cause chain (network and TLS failures, an endpoint that redirects or is on
 * a port fetch refuses), or undefined when nothing says.
 */
export function failureReason(error: unknown): FailureReason | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof EtcdBadPortError) return net(badPortText(e.port));
    if (e instanceof EtcdRedirectError) return net(redirectText(e.status));
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && BY_CODE[code]) return BY_CODE[code];
    if (/certificate|handshake|alert/i.test(e.message)) return { text: `TLS: ${e.message}`, about: 'network' };
  }
  return undefined;
}

function redirectText(status: number | undefined): string {
  const answer = status ? `HTTP ${status}, a redirect,` : 'a redirect';
  return `an endpoint answered ${answer} which the etcd client never follows; give etcd's own URL`;
}
