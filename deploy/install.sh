#!/usr/bin/env bash
# Prepares a Debian or Ubuntu server for swarmpi: Docker Engine from the
# distribution's packages (if absent), the swarmpi binary or package, and a
# check that the kernel has what overlay networks need. Idempotent: run it
# again and it changes nothing, saying so. Needs root.
#
#   deploy/install.sh [--deb FILE | --binary FILE] [--no-docker]
#
#   --deb FILE      install swarmpi from this .deb (scripts/package builds it)
#   --binary FILE   install this swarmpi binary to /usr/local/bin
#   --no-docker     do not install Docker (it is managed some other way)
set -euo pipefail

changed=0
say() { printf 'install: %s\n' "$*"; }
did() { changed=$((changed + 1)); say "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

deb='' binary='' docker=1
while (($#)); do
  case $1 in
    --deb) deb=${2:?--deb needs a file}; shift 2 ;;
    --binary) binary=${2:?--binary needs a file}; shift 2 ;;
    --no-docker) docker=0; shift ;;
    *) die "unknown option $1 (see the top of this script)" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages)"
[[ -r /etc/os-release ]] && . /etc/os-release
case " ${ID:-} ${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*) ;;
  *) die "this script knows Debian and Ubuntu; found '${ID:-unknown}'" ;;
esac

apt_updated=0
apt_install() {
  if ((apt_updated == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_docker() {
  if command -v dockerd >/dev/null 2>&1; then
    say "docker engine: present ($(dockerd --version 2>/dev/null | head -1))"
  else
    apt_install docker.io
    did "docker engine: installed docker.io ($(dockerd --version | head -1))"
  fi
  # Started and enabled where systemd runs it (not in a container).
  if [[ -d /run/systemd/system ]] && ! systemctl is-active --quiet docker; then
    systemctl enable --now docker
    did "docker engine: started and enabled"
  fi
}

install_swarmpi() {
  if [[ -n $deb ]]; then
    local want have
    want=$(dpkg-deb -f "$deb" Version)
    have=$(dpkg-query -W -f '${Version}' swarmpi 2>/dev/null || true)
    if [[ $have == "$want" ]]; then
      say "swarmpi: package $want already installed"
    else
      apt_install "$(realpath "$deb")"
      did "swarmpi: installed package $want"
    fi
  elif [[ -n $binary ]]; then
    if cmp -s "$binary" /usr/local/bin/swarmpi; then
      say "swarmpi: /usr/local/bin/swarmpi is already this binary"
    else
      install -m 0755 "$binary" /usr/local/bin/swarmpi
      did "swarmpi: installed /usr/local/bin/swarmpi"
    fi
  elif command -v swarmpi >/dev/null 2>&1; then
    say "swarmpi: present at $(command -v swarmpi)"
  else
    say "swarmpi: not installed (pass --deb or --binary)"
  fi
}

# Overlay networks need VXLAN; encrypted ones need ESP (xfrm). A module
# built in or loadable is enough: nothing is changed here, only reported.
check_kernel() {
  local missing=() module
  for module in vxlan xfrm_user esp4; do
    if [[ -d /sys/module/$module ]] || modprobe -n "$module" >/dev/null 2>&1 \
      || grep -qw "$module" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then
      continue
    fi
    missing+=("$module")
  done
  if ((${#missing[@]})); then
    say "kernel: WARNING: no ${missing[*]} module: overlay networks (vxlan) or encrypted ones (xfrm_user, esp4) will not work"
  else
    say "kernel: vxlan, xfrm_user and esp4 available"
  fi
}

((docker)) && install_docker
install_swarmpi
check_kernel
if ((changed)); then
  say "done: $changed change(s)"
else
  say "done: nothing to change"
fi
