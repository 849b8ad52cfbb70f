# swarmpi doctor's probe: one per server (a global service on a temporary
# overlay network). Prints `doctor ...` lines the manager reads from this
# task's log, then idles until the manager removes it.
#   SWARMPI_DOCTOR_SERVICE  the service name (tasks.NAME lists every probe)
#   SWARMPI_DOCTOR_EXPECT   how many probes to wait for
#   SWARMPI_DOCTOR_SERVERS  the servers' addresses (for 7946/tcp)
#   SWARMPI_DOCTOR_HOST_PORTS  TCP ports the listeners hold on every server's
#                           own network (host-network clusters' blocks)
set -u
mine=$(ip -4 -o addr show | awk '{print $4}' | cut -d/ -f1)
peers=''
for _ in $(seq 1 80); do
  peers=$(getent ahostsv4 "tasks.$SWARMPI_DOCTOR_SERVICE" | awk '{print $1}' | sort -u)
  [ "$(echo "$peers" | grep -c .)" -ge "$SWARMPI_DOCTOR_EXPECT" ] && break
  sleep 0.25
done
mtu=1500
for p in $peers; do
  echo "$mine" | grep -qx "$p" || continue
  echo "doctor self $p"
  dev=$(ip -4 -o addr show | awk -v ip="$p" 'index($4, ip "/") == 1 {print $2}')
  mtu=$(cat "/sys/class/net/$dev/mtu")
  echo "doctor overlay-mtu $mtu"
done
# The largest packet that crosses with "don't fragment": the MTU, or the
# largest found by halving (a few pings).
largest() {
  local peer=$1 lo=0 hi=$mtu mid
  ping -c 1 -W 1 -M do -s $((hi - 28)) "$peer" >/dev/null 2>&1 && { echo "$hi"; return; }
  lo=576
  ping -c 1 -W 1 -M do -s $((lo - 28)) "$peer" >/dev/null 2>&1 || { echo 0; return; }
  while [ $((hi - lo)) -gt 4 ]; do
    mid=$(((lo + hi) / 2))
    if ping -c 1 -W 1 -M do -s $((mid - 28)) "$peer" >/dev/null 2>&1; then lo=$mid; else hi=$mid; fi
  done
  echo "$lo"
}
check_peer() {
  local peer=$1 reach=fail delta
  ping -c 3 -i 0.2 -W 1 -q "$peer" >/dev/null 2>&1 && reach=ok
  echo "doctor reach $peer $reach"
  [ $reach = ok ] || return 0
  echo "doctor mtu $peer $(largest "$peer")"
  # clockdiff -o: ICMP timestamps; its second field is the peer's clock
  # minus ours, in ms.
  delta=$(clockdiff -o "$peer" 2>/dev/null | awk 'NF >= 3 {print $2; exit}')
  echo "doctor clock $peer ${delta:-fail}"
}
for p in $peers; do
  echo "$mine" | grep -qx "$p" || check_peer "$p" &
done
for a in $SWARMPI_DOCTOR_SERVERS; do
  ( if timeout 2 bash -c "</dev/tcp/$a/7946" 2>/dev/null; then r=ok; else r=fail; fi
    echo "doctor port $a 7946/tcp $r" ) &
done
# The listeners start beside the probes: a refused port is tried again.
for a in $SWARMPI_DOCTOR_SERVERS; do
  for port in ${SWARMPI_DOCTOR_HOST_PORTS:-}; do
    ( r=fail
      for _ in $(seq 1 30); do
        timeout 1 bash -c "</dev/tcp/$a/$port" 2>/dev/null && { r=ok; break; }
        sleep 0.5
      done
      echo "doctor port $a $port/tcp $r" ) &
  done
done
wait
echo "doctor done"
exec sleep 600
