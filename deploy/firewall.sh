#!/usr/bin/env bash
# Opens the ports a Docker swarm (and so swarmpi) needs between servers,
# with the firewall this server uses: ufw, firewalld or plain nftables.
# Idempotent: run it again and it changes nothing, saying so. Needs root.
#
#   deploy/firewall.sh [--tool ufw|firewalld|nftables] [--manager]
#                      [--encrypted] [--from CIDR]
#
#   --manager     also 2377/tcp (swarm management), on managers only
#   --encrypted   also ESP (IP protocol 50), for `deploy --encrypted`
#   --from CIDR   only from these addresses (the servers' network);
#                 default: from anywhere
#
# Always: 7946/tcp and 7946/udp (node gossip), 4789/udp (VXLAN, the overlay's
# data). Nothing else: sshd in the containers is never published beyond the
# manager's loopback.
set -euo pipefail

changed=0
say() { printf 'firewall: %s\n' "$*"; }
did() { changed=$((changed + 1)); say "$*"; }
die() { printf 'firewall: error: %s\n' "$*" >&2; exit 1; }

tool='' manager=0 encrypted=0 from=''
while (($#)); do
  case $1 in
    --tool) tool=${2:?--tool needs ufw, firewalld or nftables}; shift 2 ;;
    --manager) manager=1; shift ;;
    --encrypted) encrypted=1; shift ;;
    --from) from=${2:?--from needs a CIDR}; shift 2 ;;
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

with_ufw() {
  local port rule out
  for port in "${ports[@]}"; do
    rule=(allow proto "${port#*/}" to any port "${port%/*}")
    [[ -n $from ]] && rule=(allow proto "${port#*/}" from "$from" to any port "${port%/*}")
    out=$(ufw "${rule[@]}")
    [[ $out == *Skipping* ]] && say "ufw: $port already open" || did "ufw: opened $port"
  done
  if ((encrypted)); then
    out=$(ufw allow proto esp from "${from:-any}" to any)
    [[ $out == *Skipping* ]] && say "ufw: esp already allowed" || did "ufw: allowed esp"
  fi
}

with_firewalld() {
  local port
  for port in "${ports[@]}"; do
    if firewall-cmd --permanent --query-port="$port" >/dev/null; then
      say "firewalld: $port already open"
    else
      firewall-cmd --permanent --add-port="$port" >/dev/null
      did "firewalld: opened $port"
    fi
  done
  if ((encrypted)); then
    if firewall-cmd --permanent --query-protocol=esp >/dev/null; then
      say "firewalld: esp already allowed"
    else
      firewall-cmd --permanent --add-protocol=esp >/dev/null
      did "firewalld: allowed esp"
    fi
  fi
  ((changed)) && firewall-cmd --reload >/dev/null && say "firewalld: reloaded"
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
  [[ -n $from ]] && source="ip saddr $from "
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
  firewalld) with_firewalld ;;
  nftables) with_nftables ;;
  *) die "unknown --tool $tool (ufw, firewalld or nftables)" ;;
esac
if ((changed)); then say "done: $changed change(s)"; else say "done: nothing to change"; fi
