#include "composer/input_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "composer/size.hpp"
#include "cos/limits.hpp"

namespace composer {
namespace {

namespace fs = std::filesystem;

std::string type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Closes a file descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

InputFile read_bounded(const fs::path& path, uint64_t max_bytes) {
  InputFile f;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    f.status = errno == ENOENT || errno == ENOTDIR ? InputFile::Status::missing : InputFile::Status::unreadable;
    f.kind = std::strerror(errno);
    return f;
  }
  if (!S_ISREG(st.st_mode)) {
    f.status = InputFile::Status::not_regular;
    f.kind = type_name(st.st_mode);
    return f;
  }
  // O_NONBLOCK: if the path became a FIFO since stat(), open() does not wait
  // for a writer; fstat() below then refuses it.
  Fd fd{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
  if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0) {
    f.status = InputFile::Status::unreadable;
    f.kind = std::strerror(errno);
    return f;
  }
  if (!S_ISREG(st.st_mode)) {
    f.status = InputFile::Status::not_regular;
    f.kind = type_name(st.st_mode);
    return f;
  }
  f.size = uint64_t(st.st_size);
  if (f.size > max_bytes) {
    f.status = InputFile::Status::too_large;
    return f;
  }
  f.bytes.resize(size_t(f.size));
  size_t done = 0;
  while (done < f.bytes.size()) {
    const ssize_t n = ::read(fd.fd, f.bytes.data() + done, f.bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      f.status = InputFile::Status::unreadable;
      f.kind = std::strerror(errno);
      f.bytes.clear();
      return f;
    }
    if (n == 0) break;  // the file shrank while being read: keep what is there
    done += size_t(n);
  }
  f.bytes.resize(done);
  f.size = done;
  f.status = InputFile::Status::ok;
  return f;
}

std::string describe_file_type(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  return S_ISREG(st.st_mode) ? "a regular file" : type_name(st.st_mode);
}

std::string overlay_source_problem(const fs::path& path, uint64_t& bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT || errno == ENOTDIR ? "not found" : std::strerror(errno);
  if (S_ISREG(st.st_mode)) {
    bytes += uint64_t(st.st_size);
    return "";
  }
  if (!S_ISDIR(st.st_mode)) return "is " + type_name(st.st_mode) + ", not a regular file or directory";
  std::error_code ec;
  uint64_t total = 0;
  // Directory symlinks are not followed (like os.walk in ./cos), so a link
  // loop cannot make this endless.
  for (fs::recursive_directory_iterator it(path, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path entry = it->path();
    if (::lstat(entry.c_str(), &st) != 0) return "cannot read '" + entry.string() + "': " + std::strerror(errno);
    if (S_ISDIR(st.st_mode)) continue;
    const bool link = S_ISLNK(st.st_mode);
    if (link && ::stat(entry.c_str(), &st) != 0)
      return "contains '" + entry.string() + "', a symlink that leads nowhere (" + std::strerror(errno) + ")";
    if (link && S_ISDIR(st.st_mode)) continue;  // packed as an empty directory, not followed
    if (!S_ISREG(st.st_mode))
      return "contains '" + entry.string() + "', which is " + type_name(st.st_mode) +
             ", not a regular file or directory";
    total += uint64_t(st.st_size);
  }
  if (ec) return "cannot read the directory: " + ec.message();
  bytes += total;
  return "";
}

ModuleBudget::ModuleBudget(uint64_t memory_bytes)
    : memory_(memory_bytes), left_(memory_bytes < cos_limits::kBootModulesTop ? memory_bytes : cos_limits::kBootModulesTop) {}

std::string ModuleBudget::describe() const {
  return "the boot modules (component images and guest files) together must fit in the machine's " +
         format_size(memory_) + " of RAM ([system] memory) below 4 GiB, where GRUB loads them; " +
         format_size(left_) + " of that is left";
}

}  // namespace composer
