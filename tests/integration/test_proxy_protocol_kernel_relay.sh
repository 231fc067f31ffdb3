#!/usr/bin/env bash
# integration: parallel
# test_proxy_protocol.sh with kernel_relay: on: the PROXY header is written by user space, then
# the sockmap relays the rest (its byte count starts after the header).
RPT_KERNEL_RELAY=on exec bash "$(dirname "$0")/test_proxy_protocol.sh"
