#include "p9/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "p9/messages.h"

namespace p9 {
namespace {

using base::Errno;

// At most this many fds are accepted with one read; the rest are closed by
// the kernel (MSG_CTRUNC).
constexpr int kMaxFdsPerRead = 4;

Errno LastErrno() { return Errno(errno != 0 ? errno : EIO); }

}  // namespace

void FileDescriptor::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

SocketTransport::SocketTransport(FileDescriptor fd, bool pass_fds)
    : fd_(std::move(fd)), pass_fds_(pass_fds) {}

SocketTransport::~SocketTransport() = default;

void SocketTransport::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

Errno SocketTransport::Send(std::span<const uint8_t> head,
                            std::span<const uint8_t> tail, int fd) {
  base::MutexLock lock(&send_mu_);
  iovec iov[2] = {
      {const_cast<uint8_t*>(head.data()), head.size()},
      {const_cast<uint8_t*>(tail.data()), tail.size()},
  };
  int niov = tail.empty() ? 1 : 2;
  int idx = 0;
  bool send_fd = fd >= 0 && pass_fds_;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  while (idx < niov) {
    msghdr mh = {};
    mh.msg_iov = &iov[idx];
    mh.msg_iovlen = niov - idx;
    if (send_fd) {
      std::memset(control, 0, sizeof(control));
      mh.msg_control = control;
      mh.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n = ::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrno();
    }
    send_fd = false;  // Attached to the first byte sent.
    size_t left = static_cast<size_t>(n);
    while (idx < niov && left >= iov[idx].iov_len) {
      left -= iov[idx].iov_len;
      ++idx;
    }
    if (idx < niov) {
      iov[idx].iov_base = static_cast<uint8_t*>(iov[idx].iov_base) + left;
      iov[idx].iov_len -= left;
    }
  }
  return Errno::Ok();
}

Errno SocketTransport::ReadFull(uint8_t* p, size_t n, std::vector<int>* fds) {
  size_t got = 0;
  while (got < n) {
    iovec iov = {p + got, n - got};
    msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)];
    if (pass_fds_) {
      mh.msg_control = control;
      mh.msg_controllen = sizeof(control);
    }
    ssize_t r = ::recvmsg(fd_.get(), &mh, MSG_CMSG_CLOEXEC);
    if (r < 0) {
      if (errno == EINTR) continue;
      return LastErrno();
    }
    if (pass_fds_) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr;
           c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
          continue;
        }
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int f;
          std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          fds->push_back(f);
        }
      }
    }
    if (r == 0) return Errno(got == 0 ? ECONNRESET : EPIPE);
    got += static_cast<size_t>(r);
  }
  return Errno::Ok();
}

Errno SocketTransport::Recv(uint32_t max_size, std::vector<uint8_t>* msg,
                            FileDescriptor* fd) {
  std::vector<int> fds;
  auto finish = [&](Errno e) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (i == 0 && e.ok() && fd != nullptr) {
        fd->reset(fds[i]);
      } else {
        ::close(fds[i]);
      }
    }
    return e;
  };
  uint8_t size_buf[4];
  Errno e = ReadFull(size_buf, sizeof(size_buf), &fds);
  if (!e.ok()) return finish(e);
  uint32_t size = uint32_t{size_buf[0]} | uint32_t{size_buf[1]} << 8 |
                  uint32_t{size_buf[2]} << 16 | uint32_t{size_buf[3]} << 24;
  if (size < kHeaderSize) return finish(Errno(EPROTO));
  if (size > max_size) return finish(Errno(EMSGSIZE));
  msg->resize(size);
  std::memcpy(msg->data(), size_buf, sizeof(size_buf));
  e = ReadFull(msg->data() + sizeof(size_buf), size - sizeof(size_buf), &fds);
  return finish(e);
}

base::ErrnoOr<std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>>>
SocketPair(bool pass_fds) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return LastErrno();
  }
  std::unique_ptr<Transport> a =
      std::make_unique<SocketTransport>(FileDescriptor(sv[0]), pass_fds);
  std::unique_ptr<Transport> b =
      std::make_unique<SocketTransport>(FileDescriptor(sv[1]), pass_fds);
  return std::make_pair(std::move(a), std::move(b));
}

base::ErrnoOr<std::unique_ptr<TcpListener>> TcpListener::ListenLoopback(
    uint16_t port) {
  FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return LastErrno();
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return LastErrno();
  }
  if (::listen(fd.get(), 16) != 0) return LastErrno();
  socklen_t len = sizeof(addr);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return LastErrno();
  }
  return std::unique_ptr<TcpListener>(
      new TcpListener(std::move(fd), ntohs(addr.sin_port)));
}

base::ErrnoOr<std::unique_ptr<Transport>> TcpListener::Accept() {
  for (;;) {
    int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR) continue;
      return LastErrno();
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return std::unique_ptr<Transport>(
        std::make_unique<SocketTransport>(FileDescriptor(c), false));
  }
}

void TcpListener::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

base::ErrnoOr<std::unique_ptr<Transport>> DialTcp(const std::string& ip,
                                                  uint16_t port) {
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return Errno(EINVAL);
  }
  FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return LastErrno();
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
        0) {
      break;
    }
    if (errno == EINTR) continue;
    return LastErrno();
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return std::unique_ptr<Transport>(
      std::make_unique<SocketTransport>(std::move(fd), false));
}

}  // namespace p9
