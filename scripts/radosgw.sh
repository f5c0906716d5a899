#!/usr/bin/env bash
# A throw-away S3 service for Diced's tests: one Ceph monitor, one in-memory OSD and radosgw, all on 127.0.0.1,
# no authentication between daemons, run as the current (root) user without systemd.
#
#   scripts/radosgw.sh install           install the Debian packages (needs root; about a minute)
#   scripts/radosgw.sh start DIR PORT    start a cluster whose files live in DIR, S3 on PORT; prints the endpoint
#   scripts/radosgw.sh stop DIR          stop it
#
# The S3 user has access key DICEDTESTKEY and secret DICEDTESTSECRET.
set -euo pipefail

cmd=${1:-}
case "$cmd" in
install)
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v curl >/dev/null; then exit 0; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
  ;;
stop)
  dir=${2:?directory}
  for pidfile in "$dir"/run/*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true; done
  ;;
start)
  dir=${2:?directory}; port=${3:?port}
  monport=$((port + 1))
  rm -rf "$dir"; mkdir -p "$dir"/{mon,osd,run,log}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  conf="$dir/ceph.conf"
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# Without authentication the daemons must also allow unencrypted ("crc") connections.
ms mon client mode = crc secure
ms client mode = crc secure
ms cluster mode = crc secure
ms service mode = crc secure
ms mon cluster mode = crc secure
ms mon service mode = crc secure
osd objectstore = memstore
memstore device bytes = 3221225472
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail crit = 1
run dir = $dir/run
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
[client.rgw.diced]
rgw frontends = beast endpoint=127.0.0.1:$port
CONF
  c=(-c "$conf")
  monmaptool --create --addv a "[v2:127.0.0.1:$monport]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$dir/monmap"
  ceph-mon "${c[@]}" -i a
  osduuid=$(cat /proc/sys/kernel/random/uuid)
  osdid=$(timeout 60 ceph "${c[@]}" osd new "$osduuid")
  mkdir -p "$dir/osd/ceph-$osdid"
  ceph-osd "${c[@]}" -i "$osdid" --mkfs --osd-uuid "$osduuid" 2>/dev/null
  timeout 60 ceph "${c[@]}" osd crush add "osd.$osdid" 1.0 root=default >/dev/null 2>&1
  ceph-osd "${c[@]}" -i "$osdid" 2>/dev/null
  radosgw "${c[@]}" -n client.rgw.diced
  for _ in $(seq 1 240); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ] && break
    sleep 0.5
  done
  timeout 120 radosgw-admin "${c[@]}" user create --uid=diced --display-name=diced \
    --access-key=DICEDTESTKEY --secret=DICEDTESTSECRET >/dev/null
  echo "http://127.0.0.1:$port"
  ;;
*)
  echo "usage: $0 install | start DIR PORT | stop DIR" >&2
  exit 2
  ;;
esac
