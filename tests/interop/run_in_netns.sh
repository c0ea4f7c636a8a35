#!/bin/sh
# Runs a command in a new network namespace with only `lo` up, so that the peers the interop
# tests start (iaxmodem listens on 0.0.0.0) reach nothing outside this machine's loopback, and in
# a private mount namespace, so that a test may bind its own /etc/resolv.conf (slow DNS).
set -e
if [ "$VFAX_IN_NETNS" != 1 ]; then
  exec unshare --net --mount -- env VFAX_IN_NETNS=1 sh "$0" "$@"
fi
ip link set lo up
exec "$@"
