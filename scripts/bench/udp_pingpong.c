// UDP micro-benchmark for the kernel relay (docs/kernel-relay-udp.md, "Measurements").
//   udp_pingpong echo IP PORT              an echo server (one thread)
//   udp_pingpong ping IP PORT FLOWS SECS   FLOWS sockets, each one datagram in flight:
//                                          prints round trips/s and the median RTT in us
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int fam = strchr(argv[2], ':') ? AF_INET6 : AF_INET;
  if (fam == AF_INET) {
    struct sockaddr_in* a = (struct sockaddr_in*)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &a->sin_addr);
    len = sizeof *a;
  } else {
    struct sockaddr_in6* a = (struct sockaddr_in6*)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(atoi(argv[3]));
    inet_pton(AF_INET6, argv[2], &a->sin6_addr);
    len = sizeof *a;
  }
  char buf[2048];
  if (strcmp(argv[1], "echo") == 0) {
    int s = socket(fam, SOCK_DGRAM, 0);
    if (bind(s, (struct sockaddr*)&ss, len) != 0) return perror("bind"), 1;
    for (;;) {
      struct sockaddr_storage p;
      socklen_t pl = sizeof p;
      ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr*)&p, &pl);
      if (n >= 0) sendto(s, buf, n, 0, (struct sockaddr*)&p, pl);
    }
  }
  int flows = atoi(argv[4]);
  double secs = atof(argv[5]);
  struct pollfd* pf = calloc(flows, sizeof *pf);
  double* sent_at = calloc(flows, sizeof *sent_at);
  size_t cap = 1 << 22, nrtt = 0;
  double* rtt = malloc(cap * sizeof *rtt);
  memset(buf, 'x', 64);
  for (int i = 0; i < flows; ++i) {
    pf[i].fd = socket(fam, SOCK_DGRAM, 0);
    pf[i].events = POLLIN;
    connect(pf[i].fd, (struct sockaddr*)&ss, len);
    // Set the flow up (a reply, then the client speaks again: confirmed, moved).
    for (int k = 0; k < 2; ++k) {
      send(pf[i].fd, buf, 64, 0);
      struct pollfd one = pf[i];
      if (poll(&one, 1, 2000) != 1) return fprintf(stderr, "no reply in setup\n"), 1;
      recv(pf[i].fd, buf, sizeof buf, 0);
    }
  }
  usleep(200000);
  double start = now(), end = start + secs;
  for (int i = 0; i < flows; ++i) {
    sent_at[i] = now();
    send(pf[i].fd, buf, 64, 0);
  }
  unsigned long done = 0, lost = 0;
  while (now() < end) {
    int r = poll(pf, flows, 200);
    double t = now();
    for (int i = 0; i < flows; ++i) {
      if (r > 0 && (pf[i].revents & POLLIN)) {
        if (recv(pf[i].fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
          if (nrtt < cap) rtt[nrtt++] = t - sent_at[i];
          ++done;
        }
      } else if (t - sent_at[i] < 0.2) {
        continue;
      } else {
        ++lost;  // resend after 200 ms
      }
      sent_at[i] = now();
      send(pf[i].fd, buf, 64, 0);
    }
  }
  double el = now() - start;
  qsort(rtt, nrtt, sizeof *rtt, cmp);
  printf("round_trips_per_s=%.0f rtt_p50_us=%.1f rtt_p99_us=%.1f lost=%lu\n", done / el,
         nrtt ? rtt[nrtt / 2] * 1e6 : 0, nrtt ? rtt[nrtt * 99 / 100] * 1e6 : 0, lost);
  return 0;
}
