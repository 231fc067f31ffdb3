// Dashboard sessions' absolute and idle timeouts (manual clock), the CSRF and origin decision of
// cookie writes and sign-ins (csrf.h), and token scopes (ApiSecrets, sessions ended by a token
// change).
#include <gtest/gtest.h>

#include "config/api_errors.h"
#include "control/api_auth.h"
#include "control/api_dashboard.h"
#include "control/csrf.h"
#include "control/http_message.h"
#include "control/session_store.h"

namespace rampart::control {
namespace {

using config::TokenScope;
using std::chrono::seconds;

class SessionTimeouts : public ::testing::Test {
 protected:
  SessionTimeouts() : store_({seconds(3600), seconds(60), 16}) {
    store_.set_clock([this] { return now_; });
  }
  SessionStore::Clock::time_point now_ = SessionStore::Clock::now();
  SessionStore store_;
};

TEST_F(SessionTimeouts, IdleTimeoutEndsAnUnusedSession) {
  const std::string id = store_.create(TokenScope::kWrite, "token:a");
  auto info = store_.find(id, false);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->expires_in, 3600);
  EXPECT_EQ(info->idle_expires_in, 60);
  now_ += seconds(59);
  EXPECT_TRUE(store_.valid(id));  // a look does not keep it alive ...
  now_ += seconds(1);
  EXPECT_FALSE(store_.valid(id));  // ... so it ends 60 s after sign-in
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(SessionTimeouts, EveryAuthenticatedRequestRestartsTheIdleTimeout) {
  const std::string id = store_.create(TokenScope::kWrite, "token:a");
  for (int i = 0; i < 10; ++i) {
    now_ += seconds(50);
    store_.touch(id);
  }
  auto info = store_.find(id, false);
  ASSERT_TRUE(info);  // 500 s after sign-in, used every 50 s
  EXPECT_EQ(info->idle_expires_in, 60);
  EXPECT_EQ(info->expires_in, 3100);
  now_ += seconds(60);
  EXPECT_FALSE(store_.valid(id));
}

TEST_F(SessionTimeouts, AbsoluteLifetimeEndsEvenABusySession) {
  const std::string id = store_.create(TokenScope::kWrite, "token:a");
  for (int i = 0; i < 71; ++i) {
    now_ += seconds(50);
    store_.touch(id);
  }
  // 3550 s in: the idle timeout would allow 60 s more, the lifetime only 50.
  auto info = store_.find(id, false);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->expires_in, 50);
  EXPECT_EQ(info->idle_expires_in, 50);
  EXPECT_EQ(store_.expires_in(id), 50);
  now_ += seconds(50);
  EXPECT_FALSE(store_.find(id, true));
}

TEST_F(SessionTimeouts, NewTimeoutsApplyToOpenSessions) {
  const std::string id = store_.create(TokenScope::kWrite, "token:a");
  now_ += seconds(30);
  store_.set_timeouts(seconds(3600), seconds(20));
  EXPECT_FALSE(store_.valid(id));
  const std::string b = store_.create(TokenScope::kWrite, "token:a");
  store_.set_timeouts(seconds(3600), seconds(0));  // no idle timeout
  now_ += seconds(3599);
  EXPECT_TRUE(store_.valid(b));
  now_ += seconds(1);
  EXPECT_FALSE(store_.valid(b));
  EXPECT_EQ(store_.lifetime(), seconds(3600));
}

TEST_F(SessionTimeouts, EachSessionHasItsOwnCsrfTokenScopeAndCredential) {
  const std::string a = store_.create(TokenScope::kWrite, "token:a");
  const std::string b = store_.create(TokenScope::kRead, "token:viewer:b");
  auto ia = store_.find(a, false), ib = store_.find(b, false);
  ASSERT_TRUE(ia && ib);
  EXPECT_EQ(ia->csrf_token.size(), 64u);
  EXPECT_EQ(ia->csrf_token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(ia->csrf_token, ib->csrf_token);
  EXPECT_NE(ia->csrf_token, a);
  EXPECT_EQ(ia->scope, TokenScope::kWrite);
  EXPECT_EQ(ib->scope, TokenScope::kRead);
  EXPECT_EQ(ib->credential, "token:viewer:b");
}

TEST_F(SessionTimeouts, ClearAndRetain) {
  const std::string a = store_.create(TokenScope::kWrite, "token:a");
  const std::string b = store_.create(TokenScope::kRead, "token:b");
  const std::string c = store_.create(TokenScope::kWrite, "token:b");
  EXPECT_EQ(store_.retain([](const std::string& who, TokenScope scope) {
    return who == "token:a" || scope == TokenScope::kRead;
  }),
            1u);
  EXPECT_TRUE(store_.valid(a) && store_.valid(b));
  EXPECT_FALSE(store_.valid(c));
  EXPECT_EQ(store_.clear(), 2u);
  EXPECT_FALSE(store_.valid(a) || store_.valid(b));
}

// ------------------------------------------------------------------ CSRF and origin

constexpr const char* kCsrf = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

HttpRequest browser_write(const std::string& method = "POST") {
  HttpRequest r;
  r.method = method;
  r.headers.emplace("Host", "127.0.0.1:8788");
  r.headers.emplace("Origin", "http://127.0.0.1:8788");
  r.headers.emplace("Sec-Fetch-Site", "same-origin");
  r.headers.emplace("X-CSRF-Token", kCsrf);
  return r;
}

HttpRequest without(HttpRequest r, const char* header) {
  r.headers.erase(header);
  return r;
}

HttpRequest with(HttpRequest r, const char* header, const std::string& value) {
  r.headers.erase(header);
  r.headers.emplace(header, value);
  return r;
}

TEST(CookieWrite, TheDashboardsOwnWriteIsAccepted) {
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"})
    EXPECT_EQ(check_cookie_write(browser_write(m), kCsrf, TokenScope::kWrite), BrowserCheck::kOk);
  // Either header alone is enough (older browsers send no Sec-Fetch-Site).
  EXPECT_EQ(check_cookie_write(without(browser_write(), "Origin"), kCsrf, TokenScope::kWrite),
            BrowserCheck::kOk);
  EXPECT_EQ(
      check_cookie_write(without(browser_write(), "Sec-Fetch-Site"), kCsrf, TokenScope::kWrite),
      BrowserCheck::kOk);
  EXPECT_EQ(check_cookie_write(with(browser_write(), "Sec-Fetch-Site", "none"), kCsrf,
                               TokenScope::kWrite),
            BrowserCheck::kOk);
}

TEST(CookieWrite, TheCsrfTokenMustBeTheSessions) {
  EXPECT_EQ(check_cookie_write(without(browser_write(), "X-CSRF-Token"), kCsrf, TokenScope::kWrite),
            BrowserCheck::kNoToken);
  std::string wrong = kCsrf;
  wrong.back() = '0';
  EXPECT_EQ(
      check_cookie_write(with(browser_write(), "X-CSRF-Token", wrong), kCsrf, TokenScope::kWrite),
      BrowserCheck::kWrongToken);
  EXPECT_EQ(check_cookie_write(with(browser_write(), "X-CSRF-Token", std::string(kCsrf) + "0"),
                               kCsrf, TokenScope::kWrite),
            BrowserCheck::kWrongToken);
  EXPECT_EQ(
      check_cookie_write(with(browser_write(), "X-CSRF-Token", ""), kCsrf, TokenScope::kWrite),
      BrowserCheck::kWrongToken);
  // A session without a token (never the case) matches nothing, not the empty header.
  EXPECT_EQ(check_cookie_write(with(browser_write(), "X-CSRF-Token", ""), "", TokenScope::kWrite),
            BrowserCheck::kWrongToken);
}

TEST(CookieWrite, AnotherSiteOrOriginIsRefusedEvenWithTheToken) {
  for (const char* site : {"cross-site", "same-site", "bogus"})
    EXPECT_EQ(check_cookie_write(with(browser_write(), "Sec-Fetch-Site", site), kCsrf,
                                 TokenScope::kWrite),
              BrowserCheck::kCrossSite)
        << site;
  for (const char* origin :
       {"http://evil.example", "http://127.0.0.1:8789", "https://127.0.0.1:8788", "null",
        "http://127.0.0.1:8788.evil.example", "http://127.0.0.1", "127.0.0.1:8788", ""})
    EXPECT_EQ(
        check_cookie_write(with(browser_write(), "Origin", origin), kCsrf, TokenScope::kWrite),
        BrowserCheck::kForeignOrigin)
        << origin;
  // Neither header: not a browser (a script has the bearer token).
  EXPECT_EQ(check_cookie_write(without(without(browser_write(), "Origin"), "Sec-Fetch-Site"), kCsrf,
                               TokenScope::kWrite),
            BrowserCheck::kNoOrigin);
  // No Host (HTTP/1.0): no origin of ours to compare with.
  EXPECT_EQ(check_cookie_write(without(browser_write(), "Host"), kCsrf, TokenScope::kWrite),
            BrowserCheck::kForeignOrigin);
}

TEST(CookieWrite, ASessionOfScopeReadCannotWrite) {
  EXPECT_EQ(check_cookie_write(browser_write(), kCsrf, TokenScope::kRead),
            BrowserCheck::kReadScope);
  EXPECT_EQ(browser_check_code(BrowserCheck::kReadScope), config::kErrReadOnlyToken);
  EXPECT_EQ(browser_check_code(BrowserCheck::kWrongToken), config::kErrCsrf);
  EXPECT_EQ(browser_check_code(BrowserCheck::kOk), 0);
  EXPECT_NE(browser_check_message(BrowserCheck::kNoToken).find("X-CSRF-Token"), std::string::npos);
}

TEST(CookieWrite, OriginComparison) {
  EXPECT_TRUE(same_origin("http://LOCALHOST:8788", "http://localhost:8788"));
  EXPECT_TRUE(same_origin("http://edge.example", "http://edge.example:80"));
  EXPECT_TRUE(same_origin("https://edge.example:443", "https://edge.example"));
  EXPECT_TRUE(same_origin("http://[::1]:8788", "http://[::1]:8788"));
  EXPECT_FALSE(same_origin("http://[::1]:8788", "http://[::2]:8788"));
  EXPECT_FALSE(same_origin("https://edge.example", "http://edge.example"));
  EXPECT_FALSE(same_origin("http://edge.example/path", "http://edge.example"));
  EXPECT_FALSE(same_origin("ftp://edge.example", "ftp://edge.example"));
  HttpRequest r;
  r.headers.emplace("Host", "edge.example:8443");
  r.tls = true;
  EXPECT_EQ(own_origin(r), "https://edge.example:8443");
}

TEST(SignIn, RefusedOnlyWhenTheBrowserSaysAnotherSite) {
  HttpRequest curl;
  curl.method = "POST";
  curl.headers.emplace("Host", "127.0.0.1:8788");
  EXPECT_EQ(check_sign_in(curl), BrowserCheck::kOk);  // scripts and tests sign in as before
  EXPECT_EQ(check_sign_in(without(browser_write(), "X-CSRF-Token")), BrowserCheck::kOk);
  EXPECT_EQ(check_sign_in(with(curl, "Sec-Fetch-Site", "cross-site")), BrowserCheck::kCrossSite);
  EXPECT_EQ(check_sign_in(with(curl, "Origin", "http://evil.example")),
            BrowserCheck::kForeignOrigin);
}

// ------------------------------------------------------------------ scopes

config::Credentials scoped_credentials() {
  config::Credentials c;
  c.api_token = "admin-token-0123456789";
  c.tokens = {{"viewer", "viewer-token-0123456789", TokenScope::kRead},
              {"ops", "ops-token-0123456789", TokenScope::kWrite}};
  c.fleet_token = "fleet-token-0123456789";
  return c;
}

TEST(Scopes, EachTokenHasItsScopeAndName) {
  ApiSecrets s;
  s.set(scoped_credentials());
  auto admin = s.identify("admin-token-0123456789");
  EXPECT_EQ(admin.match, ApiSecrets::Match::kApi);
  EXPECT_EQ(admin.scope, TokenScope::kWrite);
  EXPECT_EQ(admin.who, "token:" + short_hash("admin-token-0123456789"));
  auto viewer = s.identify("viewer-token-0123456789");
  EXPECT_EQ(viewer.match, ApiSecrets::Match::kApi);
  EXPECT_EQ(viewer.scope, TokenScope::kRead);
  EXPECT_EQ(viewer.who, "token:viewer:" + short_hash("viewer-token-0123456789"));
  auto ops = s.identify("ops-token-0123456789");
  EXPECT_EQ(ops.scope, TokenScope::kWrite);
  EXPECT_EQ(s.identify("fleet-token-0123456789").match, ApiSecrets::Match::kFleet);
  EXPECT_EQ(s.identify("viewer-token-012345678").match, ApiSecrets::Match::kNone);
  EXPECT_TRUE(s.holds(viewer.who, TokenScope::kRead));
  EXPECT_FALSE(s.holds(viewer.who, TokenScope::kWrite));
  EXPECT_FALSE(s.holds("fleet:" + short_hash("fleet-token-0123456789"), TokenScope::kRead));
}

TEST(Scopes, ATokenChangeEndsOnlyTheSessionsSignedInWithIt) {
  ApiSecrets secrets;
  config::Credentials c = scoped_credentials();
  secrets.set(c);
  Dashboard d(&secrets, false);
  auto session_of = [&](const char* token) {
    auto id = secrets.identify(token);
    return d.sessions().create(id.scope, id.who);
  };
  const std::string admin = session_of("admin-token-0123456789");
  const std::string viewer = session_of("viewer-token-0123456789");
  const std::string ops = session_of("ops-token-0123456789");
  // The viewer's token is replaced and ops becomes read-only: their sessions end, admin's stays.
  c.tokens[0].token = "viewer-token-new-0123456789";
  c.tokens[1].scope = TokenScope::kRead;
  secrets.set(c);
  EXPECT_EQ(d.credentials_changed(), 2u);
  EXPECT_TRUE(d.sessions().valid(admin));
  EXPECT_FALSE(d.sessions().valid(viewer));
  EXPECT_FALSE(d.sessions().valid(ops));
  // A fleet token change alone ends nothing.
  c.fleet_token = "fleet-token-new-0123456789";
  secrets.set(c);
  EXPECT_EQ(d.credentials_changed(), 0u);
  EXPECT_TRUE(d.sessions().valid(admin));
  EXPECT_TRUE(d.token_ok("viewer-token-new-0123456789"));
  EXPECT_FALSE(d.token_ok("fleet-token-new-0123456789"));
}

TEST(Scopes, WhoOfASession) {
  EXPECT_EQ(Dashboard::who_of("abc"), "dashboard session:" + short_hash("abc"));
}

}  // namespace
}  // namespace rampart::control
