#!/usr/bin/env bash
# test_integrity.sh (256 MiB each way at once, SHA-256 on both ends; the half-close) with
# kernel_relay: on: the bytes move through the sockmap, and every assertion holds unchanged.
RPT_KERNEL_RELAY=on exec bash "$(dirname "$0")/test_integrity.sh"
