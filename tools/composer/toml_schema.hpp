// Typed, position-reporting access to a parsed TOML document. Every accessor
// either returns the requested value or throws a ScriptError pointing at the
// offending node or key. TOML++ pulls in <math.h>: never include this header
// together with the cos:: codec headers (see diagnostic.hpp).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "composer/diagnostic.hpp"

namespace composer {

/// The start of a TOML++ source region as a SourcePos in `path`.
SourcePos pos_of(const std::string& path, const toml::source_region& region);

/// Lower-case TOML type name for messages ("string", "integer", "table", ...).
std::string_view type_name(toml::node_type t);

/// The type name with its article: "an integer", "a string".
std::string a_type_name(toml::node_type t);

/// Schema checks bound to one script path (used in every SourcePos).
class Schema {
 public:
  explicit Schema(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  /// Position of a node's value.
  SourcePos pos(const toml::node& n) const { return pos_of(path_, n.source()); }
  /// Position of `key` inside `t` (the key itself); the table's position if absent.
  SourcePos key_pos(const toml::table& t, std::string_view key) const;

  /// Throws ScriptError("unknown key 'k' in <where> (expected one of: ...)")
  /// at the earliest (in file order) key of `t` that is not in `allowed`.
  void check_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                  std::string_view where) const;

  /// The node under `key`; throws "missing required key 'key' in <where>" at
  /// the table if absent.
  const toml::node& required(const toml::table& t, std::string_view key, std::string_view where) const;

  /// `n` as a string; throws "<what> must be a string, not a <type>" otherwise.
  std::string string(const toml::node& n, std::string_view what) const;
  /// `n` as an integer; same error shape.
  int64_t integer(const toml::node& n, std::string_view what) const;
  /// `n` as a boolean; same error shape.
  bool boolean(const toml::node& n, std::string_view what) const;
  /// `n` as an array; same error shape.
  const toml::array& array(const toml::node& n, std::string_view what) const;
  /// `n` as a table; same error shape.
  const toml::table& table(const toml::node& n, std::string_view what) const;

 private:
  [[noreturn]] void wrong_type(const toml::node& n, std::string_view what, std::string_view expected) const;

  std::string path_;
};

}  // namespace composer
