// A worker's own SO_REUSEPORT UDP socket for one (address, port) of one app, and the flows that
// arrived on it. Client datagrams are read in batches (recvmmsg); each client address gets a
// Flow with its own connected socket toward an origin, so replies map back without a lookup and
// leave, batched (sendmmsg), from the edge address the client sent to (IP_PKTINFO on wildcard
// binds). Worker thread only.
#pragma once

#include <memory>

#include "core/event_loop.h"
#include "core/fd_budget.h"
#include "core/unique_fd.h"
#include "net/ip_addr.h"
#include "origin/origin_set.h"
#include "tcp/app_runtime.h"
#include "telemetry/close_reason.h"
#include "telemetry/conn_event.h"
#include "udp/flow_table.h"
#include "udp/kernel_flow.h"
#include "udp/udp_context.h"

namespace rampart::udp {

class UdpListener;

// One client's flow: the connected socket toward its origin, its counters and the leases of the
// shared counts it holds (its unit of the flow budget, its origin's active count), given back
// when it ends.
class Flow : public FlowNode, public core::EventHandler, public core::Retirable {
 public:
  void on_events(uint32_t events) override;

  UdpListener* listener = nullptr;
  std::shared_ptr<const tcp::AppRuntime> app_rt;
  telemetry::StatsSlot* stats = nullptr;  // the app's counters of this worker (in app_rt->stats)
  core::UniqueFd fd;
  core::FdUnit unit;                 // kUdpUnconfirmed, then kUdpConfirmed once confirmed
  origin::OriginLease origin_lease;  // after app_rt: given back before the app goes
  net::SockAddr client;
  net::SockAddr edge;  // the address the client sent to
  net::SockAddr origin;
  uint64_t bytes_in = 0;   // from the client
  uint64_t bytes_out = 0;  // from the origin
  int64_t connect_ns = 0;
  bool header_sent = false;  // proxy_protocol_udp: first
  int client_ifindex = 0;    // where the client's datagrams arrive (IP_PKTINFO)
  int origin_ifindex = 0;    // where the origin's replies arrive
  KernelFlow kernel;         // relayed by the kernel (udp/kernel_flow.h)
  guard::GeoInfo geo;        // ClientCountry / ClientAsn of the flow's events
};

class UdpListener : public core::EventHandler, public core::Retirable {
 public:
  UdpListener(UdpContext* ctx, core::UniqueFd fd, const net::SockAddr& addr,
              std::shared_ptr<const tcp::AppRuntime> app);
  ~UdpListener() override;

  void set_app(std::shared_ptr<const tcp::AppRuntime> app) { app_ = std::move(app); }
  // The app as of the last reload (a flow's app_rt is the one it was opened with).
  const std::shared_ptr<const tcp::AppRuntime>& app() const { return app_; }
  // This socket's slot in the UDP generation program's socket array (-1: none).
  void set_slot(int slot) { slot_ = slot; }
  // Lists every flow of this listener as owned by its slot (udp/flow_owner.h).
  void own_flows();
  const net::SockAddr& addr() const { return addr_; }
  int fd() const { return fd_.get(); }
  // Stops receiving and closes every flow of this listener.
  void close();
  void on_events(uint32_t events) override;
  // Replies from a flow's origin.
  void on_origin_readable(Flow* f);
  // Ends a flow (expiry, eviction, shutdown): takes it out of the flow table if it is still
  // there, logs its disconnect, gives back its leases and retires it.
  void end_flow(Flow* f, telemetry::CloseReason why);

 private:
  Flow* flow_for(const net::SockAddr& client, const net::SockAddr& edge);
  Flow* open_flow(const net::SockAddr& client, const net::SockAddr& edge);
  // Room for a new flow of `app_id` under the app's cap and this worker's share of unconfirmed
  // flows, evicting what the policy allows; false (counted) when nothing may go.
  bool make_room(const std::string& app_id, uint64_t app_cap);
  // How many new flows one readiness event of the listener may open before it yields to the
  // other sockets of the worker (a quarter of this worker's unconfirmed share, one batch at
  // least).
  uint64_t new_flows_per_event() const;
  // Closes an evicted flow and counts it under `reason`.
  void evict(FlowNode* v, telemetry::Counter* reason);
  // The client of a flow that got a reply spoke again: the flow joins the confirmed ones if the
  // budget has room for it.
  void confirm(Flow* f);
  // Writes the app's PROXY v2 / SPP header in the headroom before `payload`; *start is where the
  // datagram now begins; returns the header's length.
  size_t add_header(Flow* f, uint8_t* payload, uint8_t** start);
  // Sends the batch's datagrams queued in Batch::pending to their origins.
  void send_pending(size_t count);
  // Sends `count` datagrams on `fd` (to `dst` when not connected, from the address in the
  // `pktinfo` control message when given), equal-sized runs as one UDP GSO send each. Returns
  // how many datagrams the kernel took, and adds their bytes to *bytes when given.
  size_t send_datagrams(int fd, const net::SockAddr* dst, const uint8_t* pktinfo,
                        size_t pktinfo_len, iovec* iov, size_t count, uint64_t* bytes = nullptr);
  void emit(const Flow& f, telemetry::EventType type, uint16_t status);

  UdpContext* ctx_;
  core::UniqueFd fd_;
  int slot_ = -1;
  net::SockAddr addr_;
  bool wildcard_;
  bool pktinfo_;  // datagrams carry IP_PKTINFO: wildcard binds, or the kernel relay is on
  std::shared_ptr<const tcp::AppRuntime> app_;
};

}  // namespace rampart::udp
