#!/bin/bash
# Starts a swarmpi node: its own host key, the cluster's authorized key, sshd.
# Prints the host public key to the log, where the manager reads it through
# the swarm (out of band) before it ever connects.
set -euo pipefail

user=${SWARMPI_MPI_USER:-mpi}
home=$(getent passwd "$user" | cut -d: -f6)
keys_src=${SWARMPI_AUTHORIZED_KEYS:-/run/secrets/swarmpi_authorized_keys}
role=${SWARMPI_ROLE:-node}

# One host key per container, made at its first start and kept when the same
# container starts again (the gateway does, with the manager's Docker): the
# manager trusts the key the container reported and must meet the same one.
if [[ ! -s /etc/ssh/ssh_host_ed25519_key ]]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C '' -f /etc/ssh/ssh_host_ed25519_key
fi

if [[ -r $keys_src ]]; then
  install -m 0600 -o "$user" -g "$user" "$keys_src" "$home/.ssh/authorized_keys"
else
  echo "swarmpi-entrypoint: warning: no authorized keys at $keys_src, nobody can log in" >&2
fi

# Only the gateway forwards connections (to the cluster's own containers).
if [[ $role == gateway ]]; then
  echo "AllowTcpForwarding local" >/etc/ssh/sshd_config.d/10-role.conf
else
  echo "AllowTcpForwarding no" >/etc/ssh/sshd_config.d/10-role.conf
fi

addrs=$(ip -4 -o addr show scope global | awk '{print $4}' | paste -sd, -)
echo "swarmpi-hostkey task=${SWARMPI_TASK_ID:-$role} addrs=${addrs:-none} $(cat /etc/ssh/ssh_host_ed25519_key.pub)"
exec /usr/sbin/sshd -D -e
