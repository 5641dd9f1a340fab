#include "pier/net/auth_token.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace pier::net {

namespace {

// The first line of `path`, trimmed; the file must not be readable by others.
Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot read the token file: " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 4096) return Status::InvalidArgument(path + ": a token file holds one line");
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty()) return Status::InvalidArgument(path + ": the token file is empty");
  return text;
}

Status WriteTokenFile(const std::string& path, const std::string& token) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // O_EXCL: two servers starting at once do not overwrite each other's token.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::IoError(path + ": cannot create the token file: " + std::strerror(errno));
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::IoError(path + ": cannot write the token file");
  return Status::Ok();
}

}  // namespace

std::string GenerateToken() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();  // no randomness: nothing safe to do
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> ResolveToken(const TokenSources& s) {
  if (!s.flag.empty()) return s.flag;
  if (const char* env = std::getenv("PIER_TOKEN"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (!s.file.empty()) return ReadTokenFile(s.file);
  if (s.data_dir.empty()) return std::string();
  const std::string path = (std::filesystem::path(s.data_dir) / "token").string();
  if (::access(path.c_str(), F_OK) == 0) return ReadTokenFile(path);
  if (!s.create) return std::string();
  const std::string token = GenerateToken();
  if (Status st = WriteTokenFile(path, token); !st.ok()) {
    if (::access(path.c_str(), F_OK) == 0) return ReadTokenFile(path);  // another one made it
    return st;
  }
  return token;
}

}  // namespace pier::net
