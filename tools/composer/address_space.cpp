#include "composer/address_space.hpp"

#include <sstream>
#include <string>

#include "cos/bootinfo.hpp"
#include "cos/compinfo.hpp"
#include "cos/limits.hpp"
#include "elf/elf64.hpp"

namespace composer {
namespace {

constexpr uint64_t kPage = cos_limits::kPageBytes;

// A region [first, end) of a component's address space and what it holds.
struct Region {
  uint64_t first, end;
  std::string what;
};

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

std::vector<Region> booter_regions() {
  // The kernel maps the boot modules one after another from kModulesVaddr,
  // page-aligned with a page between two; together they lie below 4 GiB.
  const uint64_t modules_end =
      cos::boot::kModulesVaddr + cos_limits::kBootModulesTop + 2 * kPage * (cos_limits::kMaxBootModules + 1);
  return {{cos::boot::kInfoVaddr, cos::boot::kInfoVaddr + kPage, "the boot-info page"},
          {cos::boot::kStackTop - cos::boot::kBooterStackBytes - kPage, cos::boot::kStackTop,
           "the booter's stack and its guard page"},
          {cos::boot::kModulesVaddr, modules_end, "the window where the kernel maps the boot modules"},
          {cos::boot::kBooterScratchVaddr, cos::boot::kBooterScratchVaddr + kPage, "the booter's scratch page"}};
}

std::vector<Region> component_regions(const Script& script, const ComponentSpec& c, uint64_t index,
                                      const std::vector<GuestFile>& blobs) {
  std::vector<Region> r = {
      {cos::boot::kInfoVaddr, cos::boot::kInfoVaddr + cos::boot::kInfoBytes, "its info page"},
      {cos::boot::kStackTop - c.stack_bytes, cos::boot::kStackTop, "its stack"},
      {(index + 1) * cos_limits::kHeapStride, (index + 1) * cos_limits::kHeapStride + c.heap_bytes, "its heap"}};
  for (size_t j = 0; j < blobs.size(); ++j) {
    const uint64_t at = cos::boot::kBlobWindow + j * cos::boot::kBlobStride;
    const uint64_t size = blobs[j].bytes.empty() ? kPage : page_up(blobs[j].bytes.size());
    r.push_back({at, at + size, "its blob '" + blobs[j].blob + "'"});
  }
  uint64_t k = 0;
  for (const ChannelSpec& ch : script.channels) {
    if (ch.ends[0] != c.name && ch.ends[1] != c.name) continue;
    const uint64_t at = cos::boot::kChannelWindow + k++ * cos::boot::kChannelStride;
    r.push_back({at, at + ch.bytes, "its channel '" + ch.name + "'"});
  }
  return r;
}

}  // namespace

void check_address_spaces(const Script& script, const ImageSet& images, const GuestSet& guests,
                          const std::vector<size_t>& order) {
  static_assert(cos_limits::kMaxStackBytes <= cos::boot::kStackTop - cos::boot::kInfoVaddr - cos::boot::kInfoBytes);
  for (size_t k = 0; k < order.size(); ++k) {
    const ComponentSpec& c = script.components[order[k]];
    const ImageFile& file = images.files[images.file_of[order[k]]];
    const std::vector<Region> regions =
        c.constructed_by_kernel ? booter_regions() : component_regions(script, c, k, guests.files[order[k]]);
    cos::elf::Image img;
    if (cos::elf::Image::parse(file.bytes.data(), file.bytes.size(), img) != cos::elf::Error::ok) continue;
    for (size_t s = 0; s < img.segment_count(); ++s) {
      const cos::elf::Segment seg = img.segment(s);
      const uint64_t first = seg.vaddr & ~(kPage - 1), end = page_up(seg.vaddr + seg.memsz);
      for (const Region& r : regions)
        if (first < r.end && r.first < end)
          fail(c.image_pos, "image '" + file.source.string() + "' of component '" + c.name + "' has a segment at " +
                                hex(first) + "-" + hex(end - 1) + " that overlaps " + r.what + " (" + hex(r.first) +
                                "-" + hex(r.end - 1) + "), where the " +
                                (c.constructed_by_kernel ? "kernel" : "booter") + " maps it");
    }
  }
}

}  // namespace composer
