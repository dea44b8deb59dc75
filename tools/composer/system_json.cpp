#include "composer/system_json.hpp"

#include <cstdio>

#include "manifest/format.hpp"

namespace composer {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string system_json(const Plan& plan, const std::string& absolute_script, bool with_iso,
                        const std::vector<std::string>& overrides) {
  std::string j = "{\n";
  j += "  \"name\": " + json_string(plan.script.name) + ",\n";
  j += "  \"description\": " + json_string(plan.script.description) + ",\n";
  j += "  \"script\": " + json_string(absolute_script) + ",\n";
  j += "  \"overrides\": [";
  for (size_t i = 0; i < overrides.size(); ++i) j += (i ? ", " : "") + json_string(overrides[i]);
  j += "],\n";
  j += "  \"memory_mib\": " + std::to_string(plan.script.memory_bytes >> 20) + ",\n";
  j += "  \"cpus\": " + std::to_string(plan.script.cpus) + ",\n";
  j += "  \"kernel\": \"kernel.elf\",\n";
  j += std::string("  \"iso\": ") + (with_iso ? "\"cos.iso\"" : "null") + ",\n";
  j += "  \"components\": [";
  const char* sep = "\n";
  for (const cos::manifest::Component& c : plan.manifest.components) {
    j += sep;
    j += "    {\"name\": " + json_string(c.name) + ", \"image\": " + json_string(c.image) +
         ", \"constructor\": " + (c.constructed_by_kernel ? "\"kernel\"" : "\"booter\"") +
         ", \"priority\": " + std::to_string(c.priority) +
         ", \"priority_ceiling\": " + std::to_string(c.priority_ceiling) +
         ", \"cpu\": " + std::to_string(c.cpu) + ", \"essential\": " + (c.essential ? "true" : "false");
    if (c.guest_ram_bytes != 0) {
      j += ", \"guest\": {\"ram_mib\": " + std::to_string(c.guest_ram_bytes >> 20) +
           ", \"cmdline\": " + json_string(c.guest_cmdline);
      for (const cos::manifest::Blob& b : c.blobs)
        if (b.name.rfind("guest.", 0) == 0)
          j += ", " + json_string(b.name.substr(b.name.find('.') + 1)) + ": " + json_string(b.module);
      j += std::string(", \"kind\": ") + (c.guest_kind == cos::manifest::format::guest_kind_multiboot ? "\"multiboot\"" : "\"linux\"");
      j += std::string(", \"exit_status\": ") + (c.guest_debug_exit ? "\"debug-exit\"" : "\"vm\"");
      j += "}";
    }
    std::string files;
    for (const cos::manifest::Blob& b : c.blobs)
      if (b.name.rfind("file.", 0) == 0)
        files += std::string(files.empty() ? "" : ", ") + "{\"name\": " + json_string(b.name.substr(5)) +
                 ", \"module\": " + json_string(b.module) + ", \"writable\": " + (b.writable ? "true" : "false") + "}";
    if (!files.empty()) j += ", \"files\": [" + files + "]";
    j += "}";
    sep = ",\n";
  }
  j += "\n  ],\n";
  j += "  \"channels\": [";
  sep = "\n";
  for (const cos::manifest::Channel& ch : plan.manifest.channels) {
    j += sep;
    j += "    {\"name\": " + json_string(ch.name) + ", \"ends\": [" +
         json_string(plan.manifest.components[ch.ends[0]].name) + ", " +
         json_string(plan.manifest.components[ch.ends[1]].name) + "], \"bytes\": " + std::to_string(ch.bytes) + "}";
    sep = ",\n";
  }
  j += plan.manifest.channels.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return j;
}

}  // namespace composer
