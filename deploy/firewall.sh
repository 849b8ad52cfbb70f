#!/usr/bin/env bash
# Opens the ports a Docker swarm (and so swarmpi) needs between servers,
# with the firewall this server uses: ufw, firewalld or plain nftables.
# Idempotent: run it again and it changes nothing, saying so. Needs root.
#
#   deploy/firewall.sh [--tool ufw|firewalld|firewalld-offline|nftables] [--manager]
#                      [--encrypted] [--host-ports PORT] [--from CIDR]
#
#   --manager     also 2377/tcp (swarm management), on managers only
#   --encrypted   also ESP (IP protocol 50), for `deploy --encrypted`
#   --host-ports PORT
#                 also the block of a cluster on the servers' own network
#                 (`deploy --network host`): PORT to PORT+511/tcp, its sshd
#                 and Open MPI's ports (`swarmpi status` shows PORT).
#                 Repeatable, one per such cluster.
#   --from CIDR   only from these addresses (the servers' network);
#                 without it the ports open to every address, and the
#                 script says so loudly: VXLAN (4789/udp) carries no
#                 authentication, so anyone who reaches it can inject into
#                 the overlay. Use --from, and `deploy --encrypted`, on any
#                 network you do not control.
#
# Always: 7946/tcp and 7946/udp (node gossip), 4789/udp (VXLAN, the overlay's
# data). Nothing else: sshd in overlay containers is never published beyond
# the manager's loopback; a cluster on the servers' own network listens on
# its block of ports on every server, which only --host-ports opens.
set -euo pipefail

changed=0
say() { printf 'firewall: %s\n' "$*"; }
did() { changed=$((changed + 1)); say "$*"; }
die() { printf 'firewall: error: %s\n' "$*" >&2; exit 1; }

tool='' manager=0 encrypted=0 from='' blocks=()
while (($#)); do
  case $1 in
    --tool) tool=${2:?--tool needs ufw, firewalld or nftables}; shift 2 ;;
    --manager) manager=1; shift ;;
    --encrypted) encrypted=1; shift ;;
    --from) from=${2:?--from needs a CIDR}; shift 2 ;;
    --host-ports)
      [[ ${2:-} =~ ^[0-9]+$ ]] && ((${2} >= 1024 && ${2} <= 65024)) || die "--host-ports needs a port from 1024 to 65024"
      blocks+=("$2-$(($2 + 511))/tcp"); shift 2 ;;
    *) die "unknown option $1 (see the top of this script)" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root"
if [[ -z $tool ]]; then
  if command -v ufw >/dev/null && ufw status 2>/dev/null | grep -q '^Status: active'; then tool=ufw
  elif command -v firewall-cmd >/dev/null && firewall-cmd --state >/dev/null 2>&1; then tool=firewalld
  elif command -v nft >/dev/null; then tool=nftables
  else die "no ufw, firewalld or nft here: pass --tool, or open the ports by hand (see deploy/README.md)"
  fi
fi

ports=(7946/tcp 7946/udp 4789/udp)
((manager)) && ports=(2377/tcp "${ports[@]}")
ports+=("${blocks[@]}")
family=ipv4
[[ $from == *:* ]] && family=ipv6

if [[ -z $from ]]; then
  esp='' mpi_warning=''
  ((encrypted)) && esp=' esp'
  ((${#blocks[@]})) && mpi_warning="
firewall: WARNING: Open MPI's ports in ${blocks[*]} take connections without authentication."

  cat >&2 <<EOF
firewall: WARNING: no --from given: ${ports[*]}$esp will be open to EVERY address.
firewall: WARNING: anyone who reaches 4789/udp can inject packets into the overlay.$mpi_warning
firewall: WARNING: pass --from CIDR (the servers' own network), and deploy with
firewall: WARNING: --encrypted on any network you do not control.
EOF
fi

with_ufw() {
  local port rule out number
  for port in "${ports[@]}"; do
    # ufw writes a range with a colon.
    number=${port%/*} number=${number/-/:}
    rule=(allow proto "${port#*/}" to any port "$number")
    [[ -n $from ]] && rule=(allow proto "${port#*/}" from "$from" to any port "$number")
    out=$(ufw "${rule[@]}")
    [[ $out == *Skipping* ]] && say "ufw: $port already open" || did "ufw: opened $port"
  done
  if ((encrypted)); then
    out=$(ufw allow proto esp from "${from:-any}" to any)
    [[ $out == *Skipping* ]] && say "ufw: esp already allowed" || did "ufw: allowed esp"
  fi
}

# firewalld: plain ports from anywhere, or rich rules with a source. The
# permanent configuration, through the running daemon or, with
# firewalld-offline, written directly (an image build, before first boot).
fw() {
  if [[ $tool == firewalld-offline ]]; then firewall-offline-cmd "$@"; else firewall-cmd --permanent "$@"; fi
}

firewalld_open() { # what (for messages), then the query/add option's name and value
  local what=$1 option=$2 value=$3
  if fw "--query-$option=$value" >/dev/null; then
    say "firewalld: $what already open"
  else
    fw "--add-$option=$value" >/dev/null
    did "firewalld: opened $what"
  fi
}

with_firewalld() {
  local port source="rule family=\"$family\" source address=\"$from\""
  for port in "${ports[@]}"; do
    if [[ -n $from ]]; then
      firewalld_open "$port from $from" rich-rule \
        "$source port port=\"${port%/*}\" protocol=\"${port#*/}\" accept"
    else
      firewalld_open "$port" port "$port"
    fi
  done
  if ((encrypted)); then
    if [[ -n $from ]]; then
      firewalld_open "esp from $from" rich-rule "$source protocol value=\"esp\" accept"
    else
      firewalld_open esp protocol esp
    fi
  fi
  [[ $tool == firewalld ]] && ((changed)) && firewall-cmd --reload >/dev/null && say "firewalld: reloaded"
  return 0
}

# Plain nftables: accept rules only help in the chain that would drop, so
# they go into the `inet filter input` chain (Debian's /etc/nftables.conf),
# tagged with a comment to find them again.
with_nftables() {
  if ! nft list chain inet filter input >/dev/null 2>&1; then
    say "nftables: no 'inet filter input' chain, so nothing here blocks these ports"
    return 0
  fi
  local port rules source=''
  [[ -n $from ]] && source="$([[ $family == ipv6 ]] && echo ip6 || echo ip) saddr $from "
  rules=$(nft list chain inet filter input)
  for port in "${ports[@]}"; do
    if grep -q "comment \"swarmpi ${port}\"" <<<"$rules"; then
      say "nftables: $port already open"
    else
      nft insert rule inet filter input ${source}"${port#*/}" dport "${port%/*}" accept comment "\"swarmpi ${port}\""
      did "nftables: opened $port"
    fi
  done
  if ((encrypted)); then
    if grep -q 'comment "swarmpi esp"' <<<"$rules"; then
      say "nftables: esp already allowed"
    else
      nft insert rule inet filter input ${source}meta l4proto esp accept comment '"swarmpi esp"'
      did "nftables: allowed esp"
    fi
  fi
  ((changed)) && say "nftables: save the ruleset (nft list ruleset > /etc/nftables.conf) to keep it after a reboot"
  return 0
}

case $tool in
  ufw) with_ufw ;;
  firewalld | firewalld-offline) with_firewalld ;;
  nftables) with_nftables ;;
  *) die "unknown --tool $tool (ufw, firewalld, firewalld-offline or nftables)" ;;
esac
if ((changed)); then say "done: $changed change(s)"; else say "done: nothing to change"; fi
