import { describe, expect, it } from 'vitest';
import { failureReason } from './failure-reason.js';

const coded = (code: string, message = 'failed', cause?: unknown) => Object.assign(new Error(message, { cause }), { code });

describe('failureReason', () => {
  it('names the first recognizable network or TLS failure in a cause chain', () => {
    expect(failureReason(new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }))).toEqual({ text: 'connection refused', about: 'network' });
    expect(failureReason(new Error('x', { cause: coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE') }))?.about).toBe('server-certificate');
    expect(failureReason(new Error('x', { cause: coded('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') }))?.about).toBe('client-certificate');
    expect(failureReason(new Error('x', { cause: new Error('error:05800074:x509 certificate routines::key values mismatch') }))?.text).toBe(
      'TLS: error:05800074:x509 certificate routines::key values mismatch',
    );
  });

  it('says nothing when nothing in the chain is known', () => {
    expect(failureReason(new Error('fetch failed', { cause: coded('UND_ERR_SOCKET', 'other side closed') }))).toBeUndefined();
    expect(failureReason('text')).toBeUndefined();
  });
});
