// FlowTable: the per-worker UDP flow bookkeeping (index, global and per-app LRU orders kept apart
// for unconfirmed and confirmed flows, idle expiry). Time is injected, so every case here is
// deterministic.
#include "udp/flow_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace rampart::udp {
namespace {

int kListenerA = 0;  // only the addresses matter: FlowKey.listener is an identity
int kListenerB = 0;

FlowKey key(uint16_t port, uint32_t ip = 0x0a4d0102 /* 10.77.1.2 */,
            const void* listener = &kListenerA) {
  return FlowKey{listener, net::IpAddr::v4(ip), port};
}

// Owns the nodes (FlowTable never allocates or frees them).
struct Nodes {
  std::vector<std::unique_ptr<FlowNode>> all;
  FlowNode* make(const FlowKey& k, const std::string& app, int64_t idle_ms = 60000) {
    all.push_back(std::make_unique<FlowNode>());
    FlowNode* n = all.back().get();
    n->key = k;
    n->app = app;
    n->idle_ms = idle_ms;
    return n;
  }
};

std::vector<uint16_t> ports_in_order(const FlowTable& t) {
  std::vector<uint16_t> out;
  t.for_each([&](FlowNode* n) { out.push_back(n->key.port); });
  return out;
}

TEST(FlowTable, EmptyTable) {
  FlowTable t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.app_size("a"), 0u);
  EXPECT_EQ(t.find(key(1)), nullptr);
  EXPECT_EQ(t.victim(""), nullptr);
  EXPECT_EQ(t.victim("a"), nullptr);
  int calls = 0;
  t.expire(1'000'000, [&](FlowNode*) { ++calls; });
  t.for_each([&](FlowNode*) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(FlowTable, InsertFindTouchRemove) {
  FlowTable t;
  Nodes nodes;
  FlowNode* a = nodes.make(key(1000), "app");
  FlowNode* b = nodes.make(key(1001), "app");
  t.insert(a, 10);
  t.insert(b, 20);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.app_size("app"), 2u);
  EXPECT_EQ(a->last_ms, 10);
  EXPECT_EQ(t.find(key(1000)), a);
  EXPECT_EQ(t.find(key(1001)), b);
  // The key is (listener, ip, port): each part distinguishes flows.
  EXPECT_EQ(t.find(key(1002)), nullptr);
  EXPECT_EQ(t.find(key(1000, 0x0a4d0103)), nullptr);
  EXPECT_EQ(t.find(key(1000, 0x0a4d0102, &kListenerB)), nullptr);
  // An IPv4 client is not its v4-mapped IPv6 form (a v6 socket reports it mapped).
  EXPECT_EQ(t.find(FlowKey{&kListenerA, net::IpAddr::v6(net::IpAddr::v4(0x0a4d0102).as_v6_mapped()),
                           1000}),
            nullptr);

  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{1001, 1000}));  // most recent first
  t.touch(a, 30);
  EXPECT_EQ(a->last_ms, 30);
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{1000, 1001}));
  t.touch(a, 31);  // touching the head again keeps the order
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{1000, 1001}));

  t.remove(a);
  EXPECT_EQ(t.find(key(1000)), nullptr);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.app_size("app"), 1u);
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{1001}));
  t.remove(b);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.app_size("app"), 0u);
  EXPECT_EQ(t.victim(""), nullptr);
  EXPECT_EQ(t.victim("app"), nullptr);

  // A removed node can be inserted again (the listener reuses nothing, but the links must be
  // clean).
  t.insert(a, 40);
  EXPECT_EQ(t.find(key(1000)), a);
  EXPECT_EQ(t.victim(""), a);
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{1000}));
}

TEST(FlowTable, RemoveFromMiddleHeadAndTailKeepsBothOrders) {
  FlowTable t;
  Nodes nodes;
  std::vector<FlowNode*> f;
  for (uint16_t p = 1; p <= 5; ++p) {
    f.push_back(nodes.make(key(p), p % 2 ? "odd" : "even"));
    t.insert(f.back(), p);
  }
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{5, 4, 3, 2, 1}));
  t.remove(f[2]);  // middle (3)
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{5, 4, 2, 1}));
  t.remove(f[4]);  // head (5)
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{4, 2, 1}));
  t.remove(f[0]);  // tail (1)
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{4, 2}));
  EXPECT_EQ(t.app_size("odd"), 0u);
  EXPECT_EQ(t.app_size("even"), 2u);
  EXPECT_EQ(t.victim("odd"), nullptr);
  EXPECT_EQ(t.victim("even"), f[1]);
  EXPECT_EQ(t.victim(""), f[1]);
}

TEST(FlowTable, VictimIsLeastRecentlyUsedGloballyAndPerApp) {
  FlowTable t;
  Nodes nodes;
  FlowNode* a1 = nodes.make(key(1), "a");
  FlowNode* b1 = nodes.make(key(2), "b");
  FlowNode* a2 = nodes.make(key(3), "a");
  FlowNode* b2 = nodes.make(key(4), "b");
  t.insert(a1, 1);
  t.insert(b1, 2);
  t.insert(a2, 3);
  t.insert(b2, 4);
  EXPECT_EQ(t.victim(""), a1);
  EXPECT_EQ(t.victim("a"), a1);
  EXPECT_EQ(t.victim("b"), b1);
  EXPECT_EQ(t.victim("nope"), nullptr);

  // Traffic on a1 makes b1 the global victim and a2 the victim of app a.
  t.touch(a1, 5);
  EXPECT_EQ(t.victim(""), b1);
  EXPECT_EQ(t.victim("a"), a2);
  EXPECT_EQ(t.victim("b"), b1);

  // Evicting as the listener does (victim, remove) walks the LRU order.
  std::vector<FlowNode*> evicted;
  while (FlowNode* v = t.victim("")) {
    t.remove(v);
    evicted.push_back(v);
  }
  EXPECT_EQ(evicted, (std::vector<FlowNode*>{b1, a2, b2, a1}));
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, PerAppEvictionLeavesOtherAppsAlone) {
  FlowTable t;
  Nodes nodes;
  // App "big" is at its cap of 3; app "small" has older flows that must survive.
  FlowNode* s1 = nodes.make(key(100), "small");
  t.insert(s1, 0);
  for (uint16_t p = 1; p <= 3; ++p) t.insert(nodes.make(key(p), "big"), p);
  const uint64_t cap = 3;
  FlowNode* incoming = nodes.make(key(4), "big");
  while (t.app_size("big") >= cap) t.remove(t.victim("big"));
  t.insert(incoming, 10);
  EXPECT_EQ(t.app_size("big"), 3u);
  EXPECT_EQ(t.app_size("small"), 1u);
  EXPECT_EQ(t.find(key(1)), nullptr);  // big's oldest went
  EXPECT_EQ(t.find(key(100)), s1);     // small's older flow stayed
  EXPECT_EQ(t.victim(""), s1);
}

TEST(FlowTable, ExpireWithInjectedClockPerAppIdle) {
  FlowTable t;
  Nodes nodes;
  // App "fast" expires after 2 s, app "slow" after 60 s.
  FlowNode* f1 = nodes.make(key(1), "fast", 2000);
  FlowNode* f2 = nodes.make(key(2), "fast", 2000);
  FlowNode* s1 = nodes.make(key(3), "slow", 60000);
  FlowNode* s2 = nodes.make(key(4), "slow", 60000);
  t.insert(f1, 0);
  t.insert(s1, 0);
  t.insert(f2, 1000);
  t.insert(s2, 1000);

  std::vector<FlowNode*> gone;
  auto collect = [&](FlowNode* n) {
    // The flow is already out of the table when fn sees it.
    EXPECT_EQ(t.find(n->key), nullptr);
    gone.push_back(n);
  };
  t.expire(1999, collect);
  EXPECT_TRUE(gone.empty());
  t.expire(2000, collect);  // f1 idle exactly 2000 ms: expires (>=)
  EXPECT_EQ(gone, (std::vector<FlowNode*>{f1}));
  EXPECT_EQ(t.size(), 3u);

  // f2 is kept alive by traffic.
  t.touch(f2, 2500);
  gone.clear();
  t.expire(4000, collect);
  EXPECT_TRUE(gone.empty());
  t.expire(4500, collect);
  EXPECT_EQ(gone, (std::vector<FlowNode*>{f2}));
  EXPECT_EQ(t.app_size("fast"), 0u);
  EXPECT_EQ(t.app_size("slow"), 2u);

  gone.clear();
  t.expire(59999, collect);
  EXPECT_TRUE(gone.empty());
  t.expire(60000, collect);
  EXPECT_EQ(gone, (std::vector<FlowNode*>{s1}));
  gone.clear();
  t.expire(61000, collect);
  EXPECT_EQ(gone, (std::vector<FlowNode*>{s2}));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.victim(""), nullptr);
}

TEST(FlowTable, ExpireRemovesOnlyIdleFlowsOldestFirst) {
  FlowTable t;
  Nodes nodes;
  std::vector<FlowNode*> f;
  for (uint16_t p = 0; p < 10; ++p) {
    f.push_back(nodes.make(key(p), "app", 1000));
    t.insert(f.back(), p * 100);  // last_ms 0, 100, ..., 900
  }
  // Flows 2 and 5 see traffic late.
  t.touch(f[2], 1500);
  t.touch(f[5], 1600);
  std::vector<uint16_t> gone;
  t.expire(1450, [&](FlowNode* n) { gone.push_back(n->key.port); });
  // Idle >= 1000 ms at 1450: last_ms <= 450 and not touched: 0, 1, 3, 4.
  EXPECT_EQ(gone, (std::vector<uint16_t>{0, 1, 3, 4}));
  EXPECT_EQ(t.size(), 6u);
  for (uint16_t p : {0, 1, 3, 4}) EXPECT_EQ(t.find(key(p)), nullptr) << p;
  for (uint16_t p : {2, 5, 6, 7, 8, 9}) EXPECT_NE(t.find(key(p)), nullptr) << p;
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{5, 2, 9, 8, 7, 6}));
  EXPECT_EQ(t.victim("app"), f[6]);
}

TEST(FlowTable, ExpireManyFlowsAcrossApps) {
  FlowTable t;
  Nodes nodes;
  const int kPerApp = 1000;
  for (int i = 0; i < kPerApp; ++i) {
    t.insert(nodes.make(key(static_cast<uint16_t>(i), 0x0a4d0102), "a", 500), i);
    t.insert(nodes.make(key(static_cast<uint16_t>(i), 0x0a4d0103), "b", 5000), i);
  }
  EXPECT_EQ(t.size(), 2u * kPerApp);
  size_t n = 0;
  t.expire(1000, [&](FlowNode* f) {
    EXPECT_EQ(f->app, "a");
    EXPECT_LE(f->last_ms, 500);
    ++n;
  });
  EXPECT_EQ(n, 501u);  // last_ms 0..500
  EXPECT_EQ(t.app_size("a"), static_cast<size_t>(kPerApp - 501));
  EXPECT_EQ(t.app_size("b"), static_cast<size_t>(kPerApp));
  n = 0;
  t.expire(10000, [&](FlowNode*) { ++n; });
  EXPECT_EQ(n, static_cast<size_t>(2 * kPerApp - 501));
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, ForEachVisitsEveryFlowOnceMostRecentFirst) {
  FlowTable t;
  Nodes nodes;
  for (uint16_t p = 1; p <= 6; ++p) t.insert(nodes.make(key(p), p <= 3 ? "x" : "y"), p);
  t.touch(t.find(key(2)), 10);
  std::vector<uint16_t> seen = ports_in_order(t);
  EXPECT_EQ(seen, (std::vector<uint16_t>{2, 6, 5, 4, 3, 1}));
  std::vector<uint16_t> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());

  // The listener's close(): collect a listener's flows with for_each, then remove them.
  FlowNode* other = nodes.make(key(7, 0x0a4d0102, &kListenerB), "x");
  t.insert(other, 11);
  std::vector<FlowNode*> mine;
  t.for_each([&](FlowNode* n) {
    if (n->key.listener == &kListenerA) mine.push_back(n);
  });
  EXPECT_EQ(mine.size(), 6u);
  for (FlowNode* n : mine) t.remove(n);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.victim(""), other);
  EXPECT_EQ(t.victim("x"), other);
  EXPECT_EQ(t.app_size("y"), 0u);
}

// Confirmation (the client spoke again after the origin's reply) moves a flow out of the
// unconfirmed orders: unconfirmed flows are evicted first, and unconfirmed_victim() never names a
// confirmed flow, however idle.
TEST(FlowTable, UnconfirmedFlowsAreEvictedFirstConfirmedOnesKept) {
  FlowTable t;
  Nodes nodes;
  FlowNode* old_confirmed = nodes.make(key(1), "a");
  FlowNode* u1 = nodes.make(key(2), "a");
  FlowNode* u2 = nodes.make(key(3), "b");
  t.insert(old_confirmed, 1);
  t.insert(u1, 2);
  t.insert(u2, 3);
  EXPECT_EQ(t.unconfirmed_size(), 3u);
  t.confirm(old_confirmed);
  EXPECT_TRUE(old_confirmed->confirmed);
  EXPECT_EQ(t.unconfirmed_size(), 2u);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.app_size("a"), 2u);
  EXPECT_EQ(t.find(key(1)), old_confirmed);
  // The confirmed flow is the idlest of all, yet the unconfirmed ones go first, in LRU order.
  EXPECT_EQ(t.victim(""), u1);
  EXPECT_EQ(t.unconfirmed_victim(""), u1);
  EXPECT_EQ(t.victim("a"), u1);
  EXPECT_EQ(t.unconfirmed_victim("a"), u1);
  EXPECT_EQ(t.victim("b"), u2);
  t.touch(u1, 10);
  EXPECT_EQ(t.unconfirmed_victim(""), u2);

  // A flood of new unconfirmed flows, each evicting the idlest unconfirmed one to stay within a
  // share of 2, never reaches the confirmed flow.
  const size_t share = 2;
  for (uint16_t p = 100; p < 200; ++p) {
    while (t.unconfirmed_size() >= share) t.remove(t.unconfirmed_victim(""));
    t.insert(nodes.make(key(p), "a"), p);
  }
  EXPECT_EQ(t.unconfirmed_size(), 2u);
  EXPECT_EQ(t.find(key(1)), old_confirmed);
  EXPECT_NE(t.find(key(198)), nullptr);
  EXPECT_NE(t.find(key(199)), nullptr);
  EXPECT_EQ(t.find(key(2)), nullptr);
  EXPECT_EQ(t.size(), 3u);

  // With no unconfirmed flow left, only victim() (the app cap's choice) names a confirmed one.
  while (FlowNode* v = t.unconfirmed_victim("")) t.remove(v);
  EXPECT_EQ(t.unconfirmed_victim(""), nullptr);
  EXPECT_EQ(t.unconfirmed_victim("a"), nullptr);
  EXPECT_EQ(t.victim(""), old_confirmed);
  EXPECT_EQ(t.victim("a"), old_confirmed);
}

TEST(FlowTable, ConfirmedFlowsKeepTheirOwnLruOrderAndExpire) {
  FlowTable t;
  Nodes nodes;
  FlowNode* c1 = nodes.make(key(1), "a", 1000);
  FlowNode* c2 = nodes.make(key(2), "a", 1000);
  FlowNode* u = nodes.make(key(3), "a", 1000);
  t.insert(c1, 0);
  t.insert(c2, 100);
  t.insert(u, 200);
  t.confirm(c2);
  t.confirm(c1);
  t.confirm(c1);  // confirming twice changes nothing
  EXPECT_EQ(t.unconfirmed_size(), 1u);
  // for_each: unconfirmed first, then confirmed, most recently confirmed/used first.
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{3, 1, 2}));
  t.touch(c2, 500);
  EXPECT_EQ(ports_in_order(t), (std::vector<uint16_t>{3, 2, 1}));
  // Once there is no unconfirmed flow, victim() takes the idlest confirmed one.
  t.remove(u);
  EXPECT_EQ(t.victim("a"), c1);
  // Expiry walks both classes.
  std::vector<uint16_t> gone;
  t.expire(1000, [&](FlowNode* n) { gone.push_back(n->key.port); });
  EXPECT_EQ(gone, (std::vector<uint16_t>{1}));
  t.expire(1500, [&](FlowNode* n) { gone.push_back(n->key.port); });
  EXPECT_EQ(gone, (std::vector<uint16_t>{1, 2}));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.app_size("a"), 0u);
  // A removed confirmed node inserted again goes back to the confirmed order.
  t.insert(c1, 2000);
  EXPECT_EQ(t.unconfirmed_size(), 0u);
  EXPECT_EQ(t.unconfirmed_victim("a"), nullptr);
  EXPECT_EQ(t.victim("a"), c1);
}

// Among unconfirmed flows, those the origin already answered go before those still waiting for
// their reply (evicting one of these would lose the reply on its way), whatever their age.
TEST(FlowTable, AnsweredFlowsAreEvictedBeforeAwaitingOnes) {
  FlowTable t;
  Nodes nodes;
  FlowNode* waiting_old = nodes.make(key(1), "a");
  FlowNode* answered1 = nodes.make(key(2), "a");
  FlowNode* answered2 = nodes.make(key(3), "b");
  FlowNode* confirmed = nodes.make(key(4), "a");
  t.insert(waiting_old, 1);
  t.insert(answered1, 2);
  t.insert(answered2, 3);
  t.insert(confirmed, 4);
  t.answered(answered2);
  t.answered(answered1);
  t.answered(confirmed);
  t.confirm(confirmed);
  EXPECT_EQ(t.unconfirmed_size(), 3u);
  EXPECT_EQ(t.size(), 4u);
  // A reply counts as use: answered2, answered first, is the idlest answered flow; the idlest
  // awaiting flow (older than both) waits.
  EXPECT_EQ(t.unconfirmed_victim(""), answered2);
  EXPECT_EQ(t.victim("a"), answered1);
  EXPECT_EQ(t.victim("b"), answered2);
  t.touch(answered2, 10);
  EXPECT_EQ(t.unconfirmed_victim(""), answered1);
  t.remove(answered2);
  t.remove(answered1);
  // Only then the idlest awaiting flow, and never the confirmed one here.
  EXPECT_EQ(t.unconfirmed_victim(""), waiting_old);
  EXPECT_EQ(t.unconfirmed_victim("a"), waiting_old);
  t.remove(waiting_old);
  EXPECT_EQ(t.unconfirmed_victim(""), nullptr);
  EXPECT_EQ(t.victim("a"), confirmed);
  // answered() on a flow already answered or confirmed changes nothing.
  t.answered(confirmed);
  EXPECT_EQ(t.unconfirmed_size(), 0u);
  EXPECT_EQ(t.app_size("a"), 1u);
  // Expiry covers every class.
  std::vector<uint16_t> gone;
  FlowNode* w = nodes.make(key(5), "a", 100);
  FlowNode* an = nodes.make(key(6), "a", 100);
  t.insert(w, 0);
  t.insert(an, 0);
  t.answered(an);
  t.expire(100000, [&](FlowNode* n) { gone.push_back(n->key.port); });
  std::sort(gone.begin(), gone.end());
  EXPECT_EQ(gone, (std::vector<uint16_t>{4, 5, 6}));
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, KeyHashSpreadsPorts) {
  FlowKeyHash h;
  std::vector<size_t> v;
  for (uint16_t p = 0; p < 1000; ++p) v.push_back(h(key(p)));
  std::sort(v.begin(), v.end());
  EXPECT_EQ(std::unique(v.begin(), v.end()), v.end());
  EXPECT_EQ(h(key(5)), h(key(5)));
}

// The flow table's hash before issue #10 (FNV over listener, client address and port, edge
// address): unkeyed, so a spoofer could choose client addresses and ports that share a bucket.
size_t old_flow_hash(const FlowKey& k) {
  uint64_t h = reinterpret_cast<uintptr_t>(k.listener) * 0x9e3779b97f4a7c15ULL;
  const uint8_t* b = k.ip.bytes();
  for (size_t i = 0; i < k.ip.size(); ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  h = (h ^ k.port) * 0x100000001b3ULL;
  const uint8_t* e = k.edge_ip.bytes();
  for (size_t i = 0; i < k.edge_ip.size(); ++i) h = (h ^ e[i]) * 0x100000001b3ULL;
  return static_cast<size_t>(h ^ (h >> 29));
}

TEST(FlowTable, KeyHashIsKeyedAgainstChosenCollisions) {
  // Spoofed sources chosen (by search, as an attacker would) to share bucket 0 of a table with
  // 1543 buckets under the old hash...
  constexpr size_t kBuckets = 1543;
  std::vector<FlowKey> chosen;
  for (uint32_t i = 0; chosen.size() < 200 && i < 4'000'000; ++i) {
    FlowKey k = key(static_cast<uint16_t>(i), 0x0a4e0000 | (i >> 16));  // 10.78.x.y
    if (old_flow_hash(k) % kBuckets == 0) chosen.push_back(k);
  }
  ASSERT_EQ(chosen.size(), 200u);
  // ...spread over the buckets under the keyed hash (200 keys in 1543 buckets: a handful at most
  // in any one).
  FlowKeyHash h;
  std::vector<int> per(kBuckets);
  for (const FlowKey& k : chosen) ++per[h(k) % kBuckets];
  EXPECT_LE(*std::max_element(per.begin(), per.end()), 6);
  FlowKeyHash other{core::HashKey{h.key.k0 ^ 1, h.key.k1}};
  EXPECT_NE(h(chosen[0]), other(chosen[0]));
}

// in_table tells whoever ends a flow whether it still has to take it out (UdpListener::end_flow
// does both, whichever way the flow ended: expiry removes it first, eviction does not).
TEST(FlowTableTest, InTableFollowsInsertRemoveAndExpire) {
  FlowTable t;
  Nodes nodes;
  FlowNode* a = nodes.make(key(1), "app", 1000);
  FlowNode* b = nodes.make(key(2), "app", 60000);
  EXPECT_FALSE(a->in_table);
  t.insert(a, 0);
  t.insert(b, 0);
  EXPECT_TRUE(a->in_table);
  EXPECT_TRUE(b->in_table);
  std::vector<FlowNode*> expired;
  t.expire(1000, [&](FlowNode* n) {
    EXPECT_FALSE(n->in_table);  // already out when handed over
    expired.push_back(n);
  });
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], a);
  EXPECT_FALSE(a->in_table);
  t.remove(b);
  EXPECT_FALSE(b->in_table);
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace rampart::udp
