// The request pipeline's pure pieces: head parsing and its limits, body framing, Content-Encoding
// refusal, chunked decoding in any split, the Host check, bearer, cookie, form and query parsing,
// and the response's wire form.
#include "control/http_parse.h"

#include <gtest/gtest.h>

namespace rampart::control {
namespace {

HeadResult parse_head(const std::string& text, HttpRequest* req) {
  return parse_request_head(text, req);
}

TEST(HttpParse, CompleteHead) {
  HttpRequest req;
  std::string text =
      "GET /client/v4/zones/default/spectrum/apps%2Fx?page=2&per_page=5&f=a%3Db+c HTTP/1.1\r\n"
      "Host: 127.0.0.1:8788\r\nAuthorization:  Bearer abc \r\nX-Empty:\r\n\r\nBODY";
  HeadResult h = parse_head(text, &req);
  ASSERT_EQ(h.status, ParseStatus::kComplete) << h.error;
  EXPECT_EQ(h.consumed, text.size() - 4);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/client/v4/zones/default/spectrum/apps/x");
  EXPECT_EQ(req.query, "page=2&per_page=5&f=a%3Db+c");
  EXPECT_EQ(req.get_param_value("page"), "2");
  EXPECT_EQ(req.get_param_value("f"), "a=b c");
  EXPECT_EQ(req.get_header_value("authorization"), "Bearer abc");
  EXPECT_TRUE(req.has_header("x-empty"));
  EXPECT_EQ(req.version, "HTTP/1.1");
}

TEST(HttpParse, IncompleteUntilTheBlankLine) {
  std::string text = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n";
  for (size_t cut = 0; cut < text.size(); ++cut) {
    HttpRequest req;
    EXPECT_EQ(parse_head(text.substr(0, cut), &req).status, ParseStatus::kIncomplete) << cut;
  }
  HttpRequest req;
  EXPECT_EQ(parse_head(text, &req).status, ParseStatus::kComplete);
}

TEST(HttpParse, LimitsAndMalformedHeads) {
  HttpRequest req;
  // No end of line within 16 KiB: refused, not buffered forever.
  EXPECT_EQ(parse_head("GET /" + std::string(kMaxHeadBytes, 'a'), &req).error_status, 414);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(parse_head(many + "\r\n", &req).error_status, 431);
  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(kMaxHeadBytes, 'v');
  EXPECT_EQ(parse_head(big, &req).error_status, 431);
  for (const char* bad : {"GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
                          "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
                          "GET / HTTP/1.1\r\n\r\n",  // HTTP/1.1 without Host
                          "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
    HttpRequest r;
    HeadResult h = parse_head(bad, &r);
    EXPECT_EQ(h.status, ParseStatus::kInvalid) << bad;
    EXPECT_EQ(h.error_status, 400) << bad;
  }
  EXPECT_EQ(parse_head("GET / HTTP/2.0\r\n\r\n", &req).error_status, 505);
  HttpRequest ok10;
  EXPECT_EQ(parse_head("GET /healthz HTTP/1.0\r\n\r\n", &ok10).status, ParseStatus::kComplete);
}

TEST(HttpParse, BodyFraming) {
  auto framing = [](const std::string& headers, BodyFraming* f, int* status) {
    HttpRequest req;
    std::string why;
    EXPECT_EQ(parse_head("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n", &req).status,
              ParseStatus::kComplete);
    return body_framing(req, f, status, &why);
  };
  BodyFraming f;
  int status = 0;
  ASSERT_TRUE(framing("", &f, &status));
  EXPECT_EQ(f.kind, BodyFraming::Kind::kNone);
  ASSERT_TRUE(framing("Content-Length: 12\r\n", &f, &status));
  EXPECT_EQ(f.kind, BodyFraming::Kind::kLength);
  EXPECT_EQ(f.length, 12u);
  ASSERT_TRUE(framing("Content-Length: 7, 7\r\n", &f, &status));
  ASSERT_TRUE(framing("Transfer-Encoding: Chunked\r\n", &f, &status));
  EXPECT_EQ(f.kind, BodyFraming::Kind::kChunked);
  EXPECT_FALSE(framing("Content-Length: 7\r\nContent-Length: 8\r\n", &f, &status));
  EXPECT_EQ(status, 400);
  EXPECT_FALSE(framing("Content-Length: -1\r\n", &f, &status));
  EXPECT_FALSE(framing("Content-Length: 99999999999999999999999\r\n", &f, &status));
  EXPECT_FALSE(framing("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", &f, &status));
  EXPECT_EQ(status, 400);
  EXPECT_FALSE(framing("Transfer-Encoding: gzip, chunked\r\n", &f, &status));
  EXPECT_EQ(status, 501);
}

TEST(HttpParse, ContentEncodingIsRefusedUnlessIdentity) {
  auto allowed = [](const std::string& headers) {
    HttpRequest req;
    parse_head("POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n", &req);
    return content_coding_allowed(req);
  };
  EXPECT_TRUE(allowed(""));
  EXPECT_TRUE(allowed("Content-Encoding: identity\r\n"));
  EXPECT_TRUE(allowed("Content-Encoding: IDENTITY\r\n"));
  EXPECT_FALSE(allowed("Content-Encoding: gzip\r\n"));
  EXPECT_FALSE(allowed("Content-Encoding: br\r\n"));
  EXPECT_FALSE(allowed("Content-Encoding: identity, deflate\r\n"));
  EXPECT_FALSE(allowed("content-encoding: identity\r\nContent-Encoding: gzip\r\n"));
}

TEST(HttpParse, KeepAlive) {
  auto ka = [](const std::string& text) {
    HttpRequest req;
    parse_head(text, &req);
    return wants_keep_alive(req);
  };
  EXPECT_TRUE(ka("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
}

TEST(ChunkedDecoder, EverySplitGivesTheSameBody) {
  const std::string wire =
      "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    ChunkedDecoder d(1 << 20);
    std::string body;
    size_t used1 = 0, used2 = 0;
    ParseStatus s = d.feed(std::string_view(wire).substr(0, cut), &used1, &body);
    ASSERT_NE(s, ParseStatus::kInvalid) << cut;
    if (s != ParseStatus::kComplete) {
      ASSERT_EQ(used1, cut);
      s = d.feed(std::string_view(wire).substr(cut), &used2, &body);
    }
    ASSERT_EQ(s, ParseStatus::kComplete) << cut;
    EXPECT_EQ(body, "Wikipedia in\r\n\r\nchunks.") << cut;
    EXPECT_EQ(used1 + used2, wire.size() - 4) << cut;
  }
}

TEST(ChunkedDecoder, RefusesBadSyntaxAndLargeBodies) {
  for (const char* bad : {"x\r\n", "\r\n", "3\r\nabcX", "3\r\nabc\rX"}) {
    ChunkedDecoder d(1024);
    std::string body;
    size_t used = 0;
    EXPECT_EQ(d.feed(bad, &used, &body), ParseStatus::kInvalid) << bad;
    EXPECT_FALSE(d.too_large());
  }
  ChunkedDecoder d(10);
  std::string body;
  size_t used = 0;
  EXPECT_EQ(d.feed("8\r\n12345678\r\n8\r\n", &used, &body), ParseStatus::kInvalid);
  EXPECT_TRUE(d.too_large());
  ChunkedDecoder huge(1 << 20);
  EXPECT_EQ(huge.feed("FFFFFFFFFFFFFFFFFFFF\r\n", &used, &body), ParseStatus::kInvalid);
  ChunkedDecoder endless(1 << 20);
  EXPECT_EQ(endless.feed("1" + std::string(5000, ' '), &used, &body), ParseStatus::kInvalid);
}

TEST(HostCheck, AddressLoopbackLocalhostAndServerNames) {
  const std::vector<std::string> names = {"edge1.example.net", "*.fleet.example.net"};
  EXPECT_TRUE(host_allowed("127.0.0.1:8788", "127.0.0.1", names));
  EXPECT_TRUE(host_allowed("127.0.0.1:9999", "127.0.0.1", names));  // a tunnel's port
  EXPECT_TRUE(host_allowed("localhost:8788", "10.0.0.5", names));
  EXPECT_TRUE(host_allowed("LOCALHOST", "10.0.0.5", names));
  EXPECT_TRUE(host_allowed("[::1]:8788", "10.0.0.5", names));
  EXPECT_TRUE(host_allowed("10.0.0.5:8788", "10.0.0.5", names));
  EXPECT_TRUE(host_allowed("Edge1.Example.NET.", "10.0.0.5", names));
  EXPECT_TRUE(host_allowed("a.fleet.example.net:8788", "10.0.0.5", names));
  EXPECT_FALSE(host_allowed("fleet.example.net", "10.0.0.5", names));
  EXPECT_FALSE(host_allowed("10.0.0.6", "10.0.0.5", names));
  EXPECT_FALSE(host_allowed("attacker.example.com", "127.0.0.1", names));
  EXPECT_FALSE(host_allowed("127.0.0.1.attacker.example.com", "127.0.0.1", names));
  EXPECT_FALSE(host_allowed("", "127.0.0.1", names));
  EXPECT_FALSE(host_allowed("127.0.0.1:80:80", "127.0.0.1", names));
  EXPECT_FALSE(host_allowed("[::1", "127.0.0.1", names));
  EXPECT_FALSE(host_allowed("local host", "127.0.0.1", names));
}

TEST(Credentials, BearerCookieForm) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc "), "abc");
  EXPECT_FALSE(bearer_token("Basic abc"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token(""));
  EXPECT_EQ(cookie_value({"a=1; rampart_session=xyz; b=2"}, "rampart_session"), "xyz");
  EXPECT_EQ(cookie_value({"a=1", " rampart_session = \"q\" "}, "rampart_session"), "q");
  EXPECT_EQ(cookie_value({"xrampart_session=1"}, "rampart_session"), "");
  EXPECT_EQ(form_field("a=1&token=ab%2Bc+d&token=x", "token"), "ab+c d");
  EXPECT_EQ(form_field("token", "token"), "");
  EXPECT_FALSE(form_field("a=1&b=2", "token"));
  EXPECT_EQ(url_decode("%zz%4", false), "%zz%4");
  EXPECT_EQ(url_decode("a+b%20c", false), "a+b c");
}

TEST(HttpWire, ResponseForm) {
  HttpResponse res;
  res.status = 201;
  res.set_header("X-A", "1\r\nInjected: yes");
  res.set_header("Content-Length", "999");
  res.set_content("{}", "application/json");
  std::string wire = serialize_response(res, false, true);
  EXPECT_EQ(wire.rfind("HTTP/1.1 201 Created\r\n", 0), 0u);
  EXPECT_NE(wire.find("X-A: 1Injected: yes\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_EQ(wire.find("999"), std::string::npos);
  EXPECT_NE(wire.find("Connection: keep-alive\r\n\r\n{}"), std::string::npos);
  std::string head = serialize_response(res, true, false);
  EXPECT_NE(head.find("Content-Length: 2\r\nConnection: close\r\n\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace rampart::control
