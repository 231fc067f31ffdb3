/* under_attack: the three programs of bench/under_attack.sh (loopback only).
 *
 *   under_attack origin -p PORT
 *       Echo server on 127.0.0.1:PORT behind a proxy that sends PROXY v1. Counts connections by
 *       the client address in the PROXY line; on SIGTERM prints
 *       attacker_conns= attacker_max_open= legit_conns= other_conns= and exits.
 *       The attacker is 127.0.0.2, the legitimate client 127.0.0.1.
 *   under_attack flood -p PORT -b 127.0.0.2 [-c INFLIGHT] -d SECONDS
 *       Opens connections to 127.0.0.1:PORT from the -b address as fast as it can: INFLIGHT
 *       non-blocking connects in progress; an established connection sends 16 bytes and is held
 *       until the proxy closes or resets it, then its slot connects again at once. Prints
 *       attempts= established= closed_by_peer= errors= held_at_end= (errors: refused or reset
 *       before the connection was seen established).
 *   under_attack legit -p PORT -b 127.0.0.1 -r RATE -d SECONDS [-s SIZE] [-T TIMEOUT_MS]
 *       Open loop: connection i starts at t0 + i/RATE whatever happened to the earlier ones
 *       (a population of clients, not one closed loop). Each connects, sends SIZE bytes, reads
 *       them back, closes. Success = the SIZE bytes came back within TIMEOUT_MS. Prints
 *       attempts= ok= failed= err_connect= err_reset= err_timeout= ok_per_s= bytes_per_s=
 *       connect_p50_us= connect_p99_us= rtt_p50_us= rtt_p99_us=
 *       (connect = connect() to established; rtt = connect() to the last byte of the echo;
 *       bytes_per_s counts the echoed payload that came back).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* An IPv4 literal inside 127.0.0.0/8, or die. */
static struct sockaddr_in loopback(const char *host, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        die("bad address '%s'", host);
    if ((ntohl(a.sin_addr.s_addr) >> 24) != 127)
        die("refusing non-loopback address %s", host);
    return a;
}

static void rst_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in microseconds of n sorted ns values. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

/* ---- origin ---------------------------------------------------------------- */

enum { KIND_UNKNOWN, KIND_ATTACKER, KIND_LEGIT, KIND_OTHER };

typedef struct {
    int fd, kind;
    char head[128]; /* the PROXY line until its CRLF */
    size_t hlen;
} oconn_t;

static volatile sig_atomic_t stop_flag;
static void on_term(int sig) { (void)sig; stop_flag = 1; }

static int run_origin(int port)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback("127.0.0.1", port);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0)
        die("origin: bind/listen port %d: %s", port, strerror(errno));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    long count[4] = {0}, attacker_open = 0, attacker_max = 0;
    static char buf[65536];
    struct epoll_event evs[256];
    while (!stop_flag) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            oconn_t *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                if (c->kind == KIND_ATTACKER)
                    attacker_open--;
                close(c->fd);
                free(c);
                continue;
            }
            size_t off = 0;
            if (c->kind == KIND_UNKNOWN) {
                /* Gather the PROXY v1 line ("PROXY TCP4 SRC DST SPORT DPORT\r\n"). */
                while (off < (size_t)r && c->hlen < sizeof c->head - 1) {
                    c->head[c->hlen++] = buf[off++];
                    if (c->hlen >= 2 && c->head[c->hlen - 2] == '\r' && c->head[c->hlen - 1] == '\n')
                        break;
                }
                c->head[c->hlen] = 0;
                if (!strstr(c->head, "\r\n") && c->hlen < sizeof c->head - 1)
                    continue;
                char src[64] = "";
                if (sscanf(c->head, "PROXY %*s %63s", src) != 1)
                    c->kind = KIND_OTHER;
                else if (strcmp(src, "127.0.0.2") == 0)
                    c->kind = KIND_ATTACKER;
                else if (strcmp(src, "127.0.0.1") == 0)
                    c->kind = KIND_LEGIT;
                else
                    c->kind = KIND_OTHER;
                count[c->kind]++;
                if (c->kind == KIND_ATTACKER && ++attacker_open > attacker_max)
                    attacker_max = attacker_open;
            }
            if (off < (size_t)r) /* echo; a short write only loses bytes of a test that fails */
                (void)!write(c->fd, buf + off, (size_t)r - off);
        }
    }
    printf("attacker_conns=%ld attacker_max_open=%ld legit_conns=%ld other_conns=%ld\n",
           count[KIND_ATTACKER], attacker_max, count[KIND_LEGIT], count[KIND_OTHER]);
    return 0;
}

/* ---- flood ------------------------------------------------------------------ */

static int flood_open(int ep, const struct sockaddr_in *src, const struct sockaddr_in *dst, long *errs)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
            die("flood: socket: %s", strerror(errno));
        int one = 1;
        setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)src, sizeof *src) == 0 &&
            (connect(fd, (const struct sockaddr *)dst, sizeof *dst) == 0 || errno == EINPROGRESS)) {
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.fd = fd};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            return fd;
        }
        (*errs)++;
        close(fd);
    }
    return -1;
}

static int run_flood(int port, const char *bind_ip, int inflight, double secs)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in dst = loopback("127.0.0.1", port), src = loopback(bind_ip, 0);
    int ep = epoll_create1(0);
    /* established[fd]: 1 once the connection is up (then EPOLLOUT is no longer wanted). */
    static unsigned char established[1 << 20];
    long attempts = 0, up = 0, closed = 0, errs = 0;
    for (int i = 0; i < inflight; i++) {
        if (flood_open(ep, &src, &dst, &errs) >= 0)
            attempts++;
    }
    uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
    struct epoll_event evs[512];
    static const char junk[16] = "FLOODFLOODFLOOD";
    char buf[256];
    while (now_ns() < end) {
        int n = epoll_wait(ep, evs, 512, 10);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd, err = 0;
            socklen_t len = sizeof err;
            uint32_t e = evs[i].events;
            if (fd >= (int)sizeof established)
                die("flood: fd %d too large", fd);
            if (!established[fd] && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err == 0 && !(e & (EPOLLERR | EPOLLHUP))) {
                    established[fd] = 1;
                    up++;
                    (void)!write(fd, junk, sizeof junk);
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                    continue;
                }
                errs++;
            } else if (established[fd]) {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r > 0 || (r < 0 && errno == EAGAIN))
                    continue; /* the origin's echo: keep holding */
                closed++;
            }
            established[fd] = 0;
            rst_close(fd);
            if (flood_open(ep, &src, &dst, &errs) >= 0)
                attempts++;
        }
    }
    long held = 0;
    for (int fd = 0; fd < (int)sizeof established; fd++) {
        if (established[fd]) {
            held++;
            rst_close(fd);
        }
    }
    printf("attempts=%ld established=%ld closed_by_peer=%ld errors=%ld held_at_end=%ld\n",
           attempts, up, closed, errs, held);
    return 0;
}

/* ---- legit ------------------------------------------------------------------ */

typedef struct {
    int fd, up;
    uint64_t start;
    size_t sent, got;
} lconn_t;

static int run_legit(int port, const char *bind_ip, double rate, double secs, size_t size, double timeout_ms)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in dst = loopback("127.0.0.1", port), src = loopback(bind_ip, 0);
    long total = (long)(rate * secs + 0.5), started = 0, done = 0, ok = 0, oldest = 0;
    long err_connect = 0, err_reset = 0, err_timeout = 0;
    uint64_t *conn_ns = calloc((size_t)total + 1, sizeof *conn_ns);
    uint64_t *rtt_ns = calloc((size_t)total + 1, sizeof *rtt_ns);
    size_t nconn = 0, nrtt = 0;
    lconn_t *cs = calloc((size_t)total + 1, sizeof *cs);
    char *req = malloc(size), *rbuf = malloc(65536);
    memset(req, 'L', size);
    int ep = epoll_create1(0);
    uint64_t t0 = now_ns(), interval = (uint64_t)(1e9 / rate), tmo = (uint64_t)(timeout_ms * 1e6);
    struct epoll_event evs[256];
    while (done < total) {
        uint64_t now = now_ns();
        while (started < total && now >= t0 + (uint64_t)started * interval) {
            lconn_t *c = &cs[started++];
            c->start = now_ns();
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(c->fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
            if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0 ||
                (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) {
                err_connect++;
                close(c->fd);
                c->fd = -1;
                done++;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        }
        /* Time out connections older than the timeout: scan from the oldest one still open (at
         * most rate x timeout of them). */
        while (oldest < started && cs[oldest].fd < 0)
            oldest++;
        for (long i = oldest; i < started; i++) {
            lconn_t *c = &cs[i];
            if (c->fd >= 0 && c->start + tmo < now) {
                err_timeout++;
                close(c->fd);
                c->fd = -1;
                done++;
            }
        }
        int n = epoll_wait(ep, evs, 256, 1);
        for (int i = 0; i < n; i++) {
            lconn_t *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            uint32_t e = evs[i].events;
            int fail = 0;
            if (!c->up) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || (e & (EPOLLERR | EPOLLHUP))) {
                    err_connect++;
                    fail = 1;
                } else {
                    c->up = 1;
                    conn_ns[nconn++] = now_ns() - c->start;
                    ssize_t w = write(c->fd, req, size);
                    c->sent = w > 0 ? (size_t)w : 0;
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (c->sent < size ? EPOLLOUT : 0), .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    continue;
                }
            } else {
                if ((e & EPOLLOUT) && c->sent < size) {
                    ssize_t w = write(c->fd, req + c->sent, size - c->sent);
                    if (w > 0)
                        c->sent += (size_t)w;
                    if (c->sent == size) {
                        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    }
                }
                ssize_t r = read(c->fd, rbuf, 65536);
                if (r > 0) {
                    c->got += (size_t)r;
                    if (c->got >= size) {
                        rtt_ns[nrtt++] = now_ns() - c->start;
                        ok++;
                        close(c->fd); /* graceful FIN */
                        c->fd = -1;
                        done++;
                    }
                    continue;
                }
                if (r < 0 && errno == EAGAIN && !(e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
                    continue;
                err_reset++;
                fail = 1;
            }
            if (fail) {
                close(c->fd);
                c->fd = -1;
                done++;
            }
        }
    }
    qsort(conn_ns, nconn, sizeof *conn_ns, cmp_u64);
    qsort(rtt_ns, nrtt, sizeof *rtt_ns, cmp_u64);
    printf("attempts=%ld ok=%ld failed=%ld err_connect=%ld err_reset=%ld err_timeout=%ld "
           "ok_per_s=%.1f bytes_per_s=%.0f connect_p50_us=%.1f connect_p99_us=%.1f "
           "rtt_p50_us=%.1f rtt_p99_us=%.1f\n",
           total, ok, total - ok, err_connect, err_reset, err_timeout, (double)ok / secs,
           (double)ok * (double)size / secs, pct_us(conn_ns, nconn, 50), pct_us(conn_ns, nconn, 99),
           pct_us(rtt_ns, nrtt, 50), pct_us(rtt_ns, nrtt, 99));
    return 0;
}

int main(int argc, char **argv)
{
    const char *usage = "usage: under_attack origin|flood|legit -p PORT [-b IP] [-c N] [-r RATE] "
                        "[-d SECONDS] [-s SIZE] [-T TIMEOUT_MS]";
    if (argc < 2)
        die("%s", usage);
    const char *mode = argv[1], *bind_ip = "127.0.0.1";
    int port = 0, inflight = 128, opt;
    double rate = 100, secs = 10, timeout_ms = 3000;
    size_t size = 1024;
    optind = 2;
    while ((opt = getopt(argc, argv, "p:b:c:r:d:s:T:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'b': bind_ip = optarg; break;
        case 'c': inflight = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'T': timeout_ms = atof(optarg); break;
        default: die("%s", usage);
        }
    }
    if (port <= 0 || port > 65535 || rate <= 0 || secs <= 0 || secs > 60 || size == 0 || inflight <= 0)
        die("%s", usage);
    if (strcmp(mode, "origin") == 0)
        return run_origin(port);
    if (strcmp(mode, "flood") == 0)
        return run_flood(port, bind_ip, inflight, secs);
    if (strcmp(mode, "legit") == 0)
        return run_legit(port, bind_ip, rate, secs, size, timeout_ms);
    die("%s", usage);
    return 1;
}
