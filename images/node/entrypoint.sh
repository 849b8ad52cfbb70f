#!/bin/bash
# Starts a swarmpi node: its own host key, then sshd (which reads the
# manager's key from the swarm secret itself).
# Prints the host public key to the log, where the manager reads it through
# the swarm (out of band) before it ever connects.
set -euo pipefail

role=${SWARMPI_ROLE:-node}

# One host key per container, made at its first start and kept when the same
# container starts again (the gateway does, with the manager's Docker): the
# manager trusts the key the container reported and must meet the same one.
if [[ ! -s /etc/ssh/ssh_host_ed25519_key ]]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C '' -f /etc/ssh/ssh_host_ed25519_key
fi

# Only the gateway forwards connections (to the cluster's own containers,
# as its authorized key's permitopen lists them), and it lets in only the
# manager's key, from the file swarmpi puts in /etc. A node lets in the
# manager's key from the swarm secret (read-only, root's), then the cluster
# key swarmpi installs for mpirun between containers.
if [[ $role == gateway ]]; then
  printf 'AuthorizedKeysFile /etc/swarmpi/authorized_keys\nAllowTcpForwarding local\nPermitListen none\n' \
    >/etc/ssh/sshd_config.d/10-role.conf
else
  printf 'AuthorizedKeysFile /run/secrets/swarmpi_authorized_keys .ssh/authorized_keys\nDisableForwarding yes\n' \
    >/etc/ssh/sshd_config.d/10-role.conf
fi

# On the servers' own network (deploy --network host) the cluster's sshd
# listens on the cluster's port, on every address of the server. A port
# another program holds is said with exit status 75, which the manager
# reads from the task's state and names.
if [[ $role == node && -n ${SWARMPI_SSH_PORT:-} ]]; then
  if [[ -n $(ss -Htln "sport = :$SWARMPI_SSH_PORT") ]]; then
    echo "swarmpi: port $SWARMPI_SSH_PORT is already in use on this server" >&2
    exit 75
  fi
  printf 'Port %s\n' "$SWARMPI_SSH_PORT" >>/etc/ssh/sshd_config.d/10-role.conf
fi

addrs=$(ip -4 -o addr show scope global | awk '{print $4}' | paste -sd, -)
echo "swarmpi-hostkey task=${SWARMPI_TASK_ID:-$role} addrs=${addrs:-none} $(cat /etc/ssh/ssh_host_ed25519_key.pub)"
exec /usr/sbin/sshd -D -e
