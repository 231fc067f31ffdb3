#include "udp/udp_listener.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"
#include "net/proxy_protocol.h"
#include "udp/flow_owner.h"

namespace rampart::udp {

namespace {

// A flow ends by the edge's decision (idle expiry, eviction, shutdown): Spectrum logs 200.
constexpr telemetry::CloseReason kFlowEnded{telemetry::Side::kEdge, telemetry::Cause::kNormal};

constexpr int kRoundsPerEvent = 8;  // then yield to other sockets (level-triggered: no loss)

// The destination address of a received datagram and the interface it arrived on, from its
// IP_PKTINFO / IPV6_PKTINFO.
bool pktinfo_dst(msghdr* h, uint16_t port, net::SockAddr* out, int* ifindex) {
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      *out = net::SockAddr(net::IpAddr::v4(ntohl(pi.ipi_addr.s_addr)), port);
      *ifindex = pi.ipi_ifindex;
      return true;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      std::array<uint8_t, 16> b;
      std::memcpy(b.data(), &pi.ipi6_addr, 16);
      *out = net::SockAddr(net::IpAddr::v6(b), port);
      *ifindex = static_cast<int>(pi.ipi6_ifindex);
      return true;
    }
  }
  return false;
}

// Asks for the IP_PKTINFO / IPV6_PKTINFO of every datagram `fd` receives.
void want_pktinfo(int fd, int family) {
  int one = 1;
  if (family == AF_INET)
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  else
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
}

// Writes a cmsg that makes a reply leave from `src`; returns the control length.
size_t write_pktinfo(uint8_t* buf, size_t cap, const net::SockAddr& src) {
  std::memset(buf, 0, cap);
  msghdr h{};
  h.msg_control = buf;
  h.msg_controllen = cap;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (src.family() == AF_INET) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, src.ip().bytes(), 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof(in_pktinfo));
  }
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo pi{};
  std::memcpy(&pi.ipi6_addr, src.ip().bytes(), 16);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof(in6_pktinfo));
}

}  // namespace

void Flow::on_events(uint32_t) {
  if (fd.valid()) listener->on_origin_readable(this);
}

UdpListener::UdpListener(UdpContext* ctx, core::UniqueFd fd, const net::SockAddr& addr,
                         std::shared_ptr<const tcp::AppRuntime> app)
    : ctx_(ctx),
      fd_(std::move(fd)),
      addr_(addr),
      wildcard_(addr.ip().is_unspecified()),
      pktinfo_(wildcard_ || ctx->relay != nullptr),
      app_(std::move(app)) {
  // The kernel relay needs the interface each client's datagrams arrive on.
  if (pktinfo_) want_pktinfo(fd_.get(), addr_.family());
  ctx_->loop->add(fd_.get(), EPOLLIN, this);
}

UdpListener::~UdpListener() {
  close();
}

void UdpListener::close() {
  if (!fd_.valid()) return;
  std::vector<FlowNode*> mine;
  ctx_->flows.for_each([&](FlowNode* n) {
    if (n->key.listener == this) mine.push_back(n);
  });
  for (FlowNode* n : mine) end_flow(static_cast<Flow*>(n), kFlowEnded);
  ctx_->loop->remove(fd_.get());
  fd_.reset();
}

void UdpListener::on_events(uint32_t) {
  Batch& b = ctx_->batch;
  const uint64_t new_flows_before = ctx_->new_flows;
  for (int round = 0; round < kRoundsPerEvent && fd_.valid(); ++round) {
    for (size_t i = 0; i < Batch::kSize; ++i) {
      b.iov[i] = iovec{b.payload(i), Batch::kMaxPayload};
      msghdr& h = b.msgs[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &b.names[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &b.iov[i];
      h.msg_iovlen = 1;
      if (pktinfo_) {
        h.msg_control = b.control[i].data();
        h.msg_controllen = b.control[i].size();
      }
    }
    int n = recvmmsg(fd_.get(), b.msgs.data(), Batch::kSize, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    size_t pending = 0;
    const guard::AppPolicy* policy = ctx_->guard != nullptr ? app_->guard.get() : nullptr;
    const int64_t now = ctx_->loop->now_ms();
    for (int i = 0; i < n; ++i) {
      msghdr& h = b.msgs[i].msg_hdr;
      net::SockAddr client =
          net::SockAddr::from(reinterpret_cast<sockaddr*>(&b.names[i]), h.msg_namelen);
      // Reflection ports, access rules, bans and the source's rate, before any flow state.
      if (policy != nullptr &&
          ctx_->guard->check_datagram(*policy, client, now) != guard::Reason::kNone)
        continue;
      net::SockAddr edge = addr_;
      int ifindex = 0;
      if (pktinfo_ && (!pktinfo_dst(&h, addr_.port(), &edge, &ifindex) || !wildcard_)) edge = addr_;
      Flow* f = flow_for(client, edge);
      if (f == nullptr) continue;
      f->client_ifindex = ifindex;
      if (f->replied && !f->confirmed) {
        confirm(f);
        // Established: both directions' interfaces are known (udp/kernel_flow.h).
        if (f->confirmed) maybe_move(ctx_, f);
      } else if (f->confirmed && !f->kernel.judged) {
        maybe_move(ctx_, f);  // a reload took it out of the kernel; this datagram passed
      }
      f->bytes_in += b.msgs[i].msg_len;
      if (f->stats != nullptr) {
        f->stats->bytes_ingress.add(b.msgs[i].msg_len);
        f->stats->datagrams_ingress.inc();
      }
      ctx_->flows.touch(f, ctx_->loop->now_ms());
      b.pending[pending++] = Batch::Pending{f, static_cast<uint32_t>(i), b.msgs[i].msg_len};
    }
    send_pending(pending);
    if (static_cast<size_t>(n) < Batch::kSize) return;
    // A burst of new flows (a flood of new sources) yields to the replies of the flows it just
    // opened: read on, and the share of unconfirmed flows would turn over before any reply
    // is read, taking legitimate new flows with it.
    if (ctx_->new_flows - new_flows_before >= new_flows_per_event()) return;
  }
}

uint64_t UdpListener::new_flows_per_event() const {
  if (ctx_->budget == nullptr) return UINT64_MAX;
  const uint64_t share = ctx_->budget->limit(core::FdBudget::kUdpUnconfirmed) / ctx_->workers;
  return std::max<uint64_t>(share / 4, Batch::kSize);
}

Flow* UdpListener::flow_for(const net::SockAddr& client, const net::SockAddr& edge) {
  FlowKey key{this, client.ip(), client.port(), edge.ip()};
  if (FlowNode* n = ctx_->flows.find(key)) return static_cast<Flow*>(n);
  return open_flow(client, edge);
}

void UdpListener::evict(FlowNode* v, telemetry::Counter* reason) {
  ++ctx_->counters.flows_evicted;
  ++*reason;
  static_cast<Flow*>(v)->listener->end_flow(static_cast<Flow*>(v), kFlowEnded);
}

bool UdpListener::make_room(const std::string& app_id, uint64_t app_cap) {
  // The app's own cap (its share on this worker): its idlest unconfirmed flow goes first, then
  // its idlest flow (the operator's cap on what the origin sees, as a stick table would).
  while (app_cap > 0 && ctx_->flows.app_size(app_id) >= app_cap) {
    FlowNode* v = ctx_->flows.victim(app_id);
    if (v == nullptr) return false;
    evict(v, &ctx_->counters.shed_app_cap);
  }
  if (ctx_->budget == nullptr) return true;
  // Every new flow is unconfirmed: it takes a place in this worker's share of the unconfirmed
  // budget, which sheds the idlest unconfirmed flow when full. Confirmed flows are never
  // evicted for a new one, so a flood of new sources cannot take their place.
  const uint64_t share =
      std::max<uint64_t>(ctx_->budget->limit(core::FdBudget::kUdpUnconfirmed) / ctx_->workers, 1);
  while (ctx_->flows.unconfirmed_size() >= share) {
    FlowNode* v = ctx_->flows.unconfirmed_victim("");
    if (v == nullptr) {
      ++ctx_->counters.shed_no_room;
      return false;
    }
    evict(v, v->replied ? &ctx_->counters.shed_answered : &ctx_->counters.shed_awaiting);
  }
  return true;
}

void UdpListener::confirm(Flow* f) {
  // Room among the confirmed flows (edge-wide); without it the flow stays unconfirmed, served
  // but evictable, and asks again on its next datagram.
  core::FdUnit confirmed = core::FdUnit::try_take(ctx_->budget, core::FdBudget::kUdpConfirmed);
  if (!confirmed.ok()) return;
  f->unit = std::move(confirmed);  // gives back the unconfirmed unit
  ctx_->flows.confirm(f);
}

Flow* UdpListener::open_flow(const net::SockAddr& client, const net::SockAddr& edge) {
  if (ctx_->draining) return nullptr;
  const tcp::AppRuntime& app = *app_;
  const int64_t now = ctx_->loop->now_ms();
  int idx = app.origins->pick(client.ip(), 0, now);
  if (idx < 0) {
    ++ctx_->counters.drop_no_origin;
    return nullptr;
  }
  if (!make_room(app.cfg.id, app.max_flows_per_worker)) return nullptr;
  const origin::Origin& o = app.origins->at(static_cast<size_t>(idx));
  net::SockAddr origin(o.cfg.ip, config::origin_port_for(app.cfg.ports, o.cfg.ports, edge.port()));
  // The budget was checked by count (make_room): a socket() that still fails (ENFILE: the
  // system's table is full) drops the datagram and keeps every other flow.
  core::UniqueFd fd(::socket(origin.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    if (ctx_->counters.drop_flow_socket++ % 1000 == 0)
      RLOG_WARN("udp app ", app.cfg.id, ": cannot open a flow socket: ", std::strerror(errno));
    return nullptr;
  }
  const auto& egress = origin.family() == AF_INET ? app.egress_v4 : app.egress_v6;
  if (egress && app.egress_bind[static_cast<size_t>(idx)]) {
    net::SockAddr src(*egress, 0);
    if (::bind(fd.get(), src.get(), src.len()) != 0) {
      ++ctx_->counters.drop_flow_socket;
      return nullptr;
    }
  }
  if (ctx_->relay != nullptr) want_pktinfo(fd.get(), origin.family());
  if (::connect(fd.get(), origin.get(), origin.len()) != 0) {
    ++ctx_->counters.drop_no_origin;
    app.origins->report_connect(static_cast<size_t>(idx), false, now);
    return nullptr;
  }
  auto* f = new Flow();
  f->key = FlowKey{this, client.ip(), client.port(), edge.ip()};
  f->app = app.cfg.id;
  f->idle_ms = app.cfg.timeouts.udp_flow_idle.count();
  f->listener = this;
  f->app_rt = app_;
  if (app_->stats) f->stats = &app_->stats->slot(ctx_->worker);
  f->fd = std::move(fd);
  f->origin_lease = origin::OriginLease(*app.origins, static_cast<size_t>(idx));
  f->client = client;
  f->edge = edge;
  f->origin = origin;
  f->connect_ns = core::realtime_ns();
  if (app.guard) guard::Guard::geo(*app.guard, client.ip(), &f->geo);
  ctx_->loop->add(f->fd.get(), EPOLLIN, f);
  ctx_->flows.insert(f, now);
  ++ctx_->new_flows;
  // Taken whatever the limit: make_room() enforced this worker's share of it.
  f->unit = core::FdUnit::take(ctx_->budget, core::FdBudget::kUdpUnconfirmed);
  emit(*f, telemetry::EventType::kConnect, telemetry::status::kOpened);
  if (ctx_->flow_owner_fd >= 0 && slot_ >= 0)
    own_flow(ctx_->flow_owner_fd, client, edge, static_cast<uint32_t>(slot_));
  return f;
}

size_t UdpListener::add_header(Flow* f, uint8_t* payload, uint8_t** start) {
  const config::App& cfg = f->app_rt->cfg;
  *start = payload;
  if (cfg.proxy_protocol == config::ProxyProtocol::kV2 &&
      (cfg.proxy_protocol_udp == config::ProxyProtocolUdp::kEvery || !f->header_sent)) {
    uint8_t hdr[net::kProxyV2MaxLen];
    size_t n = net::encode_proxy_v2(f->client, f->edge, true, hdr, sizeof hdr);
    f->header_sent = true;
    if (n == 0 || n > Batch::kHeadroom) return 0;
    *start -= n;
    std::memcpy(*start, hdr, n);
    return n;
  }
  if (cfg.proxy_protocol == config::ProxyProtocol::kSimple) {
    *start -= net::kSppHeaderLen;
    net::encode_spp(f->client, f->edge, *start);
    return net::kSppHeaderLen;
  }
  return 0;
}

void UdpListener::send_pending(size_t count) {
  Batch& b = ctx_->batch;
  // One sendmmsg per flow for all of its datagrams in this batch, in their arrival order.
  for (size_t j = 0; j < count; ++j) {
    Flow* f = b.pending[j].flow;
    if (f == nullptr) continue;
    size_t m = 0;
    for (size_t k = j; k < count; ++k) {
      if (b.pending[k].flow != f) continue;
      uint8_t* start;
      size_t extra = add_header(f, b.payload(b.pending[k].slot), &start);
      b.out_iov[m] = iovec{start, b.pending[k].len + extra};
      b.out_msgs[m].msg_hdr = msghdr{};
      b.out_msgs[m].msg_hdr.msg_iov = &b.out_iov[m];
      b.out_msgs[m].msg_hdr.msg_iovlen = 1;
      ++m;
      b.pending[k].flow = nullptr;
    }
    if (!f->fd.valid()) continue;  // evicted while this batch was read
    size_t sent = send_datagrams(f->fd.get(), nullptr, nullptr, 0, b.out_iov.data(), m);
    if (sent < m) ctx_->counters.drop_send += m - sent;
  }
}

size_t UdpListener::send_datagrams(int fd, const net::SockAddr* dst, const uint8_t* pktinfo,
                                   size_t pktinfo_len, iovec* iov, size_t count, uint64_t* bytes) {
  Batch& b = ctx_->batch;
  // Runs of equal-sized datagrams (the last may be shorter) leave as one UDP GSO send: one trip
  // through the IP stack instead of one per datagram. Large datagrams go alone (a GSO segment
  // must fit the path MTU).
  constexpr size_t kMaxGsoSegment = 1400;
  constexpr size_t kMaxGsoBytes = 60000;
  size_t msgs = 0;
  for (size_t i = 0; i < count;) {
    size_t run = 1;
    const size_t seg = iov[i].iov_len;
    if (ctx_->gso && seg > 0 && seg <= kMaxGsoSegment) {
      size_t bytes = seg;
      while (i + run < count && iov[i + run].iov_len > 0 && iov[i + run].iov_len <= seg &&
             bytes + iov[i + run].iov_len <= kMaxGsoBytes) {
        bytes += iov[i + run].iov_len;
        ++run;
        if (iov[i + run - 1].iov_len < seg) break;  // a shorter one ends the run
      }
    }
    msghdr& h = b.out_msgs[msgs].msg_hdr;
    h = msghdr{};
    if (dst != nullptr) {
      h.msg_name = const_cast<sockaddr*>(dst->get());
      h.msg_namelen = dst->len();
    }
    h.msg_iov = &iov[i];
    h.msg_iovlen = run;
    uint8_t* control = b.out_control[msgs].data();
    size_t control_len = 0;
    if (pktinfo_len > 0) {
      std::memcpy(control, pktinfo, pktinfo_len);
      control_len = pktinfo_len;
    }
    if (run > 1) {
      auto* c = reinterpret_cast<cmsghdr*>(control + control_len);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t gso_size = static_cast<uint16_t>(seg);
      std::memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
      control_len += CMSG_SPACE(sizeof(uint16_t));
    }
    if (control_len > 0) {
      h.msg_control = control;
      h.msg_controllen = control_len;
    }
    ++msgs;
    i += run;
  }
  size_t sent_datagrams = 0;
  for (size_t m = 0; m < msgs;) {
    int s = sendmmsg(fd, b.out_msgs.data() + m, static_cast<unsigned>(msgs - m), MSG_DONTWAIT);
    if (s > 0) {
      for (int k = 0; k < s; ++k) {
        const msghdr& sent = b.out_msgs[m + static_cast<size_t>(k)].msg_hdr;
        sent_datagrams += sent.msg_iovlen;
        if (sent.msg_iovlen > 1) ++ctx_->counters.gso_sends;
        if (bytes != nullptr)
          for (size_t d = 0; d < sent.msg_iovlen; ++d) *bytes += sent.msg_iov[d].iov_len;
      }
      m += static_cast<size_t>(s);
      continue;
    }
    if (errno == ECONNREFUSED) ++ctx_->counters.origin_icmp_errors;
    msghdr& h = b.out_msgs[m].msg_hdr;
    if (h.msg_iovlen > 1 && (errno == EINVAL || errno == EIO || errno == EOPNOTSUPP)) {
      // The kernel or the route refused GSO: send this run's datagrams one by one.
      ++ctx_->counters.gso_fallbacks;
      if (errno != EINVAL) ctx_->gso = false;
      msghdr one = h;
      one.msg_control = pktinfo_len > 0 ? h.msg_control : nullptr;
      one.msg_controllen = pktinfo_len;
      for (size_t k = 0; k < h.msg_iovlen; ++k) {
        one.msg_iov = h.msg_iov + k;
        one.msg_iovlen = 1;
        if (::sendmsg(fd, &one, MSG_DONTWAIT) >= 0) {
          ++sent_datagrams;
          if (bytes != nullptr) *bytes += one.msg_iov->iov_len;
        }
      }
    }
    // Otherwise (a full socket buffer, an ICMP error) this message is lost: UDP drops.
    ++m;
  }
  return sent_datagrams;
}

void UdpListener::on_origin_readable(Flow* f) {
  Batch& b = ctx_->batch;
  const bool spp = f->app_rt->cfg.proxy_protocol == config::ProxyProtocol::kSimple;
  size_t control_len = 0;
  if (wildcard_) control_len = write_pktinfo(b.control[0].data(), b.control[0].size(), f->edge);
  for (int round = 0; round < kRoundsPerEvent; ++round) {
    for (size_t i = 0; i < Batch::kSize; ++i) {
      b.iov[i] = iovec{b.payload(i), Batch::kMaxPayload};
      msghdr& h = b.msgs[i].msg_hdr;
      h = msghdr{};
      h.msg_iov = &b.iov[i];
      h.msg_iovlen = 1;
    }
    // Until the flow is judged for the kernel relay: the interface the origin's replies use.
    const bool want_ifindex = ctx_->relay != nullptr && !f->kernel.judged;
    if (want_ifindex) {
      b.msgs[0].msg_hdr.msg_control = b.control[1].data();
      b.msgs[0].msg_hdr.msg_controllen = b.control[1].size();
    }
    int n = recvmmsg(f->fd.get(), b.msgs.data(), Batch::kSize, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      // An ICMP error from the origin (port unreachable...) surfaces here; the flow lives on.
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) {
        ++ctx_->counters.origin_icmp_errors;
        continue;
      }
      return;
    }
    if (n == 0) return;
    if (want_ifindex) {
      net::SockAddr dst;
      pktinfo_dst(&b.msgs[0].msg_hdr, 0, &dst, &f->origin_ifindex);
    }
    ctx_->flows.answered(f);  // confirmed if its client speaks again (FlowTable)
    // Turn the received batch into the reply batch in place.
    size_t out = 0;
    for (int i = 0; i < n; ++i) {
      uint8_t* data = b.payload(static_cast<size_t>(i));
      size_t len = b.msgs[i].msg_len;
      f->bytes_out += len;
      if (spp) {
        net::SppHeader h;
        if (!net::decode_spp(data, len, &h) ||
            !(h.client.ip().unmapped() == f->client.ip().unmapped()) ||
            h.client.port() != f->client.port()) {
          ++ctx_->counters.drop_spp_mismatch;
          continue;
        }
        data += net::kSppHeaderLen;
        len -= net::kSppHeaderLen;
      }
      b.iov[out] = iovec{data, len};
      ++out;
    }
    // Every reply of a flow goes to one client from one edge address.
    const uint8_t* pktinfo = control_len > 0 ? b.control[0].data() : nullptr;
    uint64_t sent_bytes = 0;
    size_t sent = send_datagrams(fd_.get(), &f->client, pktinfo, control_len, b.iov.data(), out,
                                 f->stats != nullptr ? &sent_bytes : nullptr);
    if (sent < out) ctx_->counters.drop_send += out - sent;  // the client's socket is full
    if (f->stats != nullptr) {
      f->stats->bytes_egress.add(sent_bytes);
      f->stats->datagrams_egress.add(sent);
    }
    ctx_->flows.touch(f, ctx_->loop->now_ms());
    if (static_cast<size_t>(n) < Batch::kSize) return;
  }
}

void UdpListener::own_flows() {
  if (ctx_->flow_owner_fd < 0 || slot_ < 0) return;
  ctx_->flows.for_each([&](FlowNode* n) {
    auto* f = static_cast<Flow*>(n);
    if (f->listener == this)
      own_flow(ctx_->flow_owner_fd, f->client, f->edge, static_cast<uint32_t>(slot_));
  });
}

void UdpListener::end_flow(Flow* f, telemetry::CloseReason why) {
  if (f->in_table) ctx_->flows.remove(f);
  if (!f->fd.valid()) return;
  leave_kernel(ctx_, f, ctx_->loop->now_ms());  // its map entries first: exact final bytes
  emit(*f, telemetry::EventType::kDisconnect, telemetry::status_of(why));
  if (ctx_->flow_owner_fd >= 0) disown_flow(ctx_->flow_owner_fd, f->client, f->edge);
  f->unit.reset();
  f->origin_lease.reset();
  ctx_->loop->remove(f->fd.get());
  f->fd.reset();
  ctx_->loop->retire(std::unique_ptr<core::Retirable>(f));
}

void UdpListener::emit(const Flow& f, telemetry::EventType type, uint16_t status) {
  telemetry::ConnReporter* r = ctx_->reporter;
  if (r == nullptr || !r->wanted(f.stats)) return;  // telemetry off
  telemetry::ConnFacts facts;
  facts.app = &f.app_rt->cfg;
  facts.stats = f.stats;
  facts.udp = true;
  facts.country = f.geo.country;
  facts.asn = f.geo.asn;
  facts.client = &f.client;
  facts.origin = &f.origin;
  facts.client_bytes = f.bytes_in;
  facts.origin_bytes = f.bytes_out;
  facts.connect_ns = f.connect_ns;
  r->report(type, status, facts);
}

}  // namespace rampart::udp
