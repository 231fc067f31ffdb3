#include "control/analytics_filter.h"

#include <array>
#include <cctype>
#include <utility>

namespace rampart::control {
namespace {

// Longest operators first, so that ">=" is not read as ">".
constexpr std::array<std::pair<const char*, FilterOp>, 6> kOps{{
    {"==", FilterOp::kEq},
    {"!=", FilterOp::kNe},
    {">=", FilterOp::kGe},
    {"<=", FilterOp::kLe},
    {">", FilterOp::kGt},
    {"<", FilterOp::kLt},
}};

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

enum class Joiner { kNone, kAnd, kOr };

// At text[i] (the first blank of a run, or a term's start), a keyword joiner " AND " / " OR "
// (blanks on both sides, upper case as documented): its kind and the index past its trailing
// blanks.
Joiner keyword_at(std::string_view text, size_t i, size_t* next) {
  size_t j = i;
  while (j < text.size() && is_space(text[j])) ++j;
  for (auto [word, kind] : {std::pair{std::string_view("AND"), Joiner::kAnd},
                            std::pair{std::string_view("OR"), Joiner::kOr}}) {
    if (text.substr(j, word.size()) != word) continue;
    size_t k = j + word.size();
    if (k >= text.size() || !is_space(text[k])) continue;
    while (k < text.size() && is_space(text[k])) ++k;
    *next = k;
    return kind;
  }
  return Joiner::kNone;
}

const char* kGrammar =
    " (a filter is DIMENSION OPERATOR VALUE with operators ==, !=, >, <, >=, <=; combine "
    "filters with `;` or ` AND `, `,` or ` OR `; AND binds tighter than OR)";

bool parse_term(std::string_view raw, FilterTerm* out, std::string* error) {
  const std::string_view term = trim_blanks(raw);
  if (term.empty()) {
    *error =
        std::string(
            "filters: an empty filter (two joiners in a row, or one at an end) is not DIMENSION "
            "OPERATOR VALUE") +
        kGrammar;
    return false;
  }
  size_t pos = std::string_view::npos, op_len = 0;
  FilterOp op = FilterOp::kEq;
  for (const auto& [name, o] : kOps) {
    size_t p = term.find(name);
    if (p != std::string_view::npos && (pos == std::string_view::npos || p < pos)) {
      pos = p;
      op = o;
      op_len = std::char_traits<char>::length(name);
    }
  }
  if (pos == std::string_view::npos || pos == 0 || pos + op_len == term.size()) {
    *error = "filters: \"" + std::string(term) + "\" is not DIMENSION OPERATOR VALUE" + kGrammar;
    return false;
  }
  const std::string_view name = trim_blanks(term.substr(0, pos));
  const auto dim = dimension_of(name);
  if (!dim) {
    *error = "filters: unknown dimension \"" + std::string(name) + "\" (one of " +
             dimension_names() + ")";
    return false;
  }
  const std::string_view value = trim_blanks(term.substr(pos + op_len));
  for (char c : value) {
    if (is_space(c)) {
      *error = "filters: the value \"" + std::string(value) +
               "\" has a space; AND and OR are upper-case words with a space on each side" +
               kGrammar;
      return false;
    }
  }
  if (value.empty()) {
    *error = "filters: \"" + std::string(term) + "\" has no value" + kGrammar;
    return false;
  }
  if (*dim == Dimension::kIpVersion && value != "4" && value != "6") {
    *error = "filters: ipVersion is 4 or 6, not \"" + std::string(value) + "\"";
    return false;
  }
  if (*dim == Dimension::kStatus &&
      (value.size() > 3 || value.find_first_not_of("0123456789") != std::string_view::npos)) {
    *error = "filters: status is a number from 0 to 999, not \"" + std::string(value) + "\"";
    return false;
  }
  *out = FilterTerm{*dim, op, std::string(value)};
  return true;
}

}  // namespace

bool parse_filter_expr(std::string_view text, FilterExpr* out, std::string* error) {
  out->clear();
  std::vector<FilterTerm> all;
  size_t start = 0, i = 0;
  // Ends the term text[start, end) and applies the joiner that follows it.
  auto close = [&](size_t end, Joiner j) {
    FilterTerm t;
    if (!parse_term(text.substr(start, end - start), &t, error)) return false;
    all.push_back(std::move(t));
    if (j != Joiner::kAnd) out->push_back(std::exchange(all, {}));
    return true;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == ';' || c == ',') {
      if (!close(i, c == ';' ? Joiner::kAnd : Joiner::kOr)) return false;
      start = ++i;
      continue;
    }
    // A keyword follows blanks, or starts a term (then the term before it is empty).
    if (is_space(c) || i == start) {
      size_t next = 0;
      if (Joiner j = keyword_at(text, i, &next); j != Joiner::kNone) {
        if (!close(i, j)) return false;
        start = i = next;
        continue;
      }
    }
    ++i;
  }
  return close(text.size(), Joiner::kNone);
}

}  // namespace rampart::control
