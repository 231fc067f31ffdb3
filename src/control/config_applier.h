// control::ConfigApplier: the control plane's single writer. Owns the config file's content and
// the objects created through the API (mirrored in a Store), merges them into one
// config::Config, validates it, runs the data plane's pre-flight, writes the store and hands the
// result to the data plane (Edge::reload via the Apply callback). Its answers are plain results
// (ChangeResult: an API error code from config/api_errors.h, a message, validation errors, the
// app or rule as written); the HTTP side (statuses, JSON envelopes) is control::AppsApi's.
// Threads: the state changes on one applier thread (a core::ControlLoop: the Edge's control(),
// or one of the applier's own): a SIGHUP reload of the file (main thread), the fleet watch's
// changes and the two in-memory halves of every API write run there, the caller waiting for
// the result. The store's round trip of an API write (etcd: possibly seconds when a member
// hangs) runs on the caller's thread (an HTTP pool thread) between those halves, holding no lock
// and not occupying the applier thread, so reads, the watch's apply and writes to other objects
// go on meanwhile: a write is planned and checked against the applied state plus every write in
// flight (so two concurrent writes cannot store overlapping apps), stored, then committed and
// applied. A second write to an object with a write in flight is refused (kErrConflict). Each
// write is all-or-nothing: an invalid result, a conflict or a failed store write changes
// nothing. The state is written on the applier thread under mu_; reads (apps(), app(),
// config(), ...) take mu_ on any thread, which is only ever held for in-memory work. The
// pre-flight and the apply run on the applier thread (asserted); the apply runs after mu_ is
// released, so reads are not held while the data plane builds its snapshot. Owner:
// server::Server. Any thread may call any method.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/api_errors.h"
#include "config/model.h"
#include "control/api_outcome.h"
#include "control/store.h"
#include "core/control_loop.h"

namespace rampart::control {

// An app as the API shows it: its model, its times and where it comes from.
struct AppRecord {
  config::App app;
  std::string created_on, modified_on;
  bool from_file = false;
  // Why a stored app is left out of the running config ("" when it runs): see load().
  std::string left_out;
};

struct RuleRecord {
  config::IpAccessRule rule;
  std::string created_on, modified_on;
  bool from_file = false;
};

// The result of one change. Made: code 0 and no errors. Refused: `code` (kErrConflict,
// kErrNotFound, kErrInvalidValue, kErrStoreUnavailable, kErrInternal) with `message`, or the
// validation errors in `errors` (paths name apps by id; file paths made opaque). Not known:
// kErrOutcomeUnknown (the store took the write and did not say whether it applied it).
struct ChangeResult {
  int code = 0;
  std::string message;
  std::vector<config::ConfigError> errors;
  std::optional<AppRecord> app;    // the app as written (create, replace, patch)
  std::optional<RuleRecord> rule;  // the rule as written (create, patch)

  bool ok() const { return code == 0 && errors.empty(); }
  // One line per problem (the message, or each validation error's API message).
  std::vector<std::string> problems() const;
  static ChangeResult refused(int code, std::string message);
  static ChangeResult invalid(std::vector<config::ConfigError> errors);
};

class ConfigApplier {
 public:
  // Called with each new merged config, on the applier thread (outside the applier's mutex).
  using Apply = std::function<void(const config::Config&)>;

  // `applier`: the thread every change runs on (the Edge's control()); null = a thread of the
  // applier's own (tests, and callers whose Apply needs no particular thread). Not owned.
  ConfigApplier(Store* store, Apply apply, core::ControlLoop* applier = nullptr);
  ~ConfigApplier();
  ConfigApplier(const ConfigApplier&) = delete;
  ConfigApplier& operator=(const ConfigApplier&) = delete;

  // The data plane's pre-flight (HAProxy's rule: a change whose listeners cannot all be opened
  // is refused as a whole). `prepare` runs after validation and before the store is written,
  // on the applier thread under the applier's mutex: it opens what the new config needs
  // (Edge::prepare) or returns false with *error, and the change is refused (kErrConflict;
  // SIGHUP: logged; nothing is saved or applied). `abandon` releases what prepare opened when
  // the change is then not saved.
  struct Preflight {
    std::function<bool(const config::Config&, std::string*)> prepare;
    std::function<void()> abandon;
  };
  void set_preflight(Preflight p) {
    std::lock_guard lock(mu_);
    preflight_ = std::move(p);
  }

  // Reads the store and merges it with `file` (a validated config). On success config() is the
  // merged config, to start the edge with; nothing is applied. False with *error when the store
  // cannot be read or the merge is invalid (e.g. an API app's id is now used by the file).
  bool load(const config::Config& file, std::string* error);
  // Replaces the file part (SIGHUP) and applies; false with *errors, and nothing changes, when
  // the merged config would be invalid.
  bool reload_file(const config::Config& file, std::vector<std::string>* errors);
  config::Config config() const;

  // Reads: the file's objects first, then the API's, in the order they were made.
  std::vector<AppRecord> apps() const;
  std::optional<AppRecord> app(const std::string& id) const;
  std::vector<RuleRecord> rules() const;
  std::optional<RuleRecord> rule(const std::string& id) const;

  // Writes. An app arrives in its JSON form (config/app_json.h), decoded on the applier thread
  // because a PATCH applies to the app as it is then. `based_on`: the modified_on the client
  // read; a different current one refuses the write (kErrConflict), so a read-modify-write
  // never silently overwrites someone's update. `request_id`: the write's idempotency key (the
  // client's Idempotency-Key; "" lets the store make one up), stored with the object. A write
  // whose key is the one the object was last stored with was already made: it answers that
  // object and writes nothing (a retry after kErrOutcomeUnknown never makes a second app).
  ChangeResult create_app(const nlohmann::json& body, const std::string& request_id = "");
  ChangeResult replace_app(const std::string& id, const nlohmann::json& body,
                           const std::optional<std::string>& based_on,
                           const std::string& request_id = "");
  ChangeResult patch_app(const std::string& id, const nlohmann::json& patch,
                         const std::optional<std::string>& based_on,
                         const std::string& request_id = "");
  ChangeResult delete_app(const std::string& id);
  ChangeResult create_rule(const config::IpAccessRule& rule, const std::string& request_id = "");
  ChangeResult patch_rule(const std::string& id, const nlohmann::json& patch,
                          const std::optional<std::string>& based_on,
                          const std::string& request_id = "");
  ChangeResult delete_rule(const std::string& id);

  // Changes seen in a shared store (etcd: another edge's write, or etcdctl), applied to the data
  // plane without writing them back. `obj.revision` orders them: a change not newer than what
  // this edge already has for the object (its own write coming back) is skipped. A change that
  // does not fit this edge's config (e.g. overlaps a file app) is logged and left out.
  struct RemoteChange {
    Kind kind = Kind::kApp;
    bool removed = false;
    StoredObject obj;  // zone, id, revision always; body and times for a put
  };
  void apply_remote(const std::vector<RemoteChange>& changes);
  // Replaces every API object with the store's content read at `revision` (startup sync, and
  // after the watch lost history to a compaction); applies when something changed.
  void reset_remote(const std::vector<StoredObject>& apps, const std::vector<StoredObject>& rules,
                    int64_t revision);
  size_t api_app_count() const;

 private:
  struct ApiApp {
    config::App app;
    std::string created_on, modified_on;
    int64_t revision = 0;  // the store's revision of the object (0: SQLite)
    // Why a stored app is left out of the running config (load(): it does not fit this
    // version's rules or the file, e.g. tcp/1-65535 saved before edge.max_ports_per_app): the
    // edge still starts; GET shows the app with this note; PUT/PATCH/DELETE fix or remove it.
    std::string left_out;
    std::string request_id;  // the idempotency key it was stored with
  };
  struct ApiRule {
    config::IpAccessRule rule;
    std::string created_on, modified_on;
    int64_t revision = 0;
    std::string request_id;
  };
  // One API write between its halves: planned and checked on the applier thread, stored on the
  // caller's thread, committed on the applier thread (config_applier_write.cc).
  struct Plan {
    bool needed = false;  // false: nothing to store (refused, or a replay of a write made)
    Kind kind = Kind::kApp;
    std::string id;
    bool remove = false;
    int64_t expected = 0;         // the revision the write is based on (0: must not exist)
    StoredObject obj;             // a put's object
    std::optional<ApiApp> app;    // a put's app, as it is stored
    std::optional<ApiRule> rule;  // a put's rule
  };
  // Runs `plan` (applier thread, under mu_; it fills a Plan or answers at once), stores the plan
  // on this thread with no lock held, then commits it (applier thread).
  template <typename F>
  ChangeResult write(F&& plan);
  // Checks `plan` against the applied state plus the writes in flight (merge and pre-flight)
  // and registers it in flight; false with *out when it is refused.
  bool begin(const Plan& plan, ChangeResult* out);
  // The store's answer for `plan`: the result, and on success the new state, applied.
  ChangeResult finish(const Plan& plan, WriteStatus st, int64_t revision,
                      const StoredObject& stored, const std::string& error);
  ChangeResult plan_app(const std::string& id, const nlohmann::json& body, bool create,
                        const std::string& request_id, Plan* plan);
  ChangeResult plan_rule(const config::IpAccessRule& rule, std::optional<int> index,
                         const std::string& request_id, Plan* plan);
  bool merge(const config::Config& file, const std::vector<ApiApp>& apps,
             const std::vector<ApiRule>& rules, config::Config* merged, ChangeResult* out) const;
  ChangeResult write_app(const std::string& id, const nlohmann::json& body, bool create);
  const config::App* file_app(const std::string& id) const;
  int find_api_app(const std::string& id) const;
  // The checks of a write to the API app `id` before it is planned: in the file, missing, made
  // before by the same request (its result), based on a stale modified_on. An answer ends the
  // write; otherwise *app is the app as applied. Applier thread.
  std::optional<ChangeResult> existing_app(const std::string& id,
                                           const std::optional<std::string>& based_on,
                                           const std::string& request_id, const ApiApp** app);
  int find_api_rule(const std::string& id) const;

  // Runs preflight_.prepare on `merged`; false with kErrConflict in *out when it refuses.
  bool preflight(const config::Config& merged, ChangeResult* out);
  void apply_remote_locked(const std::vector<RemoteChange>& changes);
  // Runs `body` on the applier thread under mu_, then, outside mu_, hands the config it
  // committed (pending_, if any) to apply_. Returns what `body` returns.
  template <typename F>
  auto change(F&& body) {
    return applier_->call([&] {
      auto result = [&] {
        std::lock_guard lock(mu_);
        return body();
      }();
      flush_apply();
      return result;
    });
  }
  void flush_apply();

  std::unique_ptr<core::ControlLoop> owned_applier_;  // when none was given
  core::ControlLoop* applier_;
  // A committed config not yet handed to apply_ (applier thread only).
  std::optional<config::Config> pending_;
  mutable std::mutex mu_;
  Store* store_;
  Apply apply_;
  Preflight preflight_;
  config::Config file_;
  std::string file_loaded_on_;
  std::vector<ApiApp> apps_;
  std::vector<ApiRule> rules_;
  config::Config merged_;
  // Last revision seen per object key ("a/zone/id", "r/zone/id"), deletes included, so that a
  // late watch event never undoes a newer local write.
  std::map<std::string, int64_t> seen_;
  // The API writes being stored now, by seen_key (applier thread, under mu_).
  std::map<std::string, Plan> inflight_;
  static std::string seen_key(Kind kind, const std::string& zone, const std::string& id);
};

// Now as RFC 3339 UTC with microseconds, e.g. "2026-01-01T05:20:00.123456Z".
std::string rfc3339_now();

}  // namespace rampart::control
