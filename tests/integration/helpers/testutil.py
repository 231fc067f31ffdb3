"""Small helpers shared by the integration tests' Python tools (imported, never run)."""


def hostport(s):
    """'10.0.0.1:80' or '[2001:db8::1]:80' -> (host, port)."""
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def pct(values, p):
    """Nearest-rank percentile p (0-100) of values, in any order (0 when empty)."""
    if not values:
        return 0.0
    values = sorted(values)
    rank = max(1, min(len(values), int(p / 100.0 * len(values) + 0.999999)))
    return values[rank - 1]


def vm_rss_kib(pid):
    """Resident memory of pid in KiB (VmRSS); raises OSError once the process is gone."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
