#include "udp/kernel_flow.h"

#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "net/proxy_protocol.h"
#include "tcp/app_runtime.h"
#include "udp/udp_context.h"
#include "udp/udp_listener.h"

namespace rampart::udp {

namespace {

void fill(rrelay_key* k, const net::SockAddr& src, const net::SockAddr& dst) {
  xdp::UdpRelay::put_addr(src, k->src, &k->sport);
  xdp::UdpRelay::put_addr(dst, k->dst, &k->dport);
}

void fill(rrelay_flow* v, const net::SockAddr& src, const net::SockAddr& dst) {
  xdp::UdpRelay::put_addr(src, v->src, &v->sport);
  xdp::UdpRelay::put_addr(dst, v->dst, &v->dport);
}

// Where a rewritten packet goes: the stack (a local destination reached from loopback), a
// redirect into loopback (a local destination reached from elsewhere), or out of `to`.
uint32_t route_flags(bool from_lo, bool to_lo) {
  if (!to_lo) return 0;
  return from_lo ? RRELAY_F_PASS : RRELAY_F_TO_LO;
}

}  // namespace

bool relay_wanted(config::KernelRelay mode, bool client_on_lo, bool origin_on_lo) {
  switch (mode) {
    case config::KernelRelay::kOff:
      return false;
    case config::KernelRelay::kOn:
      return true;
    case config::KernelRelay::kAuto:
      // Measured (docs/kernel-relay-udp.md, "Measurements"): the kernel path wins over veth and
      // on loopback alike, in round trips and in the edge's CPU. Kept as a decision point: a
      // path that measures slower is left out here.
      (void)client_on_lo;
      (void)origin_on_lo;
      return true;
  }
  return false;
}

void maybe_move(UdpContext* ctx, Flow* f) {
  KernelFlow& k = f->kernel;
  xdp::UdpRelay* relay = ctx->relay;
  if (k.judged || relay == nullptr || !f->fd.valid()) return;
  const std::shared_ptr<const tcp::AppRuntime>& rt = f->listener->app();
  const config::App& cfg = rt->cfg;
  if (cfg.kernel_relay == config::KernelRelay::kOff) return;
  k.judged = true;
  UdpCounters& c = ctx->counters;
  // The program adds a PROXY v2 header to every datagram (proxy_protocol_udp: every; with
  // `first` it went with the flow's first datagram, in user space) and adds / checks / strips
  // SPP; PROXY v1 has no datagram form (docs/kernel-relay-udp.md, "Headers").
  const bool v2 = cfg.proxy_protocol == config::ProxyProtocol::kV2;
  const bool spp = cfg.proxy_protocol == config::ProxyProtocol::kSimple;
  if (cfg.proxy_protocol != config::ProxyProtocol::kOff && !v2 && !spp) {
    ++c.kfb_proxy_protocol;
    return;
  }
  const net::IpAddr client_ip = f->client.ip().unmapped();
  const net::IpAddr edge_ip = f->edge.ip().unmapped();
  if (client_ip.family() != f->origin.ip().unmapped().family() ||
      edge_ip.family() != client_ip.family()) {
    ++c.kfb_family;
    return;
  }
  if (f->client_ifindex <= 0 || f->origin_ifindex <= 0 || !relay->covers(f->client_ifindex) ||
      !relay->covers(f->origin_ifindex)) {
    ++c.kfb_interface;
    return;
  }
  const bool client_lo = f->client_ifindex == relay->loopback_ifindex();
  const bool origin_lo = f->origin_ifindex == relay->loopback_ifindex();
  if (!relay_wanted(cfg.kernel_relay, client_lo, origin_lo)) {
    ++c.kfb_auto;
    return;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(f->fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ++c.kfb_interface;
    return;
  }
  const net::SockAddr local = net::SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len);
  const uint32_t v4 = client_ip.is_v4() ? RRELAY_F_V4 : 0;

  rrelay_flow fwd{}, rev{};
  fill(&k.fwd, f->client, f->edge);
  fill(&fwd, local, f->origin);
  fwd.ifindex = static_cast<uint32_t>(f->origin_ifindex);
  fwd.flags = v4 | route_flags(client_lo, origin_lo);
  if (const guard::AppPolicy* p = rt->guard.get(); p != nullptr && ctx->guard != nullptr) {
    if (!p->dry(guard::FilterId::kAutoban)) fwd.flags |= RRELAY_F_BANS;
    fwd.ban_v6_prefix = static_cast<uint8_t>(ctx->guard->ban_v6_prefix());
    if (!p->dry(guard::FilterId::kRateLimit) && p->per_ip.udp_packets_per_second > 0) {
      fwd.flags |= RRELAY_F_UDP_RATE;
      fwd.udp_rate = p->per_ip.udp_packets_per_second;
      fwd.udp_burst = p->per_ip.udp_burst;
      fwd.v6_prefix = static_cast<uint8_t>(p->v6_prefix);
      fwd.app_no = relay->app_no(cfg.id);
    }
  }
  if (spp || (v2 && cfg.proxy_protocol_udp == config::ProxyProtocolUdp::kEvery)) {
    uint8_t hdr[net::kProxyV2MaxLen] = {};
    size_t n = net::kSppHeaderLen;
    if (spp)
      net::encode_spp(f->client, f->edge, hdr);
    else
      n = net::encode_proxy_v2(f->client, f->edge, true, hdr, sizeof hdr);
    if (n == 0 || n > RRELAY_HDR_MAX || n % 2 != 0) {
      ++c.kfb_proxy_protocol;
      return;
    }
    std::memcpy(fwd.hdr, hdr, n);  // the rest stays zero: the program's checksum padding
    fwd.hdr_len = static_cast<uint32_t>(n);
    fwd.flags |= RRELAY_F_ADD_HDR;
  }
  fill(&k.rev, f->origin, local);
  fill(&rev, f->edge, f->client);
  rev.ifindex = static_cast<uint32_t>(f->client_ifindex);
  rev.flags = v4 | route_flags(origin_lo, client_lo) | (spp ? RRELAY_F_STRIP_SPP : 0);
  if (!relay->add(k.fwd, fwd, k.rev, rev)) {
    ++c.kfb_map_full;
    return;
  }
  k.active = true;
  k.app = rt;
  ++c.kernel_moved;
}

namespace {

void apply_fwd(UdpContext* ctx, Flow* f, const rrelay_flow& v, int64_t now_ms) {
  KernelFlow& k = f->kernel;
  const uint64_t packets = v.packets - k.packets_in, bytes = v.bytes - k.bytes_in;
  f->bytes_in += bytes;
  if (f->stats != nullptr) {
    f->stats->bytes_ingress.add(bytes);
    f->stats->datagrams_ingress.add(packets);
  }
  const guard::AppPolicy* p = f->kernel.app->guard.get();  // the limits the program applied
  if (p != nullptr && ctx->guard != nullptr) {
    const net::IpAddr ip = f->client.ip();
    ctx->guard->kernel_dropped(*p, ip, guard::Reason::kBanned, v.drop_banned - k.drop_banned,
                               now_ms);
    ctx->guard->kernel_dropped(*p, ip, guard::Reason::kUdpRateLimit, v.drop_rate - k.drop_rate,
                               now_ms);
  }
  k.packets_in = v.packets;
  k.bytes_in = v.bytes;
  k.drop_banned = v.drop_banned;
  k.drop_rate = v.drop_rate;
}

void apply_rev(Flow* f, const rrelay_flow& v) {
  KernelFlow& k = f->kernel;
  const uint64_t packets = v.packets - k.packets_out, bytes = v.bytes - k.bytes_out;
  f->bytes_out += bytes;  // as the origin sent them, like user space counts them
  if (f->stats != nullptr) {
    // What reached the client: without the SPP header the program stripped from each.
    const uint64_t stripped = (v.flags & RRELAY_F_STRIP_SPP) ? packets * RRELAY_SPP_LEN : 0;
    f->stats->bytes_egress.add(bytes - stripped);
    f->stats->datagrams_egress.add(packets);
  }
  k.packets_out = v.packets;
  k.bytes_out = v.bytes;
}

}  // namespace

void sync_kernel_flow(UdpContext* ctx, Flow* f, int64_t now_ms) {
  KernelFlow& k = f->kernel;
  if (!k.active) return;
  rrelay_flow v;
  uint64_t last = k.last_ns;
  if (ctx->relay->read(k.fwd, &v)) {
    apply_fwd(ctx, f, v, now_ms);
    if (v.last_ns > last) last = v.last_ns;
  }
  if (ctx->relay->read(k.rev, &v)) {
    apply_rev(f, v);
    if (v.last_ns > last) last = v.last_ns;
  }
  if (last > k.last_ns) {
    k.last_ns = last;
    if (f->in_table) ctx->flows.touch(f, now_ms);
  }
  if (f->listener->app() != k.app) {
    leave_kernel(ctx, f, now_ms);
    k.judged = false;
    ++ctx->counters.kernel_requeued;
  }
}

void sync_kernel_flows(UdpContext* ctx, int64_t now_ms) {
  if (ctx->relay == nullptr) return;
  std::vector<Flow*> active;
  ctx->flows.for_each([&](FlowNode* n) {
    if (static_cast<Flow*>(n)->kernel.active) active.push_back(static_cast<Flow*>(n));
  });
  for (Flow* f : active) sync_kernel_flow(ctx, f, now_ms);
}

void leave_kernel(UdpContext* ctx, Flow* f, int64_t now_ms) {
  KernelFlow& k = f->kernel;
  if (!k.active) return;
  // Entries first, each read as it is deleted (one syscall): the counts are final, and from here
  // on the flow's datagrams reach its socket.
  rrelay_flow v;
  if (ctx->relay->take(k.fwd, &v)) apply_fwd(ctx, f, v, now_ms);
  if (ctx->relay->take(k.rev, &v)) apply_rev(f, v);
  k.active = false;
  k.app.reset();
  ++ctx->counters.kernel_ended;
}

}  // namespace rampart::udp
