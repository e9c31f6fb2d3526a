#!/bin/bash
# lab-host: one host of the "basic" scenario in a container (docker-compose.yml).
#
# Environment:
#   LAB_HOST    host name (gcks, gm1, gm2, gm3): ${HOST} in the configs
#   LAB_ROLE    gcks | sender | receiver
#   LAB_GROUP   group address (default 239.1.1.1), LAB_PORT (default 5000)
#   LAB_CAPTURE 1: tcpdump on eth0 into $LAB_OUT/$LAB_HOST.pcap
#   LAB_OUT     shared output directory (default /lab/out): ${RUN}
#   PREFIX      strongSwan prefix (default /src/build/strongswan/prefix)
#   LAB_TEMPLATE, LAB_ETC  config template and working copy (default
#               /lab/etc-template, /lab/etc)
#
# The scenario's host configuration is mounted at /lab/etc-template; it is
# copied to /lab/etc with the runner's placeholders substituted (${RUN} ->
# $LAB_OUT, ${HOST} -> $LAB_HOST, ...), as test-configs/run does.
set -euo pipefail

HOST=${LAB_HOST:?LAB_HOST not set}
ROLE=${LAB_ROLE:-receiver}
OUT=${LAB_OUT:-/lab/out}
GROUP=${LAB_GROUP:-239.1.1.1}
PORT=${LAB_PORT:-5000}
PREFIX=${PREFIX:-/src/build/strongswan/prefix}
LIB=${LAB_LIB:-/src/test-configs/lib}
CHARON=$PREFIX/lib/ipsec/charon
[ -x "$CHARON" ] || CHARON=$PREFIX/libexec/ipsec/charon
export PATH=$PREFIX/sbin:$PATH

log() { echo "$(date +%T) [$HOST] $*"; }

TEMPLATE=${LAB_TEMPLATE:-/lab/etc-template}
ETC=${LAB_ETC:-/lab/etc}
mkdir -p "$OUT/$HOST" "$ETC"
cp -a "$TEMPLATE/." "$ETC/"
find "$ETC" -type f | while read -r f; do
    sed -i -e "s#\${RUN}#$OUT#g" -e "s#\${HOST}#$HOST#g" -e "s#\${LIB}#$LIB#g" \
        -e "s#\${PREFIX}#$PREFIX#g" -e "s#\${CTL}#unix://$OUT/$HOST/gikev2.ctl#g" \
        -e "s#\${VICI}#unix://$OUT/$HOST/charon.vici#g" "$f"
done
export STRONGSWAN_CONF=$ETC/strongswan.conf
VICI=unix://$OUT/$HOST/charon.vici

# multicast to the group leaves through eth0 (kernel-libipsec's TUN takes the
# protected traffic through its policy routes in table 220)
ip route replace 224.0.0.0/4 dev eth0

pids=()
cleanup() { log "stopping"; kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup EXIT INT TERM

if [ "${LAB_CAPTURE:-0}" = 1 ]; then
    tcpdump -i eth0 -U -n -s 0 -Z root -w "$OUT/$HOST.pcap" 2>"$OUT/$HOST/tcpdump.log" &
    pids+=($!)
fi

rm -f "$OUT/$HOST/charon.vici"
"$CHARON" > "$OUT/$HOST/charon.stdout" 2>&1 &
charon_pid=$!
pids+=($charon_pid)
for _ in $(seq 1 100); do
    [ -S "$OUT/$HOST/charon.vici" ] && break
    kill -0 $charon_pid || { log "charon exited"; cat "$OUT/$HOST/charon.stdout"; exit 1; }
    sleep 0.1
done
swanctl --load-all --noprompt --file "$ETC/swanctl/swanctl.conf" --uri "$VICI"
log "charon up ($CHARON), role $ROLE"

if [ "$ROLE" != gcks ]; then
    if [ "$ROLE" = receiver ]; then
        python3 "$LIB/mcast.py" recv --group "$GROUP" --port "$PORT" --iface ipsec0 \
            --timeout 86400 --out "$OUT/$HOST-recv.txt" > "$OUT/$HOST/recv.log" 2>&1 &
        pids+=($!)
    fi
    # register with the key server (GSA_AUTH); retry until it answers
    until swanctl --initiate --ike gcks --uri "$VICI" > "$OUT/$HOST/initiate.log" 2>&1; do
        log "registration failed, retrying in 3 s"
        sleep 3
    done
    log "registered (see $OUT/$HOST/charon.log: gikev2: registered)"
    if [ "$ROLE" = sender ]; then
        n=0
        while kill -0 $charon_pid 2>/dev/null; do
            n=$((n + 1))
            python3 "$LIB/mcast.py" send --group "$GROUP" --port "$PORT" --count 1 \
                --message "video-frame-$n" > /dev/null || true
            sleep 2
        done &
        pids+=($!)
    fi
fi
wait $charon_pid
