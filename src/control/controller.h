// The control plane's single writer: owns the config file's content and the objects created
// through the API (mirrored in a Store), merges them into one config::Config, validates it and
// hands it to the data plane (Edge::reload via the Apply callback). Every change, from the API
// (HTTP pool threads), a SIGHUP reload of the file (main thread) or the fleet watch, runs on one
// applier thread (a core::ControlLoop: the Edge's control(), or one of the controller's own);
// the caller waits for its outcome. So changes are serialized and each is all-or-nothing: an
// invalid result, a conflict or a failed store write changes nothing. The state is written on
// the applier thread under mu_; reads (lists, gets, config()) take mu_ on any thread. The
// pre-flight and the apply run on the applier thread too (asserted); the apply runs after mu_
// is released, so reads are not held while the data plane builds its snapshot.
// Any thread may call any method.
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
#include "control/store.h"
#include "core/control_loop.h"

namespace rampart::control {

// The API envelope's codes (kErrAuth, kNoteFleetSum, ...): config/api_errors.h.
using namespace config::api_codes;  // NOLINT

inline constexpr const char* kDefaultZone = "default";

struct ApiError {
  int code = 0;
  std::string message;
};

// The outcome of one API operation, ready to be wrapped in the v4 envelope.
struct Outcome {
  int status = 200;
  std::vector<ApiError> errors;
  std::vector<ApiError> messages;  // notes on a success (Cloudflare's {code, message} objects)
  nlohmann::json result;           // null when there is none
  nlohmann::json result_info;      // lists only
  bool ok() const { return errors.empty(); }
  static Outcome failure(int status, int code, std::string message);
};

// List parameters of Spectrum's GET .../apps (and of access rules: page and per_page only).
struct ListQuery {
  std::string page, per_page, order, direction, mode;  // as given; empty = default
};

class Controller {
 public:
  // Called with each new merged config, on the applier thread (outside the controller's mutex).
  using Apply = std::function<void(const config::Config&)>;

  // `applier`: the thread every change runs on (the Edge's control()); null = a thread of the
  // controller's own (tests, and callers whose Apply needs no particular thread). Not owned.
  Controller(Store* store, Apply apply, core::ControlLoop* applier = nullptr);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // The data plane's pre-flight (HAProxy's rule: a change whose listeners cannot all be opened
  // is refused as a whole). `prepare` runs after validation and before the store is written,
  // on the applier thread under the controller's mutex: it opens what the new config needs
  // (Edge::prepare) or returns false with *error, and the change is refused (API: 409 10009;
  // SIGHUP: logged; nothing is saved or applied). `abandon` releases what prepare opened when the
  // change is then not saved.
  struct Preflight {
    std::function<bool(const config::Config&, std::string*)> prepare;
    std::function<void()> abandon;
  };
  void set_preflight(Preflight p) {
    std::lock_guard lock(mu_);
    preflight_ = std::move(p);
  }
  // Why the data plane runs an app disabled (e.g. its certificate file is gone), or "" when it
  // serves; said in `messages` of the app's GET (code 11904). Any thread; called outside the
  // controller's mutex.
  using AppStatus = std::function<std::string(const std::string& app_id)>;
  void set_app_status(AppStatus s) {
    std::lock_guard lock(mu_);
    app_status_ = std::move(s);
  }

  // Reads the store and merges it with `file` (a validated config). On success config() is the
  // merged config, to start the edge with; nothing is applied. False with *error when the store
  // cannot be read or the merge is invalid (e.g. an API app's id is now used by the file).
  bool load(const config::Config& file, std::string* error);
  // Replaces the file part (SIGHUP) and applies; false with *errors, and nothing changes, when
  // the merged config would be invalid.
  bool reload_file(const config::Config& file, std::vector<std::string>* errors);
  config::Config config() const;

  bool has_zone(const std::string& zone) const { return zone == kDefaultZone; }

  Outcome list_apps(const ListQuery& q) const;
  Outcome get_app(const std::string& id) const;
  Outcome create_app(const std::string& body);
  Outcome replace_app(const std::string& id, const std::string& body);
  Outcome patch_app(const std::string& id, const std::string& body);
  Outcome delete_app(const std::string& id);

  Outcome list_rules(const ListQuery& q) const;
  Outcome get_rule(const std::string& id) const;
  Outcome create_rule(const std::string& body);
  Outcome patch_rule(const std::string& id, const std::string& body);
  Outcome delete_rule(const std::string& id);

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
  };
  struct ApiRule {
    config::IpAccessRule rule;
    std::string created_on, modified_on;
    int64_t revision = 0;
  };
  using Persist = std::function<WriteStatus(std::string*)>;

  // Validates file_ + apps + rules; on success runs persist, applies and keeps the new state.
  bool commit(std::vector<ApiApp> apps, std::vector<ApiRule> rules, const Persist& persist,
              Outcome* out);
  bool merge(const config::Config& file, const std::vector<ApiApp>& apps,
             const std::vector<ApiRule>& rules, config::Config* merged, Outcome* out) const;
  Outcome write_app(const std::string& id, const nlohmann::json& body, bool create);
  nlohmann::json app_json(const config::App& app, const std::string& created,
                          const std::string& modified, bool from_file) const;
  nlohmann::json rule_json(const config::IpAccessRule& rule, const std::string& created,
                           const std::string& modified, bool from_file) const;
  const config::App* file_app(const std::string& id) const;
  int find_api_app(const std::string& id) const;
  int find_api_rule(const std::string& id) const;

  // Runs preflight_.prepare on `merged`; false with a 409 in *out when it refuses.
  bool preflight(const config::Config& merged, Outcome* out);
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
  AppStatus app_status_;
  config::Config file_;
  std::string file_loaded_on_;
  std::vector<ApiApp> apps_;
  std::vector<ApiRule> rules_;
  config::Config merged_;
  // Last revision seen per object key ("a/zone/id", "r/zone/id"), deletes included, so that a
  // late watch event never undoes a newer local write.
  std::map<std::string, int64_t> seen_;
  static std::string seen_key(Kind kind, const std::string& zone, const std::string& id);
};

// Now as RFC 3339 UTC with microseconds, e.g. "2026-01-01T05:20:00.123456Z".
std::string rfc3339_now();

}  // namespace rampart::control
