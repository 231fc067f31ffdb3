#!/usr/bin/env bash
# integration: parallel
# test_analytics.sh with kernel_relay: on for its TCP apps: the byte counters in /metrics, the
# analytics and the events stay exact when the kernel moves the bytes (read from the sockmap
# program's per-connection counters at close and once a second).
RPT_KERNEL_RELAY=on exec bash "$(dirname "$0")/test_analytics.sh"
