#include "runsc/fsgofer/test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace fsgofer::testing {

TempDir::TempDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/fsgofer.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  char* real = ::realpath(tmpl.c_str(), nullptr);
  path_ = real;
  std::free(real);
}

TempDir::~TempDir() {
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(path_, ec);
}

void WriteHostFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string ReadHostFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool HostExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ProcStatusField(pid_t pid, const std::string& field) {
  std::istringstream in(
      ReadHostFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string v = line.substr(field.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Served::Served(const std::string& dir, Config config, bool pass_fds,
               p9::Client::Options copts) {
  auto exp = Export::Open(dir, std::move(config));
  if (!exp.ok()) std::abort();
  exp_ = *exp;
  handler_ = std::make_unique<Handler>(exp_);
  auto pair = p9::SocketPair(pass_fds);
  if (!pair.ok()) std::abort();
  p9::Server::Options so;
  so.donate_fds = pass_fds;
  server_ =
      std::make_unique<p9::Server>(std::move(pair->first), handler_.get(), so);
  thread_ = std::thread([this] { (void)server_->Serve(); });
  auto c = p9::Client::Connect(std::move(pair->second), copts);
  if (!c.ok()) std::abort();
  client_ = std::move(*c);
  auto a = client_->Attach("root", "", 0);
  if (!a.ok()) std::abort();
  root_ = a->fid;
}

Served::~Served() {
  client_.reset();
  server_->Stop();
  thread_.join();
}

base::ErrnoOr<p9::Fid> Served::WalkTo(const std::vector<std::string>& names) {
  ASSIGN_OR_RETURN(p9::WalkResult w, client_->Walk(root_, names));
  return w.newfid;
}

std::string Served::ReadAll(const std::vector<std::string>& names,
                            base::Errno* err) {
  base::Errno dummy;
  if (err == nullptr) err = &dummy;
  *err = base::Errno();
  auto fid = WalkTo(names);
  if (!fid.ok()) {
    *err = fid.error();
    return "";
  }
  auto o = client_->Lopen(*fid, kORdonly);
  if (!o.ok()) {
    *err = o.error();
    (void)client_->Clunk(*fid);
    return "";
  }
  std::string out;
  std::vector<uint8_t> buf(65536);
  for (;;) {
    auto n = client_->Read(*fid, out.size(), buf);
    if (!n.ok()) {
      *err = n.error();
      break;
    }
    if (*n == 0) break;
    out.append(reinterpret_cast<char*>(buf.data()), *n);
  }
  (void)client_->Clunk(*fid);
  return out;
}

}  // namespace fsgofer::testing
