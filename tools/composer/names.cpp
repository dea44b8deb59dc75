#include "composer/names.hpp"

namespace composer {
namespace {

struct Rule {
  const char* what;
  const char* pattern;
  bool hyphen;
  size_t max_length;
};

Rule rule(NameKind kind) {
  switch (kind) {
    case NameKind::system: return {"system name", "[a-z][a-z0-9_-]*", true, max_name_length};
    case NameKind::component: return {"component name", "[a-z][a-z0-9_]*", false, max_name_length};
    case NameKind::interface: return {"interface name", "[a-z][a-z0-9_]*", false, max_name_length};
    case NameKind::param: return {"parameter name", "[a-z][a-z0-9_]*", false, max_param_key_length};
    case NameKind::image: return {"image name", "[a-z][a-z0-9_-]*", true, max_image_stem_length};
    case NameKind::channel: return {"channel name", "[a-z][a-z0-9_]*", false, max_name_length};
    case NameKind::file: return {"file name", "[a-z][a-z0-9_]*", false, max_file_name_length};
  }
  return {"name", "", false, 0};
}

bool lower(char c) { return c >= 'a' && c <= 'z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool valid_name(NameKind kind, std::string_view name) {
  const Rule r = rule(kind);
  if (name.empty() || name.size() > r.max_length || !lower(name[0])) return false;
  for (char c : name)
    if (!lower(c) && !digit(c) && c != '_' && !(r.hyphen && c == '-')) return false;
  return true;
}

std::string invalid_name_message(NameKind kind, std::string_view name) {
  const Rule r = rule(kind);
  return "invalid " + std::string(r.what) + " '" + std::string(name) + "' (must match " + r.pattern +
         " and be at most " + std::to_string(r.max_length) + " characters)";
}

}  // namespace composer
