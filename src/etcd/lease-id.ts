/**
 * A lease ID as etcdctl and etcd's logs show it: 16 hex digits
 * (`694d7a5b3c2f1e01`), so an ID from `etcd-edge ls`, the admin view or an
 * error can be pasted into `etcdctl lease timetolive`. The JSON gateway
 * carries IDs as decimal strings, which stay strings in code (they exceed
 * 2^53); this is only how one is shown. Anything not a decimal ID is shown as
 * it is.
 *
 * @example
 * leaseIdHex('7587855479459487233') // '694d7a5b3c2f1e01'
 */
export function leaseIdHex(id: string): string {
  return /^\d{1,20}$/.test(id) ? BigInt(id).toString(16).padStart(16, '0') : id;
}
