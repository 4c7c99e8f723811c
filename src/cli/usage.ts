export const USAGE = `Usage: etcd-edge <command> [arguments] [options]

Commands:
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
