#include "composer/toml_schema.hpp"

#include <algorithm>
#include <tuple>

namespace composer {

SourcePos pos_of(const std::string& path, const toml::source_region& region) {
  // Nodes a --set override put into the script carry the override as their
  // source ("--set vm.priority=300"), so errors point at it.
  SourcePos p{region.path && region.path->rfind("--set ", 0) == 0 ? *region.path : path, region.begin.line,
              region.begin.column};
  if (p.line == 0) p.line = 1;  // nodes without a recorded position
  if (p.column == 0) p.column = 1;
  return p;
}

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "value";
}

std::string a_type_name(toml::node_type t) {
  const std::string_view name = type_name(t);
  const bool vowel = std::string_view("aeiou").find(name.front()) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(name);
}

SourcePos Schema::key_pos(const toml::table& t, std::string_view key) const {
  const auto it = t.find(key);
  if (it == t.end()) return pos(t);
  return pos_of(path_, it->first.source());
}

void Schema::check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                        std::string_view where) const {
  const toml::key* first = nullptr;
  auto earlier = [](const toml::key& a, const toml::key& b) {
    return std::tie(a.source().begin.line, a.source().begin.column) <
           std::tie(b.source().begin.line, b.source().begin.column);
  };
  for (auto&& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
    if (first == nullptr || earlier(k, *first)) first = &k;
  }
  if (first == nullptr) return;
  std::string expected;
  for (std::string_view a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
  fail(pos_of(path_, first->source()),
       "unknown key '" + std::string(first->str()) + "' in " + std::string(where) + " (expected one of: " +
           expected + ")");
}

const toml::node& Schema::required(const toml::table& t, std::string_view key, std::string_view where) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) fail(pos(t), "missing required key '" + std::string(key) + "' in " + std::string(where));
  return *n;
}

void Schema::wrong_type(const toml::node& n, std::string_view what, std::string_view expected) const {
  fail(pos(n), std::string(what) + " must be " + std::string(expected) + ", not " + a_type_name(n.type()));
}

std::string Schema::string(const toml::node& n, std::string_view what) const {
  if (const auto* s = n.as_string()) return s->get();
  wrong_type(n, what, "a string");
}

int64_t Schema::integer(const toml::node& n, std::string_view what) const {
  if (const auto* i = n.as_integer()) return i->get();
  wrong_type(n, what, "an integer");
}

bool Schema::boolean(const toml::node& n, std::string_view what) const {
  if (const auto* b = n.as_boolean()) return b->get();
  wrong_type(n, what, "a boolean");
}

const toml::array& Schema::array(const toml::node& n, std::string_view what) const {
  if (const auto* a = n.as_array()) return *a;
  wrong_type(n, what, "an array");
}

const toml::table& Schema::table(const toml::node& n, std::string_view what) const {
  if (const auto* t = n.as_table()) return *t;
  wrong_type(n, what, "a table");
}

}  // namespace composer
