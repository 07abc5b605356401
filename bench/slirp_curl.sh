#!/usr/bin/env bash
# The peer of bench/net_throughput.mjs's sandbox download: curl in a fresh user+net namespace whose only link
# is slirp4netns (a user-space TCP/IP stack, as rootless containers use). Prints one speed (bytes/s) a line.
set -euo pipefail
url=$1
rounds=${2:-3}
ready=$(mktemp -u)
unshare --user --map-root-user --net --fork bash -c "
  while [ ! -e $ready ]; do sleep 0.02; done
  for i in \$(seq $rounds); do curl -s --noproxy '*' -o /dev/null -w '%{speed_download}\n' '$url'; done" &
outer=$!
child=
for _ in $(seq 100); do child=$(pgrep -P "$outer" || true); [ -n "$child" ] && break; sleep 0.02; done
[ -n "$child" ] || { echo "slirp_curl: the namespace did not start" >&2; exit 1; }
slirp4netns --configure --mtu=65520 --disable-host-loopback "$child" tap0 >/dev/null 2>&1 &
slirp=$!
sleep 0.3
touch "$ready"
status=0
wait "$outer" || status=$?
kill "$slirp" 2>/dev/null || true
rm -f "$ready"
exit $status
