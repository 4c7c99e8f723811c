export const USAGE = `Usage: etcd-edge <command> [arguments] [options]

Commands:
  serve                             run the gateway: /svc/{service}/... proxied to the
                                    service's instances (configured by env, see README)
      --port N                      port to listen on (env PORT, default 8787)
      --host H                      interface to listen on (default all)
      --tls-cert FILE, --tls-key FILE
                                    serve TLS (ALPN h2 and http/1.1); without them,
                                    HTTP/1.1 and h2c (prior knowledge) on one port
      --layout L,L                  layouts to read (env ETCD_EDGE_LAYOUTS, default native)
      --strategy S                  weighted-random (default), round-robin,
                                    least-request or hash
      --watch on|off                keep snapshots current with etcd watches (default on)
      --cache-ttl MS                snapshot lifetime without watches (default 2000)
      --drain MS                    on SIGINT/SIGTERM, wait this long for in-flight
                                    requests (default 10000)
      --admin-port N                admin routes (/_edge/) on their own listener
                                    (env ETCD_EDGE_ADMIN_PORT; needs ADMIN_TOKEN)
      --admin-host H                its interface (env ETCD_EDGE_ADMIN_HOST, default 127.0.0.1)
      --workers N|auto              processes serving the port (env ETCD_EDGE_WORKERS,
                                    default 1; auto = one per core); one of them
                                    holds etcd for all; SIGHUP restarts them in turn
      --config FILE                 settings as NAME=value lines over the environment
                                    (env ETCD_EDGE_CONFIG); with --workers, SIGHUP
                                    reads it again and the new workers run on it
      --relay                       also serve the snapshot relay at /v1/ on this port
                                    (needs ETCD_EDGE_RELAY_TOKENS; see README)
  relay                             run the snapshot relay: GET /v1/services/{name}
                                    serves decoded snapshots to gateways (needs
                                    ETCD_EDGE_RELAY_TOKENS; see README)
      --port N                      port to listen on (default 8790)
      --host H                      interface to listen on (default all)
      --layout L,L                  layouts to read (env ETCD_EDGE_LAYOUTS, default native)
      --drain MS                    on SIGINT/SIGTERM, wait this long for requests
                                    (default 10000)
  register <service> <url>          register an instance and keep it registered until
                                    SIGINT/SIGTERM, then deregister it
      --weight N                    share of traffic (default 1; 0 = drained)
      --tag k=v                     a tag, repeatable (e.g. --tag zone=fra)
      --id ID                       the key's last part (default host:port)
      --ttl S                       lease TTL in seconds (default 10)
      --layout L                    native (default), grpc-naming or kitex
  deregister <service> <url-or-id>  delete an instance's key
      --layout L                    native (default), grpc-naming or kitex
  ls [service]                      list instances, with lease TTL left and skipped records
      --json                        print JSON instead of a table
      --layout L,L                  layouts to read (default: all three)
  watch <service>                   print one line per change to a service
      --layout L,L                  layouts to read (default: all three)

Connection (every command):
  --etcd URLS                       comma-separated endpoints (env ETCD_ENDPOINTS,
                                    default http://127.0.0.1:2379)
  --user NAME, --password PW        etcd auth (env ETCD_USERNAME, ETCD_PASSWORD)
  --cacert FILE                     CA bundle for https endpoints
  --cert FILE, --key FILE           client certificate and key
  --prefix P                        native key prefix (env ETCD_EDGE_PREFIX, default services/)

  -h, --help                        show this help
  -v, --version                     print the version
`;
