import { describe, expect, it } from 'vitest';
import { parseAddress } from './address.js';

describe('parseAddress', () => {
  it.each([
    ['10.0.0.5:8080', 'http://10.0.0.5:8080'],
    ['1.2.3.4', 'http://1.2.3.4:80'],
    ['http://10.0.0.5:8080', 'http://10.0.0.5:8080'],
    ['HTTPS://Api.Example.com', 'https://api.example.com:443'],
    ['https://api.example.com:8443/', 'https://api.example.com:8443'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['http://[2001:DB8:0:0::1]:9000', 'http://[2001:db8::1]:9000'],
    ['[::ffff:10.0.0.1]:80', 'http://[::ffff:a00:1]:80'],
    ['my_svc.internal:81', 'http://my_svc.internal:81'],
    ['localhost:65535', 'http://localhost:65535'],
  ])('accepts %s as %s', (input, url) => {
    const parsed = parseAddress(input);
    expect(parsed).toMatchObject({ ok: true, address: { url } });
  });

  it.each([
    ['', 'empty'],
    ['user:pw@10.0.0.5:8080', 'userinfo'],
    ['http://evil@10.0.0.5', 'userinfo'],
    ['10.0.0.5:8080/admin', 'path'],
    ['10.0.0.5:8080\\x', 'path'],
    ['10.0.0.5:8080?a=b', 'query'],
    ['10.0.0.5#x', 'fragment'],
    ['ftp://10.0.0.5:21', 'scheme'],
    ['javascript://x', 'scheme'],
    ['::1:8080', 'brackets'],
    ['[::1', 'unclosed'],
    ['[::1]x', 'after'],
    ['[fe80::1%25eth0]:80', 'character'],
    ['10.0.0.5:0', 'port'],
    ['10.0.0.5:65536', 'port'],
    ['10.0.0.5:-1', 'port'],
    ['10.0.0.5:80a', 'port'],
    ['10.0.0.5:', 'port'],
    ['300.1.1.1:80', 'host'],
    ['010.1.1.1:80', 'host'],
    ['1.2.3:80', 'host'],
    ['0x7f.1:80', 'host'],
    ['2130706433:80', 'host'],
    ['-bad-.example:80', 'host'],
    ['a..b:80', 'host'],
    ['exa mple:80', 'character'],
    ['example.com%2f:80', 'character'],
    ['example.com\r\nHost: x:80', 'character'],
    [`${'a'.repeat(64)}.com:80`, 'host'],
  ])('rejects %j (%s)', (input, word) => {
    const parsed = parseAddress(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(word);
  });
});
