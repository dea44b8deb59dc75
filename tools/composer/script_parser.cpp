#include "composer/script_parser.hpp"

#include <algorithm>
#include <memory>
#include <tuple>

#include "composer/grant_limits.hpp"
#include "composer/input_files.hpp"
#include "cos/limits.hpp"
#include "cos/kernel_hardware.h"
#include "composer/ioports.hpp"
#include "composer/names.hpp"
#include "composer/size.hpp"
#include "composer/toml_schema.hpp"

namespace composer {
namespace {

constexpr uint64_t kib = 1024, mib = kib * 1024, gib = mib * 1024;

// Limits for one size-valued key.
struct SizeRule {
  uint64_t multiple;  // bytes
  uint64_t min, max;  // bytes, inclusive
};
constexpr SizeRule heap_rule{4096, 4096, cos_limits::kMaxHeapBytes};
constexpr SizeRule stack_rule{4096, 4096, cos_limits::kMaxStackBytes};
constexpr SizeRule system_memory_rule{mib, 16 * mib, 64 * gib};
constexpr SizeRule untyped_rule{4096, 4096, max_untyped_bytes};
constexpr SizeRule channel_rule{cos_limits::kPageBytes, cos_limits::kMinChannelBytes, cos_limits::kMaxChannelBytes};
// An ext2 image `./cos compose` builds: whole pages, room for mke2fs's
// metadata, at most one blob.
constexpr SizeRule ext2_rule{cos_limits::kPageBytes, 64 * kib, cos_limits::kMaxBlobBytes & ~(cos_limits::kPageBytes - 1)};
constexpr SizeRule guest_ram_rule{cos_limits::kGuestRamAlign, cos_limits::kMinGuestRamBytes,
                                  cos_limits::kMaxGuestRamBytes};

// `caps` names and their bits, in the order messages list them.
struct CapName {
  std::string_view name;
  CapBit bit;
};
constexpr CapName cap_names[] = {{"captbl", cap_captbl}, {"pgtbl", cap_pgtbl}, {"comp", cap_comp}};

bool earlier(const SourcePos& a, const SourcePos& b) {
  return std::tie(a.line, a.column) < std::tie(b.line, b.column);
}

// "TOML syntax error in <context>: <reason>" from TOML++'s
// "Error while parsing <context>: <reason>".
std::string syntax_message(std::string_view description) {
  constexpr std::string_view prefix = "Error while parsing ";
  if (description.substr(0, prefix.size()) == prefix) {
    description.remove_prefix(prefix.size());
    return "TOML syntax error in " + std::string(description);
  }
  return "TOML syntax error: " + std::string(description);
}

/// Applies one --set override, "<target>.<key>[.<key>...]=<value>", to the
/// parsed script: <target> is "system" or a component's name, the keys a path
/// of tables below it (created as needed: "vm.params.trace=1",
/// "vm.guest.ram=2G"), <value> a TOML value ("300", "\"2G\"", "[1, 2]",
/// "true") or, if it is not one, a string ("2G", "console=ttyS0").
void apply_override(toml::table& root, const std::string& text) {
  const std::string where = "--set " + text;
  const SourcePos at{where, 1, 1};
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) fail(at, "an override is <target>.<key>=<value>, not '" + text + "'");
  std::vector<std::string> path;
  for (size_t start = 0; start <= eq;) {
    size_t dot = text.find('.', start);
    if (dot == std::string::npos || dot > eq) dot = eq;
    if (dot == start) fail(at, "empty name in '" + text.substr(0, eq) + "'");
    path.push_back(text.substr(start, dot - start));
    start = dot + 1;
  }
  if (path.size() < 2) fail(at, "an override names a target and a key: <system|component>.<key>=<value>");
  const std::string value_text = text.substr(eq + 1);
  // The value as TOML, read from a one-line document so its nodes carry the
  // override as their source; text that is no TOML value is a string.
  toml::table doc;
  try {
    doc = toml::parse("v = " + value_text, std::string_view(where));
  } catch (const toml::parse_error&) {
    doc = toml::table{};
    doc.insert("v", value_text);
  }
  toml::node* value = doc.get("v");
  // New keys carry the override as their source too.
  toml::source_region region{};
  region.begin = {1, 1};
  region.end = {1, static_cast<toml::source_index>(text.size() + 1)};
  region.path = std::make_shared<const std::string>(where);
  auto key = [&](const std::string& k) { return toml::key(k, toml::source_region(region)); };
  // The target table.
  toml::table* table = nullptr;
  if (path[0] == "system") {
    table = root["system"].as_table();
    if (!table) fail(at, "the script has no [system] table");
  } else {
    if (toml::array* comps = root["component"].as_array()) {
      for (toml::node& c : *comps) {
        toml::table* ct = c.as_table();
        if (!ct) continue;
        const toml::node* name = ct->get("name");
        if (name && name->value<std::string>() == path[0]) {
          table = ct;
          break;
        }
      }
    }
    if (!table) fail(at, "no component named '" + path[0] + "' (the target is \"system\" or a component's name)");
  }
  for (size_t i = 1; i + 1 < path.size(); ++i) {
    toml::node* next = table->get(path[i]);
    if (!next) {
      table->insert(key(path[i]), toml::table{});
      next = table->get(path[i]);
    }
    table = next->as_table();
    if (!table) fail(at, "'" + path[i] + "' is not a table in the script, so it has no key '" + path[i + 1] + "'");
  }
  table->insert_or_assign(key(path.back()), std::move(*value));
}

class Parser {
 public:
  explicit Parser(const std::string& path) : s_(path) {}

  Script parse(std::string_view text, const std::string& path, const std::vector<std::string>& overrides) {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(path));
    } catch (const toml::parse_error& e) {
      fail(pos_of(path, e.source()), syntax_message(e.description()));
    }
    for (const std::string& o : overrides) apply_override(root, o);
    Script script;
    script.path = path;
    script.directory = std::filesystem::absolute(std::filesystem::path(path)).parent_path();
    s_.check_keys(root, {"system", "component", "channel"}, "the top level");
    parse_system(root, script);
    if (const toml::node* comps = root.get("component")) {
      const toml::array* a = comps->as_array();
      if (a == nullptr || !a->is_array_of_tables())
        fail(s_.pos(*comps), "'component' must be an array of tables (write [[component]])");
      for (const toml::node& c : *a) {
        if (script.components.size() == cos_limits::kMaxComponents)
          fail(s_.pos(c), "at most " + std::to_string(cos_limits::kMaxComponents) +
                              " components per system, the booter included (the booter refuses a manifest with "
                              "more)");
        script.components.push_back(parse_component(*c.as_table()));
      }
    }
    if (const toml::node* chans = root.get("channel")) {
      const toml::array* a = chans->as_array();
      if (a == nullptr || !a->is_array_of_tables())
        fail(s_.pos(*chans), "'channel' must be an array of tables (write [[channel]])");
      for (const toml::node& c : *a) {
        if (script.channels.size() == cos_limits::kMaxSystemChannels)
          fail(s_.pos(c), "at most " + std::to_string(cos_limits::kMaxSystemChannels) +
                              " channels per system (the booter's table of them)");
        script.channels.push_back(parse_channel(*c.as_table()));
      }
    }
    return script;
  }

 private:
  void parse_system(const toml::table& root, Script& script) {
    const toml::node* n = root.get("system");
    if (n == nullptr) fail(SourcePos{s_.path(), 1, 1}, "missing [system] table");
    const toml::table& t = s_.table(*n, "'system'");
    script.system_pos = s_.pos(t);
    s_.check_keys(t, {"name", "description", "memory", "cpus"}, "[system]");
    const toml::node& name = s_.required(t, "name", "[system]");
    script.name = s_.string(name, "'name'");
    if (!valid_name(NameKind::system, script.name)) fail(s_.pos(name), invalid_name_message(NameKind::system, script.name));
    if (const toml::node* d = t.get("description")) script.description = s_.string(*d, "'description'");
    if (const toml::node* m = t.get("memory")) script.memory_bytes = size(*m, "memory", system_memory_rule);
    if (const toml::node* c = t.get("cpus")) {
      const int64_t cpus = s_.integer(*c, "'cpus'");
      if (cpus < 1 || cpus > int64_t(cos_limits::kMaxCpus))
        fail(s_.pos(*c), "'cpus' must be between 1 and " + std::to_string(cos_limits::kMaxCpus) +
                             " (the kernel brings up at most " + std::to_string(cos_limits::kMaxCpus) + "), not " +
                             std::to_string(cpus));
      script.cpus = unsigned(cpus);
    }
  }

  ComponentSpec parse_component(const toml::table& t) {
    static constexpr std::string_view where = "[[component]]";
    ComponentSpec c;
    c.pos = s_.pos(t);
    s_.check_keys(t,
                  {"name", "image", "constructor", "priority", "priority_ceiling", "cpu", "memory", "stack", "implements", "deps",
                   "params", "untyped", "caps", "hardware", "guest", "essential", "files"},
                  where);
    const toml::node& name = s_.required(t, "name", where);
    c.name = s_.string(name, "'name'");
    c.name_pos = s_.pos(name);
    if (!valid_name(NameKind::component, c.name)) fail(c.name_pos, invalid_name_message(NameKind::component, c.name));
    const toml::node& image = s_.required(t, "image", where);
    c.image = s_.string(image, "'image'");
    c.image_pos = s_.pos(image);

    c.constructor_pos = c.pos;
    if (const toml::node* n = t.get("constructor")) {
      const std::string ctor = s_.string(*n, "'constructor'");
      if (ctor != "kernel" && ctor != "booter")
        fail(s_.pos(*n), "'constructor' must be \"kernel\" or \"booter\", not \"" + ctor + "\"");
      c.constructed_by_kernel = ctor == "kernel";
      c.constructor_pos = s_.pos(*n);
    }
    if (const toml::node* n = t.get("priority")) {
      const int64_t p = s_.integer(*n, "'priority'");
      if (p < 0 || p > 255)
        fail(s_.pos(*n), "'priority' must be between 0 and 255 (0 = highest), not " + std::to_string(p));
      c.priority = uint32_t(p);
    }
    c.priority_ceiling = c.priority;
    if (const toml::node* n = t.get("priority_ceiling")) {
      const int64_t p = s_.integer(*n, "'priority_ceiling'");
      if (p < 0 || p > int64_t(c.priority))
        fail(s_.pos(*n), "'priority_ceiling' must be between 0 and the component's priority " +
                             std::to_string(c.priority) + " (0 = highest), not " + std::to_string(p));
      c.priority_ceiling = uint32_t(p);
    }
    c.cpu_pos = c.pos;
    if (const toml::node* n = t.get("cpu")) {
      const int64_t cpu = s_.integer(*n, "'cpu'");
      c.cpu_pos = s_.pos(*n);
      if (cpu < 0 || cpu >= int64_t(cos_limits::kMaxCpus))
        fail(c.cpu_pos, "'cpu' must be between 0 and " + std::to_string(cos_limits::kMaxCpus - 1) + ", not " +
                            std::to_string(cpu));
      c.cpu = uint32_t(cpu);
    }
    if (const toml::node* n = t.get("memory")) c.heap_bytes = size(*n, "memory", heap_rule);
    if (const toml::node* n = t.get("stack")) c.stack_bytes = size(*n, "stack", stack_rule);
    c.implements_pos = c.deps_pos = c.pos;
    if (const toml::node* n = t.get("implements")) {
      c.implements_pos = s_.key_pos(t, "implements");
      parse_implements(*n, c);
    }
    if (const toml::node* n = t.get("deps")) {
      c.deps_pos = s_.key_pos(t, "deps");
      for (const toml::node& d : s_.array(*n, "'deps'")) {
        if (c.deps.size() == max_deps)
          fail(s_.pos(d), "at most " + std::to_string(max_deps) + " dependencies per component");
        c.deps.push_back(parse_dep(d));
      }
    }
    if (const toml::node* n = t.get("params")) parse_params(s_.table(*n, "'params'"), c);
    parse_grants(t, c);
    if (const toml::node* n = t.get("guest")) {
      c.guest_key_pos = s_.key_pos(t, "guest");
      c.guest = parse_guest(s_.table(*n, "'guest'"));
    }
    c.files_pos = c.pos;
    if (const toml::node* n = t.get("files")) {
      c.files_pos = s_.key_pos(t, "files");
      for (const toml::node& e : s_.array(*n, "'files'")) c.files.push_back(parse_file(e, c));
    }
    c.essential_pos = c.pos;
    if (const toml::node* n = t.get("essential")) {
      c.essential_key = s_.boolean(*n, "'essential'");
      c.essential_pos = s_.pos(*n);
    }
    return c;
  }

  // [component.guest]: files are only named here; guests.cpp reads them.
  GuestSpec parse_guest(const toml::table& t) {
    GuestSpec g;
    g.pos = s_.pos(t);
    s_.check_keys(t, {"kind", "kernel", "initramfs", "bootloader", "ram", "cmdline", "overlays", "modules", "module_sources",
                      "exit_status"},
                  "[component.guest]");
    g.kernel_pos = g.initramfs_pos = g.bootloader_pos = g.ram_pos = g.cmdline_pos = g.overlays_pos = g.pos;
    g.kind_pos = g.exit_status_pos = g.modules_pos = g.pos;
    if (const toml::node* n = t.get("kind")) {
      const std::string kind = s_.string(*n, "'kind'");
      g.kind_pos = s_.pos(*n);
      if (kind == "multiboot") g.kind = GuestKind::multiboot;
      else if (kind != "linux") fail(g.kind_pos, "'kind' must be \"linux\" or \"multiboot\", not \"" + kind + "\"");
    }
    if (const toml::node* n = t.get("exit_status")) {
      const std::string v = s_.string(*n, "'exit_status'");
      g.exit_status_pos = s_.pos(*n);
      if (v == "debug-exit") g.exit_status = GuestExitStatus::debug_exit;
      else if (v != "vm") fail(g.exit_status_pos, "'exit_status' must be \"vm\" or \"debug-exit\", not \"" + v + "\"");
    }
    const bool multiboot = g.kind == GuestKind::multiboot;
    if (multiboot) {
      // A Multiboot kernel is loaded by the VMM itself: no Linux files.
      for (const char* key : {"initramfs", "bootloader", "overlays", "module_sources"})
        if (t.get(key))
          fail(s_.key_pos(t, key), "'" + std::string(key) + "' applies to Linux guests only, but 'kind' is "
                                   "\"multiboot\" (at " + g.kind_pos.line_col() + ")");
      if (!t.get("kernel"))
        fail(g.pos, "a Multiboot guest (kind = \"multiboot\" at " + g.kind_pos.line_col() +
                        ") needs 'kernel': its Multiboot kernel image");
      g.cmdline = "";
    } else if (const toml::node* n = t.get("modules")) {
      (void)n;
      fail(s_.key_pos(t, "modules"), "'modules' apply to Multiboot guests only (kind = \"multiboot\")");
    }
    auto file = [&](const char* key, std::string& value, SourcePos& pos) {
      const toml::node* n = t.get(key);
      if (n == nullptr) return;
      value = s_.string(*n, "'" + std::string(key) + "'");
      pos = s_.pos(*n);
      if (value.empty()) fail(pos, "'" + std::string(key) + "' must not be empty");
      if (value.find('\0') != std::string::npos)
        fail(pos, "'" + std::string(key) + "' must not contain a NUL character");
    };
    file("kernel", g.kernel, g.kernel_pos);
    file("initramfs", g.initramfs, g.initramfs_pos);
    file("bootloader", g.bootloader, g.bootloader_pos);
    if (const toml::node* n = t.get("ram")) {
      g.ram_bytes = size(*n, "ram", guest_ram_rule);
      g.ram_pos = s_.pos(*n);
    }
    if (const toml::node* n = t.get("cmdline")) {
      g.cmdline = s_.string(*n, "'cmdline'");
      g.cmdline_pos = s_.pos(*n);
      if (g.cmdline.find('\0') != std::string::npos) fail(g.cmdline_pos, "'cmdline' must not contain a NUL character");
      if (g.cmdline.size() > max_guest_cmdline_bytes)
        fail(g.cmdline_pos, "'cmdline' is " + std::to_string(g.cmdline.size()) + " bytes long; at most " +
                                std::to_string(max_guest_cmdline_bytes) + " are allowed");
    }
    if (const toml::node* n = t.get("overlays")) {
      g.overlays_pos = s_.key_pos(t, "overlays");
      const toml::array& a = s_.array(*n, "'overlays'");
      if (!a.empty() && g.initramfs != default_initramfs)
        fail(g.overlays_pos, "'overlays' apply to the default initramfs only, but 'initramfs' is \"" + g.initramfs +
                                 "\" (at " + g.initramfs_pos.line_col() + ")");
      for (const toml::node& e : a) g.overlays.push_back(parse_overlay(e, g));
    }
    if (const toml::node* n = t.get("module_sources")) {
      const SourcePos key = s_.key_pos(t, "module_sources");
      const toml::array& a = s_.array(*n, "'module_sources'");
      if (!a.empty() && g.initramfs != default_initramfs)
        fail(key, "'module_sources' apply to the default initramfs only, but 'initramfs' is \"" + g.initramfs +
                      "\" (at " + g.initramfs_pos.line_col() + ")");
      if (!a.empty() && g.kernel != debian_cloud_kernel)
        fail(key, "'module_sources' are built against the headers of kernel = \"debian-cloud\", but 'kernel' is \"" +
                      g.kernel + "\" (at " + g.kernel_pos.line_col() + "); build your kernel's modules yourself and "
                      "add them with 'overlays' under /lib/modules/<version>/");
      for (const toml::node& e : a) {
        const std::string dir = s_.string(e, "each element of 'module_sources'");
        const SourcePos pos = s_.pos(e);
        if (dir.empty() || dir.find('\0') != std::string::npos)
          fail(pos, "a module source must be a non-empty path without NUL characters");
        for (const auto& [other, other_pos] : g.module_sources)
          if (other == dir) fail(pos, "module source \"" + dir + "\" listed twice (first at " + other_pos.line_col() + ")");
        if (g.module_sources.size() == max_guest_module_sources)
          fail(pos, "at most " + std::to_string(max_guest_module_sources) + " module sources per guest");
        g.module_sources.emplace_back(dir, pos);
      }
    }
    if (const toml::node* n = t.get("modules")) {
      g.modules_pos = s_.key_pos(t, "modules");
      for (const toml::node& e : s_.array(*n, "'modules'")) {
        if (g.modules.size() == max_guest_modules)
          fail(s_.pos(e), "at most " + std::to_string(max_guest_modules) + " modules per guest");
        g.modules.push_back(parse_module(e));
      }
    }
    return g;
  }

  // One `files` entry: { name, src, format?, size?, writable? }.
  FileSpec parse_file(const toml::node& n, const ComponentSpec& c) {
    static constexpr std::string_view where = "file table";
    FileSpec f;
    f.pos = s_.pos(n);
    const toml::table* t = n.as_table();
    if (t == nullptr)
      fail(f.pos, "each element of 'files' must be a table { name = \"...\", src = \"...\" }, not " +
                      a_type_name(n.type()));
    s_.check_keys(*t, {"name", "src", "format", "size", "writable"}, where);
    const toml::node& name = s_.required(*t, "name", where);
    f.name = s_.string(name, "'name'");
    f.name_pos = s_.pos(name);
    if (!valid_name(NameKind::file, f.name)) fail(f.name_pos, invalid_name_message(NameKind::file, f.name));
    for (const FileSpec& other : c.files)
      if (other.name == f.name)
        fail(f.name_pos, "file name '" + f.name + "' listed twice in 'files' (first at " + other.name_pos.line_col() +
                             ")");
    const toml::node& src = s_.required(*t, "src", where);
    f.src = s_.string(src, "'src'");
    f.src_pos = s_.pos(src);
    if (f.src.empty() || f.src.find('\0') != std::string::npos)
      fail(f.src_pos, "'src' must be a non-empty path without NUL characters");
    f.format_pos = f.size_pos = f.pos;
    if (const toml::node* v = t->get("format")) {
      const std::string format = s_.string(*v, "'format'");
      f.format_pos = s_.pos(*v);
      if (format == "ext2") f.format = FileFormat::ext2;
      else if (format != "raw")
        fail(f.format_pos, "'format' must be \"raw\" (the file as it is) or \"ext2\" (an ext2 image built from "
                           "the directory 'src'), not \"" + format + "\"");
    }
    if (const toml::node* v = t->get("size")) {
      f.size_pos = s_.pos(*v);
      if (f.format != FileFormat::ext2)
        fail(f.size_pos, "'size' applies to format = \"ext2\" only (a raw file has the size it has)");
      f.size_bytes = size(*v, "size", ext2_rule);
    } else if (f.format == FileFormat::ext2) {
      fail(f.pos, "a file with format = \"ext2\" (at " + f.format_pos.line_col() + ") needs 'size': the image's size");
    }
    if (const toml::node* v = t->get("writable")) f.writable = s_.boolean(*v, "'writable'");
    return f;
  }

  // [[channel]]: { name, ends = ["a", "b"], size? }; checks against the
  // components are in script_checks.cpp.
  ChannelSpec parse_channel(const toml::table& t) {
    static constexpr std::string_view where = "[[channel]]";
    ChannelSpec ch;
    ch.pos = s_.pos(t);
    s_.check_keys(t, {"name", "ends", "size"}, where);
    const toml::node& name = s_.required(t, "name", where);
    ch.name = s_.string(name, "'name'");
    ch.name_pos = s_.pos(name);
    if (!valid_name(NameKind::channel, ch.name)) fail(ch.name_pos, invalid_name_message(NameKind::channel, ch.name));
    const toml::node& ends = s_.required(t, "ends", where);
    ch.ends_key_pos = s_.pos(ends);
    const toml::array& a = s_.array(ends, "'ends'");
    if (a.size() != 2)
      fail(ch.ends_key_pos, "'ends' must name exactly two components, not " + std::to_string(a.size()));
    for (size_t k = 0; k < 2; ++k) {
      const toml::node& e = *a.get(k);
      ch.ends[k] = s_.string(e, "each element of 'ends'");
      ch.ends_pos[k] = s_.pos(e);
      if (!valid_name(NameKind::component, ch.ends[k]))
        fail(ch.ends_pos[k], invalid_name_message(NameKind::component, ch.ends[k]));
    }
    ch.size_pos = ch.pos;
    if (const toml::node* n = t.get("size")) {
      ch.bytes = size(*n, "size", channel_rule);
      ch.size_pos = s_.pos(*n);
    }
    return ch;
  }

  ModuleSpec parse_module(const toml::node& n) {
    static constexpr std::string_view where = "module table";
    ModuleSpec m;
    m.pos = s_.pos(n);
    const toml::table* t = n.as_table();
    if (t == nullptr)
      fail(m.pos, "each element of 'modules' must be a table { src = \"...\", cmdline = \"...\" }, not " +
                      a_type_name(n.type()));
    s_.check_keys(*t, {"src", "cmdline"}, where);
    const toml::node& src = s_.required(*t, "src", where);
    m.src = s_.string(src, "'src'");
    m.src_pos = m.cmdline_pos = s_.pos(src);
    if (m.src.empty() || m.src.find('\0') != std::string::npos)
      fail(m.src_pos, "'src' must be a non-empty path without NUL characters");
    m.cmdline = m.src;
    if (const toml::node* c = t->get("cmdline")) {
      m.cmdline = s_.string(*c, "'cmdline'");
      m.cmdline_pos = s_.pos(*c);
    }
    if (m.cmdline.find('\0') != std::string::npos) fail(m.cmdline_pos, "a module's 'cmdline' must not contain a NUL character");
    if (m.cmdline.size() > max_guest_cmdline_bytes)
      fail(m.cmdline_pos, "a module's 'cmdline' is " + std::to_string(m.cmdline.size()) + " bytes long; at most " +
                              std::to_string(max_guest_cmdline_bytes) + " are allowed");
    return m;
  }

  OverlaySpec parse_overlay(const toml::node& n, const GuestSpec& g) {
    static constexpr std::string_view where = "overlay table";
    OverlaySpec o;
    o.pos = s_.pos(n);
    const toml::table* t = n.as_table();
    if (t == nullptr)
      fail(o.pos, "each element of 'overlays' must be a table { src = \"...\", dst = \"/...\" }, not " +
                      a_type_name(n.type()));
    s_.check_keys(*t, {"src", "dst"}, where);
    const toml::node& src = s_.required(*t, "src", where);
    o.src = s_.string(src, "'src'");
    o.src_pos = s_.pos(src);
    if (o.src.empty() || o.src.find('\0') != std::string::npos)
      fail(o.src_pos, "'src' must be a non-empty path without NUL characters");
    const toml::node& dst = s_.required(*t, "dst", where);
    o.dst = s_.string(dst, "'dst'");
    o.dst_pos = s_.pos(dst);
    std::string why;
    if (!valid_overlay_dst(o.dst, why)) fail(o.dst_pos, "invalid overlay destination \"" + o.dst + "\": " + why);
    for (const OverlaySpec& other : g.overlays)
      if (other.dst == o.dst)
        fail(o.dst_pos, "overlay destination \"" + o.dst + "\" listed twice (first at " + other.dst_pos.line_col() +
                            ")");
    return o;
  }

  // An absolute, normalised path inside the initramfs, not the root itself.
  static bool valid_overlay_dst(const std::string& dst, std::string& why) {
    if (dst.empty() || dst[0] != '/') return why = "it must be an absolute path (start with '/')", false;
    if (dst == "/") return why = "it must name a file or directory below '/'", false;
    if (dst.size() > 255) return why = "it is longer than 255 bytes", false;
    size_t start = 1;
    while (start <= dst.size()) {
      size_t end = dst.find('/', start);
      if (end == std::string::npos) end = dst.size();
      const std::string part = dst.substr(start, end - start);
      if (part.empty()) return why = "it contains an empty path component ('//' or a trailing '/')", false;
      if (part == "." || part == "..") return why = "it contains a '" + part + "' component", false;
      for (char ch : part)
        if (ch == '\0' || ch == '\n') return why = "it contains a NUL or newline character", false;
      start = end + 1;
    }
    return true;
  }

  // `untyped`, `caps` and [component.hardware].
  void parse_grants(const toml::table& t, ComponentSpec& c) {
    for (const char* key : {"untyped", "caps", "hardware"}) {
      if (t.get(key) == nullptr) continue;
      const SourcePos p = s_.key_pos(t, key);
      if (!c.first_grant_key || earlier(p, *c.first_grant_key)) {
        c.first_grant_key = p;
        c.first_grant_key_name = key;
      }
    }
    if (const toml::node* n = t.get("untyped")) c.untyped_bytes = size(*n, "untyped", untyped_rule);
    if (const toml::node* n = t.get("caps")) parse_caps(*n, c);
    if (const toml::node* n = t.get("hardware")) parse_hardware(s_.table(*n, "'hardware'"), c);
  }

  void parse_caps(const toml::node& n, ComponentSpec& c) {
    std::vector<std::pair<uint32_t, SourcePos>> seen;
    for (const toml::node& e : s_.array(n, "'caps'")) {
      const std::string name = s_.string(e, "each element of 'caps'");
      const CapName* cap = nullptr;
      for (const CapName& k : cap_names)
        if (k.name == name) cap = &k;
      if (cap == nullptr)
        fail(s_.pos(e), "unknown capability '" + name + "' in 'caps' (expected one of: captbl, pgtbl, comp)");
      if ((c.caps_mask & cap->bit) != 0) {
        SourcePos first;
        for (const auto& [bit, pos] : seen)
          if (bit == cap->bit) first = pos;
        fail(s_.pos(e), "capability '" + name + "' listed twice in 'caps' (first at " + first.line_col() + ")");
      }
      c.caps_mask |= cap->bit;
      seen.emplace_back(cap->bit, s_.pos(e));
    }
  }

  void parse_hardware(const toml::table& t, ComponentSpec& c) {
    s_.check_keys(t, {"ioports", "irqs", "timer", "console"}, "[component.hardware]");
    if (const toml::node* n = t.get("ioports")) {
      for (const toml::node& e : s_.array(*n, "'ioports'")) {
        const std::string text = s_.string(e, "each element of 'ioports'");
        IoPortSpec io;
        io.pos = s_.pos(e);
        std::string why;
        if (!parse_ioport_range(text, io.first, io.count, why))
          fail(io.pos, "invalid I/O-port range \"" + text + "\": " + why);
        if (const CosKernelPorts* k = cos_kernel_ports_overlap(io.first, io.count))
          fail(io.pos, "I/O-port range " + format_ioport_range(io.first, io.count) + " overlaps " +
                           format_ioport_range(k->first, k->count) + ", " + k->what + ": the kernel drives it");
        for (const IoPortSpec& other : c.ioports)
          if (io.first < other.first + other.count && other.first < io.first + io.count)
            fail(io.pos, "I/O-port range " + format_ioport_range(io.first, io.count) + " overlaps " +
                             format_ioport_range(other.first, other.count) + " (at " + other.pos.line_col() + ")");
        if (c.ioports.size() == max_ioport_ranges)
          fail(io.pos, "at most " + std::to_string(max_ioport_ranges) + " I/O-port ranges per component");
        c.ioports.push_back(io);
      }
    }
    if (const toml::node* n = t.get("irqs")) {
      for (const toml::node& e : s_.array(*n, "'irqs'")) {
        const int64_t line = s_.integer(e, "each element of 'irqs'");
        IrqSpec irq;
        irq.pos = s_.pos(e);
        if (line < 0 || line >= int64_t(irq_lines))
          fail(irq.pos, "IRQ line " + std::to_string(line) + " does not exist (ISA lines are 0..15)");
        if (line == irq_cascade) fail(irq.pos, "IRQ line 2 is the PIC cascade and cannot be granted");
        if (cos_kernel_irq(uint32_t(line)))
          fail(irq.pos, "IRQ line " + std::to_string(line) + " is the kernel's (" +
                            (line == 0 ? std::string("the PIT") : std::string("COM1, the kernel console: use hardware.console for input")) + ")");
        irq.line = uint32_t(line);
        for (const IrqSpec& other : c.irqs)
          if (other.line == irq.line)
            fail(irq.pos, "IRQ line " + std::to_string(line) + " listed twice in 'irqs' (first at " +
                              other.pos.line_col() + ")");
        c.irqs.push_back(irq);
      }
    }
    if (const toml::node* n = t.get("timer")) c.timer = s_.boolean(*n, "'timer'");
    if (const toml::node* n = t.get("console")) c.console = s_.boolean(*n, "'console'");
  }

  void parse_implements(const toml::node& n, ComponentSpec& c) {
    for (const toml::node& e : s_.array(n, "'implements'")) {
      const std::string iface = s_.string(e, "each element of 'implements'");
      if (!valid_name(NameKind::interface, iface)) fail(s_.pos(e), invalid_name_message(NameKind::interface, iface));
      for (const std::string& earlier : c.implements)
        if (earlier == iface) fail(s_.pos(e), "interface '" + iface + "' listed twice in 'implements'");
      c.implements.push_back(iface);
    }
  }

  DepSpec parse_dep(const toml::node& n) {
    DepSpec d;
    d.pos = d.interface_pos = d.component_pos = s_.pos(n);
    if (const auto* str = n.as_string()) {
      d.interface = str->get();
    } else if (const auto* t = n.as_table()) {
      static constexpr std::string_view where = "dependency table";
      s_.check_keys(*t, {"interface", "component"}, where);
      const toml::node& iface = s_.required(*t, "interface", where);
      d.interface = s_.string(iface, "'interface'");
      d.interface_pos = s_.pos(iface);
      const toml::node& comp = s_.required(*t, "component", where);
      d.component = s_.string(comp, "'component'");
      d.component_pos = s_.pos(comp);
      if (!valid_name(NameKind::component, *d.component))
        fail(d.component_pos, invalid_name_message(NameKind::component, *d.component));
    } else {
      fail(d.pos, std::string("each element of 'deps' must be an interface name or a table "
                              "{ interface = \"...\", component = \"...\" }, not ") +
                      a_type_name(n.type()));
    }
    if (!valid_name(NameKind::interface, d.interface))
      fail(d.interface_pos, invalid_name_message(NameKind::interface, d.interface));
    return d;
  }

  void parse_params(const toml::table& t, ComponentSpec& c) {
    for (auto&& [key, value] : t) {
      ParamSpec p;
      p.key = std::string(key.str());
      p.pos = pos_of(s_.path(), key.source());
      p.value_pos = s_.pos(value);
      if (!valid_name(NameKind::param, p.key)) fail(p.pos, invalid_name_message(NameKind::param, p.key));
      if (const auto* s = value.as_string()) {
        p.value = s->get();
        if (p.value.find('\0') != std::string::npos)
          fail(s_.pos(value), "parameter '" + p.key + "' must not contain a NUL character");
        if (p.value.size() > cos_limits::kMaxParamValueBytes)
          fail(s_.pos(value), "parameter '" + p.key + "' is " + std::to_string(p.value.size()) +
                                  " bytes long; a component's info page holds at most " +
                                  std::to_string(cos_limits::kMaxParamValueBytes));
      } else if (const auto* i = value.as_integer()) {
        p.value = std::to_string(i->get());
      } else if (const auto* b = value.as_boolean()) {
        p.value = b->get() ? "true" : "false";
      } else {
        fail(s_.pos(value),
             "parameter '" + p.key + "' must be a string, integer or boolean, not " + a_type_name(value.type()));
      }
      c.params.push_back(std::move(p));
    }
    // toml::table iterates by key; keep the script's order instead.
    std::stable_sort(c.params.begin(), c.params.end(), [](const ParamSpec& a, const ParamSpec& b) {
      return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
    });
    if (c.params.size() > cos_limits::kMaxParams)
      fail(c.params[cos_limits::kMaxParams].pos, "at most " + std::to_string(cos_limits::kMaxParams) +
                                                     " parameters per component (its info page holds no more)");
  }

  // A size: a non-negative integer (bytes) or "<n>[K|M|G]", checked against `rule`.
  uint64_t size(const toml::node& n, std::string_view key, const SizeRule& rule) {
    const std::string what = "'" + std::string(key) + "'";
    uint64_t bytes = 0;
    if (const auto* i = n.as_integer()) {
      if (i->get() < 0) fail(s_.pos(n), what + " must not be negative");
      bytes = uint64_t(i->get());
    } else if (const auto* s = n.as_string()) {
      std::string why;
      if (!parse_size_text(s->get(), bytes, why))
        fail(s_.pos(n), "invalid size \"" + s->get() + "\" for " + what + ": " + why);
    } else {
      fail(s_.pos(n), what + " must be a size (an integer number of bytes or a string like \"64K\"), not " +
                          a_type_name(n.type()));
    }
    if (bytes % rule.multiple != 0)
      fail(s_.pos(n), what + " must be a multiple of " + std::to_string(rule.multiple) + " bytes (" +
                          format_size(rule.multiple) + "), not " + std::to_string(bytes));
    if (bytes < rule.min || bytes > rule.max)
      fail(s_.pos(n), what + " must be between " + format_size(rule.min) + " and " + format_size(rule.max) +
                          ", not " + format_size(bytes));
    return bytes;
  }

  Schema s_;
};

}  // namespace

Script parse_script_text(std::string_view text, const std::string& path, const std::vector<std::string>& overrides) {
  return Parser(path).parse(text, path, overrides);
}

Script load_script(const std::string& path, const std::vector<std::string>& overrides) {
  InputFile f = read_bounded(path, max_script_bytes);
  switch (f.status) {
    case InputFile::Status::ok: break;
    case InputFile::Status::missing: throw ToolError("cannot read script '" + path + "': not found");
    case InputFile::Status::not_regular:
      throw ToolError("cannot read script '" + path + "': it is " + f.kind + ", not a regular file");
    case InputFile::Status::too_large:
      throw ToolError("script '" + path + "' is " + std::to_string(f.size) + " bytes; at most " +
                      std::to_string(max_script_bytes) + " are read");
    case InputFile::Status::unreadable: throw ToolError("cannot read script '" + path + "': " + f.kind);
  }
  return parse_script_text(std::string(f.bytes.begin(), f.bytes.end()), path, overrides);
}

}  // namespace composer
