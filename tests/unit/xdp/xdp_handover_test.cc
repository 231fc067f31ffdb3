// The XDP attachment across an upgrade (Loader::handover_state / handover_fds / adopt / release /
// reclaim; docs/upgrade.md) with a real bpf_link: each test runs in a child process in a network
// namespace of its own, where the program is attached in generic mode to that namespace's lo.
// The "old process" and the "new process" are two Loaders; the descriptors travel as duplicates,
// as SCM_RIGHTS would pass them.
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fd_support.h"
#include "xdp_fixture.h"

#ifdef RAMPART_HAVE_LIBBPF
#include <bpf/libbpf.h>

#include "xdp/libbpf_util.h"
#include "xdp/relay_udp.h"
#endif

namespace rampart::xdp {
namespace {

#ifdef RAMPART_HAVE_LIBBPF

// Runs `fn` in a child in a new network namespace; the test fails when the child does.
template <typename F>
void in_own_netns(F fn) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", std::strerror(errno));
      ::_exit(2);
    }
    fn();
    std::fflush(stdout);
    ::_exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died by a signal";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's checks failed (its output is above)";
}

config::XdpConfig on_lo() {
  config::XdpConfig x;
  x.interface = "lo";
  x.mode = config::XdpMode::kGeneric;
  return x;
}

uint32_t prog_id(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

uint32_t link_prog_id(int fd) {
  bpf_link_info info{};
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.prog_id : 0;
}

// The program lo runs in generic mode (0: none).
uint32_t attached_on_lo() {
  uint32_t id = 0;
  if (bpf_xdp_query_id(static_cast<int>(if_nametoindex("lo")), XDP_FLAGS_SKB_MODE, &id) != 0)
    return 0;
  return id;
}

// What SCM_RIGHTS would deliver.
using testing::duplicates_of;

class XdpHandover : public XdpProgram {};

// The old process: attached to lo, the base plan synced and `banned` banned. Its program's id.
uint32_t start_old_side(Loader* old_side, const char* banned) {
  EXPECT_TRUE(old_side->attach(on_lo()));
  EXPECT_TRUE(old_side->sync(plan_of(base_config())));
  old_side->banned(source(banned), 60'000);
  return prog_id(old_side->prog_fd());
}

TEST_F(XdpHandover, TheSameProgramStaysAttachedWithItsBansAndOutlivesTheOldProcess) {
  in_own_netns([] {
    Loader old_side;
    const uint32_t old_prog = start_old_side(&old_side, "10.77.1.66");
    ASSERT_EQ(attached_on_lo(), old_prog);

    Loader new_side;
    ASSERT_TRUE(
        new_side.adopt(old_side.handover_state(), duplicates_of(old_side.handover_fds()), on_lo()));
    EXPECT_TRUE(new_side.attached());
    EXPECT_EQ(prog_id(new_side.prog_fd()), old_prog) << "the same program, not a second one";
    EXPECT_EQ(run_on(new_side, syn("10.77.1.66")), XDP_DROP) << "the old process's ban";
    EXPECT_EQ(run_on(new_side, syn("10.77.1.67")), XDP_PASS);

    // The old process lets go of its link (then exits): the program stays on lo, and the new
    // process's bans reach it.
    old_side.release();
    EXPECT_EQ(attached_on_lo(), old_prog);
    new_side.banned(source("10.77.1.68"), 60'000);
    EXPECT_EQ(run_on(new_side, syn("10.77.1.68")), XDP_DROP);
    // An upgrade after this one hands the same attachment on again.
    EXPECT_FALSE(new_side.handover_state().empty());
    EXPECT_EQ(new_side.handover_fds().size(), 8u);
    new_side.detach();
    EXPECT_EQ(attached_on_lo(), 0u) << "the last link closed: detached";
  });
}

TEST_F(XdpHandover, AnotherProgramReplacesTheOldOnItsLinkAndAFailedUpgradePutsTheOldBack) {
  in_own_netns([] {
    Loader old_side;
    const uint32_t old_prog = start_old_side(&old_side, "10.77.2.66");
    ASSERT_EQ(attached_on_lo(), old_prog);
    const std::vector<int> fds = old_side.handover_fds();
    ASSERT_EQ(fds.size(), 8u);
    const int link = fds[0];

    // What a newer binary sees: the old process runs a program with another hash.
    nlohmann::json state = nlohmann::json::parse(old_side.handover_state());
    ASSERT_EQ(state["hash"], Loader::object_hash());
    state["hash"] = "0000000000000000";
    old_side.freeze();
    Loader new_side;
    ASSERT_TRUE(new_side.adopt(state.dump(), duplicates_of(fds), on_lo()));
    EXPECT_TRUE(new_side.attached());
    const uint32_t new_prog = prog_id(new_side.prog_fd());
    EXPECT_NE(new_prog, old_prog) << "its own program, loaded";
    EXPECT_EQ(link_prog_id(link), old_prog)
        << "while its maps hold no plan yet, the old program keeps judging";
    EXPECT_EQ(run_on(new_side, syn("10.77.2.66")), XDP_PASS) << "(its maps: no ports yet)";
    ASSERT_TRUE(new_side.sync(plan_of(base_config())));  // the edge's first publish
    EXPECT_EQ(link_prog_id(link), new_prog) << "then it takes the old one's place on its link";
    EXPECT_EQ(attached_on_lo(), new_prog);
    EXPECT_EQ(run_on(new_side, syn("10.77.2.66")), XDP_DROP) << "the bans were copied";
    EXPECT_FALSE(old_side.sync(plan_of(base_config()))) << "frozen while the upgrade runs";

    // The new process failed and is gone: the old one puts its program back on its link.
    old_side.reclaim(plan_of(base_config()));
    EXPECT_EQ(link_prog_id(link), old_prog);
    EXPECT_EQ(attached_on_lo(), old_prog);
    EXPECT_TRUE(old_side.sync(plan_of(base_config()))) << "and syncs again";
  });
}

TEST_F(XdpHandover, AFailedUpgradeWritesTheOldPlanBackOverTheNewOnesPorts) {
  in_own_netns([] {
    config::Config before = base_config();
    before.ip_access_rules.push_back(
        rule(config::AccessMode::kBlock, config::AccessTarget::kIp, "10.77.3.4"));
    config::Config after = before;  // the new process's config has one more app, on 7100
    after.apps.push_back(app("more", config::Proto::kTcp, 7100, 7100));
    Loader old_side;
    ASSERT_TRUE(old_side.attach(on_lo()));
    ASSERT_TRUE(old_side.sync(plan_of(before)));
    old_side.freeze();
    Loader new_side;  // the same program: the same maps
    ASSERT_TRUE(
        new_side.adopt(old_side.handover_state(), duplicates_of(old_side.handover_fds()), on_lo()));
    ASSERT_TRUE(new_side.sync(plan_of(after)));
    EXPECT_EQ(run_on(old_side, syn("10.77.3.4", 7100)), XDP_DROP) << "the new plan, in the maps";
    // The new process never reported ready and went away: the old one writes its plan back.
    new_side.release();
    old_side.reclaim(plan_of(before));
    EXPECT_EQ(run_on(old_side, syn("10.77.3.4", 7100)), XDP_PASS) << "7100 is no app port again";
    EXPECT_EQ(run_on(old_side, syn("10.77.3.4", 7000)), XDP_DROP) << "the rule still holds";
  });
}

TEST_F(XdpHandover, AChangedInterfaceOrModeKeepsTheRunningAttachmentUntilARestart) {
  in_own_netns([] {
    Loader old_side;
    ASSERT_TRUE(old_side.attach(on_lo()));
    const uint32_t old_prog = prog_id(old_side.prog_fd());
    config::XdpConfig native = on_lo();
    native.mode = config::XdpMode::kNative;  // lo has no native XDP: attaching would fail
    Loader new_side;
    ASSERT_TRUE(
        new_side.adopt(old_side.handover_state(), duplicates_of(old_side.handover_fds()), native));
    EXPECT_EQ(new_side.attachment().mode, config::XdpMode::kGeneric) << "the running one";
    old_side.release();
    EXPECT_EQ(attached_on_lo(), old_prog);
  });
}

TEST_F(XdpHandover, AnUnreadableHandoverLeavesTheOldAttachmentAlone) {
  in_own_netns([] {
    Loader old_side;
    ASSERT_TRUE(old_side.attach(on_lo()));
    const uint32_t old_prog = prog_id(old_side.prog_fd());
    Loader new_side;
    // Attaching anew meets the old link on lo: refused (logged), nothing changes.
    EXPECT_FALSE(new_side.adopt("{\"hash\": 1}", duplicates_of(old_side.handover_fds()), on_lo()));
    EXPECT_FALSE(new_side.attached());
    EXPECT_EQ(attached_on_lo(), old_prog);
    // Descriptors missing: the same.
    EXPECT_FALSE(new_side.adopt(old_side.handover_state(), {}, on_lo()));
    EXPECT_EQ(attached_on_lo(), old_prog);
  });
}

// ---------------------------------------------------------------- the UDP kernel relay

// The programs at lo's tcx ingress, by id.
std::vector<uint32_t> tcx_on_lo() {
  uint32_t ids[8] = {};
  uint32_t n = 8;
  // BPF_TCX_INGRESS (46): libbpf 1.1's headers predate it, as in relay_udp.cc.
  if (bpf_prog_query(static_cast<int>(if_nametoindex("lo")), static_cast<bpf_attach_type>(46), 0,
                     nullptr, ids, &n) != 0)
    return {};
  return std::vector<uint32_t>(ids, ids + n);
}

// The old process's relay: room for 16 flows, attached to lo's tcx ingress.
void start_old_relay(UdpRelay* relay) {
  std::string error;
  ASSERT_TRUE(relay->load(16, -1, &error)) << error;
  ASSERT_TRUE(relay->attach(static_cast<int>(if_nametoindex("lo")), &error)) << error;
}

TEST_F(XdpHandover, TheUdpRelayKeepsItsLinksMapsAndAppNumbersAcrossTheUpgrade) {
  in_own_netns([] {
    UdpRelay old_side;
    ASSERT_NO_FATAL_FAILURE(start_old_relay(&old_side));
    std::string error;
    const uint32_t game = old_side.app_no("game");
    const uint32_t prog = prog_id(old_side.prog_fd());
    ASSERT_EQ(tcx_on_lo(), std::vector<uint32_t>{prog});

    UdpRelay new_side;
    ASSERT_TRUE(
        new_side.adopt(old_side.handover_state(), duplicates_of(old_side.handover_fds()), &error))
        << error;
    EXPECT_EQ(prog_id(new_side.prog_fd()), prog) << "the same program, not a second one";
    EXPECT_EQ(map_id(new_side.flows_fd()), map_id(old_side.flows_fd()))
        << "one flow map: the old process's flows keep being relayed while it drains";
    EXPECT_TRUE(new_side.covers(static_cast<int>(if_nametoindex("lo"))));
    EXPECT_EQ(new_side.max_flows(), old_side.max_flows());
    // The rate buckets' key: the same app gets the same number in both processes, and an app
    // either one adds later never takes another's (numbers are a hash of the id, not a count).
    EXPECT_EQ(new_side.app_no("game"), game);
    EXPECT_EQ(old_side.app_no("voice"), new_side.app_no("voice"));
    EXPECT_NE(new_side.app_no("voice"), game);
    EXPECT_FALSE(new_side.shares_bans_with(-1));

    old_side.release();
    EXPECT_EQ(tcx_on_lo(), std::vector<uint32_t>{prog}) << "the new process holds the link";
    EXPECT_TRUE(old_side.covers(static_cast<int>(if_nametoindex("lo"))))
        << "the old process's flows are still relayed in the kernel";
  });
  // The last holder gone (the child exited): nothing is left attached anywhere (its namespace
  // went with it).
}

TEST_F(XdpHandover, TheUdpRelayRefusesAnotherProgramOrABrokenState) {
  in_own_netns([] {
    UdpRelay old_side;
    ASSERT_NO_FATAL_FAILURE(start_old_relay(&old_side));
    std::string error;
    nlohmann::json state = nlohmann::json::parse(old_side.handover_state());
    state["hash"] = "0000000000000000";
    UdpRelay other;
    EXPECT_FALSE(other.adopt(state.dump(), duplicates_of(old_side.handover_fds()), &error));
    EXPECT_NE(error.find("differs"), std::string::npos) << error;
    EXPECT_FALSE(other.loaded());
    UdpRelay broken;
    EXPECT_FALSE(broken.adopt(old_side.handover_state(), {}, &error)) << "descriptors missing";
    EXPECT_FALSE(broken.adopt("{\"hash\": 5}", duplicates_of(old_side.handover_fds()), &error));
    EXPECT_FALSE(broken.loaded());
    // Shared with the XDP guard's ban map: told apart by the kernel's map id.
    Loader xdp;
    ASSERT_TRUE(xdp.load(&error)) << error;
    UdpRelay shared;
    ASSERT_TRUE(shared.load(16, xdp.bans_fd(), &error)) << error;
    EXPECT_TRUE(shared.shares_bans_with(xdp.bans_fd()));
    EXPECT_FALSE(old_side.shares_bans_with(xdp.bans_fd()));
  });
}

#endif  // RAMPART_HAVE_LIBBPF

}  // namespace
}  // namespace rampart::xdp
