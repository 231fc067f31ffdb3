// CIDR prefixes and a longest-prefix-match table over them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/ip_addr.h"

namespace rampart::net {

// An IPv4 or IPv6 prefix. The base is stored with host bits cleared, and a prefix that lies inside
// ::ffff:0:0/96 is stored as the equivalent IPv4 prefix, so that IPv4 clients reaching a dual-stack
// socket as ::ffff:a.b.c.d match IPv4 rules and nothing else. Pure value: any thread may use it.
class Cidr {
 public:
  Cidr() = default;
  // nullopt if prefix_len is outside [0, 32] for IPv4 or [0, 128] for IPv6.
  static std::optional<Cidr> from(const IpAddr& base, int prefix_len);
  // "1.2.3.4" (host route), "1.2.3.0/24", "2001:db8::/32". Host bits set in the base are cleared
  // ("1.2.3.4/24" is 1.2.3.0/24). The length is decimal without sign or leading zeros.
  static std::optional<Cidr> parse(std::string_view text);

  const IpAddr& base() const { return base_; }
  int prefix_len() const { return prefix_len_; }
  // An IPv4-mapped IPv6 address is matched as IPv4; IPv4 and IPv6 otherwise never match each other.
  bool contains(const IpAddr& addr) const;
  std::string to_string() const;
  bool operator==(const Cidr& o) const { return base_ == o.base_ && prefix_len_ == o.prefix_len_; }

 private:
  IpAddr base_;
  int prefix_len_ = 0;
};

namespace detail {

using Key128 = unsigned __int128;

// A path-compressed binary trie over 128-bit keys (IPv4 keys occupy the top 32 bits). At most
// 2n-1 nodes for n prefixes, so 100k IPv6 prefixes cost a few MB; a lookup visits at most one
// node per distinct prefix on the path.
template <typename T>
class BitTrie {
 public:
  void insert(Key128 key, int len, T value);
  const T* longest_match(Key128 key) const;
  const T* exact(Key128 key, int len) const;
  size_t size() const { return size_; }
  void clear() {
    nodes_.clear();
    root_ = -1;
    size_ = 0;
  }

  static Key128 mask(int len) { return len == 0 ? Key128{0} : ~Key128{0} << (128 - len); }

 private:
  struct Node {
    Key128 key;  // masked to len
    int len;
    int32_t child[2] = {-1, -1};
    std::optional<T> value;  // empty for glue nodes created by a split
  };

  static int bit(Key128 key, int i) { return static_cast<int>((key >> (127 - i)) & 1); }
  static int common_len(Key128 a, Key128 b) {
    Key128 x = a ^ b;
    uint64_t hi = static_cast<uint64_t>(x >> 64), lo = static_cast<uint64_t>(x);
    if (hi != 0) return __builtin_clzll(hi);
    if (lo != 0) return 64 + __builtin_clzll(lo);
    return 128;
  }
  int32_t add(Key128 key, int len, std::optional<T> value) {
    nodes_.push_back(Node{key, len, {-1, -1}, std::move(value)});
    return static_cast<int32_t>(nodes_.size() - 1);
  }
  int32_t& slot(int32_t parent, int side) {
    return parent < 0 ? root_ : nodes_[parent].child[side];
  }

  std::vector<Node> nodes_;
  int32_t root_ = -1;
  size_t size_ = 0;
};

template <typename T>
void BitTrie<T>::insert(Key128 key, int len, T value) {
  key &= mask(len);
  int32_t parent = -1;
  int side = 0;
  while (true) {
    int32_t cur = slot(parent, side);
    if (cur < 0) {
      int32_t leaf = add(key, len, std::move(value));
      slot(parent, side) = leaf;
      ++size_;
      return;
    }
    Key128 cur_key = nodes_[cur].key;
    int cur_len = nodes_[cur].len;
    int cpl = std::min({common_len(cur_key, key), cur_len, len});
    if (cpl == cur_len && cpl == len) {  // same prefix: replace
      if (!nodes_[cur].value) ++size_;
      nodes_[cur].value = std::move(value);
      return;
    }
    if (cpl == cur_len) {  // cur is a proper prefix of key: descend
      parent = cur;
      side = bit(key, cur_len);
      continue;
    }
    if (cpl == len) {  // key is a proper prefix of cur: new node above cur
      int32_t n = add(key, len, std::move(value));
      nodes_[n].child[bit(cur_key, len)] = cur;
      slot(parent, side) = n;
      ++size_;
      return;
    }
    // They diverge at bit cpl: a glue node with both below it.
    int32_t glue = add(key & mask(cpl), cpl, std::nullopt);
    int32_t leaf = add(key, len, std::move(value));
    nodes_[glue].child[bit(cur_key, cpl)] = cur;
    nodes_[glue].child[bit(key, cpl)] = leaf;
    slot(parent, side) = glue;
    ++size_;
    return;
  }
}

template <typename T>
const T* BitTrie<T>::longest_match(Key128 key) const {
  const T* best = nullptr;
  int32_t cur = root_;
  while (cur >= 0) {
    const Node& n = nodes_[cur];
    if ((key & mask(n.len)) != n.key) break;
    if (n.value) best = &*n.value;
    if (n.len == 128) break;
    cur = n.child[bit(key, n.len)];
  }
  return best;
}

template <typename T>
const T* BitTrie<T>::exact(Key128 key, int len) const {
  key &= mask(len);
  int32_t cur = root_;
  while (cur >= 0) {
    const Node& n = nodes_[cur];
    if (n.len > len || (key & mask(n.len)) != n.key) return nullptr;
    if (n.len == len) return n.value ? &*n.value : nullptr;
    cur = n.child[bit(key, n.len)];
  }
  return nullptr;
}

Key128 key_of(const IpAddr& addr);  // IPv4 in the top 32 bits

}  // namespace detail

// Maps CIDR prefixes to values, answering longest-prefix-match lookups; IPv4 and IPv6 are kept in
// separate tries. Owns copies of the values. Build it on one thread, then share it read-only:
// const methods are safe to call concurrently, mutation is not.
template <typename T>
class PrefixTrie {
 public:
  // Inserts or replaces the value for `cidr`.
  void insert(const Cidr& cidr, T value) {
    trie(cidr.base()).insert(detail::key_of(cidr.base()), cidr.prefix_len(), std::move(value));
  }
  // The value of the longest prefix containing `addr` (IPv4-mapped IPv6 looks up as IPv4).
  const T* lookup(const IpAddr& addr) const {
    IpAddr a = addr.unmapped();
    return trie(a).longest_match(detail::key_of(a));
  }
  // The value stored for exactly `cidr`, if any.
  const T* find(const Cidr& cidr) const {
    return trie(cidr.base()).exact(detail::key_of(cidr.base()), cidr.prefix_len());
  }
  size_t size() const { return v4_.size() + v6_.size(); }
  bool empty() const { return size() == 0; }
  void clear() {
    v4_.clear();
    v6_.clear();
  }

 private:
  detail::BitTrie<T>& trie(const IpAddr& a) { return a.is_v4() ? v4_ : v6_; }
  const detail::BitTrie<T>& trie(const IpAddr& a) const { return a.is_v4() ? v4_ : v6_; }

  detail::BitTrie<T> v4_, v6_;
};

}  // namespace rampart::net
