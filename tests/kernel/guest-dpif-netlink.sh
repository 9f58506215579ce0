#!/bin/bash
# Runs inside the run-in-guest guest: loads openvswitch, builds the two
# namespaces with veth pairs that test_dpif_netlink expects, runs it.
#   guest-dpif-netlink.sh TEST_BINARY
set -euo pipefail
test_bin=$1
t0=$EPOCHREALTIME
modprobe openvswitch
modprobe veth
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for i in 1 2; do
  ip netns add ns$i
  ip netns exec ns$i sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add v$i type veth peer name v${i}p netns ns$i
  ip link set v$i up
  ip -n ns$i link set v${i}p up
done
echo "guest setup: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')s" \
     "(kernel $(uname -r), $(nproc) CPUs)"
rc=0
"$test_bin" || rc=$?
if [ "$rc" != 0 ]; then
  echo "--- kernel log (openvswitch) ---"
  dmesg | grep -i openvswitch | tail -20
fi
exit "$rc"
