import { http, HttpResponse, type HttpHandler } from 'msw';
import type { FakeEtcd } from './fake-etcd.js';

/**
 * msw request handlers that serve a `FakeEtcd` on its endpoint URLs.
 *
 * @example
 * const etcd = new FakeEtcd();
 * const server = setupServer(...etcdHandlers(etcd));
 * server.listen();
 */
export function etcdHandlers(fake: FakeEtcd): HttpHandler[] {
  return fake.endpoints.map((endpoint) =>
    http.all(`${endpoint}/*`, async ({ request }) => {
      try {
        return await fake.handle(request);
      } catch (error) {
        if (error instanceof TypeError) return HttpResponse.error();
        throw error;
      }
    }),
  );
}
