#!/usr/bin/env bash
# test_reload_under_load.sh (200 checked streams across 20 reloads: nothing broken, no byte
# lost) with kernel_relay: on: the streams move through the sockmap while the config changes.
RPT_KERNEL_RELAY=on exec bash "$(dirname "$0")/test_reload_under_load.sh"
