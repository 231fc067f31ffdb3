// SessionStore (ids, expiry, bounds) and the Dashboard's cookie and token helpers.
#include <gtest/gtest.h>

#include <set>

#include "control/api_auth.h"
#include "control/api_dashboard.h"
#include "control/http_message.h"
#include "control/session_store.h"
#include "control/web_assets.h"

namespace rampart::control {
namespace {

using config::TokenScope;

SessionStore::Options lifetime_only(int seconds, size_t max_sessions = 1024) {
  return {std::chrono::seconds(seconds), std::chrono::seconds(0), max_sessions};
}

TEST(SessionStore, IdsAreRandom256BitHex) {
  SessionStore s;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = s.create(TokenScope::kWrite, "token:x");
    ASSERT_EQ(id.size(), 64u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST(SessionStore, ValidUntilExpiryOrRemoval) {
  SessionStore s(lifetime_only(60));
  auto now = SessionStore::Clock::now();
  s.set_clock([&] { return now; });
  std::string a = s.create(TokenScope::kWrite, "token:x"), b = s.create(TokenScope::kRead, "t");
  EXPECT_TRUE(s.valid(a));
  EXPECT_EQ(s.expires_in(a), 60);
  EXPECT_FALSE(s.valid(""));
  EXPECT_FALSE(s.valid(a.substr(1)));
  EXPECT_FALSE(s.valid(a + "0"));
  s.remove(b);
  EXPECT_FALSE(s.valid(b));
  now += std::chrono::seconds(59);
  EXPECT_TRUE(s.valid(a));
  now += std::chrono::seconds(1);
  EXPECT_FALSE(s.valid(a));
  EXPECT_EQ(s.size(), 0u);
}

TEST(SessionStore, BoundedDropsExpiredThenOldest) {
  SessionStore s(lifetime_only(100, 3));
  auto now = SessionStore::Clock::now();
  s.set_clock([&] { return now; });
  std::string a = s.create(TokenScope::kWrite, "t");
  now += std::chrono::seconds(1);
  std::string b = s.create(TokenScope::kWrite, "t");
  now += std::chrono::seconds(1);
  std::string c = s.create(TokenScope::kWrite, "t");
  now += std::chrono::seconds(1);
  std::string d = s.create(TokenScope::kWrite, "t");  // full: the oldest (a) goes
  EXPECT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.valid(a));
  EXPECT_TRUE(s.valid(b) && s.valid(c) && s.valid(d));
}

TEST(Dashboard, TokenCompare) {
  ApiSecrets secrets;
  secrets.set("secret-token", "fleet-token");
  Dashboard d(&secrets, false);
  EXPECT_TRUE(d.token_ok("secret-token"));
  EXPECT_FALSE(d.token_ok("secret-toke"));
  EXPECT_FALSE(d.token_ok("secret-token "));
  EXPECT_FALSE(d.token_ok(""));
  EXPECT_FALSE(d.token_ok("fleet-token"));  // the fleet credential does not sign in
  ApiSecrets none;
  none.set("", "");
  Dashboard empty(&none, false);
  EXPECT_FALSE(empty.token_ok(""));
}

// One check: what the API's secrets hold is what the dashboard accepts, with no copy to update.
TEST(Dashboard, NewTokenEndsSessionsAndRefusesTheOldOne) {
  ApiSecrets secrets;
  secrets.set("first-token-0123456789", "");
  Dashboard d(&secrets, false);
  std::string who;
  ASSERT_EQ(secrets.check("first-token-0123456789", &who), ApiSecrets::Match::kApi);
  std::string id = d.sessions().create(TokenScope::kWrite, who);
  HttpRequest get;
  get.method = "GET";
  get.headers.emplace("Cookie", "rampart_session=" + id);
  ASSERT_TRUE(d.cookie_authorizes(get));
  secrets.set("second-token-0123456789", "");
  EXPECT_FALSE(d.token_ok("first-token-0123456789"));  // at once, before credentials_changed
  EXPECT_TRUE(d.token_ok("second-token-0123456789"));
  EXPECT_EQ(d.credentials_changed(), 1u);
  EXPECT_FALSE(d.cookie_authorizes(get));
}

TEST(ApiSecrets, NamesWhichCredential) {
  ApiSecrets s;
  s.set("admin-token-0123456789", "fleet-token-0123456789");
  std::string who;
  EXPECT_EQ(s.check("admin-token-0123456789", &who), ApiSecrets::Match::kApi);
  EXPECT_EQ(who, "token:" + short_hash("admin-token-0123456789"));
  EXPECT_EQ(s.check("fleet-token-0123456789", &who), ApiSecrets::Match::kFleet);
  EXPECT_EQ(who, "fleet:" + short_hash("fleet-token-0123456789"));
  EXPECT_EQ(s.check("admin-token-012345678"), ApiSecrets::Match::kNone);
  s.set("admin-token-0123456789", "");
  EXPECT_EQ(s.check("fleet-token-0123456789"), ApiSecrets::Match::kNone);
  EXPECT_EQ(s.check(""), ApiSecrets::Match::kNone);
}

TEST(Dashboard, CookieFlags) {
  ApiSecrets secrets;
  secrets.set("t", "");
  Dashboard http(&secrets, false), https(&secrets, true);
  std::string c = http.cookie_header("abc");
  EXPECT_EQ(c.rfind("rampart_session=abc; ", 0), 0u);
  EXPECT_NE(c.find("HttpOnly"), std::string::npos);
  EXPECT_NE(c.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(c.find("Path=/"), std::string::npos);
  EXPECT_EQ(c.find("Secure"), std::string::npos);
  EXPECT_NE(https.cookie_header("abc").find("; Secure"), std::string::npos);
  EXPECT_NE(http.cookie_header("").find("Max-Age=0"), std::string::npos);
}

TEST(Dashboard, SessionCookieOnlyAuthorizesReads) {
  ApiSecrets secrets;
  secrets.set("t", "");
  Dashboard d(&secrets, false);
  std::string id = d.sessions().create(TokenScope::kWrite, "token:x");
  HttpRequest get;
  get.method = "GET";
  get.headers.emplace("Cookie", "theme=dark; rampart_session=" + id + "; x=1");
  EXPECT_EQ(Dashboard::session_cookie(get), id);
  EXPECT_TRUE(d.cookie_authorizes(get));
  HttpRequest post = get;
  post.method = "POST";
  EXPECT_FALSE(d.cookie_authorizes(post));
  HttpRequest forged;
  forged.method = "GET";
  forged.headers.emplace("Cookie", "rampart_session=" + std::string(64, 'a'));
  EXPECT_FALSE(d.cookie_authorizes(forged));
  HttpRequest none;
  none.method = "GET";
  EXPECT_FALSE(d.cookie_authorizes(none));
}

TEST(Dashboard, PathsAndEmbeddedAssets) {
  EXPECT_TRUE(Dashboard::is_dashboard_path("/dashboard"));
  EXPECT_TRUE(Dashboard::is_dashboard_path("/dashboard/assets/app.js"));
  EXPECT_FALSE(Dashboard::is_dashboard_path("/dashboardx"));
  EXPECT_FALSE(Dashboard::is_dashboard_path("/client/v4/zones/default/spectrum/apps"));
  for (const char* name : {"index.html", "app.js", "app.css", "favicon.svg"}) {
    const WebAsset* a = find_web_asset(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_GT(a->size, 100u) << name;
  }
  EXPECT_EQ(find_web_asset("../CMakeLists.txt"), nullptr);
  EXPECT_STREQ(web_content_type("app.js"), "text/javascript; charset=utf-8");
}

}  // namespace
}  // namespace rampart::control
